/*
 * Instruction sizes that need no decoder.  The load-time sweep of the
 * image's code (far_indirect.c) meets long runs of zero padding between
 * sections, and decoding each `00 00' with Capstone was a fifth of a
 * cold replay; the fault model measures an instruction Capstone does not
 * know by its ModRM (fault.c).
 */
#include "cpu/insn_size.h"

int insn_legacy_prefix(uint8_t b)
{
	/* a table, not comparisons: the per-instruction checks ask this of
	 * every byte they skip (and a fuzz build hooks every comparison) */
	static const uint8_t legacy[256] = {
		[0x26] = 1, [0x2e] = 1, [0x36] = 1, [0x3e] = 1, [0x64] = 1, [0x65] = 1,
		[0x66] = 1, [0x67] = 1, [0xf0] = 1, [0xf2] = 1, [0xf3] = 1,
	};
	return legacy[b];
}

int insn_has_prefix(const uint8_t *code, size_t len, uint8_t prefix)
{
	for (size_t i = 0; i < len && insn_legacy_prefix(code[i]); i++)
		if (code[i] == prefix)
			return 1;
	return 0;
}

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

/*
 * The two-byte opcodes (0f xx) with no ModRM byte (vol. 2A table A-3):
 * SYSCALL, CLTS, SYSRET, INVD, WBINVD, UD2, FEMMS, WRMSR .. SYSEXIT,
 * GETSEC, EMMS, the Jcc rel32 forms, PUSH/POP FS and GS, CPUID, RSM,
 * BSWAP.  Every other one, defined or not, has one.
 */
int insn_twobyte_has_modrm(uint8_t b)
{
	return !((b >= 0x05 && b <= 0x09) || b == 0x0b || b == 0x0e ||
		 (b >= 0x30 && b <= 0x37 && b != 0x36) || b == 0x77 || (b >= 0x80 && b <= 0x8f) ||
		 (b >= 0xa0 && b <= 0xa2) || (b >= 0xa8 && b <= 0xaa) || (b >= 0xc8 && b <= 0xcf));
}

/*
 * The two-byte opcodes whose operands end in an imm8 (vol. 2A table A-3,
 * "Ib"): PSHUFW and its kin (70), groups 12 to 14 (71-73), SHLD and SHRD
 * (a4, ac), group 8 (ba), CMPPS (c2), PINSRW, PEXTRW and SHUFPS (c4-c6),
 * for every ModRM.reg of a group, defined or not; and 0f 0f, 3DNow!
 * (AMD64 APM vol. 3 appendix A: the operation is chosen by that byte).
 */
static int twobyte_imm8(uint8_t b)
{
	return b == 0x0f || (b >= 0x70 && b <= 0x73) || b == 0xa4 || b == 0xac || b == 0xba ||
	       b == 0xc2 || (b >= 0xc4 && b <= 0xc6);
}

/*
 * The opcode (two bytes after 0f, three after 0f 38 and 0f 3a: vol. 2A
 * 2.1.2), then the ModRM with its SIB and displacement where the map
 * gives the opcode one: every opcode of the three-byte maps and most of
 * the two-byte map (A.3, tables ); then the imm8 of every
 * 0f 3a opcode and of the two-byte ones above.  The rest of the
 * two-byte map (a Jcc's rel32, say) is the decoder's to know.
 */
size_t insn_map_size(const uint8_t *op, size_t len, int addr16)
{
	if (len < 2 || op[0] != 0x0f)
		return 0;
	size_t n = op[1] == 0x38 || op[1] == 0x3a ? 3 : 2;
	int modrm = n == 3 || insn_twobyte_has_modrm(op[1]);
	size_t imm8 = n == 3 ? op[1] == 0x3a : twobyte_imm8(op[1]);
	if (!modrm)
		return n <= len ? n : 0;
	if (n >= len)
		return 0;
	size_t m = insn_modrm_size(op + n, len - n, addr16);
	return m && n + m + imm8 <= len ? n + m + imm8 : 0;
}

/* code16: the segment's default is 16-bit addressing, which a 67 turns to 32-bit */
static size_t unknown_size(const uint8_t *code, size_t len, int code16)
{
	size_t p = 0;
	int flip = 0;
	while (p < len && p < 14 && insn_legacy_prefix(code[p]))
		flip |= code[p++] == 0x67;
	size_t n = p < len ? insn_map_size(code + p, len - p, code16 ^ flip) : 0;
	return n ? p + n : 0;
}

size_t insn_unknown_size(const uint8_t *code, size_t len)
{
	return unknown_size(code, len, 0);
}

size_t insn_unknown_size16(const uint8_t *code, size_t len)
{
	return unknown_size(code, len, 1);
}
