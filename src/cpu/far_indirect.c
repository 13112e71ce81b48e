/*
 * Far CALL and JMP through a register: an invalid opcode on the CPU, a
 * process abort in the engine.
 *
 * Group 5's far forms, `ff /3' (CALLF) and `ff /5' (JMPF), take only a
 * memory operand, m16:16 or m16:32 (SDM vol. 2A, CALL and JMP; vol. 2D,
 * table A-6, "Ep" and "Mp": a ModRM that may refer only to memory).
 * With ModRM.mod = 3 the CPU raises #UD and changes nothing.  Unicorn
 * 2.0.1's translator has no such check: it emits a load from an address
 * it never computed, and its code generator aborts the whole process
 * ("tcg fatal error") as soon as it translates the block.
 *
 * So before code is handed to the engine, each such instruction found at
 * an instruction boundary gets ModRM.reg = 7.  `ff /7' is undefined in
 * group 5 (table A-6), so the engine raises #UD at the same address,
 * with the same length and no side effect: what the CPU does for the
 * original bytes.  The one visible difference is the rewritten byte
 * itself, to a guest that reads its own code (docs/fidelity.md).
 *
 * Boundaries come from a linear decode that starts at anchors the caller
 * knows to be instruction starts (the start of user code; the image's
 * symbols).  A jump into the middle of an instruction can still reach an
 * unrewritten pair; nothing short of translating one instruction at a
 * time would find those.
 */
#include "cpu/far_indirect.h"
#include "cpu/fault.h"

#include <string.h>

/* ModRM with mod = 3 and reg = 3 (CALLF) or 5 (JMPF). */
static int far_through_register(uint8_t modrm)
{
	unsigned reg = (modrm >> 3) & 7;
	return (modrm >> 6) == 3 && (reg == 3 || reg == 5);
}

/*
 * If an instruction at `at' is a far CALL/JMP through a register, rewrite
 * it and return its length; else 0.  At most 14 prefixes: an instruction
 * is at most 15 bytes (SDM vol. 2A, 2.3.11).
 */
static size_t rewrite_at(uint8_t *code, size_t len, size_t at)
{
	size_t p = at;
	while (p < len && p - at < 14 && fault_legacy_prefix(code[p]))
		p++;
	if (p + 1 >= len || code[p] != 0xff || !far_through_register(code[p + 1]))
		return 0;
	code[p + 1] |= 7u << 3;
	return p + 2 - at;
}

static int has_candidate(const uint8_t *code, size_t from, size_t to)
{
	for (size_t i = from; i + 1 < to; i++) {
		const uint8_t *ff = memchr(code + i, 0xff, to - 1 - i);
		if (!ff)
			return 0;
		i = (size_t)(ff - code);
		if (far_through_register(code[i + 1]))
			return 1;
	}
	return 0;
}

/* Decode from `from' up to `to', rewriting what the decode lands on. */
static unsigned sweep(csh cs, cs_insn *insn, uint8_t *code, size_t len, uint32_t base,
		      size_t from, size_t to)
{
	unsigned n = 0;
	size_t at = from;
	while (at < to) {
		size_t k = rewrite_at(code, len, at);
		if (k) {
			n++;
			at += k;
			continue;
		}
		const uint8_t *p = code + at;
		size_t left = len - at;
		uint64_t addr = base + at;
		at += cs_disasm_iter(cs, &p, &left, &addr, insn) ? insn->size : 1;
	}
	return n;
}

unsigned far_indirect_rewrite(csh cs, cs_insn *insn, uint8_t *code, size_t len,
			      uint32_t base, const uint32_t *anchors, size_t nanchors)
{
	unsigned n = 0;
	if (!has_candidate(code, 0, len))
		return 0;
	/* each stretch from one anchor to the next, decoded from its anchor */
	for (size_t i = 0; i < nanchors; i++) {
		if (anchors[i] < base || anchors[i] - base >= len)
			continue;
		size_t from = anchors[i] - base, to = len;
		if (i + 1 < nanchors && anchors[i + 1] > anchors[i] && anchors[i + 1] - base < len)
			to = anchors[i + 1] - base;
		/* the last instruction of the stretch may run past its end */
		if (has_candidate(code, from, to + 16 < len ? to + 16 : len))
			n += sweep(cs, insn, code, len, base, from, to);
	}
	return n;
}
