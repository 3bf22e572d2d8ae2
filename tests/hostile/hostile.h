/*
 * hostile.h - what the hostile-input tests and the loader's fuzz target
 * share: an oracle that a scenario the loader accepted holds what its
 * file says.
 */
#ifndef HOSTILE_H
#define HOSTILE_H

#include <stddef.h>

#include "scenario.h"

/* Checks, independently of the loader's own code (libfyaml's whole-document
 * API, and a UTF-8 reading of its own), that the scenario `s` loaded from
 * `text` used all of it: the text is printable UTF-8 to its last byte, and
 * every top-level key, every step (its kind and line), every `do` action,
 * every expectation, tag, target note, server and environment variable of
 * the file is in the model. 0 when it holds; -1 with the first difference
 * in `why`. */
int hostile_roundtrip(const char *text, size_t len, const scenario_t *s,
                      char *why, size_t why_len);

#endif /* HOSTILE_H */
