/*
 * syscall_table.S stand-in, included by entry.S inside .rodata.
 *
 * Entry N points at the N-th callout slot of sys_call_stubs (callouts.S),
 * so the library knows from the address alone which table entry the
 * entry code called: a wrong index or scale shows up as the wrong call.
 * 2.6.18 has 318 system calls.
 */
#define ENTRYEMU_NR_SYSCALLS	318

ENTRY(sys_call_table)
	.set .Lsysnr, 0
	.rept ENTRYEMU_NR_SYSCALLS
	.long sys_call_stubs + 4 * .Lsysnr
	.set .Lsysnr, .Lsysnr + 1
	.endr
