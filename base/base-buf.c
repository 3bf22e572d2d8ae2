/*
 * base-buf.c - growable byte buffers and arrays: the one place where
 * clustersim doubles a capacity and checks the multiplication.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"

void base_buf_init(base_buf_t *b)
{
  memset(b, 0, sizeof(*b));
}

int base_buf_reserve(base_buf_t *b, size_t more)
{
  size_t need, cap;
  char *p;

  /* One byte more than asked for: the NUL after len. */
  if (more > SIZE_MAX - 1 - b->len)
    return UV_ENOMEM;
  need = b->len + more + 1;
  if (need <= b->cap)
    return 0;
  cap = b->cap > 0 ? b->cap : 64;
  while (cap < need)
    cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  p = realloc(b->base, cap);
  if (p == NULL)
    return UV_ENOMEM;
  b->base = p;
  b->cap = cap;
  return 0;
}

int base_buf_append(base_buf_t *b, const void *p, size_t n)
{
  int err = base_buf_reserve(b, n);

  if (err != 0)
    return err;
  if (n > 0)
    memcpy(b->base + b->len, p, n);
  b->len += n;
  b->base[b->len] = '\0';
  return 0;
}

int base_buf_appends(base_buf_t *b, const char *s)
{
  return base_buf_append(b, s, strlen(s));
}

int base_buf_vappendf(base_buf_t *b, const char *fmt, va_list ap)
{
  va_list aq;
  int n, err;

  va_copy(aq, ap);
  n = vsnprintf(NULL, 0, fmt, aq);
  va_end(aq);
  if (n < 0)
    return UV_EINVAL;
  err = base_buf_reserve(b, (size_t)n);
  if (err != 0)
    return err;
  vsnprintf(b->base + b->len, (size_t)n + 1, fmt, ap);
  b->len += (size_t)n;
  return 0;
}

int base_buf_appendf(base_buf_t *b, const char *fmt, ...)
{
  va_list ap;
  int err;

  va_start(ap, fmt);
  err = base_buf_vappendf(b, fmt, ap);
  va_end(ap);
  return err;
}

void base_buf_reset(base_buf_t *b)
{
  b->len = 0;
  if (b->base != NULL)
    b->base[0] = '\0';
}

char *base_buf_detach(base_buf_t *b)
{
  char *s = b->base;

  if (s == NULL)
    s = calloc(1, 1);
  memset(b, 0, sizeof(*b));
  return s;
}

void base_buf_free(base_buf_t *b)
{
  free(b->base);
  memset(b, 0, sizeof(*b));
}

int base_array_grow(void *arrayp, size_t *cap, size_t need, size_t elem)
{
  size_t n;
  void *items;

  if (need <= *cap)
    return 0;
  n = *cap > 0 ? *cap : 8;
  while (n < need)
    n = n > SIZE_MAX / 2 ? need : n * 2;
  if (elem == 0 || n > SIZE_MAX / elem)
    return UV_ENOMEM;
  /* The pointer goes through memcpy: `arrayp` is a T **, not a void **. */
  memcpy(&items, arrayp, sizeof(items));
  items = realloc(items, n * elem);
  if (items == NULL)
    return UV_ENOMEM;
  memcpy(arrayp, &items, sizeof(items));
  *cap = n;
  return 0;
}
