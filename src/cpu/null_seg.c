/*
 * Null selectors on data accesses: the #GP(0) Unicorn leaves out (QEMU's
 * TCG does not check them).  SDM vol. 2, MOV and every instruction with
 * a memory operand, "Protected Mode Exceptions": "#GP(0) If the DS, ES,
 * FS, or GS register is used to access memory and it contains a NULL
 * segment selector."  A null selector may be loaded (vol. 3 5.4.1); only
 * its use faults.  That is what the seed's fixups lead to: a %ds, %es or
 * %gs whose descriptor went bad comes back 0, and the task's next access
 * through it is #GP(0), SIGSEGV, where the library used to let it read on.
 *
 * The check needs a look at every instruction (inject.c's hook), which a
 * run pays only once it is needed: from the start when the user code has
 * an FS or GS override (those registers are null in most tasks), and
 * from the first user block that runs with a null DS or ES (after a
 * fixup), which the block hook notices, or once a segment with a limit
 * that matters can be loaded (seg_limit.c).
 */
#include "cpu/cpu.h"
#include "cpu/fault.h"

static enum engine_reg engine_seg(x86_reg r)
{
	switch (r) {
	case X86_REG_ES: return ER_ES;
	case X86_REG_FS: return ER_FS;
	case X86_REG_GS: return ER_GS;
	case X86_REG_SS: return ER_SS;
	case X86_REG_CS: return ER_CS;
	default: return ER_DS;
	}
}

/* The segment register a memory operand goes through (vol. 1 3.7.4). */
static enum engine_reg operand_seg(const cs_x86_op *op)
{
	if (op->mem.segment != X86_REG_INVALID)
		return engine_seg(op->mem.segment);
	if (op->mem.base == X86_REG_ESP || op->mem.base == X86_REG_EBP ||
	    op->mem.base == X86_REG_SP || op->mem.base == X86_REG_BP)
		return ER_SS;
	return ER_DS;
}

/*
 * Can the instruction at addr reach memory through a null selector at
 * all?  Only through DS or ES, which most instructions with a memory
 * operand use, or through an FS or GS override prefix.  So with DS and
 * ES not null, an instruction without the prefix of a null FS or GS
 * cannot fault, and needs no decode (this runs before every user
 * instruction, and a decode costs more than the four selectors).
 */
static int may_use_null(struct entryemu *m, uint32_t addr)
{
	static const enum engine_reg ids[] = { ER_DS, ER_ES, ER_FS, ER_GS };
	uint32_t sel[4];
	engine_regs(m->eng, ids, sel, 4);
	if (!(sel[0] & 0xfffc) || !(sel[1] & 0xfffc))
		return 1;
	int fs_null = !(sel[2] & 0xfffc), gs_null = !(sel[3] & 0xfffc);
	if (!fs_null && !gs_null)
		return 0;
	size_t avail = machine_avail(m, addr, 15);
	const uint8_t *p = avail ? machine_ptr(m, addr, 1) : NULL;
	for (size_t i = 0; p && i < avail && fault_legacy_prefix(p[i]); i++)
		if ((p[i] == 0x64 && fs_null) || (p[i] == 0x65 && gs_null))
			return 1;
	return 0;
}

int null_seg_fault(struct entryemu *m, uint32_t addr)
{
	if (!m->cpu->null_watch || !may_use_null(m, addr) || machine_cpl(m) != 3 ||
	    (machine_reg(m, ER_EFLAGS) & ENTRYEMU_EFLAGS_VM))
		return 0;
	uint8_t *p = machine_ptr(m, addr, 1);
	size_t avail = machine_avail(m, addr, 15);
	cs_insn *insn = NULL;
	if (!p || cs_disasm(m->cs, p, avail, addr, 1, &insn) != 1)
		return 0;
	int fault = 0;
	const cs_x86 *x = &insn->detail->x86;
	if (insn->id != X86_INS_LEA && insn->id != X86_INS_NOP)
		for (int i = 0; i < x->op_count && !fault; i++) {
			if (x->operands[i].type != X86_OP_MEM)
				continue;
			enum engine_reg r = operand_seg(&x->operands[i]);
			fault = r != ER_SS && r != ER_CS && !(engine_reg(m->eng, r) & 0xfffc);
		}
	cs_free(insn, 1);
	return fault;
}

int null_seg_block(struct entryemu *m, uint32_t addr)
{
	if (m->cpu->null_watch || (addr >= PAGE_OFFSET && addr < VSYSCALL_PAGE))
		return 0;		/* watching already, or kernel code */
	/* (seg_limit.c's check, once a limit matters, needs the same look) */
	if ((engine_reg(m->eng, ER_DS) & 0xfffc) && (engine_reg(m->eng, ER_ES) & 0xfffc) &&
	    !m->cpu->limit_watch)
		return 0;
	if (machine_reg(m, ER_EFLAGS) & ENTRYEMU_EFLAGS_VM)
		return 0;		/* real-mode segments: no null selector */
	m->cpu->null_watch = 1;
	return 1;
}

int seg_override_in_code(const uint8_t *code, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (code[i] == 0x64 || code[i] == 0x65)
			return 1;
	return 0;
}
