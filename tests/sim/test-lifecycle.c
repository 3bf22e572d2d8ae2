/*
 * test-lifecycle.c - how a worker ends, as the primary sees it.
 *
 * One table row per way a worker ends, each observed on Node v20 first:
 * the worker's options, what the primary does once the
 * worker is listening (or online), and the exact life the primary must
 * record - event order per emitter, exitedAfterDisconnect, isConnected,
 * isDead, cluster.workers membership, exit code and signal, all sampled
 * inside the event callbacks. `disconnect` and `exit` may come in either
 * order (Node guarantees none); st_check_life() derives the flags for the
 * order seen.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "simtest.h"

#define TIMEOUT_MS 10000u

typedef enum {
  ACT_NONE,                  /* the worker acts on its own */
  ACT_DISCONNECT,            /* worker.disconnect() at listening */
  ACT_KILL,                  /* worker.kill() at listening */
  ACT_KILL_SIGKILL,          /* worker.kill('SIGKILL') at listening */
  ACT_EXTERNAL_SIGKILL,      /* process.kill(pid, 'SIGKILL') */
  ACT_FAULT,                 /* a fault (control socket) at listening */
  ACT_KILL_TRAPPED,          /* kill() that the worker ignores, then
                                {crash, code 0} once it answered a ping */
  ACT_DISCONNECT_LATER,      /* worker.disconnect() 300 ms after online */
  ACT_SEND_DISCONNECT,       /* a message, then worker.disconnect() */
  ACT_FAULT2,                /* two faults in a row */
  ACT_GROUP_SIGINT,          /* SIGINT to the process group (Ctrl-C) while
                                the primary handles SIGINT */
  ACT_DISCONNECT_FAULT       /* worker.disconnect() at listening, a fault
                                200 ms later (the server still closing) */
} action_t;

typedef struct {
  const char *name;
  const char *const *args;
  action_t action;
  const char *message;
  st_life_t life;
  const char *message2;      /* ACT_FAULT2 */
} row_t;

#define HTTP "worker", "--http", "127.0.0.1:0"

static const char *const a_http[] = { HTTP, NULL };
static const char *const a_trap[] = { HTTP, "--signal", "SIGTERM=ignore",
                                      NULL };
static const char *const a_kill[] = { HTTP, "--on-listening", "kill", NULL };
static const char *const a_exit3[] = { HTTP, "--on-listening", "exit:3",
                                       NULL };
static const char *const a_ipcd[] = { HTTP, "--on-listening",
                                      "ipc-disconnect", NULL };
static const char *const a_disc[] = { HTTP, "--on-listening", "disconnect",
                                      NULL };
static const char *const a_close[] = { HTTP, "--on-listening", "close",
                                       NULL };
static const char *const a_slow[] = { HTTP, "--close-delay", "800", NULL };

/* life: listening, ead at listening, errors, error code, online,
 *       disconnect, exit, ead, removed early, code, signal */
#define LIFE(l, el, ead, early, code, sig)                                \
  { l, el, 0, NULL, 1, 1, 1, ead, early, code, sig }

static const row_t rows[] = {
  /* Graceful primary disconnect. */
  { "primary_disconnect_exits_0_ead_true", a_http, ACT_DISCONNECT, NULL,
    LIFE(1, -1, 1, 1, 0, 0), NULL },
  /* Primary kill() is kill(2) only (Node >= 18). */
  { "primary_kill_sends_signal_only_ead_false", a_http, ACT_KILL, NULL,
    LIFE(1, -1, 0, 0, -1, SIGTERM), NULL },
  /* Primary kill('SIGKILL'): the signal, no disconnect first. */
  { "primary_kill_sigkill_ead_false", a_http, ACT_KILL_SIGKILL, NULL,
    LIFE(1, -1, 0, 0, -1, SIGKILL), NULL },
  /* The worker traps SIGTERM, stays connected, exits 0 later. */
  { "primary_kill_trapped_worker_exits_0_ead_false", a_trap,
    ACT_KILL_TRAPPED, NULL, LIFE(1, -1, 0, 0, 0, 0), NULL },
  /* cluster.worker.kill() inside the listen callback; the
   * exitedAfterDisconnect message overtakes `listening`. */
  { "worker_side_kill_exits_0_ead_true", a_kill, ACT_NONE, NULL,
    LIFE(1, 1, 1, 0, 0, 0), NULL },
  /* process.exit(3) in the listen callback: no `listening`. */
  { "worker_exit_in_listen_cb_no_listening_event", a_exit3, ACT_NONE, NULL,
    LIFE(0, -1, 0, 0, 3, 0), NULL },
  /* SIGKILL from outside the cluster. */
  { "external_sigkill_ead_false", a_http, ACT_EXTERNAL_SIGKILL, NULL,
    LIFE(1, -1, 0, 0, -1, SIGKILL), NULL },
  /* Uncaught exception. */
  { "uncaught_throw_exits_1_ead_false", a_http, ACT_FAULT,
    "{\"cmd\":\"throw\"}", LIFE(1, -1, 0, 0, 1, 0), NULL },
  /* process.disconnect() in the listen callback. */
  { "process_disconnect_exits_0_ead_false", a_ipcd, ACT_NONE, NULL,
    LIFE(0, -1, 0, 0, 0, 0), NULL },
  /* cluster.worker.disconnect() in the listen callback. */
  { "worker_disconnect_in_listen_cb_exits_0_ead_true", a_disc, ACT_NONE,
    NULL, LIFE(0, -1, 1, 0, 0, 0), NULL },
  /* server.close() in the listen callback: no `listening`. */
  { "worker_close_in_listen_cb_no_listening_event", a_close,
    ACT_DISCONNECT_LATER, NULL, LIFE(0, -1, 1, 1, 0, 0), NULL },
  /* As Node's test/parallel/test-cluster-worker-death.js. */
  { "worker_exit_42_ead_false", a_http, ACT_FAULT,
    "{\"cmd\":\"crash\",\"code\":42}", LIFE(1, -1, 0, 0, 42, 0), NULL },
  /* As Node's test-cluster-kill-disconnect.js, disconnect half. */
  { "worker_side_disconnect_exits_0_ead_true", a_http, ACT_FAULT,
    "{\"cmd\":\"disconnect\"}", LIFE(1, -1, 1, 0, 0, 0), NULL },
  /* As Node's test-cluster-kill-disconnect.js, kill half. */
  { "worker_side_kill_after_listening_exits_0_ead_true", a_http, ACT_FAULT,
    "{\"cmd\":\"kill\"}", LIFE(1, -1, 1, 0, 0, 0), NULL },
  /* As Node's test-cluster-process-disconnect.js. */
  { "process_disconnect_after_listening_exits_0_ead_false", a_http,
    ACT_FAULT, "{\"cmd\":\"ipc-disconnect\"}", LIFE(1, -1, 0, 0, 0, 0), NULL },
  /* As Node's test-cluster-invalid-message.js: an internal message with a
   * bogus ack changes nothing. */
  { "invalid_cluster_message_ignored_exits_0", a_http, ACT_SEND_DISCONNECT,
    "{\"cmd\":\"NODE_CLUSTER\",\"ack\":-1}", LIFE(1, -1, 1, 1, 0, 0), NULL },
  /* As Node's test-cluster-concurrent-disconnect.js: disconnect() then
   * kill() in the worker; the state guard keeps it one clean exit. */
  { "worker_side_disconnect_then_kill_exits_0_ead_true", a_http, ACT_FAULT2,
    "{\"cmd\":\"disconnect\"}", LIFE(1, -1, 1, 0, 0, 0),
    "{\"cmd\":\"kill\"}" },
  /* The primary's disconnect waits for a slow server close; the worker's
   * own disconnect (or process.disconnect()) closes the channel first, so
   * the primary's, ending, meets a closed channel: ERR_IPC_DISCONNECTED,
   * uncaught in a worker without an 'error' listener. */
  { "primary_then_worker_disconnect_exits_1_ead_true", a_slow,
    ACT_DISCONNECT_FAULT, "{\"cmd\":\"disconnect\"}",
    LIFE(1, -1, 1, 1, 1, 0), NULL },
  { "primary_disconnect_then_process_disconnect_exits_1_ead_true", a_slow,
    ACT_DISCONNECT_FAULT, "{\"cmd\":\"ipc-disconnect\"}",
    LIFE(1, -1, 1, 1, 1, 0), NULL },
  /* Workers share the primary's process group, so Ctrl-C kills
   * them even though the primary handles SIGINT. */
  { "group_sigint_kills_workers_primary_survives", a_http, ACT_GROUP_SIGINT,
    NULL, LIFE(1, -1, 0, 0, -1, SIGINT), NULL },
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))

static const row_t *row;
static sim_worker_t *worker;
static int pongs;
static uv_signal_t sigint;
static int sigints;

static void on_sigint(uv_signal_t *h, int signum)
{
  sigints++;
}

static void close_sigint(st_ctx_t *t)
{
  uv_close((uv_handle_t *)&sigint, NULL);
}

static void exit_overdue(st_ctx_t *t, void *arg);

static void act_later(st_ctx_t *t, void *arg)
{
  (void)sim_worker_disconnect(worker);
}

static void fault_later(st_ctx_t *t, void *arg)
{
  int err = st_fault(t, 1, row->message);

  TEST_CHECK(err == 0, "%s: fault failed: %s", row->name, uv_strerror(err));
}

static void act(st_ctx_t *t)
{
  int err = 0;

  switch (row->action) {
  case ACT_NONE:
  case ACT_DISCONNECT_LATER:
    break;
  case ACT_DISCONNECT_FAULT:
    st_timer(t, 200, fault_later, NULL);
    /* fall through */
  case ACT_DISCONNECT:
    err = sim_worker_disconnect(worker);
    /* Out of cluster.workers as soon as the call returns. */
    TEST_CHECK(!sim_worker_in_workers(worker) &&
               sim_cluster_worker(&t->cluster, 1) == NULL &&
               sim_cluster_count(&t->cluster) == 0,
               "still in cluster.workers right after worker.disconnect()");
    TEST_CHECK(sim_worker_exited_after_disconnect(worker) == 1,
               "exitedAfterDisconnect is %d right after worker.disconnect()",
               sim_worker_exited_after_disconnect(worker));
    break;
  case ACT_KILL:
  case ACT_KILL_SIGKILL:
  case ACT_KILL_TRAPPED:
    err = sim_worker_kill(worker,
                          row->action == ACT_KILL_SIGKILL ? SIGKILL : 0);
    /* No disconnect first, flag untouched. */
    TEST_CHECK(sim_worker_is_connected(worker) == 1 &&
               sim_worker_exited_after_disconnect(worker) == -1 &&
               sim_worker_in_workers(worker) == 1,
               "after kill(): isConnected=%d ead=%d inWorkers=%d, want 1 -1 1",
               sim_worker_is_connected(worker),
               sim_worker_exited_after_disconnect(worker),
               sim_worker_in_workers(worker));
    if (row->action == ACT_KILL_TRAPPED)
      err = st_send(worker, "{\"clustersim\":\"ping\",\"n\":1}");
    break;
  case ACT_EXTERNAL_SIGKILL:
    err = kill(sim_worker_pid(worker), SIGKILL) == 0 ? 0 : UV_ESRCH;
    break;
  case ACT_FAULT:
    err = st_fault(t, 1, row->message);
    break;
  case ACT_SEND_DISCONNECT:
    err = st_send(worker, row->message);
    if (err == 0)
      err = sim_worker_disconnect(worker);
    break;
  case ACT_FAULT2:
    err = st_fault(t, 1, row->message);
    if (err == 0)
      err = st_fault(t, 1, row->message2);
    break;
  case ACT_GROUP_SIGINT:
    /* Only inside the isolated case, which leads its own group. */
    TEST_CHECK(getpgrp() == getpid(), "not a process group leader");
    if (getpgrp() == getpid())
      err = kill(0, SIGINT) == 0 ? 0 : UV_ESRCH;
    break;
  }
  TEST_CHECK(err == 0, "%s: action failed: %s", row->name, uv_strerror(err));
}

static void on_event(st_ctx_t *t, const sim_event_t *ev,
                     const st_event_t *rec)
{
  if (ev->type == SIM_EV_ONLINE && ev->emitter == SIM_ON_WORKER &&
      row->action == ACT_DISCONNECT_LATER)
    st_timer(t, 300, act_later, NULL);
  /* After the last listener, so both emitters saw the same flags. */
  if (ev->type == SIM_EV_LISTENING && ev->emitter == SIM_ON_CLUSTER)
    act(t);
  if (ev->type == SIM_EV_MESSAGE && ev->emitter == SIM_ON_CLUSTER &&
      strstr(rec->text, "\"pong\"") != NULL) {
    /* The worker ignored SIGTERM: still alive and connected. */
    pongs++;
    TEST_CHECK(rec->conn == 1 && rec->dead == 0,
               "pong after an ignored SIGTERM with conn=%d dead=%d", rec->conn,
               rec->dead);
    TEST_CHECK(st_fault(t, 1, "{\"cmd\":\"crash\",\"code\":0}") == 0,
               "send crash");
  }
  if (ev->type == SIM_EV_DISCONNECT && ev->emitter == SIM_ON_CLUSTER &&
      row->life.exit)
    st_timer(t, 3000, exit_overdue, NULL);
  /* Done once both ends are in; a short grace catches anything extra. */
  if ((ev->type == SIM_EV_EXIT || ev->type == SIM_EV_DISCONNECT) &&
      ev->emitter == SIM_ON_CLUSTER &&
      st_count(t, 1, SIM_EV_EXIT, SIM_ON_CLUSTER) == 1 &&
      st_count(t, 1, SIM_EV_DISCONNECT, SIM_ON_CLUSTER) == 1)
    st_finish_after(t, 100);
}

/* A worker that never exits after its disconnect fails here rather than at
 * the watchdog, with the reason. */
static void exit_overdue(st_ctx_t *t, void *arg)
{
  if (st_count(t, 1, SIM_EV_EXIT, SIM_ON_CLUSTER) > 0)
    return;
  TEST_CHECK(0, "worker 1 still alive 3 s after its disconnect (expected "
              "exit code %lld signal %d)", (long long)row->life.code,
             row->life.sig);
  st_finish(t);
}

static void run_case(const char *exec)
{
  static st_ctx_t t;

  st_init(&t, 0, exec, row->args, on_event);
  if (row->action == ACT_GROUP_SIGINT) {
    /* The primary traps SIGINT, as a Node primary with a handler does. */
    uv_signal_init(&t.loop, &sigint);
    uv_signal_start(&sigint, on_sigint, SIGINT);
    t.on_finish = close_sigint;
  }
  worker = st_fork(&t);
  st_run(&t, TIMEOUT_MS);
  if (row->action == ACT_GROUP_SIGINT)
    TEST_CHECK(sigints == 1, "the primary saw %d SIGINTs, want 1", sigints);
  st_check_pairs(&t);
  st_check_life(&t, 1, &row->life);
  if (row->action == ACT_KILL_TRAPPED)
    TEST_CHECK(pongs == 1, "pongs=%d, want 1", pongs);
  /* setup (from st_init) + setup (from fork) */
  TEST_CHECK(st_count(&t, 0, SIM_EV_SETUP, SIM_ON_CLUSTER) == 2,
             "setup events: %d, want 2",
             st_count(&t, 0, SIM_EV_SETUP, SIM_ON_CLUSTER));
}

static void row_body(void)
{
  row = TEST_ROW(rows);
  if (row == NULL) {
    CU_FAIL("no table row for this test");
    return;
  }
  run_case(NULL);
}

static void run_row(void)
{
  st_isolate(row_body, TIMEOUT_MS);
}

/* ---------------------------------------------------------------------- */
/* The same rule against the library alone: this program as a worker on   */
/* sim_child_* with no agent logic, trusting the library's own exit(0)     */
/* after `disconnect` (sim.h: will_exit).                                  */

static const char *const l_kill[] = { "--sim-worker", "kill-in-listen-cb",
                                      NULL };
static const char *const l_ipcd[] = { "--sim-worker",
                                      "ipc-disconnect-in-listen-cb", NULL };
static const char *const l_disc[] = { "--sim-worker",
                                      "disconnect-in-listen-cb", NULL };

static const row_t lib_rows[] = {
  /* Node's kill() exits on the disconnect that follows, even
   * though `listening` went out in between. */
  { "sim_child_kill_in_listen_cb_exits_0_ead_true", l_kill, ACT_NONE, NULL,
    LIFE(1, 1, 1, 0, 0, 0), NULL },
  /* The library's own exit(0) on an unexpected disconnect. */
  { "sim_child_channel_close_in_listen_cb_exits_0_ead_false", l_ipcd,
    ACT_NONE, NULL, LIFE(0, -1, 0, 0, 0, 0), NULL },
  /* No exit by the library; the loop runs dry. */
  { "sim_child_disconnect_in_listen_cb_exits_0_ead_true", l_disc, ACT_NONE,
    NULL, LIFE(0, -1, 1, 0, 0, 0), NULL },
};

#define NLIBROWS (sizeof(lib_rows) / sizeof(lib_rows[0]))

static void lib_row_body(void)
{
  row = TEST_ROW(lib_rows);
  if (row == NULL) {
    CU_FAIL("no table row for this test");
    return;
  }
  run_case(st_self());
}

static void run_lib_row(void)
{
  st_isolate(lib_row_body, TIMEOUT_MS);
}

/* ---------------------------------------------------------------------- */
/* cluster.disconnect(cb) with 3 listening workers                         */

static int dcb_calls;
static size_t dcb_at;          /* events recorded when cb ran */
static int dcb_dead;           /* workers dead when cb ran */
static int dcb_exits;          /* cluster:exit events before cb */

static void on_cluster_disconnected(sim_cluster_t *c, void *arg)
{
  st_ctx_t *t = arg;
  int dead = 0;

  dcb_calls++;
  dcb_at = t->nev;
  for (unsigned id = 1; id <= 3; id++)
    dead += sim_worker_is_dead(sim_cluster_find(c, id));
  dcb_dead = dead;
  dcb_exits = st_count(t, 0, SIM_EV_EXIT, SIM_ON_CLUSTER);
  TEST_CHECK(sim_cluster_count(c) == 0, "cluster.workers not empty at cb");
  st_mark(t, ST_EV_DISCONNECT_CB, 0, NULL);
}

static void on_event_g(st_ctx_t *t, const sim_event_t *ev,
                       const st_event_t *rec)
{
  if (ev->type == SIM_EV_LISTENING && ev->emitter == SIM_ON_CLUSTER &&
      st_count(t, 0, SIM_EV_LISTENING, SIM_ON_CLUSTER) == 3) {
    int err = sim_cluster_disconnect(&t->cluster, on_cluster_disconnected, t);
    TEST_CHECK(err == 0, "cluster.disconnect: %s", uv_strerror(err));
    TEST_CHECK(dcb_calls == 0, "cluster.disconnect cb ran synchronously");
    TEST_CHECK(sim_cluster_count(&t->cluster) == 0,
               "cluster.workers has %u members right after cluster."
               "disconnect()", sim_cluster_count(&t->cluster));
  }
  if (ev->type == SIM_EV_EXIT && ev->emitter == SIM_ON_CLUSTER &&
      st_count(t, 0, SIM_EV_EXIT, SIM_ON_CLUSTER) == 3)
    st_finish_after(t, 100);
}

static void cluster_disconnect_body(void)
{
  static const char *const args[] = { HTTP, NULL };
  static const st_life_t life = LIFE(1, -1, 1, 1, 0, 0);
  static st_ctx_t t;
  const st_event_t *next;

  st_init(&t, 0, NULL, args, on_event_g);
  for (int i = 0; i < 3; i++)
    (void)st_fork(&t);
  st_run(&t, TIMEOUT_MS);
  st_check_pairs(&t);
  for (unsigned id = 1; id <= 3; id++)
    st_check_life(&t, id, &life);
  TEST_CHECK(dcb_calls == 1, "cluster.disconnect cb ran %d times, want 1",
             dcb_calls);
  /* Node v20: the callback runs at the first removeWorker() after the
   * call, i.e. inside the first worker's exit (or late disconnect)
   * handler, before that worker's own events - not after all exits. */
  TEST_CHECK(dcb_dead >= 1, "no worker dead when the cb ran");
  TEST_CHECK(dcb_exits < 3, "cb ran after every worker had exited");
  next = dcb_at + 1 < t.nev ? &t.ev[dcb_at + 1] : NULL;
  TEST_CHECK(next != NULL && next->emitter == SIM_ON_WORKER &&
             (next->type == SIM_EV_EXIT || next->type == SIM_EV_DISCONNECT) &&
             next->dead == 1,
             "the event right after the cb is not the final event of the "
             "worker whose exit triggered it");
}

static void cluster_disconnect_cb_fires_at_first_exit(void)
{
  st_isolate(cluster_disconnect_body, TIMEOUT_MS);
}

/* cluster.disconnect(cb) with no workers: cb asynchronous, once
 * (Node's test-cluster-disconnect-with-no-workers.js). */
static void on_no_workers_cb(sim_cluster_t *c, void *arg)
{
  st_ctx_t *t = arg;

  dcb_calls++;
  st_finish_after(t, 50);
}

static void no_workers_body(void)
{
  static const char *const args[] = { HTTP, NULL };
  static st_ctx_t t;
  int err;

  st_init(&t, 0, NULL, args, NULL);
  err = sim_cluster_disconnect(&t.cluster, on_no_workers_cb, &t);
  TEST_CHECK(err == 0, "cluster.disconnect: %s", uv_strerror(err));
  TEST_CHECK(dcb_calls == 0, "cb ran synchronously");
  st_run(&t, TIMEOUT_MS);
  TEST_CHECK(dcb_calls == 1, "cb ran %d times, want 1", dcb_calls);
}

static void cluster_disconnect_no_workers_cb_async(void)
{
  st_isolate(no_workers_body, TIMEOUT_MS);
}

/* ---------------------------------------------------------------------- */
/* setup/fork order, ids never reused                                     */

static sim_worker_t *third;
static unsigned third_id;

static void on_event_ids(st_ctx_t *t, const sim_event_t *ev,
                         const st_event_t *rec)
{
  if (ev->type == SIM_EV_ONLINE && ev->emitter == SIM_ON_CLUSTER &&
      rec->id <= 2 && st_count(t, 0, SIM_EV_ONLINE, SIM_ON_CLUSTER) == 2)
    (void)sim_cluster_disconnect(&t->cluster, NULL, NULL);
  if (ev->type == SIM_EV_EXIT && ev->emitter == SIM_ON_CLUSTER) {
    if (rec->id <= 2 && third == NULL &&
        st_count(t, 0, SIM_EV_EXIT, SIM_ON_CLUSTER) == 2)
      third = st_fork(t), third_id = sim_worker_id(third);
    else if (rec->id == 3)
      st_finish_after(t, 50);
  }
  if (ev->type == SIM_EV_ONLINE && ev->emitter == SIM_ON_CLUSTER &&
      rec->id == 3)
    (void)sim_worker_disconnect(ev->worker);
}

static void ids_body(void)
{
  /* An idle worker: online, no server, stays up until disconnected. */
  static const char *const args[] = { "worker", NULL };
  static const st_life_t life = { 0, -1, 0, NULL, 1, 1, 1, 1, 1, 0, 0 };
  static st_ctx_t t;
  sim_worker_t *a, *b;
  int k = 0;

  st_init(&t, 0, NULL, args, on_event_ids);
  a = st_fork(&t);
  b = st_fork(&t);
  TEST_CHECK(sim_worker_id(a) == 1 && sim_worker_id(b) == 2,
             "first ids %u %u, want 1 2", sim_worker_id(a), sim_worker_id(b));
  TEST_CHECK(sim_cluster_count(&t.cluster) == 2 &&
             sim_cluster_worker(&t.cluster, 1) == a &&
             sim_cluster_worker(&t.cluster, 2) == b,
             "fork() adds to cluster.workers synchronously");
  TEST_CHECK(st_count(&t, 0, SIM_EV_FORK, ST_ANY) == 0,
             "fork emitted synchronously");
  st_run(&t, TIMEOUT_MS);
  st_check_pairs(&t);
  /* By construction: setup (st_init), setup, fork#1, setup, fork#2. */
  {
    static const int want[][2] = {
      { SIM_EV_SETUP, 0 }, { SIM_EV_SETUP, 0 }, { SIM_EV_FORK, 1 },
      { SIM_EV_SETUP, 0 }, { SIM_EV_FORK, 2 },
    };
    for (size_t i = 0; i < t.nev && k < 5; i++) {
      if (t.ev[i].type != SIM_EV_SETUP && t.ev[i].type != SIM_EV_FORK)
        continue;
      TEST_CHECK(t.ev[i].type == want[k][0] &&
                     t.ev[i].id == (unsigned)want[k][1],
                 "setup/fork #%d: got %s #%u, want %s #%d", k,
                 st_event_name(t.ev[i].type), t.ev[i].id,
                 st_event_name(want[k][0]), want[k][1]);
      k++;
    }
    TEST_CHECK(k == 5, "only %d setup/fork events before the third fork", k);
  }
  TEST_CHECK(third_id == 3,
             "the fork after two deaths got id %u, want 3 (never reused)",
             third_id);
  for (unsigned id = 1; id <= 3; id++)
    st_check_life(&t, id, &life);
}

static void setup_fork_order_ids_never_reused(void)
{
  st_isolate(ids_body, TIMEOUT_MS);
}

/* ---------------------------------------------------------------------- */
/* A spawn that fails (as child_process.fork() does)                       */

static void spawn_fail_body(void)
{
  static const char *const args[] = { "worker", NULL };
  static st_ctx_t t;
  int e, f, d;

  st_init(&t, 0, "/nonexistent/clustersim", args, NULL);
  (void)st_fork(&t);
  st_finish_after(&t, 300);
  st_run(&t, TIMEOUT_MS);
  st_check_pairs(&t);
  /* Observed with node v20.20.2 (process.execPath = '/nonexistent/x'):
   *   cluster:setup, cluster:setup,
   *   worker:error ENOENT {dead=true inWorkers=true ead=undefined},
   *   cluster:fork {inWorkers=true},
   *   worker:disconnect, cluster:disconnect {ead=false conn=false
   *     dead=true inWorkers=false state=disconnected},
   *   no exit; cluster.workers empty; exitCode -2. */
  e = st_find(&t, 1, SIM_EV_ERROR, SIM_ON_WORKER);
  f = st_find(&t, 1, SIM_EV_FORK, SIM_ON_CLUSTER);
  d = st_find(&t, 1, SIM_EV_DISCONNECT, SIM_ON_WORKER);
  TEST_CHECK(e >= 0 && strcmp(t.ev[e].text, "ENOENT") == 0,
             "no worker:error ENOENT");
  TEST_CHECK(e >= 0 && t.ev[e].dead == 1 && t.ev[e].in_workers == 1 &&
             t.ev[e].ead == -1,
             "at error: dead=%d inWorkers=%d ead=%d, want 1 1 -1",
             e >= 0 ? t.ev[e].dead : -9, e >= 0 ? t.ev[e].in_workers : -9,
             e >= 0 ? t.ev[e].ead : -9);
  TEST_CHECK(f >= 0 && e >= 0 && e < f, "error does not precede fork");
  TEST_CHECK(f >= 0 && t.ev[f].in_workers == 1,
             "at fork after a failed spawn: inWorkers=%d, want 1 (Node)",
             f >= 0 ? t.ev[f].in_workers : -9);
  TEST_CHECK(d >= 0 && d > f, "no disconnect after the failed spawn (Node "
                            "emits one)");
  if (d >= 0)
    TEST_CHECK(t.ev[d].ead == 0 && t.ev[d].conn == 0 && t.ev[d].dead == 1 &&
               t.ev[d].in_workers == 0 &&
               strcmp(t.ev[d].state, "disconnected") == 0,
               "at disconnect: ead=%d conn=%d dead=%d in=%d state=%s",
               t.ev[d].ead, t.ev[d].conn, t.ev[d].dead, t.ev[d].in_workers,
               t.ev[d].state);
  TEST_CHECK(st_count(&t, 1, SIM_EV_EXIT, ST_ANY) == 0,
             "exit after a failed spawn (Node emits none)");
  TEST_CHECK(st_count(&t, 1, SIM_EV_ONLINE, ST_ANY) == 0, "online");
}

static void fork_spawn_failure_error_then_disconnect(void)
{
  st_isolate(spawn_fail_body, TIMEOUT_MS);
}

/* ---------------------------------------------------------------------- */
/* A worker with an open outbound connection outlives disconnect           */
/* (Node's test-cluster-worker-no-exit.js)                                 */

static uv_tcp_t lsn;
static uv_tcp_t *held;
static int alive_checked;

static void held_closed(uv_handle_t *h)
{
  free(h);
}

static void check_alive(st_ctx_t *t, void *arg)
{
  sim_worker_t *w = arg;

  alive_checked = 1;
  TEST_CHECK(!sim_worker_is_dead(w) && kill(sim_worker_pid(w), 0) == 0,
             "worker exited while its outbound connection was open");
  /* Ending the connection lets it go. */
  if (held != NULL) {
    uv_close((uv_handle_t *)held, held_closed);
    held = NULL;
  }
}

static void on_held(uv_stream_t *server, int status)
{
  st_ctx_t *t = server->data;
  uv_tcp_t *c = malloc(sizeof(*c));

  if (status != 0 || c == NULL) {
    free(c);
    return;
  }
  uv_tcp_init(server->loop, c);
  if (uv_accept(server, (uv_stream_t *)c) != 0) {
    uv_close((uv_handle_t *)c, held_closed);
    return;
  }
  held = c;
  (void)sim_worker_disconnect(sim_cluster_find(&t->cluster, 1));
}

static void noexit_cleanup(st_ctx_t *t)
{
  if (held != NULL) {
    uv_close((uv_handle_t *)held, held_closed);
    held = NULL;
  }
  if (!uv_is_closing((uv_handle_t *)&lsn))
    uv_close((uv_handle_t *)&lsn, NULL);
}

static void on_event_noexit(st_ctx_t *t, const sim_event_t *ev,
                            const st_event_t *rec)
{
  if (ev->type == SIM_EV_ONLINE && ev->emitter == SIM_ON_CLUSTER) {
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    char msg[128];
    uv_tcp_getsockname(&lsn, (struct sockaddr *)&ss, &len);
    snprintf(msg, sizeof(msg),
             "{\"cmd\":\"hold\",\"connections\":1,\"port\":%d}",
             ntohs(((struct sockaddr_in *)&ss)->sin_port));
    TEST_CHECK(st_fault(t, 1, msg) == 0, "hold fault");
  }
  if (ev->type == SIM_EV_DISCONNECT && ev->emitter == SIM_ON_CLUSTER)
    st_timer(t, 300, check_alive, ev->worker);
  if (ev->type == SIM_EV_EXIT && ev->emitter == SIM_ON_CLUSTER)
    st_finish_after(t, 50);
}

static void no_exit_body(void)
{
  static const char *const args[] = { "worker", NULL };
  static const st_life_t life = { 0, -1, 0, NULL, 1, 1, 1, 1, 1, 0, 0 };
  struct sockaddr_in sa;
  static st_ctx_t t;

  st_init(&t, 0, NULL, args, on_event_noexit);
  t.on_finish = noexit_cleanup;
  uv_tcp_init(&t.loop, &lsn);
  lsn.data = &t;
  uv_ip4_addr("127.0.0.1", 0, &sa);
  uv_tcp_bind(&lsn, (struct sockaddr *)&sa, 0);
  uv_listen((uv_stream_t *)&lsn, 8, on_held);
  (void)st_fork(&t);
  st_run(&t, TIMEOUT_MS);
  st_check_pairs(&t);
  st_check_life(&t, 1, &life);
  TEST_CHECK(alive_checked, "the 300 ms check after disconnect never ran "
                          "(the worker exited at once)");
}

static void worker_no_exit_while_outbound_connection_open(void)
{
  st_isolate(no_exit_body, TIMEOUT_MS);
}

/* ---------------------------------------------------------------------- */
/* worker.send() after disconnect: returns false, then an                  */
/* asynchronous `error` ERR_IPC_CHANNEL_CLOSED - or cb(err) instead        */

static int late_cb_calls;
static int late_cb_status = 1;
static size_t late_at;

static void on_late_cb(int status, void *arg)
{
  late_cb_calls++;
  late_cb_status = status;
}

static void on_event_late(st_ctx_t *t, const sim_event_t *ev,
                          const st_event_t *rec)
{
  cJSON *m;
  int err;

  if (ev->type == SIM_EV_ONLINE && ev->emitter == SIM_ON_CLUSTER)
    (void)sim_worker_disconnect(ev->worker);
  if (ev->type != SIM_EV_DISCONNECT || ev->emitter != SIM_ON_CLUSTER)
    return;
  late_at = t->nev;
  err = st_send(ev->worker, "{\"late\":1}");
  TEST_CHECK(err == UV_EPIPE, "send after disconnect: %s, want EPIPE",
             uv_err_name(err));
  TEST_CHECK(t->nev == late_at, "error emitted synchronously by send()");
  m = cJSON_Parse("{\"late\":2}");
  err = sim_worker_send(ev->worker, m, NULL, on_late_cb, NULL);
  cJSON_Delete(m);
  TEST_CHECK(err == UV_EPIPE, "send(cb) after disconnect: %s, want EPIPE",
             uv_err_name(err));
  TEST_CHECK(late_cb_calls == 0, "send callback ran synchronously");
  st_finish_after(t, 300);
}

static void late_send_body(void)
{
  static const char *const args[] = { "worker", NULL };
  static st_ctx_t t;
  int e;

  st_init(&t, 0, NULL, args, on_event_late);
  (void)st_fork(&t);
  st_run(&t, TIMEOUT_MS);
  st_check_pairs(&t);
  e = st_find(&t, 1, SIM_EV_ERROR, ST_ANY);
  TEST_CHECK(st_count(&t, 1, SIM_EV_ERROR, ST_ANY) == 1,
             "%d error events, want 1 (the send without a callback)",
             st_count(&t, 1, SIM_EV_ERROR, ST_ANY));
  TEST_CHECK(e >= 0 && (size_t)e >= late_at &&
             strcmp(t.ev[e].text, "ERR_IPC_CHANNEL_CLOSED") == 0,
             "no asynchronous ERR_IPC_CHANNEL_CLOSED after the late send");
  TEST_CHECK(late_cb_calls == 1 && late_cb_status == UV_EPIPE,
             "send callback: %d calls, status %d, want 1 call with EPIPE",
             late_cb_calls, late_cb_status);
  TEST_CHECK(st_count(&t, 1, SIM_EV_EXIT, SIM_ON_CLUSTER) == 1,
             "worker did not exit");
}

static void send_after_disconnect_error_channel_closed(void)
{
  st_isolate(late_send_body, TIMEOUT_MS);
}

/* ---------------------------------------------------------------------- */
/* `disconnect` before `exit` when both are pending at once                */
/*                                                                         */
/* Node emits `disconnect` on process.nextTick right after reading the     */
/* channel's EOF, so when EOF and SIGCHLD are both ready in one poll (the  */
/* primary's loop was busy while the worker died), `disconnect` always     */
/* comes first: observed with node v20.20.2, 8/8 runs (a primary that      */
/* blocks 300 ms with Atomics.wait right after telling its worker to       */
/* process.exit(3)).                                                       */

static void block_loop(unsigned ms)
{
  struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

  while (nanosleep(&ts, &ts) != 0)
    ;
}

static void on_event_pending(st_ctx_t *t, const sim_event_t *ev,
                             const st_event_t *rec)
{
  if (ev->type == SIM_EV_LISTENING && ev->emitter == SIM_ON_CLUSTER) {
    TEST_CHECK(st_fault(t, 1, "{\"cmd\":\"crash\",\"code\":3}") == 0,
               "crash fault");
    /* The worker dies while this loop is busy. */
    block_loop(300);
  }
  if ((ev->type == SIM_EV_EXIT || ev->type == SIM_EV_DISCONNECT) &&
      ev->emitter == SIM_ON_CLUSTER &&
      st_count(t, 1, SIM_EV_EXIT, SIM_ON_CLUSTER) == 1 &&
      st_count(t, 1, SIM_EV_DISCONNECT, SIM_ON_CLUSTER) == 1)
    st_finish_after(t, 50);
}

static void pending_body(void)
{
  static const char *const args[] = { HTTP, NULL };
  static const st_life_t life = LIFE(1, -1, 0, 0, 3, 0);
  static st_ctx_t t;
  int d, e;

  st_init(&t, 0, NULL, args, on_event_pending);
  (void)st_fork(&t);
  st_run(&t, TIMEOUT_MS);
  st_check_pairs(&t);
  st_check_life(&t, 1, &life);
  d = st_find(&t, 1, SIM_EV_DISCONNECT, SIM_ON_WORKER);
  e = st_find(&t, 1, SIM_EV_EXIT, SIM_ON_WORKER);
  TEST_CHECK(d >= 0 && e >= 0 && d < e,
             "`exit` emitted before `disconnect` although the channel's EOF "
             "was read first (Node: disconnect on nextTick after the EOF)");
}

static void disconnect_before_exit_when_both_pending(void)
{
  st_isolate(pending_body, TIMEOUT_MS);
}

/* ---------------------------------------------------------------------- */

static CU_TestInfo table_tests[NROWS + 1];

static CU_TestInfo lib_tests[NLIBROWS + 1];

static CU_TestInfo other_tests[] = {
  { "cluster_disconnect_cb_fires_at_first_exit",
    cluster_disconnect_cb_fires_at_first_exit },
  { "cluster_disconnect_no_workers_cb_async",
    cluster_disconnect_no_workers_cb_async },
  { "setup_fork_order_ids_never_reused", setup_fork_order_ids_never_reused },
  { "fork_spawn_failure_error_then_disconnect",
    fork_spawn_failure_error_then_disconnect },
  { "worker_no_exit_while_outbound_connection_open",
    worker_no_exit_while_outbound_connection_open },
  { "send_after_disconnect_error_channel_closed",
    send_after_disconnect_error_channel_closed },
  { "disconnect_before_exit_when_both_pending",
    disconnect_before_exit_when_both_pending },
  CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
  CU_SuiteInfo suites[] = {
    { .pName = "lifecycle-table", .pTests = table_tests },
    { .pName = "lifecycle-library", .pTests = lib_tests },
    { .pName = "lifecycle", .pTests = other_tests },
    CU_SUITE_INFO_NULL,
  };

  TEST_ROWS_FILL(table_tests, rows, run_row);
  TEST_ROWS_FILL(lib_tests, lib_rows, run_lib_row);
  return test_main(argc, argv, suites, st_roles);
}
