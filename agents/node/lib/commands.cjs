'use strict';
// One handler per harness command (docs/protocol.md §2). A handler returns the
// reply's extra fields or throws; the caller turns that into the one reply.

const cluster = require('node:cluster');
const { RESPAWN_KEYS } = require('./respawn.cjs');
const { envStrings } = require('./primary-state.cjs');
const { flags } = require('./report.cjs');
const { wire } = require('./v8-json.cjs');

const SETTINGS = { exec: 'string', args: 'array', execArgv: 'array', cwd: 'string', silent: 'boolean', env: 'object', serialization: 'string' };
// What a command's cluster call returned, for `probe` (never in a reply
// by itself: a symbol key does not survive JSON.stringify).
const RETURNED = Symbol('returned');
// Commands a batch may hold: what the primary calls in one turn.
const BATCHABLE = ['setup', 'fork', 'disconnect', 'kill', 'send', 'cluster-disconnect', 'status'];

// The Worker object in a probe: its id.
function returnedValue(v) {
  if (v === undefined) return null;
  if (v !== null && typeof v === 'object' && Number.isInteger(v.id)) return { worker: v.id };
  return v;
}
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

function createCommands(state, { respawn, heartbeat, metrics, shutdown, rolling, handles, sticky, die }) {
  // An id, or "last": the worker forked most recently (a batch can name
  // the worker its own fork made).
  function workerOf(msg) {
    if (msg.worker === 'last') {
      if (state.lastForked === null) throw new Error('no worker forked yet');
      return state.worker(state.lastForked);
    }
    if (!Number.isInteger(msg.worker)) throw new Error('"worker" must be an integer id');
    const w = state.worker(msg.worker);
    if (!w) throw new Error(`no worker ${msg.worker}`);
    return w;
  }

  // What `status`, and `probe` on any command, sample in the turn.
  function sample(only) {
    const probe = [...state.records.values()]
      .filter((rec) => only === null || rec.worker === only)
      .map((rec) => flags(rec.worker));
    return { workers: state.members().map((w) => w.id), probe, callbacks: state.callbacks };
  }

  function notWinding() {
    if (state.winding) throw new Error('shutting down');
  }

  // A command by name; with `probe: true`, what the call returned and
  // the flags sampled right after it, in the same turn.
  function run(msg) {
    const handler = Object.hasOwn(commands, msg.cmd) ? commands[msg.cmd] : null;
    if (!handler) throw new Error(`unknown command "${msg.cmd}"`);
    const result = handler(msg);
    if (msg.probe !== true) return result;
    const w = Number.isInteger(result.worker) ? state.worker(result.worker) : null;
    return { ...result, ...sample(w), returned: returnedValue(result[RETURNED]) };
  }

  const commands = {
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
      const own = msg.own_args === undefined ? 0 : msg.own_args;
      if (!Number.isInteger(own) || own < 0) throw new Error('own_args must be a non-negative integer');
      if (policy !== undefined && !state.setupDone) cluster.schedulingPolicy = policy;
      if (env) Object.assign(state.setupEnv, envStrings(env));
      if (rest.args !== undefined) state.ownArgs = own;
      state.freeze();
      return { [RETURNED]: cluster.setupPrimary(rest) };
    },

    fork(msg) {
      notWinding();
      if (msg.env !== undefined && msg.env !== null && !isObject(msg.env)) throw new Error('env must be an object');
      const { worker } = state.fork(msg.env);
      return { worker: worker.id, [RETURNED]: worker };
    },

    disconnect(msg) {
      const w = workerOf(msg);
      return { worker: w.id, [RETURNED]: w.disconnect() };
    },

    kill(msg) {
      const w = workerOf(msg);
      const signal = msg.signal === undefined ? 'SIGTERM' : msg.signal;
      if (typeof signal !== 'string') throw new Error('signal must be a name such as "SIGTERM"');
      return { worker: w.id, [RETURNED]: w.kill(signal) };
    },

    send(msg) {
      const w = workerOf(msg);
      if (!('message' in msg)) throw new Error('missing "message"');
      return { worker: w.id, [RETURNED]: w.send(wire(msg.message)) };
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
      return {
        [RETURNED]: cluster.disconnect(() => {
          state.callbacks++;
          state.send({ type: 'event', event: 'disconnect-callback', emitter: 'cluster' });
        }),
      };
    },

    // Several of the commands above, in order, in one turn of the event
    // loop: what one synchronous piece of a primary program does.
    batch(msg) {
      if (!Array.isArray(msg.cmds) || msg.cmds.length === 0) throw new Error('cmds must be a non-empty array');
      const replies = [];
      msg.cmds.forEach((sub, i) => {
        if (!isObject(sub) || !BATCHABLE.includes(sub.cmd)) {
          throw Object.assign(new Error(`command ${i + 1}: not one a batch can hold`), { extras: { replies } });
        }
        try {
          replies.push({ ok: true, ...run(sub) });
        } catch (err) {
          throw Object.assign(new Error(`command ${i + 1} (${sub.cmd}): ${err.message}`), { extras: { replies } });
        }
      });
      return { replies };
    },

    // An uncaught error in the primary program, after the reply: Node
    // prints it and exits 1; the workers see their channels end.
    throw() {
      die(() => {
        throw new Error('clustersim: injected uncaught error in the primary');
      });
      return {};
    },

    // process.exit(code) in the primary program, after the reply.
    exit(msg) {
      const code = msg.code === undefined ? 0 : msg.code;
      if (!Number.isInteger(code) || code < 0 || code > 255) throw new Error('code must be an integer in 0..255');
      die(() => process.exit(code));
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
      return sample(msg.worker === undefined ? null : workerOf(msg));
    },

    shutdown(msg) {
      const t = msg.timeout_ms === undefined ? shutdown.defaultTimeout() : shutdown.timeoutOf(msg.timeout_ms, 'timeout_ms');
      notWinding();
      // After the reply, like every command's effects.
      process.nextTick(() => shutdown.start({ signal: null, timeoutMs: t, report: true }));
      return {};
    },
  };
  return { commands, run };
}

module.exports = { createCommands };
