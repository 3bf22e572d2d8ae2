'use strict';
// The output of silent workers as `output` records (docs/protocol.md §3.1):
// split in lines on '\n', each line decoded as UTF-8 (an invalid sequence
// becomes U+FFFD), bounded per worker, and one `end` record per stream with
// what was read and what was dropped. agents/c/primary/primary-output.c is
// the same.

// The longest line reported (bytes, without its newline; longer ones are
// dropped) and the line bytes reported per worker, after which everything
// is dropped (and counted).
const LINE_MAX = 4096;
const CAP = 65536;

function watchOutput(worker, send) {
  const totals = { reported: 0, full: false };
  const pid = worker.process.pid === undefined ? null : worker.process.pid;

  function watch(stream, name) {
    if (!stream) return;
    const st = { line: Buffer.alloc(LINE_MAX), len: 0, overlong: false, bytes: 0, dropped: 0 };
    const rec = (extra) => send({ type: 'output', worker: worker.id, pid, stream: name, ...extra });

    // One line, ended by a '\n' (nl 1) or by the stream's end.
    function line(nl) {
      if (!st.overlong && !totals.full && totals.reported + st.len + nl > CAP) totals.full = true;
      if (st.overlong || totals.full) {
        st.dropped += st.len + nl;
        return;
      }
      totals.reported += st.len + nl;
      rec({ line: st.line.toString('utf8', 0, st.len) });
    }

    stream.on('data', (chunk) => {
      st.bytes += chunk.length;
      for (const b of chunk) {
        if (b === 0x0a) {
          line(1);
          st.len = 0;
          st.overlong = false;
        } else if (st.len < LINE_MAX) {
          st.line[st.len++] = b;
        } else {
          st.overlong = true;
          st.len++;
        }
      }
    });
    stream.on('end', () => {
      if (st.len > 0) line(0);
      st.len = 0;
      st.overlong = false;
      rec({ end: true, bytes: st.bytes, dropped: st.dropped });
    });
  }

  watch(worker.process.stdout, 'stdout');
  watch(worker.process.stderr, 'stderr');
}

module.exports = { watchOutput, LINE_MAX, CAP };
