#!/bin/sh
# A bug planted on purpose is found and shrunk. buggy-restart.js is an
# exec: agent (a relay in front of the builtin agent) that drops the
# `disconnect` of a worker SIGSTOPped during a rolling restart: two faults
# in one order. From each seed, `clustersim explore` with its default
# budget (200 schedules, 600 s) must find it (the both-ends invariant
# breaks), shrink it to at most 3 actions, and write a scenario that fails
# on the buggy agent and passes on builtin and on node. The relay alone,
# on the scenario without the pause, changes nothing.
# usage: planted.sh CLUSTERSIM SOURCE_ROOT [SEED...]   (default seeds 1 2 3)
# Exit: 0 pass, 1 fail, 77 skipped (no node), 99 hard error.
set -u
src_exe=$1
root=$2
shift 2
seeds=${*:-1 2 3}
command -v node > /dev/null 2>&1 || { echo "node is not installed: skipped"; exit 77; }
command -v python3 > /dev/null 2>&1 || { echo "python3 is missing"; exit 99; }
dir=$(mktemp -d -t clustersim-planted-XXXXXX) || exit 99
trap 'rm -rf "$dir"' EXIT
# a copy of our own: nothing else rebuilds it under the runs
exe=$dir/clustersim
cp "$src_exe" "$exe" || exit 99
buggy="exec:node $root/tests/explore/buggy-restart.js $exe primary"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# run CODE COMMAND...: the command must exit with CODE
run() {
	want=$1
	shift
	"$@" > "$dir/out.txt" 2>&1
	got=$?
	if [ $got -ne "$want" ]; then
		fail "'$*' exited $got, expected $want"
		tail -20 "$dir/out.txt"
		return 1
	fi
	return 0
}

for seed in $seeds; do
	out=$dir/seed-$seed
	# the default budget; drawing stops at the first failing run
	run 1 "$exe" explore --seed "$seed" --target "$buggy" --check both-ends \
		--max-findings 1 -j 2 -q -o "$out" || continue
	python3 - "$out/summary.json" > "$dir/found.txt" <<'EOF' || { fail "seed $seed: $(cat "$dir/found.txt")"; continue; }
import json, sys
s = json.load(open(sys.argv[1]))
f = [x for x in s["found"] if x["property"] == "both-ends"]
assert f, "nothing found"
sh = f[0]["shrunk"]
assert sh.get("actions_after", 99) <= 3, "shrunk to %s actions" % sh.get("actions_after")
assert sh["confirmed"] >= 1, "the shrunk schedule failed %d times" % sh["confirmed"]
print(sh["scenario"], f[0]["run"], sh["actions_before"], sh["actions_after"],
      sh["candidates"], sh["runs"], "%d/%d" % (sh["confirmed"], sh["confirm_runs"]))
EOF
	set -- $(cat "$dir/found.txt")
	scenario=$1
	echo "seed $seed: found at run $2, shrunk $3 -> $4 actions in $5 candidates ($6 runs), fails $7"
	grep -q "^  - pause:" "$scenario" || fail "seed $seed: no pause in $scenario"
	grep -q "^  - rolling-restart:" "$scenario" || fail "seed $seed: no rolling restart in $scenario"
	# what it writes is an ordinary scenario: it fails on the buggy agent...
	run 1 "$exe" run -q --target "$buggy" "$scenario" &&
		grep -q "\[invariant both-ends\]" "$dir/out.txt" ||
		fail "seed $seed: the shrunk scenario does not fail on both-ends"
	# ...and passes on the builtin cluster and on Node's
	run 0 "$exe" run -q --repeat 3 --target builtin --target node "$scenario"
	# the relay alone, without the pause, changes nothing
	grep -v "^  - pause:" "$scenario" > "$dir/no-pause.yaml"
	run 0 "$exe" run -q --repeat 3 --target "$buggy" "$dir/no-pause.yaml"
done

[ $fails -eq 0 ] && echo "the planted bug was found and shrunk from seeds $seeds"
[ $fails -eq 0 ]
