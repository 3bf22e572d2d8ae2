'use strict';
// The respawn policy (docs/protocol.md §2.1): replace a dead worker with a
// fork of the same env, after a back-off that doubles along a lineage of
// start-up crashes.

const cluster = require('node:cluster');
const { now } = require('./control.cjs');

const MODES = ['never', 'always', 'unless-exited-after-disconnect', 'on-nonzero'];
const DEFAULT_BACKOFF_MAX_MS = 30000;

function createRespawn(state) {
  const cfg = { mode: 'never', backoff_ms: 0, backoff_max_ms: DEFAULT_BACKOFF_MAX_MS, startup_window_ms: 0 };
  const timers = new Set();

  function wanted(worker, code, signal) {
    switch (cfg.mode) {
      case 'always': return true;
      case 'unless-exited-after-disconnect': return !worker.exitedAfterDisconnect;
      case 'on-nonzero': return signal !== null || code !== 0;
      default: return false;
    }
  }

  function cancel() {
    for (const t of timers) clearTimeout(t);
    timers.clear();
  }

  function respawn(rec, streak, delay) {
    if (state.winding) return;
    const next = state.fork(rec.env);
    next.streak = streak;
    state.counters.respawns++;
    state.send({ type: 'policy', action: 'respawn', old: rec.worker.id, new: next.worker.id, delay_ms: delay });
  }

  // Registered after the reporters, so the respawn follows the reported exit.
  cluster.on('exit', (worker, code, signal) => {
    const rec = state.records.get(worker.id);
    if (!rec || rec.retired || state.winding || !wanted(worker, code, signal)) return;
    const lived = Number((now() - rec.forkedAt) / 1000000n);
    const startup = cfg.startup_window_ms > 0 && lived < cfg.startup_window_ms;
    const streak = startup ? rec.streak + 1 : 0;
    const delay = startup
      ? Math.min(cfg.backoff_ms * 2 ** (streak - 1), cfg.backoff_max_ms)
      : cfg.backoff_ms;
    if (delay === 0) return respawn(rec, streak, delay);
    const timer = setTimeout(() => {
      timers.delete(timer);
      respawn(rec, streak, delay);
    }, delay);
    timers.add(timer);
  });

  return {
    // Validates every key first; nothing changes on an error.
    configure(p) {
      const next = { ...cfg };
      if ('respawn' in p) {
        if (!MODES.includes(p.respawn)) throw new Error(`respawn must be one of ${MODES.join(', ')}`);
        next.mode = p.respawn;
      }
      for (const k of ['backoff_ms', 'backoff_max_ms', 'startup_window_ms']) {
        if (!(k in p)) continue;
        if (!Number.isInteger(p[k]) || p[k] < 0) throw new Error(`${k} must be a non-negative integer`);
        next[k] = p[k];
      }
      return () => {
        Object.assign(cfg, next);
        // "never" also means: no respawn that is still waiting out its delay.
        if (cfg.mode === 'never') cancel();
      };
    },
    cancel,
  };
}

module.exports = { createRespawn, RESPAWN_KEYS: ['respawn', 'backoff_ms', 'backoff_max_ms', 'startup_window_ms'] };
