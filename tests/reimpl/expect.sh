#!/bin/sh
# Expectations files (--expect, --write-expect) with a deviant agent that
# fails kill-default-signal (exitedAfterDisconnect inverted at worker 1's
# exit) and passes kill-sigkill: known failures only pass; a new failure
# fails; a newly passing scenario passes, reported as fixed; a bad file is
# refused before anything runs. On run and on matrix.
# usage: expect.sh CLUSTERSIM SOURCE_ROOT NODE
# Exit: 0 pass, 1 fail, 77 skip (no node), 99 hard error.
set -u
exe=$1
root=$2
node=${3:-}
[ -n "$node" ] && [ -x "$node" ] || { echo "node not found: skipped"; exit 77; }
dir=$(mktemp -d) || exit 99
trap 'rm -rf "$dir"' EXIT
fail() { cat "$dir/out.txt"; echo "FAIL: $*"; exit 1; }
deviant="exec:$node $root/tests/harness/agents/deviant.js flip-ead:1 $exe primary"
sc="$root/scenarios/kill-default-signal.yaml $root/scenarios/kill-sigkill.yaml"
run() { # expected-rc command args...
	want=$1
	shift
	# shellcheck disable=SC2086
	"$exe" "$@" --seed 21 --target "$deviant" $sc >"$dir/out.txt" 2>&1
	rc=$?
	[ "$rc" = "$want" ] || fail "clustersim $1 ... exited $rc (expected $want)"
}

# without expectations the deviant fails
run 1 run -q

# --write-expect records the failure; the run passes
run 0 run -q --write-expect "$dir/known.json"
grep -q 'recorded in' "$dir/out.txt" || fail "no word of the file written"
"$node" -e '
const e = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const k = e["known-failures"];
if (e["clustersim-expectations"] !== 1 || k.length !== 1 || k[0].scenario !== "kill-default-signal" ||
    !/deviant/.test(k[0].target) || k[0].verdict !== "fail" || !/exitedAfterDisconnect/.test(k[0].finding))
  throw new Error(JSON.stringify(e));
' "$dir/known.json" || fail "the written file"

# 1. known failures only: pass
run 0 run --expect "$dir/known.json"
grep -q '^clustersim: expectations .*known.json: 1 known failure, 0 fixed, 0 new failures$' "$dir/out.txt" ||
	fail "known failures only"
grep -q '^  known: kill-default-signal \[exec:' "$dir/out.txt" || fail "the known failure is not listed"

# 2. a new failure: fail
printf '{"clustersim-expectations": 1, "known-failures": []}\n' >"$dir/none.json"
run 1 run -q --expect "$dir/none.json"
grep -q '0 known failures, 0 fixed, 1 new failure$' "$dir/out.txt" || fail "the new failure's count"
grep -q '^  new failure: kill-default-signal \[exec:.*\]: .*exitedAfterDisconnect' "$dir/out.txt" ||
	fail "the new failure is not named with its finding"

# 3. a newly passing scenario: pass, reported as fixed (any target: "*")
cat >"$dir/fixed.json" <<JSON
{"clustersim-expectations": 1, "known-failures": [
  {"scenario": "kill-default-signal", "target": "*"},
  {"scenario": "kill-sigkill", "target": "*", "finding": "it used to fail"},
  {"scenario": "not-in-this-shard", "target": "*"}]}
JSON
run 0 run -q --expect "$dir/fixed.json"
grep -q '1 known failure, 1 fixed, 0 new failures$' "$dir/out.txt" || fail "the fixed count"
grep -q '^  fixed (now passes; remove it from the file): kill-sigkill \[exec:' "$dir/out.txt" ||
	fail "the fixed scenario is not named"

# the same on matrix
run 0 matrix -q --coverage none --expect "$dir/known.json" --markdown "$dir/m.md"
grep -q '1 known failure, 0 fixed, 0 new failures' "$dir/out.txt" || fail "matrix --expect"
[ -s "$dir/m.md" ] || fail "matrix --expect wrote no matrix"

# bad files are refused before anything runs, and only run and matrix take them
printf '{"known-failures": {}}' >"$dir/bad.json"
run 64 run --expect "$dir/bad.json"
grep -q -- '--expect .*bad.json: not an expectations file' "$dir/out.txt" || fail "the bad file's message"
printf '{"clustersim-expectations": 1, "known-failures": [{"target": 3}]}' >"$dir/bad2.json"
run 64 run --expect "$dir/bad2.json"
grep -q 'known-failures\[0\]: an object with a string "scenario"' "$dir/out.txt" || fail "the bad entry's message"
run 64 run --expect "$dir/missing.json"
grep -q 'no such file' "$dir/out.txt" || fail "a missing file"
printf '{not json' >"$dir/bad3.json"
run 64 run --expect "$dir/bad3.json"
grep -q 'not JSON' "$dir/out.txt" || fail "a file that is not JSON"
"$exe" list --expect "$dir/known.json" "$root/scenarios" >"$dir/out.txt" 2>&1
[ $? = 64 ] || fail "list --expect was accepted"
echo "ok: known failures, a new failure, a fixed one, bad files"
exit 0
