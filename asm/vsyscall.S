/*
 * The vsyscall page's system call entry, as user space calls it: save
 * the registers sysenter clobbers, put the user stack pointer in %ebp
 * (sysenter does not save it; sysenter_entry reads the sixth argument
 * and the return stack from there), and enter.  The kernel's sysexit
 * returns to SYSENTER_RETURN with %ecx/%edx holding the user ESP/EIP.
 *
 * The code is position-independent: the library copies it to the user
 * page at ENTRYEMU_VSYSCALL (0xffffe400, where 2.6.18 put it).
 */
#include <linux/linkage.h>

	.section .rodata.vsyscall, "a"
	.globl vsyscall_page
vsyscall_page:
ENTRY(__kernel_vsyscall)
	push %ecx
	push %edx
	push %ebp
.Lenter_kernel:
	movl %esp,%ebp
	sysenter
	/* a restarted system call re-enters through here (SYSENTER_RETURN-2) */
	.space 7,0x90
	jmp .Lenter_kernel
	.globl SYSENTER_RETURN
SYSENTER_RETURN:
	pop %ebp
	pop %edx
	pop %ecx
	ret
	.globl vsyscall_page_end
vsyscall_page_end:
