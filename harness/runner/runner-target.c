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

static bool has_prefix(const char *spec, const char *word)
{
  size_t n = strlen(word);

  return strncmp(spec, word, n) == 0 && (spec[n] == '\0' || spec[n] == ':');
}

int runner_target_parse(const char *spec, const char *self,
                         const char *runtime, const char *source_dir,
                         runner_target_t *out, base_diag_t *diag)
{
  const char *src = source_dir ? source_dir : ".";
  const char *me = self ? self : "clustersim";
  char *a = NULL, *b = NULL;
  int rc = 0;

  memset(out, 0, sizeof(*out));
  if (spec == NULL)
    return UV_EINVAL;
  if (strcmp(spec, "builtin") == 0) {
    out->kind = RUNNER_TARGET_BUILTIN;
    out->argv = strv_of(me, "primary", NULL);
  } else if (has_prefix(spec, "node")) {
    a = base_asprintf("%s/agents/node/primary.js", src);
    out->kind = RUNNER_TARGET_NODE;
    if (a != NULL)
      out->argv = strv_of(runtime_of(spec, 4, runtime), a, NULL);
  } else if (has_prefix(spec, "node-c")) {
    /* cluster.fork() spawns process.execPath: the preload points it at
     * clustersim, and the setup's exec "worker" makes every fork
     * `clustersim worker ...` */
    a = base_asprintf("%s/agents/node/primary.js", src);
    b = base_asprintf("%s/agents/node/node-c-preload.js", src);
    out->kind = RUNNER_TARGET_NODE_C;
    if (a != NULL && b != NULL) {
      char *env = base_asprintf("CLUSTERSIM_WORKER_EXEC_PATH=%s", me);
      out->argv = strv_of(runtime_of(spec, 6, runtime), "--require", b, a,
                          NULL);
      out->env = env ? strv_of(env, NULL) : NULL;
      free(env);
      out->worker_exec = strdup("worker");
      out->worker_args = strv_of(NULL);
      if (out->env == NULL || out->worker_exec == NULL ||
          out->worker_args == NULL)
        rc = UV_ENOMEM;
    }
  } else if (has_prefix(spec, "c-node")) {
    a = base_asprintf("%s/agents/node/worker.js", src);
    out->kind = RUNNER_TARGET_C_NODE;
    out->argv = strv_of(me, "primary", NULL);
    if (a != NULL) {
      out->worker_exec = strdup(runtime_of(spec, 6, runtime));
      out->worker_args = strv_of(a, NULL);
      if (out->worker_exec == NULL || out->worker_args == NULL)
        rc = UV_ENOMEM;
    }
  } else if (strncmp(spec, "exec:", 5) == 0) {
    if (spec[5] == '\0') {
      base_diag_addf(diag, "--target exec: needs a command, as in "
                        "exec:'python3 agent.py'");
      return UV_EINVAL;
    }
    out->kind = RUNNER_TARGET_EXEC;
    out->argv = strv_of("/bin/sh", "-c", spec + 5, NULL);
  } else {
    const char *const kinds[] = {"builtin", "node", "node-c", "c-node",
                                 "exec:", NULL};
    const char *hint = base_suggest(spec, kinds);
    if (hint != NULL)
      base_diag_addf(diag, "unknown target '%s' (did you mean '%s'?)",
                        spec, hint);
    else
      base_diag_addf(diag, "unknown target '%s' (expected builtin, node, "
                        "node:PATH, node-c, c-node or exec:CMD)", spec);
    return UV_EINVAL;
  }
  out->spec = strdup(spec);
  if (rc == 0 && (out->argv == NULL || out->spec == NULL))
    rc = UV_ENOMEM;
  free(a);
  free(b);
  if (rc != 0)
    runner_target_free(out);
  return rc;
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
