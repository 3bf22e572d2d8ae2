'use strict';
// A real Node v20 cluster worker for a sim primary (test-mixed.c): an HTTP
// server on 127.0.0.1:0 through the primary that names itself in
// X-Worker, a hello message at start, and an echo of every message.
const cluster = require('node:cluster');
const http = require('node:http');

if (!cluster.isWorker) {
  console.error('node-worker.js: not started as a cluster worker');
  process.exit(2);
}
const id = cluster.worker.id;
http.createServer((req, res) => {
  res.setHeader('X-Worker', String(id));
  res.end(`worker ${id}\n`);
}).listen(0, '127.0.0.1');
process.on('message', (m) => process.send({ echo: m }));
process.send({ hello: 'from-node', id });
