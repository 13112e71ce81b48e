/*
 * Checkers: invariants of the entry path, watched on every run through
 * the run's event stream.  Each keeps what it needs of the current
 * entry in its own state and writes findings into the result.
 */
#ifndef ENTRYEMU_RUN_CHECKS_H
#define ENTRYEMU_RUN_CHECKS_H

#include "kernel/kernel.h"

/* What the checkers know of the current entry from ring 3. */
struct entry_state {
	int active, checked, vm86;
	int vector;			/* or ENTRYEMU_EVENT_SYSENTER */
	uint32_t frame;			/* where pt_regs must be */
	struct entryemu_regs user;	/* the CPU at entry */
	uint32_t hw[5];			/* EIP, CS, EFLAGS, ESP, SS to save */
	uint32_t ret_eip, ret_esp;	/* what the frame says the user gets back */
	uint16_t ret_cs, ret_ss, ret_ds, ret_es, ret_fs, ret_gs;
	int slots_seen;			/* checks_slots.c flagged this entry */
};

/* checks_cfi.c: the frames the entry code is in, innermost last. */
#define CFI_MAX_NEST 8
struct cfi_activation {
	uint32_t cfa;			/* just above EIP, CS, EFLAGS */
	uint32_t cfa_ring3;		/* or above ESP, SS too (from ring 3) */
	uint32_t entry[CFI_NREGS];	/* the registers when it began */
	uint16_t known;			/* bit r: entry[r] is known */
	uint16_t checked;		/* bit r: its saved slot was checked */
	uint32_t skip;			/* an instruction not yet on its stack */
	int anchored;			/* cfa is known (not on the espfix stack) */
	int checked_frame;		/* anchored, and entered at an FDE's start */
	int reported;
};
struct cfi_frames {
	int n;
	struct cfi_activation act[CFI_MAX_NEST];
};

/* checks_lockdep.c: lockdep's record of the interrupt flag. */
struct lockdep_view {
	int known;			/* set by a user entry or a trace call */
	int on;				/* what lockdep was last told */
	uint32_t told_at;		/* the call that told it (0: user mode) */
	int nmi;			/* between an NMI's delivery and the next iret */
	int handler_due;		/* exceptions whose C handlers have not run yet */
	int reported;			/* one finding per entry from ring 3 */
};

/* Instructions a finding was made at this run, by checker: one each. */
#define CHECKS_REPORTED_MAX 16
struct checks_reported {
	int n;
	struct { unsigned check; uint32_t insn; } at[CHECKS_REPORTED_MAX];
};

struct checks {
	struct entryemu *m;
	entryemu_result *res;
	unsigned off;			/* ENTRYEMU_CHECK_* switched off */
	struct entry_state entry;
	struct cfi_frames cfi;
	struct lockdep_view lockdep;
	struct checks_reported reported;	/* uaccess and bounds */
};

/* Start watching a run: the image's own findings go in first. */
void checks_start(struct checks *c, struct entryemu *m, entryemu_result *res, unsigned off);
/* The run's observer. */
void checks_observe(void *ctx, const struct run_event *ev);
/* The image's own findings (its exception table), found once at open. */
int checks_image(struct entryemu *m);
/* A finding at eip, with the CPU's registers as they are now. */
void checks_finding(struct checks *k, enum entryemu_check c, uint32_t eip,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5), cold));

/*
 * Has c reported at insn this run?  If not, note that it now does: a
 * loop through a bad instruction makes one finding, not one a pass.
 */
int checks_once(struct checks *k, enum entryemu_check c, uint32_t insn);

/*
 * Before an instruction of the image that image_find_accesses() kept
 * (run.c hooks each one): where its operands reach, computed once, for
 * the user-access and bounds checkers.
 */
void checks_access(struct checks *k, const struct image_access *a);
/* checks_uaccess.c and checks_bounds.c: lin[i] is a->op[i]'s linear address. */
void uaccess_check(struct checks *k, const struct image_access *a, const uint32_t *lin);
void bounds_check(struct checks *k, const struct image_access *a, const uint32_t *lin);

/* checks_slots.c: kernel-address bits in a user-visible selector slot,
 * at the exit path's work check (a load of thread_info->flags) */
void slots_at_work_check(struct checks *k, uint32_t addr, uint32_t esp);

/* checks_cfi.c: the unwind rules against the stack.  cfi_observe follows
 * the events; cfi_step runs before each instruction of the entry code
 * while the checker is on (run.c hooks it). */
void cfi_observe(struct checks *k, const struct run_event *ev);
void cfi_step(struct checks *k, uint32_t addr);

/* checks_lockdep.c: lockdep's view of IF against the CPU's, from the
 * events (trace_hardirqs_on/off are callouts like any other). */
void lockdep_observe(struct checks *k, const struct run_event *ev);

#endif
