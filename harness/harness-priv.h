/*
 * harness-priv.h - declarations shared by the files of the harness module.
 * Not installed, not for other modules: harness.h is the public header.
 */
#ifndef HARNESS_PRIV_H
#define HARNESS_PRIV_H

#include "harness.h"

#include <libfyaml.h>
#include <stdarg.h>

char *harness_vasprintf(const char *fmt, va_list ap);
char *harness_asprintf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
char *harness_strdup(const char *s);

const char *const *harness_ev_names(void);
const char *const *harness_signal_names(void);

/* ---------------------------------------------------------------------- */
/* Scenario schema (harness-schema.c) and YAML nodes (harness-yaml.c)      */

typedef struct {
  unsigned line, column;   /* 1-based; 0: unknown */
} harness_loc_t;

/* Error sink of one scenario file: formats "file:line:col: error: msg (at
 * path)" and counts the errors. */
typedef struct {
  const char *file;
  harness_diag_t *diag;
  unsigned errors;
} harness_errs_t;

void harness_errs_add(harness_errs_t *e, harness_loc_t loc, const char *path,
                      const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Where a node starts: a scalar's own token; a collection's first scalar
 * (libfyaml 0.7.12 keeps no marks for collections); else `fallback`. */
harness_loc_t harness_node_loc(struct fy_node *n, harness_loc_t fallback);

/* Validates the whole document against the scenario schema. Returns the
 * number of errors added. */
unsigned harness_schema_check(struct fy_node *root, harness_errs_t *errs);

/* The step keys, for suggestions and messages. */
const char *const *harness_step_names(void);

/* Scalar helpers on validated nodes. */
const char *harness_node_str(struct fy_node *n);   /* NUL-terminated copy
                                                      kept in a static ring */
bool harness_node_is_quoted(struct fy_node *n);
bool harness_node_is_nullish(struct fy_node *n);
struct fy_node *harness_node_get(struct fy_node *map, const char *key);
/* YAML -> cJSON (plain scalars become numbers/booleans/null). NULL on
 * allocation failure. */
cJSON *harness_node_to_json(struct fy_node *n);
/* A plain scalar as a YAML 1.2 core-schema integer / boolean (-1: not
 * a boolean). */
bool harness_parse_int(const char *s, int64_t *out);
int harness_parse_bool(const char *s);

/* ---------------------------------------------------------------------- */
/* Trace helpers (harness-trace.c)                                         */

/* Adds a record built from a printf-style JSON object text. */
int harness_trace_addf(harness_trace_t *tr, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Whether `e` counts as the event `ev` (its canonical emitter: `cluster`
 * for setup/fork/disconnect-callback, the Worker object otherwise), or its
 * cluster twin when `cluster` is set. */
bool harness_event_is(const harness_event_t *e, harness_ev_t ev, bool cluster);
/* "listening at 1.203 s (event #57)" */
void harness_event_describe(const harness_trace_t *tr,
                            const harness_event_t *e, char *buf, size_t len);

/* ---------------------------------------------------------------------- */
/* The per-run supervisor (harness-super.c)                                */

typedef struct harness_super_s harness_super_t;

typedef struct {
  /* a process of the run was reaped: status as from waitpid() */
  void (*reaped)(harness_super_t *s, int pid, int status, void *arg);
  /* the supervisor has exited: every process of the run is gone. `killed`
   * counts the processes it had to SIGKILL at the end (leftovers). */
  void (*done)(harness_super_t *s, unsigned killed, int failed, void *arg);
} harness_super_cbs_t;

/* Forks the supervisor, which forks the agent (argv, extra environment
 * `env` of "K=V" strings) in its own process group with the supervisor as
 * subreaper. The agent's stdout and stderr go to *log_fd (the read end,
 * owned by the caller). */
int harness_super_start(uv_loop_t *loop, char *const *argv, char *const *env,
                        const harness_super_cbs_t *cbs, void *arg,
                        harness_super_t **out, int *agent_pid, int *log_fd);
/* Lets the run's processes end by themselves for up to grace_ms, then
 * SIGKILLs what is left; `done` follows. */
void harness_super_drain(harness_super_t *s, unsigned grace_ms);
/* SIGKILLs every process of the run now; `done` follows. */
void harness_super_kill(harness_super_t *s);
/* Frees the supervisor object after `done`. */
void harness_super_free(harness_super_t *s);

/* ---------------------------------------------------------------------- */
/* Command line (harness-cli.c) and running a selection (harness-suite.c)  */

typedef enum {
  HARNESS_CMD_RUN = 0,
  HARNESS_CMD_CHECK,
  HARNESS_CMD_LIST,
  HARNESS_CMD_DIFF
} harness_cmd_t;

typedef struct {
  harness_cmd_t command;
  char **paths;
  size_t n_paths;
  char **filters;
  size_t n_filters;
  char **tags;
  size_t n_tags;
  char **targets;
  size_t n_targets;
  unsigned shard_i, shard_n;
  unsigned jobs;
  unsigned repeat;
  uint64_t seed;
  bool seed_set;
  double time_scale;
  const char *runtime;
  const char *trace_dir;
  const char *trace_file;
  const char *junit;
  bool junit_strict;
  const char *html;
  bool tap;
  bool quiet;
  bool diff;                        /* compare the targets' projections */
  char *self;                       /* the clustersim binary */
  char *command_line;               /* for the reports */
  harness_scenario_t **scenarios;   /* the selection, sorted by file */
  size_t n_scenarios;
  unsigned invalid;                 /* files that failed to load */
  char **bad_files;                 /* scenario files that are invalid */
  char **bad_details;               /* their error lines */
  size_t n_bad;
} harness_cli_t;

/* `run` over cli->scenarios; returns an exit code. */
int harness_cli_run(harness_cli_t *cli);
/* `check --trace FILE`: oracle + expectations of the one selected
 * scenario on a recorded trace; returns an exit code. */
int harness_cli_check_trace(harness_cli_t *cli);
/* `diff A.jsonl B.jsonl`: the first difference per worker of two recorded
 * traces; returns an exit code (0 the same, 1 different, 3 unreadable). */
int harness_cli_diff_traces(const char *a, const char *b, bool quiet);

#endif /* HARNESS_PRIV_H */
