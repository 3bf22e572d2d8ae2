#!/bin/sh
# An agent whose clock is not the machine's: every Node process of the run
# (the primary agent and each worker) counts process.hrtime from its own
# start (zero-clock.cjs, preloaded through NODE_OPTIONS). The harness must
# notice at each hello, correct that process's times, pass the bundled
# suite on a correct cluster, and say so in the terminal, the JUnit
# system-out and the trace. Correct clocks (builtin) are left alone.
# usage: clock.sh CLUSTERSIM SOURCE_ROOT NODE
# CLUSTERSIM_CLOCK_SHARD=I/N runs the I-th of N slices of the suite only.
# ./test.sh sets it (a quarter, an eighth in its sanitizer pass): the
# correction is the same C of the harness whatever the scenario, and the
# whole suite on Node would cost minutes.
# Exit: 0 pass, 1 fail, 77 skip (no node), 99 hard error.
set -u
exe=$1
root=$2
node=${3:-}
[ -n "$node" ] && [ -x "$node" ] || { echo "node not found: skipped"; exit 77; }
dir=$(mktemp -d) || exit 99
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

export NODE_OPTIONS="--require $root/tests/reimpl/zero-clock.cjs"
# the preload itself: a Node process of its own starts near zero
t=$("$node" -e 'process.stdout.write(String(process.hrtime.bigint() < 10000000000n))')
[ "$t" = true ] || fail "zero-clock.cjs did not move the clock ($t)"

shard=${CLUSTERSIM_CLOCK_SHARD:+--shard $CLUSTERSIM_CLOCK_SHARD}
# shellcheck disable=SC2086
"$exe" run -q -j 2 --target node --runtime "$node" --seed 5 $shard \
	--junit "$dir/node.xml" --trace-dir "$dir/tr" "$root/scenarios" \
	>"$dir/out.txt" 2>"$dir/err.txt"
rc=$?
tail -3 "$dir/out.txt"
[ $rc = 0 ] || { cat "$dir/out.txt"; head -20 "$dir/err.txt"; fail "node with zero clocks exited $rc"; }
grep -q '^warning: .* \[node\] attempt 1: the clock of the primary agent (pid [0-9]*) was [0-9.]* s behind' \
	"$dir/err.txt" || { head "$dir/err.txt"; fail "no clock warning on the terminal"; }
grep -q 'warning: the clock of worker [0-9]* (pid [0-9]*) was' "$dir/node.xml" ||
	fail "no clock warning of a worker in the JUnit system-out"
grep -l '"clock_offset_ns"' "$dir"/tr/*.jsonl >/dev/null 2>&1 ||
	fail "no clock_offset_ns in the traces"
grep -l '"from":"harness","text":"the clock of worker' "$dir"/tr/*.jsonl >/dev/null 2>&1 ||
	fail "no harness note in the traces"

# the mixed cluster with Node workers: the primary's clock is right, the
# workers' are not
"$exe" run -q --target c-node --runtime "$node" --seed 5 \
	"$root/scenarios/respawn-on-crash.yaml" "$root/scenarios/kill-sigkill.yaml" \
	"$root/scenarios/cluster-disconnect.yaml" >"$dir/out2.txt" 2>"$dir/err2.txt" ||
	{ cat "$dir/out2.txt" "$dir/err2.txt"; fail "c-node with zero clocks failed"; }
grep -q 'the clock of worker' "$dir/err2.txt" || fail "c-node: no worker's clock corrected"
grep -q 'the clock of the primary agent' "$dir/err2.txt" &&
	fail "c-node: the builtin primary's clock was corrected"

# a correct clock is never corrected
unset NODE_OPTIONS
"$exe" run -q --target builtin --seed 5 "$root/scenarios/respawn-on-crash.yaml" \
	"$root/scenarios/kill-sigkill.yaml" >"$dir/out3.txt" 2>"$dir/err3.txt" ||
	{ cat "$dir/out3.txt"; fail "builtin failed"; }
grep -q 'clock' "$dir/err3.txt" && { cat "$dir/err3.txt"; fail "builtin: a clock was corrected"; }
echo "ok: zero clocks corrected in every process, the suite passes"
exit 0
