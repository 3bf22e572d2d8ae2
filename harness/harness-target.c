/*
 * Targets: what `--target` names, turned into the primary agent's command
 * line. Nothing here knows what language the agent is written in.
 */
#include "harness-priv.h"

#include <stdlib.h>
#include <string.h>

static const char *const kind_names[] = {"builtin", "node", "exec"};

const char *harness_target_kind_name(harness_target_kind_t kind)
{
  if ((int)kind < 0 || kind > HARNESS_TARGET_EXEC)
    return "?";
  return kind_names[kind];
}

static char **argv_of(const char *a, const char *b, const char *c)
{
  char **v = calloc(4, sizeof(char *));

  if (v == NULL)
    return NULL;
  v[0] = strdup(a);
  v[1] = b ? strdup(b) : NULL;
  v[2] = b && c ? strdup(c) : NULL;
  if (v[0] == NULL || (b && v[1] == NULL) || (b && c && v[2] == NULL)) {
    free(v[0]);
    free(v[1]);
    free(v[2]);
    free(v);
    return NULL;
  }
  return v;
}

int harness_target_parse(const char *spec, const char *self,
                         const char *runtime, const char *source_dir,
                         harness_target_t *out, harness_diag_t *diag)
{
  memset(out, 0, sizeof(*out));
  if (spec == NULL)
    return UV_EINVAL;
  if (strcmp(spec, "builtin") == 0) {
    out->kind = HARNESS_TARGET_BUILTIN;
    out->argv = argv_of(self ? self : "clustersim", "primary", NULL);
  } else if (strcmp(spec, "node") == 0 || strncmp(spec, "node:", 5) == 0) {
    char *script = harness_asprintf("%s/agents/node/primary.js",
                                    source_dir ? source_dir : ".");
    const char *bin = spec[4] == ':' && spec[5] != '\0' ? spec + 5
                      : runtime ? runtime : "node";
    out->kind = HARNESS_TARGET_NODE;
    if (script == NULL)
      return UV_ENOMEM;
    out->argv = argv_of(bin, script, NULL);
    free(script);
  } else if (strncmp(spec, "exec:", 5) == 0) {
    if (spec[5] == '\0') {
      harness_diag_addf(diag, "--target exec: needs a command, as in "
                        "exec:'python3 agent.py'");
      return UV_EINVAL;
    }
    out->kind = HARNESS_TARGET_EXEC;
    out->argv = argv_of("/bin/sh", "-c", spec + 5);
  } else {
    const char *const kinds[] = {"builtin", "node", "exec:", NULL};
    const char *hint = harness_suggest(spec, kinds);
    if (hint != NULL)
      harness_diag_addf(diag, "unknown target '%s' (did you mean '%s'?)",
                        spec, hint);
    else
      harness_diag_addf(diag, "unknown target '%s' (expected builtin, node, "
                        "node:PATH or exec:CMD)", spec);
    return UV_EINVAL;
  }
  out->spec = strdup(spec);
  if (out->argv == NULL || out->spec == NULL) {
    harness_target_free(out);
    return UV_ENOMEM;
  }
  return 0;
}

void harness_target_free(harness_target_t *t)
{
  size_t i;

  if (t == NULL)
    return;
  for (i = 0; t->argv != NULL && t->argv[i] != NULL; i++)
    free(t->argv[i]);
  free(t->argv);
  free(t->spec);
  memset(t, 0, sizeof(*t));
}
