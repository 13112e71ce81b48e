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

static void test_gs_fixup(void **state)
{
	(void)state;
	entryemu *m = NULL;
	assert_int_equal(entryemu_open(&m, entryemu_image_path(ENTRYEMU_POST_PATCH)), 0);
	/* movl $0x33,%ecx ; movl %ecx,%gs ; struct user_desc {6, empty} on
	 * the stack ; set_thread_area(%esp) ; addl $16,%esp */
	static const uint8_t code[] = {
		0xb9, 0x33, 0, 0, 0, 0x8e, 0xe9, 0x6a, 0x28, 0x6a, 0x00, 0x6a, 0x00,
		0x6a, 0x06, 0x89, 0xe3, 0xb8, 0xf3, 0, 0, 0, 0xcd, 0x80, 0x83, 0xc4, 0x10,
	};
	struct entryemu_desc_edit tls = { ENTRYEMU_GDT, 6, 0x0000ffff, 0x00cff300 };
	struct entryemu_setup s = { 0 };
	s.code = code;
	s.code_len = sizeof(code);
	s.edits = &tls;
	s.nedits = 1;
	static struct entryemu_result r;
	assert_int_equal(entryemu_run(m, &s, &r), 0);
	assert_int_equal(r.outcome, ENTRYEMU_DONE);
	assert_int_equal(r.final.gs, 0);
	assert_int_equal(r.nfixups, 1);
	assert_int_equal(r.fixups[0].error_code, 0x30);	/* selector & 0xfffc */
	assert_int_equal(r.nfindings, 0);
	entryemu_close(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_gs_fixup) };
	return cmocka_run_group_tests(tests, NULL, NULL);
}
