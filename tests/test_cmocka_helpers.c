/*
 * The installed CMocka helpers (<entryemu/cmocka.h>) and entryemu_assemble,
 * on the seed's case: %gs holds the TLS selector 0x33 (GDT entry 6,
 * RPL 3, a flat data segment installed before the run) when
 * set_thread_area empties entry 6 (a user_desc with
 * read_exec_only and seg_not_present set is "empty" in 2.6.18's
 * LDT_empty), so the exit's pop %gs faults: #GP with error code 0x30,
 * the selector with its RPL bits cleared (SDM vol. 3, 6.13), at
 * restore_nocheck_notrace+0x9 of the seed's entry.S, and the fixup
 * returns to user space with %gs = 0.
 *
 * Run with --fail, the suite's one test asserts what the run does not
 * show (a page fault): it fails, and its recording must replay as a
 * failure with the same message (tests/cmocka_recording.sh).
 */
#include <entryemu/scenario.h>

#include "support.h"

#include <unistd.h>

static const char seed_case[] =
	"movl $0x33, %ecx\n"
	"movl %ecx, %gs\n"
	"pushl $0x28\n"			/* flags: read_exec_only | seg_not_present */
	"pushl $0\n"			/* limit */
	"pushl $0\n"			/* base_addr */
	"pushl $6\n"			/* entry_number */
	"movl %esp, %ebx\n"
	"movl $243, %eax\n"		/* __NR_set_thread_area */
	"syscall:\n"
	"int $0x80\n"
	"addl $16, %esp\n";

struct fixture {
	entryemu *m;
	entryemu_code *code;
	struct entryemu_setup s;
	entryemu_result *r;
};

static int setup(void **state)
{
	static struct fixture f;
	char err[512];
	f.m = open_image(ENTRYEMU_POST_PATCH);
	if (entryemu_assemble(seed_case, &f.code, err, sizeof(err)))
		fail_msg("entryemu_assemble: %s", err);
	memset(&f.s, 0, sizeof(f.s));
	f.s.code = entryemu_code_bytes(f.code, &f.s.code_len);
	static const struct entryemu_desc_edit tls = GDT_EDIT(6, 0x0000ffff, 0x00cff300);
	f.s.edits = &tls;
	f.s.nedits = 1;
	size_t n;
	const struct entryemu_label *l = entryemu_code_labels(f.code, &n);
	assert_int_equal(entryemu_set_labels(f.m, l, n), 0);
	f.r = new_result();
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	entryemu_code_free(f->code);
	entryemu_close(f->m);
	return 0;
}

static void assembled_code_has_its_labels(void **state)
{
	struct fixture *f = *state;
	/* 5 + 2 + 2 + 2 + 2 + 2 + 2 + 5 bytes before the label */
	assert_int_equal(entryemu_code_label(f->code, "syscall"), 0x08048000u + 22);
	assert_int_equal(entryemu_code_label(f->code, "nowhere"), 0);
	entryemu_code *bad = NULL;
	char err[512];
	assert_int_equal(entryemu_assemble("nop\nmovl %nosuchreg, %eax\n", &bad, err,
					   sizeof(err)), ENTRYEMU_E_SCENARIO);
	assert_null(bad);
	assert_non_null(strstr(err, "line 2:"));
}

static void the_exit_pop_of_gs_raises_gp_0x30(void **state)
{
	struct fixture *f = *state;
	assert_true(test_for_exception(f->m, &f->s, f->r, 13));
	assert_false(test_for_exception(f->m, &f->s, f->r, 14));
	expect_exception_at(f->m, &f->s, f->r, 13, 0x30, "restore_nocheck_notrace+0x9",
			    "gs_gp");
	expect_exception_at(f->m, &f->s, f->r, 128, ENTRYEMU_ANY_ERROR_CODE, NULL, "gs_int80");
	expect_clean(f->m, &f->s, f->r, ENTRYEMU_DONE, "gs_clean");
	assert_int_equal(entryemu_result_final(f->r)->gs, 0);
}

/* Deliberately wrong: the run takes no page fault. */
static void the_exit_pop_of_gs_raises_a_page_fault(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(entryemu_run(f->m, &f->s, f->r), 0);
	expect_exception_at(f->m, &f->s, f->r, 14, ENTRYEMU_ANY_ERROR_CODE, NULL, "gs_pf");
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(assembled_code_has_its_labels),
		cmocka_unit_test(the_exit_pop_of_gs_raises_gp_0x30),
	};
	const struct CMUnitTest failing[] = {
		cmocka_unit_test(the_exit_pop_of_gs_raises_a_page_fault),
	};
	if (argc > 1 && !strcmp(argv[1], "--fail"))
		return cmocka_run_group_tests(failing, setup, teardown);
	return cmocka_run_group_tests(tests, setup, teardown);
}
