/*
 * primary-internal.h - what the files of the builtin primary agent share.
 * Not for other modules: primary.h is the folder's API.
 *
 * The agent mirrors agents/node/primary.cjs and its lib/: one file per
 * concern (events, worker records, commands, and one per policy), the same
 * validation words, the same protocol lines in the same order.
 */
#ifndef PRIMARY_INTERNAL_H
#define PRIMARY_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "ctl.h"
#include "sim.h"

/* Losing the harness means nobody is left to end the workers: they get
 * this long to leave gracefully before SIGKILL. */
#define PRIMARY_LOST_CONTROL_GRACE_MS 1000u
/* How long the last protocol lines may take to leave at exit. */
#define PRIMARY_FLUSH_MS 1000u
/* The largest millisecond value a command may give. */
#define PRIMARY_MAX_MS 2147483647.0
/* Silent workers' output: the longest line reported (bytes, without its
 * newline; longer ones are dropped) and the line bytes reported per
 * worker, after which everything is dropped (and counted). */
#define PRIMARY_OUTPUT_LINE 4096
#define PRIMARY_OUTPUT_CAP 65536

struct primary__output_s;
/* Backpressure: above this much output not yet taken by the harness, a
 * worker whose message (or online/listening) is reported is paused
 * (sim_worker_pause()); every paused worker resumes once the output is
 * down to PRIMARY_CTL_LOW. A flooding worker waits on its own socket;
 * the agent's memory stays bounded. */
#define PRIMARY_CTL_HIGH (4u * 1024u * 1024u)
#define PRIMARY_CTL_LOW (1u * 1024u * 1024u)

/* Everything the agent knows of a worker it forked, for as long as it
 * runs: the harness may still name a worker that left cluster.workers. */
typedef struct primary__record_s {
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
  struct primary__output_s *output; /* silent: its output so far */
  int paused;                /* sim_worker_pause()d for backpressure */
  struct primary__record_s *next;
} primary__record_t;

typedef struct {
  uv_loop_t *loop;
  sim_cluster_t cluster;
  ctl_t ctl;
  primary__record_t *records;
  primary__record_t **records_tail;
  unsigned forks, exits, respawns;
  cJSON *setup_env;          /* merged into every fork's env */
  int setup_done;            /* the scheduling policy is frozen */
  int frozen_policy;
  int exec_set;              /* setup gave `exec`: args are its own */
  int args_set;
  int winding;               /* shutting down: no forks, no policies */
  int exiting;
  unsigned last_forked;      /* the id `"worker": "last"` names */
  unsigned callbacks;        /* cluster.disconnect() callbacks run */
  /* the settings a `setup` event reports (protocol §3): the args the
   * harness gave but for its first own_args, cwd, silent; one snapshot
   * per setupPrimary() (a setup command or a fork), taken by its event */
  cJSON *settings;
  unsigned own_args;
  cJSON *setup_snapshots;    /* array, oldest first */
} primary__agent_t;

/* The agent: one per process, as the process has one loop and one control
 * connection. Defined in primary.c, shared by the files of the folder. */
extern primary__agent_t primary__agent;

/* primary.c */
/* Sends `m` if the harness is still there (held until after the reply
 * while a command runs); takes ownership. */
void primary__send(cJSON *m);
/* {"type":"policy","action":action} for the caller to complete. */
cJSON *primary__policy_new(const char *action);
/* Runs fn(arg) once the reply of the current command has been sent (or at
 * once outside a command), as the Node agent's nextTick does. */
void primary__after_reply(void (*fn)(void *arg), void *arg);
/* Closes what the agent owns, flushes the last lines, SIGKILLs any worker
 * still alive and exits. Never returns. */
void primary__exit(int code);

/* primary-report.c */
/* What the next `setup` event will carry: the settings now (after a setup
 * command or at a fork, whose setupPrimary() emits one). */
void primary__report_setup_snapshot(void);
void primary__report_event(const sim_event_t *ev);
void primary__report_disconnect_callback(sim_cluster_t *c, void *arg);
/* The worker's id, pid and flags as the events carry them (protocol §3),
 * sampled now. */
void primary__report_flags(cJSON *m, const sim_worker_t *w);

/* primary-state.c */
/* cluster.fork(setup env + envStrings(env)); `env` may be NULL. */
int primary__fork(const cJSON *env, primary__record_t **ret);
primary__record_t *primary__record(unsigned id);
/* The record of a worker the agent forked, NULL for any other. */
primary__record_t *primary__record_of(const sim_worker_t *w);
void primary__state_on_event(const sim_event_t *ev);
/* envStrings(): values as strings, structured ones JSON-encoded. */
int primary__env_merge(cJSON *into, const cJSON *env);
/* The scheduling policy is frozen by the first setup or fork. */
void primary__freeze(void);
void primary__kill_all(int signum);

/* primary-commands.c */
void primary__command_run(const char *line, size_t len);
/* The primary program ends by itself with `code`: no SIGKILL of the
 * workers, which see their channels end (an uncaught error, exit()). */
void primary__die(int code);

/* primary-respawn.c */
typedef struct {
  int mode;                  /* index into the mode names */
  double backoff_ms, backoff_max_ms, startup_window_ms;
} primary__respawn_conf_t;
int primary__respawn_configure(const cJSON *msg, primary__respawn_conf_t *next,
                               char *err, size_t n);
void primary__respawn_apply(const primary__respawn_conf_t *next);
void primary__respawn_cancel(void);
void primary__respawn_on_event(const sim_event_t *ev);

/* primary-heartbeat.c */
typedef struct {
  int on;
  double interval_ms, timeout_ms;
} primary__heartbeat_conf_t;
int primary__heartbeat_configure(const cJSON *v,
                                 primary__heartbeat_conf_t *next, char *err,
                                 size_t n);
void primary__heartbeat_apply(const primary__heartbeat_conf_t *next);
void primary__heartbeat_stop(void);
void primary__heartbeat_on_event(const sim_event_t *ev);

/* primary-metrics.c */
typedef struct {
  int on;
  int port;
} primary__metrics_conf_t;
int primary__metrics_configure(const cJSON *v, primary__metrics_conf_t *next,
                               char *err, size_t n);
void primary__metrics_apply(const primary__metrics_conf_t *next);
void primary__metrics_close(void);

/* primary-shutdown.c */
#define PRIMARY_MAX_SIGNALS 40
typedef struct {
  int signals[PRIMARY_MAX_SIGNALS];
  char names[PRIMARY_MAX_SIGNALS][16];
  int nsignals;
  double timeout_ms;
} primary__shutdown_conf_t;
int primary__shutdown_configure(const cJSON *v, primary__shutdown_conf_t *next,
                                char *err, size_t n);
void primary__shutdown_apply(const primary__shutdown_conf_t *next);
double primary__shutdown_default_timeout(void);
/* The graceful shutdown: `signal` names what started it (NULL for the
 * command or a lost harness); `report` sends the policy events. Returns
 * UV_EALREADY when a shutdown is already under way. */
int primary__shutdown_start(const char *signal, double timeout_ms, int report);
void primary__shutdown_on_event(const sim_event_t *ev);

/* primary-rolling.c */
int primary__rolling_start(const cJSON *timeout_ms, char *err, size_t n);
void primary__rolling_abort(void);
void primary__rolling_on_event(const sim_event_t *ev);

/* primary-output.c: sim's output_cb. */
void primary__output_on_data(sim_cluster_t *c, sim_worker_t *w, int fd,
                             const char *data, size_t len);

/* primary-handles.c */
#define PRIMARY_HANDLE_NAME_MAX 64
/* A handle the primary holds: a server of its own, a connection one of
 * them accepted (unread), or a handle a worker sent. */
typedef struct primary__held_s primary__held_t;
/* A server's new connection, in the table from now on. */
typedef void (*primary__server_cb)(primary__held_t *server,
                                   primary__held_t *conn, void *arg);
/* {"type":"handle","what":what} for the caller to complete. */
cJSON *primary__handle_record(const char *what);
/* Listens (pauseOnConnect) on host:port or a path; the entry is in the
 * table (*ret, NULL only on UV_ENOMEM) even when the listen failed. */
int primary__server_open(const char *name, const char *host, int port,
                         const char *path, primary__server_cb on_connection,
                         void *arg, primary__held_t **ret);
int primary__server_port(const primary__held_t *e);
/* The remote address of a TCP connection ("" if none). */
const char *primary__held_remote(const primary__held_t *e, char *buf,
                                 size_t n);
/* worker.send(message, handle, {keepOpen}); a socket sent without
 * keep_open leaves the table and closes once written. */
int primary__held_send(primary__held_t *e, sim_worker_t *w,
                       const cJSON *message, int keep_open);
/* Leaves the table; closed once no send needs it. */
void primary__held_drop(primary__held_t *e);
/* The commands serve, send-handle, close-handle. */
int primary__handles_serve(const cJSON *msg, char *err, size_t n);
int primary__handles_send(const cJSON *msg, sim_worker_t *w, char *err,
                          size_t n);
int primary__handles_close(const cJSON *msg, char *err, size_t n);
/* "socket" or "server": what a received descriptor is (a listening
 * socket is a server), as the type of Node's handle would say. */
const char *primary__handle_kind(const uv_stream_t *h);
/* A handle that came with a worker's message: held and reported. */
void primary__handles_received(const sim_event_t *ev);

/* primary-sticky.c */
typedef struct {
  int on;
  int port;
  char host[64];
} primary__sticky_conf_t;
int primary__sticky_configure(const cJSON *v, primary__sticky_conf_t *next,
                              char *err, size_t n);
void primary__sticky_apply(const primary__sticky_conf_t *next);
void primary__sticky_on_event(const sim_event_t *ev);
/* Closes the server and forgets the table (a shutdown stops it). */
void primary__sticky_stop(void);

#endif /* PRIMARY_INTERNAL_H */
