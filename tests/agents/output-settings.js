'use strict';
// Silent workers' output as `output` records (docs/protocol.md §3.1), the
// `output` behaviour and fault, the `setup` event's settings, execArgv and
// the worker's args (§4.1, §4.2).

const assert = require('node:assert/strict');
const cp = require('node:child_process');
const path = require('node:path');
const { scenario, runScenarios, behaviour, workerCommand, jsonFromEnv } = require('./driver');

const CAP = 65536;

function outputs(h, worker, stream) {
  return h.messages((m) => m.type === 'output' && m.worker === worker && m.stream === stream);
}

async function ends(h, worker) {
  const e = {};
  for (const stream of ['stdout', 'stderr']) {
    e[stream] = await h.waitFor((m) => m.type === 'output' && m.worker === worker && m.stream === stream && m.end,
      `end of ${stream} of worker ${worker}`);
  }
  return e;
}

const lines = scenario('silent: each line a record, in order, per stream; the end with its bytes', async (h) => {
  await h.setup({ silent: true });
  const env = behaviour({
    output: [{ stream: 'stdout', line: 'first é ✓' }, { stream: 'stderr', line: 'oops', repeat: 3 },
      { stream: 'stdout', line: '' }, { stream: 'stdout', line: 'with\rcr' }],
  });
  const { worker } = await h.cmd({ cmd: 'fork', env });
  await h.observed(worker, 'started');
  await h.toWorker(worker, { cmd: 'output', stream: 'stdout', line: 'later' });
  await h.observed(worker, 'fault');
  // A natural end: Node's process.exit() may lose what a pipe has not
  // taken yet.
  await h.cmd({ cmd: 'cluster-disconnect' });
  await h.ended(worker);
  const e = await ends(h, worker);
  const out = outputs(h, worker, 'stdout').filter((m) => !m.end).map((m) => m.line);
  const err = outputs(h, worker, 'stderr').filter((m) => !m.end).map((m) => m.line);
  assert.deepEqual(out, ['first é ✓', '', 'with\rcr', 'later']);
  assert.deepEqual(err, ['oops', 'oops', 'oops']);
  const bytes = (ls) => ls.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
  assert.deepEqual([e.stdout.bytes, e.stdout.dropped], [bytes(out), 0]);
  assert.deepEqual([e.stderr.bytes, e.stderr.dropped], [bytes(err), 0]);
  assert.ok(outputs(h, worker, 'stdout').every((m) => m.pid === e.stdout.pid && typeof m.pid === 'number'));
});

const capped = scenario('output is bounded per worker; what is dropped is counted', async (h) => {
  await h.setup({ silent: true });
  const { worker } = await h.cmd({ cmd: 'fork', env: behaviour({}) });
  await h.observed(worker, 'started');
  const line = 'x'.repeat(1000);
  await h.toWorker(worker, { cmd: 'output', stream: 'stdout', line, repeat: 100 });
  await h.toWorker(worker, { cmd: 'output', stream: 'stderr', line: 'short' });
  await h.observed(worker, 'fault', (m) => m.stream === 'stderr');
  await h.cmd({ cmd: 'cluster-disconnect' });
  await h.ended(worker);
  const e = await ends(h, worker);
  const kept = outputs(h, worker, 'stdout').filter((m) => !m.end);
  assert.equal(kept.length, Math.floor(CAP / 1001));
  assert.equal(e.stdout.bytes, 100 * 1001);
  assert.equal(e.stdout.dropped, (100 - kept.length) * 1001);
  // Once the cap is reached nothing more of the worker is reported.
  assert.equal(outputs(h, worker, 'stderr').filter((m) => !m.end).length, 0);
  assert.deepEqual([e.stderr.bytes, e.stderr.dropped], [6, 6]);
});

// Lines as Node's Buffer#toString() decodes them, whoever reads the pipe:
// a worker of its own writes the bytes (not on the mixed targets, whose
// setup names the worker program).
const decoding = scenario('output lines are decoded as Node decodes UTF-8; U+0000 and CR kept', async (h) => {
  if (jsonFromEnv('CLUSTERSIM_TARGET_SETTINGS').exec !== undefined) return;
  const hello = h.messages((m) => m.type === 'hello' && m.role === 'primary')[0];
  const script = path.join(__dirname, 'write-bytes.js');
  await h.cmd({
    cmd: 'setup',
    settings: hello.runtime === 'node' ? { exec: script, args: [], silent: true }
      : { exec: process.execPath, args: [script], silent: true },
  });
  const { worker } = await h.cmd({ cmd: 'fork' });
  await h.ended(worker);
  const e = await h.waitFor((m) => m.type === 'output' && m.worker === worker && m.stream === 'stdout' && m.end, 'end');
  assert.deepEqual(outputs(h, worker, 'stdout').filter((m) => !m.end).map((m) => m.line),
    ['a\u0000b', '\ufffd\ufffd x \ufffd y \u{1f600} z\ufffd\ufffd\ufffd', 't\tq"\\\r', '\ufffd', 'end\ufffd']);
  assert.deepEqual([e.bytes, e.dropped], [38, 0]);
});

const notSilent = scenario('without silent no output record', async (h) => {
  await h.setup();
  const { worker } = await h.cmd({ cmd: 'fork', env: behaviour({ output: [{ stream: 'stdout', line: 'to the log' }] }) });
  await h.observed(worker, 'started');
  await h.cmd({ cmd: 'cluster-disconnect' });
  await h.ended(worker);
  assert.equal(h.messages((m) => m.type === 'output').length, 0);
});

const setupSettings = scenario('the setup event carries the settings of its own call', async (h) => {
  const cwd = path.resolve(__dirname);
  await h.setup({ silent: true });
  await h.setup({ cwd, execArgv: [] });
  await h.waitFor(() => h.messages((m) => m.event === 'setup').length >= 2, 'two setup events');
  const [a, b] = h.messages((m) => m.event === 'setup').map((m) => m.settings);
  assert.deepEqual(a, { args: [], execArgv: [], silent: true, cwd: null });
  assert.deepEqual(b, { args: [], execArgv: [], silent: true, cwd });
  const r = await h.cmd({ cmd: 'setup', settings: { execArgv: [1] } }, { ok: false });
  assert.match(r.error, /settings.execArgv must be an array of strings/);
});

// The worker's args reach it after its program, as given: reported in
// `started` and read as its options.
const args = scenario('args mean the same on every target: options of the worker, reported', async (h) => {
  await h.setup({ args: ['--messages', 'echo'] });
  const { worker } = await h.cmd({ cmd: 'fork', env: behaviour({}) });
  const started = await h.observed(worker, 'started');
  const own = jsonFromEnv('CLUSTERSIM_TARGET_SETTINGS').args || [];
  assert.deepEqual(started.args, [...own.slice(1), '--messages', 'echo']);
  assert.deepEqual(started.execArgv, []);
  await h.cmd({ cmd: 'send', worker, message: 'hi' });
  assert.deepEqual((await h.event('message', 'cluster', worker)).message, { echo: 'hi' });
  await h.cmd({ cmd: 'cluster-disconnect' });
  await h.ended(worker);
});

// Both worker agents take the same options and refuse the same (exit 64).
const options = scenario('the worker agents take the same options', async () => {
  const [cmd, ...pre] = workerCommand();
  const env = { ...process.env, CLUSTERSIM_CONTROL: '', CLUSTERSIM_WORKER: '' };
  const cases = [
    [['--bogus'], 64, "unknown or incomplete option '--bogus'"],
    [['--exclusive'], 64, "unknown or incomplete option '--exclusive'"],
    [['--http'], 64, '--http needs [HOST:]PORT'],
    [['--http', 'x:99999'], 64, "bad [HOST:]PORT 'x:99999'"],
    [['--messages', 'shout'], 64, "unknown or incomplete option '--messages'"],
    [['--signal', 'SIGKILL=ignore'], 64, 'signals: SIGKILL cannot be handled'],
  ];
  for (const [a, status, text] of cases) {
    const r = cp.spawnSync(cmd, [...pre, ...a], { env, encoding: 'utf8' });
    assert.equal(r.status, status, `${a.join(' ')}: ${r.stderr}`);
    assert.ok(r.stderr.includes(text), `${a.join(' ')}: ${r.stderr}`);
  }
  const ok = cp.spawnSync(cmd, [...pre, '--messages', 'echo', '--startup-delay', '0'], { env, encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
});

runScenarios([lines, capped, decoding, notSilent, setupSettings, args, options], { timeoutMs: 80000 });
