/*
 * Record and replay: a run driven from C, with callouts of the test's
 * own, written as a scenario file, replays through the scenario layer
 * (as entryemu replay does) to the same instructions, the same trace and
 * the same result; a run with a checker finding replays to the same
 * failure.
 */
#include "support.h"

#include <unistd.h>

/* the test's set_thread_area stand-in: empties TLS entry 6 and says 7 */
static void clear_tls(entryemu_call *c, void *opaque)
{
	(void)opaque;
	entryemu_gdt_set(entryemu_call_machine(c), 6, 0, 0);
	struct entryemu_pt_regs regs;
	entryemu_call_read_pt_regs(c, &regs);
	regs.edi = 0x1234;			/* and leaves a mark in the frame */
	entryemu_call_write_pt_regs(c, &regs);
	entryemu_call_return(c, 7);
}

/* movl $0x33,%ecx ; movl %ecx,%gs ; movl $200,%eax ; int $0x80 */
static const uint8_t code[] = { 0xb9, 0x33, 0, 0, 0, 0x8e, 0xe9,
				0xb8, 200, 0, 0, 0, 0xcd, 0x80 };

static void replay_file(const char *path, entryemu *m, struct entryemu_result *r,
			int *failures)
{
	char err[1024], report[4096];
	entryemu_scenario *sc = NULL;
	if (entryemu_scenario_load(path, &sc, err, sizeof(err)))
		fail_msg("%s", err);
	if (entryemu_scenario_bind(sc, m, err, sizeof(err)))
		fail_msg("%s", err);
	struct entryemu_setup s = *entryemu_scenario_setup(sc);
	s.flags |= ENTRYEMU_RUN_TRACE;
	assert_int_equal(entryemu_run(m, &s, r), 0);
	*failures = entryemu_scenario_check(sc, m, r, report, sizeof(report));
	entryemu_scenario_free(sc);
	entryemu_reset_callouts(m);
}

static void test_record_replays_the_same_trace(void **state)
{
	(void)state;
	entryemu *m = open_image(ENTRYEMU_POST_PATCH);
	struct entryemu_desc_edit tls = { ENTRYEMU_GDT, 6, 0x0000ffff, 0x00cff300 };
	struct entryemu_setup s = { 0 };
	s.code = code;
	s.code_len = sizeof(code);
	s.edits = &tls;
	s.nedits = 1;
	s.user.ebx = 0x55;
	s.flags = ENTRYEMU_RUN_TRACE;
	assert_int_equal(entryemu_set_syscall(m, 200, clear_tls, NULL), 0);
	static struct entryemu_result a, b;
	run_code(m, &s, code, sizeof(code), &a);
	assert_outcome(&a, ENTRYEMU_DONE);
	assert_int_equal(a.final.eax, 7);
	assert_int_equal(a.final.gs, 0);		/* the fixup ran */
	assert_int_equal(a.final.edi, 0x1234);
	uint64_t hash = entryemu_trace_hash(&a);
	size_t len = a.trace_len;
	uint64_t insns = a.insns;
	struct entryemu_regs final = a.final;

	char path[] = "/tmp/entryemu-record-XXXXXX.yaml";
	int fd = mkstemps(path, 5);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(entryemu_record(m, &s, &a, "test", path), 0);
	entryemu_reset_callouts(m);			/* the file must carry them */

	int failures = -1;
	replay_file(path, m, &b, &failures);
	assert_int_equal(failures, 0);
	assert_int_equal(b.trace_len, len);
	assert_true(entryemu_trace_hash(&b) == hash);
	assert_int_equal(b.insns, insns);
	assert_int_equal(b.final.eax, final.eax);
	assert_int_equal(b.final.gs, final.gs);
	assert_int_equal(b.final.edi, final.edi);
	unlink(path);
	entryemu_close(m);
}

static void test_recorded_failure_fails_again(void **state)
{
	(void)state;
	char image[1024];
	snprintf(image, sizeof(image), "%s/user-ds-into-gs/entry-post.elf", CHECKER_MUTANTS);
	entryemu *m = NULL;
	assert_int_equal(entryemu_open(&m, image), 0);
	static const uint8_t getpid[] = { 0xb8, 20, 0, 0, 0, 0xcd, 0x80 };
	struct entryemu_setup s = { 0 };
	s.code = getpid;
	s.code_len = sizeof(getpid);
	s.flags = ENTRYEMU_RUN_TRACE;
	static struct entryemu_result a, b;
	run_code(m, &s, getpid, sizeof(getpid), &a);
	assert_true(a.nfindings > 0);			/* the segments checker */
	uint64_t hash = entryemu_trace_hash(&a);
	char path[] = "/tmp/entryemu-record-XXXXXX.yaml";
	int fd = mkstemps(path, 5);
	close(fd);
	assert_int_equal(entryemu_record(m, &s, &a, "segments finding", path), 0);
	int failures = 0;
	replay_file(path, m, &b, &failures);
	assert_true(failures > 0);			/* the same unexpected finding */
	assert_int_equal(b.nfindings, a.nfindings);
	assert_true(entryemu_trace_hash(&b) == hash);
	unlink(path);
	entryemu_close(m);
}

/* The CMocka helper: a clean run passes, and records nothing. */
static void test_expect_clean_helper(void **state)
{
	(void)state;
	entryemu *m = open_image(ENTRYEMU_POST_PATCH);
	static const uint8_t getpid[] = { 0xb8, 20, 0, 0, 0, 0xcd, 0x80 };
	struct entryemu_setup s = { 0 };
	static struct entryemu_result r;
	run_code(m, &s, getpid, sizeof(getpid), &r);
	expect_clean(m, &s, &r, ENTRYEMU_DONE, "test_expect_clean_helper");
	assert_int_equal(access("test_expect_clean_helper.yaml", F_OK), -1);
	entryemu_close(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_replays_the_same_trace),
		cmocka_unit_test(test_recorded_failure_fails_again),
		cmocka_unit_test(test_expect_clean_helper),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
