/*
 * bench.h - shared by the programs of bench/ (driven by bench/run.sh).
 *
 * Benchmarks print figures; they never assert. One sample is one line on
 * stdout:
 *
 *   figure NAME TARGET UNIT VALUE
 *
 * NAME is what was measured (`ipc.pingpong`), TARGET who ran it (`floor`,
 * `builtin`, `sim`, `node`, `c-node`), UNIT its unit (`ms`, `kB`, or
 * something per second, where higher is better). bench-report groups the
 * samples of a run and prints min/median/max and the ratios.
 *
 * Every mode stops by itself: a watchdog ends a program that runs longer
 * than BENCH_WATCHDOG_S, and every child it started is reaped or killed
 * with its process group.
 */
#ifndef BENCH_H
#define BENCH_H

#define BENCH_WATCHDOG_S 120

/* Prints one sample line (see above) and flushes it. */
void bench_figure(const char *name, const char *target, const char *unit,
                  double value);

/* CLOCK_MONOTONIC in seconds. */
double bench_now(void);

/* The bare floors: plain syscalls between two processes, no libuv and no
 * sim/ (bench-floor.c). `mode` is floor-pingpong, floor-oneway or
 * floor-spawn; `self` is this program's path (floor-spawn execs it). */
int bench_floor_main(const char *mode, unsigned n, const char *self);

/* The exec'd half of floor-spawn: reports online on fd 3 and exits. */
int bench_floor_child(void);

/* A cluster worker on sim_child_* alone: echo, flood and sink
 * (bench-worker.c). */
int bench_worker_main(void);

#endif /* BENCH_H */
