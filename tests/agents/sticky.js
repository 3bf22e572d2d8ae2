'use strict';
// The sticky-session policy (docs/protocol.md §2.1): affinity by remote
// address over several loopback source addresses, the table frozen by the
// first connection, a dead worker's addresses moving together to one other
// worker, an empty table taken by the next worker online, and the policy's
// refusals.

const assert = require('node:assert/strict');
const net = require('node:net');
const { scenario, runScenarios, behaviour, sleep } = require('./driver');

const ADOPT = behaviour({ adopt: { kind: 'http' } });
// Linux routes all of 127/8 to lo: each of these is a client of its own.
const ADDRESSES = Array.from({ length: 10 }, (_, i) => `127.0.0.${i + 2}`);

// One request from `localAddress`; the X-Worker of the answer, or null when
// the connection ended without one.
function request(port, localAddress) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress });
    let buf = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new assert.AssertionError({ message: `no answer from ${localAddress}` }));
    }, 5000);
    s.setEncoding('utf8');
    s.on('data', (d) => { buf += d; });
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      const m = /\r\nX-Worker: (\d+)\r\n/i.exec(buf);
      resolve(m ? Number(m[1]) : null);
    });
    s.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  });
}

// `rounds` requests from every address; the worker of each address, which
// must be the same every time.
async function affinity(port, rounds) {
  const map = {};
  for (let r = 0; r < rounds; r++) {
    for (const a of ADDRESSES) {
      const w = await request(port, a);
      assert.notEqual(w, null, `${a} was answered`);
      if (map[a] !== undefined) assert.equal(w, map[a], `${a} keeps its worker`);
      map[a] = w;
    }
  }
  return map;
}

async function start(h, n, policy = {}) {
  await h.setup();
  const ids = [];
  for (let i = 0; i < n; i++) ids.push((await h.cmd({ cmd: 'fork', env: ADOPT })).worker);
  for (const id of ids) await h.event('online', 'cluster', id);
  await h.cmd({ cmd: 'policy', sticky: { port: 0 }, ...policy });
  const { port } = await h.policy('sticky-listening');
  return { ids, port };
}

const crash = scenario('affinity per address; a dead worker\'s addresses move together to one worker', async (h) => {
  const { ids, port } = await start(h, 3);
  const before = await affinity(port, 3);
  const table = await h.policy('sticky-table');
  assert.deepEqual(table.workers, ids, 'one position per worker, in online order');
  assert.ok(new Set(Object.values(before)).size >= 2, `the addresses spread: ${JSON.stringify(before)}`);
  const victim = before[ADDRESSES[0]];
  await h.toWorker(victim, { cmd: 'crash', code: 3 });
  const move = await h.policy('sticky-move');
  assert.equal(move.from, victim);
  assert.ok(ids.includes(move.to) && move.to !== victim, `moved to a live worker: ${JSON.stringify(move)}`);
  await h.event('exit', 'cluster', victim);
  const after = await affinity(port, 3);
  for (const a of ADDRESSES) {
    if (before[a] === victim) assert.equal(after[a], move.to, `${a} moved with the others`);
    else assert.equal(after[a], before[a], `${a} stayed`);
  }
  assert.equal(h.messages((m) => m.type === 'policy' && m.action === 'sticky-move').length, 1);
  // Every connection reached its worker as a handle with the policy's
  // message.
  const handles = h.messages((m) => m.type === 'observe' && m.what === 'handle');
  assert.equal(handles.length, ADDRESSES.length * 6);
  assert.ok(handles.every((m) => m.message.clustersim === 'sticky' && m.action === 'serve'));
  await h.cmd({ cmd: 'cluster-disconnect' });
  for (const id of ids.filter((i) => i !== victim)) await h.ended(id);
});

const respawned = scenario('a replacement takes no address from a live worker', async (h) => {
  const { ids, port } = await start(h, 2, { respawn: 'always' });
  const before = await affinity(port, 2);
  const victim = ids[0];
  await h.toWorker(victim, { cmd: 'crash', code: 1 });
  const { new: fresh } = await h.policy('respawn');
  await h.event('online', 'cluster', fresh);
  const after = await affinity(port, 2);
  for (const a of ADDRESSES) assert.equal(after[a], before[a] === victim ? ids[1] : before[a], a);
  await h.cmd({ cmd: 'policy', respawn: 'never' });
  await h.cmd({ cmd: 'cluster-disconnect' });
  for (const id of [ids[1], fresh]) await h.ended(id);
});

const emptied = scenario('with no worker left the positions stay empty; the next worker online takes them all', async (h) => {
  const { ids, port } = await start(h, 1);
  assert.equal(await request(port, ADDRESSES[0]), ids[0]);
  await h.cmd({ cmd: 'disconnect', worker: ids[0] });
  const move = await h.policy('sticky-move');
  assert.deepEqual([move.from, move.to], [ids[0], null]);
  await h.ended(ids[0]);
  assert.equal(await request(port, ADDRESSES[1]), null, 'closed: nobody to take it');
  const next = (await h.cmd({ cmd: 'fork', env: ADOPT })).worker;
  const take = await h.policy('sticky-move', (m) => m.to === next);
  assert.equal(take.from, null);
  assert.deepEqual(take.positions, [0]);
  assert.equal(await request(port, ADDRESSES[1]), next);
  await h.cmd({ cmd: 'cluster-disconnect' });
  await h.ended(next);
});

const switchedOff = scenario('sticky: null closes the server; bad values are refused', async (h) => {
  const { ids, port } = await start(h, 1);
  for (const [v, re] of [[5, /sticky must be an object or null/], [{ port: -1 }, /sticky.port must be 0..65535/],
    [{ host: 7 }, /sticky.host must be an address/]]) {
    assert.match((await h.cmd({ cmd: 'policy', sticky: v }, { ok: false })).error, re);
  }
  await h.cmd({ cmd: 'policy', sticky: null });
  for (let i = 0; ; i++) {
    const refused = await new Promise((resolve) => {
      const s = net.connect({ port, host: '127.0.0.1' });
      s.on('error', (e) => resolve(e.code === 'ECONNREFUSED'));
      s.on('connect', () => { s.destroy(); resolve(false); });
    });
    if (refused) break;
    assert.ok(i < 50, 'the sticky server closes');
    await sleep(20);
  }
  await h.cmd({ cmd: 'cluster-disconnect' });
  await h.ended(ids[0]);
});

runScenarios([crash, respawned, emptied, switchedOff], { timeoutMs: 80000 });
