/*
 * worker-conf.c - the worker agent's behaviour, from JSON and argv.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>
#include <cjson/cJSON.h>

#include "http.h"
#include "sim.h"
#include "worker.h"

static int fail(char *err, size_t n, const char *fmt, const char *what)
{
  snprintf(err, n, fmt, what);
  return UV_EINVAL;
}

static int parse_hostport(const char *s, worker_server_conf_t *srv)
{
  const char *colon = strrchr(s, ':');
  char *end;
  long port;

  if (colon != NULL) {
    size_t n = (size_t)(colon - s);
    if (n >= sizeof(srv->host))
      return UV_EINVAL;
    memcpy(srv->host, s, n);
    srv->host[n] = '\0';
    s = colon + 1;
  }
  port = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || port < 0 || port > 65535)
    return UV_EINVAL;
  srv->port = (int)port;
  return 0;
}

static int add_signal(worker_conf_t *c, const char *name, const char *action,
                      char *err, size_t n)
{
  int signum = sim_signal_from_name(name);
  int code = -1;

  if (signum == 0)
    return fail(err, n, "unknown signal '%s'", name);
  if (strncmp(action, "exit:", 5) == 0)
    code = atoi(action + 5);
  else if (strcmp(action, "ignore") != 0 && strcmp(action, "default") != 0)
    return fail(err, n, "unknown signal action '%s'", action);
  if (strcmp(action, "default") == 0)
    return 0;
  if (c->nsignals == WORKER_MAX_SIGNALS)
    return fail(err, n, "too many signals%s", "");
  c->signals[c->nsignals].signum = signum;
  c->signals[c->nsignals].exit_code = code;
  c->nsignals++;
  return 0;
}

static int parse_messages(const char *s, worker_messages_t *m)
{
  static const char *const names[] = { "none", "echo", "count", "reply" };

  for (int i = 0; i < 4; i++) {
    if (strcmp(s, names[i]) == 0) {
      *m = (worker_messages_t)i;
      return 0;
    }
  }
  return UV_EINVAL;
}

static int json_server(const cJSON *o, worker_server_conf_t *srv, char *err,
                       size_t n)
{
  const cJSON *v;
  http_kind_t kind = HTTP_KIND_HTTP;

  memset(srv, 0, sizeof(*srv));
  if (!cJSON_IsObject(o))
    return fail(err, n, "a server must be an object%s", "");
  v = cJSON_GetObjectItemCaseSensitive(o, "kind");
  if (cJSON_IsString(v) && http_kind_from_name(v->valuestring, &kind) != 0)
    return fail(err, n, "unknown server kind '%s'", v->valuestring);
  srv->kind = kind;
  v = cJSON_GetObjectItemCaseSensitive(o, "host");
  if (cJSON_IsString(v))
    snprintf(srv->host, sizeof(srv->host), "%s", v->valuestring);
  v = cJSON_GetObjectItemCaseSensitive(o, "port");
  srv->port = cJSON_IsNumber(v) ? (int)v->valuedouble : 0;
  srv->exclusive =
      cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "exclusive"));
  v = cJSON_GetObjectItemCaseSensitive(o, "close_delay_ms");
  srv->close_delay_ms = cJSON_IsNumber(v) ? (unsigned)v->valuedouble : 0;
  v = cJSON_GetObjectItemCaseSensitive(o, "max_connections");
  srv->max_connections = cJSON_IsNumber(v) ? (int)v->valuedouble : 0;
  return 0;
}

static int parse_json(worker_conf_t *c, const char *json, char *err, size_t n)
{
  cJSON *root = cJSON_Parse(json);
  const cJSON *v, *item;
  int rc = 0;

  if (!cJSON_IsObject(root)) {
    cJSON_Delete(root);
    return fail(err, n, "CLUSTERSIM_WORKER is not a JSON object%s", "");
  }
  v = cJSON_GetObjectItemCaseSensitive(root, "servers");
  cJSON_ArrayForEach(item, v) {
    if (c->nservers == WORKER_MAX_SERVERS) {
      rc = fail(err, n, "too many servers%s", "");
      goto out;
    }
    rc = json_server(item, &c->servers[c->nservers++], err, n);
    if (rc != 0)
      goto out;
  }
  v = cJSON_GetObjectItemCaseSensitive(root, "messages");
  if (cJSON_IsString(v) && parse_messages(v->valuestring, &c->messages) != 0) {
    rc = fail(err, n, "unknown message mode '%s'", v->valuestring);
    goto out;
  }
  v = cJSON_GetObjectItemCaseSensitive(root, "startup_delay_ms");
  if (cJSON_IsNumber(v))
    c->startup_delay_ms = (unsigned)v->valuedouble;
  v = cJSON_GetObjectItemCaseSensitive(root, "signals");
  cJSON_ArrayForEach(item, v) {
    if (!cJSON_IsString(item)) {
      rc = fail(err, n, "signal action of %s is not a string", item->string);
      goto out;
    }
    rc = add_signal(c, item->string, item->valuestring, err, n);
    if (rc != 0)
      goto out;
  }
  v = cJSON_GetObjectItemCaseSensitive(root, "on_listening");
  if (cJSON_IsString(v))
    snprintf(c->on_listening, sizeof(c->on_listening), "%s", v->valuestring);

out:
  cJSON_Delete(root);
  return rc;
}

int worker_conf_parse(worker_conf_t *c, const char *json, int argc,
                      char **argv, char *err, size_t n)
{
  int rc;

  memset(c, 0, sizeof(*c));
  if (json != NULL && *json != '\0') {
    rc = parse_json(c, json, err, n);
    if (rc != 0)
      return rc;
  }
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    worker_server_conf_t *last =
        c->nservers > 0 ? &c->servers[c->nservers - 1] : NULL;

    if (strcmp(a, "--http") == 0 || strcmp(a, "--tcp") == 0) {
      worker_server_conf_t *srv;
      if (v == NULL || c->nservers == WORKER_MAX_SERVERS)
        return fail(err, n, "%s needs [HOST:]PORT", a);
      srv = &c->servers[c->nservers++];
      memset(srv, 0, sizeof(*srv));
      srv->kind = strcmp(a, "--tcp") == 0 ? HTTP_KIND_TCP : HTTP_KIND_HTTP;
      if (parse_hostport(v, srv) != 0)
        return fail(err, n, "bad [HOST:]PORT '%s'", v);
      i++;
    } else if (strcmp(a, "--exclusive") == 0) {
      if (last == NULL)
        return fail(err, n, "%s must follow --http or --tcp", a);
      last->exclusive = 1;
    } else if (strcmp(a, "--close-delay") == 0 && v != NULL && last) {
      last->close_delay_ms = (unsigned)atoi(v);
      i++;
    } else if (strcmp(a, "--max-connections") == 0 && v != NULL && last) {
      last->max_connections = atoi(v);
      i++;
    } else if (strcmp(a, "--messages") == 0 && v != NULL) {
      if (parse_messages(v, &c->messages) != 0)
        return fail(err, n, "unknown message mode '%s'", v);
      i++;
    } else if (strcmp(a, "--startup-delay") == 0 && v != NULL) {
      c->startup_delay_ms = (unsigned)atoi(v);
      i++;
    } else if (strcmp(a, "--signal") == 0 && v != NULL) {
      char name[32];
      const char *eq = strchr(v, '=');
      if (eq == NULL || (size_t)(eq - v) >= sizeof(name))
        return fail(err, n, "--signal needs SIG=ACTION, got '%s'", v);
      memcpy(name, v, (size_t)(eq - v));
      name[eq - v] = '\0';
      rc = add_signal(c, name, eq + 1, err, n);
      if (rc != 0)
        return rc;
      i++;
    } else if (strcmp(a, "--on-listening") == 0 && v != NULL) {
      snprintf(c->on_listening, sizeof(c->on_listening), "%s", v);
      i++;
    } else {
      return fail(err, n, "unknown or incomplete option '%s'", a);
    }
  }
  return 0;
}
