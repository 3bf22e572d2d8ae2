'use strict';
// Handles that come with messages (docs/protocol.md §4.1 `adopt`, §4.2
// `handle`), the connection the `send-handle` fault sends up, and the lines
// of `output`. agents/c/worker/worker-handles.c does the same.
//
// A received socket is served as real sticky modules serve it:
// server.emit('connection', socket) on a server of the `adopt` kind that
// listens nowhere. A received server listens on (Node made it listen on the
// handle: exclusive, so a cluster disconnect does not close it).

const net = require('node:net');
const { handleKind } = require('./handles.cjs');
const { createServer } = require('./worker-servers.cjs');

// A received socket is served as the worker's own servers serve theirs.
const responder = (kind, id) => createServer({ kind }, id);

function createWorkerHandles(behaviour, id, observe) {
  let adopter = null;       // serves received sockets; never listens
  const adopted = new Set(); // received servers listened on

  function see(kind, message, action, extra) {
    observe('handle', { kind, message, action, ...extra });
  }

  function serve(socket, message) {
    if (adopter === null) adopter = responder(behaviour.adopt.kind, id);
    see('socket', message, 'serve');
    socket.on('error', () => {});
    adopter.emit('connection', socket);
    socket.resume();
  }

  function listen(server, message) {
    const app = responder(behaviour.adopt.kind, id);
    adopted.add(server);
    server.on('connection', (socket) => app.emit('connection', socket));
    server.on('close', () => adopted.delete(server));
    server.on('error', () => {});
    const seen = () => see('server', message, 'listen', { port: server.address().port });
    if (server.listening) seen();
    else server.once('listening', seen);
  }

  return {
    // A C primary sends every handle as 'net.Native': Node passes the raw
    // handle, made here what Node's own conversion would have made.
    received(message, handle) {
      const kind = handleKind(handle);
      let obj = handle;
      if (!(handle instanceof net.Server) && !(handle instanceof net.Socket)) {
        obj = kind === 'server' ? net.createServer().listen(handle) : new net.Socket({ handle, readable: true, writable: true });
      }
      if (behaviour.adopt === null) {
        see(kind, message, 'close');
        if (kind === 'server') obj.close();
        else obj.destroy();
        return;
      }
      if (kind === 'server') listen(obj, message);
      else serve(obj, message);
    },

    // Closes every received server listened on; returns how many.
    closeAll() {
      const n = adopted.size;
      for (const s of adopted) s.close();
      adopted.clear();
      return n;
    },

    // The send-handle fault: a connection to 127.0.0.1:port, sent to the
    // primary (without keepOpen: Node closes ours at the ACK).
    sendUp(port, message) {
      const s = net.connect({ host: '127.0.0.1', port });
      s.on('error', () => {});
      s.on('connect', () => {
        if (process.connected) process.send(message, s);
        else s.destroy();
      });
    },
  };
}

// process.stdout/stderr as a program writes them: on a pipe a write goes
// out at once while the pipe has room, else it waits in the event loop
// (a graceful exit writes it first; process.exit() drops it).
function writeOutput(o) {
  const out = o.stream === 'stdout' ? process.stdout : process.stderr;
  const text = `${o.line}\n`;
  for (let i = 0; i < o.repeat; i++) out.write(text);
}

module.exports = { createWorkerHandles, writeOutput };
