/*
 * Record and replay: a run driven from C, with callouts of the test's
 * own, written as a scenario file, replays through the scenario layer
 * (as entryemu replay does) to the same instructions, the same trace and
 * the same result; a run with a checker finding replays to the same
 * failure.
 */
#include <entryemu/scenario.h>

#include "support.h"

#include <unistd.h>

/* A scratch file NAME in a fresh directory of its own (dir: its template). */
static void scratch_file(char *dir, char *path, size_t len, const char *name)
{
	assert_non_null(mkdtemp(dir));
	snprintf(path, len, "%s/%s", dir, name);
}

static void remove_scratch(const char *dir, const char *path)
{
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

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

/* The scenario at path bound to m, the scenario freed (the binding owns what it needs). */
static entryemu_binding *bind_file(const char *path, entryemu *m)
{
	char err[1024];
	entryemu_scenario *sc = NULL;
	entryemu_binding *b = NULL;
	if (entryemu_scenario_load(path, &sc, err, sizeof(err)))
		fail_msg("%s", err);
	if (entryemu_scenario_bind(sc, m, &b, err, sizeof(err)))
		fail_msg("%s", err);
	entryemu_scenario_free(sc);
	return b;
}

static void replay_file(const char *path, entryemu *m, entryemu_result *r,
			int *failures)
{
	char report[4096];
	entryemu_binding *b = bind_file(path, m);
	struct entryemu_setup s = *entryemu_binding_setup(b);
	s.flags |= ENTRYEMU_RUN_TRACE;
	assert_int_equal(entryemu_run(m, &s, r), 0);
	*failures = entryemu_binding_check(b, r, report, sizeof(report));
	entryemu_binding_free(b);		/* and m has its callouts back */
}

static void test_record_replays_the_same_trace(void **state)
{
	(void)state;
	entryemu *m = open_image(ENTRYEMU_POST_PATCH);
	struct entryemu_desc_edit tls = GDT_EDIT(6, 0x0000ffff, 0x00cff300);
	struct entryemu_setup s = { 0 };
	s.code = code;
	s.code_len = sizeof(code);
	s.edits = &tls;
	s.nedits = 1;
	s.user.ebx = 0x55;
	s.flags = ENTRYEMU_RUN_TRACE;
	assert_int_equal(entryemu_set_syscall(m, 200, clear_tls, NULL), 0);
	entryemu_result *a = new_result(), *b = new_result();
	run_code(m, &s, code, sizeof(code), a);
	assert_outcome(a, ENTRYEMU_DONE);
	assert_int_equal(final_regs(a)->eax, 7);
	assert_int_equal(final_regs(a)->gs, 0);		/* the fixup ran */
	assert_int_equal(final_regs(a)->edi, 0x1234);
	uint64_t hash = entryemu_result_trace_hash(a);
	size_t len = trace_len(a);
	uint64_t insns = entryemu_result_insns(a);
	struct entryemu_regs final = *final_regs(a);

	char dir[] = "/tmp/entryemu-record-XXXXXX", path[sizeof(dir) + 32];
	scratch_file(dir, path, sizeof(path), "run.yaml");
	assert_int_equal(entryemu_scenario_record(m, &s, a, "test", path), 0);
	entryemu_reset_callouts(m);			/* the file must carry them */

	int failures = -1;
	replay_file(path, m, b, &failures);
	assert_int_equal(failures, 0);
	assert_int_equal(trace_len(b), len);
	assert_true(entryemu_result_trace_hash(b) == hash);
	assert_int_equal(entryemu_result_insns(b), insns);
	assert_int_equal(final_regs(b)->eax, final.eax);
	assert_int_equal(final_regs(b)->gs, final.gs);
	assert_int_equal(final_regs(b)->edi, final.edi);
	remove_scratch(dir, path);
	entryemu_close(m);
}

/* A run with the code read-only: the recording carries that, so the store
 * into the code faults again on replay (written, it would not). */
static void test_record_keeps_code_readonly(void **state)
{
	(void)state;
	entryemu *m = open_image(ENTRYEMU_POST_PATCH);
	/* movb $0x90,0x08048010 ; 9 x nop ; hlt */
	static const uint8_t store[] = { 0xc6, 0x05, 0x10, 0x80, 0x04, 0x08, 0x90, 0x90, 0x90,
					 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0xf4 };
	struct entryemu_setup s = { 0 };
	s.code_readonly = 1;
	s.flags = ENTRYEMU_RUN_TRACE;
	entryemu_result *a = new_result(), *b = new_result();
	run_code(m, &s, store, sizeof(store), a);
	assert_outcome(a, ENTRYEMU_KILLED);
	char dir[] = "/tmp/entryemu-record-XXXXXX", path[sizeof(dir) + 32];
	scratch_file(dir, path, sizeof(path), "run.yaml");
	assert_int_equal(entryemu_scenario_record(m, &s, a, "text write", path), 0);
	int failures = -1;
	replay_file(path, m, b, &failures);
	assert_outcome(b, ENTRYEMU_KILLED);
	assert_int_equal(entryemu_result_insns(b), entryemu_result_insns(a));
	assert_true(entryemu_result_trace_hash(b) == entryemu_result_trace_hash(a));
	remove_scratch(dir, path);
	entryemu_close(m);
}

static void test_recorded_failure_fails_again(void **state)
{
	(void)state;
	char image[1024];
	snprintf(image, sizeof(image), "%s/user-ds-into-gs/entry-post.elf", CHECKER_MUTANTS);
	entryemu *m = open_path(image);
	static const uint8_t getpid[] = { 0xb8, 20, 0, 0, 0, 0xcd, 0x80 };
	struct entryemu_setup s = { 0 };
	s.code = getpid;
	s.code_len = sizeof(getpid);
	s.flags = ENTRYEMU_RUN_TRACE;
	entryemu_result *a = new_result(), *b = new_result();
	run_code(m, &s, getpid, sizeof(getpid), a);
	assert_true(entryemu_result_nfindings(a) > 0);	/* the segments checker */
	uint64_t hash = entryemu_result_trace_hash(a);
	char dir[] = "/tmp/entryemu-record-XXXXXX", path[sizeof(dir) + 32];
	scratch_file(dir, path, sizeof(path), "run.yaml");
	assert_int_equal(entryemu_scenario_record(m, &s, a, "segments finding", path), 0);
	int failures = 0;
	replay_file(path, m, b, &failures);
	assert_true(failures > 0);			/* the same unexpected finding */
	assert_int_equal(entryemu_result_nfindings(b), entryemu_result_nfindings(a));
	assert_true(entryemu_result_trace_hash(b) == hash);
	remove_scratch(dir, path);
	entryemu_close(m);
}

/* The CMocka helper: a clean run passes, and records nothing. */
static void test_expect_clean_helper(void **state)
{
	(void)state;
	entryemu *m = open_image(ENTRYEMU_POST_PATCH);
	static const uint8_t getpid[] = { 0xb8, 20, 0, 0, 0, 0xcd, 0x80 };
	struct entryemu_setup s = { 0 };
	entryemu_result *r = new_result();
	run_code(m, &s, getpid, sizeof(getpid), r);
	/* it would record under $TMPDIR: a fresh directory, empty afterwards */
	char dir[] = "/tmp/entryemu-test-record-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char *tmpdir = getenv("TMPDIR") ? strdup(getenv("TMPDIR")) : NULL;
	assert_int_equal(setenv("TMPDIR", dir, 1), 0);
	expect_clean(m, &s, r, ENTRYEMU_DONE, "test_expect_clean_helper");
	tmpdir ? setenv("TMPDIR", tmpdir, 1) : unsetenv("TMPDIR");
	free(tmpdir);
	assert_int_equal(rmdir(dir), 0);
	entryemu_close(m);
}

/*
 * A binding owns the callouts it serves: the scenario can be freed first,
 * the binding run again, and once the binding is freed the machine's
 * callout is the library's again (valgrind, under tools/test.sh, sees
 * every access).  work-signal.yaml's do_notify_resume action points the
 * frame at the handler, which sets %ebx = 2 (the scenario's own intent).
 */
static void test_binding_outlives_its_scenario(void **state)
{
	(void)state;
	entryemu *m = open_image(ENTRYEMU_POST_PATCH);
	entryemu_result *r = new_result();
	char report[2048];
	entryemu_binding *b = bind_file(SCENARIO_DIR "/work-signal.yaml", m);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(entryemu_binding_run(b, r), 0);
		assert_int_equal(final_regs(r)->ebx, 2);
		const struct entryemu_callout_record *c = must_call(r, "do_notify_resume");
		assert_true(c->custom);			/* the binding served it */
		assert_int_equal(entryemu_binding_check(b, r, report, sizeof(report)), 0);
	}
	entryemu_binding_free(b);
	/* movl $20,%eax ; int $0x80, with a signal pending: the default serves it */
	static const uint8_t getpid[] = { 0xb8, 20, 0, 0, 0, 0xcd, 0x80 };
	struct entryemu_setup s = { .ti_flags = 1u << 2 };	/* TIF_SIGPENDING */
	run_code(m, &s, getpid, sizeof(getpid), r);
	assert_false(must_call(r, "do_notify_resume")->custom);
	entryemu_close(m);
}

/*
 * An action for the n-th call applies to the n-th call of every run of
 * the machine, not of the binding's first run only: a setup run as it is
 * (entryemu explore runs its variants so) gets the action of
 * work-signal.yaml, whose first do_notify_resume sends the return to
 * the handler (the scenario's own expectation: %ebx 2).
 */
static void test_actions_count_calls_per_run(void **state)
{
	(void)state;
	entryemu *m = open_image(ENTRYEMU_POST_PATCH);
	entryemu_result *r = new_result();
	char report[2048];
	entryemu_binding *b = bind_file(SCENARIO_DIR "/work-signal.yaml", m);
	for (int i = 0; i < 3; i++) {
		if (i == 0)
			assert_int_equal(entryemu_binding_run(b, r), 0);
		else
			assert_int_equal(entryemu_run(m, entryemu_binding_setup(b), r), 0);
		assert_int_equal(final_regs(r)->ebx, 2);
		assert_int_equal(entryemu_binding_check(b, r, report, sizeof(report)), 0);
	}
	entryemu_binding_free(b);
	entryemu_close(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_replays_the_same_trace),
		cmocka_unit_test(test_record_keeps_code_readonly),
		cmocka_unit_test(test_recorded_failure_fails_again),
		cmocka_unit_test(test_expect_clean_helper),
		cmocka_unit_test(test_binding_outlives_its_scenario),
		cmocka_unit_test(test_actions_count_calls_per_run),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
