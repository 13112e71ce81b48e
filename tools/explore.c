/*
 * entryemu explore FILE...: a scenario re-run systematically, every
 * checker on, one variant at a time (explore_variants.c lists them):
 * an IRQ, an NMI and a debug exception (#DB) before every instruction
 * the kernel executed in the scenario's run, and for a scenario that
 * makes a system call, the boundary values of the syscall number and of
 * user pointers on both entry paths.  A variant that ends with a finding
 * the scenario does not expect, an oops, an unsupported event, an
 * emulator error or an exhausted budget is written as a reproducer
 * scenario (entryemu_scenario_record) into the output directory, and
 * explore exits 1.  Endings the scenario's own run has (an oops it
 * tests, say) are not counted again.
 *
 * With -j N the variants of each image are dealt round-robin to N
 * worker processes, forked after the scenario's own run so that each
 * starts from the same machine.  They count into shared memory, which
 * also drives the progress bar on a terminal.
 */
#include "cli.h"
#include "explore.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_WORKERS 64

/* What the workers share with the parent: tallies, and variants done. */
struct shared {
	unsigned long done;
	struct tally t[MAX_WORKERS];
};

/* The checkers a run found something with, as ENTRYEMU_CHECK_* bits. */
static unsigned checks_found(const entryemu_result *r)
{
	unsigned bits = 0;
	for (size_t i = 0; i < entryemu_result_nfindings(r); i++)
		bits |= entryemu_result_finding(r, i)->check;
	return bits;
}

/* A reproducer: DIR/NAME-IMAGE-VARIANT.yaml */
static void reproduce(entryemu *m, const struct entryemu_setup *s, const entryemu_result *r,
		      const char *dir, const char *name, const char *image, const char *label,
		      const char *why, struct tally *t)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s-%s-%s.yaml", dir, name, image, label);
	if (mkdir(dir, 0777) && errno != EEXIST) {
		fprintf(stderr, "entryemu explore: %s: %s\n", dir, strerror(errno));
		return;
	}
	if (entryemu_scenario_record(m, s, r, why, path) == 0) {
		t->written++;
		printf("  reproducer: %s\n", path);
	}
}

/* ---- the progress bar --------------------------------------------------------- */

static void progress(const char *what, unsigned long done, unsigned long total)
{
	enum { WIDTH = 30 };
	unsigned filled = total ? (unsigned)(done * WIDTH / total) : WIDTH;
	char bar[WIDTH + 1];
	for (unsigned i = 0; i < WIDTH; i++)
		bar[i] = i < filled ? '#' : '.';
	bar[WIDTH] = 0;
	fprintf(stderr, "\r%-40.40s [%s] %lu/%lu", what, bar, done, total);
	if (done == total)
		fprintf(stderr, "\r%*s\r", 40 + WIDTH + 26, "");
	fflush(stderr);
}

/*
 * --known: whole checkers (lockdep), or one checker's finding where it is
 * seen (lockdep@work_notifysig+0x13: the address a report prints after
 * "at"), its place looked up on each image, or whose report says
 * something (lockdep~by the call at ret_from_exception+0x9).
 */
#define KNOWN_PLACES 16
struct known {
	unsigned bits;
	int unresolved;			/* a place missing on an image: stop */
	unsigned n;
	struct {
		unsigned check;
		int text;		/* place is words of the report, not a place */
		char place[96];
		uint32_t addr;		/* on the image being explored */
	} at[KNOWN_PLACES];
};

/* Is f one --known names: its checker, or its checker at its place? */
static int is_known(const struct known *k, const struct entryemu_finding *f)
{
	if (f->check & k->bits)
		return 1;
	for (unsigned i = 0; i < k->n; i++)
		if (k->at[i].check == f->check &&
		    (k->at[i].text ? strstr(f->text, k->at[i].place) != NULL
				   : k->at[i].addr == f->eip))
			return 1;
	return 0;
}

/*
 * A finding's kind: its text up to the registers (the first ';'), with
 * each number that is not a symbol's offset (a value, an address on the
 * stack) written 0x#, so that one kind seen at other depths is one.
 */
static void kind_of(const char *text, const char *mark, char *out, size_t len)
{
	size_t n = strcspn(text, ";"), o = (size_t)snprintf(out, len, "%s", mark);
	for (size_t i = 0; i < n && o + 4 < len; i++) {
		int hex = text[i] == '0' && text[i + 1] == 'x' && (i == 0 || text[i - 1] != '+');
		if (!hex) {
			out[o++] = text[i];
			continue;
		}
		memcpy(out + o, "0x#", 3);
		o += 3;
		for (i++; i + 1 < n && isxdigit((unsigned char)text[i + 1]); i++)
			;			/* to the number's last digit (or the x) */
	}
	out[o < len ? o : len - 1] = 0;
}

/*
 * The kinds of the findings a variant was allowed, each counted once a
 * variant: a finding's text up to its registers, marked "known:" when
 * only --known let it pass (the scenario does not expect that checker).
 */
static void count_kinds(const entryemu_result *r, unsigned expected, const struct known *known,
			struct tally *t)
{
	char seen[8][EXPLORE_KIND_LEN];
	unsigned nseen = 0;
	for (size_t j = 0; j < entryemu_result_nfindings(r); j++) {
		const struct entryemu_finding *f = entryemu_result_finding(r, j);
		if (!(f->check & expected) && !is_known(known, f))
			continue;
		const char *mark = f->check & expected ? "" : "known: ";
		char kind[EXPLORE_KIND_LEN];
		kind_of(f->text, mark, kind, sizeof(kind));
		unsigned i = 0;
		while (i < nseen && strcmp(seen[i], kind))
			i++;
		if (i < nseen)
			continue;
		if (nseen < sizeof(seen) / sizeof(seen[0]))
			memcpy(seen[nseen++], kind, sizeof(kind));
		kind_add(t, kind, 1);
	}
}

/* ---- one image ---------------------------------------------------------------- */

struct image_run {
	const entryemu_scenario *sc;
	int i;				/* which of its images */
	const struct opts *o;
	entryemu *m;
	entryemu_result *r;
	const struct entryemu_setup *base;
	unsigned expected;		/* what the scenario's own run found */
	const struct known *known;	/* findings that are known (--known) */
	enum entryemu_outcome base_outcome;	/* and how it ended */
	struct variants v;
};

/* Run variant k and count it; 1 if it found something, -1 on an error. */
static int run_variant(struct image_run *ir, size_t k, struct tally *t)
{
	struct entryemu_setup s;
	struct variant_storage store;
	variant_setup(&ir->v, k, ir->base, &s, &store);
	s.flags |= ENTRYEMU_RUN_CHECK_CFI;	/* every checker, the costly one too */
	t->variants++;
	if (entryemu_run(ir->m, &s, ir->r)) {
		fprintf(stderr, "entryemu explore: %s: %s\n", entryemu_scenario_name(ir->sc),
			entryemu_last_error(ir->m));
		return -1;
	}
	enum entryemu_outcome oc = entryemu_result_outcome(ir->r);
	/* what the scenario's own run did not find, and --known does not name */
	unsigned extra = 0;
	int known = 0;
	const struct entryemu_finding *f = NULL;
	for (size_t j = 0; j < entryemu_result_nfindings(ir->r); j++) {
		const struct entryemu_finding *g = entryemu_result_finding(ir->r, j);
		if (g->check & ir->expected)
			continue;
		if (is_known(ir->known, g)) {
			known = 1;
			continue;
		}
		extra |= g->check;
		f = f ? f : g;
	}
	/* an ending the scenario itself has (an oops it tests) is no news */
	int bad_end = oc == ENTRYEMU_OOPS || oc == ENTRYEMU_UNSUPPORTED ||
		      oc == ENTRYEMU_ERROR || oc == ENTRYEMU_BUDGET;
	if (!extra && (!bad_end || oc == ir->base_outcome)) {
		t->known += known;
		count_kinds(ir->r, ir->expected, ir->known, t);
		return 0;
	}
	t->found++;
	for (int c = 0; c < EXPLORE_CHECKS; c++)
		t->by_check[c] += (extra >> c) & 1;
	t->oops += oc == ENTRYEMU_OOPS;
	t->unsupported += oc == ENTRYEMU_UNSUPPORTED;
	t->errors += oc == ENTRYEMU_ERROR || oc == ENTRYEMU_BUDGET;
	char what[256], label[128], why[512];
	variant_describe(&ir->v, k, ir->m, what, sizeof(what), label, sizeof(label));
	snprintf(why, sizeof(why), "explore: %s: %s", what,
		 f ? f->text : entryemu_outcome_name(oc));
	const char *image = entryemu_scenario_image_name(ir->sc, ir->i);
	printf("%s [%s]: %s\n", entryemu_scenario_name(ir->sc), image, why);
	reproduce(ir->m, &s, ir->r, ir->o->out ? ir->o->out : "entryemu-explore",
		  entryemu_scenario_name(ir->sc), image, label, why, t);
	return 1;
}

/* The variants k = w, w + n, ... ; -1 on an error. */
static int run_share(struct image_run *ir, unsigned w, unsigned n, struct shared *sh,
		     const char *what, int bar)
{
	for (size_t k = w; k < ir->v.n; k += n) {
		if (run_variant(ir, k, &sh->t[w]) < 0)
			return -1;
		unsigned long done = __atomic_add_fetch(&sh->done, 1, __ATOMIC_RELAXED);
		if (bar && n == 1 && (done % 16 == 0 || done == ir->v.n))
			progress(what, done, ir->v.n);
	}
	return 0;
}

static unsigned workers_for(const struct opts *o, size_t nvariants)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned n = o->jobs > 0 ? (unsigned)o->jobs
		     : nvariants >= 2000 && cores > 1 ? (unsigned)cores : 1;
	if (n > MAX_WORKERS)
		n = MAX_WORKERS;
	if (n > nvariants)
		n = nvariants ? (unsigned)nvariants : 1;
	return n;
}

/* Every variant of ir, on n processes; adds into t.  -1 on an error. */
static int run_all(struct image_run *ir, struct tally *t)
{
	struct shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		perror("entryemu explore: mmap");
		return -1;
	}
	memset(sh, 0, sizeof(*sh));
	char what[160];
	snprintf(what, sizeof(what), "explore %s [%s]", entryemu_scenario_name(ir->sc),
		 entryemu_scenario_image_name(ir->sc, ir->i));
	int bar = isatty(2) && !ir->o->json;
	unsigned n = workers_for(ir->o, ir->v.n);
	int rc = 0;
	if (n == 1) {
		rc = run_share(ir, 0, 1, sh, what, bar);
	} else {
		pid_t pids[MAX_WORKERS];
		fflush(NULL);
		for (unsigned w = 0; w < n; w++) {
			pids[w] = fork();
			if (pids[w] == 0) {
				setvbuf(stdout, NULL, _IOLBF, 0);	/* whole lines */
				_exit(run_share(ir, w, n, sh, what, 0) ? 1 : 0);
			}
			if (pids[w] < 0) {
				perror("entryemu explore: fork");
				n = w;
				rc = -1;
				break;
			}
		}
		for (unsigned left = n; left;) {
			int st;
			pid_t p = waitpid(-1, &st, WNOHANG);
			if (p > 0) {
				left--;
				if (!WIFEXITED(st) || WEXITSTATUS(st))
					rc = -1;
				continue;
			}
			if (p < 0 && errno != EINTR)
				break;
			if (bar)
				progress(what, __atomic_load_n(&sh->done, __ATOMIC_RELAXED), ir->v.n);
			nanosleep(&(struct timespec){ 0, 50 * 1000 * 1000 }, NULL);
		}
		if (bar)
			progress(what, ir->v.n, ir->v.n);
	}
	for (unsigned w = 0; w < MAX_WORKERS; w++)
		tally_add(t, &sh->t[w]);
	munmap(sh, sizeof(*sh));
	return rc;
}

/*
 * Explore image i of sc on *m: a machine reopened on it from the last
 * image's (entryemu_reopen: each image is explored once, and the engine's
 * set-up is most of an open), or opened when there is none.
 */
/* A place on m: symbol, symbol+offset, or an address; 0 if none. */
static uint32_t place_addr(entryemu *m, const char *place)
{
	char name[96];
	char *end;
	unsigned long v = strtoul(place, &end, 0);
	if (end != place && !*end)
		return (uint32_t)v;
	size_t n = strcspn(place, "+");
	if (n >= sizeof(name))
		return 0;
	memcpy(name, place, n);
	name[n] = 0;
	uint32_t a = entryemu_symbol(m, name);
	if (!a || !place[n])
		return a;
	v = strtoul(place + n + 1, &end, 0);
	return end != place + n + 1 && !*end ? a + (uint32_t)v : 0;
}

static int explore_image(const entryemu_scenario *sc, int i, const struct opts *o,
			 struct known *known, struct tally *t, entryemu **m)
{
	const char *image = o->image ? o->image : entryemu_scenario_image(sc, i);
	char err[1024];
	struct image_run ir = { .sc = sc, .i = i, .o = o };
	if (*m ? entryemu_reopen(m, image, err, sizeof(err))
	       : entryemu_open(m, image, err, sizeof(err))) {
		fprintf(stderr, "entryemu explore: %s\n", err);
		return EXIT_BADINPUT;
	}
	ir.m = *m;
	entryemu_binding *b = NULL;
	int rc = EXIT_BADINPUT;
	if (entryemu_result_new(&ir.r) || entryemu_scenario_bind(sc, ir.m, &b, err, sizeof(err))) {
		fprintf(stderr, "entryemu explore: %s\n", err);
		goto out;
	}
	ir.base = entryemu_binding_setup(b);
	if (ir.base->ninjects >= VARIANT_MAX_INJECTS) {
		fprintf(stderr, "entryemu explore: %s injects %d events already\n",
			entryemu_scenario_name(sc), VARIANT_MAX_INJECTS);
		goto out;
	}
	/* the base run: traced, and what it finds is what the scenario expects */
	struct entryemu_setup s = *ir.base;
	s.flags |= ENTRYEMU_RUN_TRACE | ENTRYEMU_RUN_CHECK_CFI;
	if (entryemu_run(ir.m, &s, ir.r)) {
		fprintf(stderr, "entryemu explore: %s: %s\n", entryemu_scenario_name(sc),
			entryemu_last_error(ir.m));
		goto out;
	}
	ir.expected = checks_found(ir.r);
	for (unsigned k = 0; k < known->n; k++)
		if (!known->at[k].text &&
		    !(known->at[k].addr = place_addr(ir.m, known->at[k].place))) {
			fprintf(stderr, "entryemu explore: --known: no place '%s' in %s\n",
				known->at[k].place, image);
			known->unresolved = 1;
			goto out;
		}
	ir.known = known;
	ir.base_outcome = entryemu_result_outcome(ir.r);
	if (variants_list(&ir.v, ir.m, ir.r, ir.base->insn_budget)) {
		fprintf(stderr, "entryemu explore: out of memory\n");
		goto out;
	}
	unsigned long before = t->found;
	if (run_all(&ir, t) == 0)
		rc = t->found > before ? EXIT_FAIL : EXIT_PASS;
out:
	variants_free(&ir.v);
	entryemu_binding_free(b);
	entryemu_result_free(ir.r);
	return rc;
}

static void summary(const struct tally *t, int json)
{
	if (json) {
		printf("{\"variants\": %lu, \"found\": %lu, \"known\": %lu, \"reproducers\": %lu, "
		       "\"oops\": %lu, \"unsupported\": %lu, \"errors\": %lu, \"findings\": {",
		       t->variants, t->found, t->known, t->written, t->oops, t->unsupported,
		       t->errors);
		const char *sep = "";
		for (int c = 0; c < EXPLORE_CHECKS; c++) {
			const char *name = entryemu_check_name((enum entryemu_check)(1u << c));
			if (strcmp(name, "?")) {
				printf("%s\"%s\": %lu", sep, name, t->by_check[c]);
				sep = ", ";
			}
		}
		printf("}, \"allowed\": [");
		for (unsigned i = 0; i < t->nkinds; i++) {
			printf("%s{\"kind\": \"", i ? ", " : "");
			for (const char *p = t->kinds[i].text; *p; p++)
				printf(*p == '"' || *p == '\\' ? "\\%c" : "%c", *p);
			printf("\", \"variants\": %lu}", t->kinds[i].variants);
		}
		printf("], \"allowed_untold\": %lu}\n", t->kinds_untold);
		return;
	}
	printf("%-24s %10s\n", "explored", "count");
	printf("%-24s %10lu\n", "variants run", t->variants);
	printf("%-24s %10lu\n", "variants with a find", t->found);
	printf("%-24s %10lu\n", "with known findings only", t->known);
	printf("%-24s %10lu\n", "reproducers written", t->written);
	printf("%-24s %10lu\n", "oops", t->oops);
	printf("%-24s %10lu\n", "unsupported", t->unsupported);
	printf("%-24s %10lu\n", "errors or budget", t->errors);
	for (int c = 0; c < EXPLORE_CHECKS; c++) {
		const char *name = entryemu_check_name((enum entryemu_check)(1u << c));
		if (strcmp(name, "?")) {
			char label[40];
			snprintf(label, sizeof(label), "findings by %s", name);
			printf("%-24s %10lu\n", label, t->by_check[c]);
		}
	}
	/* what passed as expected or known: a new kind shows here */
	if (t->nkinds)
		printf("findings allowed, by kind (\"known:\" where only --known allowed it):\n");
	for (unsigned i = 0; i < t->nkinds; i++)
		printf("%10lu  %s\n", t->kinds[i].variants, t->kinds[i].text);
	if (t->kinds_untold)
		printf("%10lu  (variants of further kinds)\n", t->kinds_untold);
}

/* --known ptregs,lockdep@work_notifysig+0x13: checkers, or one's finding at a place. */
static int parse_known(const char *list, struct known *k)
{
	char buf[1024];
	if (strlen(list) >= sizeof(buf)) {
		fprintf(stderr, "entryemu explore: --known: longer than %zu characters\n",
			sizeof(buf) - 1);
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", list);
	for (char *save = NULL, *n = strtok_r(buf, ",", &save); n; n = strtok_r(NULL, ",", &save)) {
		char *place = n + strcspn(n, "@~");
		int text = *place == '~';
		if (*place)
			*place++ = 0;
		else
			place = NULL;
		unsigned b = 0;
		for (int c = 0; c < EXPLORE_CHECKS && !b; c++)
			if (((1u << c) & ENTRYEMU_CHECK_ALL) &&
			    !strcmp(n, entryemu_check_name((enum entryemu_check)(1u << c))))
				b = 1u << c;
		if (!b) {
			fprintf(stderr, "entryemu explore: --known: no checker '%s'\n", n);
			return -1;
		}
		if (!place) {
			k->bits |= b;
			continue;
		}
		if (!*place || strlen(place) >= sizeof(k->at[0].place) || k->n == KNOWN_PLACES) {
			fprintf(stderr, "entryemu explore: --known: %s%c%s: %s\n", n,
				text ? '~' : '@', place, k->n == KNOWN_PLACES ? "too many places" :
				text ? "give words of the report" :
				"give a place, symbol+offset or address");
			return -1;
		}
		k->at[k->n].check = b;
		k->at[k->n].text = text;
		snprintf(k->at[k->n].place, sizeof(k->at[0].place), "%s", place);
		k->n++;
	}
	return 0;
}

/* An --out that cannot take reproducers, said before any variant runs. */
static int out_dir_refused(const char *dir)
{
	struct stat st;
	const char *why = NULL;
	if (mkdir(dir, 0777) && errno != EEXIST)
		why = strerror(errno);
	else if (stat(dir, &st))
		why = strerror(errno);
	else if (!S_ISDIR(st.st_mode))
		why = "not a directory";
	else if (access(dir, W_OK | X_OK))
		why = strerror(errno);
	if (why)
		fprintf(stderr, "entryemu explore: --out %s: %s\n", dir, why);
	return why != NULL;
}

int cmd_explore(int argc, char **argv, const struct opts *o)
{
	if (argc < 1) {
		fprintf(stderr, "usage: entryemu explore [--image PATH] [--out DIR] [-j N] [--json] "
				"FILE...\n");
		return EXIT_BADINPUT;
	}
	struct known known = { 0 };
	if (o->known && parse_known(o->known, &known))
		return EXIT_BADINPUT;
	if (o->out && out_dir_refused(o->out))
		return EXIT_BADINPUT;
	struct tally t = { 0 };
	int worst = EXIT_PASS;
	entryemu *m = NULL;
	for (int a = 0; a < argc; a++) {
		char err[1024];
		entryemu_scenario *sc = NULL;
		if (entryemu_scenario_load(argv[a], &sc, err, sizeof(err))) {
			fprintf(stderr, "%s\n", err);
			entryemu_close(m);
			return EXIT_BADINPUT;
		}
		int n = o->image ? 1 : entryemu_scenario_nimages(sc);
		for (int i = 0; i < n; i++) {
			int rc = explore_image(sc, i, o, &known, &t, &m);
			if (known.unresolved) {
				entryemu_scenario_free(sc);
				entryemu_close(m);
				return EXIT_BADINPUT;
			}
			if (rc > worst)
				worst = rc;
		}
		entryemu_scenario_free(sc);
	}
	entryemu_close(m);
	summary(&t, o->json);
	return worst;
}
