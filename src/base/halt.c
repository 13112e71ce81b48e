/* The first reason to stop a run, kept until the run collects it. */
#include "base/halt.h"

#include <stdarg.h>
#include <stdio.h>

int halt_set(struct halt *h, enum entryemu_outcome o, const char *fmt, ...)
{
	if (h->stopping)
		return 0;
	h->stopping = 1;
	h->outcome = o;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(h->why, sizeof(h->why), fmt, ap);
	va_end(ap);
	return 1;
}
