/*
 * test-badinput.c - a worker that breaks the wire protocol.
 *
 * Node's primary would throw (or abort, or keep what it is sent forever)
 * on such input; sim's documented rule instead (docs/ipc.md, "Bad input on
 * a channel") is: an `error` event on that worker with a Node-style code,
 * then the worker is SIGKILLed and its channel closed, so the usual
 * `disconnect` and `exit` follow - and the primary and every other worker
 * carry on. Each row forks one bad peer (this program in a helper role,
 * writing raw bytes and descriptors to fd 3, in either serialization)
 * beside a well-behaved worker agent that must answer every one of the
 * messages sent to it while the bad one dies, and then still serve an
 * HTTP request through the primary. The primary runs with a low limit of
 * descriptors, so one that kept what a peer sent would run out.
 */
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "simtest.h"

#define TIMEOUT_MS 20000u
#define ECHOES 50
/* Descriptors the primary may hold; the fd flood sends many more. */
#define PRIMARY_NOFILE 256
#define FLOOD_FDS 2000

typedef struct {
  const char *name;
  const char *helper;        /* argv[2] of the helper role */
  const char *code;          /* expected error code */
  int advanced;              /* serialization 'advanced' */
} row_t;

static const row_t rows[] = {
  { "garbage_line_error_bad_json", "garbage", "ERR_IPC_BAD_JSON", 0 },
  { "junk_after_value_error_bad_json", "junk", "ERR_IPC_BAD_JSON", 0 },
  { "two_values_on_a_line_error_bad_json", "two", "ERR_IPC_BAD_JSON", 0 },
  { "nul_after_value_error_bad_json", "nul", "ERR_IPC_BAD_JSON", 0 },
  { "control_byte_between_tokens_error_bad_json", "ctrl",
    "ERR_IPC_BAD_JSON", 0 },
  { "byte_order_mark_error_bad_json", "bom", "ERR_IPC_BAD_JSON", 0 },
  { "half_line_then_eof_error_truncated", "half", "ERR_IPC_TRUNCATED", 0 },
  { "line_of_64mib_error_too_large", "huge", "ERR_IPC_MESSAGE_TOO_LARGE",
    0 },
  { "invalid_utf8_error_invalid_utf8", "utf8", "ERR_IPC_INVALID_UTF8", 0 },
  { "node_handle_without_fd_error_handle_missing", "nohandle",
    "ERR_IPC_HANDLE_MISSING", 0 },
  { "fd_on_a_plain_line_error_unclaimed", "fdplain",
    "ERR_IPC_HANDLE_UNCLAIMED", 0 },
  { "fd_flood_on_plain_lines_error_unclaimed", "fdflood",
    "ERR_IPC_HANDLE_UNCLAIMED", 0 },
  { "two_fds_with_one_message_error_too_many", "fds2",
    "ERR_IPC_TOO_MANY_FDS", 0 },
  { "regular_file_as_net_native_error_handle_type", "filefd",
    "ERR_IPC_HANDLE_TYPE", 0 },
  { "udp_socket_as_net_native_error_handle_type", "udpnative",
    "ERR_IPC_HANDLE_TYPE", 0 },
  { "tcp_socket_as_dgram_native_error_handle_type", "dgramtcp",
    "ERR_IPC_HANDLE_TYPE", 0 },
  { "unknown_handle_type_error_handle_type", "badtype",
    "ERR_IPC_HANDLE_TYPE", 0 },
  { "ack_for_nothing_error_unexpected_ack", "ack", "ERR_IPC_UNEXPECTED_ACK",
    0 },
  { "nack_for_nothing_error_unexpected_ack", "nack",
    "ERR_IPC_UNEXPECTED_ACK", 0 },
  { "v8_not_a_payload_error_bad_v8", "v8garbage", "ERR_IPC_BAD_V8", 1 },
  { "v8_empty_payload_error_bad_v8", "v8empty", "ERR_IPC_BAD_V8", 1 },
  { "v8_version_16_error_bad_v8", "v8version", "ERR_IPC_BAD_V8", 1 },
  { "v8_unknown_tag_error_bad_v8", "v8tag", "ERR_IPC_BAD_V8", 1 },
  { "v8_string_past_the_end_error_bad_v8", "v8pastend", "ERR_IPC_BAD_V8",
    1 },
  { "v8_array_length_4g_error_bad_v8", "v8biglen", "ERR_IPC_BAD_V8", 1 },
  { "v8_nesting_2000_error_too_large", "v8deep",
    "ERR_IPC_MESSAGE_TOO_LARGE", 1 },
  { "v8_length_prefix_4g_error_too_large", "v8huge",
    "ERR_IPC_MESSAGE_TOO_LARGE", 1 },
  { "v8_half_frame_then_eof_error_truncated", "v8trunc",
    "ERR_IPC_TRUNCATED", 1 },
  { "v8_node_handle_without_fd_error_handle_missing", "v8nohandle",
    "ERR_IPC_HANDLE_MISSING", 1 },
  { "v8_ack_for_nothing_error_unexpected_ack", "v8ack",
    "ERR_IPC_UNEXPECTED_ACK", 1 },
  { "v8_fd_on_a_plain_message_error_unclaimed", "v8fdplain",
    "ERR_IPC_HANDLE_UNCLAIMED", 1 },
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))

/* ---------------------------------------------------------------------- */
/* Helper role: a bad peer on fd 3                                         */

static void put(const void *p, size_t n)
{
  const char *s = p;

  while (n > 0) {
    ssize_t w = write(3, s, n);
    if (w <= 0)
      _exit(3);
    s += w;
    n -= (size_t)w;
  }
}

static void puts3(const char *s)
{
  put(s, strlen(s));
}

/* One sendmsg of `s` with `nfds` copies of `fd` (SCM_RIGHTS); -1 when the
 * kernel refuses it (a primary that stopped reading has been sent more
 * descriptors than may be in flight). */
static int put_fds(const void *s, size_t n, int fd, int nfds)
{
  char cbuf[CMSG_SPACE(4 * sizeof(int))];
  struct iovec iov = { (void *)s, n };
  struct msghdr mh = { 0 };
  struct cmsghdr *c;

  memset(cbuf, 0, sizeof(cbuf));
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = cbuf;
  mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
  c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
  for (int i = 0; i < nfds; i++)
    memcpy(CMSG_DATA(c) + i * sizeof(int), &fd, sizeof(int));
  return sendmsg(3, &mh, 0) == (ssize_t)n ? 0 : -1;
}

static int tcp_socket(void)
{
  return socket(AF_INET, SOCK_STREAM, 0);
}

/* The frame of a JSON text's value (JSON.parse() semantics), or of raw
 * payload bytes. */
static void put_frame_json(const char *json)
{
  cJSON *j = cJSON_Parse(json);
  sim_heap_t *h = sim_heap_new(0);
  sim_value_t *v;
  sim_buf_t b;

  sim_buf_init(&b);
  if (j == NULL || h == NULL || sim_value_from_json(h, j, &v) != 0 ||
      sim_v8_encode_frame(v, &b, NULL) != 0)
    _exit(5);
  put(b.base, b.len);
  sim_buf_free(&b);
  sim_heap_free(h);
  cJSON_Delete(j);
}

static void put_frame_raw(const void *payload, uint32_t n)
{
  uint8_t p[4] = { (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8),
                   (uint8_t)n };

  put(p, 4);
  put(payload, n);
}

static const char handle_line[] =
    "{\"cmd\":\"NODE_HANDLE\",\"type\":\"%s\",\"msg\":"
    "{\"cmd\":\"NODE_CLUSTER\",\"act\":\"newconn\",\"key\":\"x\","
    "\"seq\":1}}\n";

static void put_handle_line(const char *type, int fd, int nfds)
{
  char line[256];
  int n = snprintf(line, sizeof(line), handle_line, type);

  if (put_fds(line, (size_t)n, fd, nfds) != 0)
    _exit(3);
}

static int helper_json(const char *mode)
{
  static const struct {
    const char *mode;
    const char *bytes;
    size_t n;
  } lines[] = {
#define L(m, s) { m, s, sizeof(s) - 1 }
    L("garbage", "garbage\n"),
    L("junk", "{\"a\":1}x\n"),
    L("two", "{\"a\":1} {\"b\":2}\n"),
    L("nul", "{\"a\":1}\0\n"),
    L("ctrl", "{\"a\":\x01 1}\n"),
    L("bom", "\xef\xbb\xbf{\"a\":1}\n"),
    L("half", "{\"cmd\":\"NODE_CLUSTER\",\"act\":\"onl"),
    L("utf8", "{\"x\":\"\xff\xfe\xc0\xaf\"}\n"),
    L("ack", "{\"cmd\":\"NODE_HANDLE_ACK\"}\n"),
    L("nack", "{\"cmd\":\"NODE_HANDLE_NACK\"}\n"),
#undef L
  };

  for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
    if (strcmp(mode, lines[i].mode) == 0) {
      put(lines[i].bytes, lines[i].n);
      if (strcmp(mode, "half") == 0)
        close(3);              /* EOF in the middle of a line */
      return 0;
    }
  }
  return -1;
}

static void helper_huge(void)
{
  static char chunk[1 << 16];

  memset(chunk, 'a', sizeof(chunk));
  put("{\"x\":\"", 6);
  /* 64 MiB without a newline; the primary stops reading at its limit,
   * so this blocks until the helper is killed. */
  for (int i = 0; i < 1024; i++)
    put(chunk, sizeof(chunk));
  put("\"}\n", 3);
}

static int helper_fds(const char *mode)
{
  int tcp = tcp_socket();

  if (strcmp(mode, "nohandle") == 0)
    puts3("{\"cmd\":\"NODE_HANDLE\",\"type\":\"net.Native\",\"msg\":"
          "{\"cmd\":\"NODE_CLUSTER\",\"act\":\"newconn\",\"key\":\"x\","
          "\"seq\":1}}\n");
  else if (strcmp(mode, "fdplain") == 0)
    (void)put_fds("{\"a\":1}\n", 8, tcp, 1);
  else if (strcmp(mode, "fdflood") == 0)
    /* Far more than the primary may hold; one sendmsg (and one read)
     * each, a line each: nothing is coalesced. */
    for (int i = 0; i < FLOOD_FDS; i++) {
      if (put_fds("{\"a\":1}\n", 8, tcp, 1) != 0)
        break;
    }
  else if (strcmp(mode, "fds2") == 0)
    put_handle_line("net.Native", tcp, 2);
  else if (strcmp(mode, "filefd") == 0)
    put_handle_line("net.Native", open(st_self(), O_RDONLY), 1);
  else if (strcmp(mode, "udpnative") == 0)
    put_handle_line("net.Native", socket(AF_INET, SOCK_DGRAM, 0), 1);
  else if (strcmp(mode, "dgramtcp") == 0)
    put_handle_line("dgram.Native", tcp, 1);
  else if (strcmp(mode, "badtype") == 0)
    put_handle_line("foo.Bar", tcp, 1);
  else
    return -1;
  return 0;
}

static int helper_v8_payload(const char *mode)
{
  static const struct {
    const char *mode;
    const char *bytes;
    uint32_t n;
  } frames[] = {
#define F(m, s) { m, s, sizeof(s) - 1 }
    F("v8garbage", "garbage"),
    F("v8empty", ""),
    F("v8version", "\xff\x10\x30"),
    F("v8tag", "\xff\x0f\x07"),
    F("v8pastend", "\xff\x0f\x22\x7f\x61"),
    F("v8biglen", "\xff\x0f\x41\xff\xff\xff\xff\x0f"),
#undef F
  };

  for (size_t i = 0; i < sizeof(frames) / sizeof(frames[0]); i++) {
    if (strcmp(mode, frames[i].mode) == 0) {
      put_frame_raw(frames[i].bytes, frames[i].n);
      return 0;
    }
  }
  return -1;
}

static int helper_v8(const char *mode)
{
  if (helper_v8_payload(mode) == 0)
    return 0;
  if (strcmp(mode, "v8deep") == 0) {
    /* [[[[...]]]] 2000 deep: 'A' with length 1 each, then the end tags
     * ('$' 0 1) innermost first. */
    static uint8_t p[2 + 2000 * 2 + 1 + 2000 * 3];
    size_t n = 0;
    p[n++] = 0xff;
    p[n++] = 0x0f;
    for (int i = 0; i < 2000; i++) {
      p[n++] = 'A';
      p[n++] = 1;
    }
    p[n++] = '0';
    for (int i = 0; i < 2000; i++) {
      p[n++] = '$';
      p[n++] = 0;
      p[n++] = 1;
    }
    put_frame_raw(p, (uint32_t)n);
  } else if (strcmp(mode, "v8huge") == 0) {
    put("\xff\xff\xff\xff\xff\x0f", 6);
  } else if (strcmp(mode, "v8trunc") == 0) {
    put("\x00\x00\x00\x64\xff\x0f\x6f", 7);
    close(3);
  } else if (strcmp(mode, "v8nohandle") == 0) {
    put_frame_json("{\"cmd\":\"NODE_HANDLE\",\"type\":\"net.Native\","
                   "\"msg\":{\"a\":1}}");
  } else if (strcmp(mode, "v8ack") == 0) {
    put_frame_json("{\"cmd\":\"NODE_HANDLE_ACK\"}");
  } else if (strcmp(mode, "v8fdplain") == 0) {
    sim_heap_t *h = sim_heap_new(0);
    sim_buf_t b;
    sim_buf_init(&b);
    if (sim_v8_encode_frame(sim_value_new_int32(h, 7), &b, NULL) != 0)
      return -1;
    (void)put_fds(b.base, b.len, tcp_socket(), 1);
    sim_buf_free(&b);
    sim_heap_free(h);
  } else {
    return -1;
  }
  return 0;
}

static int helper(const char *mode)
{
  int rc;

  /* It says `online` properly first, so the primary knows it as a live
   * worker before it misbehaves. */
  if (strncmp(mode, "v8", 2) == 0) {
    put_frame_json("{\"cmd\":\"NODE_CLUSTER\",\"act\":\"online\",\"seq\":0}");
    rc = helper_v8(mode);
  } else {
    puts3("{\"cmd\":\"NODE_CLUSTER\",\"act\":\"online\",\"seq\":0}\n");
    if (strcmp(mode, "huge") == 0) {
      helper_huge();
      rc = 0;
    } else if ((rc = helper_json(mode)) != 0) {
      rc = helper_fds(mode);
    }
  }
  if (rc != 0)
    return 2;
  /* Stay alive: the primary's rule is to kill it. */
  for (int i = 0; i < 300; i++)
    sleep(1);
  return 4;
}

/* ---------------------------------------------------------------------- */

static const row_t *row;
static int sent;
static int echoed;
static int in_order = 1;
static int good_port;
static int requested;
static st_client_t client;

static void on_served(st_client_t *c)
{
  st_ctx_t *t = c->ctx;

  /* Served: the good worker leaves by a primary disconnect. */
  if (sim_cluster_worker(&t->cluster, 2) != NULL)
    (void)sim_worker_disconnect(sim_cluster_find(&t->cluster, 2));
}

static void maybe_end(st_ctx_t *t)
{
  /* The bad worker is fully gone and every echo is back: the good worker
   * serves a request through the primary. */
  if (echoed == ECHOES && st_count(t, 1, SIM_EV_EXIT, SIM_ON_CLUSTER) == 1 &&
      st_count(t, 1, SIM_EV_DISCONNECT, SIM_ON_CLUSTER) == 1 &&
      good_port != 0 && !requested) {
    requested = 1;
    TEST_CHECK(st_client_get(t, &client, good_port, on_served) == 0,
               "request to the good worker");
  }
}

static void send_echoes(st_ctx_t *t)
{
  /* While the bad worker is being killed, talk to the good one. */
  sim_worker_t *good = sim_cluster_find(&t->cluster, 2);

  for (int i = 0; i < ECHOES; i++) {
    char m[64];
    snprintf(m, sizeof(m), "{\"n\":%d}", i);
    TEST_CHECK(st_send(good, m) == 0, "send %d to the good worker", i);
    sent++;
  }
}

static void on_event(st_ctx_t *t, const sim_event_t *ev,
                     const st_event_t *rec)
{
  if (ev->type == SIM_EV_ERROR && rec->id == 1)
    send_echoes(t);
  if (ev->type == SIM_EV_LISTENING && rec->id == 2 &&
      ev->emitter == SIM_ON_CLUSTER) {
    good_port = rec->port;
    maybe_end(t);
  }
  if (ev->type == SIM_EV_MESSAGE && ev->emitter == SIM_ON_CLUSTER &&
      rec->id == 2) {
    char want[64];
    snprintf(want, sizeof(want), "{\"echo\":{\"n\":%d}}", echoed);
    if (strcmp(rec->text, want) != 0)
      in_order = 0;
    echoed++;
  }
  if (ev->emitter == SIM_ON_CLUSTER && rec->id == 1 &&
      (ev->type == SIM_EV_EXIT || ev->type == SIM_EV_DISCONNECT))
    maybe_end(t);
  /* The Worker's `message` listener is the last one for a message. */
  if (ev->type == SIM_EV_MESSAGE && ev->emitter == SIM_ON_WORKER)
    maybe_end(t);
  if (ev->type == SIM_EV_EXIT && ev->emitter == SIM_ON_CLUSTER &&
      rec->id == 2)
    st_finish_after(t, 100);
}

static void row_body(void)
{
  static st_ctx_t t;
  const char *bad_args[] = { "--helper", NULL, NULL };
  static const char *const good_args[] = { "worker", "--http", "127.0.0.1:0",
                                           "--messages", "echo", NULL };
  /* online, error, then the ordinary death of a SIGKILLed worker. */
  st_life_t bad = { 0, -1, 1, NULL, 1, 1, 1, 0, 0, -1, SIGKILL };
  static const st_life_t good = { 1, -1, 0, NULL, 1, 1, 1, 1, 1, 0, 0 };
  struct rlimit rl = { PRIMARY_NOFILE, PRIMARY_NOFILE };
  sim_settings_t adv = { .serialization = "advanced" };

  row = TEST_ROW(rows);
  bad_args[1] = row->helper;
  bad.error_code = row->code;
  TEST_CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0, "setrlimit");
  st_init(&t, SIM_SCHED_RR, st_self(), bad_args, on_event);
  if (row->advanced)
    TEST_CHECK(sim_cluster_setup(&t.cluster, &adv) == 0,
               "serialization 'advanced'");
  (void)st_fork(&t);
  st_setup(&t, NULL, good_args);
  (void)st_fork(&t);
  st_run(&t, TIMEOUT_MS);
  st_check_pairs(&t);
  st_check_life(&t, 1, &bad);
  st_check_life(&t, 2, &good);
  TEST_CHECK(st_count(&t, 1, SIM_EV_ERROR, ST_ANY) == 1,
             "%d error events for the bad worker, want 1",
             st_count(&t, 1, SIM_EV_ERROR, ST_ANY));
  TEST_CHECK(st_count(&t, 2, SIM_EV_ERROR, ST_ANY) == 0,
             "the good worker got an error event");
  TEST_CHECK(sent == ECHOES && echoed == ECHOES && in_order,
             "good worker: sent %d, echoed %d, in order %d (want %d)", sent,
             echoed, in_order, ECHOES);
  TEST_CHECK(client.done && client.worker == 2,
             "the good worker served a request through the primary "
             "(done %d, X-Worker %d, connect %s)", client.done, client.worker,
             uv_strerror(client.status));
}

static void run_row(void)
{
  st_isolate(row_body, TIMEOUT_MS);
}

static CU_TestInfo table_tests[NROWS + 1];

int main(int argc, char **argv)
{
  CU_SuiteInfo suites[] = {
    { .pName = "bad-input", .pTests = table_tests },
    CU_SUITE_INFO_NULL,
  };

  static const test_role_t roles[] = {
    { "--helper", helper },
    { "--sim-worker", st_sim_worker },
    TEST_ROLES_END
  };

  TEST_ROWS_FILL(table_tests, rows, run_row);
  return test_main(argc, argv, suites, roles);
}
