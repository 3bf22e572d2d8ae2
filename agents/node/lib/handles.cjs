'use strict';
// Handles the primary holds and sends with messages (docs/protocol.md §2.2):
// servers of its own (`serve`, net.createServer({pauseOnConnect: true})),
// the connections they accept (held, unread), handles workers sent up, and
// worker.send(message, handle, {keepOpen}). agents/c/primary/
// primary-handles.c does the same on sim/.

const net = require('node:net');

const NAME_MAX = 64;
const DEFAULT_MESSAGE = { clustersim: 'handle' };

function errorInfo(err) {
  return { code: err && err.code !== undefined ? err.code : null, message: String(err && err.message) };
}

// What a handle that came with a message is. A C peer sends every handle as
// 'net.Native', so Node passes the raw handle: a listening one has no peer.
function handleKind(handle) {
  if (handle instanceof net.Server) return 'server';
  if (handle instanceof net.Socket) return 'socket';
  if (handle && typeof handle.getpeername === 'function' && handle.getpeername({}) !== 0) return 'server';
  return 'socket';
}

function createHandles(state) {
  const held = new Map(); // conn id -> {kind, obj}; servers of `serve` by name in `servers`
  const servers = new Map();
  let ids = 0;

  function hold(kind, obj) {
    const id = ++ids;
    held.set(id, { id, kind, obj });
    return id;
  }

  function record(what, extra) {
    state.send({ type: 'handle', what, ...extra });
  }

  // A net.Server of the primary's own, whose connections stay unread.
  function open(name, where, onConnection) {
    const server = net.createServer({ pauseOnConnect: true }, (socket) => {
      socket.on('error', () => {});
      onConnection(socket, hold('socket', socket));
    });
    server.listen(where);
    return server;
  }

  function target(msg) {
    if (('conn' in msg) === ('server' in msg)) throw new Error('give one of "conn" and "server"');
    if ('server' in msg) {
      if (typeof msg.server !== 'string') throw new Error('server must be a name');
      const s = servers.get(msg.server);
      if (!s) throw new Error(`no server "${msg.server}"`);
      return { kind: 'server', obj: s, name: msg.server };
    }
    if (!Number.isInteger(msg.conn)) throw new Error('"conn" must be an integer id');
    const e = held.get(msg.conn);
    if (!e) throw new Error(`no connection ${msg.conn}`);
    return e;
  }

  function where(msg) {
    if (msg.path !== undefined) {
      if (typeof msg.path !== 'string' || msg.path === '') throw new Error('path must be a non-empty string');
      if (msg.host !== undefined || msg.port !== undefined) throw new Error('path excludes host and port');
      return { path: msg.path };
    }
    if (msg.host !== undefined && typeof msg.host !== 'string') throw new Error('host must be a string');
    const port = msg.port === undefined ? 0 : msg.port;
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error('port must be an integer in 0..65535');
    return { host: msg.host === undefined ? '127.0.0.1' : msg.host, port };
  }

  // worker.send(message, handle, {keepOpen}). Node detaches a socket sent
  // without keepOpen at once and closes it at the peer's ACK.
  function send(e, worker, message, keepOpen) {
    if (!worker.isConnected()) {
      worker.send(message);   // the worker's `error`, as for `send`
      return;
    }
    if (e.kind === 'socket' && !keepOpen) held.delete(e.id);
    worker.send(message, e.obj, { keepOpen });
  }

  // A connection nobody can take: the client sees its end.
  function drop(id) {
    const e = held.get(id);
    if (!e) return;
    held.delete(id);
    e.obj.destroy();
  }

  return {
    open,
    send,
    hold,
    drop,

    serve(msg) {
      const name = msg.server;
      if (typeof name !== 'string' || name === '' || name.length > NAME_MAX) {
        throw new Error('server must be a name of 1 to 64 characters');
      }
      if (servers.has(name)) throw new Error(`server "${name}" exists`);
      const w = where(msg);
      const server = open(name, w, (socket, id) => {
        record('connection', {
          server: name,
          conn: id,
          remote_address: socket.remoteAddress === undefined ? null : socket.remoteAddress,
          remote_port: socket.remotePort === undefined ? null : socket.remotePort,
        });
      });
      servers.set(name, server);
      server.on('listening', () => {
        record('listening', w.path !== undefined ? { server: name, path: w.path } : { server: name, port: server.address().port });
      });
      // A failed listen frees the name again.
      server.on('error', (err) => {
        if (servers.get(name) === server) servers.delete(name);
        record('error', { server: name, error: errorInfo(err) });
      });
    },

    sendHandle(msg, worker) {
      const e = target(msg);
      if (msg.keep_open !== undefined && typeof msg.keep_open !== 'boolean') throw new Error('keep_open must be a boolean');
      send(e, worker, 'message' in msg ? msg.message : DEFAULT_MESSAGE, msg.keep_open === true);
    },

    closeHandle(msg) {
      const e = target(msg);
      if (e.name !== undefined) {
        servers.delete(e.name);
        e.obj.close();
      } else {
        held.delete(e.id);
        if (e.kind === 'server') e.obj.close();
        else e.obj.destroy();
      }
    },

    // A handle that came with a worker's message: held (a raw one wrapped
    // as Node's own conversion would) and reported.
    received(worker, handle) {
      const kind = handleKind(handle);
      let obj = handle;
      if (!(handle instanceof net.Server) && !(handle instanceof net.Socket)) {
        obj = kind === 'server' ? net.createServer().listen(handle) : new net.Socket({ handle, readable: true, writable: true });
      }
      if (obj instanceof net.Socket) obj.on('error', () => {});
      record('received', { worker: worker.id, conn: hold(kind, obj), kind });
    },

    kind: handleKind,
  };
}

module.exports = { createHandles, handleKind };
