/*
 * RDTSC and RDTSCP in user code.  What the SDM fixes: the counter comes
 * back in EDX:EAX (vol. 2B RDTSC, RDTSCP), and it increases
 * monotonically (vol. 3B 17.17); RDTSCP also loads IA32_TSC_AUX into
 * ECX, which no code on the machine writes.  Its rate is the
 * processor's; the library's is one count per
 * instruction (docs/fidelity.md), so a run is the same every time, and
 * two reads differ by the number of instructions from one to the other.
 */
#include "support.h"

/*
 * rdtsc ; mov %eax,%esi ; mov %edx,%edi ; nop ; fs rdtsc ;
 * mov %eax,%ebx ; mov %edx,%ebp ; movl $20,%eax ; int $0x80
 */
static const uint8_t two_reads[] = {
	0x0f, 0x31, 0x89, 0xc6, 0x89, 0xd7, 0x90, 0x64, 0x0f, 0x31,
	0x89, 0xc3, 0x89, 0xd5, 0xb8, 0x14, 0x00, 0x00, 0x00, 0xcd, 0x80,
};

/* the same, each read made a one-instruction NOP of its length
 * (66 90: xchg %ax,%ax; 0f 1f 00: nopl (%eax)) */
static const uint8_t two_nops[] = {
	0x66, 0x90, 0x89, 0xc6, 0x89, 0xd7, 0x90, 0x0f, 0x1f, 0x00,
	0x89, 0xc3, 0x89, 0xd5, 0xb8, 0x14, 0x00, 0x00, 0x00, 0xcd, 0x80,
};

/* rdtscp ; mov %eax,%esi ; mov %ecx,%edi ; movl $20,%eax ; int $0x80 */
static const uint8_t one_rdtscp[] = {
	0x0f, 0x01, 0xf9, 0x89, 0xc6, 0x89, 0xcf, 0xb8, 0x14, 0x00, 0x00, 0x00, 0xcd, 0x80,
};

static const struct entryemu_regs *run_reads(entryemu *m, const uint8_t *code, size_t len,
					     uint32_t flags, entryemu_result *r)
{
	struct entryemu_setup s = { 0 };
	s.user.ecx = 0x22222222;
	s.flags = flags;
	run_code(m, &s, code, len, r);
	assert_outcome(r, ENTRYEMU_DONE);
	return must_return(r, 0);
}

static void test_reads_differ_by_the_instructions_between(void **state)
{
	entryemu *m = *state;
	entryemu_result *r = new_result();
	const struct entryemu_regs *u = run_reads(m, two_reads, sizeof(two_reads), 0, r);
	/* EDX:EAX of the first read in EDI:ESI, of the second in EBP:EBX */
	uint64_t first = (uint64_t)u->edi << 32 | u->esi, second = (uint64_t)u->ebp << 32 | u->ebx;
	/* the first read, two moves and a nop ran between the reads */
	assert_int_equal(second - first, 4);
}

static void test_a_run_reads_the_same_every_time(void **state)
{
	entryemu *m = *state;
	entryemu_result *a = new_result(), *b = new_result();
	const struct entryemu_regs *u = run_reads(m, two_reads, sizeof(two_reads), 0, a);
	const struct entryemu_regs *v = run_reads(m, two_reads, sizeof(two_reads), 0, b);
	assert_int_equal(u->esi, v->esi);
	assert_int_equal(u->edi, v->edi);
	assert_int_equal(u->ebx, v->ebx);
	assert_int_equal(u->ebp, v->ebp);
}

static void test_each_read_counts_as_one_instruction(void **state)
{
	entryemu *m = *state;
	entryemu_result *a = new_result(), *b = new_result();
	(void)run_reads(m, two_reads, sizeof(two_reads), 0, a);
	(void)run_reads(m, two_nops, sizeof(two_nops), 0, b);
	assert_int_equal(entryemu_result_insns(a), entryemu_result_insns(b));
}

static void test_rdtscp_loads_ecx_and_reads_the_same(void **state)
{
	entryemu *m = *state;
	entryemu_result *r = new_result(), *r2 = new_result();
	const struct entryemu_regs *u = run_reads(m, one_rdtscp, sizeof(one_rdtscp), 0, r);
	const struct entryemu_regs *v = run_reads(m, one_rdtscp, sizeof(one_rdtscp), 0, r2);
	assert_int_not_equal(u->edi, 0x22222222);	/* ECX was loaded */
	assert_int_equal(u->edi, v->edi);
	assert_int_equal(u->esi, v->esi);
}

/*
 * An IRQ due at the second read is taken at the boundary before it (SDM
 * vol. 3A 6.6: the return address is the interrupted instruction), and
 * the read runs after the handler's IRET, so it counts the handler's
 * instructions too.
 */
static void test_an_irq_at_a_read_comes_before_it(void **state)
{
	entryemu *m = *state;
	entryemu_result *plain = new_result(), *r = new_result();
	const struct entryemu_regs *p = run_reads(m, two_reads, sizeof(two_reads), 0, plain);
	uint64_t gap = ((uint64_t)p->ebp << 32 | p->ebx) - ((uint64_t)p->edi << 32 | p->esi);
	struct entryemu_setup s = { 0 };
	struct entryemu_inject irq = { .kind = ENTRYEMU_INJECT_IRQ, .vector = 3,
				       .at = ENTRYEMU_USER_CODE + 7 };	/* fs rdtsc */
	s.injects = &irq;
	s.ninjects = 1;
	run_code(m, &s, two_reads, sizeof(two_reads), r);
	assert_outcome(r, ENTRYEMU_DONE);
	const struct entryemu_event_record *e = entryemu_result_event(r, 0);
	assert_non_null(e);
	assert_int_equal(e->vector, 0x23);
	assert_int_equal(e->eip, ENTRYEMU_USER_CODE + 7);
	const struct entryemu_regs *u = must_return(r, 1);	/* after the getpid */
	uint64_t first = (uint64_t)u->edi << 32 | u->esi, second = (uint64_t)u->ebp << 32 | u->ebx;
	/* the IRQ's entry, handler and exit ran between the reads */
	assert_true(second - first > gap);
	assert_int_equal(second - first, gap + (entryemu_result_insns(r) -
						entryemu_result_insns(plain)));
}

/* A traced run lists each read among the instructions it ran, and
 * holds as many entries as it counts instructions. */
static void test_a_trace_lists_the_reads(void **state)
{
	entryemu *m = *state;
	entryemu_result *r = new_result();
	(void)run_reads(m, two_reads, sizeof(two_reads), ENTRYEMU_RUN_TRACE, r);
	size_t n = 0, reads = 0;
	const uint32_t *t = entryemu_result_trace(r, &n);
	assert_non_null(t);
	for (size_t i = 0; i < n; i++)
		reads += t[i] == ENTRYEMU_USER_CODE || t[i] == ENTRYEMU_USER_CODE + 7;
	assert_int_equal(reads, 2);
	assert_int_equal(n, entryemu_result_insns(r));
}

/*
 * With EFLAGS.TF set, a read is followed by its single-step trap: #DB
 * with the next instruction's address (SDM vol. 3B 17.3.1.4, a trap
 * after the instruction completes).
 */
static void test_a_single_step_traps_after_a_read(void **state)
{
	entryemu *m = *state;
	entryemu_result *r = new_result();
	struct entryemu_setup s = { 0 };
	s.user.eflags = 0x302;		/* TF, IF */
	run_code(m, &s, two_reads, sizeof(two_reads), r);
	const struct entryemu_event_record *e = entryemu_result_event(r, 0);
	assert_non_null(e);
	assert_int_equal(e->vector, 1);
	assert_int_equal(e->eip, ENTRYEMU_USER_CODE + 2);
}

/*
 * Under TF the engine runs the read, for its single-step trap, and the
 * trap's delivery gives it the run's count all the same: the #DB
 * handler's pt_regs hold EDX:EAX = 0:0 (the read is the run's first
 * instruction: none ran before it), every time.  (It read the host's
 * clock before.)
 */
static void test_a_single_stepped_read_is_the_count(void **state)
{
	entryemu *m = *state;
	for (int i = 0; i < 2; i++) {
		entryemu_result *r = new_result();
		struct entryemu_setup s = { 0 };
		s.user.eflags = 0x302;		/* TF, IF */
		s.user.eax = s.user.edx = 0x5a5a5a5a;
		run_code(m, &s, two_reads, sizeof(two_reads), r);
		const struct entryemu_callout_record *c = entryemu_result_find_callout(r, "do_debug", 1);
		assert_non_null(c);
		assert_int_equal(c->regs.eip, ENTRYEMU_USER_CODE + 2);
		assert_int_equal(c->regs.eax, 0);
		assert_int_equal(c->regs.edx, 0);
	}
}

/*
 * In vm86 mode the model runs the read too: the count is the
 * instructions before it (the kernel's way out to vm86 mode, which the
 * run starts in), its place in the run's trace, the same every time;
 * and the int3's return address is IP 3 (rdtsc, 2 bytes; int3, a trap:
 * SDM vol. 3A table 6-1).
 */
static void test_a_vm86_read_is_the_count(void **state)
{
	entryemu *m = *state;
	static const uint8_t code[] = { 0x0f, 0x31, 0xcc };	/* rdtsc ; int3 */
	uint32_t first = 0;
	for (int i = 0; i < 2; i++) {
		entryemu_result *r = new_result();
		struct entryemu_setup s = { 0 };
		s.vm86 = 1;
		s.flags = ENTRYEMU_RUN_TRACE;
		run_code(m, &s, code, sizeof(code), r);
		size_t n = 0, at = 0;
		const uint32_t *t = entryemu_result_trace(r, &n);
		assert_non_null(t);
		while (at < n && t[at] != ENTRYEMU_VM86_MEM)	/* 1000:0000, the read */
			at++;
		assert_true(at > 0 && at < n);
		const struct entryemu_event_record *e = entryemu_result_event(r, 0);
		assert_non_null(e);
		assert_int_equal(e->vector, 3);
		assert_int_equal(e->eip, 3);
		const struct entryemu_callout_record *c = entryemu_result_find_callout(r, "do_int3", 1);
		assert_non_null(c);
		assert_int_equal(c->regs.edx, 0);
		assert_int_equal(c->regs.eax, at);
		if (i)
			assert_int_equal(c->regs.eax, first);
		first = c->regs.eax;
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reads_differ_by_the_instructions_between),
		cmocka_unit_test(test_a_run_reads_the_same_every_time),
		cmocka_unit_test(test_each_read_counts_as_one_instruction),
		cmocka_unit_test(test_rdtscp_loads_ecx_and_reads_the_same),
		cmocka_unit_test(test_an_irq_at_a_read_comes_before_it),
		cmocka_unit_test(test_a_trace_lists_the_reads),
		cmocka_unit_test(test_a_single_step_traps_after_a_read),
		cmocka_unit_test(test_a_single_stepped_read_is_the_count),
		cmocka_unit_test(test_a_vm86_read_is_the_count),
	};
	return cmocka_run_group_tests(tests, setup_post_image, close_image);
}
