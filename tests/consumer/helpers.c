/*
 * Another project's suite written with the installed helpers: the user
 * code as assembly text (entryemu_assemble), and assertions that read as
 * the sentence they test (<entryemu/cmocka.h>).  The seed's case: the
 * exit's pop %gs of a TLS selector (0x33) whose descriptor
 * set_thread_area emptied raises #GP with error code 0x30 (selector &
 * 0xfffc, SDM vol. 3 6.13), and the run ends cleanly through the fixup.
 */
#include <entryemu/cmocka.h>

static void the_exit_pop_of_gs_raises_gp_and_is_fixed_up(void **state)
{
	(void)state;
	char path[4096], err[512] = "";
	assert_non_null(entryemu_image_path(ENTRYEMU_POST_PATCH, path, sizeof(path)));
	entryemu *m = NULL;
	if (entryemu_open(&m, path, err, sizeof(err)))
		fail_msg("%s: %s", path, err);
	entryemu_code *code = NULL;
	if (entryemu_assemble("movl $0x33, %ecx\n movl %ecx, %gs\n"
			      "pushl $0x28\n pushl $0\n pushl $0\n pushl $6\n"
			      "movl %esp, %ebx\n movl $243, %eax\n int $0x80\n", &code, err,
			      sizeof(err)))
		fail_msg("%s", err);
	struct entryemu_desc_edit tls = {
		.table = ENTRYEMU_GDT, .index = 6, .lo = 0x0000ffff, .hi = 0x00cff300,
	};
	struct entryemu_setup s = { 0 };
	s.code = entryemu_code_bytes(code, &s.code_len);
	s.edits = &tls;
	s.nedits = 1;
	entryemu_result *r = NULL;
	assert_int_equal(entryemu_result_new(&r), 0);
	assert_true(test_for_exception(m, &s, r, 13));
	expect_exception_at(m, &s, r, 13, 0x30, "restore_nocheck_notrace+0x9", "consumer_gs");
	expect_clean(m, &s, r, ENTRYEMU_DONE, "consumer_gs");
	entryemu_result_free(r);
	entryemu_code_free(code);
	entryemu_close(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_exit_pop_of_gs_raises_gp_and_is_fixed_up),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
