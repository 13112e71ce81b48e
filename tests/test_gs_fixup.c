/*
 * The seed's fixups: a user selector whose descriptor goes bad while the
 * task is in the kernel comes back as 0 through RESTORE_REGS's __ex_table
 * entries, instead of an oops.  Scenario of the ldt_gdt selftest: the
 * user has a TLS selector loaded, then empties that TLS entry with
 * set_thread_area (LDT_empty: read_exec_only and seg_not_present set,
 * everything else 0).  The pop of the saved selector then raises
 * #GP(selector & 0xfffc) at CPL 0 (SDM vol. 2, POP: "segment selector
 * index ... descriptor is not a data or readable code segment").
 */
#include "support.h"

#define TLS_ENTRY 6
#define FLAT_TLS_LO 0x0000ffffu		/* base 0, limit 0xfffff */
#define FLAT_TLS_HI 0x00cff300u		/* G, D, present, DPL 3, data RW */

enum sreg { DS, ES, GS };

/*
 * movl $0x33,%ecx ; movl %ecx,%<sreg>      (load the TLS selector)
 * push $0x28 ; push $0 ; push $0 ; push $6 (struct user_desc, empty)
 * movl %esp,%ebx ; movl $243,%eax ; int $0x80
 * addl $16,%esp
 */
static size_t clear_tls_code(enum sreg which, uint8_t *code)
{
	static const uint8_t modrm[] = { [DS] = 0xd9, [ES] = 0xc1, [GS] = 0xe9 };
	const uint8_t c[] = {
		0xb9, TLS_SEL(TLS_ENTRY), 0, 0, 0, 0x8e, modrm[which],
		0x6a, 0x28, 0x6a, 0x00, 0x6a, 0x00, 0x6a, TLS_ENTRY,
		0x89, 0xe3, 0xb8, NR_SET_THREAD_AREA, 0, 0, 0, 0xcd, 0x80,
		0x83, 0xc4, 0x10,
	};
	memcpy(code, c, sizeof(c));
	return sizeof(c);
}

static void run_clear_tls(entryemu *m, enum sreg which, entryemu_result *r)
{
	uint8_t code[64];
	size_t n = clear_tls_code(which, code);
	struct entryemu_desc_edit tls = GDT_EDIT(TLS_ENTRY, FLAT_TLS_LO, FLAT_TLS_HI);
	struct entryemu_setup s = { 0 };
	s.edits = &tls;
	s.nedits = 1;
	run_code(m, &s, code, n, r);
}

static void check_fixup(entryemu *m, const entryemu_result *r, const char *pop,
			uint16_t final_sel)
{
	assert_outcome(r, ENTRYEMU_DONE);
	/* set_thread_area succeeded and emptied the entry */
	assert_int_equal(final_regs(r)->eax, 0);
	uint32_t lo, hi;
	entryemu_gdt_get(m, TLS_ENTRY, &lo, &hi);
	assert_int_equal(lo, 0);
	assert_int_equal(hi, 0);
	assert_int_equal(final_sel, 0);

	/* exactly one fixup, at the pop of that register */
	assert_int_equal(entryemu_result_nfixups(r), 1);
	char line[256];
	assert_int_equal(entryemu_insn_text(m, must_fixup(r, 0)->insn, ENTRYEMU_SYNTAX_INTEL,
					    line, sizeof(line)), 0);
	if (strcmp(line, pop))
		fail_msg("fixup at '%s', expected the %s", line, pop);
	assert_int_equal(must_fixup(r, 0)->vector, 13);
	assert_int_equal(must_fixup(r, 0)->error_code, TLS_SEL(TLS_ENTRY) & 0xfffc);

	/* the #GP was delivered in kernel mode, on the kernel stack */
	const struct entryemu_event_record *gp = NULL;
	for (unsigned i = 0; i < entryemu_result_nevents(r); i++)
		if (must_event(r, i)->vector == 13)
			gp = must_event(r, i);
	assert_non_null(gp);
	assert_int_equal(gp->from_cpl, 0);
	assert_true(gp->has_error_code);
	assert_int_equal(gp->error_code, 0x30);
	assert_int_equal(gp->eip, must_fixup(r, 0)->insn);
	assert_int_equal(gp->handler, entryemu_symbol(m, "general_protection"));

	/* do_general_protection(regs, error_code): a kernel-mode frame */
	const struct entryemu_callout_record *c = must_call(r, "do_general_protection");
	assert_int_equal(c->edx, 0x30);
	assert_int_equal(c->regs.xcs & 0xffff, ENTRYEMU_KERNEL_CS);
	assert_int_equal(c->regs.eip, must_fixup(r, 0)->insn);
	assert_int_equal(c->regs.orig_eax, 0xffffffffu);
	assert_int_equal(c->gs, ENTRYEMU_KERNEL_PERCPU);
}

static void test_gs_becomes_zero(void **state)
{
	entryemu *m = *state;
	entryemu_result *r = new_result();
	run_clear_tls(m, GS, r);
	/* the selector was saved in pt_regs->xgs on entry */
	assert_int_equal(must_call(r, "sys_set_thread_area")->regs.xgs & 0xffff,
			 TLS_SEL(TLS_ENTRY));
	check_fixup(m, r, "pop gs", final_regs(r)->gs);
	assert_int_equal(final_regs(r)->ds, ENTRYEMU_USER_DS);
	assert_int_equal(final_regs(r)->es, ENTRYEMU_USER_DS);
}

static void test_ds_becomes_zero(void **state)
{
	entryemu *m = *state;
	entryemu_result *r = new_result();
	run_clear_tls(m, DS, r);
	assert_int_equal(must_call(r, "sys_set_thread_area")->regs.xds & 0xffff,
			 TLS_SEL(TLS_ENTRY));
	check_fixup(m, r, "pop ds", final_regs(r)->ds);
	assert_int_equal(final_regs(r)->es, ENTRYEMU_USER_DS);
}

static void test_es_becomes_zero(void **state)
{
	entryemu *m = *state;
	entryemu_result *r = new_result();
	run_clear_tls(m, ES, r);
	check_fixup(m, r, "pop es", final_regs(r)->es);
	assert_int_equal(final_regs(r)->ds, ENTRYEMU_USER_DS);
}

/*
 * On 2.6.18 %gs is not saved or reloaded on the way through the kernel:
 * the CPU keeps the selector and its cached descriptor (SDM vol. 3 3.4.3:
 * the hidden part is loaded only by a segment load), so the user still
 * has 0x33 and nothing faults.
 */
static void test_pre_patch_keeps_stale_gs(void **state)
{
	(void)state;
	entryemu *m = open_image(ENTRYEMU_PRE_PATCH);
	entryemu_result *r = new_result();
	run_clear_tls(m, GS, r);
	assert_outcome(r, ENTRYEMU_DONE);
	assert_int_equal(final_regs(r)->eax, 0);
	assert_int_equal(final_regs(r)->gs, TLS_SEL(TLS_ENTRY));
	assert_int_equal(entryemu_result_nfixups(r), 0);
	entryemu_close(m);
}

/* A callout that changes pt_regs->xgs on purpose: the user gets that value. */
static void set_xgs(entryemu_call *c, void *opaque)
{
	struct entryemu_pt_regs regs;
	(void)opaque;
	assert_int_equal(entryemu_call_read_pt_regs(c, &regs), 0);
	regs.xgs = TLS_SEL(7);
	assert_int_equal(entryemu_call_write_pt_regs(c, &regs), 0);
	entryemu_call_return(c, 0);
}

static void test_callout_sets_xgs(void **state)
{
	entryemu *m = *state;
	struct entryemu_desc_edit tls = GDT_EDIT(7, FLAT_TLS_LO, FLAT_TLS_HI);
	struct entryemu_setup s = { 0 };
	s.edits = &tls;
	s.nedits = 1;
	static const uint8_t code[] = { 0xb8, 200, 0, 0, 0, 0xcd, 0x80 };
	assert_int_equal(entryemu_set_syscall(m, 200, set_xgs, NULL), 0);
	entryemu_result *r = new_result();
	run_code(m, &s, code, sizeof(code), r);
	entryemu_reset_callouts(m);
	assert_outcome(r, ENTRYEMU_DONE);
	assert_int_equal(final_regs(r)->gs, TLS_SEL(7));
	assert_int_equal(entryemu_result_nfixups(r), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gs_becomes_zero),
		cmocka_unit_test(test_ds_becomes_zero),
		cmocka_unit_test(test_es_becomes_zero),
		cmocka_unit_test(test_pre_patch_keeps_stale_gs),
		cmocka_unit_test(test_callout_sets_xgs),
	};
	return cmocka_run_group_tests(tests, setup_post_image, close_image);
}
