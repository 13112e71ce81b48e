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
#include "cpu/desc.h"
#include "cpu/fault.h"

#include <string.h>

/* The segment register a memory operand goes through (vol. 1 3.7.4), as
 * a bit of struct seg_use's mask; 0 for SS and CS, which are never null
 * at CPL 3. */
static unsigned operand_seg(const cs_x86_op *op)
{
	switch (op->mem.segment) {
	case X86_REG_INVALID: break;
	case X86_REG_DS: return 1;
	case X86_REG_ES: return 2;
	case X86_REG_FS: return 4;
	case X86_REG_GS: return 8;
	default: return 0;
	}
	if (op->mem.base == X86_REG_ESP || op->mem.base == X86_REG_EBP ||
	    op->mem.base == X86_REG_SP || op->mem.base == X86_REG_BP)
		return 0;
	return 1;
}

/*
 * The data segments the memory operands of the instruction at addr go
 * through (the bytes from p on, avail of them), decoded once per
 * instruction: a fuzzer or a loop runs the same code run after run, and
 * a decode costs some thousand host instructions.
 */
static unsigned operand_segs(struct entryemu *m, uint32_t addr, const uint8_t *p, size_t avail)
{
	struct seg_use *c = &m->seg_uses[(addr * 2654435761u) >> (32 - SEG_USE_CACHE_BITS)];
	int code16 = machine_cs_16(m);
	if (c->len && c->addr == addr && c->code16 == code16 && c->len <= avail &&
	    !memcmp(c->bytes, p, c->len))
		return c->segs;
	cs_insn *insn = NULL;
	if (cs_disasm(machine_user_cs(m, code16), p, avail, addr, 1, &insn) != 1)
		return 0;
	unsigned segs = 0;
	const cs_x86 *x = &insn->detail->x86;
	if (insn->id != X86_INS_LEA && insn->id != X86_INS_NOP)
		for (int i = 0; i < x->op_count; i++)
			if (x->operands[i].type == X86_OP_MEM)
				segs |= operand_seg(&x->operands[i]);
	c->addr = addr;
	c->code16 = (uint8_t)code16;
	c->len = (uint8_t)insn->size;
	c->segs = (uint8_t)segs;
	memcpy(c->bytes, p, insn->size);
	cs_free(insn, 1);
	return segs;
}

/*
 * Can the instruction at addr reach memory through a null selector?
 * Only through DS or ES, which most instructions with a memory operand
 * use, or through an FS or GS override prefix.  So with DS and ES not
 * null, an instruction without the prefix of a null FS or GS cannot
 * fault, and needs no decode (this runs before every user instruction).
 */
int null_seg_fault(struct entryemu *m, uint32_t addr)
{
	if (!m->cpu->null_watch)
		return 0;
	static const enum engine_reg ids[] = { ER_DS, ER_ES, ER_FS, ER_GS };
	uint32_t sel[4];
	unsigned null = 0;
	engine_regs(m->eng, ids, sel, 4);
	for (int i = 0; i < 4; i++)
		null |= !(sel[i] & 0xfffc) << i;
	if (!null)
		return 0;
	size_t avail = machine_avail(m, addr, 15);
	const uint8_t *p = avail ? machine_ptr(m, addr, 1) : NULL;
	if (!p)
		return 0;
	if (!(null & 3)) {		/* only FS or GS null: their prefixes */
		size_t i = 0;
		while (i < avail && fault_legacy_prefix(p[i]) &&
		       !(p[i] == 0x64 && (null & 4)) && !(p[i] == 0x65 && (null & 8)))
			i++;
		if (i == avail || !fault_legacy_prefix(p[i]))
			return 0;
	}
	if (machine_cpl(m) != 3 || (machine_reg(m, ER_EFLAGS) & ENTRYEMU_EFLAGS_VM))
		return 0;
	return (operand_segs(m, addr, p, avail) & null) != 0;
}

/* Is sel null, the user data segment, or another writable data segment? */
static int writable_or_null(struct entryemu *m, uint16_t sel)
{
	struct desc d;
	if (!(sel & 0xfffc) || (sel & 0xfffc) == (ENTRYEMU_USER_DS & 0xfffc))
		return 1;
	return desc_fetch(m, sel, &d) || !d.s || (!(d.type & 8) && (d.type & 2));
}

int null_seg_block(struct entryemu *m, uint32_t addr, int cs_override, int loads16)
{
	if (addr >= PAGE_OFFSET && addr < VSYSCALL_PAGE)
		return 0;		/* kernel code */
	uint16_t ds = (uint16_t)engine_reg(m->eng, ER_DS), es = (uint16_t)engine_reg(m->eng, ER_ES);
	if (m->cpu->null_watch) {
		/*
		 * Every user instruction is looked at already, but the type
		 * check is seg_limit.c's, armed by the first block that needs
		 * it (below): a later one, reached by a jump or after a load of
		 * DS or ES, needs it as much.
		 */
		if (!m->cpu->limit_watch && !(machine_reg(m, ER_EFLAGS) & ENTRYEMU_EFLAGS_VM) &&
		    (cs_override || !writable_or_null(m, ds) || !writable_or_null(m, es)))
			m->cpu->limit_watch = 1;
		return 0;
	}
	const uint16_t data = ENTRYEMU_USER_DS & 0xfffc;
	if ((ds & 0xfffc) == data && (es & 0xfffc) == data && !cs_override &&
	    !m->cpu->limit_watch && !loads16)
		return 0;		/* the usual: nothing to watch */
	if (machine_reg(m, ER_EFLAGS) & ENTRYEMU_EFLAGS_VM)
		return 0;		/* real-mode segments: no selectors */
	/*
	 * seg_limit.c's check, once a limit or a type matters, needs the
	 * same look: a write through CS in this block, or through DS or ES
	 * holding a code segment (`movw %cs,%ax; movw %ax,%ds') or a
	 * read-only one, is #GP(0).
	 */
	if (cs_override || !writable_or_null(m, ds) || !writable_or_null(m, es))
		m->cpu->limit_watch = 1;
	/*
	 * A DS or ES load ends the engine's block in 32-bit code, so the
	 * block after it starts with the new selector, and comes here; in
	 * 16-bit code it does not, and an access later in the same block
	 * goes through the null selector unseen: such a block is watched
	 * from its start.
	 */
	if ((ds & 0xfffc) && (es & 0xfffc) && !m->cpu->limit_watch && !loads16)
		return 0;
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
