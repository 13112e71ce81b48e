/*
 * What a fuzz target asks of its own process before the first input.
 *
 * No transparent huge pages.  Each engine's 1 GiB buffer of translated
 * code is asked for with them, and a fuzzing run writes new code into
 * it all the time (each input's user code is new): with huge pages the
 * kernel cleared 2 MiB at every first touch, 8% of `fuzz_entry`'s time
 * under perf, against 0.2% with 4 KiB pages.  The command does the same
 * for itself (tools/entryemu.c).
 */
#ifndef FUZZ_PROCESS_H
#define FUZZ_PROCESS_H

#include <sys/prctl.h>

static inline void fuzz_process_setup(void)
{
	(void)prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
}

#endif
