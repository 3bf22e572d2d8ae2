'use strict';
// The worker agent's servers (docs/protocol.md §4.1): plain node:http and
// node:net servers (on a port or a UNIX socket) and node:dgram sockets;
// sharing them is node:cluster's business.

const dgram = require('node:dgram');
const http = require('node:http');
const net = require('node:net');

// Outside a cluster there is no id; 0 is never a cluster worker's.
function idText(id) {
  return String(id === null ? 0 : id);
}

// Every datagram is answered `worker <id>\n`, so that the sender knows who
// received it (the X-Worker of UDP).
function createSocket(spec, id, rec) {
  const socket = dgram.createSocket(spec.kind);
  const reply = Buffer.from(`worker ${idText(id)}\n`);
  socket.on('message', (msg, rinfo) => {
    rec.datagrams++;
    socket.send(reply, rinfo.port, rinfo.address);
  });
  return socket;
}

function createServer(spec, id) {
  if (spec.kind === 'http') {
    const body = `worker ${idText(id)}\n`;
    return http.createServer((req, res) => {
      res.writeHead(200, {
        'Content-Type': 'text/plain',
        'Content-Length': Buffer.byteLength(body),
        'X-Worker': idText(id),
      });
      res.end(body);
    });
  }
  return net.createServer((socket) => {
    socket.on('error', () => {});
    socket.end(`worker ${idText(id)}\n`);
  });
}

// `observe(what, extra)` reports to the harness; `onFirstListening(server)`
// runs inside the listen callback of server 0, before node:cluster's own
// 'listening' listener (net.Server.listen adds the callback first).
function startServers(specs, id, observe, onFirstListening) {
  const servers = specs.map((spec, index) => {
    const udp = spec.kind.startsWith('udp');
    const rec = { server: null, index, closing: false, datagrams: 0 };
    const server = udp ? createSocket(spec, id, rec) : createServer(spec, id);
    rec.server = server;
    if (spec.max_connections > 0) server.maxConnections = spec.max_connections;
    if (spec.close_delay_ms > 0) {
      // A slow close: node:cluster's disconnect calls server.close() too, so
      // the delay applies to every way the server is closed.
      const close = server.close;
      server.close = function delayedClose(cb) {
        setTimeout(() => close.call(server, cb), spec.close_delay_ms);
        return server;
      };
    }
    const close = server.close;
    server.close = function markedClose(cb) {
      rec.closing = true;
      return close.call(server, cb);
    };
    server.on('close', () => observe('server-close', udp ? { index, datagrams: rec.datagrams } : { index }));
    // Reported rather than thrown, so that a failed listen is an observation
    // and not an uncaught error that exits the worker.
    server.on('error', (err) => observe('server-error', { index, code: err.code || null, message: err.message }));
    const onListening = () => {
      const where = spec.path !== null ? { port: -1, path: spec.path } : { port: server.address().port };
      observe('listening', { index, ...where, exclusive: spec.exclusive });
      if (index === 0 && onFirstListening) onFirstListening(server);
    };
    if (udp) {
      const opts = { port: spec.port, exclusive: spec.exclusive };
      if (spec.host !== null) opts.address = spec.host;
      server.bind(opts, onListening);
    } else {
      const opts = spec.path !== null ? { path: spec.path } : { port: spec.port };
      opts.exclusive = spec.exclusive;
      if (spec.host !== null) opts.host = spec.host;
      server.listen(opts, onListening);
    }
    return rec;
  });

  return {
    // Closes every server not already closing; returns how many it closed.
    closeAll() {
      let n = 0;
      for (const rec of servers) {
        if (rec.closing) continue;
        rec.server.close();
        n++;
      }
      return n;
    },
  };
}

module.exports = { startServers, createServer };
