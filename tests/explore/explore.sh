#!/bin/sh
# `clustersim explore` as a command, with real clusters: schedules drawn
# again from their seed, each a scenario `clustersim check` takes, a short
# exploration and what it writes, bad command lines and bases, a
# differential run of a target against itself, and SIGINT in the middle
# (exit 130, the summary written, no process left).
# usage: explore.sh CLUSTERSIM SOURCE_ROOT
# Exit: 0 pass, 1 fail, 99 hard error.
set -u
src_exe=$1
root=$2
dir=$(mktemp -d -t clustersim-explore-XXXXXX) || exit 99
trap 'rm -rf "$dir"' EXIT
# a copy of our own: its path names the processes of this test only
exe=$dir/clustersim
cp "$src_exe" "$exe" || exit 99
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
cd "$dir" || exit 99

# expect CODE COMMAND...: the command must exit with CODE
expect() {
	want=$1
	shift
	"$@" > out.txt 2>&1
	got=$?
	if [ $got -ne "$want" ]; then
		fail "'$*' exited $got, expected $want"
		tail -20 out.txt
	fi
}
has() {
	grep -qF -- "$1" out.txt || { fail "no '$1' in the output"; tail -20 out.txt; }
}

# 1. The same seed draws the same schedules; --run I draws the I-th alone.
"$exe" explore --seed 77 --runs 5 --dry-run > a.txt || fail "dry run"
"$exe" explore --seed 77 --runs 5 --dry-run > b.txt
cmp -s a.txt b.txt || fail "two dry runs of seed 77 differ"
"$exe" explore --seed 77 --run 3 --dry-run > c.txt
awk '/^---$/ { n++ } n == 4 && !/^---$/' a.txt > d.txt
sed '1d' c.txt > e.txt
cmp -s d.txt e.txt || fail "--run 3 is not the 4th schedule of --runs 5"
"$exe" explore --seed 78 --runs 5 --dry-run > f.txt
cmp -s a.txt f.txt && fail "seeds 77 and 78 draw the same schedules"

# 2. Every schedule is a scenario: `clustersim check` takes each.
mkdir -p drawn
awk '/^---$/ { n++; next } { print > ("drawn/s" n ".yaml") }' a.txt
expect 0 "$exe" check drawn
has "5 scenarios valid, 0 invalid"

# 3. A short exploration, on properties the builtin cluster keeps: what it
# writes, and its exit.
expect 0 "$exe" explore --seed 5 --runs 3 --steps 3 --check ids \
	--check lifecycle --check once -o out -q
has "3 schedules, 3 runs"
[ -f out/summary.json ] || fail "no summary.json"
[ "$(wc -l < out/runs.jsonl)" -eq 3 ] || fail "runs.jsonl should have 3 lines"
python3 - out/summary.json <<'EOF' || fail "summary.json is not as expected"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["seed"] == 5, s["seed"]
assert s["runs"]["runs"] == 3 and s["runs"]["schedules"] == 3
assert sum(s["actions"].values()) == 9, s["actions"]
assert set(s["findings"]) == {"ids", "lifecycle", "once"}, s["findings"]
assert s["found"] == []
EOF

# 4. Bad command lines exit 64; a base with steps 3, saying why.
expect 64 "$exe" explore --check nope
has "unknown property 'nope'"
expect 64 "$exe" explore --load sometimes
expect 64 "$exe" explore --steps 0
expect 64 "$exe" explore a.yaml b.yaml
printf 'cluster: {workers: 1}\nsteps:\n  - sleep: 1ms\n' > base.yaml
expect 3 "$exe" explore base.yaml --runs 1
has "a base has no steps"
printf 'cluster: {workers: 1}\nworker:\n  servers: [{kind: htp}]\n' > bad.yaml
expect 3 "$exe" explore bad.yaml --runs 1
has "bad.yaml:3:"

# 5. A base file: its cluster is what runs.
printf 'name: mine\ncluster: {workers: 3}\nworker:\n  servers: [{kind: tcp, port: 0}]\n' > three.yaml
expect 0 "$exe" explore three.yaml --seed 9 --runs 1 --dry-run
has "count: 3"
has "kind: tcp"
grep -q "name: mine" out.txt && fail "the base's name is kept"

# 6. Differential: a target against itself tells the same story.
expect 0 "$exe" explore --seed 6 --runs 2 --steps 3 --target builtin \
	--target builtin --check differential -o diff -q
python3 -c "import json,sys; s=json.load(open('diff/summary.json')); \
assert s['findings']['differential'] == 0, s" || fail "builtin differs from builtin"

# 7. Under load, every run's trace has the load's latency record: the
# summary counts latencies and the runs' figures have them.
expect 0 "$exe" explore --seed 11 --runs 2 --steps 2 --load always \
	--check ids -o load -q
python3 - load/summary.json load/runs.jsonl <<'EOF' || fail "no latencies under --load always"
import json, sys
m = json.load(open(sys.argv[1]))["measurements"]
assert m["runs_with_load"] == 2, m
assert m["ok"] > 0, m
assert m.get("latency", {}).get("count", 0) > 0, "latency count is 0: %s" % m
assert m["latency"]["max_us"] >= m["latency"]["p50_us"] > 0, m["latency"]
runs = [json.loads(l) for l in open(sys.argv[2])]
answered = [r for r in runs if r.get("requests", 0) > r.get("failed", 0)]
assert answered and all(r.get("latency", {}).get("count", 0) > 0
                        for r in answered), "a run with answers has no latencies"
EOF

# 8. `clustersim run --html` draws the load under a timeline as well: a
# scenario under load gets its requests and latency plots.
expect 0 "$exe" run -q --html run.html "$root/scenarios/hang-under-load.yaml"
grep -q '>requests<' run.html && grep -q 'class="ld-ok"' run.html ||
	fail "run --html: no load plots for a scenario under load"

# 9. SIGINT in the middle: exit 130, the summary says so, nothing is left.
"$exe" explore --seed 8 --runs 1000 -j 2 -o int -q > int.txt 2>&1 &
pid=$!
sleep 4
kill -INT $pid
wait $pid
rc=$?
[ $rc -eq 130 ] || fail "SIGINT: exit $rc, expected 130"
grep -q '"stopped_by":	"interrupted"' int/summary.json 2> /dev/null ||
	fail "SIGINT: the summary does not say it was interrupted"
sleep 1
if pgrep -f "$exe (primary|worker)" > /dev/null; then
	fail "processes left after SIGINT:"
	pgrep -af "$exe (primary|worker)"
fi

[ $fails -eq 0 ] && echo "all explore command checks passed"
[ $fails -eq 0 ]
