/*
 * report-xml.c - thin wrappers over libxml2's xmlTextWriter: every piece of
 * text goes through report_text_clean first, because xmlwriter escapes
 * markup but passes control characters and broken UTF-8 straight through.
 * report_xml_new loads libxml2 (report-libxml.h); the other calls only
 * ever see a writer it made.
 */
#include "report-libxml.h"
#include "report-internal.h"

#include <stdarg.h>
#include <stdlib.h>

#define X(s) ((const xmlChar *)(s))

static int ok(int n)
{
  return n < 0 ? UV_EIO : 0;
}

int report_xml_new(xmlBufferPtr *buf, xmlTextWriterPtr *w)
{
  int rc;

  *w = NULL;
  *buf = NULL;
  if ((rc = report_libxml_load()))
    return rc;
  *buf = report_lx->xmlBufferCreate();
  if (*buf == NULL)
    return UV_ENOMEM;
  *w = report_lx->xmlNewTextWriterMemory(*buf, 0);
  if (*w == NULL) {
    report_lx->xmlBufferFree(*buf);
    *buf = NULL;
    return UV_ENOMEM;
  }
  return 0;
}

void report_xml_abort(xmlBufferPtr buf, xmlTextWriterPtr w)
{
  if (w)
    report_lx->xmlFreeTextWriter(w);
  if (buf)
    report_lx->xmlBufferFree(buf);
}

int report_xml_finish(xmlBufferPtr buf, xmlTextWriterPtr w, const char *path)
{
  int rc;

  rc = ok(report_lx->xmlTextWriterEndDocument(w));
  /* The writer flushes into buf when freed. */
  report_lx->xmlFreeTextWriter(w);
  if (rc == 0)
    rc = report_file_replace(
        path, (const char *)report_lx->xmlBufferContent(buf),
        (size_t)report_lx->xmlBufferLength(buf));
  report_lx->xmlBufferFree(buf);
  return rc;
}

int report_xml_start(xmlTextWriterPtr w, const char *name)
{
  return ok(report_lx->xmlTextWriterStartElement(w, X(name)));
}

int report_xml_end(xmlTextWriterPtr w)
{
  return ok(report_lx->xmlTextWriterEndElement(w));
}

int report_xml_end_full(xmlTextWriterPtr w)
{
  return ok(report_lx->xmlTextWriterFullEndElement(w));
}

int report_xml_attr(xmlTextWriterPtr w, const char *name, const char *value)
{
  char *clean = report_text_clean(value);
  int rc;

  if (clean == NULL)
    return UV_ENOMEM;
  rc = ok(report_lx->xmlTextWriterWriteAttribute(w, X(name), X(clean)));
  free(clean);
  return rc;
}

int report_xml_attrf(xmlTextWriterPtr w, const char *name, const char *fmt,
                     ...)
{
  char buf[512];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  return report_xml_attr(w, name, buf);
}

int report_xml_text(xmlTextWriterPtr w, const char *text)
{
  char *clean = report_text_clean(text);
  int rc;

  if (clean == NULL)
    return UV_ENOMEM;
  rc = ok(report_lx->xmlTextWriterWriteString(w, X(clean)));
  free(clean);
  return rc;
}

int report_xml_element(xmlTextWriterPtr w, const char *name,
                       const char *text)
{
  int rc;

  if ((rc = report_xml_start(w, name)) || (rc = report_xml_text(w, text)))
    return rc;
  return report_xml_end_full(w);
}
