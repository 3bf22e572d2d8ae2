/*
 * The relay of the deliberately wrong primary agents (deviant.js here,
 * tests/explore/buggy-restart.js): it runs a real agent (the builtin or the
 * Node one) with its control socket pointed at the relay, and passes each
 * line between that agent and the harness through a function that may
 * alter it or drop it (null). The workers are given the harness's own
 * socket (through the setup's env) and talk to the harness directly.
 * Lines nobody alters pass through byte for byte; the relay leaves as the
 * agent left, once the agent's last words have reached the harness.
 */
'use strict';
const net = require('node:net');
const path = require('node:path');
const fs = require('node:fs');
const { spawn } = require('node:child_process');

/* A line as JSON, or null when it is not JSON. */
function parse(line) {
  try {
    return JSON.parse(line);
  } catch {
    return null;
  }
}

/* The setup command points the workers at the harness itself. */
function pointWorkers(msg, upstreamPath) {
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

/*
 * opts.name     the program's name, for its messages and its socket
 * opts.agent    the agent's argv
 * opts.up(msg)  an agent's line (parsed) to the harness: the line to send
 *               (a string), null to drop it, undefined to pass it as it was
 * opts.down(msg) the same for the harness's commands (optional)
 * opts.end()    runs before the relay exits (optional)
 */
function runRelay(opts) {
  const upstreamPath = process.env.CLUSTERSIM_CONTROL;
  /* Inside the harness's private directory: gone with the run. */
  const relayPath = path.join(path.dirname(upstreamPath), `${opts.name}.sock`);
  let child = null;
  let up = null;
  let upClosed = false;
  let status = null;

  const through = (fn) => (line) => {
    const msg = parse(line);
    const out = msg && fn ? fn(msg) : undefined;
    return out === undefined ? line : out;
  };
  const down = (msg) => {
    const out = opts.down ? opts.down(msg) : undefined;
    if (out !== undefined) return out;
    return msg.cmd === 'setup' ? pointWorkers(msg, upstreamPath) : undefined;
  };

  function finish() {
    if (status === null || (up !== null && !upClosed)) return;
    if (opts.end) opts.end();
    if (status.signal) process.kill(process.pid, status.signal);
    process.exit(status.code === null ? 1 : status.code);
  }

  const server = net.createServer((agentSide) => {
    /* one agent connection: nobody else may come in */
    server.close();
    fs.rmSync(relayPath, { force: true });
    up = net.connect(upstreamPath);
    up.on('error', () => agentSide.destroy());
    up.on('close', () => {
      upClosed = true;
      finish();
    });
    agentSide.on('error', () => up.destroy());
    pipeLines(agentSide, up, through(opts.up));
    pipeLines(up, agentSide, through(down));
  });

  server.listen(relayPath, () => {
    child = spawn(opts.agent[0], opts.agent.slice(1), {
      stdio: 'inherit',
      env: { ...process.env, CLUSTERSIM_CONTROL: relayPath },
    });
    child.on('error', (err) => {
      process.stderr.write(`${opts.name}: cannot start ${opts.agent[0]}: ${err.message}\n`);
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
}

module.exports = { runRelay };
