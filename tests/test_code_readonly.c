/*
 * setup.code_readonly: the code's pages read-only, as a process's text
 * is.  Expected values:
 *   - the #PF error code of a user write to a present page that refuses
 *     it: P = 1, W/R = 1, U/S = 1, so 7 (SDM vol. 3A 4.7);
 *   - CR2 holds the linear address written (SDM vol. 3A 4.7), which
 *     do_page_fault() of 2.6.18 (mm/fault.c) hands on as si_addr; the
 *     address lies in a VMA whose rights refuse the write, so si_code is
 *     SEGV_ACCERR (2), and SIGSEGV kills the task that has no handler;
 *   - a fault reports the faulting instruction (SDM vol. 3A 6.5), and
 *     the store does not happen.
 * Without the field, the code may write itself (and then runs what it
 * wrote, as a CPU does once the store is done: SDM vol. 3A 11.6).
 */
#include "support.h"

#define SEGV_ACCERR 2
#define TARGET (ENTRYEMU_USER_CODE + 0x10)

/* movb $0x90,0x08048010 ; 9 x nop ; hlt (at 0x08048010: #GP, unless made a nop) */
static const uint8_t store_into_code[] = {
	0xc6, 0x05, 0x10, 0x80, 0x04, 0x08, 0x90, 0x90, 0x90, 0x90,
	0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0xf4,
};

/* movl $0x90909090,0x08047000 (the exit page) */
static const uint8_t store_into_exit_page[] = {
	0xc7, 0x05, 0x00, 0x70, 0x04, 0x08, 0x90, 0x90, 0x90, 0x90,
};

static void run_store(entryemu *m, const uint8_t *code, size_t len, int ro, unsigned flags,
		      entryemu_result *r)
{
	struct entryemu_setup s = { 0 };
	s.code_readonly = ro;
	s.flags = flags;
	run_code(m, &s, code, len, r);
}

static uint8_t byte_at(entryemu *m, uint32_t addr)
{
	uint8_t b = 0;
	assert_int_equal(entryemu_mem_read(m, addr, &b, 1), 0);
	return b;
}

static void assert_write_refused(entryemu *m, const entryemu_result *r, uint32_t addr)
{
	assert_outcome(r, ENTRYEMU_KILLED);
	const struct entryemu_event_record *e = must_event(r, 0);
	assert_int_equal(e->vector, 14);
	assert_true(e->has_error_code);
	assert_int_equal(e->error_code, 7);
	assert_int_equal(e->eip, ENTRYEMU_USER_CODE);	/* the store itself */
	assert_int_equal(e->from_cpl, 3);
	const struct entryemu_siginfo *si = entryemu_result_siginfo(r);
	assert_non_null(si);
	assert_int_equal(si->signo, 11);
	assert_int_equal(si->code, SEGV_ACCERR);
	assert_int_equal(si->addr, addr);
	assert_int_equal(si->trap_no, 14);
	assert_int_equal(si->error_code, 7);
	(void)m;
}

static void test_a_store_into_the_code_is_a_write_fault(void **state)
{
	entryemu *m = *state;
	entryemu_result *r = new_result();
	run_store(m, store_into_code, sizeof(store_into_code), 1, 0, r);
	assert_write_refused(m, r, TARGET);
	assert_int_equal(byte_at(m, TARGET), 0xf4);	/* not written */
}

static void test_without_it_the_code_writes_itself(void **state)
{
	entryemu *m = *state;
	entryemu_result *r = new_result();
	run_store(m, store_into_code, sizeof(store_into_code), 0, 0, r);
	/* the hlt became a nop: the code runs on to its end */
	assert_outcome(r, ENTRYEMU_DONE);
	assert_int_equal(entryemu_result_nevents(r), 0);
	assert_int_equal(byte_at(m, TARGET), 0x90);
}

static void test_the_exit_page_is_read_only_too(void **state)
{
	entryemu *m = *state;
	entryemu_result *r = new_result();
	run_store(m, store_into_exit_page, sizeof(store_into_exit_page), 1, 0, r);
	assert_write_refused(m, r, ENTRYEMU_USER_EXIT);
}

/*
 * One machine, the field changing from run to run: each run gets its own
 * rights, though the CPU may hold the last run's translations (a TLB
 * entry that still allowed the write would let the store by), and the
 * reset leaves every byte as it was (ENTRYEMU_RUN_CHECK_RESET).
 */
static void test_each_run_gets_its_own_rights(void **state)
{
	entryemu *m = *state;
	for (int i = 0; i < 6; i++) {
		entryemu_result *r = new_result();
		int ro = i % 3 != 1;
		run_store(m, store_into_code, sizeof(store_into_code), ro, ENTRYEMU_RUN_CHECK_RESET,
			  r);
		if (ro) {
			assert_write_refused(m, r, TARGET);
		} else {
			assert_outcome(r, ENTRYEMU_DONE);
			assert_int_equal(byte_at(m, TARGET), 0x90);
		}
	}
}

static void test_vm86_code_is_not_covered(void **state)
{
	entryemu *m = *state;
	entryemu_result *r = new_result();
	struct entryemu_setup s = { 0 };
	static const uint8_t hlt[] = { 0xf4 };
	s.code = hlt;
	s.code_len = sizeof(hlt);
	s.vm86 = 1;
	s.code_readonly = 1;
	assert_int_equal(entryemu_run(m, &s, r), ENTRYEMU_E_INVAL);
	assert_non_null(strstr(entryemu_last_error(m), "code_readonly"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_store_into_the_code_is_a_write_fault),
		cmocka_unit_test(test_without_it_the_code_writes_itself),
		cmocka_unit_test(test_the_exit_page_is_read_only_too),
		cmocka_unit_test(test_each_run_gets_its_own_rights),
		cmocka_unit_test(test_vm86_code_is_not_covered),
	};
	return cmocka_run_group_tests(tests, setup_post_image, close_image);
}
