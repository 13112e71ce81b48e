/*
 * One instruction's facts for the entry-code sweep (insn_facts.h).
 *
 * The sweep decodes each image's 600-odd entry instructions at every
 * open, and Capstone's decode with detail cost 3,800 host instructions
 * each: two fifths of an open.  Most entry instructions are pushes, pops,
 * direct jumps and calls and register moves, whose facts the opcode
 * gives at once (SDM vol. 2A, appendix A's one- and two-byte maps); only
 * the rest go to Capstone.  tests/test_insn_facts.c holds every encoding
 * the plain path takes against Capstone's facts.
 */
#include "image/insn_facts.h"

#include <string.h>

#define REG_EAX 0u

static unsigned bit(unsigned reg)
{
	return 1u << reg;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void add_imm(struct insn_facts *f, uint32_t v, int target)
{
	f->imm[f->nimm] = v;
	f->imm_target[f->nimm] = (uint8_t)target;
	f->nimm++;
}

/* ALU operation n of the 00-3f block and of group 1 (80-83 /n): n 7 is
 * CMP, which writes no register. */
static unsigned alu_writes(unsigned n, unsigned dst)
{
	return n == 7 ? 0 : bit(dst);
}

/*
 * The plain one-byte opcodes without a ModRM.  The sizes are the
 * opcode's and its immediate's (vol. 2A table A-2).
 */
static size_t no_modrm(const uint8_t *c, size_t len, uint32_t addr, struct insn_facts *f)
{
	uint8_t op = c[0];
	if (op >= 0x50 && op <= 0x57) {			/* push r32 */
		f->reads = bit(op & 7u);
		f->moves_stack = 1;
		return 1;
	}
	if (op >= 0x58 && op <= 0x5f) {			/* pop r32 */
		f->writes = bit(op & 7u);
		f->user_load = f->moves_stack = 1;
		return 1;
	}
	if (op >= 0x40 && op <= 0x4f) {			/* inc, dec r32 */
		f->reads = f->writes = bit(op & 7u);
		return 1;
	}
	switch (op) {
	case 0x66:					/* 66 90: the two-byte NOP */
		return len >= 2 && c[1] == 0x90 ? 2 : 0;
	case 0x90: case 0xcc: case 0xf4:		/* nop, int3, hlt */
	case 0xf8: case 0xf9: case 0xfa: case 0xfb:	/* clc, stc, cli, sti */
	case 0xfc: case 0xfd:				/* cld, std */
		return 1;
	case 0x06: case 0x0e: case 0x16: case 0x1e:	/* push es, cs, ss, ds */
	case 0x9c: case 0x9d:				/* pushf, popf: no general register */
		f->moves_stack = 1;
		return 1;
	case 0x07: case 0x17: case 0x1f:		/* pop es, ss, ds */
		f->user_load = f->moves_stack = 1;
		return 1;
	case 0xc3:					/* ret */
	case 0xcf:					/* iret */
		f->flow = FLOW_END;
		f->moves_stack = 1;
		return 1;
	}
	if (op >= 0xb8 && op <= 0xbf) {			/* mov $imm32, r32 */
		if (len < 5)
			return 0;
		f->writes = bit(op & 7u);
		add_imm(f, le32(c + 1), 0);
		return 5;
	}
	if (op >= 0x70 && op <= 0x7f) {			/* jcc rel8 */
		if (len < 2)
			return 0;
		add_imm(f, addr + 2 + (uint32_t)(int32_t)(int8_t)c[1], 1);
		return 2;
	}
	switch (op) {
	case 0xeb:					/* jmp rel8 */
		if (len < 2)
			return 0;
		f->flow = FLOW_END;
		add_imm(f, addr + 2 + (uint32_t)(int32_t)(int8_t)c[1], 1);
		return 2;
	case 0xe9:					/* jmp rel32 */
	case 0xe8:					/* call rel32 */
		if (len < 5)
			return 0;
		f->flow = op == 0xe9 ? FLOW_END : FLOW_CALL;
		f->moves_stack = op == 0xe8;
		add_imm(f, addr + 5 + le32(c + 1), op == 0xe9);
		return 5;
	case 0x6a:					/* push $imm8, sign-extended */
		if (len < 2)
			return 0;
		f->moves_stack = 1;
		add_imm(f, (uint32_t)(int32_t)(int8_t)c[1], 0);
		return 2;
	case 0x68:					/* push $imm32 */
		if (len < 5)
			return 0;
		f->moves_stack = 1;
		add_imm(f, le32(c + 1), 0);
		return 5;
	case 0x05: case 0x0d: case 0x25: case 0x2d:	/* add, or, and, sub $imm32, %eax */
	case 0x35: case 0x3d: case 0xa9:		/* xor, cmp, test $imm32, %eax */
		if (len < 5)
			return 0;
		f->reads = bit(REG_EAX);
		f->writes = op == 0x3d || op == 0xa9 ? 0 : bit(REG_EAX);
		add_imm(f, le32(c + 1), 0);
		return 5;
	}
	return 0;
}

/* The plain opcodes with a ModRM, register forms only (mod 11: no memory operand). */
static size_t reg_modrm(const uint8_t *c, size_t len, struct insn_facts *f)
{
	uint8_t op = c[0];
	if (len < 2 || (c[1] >> 6) != 3)
		return 0;
	unsigned reg = (c[1] >> 3) & 7u, rm = c[1] & 7u;
	/* 01, 09, ... 39: ALU r/m32, r32; 03, 0b, ... 3b: ALU r32, r/m32 */
	if (op < 0x40 && ((op & 7u) == 1 || (op & 7u) == 3)) {
		unsigned n = op >> 3, dst = (op & 7u) == 1 ? rm : reg;
		f->reads = bit(reg) | bit(rm);
		f->writes = alu_writes(n, dst);
		return 2;
	}
	switch (op) {
	case 0x85:					/* test r32, r/m32 */
		f->reads = bit(reg) | bit(rm);
		return 2;
	case 0x87:					/* xchg r32, r/m32 */
		f->reads = f->writes = bit(reg) | bit(rm);
		return 2;
	case 0x89:					/* mov r32, r/m32 */
		f->reads = bit(reg);
		f->writes = bit(rm);
		return 2;
	case 0x8b:					/* mov r/m32, r32 */
		f->reads = bit(rm);
		f->writes = bit(reg);
		return 2;
	case 0x83:					/* group 1, $imm8 sign-extended */
		if (len < 3)
			return 0;
		f->reads = bit(rm);
		f->writes = alu_writes(reg, rm);
		add_imm(f, (uint32_t)(int32_t)(int8_t)c[2], 0);
		return 3;
	case 0x81:					/* group 1, $imm32 */
		if (len < 6)
			return 0;
		f->reads = bit(rm);
		f->writes = alu_writes(reg, rm);
		add_imm(f, le32(c + 2), 0);
		return 6;
	}
	return 0;
}

/* The plain two-byte opcodes (0f xx, vol. 2A table A-3). */
static size_t two_byte(const uint8_t *c, size_t len, uint32_t addr, struct insn_facts *f)
{
	if (len < 2)
		return 0;
	uint8_t op = c[1];
	if (op >= 0x80 && op <= 0x8f) {			/* jcc rel32 */
		if (len < 6)
			return 0;
		add_imm(f, addr + 6 + le32(c + 2), 1);
		return 6;
	}
	switch (op) {
	case 0xa0: case 0xa8:				/* push fs, gs */
		f->moves_stack = 1;
		return 2;
	case 0xa1: case 0xa9:				/* pop fs, gs */
		f->user_load = f->moves_stack = 1;
		return 2;
	case 0x0b:					/* ud2 */
	case 0x35:					/* sysexit */
		f->flow = FLOW_END;
		return 2;
	}
	return 0;
}

size_t insn_facts_plain(const uint8_t *code, size_t len, uint32_t addr, struct insn_facts *f)
{
	memset(f, 0, sizeof(*f));
	if (!len)
		return 0;
	size_t n = code[0] == 0x0f ? two_byte(code, len, addr, f) : no_modrm(code, len, addr, f);
	if (!n && code[0] != 0x0f)
		n = reg_modrm(code, len, f);
	if (!n) {
		memset(f, 0, sizeof(*f));
		return 0;
	}
	f->size = (uint8_t)n;
	return n;
}

#define GPR_C_CLOBBERED	0x07u		/* %eax, %ecx, %edx: i386 C ABI */

unsigned insn_facts_taint(const struct insn_facts *f, unsigned t)
{
	if (f->flow == FLOW_CALL)
		return (t | GPR_C_CLOBBERED) & ~GPR_ESP;
	/* a value from the user's registers or the saved frame stays the user's */
	if (f->user_load || (f->reads & t))
		t |= f->writes;
	else
		t &= ~f->writes;
	return t & ~GPR_ESP;
}

unsigned insn_facts_gpr(x86_reg r)
{
	switch (r) {
	case X86_REG_EAX: case X86_REG_AX: case X86_REG_AL: case X86_REG_AH: return 1u << 0;
	case X86_REG_ECX: case X86_REG_CX: case X86_REG_CL: case X86_REG_CH: return 1u << 1;
	case X86_REG_EDX: case X86_REG_DX: case X86_REG_DL: case X86_REG_DH: return 1u << 2;
	case X86_REG_EBX: case X86_REG_BX: case X86_REG_BL: case X86_REG_BH: return 1u << 3;
	case X86_REG_ESP: case X86_REG_SP: return GPR_ESP;
	case X86_REG_EBP: case X86_REG_BP: return 1u << 5;
	case X86_REG_ESI: case X86_REG_SI: return 1u << 6;
	case X86_REG_EDI: case X86_REG_DI: return 1u << 7;
	default: return 0;
	}
}

int insn_facts_moves_stack(unsigned id)
{
	switch (id) {
	case X86_INS_PUSH: case X86_INS_POP: case X86_INS_PUSHFD: case X86_INS_POPFD:
	case X86_INS_PUSHAL: case X86_INS_POPAL: case X86_INS_CALL: case X86_INS_RET:
	case X86_INS_IRETD: case X86_INS_PUSHF: case X86_INS_POPF:
	case X86_INS_PUSHAW: case X86_INS_POPAW: case X86_INS_IRET:
		return 1;
	default:
		return 0;
	}
}

void insn_facts_capstone(csh cs, const cs_insn *insn, struct insn_facts *f)
{
	memset(f, 0, sizeof(*f));
	f->size = (uint8_t)insn->size;
	cs_regs rd, wr;
	uint8_t nrd = 0, nwr = 0;
	if (cs_regs_access(cs, insn, rd, &nrd, wr, &nwr) == CS_ERR_OK) {
		for (int i = 0; i < nrd; i++)
			f->reads |= insn_facts_gpr(rd[i]);
		for (int i = 0; i < nwr; i++)
			f->writes |= insn_facts_gpr(wr[i]);
	} else {
		f->writes = GPR_ALL;	/* not known: assume the worst */
		f->user_load = 1;
	}
	unsigned id = insn->id;
	f->moves_stack = (uint8_t)insn_facts_moves_stack(id);
	if (id == X86_INS_POP || id == X86_INS_POPAL || id == X86_INS_LEAVE)
		f->user_load = 1;
	if (id == X86_INS_JMP || id == X86_INS_LJMP || id == X86_INS_RET ||
	    id == X86_INS_RETF || id == X86_INS_IRET || id == X86_INS_IRETD ||
	    id == X86_INS_SYSEXIT || id == X86_INS_UD2)
		f->flow = FLOW_END;
	else if (id == X86_INS_CALL || id == X86_INS_LCALL)
		f->flow = FLOW_CALL;
	const cs_x86 *x = &insn->detail->x86;
	int jump = cs_insn_group(cs, insn, CS_GRP_JUMP);
	for (int i = 0; i < x->op_count && f->nimm < INSN_FACTS_IMMS; i++)
		if (x->operands[i].type == X86_OP_IMM)
			add_imm(f, (uint32_t)x->operands[i].imm, jump && i == 0);
}
