'use strict';
// The JSON form of messages under serialization 'advanced' (docs/ipc.md,
// "The JSON form"): plain JSON where JSON holds a value exactly, a
// {"$v8": type, ...} object where it does not. toJson() is what the agents
// report of a message received; fromJson() makes the value a command or a
// fault asks to send. The C side (sim/sim-value-json.c) writes and reads the
// same forms, so a trace reads alike on every target. Not modelled here: the
// int32/double distinction (JavaScript cannot see it) and strings by encoding.

const TAG = '$v8';
const VIEWS = {
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array,
  Uint32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array, DataView,
};
const ERRORS = { Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError };
const BIG_HEX = 1n << 2048n; // the C form writes longer BigInts in hex

const tag = (type, members) => ({ [TAG]: type, ...members });
const hex = (view) => Buffer.from(view.buffer, view.byteOffset, view.byteLength).toString('hex');

function number(n) {
  if (Number.isNaN(n)) return tag('double', { value: 'NaN' });
  if (n === Infinity) return tag('double', { value: 'Infinity' });
  if (n === -Infinity) return tag('double', { value: '-Infinity' });
  if (Object.is(n, -0)) return tag('double', { value: '-0' });
  return n;
}

function bigint(b) {
  const abs = b < 0n ? -b : b;
  const text = abs >= BIG_HEX ? `0x${abs.toString(16)}` : abs.toString();
  return tag('bigint', { value: (b < 0n ? '-' : '') + text });
}

function date(d) {
  const ms = d.getTime();
  const form = tag('date', { value: number(ms) });
  if (Number.isFinite(ms) && ms >= 0 && ms < 253402300800000) form.iso = d.toISOString();
  return form;
}

function view(v) {
  if (Buffer.isBuffer(v)) return tag('Buffer', { hex: hex(v) });
  const name = Object.keys(VIEWS).find((k) => v instanceof VIEWS[k]);
  return tag(name || 'Uint8Array', { hex: hex(v) });
}

// The objects of a value in the order V8's serializer meets them (its wire
// ids), and those it meets more than once: they become def and ref.
function scan(v, ids, shared) {
  if (v === null || typeof v !== 'object') return;
  if (ids.has(v)) { shared.add(v); return; }
  ids.set(v, ids.size);
  for (const x of children(v)) scan(x, ids, shared);
}

function children(v) {
  if (v instanceof Map) return [...v].flat();
  if (v instanceof Set) return [...v];
  if (v instanceof Date || v instanceof RegExp || v instanceof ArrayBuffer ||
      ArrayBuffer.isView(v) || v instanceof Error) return [];
  return Object.keys(v).map((k) => v[k]);
}

function toJson(v, ctx) {
  if (ctx === undefined && v !== null && typeof v === 'object') {
    ctx = { ids: new Map(), shared: new Set(), done: new Set() };
    scan(v, ctx.ids, ctx.shared);
  }
  if (ctx && ctx.shared.has(v)) {
    const id = ctx.ids.get(v);
    if (ctx.done.has(v)) return tag('ref', { id });
    ctx.done.add(v);
    return tag('def', { id, value: form(v, ctx) });
  }
  return form(v, ctx);
}

function form(v, ctx) {
  const toJsonIn = (x) => toJson(x, ctx);
  switch (typeof v) {
    case 'undefined': return tag('undefined');
    case 'number': return number(v);
    case 'bigint': return bigint(v);
    case 'object': break;
    default: return v;
  }
  if (v === null) return null;
  if (Array.isArray(v)) {
    // V8 writes an array with holes in its sparse form, whatever made it
    if (v.length !== Object.keys(v).length) {
      const props = Object.keys(v).map((k) => [/^\d+$/.test(k) ? Number(k) : k, toJsonIn(v[k])]);
      return tag('sparse', { length: v.length, props });
    }
    return Array.from(v, toJsonIn);
  }
  if (v instanceof Date) return date(v);
  if (v instanceof RegExp) return tag('regexp', { source: v.source, flags: v.flags });
  if (v instanceof Map) return tag('map', { entries: [...v].map(([k, x]) => [toJsonIn(k), toJsonIn(x)]) });
  if (v instanceof Set) return tag('set', { values: [...v].map(toJsonIn) });
  if (v instanceof ArrayBuffer) return tag('ArrayBuffer', { hex: Buffer.from(v).toString('hex') });
  if (ArrayBuffer.isView(v)) return view(v);
  if (v instanceof Error) return tag('error', { name: v.name, message: v.message, stack: v.stack });
  const keys = Object.keys(v);
  if (keys.includes(TAG)) return tag('object', { entries: keys.map((k) => [k, toJsonIn(v[k])]) });
  return Object.fromEntries(keys.map((k) => [k, toJsonIn(v[k])]));
}

function fromNumber(x) {
  if (typeof x === 'number') return x;
  return { NaN, Infinity, '-Infinity': -Infinity, '-0': -0 }[x];
}

function fromBigint(s) {
  const neg = s.startsWith('-');
  const b = BigInt(neg ? s.slice(1) : s);
  return neg ? -b : b;
}

function fromView(type, h) {
  const bytes = Buffer.from(h, 'hex');
  if (type === 'Buffer') return bytes;
  const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  return type === 'DataView' ? new DataView(ab) : new VIEWS[type](ab);
}

function fromError(f) {
  const e = new (ERRORS[f.name] || Error)(f.message);
  if (f.stack !== undefined) e.stack = f.stack;
  if ('cause' in f) e.cause = fromJson(f.cause);
  return e;
}

const FROM = {
  undefined: () => undefined,
  int32: (f) => fromNumber(f.value),
  double: (f) => fromNumber(f.value),
  bigint: (f) => fromBigint(f.value),
  string: (f) => (f.utf16 ? String.fromCharCode(...f.utf16) : f.value),
  object: (f) => Object.fromEntries(f.entries.map(([k, x]) => [k, fromJson(x)])),
  array: (f) => {
    const a = new Array(f.elements.length);
    f.elements.forEach((x, i) => { if (!(x && x[TAG] === 'hole')) a[i] = fromJson(x); });
    for (const [k, x] of f.props || []) a[k] = fromJson(x);
    return a;
  },
  sparse: (f) => {
    const a = new Array(f.length);
    for (const [k, x] of f.props || []) a[k] = fromJson(x);
    return a;
  },
  date: (f) => new Date(fromNumber(f.value)),
  regexp: (f) => new RegExp(f.source, f.flags),
  map: (f) => new Map(f.entries.map(([k, x]) => [fromJson(k), fromJson(x)])),
  set: (f) => new Set(f.values.map(fromJson)),
  ArrayBuffer: (f) => { const b = Buffer.from(f.hex, 'hex'); return b.buffer.slice(b.byteOffset, b.byteOffset + b.length); },
  error: fromError,
  Boolean: (f) => Object(Boolean(f.value)),
  Number: (f) => Object(fromNumber(f.value)),
  BigInt: (f) => Object(fromBigint(f.value)),
  String: (f) => Object(String(f.value)),
};

// def and ref: an object named by its wire id (not one still being built:
// a cycle is refused).
let defs = null;

function fromJson(j) {
  if (defs === null) {
    defs = new Map();
    try { return fromJson(j); } finally { defs = null; }
  }
  if (j === null || typeof j !== 'object') return j;
  if (Array.isArray(j)) return j.map(fromJson);
  const type = j[TAG];
  if (type === 'def') { const v = fromJson(j.value); defs.set(j.id, v); return v; }
  if (type === 'ref') {
    if (!defs.has(j.id)) throw new Error(`${TAG} ref to ${j.id}, not defined before`);
    return defs.get(j.id);
  }
  if (type === undefined) return Object.fromEntries(Object.keys(j).map((k) => [k, fromJson(j[k])]));
  if (FROM[type]) return FROM[type](j);
  if (type === 'Buffer' || VIEWS[type]) return fromView(type, j.hex);
  throw new Error(`unknown ${TAG} form "${type}"`);
}

// Under 'advanced' only: in 'json' mode a message is its own JSON, and an
// object with a "$v8" key is just that. Node removes
// NODE_CHANNEL_SERIALIZATION_MODE from a worker's environment before its
// code runs: the harness says it as CLUSTERSIM_SERIALIZATION.
function advanced() {
  const cluster = require('node:cluster');
  const mode = cluster.isPrimary ? cluster.settings.serialization
    : process.env.CLUSTERSIM_SERIALIZATION;
  return mode === 'advanced';
}

const reported = (v) => (advanced() ? toJson(v) : v);
const wire = (j) => (advanced() ? fromJson(j) : j);

module.exports = { toJson, fromJson, reported, wire };
