'use strict';
// clustersim worker agent for the `node` target: applies the behaviour in
// $CLUSTERSIM_WORKER, reports observations and takes faults on
// $CLUSTERSIM_CONTROL (docs/protocol.md §4). Runs without a control socket,
// and outside a cluster too, where it just applies the behaviour.

const { reported } = require('./lib/v8-json.cjs');
const cluster = require('node:cluster');
const { connect, parseCommand, now } = require('./lib/control.cjs');
const { parseBehaviour, applyArgs, UsageError } = require('./lib/worker-behaviour.cjs');
const { startServers } = require('./lib/worker-servers.cjs');
const { createFaults } = require('./lib/worker-faults.cjs');
const { createWorkerHandles, writeOutput } = require('./lib/worker-handles.cjs');

// Bounds the wait for the control connection before the behaviour starts.
const CONNECT_BOUND_MS = 1000;

const id = cluster.worker ? cluster.worker.id : null;

// A bad CLUSTERSIM_WORKER is the protocol's exit 2; a bad option is a bad
// command line (64), as for `clustersim worker`.
let behaviour;
try {
  behaviour = parseBehaviour(process.env.CLUSTERSIM_WORKER);
} catch (err) {
  process.stderr.write(`clustersim worker agent: ${err.message}\n`);
  process.exit(2);
}
try {
  applyArgs(behaviour, process.argv.slice(2));
} catch (err) {
  if (!(err instanceof UsageError)) throw err;
  process.stderr.write(`clustersim worker: ${err.message}\n`);
  process.exit(64);
}

let control = null;
// Lines written before the control socket connects would wait in it with
// the hello, whose stamp is how the harness measures this process's clock
// (docs/protocol.md §4): a hello stamped long before it could be read makes
// every time of the worker late. So the hello is stamped once the
// connection is up, and what came before waits here with its own stamps.
let early = [];
function send(obj) {
  if (!control) return;
  if (early) early.push([obj, now()]);
  else control.send(obj);
}
function onControlConnect() {
  control.send({ type: 'hello', role: 'worker', id, pid: process.pid, execArgv: process.execArgv });
  for (const [obj, t] of early) control.send(obj, t);
  early = null;
  start();
}
// The worker's own view of itself, sampled with every observation.
function view() {
  const w = cluster.worker;
  if (!w) return {};
  const ead = w.exitedAfterDisconnect;
  return { state: w.state, ead: ead === undefined ? null : ead, connected: w.isConnected(), dead: w.isDead() };
}
function observe(what, extra) {
  send({ type: 'observe', what, worker: id, pid: process.pid, ...view(), ...extra });
}

// The Worker object in a probe: its id.
function returnedValue(v) {
  if (v === undefined) return null;
  if (v !== null && typeof v === 'object' && Number.isInteger(v.id)) return { worker: v.id };
  return v;
}

// What the worker was started with: its environment (the harness's own
// variables aside), its arguments (process.argv.slice(2): the agent's
// options, then the program's own), its directory.
function startInfo() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('CLUSTERSIM_')) env[k] = v;
  return { env, args: process.argv.slice(2), cwd: process.cwd() };
}

const handles = createWorkerHandles(behaviour, id, observe);

// Pings first: they must be answered from the first moment, and never count
// as user messages. A message with a handle is the handle's: observed as
// `handle`, never echoed or counted.
let count = 0;
process.on('message', (m, handle) => {
  if (handle) return handles.received(m, handle);
  if (m && m.clustersim === 'ping') {
    if (process.connected) process.send({ clustersim: 'pong', n: m.n });
    return;
  }
  observe('message', { message: reported(m) });
  if (!process.connected) return;
  if (behaviour.messages === 'echo') process.send({ echo: m });
  else if (behaviour.messages === 'count') process.send({ count: ++count });
  else if (behaviour.messages === 'reply') process.send({ reply: m });
});

for (const [sig, a] of Object.entries(behaviour.signals)) {
  if (a.action === 'default') continue;
  process.on(sig, () => {
    observe('signal', { signal: sig });
    if (a.exit !== undefined) process.exit(a.exit);
  });
}

if (cluster.worker) cluster.worker.on('disconnect', () => observe('disconnect'));
process.on('exit', (code) => observe('exiting', { code }));

function applyAction(a, server) {
  if (a.exit !== undefined) return process.exit(a.exit);
  switch (a.action) {
    case 'disconnect': return cluster.worker && cluster.worker.disconnect();
    case 'kill': return cluster.worker && cluster.worker.kill();
    case 'ipc-disconnect': return process.connected && process.disconnect();
    case 'close': return server.close();
  }
}

let servers = { closeAll: () => 0 };
const held = [];
const faults = createFaults(() => servers, held, handles, observe);

function onCommand(line) {
  const parsed = line === null ? { error: 'line too long', req: null } : parseCommand(line);
  const refuse = (error) => send({ type: 'reply', req: parsed.req, ok: false, error });
  if (parsed.error) return refuse(parsed.error);
  const { cmd, req, ...params } = parsed.msg;
  if (!Object.hasOwn(faults, cmd)) return refuse(`unknown fault "${cmd}"`);
  let apply;
  try {
    apply = faults[cmd](parsed.msg);
  } catch (err) {
    return refuse(err.message);
  }
  observe('fault', { fault: cmd, ...params });
  const returned = apply();
  // `probe`: the worker's view right after the call, in the same turn
  if (parsed.msg.probe === true) observe('probe', { fault: cmd, req, returned: returnedValue(returned) });
}

let started = false;
function start() {
  if (started) return;
  started = true;
  observe('started', { ...startInfo(), execArgv: process.execArgv });
  for (const o of behaviour.output) writeOutput(o);
  const onFirst = behaviour.on_listening && ((server) => {
    observe('fault', { fault: 'on_listening', action: behaviour.on_listening.text });
    applyAction(behaviour.on_listening, server);
  });
  const listen = () => {
    servers = startServers(behaviour.servers, id, observe, onFirst);
  };
  if (behaviour.startup_delay_ms > 0) setTimeout(listen, behaviour.startup_delay_ms);
  else listen();
}

if (process.env.CLUSTERSIM_CONTROL) {
  // Unreferenced: the control socket must not keep a worker alive that Node
  // would let exit.
  control = connect(process.env.CLUSTERSIM_CONTROL, { onLine: onCommand, onConnect: onControlConnect, ref: false });
  control.socket.on('close', start);
  setTimeout(start, CONNECT_BOUND_MS).unref();
} else {
  start();
}
