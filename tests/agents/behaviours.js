'use strict';
// Worker behaviours from CLUSTERSIM_WORKER (docs/protocol.md §4.1): several
// listens, exclusive, tcp, max_connections, message modes, signals,
// on_listening actions, startup delay and slow close.

const assert = require('node:assert/strict');
const net = require('node:net');
const { scenario, runScenarios, expectFlags, behaviour } = require('./driver');

// One request on a fresh connection that stays open; resolves with the
// serving worker id and the socket.
function holdRequest(port) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let buf = '';
    const timer = setTimeout(() => { s.destroy(); reject(new assert.AssertionError({ message: `no response on port ${port}` })); }, 5000);
    s.setEncoding('utf8');
    s.on('connect', () => s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    s.on('data', (d) => {
      buf += d;
      const m = /\r\nX-Worker: (\d+)\r\n[\s\S]*\r\n\r\nworker \d+\n/i.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve({ worker: Number(m[1]), socket: s });
      }
    });
    s.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

function readAll(port) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let buf = '';
    s.setTimeout(5000, () => s.destroy(new assert.AssertionError({ message: `no end on port ${port}` })));
    s.setEncoding('utf8');
    s.on('data', (d) => { buf += d; });
    s.on('end', () => resolve(buf));
    s.on('error', reject);
  });
}

const twoListens = scenario('two listens per worker: ports by listen index', async (h) => {
  const env = behaviour({ servers: [{ kind: 'http', port: 0 }, { kind: 'tcp', port: 0, host: '127.0.0.1' }] });
  const a = await h.forkListening(env, 2);
  const b = await h.forkListening(env, 2);
  const ports = {};
  for (const id of [a, b]) {
    const ls = h.messages((m) => m.type === 'event' && m.event === 'listening' && m.emitter === 'cluster' && m.worker === id);
    assert.equal(ls.length, 2, 'one listening per server');
    ports[id] = ls.map((l) => l.address);
  }
  assert.deepEqual(ports[a], ports[b], 'the n-th listen of every worker shares one port');
  assert.notEqual(ports[a][0].port, ports[a][1].port, 'different listens, different ports');
  assert.equal(ports[a][1].address, '127.0.0.1');
  const text = await readAll(ports[a][1].port);
  assert.match(text, /^worker [12]\n$/, 'tcp servers write the worker id and close');
  await h.cmd({ cmd: 'cluster-disconnect' });
  for (const id of [a, b]) expectFlags((await h.ended(id)).exit, { code: 0, ead: true });
});

const exclusive = scenario('exclusive listens: no listening event, own ports', async (h) => {
  const env = behaviour({ servers: [{ kind: 'http', port: 0, exclusive: true }] });
  const ids = [(await h.cmd({ cmd: 'fork', env })).worker, (await h.cmd({ cmd: 'fork', env })).worker];
  const seen = [];
  for (const id of ids) seen.push((await h.observed(id, 'listening')).port);
  assert.notEqual(seen[0], seen[1], 'each exclusive server binds its own port');
  // The server is not the cluster's: disconnect leaves it open, so the
  // workers stay until killed.
  await h.cmd({ cmd: 'cluster-disconnect' });
  for (const id of ids) await h.event('disconnect', 'cluster', id);
  const ping = await holdRequest(seen[0]);
  assert.equal(ping.worker, ids[0], 'still serving after disconnect');
  ping.socket.destroy();
  for (const id of ids) await h.cmd({ cmd: 'kill', worker: id, signal: 'SIGKILL' });
  for (const id of ids) expectFlags((await h.ended(id)).exit, { ead: true, code: null, signal: 'SIGKILL' });
  assert.equal(h.messages((m) => m.event === 'listening').length, 0, 'no listening event for exclusive servers');
});

const maxConnections = scenario('max_connections sends extra connections elsewhere', async (h) => {
  await h.cmd({ cmd: 'setup', scheduling: 'rr' });
  const limited = await h.forkListening(behaviour({ servers: [{ kind: 'http', port: 0, max_connections: 1 }] }));
  const open = await h.forkListening(behaviour({ servers: [{ kind: 'http', port: 0 }] }));
  const port = h.messages((m) => m.event === 'listening')[0].address.port;
  const held = [];
  try {
    for (let i = 0; i < 6; i++) held.push(await holdRequest(port));
    const counts = { [limited]: 0, [open]: 0 };
    for (const r of held) counts[r.worker]++;
    assert.ok(counts[limited] <= 1, `at most one open connection on the limited worker: ${JSON.stringify(counts)}`);
    assert.ok(counts[open] >= 5, `the rest went to the other worker: ${JSON.stringify(counts)}`);
  } finally {
    held.forEach((r) => r.socket.destroy());
  }
});

const messageModes = scenario('message modes count, reply and none', async (h) => {
  const count = (await h.cmd({ cmd: 'fork', env: behaviour({ messages: 'count' }) })).worker;
  const reply = (await h.cmd({ cmd: 'fork', env: behaviour({ messages: 'reply' }) })).worker;
  const none = (await h.cmd({ cmd: 'fork', env: behaviour({}) })).worker;
  for (const id of [count, reply, none]) await h.observed(id, 'started');
  for (let i = 0; i < 3; i++) await h.cmd({ cmd: 'send', worker: count, message: `m${i}` });
  await h.waitFor((m) => m.event === 'message' && m.emitter === 'worker' && m.worker === count && m.message.count === 3, 'count 3');
  const counts = h.messages((m) => m.event === 'message' && m.emitter === 'worker' && m.worker === count).map((m) => m.message);
  assert.deepEqual(counts, [{ count: 1 }, { count: 2 }, { count: 3 }]);
  await h.cmd({ cmd: 'send', worker: reply, message: 42 });
  const r = await h.event('message', 'worker', reply);
  assert.deepEqual(r.message, { reply: 42 });
  await h.cmd({ cmd: 'send', worker: none, message: 'quiet' });
  await h.observed(none, 'message', (m) => m.message === 'quiet');
  // The worker's own send fault reaches the primary as a message.
  await h.toWorker(none, { cmd: 'send', message: { from: 'worker' } });
  const s = await h.event('message', 'cluster', none);
  assert.deepEqual(s.message, { from: 'worker' });
  const fromNone = h.messages((m) => m.event === 'message' && m.emitter === 'cluster' && m.worker === none);
  assert.equal(fromNone.length, 1, 'mode none answers nothing');
  await h.cmd({ cmd: 'cluster-disconnect' });
  for (const id of [count, reply, none]) expectFlags((await h.ended(id)).exit, { code: 0 });
});

const signals = scenario('signal handling: ignore, then exit:N', async (h) => {
  const env = behaviour({ servers: [{ kind: 'tcp', port: 0 }], signals: { SIGTERM: 'ignore', SIGINT: 'exit:5' } });
  const id = await h.forkListening(env);
  await h.cmd({ cmd: 'kill', worker: id });
  await h.observed(id, 'signal', (m) => m.signal === 'SIGTERM');
  // Still a connected member: the signal was ignored.
  assert.deepEqual((await h.cmd({ cmd: 'status' })).workers, [id]);
  assert.equal(h.messages((m) => m.event === 'exit').length, 0);
  await h.cmd({ cmd: 'kill', worker: id, signal: 'SIGINT' });
  const e = await h.ended(id);
  expectFlags(e.exit, { ead: false, code: 5, signal: null });
});

const onListening = scenario('on_listening actions and the listening event', async (h) => {
  // Inside the listen callback, before node:cluster's own listener: exiting,
  // disconnecting or closing the channel means the primary never hears of
  // the listen, as on Node v20.
  const cases = [['exit:3', { code: 3, ead: false }], ['disconnect', { code: 0, ead: true }],
    ['ipc-disconnect', { code: 0, ead: false }]];
  for (const [action, want] of cases) {
    const env = behaviour({ servers: [{ kind: 'http', port: 0 }], on_listening: action });
    const id = (await h.cmd({ cmd: 'fork', env })).worker;
    await h.observed(id, 'fault', (m) => m.fault === 'on_listening' && m.action === action);
    expectFlags((await h.ended(id)).exit, { ...want, signal: null });
    assert.deepEqual(h.sequence(id).filter((e) => e.endsWith(':listening')), [], `${action}: no listening`);
  }
  // cluster.worker.kill() waits for the primary's ack before it closes the
  // channel, so `listening` still arrives, with ead already true.
  const k = (await h.cmd({ cmd: 'fork', env: behaviour({ servers: [{ kind: 'http', port: 0 }], on_listening: 'kill' }) })).worker;
  expectFlags(await h.event('listening', 'cluster', k), { ead: true, connected: true });
  expectFlags((await h.ended(k)).exit, { code: 0, ead: true, signal: null });
  // close: the server closes inside its callback; the worker stays.
  const id = (await h.cmd({ cmd: 'fork', env: behaviour({ servers: [{ kind: 'http', port: 0 }], on_listening: 'close' }) })).worker;
  await h.observed(id, 'server-close');
  assert.deepEqual((await h.cmd({ cmd: 'status' })).workers, [id]);
  await h.cmd({ cmd: 'disconnect', worker: id });
  expectFlags((await h.ended(id)).exit, { code: 0, ead: true });
  assert.deepEqual(h.sequence(id).filter((e) => e.endsWith(':listening')), []);
});

const slowStartAndClose = scenario('startup delay and slow close', async (h) => {
  const env = behaviour({ servers: [{ kind: 'http', port: 0, close_delay_ms: 300 }], startup_delay_ms: 200 });
  const id = (await h.cmd({ cmd: 'fork', env })).worker;
  const started = await h.observed(id, 'started');
  const online = await h.event('online', 'cluster', id);
  const listening = await h.event('listening', 'cluster', id);
  assert.ok(listening.t > online.t && listening.t > started.t);
  await h.toWorker(id, { cmd: 'close-servers' });
  const closed = await h.observed(id, 'server-close');
  assert.equal(closed.index, 0);
  // close-servers leaves the worker connected.
  assert.deepEqual((await h.cmd({ cmd: 'status' })).workers, [id]);
  await h.toWorker(id, { cmd: 'close-servers' });
  await h.cmd({ cmd: 'disconnect', worker: id });
  expectFlags((await h.ended(id)).exit, { code: 0, ead: true });
  assert.equal(h.messages((m) => m.what === 'server-close').length, 1, 'a server closes once');
});

runScenarios([twoListens, exclusive, maxConnections, messageModes, signals, onListening, slowStartAndClose]);
