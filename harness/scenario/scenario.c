/*
 * Scenario loading, in four passes over one text, each bounded by its
 * size: the bytes (UTF-8, printable, the %YAML version), the YAML events
 * (nesting, counts, duplicate keys, the stream read to its last byte),
 * then the document libfyaml builds, checked against the schema
 * (scenario-check.c), and the model built from the tables
 * (scenario-build.c); what no table says (the name from the file, the
 * targets, the respawn rule and metrics switch) is built here. Whatever
 * the input, the load ends with a scenario that used every byte of it or
 * with errors naming file:line:col.
 */
#include "scenario-internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The work one file may cost, whatever it holds: scenarios are small, and
 * anything past these is not a scenario (docs/harness.md, "Limits"). */
#define MAX_SCENARIO_BYTES (1024 * 1024)
#define MAX_DEPTH 32          /* lists and mappings inside each other */
#define MAX_NODES 100000      /* scalars, lists and mappings */
#define MAX_KEYS 20000        /* keys of all the mappings */

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

/* `metrics` or `sticky`: `true` or `{port: N}`; false is no policy at
 * all. The sticky server listens on loopback, as every server. */
static int build_server_policy(cJSON *pol, struct fy_node *v, const char *key,
                               const scenario__type_t *t)
{
  bool map = fy_node_get_type(v) == FYNT_MAPPING;
  cJSON *m;

  if (!map && scenario__parse_bool(scenario__node_str(v)) != 1)
    return 0;
  m = cJSON_AddObjectToObject(pol, key);
  if (m == NULL)
    return UV_ENOMEM;
  if (t == &scenario__t_sticky_map &&
      cJSON_AddStringToObject(m, "host", "127.0.0.1") == NULL)
    return UV_ENOMEM;
  return scenario__json_fill(t, map ? v : NULL, m, true);
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
    rc = build_server_policy(pol, v, "metrics", &scenario__t_metrics_map);
  if (rc == 0 && (v = scenario__node_get(n, "sticky")) != NULL)
    rc = build_server_policy(pol, v, "sticky", &scenario__t_sticky_map);
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

void scenario__servers_fix(cJSON *behaviour)
{
  cJSON *srv;

  cJSON_ArrayForEach(srv, cJSON_GetObjectItemCaseSensitive(behaviour,
                                                           "servers")) {
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(srv, "kind");
    const cJSON *host = cJSON_GetObjectItemCaseSensitive(srv, "host");

    if (cJSON_GetObjectItemCaseSensitive(srv, "path") != NULL) {
      cJSON_DeleteItemFromObjectCaseSensitive(srv, "host");
      cJSON_DeleteItemFromObjectCaseSensitive(srv, "port");
    } else if (cJSON_IsString(kind) &&
               strcmp(kind->valuestring, "udp6") == 0 &&
               cJSON_IsString(host) &&
               strcmp(host->valuestring, "127.0.0.1") == 0) {
      cJSON_ReplaceItemInObjectCaseSensitive(srv, "host",
                                             cJSON_CreateString("::1"));
    }
  }
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
  scenario__servers_fix(s->behaviour);
  s->n_servers = (unsigned)cJSON_GetArraySize(
      cJSON_GetObjectItem(s->behaviour, "servers"));
  return build_primary(b, scenario__node_get(root, "primary"));
}

/* ---------------------------------------------------------------------- */
/* Servers listen on loopback only                                          */

/* NULL for 127.0.0.0/8, ::1 (and ::ffff:127.x.y.z) or the name
 * localhost, what no other machine can reach; else what the host is. */
static const char *not_loopback(const char *host)
{
  unsigned char a[16];
  struct in6_addr *a6 = (struct in6_addr *)a;

  if (strcmp(host, "localhost") == 0)
    return NULL;
  if (host[0] == '\0')
    return "is every interface of the machine";
  if (inet_pton(AF_INET, host, a) == 1)
    return a[0] == 127 ? NULL
           : memcmp(a, "\0\0\0\0", 4) == 0
               ? "is every interface of the machine"
               : "can be reached from other machines";
  if (inet_pton(AF_INET6, host, a) != 1)
    return "can be reached from other machines";
  if (IN6_IS_ADDR_LOOPBACK(a6) || (IN6_IS_ADDR_V4MAPPED(a6) && a[12] == 127))
    return NULL;
  return IN6_IS_ADDR_UNSPECIFIED(a6) ? "is every interface of the machine"
                                     : "can be reached from other machines";
}

/* A UNIX socket server: http or tcp, without host and port. */
static void check_server_path(scenario__errs_t *errs, struct fy_node *srv,
                              const char *path, unsigned i)
{
  struct fy_node *p = scenario__node_get(srv, "path");
  const char *kind = scenario__node_str(scenario__node_get(srv, "kind"));
  char sub[160];

  if (p == NULL)
    return;
  snprintf(sub, sizeof(sub), "%.100s/%u/path", path, i);
  if (scenario__node_get(srv, "host") != NULL ||
      scenario__node_get(srv, "port") != NULL || strncmp(kind, "udp", 3) == 0)
    scenario__errs_add(errs, scenario__node_loc(p, (scenario__loc_t){1, 1}),
                       sub, "a server on a UNIX socket path is http or tcp, "
                       "without host or port");
  else if (strlen(scenario__node_str(p)) == 0 ||
           strlen(scenario__node_str(p)) > 100)
    scenario__errs_add(errs, scenario__node_loc(p, (scenario__loc_t){1, 1}),
                       sub, "a UNIX socket path has 1 to 100 characters");
}

static void check_server_hosts(scenario__errs_t *errs, struct fy_node *seq,
                               const char *path)
{
  struct fy_node *item;
  void *it = NULL;
  unsigned i = 0;

  while ((item = fy_node_sequence_iterate(seq, &it)) != NULL) {
    struct fy_node *h = scenario__node_get(item, "host");
    const char *host = scenario__node_str(h);
    char sub[160];
    const char *why;

    check_server_path(errs, item, path, i);
    snprintf(sub, sizeof(sub), "%.100s/%u/host", path, i++);
    if (h == NULL || fy_node_get_type(h) != FYNT_SCALAR ||
        (why = not_loopback(host)) == NULL)
      continue;
    scenario__errs_add(errs, scenario__node_loc(h, (scenario__loc_t){1, 1}),
                       sub, "a server listens on loopback only (127.0.0.1, "
                       "::1 or localhost): '%s' %s", host, why);
  }
}

/* Every `servers` list of the document, at the top or in a fork, with its
 * path. The walk is as deep as the loader lets a document be. */
static void check_hosts(scenario__errs_t *errs, struct fy_node *n,
                        const char *path)
{
  struct fy_node_pair *p;
  struct fy_node *item;
  void *it = NULL;
  unsigned i = 0;
  char sub[160];

  if (n == NULL || fy_node_get_type(n) == FYNT_SCALAR)
    return;
  if (fy_node_get_type(n) == FYNT_SEQUENCE) {
    while ((item = fy_node_sequence_iterate(n, &it)) != NULL) {
      snprintf(sub, sizeof(sub), "%.100s/%u", path, i++);
      check_hosts(errs, item, sub);
    }
    return;
  }
  while ((p = fy_node_mapping_iterate(n, &it)) != NULL) {
    const char *key = scenario__node_str(fy_node_pair_key(p));
    struct fy_node *v = fy_node_pair_value(p);
    snprintf(sub, sizeof(sub), "%.100s/%.40s", path, key);
    if (strcmp(key, "servers") == 0 && v != NULL &&
        fy_node_get_type(v) == FYNT_SEQUENCE)
      check_server_hosts(errs, v, sub);
    else
      check_hosts(errs, v, sub);
  }
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
  check_hosts(b->errs, root, "");
  return 0;
}

/* ---------------------------------------------------------------------- */
/* The bytes: what is refused before libfyaml sees them                    */

/* Where byte `off` of `text` is, 1-based: lines end at '\n', columns count
 * characters (as libfyaml's do). Everything before `off` is valid UTF-8. */
static scenario__loc_t loc_of(const char *text, size_t off)
{
  scenario__loc_t loc = {1, 1};
  size_t i;

  for (i = 0; i < off; i++) {
    unsigned char c = (unsigned char)text[i];
    if (c == '\n') {
      loc.line++;
      loc.column = 1;
    } else if ((c & 0xc0) != 0x80) {
      loc.column++;
    }
  }
  return loc;
}

/* The length of the UTF-8 sequence at `s` (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), its code point in *cp; 0 if it is
 * not one. `left` bytes may be read. */
static size_t utf8_decode(const unsigned char *s, size_t left, unsigned *cp)
{
  unsigned c = s[0], lo = 0x80, hi = 0xbf;
  size_t n, i;

  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  if (c >= 0xc2 && c <= 0xdf)
    n = 2;
  else if (c >= 0xe0 && c <= 0xef)
    n = 3;
  else if (c >= 0xf0 && c <= 0xf4)
    n = 4;
  else
    return 0;
  if (left < n)
    return 0;
  /* the second byte's range is what rules out overlongs, surrogates and
   * code points past U+10FFFF */
  if (c == 0xe0)
    lo = 0xa0;
  else if (c == 0xed)
    hi = 0x9f;
  else if (c == 0xf0)
    lo = 0x90;
  else if (c == 0xf4)
    hi = 0x8f;
  if (s[1] < lo || s[1] > hi)
    return 0;
  *cp = c & (0x7fu >> n);
  for (i = 1; i < n; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    *cp = (*cp << 6) | (s[i] & 0x3fu);
  }
  return n;
}

/* YAML 1.2's c-printable: what a YAML stream may hold at all. */
static bool printable(unsigned cp)
{
  return cp == 0x9 || cp == 0xa || cp == 0xd ||
         (cp >= 0x20 && cp <= 0x7e) || cp == 0x85 ||
         (cp >= 0xa0 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) ||
         cp >= 0x10000;
}

/* A scenario is UTF-8 text. libfyaml 0.7.12 ends the stream without a word
 * at the first byte that is not UTF-8 (the rest of the file is never read)
 * and loops forever on one right after a '%' (docs/libfyaml.md): so no
 * byte reaches it before the whole text has been checked here. */
static int check_chars(scenario__errs_t *errs, const char *text, size_t len)
{
  const unsigned char *s = (const unsigned char *)text;
  size_t off, n;
  unsigned cp = 0;

  for (off = 0; off < len; off += n) {
    n = utf8_decode(s + off, len - off, &cp);
    if (n == 0) {
      scenario__errs_add(errs, loc_of(text, off), NULL,
                         "invalid UTF-8 (byte 0x%02x): a scenario is UTF-8 "
                         "text", s[off]);
      return UV_EINVAL;
    }
    if (!printable(cp)) {
      bool control = cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
      scenario__errs_add(errs, loc_of(text, off), NULL,
                         "%s U+%04X (a scenario is printable text: tab, CR "
                         "and LF are the only control characters it may "
                         "hold)", control ? "control character"
                                          : "non-character", cp);
      return UV_EINVAL;
    }
  }
  return 0;
}

/* The YAML versions libfyaml reads as the docs describe. */
static bool known_version(const char *v, size_t n)
{
  return (n == 3 && memcmp(v, "1.2", 3) == 0) ||
         (n == 3 && memcmp(v, "1.1", 3) == 0);
}

/* Bytes of the `n` at `s` that are (or, with `in` false, are not) in
 * `set`: the text has no NUL to stop at. */
static size_t span(const char *s, size_t n, const char *set, bool in)
{
  size_t i = 0;

  while (i < n && (s[i] != '\0' && strchr(set, s[i]) != NULL) == in)
    i++;
  return i;
}

/* A `%YAML` directive line: refused unless it names a version read here. */
static int check_version(scenario__errs_t *errs, const char *text,
                         const char *line, size_t n)
{
  size_t v = 5 + span(line + 5, n - 5, " \t", true);
  size_t vn = span(line + v, n - v, " \t\r#", false);

  if (known_version(line + v, vn))
    return 0;
  if (vn == 0)
    scenario__errs_add(errs, loc_of(text, (size_t)(line - text)), NULL,
                       "%%YAML names no version (%%YAML 1.2 and 1.1 are "
                       "read)");
  else
    scenario__errs_add(errs, loc_of(text, (size_t)(line - text) + v), NULL,
                       "unsupported YAML version '%.*s' (%%YAML 1.2 and "
                       "1.1 are read)", (int)(vn < 32 ? vn : 32), line + v);
  return UV_EINVAL;
}

/* `%YAML 9.9` makes libfyaml 0.7.12 give up on the stream without a
 * message: the directives (the lines before a document, at the start or
 * after a `...`) are read here first. */
static int check_directives(scenario__errs_t *errs, const char *text,
                            size_t len)
{
  size_t off = 0;
  bool directives = true;

  while (off < len) {
    const char *line = text + off, *nl = memchr(line, '\n', len - off);
    size_t n = nl ? (size_t)(nl - line) : len - off;

    off += n + 1;
    if (n >= 3 && memcmp(line, "...", 3) == 0 &&
        span(line + 3, n - 3, " \t\r", true) == n - 3) {
      directives = true;        /* a document ended: directives may follow */
      continue;
    }
    if (!directives || n == 0 || line[0] == '#' ||
        span(line, n, " \t\r", true) == n)
      continue;
    if (line[0] != '%') {
      directives = false;       /* a document starts */
      continue;
    }
    if (n >= 5 && memcmp(line, "%YAML", 5) == 0 &&
        (n == 5 || span(line + 5, 1, " \t\r", true) == 1) &&
        check_version(errs, text, line, n) != 0)
      return UV_EINVAL;
  }
  return 0;
}

static int check_text(scenario__errs_t *errs, const char *text, size_t len)
{
  if (len > MAX_SCENARIO_BYTES) {
    scenario__errs_add(errs, (scenario__loc_t){1, 1}, NULL,
                       "a scenario is at most %d bytes, this one has %zu",
                       MAX_SCENARIO_BYTES, len);
    return UV_EINVAL;
  }
  if (check_chars(errs, text, len) != 0)
    return UV_EINVAL;
  return check_directives(errs, text, len);
}

/* ---------------------------------------------------------------------- */
/* The events: bounded work, duplicate keys in linear time, every byte    */

/* A key seen in a mapping: its text lives in scan_t.keys. */
typedef struct {
  uint32_t map;              /* serial number of its mapping; 0: free */
  uint32_t hash;
  size_t off, len;
} key_slot_t;

typedef struct {
  bool map;                  /* a mapping, else a list */
  bool want_key;             /* in a mapping: the next node is a key */
  uint32_t id;
} frame_t;

typedef struct {
  scenario__errs_t *errs;
  frame_t stack[MAX_DEPTH + 1];
  unsigned depth;
  size_t nodes, n_keys;
  uint32_t maps;
  key_slot_t *slots;         /* open addressing, a power of two */
  size_t cap;
  base_buf_t keys;
  bool ended;
  size_t end;                /* where the stream ended */
  scenario__loc_t last;      /* where the last event ended */
} scan_t;

static uint32_t key_hash(uint32_t map, const char *s, size_t n)
{
  uint32_t h = 2166136261u ^ map;
  size_t i;

  for (i = 0; i < n; i++)
    h = (h ^ (unsigned char)s[i]) * 16777619u;
  return h ? h : 1;
}

/* The slot of key `s` of mapping `map`, or the free slot where it goes. */
static key_slot_t *slot_find(scan_t *sc, uint32_t map, uint32_t h,
                             const char *s, size_t n)
{
  size_t i = h & (sc->cap - 1);

  for (;; i = (i + 1) & (sc->cap - 1)) {
    key_slot_t *k = &sc->slots[i];
    if (k->map == 0 || (k->map == map && k->hash == h && k->len == n &&
                        memcmp(sc->keys.base + k->off, s, n) == 0))
      return k;
  }
}

/* Room for one more key, at a load of at most one half. */
static int slots_grow(scan_t *sc)
{
  key_slot_t *old = sc->slots;
  size_t old_cap = sc->cap, i, j;

  if ((sc->n_keys + 1) * 2 <= sc->cap)
    return 0;
  sc->cap = old_cap ? old_cap * 2 : 64;
  sc->slots = calloc(sc->cap, sizeof(*sc->slots));
  if (sc->slots == NULL) {
    sc->slots = old;
    sc->cap = old_cap;
    return UV_ENOMEM;
  }
  for (i = 0; i < old_cap; i++) {
    if (old[i].map == 0)
      continue;
    for (j = old[i].hash & (sc->cap - 1); sc->slots[j].map != 0;
         j = (j + 1) & (sc->cap - 1))
      ;
    sc->slots[j] = old[i];
  }
  free(old);
  return 0;
}

static scenario__loc_t mark_loc(const struct fy_mark *m)
{
  scenario__loc_t loc = {1, 1};

  if (m != NULL) {
    loc.line = (unsigned)m->line + 1;
    loc.column = (unsigned)m->column + 1;
  }
  return loc;
}

/* A scalar key of mapping `map`: refused when the mapping has it already
 * (libfyaml 0.7.12 compares each key with every earlier one). */
static int scan_key(scan_t *sc, uint32_t map, struct fy_event *e)
{
  size_t n = 0;
  const char *s = fy_token_get_text(e->scalar.value, &n);
  uint32_t h;
  key_slot_t *k;

  if (s == NULL || slots_grow(sc) != 0)
    return UV_ENOMEM;
  h = key_hash(map, s, n);
  k = slot_find(sc, map, h, s, n);
  if (k->map != 0) {
    scenario__errs_add(sc->errs, mark_loc(fy_event_start_mark(e)), NULL,
                       "duplicate key");
    return UV_EINVAL;
  }
  k->map = map;
  k->hash = h;
  k->off = sc->keys.len;
  k->len = n;
  sc->n_keys++;
  return base_buf_append(&sc->keys, s, n);
}

/* A node (scalar, alias, mapping, list) where the stack says. */
static int scan_node(scan_t *sc, struct fy_event *e)
{
  frame_t *top = sc->depth > 0 ? &sc->stack[sc->depth - 1] : NULL;
  scenario__loc_t loc = mark_loc(fy_event_start_mark(e));
  size_t n = 0;
  int rc = 0;

  if (++sc->nodes > MAX_NODES) {
    scenario__errs_add(sc->errs, loc, NULL, "a scenario holds at most %d "
                       "values (scalars, lists and mappings)", MAX_NODES);
    return UV_EINVAL;
  }
  if (e->type == FYET_SCALAR &&
      (fy_token_get_text(e->scalar.value, &n) == NULL ? 0 : n) >
          SCENARIO__MAX_SCALAR) {
    scenario__errs_add(sc->errs, loc, NULL, "a value is at most %d bytes, "
                       "this one has %zu", SCENARIO__MAX_SCALAR, n);
    return UV_EINVAL;
  }
  if (top != NULL && top->map && top->want_key) {
    if (sc->n_keys >= MAX_KEYS) {
      scenario__errs_add(sc->errs, loc, NULL, "a scenario holds at most %d "
                         "keys", MAX_KEYS);
      return UV_EINVAL;
    }
    /* other keys are refused by the schema: keys are words */
    if (e->type == FYET_SCALAR)
      rc = scan_key(sc, top->id, e);
  }
  if (top != NULL && top->map)
    top->want_key = !top->want_key;
  return rc;
}

static int scan_open(scan_t *sc, struct fy_event *e, bool map)
{
  frame_t *f;

  if (sc->depth >= MAX_DEPTH) {
    scenario__errs_add(sc->errs, mark_loc(fy_event_start_mark(e)), NULL,
                       "nested deeper than %d lists and mappings",
                       MAX_DEPTH);
    return UV_EINVAL;
  }
  f = &sc->stack[sc->depth++];
  f->map = map;
  f->want_key = true;
  f->id = map ? ++sc->maps : 0;
  return 0;
}

static int scan_event(scan_t *sc, struct fy_event *e)
{
  int rc = 0;

  switch (e->type) {
  case FYET_SCALAR:
  case FYET_ALIAS:
    return scan_node(sc, e);
  case FYET_MAPPING_START:
  case FYET_SEQUENCE_START:
    rc = scan_node(sc, e);
    return rc != 0 ? rc : scan_open(sc, e, e->type == FYET_MAPPING_START);
  case FYET_MAPPING_END:
  case FYET_SEQUENCE_END:
    if (sc->depth > 0)
      sc->depth--;
    return 0;
  case FYET_STREAM_END:
    sc->ended = true;
    sc->end = (size_t)fy_event_start_mark(e)->input_pos;
    return 0;
  default:
    return 0;
  }
}

/* A libfyaml parser whose errors are collected, not printed. */
typedef struct {
  struct fy_diag *fyd;
  struct fy_parser *parser;
  struct fy_document *doc, *doc2;   /* the first two documents */
} parse_t;

static int parse_new(parse_t *p, const char *text, size_t len,
                     unsigned flags)
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
  cfg.flags = FYPCF_QUIET | FYPCF_DEFAULT_VERSION_1_2 | FYPCF_JSON_NONE |
              flags;
  cfg.diag = p->fyd;
  p->parser = fy_parser_create(&cfg);
  if (p->parser == NULL || fy_parser_set_string(p->parser, text, len) != 0)
    return UV_ENOMEM;
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

/* The parser's errors (YAML syntax) as our messages; how many. */
static unsigned parse_errors(parse_t *p, scenario__errs_t *errs)
{
  struct fy_diag_error *e;
  void *it = NULL;
  unsigned n = 0;

  while ((e = fy_diag_errors_iterate(p->fyd, &it)) != NULL) {
    /* collected errors are 1-based already */
    base_diag_addf(errs->diag, "%s:%d:%d: error: %s", errs->file, e->line,
                   e->column, e->msg);
    errs->errors++;
    n++;
  }
  return n;
}

/* The whole stream as events, before any document is built: the bounds,
 * duplicate keys, and the end of the stream at the end of the text. */
static int scan_text(scenario__errs_t *errs, const char *text, size_t len)
{
  scan_t sc;
  parse_t p;
  struct fy_event *e = NULL;
  int rc;

  memset(&sc, 0, sizeof(sc));
  sc.errs = errs;
  rc = parse_new(&p, text, len, 0);
  sc.last = (scenario__loc_t){1, 1};
  while (rc == 0 && !sc.ended && (e = fy_parser_parse(p.parser)) != NULL) {
    if (fy_event_end_mark(e) != NULL)
      sc.last = mark_loc(fy_event_end_mark(e));
    rc = scan_event(&sc, e);
    fy_parser_event_free(p.parser, e);
  }
  if (rc == 0 && !sc.ended) {
    rc = UV_EINVAL;
    if (parse_errors(&p, errs) == 0)
      scenario__errs_add(errs, sc.last, NULL,
                         "the YAML parser gave up after this point without "
                         "a reason");
  } else if (rc == 0 && sc.end != len) {
    /* never a scenario made of the first part of a file */
    rc = UV_EINVAL;
    scenario__errs_add(errs, loc_of(text, sc.end < len ? sc.end : len), NULL,
                       "the YAML parser stopped here: %zu bytes after it "
                       "were not read", len - (sc.end < len ? sc.end : len));
  }
  parse_close(&p);
  free(sc.slots);
  base_buf_free(&sc.keys);
  return rc;
}

/* ---------------------------------------------------------------------- */
/* Loading                                                                 */

/* The document of a text that scan_text has passed. */
static int parse_document(parse_t *p, scenario__errs_t *errs,
                          const char *text, size_t len)
{
  /* duplicate keys are refused by scan_text already, in linear time */
  int rc = parse_new(p, text, len, FYPCF_ALLOW_DUPLICATE_KEYS);

  if (rc != 0)
    return rc;
  p->doc = fy_parse_load_document(p->parser);
  /* a second document is an error: load it to say where it starts */
  if (p->doc != NULL)
    p->doc2 = fy_parse_load_document(p->parser);
  if (parse_errors(p, errs) > 0)
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

int scenario_load_string(const char *name, const char *text, size_t len,
                         base_diag_t *diag, scenario_t **out)
{
  scenario__errs_t errs = {.file = name, .diag = diag, .errors = 0};
  scenario__build_t b = {.errs = &errs};
  parse_t p;
  int rc;

  *out = NULL;
  memset(&p, 0, sizeof(p));
  rc = check_text(&errs, text, len);
  if (rc == 0)
    rc = scan_text(&errs, text, len);
  if (rc == 0)
    rc = parse_document(&p, &errs, text, len);
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
  if (rc == UV_ENOMEM && errs.errors == 0)
    base_diag_addf(diag, "%s: error: out of memory", name);
  scenario_free(b.s);
  parse_close(&p);
  return rc;
}

/* The whole file, or an error naming it and the cause. A file that grows
 * while it is read is read up to one byte past the bound, so that its size
 * is refused rather than cut. */
static int read_file(const char *path, base_buf_t *buf, base_diag_t *diag)
{
  struct stat st;
  ssize_t r;
  int fd, rc = 0;

  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    rc = -errno;
    base_diag_addf(diag, "%s: error: %s", path, strerror(errno));
    return rc;
  }
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    rc = S_ISDIR(st.st_mode) ? UV_EISDIR : UV_EINVAL;
    base_diag_addf(diag, "%s: error: not a regular file%s", path,
                   S_ISDIR(st.st_mode) ? " (a directory)" : "");
    close(fd);
    return rc;
  }
  while (rc == 0 && buf->len <= MAX_SCENARIO_BYTES) {
    if ((rc = base_buf_reserve(buf, 65536)) != 0)
      break;
    r = read(fd, buf->base + buf->len, 65536);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      rc = -errno;
      base_diag_addf(diag, "%s: error: reading: %s", path, strerror(errno));
    }
    if (r <= 0)
      break;
    buf->len += (size_t)r;
    buf->base[buf->len] = '\0';
  }
  close(fd);
  return rc;
}

int scenario_load(const char *path, base_diag_t *diag, scenario_t **out)
{
  base_buf_t buf = BASE_BUF_INIT;
  int rc;

  *out = NULL;
  rc = read_file(path, &buf, diag);
  if (rc == 0)
    rc = scenario_load_string(path, buf.base ? buf.base : "", buf.len, diag,
                              out);
  base_buf_free(&buf);
  return rc;
}

/* ---------------------------------------------------------------------- */

static void free_steps(scenario_step_t *st, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++) {
    free(st[i].path);
    free(st[i].text);
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
