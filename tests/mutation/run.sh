#!/bin/sh
# The mutation test: build every mutant of tests/mutation/mutants.txt (the
# post-patch image) and of tests/mutation/mutants-pre.txt (the 2.6.18
# image) and run the suite (every bundled scenario, and the CMocka
# suites) against it.  A mutant is killed when something fails.  Prints
# one line per mutant and "mutants killed: K/N (TARGET image)" per image;
# exits 1 unless every mutant is killed (and there are at least 25 of the
# post-patch image and 10 of 2.6.18).  The unmutated images must pass the
# same run first.  Mutants run in parallel, one per core.
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
spec_of() {	# the mutant list of target $1
	case $1 in
	pre) echo "$top/tests/mutation/mutants-pre.txt" ;;
	*) echo "$top/tests/mutation/mutants.txt" ;;
	esac
}

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

if [ "${1:-}" = --one ]; then	# one mutant, TARGET:ID: writes its verdict file
	target=${2%%:*} id=${2#*:}
	work=$MUTATION_DIR
	dir=$work/$target-$id
	if ! sh "$top/tools/mutate.sh" "$id" "$dir" "$target" >"$dir.build.log" 2>&1; then
		echo "does not build (see $dir.build.log)" >"$dir.verdict"
	elif suite "$dir"; then
		echo "SURVIVED" >"$dir.verdict"
	else
		echo "killed" >"$dir.verdict"
	fi
	exit 0
fi

for f in "$ENTRYEMU_CLI" "$ENTRYEMU_IMAGES/entry-post.elf" "$ENTRYEMU_ASM_DIR/entry-post/callouts.o" \
	 "$ENTRYEMU_ASM_DIR/entry-pre/callouts.o"; do
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

ids_of() {	# the mutant ids of target $1
	awk -F ' :: ' '!/^#/ && (NF == 3 || NF == 4) { print $1 }' "$(spec_of "$1")"
}
for target in post pre; do
	ids_of $target | sed "s/^/$target:/"
done | MUTATION_DIR=$work xargs -P "$(nproc)" -n 1 sh "$0" --one
ok=1
for target in post pre; do
	n=0 k=0
	for id in $(ids_of $target); do
		n=$((n + 1))
		v=$(cat "$work/$target-$id.verdict" 2>/dev/null || echo "not run")
		echo "mutant $id ($target): $v"
		[ "$v" = killed ] && k=$((k + 1))
	done
	echo "mutants killed: $k/$n ($target image)"
	min=25
	[ $target = pre ] && min=10
	[ "$k" -eq "$n" ] && [ "$n" -ge $min ] || ok=0
done
if [ $ok = 1 ]; then
	[ -n "${MUTATION_DIR:-}" ] || rm -rf "$work"
	exit 0
fi
echo "mutation: the mutants' builds and logs are in $work"
exit 1
