/*
 * entryemu cost: what saving and restoring %gs on every kernel entry
 * costs, the question the seed asks ("This is not cheap ... Benchmarks,
 * anyone?").
 *
 * 1. Instructions: the same round trips (int $0x80 getpid, sysenter
 *    getpid, a #NM exception) on the pre- and post-patch images, counting
 *    the kernel's instructions, and a diff of the two instruction streams
 *    that lists what the patch added or removed.
 * 2. Time: the added segment-register operations measured natively on
 *    this CPU, in user mode: push/pop of %gs and a load of a valid
 *    selector into %gs, in a loop, against an empty loop.
 * docs/cost.md explains the method and its limits.
 */
#include "cli.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KERNEL_BASE 0xC0000000u

struct path {
	const char *name;
	const uint8_t *code;
	size_t len;
	uint32_t cr0;
};

/* movl $20,%eax ; int $0x80 */
static const uint8_t int80[] = { 0xb8, 20, 0, 0, 0, 0xcd, 0x80 };
/* fninit with CR0.TS: #NM, math_state_restore, retry */
static const uint8_t nm[] = { 0xdb, 0xe3 };

struct stream {
	char (*text)[96];		/* "mnemonic operands", per kernel insn */
	char (*where)[64];		/* symbol+offset */
	size_t n;
};

/* The kernel instructions of one traced run (callout slots excluded). */
static int kernel_stream(entryemu *m, entryemu_result *r, const struct path *p,
			 struct stream *st)
{
	struct entryemu_setup s = { 0 };
	s.code = p->code;
	s.code_len = p->len;
	s.cr0_set = p->cr0;
	s.flags = ENTRYEMU_RUN_TRACE;
	if (entryemu_run(m, &s, r) || entryemu_result_outcome(r) != ENTRYEMU_DONE)
		return -1;
	size_t trace_len = 0;
	const uint32_t *trace = entryemu_result_trace(r, &trace_len);
	if (!trace)
		return -1;
	st->text = calloc(trace_len + 1, sizeof(*st->text));
	st->where = calloc(trace_len + 1, sizeof(*st->where));
	st->n = 0;
	if (!st->text || !st->where)
		return -1;
	for (size_t i = 0; i < trace_len; i++) {
		uint32_t a = trace[i];
		char line[160], sym[64];
		if (a < KERNEL_BASE || a >= 0xffffe000u)
			continue;
		entryemu_symbolize(m, a, sym, sizeof(sym));
		if (!strncmp(sym, "sys_", 4) || !strncmp(sym, "trace_hardirqs", 14) ||
		    !strncmp(sym, "do_", 3) || !strncmp(sym, "math_state", 10))
			continue;		/* a C function's stand-in */
		if (entryemu_disasm(m, a, line, sizeof(line)) <= 0)
			continue;
		/* keep "mnemonic operands": after the place and the bytes, "xx " each
		 * (no mnemonic is two hex digits) */
		const char *t = strstr(line, ">:");
		t = t ? t + 2 : line;
		for (;;) {
			while (*t == ' ')
				t++;
			if (!isxdigit((unsigned char)t[0]) || !isxdigit((unsigned char)t[1]) ||
			    t[2] != ' ')
				break;
			t += 3;
		}
		snprintf(st->text[st->n], sizeof(st->text[0]), "%.95s", t);
		snprintf(st->where[st->n], sizeof(st->where[0]), "%s", sym);
		st->n++;
	}
	return 0;
}

/* Instructions compared with their numbers masked: offsets move with pt_regs. */
static void shape(const char *in, char *out, size_t len)
{
	size_t j = 0;
	for (size_t i = 0; in[i] && j + 2 < len; i++) {
		size_t h = 0;		/* a branch target as objdump prints it: c010011a */
		while ((!i || in[i - 1] == ' ') && h < 8 && isxdigit((unsigned char)in[i + h]))
			h++;
		if (h == 8 && (!in[i + 8] || in[i + 8] == ' ')) {
			out[j++] = '#';
			i += 7;
		} else if (in[i] == '0' && in[i + 1] == 'x') {
			out[j++] = '#';
			i += 2;
			while (in[i] && strchr("0123456789abcdef", in[i]))
				i++;
			i--;
		} else if (in[i] >= '0' && in[i] <= '9') {
			out[j++] = '#';
			while (in[i + 1] >= '0' && in[i + 1] <= '9')
				i++;
		} else {
			out[j++] = in[i];
		}
	}
	out[j] = 0;
}

/* Print the edit script between pre and post (longest common subsequence). */
static void diff(const struct stream *a, const struct stream *b)
{
	size_t n = a->n, m = b->n;
	unsigned short *L = calloc((n + 1) * (m + 1), sizeof(*L));
	if (!L)
		return;
#define AT(i, j) L[(i) * (m + 1) + (j)]
	char x[96], y[96];
	for (size_t i = n; i-- > 0;)
		for (size_t j = m; j-- > 0;) {
			shape(a->text[i], x, sizeof(x));
			shape(b->text[j], y, sizeof(y));
			AT(i, j) = !strcmp(x, y) ? AT(i + 1, j + 1) + 1
				 : (AT(i + 1, j) > AT(i, j + 1) ? AT(i + 1, j) : AT(i, j + 1));
		}
	size_t i = 0, j = 0;
	while (i < n || j < m) {
		if (i < n && j < m) {
			shape(a->text[i], x, sizeof(x));
			shape(b->text[j], y, sizeof(y));
			if (!strcmp(x, y)) {
				i++;
				j++;
				continue;
			}
		}
		if (j < m && (i == n || AT(i, j + 1) >= AT(i + 1, j))) {
			printf("  + %-32s %s\n", b->where[j], b->text[j]);
			j++;
		} else {
			printf("  - %-32s %s\n", a->where[i], a->text[i]);
			i++;
		}
	}
#undef AT
	free(L);
}

/* ---- native timing ---------------------------------------------------------- */

static double ns_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

#define REPEATS 15
#define LOOPS 2000000L

/*
 * ns per iteration of one body, minus the empty loop's; median, lowest
 * and highest of REPEATS repetitions.
 */
enum op { EMPTY, PUSH_POP, MOV_LOAD };

static double one_loop(enum op op, unsigned short sel)
{
	double t0 = ns_now();
	for (long i = 0; i < LOOPS; i++) {
		switch (op) {
		case EMPTY:
			__asm__ volatile("" ::: "memory");
			break;
		case PUSH_POP:
#if defined(__x86_64__) || defined(__i386__)
			__asm__ volatile("push %%gs\n\tpop %%gs" ::: "memory");
#endif
			break;
		case MOV_LOAD:
#if defined(__x86_64__) || defined(__i386__)
			__asm__ volatile("mov %0, %%gs" :: "r"(sel) : "memory");
#endif
			break;
		}
	}
	return (ns_now() - t0) / (double)LOOPS;
}

static void measure(enum op op, unsigned short sel, double out[3])
{
	double v[REPEATS];
	for (int r = 0; r < REPEATS; r++)
		v[r] = one_loop(op, sel) - one_loop(EMPTY, sel);
	qsort(v, REPEATS, sizeof(v[0]), cmp_double);
	out[0] = v[REPEATS / 2];
	out[1] = v[0];
	out[2] = v[REPEATS - 1];
}

int cmd_cost(int argc, char **argv, const struct opts *o)
{
	(void)argc;
	(void)argv;
	(void)o;
	entryemu *pre = NULL, *post = NULL;
	entryemu_result *r = NULL;
	char pre_path[4096], post_path[4096], err[1024] = "";
	int rc = ENTRYEMU_E_INVAL;
	if (entryemu_image_path(ENTRYEMU_PRE_PATCH, pre_path, sizeof(pre_path)) &&
	    entryemu_image_path(ENTRYEMU_POST_PATCH, post_path, sizeof(post_path))) {
		rc = entryemu_open(&pre, pre_path, err, sizeof(err));
		if (!rc)
			rc = entryemu_open(&post, post_path, err, sizeof(err));
		if (!rc)
			rc = entryemu_result_new(&r);
	}
	if (rc) {
		if (err[0])
			fprintf(stderr, "entryemu cost: %s: %s\n", entryemu_strerror(rc), err);
		else
			fprintf(stderr, "entryemu cost: %s\n", entryemu_strerror(rc));
		entryemu_close(pre);
		entryemu_close(post);
		return EXIT_BADINPUT;
	}
	uint8_t se[10] = { 0xb8, 20, 0, 0, 0, 0xe8 };
	int32_t rel = (int32_t)(ENTRYEMU_VSYSCALL - (ENTRYEMU_USER_CODE + 10));
	memcpy(se + 6, &rel, 4);
	const struct path paths[] = {
		{ "int80_getpid", int80, sizeof(int80), 0 },
		{ "sysenter_getpid", se, sizeof(se), 0 },
		{ "exception_nm", nm, sizeof(nm), 8 },
	};
	int worst = EXIT_PASS;
	for (size_t k = 0; k < sizeof(paths) / sizeof(paths[0]); k++) {
		struct stream a = { 0 }, b = { 0 };
		if (kernel_stream(pre, r, &paths[k], &a) || kernel_stream(post, r, &paths[k], &b)) {
			fprintf(stderr, "entryemu cost: %s did not run cleanly\n", paths[k].name);
			worst = EXIT_FAIL;
		} else {
			printf("%s_pre_insns=%zu instructions\n", paths[k].name, a.n);
			printf("%s_post_insns=%zu instructions\n", paths[k].name, b.n);
			printf("%s_delta_insns=%ld instructions\n", paths[k].name,
			       (long)b.n - (long)a.n);
			printf("%s_diff:\n", paths[k].name);
			diff(&a, &b);
		}
		free(a.text);
		free(a.where);
		free(b.text);
		free(b.where);
	}
	entryemu_result_free(r);
	entryemu_close(pre);
	entryemu_close(post);

	/* a valid user data selector to load: this process's own %ss */
	unsigned short ss = 0, gs = 0;
#if defined(__x86_64__) || defined(__i386__)
	__asm__ volatile("mov %%ss, %0" : "=r"(ss));
	__asm__ volatile("mov %%gs, %0" : "=r"(gs));
#endif
	double pp[3], mv[3];
	measure(PUSH_POP, ss, pp);
	measure(MOV_LOAD, ss, mv);
#if defined(__x86_64__) || defined(__i386__)
	__asm__ volatile("mov %0, %%gs" :: "r"(gs));	/* as it was */
#endif
	printf("native_selector=0x%x (this process's %%ss)\n", ss);
	printf("native_push_pop_gs_ns=%.2f ns (min %.2f, max %.2f over %d runs of %ld)\n",
	       pp[0], pp[1], pp[2], REPEATS, LOOPS);
	printf("native_mov_gs_ns=%.2f ns (min %.2f, max %.2f over %d runs of %ld)\n",
	       mv[0], mv[1], mv[2], REPEATS, LOOPS);
	/*
	 * Per system call the patch adds a push of %gs and two loads (the
	 * per-CPU selector on entry, the user's on exit): one push/pop pair
	 * plus one more load.
	 */
	printf("estimate_ns_per_syscall=%.2f ns (push %%gs + 2 loads of %%gs, this CPU)\n",
	       pp[0] + mv[0]);
	printf("reference_2006_ns_per_syscall=26-42 ns (reloading %%gs in sysenter_entry, "
	       "Pentium M, LKML 2006-11-21)\n");
	return worst;
}
