#!/bin/sh
# Primary agents that break the control protocol (agents/hostile-agent.js),
# each run for real against the harness: every one must end the run with
# the error that names what it did (exit 3), never a pass, a hang or a
# signal to a process that is not the run's. A log flood must keep the
# harness's memory bounded (its peak RSS is printed).
# usage: control.sh CLUSTERSIM SOURCE_ROOT
# Exit: 0 pass, 1 fail, 77 skipped (no node), 99 hard error.
set -u
exe=$1
root=$2
here=$root/tests/hostile
runs=$here/runs
command -v node > /dev/null 2>&1 || { echo "node missing: skipped"; exit 77; }
dir=$(mktemp -d -t clustersim-control-XXXXXX) || exit 99
foreign=
cleanup() {
	[ -n "$foreign" ] && kill -KILL "$foreign" 2> /dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# run MODE SCENARIO [TIME_SCALE]: the harness on the hostile agent; $rc,
# $dir/out.txt, and $peak (the harness's peak RSS in kB, sampled from /proc)
run() {
	# a small quarantine: ASan's would hide what the harness keeps
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8 \
	FOREIGN_PID=${foreign:-0} "$exe" run -q --time-scale "${3:-1}" \
		--trace-dir "$dir/traces" \
		--target "exec:node $here/agents/hostile-agent.js $1" \
		"$runs/$2.yaml" > "$dir/out.txt" 2>&1 &
	pid=$!
	peak=0
	while kill -0 "$pid" 2> /dev/null; do
		hwm=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$pid/status" \
			2> /dev/null)
		[ -n "$hwm" ] && [ "$hwm" -gt "$peak" ] && peak=$hwm
		sleep 0.05
	done
	wait "$pid"
	rc=$?
}

# expect MODE SCENARIO CODE TEXT [TIME_SCALE]: the run exits CODE and says
# TEXT
expect() {
	run "$1" "$2" "${5:-1}"
	if [ "$rc" -ne "$3" ]; then
		fail "$1: exit $rc, expected $3"
		cat "$dir/out.txt"
	elif ! grep -qF -- "$4" "$dir/out.txt"; then
		fail "$1: the run does not say '$4'"
		cat "$dir/out.txt"
	else
		echo "ok: $1: $(grep -F -- "$4" "$dir/out.txt" | head -1 | cut -c1-160)"
	fi
}

expect polite no-workers 0 "1 pass"
expect double-reply no-workers 3 \
	"the primary agent replied twice to command 1 ('setup')"
expect wrong-req no-workers 3 \
	"the primary agent sent a reply with req 101, which names no command"
expect no-hello no-workers 3 \
	"connected to the control socket and sent no hello within 3.000 s"
# floods: generous deadlines, a sanitized harness reads 300000 lines slowly
expect record-flood no-workers 3 "the trace was truncated at 100000 records" 4

# 300000 log records: the run passes, the trace says how many were not
# kept, and the harness stays small (it grew to ~460 MB before the bound)
expect log-flood no-workers 0 "1 pass" 4
echo "log flood: peak harness RSS ${peak} kB"
[ "$peak" -gt 0 ] && [ "$peak" -lt 131072 ] ||
	fail "log flood: the harness peaked at ${peak} kB"
grep -rq '"dropped":299000' "$dir/traces" ||
	fail "log flood: the trace does not say 299000 log records were dropped"

# A pid that is not the run's is never signalled: a process of our own
# stands for "any process of the machine".
sleep 60 &
foreign=$!
for m in "foreign-primary signal-primary primary agent said its pid is" \
	"foreign-worker signal-worker agents said worker 1 is pid" \
	"foreign-worker pause-worker agents said worker 1 is pid"; do
	set -- $m
	mode=$1 scen=$2
	shift 2
	expect "$mode" "$scen" 3 "$* $foreign, which is not a process of this run"
	state=$(sed 's/.*) //' "/proc/$foreign/stat" 2> /dev/null | cut -c1)
	case $state in
	S | R) ;;
	*) fail "$mode/$scen: the foreign process is '$state' (signalled)" ;;
	esac
done

[ $fails -eq 0 ] || exit 1
echo "control: all checks passed"
