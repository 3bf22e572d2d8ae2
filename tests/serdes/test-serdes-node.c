/*
 * test-serdes-node.c - the V8 codec against real Node, both ways.
 *
 * Node (node-v8.js, through the very functions its 'advanced' channel
 * uses) writes a frame for every corpus value; the C encoder must write
 * the same bytes from the row's model, and the C decoder must read Node's
 * bytes and write them again unchanged. The other way, Node reads the C
 * frames (one by one, streamed in odd chunks, and over a real IPC channel
 * to this program re-executed as an echo peer) and must get what it gets
 * from its own. JSON texts go through JSON.parse() in Node and
 * sim_value_from_json() in C with the same bytes as the outcome.
 *
 * Skipped (77) when `node` is not on PATH.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "test-support.h"
#include "serdes-test.h"

#define NODE_TIMEOUT_MS 60000u

static const char *node_path;
static char node_side[4096];
static char self[4096];

/* ---------------------------------------------------------------------- */
/* Talking to node-v8.js                                                   */

/* Runs node-v8.js MODE with `rows` on stdin; the parsed JSON reply. */
static cJSON *node_run(const char *mode, const char *arg, cJSON *rows)
{
  const char *argv[] = { node_path, "--expose-internals", node_side, mode, arg,
                         arg != NULL ? "--echo" : NULL, NULL };
  char *in = cJSON_PrintUnformatted(rows), *out = NULL;
  int status = st_run(argv, in, &out, NODE_TIMEOUT_MS);
  cJSON *reply = out != NULL ? cJSON_Parse(out) : NULL;

  CU_ASSERT_EQUAL(status, 0);
  if (reply == NULL)
    fprintf(stderr, "node-v8.js %s: status %d, output: %.500s\n", mode,
            status, out != NULL ? out : "(none)");
  free(in);
  free(out);
  return reply;
}

static cJSON *corpus_rows(int with_frames)
{
  cJSON *rows = cJSON_CreateArray();

  for (size_t i = 0; i < corpus_len; i++) {
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "name", corpus[i].name);
    cJSON_AddStringToObject(r, "js", corpus[i].js);
    if (corpus[i].check != NULL)
      cJSON_AddStringToObject(r, "check", corpus[i].check);
    if (with_frames) {
      sim_heap_t *h = sim_heap_new(0);
      sim_buf_t b;
      char *hex;

      sim_buf_init(&b);
      CU_ASSERT_EQUAL(sim_v8_encode_frame(corpus[i].build(h), &b, NULL), 0);
      hex = st_hex(b.base, b.len);
      cJSON_AddStringToObject(r, "hex", hex);
      free(hex);
      sim_buf_free(&b);
      sim_heap_free(h);
    }
    cJSON_AddItemToArray(rows, r);
  }
  return rows;
}

/* Every reply row must say ok. */
static void expect_all_ok(const cJSON *reply, size_t want)
{
  const cJSON *r;
  size_t n = 0;

  CU_ASSERT_PTR_NOT_NULL_FATAL(reply);
  cJSON_ArrayForEach(r, reply) {
    const cJSON *name = cJSON_GetObjectItem(r, "name"),
                *why = cJSON_GetObjectItem(r, "why");
    n++;
    if (!cJSON_IsTrue(cJSON_GetObjectItem(r, "ok"))) {
      fprintf(stderr, "  %s: %s\n", cJSON_IsString(name) ? name->valuestring
                                                         : "stream",
              cJSON_IsString(why) ? why->valuestring : "?");
      CU_FAIL("Node disagrees with a C frame");
    }
  }
  CU_ASSERT_EQUAL(n, want);
}

/* ---------------------------------------------------------------------- */
/* Node writes, C must agree                                               */

static void expect_same(const char *what, const char *name,
                        const sim_buf_t *got, const uint8_t *want,
                        size_t n)
{
  if (got->len == n && memcmp(got->base, want, n) == 0) {
    CU_PASS(what);
    return;
  }
  char *g = st_hex(got->base, got->len), *w = st_hex(want, n);
  fprintf(stderr, "  %s: %s\n    C:    %s\n    Node: %s\n", name, what, g, w);
  free(g);
  free(w);
  CU_FAIL(what);
}

/* One row: the model's bytes, Node's bytes read and written again, and
 * the JSON form read back. */
static void node_row(const corpus_row_t *row, const uint8_t *frame,
                     size_t n)
{
  sim_heap_t *h = sim_heap_new(0), *h2 = sim_heap_new(0);
  sim_value_t *v = NULL, *back = NULL;
  sim_buf_t b;
  size_t used;
  cJSON *json;
  sim_v8_error_t err;

  sim_buf_init(&b);
  CU_ASSERT_EQUAL(sim_v8_encode_frame(row->build(h), &b, NULL), 0);
  expect_same("encoder", row->name, &b, frame, n);
  b.len = 0;
  if (sim_v8_decode_frame(h2, frame, n, &v, &used, &err) != 0) {
    fprintf(stderr, "  %s: decode: %s at %zu\n", row->name, err.reason,
            err.offset);
    CU_FAIL("decoder refused Node's frame");
  } else {
    CU_ASSERT_EQUAL(used, n);
    CU_ASSERT_EQUAL(sim_v8_encode_frame(v, &b, NULL), 0);
    expect_same("decode + encode", row->name, &b, frame, n);
    json = sim_value_to_json(v);
    b.len = 0;
    CU_ASSERT_EQUAL_FATAL(sim_value_from_json(h2, json, &back), 0);
    CU_ASSERT_EQUAL(sim_v8_encode_frame(back, &b, NULL), 0);
    expect_same("decode + JSON form + encode", row->name, &b, frame, n);
    cJSON_Delete(json);
  }
  sim_buf_free(&b);
  sim_heap_free(h);
  sim_heap_free(h2);
}

static void node_writes_c_agrees(void)
{
  cJSON *rows = corpus_rows(0), *reply = node_run("encode", NULL, rows);
  size_t i = 0;
  const cJSON *r;

  CU_ASSERT_PTR_NOT_NULL_FATAL(reply);
  CU_ASSERT_EQUAL(cJSON_GetArraySize(reply), (int)corpus_len);
  cJSON_ArrayForEach(r, reply) {
    const cJSON *hex = cJSON_GetObjectItem(r, "hex");
    size_t n;
    uint8_t *frame;

    CU_ASSERT_FATAL(i < corpus_len && cJSON_IsString(hex));
    frame = st_unhex(hex->valuestring, &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(frame);
    node_row(&corpus[i++], frame, n);
    free(frame);
  }
  cJSON_Delete(rows);
  cJSON_Delete(reply);
}

/* ---------------------------------------------------------------------- */
/* C writes, Node must agree                                               */

static void c_writes_node_reads(void)
{
  cJSON *rows = corpus_rows(1), *reply = node_run("check", NULL, rows);

  expect_all_ok(reply, corpus_len);
  cJSON_Delete(rows);
  cJSON_Delete(reply);
}

static void c_writes_node_reads_a_stream(void)
{
  cJSON *rows = corpus_rows(1), *reply = node_run("stream", NULL, rows);

  expect_all_ok(reply, 4);
  cJSON_Delete(rows);
  cJSON_Delete(reply);
}

/* Node sends each value over a real 'advanced' channel to this program in
 * its echo role, which decodes it, checks that it writes the same bytes
 * again, and sends it back. */
static void ipc_echo_both_ways(void)
{
  cJSON *rows = corpus_rows(0), *reply = node_run("ipc", self, rows);

  expect_all_ok(reply, corpus_len);
  cJSON_Delete(rows);
  cJSON_Delete(reply);
}

/* ---------------------------------------------------------------------- */
/* Malformed and unusual input: Node's verdict is the decoder's            */

static void node_refuses_what_c_refuses(void)
{
  cJSON *rows = cJSON_CreateArray(), *reply;
  const cJSON *r;
  size_t i = 0;

  for (i = 0; i < bad_rows_len; i++) {
    cJSON *row = cJSON_CreateObject();
    cJSON_AddStringToObject(row, "name", bad_rows[i].name);
    cJSON_AddStringToObject(row, "hex", bad_rows[i].hex);
    cJSON_AddItemToArray(rows, row);
  }
  reply = node_run("read", NULL, rows);
  CU_ASSERT_PTR_NOT_NULL_FATAL(reply);
  i = 0;
  cJSON_ArrayForEach(r, reply) {
    int accepted = cJSON_IsTrue(cJSON_GetObjectItem(r, "ok"));
    if (i < bad_rows_len && accepted != bad_rows[i].node_reads) {
      fprintf(stderr, "  %s: Node %s it\n", bad_rows[i].name,
              accepted ? "reads" : "refuses");
      CU_FAIL("Node's verdict differs");
    }
    i++;
  }
  CU_ASSERT_EQUAL(i, bad_rows_len);
  cJSON_Delete(rows);
  cJSON_Delete(reply);
}

/* Node reads the odd input as it reads what the decoder made of it. */
static void node_reads_odd_input_as_c_does(void)
{
  cJSON *rows = cJSON_CreateArray(), *reply;

  for (size_t i = 0; i < odd_rows_len; i++) {
    cJSON *row = cJSON_CreateObject();
    cJSON_AddStringToObject(row, "name", odd_rows[i].name);
    cJSON_AddStringToObject(row, "hex", odd_rows[i].hex);
    cJSON_AddStringToObject(row, "again", odd_rows[i].again);
    cJSON_AddItemToArray(rows, row);
  }
  reply = node_run("read", NULL, rows);
  expect_all_ok(reply, odd_rows_len);
  cJSON_Delete(rows);
  cJSON_Delete(reply);
}

/* ---------------------------------------------------------------------- */
/* JSON texts: JSON.parse() in Node, sim_value_from_json() in C            */

static const char *const json_texts[] = {
  "null", "true", "0", "-0", "1.0", "1e3", "2147483648", "-2147483649",
  "1e400", "0.1", "\"\"", "\"caf\\u00e9\"", "\"\\u20ac\"", "\"\\ud83d\\ude00\"",
  "\"\xc3\xa9\xe2\x82\xac\"", "[]", "{}", "[1,2,3]", "[1,2.5,3]",
  "[1,-0]", "[1e20,1]", "[1,\"a\",2.5,2.0]", "[[1.5],[1]]",
  "{\"b\":1,\"a\":2}", "{\"1\":1,\"0\":0,\"x\":2}",
  "{\"4294967294\":1,\"4294967295\":2,\"2147483648\":3,\"01\":4}",
  "{\"a\":1,\"b\":2,\"a\":3}", "{\"1\":1,\"1\":2}",
  "{\"a\":{\"b\":[{\"c\":null}]},\"d\":[true,false]}",
  "{\"__proto__\":1}", "{\"-0\":1,\"1.5\":2,\" 1\":3}",
  "{\"cmd\":\"NODE_CLUSTER\",\"act\":\"online\",\"seq\":0}",
};
#define NTEXTS (sizeof(json_texts) / sizeof(json_texts[0]))

static void json_parse_matches_node(void)
{
  cJSON *rows = cJSON_CreateArray(), *reply;
  const cJSON *r;
  size_t i = 0;

  for (i = 0; i < NTEXTS; i++) {
    cJSON *row = cJSON_CreateObject();
    char name[16];
    snprintf(name, sizeof(name), "text%zu", i);
    cJSON_AddStringToObject(row, "name", name);
    cJSON_AddStringToObject(row, "text", json_texts[i]);
    cJSON_AddItemToArray(rows, row);
  }
  reply = node_run("json", NULL, rows);
  CU_ASSERT_PTR_NOT_NULL_FATAL(reply);
  i = 0;
  cJSON_ArrayForEach(r, reply) {
    cJSON *parsed = cJSON_Parse(json_texts[i]);
    sim_heap_t *h = sim_heap_new(0);
    sim_value_t *v = NULL;
    sim_buf_t b;
    size_t n;
    uint8_t *frame = st_unhex(cJSON_GetObjectItem(r, "hex")->valuestring, &n);

    sim_buf_init(&b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(parsed);
    CU_ASSERT_EQUAL_FATAL(sim_value_from_json(h, parsed, &v), 0);
    CU_ASSERT_EQUAL(sim_v8_encode_frame(v, &b, NULL), 0);
    expect_same("sim_value_from_json", json_texts[i], &b, frame, n);
    free(frame);
    sim_buf_free(&b);
    sim_heap_free(h);
    cJSON_Delete(parsed);
    i++;
  }
  CU_ASSERT_EQUAL(i, NTEXTS);
  cJSON_Delete(rows);
  cJSON_Delete(reply);
}

/* ---------------------------------------------------------------------- */
/* Echo role: a peer on NODE_CHANNEL_FD                                    */

static int write_all(int fd, const uint8_t *p, size_t n)
{
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Decodes each frame, checks that encoding it gives the same bytes, and
 * sends that encoding back; exits at EOF. */
static int echo(void)
{
  const char *env = getenv("NODE_CHANNEL_FD");
  int fd = env != NULL ? atoi(env) : -1;
  sim_buf_t in, out;
  ssize_t r;

  if (fd < 0 || strcmp(getenv("NODE_CHANNEL_SERIALIZATION_MODE") ?: "",
                       "advanced") != 0)
    return 2;
  sim_buf_init(&in);
  sim_buf_init(&out);
  while (sim_buf_reserve(&in, 65536) == 0 &&
         (r = read(fd, in.base + in.len, 65536)) != 0) {
    size_t used;
    sim_value_t *v;
    sim_heap_t *h;
    int rc;

    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return 3;
    in.len += (size_t)r;
    for (;;) {
      h = sim_heap_new(0);
      rc = sim_v8_decode_frame(h, in.base, in.len, &v, &used, NULL);
      if (rc == UV_EAGAIN) {
        sim_heap_free(h);
        break;
      }
      out.len = 0;
      if (rc != 0 || sim_v8_encode_frame(v, &out, NULL) != 0 ||
          out.len != used || memcmp(out.base, in.base, used) != 0) {
        fprintf(stderr, "echo: frame not re-encoded identically (%d)\n", rc);
        return 4;
      }
      sim_heap_free(h);
      if (write_all(fd, out.base, out.len) != 0)
        return 5;
      memmove(in.base, in.base + used, in.len - used);
      in.len -= used;
    }
  }
  sim_buf_free(&in);
  sim_buf_free(&out);
  return in.len == 0 ? 0 : 6;
}

/* ---------------------------------------------------------------------- */

static CU_TestInfo tests[] = {
  { "node_writes_c_agrees", node_writes_c_agrees },
  { "c_writes_node_reads", c_writes_node_reads },
  { "c_writes_node_reads_a_stream", c_writes_node_reads_a_stream },
  { "ipc_echo_both_ways", ipc_echo_both_ways },
  { "json_parse_matches_node", json_parse_matches_node },
  { "node_refuses_what_c_refuses", node_refuses_what_c_refuses },
  { "node_reads_odd_input_as_c_does", node_reads_odd_input_as_c_does },
  CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
  CU_SuiteInfo suites[] = {
    { .pName = "serdes-node", .pTests = tests },
    CU_SUITE_INFO_NULL,
  };
  const char *dir = getenv("SERDES_DIR");
  unsigned failed;
  ssize_t n;

  if (argc > 1 && strcmp(argv[argc - 1], "--echo") == 0)
    return echo();
  if ((node_path = st_which("node")) == NULL) {
    printf("node is not on PATH: skipped\n");
    return 77;
  }
  node_path = strdup(node_path);
  if (dir == NULL) {
    fprintf(stderr, "SERDES_DIR is not set (run through meson test)\n");
    return 99;
  }
  snprintf(node_side, sizeof(node_side), "%s/node-v8.js", dir);
  n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0)
    return 99;
  self[n] = '\0';
  failed = (unsigned)test_run(suites, 0, NULL);
  free((void *)node_path);
  return (int)failed;
}
