/*
 * primary.c - the builtin primary agent: protocol commands and events.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "primary.h"
#include "primary-agent.h"

agent_t A;

static const char *const event_names[SIM_EV_MAX] = {
  "setup", "fork", "online", "listening", "message", "disconnect", "exit",
  "error"
};

static void close_free(uv_handle_t *h)
{
  free(h);
}

/* ---------------------------------------------------------------------- */
/* Events out                                                              */

static void add_flags(cJSON *m, sim_worker_t *w)
{
  int ead = sim_worker_exited_after_disconnect(w);

  cJSON_AddNumberToObject(m, "worker", sim_worker_id(w));
  cJSON_AddNumberToObject(m, "pid", sim_worker_pid(w));
  if (ead < 0)
    cJSON_AddNullToObject(m, "ead");
  else
    cJSON_AddBoolToObject(m, "ead", ead);
  cJSON_AddBoolToObject(m, "connected", sim_worker_is_connected(w));
  cJSON_AddBoolToObject(m, "dead", sim_worker_is_dead(w));
  cJSON_AddBoolToObject(m, "member", sim_worker_in_workers(w));
  cJSON_AddStringToObject(m, "state", sim_worker_state(w));
}

static void on_event(sim_cluster_t *c, const sim_event_t *ev)
{
  cJSON *m = cJSON_CreateObject();

  cJSON_AddStringToObject(m, "type", "event");
  cJSON_AddStringToObject(m, "event", event_names[ev->type]);
  cJSON_AddStringToObject(m, "emitter",
                          ev->emitter == SIM_ON_WORKER ? "worker" : "cluster");
  if (ev->worker != NULL)
    add_flags(m, ev->worker);
  switch (ev->type) {
  case SIM_EV_EXIT: {
    const char *sig = sim_signal_name(ev->term_signal);
    if (ev->term_signal != 0)
      cJSON_AddNullToObject(m, "code");
    else
      cJSON_AddNumberToObject(m, "code", (double)ev->exit_code);
    if (ev->term_signal != 0 && sig != NULL)
      cJSON_AddStringToObject(m, "signal", sig);
    else
      cJSON_AddNullToObject(m, "signal");
    break;
  }
  case SIM_EV_LISTENING: {
    cJSON *a = cJSON_AddObjectToObject(m, "address");
    cJSON_AddNumberToObject(a, "addressType", ev->address->address_type);
    if (ev->address->address != NULL)
      cJSON_AddStringToObject(a, "address", ev->address->address);
    else
      cJSON_AddNullToObject(a, "address");
    cJSON_AddNumberToObject(a, "port", ev->address->port);
    if (ev->address->fd >= 0)
      cJSON_AddNumberToObject(a, "fd", ev->address->fd);
    else
      cJSON_AddNullToObject(a, "fd");
    if (ev->emitter == SIM_ON_WORKER) {
      agent_worker_t *aw = sim_worker_get_data(ev->worker);
      if (aw != NULL)
        aw->listened = 1;
    }
    break;
  }
  case SIM_EV_MESSAGE:
    cJSON_AddItemToObject(m, "message", cJSON_Duplicate(ev->message, 1));
    if (ev->handle != NULL)
      uv_close((uv_handle_t *)ev->handle, close_free);
    break;
  case SIM_EV_ERROR: {
    cJSON *e = cJSON_AddObjectToObject(m, "error");
    cJSON_AddStringToObject(e, "code",
                            ev->error_code ? ev->error_code : "ERR");
    cJSON_AddStringToObject(e, "message",
                            ev->error_message ? ev->error_message : "");
    break;
  }
  default:
    break;
  }
  (void)ctl_send(&A.ctl, m);
  cJSON_Delete(m);
  policy_on_event(ev);
}

static void on_disconnect_cb(sim_cluster_t *c, void *arg)
{
  cJSON *m = cJSON_CreateObject();

  cJSON_AddStringToObject(m, "type", "event");
  cJSON_AddStringToObject(m, "event", "disconnect-callback");
  cJSON_AddStringToObject(m, "emitter", "cluster");
  (void)ctl_send(&A.ctl, m);
  cJSON_Delete(m);
}

void agent_policy_event(const char *action, cJSON *fields)
{
  cJSON *m = fields != NULL ? fields : cJSON_CreateObject();

  cJSON_AddStringToObject(m, "type", "policy");
  cJSON_AddStringToObject(m, "action", action);
  (void)ctl_send(&A.ctl, m);
  cJSON_Delete(m);
}

/* ---------------------------------------------------------------------- */
/* Commands in                                                             */

static char **env_from_json(const cJSON *obj)
{
  const cJSON *item;
  size_t n = 0, i = 0;
  char **env;

  cJSON_ArrayForEach(item, obj) n++;
  env = calloc(n + 1, sizeof(*env));
  if (env == NULL)
    return NULL;
  cJSON_ArrayForEach(item, obj) {
    char *val = cJSON_IsString(item) ? strdup(item->valuestring)
                                     : cJSON_PrintUnformatted(item);
    size_t len = strlen(item->string) + strlen(val ? val : "") + 2;
    env[i] = malloc(len);
    if (env[i] != NULL)
      snprintf(env[i], len, "%s=%s", item->string, val ? val : "");
    free(val);
    if (env[i] != NULL)
      i++;
  }
  return env;
}

static void free_env(char **env)
{
  for (size_t i = 0; env != NULL && env[i] != NULL; i++)
    free(env[i]);
  free(env);
}

int agent_fork(char **env, sim_worker_t **ret)
{
  agent_worker_t *aw = calloc(1, sizeof(*aw));
  sim_worker_t *w;
  int err;

  if (aw == NULL)
    return UV_ENOMEM;
  err = sim_cluster_fork(&A.cluster, (const char *const *)env, &w);
  if (err != 0) {
    free(aw);
    return err;
  }
  if (env != NULL) {
    size_t n = 0;
    while (env[n] != NULL)
      n++;
    aw->env = calloc(n + 1, sizeof(char *));
    for (size_t i = 0; aw->env != NULL && i < n; i++)
      aw->env[i] = strdup(env[i]);
  }
  aw->forked_at = uv_hrtime();
  aw->last_pong = aw->forked_at;
  sim_worker_set_data(w, aw);
  A.forks++;
  *ret = w;
  return 0;
}

static sim_worker_t *worker_arg(const cJSON *cmd, char *err, size_t n)
{
  const cJSON *id = cJSON_GetObjectItemCaseSensitive(cmd, "worker");
  sim_worker_t *w;

  if (!cJSON_IsNumber(id)) {
    snprintf(err, n, "missing worker id");
    return NULL;
  }
  w = sim_cluster_find(&A.cluster, (unsigned)id->valuedouble);
  if (w == NULL)
    snprintf(err, n, "no worker %d", (int)id->valuedouble);
  return w;
}

static int cmd_setup(const cJSON *cmd, char *err, size_t n)
{
  const cJSON *sched = cJSON_GetObjectItemCaseSensitive(cmd, "scheduling");
  const cJSON *st = cJSON_GetObjectItemCaseSensitive(cmd, "settings");
  const cJSON *v;
  sim_settings_t s = { 0 };
  char **args = NULL;
  int rc;

  if (cJSON_IsString(sched)) {
    if (strcmp(sched->valuestring, "rr") == 0)
      A.cluster.scheduling_policy = SIM_SCHED_RR;
    else if (strcmp(sched->valuestring, "none") == 0)
      A.cluster.scheduling_policy = SIM_SCHED_NONE;
    else {
      snprintf(err, n, "unknown scheduling '%s'", sched->valuestring);
      return UV_EINVAL;
    }
  }
  v = cJSON_GetObjectItemCaseSensitive(st, "exec");
  if (cJSON_IsString(v))
    s.exec = v->valuestring;
  v = cJSON_GetObjectItemCaseSensitive(st, "args");
  if (cJSON_IsArray(v)) {
    int k = 0, cnt = cJSON_GetArraySize(v);
    const cJSON *a;
    args = calloc((size_t)cnt + 1, sizeof(*args));
    cJSON_ArrayForEach(a, v) if (cJSON_IsString(a) && args != NULL)
      args[k++] = a->valuestring;
    s.args = (const char *const *)args;
    s.args_set = 1;
  }
  v = cJSON_GetObjectItemCaseSensitive(st, "cwd");
  if (cJSON_IsString(v))
    s.cwd = v->valuestring;
  v = cJSON_GetObjectItemCaseSensitive(st, "silent");
  if (cJSON_IsBool(v))
    s.silent = cJSON_IsTrue(v) ? 1 : -1;
  v = cJSON_GetObjectItemCaseSensitive(st, "serialization");
  if (cJSON_IsString(v))
    s.serialization = v->valuestring;
  v = cJSON_GetObjectItemCaseSensitive(st, "env");
  if (cJSON_IsObject(v)) {
    free_env(A.setup_env);
    A.setup_env = env_from_json(v);
  }
  rc = sim_cluster_setup(&A.cluster, &s);
  free(args);
  if (rc != 0)
    snprintf(err, n, "setup: %s", uv_strerror(rc));
  return rc;
}

static int cmd_fork(const cJSON *cmd, cJSON *reply, char *err, size_t n)
{
  const cJSON *envj = cJSON_GetObjectItemCaseSensitive(cmd, "env");
  char **fenv = env_from_json(envj);
  char **env = NULL;
  size_t a = 0, b = 0;
  sim_worker_t *w;
  int rc;

  /* setup's env first, the fork's own env over it. */
  while (A.setup_env != NULL && A.setup_env[a] != NULL)
    a++;
  while (fenv != NULL && fenv[b] != NULL)
    b++;
  env = calloc(a + b + 1, sizeof(*env));
  for (size_t i = 0; env != NULL && i < a; i++)
    env[i] = strdup(A.setup_env[i]);
  for (size_t i = 0; env != NULL && i < b; i++)
    env[a + i] = strdup(fenv[i]);
  rc = agent_fork(env, &w);
  free_env(env);
  free_env(fenv);
  if (rc != 0) {
    snprintf(err, n, "fork: %s", uv_strerror(rc));
    return rc;
  }
  cJSON_AddNumberToObject(reply, "worker", sim_worker_id(w));
  return 0;
}

static void add_member(sim_worker_t *w, void *arg)
{
  cJSON_AddItemToArray(arg, cJSON_CreateNumber(sim_worker_id(w)));
}

static void on_command(ctl_t *ctl, const cJSON *cmd)
{
  const cJSON *name = cJSON_GetObjectItemCaseSensitive(cmd, "cmd");
  const cJSON *req = cJSON_GetObjectItemCaseSensitive(cmd, "req");
  cJSON *reply = cJSON_CreateObject();
  char err[256] = "";
  sim_worker_t *w;
  int rc = 0;

  cJSON_AddStringToObject(reply, "type", "reply");
  if (cJSON_IsNumber(req))
    cJSON_AddNumberToObject(reply, "req", req->valuedouble);
  else
    cJSON_AddNullToObject(reply, "req");
  if (!cJSON_IsString(name)) {
    rc = UV_EINVAL;
    snprintf(err, sizeof(err), "missing cmd");
  } else if (strcmp(name->valuestring, "setup") == 0) {
    rc = cmd_setup(cmd, err, sizeof(err));
  } else if (strcmp(name->valuestring, "fork") == 0) {
    rc = cmd_fork(cmd, reply, err, sizeof(err));
  } else if (strcmp(name->valuestring, "disconnect") == 0) {
    w = worker_arg(cmd, err, sizeof(err));
    rc = w != NULL ? sim_worker_disconnect(w) : UV_EINVAL;
  } else if (strcmp(name->valuestring, "kill") == 0) {
    const cJSON *sig = cJSON_GetObjectItemCaseSensitive(cmd, "signal");
    int signum = cJSON_IsString(sig) ? sim_signal_from_name(sig->valuestring)
                                     : SIGTERM;
    w = worker_arg(cmd, err, sizeof(err));
    if (w == NULL) {
      rc = UV_EINVAL;
    } else if (signum == 0) {
      rc = UV_EINVAL;
      snprintf(err, sizeof(err), "unknown signal");
    } else {
      (void)sim_worker_kill(w, signum);
    }
  } else if (strcmp(name->valuestring, "send") == 0) {
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(cmd, "message");
    w = worker_arg(cmd, err, sizeof(err));
    if (w == NULL || msg == NULL) {
      rc = UV_EINVAL;
      if (msg == NULL)
        snprintf(err, sizeof(err), "missing message");
    } else {
      /* A closed channel is reported as the worker's error event. */
      (void)sim_worker_send(w, msg, NULL, NULL, NULL);
    }
  } else if (strcmp(name->valuestring, "cluster-disconnect") == 0) {
    rc = sim_cluster_disconnect(&A.cluster, on_disconnect_cb, NULL);
  } else if (strcmp(name->valuestring, "policy") == 0) {
    rc = policy_apply(cmd, err, sizeof(err));
  } else if (strcmp(name->valuestring, "rolling-restart") == 0) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(cmd, "timeout_ms");
    rc = policy_rolling_restart(cJSON_IsNumber(t) ? (unsigned)t->valuedouble
                                                  : 5000);
    if (rc != 0)
      snprintf(err, sizeof(err), "a rolling restart is already running");
  } else if (strcmp(name->valuestring, "status") == 0) {
    cJSON *ids = cJSON_AddArrayToObject(reply, "workers");
    sim_cluster_foreach(&A.cluster, add_member, ids);
  } else if (strcmp(name->valuestring, "shutdown") == 0) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(cmd, "timeout_ms");
    rc = policy_shutdown(cJSON_IsNumber(t) ? (unsigned)t->valuedouble : 2000);
  } else {
    rc = UV_EINVAL;
    snprintf(err, sizeof(err), "unknown command '%s'", name->valuestring);
  }
  cJSON_AddBoolToObject(reply, "ok", rc == 0);
  if (rc != 0)
    cJSON_AddStringToObject(reply, "error",
                            err[0] ? err : uv_strerror(rc));
  (void)ctl_send(&A.ctl, reply);
  cJSON_Delete(reply);
}

static void on_lost(ctl_t *ctl)
{
  /* Nobody listens any more: end the workers and leave. */
  (void)policy_shutdown(1000);
}

int primary_main(int argc, char **argv)
{
  const char *path = getenv("CLUSTERSIM_CONTROL");
  cJSON *hello;
  int rc;

  (void)argc;
  (void)argv;
  if (path == NULL || *path == '\0') {
    fprintf(stderr, "clustersim primary: CLUSTERSIM_CONTROL is not set; "
                    "this role is started by `clustersim run`\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  A.loop = uv_default_loop();
  rc = sim_cluster_init(A.loop, &A.cluster, on_event);
  if (rc == 0)
    rc = ctl_open(A.loop, &A.ctl, path, on_command, on_lost);
  if (rc != 0) {
    fprintf(stderr, "clustersim primary: %s\n", uv_strerror(rc));
    return 2;
  }
  hello = cJSON_CreateObject();
  cJSON_AddStringToObject(hello, "type", "hello");
  cJSON_AddStringToObject(hello, "role", "primary");
  cJSON_AddNumberToObject(hello, "pid", getpid());
  cJSON_AddStringToObject(hello, "runtime", "clustersim");
  cJSON_AddStringToObject(hello, "version", CLUSTERSIM_VERSION);
  (void)ctl_send(&A.ctl, hello);
  cJSON_Delete(hello);
  uv_run(A.loop, UV_RUN_DEFAULT);
  return 0;
}
