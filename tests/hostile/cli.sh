#!/bin/sh
# The command line against hostile names and a hostile environment: what a
# scenario says reaches the terminal escaped (control characters, ESC,
# bidirectional overrides), two runs never share a trace file, and a bad
# TMPDIR, an unwritable report or a repeated target fails at once with its
# cause and exit 64, before any run.
# usage: cli.sh CLUSTERSIM SOURCE_ROOT
# Exit: 0 pass, 1 fail, 99 hard error.
set -u
exe=$1
root=$2
runs=$root/tests/hostile/runs
dir=$(mktemp -d -t clustersim-hostile-cli-XXXXXX) || exit 99
trap 'rm -rf "$dir"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# expect CODE TEXT COMMAND...: exits CODE and says TEXT (stdout or stderr)
expect() {
	want=$1 text=$2
	shift 2
	"$@" > "$dir/out.txt" 2>&1
	got=$?
	if [ $got -ne "$want" ]; then
		fail "'$*' exited $got, expected $want"
		cat "$dir/out.txt"
	elif ! grep -qF -- "$text" "$dir/out.txt"; then
		fail "'$*' does not say '$text'"
		cat "$dir/out.txt"
	else
		echo "ok: $(grep -F -- "$text" "$dir/out.txt" | head -1 | cut -c1-150)"
	fi
}

# raw BYTES: the output must not hold these bytes (printf notation)
raw() {
	if grep -q "$(printf "$1")" "$dir/out.txt"; then
		fail "the output holds raw $1:"
		od -c "$dir/out.txt" | head -20
	fi
}

# --- what a scenario says is escaped -----------------------------------
mkdir "$dir/esc"
printf 'name: "clear\\e[2J\\u202eevil\\a"\ntags: ["\\u2066x\\u2069"]\nskip: "\\u009b1m"\nsteps: []\n' \
	> "$dir/esc/names.yaml"
expect 0 'clear\x1b[2J\u202eevil\x07' "$exe" list "$dir/esc"
grep -qF '[\u2066x\u2069]' "$dir/out.txt" || fail "list: the tag is not escaped"
grep -qF '(skip: \u009b1m)' "$dir/out.txt" || fail "list: skip is not escaped"
raw '\033'
raw '\342\200\256'
raw '\007'
printf 'steps: []\n"\\e]0;owned\\a": 1\n' > "$dir/esc/key.yaml"
expect 3 "unknown key '\\x1b]0;owned\\x07'" "$exe" check "$dir/esc/key.yaml"
raw '\033'
raw '\007'
printf 'steps: []\nname: "\342\200\256x" \342\200\256: 2\n' > "$dir/esc/line.yaml"
expect 3 '2 | name: "\u202ex" \u202e: 2' "$exe" check "$dir/esc/line.yaml"
grep -qF '  |                 ^' "$dir/out.txt" ||
	fail "check: the caret is not under the escaped character"
raw '\342\200\256'

# --- trace files: one per run, never shared ------------------------------
mkdir "$dir/names"
for n in 'a<b' 'a>b' 'a_3cb'; do
	printf 'name: "%s"\nsteps:\n  - sleep: 10ms\n' "$n" > "$dir/names/$n.yaml"
done
expect 0 "3 pass" "$exe" run -q --trace-dir "$dir/traces" "$dir/names"
n=$(ls "$dir/traces" | wc -l)
[ "$n" -eq 3 ] || { fail "3 runs wrote $n trace files"; ls "$dir/traces"; }
expect 64 "--target builtin is given twice" \
	"$exe" run -q --target builtin --target builtin "$runs/no-workers.yaml"

# --- the environment, checked before the first run -----------------------
check_env() {
	code=$1 text=$2
	shift 2
	expect "$code" "$text" env "$@" "$exe" run -q --trace-dir "$dir/t2" \
		"$runs/no-workers.yaml"
	[ -e "$dir/t2" ] && { fail "a run went ahead"; rm -rf "$dir/t2"; }
}
check_env 64 "TMPDIR=$dir/none: No such file or directory" \
	TMPDIR="$dir/none"
: > "$dir/file"
check_env 64 "TMPDIR=$dir/file: not a directory" TMPDIR="$dir/file"
long=$dir/$(printf '%080d' 0)
mkdir -p "$long"
check_env 64 "is $(printf %s "$long" | wc -c) bytes long" TMPDIR="$long"
expect 64 "--junit $dir/none/j.xml: cannot create it: No such file or directory" \
	"$exe" run -q --junit "$dir/none/j.xml" "$runs/no-workers.yaml"
expect 64 "--html $dir: is a directory" \
	"$exe" run -q --html "$dir" "$runs/no-workers.yaml"

[ $fails -eq 0 ] || exit 1
echo "cli: all checks passed"
