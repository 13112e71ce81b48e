/*
 * entryemu diff [--image NAME|PATH] [--accel auto|tcg|kvm] [--departures FILE]
 *               [--verbose] [FILE...]
 * (and entryemu replay --oracle qemu ...): every scenario on each of its
 * images, on the library and on QEMU in lockstep (<entryemu/oracle.h>).
 * One line per run; each divergence with both sides; a divergence the
 * known-departures file lists is "known" (with its SDM reference), any
 * other fails the command.  One QEMU per image serves all its runs.
 */
#define _GNU_SOURCE 1
#include "cli.h"

#include <entryemu/oracle.h>

#include <fnmatch.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef ENTRYEMU_DEPARTURES
#define ENTRYEMU_DEPARTURES "docs/known-departures.txt"
#endif

/* ---- known departures: "ID | SCENARIO-GLOB | WHAT-GLOB | SDM | WHY" lines ---- */

struct departure {
	char *id, *scenario, *what, *sdm, *why;
};

struct departures {
	struct departure *v;
	int n;
};

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	char *e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = 0;
	return s;
}

static int departures_load(const char *path, struct departures *d)
{
	memset(d, 0, sizeof(*d));
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "%s: cannot open the known-departures file\n", path);
		return -1;
	}
	char line[2048];
	int lineno = 0, bad = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		char *s = trim(line);
		if (!*s || *s == '#')
			continue;
		char *field[5];
		int n = 0;
		for (char *p = s; n < 5; n++) {
			field[n] = p;
			char *bar = strchr(p, '|');
			if (!bar) {
				n++;
				break;
			}
			*bar = 0;
			p = bar + 1;
		}
		if (n != 5) {
			fprintf(stderr, "%s:%d:1: a departure is ID | SCENARIO-GLOB | WHAT-GLOB | "
				"SDM | WHY (%d fields here)\n", path, lineno, n);
			bad = 1;
			continue;
		}
		struct departure x;
		x.id = strdup(trim(field[0]));
		x.scenario = strdup(trim(field[1]));
		x.what = strdup(trim(field[2]));
		x.sdm = strdup(trim(field[3]));
		x.why = strdup(trim(field[4]));
		if (!*x.id || !*x.scenario || !*x.what || !*x.sdm) {
			fprintf(stderr, "%s:%d:1: a departure needs an ID, both globs and its SDM "
				"reference\n", path, lineno);
			bad = 1;
		}
		struct departure *nv = realloc(d->v, (size_t)(d->n + 1) * sizeof(*nv));
		if (!nv) {
			bad = 1;
			break;
		}
		d->v = nv;
		d->v[d->n++] = x;
	}
	fclose(f);
	return bad ? -1 : 0;
}

static void departures_free(struct departures *d)
{
	for (int i = 0; i < d->n; i++) {
		free(d->v[i].id);
		free(d->v[i].scenario);
		free(d->v[i].what);
		free(d->v[i].sdm);
		free(d->v[i].why);
	}
	free(d->v);
}

/* "scenario [image]" and "where: what" against the globs. */
static const struct departure *departure_for(const struct departures *d, const char *run,
					     const struct entryemu_divergence *x)
{
	char what[512];
	snprintf(what, sizeof(what), "%s: %s", x->where, x->what);
	for (int i = 0; i < d->n; i++)
		if (!fnmatch(d->v[i].scenario, run, 0) && !fnmatch(d->v[i].what, what, 0))
			return &d->v[i];
	return NULL;
}

/* ---- one machine and one QEMU per image --------------------------------------- */

#define MAX_IMAGES 8
struct pair {
	char path[4096];
	entryemu *m;
	entryemu_oracle *o;
};

static struct pair *pair_for(struct pair *p, int *n, const char *image, int accel,
			     char *err, size_t len)
{
	for (int i = 0; i < *n; i++)
		if (!strcmp(p[i].path, image))
			return &p[i];
	if (*n >= MAX_IMAGES) {
		snprintf(err, len, "more than %d images", MAX_IMAGES);
		return NULL;
	}
	struct pair *x = &p[*n];
	snprintf(x->path, sizeof(x->path), "%s", image);
	if (entryemu_open(&x->m, image, err, len))
		return NULL;
	if (entryemu_oracle_open(&x->o, x->m, (enum entryemu_oracle_accel)accel, err, len)) {
		entryemu_close(x->m);
		return NULL;
	}
	const char *why;
	const char *name = entryemu_oracle_accel_name(x->o, &why);
	printf("oracle: %s on %s%s%s%s\n", name, image, *why ? " (KVM not used: " : "", why,
	       *why ? ")" : "");
	(*n)++;
	return x;
}

struct tally {
	int runs, same, known, diverged, partial, bad;
};

static int diff_run(struct pair *p, const entryemu_scenario *s, const char *path, int img,
		    const char *label, const struct departures *dep, int verbose,
		    struct tally *t, entryemu_result *r)
{
	char err[1024], run[512];
	snprintf(run, sizeof(run), "%s%s", entryemu_scenario_name(s), label);
	entryemu_binding *b;
	if (entryemu_scenario_bind(s, p->m, &b, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		t->bad++;
		return EXIT_BADINPUT;
	}
	struct timespec a, z;
	clock_gettime(CLOCK_MONOTONIC, &a);
	int rc = entryemu_binding_run(b, r);
	clock_gettime(CLOCK_MONOTONIC, &z);
	entryemu_binding_free(b);
	(void)img;
	if (rc) {
		fprintf(stderr, "%s: %s\n", path, entryemu_last_error(p->m));
		t->bad++;
		return EXIT_BADINPUT;
	}
	t->runs++;
	double ms = (double)(z.tv_sec - a.tv_sec) * 1e3 + (double)(z.tv_nsec - a.tv_nsec) / 1e6;
	size_t n = entryemu_oracle_ndivergences(p->o);
	/* divergences beyond those kept cannot be shown to be known */
	int undocumented = (int)entryemu_oracle_dropped(p->o), known = 0;
	for (size_t i = 0; i < n; i++) {
		const struct entryemu_divergence *x = entryemu_oracle_divergence(p->o, i);
		if (departure_for(dep, run, x))
			known++;
		else
			undocumented++;
	}
	const char *unc = entryemu_oracle_uncompared(p->o);
	const char *verdict = undocumented ? "DIVERGES" : known ? "known" : *unc ? "partial" : "same";
	printf("%-44s %-8s %3u points %3zu divergences (%zu known) %6.1f ms\n", run, verdict,
	       entryemu_oracle_compared(p->o), n + entryemu_oracle_dropped(p->o), (size_t)known, ms);
	int shown = 0;
	for (size_t i = 0; i < n; i++) {
		const struct entryemu_divergence *x = entryemu_oracle_divergence(p->o, i);
		const struct departure *d = departure_for(dep, run, x);
		if (d && !verbose)
			continue;
		if (!d && shown++ && !verbose)
			continue;	/* the first undocumented one, unless --verbose */
		printf("  %s %s: %s\n    entryemu: %s\n    qemu:     %s\n",
		       d ? "known" : shown == 1 ? "first divergence at" : "divergence at", x->where,
		       x->what, x->entryemu, x->qemu);
		if (d)
			printf("    (%s, %s: %s)\n", d->id, d->sdm, d->why);
	}
	if (undocumented > 1 && !verbose)
		printf("  (%d more undocumented; --verbose shows them)\n", undocumented - 1);
	if (entryemu_oracle_dropped(p->o))
		printf("  (%zu divergences more than the oracle keeps: counted as undocumented)\n",
		       entryemu_oracle_dropped(p->o));
	if (*unc)
		printf("  not compared: %s\n", unc);
	if (undocumented)
		t->diverged++;
	else if (known)
		t->known++;
	else if (*unc)
		t->partial++;
	else
		t->same++;
	return undocumented ? EXIT_FAIL : EXIT_PASS;
}

int cmd_diff(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "image", required_argument, NULL, 'i' },
		{ "accel", required_argument, NULL, 'a' },
		{ "departures", required_argument, NULL, 'd' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "oracle", required_argument, NULL, 'O' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *image = NULL, *deppath = ENTRYEMU_DEPARTURES;
	int accel = ENTRYEMU_ORACLE_AUTO, verbose = 0, c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "i:vh", lo, NULL)) != -1) {
		switch (c) {
		case 'i': image = optarg; break;
		case 'd': deppath = optarg; break;
		case 'v': verbose = 1; break;
		case 'O':
			if (strcmp(optarg, "qemu")) {
				fprintf(stderr, "entryemu: --oracle %s: the oracle is qemu\n", optarg);
				return EXIT_BADINPUT;
			}
			break;
		case 'a':
			if (!strcmp(optarg, "auto"))
				accel = ENTRYEMU_ORACLE_AUTO;
			else if (!strcmp(optarg, "tcg"))
				accel = ENTRYEMU_ORACLE_TCG;
			else if (!strcmp(optarg, "kvm"))
				accel = ENTRYEMU_ORACLE_KVM;
			else {
				fprintf(stderr, "entryemu: --accel %s: auto, tcg or kvm\n", optarg);
				return EXIT_BADINPUT;
			}
			break;
		case 'h':
			printf("usage: entryemu diff [--image NAME|PATH] [--accel auto|tcg|kvm]\n"
			       "                     [--departures FILE] [--verbose] [FILE...]\n"
			       "Run each scenario on the library and on qemu-system-i386 in lockstep\n"
			       "and compare events, callouts, returns and the end; exit 1 on a\n"
			       "divergence the known-departures file does not list.\n");
			return EXIT_PASS;
		default:
			return EXIT_BADINPUT;
		}
	}
	char named[4096];
	if (image && !strchr(image, '/') && entryemu_image_named(image, named, sizeof(named)))
		image = named;
	struct departures dep;
	if (departures_load(deppath, &dep)) {
		departures_free(&dep);
		return EXIT_BADINPUT;
	}
	char **files = argv + optind, **owned = NULL;
	int nfiles = argc - optind;
	if (!nfiles) {
		nfiles = scenario_files(scenario_dir(), &owned);
		files = owned;
		if (nfiles <= 0) {
			fprintf(stderr, "entryemu: no scenarios in %s\n", scenario_dir());
			departures_free(&dep);
			return EXIT_BADINPUT;
		}
	}
	struct pair pairs[MAX_IMAGES];
	int npairs = 0, worst = EXIT_PASS;
	struct tally t = { 0 };
	entryemu_result *r = NULL;
	struct timespec a, z;
	clock_gettime(CLOCK_MONOTONIC, &a);
	if (entryemu_result_new(&r)) {
		worst = EXIT_BADINPUT;
		goto out;
	}
	for (int f = 0; f < nfiles; f++) {
		entryemu_scenario *s;
		char err[1024];
		if (entryemu_scenario_load(files[f], &s, err, sizeof(err))) {
			fprintf(stderr, "%s\n", err);
			worst = EXIT_BADINPUT;
			t.bad++;
			continue;
		}
		int n = image ? 1 : entryemu_scenario_nimages(s);
		for (int i = 0; i < n; i++) {
			char label[64] = "";
			if (!image && n > 1)
				snprintf(label, sizeof(label), " [%s]", entryemu_scenario_image_name(s, i));
			const char *img = image ? image : entryemu_scenario_image(s, i);
			struct pair *p = pair_for(pairs, &npairs, img, accel, err, sizeof(err));
			if (!p) {
				fprintf(stderr, "entryemu diff: %s: %s\n", img, err);
				worst = EXIT_BADINPUT;
				t.bad++;
				continue;
			}
			int rc = diff_run(p, s, files[f], i, label, &dep, verbose, &t, r);
			if (rc > worst)
				worst = rc;
		}
		entryemu_scenario_free(s);
	}
out:
	clock_gettime(CLOCK_MONOTONIC, &z);
	printf("diff: %d runs: %d same, %d known departures only, %d partly compared, "
	       "%d diverge, %d refused; %.1f s\n", t.runs, t.same, t.known, t.partial, t.diverged,
	       t.bad, (double)(z.tv_sec - a.tv_sec) + (double)(z.tv_nsec - a.tv_nsec) / 1e9);
	for (int i = 0; i < npairs; i++) {
		entryemu_oracle_close(pairs[i].o);
		entryemu_close(pairs[i].m);
	}
	entryemu_result_free(r);
	for (int i = 0; owned && i < nfiles; i++)
		free(owned[i]);
	free(owned);
	departures_free(&dep);
	return worst;
}
