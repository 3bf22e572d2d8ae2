/*
 * env.c - the responder's test bench: a real listener on 127.0.0.1, the
 * group under test behind it, and scripted clients that parse what comes
 * back with http-parser.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "env.h"
#include "test-support.h"

static void env_release(uv_tcp_t *conn, void *arg)
{
  env_t *env = arg;

  env->released++;
  test_tcp_release(conn, NULL);
}

static void on_group_closed(http_group_t *group, void *arg)
{
  env_t *env = arg;

  env->group_closed = true;
  env->group_closed_seq = ++env->seq;
  env->group = NULL;
}

int env_group_close(env_t *env)
{
  if (env->group_closing)
    return UV_EALREADY;
  env->group_closing = true;
  return http_group_close(env->group, on_group_closed, env);
}

static void env_finish(env_t *env)
{
  if (env->finishing)
    return;
  env->finishing = true;
  if (!env->group_closing)
    env_group_close(env);
  uv_close((uv_handle_t *)&env->listener, NULL);
  uv_close((uv_handle_t *)&env->guard, NULL);
  uv_close((uv_handle_t *)&env->poll, NULL);
}

static void on_client_closed(uv_handle_t *handle)
{
  env_client_t *client = handle->data;
  env_t *env = client->env;
  int i;

  client->done = true;
  for (i = 0; i < env->nclients; i++)
    if (!env->clients[i]->done)
      return;
  env_finish(env);
}

static void client_close(env_client_t *client)
{
  if (client->closing)
    return;
  client->closing = true;
  uv_close((uv_handle_t *)&client->tcp, on_client_closed);
}

static void on_guard(uv_timer_t *timer)
{
  env_t *env = timer->data;
  int i;

  env->timed_out = true;
  for (i = 0; i < env->nclients; i++)
    client_close(env->clients[i]);
  if (env->group != NULL)
    http_group_abort(env->group);
  env_finish(env);
}

static void on_connection(uv_stream_t *server, int status)
{
  env_t *env = server->data;
  uv_tcp_t *conn;

  if (status < 0)
    return;
  if (test_tcp_accept(server, &conn) != 0) {
    env->serve_errors++;
    return;
  }
  env->served++;
  if (env->group == NULL) {
    uv_close((uv_handle_t *)conn, test_handle_free);
    return;
  }
  if (http_group_serve(env->group, conn) < 0)
    env->serve_errors++;
}

int env_init(env_t *env, const http_opts_t *opts)
{
  int rc;

  memset(env, 0, sizeof(*env));
  rc = uv_loop_init(&env->loop);
  if (rc < 0)
    return rc;
  env->opts = *opts;
  env->opts.release = env_release;
  env->opts.release_arg = env;
  rc = http_group_new(&env->loop, &env->opts, &env->group);
  if (rc < 0)
    return rc;
  rc = test_tcp_listen(&env->loop, &env->listener, "127.0.0.1",
                       on_connection, &env->port);
  if (rc < 0)
    return rc;
  env->listener.data = env;
  uv_timer_init(&env->loop, &env->guard);
  env->guard.data = env;
  uv_timer_start(&env->guard, on_guard, ENV_GUARD_MS, 0);
  uv_timer_init(&env->loop, &env->poll);
  env->poll.data = env;
  return 0;
}

static void on_poll(uv_timer_t *timer)
{
  env_t *env = timer->data;

  if (env->poll_fn == NULL || env->poll_fn(env)) {
    env->poll_fn = NULL;
    uv_timer_stop(timer);
  }
}

void env_poll(env_t *env, bool (*fn)(env_t *env))
{
  env->poll_fn = fn;
  uv_timer_start(&env->poll, on_poll, 2, 2);
}

int env_run(env_t *env)
{
  uv_run(&env->loop, UV_RUN_DEFAULT);
  return uv_loop_close(&env->loop);
}

/* ------------------------------------------------------------------ */
/* clients                                                             */

int env_client_send(env_client_t *client, const char *text)
{
  return test_write((uv_stream_t *)&client->tcp, text, NULL, NULL);
}

static void client_send_due(env_client_t *client)
{
  while (client->next_step < client->nsteps &&
         client->nresponses >= client->after[client->next_step]) {
    if (env_client_send(client, client->steps[client->next_step]) < 0) {
      client->error = UV_EIO;
      client_close(client);
      return;
    }
    client->next_step++;
  }
}

static void header_done(env_client_t *client)
{
  client->field[client->field_len] = '\0';
  client->value[client->value_len] = '\0';
  if (strcasecmp(client->field, "X-Worker") == 0)
    client->cur.worker = (unsigned)strtoul(client->value, NULL, 10);
  client->field_len = client->value_len = 0;
  client->in_value = false;
}

static void append(char *dst, size_t *len, size_t cap, const char *at,
                   size_t n)
{
  if (n > cap - 1 - *len)
    n = cap - 1 - *len;
  memcpy(dst + *len, at, n);
  *len += n;
}

static int on_begin(http_parser *p)
{
  env_client_t *client = p->data;

  memset(&client->cur, 0, sizeof(client->cur));
  client->field_len = client->value_len = 0;
  client->in_value = false;
  return 0;
}

static int on_field(http_parser *p, const char *at, size_t n)
{
  env_client_t *client = p->data;

  if (client->in_value)
    header_done(client);
  append(client->field, &client->field_len, sizeof(client->field), at, n);
  return 0;
}

static int on_value(http_parser *p, const char *at, size_t n)
{
  env_client_t *client = p->data;

  client->in_value = true;
  append(client->value, &client->value_len, sizeof(client->value), at, n);
  return 0;
}

static int on_headers(http_parser *p)
{
  env_client_t *client = p->data;

  if (client->in_value)
    header_done(client);
  client->cur.status = p->status_code;
  /* A response to HEAD has no body whatever its Content-Length says. */
  return client->nresponses == client->head_index ? 1 : 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
  env_client_t *client = p->data;
  size_t len = client->cur.body_len;

  if (len < sizeof(client->cur.body) - 1) {
    size_t room = sizeof(client->cur.body) - 1 - len;

    memcpy(client->cur.body + len, at, n < room ? n : room);
  }
  client->cur.body_len += n;
  return 0;
}

static int on_complete(http_parser *p)
{
  env_client_t *client = p->data;

  client->cur.keep_alive = http_should_keep_alive(p);
  client->cur.seq = ++client->env->seq;
  if (client->nresponses < ENV_MAX_RESPONSES)
    client->responses[client->nresponses] = client->cur;
  client->nresponses++;
  return 0;
}

static const http_parser_settings response_settings = {
  .on_message_begin = on_begin,
  .on_header_field = on_field,
  .on_header_value = on_value,
  .on_headers_complete = on_headers,
  .on_body = on_body,
  .on_message_complete = on_complete,
};

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
  static char slab[64 * 1024];

  buf->base = slab;
  buf->len = sizeof(slab);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
  env_client_t *client = stream->data;

  if (nread == 0)
    return;
  if (nread < 0) {
    if (nread == UV_EOF) {
      /* A body delimited by the end completes here, before the end. */
      if (!client->raw)
        http_parser_execute(&client->parser, &response_settings, NULL, 0);
      client->eof_seq = ++client->env->seq;
    } else {
      client->error = (int)nread;
    }
    client_close(client);
    return;
  }
  if (client->raw) {
    append(client->raw_buf, &client->raw_len, sizeof(client->raw_buf),
           buf->base, (size_t)nread);
    return;
  }
  if (http_parser_execute(&client->parser, &response_settings, buf->base,
                          (size_t)nread) != (size_t)nread ||
      HTTP_PARSER_ERRNO(&client->parser) != HPE_OK) {
    client->error = UV_EPROTO;
    client_close(client);
    return;
  }
  client_send_due(client);
  if (client->nresponses >= client->expect && !client->expect_eof)
    client_close(client);
}

static void on_connect(uv_connect_t *req, int status)
{
  env_client_t *client = req->data;

  if (status < 0) {
    client->error = status;
    client_close(client);
    return;
  }
  client->open = true;
  if (uv_read_start((uv_stream_t *)&client->tcp, on_alloc, on_read) < 0) {
    client->error = UV_EIO;
    client_close(client);
    return;
  }
  client_send_due(client);
}

int env_client_start(env_t *env, env_client_t *client)
{
  struct sockaddr_in addr;
  int rc;

  if (env->nclients == ENV_MAX_CLIENTS)
    return UV_ENOBUFS;
  client->env = env;
  client->tcp.data = client;
  client->connect_req.data = client;
  http_parser_init(&client->parser, HTTP_RESPONSE);
  client->parser.data = client;
  rc = uv_tcp_init(&env->loop, &client->tcp);
  if (rc < 0)
    return rc;
  env->clients[env->nclients++] = client;
  uv_ip4_addr("127.0.0.1", env->port, &addr);
  rc = uv_tcp_connect(&client->connect_req, &client->tcp,
                      (const struct sockaddr *)&addr, on_connect);
  if (rc < 0) {
    client->error = rc;
    client_close(client);
  }
  return rc;
}
