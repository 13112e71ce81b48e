/*
 * The entry code's data accesses that could reach memory the user
 * chose: the instructions the user-access and bounds checkers watch
 * (run/checks_uaccess.c, run/checks_bounds.c).  The entry code (the
 * executable sections but the callout slots, about 600 instructions) is
 * decoded once at open, nearly all by their opcode and ModRM alone
 * (insn_facts.c, insn_modrm.c) and the rest by Capstone; a run then
 * hooks the few instructions kept, not every access.  Both cheaper-looking ways cost more: a memory hook on
 * any range sends every load of every block translated after it through
 * Unicorn's slow path, and each code hook makes every hooked instruction
 * of a run (user code included) look through one more hook.
 *
 * Candidates are the memory operands that are not the stack's: a base
 * or an index register other than %esp, a segment override other than
 * SS, or an absolute address below PAGE_OFFSET.  (Left out: %esp-relative
 * operands, an SS override and the implicit accesses of push, pop, call,
 * ret and iret, which the stack and segments checkers watch; absolute
 * kernel addresses; LEA and the multi-byte NOPs, which access nothing.)
 *
 * Of those, a candidate is kept when its address could be the user's.
 * The user's values reach the kernel in the registers it is entered with
 * and in the frame the entry saves on the kernel stack; %esp itself is
 * the kernel's.  So a forward pass over straight-line code marks which
 * registers may hold a user value (tainted): all but %esp where control
 * may arrive from elsewhere (a symbol, a branch target, an __ex_table
 * fixup, an address an instruction or the image's data holds, the
 * instruction after an unconditional jump); a register written from a
 * tainted one, from the stack or by a pop is tainted, one written from
 * constants, %esp or memory the kernel addressed itself is not; a call
 * (a C function) leaves %eax, %ecx and %edx tainted.  GET_THREAD_INFO's
 * `movl $-THREAD_SIZE, %ebp; andl %esp, %ebp` makes %ebp the kernel's,
 * and the TI_flags(%ebp) tests after it need no hook.  Always kept,
 * whatever the registers: an operand with a segment override (the
 * per-CPU segment may be the user's), an __ex_table'd instruction (the
 * PAGE_OFFSET check) and an indexed read of a sized table (the bounds
 * check).
 */
#include "image/image.h"
#include "image/insn_facts.h"
#include "base/vec.h"
#include "handle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The entry code is a few KiB (2.6.18's entry.S: about 4); far more is
 * no entry image, and decoding it would take seconds. */
#define MAX_ENTRY_CODE	0x40000u

static int is_stack(const cs_x86_op *op)
{
	return op->mem.segment == X86_REG_SS ||
	       (op->mem.segment == X86_REG_INVALID && op->mem.index == X86_REG_INVALID &&
		(op->mem.base == X86_REG_ESP || op->mem.base == X86_REG_SP));
}

static int candidate(const cs_x86_op *op)
{
	if (is_stack(op))
		return 0;
	if (op->mem.base == X86_REG_INVALID && op->mem.index == X86_REG_INVALID &&
	    op->mem.segment == X86_REG_INVALID)
		return (uint32_t)op->mem.disp < PAGE_OFFSET;
	return 1;
}

/* One decoded instruction, as the taint pass needs it. */
struct step {
	uint32_t addr;
	struct insn_facts f;		/* size, flow, registers; user_load also for n(%esp) */
	uint32_t target;		/* a direct branch's, or 0 */
	long to;			/* the step it branches to, or -1 */
	int entry;			/* control may come from elsewhere */
	unsigned in, out;		/* tainted registers before and after */
	int cand;			/* index of its candidate, or -1 */
	unsigned cand_regs;		/* the candidate's address registers */
	int always;			/* kept whatever the registers */
};

struct pass {
	struct image *img;
	csh cs;
	struct step *steps;
	size_t nsteps, cap_steps;
	struct image_access *cands;
	size_t ncands, cap_cands;
	uint32_t *entries;		/* where control may come from elsewhere */
	size_t nentries, cap_entries;
	uint32_t lo, hi;		/* the swept code lies in [lo, hi) */
};

static int push_entry(struct pass *p, uint32_t a)
{
	if (vec_reserve((void **)&p->entries, &p->cap_entries, p->nentries, sizeof(*p->entries)))
		return -1;
	p->entries[p->nentries++] = a;
	return 0;
}

/* Is a inside the code swept?  (Asked of every word of the image's data.) */
static int swept(const struct pass *p, uint32_t a)
{
	const struct image *img = p->img;
	if (a < p->lo || a >= p->hi)
		return 0;
	for (size_t i = 0; i < img->nexec; i++)
		if (a >= img->exec[i].start && a < img->exec[i].end &&
		    !(a >= img->callouts_start && a < img->callouts_end))
			return 1;
	return 0;
}

/* The step of an instruction at addr with facts f, its code-address immediates noted in p. */
static int make_step(struct pass *p, uint32_t addr, const struct insn_facts *f, struct step *s)
{
	*s = (struct step){ .addr = addr, .f = *f, .cand = -1, .to = -1 };
	/*
	 * A direct branch's target is joined with this step; any other
	 * code address an immediate holds (a pushed return address) is a
	 * place control may come from.
	 */
	for (int i = 0; i < f->nimm; i++) {
		if (!swept(p, f->imm[i]))
			continue;
		if (f->imm_target[i])
			s->target = f->imm[i];
		else if (push_entry(p, f->imm[i]))
			return -1;
	}
	return 0;
}

static int add_step(struct pass *p, const struct step *s)
{
	if (vec_reserve((void **)&p->steps, &p->cap_steps, p->nsteps, sizeof(*p->steps)))
		return -1;
	p->steps[p->nsteps++] = *s;
	return 0;
}

/*
 * The step of the instruction at addr with facts f and memory operands
 * ops (n of them; access: it reads or writes memory through them, which
 * LEA and the NOPs do not), into p with its candidate operands, if any.
 */
static int record(struct pass *p, uint32_t addr, const struct insn_facts *f,
		  const cs_x86_op *ops, int n, int access)
{
	struct step s;
	if (make_step(p, addr, f, &s))
		return -1;
	struct image_access a = { .insn = s.addr };
	for (int i = 0; i < n && access; i++) {
		const cs_x86_op *op = &ops[i];
		if (is_stack(op) && op->access != CS_AC_WRITE)
			s.f.user_load = 1;	/* the saved frame holds the user's values */
		if (!candidate(op) || a.nops == IMAGE_ACCESS_OPS)
			continue;
		a.op[a.nops++] = *op;
		s.cand_regs |= insn_facts_gpr(op->mem.base) | insn_facts_gpr(op->mem.index);
		if (op->mem.segment != X86_REG_INVALID)
			s.always = 1;
		/* an indexed read: the displacement is a sized table's address */
		if (!a.table && (op->mem.base != X86_REG_INVALID || op->mem.index != X86_REG_INVALID))
			a.table = image_table_at(p->img, (uint32_t)op->mem.disp);
	}
	if (a.nops) {
		a.extable = image_extable_find(p->img, a.insn) != NULL;
		s.always |= a.extable || a.table;
		if (vec_reserve((void **)&p->cands, &p->cap_cands, p->ncands, sizeof(*p->cands)))
			return -1;
		s.cand = (int)p->ncands;
		p->cands[p->ncands++] = a;
	}
	return add_step(p, &s);
}

/* The step of insn, decoded by Capstone, into p. */
static int record_decoded(struct pass *p, const cs_insn *insn)
{
	const cs_x86 *x = &insn->detail->x86;
	struct insn_facts f;
	cs_x86_op ops[8];
	int n = 0;
	insn_facts_capstone(p->cs, insn, &f);
	for (int i = 0; i < x->op_count && n < 8; i++)
		if (x->operands[i].type == X86_OP_MEM)
			ops[n++] = x->operands[i];
	return record(p, (uint32_t)insn->address, &f, ops, n,
		      insn->id != X86_INS_LEA && insn->id != X86_INS_NOP);
}

static int keep_starts(struct image *img, const struct pass *p);

/* Decode [from, to) into steps; a symbol passed mid-instruction restarts there. */
static int sweep(struct pass *p, cs_insn *insn, uint32_t from, uint32_t to, size_t *next_sym)
{
	const struct image *img = p->img;
	uint64_t a = from;
	if (push_entry(p, from))
		return -1;
	while (a < to) {
		while (*next_sym < img->nsyms && img->syms[*next_sym].addr <= a)
			(*next_sym)++;
		uint32_t stop = *next_sym < img->nsyms && img->syms[*next_sym].addr < to ?
				img->syms[*next_sym].addr : to;
		const uint8_t *code = img->bytes + (a - img->base);
		size_t left = to - a < 16 ? (size_t)(to - a) : 16;
		struct insn_facts f;
		size_t plain = insn_facts_plain(code, left, (uint32_t)a, &f);
		if (plain) {		/* no memory operand: no candidate */
			struct step s;
			if (a + plain > stop) {
				a = stop;
				continue;
			}
			if (make_step(p, (uint32_t)a, &f, &s) || add_step(p, &s))
				return -1;
			a += plain;
			continue;
		}
		struct insn_mem_operand mem;
		size_t modrm = insn_facts_modrm(code, left, &f, &mem);
		if (modrm) {		/* the commonest with a ModRM: no decoder either */
			if (a + modrm > stop) {
				a = stop;
				continue;
			}
			if (record(p, (uint32_t)a, &f, &mem.op, mem.present, mem.access))
				return -1;
			a += modrm;
			continue;
		}
		uint64_t at = a;
		if (!cs_disasm_iter(p->cs, &code, &left, &at, insn)) {
			a++;			/* padding: skip a byte */
			if (push_entry(p, (uint32_t)a))
				return -1;
			continue;
		}
		if (at > stop) {		/* ran over a symbol: start again there */
			a = stop;
			continue;
		}
		if (record_decoded(p, insn))
			return -1;
		a = at;
	}
	return 0;
}

/*
 * Every other place control may come from: global symbols (the IDT's
 * handlers, what the library starts a task at), fixups, the image's
 * data.  A local label is reached only by the branches to it, and by
 * falling into it.
 */
static int gather_entries(struct pass *p)
{
	const struct image *img = p->img;
	for (size_t i = 0; i < img->nsyms; i++)
		if (img->syms[i].global && push_entry(p, img->syms[i].addr))
			return -1;
	for (size_t i = 0; i < img->nextable; i++)
		if (push_entry(p, img->extable[i].fixup))
			return -1;
	/* code addresses in the image's data (the IRQ stubs' table, say) */
	for (uint32_t a = img->base; a + 4 <= img->end; a += 4) {
		if (swept(p, a))
			continue;
		uint32_t v;
		memcpy(&v, img->bytes + (a - img->base), 4);
		if (swept(p, v) && push_entry(p, v))
			return -1;
	}
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static int is_entry(const struct pass *p, uint32_t a)
{
	return bsearch(&a, p->entries, p->nentries, sizeof(a), cmp_u32) != NULL;
}

static long step_at(const struct pass *p, uint32_t a)
{
	size_t lo = 0, hi = p->nsteps;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (p->steps[mid].addr == a)
			return (long)mid;
		if (p->steps[mid].addr < a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/*
 * Which registers may hold a user value before each step: the union over
 * the ways in (falling through, the branches to it, everything at an
 * entry), to a fixed point (8 registers: a few passes).  Then keep the
 * candidates whose address may be the user's.
 */
static void taint(struct pass *p)
{
	struct image *img = p->img;
	const unsigned user = GPR_ALL & ~GPR_ESP;
	for (size_t i = 0; i < p->nsteps; i++) {
		struct step *s = &p->steps[i];
		s->entry = is_entry(p, s->addr);
		s->to = s->target ? step_at(p, s->target) : -1;
		s->in = s->out = 0;
	}
	for (int changed = 1; changed;) {
		changed = 0;
		for (size_t i = 0; i < p->nsteps; i++) {
			struct step *s = &p->steps[i];
			/* (after an unconditional jump, a step no branch or
			 * entry reaches is dead: the alignment padding) */
			unsigned in = s->in | (s->entry ? user : 0);
			if (i > 0 && p->steps[i - 1].f.flow != FLOW_END)
				in |= p->steps[i - 1].out;
			unsigned out = insn_facts_taint(&s->f, in);
			if (in != s->in || out != s->out)
				changed = 1;
			s->in = in;
			s->out = out;
			if (s->to >= 0 && (p->steps[s->to].in | out) != p->steps[s->to].in) {
				p->steps[s->to].in |= out;
				changed = 1;
			}
		}
	}
	size_t keep = 0;
	for (size_t i = 0; i < p->nsteps; i++) {
		const struct step *s = &p->steps[i];
		if (s->cand >= 0 && (s->always || (s->cand_regs & s->in)))
			p->cands[keep++] = p->cands[s->cand];
	}
	img->accesses = p->cands;
	img->naccesses = keep;
	p->cands = NULL;
}

int image_find_accesses(struct image *img, csh cs, char *err, size_t errlen)
{
	free(img->accesses);
	img->accesses = NULL;
	img->naccesses = 0;
	free(img->insn_size);
	img->insn_size = NULL;
	img->starts_len = 0;
	struct pass p = { .img = img, .cs = cs };
	cs_insn *insn = cs_malloc(cs);
	int rc = insn ? 0 : -1;
	/* each executable section but the callout slots', in address order */
	size_t order[IMAGE_MAX_EXEC], n = 0;
	uint64_t bytes = 0;
	for (size_t i = 0; i < img->nexec; i++) {
		if (img->exec[i].start >= img->callouts_start &&
		    img->exec[i].end <= img->callouts_end)
			continue;
		bytes += img->exec[i].end - img->exec[i].start;
		if (!n || img->exec[i].start < p.lo)
			p.lo = img->exec[i].start;
		if (!n || img->exec[i].end > p.hi)
			p.hi = img->exec[i].end;
		size_t j = n++;
		for (; j > 0 && img->exec[order[j - 1]].start > img->exec[i].start; j--)
			order[j] = order[j - 1];
		order[j] = i;
	}
	if (bytes > MAX_ENTRY_CODE) {
		if (insn)
			cs_free(insn, 1);
		snprintf(err, errlen, "%llu bytes of executable code besides the callout slots: "
			 "an entry image has at most %u", (unsigned long long)bytes, MAX_ENTRY_CODE);
		return -2;
	}
	for (size_t i = 0, s = 0; i < n && !rc; i++)
		rc = sweep(&p, insn, img->exec[order[i]].start, img->exec[order[i]].end, &s);
	if (insn)
		cs_free(insn, 1);
	if (!rc)
		rc = keep_starts(img, &p);
	if (!rc)
		rc = gather_entries(&p);
	if (!rc) {
		qsort(p.entries, p.nentries, sizeof(*p.entries), cmp_u32);
		taint(&p);
	}
	free(p.steps);
	free(p.cands);
	free(p.entries);
	if (rc)
		snprintf(err, errlen, "out of memory");
	return rc;
}

/*
 * Where the sweep found instructions to start, and their sizes: the exit
 * sites and the flag loads the kernel layer looks for are then a look-up
 * each, not another decode from the symbol before them (a quarter of an
 * open, before), and the rewrite of far calls through a register
 * (cpu/far_indirect.c) need not decode the image's code again.  The
 * steps are in address order within each executable section, but a
 * crafted image's sections may overlap or come in any order: the array
 * spans the lowest to the highest.
 */
static int keep_starts(struct image *img, const struct pass *p)
{
	if (!p->nsteps)
		return 0;
	uint32_t base = p->steps[0].addr, last = base;
	for (size_t i = 1; i < p->nsteps; i++) {
		if (p->steps[i].addr < base)
			base = p->steps[i].addr;
		if (p->steps[i].addr > last)
			last = p->steps[i].addr;
	}
	uint32_t len = last - base + 1;
	img->insn_size = calloc(len, 1);
	if (!img->insn_size)
		return -1;
	img->starts_base = base;
	img->starts_len = len;
	for (size_t i = 0; i < p->nsteps; i++)
		img->insn_size[p->steps[i].addr - base] = p->steps[i].f.size;
	return 0;
}

int image_insn_start(const struct image *img, uint32_t addr)
{
	uint32_t off = addr - img->starts_base;	/* below: wraps, too large */
	if (!img->insn_size || off >= img->starts_len)
		return -1;
	for (size_t i = 0; i < img->nexec; i++)	/* the slots were not swept */
		if (img->exec[i].start >= img->callouts_start &&
		    img->exec[i].end <= img->callouts_end &&
		    addr >= img->exec[i].start && addr < img->exec[i].end)
			return -1;
	return img->insn_size[off] != 0;
}

const struct image_access *image_access_at(const struct image *img, uint32_t insn)
{
	return image_find_sorted(img->accesses, img->naccesses, sizeof(*img->accesses), insn);
}
