#!/bin/sh
# The folders (modules.txt) form a graph without cycles that follows the
# layering (layers.txt): a folder uses another one by #including one of its
# headers or by calling (referencing) a symbol its objects define, read
# with nm from the objects meson built. Every use of a folder that is not
# below on a chain is printed with where it happens, and so is every cycle.
# usage: check-layers.sh SOURCE_ROOT BUILD_ROOT
# Exit: 0 pass, 1 offenders, 99 cannot check.
set -u
src=$1
build=$2

command -v nm > /dev/null 2>&1 || { echo "nm is missing (binutils)"; exit 99; }
tmp=$(mktemp) || exit 99
trap 'rm -f "$tmp".*' EXIT
: > "$tmp.headers"
: > "$tmp.includes"
: > "$tmp.defs"
: > "$tmp.undefs"

folders=$(awk '$1 !~ /^#/ && NF >= 2 { print $1 }' "$src/tests/tree/modules.txt")
for f in $folders; do
	for h in "$src/$f"/*.h; do
		[ -f "$h" ] && echo "$f ${h##*/}" >> "$tmp.headers"
	done
	for file in "$src/$f"/*.c "$src/$f"/*.h; do
		[ -f "$file" ] || continue
		awk -v f="$f" -v name="${file##*/}" '
			/^[ \t]*#[ \t]*include[ \t]*"/ {
				h = $0; sub(/^[^"]*"/, "", h); sub(/".*/, "", h)
				sub(/.*\//, "", h)
				print f, f "/" name ":" FNR, h
			}' "$file" >> "$tmp.includes"
	done
	objs=$(ls "$build/$f"/*.p/*.o 2> /dev/null)
	if [ -z "$objs" ]; then
		echo "$f: no object files under $build/$f: not built?"
		exit 99
	fi
	# shellcheck disable=SC2086
	nm -P -g --defined-only $objs 2> /dev/null |
		awk -v f="$f" 'NF >= 2 && $1 !~ /:$/ { print f, $1 }' >> "$tmp.defs"
	# shellcheck disable=SC2086
	nm -A -P -u $objs 2> /dev/null | awk -v f="$f" '{
		obj = $1; sub(/:$/, "", obj); sub(/.*\//, "", obj); sub(/\.o$/, "", obj)
		print f, f "/" obj, $2 }' >> "$tmp.undefs"
done

awk -v layers="$src/tests/tree/layers.txt" '
	function allowed_init(   line, n, i, j, c) {
		while ((getline line < layers) > 0) {
			if (line ~ /^[ \t]*(#|$)/)
				continue
			n = split(line, c, /[ \t]+/)
			for (i = 1; i <= n; i++)
				for (j = 1; j < i; j++)
					may[c[i], c[j]] = 1
		}
	}
	function use(from, to, why) {
		if (from == to || to == "")
			return
		if (!((from, to) in edge)) {
			edge[from, to] = 1
			out[from] = out[from] " " to
			nwhy[from, to] = 0
		}
		if (nwhy[from, to]++ < 3)
			whys[from, to] = whys[from, to] "\n    " why
	}
	# Depth-first search; a back edge closes a cycle.
	function dfs(v,   list, n, i, w, k, cyc) {
		state[v] = 1
		path[++depth] = v
		n = split(out[v], list, " ")
		for (i = 1; i <= n; i++) {
			w = list[i]
			if (state[w] == 1) {
				cyc = w
				for (k = depth; k > 0 && path[k] != w; k--)
					cyc = path[k] " -> " cyc
				cyc = w " -> " cyc
				if (!(cyc in cycles_seen)) {
					cycles_seen[cyc] = 1
					cycles = cycles "\n  " cyc
				}
			} else if (state[w] == 0) {
				dfs(w)
			}
		}
		depth--
		state[v] = 2
	}
	BEGIN { allowed_init() }
	FILENAME ~ /\.headers$/ {
		own[$1, $2] = 1
		# A name two folders use belongs to neither (evaluated before the
		# assignment: awk may create the element first).
		who = ($2 in owner) ? "" : $1
		owner[$2] = who
		next
	}
	FILENAME ~ /\.includes$/ {
		if (($3 in owner) && owner[$3] != "" && owner[$3] != $1) {
			# A header of the same name in the folder itself wins.
			if (!(($1, $3) in own))
				use($1, owner[$3], $2 ": #include \"" $3 "\"")
		}
		next
	}
	FILENAME ~ /\.defs$/ {
		who = (($2 in definer) && definer[$2] != $1) ? "" : $1
		definer[$2] = who
		next
	}
	FILENAME ~ /\.undefs$/ {
		if ($3 in definer)
			use($1, definer[$3], $2 ".o: uses " $3)
		next
	}
	END {
		for (k in edge) {
			split(k, p, SUBSEP)
			state[p[1]] = 0
			state[p[2]] = 0
			if (!((p[1], p[2]) in may)) {
				bad = bad "\n" p[1] " uses " p[2] \
				      ", which is not below it in the layering:" \
				      whys[p[1], p[2]]
				nbad++
			}
		}
		for (v in state)
			if (state[v] == 0)
				dfs(v)
		if (cycles != "")
			printf "cycles between folders:%s\n", cycles
		if (nbad > 0)
			printf "%d use(s) against the layering:%s\n", nbad, bad
		n = 0
		for (k in edge)
			n++
		if (cycles == "" && nbad == 0) {
			printf "%d uses between folders, no cycle, all along the layering\n", n
			exit 0
		}
		exit 1
	}' "$tmp.headers" "$tmp.includes" "$tmp.defs" "$tmp.undefs"
