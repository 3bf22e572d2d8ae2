/*
 * sim.h - Node.js `cluster` semantics on libuv.
 *
 * One public header for the whole library. The primary side mirrors
 * lib/internal/cluster/primary.js (cluster object, Worker objects,
 * round-robin and shared server handles); the worker side mirrors
 * lib/internal/cluster/child.js (cluster.worker, servers listening through
 * the primary). Both speak Node's own IPC wire protocol (newline-delimited
 * JSON on the fd named by NODE_CHANNEL_FD, NODE_CLUSTER envelopes with
 * seq/ack, NODE_HANDLE + SCM_RIGHTS + NODE_HANDLE_ACK), so a primary built on
 * this library runs real Node workers and a Node primary runs workers built
 * on it.
 *
 * Conventions:
 * - Functions return 0 or a negative UV_E* code.
 * - Messages are cJSON values. A message passed in is borrowed (the library
 *   serialises it before returning); a message handed to a callback is
 *   borrowed for the duration of that callback only.
 * - Every object is owned by the caller's loop: one loop per process, no
 *   threads. Callbacks never run re-entrantly from inside an API call except
 *   where stated; events that Node emits on process.nextTick are deferred to
 *   the loop the same way.
 * - Every error code a function can return is listed with it ("Errors:").
 *   Where a libuv call's error is passed on, the list names the call.
 *
 * When memory may be freed (as for libuv's handles: the library keeps
 * pointers to the structs the caller embeds until their close has ended,
 * so freeing one earlier is a use after free):
 * - sim_cluster_t: inside or after the callback of sim_cluster_close(), or
 *   at once when sim_cluster_init() failed. Every sim_worker_t belongs to
 *   its cluster: it stays valid (as a record, also once it has left
 *   cluster.workers and died) until that callback, and is freed then.
 * - sim_server_t: inside or after the callback of sim_server_close(), or
 *   at once when sim_server_listen() returned an error. A listen that
 *   failed later (listen_cb with an error status) still needs its
 *   sim_server_close(). A server closed by cluster.worker.disconnect() ends
 *   its close the same way: pass a callback to sim_server_close() from
 *   on_closing to learn when.
 * - sim_child_t: it is cluster.worker, alive as long as the process; keep
 *   it in static storage. sim_child_close() releases its handles for a
 *   process about to exit; the struct is never released.
 * - A handle received with a message (sim_event_t.handle,
 *   sim_child_event_t.handle) is a malloc()ed uv_tcp_t or uv_pipe_t (see
 *   handle->type) initialised on the receiver's loop and owned by the
 *   callback that gets it. To drop it: uv_close(handle, cb) with a cb that
 *   calls free(handle); never free it before that callback.
 * - A connection handed to sim_connection_cb is owned by the callee until
 *   sim_server_conn_close(), which closes and frees it: never uv_close() or
 *   free() it yourself, and do not touch it after that call.
 */
#ifndef SIM_H
#define SIM_H

#include <stdint.h>
#include <uv.h>
#include <cjson/cJSON.h>

#define SIM_SCHED_NONE 1
#define SIM_SCHED_RR   2

/* Largest message line accepted on a channel. A peer that sends a longer
 * line gets an `error` event and is treated as broken (see docs/ipc.md). */
#define SIM_MAX_MESSAGE (16u * 1024u * 1024u)

typedef struct sim_cluster_s sim_cluster_t;
typedef struct sim_worker_s sim_worker_t;
typedef struct sim_child_s sim_child_t;
typedef struct sim_server_s sim_server_t;

/* ---------------------------------------------------------------------- */
/* Events                                                                  */

typedef enum {
  SIM_EV_SETUP = 0,
  SIM_EV_FORK,
  SIM_EV_ONLINE,
  SIM_EV_LISTENING,
  SIM_EV_MESSAGE,
  SIM_EV_DISCONNECT,
  SIM_EV_EXIT,
  SIM_EV_ERROR,
  SIM_EV_MAX
} sim_event_type_t;

/* Where Node would emit the event: on the Worker object or on `cluster`.
 * The library delivers every event once per emitter, in Node's order:
 * Worker first for online/listening/disconnect/exit, cluster first for
 * message (cluster's listener is installed inside fork()), Worker only for
 * error (v20 has no `error` on cluster), cluster only for setup/fork. */
typedef enum {
  SIM_ON_WORKER = 0,
  SIM_ON_CLUSTER = 1
} sim_emitter_t;

/* The `listening` address object: {addressType, address, port, fd}. */
typedef struct {
  int address_type;          /* 4, 6, or -1 for a UNIX socket path */
  const char *address;       /* NULL for Node's `address: null` */
  int port;
  int fd;                    /* -1 when Node's value is `undefined` */
} sim_address_t;

typedef struct {
  sim_event_type_t type;
  sim_emitter_t emitter;
  sim_worker_t *worker;      /* NULL for SIM_EV_SETUP */
  int64_t exit_code;         /* SIM_EV_EXIT: -1 when killed by a signal */
  int term_signal;           /* SIM_EV_EXIT: 0 when exited normally */
  const sim_address_t *address;   /* SIM_EV_LISTENING */
  const cJSON *message;      /* SIM_EV_MESSAGE: borrowed */
  uv_stream_t *handle;       /* SIM_EV_MESSAGE: a received handle or NULL;
                                the callback takes ownership when non-NULL
                                (see the conventions to close it). Only
                                the first emitter of the message (the
                                cluster) gets it; the Worker's sees NULL */
  int error;                 /* SIM_EV_ERROR: UV_E* code */
  const char *error_code;    /* SIM_EV_ERROR: Node-style code, e.g.
                                "ERR_IPC_CHANNEL_CLOSED" */
  const char *error_message; /* SIM_EV_ERROR: human-readable detail */
} sim_event_t;

typedef void (*sim_event_cb)(sim_cluster_t *cluster, const sim_event_t *ev);
typedef void (*sim_send_cb)(int status, void *arg);
typedef void (*sim_disconnect_cb)(sim_cluster_t *cluster, void *arg);

/* ---------------------------------------------------------------------- */
/* Primary side                                                            */

/* setupPrimary() settings. Every field is optional (NULL/0 = keep the
 * current value); calls are cumulative, as in Node. Strings are copied. */
typedef struct {
  const char *exec;          /* program to run; default: this executable */
  const char *const *args;   /* NULL-terminated argv after the program;
                                default: {"worker", NULL} */
  int args_set;              /* non-zero: `args` replaces the current list
                                (lets a caller set an empty list) */
  const char *cwd;           /* default: inherit */
  const char *const *env;    /* NULL-terminated "K=V" pairs merged under
                                fork(env) (an extension: Node has none) */
  int silent;                /* 1: workers' stdout/stderr go to pipes that
                                the primary drains; -1: back to inherit */
  const char *serialization; /* "json" only; "advanced" is UV_ENOTSUP */
} sim_settings_t;

struct sim_cluster_s {
  /* public */
  void *data;
  sim_event_cb event_cb;
  /* read-only */
  uv_loop_t *loop;
  int scheduling_policy;     /* SIM_SCHED_*; frozen at the first setup */
  /* private */
  struct sim__cluster_priv *priv;
};

/* Initialise a primary. Reads NODE_CLUSTER_SCHED_POLICY ("rr"/"none") once,
 * as Node does at module load. The caller may change scheduling_policy
 * until the first sim_cluster_setup()/sim_cluster_fork().
 * Errors: UV_ENOMEM; uv_exepath()'s error. Nothing is left to close. */
int sim_cluster_init(uv_loop_t *loop, sim_cluster_t *cluster,
                     sim_event_cb event_cb);

/* cluster.setupPrimary(settings): merges settings, emits `setup` on the
 * next loop turn. `settings` may be NULL (only the `setup` event).
 * Errors: UV_EINVAL for a cluster not initialised or closing, an unknown
 * serialization name, or (at the first setup or fork) a scheduling_policy
 * other than SIM_SCHED_NONE or SIM_SCHED_RR; UV_ENOTSUP for
 * "advanced"; UV_ENOMEM (settings merged before the failure stay). */
int sim_cluster_setup(sim_cluster_t *cluster, const sim_settings_t *settings);

/* cluster.fork(env): spawns a worker with ids 1, 2, 3... (never reused),
 * NODE_UNIQUE_ID, NODE_CHANNEL_FD=3 and NODE_CHANNEL_SERIALIZATION_MODE=json
 * in its environment, adds it to cluster.workers and emits `setup` and
 * `fork` on the next loop turn. `env` is NULL-terminated "K=V" pairs or
 * NULL. A spawn failure still returns the worker (*ret_worker) and 0; the
 * worker then emits `error` and leaves cluster.workers, as a failed
 * child_process.fork() does. The worker stays owned by the cluster.
 * Errors (no worker is made): those of sim_cluster_setup(cluster, NULL);
 * UV_ENOMEM; uv_pipe_init()'s error. */
int sim_cluster_fork(sim_cluster_t *cluster, const char *const *env,
                     sim_worker_t **ret_worker);

/* cluster.disconnect(cb): worker.disconnect() on every connected member of
 * cluster.workers; `cb` (optional) runs at the next removal of a worker
 * that empties cluster.workers, i.e. at the first later exit, exactly as
 * in Node v20 (never synchronously).
 * Errors: UV_EINVAL for a cluster not initialised or closing; UV_ENOMEM
 * (the workers may have been disconnected already; `cb` is not kept). */
int sim_cluster_disconnect(sim_cluster_t *cluster, sim_disconnect_cb cb,
                           void *arg);

/* cluster.workers[id]: NULL when `id` is not (or no longer) a member. */
sim_worker_t *sim_cluster_worker(sim_cluster_t *cluster, unsigned id);

/* Any worker object ever forked, member or not; NULL if unknown. */
sim_worker_t *sim_cluster_find(sim_cluster_t *cluster, unsigned id);

/* Number of members of cluster.workers. */
unsigned sim_cluster_count(const sim_cluster_t *cluster);

/* Calls `fn` for each member of cluster.workers in id order. */
void sim_cluster_foreach(sim_cluster_t *cluster,
                         void (*fn)(sim_worker_t *worker, void *arg),
                         void *arg);

/* Releases every resource of the cluster: SIGKILLs live workers, closes
 * all handles. The loop must be run afterwards until the close completes;
 * `cb` (optional) runs then, from the loop, once every handle is closed and
 * every sim_worker_t freed: the sim_cluster_t may be freed from inside it.
 * No event is delivered after this call. Does nothing (`cb` never runs) for
 * a cluster not initialised or already closing. */
void sim_cluster_close(sim_cluster_t *cluster,
                       void (*cb)(sim_cluster_t *cluster));

/* Worker (primary side). */
unsigned sim_worker_id(const sim_worker_t *worker);
int sim_worker_pid(const sim_worker_t *worker);           /* 0 if none */
/* "none", "online", "listening", "disconnected" or "dead". */
const char *sim_worker_state(const sim_worker_t *worker);
/* exitedAfterDisconnect: -1 while undefined, else 0 or 1. */
int sim_worker_exited_after_disconnect(const sim_worker_t *worker);
int sim_worker_is_connected(const sim_worker_t *worker);
int sim_worker_is_dead(const sim_worker_t *worker);
int sim_worker_in_workers(const sim_worker_t *worker);    /* member? */
/* Exit status once dead: code (-1 if signalled) and signal (0 if not). */
int64_t sim_worker_exit_code(const sim_worker_t *worker);
int sim_worker_term_signal(const sim_worker_t *worker);

void *sim_worker_get_data(const sim_worker_t *worker);
void sim_worker_set_data(sim_worker_t *worker, void *data);

/* worker.send(message[, handle][, cb]). `handle` (TCP or pipe) is sent as
 * net.Native with SCM_RIGHTS; the caller keeps its own copy. Returns
 * UV_EPIPE when not connected: the cb (if any) then gets UV_EPIPE on the
 * next loop turn, otherwise the worker emits `error`
 * ERR_IPC_CHANNEL_CLOSED. While a handle awaits NODE_HANDLE_ACK later
 * messages are queued, as in Node (0 is returned; cb gets the status of
 * the write when it happens).
 * Errors: UV_EPIPE as above; UV_ENOMEM (cb does not run); the error of
 * uv_write() or uv_write2() (UV_EBADF for a handle without a descriptor,
 * UV_EINVAL for a handle that cannot be sent), with which cb has already
 * run when the call returns. */
int sim_worker_send(sim_worker_t *worker, const cJSON *message,
                    uv_stream_t *handle, sim_send_cb cb, void *arg);

/* worker.disconnect() from the primary: sets exitedAfterDisconnect, sends
 * {act:'disconnect'}, removes the worker from its server handles and from
 * cluster.workers at once. When that empties cluster.workers, the
 * callbacks of earlier sim_cluster_disconnect() calls run from inside this
 * call, as in Node. Always returns 0 (on a disconnected worker the message
 * is not sent). */
int sim_worker_disconnect(sim_worker_t *worker);

/* worker.kill(signal) from the primary: kill(2) only (Node >= 18); does not
 * disconnect and does not touch exitedAfterDisconnect. `signum` 0 means
 * SIGTERM, as worker.kill() without an argument. Returns 0 as well for a
 * worker that never started or is already dead.
 * Errors: uv_process_kill()'s (UV_EINVAL for a bad signal number,
 * UV_EPERM); the worker emits `error` with it from inside this call. */
int sim_worker_kill(sim_worker_t *worker, int signum);

/* ---------------------------------------------------------------------- */
/* Worker side (cluster.worker inside a worker process)                    */

typedef enum {
  SIM_CHILD_EV_MESSAGE = 0,  /* a user message from the primary */
  SIM_CHILD_EV_DISCONNECT,   /* cluster.worker 'disconnect' */
  SIM_CHILD_EV_ERROR         /* cluster.worker 'error' */
} sim_child_event_type_t;

typedef struct {
  sim_child_event_type_t type;
  const cJSON *message;      /* MESSAGE: borrowed */
  uv_stream_t *handle;       /* MESSAGE: received handle or NULL; owned by
                                the callback when non-NULL (see the
                                conventions to close it) */
  int error;                 /* ERROR */
  const char *error_code;
  const char *error_message;
  int will_exit;             /* DISCONNECT: the library calls
                                exit(0) right after this callback, as
                                Node does when exitedAfterDisconnect is
                                not set ("primary exited") */
} sim_child_event_t;

typedef void (*sim_child_event_cb)(sim_child_t *child,
                                   const sim_child_event_t *ev);

struct sim_child_s {
  /* public */
  void *data;
  sim_child_event_cb event_cb;
  /* read-only */
  uv_loop_t *loop;
  unsigned id;               /* from NODE_UNIQUE_ID */
  /* private */
  struct sim__child_priv *priv;
};

/* Becomes cluster.worker: reads and removes NODE_UNIQUE_ID, NODE_CHANNEL_FD
 * and NODE_CHANNEL_SERIALIZATION_MODE from the environment, opens the
 * channel and sends `online` at once. `child` must outlive the process's
 * loop (see the conventions).
 * Errors: UV_ENOENT when this process is not a cluster worker
 * (NODE_UNIQUE_ID or NODE_CHANNEL_FD unset; nothing was changed);
 * UV_ENOTSUP for a serialization mode other than json; UV_EINVAL for a
 * NODE_CHANNEL_FD that is not a descriptor number; UV_ENOMEM; the error of
 * uv_idle_init(), uv_pipe_init(), uv_pipe_open() or uv_read_start() on the
 * channel, or of sending `online` (UV_EPIPE). After any error but
 * UV_ENOENT the process cannot be the worker it was started as: it should
 * exit (the worker agent exits with status 2). */
int sim_child_init(uv_loop_t *loop, sim_child_t *child,
                   sim_child_event_cb event_cb);

/* process.send(message[, handle][, cb]).
 * Errors: UV_EPIPE when disconnected and UV_ENOMEM, both without running
 * cb; the error of uv_write() or uv_write2() (UV_EBADF, UV_EINVAL as for
 * sim_worker_send()), with which cb has already run when the call
 * returns. */
int sim_child_send(sim_child_t *child, const cJSON *message,
                   uv_stream_t *handle, sim_send_cb cb, void *arg);

/* cluster.worker.disconnect(): closes every server that listens through
 * the primary (waiting for their open connections), then sends
 * exitedAfterDisconnect, waits for the primary's ack and closes the
 * channel. The process is not exited. Always returns 0; a call while a
 * disconnect or kill is under way does nothing. */
int sim_child_disconnect(sim_child_t *child);

/* cluster.worker.kill(): the signal is ignored, as in Node. Sets
 * exitedAfterDisconnect, tells the primary, closes the channel after the
 * ack and exits 0 once disconnected: when the channel is already
 * disconnected, the process exits inside this call. Otherwise returns 0
 * (also when a kill is already under way). */
int sim_child_kill(sim_child_t *child);

/* process.disconnect(): closes the channel. The worker then exits 0 (the
 * library's `disconnect` handler) unless exitedAfterDisconnect is set.
 * Errors: UV_ENOTCONN when the channel is already disconnected. */
int sim_child_channel_close(sim_child_t *child);

int sim_child_is_connected(const sim_child_t *child);
int sim_child_exited_after_disconnect(const sim_child_t *child);
/* "online", "listening", "disconnecting" or "destroying". */
const char *sim_child_state(const sim_child_t *child);

/* Release the channel and every server without any protocol traffic (for
 * the end of a process that leaves on its own). The handles close on the
 * loop; `child` itself stays allocated (see the conventions). */
void sim_child_close(sim_child_t *child);

/* ---------------------------------------------------------------------- */
/* Servers inside a worker                                                 */

typedef struct {
  const char *address;       /* NULL: Node's listen(port) without host */
  int port;                  /* 0 for an ephemeral port shared by index */
  int address_type;          /* 4 or 6; 0: derived from address */
  int backlog;               /* 0: Node's default (511) */
  int ipv6_only;
  int exclusive;             /* bind in the worker, no primary involved */
  int max_connections;       /* 0: unlimited */
} sim_listen_opts_t;

typedef void (*sim_listen_cb)(sim_server_t *server, int status);
/* A new connection. `conn` is heap-allocated and owned by the callee, who
 * must end it with sim_server_conn_close() (never uv_close() or free()).
 * conn->data is the callee's. */
typedef void (*sim_connection_cb)(sim_server_t *server, uv_tcp_t *conn);
typedef void (*sim_server_close_cb)(sim_server_t *server);

struct sim_server_s {
  /* public */
  void *data;
  /* Optional: runs when the server starts closing, whoever closes it (the
   * application or a cluster disconnect), so that the application can end
   * idle connections as Node's http.Server.close() does. */
  sim_server_close_cb on_closing;
  /* read-only */
  sim_child_t *child;        /* NULL for a server of a non-worker process */
  int port;                  /* the real port once listening */
  int connections;           /* open connections handed to the callee */
  /* private */
  struct sim__server_priv *priv;
};

/* server.listen(): through the primary (queryServer: round-robin or
 * shared handle) unless `exclusive`. `listen_cb` runs first; then, as in
 * Node, `listening` is reported to the primary only if the server is still
 * open and the channel still connected. `child` may be NULL for a plain
 * server in a non-worker process (always exclusive). Listen errors
 * (UV_EADDRINUSE, UV_EACCES, UV_EADDRNOTAVAIL, UV_EINVAL... from bind(2)
 * and listen(2) here or in the primary, which answers with an errno) reach
 * listen_cb with that status on a later loop turn, never from inside this
 * call. Without a connected channel the query is dropped, as Node's
 * sendHelper drops it: listen_cb never runs.
 * Errors (the server is not listening and may be freed): UV_EALREADY when
 * `server` was listened on before and its close has not ended (a failed
 * listen included); UV_ENOMEM; uv_tcp_init()'s error for an exclusive
 * listen. */
int sim_server_listen(sim_child_t *child, sim_server_t *server,
                      const sim_listen_opts_t *opts, sim_listen_cb listen_cb,
                      sim_connection_cb connection_cb);

/* server.close(cb): stops accepting at once; `cb` (optional) runs from the
 * loop when every handle of the server is closed and every open connection
 * has been closed with sim_server_conn_close(); the server may be freed
 * from inside it. `cb` may run before this call returns when the server
 * holds nothing to wait for (a listen whose query was never answered).
 * Errors: UV_EALREADY when the server is not listening (never listened, or
 * its close has ended: cb never runs) or when a close is under way (a
 * second call, or a cluster.worker.disconnect()): then a non-NULL cb
 * replaces the close callback and runs when that close ends. */
int sim_server_close(sim_server_t *server, sim_server_close_cb cb);

/* Ends a connection received through connection_cb and frees it (the
 * memory goes once its close callback has run; `conn` must not be used
 * after this call). May end a close of the server that waited for it. */
void sim_server_conn_close(sim_server_t *server, uv_tcp_t *conn);

/* Delay the end of a close as an open connection would (a slow close);
 * every hold needs one unhold, which may end the close (and run its
 * callback) from inside sim_server_unhold(). */
void sim_server_hold(sim_server_t *server);
void sim_server_unhold(sim_server_t *server);

/* ---------------------------------------------------------------------- */
/* Helpers                                                                 */

/* "SIGTERM" -> SIGTERM for the names of base's table (Node's
 * os.constants.signals); also the name without "SIG" ("TERM") and a
 * decimal number 1..NSIG-1, as process.kill() takes them. 0 otherwise. */
int sim_signal_from_name(const char *name);
/* SIGTERM -> "SIGTERM", the name Node reports; NULL if unknown. */
const char *sim_signal_name(int signum);

#endif /* SIM_H */
