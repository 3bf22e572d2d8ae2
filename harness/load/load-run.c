/*
 * load-run.c - one run of the load: options, the request text, the
 * count/duration/rate bounds, the drain after a stop, counters and
 * records, and the close of every handle before done_cb.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load-internal.h"

int load_new(load_t **ret_load)
{
  load_t *load;

  if (ret_load == NULL)
    return UV_EINVAL;
  load = calloc(1, sizeof(*load));
  if (load == NULL)
    return UV_ENOMEM;
  *ret_load = load;
  return 0;
}

void load_free(load_t *load)
{
  if (load == NULL)
    return;
  free(load->slots);
  free(load->records);
  free(load->request);
  load_measure_free(&load->measure);
  free(load);
}

/* Loopback only: 127.0.0.0/8 or ::1. */
static int parse_host(const char *host, int port,
                      struct sockaddr_storage *addr, char *hostport,
                      size_t size)
{
  struct sockaddr_in *in4 = (struct sockaddr_in *)addr;
  struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)addr;
  int n;

  memset(addr, 0, sizeof(*addr));
  if (uv_ip4_addr(host, port, in4) == 0) {
    if ((ntohl(in4->sin_addr.s_addr) >> 24) != 127)
      return UV_EINVAL;
    n = snprintf(hostport, size, "%s:%d", host, port);
  } else if (uv_ip6_addr(host, port, in6) == 0) {
    if (!IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
      return UV_EINVAL;
    n = snprintf(hostport, size, "[%s]:%d", host, port);
  } else {
    return UV_EINVAL;
  }
  return n < 0 || (size_t)n >= size ? UV_EINVAL : 0;
}

/* The path goes into the request line as it is: nothing that would end
 * the line or the target. */
static bool path_ok(const char *path)
{
  size_t i, len = strlen(path);

  if (len == 0 || len > 1024 || path[0] != '/')
    return false;
  for (i = 0; i < len; i++)
    if ((unsigned char)path[i] <= ' ' || path[i] == 0x7f)
      return false;
  return true;
}

static int build_request(load_t *load, const char *path, const char *hostport)
{
  const char *conn = load->opts.keepalive ? "" : "Connection: close\r\n";
  int n;

  free(load->request);
  load->request = NULL;
  n = snprintf(NULL, 0,
               "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: clustersim-load"
               "\r\n%s\r\n", path, hostport, conn);
  if (n < 0)
    return UV_EINVAL;
  load->request = malloc((size_t)n + 1);
  if (load->request == NULL)
    return UV_ENOMEM;
  snprintf(load->request, (size_t)n + 1,
           "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: clustersim-load"
           "\r\n%s\r\n", path, hostport, conn);
  load->request_len = (size_t)n;
  return 0;
}

static int check_opts(const load_opts_t *opts)
{
  if (opts->unix_path != NULL &&
      (opts->unix_path[0] == '\0' || strlen(opts->unix_path) > 107 ||
       opts->clients > 0 || opts->udp))
    return UV_EINVAL;
  if (opts->unix_path == NULL && (opts->port <= 0 || opts->port > 65535))
    return UV_EINVAL;
  if (opts->connections > LOAD_MAX_CONNECTIONS)
    return UV_EINVAL;
  if (opts->requests == 0 && opts->duration_ms == 0)
    return UV_EINVAL;
  if (opts->duration_ms > LOAD_MAX_DURATION_MS)
    return UV_EINVAL;
  if (opts->rate > 1000000u)
    return UV_EINVAL;
  if (opts->clients > 250)
    return UV_EINVAL;
  return 0;
}

static void on_run_timer(uv_timer_t *timer);

static void begin_stop(load_t *load)
{
  unsigned i;

  load->stopping = true;
  uv_timer_start(&load->timer, on_run_timer, load->opts.drain_ms, 0);
  for (i = 0; i < load->opts.connections; i++)
    load_slot_retire(&load->slots[i]);
}

static void on_run_timer(uv_timer_t *timer)
{
  load_t *load = timer->data;
  unsigned i;

  if (!load->stopping) {
    begin_stop(load);     /* the duration (or the cap) has passed */
    return;
  }
  load->drain_expired = true;
  for (i = 0; i < load->opts.connections; i++)
    load_slot_cancel(&load->slots[i]);
}

static void on_run_timer_closed(uv_handle_t *handle)
{
  load_run_handle_closed(handle->data);
}

void load_run_slot_idle(load_t *load)
{
  unsigned i;

  if (load->closing_all)
    return;
  for (i = 0; i < load->opts.connections; i++)
    if (!load->slots[i].idle)
      return;
  load->closing_all = true;
  load->stopping = true;
  for (i = 0; i < load->opts.connections; i++)
    load_slot_close(&load->slots[i]);
  uv_close((uv_handle_t *)&load->timer, on_run_timer_closed);
}

void load_run_handle_closed(load_t *load)
{
  load_done_cb done_cb = load->done_cb;

  if (--load->open_handles > 0 || !load->closing_all)
    return;
  load->running = false;
  load->counters.end_ns = uv_hrtime();
  /* Last: done_cb may free the load. */
  done_cb(load, load->opts.arg);
}

/* Where the load goes: a UNIX socket, or a loopback address and port;
 * and the Host header's text. */
static int target_of(load_t *load, const load_opts_t *opts, char *hostport,
                     size_t size)
{
  load->unix_path[0] = '\0';
  if (opts->unix_path == NULL)
    return parse_host(opts->host != NULL ? opts->host : "127.0.0.1",
                      opts->port, &load->addr, hostport, size);
  snprintf(load->unix_path, sizeof(load->unix_path), "%s", opts->unix_path);
  snprintf(hostport, size, "localhost");
  return 0;
}

int load_start(load_t *load, uv_loop_t *loop, const load_opts_t *opts,
               load_done_cb done_cb)
{
  char hostport[80];
  unsigned i;
  int rc;

  if (load == NULL || loop == NULL || opts == NULL || done_cb == NULL)
    return UV_EINVAL;
  if (load->running)
    return UV_EBUSY;
  rc = check_opts(opts);
  if (rc < 0)
    return rc;

  load->opts = *opts;
  if (load->opts.connections == 0)
    load->opts.connections = 1;
  if (load->opts.timeout_ms == 0)
    load->opts.timeout_ms = LOAD_DEFAULT_TIMEOUT_MS;
  if (load->opts.drain_ms == 0)
    load->opts.drain_ms = load->opts.timeout_ms;
  if (load->opts.max_records == 0)
    load->opts.max_records = LOAD_DEFAULT_MAX_RECORDS;
  rc = target_of(load, opts, hostport, sizeof(hostport));
  if (rc < 0)
    return rc;
  if (!path_ok(opts->path != NULL ? opts->path : "/"))
    return UV_EINVAL;
  rc = build_request(load, opts->path != NULL ? opts->path : "/", hostport);
  if (rc < 0)
    return rc;
  /* The strings now live in the request text only. */
  load->opts.host = NULL;
  load->opts.path = NULL;
  load->opts.unix_path = NULL;

  if (load->records_cap != load->opts.max_records) {
    free(load->records);
    load->records = malloc(load->opts.max_records * sizeof(load_record_t));
    load->records_cap = load->records != NULL ? load->opts.max_records : 0;
    if (load->records == NULL)
      return UV_ENOMEM;
  }
  free(load->slots);
  load->slots = calloc(load->opts.connections, sizeof(load_slot_t));
  if (load->slots == NULL)
    return UV_ENOMEM;

  load->loop = loop;
  load->done_cb = done_cb;
  load->stopping = load->drain_expired = load->closing_all = false;
  load->open_handles = 0;
  load->conn_counter = 0;
  load->nrecords = 0;
  memset(&load->counters, 0, sizeof(load->counters));
  memset(load->workers, 0, sizeof(load->workers));
  load->interval_ns = load->opts.rate > 0 ? 1000000000u / load->opts.rate : 0;
  load->counters.start_ns = uv_hrtime();
  load->next_permit_ns = load->counters.start_ns;
  load__measure_reset(&load->measure, load->counters.start_ns);

  /* uv_timer_init only registers the handle and cannot fail, so a start
   * that got this far leaves no handle half made. */
  uv_timer_init(loop, &load->timer);
  load->timer.data = load;
  load->open_handles++;
  for (i = 0; i < load->opts.connections; i++)
    load_slot_init(load, &load->slots[i], i);
  load->running = true;
  uv_timer_start(&load->timer, on_run_timer,
                 load->opts.duration_ms != 0 ? load->opts.duration_ms
                                             : LOAD_MAX_DURATION_MS, 0);
  for (i = 0; i < load->opts.connections; i++)
    load_slot_kick(&load->slots[i]);
  return 0;
}

int load_stop(load_t *load)
{
  if (load == NULL || !load->running)
    return UV_EINVAL;
  if (load->stopping)
    return UV_EALREADY;
  begin_stop(load);
  return 0;
}

uint64_t load_run_permit(load_t *load)
{
  uint64_t now;

  if (load->interval_ns == 0)
    return 0;
  now = uv_hrtime();
  /* No burst after an idle stretch: permits do not pile up. */
  if (load->next_permit_ns + load->interval_ns < now)
    load->next_permit_ns = now;
  if (load->next_permit_ns > now)
    return (load->next_permit_ns - now + 999999u) / 1000000u;
  return 0;
}

bool load_run_take_request(load_t *load, uint64_t *seq)
{
  if (load->opts.requests != 0 && load->counters.issued >= load->opts.requests)
    return false;
  *seq = load->counters.issued++;
  load->next_permit_ns += load->interval_ns;
  return true;
}

void load_run_record(load_t *load, const load_record_t *record)
{
  load_counters_t *c = &load->counters;

  c->finished++;
  c->outcome[record->outcome]++;
  if (load_outcome_failed(record->outcome))
    c->failed++;
  if (record->worker > 0 && record->worker <= LOAD_MAX_WORKER_ID &&
      (record->outcome == LOAD_OK || record->outcome == LOAD_RETRIED))
    load->workers[record->worker]++;
  load__measure_record(&load->measure, record);
  if (load->nrecords < load->records_cap)
    load->records[load->nrecords++] = *record;
  else
    c->records_dropped++;
  if (load->opts.request_cb != NULL)
    load->opts.request_cb(load, record, load->opts.arg);
}

bool load_running(const load_t *load)
{
  return load != NULL && load->running;
}

int load_retarget(load_t *load, int port)
{
  struct sockaddr_in *in4;
  struct sockaddr_in6 *in6;

  if (load == NULL || !load->running || port <= 0 || port > 65535 ||
      load->unix_path[0] != '\0')
    return UV_EINVAL;
  in4 = (struct sockaddr_in *)&load->addr;
  in6 = (struct sockaddr_in6 *)&load->addr;
  if (load->addr.ss_family == AF_INET)
    in4->sin_port = htons((uint16_t)port);
  else
    in6->sin6_port = htons((uint16_t)port);
  return 0;
}

void load_counters(const load_t *load, load_counters_t *counters)
{
  if (load == NULL || counters == NULL)
    return;
  *counters = load->counters;
}

const load_record_t *load_records(const load_t *load, size_t *count)
{
  if (load == NULL) {
    if (count != NULL)
      *count = 0;
    return NULL;
  }
  if (count != NULL)
    *count = load->nrecords;
  return load->records;
}

uint64_t load_worker_responses(const load_t *load, unsigned id)
{
  if (load == NULL || id == 0 || id > LOAD_MAX_WORKER_ID)
    return 0;
  return load->workers[id];
}
