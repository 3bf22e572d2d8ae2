'use strict';
// cluster.disconnect() and its callback, reported as `disconnect-callback`:
// asynchronous even without workers, and with workers it runs at the first
// removal after the call, i.e. before any worker has both of its
// disconnect and exit reported, as observed on Node v20.

const assert = require('node:assert/strict');
const { scenario, runScenarios, expectFlags, behaviour, HTTP } = require('./driver');

function callbacks(h) {
  return h.messages((m) => m.type === 'event' && m.event === 'disconnect-callback');
}

const noWorkers = scenario('callback with no workers comes after the reply', async (h) => {
  const reply = await h.cmd({ cmd: 'cluster-disconnect' });
  const cb = await h.event('disconnect-callback', 'cluster');
  assert.ok(h.index(reply) < h.index(cb), 'never synchronous');
  assert.equal(cb.worker, undefined);
  assert.equal(typeof cb.t, 'number');
});

const threeWorkers = scenario('callback timing with three listening workers', async (h) => {
  await h.cmd({ cmd: 'setup', settings: { env: HTTP } });
  const ids = [];
  for (let i = 0; i < 3; i++) ids.push((await h.cmd({ cmd: 'fork' })).worker);
  for (const id of ids) await h.event('listening', 'cluster', id);

  await h.cmd({ cmd: 'cluster-disconnect' });
  assert.deepEqual((await h.cmd({ cmd: 'status' })).workers, [], 'members are removed at once');
  const cb = await h.event('disconnect-callback', 'cluster');
  const before = h.log.slice(0, h.index(cb)).map((e) => e.msg);
  const finished = ids.filter((id) => ['disconnect', 'exit'].every((ev) =>
    before.some((m) => m.type === 'event' && m.worker === id && m.event === ev && m.emitter === 'cluster')));
  assert.deepEqual(finished, [], 'the callback precedes every worker\'s last lifecycle event');
  for (const id of ids) {
    const e = await h.ended(id);
    expectFlags(e.disconnect, { ead: true, connected: false, member: false, state: 'disconnected' });
    expectFlags(e.exit, { ead: true, dead: true, member: false, code: 0, signal: null });
  }
  assert.equal(callbacks(h).length, 1, 'one callback per call');
});

const twice = scenario('one callback per call, fork afterwards works', async (h) => {
  await h.cmd({ cmd: 'setup', settings: { env: HTTP } });
  const a = await h.forkListening();
  await h.cmd({ cmd: 'cluster-disconnect' });
  await h.ended(a);
  await h.event('disconnect-callback', 'cluster');
  const b = await h.forkListening();
  assert.equal(b, a + 1);
  await h.cmd({ cmd: 'cluster-disconnect' });
  await h.ended(b);
  const at = h.log.length;
  await h.cmd({ cmd: 'status' });
  await h.waitFor((m) => callbacks(h).length === 2, 'second callback', { from: at });
});

// An exclusive server keeps the worker alive after cluster.disconnect(), so
// the callback waits; Node then runs it inside a later worker.disconnect()
// (removeWorker empties the map again). The reply still comes first.
const insideCommand = scenario('a callback fired inside a later command follows its reply', async (h) => {
  const a = (await h.cmd({ cmd: 'fork', env: behaviour({ servers: [{ kind: 'tcp', port: 0, exclusive: true }] }) })).worker;
  await h.observed(a, 'listening');
  await h.cmd({ cmd: 'cluster-disconnect' });
  await h.event('disconnect', 'cluster', a);
  await h.cmd({ cmd: 'status' });
  assert.equal(callbacks(h).length, 0, 'still pending while the worker lives');
  const reply = await h.cmd({ cmd: 'disconnect', worker: a });
  const cb = await h.event('disconnect-callback', 'cluster');
  assert.ok(h.index(reply) < h.index(cb), 'reply first');
  assert.ok(cb.t <= reply.t, 'but the callback ran inside the command');
  await h.cmd({ cmd: 'kill', worker: a, signal: 'SIGKILL' });
  expectFlags((await h.ended(a)).exit, { ead: true, signal: 'SIGKILL' });
});

runScenarios([noWorkers, threeWorkers, twice, insideCommand]);
