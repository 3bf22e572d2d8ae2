#!/bin/sh
# Symptom and cause: a wait that times out names what the worker did last
# (from the trace, up to the run's end) and what Node does next, with the
# rule. Two scenarios fail on purpose (runs/exit-*.yaml): a worker held
# open by an outbound connection after its disconnect, and a server slow
# to close after the primary's disconnect.
# usage: cause.sh CLUSTERSIM SOURCE_ROOT [NODE]
# Exit: 0 pass, 1 fail, 99 hard error.
set -u
exe=$1
root=$2
node=${3:-}
dir=$(mktemp -d) || exit 99
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
targets="builtin"
[ -n "$node" ] && [ -x "$node" ] && targets="builtin node"
for t in $targets; do
	"$exe" run -q --target "$t" --runtime "${node:-node}" --seed 4 \
		--junit "$dir/$t.xml" "$root/tests/reimpl/runs" >"$dir/out.txt" 2>&1
	rc=$?
	[ $rc = 1 ] || { cat "$dir/out.txt"; fail "$t: exited $rc (expected 1)"; }
	grep -q "exit-held-open \[$t\].*waited 1.000 s for 1 exit event of worker 2, saw 0; worker 2 last did \(worker-\)\{0,1\}disconnect at [0-9.]* s (#[0-9]*): \(it saw its channel close; it\|its channel is closed; Node's worker\) exits next, as soon as no server, socket or timer keeps its event loop alive (rule: worker.disconnect()" \
		"$dir/out.txt" || { cat "$dir/out.txt"; fail "$t: exit-held-open has no cause"; }
	grep -q "exit-slow-close \[$t\].*saw 0; worker 1 last did action:disconnect at [0-9.]* s (#[0-9]*): the primary called worker.disconnect(); Node tells the worker, which closes its servers" \
		"$dir/out.txt" || { cat "$dir/out.txt"; fail "$t: exit-slow-close has no cause"; }
	grep -q 'message="[^"]*last did action:disconnect' "$dir/$t.xml" ||
		fail "$t: the JUnit failure lacks the cause"
	echo "ok: $t names the cause"
done
exit 0
