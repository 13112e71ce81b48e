/*
 * The kernel C functions the entry code calls.  Each is a 4-byte slot in
 * the .callouts section holding a single "ret": the library watches this
 * section only, runs its C implementation when a slot is reached (with
 * the arguments in the registers and on the stack as the i386 kernel ABI
 * puts them), sets %eax and lets the ret return.  Slots are padded with
 * int3 so a jump into the middle of one traps.
 */
#include <linux/linkage.h>

#define CALLOUT(name)			\
	.globl name;			\
	.type name, @function;		\
	.p2align 2, 0xcc;		\
name:	ret;				\
	.size name, .-name

	.section .callouts, "ax"
	.p2align 12
	.globl __callouts_start
__callouts_start:

/* scheduler and return-to-user work */
CALLOUT(schedule)
CALLOUT(schedule_tail)
CALLOUT(preempt_schedule_irq)
CALLOUT(do_notify_resume)
CALLOUT(save_v86_state)
CALLOUT(do_syscall_trace)
CALLOUT(do_exit)

/* the function a kernel thread runs (scenarios start threads on it) */
CALLOUT(entryemu_thread_fn)

/* lockdep's view of the interrupt flag */
CALLOUT(trace_hardirqs_on)
CALLOUT(trace_hardirqs_off)

/* espfix: 16-bit stack segments (up to 2.6.19; 2.6.20 on) */
CALLOUT(setup_x86_bogus_stack)
CALLOUT(fixup_x86_bogus_stack)
CALLOUT(patch_espfix_desc)

/* interrupts and exceptions */
CALLOUT(do_IRQ)
CALLOUT(do_divide_error)
CALLOUT(do_debug)
CALLOUT(do_nmi)
CALLOUT(do_int3)
CALLOUT(do_overflow)
CALLOUT(do_bounds)
CALLOUT(do_invalid_op)
CALLOUT(math_state_restore)
CALLOUT(math_emulate)
CALLOUT(do_coprocessor_segment_overrun)
CALLOUT(do_invalid_TSS)
CALLOUT(do_segment_not_present)
CALLOUT(do_stack_segment)
CALLOUT(do_general_protection)
CALLOUT(do_page_fault)
CALLOUT(do_spurious_interrupt_bug)
CALLOUT(do_coprocessor_error)
CALLOUT(do_alignment_check)
CALLOUT(do_machine_check)
CALLOUT(do_simd_coprocessor_error)
CALLOUT(do_iret_error)

/* one slot per system call table entry */
	.p2align 2, 0xcc
	.globl sys_call_stubs
sys_call_stubs:
	.rept 318
	ret
	.p2align 2, 0xcc
	.endr

	.globl __callouts_end
__callouts_end:

/* machine_check jumps through this pointer, as the kernel's does */
	.data
	.globl machine_check_vector
	.p2align 2
machine_check_vector:
	.long do_machine_check
