/*
 * report-model.c - building the result model the writers read.
 */
#include "report-internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int64_t report__now_unix_ns(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* strdup that keeps NULL as NULL, so "not given" stays distinguishable. */
static int dup_opt(char **dst, const char *src)
{
  *dst = NULL;
  if (src == NULL)
    return 0;
  *dst = strdup(src);
  return *dst ? 0 : UV_ENOMEM;
}

int report_new(report_t **out, const report_run_info_t *info)
{
  static const report_run_info_t none;
  report_t *r;
  char host[256];
  int rc;

  if (out == NULL)
    return UV_EINVAL;
  *out = NULL;
  if (info == NULL)
    info = &none;
  r = calloc(1, sizeof(*r));
  if (r == NULL)
    return UV_ENOMEM;
  if (info->hostname == NULL) {
    if (gethostname(host, sizeof(host)) != 0)
      strcpy(host, "localhost");
    host[sizeof(host) - 1] = '\0';
  }
  if ((rc = dup_opt(&r->name, info->name ? info->name : "clustersim")) ||
      (rc = dup_opt(&r->command_line, info->command_line)) ||
      (rc = dup_opt(&r->hostname, info->hostname ? info->hostname : host)) ||
      (rc = dup_opt(&r->targets, info->targets)) ||
      (rc = dup_opt(&r->shard, info->shard)))
    goto out;
  r->seed = info->seed;
  r->start_unix_ns = info->start_unix_ns ? info->start_unix_ns
                                         : report__now_unix_ns();
  r->junit_strict = info->junit_strict;
  *out = r;
  r = NULL;
out:
  report_free(r);
  return rc;
}

static void attempt_clear(report__attempt_t *a)
{
  size_t i;

  free(a->reason);
  free(a->detail);
  free(a->output);
  free(a->replay);
  for (i = 0; i < a->nmarks; i++) {
    free(a->marks[i].kind);
    free(a->marks[i].label);
  }
  free(a->marks);
  free(a->load);
}

static void case_free(report_case_t *c)
{
  size_t i;

  if (c == NULL)
    return;
  free(c->scenario);
  free(c->file);
  free(c->target);
  free(c->runtime);
  free(c->runtime_version);
  free(c->replay);
  for (i = 0; i < c->ntags; i++)
    free(c->tags[i]);
  free(c->tags);
  for (i = 0; i < c->nattempts; i++)
    attempt_clear(&c->attempts[i]);
  free(c->attempts);
  free(c);
}

void report_free(report_t *r)
{
  size_t i;

  if (r == NULL)
    return;
  for (i = 0; i < r->ncases; i++)
    case_free(r->cases[i]);
  free(r->cases);
  free(r->name);
  free(r->command_line);
  free(r->hostname);
  free(r->targets);
  free(r->shard);
  free(r->interrupt_reason);
  free(r);
}

static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
  size_t ncap;
  void *p;

  if (need <= *cap)
    return 0;
  ncap = *cap ? *cap * 2 : 8;
  while (ncap < need)
    ncap *= 2;
  p = realloc(*arr, ncap * elem);
  if (p == NULL)
    return UV_ENOMEM;
  *arr = p;
  *cap = ncap;
  return 0;
}

static int attempt_begin(report_case_t *c, int64_t start_unix_ns)
{
  report__attempt_t *a;
  int rc;

  rc = grow((void **)&c->attempts, &c->capattempts, c->nattempts + 1,
            sizeof(*c->attempts));
  if (rc)
    return rc;
  a = &c->attempts[c->nattempts++];
  memset(a, 0, sizeof(*a));
  a->failed_event = -1;
  a->start_unix_ns = start_unix_ns ? start_unix_ns : report__now_unix_ns();
  return 0;
}

int report_case_add(report_t *r, const report_case_info_t *info,
                    report_case_t **out)
{
  report_case_t *c = NULL;
  size_t n = 0;
  int rc;

  if (out)
    *out = NULL;
  if (r == NULL || info == NULL || info->scenario == NULL ||
      info->target == NULL)
    return UV_EINVAL;
  rc = grow((void **)&r->cases, &r->capcases, r->ncases + 1,
            sizeof(*r->cases));
  if (rc)
    return rc;
  c = calloc(1, sizeof(*c));
  if (c == NULL)
    return UV_ENOMEM;
  c->report = r;
  c->index = r->ncases;
  c->line = info->line;
  c->seed = info->seed;
  c->start_unix_ns = info->start_unix_ns ? info->start_unix_ns
                                         : report__now_unix_ns();
  if ((rc = dup_opt(&c->scenario, info->scenario)) ||
      (rc = dup_opt(&c->file, info->file)) ||
      (rc = dup_opt(&c->target, info->target)) ||
      (rc = dup_opt(&c->runtime, info->runtime)) ||
      (rc = dup_opt(&c->runtime_version, info->runtime_version)) ||
      (rc = dup_opt(&c->replay, info->replay)))
    goto out;
  while (info->tags && info->tags[n])
    n++;
  if (n) {
    c->tags = calloc(n, sizeof(*c->tags));
    if (c->tags == NULL) {
      rc = UV_ENOMEM;
      goto out;
    }
    for (c->ntags = 0; c->ntags < n; c->ntags++)
      if ((rc = dup_opt(&c->tags[c->ntags], info->tags[c->ntags])))
        goto out;
  }
  if ((rc = attempt_begin(c, c->start_unix_ns)))
    goto out;
  r->cases[r->ncases++] = c;
  if (out)
    *out = c;
  c = NULL;
out:
  case_free(c);
  return rc;
}

int report_event_add(report_case_t *c, const report_event_t *ev)
{
  report__attempt_t *a;
  report__mark_t *m;
  int rc;

  if (c == NULL || ev == NULL || c->nattempts == 0)
    return UV_EINVAL;
  a = &c->attempts[c->nattempts - 1];
  rc = grow((void **)&a->marks, &a->capmarks, a->nmarks + 1,
            sizeof(*a->marks));
  if (rc)
    return rc;
  m = &a->marks[a->nmarks];
  memset(m, 0, sizeof(*m));
  if ((rc = dup_opt(&m->kind, ev->kind ? ev->kind : "event")) ||
      (rc = dup_opt(&m->label, ev->label))) {
    free(m->kind);
    return rc;
  }
  m->t_ns = ev->t_ns;
  m->lane = ev->lane;
  m->flags = ev->flags;
  a->nmarks++;
  return 0;
}

int report_load_set(report_case_t *c, const report_bucket_t *b, size_t n,
                    uint64_t width_ns)
{
  report__attempt_t *a;
  report_bucket_t *copy = NULL;

  if (c == NULL || c->nattempts == 0 || (n > 0 && (b == NULL ||
                                                   width_ns == 0)))
    return UV_EINVAL;
  if (n > 0) {
    if (n > SIZE_MAX / sizeof(*copy) || (copy = malloc(n * sizeof(*copy))) ==
                                            NULL)
      return UV_ENOMEM;
    memcpy(copy, b, n * sizeof(*copy));
  }
  a = &c->attempts[c->nattempts - 1];
  free(a->load);
  a->load = copy;
  a->nload = n;
  a->load_width_ns = width_ns;
  return 0;
}

int report_attempt_add(report_case_t *c, const report_result_t *res)
{
  report__attempt_t *a;
  int rc;

  if (c == NULL || res == NULL || c->nattempts == 0 ||
      (unsigned)res->outcome >= REPORT_OUTCOME_MAX)
    return UV_EINVAL;
  a = &c->attempts[c->nattempts - 1];
  if (a->ended)
    return UV_EINVAL;
  if ((rc = dup_opt(&a->reason, res->reason)))
    return rc;
  if ((rc = dup_opt(&a->detail, res->detail)) ||
      (rc = dup_opt(&a->output, res->output))) {
    free(a->reason);
    free(a->detail);
    a->reason = a->detail = NULL;
    return rc;
  }
  a->outcome = res->outcome;
  a->duration_s = res->duration_s > 0 ? res->duration_s : 0;
  a->failed_event = res->failed_event >= 0 &&
                            (size_t)res->failed_event < a->nmarks
                        ? res->failed_event
                        : -1;
  a->ended = true;
  return 0;
}

int report_attempt_start(report_case_t *c)
{
  if (c == NULL || c->nattempts == 0)
    return UV_EINVAL;
  if (!c->attempts[c->nattempts - 1].ended)
    return UV_EBUSY;
  return attempt_begin(c, 0);
}

int report_attempt_seed(report_case_t *c, uint64_t seed, const char *replay)
{
  report__attempt_t *a;
  char *s = NULL;
  int rc;

  if (c == NULL || c->nattempts == 0)
    return UV_EINVAL;
  if ((rc = dup_opt(&s, replay)))
    return rc;
  a = &c->attempts[c->nattempts - 1];
  free(a->replay);
  a->replay = s;
  a->seed = seed;
  a->has_seed = true;
  return 0;
}

uint64_t report__attempt_seed_of(const report_case_t *c,
                                const report__attempt_t *a)
{
  return a->has_seed ? a->seed : c->seed;
}

const char *report__attempt_replay_of(const report_case_t *c,
                                     const report__attempt_t *a)
{
  return a->has_seed ? a->replay : c->replay;
}

int report_interrupt(report_t *r, const char *reason)
{
  char *s;

  if (r == NULL)
    return UV_EINVAL;
  s = strdup(reason ? reason : "interrupted");
  if (s == NULL)
    return UV_ENOMEM;
  free(r->interrupt_reason);
  r->interrupt_reason = s;
  return 0;
}

const char *report__interrupt_reason(const report_t *r)
{
  return r->interrupt_reason ? r->interrupt_reason
                             : "interrupted before it finished";
}

size_t report_case_count(const report_t *r)
{
  return r ? r->ncases : 0;
}

report_case_t *report_case_at(const report_t *r, size_t i)
{
  return r && i < r->ncases ? r->cases[i] : NULL;
}

bool report_case_running(const report_case_t *c)
{
  return c && c->nattempts > 0 && !c->attempts[c->nattempts - 1].ended;
}

bool report__outcome_bad(report_outcome_t o)
{
  return o == REPORT_FAIL || o == REPORT_TIMEOUT || o == REPORT_ERROR;
}

static const char *const outcome_names[REPORT_OUTCOME_MAX] = {
    [REPORT_PASS] = "pass",       [REPORT_FAIL] = "fail",
    [REPORT_INCONCLUSIVE] = "inconclusive",
    [REPORT_ERROR] = "error",     [REPORT_SKIP] = "skip",
    [REPORT_TIMEOUT] = "timeout",
};

const char *report__outcome_name(report_outcome_t o)
{
  return (unsigned)o < REPORT_OUTCOME_MAX ? outcome_names[o] : "?";
}

report_outcome_t report_outcome_parse(const char *name)
{
  for (int o = 0; name != NULL && o < REPORT_OUTCOME_MAX; o++)
    if (strcmp(outcome_names[o], name) == 0)
      return (report_outcome_t)o;
  return REPORT_ERROR;
}

const char *report_verdict_name(report_verdict_t v)
{
  static const char *const names[REPORT_V_MAX] = {
      [REPORT_V_PASS] = "pass",
      [REPORT_V_FAIL] = "fail",
      [REPORT_V_TIMEOUT] = "timeout",
      [REPORT_V_ERROR] = "error",
      [REPORT_V_INTERRUPTED] = "interrupted",
      [REPORT_V_SKIP] = "skip",
      [REPORT_V_INCONCLUSIVE] = "inconclusive",
      [REPORT_V_FLAKY] = "flaky",
  };
  return (unsigned)v < REPORT_V_MAX ? names[v] : "?";
}

static report_verdict_t verdict_of(report_outcome_t o)
{
  switch (o) {
  case REPORT_PASS: return REPORT_V_PASS;
  case REPORT_FAIL: return REPORT_V_FAIL;
  case REPORT_TIMEOUT: return REPORT_V_TIMEOUT;
  case REPORT_ERROR: return REPORT_V_ERROR;
  case REPORT_SKIP: return REPORT_V_SKIP;
  case REPORT_INCONCLUSIVE: return REPORT_V_INCONCLUSIVE;
  default: return REPORT_V_ERROR;
  }
}

/* The first bad attempt, or NULL. */
static const report__attempt_t *first_bad(const report_case_t *c)
{
  size_t i;

  for (i = 0; i < c->nattempts; i++)
    if (c->attempts[i].ended && report__outcome_bad(c->attempts[i].outcome))
      return &c->attempts[i];
  return NULL;
}

unsigned report_case_passed(const report_case_t *c)
{
  unsigned n = 0;
  size_t i;

  for (i = 0; c != NULL && i < c->nattempts; i++)
    n += c->attempts[i].ended && c->attempts[i].outcome == REPORT_PASS;
  return n;
}

/* The first ended attempt with `outcome`, or NULL. */
static const report__attempt_t *first_with(const report_case_t *c,
                                           report_outcome_t outcome)
{
  size_t i;

  for (i = 0; i < c->nattempts; i++)
    if (c->attempts[i].ended && c->attempts[i].outcome == outcome)
      return &c->attempts[i];
  return NULL;
}

/*
 * The verdict depends on which outcomes the attempts had, never on their
 * order: a bad attempt (fail, timeout, error) and a pass make the case
 * flaky, whichever came first; bad attempts alone give the first bad
 * one's verdict; otherwise a pass is a pass, and a case that never passed
 * nor failed is inconclusive if one attempt was, else skipped. A bad
 * attempt is never hidden. Surefire's shape follows: the first bad
 * attempt is the <failure> or <error>, later bad ones are reruns, and a
 * flaky case passes with a flaky element per bad attempt.
 */
report_verdict_t report_case_verdict(const report_case_t *c)
{
  const report__attempt_t *last, *bad;

  if (c == NULL || c->nattempts == 0)
    return REPORT_V_ERROR;
  last = &c->attempts[c->nattempts - 1];
  if (!last->ended)
    return REPORT_V_INTERRUPTED;
  bad = first_bad(c);
  if (bad != NULL)
    return report_case_passed(c) > 0 ? REPORT_V_FLAKY
                                     : verdict_of(bad->outcome);
  if (report_case_passed(c) > 0)
    return REPORT_V_PASS;
  return first_with(c, REPORT_INCONCLUSIVE) != NULL ? REPORT_V_INCONCLUSIVE
                                                    : REPORT_V_SKIP;
}

const report__attempt_t *report__case_deciding(const report_case_t *c)
{
  const report__attempt_t *last = &c->attempts[c->nattempts - 1];
  const report__attempt_t *a = NULL;
  size_t i;

  if (!last->ended)
    return last;
  switch (report_case_verdict(c)) {
  case REPORT_V_PASS:
  case REPORT_V_FLAKY:
    /* the last pass */
    for (i = c->nattempts; i-- > 0 && a == NULL;)
      if (c->attempts[i].ended && c->attempts[i].outcome == REPORT_PASS)
        a = &c->attempts[i];
    break;
  case REPORT_V_INCONCLUSIVE:
    a = first_bad(c) ? first_bad(c) : first_with(c, REPORT_INCONCLUSIVE);
    break;
  case REPORT_V_SKIP:
    a = first_with(c, REPORT_SKIP);
    break;
  default:
    a = first_bad(c);
    break;
  }
  return a != NULL ? a : last;
}

const report__attempt_t *report__case_shown(const report_case_t *c)
{
  const report__attempt_t *bad;

  if (report_case_verdict(c) == REPORT_V_FLAKY && (bad = first_bad(c)))
    return bad;
  return report__case_deciding(c);
}

double report__attempt_duration(const report__attempt_t *a)
{
  int64_t d;

  if (a->ended)
    return a->duration_s;
  d = report__now_unix_ns() - a->start_unix_ns;
  return d > 0 ? (double)d / 1e9 : 0;
}

double report__case_duration(const report_case_t *c)
{
  double s = 0;
  size_t i;

  for (i = 0; i < c->nattempts; i++)
    s += report__attempt_duration(&c->attempts[i]);
  return s;
}

void report_counts_get(const report_t *r, report_counts_t *out)
{
  const unsigned *v;
  size_t i;

  memset(out, 0, sizeof(*out));
  if (r == NULL)
    return;
  for (i = 0; i < r->ncases; i++)
    out->by_verdict[report_case_verdict(r->cases[i])]++;
  out->cases = (unsigned)r->ncases;
  v = out->by_verdict;
  out->passed = v[REPORT_V_PASS] + v[REPORT_V_FLAKY];
  out->failures = v[REPORT_V_FAIL] + v[REPORT_V_TIMEOUT];
  out->errors = v[REPORT_V_ERROR] + v[REPORT_V_INTERRUPTED];
  out->skipped = v[REPORT_V_SKIP] + v[REPORT_V_INCONCLUSIVE];
}
