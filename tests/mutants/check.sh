#!/bin/sh
# tests/mutants/check.sh - every mutant still applies to the tree.
#
# The mutants are run by hand (run.sh: minutes); this check is quick and
# runs with the test suite, so that a change of sim/ or the agents that a
# patch no longer fits is seen at once rather than at the next measure.
# Each *.patch must: start with "# <the Node rule it breaks>", touch only
# sim/ and agents/c/ (the cluster, not the harness that judges it), and
# apply with `patch -p1 --dry-run --fuzz=0` to SOURCE_ROOT. At least MIN mutants.
#
# usage: check.sh SOURCE_ROOT [MUTANT_DIR] [MIN]
#        check.sh SOURCE_ROOT --self-check
# --self-check shows that the check can fail: on scratch copies of one
# mutant with a stale context line, with no rule line, or touching the
# harness, it must fail each time.
# Exit: 0 pass, 1 fail, 99 hard error.
set -u

root=${1:?usage: check.sh SOURCE_ROOT [MUTANT_DIR] [MIN]}
here=$(cd "$(dirname "$0")" && pwd)

if [ "${2:-}" = --self-check ]; then
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/clustersim-mutcheck.XXXXXX") || exit 99
	trap 'rm -rf "$tmp"' EXIT
	set -- "$here"/*.patch
	first=$1
	[ -f "$first" ] || { echo "check.sh: no mutant to copy" >&2; exit 99; }
	rc=0
	for bad in stale norule harness; do
		mkdir "$tmp/$bad"
		case "$bad" in
		stale)	# a context line that is not in the tree any more
			awk 'done == 0 && /^ ./ { print $0 " /* stale */"; done = 1; next } { print }' \
				"$first" >"$tmp/$bad/m.patch" ;;
		norule)	sed '1d' "$first" >"$tmp/$bad/m.patch" ;;
		harness) sed 's#^\(---\|+++\) \([ab]\)/[^ ]*#\1 \2/harness/runner/runner.c#' \
				"$first" >"$tmp/$bad/m.patch" ;;
		esac
		if sh "$0" "$root" "$tmp/$bad" 1 >"$tmp/$bad.out" 2>&1; then
			echo "self-check: a mutant that is $bad passed the check" >&2
			rc=1
		elif ! grep -q 'm\.patch' "$tmp/$bad.out"; then
			echo "self-check: the failure for $bad does not name the patch:" >&2
			cat "$tmp/$bad.out" >&2
			rc=1
		fi
	done
	[ "$rc" = 0 ] && echo "self-check: stale, rule-less and harness mutants all fail the check"
	exit "$rc"
fi

dir=${2:-$here}
min=${3:-40}
command -v patch >/dev/null 2>&1 || { echo "check.sh: patch(1) is not installed" >&2; exit 99; }
[ -d "$root/sim" ] || { echo "check.sh: $root is not the source tree" >&2; exit 99; }

n=0 bad=0
for p in "$dir"/*.patch; do
	[ -f "$p" ] || continue
	n=$((n + 1))
	name=$(basename "$p")
	if ! head -n 1 "$p" | grep -q '^# ..........'; then
		echo "$name:1: the first line must be '# <the Node rule it breaks>'" >&2
		bad=$((bad + 1))
	fi
	files=$(sed -n 's#^+++ b/\([^	 ]*\).*#\1#p' "$p")
	if [ -z "$files" ]; then
		echo "$name: changes no file" >&2
		bad=$((bad + 1))
	fi
	for f in $files; do
		case "$f" in
		sim/*|agents/c/*) ;;
		*) echo "$name: touches $f: a mutant changes sim/ or agents/c/ only" >&2
		   bad=$((bad + 1)) ;;
		esac
	done
	# no fuzz: a context line that changed may mean the mutant no longer
	# means what its rule line says; an offset (lines added above) is fine
	if ! out=$(patch -p1 --dry-run --batch --forward --fuzz=0 -d "$root" \
		<"$p" 2>&1); then
		echo "$name: no longer applies to the tree (regenerate it):" >&2
		printf '%s\n' "$out" | sed 's/^/  /' >&2
		bad=$((bad + 1))
	fi
done
if [ "$n" -lt "$min" ]; then
	echo "check.sh: $n mutants in $dir, at least $min expected" >&2
	bad=$((bad + 1))
fi
if [ "$bad" -gt 0 ]; then
	echo "check.sh: $bad problem(s) in $n mutants" >&2
	exit 1
fi
echo "check.sh: all $n mutants apply"
exit 0
