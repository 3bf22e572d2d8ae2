'use strict';
// A real Node v20 primary running clustersim C workers.
//
// cluster.fork() runs `process.execPath [execArgv] exec args`, so with
// process.execPath pointing at clustersim and exec = 'worker' every worker
// is `clustersim worker --http 127.0.0.1:0 --messages echo`; cluster still
// sets NODE_UNIQUE_ID and child_process NODE_CHANNEL_FD. The scheduling
// policy comes from NODE_CLUSTER_SCHED_POLICY, as in any Node primary.
//
// Every event is recorded per worker with the flags sampled inside the
// listener; the script then serves HTTP requests through the shared port,
// echoes one message per worker, calls cluster.disconnect(cb) and prints a
// JSON summary on stdout for test-mixed.c to assert.
//
// usage: node node-primary.js <path of clustersim>
const cluster = require('node:cluster');
const http = require('node:http');

const WORKERS = 2;
const REQUESTS = 8;

process.execPath = process.argv[2];
cluster.setupPrimary({
  exec: 'worker',
  args: ['--http', '127.0.0.1:0', '--messages', 'echo'],
});

const summary = {
  policy: cluster.schedulingPolicy === cluster.SCHED_RR ? 'rr' : 'none',
  events: [],
  served: [],
  cb: 0,
  cbDead: null,
  errors: [],
};

function record(w, name, extra) {
  summary.events.push({
    ev: name,
    id: w.id,
    ead: w.exitedAfterDisconnect === undefined ? null : w.exitedAfterDisconnect,
    conn: w.isConnected(),
    dead: w.isDead(),
    inWorkers: cluster.workers[w.id] === w,
    state: w.state,
    ...extra,
  });
}

function details(ev, args) {
  switch (ev) {
    case 'listening': return { address: args[0] };
    case 'exit': return { code: args[0], signal: args[1] };
    case 'message': return { message: JSON.stringify(args[0]) };
    default: return {};
  }
}

let listening = 0;
let echoes = 0;
let exits = 0;
let disconnects = 0;
let port = 0;

function finish(code) {
  process.stdout.write(JSON.stringify(summary) + '\n', () => process.exit(code));
}

function request(n) {
  if (n === REQUESTS) {
    for (const id of Object.keys(cluster.workers))
      cluster.workers[id].send({ hello: Number(id) });
    return;
  }
  // One at a time, so that under round-robin every worker is idle again.
  const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false,
                         headers: { Connection: 'close' } }, (res) => {
    summary.served.push(Number(res.headers['x-worker'] || -1));
    res.resume();
    res.on('end', () => request(n + 1));
  });
  req.on('error', (e) => { summary.errors.push('request: ' + e.code); finish(1); });
}

for (const ev of ['online', 'listening', 'disconnect', 'exit', 'message']) {
  cluster.on(ev, (w, ...args) => {
    record(w, 'cluster:' + ev, details(ev, args));
    if (ev === 'listening' && ++listening === WORKERS) {
      port = args[0].port;
      request(0);
    }
    // `disconnect` and `exit` may come in either order: wait for both.
    if (ev === 'exit') exits++;
    if (ev === 'disconnect') disconnects++;
    if ((ev === 'exit' || ev === 'disconnect') && exits === WORKERS &&
        disconnects === WORKERS)
      setImmediate(() => finish(0));
  });
}

cluster.on('fork', (w) => {
  record(w, 'cluster:fork', {});
  for (const ev of ['online', 'listening', 'disconnect', 'exit', 'message'])
    w.on(ev, (...args) => record(w, 'worker:' + ev, details(ev, args)));
  // The Worker's listener runs after cluster's for a message: act here so
  // both emitters saw the same flags.
  w.on('message', () => {
    if (++echoes === WORKERS) {
      cluster.disconnect(() => {
        summary.cb++;
        summary.cbDead = all.filter((x) => x.isDead()).length;
        summary.events.push({ ev: 'disconnect-cb', id: 0 });
      });
    }
  });
  w.on('error', (e) => summary.errors.push(`worker ${w.id}: ${e.code}`));
});

const all = [];
for (let i = 0; i < WORKERS; i++)
  all.push(cluster.fork());

// The watchdog also keeps the primary alive: after its last `exit` a late
// `disconnect` must still be read (Node's channel does not hold the loop).
setTimeout(() => {
  summary.errors.push('timeout');
  for (const w of all) w.process.kill('SIGKILL');
  finish(1);
}, 10000);
