/*
 * Every exception vector raised while the kernel runs (injected at
 * syscall_call, inside an int $0x80 system call): delivered on the kernel
 * stack without a stack switch (SDM vol. 3 6.12.1: same privilege, no
 * SS:ESP pushed), the right stub and C handler run with a kernel-mode
 * frame, orig_eax = -1 (or the pushed %eax for NMI) and the error code in
 * %edx.  With no __ex_table entry at syscall_call, the faults the kernel
 * cannot handle there end in an oops report; NMI, #BP, #NM and vector 15
 * are handled and the system call completes; #DB in kernel mode is taken
 * as a single step into the kernel (2.6.18's do_debug): it is deferred
 * with TIF_SINGLESTEP, the user resumes stepping, and gets SIGTRAP.
 * 2.6.18's math_error() and simd_math_error() do not look at the mode
 * (traps.c): #MF with no unmasked x87 exception pending is ignored, #XM
 * sends the current task SIGFPE, delivered on its way back to user mode.
 */
#include "support.h"

struct vec {
	int vector;
	const char *stub, *handler;
	int error_code;		/* pushed by the CPU for this vector */
	enum { OOPS, SURVIVES, SIGNAL_LATER } then;
	int signal;		/* SIGNAL_LATER: the one that kills the task */
};

static const struct vec vectors[] = {
	{ 0, "divide_error", "do_divide_error", 0, OOPS, 0 },
	{ 1, "debug", "do_debug", 0, SIGNAL_LATER, 5 /* SIGTRAP */ },
	{ 2, "nmi", "do_nmi", 0, SURVIVES, 0 },
	{ 3, "int3", "do_int3", 0, SURVIVES, 0 },
	{ 4, "overflow", "do_overflow", 0, OOPS, 0 },
	{ 5, "bounds", "do_bounds", 0, OOPS, 0 },
	{ 6, "invalid_op", "do_invalid_op", 0, OOPS, 0 },
	{ 7, "device_not_available", "math_state_restore", 0, SURVIVES, 0 },
	{ 9, "coprocessor_segment_overrun", "do_coprocessor_segment_overrun", 0, OOPS, 0 },
	{ 10, "invalid_TSS", "do_invalid_TSS", 1, OOPS, 0 },
	{ 11, "segment_not_present", "do_segment_not_present", 1, OOPS, 0 },
	{ 12, "stack_segment", "do_stack_segment", 1, OOPS, 0 },
	{ 13, "general_protection", "do_general_protection", 1, OOPS, 0 },
	{ 14, "page_fault", "do_page_fault", 1, OOPS, 0 },
	{ 15, "spurious_interrupt_bug", "do_spurious_interrupt_bug", 0, SURVIVES, 0 },
	{ 16, "coprocessor_error", "do_coprocessor_error", 0, SURVIVES, 0 },
	{ 17, "alignment_check", "do_alignment_check", 1, OOPS, 0 },
	{ 18, "machine_check", "do_machine_check", 0, OOPS, 0 },
	{ 19, "simd_coprocessor_error", "do_simd_coprocessor_error", 0, SIGNAL_LATER,
	  8 /* SIGFPE */ },
};

/* movl $20,%eax ; int $0x80 */
static const uint8_t int80[] = { 0xb8, 0x14, 0, 0, 0, 0xcd, 0x80 };

static void run_vector(entryemu *m, const struct vec *v, entryemu_result *r)
{
	struct entryemu_inject in = {
		.kind = v->vector == 2 ? ENTRYEMU_INJECT_NMI : ENTRYEMU_INJECT_EXCEPTION,
		.vector = v->vector,
		.error_code = 0x1230,
		.at = entryemu_symbol(m, "syscall_call"),
	};
	struct entryemu_setup s = { 0 };
	s.injects = &in;
	s.ninjects = 1;
	run_code(m, &s, int80, sizeof(int80), r);
}

static void test_every_vector_from_ring0(void **state)
{
	entryemu *m = *state;
	entryemu_result *r = new_result();
	uint32_t at = entryemu_symbol(m, "syscall_call");
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const struct vec *v = &vectors[i];
		run_vector(m, v, r);
		/* the int $0x80, then this vector from CPL 0 at syscall_call */
		if (entryemu_result_nevents(r) < 2)
			fail_msg("vector %d: %zu events (%s)", v->vector, entryemu_result_nevents(r),
				 entryemu_result_message(r));
		const struct entryemu_event_record *e = must_event(r, 1);
		assert_int_equal(e->vector, v->vector);
		assert_int_equal(e->from_cpl, 0);
		assert_int_equal(e->eip, at);
		assert_int_equal(e->has_error_code, v->error_code);
		assert_int_equal(e->handler, entryemu_symbol(m, v->stub));
		/* no stack switch: the frame is pushed below the syscall's frame */
		assert_true(e->frame < must_event(r, 0)->frame);
		const struct entryemu_callout_record *c = entryemu_result_find_callout(r, v->handler, 1);
		if (!c)
			fail_msg("vector %d: %s not called (%s)", v->vector, v->handler, entryemu_result_message(r));
		if (c->pt_regs_addr) {
			assert_int_equal(c->regs.xcs & 0xffff, ENTRYEMU_KERNEL_CS);
			assert_int_equal(c->regs.eip, at);
			/* NMI saves %eax (the syscall number) in orig_eax */
			assert_int_equal(c->regs.orig_eax, v->vector == 2 ? 20u : 0xffffffffu);
		}
		if (v->error_code)
			assert_int_equal(c->edx, 0x1230);
		/* math_error/simd_math_error set thread.trap_no and error_code 0 */
		if (v->vector == 16 || v->vector == 19) {
			assert_int_equal(entryemu_result_siginfo(r)->trap_no, v->vector);
			assert_int_equal(entryemu_result_siginfo(r)->error_code, 0);
		}
		if (v->then == SURVIVES) {
			if (entryemu_result_outcome(r) != ENTRYEMU_DONE)
				fail_msg("vector %d: %s (%s)", v->vector,
					 entryemu_outcome_name(entryemu_result_outcome(r)),
					 entryemu_result_message(r));
			assert_int_equal(must_return(r, entryemu_result_nreturns(r) - 1)->eax, 1000);
		} else if (v->then == SIGNAL_LATER) {
			assert_outcome(r, ENTRYEMU_KILLED);
			assert_int_equal(entryemu_result_signal(r), v->signal);
			/* the deferred step is reported once the user runs again;
			 * SIGFPE is delivered on the way out of the system call */
			if (v->vector == 1)
				assert_int_equal(must_return(r, 0)->eax, 1000);
			else
				assert_int_equal(entryemu_result_nreturns(r), 0);
			/* what the task's handler would read: 2.6.18's send_sigtrap()
			 * for the step, simd_math_error() with nothing unmasked */
			const struct entryemu_siginfo *si = entryemu_result_siginfo(r);
			assert_int_equal(si->signo, v->signal);
			assert_string_equal(entryemu_signal_name(si->signo),
					    v->vector == 1 ? "SIGTRAP" : "SIGFPE");
			if (v->vector == 1)
				assert_string_equal(entryemu_si_code_name(si->signo, si->code),
						    "TRAP_BRKPT");
			else
				assert_int_equal(si->code, 0);
		} else {
			if (entryemu_result_outcome(r) != ENTRYEMU_OOPS)
				fail_msg("vector %d: %s, expected an oops", v->vector,
					 entryemu_outcome_name(entryemu_result_outcome(r)));
			/* the oops report names the place and shows the path */
			assert_non_null(strstr(entryemu_result_message(r), "syscall_call"));
			assert_non_null(strstr(entryemu_result_message(r), "last "));
			assert_non_null(strstr(entryemu_result_message(r), "EIP: 0060:"));
			assert_non_null(strstr(entryemu_result_message(r), "<syscall_call>"));
		}
	}
}

/* An oops report: vector and error code, EIP with symbol, registers, trace. */
static void test_oops_report(void **state)
{
	entryemu *m = *state;
	entryemu_result *r = new_result();
	const struct vec *gp = NULL;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++)
		if (vectors[i].vector == 13)
			gp = &vectors[i];
	run_vector(m, gp, r);				/* #GP(0x1230) at syscall_call */
	assert_outcome(r, ENTRYEMU_OOPS);
	const char *msg = entryemu_result_message(r);
	assert_non_null(strstr(msg, "kernel-mode fault at syscall_call, error code 0x1230"));
	/* the faulting context, from the handler's pt_regs */
	assert_non_null(strstr(msg, "EIP: 0060:"));
	assert_non_null(strstr(msg, "<syscall_call>"));
	assert_non_null(strstr(msg, "eax: 00000014"));
	assert_non_null(strstr(msg, "last 32 instructions:"));
	assert_non_null(strstr(msg, "<general_protection>"));
	/* the report does not leave a trace behind in an untraced result */
	assert_null(entryemu_result_trace(r, NULL));
}

/*
 * The kernel stack's top page, where every entry builds its frame, is
 * served to the CPU as data (src/cpu/machine.c): a handler whose linear
 * address lies there is refused as not modelled, never run as the stack's
 * bytes nor reported as an emulator error.  The gate's selector names a
 * ring-0 code segment whose base moves system_call into that page (SDM
 * vol. 3 6.12.1: the handler runs at the gate's CS base + offset).
 */
static void test_code_in_frame_page_refused(void **state)
{
	entryemu *m = *state;
	entryemu_result *r = new_result();
	struct entryemu_setup plain = { 0 };
	run_code(m, &plain, int80, sizeof(int80), r);
	assert_outcome(r, ENTRYEMU_DONE);
	uint32_t target = must_event(r, 0)->frame - 0x100;	/* same page, below the frame */
	uint32_t handler = entryemu_symbol(m, "system_call");
	uint32_t base = target - handler;
	struct entryemu_desc_edit edits[] = {
		/* GDT 6: 4 GiB ring-0 code, execute/read, 32-bit */
		{ ENTRYEMU_GDT, 6, (base << 16) | 0xffffu,
		  (base & 0xff000000u) | 0x00cf9a00u | ((base >> 16) & 0xffu), { 0, 0 } },
		/* vector 0x80: a DPL-3 32-bit trap gate to 0x30:system_call */
		{ ENTRYEMU_IDT, 0x80, (0x30u << 16) | (handler & 0xffffu),
		  (handler & 0xffff0000u) | 0xef00u, { 0, 0 } },
	};
	struct entryemu_setup s = { 0 };
	s.edits = edits;
	s.nedits = 2;
	run_code(m, &s, int80, sizeof(int80), r);
	assert_outcome(r, ENTRYEMU_UNSUPPORTED);
	assert_non_null(strstr(entryemu_result_message(r), "kernel stack's top page"));
}

/*
 * The injection hook stays installed for some runs after one that
 * injects, and costs each of their instructions a call; a long run
 * that does not need it has it removed part-way (src/cpu/inject.c,
 * src/run/run.c).  The run must not notice: the loop below executes
 * mov, then dec and jnz 3,000 times, then the jmp to the exit page that
 * the library appends to user code: 6,002 instructions, and %ecx ends 0.
 */
static void test_long_run_after_an_injection(void **state)
{
	entryemu *m = *state;
	entryemu_result *r = new_result();
	/* mov $3000,%ecx; 1: dec %ecx; jnz 1b */
	static const uint8_t loop[] = { 0xb9, 0xb8, 0x0b, 0, 0, 0x49, 0x75, 0xfd };
	for (int round = 0; round < 3; round++) {
		const struct vec nmi = { 2, "nmi", "do_nmi", 0, SURVIVES, 0 };
		run_vector(m, &nmi, r);			/* an NMI at syscall_call */
		assert_int_equal(must_event(r, 1)->vector, 2);
		for (int again = 0; again < 2; again++) {
			struct entryemu_setup s = { 0 };
			run_code(m, &s, loop, sizeof(loop), r);
			assert_outcome(r, ENTRYEMU_DONE);
			assert_int_equal(entryemu_result_insns(r), 6002);
			assert_int_equal(final_regs(r)->ecx, 0);
		}
	}
}

/*
 * The I/O check at CPL 3 holds whichever way the injection hook is
 * installed: over user pages only (a run needs no more), over
 * everything (kept after runs that inject), or narrowed back to user
 * pages after many runs that do not inject (src/run/run.c).  inb at
 * CPL 3 with IOPL 0 and no I/O bitmap is #GP(0) at the inb (SDM vol. 1
 * 19.5.1-19.5.2; vol. 2 IN), and 2.6.18's do_general_protection sends
 * SIGSEGV.
 */
static void test_io_check_in_every_hook_mode(void **state)
{
	entryemu *m = *state;
	entryemu_result *r = new_result();
	static const uint8_t inb[] = { 0xe4, 0x80 };	/* inb $0x80, %al */
	static const uint8_t nop[] = { 0x90 };
	const struct vec nmi = { 2, "nmi", "do_nmi", 0, SURVIVES, 0 };
	for (int phase = 0; phase < 3; phase++) {
		if (phase == 1)
			run_vector(m, &nmi, r);		/* the hook over everything */
		for (int i = 0; phase == 2 && i < 200; i++) {
			struct entryemu_setup s = { 0 };
			run_code(m, &s, inb, sizeof(inb), r);	/* long without injections */
		}
		struct entryemu_setup s = { 0 };
		run_code(m, &s, nop, sizeof(nop), r);
		run_code(m, &s, inb, sizeof(inb), r);
		assert_outcome(r, ENTRYEMU_KILLED);
		assert_int_equal(entryemu_result_siginfo(r)->signo, 11);
		const struct entryemu_event_record *e = must_event(r, 0);
		assert_int_equal(e->vector, 13);
		assert_int_equal(e->error_code, 0);
		assert_int_equal(e->eip, ENTRYEMU_USER_CODE);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_vector_from_ring0),
		cmocka_unit_test(test_oops_report),
		cmocka_unit_test(test_code_in_frame_page_refused),
		cmocka_unit_test(test_long_run_after_an_injection),
		cmocka_unit_test(test_io_check_in_every_hook_mode),
	};
	return cmocka_run_group_tests(tests, setup_post_image, close_image);
}
