'use strict';
// The metrics policy (docs/protocol.md §2.1): GET /metrics on 127.0.0.1.

const http = require('node:http');

function createMetrics(state) {
  let server = null;

  function body() {
    return JSON.stringify({
      workers: state.members().length,
      forks: state.counters.forks,
      exits: state.counters.exits,
      respawns: state.counters.respawns,
    });
  }

  const api = {
    configure(m) {
      if (m === null || m === false) return () => api.close();
      if (typeof m !== 'object' || Array.isArray(m)) throw new Error('metrics must be an object or null');
      const port = m.port === undefined ? 0 : m.port;
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error('metrics.port must be 0..65535');
      return () => {
        api.close();
        const s = http.createServer((req, res) => {
          if (req.method === 'GET' && req.url === '/metrics') {
            res.writeHead(200, { 'Content-Type': 'application/json' });
            res.end(body());
          } else {
            res.writeHead(404, { 'Content-Type': 'text/plain' });
            res.end('not found\n');
          }
        });
        server = s;
        s.on('error', (err) => {
          state.send({ type: 'policy', action: 'metrics-error', error: { code: err.code || null, message: err.message } });
          if (server === s) server = null;
        });
        s.listen(port, '127.0.0.1', () => {
          state.send({ type: 'policy', action: 'metrics-listening', port: s.address().port });
        });
      };
    },
    close() {
      if (!server) return;
      server.close();
      server.closeAllConnections();
      server = null;
    },
  };
  return api;
}

module.exports = { createMetrics };
