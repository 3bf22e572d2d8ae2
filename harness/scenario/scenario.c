/*
 * Scenario loading: parse with libfyaml, check against the schema
 * (scenario-check.c), then build the model (scenario-build.c): the
 * sections here, the steps and expectations from their tables.
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

/* Scalars of a checked document. */
static int64_t node_int(struct fy_node *n, int64_t dflt)
{
  int64_t v;

  return n != NULL && scenario__parse_int(scenario__node_str(n), &v) ? v
                                                                     : dflt;
}

static bool node_bool(struct fy_node *n, bool dflt)
{
  int v = n != NULL ? scenario__parse_bool(scenario__node_str(n)) : -1;

  return v < 0 ? dflt : v == 1;
}

static int64_t node_ms(struct fy_node *n, int64_t dflt)
{
  int64_t ms;

  if (n == NULL || base_duration_parse(scenario__node_str(n), &ms) != 0)
    return dflt;
  return ms;
}

/* ---------------------------------------------------------------------- */
/* Worker behaviour -> CLUSTERSIM_WORKER (docs/protocol.md section 4.1)    */

static cJSON *build_server(struct fy_node *n)
{
  cJSON *j = cJSON_CreateObject();
  struct fy_node *v;

  if (j == NULL)
    return NULL;
  v = scenario__node_get(n, "kind");
  cJSON_AddStringToObject(j, "kind", v ? scenario__node_str(v) : "http");
  cJSON_AddNumberToObject(j, "port",
                          (double)node_int(scenario__node_get(n, "port"), 0));
  /* Loopback only: a listen without a host would bind every interface. */
  v = scenario__node_get(n, "host");
  cJSON_AddStringToObject(j, "host", v ? scenario__node_str(v) : "127.0.0.1");
  cJSON_AddBoolToObject(j, "exclusive",
                        node_bool(scenario__node_get(n, "exclusive"), false));
  cJSON_AddNumberToObject(
      j, "close_delay_ms",
      (double)node_ms(scenario__node_get(n, "close-delay"), 0));
  cJSON_AddNumberToObject(
      j, "max_connections",
      (double)node_int(scenario__node_get(n, "max-connections"), 0));
  return j;
}

static cJSON *build_servers(struct fy_node *v)
{
  cJSON *arr = cJSON_CreateArray();
  struct fy_node *item;
  void *it = NULL;

  while (arr != NULL && (item = fy_node_sequence_iterate(v, &it)) != NULL) {
    cJSON *srv = build_server(item);
    if (srv == NULL) {
      cJSON_Delete(arr);
      return NULL;
    }
    cJSON_AddItemToArray(arr, srv);
  }
  return arr;
}

/* A mapping of words to words (signals: ignore), or NULL. */
static cJSON *build_words(struct fy_node *v)
{
  cJSON *j = cJSON_CreateObject();
  struct fy_node_pair *p;
  void *it = NULL;

  while (j != NULL && (p = fy_node_mapping_iterate(v, &it)) != NULL)
    cJSON_AddStringToObject(j, scenario__node_str(fy_node_pair_key(p)),
                            scenario__node_str(fy_node_pair_value(p)));
  return j;
}

static cJSON *node_string(struct fy_node *v)
{
  return cJSON_CreateString(scenario__node_str(v));
}

static cJSON *node_duration(struct fy_node *v)
{
  return cJSON_CreateNumber((double)node_ms(v, 0));
}

int scenario__build_behaviour(cJSON *j, struct fy_node *n)
{
  /* YAML key -> the agents' member */
  static const struct {
    const char *key, *member;
    cJSON *(*make)(struct fy_node *v);
  } keys[] = {
    {"servers", "servers", build_servers},
    {"messages", "messages", node_string},
    {"startup-delay", "startup_delay_ms", node_duration},
    {"signals", "signals", build_words},
    {"on-listening", "on_listening", node_string},
  };
  struct fy_node *v;
  cJSON *m;
  size_t i;

  for (i = 0; n != NULL && i < sizeof(keys) / sizeof(keys[0]); i++) {
    if ((v = scenario__node_get(n, keys[i].key)) == NULL)
      continue;
    if ((m = keys[i].make(v)) == NULL)
      return UV_ENOMEM;
    cJSON_ReplaceItemInObject(j, keys[i].member, m);
  }
  return 0;
}

/* What a worker does unless told otherwise: every member is present. */
static cJSON *default_behaviour(void)
{
  cJSON *j = cJSON_CreateObject();

  if (j == NULL)
    return NULL;
  cJSON_AddItemToObject(j, "servers", cJSON_CreateArray());
  cJSON_AddStringToObject(j, "messages", "none");
  cJSON_AddNumberToObject(j, "startup_delay_ms", 0);
  cJSON_AddItemToObject(j, "signals", cJSON_CreateObject());
  cJSON_AddNullToObject(j, "on_listening");
  return j;
}

/* ---------------------------------------------------------------------- */
/* Cluster and primary                                                     */

/* setupPrimary() settings; `workers` and `scheduling` are model members
 * (scenario-schema.c). */
static int build_cluster(scenario_t *s, struct fy_node *n)
{
  struct fy_node *v;

  s->settings = cJSON_CreateObject();
  if (s->settings == NULL)
    return UV_ENOMEM;
  if ((v = scenario__node_get(n, "exec")) != NULL)
    cJSON_AddStringToObject(s->settings, "exec", scenario__node_str(v));
  if ((v = scenario__node_get(n, "args")) != NULL)
    cJSON_AddItemToObject(s->settings, "args", scenario__node_to_json(v));
  if ((v = scenario__node_get(n, "cwd")) != NULL)
    cJSON_AddStringToObject(s->settings, "cwd", scenario__node_str(v));
  if ((v = scenario__node_get(n, "silent")) != NULL)
    cJSON_AddBoolToObject(s->settings, "silent", node_bool(v, false));
  if ((v = scenario__node_get(n, "env")) != NULL)
    cJSON_AddItemToObject(s->settings, "env", build_words(v));
  return 0;
}

static void build_respawn(scenario__build_t *b, cJSON *pol,
                          struct fy_node *v)
{
  static const char *const rules[] = {
    [SCENARIO_RESPAWN_NEVER] = "never",
    [SCENARIO_RESPAWN_ALWAYS] = "always",
    [SCENARIO_RESPAWN_UNLESS_EAD] = "unless-exited-after-disconnect",
    [SCENARIO_RESPAWN_ON_NONZERO] = "on-nonzero"};
  bool map = fy_node_get_type(v) == FYNT_MAPPING;
  const char *rule = scenario__node_str(map ? scenario__node_get(v, "when")
                                            : v);
  struct fy_node *w;
  size_t i;

  cJSON_AddStringToObject(pol, "respawn", rule);
  for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
    if (strcmp(rules[i], rule) == 0)
      b->s->respawn = (scenario_respawn_t)i;
  if ((w = scenario__node_get(v, "backoff")) != NULL)
    cJSON_AddNumberToObject(pol, "backoff_ms", (double)node_ms(w, 0));
  if ((w = scenario__node_get(v, "backoff-max")) != NULL)
    cJSON_AddNumberToObject(pol, "backoff_max_ms", (double)node_ms(w, 0));
  if ((w = scenario__node_get(v, "startup-window")) != NULL)
    cJSON_AddNumberToObject(pol, "startup_window_ms", (double)node_ms(w, 0));
  /* replaced workers have ids no fork of the steps accounts for */
  if (b->s->respawn != SCENARIO_RESPAWN_NEVER)
    b->unbounded = true;
}

static void build_shutdown(cJSON *pol, struct fy_node *v)
{
  cJSON *sd = cJSON_AddObjectToObject(pol, "shutdown");
  struct fy_node *w = scenario__node_get(v, "signals");
  cJSON *sigs;

  if (w != NULL) {
    sigs = scenario__node_to_json(w);
  } else {
    sigs = cJSON_CreateArray();
    cJSON_AddItemToArray(sigs, cJSON_CreateString("SIGTERM"));
    cJSON_AddItemToArray(sigs, cJSON_CreateString("SIGINT"));
  }
  cJSON_AddItemToObject(sd, "signals", sigs);
  cJSON_AddNumberToObject(
      sd, "timeout_ms",
      (double)node_ms(scenario__node_get(v, "timeout"), 2000));
}

static void build_heartbeat(cJSON *pol, struct fy_node *v)
{
  cJSON *hb = cJSON_AddObjectToObject(pol, "heartbeat");

  cJSON_AddNumberToObject(
      hb, "interval_ms", (double)node_ms(scenario__node_get(v, "interval"), 0));
  cJSON_AddNumberToObject(
      hb, "timeout_ms", (double)node_ms(scenario__node_get(v, "timeout"), 0));
}

/* `metrics: true` or `{port: N}`; false is no policy at all. */
static bool build_metrics(cJSON *pol, struct fy_node *v)
{
  cJSON *m;

  if (fy_node_get_type(v) != FYNT_MAPPING && !node_bool(v, false))
    return false;
  m = cJSON_AddObjectToObject(pol, "metrics");
  cJSON_AddNumberToObject(m, "port",
                          (double)node_int(scenario__node_get(v, "port"), 0));
  return true;
}

/* The `policy` command the primary agent gets, when there is a policy. */
static int build_primary(scenario__build_t *b, struct fy_node *n)
{
  cJSON *pol = cJSON_CreateObject();
  struct fy_node *v;
  bool any = false;

  if (pol == NULL)
    return UV_ENOMEM;
  cJSON_AddStringToObject(pol, "cmd", "policy");
  if ((v = scenario__node_get(n, "respawn")) != NULL) {
    build_respawn(b, pol, v);
    any = true;
  }
  if ((v = scenario__node_get(n, "shutdown")) != NULL) {
    build_shutdown(pol, v);
    any = true;
  }
  if ((v = scenario__node_get(n, "heartbeat")) != NULL) {
    build_heartbeat(pol, v);
    any = true;
  }
  if ((v = scenario__node_get(n, "metrics")) != NULL && build_metrics(pol, v))
    any = true;
  if (any)
    b->s->policy = pol;
  else
    cJSON_Delete(pol);
  return 0;
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

/* Cluster, worker behaviour and primary policy: what the steps build on. */
static int build_sections(scenario__build_t *b, struct fy_node *root)
{
  scenario_t *s = b->s;
  int rc;

  if ((rc = build_cluster(s, scenario__node_get(root, "cluster"))) != 0)
    return rc;
  s->behaviour = default_behaviour();
  if (s->behaviour == NULL)
    return UV_ENOMEM;
  rc = scenario__build_behaviour(s->behaviour,
                                 scenario__node_get(root, "worker"));
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
  for (i = 0; i < s->n_expects; i++) {
    free(s->expects[i].path);
    free(s->expects[i].pattern);
    free(s->expects[i].pattern_text);
    free(s->expects[i].state);
  }
  free(s->expects);
  free(s);
}
