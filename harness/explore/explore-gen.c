/*
 * explore-gen.c - drawing a schedule from (seed, run): a random stream of
 * its own per schedule, actions by weight among those that apply, their
 * parameters and delays, and a rough model of the cluster (which ids are
 * alive) so that an action names a worker that is likely there.
 */
#include "explore-internal.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------- */
/* Random numbers                                                          */

static uint64_t splitmix64(uint64_t *x)
{
  uint64_t z = (*x += 0x9E3779B97F4A7C15ull);

  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void explore__rng_seed(explore__rng_t *r, uint64_t seed, uint64_t stream)
{
  uint64_t x = seed, y;
  int i;

  /* the stream's number goes through its own round, so that nearby
   * (seed, run) pairs give unrelated streams */
  y = splitmix64(&x);
  x = y ^ (stream * 0xD1B54A32D192ED03ull + 0x8CB92BA72F3D8DD7ull);
  for (i = 0; i < 4; i++)
    r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k)
{
  return (x << k) | (x >> (64 - k));
}

uint64_t explore__rng_next(explore__rng_t *r)
{
  uint64_t *s = r->s, out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return out;
}

int64_t explore__rng_range(explore__rng_t *r, int64_t lo, int64_t hi)
{
  uint64_t span, limit, v;

  if (hi <= lo)
    return lo;
  span = (uint64_t)(hi - lo) + 1;
  /* rejection keeps it uniform */
  limit = UINT64_MAX - UINT64_MAX % span;
  do
    v = explore__rng_next(r);
  while (v >= limit);
  return lo + (int64_t)(v % span);
}

/* ---------------------------------------------------------------------- */
/* The drawing's model of the cluster                                      */

/* How long after its respawn (or a restart's fork that is not waited for)
 * a worker is taken to be there, beyond the policy's backoff. */
#define MODEL_STARTUP_MS 500

typedef struct {
  unsigned alive[64];
  int64_t ready[64];         /* from when an action may name it */
  size_t n_alive;
  unsigned next_id;
  bool chaos;                /* a trigger is armed: which worker it hits,
                                and so every later id, is a race */
  int64_t now;               /* the sum of the delays so far */
  int64_t restart_until;     /* a restart not waited for runs until */
} model_t;

/* Never named: which id it has is a race. */
#define MODEL_NEVER INT64_MAX

static void model_add(model_t *m, int64_t ready)
{
  unsigned id = m->next_id++;

  if (m->n_alive < sizeof(m->alive) / sizeof(m->alive[0])) {
    m->ready[m->n_alive] = m->chaos ? MODEL_NEVER : ready;
    m->alive[m->n_alive++] = id;
  }
}

static void model_remove(model_t *m, unsigned id)
{
  size_t i;

  for (i = 0; i < m->n_alive; i++)
    if (m->alive[i] == id) {
      memmove(m->alive + i, m->alive + i + 1,
              (m->n_alive - i - 1) * sizeof(m->alive[0]));
      memmove(m->ready + i, m->ready + i + 1,
              (m->n_alive - i - 1) * sizeof(m->ready[0]));
      m->n_alive--;
      return;
    }
}

/* The workers an action may name now. */
static size_t model_ready(const model_t *m, unsigned *ids)
{
  size_t i, n = 0;

  for (i = 0; i < m->n_alive; i++)
    if (m->ready[i] <= m->now)
      ids[n++] = m->alive[i];
  return n;
}

/* Whether the base's respawn rule replaces a worker that ended so. */
static bool replaced(const explore_base_t *b, bool ead, bool nonzero)
{
  switch (b->respawn) {
  case SCENARIO_RESPAWN_ALWAYS:
    return true;
  case SCENARIO_RESPAWN_UNLESS_EAD:
    return !ead;
  case SCENARIO_RESPAWN_ON_NONZERO:
    return nonzero;
  default:
    return false;
  }
}

/* Whether the step ends its worker, and how. */
static bool step_ends(const explore_step_t *st, bool *ead, bool *nonzero)
{
  const explore__action_t *a = &explore__actions[st->action];
  const char *sig = explore__step_signal(st);

  *ead = (a->flags & EXPLORE__A_EAD) != 0;
  *nonzero = (a->flags & EXPLORE__A_NONZERO) != 0;
  if (a->flags & EXPLORE__A_CODE)
    *nonzero = st->params[0] != 0;
  if ((a->flags & EXPLORE__A_SIGNAL) && sig != NULL) {
    *nonzero = true;
    return explore__signal_kills(sig);
  }
  return (a->flags & EXPLORE__A_ENDS) != 0;
}

/* A rolling restart replaces every member, one after the other; when the
 * step does not wait, the replacements come in over time. */
static void model_restart(model_t *m, const explore_step_t *st)
{
  bool wait = st->params[1] == 0;
  size_t i, n = m->n_alive;

  m->n_alive = 0;
  for (i = 0; i < n; i++)
    model_add(m, wait ? m->now
                      : m->now + (int64_t)(i + 1) * MODEL_STARTUP_MS);
}

/* A trigger fires on the early events (fork, online, listening) of a
 * worker forked lately or later, whose event may not have come yet: none
 * of them is named from now on. */
static void model_trigger(model_t *m)
{
  size_t i;

  m->chaos = true;
  for (i = 0; i < m->n_alive; i++)
    if (m->ready[i] > m->now - 2 * MODEL_STARTUP_MS)
      m->ready[i] = MODEL_NEVER;
}

static bool model_pending(const model_t *m)
{
  size_t i;

  for (i = 0; i < m->n_alive; i++)
    if (m->ready[i] > m->now && m->ready[i] != MODEL_NEVER)
      return true;
  return false;
}

/* Forks while respawns are pending: who gets which id is a race, so none
 * of them is named (entries from `first` on are the new ones). */
static void model_race(model_t *m, size_t first)
{
  size_t i;

  for (i = 0; i < m->n_alive; i++)
    if (i >= first || m->ready[i] > m->now)
      m->ready[i] = MODEL_NEVER;
}

static void model_forks(model_t *m, const explore__action_t *a,
                        const explore_step_t *st)
{
  bool race = model_pending(m);
  size_t first = m->n_alive, i;

  if (a->flags & EXPLORE__A_FORKS)
    for (i = 0; i < (size_t)st->params[0]; i++)
      model_add(m, m->now);
  if (a->flags & EXPLORE__A_RESTART) {
    first = 0;
    model_restart(m, st);
    if (st->params[1] != 0)
      m->restart_until = m->now + (int64_t)m->n_alive *
                                      (st->params[0] + MODEL_STARTUP_MS);
  }
  if (race)
    model_race(m, first);
}

static void model_apply(model_t *m, const explore_base_t *b,
                        const explore_step_t *st)
{
  const explore__action_t *a = &explore__actions[st->action];
  int64_t later = m->now + b->backoff_max_ms + b->startup_delay_ms +
                  MODEL_STARTUP_MS;
  bool ead, nonzero;
  size_t i, n;

  if ((a->flags & EXPLORE__A_WORKER) && step_ends(st, &ead, &nonzero)) {
    model_remove(m, st->worker);
    if (replaced(b, ead, nonzero))
      model_add(m, later);
  }
  if (a->flags & (EXPLORE__A_FORKS | EXPLORE__A_RESTART))
    model_forks(m, a, st);
  /* cluster.disconnect() ends them all; only `always` brings them back */
  if (a->flags & EXPLORE__A_ALL_END) {
    n = m->n_alive;
    m->n_alive = 0;
    for (i = 0; b->respawn == SCENARIO_RESPAWN_ALWAYS && i < n; i++)
      model_add(m, later);
  }
  if (strncmp(a->name, "trigger-", 8) == 0)
    model_trigger(m);
}

/* ---------------------------------------------------------------------- */
/* Drawing                                                                 */

static bool applies(const explore_base_t *b, const model_t *m,
                    const explore__action_t *a, bool last)
{
  unsigned ids[64];

  if ((a->flags & EXPLORE__A_WORKER) && model_ready(m, ids) == 0)
    return false;
  if ((a->flags & EXPLORE__A_LAST) && !last)
    return false;
  /* one trigger at a time: two may fire on one worker, and the second
   * then acts on a worker gone */
  if (strncmp(a->name, "trigger-", 8) == 0 && m->chaos)
    return false;
  /* a second restart while one runs is refused */
  if ((a->flags & EXPLORE__A_RESTART) && m->restart_until > m->now)
    return false;
  /* the shared port is known once a base worker listened */
  if ((a->flags & EXPLORE__A_PORT) && !(b->http && b->workers > 0))
    return false;
  return true;
}

static size_t draw_action(explore__rng_t *r, const explore_base_t *b,
                          const model_t *m, bool last)
{
  unsigned total = 0;
  int64_t pick;
  size_t i;

  for (i = 0; i < explore__n_actions; i++)
    if (applies(b, m, &explore__actions[i], last))
      total += explore__actions[i].weight;
  pick = explore__rng_range(r, 0, (int64_t)total - 1);
  for (i = 0; i < explore__n_actions; i++) {
    if (!applies(b, m, &explore__actions[i], last))
      continue;
    if (pick < (int64_t)explore__actions[i].weight)
      return i;
    pick -= explore__actions[i].weight;
  }
  return explore__n_actions - 1;
}

/* None a third of the time, else short or long. */
static int64_t draw_delay(explore__rng_t *r, int64_t floor)
{
  int64_t d, kind = explore__rng_range(r, 0, 9);

  if (kind < 3)
    d = 0;
  else if (kind < 7)
    d = explore__rng_range(r, 5, 150);
  else
    d = explore__rng_range(r, 150, 800);
  return d < floor ? floor : d;
}

static void draw_step(explore__rng_t *r, const explore_base_t *b,
                      const explore_gen_opts_t *o, model_t *m, bool last,
                      explore_step_t *st)
{
  const explore__action_t *a;
  unsigned ids[64], k;
  size_t n;

  memset(st, 0, sizeof(*st));
  /* the delay first: which workers are there depends on it */
  st->delay_ms = draw_delay(r, o->min_delay_ms);
  m->now += st->delay_ms;
  st->action = (unsigned)draw_action(r, b, m, last);
  a = &explore__actions[st->action];
  if ((a->flags & EXPLORE__A_WORKER) && (n = model_ready(m, ids)) > 0)
    st->worker = ids[explore__rng_range(r, 0, (int64_t)n - 1)];
  for (k = 0; k < EXPLORE_MAX_PARAMS; k++)
    if (a->params[k].kind != EXPLORE__P_NONE)
      st->params[k] = explore__rng_range(r, a->params[k].lo, a->params[k].hi);
}

static void draw_load(explore__rng_t *r, const explore_base_t *b,
                      const explore_gen_opts_t *o, explore_schedule_t *out)
{
  int64_t coin = explore__rng_range(r, 0, 9);
  bool on = o->load == EXPLORE_LOAD_ALWAYS ||
            (o->load == EXPLORE_LOAD_RANDOM && coin < 4);

  /* drawn whatever the mode, so the actions do not depend on it */
  out->load_connections = (unsigned)explore__rng_range(r, 1, 4);
  out->load_keepalive = explore__rng_range(r, 0, 3) != 0;
  if (!on || !b->http || b->workers == 0)
    out->load_connections = 0;
}

void explore_generate(const explore_base_t *b, const explore_gen_opts_t *o,
                      uint64_t seed, uint64_t run, explore_schedule_t *out)
{
  explore__rng_t r;
  model_t m;
  unsigned n = o->steps, i;

  memset(out, 0, sizeof(*out));
  memset(&m, 0, sizeof(m));
  out->seed = seed;
  out->run = run;
  if (n > EXPLORE_MAX_STEPS)
    n = EXPLORE_MAX_STEPS;
  explore__rng_seed(&r, seed, run);
  draw_load(&r, b, o, out);
  m.next_id = 1;
  /* the base's workers have listened before the first action */
  for (i = 0; i < b->workers; i++)
    model_add(&m, -1000000);
  for (i = 0; i < n; i++) {
    draw_step(&r, b, o, &m, i + 1 == n, &out->steps[i]);
    model_apply(&m, b, &out->steps[i]);
  }
  out->n_steps = n;
  out->settle_ms = explore__rng_range(&r, 200, 800);
  if (out->settle_ms < o->min_delay_ms)
    out->settle_ms = o->min_delay_ms;
}

bool explore__kills_primary(const explore_base_t *b,
                            const explore_schedule_t *s)
{
  size_t i;

  for (i = 0; i < s->n_steps; i++) {
    const explore_step_t *st = &s->steps[i];
    const char *sig;
    int num;
    if (!(explore__actions[st->action].flags & EXPLORE__A_PSIGNAL))
      continue;
    sig = explore__step_signal(st);
    num = base_signal_from_name(sig);
    if (sig != NULL && explore__signal_kills(sig) &&
        !(num > 0 && num < 64 && (b->shutdown_signals >> num) & 1u))
      return true;
  }
  return false;
}

/* ---------------------------------------------------------------------- */
/* Texts                                                                   */

const char *explore__name(const explore_schedule_t *s, char *buf, size_t len)
{
  snprintf(buf, len, "explore-%llu-%llu", (unsigned long long)s->seed,
           (unsigned long long)s->run);
  return buf;
}

char *explore_schedule_text(const explore_schedule_t *s)
{
  base_buf_t b = BASE_BUF_INIT;
  size_t i;
  unsigned k;

  if (s->load_connections > 0)
    base_buf_appendf(&b, "load: %u connection%s%s\n", s->load_connections,
                     s->load_connections == 1 ? "" : "s",
                     s->load_keepalive ? ", keep-alive" : ", close");
  for (i = 0; i < s->n_steps; i++) {
    const explore_step_t *st = &s->steps[i];
    const explore__action_t *a = &explore__actions[st->action];
    base_buf_appendf(&b, "%zu. ", i + 1);
    if (st->delay_ms > 0)
      base_buf_appendf(&b, "after %lldms: ", (long long)st->delay_ms);
    base_buf_appends(&b, a->name);
    if (a->flags & EXPLORE__A_WORKER)
      base_buf_appendf(&b, " worker=%u", st->worker);
    for (k = 0; k < EXPLORE_MAX_PARAMS; k++) {
      char v[32];
      if (a->params[k].kind == EXPLORE__P_NONE)
        continue;
      base_buf_appendf(&b, " %s=%s", a->params[k].name,
                       explore__param_text(st, k, v, sizeof(v)));
    }
    base_buf_appends(&b, "\n");
  }
  base_buf_appendf(&b, "settle: %lldms\n", (long long)s->settle_ms);
  return base_buf_detach(&b);
}
