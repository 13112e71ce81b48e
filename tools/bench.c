/*
 * entryemu bench: how fast warm runs are on one engine, and a cold
 * replay from process start to exit.  One line per figure, "name=value
 * unit"; the last line is roundtrip_per_s=N (warm int $0x80 getpid).
 * Every run resets the machine fully and runs with all checkers on and
 * tracing off, as a test suite would.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
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

#define BATCHES 21

/* The median of n values; sorts them in place (insertion sort: n is small). */
static double median(double *t, int n)
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
	struct entryemu_profile avg;
};

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
	for (long i = 0; i < n / 10 + 10; i++)		/* warm the translation cache */
		if (entryemu_run(m, &s, r) || entryemu_result_outcome(r) != ENTRYEMU_DONE)
			return -1;
	/*
	 * The runs in BATCHES batches, and the median batch: a host that
	 * steals the CPU now and then (a virtual machine's neighbours) moves
	 * a mean, not a median.
	 */
	double per_run[BATCHES];
	long each = n / BATCHES > 0 ? n / BATCHES : 1;
	for (int b = 0; b < BATCHES; b++) {
		double t0 = now_s();
		for (long i = 0; i < each; i++)
			entryemu_run(m, &s, r);
		per_run[b] = (now_s() - t0) / (double)each;
		if (entryemu_result_outcome(r) != ENTRYEMU_DONE || entryemu_result_nfindings(r))
			return -1;
	}
	double t = median(per_run, BATCHES);
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
	printf("%s_us=%.3f us\n", name, w->us);
	printf("%s_per_s=%.0f runs/s\n", name, w->per_s);
	printf("%s_insns=%llu instructions\n", name, (unsigned long long)w->insns);
}

/* Median of a cold "entryemu replay FILE" (fork, exec, load, run, exit). */
static double cold_replay_ms(const char *file, int n)
{
	char self[4096];
	ssize_t l = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (l <= 0)
		return -1;
	self[l] = 0;
	double t[64];
	if (n > 64)
		n = 64;
	for (int i = 0; i < n; i++) {
		double t0 = now_s();
		pid_t pid = fork();
		if (pid == 0) {
			int fd = open_devnull();
			if (fd >= 0) {
				dup2(fd, 1);
				dup2(fd, 2);
			}
			execl(self, self, "replay", file, (char *)NULL);
			_exit(127);
		}
		int status;
		waitpid(pid, &status, 0);
		t[i] = (now_s() - t0) * 1e3;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			return -1;
	}
	return median(t, n);
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
	if (warm_runs(m, r, int80_getpid, sizeof(int80_getpid), NULL, n, &w80) ||
	    warm_runs(m, r, sysenter_getpid, sizeof(sysenter_getpid), NULL, n, &wse) ||
	    warm_runs(m, r, gs_fixup, sizeof(gs_fixup), &tls, n, &wgs)) {
		fprintf(stderr, "entryemu bench: a benchmark run did not complete cleanly\n");
		entryemu_result_free(r);
		entryemu_close(m);
		return EXIT_FAIL;
	}
	entryemu_result_free(r);
	entryemu_close(m);

	printf("image=%s\n", image);
	printf("checkers=on\n");
	printf("tracing=off\n");
	printf("runs=%ld per figure\n", n);
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
		printf("cold_replay_ms=%.2f ms\n", cold);
	printf("roundtrip_per_s=%.0f\n", w80.per_s);
	return EXIT_PASS;
}
