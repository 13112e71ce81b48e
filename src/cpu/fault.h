/*
 * What the faulting instruction was, and the error code the CPU pushed.
 * Unicorn reports only the vector; the error code is derived by decoding
 * the instruction at the faulting EIP and redoing the check the SDM says
 * it failed.  When the redone check disagrees with the CPU's vector, the
 * model is wrong, and that is reported rather than guessed around.
 */
#ifndef ENTRYEMU_FAULT_H
#define ENTRYEMU_FAULT_H

#include <stdint.h>

#include <capstone/capstone.h>

struct entryemu;

struct fault_info {
	int has_error;
	uint32_t error;
	/* the engine is known to compute another error code for this fault
	 * (the model's, from the SDM, stands: deliver.c's cross-check) */
	int engine_differs;
	char insn[192];			/* "pop gs" */
	char why[512];			/* set when the code cannot be derived */
};

/*
 * The linear address a memory operand reaches with the registers as they
 * are now: its segment's base (override, else SS for an %esp or %ebp
 * base, else DS) plus base + index * scale + displacement.
 */
uint32_t fault_operand_linear(struct entryemu *m, const cs_x86_op *op);

/* Vectors that push an error code (SDM table 6-1). */
int vector_has_error_code(int vector);

/* Returns 0 with info filled, or -1 with info->why explaining. */
int fault_derive(struct entryemu *m, int vector, uint32_t eip, struct fault_info *info);

/*
 * Does the instruction at linear eip run on past the bytes mapped
 * there?  Then the CPU faults fetching it, before it could decode or run
 * it: *cr2 is the first byte it cannot fetch.
 */
int fault_fetch_runs_off(struct entryemu *m, uint32_t eip, uint32_t *cr2);

/*
 * Is the instruction at eip LOCK-prefixed and, with the prefix, no
 * instruction at all?  LOCK on anything but a read-modify-write of
 * memory is #UD (SDM vol. 2A LOCK), raised at decode: before any fault
 * of the instruction itself, which Unicorn raises instead.
 */
int fault_lock_undefined(struct entryemu *m, uint32_t eip);
/* The legacy prefixes (SDM vol. 2A 2.1.1): 1 for b among them
 * (insn_legacy_prefix). */
int fault_legacy_prefix(uint8_t b);
/*
 * The operand size of insn in bytes: 2 in a 16-bit code segment (code16),
 * 4 in a 32-bit one, the other with a 0x66 among its prefixes (SDM vol.
 * 1 3.6; Capstone takes `66 f2 cf' for IRETD).
 */
uint32_t fault_operand_bytes(const cs_insn *insn, int code16);
/*
 * What the model must do itself before the far JMP/CALL at addr (fault.c
 * says why): nothing, refuse a task switch (not modelled), or raise the
 * #PF of the return address's push at *cr2.
 */
enum far_check { FAR_NONE, FAR_TASK_SWITCH, FAR_PUSH_FAULT };
enum far_check fault_far_transfer(struct entryemu *m, uint32_t addr, uint32_t *cr2);

/*
 * Unicorn stops an access to unmapped memory with the registers as they
 * were before the faulting instruction but EIP at the start of its
 * translated block.  Find the instruction: the first from start on whose
 * memory access, computed with the current registers, covers addr.
 * Returns its address, or 0 if none does.  *undefined is set when the
 * walk stopped at bytes that are no instruction: the address returned is
 * theirs, where the CPU raises #UD before any access (Unicorn reads some
 * undefined forms' memory operands first, `ff /7' among them).  An
 * earlier instruction whose address registers a later one changed can
 * match too: where the user hook saw the faulting instruction,
 * deliver.c takes that one.
 */
uint32_t fault_locate_access(struct entryemu *m, uint32_t start, uint32_t addr,
			     int *undefined);

/*
 * Are the bytes at `at` no instruction, where the CPU raises #UD before
 * the access Unicorn made there (as for fault_locate_access)?
 */
int fault_undefined_at(struct entryemu *m, uint32_t at);
/*
 * Is the instruction at `at', which the disassembler cannot decode, over
 * 15 bytes as the engine decodes it (prefixes, then the opcode map's
 * length: insn_unknown_size)?  Such an instruction is #GP(0) for its
 * length (SDM vol. 2A 2.3.11), the same priority as #UD (vol. 3A table
 * 6-2), and the engine raises that where it reads no operand first.
 */
int fault_too_long_at(struct entryemu *m, uint32_t at);

/*
 * Where the access of the instruction at `at` first meets unmapped
 * memory, given addr, an unmapped address it reached: Unicorn reports
 * the last of a multi-store instruction's (FXSAVE's, FBSTP's) failed
 * stores, the CPU reports the access as it starts (CR2, SDM vol. 3A
 * 4.7).  addr where no memory operand of the instruction holds it.
 */
uint32_t fault_first_unmapped(struct entryemu *m, uint32_t at, uint32_t addr);

#endif
