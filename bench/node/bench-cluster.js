'use strict';
// The Node.js side of bench/run.sh: the figures of bench-cluster.c with
// node:cluster and Node workers, printed as `figure NAME TARGET UNIT VALUE`
// lines (bench/bench.h). Prints, never asserts; a watchdog ends it.
//   node bench-cluster.js MODE [-t TARGET] [-n N] [-r RUNS] [-b BATCH]
//                         [-p rr|none] [-x EXECPATH]
// MODE: fork, respawn, pingpong, oneway-up, oneway-down, serve (as in
// bench-cluster.c). The same file is the worker, unless -x names another
// program: cluster.fork() runs `execPath worker`, so with -x pointing at
// bench-cluster a Node primary times C workers (target node-c).
const cluster = require('node:cluster');

if (cluster.isWorker) {
  const http = require('node:http');
  if (process.env.BENCH_HTTP) {
    const id = cluster.worker.id;
    http.createServer((req, res) => {
      res.setHeader('Content-Type', 'text/plain');
      res.setHeader('X-Worker', String(id));
      res.end(`worker ${id}\n`);
    }).listen(0, '127.0.0.1');
    return;
  }
  let sink = 0;
  let got = 0;
  process.on('message', (m) => {
    if (sink > 0) {
      if (++got === sink) {
        process.send({ got });
        sink = 0;
      }
      return;
    }
    if (m && typeof m.flood === 'number') {
      const n = m.flood;
      const batch = m.batch || 1;
      let sent = 0;
      const next = () => {
        for (let k = 0; k < batch && sent < n; k++) {
          const last = k + 1 === batch && sent + 1 < n;
          process.send({ n: sent++ }, last ? next : undefined);
        }
      };
      next();
      return;
    }
    if (m && typeof m.sink === 'number') {
      sink = m.sink;
      got = 0;
      return;
    }
    process.send({ echo: m });
  });
  return;
}

const args = process.argv.slice(2);
const mode = args.shift();
const opt = { t: 'node', n: 1, r: 1, b: 256, p: 'rr' };
for (let i = 0; i + 1 < args.length; i += 2) opt[args[i].replace(/^-/, '')] = args[i + 1];
const n = Number(opt.n);
const runs = Number(opt.r);
const batch = Number(opt.b);
const target = opt.t;
const now = () => Number(process.hrtime.bigint()) / 1e6;
const figure = (name, unit, v) => console.log(`figure ${name} ${target} ${unit} ${Number(v.toPrecision(6))}`);
const watchdog = setTimeout(() => { console.error('bench-cluster.js: watchdog fired'); process.exit(1); }, 120000);
watchdog.unref();
cluster.schedulingPolicy = opt.p === 'none' ? cluster.SCHED_NONE : cluster.SCHED_RR;
if (opt.x) {
  process.execPath = opt.x;
  cluster.setupPrimary({ exec: 'worker' });
}

function forkMode() {
  let run = 0;
  let exited = 0;
  const startRun = () => {
    const start = now();
    let online = 0;
    for (let i = 0; i < n; i++) {
      const t = now();
      const w = cluster.fork();
      w.on('online', () => {
        if (n === 1) figure('start.fork-online', 'ms', now() - t);
        if (++online < n) return;
        if (n > 1) figure(`start.online-${n}`, 'ms', now() - start);
        cluster.disconnect(() => {});
      });
    }
  };
  // cluster.workers empties at disconnect(), before the exits: count exits.
  cluster.on('exit', () => {
    if (++exited < n) return;
    exited = 0;
    if (++run < runs) setImmediate(startRun);
  });
  startRun();
}

function respawnMode() {
  let cycles = 0;
  let t0 = 0;
  const spawn = () => {
    const w = cluster.fork();
    w.on('online', () => {
      if (cycles > 0) figure('start.respawn', 'ms', now() - t0);
      if (cycles++ === runs) {
        w.disconnect();
        return;
      }
      // A crash from outside, the same on both sides of bench/run.sh.
      t0 = now();
      w.process.kill('SIGKILL');
    });
    w.on('exit', () => { if (cycles <= runs) spawn(); });
  };
  spawn();
}

function ipcMode() {
  const w = cluster.fork();
  let count = 0;
  let t0 = 0;
  const done = (name, unit) => {
    figure(name, unit, n / ((now() - t0) / 1000));
    w.disconnect();
  };
  let sent = 0;
  const down = () => {
    for (let k = 0; k < batch && sent < n; k++) {
      const last = k + 1 === batch && sent + 1 < n;
      w.send({ n: sent++ }, last ? down : undefined);
    }
  };
  w.on('online', () => {
    t0 = now();
    if (mode === 'pingpong') w.send({ n: 0 });
    else if (mode === 'oneway-up') w.send({ flood: n, batch });
    else {
      w.send({ sink: n });
      down();
    }
  });
  w.on('message', () => {
    if (mode === 'pingpong') {
      if (++count === n) done('ipc.pingpong', 'rtt/s');
      else w.send({ n: count });
    } else if (mode === 'oneway-up') {
      if (++count === n) done('ipc.oneway.up', 'msgs/s');
    } else {
      done('ipc.oneway.down', 'msgs/s');
    }
  });
}

function serveMode() {
  let listening = 0;
  for (let i = 0; i < n; i++) cluster.fork({ BENCH_HTTP: '1' });
  cluster.on('listening', (w, address) => {
    if (++listening === n) console.log(`listening ${address.port}`);
  });
  // Workers still starting may not disconnect: they are killed after 3 s.
  const stop = () => {
    cluster.disconnect();
    setTimeout(() => {
      for (const w of Object.values(cluster.workers)) w.process.kill('SIGKILL');
    }, 3000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

const modes = {
  fork: forkMode,
  respawn: respawnMode,
  pingpong: ipcMode,
  'oneway-up': ipcMode,
  'oneway-down': ipcMode,
  serve: serveMode,
};
if (!modes[mode]) {
  console.error('usage: bench-cluster.js MODE [-t TARGET] [-n N] [-r RUNS] [-b BATCH] [-p rr|none] [-x EXECPATH]');
  process.exit(2);
}
modes[mode]();
