#!/bin/sh
# JUnit files of REAL `clustersim run`s (real clusters, real processes),
# checked with xmllint: well-formed, valid against junit-10.xsd (the
# --junit-strict file as written, the default file after
# `clustersim report merge --strict`), and their counts by XPath, at the
# root, in every suite, and case by case.
# usage: junit-real.sh CLUSTERSIM SOURCE_ROOT MODE
#   pass     a few bundled scenarios, all passing
#   fail     failures, a timeout, an invalid scenario, a skip and an
#            inconclusive run beside passing ones (tests/reports/runs/)
#   sigint   the harness interrupted by SIGINT in the middle of a run
#   sigterm  the same with SIGTERM
#   sigkill  the harness SIGKILLed in the middle of a suite: the JUnit
#            file, rewritten after every finished case, holds those cases
#   repeat   --repeat 3 with a flaky case and a case bad on its last attempt
#   shard    --shard 1/2 and 2/2 merged with `clustersim report merge`,
#            against the same selection run unsharded
# Exit: 0 pass, 1 fail, 99 hard error (the schema missing is one).
set -u
exe=$1
root=$2
mode=$3
runs=$root/tests/reports/runs
sc=$root/scenarios

command -v xmllint >/dev/null 2>&1 || { echo "xmllint missing (libxml2-utils)"; exit 99; }
# The schema travels with the tests: validation never skips.
schema=$root/tests/reports/junit-10.xsd
[ -f "$schema" ] || { echo "$schema missing"; exit 99; }

# Every process of the runs inherits TMPDIR: the interrupt modes use it to
# see when the run to interrupt has started.
dir=$(mktemp -d -t clustersim-junit-real-XXXXXX) || exit 99
TMPDIR=$dir/tmp
mkdir "$TMPDIR" || exit 99
export TMPDIR
trap 'rm -rf "$dir"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
xp() { xmllint --xpath "$2" "$1" 2>/dev/null; }

# run WANT_EXIT ARGS...: a real run, its stdout and stderr in $dir/out.txt
run() {
	want=$1
	shift
	"$exe" run "$@" >"$dir/out.txt" 2>&1
	got=$?
	if [ "$got" -ne "$want" ]; then
		fail "'clustersim run $*' exited $got, expected $want"
		tail -30 "$dir/out.txt"
	fi
}

# valid FILE: well-formed; valid against the schema, directly when the
# file is strict, after `report merge --strict` otherwise.
valid() {
	xmllint --noout "$1" || { fail "$1: not well-formed"; return 1; }
	if [ "$(xp "$1" 'count(//testcase[@file or properties])')" = 0 ] &&
		[ "$(xp "$1" 'count(/testsuites[@skipped])')" = 0 ]; then
		xmllint --noout --schema "$schema" "$1" 2>"$dir/xsd.txt" ||
			{ fail "$1: not valid against junit-10.xsd"; cat "$dir/xsd.txt"; }
		return 0
	fi
	"$exe" report merge --strict "$1" -o "$1.strict" ||
		{ fail "$1: report merge --strict failed"; return 1; }
	xmllint --noout --schema "$schema" "$1.strict" 2>"$dir/xsd.txt" ||
		{ fail "$1 (merge --strict): not valid against junit-10.xsd"; cat "$dir/xsd.txt"; }
}

# counts FILE TESTS FAILURES ERRORS SKIPPED: the children, the root's
# attributes, and every suite's attributes against its own cases.
counts() {
	f=$1
	want="$2 $3 $4 $5"
	got="$(xp "$f" 'count(//testcase)') $(xp "$f" 'count(//testcase[failure])') $(xp "$f" 'count(//testcase[error])') $(xp "$f" 'count(//testcase[skipped])')"
	[ "$got" = "$want" ] ||
		fail "$f: cases/failures/errors/skipped $got, want $want"
	attrs="$(xp "$f" 'number(/testsuites/@tests)') $(xp "$f" 'number(/testsuites/@failures)') $(xp "$f" 'number(/testsuites/@errors)')"
	[ "$attrs" = "$2 $3 $4" ] ||
		fail "$f: root tests/failures/errors $attrs, want $2 $3 $4"
	if [ "$(xp "$f" 'count(/testsuites[@skipped])')" = 1 ]; then
		s=$(xp "$f" 'number(/testsuites/@skipped)')
		[ "$s" = "$5" ] || fail "$f: root skipped $s, want $5"
	fi
	bad=$(xp "$f" 'count(//testsuite[@tests != count(testcase) or @failures != count(testcase[failure]) or @errors != count(testcase[error]) or @skipped != count(testcase[skipped])])')
	[ "$bad" = 0 ] || fail "$f: $bad suites whose counts differ from their cases"
}

# is FILE XPATH WHAT: the XPath (a boolean) must hold
is() {
	[ "$(xp "$1" "boolean($2)")" = true ] || fail "$1: $3 ($2)"
}

case $mode in
pass)
	set -- "$sc/crash-exit-code.yaml" "$sc/messages-echo.yaml" \
		"$sc/kill-sigkill.yaml" "$sc/cluster-disconnect.yaml"
	run 0 --seed 5 --junit "$dir/pass.xml" "$@"
	run 0 --seed 5 --junit "$dir/strict.xml" --junit-strict "$@"
	for f in "$dir/pass.xml" "$dir/strict.xml"; do
		valid "$f"
		counts "$f" 4 0 0 0
		is "$f" "count(//testcase[*[not(self::properties or self::system-out)]]) = 0" \
			"a passing case has a result element"
		is "$f" "count(//testcase[@classname = 'clustersim.builtin']) = 4" \
			"the classname is not clustersim.builtin"
	done
	is "$dir/pass.xml" "//testcase[@name='crash-exit-code' and @file='$sc/crash-exit-code.yaml' and @line='1']/properties/property[@name='replay' and contains(@value, '--seed 5')]" \
		"no file, line or replay command"
	is "$dir/strict.xml" "count(//testcase[@file or properties]) = 0" \
		"--junit-strict kept testcase extensions"
	is "$dir/strict.xml" "//testcase[@name='messages-echo']/system-out[contains(., 'replay: clustersim run $sc/messages-echo.yaml --target builtin --seed 5')]" \
		"the strict file lost the replay command"
	;;
fail)
	# Exit 3: an invalid scenario outranks the failures.
	run 3 --seed 9 --junit "$dir/fail.xml" --html "$dir/fail.html" \
		"$sc/crash-exit-code.yaml" "$sc/messages-echo.yaml" \
		"$runs/wrong-exit-code.yaml" "$runs/wrong-count.yaml" \
		"$runs/misses-deadline.yaml" "$runs/malformed.yaml" \
		"$runs/skipped.yaml" "$runs/unexercised-budget.yaml"
	f=$dir/fail.xml
	valid "$f"
	counts "$f" 8 3 1 2
	tc() { echo "//testcase[@name='$1']"; }
	is "$f" "count($(tc crash-exit-code)/*[self::failure or self::error or self::skipped]) = 0" \
		"a passing scenario is not a pass"
	is "$f" "$(tc wrong-exit-code)/failure[@type='fail' and contains(@message, 'expected exit code 5 at exit, got 4') and contains(@message, 'wrong-exit-code.yaml:14:')]" \
		"the failure does not say what was expected and seen, at which line"
	is "$f" "$(tc wrong-exit-code)/failure[contains(., 'replay: clustersim run $runs/wrong-exit-code.yaml --target builtin --seed 9')]" \
		"the failure body has no replay command"
	is "$f" "$(tc wrong-count)/failure[@type='fail' and contains(@message, 'expected 3 message events, got 2')]" \
		"the counts failure is not reported"
	is "$f" "$(tc misses-deadline)/failure[@type='timeout' and contains(@message, 'timed out')]" \
		"the timeout is not a failure of type timeout"
	is "$f" "$(tc malformed)[@line='5']/error[@type='error' and contains(@message, \"unknown signal 'SIGKIL'\")]" \
		"the invalid scenario is not an error at its line"
	is "$f" "$(tc skipped)/skipped[@message='kept out of the run on purpose']" \
		"the skip has not its reason"
	is "$f" "$(tc unexercised-budget)/skipped[@type='inconclusive' and contains(@message, 'not exercised')]" \
		"the inconclusive run is not skipped as inconclusive"
	is "$f" "$(tc wrong-exit-code)/properties/property[@name='verdict' and @value='fail']" \
		"no verdict property"
	# The failure body gives the reason once, then what else there is.
	n=$(xp "$f" "$(tc misses-deadline)/failure" | grep -c 'timed out after')
	[ "$n" = 1 ] || fail "the timeout's reason appears $n times in its body"
	grep -q 'class="expect"' "$dir/fail.html" ||
		fail "the HTML page does not point at the failed expectation"
	# The terminal view (plain on a pipe) counts the invalid scenario as
	# one of the 8 cases, with its own line, and so does the closing line.
	n=$(grep -c '^\[[0-9]*/8\] ' "$dir/out.txt")
	[ "$n" = 8 ] || { fail "$n progress lines out of 8, not one per case"; cat "$dir/out.txt"; }
	grep -q '^\[[0-9]*/[0-9]*\] error  *malformed \[builtin\] .*unknown signal' "$dir/out.txt" ||
		fail "the terminal view has no line for the invalid scenario"
	grep -q '^\[[0-9]*/7\]' "$dir/out.txt" &&
		fail "the terminal view counts 7 cases, the report 8"
	grep -q '^8 cases: 2 passed (0 flaky), 3 failed, 1 errors, 2 skipped' "$dir/out.txt" ||
		fail "the summary does not count 8 cases"
	grep -q '^clustersim: 2 pass, 2 fail, 1 timeout, 1 inconclusive, 1 error, 1 skip ' "$dir/out.txt" ||
		{ fail "the closing line leaves out the invalid scenario"; tail -2 "$dir/out.txt"; }
	;;
sigint | sigterm)
	sig=$(echo "$mode" | tr a-z A-Z)
	short=${sig#SIG}
	f=$dir/int.xml
	# A previous file: it must be replaced whole (a new inode, no
	# temporary file left), never written over in place.
	# The file is rewritten after every case: a second link keeps the
	# first inode from being reused by a later file.
	echo 'not xml' >"$f"
	before=$(stat -c %i "$f")
	ln "$f" "$dir/int.first"
	"$exe" run -j 1 --tap --seed 3 --junit "$f" --html "$dir/int.html" \
		"$sc/crash-exit-code.yaml" "$sc/messages-echo.yaml" \
		"$runs/holds-on.yaml" "$sc/kill-sigkill.yaml" >"$dir/tap.txt" 2>"$dir/err.txt" &
	pid=$!
	# holds-on sleeps 40 s with two workers listening: interrupt it when
	# its cluster is up (its workers are clustersim processes carrying
	# this TMPDIR), after the two quick scenarios have ended.
	up=0
	i=0
	while [ $i -lt 300 ]; do
		if grep -q '^ok 2 ' "$dir/tap.txt" 2>/dev/null; then
			n=0
			for p in $(pgrep -f clustersim 2>/dev/null); do
				grep -qzsx "TMPDIR=$TMPDIR" "/proc/$p/environ" 2>/dev/null &&
					n=$((n + 1))
			done
			# harness, supervisor, primary, two workers
			if [ $n -ge 5 ]; then up=1; break; fi
		fi
		sleep 0.1
		i=$((i + 1))
	done
	if [ $up = 0 ]; then
		kill -KILL $pid 2>/dev/null
		cat "$dir/tap.txt" "$dir/err.txt"
		echo "the run to interrupt did not come up"
		exit 99
	fi
	kill -s "$short" $pid
	wait $pid
	rc=$?
	[ $rc = 130 ] || { fail "the interrupted harness exited $rc, expected 130"; cat "$dir/err.txt"; }
	[ "$(stat -c %i "$f")" != "$before" ] && [ "$(cat "$dir/int.first")" = 'not xml' ] ||
		fail "the JUnit file was written in place"
	left=$(ls -a "$dir" | grep -c '\.tmp\.')
	[ "$left" = 0 ] || fail "$left temporary files left beside the reports"
	valid "$f"
	# the two finished cases as they ended, the one running as an error,
	# the one never started not at all
	counts "$f" 3 0 1 0
	is "$f" "count(//testcase[@name='crash-exit-code' or @name='messages-echo'][not(failure or error or skipped)]) = 2" \
		"the cases that ended before the signal are not passes"
	# docs/reports.md's shutdown path: the running attempt is left open,
	# so the writers show it as interrupted, with how long it had run.
	is "$f" "//testcase[@name='holds-on']/error[@type='interrupted' and @message='interrupted by $sig']" \
		"the running case is not an error of type interrupted, 'interrupted by $sig'"
	is "$f" "//testcase[@name='holds-on']/error[contains(., 'the run was interrupted after ') and contains(., 'replay: clustersim run $runs/holds-on.yaml --target builtin --seed 3')]" \
		"the interrupted case's body does not say after how long, or how to replay it"
	is "$f" "//testcase[@name='holds-on']/properties/property[@name='verdict' and @value='interrupted']" \
		"the running case's verdict is not interrupted"
	is "$f" "number(//testcase[@name='holds-on']/@time) > 0" \
		"the interrupted case has no time"
	is "$f" "count(//testcase[@name='kill-sigkill']) = 0" \
		"a case that never started is in the report"
	is "$f" "//testsuite/properties/property[@name='interrupted' and @value='interrupted by $sig']" \
		"the suite does not say the run was interrupted"
	xmllint --html --noout "$dir/int.html" 2>/dev/null ||
		fail "no HTML page after the interruption"
	grep -q "holds-on" "$dir/int.html" || fail "the HTML page misses the interrupted case"
	grep -q "^not ok 3 - holds-on" "$dir/tap.txt" || fail "TAP does not show the interrupted case"
	grep -q "^  severity: interrupted" "$dir/tap.txt" || fail "TAP does not say the case was interrupted"
	;;
sigkill)
	# Nothing runs in the harness after SIGKILL: what is left is the
	# JUnit file it rewrote after every finished case.
	f=$dir/killed.xml
	"$exe" run -j 1 --tap --seed 3 --junit "$f" \
		"$sc/crash-exit-code.yaml" "$sc/messages-echo.yaml" \
		"$runs/holds-on.yaml" "$sc/kill-sigkill.yaml" >"$dir/tap.txt" 2>"$dir/err.txt" &
	pid=$!
	up=0
	i=0
	while [ $i -lt 300 ]; do
		if grep -q '^ok 2 ' "$dir/tap.txt" 2>/dev/null; then
			n=0
			for p in $(pgrep -f clustersim 2>/dev/null); do
				grep -qzsx "TMPDIR=$TMPDIR" "/proc/$p/environ" 2>/dev/null &&
					n=$((n + 1))
			done
			if [ $n -ge 5 ]; then up=1; break; fi
		fi
		sleep 0.1
		i=$((i + 1))
	done
	kill -KILL $pid 2>/dev/null
	wait $pid 2>/dev/null
	if [ $up = 0 ]; then
		cat "$dir/tap.txt" "$dir/err.txt"
		echo "the run to kill did not come up"
		exit 99
	fi
	# the supervisors end the runs when the harness is gone
	i=0
	while [ $i -lt 50 ]; do
		n=0
		for p in $(pgrep -f clustersim 2>/dev/null); do
			grep -qzsx "TMPDIR=$TMPDIR" "/proc/$p/environ" 2>/dev/null &&
				n=$((n + 1))
		done
		[ $n = 0 ] && break
		sleep 0.1
		i=$((i + 1))
	done
	[ -f "$f" ] || { fail "no JUnit file after the harness was SIGKILLed"; exit 1; }
	left=$(ls -a "$dir" | grep -c '\.tmp\.')
	[ "$left" = 0 ] || fail "$left temporary files left beside the report"
	valid "$f"
	is "$f" "count(//testcase[@name='crash-exit-code' or @name='messages-echo'][not(failure or error or skipped)]) = 2" \
		"the two cases that ended before the kill are not passes in the file"
	is "$f" "count(//testcase[not(@name='crash-exit-code' or @name='messages-echo')][not(error)]) = 0" \
		"a case that had not ended is shown as something else than an error"
	is "$f" "count(//testcase[@name='kill-sigkill']) = 0" \
		"a case that never started is in the file"
	n=$(xp "$f" 'count(//testcase)')
	[ "$n" -ge 2 ] && [ "$n" -le 3 ] || fail "$n cases in the file, expected 2 (or 3 with holds-on)"
	counts "$f" "$n" 0 $((n - 2)) 0
	;;
repeat)
	# attempt-agent.sh makes fails-first bad on attempt 1 only and
	# fails-odd bad on attempts 1 and 3: decided by the attempt number
	# the harness gives the agent, not by timing.
	target="exec:sh $runs/attempt-agent.sh $exe"
	run 1 --seed 20 --repeat 3 --target "$target" --junit "$dir/rep.xml" \
		"$sc/messages-echo.yaml" "$runs/fails-first.yaml" "$runs/fails-odd.yaml" \
		"$runs/fails-second.yaml"
	f=$dir/rep.xml
	valid "$f"
	counts "$f" 4 0 0 0
	tc() { echo "//testcase[@name='$1']"; }
	is "$f" "$(tc messages-echo)[not(failure or error or skipped or flakyFailure or rerunFailure)]/properties/property[@name='attempts' and @value='pass,pass,pass']" \
		"three passing attempts are not a plain pass"
	is "$f" "$(tc fails-first)[not(failure or error)]/properties/property[@name='verdict' and @value='flaky']" \
		"bad then good is not flaky (a pass)"
	is "$f" "$(tc fails-first)/properties/property[@name='attempts' and @value='fail,pass,pass']" \
		"the flaky case's attempts are wrong"
	is "$f" "count($(tc fails-first)/flakyFailure) = 1 and $(tc fails-first)/flakyFailure[starts-with(@message, 'attempt 1/3:') and contains(@message, 'got 7 at primary-exit')]/stackTrace" \
		"the flaky case has not one flakyFailure for attempt 1"
	# the verdict does not depend on which attempt failed: mixed outcomes
	# are flaky, a failing last attempt included
	is "$f" "$(tc fails-odd)[not(failure or error)]/properties/property[@name='verdict' and @value='flaky']" \
		"fail, pass, fail is not flaky"
	is "$f" "$(tc fails-odd)/properties/property[@name='attempts' and @value='fail,pass,fail']" \
		"the flaky case's attempts are wrong"
	is "$f" "$(tc fails-odd)/properties/property[@name='passed' and @value='1/3']" \
		"the flaky case does not say 1/3 passed"
	is "$f" "$(tc fails-first)/properties/property[@name='passed' and @value='2/3']" \
		"the flaky case does not say 2/3 passed"
	is "$f" "count($(tc fails-odd)/flakyFailure) = 2 and $(tc fails-odd)/flakyFailure[starts-with(@message, 'attempt 1/3:')] and $(tc fails-odd)/flakyFailure[starts-with(@message, 'attempt 3/3:')]" \
		"the flaky case has not one flakyFailure for attempts 1 and 3"
	is "$f" "count(//flakyFailure | //rerunFailure | //flakyError | //rerunError) = 4" \
		"a passing attempt became a rerun or flaky element"
	# Attempt k ran with seed 20+k-1: each element names its own seed and
	# the command that replays that attempt.
	rp="replay: clustersim run"
	is "$f" "$(tc fails-odd)/flakyFailure[starts-with(@message, 'attempt 1/3:')]/stackTrace[contains(., 'seed: 20') and contains(., '$rp $runs/fails-odd.yaml --target') and contains(., ' --seed 20')]" \
		"the flaky failure of attempt 1 does not carry seed 20"
	is "$f" "$(tc fails-odd)/flakyFailure[starts-with(@message, 'attempt 3/3:')]/stackTrace[contains(., 'seed: 22') and contains(., '$rp $runs/fails-odd.yaml --target') and contains(., ' --seed 22') and not(contains(., '--seed 20'))]" \
		"the flaky failure of attempt 3 does not carry its seed 22 and replay command"
	is "$f" "$(tc fails-second)[not(failure or error)]/properties/property[@name='attempts' and @value='pass,fail,pass']" \
		"pass, fail, pass is not flaky"
	is "$f" "$(tc fails-second)/flakyFailure[starts-with(@message, 'attempt 2/3:')]/stackTrace[contains(., 'seed: 21') and contains(., ' --seed 21') and not(contains(., '--seed 20'))]" \
		"the flaky failure of attempt 2 does not carry its seed 21 and replay command"
	is "$f" "$(tc fails-odd)/system-out[contains(., '1=fail(') and contains(., 'seed 20)') and contains(., 'seed 21)') and contains(., 'seed 22)')]" \
		"system-out does not list each attempt's seed"
	# the terminal summary replays the attempt it shows
	grep -q "replay: clustersim run $runs/fails-second.yaml .* --seed 21" "$dir/out.txt" ||
		{ fail "the terminal summary does not replay the flaky attempt with its seed"; cat "$dir/out.txt"; }
	;;
shard)
	set -- "$sc/crash-exit-code.yaml" "$sc/messages-echo.yaml" \
		"$sc/kill-sigkill.yaml" "$runs/wrong-exit-code.yaml" \
		"$runs/misses-deadline.yaml" "$runs/skipped.yaml" \
		"$runs/unexercised-budget.yaml"
	run 1 --seed 4 --junit "$dir/all.xml" "$@"
	run 1 --seed 4 --shard 1/2 --junit "$dir/s1.xml" "$@"
	run 1 --seed 4 --shard 2/2 --junit "$dir/s2.xml" "$@"
	"$exe" report merge "$dir/s1.xml" "$dir/s2.xml" -o "$dir/merged.xml" ||
		fail "clustersim report merge failed"
	"$exe" report merge --strict "$dir/s1.xml" "$dir/s2.xml" -o "$dir/merged-strict.xml" ||
		fail "clustersim report merge --strict failed"
	for f in "$dir/all.xml" "$dir/merged.xml" "$dir/merged-strict.xml"; do
		valid "$f"
		counts "$f" 7 2 0 2
	done
	valid "$dir/s1.xml"
	valid "$dir/s2.xml"
	n1=$(xp "$dir/s1.xml" 'count(//testcase)')
	n2=$(xp "$dir/s2.xml" 'count(//testcase)')
	[ "$n1" -gt 0 ] && [ "$n2" -gt 0 ] || fail "a shard is empty ($n1 and $n2 cases)"
	is "$dir/s1.xml" "//testsuite/properties/property[@name='shard' and @value='1/2']" \
		"shard 1 does not say so"
	is "$dir/s2.xml" "//testsuite/properties/property[@name='shard' and @value='2/2']" \
		"shard 2 does not say so"
	# the same cases with the same verdicts as the unsharded run
	verdicts() {
		for name in $(xp "$1" '//testcase/@name' | sed 's/ name="\([^"]*\)"/\1\n/g'); do
			v=pass
			[ "$(xp "$1" "count(//testcase[@name='$name']/failure)")" = 1 ] && v=failure
			[ "$(xp "$1" "count(//testcase[@name='$name']/error)")" = 1 ] && v=error
			[ "$(xp "$1" "count(//testcase[@name='$name']/skipped)")" = 1 ] && v=skipped
			echo "$name $v"
		done | sort
	}
	verdicts "$dir/all.xml" >"$dir/all.txt"
	verdicts "$dir/merged.xml" >"$dir/merged.txt"
	cmp -s "$dir/all.txt" "$dir/merged.txt" ||
		{ fail "the merged shards differ from the unsharded run"; diff "$dir/all.txt" "$dir/merged.txt"; }
	[ "$(wc -l <"$dir/all.txt")" = 7 ] || fail "the unsharded run has not 7 cases"
	;;
*)
	echo "usage: junit-real.sh CLUSTERSIM SOURCE_ROOT pass|fail|sigint|sigterm|sigkill|repeat|shard"
	exit 99
	;;
esac
[ $fails = 0 ] || exit 1
echo "junit real $mode: all checks passed"
