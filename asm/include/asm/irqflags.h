/*
 * asm/irqflags.h stand-in.  Interrupt-flag operations are the native
 * instructions (no paravirt layer).  With CONFIG_TRACE_IRQFLAGS the
 * TRACE_IRQS_* hooks call the lockdep C functions, which entryemu serves
 * as callouts; they save the caller-clobbered registers around the call
 * because the entry code holds live values in them.
 */
#ifndef _ENTRYEMU_ASM_IRQFLAGS_H
#define _ENTRYEMU_ASM_IRQFLAGS_H
#ifdef __ASSEMBLY__

/*
 * From 2.6.20 the interrupt-flag operations take the registers a
 * paravirt replacement may clobber (CLBR_*); the native instruction
 * clobbers none, so the argument is dropped.  2.6.19's entry.S defines
 * argument-less forms itself: tools/own-entry.sh then defines
 * ENTRYEMU_ENTRY_OWN_IRQ_OPS so that these stay out of its way.
 */
#ifndef ENTRYEMU_ENTRY_OWN_IRQ_OPS
#define DISABLE_INTERRUPTS(clobbers)	cli
#define ENABLE_INTERRUPTS(clobbers)	sti
#endif
#define ENABLE_INTERRUPTS_SYSEXIT	sti; sysexit
#define INTERRUPT_RETURN		iret
#define GET_CR0_INTO_EAX		movl %cr0, %eax

#ifdef CONFIG_TRACE_IRQFLAGS
#include <asm/dwarf2.h>
/*
 * The saves shift the stack under the unwind table: each push and pop is
 * annotated, so that the CFA stays right at every instruction (the cfi
 * checker asks for it).  A kernel's own entry.S (tools/own-entry.sh)
 * gets ENTRYEMU_TRACE_IRQS_NO_CFI, the unannotated pushes of the
 * kernels' irqflags.h: its files use TRACE_IRQS_ON in .fixup, outside
 * any CFI procedure, where an annotation does not assemble.
 */
#ifdef ENTRYEMU_TRACE_IRQS_NO_CFI
#define TRACE_IRQS_CFI(n)
#else
#define TRACE_IRQS_CFI(n)		CFI_ADJUST_CFA_OFFSET n;
#endif
# define TRACE_IRQS_ON			\
	pushl %eax;			\
	TRACE_IRQS_CFI(4)		\
	pushl %ecx;			\
	TRACE_IRQS_CFI(4)		\
	pushl %edx;			\
	TRACE_IRQS_CFI(4)		\
	call trace_hardirqs_on;		\
	popl %edx;			\
	TRACE_IRQS_CFI(-4)		\
	popl %ecx;			\
	TRACE_IRQS_CFI(-4)		\
	popl %eax;			\
	TRACE_IRQS_CFI(-4)
# define TRACE_IRQS_OFF			\
	pushl %eax;			\
	TRACE_IRQS_CFI(4)		\
	pushl %ecx;			\
	TRACE_IRQS_CFI(4)		\
	pushl %edx;			\
	TRACE_IRQS_CFI(4)		\
	call trace_hardirqs_off;	\
	popl %edx;			\
	TRACE_IRQS_CFI(-4)		\
	popl %ecx;			\
	TRACE_IRQS_CFI(-4)		\
	popl %eax;			\
	TRACE_IRQS_CFI(-4)
#else
# define TRACE_IRQS_ON
# define TRACE_IRQS_OFF
#endif

#endif /* __ASSEMBLY__ */
#endif
