#!/bin/sh
# Validates every synthetic JUnit file against the Jenkins junit-10.xsd
# (tests/reports/junit-10.xsd) with xmllint and checks the counts by XPath.
# usage: check-junit.sh REPORT_TOOL SOURCE_ROOT [CLUSTERSIM]
# With CLUSTERSIM, merging goes through `clustersim report merge`.
# Exit: 0 pass, 1 fail, 99 hard error.
set -u
tool=$1
root=$2
merge_cmd="$tool report merge"
[ -n "${3:-}" ] && merge_cmd="$3 report merge"

# The schema travels with the tests: validation never skips.
schema=$root/tests/reports/junit-10.xsd
[ -f "$schema" ] || { echo "$schema missing"; exit 99; }
command -v xmllint >/dev/null 2>&1 || { echo "xmllint missing (libxml2-utils)"; exit 99; }

dir=$(mktemp -d) || exit 99
trap 'rm -rf "$dir"' EXIT
"$tool" gen "$dir" || { echo "report-tool gen failed"; exit 99; }
$merge_cmd "$dir/shard1.xml" "$dir/shard2.xml" -o "$dir/merged.xml" ||
	{ echo "merge failed"; exit 99; }

fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
xp() { xmllint --xpath "$2" "$1" 2>/dev/null; }

# name tests failures errors skipped flaky(flakyFailure+flakyError) reruns
table='pass 3 0 0 0 0 0
fail 2 1 0 0 0 0
error 2 0 1 0 0 0
skip 3 0 0 2 0 0
timeout 2 1 0 0 0 0
interrupted 3 1 1 0 0 0
nasty 1 1 0 0 0 0
flaky 4 1 0 0 3 2
shard1 2 1 0 0 0 0
shard2 3 0 1 1 0 0
merged 5 1 1 1 0 0
mixed 7 2 1 2 1 0'

echo "$table" | while read -r name tests failures errors skipped flaky reruns; do
	for variant in "" .strict .conv; do
		f=$dir/$name$variant.xml
		if [ "$variant" = .conv ]; then
			# The default dialect, reduced to junit-10 by the merge tool:
			# what it drops are exactly our documented extensions.
			$merge_cmd --strict "$dir/$name.xml" -o "$f" ||
				{ fail "$name: merge --strict"; continue; }
		fi
		[ -f "$f" ] || continue
		xmllint --noout "$f" 2>/dev/null || { fail "$f: not well-formed"; continue; }
		if [ "$variant" != "" ]; then
			xmllint --noout --schema "$schema" "$f" >/dev/null 2>&1 ||
				fail "$name$variant.xml: not valid against junit-10.xsd"
		fi
		got="$(xp "$f" 'count(//testcase)') $(xp "$f" 'count(//testcase[failure])') $(xp "$f" 'count(//testcase[error])') $(xp "$f" 'count(//testcase[skipped])') $(xp "$f" 'count(//flakyFailure|//flakyError)') $(xp "$f" 'count(//rerunFailure|//rerunError)')"
		[ "$got" = "$tests $failures $errors $skipped $flaky $reruns" ] ||
			fail "$name$variant.xml: cases/failures/errors/skipped/flaky/reruns $got, want $tests $failures $errors $skipped $flaky $reruns"
		attrs="$(xp "$f" 'number(/testsuites/@tests)') $(xp "$f" 'number(/testsuites/@failures)') $(xp "$f" 'number(/testsuites/@errors)')"
		[ "$attrs" = "$tests $failures $errors" ] ||
			fail "$name$variant.xml: root attributes $attrs, want $tests $failures $errors"
		bad=$(xp "$f" 'count(//testsuite[@tests != count(testcase) or @failures != count(testcase[failure]) or @errors != count(testcase[error]) or @skipped != count(testcase[skipped])])')
		[ "$bad" = 0 ] || fail "$name$variant.xml: $bad suites whose counts differ from their cases"
	done
done > "$dir/out.txt"
cat "$dir/out.txt"
fails=$(grep -c '^FAIL' "$dir/out.txt")

# Outcome shapes the issue names.
chk() { # file xpath want message
	got=$(xp "$dir/$1" "$2")
	[ "$got" = "$3" ] || { echo "FAIL: $1: $4 ($2 = $got, want $3)"; fails=$((fails + 1)); }
}
chk timeout.xml "count(//failure[@type='timeout'])" 1 "a timeout is a failure"
chk timeout.xml "count(//testcase[@name='hang-forever'][not(failure)])" 0 "a timeout is never a pass"
chk interrupted.xml "count(//error[@type='interrupted'][@message='interrupted by SIGTERM'])" 1 "the interrupted case is an error"
chk interrupted.xml "count(//testcase[failure or not(error)])" 2 "finished cases as they ended"
chk error.xml "count(//error[@type='error'][contains(@message,'broken.yaml:4:3')])" 1 "scenario error with its location"
chk skip.xml "count(//skipped[@type='inconclusive'])" 1 "inconclusive is skipped, typed"
chk flaky.xml "count(//testcase[flakyFailure or flakyError][failure or error])" 0 "flaky cases pass"
chk flaky.xml "count(//testcase[rerunFailure][failure])" 1 "reruns of a failing case"
chk fail.xml "count(//failure[@message != ''][contains(., @message)])" 1 "reason in message and body"
chk fail.xml "count(//testcase[@file='scenarios/crash.yaml'][@line='3'])" 1 "file and line"
chk fail.xml "count(//testcase[properties/property[@name='replay'][starts-with(@value,'clustersim run')]])" 2 "replay property"
chk fail.xml "count(//testsuite/properties/property[@name='runtime.version'])" 2 "runtime version"
chk fail.xml "count(//system-out[contains(.,'event #7 listening')])" 1 "trace excerpt in system-out"
chk nasty.xml "count(//system-out[contains(.,'cdata]]>end')])" 1 "]]> kept as text"
chk merged.xml "count(/testsuites/testsuite)" 3 "merged suites"
# No raw control bytes (other than tab and newline) in any file.
if LC_ALL=C grep -l "$(printf '[\001-\010\013\014\016-\037\177]')" "$dir"/*.xml "$dir"/*.html >/dev/null 2>&1; then
	echo "FAIL: raw control characters in: $(LC_ALL=C grep -l "$(printf '[\001-\010\013\014\016-\037\177]')" "$dir"/*.xml "$dir"/*.html)"
	fails=$((fails + 1))
fi

if [ "$fails" -ne 0 ]; then
	echo "$fails check(s) failed"
	exit 1
fi
echo "all JUnit checks passed (schema: tests/reports/junit-10.xsd)"
exit 0
