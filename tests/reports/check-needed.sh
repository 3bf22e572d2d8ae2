#!/bin/sh
# clustersim must not link libxml2: it brings ICU and libstdc++, whose
# loading would add milliseconds to every process start, cluster workers
# included. The reports module opens libxml2 itself when a JUnit file or an
# HTML page is written (reports/report-libxml.h). This fails when libxml2,
# ICU or libstdc++ is among clustersim's NEEDED entries again, or when
# starting clustersim loads libxml2 or ICU through some other library.
# usage: check-needed.sh CLUSTERSIM
# Exit: 0 pass, 1 fail, 77 skip (no readelf), 99 hard error.
set -u
exe=$1
command -v readelf >/dev/null 2>&1 || { echo "readelf not installed (binutils): skipped"; exit 77; }
[ -x "$exe" ] || { echo "no executable at $exe"; exit 99; }
rc=0

needed=$(LC_ALL=C readelf -d "$exe") || { echo "readelf -d $exe failed"; exit 99; }
needed=$(printf '%s\n' "$needed" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
[ -n "$needed" ] || { echo "no NEEDED entries in $exe: is it dynamic?"; exit 99; }
echo "NEEDED: $(echo $needed)"
for lib in $needed; do
	case $lib in
	libxml2.so*|libicu*|libstdc++.so*)
		echo "FAIL: $exe links $lib directly"
		rc=1 ;;
	esac
done

# What the dynamic loader actually opens for a start that writes no
# report. libstdc++ is not checked here: a UBSan build loads it for its
# runtime.
loaded=$(LD_DEBUG=files "$exe" version 2>&1 >/dev/null) ||
	{ echo "$exe version failed"; exit 99; }
loaded=$(printf '%s\n' "$loaded" |
	sed -n 's/.*file=\([^ ]*\) \[[0-9]*\];  \(needed\|dynamically loaded\) by.*/\1/p')
for lib in $loaded; do
	case $lib in
	libxml2.so*|libicu*)
		echo "FAIL: starting $exe loads $lib"
		rc=1 ;;
	esac
done
[ $rc -eq 0 ] && echo "ok: libxml2, ICU and libstdc++ are not linked, and not loaded at start"
exit $rc
