/*
 * hide-libxml.c - an LD_PRELOAD library that makes dlopen fail for
 * libxml2, so the tests can see what clustersim does on a machine
 * without it. The real dlopen is asked for a name that does not exist,
 * so dlerror() holds the text a missing library gives.
 */
#include <dlfcn.h>
#include <string.h>

void *dlopen(const char *file, int mode)
{
  void *(*real)(const char *, int);
  void *p = dlsym(RTLD_NEXT, "dlopen");

  /* dlsym gives a void *; copying the bytes avoids ISO C's ban on the
   * cast to a function pointer. */
  memcpy(&real, &p, sizeof(p));
  if (file && strncmp(file, "libxml2.so", 10) == 0)
    file = "libxml2-hidden-by-test.so.2";
  return real(file, mode);
}
