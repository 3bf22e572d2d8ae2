'use strict';
// UDP sockets through the primary (docs/protocol.md §4.1): Node shares one
// bound socket between the workers whatever the scheduling policy; Node's
// `listening` address ("udp4", fd -1); every datagram answered once, and
// counted by the worker that got it.

const assert = require('node:assert/strict');
const dgram = require('node:dgram');
const { scenario, runScenarios, behaviour, cWorkers } = require('./driver');

// One datagram from a fresh socket; the worker that answered.
function datagram(port) {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      s.close();
      reject(new assert.AssertionError({ message: `no answer from udp port ${port}` }));
    }, 5000);
    s.on('message', (m) => {
      clearTimeout(timer);
      s.close();
      resolve(Number(/^worker (\d+)\n$/.exec(String(m))[1]));
    });
    s.send('hello', port, '127.0.0.1');
  });
}

function listenings(h, id) {
  return h.messages((m) => m.type === 'event' && m.event === 'listening' && m.emitter === 'cluster' && m.worker === id)
    .map((m) => m.address);
}

function udp(policy) {
  return scenario(`UDP sockets are shared through the primary (${policy})`, async (h) => {
    await h.setup({}, { scheduling: policy });
    const env = behaviour({ servers: [{ kind: 'udp4', port: 0, host: '127.0.0.1' }] });
    const { worker: a } = await h.cmd({ cmd: 'fork', env });
    const first = await h.waitFor((m) => m.type === 'observe' && m.worker === a &&
      (m.what === 'listening' || m.what === 'disconnect' || m.what === 'server-error'), `udp bind of worker ${a}`);
    assert.equal(first.what, 'listening', `worker ${a} (${cWorkers() ? 'C' : 'Node'}) took the shared socket`);
    await h.event('listening', 'cluster', a);
    const b = await h.forkListening(env);
    const [addr] = listenings(h, a);
    assert.deepEqual({ ...addr, port: 0 }, { addressType: 'udp4', address: '127.0.0.1', port: 0, fd: -1 });
    assert.deepEqual(listenings(h, b), [addr], 'one shared socket');
    const from = [];
    for (let i = 0; i < 20; i++) from.push(await datagram(addr.port));
    assert.ok(from.every((w) => w === a || w === b));
    await h.cmd({ cmd: 'cluster-disconnect' });
    for (const id of [a, b]) await h.ended(id);
    // Observations travel on each worker's own connection: wait for them.
    for (const id of [a, b]) await h.observed(id, 'server-close');
    const counts = h.messages((m) => m.what === 'server-close').map((m) => m.datagrams);
    assert.equal(counts.reduce((x, y) => x + y, 0), 20, `every datagram counted once: ${counts}`);
  });
}

runScenarios([udp('rr'), udp('none')], { timeoutMs: 60000 });
