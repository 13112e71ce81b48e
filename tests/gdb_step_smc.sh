#!/bin/sh
# gdb stepping over a store into the running block's own code
# (fidelity-smc-counted-once.yaml): the engine cuts its block at the
# store and runs the store again as a block of its own; gdb sees each
# instruction once, as the CPU runs each once (SDM vol. 3A 11.6).  From
# the scenario's code: movl at user+0, the store at user+5, the changed
# movl at user+0xb (its immediate now 7), nop at user+0x10.
# Usage: gdb_step_smc.sh ENTRYEMU IMAGE SCENARIO
set -u
entryemu=$1 image=$2 scenario=$3
name=gdb_step_smc
. "$(dirname "$0")/gdb_server.sh"

timeout 60 gdb -batch -nx \
	-ex 'set architecture i386' -ex "file $image" -ex "target remote 127.0.0.1:$port" \
	-ex 'printf "pc=%#x\n", $pc' -ex 'stepi' -ex 'printf "pc=%#x\n", $pc' \
	-ex 'stepi' -ex 'printf "pc=%#x\n", $pc' -ex 'stepi' -ex 'printf "pc=%#x\n", $pc' \
	-ex 'printf "ebx=%#x\n", $ebx' -ex 'continue' >"$work/gdb.out" 2>&1
wait "$server"
status=$?
cat "$work/gdb.out"

fail=0
got=$(sed -n 's/^pc=//p' "$work/gdb.out" | tr '\n' ' ')
[ "$got" = "0x8048000 0x8048005 0x804800b 0x8048010 " ] ||
	{ echo "gdb_step_smc: stepped through '$got'"; fail=1; }
grep -q '^ebx=0x7$' "$work/gdb.out" || { echo "gdb_step_smc: expected ebx=0x7"; fail=1; }
grep -q 'exited normally' "$work/gdb.out" || { echo "gdb_step_smc: the run did not end"; fail=1; }
grep -q '^instructions: 5$' "$work/replay.out" ||
	{ echo "gdb_step_smc: expected 5 instructions"; cat "$work/replay.out"; fail=1; }
[ "$status" -eq 0 ] || { echo "gdb_step_smc: replay exited $status"; cat "$work/replay.err"; fail=1; }
exit "$fail"
