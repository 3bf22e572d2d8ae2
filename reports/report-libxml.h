/*
 * report-libxml.h - libxml2, loaded with dlopen the first time a JUnit
 * file or an HTML page is written or JUnit files are merged. The clustersim
 * executable does not link libxml2: libxml2 brings ICU and libstdc++, and
 * loading them would add milliseconds to every process start, cluster
 * workers included, which never write a report.
 *
 * The module is compiled against libxml2's headers for its types and
 * constants, and calls libxml2 only through report_lx, so that a direct
 * call shows up as an undefined symbol when clustersim is linked.
 */
#ifndef REPORT_LIBXML_H
#define REPORT_LIBXML_H

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlwriter.h>

#ifdef LIBXML_THREAD_ALLOC_ENABLED
/* xmlFree would then be a per-thread value behind __xmlFree(), not the
 * process-wide variable that report-libxml.c looks up. */
#error "libxml2 built with LIBXML_THREAD_ALLOC_ENABLED is not supported"
#endif

/* The soname dlopen asks for: the ABI of the headers we compile against. */
#define REPORT_LIBXML_SONAME "libxml2.so.2"

/* Every libxml2 function the module calls. */
#define REPORT_LIBXML_FUNCS(F)                                               \
  F(xmlInitParser)                                                           \
  F(xmlBufferCreate)                                                         \
  F(xmlBufferFree)                                                           \
  F(xmlBufferContent)                                                        \
  F(xmlBufferLength)                                                         \
  F(xmlNewTextWriterMemory)                                                  \
  F(xmlFreeTextWriter)                                                       \
  F(xmlTextWriterSetIndent)                                                  \
  F(xmlTextWriterSetIndentString)                                            \
  F(xmlTextWriterStartDocument)                                              \
  F(xmlTextWriterEndDocument)                                                \
  F(xmlTextWriterStartElement)                                               \
  F(xmlTextWriterEndElement)                                                 \
  F(xmlTextWriterFullEndElement)                                             \
  F(xmlTextWriterWriteAttribute)                                             \
  F(xmlTextWriterWriteString)                                                \
  F(xmlTextWriterWriteRaw)                                                   \
  F(xmlReadFile)                                                             \
  F(xmlNewDoc)                                                               \
  F(xmlFreeDoc)                                                              \
  F(xmlDocGetRootElement)                                                    \
  F(xmlDocSetRootElement)                                                    \
  F(xmlDocDumpFormatMemoryEnc)                                               \
  F(xmlNewDocNode)                                                           \
  F(xmlDocCopyNode)                                                          \
  F(xmlAddChild)                                                             \
  F(xmlUnlinkNode)                                                           \
  F(xmlFreeNode)                                                             \
  F(xmlGetProp)                                                              \
  F(xmlHasProp)                                                              \
  F(xmlSetProp)                                                              \
  F(xmlUnsetProp)                                                            \
  F(xmlStrEqual)

/* Members carry libxml2's names and types, so calls read as libxml2 calls:
 * report_lx->xmlReadFile(...). */
typedef struct {
#define REPORT_LIBXML_MEMBER(name) __typeof__(name) *name;
  REPORT_LIBXML_FUNCS(REPORT_LIBXML_MEMBER)
#undef REPORT_LIBXML_MEMBER
  /* libxml2's xmlFree is a variable holding the deallocator (xmlMemSetup
   * may change it), so the table keeps its address and reads it at each
   * call: see report_xml_free. */
  xmlFreeFunc *xmlFree_var;
} report_libxml_t;

/* Loads libxml2 and runs xmlInitParser, once per process (thread-safe).
 * 0, or UV_ENOSYS when libxml2 cannot be loaded or lacks a function; the
 * outcome of the first call is kept. */
int report_libxml_load(void);

/* Why report_libxml_load failed (dlerror's text), or NULL when it did not
 * fail. */
const char *report_libxml_error(void);

/* The functions; filled only once report_libxml_load has returned 0. */
extern const report_libxml_t *const report_lx;

/* xmlFree(p) for memory libxml2 handed out. */
void report_xml_free(void *p);

#endif
