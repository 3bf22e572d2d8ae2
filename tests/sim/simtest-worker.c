/*
 * simtest-worker.c - a worker on sim_child_* alone (`--sim-worker MODE`),
 * so that library rules are checked without any agent logic on top.
 */
#include <stdlib.h>
#include <string.h>

#include "simtest.h"

/* ---------------------------------------------------------------------- */
/* A bare sim_child worker                                                 */

static sim_child_t hchild;
static sim_server_t hserver;
static const char *hmode;

static void h_connection(sim_server_t *server, uv_stream_t *conn)
{
  sim_server_conn_close(server, conn);
}

static void h_listen(sim_server_t *server, int status)
{
  if (status != 0)
    return;
  /* Inside the listen callback, for the rows of test-lifecycle.c. */
  if (strcmp(hmode, "kill-in-listen-cb") == 0)
    (void)sim_child_kill(&hchild);
  else if (strcmp(hmode, "ipc-disconnect-in-listen-cb") == 0)
    (void)sim_child_channel_close(&hchild);
  else if (strcmp(hmode, "disconnect-in-listen-cb") == 0)
    (void)sim_child_disconnect(&hchild);
}

static void h_event(sim_child_t *child, const sim_child_event_t *ev)
{
  if (ev->type == SIM_CHILD_EV_MESSAGE && ev->handle != NULL)
    uv_close((uv_handle_t *)ev->handle, (uv_close_cb)free);
}

int st_sim_worker(const char *mode)
{
  uv_loop_t *loop = uv_default_loop();
  sim_listen_opts_t o = { 0 };

  hmode = mode;
  if (sim_child_init(loop, &hchild, h_event) != 0)
    return 2;
  o.address = "127.0.0.1";
  if (sim_server_listen(&hchild, &hserver, &o, h_listen, h_connection) != 0)
    return 3;
  uv_run(loop, UV_RUN_DEFAULT);
  /* The loop ran dry: a natural exit, as a Node worker's. */
  return 0;
}
