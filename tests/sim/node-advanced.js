'use strict';
// The Node side of test-advanced.c: real node:cluster with
// `serialization: 'advanced'`, exchanging the codec's corpus
// (tests/serdes/corpus.c) with C peers. Run with --expose-internals, so
// that the oracle is what Node's own channel delivers for a value
// (writeChannelMessage() + parseChannelMessages() of
// lib/internal/child_process/serialization.js).
//
//   node --expose-internals node-advanced.js primary EXE N < rows.json
//     A Node primary forks N workers `EXE --adv-worker c` (process.execPath
//     is EXE), sends every row as {name, v: eval(js)} to each, and checks
//     each echo {name, ok, why, v}: ok is the C worker's verdict, v must
//     be what Node itself would have delivered. Prints [{worker, name,
//     ok, why}] on stdout.
//   node --expose-internals node-advanced.js worker
//     A Node worker of a C primary: for each {name, js, check?, v} it
//     checks v the same way and answers {name, ok, why, v: eval(js)}, for
//     the C primary to check the bytes Node writes.
//   node node-advanced.js tap-primary MODE EXE LOG WORKER... / tap-worker
//     One cluster life through test-advanced.c's wire tap (below).

const cluster = require('node:cluster');
const http = require('node:http');
const net = require('node:net');
const { isDeepStrictEqual, inspect } = require('node:util');

function evaluate(js) {
  return new Function(`return (${js});`)();
}

// Node's own channel, end to end, for one value (the tap's modes run
// without --expose-internals).
function roundTrip(value) {
  const { advanced } = require('internal/child_process/serialization');
  let out;
  const sink = { writeBuffer(req, buf) { out = Buffer.from(buf); return 0; } };
  advanced.writeChannelMessage(sink, {}, value, null);
  const channel = {};
  advanced.initMessageChannel(channel);
  return [...advanced.parseChannelMessages(channel, out)][0];
}

function invalidDate(v) {
  return v instanceof Date && Number.isNaN(v.getTime());
}

// null when `got` is what Node delivers for eval(js) and passes `check`.
function verdict(js, check, got) {
  const want = roundTrip(evaluate(js));
  if (invalidDate(want) ? !invalidDate(got) : !isDeepStrictEqual(got, want))
    return `got ${inspect(got, { depth: 4 })}, want ${inspect(want, { depth: 4 })}`;
  if (check && new Function('v', check)(got) !== true)
    return `check failed: ${check}`;
  return null;
}

async function readRows() {
  const chunks = [];
  for await (const c of process.stdin)
    chunks.push(c);
  return JSON.parse(Buffer.concat(chunks).toString());
}

async function primary(exe, n) {
  const rows = await readRows();
  const results = [];
  let pending = rows.length * n;
  const finish = () => {
    process.stdout.write(JSON.stringify(results), () => process.exit(0));
  };
  process.execPath = exe;
  cluster.setupPrimary({ exec: '--adv-worker', args: ['c'], execArgv: [],
                         serialization: 'advanced' });
  cluster.on('message', (w, m) => {
    const row = rows.find((r) => r.name === m.name);
    if (row === undefined)
      return;
    let why = m.ok ? verdict(row.js, row.check, m.v) : `C: ${m.why}`;
    results.push({ worker: w.id, name: row.name, ok: why === null, why });
    if (--pending === 0)
      cluster.disconnect();
  });
  cluster.on('exit', (w, code, signal) => {
    if (code !== 0)
      results.push({ worker: w.id, name: 'exit', ok: false,
                     why: `exited with ${code} ${signal}` });
    if (Object.keys(cluster.workers).length === 0)
      finish();
  });
  for (let i = 0; i < n; i++) {
    const w = cluster.fork();
    w.on('online', () => {
      for (const row of rows)
        w.send({ name: row.name, v: evaluate(row.js) });
    });
  }
  setTimeout(() => {
    results.push({ worker: 0, name: 'timeout', ok: false, why: 'timeout' });
    for (const w of Object.values(cluster.workers))
      w.process.kill('SIGKILL');
    finish();
  }, 30000).unref();
}

function worker() {
  process.on('message', (m) => {
    let why;
    try {
      why = verdict(m.js, m.check, m.v);
    } catch (e) {
      why = `threw ${e.message}`;
    }
    // Back goes the value as Node writes it from the row: what Node
    // writes for a value it has read is not always the same bytes (an
    // array V8 has read is holey: written sparse).
    process.send({ name: m.name, ok: why === null, why, v: evaluate(m.js) });
  });
}

// One cluster life for test-advanced.c's wire tap: the worker (through
// `EXE --tap LOG WORKER...`) listens, a client is served through the
// primary, a message goes out and its echo comes back, then the primary
// disconnects the worker.
function tapPrimary(serialization, exe, log, workerArgv) {
  process.execPath = exe;
  cluster.setupPrimary({ exec: '--tap', args: [log, ...workerArgv],
                         execArgv: [], serialization });
  const w = cluster.fork();
  w.on('listening', (address) => {
    const c = net.connect(address.port, '127.0.0.1', () => {
      c.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    });
    c.resume();
    c.on('end', () => w.send({ hello: 'from-primary' }));
  });
  w.on('message', () => w.disconnect());
  w.on('exit', (code, signal) => process.exit(code === 0 ? 0 : 1));
  setTimeout(() => process.exit(3), 30000).unref();
}

// The Node twin of `clustersim worker --http 127.0.0.1:0 --messages echo`.
function tapWorker() {
  const id = cluster.worker.id;
  http.createServer((req, res) => {
    res.setHeader('X-Worker', String(id));
    res.end(`worker ${id}\n`);
  }).listen(0, '127.0.0.1');
  process.on('message', (m) => process.send({ echo: m }));
}

const [mode, ...rest] = process.argv.slice(2);
if (mode === 'primary')
  primary(rest[0], Number(rest[1]));
else if (mode === 'worker' && cluster.isWorker)
  worker();
else if (mode === 'tap-primary')
  tapPrimary(rest[0], rest[1], rest[2], rest.slice(3));
else if (mode === 'tap-worker' && cluster.isWorker)
  tapWorker();
else {
  console.error('usage: node-advanced.js primary EXE N | worker | ' +
                'tap-primary MODE EXE LOG WORKER... | tap-worker');
  process.exit(2);
}
