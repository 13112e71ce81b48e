/*
 * The image describes itself: the generated offsets are exported as
 * absolute symbols, so the library reads the pt_regs, thread_info and TSS
 * layout of whichever image it loads (post-patch, pre-patch, or one
 * built from another entry.S against these headers) instead of assuming
 * one.  PT_GS or PT_FS is exported only by kernels that save that
 * register.
 *
 * Two properties of the kernel go with the layout:
 *  - PERCPU_SEG, the segment register that holds the per-CPU segment
 *    (__KERNEL_PERCPU) while the kernel runs, in the encoding of the
 *    instruction set's segment-register field (Intel SDM vol. 2, table
 *    "Segment Register (sreg) field": 4 = %fs, 5 = %gs), or 0 when the
 *    kernel keeps no per-CPU segment loaded (2.6.18-2.6.19; 0 is %es,
 *    which is never per-CPU);
 *  - ESPFIX_32, 1 when the espfix path moves to a 32-bit, 4 KiB-granular
 *    ESPFIX_SS whose base patch_espfix_desc sets (2.6.20 on), 0 when it
 *    copies the frame to a 16-bit, byte-granular per-CPU stack (2.6.18-
 *    2.6.19 and the seed).
 */
#include <asm/asm-offsets.h>
#include <asm/thread_info.h>
#include <asm/segment.h>

#define EXPORT_LAYOUT(sym)		\
	.globl entryemu_layout_##sym;	\
	.set entryemu_layout_##sym, sym

EXPORT_LAYOUT(PT_EBX)
EXPORT_LAYOUT(PT_ECX)
EXPORT_LAYOUT(PT_EDX)
EXPORT_LAYOUT(PT_ESI)
EXPORT_LAYOUT(PT_EDI)
EXPORT_LAYOUT(PT_EBP)
EXPORT_LAYOUT(PT_EAX)
EXPORT_LAYOUT(PT_DS)
EXPORT_LAYOUT(PT_ES)
#ifdef PT_GS
EXPORT_LAYOUT(PT_GS)
#endif
#ifdef PT_FS
EXPORT_LAYOUT(PT_FS)
#endif
EXPORT_LAYOUT(PT_ORIG_EAX)
EXPORT_LAYOUT(PT_EIP)
EXPORT_LAYOUT(PT_CS)
EXPORT_LAYOUT(PT_EFLAGS)
EXPORT_LAYOUT(PT_OLDESP)
EXPORT_LAYOUT(PT_OLDSS)
EXPORT_LAYOUT(PT_SIZE)
EXPORT_LAYOUT(TI_flags)
EXPORT_LAYOUT(TI_preempt_count)
EXPORT_LAYOUT(TI_addr_limit)
EXPORT_LAYOUT(TI_sysenter_return)
EXPORT_LAYOUT(TI_SIZE)
EXPORT_LAYOUT(TSS_esp0)
EXPORT_LAYOUT(TSS_ss0)
EXPORT_LAYOUT(TSS_SIZE)
EXPORT_LAYOUT(THREAD_SIZE)

#if defined(CONFIG_X86_PERCPU_GS)
#define PERCPU_SEG	5
#elif defined(CONFIG_X86_PERCPU_FS)
#define PERCPU_SEG	4
#else
#define PERCPU_SEG	0
#endif
EXPORT_LAYOUT(PERCPU_SEG)

#ifdef CONFIG_X86_ESPFIX32
#define ESPFIX_32	1
#else
#define ESPFIX_32	0
#endif
EXPORT_LAYOUT(ESPFIX_32)
