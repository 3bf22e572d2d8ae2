/*
 * serdes-test.h - the corpus of values shared by the codec's tests, and
 * what the tests need around it (running node, hex).
 *
 * Each corpus row is one JS value three ways: a JavaScript expression
 * (what Node serializes), a builder of the equivalent model in C, and its
 * JSON form as sim_value_to_json() must print it.
 */
#ifndef SERDES_TEST_H
#define SERDES_TEST_H

#include <stddef.h>
#include <stdint.h>

#include "sim.h"

typedef struct {
  const char *name;
  const char *js;            /* an expression Node evaluates */
  const char *check;         /* optional: a JS function body over `v` that
                                must return true (identity, cycles) */
  sim_value_t *(*build)(sim_heap_t *h);
  const char *json;          /* the expected JSON form (unformatted) */
} corpus_row_t;

extern const corpus_row_t corpus[];
extern const size_t corpus_len;

/* A payload (header and value, no frame) the decoder must refuse. */
typedef struct {
  const char *name;
  const char *hex;
  int code;                  /* the UV_E* code */
  int node_reads;            /* 1: Node reads it all the same */
} bad_row_t;

/* A payload Node reads though it never writes it, and what the encoder
 * writes for what it reads. */
typedef struct {
  const char *name;
  const char *hex;
  const char *again;
} odd_row_t;

extern const bad_row_t bad_rows[];
extern const size_t bad_rows_len;
extern const odd_row_t odd_rows[];
extern const size_t odd_rows_len;

/* Hex of n bytes (malloc'ed) and back (malloc'ed, *n set; spaces are
 * skipped); NULL on malformed hex. */
char *st_hex(const uint8_t *data, size_t n);
uint8_t *st_unhex(const char *hex, size_t *n);

/* The first `name` on PATH, or NULL. Static storage. */
const char *st_which(const char *name);

/* Runs argv (argv[0] looked up on PATH) with `input` on its stdin and
 * collects its stdout (malloc'ed, NUL-terminated). Kills it (its process
 * group) after timeout_ms. Returns its exit status (0..255), 128+signal,
 * or -1 when it could not run. */
int st_run(const char *const *argv, const char *input, char **output,
           unsigned timeout_ms);

#endif
