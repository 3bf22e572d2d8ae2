#!/bin/sh
# The bundled scenario suite on one target, as meson runs it.
# usage: suite.sh CLUSTERSIM TARGET JOBS SCENARIOS [RUNTIME]
# CLUSTERSIM_SUITE_SHARD_<TARGET>=I/N (the target's name in capitals, '-'
# as '_': CLUSTERSIM_SUITE_SHARD_NODE_C) runs the I-th of N slices of the
# suite only. ./test.sh sets it in its sanitizer pass for the mixed
# clusters, whose C is the same C the builtin target runs whole there.
# Exit: clustersim run's own (docs/harness.md, "Exit codes").
set -u
exe=$1
target=$2
jobs=$3
scenarios=$4
runtime=${5:-}
var=CLUSTERSIM_SUITE_SHARD_$(printf '%s' "$target" | tr 'a-z-' 'A-Z_')
eval "shard=\${$var:-}"
set -- run -q -j "$jobs" --target "$target"
[ -n "$runtime" ] && set -- "$@" --runtime "$runtime"
if [ -n "$shard" ]; then
	echo "$var=$shard: slice $shard of the suite only"
	set -- "$@" --shard "$shard"
fi
exec "$exe" "$@" "$scenarios"
