/*
 * What the open's sweep of the entry code (image/accesses.c) needs to
 * know of one instruction, apart from its memory operands: its size,
 * how control leaves it, the general registers it reads and writes, and
 * its immediates that could be code addresses.
 */
#ifndef ENTRYEMU_IMAGE_INSN_FACTS_H
#define ENTRYEMU_IMAGE_INSN_FACTS_H

#include <stddef.h>
#include <stdint.h>

#include <capstone/capstone.h>

/* General registers as bits: eax 0, ecx 1, edx 2, ebx 3, esp 4, ebp 5, esi 6, edi 7. */
#define GPR_ESP		(1u << 4)
#define GPR_ALL		0xffu

enum insn_flow { FLOW_ON, FLOW_CALL, FLOW_END };

#define INSN_FACTS_IMMS 2
struct insn_facts {
	uint8_t size;
	uint8_t flow;			/* enum insn_flow */
	uint8_t user_load;		/* writes a value from the stack (pop, leave) */
	uint8_t nimm;
	uint8_t moves_stack;		/* its access is at an %esp it also moves (push, call) */
	unsigned reads, writes;		/* general registers */
	uint32_t imm[INSN_FACTS_IMMS];	/* immediate operands, in operand order */
	uint8_t imm_target[INSN_FACTS_IMMS];	/* a direct jump's target */
};

/*
 * The facts of the 32-bit instruction at code (len bytes there, at addr)
 * when it is one of the commonest in entry code and has no memory
 * operand: a push or pop of a register, a direct jump, call or Jcc, a
 * return, an ALU operation or MOV between registers or with an
 * immediate, a flag instruction, the one- and two-byte NOPs.  Its size,
 * or 0 for any other instruction, a prefixed one, or when len cuts it
 * short: then insn_facts_modrm() or Capstone (insn_facts_capstone, at
 * fifty times the cost) takes it.
 */
size_t insn_facts_plain(const uint8_t *code, size_t len, uint32_t addr, struct insn_facts *f);

/* The memory operand of an instruction insn_facts_modrm() took, as Capstone gives it. */
struct insn_mem_operand {
	int present;			/* it has one */
	int access;			/* and reads or writes memory there (LEA does not) */
	cs_x86_op op;
};

/*
 * The facts of the 32-bit instruction at code (len bytes there) when it
 * is one of the commonest in entry code with a ModRM byte (insn_modrm.c):
 * MOV, an ALU operation, TEST, INC, DEC, PUSH, CALL or JMP through r/m,
 * LEA, MOVZX, MOVSX, MOV to or from a segment register; with a register
 * or a memory operand, after a 66 and a segment override at most.  Its
 * size, or 0 for any other instruction or when len cuts it short.
 */
size_t insn_facts_modrm(const uint8_t *code, size_t len, struct insn_facts *f,
			struct insn_mem_operand *mem);

/* Does the instruction Capstone calls id access memory at an %esp it also moves? */
int insn_facts_moves_stack(unsigned id);

/* The same facts from Capstone's decode (with detail) of insn. */
void insn_facts_capstone(csh cs, const cs_insn *insn, struct insn_facts *f);

/*
 * The registers that may hold a user value after the instruction, given
 * those that may before (tainted; image/accesses.c says what taint is).
 * %esp is the kernel's: never tainted.
 */
unsigned insn_facts_taint(const struct insn_facts *f, unsigned tainted);

/* The general register r belongs to, as a bit, or 0. */
unsigned insn_facts_gpr(x86_reg r);

#endif
