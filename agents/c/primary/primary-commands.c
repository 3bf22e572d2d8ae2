/*
 * primary-commands.c - one handler per harness command (docs/protocol.md
 * §2), checked and answered as agents/node/lib/commands.cjs does: every
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

/* What the current command's cluster call returned, for `probe`: NULL
 * for undefined. Owned here; every command starts afresh. */
static cJSON *primary_command_returned;

static void primary_command_return(cJSON *v)
{
  cJSON_Delete(primary_command_returned);
  primary_command_returned = v;
}

/* The Worker object, as a probe shows it: {"worker": id}. */
static cJSON *primary_command_worker_value(unsigned id)
{
  cJSON *v = cJSON_CreateObject();

  if (v != NULL)
    cJSON_AddNumberToObject(v, "worker", id);
  return v;
}

static int primary_command_worker(const cJSON *msg, primary__record_t **rec,
                                  char *err, size_t n)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(msg, "worker");
  char id[32];

  /* "last": the worker forked most recently (a batch names so the worker
   * its own fork made) */
  if (cJSON_IsString(v) && strcmp(v->valuestring, "last") == 0) {
    *rec = primary__record(primary__agent.last_forked);
    if (*rec == NULL)
      return primary_command_fail(err, n, "%s", "no worker forked yet");
    return 0;
  }
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
    if (strcmp(k, "exec") == 0 || strcmp(k, "cwd") == 0 ||
        strcmp(k, "serialization") == 0) {
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
 * agent, as the Node agent runs worker.cjs: `clustersim worker ARGS...`;
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
  /* as worker.cjs gets them in Node: the worker agent's options first,
   * the program's own from the first non-option (or "--") on */
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

/* The settings the `setup` events report (protocol §3), cumulative as
 * setupPrimary() is: args without the target's own first `own_args`. */
static void primary_command_report_settings(const cJSON *args,
                                            const cJSON *exec_argv,
                                            const cJSON *cwd,
                                            const cJSON *silent,
                                            unsigned own)
{
  cJSON *s = primary__agent.settings, *a;
  int i = 0;

  if (args != NULL && (a = cJSON_CreateArray()) != NULL) {
    const cJSON *x;
    cJSON_ArrayForEach(x, args) {
      if (i++ >= (int)own)
        cJSON_AddItemToArray(a, cJSON_Duplicate(x, 1));
    }
    cJSON_ReplaceItemInObjectCaseSensitive(s, "args", a);
    primary__agent.own_args = own;
  }
  if (exec_argv != NULL)
    cJSON_ReplaceItemInObjectCaseSensitive(s, "execArgv",
                                           cJSON_Duplicate(exec_argv, 1));
  if (cwd != NULL)
    cJSON_ReplaceItemInObjectCaseSensitive(s, "cwd",
                                           cJSON_Duplicate(cwd, 1));
  if (silent != NULL)
    cJSON_ReplaceItemInObjectCaseSensitive(s, "silent",
                                           cJSON_Duplicate(silent, 1));
  primary__report_setup_snapshot();
}

/* `scheduling`: *policy becomes SIM_SCHED_RR or SIM_SCHED_NONE, or stays 0
 * when absent. */
static int primary_command_policy_of(const cJSON *sched, int *policy,
                                     char *err, size_t n)
{
  if (sched == NULL)
    return 0;
  if (cJSON_IsString(sched) && strcmp(sched->valuestring, "rr") == 0)
    *policy = SIM_SCHED_RR;
  else if (cJSON_IsString(sched) && strcmp(sched->valuestring, "none") == 0)
    *policy = SIM_SCHED_NONE;
  else
    return primary_command_fail(err, n, "%s",
                                "scheduling must be \"rr\" or \"none\"");
  /* Node silently ignores a change after the freeze; say so instead. */
  if (primary__agent.setup_done && *policy != primary__agent.frozen_policy)
    return primary_command_fail(err, n, "%s",
                                "the scheduling policy is frozen by the "
                                "first setup or fork");
  return 0;
}

static int primary_command_setup(const cJSON *msg, cJSON *extras, char *err,
                                 size_t n)
{
  const cJSON *own = cJSON_GetObjectItemCaseSensitive(msg, "own_args");
  const cJSON *sched = cJSON_GetObjectItemCaseSensitive(msg, "scheduling");
  const cJSON *st = cJSON_GetObjectItemCaseSensitive(msg, "settings");
  const cJSON *exec, *args, *cwd, *silent, *env;
  sim_settings_t s = { 0 };
  const char **argv, **exec_argv;
  int policy = 0, rc;

  (void)extras;
  if (primary_command_policy_of(sched, &policy, err, n) != 0)
    return UV_EINVAL;
  if (st != NULL && primary_command_check_settings(st, err, n) != 0)
    return UV_EINVAL;
  if (own != NULL && !ctl_is_int(own, 0, 1000))
    return primary_command_fail(err, n, "%s",
                                "own_args must be a non-negative integer");
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
  /* "json" or "advanced"; sim refuses any other (UV_ENOTSUP) */
  s.serialization = cJSON_IsString(cJSON_GetObjectItemCaseSensitive(
                        st, "serialization"))
                        ? cJSON_GetObjectItemCaseSensitive(st, "serialization")
                              ->valuestring
                        : NULL;
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
  primary_command_report_settings(
      args, cJSON_GetObjectItemCaseSensitive(st, "execArgv"), cwd, silent,
      own != NULL ? (unsigned)own->valuedouble : 0);
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
  primary_command_return(primary_command_worker_value(rec->id));
  return 0;
}

static int primary_command_disconnect(const cJSON *msg, cJSON *extras,
                                      char *err, size_t n)
{
  primary__record_t *rec;

  if (primary_command_worker(msg, &rec, err, n) != 0)
    return UV_EINVAL;
  cJSON_AddNumberToObject(extras, "worker", rec->id);
  (void)sim_worker_disconnect(rec->worker);
  /* worker.disconnect() returns the worker */
  primary_command_return(primary_command_worker_value(rec->id));
  return 0;
}

static int primary_command_kill(const cJSON *msg, cJSON *extras, char *err,
                                size_t n)
{
  const cJSON *sig = cJSON_GetObjectItemCaseSensitive(msg, "signal");
  primary__record_t *rec;
  int signum = SIGTERM;

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
  /* A failure is the worker's `error` event, as in Node; kill() returns
   * undefined. */
  cJSON_AddNumberToObject(extras, "worker", rec->id);
  (void)sim_worker_kill(rec->worker, signum);
  return 0;
}

static int primary_command_send(const cJSON *msg, cJSON *extras, char *err,
                                size_t n)
{
  const cJSON *m = cJSON_GetObjectItemCaseSensitive(msg, "message");
  primary__record_t *rec;

  if (primary_command_worker(msg, &rec, err, n) != 0)
    return UV_EINVAL;
  if (m == NULL)
    return primary_command_fail(err, n, "%s", "missing \"message\"");
  cJSON_AddNumberToObject(extras, "worker", rec->id);
  /* A closed channel is reported as the worker's `error` event; send()
   * returns false then. */
  primary_command_return(cJSON_CreateBool(
      sim_worker_send(rec->worker, m, NULL, NULL, NULL) == 0));
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
  cJSON_AddNumberToObject(extras, "callbacks", primary__agent.callbacks);
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
/* The primary program's own end                                           */

static int primary_command_die_code;

static void primary_command_die_later(void *arg)
{
  (void)arg;
  if (primary_command_die_code == 1)
    fprintf(stderr, "Error: clustersim: injected uncaught error in the "
                    "primary\n");
  primary__die(primary_command_die_code);
}

/* An uncaught error in the primary program, after the reply: exit 1. */
static int primary_command_throw(const cJSON *msg, cJSON *extras, char *err,
                                 size_t n)
{
  (void)msg;
  (void)extras;
  (void)err;
  (void)n;
  primary_command_die_code = 1;
  primary__after_reply(primary_command_die_later, NULL);
  return 0;
}

/* process.exit(code) in the primary program, after the reply. */
static int primary_command_exit(const cJSON *msg, cJSON *extras, char *err,
                                size_t n)
{
  const cJSON *code = cJSON_GetObjectItemCaseSensitive(msg, "code");

  (void)extras;
  if (code != NULL && !ctl_is_int(code, 0, 255))
    return primary_command_fail(err, n, "%s",
                                "code must be an integer in 0..255");
  primary_command_die_code = code != NULL ? (int)code->valuedouble : 0;
  primary__after_reply(primary_command_die_later, NULL);
  return 0;
}

/* ---------------------------------------------------------------------- */
/* Dispatch                                                                */

static int primary_command_batch(const cJSON *msg, cJSON *extras, char *err,
                                 size_t n);

static const struct {
  const char *name;
  primary_command_fn fn;
  int batchable;             /* what the primary calls in one turn */
} primary_commands[] = {
  { "setup", primary_command_setup, 1 },
  { "fork", primary_command_fork, 1 },
  { "disconnect", primary_command_disconnect, 1 },
  { "kill", primary_command_kill, 1 },
  { "send", primary_command_send, 1 },
  { "serve", primary_command_serve, 0 },
  { "send-handle", primary_command_send_handle, 0 },
  { "close-handle", primary_command_close_handle, 0 },
  { "cluster-disconnect", primary_command_cluster_disconnect, 1 },
  { "policy", primary_command_policy, 0 },
  { "rolling-restart", primary_command_rolling_restart, 0 },
  { "status", primary_command_status, 1 },
  { "shutdown", primary_command_shutdown, 0 },
  { "batch", primary_command_batch, 0 },
  { "throw", primary_command_throw, 0 },
  { "exit", primary_command_exit, 0 },
};

#define PRIMARY_NCOMMANDS \
  (sizeof(primary_commands) / sizeof(primary_commands[0]))

static int primary_command_index(const char *name)
{
  for (size_t i = 0; i < PRIMARY_NCOMMANDS; i++)
    if (strcmp(name, primary_commands[i].name) == 0)
      return (int)i;
  return -1;
}

/* With `probe: true`: what the call returned, and the flags sampled right
 * after it, in the same turn (those of its worker, or of every worker). */
static int primary_command_sample(const cJSON *extras, cJSON *out, char *err,
                                  size_t n)
{
  const cJSON *w = cJSON_GetObjectItemCaseSensitive(extras, "worker");
  cJSON *q = cJSON_CreateObject();
  int rc;

  if (q == NULL)
    return UV_ENOMEM;
  if (w != NULL)
    cJSON_AddNumberToObject(q, "worker", w->valuedouble);
  rc = primary_command_status(q, out, err, n);
  cJSON_Delete(q);
  if (rc != 0)
    return rc;
  cJSON_AddItemToObject(out, "returned",
                        primary_command_returned != NULL
                            ? primary_command_returned
                            : cJSON_CreateNull());
  primary_command_returned = NULL;
  return 0;
}

/* Runs the command `msg` names, filling `extras`. */
static int primary_command_exec(const cJSON *msg, int batched, cJSON *extras,
                                char *err, size_t n)
{
  const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(msg, "cmd");
  int k = cJSON_IsString(cmd) ? primary_command_index(cmd->valuestring) : -1;
  int rc;

  if (k < 0)
    return primary_command_fail(err, n, "unknown command \"%s\"",
                                cJSON_IsString(cmd) ? cmd->valuestring : "");
  if (batched && !primary_commands[k].batchable)
    return primary_command_fail(err, n, "%s is not one a batch can hold",
                                cmd->valuestring);
  primary_command_return(NULL);
  rc = primary_commands[k].fn(msg, extras, err, n);
  if (rc == 0 && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "probe")))
    rc = primary_command_sample(extras, extras, err, n);
  primary_command_return(NULL);
  return rc;
}

/* Several commands in order, in one turn: what one synchronous piece of
 * a primary program does. A refused one ends the batch; those before it
 * have run, and their replies come with the refusal. */
static int primary_command_batch(const cJSON *msg, cJSON *extras, char *err,
                                 size_t n)
{
  const cJSON *cmds = cJSON_GetObjectItemCaseSensitive(msg, "cmds"), *sub;
  cJSON *replies = cJSON_AddArrayToObject(extras, "replies"), *r;
  char why[CTL_ERROR_MAX];
  int i = 0, rc;

  if (!cJSON_IsArray(cmds) || cJSON_GetArraySize(cmds) == 0)
    return primary_command_fail(err, n, "%s",
                                "cmds must be a non-empty array");
  if (replies == NULL)
    return UV_ENOMEM;
  cJSON_ArrayForEach(sub, cmds) {
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(sub, "cmd");
    i++;
    if ((r = cJSON_CreateObject()) == NULL)
      return UV_ENOMEM;
    rc = ctl_is_object(sub) ? primary_command_exec(sub, 1, r, why,
                                                   sizeof(why))
                            : primary_command_fail(why, sizeof(why), "%s",
                                                   "not an object");
    if (rc != 0) {
      cJSON_Delete(r);
      snprintf(err, n, "command %d (%s): %s", i,
               cJSON_IsString(name) ? name->valuestring : "?", why);
      return rc;
    }
    cJSON_AddItemToObjectCS(r, "ok", cJSON_CreateTrue());
    cJSON_AddItemToArray(replies, r);
  }
  return 0;
}

/* Runs one command line and sends its one reply. */
void primary__command_run(const char *line, size_t len)
{
  char err[CTL_ERROR_MAX] = "";
  cJSON *extras = NULL, *reply = NULL, *item;
  ctl_command_t c;
  int rc;

  rc = ctl_command_parse(line, len, &c);
  if (rc != 0) {
    snprintf(err, sizeof(err), "%s", c.error[0] ? c.error : uv_strerror(rc));
    goto out;
  }
  extras = cJSON_CreateObject();
  reply = ctl_reply_new(c.req);
  if (extras == NULL || reply == NULL) {
    rc = UV_ENOMEM;
    goto out;
  }
  rc = primary_command_exec(c.msg, 0, extras, err, sizeof(err));
  cJSON_AddBoolToObject(reply, "ok", rc == 0);
  if (rc != 0)
    cJSON_AddStringToObject(reply, "error",
                            err[0] != '\0' ? err : uv_strerror(rc));
  /* a refused batch says what ran before the refusal */
  while ((item = extras->child) != NULL)
    if (rc == 0 || strcmp(item->string, "replies") == 0)
      cJSON_AddItemToObject(reply, item->string,
                            cJSON_DetachItemViaPointer(extras, item));
    else
      cJSON_Delete(cJSON_DetachItemViaPointer(extras, item));
  /* Straight out: what the command caused is held until after it. */
  (void)ctl_send(&primary__agent.ctl, reply);
  rc = 0;

out:
  if (rc != 0)
    (void)ctl_reply_refuse(&primary__agent.ctl, c.req,
                           err[0] != '\0' ? err : uv_strerror(rc));
  cJSON_Delete(reply);
  cJSON_Delete(extras);
  ctl_command_free(&c);
}
