/*
 * Which memory operand an instruction writes, for the segment type check
 * (seg_limit.c: a write through a code or read-only data segment is
 * #GP(0)).  Capstone 4's operand access flags cannot answer it: they
 * give TEST r/m, imm a written operand and FST m32 a read one.  So the
 * opcode maps decide (SDM vol. 2D appendix A, tables and
 * the x87 maps ), from the opcode and ModRM.reg Capstone
 * decoded.
 */
#include "cpu/insn_write.h"
#include "cpu/insn_size.h"

/* The one-byte map (table for the groups). */
static int onebyte_writes(uint8_t op, unsigned reg)
{
	if (op < 0x38)			/* ADD .. XOR: Eb,Gb and Ev,Gv only */
		return (op & 7) < 2;
	switch (op) {
	case 0x63:			/* ARPL Ew, Gw */
	case 0x86: case 0x87:		/* XCHG */
	case 0x88: case 0x89: case 0x8c: /* MOV Eb,Gb  Ev,Gv  Ew,Sw */
	case 0x8f:			/* POP Ev */
	case 0xa2: case 0xa3:		/* MOV Ob,AL  Ov,eAX */
	case 0xc6: case 0xc7:		/* MOV Eb,Ib  Ev,Iz */
	case 0xc0: case 0xc1: case 0xd0: case 0xd1: case 0xd2: case 0xd3:	/* group 2 */
		return 1;
	case 0x80: case 0x81: case 0x82: case 0x83:	/* group 1: all but CMP */
		return reg != 7;
	case 0xf6: case 0xf7:		/* group 3: NOT, NEG (TEST, MUL, DIV read) */
		return reg == 2 || reg == 3;
	case 0xfe: case 0xff:		/* groups 4 and 5: INC, DEC */
		return reg <= 1;
	case 0xd9:			/* FST, FSTP m32; FNSTENV; FNSTCW */
		return reg == 2 || reg == 3 || reg == 6 || reg == 7;
	case 0xdb:			/* FISTTP, FIST, FISTP m32; FSTP m80 */
		return reg == 1 || reg == 2 || reg == 3 || reg == 7;
	case 0xdd:			/* FISTTP, FST, FSTP m64; FNSAVE; FNSTSW */
	case 0xdf:			/* FISTTP, FIST, FISTP m16; FBSTP; FISTP m64 */
		return reg == 1 || reg == 2 || reg == 3 || reg == 6 || reg == 7;
	default:
		return 0;
	}
}

/* The two-byte map (table A-3), and the few stores of the three-byte ones. */
static int twobyte_writes(uint8_t op, uint8_t op3, unsigned reg, int first, int misordered)
{
	if (op >= 0x90 && op <= 0x9f)	/* SETcc Eb */
		return 1;
	switch (op) {
	case 0x00:			/* group 6: SLDT, STR */
		return reg <= 1;
	case 0x01:			/* group 7: SGDT, SIDT, SMSW */
		return reg <= 1 || reg == 4;
	/*
	 * The MMX and SSE stores (MOVUPS, MOVLPS, MOVHPS, MOVAPS, MOVNTPS,
	 * MOVD/MOVQ, MOVDQA/MOVDQU, MOVQ, MOVNTQ/MOVNTDQ and their prefixed
	 * forms): the memory operand is the destination, the first in
	 * Intel's order; the same opcodes that load (F3 0f 7e, MOVQ xmm,
	 * m64) have it second.
	 */
	case 0x11: case 0x13: case 0x17: case 0x29: case 0x2b:
	case 0x7e: case 0x7f: case 0xd6: case 0xe7:
		return first && !misordered;
	case 0xa4: case 0xa5: case 0xac: case 0xad:	/* SHLD, SHRD */
	case 0xab: case 0xb3: case 0xbb:		/* BTS, BTR, BTC */
	case 0xb0: case 0xb1: case 0xc0: case 0xc1:	/* CMPXCHG, XADD */
	case 0xc3:					/* MOVNTI */
		return 1;
	case 0xba:			/* group 8: BTS, BTR, BTC (BT reads) */
		return reg >= 5;
	case 0xae:			/* group 15: FXSAVE, STMXCSR */
		/* (XSAVE and XSAVEOPT are #UD with CR4.OSXSAVE clear, as the
		 * machine leaves it: before any check of their operand) */
		return reg == 0 || reg == 3;
	case 0xc7:			/* group 9: CMPXCHG8B */
		return reg == 1;
	/* (MOVBE, 0f 38 f1, is #UD on the engine's CPU: before any check) */
	case 0x3a:			/* PEXTRB, PEXTRW, PEXTRD, EXTRACTPS */
		return op3 >= 0x14 && op3 <= 0x17;
	default:
		return 0;
	}
}

/*
 * A 66, F2 or F3 with another prefix after it.  The CPU takes such a
 * prefix as the SSE opcode's mandatory one wherever it stands among the
 * prefixes (vol. 2A 2.1.1); Capstone 4 only right before the opcode:
 * `f3 2e 0f 7e 00', MOVQ (%eax),%xmm0 through CS, a load, it decodes as
 * MOVD %mm0,(%eax), a store.  Its operand order then says nothing.
 */
static int misordered_prefix(const cs_insn *insn)
{
	int mandatory = 0;
	for (uint16_t i = 0; i < insn->size && insn_legacy_prefix(insn->bytes[i]); i++) {
		if (mandatory)
			return 1;
		uint8_t b = insn->bytes[i];
		mandatory = b == 0x66 || b == 0xf2 || b == 0xf3;
	}
	return 0;
}

int insn_writes_operand(const cs_insn *insn, int k)
{
	const cs_x86 *x = &insn->detail->x86;
	const cs_x86_op *op = &x->operands[k];
	unsigned reg = (x->modrm >> 3) & 7;
	uint8_t o = x->opcode[0];
	if (op->type != X86_OP_MEM)
		return 0;
	/* MOVS, STOS and INS write at ES:EDI (SI is MOVS's source) */
	if (o == 0xa4 || o == 0xa5 || o == 0xaa || o == 0xab || o == 0x6c || o == 0x6d)
		return op->mem.base == X86_REG_EDI || op->mem.base == X86_REG_DI;
	return o == 0x0f ? twobyte_writes(x->opcode[1], x->opcode[2], reg, k == 0,
					  misordered_prefix(insn))
			 : onebyte_writes(o, reg);
}
