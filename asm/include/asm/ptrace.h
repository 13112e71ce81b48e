/*
 * struct pt_regs: the register frame the entry code builds on the kernel
 * stack.  This is the single definition of its layout; asm-offsets.c
 * turns it into the PT_* offsets the assembly uses, and the same offsets
 * are exported in the image for the library and its checks.
 *
 * With CONFIG_X86_PERCPU_GS (the seed's kernel) the user's %gs is saved
 * in xgs, after xes; without it (2.6.18) %gs is not part of the frame.
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
#ifdef CONFIG_X86_PERCPU_GS
	int  xgs;
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
