/*
 * The result object and the API around it: a run keeps every record
 * however long it is (no fixed limits), a caller's callout runs exactly
 * as often as the CPU reaches it (even when the run oopses and the
 * report shows the last instructions), bad arguments are refused rather
 * than crashing, and handles on different threads do not disturb each
 * other.  Expected values come from the user code itself (the loop
 * counter, the pid the setup gives) and from the header's contract.
 */
#include "support.h"

#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#define LOOPS 1000
#define PID 4242

/*
 *	xorl %esi,%esi			31 f6
 * loop:
 *	incl %esi			46
 *	movl $20,%eax			b8 14 00 00 00
 *	int $0x80			cd 80
 *	cmpl $1000,%esi			81 fe e8 03 00 00
 *	jne loop			75 f0	(18 - 16 = 2)
 *
 * The k-th getpid (k = 1..1000) is made with %esi = k.
 */
static const uint8_t getpid_loop[] = {
	0x31, 0xf6,
	0x46,
	0xb8, NR_GETPID, 0x00, 0x00, 0x00,
	0xcd, 0x80,
	0x81, 0xfe, LOOPS & 0xff, LOOPS >> 8, 0x00, 0x00,
	0x75, 0xf0,
};

/* movl $20,%eax ; int $0x80 */
static const uint8_t getpid_code[] = { 0xb8, NR_GETPID, 0, 0, 0, 0xcd, 0x80 };

/*
 * entryemu_call_occurrence() counts a function's calls from each run's
 * start: in getpid_loop the k-th getpid is made with %esi = k, on the
 * first run and on the next.
 */
struct occurrences {
	unsigned calls, wrong;
};

static void check_occurrence(entryemu_call *c, void *opaque)
{
	struct occurrences *o = opaque;
	o->calls++;
	o->wrong += entryemu_call_occurrence(c) != entryemu_call_reg(c, ENTRYEMU_REG_ESI);
	entryemu_call_default(c);
}

static void test_call_occurrence_counts_from_each_run_start(void **state)
{
	(void)state;
	entryemu *m = open_image(ENTRYEMU_POST_PATCH);
	entryemu_result *r = new_result();
	struct occurrences o = { 0, 0 };
	assert_int_equal(entryemu_set_syscall(m, NR_GETPID, check_occurrence, &o), 0);
	for (int run = 0; run < 2; run++) {
		struct entryemu_setup s = { 0 };
		run_code(m, &s, getpid_loop, sizeof(getpid_loop), r);
		assert_outcome(r, ENTRYEMU_DONE);
	}
	assert_int_equal(o.calls, 2 * LOOPS);
	assert_int_equal(o.wrong, 0);
	entryemu_close(m);
}

/*
 * A result's records stay valid until its next run or its free, the
 * handle that made them closed or not (entryemu.h): a callout's name
 * too, which the handle's image had given.
 */
static void test_records_outlive_the_handle(void **state)
{
	(void)state;
	entryemu_result *r = new_result();
	for (int i = 0; i < 2; i++) {
		entryemu *m = open_image(i ? ENTRYEMU_PRE_PATCH : ENTRYEMU_POST_PATCH);
		struct entryemu_setup s = { 0 };
		run_code(m, &s, getpid_code, sizeof(getpid_code), r);
		entryemu_close(m);
		/* the handle's memory reused, as a test suite's next one would */
		entryemu *other = open_image(ENTRYEMU_PRE_PATCH);
		assert_non_null(entryemu_result_find_callout(r, "sys_getpid", 1));
		int getpids = 0;
		for (size_t k = 0; k < entryemu_result_ncallouts(r); k++)
			getpids += !strcmp(entryemu_result_callout(r, k)->name, "sys_getpid");
		assert_int_equal(getpids, 1);
		entryemu_close(other);
	}
}

/* a. 1,000 system calls: far more records than the old fixed arrays held */
static void test_records_beyond_the_old_limits(void **state)
{
	entryemu *m = *state;
	entryemu_result *r = new_result();
	struct entryemu_setup s = { 0 };
	s.pid = PID;
	s.insn_budget = 10000000;
	run_code(m, &s, getpid_loop, sizeof(getpid_loop), r);
	assert_outcome(r, ENTRYEMU_DONE);
	assert_int_equal(entryemu_result_nfindings(r), 0);
	assert_true(entryemu_result_ncallouts(r) >= LOOPS);
	static const unsigned ks[] = { 1, 65, 500, 1000 };
	for (size_t i = 0; i < sizeof(ks) / sizeof(ks[0]); i++) {
		const struct entryemu_callout_record *c = nth_call(r, "sys_getpid", ks[i]);
		assert_int_not_equal(c->pt_regs_addr, 0);
		assert_int_equal(c->regs.esi, ks[i]);
		assert_int_equal(c->regs.orig_eax, NR_GETPID);
	}
	assert_null(entryemu_result_find_callout(r, "sys_getpid", LOOPS + 1));
	/* every int $0x80 was delivered, every one came back */
	assert_true(entryemu_result_nevents(r) >= LOOPS);
	assert_int_equal(must_event(r, LOOPS - 1)->vector, 0x80);
	assert_int_equal(entryemu_result_nreturns(r), LOOPS);
	assert_int_equal(must_return(r, LOOPS - 1)->eax, PID);
	assert_int_equal(must_return(r, LOOPS - 1)->esi, LOOPS);
	assert_null(entryemu_result_return(r, LOOPS));
	assert_int_equal(final_regs(r)->esi, LOOPS);
}

/* b. a caller's callout on a run that oopses runs once, not once per re-run */
static void count_then_default(entryemu_call *c, void *opaque)
{
	++*(int *)opaque;
	entryemu_call_default(c);
}

static void count_then_oops(entryemu_call *c, void *opaque)
{
	++*(int *)opaque;
	entryemu_call_oops(c, "the test's callout says so");
}

/* The oops report ends in "last N instructions:" and disassembled lines. */
static void assert_oops_shows_instructions(const entryemu_result *r)
{
	assert_outcome(r, ENTRYEMU_OOPS);
	const char *msg = entryemu_result_message(r);
	assert_non_null(strstr(msg, "last "));
	const char *ins = strstr(msg, "instructions:\n");
	if (!ins)
		fail_msg("no instructions in the oops report:\n%s", msg);
	/* "  c0100123 <symbol+0x4>: 8b 44 24 04   mov eax, ..." */
	unsigned addr = 0;
	char sym[128];
	if (sscanf(ins + strlen("instructions:\n"), "  %8x <%127[^>]>: ", &addr, sym) != 2)
		fail_msg("no disassembled line after 'instructions:' in:\n%s", msg);
}

static void test_oops_runs_callouts_once(void **state)
{
	entryemu *m = *state;
	entryemu_result *r = new_result();
	/* #GP injected at syscall_call: kernel mode, no __ex_table entry there */
	struct entryemu_inject gp = {
		.kind = ENTRYEMU_INJECT_EXCEPTION,
		.vector = 13,
		.error_code = 0x1230,
		.at = entryemu_symbol(m, "syscall_call"),
	};
	assert_int_not_equal(gp.at, 0);
	struct entryemu_setup s = { 0 };
	s.injects = &gp;
	s.ninjects = 1;
	int calls = 0;
	assert_int_equal(entryemu_set_callout(m, "do_general_protection", count_then_default,
					      &calls), 0);
	s.code = getpid_code;
	s.code_len = sizeof(getpid_code);
	int rc = entryemu_run(m, &s, r);
	entryemu_reset_callouts(m);
	assert_int_equal(rc, 0);
	assert_int_equal(calls, 1);
	assert_oops_shows_instructions(r);
	assert_non_null(strstr(entryemu_result_message(r), "syscall_call"));
	assert_non_null(must_call(r, "do_general_protection"));
	assert_null(entryemu_result_find_callout(r, "do_general_protection", 2));

	/* the callout itself ends the run with an oops */
	calls = 0;
	assert_int_equal(entryemu_set_syscall(m, NR_GETPID, count_then_oops, &calls), 0);
	s.injects = NULL;
	s.ninjects = 0;
	rc = entryemu_run(m, &s, r);
	entryemu_reset_callouts(m);
	assert_int_equal(rc, 0);
	assert_int_equal(calls, 1);
	assert_oops_shows_instructions(r);
	assert_non_null(strstr(entryemu_result_message(r), "the test's callout says so"));
	assert_int_equal(entryemu_result_nreturns(r), 0);	/* it never got back to ring 3 */
}

/* c. API hygiene */
/*
 * A store into the block that makes it: the CPU runs each instruction
 * once and the changed bytes after the store (SDM vol. 3A 11.6
 * "Self-Modifying Code"), so the count and the trace list every
 * instruction once.  The engine stops such a block before the storing
 * instruction and runs it again as a block of its own; that instruction
 * and the rest of the first block used to be counted twice (9 for 5),
 * the store traced twice.  The code ends in the library's jmp to the exit
 * page: one instruction more than written.  In the second case the store
 * goes into an instruction that has run already (the block is stopped
 * all the same): it keeps the value it loaded.
 */
static void test_self_modifying_counted_once(void **state)
{
	entryemu *m = *state;
	const uint32_t u = ENTRYEMU_USER_CODE;
	/* movl $u+12, %eax; movl $7, (%eax); movl $0, %ebx; nop: $0 becomes $7 */
	static const uint8_t ahead[] = { 0xb8, 0x0c, 0x80, 0x04, 0x08, 0xc7, 0x00, 0x07, 0, 0, 0,
					 0xbb, 0, 0, 0, 0, 0x90 };
	const uint32_t ahead_trace[] = { u, u + 5, u + 11, u + 16, u + 17 };
	/* movl $3, %ebx; movl $u+1, %eax; movl $7, (%eax); nop: $3 was loaded */
	static const uint8_t behind[] = { 0xbb, 3, 0, 0, 0, 0xb8, 0x01, 0x80, 0x04, 0x08,
					  0xc7, 0x00, 0x07, 0, 0, 0, 0x90 };
	const uint32_t behind_trace[] = { u, u + 5, u + 10, u + 16, u + 17 };
	const struct { const uint8_t *code; size_t len; const uint32_t *trace; uint32_t ebx; } c[] = {
		{ ahead, sizeof(ahead), ahead_trace, 7 },
		{ behind, sizeof(behind), behind_trace, 3 },
	};
	entryemu_result *r = new_result();
	for (size_t i = 0; i < 2; i++) {
		struct entryemu_setup s = { .flags = ENTRYEMU_RUN_TRACE };
		run_code(m, &s, c[i].code, c[i].len, r);
		assert_outcome(r, ENTRYEMU_DONE);
		assert_int_equal(final_regs(r)->ebx, c[i].ebx);
		assert_int_equal(entryemu_result_insns(r), 5);
		size_t n = 0;
		const uint32_t *t = entryemu_result_trace(r, &n);
		assert_int_equal(n, 5);
		for (size_t k = 0; k < n; k++)
			assert_int_equal(t[k], c[i].trace[k]);
	}
}

static void test_open_missing_image(void **state)
{
	(void)state;
	char err[256];
	entryemu *dummy = (entryemu *)err;	/* not NULL: open must set it */
	entryemu *m = dummy;
	memset(err, 'x', sizeof(err));
	err[sizeof(err) - 1] = 0;
	int rc = entryemu_open(&m, "/nonexistent/entryemu/entry-post.elf", err, sizeof(err));
	assert_true(rc < 0);
	assert_null(m);
	assert_true(err[0] != 0 && err[0] != 'x');
	assert_non_null(memchr(err, 0, sizeof(err)));
	/* no room for the message, and NULL arguments */
	m = dummy;
	assert_true(entryemu_open(&m, "/nonexistent/entry-post.elf", NULL, 0) < 0);
	assert_null(m);
	m = dummy;
	assert_int_equal(entryemu_open(&m, NULL, err, sizeof(err)), ENTRYEMU_E_INVAL);
	assert_null(m);
	assert_true(err[0] != 0);
	assert_int_equal(entryemu_open(NULL, "/nonexistent/entry-post.elf", err, sizeof(err)),
			 ENTRYEMU_E_INVAL);
	entryemu_close(NULL);
}

static void ignore(entryemu_call *c, void *opaque)
{
	(void)opaque;
	entryemu_call_default(c);
}

static void test_null_arguments(void **state)
{
	entryemu *m = *state;
	entryemu_result *r = new_result();
	struct entryemu_setup s = { 0 };
	s.code = getpid_code;
	s.code_len = sizeof(getpid_code);

	/* running */
	assert_int_equal(entryemu_run(NULL, &s, r), ENTRYEMU_E_INVAL);
	assert_int_equal(entryemu_run(m, NULL, r), ENTRYEMU_E_INVAL);
	assert_int_equal(entryemu_run(m, &s, NULL), ENTRYEMU_E_INVAL);
	assert_int_equal(entryemu_result_new(NULL), ENTRYEMU_E_INVAL);
	entryemu_result_free(NULL);

	/* a NULL result reads as empty */
	assert_int_equal(entryemu_result_outcome(NULL), ENTRYEMU_ERROR);
	assert_non_null(entryemu_result_message(NULL));
	assert_int_equal(entryemu_result_signal(NULL), 0);
	assert_null(entryemu_result_final(NULL));
	assert_int_equal(entryemu_result_insns(NULL), 0);
	assert_int_equal(entryemu_result_ncallouts(NULL), 0);
	assert_null(entryemu_result_callout(NULL, 0));
	assert_null(entryemu_result_find_callout(NULL, "sys_getpid", 1));
	assert_int_equal(entryemu_result_nevents(NULL), 0);
	assert_null(entryemu_result_event(NULL, 0));
	assert_int_equal(entryemu_result_nfixups(NULL), 0);
	assert_null(entryemu_result_fixup(NULL, 0));
	assert_int_equal(entryemu_result_nreturns(NULL), 0);
	assert_null(entryemu_result_return(NULL, 0));
	assert_int_equal(entryemu_result_nfindings(NULL), 0);
	assert_null(entryemu_result_finding(NULL, 0));
	assert_null(entryemu_result_profile(NULL));
	size_t len = 99;
	assert_null(entryemu_result_trace(NULL, &len));
	assert_int_equal(len, 0);
	(void)entryemu_result_trace_hash(NULL);

	/* a fresh result, before any run: nothing in it */
	assert_int_equal(entryemu_result_ncallouts(r), 0);
	assert_null(entryemu_result_callout(r, 0));
	assert_non_null(entryemu_result_message(r));

	/* out of range on a real result */
	run_code(m, &s, getpid_code, sizeof(getpid_code), r);
	assert_outcome(r, ENTRYEMU_DONE);
	assert_null(entryemu_result_callout(r, entryemu_result_ncallouts(r)));
	assert_null(entryemu_result_callout(r, (size_t)-1));
	assert_null(entryemu_result_event(r, entryemu_result_nevents(r)));
	assert_null(entryemu_result_fixup(r, 0));
	assert_null(entryemu_result_return(r, 1));
	assert_null(entryemu_result_finding(r, 0));
	assert_null(entryemu_result_find_callout(r, NULL, 1));
	assert_null(entryemu_result_find_callout(r, "sys_getpid", 2));
	assert_null(entryemu_result_find_callout(r, "no_such_function", 1));
	assert_null(entryemu_result_trace(r, NULL));	/* untraced */

	/* callouts */
	assert_int_equal(entryemu_set_callout(NULL, "do_general_protection", ignore, NULL),
			 ENTRYEMU_E_INVAL);
	assert_int_equal(entryemu_set_callout(m, NULL, ignore, NULL), ENTRYEMU_E_INVAL);
	assert_int_equal(entryemu_set_syscall(NULL, NR_GETPID, ignore, NULL), ENTRYEMU_E_INVAL);
	entryemu_reset_callouts(NULL);
	assert_null(entryemu_call_machine(NULL));
	assert_non_null(entryemu_call_name(NULL));
	assert_int_equal(entryemu_call_occurrence(NULL), 0);
	assert_int_equal(entryemu_call_pt_regs_addr(NULL), 0);

	/* machine state */
	uint32_t w = 0, lo, hi;
	assert_int_equal(entryemu_mem_read(NULL, ENTRYEMU_USER_DATA, &w, 4), ENTRYEMU_E_INVAL);
	assert_int_equal(entryemu_mem_read(m, ENTRYEMU_USER_DATA, NULL, 4), ENTRYEMU_E_INVAL);
	assert_int_equal(entryemu_mem_read(m, 0, &w, 4), ENTRYEMU_E_INVAL);	/* unmapped */
	assert_int_equal(entryemu_mem_write(NULL, ENTRYEMU_USER_DATA, &w, 4), ENTRYEMU_E_INVAL);
	assert_int_equal(entryemu_mem_write(m, ENTRYEMU_USER_DATA, NULL, 4), ENTRYEMU_E_INVAL);
	assert_int_equal(entryemu_mem_write(m, 0, &w, 4), ENTRYEMU_E_INVAL);
	assert_int_equal(entryemu_gdt_get(NULL, 6, &lo, &hi), ENTRYEMU_E_INVAL);
	assert_int_equal(entryemu_gdt_get(m, 6, NULL, &hi), ENTRYEMU_E_INVAL);
	assert_int_equal(entryemu_gdt_get(m, ENTRYEMU_GDT_ENTRIES, &lo, &hi), ENTRYEMU_E_INVAL);
	assert_int_equal(entryemu_gdt_set(NULL, 6, 0, 0), ENTRYEMU_E_INVAL);
	assert_int_equal(entryemu_gdt_set(m, ENTRYEMU_GDT_ENTRIES, 0, 0), ENTRYEMU_E_INVAL);
	assert_int_equal(entryemu_idt_get(NULL, 0x80, &lo, &hi), ENTRYEMU_E_INVAL);
	assert_int_equal(entryemu_idt_get(m, 256, &lo, &hi), ENTRYEMU_E_INVAL);
	assert_int_equal(entryemu_idt_set(m, 256, 0, 0), ENTRYEMU_E_INVAL);
	assert_int_equal(entryemu_ti_flags(NULL), 0);
	entryemu_set_ti_flags(NULL, 0);

	/* names and paths */
	assert_non_null(entryemu_last_error(NULL));
	assert_null(entryemu_last_error_field(NULL));
	assert_false(entryemu_image_saves_gs(NULL));
	assert_non_null(entryemu_image_file(NULL));
	assert_non_null(entryemu_strerror(12345));
	assert_non_null(entryemu_outcome_name((enum entryemu_outcome)999));
	assert_non_null(entryemu_check_name((enum entryemu_check)0x1000));
	char buf[8];
	assert_null(entryemu_image_path(ENTRYEMU_POST_PATCH, NULL, 0));
	assert_null(entryemu_image_path(ENTRYEMU_POST_PATCH, buf, sizeof(buf)));	/* too short */
	char path[4096];
	assert_null(entryemu_image_path((enum entryemu_variant)7, path, sizeof(path)));
	assert_null(entryemu_image_named(NULL, path, sizeof(path)));
	assert_null(entryemu_image_dir(NULL, 0));
}

/*
 * The calls below dereferenced the handle or the name on their way to
 * an answer.  Each is made in a child process, so that a crash is this
 * test's failure and the rest of the suite still runs.
 */
static int survives(int (*fn)(entryemu *), entryemu *m)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		fail_msg("fork");
	if (pid == 0) {
		/* CMocka's handlers would turn a crash into a test failure and go
		 * on with the suite in the child: let it die instead */
		static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
		for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
			signal(sigs[i], SIG_DFL);
		_exit(fn(m) ? 0 : 1);
	}
	int st = 0;
	if (waitpid(pid, &st, 0) != pid)
		fail_msg("waitpid");
	if (WIFSIGNALED(st))
		return -WTERMSIG(st);
	return WEXITSTATUS(st) == 0;
}

static int symbol_null(entryemu *m)
{
	(void)m;
	return entryemu_symbol(NULL, "system_call") == 0;
}

static int symbol_null_name(entryemu *m)
{
	return entryemu_symbol(m, NULL) == 0;
}

static int disasm_null(entryemu *m)
{
	(void)m;
	char line[128];
	return entryemu_disasm(NULL, 0, line, sizeof(line)) == ENTRYEMU_E_INVAL;
}

static int disasm_null_buf(entryemu *m)
{
	return entryemu_disasm(m, entryemu_symbol(m, "system_call"), NULL, 64) < 0;
}

static int symbolize_null(entryemu *m)
{
	(void)m;
	char sym[64];
	return entryemu_symbolize(NULL, 0, sym, sizeof(sym)) != NULL;
}

static int coverage_null(entryemu *m)
{
	(void)m;
	entryemu_coverage_free(NULL);
	return entryemu_coverage_new(NULL) == NULL &&
	       entryemu_coverage_add(NULL, NULL) == ENTRYEMU_E_INVAL &&
	       entryemu_coverage_runs(NULL) == 0 && entryemu_coverage_nlabels(NULL) == 0 &&
	       entryemu_coverage_label(NULL, 0) == NULL &&
	       entryemu_coverage_nextable(NULL) == 0 &&
	       entryemu_coverage_extable(NULL, 0) == NULL;
}

static int call_accessors_null(entryemu *m)
{
	(void)m;
	struct entryemu_pt_regs p;
	entryemu_call_return(NULL, 0);
	entryemu_call_default(NULL);
	entryemu_call_kill(NULL, 9);
	entryemu_call_oops(NULL, "x");
	return entryemu_call_read_pt_regs(NULL, &p) == ENTRYEMU_E_INVAL &&
	       entryemu_call_write_pt_regs(NULL, &p) == ENTRYEMU_E_INVAL &&
	       entryemu_call_reg(NULL, ENTRYEMU_REG_EAX) == 0 &&
	       entryemu_call_stack_arg(NULL, 0) == 0 &&
	       entryemu_call_fixup_exception(NULL, 0, 13, 0) <= 0;
}

static void test_null_arguments_elsewhere(void **state)
{
	entryemu *m = *state;
	static const struct {
		const char *what;
		int (*fn)(entryemu *);
	} calls[] = {
		{ "entryemu_symbol(NULL, name)", symbol_null },
		{ "entryemu_symbol(m, NULL)", symbol_null_name },
		{ "entryemu_disasm(NULL, ...)", disasm_null },
		{ "entryemu_disasm(m, addr, NULL, 64)", disasm_null_buf },
		{ "entryemu_symbolize(NULL, ...)", symbolize_null },
		{ "entryemu_coverage_*(NULL, ...)", coverage_null },
		{ "entryemu_call_*(NULL, ...)", call_accessors_null },
	};
	int bad = 0;
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		int ok = survives(calls[i].fn, m);
		if (ok == 1)
			continue;
		bad++;
		if (ok < 0)
			print_error("%s: killed by signal %d\n", calls[i].what, -ok);
		else
			print_error("%s: wrong answer\n", calls[i].what);
	}
	assert_int_equal(bad, 0);
}

static void test_version(void **state)
{
	(void)state;
	assert_int_equal(entryemu_version(), (ENTRYEMU_VERSION_MAJOR << 16) |
					     (ENTRYEMU_VERSION_MINOR << 8) |
					     ENTRYEMU_VERSION_PATCH);
	char v[32];
	snprintf(v, sizeof(v), "%d.%d.%d", ENTRYEMU_VERSION_MAJOR, ENTRYEMU_VERSION_MINOR,
		 ENTRYEMU_VERSION_PATCH);
	assert_string_equal(entryemu_version_string(), v);
}

static void test_reserved_words_must_be_zero(void **state)
{
	entryemu *m = *state;
	entryemu_result *r = new_result();
	struct entryemu_setup s = { 0 };
	s.code = getpid_code;
	s.code_len = sizeof(getpid_code);
	for (size_t i = 0; i < sizeof(s.reserved) / sizeof(s.reserved[0]); i++) {
		s.reserved[i] = 1;
		assert_int_equal(entryemu_run(m, &s, r), ENTRYEMU_E_INVAL);
		s.reserved[i] = 0;
	}
	run_code(m, &s, getpid_code, sizeof(getpid_code), r);
	assert_outcome(r, ENTRYEMU_DONE);
}

/* the header: structures a caller fills in end in reserved words that must be zero */
static void test_reserved_words_of_edits_and_injections(void **state)
{
	entryemu *m = *state;
	entryemu_result *r = new_result();
	struct entryemu_desc_edit tls = GDT_EDIT(6, 0x0000ffff, 0x00cff300);
	tls.reserved[1] = 1;
	struct entryemu_inject nmi = { .kind = ENTRYEMU_INJECT_NMI, .vector = 2,
				       .at = ENTRYEMU_USER_CODE, .reserved = { 1, 0 } };
	struct entryemu_setup s = { 0 };
	s.code = getpid_code;
	s.code_len = sizeof(getpid_code);
	s.edits = &tls;
	s.nedits = 1;
	assert_int_equal(entryemu_run(m, &s, r), ENTRYEMU_E_INVAL);
	s.nedits = 0;
	s.injects = &nmi;
	s.ninjects = 1;
	assert_int_equal(entryemu_run(m, &s, r), ENTRYEMU_E_INVAL);
}

/* the header: a flag or checker bit this version does not name is refused */
static void test_unknown_flag_bits_are_refused(void **state)
{
	entryemu *m = *state;
	entryemu_result *r = new_result();
	struct entryemu_setup s = { 0 };
	s.code = getpid_code;
	s.code_len = sizeof(getpid_code);
	s.flags = 0x40000000;
	assert_int_equal(entryemu_run(m, &s, r), ENTRYEMU_E_INVAL);
	assert_string_equal(entryemu_last_error_field(m), "flags");
	s.flags = ENTRYEMU_RUN_NO_CLOBBER;
	s.checks_off = 0x80000000u;
	assert_int_equal(entryemu_run(m, &s, r), ENTRYEMU_E_INVAL);
	assert_string_equal(entryemu_last_error_field(m), "checks_off");
	s.checks_off = ENTRYEMU_CHECK_ALL;
	run_code(m, &s, getpid_code, sizeof(getpid_code), r);
	assert_outcome(r, ENTRYEMU_DONE);
}

static void test_refused_selector_names_its_field(void **state)
{
	entryemu *m = *state;
	entryemu_result *r = new_result();
	struct entryemu_setup s = { 0 };
	s.code = getpid_code;
	s.code_len = sizeof(getpid_code);
	assert_int_equal(entryemu_run(m, &s, r), 0);
	s.user.gs = TLS_SEL(6);		/* TLS entry 6 is empty */
	assert_int_equal(entryemu_run(m, &s, r), ENTRYEMU_E_INVAL);
	assert_non_null(entryemu_last_error_field(m));
	assert_string_equal(entryemu_last_error_field(m), "user.gs");
	assert_non_null(strstr(entryemu_last_error(m), "user.gs"));
}

/* d. threads: one handle each, and the image paths asked for meanwhile */
#define THREAD_RUNS 200

struct worker {
	const char *image;
	uint32_t pid_base;
	int done, errors;
	char first_error[256];
};

static void worker_error(struct worker *w, const char *what)
{
	if (!w->errors++)
		snprintf(w->first_error, sizeof(w->first_error), "%s", what);
}

static void *run_worker(void *arg)
{
	struct worker *w = arg;
	char err[256] = "";
	entryemu *m = NULL;
	entryemu_result *r = NULL;
	if (entryemu_open(&m, w->image, err, sizeof(err)) || !m) {
		worker_error(w, err);
		return NULL;
	}
	if (entryemu_result_new(&r)) {
		worker_error(w, "entryemu_result_new");
		entryemu_close(m);
		return NULL;
	}
	for (unsigned i = 0; i < THREAD_RUNS; i++) {
		struct entryemu_setup s = { 0 };
		s.code = getpid_code;
		s.code_len = sizeof(getpid_code);
		s.pid = w->pid_base + i;
		s.user.esi = w->pid_base ^ i;
		if (entryemu_run(m, &s, r)) {
			worker_error(w, entryemu_last_error(m));
			continue;
		}
		const struct entryemu_regs *g = entryemu_result_return(r, 0);
		const struct entryemu_callout_record *c =
			entryemu_result_find_callout(r, "sys_getpid", 1);
		if (entryemu_result_outcome(r) != ENTRYEMU_DONE)
			worker_error(w, entryemu_result_message(r));
		else if (entryemu_result_nreturns(r) != 1 || !g || g->eax != s.pid ||
			 g->esi != s.user.esi)
			worker_error(w, "wrong return");
		else if (!c || c->regs.esi != s.user.esi || entryemu_result_nfindings(r))
			worker_error(w, "wrong callout record or a finding");
		else
			w->done++;
	}
	entryemu_result_free(r);
	entryemu_close(m);
	return NULL;
}

struct pather {
	const char *expect;
	int errors;
	volatile int *stop;
};

static void *ask_paths(void *arg)
{
	struct pather *p = arg;
	for (unsigned i = 0; i < 100000; i++) {
		char buf[4096];
		if (!entryemu_image_path(ENTRYEMU_POST_PATCH, buf, sizeof(buf)) ||
		    strcmp(buf, p->expect))
			p->errors++;
		if (i >= 200 && __atomic_load_n(p->stop, __ATOMIC_ACQUIRE))
			break;
	}
	return NULL;
}

/*
 * Two threads, a handle each, and a third asking for image paths all
 * along: handles share nothing.  Checked under ThreadSanitizer with
 *   cmake -S . -B tsan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS="-fsanitize=thread -g -O1" \
 *     -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread -DCMAKE_SHARED_LINKER_FLAGS=-fsanitize=thread
 *   cmake --build tsan --target test_run_object && tsan/bin/test_run_object
 * (no warnings).
 */
static void test_threads_with_a_handle_each(void **state)
{
	(void)state;
	char image[4096];
	assert_non_null(entryemu_image_path(ENTRYEMU_POST_PATCH, image, sizeof(image)));
	struct worker w[2] = { { .image = image, .pid_base = 1000 },
			       { .image = image, .pid_base = 50000 } };
	volatile int stop = 0;
	struct pather p = { .expect = image, .stop = &stop };
	pthread_t tw[2], tp;
	assert_int_equal(pthread_create(&tp, NULL, ask_paths, &p), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&tw[i], NULL, run_worker, &w[i]), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(tw[i], NULL), 0);
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	assert_int_equal(pthread_join(tp, NULL), 0);
	for (int i = 0; i < 2; i++) {
		if (w[i].errors)
			fail_msg("thread %d: %d error(s), first: %s", i, w[i].errors,
				 w[i].first_error);
		assert_int_equal(w[i].done, THREAD_RUNS);
	}
	assert_int_equal(p.errors, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_records_beyond_the_old_limits),
		cmocka_unit_test(test_oops_runs_callouts_once),
		cmocka_unit_test(test_self_modifying_counted_once),
		cmocka_unit_test(test_open_missing_image),
		cmocka_unit_test(test_null_arguments),
		cmocka_unit_test(test_null_arguments_elsewhere),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_reserved_words_must_be_zero),
		cmocka_unit_test(test_reserved_words_of_edits_and_injections),
		cmocka_unit_test(test_unknown_flag_bits_are_refused),
		cmocka_unit_test(test_refused_selector_names_its_field),
		cmocka_unit_test(test_threads_with_a_handle_each),
		cmocka_unit_test(test_call_occurrence_counts_from_each_run_start),
		cmocka_unit_test(test_records_outlive_the_handle),
	};
	return cmocka_run_group_tests(tests, setup_post_image, close_image);
}
