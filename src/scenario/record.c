/*
 * Recording a run as a scenario file, so that a failure found by a C test
 * (or any caller) can be replayed with entryemu replay: same setup, same
 * callout behaviour, same trace, and as expectations what the run showed,
 * so the replay says what changed if it no longer reproduces.
 */
#include "scenario.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *tif_names[] = {
	"syscall_trace", "notify_resume", "sigpending", "need_resched", "singlestep",
	"iret", "syscall_emu", "syscall_audit", "seccomp", "restore_sigmask",
};

static void flags_list(FILE *f, const char *key, uint32_t flags)
{
	fprintf(f, "%s: [", key);
	int first = 1;
	for (unsigned b = 0; b < 10; b++)
		if (flags & (1u << b)) {
			fprintf(f, "%s%s", first ? "" : ", ", tif_names[b]);
			first = 0;
		}
	fprintf(f, "]");
}

/* The pt_regs fields a callout changed, as a YAML mapping. */
static void regs_changed(FILE *f, const struct entryemu_pt_regs *a,
			 const struct entryemu_pt_regs *b)
{
	struct { const char *n; uint32_t x, y; } v[] = {
		{ "ebx", a->ebx, b->ebx }, { "ecx", a->ecx, b->ecx }, { "edx", a->edx, b->edx },
		{ "esi", a->esi, b->esi }, { "edi", a->edi, b->edi }, { "ebp", a->ebp, b->ebp },
		{ "eax", a->eax, b->eax }, { "xds", a->xds, b->xds }, { "xes", a->xes, b->xes },
		{ "xgs", a->xgs, b->xgs }, { "xfs", a->xfs, b->xfs }, { "orig_eax", a->orig_eax, b->orig_eax },
		{ "eip", a->eip, b->eip }, { "xcs", a->xcs, b->xcs },
		{ "eflags", a->eflags, b->eflags }, { "esp", a->esp, b->esp },
		{ "xss", a->xss, b->xss },
	};
	int any = 0;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (v[i].x != v[i].y) {
			fprintf(f, "%s%s: 0x%x", any ? ", " : "    pt_regs: {", v[i].n, v[i].y);
			any = 1;
		}
	if (any)
		fprintf(f, "}\n");
}

/*
 * Text the caller gives (why) goes in as comment lines: each line of it
 * becomes its own "# " line, so a newline cannot end the comment and
 * start YAML the replay would read (or reject); other control bytes
 * become spaces, and bytes that are not UTF-8 '?' (the loader refuses
 * a file that is not UTF-8).
 */
static size_t utf8_len(const unsigned char *c)
{
	size_t n = *c < 0x80 ? 1 : (*c & 0xe0) == 0xc0 ? 2 : (*c & 0xf0) == 0xe0 ? 3 :
		   (*c & 0xf8) == 0xf0 ? 4 : 0;
	for (size_t k = 1; k < n; k++)
		if ((c[k] & 0xc0) != 0x80)
			return 0;
	/* overlong 2-byte forms; the loader checks the rest, '?' is safe either way */
	return n == 2 && *c < 0xc2 ? 0 : n;
}

static void comment(FILE *f, const char *text)
{
	fputs("# ", f);
	for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
		size_t n = utf8_len(c);
		if (n > 1) {
			fwrite(c, 1, n, f);
			c += n - 1;
		} else if (!n)
			fputc('?', f);
		else if (*c == '\n')
			fputs(c[1] ? "\n# " : "", f);
		else if (*c < 0x20 || *c == 0x7f)
			fputc(' ', f);
		else
			fputc(*c, f);
	}
	fputc('\n', f);
}

/* s as a YAML double-quoted scalar: a path may hold '"', '\\', ':' or '#'. */
static void quoted(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		size_t n = *c >= 0x80 ? utf8_len(c) : 1;
		if (n > 1) {		/* the loader refuses a file that is not UTF-8 */
			fwrite(c, 1, n, f);
			c += n - 1;
		} else if (!n)
			fputc('?', f);
		else if (*c == '"' || *c == '\\')
			fprintf(f, "\\%c", *c);
		else if (*c < 0x20 || *c == 0x7f)
			fprintf(f, "\\x%02x", *c);
		else
			fputc(*c, f);
	}
	fputc('"', f);
}

/*
 * The name of the bundled image m runs ("post"), so a recording replays
 * wherever the images are installed; NULL for an image of the caller's.
 */
static const char *bundled_name(entryemu *m)
{
	static const char *const names[] = { "post", "pre", "post-preempt" };
	char mine[PATH_MAX], theirs[PATH_MAX], path[4096];
	if (!realpath(entryemu_image_file(m), mine))
		return NULL;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (entryemu_image_named(names[i], path, sizeof(path)) &&
		    realpath(path, theirs) && !strcmp(mine, theirs))
			return names[i];
	return NULL;
}

/* One field per line, "key: 0x...", an address named in a comment. */
static void field_lines(FILE *f, entryemu *m, const char *indent, enum field_table t,
			const void *record, const char *const *skip)
{
	for (size_t i = 0; i < field_count(t); i++) {
		const char *name = field_name(t, (int)i);
		int skipped = 0;
		for (const char *const *k = skip; k && *k; k++)
			skipped |= !strcmp(*k, name);
		if (skipped)
			continue;
		uint32_t v = field_get(t, (int)i, record);
		fprintf(f, "%s%s: 0x%x", indent, name, v);
		char sym[128];
		entryemu_symbolize(m, v, sym, sizeof(sym));
		if (v >= 0x1000 && strncmp(sym, "0x", 2) && (!strcmp(name, "eip") ||
		    !strcmp(name, "handler") || !strcmp(name, "return_addr")))
			fprintf(f, "  # %s", sym);
		fputc('\n', f);
	}
}

/*
 * What the run showed, as expectations: its outcome, every event and
 * fixup (up to the 32 a list holds), each kernel function call with its
 * registers and pt_regs, each return to ring 3 and the final state.
 * Checker findings are never expected: they go in as comments, and the
 * replay reports each again as an unexpected finding.
 */
static void observed(FILE *f, entryemu *m, const entryemu_result *r)
{
	enum entryemu_outcome o = entryemu_result_outcome(r);
	fprintf(f, "  outcome: %s\n", entryemu_outcome_name(o));
	if (o == ENTRYEMU_KILLED)
		fprintf(f, "  signal: %d\n", entryemu_result_signal(r));
	char sym[128];
	size_t n = entryemu_result_nevents(r);
	if (n <= MAX_ITEMS) {
		fprintf(f, "  events:%s\n", n ? "" : " []");
		for (size_t i = 0; i < n; i++) {
			fprintf(f, "    -\n");
			field_lines(f, m, "      ", FT_EVENT, entryemu_result_event(r, i), NULL);
		}
	} else {
		fprintf(f, "  # %zu events: more than a list holds\n", n);
	}
	n = entryemu_result_nfixups(r);
	if (n <= MAX_ITEMS) {
		fprintf(f, "  fixups: [");
		for (size_t i = 0; i < n; i++) {
			fprintf(f, "%s", i ? ", " : "");
			quoted(f, entryemu_symbolize(m, entryemu_result_fixup(r, i)->insn, sym,
						     sizeof(sym)));
		}
		fprintf(f, "]\n");
	} else {
		fprintf(f, "  # %zu fixups: more than a list holds\n", n);
	}
	n = entryemu_result_ncallouts(r);
	if (n)
		fprintf(f, "  callouts:%s\n", n > MAX_ITEMS ? "  # the first 32 calls" : "");
	for (size_t i = 0; i < n && i < MAX_ITEMS; i++) {
		const struct entryemu_callout_record *c = entryemu_result_callout(r, i);
		unsigned occurrence = 0;
		for (size_t j = 0; j <= i; j++)
			occurrence += !strcmp(entryemu_result_callout(r, j)->name, c->name);
		fprintf(f, "    - name: %s\n      occurrence: %u\n", c->name, occurrence);
		field_lines(f, m, "      ", FT_CALL, c, NULL);
		if (c->pt_regs_addr) {
			fprintf(f, "      pt_regs:\n");
			/* the pre-patch frame has no xgs slot to compare */
			static const char *const no_xgs[] = { "xgs", NULL };
			field_lines(f, m, "        ", FT_PT_REGS, &c->regs,
				    c->regs.has_xgs ? NULL : no_xgs);
		}
	}
	n = entryemu_result_nreturns(r);
	if (n <= MAX_ITEMS) {
		fprintf(f, "  returns:%s\n", n ? "" : " []");
		for (size_t i = 0; i < n; i++) {
			fprintf(f, "    -\n");
			field_lines(f, m, "      ", FT_REGS, entryemu_result_return(r, i), NULL);
		}
	} else {
		fprintf(f, "  # %zu returns to ring 3: more than a list holds; the last:\n", n);
		fprintf(f, "  returned:\n");
		field_lines(f, m, "    ", FT_REGS, entryemu_result_return(r, n - 1), NULL);
	}
	fprintf(f, "  final:\n");
	field_lines(f, m, "    ", FT_REGS, entryemu_result_final(r), NULL);
	n = entryemu_result_nfindings(r);
	for (size_t i = 0; i < n; i++) {
		char line[1024];
		snprintf(line, sizeof(line), "finding: %s", entryemu_result_finding(r, i)->text);
		comment(f, line);
	}
}

static int record(entryemu *m, const struct entryemu_setup *s, const entryemu_result *r,
		  const char *why, const char *failure, const char *path)
{
	if (!m || !s || !r || !path)
		return ENTRYEMU_E_INVAL;
	FILE *f = fopen(path, "w");
	if (!f)
		return ENTRYEMU_E_IO;
	fprintf(f, "# Recorded by entryemu_scenario_record: replays the run it was taken from.\n");
	if (why)
		comment(f, why);
	fprintf(f, "name: ");
	quoted(f, strrchr(path, '/') ? strrchr(path, '/') + 1 : path);
	fprintf(f, "\nimage: ");
	const char *bundled = bundled_name(m);
	if (bundled)
		fprintf(f, "%s", bundled);
	else
		quoted(f, entryemu_image_file(m));
	fprintf(f, "\n");
	const struct entryemu_regs *u = &s->user;
	fprintf(f, "user: {eax: 0x%x, ebx: 0x%x, ecx: 0x%x, edx: 0x%x, esi: 0x%x, edi: 0x%x, "
		"ebp: 0x%x, esp: 0x%x, eflags: 0x%x, cs: 0x%x, ss: 0x%x, ds: 0x%x, es: 0x%x, "
		"fs: 0x%x, gs: 0x%x}\n", u->eax, u->ebx, u->ecx, u->edx, u->esi, u->edi,
		u->ebp, u->esp, u->eflags, u->cs, u->ss, u->ds, u->es, u->fs, u->gs);
	fprintf(f, "bytes: [");
	for (size_t i = 0; i < s->code_len; i++)
		fprintf(f, "%s0x%02x", i ? ", " : "", s->code[i]);
	fprintf(f, "]\n");
	if (s->ti_flags) {
		flags_list(f, "ti_flags", s->ti_flags);
		fprintf(f, "\n");
	}
	if (s->pid)
		fprintf(f, "pid: %u\n", s->pid);
	if (s->insn_budget)
		fprintf(f, "budget: %llu\n", (unsigned long long)s->insn_budget);
	if (s->cr0_set)
		fprintf(f, "cr0: [%s%s%s]\n", s->cr0_set & 8 ? "ts" : "",
			(s->cr0_set & 4) ? (s->cr0_set & 8 ? ", em" : "em") : "",
			(s->cr0_set & 2) ? (s->cr0_set & 12 ? ", mp" : "mp") : "");
	if (s->vm86)
		fprintf(f, "vm86: 1\n");
	if (s->code_readonly)
		fprintf(f, "code_readonly: 1\n");
	if (s->cpu == ENTRYEMU_CPU_AMD)
		fprintf(f, "cpu: amd\n");
	if (s->thread_fn)
		fprintf(f, "kernel_thread: {fn: 0x%x, arg: 0x%x}\n", s->thread_fn, s->thread_arg);
	for (int t = 0; t < 2; t++) {
		int any = 0;
		for (unsigned i = 0; i < s->nedits; i++) {
			if ((int)s->edits[i].table != t)
				continue;
			if (!any)
				fprintf(f, "%s:\n", t == ENTRYEMU_GDT ? "gdt" : "idt");
			any = 1;
			fprintf(f, "  - {%s: %u, lo: 0x%08x, hi: 0x%08x}\n",
				t == ENTRYEMU_GDT ? "entry" : "vector", s->edits[i].index,
				s->edits[i].lo, s->edits[i].hi);
		}
	}
	if (s->ninjects) {
		fprintf(f, "inject:\n");
		for (unsigned i = 0; i < s->ninjects; i++) {
			const struct entryemu_inject *in = &s->injects[i];
			fprintf(f, "  - {");
			if (in->kind == ENTRYEMU_INJECT_NMI)
				fprintf(f, "nmi: 1");
			else
				fprintf(f, "%s: %d", in->kind == ENTRYEMU_INJECT_IRQ ? "irq" : "exception",
					in->vector);
			if (in->error_code_given)
				fprintf(f, ", error_code: 0x%x", in->error_code);
			if (in->at)
				fprintf(f, ", at: 0x%x", in->at);
			else
				fprintf(f, ", after: %llu", (unsigned long long)in->after);
			if (in->occurrence)
				fprintf(f, ", occurrence: %u", in->occurrence);
			fprintf(f, "}\n");
		}
	}
	/* what the caller's callouts did, call by call */
	int any = 0;
	size_t ncallouts = entryemu_result_ncallouts(r);
	for (size_t i = 0; i < ncallouts; i++) {
		const struct entryemu_callout_record *c = entryemu_result_callout(r, i);
		if (!c->custom)
			continue;
		if (!any)
			fprintf(f, "actions:\n");
		any = 1;
		int n = 0;
		for (size_t j = 0; j <= i; j++)
			n += !strcmp(entryemu_result_callout(r, j)->name, c->name);
		if (c->syscall >= 0)
			fprintf(f, "  - syscall: %d\n", c->syscall);
		else
			fprintf(f, "  - callout: %s\n", c->name);
		fprintf(f, "    occurrence: %d\n    return: 0x%x\n", n, c->ret);
		if (c->pt_regs_addr)
			regs_changed(f, &c->regs, &c->regs_after);
		if (c->ti_flags_after & ~c->ti_flags_before) {
			fprintf(f, "    ");
			flags_list(f, "ti_flags_set", c->ti_flags_after & ~c->ti_flags_before);
			fprintf(f, "\n");
		}
		if (c->ti_flags_before & ~c->ti_flags_after) {
			fprintf(f, "    ");
			flags_list(f, "ti_flags_clear", c->ti_flags_before & ~c->ti_flags_after);
			fprintf(f, "\n");
		}
		for (unsigned g = 0; g < c->ngdt; g++)
			fprintf(f, "%s      - {entry: %u, lo: 0x%08x, hi: 0x%08x}\n",
				g ? "" : "    gdt:\n", c->gdt[g].index, c->gdt[g].lo, c->gdt[g].hi);
	}
	fprintf(f, "expect:\n");
	observed(f, m, r);
	if (failure) {
		fprintf(f, "  recorded_failure: ");
		quoted(f, failure);
		fprintf(f, "\n");
	}
	return fclose(f) ? ENTRYEMU_E_IO : 0;
}

int entryemu_scenario_record(entryemu *m, const struct entryemu_setup *s,
			     const entryemu_result *r, const char *why, const char *path)
{
	return record(m, s, r, why, NULL, path);
}

int entryemu_scenario_record_failure(entryemu *m, const struct entryemu_setup *s,
				     const entryemu_result *r, const char *message,
				     const char *path)
{
	if (!message)
		return ENTRYEMU_E_INVAL;
	return record(m, s, r, message, message, path);
}
