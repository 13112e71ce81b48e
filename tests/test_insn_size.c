/*
 * The instruction sizes the library takes without a decoder
 * (src/cpu/insn_size.c), on their own.  Expected sizes come from the
 * encoding rules of the Intel SDM vol. 2A: 2.1 (opcode, ModRM, SIB,
 * displacement), table 2-2 (32-bit ModRM: mod 00 r/m 101 is disp32 alone,
 * r/m 100 a SIB byte, mod 01 disp8, mod 10 disp32, mod 11 a register) and
 * table 2-3 (SIB base 101 with mod 00: disp32, no base).
 * insn_length() covers most of the one-byte map and the common
 * two-byte opcodes, with prefixes, in 32- and 16-bit code: by the
 * manual, then against Capstone,
 * which the sweep and the instruction count otherwise ask, over every
 * opcode and ModRM under several prefixes and over random bytes: where
 * it gives a size, the decoder must give the same, and the same answer
 * to whether the instruction moves the stack as counting.c counts it
 * (the decoder's PUSH, POP, near CALL and RET, IRET), and in 16-bit
 * code whether it loads DS or ES (POP, LES, LDS).
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
	unsigned traits;
	return insn_length(b, n, 0, &traits);
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
		{ { 0x66, 0x89, 0xc0 }, 3, 3 },			/* mov %ax,%ax: a prefix */
		{ { 0x04, 0x01 }, 2, 2 },			/* add $1,%al: an immediate */
		{ { 0x8d, 0x00 }, 2, 2 },			/* lea (%eax),%eax */
		{ { 0x0f, 0xaf, 0xc0 }, 3, 3 },			/* imul %eax,%eax */
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

/* An instruction's bytes (n of them), its size by the manual, its traits
 * (INSN_NO_MEMORY aside: test_memory_by_the_manual). */
struct length_case {
	uint8_t b[12];
	size_t n, want;
	unsigned traits;
};

static void check_lengths(const struct length_case *cases, size_t ncases, int code16)
{
	for (size_t i = 0; i < ncases; i++) {
		unsigned traits;
		size_t got = insn_length(cases[i].b, cases[i].n, code16, &traits);
		if (got != cases[i].want || (got && (traits & ~INSN_NO_MEMORY) != cases[i].traits))
			fail_msg("%d-bit case %zu (%02x %02x): %zu traits %u, expected %zu "
				 "traits %u", code16 ? 16 : 32, i, cases[i].b[0], cases[i].b[1],
				 got, traits, cases[i].want, cases[i].traits);
	}
}

/*
 * insn_length in 32-bit code by the manual (vol. 2A chapter 2 and the
 * instruction pages): immediates by operand size, moffs by address size,
 * far pointers, the groups' defined slots.
 */
static void test_length32_by_the_manual(void **state)
{
	(void)state;
	static const struct length_case cases[] = {
		{ { 0x68, 1, 2, 3, 4 }, 5, 5, INSN_MOVES_STACK },	/* push $imm32 */
		{ { 0x66, 0x68, 1, 2 }, 4, 4, INSN_MOVES_STACK },	/* pushw $imm16 */
		{ { 0x6a, 1 }, 2, 2, INSN_MOVES_STACK },		/* push $imm8 */
		{ { 0x05, 1, 2, 3, 4 }, 5, 5, 0 },			/* add $imm32,%eax */
		{ { 0x66, 0x05, 1, 2 }, 4, 4, 0 },			/* add $imm16,%ax */
		{ { 0xa1, 1, 2, 3, 4 }, 5, 5, 0 },			/* mov moffs32,%eax */
		{ { 0x67, 0xa1, 1, 2 }, 4, 4, 0 },			/* mov moffs16,%eax */
		{ { 0x9a, 1, 2, 3, 4, 5, 6 }, 7, 7, 0 },		/* lcall ptr16:32 */
		{ { 0x66, 0xea, 1, 2, 3, 4 }, 6, 6, 0 },		/* ljmpw ptr16:16 */
		{ { 0xc8, 0x10, 0, 1 }, 4, 4, 0 },			/* enter $16,$1 */
		{ { 0xc2, 4, 0 }, 3, 3, INSN_MOVES_STACK },		/* ret $4 */
		{ { 0xca, 4, 0 }, 3, 3, 0 },				/* lret $4: far */
		{ { 0xe8, 1, 2, 3, 4 }, 5, 5, INSN_MOVES_STACK },	/* call rel32 */
		{ { 0x0f, 0x84, 1, 2, 3, 4 }, 6, 6, 0 },		/* je rel32 */
		{ { 0x66, 0x0f, 0x84, 1, 2 }, 5, 5, 0 },		/* je rel16 */
		{ { 0xf6, 0xc0, 1 }, 3, 3, 0 },				/* test $1,%al: /0 has ib */
		{ { 0xf7, 0x05, 1, 2, 3, 4, 5, 6, 7, 8 }, 10, 10, 0 },	/* testl $imm32,abs32 */
		{ { 0xf7, 0xd0 }, 2, 2, 0 },				/* not %eax: /2 none */
		{ { 0xc7, 0x45, 0xfc, 1, 2, 3, 4 }, 7, 7, 0 },		/* movl $imm32,-4(%ebp) */
		{ { 0x66, 0xc7, 0x00, 1, 2 }, 5, 5, 0 },		/* movw $imm16,(%eax) */
		{ { 0x67, 0x8b, 0x06, 1, 2 }, 5, 5, 0 },		/* 16-bit addressing: disp16 */
		{ { 0xff, 0x34, 0x24 }, 3, 3, INSN_MOVES_STACK },	/* push (%esp) */
		{ { 0xff, 0x1d, 1, 2, 3, 4 }, 6, 6, 0 },		/* lcall *abs32: far */
		{ { 0x2e, 0x8b, 0x00 }, 3, 3, INSN_CS_PREFIX },		/* a CS override */
		{ { 0x0f, 0xa8 }, 2, 2, INSN_MOVES_STACK },		/* push %gs */
		{ { 0x0f, 0xb6, 0xc0 }, 3, 3, 0 },			/* movzbl %al,%eax */
		/* left to a decoder */
		{ { 0xff, 0xd8 }, 2, 0, 0 },		/* lcall *%eax: #UD */
		{ { 0xff, 0xf8 }, 2, 0, 0 },		/* ff /7: undefined */
		{ { 0xc7, 0xc8, 1, 2, 3, 4 }, 6, 0, 0 },	/* group 11 /1 */
		{ { 0x8d, 0xc0 }, 2, 0, 0 },		/* lea with a register */
		{ { 0xc5, 0xf8, 0x77 }, 3, 0, 0 },	/* VEX */
		{ { 0xf0, 0x01, 0x00 }, 3, 0, 0 },	/* LOCK */
		{ { 0xd9, 0xc0 }, 2, 0, 0 },		/* x87 */
		{ { 0xf3, 0x0f, 0xbc, 0xc0 }, 4, 0, 0 },	/* tzcnt */
		{ { 0x68, 1, 2, 3 }, 4, 0, 0 },		/* cut short */
		{ { 0x26, 0x26, 0x26, 0x26, 0x26, 0x26, 0x26, 0x26, 0x26, 0x26, 0x26, 0x26 },
		  12, 0, 0 },				/* prefixes alone */
	};
	check_lengths(cases, sizeof(cases) / sizeof(cases[0]), 0);
}

/*
 * In 16-bit code (vm86 mode, a code segment with D clear) the default
 * operand and address sizes are 16 bits, and 66 and 67 select 32 (vol. 1
 * 3.6, vol. 2A 2.1.1): iw where 32-bit code has id, rel16, ptr16:16,
 * moffs16, table 2-1's ModRM; with 66 the 32-bit forms.
 */
static void test_length16_by_the_manual(void **state)
{
	(void)state;
	static const struct length_case cases[] = {
		{ { 0x68, 1, 2 }, 3, 3, INSN_MOVES_STACK },		/* push $imm16 */
		{ { 0x66, 0x68, 1, 2, 3, 4 }, 6, 6, INSN_MOVES_STACK },	/* pushl $imm32 */
		{ { 0xb8, 1, 2 }, 3, 3, 0 },				/* mov $imm16,%ax */
		{ { 0x66, 0xb8, 1, 2, 3, 4 }, 6, 6, 0 },		/* mov $imm32,%eax */
		{ { 0xa1, 1, 2 }, 3, 3, 0 },				/* mov moffs16,%ax */
		{ { 0x67, 0xa1, 1, 2, 3, 4 }, 6, 6, 0 },		/* mov moffs32,%ax */
		{ { 0x9a, 1, 2, 3, 4 }, 5, 5, 0 },			/* lcall ptr16:16 */
		{ { 0x66, 0xea, 1, 2, 3, 4, 5, 6 }, 8, 8, 0 },		/* ljmpl ptr16:32 */
		{ { 0xe8, 1, 2 }, 3, 3, INSN_MOVES_STACK },		/* call rel16 */
		{ { 0x0f, 0x84, 1, 2 }, 4, 4, 0 },			/* je rel16 */
		{ { 0x66, 0x0f, 0x84, 1, 2, 3, 4 }, 7, 7, 0 },		/* je rel32 */
		{ { 0x8b, 0x06, 1, 2 }, 4, 4, 0 },			/* mov disp16,%ax */
		{ { 0x8b, 0x46, 1 }, 3, 3, 0 },				/* mov disp8(%bp),%ax */
		{ { 0x8b, 0x04 }, 2, 2, 0 },				/* mov (%si),%ax: no SIB */
		{ { 0x67, 0x8b, 0x04, 0x24 }, 4, 4, 0 },		/* mov (%esp),%ax: SIB */
		{ { 0xc7, 0x06, 1, 2, 3, 4 }, 6, 6, 0 },		/* movw $imm16,disp16 */
		{ { 0xf7, 0x06, 1, 2, 3, 4 }, 6, 6, 0 },		/* testw $imm16,disp16 */
		{ { 0xc8, 0x10, 0, 1 }, 4, 4, 0 },			/* enter: iw, ib either way */
		{ { 0x1f }, 1, 1, INSN_MOVES_STACK | INSN_LOADS_DS_ES },	/* pop %ds */
		{ { 0x07 }, 1, 1, INSN_MOVES_STACK | INSN_LOADS_DS_ES },	/* pop %es */
		{ { 0xc5, 0x06, 1, 2 }, 4, 4, INSN_LOADS_DS_ES },	/* lds disp16,%ax */
		{ { 0x8e, 0xd8 }, 2, 0, 0 },		/* mov %ax,%ds: a decoder's */
		{ { 0xb8, 1 }, 2, 0, 0 },		/* cut short */
	};
	check_lengths(cases, sizeof(cases) / sizeof(cases[0]), 1);
}

/*
 * Which instructions touch no memory besides their own bytes, by their
 * pages in vol. 2: register and immediate operands (a ModRM with mod 11
 * names a register, table 2-2), jumps and their conditions, IN and OUT
 * (ports, not memory); not a ModRM naming memory, a moffs, the stack
 * (PUSH, POP, CALL, RET, LEAVE, ENTER, INT), the strings or XLAT.
 */
static void test_memory_by_the_manual(void **state)
{
	(void)state;
	static const struct { uint8_t b[8]; size_t n; int none; } cases[] = {
		{ { 0x90 }, 1, 1 },			/* nop */
		{ { 0x42 }, 1, 1 },			/* inc %edx */
		{ { 0x89, 0xc3 }, 2, 1 },		/* mov %eax,%ebx */
		{ { 0x8b, 0x18 }, 2, 0 },		/* mov (%eax),%ebx */
		{ { 0x83, 0xfa, 0x01 }, 3, 1 },		/* cmp $1,%edx */
		{ { 0x83, 0x3a, 0x01 }, 3, 0 },		/* cmpl $1,(%edx) */
		{ { 0xb8, 1, 0, 0, 0 }, 5, 1 },		/* mov $1,%eax */
		{ { 0xa1, 1, 2, 3, 4 }, 5, 0 },		/* mov moffs32,%eax */
		{ { 0x50 }, 1, 0 },			/* push %eax */
		{ { 0xc9 }, 1, 0 },			/* leave */
		{ { 0xc8, 4, 0, 0 }, 4, 0 },		/* enter */
		{ { 0xc3 }, 1, 0 },			/* ret */
		{ { 0xcb }, 1, 0 },			/* lret */
		{ { 0xcd, 0x80 }, 2, 0 },		/* int $0x80 */
		{ { 0xcc }, 1, 0 },			/* int3 */
		{ { 0xa4 }, 1, 0 },			/* movsb */
		{ { 0x6c }, 1, 0 },			/* insb */
		{ { 0xd7 }, 1, 0 },			/* xlat */
		{ { 0xec }, 1, 1 },			/* in (%dx),%al: a port */
		{ { 0xeb, 0xfe }, 2, 1 },		/* jmp . */
		{ { 0x74, 0x00 }, 2, 1 },		/* jz */
		{ { 0xe2, 0xfe }, 2, 1 },		/* loop */
		{ { 0xe8, 0, 0, 0, 0 }, 5, 0 },		/* call rel32: pushes */
		{ { 0xff, 0xe0 }, 2, 1 },		/* jmp *%eax */
		{ { 0xff, 0xd0 }, 2, 0 },		/* call *%eax: pushes */
		{ { 0xff, 0x20 }, 2, 0 },		/* jmp *(%eax) */
		{ { 0x8d, 0x00 }, 2, 0 },		/* lea (%eax),%eax: left to the check */
		{ { 0x0f, 0x44, 0xd8 }, 3, 1 },		/* cmovz %eax,%ebx */
		{ { 0x0f, 0x44, 0x18 }, 3, 0 },		/* cmovz (%eax),%ebx */
		{ { 0x0f, 0xc8 }, 2, 1 },		/* bswap %eax */
		{ { 0x0f, 0x84, 0, 0, 0, 0 }, 6, 1 },	/* jz rel32 */
		{ { 0x0f, 0xa0 }, 2, 0 },		/* push %fs */
		{ { 0x2e, 0x90 }, 2, 1 },		/* a CS override on a nop */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned traits;
		size_t got = insn_length(cases[i].b, cases[i].n, 0, &traits);
		if (got != cases[i].n || !(traits & INSN_NO_MEMORY) != !cases[i].none)
			fail_msg("case %zu (%02x %02x): %zu, traits %u; expected no memory: %d", i,
				 cases[i].b[0], cases[i].b[1], got, traits, cases[i].none);
	}
}

static uint32_t next_random(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

/*
 * b (n bytes), where insn_length gives a size: the decoder's size and
 * stack moves agree, and in 16-bit code its loads of DS and ES.
 */
static int length_agrees(csh cs, cs_insn *insn, const uint8_t *b, size_t n, int code16)
{
	unsigned traits;
	size_t got = insn_length(b, n, code16, &traits);
	if (!got)
		return 0;
	const uint8_t *p = b;
	size_t left = n;
	uint64_t a = 0;
	size_t want = cs_disasm_iter(cs, &p, &left, &a, insn) ? insn->size : 0;
	if (got != want)
		fail_msg("%d-bit %02x %02x %02x %02x %02x: %zu, the decoder %zu", code16 ? 16 : 32,
			 b[0], b[1], b[2], b[3], b[4], got, want);
	unsigned id = insn->id;
	int stack = id == X86_INS_PUSH || id == X86_INS_POP || id == X86_INS_PUSHFD ||
		    id == X86_INS_POPFD || id == X86_INS_PUSHAL || id == X86_INS_POPAL ||
		    id == X86_INS_CALL || id == X86_INS_RET || id == X86_INS_IRETD ||
		    id == X86_INS_PUSHF || id == X86_INS_POPF || id == X86_INS_PUSHAW ||
		    id == X86_INS_POPAW || id == X86_INS_IRET;
	if (stack != ((traits & INSN_MOVES_STACK) != 0))
		fail_msg("%02x %02x %02x: %s moves the stack: %d, here %u", b[0], b[1], b[2],
			 insn->mnemonic, stack, traits);
	const cs_x86 *x = &insn->detail->x86;
	if (traits & INSN_NO_MEMORY) {
		/* no memory operand, and none implied: the stack, the strings, XLAT, INT */
		int implied = stack || id == X86_INS_LEAVE || id == X86_INS_ENTER ||
			      id == X86_INS_RETF || id == X86_INS_INT || id == X86_INS_INT3 ||
			      id == X86_INS_INTO || id == X86_INS_XLATB ||
			      (x->opcode[0] >= 0xa4 && x->opcode[0] <= 0xa7) ||
			      (x->opcode[0] >= 0xaa && x->opcode[0] <= 0xaf) ||
			      (x->opcode[0] >= 0x6c && x->opcode[0] <= 0x6f);
		for (int i = 0; i < x->op_count; i++)
			implied |= x->operands[i].type == X86_OP_MEM;
		if (implied)
			fail_msg("%02x %02x %02x: %s touches memory, taken for none", b[0], b[1],
				 b[2], insn->mnemonic);
	}
	if (code16) {
		int seg = x->op_count && x->operands[0].type == X86_OP_REG &&
			  (x->operands[0].reg == X86_REG_DS || x->operands[0].reg == X86_REG_ES);
		int loads = id == X86_INS_LDS || id == X86_INS_LES || (id == X86_INS_POP && seg);
		if (loads != ((traits & INSN_LOADS_DS_ES) != 0))
			fail_msg("%02x %02x %02x: %s loads DS or ES: %d, here %u", b[0], b[1],
				 b[2], insn->mnemonic, loads, traits);
	}
	if (got > 1 && insn_length(b, got - 1, code16, &traits))
		fail_msg("%02x %02x %02x: a size in fewer bytes than it needs", b[0], b[1], b[2]);
	return 1;
}

static void length_agrees_in(cs_mode mode, int code16)
{
	csh cs;
	assert_int_equal(cs_open(CS_ARCH_X86, mode, &cs), CS_ERR_OK);
	assert_int_equal(cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON), CS_ERR_OK);
	cs_insn *insn = cs_malloc(cs);
	assert_non_null(insn);
	static const uint8_t prefixes[][3] = {
		{ 0 }, { 1, 0x66 }, { 1, 0x67 }, { 2, 0x66, 0x67 }, { 2, 0xf3, 0x2e },
		{ 1, 0xf2 }, { 2, 0x26, 0x64 },
	};
	uint32_t x = 0x2545f491;
	unsigned long taken = 0;
	uint8_t b[24];
	for (size_t k = 0; k < sizeof(prefixes) / sizeof(prefixes[0]); k++) {
		size_t np = prefixes[k][0];
		for (size_t i = 0; i < np; i++)
			b[i] = prefixes[k][1 + i];
		/* the one-byte map, then the two-byte one, every ModRM */
		for (unsigned two = 0; two < 2; two++)
			for (unsigned op = 0; op < 256; op++)
				for (unsigned modrm = 0; modrm < 256; modrm++) {
					size_t at = np;
					if (two)
						b[at++] = 0x0f;
					b[at++] = (uint8_t)op;
					b[at++] = (uint8_t)modrm;
					for (size_t i = at; i < sizeof(b); i++)
						b[i] = (uint8_t)next_random(&x);
					taken += (unsigned long)length_agrees(cs, insn, b, sizeof(b),
									      code16);
				}
	}
	/* random bytes after a random run of prefixes */
	static const uint8_t legacy[] = { 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67,
					  0xf2, 0xf3 };
	for (unsigned r = 0; r < 100000; r++) {
		size_t np = next_random(&x) % 4;
		for (size_t i = 0; i < sizeof(b); i++)
			b[i] = (uint8_t)next_random(&x);
		for (size_t i = 0; i < np; i++)
			b[i] = legacy[next_random(&x) % sizeof(legacy)];
		taken += (unsigned long)length_agrees(cs, insn, b, sizeof(b), code16);
	}
	/* most of the one-byte map with most ModRMs, under each prefix */
	assert_true(taken > 7ul * 180u * 200u);
	cs_free(insn, 1);
	cs_close(&cs);
}

static void test_length32_agrees_with_the_decoder(void **state)
{
	(void)state;
	length_agrees_in(CS_MODE_32, 0);
}

static void test_length16_agrees_with_the_decoder(void **state)
{
	(void)state;
	length_agrees_in(CS_MODE_16, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_by_the_manual),
		cmocka_unit_test(test_modrm_by_the_manual),
		cmocka_unit_test(test_opcode_map_by_the_manual),
		cmocka_unit_test(test_unknown_with_prefixes),
		cmocka_unit_test(test_length32_by_the_manual),
		cmocka_unit_test(test_length16_by_the_manual),
		cmocka_unit_test(test_memory_by_the_manual),
		cmocka_unit_test(test_length32_agrees_with_the_decoder),
		cmocka_unit_test(test_length16_agrees_with_the_decoder),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
