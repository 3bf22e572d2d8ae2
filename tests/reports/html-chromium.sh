#!/bin/sh
# Opens the HTML report of a failing run in headless Chromium, checks that
# the page's scripts ran with no console errors and no blocked loads, and
# saves a screenshot. A deliberately broken copy of the page must be
# caught, so the check can fail.
# usage: html-chromium.sh REPORT_TOOL OUTDIR [CLUSTERSIM SOURCE_ROOT]
# Without CLUSTERSIM the page is the synthetic fixture (a rolling restart
# that dropped requests), and a synthetic 1000-worker run drawn as a
# density; with it, the page of a real failing
# `clustersim run` (tests/reports/runs/ beside a bundled rolling restart).
# Exit: 0 pass, 1 fail, 77 skip (no chromium), 99 hard error.
set -u
tool=$1
outdir=$2
exe=${3:-}
root=${4:-}

browser=$(command -v chromium || command -v chromium-browser) || {
	echo "chromium not installed: skipped"
	exit 77
}
dir=$(mktemp -d) || exit 99
trap 'rm -rf "$dir"' EXIT
mkdir -p "$outdir" || exit 99
if [ -n "$exe" ]; then
	page=$dir/real.html
	shot=$outdir/report-real-failing-run.png
	runs=$root/tests/reports/runs
	# exit 3: the invalid scenario outranks the failures
	"$exe" run --seed 9 --html "$page" \
		"$root/scenarios/rolling-restart-keepalive.yaml" \
		"$runs/wrong-exit-code.yaml" "$runs/wrong-count.yaml" \
		"$runs/misses-deadline.yaml" "$runs/malformed.yaml" \
		"$runs/skipped.yaml" >"$dir/run.txt" 2>&1
	rc=$?
	[ $rc = 3 ] && [ -s "$page" ] ||
		{ cat "$dir/run.txt"; echo "the real run exited $rc (expected 3) or wrote no page"; exit 99; }
else
	"$tool" gen "$dir" >/dev/null || { echo "report-tool gen failed"; exit 99; }
	page=$dir/rolling.html
	shot=$outdir/report-failing-run.png
fi

# Flags that keep a headless Chromium off the network and quick to start.
run() { # out-log args...
	log=$1
	shift
	timeout 120 "$browser" --headless --no-sandbox --disable-gpu \
		--disable-quic --no-first-run --disable-background-networking \
		--disable-component-update --disable-sync --disable-extensions \
		--user-data-dir="$(mktemp -d "$dir/profile.XXXXXX")" \
		--enable-logging=stderr --v=0 "$@" 2>"$log"
}

# The console check: errors are recorded on <html> by the page's first
# script (data-console-errors), its last script sets data-report-ready, and
# Chromium logs every console message as ":CONSOLE".
check() { # page clean|dirty
	run "$dir/log.txt" --dump-dom "file://$1" >"$dir/dom.html" ||
		{ echo "chromium failed on $1:"; tail -5 "$dir/log.txt"; exit 99; }
	grep -q 'data-report-ready="1"' "$dir/dom.html" || return 1
	grep -q 'data-console-errors="[0-9]*"' "$dir/dom.html" || return 1
	n=$(grep -c ':CONSOLE' "$dir/log.txt")
	if [ "$2" = clean ]; then
		grep -q 'data-console-errors="0"' "$dir/dom.html" && [ "$n" = 0 ]
	else
		! grep -q 'data-console-errors="0"' "$dir/dom.html" && [ "$n" != 0 ]
	fi
}

fails=0
if check "$page" clean; then
	echo "ok: failing-run report has no console errors"
else
	echo "FAIL: console errors in the report:"
	grep -o 'data-console-messages="[^"]*"' "$dir/dom.html"
	grep ':CONSOLE' "$dir/log.txt"
	fails=$((fails + 1))
fi
grep -q 'class="expect"' "$dir/dom.html" ||
	{ echo "FAIL: no failed-expectation pointer in the page"; fails=$((fails + 1)); }
if [ -n "$exe" ]; then
	# every case of the run, as the browser built the page
	for name in rolling-restart-keepalive wrong-exit-code wrong-count \
		misses-deadline malformed skipped; do
		grep -q "$name" "$dir/dom.html" ||
			{ echo "FAIL: $name is not in the page"; fails=$((fails + 1)); }
	done
	n=$(grep -o '<svg[^>]*class="timeline"' "$dir/dom.html" | wc -l)
	[ "$n" -ge 4 ] ||
		{ echo "FAIL: $n timelines in the page, expected one per run (4)"; fails=$((fails + 1)); }
fi

if [ -z "$exe" ]; then
	# A 1000-worker run: the workers as a density, the failing worker's
	# lane and the failed expectation in full, as the browser built it.
	if check "$dir/scale.html" clean; then
		echo "ok: the 1000-worker report has no console errors"
	else
		echo "FAIL: console errors in the 1000-worker report"
		fails=$((fails + 1))
	fi
	grep -q 'class="density"' "$dir/dom.html" ||
		{ echo "FAIL: no density view for 1000 workers"; fails=$((fails + 1)); }
	grep -q '>worker 777<' "$dir/dom.html" ||
		{ echo "FAIL: no lane of the failing worker 777"; fails=$((fails + 1)); }
	grep -q 'class="expect"' "$dir/dom.html" ||
		{ echo "FAIL: no failed-expectation pointer at scale"; fails=$((fails + 1)); }
	n=$(grep -o 'class="lane-label"' "$dir/dom.html" | wc -l)
	[ "$n" -le 4 ] ||
		{ echo "FAIL: $n lanes drawn for 1000 workers, expected the harness, the primary and worker 777"; fails=$((fails + 1)); }
	n=$(grep -o 'class="dens-label"' "$dir/dom.html" | wc -l)
	[ "$n" -ge 1 ] && [ "$n" -le 64 ] ||
		{ echo "FAIL: $n density rows, expected 1 to 64"; fails=$((fails + 1)); }
	rm -f "$outdir/report-scale.png"
	run "$dir/shot.log" --hide-scrollbars --window-size=1200,1400 \
		--screenshot="$outdir/report-scale.png" "file://$dir/scale.html" >/dev/null
	[ -s "$outdir/report-scale.png" ] && echo "ok: screenshot saved to $outdir/report-scale.png" ||
		{ echo "FAIL: no screenshot of the 1000-worker report"; fails=$((fails + 1)); }
fi

# Negative control: a page that throws and tries to load from the network.
sed 's|</body>|<img src="http://192.0.2.1/x.png"><script>nosuchfunction()</script></body>|' \
	"$page" >"$dir/broken.html"
if check "$dir/broken.html" dirty; then
	echo "ok: a broken page is detected"
else
	echo "FAIL: the broken page was not detected"
	grep -o 'data-console-[a-z]*="[^"]*"' "$dir/dom.html"
	fails=$((fails + 1))
fi

rm -f "$shot"
run "$dir/shot.log" --hide-scrollbars --window-size=1200,900 \
	--screenshot="$shot" "file://$page" >/dev/null
if [ -s "$shot" ] && [ "$(head -c 4 "$shot" | od -An -c | tr -d ' ')" = '211PNG' ]; then
	echo "ok: screenshot saved to $shot"
else
	echo "FAIL: no screenshot"
	tail -5 "$dir/shot.log"
	fails=$((fails + 1))
fi
[ "$fails" = 0 ] || exit 1
exit 0
