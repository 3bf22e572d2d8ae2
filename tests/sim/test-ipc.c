/*
 * test-ipc.c - the channel under load: bursts, long lines, and values that
 * must survive the wire unchanged.
 *
 * Lines sent in one loop turn leave coalesced and are parsed where they
 * were read; a line longer than a read is completed in place. Each case
 * sends through a real worker that echoes every message as {"echo": m}
 * (the worker agent, or a real Node worker for the value table, so the
 * bytes we write are read back by Node's own JSON.parse) and compares
 * what comes back with what went out, in order, one by one.
 */
#include <stdlib.h>
#include <string.h>

#include "simtest.h"

#define TIMEOUT_MS 20000u

typedef struct {
  const char *name;
  int node;                  /* 1: a Node worker (skipped without node) */
  unsigned count;            /* messages sent in one loop turn */
  size_t big;                /* >0: each message carries a string this long */
  int values;                /* 1: the value table below, once each */
} row_t;

static const row_t rows[] = {
  { "burst_of_20000_messages_in_one_turn_echoed_in_order", 0, 20000, 0,
    0 },
  { "lines_of_3_mib_completed_across_reads", 0, 3, 3u << 20, 0 },
  { "burst_with_send_callbacks_all_run_later", 0, 5000, 0, 0 },
  { "values_read_back_equal_by_node", 1, 0, 0, 1 },
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))

/* Numbers and strings whose text is easy to get wrong. */
static const char *const values[] = {
  "0", "-0", "1", "-1", "0.1", "1e-7", "123456789012345", "1e15", "1e21",
  "2147483648", "-2147483649", "9007199254740993", "1.7976931348623157e308",
  "5e-324", "0.30000000000000004", "\"\"", "\"\\u0001\\u001f\\t\\n\\\"\"",
  "\"caf\\u00e9 \\ud83d\\ude00 \\u2028\"", "\"a\\\\b/c\"", "true", "null",
  "[]", "{}", "[1,[2,[3,{\"k\":\"v\"}]]]", "{\"\":{\"nested\":[null,false]}}",
  "{\"cmd\":\"NODE\"}", "{\"cmd\":\"NOT_NODE_x\"}",
};

#define NVALUES (sizeof(values) / sizeof(values[0]))

static const row_t *row;
static cJSON *sent[20000];
static unsigned nsent, nechoed, ncallbacks;
static int in_send;

static void on_sent(int status, void *arg)
{
  TEST_CHECK(status == 0, "send callback status %d", status);
  TEST_CHECK(!in_send, "a send callback ran inside sim_worker_send()");
  TEST_CHECK((uintptr_t)arg == ncallbacks, "send callback %u ran as #%u",
           (unsigned)(uintptr_t)arg, ncallbacks);
  ncallbacks++;
}

static cJSON *make_message(unsigned i)
{
  cJSON *m;
  char *s;

  if (row->values)
    return cJSON_Parse(values[i]);
  m = cJSON_CreateObject();
  cJSON_AddNumberToObject(m, "i", i);
  if (row->big > 0) {
    s = malloc(row->big + 1);
    for (size_t k = 0; k < row->big; k++)
      s[k] = (char)('a' + (k + i) % 26);
    s[row->big] = '\0';
    cJSON_AddStringToObject(m, "s", s);
    free(s);
  }
  return m;
}

static void send_all(st_ctx_t *t, sim_worker_t *w)
{
  unsigned n = row->values ? NVALUES : row->count;
  int with_cb = strstr(row->name, "callbacks") != NULL;

  for (unsigned i = 0; i < n; i++) {
    cJSON *m = make_message(i);
    int err;
    TEST_CHECK(m != NULL, "message %u", i);
    in_send = 1;
    err = sim_worker_send(w, m, NULL, with_cb ? on_sent : NULL,
                          (void *)(uintptr_t)i);
    in_send = 0;
    TEST_CHECK(err == 0, "send %u: %d", i, err);
    sent[nsent++] = m;
  }
  (void)t;
}

static void on_event(st_ctx_t *t, const sim_event_t *ev,
                     const st_event_t *rec)
{
  const cJSON *echo;

  (void)rec;
  if (ev->emitter == SIM_ON_CLUSTER && ev->type == SIM_EV_ONLINE) {
    send_all(t, ev->worker);
    return;
  }
  if (ev->emitter == SIM_ON_CLUSTER && ev->type == SIM_EV_EXIT) {
    st_finish(t);
    return;
  }
  if (ev->type != SIM_EV_MESSAGE || ev->emitter != SIM_ON_CLUSTER)
    return;
  echo = cJSON_GetObjectItemCaseSensitive(ev->message, "echo");
  if (echo == NULL)
    return;                    /* the Node worker's hello */
  TEST_CHECK(nechoed < nsent, "more echoes than messages");
  if (nechoed < nsent && !cJSON_Compare(echo, sent[nechoed], 1)) {
    char *a = cJSON_PrintUnformatted(sent[nechoed]);
    char *b = cJSON_PrintUnformatted(echo);
    TEST_CHECK(0, "echo #%u differs: sent %.200s, got %.200s", nechoed, a,
             b);
    free(a);
    free(b);
  }
  if (++nechoed == nsent)
    (void)sim_worker_disconnect(ev->worker);
}

static void body(void)
{
  static st_ctx_t t;
  static const char *const agent[] = { "worker", "--messages", "echo",
                                       NULL };
  const char *node = st_which("node");
  char script[1024];
  const char *nargs[] = { script, NULL };

  if (row->node) {
    snprintf(script, sizeof(script), "%s/node-worker.js", st_srcdir());
    st_init(&t, 0, node, nargs, on_event);
  } else {
    st_init(&t, 0, NULL, agent, on_event);
  }
  (void)st_fork(&t);
  st_run(&t, TIMEOUT_MS);
  TEST_CHECK(nsent > 0 && nechoed == nsent, "%u of %u messages echoed",
           nechoed, nsent);
  if (strstr(row->name, "callbacks") != NULL)
    TEST_CHECK(ncallbacks == nsent, "%u of %u send callbacks ran", ncallbacks,
             nsent);
  for (unsigned i = 0; i < nsent; i++)
    cJSON_Delete(sent[i]);
}

static void run_row(void)
{
  for (size_t i = 0; i < NROWS; i++)
    if (strcmp(rows[i].name, test_name()) == 0)
      row = &rows[i];
  if (row->node && st_which("node") == NULL) {
    fprintf(stderr, "%s: skipped, no node on PATH\n", row->name);
    return;
  }
  st_isolate(body, TIMEOUT_MS);
}

static CU_TestInfo tests[NROWS + 1];

int main(int argc, char **argv)
{
  CU_SuiteInfo suites[] = {
    { .pName = "ipc", .pTests = tests },
    CU_SUITE_INFO_NULL,
  };

  for (size_t i = 0; i < NROWS; i++) {
    tests[i].pName = rows[i].name;
    tests[i].pTestFunc = run_row;
  }
  return test_main(argc, argv, suites, st_roles);
}
