/*
 * primary.c - the builtin primary agent: start-up, the control
 * connection, event dispatch and the way out.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "primary.h"
#include "primary-agent.h"

/* Work one command may leave for after its reply. */
#define AGENT_MAX_DEFERRED 8

agent_t A;

static struct {
  void (*fn)(void *arg);
  void *arg;
} agent_deferred[AGENT_MAX_DEFERRED];
static int agent_ndeferred;
static int agent_in_command;

/* Lines a command causes while it runs, held for after its reply. */
typedef struct agent_held_s {
  cJSON *m;
  uint64_t t;
  struct agent_held_s *next;
} agent_held_t;

static agent_held_t *agent_held;
static agent_held_t **agent_held_tail = &agent_held;

void agent_send(cJSON *m)
{
  agent_held_t *h;

  if (m == NULL)
    return;
  /* What a command causes synchronously (a cluster.disconnect() callback
   * can run inside worker.disconnect()) follows its reply, stamped with
   * the moment it happened. */
  if (agent_in_command && (h = malloc(sizeof(*h))) != NULL) {
    h->m = m;
    h->t = uv_hrtime();
    h->next = NULL;
    *agent_held_tail = h;
    agent_held_tail = &h->next;
    return;
  }
  (void)ctl_send(&A.ctl, m);
  cJSON_Delete(m);
}

static void agent_send_held(void)
{
  while (agent_held != NULL) {
    agent_held_t *h = agent_held;
    agent_held = h->next;
    (void)ctl_send_at(&A.ctl, h->m, h->t);
    cJSON_Delete(h->m);
    free(h);
  }
  agent_held_tail = &agent_held;
}

cJSON *agent_policy_new(const char *action)
{
  cJSON *m = cJSON_CreateObject();

  if (m == NULL)
    return NULL;
  cJSON_AddStringToObject(m, "type", "policy");
  cJSON_AddStringToObject(m, "action", action);
  return m;
}

void agent_after_reply(void (*fn)(void *arg), void *arg)
{
  if (!agent_in_command || agent_ndeferred == AGENT_MAX_DEFERRED) {
    fn(arg);
    return;
  }
  agent_deferred[agent_ndeferred].fn = fn;
  agent_deferred[agent_ndeferred].arg = arg;
  agent_ndeferred++;
}

void agent_exit(int code)
{
  if (A.exiting)
    exit(code);
  A.exiting = 1;
  agent_in_command = 0;
  agent_send_held();
  agent_metrics_close();
  ctl_flush_before_exit(&A.ctl, AGENT_FLUSH_MS);
  /* Whatever ends this process, no worker may outlive it. */
  agent_kill_all(SIGKILL);
  fflush(NULL);
  exit(code);
}

/* Reporters first, then the policies in the order the Node agent installs
 * its listeners, so that a policy's reaction follows the event. */
static void agent_on_event(sim_cluster_t *c, const sim_event_t *ev)
{
  (void)c;
  agent_report_event(ev);
  agent_state_on_event(ev);
  if (ev->emitter != SIM_ON_CLUSTER)
    return;
  agent_respawn_on_event(ev);
  agent_heartbeat_on_event(ev);
  agent_shutdown_on_event(ev);
  agent_rolling_on_event(ev);
}

static void agent_on_line(ctl_t *ctl, const char *line, size_t len)
{
  int i;

  (void)ctl;
  agent_in_command = 1;
  agent_command_run(line, len);
  agent_in_command = 0;
  agent_send_held();
  /* Deferred work may defer more; it then runs at once. */
  for (i = 0; i < agent_ndeferred; i++)
    agent_deferred[i].fn(agent_deferred[i].arg);
  agent_ndeferred = 0;
}

static void agent_on_lost(ctl_t *ctl)
{
  (void)ctl;
  if (A.exiting)
    return;
  if (agent_shutdown_start(NULL, AGENT_LOST_CONTROL_GRACE_MS, 0) == 0)
    fprintf(stderr, "clustersim primary agent: control socket lost, ending "
                    "the cluster\n");
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
  A.loop = uv_default_loop();
  A.records_tail = &A.records;
  A.setup_env = cJSON_CreateObject();
  rc = A.setup_env != NULL ? sim_cluster_init(A.loop, &A.cluster,
                                              agent_on_event)
                           : UV_ENOMEM;
  if (rc != 0) {
    fprintf(stderr, "clustersim primary agent: %s\n", uv_strerror(rc));
    return 2;
  }
  rc = ctl_open(A.loop, &A.ctl, path, agent_on_line, agent_on_lost);
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
    agent_send(hello);
  }
  uv_run(A.loop, UV_RUN_DEFAULT);
  /* Nothing is left to wait for: the harness and every worker are gone. */
  agent_exit(0);
  return 0;
}
