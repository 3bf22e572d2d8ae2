/*
 * worker-internal.h - what the files of the worker agent share: its
 * behaviour (parsed from CLUSTERSIM_WORKER and argv), its servers and its
 * state. Not for other modules: worker.h is the folder's API.
 */
#ifndef WORKER_INTERNAL_H
#define WORKER_INTERNAL_H

#include "ctl.h"
#include "http.h"
#include "sim.h"
#include "worker.h"

#define WORKER_MAX_SERVERS 64
#define WORKER_MAX_SIGNALS 40
/* The longest delay a behaviour or a fault may ask for. */
#define WORKER_MAX_DELAY_MS 600000u
/* Output lines of a behaviour or a fault: entries, bytes, repeats. */
#define WORKER_MAX_OUTPUTS 16
#define WORKER_MAX_LINE 1024
#define WORKER_MAX_REPEAT 10000

typedef enum { WORKER_MSG_NONE, WORKER_MSG_ECHO, WORKER_MSG_COUNT,
               WORKER_MSG_REPLY } worker__messages_t;

/* What on_listening or a signal does. */
typedef enum {
  WORKER_ACT_NONE = 0,
  WORKER_ACT_EXIT,           /* process.exit(code) */
  WORKER_ACT_IGNORE,         /* signals only: observed, nothing else */
  WORKER_ACT_DISCONNECT,     /* cluster.worker.disconnect() */
  WORKER_ACT_KILL,           /* cluster.worker.kill() */
  WORKER_ACT_IPC_DISCONNECT, /* process.disconnect() */
  WORKER_ACT_CLOSE           /* server.close() of the first server */
} worker__act_t;

typedef struct {
  int kind;                  /* http_kind_t (for a UDP socket: unused) */
  int udp;                   /* 4 or 6: a UDP socket (kind udp4/udp6) */
  char host[256];
  int has_host;              /* 0: Node's listen(port) without a host */
  char path[1024];           /* a UNIX socket (http and tcp only) */
  int has_path;
  int port;
  int exclusive;
  unsigned close_delay_ms;
  int max_connections;
} worker__server_conf_t;

/* One output entry: `line` written `repeat` times to fd 1 or 2. */
typedef struct {
  int fd;
  char line[WORKER_MAX_LINE + 1];
  int repeat;
} worker__output_conf_t;

typedef struct {
  worker__server_conf_t servers[WORKER_MAX_SERVERS];
  int nservers;
  worker__messages_t messages;
  unsigned startup_delay_ms;
  struct {
    char name[16];
    int signum;
    worker__act_t act;       /* WORKER_ACT_IGNORE or WORKER_ACT_EXIT */
    int exit_code;
  } signals[WORKER_MAX_SIGNALS];
  int nsignals;
  char on_listening[32];     /* the text as given, "" for none */
  worker__act_t on_listening_act;
  int on_listening_code;
  int adopt;                 /* received handles are served (adopt) */
  int adopt_kind;            /* http_kind_t */
  worker__output_conf_t output[WORKER_MAX_OUTPUTS];
  int noutput;
  /* every argument after `worker` (process.argv.slice(2) of a Node
   * worker), and the program's own among them, after the options; both
   * borrowed from argv */
  int argc;
  char **argv;
  char **args;
  int nargs;
} worker__conf_t;

/* Fills `conf` from a CLUSTERSIM_WORKER JSON text (NULL or "" means {})
 * and then from argv (argv[0] is the first option). On error writes a
 * message to `err` and returns UV_EINVAL. */
int worker__conf_parse(worker__conf_t *conf, const char *json, int argc,
                       char **argv, char *err, size_t errlen);
/* One {"stream","line","repeat"} (of `output`, or of the output fault);
 * `at` names it in errors. */
int worker__conf_output(const cJSON *v, const char *at,
                        worker__output_conf_t *o, char *err, size_t n);

/* How long a tcp connection whose answer went out waits for the peer's
 * end: Node sets no limit; a day stands for none. */
#define WORKER_TCP_LINGER_MS (24u * 3600u * 1000u)

/* Outbound connections the `hold` fault may keep open, in all. */
#define WORKER_MAX_HELD 1000

typedef struct {
  sim_server_t server;
  http_group_t *group;
  const worker__server_conf_t *conf;
  int index;
  uv_timer_t delay;
  int listening;             /* sim_server_listen() succeeded */
  int closing;               /* close started, by anyone */
  int closed;                /* server-close observed */
  int held_for_group;        /* the sim server waits for the http group */
  int draining;              /* tcp: closed, its group ends with its last
                                connection */
  unsigned long datagrams;   /* UDP: datagrams received */
} worker__server_t;

typedef struct {
  uv_loop_t *loop;
  worker__conf_t conf;
  sim_child_t child;
  int in_cluster;            /* cluster.worker exists */
  ctl_t ctl;
  int have_ctl;
  worker__server_t servers[WORKER_MAX_SERVERS];
  uv_signal_t sigs[WORKER_MAX_SIGNALS];
  uv_timer_t startup;
  int started;
  unsigned long count;       /* messages counted by "count" */
  unsigned held;
  int natural_exit;          /* the loop ran out of work */
  int exit_code_set;         /* exiting by an exit(code): isDead() */
} worker__agent_t;

/* The agent: one per process, as the process has one loop and one control
 * connection. Defined in worker.c, shared by the files of the folder. */
extern worker__agent_t worker__agent;

/* worker.c */
/* {"type":"observe","what":...,"worker":id,"pid":pid}: add fields, then
 * worker__observe() sends and frees it. */
cJSON *worker__observation(const char *what);
void worker__observe(cJSON *m);
/* process.exit(code): the `exiting` observation, flushed, then exit. */
void worker__exit(int code);
/* Runs an on_listening action (server = the first server). */
void worker__act(worker__act_t act, int code, worker__server_t *server);

/* worker-servers.c */
void worker__servers_start(void);
/* Closes every server not already closing; returns how many it closed. */
int worker__servers_close_all(void);
void worker__server_close(worker__server_t *s);

/* worker-handles.c */
/* A handle that came with a message: served (socket) or listened on
 * (server) when the behaviour adopts, closed otherwise; observed. Takes
 * `h`. */
void worker__handle_received(const cJSON *message, uv_stream_t *h);
/* Closes every received server listened on; returns how many. */
int worker__handles_close_all(void);
/* The send-handle fault: connects to 127.0.0.1:port and sends that socket
 * to the primary with `message` (NULL: {"clustersim":"handle"}). */
void worker__handles_send_up(int port, const cJSON *message);
/* Writes an output entry (blocking). */
void worker__output(const worker__output_conf_t *o);

/* worker-faults.c */
void worker__faults_on_line(ctl_t *ctl, const char *line, size_t len);

#endif /* WORKER_INTERNAL_H */
