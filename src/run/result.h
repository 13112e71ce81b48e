/*
 * The result of a run, as the library fills it in: growable arrays of
 * every record, the message, the trace.  The public accessors are in
 * result.c too; the recorder (recorder.c) is what writes most of it.
 */
#ifndef ENTRYEMU_RUN_RESULT_H
#define ENTRYEMU_RUN_RESULT_H

#include <entryemu/entryemu.h>

struct entryemu_result {
	enum entryemu_outcome outcome;
	int signal;
	struct entryemu_siginfo siginfo;
	struct entryemu_regs final;
	uint64_t insns;
	char *message;
	size_t message_len, message_cap;
	struct entryemu_callout_record *callouts;
	size_t ncallouts, callouts_cap;
	struct entryemu_fixup_record *fixups;
	size_t nfixups, fixups_cap;
	struct entryemu_event_record *events;
	size_t nevents, events_cap;
	struct entryemu_regs *returns;
	size_t nreturns, returns_cap;
	struct entryemu_finding *findings;
	size_t nfindings, findings_cap;
	struct entryemu_profile profile;
	uint32_t *trace;
	size_t trace_len, trace_cap;
	struct entryemu_mark *marks;	/* every record above, in run order */
	size_t nmarks, marks_cap;
	size_t dropped;			/* records host memory could not hold */
	/* the callouts' names, the result's own (a handle's go with it),
	 * kept from run to run */
	char **names;
	size_t nnames, names_cap;
};

/* Empty r for a new run (its storage is kept for reuse). */
void result_clear(entryemu_result *r);
/* Append a record; the index it got, or -1 (counted as dropped). */
long result_add_callout(entryemu_result *r, const struct entryemu_callout_record *c);
/* Record i again, as the call left it (its name stays the result's). */
void result_update_callout(entryemu_result *r, size_t i,
			   const struct entryemu_callout_record *c);
void result_add_event(entryemu_result *r, const struct entryemu_event_record *e);
void result_add_fixup(entryemu_result *r, const struct entryemu_fixup_record *f);
void result_add_return(entryemu_result *r, const struct entryemu_regs *g);
void result_add_finding(entryemu_result *r, enum entryemu_check c, uint32_t eip,
			const char *text);
/* Append text to the message, as it is ... */
void result_append_text(entryemu_result *r, const char *text);
/* ... or formatted. */
void result_append(entryemu_result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Note that record `record` of kind k happened now (value: RETURNED's). */
void result_add_mark(entryemu_result *r, enum entryemu_mark_kind k, size_t record,
		     uint32_t value);
/* Append an executed instruction address to the trace. */
void result_trace_push(entryemu_result *r, uint32_t addr);

#endif
