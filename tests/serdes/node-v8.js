'use strict';
// The Node side of the codec's tests. Run as
//   node --expose-internals node-v8.js MODE [ARGS] < input.json > output.json
// so that values go through exactly the code cluster messages go through
// in `serialization: 'advanced'` mode: writeChannelMessage() and
// parseChannelMessages() of lib/internal/child_process/serialization.js
// (the ChildProcessSerializer / ChildProcessDeserializer and the 4-byte
// length framing).
//
// Modes (input: a JSON array of rows {name, js, check?, hex?, text?}):
//   encode  -> [{name, hex}]: the frame Node writes for eval(js)
//   json    -> [{name, hex}]: the frame Node writes for JSON.parse(text)
//   check   -> [{name, ok, why}]: Node reads the frame `hex`; it must be
//              deep-equal to what Node reads from its own frame of eval(js)
//              and pass `check` (a function body over v)
//   stream  -> [{ok, why}]: the concatenation of every row's frame, fed in
//              chunks of several sizes, gives every row back in order
//   read    -> [{name, ok, why}]: ok when Node reads the payload `hex`
//              (no frame) and, given `again`, reads the same from that
//   ipc EXE -> [{name, ok, why}]: spawns EXE with an 'advanced' IPC
//              channel, sends {name, v: eval(js)} for every row and checks
//              each message EXE sends back as `check` does

const { advanced } = require('internal/child_process/serialization');
const { spawn } = require('child_process');
const { isDeepStrictEqual, inspect } = require('util');

function evaluate(js) {
  return new Function(`return (${js});`)();
}

function frame(value) {
  let out;
  const channel = {
    writeBuffer(req, buf) {
      out = Buffer.from(buf);
      return 0;
    },
  };
  advanced.writeChannelMessage(channel, {}, value, null);
  return out;
}

function parse(buf, chunk) {
  const channel = {};
  const messages = [];
  advanced.initMessageChannel(channel);
  for (let i = 0; i < buf.length; i += chunk) {
    const part = buf.subarray(i, Math.min(buf.length, i + chunk));
    for (const m of advanced.parseChannelMessages(channel, part))
      messages.push(m);
  }
  return { messages, buffering: channel.buffering };
}

// Node's own round trip of the row's value is the oracle: it loses what
// Node loses (an Error's name, an array's packedness) and nothing else.
function expected(row) {
  return parse(frame(evaluate(row.js)), 1 << 30).messages[0];
}

function invalidDate(v) {
  return v instanceof Date && Number.isNaN(v.getTime());
}

function verdict(row, got) {
  const want = expected(row);
  if (invalidDate(want) ? !invalidDate(got) : !isDeepStrictEqual(got, want))
    return `got ${inspect(got, { depth: 4 })}, want ${inspect(want, { depth: 4 })}`;
  if (row.check && new Function('v', row.check)(got) !== true)
    return `check failed: ${row.check}`;
  return null;
}

function check(rows) {
  return rows.map((row) => {
    try {
      const { messages, buffering } = parse(Buffer.from(row.hex, 'hex'), 1 << 30);
      if (messages.length !== 1 || buffering)
        return { name: row.name, ok: false, why: `${messages.length} messages` };
      const why = verdict(row, messages[0]);
      return { name: row.name, ok: why === null, why };
    } catch (e) {
      return { name: row.name, ok: false, why: `threw ${e.message}` };
    }
  });
}

function stream(rows) {
  const all = Buffer.concat(rows.map((row) => Buffer.from(row.hex, 'hex')));
  return [1, 3, 7, 4096].map((chunk) => {
    try {
      const { messages, buffering } = parse(all, chunk);
      if (messages.length !== rows.length || buffering)
        return { ok: false, why: `chunk ${chunk}: ${messages.length} messages` };
      for (let i = 0; i < rows.length; i++) {
        const why = verdict(rows[i], messages[i]);
        if (why !== null)
          return { ok: false, why: `chunk ${chunk}, ${rows[i].name}: ${why}` };
      }
      return { ok: true };
    } catch (e) {
      return { ok: false, why: `chunk ${chunk}: threw ${e.message}` };
    }
  });
}

function readPayload(hex) {
  const payload = Buffer.from(hex.replace(/ /g, ''), 'hex');
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(payload.length);
  const { messages } = parse(Buffer.concat([prefix, payload]), 1 << 30);
  return messages[0];
}

function read(rows) {
  return rows.map((row) => {
    let got;
    try {
      got = readPayload(row.hex);
    } catch (e) {
      return { name: row.name, ok: false, why: e.message };
    }
    if (row.again !== undefined) {
      const want = readPayload(row.again);
      if (invalidDate(want) ? !invalidDate(got) : !isDeepStrictEqual(got, want))
        return { name: row.name, ok: false, why: `${inspect(got)} is not ${inspect(want)}` };
    }
    return { name: row.name, ok: true };
  });
}

// Every row through a real channel and back: the peer echoes messages.
function ipc(rows, exe, args) {
  return new Promise((resolve) => {
    const results = new Map();
    const child = spawn(exe, args, {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    const finish = (why) => {
      clearTimeout(timer);
      resolve(rows.map((row) => results.get(row.name) ||
        { name: row.name, ok: false, why: why || 'no echo' }));
    };
    const timer = setTimeout(() => { child.kill('SIGKILL'); }, 20000);
    child.on('message', (m) => {
      const row = rows.find((r) => r.name === m.name);
      if (row === undefined)
        return;
      const why = verdict(row, m.v);
      results.set(row.name, { name: row.name, ok: why === null, why });
      if (results.size === rows.length)
        child.disconnect();
    });
    child.on('exit', (code, signal) => {
      if (code !== 0)
        finish(`echo peer exited with ${code} ${signal}`);
      else
        finish();
    });
    for (const row of rows)
      child.send({ name: row.name, v: evaluate(row.js) });
  });
}

async function main() {
  const [mode, ...rest] = process.argv.slice(2);
  const chunks = [];
  for await (const c of process.stdin)
    chunks.push(c);
  const rows = JSON.parse(Buffer.concat(chunks).toString());
  let out;
  if (mode === 'encode')
    out = rows.map((row) => ({ name: row.name, hex: frame(evaluate(row.js)).toString('hex') }));
  else if (mode === 'json')
    out = rows.map((row) => ({ name: row.name, hex: frame(JSON.parse(row.text)).toString('hex') }));
  else if (mode === 'check')
    out = check(rows);
  else if (mode === 'read')
    out = read(rows);
  else if (mode === 'stream')
    out = stream(rows);
  else if (mode === 'ipc')
    out = await ipc(rows, rest[0], rest.slice(1));
  else
    throw new Error(`unknown mode ${mode}`);
  process.stdout.write(JSON.stringify(out));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
