/*
 * Differential runs: the per-worker projection of a trace, and the first
 * difference per worker between two of them.
 *
 * A projection keeps, for each worker id, its cluster and Worker events in
 * trace order as text: event, emitter, the sampled flags, code and signal,
 * and the details that mean something across runs (a listening address
 * with its port numbered by first appearance, a message in canonical JSON,
 * an error's code). Pids, times and real port numbers are left out, and so
 * are the heartbeat's pings and pongs, which are the harness's traffic.
 *
 * Two differences are not divergences, and the comparison says so instead
 * of failing: Node emits `disconnect` and `exit` in either order (and the
 * flags sampled at them follow the order), and a trace that is not
 * complete (the primary was killed) may stop early.
 */
#include "trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  trace_ev_t ev;
  uint32_t index;          /* the event's index in its trace */
  char *text;              /* everything compared */
  char *loose;             /* without the flags the end order decides */
} proj_item_t;

typedef struct {
  proj_item_t *items;
  size_t n, cap;
} proj_worker_t;

struct trace_projection_s {
  proj_worker_t *w;        /* index id-1 */
  unsigned n_w;
  bool complete;
};

/* Upper bounds: a projection is for reading, not for storing a flood. */
#define MAX_WORKERS 4096
#define MAX_PORTS 64

static const char *tri_name(int v)
{
  return v < 0 ? "null" : v ? "true" : "false";
}

static int cmp_child(const void *a, const void *b)
{
  const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;

  return strcmp(x->string ? x->string : "", y->string ? y->string : "");
}

/* Sorts the keys of every object in place, so that {"a":1,"b":2} and
 * {"b":2,"a":1} print the same. Bounded by the message's own size. */
static int sort_keys(cJSON *j, unsigned depth)
{
  cJSON *c, **v;
  size_t n = 0, i;
  int rc = 0;

  if (j == NULL || depth > 64)
    return 0;
  for (c = j->child; c != NULL; c = c->next)
    if ((rc = sort_keys(c, depth + 1)) != 0)
      return rc;
  if (!cJSON_IsObject(j) || j->child == NULL)
    return 0;
  for (c = j->child; c != NULL; c = c->next)
    n++;
  v = malloc(n * sizeof(*v));
  if (v == NULL)
    return UV_ENOMEM;
  for (i = 0, c = j->child; c != NULL; c = c->next)
    v[i++] = c;
  qsort(v, n, sizeof(*v), cmp_child);
  for (i = 0; i < n; i++) {
    v[i]->prev = i == 0 ? v[n - 1] : v[i - 1]; /* cJSON: child->prev is the
                                                  last item */
    v[i]->next = i + 1 < n ? v[i + 1] : NULL;
  }
  j->child = v[0];
  free(v);
  return 0;
}

static char *canonical_json(const cJSON *j)
{
  cJSON *d = cJSON_Duplicate(j, true);
  char *s = NULL;

  if (d != NULL && sort_keys(d, 0) == 0)
    s = cJSON_PrintUnformatted(d);
  cJSON_Delete(d);
  return s;
}

typedef struct {
  double ports[MAX_PORTS];
  unsigned n_ports;
} norm_t;

/* "127.0.0.1 addressType=4 port=P1": the port is the n-th one seen. */
static char *address_text(norm_t *nm, const cJSON *addr)
{
  cJSON *d = cJSON_Duplicate(addr, true);
  cJSON *port = cJSON_GetObjectItemCaseSensitive(d, "port");
  char *s;
  unsigned k;

  if (d == NULL)
    return NULL;
  if (cJSON_IsNumber(port)) {
    char name[16];
    for (k = 0; k < nm->n_ports && nm->ports[k] != port->valuedouble; k++)
      ;
    if (k == nm->n_ports && k < MAX_PORTS)
      nm->ports[nm->n_ports++] = port->valuedouble;
    snprintf(name, sizeof(name), "P%u", k + 1);
    cJSON_ReplaceItemInObjectCaseSensitive(d, "port",
                                           cJSON_CreateString(name));
  }
  s = canonical_json(d);
  cJSON_Delete(d);
  return s;
}

static bool is_heartbeat(const cJSON *msg)
{
  return cJSON_IsObject(msg) &&
         cJSON_GetObjectItemCaseSensitive(msg, "clustersim") != NULL;
}

/* " code=0 signal=null": how the exit went, when the record says. */
static void exit_text(char *buf, size_t len, const trace_event_t *e)
{
  const char *sig = e->signal > 0 ? base_signal_name(e->signal) : NULL;
  const char *sig_text = sig ? sig : e->signal < 0 ? "?" : "null";

  buf[0] = '\0';
  if (!e->has_exit)
    return;
  if (e->code >= 0)
    snprintf(buf, len, " code=%lld signal=%s", (long long)e->code, sig_text);
  else
    snprintf(buf, len, " code=null signal=%s", sig_text);
}

/* " address=...", " message=..." or " error=CODE": the detail that means
 * something across runs; "" when there is none, NULL when out of memory. */
static char *detail_text(norm_t *nm, const trace_event_t *e)
{
  const cJSON *j = e->json;
  const cJSON *addr = cJSON_GetObjectItemCaseSensitive(j, "address");
  const cJSON *msg = cJSON_GetObjectItemCaseSensitive(j, "message");
  const cJSON *err = cJSON_GetObjectItemCaseSensitive(j, "error");
  const char *key;
  char *value, *text;

  if (e->ev == TRACE_EV_LISTENING && addr != NULL) {
    key = "address";
    value = address_text(nm, addr);
  } else if (msg != NULL) {
    key = "message";
    value = canonical_json(msg);
  } else if (err != NULL) {
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(err, "code");
    key = "error";
    value = strdup(cJSON_IsString(code) ? code->valuestring : "?");
  } else {
    return strdup("");
  }
  if (value == NULL)
    return NULL;
  text = base_asprintf(" %s=%s", key, value);
  free(value);
  return text;
}

/* The texts of one event; UV_ENOMEM leaves nothing allocated. */
static int item_of(norm_t *nm, const trace_event_t *e, proj_item_t *it)
{
  const char *em = e->cluster_emitter ? "cluster" : "worker";
  char exit_part[96];
  char *detail = detail_text(nm, e);

  memset(it, 0, sizeof(*it));
  it->ev = e->ev;
  it->index = e->index;
  if (detail == NULL)
    return UV_ENOMEM;
  exit_text(exit_part, sizeof(exit_part), e);
  it->text = base_asprintf(
      "%s %s ead=%s connected=%s dead=%s member=%s state=%s%s%s", e->name,
      em, tri_name(e->ead), tri_name(e->connected), tri_name(e->dead),
      tri_name(e->member), e->state[0] ? e->state : "null", exit_part,
      detail);
  /* what does not depend on whether disconnect or exit came first */
  it->loose = base_asprintf("%s %s ead=%s%s", e->name, em,
                               tri_name(e->ead), exit_part);
  free(detail);
  if (it->text == NULL || it->loose == NULL) {
    free(it->text);
    free(it->loose);
    return UV_ENOMEM;
  }
  return 0;
}

void trace_projection_free(trace_projection_t *p)
{
  unsigned i;
  size_t k;

  if (p == NULL)
    return;
  for (i = 0; i < p->n_w; i++) {
    for (k = 0; k < p->w[i].n; k++) {
      free(p->w[i].items[k].text);
      free(p->w[i].items[k].loose);
    }
    free(p->w[i].items);
  }
  free(p->w);
  free(p);
}

static int push_item(trace_projection_t *p, unsigned id, proj_item_t *it)
{
  proj_worker_t *w;

  if (id > p->n_w) {
    unsigned n = id + 8, i;
    proj_worker_t *b = realloc(p->w, n * sizeof(*b));
    if (b == NULL)
      return UV_ENOMEM;
    for (i = p->n_w; i < n; i++)
      memset(&b[i], 0, sizeof(b[i]));
    p->w = b;
    p->n_w = n;
  }
  w = &p->w[id - 1];
  if (w->n == w->cap) {
    size_t cap = w->cap ? w->cap * 2 : 16;
    proj_item_t *b = realloc(w->items, cap * sizeof(*b));
    if (b == NULL)
      return UV_ENOMEM;
    w->items = b;
    w->cap = cap;
  }
  w->items[w->n++] = *it;
  return 0;
}

int trace_projection_of(const trace_t *tr,
                          trace_projection_t **out)
{
  trace_projection_t *p = calloc(1, sizeof(*p));
  norm_t nm;
  size_t i;
  int rc = 0;

  *out = NULL;
  if (p == NULL)
    return UV_ENOMEM;
  memset(&nm, 0, sizeof(nm));
  p->complete = tr->complete;
  for (i = 0; i < tr->count && rc == 0; i++) {
    const trace_event_t *e = &tr->events[i];
    proj_item_t it;
    if (e->src != TRACE_SRC_AGENT || e->worker == 0 ||
        e->worker > MAX_WORKERS)
      continue;
    if (e->ev == TRACE_EV_MESSAGE &&
        is_heartbeat(cJSON_GetObjectItemCaseSensitive(e->json, "message")))
      continue;
    if ((rc = item_of(&nm, e, &it)) != 0)
      break;
    if ((rc = push_item(p, e->worker, &it)) != 0) {
      free(it.text);
      free(it.loose);
    }
  }
  if (rc != 0) {
    trace_projection_free(p);
    return rc;
  }
  /* workers no event names are not workers */
  while (p->n_w > 0 && p->w[p->n_w - 1].n == 0)
    p->n_w--;
  *out = p;
  return 0;
}

/* ---------------------------------------------------------------------- */
/* Comparing                                                               */

static bool is_end(trace_ev_t ev)
{
  return ev == TRACE_EV_DISCONNECT || ev == TRACE_EV_EXIT;
}

/* From position i on, the items of `group` (TRACE_EV_NONE: all but the
 * ends) are equal in order: compared loosely for the ends, whose flags the
 * order decides. */
static bool same_group(const proj_worker_t *a, const proj_worker_t *b,
                       size_t i, trace_ev_t group)
{
  bool loose = group != TRACE_EV_NONE;
  size_t x = i, y = i;

  for (;; x++, y++) {
    while (x < a->n && (loose ? a->items[x].ev != group
                              : is_end(a->items[x].ev)))
      x++;
    while (y < b->n && (loose ? b->items[y].ev != group
                              : is_end(b->items[y].ev)))
      y++;
    if (x >= a->n || y >= b->n)
      return x >= a->n && y >= b->n;
    if (strcmp(loose ? a->items[x].loose : a->items[x].text,
               loose ? b->items[y].loose : b->items[y].text) != 0)
      return false;
  }
}

/* The same but for the order of disconnect and exit: the events before
 * the first of them are equal, and after it the disconnects, the exits and
 * the rest are each equal in order (the flags the order decides aside). */
static bool same_but_end_order(const proj_worker_t *a, const proj_worker_t *b)
{
  size_t i = 0;

  while (i < a->n && i < b->n && !is_end(a->items[i].ev) &&
         strcmp(a->items[i].text, b->items[i].text) == 0)
    i++;
  if (i >= a->n || i >= b->n || !is_end(a->items[i].ev) ||
      !is_end(b->items[i].ev))
    return false;
  return same_group(a, b, i, TRACE_EV_DISCONNECT) &&
         same_group(a, b, i, TRACE_EV_EXIT) &&
         same_group(a, b, i, TRACE_EV_NONE);
}

static void show(base_diag_t *out, const char *label, size_t width,
                 const proj_worker_t *w, size_t k)
{
  if (k < w->n)
    base_diag_addf(out, "    %-*s #%u %s", (int)width, label,
                      w->items[k].index, w->items[k].text);
  else
    base_diag_addf(out, "    %-*s nothing more (%zu event%s)",
                      (int)width, label, w->n, w->n == 1 ? "" : "s");
}

typedef struct {
  const char *label_a, *label_b;
  bool complete_a, complete_b;
  size_t width;
  base_diag_t *out;
} diff_t;

/* Compares one worker's projections; 1 when they differ. */
static int diff_worker(const diff_t *d, unsigned id, const proj_worker_t *x,
                       const proj_worker_t *y)
{
  size_t k = 0;

  if (x->n == 0 && y->n == 0)
    return 0;
  while (k < x->n && k < y->n &&
         strcmp(x->items[k].text, y->items[k].text) == 0)
    k++;
  if (k == x->n && k == y->n)
    return 0;
  if (same_but_end_order(x, y)) {
    base_diag_addf(d->out, "  worker %u: the same but for the order of "
                   "disconnect and exit, which Node does not fix", id);
    return 0;
  }
  /* a trace cut short (the primary was killed) says nothing of what
   * would have followed */
  if ((k == x->n && !d->complete_a) || (k == y->n && !d->complete_b)) {
    base_diag_addf(d->out, "  worker %u: the same as far as the "
                   "incomplete trace (%s) goes", id,
                   k == x->n && !d->complete_a ? d->label_a : d->label_b);
    return 0;
  }
  if (x->n == 0 || y->n == 0) {
    const proj_worker_t *has = x->n ? x : y;
    base_diag_addf(d->out, "  worker %u: only in %s (%zu event%s, from "
                   "#%u)", id, x->n ? d->label_a : d->label_b, has->n,
                   has->n == 1 ? "" : "s", has->items[0].index);
    return 1;
  }
  base_diag_addf(d->out, "  worker %u: first difference at its event %zu:",
                 id, k + 1);
  show(d->out, d->label_a, d->width, x, k);
  show(d->out, d->label_b, d->width, y, k);
  return 1;
}

int trace_projection_diff(const trace_projection_t *a,
                            const char *label_a,
                            const trace_projection_t *b,
                            const char *label_b, base_diag_t *out)
{
  static const proj_worker_t none = {NULL, 0, 0};
  unsigned n = a->n_w > b->n_w ? a->n_w : b->n_w, id;
  diff_t d = {label_a, label_b, a->complete, b->complete, 0, out};
  int differ = 0;

  d.width = strlen(label_a) > strlen(label_b) ? strlen(label_a)
                                              : strlen(label_b);
  for (id = 1; id <= n; id++)
    differ += diff_worker(&d, id, id <= a->n_w ? &a->w[id - 1] : &none,
                          id <= b->n_w ? &b->w[id - 1] : &none);
  return differ;
}
