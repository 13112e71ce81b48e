/*
 * One run: its state, created zeroed for each run and gone after it,
 * and the engine hooks that drive it.  Each layer below gets a pointer
 * to its part for the length of the run.
 */
#ifndef ENTRYEMU_RUN_RUN_H
#define ENTRYEMU_RUN_RUN_H

#include "run/checks.h"
#include "run/recorder.h"

struct run {
	const struct entryemu_setup *setup;
	entryemu_result *res;
	struct halt halt;
	struct stream stream;
	struct count_state count;
	struct cpu_run_state cpu;
	struct kernel_run_state kern;
	struct recorder recorder;
	struct checks checks;
};

/* The hooks every run uses, installed once per handle. */
int run_install_hooks(struct entryemu *m);

#endif
