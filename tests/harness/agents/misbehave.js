/*
 * A primary agent that breaks docs/protocol.md on purpose, one way per
 * mode, so that the harness can be seen to report an error of the run
 * (never a pass, never a crash, never a hang).
 * usage: node misbehave.js no-hello|garbage|refuse-setup|silent|bad-events
 */
'use strict';
const net = require('net');

const mode = process.argv[2];
const sock = net.connect(process.env.CLUSTERSIM_CONTROL);
const t = () => Number(process.hrtime.bigint());
const send = (m) => sock.write(JSON.stringify(Object.assign({t: t()}, m)) + '\n');
const hello = () => send({type: 'hello', role: 'primary', pid: process.pid,
                          runtime: 'misbehave', version: mode});

/* Never outlive the harness: it closes the socket at the end of the run. */
sock.on('close', () => process.exit(0));
sock.on('error', () => process.exit(0));
setTimeout(() => process.exit(0), 20000).unref();

sock.on('connect', () => {
  if (mode === 'no-hello') {
    send({type: 'event', event: 'setup', emitter: 'cluster'});
    return;
  }
  if (mode === 'garbage') {
    sock.write('this is not JSON\n');
    return;
  }
  hello();
});

let buf = '';
sock.on('data', (d) => {
  buf += d;
  let i;
  while ((i = buf.indexOf('\n')) >= 0) {
    const cmd = JSON.parse(buf.slice(0, i));
    buf = buf.slice(i + 1);
    if (mode === 'silent')
      continue;
    if (mode === 'refuse-setup' && cmd.cmd === 'setup') {
      send({type: 'reply', req: cmd.req, ok: false, error: 'no, thanks'});
      continue;
    }
    if (mode === 'bad-events' && cmd.cmd === 'fork') {
      /* worker 2 before worker 1, and online before fork */
      send({type: 'reply', req: cmd.req, ok: true, worker: 2});
      send({type: 'event', event: 'online', emitter: 'worker', worker: 2,
            ead: null, connected: true, dead: false, member: true});
      send({type: 'event', event: 'fork', emitter: 'cluster', worker: 2});
      continue;
    }
    if (cmd.cmd === 'shutdown') {
      send({type: 'reply', req: cmd.req, ok: true});
      sock.end();
      continue;
    }
    send({type: 'reply', req: cmd.req, ok: true, worker: 1});
  }
});
