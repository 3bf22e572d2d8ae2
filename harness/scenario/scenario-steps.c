/*
 * The step kinds: one definition per row of SCENARIO_STEP_MAP, named
 * step_<name>. A definition says what the value of the step's key may be
 * (keys, types, whether required, defaults as written in YAML) and which
 * member of scenario_step_t each value fills; the schema walk, the builder
 * and the generated reference all read it. A hook adds what a row cannot
 * say (fork accounting, a trigger's `do`, checks against other sections).
 *
 * Adding a step kind: a row in SCENARIO_STEP_MAP (scenario.h), its
 * step_<name> here, its runner__step_<name> in harness/runner/.
 */
#include "scenario-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T(x) (&scenario__t_##x)
#define REQ SCENARIO__REQUIRED
#define AT(m) SCENARIO__TO(scenario_step_t, m)
#define LOAD(m) SCENARIO__TO(scenario_load_spec_t, m)

/* ---------------------------------------------------------------------- */
/* Types only steps use                                                    */

static const scenario__type_t t_step = {.kind = SCENARIO__T_STEP,
                                        .what = "a step"};
const scenario__type_t scenario__t_steps = {
  .kind = SCENARIO__T_SEQ, .what = "a list of steps", .item = &t_step};

/* A trigger's actions: the walk checks them as steps inside `do`. */
static const scenario__type_t t_do = {
  .kind = SCENARIO__T_ONEOF, .what = "an action or a list of actions",
  .alts = (const scenario__type_t *const[]){
      &t_step, SCENARIO__SEQ("a list of actions", &t_step), NULL},
  .flags = SCENARIO__DO};

static const scenario__type_t t_load_word = {
  .kind = SCENARIO__T_ENUM, .what = "load command",
  .words = (const char *const[]){"stop", "wait", NULL}};

/* `probe: true`: the agent samples the flags (and what the call returned)
 * in the same turn, right after the call. */
#define PROBE {"probe", T(bool), 0, "false", AT(probe)}
/* `tolerate: gone`: a worker that has already exited (or exits before
 * the fault reaches it) is not a failure of the step. */
static const scenario__type_t t_tolerate = {
  .kind = SCENARIO__T_ENUM, .what = "tolerance",
  .words = (const char *const[]){"nothing", "gone", NULL}};
#define TOLERATE {"tolerate", &t_tolerate, 0, "nothing", AT(tolerate_gone)}

/* A fault of a worker, with what every fault may say. */
#define FAULT(what_, ...)                                                    \
  SCENARIO__MAP(what_, {"worker", T(wref), REQ, NULL, AT(worker)},           \
                ##__VA_ARGS__, PROBE, TOLERATE)
#define WORKER_ONLY(what_) FAULT(what_)

static const scenario__type_t t_send = SCENARIO__MAP_OF(
    "a send", {"worker", T(wref), REQ, NULL, AT(worker)},
    {"message", T(any), REQ, NULL, AT(message)}, PROBE);

static const scenario__type_t t_worker_send = SCENARIO__MAP_OF(
    "a worker-send fault", {"worker", T(wref), REQ, NULL, AT(worker)},
    {"message", T(any), REQ, NULL, AT(message)}, PROBE, TOLERATE);

const scenario__field_t scenario__step_common[] = {
  /* a label; timings and orders name the step by it */
  {"name", T(str), 0, NULL, AT(name)},
  {0}};

/* ---------------------------------------------------------------------- */
/* Hooks                                                                   */

/* A fork may give its workers another behaviour; every fork raises the
 * number of workers that can exist. */
static int fork_build(scenario__build_t *b, const scenario__at_t *at,
                      scenario_step_t *st)
{
  struct fy_node *w = scenario__node_get(at->value, "worker");
  int rc = 0;

  if (w != NULL) {
    st->behaviour = cJSON_Duplicate(b->s->behaviour, true);
    if (st->behaviour == NULL)
      return UV_ENOMEM;
    rc = scenario__json_fill(&scenario__t_behaviour, w, st->behaviour, false);
    scenario__servers_fix(st->behaviour);
  }
  b->bound += st->count;
  return rc;
}

static int hold_build(scenario__build_t *b, const scenario__at_t *at,
                      scenario_step_t *st)
{
  if (st->port == 0 && b->s->n_servers == 0)
    scenario__errs_add(b->errs, at->loc, at->path,
                       "hold needs a port or a worker server");
  return 0;
}

static int connect_build(scenario__build_t *b, const scenario__at_t *at,
                         scenario_step_t *st)
{
  if (st->port != 0 && st->server[0] != '\0')
    scenario__errs_add(b->errs, at->loc, at->sub,
                       "connect goes to 'port' or to 'serve', not both");
  if (st->port == 0 && st->server[0] == '\0' && b->s->n_servers == 0)
    scenario__errs_add(b->errs, at->loc, at->sub,
                       "connect needs a port or a worker server");
  return 0;
}

/* A load over a UNIX socket has no client addresses; a UDP server is
 * not HTTP. */
static void check_load_server(scenario__build_t *b, const scenario__at_t *at,
                              const scenario_step_t *st)
{
  const cJSON *srv = cJSON_GetArrayItem(
      cJSON_GetObjectItemCaseSensitive(b->s->behaviour, "servers"),
      (int)st->load.port_index);
  const cJSON *kind = cJSON_GetObjectItemCaseSensitive(srv, "kind");

  if (cJSON_GetObjectItemCaseSensitive(srv, "path") != NULL &&
      st->load.clients > 0)
    scenario__errs_add(b->errs, at->loc, at->sub,
                       "a load over a UNIX socket has no client addresses "
                       "('clients')");
  if (cJSON_IsString(kind) && strncmp(kind->valuestring, "udp", 3) == 0 &&
      !st->load.keepalive)
    scenario__errs_add(b->errs, at->loc, at->sub,
                       "a load of datagrams has no connections to close "
                       "('keepalive: false')");
}

/* The primary's sticky policy, as the scenario switches it on. */
static bool has_sticky(const scenario_t *s)
{
  return s->policy != NULL &&
         cJSON_GetObjectItemCaseSensitive(s->policy, "sticky") != NULL;
}

static int load_start_build(scenario__build_t *b, const scenario__at_t *at,
                            scenario_step_t *st)
{
  unsigned n = b->s->n_servers;

  if (st->load.sticky || st->load.serve[0] != '\0') {
    if (st->load.sticky && st->load.serve[0] != '\0')
      scenario__errs_add(b->errs, at->loc, at->sub,
                         "a load goes to one server: 'sticky' or 'serve', "
                         "not both");
    else if (st->load.sticky && !has_sticky(b->s))
      scenario__errs_add(b->errs, at->loc, at->sub,
                         "a sticky load needs the sticky policy (primary: "
                         "{sticky: true})");
    return 0;
  }
  if (st->load.port_index >= n)
    scenario__errs_add(b->errs, at->loc, at->sub,
                       "load needs server %u of the worker behaviour, and it "
                       "has %u server%s", st->load.port_index, n,
                       n == 1 ? "" : "s");
  else
    check_load_server(b, at, st);
  return 0;
}

/* A rolling restart replaces every worker once. */
static int rolling_restart_build(scenario__build_t *b,
                                 const scenario__at_t *at,
                                 scenario_step_t *st)
{
  (void)at;
  (void)st;
  b->bound += b->bound;
  return 0;
}

/* A shutdown step always waits for the primary to exit. */
static int shutdown_build(scenario__build_t *b, const scenario__at_t *at,
                          scenario_step_t *st)
{
  (void)b;
  (void)at;
  st->wait_done = true;
  return 0;
}

/* The settings as the `setup` command carries them (protocol §2), kept
 * in `behaviour`: what the step gives the agent. */
static int setup_build(scenario__build_t *b, const scenario__at_t *at,
                       scenario_step_t *st)
{
  (void)b;
  st->behaviour = scenario__node_to_json(at->value);
  if (st->behaviour == NULL)
    return UV_ENOMEM;
  cJSON_DeleteItemFromObjectCaseSensitive(st->behaviour, "probe");
  return 0;
}

/* A name of `serve`: what the agents take (1 to 63 characters here). */
static void check_server_name(scenario__build_t *b, const scenario__at_t *at,
                              const scenario_step_t *st)
{
  struct fy_node *v = scenario__node_get(at->value, "server");

  if (v != NULL && (st->server[0] == '\0' ||
                    strlen(scenario__node_str(v)) >= sizeof(st->server)))
    scenario__errs_add(b->errs, scenario__node_loc(v, at->loc), at->sub,
                       "a server name has 1 to %zu characters",
                       sizeof(st->server) - 1);
}

static int serve_build(scenario__build_t *b, const scenario__at_t *at,
                       scenario_step_t *st)
{
  check_server_name(b, at, st);
  if (st->text != NULL && scenario__node_get(at->value, "port") != NULL)
    scenario__errs_add(b->errs, at->loc, at->sub,
                       "serve listens on 'port' or on 'path', not both");
  if (st->text != NULL && (st->text[0] == '\0' || strlen(st->text) > 100))
    scenario__errs_add(b->errs, at->loc, at->sub,
                       "a UNIX socket path has 1 to 100 characters");
  return 0;
}

/* send-handle and close-handle name one handle: a held connection or a
 * server of `serve`. */
static int handle_build(scenario__build_t *b, const scenario__at_t *at,
                        scenario_step_t *st)
{
  bool conn = scenario__node_get(at->value, "conn") != NULL;
  bool server = scenario__node_get(at->value, "server") != NULL;

  check_server_name(b, at, st);
  if (conn == server)
    scenario__errs_add(b->errs, at->loc, at->sub,
                       "%s names one handle: 'conn' or 'server'",
                       scenario_step_name(st->kind));
  return 0;
}

static int worker_send_handle_build(scenario__build_t *b,
                                    const scenario__at_t *at,
                                    scenario_step_t *st)
{
  if (st->port == 0 && b->s->n_servers == 0)
    scenario__errs_add(b->errs, at->loc, at->sub,
                       "worker-send-handle needs a port or a worker server");
  return 0;
}

static int output_build(scenario__build_t *b, const scenario__at_t *at,
                        scenario_step_t *st)
{
  if (st->text != NULL && strlen(st->text) > 1024)
    scenario__errs_add(b->errs, at->loc, at->sub,
                       "an output line has at most 1024 bytes, not %zu",
                       strlen(st->text));
  if (st->text != NULL && strchr(st->text, '\n') != NULL)
    scenario__errs_add(b->errs, at->loc, at->sub,
                       "an output line has no newline: the worker adds it");
  return 0;
}

/* Its actions, as a trigger's are built; a fork among them raises the
 * number of workers. */
static int together_build(scenario__build_t *b, const scenario__at_t *at,
                          scenario_step_t *st)
{
  char sub[512];

  if (fy_node_sequence_item_count(at->value) == 0)
    scenario__errs_add(b->errs, at->loc, at->sub,
                       "together needs at least one command");
  snprintf(sub, sizeof(sub), "%s/together", at->path);
  return scenario__build_steps(b, at->value, sub, at->in_do, &st->actions,
                               &st->n_actions);
}

static int trigger_build(scenario__build_t *b, const scenario__at_t *at,
                         scenario_step_t *st)
{
  struct fy_node *d = scenario__node_get(at->node, "do");
  unsigned before = b->bound;
  char sub[512];
  size_t i;
  int rc;

  snprintf(sub, sizeof(sub), "%s/do", at->path);
  if (fy_node_get_type(d) == FYNT_MAPPING) {
    st->actions = calloc(1, sizeof(*st->actions));
    if (st->actions == NULL)
      return UV_ENOMEM;
    st->n_actions = 1;
    rc = scenario__build_step(b, d, sub, true, &st->actions[0]);
  } else {
    rc = scenario__build_steps(b, d, sub, true, &st->actions,
                               &st->n_actions);
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
  return rc;
}

/* ---------------------------------------------------------------------- */
/* The kinds, in the order of SCENARIO_STEP_MAP                            */

static const scenario__step_def_t step_fork = {
  .value = SCENARIO__ONEOF(
      "a number of workers or a mapping", T(nfork),
      SCENARIO__MAP("a fork",
                    {"count", T(nfork), 0, "1", AT(count)},
                    {"env", T(env), 0, NULL, AT(env)},
                    /* replaces keys of the scenario's `worker` */
                    {"worker", T(behaviour), 0, NULL, {0}},
                    PROBE)),
  .shorthand = AT(count),
  .together = true,
  .build = fork_build};

static const scenario__step_def_t step_wait = {
  .value = SCENARIO__MAP(
      "a wait",
      {"event", T(event), REQ, NULL, AT(event)},
      {"worker", T(wref_wait), 0, "any", AT(worker)},
      /* counted from the start of the run */
      {"count", T(count), 0, "1", AT(count)},
      {"within", T(dur), 0, "5s", AT(ms)},
      {"emitter", T(emitter), 0, "worker", AT(cluster_emitter)}),
  .in_do = SCENARIO__NOT_IN_DO_WAITS};

static const scenario__step_def_t step_sleep = {
  .value = T(dur), .shorthand = AT(ms),
  .in_do = SCENARIO__NOT_IN_DO_WAITS};

static const scenario__step_def_t step_send = {.value = &t_send,
                                               .together = true};

static const scenario__step_def_t step_disconnect = {
  .value = SCENARIO__MAP("a disconnect",
                         {"worker", T(wref), REQ, NULL, AT(worker)}, PROBE),
  .together = true};

static const scenario__step_def_t step_kill = {
  .value = SCENARIO__MAP("a kill",
                         {"worker", T(wref), REQ, NULL, AT(worker)},
                         {"signal", T(signal), 0, "SIGTERM", AT(signal)},
                         PROBE),
  .together = true};

static const scenario__step_def_t step_cluster_disconnect = {
  .value = SCENARIO__ONEOF("nothing or a mapping", T(null),
                           SCENARIO__MAP("a cluster-disconnect", PROBE)),
  .together = true};

/* `to: group`: kill(-pgid, signal) to the primary's process group: the
 * primary and every worker it forked (never the harness). */
static const scenario__type_t t_signal_to = {
  .kind = SCENARIO__T_WORKER, .what = "a worker, the primary or its group",
  .words = (const char *const[]){"primary", "group", "last", "trigger",
                                 NULL}};

static const scenario__step_def_t step_signal = {
  .value = SCENARIO__MAP("a signal",
                         {"to", &t_signal_to, REQ, NULL, AT(worker)},
                         {"signal", T(signal), REQ, NULL, AT(signal)},
                         TOLERATE)};

static const scenario__step_def_t step_pause = {
  .value = SCENARIO__MAP("a pause",
                         {"to", T(wref_signal), REQ, NULL, AT(worker)},
                         {"for", T(dur), REQ, NULL, AT(ms)}, TOLERATE)};

/* `hold-channel`: a process the worker starts just before its exit shares
 * its IPC channel and keeps it open that long, so the primary sees the
 * exit before the channel's end. At most 2 s: the end of a run waits 3 s
 * for a `disconnect` that follows an `exit`. */
static const scenario__type_t t_hold_channel = {
  .kind = SCENARIO__T_DURATION, .what = "a channel hold", .min = 1,
  .max = 2000};

/* process.exit(code) exits in the call: nothing to probe after it */
static const scenario__step_def_t step_crash = {
  .value = SCENARIO__MAP("a crash fault",
                         {"worker", T(wref), REQ, NULL, AT(worker)},
                         {"code", T(code), 0, "1", AT(code)},
                         {"hold-channel", &t_hold_channel, 0, NULL, AT(ms)},
                         TOLERATE)};

static const scenario__step_def_t step_throw = {
  .value = WORKER_ONLY("a throw fault")};

static const scenario__step_def_t step_hang = {
  .value = FAULT("a hang fault", {"for", T(dur), REQ, NULL, AT(ms)})};

static const scenario__step_def_t step_ipc_disconnect = {
  .value = WORKER_ONLY("an ipc-disconnect fault")};

/* the signal goes to cluster.worker.kill(signal), which ignores it */
static const scenario__step_def_t step_worker_kill = {
  .value = FAULT("a worker-kill fault",
                 {"signal", T(signal), 0, NULL, AT(signal)})};

static const scenario__step_def_t step_worker_disconnect = {
  .value = WORKER_ONLY("a worker-disconnect fault")};

static const scenario__step_def_t step_close_servers = {
  .value = WORKER_ONLY("a close-servers fault")};

static const scenario__step_def_t step_hold = {
  .value = FAULT("a hold fault",
                 {"connections", T(conns), 0, "1", AT(count)},
                 /* 0: the cluster's first server */
                 {"port", T(port), 0, "0", AT(port)}),
  .build = hold_build};

static const scenario__step_def_t step_worker_send = {.value = &t_worker_send};

static const scenario__step_def_t step_connect = {
  .value = SCENARIO__MAP("client connections",
                         {"connections", T(conns), 0, "1", AT(count)},
                         {"hold", T(dur), REQ, NULL, AT(ms)},
                         {"port", T(port), 0, "0", AT(port)},
                         /* a server of the primary's `serve` steps */
                         {"serve", T(str), 0, NULL, AT(server)}),
  .build = connect_build};

static const scenario__step_def_t step_load_start = {
  .value = SCENARIO__MAP(
      "a load command",
      {"start",
       SCENARIO__MAP("load settings",
                     {"connections", T(conns), 0, "4", LOAD(connections)},
                     {"keepalive", T(bool), 0, "true", LOAD(keepalive)},
                     /* 0 (and no duration): until stopped */
                     {"requests", T(limit), 0, "0", LOAD(requests)},
                     {"duration", T(dur), 0, NULL, LOAD(duration_ms)},
                     {"timeout", T(dur), 0, "2s", LOAD(timeout_ms)},
                     {"server", T(server_index), 0, "0", LOAD(port_index)},
                     /* requests from 127.0.0.2, 127.0.0.3... */
                     {"clients", T(clients), 0, "0", LOAD(clients)},
                     {"path", T(str), 0, "/", LOAD(path)},
                     /* a server of the primary's `serve` steps */
                     {"serve", T(str), 0, NULL, LOAD(serve)},
                     /* the sticky policy's server */
                     {"sticky", T(bool), 0, "false", LOAD(sticky)}),
       REQ, NULL, AT(load)}),
  .either = "stop, wait or {start: ...}",
  .build = load_start_build};

static const scenario__step_def_t step_load_stop = {
  .value = &t_load_word, .shorthand = AT(wait_done)};

static const scenario__step_def_t step_rolling_restart = {
  .value = SCENARIO__ONEOF(
      "nothing or a mapping", T(null),
      SCENARIO__MAP("a rolling restart",
                    /* per old worker, before SIGKILL */
                    {"timeout", T(dur), 0, "2s", AT(ms)},
                    {"wait", T(bool), 0, "true", AT(wait_done)},
                    {"within", T(dur), 0, "10s", AT(after_ms)})),
  .build = rolling_restart_build};

static const scenario__step_def_t step_shutdown = {
  .value = SCENARIO__ONEOF("nothing or a mapping", T(null),
                           SCENARIO__MAP("a shutdown",
                                         {"timeout", T(dur), 0, "2s", AT(ms)},
                                         {"within", T(dur), 0, "5s",
                                          AT(after_ms)})),
  .build = shutdown_build};

static const scenario__step_def_t step_status = {
  .value = SCENARIO__ONEOF("nothing or a mapping", T(null),
                           SCENARIO__MAP("a status probe",
                                         {"worker", T(wref_wait), 0, "any",
                                          AT(worker)})),
  .together = true};

/* Read by the harness from /proc, so it asks nothing of the agents and is
 * the same on every target. */
static const scenario__step_def_t step_memory = {
  .value = SCENARIO__ONEOF("nothing or a mapping", T(null),
                           SCENARIO__MAP("a memory sample",
                                         {"worker", T(wref_wait), 0, "any",
                                          AT(worker)},
                                         {"primary", T(bool), 0, "false",
                                          AT(primary)}))};

/* setupPrimary() settings that mean the same on every target (no `exec`:
 * the target's own worker program runs) */
static const scenario__step_def_t step_setup = {
  .value = SCENARIO__MAP("setup settings",
                         {"args", SCENARIO__SEQ("a list of strings", T(str)),
                          0, NULL, {0}},
                         {"execArgv",
                          SCENARIO__SEQ("a list of strings", T(str)), 0, NULL,
                          {0}},
                         {"cwd", T(str), 0, NULL, {0}},
                         {"silent", T(bool), 0, NULL, {0}},
                         {"serialization", T(serialization), 0, NULL, {0}},
                         {"env", T(env), 0, NULL, {0}}, PROBE),
  .together = true,
  .build = setup_build};

static const scenario__type_t t_together = {
  .kind = SCENARIO__T_SEQ, .what = "a list of primary commands",
  .item = &t_step, .flags = SCENARIO__TOGETHER};

static const scenario__step_def_t step_together = {
  .value = &t_together, .build = together_build};

static const scenario__step_def_t step_primary_throw = {
  .value = SCENARIO__ONEOF("nothing or an empty mapping", T(null),
                           T(empty_map))};

static const scenario__step_def_t step_primary_crash = {
  .value = SCENARIO__MAP("a primary crash",
                         {"code", T(code), 0, "1", AT(code)})};

static const scenario__step_def_t step_timer = {
  .value = FAULT("a timer", {"for", T(dur), REQ, NULL, AT(ms)})};

static const scenario__type_t t_conn = {
  .kind = SCENARIO__T_INT, .what = "a held connection's id", .min = 1,
  .max = 1000000};
static const scenario__type_t t_repeat = {
  .kind = SCENARIO__T_INT, .what = "a repeat count", .min = 1, .max = 10000};
/* Stored as a bool: the first word is false. */
static const scenario__type_t t_stream = {
  .kind = SCENARIO__T_ENUM, .what = "stream",
  .words = (const char *const[]){"stdout", "stderr", NULL}};

static const scenario__step_def_t step_serve = {
  .value = SCENARIO__MAP("a server of the primary",
                         {"server", T(str), REQ, NULL, AT(server)},
                         {"port", T(port), 0, "0", AT(port)},
                         {"path", T(str), 0, NULL, AT(text)}),
  .build = serve_build};

static const scenario__step_def_t step_send_handle = {
  .value = SCENARIO__MAP("a handle sent",
                         {"worker", T(wref), REQ, NULL, AT(worker)},
                         {"conn", &t_conn, 0, NULL, AT(conn)},
                         {"server", T(str), 0, NULL, AT(server)},
                         /* default: the agents' {clustersim: handle} */
                         {"message", T(any), 0, NULL, AT(message)},
                         {"keep-open", T(bool), 0, "false", AT(keep_open)}),
  .build = handle_build};

static const scenario__step_def_t step_close_handle = {
  .value = SCENARIO__MAP("a handle closed",
                         {"conn", &t_conn, 0, NULL, AT(conn)},
                         {"server", T(str), 0, NULL, AT(server)}),
  .build = handle_build};

static const scenario__step_def_t step_worker_send_handle = {
  .value = FAULT("a worker-send-handle fault",
                 /* 0: the cluster's first server */
                 {"port", T(port), 0, "0", AT(port)},
                 {"message", T(any), 0, NULL, AT(message)}),
  .build = worker_send_handle_build};

static const scenario__step_def_t step_output = {
  .value = FAULT("an output fault",
                 {"stream", &t_stream, 0, "stdout", AT(to_stderr)},
                 {"line", T(str), REQ, NULL, AT(text)},
                 {"repeat", &t_repeat, 0, "1", AT(count)}),
  .build = output_build};

static const scenario__step_def_t step_trigger = {
  .value = SCENARIO__MAP(
      "a trigger condition",
      {"event", T(event), REQ, NULL, AT(event)},
      {"worker", T(wref_wait), 0, "any", AT(worker)},
      /* the Nth such event after arming */
      {"count", T(count), 0, "1", AT(count)},
      {"emitter", T(emitter), 0, "worker", AT(cluster_emitter)}),
  .beside = (const scenario__field_t[]){
      {"do", &t_do, REQ, NULL, {0}},
      {"after", T(dur), 0, "0ms", AT(after_ms)},
      /* plus a delay drawn from the run's seed */
      {"jitter", T(dur), 0, "0ms", AT(jitter_ms)},
      /* 0: every time */
      {"times", T(times), 0, "1", AT(times)},
      {0}},
  .in_do = SCENARIO__NOT_IN_DO_NESTS,
  .build = trigger_build};

const scenario__step_def_t *const scenario__steps[SCENARIO_STEP_KIND_COUNT] =
    {
#define XX(ID, name, key, role, doc) [SCENARIO_STEP_##ID] = &step_##name,
        SCENARIO_STEP_MAP(XX)
#undef XX
};

static const char *const step_keys[SCENARIO_STEP_KIND_COUNT] = {
#define XX(ID, name, key, role, doc) key,
  SCENARIO_STEP_MAP(XX)
#undef XX
};

static const char *const step_docs[SCENARIO_STEP_KIND_COUNT] = {
#define XX(ID, name, key, role, doc) doc,
  SCENARIO_STEP_MAP(XX)
#undef XX
};

static const scenario_step_role_t step_roles[SCENARIO_STEP_KIND_COUNT] = {
#define XX(ID, name, key, role, doc) SCENARIO_ROLE_##role,
  SCENARIO_STEP_MAP(XX)
#undef XX
};

scenario_step_role_t scenario_step_role(scenario_step_kind_t kind)
{
  if ((int)kind < 0 || kind >= SCENARIO_STEP_KIND_COUNT)
    return SCENARIO_ROLE_ROUTINE;
  return step_roles[kind];
}

scenario_step_role_t scenario_action_role(const char *action)
{
  if (action == NULL)
    return SCENARIO_ROLE_ROUTINE;
  if (strcmp(action, "resume") == 0)
    return SCENARIO_ROLE_SIGNAL;
  for (int k = 0; k < SCENARIO_STEP_KIND_COUNT; k++)
    if (strcmp(action, step_keys[k]) == 0)
      return step_roles[k];
  return SCENARIO_ROLE_ROUTINE;
}

bool scenario_role_is_fault(scenario_step_role_t role)
{
  return role == SCENARIO_ROLE_WORKER_FAULT || role == SCENARIO_ROLE_SIGNAL;
}

/* What the worker agent applies: a fault command on its control
 * connection. */
bool scenario__step_is_fault(scenario_step_kind_t kind)
{
  scenario_step_role_t role = scenario_step_role(kind);

  return role == SCENARIO_ROLE_WORKER_FAULT ||
         role == SCENARIO_ROLE_WORKER_ACT;
}

const char *scenario_step_name(scenario_step_kind_t kind)
{
  if ((int)kind < 0 || kind >= SCENARIO_STEP_KIND_COUNT)
    return "?";
  return step_keys[kind];
}

const char *scenario__step_doc(scenario_step_kind_t kind)
{
  return step_docs[kind];
}
