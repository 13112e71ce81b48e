/*
 * kernel_thread_helper: where kernel_thread() starts a new kernel thread.
 * The frame it leaves from has ebx = the thread function, edx = its
 * argument; the function's return value is the exit code.
 */
#include <linux/linkage.h>

ENTRY(kernel_thread_helper)
	movl %edx,%eax
	pushl %edx
	call *%ebx
	pushl %eax
	call do_exit
