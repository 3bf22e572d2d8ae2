/*
 * trace-fixtures.h - what the tests of the oracle and of the expectations
 * share: trace records written as the agents send them (docs/protocol.md),
 * and the comparison of a trace's findings with the exact messages
 * expected of it.
 */
#ifndef TESTS_HARNESS_TRACE_FIXTURES_H
#define TESTS_HARNESS_TRACE_FIXTURES_H

#include <stdbool.h>

#include "oracle.h"

/* Records, one JSON line each. Times are in ns and t0 is 0, so 10000000
 * shows as 0.010 s in messages. */
#define EV(t, name, em, w, flags)                                            \
  "{\"type\":\"event\",\"t\":" #t ",\"event\":\"" name "\",\"emitter\":\""  \
  em "\",\"worker\":" #w flags "}\n"
#define ACT(t, name, w)                                                      \
  "{\"type\":\"action\",\"t\":" #t ",\"action\":\"" name "\",\"worker\":" #w \
  "}\n"
#define OBS(t, what, w, rest)                                                \
  "{\"type\":\"observe\",\"t\":" #t ",\"what\":\"" what "\",\"worker\":" #w \
  rest "}\n"
#define REC(text) text "\n"

/* The flags an agent samples: a live worker, one at its disconnect, one at
 * its exit (code and signal are JSON: "0", "null", "\"SIGKILL\""). */
#define LIVE ",\"ead\":null,\"connected\":true,\"dead\":false,\"member\":true"
#define DISC(ead)                                                            \
  ",\"ead\":" ead ",\"connected\":false,\"dead\":false,\"member\":false"
#define EXIT(ead, code, sig)                                                 \
  ",\"ead\":" ead ",\"connected\":false,\"dead\":true,\"member\":false,"     \
  "\"code\":" code ",\"signal\":" sig

/* A new trace (t0 = 0) from JSON lines; fails the current test if they do
 * not parse. The caller frees it (trace_free). */
void fixture_trace(trace_t *tr, const char *text, bool complete);

/* Whether the findings are exactly `expected` (NULL-terminated), in order,
 * each of `kind` and with a rule: when not, prints both lists under the
 * case's name, so a failing table row says what it got. */
bool fixture_findings_are(const char *name, const oracle_findings_t *f,
                          const char *const *expected,
                          oracle_finding_kind_t kind);

/* Writes text to a new temporary file; its path (the caller unlinks and
 * frees it), or NULL. */
char *fixture_write_temp(const char *text);

#endif
