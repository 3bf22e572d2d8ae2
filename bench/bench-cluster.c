/*
 * bench-cluster.c - the C side of bench/run.sh: a sim/ primary timing its
 * workers, the bare floors, and the workers themselves (one binary,
 * re-executed in every role).
 *
 *   bench-cluster MODE [-t TARGET] [-n N] [-r RUNS] [-b BATCH] [-p POLICY]
 *                 [-- EXEC ARGS...]
 *
 * Primary modes (figures named as in bench.h):
 *   fork         N workers at once, RUNS times: start.fork-online (N = 1)
 *                or start.online-N
 *   respawn      RUNS times SIGKILL -> exit -> fork -> online
 *   pingpong     N round trips of {"n":i} / {"echo":{"n":i}}
 *   oneway-up    the worker sends N messages, BATCH per loop turn
 *   oneway-down  the primary sends N messages, BATCH per loop turn
 *   serve        N HTTP workers (POLICY rr or none) until SIGTERM/SIGINT:
 *                prints `listening PORT` once all listen
 * Floors (no libuv, no sim/): floor-pingpong N, floor-oneway N,
 * floor-spawn RUNS. Roles: worker (bench-worker.c), floor-child.
 *
 * TARGET names the worker: `builtin` (default) runs `clustersim worker`,
 * the worker agent of the builtin target; `sim` runs this program's own
 * bare sim/ worker; after `--` any other command (a Node worker, say).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "sim.h"

#define BENCH_MAX_WORKERS 4096

typedef struct {
  const char *name;
  void (*start)(void);
  void (*on_event)(const sim_event_t *ev);
} bench_mode_t;

static struct {
  uv_loop_t *loop;
  sim_cluster_t cluster;
  const bench_mode_t *mode;
  const char *target;
  unsigned n, runs, batch, run, online, exited, count, sent;
  double forked_at[BENCH_MAX_WORKERS + 1];
  double t0, run_start;
  int policy;
  int failed;
  int stopping;
  uv_timer_t watchdog;
  uv_signal_t sigterm, sigint;
} B;

void bench_figure(const char *name, const char *target, const char *unit,
                  double value)
{
  printf("figure %s %s %s %.6g\n", name, target, unit, value);
  fflush(stdout);
}

double bench_now(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---------------------------------------------------------------------- */
/* Helpers                                                                 */

static void bench_stop(void)
{
  if (B.stopping)
    return;
  B.stopping = 1;
  (void)sim_cluster_disconnect(&B.cluster, NULL, NULL);
}

static void bench_fork_one(void)
{
  /* Timed from before the call: uv_spawn() itself waits for the exec. */
  double t = bench_now();
  sim_worker_t *w;

  if (sim_cluster_fork(&B.cluster, NULL, &w) != 0) {
    B.failed = 1;
    uv_stop(B.loop);
    return;
  }
  B.forked_at[sim_worker_id(w) % (BENCH_MAX_WORKERS + 1)] = t;
}

static void bench_send(sim_worker_t *w, const char *key, double v,
                       sim_send_cb cb)
{
  cJSON *m = cJSON_CreateObject();

  if (m == NULL)
    return;
  cJSON_AddNumberToObject(m, key, v);
  (void)sim_worker_send(w, m, NULL, cb, w);
  cJSON_Delete(m);
}

/* ---------------------------------------------------------------------- */
/* fork and respawn                                                        */

static void fork_start_run(void)
{
  B.online = 0;
  B.run_start = bench_now();
  for (unsigned i = 0; i < B.n; i++)
    bench_fork_one();
}

static void fork_on_event(const sim_event_t *ev)
{
  double now = bench_now();
  char name[64];

  if (ev->type == SIM_EV_ONLINE) {
    unsigned id = sim_worker_id(ev->worker);
    if (B.n == 1)
      bench_figure("start.fork-online", B.target, "ms",
                   (now - B.forked_at[id % (BENCH_MAX_WORKERS + 1)]) * 1e3);
    if (++B.online < B.n)
      return;
    if (B.n > 1) {
      snprintf(name, sizeof(name), "start.online-%u", B.n);
      bench_figure(name, B.target, "ms", (now - B.run_start) * 1e3);
    }
    (void)sim_cluster_disconnect(&B.cluster, NULL, NULL);
  } else if (ev->type == SIM_EV_EXIT && ++B.exited == B.n) {
    /* Membership empties at disconnect(), before the exits: count exits
     * instead. */
    B.exited = 0;
    if (++B.run == B.runs)
      uv_stop(B.loop);
    else
      fork_start_run();
  }
}

static void respawn_start(void)
{
  bench_fork_one();
}

static void respawn_on_event(const sim_event_t *ev)
{
  double now = bench_now();

  if (ev->type == SIM_EV_ONLINE) {
    if (B.run > 0)
      bench_figure("start.respawn", B.target, "ms", (now - B.t0) * 1e3);
    if (B.run++ == B.runs) {
      bench_stop();
      return;
    }
    /* A crash from outside, the same on both sides of bench/run.sh. */
    B.t0 = bench_now();
    (void)sim_worker_kill(ev->worker, SIGKILL);
  } else if (ev->type == SIM_EV_EXIT) {
    if (B.run > B.runs)
      uv_stop(B.loop);
    else
      bench_fork_one();
  }
}

/* ---------------------------------------------------------------------- */
/* IPC                                                                     */

static void ipc_start(void)
{
  bench_fork_one();
}

static void ipc_done(const char *name, const char *unit)
{
  bench_figure(name, B.target, unit, B.n / (bench_now() - B.t0));
  bench_stop();
}

static void pingpong_on_event(const sim_event_t *ev)
{
  if (ev->type == SIM_EV_ONLINE) {
    B.t0 = bench_now();
    bench_send(ev->worker, "n", 0, NULL);
  } else if (ev->type == SIM_EV_MESSAGE && !B.stopping) {
    if (++B.count == B.n)
      ipc_done("ipc.pingpong", "rtt/s");
    else
      bench_send(ev->worker, "n", B.count, NULL);
  } else if (ev->type == SIM_EV_EXIT) {
    uv_stop(B.loop);
  }
}

static void up_on_event(const sim_event_t *ev)
{
  if (ev->type == SIM_EV_ONLINE) {
    cJSON *m = cJSON_CreateObject();
    if (m == NULL)
      return;
    cJSON_AddNumberToObject(m, "flood", B.n);
    cJSON_AddNumberToObject(m, "batch", B.batch);
    B.t0 = bench_now();
    (void)sim_worker_send(ev->worker, m, NULL, NULL, NULL);
    cJSON_Delete(m);
  } else if (ev->type == SIM_EV_MESSAGE && !B.stopping) {
    if (++B.count == B.n)
      ipc_done("ipc.oneway.up", "msgs/s");
  } else if (ev->type == SIM_EV_EXIT) {
    uv_stop(B.loop);
  }
}

/* The next BATCH messages leave once the last of the previous ones has
 * been written: a sender that honours back-pressure, as Node's does. */
static void down_batch(int status, void *arg)
{
  sim_worker_t *w = arg;

  if (status != 0)
    return;
  for (unsigned k = 0; k < B.batch && B.sent < B.n; k++) {
    int last = k + 1 == B.batch && B.sent + 1 < B.n;
    bench_send(w, "n", B.sent++, last ? down_batch : NULL);
  }
}

static void down_on_event(const sim_event_t *ev)
{
  if (ev->type == SIM_EV_ONLINE) {
    B.t0 = bench_now();
    bench_send(ev->worker, "sink", B.n, NULL);
    down_batch(0, ev->worker);
  } else if (ev->type == SIM_EV_MESSAGE && !B.stopping) {
    ipc_done("ipc.oneway.down", "msgs/s");
  } else if (ev->type == SIM_EV_EXIT) {
    uv_stop(B.loop);
  }
}

/* ---------------------------------------------------------------------- */
/* serve                                                                   */

static void serve_start(void)
{
  for (unsigned i = 0; i < B.n; i++)
    bench_fork_one();
}

static void serve_on_event(const sim_event_t *ev)
{
  if (ev->type == SIM_EV_LISTENING && ++B.online == B.n) {
    printf("listening %d\n", ev->address->port);
    fflush(stdout);
  } else if (ev->type == SIM_EV_EXIT && ++B.exited == B.n) {
    uv_stop(B.loop);
  }
}

static void on_signal(uv_signal_t *h, int signum)
{
  (void)signum;
  uv_signal_stop(&B.sigterm);
  uv_signal_stop(&B.sigint);
  bench_stop();
}

/* ---------------------------------------------------------------------- */
/* main                                                                    */

static const bench_mode_t modes[] = {
  { "fork", fork_start_run, fork_on_event },
  { "respawn", respawn_start, respawn_on_event },
  { "pingpong", ipc_start, pingpong_on_event },
  { "oneway-up", ipc_start, up_on_event },
  { "oneway-down", ipc_start, down_on_event },
  { "serve", serve_start, serve_on_event },
};

static void on_event(sim_cluster_t *c, const sim_event_t *ev)
{
  (void)c;
  if (ev->type == SIM_EV_ERROR) {
    fprintf(stderr, "bench-cluster: worker %u: %s\n",
            sim_worker_id(ev->worker), ev->error_message);
    B.failed = 1;
    return;
  }
  if (ev->emitter == SIM_ON_CLUSTER)
    B.mode->on_event(ev);
}

static void on_watchdog(uv_timer_t *t)
{
  (void)t;
  fprintf(stderr, "bench-cluster: watchdog fired, stopping\n");
  B.failed = 1;
  uv_stop(B.loop);
}

static void on_closed(sim_cluster_t *c)
{
  (void)c;
}

static int usage(void)
{
  fprintf(stderr,
          "usage: bench-cluster MODE [-t TARGET] [-n N] [-r RUNS] "
          "[-b BATCH] [-p rr|none] [-- EXEC ARGS...]\n"
          "modes: fork respawn pingpong oneway-up oneway-down serve "
          "floor-pingpong floor-oneway floor-spawn\n");
  return 2;
}

/* Options after MODE; the index of the first EXEC argument, or argc. */
static int parse_options(int argc, char **argv)
{
  int i;

  B.target = "builtin";
  B.n = 1;
  B.runs = 1;
  B.batch = 256;
  B.policy = SIM_SCHED_RR;
  /* Options come in pairs: each turn takes an option and its value. */
  for (i = 2; i < argc; i += 2) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--") == 0)
      return i + 1;
    if (v == NULL)
      return -1;
    if (strcmp(a, "-t") == 0)
      B.target = v;
    else if (strcmp(a, "-n") == 0)
      B.n = (unsigned)strtoul(v, NULL, 10);
    else if (strcmp(a, "-r") == 0)
      B.runs = (unsigned)strtoul(v, NULL, 10);
    else if (strcmp(a, "-b") == 0)
      B.batch = (unsigned)strtoul(v, NULL, 10);
    else if (strcmp(a, "-p") == 0)
      B.policy = strcmp(v, "none") == 0 ? SIM_SCHED_NONE : SIM_SCHED_RR;
    else
      return -1;
  }
  return argc;
}

/* The worker command: after `--`, else by target. */
static int setup_workers(const char *self, int argc, char **argv, int first)
{
  static char agent[4096];
  static const char *agent_echo[] = { "worker", "--messages", "echo", NULL };
  static const char *agent_http[] = { "worker", "--http", "127.0.0.1:0",
                                      NULL };
  static const char *bare[] = { "worker", NULL };
  sim_settings_t s = { 0 };
  const char *slash;

  if (first < argc) {
    s.exec = argv[first];
    s.args = (const char *const *)(argv + first + 1);
    s.args_set = 1;
  } else if (strcmp(B.target, "sim") == 0) {
    s.exec = self;
    s.args = bare;
  } else {
    /* The clustersim binary sits at the root of the build tree. */
    slash = strrchr(self, '/');
    snprintf(agent, sizeof(agent), "%.*s/../clustersim",
             slash != NULL ? (int)(slash - self) : 1,
             slash != NULL ? self : ".");
    s.exec = agent;
    s.args = strcmp(B.mode->name, "serve") == 0 ? agent_http : agent_echo;
  }
  B.cluster.scheduling_policy = B.policy;
  return sim_cluster_setup(&B.cluster, &s);
}

/* Each worker holds a descriptor in the primary: thousands need more than
 * the usual soft limit. */
static void raise_fd_limit(void)
{
  struct rlimit rl;

  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max)
    return;
  rl.rlim_cur = rl.rlim_max;
  (void)setrlimit(RLIMIT_NOFILE, &rl);
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < B.n * 2u + 64u)
    fprintf(stderr, "bench-cluster: %u workers need about %u descriptors, "
                    "the limit is %lu\n", B.n, B.n * 2u + 64u,
            (unsigned long)rl.rlim_cur);
}

static int run_primary(const char *self, int argc, char **argv, int first)
{
  raise_fd_limit();
  B.loop = uv_default_loop();
  if (sim_cluster_init(B.loop, &B.cluster, on_event) != 0 ||
      setup_workers(self, argc, argv, first) != 0)
    return 1;
  uv_timer_init(B.loop, &B.watchdog);
  uv_timer_start(&B.watchdog, on_watchdog, BENCH_WATCHDOG_S * 1000u, 0);
  uv_unref((uv_handle_t *)&B.watchdog);
  uv_signal_init(B.loop, &B.sigterm);
  uv_signal_init(B.loop, &B.sigint);
  uv_signal_start(&B.sigterm, on_signal, SIGTERM);
  uv_signal_start(&B.sigint, on_signal, SIGINT);
  uv_unref((uv_handle_t *)&B.sigterm);
  uv_unref((uv_handle_t *)&B.sigint);
  B.mode->start();
  uv_run(B.loop, UV_RUN_DEFAULT);

  uv_close((uv_handle_t *)&B.watchdog, NULL);
  uv_close((uv_handle_t *)&B.sigterm, NULL);
  uv_close((uv_handle_t *)&B.sigint, NULL);
  sim_cluster_close(&B.cluster, on_closed);
  uv_run(B.loop, UV_RUN_DEFAULT);
  return B.failed;
}

int main(int argc, char **argv)
{
  char self[4096];
  size_t size = sizeof(self);
  int first;

  if (argc < 2)
    return usage();
  if (strcmp(argv[1], "worker") == 0)
    return bench_worker_main();
  if (strcmp(argv[1], "floor-child") == 0)
    return bench_floor_child();
  if (uv_exepath(self, &size) != 0)
    return 1;
  first = parse_options(argc, argv);
  if (first < 0 || B.n == 0 || B.runs == 0)
    return usage();
  if (strncmp(argv[1], "floor-", 6) == 0) {
    /* A blocking floor must not outlive its run either. */
    alarm(BENCH_WATCHDOG_S);
    return bench_floor_main(argv[1], strcmp(argv[1], "floor-spawn") == 0
                                         ? B.runs : B.n, self);
  }
  for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
    if (strcmp(argv[1], modes[i].name) == 0)
      B.mode = &modes[i];
  if (B.mode == NULL || (B.mode->start != ipc_start &&
                         B.n > BENCH_MAX_WORKERS))
    return usage();
  return run_primary(self, argc, argv, first);
}
