'use strict';
// The Node.js side of bench/run.sh: the same three figures as
// bench-cluster.c, with node:cluster and Node workers. Prints, never asserts.
//   node bench-cluster.js fork N RUNS | respawn CYCLES | pingpong N
const cluster = require('node:cluster');

if (cluster.isWorker) {
  process.on('message', (m) => {
    if (m && m.clustersim === 'crash') process.exit(m.code || 1);
    process.send({ echo: m });
  });
  return;
}

const [mode, nArg, runsArg] = process.argv.slice(2);
const n = Number(nArg);
const runs = Number(runsArg || 1);
const now = () => Number(process.hrtime.bigint()) / 1e6;
const samples = [];
const totals = [];
setTimeout(() => { console.error('watchdog fired'); process.exit(1); }, 120000).unref();

function summary(what, v, unit) {
  v.sort((a, b) => a - b);
  const f = (x) => x.toFixed(3).padStart(8);
  console.log(`${what.padEnd(44)} n=${String(v.length).padEnd(4)} min ${f(v[0])}  median ${f(v[v.length >> 1])}  max ${f(v[v.length - 1])} ${unit}`);
}

if (mode === 'fork') {
  let run = 0;
  let exited = 0;
  const startRun = () => {
    const start = now();
    let online = 0;
    for (let i = 0; i < n; i++) {
      const t = now();
      const w = cluster.fork();
      w.on('online', () => {
        samples.push(now() - t);
        if (++online === n) {
          totals.push(now() - start);
          cluster.disconnect(() => {});
        }
      });
    }
  };
  // cluster.workers empties at disconnect(), before the exits: count exits.
  cluster.on('exit', () => {
    if (++exited < n) return;
    exited = 0;
    if (++run === runs) {
      summary(`Node fork->online per worker (${n} at once)`, samples, 'ms');
      summary(`Node fork->all online (${n} workers)`, totals, 'ms');
    } else setImmediate(startRun);
  });
  startRun();
} else if (mode === 'respawn') {
  let cycles = 0;
  let t0 = 0;
  const spawn = () => {
    const w = cluster.fork();
    w.on('online', () => {
      if (cycles > 0) samples.push(now() - t0);
      if (cycles++ === n) {
        summary('Node SIGKILL->exit->respawn->online', samples, 'ms');
        w.disconnect();
        return;
      }
      t0 = now();
      w.process.kill('SIGKILL');
    });
    w.on('exit', () => { if (cycles <= n) spawn(); });
  };
  spawn();
} else if (mode === 'pingpong') {
  const w = cluster.fork();
  let pongs = 0;
  let t0 = 0;
  w.on('online', () => { t0 = now(); w.send({ n: 0 }); });
  w.on('message', () => {
    if (++pongs === n) {
      const s = (now() - t0) / 1000;
      console.log(`${'Node primary ping-pong (node:cluster IPC)'.padEnd(44)} ${n} round trips in ${s.toFixed(3)} s: ${Math.round(n / s)} rtt/s`);
      w.disconnect();
    } else w.send({ n: pongs });
  });
} else {
  console.error('usage: bench-cluster.js fork N RUNS | respawn CYCLES | pingpong N');
  process.exit(2);
}
