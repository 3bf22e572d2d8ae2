/*
 * ctl-signal.c - signal names as the protocol spells them.
 *
 * Exactly the names of Node's os.constants.signals on Linux, so that a
 * name one target accepts is accepted by every target ("TERM" or "15" are
 * not names).
 */
#include <signal.h>
#include <string.h>

#include "ctl.h"

static const struct {
  const char *name;
  int signum;
} ctl_signals[] = {
  { "SIGHUP", SIGHUP },       { "SIGINT", SIGINT },
  { "SIGQUIT", SIGQUIT },     { "SIGILL", SIGILL },
  { "SIGTRAP", SIGTRAP },     { "SIGABRT", SIGABRT },
  { "SIGIOT", SIGIOT },       { "SIGBUS", SIGBUS },
  { "SIGFPE", SIGFPE },       { "SIGKILL", SIGKILL },
  { "SIGUSR1", SIGUSR1 },     { "SIGSEGV", SIGSEGV },
  { "SIGUSR2", SIGUSR2 },     { "SIGPIPE", SIGPIPE },
  { "SIGALRM", SIGALRM },     { "SIGTERM", SIGTERM },
  { "SIGCHLD", SIGCHLD },     { "SIGSTKFLT", SIGSTKFLT },
  { "SIGCONT", SIGCONT },     { "SIGSTOP", SIGSTOP },
  { "SIGTSTP", SIGTSTP },     { "SIGTTIN", SIGTTIN },
  { "SIGTTOU", SIGTTOU },     { "SIGURG", SIGURG },
  { "SIGXCPU", SIGXCPU },     { "SIGXFSZ", SIGXFSZ },
  { "SIGVTALRM", SIGVTALRM }, { "SIGPROF", SIGPROF },
  { "SIGWINCH", SIGWINCH },   { "SIGIO", SIGIO },
  { "SIGPOLL", SIGPOLL },     { "SIGPWR", SIGPWR },
  { "SIGSYS", SIGSYS },
};

int ctl_signal_number(const char *name)
{
  if (name == NULL)
    return 0;
  for (size_t i = 0; i < sizeof(ctl_signals) / sizeof(ctl_signals[0]); i++)
    if (strcmp(name, ctl_signals[i].name) == 0)
      return ctl_signals[i].signum;
  return 0;
}
