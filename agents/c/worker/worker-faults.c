/*
 * worker-faults.c - faults the harness injects over a worker's control
 * connection (docs/protocol.md §4.3). Each is checked first, refused with
 * one reply if it cannot apply, else observed as `fault` and then applied,
 * as agents/node/lib/worker-faults.cjs does.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "worker-internal.h"

typedef enum {
  WORKER_FAULT_CRASH, WORKER_FAULT_THROW, WORKER_FAULT_HANG,
  WORKER_FAULT_IPC_DISCONNECT, WORKER_FAULT_KILL, WORKER_FAULT_DISCONNECT,
  WORKER_FAULT_CLOSE_SERVERS, WORKER_FAULT_SEND, WORKER_FAULT_HOLD,
  WORKER_FAULT_SEND_HANDLE, WORKER_FAULT_OUTPUT, WORKER_FAULT_TIMER,
  WORKER_FAULT_MAX
} worker_fault_t;

static const char *const worker_fault_names[WORKER_FAULT_MAX] = {
  "crash", "throw", "hang", "ipc-disconnect", "kill", "disconnect",
  "close-servers", "send", "hold", "send-handle", "output", "timer"
};

typedef struct {
  worker_fault_t fault;
  int code;
  int ms;                    /* hang, timer; crash: hold_channel_ms */
  int connections;
  int port;
  const cJSON *message;
  worker__output_conf_t output;
} worker_fault_args_t;

static int worker_fault_refuse(char *err, size_t n, const char *text)
{
  snprintf(err, n, "%s", text);
  return UV_EINVAL;
}

/* An optional integer field in min..max; `dflt` when absent. */
static int worker_fault_int(const cJSON *m, const char *key, int min, int max,
                            int dflt, int *out, char *err, size_t n)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, key);

  if (v == NULL) {
    *out = dflt;
    return 0;
  }
  if (!ctl_is_int(v, min, max)) {
    snprintf(err, n, "%s must be an integer in %d..%d", key, min, max);
    return UV_EINVAL;
  }
  *out = (int)v->valuedouble;
  return 0;
}

static int worker_fault_need_channel(char *err, size_t n)
{
  /* Node would end the worker with an uncaught ERR_IPC_* here; a fault
   * that cannot apply is refused instead. */
  if (!worker__agent.in_cluster ||
      !sim_child_is_connected(&worker__agent.child))
    return worker_fault_refuse(err, n, "the IPC channel is closed");
  return 0;
}

/* The fields of an output fault are those of a behaviour's output entry
 * (cmd and req aside). */
static int worker_fault_output(const cJSON *m, worker__output_conf_t *o,
                               char *err, size_t n)
{
  cJSON *fields = cJSON_Duplicate(m, 1);
  int rc;

  if (fields == NULL)
    return worker_fault_refuse(err, n, "out of memory");
  cJSON_DeleteItemFromObjectCaseSensitive(fields, "cmd");
  cJSON_DeleteItemFromObjectCaseSensitive(fields, "req");
  rc = worker__conf_output(fields, "output", o, err, n);
  cJSON_Delete(fields);
  return rc;
}

/* `hold_channel_ms` asks for a channel to hold: there must be one. */
static int worker_fault_crash(const cJSON *m, worker_fault_args_t *a,
                              char *err, size_t n)
{
  if (worker_fault_int(m, "code", 0, 255, 1, &a->code, err, n) != 0 ||
      worker_fault_int(m, "hold_channel_ms", 0, (int)WORKER_MAX_DELAY_MS, 0,
                       &a->ms, err, n) != 0)
    return UV_EINVAL;
  return a->ms > 0 ? worker_fault_need_channel(err, n) : 0;
}

static int worker_fault_prepare(const cJSON *m, worker_fault_args_t *a,
                                char *err, size_t n)
{
  switch (a->fault) {
  case WORKER_FAULT_CRASH:
    return worker_fault_crash(m, a, err, n);
  case WORKER_FAULT_HANG:
    if (worker_fault_int(m, "ms", 0, (int)WORKER_MAX_DELAY_MS, -1, &a->ms,
                         err, n) != 0)
      return UV_EINVAL;
    if (a->ms < 0)
      return worker_fault_refuse(err, n, "missing \"ms\"");
    return 0;
  case WORKER_FAULT_IPC_DISCONNECT:
    return worker_fault_need_channel(err, n);
  case WORKER_FAULT_KILL:
    /* worker.kill(signal): the signal is ignored, as Node ignores it */
    if (cJSON_GetObjectItemCaseSensitive(m, "signal") != NULL &&
        !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(m, "signal")))
      return worker_fault_refuse(err, n, "signal must be a name such as "
                                         "\"SIGKILL\"");
    /* fall through */
  case WORKER_FAULT_DISCONNECT:
    if (!worker__agent.in_cluster)
      return worker_fault_refuse(err, n, "not a cluster worker");
    return 0;
  case WORKER_FAULT_TIMER:
    if (worker_fault_int(m, "ms", 0, (int)WORKER_MAX_DELAY_MS, -1, &a->ms,
                         err, n) != 0)
      return UV_EINVAL;
    if (a->ms < 0)
      return worker_fault_refuse(err, n, "missing \"ms\"");
    return 0;
  case WORKER_FAULT_SEND:
    a->message = cJSON_GetObjectItemCaseSensitive(m, "message");
    if (a->message == NULL)
      return worker_fault_refuse(err, n, "missing \"message\"");
    return worker_fault_need_channel(err, n);
  case WORKER_FAULT_HOLD:
    if (worker_fault_int(m, "connections", 1, WORKER_MAX_HELD, 1,
                         &a->connections, err, n) != 0 ||
        worker_fault_int(m, "port", 1, 65535, 0, &a->port, err, n) != 0)
      return UV_EINVAL;
    if (a->port == 0)
      return worker_fault_refuse(err, n, "missing \"port\"");
    return 0;
  case WORKER_FAULT_SEND_HANDLE:
    if (worker_fault_int(m, "port", 1, 65535, 0, &a->port, err, n) != 0)
      return UV_EINVAL;
    if (a->port == 0)
      return worker_fault_refuse(err, n, "missing \"port\"");
    a->message = cJSON_GetObjectItemCaseSensitive(m, "message");
    return worker_fault_need_channel(err, n);
  case WORKER_FAULT_OUTPUT:
    return worker_fault_output(m, &a->output, err, n);
  default:
    return 0;
  }
}

/* ---------------------------------------------------------------------- */
/* hang and hold                                                           */

/* Blocks the event loop on purpose, as a busy JavaScript loop does, but
 * without burning a core. */
static void worker_fault_hang(int ms)
{
  struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
}

static void worker_held_closed(uv_handle_t *h)
{
  free(h);
}

static void worker_held_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
  static char sink[4096];

  (void)h;
  (void)hint;
  buf->base = sink;
  buf->len = sizeof(sink);
}

static void worker_held_read(uv_stream_t *s, ssize_t nread,
                             const uv_buf_t *buf)
{
  (void)buf;
  /* What the peer sends is dropped; its end ends ours. */
  if (nread < 0 && !uv_is_closing((uv_handle_t *)s))
    uv_close((uv_handle_t *)s, worker_held_closed);
}

static void worker_held_connected(uv_connect_t *req, int status)
{
  uv_stream_t *s = req->handle;

  free(req);
  if (status != 0 || uv_read_start(s, worker_held_alloc,
                                   worker_held_read) != 0) {
    if (!uv_is_closing((uv_handle_t *)s))
      uv_close((uv_handle_t *)s, worker_held_closed);
  }
}

/* Open outbound connections keep a worker alive after its disconnect, as
 * in Node; they stay open until the peer ends them. */
static void worker_fault_hold(int connections, int port)
{
  struct sockaddr_in sa;

  if (uv_ip4_addr("127.0.0.1", port, &sa) != 0)
    return;
  for (int i = 0; i < connections && worker__agent.held < WORKER_MAX_HELD;
       i++) {
    uv_tcp_t *t = malloc(sizeof(*t));
    uv_connect_t *req = malloc(sizeof(*req));
    if (t == NULL || req == NULL || uv_tcp_init(worker__agent.loop, t) != 0) {
      free(t);
      free(req);
      return;
    }
    worker__agent.held++;
    if (uv_tcp_connect(req, t, (struct sockaddr *)&sa,
                       worker_held_connected) != 0) {
      free(req);
      uv_close((uv_handle_t *)t, worker_held_closed);
    }
  }
}

/* ---------------------------------------------------------------------- */
/* crash with hold_channel_ms                                              */

/* The process that holds the channel: what Node's spawn() gives a child
 * (default signal dispositions, nothing blocked, no descriptor but the
 * ones it shares), then a sleep. Only async-signal-safe calls: it is a
 * fork of a process with threads. */
static void worker_channel_keeper(int fd, const struct timespec *until)
    __attribute__((noreturn));

static void worker_channel_keeper(int fd, const struct timespec *until)
{
  sigset_t none;
  int sig;

  sigemptyset(&none);
  (void)sigprocmask(SIG_SETMASK, &none, NULL);
  /* libuv's handlers would swallow the harness's signals here */
  for (sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP)
      (void)signal(sig, SIG_DFL);
  /* the control socket, servers and stdio stay the worker's alone, so
   * their ends come with the worker's exit */
  if ((fd > 0 && close_range(0, (unsigned)fd - 1, 0) != 0) ||
      close_range((unsigned)fd + 1, ~0u, 0) != 0)
    for (int i = 0; i < 65536; i++)
      if (i != fd)
        (void)close(i);
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, until, NULL) ==
         EINTR)
    ;
  _exit(0);
}

/* A child in the worker's process group that shares the IPC channel and
 * ends by itself after `ms`: the primary reads the channel's end only
 * then, after the worker's exit, as when a Node worker's spawn() shares
 * fd 3 (stdio [..., 3]). Best effort: without it the worker still exits. */
static void worker_fault_hold_channel(int ms)
{
  int fd = sim_child_channel_fd(&worker__agent.child);
  struct timespec until;

  if (fd < 0 || clock_gettime(CLOCK_MONOTONIC, &until) != 0)
    return;
  until.tv_sec += ms / 1000;
  until.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  if (fork() == 0)
    worker_channel_keeper(fd, &until);
}

/* ---------------------------------------------------------------------- */
/* timer                                                                   */

static void worker_timer_closed(uv_handle_t *h)
{
  free(h);
}

static void worker_timer_fired(uv_timer_t *t)
{
  cJSON *m = worker__observation("timer");

  if (m != NULL)
    cJSON_AddNumberToObject(m, "ms", (double)(uintptr_t)t->data);
  worker__observe(m);
  uv_close((uv_handle_t *)t, worker_timer_closed);
}

/* A pending timer, as setTimeout's: it keeps the worker alive. */
static void worker_fault_timer(int ms)
{
  uv_timer_t *t = malloc(sizeof(*t));

  if (t == NULL || uv_timer_init(worker__agent.loop, t) != 0) {
    free(t);
    return;
  }
  t->data = (void *)(uintptr_t)ms;
  if (uv_timer_start(t, worker_timer_fired, (uint64_t)ms, 0) != 0)
    uv_close((uv_handle_t *)t, worker_timer_closed);
}

/* ---------------------------------------------------------------------- */
/* The control connection                                                  */

/* Applies a fault; what its call returned (as a probe shows it), or NULL
 * for undefined. */
static cJSON *worker_fault_apply(const worker_fault_args_t *a)
{
  switch (a->fault) {
  case WORKER_FAULT_CRASH:
    if (a->ms > 0)
      worker_fault_hold_channel(a->ms);
    worker__exit(a->code);
    break;
  case WORKER_FAULT_THROW:
    fprintf(stderr, "Error: clustersim: injected uncaught error\n");
    worker__exit(1);
    break;
  case WORKER_FAULT_HANG:
    worker_fault_hang(a->ms);
    break;
  case WORKER_FAULT_IPC_DISCONNECT:
    worker__act(WORKER_ACT_IPC_DISCONNECT, 0, NULL);
    break;
  case WORKER_FAULT_KILL:
    worker__act(WORKER_ACT_KILL, 0, NULL);
    break;
  case WORKER_FAULT_DISCONNECT: {
    /* cluster.worker.disconnect() returns the worker */
    cJSON *w = cJSON_CreateObject();
    worker__act(WORKER_ACT_DISCONNECT, 0, NULL);
    if (w != NULL)
      cJSON_AddNumberToObject(w, "worker", worker__agent.child.id);
    return w;
  }
  case WORKER_FAULT_CLOSE_SERVERS:
    return cJSON_CreateNumber(worker__servers_close_all());
  case WORKER_FAULT_SEND:
    return cJSON_CreateBool(sim_child_send(&worker__agent.child, a->message,
                                           NULL, NULL, NULL) == 0);
  case WORKER_FAULT_HOLD:
    worker_fault_hold(a->connections, a->port);
    break;
  case WORKER_FAULT_SEND_HANDLE:
    worker__handles_send_up(a->port, a->message);
    break;
  case WORKER_FAULT_OUTPUT:
    worker__output(&a->output);
    break;
  case WORKER_FAULT_TIMER:
    worker_fault_timer(a->ms);
    break;
  default:
    break;
  }
  return NULL;
}

/* {"fault": cmd, ...the command's other fields}, spread over the
 * observation as JavaScript's object spread does. */
static cJSON *worker_fault_observation(const char *name, const cJSON *msg)
{
  cJSON *m = worker__observation("fault");
  const cJSON *item;

  if (m == NULL)
    return NULL;
  cJSON_AddStringToObject(m, "fault", name);
  cJSON_ArrayForEach(item, msg) {
    cJSON *copy;
    if (strcmp(item->string, "cmd") == 0 || strcmp(item->string, "req") == 0)
      continue;
    copy = cJSON_Duplicate(item, 1);
    if (copy == NULL)
      continue;
    if (cJSON_GetObjectItemCaseSensitive(m, item->string) != NULL)
      cJSON_ReplaceItemInObjectCaseSensitive(m, item->string, copy);
    else
      cJSON_AddItemToObject(m, item->string, copy);
  }
  return m;
}

static void worker_fault_probe(const char *name, const cJSON *req,
                               cJSON *returned)
{
  cJSON *m = worker__observation("probe");

  if (m == NULL) {
    cJSON_Delete(returned);
    return;
  }
  cJSON_AddStringToObject(m, "fault", name);
  cJSON_AddItemToObject(m, "req", req != NULL ? cJSON_Duplicate(req, 1)
                                              : cJSON_CreateNull());
  cJSON_AddItemToObject(m, "returned", returned != NULL
                                           ? returned
                                           : cJSON_CreateNull());
  worker__observe(m);
}

void worker__faults_on_line(ctl_t *ctl, const char *line, size_t len)
{
  worker_fault_args_t args = { 0 };
  cJSON *returned;
  char err[CTL_ERROR_MAX];
  ctl_command_t c;
  int i;

  if (ctl_command_parse(line, len, &c) != 0) {
    (void)ctl_reply_refuse(ctl, c.req, c.error[0] ? c.error : "out of memory");
    goto out;
  }
  for (i = 0; i < WORKER_FAULT_MAX; i++)
    if (strcmp(c.cmd, worker_fault_names[i]) == 0)
      break;
  if (i == WORKER_FAULT_MAX) {
    snprintf(err, sizeof(err), "unknown fault \"%s\"", c.cmd);
    (void)ctl_reply_refuse(ctl, c.req, err);
    goto out;
  }
  args.fault = (worker_fault_t)i;
  if (worker_fault_prepare(c.msg, &args, err, sizeof(err)) != 0) {
    (void)ctl_reply_refuse(ctl, c.req, err);
    goto out;
  }
  worker__observe(worker_fault_observation(worker_fault_names[i], c.msg));
  returned = worker_fault_apply(&args);
  /* `probe`: the worker's view right after the call, in the same turn */
  if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c.msg, "probe")))
    worker_fault_probe(worker_fault_names[i], c.req, returned);
  else
    cJSON_Delete(returned);

out:
  ctl_command_free(&c);
}
