/*
 * Shared helpers of the CMocka suites: open a bundled image, and run a
 * few bytes of user code.  User code is written as machine code with its
 * assembly beside it, so each test shows exactly what the CPU executes.
 *
 * Results are read through the library's accessors only; the must_*
 * helpers below fail the test (instead of crashing on NULL) when a
 * record a test expects is not there.
 */
#ifndef ENTRYEMU_TEST_SUPPORT_H
#define ENTRYEMU_TEST_SUPPORT_H

#include <entryemu/entryemu.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

/* Kernel ABI numbers the tests take from the kernel, not from the library. */
#define NR_GETPID		20
#define NR_SET_THREAD_AREA	243
#define ENOSYS			38
#define SIGSEGV			11
#define THREAD_SIZE		8192
#define TLS_SEL(entry)		((entry) * 8 + 3)	/* GDT, RPL 3 */

/* A GDT entry written before the run (its reserved words zero). */
#define GDT_EDIT(idx, lo_, hi_)                                                       \
	((struct entryemu_desc_edit){ .table = ENTRYEMU_GDT, .index = (idx), .lo = (lo_), \
				      .hi = (hi_) })

/* Open the machine on the ELF at path; fails the test if it cannot. */
static inline entryemu *open_path(const char *path)
{
	entryemu *m = NULL;
	char err[512] = "";
	int rc = entryemu_open(&m, path, err, sizeof(err));
	if (rc || !m)
		fail_msg("entryemu_open(%s): %s: %s", path, entryemu_strerror(rc), err);
	return m;
}

static inline entryemu *open_image(enum entryemu_variant v)
{
	char path[4096];
	if (!entryemu_image_path(v, path, sizeof(path)))
		fail_msg("entryemu_image_path(%d): no room", (int)v);
	return open_path(path);
}

/* Group fixtures: one machine on the post-patch image for a whole suite. */
static inline int setup_post_image(void **state)
{
	*state = open_image(ENTRYEMU_POST_PATCH);
	return 0;
}

static inline int close_image(void **state)
{
	entryemu_close(*state);
	return 0;
}

/*
 * A result for a test.  Every result made here is freed when the suite
 * exits, so a test that fails half-way (CMocka leaves it by longjmp)
 * leaks nothing.  Not for threads: they make and free their own.
 */
static entryemu_result **support_results;
static size_t support_nresults;

static void support_free_results(void)
{
	for (size_t i = 0; i < support_nresults; i++)
		entryemu_result_free(support_results[i]);
	free(support_results);
	support_results = NULL;
	support_nresults = 0;
}

static inline entryemu_result *new_result(void)
{
	if (!support_results && atexit(support_free_results))
		fail_msg("atexit");
	entryemu_result **p = realloc(support_results,
				      (support_nresults + 1) * sizeof(*support_results));
	if (!p)
		fail_msg("out of memory");
	support_results = p;
	entryemu_result *r = NULL;
	int rc = entryemu_result_new(&r);
	if (rc || !r)
		fail_msg("entryemu_result_new: %s", entryemu_strerror(rc));
	support_results[support_nresults++] = r;
	return r;
}

/* Run code with setup s (code fields filled in here); asserts the run happened. */
static inline void run_code(entryemu *m, struct entryemu_setup *s, const uint8_t *code,
			    size_t len, entryemu_result *r)
{
	s->code = code;
	s->code_len = len;
	int rc = entryemu_run(m, s, r);
	if (rc)
		fail_msg("entryemu_run: %s: %s", entryemu_strerror(rc), entryemu_last_error(m));
}

static inline void assert_outcome(const entryemu_result *r, enum entryemu_outcome o)
{
	if (entryemu_result_outcome(r) != o)
		fail_msg("outcome %s (%s), expected %s",
			 entryemu_outcome_name(entryemu_result_outcome(r)),
			 entryemu_result_message(r), entryemu_outcome_name(o));
}

/* The CPU state when the run ended. */
static inline const struct entryemu_regs *final_regs(const entryemu_result *r)
{
	const struct entryemu_regs *f = entryemu_result_final(r);
	if (!f)
		fail_msg("no final state");
	return f;
}

/* The n-th call (from 1) of name. */
static inline const struct entryemu_callout_record *
nth_call(const entryemu_result *r, const char *name, unsigned n)
{
	const struct entryemu_callout_record *c = entryemu_result_find_callout(r, name, n);
	if (!c)
		fail_msg("%s was not called %u time(s)", name, n);
	return c;
}

/* The first call of name. */
static inline const struct entryemu_callout_record *
must_call(const entryemu_result *r, const char *name)
{
	const struct entryemu_callout_record *c = entryemu_result_find_callout(r, name, 1);
	if (!c)
		fail_msg("%s was not called", name);
	return c;
}

/* Record i (from 0) of each kind; the test fails if there is none. */
static inline const struct entryemu_callout_record *must_callout(const entryemu_result *r,
								 size_t i)
{
	const struct entryemu_callout_record *c = entryemu_result_callout(r, i);
	if (!c)
		fail_msg("no callout %zu (%zu recorded)", i, entryemu_result_ncallouts(r));
	return c;
}

static inline const struct entryemu_event_record *must_event(const entryemu_result *r,
							     size_t i)
{
	const struct entryemu_event_record *e = entryemu_result_event(r, i);
	if (!e)
		fail_msg("no event %zu (%zu recorded)", i, entryemu_result_nevents(r));
	return e;
}

static inline const struct entryemu_fixup_record *must_fixup(const entryemu_result *r,
							     size_t i)
{
	const struct entryemu_fixup_record *f = entryemu_result_fixup(r, i);
	if (!f)
		fail_msg("no fixup %zu (%zu recorded)", i, entryemu_result_nfixups(r));
	return f;
}

static inline const struct entryemu_regs *must_return(const entryemu_result *r, size_t i)
{
	const struct entryemu_regs *g = entryemu_result_return(r, i);
	if (!g)
		fail_msg("no return %zu (%zu recorded)", i, entryemu_result_nreturns(r));
	return g;
}

static inline const struct entryemu_finding *must_finding(const entryemu_result *r, size_t i)
{
	const struct entryemu_finding *f = entryemu_result_finding(r, i);
	if (!f)
		fail_msg("no finding %zu (%zu recorded)", i, entryemu_result_nfindings(r));
	return f;
}

/* Length of the run's trace (0 without ENTRYEMU_RUN_TRACE). */
static inline size_t trace_len(const entryemu_result *r)
{
	size_t n = 0;
	(void)entryemu_result_trace(r, &n);
	return n;
}

#ifdef ENTRYEMU_SCENARIO_H
/* For suites that link the scenario library (include <entryemu/scenario.h>
 * before this file): the installed CMocka helpers, expect_clean() and the
 * rest, as other projects' suites use them. */
#include <entryemu/cmocka.h>
#endif

#endif
