/*
 * The value types of the scenario schema and its sections: one table
 * entry per key. The step kinds (scenario-steps.c) and the expectation
 * kinds (scenario-expect.c) build on these types; docs/scenarios.md is the
 * prose of all three.
 */
#include "scenario-internal.h"

#include <stdio.h>
#include <string.h>

#define T(x) (&scenario__t_##x)

/* ---------------------------------------------------------------------- */
/* Scalar types                                                            */

const scenario__type_t scenario__t_str = {.kind = SCENARIO__T_STR,
                                          .what = "a string"};
const scenario__type_t scenario__t_bool = {.kind = SCENARIO__T_BOOL,
                                           .what = "true or false"};
const scenario__type_t scenario__t_bool_null = {
  .kind = SCENARIO__T_BOOL, .what = "true, false or null",
  .flags = SCENARIO__NULLABLE};
const scenario__type_t scenario__t_dur = {.kind = SCENARIO__T_DURATION,
                                          .what = "a duration"};
const scenario__type_t scenario__t_signal = {.kind = SCENARIO__T_SIGNAL,
                                             .what = "a signal"};
const scenario__type_t scenario__t_signal_null = {
  .kind = SCENARIO__T_SIGNAL, .what = "a signal or null",
  .flags = SCENARIO__NULLABLE};
const scenario__type_t scenario__t_event = {.kind = SCENARIO__T_EVENT,
                                            .what = "an event"};
const scenario__type_t scenario__t_events = {
  .kind = SCENARIO__T_EVENTS, .what = "an event or alternatives a|b"};
const scenario__type_t scenario__t_any = {.kind = SCENARIO__T_ANY,
                                          .what = "a value"};
const scenario__type_t scenario__t_null = {.kind = SCENARIO__T_NULL,
                                           .what = "nothing"};
static const scenario__type_t t_pattern = {.kind = SCENARIO__T_PATTERN,
                                           .what = "a pattern element"};

#define INT(what_, lo, hi) {.kind = SCENARIO__T_INT, .what = what_,        \
                            .min = lo, .max = hi}
const scenario__type_t scenario__t_count = INT("a count", 1, 100000);
const scenario__type_t scenario__t_count0 = INT("a count", 0, 100000000);
const scenario__type_t scenario__t_nth = INT("an occurrence", 1, 100000);
const scenario__type_t scenario__t_times = INT("a count", 0, 1000);
/* 4096: the largest cluster a scenario may hold; memory per run follows
 * the workers used, not this bound */
#define MAX_WORKERS 4096
static const scenario__type_t t_nworkers = INT("a number of workers", 0,
                                               MAX_WORKERS);
const scenario__type_t scenario__t_nfork = INT("a number of workers", 1,
                                               MAX_WORKERS);
const scenario__type_t scenario__t_port = INT("a port", 0, 65535);
const scenario__type_t scenario__t_server_index = INT("a server index", 0,
                                                      15);
const scenario__type_t scenario__t_conns = INT("a number of connections", 1,
                                               256);
static const scenario__type_t t_maxconns = INT("a number of connections", 0,
                                               100000);
const scenario__type_t scenario__t_code = INT("an exit code", 0, 255);
const scenario__type_t scenario__t_code_null = {
  .kind = SCENARIO__T_INT, .what = "an exit code or null", .min = 0,
  .max = 255, .flags = SCENARIO__NULLABLE};
const scenario__type_t scenario__t_limit = INT("a number", 0, 1000000000);
const scenario__type_t scenario__t_clients = INT("a number of client "
                                                 "addresses", 0, 250);

#define WORDS(kind_, what_, ...)                                            \
  {.kind = kind_, .what = what_,                                            \
   .words = (const char *const[]){__VA_ARGS__, NULL}}
static const scenario__type_t t_sched =
    WORDS(SCENARIO__T_ENUM, "scheduling policy", "rr", "none");
static const scenario__type_t t_target_kind =
    WORDS(SCENARIO__T_ENUM, "target", "builtin", "node", "node-c", "c-node",
          "exec");
static const scenario__type_t t_messages =
    WORDS(SCENARIO__T_ENUM, "message behaviour", "none", "echo", "count",
          "reply");
static const scenario__type_t t_kind =
    WORDS(SCENARIO__T_ENUM, "server kind", "http", "tcp", "udp4", "udp6");
static const scenario__type_t t_adopt_kind =
    WORDS(SCENARIO__T_ENUM, "server kind", "http", "tcp");
static const scenario__type_t t_stream =
    WORDS(SCENARIO__T_ENUM, "stream", "stdout", "stderr");
/* setupPrimary({serialization}): how the channel carries messages */
const scenario__type_t scenario__t_serialization =
    WORDS(SCENARIO__T_ENUM, "serialization", "json", "advanced");
static const scenario__type_t t_respawn_word =
    WORDS(SCENARIO__T_ENUM, "respawn rule", "never", "always",
          "unless-exited-after-disconnect", "on-nonzero");
/* Stored as a bool: the first word is false. */
const scenario__type_t scenario__t_emitter =
    WORDS(SCENARIO__T_ENUM, "emitter", "worker", "cluster");
const scenario__type_t scenario__t_during =
    WORDS(SCENARIO__T_ENUM, "scope", "steps", "run");
static const scenario__type_t t_sigaction =
    WORDS(SCENARIO__T_ACTION, "signal behaviour", "ignore", "default");
static const scenario__type_t t_on_listening =
    WORDS(SCENARIO__T_ACTION, "listening action", "disconnect", "kill",
          "ipc-disconnect", "close");

/* Which words a worker reference takes depends on where it is: `trigger`
 * only means something in a trigger's `do`, `each` only in expectations. */
const scenario__type_t scenario__t_wref =
    WORDS(SCENARIO__T_WORKER, "a worker", "last", "trigger");
const scenario__type_t scenario__t_wref_wait =
    WORDS(SCENARIO__T_WORKER, "a worker", "any", "last", "trigger");
const scenario__type_t scenario__t_wref_signal =
    WORDS(SCENARIO__T_WORKER, "a worker or the primary", "primary", "last",
          "trigger");
const scenario__type_t scenario__t_wref_each =
    WORDS(SCENARIO__T_WORKER, "a worker", "each");
const scenario__type_t scenario__t_wref_count =
    WORDS(SCENARIO__T_WORKER, "a worker", "any", "each");
const scenario__type_t scenario__t_wref_point =
    WORDS(SCENARIO__T_WORKER, "a worker", "any");
const scenario__type_t scenario__t_wref_points =
    WORDS(SCENARIO__T_WORKER, "a worker", "any", "each");

/* A step named by its index in `steps` (as in /steps/N) or by its
 * `name`. */
static const scenario__type_t t_step_index = INT("a step index", 0, 100000);
const scenario__type_t scenario__t_stepref = {
  .kind = SCENARIO__T_ONEOF, .what = "a step index or name",
  .alts = (const scenario__type_t *const[]){&t_step_index, T(str), NULL}};

/* A value, or a list of the values Node may give (its nondeterminism):
 * any one of them is expected. */
#define ALTS(name, what_, one)                                              \
  const scenario__type_t name = {                                           \
    .kind = SCENARIO__T_ONEOF, .what = what_,                               \
    .alts = (const scenario__type_t *const[]){                              \
        one, SCENARIO__SEQ("a list of alternatives", one), NULL}}
ALTS(scenario__t_bool_alts, "true, false or a list of them", T(bool));
ALTS(scenario__t_bool_null_alts, "true, false, null or a list of them",
     T(bool_null));
ALTS(scenario__t_code_alts, "an exit code, null or a list of them",
     T(code_null));
ALTS(scenario__t_signal_alts, "a signal, null or a list of them",
     T(signal_null));
ALTS(scenario__t_str_alts, "a string or a list of them", T(str));

/* ---------------------------------------------------------------------- */
/* Collections                                                             */

static const scenario__type_t t_str_seq = {
  .kind = SCENARIO__T_SEQ, .what = "a list of strings", .item = T(str)};
static const scenario__type_t t_signal_seq = {
  .kind = SCENARIO__T_SEQ, .what = "a list of signals", .item = T(signal)};
const scenario__type_t scenario__t_pattern_seq = {
  .kind = SCENARIO__T_SEQ, .what = "a list of events", .item = &t_pattern};
const scenario__type_t scenario__t_env = {
  .kind = SCENARIO__T_DICT, .what = "a mapping of variables",
  .item = T(any)};
static const scenario__type_t t_signals = {
  .kind = SCENARIO__T_DICT, .what = "a mapping of signals",
  .key = T(signal), .item = &t_sigaction};
const scenario__type_t scenario__t_empty_map = {
  .kind = SCENARIO__T_MAP, .what = "a mapping",
  .fields = (const scenario__field_t[]){{0}}};

/* Each with its reason: a scenario never leaves a target silently. */
static const scenario__type_t t_targets = {
  .kind = SCENARIO__T_DICT,
  .what = "a mapping of targets to {skip: reason} or {diverges: reason}",
  .key = &t_target_kind,
  .item = SCENARIO__MAP("{skip: reason} or {diverges: reason}",
                        {"skip", T(str), 0, NULL, {0}},
                        {"diverges", T(str), 0, NULL, {0}})};

/* ---------------------------------------------------------------------- */
/* Sections. Most of their values become the JSON objects the agents read
 * (docs/protocol.md): the last column of a row is the member it fills, and
 * its default is what a section present without that key gets. */

static const scenario__type_t t_server = SCENARIO__MAP_OF(
    "a server",
    {"kind", &t_kind, 0, "http", SCENARIO__JSON("kind")},
    /* 0: an ephemeral port, shared by the workers at one listen index */
    {"port", T(port), 0, "0", SCENARIO__JSON("port")},
    /* loopback only: a listen without a host would bind every interface */
    {"host", T(str), 0, "127.0.0.1", SCENARIO__JSON("host")},
    {"exclusive", T(bool), 0, "false", SCENARIO__JSON("exclusive")},
    {"close-delay", T(dur), 0, "0ms", SCENARIO__JSON("close_delay_ms")},
    {"max-connections", &t_maxconns, 0, "0",
     SCENARIO__JSON("max_connections")},
    /* a UNIX socket instead of host and port (http and tcp) */
    {"path", T(str), 0, NULL, SCENARIO__JSON("path")});

static const scenario__type_t t_repeat = INT("a repeat count", 1, 10000);
static const scenario__type_t t_output_line = SCENARIO__MAP_OF(
    "an output line",
    {"stream", &t_stream, 0, "stdout", SCENARIO__JSON("stream")},
    {"line", T(str), SCENARIO__REQUIRED, NULL, SCENARIO__JSON("line")},
    {"repeat", &t_repeat, 0, "1", SCENARIO__JSON("repeat")});

/* Every member is present in what a worker gets, hence a default each. */
const scenario__type_t scenario__t_behaviour = SCENARIO__MAP_OF(
    "a worker behaviour",
    {"servers", SCENARIO__SEQ("a list of servers", &t_server), 0, "[]",
     SCENARIO__JSON("servers")},
    {"messages", &t_messages, 0, "none", SCENARIO__JSON("messages")},
    {"startup-delay", T(dur), 0, "0ms", SCENARIO__JSON("startup_delay_ms")},
    {"signals", &t_signals, 0, "{}", SCENARIO__JSON("signals")},
    {"on-listening", &t_on_listening, 0, "null",
     SCENARIO__JSON("on_listening")},
    /* what a handle that comes with a message becomes */
    {"adopt",
     SCENARIO__MAP("an adoption",
                   {"kind", &t_adopt_kind, 0, "http", SCENARIO__JSON("kind")}),
     0, NULL, SCENARIO__JSON("adopt")},
    {"output", SCENARIO__SEQ("a list of output lines", &t_output_line), 0,
     NULL, SCENARIO__JSON("output")});

const scenario__type_t scenario__t_cluster = SCENARIO__MAP_OF(
    "cluster settings",
    {"workers", &t_nworkers, 0, "0", SCENARIO__TO(scenario_t, workers)},
    {"scheduling", &t_sched, 0, NULL, SCENARIO__TO(scenario_t, scheduling)},
    /* setupPrimary() settings */
    {"exec", T(str), 0, NULL, SCENARIO__JSON("exec")},
    {"args", &t_str_seq, 0, NULL, SCENARIO__JSON("args")},
    {"execArgv", &t_str_seq, 0, NULL, SCENARIO__JSON("execArgv")},
    {"cwd", T(str), 0, NULL, SCENARIO__JSON("cwd")},
    {"silent", T(bool), 0, NULL, SCENARIO__JSON("silent")},
    {"serialization", &scenario__t_serialization, 0, NULL,
     SCENARIO__JSON("serialization")},
    {"env", T(env), 0, NULL, SCENARIO__JSON("env")});

/* The mapping's members sit next to the rule in the policy command. */
const scenario__type_t scenario__t_respawn_map = SCENARIO__MAP_OF(
    "a respawn policy",
    {"when", &t_respawn_word, SCENARIO__REQUIRED, NULL, {0}},
    {"backoff", T(dur), 0, NULL, SCENARIO__JSON("backoff_ms")},
    {"backoff-max", T(dur), 0, NULL, SCENARIO__JSON("backoff_max_ms")},
    {"startup-window", T(dur), 0, NULL,
     SCENARIO__JSON("startup_window_ms")});

const scenario__type_t scenario__t_metrics_map = SCENARIO__MAP_OF(
    "a metrics endpoint", {"port", T(port), 0, "0", SCENARIO__JSON("port")});

const scenario__type_t scenario__t_sticky_map = SCENARIO__MAP_OF(
    "a sticky server", {"port", T(port), 0, "0", SCENARIO__JSON("port")});

const scenario__type_t scenario__t_primary = SCENARIO__MAP_OF(
    "primary policies",
    {"respawn",
     SCENARIO__ONEOF("a respawn rule or a mapping", &t_respawn_word,
                     T(respawn_map)),
     0, "never", {0}},
    {"shutdown",
     SCENARIO__MAP("a shutdown policy",
                   {"signals", &t_signal_seq, 0, "[SIGTERM, SIGINT]",
                    SCENARIO__JSON("signals")},
                   {"timeout", T(dur), 0, "2s", SCENARIO__JSON("timeout_ms")}),
     0, NULL, SCENARIO__JSON("shutdown")},
    {"heartbeat",
     SCENARIO__MAP("a heartbeat policy",
                   {"interval", T(dur), SCENARIO__REQUIRED, NULL,
                    SCENARIO__JSON("interval_ms")},
                   {"timeout", T(dur), SCENARIO__REQUIRED, NULL,
                    SCENARIO__JSON("timeout_ms")}),
     0, NULL, SCENARIO__JSON("heartbeat")},
    {"metrics",
     SCENARIO__ONEOF("true or a mapping", T(bool), &scenario__t_metrics_map),
     0, NULL, {0}},
    /* sticky sessions: the primary's own server hands each connection to
       the worker of its client address */
    {"sticky",
     SCENARIO__ONEOF("true or a mapping", T(bool), &scenario__t_sticky_map),
     0, NULL, {0}});

static const scenario__type_t t_oracle = SCENARIO__MAP_OF(
    "oracle settings",
    {"allow-exit-without-disconnect", T(bool), 0, "false",
     SCENARIO__TO(scenario_t, allow_exit_without_disconnect)});

const scenario__type_t scenario__t_root = SCENARIO__MAP_OF(
    "a scenario",
    {"name", T(str), 0, NULL, {0}},
    {"description", T(str), 0, NULL, SCENARIO__TO(scenario_t, description)},
    {"tags", &t_str_seq, 0, NULL, {0}},
    {"skip", T(str), 0, NULL, SCENARIO__TO(scenario_t, skip)},
    {"targets", &t_targets, 0, NULL, {0}},
    {"timeout", T(dur), 0, "30s", SCENARIO__TO(scenario_t, timeout_ms)},
    {"cluster", T(cluster), 0, NULL, {0}},
    {"worker", T(behaviour), 0, NULL, {0}},
    {"primary", T(primary), 0, NULL, {0}},
    {"oracle", &t_oracle, 0, NULL, {0}},
    {"steps", T(steps), 0, NULL, {0}},
    {"expect", T(expect), 0, NULL, {0}});

const char *scenario__bare(const char *what)
{
  if (strncmp(what, "a ", 2) == 0)
    return what + 2;
  if (strncmp(what, "an ", 3) == 0)
    return what + 3;
  return what;
}

void scenario__dur_text(int64_t ms, char *buf, size_t n)
{
  if (ms != 0 && ms % 60000 == 0)
    snprintf(buf, n, "%lldm", (long long)(ms / 60000));
  else if (ms != 0 && ms % 1000 == 0)
    snprintf(buf, n, "%llds", (long long)(ms / 1000));
  else
    snprintf(buf, n, "%lldms", (long long)ms);
}
