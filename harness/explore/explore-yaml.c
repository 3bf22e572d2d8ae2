/*
 * explore-yaml.c - a schedule as an ordinary scenario file: the base, the
 * steps (a wait for the base's workers, the load, each action after its
 * sleep, a settle), a timeout that covers them, and the expectations that
 * state the checked properties which apply to it. What explore runs is
 * what it writes out.
 */
#include "explore-internal.h"

#include <stdlib.h>
#include <string.h>

/* How much later than its own timeout a graceful shutdown may end. */
#define SHUTDOWN_BOUND_MS 1000
/* The end of the run's own shutdown (harness/runner: END_SHUTDOWN_MS). */
#define END_SHUTDOWN_MS 2000
/* What every run needs besides its schedule: start, the wait, the end. */
#define BASE_TIMEOUT_MS 15000
#define MAX_TIMEOUT_MS 180000

/* One step, as its row writes it, indented as an item of `steps`. */
static void step_yaml(base_buf_t *out, const explore_step_t *st)
{
  const char *p = explore__actions[st->action].yaml;
  char v[32];

  base_buf_appends(out, "  - ");
  for (; *p; p++) {
    if (*p == '%' && p[1] == 'w') {
      base_buf_appendf(out, "%u", st->worker);
      p++;
    } else if (*p == '%' && p[1] >= '0' &&
               p[1] < '0' + EXPLORE_MAX_PARAMS) {
      base_buf_appends(out, explore__param_text(st, (unsigned)(p[1] - '0'),
                                                v, sizeof(v)));
      p++;
    } else if (*p == '\n') {
      base_buf_appends(out, "\n    ");
    } else {
      base_buf_append(out, p, 1);
    }
  }
  base_buf_appends(out, "\n");
}

static bool has_flag(const explore_schedule_t *s, unsigned flag)
{
  size_t i;

  for (i = 0; i < s->n_steps; i++)
    if (explore__actions[s->steps[i].action].flags & flag)
      return true;
  return false;
}

/* Room for every delay and duration of the schedule: a rolling restart
 * may wait its timeout for every worker. */
static int64_t timeout_ms(const explore_base_t *b, const explore_schedule_t *s)
{
  int64_t t = BASE_TIMEOUT_MS + s->settle_ms;
  size_t i;
  unsigned k;

  for (i = 0; i < s->n_steps; i++) {
    const explore__action_t *a = &explore__actions[s->steps[i].action];
    int64_t times = (a->flags & EXPLORE__A_RESTART) ? b->workers + 4 : 1;
    t += s->steps[i].delay_ms;
    for (k = 0; k < EXPLORE_MAX_PARAMS; k++)
      if (a->params[k].kind == EXPLORE__P_MS)
        t += s->steps[i].params[k] * times;
  }
  return t < MAX_TIMEOUT_MS ? t : MAX_TIMEOUT_MS;
}

static void steps_yaml(base_buf_t *out, const explore_base_t *b,
                       const explore_schedule_t *s)
{
  size_t i;

  base_buf_appends(out, "steps:\n");
  if (b->workers > 0)
    base_buf_appendf(out, "  - wait: {event: %s, count: %u, within: 10s}\n",
                     b->listens ? "listening" : "online", b->workers);
  if (s->load_connections > 0)
    base_buf_appendf(out, "  - load: {start: {connections: %u, keepalive: "
                          "%s, timeout: 2s}}\n",
                     s->load_connections,
                     s->load_keepalive ? "true" : "false");
  for (i = 0; i < s->n_steps; i++) {
    if (s->steps[i].delay_ms > 0)
      base_buf_appendf(out, "  - sleep: %lldms\n",
                       (long long)s->steps[i].delay_ms);
    step_yaml(out, &s->steps[i]);
  }
  if (s->settle_ms > 0)
    base_buf_appendf(out, "  - sleep: %lldms\n", (long long)s->settle_ms);
}

/* The timeout of the first graceful shutdown: the schedule's own (a
 * `shutdown` step, or a signal the shutdown policy handles), else the end
 * of the run's. */
static int64_t shutdown_timeout(const explore_base_t *b,
                                const explore_schedule_t *s)
{
  size_t i;

  for (i = 0; i < s->n_steps; i++) {
    const explore__action_t *a = &explore__actions[s->steps[i].action];
    if (a->flags & EXPLORE__A_SHUTDOWN)
      return s->steps[i].params[0];
    if (a->flags & EXPLORE__A_PSIGNAL)
      return b->shutdown_timeout_ms;
  }
  return END_SHUTDOWN_MS;
}

static void expect_yaml(base_buf_t *out, const explore_base_t *b,
                        const explore_gen_opts_t *o,
                        const explore_schedule_t *s)
{
  bool kills = explore__kills_primary(b, s);
  bool exit_ = !kills && (o->checks & EXPLORE_PROP_BIT(EXPLORE_PROP_EXIT));
  bool shut = !kills && (o->checks & EXPLORE_PROP_BIT(EXPLORE_PROP_SHUTDOWN));
  bool restart = (o->checks & EXPLORE_PROP_BIT(EXPLORE_PROP_RESTART)) &&
                 s->load_connections > 0 &&
                 has_flag(s, EXPLORE__A_RESTART) &&
                 !has_flag(s, EXPLORE__A_FAULT | EXPLORE__A_ENDS |
                                  EXPLORE__A_LAST);

  if (!exit_ && !shut && !restart)
    return;
  base_buf_appends(out, "expect:\n");
  if (exit_)
    base_buf_appends(out, "  order:\n    - {pattern: [fork, exit]}\n");
  if (shut)
    base_buf_appendf(out, "  timing:\n    - {from: {event: shutdown-start}, "
                          "to: {event: primary-exit}, within: %lldms}\n",
                     (long long)((double)(shutdown_timeout(b, s) +
                                          SHUTDOWN_BOUND_MS) *
                                 o->time_scale));
  if (restart)
    base_buf_appends(out, "  availability: {max-failed: 0, "
                          "always-listening: true}\n");
}

/* Node's exit-only case (a worker that dies while a connection handed to
 * it is not acknowledged emits no `disconnect`) is allowed where it can
 * happen: connections handed to workers (round-robin, and load, `connect`
 * or `hold`) and a worker that ends. */
static bool exit_only(const explore_base_t *b, const explore_schedule_t *s)
{
  if (b->exit_only)
    return true;
  if (!b->rr || !(s->load_connections > 0 || has_flag(s, EXPLORE__A_PORT)))
    return false;
  return has_flag(s, EXPLORE__A_ENDS | EXPLORE__A_SIGNAL |
                         EXPLORE__A_ALL_END | EXPLORE__A_RESTART) ||
         has_flag(s, EXPLORE__A_FAULT);
}

/* "# line" for each line of `text`. */
static void comment_yaml(base_buf_t *out, const char *text)
{
  while (text != NULL && *text) {
    size_t n = strcspn(text, "\n");
    base_buf_appends(out, n > 0 ? "# " : "#");
    base_buf_append(out, text, n);
    base_buf_appends(out, "\n");
    text += n + (text[n] == '\n');
  }
}

char *explore_schedule_yaml(const explore_base_t *b,
                            const explore_gen_opts_t *o,
                            const explore_schedule_t *s, const char *name,
                            const char *comment)
{
  base_buf_t out = BASE_BUF_INIT;
  size_t len = strlen(b->text);

  /* room for all of it at once: the appends below then cannot fail (a
   * step is at most a few hundred bytes) */
  if (base_buf_reserve(&out, len + (comment ? 2 * strlen(comment) : 0) +
                                 1024 + EXPLORE_MAX_STEPS * 512) != 0)
    return NULL;
  comment_yaml(&out, comment);
  base_buf_appendf(&out, "name: %s\n", name);
  base_buf_appendf(&out, "tags: [explore]\n");
  base_buf_appendf(&out, "timeout: %lldms\n", (long long)timeout_ms(b, s));
  base_buf_appends(&out, b->text);
  if (len > 0 && b->text[len - 1] != '\n')
    base_buf_appends(&out, "\n");
  if (exit_only(b, s))
    base_buf_appends(&out, "oracle: {allow-exit-without-disconnect: true}\n");
  steps_yaml(&out, b, s);
  expect_yaml(&out, b, o, s);
  return base_buf_detach(&out);
}
