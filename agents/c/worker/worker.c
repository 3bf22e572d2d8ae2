/*
 * worker.c - the worker agent: start-up, observations, messages, signals
 * and the way out.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "worker-agent.h"

/* How long the last observations may take to leave at exit. */
#define WORKER_FLUSH_MS 1000u

worker_agent_t W;

static void worker_close_free(uv_handle_t *h)
{
  free(h);
}

/* ---------------------------------------------------------------------- */
/* Observations                                                            */

cJSON *worker_observation(const char *what)
{
  cJSON *m = cJSON_CreateObject();

  if (m == NULL)
    return NULL;
  cJSON_AddStringToObject(m, "type", "observe");
  cJSON_AddStringToObject(m, "what", what);
  /* Outside a cluster there is no cluster.worker.id: null, as in Node. */
  if (W.in_cluster)
    cJSON_AddNumberToObject(m, "worker", W.child.id);
  else
    cJSON_AddNullToObject(m, "worker");
  cJSON_AddNumberToObject(m, "pid", getpid());
  return m;
}

void worker_observe(cJSON *m)
{
  if (m == NULL)
    return;
  if (W.have_ctl)
    (void)ctl_send(&W.ctl, m);
  cJSON_Delete(m);
}

void worker_exit(int code)
{
  cJSON *m = worker_observation("exiting");

  if (m != NULL)
    cJSON_AddNumberToObject(m, "code", code);
  worker_observe(m);
  if (W.have_ctl)
    ctl_flush_before_exit(&W.ctl, WORKER_FLUSH_MS);
  fflush(NULL);
  /* Node tears its handles down before the process ends, so the primary
   * reads the channel's EOF before it reaps the child: close it first too,
   * rather than leave it to the kernel at the same moment as the exit. */
  if (W.in_cluster)
    sim_child_close(&W.child);
  exit(code);
}

void worker_act(worker_act_t act, int code, worker_server_t *server)
{
  switch (act) {
  case WORKER_ACT_EXIT:
    worker_exit(code);
    break;
  case WORKER_ACT_DISCONNECT:
    if (W.in_cluster)
      (void)sim_child_disconnect(&W.child);
    break;
  case WORKER_ACT_KILL:
    if (!W.in_cluster)
      break;
    /* Without a channel Node's kill() is process.exit(0); ours, so that
     * `exiting` is still reported. */
    if (!sim_child_is_connected(&W.child) &&
        strcmp(sim_child_state(&W.child), "destroying") != 0)
      worker_exit(0);
    (void)sim_child_kill(&W.child);
    break;
  case WORKER_ACT_IPC_DISCONNECT:
    if (W.in_cluster && sim_child_is_connected(&W.child))
      (void)sim_child_channel_close(&W.child);
    break;
  case WORKER_ACT_CLOSE:
    if (server != NULL)
      worker_server_close(server);
    break;
  default:
    break;
  }
}

/* ---------------------------------------------------------------------- */
/* Messages from the primary                                               */

static void worker_send_wrapped(const char *key, cJSON *value)
{
  cJSON *m = cJSON_CreateObject();

  if (m == NULL || value == NULL) {
    cJSON_Delete(m);
    cJSON_Delete(value);
    return;
  }
  cJSON_AddItemToObject(m, key, value);
  (void)sim_child_send(&W.child, m, NULL, NULL, NULL);
  cJSON_Delete(m);
}

static void worker_on_message(const cJSON *msg)
{
  const cJSON *tag = cJSON_GetObjectItemCaseSensitive(msg, "clustersim");
  cJSON *m;

  /* Heartbeat pings are answered from the first moment and are never user
   * messages. */
  if (cJSON_IsObject(msg) && cJSON_IsString(tag) &&
      strcmp(tag->valuestring, "ping") == 0) {
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(msg, "n");
    if (!sim_child_is_connected(&W.child))
      return;
    m = cJSON_CreateObject();
    if (m == NULL)
      return;
    cJSON_AddStringToObject(m, "clustersim", "pong");
    if (n != NULL)
      cJSON_AddItemToObject(m, "n", cJSON_Duplicate(n, 1));
    (void)sim_child_send(&W.child, m, NULL, NULL, NULL);
    cJSON_Delete(m);
    return;
  }
  /* Only a harness reads observations: skip the copy on the hot path. */
  if (W.have_ctl) {
    m = worker_observation("message");
    if (m != NULL)
      cJSON_AddItemToObject(m, "message", cJSON_Duplicate(msg, 1));
    worker_observe(m);
  }
  if (!sim_child_is_connected(&W.child))
    return;
  switch (W.conf.messages) {
  case WORKER_MSG_ECHO:
    worker_send_wrapped("echo", cJSON_Duplicate(msg, 1));
    break;
  case WORKER_MSG_COUNT:
    worker_send_wrapped("count", cJSON_CreateNumber((double)++W.count));
    break;
  case WORKER_MSG_REPLY:
    worker_send_wrapped("reply", cJSON_Duplicate(msg, 1));
    break;
  default:
    break;
  }
}

static void worker_on_child_event(sim_child_t *child,
                                  const sim_child_event_t *ev)
{
  switch (ev->type) {
  case SIM_CHILD_EV_MESSAGE:
    if (ev->handle != NULL)
      uv_close((uv_handle_t *)ev->handle, worker_close_free);
    worker_on_message(ev->message);
    break;
  case SIM_CHILD_EV_DISCONNECT:
    worker_observe(worker_observation("disconnect"));
    /* sim would exit(0) right after this callback; exit here instead so
     * that `exiting` goes out as in Node. */
    if (ev->will_exit)
      worker_exit(0);
    break;
  case SIM_CHILD_EV_ERROR:
    fprintf(stderr, "clustersim worker agent %u: %s: %s\n", child->id,
            ev->error_code, ev->error_message);
    break;
  }
}

/* ---------------------------------------------------------------------- */
/* Signals                                                                 */

static void worker_on_signal(uv_signal_t *h, int signum)
{
  int i = (int)(intptr_t)h->data;
  cJSON *m = worker_observation("signal");

  (void)signum;
  if (m != NULL)
    cJSON_AddStringToObject(m, "signal", W.conf.signals[i].name);
  worker_observe(m);
  if (W.conf.signals[i].act == WORKER_ACT_EXIT)
    worker_exit(W.conf.signals[i].exit_code);
}

static void worker_signals_start(void)
{
  for (int i = 0; i < W.conf.nsignals; i++) {
    if (uv_signal_init(W.loop, &W.sigs[i]) != 0)
      continue;
    W.sigs[i].data = (void *)(intptr_t)i;
    (void)uv_signal_start(&W.sigs[i], worker_on_signal,
                          W.conf.signals[i].signum);
    /* A handler must not keep a worker alive that Node would let exit. */
    uv_unref((uv_handle_t *)&W.sigs[i]);
  }
}

/* ---------------------------------------------------------------------- */
/* Start-up                                                                */

static void worker_on_startup_delay(uv_timer_t *t)
{
  uv_close((uv_handle_t *)t, NULL);
  worker_servers_start();
}

static void worker_start(void)
{
  if (W.started)
    return;
  W.started = 1;
  worker_observe(worker_observation("started"));
  if (W.conf.startup_delay_ms > 0 && uv_timer_init(W.loop, &W.startup) == 0) {
    (void)uv_timer_start(&W.startup, worker_on_startup_delay,
                         W.conf.startup_delay_ms, 0);
    return;
  }
  worker_servers_start();
}

static void worker_on_ctl_lost(ctl_t *ctl)
{
  (void)ctl;
  W.have_ctl = 0;
  worker_start();
}

static void worker_connect(const char *path)
{
  cJSON *hello;

  if (ctl_open(W.loop, &W.ctl, path, worker_faults_on_line,
               worker_on_ctl_lost) != 0) {
    worker_start();
    return;
  }
  W.have_ctl = 1;
  /* The control socket must not keep a worker alive. */
  uv_unref((uv_handle_t *)&W.ctl.pipe);
  hello = cJSON_CreateObject();
  if (hello != NULL) {
    cJSON_AddStringToObject(hello, "type", "hello");
    cJSON_AddStringToObject(hello, "role", "worker");
    if (W.in_cluster)
      cJSON_AddNumberToObject(hello, "id", W.child.id);
    else
      cJSON_AddNullToObject(hello, "id");
    cJSON_AddNumberToObject(hello, "pid", getpid());
    (void)ctl_send(&W.ctl, hello);
    cJSON_Delete(hello);
  }
  /* Connected (synchronously): the behaviour starts, as the Node agent
   * starts on its socket's 'connect'. */
  worker_start();
}

int worker_main(int argc, char **argv)
{
  const char *path = getenv("CLUSTERSIM_CONTROL");
  char err[CTL_ERROR_MAX];
  int rc;

  W.loop = uv_default_loop();
  if (worker_conf_parse(&W.conf, getenv("CLUSTERSIM_WORKER"), argc, argv,
                        err, sizeof(err)) != 0) {
    fprintf(stderr, "clustersim worker agent: %s\n", err);
    return 2;
  }
  /* As in Node, a closed peer is an error code, not a fatal signal. */
  signal(SIGPIPE, SIG_IGN);
  rc = sim_child_init(W.loop, &W.child, worker_on_child_event);
  if (rc == 0) {
    W.in_cluster = 1;
  } else if (rc != UV_ENOENT) {
    fprintf(stderr, "clustersim worker agent: %s\n", uv_strerror(rc));
    return 2;
  }
  worker_signals_start();
  if (path != NULL && *path != '\0')
    worker_connect(path);
  else
    worker_start();
  uv_run(W.loop, UV_RUN_DEFAULT);
  /* Nothing keeps the process alive any more: a natural exit. */
  worker_exit(0);
  return 0;
}
