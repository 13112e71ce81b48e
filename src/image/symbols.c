/*
 * Symbol names and one-line disassembly, for traces and reports.  Every
 * layer names addresses in its messages, so this reads only the image
 * and the handle's tables of callout slot names: it calls nothing.
 */
#include "image/symbols.h"

#include <stdio.h>
#include <string.h>

const char *entryemu_symbolize(const entryemu *m, uint32_t addr, char *buf, size_t len)
{
	const char *co = NULL;
	if (m && addr >= m->img.callouts_start && addr < m->img.callouts_end &&
	    !((addr - m->img.callouts_start) & 3) && m->callouts)
		co = m->callouts[(addr - m->img.callouts_start) >> 2].name;
	if (!m || !buf || !len)
		return "";
	if (co) {
		snprintf(buf, len, "%s", co);
		return buf;
	}
	if (addr >= ENTRYEMU_USER_EXIT && addr < ENTRYEMU_USER_EXIT + 0x1000) {
		snprintf(buf, len, "user_exit");
		return buf;
	}
	if (addr >= VSYSCALL_PAGE && addr < VSYSCALL_PAGE + 0x1000) {
		/* the vsyscall code is a copy of the image's vsyscall_page */
		const struct image_symbol *s = NULL;
		if (m->vsys_image && addr >= ENTRYEMU_VSYSCALL)
			s = image_symbol_at(&m->img, m->vsys_image + (addr - ENTRYEMU_VSYSCALL));
		uint32_t at = s ? ENTRYEMU_VSYSCALL + (s->addr - m->vsys_image) : VSYSCALL_PAGE;
		if (!s)
			snprintf(buf, len, "vsyscall+0x%x", addr - VSYSCALL_PAGE);
		else if (addr == at)
			snprintf(buf, len, "%s", s->name);
		else
			snprintf(buf, len, "%s+0x%x", s->name, addr - at);
		return buf;
	}
	if (addr >= ENTRYEMU_USER_CODE && addr < ENTRYEMU_USER_CODE + ENTRYEMU_USER_CODE_MAX) {
		snprintf(buf, len, "user+0x%x", addr - ENTRYEMU_USER_CODE);
		return buf;
	}
	const struct image_symbol *s = image_symbol_at(&m->img, addr);
	/* fixup code has no labels of its own, like the kernel's */
	if (addr >= m->img.fixup_start && addr < m->img.fixup_end &&
	    (!s || s->addr < m->img.fixup_start || !strcmp(s->name, "_etext"))) {
		snprintf(buf, len, ".fixup+0x%x", addr - m->img.fixup_start);
		return buf;
	}
	if (s && addr < m->img.end) {
		if (addr == s->addr)
			snprintf(buf, len, "%s", s->name);
		else
			snprintf(buf, len, "%s+0x%x", s->name, addr - s->addr);
	} else {
		snprintf(buf, len, "0x%08x", addr);
	}
	return buf;
}

uint32_t entryemu_symbol(const entryemu *m, const char *name)
{
	return m && name ? image_symbol(&m->img, name) : 0;
}

int entryemu_disasm(entryemu *m, uint32_t addr, char *buf, size_t len)
{
	if (!m || !buf || !len)
		return ENTRYEMU_E_INVAL;
	char sym[128];
	size_t avail = 0;
	while (avail < 15 && machine_ptr(m, addr + (uint32_t)avail, 1))
		avail++;
	uint8_t *p = machine_ptr(m, addr, 1);
	cs_insn *insn = NULL;
	entryemu_symbolize(m, addr, sym, sizeof(sym));
	csh h = m->syntax_intel ? m->cs : m->cs_att;
	if (!p || cs_disasm(h, p, avail, addr, 1, &insn) != 1) {
		snprintf(buf, len, "%08x <%s>: (bad)", addr, sym);
		return ENTRYEMU_E_INVAL;
	}
	char hex[48] = "";
	for (size_t i = 0; i < insn->size && i < 8; i++)
		snprintf(hex + 3 * i, sizeof(hex) - 3 * i, "%02x ", insn->bytes[i]);
	/* a direct branch names its target, as objdump does */
	char target[160] = "";
	const cs_x86 *x = &insn->detail->x86;
	if (x->op_count == 1 && x->operands[0].type == X86_OP_IMM &&
	    (cs_insn_group(h, insn, CS_GRP_JUMP) || cs_insn_group(h, insn, CS_GRP_CALL))) {
		char tsym[128];
		snprintf(target, sizeof(target), " <%s>",
			 entryemu_symbolize(m, (uint32_t)x->operands[0].imm, tsym, sizeof(tsym)));
	}
	snprintf(buf, len, "%08x <%s>: %-24s %s %s%s", addr, sym, hex, insn->mnemonic,
		 insn->op_str, target);
	int size = (int)insn->size;
	cs_free(insn, 1);
	return size;
}

int entryemu_set_syntax(entryemu *m, enum entryemu_syntax syntax)
{
	if (!m || (syntax != ENTRYEMU_SYNTAX_ATT && syntax != ENTRYEMU_SYNTAX_INTEL))
		return ENTRYEMU_E_INVAL;
	m->syntax_intel = syntax == ENTRYEMU_SYNTAX_INTEL;
	return 0;
}

/* "mnemonic operands" of the instruction at addr, as Capstone handle h prints it. */
static int text_with(struct entryemu *m, csh h, uint32_t addr, char *buf, size_t len)
{
	if (!m || !buf || !len)
		return ENTRYEMU_E_INVAL;
	size_t avail = 0;
	while (avail < 15 && machine_ptr(m, addr + (uint32_t)avail, 1))
		avail++;
	uint8_t *p = machine_ptr(m, addr, 1);
	cs_insn *insn = NULL;
	buf[0] = 0;
	if (!p || cs_disasm(h, p, avail, addr, 1, &insn) != 1)
		return ENTRYEMU_E_INVAL;
	snprintf(buf, len, "%s%s%s", insn->mnemonic, insn->op_str[0] ? " " : "", insn->op_str);
	cs_free(insn, 1);
	return 0;
}

/* In Intel syntax ("pop gs"): what the library matches instructions by. */
int insn_text(struct entryemu *m, uint32_t addr, char *buf, size_t len)
{
	return m ? text_with(m, m->cs, addr, buf, len) : ENTRYEMU_E_INVAL;
}

int entryemu_insn_text(entryemu *m, uint32_t addr, enum entryemu_syntax syntax, char *buf,
		       size_t len)
{
	if (!m || (syntax != ENTRYEMU_SYNTAX_ATT && syntax != ENTRYEMU_SYNTAX_INTEL))
		return ENTRYEMU_E_INVAL;
	return text_with(m, syntax == ENTRYEMU_SYNTAX_INTEL ? m->cs : m->cs_att, addr, buf, len);
}
