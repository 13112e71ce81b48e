/*
 * entryemu/cmocka.h: assertions for CMocka suites that test entry code
 * with entryemu.  Each one that fails records the run it looked at as a
 * scenario file (entryemu_scenario_record_failure) under $TMPDIR (else
 * /tmp), in a fresh directory, prints "entryemu replay PATH", and fails
 * the test with the same message the replay gives.
 *
 *	entryemu_run(m, &s, r);
 *	expect_clean(m, &s, r, ENTRYEMU_DONE, "getpid");
 *	// the exit's pop %gs faults with the TLS selector, #GP(0x30)
 *	expect_exception_at(m, &s, r, 13, 0x30, "restore_nocheck_notrace+0x9", "gs_fixup");
 *	assert_true(test_for_exception(m, &s, r, 14));	// as kvm-unit-tests does
 *
 * Link libentryemu-scenario (entryemu::scenario, entryemu-scenario.pc)
 * and CMocka.  Everything here is static inline: nothing to link of its
 * own, and nothing it defines is exported.
 */
#ifndef ENTRYEMU_CMOCKA_H
#define ENTRYEMU_CMOCKA_H

#include <entryemu/entryemu.h>
#include <entryemu/scenario.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

/* For expect_exception_at: any error code, or none. */
#define ENTRYEMU_ANY_ERROR_CODE (-1L)

/* The mnemonic of an exception vector (SDM vol. 3, table 6-1), or "". */
static inline const char *entryemu_vector_mnemonic(int vector)
{
	static const char *const names[] = {
		"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "",
		"#TS", "#NP", "#SS", "#GP", "#PF", "", "#MF", "#AC", "#MC", "#XM",
	};
	return vector >= 0 && vector < (int)(sizeof(names) / sizeof(names[0])) ?
	       names[vector] : "";
}

/*
 * Record the run that failed (the test's name names the file), print
 * where, and fail the test with message.  Never returns.
 */
static inline void entryemu_fail_recorded(entryemu *m, const struct entryemu_setup *s,
					  const entryemu_result *r, const char *name,
					  const char *message)
{
	char dir[512], path[1024];
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/entryemu-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
	if (mkdtemp(dir)) {
		snprintf(path, sizeof(path), "%s/%s.yaml", dir, name);
		if (entryemu_scenario_record_failure(m, s, r, message, path) == 0)
			print_message("recorded the failing run: entryemu replay %s\n", path);
	}
	fail_msg("%s", message);
}

/*
 * The run ended with outcome o and no checker finding.  A finding is
 * named in the message; the recording replays as FAIL with the same
 * message (and the finding again).
 */
static inline void expect_clean(entryemu *m, const struct entryemu_setup *s,
				const entryemu_result *r, enum entryemu_outcome o,
				const char *name)
{
	size_t nfindings = entryemu_result_nfindings(r);
	if (entryemu_result_outcome(r) == o && !nfindings)
		return;
	char why[512];
	snprintf(why, sizeof(why), "%s: outcome %s, %zu finding(s)%s%.300s", name,
		 entryemu_outcome_name(entryemu_result_outcome(r)), nfindings,
		 nfindings ? ": " : "", nfindings ? entryemu_result_finding(r, 0)->text : "");
	entryemu_fail_recorded(m, s, r, name, why);
}

/*
 * Did running s on m deliver exception (or interrupt) vector?  As
 * kvm-unit-tests' test_for_exception(): run, then answer; r keeps the
 * run for further checks.  A run the library refused is a failure.
 */
static inline int test_for_exception(entryemu *m, const struct entryemu_setup *s,
				     entryemu_result *r, int vector)
{
	int rc = entryemu_run(m, s, r);
	if (rc)
		fail_msg("entryemu_run: %s: %s", entryemu_strerror(rc), entryemu_last_error(m));
	for (size_t i = 0; i < entryemu_result_nevents(r); i++)
		if (entryemu_result_event(r, i)->vector == vector)
			return 1;
	return 0;
}

/*
 * The run delivered exception vector with error_code (or
 * ENTRYEMU_ANY_ERROR_CODE) at place: the EIP the event pushed, which for
 * a fault is the instruction that raised it ("restore_nocheck_notrace+0x9",
 * a user-code label given to entryemu_set_labels, or NULL for anywhere).  Otherwise the test fails,
 * naming every event the run did deliver, and the run is recorded.
 */
static inline void expect_exception_at(entryemu *m, const struct entryemu_setup *s,
				       const entryemu_result *r, int vector, long error_code,
				       const char *place, const char *name)
{
	char sym[128], why[1024];
	for (size_t i = 0; i < entryemu_result_nevents(r); i++) {
		const struct entryemu_event_record *e = entryemu_result_event(r, i);
		/* a fault's pushed EIP is the instruction that raised it */
		if (e->vector == vector &&
		    (error_code == ENTRYEMU_ANY_ERROR_CODE ||
		     (e->has_error_code && e->error_code == (uint32_t)error_code)) &&
		    (!place || !strcmp(entryemu_symbolize(m, e->eip, sym, sizeof(sym)), place)))
			return;
	}
	int n = snprintf(why, sizeof(why), "%s: expected %s (vector %d)", name,
			 entryemu_vector_mnemonic(vector), vector);
	if (error_code != ENTRYEMU_ANY_ERROR_CODE && n > 0 && (size_t)n < sizeof(why))
		n += snprintf(why + n, sizeof(why) - (size_t)n, " error code 0x%lx", error_code);
	if (place && n > 0 && (size_t)n < sizeof(why))
		n += snprintf(why + n, sizeof(why) - (size_t)n, " at %s", place);
	if (n > 0 && (size_t)n < sizeof(why))
		n += snprintf(why + n, sizeof(why) - (size_t)n, "; the run delivered %s",
			      entryemu_result_nevents(r) ? "" : "none");
	for (size_t i = 0; i < entryemu_result_nevents(r) && n > 0 && (size_t)n < sizeof(why);
	     i++) {
		const struct entryemu_event_record *e = entryemu_result_event(r, i);
		n += snprintf(why + n, sizeof(why) - (size_t)n, "%svector %d", i ? ", " : "",
			      e->vector);
		if (e->has_error_code && n > 0 && (size_t)n < sizeof(why))
			n += snprintf(why + n, sizeof(why) - (size_t)n, " error code 0x%x",
				      e->error_code);
		if (n > 0 && (size_t)n < sizeof(why))
			n += snprintf(why + n, sizeof(why) - (size_t)n, " at %s",
				      entryemu_symbolize(m, e->eip, sym, sizeof(sym)));
	}
	entryemu_fail_recorded(m, s, r, name, why);
}

#endif
