/*
 * primary-sticky.c - the sticky-session policy (docs/protocol.md §2.1), as
 * agents/node/lib/sticky.cjs: the way real sticky modules for Node do it
 * (`cluster` itself has no `connection` event). The primary listens with
 * pauseOnConnect, hashes each client's remote address to a position of a
 * table of workers, and sends the connection to that position's worker
 * with worker.send({clustersim: 'sticky'}, socket), which serves it.
 *
 * The table: one position per worker, in the order they come online, until
 * the first connection freezes its size. A worker that dies (its
 * `disconnect` or `exit`, whichever comes first) hands all its positions
 * to one worker: the owner of the next position (cyclically) that is
 * still connected; with none left they stay empty, and the first worker
 * online after that takes them all. So an address keeps its worker until
 * that worker dies, and the addresses of a dead worker move together.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "primary-internal.h"

#define PRIMARY_STICKY_MAX 4096

static primary__held_t *primary_sticky_server;
static unsigned primary_sticky_owner[PRIMARY_STICKY_MAX];
static unsigned primary_sticky_n;
static int primary_sticky_frozen;

int primary__sticky_configure(const cJSON *v, primary__sticky_conf_t *next,
                              char *err, size_t n)
{
  const cJSON *port, *host;

  memset(next, 0, sizeof(*next));
  if (cJSON_IsNull(v) || cJSON_IsFalse(v))
    return 0;
  if (!ctl_is_object(v)) {
    snprintf(err, n, "sticky must be an object or null");
    return UV_EINVAL;
  }
  port = cJSON_GetObjectItemCaseSensitive(v, "port");
  host = cJSON_GetObjectItemCaseSensitive(v, "host");
  if (port != NULL && !ctl_is_int(port, 0, 65535)) {
    snprintf(err, n, "sticky.port must be 0..65535");
    return UV_EINVAL;
  }
  if (host != NULL && (!cJSON_IsString(host) ||
                       strlen(host->valuestring) >= sizeof(next->host))) {
    snprintf(err, n, "sticky.host must be an address");
    return UV_EINVAL;
  }
  next->on = 1;
  next->port = port != NULL ? (int)port->valuedouble : 0;
  snprintf(next->host, sizeof(next->host), "%s",
           host != NULL ? host->valuestring : "127.0.0.1");
  return 0;
}

/* FNV-1a (32 bits) of the address text, as Node's socket.remoteAddress
 * spells it. */
static uint32_t primary_sticky_hash(const char *s)
{
  uint32_t h = 2166136261u;

  for (; *s != '\0'; s++) {
    h ^= (unsigned char)*s;
    h *= 16777619u;
  }
  return h;
}

static int primary_sticky_live(unsigned id)
{
  primary__record_t *rec = id != 0 ? primary__record(id) : NULL;

  return rec != NULL && sim_worker_is_connected(rec->worker) &&
         !sim_worker_is_dead(rec->worker);
}

static cJSON *primary_sticky_ids(unsigned id)
{
  cJSON *a = cJSON_CreateArray();

  for (unsigned i = 0; a != NULL && i < primary_sticky_n; i++)
    if (primary_sticky_owner[i] == id)
      cJSON_AddItemToArray(a, cJSON_CreateNumber(i));
  return a;
}

static void primary_sticky_report_move(unsigned from, unsigned to)
{
  cJSON *m = primary__policy_new("sticky-move");

  if (m == NULL)
    return;
  if (from != 0)
    cJSON_AddNumberToObject(m, "from", from);
  else
    cJSON_AddNullToObject(m, "from");
  if (to != 0)
    cJSON_AddNumberToObject(m, "to", to);
  else
    cJSON_AddNullToObject(m, "to");
  cJSON_AddItemToObject(m, "positions", primary_sticky_ids(to));
  primary__send(m);
}

/* Every position of `from` goes to one worker (or to nobody). */
static void primary_sticky_move(unsigned from)
{
  unsigned first = PRIMARY_STICKY_MAX, to = 0;

  for (unsigned i = 0; i < primary_sticky_n && first == PRIMARY_STICKY_MAX;
       i++)
    if (primary_sticky_owner[i] == from)
      first = i;
  if (first == PRIMARY_STICKY_MAX)
    return;
  for (unsigned k = 1; k < primary_sticky_n && to == 0; k++) {
    unsigned owner = primary_sticky_owner[(first + k) % primary_sticky_n];
    if (owner != from && primary_sticky_live(owner))
      to = owner;
  }
  for (unsigned i = 0; i < primary_sticky_n; i++)
    if (primary_sticky_owner[i] == from)
      primary_sticky_owner[i] = to;
  primary_sticky_report_move(from, to);
}

static void primary_sticky_online(unsigned id)
{
  int orphans = 0;

  if (!primary_sticky_frozen) {
    if (primary_sticky_n < PRIMARY_STICKY_MAX)
      primary_sticky_owner[primary_sticky_n++] = id;
    return;
  }
  for (unsigned i = 0; i < primary_sticky_n; i++)
    if (primary_sticky_owner[i] == 0) {
      primary_sticky_owner[i] = id;
      orphans = 1;
    }
  if (orphans)
    primary_sticky_report_move(0, id);
}

static void primary_sticky_freeze(void)
{
  cJSON *m, *a;

  primary_sticky_frozen = 1;
  m = primary__policy_new("sticky-table");
  if (m == NULL)
    return;
  a = cJSON_AddArrayToObject(m, "workers");
  for (unsigned i = 0; a != NULL && i < primary_sticky_n; i++)
    cJSON_AddItemToArray(a, cJSON_CreateNumber(primary_sticky_owner[i]));
  primary__send(m);
}

/* Closes a connection nobody can take: the client sees its end. */
static void primary_sticky_on_connection(primary__held_t *server,
                                         primary__held_t *conn, void *arg)
{
  char ip[64];
  primary__record_t *rec;
  unsigned owner = 0;
  cJSON *msg;

  (void)server;
  (void)arg;
  if (!primary_sticky_frozen)
    primary_sticky_freeze();
  primary__held_remote(conn, ip, sizeof(ip));
  if (primary_sticky_n > 0)
    owner = primary_sticky_owner[primary_sticky_hash(ip) % primary_sticky_n];
  rec = owner != 0 ? primary__record(owner) : NULL;
  msg = cJSON_CreateObject();
  if (rec == NULL || msg == NULL ||
      cJSON_AddStringToObject(msg, "clustersim", "sticky") == NULL) {
    cJSON_Delete(msg);
    primary__held_drop(conn);
    return;
  }
  (void)primary__held_send(conn, rec->worker, msg, 0);
  cJSON_Delete(msg);
}

void primary__sticky_stop(void)
{
  if (primary_sticky_server != NULL)
    primary__held_drop(primary_sticky_server);
  primary_sticky_server = NULL;
  primary_sticky_n = 0;
  primary_sticky_frozen = 0;
}

/* Workers already online when the policy starts take the first
 * positions, in id order. */
static void primary_sticky_seed(sim_worker_t *w, void *arg)
{
  (void)arg;
  if (sim_worker_is_connected(w) &&
      strcmp(sim_worker_state(w), "none") != 0 &&
      primary__record_of(w) != NULL)
    primary_sticky_online(sim_worker_id(w));
}

void primary__sticky_apply(const primary__sticky_conf_t *next)
{
  primary__held_t *e;
  cJSON *m;
  int rc;

  primary__sticky_stop();
  if (!next->on)
    return;
  rc = primary__server_open("", next->host, next->port, NULL,
                            primary_sticky_on_connection, NULL, &e);
  m = primary__policy_new(rc == 0 ? "sticky-listening" : "sticky-error");
  if (rc == 0) {
    primary_sticky_server = e;
    sim_cluster_foreach(&primary__agent.cluster, primary_sticky_seed, NULL);
    if (m != NULL)
      cJSON_AddNumberToObject(m, "port", primary__server_port(e));
  } else {
    if (e != NULL)
      primary__held_drop(e);
    cJSON *o = m != NULL ? cJSON_AddObjectToObject(m, "error") : NULL;
    if (o != NULL) {
      cJSON_AddStringToObject(o, "code", uv_err_name(rc));
      cJSON_AddStringToObject(o, "message", uv_strerror(rc));
    }
  }
  primary__send(m);
}

void primary__sticky_on_event(const sim_event_t *ev)
{
  unsigned id;

  if (primary_sticky_server == NULL || ev->worker == NULL ||
      primary__record_of(ev->worker) == NULL)
    return;
  id = sim_worker_id(ev->worker);
  if (ev->type == SIM_EV_ONLINE)
    primary_sticky_online(id);
  else if (ev->type == SIM_EV_DISCONNECT || ev->type == SIM_EV_EXIT)
    primary_sticky_move(id);
}
