'use strict';
// clustersim primary agent for the `node` target: owns a real node:cluster
// primary and speaks docs/protocol.md on $CLUSTERSIM_CONTROL. It translates
// commands into cluster API calls and cluster events into protocol events;
// all cluster behaviour is Node's own.

const cluster = require('node:cluster');
const { connect, now, parseCommand } = require('./lib/control.cjs');
const { installClusterReporters } = require('./lib/report.cjs');
const { createState } = require('./lib/primary-state.cjs');
const { createRespawn } = require('./lib/respawn.cjs');
const { createHeartbeat } = require('./lib/heartbeat.cjs');
const { createMetrics } = require('./lib/metrics.cjs');
const { createShutdown } = require('./lib/shutdown.cjs');
const { createRollingRestart } = require('./lib/rolling-restart.cjs');
const { createCommands } = require('./lib/commands.cjs');
const { createHandles } = require('./lib/handles.cjs');
const { createSticky } = require('./lib/sticky.cjs');

// Losing the harness means nobody is left to end the workers: give them this
// long to leave gracefully before SIGKILL.
const LOST_CONTROL_GRACE_MS = 1000;

function runtimeName() {
  if (process.versions.bun) return 'bun';
  if (process.versions.deno) return 'deno';
  return 'node';
}

// The runtime's own name and version, which a node-compatible runtime
// keeps apart from the Node version it imitates (process.version):
// process.versions names it, process.release says which release line.
function runtimeIdentity() {
  const name = runtimeName();
  const own = process.versions[name];
  return {
    runtime: name,
    runtime_version: typeof own === 'string' ? own : process.versions.node,
    release: process.release && process.release.name,
    version: process.version,
    execArgv: process.execArgv,
  };
}

function main() {
  const path = process.env.CLUSTERSIM_CONTROL;
  if (!cluster.isPrimary) {
    process.stderr.write('clustersim primary agent: started as a cluster worker\n');
    process.exit(2);
  }
  if (!path) {
    process.stderr.write('clustersim primary agent: CLUSTERSIM_CONTROL is not set\n');
    process.exit(2);
  }

  let control = null;
  // While a command runs, what it causes synchronously (a cluster.disconnect
  // callback can fire inside worker.disconnect()) waits for the reply; the
  // time stays the moment it happened.
  let held = null;
  const send = (obj) => {
    if (held) held.push([obj, now()]);
    else if (control !== null) control.send(obj);
  };
  // Reporters first: every policy listener added later runs after them.
  let state = null;
  installClusterReporters(send, () => (state ? state.ownArgs : 0));
  state = createState(send);
  const respawn = createRespawn(state);
  const heartbeat = createHeartbeat(state);
  const metrics = createMetrics(state);
  const rolling = createRollingRestart(state);
  const handles = createHandles(state);
  const sticky = createSticky(state, handles);
  // After the reporters: the cluster's `message` event, then the handle
  // held, then the Worker's event.
  cluster.on('message', (w, m, handle) => {
    if (handle) handles.received(w, handle);
  });

  let exiting = false;
  function exit(code) {
    if (exiting) return;
    exiting = true;
    metrics.close();
    const bye = () => process.exit(code);
    if (control && !control.closed) control.end(bye);
    else bye();
  }

  const shutdown = createShutdown(state, {
    stopPolicies() {
      respawn.cancel();
      heartbeat.stop();
      rolling.abort();
      sticky.stop();
    },
    exit,
  });
  // The primary program ends by itself (an uncaught error, process.exit):
  // after the reply, without the agent's own safety nets, so that the
  // workers leave as Node's do when their primary is gone.
  function die(fn) {
    state.dying = true;
    process.removeAllListeners('uncaughtException');
    setImmediate(fn);
  }
  const { commands, run } = createCommands(state, { respawn, heartbeat, metrics, shutdown, rolling, handles, sticky, die });

  function onLine(line) {
    const parsed = line === null ? { error: 'line too long', req: null } : parseCommand(line);
    const reply = { type: 'reply', req: parsed.req };
    if (parsed.error) return send({ ...reply, ok: false, error: parsed.error });
    if (!Object.hasOwn(commands, parsed.msg.cmd)) {
      return send({ ...reply, ok: false, error: `unknown command "${parsed.msg.cmd}"` });
    }
    let result;
    held = [];
    try {
      result = { ...reply, ok: true, ...run(parsed.msg) };
    } catch (err) {
      result = { ...reply, ok: false, error: String(err && err.message), ...(err && err.extras) };
    }
    const caused = held;
    held = null;
    send(result);
    for (const [obj, t] of caused) control.send(obj, t);
  }

  let connected = false;
  control = connect(path, {
    onLine,
    onConnect() {
      connected = true;
      send({ type: 'hello', role: 'primary', pid: process.pid, ...runtimeIdentity() });
    },
    onClose() {
      if (exiting) return;
      if (!connected) {
        process.stderr.write(`clustersim primary agent: cannot connect to ${path}\n`);
        process.exit(2);
      }
      if (!shutdown.start({ timeoutMs: LOST_CONTROL_GRACE_MS, report: false })) return;
      process.stderr.write('clustersim primary agent: control socket lost, ending the cluster\n');
    },
  });

  // Whatever ends this process, no worker may outlive it; but for the
  // primary program's own end, where Node's workers leave on their own.
  process.on('exit', () => {
    if (!state.dying) state.killAll('SIGKILL');
  });
  process.on('uncaughtException', (err) => {
    process.stderr.write(`clustersim primary agent: ${err && err.stack}\n`);
    state.killAll('SIGKILL');
    process.exit(70);
  });
}

main();
