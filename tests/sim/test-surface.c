/*
 * test-surface.c - the rest of Node's cluster surface in sim/: servers on
 * UNIX-socket paths and UDP sockets through the primary, handles sent with
 * messages both ways (and the messages queued behind them), silent
 * workers' output, execArgv and the `setup` event's settings.
 *
 * Every row runs a sim primary with real workers: clustersim's (C) and
 * Node's worker agent (agents/node/worker.cjs on node:cluster), so the
 * library is checked against real Node on the other end of each channel.
 * UDP runs with both: a C worker takes the shared UDP socket the primary
 * sends with its listen reply.
 *
 * Skipped (77) when `node` is not on PATH.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base.h"
#include "simtest.h"

#define TIMEOUT_MS 20000u
#define REQUESTS 4

typedef enum { W_C, W_NODE } wkind_t;

static const char *node;
static char workdir[64];
static char sock_path[128];

/* A primary whose workers are clustersim's or Node's worker agent. */
static void init_kind(st_ctx_t *t, int policy, wkind_t k, st_event_fn fn)
{
  static char script[4096];
  static const char *nargs[2];
  static const char *const cargs[] = { "worker", NULL };

  if (k == W_NODE) {
    snprintf(script, sizeof(script), "%s/../../agents/node/worker.cjs",
             st_srcdir());
    nargs[0] = script;
    st_init(t, policy, node, nargs, fn);
  } else {
    st_init(t, policy, NULL, cargs, fn);
  }
}

/* fork(env) with a behaviour (a JSON text). */
static sim_worker_t *fork_with(st_ctx_t *t, const char *behaviour)
{
  static char var[4096];
  const char *env[2] = { var, NULL };

  snprintf(var, sizeof(var), "CLUSTERSIM_WORKER=%s", behaviour);
  return st_fork_env(t, env);
}

static const char *kind_name(wkind_t k)
{
  return k == W_C ? "clustersim" : "node";
}

/* ---------------------------------------------------------------------- */
/* A client of a UNIX socket (HTTP, Connection: close)                    */

typedef struct {
  uv_pipe_t pipe;
  uv_connect_t req;
  uv_write_t wreq;
  char buf[2048];
  size_t len;
  int worker;                /* X-Worker, -1 if none */
  int open;
  void (*done)(st_ctx_t *t, int worker);
  st_ctx_t *t;
} pclient_t;

static void pc_closed(uv_handle_t *h)
{
  pclient_t *c = h->data;

  c->open = 0;
  if (!c->t->finishing)
    c->done(c->t, c->worker);
}

static void pc_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
  pclient_t *c = h->data;
  static char scratch[1024];

  (void)hint;
  buf->base = c->len + 1 < sizeof(c->buf) ? c->buf + c->len : scratch;
  buf->len = c->len + 1 < sizeof(c->buf) ? sizeof(c->buf) - 1 - c->len
                                         : sizeof(scratch);
}

static void pc_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
  pclient_t *c = s->data;
  const char *x;

  if (nread > 0 && buf->base == c->buf + c->len)
    c->len += (size_t)nread;
  if (nread >= 0)
    return;
  c->buf[c->len] = '\0';
  x = strcasestr(c->buf, "\r\nX-Worker:");
  c->worker = x != NULL ? atoi(x + 11) : -1;
  uv_close((uv_handle_t *)&c->pipe, pc_closed);
}

static void pc_connected(uv_connect_t *req, int status)
{
  pclient_t *c = req->data;
  static const char get[] =
      "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  uv_buf_t b = uv_buf_init((char *)get, sizeof(get) - 1);

  if (status != 0 ||
      uv_write(&c->wreq, (uv_stream_t *)&c->pipe, &b, 1, NULL) != 0 ||
      uv_read_start((uv_stream_t *)&c->pipe, pc_alloc, pc_read) != 0)
    uv_close((uv_handle_t *)&c->pipe, pc_closed);
}

static void pc_get(st_ctx_t *t, pclient_t *c, const char *path,
                   void (*done)(st_ctx_t *t, int worker))
{
  memset(c, 0, sizeof(*c));
  c->t = t;
  c->done = done;
  c->worker = -1;
  TEST_CHECK(uv_pipe_init(&t->loop, &c->pipe, 0) == 0, "pipe");
  c->pipe.data = c;
  c->req.data = c;
  c->open = 1;
  uv_pipe_connect(&c->req, &c->pipe, path, pc_connected);
}

/* ---------------------------------------------------------------------- */
/* UNIX-socket servers                                                     */

typedef struct {
  const char *name;
  int policy;
  wkind_t kind;
} unix_row_t;

static const unix_row_t unix_rows[] = {
  { "unix_rr_clustersim_workers", SIM_SCHED_RR, W_C },
  { "unix_none_clustersim_workers", SIM_SCHED_NONE, W_C },
  { "unix_rr_node_workers", SIM_SCHED_RR, W_NODE },
  { "unix_none_node_workers", SIM_SCHED_NONE, W_NODE },
};

static pclient_t pclient;
static int answers[REQUESTS];
static int nanswers;

static void unix_answered(st_ctx_t *t, int worker)
{
  answers[nanswers++] = worker;
  if (nanswers < REQUESTS)
    pc_get(t, &pclient, sock_path, unix_answered);
  else
    (void)sim_cluster_disconnect(&t->cluster, NULL, NULL);
}

static void unix_event(st_ctx_t *t, const sim_event_t *ev,
                       const st_event_t *rec)
{
  (void)rec;
  if (ev->type == SIM_EV_LISTENING && ev->emitter == SIM_ON_CLUSTER &&
      st_count(t, 0, SIM_EV_LISTENING, SIM_ON_CLUSTER) == 2)
    pc_get(t, &pclient, sock_path, unix_answered);
  if (ev->type == SIM_EV_EXIT && ev->emitter == SIM_ON_CLUSTER &&
      st_count(t, 0, SIM_EV_EXIT, SIM_ON_CLUSTER) == 2)
    st_finish_after(t, 50);
}

static void unix_body(void)
{
  const unix_row_t *row = TEST_ROW(unix_rows);
  static const st_life_t life = { 1, -1, 0, NULL, 1, 1, 1, 1, 1, 0, 0 };
  static st_ctx_t t;
  char behaviour[512];

  nanswers = 0;
  TEST_CHECK(mkdtemp(strcpy(workdir, "/tmp/simtest-unix-XXXXXX")) != NULL,
             "mkdtemp");
  snprintf(sock_path, sizeof(sock_path), "%s/http.sock", workdir);
  snprintf(behaviour, sizeof(behaviour),
           "{\"servers\":[{\"kind\":\"http\",\"path\":\"%s\"}]}", sock_path);
  init_kind(&t, row->policy, row->kind, unix_event);
  (void)fork_with(&t, behaviour);
  (void)fork_with(&t, behaviour);
  st_run(&t, TIMEOUT_MS);
  st_check_pairs(&t);
  st_check_life(&t, 1, &life);
  st_check_life(&t, 2, &life);
  for (size_t i = 0; i < t.nev; i++) {
    const st_event_t *r = &t.ev[i];
    if (r->type != SIM_EV_LISTENING)
      continue;
    /* Node's {addressType: -1, address: <path>, port: -1, fd: undefined} */
    TEST_CHECK(r->addr_type == -1 && strcmp(r->addr, sock_path) == 0 &&
                   r->port == -1 && r->fd == -1,
               "%s listening {%d, %s, %d, %d}", kind_name(row->kind),
               r->addr_type, r->addr, r->port, r->fd);
  }
  TEST_CHECK(nanswers == REQUESTS, "%d of %d requests answered", nanswers,
             REQUESTS);
  for (int i = 0; i < nanswers; i++)
    TEST_CHECK(answers[i] == 1 || answers[i] == 2, "answered by %d",
               answers[i]);
  TEST_CHECK(access(sock_path, F_OK) != 0,
             "the path outlived its last server");
  (void)unlink(sock_path);
  (void)rmdir(workdir);
}

static void run_unix(void)
{
  st_isolate(unix_body, TIMEOUT_MS);
}

/* ---------------------------------------------------------------------- */
/* UDP                                                                     */

static const unix_row_t udp_rows[] = {
  { "udp_shared_under_rr_clustersim_workers", SIM_SCHED_RR, W_C },
  { "udp_shared_under_none_clustersim_workers", SIM_SCHED_NONE, W_C },
  { "udp_shared_under_rr_node_workers", SIM_SCHED_RR, W_NODE },
  { "udp_shared_under_none_node_workers", SIM_SCHED_NONE, W_NODE },
};

#define DATAGRAMS 10

static uv_udp_t udp_client;
static int udp_port, udp_replies, udp_bad;
static char udp_rbuf[256];

static void udp_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
  (void)h;
  (void)hint;
  buf->base = udp_rbuf;
  buf->len = sizeof(udp_rbuf) - 1;
}

static void udp_send_one(st_ctx_t *t)
{
  struct sockaddr_in sa;
  uv_buf_t b = uv_buf_init((char *)"hello", 5);

  (void)t;
  uv_ip4_addr("127.0.0.1", udp_port, &sa);
  TEST_CHECK(uv_udp_try_send(&udp_client, &b, 1, (struct sockaddr *)&sa) == 5,
             "send a datagram");
}

static void udp_recv(uv_udp_t *u, ssize_t n, const uv_buf_t *buf,
                     const struct sockaddr *from, unsigned flags)
{
  st_ctx_t *t = u->data;

  (void)flags;
  if (n <= 0 || from == NULL || t->finishing)
    return;
  buf->base[n] = '\0';
  if (strcmp(buf->base, "worker 1\n") != 0 &&
      strcmp(buf->base, "worker 2\n") != 0)
    udp_bad++;
  if (++udp_replies < DATAGRAMS)
    udp_send_one(t);
  else
    (void)sim_cluster_disconnect(&t->cluster, NULL, NULL);
}

static void udp_close_client(st_ctx_t *t)
{
  (void)t;
  uv_close((uv_handle_t *)&udp_client, NULL);
}

static void udp_event(st_ctx_t *t, const sim_event_t *ev,
                      const st_event_t *rec)
{
  (void)rec;
  if (ev->type == SIM_EV_LISTENING && ev->emitter == SIM_ON_CLUSTER) {
    const sim_address_t *a = ev->address;
    /* {addressType: "udp4", address: "127.0.0.1", port, fd: -1} */
    TEST_CHECK(a->udp == 4 && a->fd_defined && a->fd == -1 &&
                   a->address != NULL &&
                   strcmp(a->address, "127.0.0.1") == 0 && a->port > 0,
               "udp listening {udp%d, %s, %d, fd %d/%d}", a->udp,
               a->address ? a->address : "null", a->port, a->fd,
               a->fd_defined);
    TEST_CHECK(udp_port == 0 || udp_port == a->port,
               "one shared socket: ports %d and %d", udp_port, a->port);
    udp_port = a->port;
    if (st_count(t, 0, SIM_EV_LISTENING, SIM_ON_CLUSTER) == 2)
      udp_send_one(t);
  }
  if (ev->type == SIM_EV_EXIT && ev->emitter == SIM_ON_CLUSTER &&
      st_count(t, 0, SIM_EV_EXIT, SIM_ON_CLUSTER) == 2)
    st_finish_after(t, 50);
}

static void udp_body(void)
{
  const unix_row_t *row = TEST_ROW(udp_rows);
  static const st_life_t life = { 1, -1, 0, NULL, 1, 1, 1, 1, 1, 0, 0 };
  static const char behaviour[] =
      "{\"servers\":[{\"kind\":\"udp4\",\"port\":0,\"host\":\"127.0.0.1\"}]}";
  static st_ctx_t t;
  struct sockaddr_in any;

  udp_port = udp_replies = udp_bad = 0;
  init_kind(&t, row->policy, row->kind, udp_event);
  t.on_finish = udp_close_client;
  TEST_CHECK(uv_udp_init(&t.loop, &udp_client) == 0, "udp client");
  udp_client.data = &t;
  uv_ip4_addr("127.0.0.1", 0, &any);
  TEST_CHECK(uv_udp_bind(&udp_client, (struct sockaddr *)&any, 0) == 0 &&
                 uv_udp_recv_start(&udp_client, udp_alloc, udp_recv) == 0,
             "udp client bind");
  (void)fork_with(&t, behaviour);
  (void)fork_with(&t, behaviour);
  st_run(&t, TIMEOUT_MS);
  st_check_pairs(&t);
  st_check_life(&t, 1, &life);
  st_check_life(&t, 2, &life);
  TEST_CHECK(udp_replies == DATAGRAMS && udp_bad == 0,
             "%d of %d datagrams answered, %d badly", udp_replies, DATAGRAMS,
             udp_bad);
}

static void run_udp(void)
{
  st_isolate(udp_body, TIMEOUT_MS);
}

/* ---------------------------------------------------------------------- */
/* Handles with messages                                                   */

typedef enum { H_SOCKET, H_SERVER, H_UP } hmode_t;

typedef struct {
  const char *name;
  wkind_t kind;
  hmode_t mode;
} handle_row_t;

static const handle_row_t handle_rows[] = {
  { "socket_to_clustersim_worker_then_queued_messages", W_C, H_SOCKET },
  { "socket_to_node_worker_then_queued_messages", W_NODE, H_SOCKET },
  { "server_to_clustersim_worker", W_C, H_SERVER },
  { "server_to_node_worker", W_NODE, H_SERVER },
  { "socket_from_clustersim_worker", W_C, H_UP },
  { "socket_from_node_worker", W_NODE, H_UP },
};

static const handle_row_t *hrow;
static uv_tcp_t hserver;
static int hserver_open, hport, hserved, hgot_up, hworker_emitter_handle;
static st_client_t hclient;

static void close_free(uv_handle_t *h)
{
  free(h);
}

static void h_sent(int status, void *arg)
{
  TEST_CHECK(status == 0, "send with a handle: %s", uv_err_name(status));
  /* Not keepOpen: the sender's copy goes once it is written. */
  uv_close((uv_handle_t *)arg, hrow->mode == H_SERVER ? NULL : close_free);
  if (hrow->mode == H_SERVER)
    hserver_open = 0;
}

static void h_served(st_client_t *c)
{
  st_ctx_t *t = c->ctx;

  hserved = c->worker;
  if (hrow->mode == H_SERVER)
    TEST_CHECK(st_fault(t, 1, "{\"cmd\":\"close-servers\"}") == 0, "fault");
  (void)sim_cluster_disconnect(&t->cluster, NULL, NULL);
}

/* The case's own server: its connections are sent (socket), or it is
 * (server), or the worker connects to it (up). */
static void h_connection(uv_stream_t *server, int status)
{
  st_ctx_t *t = server->data;
  uv_tcp_t *conn = malloc(sizeof(*conn));
  sim_worker_t *w = sim_cluster_find(&t->cluster, 1);
  cJSON *m = cJSON_Parse("{\"route\":1}");

  if (status != 0 || conn == NULL || uv_tcp_init(server->loop, conn) != 0 ||
      uv_accept(server, (uv_stream_t *)conn) != 0) {
    free(conn);
    cJSON_Delete(m);
    return;
  }
  if (hrow->mode == H_SOCKET) {
    /* Two messages right behind the handle: they wait for its ACK. */
    TEST_CHECK(sim_worker_send(w, m, (uv_stream_t *)conn, h_sent, conn) == 0,
               "send the connection");
    TEST_CHECK(st_send(w, "{\"after\":1}") == 0 &&
                   st_send(w, "{\"after\":2}") == 0,
               "send messages");
  } else {
    uv_close((uv_handle_t *)conn, close_free);
  }
  cJSON_Delete(m);
}

static void h_listen_here(st_ctx_t *t)
{
  struct sockaddr_in sa;
  int len = sizeof(sa);

  uv_ip4_addr("127.0.0.1", 0, &sa);
  TEST_CHECK(uv_tcp_init(&t->loop, &hserver) == 0 &&
                 uv_tcp_bind(&hserver, (struct sockaddr *)&sa, 0) == 0 &&
                 uv_listen((uv_stream_t *)&hserver, 16, h_connection) == 0,
             "the case's server");
  hserver.data = t;
  hserver_open = 1;
  uv_tcp_getsockname(&hserver, (struct sockaddr *)&sa, &len);
  hport = ntohs(sa.sin_port);
}

static void h_on_online(st_ctx_t *t, sim_worker_t *w)
{
  char fault[128];
  cJSON *m;

  h_listen_here(t);
  if (hrow->mode == H_SOCKET) {
    TEST_CHECK(st_client_get(t, &hclient, hport, h_served) == 0, "client");
  } else if (hrow->mode == H_SERVER) {
    m = cJSON_Parse("{\"server\":1}");
    TEST_CHECK(sim_worker_send(w, m, (uv_stream_t *)&hserver, h_sent,
                               &hserver) == 0,
               "send the server");
    cJSON_Delete(m);
  } else {
    snprintf(fault, sizeof(fault),
             "{\"cmd\":\"send-handle\",\"port\":%d,\"message\":{\"up\":1}}",
             hport);
    TEST_CHECK(st_fault(t, 1, fault) == 0, "fault");
  }
}

static void h_disconnect(st_ctx_t *t, void *arg)
{
  (void)arg;
  (void)sim_cluster_disconnect(&t->cluster, NULL, NULL);
}

static void h_event(st_ctx_t *t, const sim_event_t *ev, const st_event_t *rec)
{
  if (ev->type == SIM_EV_ONLINE && ev->emitter == SIM_ON_CLUSTER)
    h_on_online(t, ev->worker);
  if (ev->type == SIM_EV_MESSAGE && hrow->mode == H_UP) {
    if (ev->emitter == SIM_ON_WORKER) {
      hworker_emitter_handle |= ev->handle != NULL;
    } else if (ev->handle != NULL) {
      TEST_CHECK(ev->handle->type == UV_TCP &&
                     strcmp(rec->text, "{\"up\":1}") == 0,
                 "a TCP handle with {\"up\":1}: %s", rec->text);
      hgot_up++;
      /* After the Worker's twin of this event. */
      st_timer(t, 0, h_disconnect, NULL);
    }
  }
  if (ev->type == SIM_EV_EXIT && ev->emitter == SIM_ON_CLUSTER)
    st_finish_after(t, 50);
}

static void h_observe(st_ctx_t *t, unsigned id, const char *what,
                      const cJSON *obs)
{
  const cJSON *port = cJSON_GetObjectItemCaseSensitive(obs, "port");

  (void)id;
  if (strcmp(what, "handle") == 0 && hrow->mode == H_SERVER &&
      cJSON_IsNumber(port)) {
    TEST_CHECK(port->valuedouble == hport, "listens on %g, sent %d",
               port->valuedouble, hport);
    TEST_CHECK(st_client_get(t, &hclient, hport, h_served) == 0, "client");
  }
}

static void h_finish(st_ctx_t *t)
{
  (void)t;
  if (hserver_open && !uv_is_closing((uv_handle_t *)&hserver))
    uv_close((uv_handle_t *)&hserver, NULL);
}

/* The order of a worker's observations: the handle before the messages
 * sent behind it. */
static void h_check_order(const st_ctx_t *t)
{
  int handle = -1, msgs[2] = { -1, -1 }, n = 0;

  for (size_t i = 0; i < t->nev; i++) {
    if (t->ev[i].type != ST_EV_MARK)
      continue;
    if (strcmp(t->ev[i].text, "observe:handle") == 0 && handle < 0)
      handle = (int)i;
    if (strcmp(t->ev[i].text, "observe:message") == 0 && n < 2)
      msgs[n++] = (int)i;
  }
  TEST_CHECK(handle >= 0 && n == 2 && handle < msgs[0],
             "handle then the two messages: %d, %d, %d", handle, msgs[0],
             msgs[1]);
}

static void handle_body(void)
{
  static st_ctx_t t;

  hrow = TEST_ROW(handle_rows);
  hserved = hgot_up = hworker_emitter_handle = hserver_open = 0;
  init_kind(&t, SIM_SCHED_RR, hrow->kind, h_event);
  t.on_observe = h_observe;
  t.on_finish = h_finish;
  (void)fork_with(&t, "{\"adopt\":{\"kind\":\"http\"},\"messages\":\"echo\"}");
  st_run(&t, TIMEOUT_MS);
  st_check_pairs(&t);
  if (hrow->mode != H_UP)
    TEST_CHECK(hserved == 1, "%s worker served what was sent: X-Worker %d",
               kind_name(hrow->kind), hserved);
  if (hrow->mode == H_SOCKET) {
    h_check_order(&t);
    /* The echoes of the queued messages came back in order. */
    TEST_CHECK(st_count(&t, 1, SIM_EV_MESSAGE, SIM_ON_CLUSTER) == 2,
               "two echoes");
  }
  if (hrow->mode == H_UP)
    TEST_CHECK(hgot_up == 1 && !hworker_emitter_handle,
               "one handle, to the cluster's listener only (%d, %d)",
               hgot_up, hworker_emitter_handle);
}

static void run_handle(void)
{
  st_isolate(handle_body, TIMEOUT_MS);
}

/* ---------------------------------------------------------------------- */
/* Silent output                                                           */

static const unix_row_t output_rows[] = {
  { "silent_output_of_clustersim_worker", 0, W_C },
  { "silent_output_of_node_worker", 0, W_NODE },
};

static base_buf_t out_text[3];
static int out_ends[3];

static void on_output(sim_cluster_t *c, sim_worker_t *w, int fd,
                      const char *data, size_t len)
{
  (void)c;
  TEST_CHECK(sim_worker_id(w) == 1 && (fd == 1 || fd == 2), "fd %d", fd);
  if (data == NULL)
    out_ends[fd]++;
  else
    (void)base_buf_append(&out_text[fd], data, len);
}

static void output_observe(st_ctx_t *t, unsigned id, const char *what,
                           const cJSON *obs)
{
  (void)id;
  (void)obs;
  if (strcmp(what, "started") == 0)
    (void)sim_cluster_disconnect(&t->cluster, NULL, NULL);
}

static void output_event(st_ctx_t *t, const sim_event_t *ev,
                         const st_event_t *rec)
{
  (void)rec;
  if (ev->type == SIM_EV_EXIT && ev->emitter == SIM_ON_CLUSTER)
    st_finish_after(t, 300);
}

static void output_body(void)
{
  const unix_row_t *row = TEST_ROW(output_rows);
  static st_ctx_t t;
  sim_settings_t s = { 0 };

  for (int i = 0; i < 3; i++) {
    base_buf_free(&out_text[i]);
    out_ends[i] = 0;
  }
  init_kind(&t, 0, row->kind, output_event);
  t.on_observe = output_observe;
  t.cluster.output_cb = on_output;
  s.silent = 1;
  TEST_CHECK(sim_cluster_setup(&t.cluster, &s) == 0, "silent");
  (void)fork_with(&t, "{\"output\":[{\"stream\":\"stdout\",\"line\":\"one\","
                      "\"repeat\":2},{\"stream\":\"stderr\",\"line\":"
                      "\"two\"}]}");
  st_run(&t, TIMEOUT_MS);
  st_check_pairs(&t);
  TEST_CHECK(out_text[1].len == 8 && memcmp(out_text[1].base, "one\none\n",
                                            8) == 0,
             "stdout of the %s worker: %.*s", kind_name(row->kind),
             (int)out_text[1].len, out_text[1].base ? out_text[1].base : "");
  TEST_CHECK(out_text[2].len == 4 && memcmp(out_text[2].base, "two\n", 4) == 0,
             "stderr: %.*s", (int)out_text[2].len,
             out_text[2].base ? out_text[2].base : "");
  TEST_CHECK(out_ends[1] == 1 && out_ends[2] == 1,
             "one end per stream: %d, %d", out_ends[1], out_ends[2]);
}

static void run_output(void)
{
  st_isolate(output_body, TIMEOUT_MS);
}

/* ---------------------------------------------------------------------- */
/* Settings                                                                */

static int setups;
static int exec_argv_seen;

static void settings_event(st_ctx_t *t, const sim_event_t *ev,
                           const st_event_t *rec)
{
  const sim_settings_t *s = ev->settings;

  (void)rec;
  if (ev->type == SIM_EV_SETUP) {
    setups++;
    /* Each call's own settings, though emitted on a later turn. */
    if (setups == 2)
      TEST_CHECK(s->silent == 1 && s->exec_argv[0] == NULL &&
                     s->cwd == NULL && strcmp(s->serialization, "json") == 0,
                 "the first call's settings");
    if (setups == 3)
      TEST_CHECK(s->silent == 1 && s->exec_argv[0] != NULL &&
                     strcmp(s->exec_argv[0], "--no-warnings") == 0 &&
                     s->exec_argv[1] == NULL && s->cwd != NULL &&
                     strcmp(s->cwd, "/") == 0 &&
                     strcmp(s->args[0] + strlen(s->args[0]) - 10,
                            "worker.cjs") == 0,
                 "the second call's settings");
  }
  if (ev->type == SIM_EV_EXIT && ev->emitter == SIM_ON_CLUSTER)
    st_finish_after(t, 50);
}

static void settings_observe(st_ctx_t *t, unsigned id, const char *what,
                             const cJSON *obs)
{
  const cJSON *x = cJSON_GetObjectItemCaseSensitive(obs, "execArgv");
  const cJSON *a = cJSON_GetObjectItemCaseSensitive(obs, "args");

  (void)id;
  if (strcmp(what, "started") != 0)
    return;
  /* Node's layout: execPath, execArgv, the script, args. */
  exec_argv_seen = cJSON_GetArraySize(x) == 1 &&
                   strcmp(cJSON_GetArrayItem(x, 0)->valuestring,
                          "--no-warnings") == 0 &&
                   cJSON_GetArraySize(a) == 0;
  (void)sim_cluster_disconnect(&t->cluster, NULL, NULL);
}

static void settings_body(void)
{
  static const char *const x[] = { "--no-warnings", NULL };
  static st_ctx_t t;
  sim_settings_t a = { 0 }, b = { 0 };

  setups = exec_argv_seen = 0;
  init_kind(&t, 0, W_NODE, settings_event);
  t.on_observe = settings_observe;
  a.silent = 1;
  b.exec_argv = x;
  b.cwd = "/";
  TEST_CHECK(sim_cluster_setup(&t.cluster, &a) == 0 &&
                 sim_cluster_setup(&t.cluster, &b) == 0,
             "two setups");
  (void)fork_with(&t, "{}");
  st_run(&t, TIMEOUT_MS);
  TEST_CHECK(setups == 4, "%d setup events, want 4 (init, two, fork)",
             setups);
  TEST_CHECK(exec_argv_seen, "the Node worker ran with execArgv and no args");
}

static void setup_event_settings_and_exec_argv(void)
{
  st_isolate(settings_body, TIMEOUT_MS);
}

/* clustersim takes no option before its command: an execArgv ends a C
 * worker at once (exit 64), as a bad Node option ends a Node worker. */
static void refused_event(st_ctx_t *t, const sim_event_t *ev,
                          const st_event_t *rec)
{
  (void)rec;
  if (ev->type == SIM_EV_EXIT && ev->emitter == SIM_ON_CLUSTER)
    st_finish_after(t, 50);
}

static void refused_body(void)
{
  static const char *const x[] = { "--inspect", NULL };
  static const st_life_t life = { 0, -1, 0, NULL, 0, 1, 1, 0, 0, 64, 0 };
  static st_ctx_t t;
  sim_settings_t s = { 0 };

  init_kind(&t, 0, W_C, refused_event);
  s.exec_argv = x;
  TEST_CHECK(sim_cluster_setup(&t.cluster, &s) == 0, "setup");
  (void)fork_with(&t, "{}");
  st_run(&t, TIMEOUT_MS);
  st_check_life(&t, 1, &life);
}

static void exec_argv_refused_by_clustersim(void)
{
  st_isolate(refused_body, TIMEOUT_MS);
}

/* ---------------------------------------------------------------------- */

#define ROWS(r) (sizeof(r) / sizeof(r[0]))

static CU_TestInfo unix_tests[ROWS(unix_rows) + 1];
static CU_TestInfo udp_tests[ROWS(udp_rows) + 1];
static CU_TestInfo handle_tests[ROWS(handle_rows) + 1];
static CU_TestInfo output_tests[ROWS(output_rows) + 1];
static CU_TestInfo settings_tests[] = {
  { "setup_event_settings_and_exec_argv",
    setup_event_settings_and_exec_argv },
  { "exec_argv_refused_by_clustersim", exec_argv_refused_by_clustersim },
  CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
  CU_SuiteInfo suites[] = {
    { .pName = "unix", .pTests = unix_tests },
    { .pName = "udp", .pTests = udp_tests },
    { .pName = "handles", .pTests = handle_tests },
    { .pName = "output", .pTests = output_tests },
    { .pName = "settings", .pTests = settings_tests },
    CU_SUITE_INFO_NULL,
  };

  node = st_which("node");
  if (node == NULL && argc == 1) {
    printf("node not found on PATH\n");
    return 77;
  }
  TEST_ROWS_FILL(unix_tests, unix_rows, run_unix);
  TEST_ROWS_FILL(udp_tests, udp_rows, run_udp);
  TEST_ROWS_FILL(handle_tests, handle_rows, run_handle);
  TEST_ROWS_FILL(output_tests, output_rows, run_output);
  return test_main(argc, argv, suites, st_roles);
}
