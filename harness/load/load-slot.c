/*
 * load-slot.c - one client slot: connect, send a GET, parse the response,
 * classify the outcome, reuse or replace the connection, retry once.
 *
 * A TCP handle is only initialised again after its close callback, so the
 * connect request embedded in the slot is never reused too early; writes
 * carry the attempt number they belong to, because the write callback of
 * one request can arrive after the response, when the next request is
 * already out on the same connection.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "load-internal.h"

typedef struct {
  uv_write_t req;
  load_slot_t *slot;
  unsigned gen;
} load_write_t;

static void slot_next(load_slot_t *slot);
static void slot_attempt(load_slot_t *slot);
static void slot_issue(load_slot_t *slot);

/* ------------------------------------------------------------------ */
/* response parsing                                                    */

static void header_end(load_slot_t *slot)
{
  if (slot->hdr_state == 2 && slot->field_is_worker) {
    slot->value[slot->value_len] = '\0';
    slot->worker = (unsigned)strtoul(slot->value, NULL, 10);
  }
  slot->hdr_state = 0;
  slot->field_len = 0;
  slot->value_len = 0;
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
  load_slot_t *slot = p->data;

  if (slot->hdr_state == 2)
    header_end(slot);
  slot->hdr_state = 1;
  /* A longer name cannot be X-Worker: remember that it overflowed. */
  if (n > sizeof(slot->field) - slot->field_len)
    slot->field_len = sizeof(slot->field);
  else {
    memcpy(slot->field + slot->field_len, at, n);
    slot->field_len += n;
  }
  return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
  load_slot_t *slot = p->data;

  if (slot->hdr_state == 1)
    slot->field_is_worker = slot->field_len == 8 &&
                            strncasecmp(slot->field, "X-Worker", 8) == 0;
  slot->hdr_state = 2;
  if (slot->field_is_worker) {
    size_t room = sizeof(slot->value) - 1 - slot->value_len;

    if (n > room)
      n = room;
    memcpy(slot->value + slot->value_len, at, n);
    slot->value_len += n;
  }
  return 0;
}

static int on_headers_complete(http_parser *p)
{
  header_end(p->data);
  return 0;
}

static int on_message_complete(http_parser *p)
{
  load_slot_t *slot = p->data;

  slot->complete = true;
  /* One response per request: stop here, whatever follows. */
  http_parser_pause(p, 1);
  return 0;
}

static const http_parser_settings response_settings = {
  .on_header_field = on_header_field,
  .on_header_value = on_header_value,
  .on_headers_complete = on_headers_complete,
  .on_message_complete = on_message_complete,
};

/* ------------------------------------------------------------------ */
/* handles                                                             */

static void on_tcp_closed(uv_handle_t *handle)
{
  load_slot_t *slot = handle->data;
  load_t *load = slot->load;

  slot->tcp_open = false;
  slot->tcp_closing = false;
  if (slot->issue_pending && slot->active) {
    slot->issue_pending = false;
    slot_issue(slot);
  }
  load_run_handle_closed(load);
}

static void slot_close_tcp(load_slot_t *slot)
{
  if (!slot->tcp_open || slot->tcp_closing)
    return;
  slot->tcp_closing = true;
  slot->connected = false;
  uv_close((uv_handle_t *)&slot->tcp, on_tcp_closed);
}

static void on_timer_closed(uv_handle_t *handle)
{
  load_run_handle_closed(((load_slot_t *)handle->data)->load);
}

void load_slot_close(load_slot_t *slot)
{
  slot_close_tcp(slot);
  if (!slot->timer_closing) {
    slot->timer_closing = true;
    uv_close((uv_handle_t *)&slot->timer, on_timer_closed);
  }
}

/* ------------------------------------------------------------------ */
/* outcomes                                                            */

static void slot_finish(load_slot_t *slot, load_outcome_t outcome, int error)
{
  load_record_t rec = {
    .start_ns = slot->start_ns,
    .end_ns = uv_hrtime(),
    .seq = slot->seq,
    .outcome = outcome,
    .retried = slot->attempt > 0,
    .status = (int)slot->parser.status_code,
    .worker = slot->worker,
    .connection = slot->index,
    .client = slot->load->opts.clients > 0
                  ? 1 + slot->index % slot->load->opts.clients : 0,
    .conn_seq = slot->conn_seq,
    .error = error,
  };

  uv_timer_stop(&slot->timer);
  slot->active = false;
  slot->issue_pending = false;
  load_run_record(slot->load, &rec);
  slot_next(slot);
}

static bool retryable(const load_slot_t *slot, int error)
{
  return (error == UV_EOF || error == UV_ECONNRESET || error == UV_EPIPE) &&
         slot->reused && slot->bytes == 0 && slot->attempt == 0 &&
         !slot->load->drain_expired;
}

static void slot_fail(load_slot_t *slot, int error)
{
  load_outcome_t outcome;

  slot_close_tcp(slot);
  if (retryable(slot, error)) {
    slot->attempt = 1;
    slot->load->counters.retries++;
    slot_attempt(slot);
    return;
  }
  if (error == UV_ECONNREFUSED)
    outcome = LOAD_REFUSED;
  else if (error == UV_ETIMEDOUT)
    outcome = LOAD_TIMEOUT;
  else if (error == UV_EOF && slot->bytes > 0)
    outcome = LOAD_TRUNCATED;
  else if (error == UV_EOF || error == UV_ECONNRESET || error == UV_EPIPE)
    outcome = LOAD_RESET;
  else
    outcome = LOAD_ERROR;
  slot_finish(slot, outcome, error);
}

static void slot_complete(load_slot_t *slot)
{
  int status = (int)slot->parser.status_code;

  slot->conn_responses++;
  if (!slot->load->opts.keepalive || slot->no_reuse ||
      !http_should_keep_alive(&slot->parser))
    slot_close_tcp(slot);
  if (status >= 200 && status <= 299)
    slot_finish(slot, slot->attempt > 0 ? LOAD_RETRIED : LOAD_OK, 0);
  else
    slot_finish(slot, LOAD_BAD_STATUS, 0);
}

void load_slot_cancel(load_slot_t *slot)
{
  if (!slot->active)
    return;
  slot_close_tcp(slot);
  slot_finish(slot, LOAD_CANCELLED, UV_ECANCELED);
}

/* ------------------------------------------------------------------ */
/* I/O                                                                 */

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
  load_slot_t *slot = handle->data;

  buf->base = slot->load->rbuf;
  buf->len = sizeof(slot->load->rbuf);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
  load_slot_t *slot = stream->data;
  size_t parsed;

  if (nread == 0 || slot->tcp_closing)
    return;
  if (!slot->active) {
    /* The server ended (or spoke on) an idle connection: the next
     * request opens a new one. */
    slot_close_tcp(slot);
    return;
  }
  if (nread < 0) {
    if (nread == UV_EOF && slot->bytes > 0) {
      /* A body that runs to the end of the connection ends here. */
      http_parser_execute(&slot->parser, &response_settings, NULL, 0);
      if (slot->complete) {
        slot->no_reuse = true;
        slot_complete(slot);
        return;
      }
    }
    slot_fail(slot, (int)nread);
    return;
  }
  slot->bytes += (uint64_t)nread;
  parsed = http_parser_execute(&slot->parser, &response_settings, buf->base,
                               (size_t)nread);
  if (slot->complete) {
    if (parsed < (size_t)nread)
      slot->no_reuse = true;   /* bytes nobody asked for */
    slot_complete(slot);
    return;
  }
  if (HTTP_PARSER_ERRNO(&slot->parser) != HPE_OK)
    slot_fail(slot, UV_EPROTO);
}

static void on_write(uv_write_t *req, int status)
{
  load_write_t *w = (load_write_t *)req;
  load_slot_t *slot = w->slot;
  unsigned gen = w->gen;

  free(w);
  if (status < 0 && slot->active && !slot->tcp_closing && gen == slot->gen)
    slot_fail(slot, status);
}

/* One datagram; its answer comes to on_datagram. */
static void slot_send_datagram(load_slot_t *slot)
{
  char text[48];
  int n = snprintf(text, sizeof(text), "datagram %llu\n",
                   (unsigned long long)slot->seq);
  uv_buf_t buf = uv_buf_init(text, (unsigned)n);
  int rc = uv_udp_try_send(&slot->udp, &buf, 1,
                           (const struct sockaddr *)&slot->load->addr);

  if (rc < 0)
    slot_fail(slot, rc);
}

static void slot_send(load_slot_t *slot)
{
  load_t *load = slot->load;
  load_write_t *w;

  if (load->opts.udp) {
    slot_send_datagram(slot);
    return;
  }
  w = malloc(sizeof(*w));
  uv_buf_t buf = uv_buf_init(load->request, (unsigned)load->request_len);
  int rc;

  if (w == NULL) {
    slot_fail(slot, UV_ENOMEM);
    return;
  }
  w->slot = slot;
  w->gen = slot->gen;
  slot->reused = slot->conn_responses > 0;
  http_parser_init(&slot->parser, HTTP_RESPONSE);
  slot->parser.data = slot;
  rc = uv_write(&w->req, (uv_stream_t *)&slot->tcp, &buf, 1, on_write);
  if (rc < 0) {
    free(w);
    slot_fail(slot, rc);
  }
}

static void on_connect(uv_connect_t *req, int status)
{
  load_slot_t *slot = req->data;
  int rc;

  if (slot->tcp_closing || !slot->active)
    return;
  if (status < 0) {
    slot_fail(slot, status);
    return;
  }
  slot->connected = true;
  rc = uv_read_start((uv_stream_t *)&slot->tcp, on_alloc, on_read);
  if (rc < 0) {
    slot_fail(slot, rc);
    return;
  }
  slot_send(slot);
}

/* The answer to a datagram: "worker <id>\n" names who received it. */
static void on_datagram(uv_udp_t *udp, ssize_t nread, const uv_buf_t *buf,
                        const struct sockaddr *from, unsigned flags)
{
  load_slot_t *slot = udp->data;
  unsigned id = 0;
  char text[32];

  (void)flags;
  if (nread == 0 || from == NULL || !slot->active || slot->tcp_closing)
    return;
  if (nread < 0) {
    slot_fail(slot, (int)nread);
    return;
  }
  snprintf(text, sizeof(text), "%.*s", (int)(nread < 31 ? nread : 31),
           buf->base);
  slot->bytes = (uint64_t)nread;
  if (sscanf(text, "worker %u", &id) != 1) {
    slot_finish(slot, LOAD_ERROR, UV_EPROTO);
    return;
  }
  slot->worker = id;
  slot_finish(slot, LOAD_OK, 0);
}

/* A UDP socket of the slot's own: from its client address, or loopback
 * of the target's family, any port. */
static int slot_bind_udp(load_slot_t *slot)
{
  load_t *load = slot->load;
  struct sockaddr_storage src;
  char ip[32] = "127.0.0.1";

  if (load->opts.clients > 0)
    snprintf(ip, sizeof(ip), "127.0.0.%u",
             2 + slot->index % load->opts.clients);
  if (load->addr.ss_family == AF_INET6)
    uv_ip6_addr("::1", 0, (struct sockaddr_in6 *)&src);
  else if (uv_ip4_addr(ip, 0, (struct sockaddr_in *)&src) != 0)
    return UV_EINVAL;
  return uv_udp_bind(&slot->udp, (const struct sockaddr *)&src, 0);
}

static void slot_open_udp(load_slot_t *slot)
{
  int rc = slot_bind_udp(slot);

  if (rc == 0)
    rc = uv_udp_recv_start(&slot->udp, on_alloc, on_datagram);
  if (rc < 0) {
    slot_fail(slot, rc);
    return;
  }
  slot->connected = true;
  slot_send(slot);
}

/* A client address of its own: 127.0.0.(2 + k % clients), any port. */
static int slot_bind_client(load_slot_t *slot)
{
  struct sockaddr_in src;
  char ip[32];

  snprintf(ip, sizeof(ip), "127.0.0.%u",
           2 + slot->index % slot->load->opts.clients);
  if (uv_ip4_addr(ip, 0, &src) != 0)
    return UV_EINVAL;
  return uv_tcp_bind(&slot->tcp, (const struct sockaddr *)&src, 0);
}

static void slot_connect(load_slot_t *slot)
{
  load_t *load = slot->load;
  int rc;

  rc = load->opts.udp ? uv_udp_init(load->loop, &slot->udp)
       : load->unix_path[0] != '\0' ? uv_pipe_init(load->loop, &slot->pipe, 0)
                                   : uv_tcp_init(load->loop, &slot->tcp);
  if (rc < 0) {
    slot_finish(slot, LOAD_ERROR, rc);
    return;
  }
  slot->tcp.data = slot;
  slot->tcp_open = true;
  load->open_handles++;
  slot->conn_seq = ++load->conn_counter;
  slot->conn_responses = 0;
  slot->no_reuse = false;
  load->counters.connections++;
  slot->connect_req.data = slot;
  if (load->opts.udp) {
    slot_open_udp(slot);
    return;
  }
  if (load->unix_path[0] != '\0') {
    uv_pipe_connect(&slot->connect_req, &slot->pipe, load->unix_path,
                    on_connect);
    return;
  }
  uv_tcp_nodelay(&slot->tcp, 1);
  if (load->opts.clients > 0 && (rc = slot_bind_client(slot)) < 0) {
    slot_fail(slot, rc);
    return;
  }
  slot->connect_req.data = slot;
  rc = uv_tcp_connect(&slot->connect_req, &slot->tcp,
                      (const struct sockaddr *)&load->addr, on_connect);
  if (rc < 0)
    slot_fail(slot, rc);
}

/* ------------------------------------------------------------------ */
/* scheduling                                                          */

static void on_timer(uv_timer_t *timer)
{
  load_slot_t *slot = timer->data;

  if (slot->waiting) {
    slot->waiting = false;
    slot_next(slot);
    return;
  }
  if (slot->active) {
    slot_close_tcp(slot);
    slot_finish(slot, LOAD_TIMEOUT, UV_ETIMEDOUT);
  }
}

static void slot_attempt(load_slot_t *slot)
{
  slot->gen++;
  slot->bytes = 0;
  slot->complete = false;
  slot->reused = false;
  slot->worker = 0;
  slot->hdr_state = 0;
  slot->field_len = slot->value_len = 0;
  slot->field_is_worker = false;
  http_parser_init(&slot->parser, HTTP_RESPONSE);
  slot->parser.data = slot;
  uv_timer_start(&slot->timer, on_timer, slot->load->opts.timeout_ms, 0);
  slot_issue(slot);
}

static void slot_issue(load_slot_t *slot)
{
  if (slot->tcp_closing)
    slot->issue_pending = true;
  else if (slot->connected)
    slot_send(slot);
  else
    slot_connect(slot);
}

/* A retired slot with nothing in flight: closes its connection and tells
 * the run, once. */
static void slot_go_idle(load_slot_t *slot)
{
  if (slot->idle)
    return;
  slot->idle = true;
  slot->waiting = false;
  uv_timer_stop(&slot->timer);
  slot_close_tcp(slot);
  load_run_slot_idle(slot->load);
}

static void slot_next(load_slot_t *slot)
{
  load_t *load = slot->load;
  uint64_t wait_ms;

  if (slot->retired) {
    slot_go_idle(slot);
    return;
  }
  if (load->stopping) {
    load_slot_retire(slot);
    return;
  }
  wait_ms = load_run_permit(load);
  if (wait_ms > 0) {
    slot->waiting = true;
    uv_timer_start(&slot->timer, on_timer, wait_ms, 0);
    return;
  }
  if (!load_run_take_request(load, &slot->seq)) {
    load_slot_retire(slot);
    return;
  }
  slot->active = true;
  slot->attempt = 0;
  slot->start_ns = uv_hrtime();
  slot_attempt(slot);
}

void load_slot_kick(load_slot_t *slot)
{
  slot->waiting = true;
  uv_timer_start(&slot->timer, on_timer, 0, 0);
}

void load_slot_retire(load_slot_t *slot)
{
  if (slot->retired)
    return;
  slot->retired = true;
  /* One in flight goes idle when it ends (slot_next). */
  if (!slot->active)
    slot_go_idle(slot);
}

void load_slot_init(load_t *load, load_slot_t *slot, unsigned index)
{
  memset(slot, 0, sizeof(*slot));
  slot->load = load;
  slot->index = index;
  uv_timer_init(load->loop, &slot->timer);
  slot->timer.data = slot;
  load->open_handles++;
}
