#!/bin/sh
# `clustersim run|check|list`: exit codes for every outcome, --help, the
# JUnit file, --trace-dir and `check --trace` on a recorded trace.
# usage: cli.sh CLUSTERSIM SOURCE_ROOT
# Exit: 0 pass, 1 fail, 99 hard error.
set -u
exe=$1
root=$2
runs=$root/tests/harness/runs
malformed=$root/tests/harness/malformed
command -v xmllint > /dev/null 2>&1 ||
	{ echo "xmllint missing (libxml2-utils: ./setup.sh installs it)"; exit 99; }
dir=$(mktemp -d -t clustersim-cli-XXXXXX) || exit 99
trap 'rm -rf "$dir"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# expect CODE COMMAND... : the command must exit with CODE
expect() {
	want=$1
	shift
	"$@" > "$dir/out.txt" 2>&1
	got=$?
	if [ $got -ne "$want" ]; then
		fail "'$*' exited $got, expected $want"
		tail -20 "$dir/out.txt"
	fi
}

expect 0 "$exe" run --help
grep -q -- "--time-scale" "$dir/out.txt" || fail "--help misses --time-scale"
grep -q "Exit codes:" "$dir/out.txt" || fail "--help does not list the exit codes"
expect 0 "$exe" check "$root/scenarios"
expect 0 "$exe" list "$root/scenarios"
grep -q "rolling-restart-keepalive" "$dir/out.txt" || fail "list misses a scenario"
expect 3 "$exe" check "$malformed/bad-signal.yaml"
grep -q "did you mean 'SIGKILL'" "$dir/out.txt" || fail "check shows no suggestion"
grep -q "  \^" "$dir/out.txt" || fail "check shows no caret under the error"
expect 3 "$exe" check "$malformed"
expect 64 "$exe" run --no-such-option
expect 64 "$exe" run --shard 3/2 "$runs/passes.yaml"
# One exit code for a bad command line, whatever the command (the roles
# included: their environment is the protocol's, their options are not).
expect 64 "$exe"
while read -r line; do
	# the words of the line are the arguments
	expect 64 env -u CLUSTERSIM_WORKER -u CLUSTERSIM_CONTROL "$exe" $line
	grep -q "Try 'clustersim" "$dir/out.txt" ||
		fail "'$line' does not say where the usage is"
done <<'LINES'
frobnicate
run --jobs
run --jobs 0
run --repeat 0
run --seed -1
run --time-scale 1000
check --no-such-option
check --diff
list --no-such-option
list --trace x.jsonl
diff --no-such-option
diff --target builtin
report
report frobnicate
report merge --no-such-option
report merge a.xml
report merge -o all.xml
worker --no-such-option
worker --http
primary extra
primary --no-such-option
version extra
help frobnicate
LINES
for c in run check list diff "report merge" worker primary help; do
	expect 0 "$exe" $c --help
	grep -q "^  64 *bad command line" "$dir/out.txt" ||
		fail "'$c --help' does not list exit code 64"
done
expect 0 "$exe" --help
grep -q "build/clustersim" "$dir/out.txt" ||
	fail "--help does not name build/clustersim"
# a bad CLUSTERSIM_WORKER is the worker agent's own refusal (exit 2, as
# docs/protocol.md says of every worker agent), not a bad command line
expect 2 env CLUSTERSIM_WORKER='{"extra":1}' "$exe" worker
# `report merge`: a missing input is a failure of the merge, not of usage
expect 1 "$exe" report merge "$dir/none.xml" -o "$dir/merged.xml"
expect 64 "$exe" run --target biultin "$runs/passes.yaml"
grep -q "did you mean" "$dir/out.txt" || fail "no suggestion for a bad target"

expect 0 "$exe" run -q "$runs/passes.yaml"
expect 1 "$exe" run -q "$runs/fails.yaml"
grep -q "expected exit code 5 at exit, got 4" "$dir/out.txt" ||
	fail "the failure does not say what was expected and observed"
expect 2 "$exe" run -q "$runs/inconclusive.yaml"
expect 1 "$exe" run -q "$runs/times-out.yaml"
# a process that outlives its primary fails the run, and is killed
expect 1 "$exe" run -q "$runs/leftover.yaml"
grep -q "1 process of the run was still alive" "$dir/out.txt" ||
	fail "the leftover worker is not reported"
# an agent that cannot start is an error of the run, not a failure
expect 3 "$exe" run -q --target "exec:exit 3" "$runs/passes.yaml"
# agents that break the protocol: an error of the run, never a pass
if command -v node > /dev/null 2>&1; then
	bad="node $root/tests/harness/agents/misbehave.js"
	for mode in no-hello garbage refuse-setup silent; do
		expect 3 "$exe" run -q --time-scale 0.3 --target "exec:$bad $mode" \
			"$runs/passes.yaml"
	done
	grep -q "did not answer its setup" "$dir/out.txt" ||
		fail "a silent agent is not reported as such"
	# an agent whose events break the invariants fails the oracle
	expect 1 "$exe" run -q --target "exec:$bad bad-events" "$runs/fork-one.yaml"
	grep -q "invariant" "$dir/out.txt" || fail "no invariant reported"
fi

# selection
expect 0 "$exe" run -q --filter 'pass*' "$runs"
grep -q "1 pass, 0 fail" "$dir/out.txt" || fail "--filter did not select one"
expect 0 "$exe" list --shard 2/2 "$root/scenarios"
n=$(grep -c yaml "$dir/out.txt")
"$exe" list "$root/scenarios" > "$dir/all.txt" 2>&1
all=$(grep -c yaml "$dir/all.txt")
[ "$n" -eq $((all / 2)) ] || fail "--shard 2/2 listed $n of $all"
expect 0 "$exe" list --tag restart "$root/scenarios"
grep -q "rolling-restart" "$dir/out.txt" || fail "--tag restart misses a scenario"
grep -q "crash-exit-code" "$dir/out.txt" && fail "--tag restart kept crash-exit-code"

# the worst outcome wins, and the JUnit file shows every run
expect 1 "$exe" run -q --junit "$dir/junit.xml" --trace-dir "$dir/traces" \
	--seed 42 "$runs/passes.yaml" "$runs/fails.yaml" "$runs/inconclusive.yaml"
xmllint --noout "$dir/junit.xml" || fail "the JUnit file is not well-formed"
cases=$(xmllint --xpath 'count(//testcase)' "$dir/junit.xml")
[ "$cases" = 3 ] || fail "JUnit has $cases testcases, expected 3"
failures=$(xmllint --xpath 'count(//testcase/failure)' "$dir/junit.xml")
[ "$failures" = 1 ] || fail "JUnit has $failures failures, expected 1"
grep -q 'seed 42' "$dir/junit.xml" ||
	grep -q '"42"' "$dir/junit.xml" || fail "JUnit does not carry the seed"
# strict JUnit validates against Jenkins' schema (in the tree)
expect 1 "$exe" run -q --junit "$dir/strict.xml" --junit-strict \
	"$runs/passes.yaml" "$runs/fails.yaml"
xmllint --noout --schema "$root/tests/reports/junit-10.xsd" \
	"$dir/strict.xml" || fail "the strict JUnit file does not validate"
# an invalid scenario is an error testcase, and the valid ones still run
mkdir -p "$dir/mixed"
cp "$runs/passes.yaml" "$malformed/bad-signal.yaml" "$dir/mixed/"
expect 3 "$exe" run -q --junit "$dir/mixed.xml" "$dir/mixed"
errors=$(xmllint --xpath 'count(//testcase/error)' "$dir/mixed.xml")
[ "$errors" = 1 ] || fail "the invalid scenario is not an error testcase"
passed=$(xmllint --xpath 'count(//testcase[not(*[self::error or self::failure or self::skipped])])' "$dir/mixed.xml")
[ "$passed" = 1 ] || fail "the valid scenario beside it did not pass"

trace=$dir/traces/fails.builtin.1.jsonl
[ -s "$trace" ] || fail "no trace file $trace"
head -1 "$trace" | grep -q '"type":"trace"' || fail "the trace has no header"
grep -q '"i":0' "$trace" || fail "trace records carry no index"
# the harness's own cost of the run, in the header: start and end measured
head -1 "$trace" |
	grep -q '"harness":{"start_ms":[0-9.e-]*,"drain_ms":[0-9.e-]*,"end_ms":[0-9.e-]*,"run_ms":[0-9.e-]*}' ||
	fail "the trace header has no harness cost: $(head -c 400 "$trace")"
# the recorded trace checked again gives the same verdict
expect 1 "$exe" check --trace "$trace" "$runs/fails.yaml"
grep -q "expected exit code 5 at exit, got 4" "$dir/out.txt" ||
	fail "check --trace does not find the failure again"

[ $fails -eq 0 ] || exit 1
echo "cli: all checks passed"
