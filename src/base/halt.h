/*
 * Why a run stopped.  Every layer can end the run (the budget, a
 * delivery the model cannot do, a callout that kills the task, an oops);
 * the first reason given wins, and the run copies it into its result
 * when the engine has stopped.  This sits below everything, so ending
 * a run never calls up into the code that started it.
 */
#ifndef ENTRYEMU_BASE_HALT_H
#define ENTRYEMU_BASE_HALT_H

#include <entryemu/entryemu.h>
#include <stdint.h>

struct halt {
	int stopping;			/* a reason was given: stop at once */
	enum entryemu_outcome outcome;
	int signal;			/* ENTRYEMU_KILLED */
	uint32_t oops_regs;		/* pt_regs of the context an oops reports, if known */
	char why[512];
};

/* Record the reason (unless one was given already); 1 if this one counts. */
int halt_set(struct halt *h, enum entryemu_outcome o, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
