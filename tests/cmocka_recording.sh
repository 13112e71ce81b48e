#!/bin/sh
# A failing CMocka test's recording replays as FAIL with the same message:
# test_cmocka_helpers --fail asserts a page fault the seed's case does not
# take; <entryemu/cmocka.h> records the run and prints where; entryemu
# replay of that file must fail (exit 1) with "recorded failure: " and
# the test's own message, and otherwise reproduce the run (no other
# expectation fails).
# Usage: cmocka_recording.sh TEST_CMOCKA_HELPERS ENTRYEMU
set -u
suite=$1 entryemu=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/entryemu-rec.XXXXXX")
trap 'rm -rf "$work"' EXIT
TMPDIR=$work "$suite" --fail >"$work/out" 2>&1 && { echo "the failing test passed"; exit 1; }
file=$(sed -n 's/.*recorded the failing run: entryemu replay \(.*\)$/\1/p' "$work/out")
[ -n "$file" ] && [ -f "$file" ] || { echo "no recording:"; cat "$work/out"; exit 1; }
msg=$(grep -o 'gs_pf: expected #PF (vector 14); the run delivered .*' "$work/out" | head -n 1)
[ -n "$msg" ] || { echo "no failure message:"; cat "$work/out"; exit 1; }
grep -q '^image: post$' "$file" || { echo "the bundled image is not named:"; grep '^image' "$file"; exit 1; }
cd "$work" && "$entryemu" replay "$file" >"$work/replay.out" 2>"$work/replay.err"
rc=$?
[ $rc = 1 ] || { echo "replay exit $rc, expected 1 (FAIL)"; cat "$work/replay.err"; exit 1; }
grep -q '^verdict: FAIL$' "$work/replay.out" || { echo "no FAIL verdict"; exit 1; }
grep -qF "recorded failure: $msg" "$work/replay.err" ||
	{ echo "replay's message differs:"; echo "  test:   $msg"; cat "$work/replay.err"; exit 1; }
# the recorded failure is the only one: the run reproduced
[ "$(grep -c ': expected\|: unexpected\|recorded failure' "$work/replay.err")" = 1 ] ||
	{ echo "the replay did not reproduce the run:"; cat "$work/replay.err"; exit 1; }
echo "cmocka_recording: ok"
