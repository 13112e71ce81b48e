/*
 * Plain user code (register forms, INT, the jmp to the exit page:
 * src/cpu/plain_code.c) runs without the hook before each user
 * instruction.  Where a run leaves it, the hook's work must be done all
 * the same, as in a run of code that keeps the hook throughout: each
 * test runs a plain program and its twin with one instruction in a form
 * that is not plain (66 90, XCHG %AX,%AX: one instruction, like the NOP
 * it stands for), and the two must agree with each other and with the
 * manual.
 *
 * The RDTSC reads are the witnesses: the library serves RDTSC at CPL 3
 * from the run's instruction count (docs/fidelity.md, test_tsc.c); run
 * by the engine without the hook it would read the host's counter,
 * whose value is some 10^12 and differs from run to run.
 */
#include "support.h"

#define NR_GETPID 20
/* user code then the data page: what a callout writes there runs */
#define DATA ENTRYEMU_USER_DATA

static void put_rel32(uint8_t *p, uint32_t from_next, uint32_t to)
{
	uint32_t rel = to - from_next;
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(rel >> (8 * i));
}

/* getpid answers and sends the return to DATA, where it writes
 * rdtsc ; mov %eax,%esi ; mov %edx,%edi ; jmp <exit page> */
static void getpid_returns_to_data(entryemu_call *call, void *opaque)
{
	(void)opaque;
	entryemu *m = entryemu_call_machine(call);
	uint8_t code[11] = { 0x0f, 0x31, 0x89, 0xc6, 0x89, 0xd7, 0xe9 };
	put_rel32(code + 7, DATA + sizeof(code), ENTRYEMU_USER_EXIT);
	assert_int_equal(entryemu_mem_write(m, DATA, code, sizeof(code)), 0);
	struct entryemu_pt_regs p;
	assert_int_equal(entryemu_call_read_pt_regs(call, &p), 0);
	p.eip = DATA;
	assert_int_equal(entryemu_call_write_pt_regs(call, &p), 0);
	entryemu_call_return(call, 1234);
}

/* getpid answers and writes rdtsc over the two NOPs its INT returns to */
static void getpid_writes_rdtsc_after_itself(entryemu_call *call, void *opaque)
{
	(void)opaque;
	entryemu *m = entryemu_call_machine(call);
	struct entryemu_pt_regs p;
	assert_int_equal(entryemu_call_read_pt_regs(call, &p), 0);
	static const uint8_t rdtsc[] = { 0x0f, 0x31 };
	assert_int_equal(entryemu_mem_write(m, p.eip, rdtsc, sizeof(rdtsc)), 0);
	entryemu_call_return(call, 1234);
}

/* nop (or xchg %ax,%ax) ; movl $20,%eax ; int $0x80 ; nop ; nop ;
 * mov %eax,%esi ; mov %edx,%edi */
static const uint8_t plain_getpid[] = { 0x90, 0xb8, 0x14, 0, 0, 0, 0xcd, 0x80,
					0x90, 0x90, 0x89, 0xc6, 0x89, 0xd7 };
static const uint8_t hooked_getpid[] = { 0x66, 0x90, 0xb8, 0x14, 0, 0, 0, 0xcd, 0x80,
					 0x90, 0x90, 0x89, 0xc6, 0x89, 0xd7 };

/* The TSC the run's RDTSC read (EDI:ESI), on a machine of its own, whose
 * code and data pages have run nothing before. */
static uint64_t tsc_read(const uint8_t *code, size_t len, entryemu_callout_fn getpid,
			 uint64_t *insns)
{
	entryemu *m = open_image(ENTRYEMU_POST_PATCH);
	entryemu_result *r = new_result();
	assert_int_equal(entryemu_set_syscall(m, NR_GETPID, getpid, NULL), 0);
	struct entryemu_setup s = { 0 };
	run_code(m, &s, code, len, r);
	assert_outcome(r, ENTRYEMU_DONE);
	const struct entryemu_regs *f = final_regs(r);
	*insns = entryemu_result_insns(r);
	entryemu_close(m);
	return (uint64_t)f->edi << 32 | f->esi;
}

static void test_a_return_to_other_code_gets_the_hook(void **state)
{
	(void)state;
	uint64_t n_plain, n_hooked;
	uint64_t plain = tsc_read(plain_getpid, sizeof(plain_getpid), getpid_returns_to_data,
				  &n_plain);
	uint64_t hooked = tsc_read(hooked_getpid, sizeof(hooked_getpid),
				   getpid_returns_to_data, &n_hooked);
	assert_int_equal(n_plain, n_hooked);
	assert_int_equal(plain, hooked);
	/* the run's count, not the host's clock: fewer than the run's instructions */
	assert_true(plain > 0 && plain < n_plain);
}

static void test_plain_code_the_kernel_wrote_over_gets_the_hook(void **state)
{
	(void)state;
	uint64_t n_plain, n_hooked;
	uint64_t plain = tsc_read(plain_getpid, sizeof(plain_getpid),
				  getpid_writes_rdtsc_after_itself, &n_plain);
	uint64_t hooked = tsc_read(hooked_getpid, sizeof(hooked_getpid),
				   getpid_writes_rdtsc_after_itself, &n_hooked);
	assert_int_equal(n_plain, n_hooked);
	assert_int_equal(plain, hooked);
	assert_true(plain > 0 && plain < n_plain);
}

/*
 * A budget that runs out inside plain code stops the run after exactly
 * that many instructions: k INCs of EAX from 0 leave EAX = k (SDM vol.
 * 2A INC: DEST := DEST + 1), EIP at the next one.
 */
static void test_the_budget_ends_exactly_inside_plain_code(void **state)
{
	entryemu *m = *state;
	/* eight INC %EAX, then a twin's 66 90 or a NOP, then getpid */
	uint8_t plain[16] = { 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40,
			      0x90, 0xb8, 0x14, 0, 0, 0, 0xcd, 0x80 };
	uint8_t hooked[17] = { 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40,
			       0x66, 0x90, 0xb8, 0x14, 0, 0, 0, 0xcd, 0x80 };
	for (uint64_t k = 1; k <= 8; k++)
		for (int twin = 0; twin < 2; twin++)
			for (int again = 0; again < 2; again++) {	/* translated, then warm */
				entryemu_result *r = new_result();
				struct entryemu_setup s = { 0 };
				s.insn_budget = k;
				if (twin)
					run_code(m, &s, hooked, sizeof(hooked), r);
				else
					run_code(m, &s, plain, sizeof(plain), r);
				assert_outcome(r, ENTRYEMU_BUDGET);
				assert_int_equal(entryemu_result_insns(r), k);
				const struct entryemu_regs *f = final_regs(r);
				assert_int_equal(f->eax, k);
				assert_int_equal(f->eip, ENTRYEMU_USER_CODE + (uint32_t)k);
			}
}

/* A plain getpid round trip returns what the syscall returned, as the
 * hooked one does, warm and cold. */
static void test_plain_and_hooked_round_trips_agree(void **state)
{
	entryemu *m = *state;
	entryemu_reset_callouts(m);
	for (int i = 0; i < 3; i++) {
		entryemu_result *a = new_result(), *b = new_result();
		struct entryemu_setup s = { 0 };
		run_code(m, &s, plain_getpid, sizeof(plain_getpid), a);
		run_code(m, &s, hooked_getpid, sizeof(hooked_getpid), b);
		assert_outcome(a, ENTRYEMU_DONE);
		assert_outcome(b, ENTRYEMU_DONE);
		assert_int_equal(entryemu_result_insns(a), entryemu_result_insns(b));
		assert_int_equal(entryemu_result_nreturns(a), 1);
		assert_int_equal(entryemu_result_nreturns(b), 1);
		const struct entryemu_regs *u = must_return(a, 0), *v = must_return(b, 0);
		assert_int_equal(u->eax, v->eax);
		assert_int_equal(u->eip, ENTRYEMU_USER_CODE + 8);	/* after the INT */
		assert_int_equal(v->eip, ENTRYEMU_USER_CODE + 9);
		assert_int_equal(entryemu_result_nfindings(a), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_return_to_other_code_gets_the_hook),
		cmocka_unit_test(test_plain_code_the_kernel_wrote_over_gets_the_hook),
		cmocka_unit_test(test_the_budget_ends_exactly_inside_plain_code),
		cmocka_unit_test(test_plain_and_hooked_round_trips_agree),
	};
	return cmocka_run_group_tests(tests, setup_post_image, close_image);
}
