/*
 * A primary agent with a bug planted on purpose, for `clustersim explore`
 * to find: it runs a real agent (the builtin or the Node one) behind a
 * relay and drops the `disconnect` events of a worker that was SIGSTOPped
 * while a rolling restart ran. Two faults in one order are needed: a
 * pause alone, or a rolling restart alone, shows nothing.
 *
 * usage: node buggy-restart.js AGENT [ARGS...]    (as an exec: target)
 *
 * The relay is tests/harness/agents/relay.cjs (the workers talk to the
 * harness directly). From the harness's `rolling-restart`
 * command to the agent's `restart-done` it reads /proc/PID/stat of every
 * worker it knows every 2 ms; a worker seen stopped ('T') then loses its
 * `disconnect` events for good. Lines it does not alter pass through byte
 * for byte.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { runRelay } = require(path.join(__dirname, '..', 'harness', 'agents', 'relay.cjs'));

const agent = process.argv.slice(2);
if (agent.length === 0 || !process.env.CLUSTERSIM_CONTROL) {
  process.stderr.write('usage: CLUSTERSIM_CONTROL=... node buggy-restart.js AGENT [ARGS...]\n');
  process.exit(2);
}

const pids = new Map();       /* worker id -> pid */
const stopped = new Set();    /* workers seen stopped during a restart */
let poller = null;

function isStopped(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    /* the state follows the command name, which is in parentheses */
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state === 'T' || state === 't';
  } catch {
    return false;
  }
}

function poll() {
  for (const [id, pid] of pids) if (isStopped(pid)) stopped.add(id);
}

function restartBegins() {
  if (poller === null) poller = setInterval(poll, 2);
  poll();
}

function restartEnds() {
  if (poller !== null) clearInterval(poller);
  poller = null;
}

/* The agent's lines to the harness: the bug is here. */
function alter(msg) {
  if (msg.type === 'event' && msg.event === 'fork' && msg.pid) pids.set(msg.worker, msg.pid);
  if (msg.type === 'event' && msg.event === 'exit') pids.delete(msg.worker);
  if (msg.type === 'policy' && msg.action === 'restart-done') restartEnds();
  if (msg.type === 'event' && msg.event === 'disconnect' && stopped.has(msg.worker)) return null;
  return undefined;
}

/* The harness's commands: a rolling restart starts the watch. */
function command(msg) {
  if (msg.cmd === 'rolling-restart') restartBegins();
  return undefined;
}

runRelay({ name: 'buggy-restart', agent, up: alter, down: command, end: restartEnds });
