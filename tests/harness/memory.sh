#!/bin/sh
# The `memory` step with real processes, on every target this machine
# runs: on a 2-worker cluster, one sample per live worker and one of the
# primary, each with Rss and Pss above 0 and the pid the records gave
# (the worker's fork event, the primary's hello); a worker whose exit was
# reported is left out; a named one that has exited gets an error and no
# sizes. The trace checks again with `check --trace`, and `diff` does not
# see the samples.
# usage: memory.sh CLUSTERSIM SOURCE_ROOT
# Exit: 0 pass, 1 fail, 99 hard error.
set -u
exe=$1
root=$2
scenario=$root/tests/harness/runs/memory.yaml
command -v jq > /dev/null 2>&1 ||
	{ echo "jq missing (./setup.sh installs it)"; exit 99; }
dir=$(mktemp -d -t clustersim-memory-XXXXXX) || exit 99
trap 'rm -rf "$dir"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# What the trace must hold, as the lines of what is wrong (none: right).
# Steps: /steps/1 memory {primary: true}, /steps/4 memory, /steps/5
# memory {worker: 1} after worker 1's exit.
checks='
map(select(.type == "sample" and .what == "memory")) as $s
| (map(select(.type == "event" and .event == "fork"))
   | map({key: (.worker | tostring), value: .pid}) | from_entries) as $forks
| ($s | map(select(.step == "/steps/1" and .worker != null))) as $all
| ($s | map(select(.step == "/steps/1" and .primary == true))) as $prim
| ($s | map(select(.step == "/steps/4"))) as $live
| ($s | map(select(.step == "/steps/5"))) as $gone
| (if ($all | map(.worker) | sort) != [1, 2]
   then "step 1: samples of workers \($all | map(.worker)), expected [1, 2]"
   else empty end),
  ($all[] | select((.rss_kb // 0) <= 0 or (.pss_kb // 0) <= 0)
   | "step 1: worker \(.worker) has rss_kb \(.rss_kb), pss_kb \(.pss_kb)"),
  ($all[] | select(.pid != $forks[.worker | tostring])
   | "step 1: worker \(.worker) sampled as pid \(.pid), forked as \($forks[.worker | tostring])"),
  (if ($prim | length) != 1 then "step 1: \($prim | length) samples of the primary"
   elif ($prim[0].rss_kb // 0) <= 0 or ($prim[0].pss_kb // 0) <= 0
   then "step 1: the primary has rss_kb \($prim[0].rss_kb), pss_kb \($prim[0].pss_kb)"
   elif $prim[0].pid != $hello then "step 1: the primary sampled as pid \($prim[0].pid), its hello says \($hello)"
   else empty end),
  (if ($live | map(.worker)) != [2] or ($live[0].rss_kb // 0) <= 0
   then "step 4: \($live), expected worker 2 alone with its sizes" else empty end),
  (if ($gone | length) != 1 or $gone[0].worker != 1 or $gone[0].error == null
      or $gone[0].rss_kb != null
   then "step 5: \($gone), expected worker 1 with an error and no sizes"
   else empty end)
'

targets=builtin
if command -v node > /dev/null 2>&1; then
	targets="builtin node node-c c-node"
fi
for target in $targets; do
	out=$dir/$target
	if ! "$exe" run -q --target "$target" --trace-dir "$out" "$scenario" \
		> "$dir/out.txt" 2>&1; then
		fail "$target: the run did not pass"
		tail -20 "$dir/out.txt"
		continue
	fi
	trace=$(ls "$out"/*.jsonl)
	hello=$(jq -s 'map(select(.type == "hello" and .role == "primary"))[0].pid' \
		"$trace")
	wrong=$(jq -rs --argjson hello "$hello" \
		"$checks" "$trace") || wrong="jq failed"
	[ -z "$wrong" ] || fail "$target: $wrong"
	"$exe" check --trace "$trace" "$scenario" > "$dir/out.txt" 2>&1 ||
		{ fail "$target: check --trace does not pass the trace"; tail -5 "$dir/out.txt"; }
	grep -v '"type":"sample"' "$trace" > "$dir/bare.jsonl"
	"$exe" diff -q "$trace" "$dir/bare.jsonl" > "$dir/out.txt" 2>&1 ||
		{ fail "$target: diff sees the samples"; tail -5 "$dir/out.txt"; }
	echo "$target: $(grep -c '"type":"sample"' "$trace") samples"
done

[ $fails -eq 0 ] || exit 1
echo "memory: all checks passed"
