#!/bin/sh
# The results of a run do not depend on where the engine's blocks end:
# every bundled scenario replayed with its new user code translated a
# few instructions at a time (--short-blocks) gives the JSON of the
# usual replay, run for run.  The exception the flag documents: a run
# its instruction budget stops counts to the start of the block that
# would pass it, so of those runs only the scenario and verdict are
# compared.
# usage: short_blocks.sh ENTRYEMU
set -eu
cli=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
drop_budget_counts() {
	sed -E '/"outcome":"budget"/ s/^(.*"scenario":"[^"]*").*("verdict":"[A-Z]*").*$/\1 \2/'
}
"$cli" replay -j1 --json > "$tmp/usual" || true
"$cli" replay -j1 --json --short-blocks > "$tmp/short" || true
n=$(grep -c '"verdict"' "$tmp/usual" || true)
[ "$n" -gt 100 ] || { echo "short_blocks: only $n runs replayed"; exit 1; }
drop_budget_counts < "$tmp/usual" > "$tmp/usual.cmp"
drop_budget_counts < "$tmp/short" > "$tmp/short.cmp"
if ! cmp -s "$tmp/usual.cmp" "$tmp/short.cmp"; then
	echo "short_blocks: results differ with --short-blocks:"
	diff "$tmp/usual.cmp" "$tmp/short.cmp" | head -20
	exit 1
fi
echo "short_blocks: $n runs, the same results with short blocks"
