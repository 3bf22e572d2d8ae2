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
 *   borrowed for the duration of that callback only. With serialization
 *   'advanced' a message is the JSON form of its value (docs/ipc.md):
 *   plain JSON where JSON holds the value exactly, a {"$v8": type, ...}
 *   object where it does not (a Map, a BigInt, `undefined`, a cycle...);
 *   what is sent is read the same way, so plain JSON goes out as the value
 *   JSON.parse() would give, as from a Node peer.
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
 *   handle->type; a connection or a listening socket: to listen on one,
 *   sim_server_listen_handle()) initialised on the receiver's loop and owned
 *   by the callback that gets it. To drop it: uv_close(handle, cb) with a cb that
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

/* Largest message accepted on a channel (a 'json' line without its newline,
 * an 'advanced' payload without its length). A peer that sends a longer
 * one gets an `error` event and is treated as broken (see docs/ipc.md). */
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
  int address_type;          /* 4, 6, or -1 for a UNIX socket path; for
                                UDP the family (4 or 6) */
  int udp;                   /* 4 or 6 when Node's addressType is the
                                string "udp4" or "udp6", else 0 */
  const char *address;       /* NULL for Node's `address: null`; the path
                                of a UNIX socket (then port is -1) */
  int port;
  int fd;                    /* the message's fd (UDP sends -1) */
  int fd_defined;            /* 0 when Node's value is `undefined` */
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
  const struct sim_settings_s *settings; /* SIM_EV_SETUP: the settings as
                                that setup call merged them (every list
                                and string set; env NULL; silent 0 or 1;
                                serialization "json"), borrowed */
} sim_event_t;

typedef void (*sim_event_cb)(sim_cluster_t *cluster, const sim_event_t *ev);
/* Output of a silent worker: `len` bytes on its stdout (fd 1) or stderr
 * (fd 2), borrowed for the call, as they were read (not split in lines);
 * then once per stream data NULL and len 0 at its end. */
typedef void (*sim_output_cb)(sim_cluster_t *cluster, sim_worker_t *worker,
                              int fd, const char *data, size_t len);
typedef void (*sim_send_cb)(int status, void *arg);
typedef void (*sim_disconnect_cb)(sim_cluster_t *cluster, void *arg);

/* ---------------------------------------------------------------------- */
/* Primary side                                                            */

/* setupPrimary() settings. Every field is optional (NULL/0 = keep the
 * current value); calls are cumulative, as in Node. Strings are copied.
 * A worker runs `exec [exec_argv...] [args...]`, the layout of Node's
 * fork() (execPath, execArgv, the script and its args). */
typedef struct sim_settings_s {
  const char *exec;          /* program to run; default: this executable */
  const char *const *args;   /* NULL-terminated argv after exec_argv;
                                default: {"worker", NULL} */
  int args_set;              /* non-zero: `args` replaces the current list
                                (lets a caller set an empty list) */
  const char *const *exec_argv; /* NULL-terminated options for the program
                                before args (Node's execArgv); default:
                                none */
  int exec_argv_set;         /* as args_set, for exec_argv */
  const char *cwd;           /* default: inherit */
  const char *const *env;    /* NULL-terminated "K=V" pairs merged under
                                fork(env) (an extension: Node has none) */
  int silent;                /* 1: workers' stdout/stderr go to pipes that
                                the primary reads (output_cb); -1: back
                                to inherit */
  const char *serialization; /* "json" (the default) or "advanced": how
                                later forks' channels frame messages */
} sim_settings_t;

struct sim_cluster_s {
  /* public */
  void *data;
  sim_event_cb event_cb;
  sim_output_cb output_cb;   /* optional: silent workers' output (else
                                drained and dropped); set it before the
                                first fork */
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
 * next loop turn with the settings as merged by this call. `settings` may
 * be NULL (only the `setup` event).
 * Errors: UV_EINVAL for a cluster not initialised or closing, an unknown
 * serialization name, or (at the first setup or fork) a scheduling_policy
 * other than SIM_SCHED_NONE or SIM_SCHED_RR; UV_ENOMEM (settings merged
 * before the failure stay). */
int sim_cluster_setup(sim_cluster_t *cluster, const sim_settings_t *settings);

/* cluster.fork(env): spawns a worker with ids 1, 2, 3... (never reused),
 * NODE_UNIQUE_ID, NODE_CHANNEL_FD=3 and NODE_CHANNEL_SERIALIZATION_MODE
 * (json or advanced, from the settings) in its environment, adds it to cluster.workers and emits `setup` and
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

/* worker.send(message[, handle][, cb]). `handle` (TCP or pipe: a
 * connection or a listening socket; UDP too) is sent as net.Native with
 * SCM_RIGHTS; the caller keeps its own copy, borrowed by the library until
 * cb runs: Node's keepOpen: false is closing it then (Node closes it at the
 * peer's ACK; the peer's descriptor is its own from the write on). Returns
 * UV_EPIPE when not connected: the cb (if any) then gets UV_EPIPE on the
 * next loop turn, otherwise the worker emits `error`
 * ERR_IPC_CHANNEL_CLOSED. While a handle awaits NODE_HANDLE_ACK later
 * messages are queued, as in Node (0 is returned; cb gets the status of
 * the write when it happens).
 * Errors: UV_EPIPE as above; UV_ENOMEM (cb does not run); the error of
 * uv_write() or uv_write2() (UV_EBADF for a handle without a descriptor,
 * UV_EINVAL for a handle that cannot be sent), with which cb has already
 * run when the call returns; with serialization 'advanced' also UV_EINVAL
 * for a malformed tagged form and UV_E2BIG past the caps of docs/ipc.md
 * (cb does not run). */
int sim_worker_send(sim_worker_t *worker, const cJSON *message,
                    uv_stream_t *handle, sim_send_cb cb, void *arg);

/* Backpressure for a consumer of this worker's messages that cannot keep
 * up (an agent relaying them over a slower socket): after the message
 * being delivered, if any, no message, `online` or `listening` of this
 * worker is delivered and its channel is not read, so what it writes
 * waits in the kernel and a flooding worker is throttled by its own
 * socket instead of growing this process. Its `exit` still comes, its
 * `disconnect` not before it is resumed. Other workers are not affected.
 * Does nothing when already paused. sim_worker_resume() delivers what was
 * held, from a later loop turn, then reads on. */
void sim_worker_pause(sim_worker_t *worker);
void sim_worker_resume(sim_worker_t *worker);

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
  SIM_CHILD_EV_ERROR         /* cluster.worker 'error' (below) */
} sim_child_event_type_t;

/* SIM_CHILD_EV_ERROR comes with one of:
 * - error UV_ENOTCONN, error_code "ERR_IPC_DISCONNECTED": a disconnect
 *   started by the primary has closed its servers and would now close the
 *   channel, which is already closed (by sim_child_disconnect() or
 *   sim_child_channel_close() meanwhile, or by the primary's end). Node's
 *   process.disconnect() emits this on cluster.worker; a Node program
 *   without an 'error' listener there dies of it as of any uncaught
 *   exception (stderr, exit code 1), and a worker program that mirrors
 *   one should do the same. Delivered from inside the last server's close,
 *   once per such disconnect; nothing else follows it.
 * - the codes of docs/ipc.md "Bad input on a channel" (UV_EPROTO,
 *   UV_E2BIG, UV_ENOMEM): the primary broke the protocol; the library then
 *   treats the channel as closed by the primary. */

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
 * UV_ENOTSUP for a serialization mode other than json or advanced (unset
 * or empty is json, as in Node); UV_EINVAL for a
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
 * disconnect or kill is under way does nothing. A disconnect started by
 * the primary is not one: this call goes on by itself (with the servers
 * already closing, at once), and the primary's, ending later, meets a
 * closed channel (SIM_CHILD_EV_ERROR ERR_IPC_DISCONNECTED). */
int sim_child_disconnect(sim_child_t *child);

/* cluster.worker.kill(): the signal is ignored, as in Node. Sets
 * exitedAfterDisconnect, tells the primary, closes the channel after the
 * ack and exits 0 once disconnected: when the channel is already
 * disconnected, the process exits inside this call. Otherwise returns 0
 * (also when a kill is already under way). */
int sim_child_kill(sim_child_t *child);

/* process.disconnect(): closes the channel. The worker then exits 0 (the
 * library's `disconnect` handler) unless exitedAfterDisconnect is set;
 * when it is set by a disconnect from the primary still closing servers,
 * that disconnect ends in SIM_CHILD_EV_ERROR ERR_IPC_DISCONNECTED.
 * Errors: UV_ENOTCONN when the channel is already disconnected. */
int sim_child_channel_close(sim_child_t *child);

int sim_child_is_connected(const sim_child_t *child);
/* The channel's descriptor (Node's process.channel.fd), for a process the
 * worker starts to share it. Errors: UV_ENOTCONN once the channel is
 * disconnected; the error of uv_fileno(). */
int sim_child_channel_fd(const sim_child_t *child);
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
  const char *address;       /* NULL: Node's listen(port) without host;
                                for UDP the wildcard of the family */
  int port;                  /* 0 for an ephemeral port shared by index */
  int address_type;          /* 4 or 6; 0: derived from address (UDP:
                                udp4 unless 6) */
  const char *path;          /* a UNIX socket: listen(path), resolved to
                                an absolute path as Node does; address,
                                port and address_type are then unused */
  int readable_all;          /* UNIX socket: readableAll, writableAll */
  int writable_all;
  int backlog;               /* 0: Node's default (511) */
  int ipv6_only;
  int reuse_addr;            /* UDP: reuseAddr */
  int exclusive;             /* bind in the worker, no primary involved */
  int max_connections;       /* 0: unlimited */
} sim_listen_opts_t;

typedef void (*sim_listen_cb)(sim_server_t *server, int status);
/* A new connection: a uv_tcp_t, or a uv_pipe_t for a UNIX-socket server
 * (conn->type says which). `conn` is heap-allocated and owned by the
 * callee, who must end it with sim_server_conn_close() (never uv_close()
 * or free()). conn->data is the callee's. */
typedef void (*sim_connection_cb)(sim_server_t *server, uv_stream_t *conn);
/* A datagram on a UDP socket (sim_server_bind_udp()): `data` is borrowed
 * for the call, `from` is the sender. */
typedef void (*sim_datagram_cb)(sim_server_t *server, const char *data,
                                size_t len, const struct sockaddr *from);
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
  int port;                  /* the real port once listening; -1 for a
                                UNIX socket */
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
 * sendHelper drops it: listen_cb never runs. With `path`, a UNIX-socket
 * server: the primary binds the path (RR: listens and hands connections
 * out; SCHED_NONE: passes the bound socket), the `listening` address is
 * {addressType: -1, address: <absolute path>, port: -1}, connections are
 * uv_pipe_t, and closing the last handle on a path removes it.
 * Errors (the server is not listening and may be freed): UV_EALREADY when
 * `server` was listened on before and its close has not ended (a failed
 * listen included); UV_EINVAL for an empty path; UV_ENOMEM; the
 * uv_*_init() error for an exclusive listen. */
int sim_server_listen(sim_child_t *child, sim_server_t *server,
                      const sim_listen_opts_t *opts, sim_listen_cb listen_cb,
                      sim_connection_cb connection_cb);

/* dgram socket.bind() in a worker: through the primary, which always
 * shares one bound UDP socket between the workers that bind the same
 * address, port and family (whatever the scheduling policy, as in Node),
 * unless `exclusive`. Everything else is as for sim_server_listen():
 * listen_cb, `listening` reported to the primary (addressType "udp4" or
 * "udp6"), closed by a cluster disconnect; datagrams reach datagram_cb.
 * Errors: those of sim_server_listen(); UV_EINVAL for a `path`. */
int sim_server_bind_udp(sim_child_t *child, sim_server_t *server,
                        const sim_listen_opts_t *opts,
                        sim_listen_cb listen_cb, sim_datagram_cb datagram_cb);

/* socket.send() on a UDP socket of sim_server_bind_udp(): one datagram to
 * `to`, copied (fire and forget). Errors: UV_EBADF when the server is not
 * a bound UDP socket (or is closing); UV_EMSGSIZE past 64 KiB; the error
 * of uv_udp_send(); UV_ENOMEM. */
int sim_server_send_udp(sim_server_t *server, const void *data, size_t len,
                        const struct sockaddr *to);

/* server.listen(handle) in a worker, on a listening socket received with a
 * message (a server sent by worker.send(msg, server)): as in Node, an
 * exclusive listen (no primary involved, no `listening` in the primary,
 * not closed by a disconnect). The server owns `handle` from this call on
 * (on error too: it is closed and freed). listen_cb runs on a later loop
 * turn with the listen's status.
 * Errors: UV_EALREADY as for sim_server_listen(); UV_EINVAL for a handle
 * that is not a TCP or UNIX stream; UV_ENOMEM. */
int sim_server_listen_handle(sim_child_t *child, sim_server_t *server,
                             uv_stream_t *handle, sim_listen_cb listen_cb,
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
void sim_server_conn_close(sim_server_t *server, uv_stream_t *conn);

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

/* ====================================================================== */
/* V8 value serialization: Node's `serialization: 'advanced'`             */
/*
 * The channel of a cluster set up with serialization "advanced" uses it;
 * it also stands alone (tests/fuzz builds it without the rest of sim/).
 *
 * Node's advanced IPC mode (lib/internal/child_process/serialization.js)
 * sends each message as a 4-byte big-endian payload length, then the
 * payload: V8's ValueSerializer format (src/objects/value-serializer.cc),
 * a header `FF 0F` (version 15) and one value, written by a
 * v8.DefaultSerializer subclass that writes every ArrayBufferView (typed
 * arrays, DataView, Buffer) as a host object: tag `\`, varint 0, varint
 * Node's view type index (sim_view_kind_t), varint byte length, the bytes.
 *
 * The value model (sim_value_t) records what the bytes record, including
 * the choices V8 makes from its heap representation: an int32 (Smi) or a
 * double, a one-byte (Latin-1) or two-byte (UTF-16) string, a dense or a
 * sparse array. So decode + encode reproduces Node's bytes exactly, and a
 * value built by hand encodes exactly as Node would encode the JS value
 * whose representation it describes. sim_value_from_json() makes the
 * choices JSON.parse() makes.
 *
 * Ownership: every value belongs to a sim_heap_t and lives until
 * sim_heap_free(); values point at each other freely (shared values,
 * cycles), but only within one heap. Pointers to values are borrowed.
 * Objects (everything from SIM_VALUE_OBJECT on) have an identity: a value
 * reached twice is written once, then as a back-reference, as V8 does.
 *
 * Caps (docs/ipc.md): nesting depth SIM_V8_MAX_DEPTH on encode and decode;
 * a heap holds at most its limit (default SIM_V8_MAX_HEAP) of allocations;
 * a frame's payload is at most SIM_MAX_MESSAGE bytes both ways.
 */

#define SIM_V8_VERSION   15
#define SIM_V8_MAX_DEPTH 1000
#define SIM_V8_MAX_HEAP  (64u * 1024u * 1024u)

typedef enum {
  SIM_VALUE_UNDEFINED = 0,
  SIM_VALUE_NULL,
  SIM_VALUE_BOOLEAN,
  SIM_VALUE_INT32,           /* a Smi: tag 'I' */
  SIM_VALUE_DOUBLE,          /* a heap number: tag 'N' */
  SIM_VALUE_BIGINT,
  SIM_VALUE_STRING,
  SIM_VALUE_HOLE,            /* a missing element inside a dense array */
  /* Objects, with identity. */
  SIM_VALUE_OBJECT,
  SIM_VALUE_ARRAY,           /* dense: tag 'A' */
  SIM_VALUE_SPARSE_ARRAY,    /* tag 'a' */
  SIM_VALUE_DATE,
  SIM_VALUE_REGEXP,
  SIM_VALUE_MAP,
  SIM_VALUE_SET,
  SIM_VALUE_ARRAY_BUFFER,
  SIM_VALUE_VIEW,            /* typed array, DataView or Buffer */
  SIM_VALUE_BOXED,           /* new Boolean/Number/BigInt/String(...) */
  SIM_VALUE_ERROR,
  SIM_VALUE_KIND_MAX
} sim_value_kind_t;

/* Node's index of each ArrayBufferView type (lib/v8.js), as on the wire. */
typedef enum {
  SIM_VIEW_INT8 = 0,
  SIM_VIEW_UINT8,
  SIM_VIEW_UINT8_CLAMPED,
  SIM_VIEW_INT16,
  SIM_VIEW_UINT16,
  SIM_VIEW_INT32,
  SIM_VIEW_UINT32,
  SIM_VIEW_FLOAT32,
  SIM_VIEW_FLOAT64,
  SIM_VIEW_DATAVIEW,
  SIM_VIEW_BUFFER,           /* Node's Buffer (FastBuffer) */
  SIM_VIEW_BIGINT64,
  SIM_VIEW_BIGUINT64,
  SIM_VIEW_MAX
} sim_view_kind_t;

/* Error prototypes V8 records; any other name reads back as Error. */
typedef enum {
  SIM_ERROR_ERROR = 0,
  SIM_ERROR_EVAL = 'E',
  SIM_ERROR_RANGE = 'R',
  SIM_ERROR_REFERENCE = 'F',
  SIM_ERROR_SYNTAX = 'S',
  SIM_ERROR_TYPE = 'T',
  SIM_ERROR_URI = 'U'
} sim_error_proto_t;

/* JSRegExp::Flags bits (flags on the wire). */
#define SIM_REGEXP_GLOBAL       (1u << 0)   /* g */
#define SIM_REGEXP_IGNORE_CASE  (1u << 1)   /* i */
#define SIM_REGEXP_MULTILINE    (1u << 2)   /* m */
#define SIM_REGEXP_STICKY       (1u << 3)   /* y */
#define SIM_REGEXP_UNICODE      (1u << 4)   /* u */
#define SIM_REGEXP_DOT_ALL      (1u << 5)   /* s */
#define SIM_REGEXP_LINEAR       (1u << 6)   /* l: refused, as Node does */
#define SIM_REGEXP_HAS_INDICES  (1u << 7)   /* d */
#define SIM_REGEXP_UNICODE_SETS (1u << 8)   /* v */

typedef struct sim_heap_s sim_heap_t;
typedef struct sim_value_s sim_value_t;

/* A property of an object or array, or a Map entry. Property keys are
 * INT32, DOUBLE or STRING values, in the order they are written; V8
 * writes array indices first, ascending, as numbers. */
typedef struct {
  sim_value_t *key;
  sim_value_t *value;
} sim_prop_t;

typedef struct {
  uint32_t count;
  uint32_t cap;              /* private */
  sim_prop_t *at;
} sim_props_t;

typedef struct {
  uint32_t count;
  uint32_t cap;              /* private */
  sim_value_t **at;
} sim_list_t;

/* Every field is read-only: build and change values with the functions
 * below, which keep the heap's accounting. */
struct sim_value_s {
  sim_value_kind_t kind;
  union {
    int boolean;             /* BOOLEAN: 0 or 1 */
    int32_t int32;           /* INT32 */
    double number;           /* DOUBLE; DATE: ms since the epoch */
    struct {                 /* BIGINT: magnitude, least significant
                                digit first, no leading zero digit */
      int negative;          /* never set for zero */
      uint32_t ndigits;
      uint64_t *digits;
    } bigint;
    struct {                 /* STRING */
      int two_byte;          /* 1: UTF-16 code units in utf16 */
      uint32_t length;       /* in code units */
      uint8_t *latin1;       /* one-byte */
      uint16_t *utf16;       /* two-byte */
    } string;
    sim_props_t object;      /* OBJECT */
    struct {                 /* ARRAY */
      sim_list_t elements;   /* may hold HOLE values */
      sim_props_t props;     /* properties other than the elements */
    } array;
    struct {                 /* SPARSE_ARRAY */
      uint32_t length;
      sim_props_t props;     /* elements and other properties */
    } sparse;
    struct {                 /* REGEXP */
      sim_value_t *source;   /* a STRING */
      uint32_t flags;        /* SIM_REGEXP_* */
    } regexp;
    sim_props_t map;         /* MAP: entries in insertion order */
    sim_list_t set;          /* SET */
    struct {                 /* ARRAY_BUFFER, VIEW */
      uint32_t length;       /* in bytes */
      uint8_t *data;
      sim_view_kind_t view;  /* VIEW */
      int resizable;         /* ARRAY_BUFFER: written with tag '~' */
      uint32_t max_length;   /* ARRAY_BUFFER, when resizable */
    } bytes;
    sim_value_t *boxed;      /* BOXED: BOOLEAN, INT32/DOUBLE (always
                                written as a double), BIGINT or STRING */
    struct {                 /* ERROR */
      sim_error_proto_t proto;
      sim_value_t *message;  /* a STRING or NULL */
      sim_value_t *stack;    /* a STRING or NULL */
      sim_value_t *cause;    /* NULL when there is no `cause` */
    } error;
  } u;
  /* private */
  sim_value_t *heap_next;
};

/* A heap with room for `limit` bytes of values (0: SIM_V8_MAX_HEAP).
 * NULL when out of memory. */
sim_heap_t *sim_heap_new(size_t limit);
/* Frees the heap and every value in it. NULL is a no-op. */
void sim_heap_free(sim_heap_t *heap);
/* Bytes currently accounted to the heap. */
size_t sim_heap_used(const sim_heap_t *heap);

/* Constructors: NULL when the heap is over its limit or memory runs out
 * (or, where stated, on invalid input). Byte and string arguments are
 * copied. sim_value_new() makes an empty value of any kind (false, 0,
 * "", an empty object, array, Map or Set...); undefined, null, the hole
 * and the booleans are shared per heap and never NULL. */
sim_value_t *sim_value_new(sim_heap_t *heap, sim_value_kind_t kind);
sim_value_t *sim_value_new_boolean(sim_heap_t *heap, int b);
sim_value_t *sim_value_new_int32(sim_heap_t *heap, int32_t i);
sim_value_t *sim_value_new_double(sim_heap_t *heap, double d);
/* V8's Factory::NewNumber(): INT32 when `d` is an integer in int32 range
 * and not -0, else DOUBLE. */
sim_value_t *sim_value_new_number(sim_heap_t *heap, double d);
/* `digits` least significant first; leading zeros are dropped. */
sim_value_t *sim_value_new_bigint(sim_heap_t *heap, int negative,
                                  const uint64_t *digits, uint32_t ndigits);
/* An optional '-' and decimal digits; NULL if malformed. */
sim_value_t *sim_value_new_bigint_str(sim_heap_t *heap, const char *dec);
/* UTF-8 (n bytes) as V8's NewStringFromUtf8 stores it: one-byte when every
 * character is below U+0100, else two-byte. NULL on invalid UTF-8. */
sim_value_t *sim_value_new_string(sim_heap_t *heap, const char *utf8,
                                  size_t n);
sim_value_t *sim_value_new_latin1(sim_heap_t *heap, const uint8_t *s,
                                  uint32_t n);
sim_value_t *sim_value_new_utf16(sim_heap_t *heap, const uint16_t *s,
                                 uint32_t n);
sim_value_t *sim_value_new_sparse(sim_heap_t *heap, uint32_t length);
/* `ms` as a JS Date holds it (TimeClip: NaN out of range, truncated). */
sim_value_t *sim_value_new_date(sim_heap_t *heap, double ms);
/* `source` must be a STRING of the same heap. */
sim_value_t *sim_value_new_regexp(sim_heap_t *heap, sim_value_t *source,
                                  uint32_t flags);
/* ARRAY_BUFFER of n bytes; `data` NULL for zeros. */
sim_value_t *sim_value_new_buffer(sim_heap_t *heap, const void *data,
                                  uint32_t n);
/* A typed array, DataView or Buffer over its own copy of n bytes. */
sim_value_t *sim_value_new_view(sim_heap_t *heap, sim_view_kind_t view,
                                const void *data, uint32_t n);
sim_value_t *sim_value_new_boxed(sim_heap_t *heap, sim_value_t *inner);
sim_value_t *sim_value_new_error(sim_heap_t *heap, sim_error_proto_t proto,
                                 sim_value_t *message, sim_value_t *stack);

/* Appends a property to an OBJECT, ARRAY (non-element property) or
 * SPARSE_ARRAY, or an entry to a MAP. No check for duplicates: the caller
 * decides the order, as V8's property order decides it.
 * Errors: UV_EINVAL for a target of another kind, a NULL argument or
 * (put, outside a MAP) a key that is not a string or a number,
 * UV_E2BIG at 2^32 - 1 members, UV_ENOMEM (the heap's limit included). */
int sim_value_put(sim_heap_t *heap, sim_value_t *target, sim_value_t *key,
                  sim_value_t *value);
/* sim_value_put() with a string key; its errors. */
int sim_value_put_str(sim_heap_t *heap, sim_value_t *target,
                      const char *key, sim_value_t *value);
/* Appends an element to an ARRAY or a member to a SET.
 * Errors: UV_EINVAL for a target of another kind or a NULL argument,
 * UV_E2BIG at 2^32 - 1 members, UV_ENOMEM (the heap's limit included). */
int sim_value_push(sim_heap_t *heap, sim_value_t *target,
                   sim_value_t *value);
/* Sets `cause` on an ERROR. UV_EINVAL for anything else. */
int sim_value_set_cause(sim_value_t *error, sim_value_t *cause);
/* Changes a resizable ArrayBuffer's maxByteLength (>= length).
 * UV_EINVAL for another kind or a max below the length. */
int sim_value_set_resizable(sim_value_t *buffer, uint32_t max_length);

/* 1 for the kinds with identity (OBJECT and after). */
int sim_value_is_object(const sim_value_t *value);
const char *sim_value_kind_name(sim_value_kind_t kind);
/* "Int8Array" ... "Buffer"; NULL when out of range. */
const char *sim_view_kind_name(sim_view_kind_t view);

/* A growable byte buffer. Owned by the caller: init, use, free. */
typedef struct {
  uint8_t *base;
  size_t len;
  size_t cap;
} sim_buf_t;

void sim_buf_init(sim_buf_t *buf);
/* Room for `more` bytes after len. UV_ENOMEM. */
int sim_buf_reserve(sim_buf_t *buf, size_t more);
/* Appends n bytes. UV_ENOMEM (the buffer is unchanged). */
int sim_buf_append(sim_buf_t *buf, const void *data, size_t n);
void sim_buf_free(sim_buf_t *buf);

/* What went wrong, for errors and traces: `reason` is a static string,
 * `offset` the byte offset in the input (decode) or output (encode). */
typedef struct {
  int code;
  size_t offset;
  const char *reason;
} sim_v8_error_t;

/* Appends the header and `value` to `out`, as Node's serializer writes
 * them. UV_EINVAL for a value the model cannot hold (a HOLE outside a
 * dense array, a key that is not a string or number, ...), UV_E2BIG past
 * SIM_V8_MAX_DEPTH, UV_ENOMEM. On error `out` keeps its old length. `err`
 * may be NULL. */
int sim_v8_encode(const sim_value_t *value, sim_buf_t *out,
                  sim_v8_error_t *err);
/* sim_v8_encode() behind the 4-byte big-endian length: one message as
 * Node's writeChannelMessage() writes it. UV_E2BIG when the payload would
 * exceed SIM_MAX_MESSAGE. */
int sim_v8_encode_frame(const sim_value_t *value, sim_buf_t *out,
                        sim_v8_error_t *err);

/* Reads a header and one value from [data, data+len) into `heap`, as
 * Node's deserializer reads them: versions 13 to 15, padding anywhere a
 * tag may be, bytes after the value ignored. On success *ret is the value.
 * Errors (reason in `err`): UV_EPROTO for malformed input (bad version,
 * unknown tag, truncation, a length past the end, a bad back-reference, a
 * duplicate key, ...), UV_ENOTSUP for V8 features Node's channel cannot
 * read either (SharedArrayBuffer, transfers, WebAssembly, V8's own
 * ArrayBufferView form), UV_E2BIG past SIM_V8_MAX_DEPTH or the heap's
 * limit, UV_ENOMEM. The heap may hold partial values after an error. */
int sim_v8_decode(sim_heap_t *heap, const uint8_t *data, size_t len,
                  sim_value_t **ret, sim_v8_error_t *err);
/* One frame at the start of [data, data+len): UV_EAGAIN while incomplete
 * (read more and call again), UV_E2BIG as soon as the length prefix
 * announces more than SIM_MAX_MESSAGE, else sim_v8_decode() of the payload;
 * *consumed is the frame's size (prefix included) whenever the frame is
 * complete, even if its payload is malformed. */
int sim_v8_decode_frame(sim_heap_t *heap, const uint8_t *data, size_t len,
                        sim_value_t **ret, size_t *consumed,
                        sim_v8_error_t *err);

/* The JSON form for traces (docs/ipc.md): plain JSON where JSON holds the
 * value exactly, {"$v8": type, ...} where it does not. Lossless:
 * sim_value_from_json() of it encodes to the same bytes. Caller owns the
 * result (cJSON_Delete); NULL when out of memory. */
cJSON *sim_value_to_json(const sim_value_t *value);
/* A JSON value (plain, as JSON.parse() would make it, or the tagged form)
 * into `heap`. UV_EINVAL for a malformed tagged form, UV_E2BIG, UV_ENOMEM.
 */
int sim_value_from_json(sim_heap_t *heap, const cJSON *json,
                        sim_value_t **ret);

#endif /* SIM_H */
