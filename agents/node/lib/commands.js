'use strict';
// One handler per harness command (docs/protocol.md §2). A handler returns the
// reply's extra fields or throws; the caller turns that into the one reply.

const cluster = require('node:cluster');
const { RESPAWN_KEYS } = require('./respawn');
const { envStrings } = require('./primary-state');
const { flags } = require('./report');

const SETTINGS = { exec: 'string', args: 'array', execArgv: 'array', cwd: 'string', silent: 'boolean', env: 'object' };
const POLICY_KEYS = [...RESPAWN_KEYS, 'shutdown', 'heartbeat', 'metrics', 'sticky'];

function isObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function checkSettings(s) {
  if (!isObject(s)) throw new Error('settings must be an object');
  for (const [k, v] of Object.entries(s)) {
    const type = SETTINGS[k];
    if (!type) throw new Error(`unknown setting "${k}"`);
    const ok = type === 'array' ? Array.isArray(v) && v.every((a) => typeof a === 'string')
      : type === 'object' ? isObject(v) : typeof v === type;
    if (!ok) throw new Error(`settings.${k} must be ${type === 'array' ? 'an array of strings' : `a ${type}`}`);
  }
}

function createCommands(state, { respawn, heartbeat, metrics, shutdown, rolling, handles, sticky }) {
  function workerOf(msg) {
    if (!Number.isInteger(msg.worker)) throw new Error('"worker" must be an integer id');
    const w = state.worker(msg.worker);
    if (!w) throw new Error(`no worker ${msg.worker}`);
    return w;
  }

  function notWinding() {
    if (state.winding) throw new Error('shutting down');
  }

  return {
    setup(msg) {
      let policy;
      if (msg.scheduling !== undefined) {
        policy = { rr: cluster.SCHED_RR, none: cluster.SCHED_NONE }[msg.scheduling];
        if (policy === undefined) throw new Error('scheduling must be "rr" or "none"');
        // Node silently ignores a change after the freeze; say so instead.
        if (state.setupDone && policy !== state.frozenPolicy) {
          throw new Error('the scheduling policy is frozen by the first setup or fork');
        }
      }
      const settings = msg.settings === undefined ? {} : msg.settings;
      checkSettings(settings);
      const { env, ...rest } = settings;
      if (policy !== undefined && !state.setupDone) cluster.schedulingPolicy = policy;
      if (env) Object.assign(state.setupEnv, envStrings(env));
      state.freeze();
      cluster.setupPrimary(rest);
      return {};
    },

    fork(msg) {
      notWinding();
      if (msg.env !== undefined && msg.env !== null && !isObject(msg.env)) throw new Error('env must be an object');
      return { worker: state.fork(msg.env).worker.id };
    },

    disconnect(msg) {
      workerOf(msg).disconnect();
      return {};
    },

    kill(msg) {
      const w = workerOf(msg);
      const signal = msg.signal === undefined ? 'SIGTERM' : msg.signal;
      if (typeof signal !== 'string') throw new Error('signal must be a name such as "SIGTERM"');
      w.kill(signal);
      return {};
    },

    send(msg) {
      const w = workerOf(msg);
      if (!('message' in msg)) throw new Error('missing "message"');
      w.send(msg.message);
      return {};
    },

    serve(msg) {
      handles.serve(msg);
      return {};
    },

    'send-handle'(msg) {
      handles.sendHandle(msg, workerOf(msg));
      return {};
    },

    'close-handle'(msg) {
      handles.closeHandle(msg);
      return {};
    },

    'cluster-disconnect'() {
      cluster.disconnect(() => state.send({ type: 'event', event: 'disconnect-callback', emitter: 'cluster' }));
      return {};
    },

    policy(msg) {
      const keys = Object.keys(msg).filter((k) => k !== 'cmd' && k !== 'req');
      const unknown = keys.find((k) => !POLICY_KEYS.includes(k));
      if (unknown) throw new Error(`unknown policy "${unknown}"`);
      if (keys.length === 0) throw new Error('no policy given');
      // Validate everything before changing anything.
      const apply = [respawn.configure(msg)];
      if ('shutdown' in msg) apply.push(shutdown.configure(msg.shutdown));
      if ('heartbeat' in msg) {
        if (msg.heartbeat) notWinding();
        apply.push(heartbeat.configure(msg.heartbeat));
      }
      if ('metrics' in msg) apply.push(metrics.configure(msg.metrics));
      if ('sticky' in msg) {
        if (msg.sticky) notWinding();
        apply.push(sticky.configure(msg.sticky));
      }
      apply.forEach((f) => f());
      return {};
    },

    'rolling-restart'(msg) {
      rolling.start(msg.timeout_ms);
      return {};
    },

    // The flags of one worker, or of every worker ever forked, sampled in
    // the turn the command runs.
    status(msg) {
      const only = msg.worker === undefined ? null : workerOf(msg);
      const probe = [...state.records.values()]
        .filter((rec) => only === null || rec.worker === only)
        .map((rec) => flags(rec.worker));
      return { workers: state.members().map((w) => w.id), probe };
    },

    shutdown(msg) {
      const t = msg.timeout_ms === undefined ? shutdown.defaultTimeout() : shutdown.timeoutOf(msg.timeout_ms, 'timeout_ms');
      notWinding();
      // After the reply, like every command's effects.
      process.nextTick(() => shutdown.start({ signal: null, timeoutMs: t, report: true }));
      return {};
    },
  };
}

module.exports = { createCommands };
