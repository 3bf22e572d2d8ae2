/*
 * test-listen.c - listens that go through the primary, and those that do
 * not.
 *
 * Each table row runs under both scheduling policies: the port a listen(0)
 * gets is chosen by the primary per (address, port, addressType, index)
 * key, so the n-th listen(0) of every worker shares one port; the
 * `listening` address object repeats what the worker asked for
 * (addressType 4 and address null for a host-less listen).
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "simtest.h"

#define TIMEOUT_MS 10000u

typedef struct {
  const char *name;
  int policy;
  const char *const *args;
  int workers;
  int listens;               /* listening events per worker */
  const char *address;       /* expected address; NULL: null */
} row_t;

static const char *const a_two[] = { "worker", "--http", "127.0.0.1:0",
                                     "--http", "127.0.0.1:0", NULL };
static const char *const a_hostless[] = { "worker", "--http", "0", NULL };

static const row_t rows[] = {
  { "listen0_same_port_per_index_rr", SIM_SCHED_RR, a_two, 2, 2,
    "127.0.0.1" },
  { "listen0_same_port_per_index_none", SIM_SCHED_NONE, a_two, 2, 2,
    "127.0.0.1" },
  { "hostless_listen_address_null_type4_rr", SIM_SCHED_RR, a_hostless, 2,
    1, NULL },
  { "hostless_listen_address_null_type4_none", SIM_SCHED_NONE, a_hostless,
    2, 1, NULL },
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))

static const row_t *row;
static st_client_t clients[8];
static int nclients;
static int served;
static int ports[8];
static int nports;

static void on_served(st_client_t *c)
{
  st_ctx_t *t = c->ctx;

  TEST_CHECK(c->status == 0 && c->eof && (c->worker == 1 || c->worker == 2),
             "request to a shared port: status=%s eof=%d X-Worker=%d",
             uv_err_name(c->status), c->eof, c->worker);
  if (++served == nclients)
    (void)sim_cluster_disconnect(&t->cluster, NULL, NULL);
}

static void on_event(st_ctx_t *t, const sim_event_t *ev,
                     const st_event_t *rec)
{
  int want = row->workers * row->listens;

  if (ev->type == SIM_EV_LISTENING && ev->emitter == SIM_ON_CLUSTER &&
      st_count(t, 0, SIM_EV_LISTENING, SIM_ON_CLUSTER) == want) {
    /* One request per distinct port: every port really serves. */
    for (size_t i = 0; i < t->nev; i++) {
      int p = t->ev[i].port, seen = 0;
      if (t->ev[i].type != SIM_EV_LISTENING || p <= 0)
        continue;
      for (int k = 0; k < nports; k++)
        seen |= ports[k] == p;
      if (!seen && nports < 8)
        ports[nports++] = p;
    }
    nclients = nports;
    for (int k = 0; k < nports; k++)
      TEST_CHECK(st_client_get(t, &clients[k], ports[k], on_served) == 0,
                 "client");
  }
  if (ev->type == SIM_EV_EXIT && ev->emitter == SIM_ON_CLUSTER &&
      st_count(t, 0, SIM_EV_EXIT, SIM_ON_CLUSTER) == row->workers)
    st_finish_after(t, 100);
}

static void row_body(void)
{
  static st_ctx_t t;
  st_life_t life = { 0, -1, 0, NULL, 1, 1, 1, 1, 1, 0, 0 };
  int port_of[3][2] = { { 0 } };
  int n[3] = { 0 };

  row = TEST_ROW(rows);
  st_init(&t, row->policy, NULL, row->args, on_event);
  TEST_CHECK(t.cluster.scheduling_policy == row->policy, "policy");
  for (int i = 0; i < row->workers; i++)
    (void)st_fork(&t);
  st_run(&t, TIMEOUT_MS);
  st_check_pairs(&t);
  life.listening = row->listens;
  for (int id = 1; id <= row->workers; id++)
    st_check_life(&t, (unsigned)id, &life);
  TEST_CHECK(served == nclients && nclients > 0, "served %d of %d requests",
             served, nclients);

  for (size_t i = 0; i < t.nev; i++) {
    const st_event_t *r = &t.ev[i];
    if (r->type != SIM_EV_LISTENING || r->emitter != SIM_ON_WORKER)
      continue;
    /* {addressType, address, port, fd} as the worker sent them. */
    TEST_CHECK(r->addr_type == 4, "addressType %d, want 4", r->addr_type);
    if (row->address == NULL)
      TEST_CHECK(r->addr_null, "address '%s', want null", r->addr);
    else
      TEST_CHECK(!r->addr_null && strcmp(r->addr, row->address) == 0,
                 "address '%s', want '%s'", r->addr_null ? "null" : r->addr,
                 row->address);
    TEST_CHECK(r->port > 0 && r->port < 65536, "port %d", r->port);
    TEST_CHECK(r->fd == -1, "fd %d, want undefined (-1)", r->fd);
    if (r->id >= 1 && r->id <= 2 && n[r->id] < 2)
      port_of[r->id][n[r->id]++] = r->port;
  }
  /* Same port for the same index in every worker; distinct ports
   * for distinct indexes. The per-worker order of two listens' replies is
   * not fixed, so compare as sets. */
  if (row->listens == 2) {
    TEST_CHECK(port_of[1][0] != port_of[1][1],
               "worker 1: both listens on port %d", port_of[1][0]);
    TEST_CHECK((port_of[1][0] == port_of[2][0] &&
              port_of[1][1] == port_of[2][1]) ||
               (port_of[1][0] == port_of[2][1] &&
              port_of[1][1] == port_of[2][0]),
               "ports differ between workers: {%d,%d} vs {%d,%d}",
               port_of[1][0], port_of[1][1], port_of[2][0], port_of[2][1]);
    TEST_CHECK(nports == 2, "%d distinct ports, want 2", nports);
  } else {
    TEST_CHECK(port_of[1][0] == port_of[2][0],
               "workers listen on %d and %d, want one port", port_of[1][0],
               port_of[2][0]);
    TEST_CHECK(nports == 1, "%d distinct ports, want 1", nports);
  }
}

static void run_row(void)
{
  st_isolate(row_body, TIMEOUT_MS);
}

/* ---------------------------------------------------------------------- */
/* exclusive: true                                                         */

static void kill_both(st_ctx_t *t, void *arg)
{
  for (unsigned id = 1; id <= 2; id++) {
    sim_worker_t *w = sim_cluster_find(&t->cluster, id);
    /* Exclusive servers are not closed by disconnect: still running. */
    TEST_CHECK(!sim_worker_is_dead(w) && kill(sim_worker_pid(w), 0) == 0,
               "worker %u with an exclusive server exited after "
               "cluster.disconnect()", id);
    TEST_CHECK(sim_worker_kill(w, SIGKILL) == 0, "kill");
  }
}

static void disconnect_all(st_ctx_t *t, void *arg)
{
  TEST_CHECK(sim_cluster_disconnect(&t->cluster, NULL, NULL) == 0,
             "cluster.disconnect");
}

static void on_event_excl(st_ctx_t *t, const sim_event_t *ev,
                          const st_event_t *rec)
{
  if (ev->type == SIM_EV_ONLINE && ev->emitter == SIM_ON_CLUSTER)
    TEST_CHECK(st_send(ev->worker, "{\"clustersim\":\"ping\",\"n\":1}") == 0,
               "ping");
  /* A pong follows the worker's listen (it listens at start), so a
   * `listening` would have been seen by now; a pause leaves room for a
   * late one anyway. */
  if (ev->type == SIM_EV_MESSAGE && ev->emitter == SIM_ON_CLUSTER &&
      st_count(t, 0, SIM_EV_MESSAGE, SIM_ON_CLUSTER) == 2)
    st_timer(t, 200, disconnect_all, NULL);
  if (ev->type == SIM_EV_DISCONNECT && ev->emitter == SIM_ON_CLUSTER &&
      st_count(t, 0, SIM_EV_DISCONNECT, SIM_ON_CLUSTER) == 2)
    st_timer(t, 300, kill_both, NULL);
  if (ev->type == SIM_EV_EXIT && ev->emitter == SIM_ON_CLUSTER &&
      st_count(t, 0, SIM_EV_EXIT, SIM_ON_CLUSTER) == 2)
    st_finish_after(t, 50);
}

static void exclusive_body(void)
{
  static const char *const args[] = { "worker", "--http", "127.0.0.1:0",
                                      "--exclusive", NULL };
  /* Once true, exitedAfterDisconnect stays true through a SIGKILL. */
  static const st_life_t life = { 0, -1, 0, NULL, 1, 1, 1, 1, 1, -1,
                                  SIGKILL };
  static st_ctx_t t;

  st_init(&t, 0, NULL, args, on_event_excl);
  (void)st_fork(&t);
  (void)st_fork(&t);
  st_run(&t, TIMEOUT_MS);
  st_check_pairs(&t);
  st_check_life(&t, 1, &life);
  st_check_life(&t, 2, &life);
  TEST_CHECK(st_count(&t, 0, SIM_EV_LISTENING, ST_ANY) == 0,
             "`listening` for an exclusive listen");
}

static void exclusive_listen_no_listening_event(void)
{
  st_isolate(exclusive_body, TIMEOUT_MS);
}

/* ---------------------------------------------------------------------- */

static CU_TestInfo table_tests[NROWS + 1];

static CU_TestInfo other_tests[] = {
  { "exclusive_listen_no_listening_event",
    exclusive_listen_no_listening_event },
  CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
  CU_SuiteInfo suites[] = {
    { .pName = "listen-table", .pTests = table_tests },
    { .pName = "listen", .pTests = other_tests },
    CU_SUITE_INFO_NULL,
  };

  TEST_ROWS_FILL(table_tests, rows, run_row);
  return test_main(argc, argv, suites, st_roles);
}
