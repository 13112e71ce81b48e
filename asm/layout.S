/*
 * The image describes itself: the generated offsets are exported as
 * absolute symbols, so the library reads the pt_regs, thread_info and TSS
 * layout of whichever image it loads (post-patch, pre-patch, or one
 * built from another entry.S against these headers) instead of assuming
 * one.  PT_GS is exported only by kernels that save %gs.
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
