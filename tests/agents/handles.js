'use strict';
// Handles with messages (docs/protocol.md §2.2): the primary's own servers
// and the connections they hold, sent to workers that serve them (`adopt`)
// or listen on them, keep_open, connections workers send up, the `message`
// events that carry them, and the refusals of the commands.

const assert = require('node:assert/strict');
const net = require('node:net');
const { scenario, runScenarios, behaviour } = require('./driver');

const ADOPT = behaviour({ adopt: { kind: 'http' }, messages: 'echo' });

// An HTTP request on a new connection (Connection: close): the X-Worker of
// the answer. The connection is made before the promise is returned.
function request(port, { host = '127.0.0.1', localAddress } = {}) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host, localAddress });
    let buf = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new assert.AssertionError({ message: `no answer on port ${port}: ${JSON.stringify(buf)}` }));
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

async function forkOnline(h, env, n) {
  const ids = [];
  for (let i = 0; i < n; i++) ids.push((await h.cmd({ cmd: 'fork', env })).worker);
  for (const id of ids) await h.event('online', 'cluster', id);
  return ids;
}

async function serve(h, server, extra = {}) {
  await h.cmd({ cmd: 'serve', server, ...extra });
  return h.waitFor((m) => m.type === 'handle' && m.server === server && (m.what === 'listening' || m.what === 'error'),
    `serve ${server}`);
}

const heldConnection = (h, server, from) => h.waitFor((m) => m.type === 'handle' && m.what === 'connection' && m.server === server,
  `a connection of ${server}`, { from });

async function end(h, ids) {
  await h.cmd({ cmd: 'cluster-disconnect' });
  for (const id of ids) await h.ended(id);
}

const sendSocket = scenario('a held connection sent to a worker is served there', async (h) => {
  await h.setup();
  const [a, b] = await forkOnline(h, ADOPT, 2);
  const { port } = await serve(h, 's1');
  const mark = h.log.length;
  const answer = request(port);
  const conn = await heldConnection(h, 's1', mark);
  assert.equal(conn.remote_address, '127.0.0.1');
  assert.equal(typeof conn.remote_port, 'number');
  await h.cmd({ cmd: 'send-handle', worker: b, conn: conn.conn, message: { route: 'b' } });
  assert.equal(await answer, b, 'the worker it was sent to answers');
  const seen = await h.observed(b, 'handle');
  assert.deepEqual([seen.kind, seen.message, seen.action], ['socket', { route: 'b' }, 'serve']);
  assert.equal(h.messages((m) => m.what === 'message' && m.worker === b).length, 0, 'not a message observation');
  // Without keep_open the connection left the primary.
  const gone = await h.cmd({ cmd: 'close-handle', conn: conn.conn }, { ok: false });
  assert.match(gone.error, /no connection/);
  await end(h, [a, b]);
});

const sendServer = scenario('a server sent to a worker is listened on there; closed in the primary it is the worker\'s', async (h) => {
  await h.setup();
  const [a] = await forkOnline(h, ADOPT, 1);
  const { port } = await serve(h, 's1');
  await h.cmd({ cmd: 'send-handle', worker: a, server: 's1' });
  const seen = await h.observed(a, 'handle');
  assert.deepEqual([seen.kind, seen.message, seen.action, seen.port], ['server', { clustersim: 'handle' }, 'listen', port]);
  await h.cmd({ cmd: 'close-handle', server: 's1' });
  assert.equal(await request(port), a);
  assert.equal(await request(port), a);
  // Node's listen(handle) is exclusive: no `listening`, and a disconnect
  // does not close it.
  assert.equal(h.messages((m) => m.event === 'listening').length, 0);
  await h.cmd({ cmd: 'cluster-disconnect' });
  await h.event('disconnect', 'cluster', a);
  assert.equal(await request(port), a, 'still served after the disconnect');
  await h.toWorker(a, { cmd: 'close-servers' });
  await h.ended(a);
});

const keepOpen = scenario('keep_open leaves the connection held in the primary', async (h) => {
  await h.setup();
  const [a] = await forkOnline(h, ADOPT, 1);
  const { port } = await serve(h, 's1');
  const mark = h.log.length;
  const answer = request(port);
  const conn = await heldConnection(h, 's1', mark);
  await h.cmd({ cmd: 'send-handle', worker: a, conn: conn.conn, keep_open: true });
  assert.equal(await answer, a);
  await h.cmd({ cmd: 'close-handle', conn: conn.conn });
  await h.cmd({ cmd: 'close-handle', server: 's1' });
  await end(h, [a]);
});

const noAdopt = scenario('without adopt a received handle is closed', async (h) => {
  await h.setup();
  const [a] = await forkOnline(h, behaviour({ messages: 'echo' }), 1);
  const { port } = await serve(h, 's1');
  const mark = h.log.length;
  const s = net.connect({ port, host: '127.0.0.1' });
  const closed = new Promise((resolve) => {
    s.on('error', () => {});
    s.on('close', resolve);
  });
  const conn = await heldConnection(h, 's1', mark);
  await h.cmd({ cmd: 'send-handle', worker: a, conn: conn.conn });
  const seen = await h.observed(a, 'handle');
  assert.deepEqual([seen.kind, seen.action], ['socket', 'close']);
  await closed;
  await h.cmd({ cmd: 'close-handle', server: 's1' });
  await end(h, [a]);
});

const queued = scenario('messages sent behind a handle arrive after it, in order', async (h) => {
  await h.setup();
  const [a] = await forkOnline(h, ADOPT, 1);
  const { port } = await serve(h, 's1');
  const mark = h.log.length;
  const answer = request(port);
  const conn = await heldConnection(h, 's1', mark);
  await h.cmd({ cmd: 'send', worker: a, message: { n: 1 } });
  await h.cmd({ cmd: 'send-handle', worker: a, conn: conn.conn, message: { n: 2 } });
  await h.cmd({ cmd: 'send', worker: a, message: { n: 3 } });
  await h.cmd({ cmd: 'send', worker: a, message: { n: 4 } });
  await h.observed(a, 'message', (m) => m.message.n === 4);
  const order = h.messages((m) => m.type === 'observe' && m.worker === a && (m.what === 'message' || m.what === 'handle'))
    .map((m) => m.message.n);
  assert.deepEqual(order, [1, 2, 3, 4]);
  assert.equal(await answer, a);
  // The echoes come back in order too, and the handle's message is not
  // echoed.
  await h.waitFor(() => h.messages((m) => m.event === 'message' && m.emitter === 'cluster' && m.worker === a).length >= 3, 'echoes');
  const echoes = h.messages((m) => m.event === 'message' && m.emitter === 'cluster' && m.worker === a).map((m) => m.message.echo.n);
  assert.deepEqual(echoes, [1, 3, 4]);
  await h.cmd({ cmd: 'close-handle', server: 's1' });
  await end(h, [a]);
});

const sendUp = scenario('a worker sends a connection up; the primary holds it and passes it on', async (h) => {
  await h.setup();
  const [a, b] = await forkOnline(h, ADOPT, 2);
  const { port } = await serve(h, 's1');
  const mark = h.log.length;
  await h.toWorker(a, { cmd: 'send-handle', port: port, message: { up: true } });
  // The primary's own server accepts the worker's connection (one held
  // connection), and the worker's end of it comes up with the message.
  const got = await h.waitFor((m) => m.type === 'handle' && m.what === 'received', 'received', { from: mark });
  assert.deepEqual([got.worker, got.kind], [a, 'socket']);
  const msgs = h.messages((m) => m.event === 'message' && m.worker === a);
  await h.event('message', 'worker', a);
  const both = h.messages((m) => m.event === 'message' && m.worker === a);
  assert.deepEqual(both.map((m) => [m.emitter, m.handle, m.message]),
    [['cluster', 'socket', { up: true }], ['worker', 'socket', { up: true }]]);
  assert.ok(msgs.length >= 1);
  const ci = h.index(both[0]);
  const ri = h.index(got);
  const wi = h.index(both[1]);
  assert.ok(ci < ri && ri < wi, 'cluster message, then the handle held, then the Worker\'s message');
  // Passed on to worker b: b now holds the worker-side end, the primary's
  // server the other; the server end answers nothing, b's end is served
  // by nobody either: what matters is that b got it.
  await h.cmd({ cmd: 'send-handle', worker: b, conn: got.conn, message: { passed: true } });
  const seen = await h.observed(b, 'handle');
  assert.deepEqual([seen.kind, seen.message], ['socket', { passed: true }]);
  await h.cmd({ cmd: 'close-handle', server: 's1' });
  for (const c of h.messages((m) => m.type === 'handle' && m.what === 'connection')) {
    await h.cmd({ cmd: 'close-handle', conn: c.conn }, { ok: null });
  }
  await end(h, [a, b]);
});

const refusals = scenario('serve, send-handle and close-handle refuse what cannot apply', async (h) => {
  await h.setup();
  const [a] = await forkOnline(h, ADOPT, 1);
  const bad = [
    [{ cmd: 'serve' }, /server must be a name/],
    [{ cmd: 'serve', server: 'x'.repeat(65) }, /server must be a name/],
    [{ cmd: 'serve', server: 's', port: 70000 }, /port must be an integer/],
    [{ cmd: 'serve', server: 's', host: 5 }, /host must be a string/],
    [{ cmd: 'serve', server: 's', path: '' }, /path must be a non-empty string/],
    [{ cmd: 'serve', server: 's', path: '/tmp/x', port: 1 }, /path excludes host and port/],
    [{ cmd: 'send-handle', worker: a }, /give one of "conn" and "server"/],
    [{ cmd: 'send-handle', worker: a, conn: 1, server: 's' }, /give one of "conn" and "server"/],
    [{ cmd: 'send-handle', worker: a, conn: 99 }, /no connection 99/],
    [{ cmd: 'send-handle', worker: a, conn: 'x' }, /"conn" must be an integer id/],
    [{ cmd: 'send-handle', worker: a, server: 'nope' }, /no server "nope"/],
    [{ cmd: 'send-handle', worker: 9, server: 'nope' }, /no worker 9/],
    [{ cmd: 'close-handle', server: 'nope' }, /no server "nope"/],
    [{ cmd: 'close-handle' }, /give one of "conn" and "server"/],
  ];
  for (const [cmd, re] of bad) {
    const r = await h.cmd(cmd, { ok: false });
    assert.match(r.error, re, JSON.stringify(cmd));
  }
  await serve(h, 's1');
  assert.match((await h.cmd({ cmd: 'serve', server: 's1' }, { ok: false })).error, /server "s1" exists/);
  assert.match((await h.cmd({ cmd: 'send-handle', worker: a, server: 's1', keep_open: 1 }, { ok: false })).error,
    /keep_open must be a boolean/);
  // A port in use: reported after the reply, and the name is free again.
  const busy = await serve(h, 's2', { port: (await serveSecond(h)).port });
  assert.equal(busy.what, 'error');
  assert.equal(busy.error.code, 'EADDRINUSE');
  await serve(h, 's2');
  await h.cmd({ cmd: 'close-handle', server: 's1' });
  await h.cmd({ cmd: 'close-handle', server: 's2' });
  await h.cmd({ cmd: 'close-handle', server: 's3' });
  await end(h, [a]);
});

function serveSecond(h) {
  return serve(h, 's3');
}

const closedChannel = scenario('send-handle to a disconnected worker is its error; the handle stays held', async (h) => {
  await h.setup();
  const [a] = await forkOnline(h, ADOPT, 1);
  await h.cmd({ cmd: 'serve', server: 's1' });
  const { port } = await h.waitFor((m) => m.type === 'handle' && m.what === 'listening', 'listening');
  const mark = h.log.length;
  const s = net.connect({ port, host: '127.0.0.1' });
  s.on('error', () => {});
  const conn = await heldConnection(h, 's1', mark);
  await h.cmd({ cmd: 'disconnect', worker: a });
  await h.ended(a);
  await h.cmd({ cmd: 'send-handle', worker: a, conn: conn.conn });
  const err = await h.event('error', 'worker', a);
  assert.equal(err.error.code, 'ERR_IPC_CHANNEL_CLOSED');
  await h.cmd({ cmd: 'close-handle', conn: conn.conn });
  await h.cmd({ cmd: 'close-handle', server: 's1' });
  s.destroy();
});

runScenarios([sendSocket, sendServer, keepOpen, noAdopt, queued, sendUp, refusals, closedChannel], { timeoutMs: 80000 });
