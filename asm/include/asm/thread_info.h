/*
 * asm/thread_info.h stand-in.  thread_info sits at the bottom of the
 * task's THREAD_SIZE kernel stack, so the entry code finds it by masking
 * %esp.  Field order follows the 2.6.18 kernel, which the TI_* offsets
 * the entry code uses depend on.
 */
#ifndef _ENTRYEMU_ASM_THREAD_INFO_H
#define _ENTRYEMU_ASM_THREAD_INFO_H

#include <asm/page.h>

#define THREAD_SIZE		8192

#define TIF_SYSCALL_TRACE	0	/* syscall trace active */
#define TIF_NOTIFY_RESUME	1	/* resumption notification requested */
#define TIF_SIGPENDING		2	/* signal pending */
#define TIF_NEED_RESCHED	3	/* rescheduling necessary */
#define TIF_SINGLESTEP		4	/* restore singlestep on return to user mode */
#define TIF_IRET		5	/* return with iret */
#define TIF_SYSCALL_EMU		6	/* syscall emulation active */
#define TIF_SYSCALL_AUDIT	7	/* syscall auditing active */
#define TIF_SECCOMP		8	/* secure computing */
#define TIF_RESTORE_SIGMASK	9	/* restore signal mask in do_signal() */
#define TIF_POLLING_NRFLAG	16	/* true if poll_idle() is polling TIF_NEED_RESCHED */
#define TIF_MEMDIE		17

#define _TIF_SYSCALL_TRACE	(1 << TIF_SYSCALL_TRACE)
#define _TIF_NOTIFY_RESUME	(1 << TIF_NOTIFY_RESUME)
#define _TIF_SIGPENDING		(1 << TIF_SIGPENDING)
#define _TIF_NEED_RESCHED	(1 << TIF_NEED_RESCHED)
#define _TIF_SINGLESTEP		(1 << TIF_SINGLESTEP)
#define _TIF_IRET		(1 << TIF_IRET)
#define _TIF_SYSCALL_EMU	(1 << TIF_SYSCALL_EMU)
#define _TIF_SYSCALL_AUDIT	(1 << TIF_SYSCALL_AUDIT)
#define _TIF_SECCOMP		(1 << TIF_SECCOMP)
#define _TIF_RESTORE_SIGMASK	(1 << TIF_RESTORE_SIGMASK)
#define _TIF_POLLING_NRFLAG	(1 << TIF_POLLING_NRFLAG)

/* work to do on interrupt/exception return */
#define _TIF_WORK_MASK \
	(0x0000FFFF & ~(_TIF_SYSCALL_TRACE | _TIF_SYSCALL_AUDIT | \
			_TIF_SECCOMP | _TIF_SYSCALL_EMU))
/* work to do on any return to user space */
#define _TIF_ALLWORK_MASK	(0x0000FFFF & ~_TIF_SECCOMP)

#ifndef __ASSEMBLY__
struct restart_block_stub {
	long fn;
	unsigned long arg0, arg1, arg2, arg3;
};

struct thread_info {
	void			*task;
	void			*exec_domain;
	unsigned long		flags;		/* TIF_* bits */
	unsigned long		status;
	unsigned int		cpu;
	int			preempt_count;	/* 0 => preemptable */
	unsigned long		addr_limit;
	void			*sysenter_return;
	struct restart_block_stub restart_block;
	unsigned long		previous_esp;
	unsigned char		supervisor_stack[0];
};
#else
#include <asm/asm-offsets.h>

/* thread_info is at the base of the stack %esp points into. */
#define GET_THREAD_INFO(reg) \
	movl $-THREAD_SIZE, reg; \
	andl %esp, reg
#endif

#endif
