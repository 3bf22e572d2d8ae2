#!/bin/sh
# Runs the TAP stream through Perl's prove: the same tests and failures as
# the JUnit file, no parse errors, and a passing run passes.
# usage: tap-prove.sh REPORT_TOOL
# Exit: 0 pass, 1 fail, 77 skip (no prove), 99 hard error.
set -u
tool=$1
command -v prove >/dev/null 2>&1 || { echo "prove not installed: skipped"; exit 77; }
command -v xmllint >/dev/null 2>&1 || { echo "xmllint missing"; exit 99; }
dir=$(mktemp -d) || exit 99
trap 'rm -rf "$dir"' EXIT
xp() { xmllint --xpath "$2" "$1" 2>/dev/null; }
rc=0

"$tool" tap13 mixed "$dir/mixed.xml" >"$dir/mixed.tap" || exit 99
prove --exec cat "$dir/mixed.tap" >"$dir/prove.txt" 2>&1 &&
	{ echo "FAIL: prove passed a run with failures"; rc=1; }
tests=$(xp "$dir/mixed.xml" 'count(//testcase)')
failed=$(xp "$dir/mixed.xml" 'count(//testcase[failure or error])')
if grep -q "Tests: $tests Failed: $failed)" "$dir/prove.txt"; then
	echo "ok: prove counts $tests tests, $failed failed, as the JUnit file"
else
	echo "FAIL: prove's counts differ from the JUnit file ($tests tests, $failed failed):"
	cat "$dir/prove.txt"
	rc=1
fi
if grep -q 'Parse errors' "$dir/prove.txt"; then
	echo "FAIL: prove found parse errors:"
	cat "$dir/prove.txt"
	rc=1
fi

"$tool" tap13 pass "$dir/pass.xml" >"$dir/pass.tap" || exit 99
if prove --exec cat "$dir/pass.tap" >"$dir/prove-pass.txt" 2>&1; then
	echo "ok: prove passes a passing run"
else
	echo "FAIL: prove failed a passing run:"
	cat "$dir/prove-pass.txt"
	rc=1
fi

# For the record: whether this prove reads "TAP version 14" streams.
"$tool" tap pass "$dir/pass14.xml" >"$dir/pass14.tap" || exit 99
if prove --exec cat "$dir/pass14.tap" >/dev/null 2>&1; then
	echo "# this prove reads TAP version 14"
else
	echo "# this prove rejects TAP version 14 (use REPORT_TAP_V13 for it)"
fi
exit $rc
