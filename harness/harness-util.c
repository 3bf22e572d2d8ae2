/* Names, durations, suggestions and the diagnostic/finding lists. */
#include "harness.h"
#include "harness-priv.h"

#include <ctype.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *harness_vasprintf(const char *fmt, va_list ap)
{
  va_list aq;
  char *s;
  int n;

  va_copy(aq, ap);
  n = vsnprintf(NULL, 0, fmt, aq);
  va_end(aq);
  if (n < 0)
    return NULL;
  s = malloc((size_t)n + 1);
  if (s == NULL)
    return NULL;
  vsnprintf(s, (size_t)n + 1, fmt, ap);
  return s;
}

char *harness_asprintf(const char *fmt, ...)
{
  va_list ap;
  char *s;

  va_start(ap, fmt);
  s = harness_vasprintf(fmt, ap);
  va_end(ap);
  return s;
}

char *harness_strdup(const char *s)
{
  return s == NULL ? NULL : strdup(s);
}

void harness_diag_init(harness_diag_t *d)
{
  memset(d, 0, sizeof(*d));
}

void harness_diag_free(harness_diag_t *d)
{
  size_t i;

  for (i = 0; i < d->count; i++)
    free(d->lines[i]);
  free(d->lines);
  memset(d, 0, sizeof(*d));
}

int harness_diag_addf(harness_diag_t *d, const char *fmt, ...)
{
  va_list ap;
  char *s;

  if (d == NULL)
    return 0;
  if (d->count == d->cap) {
    size_t cap = d->cap ? d->cap * 2 : 8;
    char **n = realloc(d->lines, cap * sizeof(*n));
    if (n == NULL)
      return UV_ENOMEM;
    d->lines = n;
    d->cap = cap;
  }
  va_start(ap, fmt);
  s = harness_vasprintf(fmt, ap);
  va_end(ap);
  if (s == NULL)
    return UV_ENOMEM;
  d->lines[d->count++] = s;
  return 0;
}

/* ---------------------------------------------------------------------- */

static const char *const ev_names[HARNESS_EV_COUNT] = {
  [HARNESS_EV_NONE] = "",
  [HARNESS_EV_SETUP] = "setup",
  [HARNESS_EV_FORK] = "fork",
  [HARNESS_EV_ONLINE] = "online",
  [HARNESS_EV_LISTENING] = "listening",
  [HARNESS_EV_MESSAGE] = "message",
  [HARNESS_EV_DISCONNECT] = "disconnect",
  [HARNESS_EV_EXIT] = "exit",
  [HARNESS_EV_ERROR] = "error",
  [HARNESS_EV_DISCONNECT_CALLBACK] = "disconnect-callback",
  [HARNESS_EV_RESPAWN] = "respawn",
  [HARNESS_EV_SHUTDOWN_START] = "shutdown-start",
  [HARNESS_EV_SHUTDOWN_FORCE] = "shutdown-force",
  [HARNESS_EV_SHUTDOWN_DONE] = "shutdown-done",
  [HARNESS_EV_HEARTBEAT_KILL] = "heartbeat-kill",
  [HARNESS_EV_METRICS_LISTENING] = "metrics-listening",
  [HARNESS_EV_RESTART_FORK] = "restart-fork",
  [HARNESS_EV_RESTART_DISCONNECT] = "restart-disconnect",
  [HARNESS_EV_RESTART_KILL] = "restart-kill",
  [HARNESS_EV_RESTART_DONE] = "restart-done",
  [HARNESS_EV_RESTART_FAILED] = "restart-failed",
  [HARNESS_EV_METRICS_ERROR] = "metrics-error",
  [HARNESS_EV_W_STARTED] = "worker-started",
  [HARNESS_EV_W_LISTENING] = "worker-listening",
  [HARNESS_EV_W_SERVER_CLOSE] = "worker-server-close",
  [HARNESS_EV_W_MESSAGE] = "worker-message",
  [HARNESS_EV_W_DISCONNECT] = "worker-disconnect",
  [HARNESS_EV_W_EXITING] = "worker-exiting",
  [HARNESS_EV_W_FAULT] = "worker-fault",
  [HARNESS_EV_W_SERVER_ERROR] = "worker-server-error",
  [HARNESS_EV_W_SIGNAL] = "worker-signal",
  [HARNESS_EV_PRIMARY_EXIT] = "primary-exit",
};

const char *const *harness_ev_names(void)
{
  /* For suggestions: the list without the empty first entry. */
  static const char *list[HARNESS_EV_COUNT];
  int i;

  if (list[0] == NULL)
    for (i = 1; i < HARNESS_EV_COUNT; i++)
      list[i - 1] = ev_names[i];
  return list;
}

harness_ev_t harness_ev_from_name(const char *name)
{
  int i;

  if (name == NULL)
    return HARNESS_EV_NONE;
  for (i = 1; i < HARNESS_EV_COUNT; i++)
    if (strcmp(ev_names[i], name) == 0)
      return (harness_ev_t)i;
  return HARNESS_EV_NONE;
}

const char *harness_ev_name(harness_ev_t ev)
{
  if ((int)ev < 0 || ev >= HARNESS_EV_COUNT)
    return "?";
  return ev_names[ev];
}

/* ---------------------------------------------------------------------- */

static const struct {
  const char *name;
  int num;
} signals[] = {
  {"SIGHUP", SIGHUP},   {"SIGINT", SIGINT},       {"SIGQUIT", SIGQUIT},
  {"SIGILL", SIGILL},   {"SIGTRAP", SIGTRAP},     {"SIGABRT", SIGABRT},
  {"SIGBUS", SIGBUS},   {"SIGFPE", SIGFPE},       {"SIGKILL", SIGKILL},
  {"SIGUSR1", SIGUSR1}, {"SIGSEGV", SIGSEGV},     {"SIGUSR2", SIGUSR2},
  {"SIGPIPE", SIGPIPE}, {"SIGALRM", SIGALRM},     {"SIGTERM", SIGTERM},
  {"SIGCHLD", SIGCHLD}, {"SIGCONT", SIGCONT},     {"SIGSTOP", SIGSTOP},
  {"SIGTSTP", SIGTSTP}, {"SIGTTIN", SIGTTIN},     {"SIGTTOU", SIGTTOU},
  {"SIGURG", SIGURG},   {"SIGXCPU", SIGXCPU},     {"SIGXFSZ", SIGXFSZ},
  {"SIGVTALRM", SIGVTALRM}, {"SIGPROF", SIGPROF}, {"SIGWINCH", SIGWINCH},
  {"SIGIO", SIGIO},     {"SIGPWR", SIGPWR},       {"SIGSYS", SIGSYS},
};

#define N_SIGNALS (sizeof(signals) / sizeof(signals[0]))

const char *const *harness_signal_names(void)
{
  static const char *list[N_SIGNALS + 1];
  size_t i;

  if (list[0] == NULL)
    for (i = 0; i < N_SIGNALS; i++)
      list[i] = signals[i].name;
  return list;
}

int harness_signal_from_name(const char *name)
{
  size_t i;

  if (name == NULL)
    return 0;
  for (i = 0; i < N_SIGNALS; i++)
    if (strcmp(signals[i].name, name) == 0)
      return signals[i].num;
  return 0;
}

const char *harness_signal_name(int signum)
{
  size_t i;

  for (i = 0; i < N_SIGNALS; i++)
    if (signals[i].num == signum)
      return signals[i].name;
  return NULL;
}

/* ---------------------------------------------------------------------- */

int harness_duration_parse(const char *text, int64_t *ms)
{
  const char *p = text;
  double v = 0, frac = 0.1;
  int digits = 0;
  double mult;

  if (text == NULL)
    return UV_EINVAL;
  while (isdigit((unsigned char)*p)) {
    v = v * 10 + (*p - '0');
    p++;
    digits++;
    if (v > 1e9)
      return UV_EINVAL;
  }
  if (*p == '.') {
    p++;
    if (!isdigit((unsigned char)*p))
      return UV_EINVAL;
    while (isdigit((unsigned char)*p)) {
      v += (*p - '0') * frac;
      frac /= 10;
      p++;
    }
  }
  if (digits == 0)
    return UV_EINVAL;
  if (strcmp(p, "ms") == 0)
    mult = 1;
  else if (strcmp(p, "s") == 0)
    mult = 1000;
  else if (strcmp(p, "m") == 0)
    mult = 60000;
  else
    return UV_EINVAL;
  v *= mult;
  /* An hour is far beyond any sensible scenario deadline. */
  if (v > 3600000.0)
    return UV_ERANGE;
  *ms = (int64_t)(v + 0.5);
  return 0;
}

/* ---------------------------------------------------------------------- */

/* Optimal string alignment distance (a transposition counts as one edit),
 * case-insensitive, capped: words longer than 63 never match. */
static int edit_distance(const char *a, const char *b)
{
  int d[64][64];
  size_t la = strlen(a), lb = strlen(b), i, j;

  if (la >= 64 || lb >= 64)
    return 1000;
  for (i = 0; i <= la; i++)
    d[i][0] = (int)i;
  for (j = 0; j <= lb; j++)
    d[0][j] = (int)j;
  for (i = 1; i <= la; i++)
    for (j = 1; j <= lb; j++) {
      int cost = tolower((unsigned char)a[i - 1]) !=
                 tolower((unsigned char)b[j - 1]);
      int v = d[i - 1][j] + 1;
      if (d[i][j - 1] + 1 < v)
        v = d[i][j - 1] + 1;
      if (d[i - 1][j - 1] + cost < v)
        v = d[i - 1][j - 1] + cost;
      if (i > 1 && j > 1 &&
          tolower((unsigned char)a[i - 1]) ==
              tolower((unsigned char)b[j - 2]) &&
          tolower((unsigned char)a[i - 2]) ==
              tolower((unsigned char)b[j - 1]) &&
          d[i - 2][j - 2] + 1 < v)
        v = d[i - 2][j - 2] + 1;
      d[i][j] = v;
    }
  return d[la][lb];
}

const char *harness_suggest(const char *word, const char *const *candidates)
{
  const char *best = NULL;
  int best_d = 1000;
  size_t lw, i;
  char sig[64];

  if (word == NULL || candidates == NULL)
    return NULL;
  lw = strlen(word);
  /* "kill" or "KILL" for a signal: the SIG-prefixed upper-case name. */
  if (lw > 0 && lw < 40) {
    snprintf(sig, sizeof(sig), "SIG%s", word);
    for (i = 3; sig[i]; i++)
      sig[i] = (char)toupper((unsigned char)sig[i]);
    for (i = 0; candidates[i]; i++)
      if (strcmp(candidates[i], sig) == 0)
        return candidates[i];
  }
  for (i = 0; candidates[i]; i++) {
    int d = edit_distance(word, candidates[i]);
    if (d < best_d) {
      best_d = d;
      best = candidates[i];
    }
  }
  if (best == NULL || best_d == 0)
    return best;
  /* A typo: at most 2 edits, and less than a third of the word. */
  if (best_d <= 2 && (size_t)best_d * 3 < lw)
    return best;
  /* A prefix: "listen" for "listening", "rolling" for "rolling-restart". */
  if (lw >= 4)
    for (i = 0; candidates[i]; i++)
      if (strncmp(candidates[i], word, lw) == 0)
        return candidates[i];
  return NULL;
}

/* ---------------------------------------------------------------------- */

void harness_findings_init(harness_findings_t *f)
{
  memset(f, 0, sizeof(*f));
}

void harness_findings_free(harness_findings_t *f)
{
  size_t i;

  for (i = 0; i < f->count; i++)
    free(f->items[i].message);
  free(f->items);
  memset(f, 0, sizeof(*f));
}

int harness_findings_add(harness_findings_t *f, harness_finding_kind_t kind,
                         const char *rule, unsigned worker, int64_t event,
                         unsigned line, const char *fmt, ...)
{
  harness_finding_t *it;
  va_list ap;

  /* A broken run can violate the same rule for every event: the first few
   * hundred findings say all there is to say. */
  if (f->count >= 500)
    return 0;
  if (f->count == f->cap) {
    size_t cap = f->cap ? f->cap * 2 : 8;
    harness_finding_t *n = realloc(f->items, cap * sizeof(*n));
    if (n == NULL)
      return UV_ENOMEM;
    f->items = n;
    f->cap = cap;
  }
  it = &f->items[f->count];
  memset(it, 0, sizeof(*it));
  it->kind = kind;
  snprintf(it->rule, sizeof(it->rule), "%s", rule);
  it->worker = worker;
  it->event = event;
  it->line = line;
  va_start(ap, fmt);
  it->message = harness_vasprintf(fmt, ap);
  va_end(ap);
  if (it->message == NULL)
    return UV_ENOMEM;
  f->count++;
  return 0;
}

size_t harness_findings_count(const harness_findings_t *f,
                              harness_finding_kind_t kind)
{
  size_t i, n = 0;

  for (i = 0; i < f->count; i++)
    if (f->items[i].kind == kind)
      n++;
  return n;
}

static const char *const outcome_names[HARNESS_OUTCOME_COUNT] = {
  "pass", "fail", "inconclusive", "error", "skip", "timeout",
};

const char *harness_outcome_name(harness_outcome_t o)
{
  if ((int)o < 0 || o >= HARNESS_OUTCOME_COUNT)
    return "?";
  return outcome_names[o];
}
