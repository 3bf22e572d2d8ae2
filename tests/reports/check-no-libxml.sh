#!/bin/sh
# On a machine without libxml2, clustersim still starts; a merge fails with
# a message that names libxml2, the JUnit and HTML writers return UV_ENOSYS,
# and none of them leaves a file behind. The terminal view needs no libxml2.
# HIDE_LIBXML is an LD_PRELOAD library whose dlopen fails for libxml2.
# usage: check-no-libxml.sh CLUSTERSIM REPORT_TOOL HIDE_LIBXML
# Exit: 0 pass, 1 fail, 99 hard error.
set -u
exe=$1
tool=$2
hide=$3
dir=$(mktemp -d) || exit 99
trap 'rm -rf "$dir"' EXIT
rc=0
# A sanitizer runtime insists on coming first in the library list; the
# preloaded library only replaces dlopen.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
export ASAN_OPTIONS

"$tool" gen "$dir" || { echo "report-tool gen failed"; exit 99; }
LD_PRELOAD=$hide "$exe" version >"$dir/version.txt" 2>&1 ||
	{ echo "FAIL: clustersim version fails without libxml2:"; cat "$dir/version.txt"; rc=1; }

LD_PRELOAD=$hide "$exe" report merge "$dir/shard1.xml" "$dir/shard2.xml" \
	-o "$dir/merged.xml" >"$dir/merge.txt" 2>&1
st=$?
if [ $st -ne 1 ]; then
	echo "FAIL: merge without libxml2 exited $st, not 1:"
	cat "$dir/merge.txt"
	rc=1
fi
if grep -q 'needs libxml2 (libxml2.so.2), which could not be loaded' "$dir/merge.txt"; then
	echo "ok: merge without libxml2 says: $(head -n 1 "$dir/merge.txt")"
else
	echo "FAIL: merge without libxml2 does not name it:"
	cat "$dir/merge.txt"
	rc=1
fi
[ -e "$dir/merged.xml" ] && { echo "FAIL: merge without libxml2 wrote a file"; rc=1; }

mkdir "$dir/gen" || exit 99
LD_PRELOAD=$hide "$tool" gen "$dir/gen" >"$dir/gen.txt" 2>&1 &&
	{ echo "FAIL: report-tool gen wrote JUnit without libxml2"; rc=1; }
if grep -q 'function not implemented' "$dir/gen.txt"; then
	echo "ok: writers without libxml2 return UV_ENOSYS"
else
	echo "FAIL: writers without libxml2 did not return UV_ENOSYS:"
	cat "$dir/gen.txt"
	rc=1
fi
[ -z "$(ls -A "$dir/gen")" ] ||
	{ echo "FAIL: writers without libxml2 left files:"; ls -A "$dir/gen"; rc=1; }
LD_PRELOAD=$hide "$tool" term mixed >"$dir/term.txt" 2>&1 ||
	{ echo "FAIL: the terminal view fails without libxml2:"; cat "$dir/term.txt"; rc=1; }

# The same program with libxml2 present merges (it is opened on first use).
"$exe" report merge "$dir/shard1.xml" "$dir/shard2.xml" -o "$dir/merged.xml" ||
	{ echo "FAIL: merge with libxml2 failed"; rc=1; }
[ -s "$dir/merged.xml" ] || { echo "FAIL: merge with libxml2 wrote nothing"; rc=1; }
exit $rc
