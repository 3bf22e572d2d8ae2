'use strict';
// The rolling restart (docs/protocol.md §2.1): for each member at the start,
// one at a time, fork a replacement with the same env, wait for its first
// `listening`, disconnect the old worker and wait for its exit.

const cluster = require('node:cluster');

const DEFAULT_TIMEOUT_MS = 5000;
// After a SIGKILL the exit normally follows at once; this only bounds it.
const KILL_BOUND_MS = 2000;

function createRollingRestart(state) {
  let run = null; // {aborted} while a restart is in progress

  // Resolves with outcomes[event] at the first of those cluster events for
  // worker `id`, null after `ms`, false when the restart is aborted. The
  // listeners were added after the reporters, so a step follows the event.
  function waitFor(id, outcomes, ms, current) {
    return new Promise((resolve) => {
      const listeners = [];
      const done = (v) => {
        clearTimeout(timer);
        for (const [e, l] of listeners) cluster.removeListener(e, l);
        current.wake = null;
        resolve(v);
      };
      for (const [e, value] of Object.entries(outcomes)) {
        const l = (w) => {
          if (w.id === id) done(value);
        };
        listeners.push([e, l]);
        cluster.on(e, l);
      }
      const timer = setTimeout(() => done(null), ms);
      current.wake = () => done(false);
    });
  }

  async function restart(current, timeoutMs) {
    const olds = state.members().map((w) => w.id);
    const restarted = [];
    for (const oldId of olds) {
      if (current.aborted) return;
      const old = state.worker(oldId);
      if (cluster.workers[oldId] !== old) continue; // it left meanwhile
      const oldRec = state.records.get(oldId);
      // Replaced from here on: the respawn policy must not replace it again.
      oldRec.retired = true;
      const next = state.fork(oldRec.env);
      const id = next.worker.id;
      state.send({ type: 'policy', action: 'restart-fork', old: oldId, new: id });
      const listening = await waitFor(id, { listening: true, exit: false }, timeoutMs, current);
      if (current.aborted) return;
      if (!listening) {
        // The old worker keeps serving, so it is the respawn policy's again.
        oldRec.retired = false;
        const why = listening === null ? `did not listen within ${timeoutMs} ms` : 'exited before listening';
        return finish(current, { ok: false, error: `worker ${id} ${why}`, restarted });
      }
      state.send({ type: 'policy', action: 'restart-disconnect', worker: oldId });
      if (!old.isDead()) {
        const exited = waitFor(oldId, { exit: true }, timeoutMs, current);
        old.disconnect();
        if ((await exited) === null && !current.aborted) {
          state.send({ type: 'policy', action: 'restart-kill', worker: oldId });
          const reaped = waitFor(oldId, { exit: true }, KILL_BOUND_MS, current);
          old.kill('SIGKILL');
          await reaped;
        }
        if (current.aborted) return;
      }
      restarted.push(oldId);
    }
    finish(current, { ok: true, restarted });
  }

  function finish(current, result) {
    if (run === current) run = null;
    state.send({ type: 'policy', action: 'restart-done', ...result });
  }

  return {
    start(timeoutMs) {
      if (run) throw new Error('a rolling restart is already running');
      if (state.winding) throw new Error('shutting down');
      const t = timeoutMs === undefined ? DEFAULT_TIMEOUT_MS : timeoutMs;
      if (!Number.isInteger(t) || t <= 0) throw new Error('timeout_ms must be a positive integer');
      const current = { aborted: false, wake: null };
      run = current;
      // Started on the next tick so that the command's reply comes first.
      process.nextTick(() => restart(current, t).catch((err) => {
        finish(current, { ok: false, error: String(err && err.message), restarted: [] });
      }));
    },
    abort() {
      if (!run) return;
      run.aborted = true;
      if (run.wake) run.wake();
      run = null;
    },
  };
}

module.exports = { createRollingRestart };
