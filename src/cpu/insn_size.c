/*
 * Instruction sizes that need no decoder.  The load-time sweep of the
 * image's code (far_indirect.c) meets long runs of zero padding between
 * sections, and decoding each `00 00' with Capstone was a fifth of a
 * cold replay; the fault model measures an instruction Capstone does not
 * know by its ModRM (fault.c).
 */
#include "cpu/insn_size.h"

size_t insn_modrm_size(const uint8_t *modrm, size_t len, int addr16)
{
	if (!len)
		return 0;
	uint8_t mod = modrm[0] >> 6, rm = modrm[0] & 7;
	if (mod == 3)
		return 1;
	if (addr16)			/* table 2-1: no SIB; r/m 110 with mod 00: disp16 */
		return 1 + (mod == 1 ? 1u : mod == 2 || rm == 6 ? 2u : 0u);
	size_t n = 1;
	if (rm == 4) {			/* table 2-2: a SIB byte (2-3: base 101, mod 00: disp32) */
		if (len < 2)
			return 0;
		n++;
		if (mod == 0 && (modrm[1] & 7) == 5)
			n += 4;
	} else if (mod == 0 && rm == 5) {
		n += 4;			/* disp32 alone */
	}
	return n + (mod == 1 ? 1u : mod == 2 ? 4u : 0u);
}

size_t insn_plain_size(const uint8_t *code, size_t len)
{
	if (!len)
		return 0;
	uint8_t op = code[0];
	if (op == 0x90 || op == 0xcc)
		return 1;		/* NOP, INT3: the usual padding */
	/*
	 * The eight ALU operations' r/m, reg forms (00-03, 08-0b, ... 38-3b),
	 * TEST, XCHG and MOV between r/m and reg (84-8b): an opcode and a
	 * ModRM, with no immediate, every ModRM defined (SDM vol. 2A 2.1.5,
	 * table 2-2: zero padding is 00 00, ADD %al,(%eax)).
	 */
	if (!((op < 0x40 && (op & 7) < 4) || (op >= 0x84 && op <= 0x8b)))
		return 0;
	size_t m = insn_modrm_size(code + 1, len - 1, 0);
	return m && 1 + m <= len ? 1 + m : 0;
}
