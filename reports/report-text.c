/*
 * report-text.c - making arbitrary bytes (worker output, ANSI colours,
 * binary junk) safe for XML 1.0, HTML and terminals, and locale-proof
 * number and date formatting.
 */
#include "report-internal.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char hex[] = "0123456789abcdef";

static char *put_byte_escape(char *o, unsigned char b)
{
  *o++ = '\\';
  *o++ = 'x';
  *o++ = hex[b >> 4];
  *o++ = hex[b & 15];
  return o;
}

static char *put_u_escape(char *o, unsigned cp)
{
  int i;

  *o++ = '\\';
  *o++ = 'u';
  for (i = 12; i >= 0; i -= 4)
    *o++ = hex[(cp >> i) & 15];
  return o;
}

/* Length of an ANSI escape sequence at s (s[0] == ESC), 0 when it is not
 * one we recognise. Colours are noise in a report, so they go entirely. */
static size_t ansi_len(const unsigned char *s)
{
  size_t i;

  if (s[1] == '[') {
    for (i = 2; s[i] >= 0x20 && s[i] <= 0x3f; i++)
      ;
    return s[i] >= 0x40 && s[i] <= 0x7e ? i + 1 : 0;
  }
  if (s[1] == ']') {
    for (i = 2; s[i] != '\0'; i++) {
      if (s[i] == 0x07)
        return i + 1;
      if (s[i] == 0x1b && s[i + 1] == '\\')
        return i + 2;
    }
    return 0;
  }
  if (s[1] >= 0x40 && s[1] <= 0x5f)
    return 2;
  return 0;
}

/* Length of a valid UTF-8 sequence (RFC 3629: no overlongs, no surrogates,
 * nothing above U+10FFFF) at s, with its code point; 0 if invalid. */
static size_t utf8_len(const unsigned char *s, unsigned *cp)
{
  unsigned c = s[0];

  if (c >= 0xc2 && c <= 0xdf) {
    if ((s[1] & 0xc0) != 0x80)
      return 0;
    *cp = ((c & 0x1f) << 6) | (s[1] & 0x3f);
    return 2;
  }
  if (c >= 0xe0 && c <= 0xef) {
    unsigned lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
    if (s[1] < lo || s[1] > hi || (s[2] & 0xc0) != 0x80)
      return 0;
    *cp = ((c & 0x0f) << 12) | ((s[1] & 0x3fu) << 6) | (s[2] & 0x3f);
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    unsigned lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
    if (s[1] < lo || s[1] > hi || (s[2] & 0xc0) != 0x80 ||
        (s[3] & 0xc0) != 0x80)
      return 0;
    *cp = ((c & 0x07) << 18) | ((s[1] & 0x3fu) << 12) |
          ((s[2] & 0x3fu) << 6) | (s[3] & 0x3f);
    return 4;
  }
  return 0;
}

char *report__text_clean(const char *in)
{
  const unsigned char *s = (const unsigned char *)(in ? in : "");
  size_t len = strlen((const char *)s), n;
  char *out, *o;
  unsigned cp;

  /* Worst case: every byte becomes \xNN. */
  out = malloc(len * 4 + 1);
  if (out == NULL)
    return NULL;
  o = out;
  while (*s) {
    if (*s == 0x1b && (n = ansi_len(s)) > 0) {
      s += n;
    } else if (*s == '\r') {
      /* A lone CR (progress bars) would be lost by XML's newline
       * normalisation anyway; make it a line break. */
      if (s[1] != '\n')
        *o++ = '\n';
      s++;
    } else if (*s == '\t' || *s == '\n' || (*s >= 0x20 && *s < 0x7f)) {
      *o++ = (char)*s++;
    } else if (*s < 0x80) {
      o = put_byte_escape(o, *s++);
    } else if ((n = utf8_len(s, &cp)) > 0) {
      /* C1 controls and the two non-characters XML forbids are valid
       * UTF-8 but poison terminals and parsers. */
      if ((cp >= 0x80 && cp <= 0x9f) || cp == 0xfffe || cp == 0xffff) {
        o = put_u_escape(o, cp);
      } else {
        memcpy(o, s, n);
        o += n;
      }
      s += n;
    } else {
      o = put_byte_escape(o, *s++);
    }
  }
  *o = '\0';
  return out;
}

char *report__text_line(const char *in)
{
  char *s = report__text_clean(in), *nl;

  if (s && (nl = strchr(s, '\n')) != NULL)
    *nl = '\0';
  return s;
}

char *report__detail_rest(const char *reason, const char *detail)
{
  size_t rl = reason ? strlen(reason) : 0, n;
  const char *d = detail ? detail : "";

  /* A harness's detail lists every finding, and the first one is usually
   * the reason: shown twice in a row it reads as two failures. */
  if (rl > 0 && strncmp(d, reason, rl) == 0 &&
      (d[rl] == '\0' || d[rl] == '\n'))
    d += rl;
  while (*d == '\n')
    d++;
  n = strlen(d);
  while (n > 0 && d[n - 1] == '\n')
    n--;
  return strndup(d, n);
}

void report__fmt_seconds(char *buf, size_t size, double s)
{
  long long ms;

  /* Integer arithmetic, not %f: LC_NUMERIC may say ',' (junit #1225). */
  if (!(s > 0))
    s = 0;
  if (s > 1e12)
    s = 1e12;
  ms = (long long)(s * 1000.0 + 0.5);
  snprintf(buf, size, "%lld.%03lld", ms / 1000, ms % 1000);
}

void report__fmt_iso(char *buf, size_t size, int64_t unix_ns)
{
  time_t t = (time_t)(unix_ns / 1000000000);
  struct tm tm;

  if (gmtime_r(&t, &tm) == NULL ||
      strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    snprintf(buf, size, "1970-01-01T00:00:00Z");
}

void report__str_cat(char **s, const char *fmt, ...)
{
  va_list ap;
  size_t old;
  char *p;
  int n;

  if (*s == NULL)
    return;
  old = strlen(*s);
  va_start(ap, fmt);
  n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  p = n < 0 ? NULL : realloc(*s, old + (size_t)n + 1);
  if (p == NULL) {
    free(*s);
    *s = NULL;
    return;
  }
  va_start(ap, fmt);
  vsnprintf(p + old, (size_t)n + 1, fmt, ap);
  va_end(ap);
  *s = p;
}
