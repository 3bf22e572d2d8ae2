/*
 * The oracle of a scenario the loader accepted: the file, read again by
 * other means, and the model agree on every key.
 */
#include "hostile.h"

#include <libfyaml.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  const scenario_t *s;
  char *why;
  size_t why_len;
} rt_t;

static int differ(rt_t *rt, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int differ(rt_t *rt, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(rt->why, rt->why_len, fmt, ap);
  va_end(ap);
  return -1;
}

/* The code point of the UTF-8 sequence at s[0..n), decoded the long way
 * round (its length in *w); -1 when it is not one. */
static long decode(const unsigned char *s, size_t n, size_t *w)
{
  unsigned c = s[0], min;
  long cp;
  size_t k;

  *w = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
       : (c & 0xf8) == 0xf0 ? 4 : c < 0x80 ? 1 : 0;
  if (*w == 0 || *w > n)
    return -1;
  if (*w == 1)
    return c;
  cp = c & (0xffu >> (*w + 1));
  for (k = 1; k < *w; k++) {
    if ((s[k] & 0xc0) != 0x80)
      return -1;
    cp = (cp << 6) | (s[k] & 0x3f);
  }
  min = *w == 2 ? 0x80 : *w == 3 ? 0x800 : 0x10000;
  return cp < (long)min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)
             ? -1 : cp;
}

/* Printable UTF-8 to the last byte (YAML's c-printable). */
static bool printable_utf8(const unsigned char *s, size_t len)
{
  size_t i = 0, w;

  while (i < len) {
    long cp = decode(s + i, len - i, &w);
    if (cp < 0 ||
        (cp < 0x20 && cp != 9 && cp != 10 && cp != 13) ||
        (cp >= 0x7f && cp <= 0x9f && cp != 0x85) || cp == 0xfffe ||
        cp == 0xffff)
      return false;
    i += w;
  }
  return true;
}

/* A scalar's whole text ("" for anything else), in a buffer of its own. */
static char *text_of(struct fy_node *n)
{
  size_t len = 0;
  const char *t = NULL;

  if (n != NULL && fy_node_get_type(n) == FYNT_SCALAR)
    t = fy_node_get_scalar(n, &len);
  return strndup(t ? t : "", t ? len : 0);
}

static bool same_text(struct fy_node *n, const char *model)
{
  char *t = text_of(n);
  bool same = t != NULL && model != NULL && strcmp(t, model) == 0;

  free(t);
  return same;
}

static int count_of(struct fy_node *n)
{
  if (n == NULL)
    return 0;
  if (fy_node_get_type(n) == FYNT_SEQUENCE)
    return fy_node_sequence_item_count(n);
  if (fy_node_get_type(n) == FYNT_MAPPING)
    return fy_node_mapping_item_count(n);
  return 1;
}

/* A trigger's `do`: a sequence of actions, or one action as a mapping
 * (its kind with modifiers such as `name`). */
static int actions_of(struct fy_node *n)
{
  if (n != NULL && fy_node_get_type(n) == FYNT_SEQUENCE)
    return fy_node_sequence_item_count(n);
  return n != NULL;
}

static unsigned line_of(struct fy_node *n)
{
  struct fy_token *t;
  const struct fy_mark *m;
  void *it = NULL;

  while (n != NULL && fy_node_get_type(n) != FYNT_SCALAR) {
    if (fy_node_get_type(n) == FYNT_SEQUENCE) {
      n = fy_node_sequence_iterate(n, &it);
    } else {
      struct fy_node_pair *p = fy_node_mapping_iterate(n, &it);
      n = p ? fy_node_pair_key(p) : NULL;
    }
    it = NULL;
  }
  t = n ? fy_node_get_scalar_token(n) : NULL;
  m = t ? fy_token_start_mark(t) : NULL;
  return m ? (unsigned)m->line + 1 : 0;
}

/* A step of the file against the model's: its kind is one of its keys,
 * it starts on the same line, a trigger has as many actions. */
static int check_step(rt_t *rt, struct fy_node *item,
                      const scenario_step_t *st, const char *where)
{
  const char *kind = scenario_step_name(st->kind);

  if (fy_node_get_type(item) != FYNT_MAPPING ||
      fy_node_mapping_lookup_by_string(item, kind, FY_NT) == NULL)
    return differ(rt, "%s: the model's step is '%s', not in the file",
                  where, kind);
  if (line_of(item) != st->line)
    return differ(rt, "%s: line %u in the file, %u in the model", where,
                  line_of(item), st->line);
  if (st->kind == SCENARIO_STEP_TRIGGER &&
      actions_of(fy_node_mapping_lookup_by_string(item, "do", FY_NT)) !=
          (int)st->n_actions)
    return differ(rt, "%s: the trigger's actions are not all in the model",
                  where);
  return 0;
}

static int check_steps(rt_t *rt, struct fy_node *v)
{
  const scenario_t *s = rt->s;
  struct fy_node *item;
  void *it = NULL;
  size_t i = 0;
  char where[64];

  if (count_of(v) != (int)s->n_steps)
    return differ(rt, "%d steps in the file, %zu in the model", count_of(v),
                  s->n_steps);
  while ((item = fy_node_sequence_iterate(v, &it)) != NULL) {
    snprintf(where, sizeof(where), "/steps/%zu", i);
    if (check_step(rt, item, &s->steps[i++], where) != 0)
      return -1;
  }
  return 0;
}

static int check_expect(rt_t *rt, struct fy_node *v)
{
  struct fy_node_pair *p;
  void *it = NULL;
  size_t n = 0;

  while ((p = fy_node_mapping_iterate(v, &it)) != NULL) {
    struct fy_node *x = fy_node_pair_value(p);
    n += fy_node_get_type(x) == FYNT_SEQUENCE ? (size_t)count_of(x) : 1;
  }
  if (n != rt->s->n_expects)
    return differ(rt, "%zu expectations in the file, %zu in the model", n,
                  rt->s->n_expects);
  return 0;
}

static int check_tags(rt_t *rt, struct fy_node *v)
{
  struct fy_node *item;
  void *it = NULL;
  size_t i = 0;

  if (count_of(v) != (int)rt->s->n_tags)
    return differ(rt, "%d tags in the file, %zu in the model", count_of(v),
                  rt->s->n_tags);
  while ((item = fy_node_sequence_iterate(v, &it)) != NULL)
    if (!same_text(item, rt->s->tags[i++]))
      return differ(rt, "tag %zu differs", i);
  return 0;
}

/* Every variable of `cluster.env` is in the setup's env (in the file's
 * order, so that 20000 of them take linear time). */
static int check_cluster(rt_t *rt, struct fy_node *v)
{
  struct fy_node *env = fy_node_mapping_lookup_by_string(v, "env", FY_NT);
  const cJSON *menv = cJSON_GetObjectItemCaseSensitive(rt->s->settings,
                                                       "env");
  const cJSON *m = menv ? menv->child : NULL;
  struct fy_node_pair *p;
  void *it = NULL;

  if (env == NULL || fy_node_get_type(env) != FYNT_MAPPING)
    return 0;
  while ((p = fy_node_mapping_iterate(env, &it)) != NULL) {
    char *k = text_of(fy_node_pair_key(p));
    bool in = k != NULL && ((m != NULL && m->string != NULL &&
                             strcmp(m->string, k) == 0) ||
                            cJSON_HasObjectItem(menv, k));
    if (!in) {
      differ(rt, "cluster.env.%s is not in the model", k ? k : "?");
      free(k);
      return -1;
    }
    free(k);
    m = m ? m->next : NULL;
  }
  return 0;
}

static int check_worker(rt_t *rt, struct fy_node *v)
{
  struct fy_node *servers =
      fy_node_mapping_lookup_by_string(v, "servers", FY_NT);

  if (count_of(servers) != (int)rt->s->n_servers)
    return differ(rt, "%d servers in the file, %u in the model",
                  count_of(servers), rt->s->n_servers);
  return 0;
}

static int check_key(rt_t *rt, const char *key, struct fy_node *v)
{
  const scenario_t *s = rt->s;

  if (strcmp(key, "name") == 0)
    return same_text(v, s->name) ? 0 : differ(rt, "the name differs");
  if (strcmp(key, "description") == 0)
    return same_text(v, s->description) ? 0
                                        : differ(rt, "the description "
                                                     "differs");
  if (strcmp(key, "skip") == 0)
    return same_text(v, s->skip) ? 0 : differ(rt, "the skip reason differs");
  if (strcmp(key, "tags") == 0)
    return check_tags(rt, v);
  if (strcmp(key, "targets") == 0)
    return count_of(v) == (int)s->n_target_notes
               ? 0 : differ(rt, "targets: not every note is in the model");
  if (strcmp(key, "cluster") == 0)
    return check_cluster(rt, v);
  if (strcmp(key, "worker") == 0)
    return check_worker(rt, v);
  if (strcmp(key, "steps") == 0)
    return check_steps(rt, v);
  if (strcmp(key, "expect") == 0)
    return check_expect(rt, v);
  if (strcmp(key, "timeout") == 0 || strcmp(key, "primary") == 0 ||
      strcmp(key, "oracle") == 0)
    return 0;
  return differ(rt, "the key '%s' is in the file, not in the model", key);
}

int hostile_roundtrip(const char *text, size_t len, const scenario_t *s,
                      char *why, size_t why_len)
{
  /* the loader has refused duplicate keys; libfyaml's own check of them
   * takes a time quadratic in the keys of a mapping */
  struct fy_parse_cfg cfg = {
      .flags = FYPCF_QUIET | FYPCF_DEFAULT_VERSION_1_2 | FYPCF_JSON_NONE |
               FYPCF_ALLOW_DUPLICATE_KEYS};
  rt_t rt = {s, why, why_len};
  struct fy_document *doc;
  struct fy_node *root;
  struct fy_node_pair *p;
  void *it = NULL;
  int rc = 0;

  why[0] = '\0';
  if (!printable_utf8((const unsigned char *)text, len))
    return differ(&rt, "the text is not printable UTF-8 throughout");
  doc = fy_document_build_from_string(&cfg, text, len);
  root = doc ? fy_document_root(doc) : NULL;
  if (root == NULL || fy_node_get_type(root) != FYNT_MAPPING) {
    fy_document_destroy(doc);
    return differ(&rt, "libfyaml alone reads no mapping in the text");
  }
  while (rc == 0 && (p = fy_node_mapping_iterate(root, &it)) != NULL) {
    char *key = text_of(fy_node_pair_key(p));
    rc = key == NULL ? differ(&rt, "out of memory")
                     : check_key(&rt, key, fy_node_pair_value(p));
    free(key);
  }
  fy_document_destroy(doc);
  return rc;
}
