/*
 * scenario-internal.h - shared by the files of harness/scenario/ only:
 * YAML node helpers, the error sink of a file and the schema walk.
 */
#ifndef SCENARIO_INTERNAL_H
#define SCENARIO_INTERNAL_H

#include <libfyaml.h>

#include "scenario.h"

/* ---------------------------------------------------------------------- */
/* Scenario schema (scenario-schema.c) and YAML nodes (scenario-yaml.c)      */

typedef struct {
  unsigned line, column;   /* 1-based; 0: unknown */
} scenario__loc_t;

/* Error sink of one scenario file: formats "file:line:col: error: msg (at
 * path)" and counts the errors. */
typedef struct {
  const char *file;
  base_diag_t *diag;
  unsigned errors;
} scenario__errs_t;

void scenario__errs_add(scenario__errs_t *e, scenario__loc_t loc, const char *path,
                      const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Where a node starts: a scalar's own token; a collection's first scalar
 * (libfyaml 0.7.12 keeps no marks for collections); else `fallback`. */
scenario__loc_t scenario__node_loc(struct fy_node *n, scenario__loc_t fallback);

/* Validates the whole document against the scenario schema. Returns the
 * number of errors added. */
unsigned scenario__schema_check(struct fy_node *root, scenario__errs_t *errs);

/* The step keys, for suggestions and messages. */
const char *const *scenario_step_names(void);

/* Scalar helpers on validated nodes. */
const char *scenario__node_str(struct fy_node *n);   /* NUL-terminated copy
                                                      kept in a static ring */
bool scenario__node_is_quoted(struct fy_node *n);
bool scenario__node_is_nullish(struct fy_node *n);
struct fy_node *scenario__node_get(struct fy_node *map, const char *key);
/* YAML -> cJSON (plain scalars become numbers/booleans/null). NULL on
 * allocation failure. */
cJSON *scenario__node_to_json(struct fy_node *n);
/* A plain scalar as a YAML 1.2 core-schema integer / boolean (-1: not
 * a boolean). */
bool scenario__parse_int(const char *s, int64_t *out);
int scenario__parse_bool(const char *s);


#endif /* SCENARIO_INTERNAL_H */
