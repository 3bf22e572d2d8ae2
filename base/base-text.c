/*
 * base-text.c - text that came from elsewhere (a scenario file, an agent,
 * a recorded trace), made safe to print on one line of a terminal.
 */
#include <stdlib.h>
#include <string.h>

#include "base.h"

static const char hex[] = "0123456789abcdef";

/* The length of a valid UTF-8 sequence at s (RFC 3629), its code point in
 * *cp; 0 if there is none. `s` is NUL-terminated. */
static size_t utf8_at(const unsigned char *s, unsigned *cp)
{
  unsigned c = s[0], lo = 0x80, hi = 0xbf;
  size_t n, i;

  n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3
      : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
  if (n == 0)
    return 0;
  lo = c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : lo;
  hi = c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : hi;
  if (s[1] < lo || s[1] > hi)
    return 0;
  *cp = c & (0x7fu >> n);
  for (i = 1; i < n; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    *cp = (*cp << 6) | (s[i] & 0x3fu);
  }
  return n;
}

/* Code points a terminal would act on rather than show: C1 controls, the
 * bidirectional controls that reorder what follows (Trojan Source), and
 * the line and paragraph separators. */
static bool acts(unsigned cp)
{
  return (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c || cp == 0x200e ||
         cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
         (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 || cp == 0x2029;
}

char *base_text_escape(const char *in)
{
  const unsigned char *s = (const unsigned char *)(in ? in : "");
  char *out = malloc(strlen((const char *)s) * 4 + 1), *o = out;
  unsigned cp = 0;
  size_t n = 0;

  if (out == NULL)
    return NULL;
  while (*s) {
    if (*s >= 0x20 && *s < 0x7f) {
      *o++ = (char)*s++;
    } else if (*s >= 0x80 && (n = utf8_at(s, &cp)) > 0 && !acts(cp)) {
      memcpy(o, s, n);
      o += n;
      s += n;
    } else if (*s >= 0x80 && n > 0) {
      /* \uXXXX takes 6 bytes for at least 2 of input */
      *o++ = '\\';
      *o++ = 'u';
      *o++ = hex[(cp >> 12) & 15];
      *o++ = hex[(cp >> 8) & 15];
      *o++ = hex[(cp >> 4) & 15];
      *o++ = hex[cp & 15];
      s += n;
    } else {
      *o++ = '\\';
      *o++ = 'x';
      *o++ = hex[*s >> 4];
      *o++ = hex[*s & 15];
      s++;
    }
  }
  *o = '\0';
  return out;
}
