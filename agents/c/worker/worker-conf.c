/*
 * worker-conf.c - the worker agent's behaviour, from JSON and argv.
 *
 * A bad behaviour is a harness bug, so it is refused as a whole with a
 * message naming the offending key, in the words of
 * agents/node/lib/worker-behaviour.cjs.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "worker-internal.h"

static const char *const worker_conf_modes[] = { "none", "echo", "count",
                                                 "reply" };

static int worker_conf_fail(char *err, size_t n, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(err, n, fmt, ap);
  va_end(ap);
  return UV_EINVAL;
}

static int worker_conf_int(const cJSON *v, int dflt, const char *name,
                           double max, int *out, char *err, size_t n)
{
  if (v == NULL) {
    *out = dflt;
    return 0;
  }
  if (!ctl_is_int(v, 0, max))
    return worker_conf_fail(err, n, "%s must be an integer in 0..%.0f", name,
                            max);
  *out = (int)v->valuedouble;
  return 0;
}

static int worker_conf_mode(const char *s, worker__messages_t *m)
{
  for (int i = 0; i < 4; i++) {
    if (strcmp(s, worker_conf_modes[i]) == 0) {
      *m = (worker__messages_t)i;
      return 0;
    }
  }
  return UV_EINVAL;
}

/* "exit:N" (N in 0..255) or one of `extra`; parseAction() in Node. */
static int worker_conf_action(const char *text, const char *name,
                              const char *const *extra,
                              const worker__act_t *acts, worker__act_t *act,
                              int *code, char *err, size_t n)
{
  char list[160] = "";

  if (text != NULL && strncmp(text, "exit:", 5) == 0) {
    const char *p = text + 5;
    char *end;
    long v;
    if (*p == '-')
      p++;
    if (*p >= '0' && *p <= '9' && strspn(p, "0123456789") == strlen(p)) {
      v = strtol(text + 5, &end, 10);
      if (v < 0 || v > 255)
        return worker_conf_fail(err, n,
                                "%s exit code must be an integer in 0..255",
                                name);
      *act = WORKER_ACT_EXIT;
      *code = (int)v;
      return 0;
    }
  }
  for (int i = 0; extra[i] != NULL; i++) {
    if (text != NULL && strcmp(text, extra[i]) == 0) {
      *act = acts[i];
      *code = 0;
      return 0;
    }
    snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s\"%s\"",
             i > 0 ? ", " : "", extra[i]);
  }
  return worker_conf_fail(err, n, "%s must be \"exit:N\" or one of %s", name,
                          list);
}

/* The first key of `obj` that is not one of `keys` (NULL-terminated), or
 * NULL. */
static const char *worker_conf_unknown_key(const cJSON *obj,
                                           const char *const *keys)
{
  const cJSON *item;

  cJSON_ArrayForEach(item, obj) {
    int k = 0;
    while (keys[k] != NULL && strcmp(item->string, keys[k]) != 0)
      k++;
    if (keys[k] == NULL)
      return item->string;
  }
  return NULL;
}

/* kind: "http" and "tcp" (the responders of http/), "udp4" and "udp6". */
static int worker_conf_server_kind(const cJSON *v, worker__server_conf_t *srv,
                                   const char *at, char *err, size_t n)
{
  http_kind_t kind = HTTP_KIND_TCP;

  if (cJSON_IsString(v) && strcmp(v->valuestring, "udp4") == 0)
    srv->udp = 4;
  else if (cJSON_IsString(v) && strcmp(v->valuestring, "udp6") == 0)
    srv->udp = 6;
  else if (!cJSON_IsString(v) ||
           http_kind_from_name(v->valuestring, &kind) != 0)
    return worker_conf_fail(err, n, "%s.kind must be one of \"http\", "
                            "\"tcp\", \"udp4\", \"udp6\"", at);
  srv->kind = kind;
  return 0;
}

/* host (an address) or path (a UNIX socket of an http or tcp server). */
static int worker_conf_server_where(const cJSON *s, worker__server_conf_t *srv,
                                    const char *at, char *err, size_t n)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(s, "host");

  if (v != NULL && !cJSON_IsNull(v)) {
    if (!cJSON_IsString(v))
      return worker_conf_fail(err, n, "%s.host must be a string", at);
    if (strlen(v->valuestring) >= sizeof(srv->host))
      return worker_conf_fail(err, n, "%s.host is too long", at);
    snprintf(srv->host, sizeof(srv->host), "%s", v->valuestring);
    srv->has_host = 1;
  }
  v = cJSON_GetObjectItemCaseSensitive(s, "path");
  if (v == NULL || cJSON_IsNull(v))
    return 0;
  if (!cJSON_IsString(v) || v->valuestring[0] == '\0')
    return worker_conf_fail(err, n, "%s.path must be a non-empty string",
                            at);
  if (strlen(v->valuestring) >= sizeof(srv->path))
    return worker_conf_fail(err, n, "%s.path is too long", at);
  if (srv->udp != 0 || srv->has_host ||
      cJSON_GetObjectItemCaseSensitive(s, "port") != NULL)
    return worker_conf_fail(err, n, "%s.path is for an http or tcp server "
                            "without host or port", at);
  snprintf(srv->path, sizeof(srv->path), "%s", v->valuestring);
  srv->has_path = 1;
  return 0;
}

static int worker_conf_server(const cJSON *s, int i,
                              worker__server_conf_t *srv, char *err, size_t n)
{
  static const char *const keys[] = { "kind", "port", "host", "path",
                                      "exclusive", "close_delay_ms",
                                      "max_connections", NULL };
  const char *unknown;
  const cJSON *v;
  char at[48], name[96];
  int delay = 0;

  memset(srv, 0, sizeof(*srv));
  snprintf(at, sizeof(at), "servers[%d]", i);
  if (!ctl_is_object(s))
    return worker_conf_fail(err, n, "%s must be an object", at);
  unknown = worker_conf_unknown_key(s, keys);
  if (unknown != NULL)
    return worker_conf_fail(err, n, "%s: unknown key \"%s\"", at, unknown);
  if (worker_conf_server_kind(cJSON_GetObjectItemCaseSensitive(s, "kind"),
                              srv, at, err, n) != 0 ||
      worker_conf_server_where(s, srv, at, err, n) != 0)
    return UV_EINVAL;
  v = cJSON_GetObjectItemCaseSensitive(s, "exclusive");
  if (v != NULL && !cJSON_IsBool(v))
    return worker_conf_fail(err, n, "%s.exclusive must be a boolean", at);
  srv->exclusive = cJSON_IsTrue(v);
  snprintf(name, sizeof(name), "%s.port", at);
  if (worker_conf_int(cJSON_GetObjectItemCaseSensitive(s, "port"), 0, name,
                      65535, &srv->port, err, n) != 0)
    return UV_EINVAL;
  snprintf(name, sizeof(name), "%s.close_delay_ms", at);
  if (worker_conf_int(cJSON_GetObjectItemCaseSensitive(s, "close_delay_ms"),
                      0, name, WORKER_MAX_DELAY_MS, &delay, err, n) != 0)
    return UV_EINVAL;
  srv->close_delay_ms = (unsigned)delay;
  snprintf(name, sizeof(name), "%s.max_connections", at);
  return worker_conf_int(cJSON_GetObjectItemCaseSensitive(s,
                                                          "max_connections"),
                         0, name, 1 << 30, &srv->max_connections, err, n);
}

static int worker_conf_signal(worker__conf_t *c, const char *name,
                              const char *action, char *err, size_t n)
{
  static const char *const extra[] = { "ignore", "default", NULL };
  static const worker__act_t acts[] = { WORKER_ACT_IGNORE, WORKER_ACT_NONE };
  int signum = base_signal_from_name(name);
  char what[64];
  worker__act_t act;
  int code, rc;

  if (signum == 0 || strcmp(name, "SIGKILL") == 0 ||
      strcmp(name, "SIGSTOP") == 0)
    return worker_conf_fail(err, n, "signals: %s cannot be handled", name);
  snprintf(what, sizeof(what), "signals.%s", name);
  rc = worker_conf_action(action, what, extra, acts, &act, &code, err, n);
  if (rc != 0 || act == WORKER_ACT_NONE)
    return rc;               /* "default": no handler at all */
  for (int i = 0; i < c->nsignals; i++) {
    if (c->signals[i].signum == signum &&
        strcmp(c->signals[i].name, name) == 0) {
      c->signals[i].act = act;
      c->signals[i].exit_code = code;
      return 0;
    }
  }
  if (c->nsignals == WORKER_MAX_SIGNALS)
    return worker_conf_fail(err, n, "signals: too many");
  snprintf(c->signals[c->nsignals].name, sizeof(c->signals[0].name), "%s",
           name);
  c->signals[c->nsignals].signum = signum;
  c->signals[c->nsignals].act = act;
  c->signals[c->nsignals].exit_code = code;
  c->nsignals++;
  return 0;
}

static int worker_conf_on_listening(worker__conf_t *c, const char *text,
                                    char *err, size_t n)
{
  static const char *const extra[] = { "disconnect", "kill", "ipc-disconnect",
                                       "close", NULL };
  static const worker__act_t acts[] = { WORKER_ACT_DISCONNECT, WORKER_ACT_KILL,
                                       WORKER_ACT_IPC_DISCONNECT,
                                       WORKER_ACT_CLOSE };
  int rc = worker_conf_action(text, "on_listening", extra, acts,
                              &c->on_listening_act, &c->on_listening_code,
                              err, n);

  if (rc == 0)
    snprintf(c->on_listening, sizeof(c->on_listening), "%s", text);
  return rc;
}

/* The elements of "servers", an array or null (checked by the caller). */
static int worker_conf_servers(worker__conf_t *c, const cJSON *servers,
                               char *err, size_t n)
{
  const cJSON *item;
  int i = 0, rc;

  cJSON_ArrayForEach(item, servers) {
    if (c->nservers == WORKER_MAX_SERVERS)
      return worker_conf_fail(err, n, "servers: at most %d",
                              WORKER_MAX_SERVERS);
    rc = worker_conf_server(item, i++, &c->servers[c->nservers++], err, n);
    if (rc != 0)
      return rc;
  }
  return 0;
}

static int worker_conf_signals(worker__conf_t *c, const cJSON *signals,
                               char *err, size_t n)
{
  const cJSON *item;
  int rc;

  if (signals != NULL && !cJSON_IsNull(signals) && !ctl_is_object(signals))
    return worker_conf_fail(err, n, "signals must be an object");
  cJSON_ArrayForEach(item, signals) {
    rc = worker_conf_signal(c, item->string,
                            cJSON_IsString(item) ? item->valuestring : NULL,
                            err, n);
    if (rc != 0)
      return rc;
  }
  return 0;
}

/* adopt: {"kind": "http"|"tcp"}, the responder of received handles. */
static int worker_conf_adopt(worker__conf_t *c, const cJSON *v, char *err,
                             size_t n)
{
  static const char *const keys[] = { "kind", NULL };
  const cJSON *kind;
  http_kind_t k;

  if (v == NULL || cJSON_IsNull(v))
    return 0;
  if (!ctl_is_object(v))
    return worker_conf_fail(err, n, "adopt must be an object");
  if (worker_conf_unknown_key(v, keys) != NULL)
    return worker_conf_fail(err, n, "adopt: unknown key \"%s\"",
                            worker_conf_unknown_key(v, keys));
  kind = cJSON_GetObjectItemCaseSensitive(v, "kind");
  if (!cJSON_IsString(kind) || http_kind_from_name(kind->valuestring, &k) != 0)
    return worker_conf_fail(err, n, "adopt.kind must be \"http\" or "
                            "\"tcp\"");
  c->adopt = 1;
  c->adopt_kind = (int)k;
  return 0;
}

int worker__conf_output(const cJSON *v, const char *at,
                        worker__output_conf_t *o, char *err, size_t n)
{
  static const char *const keys[] = { "stream", "line", "repeat", NULL };
  const cJSON *stream, *line;
  char name[64];
  int repeat = 1;

  if (!ctl_is_object(v))
    return worker_conf_fail(err, n, "%s must be an object", at);
  if (worker_conf_unknown_key(v, keys) != NULL)
    return worker_conf_fail(err, n, "%s: unknown key \"%s\"", at,
                            worker_conf_unknown_key(v, keys));
  stream = cJSON_GetObjectItemCaseSensitive(v, "stream");
  if (!cJSON_IsString(stream) || (strcmp(stream->valuestring, "stdout") != 0 &&
                                  strcmp(stream->valuestring, "stderr") != 0))
    return worker_conf_fail(err, n, "%s.stream must be \"stdout\" or "
                            "\"stderr\"", at);
  line = cJSON_GetObjectItemCaseSensitive(v, "line");
  if (!cJSON_IsString(line) || strlen(line->valuestring) > WORKER_MAX_LINE)
    return worker_conf_fail(err, n, "%s.line must be a string of at most "
                            "%d bytes", at, WORKER_MAX_LINE);
  snprintf(name, sizeof(name), "%s.repeat", at);
  if (cJSON_GetObjectItemCaseSensitive(v, "repeat") != NULL &&
      (worker_conf_int(cJSON_GetObjectItemCaseSensitive(v, "repeat"), 1,
                       name, WORKER_MAX_REPEAT, &repeat, err, n) != 0 ||
       repeat < 1))
    return worker_conf_fail(err, n, "%s must be an integer in 1..%d", name,
                            WORKER_MAX_REPEAT);
  o->fd = stream->valuestring[3] == 'o' ? 1 : 2;
  snprintf(o->line, sizeof(o->line), "%s", line->valuestring);
  o->repeat = repeat;
  return 0;
}

/* output: lines written at start-up, in order. */
static int worker_conf_outputs(worker__conf_t *c, const cJSON *v, char *err,
                               size_t n)
{
  const cJSON *item;
  char at[32];

  if (v == NULL || cJSON_IsNull(v))
    return 0;
  if (!cJSON_IsArray(v))
    return worker_conf_fail(err, n, "output must be an array");
  cJSON_ArrayForEach(item, v) {
    if (c->noutput == WORKER_MAX_OUTPUTS)
      return worker_conf_fail(err, n, "output: at most %d",
                              WORKER_MAX_OUTPUTS);
    snprintf(at, sizeof(at), "output[%d]", c->noutput);
    if (worker__conf_output(item, at, &c->output[c->noutput], err, n) != 0)
      return UV_EINVAL;
    c->noutput++;
  }
  return 0;
}

/* The keys of the object, checked in the order Node's agent checks them. */
static int worker_conf_fields(worker__conf_t *c, const cJSON *root,
                              char *err, size_t n)
{
  const cJSON *servers = cJSON_GetObjectItemCaseSensitive(root, "servers");
  const cJSON *v;
  int rc, delay = 0;

  if (servers != NULL && !cJSON_IsNull(servers) && !cJSON_IsArray(servers))
    return worker_conf_fail(err, n, "servers must be an array");
  v = cJSON_GetObjectItemCaseSensitive(root, "messages");
  if (v != NULL && !cJSON_IsNull(v) &&
      (!cJSON_IsString(v) || worker_conf_mode(v->valuestring,
                                              &c->messages) != 0))
    return worker_conf_fail(err, n,
                            "messages must be one of none, echo, count, "
                            "reply");
  rc = worker_conf_servers(c, servers, err, n);
  if (rc != 0)
    return rc;
  rc = worker_conf_int(cJSON_GetObjectItemCaseSensitive(root,
                                                       "startup_delay_ms"),
                       0, "startup_delay_ms", WORKER_MAX_DELAY_MS, &delay,
                       err, n);
  if (rc != 0)
    return rc;
  c->startup_delay_ms = (unsigned)delay;
  rc = worker_conf_signals(c, cJSON_GetObjectItemCaseSensitive(root,
                                                              "signals"),
                           err, n);
  if (rc != 0)
    return rc;
  v = cJSON_GetObjectItemCaseSensitive(root, "on_listening");
  if (v != NULL && !cJSON_IsNull(v) &&
      worker_conf_on_listening(c, cJSON_IsString(v) ? v->valuestring : NULL,
                               err, n) != 0)
    return UV_EINVAL;
  if (worker_conf_adopt(c, cJSON_GetObjectItemCaseSensitive(root, "adopt"),
                        err, n) != 0)
    return UV_EINVAL;
  return worker_conf_outputs(c, cJSON_GetObjectItemCaseSensitive(root,
                                                                "output"),
                             err, n);
}

static int worker_conf_json(worker__conf_t *c, const char *json, char *err,
                            size_t n)
{
  static const char *const keys[] = { "servers", "messages",
                                      "startup_delay_ms", "signals",
                                      "on_listening", "adopt", "output",
                                      NULL };
  cJSON *root = cJSON_ParseWithOpts(json, NULL, 1);
  const char *unknown;
  int rc;

  if (root == NULL)
    return worker_conf_fail(err, n, "CLUSTERSIM_WORKER is not JSON: "
                                    "unexpected input at position %zu",
                            (size_t)(cJSON_GetErrorPtr() - json));
  if (!ctl_is_object(root)) {
    rc = worker_conf_fail(err, n, "CLUSTERSIM_WORKER must be a JSON object");
    goto out;
  }
  unknown = worker_conf_unknown_key(root, keys);
  if (unknown != NULL) {
    rc = worker_conf_fail(err, n, "CLUSTERSIM_WORKER: unknown key \"%s\"",
                          unknown);
    goto out;
  }
  rc = worker_conf_fields(c, root, err, n);

out:
  cJSON_Delete(root);
  return rc;
}

/* [HOST:]PORT of --http and --tcp. */
static int worker_conf_hostport(const char *s, worker__server_conf_t *srv)
{
  const char *colon = strrchr(s, ':');
  char *end;
  long port;

  if (colon != NULL) {
    size_t len = (size_t)(colon - s);
    if (len == 0 || len >= sizeof(srv->host))
      return UV_EINVAL;
    memcpy(srv->host, s, len);
    srv->host[len] = '\0';
    srv->has_host = 1;
    s = colon + 1;
  }
  port = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || port < 0 || port > 65535)
    return UV_EINVAL;
  srv->port = (int)port;
  return 0;
}

static int worker_conf_uint(const char *s, unsigned max, unsigned *out)
{
  char *end;
  unsigned long v = strtoul(s, &end, 10);

  if (*s == '\0' || *s == '-' || *end != '\0' || v > max)
    return UV_EINVAL;
  *out = (unsigned)v;
  return 0;
}

/* ---------------------------------------------------------------------- */
/* Command-line options: one row each                                      */

static int worker_conf_incomplete(const char *opt, char *err, size_t n)
{
  return worker_conf_fail(err, n, "unknown or incomplete option '%s'", opt);
}

/* The server the per-server options apply to: the last one given. */
static worker__server_conf_t *worker_conf_last(worker__conf_t *c)
{
  return c->nservers > 0 ? &c->servers[c->nservers - 1] : NULL;
}

static int worker_opt_server(worker__conf_t *c, const char *opt,
                             const char *v, char *err, size_t n)
{
  worker__server_conf_t *srv;

  if (v == NULL || c->nservers == WORKER_MAX_SERVERS)
    return worker_conf_fail(err, n, "%s needs [HOST:]PORT", opt);
  srv = &c->servers[c->nservers++];
  memset(srv, 0, sizeof(*srv));
  srv->kind = strcmp(opt, "--tcp") == 0 ? HTTP_KIND_TCP : HTTP_KIND_HTTP;
  if (worker_conf_hostport(v, srv) != 0)
    return worker_conf_fail(err, n, "bad [HOST:]PORT '%s'", v);
  return 0;
}

static int worker_opt_exclusive(worker__conf_t *c, const char *opt,
                                const char *v, char *err, size_t n)
{
  (void)opt;
  (void)v;
  (void)err;
  (void)n;
  worker_conf_last(c)->exclusive = 1;
  return 0;
}

static int worker_opt_close_delay(worker__conf_t *c, const char *opt,
                                  const char *v, char *err, size_t n)
{
  unsigned u;

  if (worker_conf_uint(v, WORKER_MAX_DELAY_MS, &u) != 0)
    return worker_conf_incomplete(opt, err, n);
  worker_conf_last(c)->close_delay_ms = u;
  return 0;
}

static int worker_opt_max_connections(worker__conf_t *c, const char *opt,
                                      const char *v, char *err, size_t n)
{
  unsigned u;

  if (worker_conf_uint(v, 1u << 30, &u) != 0)
    return worker_conf_incomplete(opt, err, n);
  worker_conf_last(c)->max_connections = (int)u;
  return 0;
}

static int worker_opt_messages(worker__conf_t *c, const char *opt,
                               const char *v, char *err, size_t n)
{
  if (worker_conf_mode(v, &c->messages) != 0)
    return worker_conf_incomplete(opt, err, n);
  return 0;
}

static int worker_opt_startup_delay(worker__conf_t *c, const char *opt,
                                    const char *v, char *err, size_t n)
{
  unsigned u;

  if (worker_conf_uint(v, WORKER_MAX_DELAY_MS, &u) != 0)
    return worker_conf_incomplete(opt, err, n);
  c->startup_delay_ms = u;
  return 0;
}

/* --signal SIG=ACTION */
static int worker_opt_signal(worker__conf_t *c, const char *opt,
                             const char *v, char *err, size_t n)
{
  const char *eq = strchr(v, '=');
  char name[16];

  (void)opt;
  if (eq == NULL || (size_t)(eq - v) >= sizeof(name))
    return worker_conf_fail(err, n, "--signal needs SIG=ACTION, got '%s'",
                            v);
  memcpy(name, v, (size_t)(eq - v));
  name[eq - v] = '\0';
  return worker_conf_signal(c, name, eq + 1, err, n);
}

static int worker_opt_on_listening(worker__conf_t *c, const char *opt,
                                   const char *v, char *err, size_t n)
{
  (void)opt;
  return worker_conf_on_listening(c, v, err, n);
}

typedef int (*worker_opt_fn)(worker__conf_t *c, const char *opt,
                             const char *value, char *err, size_t n);

static const struct {
  const char *name;
  int has_value;             /* takes the next argument */
  int per_server;            /* applies to the last --http or --tcp */
  worker_opt_fn fn;
} worker_conf_options[] = {
  { "--http", 1, 0, worker_opt_server },
  { "--tcp", 1, 0, worker_opt_server },
  { "--exclusive", 0, 1, worker_opt_exclusive },
  { "--close-delay", 1, 1, worker_opt_close_delay },
  { "--max-connections", 1, 1, worker_opt_max_connections },
  { "--messages", 1, 0, worker_opt_messages },
  { "--startup-delay", 1, 0, worker_opt_startup_delay },
  { "--signal", 1, 0, worker_opt_signal },
  { "--on-listening", 1, 0, worker_opt_on_listening },
};

#define WORKER_CONF_NOPTIONS \
  (sizeof(worker_conf_options) / sizeof(worker_conf_options[0]))

/* The options end at "--" or at the first argument that is not one: the
 * rest are the program's own arguments (setupPrimary's `args`), as
 * process.argv.slice(2) is a Node worker's. */
static int worker_conf_argv(worker__conf_t *c, int argc, char **argv,
                            char *err, size_t n)
{
  for (int i = 0; i < argc; i++) {
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    size_t k = 0;
    int rc;

    if (strcmp(argv[i], "--") == 0 || strncmp(argv[i], "--", 2) != 0) {
      i += strcmp(argv[i], "--") == 0;
      c->args = argv + i;
      c->nargs = argc - i;
      return 0;
    }

    while (k < WORKER_CONF_NOPTIONS &&
           strcmp(argv[i], worker_conf_options[k].name) != 0)
      k++;
    /* --http and --tcp say themselves what they lack. */
    if (k == WORKER_CONF_NOPTIONS ||
        (worker_conf_options[k].per_server && worker_conf_last(c) == NULL) ||
        (worker_conf_options[k].has_value && v == NULL &&
         worker_conf_options[k].fn != worker_opt_server))
      return worker_conf_incomplete(argv[i], err, n);
    rc = worker_conf_options[k].fn(c, argv[i], v, err, n);
    if (rc != 0)
      return rc;
    i += worker_conf_options[k].has_value;
  }
  return 0;
}

int worker__conf_parse(worker__conf_t *c, const char *json, int argc,
                       char **argv, char *err, size_t n)
{
  int rc;

  memset(c, 0, sizeof(*c));
  if (json != NULL && *json != '\0') {
    rc = worker_conf_json(c, json, err, n);
    if (rc != 0)
      return rc;
  }
  c->argc = argc;
  c->argv = argv;
  return worker_conf_argv(c, argc, argv, err, n);
}
