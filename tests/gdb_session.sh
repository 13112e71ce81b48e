#!/bin/sh
# gdb on the emulated CPU, as a kernel developer would use it: the seed's
# %gs case (seg-gs-tls-invalidated.yaml) served with replay --gdb, and
# Debian's gdb in batch mode with the image as its symbol file.  Expected,
# from the seed: the second exit's pop %gs (restore_nocheck_notrace+9)
# runs with the kernel's %gs, __KERNEL_PERCPU (0xd8), and the user's TLS
# selector 0x33 on the stack; stepping it delivers #GP to
# general_protection, in ring 0 (CS = __KERNEL_CS, 0x60); the run then
# ends normally.  The run is on IMAGE only, whatever else the scenario
# names.
# Usage: gdb_session.sh ENTRYEMU IMAGE SCENARIO
set -u
entryemu=$1 image=$2 scenario=$3
name=gdb_session
. "$(dirname "$0")/gdb_server.sh"

timeout 60 gdb -batch -nx \
	-ex 'set architecture i386' -ex "file $image" -ex "target remote 127.0.0.1:$port" \
	-ex 'break *(restore_nocheck_notrace+9)' \
	-ex 'continue' -ex 'continue' \
	-ex 'x/i $pc' -ex 'printf "gs=%#x\n", $gs' -ex 'printf "stack=%#x\n", *(unsigned *)$esp' \
	-ex 'stepi' -ex 'x/i $pc' -ex 'printf "cs=%#x\n", $cs' \
	-ex 'delete' -ex 'continue' >"$work/gdb.out" 2>&1
wait "$server"
status=$?
cat "$work/gdb.out"

fail=0
expect() {
	grep -q "$1" "$work/gdb.out" || { echo "gdb_session: expected '$1'"; fail=1; }
}
expect 'restore_nocheck_notrace+9>:.*pop *%gs'
expect '^gs=0xd8$'
expect '^stack=0x33$'
expect '<general_protection>:'
expect '^cs=0x60$'
expect 'exited normally'
[ "$status" -eq 0 ] || { echo "gdb_session: replay exited $status"; cat "$work/replay.err"; fail=1; }
exit "$fail"
