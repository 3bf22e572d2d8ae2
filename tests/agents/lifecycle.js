'use strict';
// Lifecycle events and flags through the primary agent: fork, online,
// listening, messages, primary disconnect, primary kill, worker-side kill and
// crash (docs/protocol.md §2-§4; the flags are Node v20's, as the scenarios
// state them).

const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const { scenario, runScenarios, expectFlags, HTTP } = require('./driver');

function get(port) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, worker: res.headers['x-worker'], body }));
    });
    req.setTimeout(5000, () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
  });
}

const startAndServe = scenario('fork, online, listening and a shared port', async (h) => {
  await h.cmd({ cmd: 'setup', scheduling: 'rr', settings: { env: HTTP } });
  const setup = await h.event('setup', 'cluster');
  assert.equal(setup.worker, undefined);
  const one = (await h.cmd({ cmd: 'fork' })).worker;
  const two = (await h.cmd({ cmd: 'fork' })).worker;
  assert.deepEqual([one, two], [1, 2], 'ids start at 1');
  const ports = [];
  for (const id of [one, two]) {
    const fork = await h.event('fork', 'cluster', id);
    expectFlags(fork, { ead: null, connected: true, dead: false, member: true, state: 'none' });
    for (const em of ['worker', 'cluster']) {
      expectFlags(await h.event('online', em, id), { ead: null, connected: true, dead: false, member: true, state: 'online' });
      const l = await h.event('listening', em, id);
      expectFlags(l, { ead: null, connected: true, dead: false, member: true, state: 'listening' });
      assert.equal(l.address.addressType, 4);
      assert.equal(l.address.address, null, 'a host-less listen reports address null');
      assert.equal(l.address.fd, null);
      ports.push(l.address.port);
    }
    const hello = await h.waitFor((m) => m.type === 'hello' && m.role === 'worker' && m.id === id, `hello of ${id}`);
    assert.equal(hello.pid, fork.pid, 'the worker hello and the events name the same pid');
    // Workers run the agent's own executable (process.execPath for node),
    // whatever it is called: this is what makes --runtime work.
    assert.equal(fs.readlinkSync(`/proc/${fork.pid}/exe`), fs.readlinkSync(`/proc/${h.child.pid}/exe`));
    const seen = await h.observed(id, 'listening');
    assert.equal(seen.index, 0);
    assert.equal(seen.port, ports[ports.length - 1]);
  }
  assert.ok(ports.every((p) => p === ports[0] && p > 0), `one port for every worker: ${ports}`);
  // Every fork emits its own setup, before its fork event.
  assert.equal(h.messages((m) => m.event === 'setup').length, 3);

  const res = await get(ports[0]);
  assert.equal(res.status, 200);
  assert.ok(['1', '2'].includes(res.worker), `served by a worker: ${res.worker}`);
  assert.equal(res.body, `worker ${res.worker}\n`);

  const at = h.log.length;
  await h.cmd({ cmd: 'send', worker: one, message: { hello: [1, 'x'] } });
  const seen = await h.observed(one, 'message', (m) => m.message.hello !== undefined, { from: at });
  assert.deepEqual(seen.message, { hello: [1, 'x'] });
  const c = await h.event('message', 'cluster', one, { from: at });
  const w = await h.event('message', 'worker', one, { from: at });
  assert.deepEqual(c.message, { echo: { hello: [1, 'x'] } });
  assert.deepEqual(w.message, c.message);
  assert.ok(h.index(c) < h.index(w), 'cluster:message comes before worker:message');
  assert.deepEqual((await h.cmd({ cmd: 'status' })).workers, [1, 2]);

  // Primary-side disconnect: gone from cluster.workers at once, ead true.
  await h.cmd({ cmd: 'disconnect', worker: one });
  assert.deepEqual((await h.cmd({ cmd: 'status' })).workers, [2], 'disconnect() removes the worker at once');
  const d = await h.ended(one);
  expectFlags(d.disconnect, { ead: true, connected: false, dead: false, member: false, state: 'disconnected' });
  expectFlags(d.exit, { ead: true, connected: false, dead: true, member: false, state: 'dead', code: 0, signal: null });
  await h.observed(one, 'server-close');
  await h.observed(one, 'disconnect');
  await h.observed(one, 'exiting', (m) => m.code === 0);

  // Primary-side kill: plain kill(2), ead false.
  await h.cmd({ cmd: 'kill', worker: two });
  const k = await h.ended(two);
  expectFlags(k.disconnect, { ead: false, connected: false });
  expectFlags(k.exit, { ead: false, dead: true, member: false, code: null, signal: 'SIGTERM' });
  assert.deepEqual((await h.cmd({ cmd: 'status' })).workers, []);
});

const workerSide = scenario('worker-side kill, crash and uncaught throw', async (h) => {
  await h.cmd({ cmd: 'setup', settings: { env: HTTP } });
  // cluster.worker.kill(): graceful, ead true, code 0, whatever the signal.
  const a = await h.forkListening();
  await h.toWorker(a, { cmd: 'kill' });
  await h.observed(a, 'fault', (m) => m.fault === 'kill');
  const ka = await h.ended(a);
  expectFlags(ka.disconnect, { ead: true, connected: false });
  expectFlags(ka.exit, { ead: true, dead: true, code: 0, signal: null });

  const b = await h.forkListening();
  await h.toWorker(b, { cmd: 'crash', code: 7 });
  const kb = await h.ended(b);
  expectFlags(kb.disconnect, { ead: false });
  expectFlags(kb.exit, { ead: false, code: 7, signal: null });
  await h.observed(b, 'exiting', (m) => m.code === 7);

  const c = await h.forkListening();
  await h.toWorker(c, { cmd: 'throw' });
  expectFlags((await h.ended(c)).exit, { ead: false, code: 1, signal: null });

  // process.disconnect() in the worker: Node makes it exit 0, ead false.
  const d = await h.forkListening();
  await h.toWorker(d, { cmd: 'ipc-disconnect' });
  const kd = await h.ended(d);
  expectFlags(kd.exit, { ead: false, code: 0, signal: null });
  await h.observed(d, 'disconnect');

  // cluster.worker.disconnect(): servers close, then the worker leaves by
  // itself with ead true.
  const e = await h.forkListening();
  await h.toWorker(e, { cmd: 'disconnect' });
  const ke = await h.ended(e);
  expectFlags(ke.disconnect, { ead: true });
  expectFlags(ke.exit, { ead: true, code: 0, signal: null });

  // crash with hold_channel_ms: a process the worker started keeps the
  // channel open past the exit, so the worker is still a member at its
  // exit and leaves cluster.workers at the disconnect that follows.
  const f = await h.forkListening();
  await h.toWorker(f, { cmd: 'crash', code: 0, hold_channel_ms: 300 });
  const kf = await h.ended(f);
  expectFlags(kf.exit, { ead: false, connected: true, dead: true, member: true, state: 'dead', code: 0 });
  expectFlags(kf.disconnect, { ead: false, connected: false, member: false, state: 'disconnected' });
  assert.deepEqual(h.sequence(f).filter((x) => x.startsWith('worker:')).slice(-2), ['worker:exit', 'worker:disconnect']);
  assert.deepEqual([a, b, c, d, e, f], [1, 2, 3, 4, 5, 6], 'ids are never reused');
});

runScenarios([startAndServe, workerSide]);
