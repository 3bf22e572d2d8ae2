/*
 * worker.h - the worker agent: `clustersim worker [options]`.
 *
 * A cluster worker built on sim/ whose behaviour comes from
 * CLUSTERSIM_WORKER (JSON, docs/protocol.md §4.1) and, as an extension of
 * the builtin target, from its command line; with neither it is an idle
 * worker that goes online and stays up until it is disconnected or killed.
 * With CLUSTERSIM_CONTROL it reports observations to the harness and takes
 * faults from it (docs/protocol.md §4.2-§4.3). Outside a cluster (no
 * NODE_UNIQUE_ID) it just applies the behaviour with plain servers.
 * agents/node/worker.cjs is the reference for every observation, refusal and
 * action. Everything else of the folder is internal (worker-internal.h).
 */
#ifndef WORKER_H
#define WORKER_H

/* The role's entry point; argv starts after "worker". Returns the exit
 * status (it may also exit() directly, as Node's workers do). */
int worker_main(int argc, char **argv);

#endif /* WORKER_H */
