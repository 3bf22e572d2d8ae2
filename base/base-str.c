/*
 * base-str.c - strings, diagnostics, durations and did-you-mean
 * suggestions.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"

char *base_vasprintf(const char *fmt, va_list ap)
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

char *base_asprintf(const char *fmt, ...)
{
  va_list ap;
  char *s;

  va_start(ap, fmt);
  s = base_vasprintf(fmt, ap);
  va_end(ap);
  return s;
}

char *base_strdup(const char *s)
{
  return s == NULL ? NULL : strdup(s);
}

void base_diag_init(base_diag_t *d)
{
  memset(d, 0, sizeof(*d));
}

void base_diag_free(base_diag_t *d)
{
  size_t i;

  for (i = 0; i < d->count; i++)
    free(d->lines[i]);
  free(d->lines);
  memset(d, 0, sizeof(*d));
}

int base_diag_addf(base_diag_t *d, const char *fmt, ...)
{
  va_list ap;
  char *s;

  if (d == NULL)
    return 0;
  if (base_array_grow(&d->lines, &d->cap, d->count + 1,
                      sizeof(*d->lines)) != 0)
    return UV_ENOMEM;
  va_start(ap, fmt);
  s = base_vasprintf(fmt, ap);
  va_end(ap);
  if (s == NULL)
    return UV_ENOMEM;
  d->lines[d->count++] = s;
  return 0;
}


/* ---------------------------------------------------------------------- */

int base_duration_parse(const char *text, int64_t *ms)
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

const char *base_suggest(const char *word, const char *const *candidates)
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

