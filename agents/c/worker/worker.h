/*
 * worker.h - the worker agent: `clustersim worker [options]`.
 *
 * A cluster worker built on sim/ whose behaviour comes from
 * CLUSTERSIM_WORKER (JSON, docs/protocol.md §4.1) and, as an extension of
 * the builtin target, from its command line; with neither it is an idle
 * worker that goes online and stays up until it is disconnected or killed.
 * With CLUSTERSIM_CONTROL it reports observations to the harness and takes
 * faults from it (§4.2-§4.3). Outside a cluster (no NODE_UNIQUE_ID) it
 * just applies the behaviour with plain servers. agents/node/worker.js is
 * the reference for every observation, refusal and action.
 */
#ifndef WORKER_H
#define WORKER_H

#include <stddef.h>

#define WORKER_MAX_SERVERS 64
#define WORKER_MAX_SIGNALS 40
/* The longest delay a behaviour or a fault may ask for. */
#define WORKER_MAX_DELAY_MS 600000u

typedef enum { WORKER_MSG_NONE, WORKER_MSG_ECHO, WORKER_MSG_COUNT,
               WORKER_MSG_REPLY } worker_messages_t;

/* What on_listening or a signal does. */
typedef enum {
  WORKER_ACT_NONE = 0,
  WORKER_ACT_EXIT,           /* process.exit(code) */
  WORKER_ACT_IGNORE,         /* signals only: observed, nothing else */
  WORKER_ACT_DISCONNECT,     /* cluster.worker.disconnect() */
  WORKER_ACT_KILL,           /* cluster.worker.kill() */
  WORKER_ACT_IPC_DISCONNECT, /* process.disconnect() */
  WORKER_ACT_CLOSE           /* server.close() of the first server */
} worker_act_t;

typedef struct {
  int kind;                  /* http_kind_t */
  char host[256];
  int has_host;              /* 0: Node's listen(port) without a host */
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
    char name[16];
    int signum;
    worker_act_t act;        /* WORKER_ACT_IGNORE or WORKER_ACT_EXIT */
    int exit_code;
  } signals[WORKER_MAX_SIGNALS];
  int nsignals;
  char on_listening[32];     /* the text as given, "" for none */
  worker_act_t on_listening_act;
  int on_listening_code;
} worker_conf_t;

/* Fills `conf` from a CLUSTERSIM_WORKER JSON text (NULL or "" means {})
 * and then from argv (argv[0] is the first option). On error writes a
 * message to `err` and returns UV_EINVAL. */
int worker_conf_parse(worker_conf_t *conf, const char *json, int argc,
                      char **argv, char *err, size_t errlen);

/* The role's entry point; argv starts after "worker". Returns the exit
 * status (it may also exit() directly, as Node's workers do). */
int worker_main(int argc, char **argv);

#endif /* WORKER_H */
