/*
 * A primary agent that leaves Node's behaviour on purpose: it runs a real
 * agent (the builtin or the Node one) behind a relay (relay.cjs) and alters
 * the events that agent reports, so that the scenarios and `clustersim
 * diff` can be seen to catch a reimplementation that deviates.
 *
 * usage: node deviant.js MODE AGENT [ARGS...]    (as an exec: target)
 *   drop-disconnect:N  worker N's `disconnect` events never reach the
 *                      harness (an agent that reports exit only)
 *   flip-ead:N         exitedAfterDisconnect is inverted at worker N's
 *                      `exit` events
 */
'use strict';
const { runRelay } = require('./relay.cjs');

const [mode, ...agent] = process.argv.slice(2);
const m = /^(drop-disconnect|flip-ead):([0-9]+)$/.exec(mode || '');
if (!m || agent.length === 0 || !process.env.CLUSTERSIM_CONTROL) {
  process.stderr.write('usage: CLUSTERSIM_CONTROL=... node deviant.js ' +
                       'drop-disconnect:N|flip-ead:N AGENT [ARGS...]\n');
  process.exit(2);
}
const kind = m[1];
const victim = Number(m[2]);

function alter(msg) {
  if (msg.type !== 'event' || msg.worker !== victim) return undefined;
  if (kind === 'drop-disconnect' && msg.event === 'disconnect') return null;
  if (kind === 'flip-ead' && msg.event === 'exit' && typeof msg.ead === 'boolean') {
    msg.ead = !msg.ead;
    return JSON.stringify(msg);
  }
  return undefined;
}

runRelay({ name: 'deviant', agent, up: alter });
