/*
 * asm/percpu.h stand-in, for assembly.  entryemu models one CPU, so a
 * per-CPU variable is the one copy at its link address: PER_CPU(var, reg)
 * puts that address in reg, whatever CPU number reg held before (the
 * kernels' uniprocessor form).  The variables the entry code reaches
 * this way (the GDT descriptor in 2.6.20-2.6.21, the GDT page from
 * 2.6.22) are defined in asm/percpu.S.
 */
#ifndef _ENTRYEMU_ASM_PERCPU_H
#define _ENTRYEMU_ASM_PERCPU_H
#ifdef __ASSEMBLY__
#define PER_CPU(var, reg)	movl $per_cpu__##var, reg
#define PER_CPU_VAR(var)	per_cpu__##var
#endif
#endif
