#!/bin/sh
# Interruption from a terminal: the suite runs in a process group of its
# own (as a shell's foreground job does), two runs at once, each with a
# worker SIGSTOPped, one hung and one holding a connection. Then the whole
# group gets what a terminal or an operator sends it:
#   int-kill  SIGINT (Ctrl-C), then SIGKILL 0.2 s later
#   term      SIGTERM: the harness exits 130
#   kill      SIGKILL
# Within 15 s no process of the runs may be left, and no control socket
# directory. A stale directory of a killed harness is swept by the next
# run; a fresh one and other files are not.
# usage: interrupt.sh CLUSTERSIM SOURCE_ROOT int-kill|term|kill
# Exit: 0 pass, 1 fail, 99 hard error.
set -u
exe=$1
root=$2
mode=$3
command -v pgrep > /dev/null 2>&1 || { echo "pgrep missing (procps)"; exit 77; }
command -v setsid > /dev/null 2>&1 || { echo "setsid missing"; exit 77; }

# Every process a run starts inherits TMPDIR: a private one marks them.
TMPDIR=$(mktemp -d -t clustersim-interrupt-XXXXXX) || exit 99
export TMPDIR
# whatever happens, nothing this test started outlives it
cleanup() {
	for pid in $(pgrep -f clustersim 2> /dev/null); do
		grep -qzsx "TMPDIR=$TMPDIR" "/proc/$pid/environ" 2> /dev/null &&
			kill -KILL "$pid" 2> /dev/null
	done
	rm -rf "$TMPDIR"
}
trap cleanup EXIT

marked() {
	n=0
	for pid in $(pgrep -f clustersim 2> /dev/null); do
		[ "$pid" = "$$" ] && continue
		grep -qzsx "TMPDIR=$TMPDIR" "/proc/$pid/environ" 2> /dev/null ||
			continue
		state=$(sed 's/.*) //' "/proc/$pid/stat" 2> /dev/null | cut -c1)
		[ -n "$state" ] && [ "$state" != "Z" ] && n=$((n + 1))
	done
	echo $n
}

# await N SECONDS: until `marked` is N (0) or at least N (else)
await() {
	deadline=$(($(date +%s) + $2))
	while [ "$(date +%s)" -le $deadline ]; do
		n=$(marked)
		[ "$1" -eq 0 ] && [ "$n" -eq 0 ] && return 0
		[ "$1" -gt 0 ] && [ "$n" -ge "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

dirs() { ls -d "$TMPDIR"/clustersim-ctl-* 2> /dev/null; }

# A killed harness's leftovers (old, nothing bound) and a fresh directory
# of a harness that is starting (young): the run sweeps only the first.
mkdir "$TMPDIR/clustersim-ctl-stale1" "$TMPDIR/clustersim-ctl-young1" \
	"$TMPDIR/unrelated" || exit 99
: > "$TMPDIR/clustersim-ctl-stale1/ctl.sock"
touch -d '1 hour ago' "$TMPDIR/clustersim-ctl-stale1"
# and an old one where somebody still listens (a harness of another
# network namespace, say): kept
live=
if command -v node > /dev/null 2>&1; then
	mkdir "$TMPDIR/clustersim-ctl-live1" || exit 99
	node -e 'require("net").createServer().listen(process.argv[1]);
		setTimeout(() => process.exit(0), 60000)' \
		"$TMPDIR/clustersim-ctl-live1/ctl.sock" &
	live=$!
	while [ ! -S "$TMPDIR/clustersim-ctl-live1/ctl.sock" ]; do sleep 0.1; done
	touch -d '1 hour ago' "$TMPDIR/clustersim-ctl-live1"
fi

# two scenarios, so that two runs go at once
mkdir "$TMPDIR/runs" || exit 99
for n in 1 2; do
	sed "s/^name: interrupted/name: interrupted-$n/" \
		"$root/tests/hostile/runs/interrupted.yaml" > "$TMPDIR/runs/$n.yaml"
done
setsid sh -c 'echo $$ > "$TMPDIR/pgid"; exec "$0" run -q -j 2 "$1"' \
	"$exe" "$TMPDIR/runs" > "$TMPDIR/out.txt" 2>&1 &
job=$!
# two runs: harness + 2 x (supervisor + primary + 3 workers)
if ! await 11 30; then
	echo "FAIL: the runs did not come up ($(marked) processes)"
	kill -KILL "-$(cat "$TMPDIR/pgid")" 2> /dev/null
	cat "$TMPDIR/out.txt"
	exit 99
fi
sleep 0.5
pgid=$(cat "$TMPDIR/pgid")
swept=yes
[ -e "$TMPDIR/clustersim-ctl-stale1" ] && swept=no
[ -d "$TMPDIR/clustersim-ctl-young1" ] && [ -d "$TMPDIR/unrelated" ] ||
	swept=too-much
if [ -n "$live" ]; then
	[ -S "$TMPDIR/clustersim-ctl-live1/ctl.sock" ] || swept=too-much
	kill "$live"
	wait "$live" 2> /dev/null
fi
rm -rf "$TMPDIR/clustersim-ctl-young1" "$TMPDIR/clustersim-ctl-stale1" \
	"$TMPDIR/clustersim-ctl-live1"
echo "$(marked) processes, $(dirs | wc -l) control directories; $mode to group $pgid"
case $mode in
int-kill)
	kill -INT "-$pgid"
	sleep 0.2
	kill -KILL "-$pgid" 2> /dev/null
	;;
term)
	kill -TERM "-$pgid"
	;;
kill)
	kill -KILL "-$pgid"
	;;
*)
	echo "usage: interrupt.sh CLUSTERSIM SOURCE_ROOT int-kill|term|kill"
	exit 99
	;;
esac
wait $job
rc=$?
if [ "$mode" = term ] && [ $rc -ne 130 ]; then
	echo "FAIL: SIGTERM to the group gave exit $rc, not 130"
	cat "$TMPDIR/out.txt"
	exit 1
fi
if ! await 0 15; then
	echo "FAIL: $(marked) processes left 15 s after $mode of the group"
	for pid in $(pgrep -f clustersim 2> /dev/null); do
		grep -qzsx "TMPDIR=$TMPDIR" "/proc/$pid/environ" 2> /dev/null &&
			ps -o pid,ppid,pgid,sid,stat,args -p "$pid" | tail -1
	done
	exit 1
fi
left=$(dirs)
if [ -n "$left" ]; then
	echo "FAIL: control directories left: $left"
	exit 1
fi
case $swept in
no) echo "FAIL: the stale control directory was not swept"; exit 1 ;;
too-much) echo "FAIL: the sweep removed what was not stale"; exit 1 ;;
esac
echo "$mode of the whole group (exit $rc): no process and no directory left"
exit 0
