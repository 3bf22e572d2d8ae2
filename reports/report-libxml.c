/*
 * report-libxml.c - finds libxml2's functions with dlopen/dlsym on first
 * use (report-internal.h says why the executable does not link it).
 */
#include "report-internal.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

/* dlsym hands back function addresses as void *; POSIX guarantees the
 * round trip, and copying the bytes avoids ISO C's ban on the cast. */
_Static_assert(sizeof(void (*)(void)) == sizeof(void *),
               "function pointers and void * differ in size");

static report__libxml_t table;
const report__libxml_t *const report__lx = &table;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int load_rc;
static char load_error[256];

static int sym(void *h, const char *name, void *dst)
{
  void *p;

  dlerror();
  p = dlsym(h, name);
  if (p == NULL) {
    const char *e = dlerror();
    snprintf(load_error, sizeof(load_error), "%s",
             e ? e : REPORT_LIBXML_SONAME ": a symbol is missing");
    return UV_ENOSYS;
  }
  memcpy(dst, &p, sizeof(p));
  return 0;
}

static void load(void)
{
  /* RTLD_LOCAL: libxml2's symbols stay out of the global namespace, so
   * nothing else in the process binds to them by accident. */
  void *h = dlopen(REPORT_LIBXML_SONAME, RTLD_NOW | RTLD_LOCAL);

  if (h == NULL) {
    const char *e = dlerror();
    snprintf(load_error, sizeof(load_error), "%s",
             e ? e : REPORT_LIBXML_SONAME ": cannot be loaded");
    load_rc = UV_ENOSYS;
    return;
  }
#define REPORT_LIBXML_LOAD(name)                                             \
  if ((load_rc = sym(h, #name, &table.name)))                                \
    goto fail;
  REPORT_LIBXML_FUNCS(REPORT_LIBXML_LOAD)
#undef REPORT_LIBXML_LOAD
  if ((load_rc = sym(h, "xmlFree", &table.xmlFree_var)))
    goto fail;
  /* libxml2 asks for this once before use, from one thread: the once
   * control gives both. */
  table.xmlInitParser();
  return;
fail:
  /* A half-filled table is never used: report__lx only counts after a 0. */
  memset(&table, 0, sizeof(table));
  dlclose(h);
}

int report__libxml_load(void)
{
  if (pthread_once(&once, load) != 0)
    return UV_ENOSYS;
  return load_rc;
}

const char *report_libxml_error(void)
{
  return load_rc ? load_error : NULL;
}

void report__xml_free(void *p)
{
  if (p)
    (*table.xmlFree_var)(p);
}
