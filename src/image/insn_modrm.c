/*
 * The commonest entry-code instructions with a ModRM byte, without a
 * decoder (insn_facts.h): MOV, the ALU operations, TEST, INC, DEC, PUSH,
 * CALL and JMP through r/m, LEA, MOVZX and MOVSX, with a register or a
 * memory operand, an operand-size prefix and a segment override.  The
 * sweep of each image (accesses.c) met about 125 of them an open, and
 * Capstone's decode with detail cost about 4,000 host instructions
 * each; they are most of what insn_facts_plain() leaves.
 *
 * Encodings: SDM vol. 2A, 2.1 (prefixes, ModRM, SIB, displacement) and
 * table 2-2 (32-bit addressing forms with the ModRM byte), table 2-3
 * (with the SIB byte); appendix A's one- and two-byte maps and table A-6
 * (groups 1, 3, 5, 11).  The operand is given as Capstone gives it
 * (cs_x86_op), since the checkers read the operands of either path:
 * tests/test_insn_facts.c holds every encoding taken here against
 * Capstone's decode.
 */
#include "image/insn_facts.h"

#include <string.h>

#define P_OSIZE	0x66u

static const x86_reg reg32[8] = {
	X86_REG_EAX, X86_REG_ECX, X86_REG_EDX, X86_REG_EBX,
	X86_REG_ESP, X86_REG_EBP, X86_REG_ESI, X86_REG_EDI,
};

/* The segment register a segment-override prefix names, or X86_REG_INVALID. */
static x86_reg override_of(uint8_t b)
{
	switch (b) {
	case 0x26: return X86_REG_ES;
	case 0x2e: return X86_REG_CS;
	case 0x36: return X86_REG_SS;
	case 0x3e: return X86_REG_DS;
	case 0x64: return X86_REG_FS;
	case 0x65: return X86_REG_GS;
	default: return X86_REG_INVALID;
	}
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/*
 * The memory operand of the ModRM at m (len bytes there) in 32-bit
 * addressing, into op: the bytes of ModRM, SIB and displacement, or 0
 * for a register form, bytes cut short, or an encoding left to the
 * decoder (a SIB with no index and a scale other than 1).
 */
static size_t mem_operand(const uint8_t *m, size_t len, cs_x86_op *op)
{
	unsigned mod = m[0] >> 6, rm = m[0] & 7u;
	if (mod == 3)
		return 0;
	memset(op, 0, sizeof(*op));
	op->type = X86_OP_MEM;
	op->mem.segment = X86_REG_INVALID;
	op->mem.base = X86_REG_INVALID;
	op->mem.index = X86_REG_INVALID;
	op->mem.scale = 1;
	size_t n = 1;
	unsigned base = rm;
	if (rm == 4) {				/* a SIB byte follows */
		if (len < 2)
			return 0;
		unsigned ss = m[1] >> 6, index = (m[1] >> 3) & 7u;
		base = m[1] & 7u;
		n = 2;
		if (index != 4)
			op->mem.index = reg32[index];
		else if (ss)
			return 0;
		op->mem.scale = 1 << ss;
	}
	size_t disp = mod == 1 ? 1 : mod == 2 ? 4 : 0;
	if (mod == 0 && base == 5)
		disp = 4;			/* disp32, no base */
	else
		op->mem.base = reg32[base];
	if (len < n + disp)
		return 0;
	if (disp == 1)
		op->mem.disp = (int8_t)m[n];
	else if (disp == 4)
		op->mem.disp = (int32_t)le32(m + n);
	return n + disp;
}

/* The register operand ModRM.reg or .rm names at an operand size of `size' bytes, as a bit. */
static unsigned gpr_bit(unsigned r, unsigned size)
{
	return 1u << (size == 1 ? r & 3u : r);	/* AH..BH are EAX..EBX's */
}

enum { RD = CS_AC_READ, WR = CS_AC_WRITE, RW = CS_AC_READ | CS_AC_WRITE };

/*
 * One form: how the instruction uses its r/m operand (access), whether
 * ModRM.reg is a register it reads or writes, its immediate's size, the
 * r/m operand's size (0: the operand size), and how control leaves it.
 */
struct form {
	uint8_t rm_access;		/* RD, WR, RW; 0 for LEA (no access) */
	uint8_t reg_reads, reg_writes;	/* ModRM.reg as a general register */
	uint8_t imm;			/* 1, 4 (2 with 66): immediate bytes */
	uint8_t rm_size;		/* 1, 2; 0: the operand size */
	uint8_t reg_size;		/* 1; 0: the operand size */
	uint8_t flow, moves_stack;
	uint8_t sreg;			/* ModRM.reg is a segment register */
};

/* ALU operation n (ADD OR ADC SBB AND SUB XOR CMP): CMP only reads its destination. */
static uint8_t alu_access(unsigned n)
{
	return n == 7 ? RD : RW;
}

/* The form of the opcode at c (one or two bytes), or 0 for one not taken here. */
static int form_of(const uint8_t *c, size_t len, struct form *fm)
{
	memset(fm, 0, sizeof(*fm));
	uint8_t op = c[0];
	if (op == 0x0f) {
		if (len < 2)
			return 0;
		switch (c[1]) {
		case 0xb6: case 0xbe:		/* movzx, movsx r32, r/m8 */
			*fm = (struct form){ .rm_access = RD, .reg_writes = 1, .rm_size = 1 };
			return 2;
		case 0xb7: case 0xbf:		/* movzx, movsx r32, r/m16 */
			*fm = (struct form){ .rm_access = RD, .reg_writes = 1, .rm_size = 2 };
			return 2;
		default:
			return 0;
		}
	}
	if (len < 2)
		return 0;
	unsigned reg = (c[1] >> 3) & 7u;
	if (op < 0x40 && (op & 7u) < 4) {	/* ALU: 00-03, 08-0b, ... 38-3b */
		unsigned n = op >> 3;
		int byte = !(op & 1u), to_rm = !(op & 2u);
		fm->rm_access = to_rm ? alu_access(n) : RD;
		fm->reg_reads = 1;
		fm->reg_writes = !to_rm && n != 7;
		fm->rm_size = fm->reg_size = byte ? 1 : 0;
		return 1;
	}
	switch (op) {
	case 0x84: case 0x85:			/* test r/m, r */
		*fm = (struct form){ .rm_access = RD, .reg_reads = 1 };
		fm->rm_size = fm->reg_size = op == 0x84;
		return 1;
	case 0x88: case 0x89:			/* mov r/m, r */
		*fm = (struct form){ .rm_access = WR, .reg_reads = 1 };
		fm->rm_size = fm->reg_size = op == 0x88;
		return 1;
	case 0x8a: case 0x8b:			/* mov r, r/m */
		*fm = (struct form){ .rm_access = RD, .reg_writes = 1 };
		fm->rm_size = fm->reg_size = op == 0x8a;
		return 1;
	case 0x8c:				/* mov r/m16, sreg */
	case 0x8e:				/* mov sreg, r/m16 */
		/* ES SS DS FS GS: CS only as a source, and 6 and 7 are none */
		if (reg > 5 || (reg == 1 && op == 0x8e))
			return 0;
		*fm = (struct form){ .rm_access = op == 0x8c ? WR : RD, .rm_size = 2, .sreg = 1 };
		return 1;
	case 0x8d:				/* lea: memory only */
		if ((c[1] >> 6) == 3)
			return 0;
		*fm = (struct form){ .reg_writes = 1 };
		return 1;
	case 0x80: case 0x81: case 0x83:	/* group 1, r/m, imm */
		fm->rm_access = alu_access(reg);
		fm->imm = op == 0x81 ? 4 : 1;
		fm->rm_size = op == 0x80;
		return 1;
	case 0xc6: case 0xc7:			/* group 11: mov r/m, imm (/0 only) */
		if (reg != 0)
			return 0;
		fm->rm_access = WR;
		fm->imm = op == 0xc7 ? 4 : 1;
		fm->rm_size = op == 0xc6;
		return 1;
	case 0xf6: case 0xf7:			/* group 3: test r/m, imm (/0 only) */
		if (reg != 0)
			return 0;
		fm->rm_access = RD;
		fm->imm = op == 0xf7 ? 4 : 1;
		fm->rm_size = op == 0xf6;
		return 1;
	case 0xfe:				/* group 4: inc, dec r/m8 */
		if (reg > 1)
			return 0;
		*fm = (struct form){ .rm_access = RW, .rm_size = 1 };
		return 1;
	case 0xff:				/* group 5 */
		switch (reg) {
		case 0: case 1:			/* inc, dec */
			fm->rm_access = RW;
			return 1;
		case 2:				/* call near */
			*fm = (struct form){ .rm_access = RD, .flow = FLOW_CALL, .moves_stack = 1 };
			return 1;
		case 4:				/* jmp near */
			*fm = (struct form){ .rm_access = RD, .flow = FLOW_END };
			return 1;
		case 6:				/* push */
			*fm = (struct form){ .rm_access = RD, .moves_stack = 1 };
			return 1;
		default:
			return 0;
		}
	default:
		return 0;
	}
}

size_t insn_facts_modrm(const uint8_t *code, size_t len, struct insn_facts *f,
			struct insn_mem_operand *mem)
{
	memset(f, 0, sizeof(*f));
	mem->present = 0;
	mem->access = 0;
	size_t p = 0;
	int o16 = 0;
	x86_reg seg = X86_REG_INVALID;
	for (; p < len && p < 2; p++) {		/* at most 66 and one override */
		if (code[p] == P_OSIZE && !o16)
			o16 = 1;
		else if (override_of(code[p]) != X86_REG_INVALID && seg == X86_REG_INVALID)
			seg = override_of(code[p]);
		else
			break;
	}
	struct form fm;
	size_t opn = p < len ? (size_t)form_of(code + p, len - p, &fm) : 0;
	if (!opn || p + opn >= len)
		return 0;
	/* 16-bit operands only where the tables give the size by the prefix */
	int two_byte = code[p] == 0x0f;
	if (o16 && (two_byte || fm.flow || fm.moves_stack || fm.sreg))
		return 0;
	const uint8_t *m = code + p + opn;
	size_t left = len - p - opn;
	unsigned osize = o16 ? 2 : 4;
	unsigned rm_size = fm.rm_size ? fm.rm_size : osize;
	unsigned reg_size = fm.reg_size ? fm.reg_size : osize;
	unsigned reg = (m[0] >> 3) & 7u, rm = m[0] & 7u;
	size_t mn;
	unsigned rm_bits = 0;
	if ((m[0] >> 6) == 3) {			/* a register operand */
		if (seg != X86_REG_INVALID || !fm.rm_access)
			return 0;
		mn = 1;
		rm_bits = gpr_bit(rm, fm.sreg ? 4 : rm_size);	/* 8c, 8e: the whole register */
	} else {
		cs_x86_op *op = &mem->op;
		mn = mem_operand(m, left, op);
		if (!mn)
			return 0;
		op->mem.segment = seg;
		op->size = (uint8_t)rm_size;
		op->access = fm.rm_access;
		mem->present = 1;
		mem->access = fm.rm_access != 0;
		f->reads |= insn_facts_gpr(op->mem.base) | insn_facts_gpr(op->mem.index);
	}
	unsigned imm = fm.imm == 4 && o16 ? 2 : fm.imm;
	size_t size = p + opn + mn + imm;
	if (size > len)
		return 0;
	if (fm.rm_access & RD)
		f->reads |= rm_bits;
	if (fm.rm_access & WR)
		f->writes |= rm_bits;
	if (fm.reg_reads)
		f->reads |= gpr_bit(reg, reg_size);
	if (fm.reg_writes)
		f->writes |= gpr_bit(reg, reg_size);
	if (imm) {
		const uint8_t *i = code + size - imm;
		/* group 1's 83 sign-extends its byte; the others are the operand's size */
		uint32_t v = imm == 4 ? le32(i) : imm == 2 ? (uint32_t)(i[0] | i[1] << 8) :
			     code[p] == 0x83 ? (uint32_t)(int32_t)(int8_t)i[0] : i[0];
		/*
		 * Capstone keeps 83's byte sign-extended to 32 bits, but for
		 * OR, AND and XOR on a 16-bit operand cuts it to 16: the value
		 * the instruction uses either way, which is what the sweep
		 * compares with code addresses.
		 */
		if (code[p] == 0x83 && o16 && (reg == 1 || reg == 4 || reg == 6))
			v &= 0xffffu;
		f->imm[0] = v;
		f->nimm = 1;
	}
	f->flow = fm.flow;
	f->moves_stack = fm.moves_stack;
	f->size = (uint8_t)size;
	return size;
}
