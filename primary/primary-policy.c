/*
 * primary-policy.c - the primary policies of docs/protocol.md §2.1:
 * respawn with start-up back-off, graceful shutdown on signals, rolling
 * restart, heartbeat kill-and-replace, and a metrics endpoint.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <http_parser.h>

#include "primary-agent.h"

/* ---------------------------------------------------------------------- */
/* Respawn                                                                 */

typedef struct {
  char **env;
  unsigned old_id;
  uv_timer_t timer;
} respawn_t;

static void free_env(char **env)
{
  for (size_t i = 0; env != NULL && env[i] != NULL; i++)
    free(env[i]);
  free(env);
}

static void on_respawn_closed(uv_handle_t *h)
{
  respawn_t *r = h->data;
  free_env(r->env);
  free(r);
}

static void on_respawn_timer(uv_timer_t *t)
{
  respawn_t *r = t->data;
  sim_worker_t *w;

  if (!A.shutting_down && agent_fork(r->env, &w) == 0) {
    cJSON *f = cJSON_CreateObject();
    A.respawns++;
    cJSON_AddNumberToObject(f, "old", r->old_id);
    cJSON_AddNumberToObject(f, "new", sim_worker_id(w));
    agent_policy_event("respawn", f);
  }
  uv_close((uv_handle_t *)t, on_respawn_closed);
}

static int wants_respawn(const sim_event_t *ev)
{
  switch (A.respawn) {
  case 1:
    return 1;
  case 2:
    return sim_worker_exited_after_disconnect(ev->worker) != 1;
  case 3:
    return ev->term_signal != 0 || ev->exit_code != 0;
  default:
    return 0;
  }
}

static void maybe_respawn(const sim_event_t *ev)
{
  agent_worker_t *aw = sim_worker_get_data(ev->worker);
  uint64_t lived_ms;
  unsigned delay = 0;
  respawn_t *r;

  if (A.shutting_down || !wants_respawn(ev) || aw == NULL)
    return;
  /* A worker that dies within the start-up window counts as a start-up
   * crash: the delay doubles with each one in a row, so a worker that can
   * never start does not fork-bomb the machine. */
  lived_ms = (uv_hrtime() - aw->forked_at) / 1000000u;
  if (A.startup_window_ms > 0 && lived_ms < A.startup_window_ms) {
    unsigned streak = A.crash_streak++;
    delay = A.backoff_ms;
    while (streak-- > 0 && delay < A.backoff_max_ms)
      delay *= 2;
    if (A.backoff_max_ms > 0 && delay > A.backoff_max_ms)
      delay = A.backoff_max_ms;
  } else {
    A.crash_streak = 0;
  }
  r = calloc(1, sizeof(*r));
  if (r == NULL)
    return;
  r->old_id = sim_worker_id(ev->worker);
  if (aw->env != NULL) {
    size_t n = 0;
    while (aw->env[n] != NULL)
      n++;
    r->env = calloc(n + 1, sizeof(char *));
    for (size_t i = 0; r->env != NULL && i < n; i++)
      r->env[i] = strdup(aw->env[i]);
  }
  uv_timer_init(A.loop, &r->timer);
  r->timer.data = r;
  uv_timer_start(&r->timer, on_respawn_timer, delay, 0);
}

/* ---------------------------------------------------------------------- */
/* Shutdown                                                                */

static int live_workers(void)
{
  int n = 0;

  /* Dead or not, members are removed on their last event; a worker that
   * has not exited yet is either a member or disconnected-but-alive. */
  for (unsigned id = 1;; id++) {
    sim_worker_t *w = sim_cluster_find(&A.cluster, id);
    if (w == NULL)
      break;
    if (sim_worker_pid(w) != 0 && !sim_worker_is_dead(w))
      n++;
  }
  return n;
}

static void on_cluster_closed(sim_cluster_t *c)
{
  (void)c;
  exit(0);
}

static void finish_shutdown(void)
{
  agent_policy_event("shutdown-done", NULL);
  /* The close completes on the loop; on_cluster_closed exits. */
  sim_cluster_close(&A.cluster, on_cluster_closed);
}

static void kill_one(sim_worker_t *w, void *arg)
{
  (void)arg;
  (void)sim_worker_kill(w, SIGKILL);
}

static void on_shutdown_timer(uv_timer_t *t)
{
  agent_policy_event("shutdown-force", NULL);
  for (unsigned id = 1;; id++) {
    sim_worker_t *w = sim_cluster_find(&A.cluster, id);
    if (w == NULL)
      break;
    if (!sim_worker_is_dead(w))
      kill_one(w, NULL);
  }
}

int policy_shutdown(unsigned timeout_ms)
{
  if (A.shutting_down)
    return 0;
  A.shutting_down = 1;
  agent_policy_event("shutdown-start", NULL);
  if (A.heartbeat_on)
    uv_timer_stop(&A.heartbeat);
  (void)sim_cluster_disconnect(&A.cluster, NULL, NULL);
  if (live_workers() == 0) {
    finish_shutdown();
    return 0;
  }
  uv_timer_init(A.loop, &A.shutdown_timer);
  uv_timer_start(&A.shutdown_timer, on_shutdown_timer, timeout_ms, 0);
  return 0;
}

static void on_signal(uv_signal_t *h, int signum)
{
  (void)policy_shutdown(A.shutdown_timeout_ms);
}

/* ---------------------------------------------------------------------- */
/* Heartbeat                                                               */

static void ping_one(sim_worker_t *w, void *arg)
{
  agent_worker_t *aw = sim_worker_get_data(w);
  uint64_t now = uv_hrtime();
  cJSON *m;

  if (aw == NULL || !sim_worker_is_connected(w))
    return;
  if ((now - aw->last_pong) / 1000000u > A.hb_timeout_ms) {
    cJSON *f = cJSON_CreateObject();
    cJSON_AddNumberToObject(f, "worker", sim_worker_id(w));
    agent_policy_event("heartbeat-kill", f);
    aw->last_pong = now;     /* one kill per silence */
    (void)sim_worker_kill(w, SIGKILL);
    return;
  }
  m = cJSON_CreateObject();
  cJSON_AddStringToObject(m, "clustersim", "ping");
  cJSON_AddNumberToObject(m, "n", A.hb_n);
  (void)sim_worker_send(w, m, NULL, NULL, NULL);
  cJSON_Delete(m);
}

static void on_heartbeat(uv_timer_t *t)
{
  A.hb_n++;
  sim_cluster_foreach(&A.cluster, ping_one, NULL);
}

/* ---------------------------------------------------------------------- */
/* Rolling restart                                                         */

static void restart_next(void);

static void on_restart_timer(uv_timer_t *t)
{
  sim_worker_t *old = sim_cluster_find(&A.cluster, A.restart_old);

  /* The old worker did not leave in time. */
  if (old != NULL && !sim_worker_is_dead(old))
    (void)sim_worker_kill(old, SIGKILL);
}

static void restart_next(void)
{
  sim_worker_t *old, *w;
  agent_worker_t *aw;
  cJSON *f;

  while (A.restart_pos < A.restart_n) {
    old = sim_cluster_worker(&A.cluster, A.restart_queue[A.restart_pos]);
    if (old != NULL)
      break;
    A.restart_pos++;           /* gone meanwhile */
  }
  if (A.restart_pos >= A.restart_n) {
    A.restarting = 0;
    free(A.restart_queue);
    A.restart_queue = NULL;
    agent_policy_event("restart-done", NULL);
    return;
  }
  A.restart_old = A.restart_queue[A.restart_pos];
  aw = sim_worker_get_data(sim_cluster_find(&A.cluster, A.restart_old));
  if (agent_fork(aw != NULL ? aw->env : NULL, &w) != 0) {
    A.restarting = 0;
    agent_policy_event("restart-failed", NULL);
    return;
  }
  A.restart_new = sim_worker_id(w);
  f = cJSON_CreateObject();
  cJSON_AddNumberToObject(f, "old", A.restart_old);
  cJSON_AddNumberToObject(f, "new", A.restart_new);
  agent_policy_event("restart-fork", f);
}

static void collect(sim_worker_t *w, void *arg)
{
  A.restart_queue[A.restart_n++] = sim_worker_id(w);
}

int policy_rolling_restart(unsigned timeout_ms)
{
  if (A.restarting)
    return UV_EBUSY;
  A.restart_queue = calloc(sim_cluster_count(&A.cluster) + 1,
                           sizeof(unsigned));
  if (A.restart_queue == NULL)
    return UV_ENOMEM;
  A.restart_n = 0;
  A.restart_pos = 0;
  A.restart_timeout_ms = timeout_ms;
  A.restarting = 1;
  sim_cluster_foreach(&A.cluster, collect, NULL);
  uv_timer_init(A.loop, &A.restart_timer);
  restart_next();
  return 0;
}

static void restart_on_event(const sim_event_t *ev)
{
  unsigned id = ev->worker != NULL ? sim_worker_id(ev->worker) : 0;

  if (!A.restarting || ev->emitter != SIM_ON_CLUSTER)
    return;
  if (ev->type == SIM_EV_LISTENING && id == A.restart_new &&
      A.restart_old != 0) {
    sim_worker_t *old = sim_cluster_find(&A.cluster, A.restart_old);
    cJSON *f = cJSON_CreateObject();
    A.restart_new = 0;
    cJSON_AddNumberToObject(f, "worker", A.restart_old);
    agent_policy_event("restart-disconnect", f);
    if (old != NULL)
      (void)sim_worker_disconnect(old);
    uv_timer_start(&A.restart_timer, on_restart_timer, A.restart_timeout_ms,
                   0);
  } else if (ev->type == SIM_EV_EXIT && id == A.restart_old) {
    uv_timer_stop(&A.restart_timer);
    A.restart_old = 0;
    A.restart_pos++;
    restart_next();
  } else if (ev->type == SIM_EV_EXIT && id == A.restart_new) {
    /* The replacement died before listening: give up this restart. */
    A.restarting = 0;
    agent_policy_event("restart-failed", NULL);
  }
}

/* ---------------------------------------------------------------------- */
/* Metrics                                                                 */

typedef struct {
  uv_tcp_t tcp;
  http_parser parser;
  uv_write_t req;
  char *body;
  int answered;
} metrics_conn_t;

static void on_metrics_closed(uv_handle_t *h)
{
  metrics_conn_t *m = h->data;
  free(m->body);
  free(m);
}

static void on_metrics_written(uv_write_t *req, int status)
{
  metrics_conn_t *m = req->data;
  uv_close((uv_handle_t *)&m->tcp, on_metrics_closed);
}

static int on_message_complete(http_parser *p)
{
  metrics_conn_t *m = p->data;
  char json[256];
  uv_buf_t buf;
  int n;

  if (m->answered)
    return 0;
  m->answered = 1;
  n = snprintf(json, sizeof(json),
               "{\"workers\":%u,\"forks\":%u,\"exits\":%u,\"respawns\":%u}",
               sim_cluster_count(&A.cluster), A.forks, A.exits, A.respawns);
  m->body = malloc(512);
  if (m->body == NULL)
    return 1;
  n = snprintf(m->body, 512,
               "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
               "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
               n, json);
  buf = uv_buf_init(m->body, (unsigned)n);
  m->req.data = m;
  if (uv_write(&m->req, (uv_stream_t *)&m->tcp, &buf, 1,
               on_metrics_written) != 0)
    uv_close((uv_handle_t *)&m->tcp, on_metrics_closed);
  return 0;
}

static const http_parser_settings metrics_settings = {
  .on_message_complete = on_message_complete,
};

static void on_metrics_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
  static char chunk[4096];
  buf->base = chunk;
  buf->len = sizeof(chunk);
}

static void on_metrics_read(uv_stream_t *s, ssize_t nread,
                            const uv_buf_t *buf)
{
  metrics_conn_t *m = s->data;

  if (nread < 0) {
    if (!uv_is_closing((uv_handle_t *)s))
      uv_close((uv_handle_t *)s, on_metrics_closed);
    return;
  }
  if (nread > 0 &&
      http_parser_execute(&m->parser, &metrics_settings, buf->base,
                          (size_t)nread) != (size_t)nread &&
      !m->answered)
    uv_close((uv_handle_t *)s, on_metrics_closed);
  else if (m->answered)
    uv_read_stop(s);
}

static void on_metrics_connection(uv_stream_t *server, int status)
{
  metrics_conn_t *m;

  if (status != 0)
    return;
  m = calloc(1, sizeof(*m));
  if (m == NULL)
    return;
  uv_tcp_init(A.loop, &m->tcp);
  m->tcp.data = m;
  if (uv_accept(server, (uv_stream_t *)&m->tcp) != 0) {
    uv_close((uv_handle_t *)&m->tcp, on_metrics_closed);
    return;
  }
  http_parser_init(&m->parser, HTTP_REQUEST);
  m->parser.data = m;
  uv_read_start((uv_stream_t *)&m->tcp, on_metrics_alloc, on_metrics_read);
}

static int start_metrics(int port, char *err, size_t n)
{
  struct sockaddr_in sa;
  struct sockaddr_storage ss;
  int len = sizeof(ss);
  cJSON *f;
  int rc;

  if (A.metrics_on) {
    snprintf(err, n, "metrics already listening");
    return UV_EALREADY;
  }
  uv_ip4_addr("127.0.0.1", port, &sa);
  uv_tcp_init(A.loop, &A.metrics);
  rc = uv_tcp_bind(&A.metrics, (struct sockaddr *)&sa, 0);
  if (rc == 0)
    rc = uv_listen((uv_stream_t *)&A.metrics, 64, on_metrics_connection);
  if (rc != 0) {
    snprintf(err, n, "metrics: %s", uv_strerror(rc));
    uv_close((uv_handle_t *)&A.metrics, NULL);
    return rc;
  }
  A.metrics_on = 1;
  /* Metrics must not keep the agent alive on their own. */
  uv_unref((uv_handle_t *)&A.metrics);
  uv_tcp_getsockname(&A.metrics, (struct sockaddr *)&ss, &len);
  f = cJSON_CreateObject();
  cJSON_AddNumberToObject(f, "port",
                          ntohs(((struct sockaddr_in *)&ss)->sin_port));
  agent_policy_event("metrics-listening", f);
  return 0;
}

/* ---------------------------------------------------------------------- */
/* The policy command and the event hook                                   */

static unsigned ms(const cJSON *o, const char *k, unsigned dflt)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsNumber(v) && v->valuedouble >= 0 ? (unsigned)v->valuedouble
                                                  : dflt;
}

int policy_apply(const cJSON *cmd, char *err, size_t n)
{
  const cJSON *v;

  v = cJSON_GetObjectItemCaseSensitive(cmd, "respawn");
  if (cJSON_IsString(v)) {
    static const char *const modes[] = {
      "never", "always", "unless-exited-after-disconnect", "on-nonzero"
    };
    int m = -1;
    for (int i = 0; i < 4; i++)
      if (strcmp(v->valuestring, modes[i]) == 0)
        m = i;
    if (m < 0) {
      snprintf(err, n, "unknown respawn rule '%s'", v->valuestring);
      return UV_EINVAL;
    }
    A.respawn = m;
    A.backoff_ms = ms(cmd, "backoff_ms", 0);
    A.backoff_max_ms = ms(cmd, "backoff_max_ms", 0);
    A.startup_window_ms = ms(cmd, "startup_window_ms", 0);
  }
  v = cJSON_GetObjectItemCaseSensitive(cmd, "shutdown");
  if (cJSON_IsObject(v)) {
    const cJSON *sigs = cJSON_GetObjectItemCaseSensitive(v, "signals");
    const cJSON *s;
    A.shutdown_timeout_ms = ms(v, "timeout_ms", 2000);
    cJSON_ArrayForEach(s, sigs) {
      int signum = cJSON_IsString(s) ? sim_signal_from_name(s->valuestring)
                                     : 0;
      if (signum == 0) {
        snprintf(err, n, "unknown signal in shutdown.signals");
        return UV_EINVAL;
      }
      if (A.nsigs < 4) {
        uv_signal_init(A.loop, &A.sigs[A.nsigs]);
        uv_signal_start(&A.sigs[A.nsigs], on_signal, signum);
        uv_unref((uv_handle_t *)&A.sigs[A.nsigs]);
        A.nsigs++;
      }
    }
  }
  v = cJSON_GetObjectItemCaseSensitive(cmd, "heartbeat");
  if (cJSON_IsObject(v)) {
    A.hb_interval_ms = ms(v, "interval_ms", 200);
    A.hb_timeout_ms = ms(v, "timeout_ms", 1000);
    if (!A.heartbeat_on) {
      uv_timer_init(A.loop, &A.heartbeat);
      uv_unref((uv_handle_t *)&A.heartbeat);
      A.heartbeat_on = 1;
    }
    uv_timer_start(&A.heartbeat, on_heartbeat, A.hb_interval_ms,
                   A.hb_interval_ms);
  }
  v = cJSON_GetObjectItemCaseSensitive(cmd, "metrics");
  if (cJSON_IsObject(v))
    return start_metrics((int)ms(v, "port", 0), err, n);
  return 0;
}

void policy_on_event(const sim_event_t *ev)
{
  if (ev->emitter != SIM_ON_CLUSTER)
    return;
  if (ev->type == SIM_EV_MESSAGE && ev->worker != NULL) {
    const cJSON *tag =
        cJSON_GetObjectItemCaseSensitive(ev->message, "clustersim");
    agent_worker_t *aw = sim_worker_get_data(ev->worker);
    if (cJSON_IsString(tag) && strcmp(tag->valuestring, "pong") == 0 &&
        aw != NULL)
      aw->last_pong = uv_hrtime();
  }
  if (ev->type == SIM_EV_EXIT) {
    A.exits++;
    maybe_respawn(ev);
  }
  restart_on_event(ev);
  if (A.shutting_down && (ev->type == SIM_EV_EXIT) && live_workers() == 0)
    finish_shutdown();
}
