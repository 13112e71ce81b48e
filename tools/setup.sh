#!/bin/sh
# Install what entryemu needs (Debian packages, only those missing), then
# configure and build it in build/ (or $1).  Run as root on a fresh machine.
# With ENTRYEMU_FUZZ=1 it also installs clang and its libFuzzer runtime
# (libclang-rt-14-dev) for the fuzz build (fuzz/README.md).
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
shift 2>/dev/null || true

pkgs="gcc binutils cmake pkg-config libunicorn-dev libcapstone-dev qemu-system-x86 \
libcmocka-dev libelf-dev libdw-dev libfyaml-dev valgrind gdb"
if [ "${ENTRYEMU_FUZZ:-0}" = 1 ]; then
	pkgs="$pkgs clang libclang-rt-14-dev"
fi
missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing
fi

cmake -S . -B "$build" "$@" >/dev/null
cmake --build "$build" -j"$(nproc)"
