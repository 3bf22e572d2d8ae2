'use strict';
// A small harness for agent tests: listens on a UNIX socket in a private temp
// dir, starts a primary agent with CLUSTERSIM_CONTROL, sends commands and
// waits for the messages of docs/protocol.md. The agent command line comes
// from CLUSTERSIM_AGENT_CMD (a JSON array, or words split on blanks), so the
// same tests can drive any target; the default is this node's
// agents/node/primary.cjs.

const assert = require('node:assert/strict');
const cp = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const ROOT = process.env.CLUSTERSIM_SOURCE_DIR || path.resolve(__dirname, '..', '..');
const WAIT_MS = 10000;

function commandFromEnv(name, fallback) {
  const v = process.env[name];
  if (!v) return fallback;
  return v.trim().startsWith('[') ? JSON.parse(v) : v.trim().split(/\s+/);
}

function agentCommand() {
  return commandFromEnv('CLUSTERSIM_AGENT_CMD', [process.execPath, path.join(ROOT, 'agents/node/primary.cjs')]);
}

function workerCommand() {
  return commandFromEnv('CLUSTERSIM_WORKER_CMD', [process.execPath, path.join(ROOT, 'agents/node/worker.cjs')]);
}

// A mixed target (node-c, c-node) names the other runtime's worker program
// in the setup, as the harness does: CLUSTERSIM_TARGET_SETTINGS (JSON, an
// exec and the args before the test's own), and CLUSTERSIM_AGENT_ENV (JSON)
// for the agent's environment.
function jsonFromEnv(name) {
  return process.env[name] ? JSON.parse(process.env[name]) : {};
}

// Whether the workers of this target are clustersim's (builtin, node-c).
function cWorkers() {
  return process.env.CLUSTERSIM_C_WORKERS === '1';
}

function splitter(onMessage) {
  let buf = '';
  return (chunk) => {
    buf += chunk;
    let nl;
    while ((nl = buf.indexOf('\n')) !== -1) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      onMessage(JSON.parse(line));
    }
  };
}

// True while a pid names a live (non-zombie) process.
function pidAlive(pid) {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class Harness {
  constructor({ env = {} } = {}) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clustersim-agent-'));
    this.sockPath = path.join(this.dir, 'control.sock');
    this.env = { ...jsonFromEnv('CLUSTERSIM_AGENT_ENV'), ...env };
    this.log = []; // {from, msg} in arrival order
    this.waiters = [];
    this.workers = new Map(); // id -> socket
    this.primary = null;
    this.nextReq = 1;
    this.pids = new Set();
    this.child = null;
    this.exited = null;
  }

  async start() {
    this.server = net.createServer((sock) => this.accept(sock));
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.sockPath, resolve);
    });
    const [cmd, ...args] = agentCommand();
    const env = { ...process.env, ...this.env, CLUSTERSIM_CONTROL: this.sockPath, CLUSTERSIM_RUN: 'agent-test' };
    delete env.NODE_CLUSTER_SCHED_POLICY;
    // Its own process group, so that stop() can end the agent and every
    // worker at once whatever state they are in.
    this.child = cp.spawn(cmd, args, { env, stdio: ['ignore', 'inherit', 'inherit'], detached: true });
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => resolve({ code, signal }));
      this.child.on('error', (err) => resolve({ code: null, signal: null, error: err }));
    });
    const hello = await this.waitFor((m) => m.type === 'hello' && m.role === 'primary', 'primary hello');
    assert.equal(hello.pid, this.child.pid, 'hello carries the agent pid');
    assert.equal(typeof hello.t, 'number');
    return hello;
  }

  accept(sock) {
    let role = null;
    sock.setEncoding('utf8');
    sock.on('error', () => {});
    sock.on('data', splitter((msg) => {
      if (role === null) {
        assert.equal(msg.type, 'hello', 'the first message of a connection is hello');
        role = msg.role;
        if (role === 'primary') this.primary = sock;
        else this.workers.set(msg.id, sock);
      }
      if (msg.pid) this.pids.add(msg.pid);
      this.log.push({ from: role, msg });
      this.wake();
    }));
    sock.on('close', () => {
      this.log.push({ from: role, msg: { type: 'closed', role } });
      this.wake();
    });
  }

  wake() {
    for (const w of [...this.waiters]) w();
  }

  // Resolves with the first logged message (at or after index `from`) that
  // satisfies pred; rejects after `ms`.
  waitFor(pred, what, { from = 0, ms = WAIT_MS } = {}) {
    return new Promise((resolve, reject) => {
      const check = () => {
        for (let i = from; i < this.log.length; i++) {
          if (pred(this.log[i].msg, this.log[i])) {
            done();
            resolve(this.log[i].msg);
            return true;
          }
        }
        return false;
      };
      const done = () => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
      };
      const timer = setTimeout(() => {
        done();
        reject(new assert.AssertionError({ message: `timed out after ${ms} ms waiting for ${what}\n${this.dump()}` }));
      }, ms);
      if (!check()) this.waiters.push(check);
    });
  }

  index(msg) {
    return this.log.findIndex((e) => e.msg === msg);
  }

  messages(pred = () => true) {
    return this.log.map((e) => e.msg).filter(pred);
  }

  raw(line) {
    this.primary.write(line.endsWith('\n') ? line : `${line}\n`);
  }

  // Sends a command and resolves with its reply.
  async cmd(obj, { ok = true } = {}) {
    const req = this.nextReq++;
    this.raw(JSON.stringify({ ...obj, req }));
    const reply = await this.waitFor((m, e) => e.from === 'primary' && m.type === 'reply' && m.req === req,
      `reply to ${obj.cmd} #${req}`);
    if (ok !== null) assert.equal(reply.ok, ok, `${obj.cmd} #${req}: ${JSON.stringify(reply)}`);
    return reply;
  }

  // `setup` with the target's worker program first (mixed targets), the
  // test's args after the target's own.
  setup(settings = {}, extra = {}) {
    const target = jsonFromEnv('CLUSTERSIM_TARGET_SETTINGS');
    const merged = { ...target, ...settings };
    if (target.args !== undefined || settings.args !== undefined) merged.args = [...(target.args || []), ...(settings.args || [])];
    const own = Array.isArray(target.args) && target.args.length > 0 ? { own_args: target.args.length } : {};
    return this.cmd({ cmd: 'setup', settings: merged, ...own, ...extra });
  }

  // Waits for the worker's own hello first: it travels on another socket
  // than the primary's events, so it may arrive after them.
  async toWorker(id, obj) {
    await this.waitFor((m, e) => e.from === 'worker' && m.type === 'hello' && m.id === id, `hello of worker ${id}`);
    this.workers.get(id).write(typeof obj === 'string' ? `${obj}\n` : `${JSON.stringify(obj)}\n`);
  }

  event(event, emitter, worker, opts) {
    return this.waitFor(
      (m) => m.type === 'event' && m.event === event && m.emitter === emitter && (worker === undefined || m.worker === worker),
      `${emitter}:${event}${worker === undefined ? '' : ` of worker ${worker}`}`, opts);
  }

  policy(action, pred = () => true, opts) {
    return this.waitFor((m) => m.type === 'policy' && m.action === action && pred(m), `policy ${action}`, opts);
  }

  observed(worker, what, pred = () => true, opts) {
    return this.waitFor((m) => m.type === 'observe' && m.worker === worker && m.what === what && pred(m),
      `worker ${worker} observation ${what}`, opts);
  }

  // Both `exit` events of a worker, and its `disconnect` ones unless
  // `disconnect: false`; resolves with {disconnect, exit} (cluster emitter).
  async ended(worker, { disconnect = true, ms } = {}) {
    const exit = await this.event('exit', 'cluster', worker, { ms });
    await this.event('exit', 'worker', worker, { ms });
    let d = null;
    if (disconnect) {
      d = await this.event('disconnect', 'cluster', worker, { ms });
      await this.event('disconnect', 'worker', worker, { ms });
    }
    return { disconnect: d, exit };
  }

  // Forks and waits for `count` cluster `listening` events of the worker.
  async forkListening(env, count = 1) {
    const { worker } = await this.cmd({ cmd: 'fork', env });
    const listening = (m) => m.type === 'event' && m.event === 'listening' && m.emitter === 'cluster' && m.worker === worker;
    await this.waitFor(() => this.messages(listening).length >= count, `${count} listening of worker ${worker}`);
    return worker;
  }

  // Per-worker `emitter:event` sequence, for order assertions.
  sequence(worker) {
    return this.messages((m) => m.type === 'event' && m.worker === worker).map((m) => `${m.emitter}:${m.event}`);
  }

  dump(n = 40) {
    return this.log.slice(-n).map((e) => `  [${e.from}] ${JSON.stringify(e.msg)}`).join('\n');
  }

  closeControl() {
    if (this.primary) this.primary.end();
  }

  async agentExit(ms = WAIT_MS) {
    const timeout = sleep(ms).then(() => {
      throw new assert.AssertionError({ message: `agent did not exit within ${ms} ms` });
    });
    return Promise.race([this.exited, timeout]);
  }

  // Bounded wait until none of `pids` is alive.
  async pidsGone(pids, ms = 5000) {
    for (let waited = 0; ; waited += 50) {
      const alive = [...pids].filter(pidAlive);
      if (alive.length === 0) return;
      if (waited >= ms) assert.fail(`processes still alive: ${alive.join(' ')}`);
      await sleep(50);
    }
  }

  async stop() {
    if (this.child && this.child.pid) {
      // The whole group: also workers that outlived an agent that already
      // exited (a bug the tests would report, but must not leak).
      try {
        process.kill(-this.child.pid, 'SIGKILL');
      } catch {
        // the group is already gone
      }
      await Promise.race([this.exited, sleep(5000)]);
    }
    for (const s of this.workers.values()) s.destroy();
    if (this.primary) this.primary.destroy();
    if (this.server) this.server.close();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

// Runs `body(harness)` with a fresh started agent, then checks the oracle
// invariants on everything logged. Exit codes: 0 pass, 1 fail, 99 error.
function scenario(name, body, { env } = {}) {
  return { name, body, env };
}

async function runScenarios(scenarios, { timeoutMs = 50000 } = {}) {
  const watchdog = setTimeout(() => {
    process.stderr.write(`FAIL: watchdog: the test took longer than ${timeoutMs} ms\n`);
    process.exit(1);
  }, timeoutMs);
  let failed = 0;
  for (const s of scenarios) {
    const h = new Harness({ env: s.env });
    try {
      await h.start();
      await s.body(h);
      checkInvariants(h);
      process.stdout.write(`ok - ${s.name}\n`);
    } catch (err) {
      failed++;
      const hard = !(err instanceof assert.AssertionError);
      process.stdout.write(`not ok - ${s.name}${hard ? ' (error)' : ''}\n`);
      process.stderr.write(`${err && err.stack}\n--- last messages:\n${h.dump()}\n`);
      if (hard) {
        await h.stop();
        process.exit(99);
      }
    }
    await h.stop();
  }
  clearTimeout(watchdog);
  process.exit(failed === 0 ? 0 : 1);
}

// The event invariants, per worker: fork < online < listening; online, disconnect and
// exit at most once per emitter; the Worker event before its cluster twin;
// ead boolean at disconnect/exit; isConnected() false at disconnect,
// isDead() true at exit; ids increasing; nothing but errors after both.
function checkInvariants(h) {
  const events = h.messages((m) => m.type === 'event' && m.worker !== undefined);
  const ids = [...new Set(events.filter((m) => m.event === 'fork').map((m) => m.worker))];
  ids.forEach((id, i) => {
    if (i > 0) assert.ok(id > ids[i - 1], `worker ids increase: ${ids}`);
  });
  for (const id of ids) {
    const evs = events.filter((m) => m.worker === id);
    const where = (name, emitter) => evs.findIndex((m) => m.event === name && m.emitter === emitter);
    const count = (name, emitter) => evs.filter((m) => m.event === name && m.emitter === emitter).length;
    const seq = h.sequence(id).join(' ');
    assert.equal(evs[0].event, 'fork', `worker ${id} starts with fork: ${seq}`);
    for (const name of ['online', 'disconnect', 'exit']) {
      for (const em of ['worker', 'cluster']) assert.ok(count(name, em) <= 1, `worker ${id}: ${em}:${name} at most once: ${seq}`);
      const w = where(name, 'worker');
      const c = where(name, 'cluster');
      assert.equal(w === -1, c === -1, `worker ${id}: ${name} on both emitters: ${seq}`);
      if (w !== -1) assert.ok(w < c, `worker ${id}: worker:${name} before cluster:${name}: ${seq}`);
    }
    const online = where('online', 'worker');
    for (let i = 0; i < evs.length; i++) {
      const m = evs[i];
      if (m.event === 'listening') assert.ok(online !== -1 && online < i, `worker ${id}: online before listening: ${seq}`);
      if (m.event === 'disconnect') {
        assert.equal(typeof m.ead, 'boolean', `worker ${id}: ead boolean at disconnect`);
        assert.equal(m.connected, false, `worker ${id}: not connected at disconnect`);
      }
      if (m.event === 'exit') {
        assert.equal(typeof m.ead, 'boolean', `worker ${id}: ead boolean at exit`);
        assert.equal(m.dead, true, `worker ${id}: dead at exit`);
      }
    }
    const both = Math.max(where('exit', 'cluster'), where('disconnect', 'cluster'));
    if (where('exit', 'cluster') !== -1 && where('disconnect', 'cluster') !== -1) {
      const after = evs.slice(both + 1).filter((m) => m.event !== 'error');
      assert.equal(after.length, 0, `worker ${id}: nothing after disconnect and exit: ${seq}`);
    }
  }
}

function expectFlags(ev, want, what) {
  for (const [k, v] of Object.entries(want)) {
    assert.deepEqual(ev[k], v, `${what || `${ev.emitter}:${ev.event} of worker ${ev.worker}`}: ${k}\n${JSON.stringify(ev)}`);
  }
}

function behaviour(b) {
  return { CLUSTERSIM_WORKER: JSON.stringify(b) };
}

const HTTP = behaviour({ servers: [{ kind: 'http', port: 0 }], messages: 'echo' });

module.exports = {
  Harness, scenario, runScenarios, checkInvariants, expectFlags, behaviour, HTTP,
  sleep, pidAlive, workerCommand, agentCommand, ROOT, cWorkers, jsonFromEnv,
};
