/* The details of a handle's last error, and the setup field it is about. */
#include "handle.h"

#include <stdarg.h>
#include <stdio.h>

void machine_set_error(struct entryemu *m, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m->err, sizeof(m->err), fmt, ap);
	va_end(ap);
	m->err_field[0] = 0;
}

void machine_field_error(struct entryemu *m, const char *field, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m->err, sizeof(m->err), fmt, ap);
	va_end(ap);
	snprintf(m->err_field, sizeof(m->err_field), "%s", field);
}

