/*
 * struct pt_regs: the register frame the entry code builds on the kernel
 * stack.  This is the single definition of its layout; asm-offsets.c
 * turns it into the PT_* offsets the assembly uses, and the same offsets
 * are exported in the image for the library and its checks.
 *
 * The slot after xes holds the user's value of the register the kernel
 * keeps its per-CPU segment in: xgs with CONFIG_X86_PERCPU_GS (the
 * seed's kernel, 2.6.20), xfs with CONFIG_X86_PERCPU_FS (2.6.21-2.6.23);
 * without either (2.6.18-2.6.19) neither register is part of the frame.
 */
#ifndef _ENTRYEMU_ASM_PTRACE_H
#define _ENTRYEMU_ASM_PTRACE_H

#ifndef __ASSEMBLY__
struct pt_regs {
	long ebx;
	long ecx;
	long edx;
	long esi;
	long edi;
	long ebp;
	long eax;
	int  xds;
	int  xes;
#if defined(CONFIG_X86_PERCPU_GS)
	int  xgs;
#elif defined(CONFIG_X86_PERCPU_FS)
	int  xfs;
#endif
	long orig_eax;		/* syscall number, or -1 / error code */
	long eip;
	int  xcs;
	long eflags;
	long esp;		/* only valid for frames from ring 3 or vm86 */
	int  xss;
};
#endif

#endif
