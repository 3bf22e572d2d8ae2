'use strict';
// Servers on a UNIX-socket path through the primary (docs/protocol.md
// §4.1): Node's `listening` addresses, every worker serving, the path
// removed with the last server, and the behaviour's refusals (of UDP
// sockets too; udp.js runs them).

const assert = require('node:assert/strict');
const cp = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { scenario, runScenarios, behaviour, workerCommand } = require('./driver');

function request(where) {
  return new Promise((resolve, reject) => {
    const s = net.connect(where);
    let buf = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new assert.AssertionError({ message: `no answer on ${JSON.stringify(where)}` }));
    }, 5000);
    s.setEncoding('utf8');
    s.on('data', (d) => { buf += d; });
    s.on('error', (e) => { clearTimeout(timer); reject(e); });
    s.on('end', () => {
      clearTimeout(timer);
      const m = /\r\nX-Worker: (\d+)\r\n/i.exec(buf);
      resolve(m ? Number(m[1]) : null);
    });
    s.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  });
}

function listenings(h, id) {
  return h.messages((m) => m.type === 'event' && m.event === 'listening' && m.emitter === 'cluster' && m.worker === id)
    .map((m) => m.address);
}

function unix(policy) {
  return scenario(`UNIX-socket servers through the primary (${policy})`, async (h) => {
    await h.setup({}, { scheduling: policy });
    const sock = path.join(h.dir, 'http.sock');
    const env = behaviour({ servers: [{ kind: 'http', path: sock }] });
    const a = await h.forkListening(env);
    const b = await h.forkListening(env);
    for (const id of [a, b]) {
      assert.deepEqual(listenings(h, id), [{ addressType: -1, address: sock, port: -1, fd: null }]);
      const seen = await h.observed(id, 'listening');
      assert.deepEqual([seen.port, seen.path], [-1, sock]);
    }
    const served = new Set();
    for (let i = 0; i < 40 && served.size < 2; i++) served.add(await request({ path: sock }));
    if (policy === 'rr') assert.deepEqual([...served].sort(), [a, b], 'both workers serve the path');
    else assert.ok([...served].every((w) => w === a || w === b));
    await h.cmd({ cmd: 'cluster-disconnect' });
    for (const id of [a, b]) await h.ended(id);
    assert.equal(fs.existsSync(sock), false, 'the path is removed with the last server');
  });
}

// A path the primary cannot bind: the worker's server-error, no listening.
const unixInUse = scenario('a UNIX socket whose path exists is EADDRINUSE in the worker', async (h) => {
  await h.setup();
  const sock = path.join(h.dir, 'taken.sock');
  fs.writeFileSync(sock, '');
  const { worker } = await h.cmd({ cmd: 'fork', env: behaviour({ servers: [{ kind: 'tcp', path: sock }] }) });
  const err = await h.observed(worker, 'server-error');
  assert.equal(err.code, 'EADDRINUSE');
  assert.equal(listenings(h, worker).length, 0);
  await h.cmd({ cmd: 'kill', worker });
  await h.ended(worker);
});

// Bad servers are refused at start-up (exit 2), in the same words by both
// worker agents.
const refused = scenario('bad path and kind values are refused', async () => {
  const [cmd, ...args] = workerCommand();
  const cases = [
    [{ servers: [{ kind: 'udp5' }] }, 'servers[0].kind must be one of "http", "tcp", "udp4", "udp6"'],
    [{ servers: [{ kind: 'http', path: '' }] }, 'servers[0].path must be a non-empty string'],
    [{ servers: [{ kind: 'udp4', path: '/tmp/x' }] }, 'servers[0].path is for an http or tcp server without host or port'],
    [{ servers: [{ kind: 'http', path: '/tmp/x', port: 0 }] }, 'servers[0].path is for an http or tcp server without host or port'],
    [{ servers: [{ kind: 'http', path: 'x'.repeat(1024) }] }, 'servers[0].path is too long'],
  ];
  for (const [b, text] of cases) {
    const r = cp.spawnSync(cmd, args, { env: { ...process.env, CLUSTERSIM_CONTROL: '', CLUSTERSIM_WORKER: JSON.stringify(b) }, encoding: 'utf8' });
    assert.equal(r.status, 2, JSON.stringify(b));
    assert.ok(r.stderr.includes(text), `${r.stderr} names ${text}`);
  }
});

runScenarios([unix('rr'), unix('none'), unixInUse, refused], { timeoutMs: 80000 });
