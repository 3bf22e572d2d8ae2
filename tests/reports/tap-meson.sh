#!/bin/sh
# Runs a TAP-producing command as a meson `protocol: 'tap'` test in a
# scratch meson project and checks that meson counts the same passes,
# failures and skips as the JUnit file the same command wrote.
# usage: tap-meson.sh MESON -- CMD ARG... ('@JUNIT@' in an ARG is replaced
#        by the JUnit path the command must write)
# Exit: 0 pass, 1 fail, 77 skip (no meson), 99 hard error.
set -u
meson=$1
shift
[ "${1:-}" = -- ] && shift
[ $# -ge 1 ] || { echo "usage: tap-meson.sh MESON -- CMD ARG..."; exit 99; }
"$meson" --version >/dev/null 2>&1 || { echo "meson not runnable: skipped"; exit 77; }
command -v xmllint >/dev/null 2>&1 || { echo "xmllint missing"; exit 99; }

dir=$(mktemp -d) || exit 99
trap 'rm -rf "$dir"' EXIT
junit=$dir/clustersim.junit.xml

# A meson string literal: backslash and quote escaped.
lit() { printf "'%s'" "$(printf '%s' "$1" | sed "s/\\\\/\\\\\\\\/g; s/'/\\\\'/g")"; }

cmd=$1
shift
# meson passes build targets relative to its build directory; the scratch
# project looks for programs relative to its own.
case $cmd in
/*) ;;
*/*) cmd=$(pwd)/$cmd ;;
esac
args=
for a in "$@"; do
	a=$(printf '%s' "$a" | sed "s|@JUNIT@|$junit|g")
	args="$args$(lit "$a"), "
done
cat >"$dir/meson.build" <<EOM
project('tapcheck')
test('clustersim', find_program($(lit "$cmd")), args : [$args],
     protocol : 'tap', timeout : 300)
EOM
"$meson" setup "$dir/build" "$dir" >"$dir/setup.log" 2>&1 ||
	{ cat "$dir/setup.log"; exit 99; }
"$meson" test -C "$dir/build" >"$dir/test.log" 2>&1
meson_rc=$?
mj=$dir/build/meson-logs/testlog.junit.xml
[ -f "$mj" ] || { cat "$dir/test.log"; echo "meson wrote no testlog.junit.xml"; exit 99; }
[ -f "$junit" ] || { echo "the command wrote no JUnit file"; exit 99; }

xp() { xmllint --xpath "$2" "$1" 2>/dev/null; }
# meson 1.0.1 gives a TAP test its own testsuite, one testcase per point.
ts='//testsuite[testcase and not(testcase[@name="tapcheck:clustersim"])]'
m_pass=$(xp "$mj" "count($ts/testcase[not(failure or error or skipped)])")
m_fail=$(xp "$mj" "count($ts/testcase[failure or error])")
m_skip=$(xp "$mj" "count($ts/testcase[skipped])")
o_pass=$(xp "$junit" 'count(//testcase[not(failure or error or skipped)])')
o_fail=$(xp "$junit" 'count(//testcase[failure or error])')
o_skip=$(xp "$junit" 'count(//testcase[skipped])')

echo "meson TAP: $m_pass passed, $m_fail failed, $m_skip skipped (meson test exit $meson_rc)"
echo "JUnit:     $o_pass passed, $o_fail failed, $o_skip skipped"
rc=0
[ "$m_pass $m_fail $m_skip" = "$o_pass $o_fail $o_skip" ] || { echo "FAIL: the counts differ"; rc=1; }
[ $((m_pass + m_fail + m_skip)) -gt 0 ] || { echo "FAIL: meson saw no test points"; rc=1; }
if [ "$o_fail" -gt 0 ] && [ "$meson_rc" -eq 0 ]; then
	echo "FAIL: meson test passed although cases failed"
	rc=1
fi
[ "$rc" = 0 ] || sed -n '1,80p' "$dir/test.log"
exit $rc
