/*
 * CS's limit, which the CPU checks on every fetch (SDM vol. 3A 5.3,
 * "Limit Checking"; 6.15, interrupt 13: "exceeding the segment limit
 * when accessing the CS") and on the target of every near transfer
 * (vol. 2A JMP, Jcc, LOOP/LOOPcc, CALL, RET: "IF tempEIP is not within
 * code segment limit THEN #GP(0)", before anything of the instruction
 * happens).  Unicorn 2.0.1 checks neither: it fetches on past the limit,
 * and a near jump goes to its target.
 *
 * The hook before every user instruction asks here.  With CS flat (the
 * common case) that is a look at the first byte.  With a limit, an
 * instruction that crosses it, or starts just past it where the one
 * before ended, is #GP(0) there; and a near transfer is noted before it
 * runs, so that when the next instruction lies past the limit the
 * transfer is what faults: it is undone (EIP, and ESP for CALL and RET,
 * the count for LOOP, the bytes CALL pushed) and #GP(0) is delivered at
 * it.  A far return, whose target is on the stack, is checked before it
 * runs, against the CS it returns to; the kernel's IRET likewise.
 */
#include "cpu/cpu.h"
#include "cpu/desc.h"
#include "cpu/fault.h"
#include "cpu/insn_size.h"

#include <string.h>

#define FLAT_LIMIT 0xffffffffu
#define EFL_CF 0x001u
#define EFL_PF 0x004u
#define EFL_ZF 0x040u
#define EFL_SF 0x080u
#define EFL_OF 0x800u

enum xfer_kind { XF_NONE, XF_JMP, XF_JCC, XF_LOOP, XF_LOOPE, XF_LOOPNE, XF_JCXZ, XF_CALL, XF_RET };

/* CS's base and limit as the run stands now: looked up again after CS may have changed. */
static void load(struct entryemu *m)
{
	struct cpu_run_state *c = m->cpu;
	machine_cs_extent(m, &c->cs_base, &c->cs_limit);
	c->cs_known = 1;
}

uint32_t cs_limit_returned(struct entryemu *m, uint16_t cs, uint32_t eflags)
{
	struct cpu_run_state *c = m->cpu;
	machine_cs_extent_of(m, cs, eflags, &c->cs_base, &c->cs_limit);
	c->cs_known = 1;
	c->xfer.kind = XF_NONE;
	return c->cs_base;
}

static int stack_is_16(struct entryemu *m)
{
	struct desc d;
	if (machine_reg(m, ER_EFLAGS) & ENTRYEMU_EFLAGS_VM)
		return 1;
	return desc_fetch(m, (uint16_t)machine_reg(m, ER_SS), &d) == 0 && d.s && !d.db;
}

/* The stack's linear address off bytes from ESP, wrapped as SS wraps it. */
static uint32_t stack_at(struct entryemu *m, uint32_t off)
{
	if (machine_reg(m, ER_EFLAGS) & ENTRYEMU_EFLAGS_VM)
		return (machine_reg(m, ER_SS) << 4) + ((machine_reg(m, ER_ESP) + off) & 0xffffu);
	return machine_stack_linear(m, off);
}

/* ESP moved by delta, in SP alone on a 16-bit stack. */
static void move_esp(struct entryemu *m, uint32_t delta)
{
	uint32_t esp = machine_reg(m, ER_ESP);
	if (stack_is_16(m))
		esp = (esp & 0xffff0000u) | ((esp + delta) & 0xffffu);
	else
		esp += delta;
	machine_set_reg(m, ER_ESP, esp);
}

/*
 * Where the opcode starts in the n bytes at p, past the legacy prefixes
 * (at most 14; the last byte is never taken for one); *p66 and *p67 say
 * whether an operand- or address-size prefix was among them.
 */
static size_t past_prefixes(const uint8_t *p, size_t n, int *p66, int *p67)
{
	size_t at = 0;
	*p66 = *p67 = 0;
	for (; at + 1 < n && at < 14 && fault_legacy_prefix(p[at]); at++) {
		*p66 |= p[at] == 0x66;
		*p67 |= p[at] == 0x67;
	}
	return at;
}

/* Jcc's condition cc (the opcode's low nibble, vol. 2A Jcc) on EFLAGS f. */
static int condition(unsigned cc, uint32_t f)
{
	int cf = !!(f & EFL_CF), zf = !!(f & EFL_ZF), sf = !!(f & EFL_SF);
	int of = !!(f & EFL_OF), pf = !!(f & EFL_PF), r;
	switch (cc >> 1) {
	case 0: r = of; break;
	case 1: r = cf; break;
	case 2: r = zf; break;
	case 3: r = cf || zf; break;
	case 4: r = sf; break;
	case 5: r = pf; break;
	case 6: r = sf != of; break;
	default: r = zf || sf != of; break;
	}
	return (cc & 1) ? !r : r;
}

/*
 * Is the instruction at addr (off in CS) a near transfer?  Then note
 * what undoing it takes.  code16: the mode the block runs in.  1 for a
 * CALL rel past the limit: the CPU checks the target before the push
 * (vol. 2A CALL), so #GP(0) comes first even where the push would fault.
 */
static int note_transfer(struct entryemu *m, uint32_t addr, int code16)
{
	struct cs_xfer *x = &m->cpu->xfer;
	x->kind = XF_NONE;
	const uint8_t *p = machine_ptr(m, addr, 1);
	if (!p || !(fault_legacy_prefix(p[0]) || (p[0] >= 0x70 && p[0] <= 0x7f) || p[0] == 0x0f ||
		    (p[0] >= 0xe0 && p[0] <= 0xe3) || p[0] == 0xe8 || p[0] == 0xe9 || p[0] == 0xeb ||
		    p[0] == 0xff || p[0] == 0xc2 || p[0] == 0xc3))
		return 0;	/* most instructions: the first byte says no */
	size_t n = machine_avail(m, addr, 15);
	int p66, p67;
	size_t at = past_prefixes(p, n, &p66, &p67);
	if (at >= n)
		return 0;
	uint8_t op = p[at];
	unsigned reg = at + 1 < n ? (p[at + 1] >> 3) & 7u : 8u;
	enum xfer_kind k = XF_NONE;
	if ((op >= 0x70 && op <= 0x7f) || (op == 0x0f && at + 1 < n && (p[at + 1] & 0xf0) == 0x80)) {
		k = XF_JCC;
		x->cc = (op == 0x0f ? p[at + 1] : op) & 15u;
	} else if (op == 0xe0 || op == 0xe1 || op == 0xe2 || op == 0xe3) {
		static const enum xfer_kind loops[] = { XF_LOOPNE, XF_LOOPE, XF_LOOP, XF_JCXZ };
		k = loops[op - 0xe0];
	} else if (op == 0xeb || op == 0xe9 || (op == 0xff && reg == 4)) {
		k = XF_JMP;
	} else if (op == 0xe8 || (op == 0xff && reg == 2)) {
		k = XF_CALL;
	} else if (op == 0xc3 || (op == 0xc2 && at + 2 < n)) {
		k = XF_RET;
		x->imm = op == 0xc2 ? (uint16_t)(p[at + 1] | p[at + 2] << 8) : 0;
	}
	if (k == XF_NONE)
		return 0;
	unsigned traits;
	size_t len = insn_length(p, n, code16, &traits);
	x->at = addr;
	x->next = len ? addr + (uint32_t)len : 0;	/* 0: not known, only a jump away tells */
	x->w = (uint8_t)(code16 ^ p66 ? 2 : 4);	/* the operand size: what CALL pushes, RET pops */
	x->a16 = (uint8_t)(code16 ^ p67);	/* the address size: CX or ECX counts */
	x->saved = 0;
	if (op == 0xe8 && len) {
		struct cpu_run_state *c = m->cpu;
		uint32_t rel = 0;
		memcpy(&rel, p + at + 1, x->w);
		rel = x->w == 2 ? (uint32_t)(int32_t)(int16_t)rel : rel;
		uint32_t target = addr + (uint32_t)len - c->cs_base + rel;
		if ((x->w == 2 ? target & 0xffffu : target) > c->cs_limit)
			return 1;
	}
	if (k == XF_CALL) {
		/* what the push will overwrite, to put back if the call faults */
		uint32_t slot = stack_at(m, (uint32_t)-x->w);
		const uint8_t *s = machine_avail(m, slot, x->w) == x->w ? machine_ptr(m, slot, x->w) : NULL;
		if (s) {
			memcpy(x->bytes, s, x->w);
			x->slot = slot;
			x->saved = 1;
		}
	}
	x->kind = (uint8_t)k;
	return 0;
}

/* Did the transfer noted run to `to' (linear), rather than fall through? */
static int taken(struct entryemu *m, const struct cs_xfer *x, uint32_t to)
{
	if (x->kind == XF_JMP || x->kind == XF_CALL || x->kind == XF_RET)
		return 1;
	if (to != x->next || !x->next)
		return 1;
	/* a branch to the next instruction: the condition says (EFLAGS as it found them) */
	uint32_t f = machine_reg(m, ER_EFLAGS);
	uint32_t count = machine_reg(m, ER_ECX) & (x->a16 ? 0xffffu : 0xffffffffu);
	switch (x->kind) {
	case XF_JCC: return condition(x->cc, f);
	case XF_LOOP: return count != 0;	/* the count after the decrement */
	case XF_LOOPE: return count != 0 && (f & EFL_ZF);
	case XF_LOOPNE: return count != 0 && !(f & EFL_ZF);
	default: return count == 0;		/* JCXZ */
	}
}

/* Undo the transfer noted, which ran, and raise its #GP(0). */
static void fault_transfer(struct entryemu *m, struct cs_xfer *x)
{
	switch (x->kind) {
	case XF_CALL: {
		move_esp(m, x->w);
		uint8_t *slot = x->saved ? machine_wptr(m, x->slot, x->w) : NULL;
		if (slot)
			memcpy(slot, x->bytes, x->w);
		break;
	}
	case XF_RET:
		move_esp(m, (uint32_t)-(x->w + x->imm));
		break;
	case XF_LOOP: case XF_LOOPE: case XF_LOOPNE: {
		uint32_t ecx = machine_reg(m, ER_ECX);
		ecx = x->a16 ? (ecx & 0xffff0000u) | ((ecx + 1) & 0xffffu) : ecx + 1;
		machine_set_reg(m, ER_ECX, ecx);
		break;
	}
	default:
		break;
	}
	uint32_t at = x->at;
	x->kind = XF_NONE;
	count_not_completed(m);
	deliver_past_limit_at(m, at);
}

/* Does the instruction at addr (off in CS) cross the limit, or start one past it? */
static int crosses(struct entryemu *m, uint32_t addr, uint32_t off, int code16)
{
	uint32_t lim = m->cpu->cs_limit;
	if (off > lim)
		return off - lim == 1;	/* where the one before ended */
	if (lim - off >= 14)
		return 0;		/* no instruction there reaches past the limit */
	size_t avail = machine_avail(m, addr, 15);
	uint8_t *code = avail ? machine_ptr(m, addr, 1) : NULL;
	if (!code)
		return 0;
	unsigned traits;
	size_t size = insn_length(code, avail, code16, &traits);
	cs_insn *insn = NULL;
	if (!size && cs_disasm(machine_user_cs(m, code16), code, avail, addr, 1, &insn) == 1) {
		size = insn->size;
		cs_free(insn, 1);
	}
	return size && size - 1 > lim - off;
}

/* A far transfer or IRET may load CS: after it, look CS up again. */
static int may_load_cs(const uint8_t *p)
{
	return p && (fault_legacy_prefix(p[0]) || p[0] == 0x9a || p[0] == 0xea || p[0] == 0xff ||
		     p[0] == 0xca || p[0] == 0xcb || p[0] == 0xcf);
}

/* The w-byte word (2 or 4) off bytes above the stack top, in *v; -1 if unmapped. */
static int stack_word(struct entryemu *m, uint32_t off, unsigned w, uint32_t *v)
{
	uint32_t a = stack_at(m, off);
	const uint8_t *p = machine_avail(m, a, w) == w ? machine_ptr(m, a, w) : NULL;
	*v = 0;
	if (!p)
		return -1;
	memcpy(v, p, w);
	return 0;
}

/*
 * Is the instruction at addr a far RET or an IRET (at CPL 3) whose
 * return EIP lies past the limit of the CS it pops?  Both check that
 * after the CS's own checks (vol. 2A RET, far return, and IRET: "IF
 * tempEIP is not within code segment limit THEN #GP(0)"); Unicorn
 * raises the descriptor's faults and not this one.  Their targets are on
 * the stack, so this is looked at before they run.  In vm86 mode every
 * limit is 0xffff: only a 32-bit operand size reaches past it.
 */
static int far_return_past_limit(struct entryemu *m, uint32_t addr, int code16)
{
	const uint8_t *p = machine_ptr(m, addr, 1);
	size_t n = p ? machine_avail(m, addr, 15) : 0;
	int p66, p67;
	size_t at = p ? past_prefixes(p, n, &p66, &p67) : 0;
	if (at >= n || (p[at] != 0xca && p[at] != 0xcb && p[at] != 0xcf))
		return 0;
	unsigned w = code16 ^ p66 ? 2 : 4;
	uint32_t eip, cs, eflags = machine_reg(m, ER_EFLAGS);
	if (stack_word(m, 0, w, &eip) || stack_word(m, w, w, &cs))
		return 0;	/* the pops fault first: the engine's */
	if (eflags & ENTRYEMU_EFLAGS_VM)
		return eip > 0xffffu;
	if (p[at] == 0xcf && (eflags & ENTRYEMU_EFLAGS_NT))
		return 0;	/* a task return */
	int cpl = machine_cpl(m);
	return desc_check_iret(m, (uint16_t)cs, 0, 0, cpl).vector < 0 &&
	       desc_check_iret(m, (uint16_t)cs, 0, eip, cpl).vector == VEC_GP;
}

enum cs_limit_verdict cs_limit_at(struct entryemu *m, uint32_t addr)
{
	struct cpu_run_state *c = m->cpu;
	if (!c->cs_known)
		load(m);
	int code16 = m->count ? m->count->cur.code16 : 0, far = 0;
	if (may_load_cs(machine_ptr(m, addr, 1))) {
		c->cs_known = 0;
		far = 1;
	}
	if (c->cs_limit == FLAT_LIMIT) {
		c->xfer.kind = XF_NONE;
		return far && far_return_past_limit(m, addr, code16) ? CS_LIMIT_FAULTS : CS_LIMIT_OK;
	}
	uint32_t off = addr - c->cs_base;
	if (c->xfer.kind != XF_NONE && off > c->cs_limit && taken(m, &c->xfer, addr)) {
		count_unexecuted(m, addr);	/* its block did not run */
		fault_transfer(m, &c->xfer);
		return CS_LIMIT_TRANSFER;
	}
	c->xfer.kind = XF_NONE;
	/* the fetch's fault first (vol. 3A table 6-2), then the instruction's */
	if (crosses(m, addr, off, code16) || (far && far_return_past_limit(m, addr, code16)))
		return CS_LIMIT_FAULTS;
	return note_transfer(m, addr, code16) ? CS_LIMIT_FAULTS : CS_LIMIT_OK;
}

int cs_limit_fetch_fault(struct entryemu *m, uint32_t eip)
{
	struct cpu_run_state *c = m->cpu;
	if (!c || c->xfer.kind == XF_NONE)
		return 0;
	if (!c->cs_known)
		load(m);	/* the transfer noted was near: CS is the same */
	if (eip <= c->cs_limit || !taken(m, &c->xfer, c->cs_base + eip))
		return 0;
	fault_transfer(m, &c->xfer);
	return 1;
}

/*
 * The kernel's IRET checks the EIP it pops against the limit of the CS
 * it pops, after that CS's and SS's own checks (vol. 2A IRET: "IF
 * tempEIP is not within code segment limit THEN #GP(0)"), which Unicorn
 * leaves out: a user `int $0x80' that ends at its segment's limit comes
 * back there.  Unicorn raises the descriptors' faults itself; this is
 * the one left, #GP(0) at the IRET, at CPL 0.
 */
int cs_limit_iret(struct entryemu *m, uint32_t addr, uint32_t esp, uint16_t ss_now)
{
	/* the frame: on the kernel's flat stack, or on espfix's 16-bit one */
	uint32_t frame = ss_now == ENTRYEMU_KERNEL_DS ? esp : machine_stack_linear(m, 0);
	int ok = 1;
	uint16_t cs = (uint16_t)machine_rd32(m, frame + 4, &ok);
	if (!ok || cs == ENTRYEMU_USER_CS || cs == ENTRYEMU_KERNEL_CS)
		return 0;	/* flat: no limit (and a SYSEXIT finds anything there) */
	const uint8_t *p = machine_ptr(m, addr, 1);
	if (!p || *p != 0xcf)
		return 0;	/* a SYSEXIT, which loads flat segments */
	uint32_t eip = machine_rd32(m, frame, &ok);
	uint32_t eflags = machine_rd32(m, frame + 8, &ok);
	uint16_t ss = (uint16_t)machine_rd32(m, frame + 16, &ok);
	if (!ok || (eflags & ENTRYEMU_EFLAGS_VM))
		return 0;
	int cpl = machine_cpl(m);
	if (desc_check_iret(m, cs, ss, 0, cpl).vector >= 0 ||
	    desc_check_iret(m, cs, ss, eip, cpl).vector != VEC_GP)
		return 0;
	deliver_past_limit_at(m, addr);
	return 1;
}
