/*
 * A near CALL through a register whose target lies past CS's limit (the
 * library runs such a call in the engine and undoes it; a CALL rel it
 * checks before it runs).  Expected values:
 *   - the CPU checks the target before it pushes the return address
 *     (SDM vol. 2A CALL, near call: "IF tempEIP is not within code
 *     segment limit THEN #GP(0)", then Push(IP)), so #GP(0) is raised at
 *     the CALL and nothing is pushed: the stack's memory below ESP keeps
 *     what it held, and ESP is as the call found it (a fault leaves the
 *     state as before the instruction, vol. 3A 6.5);
 *   - on a 16-bit stack (SS's B flag clear) SP is the stack pointer and
 *     ESP's upper half is left alone (vol. 3A 3.4.5.1, B flag): with SP
 *     0 the push would go to SP 0xfffe, and undone, ESP is 0x12340000
 *     again, not 0x12350000; a near RET past the limit with SP 0xfffe
 *     (vol. 2A RET: the target is checked before SP moves) leaves ESP
 *     0x1234fffe, not 0x1233fffe.
 * These tests read the memory the call would have pushed into.
 */
#include "support.h"

#define CODE16_SEL 0x33		/* GDT entry 6: 16-bit code, base ENTRYEMU_USER_CODE, limit 0xff */
#define STACK16_SEL 0x43	/* GDT entry 8: 16-bit data, base 0x08050800, limit 0xffff */
#define STACK_LINEAR 0x08060800u
#define PATTERN 0x5a5a5a5au

/*
 * movl $0x08060800,%esp ; movl $PATTERN,-4(%esp) ; ljmp $0x33,$0x14
 * 0x14 (16-bit): movw $0x114,%ax ; 0x17: call *%ax, past the limit
 */
static const uint8_t call_32bit_stack[] = {
	0xbc, 0x00, 0x08, 0x06, 0x08,
	0xc7, 0x44, 0x24, 0xfc, 0x5a, 0x5a, 0x5a, 0x5a,
	0xea, 0x14, 0x00, 0x00, 0x00, 0x33, 0x00,
	0xb8, 0x14, 0x01,
	0xff, 0xd0,
};

/*
 * movl $PATTERN,0x080607fc ; movw $0x43,%ax ; movw %ax,%ss ;
 * movl $0x12340000,%esp (SP 0: the push goes to 0x08050800 + 0xfffe) ;
 * ljmp $0x33,$0x1c
 * 0x1c (16-bit): movw $0x11c,%ax ; 0x1f: call *%ax, past the limit
 */
static const uint8_t call_16bit_stack[] = {
	0xc7, 0x05, 0xfc, 0x07, 0x06, 0x08, 0x5a, 0x5a, 0x5a, 0x5a,
	0x66, 0xb8, 0x43, 0x00,
	0x8e, 0xd0,
	0xbc, 0x00, 0x00, 0x34, 0x12,
	0xea, 0x1c, 0x00, 0x00, 0x00, 0x33, 0x00,
	0xb8, 0x1c, 0x01,
	0xff, 0xd0,
};

/*
 * movw $0x180,0x080607fe (the return IP) ; movw $0x43,%ax ; movw %ax,%ss ;
 * movl $0x1234fffe,%esp (SP 0xfffe: linear 0x08050800 + 0xfffe) ;
 * ljmp $0x33,$0x1b
 * 0x1b (16-bit): ret to 0x180, past the limit; its pop wraps SP to 0
 */
static const uint8_t ret_16bit_stack[] = {
	0x66, 0xc7, 0x05, 0xfe, 0x07, 0x06, 0x08, 0x80, 0x01,
	0x66, 0xb8, 0x43, 0x00,
	0x8e, 0xd0,
	0xbc, 0xfe, 0xff, 0x34, 0x12,
	0xea, 0x1b, 0x00, 0x00, 0x00, 0x33, 0x00,
	0xc3,
};

static void run_call(entryemu *m, const uint8_t *code, size_t len, entryemu_result *r)
{
	static const struct entryemu_desc_edit edits[] = {
		GDT_EDIT(6, 0x800000ff, 0x0800fa04),
		GDT_EDIT(8, 0x0800ffff, 0x0800f205),
	};
	struct entryemu_setup s = { 0 };
	s.edits = edits;
	s.nedits = 2;
	run_code(m, &s, code, len, r);
}

static void assert_gp_at_call(const entryemu_result *r, uint32_t eip, uint32_t esp)
{
	assert_outcome(r, ENTRYEMU_KILLED);
	const struct entryemu_event_record *e = must_event(r, 0);
	assert_int_equal(e->vector, 13);
	assert_int_equal(e->error_code, 0);
	assert_int_equal(e->from_cpl, 3);
	assert_int_equal(e->eip, eip);
	const struct entryemu_callout_record *c = must_call(r, "do_general_protection");
	assert_int_equal(c->regs.eip, eip);
	assert_int_equal(c->regs.xcs, CODE16_SEL);
	assert_int_equal(c->regs.esp, esp);
}

static uint32_t word_below(entryemu *m, uint32_t addr)
{
	uint32_t v = 0;
	assert_int_equal(entryemu_mem_read(m, addr - 4, &v, 4), 0);
	return v;
}

/* The call at eip is #GP(0) with ESP esp, and the word below the stack keeps PATTERN. */
static void call_undone(entryemu *m, const uint8_t *code, size_t len, uint32_t eip, uint32_t esp)
{
	entryemu_result *r = new_result();
	run_call(m, code, len, r);
	assert_gp_at_call(r, eip, esp);
	assert_int_equal(word_below(m, STACK_LINEAR), PATTERN);
}

static void test_nothing_is_pushed(void **state)
{
	call_undone(*state, call_32bit_stack, sizeof(call_32bit_stack), 0x17, STACK_LINEAR);
}

static void test_a_16bit_stack_moves_sp_only(void **state)
{
	call_undone(*state, call_16bit_stack, sizeof(call_16bit_stack), 0x1f, 0x12340000u);
}

/* A RET undone on a 16-bit stack: SP back to 0xfffe, ESP's upper half as it was */
static void test_a_ret_on_a_16bit_stack_moves_sp_only(void **state)
{
	entryemu *m = *state;
	entryemu_result *r = new_result();
	run_call(m, ret_16bit_stack, sizeof(ret_16bit_stack), r);
	assert_gp_at_call(r, 0x1b, 0x1234fffeu);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nothing_is_pushed),
		cmocka_unit_test(test_a_16bit_stack_moves_sp_only),
		cmocka_unit_test(test_a_ret_on_a_16bit_stack_moves_sp_only),
	};
	return cmocka_run_group_tests(tests, setup_post_image, close_image);
}
