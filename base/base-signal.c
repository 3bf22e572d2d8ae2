/*
 * base-signal.c - the one table of signal names (BASE_SIGNAL_MAP): the
 * scenario loader, the harness, the C cluster and the agents all read it.
 */
#include <signal.h>
#include <string.h>

#include "base.h"

static const struct {
  const char *name;
  int signum;
} base_signals[] = {
#define XX(name) { #name, name },
  BASE_SIGNAL_MAP(XX)
#undef XX
};

#define BASE_NSIGNALS (sizeof(base_signals) / sizeof(base_signals[0]))

static const char *const base_signal_name_list[] = {
#define XX(name) #name,
  BASE_SIGNAL_MAP(XX)
#undef XX
  NULL
};

const char *const *base_signal_names(void)
{
  return base_signal_name_list;
}

int base_signal_from_name(const char *name)
{
  size_t i;

  if (name == NULL)
    return 0;
  for (i = 0; i < BASE_NSIGNALS; i++)
    if (strcmp(base_signals[i].name, name) == 0)
      return base_signals[i].signum;
  return 0;
}

const char *base_signal_name(int signum)
{
  size_t i;

  /* The first entry for a number is the name Node reports for it. */
  for (i = 0; i < BASE_NSIGNALS; i++)
    if (base_signals[i].signum == signum)
      return base_signals[i].name;
  return NULL;
}
