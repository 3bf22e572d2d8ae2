/*
 * test-explore.c - the parts of `clustersim explore` that need no cluster:
 * the generator (the same seed gives the same schedule, every schedule is
 * a valid scenario, every row of the vocabulary is drawn), the shrinker
 * on synthetic failure predicates, each property on a trace that breaks
 * it (with its exact message), and the measurements of a trace.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <CUnit/Basic.h>

#include "explore.h"
#include "explore-internal.h"
#include "test-support.h"

/* ---------------------------------------------------------------------- */
/* Generator                                                               */

static explore_gen_opts_t gen_opts(unsigned steps)
{
  explore_gen_opts_t o;

  memset(&o, 0, sizeof(o));
  o.steps = steps;
  o.load = EXPLORE_LOAD_RANDOM;
  o.time_scale = 1.0;
  o.checks = EXPLORE_PROPS_ALL;
  return o;
}

static void base_of(explore_base_t *b, unsigned workers, const char *respawn)
{
  base_diag_t d;

  base_diag_init(&d);
  CU_ASSERT_EQUAL_FATAL(explore_base_from_flags(workers, NULL, respawn, b,
                                                &d), 0);
  base_diag_free(&d);
}

static char *yaml_of(const explore_base_t *b, const explore_gen_opts_t *o,
                     uint64_t seed, uint64_t run)
{
  explore_schedule_t s;

  explore_generate(b, o, seed, run, &s);
  return explore_schedule_yaml(b, o, &s, "t", "a comment");
}

/* The same (seed, run) draws the same schedule, to the byte of its YAML;
 * another run or seed another one. */
static void test_same_seed(void)
{
  explore_gen_opts_t o = gen_opts(6);
  explore_base_t b;
  uint64_t run;

  base_of(&b, 2, NULL);
  for (run = 0; run < 50; run++) {
    char *a = yaml_of(&b, &o, 42, run), *c = yaml_of(&b, &o, 42, run);
    char *other = yaml_of(&b, &o, 42, run + 1), *seed = yaml_of(&b, &o, 43,
                                                                run);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    TEST_CHECK(strcmp(a, c) == 0, "run %llu drawn twice differs",
               (unsigned long long)run);
    TEST_CHECK(strcmp(a, other) != 0, "runs %llu and %llu are the same",
               (unsigned long long)run, (unsigned long long)run + 1);
    TEST_CHECK(strcmp(a, seed) != 0, "seeds 42 and 43 draw the same run");
    free(a);
    free(c);
    free(other);
    free(seed);
  }
  explore_base_free(&b);
}

/* A known schedule, so that a change of the drawing is seen: replaying
 * `--seed S --run I` of an older build draws what it drew. */
static void test_known_schedule(void)
{
  static const char want[] =
      "load: 1 connection, keep-alive\n"
      "1. after 68ms: kill worker=2 signal=SIGTERM\n"
      "2. after 564ms: disconnect worker=1\n"
      "3. after 134ms: rolling-restart timeout=565ms wait=false\n"
      "4. after 13ms: fork count=1\n"
      "settle: 237ms\n";
  explore_gen_opts_t o = gen_opts(4);
  explore_schedule_t s;
  explore_base_t b;
  char *text;

  base_of(&b, 2, NULL);
  explore_generate(&b, &o, 7, 3, &s);
  text = explore_schedule_text(&s);
  CU_ASSERT_PTR_NOT_NULL_FATAL(text);
  TEST_CHECK(strcmp(text, want) == 0, "drew:\n%s", text);
  CU_ASSERT_EQUAL(s.seed, 7);
  CU_ASSERT_EQUAL(s.run, 3);
  free(text);
  explore_base_free(&b);
}

typedef struct {
  const char *name;
  unsigned workers;
  const char *respawn;
  unsigned steps;
} base_case_t;

static const base_case_t base_cases[] = {
  {"2 workers, always", 2, NULL, 6},
  {"1 worker, unless-exited-after-disconnect", 1,
   "unless-exited-after-disconnect", 8},
  {"4 workers, on-nonzero", 4, "on-nonzero", 12},
  {"3 workers, never", 3, "never", 6},
  {"no worker", 0, NULL, 5},
};

/* Every schedule is a scenario the loader takes; the primary's end comes
 * last only; every named worker was forked by then; every row of the
 * vocabulary comes up. */
static void test_valid(void)
{
  const base_case_t *c = TEST_ROW(base_cases);
  explore_gen_opts_t o = gen_opts(c->steps);
  size_t drawn[64] = {0}, i, n = explore_action_count();
  explore_base_t b;
  uint64_t run;

  base_of(&b, c->workers, c->respawn);
  for (run = 0; run < 300; run++) {
    explore_schedule_t s;
    base_diag_t d;
    scenario_t *sc = NULL;
    char *y;
    explore_generate(&b, &o, 1234, run, &s);
    y = explore_schedule_yaml(&b, &o, &s, "valid", NULL);
    base_diag_init(&d);
    TEST_CHECK(scenario_load_string("valid.yaml", y, strlen(y), &d, &sc) ==
                   0, "run %llu: %s\n%s", (unsigned long long)run,
               d.count ? d.lines[0] : "?", y);
    scenario_free(sc);
    base_diag_free(&d);
    free(y);
    CU_ASSERT_EQUAL(s.n_steps, c->steps);
    for (i = 0; i < s.n_steps; i++) {
      const char *name = explore_action_name(s.steps[i].action);
      drawn[s.steps[i].action]++;
      if (strcmp(name, "shutdown") == 0 ||
          strcmp(name, "signal-primary") == 0)
        TEST_CHECK(i + 1 == s.n_steps, "run %llu: %s at %zu of %zu",
                   (unsigned long long)run, name, i + 1, s.n_steps);
      TEST_CHECK(s.steps[i].worker < 64, "worker %u", s.steps[i].worker);
    }
  }
  for (i = 0; c->workers >= 2 && i < n; i++)
    TEST_CHECK(drawn[i] > 0, "%s never drawn", explore_action_name(i));
  explore_base_free(&b);
}

/* A base file: its name, timeout and oracle go (a schedule writes its
 * own); one with steps is refused with the reason. */
static void test_base_file(void)
{
  static const char ok[] =
      "name: mine\ntimeout: 9s\ndescription: a base\n"
      "cluster: {workers: 3, scheduling: none}\n"
      "worker:\n  servers: [{kind: tcp, port: 0}]\n"
      "primary:\n  respawn: {when: on-nonzero, backoff: 100ms}\n"
      "  shutdown: {signals: [SIGTERM], timeout: 700ms}\n";
  static const char bad[] = "cluster: {workers: 1}\nsteps:\n  - sleep: 1ms\n";
  char path[] = "/tmp/test-explore-XXXXXX";
  explore_base_t b;
  base_diag_t d;
  FILE *f;
  int fd;

  fd = mkstemp(path);
  CU_ASSERT_FATAL(fd >= 0);
  f = fdopen(fd, "w");
  fputs(ok, f);
  fclose(f);
  base_diag_init(&d);
  CU_ASSERT_EQUAL_FATAL(explore_base_from_file(path, &b, &d), 0);
  CU_ASSERT_PTR_NULL(strstr(b.text, "mine"));
  CU_ASSERT_PTR_NULL(strstr(b.text, "timeout: 9s"));
  CU_ASSERT_EQUAL(b.workers, 3);
  CU_ASSERT_FALSE(b.rr);
  CU_ASSERT_FALSE(b.http);
  CU_ASSERT_TRUE(b.listens);
  CU_ASSERT_EQUAL(b.respawn, SCENARIO_RESPAWN_ON_NONZERO);
  CU_ASSERT_EQUAL(b.backoff_max_ms, 100);
  CU_ASSERT_EQUAL(b.shutdown_timeout_ms, 700);
  CU_ASSERT_EQUAL(b.shutdown_signals, (uint64_t)1 << 15);
  explore_base_free(&b);
  f = fopen(path, "w");
  fputs(bad, f);
  fclose(f);
  CU_ASSERT_EQUAL(explore_base_from_file(path, &b, &d), UV_EINVAL);
  CU_ASSERT_FATAL(d.count > 0);
  TEST_CHECK(strstr(d.lines[d.count - 1], "a base has no steps") != NULL,
             "%s", d.lines[d.count - 1]);
  base_diag_free(&d);
  unlink(path);
}

/* ---------------------------------------------------------------------- */
/* Shrinker                                                                */

/* A schedule of the given actions, each with a delay and parameters
 * away from their simplest values. */
static void schedule_of(explore_schedule_t *s, const char *const *names)
{
  size_t i;

  memset(s, 0, sizeof(*s));
  for (i = 0; names[i] != NULL; i++) {
    explore_step_t *st = &s->steps[s->n_steps++];
    int a = explore_action_find(names[i]);
    CU_ASSERT_FATAL(a >= 0);
    st->action = (unsigned)a;
    st->worker = 1;
    st->delay_ms = 100 + 10 * (int64_t)i;
    st->params[0] = 900;
    st->params[1] = 1;
  }
  s->load_connections = 3;
  s->settle_ms = 500;
}

static int find(const explore_schedule_t *s, const char *name, size_t from)
{
  size_t i;

  for (i = from; i < s->n_steps; i++)
    if (strcmp(explore_action_name(s->steps[i].action), name) == 0)
      return (int)i;
  return -1;
}

typedef struct {
  unsigned calls;
  int (*fn)(const explore_schedule_t *s);
} pred_t;

static int pred(const explore_schedule_t *s, void *arg)
{
  pred_t *p = arg;

  p->calls++;
  return p->fn(s);
}

/* Fails when a pause comes before a rolling restart: two faults, in
 * order. */
static int pause_then_restart(const explore_schedule_t *s)
{
  int p = find(s, "pause", 0);

  return p >= 0 && find(s, "rolling-restart", (size_t)p + 1) >= 0;
}

/* Fails when a hang lasts 400 ms or more. */
static int long_hang(const explore_schedule_t *s)
{
  int h = find(s, "hang", 0);

  return h >= 0 && s->steps[h].params[0] >= 400;
}

static int always(const explore_schedule_t *s)
{
  (void)s;
  return 1;
}

static int three_or_more(const explore_schedule_t *s)
{
  return s->n_steps >= 3;
}

static int under_load(const explore_schedule_t *s)
{
  return s->load_connections > 0 && find(s, "crash", 0) >= 0;
}

static int interrupted(const explore_schedule_t *s)
{
  (void)s;
  return -1;
}

typedef struct {
  const char *name;
  const char *actions[10];
  int (*fn)(const explore_schedule_t *s);
  const char *want[4];       /* the actions left, in order */
  bool load;                 /* the load is left */
} shrink_case_t;

static const shrink_case_t shrink_cases[] = {
  {"pause then restart, among noise",
   {"send", "pause", "status", "crash", "fork", "rolling-restart", "hang",
    "kill", NULL},
   pause_then_restart, {"pause", "rolling-restart", NULL}, false},
  {"the order matters: a restart before the pause is noise",
   {"rolling-restart", "send", "pause", "crash", "rolling-restart", NULL},
   pause_then_restart, {"pause", "rolling-restart", NULL}, false},
  {"a value bisected", {"crash", "hang", "status", NULL}, long_hang,
   {"hang", NULL}, false},
  {"nothing needed", {"crash", "hang", "status", NULL}, always, {NULL},
   false},
  {"a count of actions", {"send", "send", "send", "send", "send", NULL},
   three_or_more, {"send", "send", "send", NULL}, false},
  {"the load is kept when needed", {"status", "crash", "send", NULL},
   under_load, {"crash", NULL}, true},
};

static void test_shrink(void)
{
  const shrink_case_t *c = TEST_ROW(shrink_cases);
  explore_schedule_t s, out;
  explore_shrink_stats_t st;
  pred_t p = {0, c->fn};
  base_buf_t log = BASE_BUF_INIT;
  size_t i, n = 0;

  schedule_of(&s, c->actions);
  CU_ASSERT_EQUAL_FATAL(c->fn(&s), 1);
  CU_ASSERT_EQUAL(explore_shrink(&s, pred, &p, &out, &st, &log), 0);
  while (c->want[n] != NULL)
    n++;
  TEST_CHECK(out.n_steps == n, "%zu actions left, want %zu\n%s",
             out.n_steps, n, log.base ? log.base : "");
  for (i = 0; i < n && i < out.n_steps; i++) {
    const explore_step_t *x = &out.steps[i];
    TEST_CHECK(strcmp(explore_action_name(x->action), c->want[i]) == 0,
               "action %zu: %s, want %s", i + 1,
               explore_action_name(x->action), c->want[i]);
    TEST_CHECK(x->delay_ms == 0, "action %zu kept a delay of %lld ms", i + 1,
               (long long)x->delay_ms);
  }
  CU_ASSERT_EQUAL(c->fn(&out), 1);
  CU_ASSERT_EQUAL(out.settle_ms, 0);
  CU_ASSERT_EQUAL(out.load_connections > 0, c->load);
  CU_ASSERT_EQUAL(st.tests, p.calls);
  CU_ASSERT_EQUAL(st.steps_before, s.n_steps);
  CU_ASSERT_EQUAL(st.steps_after, out.n_steps);
  CU_ASSERT_FALSE(st.interrupted);
  /* bounded: a handful of tries per action and value */
  TEST_CHECK(p.calls < 120, "%u candidates", p.calls);
  base_buf_free(&log);
}

/* A value is taken toward its simplest as far as the failure allows. */
static void test_shrink_value(void)
{
  static const char *const acts[] = {"hang", NULL};
  explore_schedule_t s, out;
  explore_shrink_stats_t st;
  pred_t p = {0, long_hang};

  schedule_of(&s, acts);
  s.steps[0].params[0] = 1500;
  explore_shrink(&s, pred, &p, &out, &st, NULL);
  CU_ASSERT_EQUAL_FATAL(out.n_steps, 1);
  TEST_CHECK(out.steps[0].params[0] >= 400 && out.steps[0].params[0] < 600,
             "hang for %lld ms", (long long)out.steps[0].params[0]);
}

static void test_shrink_interrupted(void)
{
  static const char *const acts[] = {"crash", "hang", NULL};
  explore_schedule_t s, out;
  explore_shrink_stats_t st;
  pred_t p = {0, interrupted};

  schedule_of(&s, acts);
  explore_shrink(&s, pred, &p, &out, &st, NULL);
  CU_ASSERT_TRUE(st.interrupted);
  CU_ASSERT_EQUAL(p.calls, 1);
  CU_ASSERT_EQUAL(out.n_steps, 2);
}

/* ---------------------------------------------------------------------- */
/* Properties                                                              */

/* Records as the agents and the harness write them; t in ns from 0. */
#define EV(t, name, w, rest)                                                  \
  "{\"type\":\"event\",\"t\":" #t ",\"event\":\"" name "\",\"emitter\":"      \
  "\"worker\",\"worker\":" #w rest "}\n"
#define FORK(t, w)                                                            \
  "{\"type\":\"event\",\"t\":" #t ",\"event\":\"fork\",\"emitter\":"         \
  "\"cluster\",\"worker\":" #w "}\n"
#define POLICY(t, what, rest)                                                 \
  "{\"type\":\"policy\",\"t\":" #t ",\"action\":\"" what "\"" rest "}\n"
#define ACTION(t, what, rest)                                                 \
  "{\"type\":\"action\",\"t\":" #t ",\"action\":\"" what "\"" rest "}\n"
#define EXIT_OF(code, sig, ead)                                               \
  ",\"code\":" code ",\"signal\":" sig ",\"ead\":" ead

typedef struct {
  const char *name;
  scenario_respawn_t respawn;
  runner_outcome_t outcome;
  const char *reason;
  const char *rule;          /* a finding of the runner, or NULL */
  const char *finding;
  const char *trace;
  int prop;                  /* the property that breaks (-1: none) */
  const char *message;
} prop_case_t;

/* 1 s = 1000000000 */
static const prop_case_t prop_cases[] = {
  {"respawn: not replaced", SCENARIO_RESPAWN_ALWAYS, RUNNER_PASS, NULL,
   NULL, NULL,
   FORK(1000, 1) EV(2000, "listening", 1, "")
   EV(100000000, "exit", 1, EXIT_OF("1", "null", "false"))
   ACTION(3000000000, "end", ""),
   EXPLORE_PROP_RESPAWN,
   "worker 1 exited at 0.100 s (code 1, signal null, ead false) and was "
   "not replaced within 1.400 s"},
  {"respawn: replaced too late", SCENARIO_RESPAWN_ON_NONZERO, RUNNER_PASS,
   NULL, NULL, NULL,
   FORK(1000, 1) EV(100000000, "exit", 1, EXIT_OF("null", "\"SIGKILL\"",
                                                   "false"))
   POLICY(2000000000, "respawn", ",\"old\":1,\"new\":2")
   FORK(2000001000, 2) EV(2100000000, "listening", 2, "")
   ACTION(5000000000, "end", ""),
   EXPLORE_PROP_RESPAWN,
   "worker 1 exited at 0.100 s and was replaced (by worker 2) only 1.900 s "
   "later, past 1.400 s"},
  {"respawn: the replacement never listens", SCENARIO_RESPAWN_ALWAYS,
   RUNNER_PASS, NULL, NULL, NULL,
   FORK(1000, 1) EV(100000000, "exit", 1, EXIT_OF("0", "null", "true"))
   POLICY(150000000, "respawn", ",\"old\":1,\"new\":2")
   FORK(150001000, 2) EV(150002000, "online", 2, "")
   ACTION(5000000000, "end", ""),
   EXPLORE_PROP_RESPAWN,
   "worker 2 (replacing worker 1, forked at 0.150 s) was not listening "
   "within 2.000 s (nor before the end of the steps)"},
  {"respawn: in time", SCENARIO_RESPAWN_ALWAYS, RUNNER_PASS, NULL, NULL,
   NULL,
   FORK(1000, 1) EV(100000000, "exit", 1, EXIT_OF("1", "null", "false"))
   POLICY(150000000, "respawn", ",\"old\":1,\"new\":2")
   FORK(150001000, 2) EV(250000000, "listening", 2, "")
   ACTION(5000000000, "end", ""),
   -1, NULL},
  {"respawn: the rule does not replace it", SCENARIO_RESPAWN_UNLESS_EAD,
   RUNNER_PASS, NULL, NULL, NULL,
   FORK(1000, 1) EV(100000000, "exit", 1, EXIT_OF("0", "null", "true"))
   ACTION(5000000000, "end", ""),
   -1, NULL},
  {"respawn: retired by a rolling restart", SCENARIO_RESPAWN_ALWAYS,
   RUNNER_PASS, NULL, NULL, NULL,
   FORK(1000, 1) POLICY(90000000, "restart-disconnect", ",\"worker\":1")
   EV(100000000, "exit", 1, EXIT_OF("0", "null", "true"))
   ACTION(5000000000, "end", ""),
   -1, NULL},
  {"respawn: replaced by a rolling restart, ended by something else",
   SCENARIO_RESPAWN_ALWAYS, RUNNER_PASS, NULL, NULL, NULL,
   FORK(1000, 1) EV(2000, "listening", 1, "")
   POLICY(50000000, "restart-fork", ",\"old\":1,\"new\":3")
   FORK(50001000, 3)
   EV(60000000, "exit", 1, EXIT_OF("0", "null", "true"))
   EV(150000000, "listening", 3, "")
   ACTION(5000000000, "end", ""),
   -1, NULL},
  {"respawn: the restart's replacement never listens",
   SCENARIO_RESPAWN_ALWAYS, RUNNER_PASS, NULL, NULL, NULL,
   FORK(1000, 1) EV(2000, "listening", 1, "")
   POLICY(50000000, "restart-fork", ",\"old\":1,\"new\":3")
   FORK(50001000, 3)
   EV(60000000, "exit", 1, EXIT_OF("0", "null", "true"))
   ACTION(5000000000, "end", ""),
   EXPLORE_PROP_RESPAWN,
   "worker 3 (replacing worker 1, forked at 0.050 s) was not listening "
   "within 2.000 s (nor before the end of the steps)"},
  {"respawn: the steps end first", SCENARIO_RESPAWN_ALWAYS, RUNNER_PASS,
   NULL, NULL, NULL,
   FORK(1000, 1) EV(100000000, "exit", 1, EXIT_OF("1", "null", "false"))
   ACTION(200000000, "end", ""),
   -1, NULL},
  {"respawn: the primary was paused", SCENARIO_RESPAWN_ALWAYS, RUNNER_PASS,
   NULL, NULL, NULL,
   FORK(1000, 1) ACTION(50000000, "pause", ",\"line\":9")
   EV(100000000, "exit", 1, EXIT_OF("1", "null", "false"))
   ACTION(1550000000, "resume", ",\"line\":9")
   POLICY(1600000000, "respawn", ",\"old\":1,\"new\":2")
   FORK(1600001000, 2) EV(1700000000, "listening", 2, "")
   ACTION(5000000000, "end", ""),
   -1, NULL},
  {"id reused", SCENARIO_RESPAWN_NEVER, RUNNER_PASS, NULL, NULL, NULL,
   FORK(1000, 1) FORK(2000, 2) FORK(3000000, 1),
   EXPLORE_PROP_ID_REUSE,
   "worker 1: forked a second time: fork at 0.003 s (event #2)"},
  {"deadline", SCENARIO_RESPAWN_NEVER, RUNNER_TIMEOUT, "timed out", NULL,
   NULL, FORK(1000, 1), EXPLORE_PROP_DEADLINE,
   "the run passed its deadline: timed out"},
  {"run error", SCENARIO_RESPAWN_NEVER, RUNNER_ERROR,
   "the agent did not say hello within 10 s", NULL, NULL, "",
   EXPLORE_PROP_RUN_ERROR,
   "the run could not be carried out: the agent did not say hello within "
   "10 s"},
  {"an invariant of the oracle", SCENARIO_RESPAWN_NEVER, RUNNER_FAIL, NULL,
   "both-ends", "s.yaml:3: worker 1: expected a disconnect", FORK(1, 1),
   EXPLORE_PROP_INV_BOTH_ENDS, "s.yaml:3: worker 1: expected a disconnect"},
  {"leftovers", SCENARIO_RESPAWN_NEVER, RUNNER_FAIL, NULL, "hygiene",
   "1 process of the run was still alive", FORK(1, 1), EXPLORE_PROP_ORPHAN,
   "1 process of the run was still alive"},
  {"a worker without exit", SCENARIO_RESPAWN_NEVER, RUNNER_FAIL, NULL,
   "expect.order", "s.yaml:30: worker 2: expected exit", FORK(1, 1),
   EXPLORE_PROP_EXIT, "s.yaml:30: worker 2: expected exit"},
  {"a slow shutdown", SCENARIO_RESPAWN_NEVER, RUNNER_FAIL, NULL,
   "expect.timing", "s.yaml:31: expected primary-exit #1 within 3.000 s",
   FORK(1, 1), EXPLORE_PROP_SHUTDOWN,
   "s.yaml:31: expected primary-exit #1 within 3.000 s"},
  {"a failed request in a restart", SCENARIO_RESPAWN_NEVER, RUNNER_FAIL,
   NULL, "expect.availability", "s.yaml:32: 1 request failed", FORK(1, 1),
   EXPLORE_PROP_RESTART, "s.yaml:32: 1 request failed"},
  {"a step not carried out is no property", SCENARIO_RESPAWN_NEVER,
   RUNNER_FAIL, NULL, "step", "s.yaml:9: step crash: worker 3 has exited",
   FORK(1, 1), -1, NULL},
};

static void test_prop(void)
{
  const prop_case_t *c = TEST_ROW(prop_cases);
  explore_violations_t v;
  explore_base_t b;
  runner_result_t r;
  base_diag_t d;

  base_of(&b, 2, NULL);
  b.respawn = c->respawn;
  memset(&r, 0, sizeof(r));
  memset(&v, 0, sizeof(v));
  r.outcome = c->outcome;
  r.reason = (char *)c->reason;
  oracle_findings_init(&r.findings);
  if (c->rule != NULL)
    oracle_findings_add(&r.findings, ORACLE_FINDING_FAIL, c->rule, 0, -1, 0,
                        "%s", c->finding);
  trace_init(&r.trace, 0);
  base_diag_init(&d);
  CU_ASSERT_EQUAL_FATAL(trace_parse(c->trace, &r.trace, &d), 0);
  trace_finish(&r.trace);
  CU_ASSERT_EQUAL(explore_check(&b, &r, EXPLORE_PROPS_ALL, 1.0, &v), 0);
  if (c->prop < 0) {
    TEST_CHECK(v.count == 0, "%s: %s",
               v.count ? explore_prop_name(v.items[0].prop) : "",
               v.count ? v.items[0].message : "");
  } else {
    CU_ASSERT_EQUAL_FATAL(v.count, 1);
    TEST_CHECK(v.items[0].prop == (explore_prop_t)c->prop, "got %s",
               explore_prop_name(v.items[0].prop));
    TEST_CHECK(strcmp(v.items[0].message, c->message) == 0,
               "got:  %s\nwant: %s", v.items[0].message, c->message);
  }
  /* a property left out is not checked */
  explore_violations_free(&v);
  if (c->prop >= 0) {
    CU_ASSERT_EQUAL(explore_check(&b, &r, EXPLORE_PROPS_ALL &
                                  ~EXPLORE_PROP_BIT(c->prop), 1.0, &v), 0);
    CU_ASSERT_EQUAL(v.count, 0);
    explore_violations_free(&v);
  }
  base_diag_free(&d);
  trace_free(&r.trace);
  oracle_findings_free(&r.findings);
  explore_base_free(&b);
}

/* ---------------------------------------------------------------------- */
/* The differential property                                               */

/* A cluster-side event of worker w with its flags; t in ns. */
#define CEV(t, name, w, rest)                                                 \
  "{\"type\":\"event\",\"t\":" #t ",\"event\":\"" name "\",\"emitter\":"     \
  "\"cluster\",\"worker\":" #w rest "}\n"
#define COMPLETE "{\"type\":\"trace\",\"t0\":0,\"complete\":true}\n"
#define FLAGS(ead, conn, dead, member)                                        \
  ",\"ead\":" ead ",\"connected\":" conn ",\"dead\":" dead                  \
  ",\"member\":" member
/* worker 1 forked, online, listening on its own port */
#define UP(w)                                                                 \
  CEV(1000, "fork", w, "") CEV(2000, "online", w, "")                       \
  CEV(3000, "listening", w, ",\"address\":{\"address\":\"127.0.0.1\","      \
      "\"port\":40001,\"addressType\":4}")
/* disconnect then exit, as Node emits them mostly... */
#define DISCONNECT_EXIT(code)                                                 \
  CEV(4000, "disconnect", 1, FLAGS("true", "false", "false", "true"))       \
  CEV(5000, "exit", 1, FLAGS("true", "false", "true", "false")              \
      ",\"code\":" code ",\"signal\":null")
/* ...and exit then disconnect, which Node emits as well */
#define EXIT_DISCONNECT(code)                                                 \
  CEV(4000, "exit", 1, FLAGS("true", "true", "true", "true")                \
      ",\"code\":" code ",\"signal\":null")                                 \
  CEV(5000, "disconnect", 1, FLAGS("true", "false", "true", "false"))

typedef struct {
  const char *name;
  const char *a, *b;         /* the traces of the two targets */
  int differs;               /* what explore__diff returns */
  const char *message;       /* in the lines it writes */
} diff_case_t;

static const diff_case_t diff_cases[] = {
  {"the same story", COMPLETE UP(1) DISCONNECT_EXIT("0"),
   COMPLETE UP(1) DISCONNECT_EXIT("0"), 0, NULL},
  {"only the order of disconnect and exit: Node varies it",
   COMPLETE UP(1) DISCONNECT_EXIT("0"), COMPLETE UP(1) EXIT_DISCONNECT("0"),
   0, "worker 1: the same but for the order of disconnect and exit, which "
      "Node does not fix"},
  {"another exit code: a real difference",
   COMPLETE UP(1) DISCONNECT_EXIT("0"), COMPLETE UP(1) DISCONNECT_EXIT("1"),
   1, "worker 1: first difference at its event 5, in the exit status:"},
  {"another order and another exit code: still a difference",
   COMPLETE UP(1) DISCONNECT_EXIT("0"), COMPLETE UP(1) EXIT_DISCONNECT("7"),
   1, "worker 1: disconnect and exit come in another order, which Node "
      "does not fix, and differ in the exit status:"},
  {"exitedAfterDisconnect differs",
   COMPLETE UP(1) DISCONNECT_EXIT("0"),
   COMPLETE UP(1)
   CEV(4000, "disconnect", 1, FLAGS("false", "false", "false", "true"))
   CEV(5000, "exit", 1, FLAGS("false", "false", "true", "false")
       ",\"code\":0,\"signal\":null"),
   1, "worker 1: first difference at its event 4, in exitedAfterDisconnect:"},
  {"a worker only one target forked", COMPLETE UP(1) DISCONNECT_EXIT("0"),
   COMPLETE UP(1) DISCONNECT_EXIT("0") UP(2), 1, "worker 2: only in node"},
};

static void test_diff(void)
{
  const diff_case_t *c = TEST_ROW(diff_cases);
  runner_result_t a, b;
  base_diag_t d, pd;
  bool said = c->message == NULL;
  size_t i;
  int rc;

  memset(&a, 0, sizeof(a));
  memset(&b, 0, sizeof(b));
  trace_init(&a.trace, 0);
  trace_init(&b.trace, 0);
  base_diag_init(&pd);
  CU_ASSERT_EQUAL_FATAL(trace_parse(c->a, &a.trace, &pd), 0);
  CU_ASSERT_EQUAL_FATAL(trace_parse(c->b, &b.trace, &pd), 0);
  trace_finish(&a.trace);
  trace_finish(&b.trace);
  base_diag_init(&d);
  rc = explore__diff(&a, "builtin", &b, "node", &d);
  TEST_CHECK(rc == c->differs, "explore__diff returned %d, expected %d",
             rc, c->differs);
  for (i = 0; i < d.count; i++)
    said |= strstr(d.lines[i], c->message) != NULL;
  TEST_CHECK(said, "no line says: %s", c->message);
  for (i = 0; !said && i < d.count; i++)
    printf("  got: %s\n", d.lines[i]);
  /* the other way round, the same verdict */
  base_diag_free(&d);
  base_diag_init(&d);
  CU_ASSERT_EQUAL(explore__diff(&b, "node", &a, "builtin", &d), c->differs);
  base_diag_free(&d);
  base_diag_free(&pd);
  trace_free(&a.trace);
  trace_free(&b.trace);
}

/* Two runs of one failure differ in their numbers, not their words: the
 * shrinker keeps a candidate only when it fails the same way. */
typedef struct {
  const char *a, *b;
  bool same;
} same_case_t;

static const same_case_t same_cases[] = {
  {"s.yaml:3: worker 1: expected a disconnect as well as the exit at 0.213 "
   "s (event #14), got none",
   "s.yaml:5: worker 12: expected a disconnect as well as the exit at 1.5 "
   "s (event #9), got none", true},
  {"s.yaml:3: worker 1: expected a disconnect as well as the exit at 0.213 "
   "s (event #14), got none",
   "s.yaml:3: worker 1: expected an exit, got none before the end of the "
   "run", false},
  {"worker 1 exited at 0.100 s (code 1, signal null, ead false) and was "
   "not replaced within 1.400 s",
   "worker 2 exited at 0.300 s (code 7, signal null, ead false) and was "
   "not replaced within 1.400 s", true},
  {"worker 1 exited (signal SIGTERM)", "worker 1 exited (signal SIGKILL)",
   false},
  {"the first line\nthen 1", "the first line\nthen 2 and more", true},
  {"a failure", "a failure and more", false},
  {"a failure", NULL, false},
};

static void test_failure_same(void)
{
  size_t i;

  for (i = 0; i < sizeof(same_cases) / sizeof(same_cases[0]); i++) {
    const same_case_t *c = &same_cases[i];
    TEST_CHECK(explore_failure_same(c->a, c->b) == c->same &&
                   explore_failure_same(c->b, c->a) == c->same,
               "%s\n%s\nshould be %s", c->a, c->b ? c->b : "NULL",
               c->same ? "the same failure" : "different failures");
  }
}

/* Every property has a name, a way of being checked and a line of
 * documentation; the names are unique and found back. */
static void test_prop_table(void)
{
  int p, q;

  for (p = 0; p < EXPLORE_PROP_COUNT; p++) {
    const char *name = explore_prop_name((explore_prop_t)p);
    CU_ASSERT_EQUAL(explore_prop_find(name), p);
    CU_ASSERT(strlen(explore_prop_doc((explore_prop_t)p)) > 10);
    for (q = 0; q < p; q++)
      CU_ASSERT(strcmp(name, explore_prop_name((explore_prop_t)q)) != 0);
  }
  CU_ASSERT_EQUAL(explore_prop_find("nope"), -1);
  CU_ASSERT_EQUAL(explore_prop_how(EXPLORE_PROP_INV_ONCE),
                  EXPLORE_HOW_INVARIANT);
}

/* ---------------------------------------------------------------------- */
/* Measurements                                                            */

/* Two workers listen from 0.1 s; worker 1 is crashed at 1 s and a
 * replacement listens at 1.3 s; worker 2 closes at 2 s, nobody listens
 * until 2.5 s; the steps end at 3 s. */
static const char measured[] =
    FORK(1000, 1) FORK(2000, 2) EV(100000000, "listening", 1, "")
    EV(100000000, "listening", 2, "")
    ACTION(1000000000, "crash", ",\"worker\":1,\"line\":7")
    EV(1050000000, "exit", 1, EXIT_OF("1", "null", "false"))
    EV(1300000000, "listening", 3, "")
    ACTION(1900000000, "disconnect", ",\"worker\":3,\"line\":8")
    EV(2000000000, "disconnect", 2, ",\"ead\":true")
    EV(2500000000, "listening", 4, "")
    ACTION(3000000000, "end", "")
    "{\"type\":\"load\",\"what\":\"totals\",\"t\":3000000001,\"sent\":100,"
    "\"ok\":90,\"retried\":4,\"refused\":5,\"reset\":1}\n";

static void test_measure(void)
{
  explore_measure_t m;
  trace_t tr;
  base_diag_t d;

  trace_init(&tr, 0);
  base_diag_init(&d);
  CU_ASSERT_EQUAL_FATAL(trace_parse(measured, &tr, &d), 0);
  trace_finish(&tr);
  CU_ASSERT_EQUAL_FATAL(explore_measure(&tr, 1000, &m), 0);
  CU_ASSERT_TRUE(m.load);
  CU_ASSERT_EQUAL(m.requests, 100);
  CU_ASSERT_EQUAL(m.failed, 6);
  CU_ASSERT_DOUBLE_EQUAL(m.availability, 0.94, 1e-9);
  /* from 2.0 s (worker 2's disconnect; 3 was disconnected at 1.9 s) to
   * 2.5 s */
  CU_ASSERT_EQUAL(m.no_listener_ms, 500);
  CU_ASSERT_EQUAL_FATAL(m.n_faults, 2);
  CU_ASSERT_STRING_EQUAL(m.faults[0].action, "crash");
  /* 2 before; 1 at 1.05 s; 2 again at 1.3 s */
  CU_ASSERT_EQUAL(m.faults[0].recovery_ms, 300);
  CU_ASSERT_STRING_EQUAL(m.faults[1].action, "disconnect");
  /* 2 before 1.9 s; 0 at 2.0 s; 1 at 2.5 s: never 2 again */
  CU_ASSERT_EQUAL(m.faults[1].recovery_ms, -2);
  explore_measure_free(&m);
  base_diag_free(&d);
  trace_free(&tr);
}

/* The latency record of a load, read from the trace: windows around a
 * fault. */
static void test_measure_latency(void)
{
  load_measure_t lm;
  explore_measure_t m;
  trace_t tr;
  base_diag_t d;
  cJSON *rec;
  char *text, *all;
  size_t i;

  memset(&lm, 0, sizeof(lm));
  lm.bucket_ms = LOAD_BUCKET_MS;
  lm.start_ns = 0;
  lm.nbuckets = lm.capbuckets = 20;
  lm.buckets = calloc(20, sizeof(load_bucket_t));
  CU_ASSERT_PTR_NOT_NULL_FATAL(lm.buckets);
  /* 10 ok of 100 us per bucket; after 1 s, 1 ms, and 2 failures */
  for (i = 0; i < 20; i++) {
    uint64_t us = i < 10 ? 100 : 1000;
    lm.buckets[i].ok = 10;
    lm.buckets[i].max_us = (uint32_t)us;
    lm.buckets[i].cells[load_hist_cell(LOAD_BUCKET_BITS, us)] = 10;
    lm.buckets[i].failed = i >= 10 ? 2 : 0;
  }
  rec = load_measure_json(&lm, 2000000000);
  text = cJSON_PrintUnformatted(rec);
  all = base_asprintf("%s%s\n",
                      ACTION(1000000000, "crash", ",\"worker\":1,\"line\":7")
                      ACTION(3000000000, "end", ""), text);
  trace_init(&tr, 0);
  base_diag_init(&d);
  CU_ASSERT_EQUAL_FATAL(trace_parse(all, &tr, &d), 0);
  trace_finish(&tr);
  CU_ASSERT_EQUAL_FATAL(explore_measure(&tr, 500, &m), 0);
  CU_ASSERT_EQUAL_FATAL(m.n_faults, 1);
  CU_ASSERT_EQUAL(m.faults[0].ok_before, 50);
  CU_ASSERT_EQUAL(m.faults[0].failed_before, 0);
  CU_ASSERT_EQUAL(m.faults[0].ok_after, 50);
  CU_ASSERT_EQUAL(m.faults[0].failed_after, 10);
  /* 100 us: [96, 103] with 4 bits, clamped to the max, 100 */
  CU_ASSERT_EQUAL(m.faults[0].p99_before_us, 100);
  CU_ASSERT_EQUAL(m.faults[0].p99_after_us, 1000);
  CU_ASSERT_EQUAL(m.latency.nbuckets, 20);
  explore_measure_free(&m);
  base_diag_free(&d);
  trace_free(&tr);
  cJSON_Delete(rec);
  free(text);
  free(all);
  load_measure_free(&lm);
}

/* ---------------------------------------------------------------------- */
/* docs/explore.md                                                         */

static char *read_all(const char *path)
{
  FILE *f = fopen(path, "r");
  char *text = NULL;
  long n;

  if (f == NULL)
    return NULL;
  if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 &&
      fseek(f, 0, SEEK_SET) == 0 && (text = calloc(1, (size_t)n + 1)) != NULL &&
      fread(text, 1, (size_t)n, f) != (size_t)n) {
    free(text);
    text = NULL;
  }
  fclose(f);
  return text;
}

/* The docs name every action and every property as the tables do. */
static void test_docs(void)
{
  const char *path = getenv("EXPLORE_DOCS");
  char *text, name[64];
  size_t i;
  int p;

  if (path == NULL) {
    printf("EXPLORE_DOCS is not set: not checked\n");
    return;
  }
  text = read_all(path);
  CU_ASSERT_PTR_NOT_NULL_FATAL(text);
  for (i = 0; i < explore_action_count(); i++) {
    snprintf(name, sizeof(name), "| `%s` |", explore_action_name(i));
    TEST_CHECK(strstr(text, name) != NULL, "%s: no row for the action %s",
               path, explore_action_name(i));
  }
  for (p = 0; p < EXPLORE_PROP_COUNT; p++) {
    snprintf(name, sizeof(name), "`%s`", explore_prop_name((explore_prop_t)p));
    TEST_CHECK(strstr(text, name) != NULL, "%s: the property %s is missing",
               path, explore_prop_name((explore_prop_t)p));
  }
  free(text);
}

/* ---------------------------------------------------------------------- */

static CU_TestInfo base_tests[sizeof(base_cases) / sizeof(base_cases[0]) + 1];
static CU_TestInfo shrink_tests[sizeof(shrink_cases) / sizeof(shrink_cases[0]) +
                                1];
static CU_TestInfo prop_tests[sizeof(prop_cases) / sizeof(prop_cases[0]) + 1];
static CU_TestInfo diff_tests[sizeof(diff_cases) / sizeof(diff_cases[0]) + 1];

static CU_TestInfo gen_tests[] = {
  {"the same seed draws the same schedule", test_same_seed},
  {"a known schedule", test_known_schedule},
  {"a base file", test_base_file},
  CU_TEST_INFO_NULL,
};

static CU_TestInfo misc_tests[] = {
  {"a value taken toward its simplest", test_shrink_value},
  {"an interrupted shrink", test_shrink_interrupted},
  {"the table of properties", test_prop_table},
  {"the same failure, numbers aside", test_failure_same},
  {"listeners, recovery, availability", test_measure},
  {"latency around a fault", test_measure_latency},
  {"docs/explore.md names every action and property", test_docs},
  CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
  CU_SuiteInfo suites[] = {
    {.pName = "generator", .pTests = gen_tests},
    {.pName = "valid schedules", .pTests = base_tests},
    {.pName = "shrinker", .pTests = shrink_tests},
    {.pName = "properties", .pTests = prop_tests},
    {.pName = "differential", .pTests = diff_tests},
    {.pName = "more", .pTests = misc_tests},
    CU_SUITE_INFO_NULL,
  };

  TEST_ROWS_FILL(base_tests, base_cases, test_valid);
  TEST_ROWS_FILL(shrink_tests, shrink_cases, test_shrink);
  TEST_ROWS_FILL(prop_tests, prop_cases, test_prop);
  TEST_ROWS_FILL(diff_tests, diff_cases, test_diff);
  return test_main(argc, argv, suites, NULL);
}
