/*
 * The i386 kernel entry and exit path, as entryemu runs it.
 *
 * Four families of kernels are built from this file (asm/config-*.h):
 *
 *  - pre: 2.6.18 (and 2.6.19), which leaves %gs alone on entry and
 *    switches it at context switch;
 *  - post (CONFIG_X86_PERCPU_GS): the seed's kernel: every entry saves
 *    the user's %gs in pt_regs->xgs and loads __KERNEL_PERCPU for the
 *    kernel; every exit pops it back, an invalid user selector becoming
 *    0 through an __ex_table fixup; the sysexit path reloads %gs only
 *    after its last C call; error_code finds the handler address in the
 *    %gs slot;
 *  - pda (CONFIG_X86_PERCPU_GS and CONFIG_X86_ESPFIX32): 2.6.20, where
 *    that change was merged with the per-CPU area called the PDA:
 *    error_code saves the interrupted %gs with a push and stores it over
 *    the handler address as a 32-bit word, and the espfix path no longer
 *    copies the frame to a 16-bit stack but gives a 32-bit ESPFIX_SS a
 *    base (patch_espfix_desc) and stays on the kernel stack;
 *  - fs (CONFIG_X86_PERCPU_FS, CONFIG_X86_ESPFIX32): 2.6.21-2.6.22,
 *    which keep the per-CPU segment in %fs instead (pt_regs->xfs; %gs is
 *    the user's throughout), with 2.6.22's single-step test on the exit
 *    path.
 *
 * Labels and instruction sequences are the kernel's, so traces and
 * coverage read like the kernel source.  Every instruction that can fault
 * on a user-supplied value has its __ex_table entry next to it.
 *
 * Frame built on the kernel stack (struct pt_regs, offsets from
 * asm-offsets.c; the per-CPU register's slot, xgs or xfs, exists only in
 * the kernels that load one):
 *
 *	ebx ecx edx esi edi ebp eax ds es [gs|fs] orig_eax | eip cs eflags [esp ss]
 *	^ %esp after SAVE_ALL                             ^ pushed by the CPU
 *
 * The current thread_info pointer lives in %ebp on the slow paths.
 */

#include <linux/linkage.h>
#include <asm/thread_info.h>
#include <asm/irqflags.h>
#include <asm/errno.h>
#include <asm/segment.h>
#include <asm/smp.h>
#include <asm/page.h>
#include <asm/desc.h>
#include <asm/percpu.h>
#include <asm/dwarf2.h>
#include <asm/processor-flags.h>
#include "irq_vectors.h"

#define nr_syscalls ((syscall_table_size)/4)

#ifdef CONFIG_PREEMPT
#define preempt_stop		cli; TRACE_IRQS_OFF
#else
#define preempt_stop
#define resume_kernel		restore_nocheck
#endif

/* Tell lockdep interrupts come back on if the iret will enable them. */
.macro TRACE_IRQS_IRET
#ifdef CONFIG_TRACE_IRQFLAGS
	testl $IF_MASK,PT_EFLAGS(%esp)
	jz 1f
	TRACE_IRQS_ON
1:
#endif
.endm

#ifdef CONFIG_VM86
#define resume_userspace_sig	check_userspace
#else
#define resume_userspace_sig	resume_userspace
#endif

/*
 * PERCPU_REG is the segment register the kernel keeps its per-CPU
 * segment in, PT_PERCPU the pt_regs slot of the user's value of it.
 */
#if defined(CONFIG_X86_PERCPU_GS)
#define PERCPU_REG	%gs
#define PT_PERCPU	PT_GS
#elif defined(CONFIG_X86_PERCPU_FS)
#define PERCPU_REG	%fs
#define PT_PERCPU	PT_FS
#endif

/*
 * SAVE_ALL completes pt_regs below orig_eax, which the stub has pushed,
 * and switches the data segments to the kernel's.  Kernels with a
 * per-CPU register save it first (its slot sits above %es) and load the
 * per-CPU segment into it.
 */
#ifdef PERCPU_REG
#define SAVE_SEGMENT_GS		\
	pushl PERCPU_REG;	\
	CFI_ADJUST_CFA_OFFSET 4;
#define LOAD_KERNEL_GS(reg)	\
	movl $(__KERNEL_PERCPU), reg;	\
	movl reg, PERCPU_REG
#else
#define SAVE_SEGMENT_GS
#define LOAD_KERNEL_GS(reg)
#endif

#define SAVE_ALL \
	cld; \
	SAVE_SEGMENT_GS \
	pushl %es; \
	CFI_ADJUST_CFA_OFFSET 4;\
	pushl %ds; \
	CFI_ADJUST_CFA_OFFSET 4;\
	pushl %eax; \
	CFI_ADJUST_CFA_OFFSET 4;\
	CFI_REL_OFFSET eax, 0;\
	pushl %ebp; \
	CFI_ADJUST_CFA_OFFSET 4;\
	CFI_REL_OFFSET ebp, 0;\
	pushl %edi; \
	CFI_ADJUST_CFA_OFFSET 4;\
	CFI_REL_OFFSET edi, 0;\
	pushl %esi; \
	CFI_ADJUST_CFA_OFFSET 4;\
	CFI_REL_OFFSET esi, 0;\
	pushl %edx; \
	CFI_ADJUST_CFA_OFFSET 4;\
	CFI_REL_OFFSET edx, 0;\
	pushl %ecx; \
	CFI_ADJUST_CFA_OFFSET 4;\
	CFI_REL_OFFSET ecx, 0;\
	pushl %ebx; \
	CFI_ADJUST_CFA_OFFSET 4;\
	CFI_REL_OFFSET ebx, 0;\
	movl $(__USER_DS), %edx; \
	movl %edx, %ds; \
	movl %edx, %es; \
	LOAD_KERNEL_GS(%edx)

#define RESTORE_INT_REGS \
	popl %ebx;	\
	CFI_ADJUST_CFA_OFFSET -4;\
	CFI_RESTORE ebx;\
	popl %ecx;	\
	CFI_ADJUST_CFA_OFFSET -4;\
	CFI_RESTORE ecx;\
	popl %edx;	\
	CFI_ADJUST_CFA_OFFSET -4;\
	CFI_RESTORE edx;\
	popl %esi;	\
	CFI_ADJUST_CFA_OFFSET -4;\
	CFI_RESTORE esi;\
	popl %edi;	\
	CFI_ADJUST_CFA_OFFSET -4;\
	CFI_RESTORE edi;\
	popl %ebp;	\
	CFI_ADJUST_CFA_OFFSET -4;\
	CFI_RESTORE ebp;\
	popl %eax;	\
	CFI_ADJUST_CFA_OFFSET -4;\
	CFI_RESTORE eax

/*
 * The segment pops can fault: the saved selector is whatever user space
 * had, and its descriptor may have changed while we were in the kernel
 * (set_thread_area, modify_ldt).  Each fixup replaces the saved value by
 * the null selector and retries the pop, so the user gets 0 rather than
 * the kernel an oops.
 */
#ifdef PERCPU_REG
#define RESTORE_REGS	\
	RESTORE_INT_REGS; \
1:	popl %ds;	\
	CFI_ADJUST_CFA_OFFSET -4;\
2:	popl %es;	\
	CFI_ADJUST_CFA_OFFSET -4;\
3:	popl PERCPU_REG;	\
	CFI_ADJUST_CFA_OFFSET -4;\
.pushsection .fixup,"ax";	\
4:	movl $0,(%esp);	\
	jmp 1b;		\
5:	movl $0,(%esp);	\
	jmp 2b;		\
6:	movl $0,(%esp);	\
	jmp 3b;		\
.section __ex_table,"a";\
	.align 4;	\
	.long 1b,4b;	\
	.long 2b,5b;	\
	.long 3b,6b;	\
.popsection
#else
#define RESTORE_REGS	\
	RESTORE_INT_REGS; \
1:	popl %ds;	\
	CFI_ADJUST_CFA_OFFSET -4;\
2:	popl %es;	\
	CFI_ADJUST_CFA_OFFSET -4;\
.pushsection .fixup,"ax";	\
3:	movl $0,(%esp);	\
	jmp 1b;		\
4:	movl $0,(%esp);	\
	jmp 2b;		\
.section __ex_table,"a";\
	.align 4;	\
	.long 1b,3b;	\
	.long 2b,4b;	\
.popsection
#endif

/*
 * The CFA of an interrupt or exception frame is just above the EIP, CS
 * and EFLAGS the CPU pushed (and an error code below them); the return
 * address is the pushed EIP.
 */
#define RING0_INT_FRAME \
	CFI_STARTPROC simple;\
	CFI_DEF_CFA esp, 3*4;\
	CFI_OFFSET eip, -3*4

#define RING0_EC_FRAME \
	CFI_STARTPROC simple;\
	CFI_DEF_CFA esp, 4*4;\
	CFI_OFFSET eip, -3*4

#define RING0_PTREGS_FRAME \
	CFI_STARTPROC simple;\
	CFI_DEF_CFA esp, PT_OLDESP-PT_EBX;\
	CFI_OFFSET eip, PT_EIP-PT_OLDESP;\
	CFI_OFFSET eax, PT_EAX-PT_OLDESP;\
	CFI_OFFSET ebp, PT_EBP-PT_OLDESP;\
	CFI_OFFSET edi, PT_EDI-PT_OLDESP;\
	CFI_OFFSET esi, PT_ESI-PT_OLDESP;\
	CFI_OFFSET edx, PT_EDX-PT_OLDESP;\
	CFI_OFFSET ecx, PT_ECX-PT_OLDESP;\
	CFI_OFFSET ebx, PT_EBX-PT_OLDESP

/* A new task's first return: finish the switch, then leave like a syscall. */
ENTRY(ret_from_fork)
	CFI_STARTPROC
	pushl %eax
	CFI_ADJUST_CFA_OFFSET 4
	call schedule_tail
	GET_THREAD_INFO(%ebp)
	popl %eax
	CFI_ADJUST_CFA_OFFSET -4
	pushl $0x0202			# the new task starts with IF set, the
	popfl				# other flags clear
	jmp syscall_exit
	CFI_ENDPROC

/*
 * Return from an exception or interrupt: to user space through the work
 * checks, to the kernel directly (or through preemption).
 */
	ALIGN
	RING0_PTREGS_FRAME
ret_from_exception:
	preempt_stop
ret_from_intr:
	GET_THREAD_INFO(%ebp)
check_userspace:
	movl PT_EFLAGS(%esp), %eax	# mix EFLAGS.VM and the saved CPL
	movb PT_CS(%esp), %al
#ifdef CONFIG_X86_ESPFIX32
	andl $(VM_MASK | SEGMENT_RPL_MASK), %eax
	cmpl $USER_RPL, %eax
	jb resume_kernel		# neither vm86 nor ring 3
#else
	testl $(VM_MASK | 3), %eax
	jz resume_kernel
#endif
ENTRY(resume_userspace)
	cli				# no interrupt may set work between
					# this test and the iret
	movl TI_flags(%ebp), %ecx
	andl $_TIF_WORK_MASK, %ecx
	jne work_pending
	jmp restore_all

#ifdef CONFIG_PREEMPT
ENTRY(resume_kernel)
	cli
	cmpl $0,TI_preempt_count(%ebp)	# preemption disabled?
	jnz restore_nocheck
need_resched:
	movl TI_flags(%ebp), %ecx
	testb $_TIF_NEED_RESCHED, %cl
	jz restore_all
	testl $IF_MASK,PT_EFLAGS(%esp)	# interrupted code had irqs off?
	jz restore_all
	call preempt_schedule_irq
	jmp need_resched
#endif
	CFI_ENDPROC

/*
 * sysenter: the CPU loaded CS/SS from the SYSENTER_CS MSR and %esp from
 * SYSENTER_ESP (the end of the TSS) and pushed nothing.  User %ebp holds
 * the user stack pointer and %ecx/%edx are the vsyscall page's; the
 * return address is thread_info->sysenter_return.
 */
ENTRY(sysenter_entry)
	CFI_STARTPROC simple
	CFI_DEF_CFA esp, 0
	movl TSS_sysenter_esp0(%esp),%esp
sysenter_past_esp:
	/* irqs were disabled by sysenter and come back on at once */
	sti
	pushl $(__USER_DS)
	CFI_ADJUST_CFA_OFFSET 4
	pushl %ebp
	CFI_ADJUST_CFA_OFFSET 4
	pushfl
	CFI_ADJUST_CFA_OFFSET 4
	pushl $(__USER_CS)
	CFI_ADJUST_CFA_OFFSET 4
	/*
	 * thread_info->sysenter_return, addressed from %esp: four words
	 * pushed, and esp0 sits 8 bytes below the top of the stack.
	 */
	pushl (TI_sysenter_return-THREAD_SIZE+8+4*4)(%esp)
	CFI_ADJUST_CFA_OFFSET 4

	/* The sixth argument is on the user stack: check the pointer. */
	cmpl $__PAGE_OFFSET-3,%ebp
	jae syscall_fault
1:	movl (%ebp),%ebp
.pushsection __ex_table,"a"
	.align 4
	.long 1b,syscall_fault
.popsection

	pushl %eax
	CFI_ADJUST_CFA_OFFSET 4
	SAVE_ALL
	GET_THREAD_INFO(%ebp)

	/* _TIF_SECCOMP is bit 8: a byte test would miss it */
	testw $(_TIF_SYSCALL_EMU|_TIF_SYSCALL_TRACE|_TIF_SECCOMP|_TIF_SYSCALL_AUDIT),TI_flags(%ebp)
	jnz syscall_trace_entry
	cmpl $(nr_syscalls), %eax
	jae syscall_badsys
	call *sys_call_table(,%eax,4)
	movl %eax,PT_EAX(%esp)
	cli
	TRACE_IRQS_OFF
	movl TI_flags(%ebp), %ecx
	testw $_TIF_ALLWORK_MASK, %cx
	jne syscall_exit_work
	/* anything that changes the frame must also take the iret path */
	movl PT_EIP(%esp), %edx
	movl PT_OLDESP(%esp), %ecx
#if defined(PERCPU_REG) && !defined(CONFIG_X86_ESPFIX32)
	/*
	 * The user %gs goes back only after the last C call (the lockdep
	 * hook in TRACE_IRQS_ON): C code runs with the per-CPU %gs.
	 */
	TRACE_IRQS_ON
1:	mov  PT_GS(%esp), %gs
	xorl %ebp,%ebp
	ENABLE_INTERRUPTS_SYSEXIT
.pushsection .fixup,"ax"
2:	movl $0,PT_GS(%esp)
	jmp 1b
.section __ex_table,"a"
	.align 4
	.long 1b,2b
.popsection
#elif defined(PERCPU_REG)
	/* as merged: %ebp cleared first, the user's value back after the hook */
	xorl %ebp,%ebp
	TRACE_IRQS_ON
1:	mov  PT_PERCPU(%esp), PERCPU_REG
	ENABLE_INTERRUPTS_SYSEXIT
.pushsection .fixup,"ax"
2:	movl $0,PT_PERCPU(%esp)
	jmp 1b
.section __ex_table,"a"
	.align 4
	.long 1b,2b
.popsection
#else
	xorl %ebp,%ebp
	TRACE_IRQS_ON
	ENABLE_INTERRUPTS_SYSEXIT
#endif
	CFI_ENDPROC

/* int $0x80: the gate pushed the user's SS, ESP, EFLAGS, CS, EIP. */
ENTRY(system_call)
	RING0_INT_FRAME
	pushl %eax			# orig_eax: the syscall number
	CFI_ADJUST_CFA_OFFSET 4
	SAVE_ALL
	GET_THREAD_INFO(%ebp)
#ifndef CONFIG_X86_PERCPU_FS
	/* a trap gate kept TF: note it so the exit path single-steps on */
	testl $TF_MASK,PT_EFLAGS(%esp)
	jz no_singlestep
	orl $_TIF_SINGLESTEP,TI_flags(%ebp)
no_singlestep:
#endif
	/* _TIF_SECCOMP is bit 8: a byte test would miss it */
	testw $(_TIF_SYSCALL_EMU|_TIF_SYSCALL_TRACE|_TIF_SECCOMP|_TIF_SYSCALL_AUDIT),TI_flags(%ebp)
	jnz syscall_trace_entry
	cmpl $(nr_syscalls), %eax
	jae syscall_badsys
syscall_call:
	call *sys_call_table(,%eax,4)
	movl %eax,PT_EAX(%esp)		# the return value
syscall_exit:
	cli				# no interrupt may set work between
					# this test and the iret
	TRACE_IRQS_OFF
#ifdef CONFIG_X86_PERCPU_FS
	/*
	 * 2.6.22 tests TF here, on the way out, so that a flag set by the
	 * call itself (ptrace, sigreturn) also single-steps on.
	 */
	testl $TF_MASK,PT_EFLAGS(%esp)
	jz no_singlestep
	orl $_TIF_SINGLESTEP,TI_flags(%ebp)
no_singlestep:
#endif
	movl TI_flags(%ebp), %ecx
	testw $_TIF_ALLWORK_MASK, %cx
	jne syscall_exit_work

restore_all:
	/*
	 * Mix EFLAGS.VM, the TI bit of the saved SS and the saved CPL: a
	 * return to user space on an LDT stack segment may need espfix.
	 * The saved SS is stale when returning to the kernel, whose CPL
	 * bits rule that case out.
	 */
	movl PT_EFLAGS(%esp), %eax
	movb PT_OLDSS(%esp), %ah
	movb PT_CS(%esp), %al
	andl $(VM_MASK | (4 << 8) | 3), %eax
	cmpl $((4 << 8) | 3), %eax
	CFI_REMEMBER_STATE
	je ldt_ss
restore_nocheck:
	TRACE_IRQS_IRET
restore_nocheck_notrace:
	RESTORE_REGS
	addl $4, %esp			# drop orig_eax / the error code
	CFI_ADJUST_CFA_OFFSET -4
1:	INTERRUPT_RETURN
/*
 * iret faults on a bad CS or SS in the frame (or a non-canonical EIP for
 * the segment): report it as an exception from the user's context.
 */
.pushsection .fixup,"ax"
	/* back from the fault, on the frame the iret could not pop */
	RING0_INT_FRAME
iret_exc:
	TRACE_IRQS_ON
	sti
	pushl $0			# no error code
	CFI_ADJUST_CFA_OFFSET 4
	pushl $do_iret_error
	CFI_ADJUST_CFA_OFFSET 4
	jmp error_code
	CFI_ENDPROC
.section __ex_table,"a"
	.align 4
	.long 1b,iret_exc
.popsection

	CFI_RESTORE_STATE
ldt_ss:
	larl PT_OLDSS(%esp), %eax
	jnz restore_nocheck
	testl $0x00400000, %eax		# B bit: a 32-bit stack segment?
	jnz restore_nocheck
#ifdef CONFIG_X86_ESPFIX32
	/*
	 * iret to a 16-bit stack segment restores only the low half of
	 * ESP.  Give ESPFIX_SS a base such that the offset of this very
	 * frame shares its upper half with the user's ESP, switch to it,
	 * and leave through the ordinary exit: the iret then leaves the
	 * user's own upper half in ESP.  The exit's lockdep hook
	 * (TRACE_IRQS_IRET) runs on that stack: C code with a non-flat SS.
	 */
	movl PT_OLDESP(%esp), %eax	# user ESP
	movl %esp, %edx			# kernel ESP
	call patch_espfix_desc		# returns the offset in ESPFIX_SS
	pushl $__ESPFIX_SS
	CFI_ADJUST_CFA_OFFSET 4
	pushl %eax
	CFI_ADJUST_CFA_OFFSET 4
	cli
	TRACE_IRQS_OFF
	lss (%esp), %esp
	CFI_ADJUST_CFA_OFFSET -8
	jmp restore_nocheck
#else
	/*
	 * iret to a 16-bit stack segment restores only the low half of
	 * ESP, leaking the kernel's high half to user space.  Move the
	 * frame to the per-CPU 16-bit stack (ESPFIX_SS, whose base makes
	 * the high half come out right) and iret from there.
	 */
	subl $8, %esp			# room for the switch16 pointer
	CFI_ADJUST_CFA_OFFSET 8
	cli
	TRACE_IRQS_OFF
	movl %esp, %eax
	call setup_x86_bogus_stack
	CFI_ADJUST_CFA_OFFSET -8
	TRACE_IRQS_IRET
	RESTORE_REGS
	lss 20+4(%esp), %esp		# onto the 16-bit stack
1:	INTERRUPT_RETURN
.pushsection __ex_table,"a"
	.align 4
	.long 1b,iret_exc
.popsection
#endif
	CFI_ENDPROC

/* Work before returning to user space: reschedule, signals. */
	ALIGN
	RING0_PTREGS_FRAME
work_pending:
	testb $_TIF_NEED_RESCHED, %cl
	jz work_notifysig
work_resched:
	call schedule
	cli				# no interrupt may set work between
					# this test and the iret
	TRACE_IRQS_OFF
	movl TI_flags(%ebp), %ecx
	andl $_TIF_WORK_MASK, %ecx	# work other than syscall tracing?
	jz restore_all
	testb $_TIF_NEED_RESCHED, %cl
	jnz work_resched

work_notifysig:
	testl $VM_MASK, PT_EFLAGS(%esp)
	movl %esp, %eax
	jne work_notifysig_v86		# back to vm86 space
	xorl %edx, %edx
	call do_notify_resume
	jmp resume_userspace_sig

	ALIGN
work_notifysig_v86:
#ifdef CONFIG_VM86
	pushl %ecx			# ti_flags, for do_notify_resume
	CFI_ADJUST_CFA_OFFSET 4
	call save_v86_state		# %eax: pt_regs; returns the 32-bit frame
	popl %ecx
	CFI_ADJUST_CFA_OFFSET -4
	movl %eax, %esp
	xorl %edx, %edx
	call do_notify_resume
	jmp resume_userspace_sig
#endif

/* Syscall entry tracing: ptrace may skip or change the call. */
	ALIGN
syscall_trace_entry:
	movl $-ENOSYS,PT_EAX(%esp)
	movl %esp, %eax
	xorl %edx,%edx
	call do_syscall_trace
	cmpl $0, %eax
	jne resume_userspace		# PTRACE_SYSEMU: skip the call
	movl PT_ORIG_EAX(%esp), %eax
	cmpl $(nr_syscalls), %eax
	jnae syscall_call
	jmp syscall_exit

/* Syscall exit tracing, then the ordinary work checks. */
	ALIGN
syscall_exit_work:
	testb $(_TIF_SYSCALL_TRACE|_TIF_SYSCALL_AUDIT|_TIF_SINGLESTEP), %cl
	jz work_pending
	TRACE_IRQS_ON
	sti				# do_syscall_trace may schedule
	movl %esp, %eax
	movl $1, %edx
	call do_syscall_trace
	jmp resume_userspace
	CFI_ENDPROC

	RING0_INT_FRAME
/* The sixth sysenter argument was not readable: fail with -EFAULT. */
syscall_fault:
	pushl %eax			# orig_eax
	CFI_ADJUST_CFA_OFFSET 4
	SAVE_ALL
	GET_THREAD_INFO(%ebp)
	movl $-EFAULT,PT_EAX(%esp)
	jmp resume_userspace

syscall_badsys:
	movl $-ENOSYS,PT_EAX(%esp)
	jmp resume_userspace
	CFI_ENDPROC

#ifdef CONFIG_X86_ESPFIX32
/*
 * An exception or NMI taken while on the espfix stack: the frame is on
 * the kernel stack already, at ESPFIX_SS's base plus %esp.  Switch back
 * to __KERNEL_DS with that address; no copy.  No C code may run here (the
 * stack is not flat), so the base is read from the GDT the way the CPU
 * would, found through the per-CPU area (PDA_CPU_GDT_TO), which needs the
 * per-CPU register loaded.  Clobbers %eax and %ebx.
 */
#ifdef CONFIG_X86_PERCPU_GS
/* 2.6.20: the CPU number from the PDA, then that CPU's GDT descriptor */
#define PDA_CPU_GDT_TO(reg) \
	movl %gs:PDA_cpu, reg; \
	PER_CPU(cpu_gdt_descr, reg); \
	movl GDS_address(reg), reg
#else
/* 2.6.22: the GDT is itself a per-CPU page */
#define PDA_CPU_GDT_TO(reg) \
	PER_CPU(gdt_page, reg)
#endif
#define FIXUP_ESPFIX_STACK \
	PDA_CPU_GDT_TO(%ebx); \
	GET_DESC_BASE(GDT_ENTRY_ESPFIX_SS, %ebx, %eax, %ax, %al, %ah); \
	addl %esp, %eax; \
	pushl $__KERNEL_DS; \
	CFI_ADJUST_CFA_OFFSET 4; \
	pushl %eax; \
	CFI_ADJUST_CFA_OFFSET 4; \
	lss (%esp), %esp; \
	CFI_ADJUST_CFA_OFFSET -8;
/* error_code has saved %eax, %ebx and the per-CPU register already */
#define UNWIND_ESPFIX_STACK \
	movl %ss, %eax; \
	cmpw $__ESPFIX_SS, %ax; \
	jne 27f; \
	movl $__KERNEL_DS, %eax; \
	movl %eax, %ds; \
	movl %eax, %es; \
	FIXUP_ESPFIX_STACK; \
27:;
#else
/*
 * An exception taken while on the 16-bit espfix stack: copy the frame
 * back to the 32-bit kernel stack the far pointer at the top of the
 * 16-bit stack names, and continue there.
 */
#define FIXUP_ESPFIX_STACK \
	movl %esp, %eax; \
	lss %ss:CPU_16BIT_STACK_SIZE-8, %esp; \
	call fixup_x86_bogus_stack; \
	movl %eax, %esp;

#ifdef CONFIG_X86_PERCPU_GS
/*
 * error_code has saved %eax in pt_regs already: use it freely.  (The seed
 * dropped the push and pop of %eax here but kept their CFA adjustments,
 * which put the CFA 4 bytes high across the test; the cfi checker
 * reports that, mutant seed-espfix-stale-cfi.)
 */
#define UNWIND_ESPFIX_STACK \
	movl %ss, %eax; \
	cmp $__ESPFIX_SS, %eax; \
	je 28f; \
27:; \
.pushsection .fixup,"ax"; \
28:	movl $__KERNEL_DS, %eax; \
	movl %eax, %ds; \
	movl %eax, %es; \
	FIXUP_ESPFIX_STACK; \
	jmp 27b; \
.popsection
#else
#define UNWIND_ESPFIX_STACK \
	pushl %eax; \
	CFI_ADJUST_CFA_OFFSET 4; \
	movl %ss, %eax; \
	cmpw $__ESPFIX_SS, %ax; \
	je 28f; \
27:	popl %eax; \
	CFI_ADJUST_CFA_OFFSET -4; \
.pushsection .fixup,"ax"; \
28:	movl $__KERNEL_DS, %eax; \
	movl %eax, %ds; \
	movl %eax, %es; \
	FIXUP_ESPFIX_STACK; \
	jmp 27b; \
.popsection
#endif
#endif /* CONFIG_X86_ESPFIX32 */

/*
 * Hardware interrupt stubs: each pushes ~irq (negative, so orig_eax can
 * never be mistaken for a syscall number) and joins common_interrupt.
 * The stub addresses go into the interrupt[] table the IDT is built from.
 */
.data
ENTRY(interrupt)
.text

vector=0
ENTRY(irq_entries_start)
	RING0_INT_FRAME
.rept NR_IRQS
	ALIGN
 .if vector
	CFI_ADJUST_CFA_OFFSET -4
 .endif
1:	pushl $~(vector)
	CFI_ADJUST_CFA_OFFSET 4
	jmp common_interrupt
.data
	.long 1b
.text
vector=vector+1
.endr

	/* an interrupt gate cleared IF: tell lockdep */
	ALIGN
common_interrupt:
	SAVE_ALL
	TRACE_IRQS_OFF
	movl %esp,%eax
	call do_IRQ
	jmp ret_from_intr
	CFI_ENDPROC

#include "entry_arch.h"

/*
 * Where the per-CPU register has its own slot (the seed's %gs, 2.6.20's
 * merged version), error_code pushes the rest of pt_regs below the
 * handler address and the error code its stub left, as SAVE_ALL would
 * without the segment loads.
 */
#define PUSH_ERROR_CODE_FRAME \
	pushl %es; CFI_ADJUST_CFA_OFFSET 4; \
	pushl %ds; CFI_ADJUST_CFA_OFFSET 4; \
	pushl %eax; CFI_ADJUST_CFA_OFFSET 4; \
	pushl %ebp; CFI_ADJUST_CFA_OFFSET 4; \
	pushl %edi; CFI_ADJUST_CFA_OFFSET 4; \
	pushl %esi; CFI_ADJUST_CFA_OFFSET 4; \
	pushl %edx; CFI_ADJUST_CFA_OFFSET 4; \
	pushl %ecx; CFI_ADJUST_CFA_OFFSET 4; \
	pushl %ebx; CFI_ADJUST_CFA_OFFSET 4; \
	cld

/*
 * Exception stubs.  Those for exceptions without an error code push 0 in
 * its place; every stub then pushes its C handler and joins error_code,
 * which completes pt_regs around those two words.
 */
ENTRY(divide_error)
	RING0_INT_FRAME
	pushl $0			# no error code
	CFI_ADJUST_CFA_OFFSET 4
	pushl $do_divide_error
	CFI_ADJUST_CFA_OFFSET 4
	ALIGN
error_code:
#if defined(PERCPU_REG) && defined(CONFIG_X86_ESPFIX32)
	/*
	 * As merged (2.6.20 on): the handler address sits in the per-CPU
	 * register's slot, the error code in orig_eax's.  The interrupted
	 * value of the register is pushed and the per-CPU segment loaded
	 * before the espfix check, which reads the GDT through it; the
	 * saved value then goes over the handler address as a 32-bit word.
	 */
	PUSH_ERROR_CODE_FRAME
	pushl PERCPU_REG
	CFI_ADJUST_CFA_OFFSET 4
	movl $(__KERNEL_PERCPU), %ecx
	movl %ecx, PERCPU_REG
	UNWIND_ESPFIX_STACK
	popl %ecx			# the interrupted value
	CFI_ADJUST_CFA_OFFSET -4
	movl PT_PERCPU(%esp), %edi	# the handler
	movl PT_ORIG_EAX(%esp), %edx	# the error code
	movl $-1, PT_ORIG_EAX(%esp)	# not a syscall: nothing to restart
	mov  %ecx, PT_PERCPU(%esp)
	movl $(__USER_DS), %ecx
	movl %ecx, %ds
	movl %ecx, %es
#elif defined(CONFIG_X86_PERCPU_GS)
	/*
	 * The handler address sits in the %gs slot, the error code in the
	 * orig_eax slot: push the rest of pt_regs below them.
	 */
	PUSH_ERROR_CODE_FRAME
	UNWIND_ESPFIX_STACK
	movl PT_GS(%esp), %edi		# the handler
	movl PT_ORIG_EAX(%esp), %edx	# the error code
	movl $-1, PT_ORIG_EAX(%esp)	# not a syscall: nothing to restart
	mov  %gs, PT_GS(%esp)		# the interrupted %gs takes its slot
	movl $(__USER_DS), %ecx
	movl %ecx, %ds
	movl %ecx, %es
	movl $(__KERNEL_PERCPU), %ecx
	movl %ecx, %gs
#else
	/*
	 * The handler address sits in the %es slot, the error code in the
	 * orig_eax slot: push the rest of pt_regs below them, then put %es
	 * where the handler was.
	 */
	pushl %ds
	CFI_ADJUST_CFA_OFFSET 4
	pushl %eax
	CFI_ADJUST_CFA_OFFSET 4
	xorl %eax, %eax
	pushl %ebp
	CFI_ADJUST_CFA_OFFSET 4
	pushl %edi
	CFI_ADJUST_CFA_OFFSET 4
	pushl %esi
	CFI_ADJUST_CFA_OFFSET 4
	pushl %edx
	CFI_ADJUST_CFA_OFFSET 4
	decl %eax			# eax = -1
	pushl %ecx
	CFI_ADJUST_CFA_OFFSET 4
	pushl %ebx
	CFI_ADJUST_CFA_OFFSET 4
	cld
	pushl %es
	CFI_ADJUST_CFA_OFFSET 4
	UNWIND_ESPFIX_STACK
	popl %ecx
	CFI_ADJUST_CFA_OFFSET -4
	movl PT_ES(%esp), %edi		# the handler
	movl PT_ORIG_EAX(%esp), %edx	# the error code
	movl %eax, PT_ORIG_EAX(%esp)	# -1: nothing to restart
	movl %ecx, PT_ES(%esp)
	movl $(__USER_DS), %ecx
	movl %ecx, %ds
	movl %ecx, %es
#endif
	movl %esp,%eax			# pt_regs pointer
	call *%edi
	jmp ret_from_exception
	CFI_ENDPROC

ENTRY(coprocessor_error)
	RING0_INT_FRAME
	pushl $0
	CFI_ADJUST_CFA_OFFSET 4
	pushl $do_coprocessor_error
	CFI_ADJUST_CFA_OFFSET 4
	jmp error_code
	CFI_ENDPROC

ENTRY(simd_coprocessor_error)
	RING0_INT_FRAME
	pushl $0
	CFI_ADJUST_CFA_OFFSET 4
	pushl $do_simd_coprocessor_error
	CFI_ADJUST_CFA_OFFSET 4
	jmp error_code
	CFI_ENDPROC

/* #NM: restore the FPU state, or emulate when CR0.EM says so. */
ENTRY(device_not_available)
	RING0_INT_FRAME
	pushl $-1			# not a syscall
	CFI_ADJUST_CFA_OFFSET 4
	SAVE_ALL
	movl %cr0, %eax
	testl $0x4, %eax		# CR0.EM
	jne device_not_available_emulate
	preempt_stop
	call math_state_restore
	jmp ret_from_exception
device_not_available_emulate:
	pushl $0			# room for the emulator's saved EIP
	CFI_ADJUST_CFA_OFFSET 4
	call math_emulate
	addl $4, %esp
	CFI_ADJUST_CFA_OFFSET -4
	jmp ret_from_exception
	CFI_ENDPROC

/*
 * #DB and NMI can arrive on the one instruction of sysenter_entry that
 * still runs on the tiny sysenter stack.  Then the handler moves to the
 * real kernel stack and rebuilds the three words the CPU pushed, as if
 * the event had hit sysenter_past_esp.  offset is how far the pushed
 * words put %esp below the sysenter stack's end.
 */
#define FIX_STACK(offset, ok, label)		\
	cmpw $__KERNEL_CS,4(%esp);		\
	jne ok;					\
label:						\
	movl TSS_sysenter_esp0+offset(%esp),%esp;	\
	CFI_DEF_CFA esp, 0;			\
	pushfl;					\
	CFI_ADJUST_CFA_OFFSET 4;		\
	pushl $__KERNEL_CS;			\
	CFI_ADJUST_CFA_OFFSET 4;		\
	pushl $sysenter_past_esp;		\
	CFI_ADJUST_CFA_OFFSET 4

KPROBE_ENTRY(debug)
	RING0_INT_FRAME
	cmpl $sysenter_entry,(%esp)
	jne debug_stack_correct
	FIX_STACK(12, debug_stack_correct, debug_esp_fix_insn)
debug_stack_correct:
	pushl $-1			# not a syscall
	CFI_ADJUST_CFA_OFFSET 4
	SAVE_ALL
	xorl %edx,%edx			# error code 0
	movl %esp,%eax			# pt_regs pointer
	call do_debug
	jmp ret_from_exception
	CFI_ENDPROC
	.popsection

/*
 * NMI can also interrupt the #DB handler before it fixed the sysenter
 * stack, or code running on the 16-bit espfix stack.
 */
ENTRY(nmi)
	RING0_INT_FRAME
	pushl %eax
	CFI_ADJUST_CFA_OFFSET 4
	movl %ss, %eax
	cmpw $__ESPFIX_SS, %ax
	popl %eax
	CFI_ADJUST_CFA_OFFSET -4
#ifdef CONFIG_X86_ESPFIX32
	je nmi_espfix_stack
#else
	je nmi_16bit_stack
#endif
	cmpl $sysenter_entry,(%esp)
	je nmi_stack_fixup
	pushl %eax
	CFI_ADJUST_CFA_OFFSET 4
	movl %esp,%eax
	/* never read above the end of the stack page */
	andl $(THREAD_SIZE-1),%eax
	cmpl $(THREAD_SIZE-20),%eax
	popl %eax
	CFI_ADJUST_CFA_OFFSET -4
	jae nmi_stack_correct
	cmpl $sysenter_entry,12(%esp)
	je nmi_debug_stack_check
nmi_stack_correct:
	pushl %eax
	CFI_ADJUST_CFA_OFFSET 4
	SAVE_ALL
	xorl %edx,%edx			# error code 0
	movl %esp,%eax			# pt_regs pointer
	call do_nmi
	jmp restore_nocheck_notrace
	CFI_ENDPROC

	/* both on the NMI's own frame, as at nmi */
	RING0_INT_FRAME
nmi_stack_fixup:
	FIX_STACK(12,nmi_stack_correct, 1)
	jmp nmi_stack_correct
	CFI_ENDPROC

	RING0_INT_FRAME
nmi_debug_stack_check:
	cmpw $__KERNEL_CS,16(%esp)
	jne nmi_stack_correct
	cmpl $debug,(%esp)
	jb nmi_stack_correct
	cmpl $debug_esp_fix_insn,(%esp)
	ja nmi_stack_correct
	FIX_STACK(24,nmi_stack_correct, 1)
	jmp nmi_stack_correct
	CFI_ENDPROC

#ifdef CONFIG_X86_ESPFIX32
nmi_espfix_stack:
	RING0_INT_FRAME
	/* a far pointer back to the espfix stack, for the final lss */
	pushl %ss
	CFI_ADJUST_CFA_OFFSET 4
	pushl %esp
	CFI_ADJUST_CFA_OFFSET 4
	addw $4, (%esp)
	/* copy the 3-word iret frame below it */
	.rept 3
	pushl 16(%esp)
	CFI_ADJUST_CFA_OFFSET 4
	.endr
	pushl %eax
	CFI_ADJUST_CFA_OFFSET 4
	SAVE_ALL
	FIXUP_ESPFIX_STACK		# back on the kernel stack, flat;
					# %eax == %esp: the pt_regs pointer
	xorl %edx,%edx			# error code 0
	call do_nmi
	RESTORE_REGS
	lss 12+4(%esp), %esp		# back onto the espfix stack
	CFI_ADJUST_CFA_OFFSET -24
1:	INTERRUPT_RETURN
	CFI_ENDPROC
.pushsection __ex_table,"a"
	.align 4
	.long 1b,iret_exc
.popsection
#else
nmi_16bit_stack:
	RING0_INT_FRAME
	/* a far pointer back to this 16-bit stack, for the final lss */
	pushl %ss
	CFI_ADJUST_CFA_OFFSET 4
	pushl %esp
	CFI_ADJUST_CFA_OFFSET 4
	movzwl %sp, %esp
	addw $4, (%esp)
	/* copy the 3-word iret frame below it */
	.rept 3
	pushl 16(%esp)
	CFI_ADJUST_CFA_OFFSET 4
	.endr
	pushl %eax
	CFI_ADJUST_CFA_OFFSET 4
	SAVE_ALL
	FIXUP_ESPFIX_STACK		# %eax == %esp
	CFI_ADJUST_CFA_OFFSET -20	# the frame moved
	xorl %edx,%edx			# error code 0
	call do_nmi
	RESTORE_REGS
	lss 12+4(%esp), %esp		# back onto the 16-bit stack
1:	INTERRUPT_RETURN
	CFI_ENDPROC
.pushsection __ex_table,"a"
	.align 4
	.long 1b,iret_exc
.popsection
#endif

KPROBE_ENTRY(int3)
	RING0_INT_FRAME
	pushl $-1			# not a syscall
	CFI_ADJUST_CFA_OFFSET 4
	SAVE_ALL
	xorl %edx,%edx			# error code 0
	movl %esp,%eax			# pt_regs pointer
	call do_int3
	jmp ret_from_exception
	CFI_ENDPROC
	.popsection

ENTRY(overflow)
	RING0_INT_FRAME
	pushl $0
	CFI_ADJUST_CFA_OFFSET 4
	pushl $do_overflow
	CFI_ADJUST_CFA_OFFSET 4
	jmp error_code
	CFI_ENDPROC

ENTRY(bounds)
	RING0_INT_FRAME
	pushl $0
	CFI_ADJUST_CFA_OFFSET 4
	pushl $do_bounds
	CFI_ADJUST_CFA_OFFSET 4
	jmp error_code
	CFI_ENDPROC

ENTRY(invalid_op)
	RING0_INT_FRAME
	pushl $0
	CFI_ADJUST_CFA_OFFSET 4
	pushl $do_invalid_op
	CFI_ADJUST_CFA_OFFSET 4
	jmp error_code
	CFI_ENDPROC

ENTRY(coprocessor_segment_overrun)
	RING0_INT_FRAME
	pushl $0
	CFI_ADJUST_CFA_OFFSET 4
	pushl $do_coprocessor_segment_overrun
	CFI_ADJUST_CFA_OFFSET 4
	jmp error_code
	CFI_ENDPROC

/* The CPU pushed an error code for these: only the handler is pushed. */
ENTRY(invalid_TSS)
	RING0_EC_FRAME
	pushl $do_invalid_TSS
	CFI_ADJUST_CFA_OFFSET 4
	jmp error_code
	CFI_ENDPROC

ENTRY(segment_not_present)
	RING0_EC_FRAME
	pushl $do_segment_not_present
	CFI_ADJUST_CFA_OFFSET 4
	jmp error_code
	CFI_ENDPROC

ENTRY(stack_segment)
	RING0_EC_FRAME
	pushl $do_stack_segment
	CFI_ADJUST_CFA_OFFSET 4
	jmp error_code
	CFI_ENDPROC

KPROBE_ENTRY(general_protection)
	RING0_EC_FRAME
	pushl $do_general_protection
	CFI_ADJUST_CFA_OFFSET 4
	jmp error_code
	CFI_ENDPROC
	.popsection

ENTRY(alignment_check)
	RING0_EC_FRAME
	pushl $do_alignment_check
	CFI_ADJUST_CFA_OFFSET 4
	jmp error_code
	CFI_ENDPROC

KPROBE_ENTRY(page_fault)
	RING0_EC_FRAME
	pushl $do_page_fault
	CFI_ADJUST_CFA_OFFSET 4
	jmp error_code
	CFI_ENDPROC
	.popsection

#ifdef CONFIG_X86_MCE
ENTRY(machine_check)
	RING0_INT_FRAME
	pushl $0
	CFI_ADJUST_CFA_OFFSET 4
	pushl machine_check_vector
	CFI_ADJUST_CFA_OFFSET 4
	jmp error_code
	CFI_ENDPROC
#endif

ENTRY(spurious_interrupt_bug)
	RING0_INT_FRAME
	pushl $0
	CFI_ADJUST_CFA_OFFSET 4
	pushl $do_spurious_interrupt_bug
	CFI_ADJUST_CFA_OFFSET 4
	jmp error_code
	CFI_ENDPROC

#ifdef CONFIG_X86_ESPFIX32
/*
 * Where kernel_thread() starts a new kernel thread (ebx = the function,
 * edx = its argument; the result is the exit code).  From 2.6.19 it
 * lives here, and starts by pushing a zero where an unwinder looks for a
 * return address, so that the thread's call chain ends at it.  The older
 * families take asm/process.S's.
 */
ENTRY(kernel_thread_helper)
	pushl $0			# the end of the call chain
	CFI_STARTPROC
	movl %edx,%eax
	pushl %edx
	CFI_ADJUST_CFA_OFFSET 4
	call *%ebx
	pushl %eax
	CFI_ADJUST_CFA_OFFSET 4
	call do_exit
	CFI_ENDPROC
ENDPROC(kernel_thread_helper)
#endif

.section .rodata,"a"
#include "syscall_table.S"

syscall_table_size=(.-sys_call_table)
