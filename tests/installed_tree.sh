#!/bin/sh
# The CLI run the way users run it finds its data wherever it is: an
# installed tree under a prefix of its own, run from another directory
# without LD_LIBRARY_PATH, lists and replays its own bundled scenarios;
# the build's CLI found through PATH replays the bundled suite from
# another directory.  `list` and `replay` must agree on the scenarios.
# Usage: installed_tree.sh BUILD_DIR
set -u
build=$(cd "$1" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/entryemu-installed.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "installed_tree: $*"; exit 1; }
cmake --install "$build" --prefix "$work/prefix" >/dev/null || fail "install failed"
mkdir "$work/elsewhere" && cd "$work/elsewhere" || exit 1
installed=$(ls "$work/prefix/share/entryemu/scenarios" | grep -c '\.yaml$')
unset LD_LIBRARY_PATH ENTRYEMU_IMAGE_DIR ENTRYEMU_SCENARIO_DIR
listed=$("$work/prefix/bin/entryemu" list | wc -l)
[ "$listed" = "$installed" ] || fail "list shows $listed scenarios, $installed are installed"
"$work/prefix/bin/entryemu" replay >"$work/replay.out" 2>&1 ||
	{ tail "$work/replay.out"; fail "installed replay failed"; }
# one line per file and image, besides the header: at least one per file
ran=$(grep -c ' PASS ' "$work/replay.out")
[ "$ran" -ge "$installed" ] || fail "installed replay ran $ran runs for $installed files"
PATH=$build/bin:$PATH entryemu replay >"$work/path.out" 2>&1 ||
	{ tail "$work/path.out"; fail "entryemu replay through PATH failed"; }
echo "installed_tree: ok ($installed scenarios, $ran runs)"
