#!/usr/bin/env bash
# Installs every Debian package that clustersim's build, tests and benchmarks
# need, then configures and builds into build/ (build-asan/ with --sanitize;
# with --fuzz, the libFuzzer targets of tests/fuzz in build-fuzz/, with clang,
# every object instrumented for coverage, ASan and UBSan).
# Idempotent: when everything is present it only rebuilds what changed.
# Exit: 0 built, 1 failed, 77 (--fuzz only) clang is missing and cannot be
# installed here (not root).
set -euo pipefail
cd "$(dirname "$0")"

builddir=build
mesonargs=()
fuzz=
case "${1:-}" in
--sanitize)
	builddir=build-asan
	mesonargs=(-Db_sanitize=address,undefined -Db_lundef=false)
	;;
--fuzz)
	builddir=build-fuzz
	mesonargs=(-Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false
		-Dc_args=-fsanitize=fuzzer-no-link)
	fuzz=1
	;;
esac

packages=(meson ninja-build pkg-config gcc libc6-dev
	libuv1-dev libfyaml-dev libcjson-dev libhttp-parser-dev libxml2-dev
	libcunit1-dev libxml2-utils perl binutils nodejs procps wrk hyperfine chromium
	pmccabe cmark libmd4c-dev jq time)
if [ -n "$fuzz" ]; then
	packages+=(clang libclang-rt-14-dev)
fi

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
		|| missing+=("$p")
done
# nodejs may come from elsewhere than Debian (any node >= 20 on PATH will do).
if command -v node >/dev/null 2>&1; then
	missing=("${missing[@]/nodejs}")
fi
missing=(${missing[@]+"${missing[@]}"})
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "setup.sh: missing packages: ${missing[*]} (run as root to install)" >&2
		[ -n "$fuzz" ] && ! command -v clang >/dev/null 2>&1 && exit 77
		exit 1
	fi
	echo "setup.sh: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [ ! -f "$builddir/build.ninja" ]; then
	if [ -n "$fuzz" ]; then
		CC=clang meson setup "$builddir" "${mesonargs[@]}"
	else
		meson setup "$builddir" ${mesonargs[@]+"${mesonargs[@]}"}
	fi
fi
if [ -n "$fuzz" ]; then
	# the fuzz targets and what they link, nothing else
	targets=$(ninja -C "$builddir" -t targets all |
		sed -n 's|^\(tests/fuzz/fuzz-[a-z0-9-]*\):.*|\1|p' | sort -u)
	ninja -C "$builddir" -j "$(nproc)" $targets
else
	ninja -C "$builddir" -j "$(nproc)"
fi
