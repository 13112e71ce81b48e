/*
 * I/O permission: the #GP(0) of IN, INS, OUT and OUTS that Unicorn 2.0.1
 * leaves out (it runs them at any CPL, whatever IOPL and the TSS say).
 *
 * SDM vol. 1 19.5 (18.5 in older editions), "Protected-Mode I/O": in
 * protected mode an I/O instruction with CPL > IOPL, and in virtual-8086
 * mode any I/O instruction, is allowed only if the I/O permission bit map
 * in the TSS clears the bit of every port it accesses (19.5.2, "I/O
 * Permission Bit Map": the map starts at the 16-bit offset at TSS byte
 * 102; the processor reads the two bytes that hold the first port's bit,
 * and a read beyond the TSS limit means no permission).  Otherwise #GP(0)
 * (vol. 2 IN/INS/OUT/OUTS, "Protected Mode Exceptions").  2.6.18 gives a
 * task without ioperm() an invalid map offset, so every port is refused.
 */
#include "cpu/cpu.h"
#include "cpu/desc.h"
#include "cpu/fault.h"

#define EFLAGS_IOPL_SHIFT 12
#define TSS_IOMAP_BASE	102

/* The opcodes of IN, INS, OUT and OUTS (vol. 2). */
static int io_opcode(uint8_t b)
{
	return (b >= 0xe4 && b <= 0xe7) || (b >= 0xec && b <= 0xef) || (b >= 0x6c && b <= 0x6f);
}

/*
 * The port and width of the I/O instruction at linear addr: 1 for a byte,
 * 2 for a word or doubleword (*swap then says whether a 0x66 prefix
 * swaps the operand size), or 0 for another instruction.  No engine
 * read for those: this runs before every user instruction.
 */
static int io_access(struct entryemu *m, uint32_t addr, uint32_t *port, int *swap)
{
	uint8_t *p = machine_ptr(m, addr, 1);
	*swap = 0;
	for (int i = 0; p && i < 14 && fault_legacy_prefix(*p) && *p != 0xf0; i++) {
		*swap ^= *p == 0x66;
		p = machine_ptr(m, ++addr, 1);
	}
	if (!p || !io_opcode(*p))
		return 0;
	int wide = (*p & 1) ? 2 : 1;
	if (*p == 0xe4 || *p == 0xe5 || *p == 0xe6 || *p == 0xe7) {	/* imm8 port */
		uint8_t *imm = machine_ptr(m, addr + 1, 1);
		if (!imm)
			return 0;
		*port = *imm;
	} else {						/* port in DX */
		*port = machine_reg(m, ER_EDX) & 0xffff;
	}
	return wide;
}

/* Does the TSS's I/O permission bit map allow len bytes from port? */
static int iomap_allows(struct entryemu *m, uint32_t port, int len)
{
	struct engine_table_reg tr;
	int ok = 1;
	if (engine_table(m->eng, ET_TR, &tr))
		return 0;
	uint32_t word = machine_rd32(m, tr.base + TSS_IOMAP_BASE - 2, &ok) >> 16;
	uint32_t at = word + port / 8;
	if (!ok || at + 1 > tr.limit)		/* both bytes within the limit */
		return 0;
	uint32_t bits = machine_rd32(m, tr.base + at, &ok) & 0xffff;
	uint32_t mask = ((1u << len) - 1) << (port & 7);
	return ok && !(bits & mask);
}

int io_permission_fault(struct entryemu *m, uint32_t addr)
{
	uint32_t port = 0;
	int swap;
	/* the bytes first: reading EFLAGS and CS from the engine costs more */
	int len = io_access(m, addr, &port, &swap);
	if (!len)
		return 0;
	uint32_t eflags = machine_reg(m, ER_EFLAGS);
	int vm86 = (eflags & ENTRYEMU_EFLAGS_VM) != 0;
	if (!vm86 && (uint32_t)machine_cpl(m) <= ((eflags >> EFLAGS_IOPL_SHIFT) & 3))
		return 0;
	/* 32-bit operands in the kernel's flat code segments, 16 in vm86 */
	if (len == 2)
		len = vm86 ^ swap ? 2 : 4;
	return !iomap_allows(m, port, len);
}

/*
 * Could code hold an I/O instruction?  A byte scan: an immediate that
 * looks like one only costs the run the per-instruction check.
 */
int io_in_code(const uint8_t *code, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (io_opcode(code[i]))
			return 1;
	return 0;
}
