/*
 * The verdict of a run whose processes are all gone: the oracle, the
 * expectations and the hygiene checks on the finished trace, the outcome
 * and its reason, and the trace file. It only reads the run and fills in
 * its result.
 */
#include "runner-internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* One datagram of the dump: 1 if a socket on `port` is in it, 2 at the
 * dump's end, 0 to read on, < 0 on the kernel's error. */
static int diag_scan(const void *buf, size_t len, int port)
{
  const struct nlmsghdr *h = buf;
  unsigned int rem = (unsigned int)len;

  for (; NLMSG_OK(h, rem); h = NLMSG_NEXT(h, rem)) {
    if (h->nlmsg_type == NLMSG_DONE)
      return 2;
    if (h->nlmsg_type == NLMSG_ERROR) {
      const struct nlmsgerr *e = NLMSG_DATA(h);
      return e->error < 0 ? e->error : UV_EPROTO;
    }
    if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY &&
        h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct inet_diag_msg)) &&
        ntohs(((const struct inet_diag_msg *)NLMSG_DATA(h))->id.idiag_sport) ==
            port)
      return 1;
  }
  return 0;
}

/* Whether a TCP socket of `family` listens on `port`, asked of the
 * kernel's socket diagnostics (sock_diag(7)): a dump of the listening
 * sockets only, which the kernel walks without the established table, so
 * the cost does not grow with the machine's connections (a load test
 * leaves tens of thousands in TIME_WAIT, and reading /proc/net/tcp then
 * took 70-190 ms per run). 1 listening, 0 not, < 0 when the kernel cannot
 * be asked. */
static int diag_listening(int family, int port)
{
  struct {
    struct nlmsghdr nlh;
    struct inet_diag_req_v2 req;
  } q = {
      .nlh = {.nlmsg_len = sizeof(q), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
              .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP},
      .req = {.sdiag_family = (uint8_t)family, .sdiag_protocol = IPPROTO_TCP,
              .idiag_states = 1u << 10 /* TCP_LISTEN */},
  };
  long buf[8192 / sizeof(long)];
  int fd, rc = 0;

  fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0)
    return -errno;
  if (send(fd, &q, sizeof(q), 0) != (ssize_t)sizeof(q)) {
    rc = -errno;
    goto out;
  }
  while (rc == 0) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR)
      continue;
    rc = n <= 0 ? (n < 0 ? -errno : UV_EOF) : diag_scan(buf, (size_t)n, port);
  }
  if (rc == 2)
    rc = 0;             /* the dump ended without the port */
out:
  close(fd);
  return rc;
}

/* The same from /proc/net/tcp{,6}, where sock_diag is not there. */
static bool proc_listening(int port)
{
  static const char *const files[] = {"/proc/net/tcp", "/proc/net/tcp6"};
  char line[512];
  size_t i;

  for (i = 0; i < 2; i++) {
    FILE *f = fopen(files[i], "re");
    if (f == NULL)
      continue;
    while (fgets(line, sizeof(line), f) != NULL) {
      char local[128];
      unsigned st, p;
      char *colon;
      if (sscanf(line, " %*d: %127s %*s %x", local, &st) != 2)
        continue;
      colon = strrchr(local, ':');
      if (colon == NULL || sscanf(colon + 1, "%x", &p) != 1)
        continue;
      if (st == 0x0A && (int)p == port) {
        fclose(f);
        return true;
      }
    }
    fclose(f);
  }
  return false;
}

/* A listening socket on a port the cluster used, after every process of
 * the run is gone, is a leftover (or the port's next owner, which on a
 * loopback test machine is as suspicious). */
bool runner__port_listening(int port)
{
  int v4 = diag_listening(AF_INET, port), v6;

  if (v4 == 1)
    return true;
  v6 = diag_listening(AF_INET6, port);
  if (v6 == 1)
    return true;
  /* a kernel without IPv6 answers the v6 dump with an error: only a v4
   * error means the diagnostics cannot be had */
  return v4 < 0 ? proc_listening(port) : false;
}

static void hygiene(runner_run_t *run)
{
  int i;

  if (run->res.leftovers > 0)
    oracle_findings_add(&run->res.findings, ORACLE_FINDING_FAIL,
                         "hygiene", 0, -1, 0,
                         "%u process%s of the run %s still alive %.1f s "
                         "after the primary exited (killed)",
                         run->res.leftovers,
                         run->res.leftovers == 1 ? "" : "es",
                         run->res.leftovers == 1 ? "was" : "were",
                         (double)runner__scaled(run, 1000) / 1e3);
  for (i = 0; i < RUNNER__MAX_SERVERS; i++)
    if (run->cluster.ports[i] > 0 && runner__port_listening(run->cluster.ports[i]))
      oracle_findings_add(&run->res.findings, ORACLE_FINDING_FAIL,
                           "hygiene", 0, -1, 0,
                           "port %d is still listening after every process "
                           "of the run was reaped", run->cluster.ports[i]);
}

/* Of one rule at one line the detail keeps the first few: a cluster of
 * thousands can break one expectation at every worker, and a report
 * listing them all would be unreadable. */
#define DETAIL_PER_RULE 8

static bool same_rule(const oracle_finding_t *a, const oracle_finding_t *b)
{
  return a->kind == b->kind && a->line == b->line &&
         strcmp(a->rule, b->rule) == 0;
}

/* How many findings before `i` are of its rule and line, and how many
 * after it. */
static void rule_rank(const oracle_findings_t *f, size_t i, size_t *before,
                      size_t *after)
{
  size_t j;

  *before = *after = 0;
  for (j = 0; j < f->count; j++)
    if (j != i && same_rule(&f->items[j], &f->items[i]))
      ++*(j < i ? before : after);
}

static char *join_findings(const oracle_findings_t *f)
{
  size_t i, len = 160, before, after;
  char *s, *p;

  for (i = 0; i < f->count; i++)
    len += strlen(f->items[i].message) + 120;
  s = malloc(len);
  if (s == NULL)
    return NULL;
  p = s;
  *p = '\0';
  for (i = 0; i < f->count; i++) {
    const oracle_finding_t *it = &f->items[i];
    rule_rank(f, i, &before, &after);
    if (before < DETAIL_PER_RULE)
      p += sprintf(p, "%s%s\n",
                   it->kind == ORACLE_FINDING_FAIL ? "" : "inconclusive: ",
                   it->message);
    if (before == DETAIL_PER_RULE - 1 && after > 0)
      p += sprintf(p, "... and %zu more of %s%s%.0u\n", after, it->rule,
                   it->line ? " at line " : "", it->line);
  }
  if (f->count >= ORACLE_FINDINGS_MAX)
    p += sprintf(p, "(past %d findings the others were not kept)\n",
                 ORACLE_FINDINGS_MAX);
  return s;
}

/* An invariant broken in a run points at the scenario: the line of the
 * last action the harness took before the violating event (the records
 * that only mark where a step began, waits and sleeps too, do not
 * count). */
static void locate_findings(runner_run_t *run, size_t from)
{
  runner_result_t *r = &run->res;
  size_t i;

  for (i = from; i < r->findings.count; i++) {
    oracle_finding_t *f = &r->findings.items[i];
    int64_t k = f->event >= 0 ? f->event : (int64_t)r->trace.count - 1;
    unsigned line = 1;
    char *msg;

    for (; k >= 0; k--)
      if (r->trace.events[k].src == TRACE_SRC_HARNESS &&
          r->trace.events[k].line > 0 &&
          strcmp(r->trace.events[k].name, "step") != 0) {
        line = r->trace.events[k].line;
        break;
      }
    msg = base_asprintf("%s:%u: %s", run->s->file, line, f->message);
    if (msg != NULL) {
      free(f->message);
      f->message = msg;
      f->line = line;
    }
  }
}

/* A divergence the scenario documents for this target: what it excuses
 * (the oracle's and the expectations' findings, never leftover processes)
 * is reported as skipped, with the reason and what was seen; a run that
 * did not show it says so. */
static void divergence(runner_run_t *run)
{
  runner_result_t *r = &run->res;
  const scenario_target_note_t *d =
      runner_target_divergence(run->s, run->target);
  size_t i;
  char *why;

  if (d == NULL)
    return;
  if (r->outcome == RUNNER_PASS) {
    why = base_asprintf("pass (the divergence documented at %s:%u did "
                           "not show)", run->s->file, d->line);
  } else if (r->outcome == RUNNER_FAIL) {
    for (i = 0; i < r->findings.count; i++)
      if (r->findings.items[i].kind == ORACLE_FINDING_FAIL &&
          strcmp(r->findings.items[i].rule, "hygiene") == 0)
        return;
    why = base_asprintf("documented divergence on %s (%s:%u): %s; seen: "
                           "%s", runner_target_kind_name(run->target->kind),
                           run->s->file, d->line, d->reason,
                           r->reason ? r->reason : "?");
    r->outcome = RUNNER_SKIP;
  } else {
    return;
  }
  if (why != NULL) {
    free(r->reason);
    r->reason = why;
  }
}

/* Whether every worker's lifecycle is in the trace: the run ended
 * normally, by a shutdown, and the agent exited 0 leaving nothing behind. */
static bool trace_complete(const runner_run_t *run)
{
  const runner__report_t *rp = &run->report;
  const runner__agent_t *a = &run->agent;

  return !rp->killed && !rp->timed_out && a->exited &&
         WIFEXITED(a->status) && WEXITSTATUS(a->status) == 0 &&
         (rp->shutdown_sent || run->cluster.shutdown_done_seen) &&
         run->res.leftovers == 0;
}

/* The oracle's invariants, the scenario's expectations and hygiene, on a
 * run that got far enough to say something. */
static void check(runner_run_t *run)
{
  runner_result_t *r = &run->res;
  oracle_opts_t oo;
  size_t from = r->findings.count;

  memset(&oo, 0, sizeof(oo));
  oo.allow_exit_without_disconnect = run->s->allow_exit_without_disconnect;
  oracle_check(&r->trace, &oo, &r->findings);
  locate_findings(run, from);
  oracle_expect_check(run->s, &r->trace, &r->load, &r->findings);
  hygiene(run);
}

static char *first_finding(const oracle_findings_t *f, oracle_finding_kind_t k)
{
  size_t i;

  for (i = 0; i < f->count; i++)
    if (f->items[i].kind == k)
      return strdup(f->items[i].message);
  return NULL;
}

/* The outcome, by precedence: an abort, an error of the harness, a
 * timeout, a failure, an inconclusive finding, a pass. */
static void outcome(runner_run_t *run)
{
  const runner__report_t *rp = &run->report;
  runner_result_t *r = &run->res;

  if (rp->abort_reason != NULL) {
    r->outcome = RUNNER_ERROR;
    r->interrupted = true;
    r->reason = strdup(rp->abort_reason);
  } else if (rp->error != NULL) {
    r->outcome = RUNNER_ERROR;
    r->reason = strdup(rp->error);
  } else if (rp->timed_out) {
    r->outcome = RUNNER_TIMEOUT;
    r->reason = strdup(rp->step_failure ? rp->step_failure : "timed out");
  } else if (oracle_findings_count(&r->findings, ORACLE_FINDING_FAIL) > 0) {
    r->outcome = RUNNER_FAIL;
    r->reason = first_finding(&r->findings, ORACLE_FINDING_FAIL);
  } else if (oracle_findings_count(&r->findings,
                                    ORACLE_FINDING_INCONCLUSIVE) > 0) {
    r->outcome = RUNNER_INCONCLUSIVE;
    r->reason = strdup(r->findings.items[0].message);
  } else {
    r->outcome = RUNNER_PASS;
    r->reason = strdup("pass");
  }
}

/* Every finding, one per line, and what the load counted. */
static void detail(runner_result_t *r)
{
  const trace_load_totals_t *l = &r->load;
  char *d;

  r->detail = join_findings(&r->findings);
  if (!r->load.ran || r->detail == NULL)
    return;
  /* closed keep-alive connections retried are shown, not hidden */
  d = base_asprintf(
      "%sload: %llu requests: %llu ok, %llu retried, %llu failed "
      "(refused %llu, reset %llu, timeout %llu, bad status %llu, "
      "truncated %llu, error %llu)\n", r->detail,
      (unsigned long long)l->sent, (unsigned long long)l->ok,
      (unsigned long long)l->retried, (unsigned long long)l->failed,
      (unsigned long long)l->refused, (unsigned long long)l->reset,
      (unsigned long long)l->timeout, (unsigned long long)l->bad_status,
      (unsigned long long)l->truncated, (unsigned long long)l->error);
  if (d != NULL) {
    free(r->detail);
    r->detail = d;
  }
}

/* The harness's cost of this run, in ms: what a reader of one trace (or
 * bench/run.sh) needs to tell the harness's time from the cluster's. */
static void harness_cost(const runner_result_t *r, cJSON *meta)
{
  cJSON *h = cJSON_AddObjectToObject(meta, "harness");
  uint64_t now = uv_hrtime();

  if (h == NULL)
    return;
  if (r->hello_ns != 0)
    cJSON_AddNumberToObject(h, "start_ms",
                            (double)(r->hello_ns - r->started_ns) / 1e6);
  if (r->agent_exit_ns != 0 && r->gone_ns >= r->agent_exit_ns)
    cJSON_AddNumberToObject(h, "drain_ms",
                            (double)(r->gone_ns - r->agent_exit_ns) / 1e6);
  if (r->gone_ns != 0)
    cJSON_AddNumberToObject(h, "end_ms", (double)(now - r->gone_ns) / 1e6);
  cJSON_AddNumberToObject(h, "run_ms", (double)(now - r->started_ns) / 1e6);
}

static void write_trace(runner_run_t *run)
{
  runner_result_t *r = &run->res;
  cJSON *meta = cJSON_CreateObject();

  if (meta != NULL) {
    cJSON_AddStringToObject(meta, "scenario", run->s->name);
    cJSON_AddStringToObject(meta, "file", run->s->file);
    cJSON_AddStringToObject(meta, "target", run->target->spec);
    if (r->runtime != NULL)
      cJSON_AddStringToObject(meta, "runtime", r->runtime);
    if (r->version != NULL)
      cJSON_AddStringToObject(meta, "runtime_version", r->version);
    cJSON_AddNumberToObject(meta, "seed", (double)run->opts.seed);
    cJSON_AddNumberToObject(meta, "attempt", run->opts.attempt);
    cJSON_AddStringToObject(meta, "outcome", runner_outcome_name(r->outcome));
    harness_cost(r, meta);
    cJSON_Delete(r->trace.meta);
    r->trace.meta = meta;
  }
  if (trace_write(&r->trace, run->trace_path) != 0 &&
      r->outcome == RUNNER_PASS) {
    r->outcome = RUNNER_ERROR;
    free(r->reason);
    r->reason = base_asprintf("cannot write the trace to %s", run->trace_path);
  }
}

/* An agent that never said hello failed to start, and its runtime has
 * usually said why on stderr ("node: bad option: --foo", a syntax error,
 * a missing module): its first line goes into the reason, so that the
 * terminal shows it and not only the JUnit body. */
static void start_error(runner_run_t *run)
{
  runner_result_t *r = &run->res;
  const char *p = r->log, *nl;
  char *reason;

  if (run->agent.said_hello || r->outcome != RUNNER_ERROR ||
      r->reason == NULL || p == NULL || r->interrupted)
    return;
  while (*p == '\n' || *p == '\r' || *p == ' ' || *p == '\t')
    p++;
  if (*p == '\0')
    return;
  nl = strpbrk(p, "\r\n");
  reason = base_asprintf("%s: %.*s", r->reason,
                         (int)((nl ? (size_t)(nl - p) : strlen(p)) > 300
                                   ? 300 : (nl ? (size_t)(nl - p) : strlen(p))),
                         p);
  if (reason != NULL) {
    free(r->reason);
    r->reason = reason;
  }
}

void runner__verdict(runner_run_t *run)
{
  const runner__report_t *rp = &run->report;
  runner_result_t *r = &run->res;

  r->ended_ns = uv_hrtime();
  r->trace.complete = trace_complete(run);
  trace_finish(&r->trace);
  r->log = runner__super_log(run->agent.sup);
  /* an error of the harness says nothing of the cluster; a failed or
   * timed-out run is checked all the same */
  if ((run->agent.said_hello && rp->error == NULL &&
       rp->abort_reason == NULL) ||
      rp->step_failure != NULL || rp->timed_out)
    check(run);
  runner__verdict_causes(run);
  outcome(run);
  start_error(run);
  divergence(run);
  detail(r);
  if (run->trace_path != NULL)
    write_trace(run);
}
