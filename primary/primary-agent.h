/*
 * primary-agent.h - state shared by the files of the builtin primary agent.
 */
#ifndef PRIMARY_AGENT_H
#define PRIMARY_AGENT_H

#include "ctl.h"
#include "sim.h"

#define AGENT_MAX_ENV 64

typedef struct {
  uv_loop_t *loop;
  sim_cluster_t cluster;
  ctl_t ctl;
  char **setup_env;          /* "K=V" merged into every fork */

  /* respawn policy */
  int respawn;               /* 0 never, 1 always, 2 unless-ead, 3 nonzero */
  unsigned backoff_ms, backoff_max_ms, startup_window_ms;
  unsigned crash_streak;
  unsigned respawns, forks, exits;

  /* shutdown policy */
  uv_signal_t sigs[4];
  int nsigs;
  unsigned shutdown_timeout_ms;
  int shutting_down;
  uv_timer_t shutdown_timer;

  /* heartbeat policy */
  uv_timer_t heartbeat;
  int heartbeat_on;
  unsigned hb_interval_ms, hb_timeout_ms;
  unsigned hb_n;

  /* rolling restart */
  unsigned *restart_queue;
  unsigned restart_n, restart_pos;
  unsigned restart_old, restart_new;
  unsigned restart_timeout_ms;
  uv_timer_t restart_timer;
  int restarting;

  /* metrics */
  uv_tcp_t metrics;
  int metrics_on;
} agent_t;

/* Per-worker bookkeeping hung on sim_worker_set_data(). */
typedef struct {
  char **env;                /* the fork env, for respawns */
  uint64_t forked_at;
  uint64_t last_pong;
  int listened;
} agent_worker_t;

extern agent_t A;

void agent_policy_event(const char *action, cJSON *fields);
int agent_fork(char **env, sim_worker_t **ret);

/* primary-policy.c */
int policy_apply(const cJSON *cmd, char *err, size_t errlen);
int policy_rolling_restart(unsigned timeout_ms);
int policy_shutdown(unsigned timeout_ms);
void policy_on_event(const sim_event_t *ev);

#endif /* PRIMARY_AGENT_H */
