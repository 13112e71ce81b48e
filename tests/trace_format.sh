#!/bin/sh
# The trace reads like objdump -d, with what the CPU did between two
# instructions on marked lines.  Expected values come from the seed's
# kernel and the SDM, not from the output:
#  - seg-gs-tls-invalidated (the seed's case): the exit's pop %gs of the
#    user's TLS selector 0x33, whose descriptor set_thread_area cleared,
#    raises #GP with error code 0x30 (selector & 0xfffc, SDM vol. 3
#    6.13) in ring 0; do_general_protection applies the __ex_table entry
#    of that pop, and the iret after it returns to ring 3;
#  - system_call's indirect call goes through sys_call_table (entry.S);
#  - divide_error pushes the address of do_divide_error (entry.S), an
#    immediate that is an image address, and the scenario's label `insn`
#    names the faulting user instruction;
#  - syscall-sysenter-getpid: sysexit returns to SYSENTER_RETURN in the
#    vsyscall page, named by its runtime address.
# Usage: trace_format.sh ENTRYEMU SCENARIO_DIR
set -u
entryemu=$1 dir=$2
fail=0
out=$(mktemp "${TMPDIR:-/tmp}/entryemu-trace.XXXXXX")
trap 'rm -f "$out"' EXIT

expect() {	# what, pattern
	grep -Eq -- "$2" "$out" || { echo "trace_format: no $1 (/$2/)"; fail=1; }
}

"$entryemu" trace "$dir/seg-gs-tls-invalidated.yaml" >"$out" || { echo "trace failed"; exit 1; }
expect "pop %gs line" '^c[0-9a-f]{7} <restore_nocheck_notrace\+0x9>: +0f a9 +popl? +%gs$'
expect "#GP mark" '^ +==> event: vector 13 error code 0x30, CPL 0 -> 0, at restore_nocheck_notrace\+0x9 -> general_protection, frame c[0-9a-f]{7}$'
expect "callout mark" '^ +==> call do_general_protection\(%eax 0x[0-9a-f]+, %edx 0x30\), pt_regs c[0-9a-f]{7}, from error_code\+0x[0-9a-f]+$'
expect "fixup mark" '^ +==> fixup: restore_nocheck_notrace\+0x9 -> \.fixup\+0x[0-9a-f]+ \(vector 13, error code 0x30\)$'
expect "return value mark" '^ +==> sys_set_thread_area returned 0x0$'
expect "ring switch into the kernel" '^ +==> ring 3 -> 0$'
expect "ring switch back" '^ +==> ring 0 -> 3, at '
expect "symbolized call table" 'call +\*0xc[0-9a-f]{7}\(,%eax,4\) +<sys_call_table>$'
expect "symbolized call target" 'call[l]? +c[0-9a-f]{7} <trace_hardirqs_off>$'
# the ring switch back is the line after an iret
awk '/==> ring 0 -> 3/ { if (prev !~ /iret/) { print "trace_format: ring 0 -> 3 not after an iret: " prev; bad = 1 } }
     { prev = $0 } END { exit bad }' "$out" || fail=1
# one column for every instruction's mnemonic: address (8), place (34),
# bytes (7 x 3), each followed by a blank, so it starts at column 67
awk '/^[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f] </ { if (substr($0, 66, 1) != " " || substr($0, 67, 1) !~ /[a-z]/) { print "trace_format: misaligned: " $0; bad = 1; exit } } END { exit bad }' "$out" || fail=1

"$entryemu" trace "$dir/exc-00-divide-error.yaml" >"$out" || true
expect "symbolized immediate" 'push[l]? +\$0xc[0-9a-f]{7} +<do_divide_error>$'
expect "user label" '^[0-9a-f]{8} <insn>: '

"$entryemu" trace "$dir/syscall-sysenter-getpid.yaml" >"$out" || { echo "trace failed"; exit 1; }
expect "sysenter mark" '^ +==> event: sysenter, CPL 3 -> 0, at .* -> sysenter_entry, frame '
expect "sysexit's ring switch" '^ +==> ring 0 -> 3, at SYSENTER_RETURN, esp '
expect "SYSENTER_RETURN at its runtime address" '^ffffe410 <SYSENTER_RETURN>: '

# --json --trace: the marks place each record; the int $0x80 of
# syscall-int80-getpid (movl $20, %eax; int $0x80) is delivered after the
# 2nd instruction
"$entryemu" replay --json --trace "$dir/syscall-int80-getpid.yaml" >"$out" || { echo "json failed"; exit 1; }
expect "JSON marks" '"marks":\[\{"after":2,"kind":"event","record":0\},\{"after":[0-9]+,"kind":"call","record":0\},\{"after":[0-9]+,"kind":"returned","record":0,"value":"0x[0-9a-f]+"\}'

[ $fail = 0 ] && echo "trace_format: ok"
exit $fail
