/*
 * The oracle must be able to fail: for every invariant, a deliberately
 * wrong trace that it must report with exactly the expected message, next
 * to traces it must accept. Table-driven; the traces are JSON lines as the
 * agents send them (docs/protocol.md section 3).
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "oracle.h"

/* Times are in ns; t0 is 0, so 10000000 shows as 0.010 s. */
#define EV(t, name, em, w, flags)                                        \
  "{\"type\":\"event\",\"t\":" #t ",\"event\":\"" name "\",\"emitter\":\"" \
  em "\",\"worker\":" #w flags "}\n"
#define ACT(t, name, w) \
  "{\"type\":\"action\",\"t\":" #t ",\"action\":\"" name "\",\"worker\":" #w "}\n"
#define OBS(t, what, w, rest) \
  "{\"type\":\"observe\",\"t\":" #t ",\"what\":\"" what "\",\"worker\":" #w rest "}\n"

#define LIVE ",\"ead\":null,\"connected\":true,\"dead\":false,\"member\":true"
#define DISC(ead) ",\"ead\":" ead ",\"connected\":false,\"dead\":false,\"member\":false"
#define EXIT(ead, code, sig) \
  ",\"ead\":" ead ",\"connected\":false,\"dead\":true,\"member\":false," \
  "\"code\":" code ",\"signal\":" sig

/* Worker 1: fork, online, listening, then a graceful disconnect. */
#define START(w)                          \
  EV(10000000, "fork", "cluster", w, LIVE) \
  EV(20000000, "online", "worker", w, LIVE) \
  EV(21000000, "online", "cluster", w, LIVE) \
  EV(30000000, "listening", "worker", w, LIVE) \
  EV(31000000, "listening", "cluster", w, LIVE)
#define GRACEFUL_END(w)                               \
  ACT(40000000, "disconnect", w)                      \
  EV(50000000, "disconnect", "worker", w, DISC("true")) \
  EV(51000000, "disconnect", "cluster", w, DISC("true")) \
  EV(60000000, "exit", "worker", w, EXIT("true", "0", "null")) \
  EV(61000000, "exit", "cluster", w, EXIT("true", "0", "null"))

typedef struct {
  const char *name;
  bool complete;
  bool allow_exit_only;
  const char *trace;
  const char *expected[4];     /* every finding, in order; NULL-ended */
} oracle_case_t;

static const oracle_case_t cases[] = {
  {"a whole graceful lifecycle", true, false,
   START(1) GRACEFUL_END(1), {NULL}},

  {"a SIGKILL: exit first, then disconnect, ead false", true, false,
   START(1)
   EV(50000000, "exit", "worker", 1, EXIT("false", "null", "\"SIGKILL\""))
   EV(51000000, "exit", "cluster", 1, EXIT("false", "null", "\"SIGKILL\""))
   EV(52000000, "disconnect", "worker", 1,
      ",\"ead\":false,\"connected\":false,\"dead\":true,\"member\":false")
   EV(53000000, "disconnect", "cluster", 1,
      ",\"ead\":false,\"connected\":false,\"dead\":true,\"member\":false"),
   {NULL}},

  {"lifecycle: online before fork", false, false,
   EV(20000000, "online", "worker", 1, LIVE)
   EV(21000000, "online", "cluster", 1, LIVE),
   {"worker 1: expected fork before online, got online at 0.020 s "
    "(event #0) [invariant lifecycle]", NULL}},

  {"lifecycle: listening before online", false, false,
   EV(10000000, "fork", "cluster", 1, LIVE)
   EV(30000000, "listening", "worker", 1, LIVE)
   EV(31000000, "listening", "cluster", 1, LIVE),
   {"worker 1: expected online before listening, got listening at "
    "0.030 s (event #1) [invariant lifecycle]", NULL}},

  {"once: online twice", false, false,
   START(1)
   EV(35000000, "online", "worker", 1, LIVE),
   {"worker 1: expected online at most once, got online at 0.035 s "
    "(event #5) [invariant once]", NULL}},

  {"once: exit twice", false, false,
   START(1) GRACEFUL_END(1)
   EV(70000000, "exit", "worker", 1, EXIT("true", "0", "null")),
   {"worker 1: expected nothing after disconnect and exit, got exit at "
    "0.070 s (event #10) [invariant after-end]",
    "worker 1: expected exit at most once, got exit at 0.070 s "
    "(event #10) [invariant once]", NULL}},

  {"both-ends: an exit without a disconnect", true, false,
   START(1)
   EV(60000000, "exit", "worker", 1, EXIT("false", "1", "null"))
   EV(61000000, "exit", "cluster", 1, EXIT("false", "1", "null")),
   {"worker 1: expected a disconnect as well as the exit at 0.060 s "
    "(event #5), got none [invariant both-ends]", NULL}},

  {"both-ends: Node's exit-only case, when the scenario allows it", true,
   true,
   START(1)
   EV(60000000, "exit", "worker", 1, EXIT("false", "null", "\"SIGKILL\""))
   EV(61000000, "exit", "cluster", 1, EXIT("false", "null", "\"SIGKILL\"")),
   {NULL}},

  {"both-ends: a worker that never exits", true, false,
   START(1),
   {"worker 1: expected an exit, got none before the end of the run "
    "[invariant both-ends]", NULL}},

  {"both-ends: not asked of a run that was cut short", false, false,
   START(1), {NULL}},

  {"after-end: listening after disconnect and exit", false, false,
   START(1) GRACEFUL_END(1)
   EV(70000000, "listening", "worker", 1, LIVE),
   {"worker 1: expected nothing after disconnect and exit, got listening "
    "at 0.070 s (event #10) [invariant after-end]", NULL}},

  {"after-end: a late ERR_IPC_CHANNEL_CLOSED is Node's behaviour", false,
   false,
   START(1) GRACEFUL_END(1)
   EV(70000000, "error", "worker", 1, ""),
   {NULL}},

  {"twin: cluster's event before the Worker's", false, false,
   EV(10000000, "fork", "cluster", 1, LIVE)
   EV(20000000, "online", "cluster", 1, LIVE)
   EV(21000000, "online", "worker", 1, LIVE),
   {"worker 1: expected the Worker's online before cluster's, got cluster "
    "online at 0.020 s (event #1) [invariant twin]", NULL}},

  {"twin: a Worker event without its cluster twin", true, false,
   EV(10000000, "fork", "cluster", 1, LIVE)
   EV(20000000, "online", "worker", 1, LIVE)
   EV(21000000, "online", "cluster", 1, LIVE)
   EV(30000000, "listening", "worker", 1, LIVE)
   GRACEFUL_END(1),
   {"worker 1: expected cluster's listening after the Worker's, got none "
    "[invariant twin]", NULL}},

  {"ead-boolean: undefined at exit", false, false,
   START(1)
   EV(50000000, "disconnect", "worker", 1, DISC("false"))
   EV(60000000, "exit", "worker", 1, EXIT("null", "1", "null")),
   {"worker 1: expected exitedAfterDisconnect true or false at exit, got "
    "exit at 0.060 s (event #6) [invariant ead-boolean]", NULL}},

  {"ead-cause: true without any disconnect or worker-side kill", false,
   false,
   START(1)
   EV(50000000, "disconnect", "worker", 1, DISC("true")),
   {"worker 1: expected exitedAfterDisconnect false at disconnect (no "
    "disconnect or worker-side kill came first), got disconnect at "
    "0.050 s (event #5) [invariant ead-cause]", NULL}},

  {"ead-cause: a worker-side kill() is a cause", false, false,
   START(1)
   OBS(40000000, "fault", 1, ",\"fault\":\"kill\"")
   EV(50000000, "disconnect", "worker", 1, DISC("true")),
   {NULL}},

  {"ead-cause: cluster.disconnect() is a cause for every worker", false,
   false,
   START(1)
   "{\"type\":\"action\",\"t\":40000000,\"action\":\"cluster-disconnect\"}\n"
   EV(50000000, "disconnect", "worker", 1, DISC("true")),
   {NULL}},

  /* fork() put the worker in cluster.workers; its `fork` event comes on a
   * later tick, after the cluster.disconnect() that already covers it */
  {"ead-cause: cluster.disconnect() covers a fork whose event is late",
   false, false,
   ACT(1000000, "fork", 1)
   "{\"type\":\"action\",\"t\":2000000,\"action\":\"cluster-disconnect\"}\n"
   EV(10000000, "fork", "cluster", 1, LIVE)
   EV(20000000, "online", "worker", 1,
      ",\"ead\":true,\"connected\":true,\"dead\":false,\"member\":false")
   EV(50000000, "disconnect", "worker", 1, DISC("true")),
   {NULL}},

  {"ead-cause: a disconnect before the fork is no cause", false, false,
   "{\"type\":\"action\",\"t\":1000000,\"action\":\"cluster-disconnect\"}\n"
   ACT(2000000, "fork", 1)
   EV(10000000, "fork", "cluster", 1, LIVE)
   EV(20000000, "online", "worker", 1, LIVE)
   EV(50000000, "disconnect", "worker", 1, DISC("true")),
   {"worker 1: expected exitedAfterDisconnect false at disconnect (no "
    "disconnect or worker-side kill came first), got disconnect at "
    "0.050 s (event #4) [invariant ead-cause]", NULL}},

  {"ead-cause: a disconnect-in-listen behaviour is a cause", false, false,
   "{\"type\":\"action\",\"t\":1000000,\"action\":\"fork\",\"worker\":1,"
   "\"on_listening\":\"disconnect\"}\n"
   EV(10000000, "fork", "cluster", 1, LIVE)
   EV(20000000, "online", "worker", 1, LIVE)
   EV(50000000, "disconnect", "worker", 1, DISC("true")),
   {NULL}},

  {"connected: isConnected() true at disconnect", false, false,
   START(1) ACT(40000000, "disconnect", 1)
   EV(50000000, "disconnect", "worker", 1,
      ",\"ead\":true,\"connected\":true,\"dead\":false,\"member\":false"),
   {"worker 1: expected isConnected() false at disconnect, got disconnect "
    "at 0.050 s (event #6) [invariant connected]", NULL}},

  {"dead: isDead() false at exit", false, false,
   START(1) ACT(40000000, "disconnect", 1)
   EV(50000000, "disconnect", "worker", 1, DISC("true"))
   EV(60000000, "exit", "worker", 1,
      ",\"ead\":true,\"connected\":false,\"dead\":false,\"member\":false,"
      "\"code\":0,\"signal\":null"),
   {"worker 1: expected isDead() true at exit, got exit at 0.060 s "
    "(event #7) [invariant dead]", NULL}},

  {"dead: isDead() true at a disconnect before the exit", false, false,
   START(1) ACT(40000000, "disconnect", 1)
   EV(50000000, "disconnect", "worker", 1,
      ",\"ead\":true,\"connected\":false,\"dead\":true,\"member\":false"),
   {"worker 1: expected isDead() false at disconnect before exit, got "
    "disconnect at 0.050 s (event #6) [invariant dead]", NULL}},

  {"ids: the first id is not 1", false, false,
   EV(10000000, "fork", "cluster", 2, LIVE),
   {"worker 2: expected ids to start at 1, got fork at 0.010 s (event #0) "
    "[invariant ids]", NULL}},

  {"ids: an id is reused", false, false,
   EV(10000000, "fork", "cluster", 1, LIVE)
   EV(20000000, "fork", "cluster", 1, LIVE),
   {"worker 1: expected a new id, worker 1 was already forked (fork at "
    "0.010 s (event #0)), got fork at 0.020 s (event #1) [invariant ids]",
    NULL}},

  {"ids: an id is skipped", false, false,
   EV(10000000, "fork", "cluster", 1, LIVE)
   EV(20000000, "fork", "cluster", 3, LIVE),
   {"worker 3: expected the next id to be 2, got fork at 0.020 s "
    "(event #1) [invariant ids]", NULL}},

  {"exit-status: neither a code nor a signal", false, false,
   START(1) ACT(40000000, "disconnect", 1)
   EV(50000000, "disconnect", "worker", 1, DISC("true"))
   EV(60000000, "exit", "worker", 1, EXIT("true", "null", "null")),
   {"worker 1: expected exactly one of an exit code and a signal at exit, "
    "got exit at 0.060 s (event #7) [invariant exit-status]", NULL}},

  {"membership: still in cluster.workers at the last event", false, false,
   START(1) ACT(40000000, "disconnect", 1)
   EV(50000000, "disconnect", "worker", 1, DISC("true"))
   EV(60000000, "exit", "worker", 1,
      ",\"ead\":true,\"connected\":false,\"dead\":true,\"member\":true,"
      "\"code\":0,\"signal\":null"),
   {"worker 1: expected worker 1 out of cluster.workers at its last of "
    "disconnect and exit, got exit at 0.060 s (event #7) "
    "[invariant membership]", NULL}},

  {"orders between workers are never asserted", true, false,
   EV(10000000, "fork", "cluster", 1, LIVE)
   EV(11000000, "fork", "cluster", 2, LIVE)
   EV(20000000, "online", "worker", 2, LIVE)
   EV(20500000, "online", "cluster", 2, LIVE)
   EV(21000000, "online", "worker", 1, LIVE)
   EV(21500000, "online", "cluster", 1, LIVE)
   "{\"type\":\"action\",\"t\":40000000,\"action\":\"cluster-disconnect\"}\n"
   EV(50000000, "disconnect", "worker", 2, DISC("true"))
   EV(50500000, "disconnect", "cluster", 2, DISC("true"))
   EV(51000000, "exit", "worker", 1, EXIT("true", "0", "null"))
   EV(51500000, "exit", "cluster", 1, EXIT("true", "0", "null"))
   EV(52000000, "disconnect", "worker", 1,
      ",\"ead\":true,\"connected\":false,\"dead\":true,\"member\":false")
   EV(52500000, "disconnect", "cluster", 1,
      ",\"ead\":true,\"connected\":false,\"dead\":true,\"member\":false")
   EV(60000000, "exit", "worker", 2, EXIT("true", "0", "null"))
   EV(60500000, "exit", "cluster", 2, EXIT("true", "0", "null")),
   {NULL}},
};

static void test_cases(void)
{
  size_t i, k;
  const size_t n = sizeof(cases) / sizeof(cases[0]);

  for (i = 0; i < n; i++) {
    const oracle_case_t *c = &cases[i];
    trace_t tr;
    base_diag_t diag;
    oracle_findings_t f;
    oracle_opts_t opts = {c->allow_exit_only};
    size_t want = 0;
    bool same;

    trace_init(&tr, 0);
    base_diag_init(&diag);
    oracle_findings_init(&f);
    CU_ASSERT_EQUAL(trace_parse(c->trace, &tr, &diag), 0);
    tr.complete = c->complete;
    oracle_check(&tr, &opts, &f);
    while (c->expected[want] != NULL)
      want++;
    same = f.count == want;
    for (k = 0; same && k < want; k++)
      same = strcmp(f.items[k].message, c->expected[k]) == 0;
    if (!same) {
      printf("\ncase '%s':\n  expected %zu finding(s):\n", c->name, want);
      for (k = 0; k < want; k++)
        printf("    %s\n", c->expected[k]);
      printf("  got %zu:\n", f.count);
      for (k = 0; k < f.count; k++)
        printf("    %s\n", f.items[k].message);
    }
    CU_ASSERT(same);
    oracle_findings_free(&f);
    base_diag_free(&diag);
    trace_free(&tr);
  }
}

/* Every invariant has a case that must fail. */
static void test_every_invariant_can_fail(void)
{
  static const char *ids[ORACLE_INVARIANT_COUNT];
  for (int q = 0; q < ORACLE_INVARIANT_COUNT; q++) ids[q] = oracle_invariant_name(q);
  size_t i, k, j;

  for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
    char tag[64];
    bool covered = false;
    snprintf(tag, sizeof(tag), "[invariant %s]", ids[i]);
    for (k = 0; k < sizeof(cases) / sizeof(cases[0]) && !covered; k++)
      for (j = 0; cases[k].expected[j] != NULL && !covered; j++)
        covered = strstr(cases[k].expected[j], tag) != NULL;
    if (!covered)
      printf("\ninvariant %s has no failing case\n", ids[i]);
    CU_ASSERT(covered);
  }
}

/* A trace written and read back gives the same verdict. */
static void test_trace_round_trip(void)
{
  trace_t tr, back;
  base_diag_t diag;
  oracle_findings_t f1, f2;
  char path[] = "/tmp/clustersim-trace-XXXXXX";
  int fd = mkstemp(path);

  CU_ASSERT_FATAL(fd >= 0);
  trace_init(&tr, 0);
  trace_init(&back, 0);
  base_diag_init(&diag);
  oracle_findings_init(&f1);
  oracle_findings_init(&f2);
  CU_ASSERT_EQUAL(trace_parse(cases[13].trace, &tr, &diag), 0);
  tr.complete = true;
  CU_ASSERT_EQUAL(trace_write(&tr, path), 0);
  CU_ASSERT_EQUAL(trace_read(path, &back, &diag), 0);
  CU_ASSERT_EQUAL(back.count, tr.count);
  CU_ASSERT(back.complete);
  oracle_check(&tr, NULL, &f1);
  oracle_check(&back, NULL, &f2);
  CU_ASSERT_EQUAL(f1.count, f2.count);
  CU_ASSERT(f1.count > 0);
  if (f1.count > 0 && f2.count > 0)
    CU_ASSERT_STRING_EQUAL(f1.items[0].message, f2.items[0].message);
  unlink(path);
  oracle_findings_free(&f1);
  oracle_findings_free(&f2);
  base_diag_free(&diag);
  trace_free(&tr);
  trace_free(&back);
}

/* Records from several sources are merged by time, arrival breaking ties,
 * and numbered in that order. */
static void test_merge_order(void)
{
  trace_t tr;

  trace_init(&tr, 0);
  trace_add(&tr, cJSON_Parse("{\"type\":\"event\",\"t\":30,"
                                     "\"event\":\"online\"}"));
  trace_add(&tr, cJSON_Parse("{\"type\":\"observe\",\"t\":10,"
                                     "\"what\":\"started\"}"));
  trace_add(&tr, cJSON_Parse("{\"type\":\"action\",\"t\":30,"
                                     "\"action\":\"kill\"}"));
  trace_add(&tr, cJSON_Parse("{\"type\":\"event\",\"t\":20,"
                                     "\"event\":\"fork\"}"));
  trace_finish(&tr);
  CU_ASSERT_EQUAL(tr.count, 4);
  CU_ASSERT_STRING_EQUAL(tr.events[0].name, "worker-started");
  CU_ASSERT_STRING_EQUAL(tr.events[1].name, "fork");
  CU_ASSERT_STRING_EQUAL(tr.events[2].name, "online");
  CU_ASSERT_STRING_EQUAL(tr.events[3].name, "kill");
  CU_ASSERT_EQUAL(tr.events[3].index, 3);
  CU_ASSERT_EQUAL(tr.events[0].ev, TRACE_EV_W_STARTED);
  /* a harness action named like an event is not that event */
  CU_ASSERT_EQUAL(tr.events[3].ev, TRACE_EV_NONE);
  trace_free(&tr);
}

int main(void)
{
  CU_pSuite suite;
  unsigned failed;

  if (CU_initialize_registry() != CUE_SUCCESS)
    return 99;
  suite = CU_add_suite("oracle", NULL, NULL);
  if (suite == NULL ||
      CU_add_test(suite, "cases", test_cases) == NULL ||
      CU_add_test(suite, "every invariant can fail",
                  test_every_invariant_can_fail) == NULL ||
      CU_add_test(suite, "trace round trip", test_trace_round_trip) == NULL ||
      CU_add_test(suite, "merge order", test_merge_order) == NULL) {
    CU_cleanup_registry();
    return 99;
  }
  CU_basic_set_mode(CU_BRM_VERBOSE);
  CU_basic_run_tests();
  failed = CU_get_number_of_tests_failed() + CU_get_number_of_failures();
  CU_cleanup_registry();
  return failed ? 1 : 0;
}
