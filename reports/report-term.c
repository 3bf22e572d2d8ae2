/*
 * report-term.c - the live terminal view: a progress line redrawn in place
 * on a TTY (one plain line per finished case elsewhere, so CI logs stay
 * readable), and the closing summary with every failure's reason and
 * replay command.
 */
#include "report-internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define RED    "\033[31m"
#define GREEN  "\033[32m"
#define YELLOW "\033[33m"
#define BOLD   "\033[1m"
#define DIM    "\033[2m"
#define RESET  "\033[0m"

struct report_term_s {
  FILE *f;
  unsigned total;
  bool tty;
  bool color;
  uint64_t start_ns;
  unsigned done, failed;
  const report_case_t **running;
  size_t nrunning, caprunning;
  bool line_shown;
};

static bool env_set(const char *name)
{
  const char *v = getenv(name);
  return v != NULL && *v != '\0';
}

int report_term_new(report_term_t **out, FILE *f, unsigned total,
                    unsigned flags, uint64_t now_ns)
{
  report_term_t *t;
  bool isatty_f;
  const char *term = getenv("TERM");

  if (out == NULL || f == NULL)
    return UV_EINVAL;
  t = calloc(1, sizeof(*t));
  if (t == NULL)
    return UV_ENOMEM;
  isatty_f = isatty(fileno(f)) && !(term && strcmp(term, "dumb") == 0);
  t->f = f;
  t->total = total;
  t->start_ns = now_ns;
  t->tty = flags & REPORT_TERM_TTY     ? true
           : flags & REPORT_TERM_PLAIN ? false
                                       : isatty_f;
  t->color = flags & REPORT_TERM_NOCOLOR ? false
             : flags & REPORT_TERM_COLOR ? true
                                         : isatty_f && !env_set("NO_COLOR");
  *out = t;
  return 0;
}

void report_term_free(report_term_t *t)
{
  if (t == NULL)
    return;
  free(t->running);
  free(t);
}

static const char *col(const report_term_t *t, const char *code)
{
  return t->color ? code : "";
}

static const char *verdict_color(report_verdict_t v)
{
  switch (v) {
  case REPORT_V_PASS: return GREEN;
  case REPORT_V_FLAKY:
  case REPORT_V_SKIP:
  case REPORT_V_INCONCLUSIVE: return YELLOW;
  default: return RED;
  }
}

static bool verdict_bad(report_verdict_t v)
{
  return v == REPORT_V_FAIL || v == REPORT_V_TIMEOUT || v == REPORT_V_ERROR ||
         v == REPORT_V_INTERRUPTED;
}

/* Seconds with one decimal, without printf's locale-dependent %f. */
static void fmt_elapsed(char *buf, size_t size, uint64_t ns)
{
  uint64_t ds = ns / 100000000u;

  snprintf(buf, size, "%llu.%llus", (unsigned long long)(ds / 10),
           (unsigned long long)(ds % 10));
}

static unsigned width_of(const report_term_t *t)
{
  struct winsize ws;

  if (ioctl(fileno(t->f), TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
    return ws.ws_col;
  return 80;
}

/* Cuts s to at most cols characters (UTF-8 aware) so the line never wraps:
 * a wrapped line cannot be redrawn with \r. */
static void cut_to(char *s, unsigned cols)
{
  unsigned n = 0;
  char *p;

  for (p = s; *p; p++) {
    if (((unsigned char)*p & 0xc0) == 0x80)
      continue;
    if (n++ == cols) {
      *p = '\0';
      return;
    }
  }
}

static char *progress_text(const report_term_t *t, uint64_t now_ns)
{
  char total[16], el[32], *s = strdup(""), *name, *target;
  size_t i;

  if (t->total)
    snprintf(total, sizeof(total), "%u", t->total);
  else
    strcpy(total, "?");
  fmt_elapsed(el, sizeof(el), now_ns > t->start_ns ? now_ns - t->start_ns : 0);
  report__str_cat(&s, "[%u/%s] %u failed | %s", t->done, total, t->failed, el);
  if (t->nrunning)
    report__str_cat(&s, " | running:");
  for (i = 0; i < t->nrunning; i++) {
    name = report__text_line(t->running[i]->scenario);
    target = report__text_line(t->running[i]->target);
    report__str_cat(&s, "%s %s [%s]", i ? "," : "", name ? name : "?",
                   target ? target : "?");
    free(name);
    free(target);
  }
  return s;
}

static void clear_line(report_term_t *t)
{
  if (t->tty && t->line_shown) {
    fputs("\r\033[K", t->f);
    t->line_shown = false;
  }
}

static int redraw(report_term_t *t, uint64_t now_ns)
{
  char *s;

  if (!t->tty)
    return 0;
  s = progress_text(t, now_ns);
  if (s == NULL)
    return UV_ENOMEM;
  cut_to(s, width_of(t) - 1);
  fputs("\r\033[K", t->f);
  fprintf(t->f, "%s%s%s", col(t, BOLD), s, col(t, RESET));
  fflush(t->f);
  t->line_shown = true;
  free(s);
  return 0;
}

int report_term_case_start(report_term_t *t, const report_case_t *c,
                           uint64_t now_ns)
{
  const report_case_t **p;

  if (t == NULL || c == NULL)
    return UV_EINVAL;
  if (t->nrunning == t->caprunning) {
    size_t cap = t->caprunning ? t->caprunning * 2 : 8;
    p = realloc(t->running, cap * sizeof(*p));
    if (p == NULL)
      return UV_ENOMEM;
    t->running = p;
    t->caprunning = cap;
  }
  t->running[t->nrunning++] = c;
  return redraw(t, now_ns);
}

/* Prints the first line of s, cleaned: names come from scenario files and
 * command lines and must not be able to drive the terminal. */
static void put_line(FILE *f, const char *s)
{
  char *clean = report__text_line(s);

  fputs(clean ? clean : "?", f);
  free(clean);
}

static const char *case_reason(const report_case_t *c)
{
  const report__attempt_t *a = report__case_deciding(c);

  if (!a->ended)
    return report__interrupt_reason(c->report);
  return a->reason;
}

int report_term_case_end(report_term_t *t, const report_case_t *c,
                         uint64_t now_ns)
{
  report_verdict_t v;
  char secs[32], *name, *reason;
  size_t i;

  if (t == NULL || c == NULL || c->nattempts == 0)
    return UV_EINVAL;
  for (i = 0; i < t->nrunning; i++)
    if (t->running[i] == c) {
      memmove(&t->running[i], &t->running[i + 1],
              (t->nrunning - i - 1) * sizeof(*t->running));
      t->nrunning--;
      break;
    }
  v = report_case_verdict(c);
  t->done++;
  if (verdict_bad(v))
    t->failed++;
  /* On a TTY only what needs attention stays on screen; the progress line
   * accounts for the passes. */
  if (!t->tty || v != REPORT_V_PASS) {
    name = report__text_line(c->scenario);
    reason = report__text_line(case_reason(c));
    report__fmt_seconds(secs, sizeof(secs), report__case_duration(c));
    clear_line(t);
    fprintf(t->f, "[%u/", t->done);
    if (t->total)
      fprintf(t->f, "%u", t->total);
    else
      fputc('?', t->f);
    fprintf(t->f, "] %s%-12s%s %s [", col(t, verdict_color(v)),
            report_verdict_name(v), col(t, RESET), name ? name : "?");
    put_line(t->f, c->target);
    fputc(']', t->f);
    if (c->nattempts > 1)
      fprintf(t->f, " %u/%zu passed,", report_case_passed(c), c->nattempts);
    fprintf(t->f, " %ss", secs);
    if (v != REPORT_V_PASS && reason && *reason)
      fprintf(t->f, ": %s", reason);
    fputc('\n', t->f);
    free(name);
    free(reason);
  }
  return t->tty ? redraw(t, now_ns) : (fflush(t->f), 0);
}

int report_term_tick(report_term_t *t, uint64_t now_ns)
{
  if (t == NULL)
    return UV_EINVAL;
  return redraw(t, now_ns);
}

static void summary_case(report_term_t *t, const report_case_t *c,
                         report_verdict_t v)
{
  char *name = report__text_line(c->scenario);
  char *reason = report__text_clean(case_reason(c));
  /* the replay of the attempt shown: the first bad one of a flaky case */
  char *replay = report__text_line(report__attempt_replay_of(
      c, report__case_shown(c)));
  char *line, *save = NULL;
  size_t i;

  fprintf(t->f, "  %s%s%s %s [", col(t, verdict_color(v)),
          report_verdict_name(v), col(t, RESET), name ? name : "?");
  put_line(t->f, c->target);
  fputc(']', t->f);
  if (c->nattempts > 1)
    fprintf(t->f, " %u/%zu passed", report_case_passed(c), c->nattempts);
  if (c->file) {
    fputs(" (", t->f);
    put_line(t->f, c->file);
    fprintf(t->f, ":%u)", c->line);
  }
  fputc('\n', t->f);
  if (v == REPORT_V_FLAKY) {
    for (i = 0; i < c->nattempts; i++) {
      const report__attempt_t *a = &c->attempts[i];
      char *r = report__text_line(a->reason);
      fprintf(t->f, "    attempt %zu: %s%s%s\n", i + 1,
              report__outcome_name(a->outcome), r && *r ? ": " : "",
              r ? r : "");
      free(r);
    }
  } else if (reason) {
    for (line = strtok_r(reason, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save))
      fprintf(t->f, "    %s\n", line);
  }
  if (replay && *replay)
    fprintf(t->f, "    %sreplay: %s%s\n", col(t, DIM), replay,
            col(t, RESET));
  free(name);
  free(reason);
  free(replay);
}

int report_term_summary(report_term_t *t, const report_t *r, uint64_t now_ns)
{
  report_counts_t k;
  char el[32];
  size_t i;
  int pass;

  if (t == NULL || r == NULL)
    return UV_EINVAL;
  clear_line(t);
  report_counts_get(r, &k);
  /* Failures first, then the flaky ones: a pass is not a reason to hide
   * that an attempt failed. */
  for (pass = 0; pass < 2; pass++) {
    bool any = false;
    for (i = 0; i < r->ncases; i++) {
      report_verdict_t v = report_case_verdict(r->cases[i]);
      if (pass == 0 ? !verdict_bad(v) : v != REPORT_V_FLAKY)
        continue;
      if (!any)
        fprintf(t->f, "\n%s%s:%s\n", col(t, BOLD),
                pass == 0 ? "Failures" : "Flaky", col(t, RESET));
      any = true;
      summary_case(t, r->cases[i], v);
    }
  }
  fmt_elapsed(el, sizeof(el), now_ns > t->start_ns ? now_ns - t->start_ns : 0);
  fprintf(t->f,
          "\n%s%u cases: %u passed (%u flaky), %u failed, %u errors, "
          "%u skipped (%u inconclusive) in %s%s\n",
          col(t, k.failures + k.errors ? RED : GREEN), k.cases, k.passed,
          k.by_verdict[REPORT_V_FLAKY], k.failures, k.errors, k.skipped,
          k.by_verdict[REPORT_V_INCONCLUSIVE], el, col(t, RESET));
  if (r->interrupt_reason) {
    fprintf(t->f, "%s(run ", col(t, RED));
    put_line(t->f, r->interrupt_reason);
    fprintf(t->f, ")%s\n", col(t, RESET));
  }
  fflush(t->f);
  return 0;
}
