/*
 * bench-cluster.c - figures for the C cluster, printed, never asserted.
 *
 *   bench-cluster fork N RUNS [exec args...]     fork->online per worker
 *   bench-cluster respawn CYCLES [exec args...]  SIGKILL->exit->fork->online
 *   bench-cluster pingpong N [exec args...]      IPC round trips per second
 *
 * The default worker is `clustersim worker --messages echo`; passing an
 * exec and args lets the same program time a Node worker from a C primary.
 * Each mode stops by itself: a watchdog ends the run after 120 s.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define MAX_SAMPLES 4096

static struct {
  uv_loop_t *loop;
  sim_cluster_t cluster;
  const char *mode;
  unsigned n, runs, run, online, exited, cycles;
  uint64_t forked_at[256];
  double samples[MAX_SAMPLES];
  unsigned nsamples;
  double run_totals[64];
  uint64_t run_start, t0;
  unsigned pongs;
  int failed;
  int foreign;               /* timing a worker other than clustersim's */
  uv_timer_t watchdog;
} B;

static int cmp(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void summary(const char *what, const char *unit, double *v, unsigned n)
{
  if (n == 0) {
    printf("%-44s n=0\n", what);
    return;
  }
  qsort(v, n, sizeof(*v), cmp);
  printf("%-44s n=%-4u min %8.3f  median %8.3f  max %8.3f %s\n", what, n,
         v[0], v[n / 2], v[n - 1], unit);
}

static void fork_one(void)
{
  /* Timed from before the call: uv_spawn() itself waits for the exec. */
  uint64_t t = uv_hrtime();
  sim_worker_t *w;

  if (sim_cluster_fork(&B.cluster, NULL, &w) != 0) {
    B.failed = 1;
    uv_stop(B.loop);
    return;
  }
  B.forked_at[sim_worker_id(w) % 256] = t;
}

static void start_run(void)
{
  B.online = 0;
  B.run_start = uv_hrtime();
  for (unsigned i = 0; i < B.n; i++)
    fork_one();
}

static void send_ping(sim_worker_t *w)
{
  cJSON *m = cJSON_CreateObject();

  cJSON_AddNumberToObject(m, "n", B.pongs);
  (void)sim_worker_send(w, m, NULL, NULL, NULL);
  cJSON_Delete(m);
}

static void on_disconnected(sim_cluster_t *c, void *arg)
{
}

static void on_event(sim_cluster_t *c, const sim_event_t *ev)
{
  uint64_t now = uv_hrtime();

  if (ev->emitter != SIM_ON_CLUSTER && ev->type != SIM_EV_ERROR)
    return;
  if (ev->type == SIM_EV_ERROR) {
    fprintf(stderr, "worker error: %s\n", ev->error_message);
    return;
  }
  if (strcmp(B.mode, "fork") == 0) {
    if (ev->type == SIM_EV_ONLINE) {
      unsigned id = sim_worker_id(ev->worker);
      if (B.nsamples < MAX_SAMPLES)
        B.samples[B.nsamples++] = (now - B.forked_at[id % 256]) / 1e6;
      if (++B.online == B.n) {
        B.run_totals[B.run] = (now - B.run_start) / 1e6;
        (void)sim_cluster_disconnect(c, on_disconnected, NULL);
      }
    } else if (ev->type == SIM_EV_EXIT && ++B.exited == B.n) {
      /* Membership empties at disconnect(), before the exits: count
       * exits instead. */
      B.exited = 0;
      if (++B.run == B.runs)
        uv_stop(B.loop);
      else
        start_run();
    }
  } else if (strcmp(B.mode, "respawn") == 0) {
    if (ev->type == SIM_EV_ONLINE) {
      if (B.cycles > 0 && B.nsamples < MAX_SAMPLES)
        B.samples[B.nsamples++] = (now - B.t0) / 1e6;
      if (B.cycles++ == B.n) {
        (void)sim_cluster_disconnect(c, on_disconnected, NULL);
        return;
      }
      /* A crash from outside, the same on both sides of bench/run.sh. */
      B.t0 = uv_hrtime();
      (void)sim_worker_kill(ev->worker, SIGKILL);
    } else if (ev->type == SIM_EV_EXIT) {
      if (B.cycles > B.n)
        uv_stop(B.loop);
      else
        fork_one();
    }
  } else if (strcmp(B.mode, "pingpong") == 0) {
    if (ev->type == SIM_EV_ONLINE) {
      B.t0 = uv_hrtime();
      send_ping(ev->worker);
    } else if (ev->type == SIM_EV_MESSAGE) {
      if (++B.pongs == B.n) {
        double s = (now - B.t0) / 1e9;
        printf("%-44s %u round trips in %.3f s: %.0f rtt/s\n",
               B.foreign ? "C primary ping-pong, the given worker"
                         : "C primary ping-pong (JSON over NODE IPC)",
               B.n, s, B.n / s);
        (void)sim_cluster_disconnect(c, on_disconnected, NULL);
      } else {
        send_ping(ev->worker);
      }
    } else if (ev->type == SIM_EV_EXIT) {
      uv_stop(B.loop);
    }
  }
}

static void on_watchdog(uv_timer_t *t)
{
  fprintf(stderr, "bench-cluster: watchdog fired, stopping\n");
  B.failed = 1;
  uv_stop(B.loop);
}

static void on_closed(sim_cluster_t *c)
{
}

int main(int argc, char **argv)
{
  char exe[4096];
  size_t size = sizeof(exe);
  sim_settings_t s = { 0 };
  const char *default_args[] = { "worker", "--messages", "echo", NULL };

  if (argc < 3) {
    fprintf(stderr, "usage: bench-cluster fork N RUNS | respawn CYCLES | "
                    "pingpong N [exec args...]\n");
    return 2;
  }
  B.mode = argv[1];
  B.n = (unsigned)atoi(argv[2]);
  B.runs = 1;
  argv += 3;
  argc -= 3;
  if (strcmp(B.mode, "fork") == 0 && argc > 0) {
    B.runs = (unsigned)atoi(argv[0]);
    argv++;
    argc--;
  }
  if (B.n == 0 || B.runs == 0 || B.runs > 64 ||
      (strcmp(B.mode, "pingpong") != 0 && B.n > 200)) {
    fprintf(stderr, "bench-cluster: N must be 1..200 (pingpong: any) and "
                    "RUNS 1..64\n");
    return 2;
  }
  B.loop = uv_default_loop();
  if (sim_cluster_init(B.loop, &B.cluster, on_event) != 0)
    return 1;
  if (argc > 0) {
    B.foreign = 1;
    s.exec = argv[0];
    s.args = (const char *const *)(argv + 1);
    s.args_set = 1;
  } else {
    /* The clustersim binary sits at the root of the build tree. */
    if (uv_exepath(exe, &size) != 0)
      return 1;
    strcpy(strrchr(exe, '/'), "/../clustersim");
    s.exec = exe;
    s.args = default_args;
  }
  sim_cluster_setup(&B.cluster, &s);
  uv_timer_init(B.loop, &B.watchdog);
  uv_timer_start(&B.watchdog, on_watchdog, 120000, 0);
  uv_unref((uv_handle_t *)&B.watchdog);
  if (strcmp(B.mode, "fork") == 0)
    start_run();
  else
    fork_one();
  uv_run(B.loop, UV_RUN_DEFAULT);

  if (strcmp(B.mode, "fork") == 0) {
    char what[128];
    snprintf(what, sizeof(what), "C fork->online per worker (%u at once)",
             B.n);
    summary(what, "ms", B.samples, B.nsamples);
    snprintf(what, sizeof(what), "C fork->all online (%u workers)", B.n);
    summary(what, "ms", B.run_totals, B.run);
  } else if (strcmp(B.mode, "respawn") == 0) {
    summary("C SIGKILL->exit->respawn->online", "ms", B.samples,
            B.nsamples);
  }
  uv_timer_stop(&B.watchdog);
  uv_close((uv_handle_t *)&B.watchdog, NULL);
  sim_cluster_close(&B.cluster, on_closed);
  uv_run(B.loop, UV_RUN_DEFAULT);
  return B.failed;
}
