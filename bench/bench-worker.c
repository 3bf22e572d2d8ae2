/*
 * bench-worker.c - a cluster worker on sim_child_* alone, so that the IPC
 * figures measure the library and nothing on top of it. It answers the
 * same messages as the worker of bench/node/bench-cluster.js:
 *
 *   {"flood":N,"batch":K}  send N messages {"n":i}, K per loop turn: the
 *                          next K leave when the last of the previous K is
 *                          written (its send callback)
 *   {"sink":N}             count the next N messages, then send {"got":N}
 *   anything else          {"echo":<message>}
 */
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "sim.h"

static struct {
  sim_child_t child;
  unsigned flood, sent, batch;
  unsigned sink, got;
} BW;

static void worker_send(cJSON *m, sim_send_cb cb)
{
  if (m != NULL)
    (void)sim_child_send(&BW.child, m, NULL, cb, NULL);
  cJSON_Delete(m);
}

static void worker_flood_batch(int status, void *arg)
{
  (void)arg;
  if (status != 0)
    return;
  for (unsigned k = 0; k < BW.batch && BW.sent < BW.flood; k++) {
    cJSON *m = cJSON_CreateObject();
    int last;
    if (m == NULL)
      return;
    cJSON_AddNumberToObject(m, "n", BW.sent++);
    last = k + 1 == BW.batch && BW.sent < BW.flood;
    worker_send(m, last ? worker_flood_batch : NULL);
  }
}

static void worker_on_message(const cJSON *msg)
{
  const cJSON *flood = cJSON_GetObjectItemCaseSensitive(msg, "flood");
  const cJSON *sink = cJSON_GetObjectItemCaseSensitive(msg, "sink");
  cJSON *m;

  if (BW.sink > 0) {
    if (++BW.got == BW.sink) {
      m = cJSON_CreateObject();
      if (m != NULL)
        cJSON_AddNumberToObject(m, "got", BW.got);
      worker_send(m, NULL);
      BW.sink = 0;
    }
    return;
  }
  if (cJSON_IsNumber(flood)) {
    const cJSON *batch = cJSON_GetObjectItemCaseSensitive(msg, "batch");
    BW.flood = (unsigned)flood->valuedouble;
    BW.batch = cJSON_IsNumber(batch) && batch->valuedouble >= 1
                   ? (unsigned)batch->valuedouble : 1;
    BW.sent = 0;
    worker_flood_batch(0, NULL);
    return;
  }
  if (cJSON_IsNumber(sink)) {
    BW.sink = (unsigned)sink->valuedouble;
    BW.got = 0;
    return;
  }
  m = cJSON_CreateObject();
  if (m != NULL)
    cJSON_AddItemReferenceToObject(m, "echo", (cJSON *)msg);
  worker_send(m, NULL);
}

static void worker_on_event(sim_child_t *child, const sim_child_event_t *ev)
{
  (void)child;
  if (ev->type != SIM_CHILD_EV_MESSAGE)
    return;
  if (ev->handle != NULL)
    uv_close((uv_handle_t *)ev->handle, (uv_close_cb)free);
  worker_on_message(ev->message);
}

int bench_worker_main(void)
{
  uv_loop_t *loop = uv_default_loop();

  if (sim_child_init(loop, &BW.child, worker_on_event) != 0)
    return 2;
  /* Ends when the primary disconnects (the loop runs dry) or exits. */
  uv_run(loop, UV_RUN_DEFAULT);
  return 0;
}
