/*
 * test-http.c - the responder against real libuv clients on 127.0.0.1:
 * keep-alive, pipelining, Connection: close, bad requests, the TCP kind,
 * timeouts and the graceful close of a group.
 */
#include <stdlib.h>
#include <string.h>
#include <CUnit/Basic.h>

#include "env.h"
#include "test-support.h"

#define WORKER_ID 7u

#define GET "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
#define GET_CLOSE "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
#define HEAD "HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

/* ------------------------------------------------------------------ */
/* one client, one script                                              */

typedef struct {
  const char *name;
  http_kind_t kind;
  unsigned delay_ms;
  const char *steps[ENV_MAX_STEPS];
  int after[ENV_MAX_STEPS];
  int head_index;            /* -1: no HEAD */
  int responses;
  /* expectation per response; entry 3 stands for every later one */
  int status[4];
  int keep_alive[4];
  bool eof;                  /* the server ends the connection */
  bool bodyless[4];
  const char *raw;           /* TCP kind: the exact bytes */
} exchange_t;

static char *burst_request;  /* HTTP_MAX_BACKLOG * 3 requests in one write */
#define BURST (HTTP_MAX_BACKLOG * 3)

static const exchange_t exchanges[] = {
  {.name = "keep-alive GET stays open",
   .steps = {GET}, .head_index = -1, .responses = 1,
   .status = {200}, .keep_alive = {1}},
  {.name = "two requests in turn on one connection",
   .steps = {GET, GET}, .after = {0, 1}, .head_index = -1, .responses = 2,
   .status = {200, 200}, .keep_alive = {1, 1}},
  {.name = "Connection: close is honoured",
   .steps = {GET_CLOSE}, .head_index = -1, .responses = 1,
   .status = {200}, .keep_alive = {0}, .eof = true},
  {.name = "HTTP/1.0 closes by default",
   .steps = {"GET / HTTP/1.0\r\n\r\n"}, .head_index = -1, .responses = 1,
   .status = {200}, .keep_alive = {0}, .eof = true},
  {.name = "HTTP/1.0 with keep-alive stays open",
   .steps = {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"},
   .head_index = -1, .responses = 1, .status = {200}, .keep_alive = {1}},
  {.name = "pipelined GET HEAD GET-close answered in order",
   .steps = {GET HEAD GET_CLOSE}, .head_index = 1, .responses = 3,
   .status = {200, 200, 200}, .keep_alive = {1, 1, 0},
   .bodyless = {false, true, false}, .eof = true},
  {.name = "pipelined with a delay keeps the order",
   .delay_ms = 30, .steps = {GET HEAD GET_CLOSE}, .head_index = 1,
   .responses = 3, .status = {200, 200, 200}, .keep_alive = {1, 1, 0},
   .bodyless = {false, true, false}, .eof = true},
  {.name = "request bodies are skipped",
   .steps = {"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
             "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
             "3\r\nabc\r\n0\r\n\r\n" GET_CLOSE},
   .head_index = -1, .responses = 3, .status = {200, 200, 200},
   .keep_alive = {1, 1, 0}, .eof = true},
  {.name = "bad request gets 400 and close",
   .steps = {"NOT-HTTP\r\n\r\n"}, .head_index = -1, .responses = 1,
   .status = {400}, .keep_alive = {0}, .bodyless = {true}, .eof = true},
  {.name = "bad request after a good one",
   .steps = {GET "GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n"}, .head_index = -1,
   .responses = 2, .status = {200, 400}, .keep_alive = {1, 0},
   .bodyless = {false, true}, .eof = true},
  {.name = "Upgrade is answered, then the connection ends",
   .steps = {"GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: x\r\n\r\n"
             "junk of another protocol"},
   .head_index = -1, .responses = 1, .status = {200}, .keep_alive = {0},
   .eof = true},
  {.name = "CONNECT ends the connection unanswered",
   .steps = {"CONNECT a:1 HTTP/1.1\r\nHost: a:1\r\n\r\n"}, .head_index = -1,
   .responses = 0, .eof = true},
  {.name = "a burst beyond the backlog is answered in full",
   .steps = {NULL /* burst_request */}, .head_index = -1, .responses = BURST,
   .status = {200, 200, 200, 200}, .keep_alive = {1, 1, 1, 1}},
  {.name = "tcp kind writes its line and ends",
   .kind = HTTP_KIND_TCP, .head_index = -1, .eof = true,
   .raw = "worker 7\n"},
  {.name = "tcp kind ignores what the client sends",
   .kind = HTTP_KIND_TCP, .steps = {GET}, .head_index = -1, .eof = true,
   .raw = "worker 7\n"},
};

static void run_exchange(const exchange_t *x)
{
  env_t env;
  env_client_t client;
  http_opts_t opts = {.kind = x->kind, .worker_id = WORKER_ID,
                      .delay_ms = x->delay_ms};
  int i, last = 0;

  memset(&client, 0, sizeof(client));
  CU_ASSERT_EQUAL_FATAL(env_init(&env, &opts), 0);
  for (i = 0; i < ENV_MAX_STEPS; i++) {
    const char *step = x->steps[i];

    if (step == NULL && i == 0 && x->responses == BURST)
      step = burst_request;
    if (step == NULL)
      break;
    client.steps[i] = step;
    client.after[i] = x->after[i];
    client.nsteps = i + 1;
  }
  client.expect = x->responses;
  client.expect_eof = x->eof;
  client.head_index = x->head_index;
  client.raw = x->raw != NULL;
  CU_ASSERT_EQUAL_FATAL(env_client_start(&env, &client), 0);
  env_run(&env);

  CU_ASSERT_FALSE(env.timed_out);
  CU_ASSERT_EQUAL(client.error, 0);
  CU_ASSERT_EQUAL(env.serve_errors, 0);
  CU_ASSERT_EQUAL(env.served, 1);
  CU_ASSERT_EQUAL(env.released, 1);
  CU_ASSERT_TRUE(env.group_closed);
  if (x->raw != NULL) {
    CU_ASSERT_EQUAL(client.raw_len, strlen(x->raw));
    CU_ASSERT_NSTRING_EQUAL(client.raw_buf, x->raw, strlen(x->raw));
    CU_ASSERT_TRUE(client.eof_seq > 0);
    return;
  }
  CU_ASSERT_EQUAL(client.nresponses, x->responses);
  for (i = 0; i < client.nresponses && i < ENV_MAX_RESPONSES; i++) {
    const env_response_t *r = &client.responses[i];
    int k = i < 4 ? i : 3;
    bool bodyless = x->bodyless[k];

    CU_ASSERT_EQUAL(r->status, x->status[k]);
    CU_ASSERT_EQUAL(r->keep_alive, x->keep_alive[k] != 0);
    if (r->status == 200) {
      CU_ASSERT_EQUAL(r->worker, WORKER_ID);
    }
    if (bodyless) {
      CU_ASSERT_EQUAL(r->body_len, 0);
    } else if (r->status == 200) {
      CU_ASSERT_EQUAL(r->body_len, strlen("worker 7\n"));
      CU_ASSERT_NSTRING_EQUAL(r->body, "worker 7\n", 9);
    }
    CU_ASSERT_TRUE(r->seq > last);
    last = r->seq;
  }
  if (x->eof) {
    CU_ASSERT_TRUE(client.eof_seq > last);
  } else {
    CU_ASSERT_EQUAL(client.eof_seq, 0);
  }
}

static void test_exchanges(void)
{
  size_t i;

  for (i = 0; i < sizeof(exchanges) / sizeof(exchanges[0]); i++) {
    unsigned failures = CU_get_number_of_failures();

    run_exchange(&exchanges[i]);
    if (CU_get_number_of_failures() != failures)
      fprintf(stderr, "  exchange failed: %s\n", exchanges[i].name);
  }
}

/* ------------------------------------------------------------------ */
/* graceful close                                                      */

/* The clients of the close tests and where their script stands. */
static struct {
  env_client_t a, b;
  int stage;
  http_stats_t at_close;
} g;

static void reset_close_state(void)
{
  memset(&g, 0, sizeof(g));
  g.a.head_index = g.b.head_index = -1;
}

static bool stats_match(env_t *env, unsigned connections, unsigned busy)
{
  http_stats_t st;

  http_group_stats(env->group, &st);
  return st.connections == connections && st.busy == busy;
}

/* A answered and idle, then B's request in flight: close. */
static bool poll_idle_and_inflight(env_t *env)
{
  switch (g.stage) {
  case 0:
    if (g.a.nresponses < 1)
      return false;
    g.b.steps[0] = GET;
    g.b.nsteps = 1;
    g.b.expect = 1;
    g.b.expect_eof = true;
    if (env_client_start(env, &g.b) < 0)
      return true;
    g.stage = 1;
    return false;
  case 1:
    if (!stats_match(env, 2, 1))
      return false;
    http_group_stats(env->group, &g.at_close);
    env_group_close(env);
    return true;
  }
  return true;
}

static void test_close_idle_and_inflight(void)
{
  env_t env;
  http_opts_t opts = {.kind = HTTP_KIND_HTTP, .worker_id = WORKER_ID,
                      .delay_ms = 200};

  reset_close_state();
  CU_ASSERT_EQUAL_FATAL(env_init(&env, &opts), 0);
  g.a.steps[0] = GET;
  g.a.nsteps = 1;
  g.a.expect = 1;
  g.a.expect_eof = true;
  CU_ASSERT_EQUAL_FATAL(env_client_start(&env, &g.a), 0);
  env_poll(&env, poll_idle_and_inflight);
  env_run(&env);

  CU_ASSERT_FALSE(env.timed_out);
  CU_ASSERT_EQUAL(g.stage, 1);
  CU_ASSERT_EQUAL(g.at_close.requests, 2);
  CU_ASSERT_EQUAL(g.at_close.responses, 1);
  /* A, idle, is ended at once: before B's answer. */
  CU_ASSERT_EQUAL(g.a.nresponses, 1);
  CU_ASSERT_TRUE(g.a.responses[0].keep_alive);
  CU_ASSERT_EQUAL(g.a.error, 0);
  CU_ASSERT_TRUE(g.a.eof_seq > 0);
  /* B's request in flight is answered, with Connection: close, then B
   * is ended. */
  CU_ASSERT_EQUAL(g.b.error, 0);
  CU_ASSERT_EQUAL_FATAL(g.b.nresponses, 1);
  CU_ASSERT_EQUAL(g.b.responses[0].status, 200);
  CU_ASSERT_FALSE(g.b.responses[0].keep_alive);
  CU_ASSERT_EQUAL(g.b.responses[0].worker, WORKER_ID);
  CU_ASSERT_TRUE(g.a.eof_seq < g.b.responses[0].seq);
  CU_ASSERT_TRUE(g.b.eof_seq > g.b.responses[0].seq);
  CU_ASSERT_TRUE(env.group_closed);
  CU_ASSERT_TRUE(env.group_closed_seq > g.b.responses[0].seq);
  CU_ASSERT_EQUAL(env.released, 2);
}

/* A connected without a request, B half-way through its headers: close,
 * then B completes its request. */
static bool poll_mid_request(env_t *env)
{
  if (!stats_match(env, 2, 1) || !g.a.open || !g.b.open)
    return false;
  env_group_close(env);
  env_client_send(&g.b, "\r\n");
  g.stage = 1;
  return true;
}

static void test_close_mid_request(void)
{
  env_t env;
  http_opts_t opts = {.kind = HTTP_KIND_HTTP, .worker_id = WORKER_ID};

  reset_close_state();
  CU_ASSERT_EQUAL_FATAL(env_init(&env, &opts), 0);
  g.a.expect = 0;
  g.a.expect_eof = true;
  g.b.steps[0] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  g.b.nsteps = 1;
  g.b.expect = 1;
  g.b.expect_eof = true;
  CU_ASSERT_EQUAL_FATAL(env_client_start(&env, &g.a), 0);
  CU_ASSERT_EQUAL_FATAL(env_client_start(&env, &g.b), 0);
  env_poll(&env, poll_mid_request);
  env_run(&env);

  CU_ASSERT_FALSE(env.timed_out);
  CU_ASSERT_EQUAL(g.stage, 1);
  CU_ASSERT_EQUAL(g.a.nresponses, 0);
  CU_ASSERT_EQUAL(g.a.error, 0);
  CU_ASSERT_TRUE(g.a.eof_seq > 0);
  CU_ASSERT_EQUAL(g.b.error, 0);
  CU_ASSERT_EQUAL_FATAL(g.b.nresponses, 1);
  CU_ASSERT_EQUAL(g.b.responses[0].status, 200);
  CU_ASSERT_FALSE(g.b.responses[0].keep_alive);
  CU_ASSERT_TRUE(g.b.eof_seq > g.b.responses[0].seq);
  CU_ASSERT_TRUE(env.group_closed);
  CU_ASSERT_EQUAL(env.released, 2);
}

/* B's request in flight keeps the group open; C arrives after the close
 * began and is ended at once, unanswered. */
static env_client_t late;

static bool poll_serve_after_close(env_t *env)
{
  switch (g.stage) {
  case 0:
    if (!stats_match(env, 1, 1))
      return false;
    env_group_close(env);
    late.expect_eof = true;
    late.head_index = -1;
    late.steps[0] = GET;
    late.nsteps = 1;
    env_client_start(env, &late);
    g.stage = 1;
    return false;
  }
  return true;
}

static void test_serve_after_close(void)
{
  env_t env;
  http_opts_t opts = {.kind = HTTP_KIND_HTTP, .worker_id = WORKER_ID,
                      .delay_ms = 200};

  reset_close_state();
  memset(&late, 0, sizeof(late));
  CU_ASSERT_EQUAL_FATAL(env_init(&env, &opts), 0);
  g.b.steps[0] = GET;
  g.b.nsteps = 1;
  g.b.expect = 1;
  g.b.expect_eof = true;
  CU_ASSERT_EQUAL_FATAL(env_client_start(&env, &g.b), 0);
  env_poll(&env, poll_serve_after_close);
  env_run(&env);

  CU_ASSERT_FALSE(env.timed_out);
  CU_ASSERT_EQUAL(g.b.nresponses, 1);
  CU_ASSERT_EQUAL(late.nresponses, 0);
  CU_ASSERT_TRUE(late.eof_seq > 0 || late.error == UV_ECONNRESET);
  /* The late connection was either served-and-cancelled or never
   * accepted before the listener closed; it was never answered. */
  CU_ASSERT_TRUE(env.serve_errors <= 1);
  CU_ASSERT_EQUAL(env.released, env.served);
  CU_ASSERT_TRUE(env.group_closed);
}

static bool poll_abort(env_t *env)
{
  if (!stats_match(env, 1, 1))
    return false;
  env_group_close(env);
  http_group_abort(env->group);
  g.stage = 1;
  return true;
}

static void test_abort(void)
{
  env_t env;
  http_opts_t opts = {.kind = HTTP_KIND_HTTP, .worker_id = WORKER_ID,
                      .delay_ms = 200};

  reset_close_state();
  CU_ASSERT_EQUAL_FATAL(env_init(&env, &opts), 0);
  g.b.steps[0] = GET;
  g.b.nsteps = 1;
  g.b.expect = 1;
  g.b.expect_eof = true;
  CU_ASSERT_EQUAL_FATAL(env_client_start(&env, &g.b), 0);
  env_poll(&env, poll_abort);
  env_run(&env);

  CU_ASSERT_FALSE(env.timed_out);
  CU_ASSERT_EQUAL(g.stage, 1);
  CU_ASSERT_EQUAL(g.b.nresponses, 0);
  CU_ASSERT_TRUE(g.b.eof_seq > 0 || g.b.error == UV_ECONNRESET);
  CU_ASSERT_TRUE(env.group_closed);
  CU_ASSERT_EQUAL(env.released, 1);
}

static void test_keepalive_timeout(void)
{
  env_t env;
  env_client_t client;
  http_opts_t opts = {.kind = HTTP_KIND_HTTP, .worker_id = WORKER_ID,
                      .keepalive_timeout_ms = 50};

  memset(&client, 0, sizeof(client));
  CU_ASSERT_EQUAL_FATAL(env_init(&env, &opts), 0);
  client.steps[0] = GET;
  client.nsteps = 1;
  client.expect = 1;
  client.expect_eof = true;
  client.head_index = -1;
  CU_ASSERT_EQUAL_FATAL(env_client_start(&env, &client), 0);
  env_run(&env);

  CU_ASSERT_FALSE(env.timed_out);
  CU_ASSERT_EQUAL(client.error, 0);
  CU_ASSERT_EQUAL_FATAL(client.nresponses, 1);
  CU_ASSERT_TRUE(client.responses[0].keep_alive);
  CU_ASSERT_TRUE(client.eof_seq > client.responses[0].seq);
  CU_ASSERT_EQUAL(env.released, 1);
}

static int closed_calls;

static void on_empty_closed(http_group_t *group, void *arg)
{
  closed_calls++;
  CU_ASSERT_PTR_EQUAL(arg, &closed_calls);
}

static void release_unused(uv_tcp_t *conn, void *arg)
{
  CU_FAIL("release without a connection");
}

static void test_close_empty_group(void)
{
  uv_loop_t loop;
  http_group_t *group = NULL;
  http_opts_t opts = {.kind = HTTP_KIND_HTTP, .release = release_unused};

  closed_calls = 0;
  CU_ASSERT_EQUAL_FATAL(uv_loop_init(&loop), 0);
  CU_ASSERT_EQUAL_FATAL(http_group_new(&loop, &opts, &group), 0);
  CU_ASSERT_EQUAL(http_group_close(group, on_empty_closed, &closed_calls),
                  0);
  CU_ASSERT_EQUAL(http_group_close(group, on_empty_closed, &closed_calls),
                  UV_EALREADY);
  /* Never from inside the call. */
  CU_ASSERT_EQUAL(closed_calls, 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  CU_ASSERT_EQUAL(closed_calls, 1);
  CU_ASSERT_EQUAL(uv_loop_close(&loop), 0);
}

static void test_arguments(void)
{
  static const struct {
    const char *name;
    int rc;
    http_kind_t kind;
  } kinds[] = {
    {"http", 0, HTTP_KIND_HTTP}, {"tcp", 0, HTTP_KIND_TCP},
    {"HTTP", UV_EINVAL, 0}, {"", UV_EINVAL, 0}, {NULL, UV_EINVAL, 0},
  };
  uv_loop_t loop;
  http_group_t *group = NULL;
  http_opts_t no_release = {.kind = HTTP_KIND_HTTP};
  http_opts_t bad_kind = {.kind = (http_kind_t)9, .release = release_unused};
  size_t i;

  for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
    http_kind_t kind = (http_kind_t)-1;

    CU_ASSERT_EQUAL(http_kind_from_name(kinds[i].name, &kind), kinds[i].rc);
    if (kinds[i].rc == 0) {
      CU_ASSERT_EQUAL(kind, kinds[i].kind);
    }
  }
  CU_ASSERT_EQUAL_FATAL(uv_loop_init(&loop), 0);
  CU_ASSERT_EQUAL(http_group_new(&loop, &no_release, &group), UV_EINVAL);
  CU_ASSERT_EQUAL(http_group_new(&loop, &bad_kind, &group), UV_EINVAL);
  CU_ASSERT_PTR_NULL(group);
  CU_ASSERT_EQUAL(uv_loop_close(&loop), 0);
}

static int burst_init(void)
{
  size_t i, len = strlen(GET);

  burst_request = malloc(len * BURST + 1);
  if (burst_request == NULL)
    return -1;
  for (i = 0; i < BURST; i++)
    memcpy(burst_request + i * len, GET, len);
  burst_request[len * BURST] = '\0';
  return 0;
}

static int burst_cleanup(void)
{
  free(burst_request);
  burst_request = NULL;
  return 0;
}

static CU_TestInfo tests[] = {
  {"exchanges (table)", test_exchanges},
  {"close: idle ends at once, in-flight finishes", test_close_idle_and_inflight},
  {"close: request half received", test_close_mid_request},
  {"close: connection served after close", test_serve_after_close},
  {"close: empty group, callback deferred", test_close_empty_group},
  {"abort ends in-flight connections", test_abort},
  {"keep-alive timeout", test_keepalive_timeout},
  {"arguments", test_arguments},
  CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
  CU_SuiteInfo suites[] = {
    { .pName = "http", .pInitFunc = burst_init,
      .pCleanupFunc = burst_cleanup, .pTests = tests },
    CU_SUITE_INFO_NULL,
  };

  return test_main(argc, argv, suites, NULL);
}
