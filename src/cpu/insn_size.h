/* Instruction sizes that need no decoder: see insn_size.c. */
#ifndef ENTRYEMU_CPU_INSN_SIZE_H
#define ENTRYEMU_CPU_INSN_SIZE_H

#include <stddef.h>
#include <stdint.h>

/* The legacy prefixes (SDM vol. 2A 2.1.1): 1 for b among them. */
int insn_legacy_prefix(uint8_t b);
/* Is prefix among the legacy prefixes that begin code (len bytes)? */
int insn_has_prefix(const uint8_t *code, size_t len, uint8_t prefix);

/*
 * The bytes a ModRM (len bytes there) brings with it, itself included:
 * a SIB byte and a displacement, by 32-bit addressing (SDM vol. 2A
 * tables 2-2, 2-3) or, with addr16, by 16-bit addressing (table 2-1).
 * 0 when len cuts the SIB byte off.
 */
size_t insn_modrm_size(const uint8_t *modrm, size_t len, int addr16);

/* Does the two-byte opcode 0f b have a ModRM (vol. 2A table A-3)? */
int insn_twobyte_has_modrm(uint8_t b);

/*
 * The size the opcode map gives an instruction of the two- or
 * three-byte map at op (len bytes there, after any prefixes), whether
 * the opcode is defined or not, for a decoder that does not know it:
 * the opcode, its ModRM with SIB and displacement, and an imm8 where
 * the map has one.  Wider immediates (a Jcc's rel32) are not counted:
 * the decoder knows every opcode that has one.  0 for a one-byte
 * opcode, or when len cuts it short.
 */
size_t insn_map_size(const uint8_t *op, size_t len, int addr16);

/*
 * insn_map_size() for the instruction at code (len bytes there), its
 * legacy prefixes included (a 67 makes its addressing 16-bit): the size
 * of an instruction the decoder does not know.  0 if the map says
 * nothing (a one-byte opcode) or len cuts it short.
 */
size_t insn_unknown_size(const uint8_t *code, size_t len);
/* The same in 16-bit code, where a 67 makes the addressing 32-bit. */
size_t insn_unknown_size16(const uint8_t *code, size_t len);

/*
 * The size of the instruction at code (len bytes there) in 32-bit code,
 * or with code16 in 16-bit code (vm86 mode, a code segment with D
 * clear), when the opcode maps fix it (SDM vol. 2A chapter 2, tables A-2
 * and A-3): its legacy prefixes but LOCK, and every one-byte opcode but
 * the x87 escapes and a few others, and the common two-byte ones, with
 * the ModRM forms each defines.  0 for anything else (a decoder's to
 * say), or when len cuts it short.  *traits: INSN_MOVES_STACK for a
 * push, a pop, a near CALL or RET, or an IRET; INSN_CS_PREFIX for a 2e
 * prefix; INSN_LOADS_DS_ES for POP ES or DS, LES or LDS; INSN_NO_MEMORY
 * for one that reads and writes no memory besides its own bytes (its
 * operands registers and immediates; not the stack, a string, XLAT or
 * an INT).
 */
#define INSN_MOVES_STACK 1u
#define INSN_CS_PREFIX 2u
#define INSN_LOADS_DS_ES 4u
#define INSN_NO_MEMORY 8u
size_t insn_length(const uint8_t *code, size_t len, int code16, unsigned *traits);
/* Is the instruction at code RCL or RCR with a memory operand (c0, c1,
 * d0-d3 with ModRM.reg 2 or 3 and ModRM.mod not 3), after prefixes? */
int insn_rotates_through_carry_memory(const uint8_t *code, size_t len);

#endif
