/*
 * linux/linkage.h stand-in: symbol definition helpers for the entry
 * assembly.  i386 without CONFIG_X86_ALIGNMENT_16 aligns code labels to
 * 4 bytes, padded with nops so fall-through paths stay executable.
 */
#ifndef _ENTRYEMU_LINUX_LINKAGE_H
#define _ENTRYEMU_LINUX_LINKAGE_H

#ifdef __ASSEMBLY__

#define __ALIGN		.align 4,0x90
#define ALIGN		__ALIGN

#define ENTRY(name)	\
	.globl name;	\
	ALIGN;		\
	name:

#define END(name)	.size name, .-name
#define ENDPROC(name)	\
	.type name, @function;	\
	END(name)

/*
 * Kprobe-protected entry points live in their own section on a real
 * kernel; here the section only needs to exist and be linked as text.
 * Entry code returns to .text with ".previous .text" after such a stub.
 */
#define KPROBE_ENTRY(name)	\
	.pushsection .kprobes.text, "ax";	\
	ENTRY(name)

/*
 * From 2.6.19 each such stub ends with KPROBE_END, which closes the
 * symbol and goes back to the section the stub interrupted; 2.6.18
 * wrote ".previous .text" instead, which also works with the push above.
 */
#define KPROBE_END(name)	\
	END(name);		\
	.popsection

#endif /* __ASSEMBLY__ */
#endif
