/*
 * sim-tcp.c - TCP binding the way Node's net module does it for cluster.
 */
#include <string.h>

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
