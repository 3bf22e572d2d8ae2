/*
 * fixtures.c - the synthetic runs. Times and wall clocks are fixed so that
 * two builds of a fixture are byte-identical.
 */
#include "fixtures.h"

#include <string.h>

#define T0_UNIX 1796000000000000000LL /* 2026-11-30T00:53:20Z */
#define MS 1000000ull

typedef struct {
  report_outcome_t o;
  const char *reason;
  const char *detail;
  const char *output;
  double dur;
  int64_t failed_event;
} att_t;

/* TR_ROLLING_OK: the rolling restart without its failed requests. */
typedef enum { TR_NONE, TR_ROLLING, TR_ROLLING_OK, TR_CRASH } trace_t;

typedef struct {
  const char *scenario;
  const char *file;
  unsigned line;
  const char *target;
  trace_t trace;
  bool running; /* the last attempt never ends */
  att_t att[4];
} case_t;

typedef struct {
  const char *name;
  const char *shard;
  case_t cases[8];
} fixture_t;

#define PASS(d) {REPORT_PASS, NULL, NULL, "all expectations held\n", d, -1}

static const char nasty[] =
    "\033[31mred\033[0m bell\a nul-ish\x01\x02 vt\v ff\f del\x7f "
    "cdata]]>end <tag> & \"quote\" 'apos' "
    "bad-utf8:\xff\xfe|\xc3\x28|\xc0\xaf|\xed\xa0\x80|\xf4\x90\x80\x80| "
    "c1:\xc2\x85 nonchar:\xef\xbf\xbe ok:\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 "
    "osc:\033]0;title\007 cr-only\rnext\r\nline\n";

static const fixture_t fixtures[] = {
    {"pass", NULL, {
        {"fork-online-listening", "scenarios/basic.yaml", 1, "builtin",
         TR_NONE, false, {PASS(0.25)}},
        {"fork-online-listening", "scenarios/basic.yaml", 1, "node",
         TR_NONE, false, {PASS(0.5)}},
        {"crash-respawn", "scenarios/crash.yaml", 3, "builtin", TR_CRASH,
         false, {PASS(1.125)}},
    }},
    {"fail", NULL, {
        {"fork-online-listening", "scenarios/basic.yaml", 1, "builtin",
         TR_NONE, false, {PASS(0.25)}},
        {"crash-respawn", "scenarios/crash.yaml", 3, "node", TR_CRASH, false,
         {{REPORT_FAIL,
           "worker 3: expected online before listening, got listening at "
           "0.412 s (event #7)",
           "expect.per-worker-order (scenarios/crash.yaml:14)\n"
           "worker 3 events: fork, listening, online, exit",
           "event #6 fork worker 3\nevent #7 listening worker 3\n", 0.75,
           7}}},
    }},
    {"error", NULL, {
        {"fork-online-listening", "scenarios/basic.yaml", 1, "builtin",
         TR_NONE, false, {PASS(0.25)}},
        {"broken", "scenarios/broken.yaml", 1, "builtin", TR_NONE, false,
         {{REPORT_ERROR,
           "scenarios/broken.yaml:4:3: steps[0]: unknown step 'forkk'",
           "did you mean 'fork'?", NULL, 0.0, -1}}},
    }},
    {"skip", NULL, {
        {"fork-online-listening", "scenarios/basic.yaml", 1, "builtin",
         TR_NONE, false, {PASS(0.25)}},
        {"windows-only", "scenarios/win.yaml", 1, "builtin", TR_NONE, false,
         {{REPORT_SKIP, "needs a feature this target lacks", NULL, NULL, 0,
           -1}}},
        {"availability-under-load", "scenarios/load.yaml", 2, "node",
         TR_NONE, false,
         {{REPORT_INCONCLUSIVE, "no request reached a worker", NULL, NULL,
           0.5, -1}}},
    }},
    {"timeout", NULL, {
        {"hang-forever", "scenarios/hang.yaml", 5, "builtin", TR_CRASH, false,
         {{REPORT_TIMEOUT, "timed out after 10 s waiting for exit of worker 1",
           "step 3 (wait: {event: exit, worker: 1, within: 10s})",
           "worker 1 blocked its loop\n", 10.0, -1}}},
        {"fork-online-listening", "scenarios/basic.yaml", 1, "builtin",
         TR_NONE, false, {PASS(0.25)}},
    }},
    {"interrupted", NULL, {
        {"fork-online-listening", "scenarios/basic.yaml", 1, "builtin",
         TR_NONE, false, {PASS(0.25)}},
        {"crash-respawn", "scenarios/crash.yaml", 3, "builtin", TR_CRASH,
         false,
         {{REPORT_FAIL, "respawn: expected worker 3, got none", NULL, NULL,
           1.5, -1}}},
        {"rolling-restart", "scenarios/rolling.yaml", 1, "builtin",
         TR_ROLLING, true, {{0}}},
    }},
    {"nasty", NULL, {
        {"output <with> & \"markup\"", "scenarios/n\xc3\xa4sty.yaml", 2,
         "exec:./agent.py", TR_NONE, false,
         {{REPORT_FAIL, nasty, nasty, nasty, 0.125, -1}}},
    }},
    {"flaky", NULL, {
        {"rolling-restart", "scenarios/rolling.yaml", 1, "builtin",
         TR_ROLLING, false,
         {{REPORT_FAIL, "availability: 3 requests failed", NULL,
           "attempt 1 trace\n", 0.9, -1},
          PASS(0.8)}},
        {"heartbeat", "scenarios/heartbeat.yaml", 1, "builtin", TR_NONE,
         false,
         {{REPORT_TIMEOUT, "timed out after 5 s", NULL, NULL, 5.0, -1},
          {REPORT_ERROR, "agent closed the control socket", NULL, NULL, 0.1,
           -1},
          PASS(0.6)}},
        {"crash-respawn", "scenarios/crash.yaml", 3, "node", TR_CRASH, false,
         {{REPORT_FAIL, "respawn: expected worker 3, got none", NULL,
           "attempt 1\n", 1.0, -1},
          {REPORT_FAIL, "respawn: expected worker 3, got none", NULL,
           "attempt 2\n", 1.0, -1},
          {REPORT_FAIL, "respawn: expected worker 3, got none", NULL,
           "attempt 3\n", 1.0, -1}}},
        {"fork-online-listening", "scenarios/basic.yaml", 1, "node", TR_NONE,
         false, {PASS(0.5), PASS(0.5)}},
    }},
    {"shard1", "1/2", {
        {"fork-online-listening", "scenarios/basic.yaml", 1, "builtin",
         TR_NONE, false, {PASS(0.25)}},
        {"crash-respawn", "scenarios/crash.yaml", 3, "builtin", TR_CRASH,
         false,
         {{REPORT_FAIL, "respawn: expected worker 3, got none", NULL, NULL,
           1.5, -1}}},
    }},
    {"shard2", "2/2", {
        {"fork-online-listening", "scenarios/basic.yaml", 1, "node", TR_NONE,
         false, {PASS(0.5)}},
        {"windows-only", "scenarios/win.yaml", 1, "node", TR_NONE, false,
         {{REPORT_SKIP, "needs a feature this target lacks", NULL, NULL, 0,
           -1}}},
        {"broken", "scenarios/broken.yaml", 1, "builtin", TR_NONE, false,
         {{REPORT_ERROR, "scenarios/broken.yaml:4:3: unknown step", NULL,
           NULL, 0, -1}}},
    }},
    {"rolling", NULL, {
        {"rolling-restart-keeps-serving", "scenarios/rolling.yaml", 1,
         "builtin", TR_ROLLING, false,
         {{REPORT_FAIL,
           "availability: expected failed 0, got 3 (first at 0.603 s, "
           "event #21)",
           "expect.availability (scenarios/rolling.yaml:19)\n"
           "3 of 412 requests failed: ECONNRESET while worker 1 "
           "disconnected",
           "0.600 worker 1 disconnect\n0.603 request failed ECONNRESET\n",
           1.05, 21}}},
        {"rolling-restart-keeps-serving", "scenarios/rolling.yaml", 1, "node",
         TR_ROLLING_OK, false, {PASS(1.1)}},
    }},
    {"mixed", NULL, {
        {"fork-online-listening", "scenarios/basic.yaml", 1, "builtin",
         TR_NONE, false, {PASS(0.25)}},
        {"crash-respawn", "scenarios/crash.yaml", 3, "builtin", TR_CRASH,
         false,
         {{REPORT_FAIL, "respawn: expected worker 3, got none", NULL, NULL,
           1.5, -1}}},
        {"hang-forever", "scenarios/hang.yaml", 5, "builtin", TR_NONE, false,
         {{REPORT_TIMEOUT, "timed out after 10 s", NULL, NULL, 10.0, -1}}},
        {"broken", "scenarios/broken.yaml", 1, "builtin", TR_NONE, false,
         {{REPORT_ERROR, "scenarios/broken.yaml:4:3: unknown step", NULL,
           NULL, 0, -1}}},
        {"windows-only", "scenarios/win.yaml", 1, "node", TR_NONE, false,
         {{REPORT_SKIP, "needs # a feature", NULL, NULL, 0, -1}}},
        {"availability-under-load", "scenarios/load.yaml", 2, "node",
         TR_NONE, false,
         {{REPORT_INCONCLUSIVE, "no request reached a worker", NULL, NULL,
           0.5, -1}}},
        {"rolling-restart", "scenarios/rolling.yaml", 1, "node", TR_ROLLING,
         false,
         {{REPORT_FAIL, "availability: 3 requests failed", NULL, NULL, 0.9,
           -1},
          PASS(0.8)}},
    }},
};

const char *const fixture_names[] = {
    "pass", "fail", "error", "skip", "timeout", "interrupted", "nasty",
    "flaky", "shard1", "shard2", "rolling", "mixed", NULL,
};

typedef struct {
  unsigned ms;
  int lane;
  const char *kind;
  const char *label;
  unsigned flags;
} ev_t;

#define F REPORT_EVENT_FAULT
#define R REPORT_EVENT_FAILED_REQUEST
#define H REPORT_LANE_HARNESS
#define P REPORT_LANE_PRIMARY

/* A rolling restart of 2 workers under keep-alive load, as the node
 * target emits it; event #21 is the first failed request. */
static const ev_t rolling[] = {
    {0, P, "setup", "cluster.setupPrimary", 0},
    {4, 1, "fork", "pid 4101", 0},
    {5, 2, "fork", "pid 4102", 0},
    {139, 1, "online", NULL, 0},
    {146, 2, "online", NULL, 0},
    {161, 1, "listening", "127.0.0.1:41000", 0},
    {170, 2, "listening", "127.0.0.1:41000", 0},
    {200, H, "load", "start: 8 connections, keep-alive", 0},
    {400, P, "policy", "restart-fork old=1", 0},
    {401, 3, "fork", "pid 4120", 0},
    {538, 3, "online", NULL, 0},
    {559, 3, "listening", "127.0.0.1:41000", 0},
    {560, P, "policy", "restart-disconnect 1", 0},
    {561, 1, "disconnect", "primary side", 0},
    {598, 1, "message", "{\"count\":12}", 0},
    {600, 1, "disconnect", "worker", 0},
    {601, H, "request", "GET / -> worker 1", 0},
    {602, H, "request", "GET / -> worker 2", 0},
    {602, H, "request", "GET / -> worker 3", 0},
    {602, 2, "message", "{\"count\":40}", 0},
    {603, H, "request", "GET / -> worker 3", 0},
    {603, H, "request-failed", "ECONNRESET (was worker 1)", R},
    {604, H, "request-failed", "ECONNRESET (was worker 1)", R},
    {606, H, "request-failed", "ECONNRESET (was worker 1)", R},
    {612, 1, "exit", "code 0, exitedAfterDisconnect", 0},
    {613, P, "policy", "restart-fork old=2", 0},
    {614, 4, "fork", "pid 4131", 0},
    {752, 4, "online", NULL, 0},
    {771, 4, "listening", "127.0.0.1:41000", 0},
    {772, P, "policy", "restart-disconnect 2", 0},
    {773, 2, "disconnect", "primary side", 0},
    {801, 2, "disconnect", "worker", 0},
    {813, 2, "exit", "code 0, exitedAfterDisconnect", 0},
    {814, P, "policy", "restart-done", 0},
    {1000, H, "load", "stop: 412 requests, 3 failed", 0},
};

static const ev_t crash[] = {
    {0, P, "setup", NULL, 0},
    {3, 1, "fork", "pid 5001", 0},
    {140, 1, "online", NULL, 0},
    {160, 1, "listening", "127.0.0.1:41002", 0},
    {300, 1, "fault", "SIGKILL worker 1", F},
    {302, 1, "exit", "signal SIGKILL", 0},
    {303, P, "policy", "respawn old=1 new=2", 0},
    {304, 2, "fork", "pid 5002", 0},
    {441, 2, "online", NULL, 0},
    {460, 2, "listening", "127.0.0.1:41002", 0},
};

static int add_trace(report_case_t *c, trace_t tr)
{
  const ev_t *evs = tr == TR_CRASH ? crash : rolling;
  size_t i, n = tr == TR_ROLLING || tr == TR_ROLLING_OK
                    ? sizeof(rolling) / sizeof(rolling[0])
                : tr == TR_CRASH ? sizeof(crash) / sizeof(crash[0])
                                 : 0;
  report_event_t ev;
  int rc;

  for (i = 0; i < n; i++) {
    if (tr == TR_ROLLING_OK && (evs[i].flags & REPORT_EVENT_FAILED_REQUEST))
      continue;
    ev.t_ns = 5000000000ull + evs[i].ms * MS;
    ev.lane = evs[i].lane;
    ev.kind = evs[i].kind;
    ev.label = evs[i].label;
    ev.flags = evs[i].flags;
    if ((rc = report_event_add(c, &ev)))
      return rc;
  }
  return 0;
}

static int add_case(report_t *r, const case_t *cs, size_t idx,
                    report_tap_t *tap)
{
  static const char *const tags[] = {"synthetic", "reports", NULL};
  char replay[256];
  report_case_info_t info;
  report_result_t res;
  report_case_t *c;
  size_t i, n;
  int rc;

  snprintf(replay, sizeof(replay),
           "clustersim run %s --target %s --seed %zu", cs->file, cs->target,
           1000 + idx);
  memset(&info, 0, sizeof(info));
  info.scenario = cs->scenario;
  info.file = cs->file;
  info.line = cs->line;
  info.target = cs->target;
  info.runtime = strcmp(cs->target, "node") == 0 ? "node" : "clustersim";
  info.runtime_version = strcmp(cs->target, "node") == 0 ? "v20.20.2"
                                                         : "0.1.0";
  info.seed = 1000 + idx;
  info.replay = replay;
  info.tags = tags;
  info.start_unix_ns = T0_UNIX + (int64_t)idx * 1000000000;
  if ((rc = report_case_add(r, &info, &c)))
    return rc;
  /* Attempts are the leading non-empty entries; a running case has one
   * more attempt, started and never ended. */
  for (n = 0; n < 4; n++)
    if (cs->att[n].reason == NULL && cs->att[n].output == NULL &&
        cs->att[n].dur == 0)
      break;
  for (i = 0; i < n + (cs->running ? 1 : 0); i++) {
    const att_t *a = &cs->att[i];
    if (i > 0 && (rc = report_attempt_start(c)))
      return rc;
    if ((rc = add_trace(c, cs->trace)))
      return rc;
    if (i == n)
      return 0;
    memset(&res, 0, sizeof(res));
    res.outcome = a->o;
    res.reason = a->reason;
    res.detail = a->detail;
    res.output = a->output;
    res.duration_s = a->dur;
    res.failed_event = a->failed_event;
    if ((rc = report_attempt_add(c, &res)))
      return rc;
  }
  if (tap)
    return report_tap_case(tap, c);
  return 0;
}

int fixture_build(const char *name, bool junit_strict, report_tap_t *tap,
                  report_t **out)
{
  const fixture_t *fx = NULL;
  report_run_info_t info;
  report_t *r = NULL;
  char cmd[128];
  size_t i;
  int rc;

  *out = NULL;
  for (i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++)
    if (strcmp(fixtures[i].name, name) == 0)
      fx = &fixtures[i];
  if (fx == NULL)
    return UV_ENOENT;
  snprintf(cmd, sizeof(cmd), "clustersim run scenarios/ --fixture %s",
           name);
  memset(&info, 0, sizeof(info));
  info.command_line = cmd;
  info.hostname = "ci-runner-1";
  info.targets = "builtin,node";
  info.shard = fx->shard;
  info.seed = 1000;
  info.start_unix_ns = T0_UNIX;
  info.junit_strict = junit_strict;
  if ((rc = report_new(&r, &info)))
    goto out;
  for (i = 0; i < 8 && fx->cases[i].scenario; i++)
    if ((rc = add_case(r, &fx->cases[i], i, tap)))
      goto out;
  *out = r;
  r = NULL;
out:
  report_free(r);
  return rc;
}

/* One worker's life in the scale fixture, its marks from `t` (ms). */
static int scale_worker(report_case_t *c, unsigned id, uint64_t t,
                        bool killed, int64_t *n, int64_t *failed)
{
  static const char *const kinds[] = {"fork", "online", "listening",
                                      "disconnect", "exit"};
  static const unsigned at[] = {0, 2, 3, 5000, 5001};
  report_event_t ev;
  size_t k;
  int rc;

  for (k = 0; k < 5; k++) {
    memset(&ev, 0, sizeof(ev));
    ev.t_ns = 5000000000ull + (t + at[k]) * MS;
    ev.lane = (int)id;
    ev.kind = kinds[k];
    ev.label = killed && k == 4 ? "signal SIGKILL" : NULL;
    if (killed && k == 3)
      continue;
    if (killed && k == 4) {
      ev.t_ns -= 1000 * MS;
      ev.flags = REPORT_EVENT_VIOLATION;
      *failed = *n;
    }
    if ((rc = report_event_add(c, &ev)))
      return rc;
    ++*n;
  }
  return 0;
}

static int scale_harness(report_case_t *c, int64_t *n)
{
  static const ev_t evs[] = {
      {0, P, "setup", NULL, 0},
      {3900, H, "kill", "SIGKILL", F},
      {4200, H, "request-failed", "ECONNRESET", R},
  };
  report_event_t ev;
  size_t i;
  int rc;

  for (i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
    memset(&ev, 0, sizeof(ev));
    ev.t_ns = 5000000000ull + evs[i].ms * MS;
    ev.lane = evs[i].lane;
    ev.kind = evs[i].kind;
    ev.label = evs[i].label;
    ev.flags = evs[i].flags;
    if ((rc = report_event_add(c, &ev)))
      return rc;
    ++*n;
  }
  return 0;
}

int fixture_scale(unsigned workers, unsigned failing, report_t **out)
{
  report_run_info_t info;
  report_case_info_t ci;
  report_result_t res;
  report_case_t *c = NULL;
  report_t *r = NULL;
  int64_t n = 0, failed = -1;
  unsigned id;
  int rc;

  *out = NULL;
  memset(&info, 0, sizeof(info));
  memset(&ci, 0, sizeof(ci));
  info.command_line = "clustersim run bench/scenarios/";
  info.start_unix_ns = T0_UNIX;
  ci.scenario = "scale";
  ci.file = "bench/scenarios/scale.yaml";
  ci.target = "builtin";
  ci.start_unix_ns = T0_UNIX;
  if ((rc = report_new(&r, &info)) || (rc = report_case_add(r, &ci, &c)) ||
      (rc = scale_harness(c, &n)))
    goto out;
  for (id = 1; id <= workers; id++)
    if ((rc = scale_worker(c, id, id, id == failing, &n, &failed)))
      goto out;
  memset(&res, 0, sizeof(res));
  res.outcome = failing ? REPORT_FAIL : REPORT_PASS;
  res.reason = failing ? "scale.yaml:20: expected exitedAfterDisconnect "
                         "true at exit" : NULL;
  res.duration_s = 10.0;
  res.failed_event = failed;
  if ((rc = report_attempt_add(c, &res)))
    goto out;
  *out = r;
  r = NULL;
out:
  report_free(r);
  return rc;
}
