/*
 * The scenario schema: one table entry per key (docs/scenarios.md is the
 * prose of this table), and the generic walk that checks a document
 * against it. The walk reports every problem it finds, so that one `check`
 * shows all of them; the model is built only from a document that passed.
 */
#include "scenario-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
  HS_MAP = 0,   /* fixed keys */
  HS_DICT,      /* free keys (env, signals) */
  HS_SEQ,
  HS_STR,
  HS_INT,
  HS_BOOL,
  HS_DURATION,
  HS_SIGNAL,
  HS_EVENT,
  HS_ENUM,
  HS_WORKER,
  HS_ACTION,    /* a word of `words`, or exit:N */
  HS_PATTERN,   /* an order pattern element */
  HS_ANY,       /* any JSON-able value (messages) */
  HS_NULL,      /* nothing: `- cluster-disconnect:` */
  HS_ONEOF
} hs_kind_t;

#define HS_NULLABLE 0x1u   /* null is a value (code: null) */
#define HS_STEP     0x2u   /* a map with exactly one action key */

#define F_REQUIRED  0x1u
#define F_ACTION    0x2u   /* a step action key */
#define F_NOT_IN_DO 0x4u   /* a step action that a trigger cannot run */

typedef struct hs_type hs_type_t;
typedef struct hs_field hs_field_t;

struct hs_field {
  const char *name;
  const hs_type_t *type;
  unsigned flags;
  const char *with;        /* only valid together with this action key */
};

struct hs_type {
  hs_kind_t kind;
  const char *what;        /* "an integer", "a scheduling policy"... */
  const hs_field_t *fields;
  const hs_type_t *item;   /* SEQ items, DICT values */
  const hs_type_t *key;    /* DICT keys (NULL: any string) */
  const char *const *words;
  const hs_type_t *const *alts;
  int64_t min, max;
  unsigned flags;
};

/* ---------------------------------------------------------------------- */
/* Scalar types                                                            */

static const hs_type_t t_str = {.kind = HS_STR, .what = "a string"};
static const hs_type_t t_bool = {.kind = HS_BOOL, .what = "true or false"};
static const hs_type_t t_bool_null = {.kind = HS_BOOL,
                                      .what = "true, false or null",
                                      .flags = HS_NULLABLE};
static const hs_type_t t_dur = {.kind = HS_DURATION, .what = "a duration"};
static const hs_type_t t_signal = {.kind = HS_SIGNAL, .what = "a signal"};
static const hs_type_t t_signal_null = {.kind = HS_SIGNAL,
                                        .what = "a signal or null",
                                        .flags = HS_NULLABLE};
static const hs_type_t t_event = {.kind = HS_EVENT, .what = "an event"};
static const hs_type_t t_any = {.kind = HS_ANY, .what = "a value"};
static const hs_type_t t_null = {.kind = HS_NULL, .what = "nothing"};
static const hs_type_t t_pattern = {.kind = HS_PATTERN,
                                    .what = "a pattern element"};

static const hs_type_t t_count = {.kind = HS_INT, .what = "a count",
                                  .min = 1, .max = 100000};
static const hs_type_t t_count0 = {.kind = HS_INT, .what = "a count",
                                   .min = 0, .max = 100000000};
static const hs_type_t t_nth = {.kind = HS_INT, .what = "an occurrence",
                                .min = 1, .max = 100000};
static const hs_type_t t_times = {.kind = HS_INT, .what = "a count",
                                  .min = 0, .max = 1000};
static const hs_type_t t_nworkers = {.kind = HS_INT,
                                     .what = "a number of workers",
                                     .min = 0, .max = 64};
static const hs_type_t t_nfork = {.kind = HS_INT,
                                  .what = "a number of workers",
                                  .min = 1, .max = 64};
static const hs_type_t t_port = {.kind = HS_INT, .what = "a port",
                                 .min = 0, .max = 65535};
static const hs_type_t t_server_index = {.kind = HS_INT,
                                         .what = "a server index",
                                         .min = 0, .max = 15};
static const hs_type_t t_conns = {.kind = HS_INT,
                                  .what = "a number of connections",
                                  .min = 1, .max = 256};
static const hs_type_t t_maxconns = {.kind = HS_INT,
                                     .what = "a number of connections",
                                     .min = 0, .max = 100000};
static const hs_type_t t_code = {.kind = HS_INT, .what = "an exit code",
                                 .min = 0, .max = 255};
static const hs_type_t t_code_null = {.kind = HS_INT,
                                      .what = "an exit code or null",
                                      .min = 0, .max = 255,
                                      .flags = HS_NULLABLE};
static const hs_type_t t_limit = {.kind = HS_INT, .what = "a number",
                                  .min = 0, .max = 1000000000};

static const char *const w_sched[] = {"rr", "none", NULL};
static const char *const w_targets[] = {"builtin", "node", "node-c", "c-node",
                                        "exec", NULL};
static const char *const w_messages[] = {"none", "echo", "count", "reply",
                                         NULL};
static const char *const w_kind[] = {"http", "tcp", NULL};
static const char *const w_respawn[] = {"never", "always",
                                        "unless-exited-after-disconnect",
                                        "on-nonzero", NULL};
static const char *const w_emitter[] = {"worker", "cluster", NULL};
static const char *const w_load_word[] = {"stop", "wait", NULL};
static const char *const w_during[] = {"steps", "run", NULL};
static const char *const w_sigaction[] = {"ignore", "default", NULL};
static const char *const w_on_listening[] = {"disconnect", "kill",
                                             "ipc-disconnect", "close",
                                             NULL};
static const char *const w_ref_target[] = {"last", "trigger", NULL};
static const char *const w_ref_wait[] = {"any", "last", "trigger", NULL};
static const char *const w_ref_signal[] = {"primary", "last", "trigger",
                                           NULL};
static const char *const w_ref_each[] = {"each", NULL};
static const char *const w_ref_count[] = {"any", "each", NULL};
static const char *const w_ref_point[] = {"any", NULL};

static const hs_type_t t_sched = {.kind = HS_ENUM,
                                  .what = "scheduling policy",
                                  .words = w_sched};
static const hs_type_t t_target_kind = {.kind = HS_ENUM, .what = "target",
                                        .words = w_targets};
static const hs_type_t t_messages = {.kind = HS_ENUM,
                                     .what = "message behaviour",
                                     .words = w_messages};
static const hs_type_t t_kind = {.kind = HS_ENUM, .what = "server kind",
                                 .words = w_kind};
static const hs_type_t t_respawn_word = {.kind = HS_ENUM,
                                         .what = "respawn rule",
                                         .words = w_respawn};
static const hs_type_t t_emitter = {.kind = HS_ENUM, .what = "emitter",
                                    .words = w_emitter};
static const hs_type_t t_during = {.kind = HS_ENUM, .what = "scope",
                                   .words = w_during};
static const hs_type_t t_load_word = {.kind = HS_ENUM, .what = "load command",
                                      .words = w_load_word};
static const hs_type_t t_sigaction = {.kind = HS_ACTION,
                                      .what = "signal behaviour",
                                      .words = w_sigaction};
static const hs_type_t t_on_listening = {.kind = HS_ACTION,
                                         .what = "listening action",
                                         .words = w_on_listening};
static const hs_type_t t_wref = {.kind = HS_WORKER, .what = "a worker",
                                 .words = w_ref_target};
static const hs_type_t t_wref_wait = {.kind = HS_WORKER, .what = "a worker",
                                      .words = w_ref_wait};
static const hs_type_t t_wref_signal = {.kind = HS_WORKER,
                                        .what = "a worker or the primary",
                                        .words = w_ref_signal};
static const hs_type_t t_wref_each = {.kind = HS_WORKER, .what = "a worker",
                                      .words = w_ref_each};
static const hs_type_t t_wref_count = {.kind = HS_WORKER, .what = "a worker",
                                       .words = w_ref_count};
static const hs_type_t t_wref_point = {.kind = HS_WORKER, .what = "a worker",
                                       .words = w_ref_point};

static const hs_type_t t_str_seq = {.kind = HS_SEQ,
                                    .what = "a list of strings",
                                    .item = &t_str};
/* Each with its reason: a scenario never leaves a target silently. */
static const hs_type_t t_target_note = {
  .kind = HS_MAP, .what = "{skip: reason} or {diverges: reason}",
  .fields = (const hs_field_t[]){
    {"skip", &t_str, 0, NULL},
    {"diverges", &t_str, 0, NULL},
    {0}}};
static const hs_type_t t_targets = {
  .kind = HS_DICT,
  .what = "a mapping of targets to {skip: reason} or {diverges: reason}",
  .key = &t_target_kind, .item = &t_target_note};
static const hs_type_t t_signal_seq = {.kind = HS_SEQ,
                                       .what = "a list of signals",
                                       .item = &t_signal};
static const hs_type_t t_pattern_seq = {.kind = HS_SEQ,
                                        .what = "a list of events",
                                        .item = &t_pattern};
static const hs_type_t t_env = {.kind = HS_DICT,
                                .what = "a mapping of variables",
                                .item = &t_any};
static const hs_type_t t_signals = {.kind = HS_DICT,
                                    .what = "a mapping of signals",
                                    .key = &t_signal, .item = &t_sigaction};
static const hs_type_t t_empty_map = {.kind = HS_MAP, .what = "a mapping",
                                      .fields = (const hs_field_t[]){{0}}};

/* ---------------------------------------------------------------------- */
/* Sections                                                                */

static const hs_type_t t_server = {
  .kind = HS_MAP, .what = "a server",
  .fields = (const hs_field_t[]){
    {"kind", &t_kind, 0, NULL},
    {"port", &t_port, 0, NULL},
    {"host", &t_str, 0, NULL},
    {"exclusive", &t_bool, 0, NULL},
    {"close-delay", &t_dur, 0, NULL},
    {"max-connections", &t_maxconns, 0, NULL},
    {0}}};

static const hs_type_t t_servers = {.kind = HS_SEQ,
                                    .what = "a list of servers",
                                    .item = &t_server};

static const hs_type_t t_behaviour = {
  .kind = HS_MAP, .what = "a worker behaviour",
  .fields = (const hs_field_t[]){
    {"servers", &t_servers, 0, NULL},
    {"messages", &t_messages, 0, NULL},
    {"startup-delay", &t_dur, 0, NULL},
    {"signals", &t_signals, 0, NULL},
    {"on-listening", &t_on_listening, 0, NULL},
    {0}}};

static const hs_type_t t_cluster = {
  .kind = HS_MAP, .what = "cluster settings",
  .fields = (const hs_field_t[]){
    {"workers", &t_nworkers, 0, NULL},
    {"scheduling", &t_sched, 0, NULL},
    {"exec", &t_str, 0, NULL},
    {"args", &t_str_seq, 0, NULL},
    {"cwd", &t_str, 0, NULL},
    {"silent", &t_bool, 0, NULL},
    {"env", &t_env, 0, NULL},
    {0}}};

static const hs_type_t t_respawn_map = {
  .kind = HS_MAP, .what = "a respawn policy",
  .fields = (const hs_field_t[]){
    {"when", &t_respawn_word, F_REQUIRED, NULL},
    {"backoff", &t_dur, 0, NULL},
    {"backoff-max", &t_dur, 0, NULL},
    {"startup-window", &t_dur, 0, NULL},
    {0}}};

static const hs_type_t t_respawn = {
  .kind = HS_ONEOF, .what = "a respawn rule or a mapping",
  .alts = (const hs_type_t *const[]){&t_respawn_word, &t_respawn_map, NULL}};

static const hs_type_t t_shutdown_policy = {
  .kind = HS_MAP, .what = "a shutdown policy",
  .fields = (const hs_field_t[]){
    {"signals", &t_signal_seq, 0, NULL},
    {"timeout", &t_dur, 0, NULL},
    {0}}};

static const hs_type_t t_heartbeat = {
  .kind = HS_MAP, .what = "a heartbeat policy",
  .fields = (const hs_field_t[]){
    {"interval", &t_dur, F_REQUIRED, NULL},
    {"timeout", &t_dur, F_REQUIRED, NULL},
    {0}}};

static const hs_type_t t_metrics_map = {
  .kind = HS_MAP, .what = "a metrics endpoint",
  .fields = (const hs_field_t[]){{"port", &t_port, 0, NULL}, {0}}};

static const hs_type_t t_metrics = {
  .kind = HS_ONEOF, .what = "true or a mapping",
  .alts = (const hs_type_t *const[]){&t_bool, &t_metrics_map, NULL}};

static const hs_type_t t_primary = {
  .kind = HS_MAP, .what = "primary policies",
  .fields = (const hs_field_t[]){
    {"respawn", &t_respawn, 0, NULL},
    {"shutdown", &t_shutdown_policy, 0, NULL},
    {"heartbeat", &t_heartbeat, 0, NULL},
    {"metrics", &t_metrics, 0, NULL},
    {0}}};

static const hs_type_t t_oracle = {
  .kind = HS_MAP, .what = "oracle settings",
  .fields = (const hs_field_t[]){
    {"allow-exit-without-disconnect", &t_bool, 0, NULL},
    {0}}};

/* ---------------------------------------------------------------------- */
/* Steps                                                                   */

static const hs_type_t t_fork_map = {
  .kind = HS_MAP, .what = "a fork",
  .fields = (const hs_field_t[]){
    {"count", &t_nfork, 0, NULL},
    {"env", &t_env, 0, NULL},
    {"worker", &t_behaviour, 0, NULL},
    {0}}};
static const hs_type_t t_fork = {
  .kind = HS_ONEOF, .what = "a number of workers or a mapping",
  .alts = (const hs_type_t *const[]){&t_nfork, &t_fork_map, NULL}};

static const hs_type_t t_wait = {
  .kind = HS_MAP, .what = "a wait",
  .fields = (const hs_field_t[]){
    {"event", &t_event, F_REQUIRED, NULL},
    {"worker", &t_wref_wait, 0, NULL},
    {"count", &t_count, 0, NULL},
    {"within", &t_dur, 0, NULL},
    {"emitter", &t_emitter, 0, NULL},
    {0}}};

#define WORKER_ONLY(var, what_)                                          \
  static const hs_type_t var = {                                         \
    .kind = HS_MAP, .what = what_,                                       \
    .fields = (const hs_field_t[]){{"worker", &t_wref, F_REQUIRED, NULL}, \
                                   {0}}}

WORKER_ONLY(t_w_disconnect, "a disconnect");
WORKER_ONLY(t_w_throw, "a throw fault");
WORKER_ONLY(t_w_ipc, "an ipc-disconnect fault");
WORKER_ONLY(t_w_wkill, "a worker-kill fault");
WORKER_ONLY(t_w_wdisc, "a worker-disconnect fault");
WORKER_ONLY(t_w_close, "a close-servers fault");

static const hs_type_t t_send = {
  .kind = HS_MAP, .what = "a send",
  .fields = (const hs_field_t[]){
    {"worker", &t_wref, F_REQUIRED, NULL},
    {"message", &t_any, F_REQUIRED, NULL},
    {0}}};

static const hs_type_t t_kill = {
  .kind = HS_MAP, .what = "a kill",
  .fields = (const hs_field_t[]){
    {"worker", &t_wref, F_REQUIRED, NULL},
    {"signal", &t_signal, 0, NULL},
    {0}}};

static const hs_type_t t_cdisc = {
  .kind = HS_ONEOF, .what = "nothing or an empty mapping",
  .alts = (const hs_type_t *const[]){&t_null, &t_empty_map, NULL}};

static const hs_type_t t_signal_step = {
  .kind = HS_MAP, .what = "a signal",
  .fields = (const hs_field_t[]){
    {"to", &t_wref_signal, F_REQUIRED, NULL},
    {"signal", &t_signal, F_REQUIRED, NULL},
    {0}}};

static const hs_type_t t_pause = {
  .kind = HS_MAP, .what = "a pause",
  .fields = (const hs_field_t[]){
    {"to", &t_wref_signal, F_REQUIRED, NULL},
    {"for", &t_dur, F_REQUIRED, NULL},
    {0}}};

static const hs_type_t t_crash = {
  .kind = HS_MAP, .what = "a crash fault",
  .fields = (const hs_field_t[]){
    {"worker", &t_wref, F_REQUIRED, NULL},
    {"code", &t_code, 0, NULL},
    {0}}};

static const hs_type_t t_hang = {
  .kind = HS_MAP, .what = "a hang fault",
  .fields = (const hs_field_t[]){
    {"worker", &t_wref, F_REQUIRED, NULL},
    {"for", &t_dur, F_REQUIRED, NULL},
    {0}}};

static const hs_type_t t_hold = {
  .kind = HS_MAP, .what = "a hold fault",
  .fields = (const hs_field_t[]){
    {"worker", &t_wref, F_REQUIRED, NULL},
    {"connections", &t_conns, 0, NULL},
    {"port", &t_port, 0, NULL},
    {0}}};

static const hs_type_t t_connect = {
  .kind = HS_MAP, .what = "client connections",
  .fields = (const hs_field_t[]){
    {"connections", &t_conns, 0, NULL},
    {"hold", &t_dur, F_REQUIRED, NULL},
    {"port", &t_port, 0, NULL},
    {0}}};

static const hs_type_t t_load_start = {
  .kind = HS_MAP, .what = "load settings",
  .fields = (const hs_field_t[]){
    {"connections", &t_conns, 0, NULL},
    {"keepalive", &t_bool, 0, NULL},
    {"requests", &t_limit, 0, NULL},
    {"duration", &t_dur, 0, NULL},
    {"timeout", &t_dur, 0, NULL},
    {"server", &t_server_index, 0, NULL},
    {"path", &t_str, 0, NULL},
    {0}}};

static const hs_type_t t_load_map = {
  .kind = HS_MAP, .what = "a load command",
  .fields = (const hs_field_t[]){
    {"start", &t_load_start, F_REQUIRED, NULL},
    {0}}};

static const hs_type_t t_load = {
  .kind = HS_ONEOF, .what = "stop, wait or {start: ...}",
  .alts = (const hs_type_t *const[]){&t_load_word, &t_load_map, NULL}};

static const hs_type_t t_restart_map = {
  .kind = HS_MAP, .what = "a rolling restart",
  .fields = (const hs_field_t[]){
    {"timeout", &t_dur, 0, NULL},
    {"wait", &t_bool, 0, NULL},
    {"within", &t_dur, 0, NULL},
    {0}}};
static const hs_type_t t_restart = {
  .kind = HS_ONEOF, .what = "nothing or a mapping",
  .alts = (const hs_type_t *const[]){&t_null, &t_restart_map, NULL}};

static const hs_type_t t_shutdown_map = {
  .kind = HS_MAP, .what = "a shutdown",
  .fields = (const hs_field_t[]){
    {"timeout", &t_dur, 0, NULL},
    {"within", &t_dur, 0, NULL},
    {0}}};
static const hs_type_t t_shutdown_step = {
  .kind = HS_ONEOF, .what = "nothing or a mapping",
  .alts = (const hs_type_t *const[]){&t_null, &t_shutdown_map, NULL}};

static const hs_type_t t_on = {
  .kind = HS_MAP, .what = "a trigger condition",
  .fields = (const hs_field_t[]){
    {"event", &t_event, F_REQUIRED, NULL},
    {"worker", &t_wref_wait, 0, NULL},
    {"count", &t_count, 0, NULL},
    {"emitter", &t_emitter, 0, NULL},
    {0}}};

extern const hs_type_t scenario__t_step;
static const hs_type_t t_do_seq = {.kind = HS_SEQ, .what = "a list of actions",
                                   .item = &scenario__t_step};
static const hs_type_t t_do = {
  .kind = HS_ONEOF, .what = "an action or a list of actions",
  .alts = (const hs_type_t *const[]){&scenario__t_step, &t_do_seq, NULL}};

/* The order here is the order of scenario_step_kind_t. */
static const hs_field_t step_fields[] = {
  {"fork", &t_fork, F_ACTION, NULL},
  {"wait", &t_wait, F_ACTION | F_NOT_IN_DO, NULL},
  {"sleep", &t_dur, F_ACTION | F_NOT_IN_DO, NULL},
  {"send", &t_send, F_ACTION, NULL},
  {"disconnect", &t_w_disconnect, F_ACTION, NULL},
  {"kill", &t_kill, F_ACTION, NULL},
  {"cluster-disconnect", &t_cdisc, F_ACTION, NULL},
  {"signal", &t_signal_step, F_ACTION, NULL},
  {"pause", &t_pause, F_ACTION, NULL},
  {"crash", &t_crash, F_ACTION, NULL},
  {"throw", &t_w_throw, F_ACTION, NULL},
  {"hang", &t_hang, F_ACTION, NULL},
  {"ipc-disconnect", &t_w_ipc, F_ACTION, NULL},
  {"worker-kill", &t_w_wkill, F_ACTION, NULL},
  {"worker-disconnect", &t_w_wdisc, F_ACTION, NULL},
  {"close-servers", &t_w_close, F_ACTION, NULL},
  {"hold", &t_hold, F_ACTION, NULL},
  {"worker-send", &t_send, F_ACTION, NULL},
  {"connect", &t_connect, F_ACTION, NULL},
  {"load", &t_load, F_ACTION, NULL},
  {"rolling-restart", &t_restart, F_ACTION, NULL},
  {"shutdown", &t_shutdown_step, F_ACTION, NULL},
  {"on", &t_on, F_ACTION | F_NOT_IN_DO, NULL},
  {"do", &t_do, F_REQUIRED, "on"},
  {"after", &t_dur, 0, "on"},
  {"jitter", &t_dur, 0, "on"},
  {"times", &t_times, 0, "on"},
  {"name", &t_str, 0, NULL},
  {0}};

const hs_type_t scenario__t_step = {.kind = HS_MAP, .what = "a step",
                                  .fields = step_fields, .flags = HS_STEP};

static const hs_type_t t_steps = {.kind = HS_SEQ, .what = "a list of steps",
                                  .item = &scenario__t_step};

const char *const *scenario_step_names(void)
{
  static const char *names[SCENARIO_STEP_KIND_COUNT + 1];
  size_t i, n = 0;

  if (names[0] == NULL)
    for (i = 0; step_fields[i].name && n < SCENARIO_STEP_KIND_COUNT; i++)
      if (step_fields[i].flags & F_ACTION)
        names[n++] = step_fields[i].name;
  return names;
}

const char *scenario_step_name(scenario_step_kind_t kind)
{
  if ((int)kind < 0 || kind >= SCENARIO_STEP_KIND_COUNT)
    return "?";
  /* load start/stop share one key */
  if (kind == SCENARIO_STEP_LOAD_START || kind == SCENARIO_STEP_LOAD_STOP)
    return "load";
  if (kind > SCENARIO_STEP_LOAD_STOP)
    return step_fields[kind - 1].name;
  return step_fields[kind].name;
}

/* ---------------------------------------------------------------------- */
/* Expectations                                                            */

static const hs_type_t t_order_item = {
  .kind = HS_MAP, .what = "an order pattern",
  .fields = (const hs_field_t[]){
    {"worker", &t_wref_each, 0, NULL},
    {"pattern", &t_pattern_seq, F_REQUIRED, NULL},
    {"during", &t_during, 0, NULL},
    {0}}};

static const hs_type_t t_absent_item = {
  .kind = HS_MAP, .what = "an absence",
  .fields = (const hs_field_t[]){
    {"event", &t_event, F_REQUIRED, NULL},
    {"worker", &t_wref_count, 0, NULL},
    {"emitter", &t_emitter, 0, NULL},
    {"during", &t_during, 0, NULL},
    {0}}};

static const hs_type_t t_flags_item = {
  .kind = HS_MAP, .what = "a flags check",
  .fields = (const hs_field_t[]){
    {"at", &t_event, F_REQUIRED, NULL},
    {"worker", &t_wref_each, 0, NULL},
    {"nth", &t_nth, 0, NULL},
    {"emitter", &t_emitter, 0, NULL},
    {"exitedAfterDisconnect", &t_bool_null, 0, NULL},
    {"isConnected", &t_bool, 0, NULL},
    {"isDead", &t_bool, 0, NULL},
    {"member", &t_bool, 0, NULL},
    {"state", &t_str, 0, NULL},
    {"code", &t_code_null, 0, NULL},
    {"signal", &t_signal_null, 0, NULL},
    {"during", &t_during, 0, NULL},
    {0}}};

static const hs_type_t t_count_item = {
  .kind = HS_MAP, .what = "a count",
  .fields = (const hs_field_t[]){
    {"event", &t_event, F_REQUIRED, NULL},
    {"worker", &t_wref_count, 0, NULL},
    {"emitter", &t_emitter, 0, NULL},
    {"count", &t_count0, 0, NULL},
    {"min", &t_count0, 0, NULL},
    {"max", &t_count0, 0, NULL},
    {"during", &t_during, 0, NULL},
    {0}}};

static const hs_type_t t_availability = {
  .kind = HS_MAP, .what = "an availability budget",
  .fields = (const hs_field_t[]){
    {"max-failed", &t_limit, 0, NULL},
    {"min-requests", &t_limit, 0, NULL},
    {"always-listening", &t_bool, 0, NULL},
    {0}}};

static const hs_type_t t_point = {
  .kind = HS_MAP, .what = "an event",
  .fields = (const hs_field_t[]){
    {"event", &t_event, F_REQUIRED, NULL},
    {"worker", &t_wref_point, 0, NULL},
    {"nth", &t_nth, 0, NULL},
    {0}}};

static const hs_type_t t_timing_item = {
  .kind = HS_MAP, .what = "a timing bound",
  .fields = (const hs_field_t[]){
    {"from", &t_point, 0, NULL},
    {"to", &t_point, F_REQUIRED, NULL},
    {"within", &t_dur, 0, NULL},
    {"at-least", &t_dur, 0, NULL},
    {"during", &t_during, 0, NULL},
    {0}}};

#define SEQ_OF(var, item_, what_) \
  static const hs_type_t var = {.kind = HS_SEQ, .what = what_, .item = item_}
SEQ_OF(t_order, &t_order_item, "a list of order patterns");
SEQ_OF(t_absent, &t_absent_item, "a list of absences");
SEQ_OF(t_flags, &t_flags_item, "a list of flag checks");
SEQ_OF(t_counts, &t_count_item, "a list of counts");
SEQ_OF(t_timing, &t_timing_item, "a list of timing bounds");

static const hs_type_t t_expect = {
  .kind = HS_MAP, .what = "expectations",
  .fields = (const hs_field_t[]){
    {"order", &t_order, 0, NULL},
    {"absent", &t_absent, 0, NULL},
    {"flags", &t_flags, 0, NULL},
    {"counts", &t_counts, 0, NULL},
    {"availability", &t_availability, 0, NULL},
    {"timing", &t_timing, 0, NULL},
    {0}}};

static const hs_type_t t_root = {
  .kind = HS_MAP, .what = "a scenario",
  .fields = (const hs_field_t[]){
    {"name", &t_str, 0, NULL},
    {"description", &t_str, 0, NULL},
    {"tags", &t_str_seq, 0, NULL},
    {"skip", &t_str, 0, NULL},
    {"targets", &t_targets, 0, NULL},
    {"timeout", &t_dur, 0, NULL},
    {"cluster", &t_cluster, 0, NULL},
    {"worker", &t_behaviour, 0, NULL},
    {"primary", &t_primary, 0, NULL},
    {"oracle", &t_oracle, 0, NULL},
    {"steps", &t_steps, 0, NULL},
    {"expect", &t_expect, 0, NULL},
    {0}}};

/* ---------------------------------------------------------------------- */
/* The walk                                                                */

typedef struct {
  scenario__errs_t *errs;
  bool in_do;
} walk_t;

static const char *shape_name(struct fy_node *n)
{
  if (n == NULL)
    return "nothing";
  switch (fy_node_get_type(n)) {
  case FYNT_SEQUENCE:
    return "a sequence";
  case FYNT_MAPPING:
    return "a mapping";
  default:
    return "a scalar";
  }
}

static const char *got_as(struct fy_node *n, bool typed);

/* "'two'", "nothing", "a sequence" - what the user wrote, for messages. */
static const char *got(struct fy_node *n)
{
  return got_as(n, false);
}

/* The same, saying "the string" for a quoted scalar where a number or a
 * boolean was expected: quotes are what made it wrong. */
static const char *got_typed(struct fy_node *n)
{
  return got_as(n, true);
}

static const char *got_as(struct fy_node *n, bool typed)
{
  static char ring[4][300];
  static unsigned next;
  char *buf = ring[next++ % 4];

  if (n == NULL || (fy_node_get_type(n) == FYNT_SCALAR &&
                    !scenario__node_is_quoted(n) &&
                    scenario__node_str(n)[0] == '\0'))
    return "nothing";
  if (fy_node_get_type(n) != FYNT_SCALAR)
    return shape_name(n);
  snprintf(buf, 300,
           typed && scenario__node_is_quoted(n) ? "the string '%s'" : "'%s'",
           scenario__node_str(n));
  return buf;
}

static void join_words(char *buf, size_t len, const char *const *words)
{
  size_t i, used = 0;

  buf[0] = '\0';
  for (i = 0; words[i] && used + 2 < len; i++)
    used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "",
                             words[i]);
}

static void walk(walk_t *w, struct fy_node *n, const hs_type_t *t,
                 const char *path, scenario__loc_t loc);

static bool shape_matches(const hs_type_t *t, struct fy_node *n)
{
  enum fy_node_type nt = n ? fy_node_get_type(n) : FYNT_SCALAR;

  switch (t->kind) {
  case HS_MAP:
  case HS_DICT:
    return nt == FYNT_MAPPING;
  case HS_SEQ:
    return nt == FYNT_SEQUENCE;
  case HS_NULL:
    return scenario__node_is_nullish(n) && !scenario__node_is_quoted(n);
  case HS_ANY:
    return true;
  default:
    return nt == FYNT_SCALAR;
  }
}

static void check_word(walk_t *w, struct fy_node *n, const hs_type_t *t,
                       const char *path, scenario__loc_t loc, bool exit_ok)
{
  const char *s = scenario__node_str(n);
  const char *hint;
  char list[256];
  size_t i;

  for (i = 0; t->words[i]; i++)
    if (strcmp(t->words[i], s) == 0)
      return;
  if (exit_ok && strncmp(s, "exit:", 5) == 0) {
    int64_t code;
    if (scenario__parse_int(s + 5, &code) && code >= 0 && code <= 255)
      return;
    scenario__errs_add(w->errs, loc, path,
                     "invalid exit code in '%s' (expected exit:N with N "
                     "from 0 to 255)", s);
    return;
  }
  join_words(list, sizeof(list), t->words);
  hint = base_suggest(s, t->words);
  if (hint != NULL)
    scenario__errs_add(w->errs, loc, path, "unknown %s %s (did you mean '%s'?)",
                     t->what, got(n), hint);
  else
    scenario__errs_add(w->errs, loc, path, "unknown %s %s (expected %s%s)",
                     t->what, got(n), exit_ok ? "exit:N, " : "", list);
}

static void check_worker(walk_t *w, struct fy_node *n, const hs_type_t *t,
                         const char *path, scenario__loc_t loc)
{
  const char *s = scenario__node_str(n);
  int64_t v;
  char list[128];
  size_t i;

  if (!scenario__node_is_quoted(n) && scenario__parse_int(s, &v)) {
    if (v < 1)
      scenario__errs_add(w->errs, loc, path,
                       "worker ids start at 1, got %s", got(n));
    else if (v > 100000)
      scenario__errs_add(w->errs, loc, path, "worker id %s is out of range",
                       s);
    return;
  }
  for (i = 0; t->words[i]; i++)
    if (strcmp(t->words[i], s) == 0)
      return;
  join_words(list, sizeof(list), t->words);
  scenario__errs_add(w->errs, loc, path,
                   "expected %s (an id, or %s), got %s", t->what, list,
                   got(n));
}

static void check_pattern(walk_t *w, struct fy_node *n, const char *path,
                          scenario__loc_t loc)
{
  char buf[256], *p, *alt, *save = NULL;
  size_t len;

  snprintf(buf, sizeof(buf), "%s", scenario__node_str(n));
  p = buf;
  if (*p == '!')
    p++;
  len = strlen(p);
  if (len > 0 && strchr("?*+", p[len - 1]) != NULL) {
    if (buf[0] == '!') {
      scenario__errs_add(w->errs, loc, path,
                       "an absence '!' takes no quantifier, got %s", got(n));
      return;
    }
    p[--len] = '\0';
  }
  if (len == 0) {
    scenario__errs_add(w->errs, loc, path, "empty pattern element %s",
                     got(n));
    return;
  }
  if (p[0] == '|' || p[len - 1] == '|' || strstr(p, "||") != NULL) {
    scenario__errs_add(w->errs, loc, path, "empty alternative in %s", got(n));
    return;
  }
  for (alt = strtok_r(p, "|", &save); alt; alt = strtok_r(NULL, "|", &save)) {
    if (trace_ev_from_name(alt) == TRACE_EV_NONE) {
      const char *hint = base_suggest(alt, trace_ev_names());
      if (hint)
        scenario__errs_add(w->errs, loc, path,
                         "unknown event '%s' in pattern (did you mean "
                         "'%s'?)", alt, hint);
      else
        scenario__errs_add(w->errs, loc, path,
                         "unknown event '%s' in pattern", alt);
      return;
    }
  }
}

static void walk_scalar(walk_t *w, struct fy_node *n, const hs_type_t *t,
                        const char *path, scenario__loc_t loc)
{
  const char *s = scenario__node_str(n);
  bool quoted = scenario__node_is_quoted(n);
  int64_t v;
  const char *hint;

  if ((t->flags & HS_NULLABLE) && !quoted && scenario__node_is_nullish(n) &&
      n != NULL && s[0] != '\0')
    return;
  switch (t->kind) {
  case HS_STR:
    if (!quoted && scenario__node_is_nullish(n))
      scenario__errs_add(w->errs, loc, path, "expected %s, got %s", t->what,
                       got(n));
    return;
  case HS_INT:
    if (quoted || !scenario__parse_int(s, &v)) {
      scenario__errs_add(w->errs, loc, path, "expected %s (an integer), got %s",
                       t->what, got_typed(n));
      return;
    }
    if (v < t->min || v > t->max)
      scenario__errs_add(w->errs, loc, path,
                       "%s must be from %lld to %lld, got %s", t->what,
                       (long long)t->min, (long long)t->max, s);
    return;
  case HS_BOOL:
    if (quoted || scenario__parse_bool(s) < 0)
      scenario__errs_add(w->errs, loc, path, "expected %s, got %s", t->what,
                       got_typed(n));
    return;
  case HS_DURATION: {
    int64_t ms;
    int rc = base_duration_parse(s, &ms);
    if (rc == UV_ERANGE)
      scenario__errs_add(w->errs, loc, path,
                       "duration %s is longer than an hour", got(n));
    else if (rc != 0)
      scenario__errs_add(w->errs, loc, path,
                       "invalid duration %s (expected a number and a unit: "
                       "ms, s or m, as in '150ms' or '2s')", got(n));
    return;
  }
  case HS_SIGNAL:
    if (base_signal_from_name(s) != 0 && !quoted)
      return;
    hint = base_suggest(s, base_signal_names());
    if (hint)
      scenario__errs_add(w->errs, loc, path,
                       "unknown signal %s (did you mean '%s'?)", got(n), hint);
    else
      scenario__errs_add(w->errs, loc, path, "unknown signal %s", got(n));
    return;
  case HS_EVENT:
    if (trace_ev_from_name(s) != TRACE_EV_NONE)
      return;
    hint = base_suggest(s, trace_ev_names());
    if (hint)
      scenario__errs_add(w->errs, loc, path,
                       "unknown event %s (did you mean '%s'?)", got(n), hint);
    else
      scenario__errs_add(w->errs, loc, path, "unknown event %s", got(n));
    return;
  case HS_ENUM:
    check_word(w, n, t, path, loc, false);
    return;
  case HS_ACTION:
    check_word(w, n, t, path, loc, true);
    return;
  case HS_WORKER:
    check_worker(w, n, t, path, loc);
    return;
  case HS_PATTERN:
    check_pattern(w, n, path, loc);
    return;
  default:
    return;
  }
}

static const hs_field_t *find_field(const hs_type_t *t, const char *name)
{
  const hs_field_t *f;

  for (f = t->fields; f->name; f++)
    if (strcmp(f->name, name) == 0)
      return f;
  return NULL;
}

static void walk_map(walk_t *w, struct fy_node *n, const hs_type_t *t,
                     const char *path, scenario__loc_t loc)
{
  void *it = NULL;
  struct fy_node_pair *p;
  const hs_field_t *f;
  const char *names[64];
  const char *action = NULL, *action2 = NULL;
  scenario__loc_t action_loc = loc, action2_loc = loc;
  size_t nn = 0;
  unsigned unknown = 0;
  char sub[512];
  bool is_step = (t->flags & HS_STEP) != 0;

  for (f = t->fields; f->name && nn < 63; f++)
    if (!(is_step && w->in_do && (f->flags & F_NOT_IN_DO)))
      names[nn++] = f->name;
  names[nn] = NULL;

  while ((p = fy_node_mapping_iterate(n, &it)) != NULL) {
    struct fy_node *k = fy_node_pair_key(p);
    struct fy_node *v = fy_node_pair_value(p);
    scenario__loc_t kloc = scenario__node_loc(k, loc);
    const char *key;

    if (k == NULL || fy_node_get_type(k) != FYNT_SCALAR ||
        scenario__node_is_nullish(k)) {
      scenario__errs_add(w->errs, kloc, path, "keys must be plain words");
      continue;
    }
    key = scenario__node_str(k);
    snprintf(sub, sizeof(sub), "%s/%s", path, key);
    f = find_field(t, key);
    if (f != NULL && is_step && w->in_do && (f->flags & F_NOT_IN_DO)) {
      unknown++;
      if (strcmp(key, "on") == 0)
        scenario__errs_add(w->errs, kloc, sub,
                         "triggers cannot be nested: 'on' inside 'do'");
      else
        scenario__errs_add(w->errs, kloc, sub,
                         "'%s' cannot be used inside 'do' (a trigger runs "
                         "actions, it does not wait)", key);
      continue;
    }
    if (f == NULL) {
      const char *hint = base_suggest(key, names);
      const char *kind = is_step ? "step" : "key";
      unknown++;
      if (hint)
        scenario__errs_add(w->errs, kloc, sub,
                         "unknown %s '%s' (did you mean '%s'?)", kind, key,
                         hint);
      else {
        char list[512];
        const char *actions[64];
        size_t na = 0;
        if (is_step) {
          for (f = t->fields; f->name && na < 63; f++)
            if ((f->flags & F_ACTION) &&
                !(w->in_do && (f->flags & F_NOT_IN_DO)))
              actions[na++] = f->name;
          actions[na] = NULL;
        }
        join_words(list, sizeof(list), is_step ? actions : names);
        scenario__errs_add(w->errs, kloc, sub,
                         "unknown %s '%s' (expected one of: %s)", kind, key,
                         list);
      }
      continue;
    }
    if (f->flags & F_ACTION) {
      if (action == NULL) {
        action = f->name;
        action_loc = kloc;
      } else if (action2 == NULL) {
        action2 = f->name;
        action2_loc = kloc;
      }
    }
    if (f->type == &t_do && w->in_do) {
      /* reported with its 'on' */
      unknown++;
      continue;
    }
    if (f->type == &t_do) {
      w->in_do = true;
      walk(w, v, f->type, sub, kloc);
      w->in_do = false;
    } else {
      walk(w, v, f->type, sub, kloc);
    }
  }

  /* a rejected key was probably meant to be the action or its companion:
   * what follows would only repeat that error */
  if (unknown > 0)
    return;
  if (is_step) {
    if (action2 != NULL) {
      scenario__errs_add(w->errs, action2_loc, path,
                       "a step has exactly one action, this one has '%s' "
                       "and '%s'", action, action2);
      return;
    }
    if (action == NULL) {
      scenario__errs_add(w->errs, loc, path,
                       "a step needs an action such as fork, wait, kill or "
                       "on");
      return;
    }
    (void)action_loc;
  }
  for (f = t->fields; f->name; f++) {
    struct fy_node *v = scenario__node_get(n, f->name);
    bool present = fy_node_mapping_lookup_pair_by_string(n, f->name,
                                                         FY_NT) != NULL;
    (void)v;
    if (present && f->with != NULL && (action == NULL ||
                                       strcmp(action, f->with) != 0)) {
      struct fy_node_pair *kp =
          fy_node_mapping_lookup_pair_by_string(n, f->name, FY_NT);
      snprintf(sub, sizeof(sub), "%s/%s", path, f->name);
      scenario__errs_add(w->errs, scenario__node_loc(fy_node_pair_key(kp), loc),
                       sub, "'%s' belongs to an '%s' step", f->name,
                       f->with);
    }
    if (!present && (f->flags & F_REQUIRED) &&
        (f->with == NULL || (action != NULL && strcmp(action, f->with) == 0)))
      scenario__errs_add(w->errs, loc, path, "missing key '%s' in %s",
                       f->name, t->what);
  }
}

static void walk(walk_t *w, struct fy_node *n, const hs_type_t *t,
                 const char *path, scenario__loc_t loc)
{
  char sub[512];
  scenario__loc_t here = scenario__node_loc(n, loc);

  if (n != NULL && (fy_node_is_alias(n) || fy_node_get_anchor(n) != NULL)) {
    scenario__errs_add(w->errs, here, path,
                     "anchors and aliases are not supported in scenarios");
    return;
  }
  if (n != NULL && fy_node_get_tag_token(n) != NULL) {
    scenario__errs_add(w->errs, here, path,
                     "tags are not supported in scenarios");
    return;
  }
  if (t->kind == HS_ONEOF) {
    const hs_type_t *const *a;
    for (a = t->alts; *a; a++)
      if (shape_matches(*a, n)) {
        walk(w, n, *a, path, loc);
        return;
      }
    scenario__errs_add(w->errs, here, path, "expected %s, got %s", t->what,
                     got(n));
    return;
  }
  if (!shape_matches(t, n)) {
    if (t->kind == HS_MAP || t->kind == HS_DICT || t->kind == HS_SEQ ||
        n == NULL || fy_node_get_type(n) != FYNT_SCALAR ||
        t->kind == HS_NULL)
      scenario__errs_add(w->errs, here, path, "expected %s, got %s", t->what,
                       got(n));
    else
      scenario__errs_add(w->errs, here, path, "expected %s, got %s", t->what,
                       got(n));
    return;
  }
  switch (t->kind) {
  case HS_MAP:
    walk_map(w, n, t, path, here);
    return;
  case HS_DICT: {
    void *it = NULL;
    struct fy_node_pair *p;
    while ((p = fy_node_mapping_iterate(n, &it)) != NULL) {
      struct fy_node *k = fy_node_pair_key(p);
      scenario__loc_t kloc = scenario__node_loc(k, here);
      if (k == NULL || fy_node_get_type(k) != FYNT_SCALAR) {
        scenario__errs_add(w->errs, kloc, path, "keys must be plain words");
        continue;
      }
      snprintf(sub, sizeof(sub), "%s/%s", path, scenario__node_str(k));
      if (t->key != NULL)
        walk_scalar(w, k, t->key, sub, kloc);
      if (t->item == &t_any) {
        struct fy_node *v = fy_node_pair_value(p);
        if (v != NULL && fy_node_get_type(v) != FYNT_SCALAR)
          scenario__errs_add(w->errs, scenario__node_loc(v, kloc), sub,
                           "expected a string, number or boolean, got %s",
                           got(v));
      } else {
        walk(w, fy_node_pair_value(p), t->item, sub, kloc);
      }
    }
    return;
  }
  case HS_SEQ: {
    void *it = NULL;
    struct fy_node *item;
    unsigned i = 0;
    while ((item = fy_node_sequence_iterate(n, &it)) != NULL) {
      snprintf(sub, sizeof(sub), "%s/%u", path, i++);
      walk(w, item, t->item, sub, here);
    }
    return;
  }
  case HS_ANY:
    return;
  case HS_NULL:
    return;
  default:
    walk_scalar(w, n, t, path, here);
    return;
  }
}

unsigned scenario__schema_check(struct fy_node *root, scenario__errs_t *errs)
{
  walk_t w = {.errs = errs, .in_do = false};
  scenario__loc_t start = {1, 1};
  unsigned before = errs->errors;

  if (root == NULL || fy_node_get_type(root) != FYNT_MAPPING) {
    scenario__errs_add(errs, scenario__node_loc(root, start), NULL,
                     "a scenario is a mapping (name, cluster, worker, "
                     "steps, expect...), got %s", got(root));
    return errs->errors - before;
  }
  walk(&w, root, &t_root, "", start);
  return errs->errors - before;
}
