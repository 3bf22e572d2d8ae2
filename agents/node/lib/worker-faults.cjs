'use strict';
// Faults the harness injects over a worker's control connection
// (docs/protocol.md §4.3). Each one is a single call of Node's own API.

const { wire } = require('./v8-json.cjs');
const { spawn } = require('node:child_process');
const cluster = require('node:cluster');
const net = require('node:net');
const { MAX_DELAY_MS, parseOutput } = require('./worker-behaviour.cjs');
const { writeOutput } = require('./worker-handles.cjs');

const MAX_HELD = 1000;

function int(v, name, min, max, dflt) {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < min || v > max) throw new Error(`${name} must be an integer in ${min}..${max}`);
  return v;
}

function needWorker() {
  if (!cluster.worker) throw new Error('not a cluster worker');
  return cluster.worker;
}

function needChannel() {
  // Node would emit an uncaught ERR_IPC_DISCONNECTED / ERR_IPC_CHANNEL_CLOSED
  // here and end the worker; a fault that cannot apply is refused instead.
  if (!process.connected) throw new Error('the IPC channel is closed');
}

// Blocks the event loop without burning a core: Atomics.wait on a value
// that nobody will ever change.
function block(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

// A process in the worker's group that shares its IPC channel (a positive
// integer in `stdio` shares that descriptor of the parent) and ends by
// itself after `ms`: the primary reads the channel's end only then, after
// the worker's exit. Best effort: without it the worker still exits.
function holdChannel(ms) {
  try {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, Number(process.argv[1]))', String(ms)], {
      stdio: ['ignore', 'ignore', 'ignore', process.channel.fd],
    });
    child.on('error', () => {});
  } catch {
    // the exit goes on
  }
}

// Returns {cmd: prepare(msg)}; prepare validates and returns the function
// that applies the fault (and returns what its call returned), so the
// `fault` observation can go out in between. `observe` reports.
function createFaults(servers, held, handles, observe = () => {}) {
  return {
    crash(m) {
      const code = int(m.code, 'code', 0, 255, 1);
      const hold = int(m.hold_channel_ms, 'hold_channel_ms', 0, MAX_DELAY_MS, 0);
      if (hold > 0) needChannel();
      return () => {
        if (hold > 0) holdChannel(hold);
        process.exit(code);
      };
    },
    throw() {
      return () => process.nextTick(() => {
        throw new Error('clustersim: injected uncaught error');
      });
    },
    hang(m) {
      const ms = int(m.ms, 'ms', 0, MAX_DELAY_MS, undefined);
      if (ms === undefined) throw new Error('missing "ms"');
      return () => block(ms);
    },
    'ipc-disconnect'() {
      needChannel();
      return () => process.disconnect();
    },
    // worker.kill(signal): Node ignores the signal in a worker
    kill(m) {
      const w = needWorker();
      if (m.signal !== undefined && typeof m.signal !== 'string') throw new Error('signal must be a name such as "SIGKILL"');
      const signal = m.signal;
      return () => (signal === undefined ? w.kill() : w.kill(signal));
    },
    disconnect() {
      const w = needWorker();
      return () => w.disconnect();
    },
    'close-servers'() {
      return () => servers().closeAll() + handles.closeAll();
    },
    send(m) {
      if (!('message' in m)) throw new Error('missing "message"');
      needChannel();
      const message = wire(m.message);
      return () => process.send(message);
    },
    'send-handle'(m) {
      const port = int(m.port, 'port', 1, 65535, undefined);
      if (port === undefined) throw new Error('missing "port"');
      needChannel();
      const message = 'message' in m ? m.message : { clustersim: 'handle' };
      return () => handles.sendUp(port, message);
    },
    output(m) {
      const o = parseOutput(m, 'output', ['cmd', 'req']);
      return () => writeOutput(o);
    },
    // A pending timer (it keeps the worker alive), observed when it fires.
    timer(m) {
      const ms = int(m.ms, 'ms', 0, MAX_DELAY_MS, undefined);
      if (ms === undefined) throw new Error('missing "ms"');
      return () => {
        setTimeout(() => observe('timer', { ms }), ms);
      };
    },
    hold(m) {
      const n = int(m.connections, 'connections', 1, MAX_HELD, 1);
      const port = int(m.port, 'port', 1, 65535, undefined);
      if (port === undefined) throw new Error('missing "port"');
      return () => {
        for (let i = 0; i < n && held.length < MAX_HELD; i++) {
          const s = net.connect({ host: '127.0.0.1', port });
          s.on('error', () => {});
          s.resume();
          held.push(s);
        }
      };
    },
  };
}

module.exports = { createFaults };
