/*
 * Per-CPU data the entry code reads, for entryemu's one CPU (asm/percpu.h
 * finds a per-CPU variable at its link address).
 *
 *  - per_cpu__gdt_page: the GDT.  From 2.6.22 the kernel keeps each
 *    CPU's GDT as a per-CPU page and the espfix path reads ESPFIX_SS's
 *    base from it; the machine loads GDTR with this address and fills
 *    the table at boot, so the CPU and the entry code read one table.
 *  - per_cpu__cpu_gdt_descr: the operand lgdt took (limit, base), which
 *    2.6.20-2.6.21 read to find the GDT.
 */
#include <asm/segment.h>

	.data
	.p2align 3
	.globl per_cpu__gdt_page
per_cpu__gdt_page:
	.fill GDT_ENTRIES, 8, 0

	.p2align 2
	.globl per_cpu__cpu_gdt_descr
per_cpu__cpu_gdt_descr:
	.word GDT_SIZE - 1
	.long per_cpu__gdt_page
	.word 0
