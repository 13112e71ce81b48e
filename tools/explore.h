/* entryemu explore: its tallies and the variants it runs (explore_variants.c). */
#ifndef ENTRYEMU_TOOLS_EXPLORE_H
#define ENTRYEMU_TOOLS_EXPLORE_H

#include <entryemu/entryemu.h>

#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* The checkers a tally counts: ENTRYEMU_CHECK_* bits 0 .. EXPLORE_CHECKS-1. */
#define EXPLORE_CHECKS 12

/*
 * The findings a variant may have without being a find (the scenario's
 * own, and --known ones), by kind: the finding's text up to its
 * registers ("lockdep: ... by the call at X at Y").  A kind no variant of
 * the scenario showed before would otherwise pass unseen under --known.
 */
#define EXPLORE_KINDS 64
#define EXPLORE_KIND_LEN 200
struct finding_kind {
	char text[EXPLORE_KIND_LEN];
	unsigned long variants;
};

struct tally {
	unsigned long variants, found, written;
	unsigned long known;		/* variants with --known findings */
	unsigned long by_check[EXPLORE_CHECKS];	/* findings by checker bit */
	unsigned long oops, unsupported, errors;
	struct finding_kind kinds[EXPLORE_KINDS];
	unsigned nkinds;
	unsigned long kinds_untold;	/* variants of kinds past EXPLORE_KINDS */
};

/* Count n variants of the kind text (at most EXPLORE_KIND_LEN - 1 long). */
static inline void kind_add(struct tally *t, const char *text, unsigned long n)
{
	for (unsigned i = 0; i < t->nkinds; i++)
		if (!strcmp(t->kinds[i].text, text)) {
			t->kinds[i].variants += n;
			return;
		}
	if (t->nkinds == EXPLORE_KINDS) {
		t->kinds_untold += n;
		return;
	}
	snprintf(t->kinds[t->nkinds].text, EXPLORE_KIND_LEN, "%s", text);
	t->kinds[t->nkinds++].variants = n;
}

static inline void tally_add(struct tally *to, const struct tally *from)
{
	for (unsigned i = 0; i < from->nkinds; i++)
		kind_add(to, from->kinds[i].text, from->kinds[i].variants);
	to->kinds_untold += from->kinds_untold;
	to->variants += from->variants;
	to->found += from->found;
	to->written += from->written;
	to->known += from->known;
	for (int c = 0; c < EXPLORE_CHECKS; c++)
		to->by_check[c] += from->by_check[c];
	to->oops += from->oops;
	to->unsupported += from->unsupported;
	to->errors += from->errors;
}

/* The most events a setup injects (the base run's and one more). */
#define VARIANT_MAX_INJECTS 8

struct variant;
struct variants {
	struct variant *v;
	size_t n;
	uint64_t budget;		/* each variant's instruction budget */
};

/* What a variant's setup points at, owned by the caller's frame. */
struct variant_storage {
	struct entryemu_inject injects[VARIANT_MAX_INJECTS];
	uint8_t code[4];
};

/*
 * The variants of a scenario whose traced run r was made on m: an IRQ,
 * an NMI and a #DB before each kernel instruction it ran; and, if it
 * made a system call, the syscall-number and pointer boundaries on both
 * entry paths.  Each runs with 20 times the instructions r took (at
 * least 20,000, at most base_budget if set).  0, or -1 out of memory.
 */
int variants_list(struct variants *vs, entryemu *m, const entryemu_result *r,
		  uint64_t base_budget);
void variants_free(struct variants *vs);
/* The setup of variant k: base changed as the variant says. */
void variant_setup(const struct variants *vs, size_t k, const struct entryemu_setup *base,
		   struct entryemu_setup *out, struct variant_storage *store);
/* A sentence for reports and a label for file names. */
void variant_describe(const struct variants *vs, size_t k, entryemu *m, char *what,
		      size_t whatlen, char *label, size_t labellen);

#endif
