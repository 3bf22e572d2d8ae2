'use strict';
// The `node-c` target: Node's primary agent (agents/node/primary.cjs) with
// clustersim's C workers. Loaded with `--require` before the agent.
//
// cluster.fork() runs `process.execPath [execArgv] exec args`. Pointing
// process.execPath at clustersim (with no execArgv, so that this --require
// does not reach the workers) makes every fork `clustersim worker ...` once
// the harness's setup names exec "worker". Everything else is the agent's
// and Node's own.
const bin = process.env.CLUSTERSIM_WORKER_EXEC_PATH;
if (bin) {
  process.execPath = bin;
  process.execArgv = [];
}
