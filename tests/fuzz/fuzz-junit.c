/*
 * fuzz-junit.c - libFuzzer target for the JUnit merge parser
 * (report_junit_merge, reports/report-merge.c, on libxml2).
 *
 * The input is cut in two files at its first "\n--\n" (the whole input is
 * one file without it), merged in strict mode when its first byte is odd.
 * Whatever the files hold, the merge succeeds or fails with UV_EINVAL /
 * UV_EIO and writes nothing; what it wrote merges again to the very same
 * bytes (a merge is a fixed point). Anything else aborts.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[256];

static void put(const char *name, const void *p, size_t n)
{
  char path[300];
  FILE *f;

  snprintf(path, sizeof(path), "%s/%s", dir, name);
  f = fopen(path, "wb");
  if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0)
    abort();
}

static char *get(const char *name, size_t *n)
{
  char path[300], *buf;
  FILE *f;
  long len;

  snprintf(path, sizeof(path), "%s/%s", dir, name);
  f = fopen(path, "rb");
  if (f == NULL)
    return NULL;
  fseek(f, 0, SEEK_END);
  len = ftell(f);
  fseek(f, 0, SEEK_SET);
  buf = malloc((size_t)len + 1);
  if (buf == NULL || fread(buf, 1, (size_t)len, f) != (size_t)len)
    abort();
  fclose(f);
  *n = (size_t)len;
  return buf;
}

static void clean(void);

static void remove_dir(void)
{
  clean();
  rmdir(dir);
}

static void setup(void)
{
  const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

  snprintf(dir, sizeof(dir), "%s/clustersim-fuzz-junit-XXXXXX", base);
  if (mkdtemp(dir) == NULL)
    abort();
  atexit(remove_dir);
}

static void clean(void)
{
  char path[300];
  const char *const names[] = {"a.xml", "b.xml", "out.xml", "again.xml"};
  size_t i;

  for (i = 0; i < 4; i++) {
    snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
    unlink(path);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *cut = size ? memmem(data, size, "\n--\n", 4) : NULL;
  char a[300], b[300], out[300], again[300];
  const char *inputs[2] = {a, b}, *outs[1] = {out};
  bool strict = size > 0 && (data[0] & 1);
  size_t na = cut ? (size_t)(cut - (const char *)data) : size, n1, n2;
  char *m1, *m2;
  int rc;

  if (dir[0] == '\0')
    setup();
  snprintf(a, sizeof(a), "%s/a.xml", dir);
  snprintf(b, sizeof(b), "%s/b.xml", dir);
  snprintf(out, sizeof(out), "%s/out.xml", dir);
  snprintf(again, sizeof(again), "%s/again.xml", dir);
  put("a.xml", data, na);
  put("b.xml", cut ? cut + 4 : "", cut ? size - na - 4 : 0);
  rc = report_junit_merge(inputs, cut ? 2 : 1, out, strict);
  m1 = get("out.xml", &n1);
  if (rc != 0) {
    if ((rc != UV_EINVAL && rc != UV_EIO && rc != UV_ENOMEM) || m1 != NULL)
      abort();
  } else {
    if (m1 == NULL || report_junit_merge(outs, 1, again, strict) != 0 ||
        (m2 = get("again.xml", &n2)) == NULL)
      abort();
    if (n1 != n2 || memcmp(m1, m2, n1) != 0)
      abort();
    free(m2);
  }
  free(m1);
  clean();
  return 0;
}
