/*
 * sim-internal.h - private declarations shared by the files of sim/.
 *
 * Names with a double underscore are library-private; nothing outside sim/
 * may include this header.
 */
#ifndef SIM_INTERNAL_H
#define SIM_INTERNAL_H

#include <stddef.h>
#include "sim.h"

/* ---------------------------------------------------------------------- */
/* Deferred calls: Node's process.nextTick, on the loop.                   */

typedef void (*sim__tick_fn)(void *arg);

typedef struct sim__tick_item_s {
  sim__tick_fn fn;
  void *arg;
  struct sim__tick_item_s *next;
} sim__tick_item_t;

/* Work for the end of a loop turn (the prepare phase, right before the
 * loop polls): embedded in its owner, queued at most once. */
typedef struct sim__late_s sim__late_t;
struct sim__late_s {
  void (*fn)(sim__late_t *late);
  sim__late_t *next;
  sim__late_t **pprev;       /* NULL: not queued */
};

typedef struct {
  uv_idle_t idle;
  uv_prepare_t prepare;
  sim__tick_item_t *head;
  sim__tick_item_t **tail;
  sim__late_t *late;
  unsigned turn;             /* counts loop turns (prepare phases) */
  int closing;
  int closes;                /* handles still closing */
  void (*close_cb)(void *arg);
  void *close_arg;
} sim__tick_t;

int sim__tick_init(uv_loop_t *loop, sim__tick_t *tick);
/* Queue fn(arg) to run before the loop next blocks. UV_ENOMEM on OOM. */
int sim__tick_defer(sim__tick_t *tick, sim__tick_fn fn, void *arg);
/* Queue late->fn(late) for the end of this loop turn (once, however often
 * it is queued). UV_ECANCELED once the tick is closing: the caller does
 * the work at once instead. */
int sim__tick_late(sim__tick_t *tick, sim__late_t *late);
void sim__tick_late_cancel(sim__late_t *late);
/* Drop pending calls and close both handles; cb(arg) (optional) runs when
 * they are closed. */
void sim__tick_close(sim__tick_t *tick, void (*cb)(void *arg), void *arg);

/* ---------------------------------------------------------------------- */
/* Growable byte buffers and JSON output (sim-json.c).                     */

typedef struct {
  char *data;
  size_t len;
  size_t cap;
} sim__buf_t;

/* Room for `n` more bytes. UV_ENOMEM. */
int sim__buf_reserve(sim__buf_t *b, size_t n);
int sim__buf_append(sim__buf_t *b, const char *s, size_t n);
void sim__buf_free(sim__buf_t *b);
/* Appends the bytes cJSON_PrintUnformatted() gives for `v`; on failure
 * (UV_EINVAL for an invalid value, UV_ENOMEM) appends nothing. */
int sim__json_print(sim__buf_t *b, const cJSON *v);

/* ---------------------------------------------------------------------- */
/* V8 value serialization (sim-value.c, sim-v8-*.c).                       */

/* A map from object values to numbers (wire ids, reference counts). */
typedef struct {
  const sim_value_t **keys;
  uint32_t *vals;
  size_t count;
  size_t cap;
} sim__vmap_t;

/* Returns the slot of `key`, inserting it with value 0 when new (*isnew
 * set to 1); NULL when out of memory. */
uint32_t *sim__vmap_get(sim__vmap_t *m, const sim_value_t *key, int *isnew);
void sim__vmap_free(sim__vmap_t *m);

/* Heap accounting: allocations that values own. NULL past the limit or
 * out of memory; *over set to 1 when it was the limit. */
void *sim__heap_alloc(sim_heap_t *heap, size_t n, int *over);
int sim__heap_over(const sim_heap_t *heap);
/* Room for n elements in an ARRAY. */
int sim__value_reserve(sim_heap_t *heap, sim_value_t *target, uint32_t n);
/* UTF-8 to a string value; `lenient`: each invalid sequence becomes
 * U+FFFD (V8's NewStringFromUtf8) instead of failing. */
sim_value_t *sim__string_from_utf8(sim_heap_t *heap, const char *utf8,
                                   size_t n, int lenient);

/* ECMAScript Number::toString(d) into buf (>= 32 bytes). */
void sim__number_str(double d, char *buf);
/* A property key's canonical form: 1 and *index set when it is an array
 * index (0 .. 2^32-2), as JS would see the key. */
int sim__key_index(const sim_value_t *key, uint32_t *index);
/* 1 when two keys name the same property. */
int sim__key_equal(const sim_value_t *a, const sim_value_t *b);
uint32_t sim__key_hash(const sim_value_t *key);

/* Keys among at[0..]: adds at[i].key and returns -1, or returns the index
 * of an equal key already added, or UV_ENOMEM. */
typedef struct {
  uint32_t *slot;            /* index + 1; 0 is free */
  uint32_t cap;
  uint32_t count;
} sim__keyset_t;

int64_t sim__keyset_add(sim__keyset_t *ks, const sim_prop_t *at,
                        uint32_t i);
void sim__keyset_free(sim__keyset_t *ks);

/* ---------------------------------------------------------------------- */
/* The IPC channel: Node's child_process channel, both serializations.     */

/* Bounds on descriptors from a peer (docs/ipc.md): a conforming peer sends
 * one fd with each NODE_HANDLE message, in the write that carries the
 * message, and no other until it is acknowledged. */
#define SIM__MAX_FDS_PER_MESSAGE 1
#define SIM__MAX_FDS_WAITING 1

typedef struct sim__channel_s sim__channel_t;

/* A cluster message whose `ack` matches a message we sent with a reply
 * callback. `msg` is borrowed; `handle` (rare: a listen reply's TCP, UNIX
 * or UDP socket) is owned by the callee, of any type a NODE_HANDLE may
 * carry. When the channel closes first, the callback runs once with msg
 * NULL. */
typedef void (*sim__ack_fn)(sim__channel_t *ch, const cJSON *msg,
                            uv_handle_t *handle, void *arg);

/* Messages reach these callbacks as cJSON in both serializations: in
 * 'advanced' mode a user message is its JSON form (sim_value_to_json()),
 * an internal one the JSON a Node peer would have sent in 'json' mode
 * (its `undefined` members left out). */
typedef struct {
  /* A user message (not internal). `handle` (a TCP or UNIX socket, never
   * UDP: the public API takes streams) owned by the callee. */
  void (*message)(sim__channel_t *ch, const cJSON *msg, uv_stream_t *handle);
  /* A NODE_CLUSTER message with no matching ack callback. `handle`, of
   * any type a NODE_HANDLE may carry, owned by the callee. */
  void (*internal)(sim__channel_t *ch, const cJSON *msg, uv_handle_t *handle);
  /* Node's 'disconnect' on the ChildProcess/process object. */
  void (*disconnect)(sim__channel_t *ch);
  /* Malformed input from the peer; reading has stopped. `text` is valid
   * for the call. */
  void (*error)(sim__channel_t *ch, int err, const char *code,
                const char *text);
  /* The pipe handle is closed; the channel memory may be released. */
  void (*closed)(sim__channel_t *ch);
} sim__channel_ops_t;

typedef struct sim__send_s sim__send_t;
typedef struct sim__ack_s sim__ack_t;
typedef struct sim__rx_s sim__rx_t;

/* Send callbacks waiting for their bytes to be written, or written and
 * waiting to run (with their status). Most sends have none. */
typedef struct {
  struct sim__sent_s *v;
  unsigned n;
  unsigned cap;
} sim__sents_t;

struct sim__channel_s {
  uv_pipe_t pipe;
  void *data;
  const sim__channel_ops_t *ops;
  sim__tick_t *tick;
  unsigned *seq;             /* the process's NODE_CLUSTER counter */

  /* Reading: complete messages are decoded where they were read (a chunk
   * shared by every channel of the process); only the unfinished end of
   * a chunk is kept here, and the next read completes it in place. While
   * paused, the messages of the last chunk not yet delivered wait here
   * too. */
  sim__buf_t in;

  /* Writing: messages sent during a loop turn are coalesced here and
   * leave in one write at the end of the turn (the first one of a turn
   * leaves at once, as Node writes it). */
  sim__buf_t out;
  sim__sents_t out_cbs;      /* callbacks of the messages in `out` */
  sim__sents_t done;         /* written; run on the next tick */
  sim__late_t late;          /* end-of-turn flush */

  unsigned connected : 1;    /* Node's target.connected */
  unsigned open : 1;         /* Node's target.channel != null */
  unsigned pipe_closing : 1;
  unsigned failed : 1;       /* malformed input seen */
  unsigned queue_active : 1; /* Node's _handleQueue != null */
  unsigned done_queued : 1;
  unsigned advanced : 1;     /* serialization 'advanced' (else 'json') */
  unsigned reading : 1;      /* uv_read_start() in effect */
  unsigned paused : 1;       /* sim__channel_pause() */
  unsigned resume_queued : 1;
  unsigned wrote_turn;       /* tick->turn of the last immediate write */

  sim__send_t *queue;        /* sends held back until NODE_HANDLE_ACK */
  sim__send_t **queue_tail;
  sim__ack_t *acks;          /* reply callbacks by seq */
  sim__rx_t *rx;             /* received fds not yet claimed */
  sim__rx_t **rx_tail;
  unsigned nrx;
};

/* `tick` and `seq` must outlive the channel. The channel speaks 'json'
 * until sim__channel_set_advanced(). */
int sim__channel_init(uv_loop_t *loop, sim__channel_t *ch,
                      const sim__channel_ops_t *ops, sim__tick_t *tick,
                      unsigned *seq);
/* Serialization 'advanced' (V8 frames); before sim__channel_start(). */
void sim__channel_set_advanced(sim__channel_t *ch);
/* Worker side: adopt an inherited fd. */
int sim__channel_open(sim__channel_t *ch, int fd);
/* Start reading (after spawn on the primary side, after open on the
 * worker side); marks the channel connected. */
int sim__channel_start(sim__channel_t *ch);
/* target.send(): a JSON value ('advanced': its JSON form, tagged where
 * JSON cannot hold it); NODE_HANDLE wrapping when `handle`. UV_EINVAL for
 * a message that cannot be written (a malformed tagged form), UV_E2BIG for
 * one past the caps of docs/ipc.md, UV_ENOMEM, UV_EPIPE. */
int sim__channel_send(sim__channel_t *ch, const cJSON *msg,
                      uv_stream_t *handle, sim_send_cb cb, void *arg);
/* sendHelper(): {cmd:'NODE_CLUSTER', ...fields, seq}. Takes ownership of
 * `fields`; a field whose value is sim__json_undefined() is Node's
 * `undefined` member: left out in 'json', written in 'advanced'. `fn`
 * (optional) runs on the reply whose ack is this seq. Silently dropped
 * (returns UV_EPIPE) when not connected, as in Node. */
int sim__channel_send_cluster(sim__channel_t *ch, cJSON *fields,
                              uv_stream_t *handle, sim__ack_fn fn, void *arg);
/* target.disconnect(): postponed while a handle awaits its ACK. */
void sim__channel_disconnect(sim__channel_t *ch);
/* Close the pipe without protocol (ops->closed runs when done). Pending
 * reply callbacks are dropped. */
void sim__channel_close(sim__channel_t *ch);
int sim__channel_has_pending_handle(const sim__channel_t *ch);
/* Backpressure: stop delivering messages after the one being delivered
 * (if any) and stop reading, so that the peer's writes wait in the kernel;
 * resume delivers what was held from a later loop turn, then reads on. */
void sim__channel_pause(sim__channel_t *ch);
void sim__channel_resume(sim__channel_t *ch);

/* {"$v8":"undefined"}, the JSON form of `undefined`, for a NODE_CLUSTER
 * field (NULL when out of memory); and the test for it. */
cJSON *sim__json_undefined(void);
int sim__json_is_undefined(const cJSON *v);

/* ---------------------------------------------------------------------- */
/* Primary-side server handles (RoundRobinHandle / SharedHandle).          */

typedef struct sim__handle_s sim__handle_t;

/* Reply to a worker's queryServer: errno (0/UV_E*), extra fields (owned by
 * the callee, may be NULL), and the handle to pass (or NULL). */
typedef void (*sim__reply_fn)(sim_worker_t *worker, int err, int err_null,
                              cJSON *extra, uv_stream_t *handle, void *arg);

/* A queryServer as primary.js reads it. */
typedef struct {
  const char *address;       /* NULL for null; for a UNIX socket the path
                                to bind (shortened as primary.js does) */
  int port;
  int address_type;          /* 4, 6, or -1 for a UNIX socket */
  int udp;                   /* 4 or 6 for addressType "udp4"/"udp6" */
  int flags;
  int backlog;
  int fd;                    /* -1: undefined */
  int readable_all;          /* UNIX socket modes (RR listens only) */
  int writable_all;
} sim__query_t;

struct sim__handle_s {
  char *key;
  cJSON *data;               /* handle.data */
  sim_cluster_t *cluster;
  int round_robin;
  int (*add)(sim__handle_t *h, sim_worker_t *w, sim__reply_fn reply,
             void *arg);
  int (*remove)(sim__handle_t *h, sim_worker_t *w); /* 1: last one gone */
  void (*destroy)(sim__handle_t *h);                /* after remove()==1 */
  sim__handle_t *next;
};

int sim__rr_new(sim_cluster_t *c, const char *key, const sim__query_t *q,
                sim__handle_t **ret);
int sim__shared_new(sim_cluster_t *c, const char *key, const sim__query_t *q,
                    sim__handle_t **ret);

/* sim-net.c (net.js). Resolve Node's listen address: NULL means "::"
 * with a fallback to "0.0.0.0" when IPv6 is not available. */
int sim__tcp_bind(uv_tcp_t *tcp, const char *address, int address_type,
                  int port, int flags);
/* {address, family, port} as Node's getsockname() gives it. */
cJSON *sim__tcp_sockname(uv_tcp_t *tcp);
/* uv_pipe_bind(), then the modes of readableAll/writableAll. */
int sim__pipe_bind(uv_pipe_t *pipe, const char *path, int readable_all,
                   int writable_all);
/* path.resolve(path) and path.relative(process.cwd(), path), lexically as
 * Node's path module computes them. Malloc'ed; NULL when out of memory
 * (or without a cwd). */
char *sim__path_resolve(const char *path);
char *sim__path_relative(const char *path);

/* sim-dgram.c (dgram.js). dgram._createSocketHandle(): a UDP socket of
 * family `udp` (4 or 6) bound to address (NULL: "0.0.0.0" or "::") and
 * port, with Node's flags (UV_UDP_IPV6ONLY 1, UV_UDP_REUSEADDR 4). */
int sim__udp_bind(uv_udp_t *udp, const char *address, int family, int port,
                  int flags);
/* The port a UDP socket is bound to, 0 if unknown. */
int sim__udp_port(const uv_udp_t *udp);

/* Cluster internals used by the handle files. */
sim__channel_t *sim__worker_channel(sim_worker_t *w);
int sim__worker_send_cluster(sim_worker_t *w, cJSON *fields,
                             uv_stream_t *handle, sim__ack_fn fn, void *arg);
uv_loop_t *sim__cluster_loop(sim_cluster_t *c);
/* The cluster's tick: it outlives every handle of the cluster. */
sim__tick_t *sim__cluster_tick(sim_cluster_t *c);
/* Connections whose newconn reply never came (worker died): kept open as
 * in Node, closed at sim_cluster_close(). */
void sim__cluster_orphan(sim_cluster_t *c, uv_stream_t *conn);
void sim__cluster_close_ref(sim_cluster_t *c);
void sim__cluster_close_unref(sim_cluster_t *c);

/* ---------------------------------------------------------------------- */
/* Worker-side internals shared by sim-child.c and sim-server.c.           */

int sim__child_query(sim_child_t *child, sim_server_t *server,
                     cJSON *query);
void sim__child_server_gone(sim_child_t *child, sim_server_t *server);
int sim__child_send_cluster(sim_child_t *child, cJSON *fields);
int sim__child_connected(const sim_child_t *child);
void sim__child_set_listening(sim_child_t *child);
/* Called by sim-child.c. */
/* `handle`: the shared listener (TCP, UNIX or UDP socket) or NULL; owned
 * by the callee. */
void sim__server_on_reply(sim_server_t *server, const cJSON *reply,
                          uv_handle_t *handle);
void sim__server_on_connection(sim_server_t *server, uv_stream_t *conn);
/* 1 when the server takes `conn` now: open, of the server's type (TCP or
 * UNIX socket), under maxConnections. */
int sim__server_accepts(const sim_server_t *server, const uv_stream_t *conn);
/* Called by sim-dgram.c: a datagram for a UDP server. */
void sim__server_on_datagram(sim_server_t *server, const char *data,
                             size_t len, const struct sockaddr *from);
/* sim-dgram.c: receive into server's datagram callback; send a copy. */
int sim__udp_start(sim_server_t *server, uv_udp_t *udp);
int sim__udp_send(uv_udp_t *udp, const void *data, size_t len,
                  const struct sockaddr *to);
const char *sim__server_key(const sim_server_t *server);
/* Close for a disconnect: like sim_server_close(), then cb(arg). */
int sim__server_close_for_disconnect(sim_server_t *server,
                                     void (*cb)(void *arg), void *arg);

/* ---------------------------------------------------------------------- */
/* Utilities.                                                              */

/* 1 if the JSON value is an object whose string `cmd` is longer than 5
 * characters and starts with "NODE_" (Node's isInternal). */
int sim__is_internal(const cJSON *msg);
/* 1 if [s, s+n) is valid UTF-8 (no overlongs, no surrogates). */
int sim__utf8_valid(const char *s, size_t n);
/* Malloc'ed copy of a NULL-terminated string vector; NULL in, NULL out. */
char **sim__strv_dup(const char *const *v);
void sim__strv_free(char **v);
/* Malloc'ed environment: base, then each overlay in turn, later keys
 * replacing earlier ones. */
char **sim__env_merge(char *const *base, const char *const *a,
                      const char *const *b, const char *const *c);
char *sim__strdup(const char *s);
/* uv_close() callback for a handle that was malloc'ed on its own. */
void sim__close_free(uv_handle_t *h);
uint64_t sim__now(void);

#endif /* SIM_INTERNAL_H */
