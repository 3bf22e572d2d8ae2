#!/bin/sh
# clustersim matrix over builtin, node, node-c, c-node and a deliberately
# deviant exec: agent (tests/harness/agents/deviant.js flip-ead:1: the
# builtin agent behind a relay that inverts exitedAfterDisconnect at worker
# 1's exit), rows from a coverage file in several shapes
# (coverage-fixture.md). Checks the Markdown, the JSON and the HTML page (in
# headless Chromium: its script ran with no error, its filters work), and
# that the deviant column names the finding of each failing scenario.
# usage: matrix.sh CLUSTERSIM SOURCE_ROOT NODE [SHOTDIR]
# Exit: 0 pass, 1 fail, 77 skip (no node), 99 hard error.
set -u
exe=$1
root=$2
node=${3:-}
shotdir=${4:-}
[ -n "$node" ] && [ -x "$node" ] || { echo "node not found: skipped"; exit 77; }
dir=$(mktemp -d) || exit 99
trap '[ -n "${KEEP:-}" ] || rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
deviant="exec:$node $root/tests/harness/agents/deviant.js flip-ead:1 $exe primary"
sel="--filter kill-sigkill --filter kill-default-signal --filter respawn-on-crash
 --filter disconnect-twice --filter cluster-disconnect --filter messages-echo"

# shellcheck disable=SC2086
"$exe" matrix -q -j 2 --seed 11 --runtime "$node" --target builtin --target node \
	--target node-c --target c-node --target "$deviant" $sel \
	--coverage "$root/tests/reimpl/coverage-fixture.md" \
	--markdown "$dir/m.md" --json "$dir/m.json" --html "$dir/m.html" \
	--timelines "$dir/timelines.html" "$root/scenarios" >"$dir/out.txt" 2>&1
rc=$?
[ $rc = 1 ] || { cat "$dir/out.txt"; fail "matrix exited $rc (expected 1: the deviant agent fails)"; }
for f in m.md m.json m.html timelines.html; do
	[ -s "$dir/$f" ] || fail "$f not written"
done

# the summary on the terminal, per target and area
grep -q '^builtin (clustersim [0-9.]*): 2 of 2 rules of Worker lifecycle, 2 of 2 rules of Disconnect, 1 of 1 rules of not in ' \
	"$dir/out.txt" || { cat "$dir/out.txt"; fail "no builtin summary"; }
grep -q '^node (node v[0-9.]*): 2 of 2 rules of Worker lifecycle' "$dir/out.txt" || fail "no node summary"
grep -q '^exec:.*deviant.js flip-ead:1 .*: 0 of 2 rules of Worker lifecycle, 0 of 2 rules of Disconnect' \
	"$dir/out.txt" || { cat "$dir/out.txt"; fail "the deviant summary"; }

# Markdown: the summary table first, the rule ids, the deviant's findings
head -12 "$dir/m.md" | grep -q '^| Worker lifecycle | 2 of 2 | 2 of 2 | 2 of 2 | 2 of 2 | 0 of 2 |$' ||
	{ cat "$dir/m.md"; fail "the Markdown summary"; }
grep -q '^| `LC-1` `worker.kill(signal)` ends the worker by the signal; .* | `kill-sigkill` | ✅ pass | ✅ pass | ✅ pass | ✅ pass | ✅ pass |$' \
	"$dir/m.md" || { cat "$dir/m.md"; fail "the LC-1 row"; }
grep -q '^|  | `kill-default-signal` | ✅ pass | ✅ pass | ✅ pass | ✅ pass | ❌ fail: .*kill-default-signal.yaml:[0-9]*: worker 1: expected exitedAfterDisconnect false at exit .*\[invariant ead-cause\] |$' \
	"$dir/m.md" || fail "the deviant's finding of kill-default-signal"
grep -q '^| `D-1` a second disconnect() changes nothing | `disconnect-twice` | .* ❌ fail: .*exitedAfterDisconnect' \
	"$dir/m.md" || fail "the D-1 row"
grep -q 'LC-3\|no-such-scenario\|`--target`' "$dir/m.md" && fail "a rule no scenario of the run pins, or a table of options, became a row"
grep -q '^| `messages-echo` | `messages-echo` |' "$dir/m.md" || fail "a scenario outside the rules is missing"

# JSON: every failing deviant cell carries its finding; rule states
"$node" -e '
const m = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const t = m.targets.map((x) => x.target);
if (t.length !== 5 || m.grouping !== "rules") throw new Error("targets/grouping " + t);
if (m.targets[1].runtime !== "node" || !/^v\d/.test(m.targets[1].version)) throw new Error("node runtime");
const dev = t[4];
let fails = 0;
for (const a of m.areas) for (const r of a.rules) for (const s of r.scenarios) {
  const c = s.cells[dev];
  if (c.verdict === "fail") { fails++; if (!/exitedAfterDisconnect/.test(c.finding)) throw new Error("finding " + JSON.stringify(c)); }
  for (const k of t.slice(0, 4)) if (s.cells[k].verdict !== "pass") throw new Error(k + " " + s.scenario + " " + s.cells[k].verdict);
}
const lc1 = m.areas[0].rules[0];
if (lc1.rule !== "LC-1" || lc1.status[dev] !== "fail" || lc1.status.builtin !== "pass") throw new Error("LC-1 " + JSON.stringify(lc1.status));
if (fails < 3) throw new Error("deviant fails " + fails);
console.log("json ok: " + fails + " failing deviant cells");
' "$dir/m.json" || fail "the JSON"

# HTML in headless Chromium
browser=$(command -v chromium || command -v chromium-browser) || { echo "no chromium: the page is not checked"; exit 0; }
chrome() { # log args...
	log=$1
	shift
	timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-quic \
		--no-first-run --disable-background-networking --disable-component-update \
		--disable-sync --disable-extensions \
		--user-data-dir="$(mktemp -d "$dir/profile.XXXXXX")" "$@" 2>"$log"
}
dom() { # URL-suffix
	chrome "$dir/log.txt" --dump-dom "file://$dir/m.html$1" >"$dir/dom.html" ||
		{ tail -5 "$dir/log.txt"; fail "chromium failed"; }
	grep -q 'data-report-ready="1"' "$dir/dom.html" || fail "the page's script did not run to its end ($1)"
	grep -q 'data-console-errors="0"' "$dir/dom.html" || { grep -o 'data-console-messages="[^"]*"' "$dir/dom.html"; fail "console errors ($1)"; }
	sed -n 's/.*data-rows-shown="\([0-9]*\)".*/\1/p' "$dir/dom.html" | head -1
}
all=$(dom "")
bad=$(dom "#show=bad")
one=$(dom "#filter=kill-sigkill")
echo "rows: $all, failing: $bad, filtered: $one"
[ "$all" = 6 ] || fail "the page shows $all rows (expected 6)"
[ "$bad" = 4 ] || fail "show=bad shows $bad rows"
[ "$one" = 1 ] || fail "filter=kill-sigkill shows $one rows"
grep -q 'href="[^"]*timelines.html#case-[0-9]*"' "$dir/m.html" || fail "no cell links to its timeline"
if [ -n "$shotdir" ]; then
	mkdir -p "$shotdir" &&
	chrome "$dir/log.txt" --window-size=1400,900 --screenshot="$shotdir/matrix.png" \
		"file://$dir/m.html" >/dev/null && echo "screenshot: $shotdir/matrix.png"
fi
echo "ok: the matrix in Markdown, JSON and HTML"
exit 0
