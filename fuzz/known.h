/*
 * What the fuzz targets steer around: bugs of the system's Unicorn
 * (2.0.1), outside entryemu, that a fuzzer finds within seconds and that
 * would otherwise end every session (fuzz/README.md).
 *
 * - `ff /3` and `ff /5` with a register operand (ModRM mod = 3: the bytes
 *   ff d8..df, ff e8..ef: lcall/ljmp through a register, #UD on a real
 *   CPU) make Unicorn's translator abort the process ("tcg/tcg.c:3073:
 *   tcg fatal error"; unicorn-engine/unicorn issue 1716, QEMU's "if
 *   (mod == 3) goto illegal_op" is missing from Unicorn 2.0.1).
 * - A guest store into a page holding translated code allocates a code
 *   bitmap (tb_invalidate_phys_page_fast) that uc_close() never frees:
 *   512 bytes leaked per such page per machine.
 */
#ifndef FUZZ_KNOWN_H
#define FUZZ_KNOWN_H

#include <stddef.h>
#include <stdint.h>

/* The ModRM bytes that make ff an lcall/ljmp through a register. */
static inline int known_far_reg_modrm(uint8_t modrm)
{
	return (modrm >= 0xd8 && modrm <= 0xdf) || (modrm >= 0xe8 && modrm <= 0xef);
}

/*
 * Any ff, ModRM pair at any offset: code may be entered anywhere.  The
 * library follows user code with a jmp (e9) to the exit page, so a last
 * ff pairs with that.
 */
static inline int known_unicorn_abort(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++)
		if (p[i] == 0xff && known_far_reg_modrm(p[i + 1]))
			return 1;
	return n && p[n - 1] == 0xff;
}

/* The Unicorn leak: LeakSanitizer reads this at start.  Build with
 * -DFUZZ_NO_SUPPRESSIONS to see whether a newer Unicorn still leaks. */
#ifndef FUZZ_NO_SUPPRESSIONS
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:tb_invalidate_phys_page_fast\n";
}
#endif

#endif
