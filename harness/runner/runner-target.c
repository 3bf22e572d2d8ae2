/*
 * Targets: what `--target` names, turned into the primary agent's command
 * line, the environment it adds and, for the mixed targets, the worker
 * program its setup names. Nothing here knows what language an agent is
 * written in.
 */
#include "runner-internal.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[RUNNER_TARGET_KIND_COUNT + 1] = {
  [RUNNER_TARGET_BUILTIN] = "builtin",
  [RUNNER_TARGET_NODE] = "node",
  [RUNNER_TARGET_EXEC] = "exec",
  [RUNNER_TARGET_NODE_C] = "node-c",
  [RUNNER_TARGET_C_NODE] = "c-node",
};

const char *runner_target_kind_name(runner_target_kind_t kind)
{
  if ((int)kind < 0 || kind >= RUNNER_TARGET_KIND_COUNT)
    return "?";
  return kind_names[kind];
}

int runner_target_kind_from_name(const char *name)
{
  int i;

  for (i = 0; name != NULL && i < RUNNER_TARGET_KIND_COUNT; i++)
    if (strcmp(kind_names[i], name) == 0)
      return i;
  return -1;
}

static void strv_free(char **v)
{
  size_t i;

  for (i = 0; v != NULL && v[i] != NULL; i++)
    free(v[i]);
  free(v);
}

/* A NULL-terminated copy of the given strings (the list ends at NULL);
 * NULL when memory runs out. */
static char **strv_of(const char *first, ...)
{
  va_list ap;
  const char *s;
  char **v = calloc(8, sizeof(char *));
  size_t n = 0;

  if (v == NULL)
    return NULL;
  va_start(ap, first);
  for (s = first; s != NULL && n < 7; s = va_arg(ap, const char *)) {
    v[n] = strdup(s);
    if (v[n++] == NULL) {
      va_end(ap);
      strv_free(v);
      return NULL;
    }
  }
  va_end(ap);
  return v;
}

/* "node", "node:PATH", "node-c:PATH"... -> the runtime it names, or the
 * --runtime one, or "node" from PATH. */
static const char *runtime_of(const char *spec, size_t prefix,
                              const char *runtime)
{
  if (spec[prefix] == ':' && spec[prefix + 1] != '\0')
    return spec + prefix + 1;
  return runtime != NULL ? runtime : "node";
}

/* What every target is built from. */
typedef struct {
  const char *spec;
  size_t word;             /* length of the kind's word in spec */
  const char *self;        /* the clustersim executable */
  const char *runtime;     /* --runtime, or NULL */
  const char *src;         /* holds agents/node/ */
  base_diag_t *diag;
} target_in_t;

static int build_builtin(const target_in_t *in, runner_target_t *out)
{
  out->argv = strv_of(in->self, "primary", NULL);
  return 0;
}

static int build_node(const target_in_t *in, runner_target_t *out)
{
  char *a = base_asprintf("%s/agents/node/primary.cjs", in->src);

  if (a != NULL)
    out->argv = strv_of(runtime_of(in->spec, in->word, in->runtime), a, NULL);
  free(a);
  return 0;
}

/* cluster.fork() spawns process.execPath: the preload points it at
 * clustersim, and the setup's exec "worker" makes every fork
 * `clustersim worker ...` */
static int build_node_c(const target_in_t *in, runner_target_t *out)
{
  char *a = base_asprintf("%s/agents/node/primary.cjs", in->src);
  char *b = base_asprintf("%s/agents/node/node-c-preload.cjs", in->src);
  char *env = base_asprintf("CLUSTERSIM_WORKER_EXEC_PATH=%s", in->self);
  int rc = UV_ENOMEM;

  if (a != NULL && b != NULL && env != NULL) {
    out->argv = strv_of(runtime_of(in->spec, in->word, in->runtime),
                        "--require", b, a, NULL);
    out->env = strv_of(env, NULL);
    out->worker_exec = strdup("worker");
    /* the scenario's args follow `worker` as they follow worker.cjs */
    out->worker_args = strv_of(NULL);
    if (out->env != NULL && out->worker_exec != NULL &&
        out->worker_args != NULL)
      rc = 0;
  }
  free(a);
  free(b);
  free(env);
  return rc;
}

static int build_c_node(const target_in_t *in, runner_target_t *out)
{
  char *a = base_asprintf("%s/agents/node/worker.cjs", in->src);
  int rc = UV_ENOMEM;

  out->argv = strv_of(in->self, "primary", NULL);
  if (a != NULL) {
    out->worker_exec = strdup(runtime_of(in->spec, in->word, in->runtime));
    out->worker_args = strv_of(a, NULL);
    if (out->worker_exec != NULL && out->worker_args != NULL)
      rc = 0;
  }
  free(a);
  return rc;
}

static int build_exec(const target_in_t *in, runner_target_t *out)
{
  if (in->spec[in->word] == '\0') {
    base_diag_addf(in->diag, "--target exec: needs a command, as in "
                             "exec:'python3 agent.py'");
    return UV_EINVAL;
  }
  out->argv = strv_of("/bin/sh", "-c", in->spec + in->word, NULL);
  return 0;
}

/* The --target vocabulary. `word` is how a value starts; `arg` says what
 * may follow it: nothing, an optional ":PATH", or (a word ending in ':')
 * the rest of the value. */
typedef enum { ARG_NONE, ARG_PATH, ARG_REST } target_arg_t;

static const struct {
  const char *word;
  target_arg_t arg;
  runner_target_kind_t kind;
  int (*build)(const target_in_t *in, runner_target_t *out);
} targets[] = {
  {"builtin", ARG_NONE, RUNNER_TARGET_BUILTIN, build_builtin},
  {"node", ARG_PATH, RUNNER_TARGET_NODE, build_node},
  {"node-c", ARG_PATH, RUNNER_TARGET_NODE_C, build_node_c},
  {"c-node", ARG_PATH, RUNNER_TARGET_C_NODE, build_c_node},
  {"exec:", ARG_REST, RUNNER_TARGET_EXEC, build_exec},
};
#define N_TARGETS (sizeof(targets) / sizeof(targets[0]))

static bool target_matches(const char *spec, size_t i)
{
  size_t n = strlen(targets[i].word);

  if (strncmp(spec, targets[i].word, n) != 0)
    return false;
  switch (targets[i].arg) {
  case ARG_NONE:
    return spec[n] == '\0';
  case ARG_PATH:
    return spec[n] == '\0' || spec[n] == ':';
  default:
    return true;
  }
}

static void unknown_target(const char *spec, base_diag_t *diag)
{
  const char *words[N_TARGETS + 1];
  const char *hint;
  size_t i;

  for (i = 0; i < N_TARGETS; i++)
    words[i] = targets[i].word;
  words[N_TARGETS] = NULL;
  hint = base_suggest(spec, words);
  if (hint != NULL)
    base_diag_addf(diag, "unknown target '%s' (did you mean '%s'?)", spec,
                   hint);
  else
    base_diag_addf(diag, "unknown target '%s' (expected builtin, node, "
                         "node:PATH, node-c, c-node or exec:CMD)", spec);
}

int runner_target_parse(const char *spec, const char *self,
                         const char *runtime, const char *source_dir,
                         runner_target_t *out, base_diag_t *diag)
{
  target_in_t in = {spec, 0, self ? self : "clustersim", runtime,
                    source_dir ? source_dir : ".", diag};
  size_t i;
  int rc;

  memset(out, 0, sizeof(*out));
  if (spec == NULL)
    return UV_EINVAL;
  for (i = 0; i < N_TARGETS && !target_matches(spec, i); i++)
    ;
  if (i == N_TARGETS) {
    unknown_target(spec, diag);
    return UV_EINVAL;
  }
  in.word = strlen(targets[i].word);
  out->kind = targets[i].kind;
  rc = targets[i].build(&in, out);
  if (rc == UV_EINVAL)
    return rc;
  out->spec = strdup(spec);
  if (rc == 0 && (out->argv == NULL || out->spec == NULL))
    rc = UV_ENOMEM;
  if (rc != 0)
    runner_target_free(out);
  return rc;
}

/* `v` with `n` copies of `args` inserted at `at`; v is freed (also when
 * memory runs out: then NULL). */
static char **strv_insert(char **v, size_t at, const char *const *args,
                          size_t n)
{
  size_t len = 0, i;
  char **w;

  while (v[len] != NULL)
    len++;
  w = calloc(len + n + 1, sizeof(char *));
  for (i = 0; w != NULL && i < n; i++)
    if ((w[at + i] = strdup(args[i])) == NULL) {
      strv_free(w);
      w = NULL;
    }
  if (w == NULL) {
    strv_free(v);
    return NULL;
  }
  memcpy(w, v, at * sizeof(char *));
  memcpy(w + at + n, v + at, (len - at) * sizeof(char *));
  free(v);
  return w;
}

int runner_target_runtime_args(runner_target_t *t, const char *const *args,
                               size_t n)
{
  if (n == 0)
    return 0;
  switch (t->kind) {
  case RUNNER_TARGET_NODE:
  case RUNNER_TARGET_NODE_C:
    t->argv = strv_insert(t->argv, 1, args, n);
    return t->argv != NULL ? 0 : UV_ENOMEM;
  case RUNNER_TARGET_C_NODE:
    t->worker_args = strv_insert(t->worker_args, 0, args, n);
    return t->worker_args != NULL ? 0 : UV_ENOMEM;
  default:
    return UV_EINVAL;
  }
}

void runner_target_free(runner_target_t *t)
{
  if (t == NULL)
    return;
  strv_free(t->argv);
  strv_free(t->env);
  strv_free(t->worker_args);
  free(t->worker_exec);
  free(t->spec);
  memset(t, 0, sizeof(*t));
}

static const scenario_target_note_t *note_of(const scenario_t *s,
                                            const runner_target_t *t)
{
  const char *kind = runner_target_kind_name(t->kind);
  size_t i;

  for (i = 0; i < s->n_target_notes; i++)
    if (strcmp(s->target_notes[i].kind, kind) == 0)
      return &s->target_notes[i];
  return NULL;
}

const char *runner_target_skip_reason(const scenario_t *s,
                                       const runner_target_t *t)
{
  const scenario_target_note_t *n = note_of(s, t);

  if (s->skip != NULL)
    return s->skip;
  if (n != NULL && n->skip)
    return n->reason;
  /* a mixed target is a worker program of another runtime: a scenario
   * that runs a program of its own leaves nothing to mix */
  if (t->worker_exec != NULL &&
      cJSON_GetObjectItemCaseSensitive(s->settings, "exec") != NULL)
    return "the scenario runs its own worker program (cluster.exec): a "
           "mixed target does not apply";
  return NULL;
}

const scenario_target_note_t *
runner_target_divergence(const scenario_t *s,
                          const runner_target_t *t)
{
  const scenario_target_note_t *n = note_of(s, t);

  return n != NULL && !n->skip ? n : NULL;
}
