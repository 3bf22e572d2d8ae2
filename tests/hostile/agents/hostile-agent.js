/*
 * A primary agent that follows docs/protocol.md except in one way, chosen
 * by its mode, as a broken or hostile implementation would:
 *
 *   double-reply     answers `setup` twice
 *   wrong-req        answers `setup` with a req the harness never sent
 *   no-hello         connects and says nothing
 *   record-flood     sends 150000 records right after its hello
 *   log-flood        sends 300000 log records, then behaves
 *   foreign-primary  says its pid is FOREIGN_PID's (another process)
 *   foreign-worker   says worker 1 runs as FOREIGN_PID
 *   polite           none: a well-behaved agent without workers
 *
 * It forks nothing: a `fork` is answered with worker 1 and its events.
 * usage: node hostile-agent.js MODE (FOREIGN_PID in the environment)
 */
'use strict';
const net = require('net');

const mode = process.argv[2];
const foreign = Number(process.env.FOREIGN_PID || 0);
const sock = net.connect(process.env.CLUSTERSIM_CONTROL);
const t = () => Number(process.hrtime.bigint());
const line = (m) => JSON.stringify(Object.assign({t: t()}, m)) + '\n';
const send = (m) => sock.write(line(m));

/* Never outlive the harness: it closes the socket at the end of the run. */
sock.on('close', () => process.exit(0));
sock.on('error', () => process.exit(0));
setTimeout(() => process.exit(0), 30000).unref();

/* Many lines in few writes, each after the last has drained. */
function flood(n, make, then) {
  let i = 0;
  const next = () => {
    let chunk = '';
    for (let k = 0; k < 2000 && i < n; k++, i++)
      chunk += line(make(i));
    if (chunk === '')
      return then && then();
    if (sock.write(chunk))
      setImmediate(next);
    else
      sock.once('drain', next);
  };
  next();
}

const flags = {ead: null, connected: true, dead: false, member: true,
               state: 'online'};
function workerEvents(pid) {
  for (const event of ['fork', 'online'])
    for (const emitter of ['worker', 'cluster'])
      send(Object.assign({type: 'event', event, emitter, worker: 1, pid},
                         flags));
}

sock.on('connect', () => {
  if (mode === 'no-hello')
    return;
  send({type: 'hello', role: 'primary',
        pid: mode === 'foreign-primary' ? foreign : process.pid,
        runtime: 'hostile', version: mode});
  if (mode === 'record-flood')
    flood(150000, (i) => ({type: 'observe', what: 'noise', n: i}), ready);
  else if (mode === 'log-flood')
    flood(300000, (i) => ({type: 'log', text: 'log line ' + i + ' ' +
                                              'x'.repeat(200)}), ready);
  else
    ready();
});

let flooded = false;
const waiting = [];
function ready() {
  flooded = true;
  waiting.splice(0).forEach(answer);
}

function answer(cmd) {
  const reply = {type: 'reply', req: cmd.req, ok: true};
  if (mode === 'wrong-req' && cmd.cmd === 'setup')
    reply.req = cmd.req + 100;
  if (cmd.cmd === 'fork')
    reply.worker = 1;
  send(reply);
  if (mode === 'double-reply' && cmd.cmd === 'setup')
    send(reply);
  if (cmd.cmd === 'fork')
    workerEvents(mode === 'foreign-worker' ? foreign : process.pid + 1);
  if (cmd.cmd === 'shutdown')
    sock.end();
}

let buf = '';
sock.on('data', (d) => {
  buf += d;
  let i;
  while ((i = buf.indexOf('\n')) >= 0) {
    const cmd = JSON.parse(buf.slice(0, i));
    buf = buf.slice(i + 1);
    /* the end waits until the flood is out: the run must see all of it */
    if (flooded || cmd.cmd !== 'shutdown')
      answer(cmd);
    else
      waiting.push(cmd);
  }
});
