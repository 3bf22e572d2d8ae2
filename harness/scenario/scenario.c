/*
 * Scenario loading: parse with libfyaml, check against the schema
 * (scenario-check.c), then build the model from the tables
 * (scenario-build.c); what no table says (the name from the file, the
 * targets, the respawn rule and metrics switch) is built here.
 */
#include "scenario-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Scenarios are small; anything larger is not a scenario. */
#define MAX_SCENARIO_BYTES (1024 * 1024)

/* ---------------------------------------------------------------------- */
/* Sections: the JSON the agents read (docs/protocol.md), from the tables  */

/* `respawn: RULE` or `{when: RULE, backoff...}`: the rule, and its
 * settings next to it in the policy command. */
static int build_respawn(scenario__build_t *b, cJSON *pol, struct fy_node *v)
{
  static const char *const rules[] = {
    [SCENARIO_RESPAWN_NEVER] = "never",
    [SCENARIO_RESPAWN_ALWAYS] = "always",
    [SCENARIO_RESPAWN_UNLESS_EAD] = "unless-exited-after-disconnect",
    [SCENARIO_RESPAWN_ON_NONZERO] = "on-nonzero"};
  bool map = fy_node_get_type(v) == FYNT_MAPPING;
  const char *rule = scenario__node_str(map ? scenario__node_get(v, "when")
                                            : v);
  size_t i;

  cJSON_AddStringToObject(pol, "respawn", rule);
  for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
    if (strcmp(rules[i], rule) == 0)
      b->s->respawn = (scenario_respawn_t)i;
  /* replaced workers have ids no fork of the steps accounts for */
  if (b->s->respawn != SCENARIO_RESPAWN_NEVER)
    b->unbounded = true;
  return map ? scenario__json_fill(&scenario__t_respawn_map, v, pol, false)
             : 0;
}

/* `metrics: true` or `{port: N}`; false is no policy at all. */
static int build_metrics(cJSON *pol, struct fy_node *v)
{
  bool map = fy_node_get_type(v) == FYNT_MAPPING;
  cJSON *m;

  if (!map && scenario__parse_bool(scenario__node_str(v)) != 1)
    return 0;
  m = cJSON_AddObjectToObject(pol, "metrics");
  if (m == NULL)
    return UV_ENOMEM;
  return scenario__json_fill(&scenario__t_metrics_map, map ? v : NULL, m,
                             true);
}

/* The `policy` command the primary agent gets, when there is a policy. */
static int build_primary(scenario__build_t *b, struct fy_node *n)
{
  cJSON *pol = cJSON_CreateObject();
  struct fy_node *v;
  int rc = 0;

  if (pol == NULL || cJSON_AddStringToObject(pol, "cmd", "policy") == NULL)
    rc = UV_ENOMEM;
  if (rc == 0 && (v = scenario__node_get(n, "respawn")) != NULL)
    rc = build_respawn(b, pol, v);
  if (rc == 0)
    rc = scenario__json_fill(&scenario__t_primary, n, pol, false);
  if (rc == 0 && (v = scenario__node_get(n, "metrics")) != NULL)
    rc = build_metrics(pol, v);
  if (rc == 0 && cJSON_GetArraySize(pol) > 1)
    b->s->policy = pol;
  else
    cJSON_Delete(pol);
  return rc;
}

/* ---------------------------------------------------------------------- */
/* The rest of the top level                                               */

/* `targets:` - kind: {skip: reason} or kind: {diverges: reason}. */
static int build_targets(scenario__build_t *b, struct fy_node *map)
{
  scenario_t *s = b->s;
  size_t n = (size_t)fy_node_mapping_item_count(map);
  struct fy_node_pair *p;
  void *it = NULL;

  s->target_notes = calloc(n + 1, sizeof(*s->target_notes));
  if (s->target_notes == NULL)
    return UV_ENOMEM;
  while ((p = fy_node_mapping_iterate(map, &it)) != NULL) {
    struct fy_node *k = fy_node_pair_key(p), *v = fy_node_pair_value(p);
    struct fy_node *skip = scenario__node_get(v, "skip");
    struct fy_node *div = scenario__node_get(v, "diverges");
    scenario__loc_t loc = scenario__node_loc(k, (scenario__loc_t){1, 1});
    scenario_target_note_t *t = &s->target_notes[s->n_target_notes];
    char path[96];

    snprintf(path, sizeof(path), "/targets/%s", scenario__node_str(k));
    if ((skip == NULL) == (div == NULL)) {
      scenario__errs_add(b->errs, loc, path,
                         "a target says either 'skip' or 'diverges', with "
                         "its reason");
      continue;
    }
    t->kind = strdup(scenario__node_str(k));
    t->skip = skip != NULL;
    t->reason = strdup(scenario__node_str(skip != NULL ? skip : div));
    t->line = loc.line;
    s->n_target_notes++;
    if (t->kind == NULL || t->reason == NULL)
      return UV_ENOMEM;
  }
  return 0;
}

/* `name`, or the file's name without directory and extension. */
static int build_name(scenario_t *s, struct fy_node *root, const char *file)
{
  struct fy_node *v = scenario__node_get(root, "name");
  const char *base = strrchr(file, '/');
  char *dot;

  s->file = strdup(file);
  s->name = strdup(v != NULL ? scenario__node_str(v)
                             : base != NULL ? base + 1 : file);
  if (s->file == NULL || s->name == NULL)
    return UV_ENOMEM;
  if (v == NULL && (dot = strrchr(s->name, '.')) != NULL && dot != s->name)
    *dot = '\0';
  return 0;
}

static int build_tags(scenario_t *s, struct fy_node *v)
{
  size_t n = (size_t)fy_node_sequence_item_count(v);
  struct fy_node *item;
  void *it = NULL;

  s->tags = calloc(n + 1, sizeof(char *));
  if (s->tags == NULL)
    return UV_ENOMEM;
  while ((item = fy_node_sequence_iterate(v, &it)) != NULL && s->n_tags < n)
    if ((s->tags[s->n_tags++] = strdup(scenario__node_str(item))) == NULL)
      return UV_ENOMEM;
  return 0;
}

/* Cluster settings, worker behaviour and primary policy: what the steps
 * build on. */
static int build_sections(scenario__build_t *b, struct fy_node *root)
{
  scenario_t *s = b->s;
  int rc;

  s->settings = cJSON_CreateObject();
  s->behaviour = cJSON_CreateObject();
  if (s->settings == NULL || s->behaviour == NULL)
    return UV_ENOMEM;
  rc = scenario__json_fill(&scenario__t_cluster,
                           scenario__node_get(root, "cluster"), s->settings,
                           false);
  if (rc == 0)
    rc = scenario__json_fill(&scenario__t_behaviour,
                             scenario__node_get(root, "worker"),
                             s->behaviour, true);
  if (rc != 0)
    return rc;
  s->n_servers = (unsigned)cJSON_GetArraySize(
      cJSON_GetObjectItem(s->behaviour, "servers"));
  return build_primary(b, scenario__node_get(root, "primary"));
}

static int build(scenario__build_t *b, struct fy_node *root, const char *file)
{
  scenario_t *s = b->s;
  struct fy_node *v;
  int rc;

  if ((rc = scenario__fill(&scenario__t_root, root, s, NULL)) != 0 ||
      (rc = build_name(s, root, file)) != 0)
    return rc;
  if ((v = scenario__node_get(root, "tags")) != NULL &&
      (rc = build_tags(s, v)) != 0)
    return rc;
  if ((v = scenario__node_get(root, "targets")) != NULL &&
      (rc = build_targets(b, v)) != 0)
    return rc;
  if ((rc = build_sections(b, root)) != 0)
    return rc;
  b->bound = s->workers;
  if ((v = scenario__node_get(root, "steps")) != NULL &&
      (rc = scenario__build_steps(b, v, "/steps", false, &s->steps,
                                  &s->n_steps)) != 0)
    return rc;
  if ((v = scenario__node_get(root, "expect")) != NULL &&
      (rc = scenario__build_expect(b, v)) != 0)
    return rc;
  scenario__check_ids(b);
  return 0;
}

/* ---------------------------------------------------------------------- */
/* Loading                                                                 */

/* A libfyaml parse of one text, with its errors collected, not printed. */
typedef struct {
  struct fy_diag *fyd;
  struct fy_parser *parser;
  struct fy_document *doc, *doc2;   /* the first two documents */
} parse_t;

static int parse_open(parse_t *p, const char *text, size_t len)
{
  struct fy_diag_cfg dc;
  struct fy_parse_cfg cfg;

  memset(p, 0, sizeof(*p));
  fy_diag_cfg_default(&dc);
  dc.fp = NULL;
  dc.colorize = false;
  p->fyd = fy_diag_create(&dc);
  if (p->fyd == NULL)
    return UV_ENOMEM;
  fy_diag_set_collect_errors(p->fyd, true);
  memset(&cfg, 0, sizeof(cfg));
  cfg.flags = FYPCF_QUIET | FYPCF_DEFAULT_VERSION_1_2 | FYPCF_JSON_NONE;
  cfg.diag = p->fyd;
  p->parser = fy_parser_create(&cfg);
  if (p->parser == NULL || fy_parser_set_string(p->parser, text, len) != 0)
    return UV_ENOMEM;
  p->doc = fy_parse_load_document(p->parser);
  /* a second document is an error: load it to say where it starts */
  if (p->doc != NULL)
    p->doc2 = fy_parse_load_document(p->parser);
  return 0;
}

static void parse_close(parse_t *p)
{
  if (p->doc2 != NULL)
    fy_parse_document_destroy(p->parser, p->doc2);
  if (p->doc != NULL)
    fy_parse_document_destroy(p->parser, p->doc);
  if (p->parser != NULL)
    fy_parser_destroy(p->parser);
  if (p->fyd != NULL)
    fy_diag_destroy(p->fyd);
}

/* The parser's errors (YAML syntax, duplicate keys...) as our messages. */
static void parse_errors(parse_t *p, scenario__errs_t *errs)
{
  struct fy_diag_error *e;
  void *it = NULL;

  while ((e = fy_diag_errors_iterate(p->fyd, &it)) != NULL) {
    /* collected errors are 1-based already */
    base_diag_addf(errs->diag, "%s:%d:%d: error: %s", errs->file, e->line,
                   e->column, e->msg);
    errs->errors++;
  }
}

/* One document that passes the schema: 0, else UV_EINVAL. */
static int check_document(parse_t *p, scenario__errs_t *errs)
{
  parse_errors(p, errs);
  if (errs->errors > 0)
    return UV_EINVAL;
  if (p->doc == NULL) {
    base_diag_addf(errs->diag, "%s:1:1: error: empty scenario (expected a "
                   "mapping with steps)", errs->file);
    return UV_EINVAL;
  }
  if (p->doc2 != NULL) {
    scenario__errs_add(errs,
                       scenario__node_loc(fy_document_root(p->doc2),
                                          (scenario__loc_t){1, 1}),
                       NULL, "a scenario file holds one document, this one "
                       "has more");
    return UV_EINVAL;
  }
  if (scenario__schema_check(fy_document_root(p->doc), errs) > 0)
    return UV_EINVAL;
  return 0;
}

/* What is refused before parsing. */
static int check_text(const char *name, const char *text, size_t len,
                      base_diag_t *diag)
{
  if (len > MAX_SCENARIO_BYTES) {
    base_diag_addf(diag, "%s:1:1: error: a scenario is at most %d bytes",
                   name, MAX_SCENARIO_BYTES);
    return UV_EINVAL;
  }
  if (memchr(text, '\0', len) != NULL) {
    base_diag_addf(diag, "%s:1:1: error: not a text file (it holds a "
                   "NUL byte)", name);
    return UV_EINVAL;
  }
  return 0;
}

int scenario_load_string(const char *name, const char *text, size_t len,
                         base_diag_t *diag, scenario_t **out)
{
  scenario__errs_t errs = {.file = name, .diag = diag, .errors = 0};
  scenario__build_t b = {.errs = &errs};
  parse_t p;
  int rc;

  *out = NULL;
  if ((rc = check_text(name, text, len, diag)) != 0)
    return rc;
  rc = parse_open(&p, text, len);
  if (rc == 0)
    rc = check_document(&p, &errs);
  if (rc != 0)
    goto out;
  b.s = calloc(1, sizeof(*b.s));
  if (b.s == NULL) {
    rc = UV_ENOMEM;
    goto out;
  }
  rc = build(&b, fy_document_root(p.doc), name);
  if (rc == 0 && errs.errors > 0)
    rc = UV_EINVAL;
  if (rc == 0) {
    *out = b.s;
    b.s = NULL;
  }

out:
  scenario_free(b.s);
  parse_close(&p);
  return rc;
}

int scenario_load(const char *path, base_diag_t *diag,
                          scenario_t **out)
{
  char *buf = NULL;
  size_t len = 0;
  ssize_t r;
  struct stat st;
  int fd, rc;

  *out = NULL;
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    rc = -errno;
    base_diag_addf(diag, "%s: error: %s", path, strerror(errno));
    return rc;
  }
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    base_diag_addf(diag, "%s: error: not a regular file", path);
    return UV_EINVAL;
  }
  if (st.st_size > MAX_SCENARIO_BYTES) {
    close(fd);
    base_diag_addf(diag, "%s:1:1: error: a scenario is at most %d bytes",
                      path, MAX_SCENARIO_BYTES);
    return UV_EINVAL;
  }
  buf = malloc((size_t)st.st_size + 1);
  if (buf == NULL) {
    close(fd);
    return UV_ENOMEM;
  }
  while (len < (size_t)st.st_size) {
    r = read(fd, buf + len, (size_t)st.st_size - len);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    len += (size_t)r;
  }
  close(fd);
  buf[len] = '\0';
  rc = scenario_load_string(path, buf, len, diag, out);
  free(buf);
  return rc;
}

/* ---------------------------------------------------------------------- */

static void free_steps(scenario_step_t *st, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++) {
    free(st[i].path);
    cJSON_Delete(st[i].message);
    cJSON_Delete(st[i].env);
    cJSON_Delete(st[i].behaviour);
    free_steps(st[i].actions, st[i].n_actions);
  }
  free(st);
}

void scenario_free(scenario_t *s)
{
  size_t i;

  if (s == NULL)
    return;
  free(s->file);
  free(s->name);
  free(s->description);
  free(s->skip);
  for (i = 0; i < s->n_tags; i++)
    free(s->tags[i]);
  free(s->tags);
  for (i = 0; i < s->n_target_notes; i++) {
    free(s->target_notes[i].kind);
    free(s->target_notes[i].reason);
  }
  free(s->target_notes);
  free(s->scheduling);
  cJSON_Delete(s->settings);
  cJSON_Delete(s->behaviour);
  cJSON_Delete(s->policy);
  free_steps(s->steps, s->n_steps);
  for (i = 0; i < s->n_expects; i++)
    scenario__expect_release(&s->expects[i]);
  free(s->expects);
  free(s);
}
