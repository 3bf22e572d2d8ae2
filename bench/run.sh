#!/usr/bin/env bash
# Prints, in one run on this machine, every figure bench/ measures for the
# C cluster (builtin: a sim/ primary with the clustersim worker agent; sim:
# the same primary with a bare sim/ worker), for Node v20's node:cluster,
# and for the bare floors (plain syscalls between two processes), with
# min/median/max per target and each C figure's ratio to Node and to the
# floor. Figures are printed, never asserted (docs/performance.md).
#
#   bench/run.sh [--quick] [--json FILE] [--baseline OLDBUILDDIR]
#                [--scenario-target T]... [BUILDDIR]
#   bench/run.sh --compare OLD.json NEW.json [BUILDDIR]
#
# Figures of a cluster under a scenario's workload (the load generator's
# HTTP, a rolling restart under load, memory per worker and of the
# primary) come from bench/scenarios/ run by the harness and timed from
# their traces, on builtin and node and on every --scenario-target
# (node-c, c-node, exec:PROGRAM).
#
# --baseline runs every C figure a second time with another build's
# programs, in the same rounds (targets builtin@base, sim@base): the fair
# way to compare two builds on a noisy machine.
#
# The machine is shared and noisy: every figure is measured in rounds, C
# and Node interleaved (alternating which goes first), and the medians
# are compared - only within one run. --quick (under 60 s) runs fewer and
# shorter rounds. Bounded: each program has a 120 s watchdog, wrk runs for
# a fixed time, and every server started here is stopped and reaped.
set -uo pipefail
cd "$(dirname "$0")/.."

quick=0
baseline=
json=
compare=()
scenario_targets=(builtin node)
build=build
while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=1 ;;
	--json) json=${2:?--json needs a file}; shift ;;
	--compare) compare=("${2:?}" "${3:?}"); shift 2 ;;
	--baseline) baseline=${2:?--baseline needs a build directory}; shift ;;
	--scenario-target) scenario_targets+=("${2:?--scenario-target needs a target}"); shift ;;
	-h|--help) sed -n '2,26p' "$0"; exit 0 ;;
	-*) echo "bench/run.sh: unknown option $1" >&2; exit 2 ;;
	*) build=$1 ;;
	esac
	shift
done
cmdline="bench/run.sh$([ $quick = 1 ] && echo ' --quick')${json:+ --json $json}"
cmdline+="${baseline:+ --baseline $baseline}"
bench=$build/bench/bench-cluster
report=$build/bench/bench-report
exe=$build/clustersim
[ -x "$bench" ] && [ -x "$report" ] || {
	echo "bench/run.sh: run ./setup.sh first ($bench missing)" >&2; exit 1; }
base_bench=${baseline:+$baseline/bench/bench-cluster}
[ -z "$base_bench" ] || [ -x "$base_bench" ] || {
	echo "bench/run.sh: $base_bench missing" >&2; exit 1; }
if [ ${#compare[@]} -gt 0 ]; then
	exec "$report" --compare "${compare[@]}"
fi
bench_abs=$(cd "$(dirname "$bench")" && pwd)/$(basename "$bench")
node=$(command -v node || true)
wrk=$(command -v wrk || true)
nodejs=bench/node/bench-cluster.js
hz=$(getconf CLK_TCK)
# The CPUs this script may run on ("0-1", "0,2-3"), one per element.
allowed_cpus=()
for r in $(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status | tr ',' ' '); do
	for c in $(seq "${r%-*}" "${r#*-}"); do allowed_cpus+=("$c"); done
done

tmp=$(mktemp -d)
servers=()
cleanup() {
	for p in ${servers[@]+"${servers[@]}"}; do
		kill -KILL "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
samples=$tmp/samples
log=$tmp/log
: >"$samples"

if [ $quick = 1 ]; then
	rounds=3 http_rounds=1 http_secs=2 scenario_rounds=1
	n_pp=20000 n_pp_node=5000 n_ow=400000 n_ow_node=100000
	r_fork=8 r_fork_node=2 r_fork8=2 r_fork8_node=1 r_resp=5 r_resp_node=2
else
	rounds=5 http_rounds=3 http_secs=5 scenario_rounds=3
	n_pp=50000 n_pp_node=20000 n_ow=1000000 n_ow_node=200000
	r_fork=20 r_fork_node=5 r_fork8=5 r_fork8_node=2 r_resp=10 r_resp_node=5
fi

{
	echo "machine date $(date -u +%FT%TZ)"
	echo "machine cores $(nproc)"
	echo "machine cpu $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
	echo "machine kernel $(uname -r)"
	echo "machine node ${node:+$($node --version)}"
	echo "machine load $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "machine command $cmdline"
} >>"$samples"

# One program's figure lines into the samples; its stderr into the log.
# With --baseline, C figures (not the floors) run again with the other
# build, their targets marked @base.
c() {
	"$bench" "$@" 2>>"$log" | grep '^figure ' >>"$samples"
	case $1 in floor-*) return 0 ;; esac
	[ -n "$base_bench" ] && "$base_bench" "$@" 2>>"$log" |
		sed -n 's/^\(figure [^ ]* [^ ]*\) /\1@base /p' >>"$samples"
}
n() { [ -n "$node" ] && "$node" "$nodejs" "$@" 2>>"$log" | grep '^figure ' >>"$samples"; }
# C then Node, or Node then C on odd rounds.
pair() {
	local cargs=$1 nargs=$2
	if [ $((round % 2)) = 0 ]; then c $cargs; n $nargs; else n $nargs; c $cargs; fi
}

ipc_round() {
	c floor-pingpong -n $n_pp
	c floor-pingpong-epoll -n $n_pp
	pair "pingpong -t builtin -n $n_pp" "pingpong -n $n_pp_node"
	c pingpong -t sim -n $n_pp
	if [ -n "$node" ]; then
		c pingpong -t c-node -n $n_pp_node -- "$node" "$nodejs"
		n pingpong -t node-c -n $n_pp_node -x "$bench_abs"
	fi
	c floor-oneway -n $((n_ow * 4))
	pair "oneway-up -t sim -n $n_ow" "oneway-up -n $n_ow_node"
	pair "oneway-down -t sim -n $n_ow" "oneway-down -n $n_ow_node"
}

start_round() {
	c floor-spawn -r $r_fork
	pair "fork -t builtin -r $r_fork" "fork -r $r_fork_node"
	c fork -t sim -r $r_fork
	pair "fork -t builtin -n 8 -r $r_fork8" "fork -n 8 -r $r_fork8_node"
	pair "respawn -t builtin -r $r_resp" "respawn -r $r_resp_node"
	# Clusters no Node machine of this size holds (a Node worker's RSS is
	# about 43 MB): C only.
	c fork -t builtin -n 1000 -r 1
	[ $quick = 0 ] && [ "$round" = 0 ] && c fork -t builtin -n 4096 -r 1
}

# CPU time (clock ticks) used so far by a cluster: its primary and the
# workers alive now.
cluster_ticks() {
	local p t=0 v
	for p in "$1" $(pgrep -P "$1"); do
		v=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}')
		t=$((t + ${v:-0}))
	done
	echo $t
}

# HTTP through 2 workers: TARGET POLICY (rr|none) CONNECTION (keepalive|
# close) CPUS (split|shared). The cluster serves until SIGTERM; wrk is the
# client. split: the cluster (primary and workers) on one CPU, wrk on
# another, so that each server under test gets the same CPU whatever the
# client needs against it; shared (.shared): both unpinned, where wrk
# takes CPU from the cluster and against a fast server is itself the
# limit. Besides requests/s, requests per CPU-second of the cluster (.cpu).
http_one() {
	local target=$1 policy=$2 conn=$3 cpus=$4 out=$tmp/serve.out pid port i rps
	local reqs t0 t1
	local hdr=() name=http.$policy pin_server=() pin_client=()
	[ "$conn" = close ] && hdr=(-H "Connection: close") name=$name.close
	if [ "$cpus" = split ]; then
		pin_server=(taskset -c "${allowed_cpus[0]}")
		pin_client=(taskset -c "${allowed_cpus[1]}")
	else
		name=$name.shared
	fi
	[ "$target" = node ] && [ -z "$node" ] && return 0
	: >"$out"
	if [ "$target" = node ]; then
		${pin_server[@]+"${pin_server[@]}"} "$node" "$nodejs" serve -n 2 -p "$policy" >"$out" 2>>"$log" &
	elif [ "$target" = builtin@base ]; then
		${pin_server[@]+"${pin_server[@]}"} "$base_bench" serve -t builtin -n 2 -p "$policy" >"$out" 2>>"$log" &
	else
		${pin_server[@]+"${pin_server[@]}"} "$bench" serve -t builtin -n 2 -p "$policy" >"$out" 2>>"$log" &
	fi
	pid=$!
	servers+=("$pid")
	for i in $(seq 100); do
		port=$(sed -n 's/^listening //p' "$out")
		[ -n "$port" ] && break
		sleep 0.1
	done
	if [ -n "$port" ]; then
		t0=$(cluster_ticks "$pid")
		${pin_client[@]+"${pin_client[@]}"} "$wrk" -t1 -c32 -d"${http_secs}s" --timeout 5s ${hdr[@]+"${hdr[@]}"} \
			"http://127.0.0.1:$port/" >"$tmp/wrk.out" 2>>"$log"
		t1=$(cluster_ticks "$pid")
		rps=$(sed -n 's/^Requests\/sec:[[:space:]]*//p' "$tmp/wrk.out")
		reqs=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$tmp/wrk.out")
		[ -n "$rps" ] && echo "figure $name $target req/s $rps" >>"$samples"
		[ -n "$reqs" ] && [ $((t1 - t0)) -gt 0 ] &&
			echo "figure $name.cpu $target req/cpu-s $((reqs * hz / (t1 - t0)))" >>"$samples"
		grep -E 'errors|Non-2xx' "$tmp/wrk.out" | sed "s/^/$target $name: /" >>"$log"
	else
		echo "$target $name: the cluster did not listen within 10 s" >>"$log"
	fi
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	servers=("${servers[@]/$pid}")
}

# Figures of a cluster under a scenario's workload, from bench/scenarios/
# run by the harness on each scenario target, timed from their traces: the
# same numbers for any target the harness drives (--target builtin and
# node by default; --scenario-target adds node-c, c-node, exec:...).
scenario_files=(bench/scenarios/http-rr.yaml bench/scenarios/http-none.yaml
	bench/scenarios/rolling-restart-2.yaml bench/scenarios/memory-8.yaml)
from_trace() { # TRACE TARGET
	jq -r -s --arg tg "$2" '
	(map(select(.type == "trace")) | first) as $head |
	($head.scenario // "") as $name |
	(map(select(.type == "load" and .what == "start")) | first | .t) as $l0 |
	(map(select(.type == "load" and .what == "done")) | first | .t) as $l1 |
	(map(select(.type == "load" and .what == "totals")) | first) as $tot |
	(map(select(.type == "action" and .action == "rolling-restart")) | first | .t) as $r0 |
	(map(select(.type == "policy" and .action == "restart-done")) | first | .t) as $r1 |
	[.[] | select(.type == "sample" and .what == "memory" and .rss_kb != null)] as $mem |
	if $head.outcome != "pass" then empty
	elif ($mem | length) > 0 then
	  ($mem[] | select(.worker != null) |
	   "figure mem.rss \($tg) kB \(.rss_kb)", "figure mem.pss \($tg) kB \(.pss_kb)"),
	  ($mem[] | select(.primary == true) |
	   "figure mem.primary.rss \($tg) kB \(.rss_kb)", "figure mem.primary.pss \($tg) kB \(.pss_kb)")
	elif $r0 != null and $r1 != null then
	  "figure restart.rolling-2 \($tg) ms \(($r1 - $r0) / 1e3 | round / 1e3)",
	  "figure restart.failed-2 \($tg) requests \($tot.failed // 0)"
	elif $l0 != null and $l1 != null and $tot != null and $l1 > $l0 then
	  "figure \($name | sub("^bench-"; "") | sub("-"; ".")).loadgen \($tg) req/s \($tot.ok / (($l1 - $l0) / 1e9) | round)"
	else empty end' "$1"
}
scenario_one() { # TARGET
	local t=$1 out=$tmp/scen.$1 f
	rm -rf "$out" && mkdir -p "$out"
	timeout 300 "$exe" run "${scenario_files[@]}" --target "$t" \
		--trace-dir "$out" -q >"$out/stdout" 2>"$out/stderr"
	[ $? = 0 ] || sed "s|^|scenarios on $t: |" "$out/stdout" "$out/stderr" >>"$log"
	for f in "$out"/*.jsonl; do
		[ -e "$f" ] && from_trace "$f" "$t" >>"$samples"
	done
}
scenario_round() {
	local t
	[ -x "$exe" ] && command -v jq >/dev/null || return 0
	local order=("${scenario_targets[@]}")
	# alternate which target goes first, as pair() does
	[ $((round % 2)) = 0 ] || order=($(printf '%s\n' "${order[@]}" | tac))
	for t in "${order[@]}"; do
		case $t in node|node-c|c-node) [ -n "$node" ] || continue ;; esac
		scenario_one "$t"
	done
}

# The harness's own cost, from the `harness` object every trace's header
# carries: the run's start to the primary agent's hello (supervisor fork,
# agent exec, control connection) and the last process of the run reaped
# to the verdict (closing, the checks);
# and the wall time per run of a one-worker scenario (N runs in one
# command, divided by N). In a full run, the same from every scenario of
# the bundled suite, and the suite's wall time on builtin with -j2, so a
# regression of the harness or of the suite's pace shows.
harness_costs() { # TRACEDIR
	local f
	for f in "$1"/*.jsonl; do
		[ -e "$f" ] && head -1 "$f" | jq -r 'select(.outcome == "pass") |
			(.harness.start_ms // empty | "figure harness.start builtin ms \(. * 1000 | round / 1000)"),
			(.harness.end_ms // empty | "figure harness.end builtin ms \(. * 1000 | round / 1000)")'
	done >>"$samples"
}
harness_round() {
	local out=$tmp/harness n=20 t0 t1
	[ -x "$exe" ] && command -v jq >/dev/null || return 0
	rm -rf "$out" && mkdir -p "$out/one" "$out/suite"
	t0=$(date +%s%N)
	timeout 120 "$exe" run bench/scenarios/harness-one-worker.yaml --repeat $n \
		--trace-dir "$out/one" -q >"$out/stdout" 2>"$out/stderr" ||
		sed 's/^/harness runs: /' "$out/stdout" "$out/stderr" >>"$log"
	t1=$(date +%s%N)
	echo "figure harness.run builtin ms $(((t1 - t0) / n / 1000))e-3" >>"$samples"
	[ $quick = 0 ] || { harness_costs "$out/one"; return 0; }
	t0=$(date +%s%N)
	timeout 600 "$exe" run scenarios/ -j 2 -q --trace-dir "$out/suite" \
		>"$out/suite.out" 2>&1 || sed 's/^/bundled suite: /' "$out/suite.out" >>"$log"
	t1=$(date +%s%N)
	echo "figure harness.suite-j2 builtin s $(((t1 - t0) / 1000000))e-3" >>"$samples"
	harness_costs "$out/suite"
}

http_round() {
	local p k c first second cpu_modes=split
	[ -n "$wrk" ] || return 0
	# Splitting needs two CPUs; the unpinned keep-alive runs only in a full
	# run (--quick keeps under a minute).
	[ ${#allowed_cpus[@]} -ge 2 ] || cpu_modes=shared
	[ $quick = 1 ] || [ "$cpu_modes" = shared ] || cpu_modes="split shared"
	first=builtin second=node
	[ $((round % 2)) = 1 ] && first=node second=builtin
	for p in rr none; do
		for k in keepalive close; do
			for c in $cpu_modes; do
				[ $c = shared ] && [ $k = close ] && continue
				http_one $first $p $k $c
				http_one $second $p $k $c
				[ -z "$base_bench" ] || http_one builtin@base $p $k $c
			done
		done
	done
}

for round in $(seq 0 $((rounds - 1))); do
	echo "bench/run.sh: round $((round + 1)) of $rounds" >&2
	ipc_round
	start_round
	[ "$round" -lt "$http_rounds" ] && http_round
	[ "$round" -lt "$scenario_rounds" ] && scenario_round
	[ "$round" = 0 ] && harness_round
done

"$report" ${json:+--json "$json"} <"$samples"
status=$?
echo "# start.online-1000/-4096: C only; 1000 Node workers would need about"
echo "# 1000 x mem.rss(node) of memory, more than this machine has."
if [ -s "$log" ]; then
	echo "# notes from the programs:"
	sort "$log" | uniq -c | sed 's/^/#   /' | head -20
fi
exit $status
