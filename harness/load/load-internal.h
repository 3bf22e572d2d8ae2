/*
 * load-internal.h - what the run (load-run.c) and its client slots
 * (load-slot.c) share inside load/. Not for other modules.
 */
#ifndef LOAD_PRIVATE_H
#define LOAD_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>
#include <http_parser.h>
#include <uv.h>

#include "load.h"

typedef struct load_slot_s load_slot_t;

struct load_slot_s {
  load_t *load;
  unsigned index;
  uv_timer_t timer;         /* kick-off, rate wait, attempt timeout */
  bool timer_closing;
  union {                   /* `tcp`, `pipe` with opts.unix_path, `udp`
                               with opts.udp: the code reads them as a */
    uv_tcp_t tcp;           /* handle (or the first two as a stream) */
    uv_pipe_t pipe;         /* through `tcp`, their common start */
    uv_udp_t udp;
  };
  uv_connect_t connect_req;
  bool tcp_open;            /* initialised, close callback not yet run */
  bool tcp_closing;
  bool connected;
  bool no_reuse;            /* the connection must not carry another */
  uint64_t conn_seq;
  unsigned conn_responses;  /* complete responses on this connection */
  bool retired;             /* issues nothing more */
  bool idle;                /* retired and nothing in flight */
  bool waiting;             /* the timer waits for kick-off or the rate */
  /* the request in flight */
  bool active;
  bool issue_pending;       /* reconnect once the old handle is closed */
  unsigned gen;             /* attempt number, to ignore stale writes */
  uint64_t seq;
  uint64_t start_ns;
  unsigned attempt;         /* 0, or 1 for the retry */
  bool reused;              /* sent on a connection that had answered */
  uint64_t bytes;           /* response bytes of this attempt */
  bool complete;
  /* response parsing */
  http_parser parser;
  int hdr_state;            /* 0 none, 1 field, 2 value */
  char field[16];
  size_t field_len;
  bool field_is_worker;
  char value[16];
  size_t value_len;
  unsigned worker;
};

struct load_s {
  uv_loop_t *loop;
  load_opts_t opts;
  load_done_cb done_cb;
  struct sockaddr_storage addr;
  char unix_path[108];      /* "": TCP to addr */
  char *request;
  size_t request_len;
  load_slot_t *slots;
  uv_timer_t timer;         /* the duration (or cap), then the drain */
  bool running;
  bool stopping;
  bool drain_expired;
  bool closing_all;
  unsigned open_handles;
  uint64_t interval_ns;     /* 0: no rate limit */
  uint64_t next_permit_ns;
  uint64_t conn_counter;
  load_counters_t counters;
  load_record_t *records;
  size_t nrecords;
  size_t records_cap;
  uint64_t workers[LOAD_MAX_WORKER_ID + 1];
  load_measure_t measure;   /* latencies and 100 ms buckets */
  /* One loop, one read at a time: a single buffer serves every slot. */
  char rbuf[64 * 1024];
};

/* load-slot.c */
void load_slot_init(load_t *load, load_slot_t *slot, unsigned index);
/* Starts the slot's first request on the next loop turn. */
void load_slot_kick(load_slot_t *slot);
/* Stops issuing; a slot without a request in flight closes its
 * connection at once, the others when their request ends. */
void load_slot_retire(load_slot_t *slot);
/* Ends the request in flight as cancelled (drain deadline). */
void load_slot_cancel(load_slot_t *slot);
/* Closes every handle of a retired slot. */
void load_slot_close(load_slot_t *slot);

/* load-run.c, called by the slots */
/* Takes a permit of the rate limit; returns 0 or the ms to wait. */
uint64_t load_run_permit(load_t *load);
/* May a slot issue another request? Counts it as issued if so. */
bool load_run_take_request(load_t *load, uint64_t *seq);
void load_run_record(load_t *load, const load_record_t *record);
void load_run_slot_idle(load_t *load);
void load_run_handle_closed(load_t *load);

/* load-measure.c */
/* Empties the measurement (keeping its memory); bucket 0 starts at
 * start_ns. */
void load__measure_reset(load_measure_t *m, uint64_t start_ns);
/* Counts one outcome: its latency, and its time bucket. */
void load__measure_record(load_measure_t *m, const load_record_t *r);

#endif /* LOAD_PRIVATE_H */
