#!/bin/sh
# Nothing outlives a run: after 200 scenario runs, after SIGTERM to the
# harness mid-run, and after SIGKILL of the harness mid-run (with a worker
# SIGSTOPped and another one hung), no process of any run is left.
# usage: hygiene.sh CLUSTERSIM SCENARIOS_DIR RUNS_DIR many|sigterm|sigkill
# Exit: 0 pass, 1 fail, 99 hard error.
set -u
exe=$1
scenarios=$2
runs=$3
mode=$4

command -v pgrep > /dev/null 2>&1 || { echo "pgrep missing (procps)"; exit 77; }

# Every process a run starts inherits TMPDIR: a private one marks them.
TMPDIR=$(mktemp -d -t clustersim-hygiene-XXXXXX) || exit 99
export TMPDIR
trap 'rm -rf "$TMPDIR"' EXIT

# Live processes carrying the mark. Only clustersim processes are looked
# at (the machine may run thousands of others); zombies have no
# environment and are not counted.
marked() {
	n=0
	for pid in $(pgrep -f clustersim 2>/dev/null); do
		[ "$pid" = "$$" ] && continue
		grep -qzsx "TMPDIR=$TMPDIR" "/proc/$pid/environ" 2>/dev/null || continue
		state=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -c1)
		[ -n "$state" ] && [ "$state" != "Z" ] && n=$((n + 1))
	done
	echo $n
}

# Waits up to $2 seconds for `marked` to reach $1 (or less, for a target
# of 0; at least, otherwise).
await() {
	want=$1
	deadline=$(($(date +%s) + $2))
	while [ "$(date +%s)" -le $deadline ]; do
		n=$(marked)
		if [ "$want" -eq 0 ] && [ "$n" -eq 0 ]; then return 0; fi
		if [ "$want" -gt 0 ] && [ "$n" -ge "$want" ]; then return 0; fi
		sleep 0.1
	done
	return 1
}

case $mode in
many)
	# 5 quick scenarios x 40 attempts = 200 runs, two at a time
	"$exe" run -q -j 2 --repeat 40 \
		"$scenarios/crash-exit-code.yaml" \
		"$scenarios/kill-sigkill.yaml" \
		"$scenarios/worker-side-kill.yaml" \
		"$scenarios/exit-in-listen-callback.yaml" \
		"$scenarios/primary-sigkill.yaml" > "$TMPDIR/out.txt" 2>&1
	rc=$?
	tail -1 "$TMPDIR/out.txt"
	if [ $rc -ne 0 ]; then
		echo "FAIL: the runs did not all pass (exit $rc)"
		cat "$TMPDIR/out.txt" | tail -40
		exit 1
	fi
	grep -q "200 pass" "$TMPDIR/out.txt" || { echo "FAIL: not 200 passes"; exit 1; }
	if ! await 0 5; then
		echo "FAIL: $(marked) processes left after 200 runs"
		exit 1
	fi
	echo "200 runs, no process left"
	exit 0
	;;
sigterm|sigkill)
	"$exe" run -q "$runs/long-running.yaml" > "$TMPDIR/out.txt" 2>&1 &
	harness=$!
	# harness + supervisor + primary + 3 workers
	if ! await 6 20; then
		echo "FAIL: the cluster did not come up ($(marked) processes)"
		kill -KILL $harness 2>/dev/null
		cat "$TMPDIR/out.txt"
		exit 99
	fi
	sleep 0.5
	if [ "$mode" = sigkill ]; then
		kill -KILL $harness
		wait $harness
		rc=$?
	else
		kill -TERM $harness
		wait $harness
		rc=$?
		if [ $rc -ne 130 ]; then
			echo "FAIL: SIGTERM to the harness gave exit $rc, not 130"
			cat "$TMPDIR/out.txt"
			exit 1
		fi
	fi
	if ! await 0 10; then
		echo "FAIL: $(marked) processes left 10 s after $mode of the harness"
		ps -eo pid,ppid,pgid,stat,args | grep -v grep | grep clustersim
		exit 1
	fi
	echo "$mode of the harness (exit $rc): no process left"
	exit 0
	;;
esac
echo "usage: hygiene.sh CLUSTERSIM SCENARIOS RUNS many|sigterm|sigkill"
exit 99
