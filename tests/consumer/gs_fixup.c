/*
 * Another project's test of the seed's %gs fixup, through the installed
 * library: a TLS selector in %gs whose descriptor the process empties
 * with set_thread_area comes back as 0, through the __ex_table fixup of
 * the pop of %gs, and the checkers find nothing wrong.
 */
#include <entryemu/entryemu.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* The library a consumer runs with is the one it was built for. */
static void test_version(void **state)
{
	(void)state;
	assert_int_equal(entryemu_version() >> 16, ENTRYEMU_VERSION_MAJOR);
}

static void test_gs_fixup(void **state)
{
	(void)state;
	char path[4096], err[256] = "";
	assert_non_null(entryemu_image_path(ENTRYEMU_POST_PATCH, path, sizeof(path)));
	entryemu *m = NULL;
	if (entryemu_open(&m, path, err, sizeof(err)))
		fail_msg("%s: %s", path, err);
	/* movl $0x33,%ecx ; movl %ecx,%gs ; struct user_desc {6, empty} on
	 * the stack ; set_thread_area(%esp) ; addl $16,%esp */
	static const uint8_t code[] = {
		0xb9, 0x33, 0, 0, 0, 0x8e, 0xe9, 0x6a, 0x28, 0x6a, 0x00, 0x6a, 0x00,
		0x6a, 0x06, 0x89, 0xe3, 0xb8, 0xf3, 0, 0, 0, 0xcd, 0x80, 0x83, 0xc4, 0x10,
	};
	struct entryemu_desc_edit tls = {
		.table = ENTRYEMU_GDT, .index = 6, .lo = 0x0000ffff, .hi = 0x00cff300,
	};
	struct entryemu_setup s = { 0 };
	s.code = code;
	s.code_len = sizeof(code);
	s.edits = &tls;
	s.nedits = 1;
	entryemu_result *r = NULL;
	assert_int_equal(entryemu_result_new(&r), 0);
	assert_int_equal(entryemu_run(m, &s, r), 0);
	assert_int_equal(entryemu_result_outcome(r), ENTRYEMU_DONE);
	assert_int_equal(entryemu_result_final(r)->gs, 0);
	assert_int_equal(entryemu_result_nfixups(r), 1);
	assert_non_null(entryemu_result_fixup(r, 0));
	assert_int_equal(entryemu_result_fixup(r, 0)->error_code, 0x30);	/* selector & 0xfffc */
	assert_int_equal(entryemu_result_nfindings(r), 0);
	entryemu_result_free(r);
	entryemu_close(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_gs_fixup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
