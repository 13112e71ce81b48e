/*
 * The event stream of a run.  The layers that drive the CPU report what
 * happened (an event delivered, a kernel function called and returned,
 * an __ex_table fixup, a return to ring 3, an iret or sysexit about to
 * run); observers registered by the run (the checkers, the recorder that
 * fills the result) each see every event, in order.  Observers never
 * read the result back: what they need is in the event or their own
 * state.
 */
#ifndef ENTRYEMU_BASE_EVENTS_H
#define ENTRYEMU_BASE_EVENTS_H

#include <entryemu/entryemu.h>

enum run_event_kind {
	RUN_EV_DELIVERED,	/* an event went through the IDT, or a sysenter */
	RUN_EV_CALL_BEFORE,	/* a kernel function is about to run */
	RUN_EV_CALL_AFTER,	/* and has run (not sent if it ended the run) */
	RUN_EV_FIXUP,		/* fixup_exception() applied an __ex_table entry */
	RUN_EV_RETURN,		/* the first user instruction after a kernel exit */
	RUN_EV_EXIT_INSN,	/* an iret or sysexit of the image is next */
	RUN_EV_FLAGS_LOAD,	/* a load of thread_info->flags is next */
};

struct run_event {
	enum run_event_kind kind;
	union {
		struct {
			struct entryemu_event_record rec;
			/* from ring 3 into ring 0: what the kernel must save */
			int user_entry;
			struct entryemu_regs user;	/* the CPU before the event */
			uint32_t hw[5];		/* EIP, CS, EFLAGS, ESP, SS to save */
			uint32_t esp0;		/* top of the frame it builds */
			uint32_t unlisted;	/* the faulting instruction, found
						 * before its trace hook ran; or 0 */
		} delivered;
		struct {
			const struct entryemu_callout_record *rec;	/* the CPU at the call */
			uint32_t regs_addr;	/* pt_regs handed over, 0 if none */
			uint32_t ret;		/* CALL_AFTER: %eax it returns */
		} call;
		struct entryemu_fixup_record fixup;
		struct entryemu_regs ret;	/* the CPU back in ring 3 */
		struct {
			uint32_t addr, esp, eflags;
			uint16_t ss;
		} exit;			/* and FLAGS_LOAD */
	} u;
};

typedef void (*run_observer_fn)(void *ctx, const struct run_event *ev);

#define RUN_MAX_OBSERVERS 4

struct stream {
	struct { run_observer_fn fn; void *ctx; } obs[RUN_MAX_OBSERVERS];
	int n;
};

static inline void stream_emit(const struct stream *s, const struct run_event *ev)
{
	for (int i = 0; i < s->n; i++)
		s->obs[i].fn(s->obs[i].ctx, ev);
}

#endif
