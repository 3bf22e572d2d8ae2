/*
 * sim-json.c - writing cJSON values onto a channel's output buffer.
 *
 * The bytes are exactly those of cJSON_PrintUnformatted() (the channel's
 * wire format has always been cJSON's), written straight into the buffer
 * that goes to the socket instead of a string of their own, with one
 * fix (json_same_double()). What is done differently is how: cJSON
 * formats every number with "%1.15g" and checks it with sscanf(), which
 * costs more than the rest of a small message; an integral value of at
 * most 15 digits prints the same digits either way, so it is written
 * directly. Parsing stays cJSON's.
 */
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim-internal.h"

int sim__buf_reserve(sim__buf_t *b, size_t n)
{
  size_t cap;
  char *p;

  if (b->cap - b->len >= n)
    return 0;
  if (n > SIZE_MAX / 2 - b->len)
    return UV_ENOMEM;
  cap = b->cap != 0 ? b->cap : 256;
  while (cap - b->len < n)
    cap *= 2;
  p = realloc(b->data, cap);
  if (p == NULL)
    return UV_ENOMEM;
  b->data = p;
  b->cap = cap;
  return 0;
}

int sim__buf_append(sim__buf_t *b, const char *s, size_t n)
{
  if (sim__buf_reserve(b, n) != 0)
    return UV_ENOMEM;
  memcpy(b->data + b->len, s, n);
  b->len += n;
  return 0;
}

void sim__buf_free(sim__buf_t *b)
{
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

/* ---------------------------------------------------------------------- */
/* Numbers                                                                 */

/* cJSON's compare_double(): equal within DBL_EPSILON, relatively. Unlike
 * cJSON, a text that reads back as infinity is not "the same" as the
 * largest doubles (cJSON writes 1.79769313486232e+308 for DBL_MAX, which
 * every reader, Node's included, takes for Infinity). */
static int json_same_double(double a, double b)
{
  double max = fabs(a) > fabs(b) ? fabs(a) : fabs(b);

  if (isinf(a) || isinf(b))
    return 0;
  return fabs(a - b) <= max * 2.220446049250313e-16;
}

/* The digits of an integer whose magnitude is below 1e15. */
static size_t json_integer(char *out, double d)
{
  char tmp[24];
  unsigned long long u;
  size_t n = 0, len = 0;

  if (signbit(d)) {
    out[len++] = '-';
    d = -d;
  }
  u = (unsigned long long)d;
  do {
    tmp[n++] = (char)('0' + u % 10);
    u /= 10;
  } while (u != 0);
  while (n > 0)
    out[len++] = tmp[--n];
  return len;
}

static int json_number(sim__buf_t *b, double d)
{
  char num[32];
  int len;

  if (sim__buf_reserve(b, sizeof(num)) != 0)
    return UV_ENOMEM;
  if (isnan(d) || isinf(d)) {
    memcpy(b->data + b->len, "null", 4);
    b->len += 4;
    return 0;
  }
  if (fabs(d) < 1e15 && d == floor(d)) {
    /* "%1.15g" of such a value is its digits ("-0" for minus zero). */
    b->len += json_integer(b->data + b->len, d);
    return 0;
  }
  len = snprintf(num, sizeof(num), "%1.15g", d);
  if (len > 0 && !json_same_double(strtod(num, NULL), d))
    len = snprintf(num, sizeof(num), "%1.17g", d);
  if (len <= 0 || (size_t)len >= sizeof(num))
    return UV_EINVAL;
  /* As cJSON: the locale's decimal point becomes '.'. */
  for (int i = 0; i < len; i++)
    if (num[i] == localeconv()->decimal_point[0])
      num[i] = '.';
  memcpy(b->data + b->len, num, (size_t)len);
  b->len += (size_t)len;
  return 0;
}

/* ---------------------------------------------------------------------- */
/* Strings                                                                 */

static const char json_hex[] = "0123456789abcdef";

/* print_string_ptr(): "\"", the named escapes, \u00XX below 0x20. */
static int json_string(sim__buf_t *b, const char *s)
{
  const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");
  size_t n = strlen((const char *)p);
  char *o;

  /* At worst every byte becomes six. */
  if (n > (SIZE_MAX - 2) / 6 || sim__buf_reserve(b, n * 6 + 2) != 0)
    return UV_ENOMEM;
  o = b->data + b->len;
  *o++ = '"';
  for (; *p != '\0'; p++) {
    unsigned c = *p;
    if (c >= 0x20 && c != '"' && c != '\\') {
      *o++ = (char)c;
      continue;
    }
    *o++ = '\\';
    switch (c) {
    case '"': *o++ = '"'; break;
    case '\\': *o++ = '\\'; break;
    case '\b': *o++ = 'b'; break;
    case '\f': *o++ = 'f'; break;
    case '\n': *o++ = 'n'; break;
    case '\r': *o++ = 'r'; break;
    case '\t': *o++ = 't'; break;
    default:
      *o++ = 'u';
      *o++ = '0';
      *o++ = '0';
      *o++ = json_hex[c >> 4];
      *o++ = json_hex[c & 15];
      break;
    }
  }
  *o++ = '"';
  b->len = (size_t)(o - b->data);
  return 0;
}

/* ---------------------------------------------------------------------- */
/* Values                                                                  */

static int json_value(sim__buf_t *b, const cJSON *v);

static int json_container(sim__buf_t *b, const cJSON *v, int object)
{
  const cJSON *c;

  if (sim__buf_append(b, object ? "{" : "[", 1) != 0)
    return UV_ENOMEM;
  for (c = v->child; c != NULL; c = c->next) {
    if (c != v->child && sim__buf_append(b, ",", 1) != 0)
      return UV_ENOMEM;
    if (object && (json_string(b, c->string) != 0 ||
                   sim__buf_append(b, ":", 1) != 0))
      return UV_ENOMEM;
    if (json_value(b, c) != 0)
      return UV_EINVAL;
  }
  return sim__buf_append(b, object ? "}" : "]", 1);
}

static int json_value(sim__buf_t *b, const cJSON *v)
{
  switch (v->type & 0xff) {
  case cJSON_NULL:
    return sim__buf_append(b, "null", 4);
  case cJSON_False:
    return sim__buf_append(b, "false", 5);
  case cJSON_True:
    return sim__buf_append(b, "true", 4);
  case cJSON_Number:
    return json_number(b, v->valuedouble);
  case cJSON_String:
    return json_string(b, v->valuestring);
  case cJSON_Raw:
    if (v->valuestring == NULL)
      return UV_EINVAL;
    return sim__buf_append(b, v->valuestring, strlen(v->valuestring));
  case cJSON_Array:
    return json_container(b, v, 0);
  case cJSON_Object:
    return json_container(b, v, 1);
  default:
    return UV_EINVAL;
  }
}

int sim__json_print(sim__buf_t *b, const cJSON *v)
{
  size_t mark = b->len;
  int err = json_value(b, v);

  if (err != 0)
    b->len = mark;             /* nothing of a failed value stays */
  return err;
}
