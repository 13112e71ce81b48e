/*
 * entryemu_disasm(): an instruction's line, decoded in the mode its code
 * ran in.  The image layer formats the line; which mode is a fact of
 * the CPU's runs, which the block counts keep (cpu/counting.c).
 */
#include "cpu/cpu.h"
#include "image/symbols.h"

int entryemu_disasm(entryemu *m, uint32_t addr, char *buf, size_t len)
{
	if (!m || !buf || !len)
		return ENTRYEMU_E_INVAL;
	return image_disasm(m, addr, count_code16_at(m, addr), buf, len);
}
