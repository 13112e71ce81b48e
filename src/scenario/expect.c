/*
 * Binding a scenario to a machine (symbols -> addresses, the initial
 * user registers) and checking a run's result against its expectations.
 */
#include "scenario.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * How far a place may lie from its symbol, in instructions: further than
 * any entry-path routine is long, short of running off into the next
 * section for long.
 */
#define WALK_MAX 512

/*
 * From address a: to the first instruction whose AT&T text holds text
 * (if given), then count instructions further.  Places written this way
 * name the same instruction in every kernel that has it, whatever the
 * byte offsets of the image.
 */
static int walk_insns(const entryemu_scenario *s, entryemu *m, struct value *v, uint32_t a,
		      const char *text, uint32_t count, char *err, size_t errlen)
{
	char buf[256];
	int found = !text;
	for (uint32_t n = 0; n < WALK_MAX; n++) {
		if (!found && !entryemu_insn_text(m, a, ENTRYEMU_SYNTAX_ATT, buf, sizeof(buf)) &&
		    strstr(buf, text))
			found = 1;
		if (found && !count--) {
			v->num = a;
			return 0;
		}
		int len = entryemu_disasm(m, a, buf, sizeof(buf));
		if (len <= 0)
			break;
		a += (uint32_t)len;
	}
	snprintf(err, errlen, "%s:%d:%d: '%s': %s within %d instructions of the symbol in %s",
		 s->path, v->loc.line, v->loc.col, v->sym,
		 found ? "the count runs past what decodes" : "no instruction with that text",
		 WALK_MAX, entryemu_image_file(m));
	return ENTRYEMU_E_SCENARIO;
}

int value_resolve(const entryemu_scenario *s, entryemu *m, struct value *v,
		  char *err, size_t errlen)
{
	if (!v->set || !v->sym)
		return 0;
	char name[256];
	snprintf(name, sizeof(name), "%s", v->sym);
	uint32_t off = 0;
	int count = 0;			/* off counts instructions, not bytes */
	char *text = NULL;		/* find the instruction holding it first */
	char *plus = strrchr(name, '+');
	if (plus) {
		char *end;
		*plus = 0;
		count = plus[1] == '#';
		off = (uint32_t)strtoul(plus + 1 + count, &end, 0);
		if (*end || end == plus + 1 + count) {
			snprintf(err, errlen, "%s:%d:%d: '%s': expected symbol+offset or "
				 "symbol+#count", s->path, v->loc.line, v->loc.col, v->sym);
			return ENTRYEMU_E_SCENARIO;
		}
	}
	char *slash = strchr(name, '/');
	if (slash) {
		*slash = 0;
		text = slash + 1;
	}
	for (size_t i = 0; i < s->code.nlabels; i++)
		if (!strcmp(s->code.labels[i].name, name)) {
			if (text || count) {
				snprintf(err, errlen, "%s:%d:%d: '%s': /text and +#count apply to "
					 "symbols of the image, not to labels of the user code",
					 s->path, v->loc.line, v->loc.col, v->sym);
				return ENTRYEMU_E_SCENARIO;
			}
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
	if (text || count)
		return walk_insns(s, m, v, a, text, count ? off : 0, err, errlen);
	v->num = a + off;
	return 0;
}

static int resolve_fields(const entryemu_scenario *s, entryemu *m,
			  struct fields_expect *f, char *err, size_t errlen)
{
	for (int i = 0; i < f->n; i++) {
		int rc = value_resolve(s, m, &f->f[i].v, err, errlen);
		if (rc)
			return rc;
	}
	return 0;
}

int expectations_resolve(struct expectations *e, const entryemu_scenario *s,
			 entryemu *m, char *err, size_t errlen)
{
	int rc;
	if ((rc = resolve_fields(s, m, &e->final, err, errlen)) ||
	    (rc = resolve_fields(s, m, &e->returned, err, errlen)) ||
	    (rc = resolve_fields(s, m, &e->siginfo, err, errlen)))
		return rc;
	for (int i = 0; i < e->nevents; i++)
		if ((rc = resolve_fields(s, m, &e->events[i].f, err, errlen)))
			return rc;
	for (int i = 0; i < e->nreturns; i++)
		if ((rc = resolve_fields(s, m, &e->returns[i].f, err, errlen)))
			return rc;
	/* percpu: the image's per-CPU register (%gs on kernels without one) */
	int percpu = field_lookup(FT_CALL, "percpu");
	int reg = field_lookup(FT_CALL, entryemu_image_percpu(m) == ENTRYEMU_PERCPU_FS ? "fs" : "gs");
	for (int i = 0; i < e->ncallouts; i++)
		for (int j = 0; j < e->callouts[i].at.n; j++)
			if (e->callouts[i].at.f[j].field == percpu)
				e->callouts[i].at.f[j].field = reg;
	for (int i = 0; i < e->ncallouts; i++)
		if ((rc = resolve_fields(s, m, &e->callouts[i].at, err, errlen)) ||
		    (rc = resolve_fields(s, m, &e->callouts[i].regs, err, errlen)))
			return rc;
	for (int i = 0; i < e->nfindings; i++)
		if (e->findings[i].at.set &&
		    (rc = value_resolve(s, m, &e->findings[i].at, err, errlen)))
			return rc;
	return 0;
}

void expectations_free(struct expectations *e)
{
	free_fields(&e->final);
	free_fields(&e->returned);
	free_fields(&e->siginfo);
	free(e->signal.sym);
	free(e->message);
	free(e->recorded_failure);
	for (int i = 0; i < e->nfixups; i++)
		free(e->fixups[i].insn);
	for (int i = 0; i < e->nnot_called; i++)
		free(e->not_called[i].insn);
	for (int i = 0; i < e->nfindings; i++) {
		free(e->findings[i].insn);
		free(e->findings[i].image);
		free(e->findings[i].at.sym);
	}
	for (int i = 0; i < e->nevents; i++)
		free_fields(&e->events[i].f);
	for (int i = 0; i < e->nreturns; i++)
		free_fields(&e->returns[i].f);
	for (int i = 0; i < e->ncallouts; i++) {
		free(e->callouts[i].name);
		free_fields(&e->callouts[i].at);
		free_fields(&e->callouts[i].regs);
	}
	memset(e, 0, sizeof(*e));
}

/* Duplicate *p in place (NULL stays NULL); nonzero when out of memory. */
static int dup_in_place(char **p)
{
	if (!*p)
		return 0;
	*p = strdup(*p);
	return !*p;
}

static int dup_fields(struct fields_expect *f)
{
	if (fields_own(f))
		return 1;
	int bad = 0;
	for (int i = 0; i < f->n; i++)
		bad |= dup_in_place(&f->f[i].v.sym);
	return bad;
}

int expectations_copy(struct expectations *dst, const struct expectations *src)
{
	*dst = *src;
	int bad = dup_fields(&dst->final) | dup_fields(&dst->returned) | dup_fields(&dst->siginfo) |
		  dup_in_place(&dst->signal.sym) | dup_in_place(&dst->message) |
		  dup_in_place(&dst->recorded_failure);
	for (int i = 0; i < dst->nfixups; i++)
		bad |= dup_in_place(&dst->fixups[i].insn);
	for (int i = 0; i < dst->nnot_called; i++)
		bad |= dup_in_place(&dst->not_called[i].insn);
	for (int i = 0; i < dst->nfindings; i++)
		bad |= dup_in_place(&dst->findings[i].insn) | dup_in_place(&dst->findings[i].image) |
		       dup_in_place(&dst->findings[i].at.sym);
	for (int i = 0; i < dst->nevents; i++)
		bad |= dup_fields(&dst->events[i].f);
	for (int i = 0; i < dst->nreturns; i++)
		bad |= dup_fields(&dst->returns[i].f);
	for (int i = 0; i < dst->ncallouts; i++)
		bad |= dup_in_place(&dst->callouts[i].name) | dup_fields(&dst->callouts[i].at) |
		       dup_fields(&dst->callouts[i].regs);
	if (bad) {
		expectations_free(dst);
		return ENTRYEMU_E_NOMEM;
	}
	return 0;
}

/* ---- binding ------------------------------------------------------------------ */

/*
 * Is name one of the image's callouts: a symbol in the callout slots
 * (__callouts_start..__callouts_end), or a syscall slot?  Through the
 * public API only, as the scenario layer must; it has no lookup of the
 * names the library gives syscall slots ("sys_getpid", "sys_call[N]"),
 * so any "sys_" name passes here.
 */
static int is_callout(const entryemu *m, const char *name)
{
	if (!strncmp(name, "sys_", 4))
		return 1;
	uint32_t a = entryemu_symbol(m, name);
	uint32_t lo = entryemu_symbol(m, "__callouts_start");
	uint32_t hi = entryemu_symbol(m, "__callouts_end");
	return a && a >= lo && a < hi;
}

/*
 * Callout names in expectations must name a callout of this image: an
 * unknown name in not_called would always pass, and in callouts always
 * fail with "called 0 time(s)" instead of saying why.
 */
static int check_callout_names(const struct expectations *e, const entryemu_scenario *s,
			       const entryemu *m, char *err, size_t errlen)
{
	for (int i = 0; i < e->nnot_called; i++)
		if (!is_callout(m, e->not_called[i].insn)) {
			snprintf(err, errlen, "%s:%d:%d: not_called: no callout '%s' in the image "
				 "%s", s->path, e->not_called[i].loc.line, e->not_called[i].loc.col,
				 e->not_called[i].insn, entryemu_image_file(m));
			return ENTRYEMU_E_SCENARIO;
		}
	for (int i = 0; i < e->ncallouts; i++)
		if (!is_callout(m, e->callouts[i].name)) {
			snprintf(err, errlen, "%s:%d:%d: callouts: no callout '%s' in the image "
				 "%s", s->path, e->callouts[i].loc.line, e->callouts[i].loc.col,
				 e->callouts[i].name, entryemu_image_file(m));
			return ENTRYEMU_E_SCENARIO;
		}
	return 0;
}

/*
 * The name the scenario gives m's image: the one whose path m was opened
 * on; for another image (replay --image), "post" when it saves %gs like
 * the seed's kernel, else "pre".
 */
static const char *image_name_of(const entryemu_scenario *s, const entryemu *m)
{
	const char *file = entryemu_image_file(m);
	for (int i = 0; file && i < entryemu_scenario_nimages(s); i++)
		if (!strcmp(entryemu_scenario_image(s, i), file))
			return entryemu_scenario_image_name(s, i);
	/* another image (replay --image PATH): its family's name */
	const char *family = entryemu_image_family(m);
	return family ? family : "post";
}

/* Keep the findings expected on this image: those for all, or for it. */
static void findings_for_image(struct expectations *e, const char *image)
{
	int n = 0;
	for (int i = 0; i < e->nfindings; i++) {
		if (e->findings[i].image && strcmp(e->findings[i].image, image)) {
			free(e->findings[i].insn);
			free(e->findings[i].image);
			free(e->findings[i].at.sym);
			continue;
		}
		e->findings[n++] = e->findings[i];
	}
	e->nfindings = n;
}

int entryemu_scenario_bind(const entryemu_scenario *s, entryemu *m, entryemu_binding **out,
			   char *err, size_t errlen)
{
	char dummy[1];
	if (!err || !errlen) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = 0;
	if (out)
		*out = NULL;
	if (!s || !m || !out) {
		snprintf(err, errlen, "entryemu_scenario_bind: no scenario, machine or out");
		return ENTRYEMU_E_INVAL;
	}
	entryemu_binding *b = calloc(1, sizeof(*b));
	if (!b || !(b->path = strdup(s->path))) {
		free(b);
		snprintf(err, errlen, "%s: out of memory", s->path);
		return ENTRYEMU_E_NOMEM;
	}
	b->m = m;
	int rc = family_expectations(s, m, &b->exp);
	if (rc) {
		snprintf(err, errlen, "%s: out of memory", s->path);
		free(b->path);
		free(b);
		return rc;
	}
	if (s->code.nlabels && !(b->labels = calloc(s->code.nlabels, sizeof(*b->labels)))) {
		snprintf(err, errlen, "%s: out of memory", s->path);
		entryemu_binding_free(b);
		return ENTRYEMU_E_NOMEM;
	}
	for (; b->nlabels < s->code.nlabels; b->nlabels++) {
		b->labels[b->nlabels].addr = s->code.labels[b->nlabels].addr;
		if (!(b->labels[b->nlabels].name = strdup(s->code.labels[b->nlabels].name))) {
			snprintf(err, errlen, "%s: out of memory", s->path);
			entryemu_binding_free(b);
			return ENTRYEMU_E_NOMEM;
		}
	}
	findings_for_image(&b->exp, image_name_of(s, m));
	if ((rc = expectations_resolve(&b->exp, s, m, err, errlen)) ||
	    (rc = check_callout_names(&b->exp, s, m, err, errlen)) ||
	    (rc = binding_setup(b, s, err, errlen))) {
		entryemu_binding_free(b);
		return rc;
	}
	*out = b;
	return 0;
}

void entryemu_binding_free(entryemu_binding *b)
{
	if (!b)
		return;
	binding_release_actions(b);
	expectations_free(&b->exp);
	for (size_t i = 0; i < b->nlabels; i++)
		free((char *)b->labels[i].name);
	free(b->labels);
	free(b->code);
	free(b->path);
	free(b);
}

const struct entryemu_setup *entryemu_binding_setup(const entryemu_binding *b)
{
	return b ? &b->setup : NULL;
}

void entryemu_binding_set_flags(entryemu_binding *b, unsigned flags)
{
	if (b)
		b->setup.flags = flags;
}

int entryemu_binding_run(entryemu_binding *b, entryemu_result *r)
{
	if (!b || !r)
		return ENTRYEMU_E_INVAL;
	/* traces and reports name the code's places by its labels */
	int rc = entryemu_set_labels(b->m, b->labels, b->nlabels);
	return rc ? rc : entryemu_run(b->m, &b->setup, r);
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

/*
 * Does the instruction at addr answer to want: its text in AT&T ("pop
 * %gs", "popl %gs") or Intel syntax ("pop gs"), its place
 * ("restore_nocheck_notrace+0x9"), or its address?
 */
/* AT&T text, with or without the operand-size suffix ("pop %gs", "popl %gs"). */
static int att_is(const char *got, const char *want)
{
	const char *gs = strchr(got, ' '), *ws = strchr(want, ' ');
	size_t gm = gs ? (size_t)(gs - got) : strlen(got), wm = ws ? (size_t)(ws - want) : strlen(want);
	if (strcmp(gs ? gs : "", ws ? ws : ""))
		return 0;
	return (gm == wm && !strncmp(got, want, gm)) ||
	       (gm == wm + 1 && !strncmp(got, want, wm) && strchr("bwl", got[wm]));
}

static int fixup_is(entryemu *m, uint32_t addr, const char *want)
{
	char text[128];
	if ((!entryemu_insn_text(m, addr, ENTRYEMU_SYNTAX_ATT, text, sizeof(text)) &&
	     att_is(text, want)) ||
	    (!entryemu_insn_text(m, addr, ENTRYEMU_SYNTAX_INTEL, text, sizeof(text)) &&
	     !strcmp(text, want)) ||
	    !strcmp(entryemu_symbolize(m, addr, text, sizeof(text)), want))
		return 1;
	char *end;
	unsigned long a = strtoul(want, &end, 0);
	return end != want && !*end && a == addr;
}

int entryemu_binding_check(const entryemu_binding *b, const entryemu_result *res,
			   char *report, size_t len)
{
	if (!b || !res)
		return ENTRYEMU_E_INVAL;
	const struct expectations *s = &b->exp;
	entryemu *m = b->m;
	struct report r = { report, len, 0, 0, b->path };
	if (report && len)
		report[0] = 0;
	struct loc top = { 1, 1 };
	enum entryemu_outcome outcome = entryemu_result_outcome(res);
	const char *message = entryemu_result_message(res);
	int signal = entryemu_result_signal(res);

	enum entryemu_outcome want = s->has_outcome ? s->outcome : ENTRYEMU_DONE;
	if (outcome != want)
		failf(&r, s->has_outcome ? s->outcome_loc : top,
		      "expected outcome %s, got %s: %s", entryemu_outcome_name(want),
		      entryemu_outcome_name(outcome), message);
	if (s->signal.set && (uint32_t)signal != s->signal.num)
		failf(&r, s->signal.loc, "expected signal %u, got %d", s->signal.num, signal);
	if (s->message && !strstr(message, s->message))
		failf(&r, s->message_loc, "expected the message to contain \"%s\", got \"%.300s\"",
		      s->message, message);
	check_fields(&r, FT_SIGINFO, &s->siginfo, entryemu_result_siginfo(res), "siginfo");
	/* the run reproduces the recording, so it fails as the recorded one did */
	if (s->recorded_failure)
		failf(&r, s->recorded_failure_loc, "recorded failure: %s", s->recorded_failure);
	check_fields(&r, FT_REGS, &s->final, entryemu_result_final(res), "final");
	if (s->returned.n) {
		/* the last return to ring 3: the one the scenario ends on */
		size_t nret = entryemu_result_nreturns(res);
		if (!nret)
			failf(&r, s->returned.f[0].v.loc, "expected a return to ring 3, "
			      "there was none");
		else
			check_fields(&r, FT_REGS, &s->returned,
				     entryemu_result_return(res, nret - 1), "returned");
	}
	size_t nfixups = entryemu_result_nfixups(res);
	if (s->has_fixups) {
		if ((size_t)s->nfixups != nfixups)
			failf(&r, s->fixups_loc, "expected %d fixup(s), %zu taken", s->nfixups,
			      nfixups);
		for (int i = 0; i < s->nfixups && (size_t)i < nfixups; i++) {
			uint32_t at = entryemu_result_fixup(res, (size_t)i)->insn;
			if (!fixup_is(m, at, s->fixups[i].insn)) {
				char got[128], sym[128];
				entryemu_insn_text(m, at, ENTRYEMU_SYNTAX_ATT, got, sizeof(got));
				failf(&r, s->fixups[i].loc, "expected fixup %d at \"%s\", got \"%s\" "
				      "at %s", i + 1, s->fixups[i].insn, got,
				      entryemu_symbolize(m, at, sym, sizeof(sym)));
			}
		}
	}
	size_t nret = entryemu_result_nreturns(res);
	if (s->has_returns) {
		if ((size_t)s->nreturns != nret)
			failf(&r, s->returns_loc, "expected %d return(s) to ring 3, %zu made",
			      s->nreturns, nret);
		for (int i = 0; i < s->nreturns && (size_t)i < nret; i++) {
			char what[32];
			snprintf(what, sizeof(what), "returns[%d]", i);
			check_fields(&r, FT_REGS, &s->returns[i].f,
				     entryemu_result_return(res, (size_t)i), what);
		}
	}
	size_t nevents = entryemu_result_nevents(res);
	if (s->has_events) {
		if ((size_t)s->nevents != nevents)
			failf(&r, s->events_loc, "expected %d event(s), %zu delivered",
			      s->nevents, nevents);
		for (int i = 0; i < s->nevents && (size_t)i < nevents; i++) {
			char what[32];
			snprintf(what, sizeof(what), "events[%d]", i);
			check_fields(&r, FT_EVENT, &s->events[i].f,
				     entryemu_result_event(res, (size_t)i), what);
		}
	}
	for (int i = 0; i < s->ncallouts; i++) {
		const struct callout_expect *ce = &s->callouts[i];
		const struct entryemu_callout_record *rec =
			entryemu_result_find_callout(res, ce->name, (unsigned)ce->occurrence);
		if (!rec) {
			int seen = 0;
			size_t nc = entryemu_result_ncallouts(res);
			for (size_t j = 0; j < nc; j++)
				seen += !strcmp(entryemu_result_callout(res, j)->name, ce->name);
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
	size_t nfind = entryemu_result_nfindings(res);
	unsigned char *matched = calloc(nfind ? nfind : 1, 1);
	if (!matched)
		return ENTRYEMU_E_NOMEM;
	/* those with a place first: a plain one must not take their finding */
	for (int k = 0; k < 2 * s->nfindings; k++) {
		const struct fixup_expect *fe = &s->findings[k % s->nfindings];
		if ((k < s->nfindings) != fe->at.set)
			continue;
		int found = 0;
		const struct entryemu_finding *elsewhere = NULL;
		for (size_t j = 0; j < nfind && !found; j++) {
			const struct entryemu_finding *f = entryemu_result_finding(res, j);
			if (matched[j] || strcmp(entryemu_check_name(f->check), fe->insn))
				continue;
			if (fe->at.set && f->eip != fe->at.num)
				elsewhere = elsewhere ? elsewhere : f;
			else
				found = matched[j] = 1;
		}
		if (found)
			continue;
		if (elsewhere) {
			char sym[128], want[160];
			if (fe->at.sym)
				snprintf(want, sizeof(want), "%s (0x%08x)", fe->at.sym, fe->at.num);
			else
				snprintf(want, sizeof(want), "0x%08x", fe->at.num);
			failf(&r, fe->at.loc, "expected a %s finding at %s, there was one at %s: %s",
			      fe->insn, want, entryemu_symbolize(m, elsewhere->eip, sym, sizeof(sym)),
			      elsewhere->text);
			/* reported here: not again as unexpected */
			for (size_t j = 0; j < nfind; j++)
				if (entryemu_result_finding(res, j) == elsewhere)
					matched[j] = 1;
		} else {
			failf(&r, fe->loc, "expected a %s finding, there was none", fe->insn);
		}
	}
	for (size_t j = 0; j < nfind; j++)
		if (!matched[j])
			failf(&r, s->has_findings ? s->findings_loc : top, "unexpected finding: %s",
			      entryemu_result_finding(res, j)->text);
	free(matched);
	for (int i = 0; i < s->nnot_called; i++)
		if (entryemu_result_find_callout(res, s->not_called[i].insn, 1))
			failf(&r, s->not_called[i].loc, "expected %s not to be called, it was",
			      s->not_called[i].insn);
	return r.failures;
}
