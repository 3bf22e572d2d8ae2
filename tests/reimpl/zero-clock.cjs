'use strict';
// Preloaded into every Node process of a run (--require): process.hrtime
// counts from this process's start, as some node-compatible runtimes do,
// so each process has a clock origin of its own, none of them the
// machine's CLOCK_MONOTONIC.
const realBig = process.hrtime.bigint;
const realArr = process.hrtime;
const base = realBig();

function hrtime(prev) {
  const ns = realBig() - base;
  const now = [Number(ns / 1000000000n), Number(ns % 1000000000n)];
  if (!prev) return now;
  let s = now[0] - prev[0];
  let n = now[1] - prev[1];
  if (n < 0) { s -= 1; n += 1e9; }
  return [s, n];
}
hrtime.bigint = () => realBig() - base;
process.hrtime = hrtime;
void realArr;
