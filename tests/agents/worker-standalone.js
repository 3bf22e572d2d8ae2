'use strict';
// The worker agent outside any harness and any cluster: with no
// CLUSTERSIM_CONTROL it just applies CLUSTERSIM_WORKER; a bad behaviour is
// refused at start-up. The command comes from CLUSTERSIM_WORKER_CMD.

const assert = require('node:assert/strict');
const cp = require('node:child_process');
const { workerCommand } = require('./driver');

function run(behaviour, ms = 10000) {
  const [cmd, ...args] = workerCommand();
  const env = { ...process.env, CLUSTERSIM_WORKER: behaviour };
  delete env.CLUSTERSIM_CONTROL;
  return new Promise((resolve, reject) => {
    const child = cp.spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr });
    });
  });
}

async function main() {
  // Exiting in the listen callback proves the server was started.
  let r = await run(JSON.stringify({ servers: [{ kind: 'tcp', port: 0, host: '127.0.0.1' }], on_listening: 'exit:5' }));
  assert.deepEqual([r.code, r.signal], [5, null], r.stderr);
  r = await run(JSON.stringify({ servers: [{ kind: 'http', port: 0 }], on_listening: 'close' }));
  assert.deepEqual([r.code, r.signal], [0, null], `nothing left to keep it alive: ${r.stderr}`);
  for (const bad of ['{', '[]', '{"servers":[{"kind":"udp"}]}', '{"messages":"shout"}', '{"extra":1}',
    '{"signals":{"SIGKILL":"ignore"}}', '{"on_listening":"explode"}', '{"startup_delay_ms":-1}']) {
    r = await run(bad);
    assert.equal(r.code, 2, `${bad} is refused: ${JSON.stringify(r)}`);
    assert.match(r.stderr, /clustersim worker agent/);
  }
  process.stdout.write('ok - standalone worker agent\n');
}

const watchdog = setTimeout(() => {
  process.stderr.write('FAIL: watchdog\n');
  process.exit(1);
}, 40000);
main().then(() => {
  clearTimeout(watchdog);
  process.exit(0);
}, (err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(err instanceof assert.AssertionError ? 1 : 99);
});
