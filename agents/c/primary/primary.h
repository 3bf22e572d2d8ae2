/*
 * primary.h - the builtin primary agent: `clustersim primary`.
 *
 * A cluster primary built on sim/ that speaks the agent protocol of
 * docs/protocol.md over the UNIX socket named by CLUSTERSIM_CONTROL:
 * commands in, every cluster and Worker event out (with the worker's flags
 * sampled at the event), and the primary policies of docs/protocol.md
 * §2.1. Everything else of the folder is internal (primary-internal.h).
 */
#ifndef PRIMARY_H
#define PRIMARY_H

/* The role's entry point; argv starts after "primary". */
int primary_main(int argc, char **argv);

#endif /* PRIMARY_H */
