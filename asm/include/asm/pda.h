/*
 * asm/pda.h stand-in: the per-CPU data area 2.6.20 reaches through the
 * segment in GDT entry 27 (%gs; %fs in 2.6.21).  The entry code reads
 * only the CPU number (PDA_cpu); entryemu's one CPU is number 0, which
 * the zero-filled per-CPU area already says.
 */
#ifndef _ENTRYEMU_ASM_PDA_H
#define _ENTRYEMU_ASM_PDA_H
#ifndef __ASSEMBLY__
struct i386_pda {
	struct i386_pda *self;	/* the area's own linear address */
	int cpu_number;
	void *pcurrent;		/* the running task */
};
#endif
#endif
