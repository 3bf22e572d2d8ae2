/*
 * load.h - the harness's HTTP/1.1 load generator.
 *
 * Runs on the caller's libuv loop (no threads): `connections` client slots
 * against 127.0.0.1:PORT or [::1]:PORT, each sending one GET at a time,
 * on keep-alive connections or with `Connection: close`. Responses are
 * parsed with http-parser and attributed to the worker named by their
 * X-Worker header. The load stops by itself when its request count is
 * reached or its duration has passed (at least one is required, and
 * LOAD_MAX_DURATION_MS caps every run), or on load_stop().
 *
 * Outcome of every request (one record each):
 * - ok          2xx, complete.
 * - retried     2xx, complete, on the second attempt: the first, sent on a
 *               REUSED keep-alive connection, met the server's close (EOF,
 *               ECONNRESET or EPIPE) before any byte of its response, and
 *               was sent again once on a new connection, as browsers and
 *               curl do. Not a failure.
 * - refused     ECONNREFUSED on connect.
 * - reset       ECONNRESET/EPIPE, or the server's end before any byte of
 *               the response, where no retry applies (new connection, or
 *               the retry itself).
 * - timeout     no complete response within timeout_ms of the attempt's
 *               start (connect included).
 * - bad-status  a complete response with a status outside 200-299.
 * - truncated   the server's end after some bytes of the response but
 *               before its end.
 * - error       anything else: an unparseable response, another socket
 *               error.
 * - cancelled   cut off by the end of the load (load_stop() or the
 *               duration) when the drain deadline passed. Not a failure.
 * A request whose retry fails gets the outcome of the retry, with
 * `retried` set in its record.
 *
 * Functions return 0 or a negative UV_E* code. Callbacks never run from
 * inside an API call.
 */
#ifndef LOAD_H
#define LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef enum {
  LOAD_OK = 0,
  LOAD_RETRIED,
  LOAD_REFUSED,
  LOAD_RESET,
  LOAD_TIMEOUT,
  LOAD_BAD_STATUS,
  LOAD_TRUNCATED,
  LOAD_ERROR,
  LOAD_CANCELLED,
  LOAD_OUTCOME_MAX
} load_outcome_t;

#define LOAD_MAX_CONNECTIONS 1024u
#define LOAD_MAX_DURATION_MS (10u * 60u * 1000u)
#define LOAD_DEFAULT_TIMEOUT_MS 2000u
#define LOAD_DEFAULT_MAX_RECORDS 100000u
/* Worker ids above this are recorded but not counted per worker. */
#define LOAD_MAX_WORKER_ID 255u

typedef struct load_s load_t;

typedef struct {
  uint64_t start_ns;        /* uv_hrtime() when the request was issued */
  uint64_t end_ns;          /* uv_hrtime() when its outcome was known */
  uint64_t seq;             /* 0, 1, 2... in order of issue */
  load_outcome_t outcome;
  bool retried;             /* a second attempt was made */
  int status;               /* HTTP status, 0 if none arrived (also set
                               for a truncated response) */
  unsigned worker;          /* X-Worker of the (even partial) response,
                               0 if none */
  unsigned connection;      /* slot index, 0..connections-1 */
  unsigned client;          /* with opts.clients: 1..clients, the source
                               address 127.0.0.(1 + client); 0 otherwise */
  uint64_t conn_seq;        /* the TCP connection (1, 2... in order of
                               opening) that gave the outcome; 0 if none */
  int error;                /* UV_E* behind a failure, 0 otherwise */
} load_record_t;

typedef void (*load_request_cb)(load_t *load, const load_record_t *record,
                                void *arg);
typedef void (*load_done_cb)(load_t *load, void *arg);

typedef struct {
  const char *host;         /* "127.0.0.1" (default), another 127.x.y.z
                               or "::1"; anything else is UV_EINVAL */
  int port;                 /* required, 1..65535, unless unix_path */
  const char *unix_path;    /* a UNIX socket to connect to instead of host
                               and port (1..107 bytes; no `clients`) */
  bool udp;                 /* datagrams instead of HTTP: each request is
                               one datagram to host:port from the slot's
                               own UDP socket, answered by one datagram
                               "worker <id>\n" (ok; nothing within the
                               timeout: timeout); `keepalive` is moot */
  const char *path;         /* default "/" */
  unsigned connections;     /* slots; default 1 */
  bool keepalive;           /* false: every request says Connection:
                               close and gets its own connection */
  uint64_t requests;        /* stop after this many; 0: no count bound */
  unsigned duration_ms;     /* stop issuing after this; 0: no time bound */
  unsigned rate;            /* requests/s over all slots; 0: unlimited */
  unsigned clients;         /* 0: connect from any address; 1..250: slot
                               k connects from 127.0.0.(2 + k % clients),
                               so that a server sees that many client
                               addresses (an IPv4 target only) */
  unsigned timeout_ms;      /* per attempt; 0: LOAD_DEFAULT_TIMEOUT_MS */
  unsigned drain_ms;        /* after a stop, how long requests in flight
                               may finish; 0: timeout_ms */
  size_t max_records;       /* 0: LOAD_DEFAULT_MAX_RECORDS; later records
                               are counted but not kept */
  load_request_cb request_cb;  /* optional, after every outcome; the
                                  record is borrowed for the call */
  void *arg;                /* passed to request_cb and done_cb */
} load_opts_t;

typedef struct {
  uint64_t issued;          /* requests started */
  uint64_t finished;        /* requests with an outcome */
  uint64_t outcome[LOAD_OUTCOME_MAX];
  uint64_t failed;          /* refused+reset+timeout+bad-status+truncated
                               +error */
  uint64_t retries;         /* second attempts made */
  uint64_t connections;     /* TCP connections attempted */
  uint64_t records_dropped; /* outcomes beyond max_records */
  uint64_t start_ns, end_ns;   /* of the run; end_ns 0 while running */
} load_counters_t;

/* Allocates an idle load. Free it with load_free() when it is not
 * running (before load_start(), or from or after its done_cb). */
int load_new(load_t **ret_load);
void load_free(load_t *load);

/* Starts the load on `loop`. `opts` is copied (strings too). done_cb
 * (required) runs once, from the loop, when the load has stopped and
 * every handle it opened is closed. A load may be started again after
 * its done_cb; counters and records start afresh. UV_EINVAL for invalid
 * options, UV_EBUSY while running. */
int load_start(load_t *load, uv_loop_t *loop, const load_opts_t *opts,
               load_done_cb done_cb);

/* Graceful stop: no new request is issued; requests in flight may finish
 * until the drain deadline, then the rest is cancelled and everything is
 * closed; then done_cb. UV_EALREADY if already stopping, UV_EINVAL when
 * not running. */
int load_stop(load_t *load);

bool load_running(const load_t *load);
/* Connections opened from now on go to `port` (the same host); those
 * open stay where they are. For a cluster whose serving port changes
 * under the load. UV_EINVAL when not running or for a bad port. */
int load_retarget(load_t *load, int port);
void load_counters(const load_t *load, load_counters_t *counters);
/* The kept records, in order of outcome; valid until the next
 * load_start() or load_free(). */
const load_record_t *load_records(const load_t *load, size_t *count);
/* Requests that ended ok or retried with a response from worker `id`
 * (1..LOAD_MAX_WORKER_ID); 0 for other ids. */
uint64_t load_worker_responses(const load_t *load, unsigned id);

/* "ok", "retried", "refused", "reset", "timeout", "bad-status",
 * "truncated", "error", "cancelled"; NULL for other values. */
const char *load_outcome_name(load_outcome_t outcome);
/* True for the outcomes counted in `failed`. */
bool load_outcome_failed(load_outcome_t outcome);

/* ---------------------------------------------------------------------- */
/* Measurements (load-measure.c)                                          */

/* Latencies go into log-linear histograms, as HdrHistogram lays them out:
 * with B bits, values below 2^B microseconds each have a cell of their
 * own (exact); above, every power of two is cut into 2^(B-1) equal cells,
 * so a cell is at most 1/2^(B-1) of its values wide. Values of
 * LOAD_HIST_MAX_US and more are counted in the last cell. The memory is
 * fixed: it does not grow with the number of requests. */
#define LOAD_HIST_MAX_BITS 36       /* values up to 2^36 us (19 h) */
#define LOAD_HIST_MAX_US ((uint64_t)1 << LOAD_HIST_MAX_BITS)
/* Cells of a histogram of `bits` bits (2 <= bits <= 16). */
#define LOAD_HIST_CELLS(bits)                                                 \
  ((1u << (bits)) + (LOAD_HIST_MAX_BITS - (bits)) * (1u << ((bits) - 1)))
/* The whole load's histogram: exact below 128 us, 1.6 % above. */
#define LOAD_HIST_BITS 7
/* A time bucket's: exact below 16 us, 12.5 % above (windows around an
 * instant merge buckets; their percentiles carry that error). */
#define LOAD_BUCKET_BITS 4
#define LOAD_BUCKET_MS 100u

typedef struct {
  uint64_t count;            /* values recorded */
  uint64_t min, max;         /* exact (0 when empty) */
  uint64_t sum;              /* for the mean */
  uint64_t cells[LOAD_HIST_CELLS(LOAD_HIST_BITS)];
} load_hist_t;

/* One LOAD_BUCKET_MS slice of the load, by the time each request's
 * outcome was known. Latencies are those of the ok and retried requests
 * (a retried one's includes both attempts); failed ones are counted only;
 * cancelled ones not at all. */
typedef struct {
  uint32_t ok, retried, failed;
  uint32_t max_us;           /* the longest latency of the slice */
  uint32_t cells[LOAD_HIST_CELLS(LOAD_BUCKET_BITS)];
} load_bucket_t;

/* What a load measured: the latency of every request, and the load slice
 * by slice. Embedded in the load (load_measure()) or owned by a caller
 * that read one back (load_measure_from_json, load_measure_merge), which
 * then releases it with load_measure_free. A zeroed struct is empty. */
typedef struct {
  load_hist_t latency;       /* ok and retried requests, microseconds */
  uint64_t start_ns;         /* uv_hrtime() at the start of bucket 0 */
  unsigned bucket_ms;        /* LOAD_BUCKET_MS */
  load_bucket_t *buckets;    /* buckets[i] covers start + i * bucket_ms */
  size_t nbuckets;           /* up to the last one with an outcome */
  size_t capbuckets;         /* allocated */
} load_measure_t;

/* The cell of value `v` in a histogram of `bits` bits, and the lowest and
 * highest value that cell holds. */
size_t load_hist_cell(unsigned bits, uint64_t v);
uint64_t load_hist_cell_low(unsigned bits, size_t cell);
uint64_t load_hist_cell_high(unsigned bits, size_t cell);

void load_hist_init(load_hist_t *h);
void load_hist_record(load_hist_t *h, uint64_t us);
void load_hist_merge(load_hist_t *into, const load_hist_t *from);
/* The value at percentile `p` (0 < p <= 100): the smallest recorded value
 * v such that p % of the values are v or less, given as the highest value
 * of v's cell, but never outside [min, max]. So it is exact below 2^B us
 * and for p = 100 (the max), and at most one cell wide above. 0 when
 * empty. */
uint64_t load_hist_percentile(const load_hist_t *h, double p);
/* The same over the cells of a time bucket histogram (LOAD_BUCKET_BITS
 * bits, `count` values, the largest being `max`). */
uint64_t load_bucket_percentile(const uint32_t *cells, uint64_t count,
                                uint64_t max, double p);

/* The measurement of a load, valid until the next load_start() or
 * load_free(); it keeps counting while the load runs. NULL for NULL. */
const load_measure_t *load_measure(const load_t *load);
/* Adds what `from` measured to `into` (a caller's, zeroed or earlier
 * filled): the histograms merged, the buckets aligned on their times
 * (into's start moves back when from starts earlier). UV_ENOMEM leaves
 * `into` as it was. */
int load_measure_merge(load_measure_t *into, const load_measure_t *from);
void load_measure_free(load_measure_t *m);

/* The trace record of a measurement ({"type":"load","what":"latency",
 * "t":t_ns, ...}: docs/explore.md describes its fields), for the caller
 * to own; NULL when memory runs out. Only the cells that hold something
 * are written. */
struct cJSON;
struct cJSON *load_measure_json(const load_measure_t *m, uint64_t t_ns);
/* Reads such a record back into *out (zeroed first; load_measure_free
 * releases it, also on failure). UV_EINVAL for a record that is not one
 * or is malformed (cells out of range, buckets not arrays), UV_ENOMEM. */
int load_measure_from_json(const struct cJSON *rec, load_measure_t *out);

#endif /* LOAD_H */
