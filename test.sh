#!/usr/bin/env bash
# Sets up (quick when already done), builds, and runs the whole test suite.
# With --sanitize the same suite runs on an ASan+UBSan build (build-asan/).
set -uo pipefail
cd "$(dirname "$0")"

builddir=build
[ "${1:-}" = "--sanitize" ] && builddir=build-asan
./setup.sh "$@" || exit 1

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
meson test -C "$builddir" --print-errorlogs --num-processes 2
rc=$?
log="$builddir/meson-logs/testlog.json"
if [ -f "$log" ]; then
	passed=$(grep -cE '"result": "(OK|EXPECTEDFAIL)"' "$log")
	skipped=$(grep -c '"result": "SKIP"' "$log")
	total=$(grep -c '"result":' "$log")
	echo "$passed passed, $((total - passed - skipped)) failed, $skipped skipped"
fi
exit $rc
