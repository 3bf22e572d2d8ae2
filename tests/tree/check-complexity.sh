#!/bin/sh
# No function of the non-test C (the folders of modules.txt, and bench/)
# has a cyclomatic complexity above LIMIT as pmccabe counts it (the
# traditional count: every case of a switch is a branch), except the
# generated tables listed in complexity-exceptions.txt. Prints every
# offender as file:line: function: complexity.
# usage: check-complexity.sh SOURCE_ROOT [LIMIT]
# Exit: 0 pass, 1 offenders, 99 cannot check.
set -u
src=$1
limit=${2:-25}

if ! command -v pmccabe > /dev/null 2>&1; then
	echo "pmccabe is missing (the Debian package pmccabe; ./setup.sh installs it)"
	exit 99
fi
tmp=$(mktemp) || exit 99
trap 'rm -f "$tmp" "$tmp.err" "$tmp.sum"' EXIT

files=
for f in $(awk '$1 !~ /^#/ && NF >= 2 { print $1 }' "$src/tests/tree/modules.txt") bench; do
	for c in "$src/$f"/*.c; do
		[ -f "$c" ] && files="$files $c"
	done
done
[ -n "$files" ] || { echo "no C file found under $src"; exit 99; }

# shellcheck disable=SC2086
if ! pmccabe $files > "$tmp" 2> "$tmp.err"; then
	echo "pmccabe failed:"
	cat "$tmp.err"
	exit 99
fi
awk -v limit="$limit" -v src="$src/" -v summary="$tmp.sum" \
    -v exceptions="$src/tests/tree/complexity-exceptions.txt" '
	BEGIN {
		while ((getline line < exceptions) > 0)
			if (line !~ /^[ \t]*(#|$)/) {
				split(line, w, /[ \t]+/)
				allowed[w[1], w[2]] = 1
			}
	}
	{
		# mod trad statements first-line lines file(line): function
		where = $6
		sub(/:$/, "", where)
		file = where
		sub(/\(.*$/, "", file)
		line = where
		sub(/^[^(]*\(/, "", line)
		sub(/\)$/, "", line)
		if (index(file, src) == 1)
			file = substr(file, length(src) + 1)
		fn = $7
		functions++
		if ($2 <= limit)
			next
		if ((file, fn) in allowed) {
			excused++
			next
		}
		n++
		printf "%d\t  %s:%s: %s: complexity %d (%d lines)\n", $2, file, line, fn, $2, $5
	}
	END {
		if (n > 0)
			printf "%d of %d functions above complexity %d:\n", n, functions, limit > summary
		else
			printf "%d functions, none above complexity %d (%d listed as generated tables)\n", functions, limit, excused > summary
		exit n > 0
	}' "$tmp" > "$tmp.err"
rc=$?
cat "$tmp.sum"
# Worst first.
sort -k1,1nr "$tmp.err" | cut -f2-
exit $rc
