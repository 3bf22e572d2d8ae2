/*
 * primary-agent.h - state shared by the files of the builtin primary agent.
 *
 * The agent mirrors agents/node/primary.js and its lib/: one file per
 * concern (events, worker records, commands, and one per policy), the same
 * validation words, the same protocol lines in the same order.
 */
#ifndef PRIMARY_AGENT_H
#define PRIMARY_AGENT_H

#include <stddef.h>
#include <stdint.h>

#include "ctl.h"
#include "sim.h"

/* Losing the harness means nobody is left to end the workers: they get
 * this long to leave gracefully before SIGKILL. */
#define AGENT_LOST_CONTROL_GRACE_MS 1000u
/* How long the last protocol lines may take to leave at exit. */
#define AGENT_FLUSH_MS 1000u
/* The largest millisecond value a command may give. */
#define AGENT_MAX_MS 2147483647.0

/* Everything the agent knows of a worker it forked, for as long as it
 * runs: the harness may still name a worker that left cluster.workers. */
typedef struct agent_record_s {
  sim_worker_t *worker;
  unsigned id;
  cJSON *env;                /* the full fork env: an object of strings */
  uint64_t forked_at;        /* uv_hrtime() */
  unsigned streak;           /* start-up crashes in a row, this lineage */
  int retired;               /* replaced by a rolling restart */
  int alive;                 /* forked and not yet exited */
  int disconnect_reported;   /* its `disconnect` went out */
  int hb_seen;               /* heartbeat: pinged at least once */
  int hb_killed;
  uint64_t hb_last;          /* last pong, or the first ping */
  struct agent_record_s *next;
} agent_record_t;

typedef struct {
  uv_loop_t *loop;
  sim_cluster_t cluster;
  ctl_t ctl;
  agent_record_t *records;
  agent_record_t **records_tail;
  unsigned forks, exits, respawns;
  cJSON *setup_env;          /* merged into every fork's env */
  int setup_done;            /* the scheduling policy is frozen */
  int frozen_policy;
  int exec_set;              /* setup gave `exec`: args are its own */
  int args_set;
  int winding;               /* shutting down: no forks, no policies */
  int exiting;
} agent_t;

extern agent_t A;

/* primary.c */
/* Sends `m` if the harness is still there (held until after the reply
 * while a command runs); takes ownership. */
void agent_send(cJSON *m);
/* {"type":"policy","action":action} for the caller to complete. */
cJSON *agent_policy_new(const char *action);
/* Runs fn(arg) once the reply of the current command has been sent (or at
 * once outside a command), as the Node agent's nextTick does. */
void agent_after_reply(void (*fn)(void *arg), void *arg);
/* Closes what the agent owns, flushes the last lines, SIGKILLs any worker
 * still alive and exits. Never returns. */
void agent_exit(int code);

/* primary-report.c */
void agent_report_event(const sim_event_t *ev);
void agent_report_disconnect_callback(sim_cluster_t *c, void *arg);

/* primary-state.c */
/* cluster.fork(setup env + envStrings(env)); `env` may be NULL. */
int agent_fork(const cJSON *env, agent_record_t **ret);
agent_record_t *agent_record(unsigned id);
void agent_state_on_event(const sim_event_t *ev);
/* envStrings(): values as strings, structured ones JSON-encoded. */
int agent_env_merge(cJSON *into, const cJSON *env);
/* The scheduling policy is frozen by the first setup or fork. */
void agent_freeze(void);
void agent_kill_all(int signum);

/* primary-commands.c */
void agent_command_run(const char *line, size_t len);

/* primary-respawn.c */
typedef struct {
  int mode;                  /* index into the mode names */
  double backoff_ms, backoff_max_ms, startup_window_ms;
} agent_respawn_conf_t;
int agent_respawn_configure(const cJSON *msg, agent_respawn_conf_t *next,
                            char *err, size_t n);
void agent_respawn_apply(const agent_respawn_conf_t *next);
void agent_respawn_cancel(void);
void agent_respawn_on_event(const sim_event_t *ev);

/* primary-heartbeat.c */
typedef struct {
  int on;
  double interval_ms, timeout_ms;
} agent_heartbeat_conf_t;
int agent_heartbeat_configure(const cJSON *v, agent_heartbeat_conf_t *next,
                              char *err, size_t n);
void agent_heartbeat_apply(const agent_heartbeat_conf_t *next);
void agent_heartbeat_stop(void);
void agent_heartbeat_on_event(const sim_event_t *ev);

/* primary-metrics.c */
typedef struct {
  int on;
  int port;
} agent_metrics_conf_t;
int agent_metrics_configure(const cJSON *v, agent_metrics_conf_t *next,
                            char *err, size_t n);
void agent_metrics_apply(const agent_metrics_conf_t *next);
void agent_metrics_close(void);

/* primary-shutdown.c */
#define AGENT_MAX_SIGNALS 40
typedef struct {
  int signals[AGENT_MAX_SIGNALS];
  char names[AGENT_MAX_SIGNALS][16];
  int nsignals;
  double timeout_ms;
} agent_shutdown_conf_t;
int agent_shutdown_configure(const cJSON *v, agent_shutdown_conf_t *next,
                             char *err, size_t n);
void agent_shutdown_apply(const agent_shutdown_conf_t *next);
double agent_shutdown_default_timeout(void);
/* The graceful shutdown: `signal` names what started it (NULL for the
 * command or a lost harness); `report` sends the policy events. Returns
 * UV_EALREADY when a shutdown is already under way. */
int agent_shutdown_start(const char *signal, double timeout_ms, int report);
void agent_shutdown_on_event(const sim_event_t *ev);

/* primary-rolling.c */
int agent_rolling_start(const cJSON *timeout_ms, char *err, size_t n);
void agent_rolling_abort(void);
void agent_rolling_on_event(const sim_event_t *ev);

#endif /* PRIMARY_AGENT_H */
