/*
 * The reset between runs: whatever one run writes, the next starts from
 * the state after boot.  The library restores only what was written, so
 * each test writes somewhere in one run and reads it back in the next,
 * with ENTRYEMU_RUN_CHECK_RESET also comparing all of memory.
 */
#include "support.h"

#include <entryemu/scenario.h>

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

/* Run code with the reset check on; the run must complete. */
static void run_checked(entryemu *m, const uint8_t *code, size_t len,
			entryemu_result *r)
{
	struct entryemu_setup s = { .flags = ENTRYEMU_RUN_CHECK_RESET };
	run_code(m, &s, code, len, r);
	assert_outcome(r, ENTRYEMU_DONE);
}

/* Run 1: movl $value, addr.  Run 2: movl addr, %ebx.  Returns that %ebx. */
static uint32_t read_after_write(entryemu *m, uint32_t addr, uint32_t value)
{
	entryemu_result *r = new_result();
	uint8_t wr[10] = { 0xc7, 0x05 }, rd[6] = { 0x8b, 0x1d };
	put32(wr + 2, addr);
	put32(wr + 6, value);
	put32(rd + 2, addr);
	run_checked(m, wr, sizeof(wr), r);
	run_checked(m, rd, sizeof(rd), r);
	return final_regs(r)->ebx;
}

static void test_user_data_write_undone(void **state)
{
	/* user data starts zeroed */
	assert_int_equal(read_after_write(*state, ENTRYEMU_USER_DATA, 0x12345678), 0);
}

/* pushl $0x5a5a5a5a; then movl -4(%esp), %ebx at the same %esp */
static void test_user_stack_push_undone(void **state)
{
	entryemu *m = *state;
	entryemu_result *r = new_result();
	static const uint8_t push[] = { 0x68, 0x5a, 0x5a, 0x5a, 0x5a };
	static const uint8_t peek[] = { 0x8b, 0x5c, 0x24, 0xfc };
	run_checked(m, push, sizeof(push), r);
	run_checked(m, peek, sizeof(peek), r);
	assert_int_equal(final_regs(r)->ebx, 0);
}

/* The exit page holds "jmp ." (eb fe) at every even address. */
static void test_exit_page_write_undone(void **state)
{
	assert_int_equal(read_after_write(*state, ENTRYEMU_USER_EXIT, 0x90909090), 0xfeebfeeb);
}

/*
 * Code run from the top of the user stack, whose bytes end in LOCK
 * prefixes: `07 f0 f0 f0' (pop %es, then LOCK prefixes up to the end of
 * the stack), pushed and jumped to.  The library rewrites misused LOCKs
 * in fetched code to an #UD; with no opcode left before the stack's end
 * it wrote one byte past it, into the exit page that follows it in host
 * memory, and the reset, which puts back what the rewrite marked, left
 * it changed.  The run itself: pop %es of selector 0xf007 is #GP(0xf004)
 * (SDM vol. 3A 6.13: the selector's index and TI, RPL cleared), SIGSEGV.
 */
static void test_lock_at_the_stack_top_leaves_memory_alone(void **state)
{
	entryemu *m = *state;
	entryemu_result *r = new_result();
	/* movl $0xf0f0f007,%eax ; pushl %eax ; jmp *%esp */
	static const uint8_t code[] = { 0xb8, 0x07, 0xf0, 0xf0, 0xf0, 0x50, 0xff, 0xe4 };
	struct entryemu_setup s = { .flags = ENTRYEMU_RUN_CHECK_RESET };
	run_code(m, &s, code, sizeof(code), r);
	assert_outcome(r, ENTRYEMU_KILLED);
	assert_int_equal(entryemu_result_signal(r), SIGSEGV);
	assert_int_equal(entryemu_result_event(r, 0)->vector, 13);
	assert_int_equal(entryemu_result_event(r, 0)->error_code, 0xf004);
	/* the next run's check of all memory, and the exit page's bytes */
	assert_int_equal(read_after_write(m, ENTRYEMU_USER_DATA, 1), 0);
	assert_int_equal(read_after_write(m, ENTRYEMU_USER_EXIT, 0x90909090), 0xfeebfeeb);
}

/*
 * Code a run wrote and ran must not run again from a stale translation
 * once the reset has cleared it.  Run 1 stores "movl $0x42,%eax; ret"
 * (b8 42 00 00 00 c3) at `at' and calls it.  Run 2 calls the same address
 * with %eax pointing at user data: the bytes there are zeros again,
 * "addb %al,(%eax)" over and over up to the end of the region, where the
 * fetch from unmapped memory is a page fault that kills the task.
 */
static void written_code_not_rerun(entryemu *m, uint32_t at)
{
	entryemu_result *r = new_result();
	/* movl $0x000042b8,at ; movl $0xc3000000,at+4 ; call at */
	uint8_t one[25] = { 0xc7, 0x05 };
	put32(one + 2, at);
	put32(one + 6, 0x000042b8);
	one[10] = 0xc7;
	one[11] = 0x05;
	put32(one + 12, at + 4);
	put32(one + 16, 0x0000c300);
	one[20] = 0xe8;
	put32(one + 21, at - (ENTRYEMU_USER_CODE + 25));
	run_checked(m, one, sizeof(one), r);
	assert_int_equal(final_regs(r)->eax, 0x42);

	/* movl $ENTRYEMU_USER_DATA,%eax ; call at */
	uint8_t two[10] = { 0xb8 };
	put32(two + 1, ENTRYEMU_USER_DATA);
	two[5] = 0xe8;
	put32(two + 6, at - (ENTRYEMU_USER_CODE + 10));
	struct entryemu_setup s = { .flags = ENTRYEMU_RUN_CHECK_RESET };
	run_code(m, &s, two, sizeof(two), r);
	assert_outcome(r, ENTRYEMU_KILLED);
	assert_int_equal(entryemu_result_signal(r), SIGSEGV);
	assert_int_not_equal(final_regs(r)->eax, 0x42);
}

/*
 * Code that writes over its own bytes, given again for the next run: the
 * reset finds the loaded code written over and clears it, and the load
 * must put it back (it may skip the work only for code still there).  A
 * store turns the incl ahead into a nop, which the CPU then runs (SDM
 * vol. 3A 11.6): %eax ends at 1, on every run.
 */
static void test_same_code_after_it_wrote_itself(void **state)
{
	entryemu *m = *state;
	uint8_t code[14] = {
		0xb8, 0, 0, 0, 0,			/* movl $0,%eax */
		0xc6, 0x05, 0, 0, 0, 0, 0x90,		/* movb $0x90,x */
		0x40,					/* x: incl %eax */
		0x40,					/* incl %eax */
	};
	put32(code + 7, ENTRYEMU_USER_CODE + 12);
	entryemu_result *r = new_result();
	for (int i = 0; i < 3; i++) {
		struct entryemu_setup s = { .flags = ENTRYEMU_RUN_CHECK_RESET };
		run_code(m, &s, code, sizeof(code), r);
		assert_outcome(r, ENTRYEMU_DONE);
		assert_int_equal(final_regs(r)->eax, 1);
	}
}

/* in the user code region, which runs load code into */
static void test_written_code_not_rerun(void **state)
{
	written_code_not_rerun(*state, ENTRYEMU_USER_CODE + 0x1000);
}

/* in a data page, which the reset restores itself */
static void test_written_data_code_not_rerun(void **state)
{
	written_code_not_rerun(*state, ENTRYEMU_USER_DATA + 0x100);
}

/*
 * Zeroed data run as code ("addb %al,(%eax)") that writes into the bytes
 * it runs, two instructions on, and so changes them as it goes; or
 * beside them.  Each run must end as it does on a fresh machine,
 * whatever ran before it: the reset puts the bytes back, and no
 * translation of the written bytes may outlive it.
 */
static void test_zero_code_written_rerun_alike(void **state)
{
	entryemu *m = *state;
	const uint32_t at = ENTRYEMU_USER_DATA + 0x800;
	const uint32_t targets[] = { at + 2, ENTRYEMU_USER_DATA + 0x10, at + 2 };
	entryemu *fresh = open_image(ENTRYEMU_POST_PATCH);
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		/* movl $target,%eax ; jmp at */
		uint8_t code[10] = { 0xb8 };
		put32(code + 1, targets[i]);
		code[5] = 0xe9;
		put32(code + 6, at - (ENTRYEMU_USER_CODE + 10));
		struct entryemu_setup s = { .flags = ENTRYEMU_RUN_CHECK_RESET, .insn_budget = 3000 };
		entryemu_result *r = new_result(), *want = new_result();
		run_code(m, &s, code, sizeof(code), r);
		run_code(fresh, &s, code, sizeof(code), want);
		entryemu_close(fresh);
		fresh = open_image(ENTRYEMU_POST_PATCH);
		assert_int_equal(entryemu_result_outcome(r), entryemu_result_outcome(want));
		assert_int_equal(entryemu_result_insns(r), entryemu_result_insns(want));
		assert_int_equal(final_regs(r)->eax, final_regs(want)->eax);
		assert_int_equal(final_regs(r)->eip, final_regs(want)->eip);
	}
	entryemu_close(fresh);
}

/*
 * Two bytes written far apart, with code run in between: run 1 stores
 * 0x01 at `at' and 0x40 (incl %eax) at at + 0x100, then runs the zeros
 * from at + 0x80 on, so a block from there holds the written byte and
 * not the first.  Run 2 runs from at + 0x80 over zeros again, and must
 * end as on a fresh machine: the reset drops every translation of what
 * it puts back, not only of the first byte.
 */
static void test_written_code_far_apart(void **state)
{
	entryemu *m = *state;
	const uint32_t at = ENTRYEMU_USER_DATA + 0x1000;
	/* movb $0x40,at+0x100 ; movb $1,at ; movl $data+0x10,%eax ; jmp at+0x80 */
	uint8_t one[24] = { 0xc6, 0x05 };
	put32(one + 2, at + 0x100);
	one[6] = 0x40;
	one[7] = 0xc6;
	one[8] = 0x05;
	put32(one + 9, at);
	one[13] = 0x01;
	one[14] = 0xb8;
	put32(one + 15, ENTRYEMU_USER_DATA + 0x10);
	one[19] = 0xe9;
	put32(one + 20, at + 0x80 - (ENTRYEMU_USER_CODE + 24));
	/* movl $data+0x10,%eax ; jmp at+0x80 */
	uint8_t two[10] = { 0xb8 };
	put32(two + 1, ENTRYEMU_USER_DATA + 0x10);
	two[5] = 0xe9;
	put32(two + 6, at + 0x80 - (ENTRYEMU_USER_CODE + 10));
	struct entryemu_setup s = { .flags = ENTRYEMU_RUN_CHECK_RESET, .insn_budget = 3000 };
	entryemu_result *r = new_result(), *want = new_result();
	run_code(m, &s, one, sizeof(one), r);
	run_code(m, &s, two, sizeof(two), r);
	entryemu *fresh = open_image(ENTRYEMU_POST_PATCH);
	run_code(fresh, &s, two, sizeof(two), want);
	entryemu_close(fresh);
	assert_int_equal(entryemu_result_outcome(r), entryemu_result_outcome(want));
	assert_int_equal(entryemu_result_insns(r), entryemu_result_insns(want));
	assert_int_equal(final_regs(r)->eax, final_regs(want)->eax);
}

/*
 * The same block, other instructions: run 1 stores "nop; nop; nop; ret"
 * (90 90 90 c3) at `at' in user data and calls it; run 2 stores "xchg
 * %ax,%ax; nop; ret" (66 90 90 c3) there, four bytes as well, one
 * instruction fewer, and calls it.  Run 2's instruction count must be
 * the one it has on a fresh machine: the reset forgets the counts of
 * the code it puts back, not only its translations.
 */
static void test_written_code_counts_forgotten(void **state)
{
	entryemu *m = *state;
	const uint32_t at = ENTRYEMU_USER_DATA + 0x2000;
	const uint32_t words[2] = { 0xc3909090, 0xc3909066 };
	entryemu_result *r = new_result(), *want = new_result();
	for (int i = 0; i < 2; i++) {
		/* movl $word,at ; call at */
		uint8_t code[15] = { 0xc7, 0x05 };
		put32(code + 2, at);
		put32(code + 6, words[i]);
		code[10] = 0xe8;
		put32(code + 11, at - (ENTRYEMU_USER_CODE + 15));
		run_checked(m, code, sizeof(code), r);
		if (i == 1) {
			entryemu *fresh = open_image(ENTRYEMU_POST_PATCH);
			run_checked(fresh, code, sizeof(code), want);
			entryemu_close(fresh);
		}
	}
	assert_int_equal(entryemu_result_insns(r), entryemu_result_insns(want));
}

/* A GDT edit of one run is gone in the next (edits are per run). */
/*
 * A jump to the stack top, where nothing is mapped, is #PF (error code
 * 4, CR2 = the address; SDM vol. 3A 4.7) whatever ran before it on the
 * machine; before it here, code at the stack page's end whose PUSHA
 * overwrites it and then runs off the page (which left the engine a
 * block at the stack top that only stops).
 */
static void test_fetch_fault_alike_after_one_that_split(void **state)
{
	entryemu *m = *state;
	/* movl $0xbfff0000,%eax ; jmp *%eax */
	static const uint8_t jump[] = { 0xb8, 0x00, 0x00, 0xff, 0xbf, 0xff, 0xe0 };
	/* movl $0xbffefffc,%eax ; movl $0x60909090,(%eax) ; jmp *%eax */
	static const uint8_t split[] = { 0xb8, 0xfc, 0xff, 0xfe, 0xbf, 0xc7, 0x00,
					 0x90, 0x90, 0x90, 0x60, 0xff, 0xe0 };
	for (int i = 0; i < 3; i++) {
		struct entryemu_setup s = { 0 };
		entryemu_result *r = new_result();
		if (i == 1)
			run_code(m, &s, split, sizeof(split), r);
		else
			run_code(m, &s, jump, sizeof(jump), r);
		assert_outcome(r, ENTRYEMU_KILLED);
		const struct entryemu_event_record *e = must_event(r, 0);
		assert_int_equal(e->vector, 14);
		assert_int_equal(e->error_code, 4);
		assert_int_equal(e->eip, 0xbfff0000);
		assert_int_equal(entryemu_result_siginfo(r)->addr, 0xbfff0000);
	}
}

static void test_gdt_edit_undone(void **state)
{
	entryemu *m = *state;
	entryemu_result *r = new_result();
	uint32_t lo0, hi0, lo, hi;
	assert_int_equal(entryemu_gdt_get(m, 6, &lo0, &hi0), 0);
	struct entryemu_desc_edit tls = GDT_EDIT(6, 0x0000ffff, 0x00cff300);
	static const uint8_t nop[] = { 0x90 };
	struct entryemu_setup s = { .flags = ENTRYEMU_RUN_CHECK_RESET, .edits = &tls,
				    .nedits = 1 };
	run_code(m, &s, nop, sizeof(nop), r);
	assert_int_equal(entryemu_gdt_get(m, 6, &lo, &hi), 0);
	assert_int_equal(hi, 0x00cff300);
	run_checked(m, nop, sizeof(nop), r);
	assert_int_equal(entryemu_gdt_get(m, 6, &lo, &hi), 0);
	assert_int_equal(lo, lo0);
	assert_int_equal(hi, hi0);
}

/*
 * What a run leaves installed must not change the next run's result.
 * Run 1 sets CR0.TS, which needs the per-instruction hook; it stays,
 * idle, for the runs after, and an idle hook stops a long run after
 * 2,048 calls to be removed, the run going on from where it stopped.
 * Run 2 loops 3,000 times in a 16-bit code segment whose base is the
 * user code's (GDT entry 6: base 0x08048000, 4 GiB limit, D = 0): it
 * went on from an EIP holding the base (Unicorn's EIP inside a code
 * hook is linear), fetched from base + base, and took a #PF there.  It
 * must end as it does on a fresh machine: done, CX counted down to 0.
 */
static void test_idle_hook_stop_in_16bit_code(void **state)
{
	entryemu *m = *state;
	entryemu_result *r = new_result(), *want = new_result();
	static const uint8_t nop[] = { 0x90 };
	static const uint8_t loop16[] = {
		0xea, 0x07, 0x00, 0x00, 0x00, 0x33, 0x00,	/* ljmp $0x33,$7 */
		0xb9, 0xb8, 0x0b,				/* movw $3000,%cx */
		0xe2, 0xfe,					/* loop . */
		0x66, 0xea, 0x00, 0x70, 0x04, 0x08, 0x73, 0x00,	/* ljmpl $0x73,$exit */
	};
	struct entryemu_setup ts = { .cr0_set = 0x8 };
	run_code(m, &ts, nop, sizeof(nop), r);
	assert_outcome(r, ENTRYEMU_DONE);
	struct entryemu_desc_edit code16 = GDT_EDIT(6, 0x8000ffff, 0x088ffa04);
	struct entryemu_setup s = { .edits = &code16, .nedits = 1 };
	run_code(m, &s, loop16, sizeof(loop16), r);
	entryemu *fresh = open_image(ENTRYEMU_POST_PATCH);
	run_code(fresh, &s, loop16, sizeof(loop16), want);
	entryemu_close(fresh);
	assert_outcome(want, ENTRYEMU_DONE);
	assert_outcome(r, ENTRYEMU_DONE);
	assert_int_equal(final_regs(r)->ecx & 0xffff, 0);
	assert_int_equal(entryemu_result_insns(r), entryemu_result_insns(want));
}

/* The bundled scenario file, bound to m. */
static entryemu_binding *bundled_binding(entryemu *m, const char *file)
{
	char path[4096], err[1024];
	entryemu_scenario *sc = NULL;
	entryemu_binding *b = NULL;
	snprintf(path, sizeof(path), "%s/%s", SCENARIO_DIR, file);
	if (entryemu_scenario_load(path, &sc, err, sizeof(err)))
		fail_msg("%s", err);
	if (entryemu_scenario_bind(sc, m, &b, err, sizeof(err)))
		fail_msg("%s", err);
	entryemu_scenario_free(sc);
	return b;
}

/* Failures of the bundled scenario file's expectations, run on m. */
static int scenario_failures(entryemu *m, const char *file)
{
	char report[4096];
	entryemu_binding *b = bundled_binding(m, file);
	entryemu_result *r = new_result();
	assert_int_equal(entryemu_binding_run(b, r), 0);
	int failures = entryemu_binding_check(b, r, report, sizeof(report));
	if (failures)
		print_message("%s: %s\n", file, report);
	entryemu_binding_free(b);		/* r: support.h frees it */
	return failures;
}

/*
 * A run whose one injection is at a user instruction hooks the kernel's
 * code only once the event is held (src/cpu/inject.c); after a run that
 * injected in the kernel, the hook covers it from the start.  Either
 * way the scenarios' expectations (from the SDM: their comments) hold:
 * an IRQ held by IF = 0 in ring 3 is taken in the kernel after its sti,
 * and one at the instruction after an sti that a #DB trap followed is
 * taken there.
 */
static void test_user_injection_alike_after_kernel_injection(void **state)
{
	(void)state;
	static const char *const files[] = {
		"irq-user-masked-taken-in-kernel.yaml",
		"irq-user-after-step-trap-over-sti.yaml",
	};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		entryemu *fresh = open_image(ENTRYEMU_POST_PATCH);
		assert_int_equal(scenario_failures(fresh, files[i]), 0);
		assert_int_equal(scenario_failures(fresh, "irq-kernel.yaml"), 0);
		assert_int_equal(scenario_failures(fresh, files[i]), 0);
		entryemu_close(fresh);
	}
}

/* Run the bundled scenario file on m into r; the run itself must work. */
static void scenario_run(entryemu *m, const char *file, entryemu_result *r)
{
	entryemu_binding *b = bundled_binding(m, file);
	assert_int_equal(entryemu_binding_run(b, r), 0);
	entryemu_binding_free(b);
}

/* The two results record the same run, field by field. */
static void assert_same_run(const char *file, const entryemu_result *a, const entryemu_result *b)
{
	print_message("%s\n", file);
	assert_int_equal(entryemu_result_outcome(a), entryemu_result_outcome(b));
	assert_int_equal(entryemu_result_insns(a), entryemu_result_insns(b));
	assert_memory_equal(final_regs(a), final_regs(b), sizeof(struct entryemu_regs));
	assert_int_equal(entryemu_result_nevents(a), entryemu_result_nevents(b));
	for (size_t i = 0; i < entryemu_result_nevents(a); i++) {
		const struct entryemu_event_record *x = entryemu_result_event(a, i),
						   *y = entryemu_result_event(b, i);
		assert_int_equal(x->vector, y->vector);
		assert_int_equal(x->error_code, y->error_code);
		assert_int_equal(x->eip, y->eip);
		assert_int_equal(x->handler, y->handler);
		assert_int_equal(x->frame, y->frame);
	}
	assert_int_equal(entryemu_result_ncallouts(a), entryemu_result_ncallouts(b));
	for (size_t i = 0; i < entryemu_result_ncallouts(a); i++) {
		const struct entryemu_callout_record *x = entryemu_result_callout(a, i),
						     *y = entryemu_result_callout(b, i);
		assert_string_equal(x->name, y->name);
		assert_int_equal(x->return_addr, y->return_addr);
		assert_int_equal(x->pt_regs_addr, y->pt_regs_addr);
		assert_memory_equal(&x->regs, &y->regs, sizeof(x->regs));
	}
	assert_int_equal(entryemu_result_nfixups(a), entryemu_result_nfixups(b));
	assert_int_equal(entryemu_result_nfindings(a), entryemu_result_nfindings(b));
}

/*
 * A run that needs its user instructions looked at, and the kernel's
 * not (its code holds a 0x64 byte, which turns on the null-selector
 * watch; no injection, CR0.TS and EM clear), finds the injection hook
 * over the kernel's code too after a run that injected there.  The
 * hook stops such a run after 2,048 calls at kernel instructions,
 * narrows itself to the user's pages and lets the run go on from the
 * instruction it stopped at.  Forty getpid round trips (about 2,800
 * kernel instructions) go past that point; the run must be the run a
 * fresh machine makes: every return, callout and register alike.
 */
static void test_user_only_run_alike_after_kernel_injection(void **state)
{
	(void)state;
	static const uint8_t loop[] = {
		0xbe, 0x28, 0x00, 0x00, 0x00,	/* movl $40,%esi */
		0xbb, 0x64, 0x00, 0x00, 0x00,	/* movl $0x64,%ebx: the watch's byte */
		0xb8, 0x14, 0x00, 0x00, 0x00,	/* 1: movl $20,%eax (getpid) */
		0xcd, 0x80,			/* int $0x80 */
		0x4e,				/* decl %esi */
		0x75, 0xf6,			/* jnz 1b */
	};
	struct entryemu_setup s = { 0 };
	entryemu *m = open_image(ENTRYEMU_POST_PATCH), *fresh = open_image(ENTRYEMU_POST_PATCH);
	entryemu_result *r = new_result(), *want = new_result();
	assert_int_equal(scenario_failures(m, "irq-kernel.yaml"), 0);
	run_code(m, &s, loop, sizeof(loop), r);
	run_code(fresh, &s, loop, sizeof(loop), want);
	assert_outcome(want, ENTRYEMU_DONE);
	assert_int_equal(entryemu_result_nreturns(want), 40);
	assert_int_equal(final_regs(want)->esi, 0);
	assert_same_run("40 getpid calls after irq-kernel.yaml", r, want);
	assert_int_equal(entryemu_result_nreturns(r), 40);
	entryemu_close(fresh);
	entryemu_close(m);
}

/*
 * entryemu_reopen() hands the engine to a machine on another image with
 * nothing of the old one left: no hook, no mapping, no translated code.
 * The pre-patch image's entry code sits at the same addresses as the
 * post-patch one's with other instructions there (pt_regs has no xgs
 * slot), so code translated for the old image and kept would run in
 * place of the new one's.  Each run on the reopened machine must be the
 * run a fresh machine on that image makes, after the old machine ran
 * scenarios that hook every kernel instruction (injections), fault
 * through fixups and run vm86 and self-modifying code.
 */
static void test_reopened_machine_runs_as_a_fresh_one(void **state)
{
	(void)state;
	static const char *const before[] = {
		"syscall-int80-getpid.yaml", "irq-kernel.yaml", "seg-gs-tls-invalidated.yaml",
		"vm86-irq-signal.yaml", "fidelity-smc-counted-once.yaml",
		"syscall-sysenter-getpid.yaml",
	};
	static const char *const after[] = {
		"syscall-int80-getpid.yaml", "syscall-sysenter-getpid.yaml", "irq-kernel.yaml",
		"seg-gs-tls-invalidated-pre.yaml",
	};
	char pre[4096], err[1024];
	assert_non_null(entryemu_image_path(ENTRYEMU_PRE_PATCH, pre, sizeof(pre)));
	for (size_t k = 0; k < sizeof(after) / sizeof(after[0]); k++) {
		entryemu *m = open_image(ENTRYEMU_POST_PATCH);
		for (size_t i = 0; i < sizeof(before) / sizeof(before[0]); i++)
			scenario_run(m, before[i], new_result());
		assert_int_equal(entryemu_reopen(&m, pre, err, sizeof(err)), 0);
		assert_non_null(m);
		assert_string_equal(entryemu_image_file(m), pre);
		entryemu *fresh = open_image(ENTRYEMU_PRE_PATCH);
		entryemu_result *want = new_result(), *got = new_result();
		scenario_run(fresh, after[k], want);
		scenario_run(m, after[k], got);
		assert_same_run(after[k], want, got);
		entryemu_close(fresh);
		entryemu_close(m);
	}
}

/* %xmm0's low doubleword as the user finds it (movd %xmm0, %eax). */
static uint32_t user_xmm0(entryemu *m)
{
	static const uint8_t rd[] = { 0x66, 0x0f, 0x7e, 0xc0 };
	entryemu_result *r = new_result();
	struct entryemu_setup s = { 0 };
	run_code(m, &s, rd, sizeof(rd), r);
	assert_outcome(r, ENTRYEMU_DONE);
	return final_regs(r)->eax;
}

/*
 * The CPU state the old machine's last run left goes with it.  A
 * machine's boot sets what the kernel's boot would (control registers,
 * descriptor tables, the x87 control and tag words) but not the SSE
 * registers, so a run that loads %xmm0 just before the reopen would
 * otherwise hand it to the new machine's boot, and from there to every
 * run.  A fresh machine's user code finds %xmm0 as RESET leaves it, 0
 * (SDM vol. 3 9.1.1, table 9-1).
 */
static void test_reopen_forgets_the_last_run_cpu_state(void **state)
{
	(void)state;
	char pre[4096], err[1024];
	/* movl $0x12345678, %eax; movd %eax, %xmm0 */
	static const uint8_t ld[] = { 0xb8, 0x78, 0x56, 0x34, 0x12, 0x66, 0x0f, 0x6e, 0xc0 };
	assert_non_null(entryemu_image_path(ENTRYEMU_PRE_PATCH, pre, sizeof(pre)));
	entryemu *m = open_image(ENTRYEMU_POST_PATCH);
	assert_int_equal(user_xmm0(m), 0);
	entryemu_result *r = new_result();
	struct entryemu_setup s = { 0 };
	run_code(m, &s, ld, sizeof(ld), r);
	assert_outcome(r, ENTRYEMU_DONE);
	assert_int_equal(entryemu_reopen(&m, pre, err, sizeof(err)), 0);
	assert_int_equal(user_xmm0(m), 0);
	entryemu_close(m);
}

/* A reopen that fails closes the old machine and leaves NULL. */
static void test_reopen_of_a_missing_image(void **state)
{
	(void)state;
	char err[1024] = "";
	entryemu *m = open_image(ENTRYEMU_POST_PATCH);
	assert_int_equal(entryemu_reopen(&m, "/nonexistent/entry.elf", err, sizeof(err)),
			 ENTRYEMU_E_IMAGE);
	assert_null(m);
	assert_non_null(strstr(err, "/nonexistent/entry.elf"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_user_data_write_undone),
		cmocka_unit_test(test_user_stack_push_undone),
		cmocka_unit_test(test_exit_page_write_undone),
		cmocka_unit_test(test_lock_at_the_stack_top_leaves_memory_alone),
		cmocka_unit_test(test_written_code_not_rerun),
		cmocka_unit_test(test_same_code_after_it_wrote_itself),
		cmocka_unit_test(test_written_data_code_not_rerun),
		cmocka_unit_test(test_zero_code_written_rerun_alike),
		cmocka_unit_test(test_written_code_far_apart),
		cmocka_unit_test(test_written_code_counts_forgotten),
		cmocka_unit_test(test_fetch_fault_alike_after_one_that_split),
		cmocka_unit_test(test_gdt_edit_undone),
		cmocka_unit_test(test_idle_hook_stop_in_16bit_code),
		cmocka_unit_test(test_user_injection_alike_after_kernel_injection),
		cmocka_unit_test(test_user_only_run_alike_after_kernel_injection),
		cmocka_unit_test(test_reopened_machine_runs_as_a_fresh_one),
		cmocka_unit_test(test_reopen_forgets_the_last_run_cpu_state),
		cmocka_unit_test(test_reopen_of_a_missing_image),
	};
	return cmocka_run_group_tests(tests, setup_post_image, close_image);
}
