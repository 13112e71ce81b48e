/*
 * entryemu: replay trap scenarios through the real i386 entry assembly.
 *
 *   entryemu replay [--trace] [--verbose] [--check-reset] [--image PATH] [FILE...]
 *   entryemu trace [--image PATH] FILE
 *   entryemu list
 *   entryemu coverage [--image PATH] [--require FILE] [FILE...]
 *   entryemu disasm [--image PATH] SYMBOL
 *   entryemu bench [--image PATH] [--quick] [--verbose]
 *   entryemu cost
 *
 * Exit status: 0 every expectation held, 1 an expectation failed,
 * 2 bad input (options, scenario file, image).
 */
#define _GNU_SOURCE 1		/* memfd_create */
#include "cli.h"
#include "line.h"

#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* The bench's child processes run with stdout and stderr silenced, so
 * only their timing and exit status reach the report. */
pid_t spawn_quiet(const char *path, char *const argv[])
{
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(path, argv);
		_exit(127);
	}
	return pid;
}

#ifndef ENTRYEMU_INSTALLED_SCENARIO_DIR
#define ENTRYEMU_INSTALLED_SCENARIO_DIR ENTRYEMU_SCENARIO_DIR
#endif

/*
 * Where the bundled scenarios are, the same for every command:
 * $ENTRYEMU_SCENARIO_DIR; else share/entryemu/scenarios beside the
 * directory this program runs from (an installed tree, wherever it was
 * installed); else the source tree it was built from; else the prefix
 * it was configured with.
 */
const char *scenario_dir(void)
{
	const char *env = getenv("ENTRYEMU_SCENARIO_DIR");
	if (env && *env)
		return env;
	static char beside[4096];	/* the process's one answer */
	char self[4000];
	ssize_t l = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash = l > 0 ? (self[l] = 0, strrchr(self, '/')) : NULL;
	if (slash) {
		*slash = 0;
		snprintf(beside, sizeof(beside), "%s/../share/entryemu/scenarios", self);
		DIR *b = opendir(beside);
		if (b) {
			closedir(b);
			return beside;
		}
	}
	DIR *d = opendir(ENTRYEMU_SCENARIO_DIR);
	if (d) {
		closedir(d);
		return ENTRYEMU_SCENARIO_DIR;
	}
	return ENTRYEMU_INSTALLED_SCENARIO_DIR;
}

/*
 * One machine per image path, reused across scenarios: each keeps the
 * code it translated.  When each image is needed once (the replay of one
 * file), one machine is kept and reopened on the next image instead: an
 * engine's set-up costs more than anything kept would save.
 */
/* Engines kept open, one per image: more than the bundled images (6). */
#define MACHINES_KEPT 8
struct machines {
	struct { char *path; entryemu *m; } e[MACHINES_KEPT];
	int n;
	int once;			/* each image is needed once */
};

/*
 * The machine for the image at path, opened if need be.  One that does
 * not open is reported on stderr, after where (the scenario's
 * "FILE:LINE:COL" that names the image) or "entryemu", and the report
 * is left in why if given.
 */
static entryemu *machine_for_at(struct machines *ms, const char *path, const char *where,
				char *why, size_t whylen)
{
	for (int i = 0; i < ms->n; i++)
		if (!strcmp(ms->e[i].path, path))
			return ms->e[i].m;
	entryemu *m = NULL;
	char err[1024] = "";
	int rc;
	if (ms->once && ms->n == 1) {
		free(ms->e[0].path);
		ms->n = 0;
		m = ms->e[0].m;
		rc = entryemu_reopen(&m, path, err, sizeof(err));
	} else {
		rc = entryemu_open(&m, path, err, sizeof(err));
		/*
		 * No room for another engine (each maps 1 GiB of address
		 * space): the oldest machine kept is reopened on this image
		 * instead.  Its image's code is translated again if it is
		 * needed again: slower, and the same runs.
		 */
		if (rc == ENTRYEMU_E_NOMEM && ms->n > 0) {
			m = ms->e[0].m;
			free(ms->e[0].path);
			memmove(&ms->e[0], &ms->e[1], (size_t)(ms->n - 1) * sizeof(ms->e[0]));
			ms->n--;
			err[0] = 0;
			rc = entryemu_reopen(&m, path, err, sizeof(err));
		}
	}
	if (rc) {
		char msg[2200];
		snprintf(msg, sizeof(msg), "%s: %s: %s", where ? where : "entryemu",
			 entryemu_strerror(rc), err[0] ? err : path);
		fprintf(stderr, "%s\n", msg);
		if (why)
			snprintf(why, whylen, "%s", msg);
		return NULL;
	}
	if (ms->n == MACHINES_KEPT) {
		entryemu_close(ms->e[0].m);
		free(ms->e[0].path);
		memmove(&ms->e[0], &ms->e[1], (MACHINES_KEPT - 1) * sizeof(ms->e[0]));
		ms->n--;
	}
	ms->e[ms->n].path = strdup(path);
	ms->e[ms->n].m = m;
	ms->n++;
	return m;
}

static entryemu *machine_for(struct machines *ms, const char *path)
{
	return machine_for_at(ms, path, NULL, NULL, 0);
}

static void machines_close(struct machines *ms)
{
	for (int i = 0; i < ms->n; i++) {
		entryemu_close(ms->e[i].m);
		free(ms->e[i].path);
	}
}

/* ---- printing ------------------------------------------------------------------ */

/* "  name value" pairs on one line: (name, value, digits) */
static void line_fields(struct line *l, const char *const *names, const uint32_t *v,
			const int *digits, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		line_put(l, names[i]);
		line_hex(l, v[i], digits[i]);
	}
}

static void print_regs(const char *title, const struct entryemu_regs *g)
{
	static const char *const n1[] = { "  eax ", " ebx ", " ecx ", " edx " };
	static const char *const n2[] = { "  esi ", " edi ", " ebp ", " esp " };
	static const char *const n3[] = { "  eip ", " eflags " };
	static const char *const n4[] = { "  cs ", " ss ", " ds ", " es ", " fs ", " gs " };
	static const int w8[] = { 8, 8, 8, 8 }, w4[] = { 4, 4, 4, 4, 4, 4 };
	struct line l = { .n = 0 };
	line_put(&l, title);
	line_put(&l, ":");
	line_print(&l);
	line_fields(&l, n1, (uint32_t[]){ g->eax, g->ebx, g->ecx, g->edx }, w8, 4);
	line_print(&l);
	line_fields(&l, n2, (uint32_t[]){ g->esi, g->edi, g->ebp, g->esp }, w8, 4);
	line_print(&l);
	line_fields(&l, n3, (uint32_t[]){ g->eip, g->eflags }, w8, 2);
	line_print(&l);
	line_fields(&l, n4, (uint32_t[]){ g->cs, g->ss, g->ds, g->es, g->fs, g->gs }, w4, 6);
	line_print(&l);
}

static void print_pt_regs(const struct entryemu_pt_regs *p)
{
	static const char *const n1[] = { "    pt_regs: ebx ", " ecx ", " edx ", " esi ", " edi ",
					  " ebp " };
	static const char *const n2[] = { "             eax ", " ds ", " es " };
	static const char *const n3[] = { "             eip ", " cs ", " eflags ", " esp ", " ss " };
	static const int w1[] = { 8, 8, 8, 8, 8, 8 }, w2[] = { 8, 4, 4 }, w3[] = { 8, 4, 8, 8, 4 };
	struct line l = { .n = 0 };
	line_fields(&l, n1, (uint32_t[]){ p->ebx, p->ecx, p->edx, p->esi, p->edi, p->ebp }, w1, 6);
	line_print(&l);
	line_fields(&l, n2, (uint32_t[]){ p->eax, p->xds & 0xffff, p->xes & 0xffff }, w2, 3);
	if (p->has_xgs) {
		line_put(&l, " gs ");
		line_hex(&l, p->xgs & 0xffff, 4);
	}
	if (p->has_xfs) {
		line_put(&l, " fs ");
		line_hex(&l, p->xfs & 0xffff, 4);
	}
	line_put(&l, " orig_eax ");
	line_hex(&l, p->orig_eax, 8);
	line_print(&l);
	line_fields(&l, n3, (uint32_t[]){ p->eip, p->xcs & 0xffff, p->eflags, p->esp,
					  p->xss & 0xffff }, w3, 5);
	line_print(&l);
}

/* The signal the default trap handlers sent, as the task would see it. */
static void print_siginfo(const entryemu_result *r)
{
	const struct entryemu_siginfo *si = entryemu_result_siginfo(r);
	if (!si->signo && !si->trap_no)
		return;
	const char *sn = entryemu_signal_name(si->signo);
	const char *cn = entryemu_si_code_name(si->signo, si->code);
	printf("siginfo: %s si_code %s%s%d%s si_addr 0x%08x trap_no %u error_code 0x%x\n",
	       si->signo ? (sn ? sn : "?") : "none", cn ? cn : "", cn ? " (" : "", si->code,
	       cn ? ")" : "", si->addr, si->trap_no, si->error_code);
}

static void json_siginfo(const entryemu_result *r)
{
	const struct entryemu_siginfo *si = entryemu_result_siginfo(r);
	const char *cn = entryemu_si_code_name(si->signo, si->code);
	printf(",\"siginfo\":{\"signo\":%d,\"si_code\":%d,\"si_code_name\":",
	       si->signo, si->code);
	if (cn)
		printf("\"%s\"", cn);
	else
		printf("null");
	printf(",\"si_addr\":\"0x%x\",\"trap_no\":%u,\"error_code\":\"0x%x\"}",
	       si->addr, si->trap_no, si->error_code);
}

static void print_details(entryemu *m, const entryemu_result *r)
{
	char sym[128], sym2[128];
	const char *msg = entryemu_result_message(r);
	enum entryemu_outcome o = entryemu_result_outcome(r);
	size_t trace_len = 0;
	if (strchr(msg, '\n'))		/* an oops report: lines of its own */
		printf("outcome: %s\n%s", entryemu_outcome_name(o), msg);
	else
		printf("outcome: %s (%s)\n", entryemu_outcome_name(o), msg);
	print_siginfo(r);
	printf("instructions: %llu\n", (unsigned long long)entryemu_result_insns(r));
	if (entryemu_result_trace(r, &trace_len))
		printf("trace hash: %016llx\n", (unsigned long long)entryemu_result_trace_hash(r));
	for (size_t i = 0; i < entryemu_result_nevents(r); i++) {
		const struct entryemu_event_record *e = entryemu_result_event(r, i);
		if (e->vector == ENTRYEMU_EVENT_SYSENTER)
			printf("event: sysenter");
		else
			printf("event: vector %d%s", e->vector, e->software ? " (int)" : "");
		if (e->has_error_code)
			printf(" error code 0x%x", e->error_code);
		printf(" from CPL %d to %d at %s -> %s, frame %08x\n", e->from_cpl, e->to_cpl,
		       entryemu_symbolize(m, e->eip, sym, sizeof(sym)),
		       entryemu_symbolize(m, e->handler, sym2, sizeof(sym2)), e->frame);
	}
	for (size_t i = 0; i < entryemu_result_ncallouts(r); i++) {
		const struct entryemu_callout_record *c = entryemu_result_callout(r, i);
		static const char *const names[] = { "  cs ", " ds ", " es ", " gs ", " ss ",
						     " esp " };
		static const int digits[] = { 4, 4, 4, 4, 4, 8 };
		struct line l = { .n = 0 };
		line_put(&l, "callout: ");
		line_put(&l, c->name);
		line_put(&l, " from ");
		line_put(&l, entryemu_symbolize(m, c->return_addr, sym, sizeof(sym)));
		line_fields(&l, names, (uint32_t[]){ c->cs, c->ds, c->es, c->gs, c->ss, c->esp },
			    digits, 6);
		line_print(&l);
		if (c->pt_regs_addr)
			print_pt_regs(&c->regs);
	}
	for (size_t i = 0; i < entryemu_result_nfixups(r); i++) {
		const struct entryemu_fixup_record *f = entryemu_result_fixup(r, i);
		printf("fixup: %s -> %s (vector %d, error code 0x%x)\n",
		       entryemu_symbolize(m, f->insn, sym, sizeof(sym)),
		       entryemu_symbolize(m, f->fixup, sym2, sizeof(sym2)), f->vector,
		       f->error_code);
	}
	for (size_t i = 0; i < entryemu_result_nfindings(r); i++)
		printf("finding: %s\n", entryemu_result_finding(r, i)->text);
	for (size_t i = 0; i < entryemu_result_nreturns(r); i++)
		print_regs("returned to ring 3", entryemu_result_return(r, i));
	print_regs("final", entryemu_result_final(r));
}

/* ---- JSON ------------------------------------------------------------------------ */

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c == '\n')
			printf("\\n");
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* An address: its hex value and where it is ("0xc010018c", "restore_nocheck_notrace+0x9"). */
static void json_addr(entryemu *m, const char *key, uint32_t a)
{
	char sym[128];
	printf("\"%s\":\"0x%08x\",\"%s_symbol\":", key, a, key);
	json_str(entryemu_symbolize(m, a, sym, sizeof(sym)));
}

static void json_regs(entryemu *m, const struct entryemu_regs *g)
{
	printf("{\"eax\":\"0x%08x\",\"ebx\":\"0x%08x\",\"ecx\":\"0x%08x\",\"edx\":\"0x%08x\","
	       "\"esi\":\"0x%08x\",\"edi\":\"0x%08x\",\"ebp\":\"0x%08x\",\"esp\":\"0x%08x\",",
	       g->eax, g->ebx, g->ecx, g->edx, g->esi, g->edi, g->ebp, g->esp);
	json_addr(m, "eip", g->eip);
	printf(",\"eflags\":\"0x%08x\",\"cs\":\"0x%04x\",\"ss\":\"0x%04x\",\"ds\":\"0x%04x\","
	       "\"es\":\"0x%04x\",\"fs\":\"0x%04x\",\"gs\":\"0x%04x\"}", g->eflags, g->cs, g->ss,
	       g->ds, g->es, g->fs, g->gs);
}

/* Bad input as one JSON object: the file, and the error with its place. */
static void json_error(const char *file, const char *error)
{
	printf("{\"file\":");
	json_str(file);
	printf(",\"verdict\":\"BADINPUT\",\"error\":");
	json_str(error);
	printf("}\n");
}

/*
 * One object per run, on one line: addresses as hex strings beside their
 * symbols, and with --trace every executed instruction.
 */
static void print_json(entryemu *m, const char *file, const char *scenario,
		       const char *image_name, const char *image, const entryemu_result *r,
		       int failures, const char *report, int trace)
{
	size_t trace_len = 0;
	printf("{\"file\":");
	json_str(file);
	printf(",\"scenario\":");
	json_str(scenario);
	printf(",\"image\":");
	json_str(image_name);
	printf(",\"image_path\":");
	json_str(image);
	printf(",\"verdict\":\"%s\",\"failures\":%d,\"report\":", failures ? "FAIL" : "PASS",
	       failures);
	json_str(report);
	printf(",\"outcome\":\"%s\",\"message\":",
	       entryemu_outcome_name(entryemu_result_outcome(r)));
	json_str(entryemu_result_message(r));
	printf(",\"signal\":%d,\"instructions\":%llu", entryemu_result_signal(r),
	       (unsigned long long)entryemu_result_insns(r));
	json_siginfo(r);
	const uint32_t *t = entryemu_result_trace(r, &trace_len);
	if (t)
		printf(",\"trace_hash\":\"%016llx\"",
		       (unsigned long long)entryemu_result_trace_hash(r));
	printf(",\"events\":[");
	for (size_t i = 0; i < entryemu_result_nevents(r); i++) {
		const struct entryemu_event_record *e = entryemu_result_event(r, i);
		printf("%s{\"vector\":%d,\"software\":%d,\"has_error_code\":%d,"
		       "\"error_code\":\"0x%x\",\"from_cpl\":%d,\"to_cpl\":%d,", i ? "," : "",
		       e->vector, e->software, e->has_error_code,
		       e->has_error_code ? e->error_code : 0, e->from_cpl, e->to_cpl);
		json_addr(m, "eip", e->eip);
		printf(",");
		json_addr(m, "handler", e->handler);
		printf(",\"frame\":\"0x%08x\"}", e->frame);
	}
	printf("],\"callouts\":[");
	for (size_t i = 0; i < entryemu_result_ncallouts(r); i++) {
		const struct entryemu_callout_record *c = entryemu_result_callout(r, i);
		printf("%s{\"name\":", i ? "," : "");
		json_str(c->name);
		printf(",");
		json_addr(m, "return_addr", c->return_addr);
		printf(",\"pt_regs\":\"0x%08x\"}", c->pt_regs_addr);
	}
	printf("],\"fixups\":[");
	for (size_t i = 0; i < entryemu_result_nfixups(r); i++) {
		const struct entryemu_fixup_record *f = entryemu_result_fixup(r, i);
		printf("%s{", i ? "," : "");
		json_addr(m, "insn", f->insn);
		printf(",");
		json_addr(m, "fixup", f->fixup);
		printf(",\"vector\":%d,\"error_code\":\"0x%x\"}", f->vector, f->error_code);
	}
	printf("],\"findings\":[");
	for (size_t i = 0; i < entryemu_result_nfindings(r); i++) {
		const struct entryemu_finding *f = entryemu_result_finding(r, i);
		printf("%s{\"check\":\"%s\",", i ? "," : "", entryemu_check_name(f->check));
		json_addr(m, "eip", f->eip);
		printf(",\"text\":");
		json_str(f->text);
		printf("}");
	}
	printf("],\"final\":");
	json_regs(m, entryemu_result_final(r));
	if (trace && t) {
		printf(",\"trace\":[");
		for (size_t i = 0; i < trace_len; i++) {
			char line[256];
			entryemu_disasm(m, t[i], line, sizeof(line));
			printf("%s", i ? "," : "");
			json_str(line);
		}
		/* what happened between instructions: the record of each kind it names */
		static const char *const kinds[] = { "event", "call", "returned", "fixup",
						     "ring3" };
		printf("],\"marks\":[");
		for (size_t i = 0; i < entryemu_result_nmarks(r); i++) {
			const struct entryemu_mark *k = entryemu_result_mark(r, i);
			printf("%s{\"after\":%zu,\"kind\":\"%s\",\"record\":%zu", i ? "," : "",
			       k->after, kinds[k->kind], k->record);
			if (k->kind == ENTRYEMU_MARK_RETURNED)
				printf(",\"value\":\"0x%x\"", k->value);
			printf("}");
		}
		printf("]");
	}
	printf("}\n");
}

/* Marked lines sit under the instruction column of the trace lines. */
#define MARK "         ==> "

/* What the CPU did between two traced instructions, one marked line each. */
static void print_mark(entryemu *m, const entryemu_result *r, const struct entryemu_mark *k)
{
	char a[128], b[128];
	switch (k->kind) {
	case ENTRYEMU_MARK_EVENT: {
		const struct entryemu_event_record *e = entryemu_result_event(r, k->record);
		if (e->vector == ENTRYEMU_EVENT_SYSENTER)
			printf(MARK "event: sysenter");
		else
			printf(MARK "event: vector %d%s", e->vector, e->software ? " (int)" : "");
		if (e->has_error_code)
			printf(" error code 0x%x", e->error_code);
		printf(", CPL %d -> %d, at %s -> %s, frame %08x\n", e->from_cpl, e->to_cpl,
		       entryemu_symbolize(m, e->eip, a, sizeof(a)),
		       entryemu_symbolize(m, e->handler, b, sizeof(b)), e->frame);
		if (e->from_cpl != e->to_cpl)
			printf(MARK "ring %d -> %d\n", e->from_cpl, e->to_cpl);
		break;
	}
	case ENTRYEMU_MARK_CALL: {
		const struct entryemu_callout_record *c = entryemu_result_callout(r, k->record);
		if (c->syscall >= 0 && c->pt_regs_addr)	/* asmlinkage: from pt_regs */
			printf(MARK "call %s(0x%x, 0x%x, 0x%x, 0x%x, 0x%x, 0x%x)", c->name,
			       c->regs.ebx, c->regs.ecx, c->regs.edx, c->regs.esi, c->regs.edi,
			       c->regs.ebp);
		else		/* fastcall: the first arguments in %eax, %edx */
			printf(MARK "call %s(%%eax 0x%x, %%edx 0x%x)", c->name, c->eax, c->edx);
		if (c->pt_regs_addr)
			printf(", pt_regs %08x", c->pt_regs_addr);
		printf(", from %s\n", entryemu_symbolize(m, c->return_addr, a, sizeof(a)));
		break;
	}
	case ENTRYEMU_MARK_RETURNED:
		printf(MARK "%s returned 0x%x\n", entryemu_result_callout(r, k->record)->name,
		       k->value);
		break;
	case ENTRYEMU_MARK_FIXUP: {
		const struct entryemu_fixup_record *f = entryemu_result_fixup(r, k->record);
		printf(MARK "fixup: %s -> %s (vector %d, error code 0x%x)\n",
		       entryemu_symbolize(m, f->insn, a, sizeof(a)),
		       entryemu_symbolize(m, f->fixup, b, sizeof(b)), f->vector, f->error_code);
		break;
	}
	case ENTRYEMU_MARK_RING3: {
		const struct entryemu_regs *g = entryemu_result_return(r, k->record);
		printf(MARK "ring 0 -> 3, at %s, esp %08x\n",
		       entryemu_symbolize(m, g->eip, a, sizeof(a)), g->esp);
		break;
	}
	}
}

/*
 * Every executed instruction, one line each in columns, and after it a
 * marked line for each event, call, return, fixup and ring switch that
 * happened before the next one.
 */
static void print_trace(entryemu *m, const entryemu_result *r)
{
	/*
	 * A trace runs the same few hundred instructions over and over:
	 * each is decoded once (the memory printed is the run's final
	 * state either way).  Open addressing; a full table decodes anew.
	 */
	enum { SLOTS = 4096 };
	static struct { uint32_t addr; char *line; } seen[SLOTS];
	size_t mk = 0, nmk = entryemu_result_nmarks(r), trace_len = 0;
	const uint32_t *trace = entryemu_result_trace(r, &trace_len);
	for (size_t i = 0; trace && i < trace_len; i++) {
		char line[320];
		const char *text = NULL;
		size_t h = (trace[i] * 2654435761u) % SLOTS, probes = 0;
		for (; probes < 16 && seen[h].line; probes++, h = (h + 1) % SLOTS)
			if (seen[h].addr == trace[i]) {
				text = seen[h].line;
				break;
			}
		if (!text) {
			entryemu_disasm(m, trace[i], line, sizeof(line));
			text = line;
			if (probes < 16 && !seen[h].line && (seen[h].line = strdup(line)))
				seen[h].addr = trace[i];
		}
		puts(text);
		for (; mk < nmk && entryemu_result_mark(r, mk)->after <= i + 1; mk++)
			print_mark(m, r, entryemu_result_mark(r, mk));
	}
	for (; mk < nmk; mk++)		/* what happened after the last one */
		print_mark(m, r, entryemu_result_mark(r, mk));
	for (size_t h = 0; h < SLOTS; h++) {	/* the next run may be another image */
		free(seen[h].line);
		seen[h].line = NULL;
	}
}

/* ---- replay ---------------------------------------------------------------------- */

int scenario_files(const char *dir, char ***out)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	char **v = NULL;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l < 6 || strcmp(e->d_name + l - 5, ".yaml"))
			continue;
		char **nv = realloc(v, (size_t)(n + 1) * sizeof(*v));
		if (!nv)
			break;
		v = nv;
		size_t pl = strlen(dir) + l + 2;
		v[n] = malloc(pl);
		snprintf(v[n++], pl, "%s/%s", dir, e->d_name);
	}
	closedir(d);
	for (int i = 1; i < n; i++)		/* sorted: stable table order */
		for (int j = i; j > 0 && strcmp(v[j - 1], v[j]) > 0; j--) {
			char *t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	*out = v;
	return n;
}

/* The files named, or (none named) every bundled scenario. */
struct file_list {
	char **v;
	int n, owned;
};

static int file_list_get(int argc, char **argv, struct file_list *fl)
{
	fl->v = argv;
	fl->n = argc;
	fl->owned = 0;
	if (argc)
		return 0;
	fl->n = scenario_files(scenario_dir(), &fl->v);
	if (fl->n <= 0) {
		fprintf(stderr, "entryemu: no scenarios in %s\n", scenario_dir());
		return -1;
	}
	fl->owned = 1;
	return 0;
}

static void file_list_free(struct file_list *fl)
{
	if (!fl->owned)
		return;
	for (int i = 0; i < fl->n; i++)
		free(fl->v[i]);
	free(fl->v);
}

/* The scenario's own name for image path ("post"), or the path itself. */
static const char *image_name_of(const entryemu_scenario *s, const char *image)
{
	for (int i = 0; i < entryemu_scenario_nimages(s); i++)
		if (!strcmp(entryemu_scenario_image(s, i), image))
			return entryemu_scenario_image_name(s, i);
	return image;
}

/* A file's BADINPUT line for --json or the table (the message went to stderr). */
static void badinput_line(const char *path, const char *err, const struct opts *o, int table)
{
	if (o->json)
		json_error(path, err);
	else if (table)
		printf("%-40s %-8s\n", path, "BADINPUT");
}

/*
 * The machine for image, which is scenario s's image image_index (or,
 * -1, --image's); NULL with the report in err, which for an image the
 * scenario names points at its name in the file.
 */
static entryemu *scenario_machine(struct machines *ms, const entryemu_scenario *s,
				  const char *path, const char *image, int image_index,
				  char *err, size_t errlen)
{
	char loc[1024], field[32];
	snprintf(field, sizeof(field), "image[%d]", image_index);
	const char *at = image_index >= 0 ? entryemu_scenario_locate(s, field, loc, sizeof(loc))
					  : NULL;
	const char *name = image_index >= 0 ? entryemu_scenario_image_name(s, image_index) : NULL;
	struct stat st;
	if (!name || strchr(name, '/') || stat(image, &st) == 0)
		return machine_for_at(ms, image, at, err, errlen);
	/*
	 * A bare name is an image of the image directory, which the report
	 * names; one that reads like a file name ("mine.elf") was meant as a
	 * path.
	 */
	int file_like = strchr(name, '.') != NULL;
	snprintf(err, errlen, "%s: image '%s': no such image (no file %s)%s%s", at ? at : path,
		 name, image, file_like ? "; a path needs a '/': ./" : "", file_like ? name : "");
	fprintf(stderr, "%s\n", err);
	return NULL;
}

/* Run scenario s on one image into r; returns its exit status. */
static int replay_on(struct machines *ms, entryemu_result *r, const entryemu_scenario *s,
		     const char *path, const char *image, int image_index, const char *label,
		     const struct opts *o, int details, int table)
{
	char err[2200];
	entryemu *m = scenario_machine(ms, s, path, image, image_index, err, sizeof(err));
	if (!m) {
		badinput_line(path, err, o, table);
		return EXIT_BADINPUT;
	}
	entryemu_binding *b = NULL;
	if (entryemu_scenario_bind(s, m, &b, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		if (o->json)
			json_error(path, err);
		return EXIT_BADINPUT;
	}
	entryemu_binding_set_flags(b, (o->trace ? ENTRYEMU_RUN_TRACE : 0) |
				      (o->check_reset ? ENTRYEMU_RUN_CHECK_RESET : 0) |
				      (o->short_blocks ? ENTRYEMU_RUN_SHORT_NEW_BLOCKS : 0) |
				      (o->check_cfi ? ENTRYEMU_RUN_CHECK_CFI : 0));
	if (o->gdb) {
		unsigned port = 0;
		if (entryemu_gdb_listen(m, o->gdb, &port, err, sizeof(err))) {
			fprintf(stderr, "entryemu: %s\n", err);
			entryemu_binding_free(b);
			return EXIT_BADINPUT;
		}
		fprintf(stderr, "gdb: waiting on port %u for %s [%s]; in gdb: file %s, "
			"target remote :%u\n", port, path, label, entryemu_image_file(m), port);
		fflush(stderr);
	}
	int rc = entryemu_binding_run(b, r);
	if (rc == ENTRYEMU_E_ENGINE) {
		fprintf(stderr, "%s: %s\n", path, entryemu_last_error(m));
		entryemu_binding_free(b);
		return EXIT_FAIL;
	}
	if (rc) {
		/* a setup field the machine refused: point at the scenario's line for it */
		const char *field = entryemu_last_error_field(m), *where = NULL;
		char loc[512];
		if (field)
			where = entryemu_scenario_locate(s, field, loc, sizeof(loc));
		fprintf(stderr, "%s: %s\n", where ? where : path, entryemu_last_error(m));
		if (o->json) {
			snprintf(err, sizeof(err), "%s: %s", where ? where : path,
				 entryemu_last_error(m));
			json_error(path, err);
		}
		entryemu_binding_free(b);
		return EXIT_BADINPUT;
	}
	char report[8192];
	int failures = entryemu_binding_check(b, r, report, sizeof(report));
	entryemu_binding_free(b);
	if (failures < 0) {
		fprintf(stderr, "%s: %s\n", path, entryemu_strerror(failures));
		return EXIT_FAIL;
	}
	if (o->json) {
		char name[160];
		snprintf(name, sizeof(name), "%s%s", entryemu_scenario_name(s), label);
		entryemu_set_syntax(m, o->intel ? ENTRYEMU_SYNTAX_INTEL : ENTRYEMU_SYNTAX_ATT);
		print_json(m, path, name, image_name_of(s, image), image, r, failures, report,
			   o->trace);
		return failures ? EXIT_FAIL : EXIT_PASS;
	}
	if (details) {
		printf("scenario: %s%s\n", entryemu_scenario_name(s), label);
		if (*entryemu_scenario_description(s))
			printf("  %s\n", entryemu_scenario_description(s));
		printf("image: %s\n", image);
		if (o->trace) {
			printf("trace:\n");
			entryemu_set_syntax(m, o->intel ? ENTRYEMU_SYNTAX_INTEL : ENTRYEMU_SYNTAX_ATT);
			print_trace(m, r);
		}
		print_details(m, r);
	}
	if (table) {
		char name[128];
		for (size_t i = 0; i < entryemu_result_nfindings(r) && o->verbose; i++)
			printf("  finding: %s\n", entryemu_result_finding(r, i)->text);
		snprintf(name, sizeof(name), "%s%s", entryemu_scenario_name(s), label);
		printf("%-40s %-8s %12llu %6zu\n", name, failures ? "FAIL" : "PASS",
		       (unsigned long long)entryemu_result_insns(r), entryemu_result_nfixups(r));
	} else {
		printf("verdict: %s\n", failures ? "FAIL" : "PASS");
	}
	if (failures)
		fprintf(stderr, "%s%s%s", label[0] ? "on image " : "",
			label[0] ? label + 1 : "", label[0] ? ":\n" : "");
	if (failures)
		fprintf(stderr, "%s", report);
	return failures ? EXIT_FAIL : EXIT_PASS;
}

/*
 * replay_one's status for a file that does not apply to the --image
 * kernel's family: below EXIT_PASS, so it never makes the exit status
 * worse, and counted apart.
 */
#define STATUS_SKIP (-1)
/* a unit of a parallel replay that no worker finished */
#define STATUS_UNFINISHED (-2)

/* Say that s does not apply to the family of the image at path. */
static void print_skip(const entryemu_scenario *s, const char *path, const entryemu *m,
		       const struct opts *o, int table)
{
	const char *fam = entryemu_image_family(m);
	if (o->json) {
		printf("{\"file\":");
		json_str(path);
		printf(",\"scenario\":");
		json_str(entryemu_scenario_name(s));
		printf(",\"verdict\":\"SKIP\",\"family\":");
		json_str(fam ? fam : "");
		printf("}\n");
	} else if (table) {
		printf("%-40s %-8s (not written for this image, of the %s family)\n",
		       entryemu_scenario_name(s), "SKIP", fam ? fam : "no");
	} else {
		printf("scenario: %s\nverdict: SKIP (not written for %s, of the %s family)\n",
		       entryemu_scenario_name(s), entryemu_image_file(m), fam ? fam : "no");
	}
}

/*
 * Run one file on each of its images (or --image), or on its image
 * number only (-1: all); returns its exit status.  A scenario already
 * loaded (pre) is used, and left to the caller.
 */
static int replay_one(struct machines *ms, entryemu_result *r, const char *path,
		      const struct opts *o, int details, int table, entryemu_scenario *pre,
		      int only)
{
	char err[1024];
	entryemu_scenario *s = pre;
	if (!s && entryemu_scenario_load(path, &s, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		badinput_line(path, err, o, table);
		return EXIT_BADINPUT;
	}
	int worst = EXIT_PASS, n = o->image ? 1 : entryemu_scenario_nimages(s);
	char why[2200];
	entryemu *m = o->image ? machine_for_at(ms, o->image, NULL, why, sizeof(why)) : NULL;
	if (o->image && !m) {
		badinput_line(path, why, o, table);
		if (!pre)
			entryemu_scenario_free(s);
		return EXIT_BADINPUT;
	}
	if (m && !entryemu_scenario_applies(s, m)) {
		print_skip(s, path, m, o, table);
		if (!pre)
			entryemu_scenario_free(s);
		return STATUS_SKIP;
	}
	for (int i = 0; i < n; i++) {
		if (only >= 0 && i != only)
			continue;
		char label[80] = "";
		if (n > 1)
			snprintf(label, sizeof(label), " [%s]", entryemu_scenario_image_name(s, i));
		int rc = replay_on(ms, r, s, path,
				   o->image ? o->image : entryemu_scenario_image(s, i),
				   o->image ? -1 : i, label, o, details, table);
		if (rc > worst)
			worst = rc;
	}
	if (!pre)
		entryemu_scenario_free(s);
	return worst;
}

/* ---- coverage ---------------------------------------------------------------- */

/* Labels a file lists (one per line, '#' comments) that no run reached. */
static int check_required(const char *file, const entryemu_coverage *c)
{
	/* a regular file only: opening a FIFO would wait for a writer */
	struct stat st;
	int fd = open(file, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	FILE *f = fd >= 0 && !fstat(fd, &st) && S_ISREG(st.st_mode) ? fdopen(fd, "r") : NULL;
	if (!f) {
		if (fd >= 0)
			close(fd);
		fprintf(stderr, "entryemu coverage: cannot read %s (a regular file)\n", file);
		return EXIT_BADINPUT;
	}
	char line[256];
	int missing = 0, lineno = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		char *hash = strchr(line, '#');
		if (hash)
			*hash = 0;
		char name[128];
		if (sscanf(line, "%127s", name) != 1)
			continue;
		size_t i, n = entryemu_coverage_nlabels(c);
		for (i = 0; i < n; i++)
			if (!strcmp(entryemu_coverage_label(c, i)->name, name))
				break;
		if (i == n) {
			fprintf(stderr, "%s:%d:1: no label '%s' in the image\n", file, lineno, name);
			missing++;
		} else if (!entryemu_coverage_label(c, i)->runs) {
			fprintf(stderr, "%s:%d:1: label '%s' was not reached\n", file, lineno, name);
			missing++;
		}
	}
	fclose(f);
	return missing ? EXIT_FAIL : EXIT_PASS;
}

static int cmd_coverage(int argc, char **argv, const struct opts *o)
{
	struct file_list fl;
	int worst = EXIT_PASS;
	if (file_list_get(argc, argv, &fl))
		return EXIT_BADINPUT;
	char **files = fl.v;
	int n = fl.n;
	char post[4096];
	const char *image = o->image ? o->image
				     : entryemu_image_path(ENTRYEMU_POST_PATCH, post, sizeof(post));
	if (!image) {
		fprintf(stderr, "entryemu coverage: the image path is too long\n");
		file_list_free(&fl);
		return EXIT_BADINPUT;
	}
	struct machines ms = { .n = 0 };
	entryemu *m = machine_for(&ms, image);
	entryemu_result *r = NULL;
	if (!m || entryemu_result_new(&r)) {
		if (m)
			fprintf(stderr, "entryemu coverage: out of memory\n");
		machines_close(&ms);
		file_list_free(&fl);
		return EXIT_BADINPUT;
	}
	entryemu_coverage *c = entryemu_coverage_new(m);
	for (int i = 0; c && i < n; i++) {
		char err[1024];
		entryemu_scenario *s;
		if (entryemu_scenario_load(files[i], &s, err, sizeof(err))) {
			fprintf(stderr, "%s\n", err);
			worst = EXIT_BADINPUT;
			continue;
		}
		/* a scenario counts on the images it names (with --image: if written for its family) */
		int applies = o->image != NULL && entryemu_scenario_applies(s, m);
		for (int j = 0; !applies && j < entryemu_scenario_nimages(s); j++)
			applies = !strcmp(entryemu_scenario_image(s, j), image);
		entryemu_binding *b = NULL;
		if (applies && entryemu_scenario_bind(s, m, &b, err, sizeof(err)) == 0) {
			entryemu_binding_set_flags(b, ENTRYEMU_RUN_TRACE);
			if (entryemu_binding_run(b, r) == 0)
				entryemu_coverage_add(c, r);
			entryemu_binding_free(b);
		} else if (applies) {
			fprintf(stderr, "%s\n", err);
			worst = EXIT_BADINPUT;
		}
		entryemu_scenario_free(s);
	}
	entryemu_result_free(r);
	if (!c) {
		machines_close(&ms);
		file_list_free(&fl);
		return EXIT_BADINPUT;
	}
	size_t nl = entryemu_coverage_nlabels(c), ne = entryemu_coverage_nextable(c);
	size_t lr = 0, er = 0, et = 0;
	printf("%-36s %6s\n", "label", "runs");
	for (size_t i = 0; i < nl; i++) {
		const struct entryemu_label_coverage *l = entryemu_coverage_label(c, i);
		printf("%-36s %6u\n", l->name, l->runs);
		lr += l->runs > 0;
	}
	printf("\n%-36s %-24s %7s %6s\n", "__ex_table insn", "fixup", "reached", "taken");
	for (size_t i = 0; i < ne; i++) {
		const struct entryemu_extable_coverage *e = entryemu_coverage_extable(c, i);
		char a[128], b[128];
		printf("%-36s %-24s %7u %6u\n", entryemu_symbolize(m, e->insn, a, sizeof(a)),
		       entryemu_symbolize(m, e->fixup, b, sizeof(b)), e->reached, e->taken);
		er += e->reached > 0;
		et += e->taken > 0;
	}
	printf("\nruns: %u; labels reached: %zu/%zu; __ex_table entries reached: %zu/%zu, "
	       "fixups taken: %zu/%zu\n", entryemu_coverage_runs(c), lr, nl, er, ne, et, ne);
	if (o->require) {
		int rc = check_required(o->require, c);
		if (rc > worst)
			worst = rc;
	}
	entryemu_coverage_free(c);
	machines_close(&ms);
	file_list_free(&fl);
	return worst;
}

/* entryemu COMMAND --help */
static int command_help(const char *cmd)
{
	static const struct { const char *cmd, *text; } h[] = {
		{ "replay", "usage: entryemu replay [--trace] [--verbose] [--json] [--check-reset]\n"
			    "                       [--check-cfi] [--short-blocks] [--image PATH] [FILE...]\n"
			    "Run each scenario FILE (default: every bundled scenario) on each image it\n"
			    "names, and check its expectations and the checkers' findings.\n"
			    "One file: events, callouts with pt_regs, fixups, findings, final state and\n"
			    "a verdict; several: a line each (scenario, verdict, instructions, fixups).\n"
			    "  --trace    every executed instruction, with delivered events marked\n"
			    "  --json     one JSON object per run\n"
			    "  --verbose  details for every scenario, even with several files\n"
			    "  --image    run against this image instead of the scenario's\n"
			    "  --check-reset  before each run, compare all guest memory with its\n"
			    "             state after boot (a test of the library's reset)\n"
			    "  --check-cfi    also hold the image's unwind table (DWARF CFI) against\n"
			    "             the stack at every entry-code instruction (slower)\n"
			    "  --short-blocks  translate new user code a few instructions at a time\n"
			    "             (the results are the same; a test of that)\n"
			    "exit status: 0 all held, 1 an expectation or checker failed, 2 bad input\n" },
		{ "trace", "usage: entryemu trace [--image PATH] FILE\n"
			   "Replay FILE printing every executed instruction (Capstone, image symbols).\n" },
		{ "list", "usage: entryemu list\n"
			  "The bundled scenarios, one line each: name and description.\n" },
		{ "coverage", "usage: entryemu coverage [--image PATH] [--require FILE] [SCENARIO...]\n"
			      "How many runs reached each code label and __ex_table entry of the image\n"
			      "(default: the post-patch image).  --require fails (exit 1) unless every\n"
			      "label FILE lists (one per line) was reached.\n" },
		{ "disasm", "usage: entryemu disasm [--image post|pre|PATH] [-n COUNT] [--syntax intel] PLACE\n"
			    "Disassemble COUNT instructions (default 32) of the image from PLACE:\n"
			    "a symbol, symbol+offset, or a hexadecimal address.\n" },
		{ "bench", "usage: entryemu bench [--quick] [--verbose] [--image PATH]\n"
			   "Warm round trips per second (int $0x80, sysenter, the %gs fixup) on one\n"
			   "engine with a full reset and all checkers on, the per-phase breakdown and\n"
			   "cold replays (of every bundled file too); name=value unit lines, the last\n"
			   "roundtrip_rate=N round trips/s.  --verbose adds a warm_run line for every\n"
			   "bundled scenario on every image and a cold_run line for every file.\n" },
		{ "explore", "usage: entryemu explore [--image PATH] [--out DIR] [-j N] [--known C[@PLACE|~WORDS],...]\n"
		  "                        [--json] FILE...\n"
		  "Re-run each scenario with an IRQ and an NMI injected before every kernel\n"
		  "instruction of its run and a debug exception after each user access (a\n"
		  "data breakpoint), and, for a scenario that makes a system call, with the\n"
		  "syscall number 0, NR_syscalls - 1, NR_syscalls and -1 and every argument\n"
		  "PAGE_OFFSET - 4 .. PAGE_OFFSET by int $0x80 and by sysenter; one variant\n"
		  "at a time, all checkers on, on N worker processes (default: one per core\n"
		  "from 2,000 variants).  Variants with a new finding, an oops, an\n"
		  "unsupported event, an emulator error or an exhausted budget are written\n"
		  "as reproducer scenarios into DIR (default entryemu-explore/).  A progress\n"
		  "bar on a terminal, a summary at the end.  Findings of the checkers named\n"
		  "by --known (a kernel's known bugs) are counted, not reported.  Exit 1 if\n"
		  "anything else was found (docs/findings.md).\n" },
		{ "cost", "usage: entryemu cost\n"
			  "Instructions the %gs-saving patch adds per round trip (pre- against\n"
			  "post-patch image, each listed), and the native cost of those %gs\n"
			  "operations on this CPU (docs/cost.md).\n" },
	};
	for (size_t i = 0; i < sizeof(h) / sizeof(h[0]); i++)
		if (!strcmp(h[i].cmd, cmd)) {
			fputs(h[i].text, stdout);
			return EXIT_PASS;
		}
	return -1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: entryemu COMMAND [OPTIONS] [ARGS]\n"
		"\n"
		"commands:\n"
		"  replay [FILE...]   run scenarios and check their expectations\n"
		"                     (no FILE: every bundled scenario)\n"
		"  trace FILE         replay FILE printing every instruction executed\n"
		"  list               list the bundled scenarios\n"
		"  coverage [FILE...] labels and __ex_table entries the scenarios reach\n"
		"                     (on the post-patch image, or --image)\n"
		"  disasm PLACE       disassemble from a symbol, symbol+offset or address\n"
		"  bench [--quick]    warm and cold replay speed, name=value lines\n"
		"  diff [FILE...]     run each scenario on QEMU too, compare event by event\n"
		"  cost               what saving %%gs costs: instructions pre/post, native ns\n"
		"  explore FILE...    inject an IRQ and an NMI before every kernel instruction\n"
		"                     of each scenario's run, a #DB after user accesses, try\n"
		"                     syscall number and pointer boundaries; write reproducers\n"
		"\n"
		"options:\n"
		"  --image PATH       run against this kernel image instead\n"
		"  --trace            (replay) print the instruction trace\n"
		"  --verbose, -v      (replay) print details for every scenario; (bench) every\n"
		"                     warm run\n"
		"  --require FILE     (coverage) fail unless every label FILE lists is reached\n"
		"  --json             (replay) one JSON object per run\n"
		"  --check-reset      (replay) check each reset restored all guest memory\n"
		"  --check-cfi        (replay) run the cfi checker too (the unwind table)\n"
		"  --short-blocks     (replay) new user code's blocks a few instructions long\n"
		"  --out DIR          (explore) where reproducer scenarios go\n"
		"  --known C,C...     (explore) these checkers' findings are known, not finds;\n"
		"                     C@PLACE: C's finding seen at PLACE only; C~WORDS: C's\n"
		"                     findings whose report says WORDS\n"
		"  --gdb HOST:PORT    (replay) serve each run to gdb (port 0: any free one)\n"
		"  --syntax att|intel (trace, disasm) assembler syntax, AT&T by default\n"
		"  -n COUNT           (disasm) instructions to show (default 32)\n"
		"  -j N, --jobs N     (replay) run the files, or one file's images, on N worker\n"
		"                     processes (default: one per core); output stays in order;\n"
		"                     (explore) run the variants on N worker processes\n"
		"  --quick            (bench) a short run\n"
		"  --help, -h         this text\n"
		"  --version          the version (also: entryemu version)\n"
		"\n"
		"exit status: 0 all expectations held, 1 one failed, 2 bad input\n");
}

/* Copy what fd holds, from its start, to out. */
/* Bytes [from, to) of fd (to < 0: to its end) onto out. */
static void copy_out(int fd, off_t from, off_t to, FILE *out)
{
	char buf[8192];
	fflush(out);
	while (to < 0 || from < to) {
		size_t want = to < 0 || to - from > (off_t)sizeof(buf) ? sizeof(buf) :
			      (size_t)(to - from);
		ssize_t n = pread(fd, buf, want, from);
		if (n <= 0 || fwrite(buf, 1, (size_t)n, out) != (size_t)n)
			break;
		from += n;
	}
	fflush(out);
}

/*
 * A file for a worker's output: in memory (memfd), not under /tmp,
 * which may be a disk; tmpfile() where memfd_create is refused.  -1 if
 * neither can be had.
 */
static int memory_file(void)
{
	int fd = memfd_create("entryemu-replay", MFD_CLOEXEC);
	if (fd >= 0)
		return fd;
	FILE *f = tmpfile();
	fd = f ? dup(fileno(f)) : -1;
	if (f)
		fclose(f);
	return fd;
}

/* The most images one scenario file names (the library allows fewer). */
#define REPLAY_MAX_IMAGES 16

/*
 * A piece of a replay that a worker takes whole: a file on all its
 * images, or one file (loaded already) on one of them.
 */
struct unit {
	const char *path;
	entryemu_scenario *s;		/* NULL: the worker loads it */
	int image;			/* -1: every image */
};

/* A unit's estimated work, for ordering: its file's size (0 if unknown). */
static off_t unit_weight(const struct unit *u)
{
	struct stat st;
	return stat(u->path, &st) == 0 ? st.st_size : 0;
}

/*
 * The order the workers take the units in: the largest files first
 * (longest processing time first, a file's size standing for its work),
 * ties in file order.  A long run taken last keeps one worker busy while
 * the others have nothing left: the bundled suite's 1,000-syscall loop,
 * 206th of 227 files, made its replay 10-15% slower than with the loop
 * taken first.  The biggest scenario files are the loops and the fault
 * storms, with the most to explain.  NULL if out of memory (file order).
 */
static int *unit_order(const struct unit *u, int n)
{
	int *order = malloc((size_t)n * sizeof(*order));
	off_t *w = malloc((size_t)n * sizeof(*w));
	if (!order || !w) {
		free(order);
		free(w);
		return NULL;
	}
	for (int i = 0; i < n; i++) {
		w[i] = i && u[i].path == u[i - 1].path ? w[i - 1] : unit_weight(&u[i]);
		int j = i;
		for (; j > 0 && w[order[j - 1]] < w[i]; j--)
			order[j] = order[j - 1];
		order[j] = i;
	}
	free(w);
	return order;
}

/*
 * Where a unit's output went: the worker that ran it, and the spans of
 * that worker's two output files it wrote (end -1: the unit did not
 * finish, its output runs to the file's end).  In shared memory.
 */
struct unit_done {
	int status, worker;
	off_t out_from, out_to, err_from, err_to;
};

/*
 * The units on `workers` child processes, each with engines of its own.
 * A worker takes the next unit not taken (a counter in shared memory,
 * over unit_order()), so a long file does not hold up the ones after it.
 * Each worker writes its units' standard output and error to two files
 * of its own (two a worker, not two a unit: a replay of hundreds of files
 * would run out of descriptors) and notes in shared memory the span each
 * unit wrote and its status; the parent prints the spans in unit order,
 * so the output is what one process would print.
 */
static int replay_parallel(const struct unit *u, int n, int workers, const struct opts *o,
			   int details, int table, int once, int *skipped)
{
	struct shared { int next; struct unit_done done[]; } *shared;
	size_t shared_len = sizeof(*shared) + (size_t)n * sizeof(struct unit_done);
	shared = mmap(NULL, shared_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED) {
		fprintf(stderr, "entryemu: out of memory\n");
		return EXIT_BADINPUT;
	}
	int *next = &shared->next;
	struct unit_done *done = shared->done;
	int *order = unit_order(u, n);
	int rc = EXIT_PASS, out[2 * 64];
	for (int k = 0; k < 2 * workers; k++)
		out[k] = -1;
	for (int k = 0; k < 2 * workers; k++)
		if ((out[k] = memory_file()) < 0) {
			fprintf(stderr, "entryemu: no temporary file for the output\n");
			rc = EXIT_BADINPUT;
			goto done;
		}
	for (int i = 0; i < n; i++)
		done[i] = (struct unit_done){ .status = STATUS_UNFINISHED, .worker = -1 };
	fflush(stdout);
	fflush(stderr);
	pid_t pids[64];
	int started = 0;
	for (int k = 0; k < workers; k++) {
		pid_t pid = fork();
		if (pid < 0)
			break;
		if (pid == 0) {
			static struct machines ms;	/* left to the exit, as in replay */
			ms.once = once;
			entryemu_result *r = NULL;
			if (entryemu_result_new(&r) || dup2(out[2 * k], 1) < 0 ||
			    dup2(out[2 * k + 1], 2) < 0)
				_exit(EXIT_BADINPUT);
			for (int j; (j = __atomic_fetch_add(next, 1, __ATOMIC_RELAXED)) < n;) {
				int i = order ? order[j] : j;
				struct unit_done *d = &done[i];
				fflush(stdout);
				fflush(stderr);
				d->worker = k;
				d->out_from = lseek(1, 0, SEEK_CUR);
				d->err_from = lseek(2, 0, SEEK_CUR);
				d->out_to = d->err_to = -1;
				int status = replay_one(&ms, r, u[i].path, o, details, table, u[i].s,
							u[i].image);
				fflush(stdout);
				fflush(stderr);
				d->out_to = lseek(1, 0, SEEK_CUR);
				d->err_to = lseek(2, 0, SEEK_CUR);
				d->status = status;
			}
			entryemu_result_free(r);
			free(order);
			_exit(0);
		}
		pids[started++] = pid;
	}
	int died = 0;			/* the signal a worker died of */
	for (int k = 0; k < started; k++) {
		int ws = 0;
		if (waitpid(pids[k], &ws, 0) == pids[k] && WIFSIGNALED(ws))
			died = WTERMSIG(ws);
	}
	if (started < workers) {
		fprintf(stderr, "entryemu: cannot start %d workers\n", workers);
		rc = EXIT_BADINPUT;
	}
	for (int i = 0; i < n; i++) {
		struct unit_done *d = &done[i];
		if (d->worker >= 0) {
			copy_out(out[2 * d->worker], d->out_from, d->out_to, stdout);
			copy_out(out[2 * d->worker + 1], d->err_from, d->err_to, stderr);
		}
		if (d->status == STATUS_UNFINISHED) {
			/* the engine aborted the process on it (or a worker died) */
			if (died)
				fprintf(stderr, "entryemu: %s: not finished: the worker replaying "
					"it died of signal %d (%s)\n", u[i].path, died, strsignal(died));
			d->status = EXIT_BADINPUT;
		}
		if (d->status > rc)
			rc = d->status;
		*skipped += d->status == STATUS_SKIP;
	}
done:
	for (int k = 0; k < 2 * workers; k++)
		if (out[k] >= 0)
			close(out[k]);
	free(order);
	munmap(shared, shared_len);
	return rc;
}

/* The count of skipped files, apart from passes and failures. */
static void print_skipped(int skipped, const struct opts *o)
{
	if (skipped && !o->json)
		printf("skipped: %d scenario%s not written for this image\n",
		       skipped, skipped == 1 ? "" : "s");
}

static int cmd_replay(int argc, char **argv, struct opts *o)
{
	struct file_list fl;
	if (file_list_get(argc, argv, &fl))
		return EXIT_BADINPUT;
	char **files = fl.v;
	int n = fl.n;
	int table = n > 1 && !o->trace && !o->json, worst = EXIT_PASS;
	int details = !table || o->verbose;
	if (table)
		printf("%-40s %-8s %12s %6s\n", "scenario", "verdict", "instructions", "fixups");
	/*
	 * The work, in units a worker takes whole: each file, or for one
	 * file the images it names (loaded here: its images are known
	 * only then, and the workers inherit it).
	 */
	struct unit one[REPLAY_MAX_IMAGES], *u = NULL;
	entryemu_scenario *s1 = NULL;
	int nu = 0;
	char err[1024];
	if (n == 1 && !o->image && o->jobs != 1 &&
	    entryemu_scenario_load(files[0], &s1, err, sizeof(err)) == 0) {
		for (int i = 0; i < entryemu_scenario_nimages(s1) &&
				i < REPLAY_MAX_IMAGES; i++)
			one[nu++] = (struct unit){ .path = files[0], .s = s1, .image = i };
		u = one;
	} else if ((u = calloc((size_t)(n ? n : 1), sizeof(*u)))) {
		for (int i = 0; i < n; i++)
			u[nu++] = (struct unit){ .path = files[i], .image = -1 };
	} else {
		fprintf(stderr, "entryemu: out of memory\n");
		file_list_free(&fl);
		return EXIT_BADINPUT;
	}
	/* by default one worker per core, each building the engines it needs */
	int workers = o->jobs > 0 ? o->jobs : (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (workers > nu)
		workers = nu;
	if (workers > 64)
		workers = 64;
	int skipped = 0;
	if (workers > 1) {
		worst = replay_parallel(u, nu, workers, o, details, table, n == 1, &skipped);
	} else {
		/*
		 * The engines are left to the process's exit: closing them
		 * (freeing each one's translation buffers and tables) takes a
		 * tenth of a cold replay, and the kernel reclaims the lot
		 * anyway.  Static, so they stay reachable to leak checkers.
		 */
		static struct machines ms;
		ms.once = n == 1;
		entryemu_result *r = NULL;	/* one result, reused by every run */
		if (entryemu_result_new(&r)) {
			fprintf(stderr, "entryemu: out of memory\n");
			worst = EXIT_BADINPUT;
			nu = 0;
		}
		for (int i = 0; i < nu; i++) {
			int rc = replay_one(&ms, r, u[i].path, o, details, table, u[i].s,
					    u[i].image);
			if (rc > worst)
				worst = rc;
			skipped += rc == STATUS_SKIP;
		}
		entryemu_result_free(r);
	}
	if (u != one)
		free(u);
	entryemu_scenario_free(s1);
	file_list_free(&fl);
	print_skipped(skipped, o);
	return worst;
}

static int cmd_list(void)
{
	char **files;
	int n = scenario_files(scenario_dir(), &files);
	if (n < 0) {
		fprintf(stderr, "entryemu: no scenarios in %s\n", scenario_dir());
		return EXIT_BADINPUT;
	}
	int worst = EXIT_PASS;
	for (int i = 0; i < n; i++) {
		char err[1024];
		entryemu_scenario *s;
		if (entryemu_scenario_load(files[i], &s, err, sizeof(err))) {
			fprintf(stderr, "%s\n", err);
			worst = EXIT_BADINPUT;
		} else {
			printf("%-32s %s\n", entryemu_scenario_name(s),
			       entryemu_scenario_description(s));
			entryemu_scenario_free(s);
		}
		free(files[i]);
	}
	free(files);
	return worst;
}

/* SYMBOL, SYMBOL+OFF or an address, in the image of m; 0 if none. */
static uint32_t resolve_place(entryemu *m, const char *place)
{
	char name[256], *end;
	const char *plus = strrchr(place, '+');
	size_t n = plus ? (size_t)(plus - place) : strlen(place);
	if (n < sizeof(name)) {
		memcpy(name, place, n);
		name[n] = 0;
		uint32_t a = entryemu_symbol(m, name);
		unsigned long off = plus ? strtoul(plus + 1, &end, 0) : 0;
		if (a && (!plus || (end != plus + 1 && !*end)))
			return a + (uint32_t)off;
	}
	unsigned long a = strtoul(place, &end, 16);
	return end != place && !*end ? (uint32_t)a : 0;
}

static int cmd_disasm(int argc, char **argv, const struct opts *o)
{
	if (argc != 1) {
		fprintf(stderr, "entryemu disasm: give one SYMBOL, SYMBOL+OFF or address\n");
		return EXIT_BADINPUT;
	}
	char post[4096];
	const char *image = o->image ? o->image
				     : entryemu_image_path(ENTRYEMU_POST_PATCH, post, sizeof(post));
	struct machines ms = { .n = 0 };
	entryemu *m = image ? machine_for(&ms, image) : NULL;
	if (!m)
		return EXIT_BADINPUT;
	uint32_t a = resolve_place(m, argv[0]);
	if (!a) {
		fprintf(stderr, "entryemu disasm: no symbol or address '%s' in the image\n", argv[0]);
		machines_close(&ms);
		return EXIT_BADINPUT;
	}
	uint8_t byte;
	if (entryemu_mem_read(m, a, &byte, 1)) {
		fprintf(stderr, "entryemu disasm: %s: nothing is mapped at 0x%08x\n", argv[0], a);
		machines_close(&ms);
		return EXIT_BADINPUT;
	}
	entryemu_set_syntax(m, o->intel ? ENTRYEMU_SYNTAX_INTEL : ENTRYEMU_SYNTAX_ATT);
	/* COUNT instructions, across labels: entry code falls through them */
	for (int i = 0; i < (o->count ? o->count : 32); i++) {
		char line[256];
		int len = entryemu_disasm(m, a, line, sizeof(line));
		printf("%s\n", line);
		if (len <= 0)
			break;
		a += (uint32_t)len;
	}
	machines_close(&ms);
	return EXIT_PASS;
}

/*
 * The options each command reads (the o-> fields its code uses); any
 * other given to it is refused rather than ignored.
 */
static const struct option_use {
	int c;			/* getopt_long's value */
	const char *name;
	const char *cmds;	/* the commands that read it, space-separated */
} option_uses[] = {
	{ 'i', "--image", "replay trace coverage bench explore disasm" },
	{ 't', "--trace", "replay trace" },
	{ 'v', "--verbose", "replay trace bench" },
	{ 'r', "--require", "coverage" },
	{ 'q', "--quick", "bench" },
	{ 'J', "--json", "replay trace explore" },
	{ 'j', "--jobs", "replay trace explore" },
	{ 'g', "--gdb", "replay trace" },
	{ 'S', "--syntax", "replay trace disasm" },
	{ 'n', "-n", "disasm" },
	{ 'c', "--check-reset", "replay trace" },
	{ 'C', "--check-cfi", "replay trace" },
	{ 'B', "--short-blocks", "replay trace" },
	{ 'o', "--out", "explore" },
	{ 'K', "--known", "explore" },
};

/* Does the space-separated list hold word? */
static int listed(const char *list, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = list; (p = strstr(p, word)); p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || !p[n]))
			return 1;
	return 0;
}

/* A command given an option it does not read, or operands it takes none of. */
static int refuse_unread(const char *cmd, const int *given, int argc, char **argv)
{
	static const char *const commands = "replay trace list coverage bench cost explore disasm";
	if (!listed(commands, cmd))
		return 0;		/* the unknown command's own message follows */
	for (size_t k = 0; k < sizeof(option_uses) / sizeof(option_uses[0]); k++)
		if (given[k] && !listed(option_uses[k].cmds, cmd)) {
			fprintf(stderr, "entryemu %s: %s does not apply (it is for: %s)\n", cmd,
				option_uses[k].name, option_uses[k].cmds);
			return 1;
		}
	if (argc > 0 && listed("list bench cost", cmd)) {
		fprintf(stderr, "entryemu %s: takes no FILE: '%s'\n", cmd, argv[0]);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	/*
	 * No transparent huge pages for this process: Unicorn asks for them
	 * on its 1 GiB code buffer, so each engine's first translation
	 * faulted in a 2 MiB page and cleared it, a tenth of a cold replay,
	 * for code that fits in a few 4 KiB pages.  (Inherited by workers.)
	 */
	prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
	if (argc < 2) {
		usage(stderr);
		return EXIT_BADINPUT;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		usage(stdout);
		return EXIT_PASS;
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
		printf("entryemu %s\n", entryemu_version_string());
		return EXIT_PASS;
	}
	/* diff parses its own options; replay --oracle qemu is diff */
	if (!strcmp(cmd, "diff"))
		return cmd_diff(argc - 1, argv + 1);
	for (int i = 2; !strcmp(cmd, "replay") && i < argc; i++)
		if (!strcmp(argv[i], "--oracle") || !strncmp(argv[i], "--oracle=", 9))
			return cmd_diff(argc - 1, argv + 1);
	struct opts o = { 0 };
	static const struct option lo[] = {
		{ "image", required_argument, NULL, 'i' },
		{ "trace", no_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "require", required_argument, NULL, 'r' },
		{ "quick", no_argument, NULL, 'q' },
		{ "json", no_argument, NULL, 'J' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "gdb", required_argument, NULL, 'g' },
		{ "syntax", required_argument, NULL, 'S' },
		{ "count", required_argument, NULL, 'n' },
		{ "check-reset", no_argument, NULL, 'c' },
		{ "check-cfi", no_argument, NULL, 'C' },
		{ "short-blocks", no_argument, NULL, 'B' },
		{ "out", required_argument, NULL, 'o' },
		{ "known", required_argument, NULL, 'K' },
		{ NULL, 0, NULL, 0 },
	};
	optind = 2;
	int c, given[sizeof(option_uses) / sizeof(option_uses[0])] = { 0 };
	while ((c = getopt_long(argc, argv, "i:tvhj:n:", lo, NULL)) != -1) {
		for (size_t k = 0; k < sizeof(option_uses) / sizeof(option_uses[0]); k++)
			given[k] |= option_uses[k].c == c;
		switch (c) {
		case 'i': o.image = optarg; break;
		case 't': o.trace = 1; break;
		case 'v': o.verbose = 1; break;
		case 'h':
			if (command_help(cmd) < 0)
				usage(stdout);
			return EXIT_PASS;
		case 'r': o.require = optarg; break;
		case 'K': o.known = optarg; break;
		case 'q': o.quick = 1; break;
		case 'J': o.json = 1; break;
		case 'g': o.gdb = optarg; o.jobs = 1; break;
		case 'n': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v < 1 || v > 100000) {
				fprintf(stderr, "entryemu: -n %s: give a count, 1 to 100000\n", optarg);
				return EXIT_BADINPUT;
			}
			o.count = (int)v;
			break;
		}
		case 'S':
			if (strcmp(optarg, "att") && strcmp(optarg, "intel")) {
				fprintf(stderr, "entryemu: --syntax %s: att or intel\n", optarg);
				return EXIT_BADINPUT;
			}
			o.intel = !strcmp(optarg, "intel");
			break;
		case 'j': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*optarg < '0' || *optarg > '9' || *end || v < 1 || v > 64) {
				fprintf(stderr, "entryemu: -j %s: give a number of workers, 1 to 64\n",
					optarg);
				return EXIT_BADINPUT;
			}
			o.jobs = (int)v;
			break;
		}
		case 'c': o.check_reset = 1; break;
		case 'C': o.check_cfi = 1; break;
		case 'B': o.short_blocks = 1; break;
		case 'o': o.out = optarg; break;
		default: usage(stderr); return EXIT_BADINPUT;
		}
	}
	argc -= optind;
	argv += optind;
	if (refuse_unread(cmd, given, argc, argv))
		return EXIT_BADINPUT;
	/* --image names a bundled image (post, pre, post-preempt) or a path */
	char named[4096];
	if (o.image && !strchr(o.image, '/') && !strstr(o.image, ".elf") &&
	    entryemu_image_named(o.image, named, sizeof(named)) && !access(named, R_OK))
		o.image = named;
	if (!strcmp(cmd, "replay"))
		return cmd_replay(argc, argv, &o);
	if (!strcmp(cmd, "trace")) {
		if (argc != 1) {
			fprintf(stderr, "entryemu trace: give one FILE\n");
			return EXIT_BADINPUT;
		}
		o.trace = 1;
		return cmd_replay(argc, argv, &o);
	}
	if (!strcmp(cmd, "list"))
		return cmd_list();
	if (!strcmp(cmd, "coverage"))
		return cmd_coverage(argc, argv, &o);
	if (!strcmp(cmd, "bench"))
		return cmd_bench(argc, argv, &o);
	if (!strcmp(cmd, "cost"))
		return cmd_cost(argc, argv, &o);
	if (!strcmp(cmd, "explore"))
		return cmd_explore(argc, argv, &o);
	if (!strcmp(cmd, "disasm"))
		return cmd_disasm(argc, argv, &o);
	fprintf(stderr, "entryemu: unknown command '%s'\n", cmd);
	usage(stderr);
	return EXIT_BADINPUT;
}
