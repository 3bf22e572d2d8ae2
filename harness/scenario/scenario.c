/*
 * Scenario loading: parse with libfyaml, check against the schema
 * (scenario-schema.c), then build the model and check what a schema cannot
 * see (a worker that can never exist, `trigger` outside a trigger...).
 */
#include "scenario-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Scenarios are small; anything larger is not a scenario. */
#define MAX_SCENARIO_BYTES (1024 * 1024)

typedef struct {
  scenario__errs_t *errs;
  scenario_t *s;
  /* fork accounting for "a worker that cannot exist" */
  unsigned bound;
  bool unbounded;
} build_t;

static int64_t node_int(struct fy_node *n, int64_t dflt)
{
  const char *s;
  char *end;
  long long v;

  if (n == NULL)
    return dflt;
  s = scenario__node_str(n);
  v = strtoll(s, &end, 10);
  return *end == '\0' && s[0] ? v : dflt;
}

static bool node_bool(struct fy_node *n, bool dflt)
{
  const char *s;

  if (n == NULL)
    return dflt;
  s = scenario__node_str(n);
  if (s[0] == 't' || s[0] == 'T')
    return true;
  if (s[0] == 'f' || s[0] == 'F')
    return false;
  return dflt;
}

static int64_t node_ms(struct fy_node *n, int64_t dflt)
{
  int64_t ms;

  if (n == NULL || base_duration_parse(scenario__node_str(n), &ms) != 0)
    return dflt;
  return ms;
}

static scenario_wref_t node_wref(struct fy_node *n)
{
  scenario_wref_t r = {SCENARIO_W_NONE, 0, 0, 0};
  scenario__loc_t loc;
  const char *s;

  if (n == NULL)
    return r;
  loc = scenario__node_loc(n, (scenario__loc_t){0, 0});
  r.line = loc.line;
  r.column = loc.column;
  s = scenario__node_str(n);
  if (strcmp(s, "any") == 0)
    r.kind = SCENARIO_W_ANY;
  else if (strcmp(s, "each") == 0)
    r.kind = SCENARIO_W_EACH;
  else if (strcmp(s, "last") == 0)
    r.kind = SCENARIO_W_LAST;
  else if (strcmp(s, "trigger") == 0)
    r.kind = SCENARIO_W_TRIGGER;
  else if (strcmp(s, "primary") == 0)
    r.kind = SCENARIO_W_PRIMARY;
  else {
    r.kind = SCENARIO_W_ID;
    r.id = (unsigned)node_int(n, 0);
  }
  return r;
}

static trace_ev_t node_ev(struct fy_node *n)
{
  return n ? trace_ev_from_name(scenario__node_str(n)) : TRACE_EV_NONE;
}

static bool node_cluster(struct fy_node *map)
{
  struct fy_node *e = scenario__node_get(map, "emitter");
  return e != NULL && strcmp(scenario__node_str(e), "cluster") == 0;
}

/* ---------------------------------------------------------------------- */
/* Worker behaviour -> CLUSTERSIM_WORKER (docs/protocol.md section 4.1)    */

static cJSON *build_server(struct fy_node *n)
{
  cJSON *j = cJSON_CreateObject();
  struct fy_node *v;

  if (j == NULL)
    return NULL;
  v = scenario__node_get(n, "kind");
  cJSON_AddStringToObject(j, "kind", v ? scenario__node_str(v) : "http");
  cJSON_AddNumberToObject(j, "port",
                          (double)node_int(scenario__node_get(n, "port"), 0));
  /* Loopback only: a listen without a host would bind every interface. */
  v = scenario__node_get(n, "host");
  cJSON_AddStringToObject(j, "host", v ? scenario__node_str(v) : "127.0.0.1");
  cJSON_AddBoolToObject(j, "exclusive",
                        node_bool(scenario__node_get(n, "exclusive"), false));
  cJSON_AddNumberToObject(
      j, "close_delay_ms",
      (double)node_ms(scenario__node_get(n, "close-delay"), 0));
  cJSON_AddNumberToObject(
      j, "max_connections",
      (double)node_int(scenario__node_get(n, "max-connections"), 0));
  return j;
}

/* Fills `j` from a `worker:` mapping; keys present replace those in j. */
static int build_behaviour(cJSON *j, struct fy_node *n)
{
  struct fy_node *v;

  if (n == NULL)
    return 0;
  if ((v = scenario__node_get(n, "servers")) != NULL) {
    cJSON *arr = cJSON_CreateArray();
    struct fy_node *item;
    void *it = NULL;
    if (arr == NULL)
      return UV_ENOMEM;
    while ((item = fy_node_sequence_iterate(v, &it)) != NULL) {
      cJSON *srv = build_server(item);
      if (srv == NULL) {
        cJSON_Delete(arr);
        return UV_ENOMEM;
      }
      cJSON_AddItemToArray(arr, srv);
    }
    cJSON_ReplaceItemInObject(j, "servers", arr);
  }
  if ((v = scenario__node_get(n, "messages")) != NULL)
    cJSON_ReplaceItemInObject(j, "messages",
                              cJSON_CreateString(scenario__node_str(v)));
  if ((v = scenario__node_get(n, "startup-delay")) != NULL)
    cJSON_ReplaceItemInObject(j, "startup_delay_ms",
                              cJSON_CreateNumber((double)node_ms(v, 0)));
  if ((v = scenario__node_get(n, "signals")) != NULL) {
    cJSON *sig = cJSON_CreateObject();
    struct fy_node_pair *p;
    void *it = NULL;
    if (sig == NULL)
      return UV_ENOMEM;
    while ((p = fy_node_mapping_iterate(v, &it)) != NULL)
      cJSON_AddStringToObject(sig, scenario__node_str(fy_node_pair_key(p)),
                              scenario__node_str(fy_node_pair_value(p)));
    cJSON_ReplaceItemInObject(j, "signals", sig);
  }
  if ((v = scenario__node_get(n, "on-listening")) != NULL)
    cJSON_ReplaceItemInObject(j, "on_listening",
                              cJSON_CreateString(scenario__node_str(v)));
  return 0;
}

static cJSON *default_behaviour(void)
{
  cJSON *j = cJSON_CreateObject();

  if (j == NULL)
    return NULL;
  cJSON_AddItemToObject(j, "servers", cJSON_CreateArray());
  cJSON_AddStringToObject(j, "messages", "none");
  cJSON_AddNumberToObject(j, "startup_delay_ms", 0);
  cJSON_AddItemToObject(j, "signals", cJSON_CreateObject());
  cJSON_AddNullToObject(j, "on_listening");
  return j;
}

static cJSON *build_env(struct fy_node *n)
{
  cJSON *j = cJSON_CreateObject();
  struct fy_node_pair *p;
  void *it = NULL;

  if (j == NULL || n == NULL)
    return j;
  while ((p = fy_node_mapping_iterate(n, &it)) != NULL)
    cJSON_AddStringToObject(j, scenario__node_str(fy_node_pair_key(p)),
                            scenario__node_str(fy_node_pair_value(p)));
  return j;
}

/* ---------------------------------------------------------------------- */
/* Cluster and primary                                                     */

static int build_cluster(build_t *b, struct fy_node *n)
{
  scenario_t *s = b->s;
  struct fy_node *v;
  cJSON *env;

  s->settings = cJSON_CreateObject();
  if (s->settings == NULL)
    return UV_ENOMEM;
  if (n == NULL)
    return 0;
  s->workers = (unsigned)node_int(scenario__node_get(n, "workers"), 0);
  if ((v = scenario__node_get(n, "scheduling")) != NULL)
    s->scheduling = strdup(scenario__node_str(v));
  if ((v = scenario__node_get(n, "exec")) != NULL)
    cJSON_AddStringToObject(s->settings, "exec", scenario__node_str(v));
  if ((v = scenario__node_get(n, "args")) != NULL)
    cJSON_AddItemToObject(s->settings, "args", scenario__node_to_json(v));
  if ((v = scenario__node_get(n, "cwd")) != NULL)
    cJSON_AddStringToObject(s->settings, "cwd", scenario__node_str(v));
  if ((v = scenario__node_get(n, "silent")) != NULL)
    cJSON_AddBoolToObject(s->settings, "silent", node_bool(v, false));
  if ((v = scenario__node_get(n, "env")) != NULL) {
    env = build_env(v);
    if (env == NULL)
      return UV_ENOMEM;
    cJSON_AddItemToObject(s->settings, "env", env);
  }
  return 0;
}

static int build_primary(build_t *b, struct fy_node *n)
{
  scenario_t *s = b->s;
  struct fy_node *v, *w;
  cJSON *pol;
  bool any = false;

  if (n == NULL)
    return 0;
  pol = cJSON_CreateObject();
  if (pol == NULL)
    return UV_ENOMEM;
  cJSON_AddStringToObject(pol, "cmd", "policy");
  if ((v = scenario__node_get(n, "respawn")) != NULL) {
    const char *rule;
    w = fy_node_get_type(v) == FYNT_MAPPING ? scenario__node_get(v, "when") : v;
    rule = scenario__node_str(w);
    cJSON_AddStringToObject(pol, "respawn", rule);
    if (strcmp(rule, "always") == 0)
      s->respawn = SCENARIO_RESPAWN_ALWAYS;
    else if (strcmp(rule, "unless-exited-after-disconnect") == 0)
      s->respawn = SCENARIO_RESPAWN_UNLESS_EAD;
    else if (strcmp(rule, "on-nonzero") == 0)
      s->respawn = SCENARIO_RESPAWN_ON_NONZERO;
    if (fy_node_get_type(v) == FYNT_MAPPING) {
      if ((w = scenario__node_get(v, "backoff")) != NULL)
        cJSON_AddNumberToObject(pol, "backoff_ms", (double)node_ms(w, 0));
      if ((w = scenario__node_get(v, "backoff-max")) != NULL)
        cJSON_AddNumberToObject(pol, "backoff_max_ms",
                                (double)node_ms(w, 0));
      if ((w = scenario__node_get(v, "startup-window")) != NULL)
        cJSON_AddNumberToObject(pol, "startup_window_ms",
                                (double)node_ms(w, 0));
    }
    if (s->respawn != SCENARIO_RESPAWN_NEVER)
      b->unbounded = true;
    any = true;
  }
  if ((v = scenario__node_get(n, "shutdown")) != NULL) {
    cJSON *sd = cJSON_AddObjectToObject(pol, "shutdown");
    cJSON *sigs;
    if ((w = scenario__node_get(v, "signals")) != NULL) {
      sigs = scenario__node_to_json(w);
    } else {
      sigs = cJSON_CreateArray();
      cJSON_AddItemToArray(sigs, cJSON_CreateString("SIGTERM"));
      cJSON_AddItemToArray(sigs, cJSON_CreateString("SIGINT"));
    }
    cJSON_AddItemToObject(sd, "signals", sigs);
    cJSON_AddNumberToObject(sd, "timeout_ms",
                            (double)node_ms(scenario__node_get(v, "timeout"),
                                            2000));
    any = true;
  }
  if ((v = scenario__node_get(n, "heartbeat")) != NULL) {
    cJSON *hb = cJSON_AddObjectToObject(pol, "heartbeat");
    cJSON_AddNumberToObject(
        hb, "interval_ms",
        (double)node_ms(scenario__node_get(v, "interval"), 200));
    cJSON_AddNumberToObject(
        hb, "timeout_ms", (double)node_ms(scenario__node_get(v, "timeout"),
                                          1000));
    any = true;
  }
  if ((v = scenario__node_get(n, "metrics")) != NULL) {
    bool on = fy_node_get_type(v) == FYNT_MAPPING || node_bool(v, false);
    if (on) {
      cJSON *m = cJSON_AddObjectToObject(pol, "metrics");
      cJSON_AddNumberToObject(
          m, "port", (double)node_int(scenario__node_get(v, "port"), 0));
      any = true;
    }
  }
  if (any)
    s->policy = pol;
  else
    cJSON_Delete(pol);
  return 0;
}

/* ---------------------------------------------------------------------- */
/* Steps                                                                   */

static int build_steps(build_t *b, struct fy_node *seq, const char *path,
                       bool in_do, scenario__loc_t loc, scenario_step_t **out,
                       size_t *n_out);

/* The step's one action key (the schema made sure there is exactly one). */
static struct fy_node_pair *action_pair(struct fy_node *step)
{
  const char *const *names = scenario_step_names();
  struct fy_node_pair *p;
  void *it = NULL;
  size_t i;

  while ((p = fy_node_mapping_iterate(step, &it)) != NULL) {
    const char *k = scenario__node_str(fy_node_pair_key(p));
    for (i = 0; names[i]; i++)
      if (strcmp(names[i], k) == 0)
        return p;
  }
  return NULL;
}

static void check_ref(build_t *b, scenario_wref_t r, bool in_do,
                      scenario__loc_t loc, const char *path)
{
  if (r.kind == SCENARIO_W_TRIGGER && !in_do)
    scenario__errs_add(b->errs, loc, path,
                     "'trigger' names the worker whose event fired a "
                     "trigger; use it inside 'do'");
  if (r.kind == SCENARIO_W_LAST && !in_do && b->bound == 0 && !b->unbounded)
    scenario__errs_add(b->errs, loc, path,
                     "'last' names the most recently forked worker, and "
                     "no worker is forked before this step");
}

static int build_step(build_t *b, struct fy_node *n, const char *path,
                      bool in_do, scenario_step_t *st)
{
  struct fy_node_pair *ap = action_pair(n);
  struct fy_node *key = fy_node_pair_key(ap);
  struct fy_node *v = fy_node_pair_value(ap);
  const char *name = scenario__node_str(key);
  scenario__loc_t loc = scenario__node_loc(key, (scenario__loc_t){1, 1});
  char sub[512];
  struct fy_node *x;
  int rc = 0;

  memset(st, 0, sizeof(*st));
  st->line = loc.line;
  st->column = loc.column;
  st->path = strdup(path);
  if (st->path == NULL)
    return UV_ENOMEM;
  snprintf(sub, sizeof(sub), "%s/%s", path, name);

  if (strcmp(name, "fork") == 0) {
    st->kind = SCENARIO_STEP_FORK;
    if (fy_node_get_type(v) == FYNT_MAPPING) {
      st->count = (unsigned)node_int(scenario__node_get(v, "count"), 1);
      if ((x = scenario__node_get(v, "env")) != NULL)
        st->env = build_env(x);
      if ((x = scenario__node_get(v, "worker")) != NULL) {
        st->behaviour = cJSON_Duplicate(b->s->behaviour, true);
        if (st->behaviour == NULL)
          return UV_ENOMEM;
        rc = build_behaviour(st->behaviour, x);
      }
    } else {
      st->count = (unsigned)node_int(v, 1);
    }
    b->bound += st->count;
    return rc;
  }
  if (strcmp(name, "wait") == 0 || strcmp(name, "on") == 0) {
    st->kind = name[0] == 'w' ? SCENARIO_STEP_WAIT : SCENARIO_STEP_TRIGGER;
    st->event = node_ev(scenario__node_get(v, "event"));
    st->worker = node_wref(scenario__node_get(v, "worker"));
    if (st->worker.kind == SCENARIO_W_NONE)
      st->worker.kind = SCENARIO_W_ANY;
    st->count = (unsigned)node_int(scenario__node_get(v, "count"), 1);
    st->cluster_emitter = node_cluster(v);
    st->ms = node_ms(scenario__node_get(v, "within"), 5000);
    snprintf(sub, sizeof(sub), "%s/%s/worker", path, name);
    check_ref(b, st->worker, in_do, scenario__node_loc(scenario__node_get(v,
              "worker"), loc), sub);
    if (st->kind == SCENARIO_STEP_TRIGGER) {
      struct fy_node *d = scenario__node_get(n, "do");
      unsigned before = b->bound;
      size_t i;
      st->after_ms = node_ms(scenario__node_get(n, "after"), 0);
      st->jitter_ms = node_ms(scenario__node_get(n, "jitter"), 0);
      st->times = (unsigned)node_int(scenario__node_get(n, "times"), 1);
      snprintf(sub, sizeof(sub), "%s/do", path);
      if (fy_node_get_type(d) == FYNT_MAPPING) {
        st->actions = calloc(1, sizeof(*st->actions));
        if (st->actions == NULL)
          return UV_ENOMEM;
        st->n_actions = 1;
        rc = build_step(b, d, sub, true, &st->actions[0]);
      } else {
        rc = build_steps(b, d, sub, true, loc, &st->actions, &st->n_actions);
      }
      /* forks of a trigger happen up to `times` times, or without end */
      if (b->bound > before) {
        if (st->times == 0)
          b->unbounded = true;
        else
          b->bound = before + (b->bound - before) * st->times;
      }
      for (i = 0; i < st->n_actions; i++)
        if (st->actions[i].kind == SCENARIO_STEP_ROLLING_RESTART)
          b->unbounded = true;
    }
    return rc;
  }
  if (strcmp(name, "sleep") == 0) {
    st->kind = SCENARIO_STEP_SLEEP;
    st->ms = node_ms(v, 0);
    return 0;
  }
  if (strcmp(name, "cluster-disconnect") == 0) {
    st->kind = SCENARIO_STEP_CLUSTER_DISCONNECT;
    return 0;
  }
  if (strcmp(name, "load") == 0) {
    if (fy_node_get_type(v) == FYNT_MAPPING) {
      struct fy_node *l = scenario__node_get(v, "start");
      scenario_load_spec_t *ls = &st->load;
      st->kind = SCENARIO_STEP_LOAD_START;
      ls->connections =
          (unsigned)node_int(scenario__node_get(l, "connections"), 4);
      ls->keepalive = node_bool(scenario__node_get(l, "keepalive"), true);
      ls->requests = (uint64_t)node_int(scenario__node_get(l, "requests"), 0);
      ls->duration_ms = node_ms(scenario__node_get(l, "duration"), 0);
      ls->timeout_ms = node_ms(scenario__node_get(l, "timeout"), 2000);
      ls->port_index =
          (unsigned)node_int(scenario__node_get(l, "server"), 0);
      x = scenario__node_get(l, "path");
      snprintf(ls->path, sizeof(ls->path), "%s",
               x ? scenario__node_str(x) : "/");
      if (ls->port_index >= b->s->n_servers)
        scenario__errs_add(b->errs, loc, sub,
                         "load needs server %u of the worker behaviour, "
                         "and it has %u server%s", ls->port_index,
                         b->s->n_servers, b->s->n_servers == 1 ? "" : "s");
    } else {
      st->kind = SCENARIO_STEP_LOAD_STOP;
      st->wait_done = strcmp(scenario__node_str(v), "wait") == 0;
    }
    return 0;
  }
  if (strcmp(name, "rolling-restart") == 0 || strcmp(name, "shutdown") == 0) {
    bool restart = name[0] == 'r';
    st->kind = restart ? SCENARIO_STEP_ROLLING_RESTART : SCENARIO_STEP_SHUTDOWN;
    x = fy_node_get_type(v) == FYNT_MAPPING ? v : NULL;
    st->ms = node_ms(scenario__node_get(x, "timeout"), 2000);
    st->after_ms = node_ms(scenario__node_get(x, "within"),
                           restart ? 10000 : 5000);
    st->wait_done = node_bool(scenario__node_get(x, "wait"), true);
    if (restart)
      b->bound += b->bound;
    return 0;
  }
  if (strcmp(name, "connect") == 0) {
    st->kind = SCENARIO_STEP_CONNECT;
    st->count = (unsigned)node_int(scenario__node_get(v, "connections"), 1);
    st->ms = node_ms(scenario__node_get(v, "hold"), 0);
    st->port = (int)node_int(scenario__node_get(v, "port"), 0);
    if (st->port == 0 && b->s->n_servers == 0)
      scenario__errs_add(b->errs, loc, sub,
                       "connect needs a port or a worker server");
    return 0;
  }
  if (strcmp(name, "signal") == 0 || strcmp(name, "pause") == 0) {
    x = scenario__node_get(v, "to");
    st->kind = name[0] == 's' ? SCENARIO_STEP_SIGNAL : SCENARIO_STEP_PAUSE;
    st->worker = node_wref(x);
    st->signal = base_signal_from_name(
        scenario__node_str(scenario__node_get(v, "signal")));
    st->ms = node_ms(scenario__node_get(v, "for"), 0);
    snprintf(sub, sizeof(sub), "%s/%s/to", path, name);
    check_ref(b, st->worker, in_do, scenario__node_loc(x, loc), sub);
    return 0;
  }

  /* The rest act on one worker. */
  x = scenario__node_get(v, "worker");
  st->worker = node_wref(x);
  snprintf(sub, sizeof(sub), "%s/%s/worker", path, name);
  check_ref(b, st->worker, in_do, scenario__node_loc(x, loc), sub);
  if (strcmp(name, "send") == 0 || strcmp(name, "worker-send") == 0) {
    st->kind = name[0] == 's' ? SCENARIO_STEP_SEND : SCENARIO_STEP_WORKER_SEND;
    st->message = scenario__node_to_json(scenario__node_get(v, "message"));
    return st->message ? 0 : UV_ENOMEM;
  }
  if (strcmp(name, "disconnect") == 0)
    st->kind = SCENARIO_STEP_DISCONNECT;
  else if (strcmp(name, "kill") == 0) {
    st->kind = SCENARIO_STEP_KILL;
    x = scenario__node_get(v, "signal");
    st->signal = x ? base_signal_from_name(scenario__node_str(x)) : 15;
  } else if (strcmp(name, "crash") == 0) {
    st->kind = SCENARIO_STEP_CRASH;
    st->code = (int)node_int(scenario__node_get(v, "code"), 1);
  } else if (strcmp(name, "throw") == 0)
    st->kind = SCENARIO_STEP_THROW;
  else if (strcmp(name, "hang") == 0) {
    st->kind = SCENARIO_STEP_HANG;
    st->ms = node_ms(scenario__node_get(v, "for"), 0);
  } else if (strcmp(name, "ipc-disconnect") == 0)
    st->kind = SCENARIO_STEP_IPC_DISCONNECT;
  else if (strcmp(name, "worker-kill") == 0)
    st->kind = SCENARIO_STEP_WORKER_KILL;
  else if (strcmp(name, "worker-disconnect") == 0)
    st->kind = SCENARIO_STEP_WORKER_DISCONNECT;
  else if (strcmp(name, "close-servers") == 0)
    st->kind = SCENARIO_STEP_CLOSE_SERVERS;
  else if (strcmp(name, "hold") == 0) {
    st->kind = SCENARIO_STEP_HOLD;
    st->count = (unsigned)node_int(scenario__node_get(v, "connections"), 1);
    st->port = (int)node_int(scenario__node_get(v, "port"), 0);
    if (st->port == 0 && b->s->n_servers == 0)
      scenario__errs_add(b->errs, loc, path,
                       "hold needs a port or a worker server");
  }
  return 0;
}

static int build_steps(build_t *b, struct fy_node *seq, const char *path,
                       bool in_do, scenario__loc_t loc, scenario_step_t **out,
                       size_t *n_out)
{
  size_t n = fy_node_sequence_item_count(seq), i = 0;
  struct fy_node *item;
  void *it = NULL;
  char sub[512];
  int rc;

  (void)loc;
  *out = NULL;
  *n_out = 0;
  if (n == 0)
    return 0;
  *out = calloc(n, sizeof(**out));
  if (*out == NULL)
    return UV_ENOMEM;
  while ((item = fy_node_sequence_iterate(seq, &it)) != NULL && i < n) {
    snprintf(sub, sizeof(sub), "%s/%zu", path, i);
    rc = build_step(b, item, sub, in_do, &(*out)[i]);
    *n_out = ++i;
    if (rc != 0)
      return rc;
  }
  return 0;
}

/* ---------------------------------------------------------------------- */
/* Expectations                                                            */

static int parse_pattern(scenario_expect_t *e, struct fy_node *seq)
{
  size_t n = fy_node_sequence_item_count(seq), i = 0, used = 0, cap = 256;
  struct fy_node *item;
  void *it = NULL;

  e->pattern = calloc(n ? n : 1, sizeof(*e->pattern));
  e->pattern_text = malloc(cap);
  if (e->pattern == NULL || e->pattern_text == NULL)
    return UV_ENOMEM;
  e->pattern_text[0] = '\0';
  while ((item = fy_node_sequence_iterate(seq, &it)) != NULL && i < n) {
    scenario_pattern_elem_t *el = &e->pattern[i++];
    char buf[256], *p = buf, *alt, *save = NULL;
    size_t len;
    const char *text = scenario__node_str(item);

    if (used + strlen(text) + 3 >= cap) {
      char *bigger;
      cap = (used + strlen(text) + 3) * 2;
      bigger = realloc(e->pattern_text, cap);
      if (bigger == NULL)
        return UV_ENOMEM;
      e->pattern_text = bigger;
    }
    used += (size_t)snprintf(e->pattern_text + used, cap - used, "%s%s",
                             used ? ", " : "", text);
    snprintf(buf, sizeof(buf), "%s", text);
    el->quant = '1';
    if (*p == '!') {
      el->absent = true;
      p++;
    }
    len = strlen(p);
    if (len > 0 && strchr("?*+", p[len - 1]) != NULL) {
      el->quant = p[len - 1];
      p[len - 1] = '\0';
    }
    for (alt = strtok_r(p, "|", &save); alt; alt = strtok_r(NULL, "|", &save))
      el->alternatives |= 1ull << trace_ev_from_name(alt);
  }
  e->n_pattern = i;
  return 0;
}

static void opt_bool(scenario_opt_t *o, struct fy_node *n)
{
  if (n == NULL)
    return;
  o->set = true;
  if (scenario__node_is_nullish(n))
    o->is_null = true;
  else
    o->value = node_bool(n, false);
}

static scenario_point_t build_point(struct fy_node *n)
{
  scenario_point_t p = {TRACE_EV_NONE, {SCENARIO_W_ANY, 0, 0, 0}, 1};

  if (n == NULL)
    return p;
  p.event = node_ev(scenario__node_get(n, "event"));
  p.worker = node_wref(scenario__node_get(n, "worker"));
  if (p.worker.kind == SCENARIO_W_NONE)
    p.worker.kind = SCENARIO_W_ANY;
  p.nth = (unsigned)node_int(scenario__node_get(n, "nth"), 1);
  return p;
}

static int build_expect_item(build_t *b, scenario_expect_kind_t kind,
                             struct fy_node *n, const char *path,
                             scenario_expect_t *e)
{
  scenario__loc_t loc = scenario__node_loc(n, (scenario__loc_t){1, 1});
  struct fy_node *x;

  memset(e, 0, sizeof(*e));
  e->kind = kind;
  e->line = loc.line;
  e->column = loc.column;
  e->path = strdup(path);
  e->min = e->max = -1;
  e->max_failed = -1;
  e->min_requests = 0;
  e->min_ms = e->max_ms = -1;
  e->nth = 1;
  if (e->path == NULL)
    return UV_ENOMEM;
  e->worker = node_wref(scenario__node_get(n, "worker"));
  e->cluster_emitter = node_cluster(n);
  /* counts and absences are about what the steps did; lifecycles, flags
   * and timings may end in the end-of-run shutdown */
  x = scenario__node_get(n, "during");
  if (x != NULL)
    e->whole_run = strcmp(scenario__node_str(x), "run") == 0;
  else
    e->whole_run = kind != SCENARIO_EXPECT_COUNT &&
                   kind != SCENARIO_EXPECT_ABSENT;
  switch (kind) {
  case SCENARIO_EXPECT_ORDER:
    if (e->worker.kind == SCENARIO_W_NONE)
      e->worker.kind = SCENARIO_W_EACH;
    x = scenario__node_get(n, "pattern");
    if (fy_node_sequence_item_count(x) == 0)
      scenario__errs_add(b->errs, loc, path, "an order pattern needs events");
    return parse_pattern(e, x);
  case SCENARIO_EXPECT_ABSENT:
    if (e->worker.kind == SCENARIO_W_NONE)
      e->worker.kind = SCENARIO_W_ANY;
    e->event = node_ev(scenario__node_get(n, "event"));
    return 0;
  case SCENARIO_EXPECT_FLAGS:
    e->event = node_ev(scenario__node_get(n, "at"));
    e->nth = (unsigned)node_int(scenario__node_get(n, "nth"), 1);
    if (e->event == TRACE_EV_PRIMARY_EXIT) {
      if (e->worker.kind != SCENARIO_W_NONE)
        scenario__errs_add(b->errs, loc, path,
                         "primary-exit belongs to no worker: drop 'worker'");
    } else if (e->worker.kind == SCENARIO_W_NONE) {
      e->worker.kind = SCENARIO_W_EACH;
    }
    opt_bool(&e->ead, scenario__node_get(n, "exitedAfterDisconnect"));
    opt_bool(&e->connected, scenario__node_get(n, "isConnected"));
    opt_bool(&e->dead, scenario__node_get(n, "isDead"));
    opt_bool(&e->member, scenario__node_get(n, "member"));
    if ((x = scenario__node_get(n, "state")) != NULL)
      e->state = strdup(scenario__node_str(x));
    if ((x = scenario__node_get(n, "code")) != NULL) {
      e->code.set = true;
      e->code.is_null = scenario__node_is_nullish(x);
      e->code.value = node_int(x, 0);
    }
    if ((x = scenario__node_get(n, "signal")) != NULL) {
      e->signal.set = true;
      e->signal.is_null = scenario__node_is_nullish(x);
      e->signal.value = base_signal_from_name(scenario__node_str(x));
    }
    if (!e->ead.set && !e->connected.set && !e->dead.set && !e->member.set &&
        e->state == NULL && !e->code.set && !e->signal.set)
      scenario__errs_add(b->errs, loc, path,
                       "a flags check needs at least one of "
                       "exitedAfterDisconnect, isConnected, isDead, member, "
                       "state, code, signal");
    return 0;
  case SCENARIO_EXPECT_COUNT: {
    struct fy_node *c = scenario__node_get(n, "count");
    struct fy_node *mn = scenario__node_get(n, "min");
    struct fy_node *mx = scenario__node_get(n, "max");
    if (e->worker.kind == SCENARIO_W_NONE)
      e->worker.kind = SCENARIO_W_ANY;
    e->event = node_ev(scenario__node_get(n, "event"));
    if (c != NULL && (mn != NULL || mx != NULL))
      scenario__errs_add(b->errs, loc, path,
                       "use either 'count' or 'min'/'max', not both");
    else if (c == NULL && mn == NULL && mx == NULL)
      scenario__errs_add(b->errs, loc, path,
                       "a count needs 'count', 'min' or 'max'");
    if (c != NULL)
      e->min = e->max = node_int(c, 0);
    if (mn != NULL)
      e->min = node_int(mn, 0);
    if (mx != NULL)
      e->max = node_int(mx, 0);
    if (e->min >= 0 && e->max >= 0 && e->min > e->max)
      scenario__errs_add(b->errs, loc, path,
                       "min %lld is more than max %lld", (long long)e->min,
                       (long long)e->max);
    return 0;
  }
  case SCENARIO_EXPECT_AVAILABILITY:
    e->max_failed = node_int(scenario__node_get(n, "max-failed"), -1);
    e->min_requests = node_int(scenario__node_get(n, "min-requests"), 1);
    e->always_listening =
        node_bool(scenario__node_get(n, "always-listening"), false);
    if (e->max_failed < 0 && !e->always_listening)
      scenario__errs_add(b->errs, loc, path,
                       "an availability budget needs 'max-failed' or "
                       "'always-listening'");
    if (b->s->n_servers == 0)
      scenario__errs_add(b->errs, loc, path,
                       "availability needs a worker server (worker: "
                       "{servers: [...]})");
    return 0;
  case SCENARIO_EXPECT_TIMING:
    e->from = build_point(scenario__node_get(n, "from"));
    e->to = build_point(scenario__node_get(n, "to"));
    if ((x = scenario__node_get(n, "within")) != NULL)
      e->max_ms = node_ms(x, -1);
    if ((x = scenario__node_get(n, "at-least")) != NULL)
      e->min_ms = node_ms(x, -1);
    if (e->min_ms < 0 && e->max_ms < 0)
      scenario__errs_add(b->errs, loc, path,
                       "a timing bound needs 'within' or 'at-least'");
    else if (e->min_ms >= 0 && e->max_ms >= 0 && e->min_ms > e->max_ms)
      scenario__errs_add(b->errs, loc, path,
                       "at-least is longer than within");
    return 0;
  default:
    return 0;
  }
}

static int build_expect(build_t *b, struct fy_node *n)
{
  static const char *const keys[SCENARIO_EXPECT_KIND_COUNT] = {
    "order", "absent", "flags", "counts", "availability", "timing"};
  scenario_t *s = b->s;
  size_t total = 0, k;
  char path[512];
  int rc;

  if (n == NULL)
    return 0;
  for (k = 0; k < SCENARIO_EXPECT_KIND_COUNT; k++) {
    struct fy_node *v = scenario__node_get(n, keys[k]);
    if (v != NULL)
      total += fy_node_get_type(v) == FYNT_SEQUENCE
                   ? fy_node_sequence_item_count(v) : 1;
  }
  if (total == 0)
    return 0;
  s->expects = calloc(total, sizeof(*s->expects));
  if (s->expects == NULL)
    return UV_ENOMEM;
  for (k = 0; k < SCENARIO_EXPECT_KIND_COUNT; k++) {
    struct fy_node *v = scenario__node_get(n, keys[k]);
    if (v == NULL)
      continue;
    if (fy_node_get_type(v) == FYNT_SEQUENCE) {
      struct fy_node *item;
      void *it = NULL;
      size_t i = 0;
      while ((item = fy_node_sequence_iterate(v, &it)) != NULL) {
        snprintf(path, sizeof(path), "/expect/%s/%zu", keys[k], i++);
        rc = build_expect_item(b, (scenario_expect_kind_t)k, item, path,
                               &s->expects[s->n_expects++]);
        if (rc != 0)
          return rc;
      }
    } else {
      snprintf(path, sizeof(path), "/expect/%s", keys[k]);
      rc = build_expect_item(b, (scenario_expect_kind_t)k, v, path,
                             &s->expects[s->n_expects++]);
      if (rc != 0)
        return rc;
    }
  }
  return 0;
}

/* ---------------------------------------------------------------------- */
/* Worker references that can never be satisfied                           */

static void check_id(build_t *b, scenario_wref_t r, unsigned line,
                     unsigned column, const char *path, const char *what)
{
  char sub[512];

  if (b->unbounded || r.kind != SCENARIO_W_ID || r.id <= b->bound)
    return;
  if (r.line != 0) {
    line = r.line;
    column = r.column;
  }
  snprintf(sub, sizeof(sub), "%s%s", path, what);
  if (b->bound == 0)
    scenario__errs_add(b->errs, (scenario__loc_t){line, column}, sub,
                     "worker %u cannot exist: this scenario forks no "
                     "workers", r.id);
  else
    scenario__errs_add(b->errs, (scenario__loc_t){line, column}, sub,
                     "worker %u cannot exist: this scenario forks at most "
                     "%u worker%s", r.id, b->bound, b->bound == 1 ? "" : "s");
}

static void check_step_ids(build_t *b, const scenario_step_t *st, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++) {
    const char *what = st[i].kind == SCENARIO_STEP_SIGNAL ||
                               st[i].kind == SCENARIO_STEP_PAUSE
                           ? "/to" : "/worker";
    char base[512];
    snprintf(base, sizeof(base), "%s/%s", st[i].path,
             scenario_step_name(st[i].kind));
    if (st[i].kind == SCENARIO_STEP_TRIGGER)
      snprintf(base, sizeof(base), "%s/on", st[i].path);
    check_id(b, st[i].worker, st[i].line, st[i].column, base, what);
    if (st[i].kind == SCENARIO_STEP_TRIGGER)
      check_step_ids(b, st[i].actions, st[i].n_actions);
  }
}

static void check_ids(build_t *b)
{
  scenario_t *s = b->s;
  size_t i;

  check_step_ids(b, s->steps, s->n_steps);
  for (i = 0; i < s->n_expects; i++) {
    const scenario_expect_t *e = &s->expects[i];
    check_id(b, e->worker, e->line, e->column, e->path, "/worker");
    if (e->kind == SCENARIO_EXPECT_TIMING) {
      check_id(b, e->from.worker, e->line, e->column, e->path,
               "/from/worker");
      check_id(b, e->to.worker, e->line, e->column, e->path, "/to/worker");
    }
  }
}

/* ---------------------------------------------------------------------- */

/* `targets:` - kind: {skip: reason} or kind: {diverges: reason}. */
static int build_targets(build_t *b, struct fy_node *map)
{
  scenario_t *s = b->s;
  size_t n = (size_t)fy_node_mapping_item_count(map);
  struct fy_node_pair *p;
  void *it = NULL;

  s->target_notes = calloc(n + 1, sizeof(*s->target_notes));
  if (s->target_notes == NULL)
    return UV_ENOMEM;
  while ((p = fy_node_mapping_iterate(map, &it)) != NULL) {
    struct fy_node *k = fy_node_pair_key(p), *v = fy_node_pair_value(p);
    struct fy_node *skip = scenario__node_get(v, "skip");
    struct fy_node *div = scenario__node_get(v, "diverges");
    scenario__loc_t loc = scenario__node_loc(k, (scenario__loc_t){1, 1});
    scenario_target_note_t *t = &s->target_notes[s->n_target_notes];
    char path[96];

    snprintf(path, sizeof(path), "/targets/%s", scenario__node_str(k));
    if ((skip == NULL) == (div == NULL)) {
      scenario__errs_add(b->errs, loc, path,
                       "a target says either 'skip' or 'diverges', with "
                       "its reason");
      continue;
    }
    t->kind = strdup(scenario__node_str(k));
    t->skip = skip != NULL;
    t->reason = strdup(scenario__node_str(skip != NULL ? skip : div));
    t->line = loc.line;
    s->n_target_notes++;
    if (t->kind == NULL || t->reason == NULL)
      return UV_ENOMEM;
  }
  return 0;
}

static int build(build_t *b, struct fy_node *root, const char *file)
{
  scenario_t *s = b->s;
  struct fy_node *v;
  const char *base;
  int rc;

  s->file = strdup(file);
  if ((v = scenario__node_get(root, "name")) != NULL) {
    s->name = strdup(scenario__node_str(v));
  } else {
    /* the file's name without directory and extension */
    char *dot;
    base = strrchr(file, '/');
    s->name = strdup(base ? base + 1 : file);
    if (s->name && (dot = strrchr(s->name, '.')) != NULL && dot != s->name)
      *dot = '\0';
  }
  if (s->file == NULL || s->name == NULL)
    return UV_ENOMEM;
  if ((v = scenario__node_get(root, "description")) != NULL)
    s->description = strdup(scenario__node_str(v));
  if ((v = scenario__node_get(root, "skip")) != NULL)
    s->skip = strdup(scenario__node_str(v));
  if ((v = scenario__node_get(root, "tags")) != NULL) {
    size_t n = fy_node_sequence_item_count(v);
    struct fy_node *item;
    void *it = NULL;
    s->tags = calloc(n + 1, sizeof(char *));
    if (s->tags == NULL)
      return UV_ENOMEM;
    while ((item = fy_node_sequence_iterate(v, &it)) != NULL)
      s->tags[s->n_tags++] = strdup(scenario__node_str(item));
  }
  if ((v = scenario__node_get(root, "targets")) != NULL &&
      (rc = build_targets(b, v)) != 0)
    return rc;
  s->timeout_ms = node_ms(scenario__node_get(root, "timeout"), 30000);
  if ((v = scenario__node_get(root, "oracle")) != NULL)
    s->allow_exit_without_disconnect = node_bool(
        scenario__node_get(v, "allow-exit-without-disconnect"), false);

  if ((rc = build_cluster(b, scenario__node_get(root, "cluster"))) != 0)
    return rc;
  s->behaviour = default_behaviour();
  if (s->behaviour == NULL)
    return UV_ENOMEM;
  if ((rc = build_behaviour(s->behaviour, scenario__node_get(root, "worker")))
      != 0)
    return rc;
  s->n_servers =
      (unsigned)cJSON_GetArraySize(cJSON_GetObjectItem(s->behaviour,
                                                       "servers"));
  if ((rc = build_primary(b, scenario__node_get(root, "primary"))) != 0)
    return rc;
  b->bound = s->workers;
  if ((v = scenario__node_get(root, "steps")) != NULL &&
      (rc = build_steps(b, v, "/steps", false, (scenario__loc_t){1, 1},
                        &s->steps, &s->n_steps)) != 0)
    return rc;
  if ((rc = build_expect(b, scenario__node_get(root, "expect"))) != 0)
    return rc;
  check_ids(b);
  return 0;
}

int scenario_load_string(const char *name, const char *text,
                                 size_t len, base_diag_t *diag,
                                 scenario_t **out)
{
  scenario__errs_t errs = {.file = name, .diag = diag, .errors = 0};
  struct fy_diag_cfg dc;
  struct fy_diag *fyd = NULL;
  struct fy_parse_cfg cfg;
  struct fy_parser *parser = NULL;
  struct fy_document *doc = NULL, *doc2 = NULL;
  scenario_t *s = NULL;
  build_t b;
  int rc = 0;

  *out = NULL;
  if (len > MAX_SCENARIO_BYTES) {
    base_diag_addf(diag, "%s:1:1: error: a scenario is at most %d bytes",
                      name, MAX_SCENARIO_BYTES);
    return UV_EINVAL;
  }
  if (memchr(text, '\0', len) != NULL) {
    base_diag_addf(diag, "%s:1:1: error: not a text file (it holds a "
                      "NUL byte)", name);
    return UV_EINVAL;
  }
  fy_diag_cfg_default(&dc);
  dc.fp = NULL;
  dc.colorize = false;
  fyd = fy_diag_create(&dc);
  if (fyd == NULL)
    return UV_ENOMEM;
  fy_diag_set_collect_errors(fyd, true);
  memset(&cfg, 0, sizeof(cfg));
  cfg.flags = FYPCF_QUIET | FYPCF_DEFAULT_VERSION_1_2 | FYPCF_JSON_NONE;
  cfg.diag = fyd;
  parser = fy_parser_create(&cfg);
  if (parser == NULL) {
    rc = UV_ENOMEM;
    goto out;
  }
  if (fy_parser_set_string(parser, text, len) != 0) {
    rc = UV_ENOMEM;
    goto out;
  }
  doc = fy_parse_load_document(parser);
  if (doc != NULL)
    doc2 = fy_parse_load_document(parser);
  {
    void *it = NULL;
    struct fy_diag_error *e;
    while ((e = fy_diag_errors_iterate(fyd, &it)) != NULL) {
      /* collected errors are 1-based already */
      base_diag_addf(diag, "%s:%d:%d: error: %s", name, e->line,
                        e->column, e->msg);
      errs.errors++;
    }
  }
  if (errs.errors > 0) {
    rc = UV_EINVAL;
    goto out;
  }
  if (doc == NULL) {
    base_diag_addf(diag, "%s:1:1: error: empty scenario (expected a "
                      "mapping with steps)", name);
    rc = UV_EINVAL;
    goto out;
  }
  if (doc2 != NULL) {
    scenario__loc_t l = scenario__node_loc(fy_document_root(doc2),
                                       (scenario__loc_t){1, 1});
    scenario__errs_add(&errs, l, NULL,
                     "a scenario file holds one document, this one has "
                     "more");
    rc = UV_EINVAL;
    goto out;
  }
  if (scenario__schema_check(fy_document_root(doc), &errs) > 0) {
    rc = UV_EINVAL;
    goto out;
  }
  s = calloc(1, sizeof(*s));
  if (s == NULL) {
    rc = UV_ENOMEM;
    goto out;
  }
  memset(&b, 0, sizeof(b));
  b.errs = &errs;
  b.s = s;
  rc = build(&b, fy_document_root(doc), name);
  if (rc == 0 && errs.errors > 0)
    rc = UV_EINVAL;
  if (rc == 0) {
    *out = s;
    s = NULL;
  }

out:
  scenario_free(s);
  if (doc2 != NULL)
    fy_parse_document_destroy(parser, doc2);
  if (doc != NULL)
    fy_parse_document_destroy(parser, doc);
  if (parser != NULL)
    fy_parser_destroy(parser);
  fy_diag_destroy(fyd);
  return rc;
}

int scenario_load(const char *path, base_diag_t *diag,
                          scenario_t **out)
{
  char *buf = NULL;
  size_t len = 0;
  ssize_t r;
  struct stat st;
  int fd, rc;

  *out = NULL;
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    rc = -errno;
    base_diag_addf(diag, "%s: error: %s", path, strerror(errno));
    return rc;
  }
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    base_diag_addf(diag, "%s: error: not a regular file", path);
    return UV_EINVAL;
  }
  if (st.st_size > MAX_SCENARIO_BYTES) {
    close(fd);
    base_diag_addf(diag, "%s:1:1: error: a scenario is at most %d bytes",
                      path, MAX_SCENARIO_BYTES);
    return UV_EINVAL;
  }
  buf = malloc((size_t)st.st_size + 1);
  if (buf == NULL) {
    close(fd);
    return UV_ENOMEM;
  }
  while (len < (size_t)st.st_size) {
    r = read(fd, buf + len, (size_t)st.st_size - len);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    len += (size_t)r;
  }
  close(fd);
  buf[len] = '\0';
  rc = scenario_load_string(path, buf, len, diag, out);
  free(buf);
  return rc;
}

/* ---------------------------------------------------------------------- */

static void free_steps(scenario_step_t *st, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++) {
    free(st[i].path);
    cJSON_Delete(st[i].message);
    cJSON_Delete(st[i].env);
    cJSON_Delete(st[i].behaviour);
    free_steps(st[i].actions, st[i].n_actions);
  }
  free(st);
}

void scenario_free(scenario_t *s)
{
  size_t i;

  if (s == NULL)
    return;
  free(s->file);
  free(s->name);
  free(s->description);
  free(s->skip);
  for (i = 0; i < s->n_tags; i++)
    free(s->tags[i]);
  free(s->tags);
  for (i = 0; i < s->n_target_notes; i++) {
    free(s->target_notes[i].kind);
    free(s->target_notes[i].reason);
  }
  free(s->target_notes);
  free(s->scheduling);
  cJSON_Delete(s->settings);
  cJSON_Delete(s->behaviour);
  cJSON_Delete(s->policy);
  free_steps(s->steps, s->n_steps);
  for (i = 0; i < s->n_expects; i++) {
    free(s->expects[i].path);
    free(s->expects[i].pattern);
    free(s->expects[i].pattern_text);
    free(s->expects[i].state);
  }
  free(s->expects);
  free(s);
}
