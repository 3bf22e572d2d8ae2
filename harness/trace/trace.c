/*
 * The trace of a run: every record from the agent, the workers, the
 * harness and the load generator, kept as the JSON it arrived as plus the
 * fields the oracle needs, ordered by CLOCK_MONOTONIC time (arrival order
 * breaks ties) and written as JSON lines.
 */
#include "trace.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A run with a busy load generator stays far below this; past it the trace
 * keeps its head and drops the rest (reported in the header). */
#define MAX_TRACE_EVENTS 200000

void trace_init(trace_t *tr, uint64_t t0)
{
  memset(tr, 0, sizeof(*tr));
  tr->t0 = t0;
}

void trace_free(trace_t *tr)
{
  size_t i;

  for (i = 0; i < tr->count; i++)
    cJSON_Delete(tr->events[i].json);
  free(tr->events);
  cJSON_Delete(tr->meta);
  memset(tr, 0, sizeof(*tr));
}

static int tri(const cJSON *j, const char *key)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);

  if (cJSON_IsTrue(v))
    return 1;
  if (cJSON_IsFalse(v))
    return 0;
  return -1;
}

static void copy_str(char *dst, size_t len, const cJSON *j, const char *key)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);

  if (cJSON_IsString(v))
    snprintf(dst, len, "%s", v->valuestring);
}

/* A number of a record as a whole number in [lo, hi]: a trace file or an
 * agent may write 1e300 (or -1e300), and a conversion out of range is
 * undefined behaviour. */
static double within(double v, double lo, double hi)
{
  return !(v >= lo) ? lo : v > hi ? hi : v;
}

static unsigned uint_of(const cJSON *j, const char *key)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);

  if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1e9)
    return (unsigned)v->valuedouble;
  return 0;
}

/* What a record's "type" says: who reported it, and which key names it. */
static const struct {
  const char *type;
  trace_src_t src;
  const char *name_key;
  const char *prefix;      /* worker observations get their own names */
} record_types[] = {
  {"event", TRACE_SRC_AGENT, "event", ""},
  {"policy", TRACE_SRC_POLICY, "action", ""},
  /* the primary's own handles: handle-listening, handle-connection... */
  {"handle", TRACE_SRC_POLICY, "what", "handle-"},
  /* a silent worker's line, or the end of one of its streams: "output" */
  {"output", TRACE_SRC_POLICY, "", "output"},
  {"observe", TRACE_SRC_WORKER, "what", "worker-"},
  {"action", TRACE_SRC_HARNESS, "action", ""},
  {"process", TRACE_SRC_HARNESS, "what", ""},
  {"load", TRACE_SRC_LOAD, "what", ""},
  /* what the harness measured of a process: "memory" */
  {"sample", TRACE_SRC_SAMPLE, "what", ""},
};

static void classify(trace_event_t *e, const cJSON *json)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(json, "type");
  const char *type = cJSON_IsString(v) ? v->valuestring : "";
  char what[40] = "";
  size_t i;

  for (i = 0; i < sizeof(record_types) / sizeof(record_types[0]); i++)
    if (strcmp(type, record_types[i].type) == 0)
      break;
  if (i == sizeof(record_types) / sizeof(record_types[0])) {
    /* anything else is output of a process: its type names it */
    e->src = TRACE_SRC_LOG;
    snprintf(e->name, sizeof(e->name), "%s", type);
    return;
  }
  e->src = record_types[i].src;
  copy_str(what, sizeof(what), json, record_types[i].name_key);
  snprintf(e->name, sizeof(e->name), "%s%s", record_types[i].prefix, what);
  v = cJSON_GetObjectItemCaseSensitive(json, "emitter");
  e->cluster_emitter = e->src == TRACE_SRC_AGENT && cJSON_IsString(v) &&
                       strcmp(v->valuestring, "cluster") == 0;
  /* a measure is never an event, whatever its name */
  if (e->src != TRACE_SRC_LOAD && e->src != TRACE_SRC_SAMPLE)
    e->ev = trace_ev_from_name(e->name);
  /* harness actions share names with events (fork, disconnect...): they
   * are not the events themselves */
  if (e->src == TRACE_SRC_HARNESS && e->ev != TRACE_EV_PRIMARY_EXIT)
    e->ev = TRACE_EV_NONE;
}

/* The exit status: a code, a signal, or both null ("has_exit" all the
 * same: the record said so). */
static void read_exit(trace_event_t *e, const cJSON *json)
{
  const cJSON *code = cJSON_GetObjectItemCaseSensitive(json, "code");
  const cJSON *sig = cJSON_GetObjectItemCaseSensitive(json, "signal");

  if (code == NULL && sig == NULL)
    return;
  e->has_exit = true;
  e->code = cJSON_IsNumber(code)
                ? (int64_t)within(code->valuedouble, -1e15, 1e15) : -1;
  if (!cJSON_IsString(sig))
    return;
  e->signal = base_signal_from_name(sig->valuestring);
  if (e->signal == 0)
    e->signal = -1; /* a name we do not know: still not null */
}

static void read_fields(trace_event_t *e, const cJSON *json)
{
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(json, "t");

  if (cJSON_IsNumber(t) && t->valuedouble > 0)
    e->t = (uint64_t)within(t->valuedouble, 0, 9e18);
  e->worker = uint_of(json, "worker");
  /* a replacement names its worker as "new" */
  if (e->src == TRACE_SRC_POLICY && e->worker == 0)
    e->worker = uint_of(json, "new");
  e->pid = (int)uint_of(json, "pid");
  e->line = uint_of(json, "line");
  e->ead = tri(json, "ead");
  e->connected = tri(json, "connected");
  e->dead = tri(json, "dead");
  e->member = tri(json, "member");
  copy_str(e->state, sizeof(e->state), json, "state");
  read_exit(e, json);
}

static int grow(trace_t *tr)
{
  size_t cap;
  trace_event_t *n;

  if (tr->count < tr->cap)
    return 0;
  cap = tr->cap ? tr->cap * 2 : 64;
  n = realloc(tr->events, cap * sizeof(*n));
  if (n == NULL)
    return UV_ENOMEM;
  tr->events = n;
  tr->cap = cap;
  return 0;
}

int trace_add(trace_t *tr, cJSON *json)
{
  trace_event_t *e;
  int rc;

  if (json == NULL)
    return UV_EINVAL;
  rc = tr->count >= MAX_TRACE_EVENTS ? UV_ENOBUFS : grow(tr);
  if (rc != 0) {
    cJSON_Delete(json);
    return rc;
  }
  e = &tr->events[tr->count];
  memset(e, 0, sizeof(*e));
  e->json = json;
  e->arrival = (uint32_t)tr->count;
  e->index = (uint32_t)tr->count;
  classify(e, json);
  read_fields(e, json);
  tr->count++;
  tr->sorted = false;
  return 0;
}

int trace_addf(trace_t *tr, const char *fmt, ...)
{
  va_list ap;
  char *text;
  cJSON *j;

  va_start(ap, fmt);
  text = base_vasprintf(fmt, ap);
  va_end(ap);
  if (text == NULL)
    return UV_ENOMEM;
  j = cJSON_Parse(text);
  free(text);
  if (j == NULL)
    return UV_EINVAL;
  return trace_add(tr, j);
}

static int cmp_events(const void *a, const void *b)
{
  const trace_event_t *x = a, *y = b;

  if (x->t != y->t)
    return x->t < y->t ? -1 : 1;
  return x->arrival < y->arrival ? -1 : x->arrival > y->arrival;
}

void trace_finish(trace_t *tr)
{
  size_t i;

  if (tr->sorted)
    return;
  if (tr->count > 1)
    qsort(tr->events, tr->count, sizeof(*tr->events), cmp_events);
  for (i = 0; i < tr->count; i++)
    tr->events[i].index = (uint32_t)i;
  tr->sorted = true;
}

double trace_secs(const trace_t *tr, uint64_t t)
{
  if (t < tr->t0)
    return -(double)(tr->t0 - t) / 1e9;
  return (double)(t - tr->t0) / 1e9;
}

void trace_event_describe(const trace_t *tr,
                            const trace_event_t *e, char *buf, size_t len)
{
  const char *emitter = e->src == TRACE_SRC_AGENT && e->cluster_emitter &&
                                !trace_event_is(e, e->ev, false)
                            ? "cluster " : "";

  snprintf(buf, len, "%s%s at %.3f s (event #%u)", emitter,
           e->name[0] ? e->name : "?", trace_secs(tr, e->t),
           e->index);
}

/* ---------------------------------------------------------------------- */

static cJSON *header(const trace_t *tr)
{
  cJSON *h = tr->meta ? cJSON_Duplicate(tr->meta, true) : cJSON_CreateObject();

  if (h == NULL)
    return NULL;
  cJSON_DeleteItemFromObject(h, "type");
  cJSON_AddStringToObject(h, "type", "trace");
  cJSON_AddNumberToObject(h, "version", 1);
  cJSON_AddNumberToObject(h, "t0", (double)tr->t0);
  cJSON_AddBoolToObject(h, "complete", tr->complete);
  cJSON_AddNumberToObject(h, "events", (double)tr->count);
  return h;
}

int trace_write(const trace_t *tr, const char *path)
{
  FILE *f;
  cJSON *h;
  char *line;
  size_t i;
  int rc = 0;

  f = fopen(path, "we");
  if (f == NULL)
    return -errno;
  h = header(tr);
  line = h ? cJSON_PrintUnformatted(h) : NULL;
  cJSON_Delete(h);
  if (line == NULL) {
    rc = UV_ENOMEM;
    goto out;
  }
  fprintf(f, "%s\n", line);
  free(line);
  for (i = 0; i < tr->count; i++) {
    cJSON *j = tr->events[i].json;
    cJSON_DeleteItemFromObjectCaseSensitive(j, "i");
    cJSON_AddNumberToObject(j, "i", tr->events[i].index);
    line = cJSON_PrintUnformatted(j);
    if (line == NULL) {
      rc = UV_ENOMEM;
      goto out;
    }
    fprintf(f, "%s\n", line);
    free(line);
  }
out:
  if (fclose(f) != 0 && rc == 0)
    rc = -errno;
  return rc;
}

int trace_parse(const char *text, trace_t *tr,
                        base_diag_t *diag)
{
  const char *p = text;
  unsigned lineno = 0;
  int rc = 0;

  while (*p != '\0') {
    const char *end = strchr(p, '\n');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    char *line;
    cJSON *j, *type;

    lineno++;
    line = strndup(p, len);
    p += len + (end ? 1 : 0);
    if (line == NULL)
      return UV_ENOMEM;
    if (strspn(line, " \t\r") == len) {
      free(line);
      continue;
    }
    j = cJSON_Parse(line);
    free(line);
    if (!cJSON_IsObject(j)) {
      cJSON_Delete(j);
      base_diag_addf(diag, "trace line %u: not a JSON object", lineno);
      rc = UV_EINVAL;
      continue;
    }
    type = cJSON_GetObjectItemCaseSensitive(j, "type");
    if (cJSON_IsString(type) && strcmp(type->valuestring, "trace") == 0) {
      cJSON *t0 = cJSON_GetObjectItemCaseSensitive(j, "t0");
      if (cJSON_IsNumber(t0))
        tr->t0 = (uint64_t)within(t0->valuedouble, 0, 9e18);
      tr->complete =
          cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "complete"));
      cJSON_Delete(tr->meta);
      tr->meta = j;
      continue;
    }
    if (!cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(j, "t"))) {
      cJSON_Delete(j);
      base_diag_addf(diag, "trace line %u: no time \"t\"", lineno);
      rc = UV_EINVAL;
      continue;
    }
    if ((rc = trace_add(tr, j)) == UV_ENOMEM)
      return rc;
  }
  trace_finish(tr);
  return rc;
}

int trace_read(const char *path, trace_t *tr,
                       base_diag_t *diag)
{
  FILE *f = fopen(path, "re");
  char *buf = NULL;
  size_t cap = 0, len = 0, n;
  int rc;

  if (f == NULL) {
    rc = -errno;
    base_diag_addf(diag, "%s: error: %s", path, strerror(errno));
    return rc;
  }
  for (;;) {
    if (cap - len < 65536) {
      char *bigger;
      if (cap > (size_t)512 * 1024 * 1024) {
        free(buf);
        fclose(f);
        base_diag_addf(diag, "%s: error: trace too large", path);
        return UV_EFBIG;
      }
      cap = cap ? cap * 2 : 131072;
      bigger = realloc(buf, cap);
      if (bigger == NULL) {
        free(buf);
        fclose(f);
        return UV_ENOMEM;
      }
      buf = bigger;
    }
    n = fread(buf + len, 1, cap - len - 1, f);
    len += n;
    if (n == 0)
      break;
  }
  fclose(f);
  buf[len] = '\0';
  rc = trace_parse(buf, tr, diag);
  free(buf);
  return rc;
}
