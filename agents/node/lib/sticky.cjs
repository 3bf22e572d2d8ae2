'use strict';
// The sticky-session policy (docs/protocol.md §2.1), the way real sticky
// modules for Node do it (`cluster` itself has no `connection` event): the
// primary listens with pauseOnConnect, hashes each client's remote address
// to a position of a table of workers, and sends the connection to that
// position's worker with worker.send({clustersim: 'sticky'}, socket).
//
// The table: one position per worker, in the order they come online, until
// the first connection freezes its size. A worker that dies (its
// `disconnect` or `exit`, whichever comes first) hands all its positions to
// one worker: the owner of the next position (cyclically) that is still
// connected; with none left they stay empty, and the first worker online
// after that takes them all. agents/c/primary/primary-sticky.c is the same.

const cluster = require('node:cluster');

const MAX_POSITIONS = 4096;
const MESSAGE = { clustersim: 'sticky' };

// FNV-1a (32 bits) of the address text as socket.remoteAddress spells it.
function hash(text) {
  let h = 2166136261;
  for (const b of Buffer.from(text)) {
    h ^= b;
    h = Math.imul(h, 16777619) >>> 0;
  }
  return h >>> 0;
}

function createSticky(state, handles) {
  let server = null;
  let owner = [];
  let frozen = false;

  const live = (id) => {
    const w = id ? state.worker(id) : undefined;
    return w !== undefined && w.isConnected() && !w.isDead();
  };
  const positionsOf = (id) => owner.flatMap((o, i) => (o === id ? [i] : []));
  const report = (action, extra) => state.send({ type: 'policy', action, ...extra });

  function move(from) {
    const first = owner.indexOf(from);
    if (first === -1) return;
    let to = 0;
    for (let k = 1; k < owner.length && to === 0; k++) {
      const o = owner[(first + k) % owner.length];
      if (o !== from && live(o)) to = o;
    }
    owner = owner.map((o) => (o === from ? to : o));
    report('sticky-move', { from, to: to || null, positions: positionsOf(to) });
  }

  function online(id) {
    if (!frozen) {
      if (owner.length < MAX_POSITIONS) owner.push(id);
      return;
    }
    if (!owner.includes(0)) return;
    owner = owner.map((o) => (o === 0 ? id : o));
    report('sticky-move', { from: null, to: id, positions: positionsOf(id) });
  }

  function balance(socket, id) {
    if (!frozen) {
      frozen = true;
      report('sticky-table', { workers: [...owner] });
    }
    const o = owner.length > 0 ? owner[hash(socket.remoteAddress || '') % owner.length] : 0;
    const w = o ? state.worker(o) : undefined;
    if (w === undefined) {
      handles.drop(id);
      return;
    }
    handles.send({ id, kind: 'socket', obj: socket }, w, MESSAGE, false);
  }

  function stop() {
    if (server) server.close();
    server = null;
    owner = [];
    frozen = false;
  }

  // Listeners after the reporters: a move follows the event that caused it.
  cluster.on('online', (w) => {
    if (server && state.worker(w.id) === w) online(w.id);
  });
  for (const e of ['disconnect', 'exit']) {
    cluster.on(e, (w) => {
      if (server && state.worker(w.id) === w) move(w.id);
    });
  }

  return {
    configure(v) {
      if (v === null || v === false) return stop;
      if (typeof v !== 'object' || Array.isArray(v)) throw new Error('sticky must be an object or null');
      const port = v.port === undefined ? 0 : v.port;
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error('sticky.port must be 0..65535');
      if (v.host !== undefined && (typeof v.host !== 'string' || Buffer.byteLength(v.host) >= 64)) {
        throw new Error('sticky.host must be an address');
      }
      const host = v.host === undefined ? '127.0.0.1' : v.host;
      return () => {
        stop();
        const s = handles.open('', { host, port }, balance);
        server = s;
        // Workers already online take the first positions, in id order.
        for (const w of state.members().sort((a, b) => a.id - b.id)) {
          if (w.isConnected() && w.state !== 'none') online(w.id);
        }
        s.on('listening', () => report('sticky-listening', { port: s.address().port }));
        s.on('error', (err) => {
          report('sticky-error', { error: { code: err.code || null, message: err.message } });
          if (server === s) stop();
        });
      };
    },
    stop,
  };
}

module.exports = { createSticky, hash };
