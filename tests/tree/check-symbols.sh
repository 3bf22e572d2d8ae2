#!/bin/sh
# Every symbol a module's objects export carries the module's prefix
# (modules.txt): `prefix_` for its API, `prefix__` for what the files of
# the folder share. Reads the objects meson built for each folder with nm;
# prints every offender as file: symbol.
# usage: check-symbols.sh SOURCE_ROOT BUILD_ROOT
# Exit: 0 pass, 1 offenders, 99 cannot check.
set -u
src=$1
build=$2

command -v nm > /dev/null 2>&1 || { echo "nm is missing (binutils)"; exit 99; }
tmp=$(mktemp) || exit 99
trap 'rm -f "$tmp" "$tmp.nm"' EXIT

status=0
checked=0
while read -r folder prefix rest; do
	case $folder in '' | '#'*) continue ;; esac
	objs=$(ls "$build/$folder"/*.p/*.o 2> /dev/null)
	if [ -z "$objs" ]; then
		echo "$folder: no object files under $build/$folder: not built?"
		status=99
		continue
	fi
	# shellcheck disable=SC2086
	nm -A -P -g --defined-only $objs > "$tmp.nm" 2> /dev/null || {
		echo "$folder: nm failed"
		status=99
		continue
	}
	found=$(awk -v prefix="$prefix" -v folder="$folder" '
		{
			obj = $1; sub(/:$/, "", obj); sub(/.*\//, "", obj)
			sub(/\.o$/, "", obj)
			name = $2
			# What compilers and sanitizers add is nobody'\''s API.
			if (name ~ /^(__asan|__odr_asan|__ubsan|__sanitizer|__gcov|__llvm|__profc|__profd)/)
				next
			# The program'\''s entry point, in the program'\''s folder.
			if (name == "main" && folder == "cli")
				next
			if (index(name, prefix "_") == 1)
				next
			printf "  %s/%s: %s\n", folder, obj, name
		}' "$tmp.nm")
	checked=$((checked + 1))
	if [ -n "$found" ]; then
		n=$(printf '%s\n' "$found" | wc -l)
		echo "$folder: $n exported symbol(s) without the prefix ${prefix}_:"
		printf '%s\n' "$found"
		[ $status -eq 0 ] && status=1
	fi
done < "$src/tests/tree/modules.txt"

[ $checked -gt 0 ] || { echo "no module checked"; exit 99; }
[ $status -eq 0 ] && echo "every exported symbol of $checked modules carries its prefix"
exit $status
