'use strict';
// Parses and checks CLUSTERSIM_WORKER (docs/protocol.md §4.1). A bad
// behaviour is a harness bug, so it is rejected as a whole with a message
// naming the offending key.

const os = require('node:os');

const MESSAGE_MODES = ['none', 'echo', 'count', 'reply'];
const ACTIONS = ['disconnect', 'kill', 'ipc-disconnect', 'close'];
const SERVER_KEYS = ['kind', 'port', 'host', 'path', 'exclusive', 'close_delay_ms', 'max_connections'];
const SERVER_KINDS = ['http', 'tcp', 'udp4', 'udp6'];
// A UNIX socket path longer than this cannot be a sockaddr_un anyway.
const MAX_PATH = 1023;
const TOP_KEYS = ['servers', 'messages', 'startup_delay_ms', 'signals', 'on_listening', 'adopt', 'output'];
const MAX_DELAY_MS = 600000;
const MAX_SERVERS = 64;
// Output lines of a behaviour or a fault: entries, bytes, repeats.
const MAX_OUTPUTS = 16;
const MAX_LINE = 1024;
const MAX_REPEAT = 10000;

function isObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function int(v, name, min, max) {
  if (!Number.isInteger(v) || v < min || v > max) throw new Error(`${name} must be an integer in ${min}..${max}`);
  return v;
}

// "exit:N" -> {exit: N}; the other actions -> {action}
function parseAction(v, name, extra) {
  const m = typeof v === 'string' && /^exit:(-?\d+)$/.exec(v);
  if (m) return { exit: int(Number(m[1]), `${name} exit code`, 0, 255) };
  if (extra.includes(v)) return { action: v };
  throw new Error(`${name} must be "exit:N" or one of ${extra.map((a) => `"${a}"`).join(', ')}`);
}

function parseServer(s, i) {
  const at = `servers[${i}]`;
  if (!isObject(s)) throw new Error(`${at} must be an object`);
  for (const k of Object.keys(s)) if (!SERVER_KEYS.includes(k)) throw new Error(`${at}: unknown key "${k}"`);
  if (!SERVER_KINDS.includes(s.kind)) throw new Error(`${at}.kind must be one of "http", "tcp", "udp4", "udp6"`);
  if (s.host !== undefined && s.host !== null && typeof s.host !== 'string') throw new Error(`${at}.host must be a string`);
  if (typeof s.host === 'string' && Buffer.byteLength(s.host) > 255) throw new Error(`${at}.host is too long`);
  const path = parsePath(s, at);
  if (s.exclusive !== undefined && typeof s.exclusive !== 'boolean') throw new Error(`${at}.exclusive must be a boolean`);
  return {
    kind: s.kind,
    port: int(s.port === undefined ? 0 : s.port, `${at}.port`, 0, 65535),
    host: s.host === undefined ? null : s.host,
    path,
    exclusive: s.exclusive === true,
    close_delay_ms: int(s.close_delay_ms === undefined ? 0 : s.close_delay_ms, `${at}.close_delay_ms`, 0, MAX_DELAY_MS),
    max_connections: int(s.max_connections === undefined ? 0 : s.max_connections, `${at}.max_connections`, 0, 1 << 30),
  };
}

// A UNIX socket for an http or tcp server, instead of host and port.
function parsePath(s, at) {
  if (s.path === undefined || s.path === null) return null;
  if (typeof s.path !== 'string' || s.path === '') throw new Error(`${at}.path must be a non-empty string`);
  if (Buffer.byteLength(s.path) > MAX_PATH) throw new Error(`${at}.path is too long`);
  if (s.kind.startsWith('udp') || (s.host !== undefined && s.host !== null) || s.port !== undefined) {
    throw new Error(`${at}.path is for an http or tcp server without host or port`);
  }
  return s.path;
}

function parseSignals(sig) {
  if (sig === undefined || sig === null) return {};
  if (!isObject(sig)) throw new Error('signals must be an object');
  const out = {};
  for (const [name, v] of Object.entries(sig)) {
    if (!(name in os.constants.signals) || name === 'SIGKILL' || name === 'SIGSTOP') {
      throw new Error(`signals: ${name} cannot be handled`);
    }
    if (v === 'ignore' || v === 'default') out[name] = { action: v };
    else out[name] = parseAction(v, `signals.${name}`, ['ignore', 'default']);
  }
  return out;
}

// adopt: {"kind": "http"|"tcp"}, the responder of received handles.
function parseAdopt(a) {
  if (a === undefined || a === null) return null;
  if (!isObject(a)) throw new Error('adopt must be an object');
  for (const k of Object.keys(a)) if (k !== 'kind') throw new Error(`adopt: unknown key "${k}"`);
  if (a.kind !== 'http' && a.kind !== 'tcp') throw new Error('adopt.kind must be "http" or "tcp"');
  return { kind: a.kind };
}

// One {"stream","line","repeat"} of `output` or of the output fault.
function parseOutput(o, at, extraKeys = []) {
  if (!isObject(o)) throw new Error(`${at} must be an object`);
  for (const k of Object.keys(o)) {
    if (!['stream', 'line', 'repeat', ...extraKeys].includes(k)) throw new Error(`${at}: unknown key "${k}"`);
  }
  if (o.stream !== 'stdout' && o.stream !== 'stderr') throw new Error(`${at}.stream must be "stdout" or "stderr"`);
  // A line ends at a U+0000, as a C string does in the C worker agent.
  const line = typeof o.line === 'string' ? o.line.split('\0')[0] : null;
  if (line === null || Buffer.byteLength(line) > MAX_LINE) {
    throw new Error(`${at}.line must be a string of at most ${MAX_LINE} bytes`);
  }
  const repeat = o.repeat === undefined ? 1 : o.repeat;
  if (!Number.isInteger(repeat) || repeat < 1 || repeat > MAX_REPEAT) {
    throw new Error(`${at}.repeat must be an integer in 1..${MAX_REPEAT}`);
  }
  return { stream: o.stream, line, repeat };
}

function parseOutputs(v) {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new Error('output must be an array');
  if (v.length > MAX_OUTPUTS) throw new Error(`output: at most ${MAX_OUTPUTS}`);
  return v.map((o, i) => parseOutput(o, `output[${i}]`));
}

function parseBehaviour(text) {
  if (text === undefined || text === '') text = '{}';
  let b;
  try {
    b = JSON.parse(text);
  } catch (err) {
    throw new Error(`CLUSTERSIM_WORKER is not JSON: ${err.message}`);
  }
  if (!isObject(b)) throw new Error('CLUSTERSIM_WORKER must be a JSON object');
  for (const k of Object.keys(b)) if (!TOP_KEYS.includes(k)) throw new Error(`CLUSTERSIM_WORKER: unknown key "${k}"`);
  const servers = b.servers === undefined || b.servers === null ? [] : b.servers;
  if (!Array.isArray(servers)) throw new Error('servers must be an array');
  const messages = b.messages === undefined || b.messages === null ? 'none' : b.messages;
  if (!MESSAGE_MODES.includes(messages)) throw new Error(`messages must be one of ${MESSAGE_MODES.join(', ')}`);
  return {
    servers: servers.map(parseServer),
    messages,
    startup_delay_ms: int(b.startup_delay_ms === undefined ? 0 : b.startup_delay_ms, 'startup_delay_ms', 0, MAX_DELAY_MS),
    signals: parseSignals(b.signals),
    on_listening: b.on_listening === undefined || b.on_listening === null
      ? null
      : { text: b.on_listening, ...parseAction(b.on_listening, 'on_listening', ACTIONS) },
    adopt: parseAdopt(b.adopt),
    output: parseOutputs(b.output),
  };
}

// ---------------------------------------------------------------------------
// Command-line options: the worker's arguments say what CLUSTERSIM_WORKER
// says, as `clustersim worker`'s do (one row each; an option for a server
// applies to the last --http or --tcp). A bad option is a usage error.

class UsageError extends Error {}

const usage = (text) => new UsageError(text);
const incomplete = (opt) => usage(`unknown or incomplete option '${opt}'`);

function uint(v, max, opt) {
  if (!/^\d+$/.test(v) || Number(v) > max) throw incomplete(opt);
  return Number(v);
}

// [HOST:]PORT of --http and --tcp.
function hostPort(v) {
  const colon = v.lastIndexOf(':');
  const host = colon === -1 ? null : v.slice(0, colon);
  const port = colon === -1 ? v : v.slice(colon + 1);
  if ((host !== null && (host === '' || Buffer.byteLength(host) > 255)) || !/^\d+$/.test(port) || Number(port) > 65535) {
    throw usage(`bad [HOST:]PORT '${v}'`);
  }
  return { host, port: Number(port) };
}

const OPTIONS = {
  '--http': { value: true, apply: (b, v, opt) => addServer(b, 'http', v, opt) },
  '--tcp': { value: true, apply: (b, v, opt) => addServer(b, 'tcp', v, opt) },
  '--exclusive': { server: true, apply: (b) => { last(b).exclusive = true; } },
  '--close-delay': { value: true, server: true, apply: (b, v, opt) => { last(b).close_delay_ms = uint(v, MAX_DELAY_MS, opt); } },
  '--max-connections': { value: true, server: true, apply: (b, v, opt) => { last(b).max_connections = uint(v, 1 << 30, opt); } },
  '--messages': {
    value: true,
    apply: (b, v, opt) => {
      if (!MESSAGE_MODES.includes(v)) throw incomplete(opt);
      b.messages = v;
    },
  },
  '--startup-delay': { value: true, apply: (b, v, opt) => { b.startup_delay_ms = uint(v, MAX_DELAY_MS, opt); } },
  '--signal': { value: true, apply: (b, v) => addSignal(b, v) },
  '--on-listening': {
    value: true,
    apply: (b, v) => { b.on_listening = { text: v, ...parseAction(v, 'on_listening', ACTIONS) }; },
  },
};

function last(b) {
  return b.servers[b.servers.length - 1];
}

function addServer(b, kind, v, opt) {
  if (v === undefined || b.servers.length === MAX_SERVERS) throw usage(`${opt} needs [HOST:]PORT`);
  const { host, port } = hostPort(v);
  b.servers.push({ kind, port, host, path: null, exclusive: false, close_delay_ms: 0, max_connections: 0 });
}

function addSignal(b, v) {
  const eq = v.indexOf('=');
  if (eq === -1 || eq >= 16) throw usage(`--signal needs SIG=ACTION, got '${v}'`);
  Object.assign(b.signals, parseSignals({ [v.slice(0, eq)]: v.slice(eq + 1) }));
}

// Applies argv (the arguments after the script) to a parsed behaviour: the
// agent's options come first; from `--` (dropped) or the first argument
// that is not an option on, they are the program's own (b.args), as for
// `clustersim worker`.
function applyArgs(b, argv) {
  b.args = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--' || !argv[i].startsWith('--')) {
      b.args = argv.slice(i + (argv[i] === '--' ? 1 : 0));
      break;
    }
    const opt = OPTIONS[argv[i]];
    const v = argv[i + 1];
    if (!Object.hasOwn(OPTIONS, argv[i]) || (opt.server && b.servers.length === 0)) throw incomplete(argv[i]);
    if (opt.value && v === undefined && argv[i] !== '--http' && argv[i] !== '--tcp') throw incomplete(argv[i]);
    try {
      opt.apply(b, v, argv[i]);
    } catch (err) {
      throw err instanceof UsageError ? err : usage(err.message);
    }
    if (opt.value) i++;
  }
  return b;
}

module.exports = { parseBehaviour, parseOutput, applyArgs, UsageError, MAX_DELAY_MS };
