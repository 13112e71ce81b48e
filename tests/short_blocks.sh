#!/bin/sh
# The results of a run do not depend on where the engine's blocks end:
# every bundled scenario replayed with its new user code translated a
# few instructions at a time (--short-blocks) gives the JSON of the
# usual replay, run for run, the runs their instruction budget stops
# included (each stops after exactly its budget).
# usage: short_blocks.sh ENTRYEMU
set -eu
cli=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$cli" replay -j1 --json > "$tmp/usual" || true
"$cli" replay -j1 --json --short-blocks > "$tmp/short" || true
n=$(grep -c '"verdict"' "$tmp/usual" || true)
[ "$n" -gt 100 ] || { echo "short_blocks: only $n runs replayed"; exit 1; }
if ! cmp -s "$tmp/usual" "$tmp/short"; then
	echo "short_blocks: results differ with --short-blocks:"
	diff "$tmp/usual" "$tmp/short" | head -20
	exit 1
fi
echo "short_blocks: $n runs, the same results with short blocks"
