#!/usr/bin/env bash
# Installs every Debian package that clustersim's build, tests and benchmarks
# need, then configures and builds into build/ (build-asan/ with --sanitize).
# Idempotent: when everything is present it only rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")"

builddir=build
mesonargs=()
if [ "${1:-}" = "--sanitize" ]; then
	builddir=build-asan
	mesonargs=(-Db_sanitize=address,undefined -Db_lundef=false)
fi

packages=(meson ninja-build pkg-config gcc libc6-dev
	libuv1-dev libfyaml-dev libcjson-dev libhttp-parser-dev libxml2-dev
	libcunit1-dev libxml2-utils perl binutils pmccabe nodejs procps wrk hyperfine chromium)

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
		exit 1
	fi
	echo "setup.sh: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [ ! -f "$builddir/build.ninja" ]; then
	meson setup "$builddir" ${mesonargs[@]+"${mesonargs[@]}"}
fi
ninja -C "$builddir"
