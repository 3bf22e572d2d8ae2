/*
 * servers.h - local servers that misbehave on purpose, on 127.0.0.1 or
 * ::1, on the test's own loop, for the load generator's tests.
 */
#ifndef TESTS_LOAD_SERVERS_H
#define TESTS_LOAD_SERVERS_H

#include <stdbool.h>
#include <http_parser.h>
#include <uv.h>

#include "http.h"

typedef enum {
  SRV_NORMAL,       /* http/ groups of workers 1 and 2, alternating */
  SRV_REFUSE,       /* a bound port nobody listens on */
  SRV_RESET,        /* accepts, then resets the connection */
  SRV_CLOSE_AFTER,  /* answers `param` requests per connection, ends it
                       on the next one without an answer */
  SRV_RESET_AFTER,  /* the same, with a reset */
  SRV_TRUNCATE,     /* sends part of a response, then ends */
  SRV_SILENT,       /* reads requests and never answers */
  SRV_STATUS_500,   /* answers 500 */
} srv_mode_t;

typedef struct srv_conn_s srv_conn_t;

typedef struct {
  uv_loop_t *loop;
  srv_mode_t mode;
  unsigned param;
  uv_tcp_t listener;
  bool listener_open;
  http_group_t *groups[2];
  unsigned next_group;
  unsigned next_worker;     /* id of the next group made */
  srv_conn_t *conns;
  int port;
  unsigned accepted;
  bool closing;
} srv_t;

/* Listens on `host` ("127.0.0.1" or "::1") port 0. UV_E* on failure
 * (UV_EADDRNOTAVAIL when the host has no such address). */
int srv_start(srv_t *srv, uv_loop_t *loop, const char *host, srv_mode_t mode,
              unsigned param);
/* SRV_NORMAL: a rolling restart in one step. Both groups start their
 * graceful close and two new groups (the next worker ids) take the new
 * connections. */
int srv_rotate(srv_t *srv);
/* Closes the listener, the groups and every connection. */
void srv_close(srv_t *srv);

#endif /* TESTS_LOAD_SERVERS_H */
