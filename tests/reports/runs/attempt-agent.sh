#!/bin/sh
# A primary agent for `--target exec:` whose result depends on the attempt,
# so that `--repeat` gives flaky and repeatedly failing cases without
# relying on timing. It runs the builtin primary (clustersim primary) and,
# on the attempts listed below, exits 7 after it instead of 0: a scenario
# that expects the primary to exit 0 then fails on exactly those attempts.
# usage (as a target): exec:sh attempt-agent.sh CLUSTERSIM
# The harness sets CLUSTERSIM_RUN=<scenario>-<seed>-<attempt>.
attempt=${CLUSTERSIM_RUN##*-}
scenario=${CLUSTERSIM_RUN%-*-*}
case "$scenario:$attempt" in
fails-first:1 | fails-odd:1 | fails-odd:3 | fails-second:2)
	"$1" primary
	exit 7
	;;
esac
exec "$1" primary
