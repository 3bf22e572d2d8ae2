#!/usr/bin/env bash
# Runs the big-cluster scenarios of bench/scenarios/ through the harness,
# one at a time, and prints their figures, timed from their traces: the
# harness's wall time and peak RSS for the run, fork of the first worker to
# every worker online and listening, the round-robin load (requests/s and
# how many distinct workers served), the rolling restart of every worker
# under load (where the scenario has one), cluster.disconnect() to the last
# exit,
# and the run's verdict. Figures are printed, never asserted
# (docs/performance.md, "Scale").
#
#   bench/scale.sh [--quick] [--target T]... [--json FILE] [BUILDDIR]
#
# Targets default to builtin and node-c (a Node primary with C workers);
# a target whose scenario says `targets: {T: {skip: ...}}` is reported as
# skipped by the harness (Node workers: 1000 of them need more memory than
# this machine has). --quick runs the 1000-worker scenario only. Every run
# is niced and bounded (`timeout`), and the harness reaps every process it
# started. Needs jq.
set -uo pipefail
cd "$(dirname "$0")/.."

quick=0
json=
build=build
targets=()
while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=1 ;;
	--target) targets+=("${2:?--target needs a target}"); shift ;;
	--json) json=${2:?--json needs a file}; shift ;;
	-h|--help) sed -n '2,17p' "$0"; exit 0 ;;
	-*) echo "bench/scale.sh: unknown option $1" >&2; exit 2 ;;
	*) build=$1 ;;
	esac
	shift
done
[ ${#targets[@]} -gt 0 ] || targets=(builtin node-c)
exe=$build/clustersim
[ -x "$exe" ] || { echo "bench/scale.sh: run ./setup.sh first ($exe missing)" >&2; exit 1; }
command -v jq >/dev/null || { echo "bench/scale.sh: jq is needed" >&2; exit 1; }
scenarios=(bench/scenarios/scale-1000.yaml)
[ $quick = 1 ] || scenarios+=(bench/scenarios/scale-4096.yaml)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
figures=$tmp/figures
: >"$figures"

# The figures of one trace, as "figure NAME TARGET UNIT VALUE" lines.
from_trace() { # TRACE N TARGET
	jq -r -s --argjson n "$2" --arg tg "$3" '
	def ms: . / 1e6 | . * 1000 | round / 1000;
	(map(select(.type == "action" and .action == "fork")) | first | .t) as $t0 |
	[.[] | select(.type == "event" and .emitter == "worker")] as $ev |
	($ev | map(select(.event == "online")) | sort_by(.t)) as $on |
	($ev | map(select(.event == "listening")) | sort_by(.t)) as $ls |
	(map(select(.type == "load" and .what == "request"))) as $rq |
	(map(select(.type == "load" and .what == "start")) | first | .t) as $l0 |
	(map(select(.type == "load" and .what == "done")) | first | .t) as $l1 |
	($rq | map(select($l1 == null or .t <= $l1))) as $rq1 |
	(map(select(.type == "action" and .action == "cluster-disconnect"))
	 | first | .t) as $d0 |
	($ev | map(select(.event == "exit")) | sort_by(.t)) as $ex |
	(if ($on | length) >= $n then "figure scale.online-\($n) \($tg) ms \(($on[$n - 1].t - $t0) | ms)" else empty end),
	(if ($ls | length) >= $n then "figure scale.listening-\($n) \($tg) ms \(($ls[$n - 1].t - $t0) | ms)" else empty end),
	(if ($rq | length) > 0 then
	   "figure scale.rr-requests-\($n) \($tg) req/s \((($rq1 | length) / ((($rq1 | map(.t) | max) - $l0) / 1e9)) | round)",
	   "figure scale.rr-workers-served-\($n) \($tg) workers \($rq | map(select(.outcome == "ok") | .served_by) | unique | length)",
	   "figure scale.rr-failed-\($n) \($tg) requests \($rq | map(select(.outcome != "ok" and .outcome != "retried")) | length)"
	 else empty end),
	(map(select(.type == "action" and .action == "rolling-restart")) | first | .t) as $r0 |
	(map(select(.type == "policy" and .action == "restart-done")) | first | .t) as $r1 |
	(if $r0 != null and $r1 != null then
	   "figure scale.restart-all-\($n) \($tg) ms \(($r1 - $r0) | ms)",
	   "figure scale.restart-failed-\($n) \($tg) requests \($rq | map(select(.t >= $r0 and .t <= $r1 and .outcome != "ok" and .outcome != "retried")) | length)"
	 else empty end),
	($ex | map(select($d0 != null and .t >= $d0))) as $exd |
	(if ($exd | length) >= $n then "figure scale.disconnect-exit-\($n) \($tg) ms \(($exd[$n - 1].t - $d0) | ms)" else empty end),
	"figure scale.exited-after-disconnect-\($n) \($tg) workers \($ex | map(select(.ead == true)) | length)"
	' "$1"
}

for s in "${scenarios[@]}"; do
	n=$(sed -n 's/^cluster: {workers: \([0-9]*\).*/\1/p' "$s")
	for t in "${targets[@]}"; do
		out=$tmp/run.$t.$n
		mkdir -p "$out"
		echo "bench/scale.sh: $s on $t" >&2
		start=$(date +%s%N)
		/usr/bin/time -f 'rss %M' -o "$out/time" timeout 900 nice \
			"$exe" run "$s" --target "$t" --trace-dir "$out" -q \
			>"$out/stdout" 2>"$out/stderr"
		rc=$?
		end=$(date +%s%N)
		verdict=$(sed -n 's/^clustersim: \([0-9]*\) pass, \([0-9]*\) fail, \([0-9]*\) timeout, \([0-9]*\) inconclusive, \([0-9]*\) error, \([0-9]*\) skip.*/pass=\1 fail=\2 timeout=\3 inconclusive=\4 error=\5 skip=\6/p' "$out/stdout")
		echo "run scale-$n $t exit $rc ${verdict:-(no summary)}" >>"$figures"
		echo "figure scale.harness-wall-$n $t s $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')" >>"$figures"
		rss=$(sed -n 's/^rss //p' "$out/time")
		[ -n "$rss" ] && echo "figure scale.harness-rss-$n $t MB $((rss / 1024))" >>"$figures"
		trace=$(ls "$out"/*.jsonl 2>/dev/null | head -1)
		[ -n "$trace" ] && from_trace "$trace" "$n" "$t" >>"$figures"
		# why, when a run did not pass: its verdict's first lines
		grep -h -i -E 'skip|warning|error|^ *(fail|timeout|inconclusive) ' \
			"$out/stdout" "$out/stderr" |
			grep -v '^clustersim: [0-9]* pass' | head -3 | cut -c1-400 |
			sed "s|^|# $t scale-$n: |" >>"$figures"
	done
done

{
	echo "# bench/scale.sh$([ $quick = 1 ] && echo ' --quick') on $(nproc) cores, $(uname -r), $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
	grep -v '^figure' "$figures"
	grep '^figure' "$figures" | awk '{ printf "%-34s %-8s %12s %s\n", $2, $3, $5, $4 }'
} | tee "$tmp/print"
if [ -n "$json" ]; then
	grep '^figure' "$figures" | awk '{ print $2, $3, $4, $5 }' |
		jq -R -s 'split("\n") | map(select(length > 0) | split(" ")
			| {figure: .[0], target: .[1], unit: .[2], value: (.[3] | tonumber)})' >"$json"
fi
exit 0
