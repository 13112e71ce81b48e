/*
 * int $0x80 system calls through the real entry path.  The expected
 * values are the user's own (what the kernel must preserve), the syscall
 * ABI (number in %eax, result in %eax, -ENOSYS for a missing call) and
 * the frame layout the seed documents at the top of entry.S.
 */
#include "support.h"

#define USER_EFLAGS 0x287u	/* IF, SF, PF, CF set; bit 1 reads as 1 */

/* movl $20,%eax ; int $0x80 ; (next) */
static const uint8_t getpid_code[] = { 0xb8, 0x14, 0x00, 0x00, 0x00, 0xcd, 0x80 };
#define AFTER_INT (ENTRYEMU_USER_CODE + sizeof(getpid_code))

static struct entryemu_setup getpid_setup(void)
{
	struct entryemu_setup s = { 0 };
	s.user.ebx = 0x11111111;
	s.user.ecx = 0x22222222;
	s.user.edx = 0x33333333;
	s.user.esi = 0x44444444;
	s.user.edi = 0x55555555;
	s.user.ebp = 0x66666666;
	s.user.esp = 0xbfffe000;
	s.user.eflags = USER_EFLAGS;
	s.pid = 4242;
	return s;
}

static void test_getpid_returns_pid_and_preserves_state(void **state)
{
	entryemu *m = *state;
	struct entryemu_setup s = getpid_setup();
	entryemu_result *r = new_result();
	run_code(m, &s, getpid_code, sizeof(getpid_code), r);
	assert_outcome(r, ENTRYEMU_DONE);
	assert_int_equal(entryemu_result_nreturns(r), 1);
	const struct entryemu_regs *u = must_return(r, 0);
	assert_int_equal(u->eax, 4242);
	assert_int_equal(u->ebx, 0x11111111);
	assert_int_equal(u->ecx, 0x22222222);
	assert_int_equal(u->edx, 0x33333333);
	assert_int_equal(u->esi, 0x44444444);
	assert_int_equal(u->edi, 0x55555555);
	assert_int_equal(u->ebp, 0x66666666);
	assert_int_equal(u->esp, 0xbfffe000);
	assert_int_equal(u->eip, AFTER_INT);
	assert_int_equal(u->eflags, USER_EFLAGS);
	assert_int_equal(u->cs, ENTRYEMU_USER_CS);
	assert_int_equal(u->ss, ENTRYEMU_USER_DS);
	assert_int_equal(u->ds, ENTRYEMU_USER_DS);
	assert_int_equal(u->es, ENTRYEMU_USER_DS);
	assert_int_equal(u->fs, 0);
	assert_int_equal(u->gs, 0);
	assert_int_equal(entryemu_result_nfixups(r), 0);
}

static void test_getpid_pt_regs_at_callout(void **state)
{
	entryemu *m = *state;
	struct entryemu_setup s = getpid_setup();
	entryemu_result *r = new_result();
	run_code(m, &s, getpid_code, sizeof(getpid_code), r);
	const struct entryemu_callout_record *c = must_call(r, "sys_getpid");
	const struct entryemu_pt_regs *p = &c->regs;
	/* asmlinkage: pt_regs starts right above the return address */
	assert_int_equal(c->pt_regs_addr, c->esp + 4);
	assert_int_equal(p->ebx, 0x11111111);
	assert_int_equal(p->ecx, 0x22222222);
	assert_int_equal(p->edx, 0x33333333);
	assert_int_equal(p->esi, 0x44444444);
	assert_int_equal(p->edi, 0x55555555);
	assert_int_equal(p->ebp, 0x66666666);
	assert_int_equal(p->eax, NR_GETPID);
	assert_int_equal(p->orig_eax, NR_GETPID);
	assert_int_equal(p->xds & 0xffff, ENTRYEMU_USER_DS);
	assert_int_equal(p->xes & 0xffff, ENTRYEMU_USER_DS);
	assert_true(p->has_xgs);
	assert_int_equal(p->xgs & 0xffff, 0);
	assert_int_equal(p->eip, AFTER_INT);
	assert_int_equal(p->xcs & 0xffff, ENTRYEMU_USER_CS);
	assert_int_equal(p->eflags, USER_EFLAGS);
	assert_int_equal(p->esp, 0xbfffe000);
	assert_int_equal(p->xss & 0xffff, ENTRYEMU_USER_DS);
	/* the frame ends at esp0: the CPU switched to the TSS stack */
	assert_int_equal(c->pt_regs_addr + 0x40, entryemu_esp0(m));
	/* the kernel's segments while C code runs (SAVE_ALL) */
	assert_int_equal(c->cs, ENTRYEMU_KERNEL_CS);
	assert_int_equal(c->ss, ENTRYEMU_KERNEL_DS);
	assert_int_equal(c->ds, ENTRYEMU_USER_DS);
	assert_int_equal(c->es, ENTRYEMU_USER_DS);
	assert_int_equal(c->gs, ENTRYEMU_KERNEL_PERCPU);
	/* a trap gate leaves IF as it was */
	assert_true(c->eflags & ENTRYEMU_EFLAGS_IF);
}

static void test_getpid_preserves_user_gs(void **state)
{
	entryemu *m = *state;
	/* a TLS descriptor in GDT entry 6, loaded in %gs before the call */
	struct entryemu_desc_edit tls = GDT_EDIT(6, 0x0000ffff, 0x00cff300);
	struct entryemu_setup s = getpid_setup();
	s.edits = &tls;
	s.nedits = 1;
	s.user.gs = TLS_SEL(6);
	entryemu_result *r = new_result();
	run_code(m, &s, getpid_code, sizeof(getpid_code), r);
	assert_outcome(r, ENTRYEMU_DONE);
	assert_int_equal(must_call(r, "sys_getpid")->regs.xgs & 0xffff, TLS_SEL(6));
	assert_int_equal(must_call(r, "sys_getpid")->gs, ENTRYEMU_KERNEL_PERCPU);
	assert_int_equal(must_return(r, 0)->gs, TLS_SEL(6));
	assert_int_equal(must_return(r, 0)->eax, 4242);
}

/* movl $NR,%eax ; int $0x80 */
static void run_nr(entryemu *m, uint32_t nr, entryemu_result *r)
{
	uint8_t code[] = { 0xb8, (uint8_t)nr, (uint8_t)(nr >> 8), (uint8_t)(nr >> 16),
			   (uint8_t)(nr >> 24), 0xcd, 0x80 };
	struct entryemu_setup s = { 0 };
	run_code(m, &s, code, sizeof(code), r);
	assert_outcome(r, ENTRYEMU_DONE);
}

static void test_unknown_syscall_is_enosys(void **state)
{
	entryemu *m = *state;
	entryemu_result *r = new_result();
	/* in the table but not implemented: sys_ni_syscall */
	run_nr(m, 300, r);
	assert_int_equal(must_return(r, 0)->eax, (uint32_t)-ENOSYS);
	assert_non_null(entryemu_result_find_callout(r, "sys_call[300]", 1));
	/* beyond the table: syscall_badsys, no call at all */
	run_nr(m, 1000, r);
	assert_int_equal(must_return(r, 0)->eax, (uint32_t)-ENOSYS);
	for (unsigned i = 0; i < entryemu_result_ncallouts(r); i++)
		assert_null(strstr(must_callout(r, i)->name, "sys_"));
	run_nr(m, 0xffffffffu, r);	/* negative: unsigned compare rejects it */
	assert_int_equal(must_return(r, 0)->eax, (uint32_t)-ENOSYS);
}

/* A caller-served syscall reads its asmlinkage arguments from pt_regs. */
static void sum_args(entryemu_call *c, void *opaque)
{
	int *calls = opaque;
	(*calls)++;
	uint32_t sum = 0;
	for (unsigned i = 0; i < 6; i++)
		sum += entryemu_call_stack_arg(c, i);
	entryemu_call_return(c, sum);
}

static void test_custom_syscall_gets_six_arguments(void **state)
{
	entryemu *m = *state;
	int calls = 0;
	assert_int_equal(entryemu_set_syscall(m, 200, sum_args, &calls), 0);
	/* movl $200,%eax ; int $0x80 */
	static const uint8_t code[] = { 0xb8, 200, 0, 0, 0, 0xcd, 0x80 };
	struct entryemu_setup s = { 0 };
	s.user.ebx = 1;
	s.user.ecx = 2;
	s.user.edx = 4;
	s.user.esi = 8;
	s.user.edi = 16;
	s.user.ebp = 32;
	entryemu_result *r = new_result();
	run_code(m, &s, code, sizeof(code), r);
	entryemu_reset_callouts(m);
	assert_outcome(r, ENTRYEMU_DONE);
	assert_int_equal(calls, 1);
	assert_int_equal(must_return(r, 0)->eax, 63);
	assert_int_equal(entryemu_set_syscall(m, 100000, sum_args, &calls), ENTRYEMU_E_NOENT);
	assert_int_equal(entryemu_set_callout(m, "no_such_function", sum_args, &calls),
			 ENTRYEMU_E_NOENT);
}

/* The 2.6.18 image: the same call, no xgs slot, %gs untouched in the kernel. */
static void test_pre_patch_getpid(void **state)
{
	(void)state;
	entryemu *m = open_image(ENTRYEMU_PRE_PATCH);
	assert_false(entryemu_image_saves_gs(m));
	struct entryemu_desc_edit tls = GDT_EDIT(6, 0x0000ffff, 0x00cff300);
	struct entryemu_setup s = getpid_setup();
	s.edits = &tls;
	s.nedits = 1;
	s.user.gs = TLS_SEL(6);
	entryemu_result *r = new_result();
	run_code(m, &s, getpid_code, sizeof(getpid_code), r);
	assert_outcome(r, ENTRYEMU_DONE);
	const struct entryemu_callout_record *c = must_call(r, "sys_getpid");
	assert_false(c->regs.has_xgs);
	assert_int_equal(c->regs.orig_eax, NR_GETPID);
	assert_int_equal(c->regs.eip, AFTER_INT);
	assert_int_equal(c->pt_regs_addr + 0x3c, entryemu_esp0(m));
	assert_int_equal(c->gs, TLS_SEL(6));	/* the kernel runs with the user's %gs */
	assert_int_equal(must_return(r, 0)->eax, 4242);
	assert_int_equal(must_return(r, 0)->gs, TLS_SEL(6));
	entryemu_close(m);
}

/* A run that never leaves the kernel's budget ends, it does not hang. */
static void test_budget_ends_an_endless_loop(void **state)
{
	entryemu *m = *state;
	static const uint8_t code[] = { 0xeb, 0xfe };	/* jmp . */
	struct entryemu_setup s = { 0 };
	s.insn_budget = 5000;
	entryemu_result *r = new_result();
	run_code(m, &s, code, sizeof(code), r);
	assert_outcome(r, ENTRYEMU_BUDGET);
	/* a budget of N: N instructions ran, and the next is the jump again */
	assert_int_equal(entryemu_result_insns(r), 5000);
	assert_int_equal(final_regs(r)->eip, ENTRYEMU_USER_CODE);
}

/*
 * A budget that runs out in the middle of straight-line code stops there:
 * ten INC %EAX and a jump to itself are one block to the engine, and a
 * budget of 4 runs four of the INCs (as a CPU counting instructions
 * would), not none of them or the whole block.
 */
static void test_budget_stops_inside_a_block(void **state)
{
	entryemu *m = *state;
	static const uint8_t code[] = { 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40,
					0x40, 0xeb, 0xfe };	/* 10 x inc %eax; jmp . */
	entryemu_result *r = new_result();
	for (int traced = 0; traced < 2; traced++) {
		struct entryemu_setup s = { .insn_budget = 4 };
		s.flags = traced ? ENTRYEMU_RUN_TRACE : 0;
		run_code(m, &s, code, sizeof(code), r);
		assert_outcome(r, ENTRYEMU_BUDGET);
		assert_int_equal(entryemu_result_insns(r), 4);
		assert_int_equal(final_regs(r)->eax, 4);
		assert_int_equal(final_regs(r)->eip, ENTRYEMU_USER_CODE + 4);
		if (traced)
			assert_int_equal(trace_len(r), 4);
		/* the ten INCs, the jump, and the jump once more */
		s.insn_budget = 12;
		run_code(m, &s, code, sizeof(code), r);
		assert_int_equal(entryemu_result_insns(r), 12);
		assert_int_equal(final_regs(r)->eax, 10);
		assert_int_equal(final_regs(r)->eip, ENTRYEMU_USER_CODE + 10);
	}
}

/*
 * Where a budget stops does not depend on the engine's history: a loop of
 * two blocks that jump to each other (on a later run, the engine links
 * them) stops at the same instruction, with the same count, every time.
 * 6 ends at the second block's start, 7 after its first instruction.
 */
static void test_budget_stop_is_the_same_on_every_run(void **state)
{
	entryemu *m = *state;
	static const uint8_t code[] = {
		0x40,			/* 0: inc %eax */
		0xeb, 0x01,		/* 1: jmp 4 */
		0x90,			/* 3: nop (jumped over) */
		0x43,			/* 4: inc %ebx */
		0xeb, 0xf9,		/* 5: jmp 0 */
	};
	entryemu_result *r = new_result();
	for (int i = 0; i < 6; i++) {
		struct entryemu_setup s = { .insn_budget = 6 + (uint64_t)(i & 1) };
		run_code(m, &s, code, sizeof(code), r);
		assert_outcome(r, ENTRYEMU_BUDGET);
		assert_int_equal(entryemu_result_insns(r), s.insn_budget);
		assert_int_equal(final_regs(r)->eax, 2);
		assert_int_equal(final_regs(r)->ebx, 1 + (i & 1));
		assert_int_equal(final_regs(r)->eip, ENTRYEMU_USER_CODE + 4 + (i & 1));
	}
}

/*
 * A budget of N stops before the (N+1)-th instruction the run would
 * execute, in user code, in the kernel's blocks and at the first
 * instruction of a kernel function the library serves alike: for every
 * N short of a getpid round trip, the run counts N and ends with EIP at
 * the address its trace (same setup, no budget) lists at index N.
 */
static void test_budget_stops_at_every_instruction_of_a_syscall(void **state)
{
	entryemu *m = *state;
	entryemu_result *full = new_result(), *r = new_result();
	struct entryemu_setup s = { .flags = ENTRYEMU_RUN_TRACE };
	run_code(m, &s, getpid_code, sizeof(getpid_code), full);
	assert_outcome(full, ENTRYEMU_DONE);
	size_t n = 0;
	const uint32_t *path = entryemu_result_trace(full, &n);
	assert_true(n > 20 && n == entryemu_result_insns(full));
	for (size_t budget = 1; budget < n; budget++) {
		struct entryemu_setup b = { .insn_budget = budget };
		run_code(m, &b, getpid_code, sizeof(getpid_code), r);
		assert_outcome(r, ENTRYEMU_BUDGET);
		assert_int_equal(entryemu_result_insns(r), budget);
		assert_int_equal(final_regs(r)->eip, path[budget]);
	}
}

static void test_instruction_count_is_exact_for_user_code(void **state)
{
	entryemu *m = *state;
	/* five nops: the library's jump to the exit page is the sixth */
	static const uint8_t code[] = { 0x90, 0x90, 0x90, 0x90, 0x90 };
	struct entryemu_setup s = { 0 };
	entryemu_result *r = new_result();
	run_code(m, &s, code, sizeof(code), r);
	assert_outcome(r, ENTRYEMU_DONE);
	assert_int_equal(entryemu_result_insns(r), 6);
	/* tracing records the same instructions */
	s.flags = ENTRYEMU_RUN_TRACE;
	run_code(m, &s, code, sizeof(code), r);
	assert_int_equal(trace_len(r), 6);
	/* and with a syscall, both counts agree */
	run_code(m, &s, getpid_code, sizeof(getpid_code), r);
	assert_int_equal(trace_len(r), entryemu_result_insns(r));
}

/*
 * 16-bit code is counted as 16-bit code.  MOV r16, imm16 is B8+rw iw,
 * three bytes (SDM vol. 2B MOV); read as 32-bit code the same bytes are
 * fewer, longer instructions.  In a 16-bit code segment (D clear: vol.
 * 3A 3.4.5) entered by ljmp, three of them and the ljmpl back to the
 * exit page: five instructions, as many as the trace records.  In
 * virtual-8086 mode, four of them and int3 make as many instructions as
 * four nops and int3, on the same way through the kernel.
 */
static void test_instruction_count_in_16bit_code(void **state)
{
	entryemu *m = *state;
	static const uint8_t code16[] = {
		0xea, 0x07, 0x00, 0x00, 0x00, 0x33, 0x00,	/* ljmp $0x33,$7 */
		0xb8, 0x01, 0x00,				/* movw $1,%ax */
		0xbb, 0x02, 0x00,				/* movw $2,%bx */
		0xb9, 0x03, 0x00,				/* movw $3,%cx */
		0x66, 0xea, 0x00, 0x70, 0x04, 0x08, 0x73, 0x00,	/* ljmpl $0x73,$exit */
	};
	struct entryemu_desc_edit seg16 = GDT_EDIT(6, 0x8000ffff, 0x088ffa04);
	struct entryemu_setup s = { .edits = &seg16, .nedits = 1 };
	entryemu_result *r = new_result();
	run_code(m, &s, code16, sizeof(code16), r);
	assert_outcome(r, ENTRYEMU_DONE);
	assert_int_equal(final_regs(r)->ecx & 0xffff, 3);
	assert_int_equal(entryemu_result_insns(r), 5);
	s.flags = ENTRYEMU_RUN_TRACE;
	run_code(m, &s, code16, sizeof(code16), r);
	assert_int_equal(trace_len(r), 5);

	static const uint8_t movs[] = { 0xb8, 0x01, 0x00, 0xbb, 0x02, 0x00, 0xb9, 0x03, 0x00,
					0xba, 0x04, 0x00, 0xcc };
	static const uint8_t nops[] = { 0x90, 0x90, 0x90, 0x90, 0xcc };
	struct entryemu_setup v = { 0 };
	v.vm86 = 1;
	entryemu_result *a = new_result(), *b = new_result();
	run_code(m, &v, movs, sizeof(movs), a);
	run_code(m, &v, nops, sizeof(nops), b);
	assert_int_equal(must_event(a, 0)->vector, 3);
	assert_int_equal(must_event(a, 0)->eip, sizeof(movs));	/* int3 is a trap */
	assert_int_equal(entryemu_result_insns(a), entryemu_result_insns(b));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_getpid_returns_pid_and_preserves_state),
		cmocka_unit_test(test_getpid_pt_regs_at_callout),
		cmocka_unit_test(test_getpid_preserves_user_gs),
		cmocka_unit_test(test_unknown_syscall_is_enosys),
		cmocka_unit_test(test_custom_syscall_gets_six_arguments),
		cmocka_unit_test(test_pre_patch_getpid),
		cmocka_unit_test(test_budget_ends_an_endless_loop),
		cmocka_unit_test(test_budget_stops_inside_a_block),
		cmocka_unit_test(test_budget_stop_is_the_same_on_every_run),
		cmocka_unit_test(test_budget_stops_at_every_instruction_of_a_syscall),
		cmocka_unit_test(test_instruction_count_is_exact_for_user_code),
		cmocka_unit_test(test_instruction_count_in_16bit_code),
	};
	return cmocka_run_group_tests(tests, setup_post_image, close_image);
}
