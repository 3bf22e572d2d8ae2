/*
 * The control socket that the agent and every worker connect to: JSON
 * lines, hello first. What arrives is queued for the dispatcher as it
 * comes (records, hellos, replies, the end of the primary's connection);
 * nothing here knows what the run does with it. Commands to the primary
 * are numbered and kept until their reply.
 */
#include "runner-internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* A control line longer than this is a broken peer. */
#define MAX_LINE (1024 * 1024)
/* More connections than this is a broken cluster: a scenario holds 4096
 * workers at most, and their replacements may connect while the old ones
 * are still closing. */
#define MAX_CONNS 16384
/* A worker id above this is a broken peer. */
#define MAX_WORKER_ID 100000
/* What the agents may make the harness keep of one run: past this the
 * trace is truncated and the run is an error that says so. */
#define MAX_RECORDS 100000
#define MAX_RECORD_BYTES (64u * 1024 * 1024)
/* and more per worker forked, up to a scenario's 4096 (a primary that
 * says it forked worker 100000 does not raise the bound further): a big
 * cluster's lifecycle alone is about 12 records a worker */
#define MAX_RECORD_WORKERS 4096
#define MAX_RECORDS_PER_WORKER 64
#define MAX_RECORD_BYTES_PER_WORKER (16u * 1024)
/* Log records kept of one run; the rest are counted. */
#define MAX_LOGS 1000
#define MAX_LOG_BYTES (1024u * 1024)
/* How long a connection may take to say hello (scaled). */
#define HELLO_MS 3000
/* The control directories: TMPDIR/clustersim-ctl-XXXXXX. One older than
 * this where nobody listens is a killed harness's. */
#define DIR_PREFIX "clustersim-ctl-"
#define STALE_S 10
/* A hello stamped later than the harness receives it, by more than this,
 * comes from a clock that is not this machine's CLOCK_MONOTONIC. */
#define CLOCK_AHEAD_NS 100e6
/* Nor does one stamped before the run started (no process of it existed
 * then), or longer than this (scaled) before it arrives: a local socket
 * delivers in microseconds, and even a harness busy writing reports reads
 * within seconds. */
#define CLOCK_BEHIND_MS 10000

/* ---------------------------------------------------------------------- */
/* Sending                                                                 */

typedef struct {
  uv_write_t req;
  char *data;
} conn_write_t;

static void on_write(uv_write_t *req, int status)
{
  conn_write_t *w = (conn_write_t *)req;

  (void)status;
  free(w->data);
  free(w);
}

static int conn_send(runner__conn_t *c, const cJSON *msg)
{
  conn_write_t *w;
  char *text;
  size_t len;
  uv_buf_t buf;
  int rc;

  if (c == NULL || c->closing)
    return UV_EPIPE;
  text = cJSON_PrintUnformatted(msg);
  if (text == NULL)
    return UV_ENOMEM;
  len = strlen(text);
  w = calloc(1, sizeof(*w));
  if (w == NULL) {
    free(text);
    return UV_ENOMEM;
  }
  w->data = realloc(text, len + 2);
  if (w->data == NULL) {
    free(text);
    free(w);
    return UV_ENOMEM;
  }
  w->data[len] = '\n';
  w->data[len + 1] = '\0';
  buf = uv_buf_init(w->data, (unsigned)len + 1);
  rc = uv_write(&w->req, (uv_stream_t *)&c->pipe, &buf, 1, on_write);
  if (rc != 0) {
    free(w->data);
    free(w);
  }
  return rc;
}

int runner__control_command(runner_run_t *run, cJSON *cmd,
                            runner__req_kind_t kind,
                            const scenario_step_t *st, cJSON *behaviour)
{
  runner__control_t *ctl = &run->ctl;
  const cJSON *name = cJSON_GetObjectItemCaseSensitive(cmd, "cmd");
  runner__req_t *r;
  int rc;

  if (ctl->primary == NULL)
    return UV_EPIPE;
  r = calloc(1, sizeof(*r));
  if (r == NULL)
    return UV_ENOMEM;
  if (base_array_grow(&ctl->cmds, &ctl->cmds_cap, ctl->next_req + 1,
                      sizeof(*ctl->cmds)) != 0) {
    free(r);
    return UV_ENOMEM;
  }
  r->req = ++ctl->next_req;
  r->kind = kind;
  r->st = st;
  r->sent = uv_hrtime();
  r->behaviour = behaviour;
  snprintf(r->cmd, sizeof(r->cmd), "%s",
           cJSON_IsString(name) ? name->valuestring : "?");
  memcpy(ctl->cmds[r->req - 1], r->cmd, sizeof(r->cmd));
  cJSON_AddNumberToObject(cmd, "req", r->req);
  rc = conn_send(ctl->primary, cmd);
  if (rc != 0) {
    free(r);
    return rc;
  }
  r->next = ctl->reqs;
  ctl->reqs = r;
  return 0;
}

static runner__conn_t *worker_conn(runner_run_t *run, unsigned id)
{
  runner__conn_t *c;

  for (c = run->ctl.conns; c; c = c->next)
    if (c->role == RUNNER__ROLE_WORKER && c->worker == id && !c->closing)
      return c;
  return NULL;
}

int runner__control_send_worker(runner_run_t *run, unsigned id,
                                const cJSON *msg)
{
  runner__conn_t *c = worker_conn(run, id);

  if (c == NULL)
    return UV_ENOTCONN;
  return conn_send(c, msg);
}

static void free_reqs(runner__req_t *r)
{
  runner__req_t *next;

  for (; r != NULL; r = next) {
    next = r->next;
    free(r);
  }
}

bool runner__control_forget(runner_run_t *run, const scenario_step_t *st,
                            char *cmd, size_t len)
{
  runner__req_t *r;
  bool found = false;

  /* the newest first: the one a step waits for */
  for (r = run->ctl.reqs; r != NULL && st != NULL && !found; r = r->next)
    if (r->st == st) {
      snprintf(cmd, len, "%s", r->cmd);
      found = true;
    }
  free_reqs(run->ctl.reqs);
  run->ctl.reqs = NULL;
  return found;
}

/* ---------------------------------------------------------------------- */
/* Decoding a line                                                         */

static void bad(runner__line_t *out, cJSON *msg, const char *why)
{
  cJSON_Delete(msg);
  out->kind = RUNNER__LINE_BAD;
  out->msg = NULL;
  snprintf(out->why, sizeof(out->why), "%s", why);
}

/* A number that is a whole number in [lo, hi]. */
static bool whole(const cJSON *v, double lo, double hi)
{
  return cJSON_IsNumber(v) && v->valuedouble >= lo && v->valuedouble <= hi &&
         v->valuedouble == (double)(unsigned)v->valuedouble;
}

static void decode_hello(cJSON *msg, runner__line_t *out)
{
  const cJSON *role = cJSON_GetObjectItemCaseSensitive(msg, "role");
  const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "id");

  if (cJSON_IsString(role) && strcmp(role->valuestring, "primary") == 0) {
    out->role = RUNNER__ROLE_PRIMARY;
  } else if (cJSON_IsString(role) &&
             strcmp(role->valuestring, "worker") == 0) {
    if (!whole(id, 1, MAX_WORKER_ID)) {
      bad(out, msg, "a worker's hello without a valid id");
      return;
    }
    out->role = RUNNER__ROLE_WORKER;
    out->worker = (unsigned)id->valuedouble;
  } else {
    bad(out, msg, "a hello without a role");
    return;
  }
  out->kind = RUNNER__LINE_HELLO;
}

/* A record's time: absent (the harness stamps it), or CLOCK_MONOTONIC
 * nanoseconds, which fit in 63 bits. */
static bool is_time(const cJSON *t)
{
  return t == NULL ||
         (cJSON_IsNumber(t) && t->valuedouble >= 0 && t->valuedouble < 9e18);
}

/* A JSON object with a "type", from a connection in role `from`. */
static void decode_typed(cJSON *msg, const char *type, runner__role_t from,
                         runner__line_t *out)
{
  const cJSON *req = cJSON_GetObjectItemCaseSensitive(msg, "req");

  out->msg = msg;
  if (from == RUNNER__ROLE_UNKNOWN)
    decode_hello(msg, out);
  else if (strcmp(type, "reply") == 0) {
    out->kind = RUNNER__LINE_REPLY;
    out->req = whole(req, 1, UINT32_MAX) ? (unsigned)req->valuedouble : 0;
  } else if (strcmp(type, "log") == 0) {
    out->kind = RUNNER__LINE_LOG;
  } else {
    out->kind = RUNNER__LINE_RECORD;
  }
}

void runner__control_decode(const char *line, size_t len,
                            runner__role_t from, runner__line_t *out)
{
  const char *end = NULL;
  const cJSON *type;
  size_t blanks = 0;
  cJSON *msg;

  memset(out, 0, sizeof(*out));
  while (blanks < len && strchr(" \t\r", line[blanks]) != NULL &&
         line[blanks] != '\0')
    blanks++;
  if (blanks == len) {
    out->kind = RUNNER__LINE_BLANK;
    return;
  }
  msg = cJSON_ParseWithLengthOpts(line, len, &end, false);
  while (msg != NULL && end < line + len &&
         (*end == ' ' || *end == '\t' || *end == '\r'))
    end++;
  type = cJSON_GetObjectItemCaseSensitive(msg, "type");
  if (msg == NULL)
    bad(out, NULL, "a line that is not JSON");
  else if (end != line + len)
    bad(out, msg, "a line with bytes after its JSON value");
  else if (!cJSON_IsObject(msg) || !cJSON_IsString(type))
    bad(out, msg, "a line that is not a JSON object with a \"type\"");
  else if (from == RUNNER__ROLE_UNKNOWN &&
           strcmp(type->valuestring, "hello") != 0)
    bad(out, msg, "a line before its hello");
  else if (!is_time(cJSON_GetObjectItemCaseSensitive(msg, "t")))
    bad(out, msg, "a record whose \"t\" is not a time in nanoseconds");
  else
    decode_typed(msg, type->valuestring, from, out);
}

/* ---------------------------------------------------------------------- */
/* Receiving                                                               */

static void on_conn_closed(uv_handle_t *h)
{
  runner__conn_t *c = h->data;
  runner_run_t *run = c->run;
  runner__conn_t **pp;

  runner__handle_closed(run);
  if (--c->open > 0)
    return;
  for (pp = &run->ctl.conns; *pp; pp = &(*pp)->next)
    if (*pp == c) {
      *pp = c->next;
      run->ctl.n_conns--;
      break;
    }
  free(c->buf);
  free(c);
}

static void conn_close(runner__conn_t *c)
{
  runner_run_t *run = c->run;

  if (c->closing)
    return;
  c->closing = true;
  if (run->ctl.primary == c) {
    run->ctl.primary = NULL;
    /* what the primary said before is queued ahead of this */
    runner__queue_push(run, &run->ctl.primary_eof);
  }
  uv_close((uv_handle_t *)&c->pipe, on_conn_closed);
  uv_close((uv_handle_t *)&c->hello, on_conn_closed);
}

/* Who is at the other end, for messages. */
static const char *peer_name(const runner__conn_t *c, char *buf, size_t len)
{
  if (c->role == RUNNER__ROLE_PRIMARY)
    snprintf(buf, len, "the primary agent");
  else if (c->role == RUNNER__ROLE_WORKER)
    snprintf(buf, len, "worker %u", c->worker);
  else if (c->peer_pid > 0 && c->peer_pid == c->run->agent.pid)
    snprintf(buf, len, "the agent (pid %d)", c->peer_pid);
  else if (c->peer_pid > 0)
    snprintf(buf, len, "a process of the run (pid %d)", c->peer_pid);
  else
    snprintf(buf, len, "a control connection");
  return buf;
}

/* A protocol error: the run is an error, the connection is dropped. The
 * message is "<peer> <what>". */
static void conn_broken(runner__conn_t *c, cJSON *msg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void conn_broken(runner__conn_t *c, cJSON *msg, const char *fmt, ...)
{
  char who[64], *what;
  va_list ap;

  va_start(ap, fmt);
  what = base_vasprintf(fmt, ap);
  va_end(ap);
  runner__error(c->run, "%s %s", peer_name(c, who, sizeof(who)),
                what ? what : "broke the protocol");
  free(what);
  cJSON_Delete(msg);
  conn_close(c);
}

static void queue_with(runner_run_t *run, runner__ev_kind_t kind,
                       cJSON *rec, runner__req_t *req, unsigned worker)
{
  runner__event_t *ev = runner__event_new(kind);

  if (ev == NULL) {
    cJSON_Delete(rec);
    free(req);
    return;
  }
  if (!cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(rec, "t")))
    cJSON_AddNumberToObject(rec, "t", (double)uv_hrtime());
  ev->rec = rec;
  ev->req = req;
  ev->worker = worker;
  runner__queue_push(run, ev);
}

/* A record for the trace, within the bounds of a run: past them the run is
 * an error that says so, and the connection that sent it is dropped. */
static bool keep_record(runner__conn_t *c, cJSON *msg, size_t len)
{
  runner__control_t *ctl = &c->run->ctl;
  size_t forked = c->run->cluster.last_forked;

  if (forked > MAX_RECORD_WORKERS)
    forked = MAX_RECORD_WORKERS;
  if (ctl->records >= MAX_RECORDS + MAX_RECORDS_PER_WORKER * forked ||
      ctl->record_bytes + len >
          MAX_RECORD_BYTES + MAX_RECORD_BYTES_PER_WORKER * forked) {
    if (!ctl->truncated)
      conn_broken(c, msg, "sent more than a run records: the trace was "
                  "truncated at %u records (%zu bytes)", ctl->records,
                  ctl->record_bytes);
    else
      cJSON_Delete(msg);
    ctl->truncated = true;
    conn_close(c);
    return false;
  }
  ctl->records++;
  ctl->record_bytes += len;
  runner__queue_record(c->run, msg);
  return true;
}

/* A note of the harness in the trace, as a log record. */
static void log_note(runner_run_t *run, const char *text, unsigned dropped)
{
  cJSON *j = cJSON_CreateObject();

  if (j == NULL)
    return;
  cJSON_AddStringToObject(j, "type", "log");
  cJSON_AddStringToObject(j, "from", "harness");
  cJSON_AddStringToObject(j, "text", text);
  if (dropped > 0)
    cJSON_AddNumberToObject(j, "dropped", dropped);
  runner__queue_record(run, j);
}

/* Logs are kept up to a bound; the rest are counted, and the trace says so
 * twice: when the first one is not kept, and how many at the end. */
static void on_log(runner__conn_t *c, cJSON *msg, size_t len)
{
  runner__control_t *ctl = &c->run->ctl;

  if (ctl->logs < MAX_LOGS && ctl->log_bytes + len <= MAX_LOG_BYTES) {
    if (keep_record(c, msg, len)) {
      ctl->logs++;
      ctl->log_bytes += len;
    }
    return;
  }
  cJSON_Delete(msg);
  if (ctl->logs_dropped++ == 0)
    log_note(c->run, "clustersim: the agents sent more log records than "
             "a run keeps; the rest are counted, not kept", 0);
}

/* ---------------------------------------------------------------------- */
/* Clocks                                                                  */

/* The protocol's times are CLOCK_MONOTONIC of the machine, but a runtime
 * may count process.hrtime() from its own start, and every process (the
 * primary agent, each worker) may have its own origin. The hello tells:
 * its stamp is compared with the time the harness receives it, and a
 * process whose clock is off has every later time of its connection moved
 * by that offset, so the merged trace keeps its order. The run says so,
 * in its warnings and in the trace. */
static void clock_check(runner__conn_t *c, cJSON *hello)
{
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(hello, "t");
  runner_run_t *run = c->run;
  double now = (double)uv_hrtime(), off;
  char who[64], *line, *all;

  if (!cJSON_IsNumber(t))
    return; /* the harness stamps what arrives without a time */
  off = now - t->valuedouble;
  if (off >= -CLOCK_AHEAD_NS &&
      off <= (double)runner__scaled(run, CLOCK_BEHIND_MS) * 1e6 &&
      t->valuedouble >= (double)run->res.started_ns)
    return;
  c->clock_shift = off;
  c->clock_shifted = true;
  cJSON_AddNumberToObject(hello, "clock_offset_ns", off);
  line = base_asprintf("the clock of %s (pid %d) was %.3f s %s the "
                       "harness's CLOCK_MONOTONIC at its hello: its times "
                       "were corrected by that offset",
                       peer_name(c, who, sizeof(who)),
                       c->peer_pid, off > 0 ? off / 1e9 : -off / 1e9,
                       off > 0 ? "behind" : "ahead of");
  if (line == NULL)
    return;
  log_note(run, line, 0);
  all = run->res.warnings == NULL
            ? base_strdup(line)
            : base_asprintf("%s\n%s", run->res.warnings, line);
  if (all != NULL) {
    free(run->res.warnings);
    run->res.warnings = all;
  }
  free(line);
}

/* A time of a process whose clock was off, on the harness's clock. The
 * offset measured at the hello includes how long the hello took to
 * arrive; no stamp can be later than its receipt, so the smallest
 * (receipt - stamp) seen so far is the better offset, and a record is
 * never put after the moment the harness read it. */
static void clock_fix(runner__conn_t *c, cJSON *msg)
{
  cJSON *t = cJSON_GetObjectItemCaseSensitive(msg, "t");
  double v, seen;

  if (!c->clock_shifted || !cJSON_IsNumber(t))
    return;
  seen = (double)uv_hrtime() - t->valuedouble;
  if (seen < c->clock_shift)
    c->clock_shift = seen;
  v = t->valuedouble + c->clock_shift;
  cJSON_SetNumberValue(t, v < 0 ? 0 : v);
}

static void on_hello(runner__conn_t *c, runner__line_t *l)
{
  runner__control_t *ctl = &c->run->ctl;

  uv_timer_stop(&c->hello);
  if (l->role == RUNNER__ROLE_PRIMARY) {
    if (ctl->had_primary) {
      conn_broken(c, l->msg, "connected as a second primary agent");
      return;
    }
    c->role = RUNNER__ROLE_PRIMARY;
    ctl->primary = c;
    ctl->had_primary = true;
    clock_check(c, l->msg);
    clock_fix(c, l->msg);
    cJSON_AddStringToObject(l->msg, "from", "primary");
    queue_with(c->run, RUNNER__EV_HELLO, l->msg, NULL, 0);
    return;
  }
  c->role = RUNNER__ROLE_WORKER;
  c->worker = l->worker;
  clock_check(c, l->msg);
  clock_fix(c, l->msg);
  cJSON_AddNumberToObject(l->msg, "worker", c->worker);
  cJSON_AddStringToObject(l->msg, "from", "worker");
  runner__queue_record(c->run, l->msg);
}

/* A reply that answers no command that waits for one: a second reply, or
 * a req the harness never sent. */
static void stray_reply(runner__conn_t *c, cJSON *msg, unsigned req)
{
  runner__control_t *ctl = &c->run->ctl;
  const cJSON *r = cJSON_GetObjectItemCaseSensitive(msg, "req");
  char *text;

  if (req >= 1 && req <= ctl->next_req && req <= ctl->cmds_cap) {
    conn_broken(c, msg, "replied twice to command %u ('%s'): one reply per "
                "command (docs/protocol.md, 2.)", req, ctl->cmds[req - 1]);
    return;
  }
  text = r != NULL ? cJSON_PrintUnformatted(r) : NULL;
  conn_broken(c, msg, "sent a reply with req %.40s, which names no command "
              "the harness sent (the last was %u)",
              text ? text : "(none)", ctl->next_req);
  free(text);
}

/* The primary's reply goes with its request; a worker answers only a
 * fault it refuses. */
static void on_reply(runner__conn_t *c, runner__line_t *l)
{
  runner_run_t *run = c->run;
  runner__req_t **pp, *r = NULL;

  if (c->role == RUNNER__ROLE_WORKER) {
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(l->msg, "ok")))
      cJSON_Delete(l->msg);
    else
      queue_with(run, RUNNER__EV_REFUSAL, l->msg, NULL, c->worker);
    return;
  }
  for (pp = &run->ctl.reqs; l->req != 0 && *pp; pp = &(*pp)->next)
    if ((*pp)->req == l->req) {
      r = *pp;
      *pp = r->next;
      break;
    }
  if (r == NULL) {
    stray_reply(c, l->msg, l->req);
    return;
  }
  /* Where cluster.disconnect() really ran on the primary's stream, for
   * the oracle: what the primary forked before it was disconnected too. */
  if (strcmp(r->cmd, "cluster-disconnect") == 0 &&
      cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(l->msg, "ok")))
    runner__queue_action(run, "cluster-disconnect-answered", r->st, 0,
                         NULL);
  queue_with(run, RUNNER__EV_REPLY, l->msg, r, 0);
}

static void on_line(runner__conn_t *c, const char *line, size_t len)
{
  runner__line_t l;

  runner__control_decode(line, len, c->role, &l);
  if (l.kind != RUNNER__LINE_HELLO && l.msg != NULL)
    clock_fix(c, l.msg);
  switch (l.kind) {
  case RUNNER__LINE_BLANK:
    break;
  case RUNNER__LINE_BAD:
    conn_broken(c, NULL, "sent %s: %.*s", l.why, (int)(len < 60 ? len : 60),
                line);
    break;
  case RUNNER__LINE_HELLO:
    on_hello(c, &l);
    break;
  case RUNNER__LINE_REPLY:
    on_reply(c, &l);
    break;
  case RUNNER__LINE_LOG:
    on_log(c, l.msg, len);
    break;
  case RUNNER__LINE_RECORD:
    if (c->role == RUNNER__ROLE_WORKER &&
        !cJSON_HasObjectItem(l.msg, "worker"))
      cJSON_AddNumberToObject(l.msg, "worker", c->worker);
    keep_record(c, l.msg, len);
    break;
  }
}

static void on_conn_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
  runner__conn_t *c = h->data;

  (void)hint;
  if (c->cap - c->len < 65536) {
    size_t cap = c->cap ? c->cap * 2 : 131072;
    char *b = realloc(c->buf, cap);
    if (b == NULL) {
      buf->base = NULL;
      buf->len = 0;
      return;
    }
    c->buf = b;
    c->cap = cap;
  }
  buf->base = c->buf + c->len;
  buf->len = c->cap - c->len;
}

static void on_conn_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
  runner__conn_t *c = st->data;
  size_t off = 0;
  char *nl;

  (void)buf;
  if (n < 0) {
    conn_close(c);
    return;
  }
  c->len += (size_t)n;
  while (!c->closing &&
         (nl = memchr(c->buf + off, '\n', c->len - off)) != NULL) {
    size_t len = (size_t)(nl - (c->buf + off));
    if (len > 0)
      on_line(c, c->buf + off, len);
    off += len + 1;
  }
  if (off > 0) {
    memmove(c->buf, c->buf + off, c->len - off);
    c->len -= off;
  }
  if (c->len > MAX_LINE && !c->closing)
    conn_broken(c, NULL, "sent a line longer than %d bytes", MAX_LINE);
}

static void on_hello_bound(uv_timer_t *t)
{
  runner__conn_t *c = t->data;

  if (c->role == RUNNER__ROLE_UNKNOWN && !c->closing)
    conn_broken(c, NULL, "connected to the control socket and sent no "
                "hello within %.3f s (docs/protocol.md, 1.: hello first)",
                (double)runner__scaled(c->run, HELLO_MS) / 1e3);
}

static int peer_pid(uv_pipe_t *p)
{
  struct ucred cred;
  socklen_t len = sizeof(cred);
  uv_os_fd_t fd;

  if (uv_fileno((uv_handle_t *)p, &fd) != 0 ||
      getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
    return 0;
  return (int)cred.pid;
}

static void on_connection(uv_stream_t *server, int status)
{
  runner_run_t *run = server->data;
  runner__conn_t *c;
  unsigned n = run->ctl.n_conns;

  if (status != 0)
    return;
  c = calloc(1, sizeof(*c));
  if (c == NULL)
    return;
  c->run = run;
  uv_pipe_init(run->loop, &c->pipe, 0);
  uv_timer_init(run->loop, &c->hello);
  c->pipe.data = c->hello.data = c;
  c->open = 2;
  runner__handle_opened(run);
  runner__handle_opened(run);
  c->next = run->ctl.conns;
  run->ctl.conns = c;
  run->ctl.n_conns++;
  if (uv_accept(server, (uv_stream_t *)&c->pipe) != 0 || n >= MAX_CONNS ||
      run->ctl.refuse) {
    conn_close(c);
    return;
  }
  c->peer_pid = peer_pid(&c->pipe);
  uv_timer_start(&c->hello, on_hello_bound, runner__scaled(run, HELLO_MS),
                 0);
  uv_read_start((uv_stream_t *)&c->pipe, on_conn_alloc, on_conn_read);
}

/* ---------------------------------------------------------------------- */
/* The socket                                                              */

/* Whether a harness still listens at `path`: a connection that is closed
 * at once costs a live run nothing (it never said hello, and it is gone
 * before its bound). Refused, or no socket at all: nobody listens. */
static bool listened(const char *path)
{
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  int fd, rc;

  if (strlen(path) >= sizeof(sa.sun_path))
    return true;
  memcpy(sa.sun_path, path, strlen(path) + 1);
  fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return true;
  rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
  rc = rc == 0 ? 0 : errno;
  close(fd);
  return rc != ECONNREFUSED && rc != ENOENT;
}

/* Control directories a harness killed outright left in `tmp` (its
 * supervisors remove their own, but a supervisor may be killed too):
 * ours, older than STALE_S, and with nobody listening at their socket.
 * Once per process, at its first run. */
static void sweep_stale(const char *tmp)
{
  static bool swept;
  struct dirent *de;
  DIR *d;

  if (swept || (d = opendir(tmp)) == NULL)
    return;
  swept = true;
  while ((de = readdir(d)) != NULL) {
    char dir[512], sock[600];
    struct stat st;
    if (strncmp(de->d_name, DIR_PREFIX, strlen(DIR_PREFIX)) != 0)
      continue;
    snprintf(dir, sizeof(dir), "%s/%s", tmp, de->d_name);
    snprintf(sock, sizeof(sock), "%s/ctl.sock", dir);
    if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) ||
        st.st_uid != getuid() || st.st_mtime + STALE_S > time(NULL) ||
        listened(sock))
      continue;
    (void)unlink(sock);
    (void)rmdir(dir);
  }
  closedir(d);
}

int runner__control_prepare(runner_run_t *run)
{
  runner__control_t *ctl = &run->ctl;
  const char *tmp = getenv("TMPDIR");

  ctl->primary_eof.kind = RUNNER__EV_PRIMARY_EOF;
  ctl->primary_eof.embedded = true;
  if (tmp == NULL || tmp[0] == '\0')
    tmp = "/tmp";
  /* sun_path holds 108 bytes: never a silent fallback to another place */
  if (strlen(tmp) + sizeof("/" DIR_PREFIX "XXXXXX/ctl.sock") > 108)
    return UV_ENAMETOOLONG;
  sweep_stale(tmp);
  /* A private directory for the socket: parallel runs never share a path,
   * and nobody else can connect. */
  snprintf(ctl->dir, sizeof(ctl->dir), "%s/" DIR_PREFIX "XXXXXX", tmp);
  if (mkdtemp(ctl->dir) == NULL) {
    ctl->dir[0] = '\0';
    return -errno;
  }
  snprintf(ctl->sock, sizeof(ctl->sock), "%s/ctl.sock", ctl->dir);
  return 0;
}

int runner__control_listen(runner_run_t *run)
{
  runner__control_t *ctl = &run->ctl;
  int rc;

  uv_pipe_init(run->loop, &ctl->server, 0);
  ctl->server.data = run;
  runner__handle_opened(run);
  ctl->listening = true;
  rc = uv_pipe_bind(&ctl->server, ctl->sock);
  if (rc == 0)
    rc = uv_listen((uv_stream_t *)&ctl->server, 128, on_connection);
  return rc;
}

void runner__control_refuse(runner_run_t *run)
{
  run->ctl.refuse = true;
}

static void on_server_closed(uv_handle_t *h)
{
  runner__handle_closed(h->data);
}

void runner__control_close(runner_run_t *run)
{
  runner__conn_t *c;
  char note[128];

  /* once: the server closes here */
  if (run->ctl.logs_dropped > 0 && run->ctl.listening) {
    snprintf(note, sizeof(note), "clustersim: %u log records were not kept",
             run->ctl.logs_dropped);
    log_note(run, note, run->ctl.logs_dropped);
  }
  run->ctl.refuse = true;
  for (c = run->ctl.conns; c; c = c->next)
    conn_close(c);
  if (run->ctl.listening) {
    run->ctl.listening = false;
    uv_close((uv_handle_t *)&run->ctl.server, on_server_closed);
  }
}

void runner__control_cleanup(runner_run_t *run)
{
  runner__control_t *ctl = &run->ctl;

  if (ctl->sock[0] != '\0')
    unlink(ctl->sock);
  if (ctl->dir[0] != '\0')
    rmdir(ctl->dir);
  ctl->sock[0] = ctl->dir[0] = '\0';
  free_reqs(ctl->reqs);
  ctl->reqs = NULL;
  free(ctl->cmds);
  ctl->cmds = NULL;
  ctl->cmds_cap = 0;
}
