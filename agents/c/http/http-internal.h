/*
 * http-internal.h - what the group, the connection and the response
 * formatter share inside http/. Not installed, not for other modules.
 */
#ifndef HTTP_INTERNAL_H
#define HTTP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <http_parser.h>
#include <uv.h>

#include "http.h"

typedef struct http__conn_s http__conn_t;

/* The bytes of one response, formatted once per group. */
typedef struct {
  char data[256];
  size_t len;
} http__bytes_t;

/* Index into http_group_s.responses. */
enum {
  HTTP_RESP_CLOSE = 0,      /* 200 with Connection: close */
  HTTP_RESP_KEEP = 1,       /* 200, keep-alive */
  HTTP_RESP_HEAD = 2,       /* + 2: the same answers to HEAD (no body) */
  HTTP_RESP_BAD = 4,        /* 400 */
  HTTP_RESP_MAX
};

struct http_group_s {
  uv_loop_t *loop;
  http_opts_t opts;
  /* Only closed, never started: its close callback is how the group's own
   * close callback reaches the loop when no connection is left. */
  uv_idle_t closer;
  http__conn_t *conns;       /* doubly linked, newest first */
  bool closing;
  bool closer_closing;
  http_group_close_cb close_cb;
  void *close_arg;
  http_stats_t stats;
  /* Every response is one of these: the worker id, the kind and the
   * keep-alive timeout are the group's, so nothing is formatted per
   * request. */
  http__bytes_t responses[HTTP_RESP_MAX];
  /* One process, one loop: reads are parsed before the next read, so one
   * buffer serves every connection of the group. */
  char rbuf[64 * 1024];
};

/* One queued response. */
typedef struct {
  uint64_t ready_at;        /* loop time (ms) when it may be written */
  unsigned short status;    /* 200 or 400 */
  bool keep_alive;
  bool head;                /* HEAD request: no body */
} http__entry_t;

struct http__conn_s {
  http_group_t *group;
  http__conn_t *prev, *next;
  uv_stream_t *stream;      /* a uv_tcp_t or uv_pipe_t; NULL once
                               released */
  void *saved_data;         /* tcp->data at serve time */
  uv_timer_t timer;         /* delay, keep-alive, request and linger */
  uint64_t deadline;        /* loop time when the current wait ends */
  uint64_t armed_due;       /* when the timer fires (<= deadline): it is
                               re-armed when it fires early, not at every
                               event */
  http_parser parser;
  unsigned refs;            /* timer + outstanding requests on tcp */
  unsigned writes;          /* writes not yet called back */
  http__entry_t queue[HTTP_MAX_BACKLOG];
  unsigned q_head, q_len;
  char *rbuf;               /* unparsed bytes kept while parsing paused */
  size_t roff, rlen;
  bool in_message;          /* a request has begun but is not complete */
  bool ending;              /* no further request will be answered */
  bool closing;             /* the group is closing gracefully */
  bool shutting;            /* shutdown issued: the last response is out */
  bool lingering;           /* TCP kind: waiting for the peer's end */
  bool peer_ended;          /* EOF read */
  bool connect;             /* a CONNECT request arrived */
  bool reading;
  bool paused;
  bool busy_counted;
  uv_shutdown_t shutdown_req;
};

/* http-conn.c */
int http__conn_start(http_group_t *group, uv_stream_t *stream);
/* Gives a connection back through release_stream, or release for TCP. */
void http__release(http_group_t *group, uv_stream_t *stream);
/* Ends the connection gracefully (group close). */
void http__conn_close_gracefully(http__conn_t *conn);
/* Ends the connection at once. */
void http__conn_destroy(http__conn_t *conn);

/* http-group.c: a connection has been freed. */
void http__group_conn_gone(http_group_t *group, http__conn_t *conn);
/* The preformatted bytes of a response. */
const http__bytes_t *http__group_response(const http_group_t *group,
                                        unsigned status, bool keep_alive,
                                        bool head);

/* http-response.c: formats a response into buf; returns its length or 0
 * when it does not fit. */
size_t http__response_format(char *buf, size_t size, unsigned status,
                            unsigned worker_id, bool keep_alive, bool head,
                            unsigned keepalive_timeout_ms);
size_t http__response_format_tcp(char *buf, size_t size, unsigned worker_id);

#endif /* HTTP_INTERNAL_H */
