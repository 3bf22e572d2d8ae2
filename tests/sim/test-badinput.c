/*
 * test-badinput.c - a worker that breaks the wire protocol.
 *
 * Node's primary would throw on such input; sim's documented rule instead
 * (sim-primary.c, sim-channel.c) is: an `error` event on that worker with
 * a Node-style code, then the worker is SIGKILLed and its channel closed,
 * so the usual `disconnect` and `exit` follow - and the primary and every
 * other worker carry on. Each row forks one bad peer (this program in a
 * helper role, writing to fd 3) beside a well-behaved echo worker that
 * must answer every one of the messages sent to it while the bad one
 * dies.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "simtest.h"

#define TIMEOUT_MS 15000u
#define ECHOES 50

static const char online[] = "{\"cmd\":\"NODE_CLUSTER\",\"act\":\"online\","
                             "\"seq\":0}\n";

typedef struct {
  const char *name;
  const char *helper;        /* argv[2] of the helper role */
  const char *code;          /* expected error code */
} row_t;

static const row_t rows[] = {
  { "garbage_line_error_bad_json", "garbage", "ERR_IPC_BAD_JSON" },
  { "half_line_then_eof_error_truncated", "half", "ERR_IPC_TRUNCATED" },
  { "line_of_64mib_error_too_large", "huge", "ERR_IPC_MESSAGE_TOO_LARGE" },
  { "invalid_utf8_error_invalid_utf8", "utf8", "ERR_IPC_INVALID_UTF8" },
  { "node_handle_without_fd_error_handle_missing", "nohandle",
    "ERR_IPC_HANDLE_MISSING" },
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))

/* ---------------------------------------------------------------------- */
/* Helper role: a bad peer on fd 3                                         */

static void put(const char *s, size_t n)
{
  while (n > 0) {
    ssize_t w = write(3, s, n);
    if (w <= 0)
      _exit(3);
    s += w;
    n -= (size_t)w;
  }
}

static int helper(const char *mode)
{
  /* It says `online` properly first, so the primary knows it as a live
   * worker before it misbehaves. */
  put(online, sizeof(online) - 1);
  if (strcmp(mode, "garbage") == 0) {
    put("garbage\n", 8);
  } else if (strcmp(mode, "half") == 0) {
    static const char half[] = "{\"cmd\":\"NODE_CLUSTER\",\"act\":\"onl";
    put(half, sizeof(half) - 1);
    close(3);                  /* EOF in the middle of a line */
  } else if (strcmp(mode, "huge") == 0) {
    static char chunk[1 << 16];
    memset(chunk, 'a', sizeof(chunk));
    put("{\"x\":\"", 6);
    /* 64 MiB without a newline; the primary stops reading at its limit,
     * so this blocks until the helper is killed. */
    for (int i = 0; i < 1024; i++)
      put(chunk, sizeof(chunk));
    put("\"}\n", 3);
  } else if (strcmp(mode, "utf8") == 0) {
    static const char bad[] = "{\"x\":\"\xff\xfe\xc0\xaf\"}\n";
    put(bad, sizeof(bad) - 1);
  } else if (strcmp(mode, "nohandle") == 0) {
    static const char msg[] =
        "{\"cmd\":\"NODE_HANDLE\",\"type\":\"net.Native\",\"msg\":"
        "{\"cmd\":\"NODE_CLUSTER\",\"act\":\"newconn\",\"key\":\"x\","
        "\"seq\":1}}\n";
    put(msg, sizeof(msg) - 1);
  } else {
    return 2;
  }
  /* Stay alive: the primary's rule is to kill it. */
  for (int i = 0; i < 300; i++)
    sleep(1);
  return 4;
}

/* ---------------------------------------------------------------------- */

static const row_t *row;
static int sent;
static int echoed;
static int in_order = 1;

static void maybe_end(st_ctx_t *t)
{
  /* The bad worker is fully gone and every echo is back: the good worker
   * leaves by a primary disconnect. */
  if (echoed == ECHOES && st_count(t, 1, SIM_EV_EXIT, SIM_ON_CLUSTER) == 1 &&
      st_count(t, 1, SIM_EV_DISCONNECT, SIM_ON_CLUSTER) == 1 &&
      sim_cluster_worker(&t->cluster, 2) != NULL)
    (void)sim_worker_disconnect(sim_cluster_find(&t->cluster, 2));
}

static void on_event(st_ctx_t *t, const sim_event_t *ev,
                     const st_event_t *rec)
{
  if (ev->type == SIM_EV_ERROR && rec->id == 1) {
    /* While the bad worker is being killed, talk to the good one. */
    sim_worker_t *good = sim_cluster_find(&t->cluster, 2);
    for (int i = 0; i < ECHOES; i++) {
      char m[64];
      snprintf(m, sizeof(m), "{\"n\":%d}", i);
      TEST_CHECK(st_send(good, m) == 0, "send %d to the good worker", i);
      sent++;
    }
  }
  if (ev->type == SIM_EV_MESSAGE && ev->emitter == SIM_ON_CLUSTER &&
      rec->id == 2) {
    char want[64];
    snprintf(want, sizeof(want), "{\"echo\":{\"n\":%d}}", echoed);
    if (strcmp(rec->text, want) != 0)
      in_order = 0;
    echoed++;
  }
  if (ev->emitter == SIM_ON_CLUSTER && rec->id == 1 &&
      (ev->type == SIM_EV_EXIT || ev->type == SIM_EV_DISCONNECT))
    maybe_end(t);
  /* The Worker's `message` listener is the last one for a message. */
  if (ev->type == SIM_EV_MESSAGE && ev->emitter == SIM_ON_WORKER)
    maybe_end(t);
  if (ev->type == SIM_EV_EXIT && ev->emitter == SIM_ON_CLUSTER &&
      rec->id == 2)
    st_finish_after(t, 100);
}

static void row_body(void)
{
  static st_ctx_t t;
  const char *bad_args[] = { "--helper", NULL, NULL };
  static const char *const good_args[] = { "worker", "--messages", "echo",
                                           NULL };
  /* online, error, then the ordinary death of a SIGKILLed worker. */
  st_life_t bad = { 0, -1, 1, NULL, 1, 1, 1, 0, 0, -1, SIGKILL };
  static const st_life_t good = { 0, -1, 0, NULL, 1, 1, 1, 1, 1, 0, 0 };

  row = TEST_ROW(rows);
  bad_args[1] = row->helper;
  bad.error_code = row->code;
  st_init(&t, 0, st_self(), bad_args, on_event);
  (void)st_fork(&t);
  st_setup(&t, NULL, good_args);
  (void)st_fork(&t);
  st_run(&t, TIMEOUT_MS);
  st_check_pairs(&t);
  st_check_life(&t, 1, &bad);
  st_check_life(&t, 2, &good);
  TEST_CHECK(st_count(&t, 1, SIM_EV_ERROR, ST_ANY) == 1,
             "%d error events for the bad worker, want 1",
             st_count(&t, 1, SIM_EV_ERROR, ST_ANY));
  TEST_CHECK(st_count(&t, 2, SIM_EV_ERROR, ST_ANY) == 0,
             "the good worker got an error event");
  TEST_CHECK(sent == ECHOES && echoed == ECHOES && in_order,
             "good worker: sent %d, echoed %d, in order %d (want %d)", sent,
             echoed, in_order, ECHOES);
}

static void run_row(void)
{
  st_isolate(row_body, TIMEOUT_MS);
}

static CU_TestInfo table_tests[NROWS + 1];

int main(int argc, char **argv)
{
  CU_SuiteInfo suites[] = {
    { .pName = "bad-input", .pTests = table_tests },
    CU_SUITE_INFO_NULL,
  };

  static const test_role_t roles[] = {
    { "--helper", helper },
    { "--sim-worker", st_sim_worker },
    TEST_ROLES_END
  };

  TEST_ROWS_FILL(table_tests, rows, run_row);
  return test_main(argc, argv, suites, roles);
}
