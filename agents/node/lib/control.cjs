'use strict';
// The transport of docs/protocol.md: newline-delimited JSON on a UNIX stream
// socket, shared by the primary and the worker agent.

const net = require('node:net');
const { StringDecoder } = require('node:string_decoder');

// A longer line is answered as malformed and skipped up to its newline, so a
// runaway peer cannot grow an agent's memory without bound.
const MAX_LINE = 16 * 1024 * 1024;

function now() {
  return process.hrtime.bigint();
}

// JSON has no BigInt; writing the digits ourselves keeps CLOCK_MONOTONIC
// nanoseconds exact beyond 2^53 (about 104 days of uptime).
function encode(obj, t = now()) {
  const body = JSON.stringify(obj);
  return body.length > 2 ? `${body.slice(0, -1)},"t":${t}}\n` : `{"t":${t}}\n`;
}

// Calls onLine(text) for every complete line and onOverflow() once for every
// line longer than MAX_LINE. Blank lines carry nothing and are dropped. Only
// the new text is searched for a newline, never the part of a line already
// buffered, so a long line costs its length once, not once per chunk; the
// rest of an overlong line is dropped as it comes.
function lineSplitter(onLine, onOverflow) {
  const decoder = new StringDecoder('utf8');
  let buf = '';
  let skipping = false;
  return (chunk) => {
    let text = decoder.write(chunk);
    let nl;
    while ((nl = text.indexOf('\n')) !== -1) {
      const line = (buf + text.slice(0, nl)).replace(/\r$/, '');
      buf = '';
      text = text.slice(nl + 1);
      if (skipping) {
        skipping = false;
        continue;
      }
      if (line.trim() !== '') onLine(line);
    }
    if (skipping) return;
    buf += text;
    if (buf.length > MAX_LINE) {
      buf = '';
      onOverflow();
      skipping = true;
    }
  };
}

// Parses one command line. Returns {msg} or {error, req}; `req` is echoed
// from a parsable object even when the command itself is malformed.
function parseCommand(line) {
  let msg;
  try {
    msg = JSON.parse(line);
  } catch (err) {
    return { error: `malformed JSON: ${err.message}`, req: null };
  }
  if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
    return { error: 'a command must be a JSON object', req: null };
  }
  const req = reqOf(msg);
  if (typeof msg.cmd !== 'string' || msg.cmd === '') {
    return { error: 'missing "cmd"', req };
  }
  return { msg, req };
}

function reqOf(msg) {
  const r = msg.req;
  return typeof r === 'number' || typeof r === 'string' ? r : null;
}

// Connects to `path`. `ref: false` lets the process exit while the socket is
// open, which a worker agent needs so that Node's own rules decide its life.
function connect(path, { onLine, onClose, onConnect, ref = true }) {
  const socket = net.connect(path);
  if (!ref) socket.unref();
  let closed = false;
  const split = lineSplitter(onLine, () => onLine(null));
  socket.on('data', split);
  socket.on('connect', () => onConnect && onConnect());
  socket.on('error', () => {}); // 'close' follows and carries the news
  socket.on('close', () => {
    closed = true;
    if (onClose) onClose();
  });
  return {
    socket,
    get closed() {
      return closed;
    },
    send(obj, t) {
      if (closed || socket.destroyed || !socket.writable) return false;
      socket.write(encode(obj, t));
      return true;
    },
    // Flushes what was written, then calls cb (bounded: a peer that never
    // reads cannot keep us waiting longer than `ms`).
    end(cb, ms = 1000) {
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        cb();
      };
      const timer = setTimeout(finish, ms);
      if (closed || socket.destroyed) return finish();
      socket.end(finish);
      socket.once('close', finish);
    },
  };
}

module.exports = { MAX_LINE, now, encode, lineSplitter, parseCommand, reqOf, connect };
