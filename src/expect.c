/*
 * Binding a scenario to a machine (symbols -> addresses, the initial
 * user registers) and checking a run's result against its expectations.
 */
#include "machine.h"
#include "scenario.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int value_resolve(const struct entryemu_scenario *s, const entryemu *m, struct value *v,
		  char *err, size_t errlen)
{
	if (!v->set || !v->sym)
		return 0;
	char name[256];
	snprintf(name, sizeof(name), "%s", v->sym);
	uint32_t off = 0;
	char *plus = strchr(name, '+');
	if (plus) {
		char *end;
		*plus = 0;
		off = (uint32_t)strtoul(plus + 1, &end, 0);
		if (*end || end == plus + 1) {
			snprintf(err, errlen, "%s:%d:%d: '%s': expected symbol+offset",
				 s->path, v->loc.line, v->loc.col, v->sym);
			return ENTRYEMU_E_SCENARIO;
		}
	}
	for (size_t i = 0; i < s->code.nlabels; i++)
		if (!strcmp(s->code.labels[i].name, name)) {
			v->num = s->code.labels[i].addr + off;
			return 0;
		}
	/* the exit page the library appends a jump to */
	uint32_t a = !strcmp(name, "user_exit") ? ENTRYEMU_USER_EXIT : entryemu_symbol(m, name);
	if (!a) {
		snprintf(err, errlen, "%s:%d:%d: unknown symbol '%s' (neither a label of the "
			 "user code nor a symbol of the image)", s->path, v->loc.line,
			 v->loc.col, name);
		return ENTRYEMU_E_SCENARIO;
	}
	v->num = a + off;
	return 0;
}

static int resolve_fields(entryemu_scenario *s, const entryemu *m, struct fields_expect *f,
			  char *err, size_t errlen)
{
	for (int i = 0; i < f->n; i++) {
		int rc = value_resolve(s, m, &f->f[i].v, err, errlen);
		if (rc)
			return rc;
	}
	return 0;
}

int entryemu_scenario_bind(entryemu_scenario *s, entryemu *m, char *err, size_t errlen)
{
	int rc;
	if ((rc = resolve_fields(s, m, &s->user, err, errlen)) ||
	    (rc = resolve_fields(s, m, &s->final, err, errlen)) ||
	    (rc = resolve_fields(s, m, &s->returned, err, errlen)))
		return rc;
	for (int i = 0; i < s->nevents; i++)
		if ((rc = resolve_fields(s, m, &s->events[i].f, err, errlen)))
			return rc;
	for (int i = 0; i < s->ncallouts; i++)
		if ((rc = resolve_fields(s, m, &s->callouts[i].at, err, errlen)) ||
		    (rc = resolve_fields(s, m, &s->callouts[i].regs, err, errlen)))
			return rc;
	if ((rc = scenario_bind_setup(s, m, err, errlen)))
		return rc;
	memset(&s->setup.user, 0, sizeof(s->setup.user));
	for (int i = 0; i < s->user.n; i++)
		field_set(FT_REGS, s->user.f[i].field, &s->setup.user, s->user.f[i].v.num);
	return 0;
}

struct report {
	char *buf;
	size_t len, used;
	int failures;
	const char *path;
};

static void failf(struct report *r, struct loc l, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void failf(struct report *r, struct loc l, const char *fmt, ...)
{
	r->failures++;
	if (!r->buf || r->used >= r->len)
		return;
	int n = snprintf(r->buf + r->used, r->len - r->used, "%s:%d:%d: ", r->path,
			 l.line, l.col);
	if (n > 0)
		r->used += (size_t)n;
	if (r->used >= r->len)
		return;
	va_list ap;
	va_start(ap, fmt);
	n = vsnprintf(r->buf + r->used, r->len - r->used, fmt, ap);
	va_end(ap);
	if (n > 0)
		r->used += (size_t)n;
	if (r->used < r->len - 1) {
		r->buf[r->used++] = '\n';
		r->buf[r->used] = 0;
	}
}

static void check_fields(struct report *r, enum field_table t, const struct fields_expect *f,
			 const void *record, const char *what)
{
	for (int i = 0; i < f->n; i++) {
		const struct field_expect *fe = &f->f[i];
		uint32_t got = field_get(t, fe->field, record), want = fe->v.num;
		if (field_is_selector(t, fe->field)) {
			got &= 0xffff;
			want &= 0xffff;
		}
		if (got != want)
			failf(r, fe->v.loc, "expected %s.%s = 0x%x%s%s%s, got 0x%x", what,
			      field_name(t, fe->field), want, fe->v.sym ? " (" : "",
			      fe->v.sym ? fe->v.sym : "", fe->v.sym ? ")" : "", got);
	}
}

int entryemu_scenario_check(const entryemu_scenario *s, const entryemu *m,
			    const struct entryemu_result *res, char *report, size_t len)
{
	struct report r = { report, len, 0, 0, s->path };
	if (report && len)
		report[0] = 0;
	struct loc top = { 1, 1 };

	enum entryemu_outcome want = s->has_outcome ? s->outcome : ENTRYEMU_DONE;
	if (res->outcome != want)
		failf(&r, s->has_outcome ? s->outcome_loc : top,
		      "expected outcome %s, got %s: %s", entryemu_outcome_name(want),
		      entryemu_outcome_name(res->outcome), res->message);
	if (s->signal.set && (uint32_t)res->signal != s->signal.num)
		failf(&r, s->signal.loc, "expected signal %u, got %d", s->signal.num,
		      res->signal);
	if (s->message && !strstr(res->message, s->message))
		failf(&r, s->message_loc, "expected the message to contain \"%s\", got \"%.300s\"",
		      s->message, res->message);
	check_fields(&r, FT_REGS, &s->final, &res->final, "final");
	if (s->returned.n) {
		/* the last return to ring 3: the one the scenario ends on */
		if (!res->nreturns)
			failf(&r, s->returned.f[0].v.loc, "expected a return to ring 3, "
			      "there was none");
		else
			check_fields(&r, FT_REGS, &s->returned,
				     &res->returns[res->nreturns - 1], "returned");
	}
	if (s->has_fixups) {
		if ((unsigned)s->nfixups != res->nfixups)
			failf(&r, s->fixups_loc, "expected %d fixup(s), %u taken", s->nfixups,
			      res->nfixups);
		for (int i = 0; i < s->nfixups && (unsigned)i < res->nfixups; i++) {
			char got[128];
			insn_text((entryemu *)m, res->fixups[i].insn, got, sizeof(got));
			if (strcmp(got, s->fixups[i].insn))
				failf(&r, s->fixups[i].loc, "expected fixup %d at \"%s\", got \"%s\"",
				      i + 1, s->fixups[i].insn, got);
		}
	}
	if (s->has_events) {
		if ((unsigned)s->nevents != res->nevents)
			failf(&r, s->events_loc, "expected %d event(s), %u delivered",
			      s->nevents, res->nevents);
		for (int i = 0; i < s->nevents && (unsigned)i < res->nevents; i++) {
			char what[32];
			snprintf(what, sizeof(what), "events[%d]", i);
			check_fields(&r, FT_EVENT, &s->events[i].f, &res->events[i], what);
		}
	}
	for (int i = 0; i < s->ncallouts; i++) {
		const struct callout_expect *ce = &s->callouts[i];
		const struct entryemu_callout_record *rec = NULL;
		int seen = 0;
		for (unsigned j = 0; j < res->ncallouts && !rec; j++)
			if (!strcmp(res->callouts[j].name, ce->name) && ++seen == ce->occurrence)
				rec = &res->callouts[j];
		if (!rec) {
			failf(&r, ce->loc, "expected call %d of %s, it was called %d time(s)",
			      ce->occurrence, ce->name, seen);
			continue;
		}
		check_fields(&r, FT_CALL, &ce->at, rec, ce->name);
		if (ce->regs.n && !rec->pt_regs_addr) {
			failf(&r, ce->loc, "%s receives no pt_regs", ce->name);
			continue;
		}
		char what[96];
		snprintf(what, sizeof(what), "%s.pt_regs", ce->name);
		check_fields(&r, FT_PT_REGS, &ce->regs, &rec->regs, what);
	}
	/* checker findings: none unless the scenario names them */
	int matched[ENTRYEMU_MAX_FINDINGS] = { 0 };
	for (int i = 0; i < s->nfindings; i++) {
		int found = 0;
		for (unsigned j = 0; j < res->nfindings && !found; j++)
			if (!matched[j] && !strcmp(entryemu_check_name(res->findings[j].check),
						   s->findings[i].insn))
				found = matched[j] = 1;
		if (!found)
			failf(&r, s->findings[i].loc, "expected a %s finding, there was none",
			      s->findings[i].insn);
	}
	for (unsigned j = 0; j < res->nfindings; j++)
		if (!matched[j])
			failf(&r, s->has_findings ? s->findings_loc : top, "unexpected finding: %s",
			      res->findings[j].text);
	for (int i = 0; i < s->nnot_called; i++)
		if (entryemu_result_callout(res, s->not_called[i].insn))
			failf(&r, s->not_called[i].loc, "expected %s not to be called, it was",
			      s->not_called[i].insn);
	return r.failures;
}
