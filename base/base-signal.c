/* The one table of signal names (POSIX names only, no numbers). */
#include "base.h"

#include <ctype.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


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

const char *const *base_signal_names(void)
{
  static const char *list[N_SIGNALS + 1];
  size_t i;

  if (list[0] == NULL)
    for (i = 0; i < N_SIGNALS; i++)
      list[i] = signals[i].name;
  return list;
}

int base_signal_from_name(const char *name)
{
  size_t i;

  if (name == NULL)
    return 0;
  for (i = 0; i < N_SIGNALS; i++)
    if (strcmp(signals[i].name, name) == 0)
      return signals[i].num;
  return 0;
}

const char *base_signal_name(int signum)
{
  size_t i;

  for (i = 0; i < N_SIGNALS; i++)
    if (signals[i].num == signum)
      return signals[i].name;
  return NULL;
}

