/*
 * Each checker fires on an image with a seeded bug of its kind (built
 * from tests/mutation/mutants.txt) and stays silent on the correct image;
 * switched off, it stays silent on the broken one too.
 */
#include "support.h"

#ifndef CHECKER_MUTANTS
#define CHECKER_MUTANTS "checker-mutants"
#endif

static entryemu *open_mutant(const char *id)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s/entry-post.elf", CHECKER_MUTANTS, id);
	return open_path(path);
}

static unsigned count(const entryemu_result *r, enum entryemu_check c)
{
	unsigned n = 0;
	for (unsigned i = 0; i < entryemu_result_nfindings(r); i++)
		n += must_finding(r, i)->check == c;
	return n;
}

/* movl $20,%eax ; int $0x80 */
static const uint8_t getpid[] = { 0xb8, 0x14, 0, 0, 0, 0xcd, 0x80 };
/* hlt: #GP(0) from user mode */
static const uint8_t hlt[] = { 0xf4 };
/*
 * movl $0x33,%ecx ; movl %ecx,%gs ; push $0x28 ; push $0 ; push $0 ;
 * push $6 ; movl %esp,%ebx ; movl $243,%eax ; int $0x80 ; addl $16,%esp
 */
static const uint8_t clear_gs_tls[] = {
	0xb9, 0x33, 0, 0, 0, 0x8e, 0xe9, 0x6a, 0x28, 0x6a, 0x00, 0x6a, 0x00, 0x6a, 0x06,
	0x89, 0xe3, 0xb8, 0xf3, 0, 0, 0, 0xcd, 0x80, 0x83, 0xc4, 0x10,
};

/* movl $20,%eax ; call 0xffffe400 (__kernel_vsyscall: sysenter, and the
 * sixth argument read from the user stack) */
static const uint8_t sysenter_getpid[] = { 0xb8, 0x14, 0, 0, 0, 0xe8, 0xf6, 0x63, 0xfb, 0xf7 };
/* movl $318,%eax ; int $0x80: nr_syscalls, one past sys_call_table */
static const uint8_t int80_nr_syscalls[] = { 0xb8, 0x3e, 0x01, 0, 0, 0xcd, 0x80 };
/* movl $318,%eax ; call 0xffffe400: the same through sysenter */
static const uint8_t sysenter_nr_syscalls[] = { 0xb8, 0x3e, 0x01, 0, 0, 0xe8, 0xf6, 0x63,
						0xfb, 0xf7 };
/*
 * movl $20,%eax ; push %ecx ; push %edx ; push %ebp ;
 * movl $0xbffffffe,%ebp ; sysenter: a sixth-argument pointer whose 4-byte
 * load would cross PAGE_OFFSET
 */
static const uint8_t sysenter_straddle[] = { 0xb8, 0x14, 0, 0, 0, 0x51, 0x52, 0x55,
					     0xbd, 0xfe, 0xff, 0xff, 0xbf, 0x0f, 0x34 };

/*
 * Run code from the setup base on the mutant and on the correct image;
 * expect findings of c on the first only.
 */
static void fires_on_mutant_from(const char *id, enum entryemu_check c, const uint8_t *code,
				 size_t len, const struct entryemu_setup *base)
{
	entryemu_result *r = new_result();
	struct entryemu_setup s = *base;
	if (c == ENTRYEMU_CHECK_CFI)
		s.flags = ENTRYEMU_RUN_CHECK_CFI;	/* asked for, not implied */
	entryemu *bad = open_mutant(id);
	run_code(bad, &s, code, len, r);
	if (!count(r, c))
		fail_msg("%s: no %s finding on mutant %s (outcome %s: %s)", id,
			 entryemu_check_name(c), id, entryemu_outcome_name(entryemu_result_outcome(r)),
			 entryemu_result_message(r));
	/* each finding says where; run-time ones show the registers too (the
	 * exception table is checked in the image, before any run) */
	for (unsigned i = 0; i < entryemu_result_nfindings(r); i++)
		if (must_finding(r, i)->check == c) {
			assert_non_null(strstr(must_finding(r, i)->text, entryemu_check_name(c)));
			if (c != ENTRYEMU_CHECK_EXTABLE) {
				assert_non_null(strstr(must_finding(r, i)->text, " at "));
				assert_non_null(strstr(must_finding(r, i)->text, "esp "));
			} else {
				assert_non_null(strstr(must_finding(r, i)->text, "syscall_fault+0x1"));
			}
		}
	/* switched off, the checker stays silent */
	s.checks_off = c;
	run_code(bad, &s, code, len, r);
	assert_int_equal(count(r, c), 0);
	entryemu_close(bad);

	entryemu *good = open_image(ENTRYEMU_POST_PATCH);
	/*
	 * the seed's own slots finding (test_slots_checker) is not this one's,
	 * nor is the lockdep finding every kernel of 2.6.18-2.6.24 shows when
	 * an exception's signal is delivered (resume_userspace's untraced cli,
	 * docs/findings.md)
	 */
	s.checks_off = (c == ENTRYEMU_CHECK_SLOTS ? 0 : ENTRYEMU_CHECK_SLOTS) |
		       (c == ENTRYEMU_CHECK_LOCKDEP ? 0 : ENTRYEMU_CHECK_LOCKDEP);
	run_code(good, &s, code, len, r);
	if (entryemu_result_nfindings(r))
		fail_msg("correct image: %s", must_finding(r, 0)->text);
	entryemu_close(good);
}

static void fires_on_mutant(const char *id, enum entryemu_check c, const uint8_t *code,
			    size_t len, const struct entryemu_desc_edit *edit)
{
	struct entryemu_setup s = { 0 };
	if (edit) {
		s.edits = edit;
		s.nedits = 1;
	}
	fires_on_mutant_from(id, c, code, len, &s);
}

/* error_code leaves the error code where orig_eax = -1 belongs */
static void test_ptregs_checker(void **state)
{
	(void)state;
	fires_on_mutant("keep-error-code-in-orig-eax", ENTRYEMU_CHECK_PTREGS, hlt, sizeof(hlt), NULL);
}

/* SAVE_ALL loads __USER_DS into %gs: C code runs without the per-CPU segment */
static void test_segments_checker(void **state)
{
	(void)state;
	fires_on_mutant("user-ds-into-gs", ENTRYEMU_CHECK_SEGMENTS, getpid, sizeof(getpid), NULL);
}

/*
 * the %gs fixup stores __USER_DS: the user gets 0x7b back, not the null
 * selector a fixup gives.  (Storing 1, a null selector with RPL 1, was
 * the mutant before; IRET to ring 3 nulls that anyway, SDM vol. 2A IRET,
 * so it was no bug.)
 */
static void test_return_checker(void **state)
{
	(void)state;
	struct entryemu_desc_edit tls = GDT_EDIT(6, 0x0000ffff, 0x00cff300);
	fires_on_mutant("gs-fixup-stores-user-ds", ENTRYEMU_CHECK_RETURN, clear_gs_tls,
			sizeof(clear_gs_tls), &tls);
}

/* restore_nocheck drops 8 bytes: the iret runs 4 bytes above the frame */
static void test_stack_checker(void **state)
{
	(void)state;
	fires_on_mutant("restore-skips-too-much", ENTRYEMU_CHECK_STACK, getpid, sizeof(getpid), NULL);
}

/* an __ex_table fixup that is neither in .fixup nor at a label */
static void test_extable_checker(void **state)
{
	(void)state;
	fires_on_mutant("sixth-arg-fixup-off-label", ENTRYEMU_CHECK_EXTABLE, getpid,
			sizeof(getpid), NULL);
}

/* syscall_call sets DF before the call: C code must find it clear (i386 ABI) */
static void test_df_checker(void **state)
{
	(void)state;
	fires_on_mutant("std-before-syscall", ENTRYEMU_CHECK_DF, getpid, sizeof(getpid), NULL);
}

/* an sti before restore_nocheck's iret: an interrupt may land on the popped frame */
static void test_irqs_off_checker_at_iret(void **state)
{
	(void)state;
	fires_on_mutant("sti-before-iret", ENTRYEMU_CHECK_IRQS_OFF, getpid, sizeof(getpid), NULL);
}

/* syscall_exit checks the work flags with interrupts on: work set after it is missed */
static void test_irqs_off_checker_at_work_check(void **state)
{
	(void)state;
	fires_on_mutant("no-cli-at-syscall-exit", ENTRYEMU_CHECK_IRQS_OFF, getpid,
			sizeof(getpid), NULL);
}

/* Slots findings that name the %gs slot, its 0xc010 upper half, and the
 * exit path's work check (the first look, before the signal's delivery). */
static unsigned slot_findings(const entryemu_result *r)
{
	unsigned n = 0;
	for (unsigned i = 0; i < entryemu_result_nfindings(r); i++) {
		const struct entryemu_finding *f = must_finding(r, i);
		n += f->check == ENTRYEMU_CHECK_SLOTS && strstr(f->text, "pt_regs->xgs = 0xc010") &&
		     strstr(f->text, "at the return to user space");
	}
	return n;
}

/*
 * The seed's error_code stores the interrupted %gs with a 16-bit mov, so
 * pt_regs->xgs keeps the upper half of the handler's address (0xc010) on
 * the way back to user space after a user #GP (SDM vol. 2 MOV: a segment
 * register stored to memory writes 16 bits).  The checker fires on the seed's
 * image, stays silent switched off, on 2.6.18 (which stores a 32-bit
 * register, zero-extended) and on the seed with a 32-bit store.
 */
static void test_slots_checker(void **state)
{
	(void)state;
	entryemu_result *r = new_result();
	struct entryemu_setup s = { 0 };
	entryemu *seed = open_image(ENTRYEMU_POST_PATCH);
	run_code(seed, &s, hlt, sizeof(hlt), r);
	assert_int_equal(slot_findings(r), 1);
	assert_int_equal(count(r, ENTRYEMU_CHECK_SLOTS), 1);
	s.checks_off = ENTRYEMU_CHECK_SLOTS;
	run_code(seed, &s, hlt, sizeof(hlt), r);
	assert_int_equal(count(r, ENTRYEMU_CHECK_SLOTS), 0);
	entryemu_close(seed);

	s.checks_off = ENTRYEMU_CHECK_LOCKDEP;	/* resume_userspace's, on every kernel */
	entryemu *pre = open_image(ENTRYEMU_PRE_PATCH);
	run_code(pre, &s, hlt, sizeof(hlt), r);
	if (entryemu_result_nfindings(r))
		fail_msg("2.6.18: %s", must_finding(r, 0)->text);
	entryemu_close(pre);

	entryemu *fixed = open_mutant("gs-slot-32bit-store");
	run_code(fixed, &s, hlt, sizeof(hlt), r);
	if (entryemu_result_nfindings(r))
		fail_msg("32-bit store: %s", must_finding(r, 0)->text);
	entryemu_close(fixed);
}

/*
 * The unwind table against the stack.  system_call's pushl of orig_eax
 * without its CFA adjustment leaves the CFA 4 bytes below the EIP, CS,
 * EFLAGS the int $0x80 gate pushed (SDM vol. 3A 6.12.1); SAVE_ALL's
 * %eax annotated one slot up names %ds's slot (__USER_DS there, not the
 * syscall number); the seed's UNWIND_ESPFIX_STACK keeps the adjustments
 * of a push and pop it dropped, which puts the CFA 4 bytes high in
 * error_code (a user #GP goes through it).
 */
static void test_cfi_checker(void **state)
{
	(void)state;
	fires_on_mutant("cfi-orig-eax-no-adjust", ENTRYEMU_CHECK_CFI, getpid, sizeof(getpid), NULL);
	fires_on_mutant("cfi-eax-wrong-slot", ENTRYEMU_CHECK_CFI, getpid, sizeof(getpid), NULL);
	fires_on_mutant("seed-espfix-stale-cfi", ENTRYEMU_CHECK_CFI, hlt, sizeof(hlt), NULL);
}

#define TIF_SYSCALL_TRACE	0x1	/* asm/include/asm/thread_info.h: bit 0 */
#define TIF_NEED_RESCHED	0x8	/* bit 3 */

/*
 * What the entry code last told lockdep (trace_hardirqs_on/off) against
 * the CPU's IF.  syscall_exit's cli without its TRACE_IRQS_OFF: with work
 * pending, schedule runs with IF = 0 while lockdep holds "on".  sti before
 * syscall_exit_work's TRACE_IRQS_ON: lockdep is told with IF = 1 (its own
 * DEBUG_LOCKS_WARN_ON(!irqs_disabled())).  nmi leaving through
 * restore_nocheck: TRACE_IRQS_IRET calls trace_hardirqs_on in NMI context
 * (2.6.18 leaves through restore_nocheck_notrace for this reason).
 */
static void test_lockdep_checker(void **state)
{
	(void)state;
	static const uint8_t nop_then_nop[] = { 0x90, 0x90 };
	struct entryemu_setup s = { 0 };
	s.ti_flags = TIF_NEED_RESCHED;
	fires_on_mutant_from("syscall-exit-no-trace-off", ENTRYEMU_CHECK_LOCKDEP, getpid,
			     sizeof(getpid), &s);
	s.ti_flags = TIF_SYSCALL_TRACE;
	fires_on_mutant_from("syscall-exit-work-sti-first", ENTRYEMU_CHECK_LOCKDEP, getpid,
			     sizeof(getpid), &s);
	/* an NMI before the second nop, from user mode with IF = 1 */
	struct entryemu_inject nmi = { .kind = ENTRYEMU_INJECT_NMI, .at = ENTRYEMU_USER_CODE + 1 };
	struct entryemu_setup n = { 0 };
	n.injects = &nmi;
	n.ninjects = 1;
	fires_on_mutant_from("nmi-exit-traces", ENTRYEMU_CHECK_LOCKDEP, nop_then_nop,
			     sizeof(nop_then_nop), &n);
}

/*
 * Kernel code reaches user memory only at __ex_table'd instructions, and
 * those never reach PAGE_OFFSET.  Without its __ex_table entry, the
 * sysenter path's load of the sixth argument from the user stack is a
 * kernel access to a user address that would oops on a bad pointer.
 * Checked against PAGE_OFFSET instead of PAGE_OFFSET - 3, the pointer
 * 0xbffffffe gets through and the load reads across PAGE_OFFSET (its
 * first page is unmapped, so the fixup still returns -EFAULT: only this
 * checker tells the two kernels apart).
 */
static void test_uaccess_checker(void **state)
{
	(void)state;
	fires_on_mutant("drop-sixth-arg-extable", ENTRYEMU_CHECK_UACCESS, sysenter_getpid,
			sizeof(sysenter_getpid), NULL);
	fires_on_mutant("sixth-arg-check-to-page-offset", ENTRYEMU_CHECK_UACCESS,
			sysenter_straddle, sizeof(sysenter_straddle), NULL);
}

/*
 * nr_syscalls let through by a `ja` where `jae` belongs: the indexed call
 * reads the word just past sys_call_table (syscall_table_size bytes), on
 * either way in.
 */
static void test_bounds_checker(void **state)
{
	(void)state;
	fires_on_mutant("badsys-off-by-one", ENTRYEMU_CHECK_BOUNDS, int80_nr_syscalls,
			sizeof(int80_nr_syscalls), NULL);
	fires_on_mutant("sysenter-badsys-off-by-one", ENTRYEMU_CHECK_BOUNDS, sysenter_nr_syscalls,
			sizeof(sysenter_nr_syscalls), NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ptregs_checker),
		cmocka_unit_test(test_segments_checker),
		cmocka_unit_test(test_return_checker),
		cmocka_unit_test(test_stack_checker),
		cmocka_unit_test(test_extable_checker),
		cmocka_unit_test(test_df_checker),
		cmocka_unit_test(test_irqs_off_checker_at_iret),
		cmocka_unit_test(test_irqs_off_checker_at_work_check),
		cmocka_unit_test(test_slots_checker),
		cmocka_unit_test(test_cfi_checker),
		cmocka_unit_test(test_lockdep_checker),
		cmocka_unit_test(test_uaccess_checker),
		cmocka_unit_test(test_bounds_checker),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
