/*
 * entryemu_disasm() and entryemu_insn_text(): an instruction decoded in
 * the mode its code ran in.  The image layer formats the text; which
 * mode is a fact of the CPU's runs, which the block counts keep
 * (cpu/counting.c).
 */
#include "cpu/cpu.h"
#include "image/symbols.h"

int entryemu_disasm(entryemu *m, uint32_t addr, char *buf, size_t len)
{
	if (!m || !buf || !len)
		return ENTRYEMU_E_INVAL;
	return image_disasm(m, addr, count_code16_at(m, addr), buf, len);
}

int entryemu_insn_text(entryemu *m, uint32_t addr, enum entryemu_syntax syntax, char *buf,
		       size_t len)
{
	if (!m || (syntax != ENTRYEMU_SYNTAX_ATT && syntax != ENTRYEMU_SYNTAX_INTEL))
		return ENTRYEMU_E_INVAL;
	return image_insn_text(m, addr, syntax == ENTRYEMU_SYNTAX_INTEL, count_code16_at(m, addr),
			       buf, len);
}
