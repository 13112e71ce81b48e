#!/bin/sh
# entryemu diff's own behaviour: a departure not listed fails the run and
# names the event; a bad departures file or option is bad input (exit 2,
# FILE:LINE:COL); no QEMU is a clear error.  The RF bit of a fault's
# pushed EFLAGS is the divergence used: the library sets it (SDM vol. 3A
# 17.3.1.1), QEMU TCG does not.
# Usage: oracle_cli.sh ENTRYEMU SCENARIO_DIR DEPARTURES
set -u
bin=$1
dir=$2
dep=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() {	# check NAME WANTED-STATUS GOT-STATUS
	if [ "$2" != "$3" ]; then
		echo "FAIL: $1: exit $3, expected $2"
		fail=1
	fi
}
scen=$dir/exc-13-general-protection.yaml

# the bundled list knows the RF departure
"$bin" diff --accel tcg --image post --departures "$dep" "$scen" >"$tmp/out" 2>&1
check "bundled departures" 0 $?
grep -q "known" "$tmp/out" || { echo "FAIL: no 'known' verdict"; cat "$tmp/out"; fail=1; }

# without it the same divergence fails the run, naming the event and both sides
: >"$tmp/empty"
"$bin" diff --accel tcg --image post --departures "$tmp/empty" "$scen" >"$tmp/out" 2>&1
check "empty departures" 1 $?
grep -q "first divergence at event 1 (vector 13 at .*): pushed EFLAGS (differ in RF only)" "$tmp/out" ||
	{ echo "FAIL: the divergence is not named"; cat "$tmp/out"; fail=1; }
grep -q "entryemu: 0x00010202" "$tmp/out" && grep -q "qemu:     0x00000202" "$tmp/out" ||
	{ echo "FAIL: both sides not shown"; cat "$tmp/out"; fail=1; }

# replay --oracle qemu is the same command
"$bin" replay --oracle qemu --accel tcg --image post --departures "$tmp/empty" "$scen" >"$tmp/out" 2>&1
check "replay --oracle qemu" 1 $?
grep -q "pushed EFLAGS (differ in RF only)" "$tmp/out" || { echo "FAIL: replay --oracle"; cat "$tmp/out"; fail=1; }

# a malformed line is bad input, with its place
printf '# ok\nonly | three | fields\n' >"$tmp/bad"
"$bin" diff --accel tcg --departures "$tmp/bad" "$scen" >"$tmp/out" 2>&1
check "malformed departures" 2 $?
grep -q "$tmp/bad:2:1:" "$tmp/out" || { echo "FAIL: no FILE:LINE:COL"; cat "$tmp/out"; fail=1; }

"$bin" diff --accel sometimes "$scen" >"$tmp/out" 2>&1
check "bad --accel" 2 $?
"$bin" diff --departures "$tmp/none" "$scen" >"$tmp/out" 2>&1
check "missing departures file" 2 $?

ENTRYEMU_QEMU=$tmp/no-qemu "$bin" diff --accel tcg --departures "$dep" "$scen" >"$tmp/out" 2>&1
check "no QEMU" 2 $?
grep -q "qemu-system-i386" "$tmp/out" || { echo "FAIL: no QEMU is not said"; cat "$tmp/out"; fail=1; }

[ "$fail" -eq 0 ] && echo "oracle_cli: all checks passed"
exit "$fail"
