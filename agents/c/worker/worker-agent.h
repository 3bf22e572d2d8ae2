/*
 * worker-agent.h - state shared by the files of the worker agent.
 */
#ifndef WORKER_AGENT_H
#define WORKER_AGENT_H

#include "ctl.h"
#include "http.h"
#include "sim.h"
#include "worker.h"

/* Outbound connections the `hold` fault may keep open, in all. */
#define WORKER_MAX_HELD 1000

typedef struct {
  sim_server_t server;
  http_group_t *group;
  const worker_server_conf_t *conf;
  int index;
  uv_timer_t delay;
  int listening;             /* sim_server_listen() succeeded */
  int closing;               /* close started, by anyone */
  int closed;                /* server-close observed */
} worker_server_t;

typedef struct {
  uv_loop_t *loop;
  worker_conf_t conf;
  sim_child_t child;
  int in_cluster;            /* cluster.worker exists */
  ctl_t ctl;
  int have_ctl;
  worker_server_t servers[WORKER_MAX_SERVERS];
  uv_signal_t sigs[WORKER_MAX_SIGNALS];
  uv_timer_t startup;
  int started;
  unsigned long count;       /* messages counted by "count" */
  unsigned held;
} worker_agent_t;

extern worker_agent_t W;

/* worker.c */
/* {"type":"observe","what":...,"worker":id,"pid":pid}: add fields, then
 * worker_observe() sends and frees it. */
cJSON *worker_observation(const char *what);
void worker_observe(cJSON *m);
/* process.exit(code): the `exiting` observation, flushed, then exit. */
void worker_exit(int code);
/* Runs an on_listening action (server = the first server). */
void worker_act(worker_act_t act, int code, worker_server_t *server);

/* worker-servers.c */
void worker_servers_start(void);
/* Closes every server not already closing; returns how many it closed. */
int worker_servers_close_all(void);
void worker_server_close(worker_server_t *s);

/* worker-faults.c */
void worker_faults_on_line(ctl_t *ctl, const char *line, size_t len);

#endif /* WORKER_AGENT_H */
