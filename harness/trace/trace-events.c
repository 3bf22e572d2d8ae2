/* The event vocabulary: the names of TRACE_EV_MAP, looked up both ways. */
#include "trace.h"

#include <string.h>

static const char *const ev_names[TRACE_EV_COUNT] = {
  [TRACE_EV_NONE] = "",
#define XX(ID, name, src, cluster_only) [TRACE_EV_##ID] = name,
  TRACE_EV_MAP(XX)
#undef XX
};

/* The suggestions want the names without the empty one of TRACE_EV_NONE,
 * NULL-terminated: the same table from its second entry. */
static const char *const suggest_names[TRACE_EV_COUNT] = {
#define XX(ID, name, src, cluster_only) name,
  TRACE_EV_MAP(XX)
#undef XX
};

static const bool ev_cluster_only[TRACE_EV_COUNT] = {
#define XX(ID, name, src, cluster_only) [TRACE_EV_##ID] = cluster_only,
  TRACE_EV_MAP(XX)
#undef XX
};

const char *const *trace_ev_names(void)
{
  return suggest_names;
}

trace_ev_t trace_ev_from_name(const char *name)
{
  int i;

  if (name == NULL)
    return TRACE_EV_NONE;
  for (i = 1; i < TRACE_EV_COUNT; i++)
    if (strcmp(ev_names[i], name) == 0)
      return (trace_ev_t)i;
  return TRACE_EV_NONE;
}

const char *trace_ev_name(trace_ev_t ev)
{
  if ((int)ev < 0 || ev >= TRACE_EV_COUNT)
    return "?";
  return ev_names[ev];
}

bool trace_event_is(const trace_event_t *e, trace_ev_t ev, bool cluster)
{
  if (e->ev != ev || ev == TRACE_EV_NONE)
    return false;
  if (e->src != TRACE_SRC_AGENT)
    return !cluster;
  if (cluster)
    return e->cluster_emitter;
  return e->cluster_emitter == ev_cluster_only[ev];
}
