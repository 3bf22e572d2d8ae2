/*
 * sim-net.c - server handles as Node's net module makes them for cluster
 * (createServerHandle): TCP bound as Node binds it, UNIX-socket paths
 * resolved and shortened as child.js and primary.js do (path.resolve,
 * path.relative).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim-internal.h"

int sim__tcp_bind(uv_tcp_t *tcp, const char *address, int address_type,
                  int port, int flags)
{
  struct sockaddr_storage ss;
  unsigned uvflags = (flags & 1) ? UV_TCP_IPV6ONLY : 0;
  int err;

  if (address == NULL) {
    /* Node binds "::" and falls back to "0.0.0.0" where IPv6 is missing. */
    err = uv_ip6_addr("::", port, (struct sockaddr_in6 *)&ss);
    if (err == 0)
      err = uv_tcp_bind(tcp, (struct sockaddr *)&ss, uvflags);
    if (err != UV_EAFNOSUPPORT)
      return err;
    err = uv_ip4_addr("0.0.0.0", port, (struct sockaddr_in *)&ss);
    if (err != 0)
      return err;
    return uv_tcp_bind(tcp, (struct sockaddr *)&ss, 0);
  }
  if (address_type == 6 || strchr(address, ':') != NULL) {
    err = uv_ip6_addr(address, port, (struct sockaddr_in6 *)&ss);
  } else {
    err = uv_ip4_addr(address, port, (struct sockaddr_in *)&ss);
    uvflags = 0;
  }
  if (err != 0)
    return err;
  return uv_tcp_bind(tcp, (struct sockaddr *)&ss, uvflags);
}

cJSON *sim__tcp_sockname(uv_tcp_t *tcp)
{
  struct sockaddr_storage ss;
  int len = sizeof(ss);
  char ip[64] = "";
  int port = 0;
  const char *family = "IPv4";
  cJSON *o;

  if (uv_tcp_getsockname(tcp, (struct sockaddr *)&ss, &len) != 0)
    return NULL;
  if (ss.ss_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
    uv_ip6_name(a, ip, sizeof(ip));
    port = ntohs(a->sin6_port);
    family = "IPv6";
  } else {
    const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
    uv_ip4_name(a, ip, sizeof(ip));
    port = ntohs(a->sin_port);
  }
  o = cJSON_CreateObject();
  if (o == NULL)
    return NULL;
  cJSON_AddStringToObject(o, "address", ip);
  cJSON_AddStringToObject(o, "family", family);
  cJSON_AddNumberToObject(o, "port", port);
  return o;
}

/* ---------------------------------------------------------------------- */
/* UNIX sockets                                                            */

int sim__pipe_bind(uv_pipe_t *pipe, const char *path, int readable_all,
                   int writable_all)
{
  int mode = (readable_all ? UV_READABLE : 0) |
             (writable_all ? UV_WRITABLE : 0);
  int err = uv_pipe_bind(pipe, path);

  if (err == 0 && mode != 0)
    err = uv_pipe_chmod(pipe, mode);
  return err;
}

/* Appends the components of `p` to the `n` components in `v` (each a
 * pointer into a copy the caller owns), resolving "." and "..". */
static size_t path_push(char *p, char **v, size_t n, size_t cap)
{
  char *save = NULL;

  for (char *c = strtok_r(p, "/", &save); c != NULL;
       c = strtok_r(NULL, "/", &save)) {
    if (strcmp(c, ".") == 0)
      continue;
    if (strcmp(c, "..") == 0) {
      if (n > 0)
        n--;
      continue;
    }
    if (n < cap)
      v[n++] = c;
  }
  return n;
}

#define PATH_PARTS 512

/* The normalized components of `path` (relative to the cwd unless
 * absolute) into `v`; *bufs are the copies to free. */
static int path_parts(const char *path, char **v, size_t *n, char **bufs)
{
  char cwd[4096];

  bufs[0] = bufs[1] = NULL;
  *n = 0;
  if (path[0] != '/') {
    if (getcwd(cwd, sizeof(cwd)) == NULL)
      return UV_ENOENT;
    bufs[0] = strdup(cwd);
    if (bufs[0] == NULL)
      return UV_ENOMEM;
    *n = path_push(bufs[0], v, *n, PATH_PARTS);
  }
  bufs[1] = strdup(path);
  if (bufs[1] == NULL)
    return UV_ENOMEM;
  *n = path_push(bufs[1], v, *n, PATH_PARTS);
  return 0;
}

char *sim__path_resolve(const char *path)
{
  char *v[PATH_PARTS], *bufs[2], *out = NULL;
  size_t n, len = 2;

  if (path_parts(path, v, &n, bufs) != 0)
    goto out;
  for (size_t i = 0; i < n; i++)
    len += strlen(v[i]) + 1;
  out = malloc(len);
  if (out == NULL)
    goto out;
  strcpy(out, n == 0 ? "/" : "");
  for (size_t i = 0; i < n; i++) {
    strcat(out, "/");
    strcat(out, v[i]);
  }

out:
  free(bufs[0]);
  free(bufs[1]);
  return out;
}

char *sim__path_relative(const char *path)
{
  char *a[PATH_PARTS], *b[PATH_PARTS], *ab[2] = { 0 }, *bb[2] = { 0 };
  char *out = NULL;
  size_t na, nb, common = 0, len = 1;

  if (path_parts(".", a, &na, ab) != 0 || path_parts(path, b, &nb, bb) != 0)
    goto out;
  while (common < na && common < nb && strcmp(a[common], b[common]) == 0)
    common++;
  for (size_t i = common; i < na; i++)
    len += 3;
  for (size_t i = common; i < nb; i++)
    len += strlen(b[i]) + 1;
  out = malloc(len);
  if (out == NULL)
    goto out;
  out[0] = '\0';
  for (size_t i = common; i < na; i++)
    strcat(out, i > common ? "/.." : "..");
  for (size_t i = common; i < nb; i++) {
    if (out[0] != '\0')
      strcat(out, "/");
    strcat(out, b[i]);
  }

out:
  free(ab[0]);
  free(ab[1]);
  free(bb[0]);
  free(bb[1]);
  return out;
}
