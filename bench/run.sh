#!/usr/bin/env bash
# Prints the C cluster's figures next to Node v20's, measured in one run on
# this machine (compare only within one run: start-up costs move between
# runs on a shared VM). Bounded: each program has a 120 s watchdog.
#   bench/run.sh [builddir]     (default: build)
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
bench=$build/bench/bench-cluster
node=$(command -v node || true)
[ -x "$bench" ] || { echo "run ./setup.sh first ($bench missing)" >&2; exit 1; }

echo "# clustersim bench, $(date -u +%FT%TZ), $(nproc) cores, node ${node:+$($node --version)}"
"$bench" fork 1 20
[ -n "$node" ] && "$node" bench/node/bench-cluster.js fork 1 10
"$bench" fork 8 10
[ -n "$node" ] && "$node" bench/node/bench-cluster.js fork 8 5
"$bench" respawn 20
[ -n "$node" ] && "$node" bench/node/bench-cluster.js respawn 20
"$bench" pingpong 100000
[ -n "$node" ] && "$node" bench/node/bench-cluster.js pingpong 100000
# A C primary timing Node workers, and the floor of a bare spawn:
[ -n "$node" ] && "$bench" pingpong 20000 "$node" bench/node/bench-cluster.js
exit 0
