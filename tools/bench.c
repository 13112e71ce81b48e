/*
 * entryemu bench: how fast warm runs are on one engine, per class of
 * scenario and for the slowest bundled one; a cold replay from process
 * start to exit; the whole suite's replay with its peak memory; the
 * floor of plain Unicorn under a warm run; and, when QEMU is installed,
 * the boot of a test kernel beside it all.  One line per figure,
 * "name=value unit"; the last line is roundtrip_per_s=N (warm int $0x80
 * getpid).  Every run resets the machine fully and runs with all
 * checkers on and tracing off, as a test suite would.
 */
#define _GNU_SOURCE 1
#include "bench.h"
#include "cli.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

double bench_now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* movl $20,%eax ; int $0x80 */
static const uint8_t int80_getpid[] = { 0xb8, 20, 0, 0, 0, 0xcd, 0x80 };
/* movl $20,%eax ; call 0xffffe400 (relative to 0x08048005) */
static uint8_t sysenter_getpid[10];
/*
 * %gs = TLS entry 6; set_thread_area({6, empty}) ; the exit's pop of %gs
 * faults and its fixup returns 0:
 * movl $0x33,%ecx ; movl %ecx,%gs ; push $0x28 ; push $0 ; push $0 ;
 * push $6 ; movl %esp,%ebx ; movl $243,%eax ; int $0x80 ; addl $16,%esp
 */
static const uint8_t gs_fixup[] = {
	0xb9, 0x33, 0, 0, 0, 0x8e, 0xe9, 0x6a, 0x28, 0x6a, 0x00, 0x6a, 0x00, 0x6a, 0x06,
	0x89, 0xe3, 0xb8, 0xf3, 0, 0, 0, 0xcd, 0x80, 0x83, 0xc4, 0x10,
};

#define BATCHES BENCH_BATCHES

/* The median of n values; sorts them in place (insertion sort: n is small). */
double bench_median(double *t, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && t[j - 1] > t[j]; j--) {
			double x = t[j];
			t[j] = t[j - 1];
			t[j - 1] = x;
		}
	return t[n / 2];
}

struct warm {
	double us;		/* per run */
	double per_s;
	uint64_t insns;
	size_t findings;	/* the checkers' findings in a run: the kernel's */
	char check[32];		/* the first one's checker */
	struct entryemu_profile avg;
	char why[512];		/* why there is no figure */
};

/* A run that is not a round trip (an oops, a signal, a stop) is no figure. */
static int warm_done(const entryemu_result *r, struct warm *w)
{
	enum entryemu_outcome o = entryemu_result_outcome(r);
	if (o == ENTRYEMU_DONE)
		return 0;
	snprintf(w->why, sizeof(w->why), "the run ended %s: %s", entryemu_outcome_name(o),
		 entryemu_result_message(r));
	return -1;
}

/* Seconds per run of a batch of each warm runs of s. */
static double run_batch_s(entryemu *m, const struct entryemu_setup *s, entryemu_result *r,
			  long each)
{
	double t0 = bench_now_s();
	for (long i = 0; i < each; i++)
		entryemu_run(m, s, r);
	return (bench_now_s() - t0) / (double)each;
}

static int warm_runs(entryemu *m, entryemu_result *r, const uint8_t *code, size_t len,
		     const struct entryemu_desc_edit *edit, long n, struct warm *w)
{
	struct entryemu_setup s = { 0 };
	s.code = code;
	s.code_len = len;
	if (edit) {
		s.edits = edit;
		s.nedits = 1;
	}
	w->why[0] = 0;
	for (long i = 0; i < n / 10 + 10; i++) {	/* warm the translation cache */
		int rc = entryemu_run(m, &s, r);
		if (rc) {
			snprintf(w->why, sizeof(w->why), "%s: %s", entryemu_strerror(rc),
				 entryemu_last_error(m));
			return -1;
		}
		if (warm_done(r, w))
			return -1;
	}
	/*
	 * A finding is the kernel's (the CONFIG_PREEMPT image's %gs fixup
	 * leaves lockdep told off, docs/findings.md): the run is still a
	 * round trip and is timed, and the report says so.
	 */
	w->findings = entryemu_result_nfindings(r);
	w->check[0] = 0;
	if (w->findings)
		snprintf(w->check, sizeof(w->check), "%s",
			 entryemu_check_name(entryemu_result_finding(r, 0)->check));
	/*
	 * The runs in BATCHES batches, and the median batch: a host that
	 * steals the CPU now and then (a virtual machine's neighbours) moves
	 * a mean, not a median.
	 */
	double per_run[BATCHES];
	long each = n / BATCHES > 0 ? n / BATCHES : 1;
	for (int b = 0; b < BATCHES; b++) {
		per_run[b] = run_batch_s(m, &s, r, each);
		if (warm_done(r, w))
			return -1;
		if (entryemu_result_nfindings(r) != w->findings) {
			snprintf(w->why, sizeof(w->why), "%zu findings in one run, %zu in another",
				 w->findings, entryemu_result_nfindings(r));
			return -1;
		}
	}
	double t = bench_median(per_run, BATCHES);
	w->us = t * 1e6;
	w->per_s = 1.0 / t;
	w->insns = entryemu_result_insns(r);
	/* the breakdown, from a separate set of profiled runs */
	memset(&w->avg, 0, sizeof(w->avg));
	s.flags = ENTRYEMU_RUN_PROFILE;
	long np = n / 4 + 1;
	for (long i = 0; i < np; i++) {
		entryemu_run(m, &s, r);
		const struct entryemu_profile *pr = entryemu_result_profile(r);
		w->avg.reset_ns += pr->reset_ns;
		w->avg.deliver_ns += pr->deliver_ns;
		w->avg.callout_ns += pr->callout_ns;
		w->avg.check_ns += pr->check_ns;
		w->avg.total_ns += pr->total_ns;
	}
	w->avg.reset_ns /= (uint64_t)np;
	w->avg.deliver_ns /= (uint64_t)np;
	w->avg.callout_ns /= (uint64_t)np;
	w->avg.check_ns /= (uint64_t)np;
	w->avg.total_ns /= (uint64_t)np;
	return 0;
}

static void print_warm(const char *name, const struct warm *w)
{
	printf("%s=%.3f us\n", name, w->us);
	printf("%s_rate=%.0f runs/s\n", name, w->per_s);
	printf("%s_length=%llu instructions\n", name, (unsigned long long)w->insns);
	if (w->findings)
		printf("%s_findings=%zu findings (%s)\n", name, w->findings, w->check);
}

/*
 * "entryemu replay [FILE]" as a process of its own, its output thrown
 * away, as a cold user would run it: its wall time in ms and peak RSS
 * in KiB; 0, or -1 if it could not run or did not pass.
 */
static int replay_process(const char *file, double *ms, long *rss_kib)
{
	char self[4096];
	ssize_t l = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (l <= 0)
		return -1;
	self[l] = 0;
	double t0 = bench_now_s();
	char *argv[] = { self, "replay", (char *)file, NULL };
	pid_t pid = spawn_quiet(self, argv);
	int status = 0;
	struct rusage ru;
	if (pid < 0 || wait4(pid, &status, 0, &ru) != pid)
		return -1;
	*ms = (bench_now_s() - t0) * 1e3;
	*rss_kib = ru.ru_maxrss;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* Median of a cold "entryemu replay FILE" (fork, exec, load, run, exit). */
static double cold_replay_ms(const char *file, int n)
{
	double t[64];
	long rss;
	if (n > 64)
		n = 64;
	for (int i = 0; i < n; i++)
		if (replay_process(file, &t[i], &rss))
			return -1;
	return bench_median(t, n);
}

/* ---- scenarios, warm and cold -------------------------------------------------- */

/* One machine per image path, kept for the whole bench. */
struct engines {
	struct { char *path; entryemu *m; } e[8];
	int n;
};

static entryemu *engine_for(struct engines *es, const char *path)
{
	for (int i = 0; i < es->n; i++)
		if (!strcmp(es->e[i].path, path))
			return es->e[i].m;
	entryemu *m = NULL;
	char err[512];
	if (es->n == 8)
		return NULL;
	int rc = entryemu_open(&m, path, err, sizeof(err));
	if (rc == ENTRYEMU_E_NOMEM && es->n > 0) {
		/* no room for another engine: the oldest is reopened, as in replay */
		m = es->e[0].m;
		free(es->e[0].path);
		memmove(&es->e[0], &es->e[1], (size_t)(es->n - 1) * sizeof(es->e[0]));
		es->n--;
		rc = entryemu_reopen(&m, path, err, sizeof(err));
	}
	if (rc)
		return NULL;
	es->e[es->n].path = strdup(path);
	es->e[es->n++].m = m;
	return m;
}

static void engines_close(struct engines *es)
{
	for (int i = 0; i < es->n; i++) {
		entryemu_close(es->e[i].m);
		free(es->e[i].path);
	}
	es->n = 0;
}

/*
 * Warm runs of image i of scenario s: bound once, run n times in
 * batches; microseconds per run (the median batch), or -1 if a run
 * misses an expectation.
 */
static double warm_scenario(struct engines *es, const entryemu_scenario *s, int i,
			    entryemu_result *r, long n)
{
	entryemu *m = engine_for(es, entryemu_scenario_image(s, i));
	entryemu_binding *b = NULL;
	char err[1024];
	if (!m || entryemu_scenario_bind(s, m, &b, err, sizeof(err)))
		return -1;
	double t = -1;
	int batches = n >= 5 * BATCHES ? BATCHES : 5;
	long each = n / batches > 0 ? n / batches : 1;
	double per[BATCHES];
	char report[512];
	if (entryemu_binding_run(b, r) == 0 &&		/* translated once */
	    entryemu_binding_check(b, r, report, sizeof(report)) == 0) {
		for (int k = 0; k < batches; k++) {
			double t0 = bench_now_s();
			for (long j = 0; j < each; j++)
				entryemu_binding_run(b, r);
			per[k] = (bench_now_s() - t0) / (double)each;
		}
		if (entryemu_binding_check(b, r, report, sizeof(report)) == 0)
			t = bench_median(per, batches) * 1e6;
	}
	entryemu_binding_free(b);
	return t;
}

/* The classes a kernel developer's scenarios fall into, each with one bundled example. */
static const struct { const char *name, *file; } classes[] = {
	{ "syscall", "syscall-int80-getpid.yaml" },
	{ "fixup", "seg-gs-tls-invalidated.yaml" },
	{ "inject_irq", "irq-user.yaml" },
	{ "inject_nmi", "nmi-kernel.yaml" },
	{ "exception_ring0", "syscall-sysenter-sixth-arg-kernel.yaml" },
	{ "vm86", "vm86-irq-signal.yaml" },
};

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every bundled scenario on every image it names: the slowest warm run. */
/* Issue 11's bound on a warm run, per run and per kernel entry. */
#define WARM_BOUND_US 20.0

struct warm_tally {
	int runs;
	int over, over_per_entry;	/* runs above WARM_BOUND_US */
	double max_us, max_per_entry;
	char slowest[512], slowest_entry[512];
};

/*
 * Every bundled scenario warm on every image it names: the tally, and
 * with each, a line per run (warm_run.FILE.IMAGE=us, then per entry).
 */
/* The bundled scenario files' names, sorted (each to be freed); -1 without the directory. */
static int bundled_names(char **names, int max)
{
	DIR *d = opendir(scenario_dir());
	if (!d)
		return -1;
	int nn = 0;
	struct dirent *e;
	while ((e = readdir(d)) && nn < max) {
		size_t l = strlen(e->d_name);
		if (l > 5 && !strcmp(e->d_name + l - 5, ".yaml"))
			names[nn++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, (size_t)nn, sizeof(names[0]), by_name);
	return nn;
}

static int warm_all(struct engines *es, entryemu_result *r, long n, int each,
		    struct warm_tally *w)
{
	char *names[512];
	int nn = bundled_names(names, 512);
	if (nn < 0)
		return -1;
	int rc = 0;
	memset(w, 0, sizeof(*w));
	for (int k = 0; k < nn; k++) {
		char path[4096], err[1024];
		entryemu_scenario *s = NULL;
		snprintf(path, sizeof(path), "%s/%s", scenario_dir(), names[k]);
		if (entryemu_scenario_load(path, &s, err, sizeof(err))) {
			rc = -1;
		} else {
			for (int i = 0; i < entryemu_scenario_nimages(s); i++) {
				const char *image = entryemu_scenario_image_name(s, i);
				double t = warm_scenario(es, s, i, r, n);
				if (t < 0) {
					snprintf(w->slowest, sizeof(w->slowest), "%s [%s] failed",
						 names[k], image);
					rc = -1;
					continue;
				}
				w->runs++;
				/* a loop of 1,000 syscalls is 1,000 entries: per entry too */
				size_t ev = entryemu_result_nevents(r);
				double pe = t / (double)(ev ? ev : 1);
				w->over += t > WARM_BOUND_US;
				w->over_per_entry += pe > WARM_BOUND_US;
				if (each)
					printf("warm_run.%s.%s=%.3f us %.3f us/entry\n", names[k], image,
					       t, pe);
				if (pe > w->max_per_entry) {
					w->max_per_entry = pe;
					snprintf(w->slowest_entry, sizeof(w->slowest_entry), "%s [%s]",
						 names[k], image);
				}
				if (t > w->max_us) {
					w->max_us = t;
					snprintf(w->slowest, sizeof(w->slowest), "%s [%s]", names[k],
						 image);
				}
			}
			entryemu_scenario_free(s);
		}
		free(names[k]);
	}
	return rc;
}

/* Issue 11's bound on a cold `entryemu replay FILE'. */
#define COLD_BOUND_MS 5.0

struct cold_tally {
	int files, over;		/* files whose median is above COLD_BOUND_MS */
	double max_ms;
	char slowest[512];
};

/*
 * Every bundled scenario file replayed cold, each on every image it
 * names as `entryemu replay FILE' does: the median of n per file, and
 * with each, a line per file (cold_run.FILE=ms).
 */
static int cold_all(int n, int each, struct cold_tally *c)
{
	char *names[512];
	int nn = bundled_names(names, 512), rc = 0;
	memset(c, 0, sizeof(*c));
	if (nn < 0)
		return -1;
	for (int k = 0; k < nn; k++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", scenario_dir(), names[k]);
		double ms = cold_replay_ms(path, n);
		if (ms < 0) {
			snprintf(c->slowest, sizeof(c->slowest), "%s failed", names[k]);
			rc = -1;
		} else {
			c->files++;
			c->over += ms > COLD_BOUND_MS;
			if (each)
				printf("cold_run.%s=%.2f ms\n", names[k], ms);
			if (ms > c->max_ms) {
				c->max_ms = ms;
				snprintf(c->slowest, sizeof(c->slowest), "%s", names[k]);
			}
		}
		free(names[k]);
	}
	return rc;
}

/*
 * overhead_ratio_same_code: the warm int $0x80 getpid over the floor on
 * its own instructions, batch after batch in turn, and the median of the
 * BENCH_BATCHES ratios.  Timed apart, each figure is a median of its own
 * batches, taken seconds apart on a machine whose speed changes from
 * one minute to the next (a virtual machine's neighbours): the two
 * medians then compare two machines.  In turn, each pair sees the same
 * one.  -1 with why if the floor gives no figure.
 */
static double paired_ratio(entryemu *m, entryemu_result *r, long n, char *why, size_t len)
{
	size_t insns = 0;
	struct floor *f = bench_floor_code_open(m, int80_getpid, sizeof(int80_getpid),
						n / 10 + 10, 0, &insns, why, len);
	if (!f)
		return -1;
	struct entryemu_setup s = { .code = int80_getpid, .code_len = sizeof(int80_getpid) };
	double ratio[BENCH_BATCHES];
	long each = n / BENCH_BATCHES > 0 ? n / BENCH_BATCHES : 1;
	for (int b = 0; b < BENCH_BATCHES; b++) {
		double lib = run_batch_s(m, &s, r, each);
		if (entryemu_result_outcome(r) != ENTRYEMU_DONE) {
			snprintf(why, len, "a warm run of the pairs ended %s: %s",
				 entryemu_outcome_name(entryemu_result_outcome(r)),
				 entryemu_result_message(r));
			bench_floor_code_close(f);
			return -1;
		}
		double fl = bench_floor_code_batch(f, each);
		if (fl <= 0) {
			snprintf(why, len, "the floor's run of the pairs raised an INT other than 0x80");
			bench_floor_code_close(f);
			return -1;
		}
		ratio[b] = lib / fl;
	}
	bench_floor_code_close(f);
	return bench_median(ratio, BENCH_BATCHES);
}

/* Instructions and guest stores of a traced run, from its instruction texts. */
static void count_stores(entryemu *m, const entryemu_result *r, unsigned *insns,
			 unsigned *stores)
{
	size_t len = 0;
	const uint32_t *t = entryemu_result_trace(r, &len);
	*insns = (unsigned)len;
	*stores = 0;
	for (size_t i = 0; i < len; i++) {
		char text[128];
		if (entryemu_insn_text(m, t[i], ENTRYEMU_SYNTAX_INTEL, text, sizeof(text)))
			continue;
		/* pushes and calls store; so does any instruction whose first
		 * (destination) operand is memory, compares aside */
		const char *ops = strchr(text, ' ');
		int dest_mem = ops && ops[1] && strchr(ops, '[') &&
			       (!strchr(ops, ',') || strchr(ops, '[') < strchr(ops, ','));
		if (!strncmp(text, "push", 4) || !strncmp(text, "call", 4) ||
		    (dest_mem && strncmp(text, "cmp", 3) && strncmp(text, "test", 4)))
			++*stores;
	}
}

int cmd_bench(int argc, char **argv, const struct opts *o)
{
	(void)argc;
	(void)argv;
	int quick = o->quick;
	long n = quick ? 2000 : 100000;
	char post[4096], err[1024] = "";
	const char *image = o->image ? o->image
				     : entryemu_image_path(ENTRYEMU_POST_PATCH, post, sizeof(post));
	if (!image) {
		fprintf(stderr, "entryemu bench: the image path is too long\n");
		return EXIT_BADINPUT;
	}
	entryemu *m = NULL;
	int rc = entryemu_open(&m, image, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "entryemu bench: %s: %s\n", entryemu_strerror(rc),
			err[0] ? err : image);
		return EXIT_BADINPUT;
	}
	entryemu_result *r = NULL;	/* made once, reused by every run */
	if (entryemu_result_new(&r)) {
		fprintf(stderr, "entryemu bench: out of memory\n");
		entryemu_close(m);
		return EXIT_BADINPUT;
	}
	/* call rel32 from the end of the call to __kernel_vsyscall */
	int32_t rel = (int32_t)(ENTRYEMU_VSYSCALL - (ENTRYEMU_USER_CODE + 10));
	uint8_t se[10] = { 0xb8, 20, 0, 0, 0, 0xe8 };
	memcpy(se + 6, &rel, 4);
	memcpy(sysenter_getpid, se, sizeof(se));
	struct entryemu_desc_edit tls = {
		.table = ENTRYEMU_GDT, .index = 6, .lo = 0x0000ffff, .hi = 0x00cff300,
	};

	struct warm w80, wse, wgs;
	const struct {
		const char *name;
		const uint8_t *code;
		size_t len;
		const struct entryemu_desc_edit *edit;
		struct warm *w;
	} warms[] = {
		{ "warm_int80_getpid", int80_getpid, sizeof(int80_getpid), NULL, &w80 },
		{ "warm_sysenter_getpid", sysenter_getpid, sizeof(sysenter_getpid), NULL, &wse },
		{ "warm_gs_fixup", gs_fixup, sizeof(gs_fixup), &tls, &wgs },
	};
	for (size_t k = 0; k < sizeof(warms) / sizeof(warms[0]); k++)
		if (warm_runs(m, r, warms[k].code, warms[k].len, warms[k].edit, n, warms[k].w)) {
			fprintf(stderr, "entryemu bench: %s on %s: %s\n", warms[k].name, image,
				warms[k].w->why);
			entryemu_result_free(r);
			entryemu_close(m);
			return EXIT_FAIL;
		}
	/* the floor: the instructions and stores of a traced int $0x80 getpid */
	unsigned insns = 0, stores = 0;
	struct entryemu_setup ts = { .code = int80_getpid, .code_len = sizeof(int80_getpid),
				     .flags = ENTRYEMU_RUN_TRACE };
	if (entryemu_run(m, &ts, r) == 0)
		count_stores(m, r, &insns, &stores);
	/* the floor on the run's own instructions, from this machine's memory */
	char code_why[256];
	size_t code_insns = 0;
	double code_us = bench_floor_code_us(m, int80_getpid, sizeof(int80_getpid), n, 0,
					     &code_insns, code_why, sizeof(code_why));
	double code_served_us = code_us < 0 ? -1 :
		bench_floor_code_us(m, int80_getpid, sizeof(int80_getpid), n, 1, &code_insns,
				    code_why, sizeof(code_why));
	double code_ratio = code_us < 0 ? -1 :
		paired_ratio(m, r, n, code_why, sizeof(code_why));
	/* the floor's engine alone: each maps 1 GiB of address space */
	entryemu_close(m);
	m = NULL;
	double floor_us = bench_floor_us(insns, stores, n, 0);
	double served_us = bench_floor_us(insns, stores, n, 1);

	/* the classes, and every bundled scenario */
	struct engines es = { .n = 0 };
	double class_warm[sizeof(classes) / sizeof(classes[0])];
	long nscen = quick ? 20 : 2000;
	for (size_t c = 0; c < sizeof(classes) / sizeof(classes[0]); c++) {
		char path[4096], e2[1024];
		entryemu_scenario *sc = NULL;
		snprintf(path, sizeof(path), "%s/%s", scenario_dir(), classes[c].file);
		class_warm[c] = -1;
		if (entryemu_scenario_load(path, &sc, e2, sizeof(e2)) == 0) {
			class_warm[c] = warm_scenario(&es, sc, 0, r, nscen);
			entryemu_scenario_free(sc);
		}
	}
	struct warm_tally w;
	int all_ok = warm_all(&es, r, quick ? 5 : 200, o->verbose, &w) == 0;
	engines_close(&es);
	entryemu_result_free(r);
	entryemu_close(m);

	printf("image=%s\n", image);
	printf("checkers=on\n");
	printf("tracing=off\n");
	printf("runs_per_figure=%ld runs\n", n);
	print_warm("warm_int80_getpid", &w80);
	print_warm("warm_sysenter_getpid", &wse);
	print_warm("warm_gs_fixup", &wgs);
	printf("breakdown_int80_reset=%.3f us\n", (double)w80.avg.reset_ns / 1e3);
	printf("breakdown_int80_delivery=%.3f us\n", (double)w80.avg.deliver_ns / 1e3);
	printf("breakdown_int80_callouts=%.3f us\n", (double)w80.avg.callout_ns / 1e3);
	printf("breakdown_int80_checkers=%.3f us\n", (double)w80.avg.check_ns / 1e3);
	uint64_t rest = w80.avg.reset_ns + w80.avg.deliver_ns + w80.avg.callout_ns +
			w80.avg.check_ns;
	printf("breakdown_int80_emulation=%.3f us\n",
	       (double)(w80.avg.total_ns > rest ? w80.avg.total_ns - rest : 0) / 1e3);
	printf("breakdown_int80_total_profiled=%.3f us\n", (double)w80.avg.total_ns / 1e3);
	char scen[4096];
	snprintf(scen, sizeof(scen), "%s/syscall-int80-getpid.yaml", scenario_dir());
	double cold = cold_replay_ms(scen, quick ? 3 : 21);
	if (cold < 0)
		printf("cold_replay=failed\n");
	else
		printf("cold_replay=%.2f ms\n", cold);
	for (size_t c = 0; c < sizeof(classes) / sizeof(classes[0]); c++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", scenario_dir(), classes[c].file);
		if (class_warm[c] < 0)
			printf("warm_%s=failed (%s)\n", classes[c].name, classes[c].file);
		else
			printf("warm_%s=%.3f us\n", classes[c].name, class_warm[c]);
		double cms = cold_replay_ms(path, quick ? 1 : 11);
		if (cms < 0)
			printf("cold_%s=failed (%s)\n", classes[c].name, classes[c].file);
		else
			printf("cold_%s=%.2f ms\n", classes[c].name, cms);
	}
	printf("warm_bundled_runs=%d runs\n", w.runs);
	if (!all_ok)
		printf("warm_bundled=failed (%s)\n", w.slowest);
	printf("warm_bundled_max=%.3f us\n", w.max_us);
	printf("warm_bundled_slowest=%s\n", w.slowest);
	printf("warm_bundled_over_20us=%d runs\n", w.over);
	printf("warm_bundled_max_per_entry=%.3f us\n", w.max_per_entry);
	printf("warm_bundled_slowest_per_entry=%s\n", w.slowest_entry);
	printf("warm_bundled_over_20us_per_entry=%d runs\n", w.over_per_entry);
	struct cold_tally ct;
	if (cold_all(quick ? 1 : 5, o->verbose, &ct))
		printf("cold_bundled=failed (%s)\n", ct.slowest);
	printf("cold_bundled_files=%d files\n", ct.files);
	printf("cold_bundled_max=%.2f ms\n", ct.max_ms);
	printf("cold_bundled_slowest=%s\n", ct.slowest);
	printf("cold_bundled_over_5ms=%d files\n", ct.over);
	/* the median of five replays, as the QEMU boot below is of five boots */
	double suite_ms = -1, suite_t[5];
	long rss = 0;
	int suite_n = quick ? 1 : 5, suite_ok = 1;
	for (int i = 0; i < suite_n && suite_ok; i++) {
		long one = 0;
		suite_ok = replay_process(NULL, &suite_t[i], &one) == 0;
		if (one > rss)
			rss = one;
	}
	if (!suite_ok)
		printf("suite_replay=failed\n");
	else {
		suite_ms = bench_median(suite_t, suite_n);
		printf("suite_replay=%.1f ms\n", suite_ms);
		printf("suite_replay_peak_rss=%ld KiB\n", rss);
	}
	char kernel[4096], why[256] = "";
	double qemu_ms = -1;
	if (entryemu_image_dir(kernel, sizeof(kernel) - 20)) {
		strcat(kernel, "/qemu-boot.elf");
		qemu_ms = bench_qemu_boot_ms(kernel, quick ? 1 : 5, why, sizeof(why));
	}
	if (qemu_ms < 0) {
		printf("qemu_boot=unavailable (%s)\n", why);
	} else {
		printf("qemu_boot=%.1f ms\n", qemu_ms);
		if (suite_ms > 0)
			printf("suite_replay_vs_qemu_boot=%.3f x\n", suite_ms / qemu_ms);
	}
	printf("floor_insns=%u instructions\n", insns);
	printf("floor_stores=%u stores\n", stores);
	if (floor_us > 0) {
		printf("floor_plain_unicorn=%.3f us\n", floor_us);
		printf("overhead_ratio=%.2f x\n", w80.us / floor_us);
	} else {
		printf("floor=failed\n");
	}
	/* the same floor with its stack page served as the library serves its frames */
	if (served_us > 0)
		printf("floor_served_stack=%.3f us\n", served_us);
	/* and plain Unicorn running the very instructions of the warm run */
	if (code_us > 0) {
		printf("floor_same_code_insns=%zu instructions\n", code_insns);
		printf("floor_same_code=%.3f us\n", code_us);
		/* the two timed in turn (paired_ratio), not the two medians above */
		if (code_ratio > 0)
			printf("overhead_ratio_same_code=%.2f x\n", code_ratio);
		else
			printf("overhead_ratio_same_code=failed (%s)\n", code_why);
		/* what is left of a warm run beyond it is the library's own work */
		if (code_served_us > 0)
			printf("floor_same_code_served_stack=%.3f us\n", code_served_us);
		else
			printf("floor_same_code_served_stack=failed (%s)\n", code_why);
	} else {
		printf("floor_same_code=failed (%s)\n", code_why);
	}
	printf("roundtrip_rate=%.0f round trips/s\n", w80.per_s);
	return EXIT_PASS;
}
