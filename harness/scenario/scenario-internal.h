/*
 * scenario-internal.h - shared by the files of harness/scenario/ only.
 *
 * The loader reads one set of tables three ways: the schema walk checks a
 * document against them (scenario-check.c), the builder turns a checked
 * document into the model (scenario-build.c, and scenario.c for the
 * sections that become the agents' JSON) and the describer prints them as
 * the Markdown reference of docs/scenarios.md (scenario-describe.c).
 *
 *   scenario-schema.c   value types and the sections of a scenario
 *   scenario-steps.c    one definition per step kind of SCENARIO_STEP_MAP
 *   scenario-expect.c   one definition per kind of SCENARIO_EXPECT_MAP
 *   scenario-yaml.c     libfyaml nodes and the error sink
 *
 * Every table here is static and read-only; nothing is allocated for it.
 */
#ifndef SCENARIO_INTERNAL_H
#define SCENARIO_INTERNAL_H

#include <libfyaml.h>
#include <stddef.h>

#include "scenario.h"

/* ---------------------------------------------------------------------- */
/* Positions, errors, YAML nodes (scenario-yaml.c)                          */

typedef struct {
  unsigned line, column;   /* 1-based; 0: unknown */
} scenario__loc_t;

/* Error sink of one scenario file: formats "file:line:col: error: msg (at
 * path)" and counts the errors. `file` and `diag` are borrowed. */
typedef struct {
  const char *file;
  base_diag_t *diag;
  unsigned errors;
} scenario__errs_t;

void scenario__errs_add(scenario__errs_t *e, scenario__loc_t loc,
                        const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Where a node starts: a scalar's own token; a collection's first scalar
 * (libfyaml 0.7.12 keeps no marks for collections); else `fallback`. */
scenario__loc_t scenario__node_loc(struct fy_node *n,
                                   scenario__loc_t fallback);

/* The longest scalar a scenario may hold (scenario.c refuses longer ones
 * before any node is read), so that scenario__node_str never cuts one. */
#define SCENARIO__MAX_SCALAR 65535

/* A scalar's text, NUL-terminated, in a static ring of 8 buffers: valid
 * until 8 more calls. "" for NULL or a collection. */
const char *scenario__node_str(struct fy_node *n);
bool scenario__node_is_quoted(struct fy_node *n);
bool scenario__node_is_nullish(struct fy_node *n);
/* The value of `key` in a mapping; NULL if absent or not a mapping. */
struct fy_node *scenario__node_get(struct fy_node *map, const char *key);
/* YAML -> cJSON (plain scalars become numbers/booleans/null). The caller
 * owns the result; NULL on allocation failure. */
cJSON *scenario__node_to_json(struct fy_node *n);
/* A plain scalar as a YAML 1.2 core-schema integer / boolean (-1: not
 * a boolean). */
bool scenario__parse_int(const char *s, int64_t *out);
int scenario__parse_bool(const char *s);

/* ---------------------------------------------------------------------- */
/* Value types and fields                                                  */

/* What a value may be. Scalars first: the walk checks them one by one. */
typedef enum {
  SCENARIO__T_MAP = 0,   /* fixed keys: `fields` */
  SCENARIO__T_DICT,      /* free keys (env, signals): `key`, `item` */
  SCENARIO__T_SEQ,       /* a list of `item` */
  SCENARIO__T_ONEOF,     /* the first of `alts` whose shape matches */
  SCENARIO__T_STEP,      /* a step (scenario-steps.c) */
  SCENARIO__T_EXPECT,    /* the expectations (scenario-expect.c) */
  SCENARIO__T_ANY,       /* any JSON-able value (messages) */
  SCENARIO__T_NULL,      /* nothing: `- cluster-disconnect:` */
  SCENARIO__T_STR,
  SCENARIO__T_INT,       /* from `min` to `max` */
  SCENARIO__T_BOOL,
  SCENARIO__T_DURATION,
  SCENARIO__T_SIGNAL,
  SCENARIO__T_EVENT,
  SCENARIO__T_EVENTS,    /* an event, or alternatives "disconnect|exit" */
  SCENARIO__T_ENUM,      /* a word of `words` */
  SCENARIO__T_ACTION,    /* a word of `words`, or exit:N */
  SCENARIO__T_WORKER,    /* a worker id or a word of `words` */
  SCENARIO__T_PATTERN    /* an order pattern element */
} scenario__shape_t;

#define SCENARIO__NULLABLE 0x1u   /* type flag: null is a value (code: null) */
#define SCENARIO__DO       0x2u   /* type flag: its steps run in a trigger's
                                     `do` */
#define SCENARIO__TOGETHER 0x4u   /* type flag: its steps run in one turn of
                                     the primary (`together`) */
#define SCENARIO__REQUIRED 0x1u   /* field flag */

/* How a value lands in a model member; chosen from the member's C type by
 * SCENARIO__TO, so a row cannot store a value into the wrong kind of
 * member. */
typedef enum {
  SCENARIO__TO_NONE = 0, /* not stored (a hook or a JSON section reads it) */
  SCENARIO__TO_NUM,      /* bool, int, unsigned, an enum, int64_t,
                            uint64_t: stored by size */
  SCENARIO__TO_STR,      /* char *, owned by the model */
  SCENARIO__TO_CHARS,    /* char[64] */
  SCENARIO__TO_JSON,     /* cJSON *, owned by the model */
  SCENARIO__TO_WREF,     /* scenario_wref_t */
  SCENARIO__TO_SUB,      /* a nested struct: the fields of a mapping
                            are relative to it */
  SCENARIO__TO_JSON_KEY  /* the member `json` of a JSON object the agents
                            read (scenario__json_fill) */
} scenario__to_t;

typedef struct {
  size_t off, size;
  scenario__to_t how;
  const char *json;
} scenario__dest_t;

#define SCENARIO__JSON(member)                                               \
  {.how = SCENARIO__TO_JSON_KEY, .json = member}

#define SCENARIO__TO(T, m)                                                   \
  {.off = offsetof(T, m), .size = sizeof(((T *)0)->m),                      \
   .how = _Generic(&((T *)0)->m,                                             \
       bool *: SCENARIO__TO_NUM, int *: SCENARIO__TO_NUM,                    \
       unsigned *: SCENARIO__TO_NUM, int64_t *: SCENARIO__TO_NUM,            \
       uint64_t *: SCENARIO__TO_NUM, char **: SCENARIO__TO_STR,              \
       char(*)[64]: SCENARIO__TO_CHARS, cJSON **: SCENARIO__TO_JSON,         \
       scenario_wref_t *: SCENARIO__TO_WREF,                                 \
       scenario_point_t *: SCENARIO__TO_SUB,                                 \
       scenario_load_spec_t *: SCENARIO__TO_SUB)}

typedef struct scenario__type_s scenario__type_t;
typedef struct scenario__field_s scenario__field_t;

struct scenario__field_s {
  const char *key;
  const scenario__type_t *type;
  unsigned flags;             /* SCENARIO__REQUIRED */
  const char *dflt;           /* the default as YAML text: the docs show it
                                 and the builder reads it as if written */
  scenario__dest_t to;        /* where the builder stores the value */
};

struct scenario__type_s {
  scenario__shape_t kind;
  const char *what;           /* "an integer", "a fork": for messages */
  const scenario__field_t *fields;       /* MAP, {0}-terminated */
  const scenario__type_t *item;          /* SEQ items, DICT values */
  const scenario__type_t *key;           /* DICT keys (NULL: any word) */
  const char *const *words;              /* ENUM, ACTION, WORKER */
  const scenario__type_t *const *alts;   /* ONEOF, NULL-terminated */
  int64_t min, max;                      /* INT; DURATION in ms (max 0:
                                            up to an hour) */
  unsigned flags;                        /* SCENARIO__NULLABLE */
};

/* Row helpers for the tables: _OF gives an initializer, the others a
 * pointer to a compound literal (static storage at file scope, so rows can
 * nest them). */
#define SCENARIO__MAP_OF(what_, ...)                                         \
  {.kind = SCENARIO__T_MAP, .what = what_,                                   \
   .fields = (const scenario__field_t[]){__VA_ARGS__, {0}}}
#define SCENARIO__ONEOF_OF(what_, ...)                                       \
  {.kind = SCENARIO__T_ONEOF, .what = what_,                                 \
   .alts = (const scenario__type_t *const[]){__VA_ARGS__, NULL}}
#define SCENARIO__MAP(what_, ...)                                            \
  (&(const scenario__type_t)SCENARIO__MAP_OF(what_, __VA_ARGS__))
#define SCENARIO__ONEOF(what_, ...)                                          \
  (&(const scenario__type_t)SCENARIO__ONEOF_OF(what_, __VA_ARGS__))
#define SCENARIO__SEQ(what_, item_)                                          \
  (&(const scenario__type_t){.kind = SCENARIO__T_SEQ, .what = what_,         \
                             .item = item_})

/* The value types several tables share (scenario-schema.c). */
extern const scenario__type_t scenario__t_str, scenario__t_bool,
    scenario__t_bool_null, scenario__t_dur, scenario__t_signal,
    scenario__t_signal_null, scenario__t_event, scenario__t_any,
    scenario__t_null, scenario__t_empty_map, scenario__t_count,
    scenario__t_count0, scenario__t_nth, scenario__t_times,
    scenario__t_nfork, scenario__t_port, scenario__t_server_index,
    scenario__t_conns, scenario__t_code, scenario__t_code_null,
    scenario__t_limit, scenario__t_emitter, scenario__t_during,
    scenario__t_env, scenario__t_pattern_seq, scenario__t_behaviour,
    scenario__t_wref, scenario__t_wref_wait, scenario__t_wref_signal,
    scenario__t_wref_each, scenario__t_wref_count, scenario__t_wref_point,
    scenario__t_root, scenario__t_steps, scenario__t_expect,
    scenario__t_events, scenario__t_stepref, scenario__t_wref_points,
    scenario__t_bool_alts, scenario__t_bool_null_alts, scenario__t_code_alts,
    scenario__t_signal_alts, scenario__t_str_alts, scenario__t_clients,
    scenario__t_cluster, scenario__t_primary, scenario__t_respawn_map,
    scenario__t_metrics_map,
    scenario__t_sticky_map, scenario__t_serialization;

/* "a fork" -> "fork": types named in a sentence or in a table cell. */
const char *scenario__bare(const char *what);
/* A duration as a scenario writes it: "2s", "1m", "150ms". */
void scenario__dur_text(int64_t ms, char *buf, size_t n);

/* ---------------------------------------------------------------------- */
/* Step and expectation kinds                                              */

/* The builder's state for one file. */
typedef struct {
  scenario__errs_t *errs;
  scenario_t *s;
  /* fork accounting for "a worker that cannot exist" */
  unsigned bound;
  bool unbounded;
} scenario__build_t;

/* Where a hook is: the node of the step (or expectation), the value of its
 * key, paths and position for messages. */
typedef struct {
  struct fy_node *node;       /* the step mapping / the expectation */
  struct fy_node *value;      /* the value of the step's action key */
  const char *path;           /* "/steps/3", "/expect/order/0" */
  const char *sub;            /* "/steps/3/fork" (steps only) */
  scenario__loc_t loc;        /* of the action key / the expectation */
  bool in_do;                 /* inside a trigger's `do` */
} scenario__at_t;

/* Whether a trigger's `do` may run a step kind: it runs actions and never
 * blocks the steps, so steps that wait, and triggers, are refused there. */
typedef enum {
  SCENARIO__IN_DO = 0,
  SCENARIO__NOT_IN_DO_WAITS,
  SCENARIO__NOT_IN_DO_NESTS
} scenario__in_do_t;

/* The definition of a step kind; its key and doc line are its row of
 * SCENARIO_STEP_MAP. */
typedef struct {
  const scenario__type_t *value;   /* the value of the key */
  scenario__dest_t shorthand;      /* where a scalar value goes (`fork: 2`,
                                      `sleep: 1s`) */
  const scenario__field_t *beside; /* keys of the step next to the action
                                      key, owned by this kind (`on`: `do`) */
  scenario__in_do_t in_do;
  bool together;                   /* a primary command `together` runs */
  const char *either;              /* kinds sharing a key: what the key
                                      takes, for a value of neither shape */
  /* Semantics no row can say (fork accounting, `do`, cross-checks); runs
   * after the fields are stored. NULL: none. */
  int (*build)(scenario__build_t *b, const scenario__at_t *at,
               scenario_step_t *st);
} scenario__step_def_t;

/* The definition of an expectation kind; its key and doc line are its row
 * of SCENARIO_EXPECT_MAP. */
typedef struct {
  const scenario__type_t *value;   /* a SEQ of items, or one item */
  int (*build)(scenario__build_t *b, const scenario__at_t *at,
               scenario_expect_t *e);
} scenario__expect_def_t;

extern const scenario__step_def_t *const
    scenario__steps[SCENARIO_STEP_KIND_COUNT];
extern const scenario__expect_def_t *const
    scenario__expects[SCENARIO_EXPECT_KIND_COUNT];
/* Keys allowed on every step ("name"). */
extern const scenario__field_t scenario__step_common[];

const char *scenario__expect_key(scenario_expect_kind_t kind);
/* Events that belong to no worker (setup, the disconnect callback, the
 * primary's exit, the shutdown...). */
bool scenario__ev_of_no_worker(trace_ev_t ev);
/* Whether a step kind is a fault the worker applies to itself (crash to
 * worker-send, hold, timer): a probe of it is the worker's. */
bool scenario__step_is_fault(scenario_step_kind_t kind);
/* Frees what an expectation owns (not the struct itself). */
void scenario__expect_release(scenario_expect_t *e);
const char *scenario__step_doc(scenario_step_kind_t kind);
const char *scenario__expect_doc(scenario_expect_kind_t kind);

/* ---------------------------------------------------------------------- */
/* The walk (scenario-check.c) and the builder (scenario-build.c)          */

/* Validates the whole document against the schema. Returns the number of
 * errors added. */
unsigned scenario__schema_check(struct fy_node *root, scenario__errs_t *errs);

/* Of a ONEOF's scalar alternatives (a number or a word...), the first that
 * takes the scalar `n` (NULL: none; `n` NULL: the first one, for a
 * default); any other type is its own. */
const scenario__type_t *scenario__scalar_alt(const scenario__type_t *t,
                                             struct fy_node *n);

/* Whether a value's shape (mapping, list, scalar, nothing) fits a type. */
bool scenario__shape_matches(const scenario__type_t *t, struct fy_node *n);

/* Stores the defaults of `t`'s fields, then the values `v` gives, into the
 * object at `obj`; a scalar `v` for a type with fields goes to
 * `shorthand`. 0 or UV_ENOMEM. */
int scenario__fill(const scenario__type_t *t, struct fy_node *v, void *obj,
                   const scenario__dest_t *shorthand);

/* Builds the steps of a list (in a trigger's `do` when in_do). */
int scenario__build_steps(scenario__build_t *b, struct fy_node *seq,
                          const char *path, bool in_do,
                          scenario_step_t **out, size_t *n_out);
int scenario__build_step(scenario__build_t *b, struct fy_node *n,
                         const char *path, bool in_do, scenario_step_t *st);
int scenario__build_expect(scenario__build_t *b, struct fy_node *n);
/* Reports worker ids that no fork of the scenario can produce. */
void scenario__check_ids(scenario__build_t *b);
/* Fills the JSON members of `t`'s fields into `obj` from the mapping `n`:
 * keys present replace those in obj; with `defaults`, absent keys with a
 * default get it. 0 or UV_ENOMEM. */
int scenario__json_fill(const scenario__type_t *t, struct fy_node *n,
                        cJSON *obj, bool defaults);

/* A behaviour's servers as the agents take them: a UNIX socket without
 * the default host and port, udp6 on ::1 by default (scenario.c). */
void scenario__servers_fix(cJSON *behaviour);

#endif /* SCENARIO_INTERNAL_H */
