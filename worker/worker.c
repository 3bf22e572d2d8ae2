/*
 * worker.c - the worker agent: servers, messages, signals and faults.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "http.h"
#include "sim.h"
#include "worker.h"

typedef struct {
  sim_server_t server;
  http_group_t *group;
  const worker_server_conf_t *conf;
  int index;
  uv_timer_t delay;
  int closing;
} wserver_t;

static struct {
  uv_loop_t *loop;
  worker_conf_t conf;
  sim_child_t child;
  ctl_t ctl;
  int have_ctl;
  wserver_t servers[WORKER_MAX_SERVERS];
  uv_signal_t sigs[WORKER_MAX_SIGNALS];
  uv_timer_t startup;
  unsigned long messages;
} W;

static void run_fault(const char *what, const cJSON *msg);

static void close_free(uv_handle_t *h)
{
  free(h);
}

/* ---------------------------------------------------------------------- */
/* Observations                                                            */

static cJSON *observation(const char *what)
{
  cJSON *m = cJSON_CreateObject();

  cJSON_AddStringToObject(m, "type", "observe");
  cJSON_AddStringToObject(m, "what", what);
  cJSON_AddNumberToObject(m, "worker", W.child.id);
  cJSON_AddNumberToObject(m, "pid", getpid());
  return m;
}

static void observe(cJSON *m, int now)
{
  if (W.have_ctl) {
    if (now)
      (void)ctl_send_now(&W.ctl, m);
    else
      (void)ctl_send(&W.ctl, m);
  }
  cJSON_Delete(m);
}

static void leave(int code)
{
  cJSON *m = observation("exiting");

  cJSON_AddNumberToObject(m, "code", code);
  observe(m, 1);
  exit(code);
}

/* ---------------------------------------------------------------------- */
/* Servers                                                                 */

static void release_conn(uv_tcp_t *conn, void *arg)
{
  wserver_t *s = arg;
  sim_server_conn_close(&s->server, conn);
}

static void on_group_closed(http_group_t *g, void *arg)
{
  wserver_t *s = arg;
  cJSON *m = observation("server-close");

  s->group = NULL;
  cJSON_AddNumberToObject(m, "index", s->index);
  observe(m, 0);
}

static void on_delay_done(uv_handle_t *h)
{
  wserver_t *s = h->data;
  sim_server_unhold(&s->server);
}

static void on_close_delay(uv_timer_t *t)
{
  wserver_t *s = t->data;

  if (s->group != NULL)
    (void)http_group_close(s->group, on_group_closed, s);
  uv_close((uv_handle_t *)t, on_delay_done);
}

/* Node's server.close(): stop accepting (sim does), end idle connections,
 * let busy ones finish. A slow close first waits close_delay_ms. */
static void on_server_closing(sim_server_t *server)
{
  wserver_t *s = server->data;

  if (s->closing)
    return;
  s->closing = 1;
  if (s->conf->close_delay_ms > 0 &&
      uv_timer_init(W.loop, &s->delay) == 0) {
    s->delay.data = s;
    sim_server_hold(server);
    (void)uv_timer_start(&s->delay, on_close_delay, s->conf->close_delay_ms,
                         0);
    return;
  }
  if (s->group != NULL)
    (void)http_group_close(s->group, on_group_closed, s);
}

static void on_connection(sim_server_t *server, uv_tcp_t *conn)
{
  wserver_t *s = server->data;

  if (s->group == NULL) {
    sim_server_conn_close(server, conn);
    return;
  }
  (void)http_group_serve(s->group, conn);
}

static void on_listening_action(void)
{
  const char *a = W.conf.on_listening;

  if (*a == '\0')
    return;
  if (strncmp(a, "exit:", 5) == 0)
    leave(atoi(a + 5));
  else if (strcmp(a, "disconnect") == 0)
    (void)sim_child_disconnect(&W.child);
  else if (strcmp(a, "kill") == 0)
    (void)sim_child_kill(&W.child);
  else if (strcmp(a, "ipc-disconnect") == 0)
    (void)sim_child_channel_close(&W.child);
  else if (strcmp(a, "close") == 0)
    (void)sim_server_close(&W.servers[0].server, NULL);
}

static void on_listen(sim_server_t *server, int status)
{
  wserver_t *s = server->data;
  cJSON *m = observation(status == 0 ? "listening" : "listen-error");

  cJSON_AddNumberToObject(m, "index", s->index);
  if (status == 0)
    cJSON_AddNumberToObject(m, "port", server->port);
  else
    cJSON_AddStringToObject(m, "error", uv_err_name(status));
  observe(m, 0);
  if (status != 0) {
    fprintf(stderr, "clustersim worker %u: listen: %s\n", W.child.id,
            uv_strerror(status));
    return;
  }
  if (s->index == 0)
    on_listening_action();
}

static void start_servers(void)
{
  for (int i = 0; i < W.conf.nservers; i++) {
    wserver_t *s = &W.servers[i];
    const worker_server_conf_t *c = &W.conf.servers[i];
    sim_listen_opts_t opts = { 0 };
    http_opts_t hopts = { 0 };

    s->conf = c;
    s->index = i;
    s->server.data = s;
    s->server.on_closing = on_server_closing;
    hopts.kind = (http_kind_t)c->kind;
    hopts.worker_id = W.child.id;
    hopts.release = release_conn;
    hopts.release_arg = s;
    if (http_group_new(W.loop, &hopts, &s->group) != 0)
      continue;
    opts.address = c->host[0] != '\0' ? c->host : NULL;
    opts.port = c->port;
    opts.exclusive = c->exclusive;
    opts.max_connections = c->max_connections;
    if (sim_server_listen(&W.child, &s->server, &opts, on_listen,
                          on_connection) != 0)
      fprintf(stderr, "clustersim worker %u: cannot listen\n", W.child.id);
  }
}

static void on_startup(uv_timer_t *t)
{
  uv_close((uv_handle_t *)t, NULL);
  start_servers();
}

static void close_servers(void)
{
  for (int i = 0; i < W.conf.nservers; i++)
    if (W.servers[i].server.priv != NULL)
      (void)sim_server_close(&W.servers[i].server, NULL);
}

/* ---------------------------------------------------------------------- */
/* Faults                                                                  */

static void hang(unsigned ms)
{
  uint64_t end = uv_hrtime() + (uint64_t)ms * 1000000u;

  /* Blocks the event loop on purpose, as a busy JavaScript loop does. */
  while (uv_hrtime() < end) {
    struct timespec ts = { 0, 1000000 };
    nanosleep(&ts, NULL);
  }
}

static void on_hold_connect(uv_connect_t *req, int status)
{
  free(req);
}

static void hold_connections(int n, int port)
{
  struct sockaddr_in sa;

  if (uv_ip4_addr("127.0.0.1", port, &sa) != 0)
    return;
  for (int i = 0; i < n && i < 64; i++) {
    uv_tcp_t *t = malloc(sizeof(*t));
    uv_connect_t *req = malloc(sizeof(*req));
    if (t == NULL || req == NULL || uv_tcp_init(W.loop, t) != 0) {
      free(t);
      free(req);
      return;
    }
    /* Deliberately never closed: an open outbound connection keeps a
     * worker alive after disconnect, as in Node. */
    if (uv_tcp_connect(req, t, (struct sockaddr *)&sa, on_hold_connect) != 0)
      free(req);
  }
}

static int num(const cJSON *msg, const char *key, int dflt)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(msg, key);
  return cJSON_IsNumber(v) ? (int)v->valuedouble : dflt;
}

static void run_fault(const char *what, const cJSON *msg)
{
  cJSON *m = observation("fault");

  cJSON_AddStringToObject(m, "fault", what);
  observe(m, 1);
  if (strcmp(what, "crash") == 0) {
    leave(num(msg, "code", 1));
  } else if (strcmp(what, "throw") == 0) {
    fprintf(stderr, "Error: uncaught error injected by clustersim\n");
    leave(1);
  } else if (strcmp(what, "hang") == 0) {
    int ms = num(msg, "ms", 1000);
    hang(ms < 0 ? 0 : ms > 600000 ? 600000 : (unsigned)ms);
  } else if (strcmp(what, "ipc-disconnect") == 0) {
    (void)sim_child_channel_close(&W.child);
  } else if (strcmp(what, "kill") == 0) {
    (void)sim_child_kill(&W.child);
  } else if (strcmp(what, "disconnect") == 0) {
    (void)sim_child_disconnect(&W.child);
  } else if (strcmp(what, "close-servers") == 0) {
    close_servers();
  } else if (strcmp(what, "send") == 0) {
    const cJSON *payload = cJSON_GetObjectItemCaseSensitive(msg, "message");
    if (payload != NULL)
      (void)sim_child_send(&W.child, payload, NULL, NULL, NULL);
  } else if (strcmp(what, "hold") == 0) {
    hold_connections(num(msg, "connections", 1), num(msg, "port", 0));
  }
}

static void on_ctl_message(ctl_t *ctl, const cJSON *msg)
{
  const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(msg, "cmd");

  if (cJSON_IsString(cmd))
    run_fault(cmd->valuestring, msg);
}

static void on_ctl_lost(ctl_t *ctl)
{
  W.have_ctl = 0;
}

/* ---------------------------------------------------------------------- */
/* Messages from the primary                                               */

static void reply_with(const char *key, cJSON *value)
{
  cJSON *m = cJSON_CreateObject();

  cJSON_AddItemToObject(m, key, value);
  (void)sim_child_send(&W.child, m, NULL, NULL, NULL);
  cJSON_Delete(m);
}

static void on_message(const cJSON *msg)
{
  const cJSON *tag = cJSON_GetObjectItemCaseSensitive(msg, "clustersim");
  cJSON *m;

  if (cJSON_IsString(tag)) {
    if (strcmp(tag->valuestring, "ping") == 0) {
      cJSON *pong = cJSON_CreateObject();
      cJSON_AddStringToObject(pong, "clustersim", "pong");
      cJSON_AddNumberToObject(pong, "n", num(msg, "n", 0));
      (void)sim_child_send(&W.child, pong, NULL, NULL, NULL);
      cJSON_Delete(pong);
    } else {
      run_fault(tag->valuestring, msg);
    }
    return;
  }
  W.messages++;
  m = observation("message");
  cJSON_AddItemToObject(m, "message", cJSON_Duplicate(msg, 1));
  observe(m, 0);
  switch (W.conf.messages) {
  case WORKER_MSG_ECHO:
    reply_with("echo", cJSON_Duplicate(msg, 1));
    break;
  case WORKER_MSG_COUNT:
    reply_with("count", cJSON_CreateNumber((double)W.messages));
    break;
  case WORKER_MSG_REPLY:
    reply_with("reply", cJSON_Duplicate(msg, 1));
    break;
  default:
    break;
  }
}

static void on_child_event(sim_child_t *child, const sim_child_event_t *ev)
{
  cJSON *m;

  switch (ev->type) {
  case SIM_CHILD_EV_MESSAGE:
    if (ev->handle != NULL)
      uv_close((uv_handle_t *)ev->handle, close_free);
    on_message(ev->message);
    break;
  case SIM_CHILD_EV_DISCONNECT:
    m = observation("disconnect");
    cJSON_AddBoolToObject(m, "ead",
                          sim_child_exited_after_disconnect(child) == 1);
    observe(m, 1);
    if (ev->will_exit)
      leave(0);
    break;
  case SIM_CHILD_EV_ERROR:
    fprintf(stderr, "clustersim worker %u: %s: %s\n", child->id,
            ev->error_code, ev->error_message);
    break;
  }
}

/* ---------------------------------------------------------------------- */
/* Signals                                                                 */

static void on_signal(uv_signal_t *h, int signum)
{
  for (int i = 0; i < W.conf.nsignals; i++) {
    if (W.conf.signals[i].signum != signum)
      continue;
    if (W.conf.signals[i].exit_code >= 0)
      leave(W.conf.signals[i].exit_code);
    return;                    /* ignored */
  }
}

int worker_main(int argc, char **argv)
{
  const char *ctl_path = getenv("CLUSTERSIM_CONTROL");
  char err[256];
  int rc;

  W.loop = uv_default_loop();
  if (worker_conf_parse(&W.conf, getenv("CLUSTERSIM_WORKER"), argc, argv,
                        err, sizeof(err)) != 0) {
    fprintf(stderr, "clustersim worker: %s\n", err);
    return 2;
  }
  rc = sim_child_init(W.loop, &W.child, on_child_event);
  if (rc == UV_ENOENT) {
    fprintf(stderr, "clustersim worker: not started as a cluster worker "
                    "(NODE_UNIQUE_ID and NODE_CHANNEL_FD are not set)\n");
    return 2;
  }
  if (rc != 0) {
    fprintf(stderr, "clustersim worker: %s\n", uv_strerror(rc));
    return 2;
  }
  if (ctl_path != NULL && *ctl_path != '\0') {
    if (ctl_open(W.loop, &W.ctl, ctl_path, on_ctl_message, on_ctl_lost) == 0) {
      cJSON *hello = cJSON_CreateObject();
      W.have_ctl = 1;
      /* The control socket must not keep a worker alive. */
      uv_unref((uv_handle_t *)&W.ctl.pipe);
      cJSON_AddStringToObject(hello, "type", "hello");
      cJSON_AddStringToObject(hello, "role", "worker");
      cJSON_AddNumberToObject(hello, "id", W.child.id);
      cJSON_AddNumberToObject(hello, "pid", getpid());
      observe(hello, 0);
    }
  }
  for (int i = 0; i < W.conf.nsignals; i++) {
    uv_signal_init(W.loop, &W.sigs[i]);
    uv_signal_start(&W.sigs[i], on_signal, W.conf.signals[i].signum);
    uv_unref((uv_handle_t *)&W.sigs[i]);
  }
  observe(observation("started"), 0);
  if (W.conf.startup_delay_ms > 0) {
    uv_timer_init(W.loop, &W.startup);
    uv_timer_start(&W.startup, on_startup, W.conf.startup_delay_ms, 0);
  } else {
    start_servers();
  }
  uv_run(W.loop, UV_RUN_DEFAULT);
  /* Nothing keeps the process alive any more: a natural exit. */
  leave(0);
  return 0;
}
