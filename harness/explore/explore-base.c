/*
 * explore-base.c - the cluster schedules are drawn on: the YAML every
 * schedule starts with (written from flags, or a scenario file without its
 * name, timeout, steps and expectations, through libfyaml), and what the
 * drawing and the properties need to know of it (read from the scenario
 * the loader made of it, so that it means what `clustersim run` makes of
 * it).
 */
#include "explore-internal.h"

#include <libfyaml.h>
#include <stdlib.h>
#include <string.h>

/* The protocol's default longest respawn delay (docs/protocol.md 2.1). */
#define DEFAULT_BACKOFF_MAX_MS 30000

static int64_t num_of(const cJSON *o, const char *key, int64_t dflt)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

  return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : dflt;
}

/* The longest delay the respawn policy may wait: none without a backoff,
 * the backoff without a start-up window, else its cap. */
static int64_t backoff_max(const cJSON *policy)
{
  int64_t backoff = num_of(policy, "backoff_ms", 0);

  if (backoff <= 0)
    return 0;
  if (num_of(policy, "startup_window_ms", 0) <= 0)
    return backoff;
  return num_of(policy, "backoff_max_ms", DEFAULT_BACKOFF_MAX_MS);
}

static void read_shutdown(const cJSON *policy, explore_base_t *b)
{
  const cJSON *sh = cJSON_GetObjectItemCaseSensitive(policy, "shutdown");
  const cJSON *sig;

  if (!cJSON_IsObject(sh))
    return;
  b->shutdown_timeout_ms = num_of(sh, "timeout_ms", 2000);
  cJSON_ArrayForEach(sig, cJSON_GetObjectItemCaseSensitive(sh, "signals")) {
    int n = cJSON_IsString(sig) ? base_signal_from_name(sig->valuestring) : 0;
    if (n > 0 && n < 64)
      b->shutdown_signals |= (uint64_t)1 << n;
  }
}

static void read_servers(const cJSON *behaviour, explore_base_t *b)
{
  const cJSON *servers = cJSON_GetObjectItemCaseSensitive(behaviour,
                                                          "servers");
  const cJSON *first = cJSON_GetArrayItem(servers, 0);
  const cJSON *kind = cJSON_GetObjectItemCaseSensitive(first, "kind");
  const cJSON *on = cJSON_GetObjectItemCaseSensitive(behaviour,
                                                     "on_listening");
  bool exclusive = cJSON_IsTrue(
      cJSON_GetObjectItemCaseSensitive(first, "exclusive"));

  b->n_servers = (unsigned)cJSON_GetArraySize(servers);
  b->startup_delay_ms = num_of(behaviour, "startup_delay_ms", 0);
  b->listens = first != NULL && !exclusive &&
               (on == NULL || cJSON_IsNull(on));
  b->http = b->listens && (!cJSON_IsString(kind) ||
                           strcmp(kind->valuestring, "http") == 0);
}

/* What the drawing and the properties need, from the loaded scenario. */
static void read_scenario(const scenario_t *s, explore_base_t *b)
{
  b->workers = s->workers;
  /* Node's default on Linux, and every target's */
  b->rr = s->scheduling == NULL || strcmp(s->scheduling, "rr") == 0;
  b->exit_only = s->allow_exit_without_disconnect;
  b->respawn = s->respawn;
  b->backoff_max_ms = backoff_max(s->policy);
  read_shutdown(s->policy, b);
  read_servers(s->behaviour, b);
}

static int load_base(const char *file, const char *text, explore_base_t *out,
                     base_diag_t *diag)
{
  scenario_t *s = NULL;
  int rc = scenario_load_string(file, text, strlen(text), diag, &s);

  if (rc != 0)
    return rc;
  if (s->n_steps > 0 || s->n_expects > 0) {
    base_diag_addf(diag, "%s: a base has no %s: explore draws its own", file,
                   s->n_steps > 0 ? "steps" : "expect");
    scenario_free(s);
    return UV_EINVAL;
  }
  read_scenario(s, out);
  scenario_free(s);
  return 0;
}

int explore_base_from_flags(unsigned workers, const char *scheduling,
                            const char *respawn, explore_base_t *out,
                            base_diag_t *diag)
{
  char *text;
  int rc;

  memset(out, 0, sizeof(*out));
  text = base_asprintf(
      "cluster: {workers: %u, scheduling: %s}\n"
      "worker:\n"
      "  servers: [{kind: http, port: 0}]\n"
      "  messages: echo\n"
      "primary:\n"
      "  respawn: {when: %s, backoff: 50ms, backoff-max: 400ms, "
      "startup-window: 300ms}\n"
      "  shutdown: {signals: [SIGTERM, SIGINT], timeout: 1s}\n",
      workers, scheduling ? scheduling : "rr", respawn ? respawn : "always");
  if (text == NULL)
    return UV_ENOMEM;
  rc = load_base("(explore base)", text, out, diag);
  if (rc != 0) {
    free(text);
    return rc;
  }
  out->text = text;
  return 0;
}

/* The file's YAML without the keys a schedule writes itself. */
static char *strip_keys(const char *path, base_diag_t *diag)
{
  static const char *const drop[] = {"name", "description", "tags",
                                     "timeout", "oracle", NULL};
  struct fy_document *d = fy_document_build_from_file(NULL, path);
  struct fy_node *root = d ? fy_document_root(d) : NULL;
  char *text = NULL;
  size_t i;

  if (root == NULL || !fy_node_is_mapping(root)) {
    base_diag_addf(diag, "%s: not a YAML mapping", path);
    fy_document_destroy(d);
    return NULL;
  }
  for (i = 0; drop[i] != NULL; i++) {
    /* libfyaml frees the key it is given when it finds the pair (and the
     * pair); the value is ours */
    struct fy_node *key;
    if (fy_node_mapping_lookup_by_string(root, drop[i], FY_NT) == NULL)
      continue;
    key = fy_node_create_scalar(d, drop[i], FY_NT);
    fy_node_free(key ? fy_node_mapping_remove_by_key(root, key) : NULL);
  }
  text = fy_emit_document_to_string(d, FYECF_MODE_BLOCK);
  fy_document_destroy(d);
  if (text == NULL)
    base_diag_addf(diag, "%s: cannot write it out again", path);
  return text;
}

int explore_base_from_file(const char *path, explore_base_t *out,
                           base_diag_t *diag)
{
  scenario_t *s = NULL;
  char *text;
  int rc;

  memset(out, 0, sizeof(*out));
  /* the loader says what is wrong with the file, where */
  rc = scenario_load(path, diag, &s);
  if (rc != 0)
    return rc;
  scenario_free(s);
  text = strip_keys(path, diag);
  if (text == NULL)
    return UV_EINVAL;
  rc = load_base(path, text, out, diag);
  if (rc == 0)
    rc = (out->file = strdup(path)) == NULL ? UV_ENOMEM : 0;
  if (rc != 0) {
    free(text);
    explore_base_free(out);
    return rc;
  }
  out->text = text;
  return 0;
}

void explore_base_free(explore_base_t *b)
{
  if (b == NULL)
    return;
  free(b->file);
  free(b->text);
  memset(b, 0, sizeof(*b));
}
