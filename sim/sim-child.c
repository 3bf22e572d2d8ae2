/*
 * sim-child.c - cluster.worker inside a worker process.
 *
 * Mirrors lib/internal/cluster/child.js of Node v20: `online` at start,
 * newconn handling with {ack, accepted}, the two disconnect paths (primary
 * initiated: close servers, then the channel; worker initiated: close
 * servers, exitedAfterDisconnect round trip, then the channel), kill(), and
 * exit(0) on an unexpected disconnect.
 */
#include <stdlib.h>
#include <string.h>

#include "sim-internal.h"

enum { C_ONLINE, C_LISTENING, C_DISCONNECTING, C_DESTROYING };
static const char *const child_states[] = {
  "online", "listening", "disconnecting", "destroying"
};

struct sim__child_priv {
  sim_child_t *child;
  sim__channel_t channel;
  sim__tick_t tick;
  unsigned seq;
  int state;
  int ead;                   /* -1 undefined, 0, 1 */
  sim_server_t **servers;    /* Node's `handles`: servers with a reply */
  unsigned nservers;
  unsigned cap;
  int destroying;            /* kill() ran: exit at disconnect, whatever
                                the state says by then */
};

/* One _disconnect() call: Node keeps waitingCount and primaryInitiated in
 * the call's closure, so a second disconnect (the worker's own while the
 * primary's still waits for its servers) does not end the first. */
typedef struct {
  struct sim__child_priv *p;
  int waiting;
  int primary_initiated;
} child_disc_t;

static void emit(sim_child_t *child, sim_child_event_t *ev)
{
  if (child->event_cb != NULL)
    child->event_cb(child, ev);
}

static struct sim__child_priv *priv_of(sim__channel_t *ch)
{
  return ch->data;
}

/* ---------------------------------------------------------------------- */
/* Server registry (Node's `handles` map)                                  */

static int registry_add(struct sim__child_priv *p, sim_server_t *s)
{
  if (p->nservers == p->cap) {
    unsigned cap = p->cap ? p->cap * 2 : 4;
    sim_server_t **v = realloc(p->servers, cap * sizeof(*v));
    if (v == NULL)
      return UV_ENOMEM;
    p->servers = v;
    p->cap = cap;
  }
  p->servers[p->nservers++] = s;
  return 0;
}

void sim__child_server_gone(sim_child_t *child, sim_server_t *server)
{
  struct sim__child_priv *p = child->priv;

  for (unsigned i = 0; i < p->nservers; i++) {
    if (p->servers[i] == server) {
      memmove(&p->servers[i], &p->servers[i + 1],
              (p->nservers - i - 1) * sizeof(*p->servers));
      p->nservers--;
      return;
    }
  }
}

static sim_server_t *registry_find(struct sim__child_priv *p, const char *key)
{
  for (unsigned i = 0; i < p->nservers; i++) {
    const char *k = sim__server_key(p->servers[i]);
    if (k != NULL && strcmp(k, key) == 0)
      return p->servers[i];
  }
  return NULL;
}

/* ---------------------------------------------------------------------- */
/* Sending                                                                 */

int sim__child_send_cluster(sim_child_t *child, cJSON *fields)
{
  return sim__channel_send_cluster(&child->priv->channel, fields, NULL, NULL,
                                   NULL);
}

int sim__child_connected(const sim_child_t *child)
{
  return child->priv->channel.connected;
}

void sim__child_set_listening(sim_child_t *child)
{
  child->priv->state = C_LISTENING;
}

static void on_query_reply(sim__channel_t *ch, const cJSON *msg,
                           uv_handle_t *handle, void *arg)
{
  sim_server_t *server = arg;
  struct sim__child_priv *p = priv_of(ch);

  if (msg != NULL && handle == NULL) {
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(msg, "errno");
    if (!(cJSON_IsNumber(e) && e->valuedouble != 0))
      (void)registry_add(p, server);
  } else if (msg != NULL) {
    (void)registry_add(p, server);
  }
  sim__server_on_reply(server, msg, handle);
}

int sim__child_query(sim_child_t *child, sim_server_t *server, cJSON *query)
{
  return sim__channel_send_cluster(&child->priv->channel, query, NULL,
                                   on_query_reply, server);
}

/* ---------------------------------------------------------------------- */
/* Disconnect and kill                                                     */

static void on_disconnect_ack(sim__channel_t *ch, const cJSON *msg,
                              uv_handle_t *handle, void *arg)
{
  if (handle != NULL)
    uv_close(handle, sim__close_free);
  if (msg != NULL)
    sim__channel_disconnect(ch);
}

static void send_exited_after_disconnect(struct sim__child_priv *p)
{
  cJSON *m = cJSON_CreateObject();

  if (m == NULL)
    return;
  cJSON_AddStringToObject(m, "act", "exitedAfterDisconnect");
  (void)sim__channel_send_cluster(&p->channel, m, NULL, on_disconnect_ack,
                                  NULL);
}

/* The first disconnect's process.disconnect() on a channel that closed
 * meanwhile (the worker's own disconnect, process.disconnect(), the
 * primary's death): Node emits ERR_IPC_DISCONNECTED, which a program
 * without an 'error' listener on cluster.worker dies of. */
static void emit_disconnected(struct sim__child_priv *p)
{
  sim_child_event_t ev = { 0 };

  ev.type = SIM_CHILD_EV_ERROR;
  ev.error = UV_ENOTCONN;
  ev.error_code = "ERR_IPC_DISCONNECTED";
  ev.error_message = "IPC channel is already disconnected";
  emit(p->child, &ev);
}

/* The end of _disconnect(), once every server has closed. A
 * worker-initiated disconnect waits for the primary's ack so that
 * exitedAfterDisconnect is set there before its events fire; on a closed
 * channel its message is dropped, as sendHelper drops it. */
static void child_leave(struct sim__child_priv *p, int primary_initiated)
{
  if (!primary_initiated)
    send_exited_after_disconnect(p);
  else if (p->channel.connected)
    sim__channel_disconnect(&p->channel);
  else
    emit_disconnected(p);
}

static void check_waiting(void *arg)
{
  child_disc_t *d = arg;
  struct sim__child_priv *p = d->p;
  int primary_initiated = d->primary_initiated;

  if (--d->waiting != 0)
    return;
  free(d);
  child_leave(p, primary_initiated);
}

static void child_disconnect(struct sim__child_priv *p, int primary_initiated)
{
  child_disc_t *d = malloc(sizeof(*d));
  unsigned n = p->nservers;
  sim_server_t **v;

  p->ead = 1;
  /* Collect first: closing a server edits the registry. Out of memory,
   * the servers are left open and the channel goes at once. */
  v = n > 0 && d != NULL ? malloc(n * sizeof(*v)) : NULL;
  if (v != NULL)
    memcpy(v, p->servers, n * sizeof(*v));
  p->nservers = 0;
  if (d == NULL) {
    child_leave(p, primary_initiated);
    return;
  }
  d->p = p;
  d->primary_initiated = primary_initiated;
  d->waiting = 1;
  for (unsigned i = 0; v != NULL && i < n; i++) {
    d->waiting++;
    if (sim__server_close_for_disconnect(v[i], check_waiting, d) != 0)
      d->waiting--;
  }
  free(v);
  check_waiting(d);
}

int sim_child_disconnect(sim_child_t *child)
{
  struct sim__child_priv *p = child->priv;

  if (p->state != C_DISCONNECTING && p->state != C_DESTROYING) {
    p->state = C_DISCONNECTING;
    child_disconnect(p, 0);
  }
  return 0;
}

int sim_child_kill(sim_child_t *child)
{
  struct sim__child_priv *p = child->priv;

  if (p->state == C_DESTROYING || p->destroying)
    return 0;
  p->ead = 1;
  if (!p->channel.connected)
    exit(0);
  /* Node's destroy() registers process.once('disconnect', exit) here; a
   * later 'listening' may still overwrite the state, not this. */
  p->destroying = 1;
  p->state = C_DESTROYING;
  send_exited_after_disconnect(p);
  return 0;
}

int sim_child_channel_close(sim_child_t *child)
{
  if (!child->priv->channel.connected)
    return UV_ENOTCONN;
  sim__channel_disconnect(&child->priv->channel);
  return 0;
}

/* ---------------------------------------------------------------------- */
/* Channel callbacks                                                       */

static void on_message(sim__channel_t *ch, const cJSON *msg,
                       uv_stream_t *handle)
{
  struct sim__child_priv *p = priv_of(ch);
  sim_child_event_t ev = { 0 };

  ev.type = SIM_CHILD_EV_MESSAGE;
  ev.message = msg;
  ev.handle = handle;
  emit(p->child, &ev);
  if (p->child->event_cb == NULL && handle != NULL)
    uv_close((uv_handle_t *)handle, sim__close_free);
}

static void on_newconn(struct sim__child_priv *p, const cJSON *msg,
                       uv_handle_t *handle)
{
  const cJSON *key = cJSON_GetObjectItemCaseSensitive(msg, "key");
  const cJSON *seq = cJSON_GetObjectItemCaseSensitive(msg, "seq");
  sim_server_t *server = NULL;
  int accepted;
  cJSON *reply;

  if (cJSON_IsString(key))
    server = registry_find(p, key->valuestring);
  /* a connection is a stream; anything else a peer sends is refused */
  accepted = server != NULL && handle != NULL &&
             (handle->type == UV_TCP || handle->type == UV_NAMED_PIPE) &&
             sim__server_accepts(server, (uv_stream_t *)handle);
  reply = cJSON_CreateObject();
  if (reply != NULL) {
    cJSON_AddNumberToObject(reply, "ack",
                            cJSON_IsNumber(seq) ? seq->valuedouble : -1);
    cJSON_AddBoolToObject(reply, "accepted", accepted);
    /* Node replies before it uses the connection. */
    (void)sim__channel_send_cluster(&p->channel, reply, NULL, NULL, NULL);
  }
  if (accepted)
    sim__server_on_connection(server, (uv_stream_t *)handle);
  else if (handle != NULL)
    uv_close(handle, sim__close_free);
}

static void on_internal(sim__channel_t *ch, const cJSON *msg,
                        uv_handle_t *handle)
{
  struct sim__child_priv *p = priv_of(ch);
  const cJSON *act = cJSON_GetObjectItemCaseSensitive(msg, "act");

  if (cJSON_IsString(act) && strcmp(act->valuestring, "newconn") == 0) {
    on_newconn(p, msg, handle);
    return;
  }
  if (handle != NULL)
    uv_close((uv_handle_t *)handle, sim__close_free);
  if (cJSON_IsString(act) && strcmp(act->valuestring, "disconnect") == 0)
    child_disconnect(p, 1);
}

static void on_disconnect(sim__channel_t *ch)
{
  struct sim__child_priv *p = priv_of(ch);
  sim_child_event_t ev = { 0 };

  /* "Unexpected disconnect, primary exited, or some such nastiness, so
   * worker exits immediately" - unless it chose to disconnect. */
  ev.type = SIM_CHILD_EV_DISCONNECT;
  ev.will_exit = p->ead != 1 || p->destroying;
  emit(p->child, &ev);
  if (ev.will_exit)
    exit(0);
}

static void on_error(sim__channel_t *ch, int err, const char *code,
                     const char *text)
{
  struct sim__child_priv *p = priv_of(ch);
  sim_child_event_t ev = { 0 };

  ev.type = SIM_CHILD_EV_ERROR;
  ev.error = err;
  ev.error_code = code;
  ev.error_message = text;
  emit(p->child, &ev);
  /* A primary that breaks the protocol is treated as gone. */
  sim__channel_disconnect(ch);
}

static void on_closed(sim__channel_t *ch)
{
  (void)ch;
}

static const sim__channel_ops_t child_ops = {
  .message = on_message,
  .internal = on_internal,
  .disconnect = on_disconnect,
  .error = on_error,
  .closed = on_closed,
};

/* ---------------------------------------------------------------------- */
/* Init                                                                    */

int sim_child_init(uv_loop_t *loop, sim_child_t *child,
                   sim_child_event_cb event_cb)
{
  const char *id = getenv("NODE_UNIQUE_ID");
  const char *fd = getenv("NODE_CHANNEL_FD");
  const char *mode = getenv("NODE_CHANNEL_SERIALIZATION_MODE");
  struct sim__child_priv *p;
  cJSON *online;
  char *end;
  long n;
  int err, advanced;

  memset(child, 0, sizeof(*child));
  child->loop = loop;
  child->event_cb = event_cb;
  if (id == NULL || fd == NULL)
    return UV_ENOENT;
  /* As Node's child: unset or empty is 'json'. */
  if (mode != NULL && *mode != '\0' && strcmp(mode, "json") != 0 &&
      strcmp(mode, "advanced") != 0)
    return UV_ENOTSUP;
  n = strtol(fd, &end, 10);
  if (*fd == '\0' || *end != '\0' || n < 0)
    return UV_EINVAL;
  child->id = (unsigned)strtoul(id, NULL, 10);
  advanced = mode != NULL && strcmp(mode, "advanced") == 0;
  /* Grandchildren of a worker are not cluster workers. */
  unsetenv("NODE_UNIQUE_ID");
  unsetenv("NODE_CHANNEL_FD");
  unsetenv("NODE_CHANNEL_SERIALIZATION_MODE");

  p = calloc(1, sizeof(*p));
  if (p == NULL)
    return UV_ENOMEM;
  p->child = child;
  p->ead = -1;
  p->state = C_ONLINE;
  err = sim__tick_init(loop, &p->tick);
  if (err != 0)
    goto fail;
  err = sim__channel_init(loop, &p->channel, &child_ops, &p->tick, &p->seq);
  if (err != 0)
    goto fail;
  p->channel.data = p;
  if (advanced)
    sim__channel_set_advanced(&p->channel);
  err = sim__channel_open(&p->channel, (int)n);
  if (err == 0)
    err = sim__channel_start(&p->channel);
  if (err != 0)
    goto fail;
  child->priv = p;
  online = cJSON_CreateObject();
  if (online == NULL)
    return UV_ENOMEM;
  cJSON_AddStringToObject(online, "act", "online");
  return sim__child_send_cluster(child, online);

fail:
  free(p);
  return err;
}

int sim_child_send(sim_child_t *child, const cJSON *message,
                   uv_stream_t *handle, sim_send_cb cb, void *arg)
{
  if (!child->priv->channel.connected)
    return UV_EPIPE;
  return sim__channel_send(&child->priv->channel, message, handle, cb, arg);
}

int sim_child_is_connected(const sim_child_t *child)
{
  return child->priv->channel.connected;
}

int sim_child_channel_fd(const sim_child_t *child)
{
  uv_os_fd_t fd;
  int err;

  if (!child->priv->channel.connected)
    return UV_ENOTCONN;
  err = uv_fileno((const uv_handle_t *)&child->priv->channel.pipe, &fd);
  return err != 0 ? err : fd;
}

int sim_child_exited_after_disconnect(const sim_child_t *child)
{
  return child->priv->ead;
}

const char *sim_child_state(const sim_child_t *child)
{
  return child_states[child->priv->state];
}

void sim_child_close(sim_child_t *child)
{
  struct sim__child_priv *p = child->priv;

  if (p == NULL)
    return;
  sim__channel_close(&p->channel);
  sim__tick_close(&p->tick, NULL, NULL);
}
