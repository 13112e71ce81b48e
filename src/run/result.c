/*
 * The result object: storage that grows with the run, so that a run of
 * any length keeps every record, and the accessors of the public API.
 * A record that host memory cannot hold is counted in dropped, which
 * turns the run's outcome into an error rather than a silent gap.
 */
#include "run/result.h"
#include "base/vec.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int entryemu_result_new(entryemu_result **out)
{
	if (!out)
		return ENTRYEMU_E_INVAL;
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return ENTRYEMU_E_NOMEM;
	(*out)->outcome = ENTRYEMU_ERROR;
	return 0;
}

/*
 * The result's copy of a callout's name.  Records outlive the handle
 * that made them, whose names go when it is closed.  A run calls few
 * functions, and the same ones run after run: the copies are kept.
 */
static const char *own_name(entryemu_result *r, const char *name)
{
	for (size_t i = 0; i < r->nnames; i++)
		if (!strcmp(r->names[i], name))
			return r->names[i];
	if (vec_reserve((void **)&r->names, &r->names_cap, r->nnames, sizeof(*r->names)))
		return NULL;
	char *copy = strdup(name);
	if (!copy)
		return NULL;
	r->names[r->nnames++] = copy;
	return copy;
}

static void free_texts(entryemu_result *r)
{
	for (size_t i = 0; i < r->nfindings; i++)
		free((char *)r->findings[i].text);
	r->nfindings = 0;
}

void entryemu_result_free(entryemu_result *r)
{
	if (!r)
		return;
	free_texts(r);
	free(r->message);
	free(r->callouts);
	free(r->fixups);
	free(r->events);
	free(r->returns);
	free(r->findings);
	free(r->trace);
	free(r->marks);
	for (size_t i = 0; i < r->nnames; i++)
		free(r->names[i]);
	free(r->names);
	free(r);
}

void result_clear(entryemu_result *r)
{
	free_texts(r);
	r->outcome = ENTRYEMU_ERROR;
	r->signal = 0;
	memset(&r->siginfo, 0, sizeof(r->siginfo));
	memset(&r->final, 0, sizeof(r->final));
	r->insns = 0;
	r->message_len = 0;
	if (r->message)
		r->message[0] = 0;
	r->ncallouts = r->nfixups = r->nevents = r->nreturns = 0;
	memset(&r->profile, 0, sizeof(r->profile));
	r->trace_len = 0;
	r->nmarks = 0;
	r->dropped = 0;
}

#define ADD(r, arr, n, cap, val)                                                        \
	(vec_reserve((void **)&(r)->arr, &(r)->cap, (r)->n, sizeof(*(r)->arr))          \
		 ? ((r)->dropped++, -1L)                                                 \
		 : ((r)->arr[(r)->n] = (val), (long)(r)->n++))

long result_add_callout(entryemu_result *r, const struct entryemu_callout_record *c)
{
	struct entryemu_callout_record rec = *c;
	rec.name = c->name ? own_name(r, c->name) : NULL;
	if (c->name && !rec.name) {
		r->dropped++;
		return -1;
	}
	return ADD(r, callouts, ncallouts, callouts_cap, rec);
}

void result_update_callout(entryemu_result *r, size_t i,
			   const struct entryemu_callout_record *c)
{
	const char *name = r->callouts[i].name;
	r->callouts[i] = *c;
	r->callouts[i].name = name;
}

void result_add_event(entryemu_result *r, const struct entryemu_event_record *e)
{
	(void)ADD(r, events, nevents, events_cap, *e);
}

void result_add_fixup(entryemu_result *r, const struct entryemu_fixup_record *f)
{
	(void)ADD(r, fixups, nfixups, fixups_cap, *f);
}

void result_add_return(entryemu_result *r, const struct entryemu_regs *g)
{
	(void)ADD(r, returns, nreturns, returns_cap, *g);
}

void result_add_finding(entryemu_result *r, enum entryemu_check c, uint32_t eip,
			const char *text)
{
	char *t = strdup(text);
	if (!t) {
		r->dropped++;
		return;
	}
	struct entryemu_finding f = { .check = c, .eip = eip, .text = t };
	if (ADD(r, findings, nfindings, findings_cap, f) < 0)
		free(t);
}

/* Room for n more bytes of message and its terminator; 0 or -1. */
static int message_room(entryemu_result *r, size_t n)
{
	size_t need = r->message_len + n + 1;
	if (need <= r->message_cap)
		return 0;
	size_t cap = r->message_cap ? r->message_cap : 256;
	while (cap < need)
		cap *= 2;
	char *p = realloc(r->message, cap);
	if (!p) {
		r->dropped++;
		return -1;
	}
	r->message = p;
	r->message_cap = cap;
	return 0;
}

void result_append_text(entryemu_result *r, const char *text)
{
	size_t n = strlen(text);
	if (message_room(r, n))
		return;
	memcpy(r->message + r->message_len, text, n + 1);
	r->message_len += n;
}

void result_append(entryemu_result *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (message_room(r, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(r->message + r->message_len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	r->message_len += (size_t)n;
}

void result_add_mark(entryemu_result *r, enum entryemu_mark_kind k, size_t record,
		     uint32_t value)
{
	struct entryemu_mark mk = { k, record, r->trace_len, value };
	(void)ADD(r, marks, nmarks, marks_cap, mk);
}

void result_trace_push(entryemu_result *r, uint32_t addr)
{
	(void)ADD(r, trace, trace_len, trace_cap, addr);
}

/* ---- the public accessors ------------------------------------------------ */

#define GET(r, n, arr, i) ((r) && (i) < (r)->n ? &(r)->arr[i] : NULL)

enum entryemu_outcome entryemu_result_outcome(const entryemu_result *r)
{
	return r ? r->outcome : ENTRYEMU_ERROR;
}

const char *entryemu_result_message(const entryemu_result *r)
{
	return r && r->message ? r->message : "";
}

int entryemu_result_signal(const entryemu_result *r) { return r ? r->signal : 0; }

const struct entryemu_siginfo *entryemu_result_siginfo(const entryemu_result *r)
{
	static const struct entryemu_siginfo none;
	return r ? &r->siginfo : &none;
}
uint64_t entryemu_result_insns(const entryemu_result *r) { return r ? r->insns : 0; }

const struct entryemu_regs *entryemu_result_final(const entryemu_result *r)
{
	return r ? &r->final : NULL;
}

size_t entryemu_result_ncallouts(const entryemu_result *r) { return r ? r->ncallouts : 0; }
size_t entryemu_result_nevents(const entryemu_result *r) { return r ? r->nevents : 0; }
size_t entryemu_result_nfixups(const entryemu_result *r) { return r ? r->nfixups : 0; }
size_t entryemu_result_nreturns(const entryemu_result *r) { return r ? r->nreturns : 0; }
size_t entryemu_result_nfindings(const entryemu_result *r) { return r ? r->nfindings : 0; }

const struct entryemu_callout_record *entryemu_result_callout(const entryemu_result *r,
							      size_t i)
{
	return GET(r, ncallouts, callouts, i);
}

const struct entryemu_callout_record *
entryemu_result_find_callout(const entryemu_result *r, const char *name, unsigned n)
{
	if (!r || !name)
		return NULL;
	if (n == 0)
		n = 1;
	for (size_t i = 0; i < r->ncallouts; i++)
		if (!strcmp(r->callouts[i].name, name) && --n == 0)
			return &r->callouts[i];
	return NULL;
}

const struct entryemu_event_record *entryemu_result_event(const entryemu_result *r, size_t i)
{
	return GET(r, nevents, events, i);
}

const struct entryemu_fixup_record *entryemu_result_fixup(const entryemu_result *r, size_t i)
{
	return GET(r, nfixups, fixups, i);
}

const struct entryemu_regs *entryemu_result_return(const entryemu_result *r, size_t i)
{
	return GET(r, nreturns, returns, i);
}

const struct entryemu_finding *entryemu_result_finding(const entryemu_result *r, size_t i)
{
	return GET(r, nfindings, findings, i);
}

const struct entryemu_profile *entryemu_result_profile(const entryemu_result *r)
{
	return r ? &r->profile : NULL;
}

const uint32_t *entryemu_result_trace(const entryemu_result *r, size_t *len)
{
	if (len)
		*len = r ? r->trace_len : 0;
	return r && r->trace_len ? r->trace : NULL;
}

size_t entryemu_result_nmarks(const entryemu_result *r)
{
	return r ? r->nmarks : 0;
}

const struct entryemu_mark *entryemu_result_mark(const entryemu_result *r, size_t i)
{
	return GET(r, nmarks, marks, i);
}

uint64_t entryemu_result_trace_hash(const entryemu_result *r)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; r && i < r->trace_len; i++) {
		uint32_t a = r->trace[i];
		for (int b = 0; b < 4; b++) {
			h ^= (a >> (8 * b)) & 0xff;
			h *= 1099511628211ull;
		}
	}
	return h;
}
