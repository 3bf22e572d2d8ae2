'use strict';
// Primary policies (docs/protocol.md §2.1): respawn modes and back-off,
// heartbeat kill-and-replace of a hung worker, the metrics endpoint.

const assert = require('node:assert/strict');
const http = require('node:http');
const { scenario, runScenarios, expectFlags, behaviour, HTTP } = require('./driver');

function respawns(h) {
  return h.messages((m) => m.type === 'policy' && m.action === 'respawn');
}

// A `status` round trip: a respawn with no delay is decided inside the exit
// handler, so one that did not happen before this reply never will.
async function settle(h) {
  await h.cmd({ cmd: 'status' });
}

const respawnModes = scenario('respawn modes decide on ead, code and signal', async (h) => {
  await h.cmd({ cmd: 'setup', settings: { env: HTTP } });
  await h.cmd({ cmd: 'policy', respawn: 'unless-exited-after-disconnect' });
  const a = await h.forkListening();
  await h.toWorker(a, { cmd: 'crash', code: 3 });
  await h.ended(a);
  const r = await h.policy('respawn');
  assert.deepEqual([r.old, r.delay_ms], [a, 0]);
  const b = r.new;
  // The respawn comes after the reported exit and before the new fork.
  const exitAt = h.index(await h.event('exit', 'cluster', a));
  const forkAt = h.index(await h.event('fork', 'cluster', b));
  assert.ok(exitAt < h.index(r) && h.index(r) < forkAt, 'exit, respawn, fork');
  await h.event('listening', 'cluster', b);
  await h.cmd({ cmd: 'disconnect', worker: b });
  expectFlags((await h.ended(b)).exit, { ead: true, code: 0 });
  await settle(h);
  assert.equal(respawns(h).length, 1, 'no respawn after a disconnect');

  await h.cmd({ cmd: 'policy', respawn: 'on-nonzero' });
  const c = await h.forkListening();
  await h.toWorker(c, { cmd: 'crash', code: 0 });
  await h.ended(c);
  await settle(h);
  assert.equal(respawns(h).length, 1, 'on-nonzero: exit 0 is not respawned');
  const d = await h.forkListening();
  await h.cmd({ cmd: 'kill', worker: d, signal: 'SIGKILL' });
  await h.ended(d);
  const rd = await h.policy('respawn', (m) => m.old === d);
  await h.event('listening', 'cluster', rd.new);

  await h.cmd({ cmd: 'policy', respawn: 'always' });
  await h.cmd({ cmd: 'disconnect', worker: rd.new });
  const re = await h.policy('respawn', (m) => m.old === rd.new);
  await h.event('listening', 'cluster', re.new);
  await h.cmd({ cmd: 'policy', respawn: 'never' });
  await h.cmd({ cmd: 'kill', worker: re.new });
  await h.ended(re.new);
  await settle(h);
  assert.equal(respawns(h).length, 3);
  assert.deepEqual((await h.cmd({ cmd: 'status' })).workers, []);
  const m = h.messages((x) => x.type === 'event' && x.event === 'fork' && x.worker === re.new)[0];
  assert.ok(m, 'the respawned worker was forked through the cluster');
});

const backoff = scenario('back-off doubles along start-up crashes, up to the cap', async (h) => {
  await h.cmd({ cmd: 'policy', respawn: 'always', backoff_ms: 20, backoff_max_ms: 70, startup_window_ms: 60000 });
  const crash = behaviour({ servers: [{ kind: 'tcp', port: 0 }], on_listening: 'exit:9' });
  await h.cmd({ cmd: 'fork', env: crash });
  await h.waitFor(() => respawns(h).length >= 4, 'four respawns');
  await h.cmd({ cmd: 'policy', respawn: 'never' });
  const delays = respawns(h).map((r) => r.delay_ms);
  assert.deepEqual(delays.slice(0, 4), [20, 40, 70, 70]);
  // Every respawn reuses the dead worker's env: each one crashed again.
  const last = respawns(h).at(-1).new;
  expectFlags((await h.ended(last)).exit, { code: 9 });
  await settle(h);
  const n = respawns(h).length;
  assert.ok(n === 4 || n === 5, `respawning stops when switched off (${n})`);
  assert.deepEqual((await h.cmd({ cmd: 'status' })).workers, []);
});

const heartbeat = scenario('heartbeat kills and replaces a hung worker', async (h) => {
  await h.cmd({ cmd: 'setup', settings: { env: HTTP } });
  await h.cmd({ cmd: 'policy', respawn: 'unless-exited-after-disconnect', heartbeat: { interval_ms: 50, timeout_ms: 1000 } });
  const a = await h.forkListening();
  const pong = await h.waitFor((m) => m.event === 'message' && m.emitter === 'cluster' && m.worker === a &&
    m.message.clustersim === 'pong', 'a pong');
  assert.equal(typeof pong.message.n, 'number');
  // Pings are answered, not echoed or observed as user messages.
  assert.equal(h.messages((m) => m.message && m.message.echo).length, 0);
  await h.toWorker(a, { cmd: 'hang', ms: 5000 });
  const kill = await h.policy('heartbeat-kill');
  assert.equal(kill.worker, a);
  const e = await h.ended(a, { disconnect: false });
  expectFlags(e.exit, { ead: false, code: null, signal: 'SIGKILL' });
  const r = await h.policy('respawn', (m) => m.old === a);
  await h.event('listening', 'cluster', r.new);
  await h.cmd({ cmd: 'policy', heartbeat: null, respawn: 'never' });
  assert.equal(h.messages((m) => m.action === 'heartbeat-kill').length, 1, 'only the hung worker was killed');
});

function getJson(port, path) {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    }).on('error', reject);
  });
}

const metrics = scenario('metrics endpoint counts workers, forks, exits, respawns', async (h) => {
  await h.cmd({ cmd: 'setup', settings: { env: HTTP } });
  await h.cmd({ cmd: 'policy', metrics: { port: 0 }, respawn: 'on-nonzero' });
  const { port } = await h.policy('metrics-listening');
  assert.ok(port > 0);
  let m = JSON.parse((await getJson(port, '/metrics')).body);
  assert.deepEqual(m, { workers: 0, forks: 0, exits: 0, respawns: 0 });
  const a = await h.forkListening();
  await h.forkListening();
  await h.toWorker(a, { cmd: 'crash', code: 4 });
  const r = await h.policy('respawn');
  await h.event('listening', 'cluster', r.new);
  m = JSON.parse((await getJson(port, '/metrics')).body);
  assert.deepEqual(m, { workers: 2, forks: 3, exits: 1, respawns: 1 });
  assert.equal((await getJson(port, '/other')).status, 404);
  await h.cmd({ cmd: 'policy', metrics: null });
  await assert.rejects(getJson(port, '/metrics'), /ECONNREFUSED/, 'switched off');
});

runScenarios([respawnModes, backoff, heartbeat, metrics]);
