/*
 * test-load.c - the load generator against real local servers: counts,
 * worker attribution, each failure class, the retry of a request whose
 * reused connection was closed under it, and the bounds that stop a load
 * by itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <CUnit/Basic.h>

#include "load.h"
#include "servers.h"
#include "test-support.h"

#define GUARD_MS 10000
#define ANY (-1)          /* not checked */
#define SOME (-2)         /* at least one */

typedef struct {
  const char *name;
  const char *host;
  srv_mode_t mode;
  unsigned param;
  /* load options */
  unsigned connections;
  bool keepalive;
  uint64_t requests;
  unsigned duration_ms;
  unsigned rate;
  unsigned timeout_ms;
  unsigned drain_ms;
  int stop_after;           /* load_stop() after this many outcomes */
  int rotate_after;         /* srv_rotate() after this many outcomes */
  /* expectations */
  long issued;
  long outcome[LOAD_OUTCOME_MAX];
  long failed;
  long connections_opened;
  bool paced;               /* request n starts no sooner than n/rate s
                               after the start */
  bool both_workers;        /* workers 1 and 2 both served, nobody else
                               (3 and 4 too after a rotation) */
} load_case_t;

/* Every outcome not named is expected to be 0. */
#define OUTCOMES(...) .outcome = {__VA_ARGS__}

static const load_case_t cases[] = {
  {.name = "normal keep-alive: exact count, attribution",
   .mode = SRV_NORMAL, .connections = 4, .keepalive = true, .requests = 60,
   .issued = 60, OUTCOMES([LOAD_OK] = 60), .failed = 0,
   .connections_opened = 4, .both_workers = true},
  {.name = "normal Connection: close: one connection per request",
   .mode = SRV_NORMAL, .connections = 2, .keepalive = false, .requests = 20,
   .issued = 20, OUTCOMES([LOAD_OK] = 20), .failed = 0,
   .connections_opened = 20, .both_workers = true},
  {.name = "normal over ::1",
   .host = "::1", .mode = SRV_NORMAL, .connections = 2, .keepalive = true,
   .requests = 20, .issued = 20, OUTCOMES([LOAD_OK] = 20), .failed = 0,
   .connections_opened = 2, .both_workers = true},
  {.name = "nothing listening: refused",
   .mode = SRV_REFUSE, .connections = 2, .keepalive = true, .requests = 6,
   .issued = 6, OUTCOMES([LOAD_REFUSED] = 6), .failed = 6,
   .connections_opened = 6},
  {.name = "reset after accept: reset",
   .mode = SRV_RESET, .connections = 2, .keepalive = true, .requests = 6,
   .issued = 6, OUTCOMES([LOAD_RESET] = 6), .failed = 6,
   .connections_opened = 6},
  {.name = "keep-alive closed before the next response: retried",
   .mode = SRV_CLOSE_AFTER, .param = 3, .connections = 3, .keepalive = true,
   .requests = 40, .issued = 40, OUTCOMES([LOAD_OK] = ANY,
   [LOAD_RETRIED] = SOME), .failed = 0, .connections_opened = ANY},
  {.name = "keep-alive reset before the next response: retried",
   .mode = SRV_RESET_AFTER, .param = 2, .connections = 2, .keepalive = true,
   .requests = 30, .issued = 30, OUTCOMES([LOAD_OK] = ANY,
   [LOAD_RETRIED] = SOME), .failed = 0, .connections_opened = ANY},
  {.name = "closed on the first request of a connection: not retried",
   .mode = SRV_CLOSE_AFTER, .param = 0, .connections = 2, .keepalive = true,
   .requests = 4, .issued = 4, OUTCOMES([LOAD_RESET] = 4), .failed = 4,
   .connections_opened = 4},
  {.name = "closed mid-response: truncated",
   .mode = SRV_TRUNCATE, .connections = 2, .keepalive = true, .requests = 6,
   .issued = 6, OUTCOMES([LOAD_TRUNCATED] = 6), .failed = 6,
   .connections_opened = 6},
  {.name = "never answers: timeout",
   .mode = SRV_SILENT, .connections = 2, .keepalive = true, .requests = 4,
   .timeout_ms = 100, .issued = 4, OUTCOMES([LOAD_TIMEOUT] = 4),
   .failed = 4, .connections_opened = 4},
  {.name = "answers 500: bad-status",
   .mode = SRV_STATUS_500, .connections = 2, .keepalive = true,
   .requests = 10, .issued = 10, OUTCOMES([LOAD_BAD_STATUS] = 10),
   .failed = 10, .connections_opened = 2},
  {.name = "duration bound stops the load by itself",
   .mode = SRV_NORMAL, .connections = 2, .keepalive = true,
   .duration_ms = 150, .issued = SOME, OUTCOMES([LOAD_OK] = SOME),
   .failed = 0, .connections_opened = 2, .both_workers = true},
  {.name = "count and duration: the count comes first",
   .mode = SRV_NORMAL, .connections = 1, .keepalive = true, .requests = 5,
   .duration_ms = 60000, .issued = 5, OUTCOMES([LOAD_OK] = 5), .failed = 0,
   .connections_opened = 1},
  {.name = "load_stop() from the request callback",
   .mode = SRV_NORMAL, .connections = 3, .keepalive = true,
   .duration_ms = 60000, .stop_after = 10, .issued = SOME,
   OUTCOMES([LOAD_OK] = SOME), .failed = 0, .connections_opened = 3},
  {.name = "rate limit paces the requests",
   .mode = SRV_NORMAL, .connections = 4, .keepalive = true, .rate = 40,
   .duration_ms = 250, .issued = SOME, OUTCOMES([LOAD_OK] = SOME),
   .failed = 0, .connections_opened = ANY, .paced = true},
  {.name = "graceful close of every server under keep-alive: no failure",
   .mode = SRV_NORMAL, .connections = 4, .keepalive = true,
   .requests = 300, .rotate_after = 100, .issued = 300,
   OUTCOMES([LOAD_OK] = SOME, [LOAD_RETRIED] = ANY), .failed = 0,
   .connections_opened = ANY, .both_workers = true},
  {.name = "graceful close of every server, Connection: close: no failure",
   .mode = SRV_NORMAL, .connections = 4, .keepalive = false,
   .requests = 120, .rotate_after = 40, .issued = 120,
   OUTCOMES([LOAD_OK] = 120), .failed = 0, .connections_opened = 120,
   .both_workers = true},
  {.name = "drain deadline cancels what is still in flight",
   .mode = SRV_SILENT, .connections = 3, .keepalive = true,
   .duration_ms = 50, .timeout_ms = 5000, .drain_ms = 50, .issued = 3,
   OUTCOMES([LOAD_CANCELLED] = 3), .failed = 0, .connections_opened = 3},
};

typedef struct {
  const load_case_t *c;
  uv_loop_t loop;
  uv_timer_t guard;
  srv_t srv;
  load_t *load;
  bool done;
  bool timed_out;
  uint64_t callbacks;
  uint64_t last_seq_seen;
  bool records_in_order;
} run_t;

static void on_request(load_t *load, const load_record_t *rec, void *arg)
{
  run_t *run = arg;

  run->callbacks++;
  if (run->c->rotate_after > 0 &&
      run->callbacks == (uint64_t)run->c->rotate_after)
    CU_ASSERT_EQUAL(srv_rotate(&run->srv), 0);
  if (run->c->stop_after > 0 && run->callbacks == (uint64_t)run->c->stop_after)
    CU_ASSERT_EQUAL(load_stop(load), 0);
  if (run->c->stop_after > 0 && run->callbacks > (uint64_t)run->c->stop_after)
    CU_ASSERT_EQUAL(load_stop(load), UV_EALREADY);
}

static void on_done(load_t *load, void *arg)
{
  run_t *run = arg;

  run->done = true;
  CU_ASSERT_FALSE(load_running(load));
  uv_close((uv_handle_t *)&run->guard, NULL);
  srv_close(&run->srv);
}

static void on_guard(uv_timer_t *timer)
{
  run_t *run = timer->data;

  run->timed_out = true;
  load_stop(run->load);
}

static void expect(long want, uint64_t got, const char *what,
                   const char *name)
{
  bool ok = want == ANY || (want == SOME ? got > 0 : got == (uint64_t)want);

  CU_ASSERT_TRUE(ok);
  if (!ok)
    fprintf(stderr, "  %s: %s = %llu, want %ld\n", name, what,
            (unsigned long long)got, want);
}

static void check_records(run_t *run, const load_counters_t *k)
{
  const load_case_t *c = run->c;
  const load_record_t *recs;
  size_t n, i;
  uint64_t seen_mask_count = 0;
  char *seen;

  recs = load_records(run->load, &n);
  CU_ASSERT_EQUAL(n, k->finished);
  CU_ASSERT_EQUAL(run->callbacks, k->finished);
  seen = calloc(n + 1, 1);
  CU_ASSERT_PTR_NOT_NULL_FATAL(seen);
  for (i = 0; i < n; i++) {
    const load_record_t *r = &recs[i];

    CU_ASSERT_TRUE(r->end_ns >= r->start_ns);
    CU_ASSERT_TRUE(r->start_ns >= k->start_ns);
    CU_ASSERT_TRUE(r->end_ns <= k->end_ns);
    CU_ASSERT_TRUE(r->connection < c->connections);
    CU_ASSERT_TRUE(r->seq < n);
    if (r->seq < n && !seen[r->seq]) {
      seen[r->seq] = 1;
      seen_mask_count++;
    }
    CU_ASSERT_EQUAL(r->retried, r->outcome == LOAD_RETRIED);
    if (c->paced) {
      CU_ASSERT_TRUE(r->start_ns >=
                     k->start_ns + r->seq * (1000000000u / c->rate));
    }
    if (r->outcome == LOAD_OK || r->outcome == LOAD_RETRIED) {
      CU_ASSERT_TRUE(r->status >= 200 && r->status <= 299);
      CU_ASSERT_EQUAL(r->error, 0);
      if (c->mode == SRV_NORMAL) {
        CU_ASSERT_TRUE(r->worker >= 1 &&
                       r->worker <= (c->rotate_after > 0 ? 4u : 2u));
      } else {
        CU_ASSERT_EQUAL(r->worker, 9);
      }
    }
    if (r->outcome == LOAD_BAD_STATUS) {
      CU_ASSERT_EQUAL(r->status, 500);
      CU_ASSERT_EQUAL(r->worker, 9);
    }
    if (load_outcome_failed(r->outcome) && r->outcome != LOAD_BAD_STATUS)
      CU_ASSERT_NOT_EQUAL(r->error, 0);
    if (r->outcome == LOAD_REFUSED)
      CU_ASSERT_EQUAL(r->error, UV_ECONNREFUSED);
    if (r->outcome == LOAD_TIMEOUT)
      CU_ASSERT_EQUAL(r->error, UV_ETIMEDOUT);
  }
  /* Every issued request has exactly one record. */
  CU_ASSERT_EQUAL(seen_mask_count, n);
  free(seen);
}

static void run_case(const load_case_t *c)
{
  run_t run;
  load_opts_t opts = {
    .host = c->host, .connections = c->connections,
    .keepalive = c->keepalive, .requests = c->requests,
    .duration_ms = c->duration_ms, .rate = c->rate,
    .timeout_ms = c->timeout_ms, .drain_ms = c->drain_ms,
    .request_cb = on_request, .arg = &run,
  };
  load_counters_t k;
  uint64_t sum = 0;
  int rc, i;

  memset(&run, 0, sizeof(run));
  run.c = c;
  CU_ASSERT_EQUAL_FATAL(uv_loop_init(&run.loop), 0);
  rc = srv_start(&run.srv, &run.loop, c->host ? c->host : "127.0.0.1",
                 c->mode, c->param);
  if (rc < 0) {
    srv_close(&run.srv);
    uv_run(&run.loop, UV_RUN_DEFAULT);
    uv_loop_close(&run.loop);
    if (c->host != NULL && strchr(c->host, ':') != NULL) {
      fprintf(stderr, "  %s: skipped, no %s here (%s)\n", c->name, c->host,
              uv_strerror(rc));
      return;
    }
    CU_FAIL("server did not start");
    return;
  }
  opts.port = run.srv.port;
  CU_ASSERT_EQUAL_FATAL(load_new(&run.load), 0);
  uv_timer_init(&run.loop, &run.guard);
  run.guard.data = &run;
  uv_timer_start(&run.guard, on_guard, GUARD_MS, 0);
  rc = load_start(run.load, &run.loop, &opts, on_done);
  CU_ASSERT_EQUAL(rc, 0);
  if (rc < 0)
    on_done(run.load, &run);
  else
    CU_ASSERT_TRUE(load_running(run.load));
  /* Never from inside load_start(). */
  CU_ASSERT_EQUAL(run.callbacks, 0);
  CU_ASSERT_FALSE(run.done);
  uv_run(&run.loop, UV_RUN_DEFAULT);
  CU_ASSERT_EQUAL(uv_loop_close(&run.loop), 0);

  CU_ASSERT_TRUE(run.done);
  CU_ASSERT_FALSE(run.timed_out);
  load_counters(run.load, &k);
  printf("\n    %-64s issued %llu ok %llu retried %llu failed %llu "
         "cancelled %llu connections %llu",
         c->name, (unsigned long long)k.issued,
         (unsigned long long)k.outcome[LOAD_OK],
         (unsigned long long)k.outcome[LOAD_RETRIED],
         (unsigned long long)k.failed,
         (unsigned long long)k.outcome[LOAD_CANCELLED],
         (unsigned long long)k.connections);
  expect(c->issued, k.issued, "issued", c->name);
  CU_ASSERT_EQUAL(k.finished, k.issued);
  for (i = 0; i < LOAD_OUTCOME_MAX; i++) {
    char what[32];

    snprintf(what, sizeof(what), "outcome %s",
             load_outcome_name((load_outcome_t)i));
    expect(c->outcome[i], k.outcome[i], what, c->name);
    sum += k.outcome[i];
  }
  CU_ASSERT_EQUAL(sum, k.finished);
  expect(c->failed, k.failed, "failed", c->name);
  expect(c->connections_opened, k.connections, "connections", c->name);
  CU_ASSERT_EQUAL(k.retries, k.outcome[LOAD_RETRIED]);
  CU_ASSERT_EQUAL(k.records_dropped, 0);
  CU_ASSERT_TRUE(k.end_ns >= k.start_ns);
  if (c->both_workers) {
    uint64_t w1 = load_worker_responses(run.load, 1);
    uint64_t w2 = load_worker_responses(run.load, 2);

    uint64_t w3 = load_worker_responses(run.load, 3);
    uint64_t w4 = load_worker_responses(run.load, 4);

    CU_ASSERT_TRUE(w1 > 0);
    CU_ASSERT_TRUE(w2 > 0);
    if (c->rotate_after > 0) {
      CU_ASSERT_TRUE(w3 > 0);
      CU_ASSERT_TRUE(w4 > 0);
    } else {
      CU_ASSERT_EQUAL(w3 + w4, 0);
    }
    CU_ASSERT_EQUAL(w1 + w2 + w3 + w4,
                    k.outcome[LOAD_OK] + k.outcome[LOAD_RETRIED]);
    CU_ASSERT_EQUAL(load_worker_responses(run.load, 9), 0);
  }
  check_records(&run, &k);
  load_free(run.load);
}

static void test_cases(void)
{
  size_t i;

  for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    unsigned failures = CU_get_number_of_failures();

    run_case(&cases[i]);
    if (CU_get_number_of_failures() != failures)
      fprintf(stderr, "  case failed: %s\n", cases[i].name);
  }
}

static void never_done(load_t *load, void *arg)
{
  CU_FAIL("done_cb of a load that never started");
}

static void test_invalid_options(void)
{
  static const struct {
    const char *name;
    load_opts_t opts;
  } bad[] = {
    {"no port", {.requests = 1}},
    {"port out of range", {.port = 70000, .requests = 1}},
    {"no bound", {.port = 80}},
    {"duration above the cap",
     {.port = 80, .duration_ms = LOAD_MAX_DURATION_MS + 1}},
    {"too many connections",
     {.port = 80, .requests = 1, .connections = LOAD_MAX_CONNECTIONS + 1}},
    {"not loopback", {.host = "10.0.0.1", .port = 80, .requests = 1}},
    {"not loopback v6", {.host = "2001:db8::1", .port = 80, .requests = 1}},
    {"a name, not an address",
     {.host = "localhost", .port = 80, .requests = 1}},
    {"path without slash", {.port = 80, .requests = 1, .path = "x"}},
    {"path with a space", {.port = 80, .requests = 1, .path = "/a b"}},
    {"unix path and clients",
     {.unix_path = "/tmp/x.sock", .requests = 1, .clients = 2}},
    {"unix path and udp",
     {.unix_path = "/tmp/x.sock", .requests = 1, .udp = true}},
    {"empty unix path", {.unix_path = "", .requests = 1}},
  };
  uv_loop_t loop;
  load_t *load = NULL;
  size_t i;

  CU_ASSERT_EQUAL_FATAL(uv_loop_init(&loop), 0);
  CU_ASSERT_EQUAL_FATAL(load_new(&load), 0);
  for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    int rc = load_start(load, &loop, &bad[i].opts, never_done);

    CU_ASSERT_EQUAL(rc, UV_EINVAL);
    if (rc != UV_EINVAL)
      fprintf(stderr, "  accepted: %s\n", bad[i].name);
    CU_ASSERT_FALSE(load_running(load));
  }
  CU_ASSERT_EQUAL(load_stop(load), UV_EINVAL);
  CU_ASSERT_EQUAL(load_start(load, &loop, &bad[0].opts, NULL), UV_EINVAL);
  load_free(load);
  CU_ASSERT_EQUAL(uv_run(&loop, UV_RUN_NOWAIT), 0);
  CU_ASSERT_EQUAL(uv_loop_close(&loop), 0);
}

static void test_outcome_names(void)
{
  static const struct {
    load_outcome_t outcome;
    const char *name;
    bool failed;
  } table[] = {
    {LOAD_OK, "ok", false},
    {LOAD_RETRIED, "retried", false},
    {LOAD_REFUSED, "refused", true},
    {LOAD_RESET, "reset", true},
    {LOAD_TIMEOUT, "timeout", true},
    {LOAD_BAD_STATUS, "bad-status", true},
    {LOAD_TRUNCATED, "truncated", true},
    {LOAD_ERROR, "error", true},
    {LOAD_CANCELLED, "cancelled", false},
  };
  size_t i;

  CU_ASSERT_EQUAL(sizeof(table) / sizeof(table[0]), LOAD_OUTCOME_MAX);
  for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
    CU_ASSERT_STRING_EQUAL(load_outcome_name(table[i].outcome),
                           table[i].name);
    CU_ASSERT_EQUAL(load_outcome_failed(table[i].outcome), table[i].failed);
  }
  CU_ASSERT_PTR_NULL(load_outcome_name(LOAD_OUTCOME_MAX));
}

/* A second start on the same load runs afresh; a start while running is
 * refused. */
static int restarts;

static void on_restart_done(load_t *load, void *arg)
{
  srv_t *srv = arg;
  load_counters_t k;

  load_counters(load, &k);
  CU_ASSERT_EQUAL(k.outcome[LOAD_OK], 3);
  if (++restarts == 1) {
    load_opts_t opts = {.port = srv->port, .requests = 3, .keepalive = true,
                        .arg = srv};

    CU_ASSERT_EQUAL(load_start(load, srv->loop, &opts, on_restart_done), 0);
    CU_ASSERT_EQUAL(load_start(load, srv->loop, &opts, on_restart_done),
                    UV_EBUSY);
    return;
  }
  srv_close(srv);
}

static void test_restart(void)
{
  uv_loop_t loop;
  srv_t srv;
  load_t *load;
  load_opts_t opts = {.requests = 3, .keepalive = true, .arg = &srv};
  size_t n;

  restarts = 0;
  CU_ASSERT_EQUAL_FATAL(uv_loop_init(&loop), 0);
  CU_ASSERT_EQUAL_FATAL(srv_start(&srv, &loop, "127.0.0.1", SRV_NORMAL, 0),
                        0);
  opts.port = srv.port;
  CU_ASSERT_EQUAL_FATAL(load_new(&load), 0);
  CU_ASSERT_EQUAL(load_start(load, &loop, &opts, on_restart_done), 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  CU_ASSERT_EQUAL(restarts, 2);
  load_records(load, &n);
  CU_ASSERT_EQUAL(n, 3);
  load_free(load);
  CU_ASSERT_EQUAL(uv_loop_close(&loop), 0);
}

/* Datagrams: a UDP socket that answers "worker 7" to each (or, silent,
 * never): each request is one datagram, ok with its worker, or a
 * timeout. */
typedef struct {
  uv_udp_t udp;
  bool silent;
  unsigned received;
  char buf[128];
} udp_srv_t;

static void udp_srv_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
  udp_srv_t *u = h->data;

  (void)hint;
  *buf = uv_buf_init(u->buf, sizeof(u->buf));
}

static void udp_srv_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *buf,
                         const struct sockaddr *from, unsigned flags)
{
  udp_srv_t *u = h->data;
  uv_buf_t out = uv_buf_init((char *)"worker 7\n", 9);

  (void)buf;
  (void)flags;
  if (n <= 0 || from == NULL)
    return;
  u->received++;
  if (!u->silent)
    CU_ASSERT_EQUAL(uv_udp_try_send(h, &out, 1, from), 9);
}

static void on_udp_done(load_t *load, void *arg)
{
  (void)load;
  uv_close((uv_handle_t *)arg, NULL);
}

static void udp_case(bool silent, unsigned clients)
{
  uv_loop_t loop;
  udp_srv_t srv = {.silent = silent};
  struct sockaddr_in addr;
  int len = sizeof(addr);
  load_t *load;
  load_counters_t k;
  load_opts_t opts = {.host = "127.0.0.1", .requests = 6, .connections = 2,
                      .udp = true, .timeout_ms = 200, .clients = clients,
                      .arg = &srv.udp};
  const load_record_t *r;
  size_t n, i;

  CU_ASSERT_EQUAL_FATAL(uv_loop_init(&loop), 0);
  CU_ASSERT_EQUAL_FATAL(uv_udp_init(&loop, &srv.udp), 0);
  srv.udp.data = &srv;
  uv_ip4_addr("127.0.0.1", 0, &addr);
  CU_ASSERT_EQUAL_FATAL(uv_udp_bind(&srv.udp, (struct sockaddr *)&addr, 0),
                        0);
  CU_ASSERT_EQUAL(uv_udp_getsockname(&srv.udp, (struct sockaddr *)&addr,
                                     &len), 0);
  CU_ASSERT_EQUAL(uv_udp_recv_start(&srv.udp, udp_srv_alloc, udp_srv_recv),
                  0);
  opts.port = ntohs(addr.sin_port);
  CU_ASSERT_EQUAL_FATAL(load_new(&load), 0);
  CU_ASSERT_EQUAL(load_start(load, &loop, &opts, on_udp_done), 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  load_counters(load, &k);
  CU_ASSERT_EQUAL(k.finished, 6);
  CU_ASSERT_EQUAL(srv.received, 6);
  CU_ASSERT_EQUAL(k.outcome[silent ? LOAD_TIMEOUT : LOAD_OK], 6);
  CU_ASSERT_EQUAL(load_worker_responses(load, 7), silent ? 0 : 6);
  r = load_records(load, &n);
  for (i = 0; i < n; i++) {
    CU_ASSERT_EQUAL(r[i].worker, silent ? 0u : 7u);
    CU_ASSERT_EQUAL(r[i].client, clients ? 1 + r[i].connection % clients
                                         : 0u);
  }
  load_free(load);
  CU_ASSERT_EQUAL(uv_loop_close(&loop), 0);
}

static void test_udp(void)
{
  udp_case(false, 0);
  udp_case(false, 2);
  udp_case(true, 0);
}

static CU_TestInfo tests[] = {
  {"cases (table)", test_cases},
  {"datagrams", test_udp},
  {"invalid options", test_invalid_options},
  {"outcome names", test_outcome_names},
  {"restart after done", test_restart},
  CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
  CU_SuiteInfo suites[] = {
    { .pName = "load", .pTests = tests },
    CU_SUITE_INFO_NULL,
  };

  return test_main(argc, argv, suites, NULL);
}
