#!/usr/bin/env bash
# tests/mutants/run.sh - how much of the cluster the scenario suite pins down.
#
# Each *.patch here is a plausible bug of a reimplementation (sim/, the C
# agents, their policies); its first line says which Node rule it breaks.
# For each one: apply it to a scratch copy of the tree, build the clustersim
# binary, run the scenario suite on the builtin target and say whether a
# scenario failed (killed), none did (survived), or the mutant could not be
# built or applied (invalid). Only the scenario suite counts: a
# reimplementer has the scenarios, not the CUnit tests of sim/.
#
# A lane is one scratch copy with one meson build directory: every mutant of
# the lane is applied, built incrementally (one object and the link),
# run, and reverted in it. -j N runs N lanes side by side.
#
# Exit: 0 when killed/(killed+survived) >= the threshold, 1 below it, 2 when
# the unmutated tree fails the suite (nothing can be measured), 64 for a bad
# command line, 130 when interrupted (every process it started is ended and
# the scratch copies are removed).
set -uo pipefail
set -m                               # each lane in a process group of its own

here=$(cd "$(dirname "$0")" && pwd)
tree=$(cd "$here/../.." && pwd)

usage() {
	cat <<'EOF'
usage: tests/mutants/run.sh [options] [MUTANT...]

Applies each mutant (tests/mutants/*.patch, or the MUTANTs named: a name
with or without .patch) to a scratch copy of the tree, builds clustersim,
runs the scenario suite on the builtin target and prints a table:
mutant, killed/survived/invalid, the first failing scenario.

Options:
  --scenarios PATH   the scenarios to run: a folder or a file, repeatable
                     (default: the copy's scenarios/)
  -j, --jobs N       mutants built and run side by side (default 1; each
                     run of the suite uses -j2 itself)
  --suite-jobs N     the suite's own -j (default 2)
  --timeout S        bound on one mutant's run of the suite (default 300)
  --threshold PCT    the kill ratio needed for exit 0 (default 95)
  --full             run the whole suite for every mutant (default: stop
                     at the first failing scenario)
  --no-baseline      skip the run of the unmutated tree
  --confirm N        a kill counts once the unmutated binary passes the
                     killing scenario N times (default 3) and the mutant
                     fails it again in one of 5 runs of it alone;
                     otherwise the whole suite runs once more, and if
                     none of its failures is confirmed the verdict is
                     `flaky`, not a kill; 0: every first failure is a kill
  --logs DIR         keep each mutant's suite output (and build log) in DIR
  --list             list the mutants and the rule each breaks; run nothing
  -h, --help         this text

Exit: 0 kill ratio >= threshold, 1 below, 2 the unmutated tree fails the
suite, 64 bad command line, 130 interrupted.
EOF
}

jobs=1
suite_jobs=2
bound=300
threshold=95
full=0
baseline=1
list=0
logs=
confirm=3
scenarios=()
names=()
while [ $# -gt 0 ]; do
	case "$1" in
	--scenarios) [ $# -ge 2 ] || { usage >&2; exit 64; }; scenarios+=("$2"); shift ;;
	-j|--jobs) [ $# -ge 2 ] || { usage >&2; exit 64; }; jobs=$2; shift ;;
	--suite-jobs) [ $# -ge 2 ] || { usage >&2; exit 64; }; suite_jobs=$2; shift ;;
	--timeout) [ $# -ge 2 ] || { usage >&2; exit 64; }; bound=$2; shift ;;
	--threshold) [ $# -ge 2 ] || { usage >&2; exit 64; }; threshold=$2; shift ;;
	--logs) [ $# -ge 2 ] || { usage >&2; exit 64; }; logs=$2; shift ;;
	--confirm) [ $# -ge 2 ] || { usage >&2; exit 64; }; confirm=$2; shift ;;
	--full) full=1 ;;
	--no-baseline) baseline=0 ;;
	--list) list=1 ;;
	-h|--help) usage; exit 0 ;;
	-*) echo "run.sh: unknown option $1" >&2; usage >&2; exit 64 ;;
	*) names+=("$1") ;;
	esac
	shift
done
for v in "$jobs" "$suite_jobs" "$bound" "$threshold" "$confirm"; do
	case "$v" in
	''|*[!0-9]*) echo "run.sh: not a number: '$v'" >&2; exit 64 ;;
	esac
done
if [ "$jobs" -lt 1 ] || [ "$suite_jobs" -lt 1 ] || [ "$bound" -lt 1 ] ||
   [ "$threshold" -gt 100 ]; then
	echo "run.sh: -j, --suite-jobs and --timeout must be >= 1, --threshold <= 100" >&2
	exit 64
fi
if [ -n "$logs" ]; then
	mkdir -p "$logs" && logs=$(cd "$logs" && pwd) || exit 64
fi
# absolute: the runs happen elsewhere
for i in ${scenarios[@]+"${!scenarios[@]}"}; do
	s=${scenarios[$i]}
	[ -e "$s" ] || { echo "run.sh: no scenario file or folder $s" >&2; exit 64; }
	scenarios[$i]=$(cd "$(dirname "$s")" && pwd)/$(basename "$s")
done

# The first line of a patch: "# <rule it breaks>".
rule_of() { sed -n '1s/^# *//p' "$1"; }

mutants=()
if [ ${#names[@]} -eq 0 ]; then
	for p in "$here"/*.patch; do
		[ -e "$p" ] && mutants+=("$(basename "$p" .patch)")
	done
else
	for n in "${names[@]}"; do
		n=$(basename "$n" .patch)
		[ -f "$here/$n.patch" ] || { echo "run.sh: no mutant $n" >&2; exit 64; }
		mutants+=("$n")
	done
fi
[ ${#mutants[@]} -gt 0 ] || { echo "run.sh: no mutant" >&2; exit 64; }

if [ "$list" = 1 ]; then
	for m in "${mutants[@]}"; do
		printf '%-40s %s\n' "$m" "$(rule_of "$here/$m.patch")"
	done
	exit 0
fi

# ---------------------------------------------------------------------------
# Scratch space, and the way out whatever happens

work=$(mktemp -d "${TMPDIR:-/tmp}/clustersim-mutants.XXXXXX") || exit 1
lane_pids=()

cleanup() {
	trap - EXIT INT TERM HUP
	# The suite runs first, gracefully (the harness ends and reaps its own
	# clusters on SIGTERM), then the lanes (process groups: a build, a
	# patch), then whatever is left of a run, then the files.
	local f left
	for f in "$work"/lane*/run.pid; do
		[ -f "$f" ] && kill -TERM "$(cat "$f")" 2>/dev/null
	done
	for pid in ${lane_pids[@]+"${lane_pids[@]}"}; do
		kill -TERM -- "-$pid" 2>/dev/null
	done
	for pid in ${lane_pids[@]+"${lane_pids[@]}"}; do
		wait "$pid" 2>/dev/null
	done
	for _ in $(seq 1 50); do
		left=0
		for f in "$work"/lane*/run.pid; do
			[ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && left=1
		done
		[ "$left" = 0 ] && break
		sleep 0.2
	done
	for f in "$work"/lane*/run.pid; do
		[ -f "$f" ] && kill -KILL -- "-$(cat "$f")" 2>/dev/null
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'echo "run.sh: interrupted" >&2; cleanup; exit 130' INT TERM HUP

log() { printf '%s\n' "$*" >&2; }

# The tree as it is now, tracked and untracked files alike (build output
# aside), so that uncommitted scenarios count.
copy_tree() {
	mkdir -p "$1"
	(cd "$tree" && git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do
			[ -e "$f" ] && printf '%s\0' "$f"
		done | tar --null -T - -cf -) | tar -xf - -C "$1"
}

# A lane's copy, configured and built unmutated once (the CUnit tests are
# not built: only the scenarios judge a mutant).
lane_setup() {
	local dir=$1
	rm -f "$dir/ready"
	copy_tree "$dir/src" || return 1
	(cd "$dir/src" && meson setup build -Dtests=disabled >"$dir/setup.log" 2>&1) ||
		return 1
	ninja -C "$dir/src/build" -j2 clustersim >"$dir/build.log" 2>&1 || return 1
	# the unmutated binary, kept to confirm kills (it re-executes itself in
	# every role, wherever it is)
	cp "$dir/src/build/clustersim" "$dir/clustersim.base" || return 1
	touch "$dir/ready"
}

# A kill is the mutant's only if the unmutated binary passes the scenario
# every time, and the mutant fails it again in one of 5 runs of it alone:
# under the load of a whole suite a scenario with tight timing can fail by
# itself (even twice in a row), and a mutant that only changes an order may
# fail only now and then.
scen_of() {
	local dir=$1
	if [ ${#scenarios[@]} -gt 0 ]; then
		printf '%s\0' "${scenarios[@]}"
	else
		printf '%s\0' "$dir/src/scenarios"
	fi
}
# $1 lane, $2 binary, $3 scenario, $4 repeat: the scenario's exit code
run_one() {
	local scen=()
	mapfile -d '' scen < <(scen_of "$1")
	timeout --kill-after=10 "$bound" "$2" run "${scen[@]}" --filter "$3" \
		--target builtin --repeat "$4" -q >>"$1/confirm.out" 2>&1 </dev/null
}
base_passes() {
	[ "$confirm" -gt 0 ] || return 0
	run_one "$1" "$1/clustersim.base" "$2" "$confirm" && return 0
	echo "run.sh: the unmutated binary failed $2 too" >>"$1/confirm.out"
	return 1
}
mutant_fails_again() {
	[ "$confirm" -gt 0 ] || return 0
	run_one "$1" "$1/src/build/clustersim" "$2" 5 && {
		echo "run.sh: the mutant passed $2 5 times when run alone" >>"$1/confirm.out"
		return 1
	}
	return 0
}

# The first scenario the terminal view reports as failed, timed out or in
# error ("[3/64] fail  NAME [builtin] ..."); interrupted ones are ours.
failures() {
	sed -nE 's/^\[[0-9]+\/[0-9]+\] +(fail|timeout|error) +([^ ]+).*/\2/p' "$1"
}
first_failure() {
	failures "$1" | head -n 1
}

# One run of the suite in $1 (a lane directory) with the binary of its copy:
# echoes "<verdict> <first failing scenario or ->". A scenario's failure
# ends the run there unless --full.
suite_run() {
	local dir=$1 src=$1/src out=$1/suite.out
	local scen=(${scenarios[@]+"${scenarios[@]}"})
	[ ${#scen[@]} -gt 0 ] || scen=("$dir/src/scenarios")
	local pid rc start first= why=
	start=$SECONDS
	: >"$out"
	# its own session: a terminal's ^C reaches it through cleanup only
	setsid "$src/build/clustersim" run "${scen[@]}" --target builtin \
		-j "$suite_jobs" >"$out" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$dir/run.pid"
	while kill -0 "$pid" 2>/dev/null; do
		if [ -z "$first" ]; then
			first=$(first_failure "$out")
			if [ -n "$first" ] && [ "$full" = 0 ]; then
				kill -TERM "$pid" 2>/dev/null
			fi
		fi
		if [ $((SECONDS - start)) -ge "$bound" ] && [ -z "$why" ]; then
			why=bound
			kill -TERM "$pid" 2>/dev/null
		fi
		if [ -n "$why" ] && [ $((SECONDS - start)) -ge $((bound + 20)) ]; then
			kill -KILL -- "-$pid" 2>/dev/null
		fi
		sleep 0.2
	done
	wait "$pid"
	rc=$?
	rm -f "$dir/run.pid"
	# nothing of the run may outlive it
	kill -KILL -- "-$pid" 2>/dev/null
	if [ -z "$first" ]; then
		first=$(first_failure "$out")
	fi
	if [ -n "$first" ]; then
		echo "killed $first"
	elif [ "$why" = bound ]; then
		echo "killed (no-result-within-${bound}s)"
	elif [ "$rc" = 0 ]; then
		echo "survived -"
	elif [ "$rc" = 2 ]; then
		# an inconclusive run is no finding: not a kill
		echo "survived (inconclusive)"
	elif [ "$rc" = 64 ]; then
		echo "invalid (bad-command-line)"
	else
		echo "killed (suite-exit-$rc)"
	fi
}

# Applies, builds, runs and reverts one mutant in a lane; appends its row.
lane_one() {
	local dir=$1 m=$2 src=$1/src patch=$here/$2.patch
	local start=$SECONDS verdict first res
	if ! (cd "$src" && patch -p1 --batch --forward --silent <"$patch") \
		>"$dir/$m.patch.log" 2>&1; then
		verdict=invalid first="(patch-does-not-apply)"
		# a half-applied patch leaves the copy unusable: start afresh
		rm -rf "$src"
		lane_setup "$dir" || return 1
	elif ! ninja -C "$src/build" -j2 clustersim >"$dir/$m.build.log" 2>&1; then
		verdict=invalid first="(build-failed)"
	else
		# the second run of the suite is a whole one: the first failure
		# that is confirmed, if any, is the kill
		for attempt in 1 2; do
			res=$(if [ "$attempt" = 2 ]; then full=1; fi; suite_run "$dir")
			verdict=${res%% *} first=${res#* }
			cp "$dir/suite.out" "$dir/$m.suite$attempt.out"
			# a timeout or a crash of the whole run needs no confirming
			[ "$verdict" = killed ] && [ "${first#(}" = "$first" ] || break
			: >"$dir/confirm.out"
			confirmed=
			for s in $(failures "$dir/suite.out"); do
				if base_passes "$dir" "$s" && mutant_fails_again "$dir" "$s"; then
					confirmed=$s
					break
				fi
				[ "$attempt" = 2 ] || break
			done
			if [ -n "$confirmed" ]; then
				first=$confirmed
				break
			fi
			cp "$dir/confirm.out" "$dir/$m.confirm$attempt.out"
			verdict=flaky first="$first (not confirmed)"
		done
	fi
	if [ "$first" != "(patch-does-not-apply)" ] &&
	   ! (cd "$src" && patch -p1 -R --batch --silent <"$patch") \
		>>"$dir/$m.patch.log" 2>&1; then
		rm -rf "$src"
		lane_setup "$dir" || return 1
	fi
	if [ -n "$logs" ]; then
		for f in "$dir/$m".*; do
			[ -f "$f" ] && cp "$f" "$logs/"
		done
	fi
	printf '%s\t%s\t%s\t%s\n' "$m" "$verdict" "$first" $((SECONDS - start)) \
		>>"$dir/results"
	log "$(printf '  %-40s %-9s %s (%ss)' "$m" "$verdict" "$first" $((SECONDS - start)))"
}

# A lane takes the next unclaimed mutant until none is left.
lane() {
	local dir=$1
	[ -f "$dir/ready" ] || lane_setup "$dir" || { log "run.sh: lane $dir: setup or build failed (see $dir/*.log)"; return 1; }
	for m in "${mutants[@]}"; do
		mkdir "$work/claim.$m" 2>/dev/null || continue
		lane_one "$dir" "$m" || return 1
	done
}

t0=$SECONDS
log "run.sh: ${#mutants[@]} mutant(s), $jobs lane(s), suite -j$suite_jobs, bound ${bound}s, in $work"

if [ "$baseline" = 1 ]; then
	# in the first lane's copy, which its mutants then reuse
	log "run.sh: the unmutated tree first"
	mkdir -p "$work/lane1"
	if ! lane_setup "$work/lane1"; then
		log "run.sh: the unmutated tree does not build (see below)"
		tail -n 30 "$work/lane1/setup.log" "$work/lane1/build.log" >&2
		exit 2
	fi
	res=$(full=1; suite_run "$work/lane1")
	# a scenario that fails here but passes when run again is flaky on this
	# machine now: said, and measured with (a kill by it must be confirmed)
	bscen=(${scenarios[@]+"${scenarios[@]}"})
	[ ${#bscen[@]} -gt 0 ] || bscen=("$work/lane1/src/scenarios")
	for s in $(failures "$work/lane1/suite.out"); do
		if ! timeout --kill-after=10 "$bound" "$work/lane1/clustersim.base" run \
			"${bscen[@]}" --filter "$s" --target builtin --repeat 3 -q \
			>"$work/lane1/rerun.out" 2>&1 </dev/null; then
			log "run.sh: the unmutated tree fails the suite ($s, again when rerun): nothing can be measured"
			tail -n 30 "$work/lane1/rerun.out" >&2
			exit 2
		fi
		log "run.sh: warning: $s failed on the unmutated tree once, then passed 3 times: flaky here"
	done
	if [ "${res%% *}" != survived ] && [ -z "$(failures "$work/lane1/suite.out")" ]; then
		log "run.sh: the unmutated tree fails the suite (${res#* }): nothing can be measured"
		tail -n 30 "$work/lane1/suite.out" >&2
		exit 2
	fi
	log "run.sh: the unmutated tree passes ($((SECONDS - t0))s)"
fi

for i in $(seq 1 "$jobs"); do
	mkdir -p "$work/lane$i"
	lane "$work/lane$i" &
	lane_pids+=($!)
done
lane_rc=0
for pid in "${lane_pids[@]}"; do
	wait "$pid" || lane_rc=1
done
lane_pids=()

# ---------------------------------------------------------------------------
# The table

killed=0 survived=0 invalid=0 flaky=0
printf '\n%-40s %-9s %s\n' mutant verdict "first failing scenario"
printf '%-40s %-9s %s\n' ------ ------- ----------------------
for m in "${mutants[@]}"; do
	row=$(cat "$work"/lane*/results 2>/dev/null | awk -F '\t' -v m="$m" '$1 == m')
	if [ -z "$row" ]; then
		printf '%-40s %-9s %s\n' "$m" invalid "(not run: its lane failed)"
		invalid=$((invalid + 1))
		continue
	fi
	IFS=$'\t' read -r _ verdict first secs <<<"$row"
	printf '%-40s %-9s %s\n' "$m" "$verdict" "$first"
	case "$verdict" in
	killed) killed=$((killed + 1)) ;;
	survived) survived=$((survived + 1)) ;;
	flaky) survived=$((survived + 1)) flaky=$((flaky + 1)) ;;
	*) invalid=$((invalid + 1)) ;;
	esac
done
measured=$((killed + survived))
pct=0
[ "$measured" -gt 0 ] && pct=$((100 * killed / measured))
printf '\n%d mutants: %d killed, %d survived (%d of them flaky), %d invalid; %d%% killed (threshold %d%%) in %ds\n' \
	"${#mutants[@]}" "$killed" "$survived" "$flaky" "$invalid" "$pct" "$threshold" $((SECONDS - t0))
[ "$lane_rc" = 0 ] || log "run.sh: a lane failed; its mutants count as invalid"
if [ "$measured" -gt 0 ] && [ $((100 * killed)) -ge $((threshold * measured)) ]; then
	exit 0
fi
exit 1
