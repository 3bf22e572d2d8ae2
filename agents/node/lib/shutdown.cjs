'use strict';
// Winding the cluster down: the graceful shutdown policy (signals or the
// `shutdown` command, reported as policy events) and the silent variant used
// when the control socket is lost. Either way nothing outlives the agent.

const cluster = require('node:cluster');
const os = require('node:os');

const DEFAULT_SIGNALS = ['SIGTERM', 'SIGINT'];
const DEFAULT_TIMEOUT_MS = 2000;
// After the SIGKILLs the agent waits this long at most for the exits.
const REAP_BOUND_MS = 3000;

function checkSignal(sig) {
  if (typeof sig !== 'string' || !(sig in os.constants.signals)) throw new Error(`unknown signal ${JSON.stringify(sig)}`);
  if (sig === 'SIGKILL' || sig === 'SIGSTOP') throw new Error(`${sig} cannot be caught`);
  return sig;
}

function timeoutOf(v, name) {
  if (!Number.isInteger(v) || v < 0) throw new Error(`${name} must be a non-negative integer`);
  return v;
}

// `stopPolicies()` silences respawn, heartbeat and rolling restart;
// `exit(code)` closes what the agent owns and ends the process.
function createShutdown(state, { stopPolicies, exit }) {
  const cfg = { signals: [], timeout_ms: DEFAULT_TIMEOUT_MS };
  const handlers = new Map();
  let pending = null;

  // Finished as Node's own removeWorker() sees it: dead and disconnected, so
  // a late `disconnect` (it may follow `exit`) is still reported.
  function finished() {
    for (const rec of state.records.values()) {
      const w = rec.worker;
      if (w.process.pid === undefined) continue;
      if (!w.isDead() || w.isConnected()) return false;
    }
    return true;
  }

  function check() {
    if (pending && finished()) pending();
  }
  cluster.on('exit', check);
  cluster.on('disconnect', check);

  function start({ signal = null, timeoutMs, report }) {
    if (state.winding) return false;
    state.winding = true;
    stopPolicies();
    const send = report ? state.send : () => {};
    send({ type: 'policy', action: 'shutdown-start', signal });
    const timers = [];
    pending = () => {
      pending = null;
      timers.forEach(clearTimeout);
      send({ type: 'policy', action: 'shutdown-done' });
      exit(0);
    };
    cluster.disconnect();
    timers.push(setTimeout(() => {
      const left = [...state.alive];
      if (left.length > 0) {
        send({ type: 'policy', action: 'shutdown-force', workers: left });
        state.killAll('SIGKILL');
      }
      timers.push(setTimeout(() => pending && pending(), REAP_BOUND_MS));
    }, timeoutMs));
    process.nextTick(check);
    return true;
  }

  return {
    start,
    // Validates first; returns the function that applies the change.
    configure(sd) {
      if (sd === null || sd === false) return () => apply([], cfg.timeout_ms);
      if (typeof sd !== 'object' || Array.isArray(sd)) throw new Error('shutdown must be an object or null');
      const signals = sd.signals === undefined ? DEFAULT_SIGNALS : sd.signals;
      if (!Array.isArray(signals)) throw new Error('shutdown.signals must be an array');
      signals.forEach(checkSignal);
      const timeout = sd.timeout_ms === undefined ? DEFAULT_TIMEOUT_MS : timeoutOf(sd.timeout_ms, 'shutdown.timeout_ms');
      return () => apply(signals, timeout);
    },
    defaultTimeout: () => cfg.timeout_ms,
    timeoutOf,
  };

  function apply(signals, timeout) {
    for (const [sig, h] of handlers) process.removeListener(sig, h);
    handlers.clear();
    cfg.signals = [...new Set(signals)];
    cfg.timeout_ms = timeout;
    for (const sig of cfg.signals) {
      const h = () => start({ signal: sig, timeoutMs: cfg.timeout_ms, report: true });
      handlers.set(sig, h);
      process.on(sig, h);
    }
  }
}

module.exports = { createShutdown };
