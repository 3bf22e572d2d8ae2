/*
 * base-lines.c - newline-delimited lines out of stream reads, bounded
 * (base.h explains the contract).
 */
#include <string.h>

#include "base.h"

/* A buffer this big after a long line is given back rather than kept for
 * the lifetime of the stream. */
#define BASE_LINES_KEEP (64u * 1024u)

void base_lines_init(base_lines_t *r, size_t max, base_lines_cb cb)
{
  memset(r, 0, sizeof(*r));
  r->max = max > 0 ? max : 1;
  r->cb = cb;
}

void base_lines_free(base_lines_t *r)
{
  base_buf_free(&r->partial);
  r->dropping = 0;
}

size_t base_lines_pending(const base_lines_t *r)
{
  return r->partial.len + r->dropping;
}

/* The line being read is dropped: said once, then skipped to its end. */
static int base_lines_drop(base_lines_t *r, int status, size_t seen)
{
  r->dropping = seen > 0 ? seen : 1;
  base_buf_reset(&r->partial);
  return r->cb(r, status, NULL, seen);
}

/* The bytes [p, p + n) end a line (its '\n' is at p + n). */
static int base_lines_end(base_lines_t *r, const char *p, size_t n)
{
  size_t len;
  int rc;

  if (r->dropping > 0) {
    r->dropping = 0;
    return 0;
  }
  if (r->partial.len == 0)
    return n > r->max ? r->cb(r, UV_E2BIG, NULL, n) : r->cb(r, 0, p, n);
  len = r->partial.len + n;
  if (len > r->max) {
    base_buf_reset(&r->partial);
    return r->cb(r, UV_E2BIG, NULL, len);
  }
  if (base_buf_append(&r->partial, p, n) != 0) {
    base_buf_reset(&r->partial);
    return r->cb(r, UV_ENOMEM, NULL, len);
  }
  /* Emptied before the call: the callback may free the reader. */
  r->partial.len = 0;
  rc = r->cb(r, 0, r->partial.base, len);
  if (rc == 0 && r->partial.cap > BASE_LINES_KEEP)
    base_buf_free(&r->partial);
  return rc;
}

/* The bytes [p, p + n) are the start of a line whose end is yet to come. */
static int base_lines_keep(base_lines_t *r, const char *p, size_t n)
{
  size_t seen;

  if (r->dropping > 0) {
    r->dropping += n;
    return 0;
  }
  seen = r->partial.len + n;
  if (seen > r->max)
    return base_lines_drop(r, UV_E2BIG, seen);
  if (base_buf_append(&r->partial, p, n) != 0)
    return base_lines_drop(r, UV_ENOMEM, seen);
  return 0;
}

int base_lines_feed(base_lines_t *r, const char *p, size_t n)
{
  const char *end = p + n;
  int rc;

  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));

    if (nl == NULL)
      return base_lines_keep(r, p, (size_t)(end - p));
    rc = base_lines_end(r, p, (size_t)(nl - p));
    if (rc != 0)
      return rc;
    p = nl + 1;
  }
  return 0;
}
