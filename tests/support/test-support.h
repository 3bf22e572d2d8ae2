/*
 * test-support.h - what every CUnit test program of clustersim shares:
 * the main(), table-driven registration, fork isolation of a case, checks
 * with formatted messages, and loopback servers and writes for the tests
 * of network code.
 *
 * Conventions:
 * - Suites and tests are CUnit's own tables (CU_SuiteInfo, CU_TestInfo),
 *   ended by CU_SUITE_INFO_NULL and CU_TEST_INFO_NULL.
 * - A test program exits 0 when every test passed, 1 when one failed, 77
 *   to be counted as skipped and 99 when it could not run at all (meson's
 *   codes).
 * - Functions return 0 or a negative UV_E* code.
 * - Environment: TEST_INLINE=1 runs isolated cases inside the test
 *   process (for a debugger).
 */
#ifndef TEST_SUPPORT_H
#define TEST_SUPPORT_H

#include <stddef.h>
#include <sys/types.h>
#include <uv.h>
#include <CUnit/CUnit.h>

/* ---------------------------------------------------------------------- */
/* main()                                                                  */

/* A role: `<test program> FLAG ARG` runs fn(ARG) instead of the tests and
 * exits with what it returns, before CUnit exists (libuv's helper-process
 * pattern: a case starts its own executable as a peer process). */
typedef struct {
  const char *flag;
  int (*fn)(const char *arg);
} test_role_t;

#define TEST_ROLES_END { NULL, NULL }

/* The whole main() of a test program: a role if argv names one (`roles`
 * may be NULL), else every test of `suites`, or only the tests and suites
 * whose names argv[1..] gives. Returns the exit status. */
int test_main(int argc, char **argv, CU_SuiteInfo *suites,
              const test_role_t *roles);

/* What test_main() does once roles are out of the way, for a program with
 * arguments of its own: runs the tests and suites named in only[0..n-1]
 * (every one when n is 0) with CUnit's basic interface, verbose. Unknown
 * names are an error (99). */
int test_run(CU_SuiteInfo *suites, int n, char **only);

/* ---------------------------------------------------------------------- */
/* Table-driven tests                                                      */

/* One CUnit test per row of a table whose rows have a `const char *name`:
 * fills `tests` (an array of at least rows + 1 entries) so that every row
 * runs `fn`, named after the row; inside fn, TEST_ROW(rows) is the row
 * being run. */
#define TEST_ROWS_FILL(tests, rows, fn)                                     \
  test_rows_fill((tests), &(rows)[0].name, sizeof((rows)[0]),             \
                 sizeof(rows) / sizeof((rows)[0]), (fn))
#define TEST_ROW(rows)                                                      \
  (&(rows)[test_row_index(&(rows)[0].name, sizeof((rows)[0]),             \
                          sizeof(rows) / sizeof((rows)[0]))])

void test_rows_fill(CU_TestInfo *tests, const void *first_name,
                    size_t stride, size_t n, CU_TestFunc fn);
/* The index of the row named like the running test; aborts when there is
 * none (a bug of the test program). */
size_t test_row_index(const void *first_name, size_t stride, size_t n);

/* The name of the running CUnit test ("" outside one). */
const char *test_name(void);

/* ---------------------------------------------------------------------- */
/* Checks                                                                  */

/* A failed check with a formatted message; never aborts the test. */
#define TEST_CHECK(cond, ...)                                               \
  test_check_impl(!!(cond), __LINE__, __FILE__, #cond, __VA_ARGS__)

void test_check_impl(int ok, unsigned line, const char *file,
                     const char *cond, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* ---------------------------------------------------------------------- */
/* Isolation                                                               */

typedef struct {
  /* In the case's process, when body() has returned, before it reports:
   * `failures` is the number of failed checks of the case (to dump what
   * the case recorded, say). Optional. */
  void (*on_leave)(unsigned failures);
  /* In the test process, once the case's process group has been killed
   * and reaped: removes what a killed case could not (sockets named after
   * the group's id, say). Optional. */
  void (*on_reaped)(pid_t group);
} test_isolate_opts_t;

/* Runs body() in a forked process that leads its own process group, so
 * that a hung or crashing case cannot take the others down and every
 * process it started dies with it. The case's failed checks are raised
 * again in the calling test, with their file and line; a case that does
 * not end within `timeout_ms` (plus 5 s of grace) is killed and fails.
 * `opts` may be NULL. */
void test_isolate(void (*body)(void), unsigned timeout_ms,
                  const test_isolate_opts_t *opts);

/* In an isolated case: sends the failures recorded so far to the test
 * process and ends the case's process group at once (a watchdog that
 * fired). Never returns. Outside isolation: exits with status 1. */
void test_isolate_abort(void) __attribute__((noreturn));

/* ---------------------------------------------------------------------- */
/* Loopback servers and writes                                             */

/* Binds `tcp` (initialised here on `loop`) to `host` ("127.0.0.1" or
 * "::1") port 0 and, when `cb` is not NULL, listens; sets *port. Bound but
 * not listening, the port refuses connections and nobody else can take
 * it. UV_EADDRNOTAVAIL when the host has no such address. On error there
 * is nothing to close (a handle already initialised is closed here: run
 * the loop to let the close end). */
int test_tcp_listen(uv_loop_t *loop, uv_tcp_t *tcp, const char *host,
                    uv_connection_cb cb, int *port);

/* Accepts a connection into a malloc'ed uv_tcp_t for the caller, who
 * closes it with test_handle_free as close callback. */
int test_tcp_accept(uv_stream_t *listener, uv_tcp_t **conn);

/* A close callback that frees the handle (malloc'ed). */
void test_handle_free(uv_handle_t *handle);

/* An http group's release callback (http_release_cb) for malloc'ed
 * connections: closes and frees them. */
void test_tcp_release(uv_tcp_t *conn, void *arg);

/* Writes `text` (borrowed: it must outlive the write, a literal say) on
 * `stream`; `cb` (optional) runs once the write is done, with its status
 * and `arg`. */
int test_write(uv_stream_t *stream, const char *text,
               void (*cb)(int status, void *arg), void *arg);

#endif /* TEST_SUPPORT_H */
