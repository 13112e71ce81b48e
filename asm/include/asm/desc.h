/*
 * asm/desc.h stand-in.  For assembly: the selectors, the size of the
 * per-CPU 16-bit stack the 2.6.18-2.6.19 espfix path switches to (its
 * last 8 bytes hold the far pointer back to the 32-bit stack), and
 * GET_DESC_BASE, with which the 2.6.20+ espfix path finds where its
 * 32-bit espfix segment starts.  For C (asm-offsets.c): the operand of
 * lgdt/sgdt, whose address field the 2.6.20-2.6.21 entry code reads.
 */
#ifndef _ENTRYEMU_ASM_DESC_H
#define _ENTRYEMU_ASM_DESC_H
#include <asm/segment.h>
#define CPU_16BIT_STACK_SIZE	1024

#ifdef __ASSEMBLY__
/*
 * GET_DESC_BASE(idx, table, base, base_w, base_lo, base_hi): the base
 * address of descriptor idx in the descriptor table at register table,
 * into register base; base_w, base_lo and base_hi name base's low word
 * and that word's low and high bytes.  A segment descriptor scatters
 * its base over bytes 2-3 (bits 0-15), byte 4 (bits 16-23) and byte 7
 * (bits 24-31) (Intel SDM vol. 3A, 3.4.5): the two high bytes go in
 * first and are shifted up, then the low word fills the bottom.
 */
#define GET_DESC_BASE(idx, table, base, base_w, base_lo, base_hi)	\
	movb ((idx) * 8 + 4)(table), base_lo;				\
	movb ((idx) * 8 + 7)(table), base_hi;				\
	shll $16, base;							\
	movw ((idx) * 8 + 2)(table), base_w;
#else
/* Pseudo-descriptor of lgdt/sgdt: a 16-bit limit, then the base. */
struct Xgt_desc_struct {
	unsigned short size;
	unsigned long address __attribute__((packed));
	unsigned short pad;
} __attribute__((packed));
#endif

#endif
