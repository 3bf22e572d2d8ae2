/*
 * The expectation checker must be able to fail: for every kind of
 * expectation (order with alternatives and absences, absent, flags,
 * counts, availability, timing), a trace that breaks it and the exact
 * message that must say so, next to traces that satisfy it.
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace-fixtures.h"
#include "test-support.h"

/* Two workers; worker 1 is disconnected at 40 ms and exits at 60 ms,
 * worker 2 is SIGKILLed at 80 ms; the run ends at 100 ms. */
static const char two_workers[] =
  EV(10000000, "fork", "cluster", 1, LIVE)
  EV(11000000, "fork", "cluster", 2, LIVE)
  EV(20000000, "online", "worker", 1, LIVE)
  EV(20100000, "online", "cluster", 1, LIVE)
  EV(22000000, "online", "worker", 2, LIVE)
  EV(22100000, "online", "cluster", 2, LIVE)
  EV(30000000, "listening", "worker", 1, LIVE)
  EV(30100000, "listening", "cluster", 1, LIVE)
  EV(32000000, "listening", "worker", 2, LIVE)
  EV(32100000, "listening", "cluster", 2, LIVE)
  REC("{\"type\":\"action\",\"t\":40000000,\"action\":\"disconnect\","
      "\"worker\":1}")
  EV(50000000, "disconnect", "worker", 1, DISC("true"))
  EV(50100000, "disconnect", "cluster", 1, DISC("true"))
  EV(60000000, "exit", "worker", 1, EXIT("true", "0", "null"))
  EV(60100000, "exit", "cluster", 1, EXIT("true", "0", "null"))
  EV(80000000, "exit", "worker", 2, EXIT("false", "null", "\"SIGKILL\""))
  EV(80100000, "exit", "cluster", 2, EXIT("false", "null", "\"SIGKILL\""))
  EV(81000000, "disconnect", "worker", 2,
     ",\"ead\":false,\"connected\":false,\"dead\":true,\"member\":false")
  EV(81100000, "disconnect", "cluster", 2,
     ",\"ead\":false,\"connected\":false,\"dead\":true,\"member\":false")
  REC("{\"type\":\"action\",\"t\":100000000,\"action\":\"end\"}")
  REC("{\"type\":\"process\",\"t\":120000000,\"what\":\"primary-exit\","
      "\"code\":0,\"signal\":null}");

/* A rolling restart: 1 and 2 listen, 3 replaces 1, 4 replaces 2; in the
 * gap variant worker 2 stops before worker 4 listens. */
#define ROLL_HEAD                                                        \
  REC("{\"type\":\"load\",\"t\":5000000,\"what\":\"start\"}")             \
  EV(10000000, "listening", "worker", 1, LIVE)                           \
  EV(11000000, "listening", "worker", 2, LIVE)                           \
  EV(20000000, "listening", "worker", 3, LIVE)                           \
  REC("{\"type\":\"policy\",\"t\":21000000,\"action\":\"restart-disconnect\"," \
      "\"worker\":1}")                                                   \
  EV(25000000, "disconnect", "worker", 1, DISC("true"))                  \
  EV(26000000, "exit", "worker", 1, EXIT("true", "0", "null"))
static const char roll_ok[] =
  ROLL_HEAD
  EV(30000000, "listening", "worker", 4, LIVE)
  REC("{\"type\":\"policy\",\"t\":31000000,\"action\":\"restart-disconnect\","
      "\"worker\":2}")
  EV(35000000, "disconnect", "worker", 2, DISC("true"))
  REC("{\"type\":\"load\",\"t\":50000000,\"what\":\"done\"}");
static const char roll_gap[] =
  ROLL_HEAD
  EV(27000000, "exit", "worker", 3, EXIT("false", "1", "null"))
  REC("{\"type\":\"policy\",\"t\":28000000,\"action\":\"restart-disconnect\","
      "\"worker\":2}")
  EV(30000000, "listening", "worker", 4, LIVE)
  REC("{\"type\":\"load\",\"t\":50000000,\"what\":\"done\"}");

typedef struct {
  scenario_expect_kind_t kind; /* what the case is about */
  const char *name;
  const char *scenario;        /* the `expect:` section and what it needs */
  const char *trace;
  trace_load_totals_t load;
  const char *expected[4];     /* every finding in order; NULL-ended */
  bool inconclusive;           /* the findings are inconclusive ones */
} expect_case_t;

#define SERVER "worker: {servers: [{port: 0}]}\n"

static const expect_case_t cases[] = {
  /* order */
  {SCENARIO_EXPECT_ORDER, "order: both workers follow the pattern",
   "expect:\n  order:\n    - pattern: [fork, online, listening, "
   "disconnect|exit, exit|disconnect]\n",
   two_workers, {0}, {NULL}, false},
  {SCENARIO_EXPECT_ORDER, "order: a strict order that worker 2 breaks",
   "expect:\n  order:\n    - pattern: [fork, online, listening, disconnect, "
   "exit]\n",
   two_workers, {0},
   {"t.yaml:4: worker 2: expected disconnect, got exit at 0.080 s "
    "(event #15) (pattern: fork, online, listening, disconnect, exit)",
    NULL}, false},
  {SCENARIO_EXPECT_ORDER, "order: an absence that is violated",
   "expect:\n  order:\n    - {worker: 1, pattern: [fork, online, "
   "\"!listening\", disconnect|exit, exit|disconnect]}\n",
   two_workers, {0},
   {"t.yaml:4: worker 1: expected no listening, got listening at 0.030 s "
    "(event #6)", NULL}, false},
  {SCENARIO_EXPECT_ORDER, "order: the trace ends before the pattern",
   "expect:\n  order:\n    - {worker: 1, pattern: [fork, online, listening, "
   "disconnect, exit, listening]}\n",
   two_workers, {0},
   {"t.yaml:4: worker 1: expected listening after exit at 0.060 s "
    "(event #13), got nothing (pattern: fork, online, listening, "
    "disconnect, exit, listening)", NULL}, false},
  {SCENARIO_EXPECT_ORDER, "order: quantifiers",
   "expect:\n  order:\n    - {worker: 2, pattern: [fork, online?, "
   "listening+, message*, exit, disconnect]}\n",
   two_workers, {0}, {NULL}, false},

  /* absent */
  {SCENARIO_EXPECT_ABSENT, "absent: no SIGKILL wanted, but an exit happened",
   "expect:\n  absent:\n    - {event: exit, worker: 2}\n",
   two_workers, {0},
   {"t.yaml:4: worker 2: expected no exit, got exit at 0.080 s (event #15)",
    NULL}, false},
  {SCENARIO_EXPECT_ABSENT, "absent: of any worker",
   "expect:\n  absent:\n    - {event: disconnect}\n",
   two_workers, {0},
   {"t.yaml:4: expected no disconnect of any worker, got disconnect at "
    "0.050 s (event #11) of worker 1", NULL}, false},
  {SCENARIO_EXPECT_ABSENT, "absent: respawn never happened",
   "expect:\n  absent:\n    - "
   "{event: respawn}\n", two_workers, {0}, {NULL}, false},

  /* flags */
  {SCENARIO_EXPECT_FLAGS, "flags: all as expected",
   "expect:\n  flags:\n    - {worker: 1, at: exit, exitedAfterDisconnect: "
   "true, isDead: true, isConnected: false, member: false, code: 0, "
   "signal: null, state: \"\"}\n"
   "    - {worker: 2, at: exit, signal: SIGKILL, code: null}\n",
   two_workers, {0}, {NULL}, false},
  {SCENARIO_EXPECT_FLAGS, "flags: exitedAfterDisconnect and signal wrong",
   "expect:\n  flags:\n    - {worker: 2, at: exit, exitedAfterDisconnect: "
   "true, signal: SIGTERM}\n",
   two_workers, {0},
   {"t.yaml:4: worker 2: expected exitedAfterDisconnect true at exit, got "
    "false at exit at 0.080 s (event #15)",
    "t.yaml:4: worker 2: expected signal SIGTERM at exit, got SIGKILL at "
    "exit at 0.080 s (event #15)", NULL}, false},
  {SCENARIO_EXPECT_FLAGS, "flags: exit code and membership wrong",
   "expect:\n  flags:\n    - {worker: 1, at: exit, code: 3, member: true}\n",
   two_workers, {0},
   {"t.yaml:4: worker 1: expected member of cluster.workers true at exit, "
    "got false at exit at 0.060 s (event #13)",
    "t.yaml:4: worker 1: expected exit code 3 at exit, got 0 at exit at "
    "0.060 s (event #13)", NULL}, false},
  {SCENARIO_EXPECT_FLAGS, "flags: the event never happened",
   "expect:\n  flags:\n    - {worker: 1, at: listening, nth: 2, "
   "isConnected: true}\n",
   two_workers, {0},
   {"t.yaml:4: worker 1: expected listening #2 to check its flags, got none",
    NULL}, false},
  {SCENARIO_EXPECT_FLAGS, "flags: the primary's exit",
   "expect:\n  flags:\n    - {at: primary-exit, code: 1}\n",
   two_workers, {0},
   {"t.yaml:4: expected exit code 1 at primary-exit, got 0 at primary-exit "
    "at 0.120 s (event #20)", NULL}, false},

  /* counts */
  {SCENARIO_EXPECT_COUNT, "counts: as expected",
   "expect:\n  counts:\n    - {event: exit, count: 2}\n"
   "    - {event: listening, worker: each, count: 1}\n"
   "    - {event: exit, emitter: cluster, min: 1, max: 2}\n",
   two_workers, {0}, {NULL}, false},
  {SCENARIO_EXPECT_COUNT, "counts: one too many",
   "expect:\n  counts:\n    - {event: exit, max: 1}\n",
   two_workers, {0},
   {"t.yaml:4: expected at most 1 exit event, got 2 (one too many: exit at "
    "0.080 s (event #15))", NULL}, false},
  {SCENARIO_EXPECT_COUNT, "counts: too few for one worker",
   "expect:\n  counts:\n    - {event: listening, worker: 2, min: 2}\n",
   two_workers, {0},
   {"t.yaml:4: expected at least 2 listening events of worker 2, got 1 "
    "(the last: listening at 0.032 s (event #8))", NULL}, false},
  {SCENARIO_EXPECT_COUNT, "counts: none at all",
   "expect:\n  counts:\n    - {event: respawn, count: 1}\n",
   two_workers, {0},
   {"t.yaml:4: expected 1 respawn event, got none", NULL}, false},
  {SCENARIO_EXPECT_COUNT, "counts: only up to the end of the steps by default",
   "expect:\n  counts:\n    - {event: primary-exit, count: 0}\n"
   "    - {event: primary-exit, count: 1, during: run}\n",
   two_workers, {0}, {NULL}, false},

  /* availability */
  {SCENARIO_EXPECT_AVAILABILITY, "availability: within budget",
   SERVER "expect:\n  availability: {max-failed: 2, min-requests: 10}\n",
   two_workers, {.ran = true, .sent = 100, .ok = 95, .retried = 3,
                 .reset = 2, .failed = 2}, {NULL}, false},
  {SCENARIO_EXPECT_AVAILABILITY, "availability: over budget",
   SERVER "expect:\n  availability: {max-failed: 0}\n",
   two_workers, {.ran = true, .sent = 100, .ok = 96, .retried = 1,
                 .refused = 2, .reset = 1, .failed = 3},
   {"t.yaml:4: expected at most 0 failed requests, got 3 of 100 (refused 2, "
    "reset 1, timeout 0, bad status 0, truncated 0, error 0; 1 retried)",
    NULL}, false},
  {SCENARIO_EXPECT_AVAILABILITY,
   "availability: never exercised is inconclusive",
   SERVER "expect:\n  availability: {max-failed: 0, min-requests: 50}\n",
   two_workers, {.ran = true, .sent = 12, .ok = 12},
   {"t.yaml:4: availability was not exercised: 12 requests, at least 50 "
    "needed", NULL}, true},
  {SCENARIO_EXPECT_AVAILABILITY,
   "availability: a listening worker at every moment",
   SERVER "expect:\n  availability: {always-listening: true}\n",
   roll_ok, {0}, {NULL}, false},
  {SCENARIO_EXPECT_AVAILABILITY,
   "availability: a moment without a listening worker",
   SERVER "expect:\n  availability: {always-listening: true}\n",
   roll_gap, {0},
   {"t.yaml:4: expected a listening worker at every moment, got none from "
    "restart-disconnect at 0.028 s (event #8) to listening at 0.030 s "
    "(event #9)", NULL}, false},

  /* timing */
  {SCENARIO_EXPECT_TIMING, "timing: within bounds",
   "expect:\n  timing:\n    - {from: {event: online, worker: 1}, to: "
   "{event: listening, worker: 1}, within: 20ms, at-least: 5ms}\n"
   "    - {to: {event: fork}, within: 1s}\n",
   two_workers, {0}, {NULL}, false},
  {SCENARIO_EXPECT_TIMING, "timing: too slow",
   "expect:\n  timing:\n    - {from: {event: exit, worker: 1}, to: {event: "
   "exit, worker: 2}, within: 10ms}\n",
   two_workers, {0},
   {"t.yaml:4: expected exit #1 of worker 2 within 0.010 s of exit #1 of "
    "worker 1, got 0.020 s (exit at 0.080 s (event #15))", NULL}, false},
  {SCENARIO_EXPECT_TIMING, "timing: too fast",
   "expect:\n  timing:\n    - {from: {event: online, worker: 2}, to: "
   "{event: listening, worker: 2}, at-least: 50ms}\n",
   two_workers, {0},
   {"t.yaml:4: expected listening #1 of worker 2 at least 0.050 s after "
    "online #1 of worker 2, got 0.010 s (listening at 0.032 s (event #8))",
    NULL}, false},
  {SCENARIO_EXPECT_TIMING, "timing: an end that never came",
   "expect:\n  timing:\n    - {to: {event: respawn}, within: 1s}\n",
   two_workers, {0},
   {"t.yaml:4: expected respawn #1, got none", NULL}, false},
};

static const char *const expect_keys[SCENARIO_EXPECT_KIND_COUNT] = {
#define XX(ID, name, key, doc) [SCENARIO_EXPECT_##ID] = key,
  SCENARIO_EXPECT_MAP(XX)
#undef XX
};

static void test_cases(void)
{
  size_t i, k;

  for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const expect_case_t *c = &cases[i];
    trace_t tr;
    base_diag_t diag;
    oracle_findings_t f;
    scenario_t *s = NULL;
    char yaml[2048], rule[40];

    /* two workers exist, as in the traces */
    snprintf(yaml, sizeof(yaml), "cluster: {workers: 4}\n%s", c->scenario);
    base_diag_init(&diag);
    oracle_findings_init(&f);
    CU_ASSERT_EQUAL(scenario_load_string("t.yaml", yaml, strlen(yaml), &diag,
                                         &s), 0);
    for (k = 0; k < diag.count; k++)
      printf("\ncase '%s': %s\n", c->name, diag.lines[k]);
    fixture_trace(&tr, c->trace, false);
    if (s != NULL)
      oracle_expect_check(s, &tr, &c->load, &f);
    CU_ASSERT(fixture_findings_are(c->name, &f, c->expected,
                                   c->inconclusive
                                       ? ORACLE_FINDING_INCONCLUSIVE
                                       : ORACLE_FINDING_FAIL));
    /* every finding is the expectation's, of the case's kind */
    snprintf(rule, sizeof(rule), "expect.%s", expect_keys[c->kind]);
    for (k = 0; k < f.count; k++) {
      CU_ASSERT_STRING_EQUAL(f.items[k].rule, rule);
      CU_ASSERT_EQUAL(f.items[k].line, 4);
    }
    scenario_free(s);
    oracle_findings_free(&f);
    base_diag_free(&diag);
    trace_free(&tr);
  }
}

/* Every kind of expectation of the table has a case that must fail. */
static void test_every_kind_can_fail(void)
{
  size_t k;
  int i;

  for (i = 0; i < SCENARIO_EXPECT_KIND_COUNT; i++) {
    bool covered = false;
    for (k = 0; k < sizeof(cases) / sizeof(cases[0]) && !covered; k++)
      covered = (int)cases[k].kind == i && cases[k].expected[0] != NULL &&
                !cases[k].inconclusive;
    if (!covered)
      printf("\nexpectation %s has no failing case\n", expect_keys[i]);
    CU_ASSERT(covered);
  }
}

static CU_TestInfo expect_tests[] = {
  {"cases", test_cases},
  {"every kind can fail", test_every_kind_can_fail},
  CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
  CU_SuiteInfo suites[] = {
    { .pName = "expect", .pTests = expect_tests },
    CU_SUITE_INFO_NULL,
  };

  return test_main(argc, argv, suites, NULL);
}
