'use strict';
// What the primary agent knows beyond `cluster` itself: every worker it ever
// forked (the harness may still address a worker that has left
// cluster.workers), which of them are still alive, and the counters that the
// metrics endpoint serves.

const cluster = require('node:cluster');
const path = require('node:path');
const { now } = require('./control.cjs');
const { watchWorker } = require('./report.cjs');
const { watchOutput } = require('./output.cjs');

const WORKER_AGENT = path.join(__dirname, '..', 'worker.cjs');

// Env values reach the worker as strings; a structured value (such as a
// CLUSTERSIM_WORKER object) is JSON-encoded rather than turned into
// "[object Object]".
function envStrings(env) {
  const out = {};
  for (const [k, v] of Object.entries(env || {})) {
    out[k] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  return out;
}

function createState(send) {
  const state = {
    send,
    records: new Map(),
    alive: new Set(),
    counters: { forks: 0, exits: 0, respawns: 0 },
    setupEnv: {},
    // how many of settings.args (at the front) are the target's own
    ownArgs: 0,
    lastForked: null,
    // cluster.disconnect() callbacks run so far
    callbacks: 0,
    // the primary program is ending by itself
    dying: false,
    setupDone: false,
    frozenPolicy: null,
    winding: false,

    // The only way the agent forks, so every worker is watched and recorded.
    fork(env) {
      const full = { ...state.setupEnv, ...envStrings(env) };
      state.freeze();
      const worker = cluster.fork(full);
      watchWorker(worker, send);
      // With `silent: true` Node gives the worker pipes instead of our fds:
      // their lines become `output` records.
      watchOutput(worker, send);
      const rec = { worker, env: full, forkedAt: now(), streak: 0, retired: false };
      state.records.set(worker.id, rec);
      state.lastForked = worker.id;
      state.alive.add(worker.id);
      state.counters.forks++;
      // A spawn failure may never produce 'exit'; without a pid there is no
      // process to wait for.
      worker.on('error', () => {
        if (worker.process.pid === undefined) state.gone(worker.id);
      });
      return rec;
    },

    // Node freezes the scheduling policy at the first setupPrimary()/fork();
    // remember the frozen value to answer later `setup` commands truthfully.
    freeze() {
      if (state.setupDone) return;
      state.setupDone = true;
      state.frozenPolicy = cluster.schedulingPolicy;
    },

    gone(id) {
      if (state.alive.delete(id)) state.counters.exits++;
    },

    worker(id) {
      const rec = state.records.get(id);
      return rec ? rec.worker : undefined;
    },

    members() {
      return Object.values(cluster.workers || {}).filter(Boolean);
    },

    killAll(signal) {
      for (const id of state.alive) {
        try {
          state.worker(id).kill(signal);
        } catch {
          // already reaped between the check and the kill
        }
      }
    },
  };

  // Without a `setup` command the agent forks its own worker agent. Seeding
  // the settings (instead of calling setupPrimary) keeps Node's `setup`
  // events and the policy freeze exactly where a plain fork() puts them.
  cluster.settings = { exec: WORKER_AGENT, args: [] };

  cluster.on('exit', (w) => state.gone(w.id));
  return state;
}

module.exports = { createState, envStrings, WORKER_AGENT };
