#!/bin/sh
# The main job: set up, build, and replay every bundled scenario.
# The build goes to ENTRYEMU_BUILD (default: build/ in the source tree).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${ENTRYEMU_BUILD:-$top/build}
case $build in /*) ;; *) build=$PWD/$build ;; esac
cd "$top"
tools/setup.sh "$build"
exec "$build/bin/entryemu" replay
