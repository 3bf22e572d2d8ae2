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
 * of failing: Node emits `disconnect` and `exit` in either order, and a
 * trace that is not complete (the primary was killed) may stop early. Only
 * an order the two runs really chose differently excuses the flags that
 * order decides (order_decided()); every other part is still compared,
 * and every difference names the parts it is in.
 */
#include "trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The parts of an event that are compared, each kept as text so that a
 * difference can name the parts it is in. */
enum {
  F_EVENT = 0,             /* name and emitter */
  F_EAD,
  F_CONNECTED,
  F_DEAD,
  F_MEMBER,
  F_STATE,
  F_EXIT,                  /* code and signal */
  F_DETAIL,                /* address, message or error */
  F_COUNT
};

static const char *const field_names[F_COUNT] = {
  "the event", "exitedAfterDisconnect", "isConnected()", "isDead()",
  "member", "state", "the exit status", NULL /* named by its key */
};

typedef struct {
  trace_ev_t ev;
  uint32_t index;          /* the event's index in its trace */
  char *f[F_COUNT];        /* every part compared */
  char *text;              /* all of them, as shown */
  const char *detail_key;  /* "address", "message", "error" or NULL */
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
 * something across runs; "" when there is none, NULL when out of memory.
 * *key names it. */
static char *detail_text(norm_t *nm, const trace_event_t *e,
                         const char **key)
{
  const cJSON *j = e->json;
  const cJSON *addr = cJSON_GetObjectItemCaseSensitive(j, "address");
  const cJSON *msg = cJSON_GetObjectItemCaseSensitive(j, "message");
  const cJSON *err = cJSON_GetObjectItemCaseSensitive(j, "error");
  char *value, *text;

  *key = NULL;
  if (e->ev == TRACE_EV_LISTENING && addr != NULL) {
    *key = "address";
    value = address_text(nm, addr);
  } else if (msg != NULL) {
    *key = "message";
    value = canonical_json(msg);
  } else if (err != NULL) {
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(err, "code");
    *key = "error";
    value = strdup(cJSON_IsString(code) ? code->valuestring : "?");
  } else {
    return strdup("");
  }
  if (value == NULL)
    return NULL;
  text = base_asprintf(" %s=%s", *key, value);
  free(value);
  return text;
}

static void item_free(proj_item_t *it)
{
  int k;

  for (k = 0; k < F_COUNT; k++)
    free(it->f[k]);
  free(it->text);
  memset(it, 0, sizeof(*it));
}

/* The parts of one event; UV_ENOMEM leaves nothing allocated. */
static int item_of(norm_t *nm, const trace_event_t *e, proj_item_t *it)
{
  const char *em = e->cluster_emitter ? "cluster" : "worker";
  char exit_part[96];
  int k;

  memset(it, 0, sizeof(*it));
  it->ev = e->ev;
  it->index = e->index;
  exit_text(exit_part, sizeof(exit_part), e);
  it->f[F_EVENT] = base_asprintf("%s %s", e->name, em);
  it->f[F_EAD] = base_asprintf(" ead=%s", tri_name(e->ead));
  it->f[F_CONNECTED] = base_asprintf(" connected=%s",
                                     tri_name(e->connected));
  it->f[F_DEAD] = base_asprintf(" dead=%s", tri_name(e->dead));
  it->f[F_MEMBER] = base_asprintf(" member=%s", tri_name(e->member));
  it->f[F_STATE] = base_asprintf(" state=%s",
                                 e->state[0] ? e->state : "null");
  it->f[F_EXIT] = strdup(exit_part);
  it->f[F_DETAIL] = detail_text(nm, e, &it->detail_key);
  for (k = 0; k < F_COUNT; k++)
    if (it->f[k] == NULL) {
      item_free(it);
      return UV_ENOMEM;
    }
  it->text = base_asprintf("%s%s%s%s%s%s%s%s", it->f[0], it->f[1], it->f[2],
                           it->f[3], it->f[4], it->f[5], it->f[6], it->f[7]);
  if (it->text == NULL) {
    item_free(it);
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
    for (k = 0; k < p->w[i].n; k++)
      item_free(&p->w[i].items[k]);
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
    if ((rc = push_item(p, e->worker, &it)) != 0)
      item_free(&it);
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

/* The parts of an end event that the order of disconnect and exit decides
 * in Node: isDead() at `disconnect` (true when the exit came first),
 * isConnected() at `exit` (the channel may close before or after), and
 * membership at either (the worker leaves at the later one). */
static unsigned order_decided(trace_ev_t ev)
{
  if (ev == TRACE_EV_DISCONNECT)
    return 1u << F_DEAD | 1u << F_MEMBER;
  if (ev == TRACE_EV_EXIT)
    return 1u << F_CONNECTED | 1u << F_MEMBER;
  return 0;
}

/* The parts of two events that differ, leaving out those in `skip`. */
static unsigned parts_differ(const proj_item_t *a, const proj_item_t *b,
                             unsigned skip)
{
  unsigned m = 0;
  int k;

  if (strcmp(a->f[F_EVENT], b->f[F_EVENT]) != 0)
    return 1u << F_EVENT;
  for (k = 0; k < F_COUNT; k++)
    if (!(skip & (1u << k)) && strcmp(a->f[k], b->f[k]) != 0)
      m |= 1u << k;
  return m;
}

/* "ead, dead", "the event": what a mask of parts names. */
static void parts_text(char *buf, size_t len, unsigned m,
                       const proj_item_t *it)
{
  size_t used = 0;
  int k, n = 0;

  buf[0] = '\0';
  for (k = 0; k < F_COUNT && used + 2 < len; k++) {
    const char *name = k == F_DETAIL ? it->detail_key : field_names[k];
    if (!(m & (1u << k)))
      continue;
    used += (size_t)snprintf(buf + used, len - used, "%s%s", n++ ? ", " : "",
                             name != NULL ? name : "the detail");
  }
}

/* Which end event of a worker comes first: TRACE_EV_NONE unless it has
 * both. */
static trace_ev_t first_end(const proj_worker_t *w)
{
  bool d = false, e = false;
  trace_ev_t first = TRACE_EV_NONE;
  size_t i;

  for (i = 0; i < w->n; i++) {
    if (!is_end(w->items[i].ev))
      continue;
    if (first == TRACE_EV_NONE)
      first = w->items[i].ev;
    d |= w->items[i].ev == TRACE_EV_DISCONNECT;
    e |= w->items[i].ev == TRACE_EV_EXIT;
  }
  return d && e ? first : TRACE_EV_NONE;
}

/* Where two workers part when the order of their ends is not compared:
 * the items of `group` (TRACE_EV_NONE: all but the ends) side by side, the
 * ends without the parts their order decides. Returns whether they part,
 * with the two items and the parts in *x, *y, *m. */
static bool part_in_group(const proj_worker_t *a, const proj_worker_t *b,
                          trace_ev_t group, size_t *x, size_t *y, unsigned *m)
{
  bool ends = group != TRACE_EV_NONE;

  for (*x = 0, *y = 0;; (*x)++, (*y)++) {
    while (*x < a->n && (ends ? a->items[*x].ev != group
                              : is_end(a->items[*x].ev)))
      (*x)++;
    while (*y < b->n && (ends ? b->items[*y].ev != group
                              : is_end(b->items[*y].ev)))
      (*y)++;
    if (*x >= a->n || *y >= b->n) {
      *m = 1u << F_EVENT;
      return *x < a->n || *y < b->n;
    }
    *m = parts_differ(&a->items[*x], &b->items[*y], order_decided(group));
    if (*m != 0)
      return true;
  }
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

/* Node emits disconnect and exit in either order: when the two runs chose
 * differently, everything else must still agree. 0 when it does (a note
 * says so), 1 when it does not (the first difference, with its parts). */
static int diff_end_order(const diff_t *d, unsigned id,
                          const proj_worker_t *x, const proj_worker_t *y)
{
  static const trace_ev_t groups[] = {TRACE_EV_NONE, TRACE_EV_DISCONNECT,
                                      TRACE_EV_EXIT};
  size_t i, kx = 0, ky = 0;
  unsigned m = 0;
  char parts[160];

  for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
    if (part_in_group(x, y, groups[i], &kx, &ky, &m))
      break;
  if (i == sizeof(groups) / sizeof(groups[0])) {
    base_diag_addf(d->out, "  worker %u: the same but for the order of "
                   "disconnect and exit, which Node does not fix", id);
    return 0;
  }
  parts_text(parts, sizeof(parts), m, kx < x->n ? &x->items[kx]
                                                 : &y->items[ky]);
  base_diag_addf(d->out, "  worker %u: disconnect and exit come in another "
                 "order, which Node does not fix, and differ in %s:", id,
                 parts);
  show(d->out, d->label_a, d->width, x, kx);
  show(d->out, d->label_b, d->width, y, ky);
  return 1;
}

/* The first difference, in the order both runs saw their events. */
static int diff_first(const diff_t *d, unsigned id, const proj_worker_t *x,
                      const proj_worker_t *y, size_t k)
{
  char parts[160];

  if (k < x->n && k < y->n) {
    parts_text(parts, sizeof(parts),
               parts_differ(&x->items[k], &y->items[k], 0), &x->items[k]);
    base_diag_addf(d->out, "  worker %u: first difference at its event %zu, "
                   "in %s:", id, k + 1, parts);
  } else {
    base_diag_addf(d->out, "  worker %u: first difference at its event %zu:",
                   id, k + 1);
  }
  show(d->out, d->label_a, d->width, x, k);
  show(d->out, d->label_b, d->width, y, k);
  return 1;
}

/* Compares one worker's projections; 1 when they differ. */
static int diff_worker(const diff_t *d, unsigned id, const proj_worker_t *x,
                       const proj_worker_t *y)
{
  trace_ev_t ex = first_end(x), ey = first_end(y);
  size_t k = 0;

  if (x->n == 0 && y->n == 0)
    return 0;
  while (k < x->n && k < y->n &&
         strcmp(x->items[k].text, y->items[k].text) == 0)
    k++;
  if (k == x->n && k == y->n)
    return 0;
  /* only an order the runs really chose differently excuses the parts it
   * decides; with the same order, every part counts */
  if (ex != TRACE_EV_NONE && ey != TRACE_EV_NONE && ex != ey)
    return diff_end_order(d, id, x, y);
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
  return diff_first(d, id, x, y, k);
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
