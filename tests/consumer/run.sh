#!/bin/sh
# Install the build into a fresh prefix, then build and run the consumer
# project against it, once through find_package and once through pkg-config.
set -eu
build=$1
src=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
for how in find_package pkgconfig; do
	opt=-DUSE_PKGCONFIG=OFF
	[ "$how" = pkgconfig ] && opt=-DUSE_PKGCONFIG=ON
	PKG_CONFIG_PATH=$work/prefix/lib/pkgconfig:${PKG_CONFIG_PATH:-} \
		cmake -S "$src" -B "$work/$how" -DCMAKE_PREFIX_PATH="$work/prefix" "$opt" >/dev/null
	cmake --build "$work/$how" >/dev/null
	# the installed library finds its images relative to itself (dladdr);
	# CMake's targets give the programs an RPATH, pkg-config's flags do not
	lib=$work/prefix/lib
	[ "$how" = find_package ] && lib=
	(cd "$work" && env -u ENTRYEMU_IMAGE_DIR LD_LIBRARY_PATH=$lib "$work/$how/consumer_gs_fixup")
	(cd "$work" && env -u ENTRYEMU_IMAGE_DIR LD_LIBRARY_PATH=$lib "$work/$how/consumer_helpers")
	echo "consumer via $how: passed"
done
# and the installed command runs the installed scenarios
"$work/prefix/bin/entryemu" replay "$work/prefix/share/entryemu/scenarios/seg-gs-tls-invalidated.yaml" >/dev/null
echo "installed entryemu replay: passed"
