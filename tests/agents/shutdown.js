'use strict';
// The graceful shutdown policy on a signal to the agent, forced exit of a
// worker that cannot leave, the `shutdown` command, and the loss of the
// control socket: in every case the agent exits and no worker outlives it.

const assert = require('node:assert/strict');
const net = require('node:net');
const { scenario, runScenarios, expectFlags, HTTP } = require('./driver');

function workerPids(h) {
  return h.messages((m) => m.type === 'event' && m.event === 'fork').map((m) => m.pid);
}

// A TCP server that accepts and keeps every connection, so that a worker
// holding a connection to it cannot exit after its disconnect.
async function sink() {
  const sockets = [];
  const server = net.createServer((s) => { s.on('error', () => {}); sockets.push(s); });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { port: server.address().port, close() { sockets.forEach((s) => s.destroy()); server.close(); } };
}

const onSigterm = scenario('SIGTERM to the agent: graceful shutdown, exit 0', async (h) => {
  await h.cmd({ cmd: 'setup', settings: { env: HTTP } });
  await h.cmd({ cmd: 'policy', shutdown: { signals: ['SIGTERM'], timeout_ms: 5000 }, respawn: 'always' });
  const ids = [await h.forkListening(), await h.forkListening()];
  process.kill(h.child.pid, 'SIGTERM');
  const start = await h.policy('shutdown-start');
  assert.equal(start.signal, 'SIGTERM');
  for (const id of ids) {
    const e = await h.ended(id);
    expectFlags(e.disconnect, { ead: true });
    expectFlags(e.exit, { ead: true, code: 0, signal: null });
  }
  const done = await h.policy('shutdown-done');
  assert.equal(h.messages((m) => m.action === 'shutdown-force').length, 0);
  assert.equal(h.messages((m) => m.action === 'respawn').length, 0, 'no respawn while shutting down');
  for (const m of h.messages((x) => x.type === 'event')) assert.ok(h.index(m) < h.index(done), 'done comes last');
  assert.deepEqual(await h.agentExit(), { code: 0, signal: null });
  await h.waitFor((m) => m.type === 'closed' && m.role === 'primary', 'control closed');
  await h.pidsGone(workerPids(h));
});

const forced = scenario('SIGINT with a worker that cannot leave: forced after the timeout', async (h) => {
  const s = await sink();
  try {
    await h.cmd({ cmd: 'setup', settings: { env: HTTP } });
    // Long enough for the free worker to leave by itself even on a busy machine.
    await h.cmd({ cmd: 'policy', shutdown: { timeout_ms: 1500 } });
    const a = await h.forkListening();
    const b = await h.forkListening();
    await h.toWorker(a, { cmd: 'hold', connections: 2, port: s.port });
    await h.observed(a, 'fault', (m) => m.fault === 'hold');
    await h.cmd({ cmd: 'status' });
    process.kill(h.child.pid, 'SIGINT');
    assert.equal((await h.policy('shutdown-start')).signal, 'SIGINT');
    expectFlags((await h.ended(b)).exit, { ead: true, code: 0 });
    await h.event('disconnect', 'cluster', a);
    const force = await h.policy('shutdown-force');
    assert.deepEqual(force.workers, [a]);
    expectFlags((await h.ended(a)).exit, { ead: true, code: null, signal: 'SIGKILL' });
    await h.policy('shutdown-done');
    assert.deepEqual(await h.agentExit(), { code: 0, signal: null });
    await h.pidsGone(workerPids(h));
  } finally {
    s.close();
  }
});

const command = scenario('shutdown command: reply first, then the same steps', async (h) => {
  await h.cmd({ cmd: 'setup', settings: { env: HTTP } });
  const a = await h.forkListening();
  const reply = await h.cmd({ cmd: 'shutdown', timeout_ms: 2000 });
  const start = await h.policy('shutdown-start');
  assert.ok(h.index(reply) < h.index(start));
  assert.equal(start.signal, null);
  expectFlags((await h.ended(a)).exit, { ead: true, code: 0 });
  await h.policy('shutdown-done');
  assert.deepEqual(await h.agentExit(), { code: 0, signal: null });
});

const lostControl = scenario('lost control socket: workers ended, agent exits', async (h) => {
  const s = await sink();
  try {
    await h.cmd({ cmd: 'setup', settings: { env: HTTP } });
    const a = await h.forkListening();
    await h.forkListening();
    await h.toWorker(a, { cmd: 'hold', connections: 1, port: s.port });
    await h.observed(a, 'fault');
    await h.cmd({ cmd: 'status' });
    const pids = workerPids(h);
    h.closeControl();
    assert.deepEqual(await h.agentExit(), { code: 0, signal: null });
    await h.pidsGone(pids);
    assert.equal(h.messages((m) => m.type === 'policy').length, 0, 'nothing is reported without a harness');
  } finally {
    s.close();
  }
});

const noPolicy = scenario('without the policy SIGTERM ends the primary; workers follow', async (h) => {
  await h.cmd({ cmd: 'setup', settings: { env: HTTP } });
  await h.forkListening();
  const pids = workerPids(h);
  process.kill(h.child.pid, 'SIGTERM');
  assert.deepEqual(await h.agentExit(), { code: null, signal: 'SIGTERM' });
  // Node's workers exit by themselves when their primary's channel closes.
  await h.pidsGone(pids);
});

runScenarios([onSigterm, forced, command, lostControl, noPolicy]);
