/*
 * harness-hygiene: the check that no port of a run still listens once
 * every process of it is gone (runner__port_listening), on real loopback
 * sockets: a listener is seen on IPv4 and IPv6, a socket on the port that
 * does not listen is not, a closed listener is not, and a listener found
 * behind hundreds of others (a dump of several datagrams) is.
 */
#include <CUnit/Basic.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runner-internal.h"
#include "test-support.h"

/* A TCP socket bound to the loopback address of `family` on an ephemeral
 * port, listening when `listening`; its port in *port. -1 when the family
 * is not there (no IPv6). */
static int bound(int family, bool listening, int *port)
{
  struct sockaddr_storage ss = {0};
  struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
  socklen_t len = family == AF_INET ? sizeof(*in4) : sizeof(*in6);
  int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

  if (fd < 0)
    return -1;
  ss.ss_family = (sa_family_t)family;
  if (family == AF_INET)
    in4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  else
    in6->sin6_addr = in6addr_loopback;
  if (bind(fd, (struct sockaddr *)&ss, len) != 0 ||
      (listening && listen(fd, 4) != 0) ||
      getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
    close(fd);
    return -1;
  }
  *port = ntohs(family == AF_INET ? in4->sin_port : in6->sin6_port);
  return fd;
}

typedef struct {
  const char *name;
  int family;
  bool listening;   /* listen(2) on the bound socket */
  bool closed;      /* and close it before asking */
  bool want;
} hygiene_row_t;

static const hygiene_row_t rows[] = {
  {"an IPv4 listener is seen", AF_INET, true, false, true},
  {"an IPv6 listener is seen", AF_INET6, true, false, true},
  {"a bound socket that does not listen is not", AF_INET, false, false,
   false},
  {"a closed IPv4 listener is not", AF_INET, true, true, false},
  {"a closed IPv6 listener is not", AF_INET6, true, true, false},
};

static void test_row(void)
{
  const hygiene_row_t *r = TEST_ROW(rows);
  int port = 0, fd = bound(r->family, r->listening, &port);

  if (fd < 0 && r->family == AF_INET6) {
    printf("no IPv6 loopback here: not checked\n");
    return;
  }
  CU_ASSERT_FATAL(fd >= 0);
  if (r->closed)
    close(fd);
  TEST_CHECK(runner__port_listening(port) == r->want, "%s: port %d",
             r->name, port);
  if (!r->closed)
    close(fd);
}

/* 300 listeners: the kernel's dump spans several datagrams, and each of
 * them is found wherever it comes in it. */
static void test_many(void)
{
  enum { N = 300 };
  int fds[N], ports[N], i, n = 0;

  for (i = 0; i < N; i++) {
    fds[i] = bound(AF_INET, true, &ports[i]);
    if (fds[i] < 0)
      break;
    n++;
  }
  CU_ASSERT_EQUAL_FATAL(n, N);
  for (i = 0; i < n; i++)
    if (!runner__port_listening(ports[i]))
      break;
  TEST_CHECK(i == n, "listener %d of %d (port %d) not seen", i, n,
             i < n ? ports[i] : 0);
  for (i = 0; i < n; i++)
    close(fds[i]);
  TEST_CHECK(!runner__port_listening(ports[N - 1]), "port %d after close",
             ports[N - 1]);
}

static CU_TestInfo row_tests[sizeof(rows) / sizeof(rows[0]) + 1];

static CU_TestInfo more_tests[] = {
  {"each of 300 listeners", test_many},
  CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
  CU_SuiteInfo suites[] = {
    {.pName = "listening ports", .pTests = row_tests},
    {.pName = "more", .pTests = more_tests},
    CU_SUITE_INFO_NULL,
  };

  TEST_ROWS_FILL(row_tests, rows, test_row);
  return test_main(argc, argv, suites, NULL);
}
