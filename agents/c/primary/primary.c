/*
 * primary.c - the builtin primary agent: start-up, the control
 * connection, event dispatch and the way out.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "config.h"
#include "primary.h"
#include "primary-internal.h"

/* Work one command may leave for after its reply. */
#define PRIMARY_MAX_DEFERRED 8

primary__agent_t primary__agent;

static struct {
  void (*fn)(void *arg);
  void *arg;
} primary_deferred[PRIMARY_MAX_DEFERRED];
static int primary_ndeferred;
static int primary_in_command;

/* Lines a command causes while it runs, held for after its reply. */
typedef struct primary_held_s {
  cJSON *m;
  uint64_t t;
  struct primary_held_s *next;
} primary_held_t;

static primary_held_t *primary_held;
static primary_held_t **primary_held_tail = &primary_held;

void primary__send(cJSON *m)
{
  primary_held_t *h;

  if (m == NULL)
    return;
  /* What a command causes synchronously (a cluster.disconnect() callback
   * can run inside worker.disconnect()) follows its reply, stamped with
   * the moment it happened. */
  if (primary_in_command && (h = malloc(sizeof(*h))) != NULL) {
    h->m = m;
    h->t = uv_hrtime();
    h->next = NULL;
    *primary_held_tail = h;
    primary_held_tail = &h->next;
    return;
  }
  (void)ctl_send(&primary__agent.ctl, m);
  cJSON_Delete(m);
}

static void primary_send_held(void)
{
  while (primary_held != NULL) {
    primary_held_t *h = primary_held;
    primary_held = h->next;
    (void)ctl_send_at(&primary__agent.ctl, h->m, h->t);
    cJSON_Delete(h->m);
    free(h);
  }
  primary_held_tail = &primary_held;
}

cJSON *primary__policy_new(const char *action)
{
  cJSON *m = cJSON_CreateObject();

  if (m == NULL)
    return NULL;
  cJSON_AddStringToObject(m, "type", "policy");
  cJSON_AddStringToObject(m, "action", action);
  return m;
}

void primary__after_reply(void (*fn)(void *arg), void *arg)
{
  if (!primary_in_command || primary_ndeferred == PRIMARY_MAX_DEFERRED) {
    fn(arg);
    return;
  }
  primary_deferred[primary_ndeferred].fn = fn;
  primary_deferred[primary_ndeferred].arg = arg;
  primary_ndeferred++;
}

void primary__exit(int code)
{
  if (primary__agent.exiting)
    exit(code);
  primary__agent.exiting = 1;
  primary_in_command = 0;
  primary_send_held();
  primary__metrics_close();
  ctl_flush_before_exit(&primary__agent.ctl, PRIMARY_FLUSH_MS);
  /* Whatever ends this process, no worker may outlive it. */
  primary__kill_all(SIGKILL);
  fflush(NULL);
  exit(code);
}

static void primary_on_drain(ctl_t *ctl)
{
  (void)ctl;
  for (primary__record_t *r = primary__agent.records; r != NULL;
       r = r->next) {
    if (r->paused) {
      r->paused = 0;
      sim_worker_resume(r->worker);
    }
  }
}

/* A worker's channel brought an event while the harness is behind: that
 * worker is read no more until the harness catches up (PRIMARY_CTL_*);
 * the others are read on. */
static void primary_throttle(const sim_event_t *ev)
{
  primary__record_t *r;

  if (ev->worker == NULL ||
      (ev->type != SIM_EV_MESSAGE && ev->type != SIM_EV_ONLINE &&
       ev->type != SIM_EV_LISTENING) ||
      ctl_pending(&primary__agent.ctl) <= PRIMARY_CTL_HIGH)
    return;
  r = primary__record_of(ev->worker);
  if (r == NULL || r->paused)
    return;
  r->paused = 1;
  sim_worker_pause(ev->worker);
  ctl_on_drain(&primary__agent.ctl, primary_on_drain, PRIMARY_CTL_LOW);
}

void primary__die(int code)
{
  primary__agent.exiting = 1;
  primary_in_command = 0;
  primary_send_held();
  primary__metrics_close();
  ctl_flush_before_exit(&primary__agent.ctl, PRIMARY_FLUSH_MS);
  fflush(NULL);
  /* the workers are not killed: their channels end with this process,
   * and they leave by themselves, as a Node primary's do */
  exit(code);
}

/* Reporters first, then the policies in the order the Node agent installs
 * its listeners, so that a policy's reaction follows the event. */
static void primary_on_event(sim_cluster_t *c, const sim_event_t *ev)
{
  (void)c;
  primary__report_event(ev);
  primary_throttle(ev);
  primary__state_on_event(ev);
  if (ev->emitter != SIM_ON_CLUSTER)
    return;
  primary__respawn_on_event(ev);
  primary__heartbeat_on_event(ev);
  primary__shutdown_on_event(ev);
  primary__rolling_on_event(ev);
  primary__sticky_on_event(ev);
}

static void primary_on_line(ctl_t *ctl, const char *line, size_t len)
{
  int i;

  (void)ctl;
  primary_in_command = 1;
  primary__command_run(line, len);
  primary_in_command = 0;
  primary_send_held();
  /* Deferred work may defer more; it then runs at once. */
  for (i = 0; i < primary_ndeferred; i++)
    primary_deferred[i].fn(primary_deferred[i].arg);
  primary_ndeferred = 0;
}

static void primary_on_lost(ctl_t *ctl)
{
  (void)ctl;
  if (primary__agent.exiting)
    return;
  if (primary__shutdown_start(NULL, PRIMARY_LOST_CONTROL_GRACE_MS, 0) == 0)
    fprintf(stderr, "clustersim primary agent: control socket lost, ending "
                    "the cluster\n");
}

/* Each worker holds a descriptor here (its IPC channel; three with
 * `silent`, its stdout and stderr pipes besides): thousands of workers
 * need more than the usual soft limit of 1024. The hard limit is what the
 * machine allows; a fork past it fails with EMFILE, reported as the
 * fork's error. */
static void primary_raise_fd_limit(void)
{
  struct rlimit rl;

  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max)
    return;
  /* an unlimited hard limit still stops at fs.nr_open (2^20 unless
   * raised): setrlimit refuses RLIM_INFINITY */
  rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? 1048576 : rl.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
    fprintf(stderr, "clustersim primary agent: cannot raise the descriptor "
                    "limit to %lu\n", (unsigned long)rl.rlim_cur);
}

int primary_main(int argc, char **argv)
{
  const char *path = getenv("CLUSTERSIM_CONTROL");
  cJSON *hello;
  int rc;

  (void)argc;
  (void)argv;
  if (path == NULL || *path == '\0') {
    fprintf(stderr, "clustersim primary agent: CLUSTERSIM_CONTROL is not "
                    "set\n");
    return 2;
  }
  if (getenv("NODE_UNIQUE_ID") != NULL) {
    fprintf(stderr, "clustersim primary agent: started as a cluster "
                    "worker\n");
    return 2;
  }
  /* As in Node, a closed peer is an error code, not a fatal signal. */
  signal(SIGPIPE, SIG_IGN);
  primary_raise_fd_limit();
  primary__agent.loop = uv_default_loop();
  primary__agent.records_tail = &primary__agent.records;
  primary__agent.setup_env = cJSON_CreateObject();
  primary__agent.settings = cJSON_Parse(
      "{\"args\":[],\"execArgv\":[],\"cwd\":null,\"silent\":false}");
  primary__agent.setup_snapshots = cJSON_CreateArray();
  rc = primary__agent.setup_env == NULL || primary__agent.settings == NULL ||
               primary__agent.setup_snapshots == NULL
           ? UV_ENOMEM
           : sim_cluster_init(primary__agent.loop, &primary__agent.cluster,
                              primary_on_event);
  if (rc != 0) {
    fprintf(stderr, "clustersim primary agent: %s\n", uv_strerror(rc));
    return 2;
  }
  primary__agent.cluster.output_cb = primary__output_on_data;
  rc = ctl_open(primary__agent.loop, &primary__agent.ctl, path,
                primary_on_line, primary_on_lost);
  if (rc != 0) {
    fprintf(stderr, "clustersim primary agent: cannot connect to %s: %s\n",
            path, uv_strerror(rc));
    return 2;
  }
  hello = cJSON_CreateObject();
  if (hello != NULL) {
    cJSON_AddStringToObject(hello, "type", "hello");
    cJSON_AddStringToObject(hello, "role", "primary");
    cJSON_AddNumberToObject(hello, "pid", getpid());
    cJSON_AddStringToObject(hello, "runtime", "clustersim");
    cJSON_AddStringToObject(hello, "version", CLUSTERSIM_VERSION);
    primary__send(hello);
  }
  uv_run(primary__agent.loop, UV_RUN_DEFAULT);
  /* Nothing is left to wait for: the harness and every worker are gone. */
  primary__exit(0);
  return 0;
}
