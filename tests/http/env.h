/*
 * env.h - a loop with a listening server behind an http group and
 * scripted libuv clients, for the responder's tests.
 *
 * A test builds an env, adds clients, runs the loop; the env ends by
 * itself when every client is done (or when the guard timer fires, which
 * counts as a failure) and closes the group, the listener and its timers.
 */
#ifndef TESTS_HTTP_ENV_H
#define TESTS_HTTP_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <http_parser.h>
#include <uv.h>

#include "http.h"

#define ENV_MAX_CLIENTS 4
#define ENV_MAX_STEPS 4
#define ENV_MAX_RESPONSES 256
#define ENV_GUARD_MS 5000

typedef struct env_s env_t;

typedef struct {
  int status;
  bool keep_alive;          /* per the response's Connection header */
  unsigned worker;          /* X-Worker, 0 if absent */
  size_t body_len;
  char body[32];
  int seq;                  /* env event number when it completed */
} env_response_t;

typedef struct {
  env_t *env;
  uv_tcp_t tcp;
  uv_connect_t connect_req;
  bool open;
  bool closing;
  bool done;
  /* script: steps[i] is sent once `after[i]` responses have arrived */
  const char *steps[ENV_MAX_STEPS];
  int after[ENV_MAX_STEPS];
  int nsteps;
  int next_step;
  int expect;               /* responses to wait for */
  bool expect_eof;          /* wait for the server's end after them */
  int head_index;           /* response index answering a HEAD, or -1 */
  bool raw;                 /* collect bytes, parse nothing (TCP kind) */
  /* what happened */
  http_parser parser;
  char field[64];
  size_t field_len;
  char value[64];
  size_t value_len;
  bool in_value;
  env_response_t cur;
  env_response_t responses[ENV_MAX_RESPONSES];
  int nresponses;
  char raw_buf[256];
  size_t raw_len;
  int eof_seq;              /* 0: no EOF */
  int error;                /* read/connect/parse error, 0 if none */
} env_client_t;

struct env_s {
  uv_loop_t loop;
  uv_tcp_t listener;
  uv_timer_t guard;
  uv_timer_t poll;
  http_group_t *group;
  http_opts_t opts;
  int port;
  int seq;
  int released;
  int served;
  int serve_errors;
  bool group_closing;
  bool group_closed;
  int group_closed_seq;
  bool timed_out;
  bool finishing;
  env_client_t *clients[ENV_MAX_CLIENTS];
  int nclients;
  /* checked every few ms while set; returns true when it is done */
  bool (*poll_fn)(env_t *env);
};

/* Sets up the loop, a group with `opts` (release filled in by the env)
 * and a listener on 127.0.0.1:0. Returns 0 or a UV_E* code. */
int env_init(env_t *env, const http_opts_t *opts);
/* Connects a client and runs its script once connected. */
int env_client_start(env_t *env, env_client_t *client);
/* Sends bytes on a connected client outside its script. */
int env_client_send(env_client_t *client, const char *text);
/* Starts the graceful close of the group (env records when it ends). */
int env_group_close(env_t *env);
/* Runs the loop to the end; returns uv_loop_close()'s result. */
int env_run(env_t *env);
/* Calls fn every few ms until it returns true. */
void env_poll(env_t *env, bool (*fn)(env_t *env));

#endif /* TESTS_HTTP_ENV_H */
