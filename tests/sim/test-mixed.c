/*
 * test-mixed.c - sim and real Node v20 in one cluster, both ways.
 *
 * (a) A Node primary (node-primary.js) runs clustersim C workers under
 *     both scheduling policies; its JSON record of every event, sampled
 *     inside Node's own listeners, goes through the same checks as a sim
 *     primary's record - so the expectations are Node's and the workers
 *     are ours.
 * (b) A sim primary runs Node workers (node-worker.js) through the same
 *     life: online, listening, serving, messages both ways, then primary
 *     disconnect (ead true, exit 0) and primary kill (SIGTERM).
 *
 * Skipped (77) when `node` is not on PATH.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "base.h"
#include "simtest.h"

#define TIMEOUT_MS 20000u

static const st_life_t life_graceful = { 1, -1, 0, NULL, 1, 1, 1, 1, 1, 0,
                                         0 };
static const st_life_t life_killed = { 1, -1, 0, NULL, 1, 1, 1, 0, 0, -1,
                                       SIGTERM };

static const char *node;

/* ---------------------------------------------------------------------- */
/* (a) Node primary, C workers                                             */

static const struct {
  const char *ev;
  int type;
  int emitter;
} names[] = {
  { "cluster:fork", SIM_EV_FORK, SIM_ON_CLUSTER },
  { "worker:online", SIM_EV_ONLINE, SIM_ON_WORKER },
  { "cluster:online", SIM_EV_ONLINE, SIM_ON_CLUSTER },
  { "worker:listening", SIM_EV_LISTENING, SIM_ON_WORKER },
  { "cluster:listening", SIM_EV_LISTENING, SIM_ON_CLUSTER },
  { "worker:message", SIM_EV_MESSAGE, SIM_ON_WORKER },
  { "cluster:message", SIM_EV_MESSAGE, SIM_ON_CLUSTER },
  { "worker:disconnect", SIM_EV_DISCONNECT, SIM_ON_WORKER },
  { "cluster:disconnect", SIM_EV_DISCONNECT, SIM_ON_CLUSTER },
  { "worker:exit", SIM_EV_EXIT, SIM_ON_WORKER },
  { "cluster:exit", SIM_EV_EXIT, SIM_ON_CLUSTER },
  { "disconnect-cb", ST_EV_DISCONNECT_CB, SIM_ON_CLUSTER },
};

static int flag(const cJSON *o, const char *k)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

  if (cJSON_IsNull(v))
    return -1;
  return cJSON_IsTrue(v) ? 1 : 0;
}

/* Node's record of one event becomes one of ours. */
static void convert(st_ctx_t *t, const cJSON *e)
{
  const cJSON *ev = cJSON_GetObjectItemCaseSensitive(e, "ev");
  const cJSON *v;
  st_event_t *r;
  size_t i;

  for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
    if (cJSON_IsString(ev) && strcmp(ev->valuestring, names[i].ev) == 0)
      break;
  if (i == sizeof(names) / sizeof(names[0])) {
    TEST_CHECK(0, "unknown event in the Node record: %s",
               cJSON_IsString(ev) ? ev->valuestring : "?");
    return;
  }
  r = st_append(t);
  r->type = names[i].type;
  r->emitter = names[i].emitter;
  v = cJSON_GetObjectItemCaseSensitive(e, "id");
  r->id = cJSON_IsNumber(v) ? (unsigned)v->valuedouble : 0;
  if (r->type == ST_EV_DISCONNECT_CB)
    return;
  r->ead = flag(e, "ead");
  r->conn = flag(e, "conn");
  r->dead = flag(e, "dead");
  r->in_workers = r->in_map = flag(e, "inWorkers");
  v = cJSON_GetObjectItemCaseSensitive(e, "state");
  snprintf(r->state, sizeof(r->state), "%s",
           cJSON_IsString(v) ? v->valuestring : "");
  if (r->type == SIM_EV_EXIT) {
    v = cJSON_GetObjectItemCaseSensitive(e, "code");
    r->code = cJSON_IsNumber(v) ? (int64_t)v->valuedouble : -1;
    v = cJSON_GetObjectItemCaseSensitive(e, "signal");
    r->sig = cJSON_IsString(v) ? sim_signal_from_name(v->valuestring) : 0;
  }
  if (r->type == SIM_EV_LISTENING) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(e, "address");
    const cJSON *addr = cJSON_GetObjectItemCaseSensitive(a, "address");
    v = cJSON_GetObjectItemCaseSensitive(a, "addressType");
    r->addr_type = cJSON_IsNumber(v) ? (int)v->valuedouble : 0;
    r->addr_null = !cJSON_IsString(addr);
    snprintf(r->addr, sizeof(r->addr), "%s",
             cJSON_IsString(addr) ? addr->valuestring : "");
    v = cJSON_GetObjectItemCaseSensitive(a, "port");
    r->port = cJSON_IsNumber(v) ? (int)v->valuedouble : 0;
    v = cJSON_GetObjectItemCaseSensitive(a, "fd");
    r->fd = cJSON_IsNumber(v) ? (int)v->valuedouble : -1;
  }
  if (r->type == SIM_EV_MESSAGE) {
    v = cJSON_GetObjectItemCaseSensitive(e, "message");
    snprintf(r->text, sizeof(r->text), "%s",
             cJSON_IsString(v) ? v->valuestring : "");
  }
}

static cJSON *run_node_primary(const char *policy)
{
  char cmd[8192];
  char chunk[4096];
  base_buf_t out = BASE_BUF_INIT;
  size_t n;
  FILE *f;
  int status, err = 0;
  cJSON *summary;

  snprintf(cmd, sizeof(cmd),
           "NODE_CLUSTER_SCHED_POLICY=%s '%s' '%s/node-primary.js' '%s'",
           policy, node, st_srcdir(), st_clustersim());
  f = popen(cmd, "r");
  if (f == NULL) {
    CU_FAIL("popen");
    return NULL;
  }
  while (err == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
    err = base_buf_append(&out, chunk, n);
  status = pclose(f);
  if (err != 0 || base_buf_append(&out, "", 0) != 0) {
    CU_FAIL("out of memory");
    base_buf_free(&out);
    return NULL;
  }
  TEST_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
             "node-primary.js exited with status %d: %.300s", status,
             out.base);
  summary = cJSON_Parse(out.base);
  TEST_CHECK(summary != NULL, "node-primary.js printed no JSON: %.300s",
             out.base);
  base_buf_free(&out);
  return summary;
}

static const char *node_policy;

static void node_primary_body(void)
{
  static st_ctx_t t;
  cJSON *s = run_node_primary(node_policy);
  const cJSON *v, *e;
  int served[3] = { 0 }, nserved = 0, alternating = 1, prev = 0;
  int port[3] = { 0 };
  int cb;

  if (s == NULL)
    return;
  v = cJSON_GetObjectItemCaseSensitive(s, "policy");
  TEST_CHECK(cJSON_IsString(v) && strcmp(v->valuestring, node_policy) == 0,
             "Node primary runs policy %s, want %s",
             cJSON_IsString(v) ? v->valuestring : "?", node_policy);
  v = cJSON_GetObjectItemCaseSensitive(s, "errors");
  TEST_CHECK(cJSON_GetArraySize(v) == 0, "Node primary reported errors: %s",
             cJSON_PrintUnformatted(v));
  cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(s, "events"))
    convert(&t, e);

  /* Node's own record must show the life of a disconnected worker. */
  st_check_pairs(&t);
  st_check_life(&t, 1, &life_graceful);
  st_check_life(&t, 2, &life_graceful);
  for (size_t i = 0; i < t.nev; i++) {
    const st_event_t *r = &t.ev[i];
    char want[64];
    if (r->type == SIM_EV_LISTENING && r->emitter == SIM_ON_WORKER &&
        r->id <= 2) {
      TEST_CHECK(r->addr_type == 4 && !r->addr_null &&
                 strcmp(r->addr, "127.0.0.1") == 0 && r->fd == -1,
                 "listening address of C worker %u: %d %s fd %d", r->id,
                 r->addr_type, r->addr_null ? "null" : r->addr, r->fd);
      port[r->id] = r->port;
    }
    if (r->type == SIM_EV_MESSAGE && r->emitter == SIM_ON_CLUSTER) {
      snprintf(want, sizeof(want), "{\"echo\":{\"hello\":%u}}", r->id);
      TEST_CHECK(strcmp(r->text, want) == 0, "C worker %u echoed %s, want %s",
                 r->id, r->text, want);
    }
  }
  TEST_CHECK(st_count(&t, 1, SIM_EV_MESSAGE, SIM_ON_CLUSTER) == 1 &&
             st_count(&t, 2, SIM_EV_MESSAGE, SIM_ON_CLUSTER) == 1,
             "one echo per C worker");
  TEST_CHECK(port[1] > 0 && port[1] == port[2],
             "C workers listen on %d and %d, want one shared port", port[1],
             port[2]);

  cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(s, "served")) {
    int w = (int)e->valuedouble;
    TEST_CHECK(w == 1 || w == 2, "request served by X-Worker %d", w);
    if (w == 1 || w == 2)
      served[w]++;
    if (prev != 0 && prev == w)
      alternating = 0;
    prev = w;
    nserved++;
  }
  TEST_CHECK(nserved == 8, "%d requests served, want 8", nserved);
  if (strcmp(node_policy, "rr") == 0)
    /* Sequential requests under RR: strict alternation, both workers. */
    TEST_CHECK(alternating && served[1] == 4 && served[2] == 4,
               "RR through C workers: %d/%d, alternating %d", served[1],
               served[2], alternating);

  v = cJSON_GetObjectItemCaseSensitive(s, "cb");
  cb = cJSON_IsNumber(v) ? (int)v->valuedouble : -1;
  TEST_CHECK(cb == 1, "cluster.disconnect cb ran %d times", cb);
  v = cJSON_GetObjectItemCaseSensitive(s, "cbDead");
  TEST_CHECK(cJSON_IsNumber(v) && v->valuedouble >= 1,
             "no worker dead when Node's cluster.disconnect cb ran");
  cJSON_Delete(s);
}

static void node_primary_c_workers_rr(void)
{
  node_policy = "rr";
  st_isolate(node_primary_body, TIMEOUT_MS);
}

static void node_primary_c_workers_none(void)
{
  node_policy = "none";
  st_isolate(node_primary_body, TIMEOUT_MS);
}

/* ---------------------------------------------------------------------- */
/* (b) sim primary, Node workers                                           */

#define REQUESTS 6
static st_client_t clients[REQUESTS];
static int nreq;
static int port;
static int served[3];
static int echoes;

static void next_request(st_ctx_t *t);

static void on_done(st_client_t *c)
{
  st_ctx_t *t = c->ctx;

  TEST_CHECK(c->status == 0 && c->eof && (c->worker == 1 || c->worker == 2),
             "Node worker request: status=%s eof=%d X-Worker=%d",
             uv_err_name(c->status), c->eof, c->worker);
  if (c->worker == 1 || c->worker == 2)
    served[c->worker]++;
  if (++nreq < REQUESTS) {
    next_request(t);
    return;
  }
  TEST_CHECK(st_send(sim_cluster_find(&t->cluster, 1), "{\"ping\":1}") == 0,
             "send 1");
  TEST_CHECK(st_send(sim_cluster_find(&t->cluster, 2), "{\"ping\":2}") == 0,
             "send 2");
}

static void next_request(st_ctx_t *t)
{
  TEST_CHECK(st_client_get(t, &clients[nreq], port, on_done) == 0, "client");
}

static void on_event_nw(st_ctx_t *t, const sim_event_t *ev,
                        const st_event_t *rec)
{
  if (ev->type == SIM_EV_LISTENING && ev->emitter == SIM_ON_CLUSTER &&
      st_count(t, 0, SIM_EV_LISTENING, SIM_ON_CLUSTER) == 2) {
    port = rec->port;
    next_request(t);
  }
  if (ev->type == SIM_EV_MESSAGE && ev->emitter == SIM_ON_WORKER &&
      strstr(rec->text, "\"echo\"") != NULL && ++echoes == 2) {
    (void)sim_worker_disconnect(sim_cluster_find(&t->cluster, 1));
    (void)sim_worker_kill(sim_cluster_find(&t->cluster, 2), SIGTERM);
  }
  if ((ev->type == SIM_EV_EXIT || ev->type == SIM_EV_DISCONNECT) &&
      ev->emitter == SIM_ON_CLUSTER &&
      st_count(t, 0, SIM_EV_EXIT, SIM_ON_CLUSTER) == 2 &&
      st_count(t, 0, SIM_EV_DISCONNECT, SIM_ON_CLUSTER) == 2)
    st_finish_after(t, 100);
}

static void node_workers_body(void)
{
  static st_ctx_t t;
  char script[4096];
  const char *args[] = { script, NULL };
  int port1 = 0, port2 = 0;

  snprintf(script, sizeof(script), "%s/node-worker.js", st_srcdir());
  st_init(&t, SIM_SCHED_RR, node, args, on_event_nw);
  (void)st_fork(&t);
  (void)st_fork(&t);
  st_run(&t, TIMEOUT_MS);
  st_check_pairs(&t);
  st_check_life(&t, 1, &life_graceful);
  st_check_life(&t, 2, &life_killed);
  for (size_t i = 0; i < t.nev; i++) {
    const st_event_t *r = &t.ev[i];
    char hello[64], echo[64];
    if (r->type == SIM_EV_LISTENING && r->emitter == SIM_ON_WORKER) {
      TEST_CHECK(r->addr_type == 4 && !r->addr_null &&
                 strcmp(r->addr, "127.0.0.1") == 0 && r->fd == -1,
                 "Node worker %u listening: %d %s fd %d", r->id, r->addr_type,
                 r->addr_null ? "null" : r->addr, r->fd);
      if (r->id == 1)
        port1 = r->port;
      else
        port2 = r->port;
    }
    if (r->type != SIM_EV_MESSAGE || r->emitter != SIM_ON_CLUSTER)
      continue;
    snprintf(hello, sizeof(hello), "{\"hello\":\"from-node\",\"id\":%u}",
             r->id);
    snprintf(echo, sizeof(echo), "{\"echo\":{\"ping\":%u}}", r->id);
    TEST_CHECK(strcmp(r->text, hello) == 0 || strcmp(r->text, echo) == 0,
               "unexpected message from Node worker %u: %s", r->id, r->text);
  }
  TEST_CHECK(port1 > 0 && port1 == port2, "Node workers on %d and %d", port1,
             port2);
  for (unsigned id = 1; id <= 2; id++)
    TEST_CHECK(st_count(&t, id, SIM_EV_MESSAGE, SIM_ON_CLUSTER) == 2,
               "Node worker %u: %d messages, want hello and echo", id,
               st_count(&t, id, SIM_EV_MESSAGE, SIM_ON_CLUSTER));
  TEST_CHECK(nreq == REQUESTS && served[1] == 3 && served[2] == 3,
             "RR over Node workers: %d/%d of %d", served[1], served[2],
             REQUESTS);
}

static void c_primary_node_workers(void)
{
  st_isolate(node_workers_body, TIMEOUT_MS);
}

/* ---------------------------------------------------------------------- */

static CU_TestInfo tests[] = {
  { "node_primary_c_workers_rr", node_primary_c_workers_rr },
  { "node_primary_c_workers_none", node_primary_c_workers_none },
  { "c_primary_node_workers", c_primary_node_workers },
  CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
  CU_SuiteInfo suites[] = {
    { .pName = "mixed", .pTests = tests },
    CU_SUITE_INFO_NULL,
  };
  static char path[4096];
  const char *found = st_which("node");

  if (found == NULL) {
    printf("node is not on PATH: skipped\n");
    return 77;
  }
  snprintf(path, sizeof(path), "%s", found);
  node = path;
  return test_main(argc, argv, suites, st_roles);
}
