/*
 * The oracle layer: a run of the library, repeated on qemu-system-i386
 * in lockstep and compared at every point the run's stream reports.
 *
 *   layout.c   where the machine's regions sit in QEMU's physical memory,
 *              the page tables that put them at their linear addresses,
 *              the boot block the stub (asm/oracle-boot.S) loads
 *   qemu.c     the QEMU process; gdbwire.c its gdbstub
 *   oracle.c   the lockstep: QEMU runs to its next stop at each event of
 *              the run, and the two sides are compared there
 */
#ifndef ENTRYEMU_ORACLE_ORACLE_H
#define ENTRYEMU_ORACLE_ORACLE_H

#include <entryemu/oracle.h>

#include "cpu/cpu.h"
#include "kernel/kernel.h"
#include "oracle/qemu.h"

/* Physical memory of the QEMU guest (asm/oracle-boot.S uses the first). */
#define PH_BOOT_BLOCK	0x180000u
#define PH_STUB_LO	0x100000u	/* identity-mapped, supervisor only */
#define PH_STUB_HI	0x200000u
#define PH_PD		0x200000u	/* page directory, then page tables */
#define PH_PT		0x201000u
#define PH_PT_MAX	64u
#define PH_REGIONS	0x400000u	/* the machine's regions, page by page */
#define PH_APIC		0xfee00000u	/* local APIC (mapped for the stub) */

/* Boot block offsets (asm/oracle-boot.S BB_*). */
enum {
	BB_CR3 = 0, BB_CR4 = 4, BB_GDTR = 8, BB_IDTR = 16, BB_LDTR = 24, BB_TR = 28,
	BB_KCS = 32, BB_KDS = 40, BB_MSR174 = 44, BB_MSR175 = 48, BB_MSR176 = 52,
	BB_EOI = 56, BB_SIZE = 60,
};

struct oregion {
	uint32_t lin, size, phys;	/* linear range and where QEMU has it */
	const uint8_t *host;		/* the library's copy */
};

/* layout.c */
unsigned layout_regions(struct entryemu *m, struct oregion *out, unsigned max);
/* The page directory and tables for the regions, written into mem. */
int layout_page_tables(uint8_t *mem, const struct oregion *r, unsigned n);
/* Physical address of linear lin, or 0 if no region holds it. */
uint32_t layout_phys(const struct oregion *r, unsigned n, uint32_t lin);

#endif
