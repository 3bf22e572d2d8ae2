/*
 * primary-commands.c - one handler per harness command (docs/protocol.md
 * §2), checked and answered as agents/node/lib/commands.js does: every
 * line gets exactly one reply, and a refused command changes nothing.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "primary-internal.h"

/* A handler fills `extras` (the reply's extra fields) and returns 0, or
 * writes why into `err` and returns a UV_E* code. */
typedef int (*primary_command_fn)(const cJSON *msg, cJSON *extras, char *err,
                                  size_t n);

static int primary_command_fail(char *err, size_t n, const char *fmt,
                                const char *arg)
{
  snprintf(err, n, fmt, arg);
  return UV_EINVAL;
}

static int primary_command_not_winding(char *err, size_t n)
{
  if (primary__agent.winding)
    return primary_command_fail(err, n, "%s", "shutting down");
  return 0;
}

static int primary_command_worker(const cJSON *msg, primary__record_t **rec,
                                  char *err, size_t n)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(msg, "worker");
  char id[32];

  if (!ctl_is_int(v, -9007199254740991.0, 9007199254740991.0))
    return primary_command_fail(err, n, "%s",
                                "\"worker\" must be an integer id");
  *rec = v->valuedouble >= 1 && v->valuedouble <= 4294967295.0
             ? primary__record((unsigned)v->valuedouble)
             : NULL;
  if (*rec == NULL) {
    snprintf(id, sizeof(id), "%.0f", v->valuedouble);
    return primary_command_fail(err, n, "no worker %s", id);
  }
  return 0;
}

/* ---------------------------------------------------------------------- */
/* setup                                                                   */

static int primary_command_check_settings(const cJSON *s, char *err, size_t n)
{
  const cJSON *item;

  if (!ctl_is_object(s))
    return primary_command_fail(err, n, "%s", "settings must be an object");
  cJSON_ArrayForEach(item, s) {
    const char *k = item->string;
    if (strcmp(k, "exec") == 0 || strcmp(k, "cwd") == 0) {
      if (!cJSON_IsString(item))
        return primary_command_fail(err, n, "settings.%s must be a string", k);
    } else if (strcmp(k, "silent") == 0) {
      if (!cJSON_IsBool(item))
        return primary_command_fail(err, n, "settings.%s must be a boolean", k);
    } else if (strcmp(k, "env") == 0) {
      if (!ctl_is_object(item))
        return primary_command_fail(err, n, "settings.%s must be a object", k);
    } else if (strcmp(k, "args") == 0 || strcmp(k, "execArgv") == 0) {
      const cJSON *a;
      int ok = cJSON_IsArray(item);
      cJSON_ArrayForEach(a, item) ok = ok && cJSON_IsString(a);
      if (!ok)
        return primary_command_fail(err, n,
                                    "settings.%s must be an array of strings",
                                    k);
    } else {
      return primary_command_fail(err, n, "unknown setting \"%s\"", k);
    }
  }
  return 0;
}

/* settings.args for sim. Without `exec` the agent runs its own worker
 * agent, as the Node agent runs worker.js: `clustersim worker ARGS...`;
 * with `exec` the program gets its own args ([] unless given). */
static const char **primary_command_args(const cJSON *args, int exec_now,
                                         int *args_set)
{
  int n = cJSON_GetArraySize(args), i = 0;
  const char **v;
  const cJSON *a;

  *args_set = 0;
  if (args == NULL && !(exec_now && !primary__agent.args_set))
    return NULL;
  v = calloc((size_t)n + 2, sizeof(*v));
  if (v == NULL)
    return NULL;
  if (args != NULL && !primary__agent.exec_set && !exec_now)
    v[i++] = "worker";
  cJSON_ArrayForEach(a, args) v[i++] = a->valuestring;
  *args_set = 1;
  return v;
}

/* A NULL-terminated view of an array of strings (the strings stay the
 * array's); NULL for NULL or when out of memory. */
static const char **primary_command_strv(const cJSON *a)
{
  const char **v;
  const cJSON *item;
  int i = 0;

  if (a == NULL)
    return NULL;
  v = calloc((size_t)cJSON_GetArraySize(a) + 1, sizeof(*v));
  if (v == NULL)
    return NULL;
  cJSON_ArrayForEach(item, a) v[i++] = item->valuestring;
  return v;
}

static int primary_command_setup(const cJSON *msg, cJSON *extras, char *err,
                                 size_t n)
{
  const cJSON *sched = cJSON_GetObjectItemCaseSensitive(msg, "scheduling");
  const cJSON *st = cJSON_GetObjectItemCaseSensitive(msg, "settings");
  const cJSON *exec, *args, *cwd, *silent, *env;
  sim_settings_t s = { 0 };
  const char **argv, **exec_argv;
  int policy = 0, rc;

  (void)extras;
  if (sched != NULL) {
    if (cJSON_IsString(sched) && strcmp(sched->valuestring, "rr") == 0)
      policy = SIM_SCHED_RR;
    else if (cJSON_IsString(sched) && strcmp(sched->valuestring, "none") == 0)
      policy = SIM_SCHED_NONE;
    else
      return primary_command_fail(err, n, "%s",
                                  "scheduling must be \"rr\" or \"none\"");
    /* Node silently ignores a change after the freeze; say so instead. */
    if (primary__agent.setup_done && policy != primary__agent.frozen_policy)
      return primary_command_fail(err, n, "%s",
                                  "the scheduling policy is frozen by the "
                                  "first setup or fork");
  }
  if (st != NULL && primary_command_check_settings(st, err, n) != 0)
    return UV_EINVAL;
  exec = cJSON_GetObjectItemCaseSensitive(st, "exec");
  args = cJSON_GetObjectItemCaseSensitive(st, "args");
  cwd = cJSON_GetObjectItemCaseSensitive(st, "cwd");
  silent = cJSON_GetObjectItemCaseSensitive(st, "silent");
  env = cJSON_GetObjectItemCaseSensitive(st, "env");
  argv = primary_command_args(args, exec != NULL, &s.args_set);
  if (s.args_set && argv == NULL)
    return UV_ENOMEM;
  exec_argv = primary_command_strv(
      cJSON_GetObjectItemCaseSensitive(st, "execArgv"));
  if (cJSON_GetObjectItemCaseSensitive(st, "execArgv") != NULL &&
      exec_argv == NULL) {
    free(argv);
    return UV_ENOMEM;
  }
  s.exec_argv = exec_argv;
  s.exec_argv_set = exec_argv != NULL;
  s.args = argv;
  s.exec = exec != NULL ? exec->valuestring : NULL;
  s.cwd = cwd != NULL ? cwd->valuestring : NULL;
  s.silent = silent == NULL ? 0 : cJSON_IsTrue(silent) ? 1 : -1;
  if (policy != 0 && !primary__agent.setup_done)
    primary__agent.cluster.scheduling_policy = policy;
  if (env != NULL && primary__env_merge(primary__agent.setup_env, env) != 0) {
    free(argv);
    free(exec_argv);
    return UV_ENOMEM;
  }
  primary__freeze();
  rc = sim_cluster_setup(&primary__agent.cluster, &s);
  free(argv);
  free(exec_argv);
  if (rc != 0)
    return primary_command_fail(err, n, "setup: %s", uv_strerror(rc));
  primary__agent.exec_set |= exec != NULL;
  primary__agent.args_set |= s.args_set;
  return 0;
}

/* ---------------------------------------------------------------------- */
/* Worker commands                                                         */

static int primary_command_fork(const cJSON *msg, cJSON *extras, char *err,
                                size_t n)
{
  const cJSON *env = cJSON_GetObjectItemCaseSensitive(msg, "env");
  primary__record_t *rec;
  int rc;

  if (primary_command_not_winding(err, n) != 0)
    return UV_EINVAL;
  if (env != NULL && !cJSON_IsNull(env) && !ctl_is_object(env))
    return primary_command_fail(err, n, "%s", "env must be an object");
  rc = primary__fork(cJSON_IsNull(env) ? NULL : env, &rec);
  if (rc != 0)
    return primary_command_fail(err, n, "fork: %s", uv_strerror(rc));
  cJSON_AddNumberToObject(extras, "worker", rec->id);
  return 0;
}

static int primary_command_disconnect(const cJSON *msg, cJSON *extras,
                                      char *err, size_t n)
{
  primary__record_t *rec;

  (void)extras;
  if (primary_command_worker(msg, &rec, err, n) != 0)
    return UV_EINVAL;
  (void)sim_worker_disconnect(rec->worker);
  return 0;
}

static int primary_command_kill(const cJSON *msg, cJSON *extras, char *err,
                                size_t n)
{
  const cJSON *sig = cJSON_GetObjectItemCaseSensitive(msg, "signal");
  primary__record_t *rec;
  int signum = SIGTERM;

  (void)extras;
  if (primary_command_worker(msg, &rec, err, n) != 0)
    return UV_EINVAL;
  if (sig != NULL && !cJSON_IsString(sig))
    return primary_command_fail(err, n, "%s",
                                "signal must be a name such as \"SIGTERM\"");
  /* worker.kill('') is SIGTERM in Node too. */
  if (sig != NULL && sig->valuestring[0] != '\0') {
    signum = base_signal_from_name(sig->valuestring);
    if (signum == 0)
      return primary_command_fail(err, n, "Unknown signal: %s",
                                  sig->valuestring);
  }
  /* A failure is the worker's `error` event, as in Node. */
  (void)sim_worker_kill(rec->worker, signum);
  return 0;
}

static int primary_command_send(const cJSON *msg, cJSON *extras, char *err,
                                size_t n)
{
  const cJSON *m = cJSON_GetObjectItemCaseSensitive(msg, "message");
  primary__record_t *rec;

  (void)extras;
  if (primary_command_worker(msg, &rec, err, n) != 0)
    return UV_EINVAL;
  if (m == NULL)
    return primary_command_fail(err, n, "%s", "missing \"message\"");
  /* A closed channel is reported as the worker's `error` event. */
  (void)sim_worker_send(rec->worker, m, NULL, NULL, NULL);
  return 0;
}

static int primary_command_serve(const cJSON *msg, cJSON *extras, char *err,
                                 size_t n)
{
  (void)extras;
  return primary__handles_serve(msg, err, n);
}

static int primary_command_send_handle(const cJSON *msg, cJSON *extras,
                                       char *err, size_t n)
{
  primary__record_t *rec;

  (void)extras;
  if (primary_command_worker(msg, &rec, err, n) != 0)
    return UV_EINVAL;
  return primary__handles_send(msg, rec->worker, err, n);
}

static int primary_command_close_handle(const cJSON *msg, cJSON *extras,
                                        char *err, size_t n)
{
  (void)extras;
  return primary__handles_close(msg, err, n);
}

static int primary_command_cluster_disconnect(const cJSON *msg, cJSON *extras,
                                              char *err, size_t n)
{
  int rc;

  (void)msg;
  (void)extras;
  rc = sim_cluster_disconnect(&primary__agent.cluster,
                              primary__report_disconnect_callback, NULL);
  if (rc != 0)
    return primary_command_fail(err, n, "cluster-disconnect: %s",
                                uv_strerror(rc));
  return 0;
}

static void primary_command_add_member(sim_worker_t *w, void *arg)
{
  cJSON_AddItemToArray(arg, cJSON_CreateNumber(sim_worker_id(w)));
}

/* The flags of one worker, or of every worker the agent forked, sampled in
 * the turn the command runs (protocol §2: `status`). */
static int primary_command_probe(const cJSON *msg, cJSON *extras, char *err,
                                 size_t n)
{
  cJSON *probe = cJSON_AddArrayToObject(extras, "probe");
  primary__record_t *only = NULL, *rec;
  cJSON *m;

  if (probe == NULL)
    return UV_ENOMEM;
  if (cJSON_GetObjectItemCaseSensitive(msg, "worker") != NULL &&
      primary_command_worker(msg, &only, err, n) != 0)
    return UV_EINVAL;
  for (rec = primary__agent.records; rec != NULL; rec = rec->next) {
    if (only != NULL && rec != only)
      continue;
    if ((m = cJSON_CreateObject()) == NULL)
      return UV_ENOMEM;
    cJSON_AddItemToArray(probe, m);
    primary__report_flags(m, rec->worker);
  }
  return 0;
}

static int primary_command_status(const cJSON *msg, cJSON *extras, char *err,
                                  size_t n)
{
  cJSON *ids = cJSON_AddArrayToObject(extras, "workers");

  if (ids == NULL)
    return UV_ENOMEM;
  sim_cluster_foreach(&primary__agent.cluster, primary_command_add_member,
                      ids);
  return primary_command_probe(msg, extras, err, n);
}

/* ---------------------------------------------------------------------- */
/* Policies                                                                */

static int primary_command_is_truthy(const cJSON *v)
{
  if (cJSON_IsNull(v) || cJSON_IsFalse(v))
    return 0;
  if (cJSON_IsNumber(v))
    return v->valuedouble != 0;
  if (cJSON_IsString(v))
    return v->valuestring[0] != '\0';
  return 1;
}

static int primary_command_policy(const cJSON *msg, cJSON *extras, char *err,
                                  size_t n)
{
  static const char *const keys[] = { "respawn", "backoff_ms",
                                      "backoff_max_ms", "startup_window_ms",
                                      "shutdown", "heartbeat", "metrics",
                                      "sticky", NULL };
  const cJSON *sd = cJSON_GetObjectItemCaseSensitive(msg, "shutdown");
  const cJSON *hb = cJSON_GetObjectItemCaseSensitive(msg, "heartbeat");
  const cJSON *mt = cJSON_GetObjectItemCaseSensitive(msg, "metrics");
  const cJSON *st = cJSON_GetObjectItemCaseSensitive(msg, "sticky");
  primary__sticky_conf_t sticky;
  primary__respawn_conf_t respawn;
  primary__shutdown_conf_t shutdown;
  primary__heartbeat_conf_t heartbeat;
  primary__metrics_conf_t metrics;
  const cJSON *item;
  int nkeys = 0;

  (void)extras;
  cJSON_ArrayForEach(item, msg) {
    int known = 0;
    if (strcmp(item->string, "cmd") == 0 || strcmp(item->string, "req") == 0)
      continue;
    for (int k = 0; keys[k] != NULL; k++)
      known |= strcmp(item->string, keys[k]) == 0;
    if (!known)
      return primary_command_fail(err, n, "unknown policy \"%s\"",
                                  item->string);
    nkeys++;
  }
  if (nkeys == 0)
    return primary_command_fail(err, n, "%s", "no policy given");
  /* Everything is checked before anything changes. */
  if (primary__respawn_configure(msg, &respawn, err, n) != 0)
    return UV_EINVAL;
  if (sd != NULL && primary__shutdown_configure(sd, &shutdown, err, n) != 0)
    return UV_EINVAL;
  if (hb != NULL) {
    if (primary_command_is_truthy(hb) &&
        primary_command_not_winding(err, n) != 0)
      return UV_EINVAL;
    if (primary__heartbeat_configure(hb, &heartbeat, err, n) != 0)
      return UV_EINVAL;
  }
  if (mt != NULL && primary__metrics_configure(mt, &metrics, err, n) != 0)
    return UV_EINVAL;
  if (st != NULL) {
    if (primary_command_is_truthy(st) &&
        primary_command_not_winding(err, n) != 0)
      return UV_EINVAL;
    if (primary__sticky_configure(st, &sticky, err, n) != 0)
      return UV_EINVAL;
  }
  primary__respawn_apply(&respawn);
  if (sd != NULL)
    primary__shutdown_apply(&shutdown);
  if (hb != NULL)
    primary__heartbeat_apply(&heartbeat);
  if (mt != NULL)
    primary__metrics_apply(&metrics);
  if (st != NULL)
    primary__sticky_apply(&sticky);
  return 0;
}

static int primary_command_rolling_restart(const cJSON *msg, cJSON *extras,
                                           char *err, size_t n)
{
  (void)extras;
  return primary__rolling_start(cJSON_GetObjectItemCaseSensitive(msg,
                                                                 "timeout_ms"),
                               err, n);
}

static double primary_command_shutdown_ms;

static void primary_command_shutdown_later(void *arg)
{
  (void)arg;
  (void)primary__shutdown_start(NULL, primary_command_shutdown_ms, 1);
}

static int primary_command_shutdown(const cJSON *msg, cJSON *extras, char *err,
                                    size_t n)
{
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(msg, "timeout_ms");

  (void)extras;
  if (t != NULL && !ctl_is_int(t, 0, PRIMARY_MAX_MS))
    return primary_command_fail(err, n, "%s",
                                "timeout_ms must be a non-negative integer");
  if (primary_command_not_winding(err, n) != 0)
    return UV_EINVAL;
  primary_command_shutdown_ms = t != NULL ? t->valuedouble
                                        : primary__shutdown_default_timeout();
  /* After the reply, like every command's effects. */
  primary__after_reply(primary_command_shutdown_later, NULL);
  return 0;
}

/* ---------------------------------------------------------------------- */
/* Dispatch                                                                */

static const struct {
  const char *name;
  primary_command_fn fn;
} primary_commands[] = {
  { "setup", primary_command_setup },
  { "fork", primary_command_fork },
  { "disconnect", primary_command_disconnect },
  { "kill", primary_command_kill },
  { "send", primary_command_send },
  { "serve", primary_command_serve },
  { "send-handle", primary_command_send_handle },
  { "close-handle", primary_command_close_handle },
  { "cluster-disconnect", primary_command_cluster_disconnect },
  { "policy", primary_command_policy },
  { "rolling-restart", primary_command_rolling_restart },
  { "status", primary_command_status },
  { "shutdown", primary_command_shutdown },
};

/* Runs one command line and sends its one reply. */
void primary__command_run(const char *line, size_t len)
{
  char err[CTL_ERROR_MAX] = "";
  cJSON *extras = NULL, *reply = NULL, *item;
  primary_command_fn fn = NULL;
  ctl_command_t c;
  int rc;

  rc = ctl_command_parse(line, len, &c);
  if (rc != 0) {
    snprintf(err, sizeof(err), "%s", c.error[0] ? c.error : uv_strerror(rc));
    goto out;
  }
  for (size_t i = 0; i < sizeof(primary_commands) / sizeof(primary_commands[0]);
       i++)
    if (strcmp(c.cmd, primary_commands[i].name) == 0)
      fn = primary_commands[i].fn;
  if (fn == NULL) {
    rc = UV_EINVAL;
    snprintf(err, sizeof(err), "unknown command \"%s\"", c.cmd);
    goto out;
  }
  extras = cJSON_CreateObject();
  reply = ctl_reply_new(c.req);
  if (extras == NULL || reply == NULL) {
    rc = UV_ENOMEM;
    goto out;
  }
  rc = fn(c.msg, extras, err, sizeof(err));
  if (rc != 0)
    goto out;
  cJSON_AddBoolToObject(reply, "ok", 1);
  while ((item = extras->child) != NULL)
    cJSON_AddItemToObject(reply, item->string,
                          cJSON_DetachItemViaPointer(extras, item));
  /* Straight out: what the command caused is held until after it. */
  (void)ctl_send(&primary__agent.ctl, reply);

out:
  if (rc != 0)
    (void)ctl_reply_refuse(&primary__agent.ctl, c.req,
                           err[0] != '\0' ? err : uv_strerror(rc));
  cJSON_Delete(reply);
  cJSON_Delete(extras);
  ctl_command_free(&c);
}
