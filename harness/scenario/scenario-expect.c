/*
 * The expectation kinds: one definition per row of SCENARIO_EXPECT_MAP,
 * named expect_<name>, read the same way as the step kinds (see
 * scenario-steps.c). A kind's value is a list of items or one item; its
 * hook checks what a row cannot say (a count needs a bound...).
 *
 * Adding an expectation kind: a row in SCENARIO_EXPECT_MAP (scenario.h),
 * its expect_<name> here, its oracle__expect_<name> in harness/oracle/.
 */
#include "scenario-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T(x) (&scenario__t_##x)
#define REQ SCENARIO__REQUIRED
#define AT(m) SCENARIO__TO(scenario_expect_t, m)
#define POINT(m) SCENARIO__TO(scenario_point_t, m)

const scenario__type_t scenario__t_expect = {.kind = SCENARIO__T_EXPECT,
                                             .what = "expectations"};

/* Counts and absences are about what the steps did; lifecycles, flags and
 * timings may end in the end-of-run shutdown. */
#define DURING(dflt)                                                        \
  {"during", T(during), 0, dflt, AT(whole_run)}

/* ---------------------------------------------------------------------- */
/* Hooks                                                                   */

/* "fork", "online?", "!listening", "disconnect|exit" -> elements, and the
 * pattern as written, for messages. */
static int parse_pattern(scenario_expect_t *e, struct fy_node *seq)
{
  size_t n = fy_node_sequence_item_count(seq), i = 0, len;
  struct fy_node *item;
  void *it = NULL;
  FILE *text;

  e->pattern = calloc(n ? n : 1, sizeof(*e->pattern));
  text = open_memstream(&e->pattern_text, &len);
  if (e->pattern == NULL || text == NULL) {
    if (text != NULL)
      fclose(text);
    return UV_ENOMEM;
  }
  while ((item = fy_node_sequence_iterate(seq, &it)) != NULL && i < n) {
    scenario_pattern_elem_t *el = &e->pattern[i];
    char buf[256], *p = buf, *alt, *save = NULL;

    snprintf(buf, sizeof(buf), "%s", scenario__node_str(item));
    fprintf(text, "%s%s", i++ ? ", " : "", buf);
    el->quant = '1';
    if (*p == '!') {
      el->absent = true;
      p++;
    }
    len = strlen(p);
    if (len > 0 && strchr("?*+", p[len - 1]) != NULL) {
      el->quant = p[len - 1];
      p[len - 1] = '\0';
    }
    for (alt = strtok_r(p, "|", &save); alt; alt = strtok_r(NULL, "|", &save))
      el->alternatives |= 1ull << trace_ev_from_name(alt);
  }
  e->n_pattern = i;
  return fclose(text) == 0 ? 0 : UV_ENOMEM;
}

static int order_build(scenario__build_t *b, const scenario__at_t *at,
                       scenario_expect_t *e)
{
  struct fy_node *x = scenario__node_get(at->node, "pattern");

  if (fy_node_sequence_item_count(x) == 0)
    scenario__errs_add(b->errs, at->loc, at->path,
                       "an order pattern needs events");
  return parse_pattern(e, x);
}

static int flags_build(scenario__build_t *b, const scenario__at_t *at,
                       scenario_expect_t *e)
{
  /* the primary's exit belongs to no worker */
  if (e->event == TRACE_EV_PRIMARY_EXIT) {
    if (scenario__node_get(at->node, "worker") != NULL)
      scenario__errs_add(b->errs, at->loc, at->path,
                         "primary-exit belongs to no worker: drop 'worker'");
    e->worker.kind = SCENARIO_W_NONE;
  }
  if (!e->ead.set && !e->connected.set && !e->dead.set && !e->member.set &&
      e->state == NULL && !e->code.set && !e->signal.set)
    scenario__errs_add(b->errs, at->loc, at->path,
                       "a flags check needs at least one of "
                       "exitedAfterDisconnect, isConnected, isDead, member, "
                       "state, code, signal");
  return 0;
}

/* `count: N` is `min: N, max: N`. */
static int count_build(scenario__build_t *b, const scenario__at_t *at,
                       scenario_expect_t *e)
{
  struct fy_node *c = scenario__node_get(at->node, "count");
  bool mn = scenario__node_get(at->node, "min") != NULL;
  bool mx = scenario__node_get(at->node, "max") != NULL;
  int64_t n;

  if (c != NULL && (mn || mx))
    scenario__errs_add(b->errs, at->loc, at->path,
                       "use either 'count' or 'min'/'max', not both");
  else if (c == NULL && !mn && !mx)
    scenario__errs_add(b->errs, at->loc, at->path,
                       "a count needs 'count', 'min' or 'max'");
  if (c != NULL && scenario__parse_int(scenario__node_str(c), &n)) {
    if (!mn)
      e->min = n;
    if (!mx)
      e->max = n;
  }
  if (e->min >= 0 && e->max >= 0 && e->min > e->max)
    scenario__errs_add(b->errs, at->loc, at->path,
                       "min %lld is more than max %lld", (long long)e->min,
                       (long long)e->max);
  return 0;
}

static int availability_build(scenario__build_t *b, const scenario__at_t *at,
                              scenario_expect_t *e)
{
  if (e->max_failed < 0 && !e->always_listening)
    scenario__errs_add(b->errs, at->loc, at->path,
                       "an availability budget needs 'max-failed' or "
                       "'always-listening'");
  if (b->s->n_servers == 0)
    scenario__errs_add(b->errs, at->loc, at->path,
                       "availability needs a worker server (worker: "
                       "{servers: [...]})");
  return 0;
}

static int timing_build(scenario__build_t *b, const scenario__at_t *at,
                        scenario_expect_t *e)
{
  if (e->min_ms < 0 && e->max_ms < 0)
    scenario__errs_add(b->errs, at->loc, at->path,
                       "a timing bound needs 'within' or 'at-least'");
  else if (e->min_ms >= 0 && e->max_ms >= 0 && e->min_ms > e->max_ms)
    scenario__errs_add(b->errs, at->loc, at->path,
                       "at-least is longer than within");
  return 0;
}

/* ---------------------------------------------------------------------- */
/* The kinds, in the order of SCENARIO_EXPECT_MAP                          */

static const scenario__expect_def_t expect_order = {
  .value = SCENARIO__SEQ(
      "a list of order patterns",
      SCENARIO__MAP("an order pattern",
                    {"worker", T(wref_each), 0, "each", AT(worker)},
                    {"pattern", T(pattern_seq), REQ, NULL, {0}},
                    DURING("run"))),
  .build = order_build};

static const scenario__expect_def_t expect_absent = {
  .value = SCENARIO__SEQ(
      "a list of absences",
      SCENARIO__MAP("an absence",
                    {"event", T(event), REQ, NULL, AT(event)},
                    {"worker", T(wref_count), 0, "any", AT(worker)},
                    {"emitter", T(emitter), 0, "worker",
                     AT(cluster_emitter)},
                    DURING("steps")))};

static const scenario__expect_def_t expect_flags = {
  .value = SCENARIO__SEQ(
      "a list of flag checks",
      SCENARIO__MAP(
          "a flags check",
          {"at", T(event), REQ, NULL, AT(event)},
          {"worker", T(wref_each), 0, "each", AT(worker)},
          {"nth", T(nth), 0, "1", AT(nth)},
          {"emitter", T(emitter), 0, "worker", AT(cluster_emitter)},
          {"exitedAfterDisconnect", T(bool_null), 0, NULL, AT(ead)},
          {"isConnected", T(bool), 0, NULL, AT(connected)},
          {"isDead", T(bool), 0, NULL, AT(dead)},
          {"member", T(bool), 0, NULL, AT(member)},
          {"state", T(str), 0, NULL, AT(state)},
          {"code", T(code_null), 0, NULL, AT(code)},
          {"signal", T(signal_null), 0, NULL, AT(signal)},
          DURING("run"))),
  .build = flags_build};

static const scenario__expect_def_t expect_count = {
  .value = SCENARIO__SEQ(
      "a list of counts",
      SCENARIO__MAP("a count",
                    {"event", T(event), REQ, NULL, AT(event)},
                    {"worker", T(wref_count), 0, "any", AT(worker)},
                    {"emitter", T(emitter), 0, "worker",
                     AT(cluster_emitter)},
                    {"count", T(count0), 0, NULL, {0}},
                    {"min", T(count0), 0, NULL, AT(min)},
                    {"max", T(count0), 0, NULL, AT(max)},
                    DURING("steps"))),
  .build = count_build};

static const scenario__expect_def_t expect_availability = {
  .value = SCENARIO__MAP(
      "an availability budget",
      /* after the retries */
      {"max-failed", T(limit), 0, NULL, AT(max_failed)},
      /* fewer served: inconclusive, the budget was not exercised */
      {"min-requests", T(limit), 0, "1", AT(min_requests)},
      {"always-listening", T(bool), 0, "false", AT(always_listening)}),
  .build = availability_build};

static const scenario__type_t t_point = SCENARIO__MAP_OF(
    "an event",
    {"event", T(event), REQ, NULL, POINT(event)},
    {"worker", T(wref_point), 0, "any", POINT(worker)},
    {"nth", T(nth), 0, "1", POINT(nth)});

static const scenario__expect_def_t expect_timing = {
  .value = SCENARIO__SEQ(
      "a list of timing bounds",
      SCENARIO__MAP("a timing bound",
                    /* without `from`: the start of the run */
                    {"from", &t_point, 0, NULL, AT(from)},
                    {"to", &t_point, REQ, NULL, AT(to)},
                    {"within", T(dur), 0, NULL, AT(max_ms)},
                    {"at-least", T(dur), 0, NULL, AT(min_ms)},
                    DURING("run"))),
  .build = timing_build};

const scenario__expect_def_t *const
    scenario__expects[SCENARIO_EXPECT_KIND_COUNT] = {
#define XX(ID, name, key, doc) [SCENARIO_EXPECT_##ID] = &expect_##name,
        SCENARIO_EXPECT_MAP(XX)
#undef XX
};

static const char *const expect_keys[SCENARIO_EXPECT_KIND_COUNT] = {
#define XX(ID, name, key, doc) key,
  SCENARIO_EXPECT_MAP(XX)
#undef XX
};

static const char *const expect_docs[SCENARIO_EXPECT_KIND_COUNT] = {
#define XX(ID, name, key, doc) doc,
  SCENARIO_EXPECT_MAP(XX)
#undef XX
};

const char *scenario__expect_key(scenario_expect_kind_t kind)
{
  return expect_keys[kind];
}

const char *scenario__expect_doc(scenario_expect_kind_t kind)
{
  return expect_docs[kind];
}
