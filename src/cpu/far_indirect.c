/*
 * Instructions that are #UD on the CPU and that the engine cannot take:
 * it aborts the whole process, or runs them.
 *
 * Far CALL and JMP through a register.  Group 5's far forms, `ff /3'
 * (CALLF) and `ff /5' (JMPF), take only a memory operand, m16:16 or
 * m16:32 (SDM vol. 2A, CALL and JMP; vol. 2D, table A-6, "Ep" and "Mp":
 * a ModRM that may refer only to memory).  With ModRM.mod = 3 the CPU
 * raises #UD and changes nothing.  Unicorn 2.0.1's translator has no
 * such check: it emits a load from an address it never computed, and its
 * code generator aborts the whole process ("tcg fatal error") as soon as
 * it translates the block.
 *
 * LOCK where it may not be.  LOCK may prefix only ADD, ADC, AND, BTC,
 * BTR, BTS, CMPXCHG, CMPXCHG8B, DEC, INC, NEG, NOT, OR, SBB, SUB, XOR,
 * XADD and XCHG, and only their forms whose destination is in memory;
 * anything else is #UD (SDM vol. 2A, LOCK).  Unicorn aborts on some
 * (`lock cmp' with memory, `lock cmps') and runs others (`lock das').
 *
 * Group 11 beyond MOV.  `c6 /0' and `c7 /0' are MOV r/m, imm; with
 * ModRM f8, `c6' is XABORT and `c7' XBEGIN, both #UD on a CPU without
 * RTM (SDM vol. 2B XABORT, XBEGIN: CPUID.(EAX=7,ECX=0):EBX bit 11,
 * which the engine's CPU leaves 0); every other ModRM.reg is undefined
 * (vol. 2D, table A-6, group 11).  Unicorn 2.0.1 does not look at
 * ModRM.reg and runs all of them as MOV.
 *
 * A VEX prefix before an opcode without a VEX form.  In 32-bit code
 * `c4' and `c5' with ModRM.mod = 3 are the 3- and 2-byte VEX prefixes
 * (SDM vol. 2A 2.3.5; LES and LDS take only memory), and an opcode that
 * has no VEX-encoded form is #UD with one (vol. 2A 2.3.8, 2.3.11).
 * Unicorn 2.0.1 drops the prefix and runs the opcode (`c5 f8 32' is
 * RDMSR to it, #GP at CPL 3).  Such an instruction is one Capstone, which
 * knows the VEX encodings, cannot decode.
 *
 * 3DNow!.  `0f 0f' is AMD's 3DNow! escape, and `0f 0e' its FEMMS; the
 * CPU the library models is Intel's, which has neither (SDM vol. 2D,
 * table A-3: no opcode there), so both are #UD.  The engine's CPUID
 * (Unicorn's own, AuthenticAMD) claims 3DNow!, and the engine runs them;
 * with a memory operand it reads the operand first, so `0f 0f 0e'
 * through an unmapped %esi became a page fault at a read no instruction
 * makes.  (docs/fidelity.md: CPUID is not modelled.)
 *
 * Other two-byte opcodes the engine runs and the CPU does not have
 * (each found by running it against qemu-system-i386, which raises #UD):
 * - SYSCALL (0f 05): #UD while IA32_EFER.SCE is 0 (SDM vol. 2B,
 *   SYSCALL), which the machine never sets; Unicorn 2.0.1 calls its
 *   hooks for it and goes on after it, as a NOP.
 * - AMD's SSE4a: EXTRQ and INSERTQ (66 0f 78/79, f2 0f 78/79), MOVNTSS
 *   and MOVNTSD (f3/f2 0f 2b): vol. 2D table A-3 has nothing in those
 *   slots.
 * - MOVMSKPS/MOVMSKPD (0f 50, 66 0f 50), MOVQ2DQ and MOVDQ2Q (f3/f2
 *   0f d6), MASKMOVQ and MASKMOVDQU (0f f7, 66 0f f7), and the shifts by
 *   an immediate of groups 12, 13 and 14 (0f 71-73), with a memory
 *   operand: they take registers only (vol. 2B,
 *   "MOVMSKPS reg, xmm"; table A-3, "Nq", "Uq"; table A-6, groups 12-14
 *   under "mod 11B" only).  The engine reads the register ModRM.rm names
 *   and writes the destination (MASKMOVQ in 16-bit code: it stores
 *   through DS:DI).
 * - STGI (0f 01 dc), AMD's SVM: group 7 has nothing at /3 with
 *   ModRM.mod 3 on Intel's CPUs (table A-6).  Unicorn raises #GP(0) at
 *   CPL 3, as an AMD CPU with SKINIT would.
 * Of these, an instruction over 15 bytes is #GP(0) for its length: the
 * same priority as #UD (SDM vol. 3A, table 6-2), and what the engine
 * does for the other undefined opcodes; its first 16 bytes are made ES
 * prefixes, which the engine faults so at the same address (it decodes
 * the register-only opcodes without their memory operand, and would run
 * some of them, 8 prefixes before `0f 71 93 ...' for one, as the
 * register form).  (A
 * 3DNow! one with a memory operand still has its operand read first,
 * and the fault it takes there is placed at bytes the disassembler
 * cannot decode: #UD, deliver.c.)
 *
 * So before code is handed to the engine, each such instruction found at
 * an instruction boundary is made `ff /7' (ModRM.reg = 7, register form):
 * undefined in group 5 (table A-6), so the engine raises #UD at the same
 * address, with no side effect: what the CPU does for the original
 * bytes.  A far CALL/JMP keeps its length (only its ModRM changes); a
 * locked instruction's first two bytes are replaced, and so are a group
 * 11 instruction's opcode and ModRM, a VEX prefix's first two bytes and
 * the two opcode bytes of the rest.  The visible difference is the
 * rewritten bytes themselves, to a guest that reads its own code or
 * jumps into the middle of one of them (docs/fidelity.md).
 *
 * Boundaries come from a linear decode that starts at anchors the caller
 * knows to be instruction starts (the start of user code; the image's
 * symbols), and again from each direct jump or call target that decode
 * finds with a candidate right after it.  Where the same bytes are also
 * part of a longer instruction (an immediate), that instruction sees the
 * rewritten bytes.  A jump into the middle of an instruction can reach
 * an unrewritten one: on user pages the engine's fetches find it
 * (far_indirect_fetch_hook, below); in vm86 and kernel code nothing
 * short of translating one instruction at a time would.
 */
#include "cpu/cpu.h"
#include "cpu/far_indirect.h"
#include "cpu/insn_size.h"
#include "cpu/fault.h"
#include "engine/engine.h"
#include "mem/memory.h"

#include <stdlib.h>
#include <string.h>

/*
 * What a byte may begin among the instructions above, for the scan
 * before each run (has_candidate) and the checks that follow it: one
 * table look-up per byte, not a dozen comparisons (it looks at every
 * byte of the code a run hands over, and a fuzz build hooks each
 * comparison).
 */
enum lead { LEAD_NONE, LEAD_LOCK, LEAD_GROUP, LEAD_VEX, LEAD_0F, LEAD_FF };
static const uint8_t lead_of[256] = {
	[0xf0] = LEAD_LOCK,
	[0xc6] = LEAD_GROUP, [0xc7] = LEAD_GROUP, [0x8f] = LEAD_GROUP,
	[0xc4] = LEAD_VEX, [0xc5] = LEAD_VEX,
	[0x0f] = LEAD_0F,
	[0xff] = LEAD_FF,
};
/* the second bytes of the 0f opcodes twobyte_undefined() knows */
static const uint8_t twobyte_listed[256] = {
	[0x01] = 1, [0x05] = 1, [0x0e] = 1, [0x0f] = 1, [0x2b] = 1, [0x50] = 1, [0x71] = 1,
	[0x72] = 1, [0x73] = 1, [0x78] = 1, [0x79] = 1, [0xd6] = 1, [0xf7] = 1,
};

/*
 * Group 11 (c6, c7) and group 1A (8f) with a ModRM.reg other than 0
 * (MOV, POP): #UD here.  The engine runs them as MOV and POP.
 */
static int group_reg_undefined(const uint8_t *op, size_t n)
{
	return n >= 2 && lead_of[op[0]] == LEAD_GROUP && ((op[1] >> 3) & 7) != 0;
}

/*
 * The two-byte opcodes above that the engine runs though they are #UD
 * here, with the opcode at op (n bytes there) after its prefixes: rep
 * the last F2 or F3 among them (or 0), o16 whether 66 was.  For an SSE
 * opcode, F2 or F3 selects the instruction, and 66 does when neither is
 * there (SDM vol. 2A 2.1.2, mandatory prefixes).  The engine looks at 66
 * first: with F2 or F3 as well it runs the 66 form.
 */
static int twobyte_undefined(const uint8_t *op, size_t n, uint8_t rep, int o16)
{
	if (n < 2 || op[0] != 0x0f)
		return 0;
	int mem = n >= 3 && (op[2] >> 6) != 3;
	switch (op[1]) {
	case 0x01:				/* STGI */
		return n >= 3 && op[2] == 0xdc;
	case 0x05:				/* SYSCALL */
		return 1;
	case 0x0e: case 0x0f:			/* FEMMS, 3DNow! */
		return 1;
	case 0x2b:				/* MOVNTSS, MOVNTSD */
		return rep != 0;
	case 0x50:				/* MOVMSKPS, MOVMSKPD */
		/* with a memory operand the engine takes no displacement
		 * either: the bytes after it run as the next instruction */
		return (!rep && mem) || (rep && o16);
	case 0x78: case 0x79:			/* EXTRQ, INSERTQ */
		return rep == 0xf2 || o16;
	case 0xd6:				/* MOVQ2DQ, MOVDQ2Q */
		return rep && mem;
	case 0x71: case 0x72: case 0x73:	/* groups 12-14 */
	case 0xf7:				/* MASKMOVQ, MASKMOVDQU */
		return mem;
	default:
		return 0;
	}
}

/* Might the bytes at op, after prefixes, be one of those?  (A quick look.) */
static int twobyte_candidate(const uint8_t *op, size_t n)
{
	return n >= 2 && op[0] == 0x0f && twobyte_listed[op[1]];
}

/* A VEX prefix: c4 or c5 with ModRM.mod = 3 (in 32-bit code). */
static int vex_prefix(const uint8_t *op, size_t n)
{
	return n >= 2 && lead_of[op[0]] == LEAD_VEX && (op[1] >> 6) == 3;
}

/*
 * May LOCK prefix the instruction whose opcode starts at op (n bytes
 * there)?  The SDM's list, each with a memory destination: ModRM.mod
 * is not 3.  (Capstone is not asked: the decode that finds boundaries
 * runs without operand detail.)
 */
static int lock_allowed(const uint8_t *op, size_t n)
{
	if (n < 2)
		return 0;
	unsigned reg = (op[1] >> 3) & 7;
	int mem = (op[1] >> 6) != 3;
	switch (op[0]) {
	case 0x00: case 0x01: case 0x08: case 0x09: case 0x10: case 0x11: case 0x18:
	case 0x19: case 0x20: case 0x21: case 0x28: case 0x29: case 0x30: case 0x31:
		return mem;			/* ADD OR ADC SBB AND SUB XOR r/m, r */
	case 0x80: case 0x81: case 0x83:
		return mem && reg != 7;		/* group 1 but CMP */
	case 0x86: case 0x87:
		return mem;			/* XCHG */
	case 0xf6: case 0xf7:
		return mem && (reg == 2 || reg == 3);	/* NOT, NEG */
	case 0xfe: case 0xff:
		return mem && reg <= 1;		/* INC, DEC */
	case 0x0f:
		if (n < 3)
			return 0;
		reg = (op[2] >> 3) & 7;
		mem = (op[2] >> 6) != 3;
		switch (op[1]) {
		case 0xab: case 0xb3: case 0xbb:	/* BTS, BTR, BTC r/m, r */
		case 0xb0: case 0xb1:			/* CMPXCHG */
		case 0xc0: case 0xc1:			/* XADD */
			return mem;
		case 0xba:
			return mem && reg >= 5;		/* BTS, BTR, BTC r/m, imm8 */
		case 0xc7:
			return mem && reg == 1;		/* CMPXCHG8B */
		default:
			return 0;
		}
	default:
		return 0;
	}
}

/*
 * If the instruction at `at' is one the engine cannot take (a far
 * CALL/JMP through a register, LOCK where it may not be), rewrite it and
 * return how many bytes to go on after; else 0.  At most 14 prefixes: an
 * instruction is at most 15 bytes (SDM vol. 2A, 2.3.11).  code16: 16-bit
 * code, whose addressing a 67 makes 32-bit.
 */
static size_t rewrite_at(uint8_t *code, size_t len, size_t at, int code16)
{
	size_t p = at;
	int lock = 0, o16 = 0, p67 = 0;
	uint8_t rep = 0;
	for (; p < len && p - at < 14 && fault_legacy_prefix(code[p]); p++) {
		lock |= code[p] == 0xf0;
		o16 |= code[p] == 0x66;		/* an SSE form's mandatory 66 */
		p67 |= code[p] == 0x67;
		if (code[p] == 0xf2 || code[p] == 0xf3)
			rep = code[p];
	}
	/*
	 * Only with the opcode and the byte after it there: where the bytes
	 * at hand end before (the top of the user stack, say), the CPU's
	 * fetch of the rest decides, and this code may not write past them.
	 */
	if (lock && p + 1 < len && !lock_allowed(code + p, len - p)) {
		code[at] = 0xff;		/* at least LOCK and an opcode byte */
		code[at + 1] = 0xf8;		/* ModRM: mod 3, reg 7 */
		return 2;
	}
	int a16 = (code16 != 0) ^ p67;
	size_t map = twobyte_undefined(code + p, len - p, rep, o16) ?
		     insn_map_size(code + p, len - p, a16) : 0;
	if (group_reg_undefined(code + p, len - p) || (map && p - at + map <= 15)) {
		code[p] = 0xff;			/* the prefixes stay */
		code[p + 1] = 0xf8;
		return p + 2 - at;
	}
	if (map && code[p + 1] != 0x0f) {
		/*
		 * Over 15 bytes: #GP(0) for its length.  The engine decodes the
		 * register-only ones without their memory operand's SIB and
		 * displacement, so it may see 15 bytes or fewer and run the
		 * register form.  Sixteen prefixes, which the engine takes for
		 * an over-long instruction at the same address, make sure.
		 * (3DNow!'s 0f 0f it decodes whole and faults for its length,
		 * once it has read the operand: deliver.c answers that.)
		 */
		memset(code + p, 0x26, at + 16 - p);
		return p - at + map;
	}
	if (p + 1 >= len || !engine_aborts_translating(code[p], code[p + 1]))
		return 0;
	code[p + 1] |= 7u << 3;
	return p + 2 - at;
}

/*
 * At `at', bytes the decoder could not read: if they are a VEX prefix
 * (after legacy prefixes), make its two first bytes `ff /7' and return
 * how many bytes to go on after; else 0.
 */
static size_t undecodable_vex(uint8_t *code, size_t len, size_t at)
{
	size_t p = at;
	while (p < len && p - at < 14 && fault_legacy_prefix(code[p]))
		p++;
	if (!vex_prefix(code + p, len - p))
		return 0;
	code[p] = 0xff;
	code[p + 1] = 0xf8;
	return p + 2 - at;
}

static int has_candidate(const uint8_t *code, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++) {
		unsigned k = lead_of[code[i]];
		if (!k)
			continue;
		if (k == LEAD_LOCK)
			return 1;		/* a LOCK prefix, maybe */
		if (i + 1 >= to)
			continue;
		const uint8_t *op = code + i;
		if (k == LEAD_GROUP ? group_reg_undefined(op, to - i) :
		    k == LEAD_VEX ? vex_prefix(op, to - i) :
		    k == LEAD_0F ? twobyte_candidate(op, to - i) :
		    engine_aborts_translating(op[0], op[1]))
			return 1;
	}
	return 0;
}

/*
 * A direct jump or call's target, as an offset into the code, from its
 * bytes (relative to the next instruction): jcc, jmp and call with rel8,
 * or rel32 in 32-bit code and rel16 in 16-bit code (a 66 makes it the
 * other), loop and jecxz.  -1 for anything else, or a target outside.
 */
static long branch_target(const uint8_t *code, size_t len, size_t at, size_t size, int code16)
{
	size_t p = at;
	int p66 = 0;
	while (p < at + size && fault_legacy_prefix(code[p]))
		p66 |= code[p++] == 0x66;
	if (p >= at + size)
		return -1;
	uint8_t op = code[p];
	int rel16 = (code16 != 0) ^ p66;
	int64_t rel;
	if ((op >= 0x70 && op <= 0x7f) || (op >= 0xe0 && op <= 0xe3) || op == 0xeb)
		rel = (int8_t)code[at + size - 1];
	else if (!(op == 0xe8 || op == 0xe9 ||
		   (op == 0x0f && p + 1 < at + size && (code[p + 1] & 0xf0) == 0x80)))
		return -1;
	else if (rel16 && code16)
		rel = (int16_t)((uint16_t)code[at + size - 2] | (uint16_t)code[at + size - 1] << 8);
	else if (!rel16)
		rel = (int32_t)((uint32_t)code[at + size - 4] | (uint32_t)code[at + size - 3] << 8 |
				(uint32_t)code[at + size - 2] << 16 |
				(uint32_t)code[at + size - 1] << 24);
	else
		return -1;	/* rel16 in 32-bit code: EIP wraps to 16 bits */
	int64_t t = (int64_t)(at + size) + rel;
	return t >= 0 && (uint64_t)t < len ? (long)t : -1;
}

/*
 * Does the instruction at `at' (size bytes) never go on to the next one:
 * a JMP (near or far) or a RET, RETF or IRET?  What follows it is reached
 * by a jump, maybe in another mode (a far JMP to a 16-bit code segment).
 */
static int ends_flow(const uint8_t *code, size_t at, size_t size)
{
	size_t p = at;
	while (p < at + size && fault_legacy_prefix(code[p]))
		p++;
	if (p >= at + size)
		return 0;
	unsigned reg = p + 1 < at + size ? (code[p + 1] >> 3) & 7 : 0;
	switch (code[p]) {
	case 0xe9: case 0xea: case 0xeb: case 0xc2: case 0xc3: case 0xca: case 0xcb: case 0xcf:
		return 1;
	case 0xff:
		return reg == 4 || reg == 5;	/* JMP, JMPF through r/m */
	default:
		return 0;
	}
}

struct walk {
	csh cs;
	cs_insn *insn;
	uint8_t *code;
	size_t len;
	uint32_t base;
	int code16;			/* 16-bit code: cs decodes it as such */
	int to_flow_end;		/* stop after a JMP or return (ends_flow) */
	uint8_t *seen;			/* a bit per byte: decoded as a start */
	size_t *todo;			/* branch targets still to decode from */
	size_t ntodo, cap;
	unsigned rewritten;
	const struct far_known *known;	/* or NULL */
};

static int seen(const struct walk *w, size_t at)
{
	return w->seen[at / 8] >> (at % 8) & 1;
}

/* The size an earlier decode found at `at', while the bytes are as it saw them; else 0. */
static size_t known_size(const struct walk *w, size_t at)
{
	const struct far_known *k = w->known;
	if (!k || w->rewritten)
		return 0;
	uint32_t off = w->base + (uint32_t)at - k->base;	/* below: wraps, too large */
	size_t size = off < k->len ? k->size[off] : 0;
	return at + size <= w->len ? size : 0;
}

/* The size the opcode map gives bytes the decoder does not know. */
static size_t unknown_size(const struct walk *w, size_t at)
{
	return w->code16 ? insn_unknown_size16(w->code + at, w->len - at)
			 : insn_unknown_size(w->code + at, w->len - at);
}

/*
 * Decode from `from' up to `to' (or, for a branch target, until the
 * decode meets an instruction start already seen), rewriting what the
 * decode lands on and noting the direct branches' targets.
 */
static size_t sweep(struct walk *w, size_t from, size_t to, int until_seen)
{
	size_t at = from;
	while (at < to && !(until_seen && seen(w, at))) {
		w->seen[at / 8] |= (uint8_t)(1u << (at % 8));
		/*
		 * `00 00', ADD r/m8, r8 with ModRM 00 and no displacement in
		 * either code size: two bytes, nothing to rewrite, no branch.
		 * Zeroed padding is most of a kernel image's text range (the
		 * gap before the callout slots' page): looked at as any other
		 * instruction, it was most of this sweep's cost.
		 */
		if (at + 1 < w->len && w->code[at] == 0 && w->code[at + 1] == 0) {
			at += 2;
			continue;
		}
		size_t k = rewrite_at(w->code, w->len, at, w->code16);
		if (k) {
			w->rewritten++;
			at += k;
			continue;
		}
		size_t size = known_size(w, at);
		unsigned traits;
		if (!size)
			size = insn_length(w->code + at, w->len - at, w->code16, &traits);
		if (!size) {
			const uint8_t *p = w->code + at;
			size_t left = w->len - at;
			uint64_t addr = w->base + at;
			if (!cs_disasm_iter(w->cs, &p, &left, &addr, w->insn)) {
				size_t v = undecodable_vex(w->code, w->len, at);
				w->rewritten += v != 0;
				/* else by its opcode map (`0f 0d 00', 3DNow!'s
				 * PREFETCH, is three bytes to the engine) */
				size_t u = v ? v : unknown_size(w, at);
				at += u ? u : 1;
				continue;
			}
			size = w->insn->size;
		}
		/* a target that is no start yet, with a pair right after it */
		long t = branch_target(w->code, w->len, at, size, w->code16);
		if (t >= 0 && !seen(w, (size_t)t) && w->ntodo < w->cap &&
		    has_candidate(w->code, (size_t)t,
				  (size_t)t + 16 < w->len ? (size_t)t + 16 : w->len))
			w->todo[w->ntodo++] = (size_t)t;
		at += size;
		if (w->to_flow_end && ends_flow(w->code, at - size, size))
			break;
	}
	return at;
}

unsigned far_indirect_rewrite(csh cs, cs_insn *insn, uint8_t *code, size_t len,
			      uint32_t base, int mode, const uint32_t *anchors,
			      size_t nanchors, const struct far_known *known)
{
	if (!has_candidate(code, 0, len))
		return 0;
	struct walk w = { cs, insn, code, len, base, (mode & FAR_CODE16) != 0,
			  (mode & FAR_TO_FLOW_END) != 0, calloc(len / 8 + 1, 1), NULL, 0, 4096, 0,
			  known };
	w.todo = malloc(w.cap * sizeof(*w.todo));
	if (!w.seen || !w.todo) {
		free(w.seen);
		free(w.todo);
		return 0;
	}
	/* each stretch from one anchor to the next, decoded from its anchor */
	for (size_t i = 0; i < nanchors; i++) {
		if (anchors[i] < base || anchors[i] - base >= len)
			continue;
		size_t from = anchors[i] - base, to = len;
		if (i + 1 < nanchors && anchors[i + 1] > anchors[i] && anchors[i + 1] - base < len)
			to = anchors[i + 1] - base;
		/* only stretches with a pair (the last instruction may run past) */
		if (has_candidate(code, from, to + 16 < len ? to + 16 : len))
			(void)sweep(&w, from, to, 0);
	}
	/* then from the direct branch targets with a pair right after them */
	while (w.ntodo) {
		size_t t = w.todo[--w.ntodo];
		if (!seen(&w, t))
			(void)sweep(&w, t, t + 32 < len ? t + 32 : len, 1);
	}
	free(w.seen);
	free(w.todo);
	return w.rewritten;
}

/*
 * Code a program wrote and runs: user code it stores into, or bytes it
 * stores into its data or stack and jumps to.  Those pages are mapped
 * without exec, so the engine tells of each fetch it makes to translate
 * code there, a few bytes at a time and in order, before it reads them.
 * A fetch that does not follow on from the last one starts a block (or
 * an instruction translated alone, or a jump into the middle of one):
 * an instruction start, the stream's anchor.  So does one after a guest
 * store to a watched page: the engine translates nothing while it runs,
 * so it is translating a new block, of bytes that may have changed.
 * Ahead of the fetches, by FETCH_AHEAD bytes, the stream's bytes are
 * scanned for a first byte of the instructions above; where there is
 * one, the decode that rewrites loaded code runs from the anchor over
 * them, and where it stopped is the next anchor.  The engine then
 * translates the rewritten bytes, and the reset puts the originals back.
 */
#define FETCH_AHEAD 64u

void far_indirect_fetch_hook(void *data, uint32_t addr, uint32_t size)
{
	struct entryemu *m = data;
	/*
	 * The same bytes again is no jump: decoding c4 or c5 (LES, LDS or a
	 * VEX prefix), the engine reads the next byte, and for LES and LDS
	 * reads it again as their ModRM.  An anchor there would be inside
	 * the instruction, and the decode from it out of step: `les
	 * 4(%eax),%eax; movl $0xc0c4,%ecx' had the c4 c0 of the immediate
	 * taken for a VEX prefix and rewritten.  That is within one
	 * translation; a block run since makes it a new one, from those
	 * bytes: `eb ff' (jmp .-1) goes on at its own last byte, which the
	 * engine read last.
	 */
	uint64_t blocks = m->count ? m->count->blocks : 0;
	int again = addr == m->fetch_last && addr + size == m->fetch_next &&
		    blocks == m->fetch_blocks;
	m->fetch_blocks = blocks;
	if ((addr != m->fetch_next && !again) || m->fetch_stores != m->watched_stores) {
		m->fetch_from = m->fetch_clean = addr;
		m->fetch_stores = m->watched_stores;
	}
	m->fetch_last = addr;
	m->fetch_next = addr + size;
	if (m->fetch_next <= m->fetch_clean)
		return;			/* scanned already */
	uint32_t a = m->fetch_from;
	size_t want = (size_t)(m->fetch_next - a) + FETCH_AHEAD;
	size_t len = machine_avail(m, a, want + 15);	/* the last one may run on */
	uint8_t *code = len ? machine_ptr(m, a, 1) : NULL;	/* len bytes on in the host */
	if (!code) {
		m->fetch_clean = m->fetch_next;
		return;
	}
	size_t to = want < len ? want : len;
	if (!has_candidate(code, m->fetch_clean - a, len)) {
		m->fetch_clean = a + (uint32_t)to;
		return;
	}
	uint8_t *seen_bits = calloc(len / 8 + 1, 1);
	if (!seen_bits)
		return;
	/* in the mode the CPU fetches in */
	int code16 = (machine_reg(m, ER_EFLAGS) & ENTRYEMU_EFLAGS_VM) || machine_cs_16(m);
	struct walk w = { code16 ? m->cs_count16 : m->cs_count, m->count_insn, code, len, a,
			  code16, 1, seen_bits, NULL, 0, 0, 0, NULL };
	size_t end = sweep(&w, 0, to, 0);
	free(seen_bits);
	m->fetch_from = m->fetch_clean = a + (uint32_t)end;
	if (w.rewritten)
		machine_mark_dirty(m, a, (uint32_t)end);
}
