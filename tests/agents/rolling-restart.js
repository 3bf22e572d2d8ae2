'use strict';
// Rolling restart under a few keep-alive HTTP clients: each old worker is
// replaced by a fork that listens before the old one is disconnected; old
// workers leave gracefully and are not respawned; service goes on.

const assert = require('node:assert/strict');
const http = require('node:http');
const { scenario, runScenarios, expectFlags, HTTP } = require('./driver');

function request(agent, port) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(Number(res.headers['x-worker'])));
      res.on('error', () => resolve(null));
    });
    req.setTimeout(3000, () => req.destroy());
    req.on('error', () => resolve(null));
  });
}

// Sequential keep-alive requests until stop() or `max` of them.
function client(port, max = 400) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const served = [];
  let failed = 0;
  let stopped = false;
  const done = (async () => {
    for (let i = 0; i < max && !stopped; i++) {
      const w = await request(agent, port);
      if (w === null) failed++;
      else served.push(w);
    }
    agent.destroy();
  })();
  return { served, get failed() { return failed; }, stop() { stopped = true; return done; } };
}

const rolling = scenario('rolling restart of two workers under keep-alive load', async (h) => {
  await h.cmd({ cmd: 'setup', scheduling: 'rr', settings: { env: HTTP } });
  // Retired workers must not be replaced twice, even by "always".
  await h.cmd({ cmd: 'policy', respawn: 'always' });
  const olds = [await h.forkListening(), await h.forkListening()];
  const port = h.messages((m) => m.event === 'listening')[0].address.port;
  const clients = [client(port), client(port), client(port)];
  // The restart must find the load running: a builtin restart takes a few
  // milliseconds, less than a client's first request may.
  for (const t0 = Date.now(); !clients.every((c) => c.served.length > 0);) {
    assert.ok(Date.now() - t0 < 10000, 'every client served once before the restart');
    await new Promise((r) => setTimeout(r, 5));
  }

  await h.cmd({ cmd: 'rolling-restart', timeout_ms: 5000 });
  const done = await h.policy('restart-done');
  await Promise.all(clients.map((c) => c.stop()));
  assert.equal(done.ok, true, JSON.stringify(done));
  assert.deepEqual(done.restarted, olds);

  const steps = h.messages((m) => m.type === 'policy' && m.action.startsWith('restart-'));
  const news = steps.filter((s) => s.action === 'restart-fork').map((s) => s.new);
  assert.deepEqual(steps.map((s) => s.action),
    ['restart-fork', 'restart-disconnect', 'restart-fork', 'restart-disconnect', 'restart-done']);
  olds.forEach((old, i) => {
    const fork = steps.find((s) => s.action === 'restart-fork' && s.old === old);
    const disc = steps.find((s) => s.action === 'restart-disconnect' && s.worker === old);
    const listening = h.messages((m) => m.event === 'listening' && m.emitter === 'cluster' && m.worker === news[i])[0];
    const exit = h.messages((m) => m.event === 'exit' && m.emitter === 'cluster' && m.worker === old)[0];
    assert.ok(h.index(fork) < h.index(listening) && h.index(listening) < h.index(disc), 'replacement listens first');
    assert.ok(exit && h.index(disc) < h.index(exit), 'then the old worker is disconnected and exits');
    expectFlags(exit, { ead: true, code: 0, signal: null });
    if (i > 0) {
      const prevExit = h.messages((m) => m.event === 'exit' && m.emitter === 'cluster' && m.worker === olds[i - 1])[0];
      assert.ok(h.index(prevExit) < h.index(fork), 'one worker at a time');
    }
  });
  assert.equal(h.messages((m) => m.action === 'respawn').length, 0, 'retired workers are not respawned');
  assert.deepEqual((await h.cmd({ cmd: 'status' })).workers, news);

  const served = clients.flatMap((c) => c.served);
  assert.ok(served.length > 0, 'requests were served during the restart');
  const after = client(port, 6);
  await after.stop();
  assert.ok(after.served.length > 0 && after.served.every((w) => news.includes(w)),
    `after the restart only new workers serve: ${after.served}`);
  process.stdout.write(`# ${served.length} served, ${clients.reduce((n, c) => n + c.failed, 0)} failed during the restart\n`);
});

const refused = scenario('second rolling restart while one runs; empty cluster', async (h) => {
  const r = await h.cmd({ cmd: 'rolling-restart' });
  assert.equal(r.ok, true);
  const done = await h.policy('restart-done');
  assert.deepEqual([done.ok, done.restarted], [true, []]);
  // A replacement that never listens fails the restart after timeout_ms.
  await h.cmd({ cmd: 'fork', env: {} });
  await h.event('online', 'cluster', 1);
  await h.cmd({ cmd: 'rolling-restart', timeout_ms: 300 });
  const again = await h.cmd({ cmd: 'rolling-restart' }, { ok: false });
  assert.match(again.error, /already/);
  const failed = await h.policy('restart-done', (m) => m.ok === false);
  assert.match(failed.error, /worker 2 did not listen/);
  await h.cmd({ cmd: 'cluster-disconnect' });
  for (const id of [1, 2]) await h.ended(id);
});

runScenarios([rolling, refused]);
