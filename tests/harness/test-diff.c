/*
 * harness-diff: the per-worker projection of a trace and the first
 * difference per worker. Table-driven: two traces (JSON lines as the
 * agents send them) and every line the comparison must print, in order;
 * then `clustersim diff A B` on trace files, through cli_run.
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "suite.h"
#include "test-support.h"

#define EV(t, name, em, w, pid, flags)                                     \
  "{\"type\":\"event\",\"t\":" #t ",\"event\":\"" name "\",\"emitter\":\"" \
  em "\",\"worker\":" #w ",\"pid\":" #pid flags "}\n"

#define LIVE(state) \
  ",\"ead\":null,\"connected\":true,\"dead\":false,\"member\":true," \
  "\"state\":\"" state "\""
#define DISC(ead) \
  ",\"ead\":" ead ",\"connected\":false,\"dead\":false,\"member\":false," \
  "\"state\":\"disconnected\""
#define DISC_DEAD(ead) \
  ",\"ead\":" ead ",\"connected\":false,\"dead\":true,\"member\":false," \
  "\"state\":\"disconnected\""
#define EXIT(ead, conn) \
  ",\"ead\":" ead ",\"connected\":" conn ",\"dead\":true,\"member\":false," \
  "\"state\":\"dead\",\"code\":0,\"signal\":null"
#define ADDR(port) \
  LIVE("listening") ",\"address\":{\"addressType\":4,\"address\":" \
  "\"127.0.0.1\",\"port\":" #port ",\"fd\":null}"

/* One worker's life up to listening, on port `port`, with pid `pid`. The
 * times are the same for every worker: two workers' events interleave. */
#define START(w, pid, port)                                \
  EV(10, "fork", "cluster", w, pid, LIVE("none"))           \
  EV(20, "online", "worker", w, pid, LIVE("online"))        \
  EV(21, "online", "cluster", w, pid, LIVE("online"))       \
  EV(30, "listening", "worker", w, pid, ADDR(port))         \
  EV(31, "listening", "cluster", w, pid, ADDR(port))
/* A graceful end: disconnect, then exit. */
#define END(w, pid)                                         \
  EV(50, "disconnect", "worker", w, pid, DISC("true"))      \
  EV(51, "disconnect", "cluster", w, pid, DISC("true"))     \
  EV(60, "exit", "worker", w, pid, EXIT("true", "false"))   \
  EV(61, "exit", "cluster", w, pid, EXIT("true", "false"))
/* The same end with the exit first. */
#define END_EXIT_FIRST(w, pid)                              \
  EV(50, "exit", "worker", w, pid, EXIT("true", "true"))    \
  EV(51, "exit", "cluster", w, pid, EXIT("true", "true"))   \
  EV(60, "disconnect", "worker", w, pid, DISC_DEAD("true")) \
  EV(61, "disconnect", "cluster", w, pid, DISC_DEAD("true"))

/* The exit first, with exitedAfterDisconnect `ead` at both. */
#define END_EXIT_FIRST_EAD(w, pid, ead)                     \
  EV(50, "exit", "worker", w, pid, EXIT(ead, "true"))       \
  EV(51, "exit", "cluster", w, pid, EXIT(ead, "true"))      \
  EV(60, "disconnect", "worker", w, pid, DISC_DEAD(ead))    \
  EV(61, "disconnect", "cluster", w, pid, DISC_DEAD(ead))

#define COMPLETE "{\"type\":\"trace\",\"t0\":0,\"complete\":true}\n"
#define INCOMPLETE "{\"type\":\"trace\",\"t0\":0,\"complete\":false}\n"

typedef struct {
  const char *name;
  const char *a, *b;
  int differ;                  /* workers that differ */
  const char *expected[6];     /* every line, in order; NULL-ended */
} diff_case_t;

static const diff_case_t cases[] = {
  {"the same run", COMPLETE START(1, 100, 4000) END(1, 100),
   COMPLETE START(1, 100, 4000) END(1, 100), 0, {NULL}},

  {"pids, ports and times are not compared",
   COMPLETE START(1, 100, 4000) END(1, 100),
   COMPLETE
   "{\"type\":\"log\",\"t\":1,\"text\":\"hello\"}\n"
   START(1, 777, 5123) END(1, 777), 0, {NULL}},

  {"a worker that reports exit without disconnect",
   COMPLETE START(1, 100, 4000) END(1, 100),
   COMPLETE START(1, 100, 4000)
   EV(60, "exit", "worker", 1, 100, EXIT("true", "false"))
   EV(61, "exit", "cluster", 1, 100, EXIT("true", "false")),
   1,
   {"  worker 1: first difference at its event 6, in the event:",
    "    A #5 disconnect worker ead=true connected=false dead=false "
    "member=false state=disconnected",
    "    B #5 exit worker ead=true connected=false dead=true member=false "
    "state=dead code=0 signal=null", NULL}},

  {"the harness's samples are not compared",
   COMPLETE START(1, 100, 4000) END(1, 100),
   COMPLETE START(1, 100, 4000)
   "{\"type\":\"sample\",\"what\":\"memory\",\"t\":40,\"worker\":1,"
   "\"pid\":100,\"rss_kb\":2460,\"pss_kb\":557}\n"
   END(1, 100), 0, {NULL}},

  {"exitedAfterDisconnect inverted at exit",
   COMPLETE START(1, 100, 4000) END(1, 100),
   COMPLETE START(1, 100, 4000)
   EV(50, "disconnect", "worker", 1, 100, DISC("true"))
   EV(51, "disconnect", "cluster", 1, 100, DISC("true"))
   EV(60, "exit", "worker", 1, 100, EXIT("false", "false"))
   EV(61, "exit", "cluster", 1, 100, EXIT("false", "false")),
   1,
   {"  worker 1: first difference at its event 8, in "
    "exitedAfterDisconnect:",
    "    A #7 exit worker ead=true connected=false dead=true member=false "
    "state=dead code=0 signal=null",
    "    B #7 exit worker ead=false connected=false dead=true member=false "
    "state=dead code=0 signal=null", NULL}},

  {"only the deviating worker is shown",
   COMPLETE START(1, 100, 4000) START(2, 101, 4000) END(1, 100)
   END(2, 101),
   COMPLETE START(1, 100, 4000) START(2, 101, 4001) END(1, 100)
   END(2, 101),
   1,
   {"  worker 2: first difference at its event 4, in address:",
    "    A #7 listening worker ead=null connected=true dead=false "
    "member=true state=listening address={\"address\":\"127.0.0.1\","
    "\"addressType\":4,\"fd\":null,\"port\":\"P1\"}",
    "    B #7 listening worker ead=null connected=true dead=false "
    "member=true state=listening address={\"address\":\"127.0.0.1\","
    "\"addressType\":4,\"fd\":null,\"port\":\"P2\"}", NULL}},

  {"a worker that only one run forked",
   COMPLETE START(1, 100, 4000) END(1, 100),
   COMPLETE START(1, 100, 4000) END(1, 100) START(2, 101, 4000),
   1, {"  worker 2: only in B (5 events, from #1)", NULL}},

  {"disconnect and exit in either order is Node's own",
   COMPLETE START(1, 100, 4000) END(1, 100),
   COMPLETE START(1, 100, 4000) END_EXIT_FIRST(1, 100), 0,
   {"  worker 1: the same but for the order of disconnect and exit, which "
    "Node does not fix", NULL}},

  {"the same order of disconnect and exit: every flag counts",
   COMPLETE START(1, 100, 4000) END(1, 100),
   COMPLETE START(1, 100, 4000)
   EV(50, "disconnect", "worker", 1, 100, DISC_DEAD("true"))
   EV(51, "disconnect", "cluster", 1, 100, DISC_DEAD("true"))
   EV(60, "exit", "worker", 1, 100, EXIT("true", "false"))
   EV(61, "exit", "cluster", 1, 100, EXIT("true", "false")),
   1,
   {"  worker 1: first difference at its event 6, in isDead():",
    "    A #5 disconnect worker ead=true connected=false dead=false "
    "member=false state=disconnected",
    "    B #5 disconnect worker ead=true connected=false dead=true "
    "member=false state=disconnected", NULL}},

  {"another order of disconnect and exit, and another flag",
   COMPLETE START(1, 100, 4000) END(1, 100),
   COMPLETE START(1, 100, 4000) END_EXIT_FIRST_EAD(1, 100, "false"), 1,
   {"  worker 1: disconnect and exit come in another order, which Node "
    "does not fix, and differ in exitedAfterDisconnect:",
    "    A #5 disconnect worker ead=true connected=false dead=false "
    "member=false state=disconnected",
    "    B #7 disconnect worker ead=false connected=false dead=true "
    "member=false state=disconnected", NULL}},

  {"another order of disconnect and exit, and another state",
   COMPLETE START(1, 100, 4000) END(1, 100),
   COMPLETE START(1, 100, 4000)
   EV(50, "exit", "worker", 1, 100, EXIT("true", "true"))
   EV(51, "exit", "cluster", 1, 100, EXIT("true", "true"))
   EV(60, "disconnect", "worker", 1, 100,
      ",\"ead\":true,\"connected\":false,\"dead\":true,\"member\":false,"
      "\"state\":\"dead\"")
   EV(61, "disconnect", "cluster", 1, 100, DISC_DEAD("true")), 1,
   {"  worker 1: disconnect and exit come in another order, which Node "
    "does not fix, and differ in state:",
    "    A #5 disconnect worker ead=true connected=false dead=false "
    "member=false state=disconnected",
    "    B #7 disconnect worker ead=true connected=false dead=true "
    "member=false state=dead", NULL}},

  {"an incomplete trace may stop early",
   COMPLETE START(1, 100, 4000) END(1, 100),
   INCOMPLETE START(1, 100, 4000), 0,
   {"  worker 1: the same as far as the incomplete trace (B) goes", NULL}},

  {"a complete trace may not",
   COMPLETE START(1, 100, 4000) END(1, 100),
   COMPLETE START(1, 100, 4000), 1,
   {"  worker 1: first difference at its event 6:",
    "    A #5 disconnect worker ead=true connected=false dead=false "
    "member=false state=disconnected",
    "    B nothing more (5 events)", NULL}},

  {"messages in canonical form, heartbeat traffic left out",
   COMPLETE START(1, 100, 4000)
   EV(40, "message", "worker", 1, 100,
      LIVE("listening") ",\"message\":{\"a\":1,\"b\":[2,{\"d\":4,\"c\":3}]}")
   EV(41, "message", "worker", 1, 100,
      LIVE("listening") ",\"message\":{\"clustersim\":\"pong\",\"n\":1}")
   END(1, 100),
   COMPLETE START(1, 100, 4000)
   EV(39, "message", "worker", 1, 100,
      LIVE("listening") ",\"message\":{\"clustersim\":\"pong\",\"n\":7}")
   EV(40, "message", "worker", 1, 100,
      LIVE("listening") ",\"message\":{\"b\":[2,{\"c\":3,\"d\":4}],\"a\":1}")
   END(1, 100), 0, {NULL}},

  {"a message that differs",
   COMPLETE START(1, 100, 4000)
   EV(40, "message", "worker", 1, 100,
      LIVE("listening") ",\"message\":{\"echo\":1}"),
   COMPLETE START(1, 100, 4000)
   EV(40, "message", "worker", 1, 100,
      LIVE("listening") ",\"message\":{\"echo\":2}"),
   1,
   {"  worker 1: first difference at its event 6, in message:",
    "    A #5 message worker ead=null connected=true dead=false member=true "
    "state=listening message={\"echo\":1}",
    "    B #5 message worker ead=null connected=true dead=false member=true "
    "state=listening message={\"echo\":2}", NULL}},
};

static void run_case(const diff_case_t *c)
{
  trace_t ta, tb;
  base_diag_t diag;
  trace_projection_t *pa = NULL, *pb = NULL;
  size_t i, n = 0;
  int differ;

  trace_init(&ta, 0);
  trace_init(&tb, 0);
  base_diag_init(&diag);
  CU_ASSERT_EQUAL_FATAL(trace_parse(c->a, &ta, &diag), 0);
  CU_ASSERT_EQUAL_FATAL(trace_parse(c->b, &tb, &diag), 0);
  CU_ASSERT_EQUAL_FATAL(trace_projection_of(&ta, &pa), 0);
  CU_ASSERT_EQUAL_FATAL(trace_projection_of(&tb, &pb), 0);
  differ = trace_projection_diff(pa, "A", pb, "B", &diag);
  while (c->expected[n] != NULL)
    n++;
  if (differ != c->differ || diag.count != n)
    fprintf(stderr, "\n%s: %d workers differ, %zu lines:\n", c->name,
            differ, diag.count);
  CU_ASSERT_EQUAL(differ, c->differ);
  CU_ASSERT_EQUAL(diag.count, n);
  for (i = 0; i < diag.count && i < n; i++) {
    if (strcmp(diag.lines[i], c->expected[i]) != 0)
      fprintf(stderr, "%s:\n  expected: %s\n  got:      %s\n", c->name,
              c->expected[i], diag.lines[i]);
    CU_ASSERT_STRING_EQUAL(diag.lines[i], c->expected[i]);
  }
  trace_projection_free(pa);
  trace_projection_free(pb);
  base_diag_free(&diag);
  trace_free(&ta);
  trace_free(&tb);
}

static void test_cases(void)
{
  size_t i;

  for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    run_case(&cases[i]);
}

/* The comparison is symmetric in what it finds. */
static void test_symmetric(void)
{
  size_t i;

  for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    diff_case_t r = cases[i];
    trace_t ta, tb;
    base_diag_t diag;
    trace_projection_t *pa = NULL, *pb = NULL;

    trace_init(&ta, 0);
    trace_init(&tb, 0);
    base_diag_init(&diag);
    CU_ASSERT_EQUAL_FATAL(trace_parse(r.b, &ta, &diag), 0);
    CU_ASSERT_EQUAL_FATAL(trace_parse(r.a, &tb, &diag), 0);
    CU_ASSERT_EQUAL_FATAL(trace_projection_of(&ta, &pa), 0);
    CU_ASSERT_EQUAL_FATAL(trace_projection_of(&tb, &pb), 0);
    CU_ASSERT_EQUAL(trace_projection_diff(pa, "B", pb, "A", &diag),
                    r.differ);
    trace_projection_free(pa);
    trace_projection_free(pb);
    base_diag_free(&diag);
    trace_free(&ta);
    trace_free(&tb);
  }
}

static char *write_temp(const char *text)
{
  char *path = strdup("/tmp/clustersim-test-diff-XXXXXX");
  int fd;

  if (path == NULL)
    return NULL;
  fd = mkstemp(path);
  if (fd < 0) {
    free(path);
    return NULL;
  }
  if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
    close(fd);
    unlink(path);
    free(path);
    return NULL;
  }
  close(fd);
  return path;
}

static int cli(const char *a, const char *b)
{
  char *argv[] = {"diff", "-q", (char *)a, (char *)b, NULL};
  int rc;

  /* its report goes to stdout: keep the test's output readable */
  fflush(stdout);
  rc = cli_run(4, argv);
  return rc;
}

/* `clustersim diff A B`: 0 the same, 1 different, 3 unreadable. */
static void test_cli_files(void)
{
  char *same = write_temp(cases[0].a);
  char *deviant = write_temp(cases[2].b);
  char *broken = write_temp("{\"type\":\"event\",\"t\":1\nnot json\n");

  CU_ASSERT_PTR_NOT_NULL_FATAL(same);
  CU_ASSERT_PTR_NOT_NULL_FATAL(deviant);
  CU_ASSERT_PTR_NOT_NULL_FATAL(broken);
  CU_ASSERT_EQUAL(cli(same, same), 0);
  CU_ASSERT_EQUAL(cli(same, deviant), 1);
  CU_ASSERT_EQUAL(cli(same, broken), 3);
  CU_ASSERT_EQUAL(cli(same, "/nonexistent/trace.jsonl"), 3);
  unlink(same);
  unlink(deviant);
  unlink(broken);
  free(same);
  free(deviant);
  free(broken);
}

static CU_TestInfo diff_tests[] = {
  {"first difference per worker", test_cases},
  {"symmetric", test_symmetric},
  {"diff A.jsonl B.jsonl", test_cli_files},
  CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
  CU_SuiteInfo suites[] = {
    { .pName = "diff", .pTests = diff_tests },
    CU_SUITE_INFO_NULL,
  };

  return test_main(argc, argv, suites, NULL);
}
