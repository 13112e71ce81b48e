#!/bin/sh
# The main job: set up, build, and replay every bundled scenario.
set -eu
cd "$(dirname "$0")/.."
tools/setup.sh build
exec build/bin/entryemu replay
