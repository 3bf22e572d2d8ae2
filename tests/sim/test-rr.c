/*
 * test-rr.c - connection distribution, with real
 * TCP clients on the primary's loop.
 *
 * Round-robin: a worker has at most one connection in flight; idle
 * workers take connections in strict rotation; with no worker left on a
 * handle its listening socket is closed and connections are refused; a
 * connection handed to a worker that dies before acknowledging it is
 * leaked and the worker gets `exit` without `disconnect`.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "simtest.h"

#define TIMEOUT_MS 10000u
#define HTTP "worker", "--http", "127.0.0.1:0"

static const char *const a_http[] = { HTTP, NULL };

/* A worker gone on purpose: leaves by primary disconnect, exit 0. */
static const st_life_t life_disconnected = { 1, -1, 0, NULL, 1, 1, 1, 1, 1,
                                             0, 0 };
/* A worker SIGKILLed with a newconn handle not yet acknowledged. */
static const st_life_t life_inflight_kill = { 1, -1, 0, NULL, 1, 0, 1, 0, 0,
                                              -1, SIGKILL };

static st_client_t clients[ST_MAX_CLIENTS];
static int port;

/* ---------------------------------------------------------------------- */
/* Strict rotation among idle workers                                      */

#define ROUNDS 12
static int seq[ROUNDS];
static int nseq;

static void next_request(st_ctx_t *t);

static void on_rotation_done(st_client_t *c)
{
  st_ctx_t *t = c->ctx;

  TEST_CHECK(c->status == 0 && c->eof,
             "request %d: status=%s eof=%d", nseq, uv_err_name(c->status),
             c->eof);
  seq[nseq++] = c->worker;
  if (nseq < ROUNDS)
    next_request(t);
  else
    (void)sim_cluster_disconnect(&t->cluster, NULL, NULL);
}

static void next_request(st_ctx_t *t)
{
  /* One at a time: every worker is idle again when the next comes. */
  TEST_CHECK(st_client_get(t, &clients[nseq], port, on_rotation_done) == 0,
             "client %d", nseq);
}

static void on_event_rotation(st_ctx_t *t, const sim_event_t *ev,
                              const st_event_t *rec)
{
  if (ev->type == SIM_EV_LISTENING && ev->emitter == SIM_ON_CLUSTER &&
      st_count(t, 0, SIM_EV_LISTENING, SIM_ON_CLUSTER) == 3) {
    port = rec->port;
    next_request(t);
  }
  if (ev->type == SIM_EV_EXIT && ev->emitter == SIM_ON_CLUSTER &&
      st_count(t, 0, SIM_EV_EXIT, SIM_ON_CLUSTER) == 3)
    st_finish_after(t, 50);
}

static void rotation_body(void)
{
  static st_ctx_t t;
  int count[4] = { 0 };
  char got[128] = "";

  st_init(&t, SIM_SCHED_RR, NULL, a_http, on_event_rotation);
  for (int i = 0; i < 3; i++)
    (void)st_fork(&t);
  st_run(&t, TIMEOUT_MS);
  st_check_pairs(&t);
  for (unsigned id = 1; id <= 3; id++)
    st_check_life(&t, id, &life_disconnected);
  for (int i = 0; i < nseq; i++) {
    size_t n = strlen(got);
    snprintf(got + n, sizeof(got) - n, "%s%d", i ? "," : "", seq[i]);
    if (seq[i] >= 1 && seq[i] <= 3)
      count[seq[i]]++;
  }
  TEST_CHECK(nseq == ROUNDS, "%d of %d requests answered", nseq, ROUNDS);
  /* The rotation order is the order the workers became idle; which one
   * starts is not fixed, the period is. */
  TEST_CHECK(seq[0] != seq[1] && seq[1] != seq[2] && seq[0] != seq[2],
             "first three requests not served by three workers: %s", got);
  for (int i = 3; i < nseq; i++)
    TEST_CHECK(seq[i] == seq[i % 3], "not a strict rotation: %s", got);
  TEST_CHECK(count[1] == 4 && count[2] == 4 && count[3] == 4,
             "counts %d/%d/%d, want 4/4/4: %s", count[1], count[2], count[3],
             got);
}

static void rr_strict_rotation_among_idle_workers(void)
{
  st_isolate(rotation_body, TIMEOUT_MS);
}

/* ---------------------------------------------------------------------- */
/* A busy worker is skipped: one connection in flight per worker          */

#define BUSY_CLIENTS 4
static int busy_served;
static int stuck_checked;

static void check_stuck(st_ctx_t *t, void *arg)
{
  int stuck = 0;

  /* The connection handed to the blocked worker: no data, no EOF. */
  for (int i = 0; i < BUSY_CLIENTS; i++)
    if (!clients[i].done && clients[i].len == 0)
      stuck++;
  stuck_checked = 1;
  TEST_CHECK(stuck == 1, "%d clients without any answer, want 1", stuck);
  (void)sim_worker_disconnect(sim_cluster_find(&t->cluster, 2));
}

static void on_busy_done(st_client_t *c)
{
  st_ctx_t *t = c->ctx;

  TEST_CHECK(c->status == 0 && c->eof && c->worker == 2,
             "busy test: status=%s eof=%d X-Worker=%d, want worker 2",
             uv_err_name(c->status), c->eof, c->worker);
  if (++busy_served == BUSY_CLIENTS - 1) {
    sim_worker_t *w1 = sim_cluster_find(&t->cluster, 1);
    TEST_CHECK(sim_worker_kill(w1, SIGKILL) == 0, "kill worker 1");
  }
}

static void on_event_busy(st_ctx_t *t, const sim_event_t *ev,
                          const st_event_t *rec)
{
  if (ev->type == SIM_EV_LISTENING && ev->emitter == SIM_ON_CLUSTER &&
      st_count(t, 0, SIM_EV_LISTENING, SIM_ON_CLUSTER) == 2) {
    port = rec->port;
    /* Worker 1 blocks its loop; the clients start once it says so. */
    TEST_CHECK(st_fault(t, 1, "{\"cmd\":\"hang\",\"ms\":8000}") == 0,
               "hang fault");
  }
  if (ev->type == SIM_EV_EXIT && ev->emitter == SIM_ON_CLUSTER &&
      rec->id == 1)
    st_timer(t, 200, check_stuck, NULL);
  if (ev->type == SIM_EV_EXIT && ev->emitter == SIM_ON_CLUSTER &&
      rec->id == 2)
    st_finish_after(t, 100);
}

/* The worker reports a fault just before it applies it. */
static int is_fault(unsigned id, const char *what, const cJSON *obs,
                    const char *name)
{
  const cJSON *f = cJSON_GetObjectItemCaseSensitive(obs, "fault");

  return id == 1 && strcmp(what, "fault") == 0 && cJSON_IsString(f) &&
         strcmp(f->valuestring, name) == 0;
}

static void on_observe_busy(st_ctx_t *t, unsigned id, const char *what,
                            const cJSON *obs)
{
  if (!is_fault(id, what, obs, "hang"))
    return;
  /* Its loop is blocked now: the newconn it gets stays unanswered. */
  for (int i = 0; i < BUSY_CLIENTS; i++)
    TEST_CHECK(st_client_get(t, &clients[i], port, on_busy_done) == 0,
               "client %d", i);
}

static void busy_body(void)
{
  static st_ctx_t t;

  st_init(&t, SIM_SCHED_RR, NULL, a_http, on_event_busy);
  t.on_observe = on_observe_busy;
  (void)st_fork(&t);
  (void)st_fork(&t);
  st_run(&t, TIMEOUT_MS);
  st_check_pairs(&t);
  st_check_life(&t, 1, &life_inflight_kill);
  st_check_life(&t, 2, &life_disconnected);
  TEST_CHECK(busy_served == BUSY_CLIENTS - 1, "worker 2 served %d, want %d",
             busy_served, BUSY_CLIENTS - 1);
  TEST_CHECK(stuck_checked, "the in-flight connection was never checked");
}

static void rr_busy_worker_skipped_one_inflight(void)
{
  st_isolate(busy_body, TIMEOUT_MS);
}

/* ---------------------------------------------------------------------- */
/* Single worker dies with the handle in flight                           */

static st_client_t refused;
static int refused_status = 1;

static void on_refused(st_client_t *c)
{
  refused_status = c->status;
  st_finish_after(c->ctx, 100);
}

static void kill_worker(st_ctx_t *t, void *arg)
{
  TEST_CHECK(sim_worker_kill(sim_cluster_find(&t->cluster, 1), SIGKILL) == 0,
             "kill");
}

static void on_inflight_connected(st_client_t *c)
{
  TEST_CHECK(0, "the in-flight connection ended (status=%s eof=%d len=%zu)",
             uv_err_name(c->status), c->eof, c->len);
}

static void after_exit(st_ctx_t *t, void *arg)
{
  TEST_CHECK(!clients[0].done && clients[0].len == 0,
             "the leaked connection got an answer or EOF");
  /* No worker on the handle: the listening socket is gone. */
  TEST_CHECK(st_client_get(t, &refused, port, on_refused) == 0, "client");
}

static void on_event_inflight(st_ctx_t *t, const sim_event_t *ev,
                              const st_event_t *rec)
{
  if (ev->type == SIM_EV_LISTENING && ev->emitter == SIM_ON_CLUSTER) {
    port = rec->port;
    TEST_CHECK(st_fault(t, 1, "{\"cmd\":\"hang\",\"ms\":8000}") == 0,
               "hang fault");
  }
  if (ev->type == SIM_EV_EXIT && ev->emitter == SIM_ON_CLUSTER)
    st_timer(t, 200, after_exit, NULL);
}

static void on_observe_inflight(st_ctx_t *t, unsigned id, const char *what,
                                const cJSON *obs)
{
  if (!is_fault(id, what, obs, "hang"))
    return;
  TEST_CHECK(st_client_get(t, &clients[0], port, on_inflight_connected) == 0,
             "client");
  /* Time for the primary to accept it and send the newconn. */
  st_timer(t, 200, kill_worker, NULL);
}

static void inflight_body(void)
{
  static st_ctx_t t;

  st_init(&t, SIM_SCHED_RR, NULL, a_http, on_event_inflight);
  t.on_observe = on_observe_inflight;
  (void)st_fork(&t);
  st_run(&t, TIMEOUT_MS);
  st_check_pairs(&t);
  st_check_life(&t, 1, &life_inflight_kill);
  TEST_CHECK(refused_status == UV_ECONNREFUSED,
             "connect after the last worker died: %s, want ECONNREFUSED",
             refused_status == 1 ? "(never ran)" : uv_err_name(refused_status));
}

static void handle_in_flight_death_exit_without_disconnect(void)
{
  st_isolate(inflight_body, TIMEOUT_MS);
}

/* ---------------------------------------------------------------------- */
/* Refused when no worker is left (nodejs/node#1239), both policies        */

static int refused_policy;
static int refused_after_exit = 1;
static st_client_t refused2;

static void on_refused_after_exit(st_client_t *c)
{
  refused_after_exit = c->status;
  st_finish_after(c->ctx, 50);
}

static void on_refused_now(st_client_t *c)
{
  refused_status = c->status;
}

static void on_event_refused(st_ctx_t *t, const sim_event_t *ev,
                             const st_event_t *rec)
{
  if (ev->type == SIM_EV_LISTENING && ev->emitter == SIM_ON_CLUSTER) {
    port = rec->port;
    (void)sim_worker_disconnect(ev->worker);
    /* Round-robin: the primary dropped its listening socket with the last
     * worker, at once, so a connection made now is refused although the
     * worker is still shutting down. Shared handle: the worker's
     * own copy still listens until it closes its server. */
    if (refused_policy == SIM_SCHED_RR)
      TEST_CHECK(st_client_get(t, &refused, port, on_refused_now) == 0,
                 "client");
  }
  if (ev->type == SIM_EV_EXIT && ev->emitter == SIM_ON_CLUSTER)
    TEST_CHECK(st_client_get(t, &refused2, port, on_refused_after_exit) == 0,
               "client");
}

static void refused_body(void)
{
  static st_ctx_t t;

  st_init(&t, refused_policy, NULL, a_http, on_event_refused);
  (void)st_fork(&t);
  st_run(&t, TIMEOUT_MS);
  st_check_pairs(&t);
  st_check_life(&t, 1, &life_disconnected);
  if (refused_policy == SIM_SCHED_RR)
    TEST_CHECK(refused_status == UV_ECONNREFUSED,
               "connect right after worker.disconnect(): %s, want "
               "ECONNREFUSED", refused_status == 1
                                 ? "(never ran)"
                                 : uv_err_name(refused_status));
  TEST_CHECK(refused_after_exit == UV_ECONNREFUSED,
             "connect after exit: %s, want ECONNREFUSED",
             refused_after_exit == 1 ? "(never ran)"
                                   : uv_err_name(refused_after_exit));
}

static void rr_refused_when_no_worker(void)
{
  refused_policy = SIM_SCHED_RR;
  st_isolate(refused_body, TIMEOUT_MS);
}

static void shared_refused_when_no_worker(void)
{
  refused_policy = SIM_SCHED_NONE;
  st_isolate(refused_body, TIMEOUT_MS);
}

/* ---------------------------------------------------------------------- */
/* SCHED_NONE: the workers accept on the shared socket                    */

#define SHARED_CLIENTS 8
static int shared_done;

static void on_shared_done(st_client_t *c)
{
  st_ctx_t *t = c->ctx;

  TEST_CHECK(c->status == 0 && c->eof && (c->worker == 1 || c->worker == 2),
             "shared: status=%s eof=%d X-Worker=%d", uv_err_name(c->status),
             c->eof, c->worker);
  if (++shared_done == SHARED_CLIENTS)
    (void)sim_cluster_disconnect(&t->cluster, NULL, NULL);
  else
    TEST_CHECK(st_client_get(t, &clients[shared_done], port,
                           on_shared_done) == 0, "client");
}

static void on_event_shared(st_ctx_t *t, const sim_event_t *ev,
                            const st_event_t *rec)
{
  if (ev->type == SIM_EV_LISTENING && ev->emitter == SIM_ON_CLUSTER &&
      st_count(t, 0, SIM_EV_LISTENING, SIM_ON_CLUSTER) == 2) {
    port = rec->port;
    TEST_CHECK(st_client_get(t, &clients[0], port, on_shared_done) == 0,
               "client");
  }
  if (ev->type == SIM_EV_EXIT && ev->emitter == SIM_ON_CLUSTER &&
      st_count(t, 0, SIM_EV_EXIT, SIM_ON_CLUSTER) == 2)
    st_finish_after(t, 50);
}

static void shared_body(void)
{
  static st_ctx_t t;

  st_init(&t, SIM_SCHED_NONE, NULL, a_http, on_event_shared);
  (void)st_fork(&t);
  (void)st_fork(&t);
  st_run(&t, TIMEOUT_MS);
  st_check_pairs(&t);
  st_check_life(&t, 1, &life_disconnected);
  st_check_life(&t, 2, &life_disconnected);
  /* Distribution is the kernel's business: only that all were served. */
  TEST_CHECK(shared_done == SHARED_CLIENTS, "%d of %d served", shared_done,
             SHARED_CLIENTS);
}

static void shared_handle_workers_accept_themselves(void)
{
  st_isolate(shared_body, TIMEOUT_MS);
}

/* ---------------------------------------------------------------------- */

static CU_TestInfo tests[] = {
  { "rr_strict_rotation_among_idle_workers",
    rr_strict_rotation_among_idle_workers },
  { "rr_busy_worker_skipped_one_inflight",
    rr_busy_worker_skipped_one_inflight },
  { "handle_in_flight_death_exit_without_disconnect",
    handle_in_flight_death_exit_without_disconnect },
  { "rr_refused_when_no_worker", rr_refused_when_no_worker },
  { "shared_refused_when_no_worker", shared_refused_when_no_worker },
  { "shared_handle_workers_accept_themselves",
    shared_handle_workers_accept_themselves },
  CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
  CU_SuiteInfo suites[] = {
    { .pName = "distribution", .pTests = tests },
    CU_SUITE_INFO_NULL,
  };

  return test_main(argc, argv, suites, st_roles);
}
