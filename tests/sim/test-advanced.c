/*
 * test-advanced.c - serialization 'advanced' on a real channel, against
 * real Node v20, both ways.
 *
 * (a) A Node primary (node-advanced.js) forks C workers (this program in
 *     its --adv-worker role, on sim_child_*) and sends them every value of
 *     the codec's corpus (tests/serdes/corpus.c). Each C worker checks that
 *     the value it got encodes to the bytes of the row's model and echoes
 *     it; Node checks the echo against what its own channel delivers.
 * (b) The other way: a C primary sends every corpus value to Node workers,
 *     which check it the same way and echo it; the C primary checks the
 *     echo against the model's bytes.
 * (c) Byte for byte, the cluster's own messages: a wire tap (this program
 *     in its --tap role, between the primary and the worker it forks)
 *     records every byte and descriptor of one cluster life (online,
 *     queryServer, listening, a connection handed over with NODE_HANDLE
 *     and its ACK, a message and its echo, disconnect) for each pairing of
 *     Node and C primaries and workers, in both serializations; every
 *     message a C side writes must be the one Node writes in its place
 *     (ports aside).
 *
 * Skipped (77) when `node` is not on PATH.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sim.h"
#include "test-support.h"
#include "../serdes/serdes-test.h"

#define WORKERS 2
#define NODE_TIMEOUT_MS 60000u
#define CASE_TIMEOUT_MS 60000u

static const char *node_path;
static char node_side[4096];
static char self[4096];
static const char *clustersim;

/* ---------------------------------------------------------------------- */
/* The corpus as messages                                                  */

static const corpus_row_t *row_named(const char *name)
{
  for (size_t i = 0; i < corpus_len; i++)
    if (strcmp(corpus[i].name, name) == 0)
      return &corpus[i];
  return NULL;
}

/* 1 when the JSON form `got` is the value of `row` byte for byte; why not
 * in `why` otherwise. */
static int same_as_row(const corpus_row_t *row, const cJSON *got, char *why,
                       size_t n)
{
  sim_heap_t *h = sim_heap_new(0), *h2 = sim_heap_new(0);
  sim_value_t *want = h != NULL ? row->build(h) : NULL, *v = NULL;
  sim_buf_t a, b;
  int rc, ok = 0;

  sim_buf_init(&a);
  sim_buf_init(&b);
  rc = h2 == NULL ? UV_ENOMEM : sim_value_from_json(h2, got, &v);
  if (want == NULL || sim_v8_encode(want, &a, NULL) != 0)
    snprintf(why, n, "the model does not encode");
  else if (rc != 0 || sim_v8_encode(v, &b, NULL) != 0)
    snprintf(why, n, "the value got does not encode (%s)", uv_err_name(rc));
  else if (a.len != b.len || memcmp(a.base, b.base, a.len) != 0) {
    char *x = st_hex(b.base, b.len), *y = st_hex(a.base, a.len);
    snprintf(why, n, "got %.200s, want %.200s", x, y);
    free(x);
    free(y);
  } else
    ok = 1;
  sim_buf_free(&a);
  sim_buf_free(&b);
  sim_heap_free(h);
  sim_heap_free(h2);
  return ok;
}

static cJSON *corpus_rows(void)
{
  cJSON *rows = cJSON_CreateArray();

  for (size_t i = 0; i < corpus_len; i++) {
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "name", corpus[i].name);
    cJSON_AddStringToObject(r, "js", corpus[i].js);
    if (corpus[i].check != NULL)
      cJSON_AddStringToObject(r, "check", corpus[i].check);
    cJSON_AddItemToArray(rows, r);
  }
  return rows;
}

/* ---------------------------------------------------------------------- */
/* (a) The C worker role                                                   */

static sim_child_t adv_child;

static void adv_event(sim_child_t *child, const sim_child_event_t *ev)
{
  const cJSON *name, *v;
  const corpus_row_t *row;
  char why[600] = "";
  cJSON *r;
  int ok;

  if (ev->type != SIM_CHILD_EV_MESSAGE)
    return;
  name = cJSON_GetObjectItemCaseSensitive(ev->message, "name");
  v = cJSON_GetObjectItemCaseSensitive(ev->message, "v");
  row = cJSON_IsString(name) ? row_named(name->valuestring) : NULL;
  if (row == NULL || v == NULL)
    ok = 0, snprintf(why, sizeof(why), "not a corpus message");
  else
    ok = same_as_row(row, v, why, sizeof(why));
  r = cJSON_CreateObject();
  cJSON_AddItemToObject(r, "name", cJSON_Duplicate(name, 1));
  cJSON_AddBoolToObject(r, "ok", ok);
  cJSON_AddStringToObject(r, "why", why);
  if (v != NULL)
    cJSON_AddItemToObject(r, "v", cJSON_Duplicate(v, 1));
  if (sim_child_send(child, r, NULL, NULL, NULL) != 0)
    fprintf(stderr, "adv-worker: send failed\n");
  cJSON_Delete(r);
}

static int adv_worker(const char *arg)
{
  uv_loop_t *loop = uv_default_loop();
  const char *mode = getenv("NODE_CHANNEL_SERIALIZATION_MODE");

  (void)arg;
  if (mode == NULL || strcmp(mode, "advanced") != 0)
    return 3;
  if (sim_child_init(loop, &adv_child, adv_event) != 0)
    return 2;
  uv_run(loop, UV_RUN_DEFAULT);
  return 0;
}

static void node_primary_c_workers(void)
{
  char n[16];
  const char *argv[] = { node_path, "--expose-internals", node_side,
                         "primary", self, n, NULL };
  cJSON *rows = corpus_rows(), *reply, *r;
  char *in = cJSON_PrintUnformatted(rows), *out = NULL;
  int status, count = 0, bad = 0;

  snprintf(n, sizeof(n), "%d", WORKERS);
  status = st_run(argv, in, &out, NODE_TIMEOUT_MS);
  CU_ASSERT_EQUAL(status, 0);
  reply = out != NULL ? cJSON_Parse(out) : NULL;
  if (reply == NULL)
    fprintf(stderr, "node-advanced.js: %.500s\n", out != NULL ? out : "");
  CU_ASSERT_PTR_NOT_NULL_FATAL(reply);
  cJSON_ArrayForEach(r, reply) {
    if (!cJSON_IsTrue(cJSON_GetObjectItem(r, "ok"))) {
      char *s = cJSON_PrintUnformatted(r);
      fprintf(stderr, "  %s\n", s);
      free(s);
      bad++;
    }
    count++;
  }
  CU_ASSERT_EQUAL(bad, 0);
  CU_ASSERT_EQUAL(count, (int)corpus_len * WORKERS);
  cJSON_Delete(reply);
  cJSON_Delete(rows);
  free(in);
  free(out);
}

/* ---------------------------------------------------------------------- */
/* (b) A C primary, Node workers                                           */

static struct {
  uv_loop_t loop;
  sim_cluster_t cluster;
  uv_timer_t watchdog;
  int checked, bad, exits;
} cp;

static void cp_closed(sim_cluster_t *c)
{
  (void)c;
  uv_close((uv_handle_t *)&cp.watchdog, NULL);
}

static void cp_send_rows(sim_worker_t *w)
{
  for (size_t i = 0; i < corpus_len; i++) {
    sim_heap_t *h = sim_heap_new(0);
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "name", corpus[i].name);
    cJSON_AddStringToObject(m, "js", corpus[i].js);
    if (corpus[i].check != NULL)
      cJSON_AddStringToObject(m, "check", corpus[i].check);
    cJSON_AddItemToObject(m, "v", sim_value_to_json(corpus[i].build(h)));
    TEST_CHECK(sim_worker_send(w, m, NULL, NULL, NULL) == 0, "send %s",
               corpus[i].name);
    cJSON_Delete(m);
    sim_heap_free(h);
  }
}

static void cp_check(const cJSON *m)
{
  const cJSON *name = cJSON_GetObjectItemCaseSensitive(m, "name");
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, "v");
  const cJSON *why = cJSON_GetObjectItemCaseSensitive(m, "why");
  const corpus_row_t *row = cJSON_IsString(name)
                                ? row_named(name->valuestring) : NULL;
  char mine[600] = "";

  if (row == NULL)
    return;
  if (!cJSON_IsTrue(cJSON_GetObjectItem(m, "ok"))) {
    fprintf(stderr, "  %s: Node: %s\n", row->name,
            cJSON_IsString(why) ? why->valuestring : "?");
    cp.bad++;
  } else if (v == NULL || !same_as_row(row, v, mine, sizeof(mine))) {
    fprintf(stderr, "  %s: C: %s\n", row->name, mine);
    cp.bad++;
  }
  if (++cp.checked == (int)corpus_len * WORKERS)
    (void)sim_cluster_disconnect(&cp.cluster, NULL, NULL);
}

static void cp_event(sim_cluster_t *c, const sim_event_t *ev)
{
  if (ev->emitter != SIM_ON_CLUSTER)
    return;
  if (ev->type == SIM_EV_ONLINE)
    cp_send_rows(ev->worker);
  else if (ev->type == SIM_EV_MESSAGE)
    cp_check(ev->message);
  else if (ev->type == SIM_EV_ERROR)
    TEST_CHECK(0, "worker %u: %s", sim_worker_id(ev->worker),
               ev->error_code);
  else if (ev->type == SIM_EV_EXIT) {
    TEST_CHECK(ev->exit_code == 0, "worker %u exit %lld",
               sim_worker_id(ev->worker), (long long)ev->exit_code);
    if (++cp.exits == WORKERS)
      sim_cluster_close(c, cp_closed);
  }
}

static void cp_timeout(uv_timer_t *t)
{
  (void)t;
  TEST_CHECK(0, "watchdog: %d of %d values checked", cp.checked,
             (int)corpus_len * WORKERS);
  sim_cluster_close(&cp.cluster, cp_closed);
}

static void c_primary_body(void)
{
  const char *args[] = { "--expose-internals", node_side, "worker", NULL };
  sim_settings_t s = { 0 };
  sim_worker_t *w;

  s.exec = node_path;
  s.args = args;
  s.serialization = "advanced";
  TEST_CHECK(uv_loop_init(&cp.loop) == 0, "loop");
  TEST_CHECK(sim_cluster_init(&cp.loop, &cp.cluster, cp_event) == 0, "init");
  TEST_CHECK(sim_cluster_setup(&cp.cluster, &s) == 0, "setup advanced");
  for (int i = 0; i < WORKERS; i++)
    TEST_CHECK(sim_cluster_fork(&cp.cluster, NULL, &w) == 0, "fork");
  uv_timer_init(&cp.loop, &cp.watchdog);
  uv_timer_start(&cp.watchdog, cp_timeout, CASE_TIMEOUT_MS - 5000, 0);
  uv_run(&cp.loop, UV_RUN_DEFAULT);
  TEST_CHECK(cp.checked == (int)corpus_len * WORKERS && cp.bad == 0,
             "%d values checked, %d wrong", cp.checked, cp.bad);
  TEST_CHECK(uv_loop_close(&cp.loop) == 0, "every handle closed");
}

static void c_primary_node_workers(void)
{
  test_isolate(c_primary_body, CASE_TIMEOUT_MS, NULL);
}

/* ---------------------------------------------------------------------- */
/* (c) The wire tap                                                        */

/* `EXE --tap LOG PROG ARGS...`: forks PROG with its channel on a
 * socketpair of its own and relays everything both ways (data and
 * SCM_RIGHTS descriptors, each read in one write), logging each read as
 * a record: direction ('>' to the worker, '<' to the primary), byte
 * count, descriptor count (native-endian uint32s), the bytes. Ends when
 * both directions have ended and the worker has exited, with its
 * status. */
static int tap_relay(int from, int to, char dir, int log, int *open_in)
{
  char buf[65536], cbuf[CMSG_SPACE(64 * sizeof(int))];
  struct iovec iov = { buf, sizeof(buf) };
  struct msghdr mh = { 0 };
  struct cmsghdr *c;
  uint32_t head[2] = { 0, 0 };
  ssize_t n;

  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = cbuf;
  mh.msg_controllen = sizeof(cbuf);
  n = recvmsg(from, &mh, MSG_CMSG_CLOEXEC);
  if (n <= 0) {
    *open_in = 0;
    shutdown(to, SHUT_WR);
    return 0;
  }
  c = CMSG_FIRSTHDR(&mh);
  if (c != NULL && c->cmsg_type == SCM_RIGHTS)
    head[1] = (uint32_t)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
  head[0] = (uint32_t)n;
  if (write(log, &dir, 1) != 1 || write(log, head, sizeof(head)) != 8 ||
      write(log, buf, (size_t)n) != n)
    return -1;
  iov.iov_len = (size_t)n;
  mh.msg_controllen = head[1] > 0 ? CMSG_SPACE(head[1] * sizeof(int)) : 0;
  if (head[1] == 0)
    mh.msg_control = NULL;
  for (size_t off = 0; off < (size_t)n;) {
    ssize_t w;
    iov.iov_base = buf + off;
    iov.iov_len = (size_t)n - off;
    w = sendmsg(to, &mh, MSG_NOSIGNAL);
    if (w <= 0)
      break;                 /* the other side is gone */
    off += (size_t)w;
    mh.msg_control = NULL;
    mh.msg_controllen = 0;
  }
  for (uint32_t i = 0; i < head[1]; i++) {
    int fd;
    memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
    close(fd);
  }
  return 0;
}

static int tap(int argc, char **argv)
{
  int sv[2], log, up = 1, down = 1, status = 0;
  pid_t pid;

  if (argc < 4 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
    return 90;
  log = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
  pid = fork();
  if (pid == 0) {
    dup2(sv[1], 3);
    close(sv[0]);
    if (sv[1] != 3)
      close(sv[1]);
    execvp(argv[3], argv + 3);
    _exit(127);
  }
  close(sv[1]);
  while (log >= 0 && pid > 0 && (up || down)) {
    struct pollfd p[2] = { { up ? 3 : -1, POLLIN, 0 },
                           { down ? sv[0] : -1, POLLIN, 0 } };
    if (poll(p, 2, -1) < 0 && errno != EINTR)
      break;
    if ((p[0].revents & (POLLIN | POLLHUP | POLLERR)) &&
        tap_relay(3, sv[0], '>', log, &up) != 0)
      break;
    if ((p[1].revents & (POLLIN | POLLHUP | POLLERR)) &&
        tap_relay(sv[0], 3, '<', log, &down) != 0)
      break;
  }
  close(sv[0]);
  close(3);
  if (pid > 0)
    waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* One direction of a tapped life: its messages, each as text that shows
 * every byte that matters (the line itself; a frame's JSON form), with
 * port numbers masked; and the descriptors that went with them. */
typedef struct {
  cJSON *msgs;               /* array of strings */
  int fds;
  int bad;                   /* a frame or line that did not read */
} wire_t;

static void mask_ports(cJSON *j)
{
  for (cJSON *c = j != NULL ? j->child : NULL; c != NULL; c = c->next) {
    if (c->string != NULL && strcmp(c->string, "port") == 0 &&
        cJSON_IsNumber(c))
      cJSON_SetNumberValue(c, 0);
    mask_ports(c);
  }
}

static void wire_add_line(wire_t *w, const char *p, size_t n)
{
  cJSON *j = cJSON_ParseWithLength(p, n);
  char *text;

  if (j == NULL) {
    w->bad++;
    return;
  }
  /* A line with a port is compared as cJSON prints it with the port
   * masked; every other line byte for byte. */
  if (memmem(p, n, "\"port\":", 7) != NULL) {
    mask_ports(j);
    text = cJSON_PrintUnformatted(j);
  } else {
    text = strndup(p, n);
  }
  cJSON_AddItemToArray(w->msgs, cJSON_CreateString(text));
  free(text);
  cJSON_Delete(j);
}

static size_t wire_add_frame(wire_t *w, const uint8_t *p, size_t n)
{
  sim_heap_t *h = sim_heap_new(0);
  sim_value_t *v;
  size_t used = 0;
  cJSON *j;
  char *text;
  int rc = sim_v8_decode_frame(h, p, n, &v, &used, NULL);

  if (rc == UV_EAGAIN) {
    sim_heap_free(h);
    return 0;
  }
  if (rc != 0 || (j = sim_value_to_json(v)) == NULL) {
    w->bad++;
    sim_heap_free(h);
    return used != 0 ? used : n;
  }
  mask_ports(j);
  text = cJSON_PrintUnformatted(j);
  cJSON_AddItemToArray(w->msgs, cJSON_CreateString(text));
  free(text);
  cJSON_Delete(j);
  sim_heap_free(h);
  return used;
}

/* Splits the log of one life into both directions' messages. */
static int wire_read(const char *path, int advanced, wire_t *to_worker,
                     wire_t *to_primary)
{
  sim_buf_t s[2];
  wire_t *w[2] = { to_worker, to_primary };
  FILE *f = fopen(path, "rb");
  char dir;
  uint32_t head[2];

  if (f == NULL)
    return -1;
  for (int i = 0; i < 2; i++) {
    sim_buf_init(&s[i]);
    w[i]->msgs = cJSON_CreateArray();
    w[i]->fds = w[i]->bad = 0;
  }
  while (fread(&dir, 1, 1, f) == 1 && fread(head, 8, 1, f) == 1) {
    int d = dir == '<';
    if (sim_buf_reserve(&s[d], head[0]) != 0 ||
        fread(s[d].base + s[d].len, 1, head[0], f) != head[0])
      break;
    s[d].len += head[0];
    w[d]->fds += (int)head[1];
  }
  fclose(f);
  for (int d = 0; d < 2; d++) {
    size_t off = 0, used;
    while (off < s[d].len) {
      if (!advanced) {
        uint8_t *nl = memchr(s[d].base + off, '\n', s[d].len - off);
        if (nl == NULL)
          break;
        wire_add_line(w[d], (char *)s[d].base + off,
                      (size_t)(nl - (s[d].base + off)));
        off = (size_t)(nl - s[d].base) + 1;
      } else if ((used = wire_add_frame(w[d], s[d].base + off,
                                        s[d].len - off)) == 0) {
        break;
      } else {
        off += used;
      }
    }
    w[d]->bad += off != s[d].len;
    sim_buf_free(&s[d]);
  }
  return 0;
}

static void wire_free(wire_t *w)
{
  cJSON_Delete(w->msgs);
}

/* The same life with a C primary (this program): the worker listens, a
 * client is served through the primary, a message goes out and its echo
 * comes back, then the primary disconnects the worker. */
static struct {
  uv_loop_t loop;
  sim_cluster_t cluster;
  uv_tcp_t client;
  uv_connect_t connect;
  uv_write_t write;
  char buf[4096];
  sim_worker_t *worker;
  int exited;
} tp;

static void tp_closed(sim_cluster_t *c)
{
  (void)c;
}

static void tp_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
  (void)h;
  (void)hint;
  *b = uv_buf_init(tp.buf, sizeof(tp.buf));
}

static void tp_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
  cJSON *m;

  (void)b;
  if (n >= 0)
    return;
  uv_close((uv_handle_t *)s, NULL);
  m = cJSON_Parse("{\"hello\":\"from-primary\"}");
  TEST_CHECK(sim_worker_send(tp.worker, m, NULL, NULL, NULL) == 0, "send");
  cJSON_Delete(m);
}

static void tp_connected(uv_connect_t *req, int status)
{
  static char get[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      "Connection: close\r\n\r\n";
  uv_buf_t b = uv_buf_init(get, sizeof(get) - 1);

  TEST_CHECK(status == 0, "connect: %s", uv_strerror(status));
  (void)uv_write(&tp.write, req->handle, &b, 1, NULL);
  (void)uv_read_start(req->handle, tp_alloc, tp_read);
}

static void tp_event(sim_cluster_t *c, const sim_event_t *ev)
{
  struct sockaddr_in sa;

  if (ev->emitter != SIM_ON_CLUSTER)
    return;
  if (ev->type == SIM_EV_LISTENING) {
    uv_ip4_addr("127.0.0.1", ev->address->port, &sa);
    uv_tcp_init(&tp.loop, &tp.client);
    TEST_CHECK(uv_tcp_connect(&tp.connect, &tp.client,
                              (struct sockaddr *)&sa, tp_connected) == 0,
               "client");
  } else if (ev->type == SIM_EV_MESSAGE) {
    (void)sim_worker_disconnect(ev->worker);
  } else if (ev->type == SIM_EV_ERROR) {
    TEST_CHECK(0, "worker error %s", ev->error_code);
  } else if (ev->type == SIM_EV_EXIT) {
    tp.exited = 1;
    sim_cluster_close(c, tp_closed);
  }
}

static const char *const tap_c_worker[] = { NULL, "worker", "--http",
                                            "127.0.0.1:0", "--messages",
                                            "echo", NULL };
static const char *const tap_node_worker[] = { NULL, node_side,
                                               "tap-worker", NULL };
static const char *tap_log;
static const char *tap_mode;
static int tap_node_side;

static void c_tap_body(void)
{
  const char *args[16];
  const char *const *wk = tap_node_side ? tap_node_worker : tap_c_worker;
  sim_settings_t s = { 0 };
  int n = 0;

  args[n++] = "--tap";
  args[n++] = tap_log;
  args[n++] = tap_node_side ? node_path : clustersim;
  for (int i = 1; wk[i] != NULL; i++)
    args[n++] = wk[i];
  args[n] = NULL;
  s.exec = self;
  s.args = args;
  s.serialization = tap_mode;
  TEST_CHECK(uv_loop_init(&tp.loop) == 0, "loop");
  TEST_CHECK(sim_cluster_init(&tp.loop, &tp.cluster, tp_event) == 0, "init");
  TEST_CHECK(sim_cluster_setup(&tp.cluster, &s) == 0, "setup");
  TEST_CHECK(sim_cluster_fork(&tp.cluster, NULL, &tp.worker) == 0, "fork");
  uv_run(&tp.loop, UV_RUN_DEFAULT);
  TEST_CHECK(tp.exited, "the worker's life ended");
  TEST_CHECK(uv_loop_close(&tp.loop) == 0, "every handle closed");
}

/* One tapped life: `primary` and `worker` are "node" or "c". */
static int tapped_life(const char *mode, const char *primary,
                       const char *worker, const char *log)
{
  unlink(log);
  tap_log = log;
  tap_mode = mode;
  tap_node_side = strcmp(worker, "node") == 0;
  if (strcmp(primary, "c") == 0) {
    test_isolate(c_tap_body, CASE_TIMEOUT_MS, NULL);
    return 0;
  }
  {
    const char *argv[16] = { node_path, node_side, "tap-primary", mode, self,
                             log, tap_node_side ? node_path : clustersim };
    const char *const *wk = tap_node_side ? tap_node_worker : tap_c_worker;
    char *out = NULL;
    int n = 7, status;
    for (int i = 1; wk[i] != NULL; i++)
      argv[n++] = wk[i];
    argv[n] = NULL;
    status = st_run(argv, NULL, &out, NODE_TIMEOUT_MS);
    TEST_CHECK(status == 0, "Node primary: status %d, %s", status,
               out != NULL ? out : "");
    free(out);
    return status;
  }
}

static void expect_same_wire(const char *what, const wire_t *got,
                             const wire_t *want)
{
  int n = cJSON_GetArraySize(want->msgs), m = cJSON_GetArraySize(got->msgs);
  int same = n == m && got->fds == want->fds && got->bad == 0;

  for (int i = 0; same && i < n; i++)
    same = strcmp(cJSON_GetArrayItem(got->msgs, i)->valuestring,
                  cJSON_GetArrayItem(want->msgs, i)->valuestring) == 0;
  if (!same) {
    fprintf(stderr, "  %s: %d messages, %d fds, %d unreadable; Node's: %d "
            "messages, %d fds\n", what, m, got->fds, got->bad, n, want->fds);
    for (int i = 0; i < n || i < m; i++) {
      const cJSON *a = cJSON_GetArrayItem(got->msgs, i);
      const cJSON *b = cJSON_GetArrayItem(want->msgs, i);
      fprintf(stderr, "    %s\n    %s\n", a != NULL ? a->valuestring : "-",
              b != NULL ? b->valuestring : "-");
    }
  }
  TEST_CHECK(same, "%s: the C side's messages are not Node's", what);
}

static void wire_case(const char *mode)
{
  static const char *const pairs[][2] = {
    { "node", "node" }, { "c", "c" }, { "node", "c" }, { "c", "node" }
  };
  wire_t w[4][2];
  char log[4][128];
  int advanced = strcmp(mode, "advanced") == 0;

  for (int i = 0; i < 4; i++) {
    snprintf(log[i], sizeof(log[i]), "/tmp/clustersim-tap-%d-%s-%s-%s.log",
             (int)getpid(), mode, pairs[i][0], pairs[i][1]);
    tapped_life(mode, pairs[i][0], pairs[i][1], log[i]);
    TEST_CHECK(wire_read(log[i], advanced, &w[i][0], &w[i][1]) == 0,
               "tap log %s", log[i]);
    unlink(log[i]);
  }
  TEST_CHECK(cJSON_GetArraySize(w[0][1].msgs) >= 6 && w[0][0].fds == 1,
             "Node's life: %d messages up, %d fds down",
             cJSON_GetArraySize(w[0][1].msgs), w[0][0].fds);
  /* What each C side wrote, against Node's in the same place. */
  expect_same_wire("C primary (to a C worker)", &w[1][0], &w[0][0]);
  expect_same_wire("C worker (to a C primary)", &w[1][1], &w[0][1]);
  expect_same_wire("C worker (to a Node primary)", &w[2][1], &w[0][1]);
  expect_same_wire("C primary (to a Node worker)", &w[3][0], &w[0][0]);
  for (int i = 0; i < 4; i++) {
    wire_free(&w[i][0]);
    wire_free(&w[i][1]);
  }
}

static void wire_advanced(void)
{
  wire_case("advanced");
}

static void wire_json(void)
{
  wire_case("json");
}

/* ---------------------------------------------------------------------- */

static CU_TestInfo tests[] = {
  { "node_primary_c_workers_corpus", node_primary_c_workers },
  { "c_primary_node_workers_corpus", c_primary_node_workers },
  { "wire_advanced_c_writes_what_node_writes", wire_advanced },
  { "wire_json_c_writes_what_node_writes", wire_json },
  CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
  CU_SuiteInfo suites[] = {
    { .pName = "advanced", .pTests = tests },
    CU_SUITE_INFO_NULL,
  };
  static const test_role_t roles[] = {
    { "--adv-worker", adv_worker },
    TEST_ROLES_END
  };
  const char *dir = getenv("SIMTEST_DIR");
  ssize_t n;

  if (argc >= 4 && strcmp(argv[1], "--tap") == 0)
    return tap(argc, argv);
  if (argc == 3 && strcmp(argv[1], "--adv-worker") == 0)
    return test_main(argc, argv, suites, roles);
  if ((node_path = st_which("node")) == NULL) {
    printf("node is not on PATH: skipped\n");
    return 77;
  }
  node_path = strdup(node_path);
  clustersim = getenv("CLUSTERSIM");
  if (dir == NULL || clustersim == NULL) {
    fprintf(stderr, "SIMTEST_DIR or CLUSTERSIM is not set (run through "
            "meson test)\n");
    return 99;
  }
  snprintf(node_side, sizeof(node_side), "%s/node-advanced.js", dir);
  n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0)
    return 99;
  self[n] = '\0';
  return test_main(argc, argv, suites, roles);
}
