/*
 * Symbol names and one-line disassembly, for traces and reports.  Every
 * layer names addresses in its messages, so this reads only the image
 * and the handle's tables of callout slot names: it calls nothing.
 */
#include "image/symbols.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The user-code label at or below addr, the last one given among equals. */
static const struct image_symbol *label_at(const entryemu *m, uint32_t addr)
{
	const struct image_symbol *best = NULL;
	for (size_t i = 0; i < m->nlabels; i++)
		if (m->labels[i].addr <= addr && (!best || m->labels[i].addr >= best->addr))
			best = &m->labels[i];
	return best;
}

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
		const struct image_symbol *l = label_at(m, addr);
		if (l && l->addr == addr)
			snprintf(buf, len, "%s", l->name);
		else if (l)
			snprintf(buf, len, "%s+0x%x", l->name, addr - l->addr);
		else
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
	uint32_t a = m && name ? image_symbol(&m->img, name) : 0;
	/* the vsyscall page's code runs from its copy at 0xffffe000, never here */
	if (a && m->vsys_image && a >= m->vsys_image) {
		uint32_t end = image_symbol(&m->img, "vsyscall_page_end");
		if (a < end && ENTRYEMU_VSYSCALL + (end - m->vsys_image) <= VSYSCALL_PAGE + 0x1000)
			a = ENTRYEMU_VSYSCALL + (a - m->vsys_image);
	}
	return a;
}

int entryemu_set_labels(entryemu *m, const struct entryemu_label *labels, size_t n)
{
	if (!m || (n && !labels))
		return ENTRYEMU_E_INVAL;
	for (size_t i = 0; i < m->nlabels; i++)
		free(m->labels[i].name);
	free(m->labels);
	m->labels = NULL;
	m->nlabels = 0;
	if (!n)
		return 0;
	m->labels = calloc(n, sizeof(*m->labels));
	if (!m->labels)
		return ENTRYEMU_E_NOMEM;
	for (size_t i = 0; i < n; i++) {
		if (!labels[i].name || !(m->labels[i].name = strdup(labels[i].name))) {
			m->nlabels = i;
			entryemu_set_labels(m, NULL, 0);
			return labels[i].name ? ENTRYEMU_E_NOMEM : ENTRYEMU_E_INVAL;
		}
		m->labels[i].addr = labels[i].addr;
	}
	m->nlabels = n;
	return 0;
}

/* Is a an address worth a name in a disassembly: code or data of the
 * image, labelled user code? */
static int named_place(const entryemu *m, uint32_t a)
{
	/* not the vsyscall page: $0xffffe000 is far more often -THREAD_SIZE */
	return (a >= m->img.base && a < m->img.end) ||
	       (m->nlabels && a >= ENTRYEMU_USER_CODE &&
		a < ENTRYEMU_USER_CODE + ENTRYEMU_USER_CODE_MAX);
}

/*
 * Capstone prints a displacement as signed ("*-0x3fefe000(,%eax,4)");
 * a kernel address reads as objdump prints it ("*0xc0102000(,%eax,4)").
 */
static void unsign_disp(char *ops, size_t len, uint32_t v)
{
	char neg[16], pos[16], out[160];
	const char *forms[][2] = { { "-0x%x", "0x%x" }, { "- 0x%x", "+ 0x%x" } };
	for (int f = 0; f < 2; f++) {
		snprintf(neg, sizeof(neg), forms[f][0], 0u - v);
		char *at = strstr(ops, neg);
		if (!at)
			continue;
		snprintf(pos, sizeof(pos), forms[f][1], v);
		snprintf(out, sizeof(out), "%.*s%s%s", (int)(at - ops), ops, pos, at + strlen(neg));
		snprintf(ops, len, "%s", out);
		return;
	}
}

/* Column widths of a disassembly line, so that lines of a trace align. */
#define SYM_COL 34		/* "<restore_nocheck_notrace+0x1a>:" */
#define HEX_BYTES 7		/* as objdump shows them on one line */

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
	for (size_t i = 0; i < insn->size && i < HEX_BYTES; i++)
		snprintf(hex + 3 * i, sizeof(hex) - 3 * i, "%02x ", insn->bytes[i]);
	char ops[160], notes[200] = "";
	snprintf(ops, sizeof(ops), "%s", insn->op_str);
	const cs_x86 *x = &insn->detail->x86;
	if (x->op_count == 1 && x->operands[0].type == X86_OP_IMM &&
	    (cs_insn_group(h, insn, CS_GRP_JUMP) || cs_insn_group(h, insn, CS_GRP_CALL))) {
		/* a direct branch: its target and the target's name, as objdump */
		char tsym[128];
		uint32_t t = (uint32_t)x->operands[0].imm;
		snprintf(ops, sizeof(ops), "%x <%s>", t, entryemu_symbolize(m, t, tsym, sizeof(tsym)));
	} else {
		/* an immediate or displacement that is a place: its name too */
		for (unsigned i = 0; i < x->op_count; i++) {
			uint32_t v = x->operands[i].type == X86_OP_IMM ? (uint32_t)x->operands[i].imm :
				     x->operands[i].type == X86_OP_MEM ? (uint32_t)x->operands[i].mem.disp :
				     0;
			if (!v || !named_place(m, v))
				continue;
			if (x->operands[i].type == X86_OP_MEM && (int32_t)v < 0)
				unsign_disp(ops, sizeof(ops), v);
			char vsym[128];
			size_t used = strlen(notes);
			snprintf(notes + used, sizeof(notes) - used, "%s<%s>", used ? ", " : "  ",
				 entryemu_symbolize(m, v, vsym, sizeof(vsym)));
		}
	}
	char place[160];
	snprintf(place, sizeof(place), "<%s>:", sym);
	snprintf(buf, len, "%08x %-*s %-*s %-6s %s%s", addr, SYM_COL, place, 3 * HEX_BYTES, hex,
		 insn->mnemonic, ops, notes);
	/* no trailing blanks when there are no operands */
	size_t bl = strlen(buf);
	while (bl && buf[bl - 1] == ' ')
		buf[--bl] = 0;
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
