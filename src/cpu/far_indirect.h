/*
 * Far CALL/JMP through a register (`ff /3', `ff /5' with ModRM.mod = 3):
 * #UD on the CPU, an abort in Unicorn 2.0.1's translator.  See
 * far_indirect.c.
 */
#ifndef ENTRYEMU_CPU_FAR_INDIRECT_H
#define ENTRYEMU_CPU_FAR_INDIRECT_H

#include <stddef.h>
#include <stdint.h>

#include <capstone/capstone.h>

/*
 * What an earlier decode of the same bytes found: size[a - base] is the
 * size of the instruction at address a, 0 where it did not decode one.
 */
struct far_known {
	const uint8_t *size;
	uint32_t base, len;
};

/*
 * Rewrite each such instruction that a linear decode from the anchors
 * (instruction starts, ascending, as addresses; the code sits at `base')
 * lands on into `ff /7', which the engine also raises #UD for.  mode:
 * FAR_CODE16 when the code is 16-bit (vm86 mode, a 16-bit code segment)
 * and cs decodes it so; FAR_TO_FLOW_END to decode each stretch only up
 * to a JMP or a return, where the code may go on in another mode (user
 * code: the fetch hook below takes what is reached by a jump).  `insn'
 * is scratch from cs_malloc(cs).  `known' (or NULL) spares decoding
 * again what it holds, until the first rewrite changes bytes.  Returns
 * how many were rewritten.
 */
#define FAR_CODE16 1
#define FAR_TO_FLOW_END 2
unsigned far_indirect_rewrite(csh cs, cs_insn *insn, uint8_t *code, size_t len,
			      uint32_t base, int mode, const uint32_t *anchors,
			      size_t nanchors, const struct far_known *known);

/*
 * The engine's hook for its fetches from pages mapped without exec
 * (engine_hook_fetch_noexec; data is the machine): the same rewrite, of
 * the code it is about to translate there.
 */
void far_indirect_fetch_hook(void *data, uint32_t addr, uint32_t size);

#endif
