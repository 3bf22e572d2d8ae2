/*
 * worker.h - the worker agent: `clustersim worker [options]`.
 *
 * A cluster worker built on sim/ whose behaviour comes from
 * CLUSTERSIM_WORKER (JSON, docs/protocol.md §4.1) and from its command
 * line; with neither it is an idle worker that goes online and stays up
 * until it is disconnected or killed. With CLUSTERSIM_CONTROL it reports
 * observations to the harness and takes faults from it (§4.2-§4.3); the
 * same faults can be sent by the primary as user messages
 * {"clustersim": "<fault>", ...}.
 */
#ifndef WORKER_H
#define WORKER_H

#define WORKER_MAX_SERVERS 8
#define WORKER_MAX_SIGNALS 8

typedef enum { WORKER_MSG_NONE, WORKER_MSG_ECHO, WORKER_MSG_COUNT,
               WORKER_MSG_REPLY } worker_messages_t;

typedef struct {
  int kind;                  /* http_kind_t */
  char host[64];             /* "" for listen(port) without a host */
  int port;
  int exclusive;
  unsigned close_delay_ms;
  int max_connections;
} worker_server_conf_t;

typedef struct {
  worker_server_conf_t servers[WORKER_MAX_SERVERS];
  int nservers;
  worker_messages_t messages;
  unsigned startup_delay_ms;
  struct {
    int signum;
    int exit_code;           /* -1: ignore */
  } signals[WORKER_MAX_SIGNALS];
  int nsignals;
  char on_listening[32];     /* "" or exit:N, disconnect, kill,
                                ipc-disconnect, close */
} worker_conf_t;

/* Fills `conf` from a CLUSTERSIM_WORKER JSON text (may be NULL) and then
 * from argv (argv[0] is the first option). On error writes a message to
 * `err` and returns UV_EINVAL. */
int worker_conf_parse(worker_conf_t *conf, const char *json, int argc,
                      char **argv, char *err, size_t errlen);

/* The role's entry point; argv starts after "worker". Returns the exit
 * status (it may also exit() directly, as Node's workers do). */
int worker_main(int argc, char **argv);

#endif /* WORKER_H */
