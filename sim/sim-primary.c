/*
 * sim-primary.c - the cluster object and Worker objects of a primary.
 *
 * Mirrors lib/internal/cluster/primary.js of Node v20: the same settings
 * merge, id counter, cluster.workers membership rules, event order and
 * exitedAfterDisconnect normalisation. Bad input from a worker is the one
 * place where we do not follow Node (whose primary throws): the worker gets
 * an `error` event, its channel is closed and it is SIGKILLed
 * (docs/ipc.md).
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "sim-internal.h"

extern char **environ;

enum { W_NONE, W_ONLINE, W_LISTENING, W_DISCONNECTED, W_DEAD };
static const char *const state_names[] = {
  "none", "online", "listening", "disconnected", "dead"
};

typedef struct dcb_s {
  sim_disconnect_cb cb;
  void *arg;
  struct dcb_s *next;
} dcb_t;

typedef struct orphan_s {
  uv_stream_t *conn;
  struct orphan_s *next;
} orphan_t;

/* The settings one setupPrimary() call left, for its `setup` event. */
typedef struct snap_s {
  sim_cluster_t *cluster;
  sim_settings_t view;       /* points into the copies below */
  char *exec;
  char **args;
  char **exec_argv;
  char *cwd;
  struct snap_s *next;
} snap_t;

struct sim__cluster_priv {
  char *exec;
  char **args;
  char **exec_argv;          /* between the program and args */
  snap_t *snaps;             /* `setup` events not yet emitted */
  char *cwd;
  char **env;
  int silent;
  int advanced;              /* serialization 'advanced' */
  int initialized;
  unsigned ids;
  unsigned seq;
  sim_worker_t *all;         /* every worker ever forked, by id */
  sim_worker_t **all_tail;
  sim_worker_t **by_id;      /* the same, indexed: ids are dense */
  unsigned by_id_cap;
  unsigned members;
  sim__handle_t *handles;
  dcb_t *dcbs;               /* intercom.once('disconnect') listeners */
  orphan_t *orphans;
  sim__tick_t tick;
  int closing;
  unsigned close_refs;
  void (*close_cb)(sim_cluster_t *c);
};

struct sim_worker_s {
  sim_cluster_t *cluster;
  unsigned id;
  int pid;
  int state;
  int ead;                   /* -1 undefined, 0, 1 */
  unsigned member : 1;
  unsigned spawned : 1;
  unsigned exited : 1;       /* isDead(): exit code or signal known */
  unsigned process_closed : 1;
  unsigned channel_closed : 1;
  unsigned killed_for_error : 1;
  int64_t exit_code;
  int term_signal;
  uv_process_t process;
  sim__channel_t channel;
  uv_pipe_t out[2];          /* silent: stdout, stderr */
  int out_open;              /* bit 0: out[0] open, bit 1: out[1] */
  char **fork_env;
  void *data;
  sim_worker_t *next;
};

static void emit(sim_cluster_t *c, sim_event_t *ev)
{
  if (c->priv->closing || c->event_cb == NULL)
    return;
  c->event_cb(c, ev);
}

/* Emits on the Worker, then on the cluster, as primary.js does. */
static void emit_both(sim_cluster_t *c, sim_event_t *ev)
{
  ev->emitter = SIM_ON_WORKER;
  emit(c, ev);
  ev->emitter = SIM_ON_CLUSTER;
  emit(c, ev);
}

static void emit_error(sim_worker_t *w, int err, const char *code,
                       const char *text)
{
  sim_event_t ev = { 0 };

  ev.type = SIM_EV_ERROR;
  ev.emitter = SIM_ON_WORKER;
  ev.worker = w;
  ev.error = err;
  ev.error_code = code;
  ev.error_message = text;
  emit(w->cluster, &ev);
}

/* ---------------------------------------------------------------------- */
/* cluster.workers and handles                                             */

static void intercom_disconnect(sim_cluster_t *c)
{
  dcb_t *list = c->priv->dcbs;

  c->priv->dcbs = NULL;
  while (list != NULL) {
    dcb_t *d = list;
    list = d->next;
    if (!c->priv->closing)
      d->cb(c, d->arg);
    free(d);
  }
}

static void remove_worker(sim_worker_t *w)
{
  sim_cluster_t *c = w->cluster;

  if (w->member) {
    w->member = 0;
    c->priv->members--;
  }
  if (c->priv->members == 0)
    intercom_disconnect(c);
}

static void remove_handles_for_worker(sim_worker_t *w)
{
  sim__handle_t **pp = &w->cluster->priv->handles;

  while (*pp != NULL) {
    sim__handle_t *h = *pp;
    if (h->remove(h, w)) {
      *pp = h->next;
      h->destroy(h);
    } else {
      pp = &h->next;
    }
  }
}

/* ---------------------------------------------------------------------- */
/* Close bookkeeping                                                       */

void sim__cluster_close_ref(sim_cluster_t *c)
{
  c->priv->close_refs++;
}

static void maybe_closed(sim_cluster_t *c)
{
  struct sim__cluster_priv *p = c->priv;

  if (!p->closing || p->close_refs > 0)
    return;
  /* Everything is closed: free the bookkeeping. */
  while (p->all != NULL) {
    sim_worker_t *w = p->all;
    p->all = w->next;
    sim__strv_free(w->fork_env);
    free(w);
  }
  free(p->by_id);
  free(p->exec);
  sim__strv_free(p->args);
  sim__strv_free(p->exec_argv);
  free(p->cwd);
  sim__strv_free(p->env);
  c->priv = NULL;
  if (p->close_cb != NULL) {
    void (*cb)(sim_cluster_t *) = p->close_cb;
    free(p);
    cb(c);
  } else {
    free(p);
  }
}

void sim__cluster_close_unref(sim_cluster_t *c)
{
  c->priv->close_refs--;
  maybe_closed(c);
}

uv_loop_t *sim__cluster_loop(sim_cluster_t *c)
{
  return c->loop;
}

sim__tick_t *sim__cluster_tick(sim_cluster_t *c)
{
  return &c->priv->tick;
}

void sim__cluster_orphan(sim_cluster_t *c, uv_stream_t *conn)
{
  orphan_t *o = malloc(sizeof(*o));

  if (o == NULL)
    return;
  o->conn = conn;
  o->next = c->priv->orphans;
  c->priv->orphans = o;
}

/* ---------------------------------------------------------------------- */
/* Worker process and channel callbacks                                    */

static void on_process_closed(uv_handle_t *h)
{
  sim_worker_t *w = h->data;

  w->process_closed = 1;
  sim__cluster_close_unref(w->cluster);
}

static void on_process_exit(uv_process_t *proc, int64_t exit_status, int term_signal)
{
  sim_worker_t *w = proc->data;
  sim_cluster_t *c = w->cluster;
  sim_event_t ev = { 0 };

  w->exited = 1;
  w->exit_code = term_signal ? -1 : exit_status;
  w->term_signal = term_signal;
  uv_close((uv_handle_t *)&w->process, on_process_closed);
  if (c->priv->closing)
    return;
  if (!w->channel.connected) {
    remove_handles_for_worker(w);
    remove_worker(w);
  }
  w->ead = w->ead == 1;
  w->state = W_DEAD;
  ev.type = SIM_EV_EXIT;
  ev.worker = w;
  ev.exit_code = w->exit_code;
  ev.term_signal = term_signal;
  emit_both(c, &ev);
}

static sim_worker_t *channel_worker(sim__channel_t *ch)
{
  return ch->data;
}

static void on_channel_disconnect(sim__channel_t *ch)
{
  sim_worker_t *w = channel_worker(ch);
  sim_event_t ev = { 0 };

  if (w->cluster->priv->closing)
    return;
  remove_handles_for_worker(w);
  if (w->exited)
    remove_worker(w);
  w->ead = w->ead == 1;
  w->state = W_DISCONNECTED;
  ev.type = SIM_EV_DISCONNECT;
  ev.worker = w;
  emit_both(w->cluster, &ev);
}

static void on_channel_closed(sim__channel_t *ch)
{
  sim_worker_t *w = channel_worker(ch);

  w->channel_closed = 1;
  sim__cluster_close_unref(w->cluster);
}

static void on_channel_error(sim__channel_t *ch, int err, const char *code,
                             const char *text)
{
  sim_worker_t *w = channel_worker(ch);

  emit_error(w, err, code, text);
  /* The documented rule for a worker that breaks the protocol: SIGKILL it
   * and close its channel; the usual disconnect and exit follow (no
   * disconnect while a handle is in flight, as in Node). */
  if (!w->killed_for_error && w->spawned && !w->exited) {
    w->killed_for_error = 1;
    (void)uv_process_kill(&w->process, SIGKILL);
  }
  sim__channel_disconnect(ch);
}

static void on_channel_message(sim__channel_t *ch, const cJSON *msg,
                               uv_stream_t *handle)
{
  sim_worker_t *w = channel_worker(ch);
  sim_event_t ev = { 0 };

  ev.type = SIM_EV_MESSAGE;
  ev.worker = w;
  ev.message = msg;
  ev.handle = handle;
  /* cluster's listener was installed inside fork(): it runs first. The
   * handle goes to the first emitter that sees it. */
  ev.emitter = SIM_ON_CLUSTER;
  emit(w->cluster, &ev);
  ev.handle = NULL;
  ev.emitter = SIM_ON_WORKER;
  emit(w->cluster, &ev);
  if (w->cluster->event_cb == NULL && handle != NULL)
    uv_close((uv_handle_t *)handle, sim__close_free);
}

/* ---------------------------------------------------------------------- */
/* Internal messages from a worker                                         */

static void reply_cb(sim_worker_t *w, int err, int err_null, cJSON *extra,
                     uv_stream_t *handle, void *arg)
{
  cJSON *query = arg;
  const cJSON *seq = cJSON_GetObjectItemCaseSensitive(query, "seq");
  const cJSON *key = cJSON_GetObjectItemCaseSensitive(query, "__key");
  cJSON *reply = cJSON_CreateObject();
  sim__handle_t *h;
  cJSON *item;

  if (reply == NULL)
    goto out;
  if (err_null)
    cJSON_AddNullToObject(reply, "errno");
  else
    cJSON_AddNumberToObject(reply, "errno", err);
  cJSON_AddStringToObject(reply, "key", key->valuestring);
  cJSON_AddNumberToObject(reply, "ack", seq->valuedouble);
  for (h = w->cluster->priv->handles; h != NULL; h = h->next)
    if (strcmp(h->key, key->valuestring) == 0)
      break;
  if (h != NULL && h->data != NULL)
    cJSON_AddItemToObject(reply, "data", cJSON_Duplicate(h->data, 1));
  else
    cJSON_AddNullToObject(reply, "data");
  while (extra != NULL && (item = extra->child) != NULL) {
    cJSON_DetachItemViaPointer(extra, item);
    cJSON_AddItemToObject(reply, item->string, item);
  }
  if (err != 0 && h != NULL) {
    /* Gives other workers a chance to retry. */
    sim__handle_t **pp = &w->cluster->priv->handles;
    while (*pp != h)
      pp = &(*pp)->next;
    *pp = h->next;
    h->destroy(h);
  }
  (void)sim__worker_send_cluster(w, reply, handle, NULL, NULL);

out:
  cJSON_Delete(extra);
  cJSON_Delete(query);
}

/* JavaScript's String(v) for the key parts Node builds with a template. */
static void key_part(char *out, size_t n, const cJSON *v)
{
  if (v == NULL)
    snprintf(out, n, "undefined");
  else if (cJSON_IsNull(v))
    snprintf(out, n, "null");
  else if (cJSON_IsString(v))
    snprintf(out, n, "%s", v->valuestring);
  else if (cJSON_IsNumber(v))
    snprintf(out, n, "%.17g", v->valuedouble);
  else if (cJSON_IsBool(v))
    snprintf(out, n, "%s", cJSON_IsTrue(v) ? "true" : "false");
  else
    snprintf(out, n, "[object Object]");
}

static int num_or(const cJSON *o, const char *k, int dflt)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsNumber(v) ? (int)v->valuedouble : dflt;
}

/* "udp4" -> 4, "udp6" -> 6, anything else 0. */
static int udp_family(const cJSON *atype)
{
  if (!cJSON_IsString(atype))
    return 0;
  if (strcmp(atype->valuestring, "udp4") == 0)
    return 4;
  return strcmp(atype->valuestring, "udp6") == 0 ? 6 : 0;
}

/* A new handle for a query: RoundRobinHandle, or SharedHandle under
 * SCHED_NONE and for UDP ("UDP is exempt from round-robin connection
 * balancing for what should be obvious reasons: it's connectionless"). */
static int handle_new(sim_cluster_t *c, const char *key, const cJSON *msg,
                      sim__handle_t **h)
{
  const cJSON *addr = cJSON_GetObjectItemCaseSensitive(msg, "address");
  const cJSON *atype = cJSON_GetObjectItemCaseSensitive(msg, "addressType");
  sim__query_t q = { 0 };
  char *shorter = NULL;
  int err;

  q.address = cJSON_IsString(addr) ? addr->valuestring : NULL;
  q.port = num_or(msg, "port", 0);
  q.address_type = cJSON_IsNumber(atype) ? (int)atype->valuedouble : 0;
  q.udp = udp_family(atype);
  q.flags = num_or(msg, "flags", 0);
  q.backlog = num_or(msg, "backlog", 0);
  q.fd = num_or(msg, "fd", -1);
  q.readable_all =
      cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "readableAll"));
  q.writable_all =
      cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "writableAll"));
  /* The shortest path for UNIX sockets, because of the ~100 byte limit. */
  if (q.port < 0 && q.address != NULL) {
    shorter = sim__path_relative(q.address);
    if (shorter != NULL && strlen(shorter) < strlen(q.address))
      q.address = shorter;
  }
  if (c->scheduling_policy == SIM_SCHED_RR && !cJSON_IsString(atype))
    err = sim__rr_new(c, key, &q, h);
  else
    err = sim__shared_new(c, key, &q, h);
  free(shorter);
  return err;
}

static void query_server(sim_worker_t *w, const cJSON *msg)
{
  sim_cluster_t *c = w->cluster;
  const char *names[] = { "address", "port", "addressType", "fd", "index" };
  char parts[5][256];
  char key[1400];
  const cJSON *data = cJSON_GetObjectItemCaseSensitive(msg, "data");
  sim__handle_t *h;
  cJSON *query;

  /* Stop processing if the worker is already disconnecting. */
  if (w->ead == 1)
    return;
  for (int i = 0; i < 5; i++)
    key_part(parts[i], sizeof(parts[i]),
             cJSON_GetObjectItemCaseSensitive(msg, names[i]));
  snprintf(key, sizeof(key), "%s:%s:%s:%s:%s", parts[0], parts[1], parts[2],
           parts[3], parts[4]);

  for (h = c->priv->handles; h != NULL; h = h->next)
    if (strcmp(h->key, key) == 0)
      break;
  if (h == NULL) {
    if (handle_new(c, key, msg, &h) != 0)
      return;
    h->next = c->priv->handles;
    c->priv->handles = h;
  }
  if (h->data == NULL && data != NULL && !cJSON_IsNull(data))
    h->data = cJSON_Duplicate(data, 1);

  query = cJSON_CreateObject();
  if (query == NULL)
    return;
  cJSON_AddNumberToObject(query, "seq", num_or(msg, "seq", 0));
  cJSON_AddStringToObject(query, "__key", key);
  if (h->add(h, w, reply_cb, query) != 0)
    cJSON_Delete(query);
}

static void on_channel_internal(sim__channel_t *ch, const cJSON *msg,
                                uv_handle_t *handle)
{
  sim_worker_t *w = channel_worker(ch);
  sim_cluster_t *c = w->cluster;
  const cJSON *act = cJSON_GetObjectItemCaseSensitive(msg, "act");
  sim_event_t ev = { 0 };

  if (handle != NULL)
    uv_close(handle, sim__close_free);
  if (!cJSON_IsString(act) || c->priv->closing)
    return;
  ev.worker = w;
  if (strcmp(act->valuestring, "online") == 0) {
    w->state = W_ONLINE;
    ev.type = SIM_EV_ONLINE;
    emit_both(c, &ev);
  } else if (strcmp(act->valuestring, "queryServer") == 0) {
    query_server(w, msg);
  } else if (strcmp(act->valuestring, "listening") == 0) {
    const cJSON *addr = cJSON_GetObjectItemCaseSensitive(msg, "address");
    const cJSON *atype = cJSON_GetObjectItemCaseSensitive(msg, "addressType");
    const cJSON *fd = cJSON_GetObjectItemCaseSensitive(msg, "fd");
    sim_address_t a;
    a.udp = udp_family(atype);
    a.address_type = cJSON_IsNumber(atype) ? (int)atype->valuedouble : a.udp;
    a.address = cJSON_IsString(addr) ? addr->valuestring : NULL;
    a.port = num_or(msg, "port", 0);
    a.fd = cJSON_IsNumber(fd) ? (int)fd->valuedouble : -1;
    a.fd_defined = cJSON_IsNumber(fd);
    w->state = W_LISTENING;
    ev.type = SIM_EV_LISTENING;
    ev.address = &a;
    emit_both(c, &ev);
  } else if (strcmp(act->valuestring, "close") == 0) {
    const cJSON *key = cJSON_GetObjectItemCaseSensitive(msg, "key");
    sim__handle_t **pp = &c->priv->handles;
    if (!cJSON_IsString(key))
      return;
    for (; *pp != NULL; pp = &(*pp)->next) {
      sim__handle_t *h = *pp;
      if (strcmp(h->key, key->valuestring) == 0) {
        if (h->remove(h, w)) {
          *pp = h->next;
          h->destroy(h);
        }
        break;
      }
    }
  } else if (strcmp(act->valuestring, "exitedAfterDisconnect") == 0) {
    cJSON *reply = cJSON_CreateObject();
    w->ead = 1;
    if (reply == NULL)
      return;
    cJSON_AddNumberToObject(reply, "ack", num_or(msg, "seq", 0));
    (void)sim__worker_send_cluster(w, reply, NULL, NULL, NULL);
  }
}

static const sim__channel_ops_t worker_channel_ops = {
  .message = on_channel_message,
  .internal = on_channel_internal,
  .disconnect = on_channel_disconnect,
  .error = on_channel_error,
  .closed = on_channel_closed,
};

sim__channel_t *sim__worker_channel(sim_worker_t *w)
{
  return &w->channel;
}

int sim__worker_send_cluster(sim_worker_t *w, cJSON *fields,
                             uv_stream_t *handle, sim__ack_fn fn, void *arg)
{
  return sim__channel_send_cluster(&w->channel, fields, handle, fn, arg);
}

/* ---------------------------------------------------------------------- */
/* Settings and fork                                                       */

static void snap_free(snap_t *n)
{
  free(n->exec);
  sim__strv_free(n->args);
  sim__strv_free(n->exec_argv);
  free(n->cwd);
  free(n);
}

static void emit_setup(void *arg)
{
  snap_t *n = arg;
  sim_cluster_t *c = n->cluster;
  sim_event_t ev = { 0 };

  for (snap_t **pp = &c->priv->snaps; *pp != NULL; pp = &(*pp)->next)
    if (*pp == n) {
      *pp = n->next;
      break;
    }
  ev.type = SIM_EV_SETUP;
  ev.emitter = SIM_ON_CLUSTER;
  ev.settings = &n->view;
  emit(c, &ev);
  snap_free(n);
}

/* Node emits each call's own settings object on the next tick. */
static int snap_defer(sim_cluster_t *c)
{
  struct sim__cluster_priv *p = c->priv;
  snap_t *n = calloc(1, sizeof(*n));
  int err = UV_ENOMEM;

  if (n == NULL)
    return UV_ENOMEM;
  n->cluster = c;
  n->exec = strdup(p->exec);
  n->args = sim__strv_dup((const char *const *)p->args);
  n->exec_argv = sim__strv_dup((const char *const *)p->exec_argv);
  n->cwd = p->cwd != NULL ? strdup(p->cwd) : NULL;
  if (n->exec != NULL && n->args != NULL && n->exec_argv != NULL &&
      (p->cwd == NULL || n->cwd != NULL))
    err = sim__tick_defer(&p->tick, emit_setup, n);
  if (err != 0) {
    snap_free(n);
    return err;
  }
  n->view.exec = n->exec;
  n->view.args = (const char *const *)n->args;
  n->view.exec_argv = (const char *const *)n->exec_argv;
  n->view.cwd = n->cwd;
  n->view.silent = p->silent;
  n->view.serialization = p->advanced ? "advanced" : "json";
  n->next = p->snaps;
  p->snaps = n;
  return 0;
}

static void emit_fork(void *arg)
{
  sim_worker_t *w = arg;
  sim_event_t ev = { 0 };

  ev.type = SIM_EV_FORK;
  ev.emitter = SIM_ON_CLUSTER;
  ev.worker = w;
  emit(w->cluster, &ev);
}

/* A list setting: replaced when given (or when `set` asks for an empty
 * one). */
static int merge_strv(char ***into, const char *const *v, int set)
{
  const char *const empty[] = { NULL };
  char **a;

  if (v == NULL && !set)
    return 0;
  a = sim__strv_dup(v != NULL ? v : empty);
  if (a == NULL)
    return UV_ENOMEM;
  sim__strv_free(*into);
  *into = a;
  return 0;
}

static int merge_str(char **into, const char *v)
{
  char *d;

  if (v == NULL)
    return 0;
  d = strdup(v);
  if (d == NULL)
    return UV_ENOMEM;
  free(*into);
  *into = d;
  return 0;
}

/* {...cluster.settings, ...settings}: each given field in turn; what was
 * merged before a failure stays. */
static int merge_settings(struct sim__cluster_priv *p, const sim_settings_t *s)
{
  if (merge_str(&p->exec, s->exec) != 0 ||
      merge_strv(&p->args, s->args, s->args_set) != 0 ||
      merge_strv(&p->exec_argv, s->exec_argv, s->exec_argv_set) != 0 ||
      merge_str(&p->cwd, s->cwd) != 0)
    return UV_ENOMEM;
  if (s->env != NULL) {
    char **e = sim__env_merge(p->env, s->env, NULL, NULL);
    if (e == NULL)
      return UV_ENOMEM;
    sim__strv_free(p->env);
    p->env = e;
  }
  if (s->silent != 0)
    p->silent = s->silent > 0;
  if (s->serialization != NULL)
    p->advanced = strcmp(s->serialization, "advanced") == 0;
  return 0;
}

int sim_cluster_setup(sim_cluster_t *c, const sim_settings_t *s)
{
  struct sim__cluster_priv *p = c->priv;

  if (p == NULL || p->closing)
    return UV_EINVAL;
  if (s != NULL && s->serialization != NULL &&
      strcmp(s->serialization, "advanced") != 0 &&
      strcmp(s->serialization, "json") != 0)
    return UV_EINVAL;
  if (!p->initialized) {
    if (c->scheduling_policy != SIM_SCHED_NONE &&
        c->scheduling_policy != SIM_SCHED_RR)
      return UV_EINVAL;
    p->initialized = 1;
  }
  if (s != NULL && merge_settings(p, s) != 0)
    return UV_ENOMEM;
  return snap_defer(c);
}

static void on_out_closed(uv_handle_t *h)
{
  sim_worker_t *w = h->data;
  sim__cluster_close_unref(w->cluster);
}

static void on_alloc_out(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
  static char chunk[65536];
  /* The loop is single threaded and each read is handed over before the
   * next: one buffer serves every pipe. */
  (void)h;
  (void)hint;
  buf->base = chunk;
  buf->len = sizeof(chunk);
}

/* A silent worker's stdout or stderr: to output_cb (or dropped), then its
 * end once. */
static void on_read_out(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
  sim_worker_t *w = s->data;
  sim_cluster_t *c = w->cluster;
  int fd = s == (uv_stream_t *)&w->out[0] ? 1 : 2;

  if (nread == 0)
    return;
  if (nread < 0 && (w->out_open & (1 << (fd - 1)))) {
    /* A stream that ended holds nothing more: closed now, not with the
     * cluster (a primary may outlive thousands of silent workers). */
    w->out_open &= ~(1 << (fd - 1));
    uv_close((uv_handle_t *)s, on_out_closed);
  }
  if (c->priv->closing || c->output_cb == NULL)
    return;
  c->output_cb(c, w, fd, nread > 0 ? buf->base : NULL,
               nread > 0 ? (size_t)nread : 0);
}

static int spawn_worker(sim_cluster_t *c, sim_worker_t *w)
{
  struct sim__cluster_priv *p = c->priv;
  uv_process_options_t opts = { 0 };
  uv_stdio_container_t stdio[4];
  char idbuf[64];
  const char *extra[4];
  char **env = NULL;
  char **argv = NULL;
  size_t nargs = 0, nexec = 0;
  int err;

  while (p->args != NULL && p->args[nargs] != NULL)
    nargs++;
  while (p->exec_argv != NULL && p->exec_argv[nexec] != NULL)
    nexec++;
  argv = calloc(nexec + nargs + 2, sizeof(*argv));
  if (argv == NULL)
    return UV_ENOMEM;
  /* Node's layout: the program, its own options (execArgv), then args
   * (whose first is the script, or clustersim's command). */
  argv[0] = p->exec;
  for (size_t i = 0; i < nexec; i++)
    argv[i + 1] = p->exec_argv[i];
  for (size_t i = 0; i < nargs; i++)
    argv[nexec + i + 1] = p->args[i];

  snprintf(idbuf, sizeof(idbuf), "NODE_UNIQUE_ID=%u", w->id);
  extra[0] = idbuf;
  extra[1] = "NODE_CHANNEL_FD=3";
  extra[2] = p->advanced ? "NODE_CHANNEL_SERIALIZATION_MODE=advanced"
                         : "NODE_CHANNEL_SERIALIZATION_MODE=json";
  extra[3] = NULL;
  env = sim__env_merge(environ, (const char *const *)p->env,
                       (const char *const *)w->fork_env, extra);
  if (env == NULL) {
    err = UV_ENOMEM;
    goto out;
  }

  stdio[0].flags = UV_INHERIT_FD;
  stdio[0].data.fd = 0;
  for (int i = 1; i <= 2; i++) {
    if (p->silent) {
      stdio[i].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
      stdio[i].data.stream = (uv_stream_t *)&w->out[i - 1];
    } else {
      stdio[i].flags = UV_INHERIT_FD;
      stdio[i].data.fd = i;
    }
  }
  stdio[3].flags = UV_CREATE_PIPE | UV_READABLE_PIPE | UV_WRITABLE_PIPE;
  stdio[3].data.stream = (uv_stream_t *)&w->channel.pipe;

  opts.file = p->exec;
  opts.args = argv;
  opts.env = env;
  opts.cwd = p->cwd;
  opts.stdio = stdio;
  opts.stdio_count = 4;
  opts.exit_cb = on_process_exit;
  w->process.data = w;
  err = uv_spawn(c->loop, &w->process, &opts);
  if (err == 0) {
    w->spawned = 1;
    w->pid = w->process.pid;
  }

out:
  sim__strv_free(env);
  free(argv);
  return err;
}

static void emit_spawn_error(void *arg)
{
  sim_worker_t *w = arg;
  char text[128];

  snprintf(text, sizeof(text), "spawn %s %s", w->cluster->priv->exec,
           uv_err_name((int)w->exit_code));
  emit_error(w, (int)w->exit_code, uv_err_name((int)w->exit_code), text);
}

static void emit_spawn_disconnect(void *arg)
{
  sim_worker_t *w = arg;

  /* The channel of a child that never ran ends like any other. */
  sim__channel_close(&w->channel);
  on_channel_disconnect(&w->channel);
}

/* Room in by_id for the next id. */
static int index_reserve(struct sim__cluster_priv *p)
{
  unsigned cap = p->by_id_cap ? p->by_id_cap * 2 : 64;
  sim_worker_t **v;

  if (p->ids + 1 < p->by_id_cap)
    return 0;
  v = realloc(p->by_id, cap * sizeof(*v));
  if (v == NULL)
    return UV_ENOMEM;
  memset(v + p->by_id_cap, 0, (cap - p->by_id_cap) * sizeof(*v));
  p->by_id = v;
  p->by_id_cap = cap;
  return 0;
}

int sim_cluster_fork(sim_cluster_t *c, const char *const *env,
                     sim_worker_t **ret_worker)
{
  struct sim__cluster_priv *p = c->priv;
  sim_worker_t *w;
  int err;

  if (p == NULL || p->closing)
    return UV_EINVAL;
  err = sim_cluster_setup(c, NULL);
  if (err != 0)
    return err;
  if (index_reserve(p) != 0)
    return UV_ENOMEM;
  w = calloc(1, sizeof(*w));
  if (w == NULL)
    return UV_ENOMEM;
  w->cluster = c;
  w->ead = -1;
  w->exit_code = -1;
  if (env != NULL) {
    w->fork_env = sim__strv_dup(env);
    if (w->fork_env == NULL) {
      free(w);
      return UV_ENOMEM;
    }
  }
  err = sim__channel_init(c->loop, &w->channel, &worker_channel_ops,
                          &p->tick, &p->seq);
  if (err != 0) {
    sim__strv_free(w->fork_env);
    free(w);
    return err;
  }
  w->channel.data = w;
  if (p->advanced)
    sim__channel_set_advanced(&w->channel);
  sim__cluster_close_ref(c);           /* the channel's pipe */
  if (p->silent) {
    for (int i = 0; i < 2; i++) {
      (void)uv_pipe_init(c->loop, &w->out[i], 0);
      w->out[i].data = w;
      sim__cluster_close_ref(c);
    }
    w->out_open = 3;
  }
  w->id = ++p->ids;
  p->by_id[w->id] = w;
  w->next = NULL;
  *p->all_tail = w;
  p->all_tail = &w->next;
  w->member = 1;
  p->members++;

  err = spawn_worker(c, w);
  if (err == 0) {
    sim__cluster_close_ref(c);         /* the process handle */
    (void)sim__channel_start(&w->channel);
    if (p->silent)
      for (int i = 0; i < 2; i++)
        (void)uv_read_start((uv_stream_t *)&w->out[i], on_alloc_out,
                            on_read_out);
  } else {
    /* As a failed child_process.fork(): the child's exitCode is the
     * errno (isDead() is true), 'error' comes first, then 'fork', then the
     * channel's 'disconnect'; there is no 'exit'. The channel counts as
     * connected until it reports its end. */
    w->exited = 1;
    w->exit_code = err;
    w->channel.connected = 1;
    w->process.data = w;
    sim__cluster_close_ref(c);
    uv_close((uv_handle_t *)&w->process, on_process_closed);
    (void)sim__tick_defer(&p->tick, emit_spawn_error, w);
  }
  (void)sim__tick_defer(&p->tick, emit_fork, w);
  if (err != 0)
    (void)sim__tick_defer(&p->tick, emit_spawn_disconnect, w);
  *ret_worker = w;
  return 0;
}

/* ---------------------------------------------------------------------- */
/* cluster.disconnect() and lookups                                        */

static void intercom_disconnect_deferred(void *arg)
{
  intercom_disconnect(arg);
}

int sim_cluster_disconnect(sim_cluster_t *c, sim_disconnect_cb cb, void *arg)
{
  struct sim__cluster_priv *p = c->priv;

  if (p == NULL || p->closing)
    return UV_EINVAL;
  if (p->members == 0) {
    int err = sim__tick_defer(&p->tick, intercom_disconnect_deferred, c);
    if (err != 0)
      return err;
  } else {
    /* Collect first: worker.disconnect() edits membership. */
    unsigned n = 0, i = 0;
    sim_worker_t **v = calloc(p->members, sizeof(*v));
    if (v == NULL)
      return UV_ENOMEM;
    for (sim_worker_t *w = p->all; w != NULL; w = w->next)
      if (w->member && n < p->members)
        v[n++] = w;
    for (i = 0; i < n; i++)
      if (sim_worker_is_connected(v[i]))
        (void)sim_worker_disconnect(v[i]);
    free(v);
  }
  if (cb != NULL) {
    dcb_t *d = malloc(sizeof(*d));
    dcb_t **pp = &p->dcbs;
    if (d == NULL)
      return UV_ENOMEM;
    d->cb = cb;
    d->arg = arg;
    d->next = NULL;
    while (*pp != NULL)
      pp = &(*pp)->next;
    *pp = d;
  }
  return 0;
}

sim_worker_t *sim_cluster_find(sim_cluster_t *c, unsigned id)
{
  if (c->priv == NULL || id == 0 || id > c->priv->ids)
    return NULL;
  return c->priv->by_id[id];
}

sim_worker_t *sim_cluster_worker(sim_cluster_t *c, unsigned id)
{
  sim_worker_t *w = sim_cluster_find(c, id);
  return w != NULL && w->member ? w : NULL;
}

unsigned sim_cluster_count(const sim_cluster_t *c)
{
  return c->priv != NULL ? c->priv->members : 0;
}

void sim_cluster_foreach(sim_cluster_t *c,
                         void (*fn)(sim_worker_t *w, void *arg), void *arg)
{
  sim_worker_t *w, *next;

  if (c->priv == NULL)
    return;
  for (w = c->priv->all; w != NULL; w = next) {
    next = w->next;
    if (w->member)
      fn(w, arg);
  }
}

/* ---------------------------------------------------------------------- */
/* Worker methods                                                          */

unsigned sim_worker_id(const sim_worker_t *w) { return w->id; }
int sim_worker_pid(const sim_worker_t *w) { return w->pid; }
const char *sim_worker_state(const sim_worker_t *w)
{
  return state_names[w->state];
}
int sim_worker_exited_after_disconnect(const sim_worker_t *w)
{
  return w->ead;
}
int sim_worker_is_connected(const sim_worker_t *w)
{
  return w->channel.connected;
}
int sim_worker_is_dead(const sim_worker_t *w) { return w->exited; }
int sim_worker_in_workers(const sim_worker_t *w) { return w->member; }
int64_t sim_worker_exit_code(const sim_worker_t *w) { return w->exit_code; }
int sim_worker_term_signal(const sim_worker_t *w) { return w->term_signal; }
void *sim_worker_get_data(const sim_worker_t *w) { return w->data; }
void sim_worker_set_data(sim_worker_t *w, void *data) { w->data = data; }

typedef struct {
  sim_worker_t *w;
  sim_send_cb cb;
  void *arg;
} closed_send_t;

static void send_closed_later(void *arg)
{
  closed_send_t *s = arg;

  if (s->cb != NULL)
    s->cb(UV_EPIPE, s->arg);
  else
    emit_error(s->w, UV_EPIPE, "ERR_IPC_CHANNEL_CLOSED", "Channel closed");
  free(s);
}

int sim_worker_send(sim_worker_t *w, const cJSON *message,
                    uv_stream_t *handle, sim_send_cb cb, void *arg)
{
  if (!w->channel.connected) {
    closed_send_t *s = malloc(sizeof(*s));
    if (s != NULL) {
      s->w = w;
      s->cb = cb;
      s->arg = arg;
      if (sim__tick_defer(&w->cluster->priv->tick, send_closed_later, s) != 0)
        free(s);
    }
    return UV_EPIPE;
  }
  return sim__channel_send(&w->channel, message, handle, cb, arg);
}

void sim_worker_pause(sim_worker_t *w)
{
  sim__channel_pause(&w->channel);
}

void sim_worker_resume(sim_worker_t *w)
{
  sim__channel_resume(&w->channel);
}

int sim_worker_disconnect(sim_worker_t *w)
{
  cJSON *msg = cJSON_CreateObject();

  w->ead = 1;
  if (msg != NULL) {
    cJSON_AddStringToObject(msg, "act", "disconnect");
    (void)sim__worker_send_cluster(w, msg, NULL, NULL, NULL);
  }
  remove_handles_for_worker(w);
  remove_worker(w);
  return 0;
}

int sim_worker_kill(sim_worker_t *w, int signum)
{
  int err;

  if (signum == 0)
    signum = SIGTERM;
  if (!w->spawned || w->exited)
    return 0;
  err = uv_process_kill(&w->process, signum);
  if (err == UV_ESRCH)
    return 0;
  if (err != 0)
    emit_error(w, err, uv_err_name(err), "kill failed");
  return err;
}

/* ---------------------------------------------------------------------- */
/* Init and close                                                          */

int sim_cluster_init(uv_loop_t *loop, sim_cluster_t *c, sim_event_cb cb)
{
  struct sim__cluster_priv *p;
  const char *policy = getenv("NODE_CLUSTER_SCHED_POLICY");
  char exe[4096];
  size_t size = sizeof(exe);
  int err;

  memset(c, 0, sizeof(*c));
  c->loop = loop;
  c->event_cb = cb;
  c->scheduling_policy = SIM_SCHED_RR;
  if (policy != NULL && strcmp(policy, "none") == 0)
    c->scheduling_policy = SIM_SCHED_NONE;
  p = calloc(1, sizeof(*p));
  if (p == NULL)
    return UV_ENOMEM;
  p->all_tail = &p->all;
  err = uv_exepath(exe, &size);
  if (err == 0)
    p->exec = strdup(exe);
  p->args = sim__strv_dup((const char *const[]){ "worker", NULL });
  p->exec_argv = sim__strv_dup((const char *const[]){ NULL });
  if (err != 0 || p->exec == NULL || p->args == NULL ||
      p->exec_argv == NULL) {
    err = err != 0 ? err : UV_ENOMEM;
    goto fail;
  }
  err = sim__tick_init(loop, &p->tick);
  if (err != 0)
    goto fail;
  c->priv = p;
  return 0;

fail:
  free(p->exec);
  sim__strv_free(p->args);
  sim__strv_free(p->exec_argv);
  free(p);
  return err;
}

static void on_tick_closed(void *arg)
{
  sim__cluster_close_unref(arg);
}

static void on_orphan_closed(uv_handle_t *h)
{
  sim_cluster_t *c = h->data;
  free(h);
  sim__cluster_close_unref(c);
}

void sim_cluster_close(sim_cluster_t *c, void (*cb)(sim_cluster_t *c))
{
  struct sim__cluster_priv *p = c->priv;

  if (p == NULL || p->closing)
    return;
  p->closing = 1;
  p->close_cb = cb;
  sim__cluster_close_ref(c);           /* held until the end of this call */
  while (p->handles != NULL) {
    sim__handle_t *h = p->handles;
    p->handles = h->next;
    h->destroy(h);
  }
  while (p->orphans != NULL) {
    orphan_t *o = p->orphans;
    p->orphans = o->next;
    o->conn->data = c;
    sim__cluster_close_ref(c);
    uv_close((uv_handle_t *)o->conn, on_orphan_closed);
    free(o);
  }
  for (sim_worker_t *w = p->all; w != NULL; w = w->next) {
    if (w->spawned && !w->exited) {
      /* uv_close() on a live process handle would leave a zombie; kill
       * it and let on_process_exit close the handle. */
      (void)uv_process_kill(&w->process, SIGKILL);
    }
    if (!w->channel.pipe_closing)
      sim__channel_close(&w->channel);
    for (int i = 0; i < 2; i++)
      if (w->out_open & (1 << i))
        uv_close((uv_handle_t *)&w->out[i], on_out_closed);
    w->out_open = 0;
  }
  intercom_disconnect(c);              /* frees the callbacks, unrun */
  while (p->snaps != NULL) {           /* `setup` events never emitted */
    snap_t *n = p->snaps;
    p->snaps = n->next;
    snap_free(n);
  }
  sim__cluster_close_ref(c);
  sim__tick_close(&p->tick, on_tick_closed, c);
  sim__cluster_close_unref(c);
}
