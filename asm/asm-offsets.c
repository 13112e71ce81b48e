/*
 * Generates asm/asm-offsets.h: every structure offset the entry assembly
 * uses, computed by the 32-bit compiler from the C structures, so that the
 * assembly, the image's exported layout and the library's checks share one
 * definition.  Compiled with -m32 -S; each DEFINE leaves a "->NAME value"
 * marker line in the assembly output, which gen-asm-offsets.sh turns into
 * #defines.
 */
#include <stddef.h>
#include <asm/ptrace.h>
#include <asm/thread_info.h>
#include <asm/processor.h>
#include <asm/desc.h>
#include <asm/pda.h>

#if defined(CONFIG_X86_PERCPU_GS) && defined(CONFIG_X86_PERCPU_FS)
#error "the per-CPU segment is in %gs or in %fs, not both"
#endif

#define DEFINE(sym, val) \
	asm volatile("\n->" #sym " %0 " #val : : "i" (val))
#define OFFSET(sym, str, mem)	DEFINE(sym, offsetof(struct str, mem))
#define BLANK()			asm volatile("\n->" : : )

/*
 * The frame the seed documents at the top of entry.S: ebx at 0, the
 * segment slots after eax, orig_eax then the hardware frame.  A layout
 * change that breaks it fails the build here rather than in a run.
 */
_Static_assert(offsetof(struct pt_regs, ebx) == 0x00, "pt_regs.ebx");
_Static_assert(offsetof(struct pt_regs, eax) == 0x18, "pt_regs.eax");
_Static_assert(offsetof(struct pt_regs, xds) == 0x1C, "pt_regs.xds");
_Static_assert(offsetof(struct pt_regs, xes) == 0x20, "pt_regs.xes");
#if defined(CONFIG_X86_PERCPU_GS)
_Static_assert(offsetof(struct pt_regs, xgs) == 0x24, "pt_regs.xgs");
#elif defined(CONFIG_X86_PERCPU_FS)
_Static_assert(offsetof(struct pt_regs, xfs) == 0x24, "pt_regs.xfs");
#endif
#if defined(CONFIG_X86_PERCPU_GS) || defined(CONFIG_X86_PERCPU_FS)
_Static_assert(offsetof(struct pt_regs, orig_eax) == 0x28, "pt_regs.orig_eax");
_Static_assert(offsetof(struct pt_regs, xss) == 0x3C, "pt_regs.xss");
#else
_Static_assert(offsetof(struct pt_regs, orig_eax) == 0x24, "pt_regs.orig_eax");
_Static_assert(offsetof(struct pt_regs, xss) == 0x38, "pt_regs.xss");
#endif

void foo(void);
void foo(void)
{
	OFFSET(PT_EBX, pt_regs, ebx);
	OFFSET(PT_ECX, pt_regs, ecx);
	OFFSET(PT_EDX, pt_regs, edx);
	OFFSET(PT_ESI, pt_regs, esi);
	OFFSET(PT_EDI, pt_regs, edi);
	OFFSET(PT_EBP, pt_regs, ebp);
	OFFSET(PT_EAX, pt_regs, eax);
	OFFSET(PT_DS, pt_regs, xds);
	OFFSET(PT_ES, pt_regs, xes);
#if defined(CONFIG_X86_PERCPU_GS)
	OFFSET(PT_GS, pt_regs, xgs);
#elif defined(CONFIG_X86_PERCPU_FS)
	OFFSET(PT_FS, pt_regs, xfs);
#endif
	OFFSET(PT_ORIG_EAX, pt_regs, orig_eax);
	OFFSET(PT_EIP, pt_regs, eip);
	OFFSET(PT_CS, pt_regs, xcs);
	OFFSET(PT_EFLAGS, pt_regs, eflags);
	OFFSET(PT_OLDESP, pt_regs, esp);
	OFFSET(PT_OLDSS, pt_regs, xss);
	DEFINE(PT_SIZE, sizeof(struct pt_regs));
	BLANK();

	OFFSET(TI_task, thread_info, task);
	OFFSET(TI_exec_domain, thread_info, exec_domain);
	OFFSET(TI_flags, thread_info, flags);
	OFFSET(TI_status, thread_info, status);
	OFFSET(TI_cpu, thread_info, cpu);
	OFFSET(TI_preempt_count, thread_info, preempt_count);
	OFFSET(TI_addr_limit, thread_info, addr_limit);
	OFFSET(TI_sysenter_return, thread_info, sysenter_return);
	DEFINE(TI_SIZE, sizeof(struct thread_info));
	BLANK();

	/*
	 * sysenter starts with %esp at the end of the tss_struct; the entry
	 * code reaches esp0 with a negative offset from there.
	 */
	OFFSET(TSS_esp0, tss_struct, x86_tss.esp0);
	OFFSET(TSS_ss0, tss_struct, x86_tss.ss0);
	DEFINE(TSS_sysenter_esp0,
	       offsetof(struct tss_struct, x86_tss.esp0) - sizeof(struct tss_struct));
	DEFINE(TSS_SIZE, sizeof(struct tss_struct));
	BLANK();

	DEFINE(PAGE_SIZE_asm, PAGE_SIZE);
	BLANK();

	/* the 2.6.20-2.6.21 espfix path: CPU number, then its GDT's address */
	OFFSET(PDA_cpu, i386_pda, cpu_number);
	OFFSET(GDS_size, Xgt_desc_struct, size);
	OFFSET(GDS_address, Xgt_desc_struct, address);
}
