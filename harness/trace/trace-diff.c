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

/* The text of one event, or NULL (memory). */
static int item_of(norm_t *nm, const trace_event_t *e, proj_item_t *it)
{
  const cJSON *j = e->json;
  const char *em = e->cluster_emitter ? "cluster" : "worker";
  char exit_part[96] = "", *extra = NULL, *extra_text = NULL;
  const char *extra_key = NULL;

  memset(it, 0, sizeof(*it));
  it->ev = e->ev;
  it->index = e->index;
  if (e->has_exit) {
    const char *sig = e->signal > 0 ? base_signal_name(e->signal) : NULL;
    if (e->code >= 0)
      snprintf(exit_part, sizeof(exit_part), " code=%lld signal=%s",
               (long long)e->code, sig ? sig : e->signal < 0 ? "?" : "null");
    else
      snprintf(exit_part, sizeof(exit_part), " code=null signal=%s",
               sig ? sig : e->signal < 0 ? "?" : "null");
  }
  if (e->ev == TRACE_EV_LISTENING &&
      cJSON_GetObjectItemCaseSensitive(j, "address") != NULL) {
    extra_key = "address";
    extra = address_text(nm, cJSON_GetObjectItemCaseSensitive(j, "address"));
  } else if (cJSON_GetObjectItemCaseSensitive(j, "message") != NULL) {
    extra_key = "message";
    extra = canonical_json(cJSON_GetObjectItemCaseSensitive(j, "message"));
  } else if (cJSON_GetObjectItemCaseSensitive(j, "error") != NULL) {
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(j, "error");
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(err, "code");
    extra_key = "error";
    extra = strdup(cJSON_IsString(code) ? code->valuestring : "?");
  }
  if (extra_key != NULL) {
    if (extra == NULL)
      return UV_ENOMEM;
    extra_text = base_asprintf(" %s=%s", extra_key, extra);
    free(extra);
    if (extra_text == NULL)
      return UV_ENOMEM;
  }
  it->text = base_asprintf(
      "%s %s ead=%s connected=%s dead=%s member=%s state=%s%s%s", e->name,
      em, tri_name(e->ead), tri_name(e->connected), tri_name(e->dead),
      tri_name(e->member), e->state[0] ? e->state : "null", exit_part,
      extra_text ? extra_text : "");
  /* what does not depend on whether disconnect or exit came first */
  it->loose = base_asprintf("%s %s ead=%s%s", e->name, em,
                               tri_name(e->ead), exit_part);
  free(extra_text);
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

/* The same but for the order of disconnect and exit: the events before
 * the first of them are equal, and after it the disconnects, the exits and
 * the rest are each equal in order (the flags the order decides aside). */
static bool same_but_end_order(const proj_worker_t *a, const proj_worker_t *b)
{
  static const trace_ev_t groups[] = {TRACE_EV_DISCONNECT,
                                        TRACE_EV_EXIT, TRACE_EV_NONE};
  size_t i = 0, g;

  while (i < a->n && i < b->n && !is_end(a->items[i].ev) &&
         strcmp(a->items[i].text, b->items[i].text) == 0)
    i++;
  if (i >= a->n || i >= b->n || !is_end(a->items[i].ev) ||
      !is_end(b->items[i].ev))
    return false;
  for (g = 0; g < 3; g++) {
    size_t x = i, y = i;
    for (;;) {
      bool loose = groups[g] != TRACE_EV_NONE;
      while (x < a->n && (loose ? a->items[x].ev != groups[g]
                                : is_end(a->items[x].ev)))
        x++;
      while (y < b->n && (loose ? b->items[y].ev != groups[g]
                                : is_end(b->items[y].ev)))
        y++;
      if (x >= a->n || y >= b->n) {
        if (x < a->n || y < b->n)
          return false;
        break;
      }
      if (strcmp(loose ? a->items[x].loose : a->items[x].text,
                 loose ? b->items[y].loose : b->items[y].text) != 0)
        return false;
      x++;
      y++;
    }
  }
  return true;
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

int trace_projection_diff(const trace_projection_t *a,
                            const char *label_a,
                            const trace_projection_t *b,
                            const char *label_b, base_diag_t *out)
{
  static const proj_worker_t none = {NULL, 0, 0};
  unsigned n = a->n_w > b->n_w ? a->n_w : b->n_w, id;
  size_t width = strlen(label_a) > strlen(label_b) ? strlen(label_a)
                                                   : strlen(label_b);
  int differ = 0;

  for (id = 1; id <= n; id++) {
    const proj_worker_t *x = id <= a->n_w ? &a->w[id - 1] : &none;
    const proj_worker_t *y = id <= b->n_w ? &b->w[id - 1] : &none;
    size_t k = 0;

    if (x->n == 0 && y->n == 0)
      continue;
    while (k < x->n && k < y->n &&
           strcmp(x->items[k].text, y->items[k].text) == 0)
      k++;
    if (k == x->n && k == y->n)
      continue;
    if (same_but_end_order(x, y)) {
      base_diag_addf(out, "  worker %u: the same but for the order of "
                        "disconnect and exit, which Node does not fix", id);
      continue;
    }
    /* a trace cut short (the primary was killed) says nothing of what
     * would have followed */
    if ((k == x->n && !a->complete) || (k == y->n && !b->complete)) {
      base_diag_addf(out, "  worker %u: the same as far as the "
                        "incomplete trace (%s) goes", id,
                        k == x->n && !a->complete ? label_a : label_b);
      continue;
    }
    differ++;
    if (x->n == 0 || y->n == 0) {
      const proj_worker_t *has = x->n ? x : y;
      base_diag_addf(out, "  worker %u: only in %s (%zu event%s, from "
                        "#%u)", id, x->n ? label_a : label_b, has->n,
                        has->n == 1 ? "" : "s", has->items[0].index);
      continue;
    }
    base_diag_addf(out, "  worker %u: first difference at its event %zu:",
                      id, k + 1);
    show(out, label_a, width, x, k);
    show(out, label_b, width, y, k);
  }
  return differ;
}
