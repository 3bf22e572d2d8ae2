/*
 * sim-util.c - deferred calls, signal names, UTF-8 and environment helpers.
 */
#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "sim-internal.h"

/* ---------------------------------------------------------------------- */
/* Deferred calls                                                          */

static void tick_run(uv_idle_t *idle)
{
  sim__tick_t *tick = idle->data;
  sim__tick_item_t *batch = tick->head;

  /* Calls queued while this batch runs go to the next batch, as with
   * nextTick callbacks queued from a nextTick callback they still run
   * before the loop blocks: the idle handle stays active for them. */
  tick->head = NULL;
  tick->tail = &tick->head;
  while (batch != NULL) {
    sim__tick_item_t *item = batch;
    batch = item->next;
    if (!tick->closing)
      item->fn(item->arg);
    free(item);
  }
  if (tick->head == NULL && !tick->closing)
    uv_idle_stop(&tick->idle);
}

int sim__tick_init(uv_loop_t *loop, sim__tick_t *tick)
{
  memset(tick, 0, sizeof(*tick));
  tick->tail = &tick->head;
  tick->idle.data = tick;
  return uv_idle_init(loop, &tick->idle);
}

int sim__tick_defer(sim__tick_t *tick, sim__tick_fn fn, void *arg)
{
  sim__tick_item_t *item;

  if (tick->closing)
    return UV_ECANCELED;
  item = malloc(sizeof(*item));
  if (item == NULL)
    return UV_ENOMEM;
  item->fn = fn;
  item->arg = arg;
  item->next = NULL;
  *tick->tail = item;
  tick->tail = &item->next;
  return uv_idle_start(&tick->idle, tick_run);
}

void sim__tick_close(sim__tick_t *tick, uv_close_cb cb)
{
  sim__tick_item_t *item = tick->head;

  tick->closing = 1;
  while (item != NULL) {
    sim__tick_item_t *next = item->next;
    free(item);
    item = next;
  }
  tick->head = NULL;
  tick->tail = &tick->head;
  uv_close((uv_handle_t *)&tick->idle, cb);
}

/* ---------------------------------------------------------------------- */
/* Signals                                                                 */

/* The names are base's table (BASE_SIGNAL_MAP); the C cluster's API also
 * takes the short name and the number, as process.kill() does. */
int sim_signal_from_name(const char *name)
{
  char full[32];
  char *end;
  long n;

  if (name == NULL || *name == '\0')
    return 0;
  if (isdigit((unsigned char)*name)) {
    n = strtol(name, &end, 10);
    if (*end != '\0' || n <= 0 || n >= NSIG)
      return 0;
    return (int)n;
  }
  if (strncmp(name, "SIG", 3) == 0)
    return base_signal_from_name(name);
  if (strlen(name) + 4 > sizeof(full))
    return 0;
  snprintf(full, sizeof(full), "SIG%s", name);
  return base_signal_from_name(full);
}

const char *sim_signal_name(int signum)
{
  return base_signal_name(signum);
}

/* ---------------------------------------------------------------------- */
/* Messages                                                                */

int sim__is_internal(const cJSON *msg)
{
  const cJSON *cmd;

  if (!cJSON_IsObject(msg))
    return 0;
  cmd = cJSON_GetObjectItemCaseSensitive(msg, "cmd");
  return cJSON_IsString(cmd) && strlen(cmd->valuestring) > 5 &&
         strncmp(cmd->valuestring, "NODE_", 5) == 0;
}

int sim__utf8_valid(const char *str, size_t n)
{
  const unsigned char *s = (const unsigned char *)str;
  size_t i = 0;

  while (i < n) {
    unsigned c = s[i];
    size_t len;
    unsigned cp;

    if (c < 0x80) {
      i++;
      continue;
    }
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return 0;
    }
    if (i + len > n)
      return 0;
    for (size_t k = 1; k < len; k++) {
      if ((s[i + k] & 0xc0) != 0x80)
        return 0;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return 0;
    i += len;
  }
  return 1;
}

/* ---------------------------------------------------------------------- */
/* Strings and environments                                                */

char *sim__strdup(const char *s)
{
  return s != NULL ? strdup(s) : NULL;
}

char **sim__strv_dup(const char *const *v)
{
  size_t n = 0;
  char **out;

  if (v == NULL)
    return NULL;
  while (v[n] != NULL)
    n++;
  out = calloc(n + 1, sizeof(*out));
  if (out == NULL)
    return NULL;
  for (size_t i = 0; i < n; i++) {
    out[i] = strdup(v[i]);
    if (out[i] == NULL) {
      sim__strv_free(out);
      return NULL;
    }
  }
  return out;
}

void sim__strv_free(char **v)
{
  if (v == NULL)
    return;
  for (size_t i = 0; v[i] != NULL; i++)
    free(v[i]);
  free(v);
}

static size_t key_len(const char *kv)
{
  const char *eq = strchr(kv, '=');
  return eq != NULL ? (size_t)(eq - kv) : strlen(kv);
}

static int env_put(char **env, size_t *n, const char *kv)
{
  size_t klen = key_len(kv);
  char *copy = strdup(kv);

  if (copy == NULL)
    return UV_ENOMEM;
  for (size_t i = 0; i < *n; i++) {
    if (key_len(env[i]) == klen && strncmp(env[i], kv, klen) == 0) {
      free(env[i]);
      env[i] = copy;
      return 0;
    }
  }
  env[(*n)++] = copy;
  return 0;
}

char **sim__env_merge(char *const *base, const char *const *a,
                      const char *const *b, const char *const *c)
{
  const char *const *layers[3] = { a, b, c };
  size_t cap = 1, n = 0;
  char **env;

  for (size_t i = 0; base != NULL && base[i] != NULL; i++)
    cap++;
  for (int l = 0; l < 3; l++)
    for (size_t i = 0; layers[l] != NULL && layers[l][i] != NULL; i++)
      cap++;
  env = calloc(cap, sizeof(*env));
  if (env == NULL)
    return NULL;
  for (size_t i = 0; base != NULL && base[i] != NULL; i++)
    if (env_put(env, &n, base[i]) != 0)
      goto fail;
  for (int l = 0; l < 3; l++)
    for (size_t i = 0; layers[l] != NULL && layers[l][i] != NULL; i++)
      if (env_put(env, &n, layers[l][i]) != 0)
        goto fail;
  return env;

fail:
  sim__strv_free(env);
  return NULL;
}

void sim__close_free(uv_handle_t *h)
{
  free(h);
}

uint64_t sim__now(void)
{
  return uv_hrtime();
}
