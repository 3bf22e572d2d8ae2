'use strict';
// Turns every `cluster` and Worker event into a protocol event (docs/protocol.md
// §3), with the worker's flags sampled inside the listener itself.

const { reported } = require('./v8-json.cjs');
const cluster = require('node:cluster');
const { handleKind } = require('./handles.cjs');

function flags(worker) {
  const ead = worker.exitedAfterDisconnect;
  const pid = worker.process && worker.process.pid;
  return {
    worker: worker.id,
    pid: pid === undefined ? null : pid,
    ead: ead === undefined ? null : ead,
    connected: worker.isConnected(),
    dead: worker.isDead(),
    member: cluster.workers !== undefined && cluster.workers[worker.id] === worker,
    state: worker.state,
  };
}

function address(a) {
  const v = (x) => (x === undefined ? null : x);
  return { addressType: v(a.addressType), address: v(a.address), port: v(a.port), fd: v(a.fd) };
}

// The settings of a `setup` event that mean the same on every target: exec
// and args name each target's own worker program, so they are left out.
// A message event carries the kind of the handle that came with it.
function messageInfo(m, handle) {
  const message = reported(m);
  return handle ? { message, handle: handleKind(handle) } : { message };
}

function errorInfo(err) {
  return { code: err && err.code !== undefined ? err.code : null, message: String(err && err.message) };
}

// The settings a `setup` event carries, as they mean the same on every
// target: the args the scenario gave (without the first `ownArgs`, the
// target's own worker program's), execArgv, cwd and silent.
function settingsOf(settings, ownArgs) {
  const s = settings || {};
  return {
    args: Array.isArray(s.args) ? s.args.slice(ownArgs) : [],
    execArgv: [...(s.execArgv || [])],
    cwd: s.cwd === undefined ? null : s.cwd,
    silent: s.silent === true,
  };
}

// `send` receives finished protocol objects. The cluster listeners must be
// installed before any policy's, so that a policy's reaction to an event is
// reported after the event itself. `ownArgs()` says how many args are the
// target's.
function installClusterReporters(send, ownArgs = () => 0) {
  const ev = (event, worker, extra) =>
    send({ type: 'event', event, emitter: 'cluster', ...flags(worker), ...extra });
  cluster.on('setup', (settings) =>
    send({ type: 'event', event: 'setup', emitter: 'cluster', settings: settingsOf(settings, ownArgs()) }));
  cluster.on('fork', (w) => ev('fork', w));
  cluster.on('online', (w) => ev('online', w));
  cluster.on('listening', (w, a) => ev('listening', w, { address: address(a) }));
  cluster.on('message', (w, m, h) => ev('message', w, messageInfo(m, h)));
  cluster.on('disconnect', (w) => ev('disconnect', w));
  cluster.on('exit', (w, code, signal) => ev('exit', w, { code, signal }));
}

// Must run synchronously after cluster.fork() returns: Node emits nothing on
// the Worker before the next tick, so no event can be missed.
function watchWorker(worker, send) {
  const ev = (event, extra) =>
    send({ type: 'event', event, emitter: 'worker', ...flags(worker), ...extra });
  worker.on('online', () => ev('online'));
  worker.on('listening', (a) => ev('listening', { address: address(a) }));
  worker.on('message', (m, h) => ev('message', messageInfo(m, h)));
  worker.on('disconnect', () => ev('disconnect'));
  worker.on('exit', (code, signal) => ev('exit', { code, signal }));
  worker.on('error', (err) => ev('error', { error: errorInfo(err) }));
}

module.exports = { flags, installClusterReporters, watchWorker };
