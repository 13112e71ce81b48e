/*
 * asm/processor.h stand-in: the TSS.  The hardware part is what the CPU
 * reads on a privilege change (ss0:esp0); the kernel's tss_struct adds an
 * I/O bitmap terminator and the small stack sysenter starts on, which
 * ends at the end of the structure (SYSENTER_ESP points there).
 */
#ifndef _ENTRYEMU_ASM_PROCESSOR_H
#define _ENTRYEMU_ASM_PROCESSOR_H

#ifndef __ASSEMBLY__
struct i386_hw_tss {
	unsigned short	back_link, __blh;
	unsigned long	esp0;
	unsigned short	ss0, __ss0h;
	unsigned long	esp1;
	unsigned short	ss1, __ss1h;
	unsigned long	esp2;
	unsigned short	ss2, __ss2h;
	unsigned long	__cr3;
	unsigned long	eip;
	unsigned long	eflags;
	unsigned long	eax, ecx, edx, ebx;
	unsigned long	esp;
	unsigned long	ebp;
	unsigned long	esi;
	unsigned long	edi;
	unsigned short	es, __esh;
	unsigned short	cs, __csh;
	unsigned short	ss, __ssh;
	unsigned short	ds, __dsh;
	unsigned short	fs, __fsh;
	unsigned short	gs, __gsh;
	unsigned short	ldt, __ldth;
	unsigned short	trace, io_bitmap_base;
} __attribute__((packed));

#define SYSENTER_STACK_LONGS	64

struct tss_struct {
	struct i386_hw_tss x86_tss;
	unsigned long	io_bitmap_end;	/* all-ones terminator: no I/O ports */
	unsigned long	stack[SYSENTER_STACK_LONGS];
} __attribute__((packed));
#endif

#endif
