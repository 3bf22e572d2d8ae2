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
const TOP_KEYS = ['servers', 'messages', 'startup_delay_ms', 'signals', 'on_listening'];
const MAX_DELAY_MS = 600000;

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
  };
}

module.exports = { parseBehaviour, MAX_DELAY_MS };
