/*
 * simtest.c - recorder, isolated runner, checks and clients for the sim/
 * tests (see simtest.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "simtest.h"

/* The write end of the failure pipe inside an isolated child; -1 in the
 * parent. */
static int report_fd = -1;
static unsigned records_before;
static unsigned asserts_before;
static unsigned failures_before;
/* The case's context, for the event dump of a failed case. */
static st_ctx_t *current;

/* ---------------------------------------------------------------------- */
/* Paths                                                                   */

static const char *env_or_die(const char *name)
{
  const char *v = getenv(name);

  if (v == NULL || *v == '\0') {
    fprintf(stderr, "simtest: %s is not set (run through meson test)\n",
            name);
    exit(99);
  }
  return v;
}

const char *st_clustersim(void)
{
  return env_or_die("CLUSTERSIM");
}

const char *st_srcdir(void)
{
  return env_or_die("SIMTEST_DIR");
}

const char *st_self(void)
{
  static char path[4096];
  size_t size = sizeof(path);

  if (path[0] == '\0' && uv_exepath(path, &size) != 0)
    return NULL;
  return path;
}

const char *st_which(const char *name)
{
  static char found[4096];
  const char *path = getenv("PATH");

  while (path != NULL && *path != '\0') {
    const char *colon = strchr(path, ':');
    size_t n = colon != NULL ? (size_t)(colon - path) : strlen(path);

    if (n > 0 && n + strlen(name) + 2 < sizeof(found)) {
      memcpy(found, path, n);
      found[n] = '/';
      strcpy(found + n + 1, name);
      if (access(found, X_OK) == 0)
        return found;
    }
    path = colon != NULL ? colon + 1 : NULL;
  }
  return NULL;
}

/* ---------------------------------------------------------------------- */
/* Checks                                                                  */

void st_check_impl(int ok, unsigned line, const char *file,
                   const char *cond, const char *fmt, ...)
{
  char msg[1024];
  va_list ap;

  if (ok) {
    CU_assertImplementation(CU_TRUE, line, cond, file, "", CU_FALSE);
    return;
  }
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  CU_assertImplementation(CU_FALSE, line, msg, file, "", CU_FALSE);
}

/* ---------------------------------------------------------------------- */
/* Isolation                                                               */

static void sanitize(char *s)
{
  for (; *s != '\0'; s++)
    if (*s == '\t' || *s == '\n' || *s == '\r')
      *s = ' ';
}

/* Child side: every failure recorded since the fork goes to the parent as
 * "line\tfile\tcondition\n". */
static void report_failures(void)
{
  CU_pFailureRecord r = CU_get_failure_list();
  unsigned i = 0;

  for (; r != NULL; r = r->pNext, i++) {
    char line[1400];
    char cond[1100];
    int n;

    if (i < records_before)
      continue;
    snprintf(cond, sizeof(cond), "%s",
             r->strCondition != NULL ? r->strCondition : "?");
    sanitize(cond);
    n = snprintf(line, sizeof(line), "%u\t%s\t%s\n", r->uiLineNumber,
                 r->strFileName != NULL ? r->strFileName : "?", cond);
    if (n > (int)sizeof(line) - 1)
      n = (int)sizeof(line) - 1;
    if (write(report_fd, line, (size_t)n) < 0)
      break;
  }
}

static void child_leave(void)
{
  unsigned failed = CU_get_number_of_failure_records() - records_before;
  char line[64];
  int n;

  /* SIMTEST_DUMP=1 shows the record of passing cases too. */
  if ((failed > 0 || getenv("SIMTEST_DUMP") != NULL) && current != NULL) {
    fprintf(stderr, "%s: events:\n", st_test_name());
    st_dump(current, stderr);
  }
  report_failures();
  /* The passed assertions count too, so the summary stays meaningful. */
  n = snprintf(line, sizeof(line), "P\t%u\n",
               CU_get_number_of_asserts() - asserts_before -
               (CU_get_number_of_failures() - failures_before));
  if (write(report_fd, line, (size_t)n) < 0)
    failed++;
  fflush(stdout);
  fflush(stderr);
  _exit(failed > 0 ? 1 : 0);
}

static uint64_t now_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int raise_line(char *line)
{
  char *tab1 = strchr(line, '\t');
  char *tab2 = tab1 != NULL ? strchr(tab1 + 1, '\t') : NULL;

  if (line[0] == 'P' && tab1 == line + 1) {
    for (unsigned long n = strtoul(tab1 + 1, NULL, 10); n > 0; n--)
      CU_assertImplementation(CU_TRUE, 0, "", "", "", CU_FALSE);
    return 0;
  }
  if (tab2 == NULL) {
    CU_assertImplementation(CU_FALSE, 0, line, "?", "", CU_FALSE);
    return 1;
  }
  *tab1 = *tab2 = '\0';
  CU_assertImplementation(CU_FALSE, (unsigned)strtoul(line, NULL, 10),
                          tab2 + 1, tab1 + 1, "", CU_FALSE);
  return 1;
}

void st_isolate(void (*body)(void), unsigned timeout_ms)
{
  int fds[2];
  pid_t pid;
  char buf[8192];
  size_t len = 0;
  uint64_t deadline;
  int status = 0;
  int reaped = 0;
  int lines = 0;

  /* SIMTEST_INLINE=1 runs the body in this process (for a debugger). */
  if (getenv("SIMTEST_INLINE") != NULL) {
    body();
    return;
  }
  if (pipe2(fds, O_CLOEXEC) != 0) {
    CU_FAIL("pipe2");
    return;
  }
  fflush(stdout);
  fflush(stderr);
  pid = fork();
  if (pid < 0) {
    CU_FAIL("fork");
    close(fds[0]);
    close(fds[1]);
    return;
  }
  if (pid == 0) {
    /* Own process group: the parent can kill the case and every process
     * it started at once. */
    (void)setpgid(0, 0);
    close(fds[0]);
    report_fd = fds[1];
    records_before = CU_get_number_of_failure_records();
    asserts_before = CU_get_number_of_asserts();
    failures_before = CU_get_number_of_failures();
    body();
    child_leave();
  }
  (void)setpgid(pid, pid);
  close(fds[1]);
  /* The child's own watchdog fires first; this backstop only covers a
   * child that cannot run its loop any more. */
  deadline = now_ms() + timeout_ms + 5000u;
  for (;;) {
    struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
    uint64_t now = now_ms();
    ssize_t n;
    int r;

    if (now >= deadline) {
      char msg[128];
      snprintf(msg, sizeof(msg),
               "case did not end within %u ms: process group killed",
               timeout_ms + 5000u);
      CU_assertImplementation(CU_FALSE, __LINE__, msg, __FILE__, "",
                              CU_FALSE);
      lines++;
      break;
    }
    r = poll(&pfd, 1, (int)(deadline - now));
    if (r <= 0)
      continue;
    n = read(fds[0], buf + len, sizeof(buf) - 1 - len);
    if (n <= 0)
      break;
    len += (size_t)n;
    buf[len] = '\0';
    for (char *nl; (nl = strchr(buf, '\n')) != NULL;) {
      *nl = '\0';
      lines += raise_line(buf);
      len -= (size_t)(nl + 1 - buf);
      memmove(buf, nl + 1, len + 1);
    }
    if (len == sizeof(buf) - 1)
      len = 0;                 /* an absurd line: drop it */
  }
  close(fds[0]);
  /* Reap within the same bound. */
  while (!reaped) {
    pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid) {
      reaped = 1;
    } else if (w < 0 && errno != EINTR) {
      break;
    } else if (now_ms() >= deadline) {
      (void)kill(-pid, SIGKILL);
      (void)waitpid(pid, &status, 0);
      reaped = 1;
    } else {
      struct timespec ts = { 0, 5000000 };
      nanosleep(&ts, NULL);
    }
  }
  /* Whatever the case left behind in its group goes too. */
  (void)kill(-pid, SIGKILL);
  if (reaped && lines == 0 &&
      !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
    char msg[128];
    if (WIFSIGNALED(status))
      snprintf(msg, sizeof(msg), "case process killed by signal %d",
               WTERMSIG(status));
    else
      snprintf(msg, sizeof(msg), "case process exited with status %d",
               WEXITSTATUS(status));
    CU_assertImplementation(CU_FALSE, __LINE__, msg, __FILE__, "",
                            CU_FALSE);
  }
}

const char *st_test_name(void)
{
  CU_pTest t = CU_get_current_test();

  return t != NULL ? t->pName : "";
}

/* ---------------------------------------------------------------------- */
/* Recorder                                                                */

const char *st_event_name(int type)
{
  static const char *const names[] = {
    "setup", "fork", "online", "listening", "message", "disconnect",
    "exit", "error", "disconnect-cb", "mark"
  };

  if (type >= 0 && type < (int)(sizeof(names) / sizeof(names[0])))
    return names[type];
  return "?";
}

st_event_t *st_append(st_ctx_t *t)
{
  st_event_t *r;

  if (current == NULL)
    current = t;               /* a record built without st_init() */
  if (t->nev == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 64;
    st_event_t *v = realloc(t->ev, cap * sizeof(*v));
    if (v == NULL) {
      fprintf(stderr, "simtest: out of memory\n");
      abort();
    }
    t->ev = v;
    t->cap = cap;
  }
  r = &t->ev[t->nev++];
  memset(r, 0, sizeof(*r));
  r->ead = r->conn = r->dead = r->in_workers = r->in_map = ST_ANY;
  r->code = ST_ANY;
  r->sig = ST_ANY;
  r->addr_type = ST_ANY;
  r->port = ST_ANY;
  r->fd = ST_ANY;
  return r;
}

void st_mark(st_ctx_t *t, int type, unsigned id, const char *text)
{
  st_event_t *r = st_append(t);

  r->type = type;
  r->emitter = SIM_ON_CLUSTER;
  r->id = id;
  if (text != NULL)
    snprintf(r->text, sizeof(r->text), "%s", text);
}

static void on_sim_event(sim_cluster_t *c, const sim_event_t *ev)
{
  st_ctx_t *t = c->data;
  st_event_t *r = st_append(t);

  r->type = ev->type;
  r->emitter = ev->emitter;
  if (ev->worker != NULL) {
    sim_worker_t *w = ev->worker;
    r->id = sim_worker_id(w);
    r->ead = sim_worker_exited_after_disconnect(w);
    r->conn = sim_worker_is_connected(w);
    r->dead = sim_worker_is_dead(w);
    r->in_workers = sim_worker_in_workers(w);
    r->in_map = sim_cluster_worker(c, r->id) == w;
    snprintf(r->state, sizeof(r->state), "%s", sim_worker_state(w));
  }
  switch (ev->type) {
  case SIM_EV_EXIT:
    r->code = ev->exit_code;
    r->sig = ev->term_signal;
    break;
  case SIM_EV_LISTENING:
    if (ev->address != NULL) {
      r->addr_type = ev->address->address_type;
      r->addr_null = ev->address->address == NULL;
      snprintf(r->addr, sizeof(r->addr), "%s",
               ev->address->address != NULL ? ev->address->address : "");
      r->port = ev->address->port;
      r->fd = ev->address->fd;
    }
    break;
  case SIM_EV_MESSAGE:
    if (ev->message != NULL) {
      char *s = cJSON_PrintUnformatted(ev->message);
      snprintf(r->text, sizeof(r->text), "%s", s != NULL ? s : "");
      cJSON_free(s);
    }
    if (ev->handle != NULL)
      uv_close((uv_handle_t *)ev->handle, (uv_close_cb)free);
    break;
  case SIM_EV_ERROR:
    snprintf(r->text, sizeof(r->text), "%s",
             ev->error_code != NULL ? ev->error_code : "");
    break;
  default:
    break;
  }
  if (t->on_event != NULL && !t->finishing)
    t->on_event(t, ev, r);
}

/* ---------------------------------------------------------------------- */
/* Loop, cluster, finish                                                   */

static void ctx_observe(st_ctl_t *ctl, unsigned id, const char *what,
                        const cJSON *obs);

void st_setup(st_ctx_t *t, const char *exec, const char *const *args)
{
  const char *env[2] = { NULL, NULL };
  sim_settings_t s = { 0 };
  int err;

  s.exec = exec != NULL ? exec : st_clustersim();
  s.args = args;
  s.args_set = 1;
  if (t->have_ctl) {
    env[0] = t->ctl.env;
    s.env = env;
  }
  err = sim_cluster_setup(&t->cluster, &s);
  ST_CHECK(err == 0, "sim_cluster_setup: %s", uv_strerror(err));
}

void st_init(st_ctx_t *t, int policy, const char *exec,
             const char *const *args, st_event_fn on_event)
{
  int err;

  memset(t, 0, sizeof(*t));
  current = t;
  err = uv_loop_init(&t->loop);
  ST_CHECK(err == 0, "uv_loop_init: %s", uv_strerror(err));
  err = sim_cluster_init(&t->loop, &t->cluster, on_sim_event);
  ST_CHECK(err == 0, "sim_cluster_init: %s", uv_strerror(err));
  t->cluster.data = t;
  t->on_event = on_event;
  if (policy != 0)
    t->cluster.scheduling_policy = policy;
  /* Every case offers the worker agents a control socket (faults). */
  err = st_ctl_start(&t->loop, &t->ctl, ctx_observe);
  ST_CHECK(err == 0, "control socket: %s", uv_strerror(err));
  if (err == 0) {
    t->ctl.data = t;
    t->have_ctl = 1;
  }
  st_setup(t, exec, args);
}

sim_worker_t *st_fork(st_ctx_t *t)
{
  sim_worker_t *w = NULL;
  int err = sim_cluster_fork(&t->cluster, NULL, &w);

  ST_CHECK(err == 0 && w != NULL, "sim_cluster_fork: %s", uv_strerror(err));
  return w;
}

static void on_timer(uv_timer_t *h)
{
  st_timer_slot_t *slot = h->data;

  if (!slot->ctx->finishing)
    slot->fn(slot->ctx, slot->arg);
}

void st_timer(st_ctx_t *t, unsigned ms, st_timer_fn fn, void *arg)
{
  int i = t->ntimers;

  if (i == ST_MAX_TIMERS || t->finishing) {
    ST_CHECK(t->finishing, "simtest: out of timers");
    return;
  }
  t->ntimers++;
  t->timers[i].ctx = t;
  t->timers[i].fn = fn;
  t->timers[i].arg = arg;
  uv_timer_init(&t->loop, &t->timers[i].timer);
  t->timers[i].timer.data = &t->timers[i];
  uv_timer_start(&t->timers[i].timer, on_timer, ms, 0);
}

static void on_cluster_closed(sim_cluster_t *c)
{
  st_ctx_t *t = c->data;

  t->finished = 1;
}

static void do_finish(st_ctx_t *t)
{
  if (t->finishing)
    return;
  t->finishing = 1;
  if (!uv_is_closing((uv_handle_t *)&t->watchdog))
    uv_close((uv_handle_t *)&t->watchdog, NULL);
  for (int i = 0; i < t->nclients; i++)
    st_client_close(t->clients[i]);
  if (t->on_finish != NULL)
    t->on_finish(t);
  if (t->have_ctl)
    st_ctl_close(&t->ctl);
  for (int i = 0; i < t->ntimers; i++)
    if (!uv_is_closing((uv_handle_t *)&t->timers[i].timer))
      uv_close((uv_handle_t *)&t->timers[i].timer, NULL);
  sim_cluster_close(&t->cluster, on_cluster_closed);
}

static void finish_cb(st_ctx_t *t, void *arg)
{
  do_finish(t);
}

void st_finish(st_ctx_t *t)
{
  st_finish_after(t, 0);
}

void st_finish_after(st_ctx_t *t, unsigned ms)
{
  st_timer(t, ms, finish_cb, NULL);
}

void st_dump(const st_ctx_t *t, FILE *f)
{
  for (size_t i = 0; i < t->nev; i++) {
    const st_event_t *r = &t->ev[i];
    fprintf(f, "  %3zu %s:%s #%u ead=%d conn=%d dead=%d in=%d map=%d "
               "state=%s", i,
            r->emitter == SIM_ON_WORKER ? "worker" : "cluster",
            st_event_name(r->type), r->id, r->ead, r->conn, r->dead,
            r->in_workers, r->in_map, r->state);
    if (r->type == SIM_EV_EXIT)
      fprintf(f, " code=%lld sig=%d", (long long)r->code, r->sig);
    if (r->type == SIM_EV_LISTENING)
      fprintf(f, " addressType=%d address=%s port=%d fd=%d", r->addr_type,
              r->addr_null ? "null" : r->addr, r->port, r->fd);
    if (r->text[0] != '\0')
      fprintf(f, " %s", r->text);
    fputc('\n', f);
  }
}

static void on_watchdog(uv_timer_t *h)
{
  st_ctx_t *t = h->data;

  ST_CHECK(0, "watchdog: the case did not finish in time (%zu events)",
           t->nev);
  fprintf(stderr, "%s: watchdog expired; events so far:\n", st_test_name());
  st_dump(t, stderr);
  /* Our workers are in this process group: they all go at once. */
  report_failures();
  fflush(stdout);
  fflush(stderr);
  if (report_fd >= 0)
    close(report_fd);
  (void)kill(0, SIGKILL);
  _exit(1);
}

static void walk_cb(uv_handle_t *h, void *arg)
{
  fprintf(stderr, "  handle left open: %s%s\n", uv_handle_type_name(h->type),
          uv_is_closing(h) ? " (closing)" : "");
}

void st_run(st_ctx_t *t, unsigned timeout_ms)
{
  int err;

  uv_timer_init(&t->loop, &t->watchdog);
  t->watchdog.data = t;
  uv_timer_start(&t->watchdog, on_watchdog, timeout_ms, 0);
  /* The watchdog alone must not keep the loop alive: a case whose loop
   * runs dry before it finished is reported at once. */
  uv_unref((uv_handle_t *)&t->watchdog);
  uv_run(&t->loop, UV_RUN_DEFAULT);
  if (!t->finishing) {
    ST_CHECK(0, "the loop ran dry before the case finished");
    do_finish(t);
  }
  uv_run(&t->loop, UV_RUN_DEFAULT);
  ST_CHECK(t->finished, "sim_cluster_close() did not complete");
  err = uv_loop_close(&t->loop);
  ST_CHECK(err == 0, "uv_loop_close: %s", uv_strerror(err));
  if (err != 0)
    uv_walk(&t->loop, walk_cb, NULL);
}

/* ---------------------------------------------------------------------- */
/* Control socket (the harness side of docs/protocol.md)                   */

typedef struct {
  uv_write_t req;
  size_t len;
  char data[];
} ctl_write_t;

static void ctl_written(uv_write_t *req, int status)
{
  (void)status;
  free(req);
}

static int ctl_write(st_ctl_conn_t *c, const char *line)
{
  size_t n = strlen(line);
  ctl_write_t *w = malloc(sizeof(*w) + n + 1);
  uv_buf_t b;
  int err;

  if (w == NULL)
    return UV_ENOMEM;
  memcpy(w->data, line, n);
  w->data[n] = '\n';
  w->len = n + 1;
  b = uv_buf_init(w->data, (unsigned)w->len);
  err = uv_write(&w->req, (uv_stream_t *)&c->pipe, &b, 1, ctl_written);
  if (err != 0)
    free(w);
  return err;
}

static void ctl_conn_closed(uv_handle_t *h)
{
  st_ctl_conn_t *c = h->data;

  c->open = 0;
}

static void ctl_conn_close(st_ctl_conn_t *c)
{
  if (c->open && !uv_is_closing((uv_handle_t *)&c->pipe))
    uv_close((uv_handle_t *)&c->pipe, ctl_conn_closed);
}

static void ctl_flush_pending(st_ctl_t *ctl, st_ctl_conn_t *c)
{
  int k = 0;

  for (int i = 0; i < ctl->npending; i++) {
    if (ctl->pending[i].id == c->id) {
      (void)ctl_write(c, ctl->pending[i].line);
      free(ctl->pending[i].line);
    } else {
      ctl->pending[k++] = ctl->pending[i];
    }
  }
  ctl->npending = k;
}

static void ctl_line(st_ctl_conn_t *c, char *line)
{
  st_ctl_t *ctl = c->ctl;
  cJSON *m = cJSON_Parse(line);
  const cJSON *type = cJSON_GetObjectItemCaseSensitive(m, "type");
  const cJSON *what = cJSON_GetObjectItemCaseSensitive(m, "what");

  if (!cJSON_IsString(type)) {
    cJSON_Delete(m);
    return;
  }
  if (strcmp(type->valuestring, "hello") == 0 && c->id == 0) {
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(m, "id");
    c->id = cJSON_IsNumber(id) ? (unsigned)id->valuedouble : 0;
    if (c->id != 0)
      ctl_flush_pending(ctl, c);
  } else if (strcmp(type->valuestring, "observe") == 0 &&
             cJSON_IsString(what) && ctl->on_observe != NULL) {
    ctl->on_observe(ctl, c->id, what->valuestring, m);
  }
  cJSON_Delete(m);
}

static void ctl_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
  st_ctl_conn_t *c = h->data;

  buf->base = c->buf + c->len;
  buf->len = sizeof(c->buf) - 1 - c->len;
}

static void ctl_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
  st_ctl_conn_t *c = s->data;
  char *nl;

  if (nread < 0) {
    ctl_conn_close(c);
    return;
  }
  c->len += (size_t)nread;
  c->buf[c->len] = '\0';
  while ((nl = strchr(c->buf, '\n')) != NULL) {
    size_t rest;
    *nl = '\0';
    ctl_line(c, c->buf);
    rest = c->len - (size_t)(nl + 1 - c->buf);
    memmove(c->buf, nl + 1, rest + 1);
    c->len = rest;
  }
  if (c->len == sizeof(c->buf) - 1)
    c->len = 0;                /* an overlong observation: dropped */
}

static void ctl_on_connection(uv_stream_t *server, int status)
{
  st_ctl_t *ctl = server->data;
  st_ctl_conn_t *c;

  if (status != 0 || ctl->nconns == ST_CTL_CONNS)
    return;
  c = &ctl->conns[ctl->nconns];
  memset(c, 0, sizeof(*c));
  c->ctl = ctl;
  if (uv_pipe_init(ctl->loop, &c->pipe, 0) != 0)
    return;
  c->pipe.data = c;
  c->open = 1;
  ctl->nconns++;
  if (uv_accept(server, (uv_stream_t *)&c->pipe) != 0 ||
      uv_read_start((uv_stream_t *)&c->pipe, ctl_alloc, ctl_read) != 0)
    ctl_conn_close(c);
}

int st_ctl_start(uv_loop_t *loop, st_ctl_t *ctl, st_observe_fn on_observe)
{
  static unsigned counter;
  int err;

  memset(ctl, 0, sizeof(*ctl));
  ctl->loop = loop;
  ctl->on_observe = on_observe;
  snprintf(ctl->path, sizeof(ctl->path), "/tmp/simtest-%d-%u.sock",
           (int)getpid(), counter++);
  snprintf(ctl->env, sizeof(ctl->env), "CLUSTERSIM_CONTROL=%s", ctl->path);
  (void)unlink(ctl->path);
  err = uv_pipe_init(loop, &ctl->server, 0);
  if (err != 0)
    return err;
  ctl->server.data = ctl;
  ctl->open = 1;
  err = uv_pipe_bind(&ctl->server, ctl->path);
  if (err == 0)
    err = uv_listen((uv_stream_t *)&ctl->server, 16, ctl_on_connection);
  if (err != 0)
    st_ctl_close(ctl);
  return err;
}

int st_ctl_fault(st_ctl_t *ctl, unsigned id, const char *json)
{
  for (int i = 0; i < ctl->nconns; i++)
    if (ctl->conns[i].id == id && ctl->conns[i].open)
      return ctl_write(&ctl->conns[i], json);
  if (ctl->npending == ST_CTL_PENDING)
    return UV_ENOBUFS;
  ctl->pending[ctl->npending].id = id;
  ctl->pending[ctl->npending].line = strdup(json);
  if (ctl->pending[ctl->npending].line == NULL)
    return UV_ENOMEM;
  ctl->npending++;
  return 0;
}

void st_ctl_close(st_ctl_t *ctl)
{
  if (!ctl->open)
    return;
  ctl->open = 0;
  for (int i = 0; i < ctl->nconns; i++)
    ctl_conn_close(&ctl->conns[i]);
  for (int i = 0; i < ctl->npending; i++)
    free(ctl->pending[i].line);
  ctl->npending = 0;
  if (!uv_is_closing((uv_handle_t *)&ctl->server))
    uv_close((uv_handle_t *)&ctl->server, NULL);
  (void)unlink(ctl->path);
}

static void ctx_observe(st_ctl_t *ctl, unsigned id, const char *what,
                        const cJSON *obs)
{
  st_ctx_t *t = ctl->data;
  char text[64];

  if (t->finishing)
    return;
  snprintf(text, sizeof(text), "observe:%s", what);
  st_mark(t, ST_EV_MARK, id, text);
  if (t->on_observe != NULL)
    t->on_observe(t, id, what, obs);
}

int st_fault(st_ctx_t *t, unsigned id, const char *json)
{
  if (!t->have_ctl)
    return UV_EINVAL;
  return st_ctl_fault(&t->ctl, id, json);
}

/* ---------------------------------------------------------------------- */
/* Expectations                                                            */

typedef struct {
  int type;
  int emitter;
  int ead, conn, dead, in_workers;
  int64_t code;
  int sig;
  const char *state;
} expect_t;

static int is_pair_type(int type)
{
  return type == SIM_EV_ONLINE || type == SIM_EV_LISTENING ||
         type == SIM_EV_DISCONNECT || type == SIM_EV_EXIT;
}

static int same_flags(const st_event_t *a, const st_event_t *b)
{
  return a->id == b->id && a->ead == b->ead && a->conn == b->conn &&
         a->dead == b->dead && a->in_workers == b->in_workers &&
         a->code == b->code && a->sig == b->sig && a->port == b->port &&
         strcmp(a->state, b->state) == 0 && strcmp(a->text, b->text) == 0;
}

void st_check_pairs(st_ctx_t *t)
{
  for (size_t i = 0; i < t->nev; i++) {
    const st_event_t *r = &t->ev[i];
    const st_event_t *next = i + 1 < t->nev ? &t->ev[i + 1] : NULL;
    const st_event_t *prev = i > 0 ? &t->ev[i - 1] : NULL;

    if (r->type >= (int)SIM_EV_MAX)
      continue;
    if (r->id != 0)
      ST_CHECK(r->in_workers == r->in_map,
               "event %zu (%s #%u): in_workers=%d but cluster.workers "
               "lookup says %d", i, st_event_name(r->type), r->id,
               r->in_workers, r->in_map);
    if (is_pair_type(r->type) && r->emitter == SIM_ON_WORKER)
      ST_CHECK(next != NULL && next->type == r->type &&
               next->emitter == SIM_ON_CLUSTER && same_flags(r, next),
               "event %zu: worker:%s #%u is not followed at once by the "
               "same cluster:%s", i, st_event_name(r->type), r->id,
               st_event_name(r->type));
    if (is_pair_type(r->type) && r->emitter == SIM_ON_CLUSTER)
      ST_CHECK(prev != NULL && prev->type == r->type &&
               prev->emitter == SIM_ON_WORKER && prev->id == r->id,
               "event %zu: cluster:%s #%u without the Worker event just "
               "before it", i, st_event_name(r->type), r->id);
    if (r->type == SIM_EV_MESSAGE && r->emitter == SIM_ON_CLUSTER)
      ST_CHECK(next != NULL && next->type == SIM_EV_MESSAGE &&
               next->emitter == SIM_ON_WORKER && same_flags(r, next),
               "event %zu: cluster:message #%u is not followed at once by "
               "worker:message", i, r->id);
    if (r->type == SIM_EV_MESSAGE && r->emitter == SIM_ON_WORKER)
      ST_CHECK(prev != NULL && prev->type == SIM_EV_MESSAGE &&
               prev->emitter == SIM_ON_CLUSTER && prev->id == r->id,
               "event %zu: worker:message #%u not preceded by "
               "cluster:message", i, r->id);
    if (r->type == SIM_EV_ERROR)
      ST_CHECK(r->emitter == SIM_ON_WORKER,
               "event %zu: `error` on the cluster object (v20 has none)", i);
    if (r->type == SIM_EV_SETUP || r->type == SIM_EV_FORK)
      ST_CHECK(r->emitter == SIM_ON_CLUSTER,
               "event %zu: %s on a Worker", i, st_event_name(r->type));
  }
}

int st_count(const st_ctx_t *t, unsigned id, int type, int emitter)
{
  int n = 0;

  for (size_t i = 0; i < t->nev; i++)
    if ((id == 0 || t->ev[i].id == id) && t->ev[i].type == type &&
        (emitter == ST_ANY || t->ev[i].emitter == emitter))
      n++;
  return n;
}

int st_find(const st_ctx_t *t, unsigned id, int type, int emitter)
{
  for (size_t i = 0; i < t->nev; i++)
    if ((id == 0 || t->ev[i].id == id) && t->ev[i].type == type &&
        (emitter == ST_ANY || t->ev[i].emitter == emitter))
      return (int)i;
  return -1;
}

static void add2(expect_t *v, int *n, expect_t e)
{
  e.emitter = SIM_ON_WORKER;
  v[(*n)++] = e;
  e.emitter = SIM_ON_CLUSTER;
  v[(*n)++] = e;
}

static int flag_ok(int want, int got, int conn)
{
  if (want == ST_ANY)
    return 1;
  if (want == ST_AS_CONN)
    return got == conn;
  return want == got;
}

static void fmt_expect(char *out, size_t n, const expect_t *e)
{
  snprintf(out, n, "%s:%s ead=%d conn=%d dead=%d in=%d state=%s code=%lld "
                   "sig=%d",
           e->emitter == SIM_ON_WORKER ? "worker" : "cluster",
           st_event_name(e->type), e->ead, e->conn, e->dead, e->in_workers,
           e->state != NULL ? e->state : "*", (long long)e->code, e->sig);
}

static void fmt_event(char *out, size_t n, const st_event_t *r)
{
  snprintf(out, n, "%s:%s ead=%d conn=%d dead=%d in=%d state=%s code=%lld "
                   "sig=%d%s%s",
           r->emitter == SIM_ON_WORKER ? "worker" : "cluster",
           st_event_name(r->type), r->ead, r->conn, r->dead, r->in_workers,
           r->state, (long long)r->code, r->sig, r->text[0] ? " " : "",
           r->text);
}

void st_check_life(st_ctx_t *t, unsigned id, const st_life_t *L)
{
  expect_t v[64];
  const st_event_t *got[64];
  int n = 0, m = 0;
  int first_d = -1, first_e = -1;
  expect_t e;

  /* This worker's events, messages and markers aside. */
  for (size_t i = 0; i < t->nev && m < 64; i++) {
    const st_event_t *r = &t->ev[i];
    if (r->id != id || r->type == SIM_EV_MESSAGE || r->type >= SIM_EV_MAX)
      continue;
    if (r->type == SIM_EV_DISCONNECT && first_d < 0)
      first_d = m;
    if (r->type == SIM_EV_EXIT && first_e < 0)
      first_e = m;
    got[m++] = r;
  }

  memset(&e, 0, sizeof(e));
  e.code = ST_ANY;
  e.sig = ST_ANY;
  e.type = SIM_EV_FORK;
  e.emitter = SIM_ON_CLUSTER;
  e.ead = -1;
  e.conn = 1;
  e.dead = 0;
  e.in_workers = 1;
  e.state = "none";
  v[n++] = e;
  if (L->online) {
    e.type = SIM_EV_ONLINE;
    e.state = "online";
    add2(v, &n, e);
  }
  for (int i = 0; i < L->listening; i++) {
    e.type = SIM_EV_LISTENING;
    e.ead = L->ead_listening;
    e.state = "listening";
    add2(v, &n, e);
  }
  for (int i = 0; i < L->errors; i++) {
    e.type = SIM_EV_ERROR;
    e.emitter = SIM_ON_WORKER;
    e.ead = ST_ANY;
    e.conn = ST_ANY;
    e.dead = ST_ANY;
    e.in_workers = ST_ANY;
    e.state = NULL;
    v[n++] = e;
  }
  e.ead = L->ead;
  e.state = NULL;
  if (L->disconnect && L->exit && first_e >= 0 &&
      (first_d < 0 || first_e < first_d)) {
    /* `exit` first (§2.2 allows it): the worker is removed at `exit` only
     * if it is already disconnected, and at `disconnect` it is dead. */
    e.type = SIM_EV_EXIT;
    e.conn = ST_ANY;
    e.dead = 1;
    e.in_workers = L->removed_early ? 0 : ST_AS_CONN;
    e.code = L->code;
    e.sig = L->sig;
    e.state = "dead";
    add2(v, &n, e);
    e.type = SIM_EV_DISCONNECT;
    e.conn = 0;
    e.in_workers = 0;
    e.code = ST_ANY;
    e.sig = ST_ANY;
    e.state = "disconnected";
    add2(v, &n, e);
  } else {
    if (L->disconnect) {
      e.type = SIM_EV_DISCONNECT;
      e.conn = 0;
      e.dead = 0;
      e.in_workers = L->removed_early ? 0 : 1;
      e.state = "disconnected";
      add2(v, &n, e);
    }
    if (L->exit) {
      e.type = SIM_EV_EXIT;
      e.conn = 0;
      e.dead = 1;
      e.in_workers = 0;
      e.code = L->code;
      e.sig = L->sig;
      e.state = "dead";
      add2(v, &n, e);
    }
  }

  for (int i = 0; i < n || i < m; i++) {
    char want[256] = "(nothing)", have[700] = "(nothing)";
    int ok = i < n && i < m;

    if (i < n)
      fmt_expect(want, sizeof(want), &v[i]);
    if (i < m)
      fmt_event(have, sizeof(have), got[i]);
    if (ok) {
      const expect_t *x = &v[i];
      const st_event_t *r = got[i];
      ok = x->type == r->type && x->emitter == r->emitter &&
           flag_ok(x->ead, r->ead, r->conn) &&
           flag_ok(x->conn, r->conn, r->conn) &&
           flag_ok(x->dead, r->dead, r->conn) &&
           flag_ok(x->in_workers, r->in_workers, r->conn) &&
           (x->code == ST_ANY || x->code == r->code) &&
           (x->sig == ST_ANY || x->sig == r->sig) &&
           (x->state == NULL || strcmp(x->state, r->state) == 0);
      if (ok && r->type == SIM_EV_ERROR && L->error_code != NULL)
        ok = strcmp(r->text, L->error_code) == 0;
    }
    if (!ok) {
      ST_CHECK(0, "worker #%u event %d: expected %s%s%s, got %s", id, i,
               want, i < n && v[i].type == SIM_EV_ERROR && L->error_code
                   ? " " : "",
               i < n && v[i].type == SIM_EV_ERROR && L->error_code
                   ? L->error_code : "", have);
      return;                  /* the rest would only repeat the shift */
    }
  }
}

/* ---------------------------------------------------------------------- */
/* Messages                                                                */

int st_send(sim_worker_t *w, const char *json)
{
  cJSON *m = cJSON_Parse(json);
  int err;

  if (m == NULL)
    return UV_EINVAL;
  err = sim_worker_send(w, m, NULL, NULL, NULL);
  cJSON_Delete(m);
  return err;
}

/* ---------------------------------------------------------------------- */
/* Clients                                                                 */

static const char request[] =
    "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";

static void client_closed(uv_handle_t *h)
{
  st_client_t *c = h->data;

  c->open = 0;
}

void st_client_close(st_client_t *c)
{
  if (c->open && !uv_is_closing((uv_handle_t *)&c->tcp))
    uv_close((uv_handle_t *)&c->tcp, client_closed);
}

static void client_done(st_client_t *c)
{
  const char *h;

  c->buf[c->len] = '\0';
  h = strcasestr(c->buf, "\r\nX-Worker:");
  c->worker = h != NULL ? atoi(h + 11) : -1;
  st_client_close(c);
  if (!c->done) {
    c->done = 1;
    if (c->done_cb != NULL && !c->ctx->finishing)
      c->done_cb(c);
  }
}

static void client_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
  st_client_t *c = h->data;
  size_t room = sizeof(c->buf) - 1 - c->len;

  /* A full buffer still reads (into a scratch area) so EOF is seen. */
  static char scratch[4096];
  if (room == 0) {
    buf->base = scratch;
    buf->len = sizeof(scratch);
  } else {
    buf->base = c->buf + c->len;
    buf->len = room;
  }
}

static void client_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
  st_client_t *c = s->data;

  if (nread > 0) {
    if (buf->base == c->buf + c->len)
      c->len += (size_t)nread;
    return;
  }
  if (nread == 0)
    return;
  if (nread == UV_EOF)
    c->eof = 1;
  else
    c->read_error = (int)nread;
  client_done(c);
}

static void client_written(uv_write_t *req, int status)
{
  (void)req;
  (void)status;
}

static void client_connected(uv_connect_t *req, int status)
{
  st_client_t *c = req->data;
  uv_buf_t b;

  c->status = status;
  if (status != 0) {
    client_done(c);
    return;
  }
  c->connected = 1;
  if (c->data == (void *)request) {
    b = uv_buf_init((char *)request, sizeof(request) - 1);
    (void)uv_write(&c->write_req, (uv_stream_t *)&c->tcp, &b, 1,
                   client_written);
  }
  (void)uv_read_start((uv_stream_t *)&c->tcp, client_alloc, client_read);
}

static int client_start(st_ctx_t *t, st_client_t *c, int port, int get,
                        void (*done_cb)(st_client_t *c))
{
  struct sockaddr_in sa;
  int err;

  memset(c, 0, sizeof(*c));
  c->ctx = t;
  c->worker = -1;
  c->done_cb = done_cb;
  c->data = get ? (void *)request : NULL;
  if (t->nclients == ST_MAX_CLIENTS)
    return UV_ENOBUFS;
  err = uv_ip4_addr("127.0.0.1", port, &sa);
  if (err != 0)
    return err;
  err = uv_tcp_init(&t->loop, &c->tcp);
  if (err != 0)
    return err;
  c->open = 1;
  c->tcp.data = c;
  c->connect_req.data = c;
  t->clients[t->nclients++] = c;
  err = uv_tcp_connect(&c->connect_req, &c->tcp, (struct sockaddr *)&sa,
                       client_connected);
  if (err != 0)
    st_client_close(c);
  return err;
}

int st_client_get(st_ctx_t *t, st_client_t *c, int port,
                  void (*done_cb)(st_client_t *c))
{
  return client_start(t, c, port, 1, done_cb);
}

int st_client_connect(st_ctx_t *t, st_client_t *c, int port,
                      void (*done_cb)(st_client_t *c))
{
  return client_start(t, c, port, 0, done_cb);
}

/* ---------------------------------------------------------------------- */
/* A bare sim_child worker                                                 */

static sim_child_t hchild;
static sim_server_t hserver;
static const char *hmode;

static void h_connection(sim_server_t *server, uv_tcp_t *conn)
{
  sim_server_conn_close(server, conn);
}

static void h_listen(sim_server_t *server, int status)
{
  if (status != 0)
    return;
  /* Inside the listen callback, as the §2.3 rows (b4), (f), (f2). */
  if (strcmp(hmode, "kill-in-listen-cb") == 0)
    (void)sim_child_kill(&hchild);
  else if (strcmp(hmode, "ipc-disconnect-in-listen-cb") == 0)
    (void)sim_child_channel_close(&hchild);
  else if (strcmp(hmode, "disconnect-in-listen-cb") == 0)
    (void)sim_child_disconnect(&hchild);
}

static void h_event(sim_child_t *child, const sim_child_event_t *ev)
{
  if (ev->type == SIM_CHILD_EV_MESSAGE && ev->handle != NULL)
    uv_close((uv_handle_t *)ev->handle, (uv_close_cb)free);
}

int st_sim_worker(const char *mode)
{
  uv_loop_t *loop = uv_default_loop();
  sim_listen_opts_t o = { 0 };

  hmode = mode;
  if (sim_child_init(loop, &hchild, h_event) != 0)
    return 2;
  o.address = "127.0.0.1";
  if (sim_server_listen(&hchild, &hserver, &o, h_listen, h_connection) != 0)
    return 3;
  uv_run(loop, UV_RUN_DEFAULT);
  /* The loop ran dry: a natural exit, as a Node worker's. */
  return 0;
}

/* ---------------------------------------------------------------------- */
/* main()                                                                  */

int st_main(int argc, char **argv, CU_SuiteInfo *suites)
{
  unsigned failed;
  CU_ErrorCode err;

  /* Helper role, before CUnit exists (libuv's helper pattern). */
  if (argc == 3 && strcmp(argv[1], "--sim-worker") == 0)
    return st_sim_worker(argv[2]);
  setvbuf(stdout, NULL, _IOLBF, 0);
  /* Workers of a test that fails mid-way are killed with their group;
   * the test itself must not die of a write to a closed pipe. */
  signal(SIGPIPE, SIG_IGN);
  if (CU_initialize_registry() != CUE_SUCCESS)
    return 99;
  err = CU_register_suites(suites);
  if (err != CUE_SUCCESS) {
    fprintf(stderr, "CU_register_suites: %s\n", CU_get_error_msg());
    CU_cleanup_registry();
    return 99;
  }
  CU_basic_set_mode(CU_BRM_VERBOSE);
  if (argc > 1) {
    /* Run only the named tests (handy while debugging one case). */
    for (int a = 1; a < argc; a++) {
      CU_pSuite s = CU_get_registry()->pSuite;
      for (; s != NULL; s = s->pNext) {
        CU_pTest t = CU_get_test(s, argv[a]);
        if (t != NULL)
          CU_basic_run_test(s, t);
      }
    }
  } else {
    CU_basic_run_tests();
  }
  failed = CU_get_number_of_tests_failed() + CU_get_number_of_failures();
  CU_cleanup_registry();
  return failed > 0 ? 1 : 0;
}
