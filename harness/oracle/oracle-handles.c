/*
 * `handles` and `output` expectations. Handles: what a worker did with the
 * handles that came with its messages (its `worker-handle` observations:
 * kind, action, message), or what the primary got from it
 * (`handle-received`). Output: the lines the primary reports of its silent
 * workers (`output` records), by stream, whole text or pattern, and the
 * bytes the bounds dropped (each stream's end record).
 */
#include "oracle-internal.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *word_of(const cJSON *item, const char *key)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(item, key);

  return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The records the expectation reads: of worker `w`, or of every worker. */
static const uint32_t *records_of(const oracle__expect_t *c, unsigned w,
                                  size_t *n)
{
  if (w != 0)
    return oracle__records(c, w, n);
  *n = c->tr->count;
  return NULL;
}

/* ---------------------------------------------------------------------- */
/* handles                                                                 */

/* Whether a handle record is one the item describes. */
static bool handle_matches(const cJSON *item, const trace_event_t *e,
                           bool to_primary)
{
  const char *kind = word_of(item, "kind");
  const char *action = word_of(item, "action");
  const cJSON *msg = cJSON_GetObjectItemCaseSensitive(item, "message");
  const char *k = word_of(e->json, "kind");
  const char *a = word_of(e->json, "action");

  if (e->ev != (to_primary ? TRACE_EV_HANDLE_RECEIVED : TRACE_EV_W_HANDLE))
    return false;
  if (kind != NULL && (k == NULL || strcmp(kind, k) != 0))
    return false;
  if (action != NULL && (a == NULL || strcmp(action, a) != 0))
    return false;
  return msg == NULL ||
         cJSON_Compare(msg, cJSON_GetObjectItemCaseSensitive(e->json,
                                                             "message"),
                       true);
}

/* "socket handles served by worker 2" */
static void handle_text(char *buf, size_t len, const cJSON *item,
                        bool to_primary, unsigned w)
{
  const char *kind = word_of(item, "kind");
  const char *action = word_of(item, "action");
  const cJSON *msg = cJSON_GetObjectItemCaseSensitive(item, "message");
  char *m = msg != NULL ? cJSON_PrintUnformatted(msg) : NULL;
  char who[32] = "any worker";

  if (w != 0)
    snprintf(who, sizeof(who), "worker %u", w);
  snprintf(buf, len, "%s%shandles %s %s%s%s%s", kind ? kind : "",
           kind ? " " : "",
           to_primary ? "the primary received from" : "received by", who,
           action ? " with action " : "", action ? action : "",
           m ? " and message " : "");
  if (m != NULL)
    snprintf(buf + strlen(buf), len - strlen(buf), "%s", m);
  cJSON_free(m);
}

static void handles_for(oracle__expect_t *c, unsigned w)
{
  const scenario_expect_t *e = c->e;
  const char *to = word_of(e->item, "to");
  bool to_primary = to != NULL && strcmp(to, "primary") == 0;
  const trace_event_t *last = NULL;
  const uint32_t *r;
  size_t n, i;
  int64_t seen = 0;
  char what[256], range[64];

  r = records_of(c, w, &n);
  for (i = 0; i < n; i++) {
    const trace_event_t *ev = &c->tr->events[r ? r[i] : i];
    if (!handle_matches(e->item, ev, to_primary))
      continue;
    last = ev;
    seen++;
  }
  if (oracle__expect_within(e, seen))
    return;
  oracle__expect_range_text(range, sizeof(range), e);
  handle_text(what, sizeof(what), e->item, to_primary, w);
  if (last != NULL)
    oracle__expect_fail(c, w, last, "expected %s %s, got %lld (the last: "
                        "%s)", range, what, (long long)seen,
                        oracle__describe(c, last));
  else
    oracle__expect_fail(c, w, NULL, "expected %s %s, got none", range, what);
}

void oracle__expect_handles(oracle__expect_t *c)
{
  size_t i, n;

  if (c->e->worker.kind == SCENARIO_W_ID) {
    handles_for(c, c->e->worker.id);
  } else if (c->e->worker.kind == SCENARIO_W_EACH) {
    n = oracle__n_forked(c);
    for (i = 0; i < n; i++)
      handles_for(c, oracle__forked_id(c, i));
  } else {
    handles_for(c, 0);
  }
}

/* ---------------------------------------------------------------------- */
/* output                                                                  */

typedef struct {
  const char *stream;        /* NULL: both */
  const char *line;          /* NULL: any */
  regex_t re;
  bool has_re;
} output_want_t;

static bool stream_is(const output_want_t *o, const trace_event_t *e)
{
  const char *s = word_of(e->json, "stream");

  return o->stream == NULL || (s != NULL && strcmp(s, o->stream) == 0);
}

static bool line_matches(const output_want_t *o, const trace_event_t *e)
{
  const char *line = word_of(e->json, "line");

  if (e->ev != TRACE_EV_OUTPUT || line == NULL || !stream_is(o, e))
    return false;
  if (o->line != NULL)
    return strcmp(o->line, line) == 0;
  return !o->has_re || regexec(&o->re, line, 0, NULL, 0) == 0;
}

/* "stdout lines of worker 1 equal to \"ready\"", "... matching /^t/" */
static void output_text(char *buf, size_t len, const output_want_t *o,
                        const char *pat, unsigned w)
{
  char who[32] = "any worker";

  if (w != 0)
    snprintf(who, sizeof(who), "worker %u", w);
  if (o->line != NULL)
    snprintf(buf, len, "%s lines of %s equal to \"%.1024s\"",
             o->stream ? o->stream : "output", who, o->line);
  else if (pat != NULL)
    snprintf(buf, len, "%s lines of %s matching /%.200s/",
             o->stream ? o->stream : "output", who, pat);
  else
    snprintf(buf, len, "%s lines of %s", o->stream ? o->stream : "output",
             who);
}

static void lines_for(oracle__expect_t *c, const output_want_t *o,
                      unsigned w)
{
  const scenario_expect_t *e = c->e;
  const trace_event_t *last = NULL;
  const uint32_t *r;
  size_t n, i;
  int64_t seen = 0;
  char what[1200], range[64];
  const char *pat = word_of(e->item, "match");

  r = records_of(c, w, &n);
  for (i = 0; i < n; i++) {
    const trace_event_t *ev = &c->tr->events[r ? r[i] : i];
    if (!line_matches(o, ev))
      continue;
    last = ev;
    seen++;
  }
  if (oracle__expect_within(e, seen))
    return;
  oracle__expect_range_text(range, sizeof(range), e);
  output_text(what, sizeof(what), o, pat, w);
  if (last != NULL)
    oracle__expect_fail(c, w, last, "expected %s %s, got %lld (the last: "
                        "%s)", range, what, (long long)seen,
                        oracle__describe(c, last));
  else
    oracle__expect_fail(c, w, NULL, "expected %s %s, got none", range, what);
}

/* The bytes dropped from worker `w`'s streams, by their end records. */
static void dropped_for(oracle__expect_t *c, const output_want_t *o,
                        unsigned w)
{
  const cJSON *want = cJSON_GetObjectItemCaseSensitive(c->e->item,
                                                       "dropped");
  const cJSON *min = cJSON_GetObjectItemCaseSensitive(want, "min");
  const trace_event_t *last = NULL;
  const uint32_t *r;
  size_t n, i;
  double got = 0;

  if (want == NULL)
    return;
  r = records_of(c, w, &n);
  for (i = 0; i < n; i++) {
    const trace_event_t *ev = &c->tr->events[r ? r[i] : i];
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(ev->json, "dropped");
    if (ev->ev != TRACE_EV_OUTPUT || !cJSON_IsNumber(d) || !stream_is(o, ev))
      continue;
    got += d->valuedouble;
    last = ev;
  }
  if (last == NULL)
    oracle__expect_fail(c, w, NULL, "expected the end of worker %u's %s, "
                        "got none", w, o->stream ? o->stream : "output");
  else if (cJSON_IsNumber(min) ? got < min->valuedouble
                               : got != want->valuedouble)
    oracle__expect_fail(c, w, last, "expected %s%.0f bytes of worker %u's "
                        "%s dropped, got %.0f (%s)",
                        cJSON_IsNumber(min) ? "at least " : "",
                        cJSON_IsNumber(min) ? min->valuedouble
                                            : want->valuedouble,
                        w, o->stream ? o->stream : "output", got,
                        oracle__describe(c, last));
}

static void output_worker(oracle__expect_t *c, const output_want_t *o,
                          unsigned w)
{
  const scenario_expect_t *e = c->e;

  if (e->min >= 0 || e->max >= 0)
    lines_for(c, o, w);
  if (w != 0)
    dropped_for(c, o, w);
}

void oracle__expect_output(oracle__expect_t *c)
{
  const scenario_expect_t *e = c->e;
  const char *pat = word_of(e->item, "match");
  output_want_t o;
  size_t i, n;

  memset(&o, 0, sizeof(o));
  o.stream = word_of(e->item, "stream");
  o.line = word_of(e->item, "line");
  if (pat != NULL && regcomp(&o.re, pat, REG_EXTENDED | REG_NOSUB) == 0)
    o.has_re = true;
  if (e->worker.kind == SCENARIO_W_ID) {
    output_worker(c, &o, e->worker.id);
  } else if (e->worker.kind == SCENARIO_W_EACH) {
    n = oracle__n_forked(c);
    for (i = 0; i < n; i++)
      output_worker(c, &o, oracle__forked_id(c, i));
  } else {
    output_worker(c, &o, 0);
  }
  if (o.has_re)
    regfree(&o.re);
}
