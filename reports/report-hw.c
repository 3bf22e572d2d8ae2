/*
 * report-hw.c - the HTML writer's element helpers: xmlTextWriter calls
 * with a sticky first error, so page code reads as the page it writes.
 */
#include "report-libxml.h"
#include "report-internal.h"

#include <stdarg.h>

#define X(s) ((const xmlChar *)(s))

void report_hw_start(report_hw_t *h, const char *name, const char *cls)
{
  if (h->rc == 0)
    h->rc = report_xml_start(h->w, name);
  if (h->rc == 0 && cls)
    h->rc = report_xml_attr(h->w, "class", cls);
}

void report_hw_attr(report_hw_t *h, const char *name, const char *value)
{
  if (h->rc == 0)
    h->rc = report_xml_attr(h->w, name, value);
}

void report_hw_attri(report_hw_t *h, const char *name, long v)
{
  if (h->rc == 0)
    h->rc = report_xml_attrf(h->w, name, "%ld", v);
}

void report_hw_text(report_hw_t *h, const char *s)
{
  if (h->rc == 0)
    h->rc = report_xml_text(h->w, s);
}

void report_hw_textf(report_hw_t *h, const char *fmt, ...)
{
  char buf[512];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  report_hw_text(h, buf);
}

void report_hw_end(report_hw_t *h)
{
  if (h->rc == 0)
    h->rc = report_xml_end_full(h->w);
}

void report_hw_end_svg(report_hw_t *h)
{
  if (h->rc == 0)
    h->rc = report_xml_end(h->w);
}

void report_hw_raw(report_hw_t *h, const char *s)
{
  if (h->rc == 0 && report_lx->xmlTextWriterWriteRaw(h->w, X(s)) < 0)
    h->rc = UV_EIO;
}

void report_hw_element(report_hw_t *h, const char *name, const char *cls,
                    const char *s)
{
  report_hw_start(h, name, cls);
  report_hw_text(h, s);
  report_hw_end(h);
}
