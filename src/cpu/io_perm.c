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

#define EFLAGS_IOPL_SHIFT 12
#define TSS_IOMAP_BASE	102

/*
 * The port and width of the I/O instruction at linear addr: 1, 2 or 4
 * bytes, or 0 for another instruction.  The operand size is 32 bits in
 * the kernel's flat code segments and 16 in virtual-8086 mode, and a 0x66
 * prefix swaps them.
 */
static int io_access(struct entryemu *m, uint32_t addr, int vm86, uint32_t *port)
{
	uint8_t *p = machine_ptr(m, addr, 1);
	int opsize16 = vm86;
	for (int i = 0; p && i < 14 && (*p == 0x66 || *p == 0xf2 || *p == 0xf3 ||
					*p == 0x26 || *p == 0x2e || *p == 0x36 ||
					*p == 0x3e || *p == 0x64 || *p == 0x65 || *p == 0x67); i++) {
		opsize16 ^= *p == 0x66;
		p = machine_ptr(m, ++addr, 1);
	}
	if (!p)
		return 0;
	int wide = opsize16 ? 2 : 4;
	uint32_t dx = machine_reg(m, ER_EDX) & 0xffff;
	uint8_t *imm = machine_ptr(m, addr + 1, 1);
	switch (*p) {
	case 0xe4: case 0xe6:			/* in/out al, imm8 */
		if (!imm)
			return 0;
		*port = *imm;
		return 1;
	case 0xe5: case 0xe7:			/* in/out (e)ax, imm8 */
		if (!imm)
			return 0;
		*port = *imm;
		return wide;
	case 0xec: case 0xee: case 0x6c: case 0x6e:	/* al, dx; insb, outsb */
		*port = dx;
		return 1;
	case 0xed: case 0xef: case 0x6d: case 0x6f:	/* (e)ax, dx; insw/d, outsw/d */
		*port = dx;
		return wide;
	default:
		return 0;
	}
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
	uint32_t eflags = machine_reg(m, ER_EFLAGS), port = 0;
	int vm86 = (eflags & ENTRYEMU_EFLAGS_VM) != 0;
	if (!vm86 && (uint32_t)machine_cpl(m) <= ((eflags >> EFLAGS_IOPL_SHIFT) & 3))
		return 0;
	int len = io_access(m, addr, vm86, &port);
	return len && !iomap_allows(m, port, len);
}

/*
 * Could code hold an I/O instruction?  A byte scan: an immediate that
 * looks like one only costs the run the per-instruction check.
 */
int io_in_code(const uint8_t *code, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((code[i] >= 0xe4 && code[i] <= 0xe7) || (code[i] >= 0xec && code[i] <= 0xef) ||
		    (code[i] >= 0x6c && code[i] <= 0x6f))
			return 1;
	return 0;
}
