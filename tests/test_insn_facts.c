/*
 * The facts the entry-code sweep takes from an instruction without a
 * decoder (src/image/insn_facts.c).  First a few by the manual: the
 * encodings are SDM vol. 2A's (PUSH 50+rd, POP 58+rd, MOV B8+rd id and
 * 89/8B /r, Jcc 70+cc cb and 0F 80+cc cd, JMP EB cb and E9 cd, CALL E8
 * cd, group 1 83 /digit ib, RET C3), and what each reads and writes is
 * the instruction's operation there.  Then every encoding the plain path
 * takes (each opcode, each second byte, several immediates, at two
 * addresses) against Capstone's decode of the same bytes: the size, how
 * control leaves, the immediates and what they are, no memory operand,
 * and the same taint for every set of tainted registers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include <capstone/capstone.h>

#include "image/insn_facts.h"

#define EAX (1u << 0)
#define ECX (1u << 1)
#define EBX (1u << 3)
#define EBP (1u << 5)
#define ESI (1u << 6)

static void test_by_the_manual(void **state)
{
	(void)state;
	static const struct {
		uint8_t b[8];
		size_t n, size;
		unsigned flow, reads, writes, user_load;
		uint32_t imm;		/* the first immediate, if any */
		int target;
	} cases[] = {
		{ { 0x53 }, 1, 1, FLOW_ON, EBX, 0, 0, 0, 0 },			/* push %ebx */
		{ { 0x5d }, 1, 1, FLOW_ON, 0, EBP, 1, 0, 0 },			/* pop %ebp */
		{ { 0xb8, 0x78, 0x56, 0x34, 0x12 }, 5, 5, FLOW_ON, 0, EAX, 0, 0x12345678, 0 },
		{ { 0xb8, 0x78, 0x56, 0x34 }, 4, 0, 0, 0, 0, 0, 0, 0 },	/* cut short */
		{ { 0x89, 0xf1 }, 2, 2, FLOW_ON, ESI, ECX, 0, 0, 0 },		/* mov %esi,%ecx */
		{ { 0x8b, 0xf1 }, 2, 2, FLOW_ON, ECX, ESI, 0, 0, 0 },		/* mov %ecx,%esi */
		{ { 0x8b, 0x01 }, 2, 0, 0, 0, 0, 0, 0, 0 },			/* mov (%ecx),%eax: memory */
		{ { 0x39, 0xc3 }, 2, 2, FLOW_ON, EAX | EBX, 0, 0, 0, 0 },	/* cmp %eax,%ebx */
		{ { 0x83, 0xc3, 0xfc }, 3, 3, FLOW_ON, EBX, EBX, 0, 0xfffffffcu, 0 }, /* add $-4,%ebx */
		{ { 0x74, 0x10 }, 2, 2, FLOW_ON, 0, 0, 0, 0x1000 + 2 + 0x10, 1 },	/* je */
		{ { 0x0f, 0x85, 0xf0, 0xff, 0xff, 0xff }, 6, 6, FLOW_ON, 0, 0, 0, 0x1000 + 6 - 0x10, 1 },
		{ { 0xeb, 0xfe }, 2, 2, FLOW_END, 0, 0, 0, 0x1000, 1 },		/* jmp . */
		{ { 0xe8, 0x00, 0x01, 0x00, 0x00 }, 5, 5, FLOW_CALL, 0, 0, 0, 0x1105, 0 },
		{ { 0xc3 }, 1, 1, FLOW_END, 0, 0, 0, 0, 0 },			/* ret */
		{ { 0x66, 0x50 }, 2, 0, 0, 0, 0, 0, 0, 0 },			/* prefixed */
		{ { 0x2e, 0x53 }, 2, 0, 0, 0, 0, 0, 0, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct insn_facts f;
		size_t n = insn_facts_plain(cases[i].b, cases[i].n, 0x1000, &f);
		assert_int_equal(n, cases[i].size);
		if (!n)
			continue;
		assert_int_equal(f.size, n);
		assert_int_equal(f.flow, cases[i].flow);
		assert_int_equal(f.reads & ~GPR_ESP, cases[i].reads);
		assert_int_equal(f.writes & ~GPR_ESP, cases[i].writes);
		assert_int_equal(f.user_load, cases[i].user_load);
		if (cases[i].imm || cases[i].target) {
			assert_int_equal(f.nimm, 1);
			assert_int_equal(f.imm[0], cases[i].imm);
			assert_int_equal(f.imm_target[0], cases[i].target);
		}
	}
}

/* Taint through a pop: the popped register holds what the stack held, the user's (accesses.c). */
static void test_taint(void **state)
{
	(void)state;
	struct insn_facts f;
	assert_int_equal(insn_facts_plain((const uint8_t *)"\x5b", 1, 0, &f), 1);
	assert_int_equal(insn_facts_taint(&f, 0), EBX);
	assert_int_equal(insn_facts_plain((const uint8_t *)"\xbb\0\0\0\0", 5, 0, &f), 5);
	assert_int_equal(insn_facts_taint(&f, EBX | EAX), EAX);	/* mov $0,%ebx */
	assert_int_equal(insn_facts_plain((const uint8_t *)"\xe8\0\0\0\0", 5, 0, &f), 5);
	assert_int_equal(insn_facts_taint(&f, 0), 0x07u);		/* a C call: %eax, %ecx, %edx */
}

static csh cs;

/* Capstone's decode of the bytes at addr (len there), or a failure naming the path that took them. */
static cs_insn *decode(const uint8_t *b, size_t len, uint32_t addr, const char *path)
{
	cs_insn *insn = cs_malloc(cs);
	const uint8_t *code = b;
	size_t left = len;
	uint64_t at = addr;
	if (!cs_disasm_iter(cs, &code, &left, &at, insn))
		fail_msg("%02x %02x %02x %02x: the %s path takes it, Capstone does not", b[0], b[1],
			 b[2], b[3], path);
	return insn;
}

/*
 * The facts mine (n bytes) against Capstone's, dec, of insn: the size,
 * how control leaves, the immediates and what they are, whether it
 * moves the stack (and loads a user value, if user_load), and the same
 * taint for every set of tainted registers.
 */
static void same_facts(const cs_insn *insn, size_t n, const struct insn_facts *mine,
		       const struct insn_facts *dec, int user_load)
{
	const char *name = insn->mnemonic, *ops = insn->op_str;
	if (dec->size != n)
		fail_msg("%s %s: size %zu, Capstone %u", name, ops, n, dec->size);
	if (dec->flow != mine->flow || dec->nimm != mine->nimm ||
	    dec->moves_stack != mine->moves_stack ||
	    (user_load && dec->user_load != mine->user_load))
		fail_msg("%s %s: flow %u/%u, immediates %u/%u, moves the stack %u/%u, "
			 "user load %u/%u", name, ops, mine->flow, dec->flow, mine->nimm, dec->nimm,
			 mine->moves_stack, dec->moves_stack, mine->user_load, dec->user_load);
	for (unsigned i = 0; i < mine->nimm; i++)
		if (dec->imm[i] != mine->imm[i] || dec->imm_target[i] != mine->imm_target[i])
			fail_msg("%s %s: immediate %u: %08x (%u), Capstone %08x (%u)", name, ops, i,
				 mine->imm[i], mine->imm_target[i], dec->imm[i], dec->imm_target[i]);
	for (unsigned t = 0; t < 256; t++)
		if (insn_facts_taint(mine, t & ~GPR_ESP) != insn_facts_taint(dec, t & ~GPR_ESP))
			fail_msg("%s %s: tainted %02x before: %02x after, by Capstone %02x", name, ops,
				 t & ~GPR_ESP, insn_facts_taint(mine, t & ~GPR_ESP),
				 insn_facts_taint(dec, t & ~GPR_ESP));
}

/* bytes at addr: the plain path's facts against Capstone's; 1 if the plain path took it */
static int check_one(const uint8_t *b, size_t len, uint32_t addr)
{
	struct insn_facts plain, dec;
	size_t n = insn_facts_plain(b, len, addr, &plain);
	if (!n)
		return 0;
	cs_insn *insn = decode(b, len, addr, "plain");
	insn_facts_capstone(cs, insn, &dec);
	same_facts(insn, n, &plain, &dec, 0);
	const cs_x86 *x = &insn->detail->x86;
	for (int i = 0; i < x->op_count; i++)
		if (x->operands[i].type == X86_OP_MEM)
			fail_msg("%s %s: a memory operand", insn->mnemonic, insn->op_str);
	cs_free(insn, 1);
	return 1;
}

static void test_against_capstone(void **state)
{
	(void)state;
	static const uint8_t tails[][6] = {
		{ 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 },
		{ 0x7f, 0x12, 0x34, 0x56, 0x78, 0x9a },
		{ 0x80, 0xff, 0xff, 0xff, 0xff, 0xff },
		{ 0xf0, 0x10, 0x00, 0x10, 0xc0, 0x01 },
	};
	static const uint32_t addrs[] = { 0xc0100000u, 0xfffffff0u };
	unsigned taken = 0, two_byte = 0;
	for (unsigned b0 = 0; b0 < 256; b0++)
		for (unsigned b1 = 0; b1 < 256; b1++)
			for (size_t t = 0; t < sizeof(tails) / sizeof(tails[0]); t++)
				for (size_t a = 0; a < 2; a++) {
					uint8_t b[16] = { (uint8_t)b0, (uint8_t)b1 };
					memcpy(b + 2, tails[t], sizeof(tails[t]));
					int took = check_one(b, sizeof(b), addrs[a]);
					taken += (unsigned)took;
					two_byte += (unsigned)(took && b0 == 0x0f);
				}
	/* not a vacuous pass: the register forms alone are thousands */
	assert_true(taken > 20000);
	assert_true(two_byte > 100);
}

/*
 * bytes at addr: the ModRM path's facts and memory operand against
 * Capstone's; 1 if the path took it.  The operand's fields compared are
 * those the sweep and the checkers read (accesses.c, checks_uaccess.c,
 * checks_bounds.c, fault.c's address of an operand); of the access,
 * whether it only writes (Capstone's tables call some reads, TEST's
 * among them, read-and-write; the sweep asks only that).
 */
static int check_modrm(const uint8_t *b, size_t len, uint32_t addr)
{
	struct insn_facts mine, dec;
	struct insn_mem_operand mem;
	size_t n = insn_facts_modrm(b, len, &mine, &mem);
	if (!n)
		return 0;
	cs_insn *insn = decode(b, len, addr, "ModRM");
	insn_facts_capstone(cs, insn, &dec);
	same_facts(insn, n, &mine, &dec, 1);
	const char *name = insn->mnemonic, *ops = insn->op_str;
	const cs_x86 *x = &insn->detail->x86;
	const cs_x86_op *m = NULL;
	for (int i = 0; i < x->op_count; i++)
		if (x->operands[i].type == X86_OP_MEM) {
			if (m)
				fail_msg("%s %s: two memory operands", name, ops);
			m = &x->operands[i];
		}
	if (!m != !mem.present)
		fail_msg("%s %s: memory operand %d, Capstone %d", name, ops, mem.present, m != NULL);
	if (m) {
		const cs_x86_op *o = &mem.op;
		int lea = insn->id == X86_INS_LEA;
		if (o->mem.segment != m->mem.segment || o->mem.base != m->mem.base ||
		    o->mem.index != m->mem.index || o->mem.scale != m->mem.scale ||
		    o->mem.disp != m->mem.disp || (!lea && o->size != m->size) ||
		    (!lea && (o->access == CS_AC_WRITE) != (m->access == CS_AC_WRITE)) ||
		    mem.access == lea)
			fail_msg("%s %s: operand seg %d base %d index %d scale %d disp %llx size %u "
				 "access %u; Capstone %d %d %d %d %llx %u %u", name, ops,
				 o->mem.segment, o->mem.base, o->mem.index, o->mem.scale,
				 (unsigned long long)o->mem.disp, o->size, o->access, m->mem.segment,
				 m->mem.base, m->mem.index, m->mem.scale,
				 (unsigned long long)m->mem.disp, m->size, m->access);
	}
	cs_free(insn, 1);
	return 1;
}

/*
 * Every opcode the ModRM path may take, with every ModRM, under no
 * prefix, 66, each segment override and both, followed by bytes that
 * give each SIB form and positive and negative displacements and
 * immediates.
 */
static void test_modrm_against_capstone(void **state)
{
	(void)state;
	static const uint8_t opcodes[][2] = {
		{ 0x00 }, { 0x01 }, { 0x02 }, { 0x03 }, { 0x08 }, { 0x09 }, { 0x0a }, { 0x0b },
		{ 0x10 }, { 0x11 }, { 0x12 }, { 0x13 }, { 0x18 }, { 0x19 }, { 0x1a }, { 0x1b },
		{ 0x20 }, { 0x21 }, { 0x22 }, { 0x23 }, { 0x28 }, { 0x29 }, { 0x2a }, { 0x2b },
		{ 0x30 }, { 0x31 }, { 0x32 }, { 0x33 }, { 0x38 }, { 0x39 }, { 0x3a }, { 0x3b },
		{ 0x80 }, { 0x81 }, { 0x83 }, { 0x84 }, { 0x85 }, { 0x88 }, { 0x89 }, { 0x8a },
		{ 0x8b }, { 0x8c }, { 0x8d }, { 0x8e }, { 0xc6 }, { 0xc7 }, { 0xf6 }, { 0xf7 },
		{ 0xfe }, { 0xff }, { 0x0f, 0xb6 }, { 0x0f, 0xb7 }, { 0x0f, 0xbe }, { 0x0f, 0xbf },
	};
	static const uint8_t prefixes[][2] = {
		{ 0 }, { 0x66 }, { 0x26 }, { 0x2e }, { 0x36 }, { 0x3e }, { 0x64 }, { 0x65 },
		{ 0x66, 0x65 }, { 0x36, 0x66 },
	};
	static const uint8_t tails[][9] = {
		{ 0x24, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80 },
		{ 0x85, 0xf0, 0xff, 0xff, 0xff, 0x81, 0x82, 0x83, 0x84 },
		{ 0x6c, 0x7f, 0x00, 0x10, 0xc0, 0xff, 0x01, 0x02, 0x03 },
		{ 0xe5, 0x80, 0x00, 0x00, 0x00, 0x7f, 0xff, 0x00, 0x00 },
		{ 0x64, 0xc0, 0x25, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00 },
		{ 0x1d, 0x08, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde },
	};
	unsigned taken = 0, with_memory = 0;
	for (size_t o = 0; o < sizeof(opcodes) / sizeof(opcodes[0]); o++)
		for (size_t p = 0; p < sizeof(prefixes) / sizeof(prefixes[0]); p++)
			for (unsigned modrm = 0; modrm < 256; modrm++)
				for (size_t t = 0; t < sizeof(tails) / sizeof(tails[0]); t++) {
					uint8_t b[16] = { 0 };
					size_t n = 0;
					for (size_t i = 0; i < 2 && prefixes[p][i]; i++)
						b[n++] = prefixes[p][i];
					b[n++] = opcodes[o][0];
					if (opcodes[o][1])
						b[n++] = opcodes[o][1];
					b[n++] = (uint8_t)modrm;
					memcpy(b + n, tails[t], sizeof(tails[t]));
					int took = check_modrm(b, sizeof(b), 0xc0100000u);
					taken += (unsigned)took;
					with_memory += (unsigned)(took && (modrm >> 6) != 3);
				}
	/* not a vacuous pass */
	assert_true(with_memory > 400000);		/* 519,156 when written */
	assert_true(taken - with_memory > 20000);	/* 34,464 */
}

/* Cut short anywhere, an instruction is not taken (the sweep then stops at the section's end). */
static void test_modrm_cut_short(void **state)
{
	(void)state;
	/* mov %eax,0x12345678(%ebx,%ecx,4) with a GS override; movl $1,4(%esp) */
	static const uint8_t a[] = { 0x65, 0x89, 0x84, 0x8b, 0x78, 0x56, 0x34, 0x12 };
	static const uint8_t b[] = { 0xc7, 0x44, 0x24, 0x04, 0x01, 0x00, 0x00, 0x00 };
	struct insn_facts f;
	struct insn_mem_operand mem;
	for (size_t n = 0; n < sizeof(a); n++)
		assert_int_equal(insn_facts_modrm(a, n, &f, &mem), 0);
	assert_int_equal(insn_facts_modrm(a, sizeof(a), &f, &mem), sizeof(a));
	assert_int_equal(mem.op.mem.segment, X86_REG_GS);
	assert_int_equal(mem.op.mem.base, X86_REG_EBX);
	assert_int_equal(mem.op.mem.index, X86_REG_ECX);
	assert_int_equal(mem.op.mem.scale, 4);
	assert_int_equal(mem.op.mem.disp, 0x12345678);
	for (size_t n = 0; n < sizeof(b); n++)
		assert_int_equal(insn_facts_modrm(b, n, &f, &mem), 0);
	assert_int_equal(insn_facts_modrm(b, sizeof(b), &f, &mem), sizeof(b));
	assert_int_equal(f.imm[0], 1);
	assert_int_equal(mem.op.access, CS_AC_WRITE);
}

static int setup(void **state)
{
	(void)state;
	if (cs_open(CS_ARCH_X86, CS_MODE_32, &cs) != CS_ERR_OK)
		return -1;
	cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	cs_close(&cs);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_by_the_manual),
		cmocka_unit_test(test_taint),
		cmocka_unit_test(test_against_capstone),
		cmocka_unit_test(test_modrm_against_capstone),
		cmocka_unit_test(test_modrm_cut_short),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
