/*
 * report-xml.c - thin wrappers over libxml2's xmlTextWriter: every piece of
 * text goes through report__text_clean first, because xmlwriter escapes
 * markup but passes control characters and broken UTF-8 straight through.
 * report__xml_new loads libxml2 (report-internal.h); the other calls only
 * ever see a writer it made.
 */
#include "report-internal.h"

#include <stdarg.h>
#include <stdlib.h>

#define X(s) ((const xmlChar *)(s))

static int ok(int n)
{
  return n < 0 ? UV_EIO : 0;
}

int report__xml_new(xmlBufferPtr *buf, xmlTextWriterPtr *w)
{
  int rc;

  *w = NULL;
  *buf = NULL;
  if ((rc = report__libxml_load()))
    return rc;
  *buf = report__lx->xmlBufferCreate();
  if (*buf == NULL)
    return UV_ENOMEM;
  *w = report__lx->xmlNewTextWriterMemory(*buf, 0);
  if (*w == NULL) {
    report__lx->xmlBufferFree(*buf);
    *buf = NULL;
    return UV_ENOMEM;
  }
  return 0;
}

void report__xml_abort(xmlBufferPtr buf, xmlTextWriterPtr w)
{
  if (w)
    report__lx->xmlFreeTextWriter(w);
  if (buf)
    report__lx->xmlBufferFree(buf);
}

int report__xml_finish(xmlBufferPtr buf, xmlTextWriterPtr w, const char *path)
{
  int rc;

  rc = ok(report__lx->xmlTextWriterEndDocument(w));
  /* The writer flushes into buf when freed. */
  report__lx->xmlFreeTextWriter(w);
  if (rc == 0)
    rc = report__file_replace(
        path, (const char *)report__lx->xmlBufferContent(buf),
        (size_t)report__lx->xmlBufferLength(buf));
  report__lx->xmlBufferFree(buf);
  return rc;
}

int report__xml_start(xmlTextWriterPtr w, const char *name)
{
  return ok(report__lx->xmlTextWriterStartElement(w, X(name)));
}

int report__xml_end(xmlTextWriterPtr w)
{
  return ok(report__lx->xmlTextWriterEndElement(w));
}

int report__xml_end_full(xmlTextWriterPtr w)
{
  return ok(report__lx->xmlTextWriterFullEndElement(w));
}

int report__xml_attr(xmlTextWriterPtr w, const char *name, const char *value)
{
  char *clean = report__text_clean(value);
  int rc;

  if (clean == NULL)
    return UV_ENOMEM;
  rc = ok(report__lx->xmlTextWriterWriteAttribute(w, X(name), X(clean)));
  free(clean);
  return rc;
}

int report__xml_attrf(xmlTextWriterPtr w, const char *name, const char *fmt,
                     ...)
{
  char buf[512];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  return report__xml_attr(w, name, buf);
}

int report__xml_text(xmlTextWriterPtr w, const char *text)
{
  char *clean = report__text_clean(text);
  int rc;

  if (clean == NULL)
    return UV_ENOMEM;
  rc = ok(report__lx->xmlTextWriterWriteString(w, X(clean)));
  free(clean);
  return rc;
}

int report__xml_element(xmlTextWriterPtr w, const char *name,
                       const char *text)
{
  int rc;

  if ((rc = report__xml_start(w, name)) || (rc = report__xml_text(w, text)))
    return rc;
  return report__xml_end_full(w);
}
