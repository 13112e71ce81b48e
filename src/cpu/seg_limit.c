/*
 * Segment limits and types on data accesses: the #GP(0) and #SS(0)
 * Unicorn leaves out (QEMU's TCG checks neither).  SDM vol. 3A 5.3,
 * "Limit Checking": an access to an expand-up segment must lie within
 * offsets 0 .. limit; to an expand-down data segment within limit+1 ..
 * 0xFFFF, or .. 0xFFFFFFFF when B is set.  Vol. 3A 5.4 ("Type
 * Checking") and 6.15 (interrupt 13): #GP for "writing to a code
 * segment or a read-only data segment" and "reading from an
 * execute-only code segment".  Vol. 2,
 * every instruction with a memory operand, "Protected Mode Exceptions":
 * "#GP(0) If a memory operand effective address is outside the CS, DS,
 * ES, FS, or GS segment limit", "#GP(0) If the destination is located in
 * a non-writable segment", "#SS(0) If a memory operand effective address
 * is outside the SS segment limit" (PUSH, POP, CALL, RET, ... for the
 * stack itself).
 *
 * Linux's user segments are flat and its data segments writable, so a
 * run needs the check only once a descriptor CPL 3 could load has a
 * smaller limit, expands down or is read-only: a scenario's `gdt:`
 * edit, set_thread_area or modify_ldt (seg_limit_note()); or from the
 * first user block that holds an instruction with a CS override (whose
 * writes always fault) or runs with a code or read-only segment in DS or
 * ES (null_seg_block(), from the block hook).
 * From then on the per-instruction hook (inject.c) checks every access
 * at CPL 3.  The limit and type are read from the descriptor the
 * selector names now, not the CPU's hidden copy, which Unicorn does not
 * expose (as fault.c reads the base).
 */
#include "cpu/cpu.h"
#include "cpu/insn_size.h"
#include "cpu/desc.h"
#include "cpu/fault.h"
#include "cpu/insn_write.h"

#define TOP_16 0xffffu
#define TOP_32 0xffffffffu

/* Could CPL 3 load this descriptor into a data segment register or SS,
 * and would its limit then restrict accesses? */
static int user_limited(uint32_t lo, uint32_t hi)
{
	struct desc d;
	desc_decode(lo, hi, &d);
	if (!d.s || !d.p)
		return 0;
	int code = (d.type & 8) != 0;
	if (code && !(d.type & 2))
		return 0;			/* execute-only: never a data segment */
	if (d.dpl != 3 && !(code && (d.type & 4)))
		return 0;			/* DPL < 3, not conforming: CPL 3 cannot */
	/* expand-down, limited, or read-only data (code in a data segment
	 * register is null_seg_block()'s to notice) */
	return (!code && (!(d.type & 2) || (d.type & 4))) || d.limit != TOP_32;
}

void seg_limit_note(struct entryemu *m, uint32_t lo, uint32_t hi)
{
	if (m->cpu && user_limited(lo, hi))
		m->cpu->limit_watch = 1;
}

/*
 * Does an access to [off, off + size - 1] through the segment sreg holds
 * break its limit, or its type (a write to code or read-only data, a
 * read of execute-only code)?  A null selector is null_seg.c's #GP(0)
 * (and SS cannot hold one at CPL 3); a selector whose descriptor cannot
 * be read is left to the CPU.
 */
static int outside(struct entryemu *m, enum engine_reg sreg, uint32_t off, uint32_t size,
		   unsigned access)
{
	uint16_t sel = (uint16_t)engine_reg(m->eng, sreg);
	struct desc d;
	if (!(sel & 0xfffc) || desc_fetch(m, sel, &d) || !d.s)
		return 0;
	int code = (d.type & 8) != 0, readable_or_writable = (d.type & 2) != 0;
	if ((access & CS_AC_WRITE) && (code || !readable_or_writable))
		return 1;
	if ((access & CS_AC_READ) && code && !readable_or_writable)
		return 1;
	uint64_t last = (uint64_t)off + (size ? size : 1) - 1;
	if (!(d.type & 8) && (d.type & 4))	/* expand-down data */
		return off <= d.limit || last > (d.db ? TOP_32 : TOP_16);
	return d.limit != TOP_32 && last > d.limit;
}

static enum engine_reg sreg_engine(x86_reg r)
{
	switch (r) {
	case X86_REG_ES: return ER_ES;
	case X86_REG_CS: return ER_CS;
	case X86_REG_SS: return ER_SS;
	case X86_REG_FS: return ER_FS;
	case X86_REG_GS: return ER_GS;
	default: return ER_DS;
	}
}

static int gpr_engine(x86_reg r)
{
	static const struct { x86_reg cs; enum engine_reg er; } G[] = {
		{ X86_REG_EAX, ER_EAX }, { X86_REG_EBX, ER_EBX }, { X86_REG_ECX, ER_ECX },
		{ X86_REG_EDX, ER_EDX }, { X86_REG_ESI, ER_ESI }, { X86_REG_EDI, ER_EDI },
		{ X86_REG_EBP, ER_EBP }, { X86_REG_ESP, ER_ESP }, { X86_REG_BX, ER_BX },
		{ X86_REG_SI, ER_SI }, { X86_REG_DI, ER_DI }, { X86_REG_BP, ER_BP },
	};
	for (size_t i = 0; i < sizeof(G) / sizeof(G[0]); i++)
		if (G[i].cs == r)
			return (int)G[i].er;
	return -1;
}

/* An explicit memory operand: its offset (the effective address) and
 * segment (the override, else SS for an ESP/EBP base, else DS: vol. 1
 * 3.7.4, table 3-5). */
static int operand_outside(struct entryemu *m, const cs_insn *insn, int k, int code16,
			   enum engine_reg *sreg)
{
	const cs_x86 *x = &insn->detail->x86;
	const cs_x86_op *op = &x->operands[k];
	uint32_t ea = (uint32_t)op->mem.disp;
	int b = gpr_engine(op->mem.base), i = gpr_engine(op->mem.index);
	if (b >= 0)
		ea += machine_reg(m, (enum engine_reg)b);
	if (i >= 0)
		ea += machine_reg(m, (enum engine_reg)i) * (uint32_t)op->mem.scale;
	if (x->addr_size == 2)
		ea &= TOP_16;
	if (op->mem.segment != X86_REG_INVALID)
		*sreg = sreg_engine(op->mem.segment);
	else
		*sreg = (op->mem.base == X86_REG_ESP || op->mem.base == X86_REG_EBP ||
			 op->mem.base == X86_REG_SP || op->mem.base == X86_REG_BP) ? ER_SS : ER_DS;
	uint32_t size = op->size;
	if (x->opcode[0] == 0xc4 || x->opcode[0] == 0xc5 ||
	    (x->opcode[0] == 0x0f && (x->opcode[1] == 0xb2 || x->opcode[1] == 0xb4 ||
				      x->opcode[1] == 0xb5)))
		size = 2 + fault_operand_bytes(insn, code16);	/* LxS m16:16 or m16:32: Capstone
							 * gives the offset's size */
	return outside(m, *sreg, ea, size, insn_writes_operand(insn, k) ? CS_AC_WRITE : CS_AC_READ);
}

/* XLAT reads the byte at [EBX + AL] (BX with a 16-bit address size)
 * through DS or the segment override (vol. 2 XLAT); Capstone lists no
 * operand for it. */
static int xlat_outside(struct entryemu *m, const cs_x86 *x)
{
	static const struct { uint8_t prefix; enum engine_reg sreg; } O[] = {
		{ 0x26, ER_ES }, { 0x2e, ER_CS }, { 0x36, ER_SS }, { 0x64, ER_FS }, { 0x65, ER_GS },
	};
	enum engine_reg sreg = ER_DS;
	for (size_t i = 0; i < sizeof(O) / sizeof(O[0]); i++)
		if (x->prefix[1] == O[i].prefix)
			sreg = O[i].sreg;
	uint32_t ea = machine_reg(m, ER_EBX) + (machine_reg(m, ER_EAX) & 0xff);
	if (x->addr_size == 2)
		ea &= TOP_16;
	return outside(m, sreg, ea, 1, CS_AC_READ) ? (sreg == ER_SS ? VEC_SS : VEC_GP) : -1;
}

/*
 * The stack bytes an instruction reads or writes besides its explicit
 * operands, as offsets from the stack pointer: *below bytes under it
 * (pushes) or *above bytes from it on (pops).  The stack pointer is ESP,
 * or SP when SS's B flag is clear (vol. 3A 6.2.3).  Returns 0 when the
 * instruction touches no stack, 2 for LEAVE (it reads at EBP).
 */
static int stack_bytes(const cs_insn *insn, int code16, uint32_t *below, uint32_t *above)
{
	uint32_t w = fault_operand_bytes(insn, code16);
	*below = *above = 0;
	switch (insn->id) {
	case X86_INS_PUSH: case X86_INS_PUSHF: case X86_INS_PUSHFD:
	case X86_INS_CALL: case X86_INS_ENTER:
		*below = w; return 1;
	case X86_INS_LCALL: *below = 2 * w; return 1;
	case X86_INS_PUSHAL: *below = 32; return 1;
	case X86_INS_PUSHAW: *below = 16; return 1;
	case X86_INS_POP: case X86_INS_POPF: case X86_INS_POPFD: case X86_INS_RET:
		*above = w; return 1;
	case X86_INS_RETF: *above = 2 * w; return 1;
	case X86_INS_IRET: case X86_INS_IRETD: *above = 3 * w; return 1;	/* same level */
	case X86_INS_POPAL: *above = 32; return 1;
	case X86_INS_POPAW: *above = 16; return 1;
	case X86_INS_LEAVE: *above = w; return 2;
	default: return 0;
	}
}

static int stack_outside(struct entryemu *m, const cs_insn *insn, int code16)
{
	uint32_t below, above;
	int kind = stack_bytes(insn, code16, &below, &above);
	if (!kind)
		return 0;
	struct desc ss;
	uint16_t sel = (uint16_t)engine_reg(m->eng, ER_SS);
	uint32_t mask = desc_fetch(m, sel, &ss) == 0 && !ss.db ? TOP_16 : TOP_32;
	uint32_t sp = machine_reg(m, kind == 2 ? ER_EBP : ER_ESP);
	return below ? outside(m, ER_SS, (sp - below) & mask, below, CS_AC_WRITE)
		     : outside(m, ER_SS, sp & mask, above, CS_AC_READ);
}

/* A string instruction (MOVS, CMPS, STOS, LODS, SCAS, INS, OUTS)? */
static int is_string(const cs_x86 *x)
{
	uint8_t op = x->opcode[0];
	return (op >= 0xa4 && op <= 0xa7) || (op >= 0xaa && op <= 0xaf) ||
	       (op >= 0x6c && op <= 0x6f);
}

int seg_limit_fault(struct entryemu *m, uint32_t addr)
{
	if (!m->cpu->limit_watch)
		return -1;
	size_t avail = machine_avail(m, addr, 15);
	uint8_t *p = machine_ptr(m, addr, 1);
	unsigned traits;
	/* registers and immediates only (sized in the running block's mode): nothing to check */
	if (!p || (insn_length(p, avail, m->count ? m->count->cur.code16 : 0, &traits) &&
		   (traits & INSN_NO_MEMORY)))
		return -1;
	if (machine_cpl(m) != 3 || (machine_reg(m, ER_EFLAGS) & ENTRYEMU_EFLAGS_VM))
		return -1;
	cs_insn *insn = NULL;
	int code16 = machine_cs_16(m);
	if (cs_disasm(machine_user_cs(m, code16), p, avail, addr, 1, &insn) != 1)
		return -1;
	const cs_x86 *x = &insn->detail->x86;
	int vector = -1;
	/* REP with a zero count accesses nothing (vol. 2 REP) */
	int idle = is_string(x) && (x->prefix[0] == 0xf2 || x->prefix[0] == 0xf3) &&
		   !(machine_reg(m, ER_ECX) & (x->addr_size == 2 ? TOP_16 : TOP_32));
	if (insn->id != X86_INS_LEA && insn->id != X86_INS_NOP && !idle)
		for (int i = 0; i < x->op_count && vector < 0; i++) {
			enum engine_reg sreg;
			if (x->operands[i].type == X86_OP_MEM &&
			    operand_outside(m, insn, i, code16, &sreg))
				vector = sreg == ER_SS ? VEC_SS : VEC_GP;
		}
	if (vector < 0 && insn->id == X86_INS_XLATB)
		vector = xlat_outside(m, x);
	if (vector < 0 && stack_outside(m, insn, code16))
		vector = VEC_SS;
	cs_free(insn, 1);
	return vector;
}
