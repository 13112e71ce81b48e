/*
 * What the fuzz targets steer around: bugs of the system's Unicorn
 * (2.0.1), outside entryemu, that a fuzzer finds within seconds and that
 * would otherwise end every session (fuzz/README.md).
 *
 * - `ff /3` and `ff /5` with a register operand (ModRM mod = 3: the bytes
 *   ff d8..df, ff e8..ef: lcall/ljmp through a register, #UD on a real
 *   CPU) make Unicorn's translator abort the process ("tcg/tcg.c:3073:
 *   tcg fatal error"; unicorn-engine/unicorn issue 1716, QEMU's "if
 *   (mod == 3) goto illegal_op" is missing from Unicorn 2.0.1).  So
 *   do `lock cmps' and `lock cmp' with a memory operand.
 * - A guest store into a page holding translated code allocates a code
 *   bitmap (tb_invalidate_phys_page_fast) that uc_close() never frees:
 *   512 bytes leaked per such page per machine.
 *
 * And the model's own documented refusals (known_refusal).
 */
#ifndef FUZZ_KNOWN_H
#define FUZZ_KNOWN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The ModRM bytes that make ff an lcall/ljmp through a register. */
static inline int known_far_reg_modrm(uint8_t modrm)
{
	return (modrm >= 0xd8 && modrm <= 0xdf) || (modrm >= 0xe8 && modrm <= 0xef);
}

/* A legacy prefix other than LOCK (SDM vol. 2A 2.1.1). */
static inline int known_other_prefix(uint8_t b)
{
	return b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e || b == 0x64 || b == 0x65 ||
	       b == 0x66 || b == 0x67 || b == 0xf2 || b == 0xf3;
}

/*
 * After a LOCK and any other prefixes, a comparison that writes nothing:
 * CMPS (a6, a7), CMP r/m, r (38, 39) and CMP r/m, imm (80-83 /7) with a
 * memory operand.  LOCK may not prefix them (#UD, SDM vol. 2A LOCK), and
 * Unicorn 2.0.1's translator aborts on them.
 */
static inline int known_locked_compare(const uint8_t *p, size_t n)
{
	if (p[0] == 0xa6 || p[0] == 0xa7)
		return 1;
	if (n < 2 || (p[1] >> 6) == 3)
		return 0;		/* a register operand: #UD as it should */
	return p[0] == 0x38 || p[0] == 0x39 ||
	       (p[0] >= 0x80 && p[0] <= 0x83 && ((p[1] >> 3) & 7) == 7);
}

/*
 * vm86 code (fuzz_scenario): any ff, ModRM pair at any offset, since code
 * may be entered anywhere, and LOCK before a comparison with memory
 * (known_locked_compare: #UD on a CPU), which aborts Unicorn 2.0.1's
 * translator the same way.  The library rewrites both where its decode
 * from the start of vm86 code finds an instruction boundary; a jump into
 * the middle of an instruction can still land on one.  User code needs
 * no steering: the library decodes it from wherever the engine starts
 * translating it (src/cpu/far_indirect.c).
 */
static inline int known_unicorn_abort(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++) {
		if (p[i] == 0xff && known_far_reg_modrm(p[i + 1]))
			return 1;
		if (p[i] == 0xf0) {
			size_t j = i + 1;
			while (j < n && (known_other_prefix(p[j]) || p[j] == 0xf0))
				j++;
			if (j < n && known_locked_compare(p + j, n - j))
				return 1;
		}
	}
	return n && p[n - 1] == 0xff;
}

/*
 * The refusals of docs/fidelity.md, "What the model refuses", that
 * fuzz_entry reaches within minutes: a run that ends `unsupported' with
 * one of these messages met a case the model says it does not model
 * (an error code it cannot derive: far JMP or CALL through a gate or
 * TSS, IRET with NT set, a task return; the kernel's vm86 monitor; task
 * switches; 16-bit gates),
 * not a bug of it.  The other refusals (an
 * unmapped access no instruction makes, a disagreement with the CPU)
 * stay finds: they were bugs each time so far.
 */
static inline int known_refusal(const char *message)
{
	return strstr(message, " not modelled") != NULL;
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
