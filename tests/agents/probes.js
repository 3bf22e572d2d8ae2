'use strict';
// What the harness samples in the same turn as an action (protocol §2:
// `probe`, `batch`, `status` with its callbacks), the primary program's own
// end (`throw`, `exit`), the `setup` event's settings, and a worker's own
// view of itself (§4.2: its flags on every observation, its start, a
// fault's `probe`, the `timer` fault). The same script for both agents.

const assert = require('node:assert/strict');
const { scenario, runScenarios, expectFlags, behaviour, HTTP, pidAlive } = require('./driver');

const killProbe = scenario('kill() returns undefined and leaves the worker connected', async (h) => {
  await h.cmd({ cmd: 'setup', settings: { env: HTTP } });
  const { worker } = await h.cmd({ cmd: 'fork' });
  await h.event('listening', 'cluster', worker);
  const r = await h.cmd({ cmd: 'kill', worker, probe: true });
  assert.equal(r.returned, null);
  assert.equal(r.worker, worker);
  assert.deepEqual(r.workers, [worker]);
  assert.equal(r.callbacks, 0);
  assert.equal(r.probe.length, 1);
  expectFlags(r.probe[0], { worker, ead: null, connected: true, dead: false, member: true, state: 'listening' }, 'probe');
  const e = await h.ended(worker);
  expectFlags(e.exit, { ead: false, signal: 'SIGTERM', code: null });
});

const batchProbe = scenario('a batch: fork and disconnect("last") in one turn', async (h) => {
  await h.cmd({ cmd: 'setup', settings: { env: HTTP } });
  const r = await h.cmd({ cmd: 'batch', cmds: [{ cmd: 'fork' }, { cmd: 'disconnect', worker: 'last', probe: true },
    { cmd: 'send', worker: 'last', message: 'x', probe: true }] });
  assert.equal(r.replies.length, 3);
  const id = r.replies[0].worker;
  assert.equal(r.replies[0].ok, true);
  assert.deepEqual(r.replies[1].returned, { worker: id }, 'disconnect() returns the worker');
  assert.deepEqual(r.replies[1].workers, [], 'out of cluster.workers at once');
  expectFlags(r.replies[1].probe[0], { worker: id, ead: true, member: false, state: 'none' }, 'probe');
  assert.equal(typeof r.replies[2].returned, 'boolean', 'send() returns a boolean');
  const online = await h.event('online', 'worker', id);
  expectFlags(online, { ead: true, member: false });
  await h.ended(id);
  assert.equal(h.messages((m) => m.event === 'listening' && m.worker === id).length, 0, 'never listening');
  const refused = await h.cmd({ cmd: 'batch', cmds: [{ cmd: 'status' }, { cmd: 'kill', worker: 99 }] }, { ok: false });
  assert.match(refused.error, /^command 2 \(kill\): no worker 99/);
  assert.equal(refused.replies.length, 1, 'what ran before the refusal');
  await h.cmd({ cmd: 'batch', cmds: [{ cmd: 'policy', respawn: 'always' }] }, { ok: false });
  await h.cmd({ cmd: 'batch', cmds: [] }, { ok: false });
});

const callbackProbe = scenario('cluster.disconnect(cb) with no workers: cb not yet run at the return', async (h) => {
  const r = await h.cmd({ cmd: 'cluster-disconnect', probe: true });
  assert.equal(r.callbacks, 0);
  assert.equal(r.returned, null);
  await h.event('disconnect-callback', 'cluster');
  assert.equal((await h.cmd({ cmd: 'status' })).callbacks, 1);
});

const settings = scenario('setup events carry the settings, cumulatively', async (h) => {
  await h.cmd({ cmd: 'setup', settings: { args: ['a', 'b'], env: HTTP } });
  const s1 = await h.event('setup', 'cluster');
  assert.deepEqual(s1.settings, { args: ['a', 'b'], execArgv: [], cwd: null, silent: false });
  await h.cmd({ cmd: 'setup', settings: { cwd: '/' } });
  await h.waitFor(() => h.messages((m) => m.event === 'setup').length >= 2, 'second setup');
  const { worker } = await h.cmd({ cmd: 'fork' });
  await h.waitFor(() => h.messages((m) => m.event === 'setup').length >= 3, 'the fork\'s setup');
  const all = h.messages((m) => m.event === 'setup');
  assert.deepEqual(all[1].settings, { args: ['a', 'b'], execArgv: [], cwd: '/', silent: false });
  assert.deepEqual(all[2].settings, { args: ['a', 'b'], execArgv: [], cwd: '/', silent: false });
  const started = await h.observed(worker, 'started');
  assert.deepEqual(started.args, ['a', 'b'], 'the args reach the worker');
  assert.equal(started.cwd, '/');
  assert.equal(started.env.NODE_UNIQUE_ID, undefined, 'NODE_UNIQUE_ID is gone from the worker\'s env');
  assert.equal(started.env.NODE_CHANNEL_FD, undefined);
  assert.equal(started.env.CLUSTERSIM_WORKER, undefined, 'the harness\'s own variables are left out');
  expectFlags(started, { state: 'online', ead: null, connected: true, dead: false }, 'started');
  await h.event('listening', 'cluster', worker);
  await h.cmd({ cmd: 'disconnect', worker });
  await h.ended(worker);
});

const workerView = scenario('a worker\'s own view: disconnect() and kill(signal)', async (h) => {
  await h.cmd({ cmd: 'setup', settings: { env: HTTP } });
  const a = (await h.cmd({ cmd: 'fork' })).worker;
  const b = (await h.cmd({ cmd: 'fork' })).worker;
  await h.event('listening', 'cluster', a);
  await h.event('listening', 'cluster', b);
  await h.toWorker(a, { cmd: 'disconnect', req: 1, probe: true });
  const pa = await h.observed(a, 'probe');
  expectFlags(pa, { fault: 'disconnect', req: 1, returned: { worker: a }, state: 'disconnecting', ead: true, connected: true, dead: false }, 'probe');
  const da = await h.observed(a, 'disconnect');
  expectFlags(da, { state: 'disconnecting', ead: true, connected: false }, 'disconnect');
  await h.toWorker(b, { cmd: 'kill', req: 2, signal: 'SIGKILL', probe: true });
  const pb = await h.observed(b, 'probe');
  expectFlags(pb, { fault: 'kill', returned: null, state: 'destroying', ead: true }, 'probe');
  const xb = await h.observed(b, 'exiting');
  expectFlags(xb, { code: 0, dead: true }, 'exiting');
  const e = await h.ended(b);
  expectFlags(e.exit, { code: 0, signal: null, ead: true }, 'the signal is ignored');
  const xa = await h.observed(a, 'exiting');
  expectFlags(xa, { code: 0, dead: false }, 'a natural end sets no exit code');
  await h.ended(a);
});

const timer = scenario('a pending timer keeps a worker alive after its own disconnect', async (h) => {
  await h.cmd({ cmd: 'setup', settings: { env: HTTP } });
  const { worker } = await h.cmd({ cmd: 'fork' });
  await h.event('listening', 'cluster', worker);
  await h.toWorker(worker, { cmd: 'timer', req: 1, ms: 400 });
  await h.toWorker(worker, { cmd: 'disconnect', req: 2 });
  const d = await h.event('disconnect', 'cluster', worker);
  const t = await h.observed(worker, 'timer');
  assert.equal(t.ms, 400);
  const x = await h.event('exit', 'cluster', worker);
  assert.ok(h.index(d) < h.index(x), 'the exit waits for the timer');
  assert.ok(h.index(t) < h.index(x));
});

function primaryEnd(name, cmd, code) {
  return scenario(`the primary program ends by itself: ${name}`, async (h) => {
    await h.cmd({ cmd: 'setup', settings: { env: HTTP } });
    const ids = [(await h.cmd({ cmd: 'fork' })).worker, (await h.cmd({ cmd: 'fork' })).worker];
    const pids = [];
    for (const id of ids) pids.push((await h.event('listening', 'cluster', id)).pid);
    await h.cmd(cmd);
    const end = await h.agentExit();
    assert.deepEqual(end, { code, signal: null });
    for (const id of ids) {
      const x = await h.observed(id, 'exiting');
      assert.equal(x.code, 0, 'a worker whose primary is gone exits 0 by itself');
    }
    await h.pidsGone(pids);
    assert.ok(!pids.some(pidAlive));
  });
}

runScenarios([killProbe, batchProbe, callbackProbe, settings, workerView, timer,
  primaryEnd('an uncaught error', { cmd: 'throw' }, 1),
  primaryEnd('process.exit(3)', { cmd: 'exit', code: 3 }, 3)]);
