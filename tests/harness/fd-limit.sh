#!/bin/sh
# The descriptor limit at scale: the harness and the builtin primary raise
# their soft RLIMIT_NOFILE to the hard limit at start, so a cluster of 150
# workers runs under a soft limit of 128 (a channel per worker in the
# primary, a control connection per worker in the harness): through the
# harness, and with the primary started under that limit by an exec:
# target. Under a hard limit of 128 the harness says so before the run,
# and the run fails with an exit code, not a crash.
# usage: fd-limit.sh CLUSTERSIM RUNS_DIR
# Exit: 0 pass, 1 fail, 77 skip (no prlimit), 99 hard error.
set -u
exe=$1
runs=$2
command -v prlimit >/dev/null 2>&1 || { echo "prlimit missing (util-linux)"; exit 77; }
[ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -ge 1024 ] ||
	{ echo "the hard descriptor limit is below 1024: skipped"; exit 77; }
TMPDIR=$(mktemp -d -t clustersim-fdlimit-XXXXXX) || exit 99
export TMPDIR
trap 'rm -rf "$TMPDIR"' EXIT
fails=0

prlimit --nofile=128:1024 "$exe" run "$runs/many-workers.yaml" \
	>"$TMPDIR/raised.out" 2>"$TMPDIR/raised.err"
rc=$?
if [ $rc = 0 ] && ! grep -q 'descriptor limit' "$TMPDIR/raised.err"; then
	echo "ok: 150 workers under a soft limit of 128 (hard 1024)"
else
	echo "FAIL: 150 workers under a soft limit of 128 (hard 1024): exit $rc"
	tail -5 "$TMPDIR/raised.out" "$TMPDIR/raised.err"
	fails=$((fails + 1))
fi

# The primary agent alone under the low soft limit (the harness's raised
# one is not inherited through prlimit): it raises its own.
abs=$(cd "$(dirname "$exe")" && pwd)/$(basename "$exe")
"$exe" run "$runs/many-workers.yaml" \
	--target "exec:prlimit --nofile=128:1024 $abs primary" \
	>"$TMPDIR/primary.out" 2>"$TMPDIR/primary.err"
rc=$?
if [ $rc = 0 ]; then
	echo "ok: the builtin primary started with a soft limit of 128 holds 150 workers"
else
	echo "FAIL: the builtin primary started with a soft limit of 128: exit $rc"
	tail -5 "$TMPDIR/primary.out" "$TMPDIR/primary.err"
	fails=$((fails + 1))
fi

# the run cannot hold its workers and fails at its first deadline,
# shortened here: what matters is the warning before it and the exit code
prlimit --nofile=128:128 "$exe" run --time-scale 0.2 \
	"$runs/many-workers.yaml" >"$TMPDIR/low.out" 2>"$TMPDIR/low.err"
rc=$?
if grep -q "warning: the descriptor limit is 128 (hard limit 128) and 150 workers" \
	"$TMPDIR/low.err" && [ $rc != 0 ] && [ $rc -lt 64 ]; then
	echo "ok: a hard limit of 128 is said before the run, which fails cleanly (exit $rc)"
else
	echo "FAIL: under a hard limit of 128: exit $rc, stderr:"
	head -5 "$TMPDIR/low.err"
	fails=$((fails + 1))
fi
[ $fails = 0 ] || exit 1
exit 0
