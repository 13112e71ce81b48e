/*
 * Instruction sizes that need no decoder.  The load-time sweep of the
 * image's code (far_indirect.c) meets long runs of zero padding between
 * sections, and decoding each `00 00' with Capstone was a fifth of a
 * cold replay; the sweep of each fuzzed program's code and the count of
 * each block's instructions (counting.c) asked Capstone for most of
 * theirs, 6% of fuzz_entry's time.  The fault model measures an
 * instruction Capstone does not know by its ModRM (fault.c).
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


/*
 * The one-byte opcode map for 32-bit code (SDM vol. 2A table A-2): what
 * follows each opcode.  Only opcodes whose every ModRM is defined, or
 * whose ModRM the decode checks (OPS_MEM and the groups), have a shape;
 * the rest (0) are left to a decoder: the two-byte escape (taken on its
 * own below), the prefixes, the segment-register MOVs, FWAIT (a decoder
 * takes it and an x87 instruction after it as one), SALC, INT1 and the
 * x87 escapes.
 */
enum ops {
	OPS_UNKNOWN,
	OPS_NONE,		/* the opcode alone */
	OPS_MODRM,		/* ModRM (SIB, displacement) */
	OPS_MEM,		/* a ModRM that must name memory: BOUND, LEA, LES, LDS */
	OPS_MODRM_I8,		/* ModRM, then ib */
	OPS_MODRM_IZ,		/* ModRM, then iw or id by operand size */
	OPS_I8,			/* ib or rel8 */
	OPS_I16,		/* iw: RET and RETF imm16 */
	OPS_IZ,			/* iw or id by operand size; rel16 or rel32 */
	OPS_ENTER,		/* iw, then ib */
	OPS_FAR,		/* ptr16:16 or ptr16:32 by operand size */
	OPS_MOFFS,		/* moffs16 or moffs32 by address size */
	OPS_GROUP11,		/* c6, c7: MOV, ModRM.reg 0 only, then the immediate */
	OPS_GROUP3,		/* f6, f7: TEST (reg 0) has an immediate, 2-7 none */
	OPS_GROUP4,		/* fe: INC and DEC (reg 0, 1) */
	OPS_GROUP5,		/* ff: reg 0-6; far CALL and JMP (3, 5) memory only */
	OPS_GROUP1A,		/* 8f: POP r/m, reg 0 only */
};

static const uint8_t one_byte_ops[256] = {
	/* the eight ALU rows: r/m and reg both ways, then AL,ib and eAX,iz */
	[0x00 ... 0x03] = OPS_MODRM, [0x08 ... 0x0b] = OPS_MODRM,
	[0x10 ... 0x13] = OPS_MODRM, [0x18 ... 0x1b] = OPS_MODRM,
	[0x20 ... 0x23] = OPS_MODRM, [0x28 ... 0x2b] = OPS_MODRM,
	[0x30 ... 0x33] = OPS_MODRM, [0x38 ... 0x3b] = OPS_MODRM,
	[0x04] = OPS_I8, [0x0c] = OPS_I8, [0x14] = OPS_I8, [0x1c] = OPS_I8,
	[0x24] = OPS_I8, [0x2c] = OPS_I8, [0x34] = OPS_I8, [0x3c] = OPS_I8,
	[0x05] = OPS_IZ, [0x0d] = OPS_IZ, [0x15] = OPS_IZ, [0x1d] = OPS_IZ,
	[0x25] = OPS_IZ, [0x2d] = OPS_IZ, [0x35] = OPS_IZ, [0x3d] = OPS_IZ,
	/* PUSH and POP ES, CS, SS, DS; DAA, DAS, AAA, AAS */
	[0x06] = OPS_NONE, [0x07] = OPS_NONE, [0x0e] = OPS_NONE, [0x16] = OPS_NONE,
	[0x17] = OPS_NONE, [0x1e] = OPS_NONE, [0x1f] = OPS_NONE,
	[0x27] = OPS_NONE, [0x2f] = OPS_NONE, [0x37] = OPS_NONE, [0x3f] = OPS_NONE,
	/* INC, DEC, PUSH, POP of a register; PUSHA, POPA, BOUND, ARPL */
	[0x40 ... 0x61] = OPS_NONE, [0x62] = OPS_MEM, [0x63] = OPS_MODRM,
	/* PUSH iz, IMUL iz, PUSH ib, IMUL ib, INS, OUTS; Jcc rel8 */
	[0x68] = OPS_IZ, [0x69] = OPS_MODRM_IZ, [0x6a] = OPS_I8, [0x6b] = OPS_MODRM_I8,
	[0x6c ... 0x6f] = OPS_NONE, [0x70 ... 0x7f] = OPS_I8,
	/* group 1; TEST, XCHG, MOV; LEA; group 1A */
	[0x80] = OPS_MODRM_I8, [0x81] = OPS_MODRM_IZ, [0x82] = OPS_MODRM_I8,
	[0x83] = OPS_MODRM_I8, [0x84 ... 0x8b] = OPS_MODRM, [0x8d] = OPS_MEM,
	[0x8f] = OPS_GROUP1A,
	/* XCHG with eAX (90: NOP), CBW, CWD, far CALL; PUSHF .. LAHF */
	[0x90 ... 0x99] = OPS_NONE, [0x9a] = OPS_FAR, [0x9c ... 0x9f] = OPS_NONE,
	/* MOV moffs; MOVS, CMPS; TEST; STOS .. SCAS; MOV reg, imm */
	[0xa0 ... 0xa3] = OPS_MOFFS, [0xa4 ... 0xa7] = OPS_NONE, [0xa8] = OPS_I8,
	[0xa9] = OPS_IZ, [0xaa ... 0xaf] = OPS_NONE, [0xb0 ... 0xb7] = OPS_I8,
	[0xb8 ... 0xbf] = OPS_IZ,
	/* shift group 2 with ib; RET; LES, LDS (c4, c5 with mod 11 are VEX);
	 * group 11; ENTER, LEAVE, RETF; INT3, INT, INTO, IRET */
	[0xc0] = OPS_MODRM_I8, [0xc1] = OPS_MODRM_I8, [0xc2] = OPS_I16, [0xc3] = OPS_NONE,
	[0xc4] = OPS_MEM, [0xc5] = OPS_MEM, [0xc6] = OPS_GROUP11, [0xc7] = OPS_GROUP11,
	[0xc8] = OPS_ENTER, [0xc9] = OPS_NONE, [0xca] = OPS_I16, [0xcb] = OPS_NONE,
	[0xcc] = OPS_NONE, [0xcd] = OPS_I8, [0xce] = OPS_NONE, [0xcf] = OPS_NONE,
	/* shift group 2 by 1 and by CL; AAM, AAD; XLAT */
	[0xd0 ... 0xd3] = OPS_MODRM, [0xd4] = OPS_I8, [0xd5] = OPS_I8, [0xd7] = OPS_NONE,
	/* LOOPNE .. JECXZ, IN, OUT ib; CALL, JMP rel; far JMP; JMP rel8; IN, OUT DX */
	[0xe0 ... 0xe7] = OPS_I8, [0xe8] = OPS_IZ, [0xe9] = OPS_IZ, [0xea] = OPS_FAR,
	[0xeb] = OPS_I8, [0xec ... 0xef] = OPS_NONE,
	/* HLT, CMC; group 3; CLC .. STD; groups 4 and 5 */
	[0xf4] = OPS_NONE, [0xf5] = OPS_NONE, [0xf6] = OPS_GROUP3, [0xf7] = OPS_GROUP3,
	[0xf8 ... 0xfd] = OPS_NONE, [0xfe] = OPS_GROUP4, [0xff] = OPS_GROUP5,
};

/*
 * The two-byte opcodes (0f xx) taken here, all with every ModRM defined
 * (vol. 2A table A-3): CMOVcc, SETcc, the bit tests, double shifts,
 * IMUL, CMPXCHG, MOVZX, MOVSX, XADD, BSF, BSR; and without a ModRM,
 * Jcc rel, PUSH and POP FS and GS, CPUID, RDTSC, UD2, BSWAP.  Their
 * ModRM and imm8 are the map's (insn_map_size); Jcc's rel16 or rel32 is
 * added here.  An F2 or F3 prefix changes some of these into other
 * instructions (F3 0f bc is TZCNT): with one, a decoder is asked.
 */
static const uint8_t two_byte_known[256] = {
	[0x0b] = 1, [0x31] = 1, [0x40 ... 0x4f] = 1, [0x80 ... 0x9f] = 1,
	[0xa0 ... 0xa5] = 1, [0xa8] = 1, [0xa9] = 1, [0xab ... 0xad] = 1, [0xaf] = 1,
	[0xb0] = 1, [0xb1] = 1, [0xb3] = 1, [0xb6] = 1, [0xb7] = 1, [0xbb ... 0xbf] = 1,
	[0xc0] = 1, [0xc1] = 1, [0xc8 ... 0xcf] = 1,
};

/*
 * The pushes and pops, near CALL, near RET and IRET (not ENTER, LEAVE,
 * far CALL or RETF, nor INT n): what counting.c counts as moving the
 * stack.
 */
static int one_byte_moves_stack(uint8_t op, uint8_t reg)
{
	switch (op) {
	case 0x06: case 0x07: case 0x0e: case 0x16: case 0x17: case 0x1e: case 0x1f:
	case 0x60: case 0x61: case 0x68: case 0x6a: case 0x8f: case 0x9c: case 0x9d:
	case 0xc2: case 0xc3: case 0xcf: case 0xe8:
		return 1;
	case 0xff:
		return reg == 2 || reg == 6;	/* CALL r/m, PUSH r/m */
	default:
		return op >= 0x50 && op <= 0x5f;
	}
}

/*
 * A one-byte opcode of these shapes that still reads or writes memory:
 * INS, OUTS and the other strings, LEAVE, RETF, INT3, INT, INTO, XLAT
 * (the pushes and pops are one_byte_moves_stack's).
 */
static int one_byte_implicit_memory(uint8_t op)
{
	return (op >= 0x6c && op <= 0x6f) || (op >= 0xa4 && op <= 0xa7) ||
	       (op >= 0xaa && op <= 0xaf) || op == 0xc9 || op == 0xcb ||
	       (op >= 0xcc && op <= 0xce) || op == 0xd7;
}

/* Registers and immediates only: a ModRM naming a register, or no memory implied. */
static int one_byte_register_only(uint8_t op, unsigned ops, uint8_t reg, uint8_t mod)
{
	if (one_byte_moves_stack(op, reg))
		return 0;
	switch (ops) {
	case OPS_MODRM: case OPS_MODRM_I8: case OPS_MODRM_IZ: case OPS_GROUP11:
	case OPS_GROUP3: case OPS_GROUP4: case OPS_GROUP5: case OPS_GROUP1A:
		return mod == 3;
	case OPS_NONE: case OPS_I8: case OPS_IZ:
		return !one_byte_implicit_memory(op);
	default:
		return 0;	/* BOUND, LEA, LES, LDS; far pointers, moffs; RET imm16, ENTER */
	}
}

size_t insn_length(const uint8_t *code, size_t len, int code16, unsigned *traits)
{
	size_t p = 0;
	int p66 = 0, p67 = 0, rep = 0;
	*traits = 0;
	for (; p < len && insn_legacy_prefix(code[p]); p++) {
		if (p == 14 || code[p] == 0xf0)
			return 0;	/* over-long, or LOCK: a decoder's */
		p66 |= code[p] == 0x66;
		p67 |= code[p] == 0x67;
		rep |= code[p] == 0xf2 || code[p] == 0xf3;
		if (code[p] == 0x2e)
			*traits |= INSN_CS_PREFIX;
	}
	if (p + 1 > len || (rep && p66))
		return 0;	/* F2 or F3 with 66: a decoder may take them for an SSE form */
	/* 66 and 67 select the size the code segment does not (vol. 1 3.6) */
	int o16 = (code16 != 0) ^ p66, a16 = (code16 != 0) ^ p67;
	size_t z = o16 ? 2 : 4;		/* iz, rel16/32, the offset of a far pointer */
	if (code[p] == 0x0f) {
		uint8_t op2 = p + 1 < len ? code[p + 1] : 0;
		if (rep || p + 1 >= len || !two_byte_known[op2])
			return 0;
		size_t n = insn_map_size(code + p, len - p, a16);
		if (op2 >= 0x80 && op2 <= 0x8f)
			n += z;			/* Jcc rel16 or rel32 */
		if (!n || p + n > len || p + n > 15)
			return 0;
		if (op2 == 0xa0 || op2 == 0xa1 || op2 == 0xa8 || op2 == 0xa9)
			*traits |= INSN_MOVES_STACK;	/* PUSH, POP FS and GS */
		/* UD2, RDTSC, Jcc, BSWAP have no ModRM; the rest, one naming a register */
		if (op2 == 0x0b || op2 == 0x31 || (op2 >= 0x80 && op2 <= 0x8f) || op2 >= 0xc8 ||
		    (!(*traits & INSN_MOVES_STACK) && p + 2 < len && code[p + 2] >> 6 == 3))
			*traits |= INSN_NO_MEMORY;
		return p + n;
	}
	uint8_t op = code[p++];
	unsigned ops = one_byte_ops[op];
	uint8_t reg = p < len ? (code[p] >> 3) & 7 : 0, mod = p < len ? code[p] >> 6 : 0;
	size_t n;		/* after the opcode: ModRM and the rest */
	switch (ops) {
	case OPS_NONE: n = 0; break;
	case OPS_I8: n = 1; break;
	case OPS_I16: n = 2; break;
	case OPS_IZ: n = z; break;
	case OPS_ENTER: n = 3; break;
	case OPS_FAR: n = z + 2; break;
	case OPS_MOFFS: n = a16 ? 2 : 4; break;
	case OPS_MODRM: case OPS_MODRM_I8: case OPS_MODRM_IZ:
	case OPS_MEM: case OPS_GROUP11: case OPS_GROUP3: case OPS_GROUP4:
	case OPS_GROUP5: case OPS_GROUP1A:
		if (p >= len)
			return 0;
		if ((ops == OPS_MEM && mod == 3) || (ops == OPS_GROUP11 && reg) ||
		    (ops == OPS_GROUP1A && reg) || (ops == OPS_GROUP3 && reg == 1) ||
		    (ops == OPS_GROUP4 && reg > 1) ||
		    (ops == OPS_GROUP5 && (reg == 7 || (mod == 3 && (reg == 3 || reg == 5)))))
			return 0;	/* undefined (#UD), or VEX: a decoder's */
		n = insn_modrm_size(code + p, len - p, a16);
		if (!n)
			return 0;
		if (ops == OPS_MODRM_I8)
			n += 1;
		else if (ops == OPS_MODRM_IZ || (ops == OPS_GROUP11 && op == 0xc7) ||
			 (ops == OPS_GROUP3 && !reg && op == 0xf7))
			n += z;
		else if ((ops == OPS_GROUP11 && op == 0xc6) || (ops == OPS_GROUP3 && !reg))
			n += 1;
		break;
	default:
		return 0;
	}
	if (p + n > len || p + n > 15)
		return 0;
	if (one_byte_moves_stack(op, reg))
		*traits |= INSN_MOVES_STACK;
	if (one_byte_register_only(op, ops, reg, mod))
		*traits |= INSN_NO_MEMORY;
	if (op == 0x07 || op == 0x1f || op == 0xc4 || op == 0xc5)
		*traits |= INSN_LOADS_DS_ES;	/* POP ES, POP DS, LES, LDS */
	return p + n;
}

int insn_rotates_through_carry_memory(const uint8_t *code, size_t len)
{
	size_t i = 0;
	while (i < len && insn_legacy_prefix(code[i]))
		i++;
	if (i + 1 >= len || !((code[i] >= 0xc0 && code[i] <= 0xc1) ||
			      (code[i] >= 0xd0 && code[i] <= 0xd3)))
		return 0;
	unsigned reg = (code[i + 1] >> 3) & 7;
	return code[i + 1] >> 6 != 3 && (reg == 2 || reg == 3);
}
