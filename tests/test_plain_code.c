/*
 * Which user code may run without the hook before each user instruction
 * (src/cpu/plain_code.c), on its own.  The forms and their lengths come
 * from the SDM vol. 2, appendix A (the one-byte opcode map) and 2.1
 * (a ModRM with mod 11b names a register, no memory operand; cd is
 * INT imm8, e9 a JMP rel32 counted from the next instruction).  Code
 * with anything else, a prefix included, is not plain.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <entryemu/entryemu.h>

#include "cpu/plain_code.h"

#define BASE ENTRYEMU_USER_CODE

/* code, then the loader's jmp to the exit page (machine.c) */
static size_t with_exit_jmp(uint8_t *buf, const uint8_t *code, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = code[i];
	int32_t rel = (int32_t)(ENTRYEMU_USER_EXIT - (BASE + (uint32_t)len + 5));
	buf[len] = 0xe9;
	for (int i = 0; i < 4; i++)
		buf[len + 1 + (size_t)i] = (uint8_t)((uint32_t)rel >> (8 * i));
	return len + 5;
}

static int plain(const uint8_t *code, size_t len, uint64_t starts[4])
{
	uint8_t buf[300];
	size_t n = with_exit_jmp(buf, code, len);
	return plain_user_code(buf, n, BASE, starts, 4);
}

static void test_getpid_is_plain_and_its_starts_are_the_instructions(void **state)
{
	(void)state;
	/* mov $20,%eax (b8 imm32: 5 bytes) ; int $0x80 (cd ib: 2) ; then jmp at 7 */
	static const uint8_t code[] = { 0xb8, 0x14, 0, 0, 0, 0xcd, 0x80 };
	uint64_t starts[4];
	assert_int_equal(plain(code, sizeof(code), starts), 1);
	assert_int_equal(starts[0], (1ull << 0) | (1ull << 5) | (1ull << 7));
	assert_int_equal(starts[1] | starts[2] | starts[3], 0);
}

static void test_register_forms_are_plain(void **state)
{
	(void)state;
	static const uint8_t code[] = {
		0x89, 0xd8,			/* mov %ebx,%eax (mod 11) */
		0x31, 0xc9,			/* xor %ecx,%ecx */
		0x83, 0xc0, 0x01,		/* add $1,%eax (83 /0 ib) */
		0x81, 0xe3, 0xff, 0, 0, 0,	/* and $0xff,%ebx (81 /4 id) */
		0x80, 0xf1, 0x7f,		/* xor $0x7f,%cl (80 /6 ib) */
		0x40, 0x4b,			/* inc %eax ; dec %ebx */
		0x90, 0x93,			/* nop ; xchg %eax,%ebx */
		0xb1, 0x05,			/* mov $5,%cl */
		0x85, 0xc0,			/* test %eax,%eax */
		0xf8, 0xf9, 0xf5, 0xfc, 0xfd,	/* clc stc cmc cld std */
		0xcd, 0x80,			/* int $0x80 */
	};
	uint64_t starts[4];
	assert_int_equal(plain(code, sizeof(code), starts), 1);
	/* every start: 0 2 4 7 13 16 17 18 19 20 22 24 25 26 27 28 29, the jmp at 31 */
	static const unsigned at[] = { 0, 2, 4, 7, 13, 16, 17, 18, 19, 20, 22, 24, 25, 26, 27,
				       28, 29, 31 };
	uint64_t want = 0;
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++)
		want |= 1ull << at[i];
	assert_int_equal(starts[0], want);
}

static void test_a_memory_operand_is_not_plain(void **state)
{
	(void)state;
	uint64_t starts[4];
	/* mov (%ebx),%eax: mod 00 */
	static const uint8_t load[] = { 0x8b, 0x03 };
	assert_int_equal(plain(load, sizeof(load), starts), 0);
	/* add $1,4(%esp): 83 with mod 01 */
	static const uint8_t rmw[] = { 0x83, 0x44, 0x24, 0x04, 0x01 };
	assert_int_equal(plain(rmw, sizeof(rmw), starts), 0);
	/* pushl (%eax): a push from memory */
	static const uint8_t push_mem[] = { 0xff, 0x30 };
	assert_int_equal(plain(push_mem, sizeof(push_mem), starts), 0);
}

static void test_the_stack_forms_are_plain_with_their_own_mark(void **state)
{
	(void)state;
	static const uint8_t code[] = {
		0x50, 0x5b,			/* push %eax ; pop %ebx */
		0x6a, 0x07,			/* push $7 */
		0x68, 1, 2, 3, 4,		/* push $0x04030201 */
		0xe8, 0, 0, 0, 0,		/* call the next instruction */
		0x58, 0x59, 0x5d,		/* pop %eax ; pop %ecx ; pop %ebp */
		0xc3,				/* ret */
	};
	uint64_t starts[4];
	assert_int_equal(plain(code, sizeof(code), starts), PLAIN_CODE | PLAIN_STACK);
	/* 0 1 2 4 9 14 15 16 17, the jmp at 18 */
	static const unsigned at[] = { 0, 1, 2, 4, 9, 14, 15, 16, 17, 18 };
	uint64_t want = 0;
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++)
		want |= 1ull << at[i];
	assert_int_equal(starts[0], want);
	/* pop %esp: ESP from the stack */
	static const uint8_t pop_esp[] = { 0x5c };
	assert_int_equal(plain(pop_esp, sizeof(pop_esp), starts), 0);
}

/* With a push or pop, nothing else may write ESP (vol. 2A 2.1.5: the
 * destination is ModRM.rm unless bit 1 of the opcode is set) */
static void test_stack_code_may_not_write_esp_otherwise(void **state)
{
	(void)state;
	uint64_t starts[4];
	static const uint8_t writers[][5] = {
		{ 0x89, 0xc4 },		/* mov %eax,%esp (rm = 4) */
		{ 0x8b, 0xe0 },		/* mov %eax,%esp (reg = 4) */
		{ 0x83, 0xc4, 0x10 },	/* add $16,%esp */
		{ 0x31, 0xe4 },		/* xor %esp,%esp */
		{ 0x87, 0xe0 },		/* xchg %esp,%eax */
		{ 0x87, 0xc4 },		/* xchg %eax,%esp */
		{ 0x44 }, { 0x4c }, { 0x94 },	/* inc, dec, xchg with EAX */
		{ 0xbc, 0, 0, 0xff, 0xbf },	/* mov $0xbfff0000,%esp */
	};
	static const size_t lens[] = { 2, 2, 3, 2, 2, 2, 1, 1, 1, 5 };
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		uint8_t code[8] = { 0x50 };		/* push %eax first */
		for (size_t k = 0; k < lens[i]; k++)
			code[1 + k] = writers[i][k];
		assert_int_equal(plain(code, 1 + lens[i], starts), 0);
		/* without the push, the same write is plain */
		assert_int_equal(plain(code + 1, lens[i], starts), PLAIN_CODE);
	}
	/* reading ESP, or comparing with it, is not writing it */
	static const uint8_t readers[] = { 0x50, 0x89, 0xe0,	/* mov %esp,%eax */
					   0x39, 0xc4,		/* cmp %eax,%esp */
					   0x83, 0xfc, 0x10,	/* cmp $16,%esp */
					   0x85, 0xe4 };	/* test %esp,%esp */
	assert_int_equal(plain(readers, sizeof(readers), starts), PLAIN_CODE | PLAIN_STACK);
}

static void test_what_the_user_hook_handles_is_not_plain(void **state)
{
	(void)state;
	uint64_t starts[4];
	static const uint8_t rdtsc[] = { 0x0f, 0x31 };
	static const uint8_t iret[] = { 0xcf };
	static const uint8_t lcall[] = { 0x9a, 0, 0, 0, 0, 0x73, 0 };
	static const uint8_t ljmp_mem[] = { 0xff, 0x2b };	/* ljmp *(%ebx) */
	static const uint8_t lret[] = { 0xcb };
	static const uint8_t rcl_mem[] = { 0xd1, 0x13 };	/* rcl (%ebx) */
	static const uint8_t jmp_near[] = { 0xeb, 0x00 };
	static const uint8_t in_port[] = { 0xe4, 0x60 };
	/* the engine calls the sysenter hook with EIP and the flags stale */
	static const uint8_t sysenter[] = { 0x0f, 0x34 };
	assert_int_equal(plain(rdtsc, sizeof(rdtsc), starts), 0);
	assert_int_equal(plain(iret, sizeof(iret), starts), 0);
	assert_int_equal(plain(lcall, sizeof(lcall), starts), 0);
	assert_int_equal(plain(ljmp_mem, sizeof(ljmp_mem), starts), 0);
	assert_int_equal(plain(lret, sizeof(lret), starts), 0);
	assert_int_equal(plain(rcl_mem, sizeof(rcl_mem), starts), 0);
	assert_int_equal(plain(jmp_near, sizeof(jmp_near), starts), 0);
	assert_int_equal(plain(in_port, sizeof(in_port), starts), 0);
	assert_int_equal(plain(sysenter, sizeof(sysenter), starts), 0);
}

static void test_a_prefix_is_not_plain(void **state)
{
	(void)state;
	uint64_t starts[4];
	static const uint8_t opsize[] = { 0x66, 0x89, 0xd8 };	/* mov %bx,%ax */
	static const uint8_t fs[] = { 0x64, 0x89, 0xd8 };
	assert_int_equal(plain(opsize, sizeof(opsize), starts), 0);
	assert_int_equal(plain(fs, sizeof(fs), starts), 0);
}

static void test_only_a_jmp_to_the_exit_page_ends_it(void **state)
{
	(void)state;
	uint64_t starts[4];
	uint8_t buf[16];
	static const uint8_t code[] = { 0x90 };
	size_t n = with_exit_jmp(buf, code, sizeof(code));
	assert_int_equal(plain_user_code(buf, n, BASE, starts, 4), 1);
	buf[n - 4] ^= 1;			/* the jmp now lands beside the exit page */
	assert_int_equal(plain_user_code(buf, n, BASE, starts, 4), 0);
	/* and it must be the last instruction: the code may not run past it */
	buf[n - 4] ^= 1;
	buf[n] = 0x90;
	assert_int_equal(plain_user_code(buf, n + 1, BASE, starts, 4), 0);
}

static void test_cut_or_long_code_is_not_plain(void **state)
{
	(void)state;
	uint64_t starts[4];
	static const uint8_t cut_mov[] = { 0xb8, 0x14, 0x00 };	/* b8 needs four bytes */
	assert_int_equal(plain_user_code(cut_mov, sizeof(cut_mov), BASE, starts, 4), 0);
	static const uint8_t cut_modrm[] = { 0x89 };
	assert_int_equal(plain_user_code(cut_modrm, sizeof(cut_modrm), BASE, starts, 4), 0);
	/* 252 NOPs and the jmp: 257 bytes, past what four words of starts hold */
	uint8_t nops[252], buf[300];
	for (size_t i = 0; i < sizeof(nops); i++)
		nops[i] = 0x90;
	size_t n = with_exit_jmp(buf, nops, sizeof(nops));
	assert_int_equal(plain_user_code(buf, n, BASE, starts, 4), 0);
	assert_int_equal(plain_user_code(buf + 1, n - 1, BASE + 1, starts, 4), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_getpid_is_plain_and_its_starts_are_the_instructions),
		cmocka_unit_test(test_register_forms_are_plain),
		cmocka_unit_test(test_a_memory_operand_is_not_plain),
		cmocka_unit_test(test_what_the_user_hook_handles_is_not_plain),
		cmocka_unit_test(test_the_stack_forms_are_plain_with_their_own_mark),
		cmocka_unit_test(test_stack_code_may_not_write_esp_otherwise),
		cmocka_unit_test(test_a_prefix_is_not_plain),
		cmocka_unit_test(test_only_a_jmp_to_the_exit_page_ends_it),
		cmocka_unit_test(test_cut_or_long_code_is_not_plain),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
