/*
 * simtest.c - recorder, isolated runner, checks and clients for the sim/
 * tests (see simtest.h).
 */
#include <glob.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base.h"
#include "simtest.h"

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
/* Isolation                                                               */

/* A failed case shows what it recorded (SIMTEST_DUMP=1: every case). */
static void st_on_leave(unsigned failures)
{
  if ((failures > 0 || getenv("SIMTEST_DUMP") != NULL) && current != NULL) {
    fprintf(stderr, "%s: events:\n", test_name());
    st_dump(current, stderr);
  }
}

/* The control sockets of a case that was killed. */
static void st_on_reaped(pid_t group)
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
  static const test_isolate_opts_t opts = { st_on_leave, st_on_reaped };

  test_isolate(body, timeout_ms, &opts);
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
  if (base_array_grow(&t->ev, &t->cap, t->nev + 1, sizeof(*t->ev)) != 0) {
    fprintf(stderr, "simtest: out of memory\n");
    abort();
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
    break;
  case SIM_EV_ERROR:
    snprintf(r->text, sizeof(r->text), "%s",
             ev->error_code != NULL ? ev->error_code : "");
    break;
  default:
    break;
  }
  t->handle_taken = 0;
  if (t->on_event != NULL && !t->finishing)
    t->on_event(t, ev, r);
  /* A handle that came with a message is the case's if it took it. */
  if (ev->type == SIM_EV_MESSAGE && ev->handle != NULL && !t->handle_taken)
    uv_close((uv_handle_t *)ev->handle, (uv_close_cb)free);
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
  TEST_CHECK(err == 0, "sim_cluster_setup: %s", uv_strerror(err));
}

void st_init(st_ctx_t *t, int policy, const char *exec,
             const char *const *args, st_event_fn on_event)
{
  int err;

  memset(t, 0, sizeof(*t));
  current = t;
  err = uv_loop_init(&t->loop);
  TEST_CHECK(err == 0, "uv_loop_init: %s", uv_strerror(err));
  err = sim_cluster_init(&t->loop, &t->cluster, on_sim_event);
  TEST_CHECK(err == 0, "sim_cluster_init: %s", uv_strerror(err));
  t->cluster.data = t;
  t->on_event = on_event;
  if (policy != 0)
    t->cluster.scheduling_policy = policy;
  /* Every case offers the worker agents a control socket (faults). */
  err = st_ctl_start(&t->loop, &t->ctl, ctx_observe);
  TEST_CHECK(err == 0, "control socket: %s", uv_strerror(err));
  if (err == 0) {
    t->ctl.data = t;
    t->have_ctl = 1;
  }
  st_setup(t, exec, args);
}

sim_worker_t *st_fork(st_ctx_t *t)
{
  return st_fork_env(t, NULL);
}

sim_worker_t *st_fork_env(st_ctx_t *t, const char *const *env)
{
  sim_worker_t *w = NULL;
  int err = sim_cluster_fork(&t->cluster, env, &w);

  TEST_CHECK(err == 0 && w != NULL, "sim_cluster_fork: %s", uv_strerror(err));
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
    TEST_CHECK(t->finishing, "simtest: out of timers");
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

  TEST_CHECK(0, "watchdog: the case did not finish in time (%zu events)",
             t->nev);
  fprintf(stderr, "%s: watchdog expired; events so far:\n", test_name());
  st_dump(t, stderr);
  /* Our workers are in this process group: they all go at once. */
  test_isolate_abort();
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
    TEST_CHECK(0, "the loop ran dry before the case finished");
    do_finish(t);
  }
  uv_run(&t->loop, UV_RUN_DEFAULT);
  TEST_CHECK(t->finished, "sim_cluster_close() did not complete");
  err = uv_loop_close(&t->loop);
  TEST_CHECK(err == 0, "uv_loop_close: %s", uv_strerror(err));
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
/* Roles                                                                   */

const test_role_t st_roles[] = {
  { "--sim-worker", st_sim_worker },
  TEST_ROLES_END
};
