/*
 * ctl.h - the agents' end of the harness control socket (docs/protocol.md).
 *
 * Newline-delimited JSON over the UNIX stream socket named by
 * CLUSTERSIM_CONTROL, shared by the builtin primary and worker agents:
 * - the transport (ctl.c): connect, split lines with base's line reader
 *   (a line longer than CTL_MAX_LINE is reported once and skipped up to its
 *   newline), send objects with the "t" stamp, and a bounded flush for the
 *   last words of a process;
 * - commands (ctl-command.c): parsing a line into a command object with
 *   the same refusals, in the same words, as agents/node/lib/control.cjs,
 *   replies, and the JavaScript-style checks of command fields.
 * Signal names in commands are base's table (base_signal_from_name()).
 *
 * Functions return 0 or a negative UV_E* code.
 */
#ifndef CTL_H
#define CTL_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>
#include <cjson/cJSON.h>

#include "base.h"

/* The longest line accepted from the harness (bytes, without newline). */
#define CTL_MAX_LINE (16u * 1024u * 1024u)
/* Output not yet taken by the harness beyond which the connection counts
 * as lost: a harness that stops reading cannot grow an agent without
 * bound. */
#define CTL_MAX_PENDING (256u * 1024u * 1024u)

typedef struct ctl_s ctl_t;

/* One complete, non-blank line without its newline (and without a trailing
 * CR), valid for the call. `line` is NULL once for every line longer than
 * CTL_MAX_LINE. */
typedef void (*ctl_line_cb)(ctl_t *ctl, const char *line, size_t len);
/* The connection is gone (EOF, error, or too much unread output). Runs at
 * most once; sends are dropped from then on. */
typedef void (*ctl_lost_cb)(ctl_t *ctl);
/* The output not yet taken by the harness is down to the mark given to
 * ctl_on_drain(). */
typedef void (*ctl_drain_cb)(ctl_t *ctl);

struct ctl_s {
  /* public */
  void *data;
  /* private */
  uv_pipe_t pipe;
  uv_write_t write_req;
  ctl_line_cb on_line;
  ctl_lost_cb on_lost;
  base_lines_t in;           /* lines read, split */
  base_buf_t out;            /* lines not yet handed to the pipe */
  base_buf_t flight;         /* the bytes of the write in progress */
  char chunk[65536];
  ctl_drain_cb on_drain;
  size_t drain_low;
  unsigned writing : 1;
  unsigned open : 1;         /* lines may be sent and received */
  unsigned handle_init : 1;
};

/* Connects to `path` (synchronously, so that a caller's first line is the
 * first the harness sees) and starts reading. */
int ctl_open(uv_loop_t *loop, ctl_t *ctl, const char *path,
             ctl_line_cb on_line, ctl_lost_cb on_lost);

/* Sends `msg` as one line, stamped with "t" (uv_hrtime() nanoseconds,
 * written as exact digits). `msg` stays the caller's. UV_EPIPE once the
 * connection is gone. */
int ctl_send(ctl_t *ctl, const cJSON *msg);
/* As ctl_send(), stamped with `t` (a uv_hrtime() taken earlier). */
int ctl_send_at(ctl_t *ctl, const cJSON *msg, uint64_t t);

/* Bytes sent and not yet taken by the harness's socket: the measure of
 * backpressure (a sender slows down its sources above a mark of its own,
 * well below CTL_MAX_PENDING). */
size_t ctl_pending(const ctl_t *ctl);
/* cb(ctl) runs once, from the loop after a write, as soon as
 * ctl_pending() is at most `low`; a later call replaces it, NULL cancels.
 * It does not run once the connection is gone. */
void ctl_on_drain(ctl_t *ctl, ctl_drain_cb cb, size_t low);

/* Writes everything sent so far before returning, waiting at most `ms`:
 * for a process about to exit(). Only from loop callbacks. */
void ctl_flush_before_exit(ctl_t *ctl, unsigned ms);

/* Stops reading and writing and closes the socket; no callback runs
 * afterwards. The handle closes on the loop. */
void ctl_close(ctl_t *ctl);

/* ---------------------------------------------------------------------- */
/* Commands (ctl-command.c)                                                */

#define CTL_ERROR_MAX 256

typedef struct {
  cJSON *msg;                /* the command object, or NULL when refused */
  cJSON *req;                /* a copy of "req" (number or string) or null */
  const char *cmd;           /* msg's "cmd" */
  char error[CTL_ERROR_MAX]; /* why the line was refused */
} ctl_command_t;

/* Parses one line from ctl_line_cb (NULL: an overlong line). Returns 0 with
 * cmd->msg set, or UV_EINVAL with cmd->error set; cmd->req is always set.
 * Release with ctl_command_free(). */
int ctl_command_parse(const char *line, size_t len, ctl_command_t *cmd);
void ctl_command_free(ctl_command_t *cmd);

/* {"type":"reply","req":<req>} for the caller to complete. */
cJSON *ctl_reply_new(const cJSON *req);
/* Sends {"type":"reply","req":<req>,"ok":false,"error":<error>}. */
int ctl_reply_refuse(ctl_t *ctl, const cJSON *req, const char *error);

/* JavaScript's Number.isInteger(v) && min <= v && v <= max. */
int ctl_is_int(const cJSON *v, double min, double max);
/* A JSON object (not an array, not null). */
int ctl_is_object(const cJSON *v);

#endif /* CTL_H */
