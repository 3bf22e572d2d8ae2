#!/bin/sh
# The timeline marks of REAL `clustersim run`s in the HTML page: only the
# faults of docs/scenarios.md (crash, throw, hang, pause and resume,
# signal, ipc-disconnect, worker-kill, worker-disconnect, close-servers,
# hold) are drawn as injected faults (red diamonds); everything else the
# harness does (fork, arm, kill and disconnect from the primary,
# rolling-restart, shutdown, policy, end, cluster-disconnect...) is a
# plain mark.
# usage: marks-real.sh CLUSTERSIM SOURCE_ROOT
# Exit: 0 pass, 1 fail, 99 hard error.
set -u
exe=$1
root=$2
sc=$root/scenarios

dir=$(mktemp -d -t clustersim-marks-real-XXXXXX) || exit 99
trap 'rm -rf "$dir"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

"$exe" run -q --seed 11 --html "$dir/page.html" \
	"$sc/crash-exit-code.yaml" "$sc/pause-sigstop-under-load.yaml" \
	"$sc/worker-side-kill.yaml" "$sc/graceful-shutdown-sigterm.yaml" \
	"$sc/kill-sigkill.yaml" "$sc/rolling-restart-keepalive.yaml" \
	>"$dir/out.txt" 2>&1 || { cat "$dir/out.txt"; echo "the runs did not pass"; exit 99; }

# A mark's hover title is "#N  T s  KIND: LABEL"; a fault is a
# <path class="fault"> with a title (the legend's and the expectation
# pointer's have none), any other mark a <circle class="mark ...">.
kinds() {
	grep -o "<$1 class=\"$2[^>]*><title>[^<]*" "$dir/page.html" |
		sed 's/.*<title>#[0-9]*  [0-9.]* s  \([^:]*\):.*/\1/' | sort -u
}
kinds path fault >"$dir/faults.txt"
kinds circle mark >"$dir/plain.txt"
[ -s "$dir/faults.txt" ] || { echo "no fault marks found in the page"; exit 99; }

for k in $(cat "$dir/faults.txt"); do
	case $k in
	crash | throw | hang | pause | resume | signal | ipc-disconnect | \
		worker-kill | worker-disconnect | close-servers | hold) ;;
	*) fail "'$k' is drawn as an injected fault" ;;
	esac
done
# the faults these scenarios inject are drawn as faults
for k in crash pause resume worker-kill signal; do
	grep -qx "$k" "$dir/faults.txt" || fail "the fault '$k' is not drawn as a fault"
done
# and what else the harness did is there, as plain marks
for k in fork kill rolling-restart end policy cluster-disconnect shutdown; do
	grep -qx "$k" "$dir/plain.txt" || fail "the harness's '$k' is not a plain mark"
done
[ $fails = 0 ] || { echo "faults: $(tr '\n' ' ' <"$dir/faults.txt")"; exit 1; }
echo "marks real: all checks passed"
