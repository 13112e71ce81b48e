/*
 * Symbol names and one-line disassembly, for traces and reports.  Every
 * layer names addresses in its messages, so this reads only the image
 * and the handle's tables of callout slot names: it calls nothing.
 */
#include "image/symbols.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * "name", or "name+0x<off>" (lowercase hex, no padding), cut to len as
 * snprintf would: reports name thousands of addresses, and snprintf was
 * most of what naming one cost.
 */
static const char *name_plus(char *buf, size_t len, const char *name, uint32_t off, int with_off)
{
	size_t n = 0;
	for (; *name && n + 1 < len; name++)
		buf[n++] = *name;
	if (with_off) {
		char d[12] = "+0x";
		int k = 3, digits = 0;
		for (uint32_t v = off; v || !digits; v >>= 4)
			digits++;
		for (int i = digits - 1; i >= 0; i--)
			d[k++] = "0123456789abcdef"[(off >> (4 * i)) & 15];
		for (int i = 0; i < k && n + 1 < len; i++)
			buf[n++] = d[i];
	}
	buf[n] = 0;
	return buf;
}

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
		return name_plus(buf, len, co, 0, 0);
	}
	if (addr >= ENTRYEMU_USER_EXIT && addr < ENTRYEMU_USER_EXIT + 0x1000) {
		snprintf(buf, len, "user_exit");
		return buf;
	}
	if (addr >= VSYSCALL_PAGE && addr < VSYSCALL_PAGE + 0x1000) {
		/* the vsyscall code is a copy of the image's vsyscall_page */
		const struct image_symbol *s = NULL;
		struct image_symbol kernel_vsyscall = { m->vsys_image, (char *)"__kernel_vsyscall", 0, 1 };
		if (m->vsys_image && addr >= ENTRYEMU_VSYSCALL)
			s = image_symbol_at(&m->img, m->vsys_image + (addr - ENTRYEMU_VSYSCALL));
		/* the page's entry point goes by the kernel's name, not the image's label */
		if (s && !strcmp(s->name, "vsyscall_page") &&
		    image_symbol(&m->img, "__kernel_vsyscall") == s->addr)
			s = &kernel_vsyscall;
		uint32_t at = s ? ENTRYEMU_VSYSCALL + (s->addr - m->vsys_image) : VSYSCALL_PAGE;
		if (!s)
			snprintf(buf, len, "vsyscall+0x%x", addr - VSYSCALL_PAGE);
		else if (addr == at)
			name_plus(buf, len, s->name, 0, 0);
		else
			name_plus(buf, len, s->name, addr - at, 1);
		return buf;
	}
	if (addr >= ENTRYEMU_USER_CODE && addr < ENTRYEMU_USER_CODE + ENTRYEMU_USER_CODE_MAX) {
		const struct image_symbol *l = label_at(m, addr);
		if (l && l->addr == addr)
			name_plus(buf, len, l->name, 0, 0);
		else if (l)
			name_plus(buf, len, l->name, addr - l->addr, 1);
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
			name_plus(buf, len, s->name, 0, 0);
		else
			name_plus(buf, len, s->name, addr - s->addr, 1);
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
	size_t same = 0;		/* a binding sets its labels before every run */
	while (same < n && same < m->nlabels && labels[same].name &&
	       labels[same].addr == m->labels[same].addr &&
	       !strcmp(labels[same].name, m->labels[same].name))
		same++;
	if (same == n && n == m->nlabels && (n || !m->labels))
		return 0;	/* the same labels (an empty array may still be allocated) */
	m->labels_gen++;		/* the lines disassembled so far may name them */
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

/*
 * Capstone's AT&T text as objdump -d prints it.  The mnemonic loses the
 * operand-size suffix Capstone always adds where a register operand or
 * the instruction itself fixes the size ("push %gs", "call", "ret"), and
 * keeps it where only memory and an immediate are named ("movl
 * $0x6,(%esp)"); a few take objdump's own names ("iret", "pushf").
 * Operands lose the blank after each comma, and immediates and
 * displacements are hex ("$0x6", "0x4(%esp)"; a scale stays "4").
 */
static void objdump_att(csh h, const cs_insn *insn, char *mn, size_t mnlen, char *ops,
			size_t opslen)
{
	static const char *const renamed[][2] = {
		{ "iretd", "iret" }, { "pushfd", "pushf" }, { "popfd", "popf" },
		{ "pushal", "pusha" }, { "popal", "popa" },
	};
	const char *base = cs_insn_name(h, insn->id);
	const cs_x86 *x = &insn->detail->x86;
	int has_reg = 0, has_mem = 0;
	for (unsigned i = 0; i < x->op_count; i++) {
		has_reg |= x->operands[i].type == X86_OP_REG;
		has_mem |= x->operands[i].type == X86_OP_MEM;
	}
	int branch = cs_insn_group(h, insn, CS_GRP_JUMP) || cs_insn_group(h, insn, CS_GRP_CALL) ||
		     cs_insn_group(h, insn, CS_GRP_RET) || cs_insn_group(h, insn, CS_GRP_IRET);
	size_t bl = base ? strlen(base) : 0, ml = strlen(insn->mnemonic);
	snprintf(mn, mnlen, "%s", insn->mnemonic);
	for (size_t i = 0; base && i < sizeof(renamed) / sizeof(renamed[0]); i++)
		if (!strcmp(base, renamed[i][0]))
			snprintf(mn, mnlen, "%s", renamed[i][1]);
	/* push and pop of memory too: in 32-bit code their size is 32 bits */
	int stack = base && (!strcmp(base, "push") || !strcmp(base, "pop"));
	if (base && ml == bl + 1 && !strncmp(insn->mnemonic, base, bl) &&
	    strchr("bwl", insn->mnemonic[bl]) && (has_reg || !has_mem || branch || stack))
		snprintf(mn, mnlen, "%s", base);
	/* an immediate Capstone prints negative ("$-1") is the operand's bits */
	uint32_t imm_mask = 0xffffffffu;
	for (unsigned i = 0; i < x->op_count; i++)
		if (x->operands[i].type == X86_OP_IMM && x->operands[i].size &&
		    x->operands[i].size < 4)
			imm_mask = (1u << (8 * x->operands[i].size)) - 1;

	char out[160];
	size_t o = 0;
	int depth = 0;
	const char *in = ops;
	for (size_t i = 0; in[i] && o + 12 < sizeof(out); i++) {
		char c = in[i];
		if (c == ' ' && i && in[i - 1] == ',')
			continue;
		if (c == '$' && in[i + 1] == '-') {
			int neg = in[i + 2] == '0' && in[i + 3] == 'x';
			unsigned long v = strtoul(in + i + 2 + 2 * neg, NULL, neg ? 16 : 10);
			o += (size_t)snprintf(out + o, sizeof(out) - o, "$0x%x",
					      (uint32_t)(0u - (uint32_t)v) & imm_mask);
			for (i += 2; isxdigit((unsigned char)in[i + 1]) || in[i + 1] == 'x'; i++)
				;
			continue;
		}
		depth += c == '(' ? 1 : c == ')' ? -1 : 0;
		int starts = c >= '0' && c <= '9' && !depth &&
			     (!i || !(isalnum((unsigned char)in[i - 1]) || in[i - 1] == '%')) &&
			     !(c == '0' && in[i + 1] == 'x');
		if (!starts) {
			out[o++] = c;
			continue;
		}
		unsigned long v = strtoul(in + i, NULL, 10);
		o += (size_t)snprintf(out + o, sizeof(out) - o, "0x%lx", v);
		while (in[i + 1] >= '0' && in[i + 1] <= '9')
			i++;
	}
	out[o] = 0;
	snprintf(ops, opslen, "%s", out);
}

/* Column widths of a disassembly line, so that lines of a trace align. */
#define SYM_COL 34		/* "<restore_nocheck_notrace+0x1a>:" */
#define HEX_BYTES 7		/* as objdump shows them on one line */

/*
 * The lines entryemu_disasm() made, by address: an oops lists the last 16
 * instructions and a trace every one, mostly the same kernel instructions
 * run after run, and a line costs Capstone's decode, the symbol lookups
 * and the formatting (about 10 us).  A line is reused only while the
 * bytes it was made from, the syntax and the user's labels are the same.
 */
#define DISASM_LINES	256		/* direct-mapped, by address (8 bits of hash) */
struct disasm_line {
	uint32_t addr;
	uint8_t bytes[15], nbytes;	/* what it was made from */
	uint8_t intel, used, code16;
	unsigned gen;			/* labels_gen then */
	int size;			/* the instruction's */
	char text[240];
};

static struct disasm_line *line_slot(struct entryemu *m, uint32_t addr)
{
	if (!m->disasm_lines && !(m->disasm_lines = calloc(DISASM_LINES, sizeof(*m->disasm_lines))))
		return NULL;		/* no room: every line made afresh */
	/*
	 * A multiplicative hash: with addr ^ addr >> 8, lines 0x202 bytes
	 * apart shared a slot (an oops listing error_code and
	 * machine_check made three lines afresh each run).
	 */
	return &m->disasm_lines[(uint32_t)(addr * 0x9e3779b1u) >> 24];
}

static int line_matches(const struct disasm_line *l, const struct entryemu *m, uint32_t addr,
			const uint8_t *p, size_t avail, int code16)
{
	return l->used && l->addr == addr && l->nbytes == avail && l->gen == m->labels_gen &&
	       l->intel == (m->syntax_intel != 0) && l->code16 == code16 &&
	       !memcmp(l->bytes, p, avail);
}

static int disasm_line(entryemu *m, uint32_t addr, const uint8_t *p, size_t avail, int code16,
		       char *buf, size_t len);

int image_disasm(struct entryemu *m, uint32_t addr, int code16, char *buf, size_t len)
{
	code16 = code16 != 0;
	size_t avail = machine_avail(m, addr, 15);
	uint8_t *p = machine_ptr(m, addr, 1);
	if (!p || avail > 15)
		return disasm_line(m, addr, p, avail, code16, buf, len);
	struct disasm_line *l = line_slot(m, addr);
	if (l && line_matches(l, m, addr, p, avail, code16)) {
		snprintf(buf, len, "%s", l->text);
		return l->size;
	}
	int size = disasm_line(m, addr, p, avail, code16, buf, len);
	if (l && size > 0 && strlen(buf) + 1 < len && strlen(buf) < sizeof(l->text)) {
		*l = (struct disasm_line){ .addr = addr, .nbytes = (uint8_t)avail,
					   .intel = m->syntax_intel != 0, .used = 1,
					   .code16 = (uint8_t)code16,
					   .gen = m->labels_gen, .size = size };
		memcpy(l->bytes, p, avail);
		memcpy(l->text, buf, strlen(buf) + 1);
	}
	return size;
}

/* entryemu_disasm()'s line, made from the bytes at p (avail of them). */
static int disasm_line(entryemu *m, uint32_t addr, const uint8_t *p, size_t avail, int code16,
		       char *buf, size_t len)
{
	char sym[128];
	cs_insn *insn = NULL;
	entryemu_symbolize(m, addr, sym, sizeof(sym));
	csh h = code16 ? (m->syntax_intel ? m->cs16 : m->cs16_att)
		       : (m->syntax_intel ? m->cs : m->cs_att);
	if (!p || cs_disasm(h, p, avail, addr, 1, &insn) != 1) {
		snprintf(buf, len, "%08x <%s>: (bad)", addr, sym);
		return ENTRYEMU_E_INVAL;
	}
	char hex[48] = "";
	for (size_t i = 0; i < insn->size && i < HEX_BYTES; i++)
		snprintf(hex + 3 * i, sizeof(hex) - 3 * i, "%02x ", insn->bytes[i]);
	char mn[32], ops[160], notes[200] = "";
	snprintf(mn, sizeof(mn), "%s", insn->mnemonic);
	snprintf(ops, sizeof(ops), "%s", insn->op_str);
	if (!m->syntax_intel)
		objdump_att(h, insn, mn, sizeof(mn), ops, sizeof(ops));
	const cs_x86 *x = &insn->detail->x86;
	if (x->op_count == 1 && x->operands[0].type == X86_OP_IMM &&
	    (cs_insn_group(h, insn, CS_GRP_JUMP) || cs_insn_group(h, insn, CS_GRP_CALL))) {
		/* a direct branch: its target and the target's name, as objdump */
		char tsym[128];
		uint32_t t = (uint32_t)x->operands[0].imm;
		/*
		 * 16-bit code: Capstone gives the target as 16 bits of
		 * (addr + size + rel), addr being linear here.  The line
		 * names linear addresses, so the target too: rel added to
		 * the linear address (rel8 or rel16 is within 32 KiB).
		 */
		uint32_t next = addr + (uint32_t)insn->size;
		if (code16)
			t = next + (uint32_t)(int32_t)(int16_t)(uint16_t)(t - next);
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
		 mn, ops, notes);
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
	size_t avail = machine_avail(m, addr, 15);
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

int image_insn_text(struct entryemu *m, uint32_t addr, int intel, int code16, char *buf,
		    size_t len)
{
	csh h = code16 ? (intel ? m->cs16 : m->cs16_att) : (intel ? m->cs : m->cs_att);
	return text_with(m, h, addr, buf, len);
}
