/*
 * primary-metrics.c - the metrics policy (docs/protocol.md §2.1): GET
 * /metrics on 127.0.0.1 answers {"workers","forks","exits","respawns"};
 * anything else is 404 (agents/node/lib/metrics.cjs).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <http_parser.h>

#include "primary-internal.h"

/* Connections served at once; more are closed at once. */
#define PRIMARY_METRICS_MAX_CONNS 64
#define PRIMARY_METRICS_MAX_URL 2048

typedef struct primary_metrics_conn_s {
  uv_tcp_t tcp;
  http_parser parser;
  char url[PRIMARY_METRICS_MAX_URL];
  size_t url_len;
  int url_too_long;
  struct primary_metrics_conn_s *next;
} primary_metrics_conn_t;

typedef struct {
  uv_write_t req;
  primary_metrics_conn_t *conn;
  int last;
  char text[512];
} primary_metrics_write_t;

static uv_tcp_t *primary_metrics_server;
static primary_metrics_conn_t *primary_metrics_conns;
static unsigned primary_metrics_nconns;
static int primary_metrics_port;
static cJSON *primary_metrics_error;

int primary__metrics_configure(const cJSON *v, primary__metrics_conf_t *next,
                               char *err, size_t n)
{
  const cJSON *port;

  memset(next, 0, sizeof(*next));
  if (cJSON_IsNull(v) || cJSON_IsFalse(v))
    return 0;
  if (!ctl_is_object(v)) {
    snprintf(err, n, "metrics must be an object or null");
    return UV_EINVAL;
  }
  port = cJSON_GetObjectItemCaseSensitive(v, "port");
  if (port != NULL && !ctl_is_int(port, 0, 65535)) {
    snprintf(err, n, "metrics.port must be 0..65535");
    return UV_EINVAL;
  }
  next->on = 1;
  next->port = port != NULL ? (int)port->valuedouble : 0;
  return 0;
}

/* ---------------------------------------------------------------------- */
/* Connections                                                             */

static void primary_metrics_conn_closed(uv_handle_t *h)
{
  primary_metrics_conn_t *c = h->data;

  for (primary_metrics_conn_t **pp = &primary_metrics_conns; *pp != NULL;
       pp = &(*pp)->next) {
    if (*pp == c) {
      *pp = c->next;
      break;
    }
  }
  primary_metrics_nconns--;
  free(c);
}

static void primary_metrics_conn_end(primary_metrics_conn_t *c)
{
  if (!uv_is_closing((uv_handle_t *)&c->tcp))
    uv_close((uv_handle_t *)&c->tcp, primary_metrics_conn_closed);
}

static void primary_metrics_written(uv_write_t *req, int status)
{
  primary_metrics_write_t *w = req->data;

  if ((status != 0 || w->last) && status != UV_ECANCELED)
    primary_metrics_conn_end(w->conn);
  free(w);
}

static int primary_metrics_on_url(http_parser *p, const char *at, size_t len)
{
  primary_metrics_conn_t *c = p->data;

  if (c->url_len + len >= sizeof(c->url)) {
    c->url_too_long = 1;
    return 0;
  }
  memcpy(c->url + c->url_len, at, len);
  c->url_len += len;
  c->url[c->url_len] = '\0';
  return 0;
}

static int primary_metrics_on_begin(http_parser *p)
{
  primary_metrics_conn_t *c = p->data;

  c->url_len = 0;
  c->url[0] = '\0';
  c->url_too_long = 0;
  return 0;
}

static int primary_metrics_on_complete(http_parser *p)
{
  primary_metrics_conn_t *c = p->data;
  primary_metrics_write_t *w = calloc(1, sizeof(*w));
  int keep = http_should_keep_alive(p);
  char body[256];
  uv_buf_t buf;
  int n;

  if (w == NULL)
    return 1;
  if (p->method == HTTP_GET && !c->url_too_long &&
      strcmp(c->url, "/metrics") == 0) {
    snprintf(body, sizeof(body),
             "{\"workers\":%u,\"forks\":%u,\"exits\":%u,\"respawns\":%u}",
             sim_cluster_count(&primary__agent.cluster), primary__agent.forks,
             primary__agent.exits, primary__agent.respawns);
    n = snprintf(w->text, sizeof(w->text),
                 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                 "Content-Length: %zu\r\nConnection: %s\r\n\r\n%s",
                 strlen(body), keep ? "keep-alive" : "close", body);
  } else {
    n = snprintf(w->text, sizeof(w->text),
                 "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n"
                 "Content-Length: 10\r\nConnection: %s\r\n\r\nnot found\n",
                 keep ? "keep-alive" : "close");
  }
  w->conn = c;
  w->last = !keep;
  w->req.data = w;
  buf = uv_buf_init(w->text, (unsigned)n);
  if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &buf, 1,
               primary_metrics_written) != 0) {
    free(w);
    return 1;
  }
  return 0;
}

static const http_parser_settings primary_metrics_settings = {
  .on_message_begin = primary_metrics_on_begin,
  .on_url = primary_metrics_on_url,
  .on_message_complete = primary_metrics_on_complete,
};

static void primary_metrics_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
  static char chunk[4096];

  (void)h;
  (void)hint;
  buf->base = chunk;
  buf->len = sizeof(chunk);
}

static void primary_metrics_read(uv_stream_t *s, ssize_t nread,
                                 const uv_buf_t *buf)
{
  primary_metrics_conn_t *c = s->data;

  if (nread < 0) {
    primary_metrics_conn_end(c);
    return;
  }
  if (http_parser_execute(&c->parser, &primary_metrics_settings, buf->base,
                          (size_t)nread) != (size_t)nread ||
      c->parser.upgrade)
    primary_metrics_conn_end(c);
}

static void primary_metrics_on_connection(uv_stream_t *server, int status)
{
  primary_metrics_conn_t *c;

  if (status != 0)
    return;
  c = calloc(1, sizeof(*c));
  if (c == NULL || uv_tcp_init(primary__agent.loop, &c->tcp) != 0) {
    free(c);
    return;
  }
  c->tcp.data = c;
  c->next = primary_metrics_conns;
  primary_metrics_conns = c;
  primary_metrics_nconns++;
  if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 ||
      primary_metrics_nconns > PRIMARY_METRICS_MAX_CONNS) {
    primary_metrics_conn_end(c);
    return;
  }
  http_parser_init(&c->parser, HTTP_REQUEST);
  c->parser.data = c;
  if (uv_read_start((uv_stream_t *)&c->tcp, primary_metrics_alloc,
                    primary_metrics_read) != 0)
    primary_metrics_conn_end(c);
}

/* ---------------------------------------------------------------------- */
/* The server                                                              */

static void primary_metrics_server_closed(uv_handle_t *h)
{
  free(h);
}

void primary__metrics_close(void)
{
  if (primary_metrics_server != NULL) {
    uv_close((uv_handle_t *)primary_metrics_server,
             primary_metrics_server_closed);
    primary_metrics_server = NULL;
  }
  /* server.closeAllConnections(): in flight or not. */
  for (primary_metrics_conn_t *c = primary_metrics_conns; c != NULL;
       c = c->next)
    primary_metrics_conn_end(c);
}

/* Reported after the command's reply, as Node's listen callback is. */
static void primary_metrics_report(void *arg)
{
  cJSON *m;

  (void)arg;
  if (primary_metrics_error != NULL) {
    m = primary__policy_new("metrics-error");
    if (m != NULL)
      cJSON_AddItemToObject(m, "error", primary_metrics_error);
    else
      cJSON_Delete(primary_metrics_error);
    primary_metrics_error = NULL;
    primary__send(m);
    return;
  }
  m = primary__policy_new("metrics-listening");
  if (m != NULL)
    cJSON_AddNumberToObject(m, "port", primary_metrics_port);
  primary__send(m);
}

void primary__metrics_apply(const primary__metrics_conf_t *next)
{
  struct sockaddr_storage ss;
  struct sockaddr_in sa;
  int len = sizeof(ss);
  char text[128];
  int rc;

  primary__metrics_close();
  if (!next->on)
    return;
  primary_metrics_server = malloc(sizeof(*primary_metrics_server));
  if (primary_metrics_server == NULL)
    return;
  rc = uv_tcp_init(primary__agent.loop, primary_metrics_server);
  if (rc != 0) {
    free(primary_metrics_server);
    primary_metrics_server = NULL;
  } else {
    rc = uv_ip4_addr("127.0.0.1", next->port, &sa);
    if (rc == 0)
      rc = uv_tcp_bind(primary_metrics_server, (struct sockaddr *)&sa, 0);
    if (rc == 0)
      rc = uv_listen((uv_stream_t *)primary_metrics_server, 511,
                     primary_metrics_on_connection);
    if (rc == 0)
      rc = uv_tcp_getsockname(primary_metrics_server, (struct sockaddr *)&ss,
                              &len);
    if (rc != 0)
      primary__metrics_close();
  }
  if (rc != 0) {
    cJSON_Delete(primary_metrics_error);
    primary_metrics_error = cJSON_CreateObject();
    snprintf(text, sizeof(text), "listen %s: %s 127.0.0.1:%d",
             uv_err_name(rc), uv_strerror(rc), next->port);
    if (primary_metrics_error != NULL) {
      cJSON_AddStringToObject(primary_metrics_error, "code", uv_err_name(rc));
      cJSON_AddStringToObject(primary_metrics_error, "message", text);
    }
  } else {
    primary_metrics_port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    /* The endpoint alone does not keep the agent running. */
    uv_unref((uv_handle_t *)primary_metrics_server);
  }
  primary__after_reply(primary_metrics_report, NULL);
}
