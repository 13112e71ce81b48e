/*
 * The recorder: every event of the run, appended to the result as it
 * happens.  It is the only writer of the result's records; nothing reads
 * them back during the run.
 */
#include "run/recorder.h"

void recorder_observe(void *ctx, const struct run_event *ev)
{
	struct recorder *rc = ctx;
	entryemu_result *r = rc->res;
	switch (ev->kind) {
	case RUN_EV_DELIVERED: {
		struct entryemu_event_record e = ev->u.delivered.rec;
		/* one that faulted before the trace hook's turn is listed all the same */
		if (rc->tracing && ev->u.delivered.unlisted)
			result_trace_push(r, ev->u.delivered.unlisted);
		/* the instruction that raised it is the last one traced */
		e.trace_index = r->trace_len ? r->trace_len - 1 : 0;
		size_t n = r->nevents;
		result_add_event(r, &e);
		if (r->nevents > n)
			result_add_mark(r, ENTRYEMU_MARK_EVENT, n, 0);
		break;
	}
	case RUN_EV_CALL_BEFORE:
		rc->last_call = result_add_callout(r, ev->u.call.rec);
		if (rc->last_call >= 0)
			result_add_mark(r, ENTRYEMU_MARK_CALL, (size_t)rc->last_call, 0);
		break;
	case RUN_EV_CALL_AFTER:
		/* a caller's function: what it returned and changed */
		if (rc->last_call >= 0 && ev->u.call.rec->custom)
			result_update_callout(r, (size_t)rc->last_call, ev->u.call.rec);
		if (rc->last_call >= 0)
			result_add_mark(r, ENTRYEMU_MARK_RETURNED, (size_t)rc->last_call,
					ev->u.call.rec->ret);
		rc->last_call = -1;
		break;
	case RUN_EV_FIXUP: {
		size_t n = r->nfixups;
		result_add_fixup(r, &ev->u.fixup);
		if (r->nfixups > n)
			result_add_mark(r, ENTRYEMU_MARK_FIXUP, n, 0);
		break;
	}
	case RUN_EV_RETURN: {
		size_t n = r->nreturns;
		result_add_return(r, &ev->u.ret);
		if (r->nreturns > n)
			result_add_mark(r, ENTRYEMU_MARK_RING3, n, 0);
		break;
	}
	case RUN_EV_EXIT_INSN:
	case RUN_EV_FLAGS_LOAD:
		break;
	}
}
