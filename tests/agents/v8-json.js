'use strict';
// The JSON form of messages under serialization 'advanced', as the Node
// agents write and read it (agents/node/lib/v8-json.cjs): every value goes
// back to one V8 writes with the same bytes, and the forms are the ones the
// C side writes (docs/ipc.md, "The JSON form"; sim/sim-value-json.c).

const assert = require('node:assert/strict');
const path = require('node:path');
const v8 = require('node:v8');

const root = process.env.CLUSTERSIM_SOURCE_DIR || path.join(__dirname, '..', '..');
const { toJson, fromJson } = require(path.join(root, 'agents', 'node', 'lib', 'v8-json.cjs'));

const shared = { s: 1 };
const cycle = { name: 'c' };
cycle.self = cycle;
const holey = [1, , 3]; // eslint-disable-line no-sparse-arrays

// [what, value, its JSON form]
const rows = [
  ['plain', { a: [1, 'x', null, true] }, { a: [1, 'x', null, true] }],
  ['undefined', undefined, { $v8: 'undefined' }],
  ['NaN', NaN, { $v8: 'double', value: 'NaN' }],
  ['-0', -0, { $v8: 'double', value: '-0' }],
  ['-Infinity', -Infinity, { $v8: 'double', value: '-Infinity' }],
  ['bigint', -123456789012345678901234567890n, { $v8: 'bigint', value: '-123456789012345678901234567890' }],
  ['long bigint', 1n << 2100n, { $v8: 'bigint', value: `0x${(1n << 2100n).toString(16)}` }],
  ['date', new Date(1700000000123), { $v8: 'date', value: 1700000000123, iso: '2023-11-14T22:13:20.123Z' }],
  ['regexp', /^a+$/gi, { $v8: 'regexp', source: '^a+$', flags: 'gi' }],
  ['map', new Map([['k', 1], [2n, 'v']]), { $v8: 'map', entries: [['k', 1], [{ $v8: 'bigint', value: '2' }, 'v']] }],
  ['set', new Set([1, 'two']), { $v8: 'set', values: [1, 'two'] }],
  ['holes', holey, { $v8: 'sparse', length: 3, props: [[0, 1], [2, 3]] }],
  ['buffer', Buffer.from([0, 255]), { $v8: 'Buffer', hex: '00ff' }],
  ['typed', new Uint16Array([1, 2]), { $v8: 'Uint16Array', hex: '01000200' }],
  ['array buffer', new Uint8Array([7]).buffer, { $v8: 'ArrayBuffer', hex: '07' }],
  ['$v8 key', { $v8: 1 }, { $v8: 'object', entries: [['$v8', 1]] }],
  ['shared', [shared, shared], [{ $v8: 'def', id: 1, value: { s: 1 } }, { $v8: 'ref', id: 1 }]],
  ['cycle', cycle, { $v8: 'def', id: 0, value: { name: 'c', self: { $v8: 'ref', id: 0 } } }],
];

let failed = 0;
for (const [what, value, form] of rows) {
  try {
    assert.deepEqual(toJson(value), form, `${what}: its form`);
    if (what !== 'cycle') {
      // the form read back is a value V8 writes with the same bytes
      assert.deepEqual(v8.serialize(fromJson(form)), v8.serialize(value), `${what}: bytes`);
    }
    console.log(`ok - ${what}`);
  } catch (e) {
    failed++;
    console.log(`not ok - ${what}: ${e.message}`);
  }
}
// a ref to nothing, and a form nobody knows, are refused, not guessed
for (const bad of [[{ $v8: 'ref', id: 4 }], { $v8: 'Float16Array', hex: '' }]) {
  try {
    fromJson(bad);
    failed++;
    console.log(`not ok - accepted ${JSON.stringify(bad)}`);
  } catch (e) {
    console.log(`ok - refused ${JSON.stringify(bad)}: ${e.message}`);
  }
}
process.exit(failed ? 1 : 0);
