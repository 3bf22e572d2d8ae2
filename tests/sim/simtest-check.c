/*
 * simtest-check.c - comparing a recorded life with what Node does.
 */
#include <string.h>

#include "simtest.h"

/* ---------------------------------------------------------------------- */
/* Expectations                                                            */

typedef struct {
  int type;
  int emitter;
  int ead, conn, dead, in_workers;
  int64_t code;
  int sig;
  const char *state;
} expect_t;

static int is_pair_type(int type)
{
  return type == SIM_EV_ONLINE || type == SIM_EV_LISTENING ||
         type == SIM_EV_DISCONNECT || type == SIM_EV_EXIT;
}

static int same_flags(const st_event_t *a, const st_event_t *b)
{
  return a->id == b->id && a->ead == b->ead && a->conn == b->conn &&
         a->dead == b->dead && a->in_workers == b->in_workers &&
         a->code == b->code && a->sig == b->sig && a->port == b->port &&
         strcmp(a->state, b->state) == 0 && strcmp(a->text, b->text) == 0;
}

void st_check_pairs(st_ctx_t *t)
{
  for (size_t i = 0; i < t->nev; i++) {
    const st_event_t *r = &t->ev[i];
    const st_event_t *next = i + 1 < t->nev ? &t->ev[i + 1] : NULL;
    const st_event_t *prev = i > 0 ? &t->ev[i - 1] : NULL;

    if (r->type >= (int)SIM_EV_MAX)
      continue;
    if (r->id != 0)
      TEST_CHECK(r->in_workers == r->in_map,
                 "event %zu (%s #%u): in_workers=%d but cluster.workers "
                 "lookup says %d", i, st_event_name(r->type), r->id,
                 r->in_workers, r->in_map);
    if (is_pair_type(r->type) && r->emitter == SIM_ON_WORKER)
      TEST_CHECK(next != NULL && next->type == r->type &&
                 next->emitter == SIM_ON_CLUSTER && same_flags(r, next),
                 "event %zu: worker:%s #%u is not followed at once by the "
                 "same cluster:%s", i, st_event_name(r->type), r->id,
                 st_event_name(r->type));
    if (is_pair_type(r->type) && r->emitter == SIM_ON_CLUSTER)
      TEST_CHECK(prev != NULL && prev->type == r->type &&
                 prev->emitter == SIM_ON_WORKER && prev->id == r->id,
                 "event %zu: cluster:%s #%u without the Worker event just "
                 "before it", i, st_event_name(r->type), r->id);
    if (r->type == SIM_EV_MESSAGE && r->emitter == SIM_ON_CLUSTER)
      TEST_CHECK(next != NULL && next->type == SIM_EV_MESSAGE &&
                 next->emitter == SIM_ON_WORKER && same_flags(r, next),
                 "event %zu: cluster:message #%u is not followed at once by "
                 "worker:message", i, r->id);
    if (r->type == SIM_EV_MESSAGE && r->emitter == SIM_ON_WORKER)
      TEST_CHECK(prev != NULL && prev->type == SIM_EV_MESSAGE &&
                 prev->emitter == SIM_ON_CLUSTER && prev->id == r->id,
                 "event %zu: worker:message #%u not preceded by "
                 "cluster:message", i, r->id);
    if (r->type == SIM_EV_ERROR)
      TEST_CHECK(r->emitter == SIM_ON_WORKER,
                 "event %zu: `error` on the cluster object (v20 has none)", i);
    if (r->type == SIM_EV_SETUP || r->type == SIM_EV_FORK)
      TEST_CHECK(r->emitter == SIM_ON_CLUSTER,
                 "event %zu: %s on a Worker", i, st_event_name(r->type));
  }
}

int st_count(const st_ctx_t *t, unsigned id, int type, int emitter)
{
  int n = 0;

  for (size_t i = 0; i < t->nev; i++)
    if ((id == 0 || t->ev[i].id == id) && t->ev[i].type == type &&
        (emitter == ST_ANY || t->ev[i].emitter == emitter))
      n++;
  return n;
}

int st_find(const st_ctx_t *t, unsigned id, int type, int emitter)
{
  for (size_t i = 0; i < t->nev; i++)
    if ((id == 0 || t->ev[i].id == id) && t->ev[i].type == type &&
        (emitter == ST_ANY || t->ev[i].emitter == emitter))
      return (int)i;
  return -1;
}

static void add2(expect_t *v, int *n, expect_t e)
{
  e.emitter = SIM_ON_WORKER;
  v[(*n)++] = e;
  e.emitter = SIM_ON_CLUSTER;
  v[(*n)++] = e;
}

static int flag_ok(int want, int got, int conn)
{
  if (want == ST_ANY)
    return 1;
  if (want == ST_AS_CONN)
    return got == conn;
  return want == got;
}

static void fmt_expect(char *out, size_t n, const expect_t *e)
{
  snprintf(out, n, "%s:%s ead=%d conn=%d dead=%d in=%d state=%s code=%lld "
                   "sig=%d",
           e->emitter == SIM_ON_WORKER ? "worker" : "cluster",
           st_event_name(e->type), e->ead, e->conn, e->dead, e->in_workers,
           e->state != NULL ? e->state : "*", (long long)e->code, e->sig);
}

static void fmt_event(char *out, size_t n, const st_event_t *r)
{
  snprintf(out, n, "%s:%s ead=%d conn=%d dead=%d in=%d state=%s code=%lld "
                   "sig=%d%s%s",
           r->emitter == SIM_ON_WORKER ? "worker" : "cluster",
           st_event_name(r->type), r->ead, r->conn, r->dead, r->in_workers,
           r->state, (long long)r->code, r->sig, r->text[0] ? " " : "",
           r->text);
}

void st_check_life(st_ctx_t *t, unsigned id, const st_life_t *L)
{
  expect_t v[64];
  const st_event_t *got[64];
  int n = 0, m = 0;
  int first_d = -1, first_e = -1;
  expect_t e;

  /* This worker's events, messages and markers aside. */
  for (size_t i = 0; i < t->nev && m < 64; i++) {
    const st_event_t *r = &t->ev[i];
    if (r->id != id || r->type == SIM_EV_MESSAGE || r->type >= SIM_EV_MAX)
      continue;
    if (r->type == SIM_EV_DISCONNECT && first_d < 0)
      first_d = m;
    if (r->type == SIM_EV_EXIT && first_e < 0)
      first_e = m;
    got[m++] = r;
  }

  memset(&e, 0, sizeof(e));
  e.code = ST_ANY;
  e.sig = ST_ANY;
  e.type = SIM_EV_FORK;
  e.emitter = SIM_ON_CLUSTER;
  e.ead = -1;
  e.conn = 1;
  e.dead = 0;
  e.in_workers = 1;
  e.state = "none";
  v[n++] = e;
  if (L->online) {
    e.type = SIM_EV_ONLINE;
    e.state = "online";
    add2(v, &n, e);
  }
  for (int i = 0; i < L->listening; i++) {
    e.type = SIM_EV_LISTENING;
    e.ead = L->ead_listening;
    e.state = "listening";
    add2(v, &n, e);
  }
  for (int i = 0; i < L->errors; i++) {
    e.type = SIM_EV_ERROR;
    e.emitter = SIM_ON_WORKER;
    e.ead = ST_ANY;
    e.conn = ST_ANY;
    e.dead = ST_ANY;
    e.in_workers = ST_ANY;
    e.state = NULL;
    v[n++] = e;
  }
  e.ead = L->ead;
  e.state = NULL;
  if (L->disconnect && L->exit && first_e >= 0 &&
      (first_d < 0 || first_e < first_d)) {
    /* `exit` first (Node guarantees no order between the two): the worker
     * is removed at `exit` only if it is already disconnected, and at
     * `disconnect` it is dead. */
    e.type = SIM_EV_EXIT;
    e.conn = ST_ANY;
    e.dead = 1;
    e.in_workers = L->removed_early ? 0 : ST_AS_CONN;
    e.code = L->code;
    e.sig = L->sig;
    e.state = "dead";
    add2(v, &n, e);
    e.type = SIM_EV_DISCONNECT;
    e.conn = 0;
    e.in_workers = 0;
    e.code = ST_ANY;
    e.sig = ST_ANY;
    e.state = "disconnected";
    add2(v, &n, e);
  } else {
    if (L->disconnect) {
      e.type = SIM_EV_DISCONNECT;
      e.conn = 0;
      e.dead = 0;
      e.in_workers = L->removed_early ? 0 : 1;
      e.state = "disconnected";
      add2(v, &n, e);
    }
    if (L->exit) {
      e.type = SIM_EV_EXIT;
      e.conn = 0;
      e.dead = 1;
      e.in_workers = 0;
      e.code = L->code;
      e.sig = L->sig;
      e.state = "dead";
      add2(v, &n, e);
    }
  }

  for (int i = 0; i < n || i < m; i++) {
    char want[256] = "(nothing)", have[700] = "(nothing)";
    int ok = i < n && i < m;

    if (i < n)
      fmt_expect(want, sizeof(want), &v[i]);
    if (i < m)
      fmt_event(have, sizeof(have), got[i]);
    if (ok) {
      const expect_t *x = &v[i];
      const st_event_t *r = got[i];
      ok = x->type == r->type && x->emitter == r->emitter &&
           flag_ok(x->ead, r->ead, r->conn) &&
           flag_ok(x->conn, r->conn, r->conn) &&
           flag_ok(x->dead, r->dead, r->conn) &&
           flag_ok(x->in_workers, r->in_workers, r->conn) &&
           (x->code == ST_ANY || x->code == r->code) &&
           (x->sig == ST_ANY || x->sig == r->sig) &&
           (x->state == NULL || strcmp(x->state, r->state) == 0);
      if (ok && r->type == SIM_EV_ERROR && L->error_code != NULL)
        ok = strcmp(r->text, L->error_code) == 0;
    }
    if (!ok) {
      TEST_CHECK(0, "worker #%u event %d: expected %s%s%s, got %s", id, i,
                 want, i < n && v[i].type == SIM_EV_ERROR && L->error_code
                   ? " " : "",
                 i < n && v[i].type == SIM_EV_ERROR && L->error_code
                   ? L->error_code : "", have);
      return;                  /* the rest would only repeat the shift */
    }
  }
}
