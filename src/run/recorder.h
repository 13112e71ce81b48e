/* The observer that writes a run's events into its result. */
#ifndef ENTRYEMU_RUN_RECORDER_H
#define ENTRYEMU_RUN_RECORDER_H

#include "base/events.h"
#include "run/result.h"

struct recorder {
	entryemu_result *res;
	long last_call;			/* index of the call in progress, or -1 */
	int tracing;			/* the run lists its instructions */
};

void recorder_observe(void *ctx, const struct run_event *ev);

#endif
