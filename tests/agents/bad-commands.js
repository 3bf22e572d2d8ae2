'use strict';
// Robustness: every malformed or impossible command gets exactly one
// `ok:false` reply, changes nothing, and the agent keeps working; the same
// for faults sent to a worker.

const assert = require('node:assert/strict');
const { scenario, runScenarios, HTTP } = require('./driver');

const primary = scenario('malformed and impossible commands', async (h) => {
  await h.cmd({ cmd: 'setup', scheduling: 'rr', settings: { env: HTTP } });
  const a = await h.forkListening();
  const bad = [
    ['not json', null, /JSON/],
    ['[1,2]', null, /object/],
    ['"fork"', null, /object/],
    ['{"req":900}', 900, /cmd/],
    ['{"cmd":"nope","req":901}', 901, /unknown command/],
    ['{"cmd":"toString","req":902}', 902, /unknown command/],
    ['{"cmd":"disconnect","req":903,"worker":99}', 903, /no worker 99/],
    ['{"cmd":"kill","req":904,"worker":"1"}', 904, /integer/],
    [`{"cmd":"kill","req":905,"worker":${a},"signal":"SIGNOPE"}`, 905, /./],
    ['{"cmd":"setup","req":906,"settings":{"bogus":1}}', 906, /bogus/],
    ['{"cmd":"setup","req":907,"scheduling":"fifo"}', 907, /scheduling/],
    ['{"cmd":"setup","req":908,"scheduling":"none"}', 908, /frozen/],
    ['{"cmd":"setup","req":909,"settings":{"args":[1]}}', 909, /args/],
    ['{"cmd":"policy","req":910,"respawn":"sometimes"}', 910, /respawn/],
    ['{"cmd":"policy","req":911,"heartbeat":{"interval_ms":-1}}', 911, /interval_ms/],
    ['{"cmd":"policy","req":912,"shutdown":{"signals":["SIGKILL"]}}', 912, /SIGKILL/],
    ['{"cmd":"policy","req":913,"metrics":{"port":70000}}', 913, /port/],
    ['{"cmd":"policy","req":914,"colour":"blue"}', 914, /colour/],
    ['{"cmd":"policy","req":915}', 915, /no policy/],
    [`{"cmd":"send","req":916,"worker":${a}}`, 916, /message/],
    [`{"cmd":"send","req":917,"worker":${a},"message":{"x":1}}junk`, null, /JSON/],
    ['{"cmd":"fork","req":918,"env":[1]}', 918, /env/],
    ['{"cmd":"rolling-restart","req":919,"timeout_ms":"soon"}', 919, /timeout_ms/],
    ['{"cmd":"shutdown","req":920,"timeout_ms":-5}', 920, /timeout_ms/],
  ];
  const at = h.log.length;
  for (const [line] of bad) h.raw(line);
  // The 16 MiB line bound: an overlong line is refused, not buffered forever.
  h.raw(`{"cmd":"status","req":921,"pad":"${'x'.repeat(17 * 1024 * 1024)}"}`);
  const after = await h.cmd({ cmd: 'status' });
  assert.deepEqual(after.workers, [a], 'nothing changed');
  const replies = h.log.slice(at).filter((e) => e.from === 'primary').map((e) => e.msg)
    .filter((m) => m.type === 'reply' && m.req !== after.req);
  assert.equal(replies.length, bad.length + 1, 'exactly one reply per line');
  bad.forEach(([line, req, re], i) => {
    assert.equal(replies[i].ok, false, line);
    assert.equal(replies[i].req, req, line);
    assert.match(replies[i].error, re, line);
  });
  assert.deepEqual([replies.at(-1).ok, replies.at(-1).req], [false, null], 'overlong line');
  assert.equal(h.messages((m) => m.type === 'policy').length, 0, 'no policy was switched on');
  assert.equal(h.messages((m) => m.event === 'setup').length, 2, 'no setup happened');
  // Still fully working.
  const b = await h.forkListening();
  assert.equal(b, a + 1);
  await h.cmd({ cmd: 'cluster-disconnect' });
  await h.ended(a);
  await h.ended(b);
});

const worker = scenario('malformed and impossible faults', async (h) => {
  await h.cmd({ cmd: 'setup', settings: { env: HTTP } });
  const a = await h.forkListening();
  const bad = [
    ['not json', null, /JSON/],
    ['{"req":1}', 1, /cmd/],
    ['{"cmd":"explode","req":2}', 2, /unknown fault/],
    ['{"cmd":"hang","req":3}', 3, /ms/],
    ['{"cmd":"crash","req":4,"code":"x"}', 4, /code/],
    ['{"cmd":"hold","req":5,"connections":2}', 5, /port/],
    ['{"cmd":"send","req":6}', 6, /message/],
    ['{"cmd":"crash","req":7,"hold_channel_ms":-1}', 7, /hold_channel_ms/],
  ];
  for (const [line] of bad) await h.toWorker(a, line);
  const workerReplies = () => h.log.filter((e) => e.from === 'worker' && e.msg.type === 'reply').map((e) => e.msg);
  await h.waitFor(() => workerReplies().length >= bad.length, 'one reply per bad fault');
  const replies = workerReplies();
  bad.forEach(([line, req, re], i) => {
    assert.deepEqual([replies[i].ok, replies[i].req], [false, req], line);
    assert.match(replies[i].error, re, line);
  });
  assert.equal(h.messages((m) => m.what === 'fault').length, 0, 'no fault was applied');
  // A fault that cannot apply any more is refused instead of crashing the
  // worker: ipc-disconnect after the channel is gone.
  await h.toWorker(a, { cmd: 'ipc-disconnect', req: 8 });
  await h.ended(a);
  assert.deepEqual((await h.cmd({ cmd: 'status' })).workers, []);
});

runScenarios([primary, worker]);
