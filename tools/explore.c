/*
 * entryemu explore FILE...: a scenario re-run systematically.  The run is
 * traced once; then an IRQ, an NMI and a debug exception (#DB) are
 * injected before every instruction the kernel executed in it, one
 * variant at a time, with every checker on.  An IRQ arrives where the CPU
 * would take it: it waits while IF = 0, as the injection does.  A variant
 * that ends with a finding the scenario does not expect, an oops, an
 * unsupported event or an emulator error is written as a reproducer
 * scenario (entryemu_scenario_record) into the output directory, and
 * explore exits 1.
 */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KERNEL_BASE 0xc0000000u

enum { KIND_IRQ, KIND_NMI, KIND_DB, NKINDS };
static const char *const kind_name[NKINDS] = { "irq", "nmi", "debug" };

struct tally {
	unsigned long variants, found, written;
	unsigned long by_check[8];	/* findings by checker bit */
	unsigned long oops, unsupported, errors;
};

/* The checkers a run found something with, as ENTRYEMU_CHECK_* bits. */
static unsigned checks_found(const entryemu_result *r)
{
	unsigned bits = 0;
	for (size_t i = 0; i < entryemu_result_nfindings(r); i++)
		bits |= entryemu_result_finding(r, i)->check;
	return bits;
}

/* A reproducer: DIR/NAME-IMAGE-KIND-ADDR-N.yaml */
static void reproduce(entryemu *m, const struct entryemu_setup *s, const entryemu_result *r,
		      const char *dir, const char *name, const char *image, int kind,
		      uint32_t at, unsigned occurrence, const char *why, struct tally *t)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s-%s-%s-%08x-%u.yaml", dir, name, image,
		 kind_name[kind], at, occurrence);
	if (mkdir(dir, 0777) && errno != EEXIST) {
		fprintf(stderr, "entryemu explore: %s: %s\n", dir, strerror(errno));
		return;
	}
	if (entryemu_scenario_record(m, s, r, why, path) == 0) {
		t->written++;
		printf("  reproducer: %s\n", path);
	}
}

/*
 * Every variant of image i of scenario sc: the kernel instructions of a
 * traced run, each with an IRQ, an NMI and a #DB injected before it.
 */
static int explore_image(const entryemu_scenario *sc, int i, const struct opts *o,
			 struct tally *t)
{
	const char *image = o->image ? o->image : entryemu_scenario_image(sc, i);
	char err[1024];
	entryemu *m = NULL;
	if (entryemu_open(&m, image, err, sizeof(err))) {
		fprintf(stderr, "entryemu explore: %s\n", err);
		return EXIT_BADINPUT;
	}
	entryemu_binding *b = NULL;
	entryemu_result *r = NULL;
	int rc = EXIT_BADINPUT;
	uint32_t *trace = NULL;
	if (entryemu_result_new(&r) || entryemu_scenario_bind(sc, m, &b, err, sizeof(err))) {
		fprintf(stderr, "entryemu explore: %s\n", err);
		goto out;
	}
	const struct entryemu_setup *base = entryemu_binding_setup(b);
	if (base->ninjects >= 8) {
		fprintf(stderr, "entryemu explore: %s injects 8 events already\n",
			entryemu_scenario_name(sc));
		goto out;
	}
	/* the base run: traced, and what it finds is what the scenario expects */
	struct entryemu_setup s = *base;
	s.flags |= ENTRYEMU_RUN_TRACE;
	if (entryemu_run(m, &s, r)) {
		fprintf(stderr, "entryemu explore: %s: %s\n", entryemu_scenario_name(sc),
			entryemu_last_error(m));
		goto out;
	}
	unsigned expected = checks_found(r);
	size_t len = 0;
	const uint32_t *tr = entryemu_result_trace(r, &len);
	trace = len ? malloc(len * sizeof(*trace)) : NULL;
	if (len && !trace)
		goto out;
	if (len)
		memcpy(trace, tr, len * sizeof(*trace));

	struct entryemu_inject injects[8];
	if (base->ninjects)
		memcpy(injects, base->injects, base->ninjects * sizeof(injects[0]));
	s = *base;
	s.injects = injects;
	s.ninjects = base->ninjects + 1;
	unsigned long before = t->found;
	/* the kernel's C functions are callouts, each one step of the model */
	uint32_t co_lo = entryemu_symbol(m, "__callouts_start");
	uint32_t co_hi = entryemu_symbol(m, "__callouts_end");
	for (size_t k = 0; k < len; k++) {
		uint32_t at = trace[k];
		char sym[128];
		if (at < KERNEL_BASE || at >= ENTRYEMU_VSYSCALL - 0x400 ||
		    (at >= co_lo && at < co_hi))
			continue;	/* user code, the vsyscall page, a C function */
		entryemu_symbolize(m, at, sym, sizeof(sym));
		unsigned occurrence = 0;
		for (size_t j = 0; j <= k; j++)
			occurrence += trace[j] == at;
		for (int kind = 0; kind < NKINDS; kind++) {
			struct entryemu_inject *in = &injects[base->ninjects];
			memset(in, 0, sizeof(*in));
			in->kind = kind == KIND_IRQ ? ENTRYEMU_INJECT_IRQ :
				   kind == KIND_NMI ? ENTRYEMU_INJECT_NMI : ENTRYEMU_INJECT_EXCEPTION;
			in->vector = kind == KIND_DB ? 1 : 0;
			in->at = at;
			in->occurrence = occurrence;
			t->variants++;
			if (entryemu_run(m, &s, r)) {
				fprintf(stderr, "entryemu explore: %s: %s\n",
					entryemu_scenario_name(sc), entryemu_last_error(m));
				rc = EXIT_BADINPUT;
				goto done;
			}
			enum entryemu_outcome oc = entryemu_result_outcome(r);
			unsigned extra = checks_found(r) & ~expected;
			if (!extra && oc != ENTRYEMU_OOPS && oc != ENTRYEMU_UNSUPPORTED &&
			    oc != ENTRYEMU_ERROR && oc != ENTRYEMU_BUDGET)
				continue;
			t->found++;
			for (int c = 0; c < 8; c++)
				t->by_check[c] += (extra >> c) & 1;
			t->oops += oc == ENTRYEMU_OOPS;
			t->unsupported += oc == ENTRYEMU_UNSUPPORTED;
			t->errors += oc == ENTRYEMU_ERROR || oc == ENTRYEMU_BUDGET;
			char why[512];
			const struct entryemu_finding *f = NULL;
			for (size_t j = 0; j < entryemu_result_nfindings(r) && !f; j++)
				if (entryemu_result_finding(r, j)->check & extra)
					f = entryemu_result_finding(r, j);
			snprintf(why, sizeof(why), "explore: %s before %s (occurrence %u): %s",
				 kind_name[kind], sym, occurrence,
				 f ? f->text : entryemu_outcome_name(oc));
			printf("%s [%s]: %s\n", entryemu_scenario_name(sc),
			       entryemu_scenario_image_name(sc, i), why);
			reproduce(m, &s, r, o->out ? o->out : "entryemu-explore",
				  entryemu_scenario_name(sc), entryemu_scenario_image_name(sc, i),
				  kind, at, occurrence, why, t);
		}
	}
	rc = t->found > before ? EXIT_FAIL : EXIT_PASS;
done:
out:
	free(trace);
	entryemu_binding_free(b);
	entryemu_result_free(r);
	entryemu_close(m);
	return rc;
}

int cmd_explore(int argc, char **argv, const struct opts *o)
{
	if (argc < 1) {
		fprintf(stderr, "usage: entryemu explore [--image PATH] [--out DIR] [--json] FILE...\n");
		return EXIT_BADINPUT;
	}
	struct tally t = { 0 };
	int worst = EXIT_PASS;
	for (int a = 0; a < argc; a++) {
		char err[1024];
		entryemu_scenario *sc = NULL;
		if (entryemu_scenario_load(argv[a], &sc, err, sizeof(err))) {
			fprintf(stderr, "%s\n", err);
			return EXIT_BADINPUT;
		}
		int n = o->image ? 1 : entryemu_scenario_nimages(sc);
		for (int i = 0; i < n; i++) {
			int rc = explore_image(sc, i, o, &t);
			if (rc > worst)
				worst = rc;
		}
		entryemu_scenario_free(sc);
	}
	if (o->json) {
		printf("{\"variants\": %lu, \"found\": %lu, \"reproducers\": %lu, \"oops\": %lu, "
		       "\"unsupported\": %lu, \"errors\": %lu, \"findings\": {", t.variants,
		       t.found, t.written, t.oops, t.unsupported, t.errors);
		for (int c = 0; c < 8; c++)
			printf("%s\"%s\": %lu", c ? ", " : "",
			       entryemu_check_name((enum entryemu_check)(1u << c)), t.by_check[c]);
		printf("}}\n");
	} else {
		printf("variants: %lu\nfound: %lu\nreproducers written: %lu\n", t.variants,
		       t.found, t.written);
		printf("oops: %lu, unsupported: %lu, errors: %lu\n", t.oops, t.unsupported,
		       t.errors);
		for (int c = 0; c < 8; c++)
			printf("findings by %s: %lu\n",
			       entryemu_check_name((enum entryemu_check)(1u << c)), t.by_check[c]);
	}
	return worst;
}
