/*
 * report-file.c - atomic replacement of an output file, so that a CI job
 * collecting the report (or a second writer after SIGINT) never reads half
 * a file.
 */
#include "report-internal.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int write_all(int fd, const char *data, size_t len)
{
  ssize_t n;

  while (len > 0) {
    n = write(fd, data, len);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    data += n;
    len -= (size_t)n;
  }
  return 0;
}

int report__file_replace(const char *path, const char *data, size_t len)
{
  static unsigned counter;
  char *tmp = NULL;
  size_t size;
  int fd = -1, rc, tries;

  if (path == NULL || *path == '\0' || (data == NULL && len))
    return UV_EINVAL;
  size = strlen(path) + 64;
  tmp = malloc(size);
  if (tmp == NULL)
    return UV_ENOMEM;
  /* Same directory as the target, so rename(2) stays atomic. O_EXCL with
   * a pid+counter name instead of mkstemp: mkstemp's 0600 would need a
   * racy umask() dance to become an ordinary 0644 report. */
  for (tries = 0; tries < 100; tries++) {
    snprintf(tmp, size, "%s.tmp.%ld.%u", path, (long)getpid(), counter++);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0 || errno != EEXIST)
      break;
  }
  if (fd < 0) {
    rc = -errno;
    goto out;
  }
  rc = write_all(fd, data, len);
  if (close(fd) != 0 && rc == 0)
    rc = -errno;
  fd = -1;
  if (rc == 0 && rename(tmp, path) != 0)
    rc = -errno;
  if (rc != 0)
    unlink(tmp);
out:
  free(tmp);
  return rc;
}

char *report__file_read(const char *path, size_t max, size_t *len, int *rc)
{
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  struct stat st;
  long n = -1;

  *rc = f == NULL ? -errno : 0;
  if (f == NULL)
    return NULL;
  if (fstat(fileno(f), &st) == 0 && !S_ISREG(st.st_mode)) {
    *rc = UV_EISDIR; /* a directory, a fifo: not a file to read whole */
    fclose(f);
    return NULL;
  }
  if (fseek(f, 0, SEEK_END) == 0)
    n = ftell(f);
  if (n < 0 || (size_t)n > max || fseek(f, 0, SEEK_SET) != 0 ||
      (buf = malloc((size_t)n + 1)) == NULL ||
      fread(buf, 1, (size_t)n, f) != (size_t)n) {
    *rc = n >= 0 && (size_t)n > max ? UV_EFBIG : UV_EIO;
    free(buf);
    buf = NULL;
  } else {
    buf[n] = '\0';
    if (len != NULL)
      *len = (size_t)n;
  }
  fclose(f);
  return buf;
}
