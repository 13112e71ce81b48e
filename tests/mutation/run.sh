#!/bin/sh
# The mutation test: build every mutant of tests/mutation/mutants.txt and
# run the suite (every bundled scenario, and the CMocka suites) against
# it.  A mutant is killed when something fails.  Prints one line per
# mutant and "mutants killed: K/N"; exits 1 unless every mutant is killed
# (and there are at least 25).  The unmutated images must pass the same
# run first.  Mutants run in parallel, one per core.
#
# It runs a build's products; ctest passes where they are, and by hand
# the build directory is the argument or ENTRYEMU_BUILD (default: build/
# in the source tree):
#   ENTRYEMU_CLI       the entryemu command (default: $ENTRYEMU_BUILD/bin/entryemu)
#   ENTRYEMU_TEST_BIN  the directory of the test_* suites (default: $ENTRYEMU_BUILD/bin)
#   ENTRYEMU_IMAGES    the built images (default: $ENTRYEMU_BUILD/share/entryemu)
#   ENTRYEMU_ASM_DIR   the assembled kernel objects, for tools/mutate.sh
#   MUTATION_DIR       the work directory (default: a fresh temporary one,
#                      removed when every mutant is killed)
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
spec=$top/tests/mutation/mutants.txt

if [ "${1:-}" != --one ]; then
	ENTRYEMU_BUILD=${1:-${ENTRYEMU_BUILD:-$top/build}}
	export ENTRYEMU_BUILD
	: "${ENTRYEMU_CLI:=$ENTRYEMU_BUILD/bin/entryemu}"
	: "${ENTRYEMU_TEST_BIN:=$ENTRYEMU_BUILD/bin}"
	: "${ENTRYEMU_IMAGES:=$ENTRYEMU_BUILD/share/entryemu}"
	: "${ENTRYEMU_ASM_DIR:=$ENTRYEMU_BUILD/asm}"
	export ENTRYEMU_CLI ENTRYEMU_TEST_BIN ENTRYEMU_IMAGES ENTRYEMU_ASM_DIR
fi

suite() {	# run everything against ENTRYEMU_IMAGE_DIR=$1; 0 if all pass
	dir=$1
	ENTRYEMU_IMAGE_DIR=$dir "$ENTRYEMU_CLI" replay >"$dir/replay.log" 2>&1 || return 1
	for t in "$ENTRYEMU_TEST_BIN"/test_*; do
		ENTRYEMU_IMAGE_DIR=$dir "$t" >"$dir/$(basename "$t").log" 2>&1 || return 1
	done
	return 0
}

if [ "${1:-}" = --one ]; then	# one mutant: writes its verdict file
	id=$2
	work=$MUTATION_DIR
	if ! sh "$top/tools/mutate.sh" "$id" "$work/$id" >"$work/$id.build.log" 2>&1; then
		echo "does not build (see $work/$id.build.log)" >"$work/$id.verdict"
	elif suite "$work/$id"; then
		echo "SURVIVED" >"$work/$id.verdict"
	else
		echo "killed" >"$work/$id.verdict"
	fi
	exit 0
fi

for f in "$ENTRYEMU_CLI" "$ENTRYEMU_IMAGES/entry-post.elf" "$ENTRYEMU_ASM_DIR/entry-post/callouts.o"; do
	[ -f "$f" ] || { echo "mutation: no $f: build entryemu first (or name its build directory)"; exit 2; }
done
if [ -n "${MUTATION_DIR:-}" ]; then
	work=$MUTATION_DIR
	rm -rf "$work"
	mkdir -p "$work"
else
	work=$(mktemp -d "${TMPDIR:-/tmp}/entryemu-mutants.XXXXXX")
fi
mkdir -p "$work/baseline"
cp "$ENTRYEMU_IMAGES"/*.elf "$work/baseline/"
if ! suite "$work/baseline"; then
	echo "mutation: the unmutated images fail their own suite; see $work/baseline"
	exit 1
fi

ids=$(awk -F ' :: ' '!/^#/ && (NF == 3 || NF == 4) { print $1 }' "$spec")
echo "$ids" | MUTATION_DIR=$work xargs -P "$(nproc)" -n 1 sh "$0" --one
n=0 k=0
for id in $ids; do
	n=$((n + 1))
	v=$(cat "$work/$id.verdict" 2>/dev/null || echo "not run")
	echo "mutant $id: $v"
	[ "$v" = killed ] && k=$((k + 1))
done
echo "mutants killed: $k/$n"
if [ "$k" -eq "$n" ] && [ "$n" -ge 25 ]; then
	[ -n "${MUTATION_DIR:-}" ] || rm -rf "$work"
	exit 0
fi
echo "mutation: the mutants' builds and logs are in $work"
exit 1
