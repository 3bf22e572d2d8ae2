#!/bin/sh
# The Node agents load as they are in any runtime that implements
# node:cluster: under a renamed copy of node, with CommonJS `.js` files
# made ES modules by the runtime's default (--experimental-default-type,
# which node v20.10+ has), and under another node installed beside
# (CLUSTERSIM_EXTRA_RUNTIMES: paths, e.g. node_modules/node/bin/node of an
# `npm install node@22`). --runtime-arg reaches the runtime of the primary
# and of every worker; a failed start shows the runtime's own first line on
# the terminal; the hello names the runtime and its version.
# usage: runtime.sh CLUSTERSIM SOURCE_ROOT NODE
# Exit: 0 pass, 1 fail, 77 skip (no node), 99 hard error.
set -u
exe=$1
root=$2
node=${3:-}
[ -n "$node" ] && [ -x "$node" ] || { echo "node not found: skipped"; exit 77; }
dir=$(mktemp -d) || exit 99
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
sc="$root/scenarios/kill-sigkill.yaml $root/scenarios/respawn-on-crash.yaml $root/scenarios/setup-primary-cumulative.yaml"

# no .js file is left among the agents: a runtime that takes .js as an
# ES module would refuse it
[ -z "$(find "$root/agents/node" -name '*.js')" ] || fail "a .js file in agents/node"

# a renamed copy of the runtime, no flags
cp "$node" "$dir/othernode" || exit 99
for t in node node-c c-node; do
	# shellcheck disable=SC2086
	"$exe" run -q --target "$t:$dir/othernode" --seed 3 $sc >"$dir/out.txt" 2>&1 ||
		{ cat "$dir/out.txt"; fail "$t under a renamed node"; }
done
echo "ok: node, node-c, c-node under a renamed copy of node"

# .js is an ES module by default: the .cjs agents still load
if "$node" --experimental-default-type=module -e 0 2>/dev/null; then
	# shellcheck disable=SC2086
	"$exe" run -q --target node --target c-node --runtime "$node" --seed 3 \
		--runtime-arg=--experimental-default-type=module $sc \
		>"$dir/out.txt" 2>&1 || { cat "$dir/out.txt"; fail "ESM by default"; }
	echo "ok: the agents load where .js is an ES module"
fi

# --runtime-arg reaches the primary's runtime and every worker's
"$exe" run -q --target node --target c-node --runtime "$node" --seed 3 \
	--runtime-arg=--title=clustersim-rt --runtime-arg --max-old-space-size=321 \
	--trace-dir "$dir/tr" "$root/scenarios/kill-sigkill.yaml" >"$dir/out.txt" 2>&1 ||
	{ cat "$dir/out.txt"; fail "--runtime-arg run"; }
grep -q '"role":"primary".*"execArgv":\["--title=clustersim-rt","--max-old-space-size=321"\]' \
	"$dir/tr/kill-sigkill.node.1.jsonl" || fail "the node primary's execArgv lacks the runtime args"
[ "$(grep -c '"role":"worker".*"execArgv":\["--title=clustersim-rt","--max-old-space-size=321"\]' \
	"$dir/tr/kill-sigkill.node.1.jsonl")" = 2 ] || fail "node: a worker's execArgv lacks the runtime args"
[ "$(grep -c '"role":"worker".*"execArgv":\["--title=clustersim-rt","--max-old-space-size=321"\]' \
	"$dir/tr/kill-sigkill.c-node.1.jsonl")" = 2 ] || fail "c-node: a worker's execArgv lacks the runtime args"
grep -q '"runtime":"node","runtime_version":"[0-9][0-9.]*","release":"node","version":"v' \
	"$dir/tr/kill-sigkill.node.1.jsonl" || fail "the hello does not name the runtime's own version"
echo "ok: --runtime-arg reaches the primary and the workers; the hello names the runtime"

# a failed start: the runtime's own first line on the terminal
"$exe" run --target node --runtime "$node" --seed 3 --runtime-arg=--no-such-flag-x \
	"$root/scenarios/kill-sigkill.yaml" >"$dir/out.txt" 2>&1
rc=$?
[ $rc = 3 ] || { cat "$dir/out.txt"; fail "a failed start exited $rc (expected 3)"; }
grep -q 'before it connected: .*bad option: --no-such-flag-x' "$dir/out.txt" ||
	{ cat "$dir/out.txt"; fail "the runtime's error is not on the terminal"; }
grep -q 'replay: .*--runtime-arg=--no-such-flag-x' "$dir/out.txt" ||
	fail "the replay command lacks --runtime-arg"
echo "ok: a failed start shows the runtime's error"

# other runtimes installed beside (npm install node@22, ...)
for rt in ${CLUSTERSIM_EXTRA_RUNTIMES:-}; do
	[ -x "$rt" ] || { echo "not installed: $rt (skipped)"; continue; }
	# shellcheck disable=SC2086
	"$exe" run -q --target "node:$rt" --target "c-node:$rt" --seed 3 \
		--junit "$dir/extra.xml" $sc >"$dir/out.txt" 2>&1 ||
		{ cat "$dir/out.txt"; fail "under $rt"; }
	v=$("$rt" -p process.version)
	grep -q "runtime.version\" value=\"$v\"" "$dir/extra.xml" || fail "$rt: $v not reported"
	echo "ok: $rt ($v)"
done
exit 0
