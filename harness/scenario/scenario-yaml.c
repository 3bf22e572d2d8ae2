/*
 * libfyaml nodes for the scenario loader: positions (libfyaml 0.7.12 marks
 * are 0-based, messages 1-based), scalars as the YAML 1.2 core schema reads
 * them, YAML to cJSON, and the error sink of a file.
 */
#include "scenario-internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void scenario__errs_add(scenario__errs_t *e, scenario__loc_t loc,
                        const char *path, const char *fmt, ...)
{
  va_list ap;
  char *msg;

  /* Past this many errors the rest is noise from the first ones. */
  e->errors++;
  if (e->errors > 20)
    return;
  va_start(ap, fmt);
  msg = base_vasprintf(fmt, ap);
  va_end(ap);
  if (msg == NULL)
    return;
  if (path != NULL && path[0] != '\0')
    base_diag_addf(e->diag, "%s:%u:%u: error: %s (at %s)", e->file,
                      loc.line, loc.column, msg, path);
  else
    base_diag_addf(e->diag, "%s:%u:%u: error: %s", e->file, loc.line,
                      loc.column, msg);
  free(msg);
}

scenario__loc_t scenario__node_loc(struct fy_node *n, scenario__loc_t fallback)
{
  scenario__loc_t loc = fallback;
  struct fy_token *t;
  const struct fy_mark *m;
  void *it = NULL;

  if (n == NULL)
    return fallback;
  switch (fy_node_get_type(n)) {
  case FYNT_SCALAR:
    t = fy_node_get_scalar_token(n);
    m = t ? fy_token_start_mark(t) : NULL;
    if (m != NULL) {
      /* libfyaml 0.7.12 marks are 0-based; messages are 1-based */
      loc.line = (unsigned)m->line + 1;
      loc.column = (unsigned)m->column + 1;
    }
    return loc;
  case FYNT_SEQUENCE: {
    struct fy_node *first = fy_node_sequence_iterate(n, &it);
    return first ? scenario__node_loc(first, fallback) : fallback;
  }
  case FYNT_MAPPING: {
    struct fy_node_pair *p = fy_node_mapping_iterate(n, &it);
    return p ? scenario__node_loc(fy_node_pair_key(p), fallback) : fallback;
  }
  }
  return fallback;
}

const char *scenario__node_str(struct fy_node *n)
{
  /* A ring of buffers: a message may quote a few scalars at once. */
  static char ring[8][SCENARIO__MAX_SCALAR + 1];
  static unsigned next;
  char *buf = ring[next++ % 8];
  const char *s;
  size_t len = 0;

  buf[0] = '\0';
  if (n == NULL || fy_node_get_type(n) != FYNT_SCALAR)
    return buf;
  s = fy_node_get_scalar(n, &len);
  if (s == NULL)
    return buf;
  /* never true of a loaded file: the loader refuses longer scalars */
  if (len > SCENARIO__MAX_SCALAR)
    len = SCENARIO__MAX_SCALAR;
  memcpy(buf, s, len);
  buf[len] = '\0';
  return buf;
}

bool scenario__node_is_quoted(struct fy_node *n)
{
  enum fy_node_style st;

  if (n == NULL || fy_node_get_type(n) != FYNT_SCALAR)
    return false;
  st = fy_node_get_style(n);
  return st == FYNS_SINGLE_QUOTED || st == FYNS_DOUBLE_QUOTED ||
         st == FYNS_LITERAL || st == FYNS_FOLDED;
}

bool scenario__node_is_nullish(struct fy_node *n)
{
  const char *s;

  if (n == NULL)
    return true;
  if (fy_node_get_type(n) != FYNT_SCALAR || scenario__node_is_quoted(n))
    return false;
  s = scenario__node_str(n);
  return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
         strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

struct fy_node *scenario__node_get(struct fy_node *map, const char *key)
{
  void *it = NULL;
  struct fy_node_pair *p;

  if (map == NULL || fy_node_get_type(map) != FYNT_MAPPING)
    return NULL;
  while ((p = fy_node_mapping_iterate(map, &it)) != NULL) {
    struct fy_node *k = fy_node_pair_key(p);
    if (k != NULL && fy_node_get_type(k) == FYNT_SCALAR &&
        strcmp(scenario__node_str(k), key) == 0)
      return fy_node_pair_value(p);
  }
  return NULL;
}

/* Plain scalars in the YAML 1.2 core schema sense. */
bool scenario__parse_int(const char *s, int64_t *out)
{
  char *end;
  long long v;

  if (s[0] == '\0' || isspace((unsigned char)s[0]))
    return false;
  errno = 0;
  v = strtoll(s, &end, 10);
  if (errno != 0 || *end != '\0')
    return false;
  *out = v;
  return true;
}

static bool parse_number(const char *s, double *out)
{
  char *end;

  if (s[0] == '\0' || isspace((unsigned char)s[0]) || s[0] == '.')
    return false;
  errno = 0;
  *out = strtod(s, &end);
  return errno == 0 && *end == '\0' &&
         strspn(s, "0123456789+-.eE") == strlen(s);
}

int scenario__parse_bool(const char *s)
{
  if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 ||
      strcmp(s, "TRUE") == 0)
    return 1;
  if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 ||
      strcmp(s, "FALSE") == 0)
    return 0;
  return -1;
}

/* The scalar as written (not cut like scenario__node_str). */
static cJSON *raw_string(struct fy_node *n)
{
  size_t len = 0;
  const char *raw = fy_node_get_scalar(n, &len);
  char *copy = strndup(raw ? raw : "", raw ? len : 0);
  cJSON *j;

  if (copy == NULL)
    return NULL;
  j = cJSON_CreateString(copy);
  free(copy);
  return j;
}

/* A quoted scalar is a string; a plain one what the core schema reads. */
static cJSON *scalar_to_json(struct fy_node *n)
{
  const char *s = scenario__node_str(n);
  int64_t iv;
  double dv;
  int b;

  if (scenario__node_is_quoted(n))
    return raw_string(n);
  if (scenario__node_is_nullish(n))
    return cJSON_CreateNull();
  if ((b = scenario__parse_bool(s)) >= 0)
    return cJSON_CreateBool(b);
  if (scenario__parse_int(s, &iv))
    return cJSON_CreateNumber((double)iv);
  if (parse_number(s, &dv))
    return cJSON_CreateNumber(dv);
  return raw_string(n);
}

/* A sequence or a mapping, item by item; NULL on allocation failure. */
static cJSON *collection_to_json(struct fy_node *n, bool map)
{
  cJSON *j = map ? cJSON_CreateObject() : cJSON_CreateArray();
  struct fy_node_pair *p;
  struct fy_node *item;
  void *it = NULL;
  cJSON *c;

  while (j != NULL) {
    if (map) {
      if ((p = fy_node_mapping_iterate(n, &it)) == NULL)
        break;
      c = scenario__node_to_json(fy_node_pair_value(p));
      if (c != NULL)
        cJSON_AddItemToObject(j, scenario__node_str(fy_node_pair_key(p)), c);
    } else {
      if ((item = fy_node_sequence_iterate(n, &it)) == NULL)
        break;
      if ((c = scenario__node_to_json(item)) != NULL)
        cJSON_AddItemToArray(j, c);
    }
    if (c == NULL) {
      cJSON_Delete(j);
      return NULL;
    }
  }
  return j;
}

cJSON *scenario__node_to_json(struct fy_node *n)
{
  if (n == NULL)
    return cJSON_CreateNull();
  switch (fy_node_get_type(n)) {
  case FYNT_SCALAR:
    return scalar_to_json(n);
  case FYNT_SEQUENCE:
    return collection_to_json(n, false);
  case FYNT_MAPPING:
    return collection_to_json(n, true);
  }
  return NULL;
}
