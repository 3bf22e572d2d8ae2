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

/* The harness's steps, `setup` before each fork (the second with its
 * settings), then a cluster.disconnect() (step 2, named "bye") whose
 * callback comes after worker 1 has left and before worker 2 exits 1,
 * with a late EPIPE on worker 2. */
#define STEP(t, path) \
  REC("{\"type\":\"action\",\"t\":" #t ",\"action\":\"step\"," \
      "\"step\":\"" path "\"}")
#define SETUP(t, args) \
  REC("{\"type\":\"event\",\"t\":" #t ",\"event\":\"setup\"," \
      "\"emitter\":\"cluster\",\"settings\":{\"args\":" args "," \
      "\"cwd\":null,\"silent\":false}}")
#define CLUSTER_HEAD                                                       \
  STEP(1000000, "/steps/0")                                                \
  SETUP(2000000, "[]")                                                     \
  EV(3000000, "fork", "cluster", 1, LIVE)
#define CLUSTER_TAIL                                                       \
  EV(5000000, "fork", "cluster", 2, LIVE)                                  \
  EV(6000000, "online", "worker", 1, LIVE)                                 \
  EV(7000000, "online", "worker", 2, LIVE)                                 \
  STEP(10000000, "/steps/2")                                               \
  EV(20000000, "disconnect", "worker", 1, DISC("true"))                    \
  EV(25000000, "exit", "worker", 1, EXIT("true", "0", "null"))             \
  REC("{\"type\":\"event\",\"t\":30000000,"                           \
      "\"event\":\"disconnect-callback\",\"emitter\":\"cluster\"}")     \
  EV(35000000, "exit", "worker", 2, EXIT("true", "1", "null"))             \
  EV(38000000, "error", "worker", 2,                                       \
     ",\"error\":{\"code\":\"EPIPE\",\"message\":\"write EPIPE\"}")     \
  EV(40000000, "disconnect", "worker", 2,                                  \
     ",\"ead\":true,\"connected\":false,\"dead\":true,\"member\":false")
static const char cluster_run[] = CLUSTER_HEAD SETUP(4000000, "[\"a\"]")
    CLUSTER_TAIL;
/* the same without the setup of the second fork */
static const char cluster_run_one_setup[] = CLUSTER_HEAD CLUSTER_TAIL;

/* The steps the cluster_run traces come from. */
#define CLUSTER_STEPS \
  "steps:\n  - sleep: 1ms\n  - fork: 1\n" \
  "  - {name: bye, cluster-disconnect: }\n"

/* Two workers with two servers on port 0: each reports its listens
 * (index, port), then the primary's `listening` with the address. Worker
 * 2's index 1 lands on a port of its own. Then worker 1 sends 1, 2, 2 and
 * gets {"echo": "x"} after the primary sent it "x"; its message twins
 * come cluster first, but for the last one. */
#define ADDRESS(port)                                                     \
  LIVE ",\"address\":{\"addressType\":4,\"address\":\"127.0.0.1\","    \
  "\"port\":" #port ",\"fd\":null}"
#define LISTENED(t, t2, t3, w, index, port)                               \
  OBS(t, "listening", w, ",\"index\":" #index ",\"port\":" #port)     \
  EV(t2, "listening", "worker", w, ADDRESS(port))                        \
  EV(t3, "listening", "cluster", w, ADDRESS(port))
#define MSG(t, em, w, m) EV(t, "message", em, w, LIVE ",\"message\":" m)
static const char listens_and_messages[] =
  EV(1000000, "fork", "cluster", 1, LIVE)
  EV(2000000, "fork", "cluster", 2, LIVE)
  LISTENED(10000000, 10100000, 10200000, 1, 0, 4000)
  LISTENED(11000000, 11100000, 11200000, 1, 1, 4001)
  LISTENED(12000000, 12100000, 12200000, 2, 1, 4002)
  LISTENED(13000000, 13100000, 13200000, 2, 0, 4000)
  REC("{\"type\":\"action\",\"t\":20000000,\"action\":\"send\","
      "\"worker\":1,\"message\":\"x\"}")
  OBS(21000000, "message", 1, ",\"message\":\"x\"")
  MSG(22000000, "cluster", 1, "1") MSG(22100000, "worker", 1, "1")
  MSG(23000000, "cluster", 1, "2") MSG(23100000, "worker", 1, "2")
  MSG(24000000, "cluster", 1, "2") MSG(24100000, "worker", 1, "2")
  MSG(25000000, "cluster", 1, "{\"echo\":\"y\"}")
  MSG(25100000, "worker", 1, "{\"echo\":\"y\"}")
  MSG(26000000, "worker", 1, "{\"clustersim\":\"pong\",\"n\":1}")
  MSG(27000000, "worker", 1, "3") MSG(27100000, "cluster", 1, "3");

/* A load of six requests, one connection each from two client addresses:
 * workers 1, 2, 1, 2, then 1 twice (the rotation breaks), after worker
 * 2's exit at 50 ms; one refused. */
#define REQ(t, seq, w, client, outcome)                                    \
  REC("{\"type\":\"load\",\"t\":" #t "000,\"what\":\"request\",\"start\":" \
      #t "000,\"seq\":" #seq ",\"outcome\":\"" outcome "\",\"served_by\":" \
      #w ",\"connection\":" #seq ",\"client\":\"127.0.0." #client "\"}")
static const char requests[] =
  EV(1000000, "fork", "cluster", 1, LIVE)
  EV(2000000, "fork", "cluster", 2, LIVE)
  REC("{\"type\":\"load\",\"t\":5000000,\"what\":\"start\"}")
  REQ(10000, 0, 1, 2, "ok") REQ(20000, 1, 2, 3, "ok")
  REQ(30000, 2, 1, 2, "ok") REQ(40000, 3, 2, 3, "retried")
  EV(50000000, "exit", "worker", 2, EXIT("false", "null", "\"SIGKILL\""))
  REQ(60000, 4, 1, 2, "ok") REQ(70000, 5, 1, 3, "ok")
  REQ(80000, 6, 0, 2, "refused")
  REC("{\"type\":\"load\",\"t\":90000000,\"what\":\"done\"}");
#define LOAD_STEP SERVER "steps:\n  - load: {start: {requests: 7}}\n"

/* Sticky sessions: clients .2 and .4 on worker 1, .3 on worker 2; worker
 * 1 exits at 50 ms and its clients move, together (to 2) or not (.4 to
 * 3); or client .2 leaves worker 1 while it lives. */
#define STICKY_HEAD                                                        \
  EV(1000000, "fork", "cluster", 1, LIVE)                                  \
  EV(2000000, "fork", "cluster", 2, LIVE)                                  \
  EV(3000000, "fork", "cluster", 3, LIVE)                                  \
  REC("{\"type\":\"load\",\"t\":5000000,\"what\":\"start\"}")             \
  REQ(10000, 0, 1, 2, "ok") REQ(11000, 1, 2, 3, "ok")                      \
  REQ(12000, 2, 1, 4, "ok")
#define STICKY_EXIT                                                        \
  EV(50000000, "exit", "worker", 1, EXIT("false", "null", "\"SIGKILL\""))
static const char sticky_together[] =
  STICKY_HEAD STICKY_EXIT
  REQ(60000, 3, 2, 2, "ok") REQ(61000, 4, 2, 3, "ok") REQ(62000, 5, 2, 4, "ok")
  REC("{\"type\":\"load\",\"t\":90000000,\"what\":\"done\"}");
static const char sticky_split[] =
  STICKY_HEAD STICKY_EXIT
  REQ(60000, 3, 2, 2, "ok") REQ(61000, 4, 2, 3, "ok") REQ(62000, 5, 3, 4, "ok")
  REC("{\"type\":\"load\",\"t\":90000000,\"what\":\"done\"}");
static const char sticky_early[] =
  STICKY_HEAD
  REQ(20000, 3, 2, 2, "ok") STICKY_EXIT
  REC("{\"type\":\"load\",\"t\":90000000,\"what\":\"done\"}");

/* Handles with messages and the output of silent workers: worker 2
 * served a socket; worker 1 sent one up; worker 1 wrote two stdout lines
 * and one stderr line, and 10 bytes of its stderr were dropped. */
#define OUT(t, w, stream, rest)                                           \
  REC("{\"type\":\"output\",\"t\":" #t ",\"worker\":" #w ",\"pid\":9," \
      "\"stream\":\"" stream "\"" rest "}")
static const char handles_and_output[] =
  EV(1000000, "fork", "cluster", 1, LIVE)
  EV(2000000, "fork", "cluster", 2, LIVE)
  OBS(10000000, "handle", 2, ",\"kind\":\"socket\",\"action\":\"serve\","
      "\"message\":{\"route\":\"b\"}")
  REC("{\"type\":\"handle\",\"t\":20000000,\"what\":\"received\","
      "\"worker\":1,\"conn\":2,\"kind\":\"socket\"}")
  OUT(30000000, 1, "stdout", ",\"line\":\"tick 1\"")
  OUT(31000000, 1, "stdout", ",\"line\":\"tick 2\"")
  OUT(32000000, 1, "stderr", ",\"line\":\"oops\"")
  OUT(40000000, 1, "stdout", ",\"end\":true,\"bytes\":14,\"dropped\":0")
  OUT(41000000, 1, "stderr", ",\"end\":true,\"bytes\":15,\"dropped\":10");
#define SILENT "steps:\n  - setup: {silent: true}\n"

/* A kill with its probe (step 1), and worker 2's own disconnect with its
 * (step 2): the worker's answer carries the fault's number. */
static const char probes[] =
  EV(1000000, "fork", "cluster", 1, LIVE)
  EV(2000000, "fork", "cluster", 2, LIVE)
  REC("{\"type\":\"action\",\"t\":10000000,\"action\":\"probe\","
      "\"step\":\"/steps/1\",\"worker\":1,\"returned\":null,"
      "\"workers\":[1,2],\"callbacks\":0,\"probe\":[{\"worker\":1,"
      "\"ead\":null,\"connected\":true,\"dead\":false,\"member\":true,"
      "\"state\":\"listening\"}]}")
  REC("{\"type\":\"action\",\"t\":20000000,\"action\":"
      "\"worker-disconnect\",\"step\":\"/steps/2\",\"worker\":2,"
      "\"req\":1}")
  OBS(21000000, "probe", 2, ",\"req\":1,\"returned\":{\"worker\":2},"
      "\"state\":\"disconnecting\",\"ead\":true,\"connected\":true,"
      "\"dead\":false");
#define PROBE_STEPS                                                        \
  "steps:\n  - sleep: 1ms\n  - kill: {worker: 1, probe: true}\n"         \
  "  - worker-disconnect: {worker: 2, probe: true}\n  - sleep: 1ms\n"

typedef struct {
  scenario_expect_kind_t kind; /* what the case is about */
  const char *name;
  const char *scenario;        /* the `expect:` section and what it needs */
  const char *trace;
  trace_load_totals_t load;
  const char *expected[6];     /* every finding in order; NULL-ended */
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

  {SCENARIO_EXPECT_FLAGS, "flags: alternatives, error codes, fields",
   "expect:\n  flags:\n    - {at: exit, code: [0, 1], signal: null}\n"
   "    - {at: error, worker: 1, optional: true, error: EPIPE}\n"
   "    - {at: error, worker: 2, nth: each, error: [EPIPE, ECONNRESET]}\n"
   "    - {at: exit, worker: 1, fields: {code: 0, signal: null}}\n"
   "    - {at: setup, nth: 2, fields: {settings: {args: [a]}}}\n"
   "    - {at: exit, worker: 2, one-of: [{code: 0}, {code: 1, "
   "exitedAfterDisconnect: [true, false]}]}\n",
   cluster_run, {0}, {NULL}, false},
  {SCENARIO_EXPECT_FLAGS, "flags: none of the alternatives",
   "expect:\n  flags:\n    - {at: exit, worker: 2, code: [0, 3], "
   "exitedAfterDisconnect: [false, null]}\n",
   cluster_run, {0},
   {"t.yaml:4: worker 2: expected exitedAfterDisconnect false or null at "
    "exit, got true at exit at 0.035 s (event #11)",
    "t.yaml:4: worker 2: expected exit code 0 or 3 at exit, got 1 at exit at "
    "0.035 s (event #11)", NULL}, false},
  {SCENARIO_EXPECT_FLAGS, "flags: no set of one-of holds",
   "expect:\n  flags:\n    - {at: exit, worker: 2, one-of: [{code: 0}, "
   "{signal: SIGTERM, exitedAfterDisconnect: [true, false]}]}\n",
   cluster_run, {0},
   {"t.yaml:4: worker 2: expected one of (exit code 0) or (signal SIGTERM, "
    "exitedAfterDisconnect true or false) at exit, got exit code 1 at exit "
    "at 0.035 s (event #11)", NULL}, false},
  {SCENARIO_EXPECT_FLAGS, "flags: an error code and fields that differ",
   "expect:\n  flags:\n    - {at: error, worker: 2, error: "
   "ERR_IPC_DISCONNECTED}\n"
   "    - {at: setup, nth: 2, fields: {settings: {args: [b]}}}\n",
   cluster_run, {0},
   {"t.yaml:4: worker 2: expected error ERR_IPC_DISCONNECTED at error, got "
    "EPIPE at error at 0.038 s (event #12)",
    "t.yaml:5: expected fields {\"settings\":{\"args\":[\"b\"]}} at setup, "
    "got {\"settings\":{\"args\":[\"a\"],\"cwd\":null,\"silent\":false}} "
    "at setup at 0.004 s (event #3)", NULL}, false},
  {SCENARIO_EXPECT_FLAGS, "flags: an event that must happen did not",
   "expect:\n  flags:\n    - {at: error, worker: 1, error: EPIPE}\n",
   cluster_run, {0},
   {"t.yaml:4: worker 1: expected error #1 to check its flags, got none",
    NULL}, false},

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
  {SCENARIO_EXPECT_TIMING, "timing: from a step, by index and by name",
   CLUSTER_STEPS "expect:\n  timing:\n"
   "    - {from: {step: 2}, to: {event: exit, worker: 2}, within: 30ms}\n"
   "    - {from: {step: bye}, to: {event: disconnect|exit, worker: 1, nth: "
   "2}, within: 20ms, at-least: 10ms}\n",
   cluster_run, {0}, {NULL}, false},
  {SCENARIO_EXPECT_TIMING, "timing: too slow after a step",
   CLUSTER_STEPS "expect:\n  timing:\n"
   "    - {from: {step: bye}, to: {event: exit, worker: 2}, within: 20ms}\n",
   cluster_run, {0},
   {"t.yaml:8: expected exit #1 of worker 2 within 0.020 s of step "
    "/steps/2, got 0.025 s (exit at 0.035 s (event #11))", NULL}, false},
  {SCENARIO_EXPECT_TIMING, "timing: for each worker",
   "expect:\n  timing:\n    - {from: {event: online, worker: each}, to: "
   "{event: disconnect|exit, worker: each}, within: 20ms}\n",
   cluster_run, {0},
   {"t.yaml:4: expected disconnect|exit #1 of worker 2 within 0.020 s of "
    "online #1 of worker 2, got 0.028 s (exit at 0.035 s (event #11))",
    NULL}, false},

  /* addresses */
  {SCENARIO_EXPECT_ADDRESSES, "addresses: as expected",
   "worker: {servers: [{port: 0}, {port: 0}]}\nexpect:\n  addresses:\n"
   "    - {index: 0, addressType: 4, address: 127.0.0.1, port: 4000, fd: "
   "null}\n"
   "    - {worker: 1, index: 1, addressType: [4, 6], port: 4001}\n",
   listens_and_messages, {0}, {NULL}, false},
  {SCENARIO_EXPECT_ADDRESSES, "addresses: another port, a missing listen",
   "worker: {servers: [{port: 0}, {port: 0}]}\nexpect:\n  addresses:\n"
   "    - {index: 1, port: 4001}\n"
   "    - {worker: 1, index: 1, nth: 2, address: \"::1\"}\n",
   listens_and_messages, {0},
   {"t.yaml:5: worker 2: expected port 4001 at listening of index 1, got "
    "4002 at listening at 0.012 s (event #9)",
    "t.yaml:6: worker 1: expected listening #2 of index 1, got 1", NULL},
   false},

  /* ports */
  {SCENARIO_EXPECT_PORTS, "ports: distinct for each worker's exclusive",
   "expect:\n  ports:\n    - {from: worker-listening, across-workers: any, "
   "across-indexes: distinct}\n",
   listens_and_messages, {0}, {NULL}, false},
  {SCENARIO_EXPECT_PORTS, "ports: an index that is not shared",
   "expect:\n  ports:\n    - {across-workers: same, across-indexes: "
   "distinct}\n",
   listens_and_messages, {0},
   {"t.yaml:4: expected the same port for one index on every worker, got "
    "4001 for worker 1 index 1 (listening at 0.011 s (event #6)) and 4002 "
    "for worker 2 index 1 (listening at 0.012 s (event #9))", NULL}, false},

  /* served */
  {SCENARIO_EXPECT_SERVED, "served: counts, windows, affinity by connection",
   LOAD_STEP "expect:\n  served:\n    - {count: 6}\n"
   "    - {worker: 1, min: 4}\n"
   "    - {worker: 2, after: {event: exit, worker: 2}, count: 0}\n"
   "    - {worker: each, before: {event: exit, worker: 2}, count: 2}\n"
   "    - {outcome: refused, count: 1}\n"
   "    - {outcome: retried, count: 1}\n"
   "    - {affinity: connection}\n"
   "    - {rotation: strict, before: {event: exit, worker: 2}}\n",
   requests, {0}, {NULL}, false},
  {SCENARIO_EXPECT_SERVED, "served: rotation, affinity and a count broken",
   LOAD_STEP "expect:\n  served:\n    - {rotation: strict}\n"
   "    - {affinity: client}\n"
   "    - {worker: 1, after: {event: exit, worker: 2}, max: 1}\n",
   requests, {0},
   {"t.yaml:7: expected the requests served in strict rotation over 2 "
    "workers, got request seq 5 served by worker 1 where worker 2 was due "
    "(request at 0.070 s (event #9))",
    "t.yaml:8: expected every request of client \"127.0.0.3\" served by one "
    "worker, got worker 2 (seq 3) and worker 1 (seq 5, request at 0.070 s "
    "(event #9))",
    "t.yaml:9: expected at most 1 served request by worker 1 started after "
    "exit #1 of worker 2, got 2", NULL}, false},
  {SCENARIO_EXPECT_SERVED, "served: no load ran",
   LOAD_STEP "expect:\n  served:\n    - {count: 1}\n",
   two_workers, {0}, {"t.yaml:7: served: no load ran", NULL}, true},

  {SCENARIO_EXPECT_SERVED, "served: sticky clients that move together",
   LOAD_STEP "expect:\n  served:\n    - {affinity: sticky}\n",
   sticky_together, {0}, {NULL}, false},
  {SCENARIO_EXPECT_SERVED, "served: sticky clients that split",
   LOAD_STEP "expect:\n  served:\n    - {affinity: sticky}\n",
   sticky_split, {0},
   {"t.yaml:7: expected the clients of worker 1 to move together to one "
    "worker, got worker 2 for client \"127.0.0.2\" and worker 3 for client "
    "\"127.0.0.4\" (seq 5, request at 0.062 s (event #10))", NULL}, false},
  {SCENARIO_EXPECT_SERVED, "served: a sticky client that leaves early",
   LOAD_STEP "expect:\n  served:\n    - {affinity: sticky}\n",
   sticky_early, {0},
   {"t.yaml:7: expected client \"127.0.0.2\" to stay with worker 1 while it "
    "lived, got worker 2 (seq 3, request at 0.020 s (event #7))", NULL},
   false},

  /* handles */
  {SCENARIO_EXPECT_HANDLES, "handles: received, served, sent up",
   "expect:\n  handles:\n"
   "    - {worker: 2, kind: socket, action: serve, message: {route: b}, "
   "count: 1}\n"
   "    - {to: primary, worker: 1, kind: socket, count: 1}\n"
   "    - {worker: each, kind: server, count: 0}\n",
   handles_and_output, {0}, {NULL}, false},
  {SCENARIO_EXPECT_HANDLES, "handles: another action, another message",
   "expect:\n  handles:\n"
   "    - {worker: 2, action: close, min: 1}\n"
   "    - {worker: 2, message: {route: a}, count: 1}\n"
   "    - {to: primary, max: 0}\n",
   handles_and_output, {0},
   {"t.yaml:4: expected at least 1 handles received by worker 2 with action "
    "close, got none",
    "t.yaml:5: expected 1 handles received by worker 2 and message "
    "{\"route\":\"a\"}, got none",
    "t.yaml:6: expected at most 0 handles the primary received from any "
    "worker, got 1 (the last: handle-received at 0.020 s (event #3))", NULL},
   false},

  /* output */
  {SCENARIO_EXPECT_OUTPUT, "output: lines, patterns, dropped bytes",
   SILENT "expect:\n  output:\n"
   "    - {worker: 1, stream: stdout, match: \"^tick [0-9]+$\", count: 2}\n"
   "    - {worker: 1, line: oops, count: 1}\n"
   "    - {worker: 1, stream: stderr, dropped: {min: 1}}\n"
   "    - {worker: 1, stream: stdout, dropped: 0}\n"
   "    - {worker: 2, max: 0}\n",
   handles_and_output, {0}, {NULL}, false},
  {SCENARIO_EXPECT_OUTPUT, "output: a line missing, bytes dropped",
   SILENT "expect:\n  output:\n"
   "    - {worker: 1, stream: stdout, line: \"tick 3\", min: 1}\n"
   "    - {worker: 1, stream: stdout, match: \"^tick\", max: 1}\n"
   "    - {worker: 1, dropped: 0}\n"
   "    - {worker: 2, dropped: 0}\n",
   handles_and_output, {0},
   {"t.yaml:6: expected at least 1 stdout lines of worker 1 equal to "
    "\"tick 3\", got none",
    "t.yaml:7: expected at most 1 stdout lines of worker 1 matching /^tick/, "
    "got 2 (the last: output at 0.031 s (event #5))",
    "t.yaml:8: expected 0 bytes of worker 1's output dropped, got 10 (output "
    "at 0.041 s (event #8))",
    "t.yaml:9: expected the end of worker 2's output, got none", NULL},
   false},

  /* messages */
  {SCENARIO_EXPECT_MESSAGES, "messages: values, includes, echoes",
   "expect:\n  messages:\n"
   "    - {worker: 1, values: [1, 2, 2, {echo: y}, 3]}\n"
   "    - {worker: 1, includes: [1, {echo: y}]}\n"
   "    - {worker: 1, to: worker, echoes: same}\n"
   "    - {worker: 1, emitter: cluster, values: [1, 2, 2, {echo: y}, 3]}\n",
   listens_and_messages, {0}, {NULL}, false},
  {SCENARIO_EXPECT_MESSAGES, "messages: a value, an order, a sequence",
   "expect:\n  messages:\n"
   "    - {worker: 1, values: [1, 2, 3]}\n"
   "    - {worker: 1, includes: [2, 1]}\n"
   "    - {worker: 1, increasing: {}}\n"
   "    - {worker: 1, echoes: echo}\n",
   listens_and_messages, {0},
   {"t.yaml:4: expected message #3 sent to the primary by worker 1 to be 3, "
    "got 2 (message at 0.024 s (event #21))",
    "t.yaml:5: expected 1 (value 2 of includes) among the messages sent to "
    "the primary by worker 1, got it not in order",
    "t.yaml:6: expected the message of message #3 sent to the primary by "
    "worker 1 to be more than 2, got 2 (message at 0.024 s (event #21))",
    "t.yaml:7: expected message #1 sent to the primary by worker 1 to be "
    "{\"echo\":\"x\"}, got 1 (message at 0.022 s (event #17))", NULL},
   false},

  /* probes */
  {SCENARIO_EXPECT_PROBES, "probes: the primary's and a worker's",
   PROBE_STEPS "expect:\n  probes:\n"
   "    - {step: 1, returned: null, isConnected: true, member: true, "
   "workers: [1, 2], callbacks: 0, exitedAfterDisconnect: null}\n"
   "    - {step: 2, returned: {worker: 2}, state: [disconnecting, "
   "destroying], exitedAfterDisconnect: true}\n",
   probes, {0}, {NULL}, false},
  {SCENARIO_EXPECT_PROBES, "probes: what was sampled differs",
   PROBE_STEPS "expect:\n  probes:\n"
   "    - {step: 1, isConnected: false, workers: [2]}\n"
   "    - {step: 2, state: online}\n"
   "    - {step: 1, nth: 2, returned: null}\n",
   probes, {0},
   {"t.yaml:9: expected isConnected() false in the probe of worker 1 of "
    "/steps/1, got true (probe at 0.010 s (event #2))",
    "t.yaml:9: expected cluster.workers [2] in the probe of worker 1 of "
    "/steps/1, got [1,2] (probe at 0.010 s (event #2))",
    "t.yaml:10: expected state 'online' in the probe of worker 2 of "
    "/steps/2, got 'disconnecting' (worker-probe at 0.021 s (event #4))",
    "t.yaml:11: expected a probe of /steps/1 #2, got none", NULL}, false},

  /* twins */
  {SCENARIO_EXPECT_TWINS, "twins: listening on the Worker first",
   "expect:\n  twins:\n    - {event: listening, first: worker}\n",
   listens_and_messages, {0}, {NULL}, false},
  {SCENARIO_EXPECT_TWINS, "twins: a message on the Worker first",
   "expect:\n  twins:\n    - {event: message, first: cluster, worker: 1}\n",
   listens_and_messages, {0},
   {"t.yaml:4: worker 1: expected message on cluster first, got message at "
    "0.027 s (event #25)", NULL}, false},

  /* precedes */
  {SCENARIO_EXPECT_PRECEDES, "precedes: orders that hold",
   CLUSTER_STEPS "expect:\n  precedes:\n"
   "    - {first: {event: setup}, then: {event: fork}, before-each: true}\n"
   "    - {first: {event: fork, worker: 1}, then: {event: exit, worker: 2}}\n"
   "    - {first: {step: bye}, then: {event: disconnect, worker: each}}\n"
   "    - {first: {event: disconnect|exit, worker: any}, then: {event: "
   "disconnect-callback}}\n"
   "    - {first: {event: disconnect-callback}, then: {event: "
   "disconnect|exit, worker: 2, nth: 2}}\n",
   cluster_run, {0}, {NULL}, false},
  {SCENARIO_EXPECT_PRECEDES, "precedes: A's exit after B's fork",
   "expect:\n  precedes:\n    - {first: {event: exit, worker: 1}, then: "
   "{event: fork, worker: 2}}\n",
   cluster_run, {0},
   {"t.yaml:4: expected exit #1 of worker 1 before fork #1 of worker 2, got "
    "exit at 0.025 s (event #9) after fork at 0.005 s (event #4)", NULL},
   false},
  {SCENARIO_EXPECT_PRECEDES, "precedes: the callback after a worker's end",
   "expect:\n  precedes:\n    - {first: {event: disconnect-callback}, "
   "then: {event: disconnect|exit, worker: each, nth: 2}}\n",
   cluster_run, {0},
   {"t.yaml:4: expected disconnect-callback #1 before disconnect|exit #2 of "
    "worker 1, got disconnect-callback at 0.030 s (event #10) after exit at "
    "0.025 s (event #9)", NULL}, false},
  {SCENARIO_EXPECT_PRECEDES, "precedes: a fork without its setup",
   "expect:\n  precedes:\n    - {first: {event: setup}, then: {event: "
   "fork}, before-each: true}\n",
   cluster_run_one_setup, {0},
   {"t.yaml:4: expected setup #1 before each fork #1, got none before fork "
    "at 0.005 s (event #3) since fork at 0.003 s (event #2)", NULL}, false},
  {SCENARIO_EXPECT_PRECEDES, "precedes: a point that never came",
   "expect:\n  precedes:\n    - {first: {event: respawn}, then: {event: "
   "exit, worker: each}}\n",
   cluster_run, {0},
   {"t.yaml:4: expected respawn #1, got none",
    "t.yaml:4: expected respawn #1, got none", NULL}, false},
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
      unsigned line = 0;
      CU_ASSERT_STRING_EQUAL(f.items[k].rule, rule);
      CU_ASSERT(sscanf(f.items[k].message, "t.yaml:%u:", &line) == 1);
      CU_ASSERT_EQUAL(f.items[k].line, line);
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

/* `served` over a big cluster: 1000 workers in strict rotation, three
 * rounds; with `skip` set, worker `skip` misses its turn in the second
 * round (its request goes to the next worker). */
static void scale_trace(trace_t *tr, unsigned skip)
{
  unsigned w, round, seq = 0;

  trace_init(tr, 0);
  for (w = 1; w <= 1000; w++)
    CU_ASSERT_EQUAL(trace_addf(tr, "{\"type\":\"event\",\"t\":%u,"
                               "\"event\":\"fork\",\"emitter\":"
                               "\"cluster\",\"worker\":%u}", w, w), 0);
  CU_ASSERT_EQUAL(trace_addf(tr, "{\"type\":\"load\",\"t\":5000,"
                             "\"what\":\"start\"}"), 0);
  for (round = 0; round < 3; round++)
    for (w = 1; w <= 1000; w++, seq++) {
      unsigned by = round == 1 && w == skip ? w + 1 : w;
      CU_ASSERT_EQUAL(trace_addf(tr, "{\"type\":\"load\",\"t\":%u,"
                                 "\"what\":\"request\",\"start\":%u,"
                                 "\"seq\":%u,\"outcome\":\"ok\","
                                 "\"served_by\":%u,\"connection\":%u}",
                                 10000 + seq, 10000 + seq, seq, by, seq),
                      0);
    }
  CU_ASSERT_EQUAL(trace_addf(tr, "{\"type\":\"load\",\"t\":90000,"
                             "\"what\":\"done\"}"), 0);
  trace_finish(tr);
  tr->complete = true;
}

static void test_served_at_scale(void)
{
  static const char yaml[] =
    "cluster: {workers: 1000}\n" SERVER
    "steps:\n  - load: {start: {requests: 3000}}\n"
    "expect:\n  served:\n    - {rotation: strict}\n"
    "    - {worker: each, count: 3}\n";
  static const struct {
    unsigned skip;
    const char *expected[4];
  } scale[] = {
    {0, {NULL}},
    {500, {"t.yaml:7: expected the requests served in strict rotation over "
           "1000 workers, got request seq 1499 served by worker 501 where "
           "worker 500 was due (request at 0.000 s (event #2500))",
           "t.yaml:8: expected 3 served requests by worker 500, got 2",
           "t.yaml:8: expected 3 served requests by worker 501, got 4",
           NULL}},
  };
  size_t i;

  for (i = 0; i < sizeof(scale) / sizeof(scale[0]); i++) {
    trace_t tr;
    base_diag_t diag;
    oracle_findings_t f;
    trace_load_totals_t load = {0};
    scenario_t *s = NULL;

    base_diag_init(&diag);
    oracle_findings_init(&f);
    CU_ASSERT_EQUAL_FATAL(scenario_load_string("t.yaml", yaml, strlen(yaml),
                                               &diag, &s), 0);
    scale_trace(&tr, scale[i].skip);
    oracle_expect_check(s, &tr, &load, &f);
    CU_ASSERT(fixture_findings_are("served at scale", &f, scale[i].expected,
                                   ORACLE_FINDING_FAIL));
    scenario_free(s);
    oracle_findings_free(&f);
    base_diag_free(&diag);
    trace_free(&tr);
  }
}

static CU_TestInfo expect_tests[] = {
  {"cases", test_cases},
  {"served at scale", test_served_at_scale},
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
