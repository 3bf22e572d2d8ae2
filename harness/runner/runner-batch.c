/*
 * Step handlers of the primary program itself: `setup` (setupPrimary()
 * again), `together` (several commands in one turn of the primary, sent as
 * one `batch`), and the program's own end (`primary-throw`,
 * `primary-crash`). A batch's records are written when its reply says
 * what each command did (which worker a fork made, which worker "last"
 * was), dated when the batch was sent.
 */
#include "runner-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cJSON *command_new(const char *name, const scenario_step_t *st)
{
  cJSON *c = runner__act_command_new(name);

  if (c != NULL && st->probe)
    cJSON_AddBoolToObject(c, "probe", true);
  return c;
}

/* A `setup` command from a step's settings. */
static cJSON *setup_command(const runner_run_t *run, const scenario_step_t *st)
{
  cJSON *cmd = command_new("setup", st);
  cJSON *settings = cJSON_Duplicate(st->behaviour, true);

  if (cmd == NULL || settings == NULL) {
    cJSON_Delete(cmd);
    cJSON_Delete(settings);
    return NULL;
  }
  runner__act_mixed_worker(run, cmd, settings, false);
  cJSON_AddItemToObject(cmd, "settings", settings);
  return cmd;
}

int runner__step_setup(runner_run_t *run, const scenario_step_t *st,
                       const runner__call_t *call)
{
  if (call->replies > 0)
    return RUNNER__WAIT_NONE;
  runner__queue_action(run, "setup", st, 0, NULL);
  return runner__act_send(run, st, call, setup_command(run, st), NULL);
}

int runner__step_primary_throw(runner_run_t *run, const scenario_step_t *st,
                               const runner__call_t *call)
{
  if (call->replies > 0)
    return RUNNER__WAIT_NONE;
  runner__queue_action(run, "primary-throw", st, 0, NULL);
  return runner__act_send(run, st, call, runner__act_command_new("throw"),
                          NULL);
}

int runner__step_primary_crash(runner_run_t *run, const scenario_step_t *st,
                               const runner__call_t *call)
{
  cJSON *cmd, *x;

  if (call->replies > 0)
    return RUNNER__WAIT_NONE;
  x = cJSON_CreateObject();
  if (x != NULL)
    cJSON_AddNumberToObject(x, "code", st->code);
  runner__queue_action(run, "primary-crash", st, 0, x);
  cmd = runner__act_command_new("exit");
  if (cmd != NULL)
    cJSON_AddNumberToObject(cmd, "code", st->code);
  return runner__act_send(run, st, call, cmd, NULL);
}

/* ---------------------------------------------------------------------- */
/* together                                                                */

/* "worker" of a command in a batch: an id, "last" for the agent to
 * resolve (a fork of the same batch may have made it), or the worker whose
 * event fired the trigger. */
static int add_worker(cJSON *cmd, const scenario_step_t *a, unsigned trig)
{
  switch (a->worker.kind) {
  case SCENARIO_W_ID:
    cJSON_AddNumberToObject(cmd, "worker", a->worker.id);
    return 0;
  case SCENARIO_W_LAST:
    cJSON_AddStringToObject(cmd, "worker", "last");
    return 0;
  case SCENARIO_W_TRIGGER:
    if (trig == 0)
      return -1;
    cJSON_AddNumberToObject(cmd, "worker", trig);
    return 0;
  default:
    return 0;
  }
}

static const char *batch_name(scenario_step_kind_t kind)
{
  switch (kind) {
  case SCENARIO_STEP_SEND:
    return "send";
  case SCENARIO_STEP_DISCONNECT:
    return "disconnect";
  case SCENARIO_STEP_KILL:
    return "kill";
  case SCENARIO_STEP_CLUSTER_DISCONNECT:
    return "cluster-disconnect";
  case SCENARIO_STEP_STATUS:
    return "status";
  default:
    return NULL;
  }
}

/* The command of one action of `together` (not a fork or a setup). */
static cJSON *batch_command(const scenario_step_t *a, unsigned trig)
{
  cJSON *cmd = command_new(batch_name(a->kind), a);

  if (cmd == NULL || add_worker(cmd, a, trig) != 0) {
    cJSON_Delete(cmd);
    return NULL;
  }
  if (a->kind == SCENARIO_STEP_KILL)
    cJSON_AddStringToObject(cmd, "signal", base_signal_name(a->signal));
  if (a->kind == SCENARIO_STEP_SEND)
    cJSON_AddItemToObject(cmd, "message", cJSON_Duplicate(a->message, true));
  return cmd;
}

/* Adds the commands of action `a` to `cmds` (a fork of N is N forks). */
static int add_action(runner_run_t *run, cJSON *cmds, const scenario_step_t *a,
                      unsigned trig)
{
  unsigned i;

  runner__queue_action(run, "step", a, 0, NULL);
  if (a->kind == SCENARIO_STEP_FORK) {
    for (i = 0; i < a->count; i++) {
      cJSON *f = runner__act_fork_command(run, a);
      if (f == NULL)
        return -1;
      if (a->probe)
        cJSON_AddBoolToObject(f, "probe", true);
      cJSON_AddItemToArray(cmds, f);
    }
    return 0;
  }
  if (a->kind == SCENARIO_STEP_SETUP) {
    cJSON *s = setup_command(run, a);
    if (s == NULL)
      return -1;
    cJSON_AddItemToArray(cmds, s);
    return 0;
  }
  cJSON *c = batch_command(a, trig);
  if (c == NULL) {
    runner__fail(run, a, "the trigger's event has no worker");
    return -1;
  }
  cJSON_AddItemToArray(cmds, c);
  return 0;
}

int runner__step_together(runner_run_t *run, const scenario_step_t *st,
                          const runner__call_t *call)
{
  cJSON *cmd, *cmds;
  size_t i;

  if (call->replies > 0)
    return RUNNER__WAIT_NONE;
  cmd = runner__act_command_new("batch");
  cmds = cmd != NULL ? cJSON_AddArrayToObject(cmd, "cmds") : NULL;
  for (i = 0; cmds != NULL && i < st->n_actions; i++)
    if (add_action(run, cmds, &st->actions[i], call->trig) != 0) {
      cJSON_Delete(cmd);
      return RUNNER__STEP_FAILED;
    }
  if (cmds == NULL) {
    cJSON_Delete(cmd);
    cmd = NULL;
  }
  return runner__act_send(run, st, call, cmd, NULL);
}

/* The record of one command of a batch, from its reply. */
static void record_one(runner_run_t *run, uint64_t sent,
                       const scenario_step_t *a, const cJSON *sub)
{
  const cJSON *w = cJSON_GetObjectItemCaseSensitive(sub, "worker");
  unsigned id = cJSON_IsNumber(w) ? (unsigned)w->valuedouble : 0;
  cJSON *x;

  if (a->kind == SCENARIO_STEP_FORK) {
    runner__act_record_fork(run, sent, a,
                            a->behaviour ? a->behaviour : run->s->behaviour,
                            sub);
  } else if (a->kind == SCENARIO_STEP_STATUS) {
    runner__act_record_probe(run, "status", sent, a, sub);
    return;
  } else if ((x = cJSON_CreateObject()) != NULL) {
    cJSON_AddNumberToObject(x, "t", (double)sent);
    if (a->kind == SCENARIO_STEP_KILL)
      cJSON_AddStringToObject(x, "signal", base_signal_name(a->signal));
    if (a->kind == SCENARIO_STEP_SEND)
      cJSON_AddItemToObject(x, "message", cJSON_Duplicate(a->message, true));
    runner__queue_action(run, a->kind == SCENARIO_STEP_SETUP
                                  ? "setup" : batch_name(a->kind),
                         a, id, x);
  }
  if (a->probe)
    runner__act_record_probe(run, "probe", sent, a, sub);
}

void runner__batch_on_reply(runner_run_t *run, const runner__req_t *req,
                            const cJSON *reply)
{
  const cJSON *replies = cJSON_GetObjectItemCaseSensitive(reply, "replies");
  const cJSON *sub;
  const scenario_step_t *st = req->st;
  size_t i = 0;
  unsigned k = 0;

  if (strcmp(req->cmd, "batch") != 0 || st == NULL || !cJSON_IsArray(replies))
    return;
  /* the replies follow the commands: a fork of N is N of them */
  cJSON_ArrayForEach(sub, replies) {
    while (i < st->n_actions && st->actions[i].kind == SCENARIO_STEP_FORK &&
           k >= st->actions[i].count) {
      i++;
      k = 0;
    }
    if (i >= st->n_actions)
      return;
    record_one(run, req->sent, &st->actions[i], sub);
    if (st->actions[i].kind == SCENARIO_STEP_FORK)
      k++;
    else
      i++;
  }
}
