/*
 * ctl.h - the agents' end of the harness control socket (docs/protocol.md).
 *
 * JSON lines over a UNIX stream socket whose path is in CLUSTERSIM_CONTROL.
 * The connection is made synchronously at start so that `hello` is the
 * first line the harness sees; everything after runs on the loop.
 */
#ifndef CTL_H
#define CTL_H

#include <uv.h>
#include <cjson/cJSON.h>

typedef struct ctl_s ctl_t;

/* One command from the harness; `msg` is borrowed for the call. */
typedef void (*ctl_message_cb)(ctl_t *ctl, const cJSON *msg);
/* The harness went away (EOF, error, or a malformed line). */
typedef void (*ctl_lost_cb)(ctl_t *ctl);

struct ctl_s {
  /* public */
  void *data;
  /* private */
  uv_pipe_t pipe;
  ctl_message_cb on_message;
  ctl_lost_cb on_lost;
  char *buf;
  size_t len, cap;
  int open;
};

/* Connects to `path` and starts reading. UV_E* on failure. */
int ctl_open(uv_loop_t *loop, ctl_t *ctl, const char *path,
             ctl_message_cb on_message, ctl_lost_cb on_lost);
/* Sends one JSON line; `msg` stays the caller's. Adds "t" (uv_hrtime)
 * unless present. UV_EPIPE once the socket is gone. */
int ctl_send(ctl_t *ctl, cJSON *msg);
/* As ctl_send(), but written before returning when the socket's queue is
 * empty: for the last words of a process about to exit(). */
int ctl_send_now(ctl_t *ctl, cJSON *msg);
void ctl_close(ctl_t *ctl);

#endif /* CTL_H */
