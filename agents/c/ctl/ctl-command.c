/*
 * ctl-command.c - command lines: parsing, refusals and replies.
 *
 * The refusals and their words are those of agents/node/lib/control.cjs, so
 * that a harness sees the same replies from every target.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

static int ctl_command_refuse(ctl_command_t *c, const char *why)
{
  snprintf(c->error, sizeof(c->error), "%s", why);
  return UV_EINVAL;
}

int ctl_command_parse(const char *line, size_t len, ctl_command_t *c)
{
  const cJSON *req, *cmd;
  const char *end = NULL;
  char *text;

  memset(c, 0, sizeof(*c));
  c->req = cJSON_CreateNull();
  if (c->req == NULL)
    return UV_ENOMEM;
  if (line == NULL)
    return ctl_command_refuse(c, "line too long");
  text = malloc(len + 1);
  if (text == NULL)
    return UV_ENOMEM;
  memcpy(text, line, len);
  text[len] = '\0';
  /* Trailing text after the value is an error, as for JSON.parse; so is a
   * NUL byte, which cJSON would take for the end. */
  c->msg = strlen(text) == len ? cJSON_ParseWithOpts(text, &end, 1) : NULL;
  if (c->msg == NULL) {
    size_t at = end != NULL && end >= text ? (size_t)(end - text) : len;
    if (strlen(text) != len)
      at = strlen(text);
    snprintf(c->error, sizeof(c->error),
             "malformed JSON: unexpected input at position %zu", at);
    free(text);
    return UV_EINVAL;
  }
  free(text);
  if (!ctl_is_object(c->msg)) {
    cJSON_Delete(c->msg);
    c->msg = NULL;
    return ctl_command_refuse(c, "a command must be a JSON object");
  }
  /* The request number is echoed even when the command is refused. */
  req = cJSON_GetObjectItemCaseSensitive(c->msg, "req");
  if (cJSON_IsNumber(req) || cJSON_IsString(req)) {
    cJSON *copy = cJSON_Duplicate(req, 0);
    if (copy != NULL) {
      cJSON_Delete(c->req);
      c->req = copy;
    }
  }
  cmd = cJSON_GetObjectItemCaseSensitive(c->msg, "cmd");
  if (!cJSON_IsString(cmd) || cmd->valuestring[0] == '\0') {
    cJSON_Delete(c->msg);
    c->msg = NULL;
    return ctl_command_refuse(c, "missing \"cmd\"");
  }
  c->cmd = cmd->valuestring;
  return 0;
}

void ctl_command_free(ctl_command_t *c)
{
  cJSON_Delete(c->msg);
  cJSON_Delete(c->req);
  c->msg = NULL;
  c->req = NULL;
  c->cmd = NULL;
}

cJSON *ctl_reply_new(const cJSON *req)
{
  cJSON *m = cJSON_CreateObject();

  if (m == NULL)
    return NULL;
  cJSON_AddStringToObject(m, "type", "reply");
  cJSON_AddItemToObject(m, "req", req != NULL ? cJSON_Duplicate(req, 0)
                                              : cJSON_CreateNull());
  return m;
}

int ctl_reply_refuse(ctl_t *ctl, const cJSON *req, const char *error)
{
  cJSON *m = ctl_reply_new(req);
  int err;

  if (m == NULL)
    return UV_ENOMEM;
  cJSON_AddBoolToObject(m, "ok", 0);
  cJSON_AddStringToObject(m, "error", error);
  err = ctl_send(ctl, m);
  cJSON_Delete(m);
  return err;
}

int ctl_is_int(const cJSON *v, double min, double max)
{
  double d;

  if (!cJSON_IsNumber(v))
    return 0;
  d = v->valuedouble;
  return isfinite(d) && floor(d) == d && d >= min && d <= max;
}

int ctl_is_object(const cJSON *v)
{
  return cJSON_IsObject(v);
}
