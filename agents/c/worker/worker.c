/*
 * worker.c - the worker agent: start-up, observations, messages, signals
 * and the way out.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base.h"
#include "worker-internal.h"

/* How long the last observations may take to leave at exit. */
#define WORKER_FLUSH_MS 1000u

worker__agent_t worker__agent;

/* ---------------------------------------------------------------------- */
/* Observations                                                            */

/* The worker's own view of itself (cluster.worker.state,
 * exitedAfterDisconnect, isConnected(), isDead()), sampled with every
 * observation. isDead() is process.exitCode set: true from an exit with a
 * code on, not when the loop simply ran out of work. */
static void worker_view(cJSON *m)
{
  const sim_child_t *c = &worker__agent.child;
  int ead;

  if (!worker__agent.in_cluster)
    return;
  ead = sim_child_exited_after_disconnect(c);
  cJSON_AddStringToObject(m, "state", sim_child_state(c));
  if (ead < 0)
    cJSON_AddNullToObject(m, "ead");
  else
    cJSON_AddBoolToObject(m, "ead", ead);
  cJSON_AddBoolToObject(m, "connected", sim_child_is_connected(c));
  cJSON_AddBoolToObject(m, "dead", worker__agent.exit_code_set);
}

cJSON *worker__observation(const char *what)
{
  cJSON *m = cJSON_CreateObject();

  if (m == NULL)
    return NULL;
  cJSON_AddStringToObject(m, "type", "observe");
  cJSON_AddStringToObject(m, "what", what);
  /* Outside a cluster there is no cluster.worker.id: null, as in Node. */
  if (worker__agent.in_cluster)
    cJSON_AddNumberToObject(m, "worker", worker__agent.child.id);
  else
    cJSON_AddNullToObject(m, "worker");
  cJSON_AddNumberToObject(m, "pid", getpid());
  worker_view(m);
  return m;
}

void worker__observe(cJSON *m)
{
  if (m == NULL)
    return;
  if (worker__agent.have_ctl)
    (void)ctl_send(&worker__agent.ctl, m);
  cJSON_Delete(m);
}

void worker__exit(int code)
{
  cJSON *m;

  /* process.exit(code) sets process.exitCode; a natural end does not */
  worker__agent.exit_code_set = !worker__agent.natural_exit;
  m = worker__observation("exiting");

  if (m != NULL)
    cJSON_AddNumberToObject(m, "code", code);
  worker__observe(m);
  if (worker__agent.have_ctl)
    ctl_flush_before_exit(&worker__agent.ctl, WORKER_FLUSH_MS);
  fflush(NULL);
  /* Node tears its handles down before the process ends, so the primary
   * reads the channel's EOF before it reaps the child: close it first too,
   * rather than leave it to the kernel at the same moment as the exit. */
  if (worker__agent.in_cluster)
    sim_child_close(&worker__agent.child);
  exit(code);
}

void worker__act(worker__act_t act, int code, worker__server_t *server)
{
  switch (act) {
  case WORKER_ACT_EXIT:
    worker__exit(code);
    break;
  case WORKER_ACT_DISCONNECT:
    if (worker__agent.in_cluster)
      (void)sim_child_disconnect(&worker__agent.child);
    break;
  case WORKER_ACT_KILL:
    if (!worker__agent.in_cluster)
      break;
    /* Without a channel Node's kill() is process.exit(0); ours, so that
     * `exiting` is still reported. */
    if (!sim_child_is_connected(&worker__agent.child) &&
        strcmp(sim_child_state(&worker__agent.child), "destroying") != 0)
      worker__exit(0);
    (void)sim_child_kill(&worker__agent.child);
    break;
  case WORKER_ACT_IPC_DISCONNECT:
    if (worker__agent.in_cluster &&
        sim_child_is_connected(&worker__agent.child))
      (void)sim_child_channel_close(&worker__agent.child);
    break;
  case WORKER_ACT_CLOSE:
    if (server != NULL)
      worker__server_close(server);
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
  (void)sim_child_send(&worker__agent.child, m, NULL, NULL, NULL);
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
    if (!sim_child_is_connected(&worker__agent.child))
      return;
    m = cJSON_CreateObject();
    if (m == NULL)
      return;
    cJSON_AddStringToObject(m, "clustersim", "pong");
    if (n != NULL)
      cJSON_AddItemToObject(m, "n", cJSON_Duplicate(n, 1));
    (void)sim_child_send(&worker__agent.child, m, NULL, NULL, NULL);
    cJSON_Delete(m);
    return;
  }
  /* Only a harness reads observations: skip the copy on the hot path. */
  if (worker__agent.have_ctl) {
    m = worker__observation("message");
    if (m != NULL)
      cJSON_AddItemToObject(m, "message", cJSON_Duplicate(msg, 1));
    worker__observe(m);
  }
  if (!sim_child_is_connected(&worker__agent.child))
    return;
  switch (worker__agent.conf.messages) {
  case WORKER_MSG_ECHO:
    worker_send_wrapped("echo", cJSON_Duplicate(msg, 1));
    break;
  case WORKER_MSG_COUNT:
    worker_send_wrapped("count",
                        cJSON_CreateNumber((double)++worker__agent.count));
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
    /* A message with a handle is the handle's: observed as `handle`,
     * never echoed or counted. */
    if (ev->handle != NULL)
      worker__handle_received(ev->message, ev->handle);
    else
      worker_on_message(ev->message);
    break;
  case SIM_CHILD_EV_DISCONNECT:
    worker__observe(worker__observation("disconnect"));
    /* sim would exit(0) right after this callback; exit here instead so
     * that `exiting` goes out as in Node. */
    if (ev->will_exit)
      worker__exit(0);
    break;
  case SIM_CHILD_EV_ERROR:
    /* The Node worker has no 'error' listener on cluster.worker: what
     * Node would emit there is uncaught, as the `throw` fault. The
     * library's own protocol errors are only reported. */
    if (ev->error == UV_ENOTCONN) {
      fprintf(stderr, "Error [%s]: %s\n", ev->error_code,
              ev->error_message);
      worker__exit(1);
    }
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
  cJSON *m = worker__observation("signal");

  (void)signum;
  if (m != NULL)
    cJSON_AddStringToObject(m, "signal", worker__agent.conf.signals[i].name);
  worker__observe(m);
  if (worker__agent.conf.signals[i].act == WORKER_ACT_EXIT)
    worker__exit(worker__agent.conf.signals[i].exit_code);
}

static void worker_signals_start(void)
{
  for (int i = 0; i < worker__agent.conf.nsignals; i++) {
    if (uv_signal_init(worker__agent.loop, &worker__agent.sigs[i]) != 0)
      continue;
    worker__agent.sigs[i].data = (void *)(intptr_t)i;
    (void)uv_signal_start(&worker__agent.sigs[i], worker_on_signal,
                          worker__agent.conf.signals[i].signum);
    /* A handler must not keep a worker alive that Node would let exit. */
    uv_unref((uv_handle_t *)&worker__agent.sigs[i]);
  }
}

/* ---------------------------------------------------------------------- */
/* Start-up                                                                */

static void worker_on_startup_delay(uv_timer_t *t)
{
  uv_close((uv_handle_t *)t, NULL);
  worker__servers_start();
}

extern char **environ;

/* What the worker was started with: its environment (the harness's own
 * variables aside), its arguments after `worker` (process.argv.slice(2):
 * its options, then its program's own), the runtime's own options (process.execArgv:
 * none for clustersim, which takes no option before its command), its
 * directory. */
static cJSON *worker_start_info(cJSON *m)
{
  cJSON *env, *args;
  char cwd[4096];

  if (m == NULL)
    return NULL;
  env = cJSON_AddObjectToObject(m, "env");
  for (char **e = environ; env != NULL && *e != NULL; e++) {
    const char *eq = strchr(*e, '=');
    char name[256];
    if (eq == NULL || (size_t)(eq - *e) >= sizeof(name) ||
        strncmp(*e, "CLUSTERSIM_", 11) == 0)
      continue;
    memcpy(name, *e, (size_t)(eq - *e));
    name[eq - *e] = '\0';
    if (cJSON_GetObjectItemCaseSensitive(env, name) == NULL)
      cJSON_AddStringToObject(env, name, eq + 1);
  }
  args = cJSON_AddArrayToObject(m, "args");
  for (int i = 0; args != NULL && i < worker__agent.conf.argc; i++)
    cJSON_AddItemToArray(args,
                         cJSON_CreateString(worker__agent.conf.argv[i]));
  cJSON_AddArrayToObject(m, "execArgv");
  if (getcwd(cwd, sizeof(cwd)) != NULL)
    cJSON_AddStringToObject(m, "cwd", cwd);
  else
    cJSON_AddNullToObject(m, "cwd");
  return m;
}

static void worker_start(void)
{
  if (worker__agent.started)
    return;
  worker__agent.started = 1;
  worker__observe(worker_start_info(worker__observation("started")));
  for (int i = 0; i < worker__agent.conf.noutput; i++)
    worker__output(&worker__agent.conf.output[i]);
  if (worker__agent.conf.startup_delay_ms > 0 &&
      uv_timer_init(worker__agent.loop, &worker__agent.startup) == 0) {
    (void)uv_timer_start(&worker__agent.startup, worker_on_startup_delay,
                         worker__agent.conf.startup_delay_ms, 0);
    return;
  }
  worker__servers_start();
}

static void worker_on_ctl_lost(ctl_t *ctl)
{
  (void)ctl;
  worker__agent.have_ctl = 0;
  worker_start();
}

static void worker_connect(const char *path)
{
  cJSON *hello;

  if (ctl_open(worker__agent.loop, &worker__agent.ctl, path,
               worker__faults_on_line, worker_on_ctl_lost) != 0) {
    worker_start();
    return;
  }
  worker__agent.have_ctl = 1;
  /* The control socket must not keep a worker alive. */
  uv_unref((uv_handle_t *)&worker__agent.ctl.pipe);
  hello = cJSON_CreateObject();
  if (hello != NULL) {
    cJSON_AddStringToObject(hello, "type", "hello");
    cJSON_AddStringToObject(hello, "role", "worker");
    if (worker__agent.in_cluster)
      cJSON_AddNumberToObject(hello, "id", worker__agent.child.id);
    else
      cJSON_AddNullToObject(hello, "id");
    cJSON_AddNumberToObject(hello, "pid", getpid());
    (void)ctl_send(&worker__agent.ctl, hello);
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

  worker__agent.loop = uv_default_loop();
  /* A bad CLUSTERSIM_WORKER is the protocol's exit 2 (docs/protocol.md);
   * a bad option is a bad command line, as for every command. */
  if (worker__conf_parse(&worker__agent.conf, getenv("CLUSTERSIM_WORKER"),
                         0, NULL, err, sizeof(err)) != 0) {
    fprintf(stderr, "clustersim worker agent: %s\n", err);
    return 2;
  }
  if (worker__conf_parse(&worker__agent.conf, getenv("CLUSTERSIM_WORKER"),
                         argc, argv, err, sizeof(err)) != 0) {
    fprintf(stderr, "clustersim worker: %s\nTry 'clustersim worker "
            "--help'.\n", err);
    return BASE_EXIT_USAGE;
  }
  /* As in Node, a closed peer is an error code, not a fatal signal. */
  signal(SIGPIPE, SIG_IGN);
  rc = sim_child_init(worker__agent.loop, &worker__agent.child,
                      worker_on_child_event);
  if (rc == 0) {
    worker__agent.in_cluster = 1;
  } else if (rc != UV_ENOENT) {
    fprintf(stderr, "clustersim worker agent: %s\n", uv_strerror(rc));
    return 2;
  }
  worker_signals_start();
  if (path != NULL && *path != '\0')
    worker_connect(path);
  else
    worker_start();
  uv_run(worker__agent.loop, UV_RUN_DEFAULT);
  /* Nothing keeps the process alive any more: a natural exit. */
  worker__agent.natural_exit = 1;
  worker__exit(0);
  return 0;
}
