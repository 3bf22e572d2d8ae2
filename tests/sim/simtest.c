/*
 * simtest.c - recorder, isolated runner, checks and clients for the sim/
 * tests (see simtest.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
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

static void remove_sockets(pid_t group)
{
  char pattern[64];
  glob_t g;

  snprintf(pattern, sizeof(pattern), "/tmp/simtest-%d-*.sock", (int)group);
  if (glob(pattern, 0, NULL, &g) != 0)
    return;
  for (size_t i = 0; i < g.gl_pathc; i++)
    (void)unlink(g.gl_pathv[i]);
  globfree(&g);
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
  /* Whatever the case left behind in its group goes too, and so do the
   * control sockets of a case that was killed. */
  (void)kill(-pid, SIGKILL);
  remove_sockets(pid);
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
/* Control socket of the case                                              */

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
