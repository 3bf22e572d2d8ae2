/*
 * A primary agent with a bug planted on purpose, for `clustersim explore`
 * to find: it runs a real agent (the builtin or the Node one) behind a
 * relay and drops the `disconnect` events of a worker that was SIGSTOPped
 * while a rolling restart ran. Two faults in one order are needed: a
 * pause alone, or a rolling restart alone, shows nothing.
 *
 * usage: node buggy-restart.js AGENT [ARGS...]    (as an exec: target)
 *
 * The relay stands between the harness's control socket and the agent's
 * only (the workers talk to the harness directly, as in
 * tests/harness/agents/deviant.js). From the harness's `rolling-restart`
 * command to the agent's `restart-done` it reads /proc/PID/stat of every
 * worker it knows every 2 ms; a worker seen stopped ('T') then loses its
 * `disconnect` events for good. Lines it does not alter pass through byte
 * for byte.
 */
'use strict';
const net = require('node:net');
const path = require('node:path');
const fs = require('node:fs');
const { spawn } = require('node:child_process');

const agent = process.argv.slice(2);
const upstreamPath = process.env.CLUSTERSIM_CONTROL;
if (agent.length === 0 || !upstreamPath) {
  process.stderr.write('usage: CLUSTERSIM_CONTROL=... node buggy-restart.js AGENT [ARGS...]\n');
  process.exit(2);
}

/* Inside the harness's private directory: gone with the run. */
const relayPath = path.join(path.dirname(upstreamPath), 'buggy-relay.sock');

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
function alter(line) {
  let msg;
  try {
    msg = JSON.parse(line);
  } catch {
    return line;
  }
  if (!msg) return line;
  if (msg.type === 'event' && msg.event === 'fork' && msg.pid) pids.set(msg.worker, msg.pid);
  if (msg.type === 'event' && msg.event === 'exit') pids.delete(msg.worker);
  if (msg.type === 'policy' && msg.action === 'restart-done') restartEnds();
  if (msg.type === 'event' && msg.event === 'disconnect' && stopped.has(msg.worker)) return null;
  return line;
}

/* The harness's commands: the workers are pointed at the harness itself,
 * and a rolling restart starts the watch. */
function command(line) {
  let msg;
  try {
    msg = JSON.parse(line);
  } catch {
    return line;
  }
  if (msg && msg.cmd === 'rolling-restart') restartBegins();
  if (!msg || msg.cmd !== 'setup') return line;
  msg.settings = msg.settings || {};
  msg.settings.env = { ...(msg.settings.env || {}), CLUSTERSIM_CONTROL: upstreamPath };
  return JSON.stringify(msg);
}

/* Line by line from one socket to the other, through `fn` (null: drop). */
function pipeLines(from, to, fn) {
  let buf = '';
  from.setEncoding('utf8');
  from.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const out = fn(buf.slice(0, i));
      buf = buf.slice(i + 1);
      if (out !== null && !to.destroyed) to.write(out + '\n');
    }
  });
  from.on('end', () => to.end());
  from.on('error', () => to.destroy());
}

let child = null;
let up = null;
let upClosed = false;
let status = null;

/* Leave as the agent left, once its last words have reached the harness. */
function finish() {
  if (status === null || (up !== null && !upClosed)) return;
  restartEnds();
  if (status.signal) process.kill(process.pid, status.signal);
  process.exit(status.code === null ? 1 : status.code);
}

const server = net.createServer((down) => {
  /* one agent connection: nobody else may come in */
  server.close();
  fs.rmSync(relayPath, { force: true });
  up = net.connect(upstreamPath);
  up.on('error', () => down.destroy());
  up.on('close', () => {
    upClosed = true;
    finish();
  });
  down.on('error', () => up.destroy());
  pipeLines(down, up, alter);
  pipeLines(up, down, command);
});

server.listen(relayPath, () => {
  child = spawn(agent[0], agent.slice(1), {
    stdio: 'inherit',
    env: { ...process.env, CLUSTERSIM_CONTROL: relayPath },
  });
  child.on('error', (err) => {
    process.stderr.write(`buggy-restart: cannot start ${agent[0]}: ${err.message}\n`);
    process.exit(2);
  });
  /* the agent's end is ours: the harness sees the exit it would have seen */
  child.on('exit', (code, signal) => {
    fs.rmSync(relayPath, { force: true });
    status = { code, signal };
    finish();
    /* a harness that never closes its end does not keep us */
    setTimeout(() => {
      upClosed = true;
      finish();
    }, 2000).unref();
  });
});

/* Never outlive a run: the harness kills the process group at the end. */
setTimeout(() => {
  if (child) child.kill('SIGKILL');
  process.exit(3);
}, 120000).unref();
