/*
 * simtest.h - shared machinery of the sim/ tests.
 *
 * Every test is a primary built on sim/: it forks real worker processes,
 * records each event with the worker's flags sampled inside the event
 * callback, runs its loop to completion and then compares what it saw with
 * an expected table.
 *
 * Isolation: each case runs isolated (test_isolate() of tests/support), so
 * a hung or crashing case cannot take the others down and its workers die
 * with its process group. A watchdog timer in the case and a backstop in
 * the test process bound every case.
 */
#ifndef SIMTEST_H
#define SIMTEST_H

#include <stdint.h>
#include <stdio.h>
#include <uv.h>
#include <CUnit/CUnit.h>

#include "sim.h"
#include "test-support.h"

/* A wildcard in expectations. */
#define ST_ANY (-100)
/* in_workers must equal the recorded isConnected() (Node removes a worker
 * at `exit` only when it is already disconnected). */
#define ST_AS_CONN (-101)

/* Pseudo event: the cluster.disconnect() callback ran. */
#define ST_EV_DISCONNECT_CB ((int)SIM_EV_MAX)
/* Pseudo event: a test-specific marker (see st_mark()). */
#define ST_EV_MARK ((int)SIM_EV_MAX + 1)

#define ST_MAX_CLIENTS 32
#define ST_MAX_TIMERS 64

/* One recorded event, flags sampled inside the callback. */
typedef struct {
  int type;                  /* sim_event_type_t or ST_EV_* */
  int emitter;               /* sim_emitter_t */
  unsigned id;               /* worker id, 0 for none */
  int ead;                   /* exitedAfterDisconnect: -1, 0, 1 */
  int conn;                  /* isConnected() */
  int dead;                  /* isDead() */
  int in_workers;            /* sim_worker_in_workers() */
  int in_map;                /* sim_cluster_worker(id) is this worker */
  int64_t code;              /* exit: exit code (-1 when signalled) */
  int sig;                   /* exit: signal */
  char state[16];
  int addr_type;             /* listening */
  int addr_null;
  char addr[64];
  int port;
  int fd;
  char text[512];            /* message JSON or error code */
} st_event_t;

typedef struct st_ctx_s st_ctx_t;
typedef struct st_client_s st_client_t;
typedef struct st_ctl_s st_ctl_t;

/* The harness end of the worker agents' control socket (docs/protocol.md
 * §1, §4.2, §4.3): workers started with CLUSTERSIM_CONTROL=<path> connect,
 * say hello with their id, report observations and take faults. Faults
 * for a worker whose hello has not arrived yet are held until it does. */
#define ST_CTL_CONNS 16
#define ST_CTL_PENDING 32

typedef void (*st_observe_fn)(st_ctl_t *ctl, unsigned id, const char *what,
                              const cJSON *obs);

typedef struct {
  uv_pipe_t pipe;
  st_ctl_t *ctl;
  unsigned id;               /* 0 until hello */
  int open;
  size_t len;
  char buf[8192];
} st_ctl_conn_t;

struct st_ctl_s {
  uv_loop_t *loop;
  uv_pipe_t server;
  int open;
  char path[108];
  char env[128];             /* "CLUSTERSIM_CONTROL=<path>" */
  st_ctl_conn_t conns[ST_CTL_CONNS];
  int nconns;
  struct {
    unsigned id;
    char *line;
  } pending[ST_CTL_PENDING];
  int npending;
  st_observe_fn on_observe;
  void *data;
};

/* Listens on a fresh socket path on `loop`. */
int st_ctl_start(uv_loop_t *loop, st_ctl_t *ctl, st_observe_fn on_observe);
/* Sends a fault command line (JSON text) to worker `id`. */
int st_ctl_fault(st_ctl_t *ctl, unsigned id, const char *json);
/* Closes the server and every connection, removes the socket path. */
void st_ctl_close(st_ctl_t *ctl);

typedef void (*st_event_fn)(st_ctx_t *t, const sim_event_t *ev,
                            const st_event_t *rec);
typedef void (*st_timer_fn)(st_ctx_t *t, void *arg);

/* A client connection on the test's loop: connects to 127.0.0.1:port,
 * optionally writes a request, reads until EOF. */
struct st_client_s {
  uv_tcp_t tcp;
  uv_connect_t connect_req;
  uv_write_t write_req;
  st_ctx_t *ctx;
  int status;                /* connect status (0 or UV_E*) */
  int connected;
  int eof;                   /* the server ended its side */
  int read_error;
  int done;                  /* `done` ran */
  int open;                  /* handle not yet closed */
  int worker;                /* X-Worker header, -1 if none */
  size_t len;
  char buf[2048];
  void (*done_cb)(st_client_t *c);
  void *data;
};

typedef struct {
  uv_timer_t timer;
  st_ctx_t *ctx;
  st_timer_fn fn;
  void *arg;
} st_timer_slot_t;

struct st_ctx_s {
  uv_loop_t loop;
  sim_cluster_t cluster;
  st_event_fn on_event;
  /* Optional: closes the case's own handles when the case ends. */
  void (*on_finish)(st_ctx_t *t);
  /* Optional: an observation from a worker agent. */
  void (*on_observe)(st_ctx_t *t, unsigned id, const char *what,
                     const cJSON *obs);
  st_ctl_t ctl;
  int have_ctl;
  void *data;
  st_event_t *ev;
  size_t nev;
  size_t cap;
  uv_timer_t watchdog;
  int finishing;
  int finished;
  st_client_t *clients[ST_MAX_CLIENTS];
  int nclients;
  st_timer_slot_t timers[ST_MAX_TIMERS];
  int ntimers;
  /* Set by on_event to keep the handle of a message event (ev->handle);
   * otherwise it is closed after on_event returns. */
  int handle_taken;
};

/* The expected life of one worker, as seen by the primary. */
typedef struct {
  int listening;             /* number of `listening` events */
  int ead_listening;         /* exitedAfterDisconnect at `listening` */
  int errors;                /* number of `error` events after online */
  const char *error_code;    /* their code, NULL: any */
  int online;                /* 1: `online` expected (0 for a spawn
                                failure or a peer that never says it) */
  int disconnect;            /* 1: a `disconnect` pair is expected */
  int exit;                  /* 1: an `exit` pair is expected */
  int ead;                   /* at `disconnect` and `exit` */
  int removed_early;         /* out of cluster.workers at `disconnect`
                                whatever the order (primary disconnect) */
  int64_t code;
  int sig;
} st_life_t;

/* ---------------------------------------------------------------------- */
/* Paths and processes                                                     */

const char *st_clustersim(void);          /* $CLUSTERSIM */
const char *st_srcdir(void);              /* $SIMTEST_DIR */
const char *st_self(void);                /* this test executable */
/* Absolute path of `name` on $PATH, or NULL. */
const char *st_which(const char *name);

/* ---------------------------------------------------------------------- */
/* Running a case                                                          */

/* test_isolate() with the case's events dumped when it failed (or with
 * SIMTEST_DUMP=1) and its control sockets removed when it was killed. */
void st_isolate(void (*body)(void), unsigned timeout_ms);

/* Sets up loop and cluster (`t` must be static: a failed case dumps its
 * events after the body returned); `policy` is SIM_SCHED_* or 0 for the
 * default; `args` is the worker's argv after the program (for instance
 * {"worker", "--http", "127.0.0.1:0", NULL}); `exec` NULL means the
 * clustersim executable. */
void st_init(st_ctx_t *t, int policy, const char *exec,
             const char *const *args, st_event_fn on_event);
/* Sets the worker argv for later forks (cumulative setupPrimary). */
void st_setup(st_ctx_t *t, const char *exec, const char *const *args);
sim_worker_t *st_fork(st_ctx_t *t);
/* st_fork() with fork(env): NULL-terminated "K=V" pairs or NULL. */
sim_worker_t *st_fork_env(st_ctx_t *t, const char *const *env);
/* Every case runs a control socket (CLUSTERSIM_CONTROL in the workers'
 * environment): each observation of a worker agent is recorded as an
 * ST_EV_MARK event "observe:<what>" and passed to t->on_observe.
 * A fault for worker `id` over its control connection, e.g.
 * "{\"cmd\":\"crash\",\"code\":42}". */
int st_fault(st_ctx_t *t, unsigned id, const char *json);
/* Runs the loop until st_finish() has completed, with a watchdog of
 * `timeout_ms`; then closes the loop and checks that nothing leaked. */
void st_run(st_ctx_t *t, unsigned timeout_ms);
/* Ends the case on a later loop turn (never inside a sim callback, so
 * the event being emitted reaches both emitters). */
void st_finish(st_ctx_t *t);
void st_finish_after(st_ctx_t *t, unsigned ms);
/* One-shot timer on the case's loop, closed at the end of the case. */
void st_timer(st_ctx_t *t, unsigned ms, st_timer_fn fn, void *arg);
/* Appends a blank event (every flag ST_ANY) for the caller to fill: how
 * a record made elsewhere (a Node primary's summary) joins the checks. */
st_event_t *st_append(st_ctx_t *t);
/* Appends a marker event (for instance: "a callback ran here"). */
void st_mark(st_ctx_t *t, int type, unsigned id, const char *text);

/* ---------------------------------------------------------------------- */
/* Checks                                                                  */

/* Invariants every case must hold: each Worker-emitter event of
 * online/listening/disconnect/exit is followed at once by the cluster
 * event with the same flags; each cluster `message` by the Worker one;
 * in_workers always agrees with sim_cluster_worker(). */
void st_check_pairs(st_ctx_t *t);
/* The life of worker `id` against `life` (message events ignored). */
void st_check_life(st_ctx_t *t, unsigned id, const st_life_t *life);
/* Number of events of `type` for worker `id` (0: any) and emitter (or
 * ST_ANY). */
int st_count(const st_ctx_t *t, unsigned id, int type, int emitter);
/* Index of the first event of `type` for `id`, -1 if none. */
int st_find(const st_ctx_t *t, unsigned id, int type, int emitter);
void st_dump(const st_ctx_t *t, FILE *f);
const char *st_event_name(int type);

/* ---------------------------------------------------------------------- */
/* Messages                                                                */

/* Sends a JSON text (parsed here) to a worker. */
int st_send(sim_worker_t *w, const char *json);

/* ---------------------------------------------------------------------- */
/* Clients                                                                 */

/* HTTP GET with `Connection: close`; done_cb runs at EOF or error. */
int st_client_get(st_ctx_t *t, st_client_t *c, int port,
                  void (*done_cb)(st_client_t *c));
/* Connect only (no request); done_cb runs at EOF or error. */
int st_client_connect(st_ctx_t *t, st_client_t *c, int port,
                      void (*done_cb)(st_client_t *c));
void st_client_close(st_client_t *c);

/* ---------------------------------------------------------------------- */
/* main()                                                                  */

/* `<test program> --sim-worker MODE`: a worker written on sim_child_*
 * alone, trusting the library for every exit (no agent logic): it listens
 * on 127.0.0.1:0 through the primary and, inside the listen callback,
 * does what MODE says: "listen" (nothing), "kill-in-listen-cb",
 * "ipc-disconnect-in-listen-cb" or "disconnect-in-listen-cb". */
int st_sim_worker(const char *mode);

/* The roles every sim test program has, for test_main(). */
extern const test_role_t st_roles[];

#endif /* SIMTEST_H */
