/*
 * Shared helpers of the CMocka suites: open a bundled image, and run a
 * few bytes of user code.  User code is written as machine code with its
 * assembly beside it, so each test shows exactly what the CPU executes.
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

static inline entryemu *open_image(enum entryemu_variant v)
{
	entryemu *m = NULL;
	int rc = entryemu_open(&m, entryemu_image_path(v));
	if (rc)
		fail_msg("entryemu_open(%s): %s: %s", entryemu_image_path(v),
			 entryemu_strerror(rc), m ? entryemu_last_error(m) : "");
	return m;
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

/* Run code with setup s (code fields filled in here); asserts the run happened. */
static inline void run_code(entryemu *m, struct entryemu_setup *s, const uint8_t *code,
			    size_t len, struct entryemu_result *r)
{
	s->code = code;
	s->code_len = len;
	int rc = entryemu_run(m, s, r);
	if (rc)
		fail_msg("entryemu_run: %s: %s", entryemu_strerror(rc), entryemu_last_error(m));
}

static inline void assert_outcome(const struct entryemu_result *r, enum entryemu_outcome o)
{
	if (r->outcome != o)
		fail_msg("outcome %s (%s), expected %s", entryemu_outcome_name(r->outcome),
			 r->message, entryemu_outcome_name(o));
}

static inline const struct entryemu_callout_record *
must_call(const struct entryemu_result *r, const char *name)
{
	const struct entryemu_callout_record *c = entryemu_result_callout(r, name);
	if (!c)
		fail_msg("%s was not called", name);
	return c;
}

/* The n-th call (from 1) of name. */
static inline const struct entryemu_callout_record *
nth_call(const struct entryemu_result *r, const char *name, int n)
{
	for (unsigned i = 0; i < r->ncallouts; i++)
		if (!strcmp(r->callouts[i].name, name) && --n == 0)
			return &r->callouts[i];
	fail_msg("%s was not called that often", name);
	return NULL;
}

/*
 * Fail unless the run ended as expected with no checker finding; on
 * failure, write a scenario reproducing it into the working directory
 * (NAME.yaml, for entryemu replay) and say where.
 */
static inline void expect_clean(entryemu *m, const struct entryemu_setup *s,
				const struct entryemu_result *r, enum entryemu_outcome o,
				const char *name)
{
	if (r->outcome == o && !r->nfindings)
		return;
	char path[256], why[512];
	snprintf(path, sizeof(path), "%s.yaml", name);
	snprintf(why, sizeof(why), "%s: outcome %s, %u finding(s)%s%.300s", name,
		 entryemu_outcome_name(r->outcome), r->nfindings, r->nfindings ? ": " : "",
		 r->nfindings ? r->findings[0].text : "");
	if (entryemu_record(m, s, r, why, path) == 0)
		print_message("recorded the failing run: entryemu replay %s\n", path);
	fail_msg("%s", why);
}

#endif
