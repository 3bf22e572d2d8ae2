#!/bin/sh
# Soak: the bundled suite many times over, as CI never runs it: --repeat
# 100 with -j4 on builtin, then --repeat 20 on node, the harness's RSS
# sampled all along. Prints, per target, the runs, the flaky scenarios
# (every attempt that did not pass, by scenario), the runs that left
# processes behind, and the harness's peak RSS; then what is left on the
# machine. Not part of ./test.sh: it takes tens of minutes. Bounded: every
# run has its deadline, and so has each pass (SOAK_LIMIT_S, default 5400 s).
# usage: tests/soak.sh [CLUSTERSIM [BUILTIN_REPEAT [NODE_REPEAT]]]
# Exit: 0 every run passed and nothing was left, 1 otherwise, 99 hard error.
set -u
cd "$(dirname "$0")/.."
exe=${1:-build/clustersim}
rb=${2:-100}
rn=${3:-20}
limit=${SOAK_LIMIT_S:-5400}
[ -x "$exe" ] || { echo "soak: no $exe (./setup.sh builds it)"; exit 99; }

# Every process of the soak inherits this TMPDIR: it marks them.
TMPDIR=$(mktemp -d -t clustersim-soak-XXXXXX) || exit 99
export TMPDIR
trap 'rm -rf "$TMPDIR"' EXIT
status=0

marked() {
	n=0
	for pid in $(pgrep -f 'clustersim|node' 2> /dev/null); do
		grep -qzsx "TMPDIR=$TMPDIR" "/proc/$pid/environ" 2> /dev/null ||
			continue
		state=$(sed 's/.*) //' "/proc/$pid/stat" 2> /dev/null | cut -c1)
		[ -n "$state" ] && [ "$state" != "Z" ] && n=$((n + 1))
	done
	echo $n
}

# pass NAME ARGS...: one soak pass; its summary lines on stdout
pass() {
	name=$1
	shift
	out=$TMPDIR/$name.txt
	start=$(date +%s)
	timeout -s INT -k 60 "$limit" "$exe" run -q --seed 1 "$@" scenarios \
		> "$out" 2>&1 &
	pid=$!
	peak=0
	while kill -0 "$pid" 2> /dev/null; do
		# timeout's child: the harness itself
		h=$(pgrep -P "$pid" 2> /dev/null | head -1)
		rss=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' \
			"/proc/${h:-0}/status" 2> /dev/null)
		[ -n "$rss" ] && [ "$rss" -gt "$peak" ] && peak=$rss
		sleep 0.5
	done
	wait "$pid"
	rc=$?
	wall=$(($(date +%s) - start))
	summary=$(grep '^clustersim: [0-9]* pass' "$out" | tail -1)
	echo "soak: $name: ${summary#clustersim: } (exit $rc, wall ${wall} s)"
	echo "soak: $name: peak harness RSS $((peak / 1024)) MB"
	bad=$(grep -cE '^(fail|timeout|error|inconclusive|interrupted) ' "$out")
	if [ "$bad" -gt 0 ]; then
		echo "soak: $name: $bad runs did not pass; by scenario (flakes):"
		grep -E '^(fail|timeout|error|inconclusive|interrupted) ' "$out" |
			awk '{print "  " $1 " " $2}' | sort | uniq -c | sort -rn
		grep -E '^(fail|timeout|error|inconclusive|interrupted) ' "$out" |
			sed 's/ attempt [0-9]*:/:/' | sort | uniq -c | sort -rn |
			head -10 | cut -c1-220 | sed 's/^/  /'
		status=1
	else
		echo "soak: $name: no flake"
	fi
	left=$(grep -c 'still alive' "$out")
	echo "soak: $name: $left runs left processes behind (killed and failed)"
	[ "$left" -eq 0 ] || status=1
	[ "$rc" -eq 0 ] || status=1
}

pass "builtin x$rb" -j 4 --repeat "$rb"
if command -v node > /dev/null 2>&1; then
	pass "node x$rn" -j 4 --repeat "$rn" --target node
else
	echo "soak: node: skipped (no node)"
fi
sleep 2
procs=$(marked)
dirs=$(ls -d "$TMPDIR"/clustersim-ctl-* 2> /dev/null | wc -l)
echo "soak: left on the machine: $procs processes, $dirs control directories"
[ "$procs" -eq 0 ] && [ "$dirs" -eq 0 ] || status=1
exit $status
