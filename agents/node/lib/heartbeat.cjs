'use strict';
// The heartbeat policy (docs/protocol.md §2.1): ping every member over the
// cluster's own IPC and SIGKILL one that stays silent; the respawn policy,
// when on, then replaces it like any other dead worker.

const cluster = require('node:cluster');
const { now } = require('./control.cjs');

function positiveInt(v, name) {
  if (!Number.isInteger(v) || v <= 0) throw new Error(`heartbeat.${name} must be a positive integer`);
  return v;
}

function createHeartbeat(state) {
  let timer = null;
  let n = 0;
  let timeoutNs = 0n;
  // id -> {last: time of the last pong or of the first ping, killed}
  const seen = new Map();

  function tick() {
    n++;
    const t = now();
    for (const w of state.members()) {
      // A worker is pinged once Node reports it online: before that its
      // agent cannot be running yet.
      if (w.state === 'none' || !w.isConnected()) continue;
      const s = seen.get(w.id);
      if (!s) {
        seen.set(w.id, { last: t, killed: false });
      } else if (s.killed) {
        continue;
      } else if (t - s.last > timeoutNs) {
        s.killed = true;
        state.send({ type: 'policy', action: 'heartbeat-kill', worker: w.id, pid: w.process.pid });
        w.kill('SIGKILL');
        continue;
      }
      w.send({ clustersim: 'ping', n });
    }
  }

  cluster.on('message', (w, m) => {
    if (m && m.clustersim === 'pong' && seen.has(w.id)) seen.get(w.id).last = now();
  });
  cluster.on('exit', (w) => seen.delete(w.id));

  const api = {
    configure(hb) {
      if (hb === null || hb === false) return () => api.stop();
      if (typeof hb !== 'object' || Array.isArray(hb)) throw new Error('heartbeat must be an object or null');
      const interval = positiveInt(hb.interval_ms === undefined ? 200 : hb.interval_ms, 'interval_ms');
      const timeout = positiveInt(hb.timeout_ms === undefined ? 1000 : hb.timeout_ms, 'timeout_ms');
      return () => {
        api.stop();
        timeoutNs = BigInt(timeout) * 1000000n;
        timer = setInterval(tick, interval);
      };
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = null;
      seen.clear();
    },
  };
  return api;
}

module.exports = { createHeartbeat };
