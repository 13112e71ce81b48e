/*
 * kernel_thread_helper: where kernel_thread() starts a new kernel thread.
 * The frame it leaves from has ebx = the thread function, edx = its
 * argument; the function's return value is the exit code.  2.6.18 has it
 * outside entry.S; from 2.6.19 entry.S defines it (entryemu's for the
 * families with the 32-bit espfix, which are newer), and an entry.S that
 * does is linked without this one (tools/own-entry.sh).
 */
#include <linux/linkage.h>

#ifndef CONFIG_X86_ESPFIX32
ENTRY(kernel_thread_helper)
	movl %edx,%eax
	pushl %edx
	call *%ebx
	pushl %eax
	call do_exit
#endif
