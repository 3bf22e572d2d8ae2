/*
 * report-hw.c - the HTML writer's element helpers: xmlTextWriter calls
 * with a sticky first error, so page code reads as the page it writes.
 */
#include "report-internal.h"

#include <stdarg.h>

#define X(s) ((const xmlChar *)(s))

void report__hw_start(report__hw_t *h, const char *name, const char *cls)
{
  if (h->rc == 0)
    h->rc = report__xml_start(h->w, name);
  if (h->rc == 0 && cls)
    h->rc = report__xml_attr(h->w, "class", cls);
}

void report__hw_attr(report__hw_t *h, const char *name, const char *value)
{
  if (h->rc == 0)
    h->rc = report__xml_attr(h->w, name, value);
}

void report__hw_attri(report__hw_t *h, const char *name, long v)
{
  if (h->rc == 0)
    h->rc = report__xml_attrf(h->w, name, "%ld", v);
}

void report__hw_text(report__hw_t *h, const char *s)
{
  if (h->rc == 0)
    h->rc = report__xml_text(h->w, s);
}

void report__hw_textf(report__hw_t *h, const char *fmt, ...)
{
  char buf[512];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  report__hw_text(h, buf);
}

void report__hw_end(report__hw_t *h)
{
  if (h->rc == 0)
    h->rc = report__xml_end_full(h->w);
}

void report__hw_end_svg(report__hw_t *h)
{
  if (h->rc == 0)
    h->rc = report__xml_end(h->w);
}

void report__hw_raw(report__hw_t *h, const char *s)
{
  if (h->rc == 0 && report__lx->xmlTextWriterWriteRaw(h->w, X(s)) < 0)
    h->rc = UV_EIO;
}

void report__hw_element(report__hw_t *h, const char *name, const char *cls,
                    const char *s)
{
  report__hw_start(h, name, cls);
  report__hw_text(h, s);
  report__hw_end(h);
}

void report__hw_page_end(report__hw_t *h, const char *js)
{
  report__hw_start(h, "script", NULL);
  report__hw_raw(h, js);
  report__hw_end(h);
  report__hw_end(h);
  report__hw_end(h);
  report__hw_raw(h, "\n");
}
