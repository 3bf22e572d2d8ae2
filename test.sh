#!/usr/bin/env bash
# Sets up (quick when already done), builds, and runs the whole test suite
# twice: on the normal build (build/) and on an ASan+UBSan build
# (build-asan/); then the fuzz targets of tests/fuzz, each for a bounded
# time, from build-fuzz/ (clang and libFuzzer; skipped, and said so, where
# clang cannot be had). `--plain`, `--sanitize` or `--fuzz` runs only one.
set -uo pipefail
cd "$(dirname "$0")"

variants=(plain sanitize fuzz)
case "${1:-}" in
--plain) variants=(plain) ;;
--sanitize) variants=(sanitize) ;;
--fuzz) variants=(fuzz) ;;
"") ;;
*) echo "usage: ./test.sh [--plain|--sanitize|--fuzz]" >&2; exit 2 ;;
esac

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

rc=0
passed=0 failed=0 skipped=0
failures=()
for v in "${variants[@]}"; do
	suite=()
	# the harness's clock correction: the same C code whatever the
	# scenario, so a slice of the suite on Node with foreign clocks
	export CLUSTERSIM_CLOCK_SHARD=1/4
	# the mixed clusters run the C of the builtin target, which runs the
	# whole suite in both passes: each takes one half of the suite here
	# and the other half in the sanitizer pass
	export CLUSTERSIM_SUITE_SHARD_NODE_C=1/2
	export CLUSTERSIM_SUITE_SHARD_C_NODE=2/2
	if [ "$v" = sanitize ]; then
		builddir=build-asan
		./setup.sh --sanitize || exit 1
		export CLUSTERSIM_CLOCK_SHARD=1/8
		export CLUSTERSIM_SUITE_SHARD_NODE_C=2/2
		export CLUSTERSIM_SUITE_SHARD_C_NODE=1/2
		# the scenario suite on real Node runs no C of the cluster, and
		# the plain-only tests none that the rest does not run
		suite=(--no-suite node-only --no-suite plain-only)
	elif [ "$v" = fuzz ]; then
		builddir=build-fuzz
		./setup.sh --fuzz
		st=$?
		if [ $st -eq 77 ]; then
			echo "== fuzz targets: skipped (clang and libFuzzer are not installed)"
			skipped=$((skipped + 1))
			continue
		fi
		[ $st -eq 0 ] || exit 1
		# only the targets were built: run them, bounded, as they are
		suite=(--suite fuzz --no-rebuild)
	else
		builddir=build
		./setup.sh || exit 1
	fi
	echo "== test suite on $builddir ($v)"
	meson test -C "$builddir" --print-errorlogs --num-processes 2 \
		${suite[@]+"${suite[@]}"} || rc=1
	log="$builddir/meson-logs/testlog.json"
	nf=0
	if [ -f "$log" ]; then
		p=$(grep -cE '"result": "(OK|EXPECTEDFAIL)"' "$log")
		s=$(grep -c '"result": "SKIP"' "$log")
		t=$(grep -c '"result":' "$log")
		passed=$((passed + p))
		skipped=$((skipped + s))
		nf=$((t - p - s))
		failed=$((failed + nf))
	fi
	# what failed, again at the end, where a truncated log still shows it
	tlog="$builddir/meson-logs/testlog.txt"
	if [ -f "$tlog" ] && [ "$nf" -gt 0 ]; then
		while IFS= read -r line; do
			failures+=("$builddir: $line")
		done < <(grep -E '^ *[0-9]+/[0-9]+ .* (FAIL|TIMEOUT|ERROR) |^ +(fail|error|timeout) [^ ]+ \[|^ +[^ ]+\.ya?ml:[0-9]+' "$tlog" | head -40)
	fi
done
if [ ${#failures[@]} -gt 0 ]; then
	echo "== failures"
	printf '%s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed, $skipped skipped"
exit $rc
