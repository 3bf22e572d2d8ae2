/*
 * A primary agent that leaves Node's behaviour on purpose: it runs a real
 * agent (the builtin or the Node one) behind a relay and alters the events
 * that agent reports, so that the scenarios and `clustersim diff` can be
 * seen to catch a reimplementation that deviates.
 *
 * usage: node deviant.js MODE AGENT [ARGS...]    (as an exec: target)
 *   drop-disconnect:N  worker N's `disconnect` events never reach the
 *                      harness (an agent that reports exit only)
 *   flip-ead:N         exitedAfterDisconnect is inverted at worker N's
 *                      `exit` events
 *
 * The relay stands between the harness's control socket and the agent's
 * only; the workers are given the harness's socket (through the setup's
 * env) and talk to the harness directly. Lines it does not alter pass
 * through byte for byte.
 */
'use strict';
const net = require('node:net');
const path = require('node:path');
const fs = require('node:fs');
const { spawn } = require('node:child_process');

const [mode, ...agent] = process.argv.slice(2);
const upstreamPath = process.env.CLUSTERSIM_CONTROL;
const m = /^(drop-disconnect|flip-ead):([0-9]+)$/.exec(mode || '');
if (!m || agent.length === 0 || !upstreamPath) {
  process.stderr.write('usage: CLUSTERSIM_CONTROL=... node deviant.js ' +
                       'drop-disconnect:N|flip-ead:N AGENT [ARGS...]\n');
  process.exit(2);
}
const kind = m[1];
const victim = Number(m[2]);

/* Inside the harness's private directory: gone with the run. */
const relayPath = path.join(path.dirname(upstreamPath), 'relay.sock');

function alter(line) {
  let msg;
  try {
    msg = JSON.parse(line);
  } catch {
    return line;
  }
  if (!msg || msg.type !== 'event' || msg.worker !== victim) return line;
  if (kind === 'drop-disconnect' && msg.event === 'disconnect') return null;
  if (kind === 'flip-ead' && msg.event === 'exit' && typeof msg.ead === 'boolean') {
    msg.ead = !msg.ead;
    return JSON.stringify(msg);
  }
  return line;
}

/* The harness's commands: the workers are pointed at the harness itself. */
function command(line) {
  let msg;
  try {
    msg = JSON.parse(line);
  } catch {
    return line;
  }
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
    process.stderr.write(`deviant: cannot start ${agent[0]}: ${err.message}\n`);
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
