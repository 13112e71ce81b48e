#!/bin/sh
# The mutation test: build every mutant of tests/mutation/mutants.txt and
# run the suite (every bundled scenario, and the CMocka suites) against
# it.  A mutant is killed when something fails.  Prints one line per
# mutant and "mutants killed: K/N"; exits 1 unless every mutant is killed
# (and there are at least 25).  The unmutated images must pass the same
# run first.  Mutants run in parallel, one per core.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=$top/build/bin
work=${MUTATION_DIR:-$top/build/mutants}
spec=$top/tests/mutation/mutants.txt

suite() {	# run everything against ENTRYEMU_IMAGE_DIR=$1; 0 if all pass
	dir=$1
	ENTRYEMU_IMAGE_DIR=$dir "$bin/entryemu" replay >"$dir/replay.log" 2>&1 || return 1
	for t in "$bin"/test_*; do
		ENTRYEMU_IMAGE_DIR=$dir "$t" >"$dir/$(basename "$t").log" 2>&1 || return 1
	done
	return 0
}

if [ "${1:-}" = --one ]; then	# one mutant: writes its verdict file
	id=$2
	if ! "$top/tools/mutate.sh" "$id" "$work/$id" >"$work/$id.build.log" 2>&1; then
		echo "does not build (see $work/$id.build.log)" >"$work/$id.verdict"
	elif suite "$work/$id"; then
		echo "SURVIVED" >"$work/$id.verdict"
	else
		echo "killed" >"$work/$id.verdict"
	fi
	exit 0
fi

rm -rf "$work"
mkdir -p "$work/baseline"
cp "$top"/build/share/entryemu/*.elf "$work/baseline/"
if ! suite "$work/baseline"; then
	echo "mutation: the unmutated images fail their own suite; see $work/baseline"
	exit 1
fi

ids=$(awk -F ' :: ' '!/^#/ && NF == 3 { print $1 }' "$spec")
echo "$ids" | MUTATION_DIR=$work xargs -P "$(nproc)" -n 1 sh "$0" --one
n=0 k=0
for id in $ids; do
	n=$((n + 1))
	v=$(cat "$work/$id.verdict" 2>/dev/null || echo "not run")
	echo "mutant $id: $v"
	[ "$v" = killed ] && k=$((k + 1))
done
echo "mutants killed: $k/$n"
[ "$k" -eq "$n" ] && [ "$n" -ge 25 ]
