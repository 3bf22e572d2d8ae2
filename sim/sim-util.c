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

/* The prepare phase: the last thing a loop turn does before it polls. */
static void tick_run_late(uv_prepare_t *prepare)
{
  sim__tick_t *tick = prepare->data;
  sim__late_t *batch = tick->late;

  /* Detached first: work queued by a call runs at the next turn's end. */
  tick->late = NULL;
  tick->turn++;
  if (batch == NULL) {
    uv_unref((uv_handle_t *)prepare);  /* a cancel emptied the list */
    return;
  }
  batch->pprev = &batch;
  while (batch != NULL) {
    sim__late_t *late = batch;
    batch = late->next;
    if (batch != NULL)
      batch->pprev = &batch;
    late->next = NULL;
    late->pprev = NULL;
    late->fn(late);
  }
  if (tick->late == NULL)
    uv_unref((uv_handle_t *)prepare);
}

int sim__tick_init(uv_loop_t *loop, sim__tick_t *tick)
{
  memset(tick, 0, sizeof(*tick));
  tick->turn = 1;
  tick->tail = &tick->head;
  tick->idle.data = tick;
  tick->prepare.data = tick;
  /* Neither can fail on a live loop (libuv only links them in). The
   * prepare handle runs at every turn, which costs less than starting
   * and stopping it at most turns; it keeps the loop alive only while
   * work is queued. */
  (void)uv_idle_init(loop, &tick->idle);
  (void)uv_prepare_init(loop, &tick->prepare);
  (void)uv_prepare_start(&tick->prepare, tick_run_late);
  uv_unref((uv_handle_t *)&tick->prepare);
  return 0;
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

int sim__tick_late(sim__tick_t *tick, sim__late_t *late)
{
  if (tick->closing)
    return UV_ECANCELED;
  if (late->pprev != NULL)
    return 0;                  /* already queued */
  late->next = tick->late;
  if (late->next != NULL)
    late->next->pprev = &late->next;
  late->pprev = &tick->late;
  tick->late = late;
  uv_ref((uv_handle_t *)&tick->prepare);
  return 0;
}

void sim__tick_late_cancel(sim__late_t *late)
{
  if (late->pprev == NULL)
    return;
  *late->pprev = late->next;
  if (late->next != NULL)
    late->next->pprev = late->pprev;
  late->next = NULL;
  late->pprev = NULL;
}

static void tick_closed(uv_handle_t *h)
{
  sim__tick_t *tick = h->data;

  if (--tick->closes == 0 && tick->close_cb != NULL)
    tick->close_cb(tick->close_arg);
}

void sim__tick_close(sim__tick_t *tick, void (*cb)(void *arg), void *arg)
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
  while (tick->late != NULL)
    sim__tick_late_cancel(tick->late);
  tick->close_cb = cb;
  tick->close_arg = arg;
  tick->closes = 2;
  uv_close((uv_handle_t *)&tick->idle, tick_closed);
  uv_close((uv_handle_t *)&tick->prepare, tick_closed);
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
  /* Longer than "NODE_": a sixth character follows the prefix. */
  return cJSON_IsString(cmd) && strncmp(cmd->valuestring, "NODE_", 5) == 0 &&
         cmd->valuestring[5] != '\0';
}

int sim__utf8_valid(const char *str, size_t n)
{
  const unsigned char *s = (const unsigned char *)str;
  size_t i = 0;

  while (i < n) {
    unsigned c;
    size_t len;
    unsigned cp;

    /* Eight ASCII bytes at a time: messages are mostly ASCII. */
    if (i + 8 <= n) {
      uint64_t w;
      memcpy(&w, s + i, 8);
      if ((w & 0x8080808080808080ull) == 0) {
        i += 8;
        continue;
      }
    }
    c = s[i];
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
