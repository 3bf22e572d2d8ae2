/*
 * The oracle must be able to fail: for every invariant, a deliberately
 * wrong trace that it must report with exactly the expected message, next
 * to traces it must accept. Table-driven; the traces are JSON lines as the
 * agents send them (docs/protocol.md section 3). docs/harness.md's list of
 * invariants (the path is the first argument) must be the oracle's table.
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trace-fixtures.h"
#include "test-support.h"

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

  {"ead-cause: a replacement inherits the on-listening behaviour", false,
   false,
   REC("{\"type\":\"action\",\"t\":1000000,\"action\":\"fork\","
       "\"worker\":1,\"on_listening\":\"kill\"}")
   EV(10000000, "fork", "cluster", 1, LIVE)
   REC("{\"type\":\"policy\",\"t\":20000000,\"action\":\"respawn\","
       "\"old\":1,\"new\":2}")
   EV(30000000, "fork", "cluster", 2, LIVE)
   EV(40000000, "online", "worker", 2, LIVE)
   EV(50000000, "disconnect", "worker", 2, DISC("true")),
   {NULL}},

  {"ead-cause: a later cluster-wide disconnect covers a later fork", false,
   false,
   REC("{\"type\":\"action\",\"t\":1000000,\"action\":"
       "\"cluster-disconnect\"}")
   ACT(2000000, "fork", 1)
   EV(10000000, "fork", "cluster", 1, LIVE)
   REC("{\"type\":\"policy\",\"t\":20000000,\"action\":"
       "\"shutdown-start\"}")
   EV(50000000, "disconnect", "worker", 1, DISC("true")),
   {NULL}},

  /* the harness stamps cluster-disconnect when it sends it; a primary that
   * respawns before it reads it disconnects the replacement too, which
   * its answer, later on the primary's stream, shows */
  {"ead-cause: cluster.disconnect() covers a replacement forked before "
   "the primary ran it", false, false,
   START(1)
   REC("{\"type\":\"action\",\"t\":40000000,\"action\":"
       "\"cluster-disconnect\"}")
   REC("{\"type\":\"policy\",\"t\":41000000,\"action\":\"respawn\","
       "\"old\":1,\"new\":2}")
   EV(42000000, "fork", "cluster", 2, LIVE)
   REC("{\"type\":\"action\",\"t\":43000000,\"action\":"
       "\"cluster-disconnect-answered\"}")
   EV(50000000, "disconnect", "worker", 2, DISC("true")),
   {NULL}},

  {"ead-cause: a replacement forked after the primary ran "
   "cluster.disconnect() is not covered", false, false,
   START(1)
   REC("{\"type\":\"action\",\"t\":40000000,\"action\":"
       "\"cluster-disconnect\"}")
   REC("{\"type\":\"action\",\"t\":40500000,\"action\":"
       "\"cluster-disconnect-answered\"}")
   REC("{\"type\":\"policy\",\"t\":41000000,\"action\":\"respawn\","
       "\"old\":1,\"new\":2}")
   EV(42000000, "fork", "cluster", 2, LIVE)
   EV(50000000, "disconnect", "worker", 2, DISC("true")),
   {"worker 2: expected exitedAfterDisconnect false at disconnect (no "
    "disconnect or worker-side kill came first), got disconnect at "
    "0.050 s (event #9) [invariant ead-cause]", NULL}},

  {"ead-cause: an answer after the worker's event covers nothing before "
   "it", false, false,
   START(1)
   REC("{\"type\":\"policy\",\"t\":41000000,\"action\":\"respawn\","
       "\"old\":1,\"new\":2}")
   EV(42000000, "fork", "cluster", 2, LIVE)
   EV(50000000, "disconnect", "worker", 2, DISC("true"))
   REC("{\"type\":\"action\",\"t\":60000000,\"action\":"
       "\"cluster-disconnect\"}")
   REC("{\"type\":\"action\",\"t\":61000000,\"action\":"
       "\"cluster-disconnect-answered\"}"),
   {"worker 2: expected exitedAfterDisconnect false at disconnect (no "
    "disconnect or worker-side kill came first), got disconnect at "
    "0.050 s (event #7) [invariant ead-cause]", NULL}},

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

  /* the findings of one event come in the table's order */
  {"ids: an id reused after its worker ended", false, false,
   START(1) GRACEFUL_END(1)
   EV(70000000, "fork", "cluster", 1, LIVE),
   {"worker 1: expected nothing after disconnect and exit, got fork at "
    "0.070 s (event #10) [invariant after-end]",
    "worker 1: expected a new id, worker 1 was already forked (fork at "
    "0.010 s (event #0)), got fork at 0.070 s (event #10) [invariant ids]",
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

  /* ids come from the trace: any value must cost no more than a small
   * one */
  {"lifecycle: a worker id far out of range", false, false,
   EV(20000000, "online", "worker", 999999999, LIVE),
   {"worker 999999999: expected fork before online, got online at 0.020 s "
    "(event #0) [invariant lifecycle]", NULL}},

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

  for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const oracle_case_t *c = &cases[i];
    oracle_opts_t opts = {c->allow_exit_only};
    oracle_findings_t f;
    trace_t tr;
    int n;

    fixture_trace(&tr, c->trace, c->complete);
    oracle_findings_init(&f);
    n = oracle_check(&tr, &opts, &f);
    CU_ASSERT(fixture_findings_are(c->name, &f, c->expected,
                                   ORACLE_FINDING_FAIL));
    CU_ASSERT_EQUAL(n, (int)f.count);
    /* the rule of a finding is the invariant its message names */
    for (k = 0; k < f.count; k++) {
      char tag[64];
      snprintf(tag, sizeof(tag), "[invariant %s]", f.items[k].rule);
      CU_ASSERT_PTR_NOT_NULL(strstr(f.items[k].message, tag));
    }
    oracle_findings_free(&f);
    trace_free(&tr);
  }
}

/* Every invariant of the table has a case that must fail. */
static void test_every_invariant_can_fail(void)
{
  size_t k, j;
  int i;

  for (i = 0; i < ORACLE_INVARIANT_COUNT; i++) {
    char tag[64];
    bool covered = false;
    snprintf(tag, sizeof(tag), "[invariant %s]", oracle_invariant_name(i));
    for (k = 0; k < sizeof(cases) / sizeof(cases[0]) && !covered; k++)
      for (j = 0; cases[k].expected[j] != NULL && !covered; j++)
        covered = strstr(cases[k].expected[j], tag) != NULL;
    if (!covered)
      printf("\ninvariant %s has no failing case\n", oracle_invariant_name(i));
    CU_ASSERT(covered);
  }
}

static const oracle_case_t *case_named(const char *name)
{
  size_t i;

  for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    if (strcmp(cases[i].name, name) == 0)
      return &cases[i];
  return NULL;
}

/* A trace written and read back gives the same verdict. */
static void test_trace_round_trip(void)
{
  const oracle_case_t *c =
      case_named("twin: a Worker event without its cluster twin");
  char *path = fixture_write_temp("");
  trace_t tr, back;
  base_diag_t diag;
  oracle_findings_t f1, f2;

  CU_ASSERT_PTR_NOT_NULL_FATAL(c);
  CU_ASSERT_PTR_NOT_NULL_FATAL(path);
  fixture_trace(&tr, c->trace, true);
  trace_init(&back, 0);
  base_diag_init(&diag);
  oracle_findings_init(&f1);
  oracle_findings_init(&f2);
  CU_ASSERT_EQUAL(trace_write(&tr, path), 0);
  CU_ASSERT_EQUAL(trace_read(path, &back, &diag), 0);
  CU_ASSERT_EQUAL(back.count, tr.count);
  CU_ASSERT(back.complete);
  oracle_check(&tr, NULL, &f1);
  oracle_check(&back, NULL, &f2);
  CU_ASSERT(f1.count > 0);
  CU_ASSERT(fixture_findings_are("read back", &f2, c->expected,
                                 ORACLE_FINDING_FAIL));
  unlink(path);
  free(path);
  oracle_findings_free(&f1);
  oracle_findings_free(&f2);
  base_diag_free(&diag);
  trace_free(&tr);
  trace_free(&back);
}

static const char *docs_path;   /* docs/harness.md, from $HARNESS_DOCS */

static char *read_text(const char *path)
{
  FILE *f = path ? fopen(path, "r") : NULL;
  char *text = NULL;
  size_t len = 0, cap = 0, n;

  if (f == NULL)
    return NULL;
  do {
    char *b;
    if (cap - len < 4096) {
      cap = cap ? cap * 2 : 65536;
      if ((b = realloc(text, cap)) == NULL)
        break;
      text = b;
    }
    n = fread(text + len, 1, cap - len - 1, f);
    len += n;
    text[len] = '\0';
  } while (n > 0);
  fclose(f);
  return text;
}

/* One row "| `id` | rule |" of the doc's table: 0 when the line is one. */
static int parse_row(char *line, const char **id, const char **doc)
{
  char *end = strstr(line, "` | ");
  size_t len = strlen(line);

  if (strncmp(line, "| `", 3) != 0 || end == NULL || len < 4 ||
      strcmp(line + len - 2, " |") != 0)
    return -1;
  *end = '\0';
  line[len - 2] = '\0';
  *id = line + 3;
  *doc = end + 4;
  return 0;
}

/* docs/harness.md lists the invariants in a table under the header line
 * "| invariant | rule |": a row "| `id` | doc |" for each row of
 * ORACLE_INVARIANT_MAP, in any order, with the same words. */
static void test_docs_list_the_invariants(void)
{
  static const struct {
    const char *id, *doc;
  } table[ORACLE_INVARIANT_COUNT] = {
#define XX(ID, name, str, doc) {str, doc},
    ORACLE_INVARIANT_MAP(XX)
#undef XX
  };
  bool seen[ORACLE_INVARIANT_COUNT] = {false};
  char *text = docs_path ? read_text(docs_path) : NULL, *line, *next;
  const char *id = "", *doc = "";
  int i;

  CU_ASSERT_PTR_NOT_NULL_FATAL(text);
  line = strstr(text, "\n| invariant | rule |\n");
  CU_ASSERT_PTR_NOT_NULL(line);
  /* past the header and its |---| line */
  for (i = 0; line != NULL && i < 2; i++)
    line = strchr(line + 1, '\n');
  for (; line != NULL && line[1] == '|'; line = next) {
    next = strchr(line + 1, '\n');
    if (next != NULL)
      *next = '\0';
    CU_ASSERT_EQUAL_FATAL(parse_row(line + 1, &id, &doc), 0);
    for (i = 0; i < ORACLE_INVARIANT_COUNT; i++)
      if (strcmp(table[i].id, id) == 0)
        break;
    if (i == ORACLE_INVARIANT_COUNT || strcmp(table[i].doc, doc) != 0)
      printf("\n%s: invariant `%s`: \"%s\", the oracle's table: \"%s\"\n",
             docs_path, id, doc,
             i < ORACLE_INVARIANT_COUNT ? table[i].doc : "(none)");
    CU_ASSERT(i < ORACLE_INVARIANT_COUNT && !seen[i] &&
              strcmp(table[i].doc, doc) == 0);
    if (i < ORACLE_INVARIANT_COUNT)
      seen[i] = true;
  }
  for (i = 0; i < ORACLE_INVARIANT_COUNT; i++) {
    if (!seen[i])
      printf("\n%s: invariant `%s` is not listed\n", docs_path,
             table[i].id);
    CU_ASSERT(seen[i]);
  }
  free(text);
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

static CU_TestInfo oracle_tests[] = {
  {"cases", test_cases},
  {"every invariant can fail", test_every_invariant_can_fail},
  {"trace round trip", test_trace_round_trip},
  {"docs list the invariants", test_docs_list_the_invariants},
  {"merge order", test_merge_order},
  CU_TEST_INFO_NULL,
};

/* docs/harness.md comes in the environment: argv names the tests to run. */
int main(int argc, char **argv)
{
  CU_SuiteInfo suites[] = {
    { .pName = "oracle", .pTests = oracle_tests },
    CU_SUITE_INFO_NULL,
  };

  docs_path = getenv("HARNESS_DOCS");
  return test_main(argc, argv, suites, NULL);
}
