/*
 * The instruction sizes the library takes without a decoder
 * (src/cpu/insn_size.c), on their own.  Expected sizes come from the
 * encoding rules of the Intel SDM vol. 2A: 2.1 (opcode, ModRM, SIB,
 * displacement), table 2-2 (32-bit ModRM: mod 00 r/m 101 is disp32 alone,
 * r/m 100 a SIB byte, mod 01 disp8, mod 10 disp32, mod 11 a register) and
 * table 2-3 (SIB base 101 with mod 00: disp32, no base).  Then every
 * opcode, ModRM and SIB against Capstone, which the sweep otherwise asks:
 * where both give a size they must agree.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <capstone/capstone.h>

#include "cpu/insn_size.h"

static size_t size_of(const uint8_t *b, size_t n)
{
	return insn_plain_size(b, n);
}

static void test_by_the_manual(void **state)
{
	(void)state;
	static const struct { uint8_t b[8]; size_t n, want; } cases[] = {
		{ { 0x00, 0x00 }, 2, 2 },			/* add %al,(%eax): zero padding */
		{ { 0x90 }, 1, 1 },				/* nop */
		{ { 0xcc }, 1, 1 },				/* int3 */
		{ { 0x89, 0xc3 }, 2, 2 },			/* mov %eax,%ebx: mod 11 */
		{ { 0x8b, 0x45, 0xfc }, 3, 3 },			/* mov -4(%ebp),%eax: disp8 */
		{ { 0x8b, 0x85, 1, 2, 3, 4 }, 6, 6 },		/* disp32(%ebp) */
		{ { 0x01, 0x05, 1, 2, 3, 4 }, 6, 6 },		/* add %eax,abs32: mod 00 r/m 101 */
		{ { 0x88, 0x44, 0x24, 0x08 }, 4, 4 },		/* mov %al,8(%esp): SIB, disp8 */
		{ { 0x8b, 0x04, 0x24 }, 3, 3 },			/* mov (%esp),%eax: SIB */
		{ { 0x8b, 0x04, 0x25, 1, 2, 3, 4 }, 7, 7 },	/* SIB base 101, mod 00: disp32 */
		{ { 0x8b, 0x84, 0x24, 1, 2, 3, 4 }, 7, 7 },	/* SIB, disp32 */
		{ { 0x85, 0xc0 }, 2, 2 },			/* test %eax,%eax */
		{ { 0x87, 0x18 }, 2, 2 },			/* xchg %ebx,(%eax) */
		{ { 0x8b, 0x85, 1, 2, 3 }, 5, 0 },		/* cut short */
		{ { 0x00 }, 1, 0 },				/* no ModRM yet */
		{ { 0x66, 0x89, 0xc0 }, 3, 0 },			/* a prefix: not taken */
		{ { 0x04, 0x01 }, 2, 0 },			/* add $1,%al: an immediate */
		{ { 0x8d, 0x00 }, 2, 0 },			/* lea: not taken */
		{ { 0x0f, 0xaf, 0xc0 }, 3, 0 },			/* two-byte opcode */
		{ { 0xff, 0xd8 }, 2, 0 },			/* the sweep's own business */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t got = size_of(cases[i].b, cases[i].n);
		if (got != cases[i].want)
			fail_msg("case %zu (%02x %02x): %zu, expected %zu", i, cases[i].b[0],
				 cases[i].b[1], got, cases[i].want);
	}
}

/*
 * What a ModRM brings: table 2-1 for 16-bit addressing (no SIB; mod 00
 * r/m 110 is disp16 alone, mod 01 disp8, mod 10 disp16), tables 2-2 and
 * 2-3 for 32-bit.
 */
static void test_modrm_by_the_manual(void **state)
{
	(void)state;
	static const struct { uint8_t b[2]; size_t n; int addr16; size_t want; } cases[] = {
		{ { 0xc0 }, 1, 1, 1 },		/* a register */
		{ { 0x00 }, 1, 1, 1 },		/* [bx+si] */
		{ { 0x04 }, 1, 1, 1 },		/* [si]: r/m 100 has no SIB in 16 bits */
		{ { 0x06 }, 1, 1, 3 },		/* disp16 */
		{ { 0x46 }, 1, 1, 2 },		/* [bp]+disp8 */
		{ { 0x86 }, 1, 1, 3 },		/* [bp]+disp16 */
		{ { 0x05 }, 1, 0, 5 },		/* disp32 */
		{ { 0x04, 0x25 }, 2, 0, 6 },	/* SIB, no base: disp32 */
		{ { 0x44, 0x24 }, 2, 0, 3 },	/* SIB, disp8 */
		{ { 0x84, 0x24 }, 2, 0, 6 },	/* SIB, disp32 */
		{ { 0x04 }, 1, 0, 0 },		/* the SIB byte cut off */
		{ { 0x00 }, 0, 0, 0 },		/* nothing there */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t got = insn_modrm_size(cases[i].b, cases[i].n, cases[i].addr16);
		if (got != cases[i].want)
			fail_msg("case %zu (%02x, %s addressing): %zu, expected %zu", i,
				 cases[i].b[0], cases[i].addr16 ? "16-bit" : "32-bit", got,
				 cases[i].want);
	}
}

/*
 * The two- and three-byte maps by their tables (vol. 2A A.3): the
 * opcode bytes, a ModRM with its SIB and displacement where table A-3
 * (two-byte) or A-4/A-5 (three-byte) gives one, the imm8 of 0f 3a and
 * of the two-byte opcodes with "Ib" (groups 8 and 12-14 in every slot);
 * 0f 0f (3DNow!) ends in an imm8 (AMD64 APM vol. 3 appendix A).
 */
static void test_opcode_map_by_the_manual(void **state)
{
	(void)state;
	static const struct { uint8_t b[8]; size_t n; int addr16; size_t want; } cases[] = {
		{ { 0x0f, 0x0d, 0x00 }, 3, 0, 3 },		/* PREFETCH (%eax) */
		{ { 0x0f, 0x0d, 0x80 }, 7, 0, 7 },		/* disp32 */
		{ { 0x0f, 0x0d, 0x04, 0x24 }, 4, 0, 4 },	/* SIB */
		{ { 0x0f, 0x0d, 0x06 }, 5, 1, 5 },		/* disp16 */
		{ { 0x0f, 0x05 }, 2, 0, 2 },			/* SYSCALL: no ModRM */
		{ { 0x0f, 0xa2 }, 2, 0, 2 },			/* CPUID */
		{ { 0x0f, 0xc8 }, 2, 0, 2 },			/* BSWAP */
		{ { 0x0f, 0x38, 0x00, 0xc0 }, 4, 0, 4 },	/* PSHUFB mm, mm */
		{ { 0x0f, 0x3a, 0x0f, 0xc0 }, 5, 0, 5 },	/* PALIGNR: imm8 */
		{ { 0x0f, 0x0f, 0xc0 }, 4, 0, 4 },		/* 3DNow!: imm8 */
		{ { 0x0f, 0x71, 0x00 }, 4, 0, 4 },		/* group 12, undefined /0: Ib */
		{ { 0x0f, 0x73, 0xd0 }, 4, 0, 4 },		/* PSRLQ mm, imm8 */
		{ { 0x0f, 0xba, 0x05 }, 8, 0, 8 },		/* group 8 /0 disp32: Ib */
		{ { 0x0f, 0xc6, 0xc1 }, 4, 0, 4 },		/* SHUFPS: Ib */
		{ { 0x0f, 0x74, 0xc1 }, 3, 0, 3 },		/* PCMPEQB: no immediate */
		{ { 0x0f, 0x0d }, 2, 0, 0 },			/* the ModRM cut off */
		{ { 0x0f, 0x3a, 0x0f, 0xc0 }, 4, 0, 0 },	/* the imm8 cut off */
		{ { 0x90 }, 1, 0, 0 },				/* the one-byte map */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t got = insn_map_size(cases[i].b, cases[i].n, cases[i].addr16);
		if (got != cases[i].want)
			fail_msg("case %zu (%02x %02x, %zu bytes): %zu, expected %zu", i,
				 cases[i].b[0], cases[i].b[1], cases[i].n, got, cases[i].want);
	}
}

/* With legacy prefixes (vol. 2A 2.1.1): they count, and 67 makes the ModRM 16-bit. */
static void test_unknown_with_prefixes(void **state)
{
	(void)state;
	static const uint8_t p16[] = { 0x26, 0x67, 0x0f, 0x0d, 0x06, 0x34, 0x12 };
	static const uint8_t p32[] = { 0x26, 0x0f, 0x0d, 0x05, 0, 0, 0, 0 };
	static const uint8_t one[] = { 0x26, 0x90 };
	assert_int_equal(insn_unknown_size(p16, sizeof(p16)), 7);	/* disp16 */
	assert_int_equal(insn_unknown_size(p32, sizeof(p32)), 8);	/* disp32 */
	assert_int_equal(insn_unknown_size(one, sizeof(one)), 0);	/* one-byte map */
	assert_int_equal(insn_unknown_size(p16, 5), 0);			/* cut short */
}

/* b's first n bytes, where insn_plain_size gives a size: 1 (and the decoder agrees) */
static int agrees(csh cs, cs_insn *insn, const uint8_t *b, size_t n)
{
	size_t got = size_of(b, n);
	if (!got)
		return 0;
	const uint8_t *p = b;
	size_t left = n;
	uint64_t a = 0;
	size_t want = cs_disasm_iter(cs, &p, &left, &a, insn) ? insn->size : 0;
	if (got != want)
		fail_msg("%02x %02x %02x in %zu bytes: %zu, the decoder %zu", b[0], b[1], b[2], n,
			 got, want);
	return 1;
}

static void test_agrees_with_the_decoder(void **state)
{
	(void)state;
	csh cs;
	assert_int_equal(cs_open(CS_ARCH_X86, CS_MODE_32, &cs), CS_ERR_OK);
	cs_insn *insn = cs_malloc(cs);
	assert_non_null(insn);
	unsigned long taken = 0;
	uint8_t b[16];
	for (unsigned i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(0x11 * i);
	for (unsigned op = 0; op < 256; op++)
		for (unsigned modrm = 0; modrm < 256; modrm++) {
			/* a SIB byte only after r/m 100 */
			unsigned sibs = (modrm & 7) == 4 ? 256u : 1u;
			for (unsigned sib = 0; sib < sibs; sib++) {
				b[0] = (uint8_t)op, b[1] = (uint8_t)modrm, b[2] = (uint8_t)sib;
				for (size_t n = 1; n <= 8; n++)
					taken += (unsigned long)agrees(cs, insn, b, n);
			}
			b[2] = 0x22;
		}
	/* the forms above: 42 opcodes, every ModRM, in enough bytes */
	assert_true(taken > 42u * 256u);
	cs_free(insn, 1);
	cs_close(&cs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_by_the_manual),
		cmocka_unit_test(test_modrm_by_the_manual),
		cmocka_unit_test(test_opcode_map_by_the_manual),
		cmocka_unit_test(test_unknown_with_prefixes),
		cmocka_unit_test(test_agrees_with_the_decoder),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
