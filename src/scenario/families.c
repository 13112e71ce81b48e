/*
 * Kernel families: one scenario file for several shapes of the entry
 * path.  The family of an image follows from what the image exports
 * (its per-CPU register and espfix flavour), so an image built from any
 * tree (tools/own-entry.sh) has one.  A scenario says which families it
 * applies to (families:, else those of its images), and may replace
 * keys of its expect mapping for some of them (family_expect:) or for
 * one image, named after its file (image_expect:), for a kernel that
 * differs from the rest of its family.
 */
#include "scenario.h"
#include "yaml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name;
	unsigned bit;
} families[NFAMILIES] = {
	{ "pre", FAM_PRE }, { "post", FAM_POST }, { "pda", FAM_PDA }, { "fs", FAM_FS },
};

unsigned family_named(const char *name)
{
	for (int i = 0; i < NFAMILIES; i++)
		if (!strcmp(name, families[i].name))
			return families[i].bit;
	return 0;
}

static const char *family_name(unsigned bit)
{
	for (int i = 0; i < NFAMILIES; i++)
		if (bit == families[i].bit)
			return families[i].name;
	return NULL;
}

unsigned family_of_image(const entryemu *m)
{
	int espfix_32 = entryemu_image_espfix_32(m);
	switch (entryemu_image_percpu(m)) {
	case ENTRYEMU_PERCPU_NONE: return espfix_32 ? 0 : FAM_PRE;
	case ENTRYEMU_PERCPU_GS: return espfix_32 ? FAM_PDA : FAM_POST;
	case ENTRYEMU_PERCPU_FS: return espfix_32 ? FAM_FS : 0;
	}
	return 0;
}

const char *entryemu_image_family(const entryemu *m)
{
	return m ? family_name(family_of_image(m)) : NULL;
}

/* A bundled image is named after its family, with -SUFFIX for variants. */
unsigned family_of_image_name(const char *name)
{
	char base[16];
	size_t n = strcspn(name, "-");
	if (n >= sizeof(base))
		return 0;
	memcpy(base, name, n);
	base[n] = 0;
	return strchr(name, '/') ? 0 : family_named(base);
}

unsigned scenario_families(const entryemu_scenario *s)
{
	if (s->families)
		return s->families;
	if (!s->nimages)
		return FAM_POST;
	unsigned f = 0;
	for (int i = 0; i < s->nimages; i++) {
		unsigned one = family_of_image_name(s->images[i]);
		if (!one)
			return FAM_ALL;	/* an image by path: any family */
		f |= one;
	}
	return f;
}

/*
 * A scenario written for a preemptible kernel (an image named
 * FAMILY-preempt) needs one: a kernel built with CONFIG_PREEMPT has its
 * own resume_kernel, whose loop is labelled need_resched.
 */
static int needs_preempt(const entryemu_scenario *s)
{
	for (int i = 0; i < s->nimages; i++) {
		const char *dash = strchr(s->images[i], '-');
		if (!strchr(s->images[i], '/') && dash && !strcmp(dash, "-preempt"))
			return 1;
	}
	return 0;
}

int entryemu_scenario_applies(const entryemu_scenario *s, const entryemu *m)
{
	if (!s || !m)
		return 0;
	if (needs_preempt(s) && !entryemu_symbol(m, "need_resched"))
		return 0;
	unsigned fam = family_of_image(m);
	return !fam || (scenario_families(s) & fam);
}

/* "pda, fs" or "all" (separated by commas or blanks) into family bits. */
static int families_of_words(struct parser *p, struct loc at, const char *text,
			     unsigned *out)
{
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", text);
	*out = 0;
	for (char *save = NULL, *w = strtok_r(buf, ", \t", &save); w;
	     w = strtok_r(NULL, ", \t", &save)) {
		unsigned f = !strcmp(w, "all") ? FAM_ALL : family_named(w);
		if (!f)
			return fail_at(p, at, "unknown kernel family '%s' (pre, post, pda, fs, "
				       "all)", w);
		*out |= f;
	}
	if (!*out)
		return fail_at(p, at, "name at least one kernel family (pre, post, pda, fs, all)");
	return 0;
}

int parse_families(struct parser *p, struct fy_node *k, struct fy_node *v)
{
	entryemu_scenario *s = p->s;
	struct fy_node *items[MAX_ITEMS];
	int n = 1;
	char buf[128];
	s->families_loc = loc_of(k);
	if (fy_node_is_sequence(v)) {
		if (get_list(p, k, v, "families", items, &n) < 0)
			return -1;
	} else {
		items[0] = v;
	}
	s->families = 0;
	for (int i = 0; i < n; i++) {
		unsigned f;
		if (!fy_node_is_scalar(items[i]))
			return fail_at(p, loc_of(items[i]), "families: each item is a kernel "
				       "family (pre, post, pda, fs, all)");
		if (families_of_words(p, loc_of(items[i]), scalar(items[i], buf, sizeof(buf)),
				      &f) < 0)
			return -1;
		s->families |= f;
	}
	return 0;
}

/* A new, zeroed override slot, or NULL (reported). */
static struct family_expect *new_override(struct parser *p, struct fy_node *k)
{
	entryemu_scenario *s = p->s;
	if (!s->family_exp && !(s->family_exp = calloc(MAX_FAMILY_EXPECT, sizeof(*s->family_exp)))) {
		fail_at(p, loc_of(k), "out of memory");
		return NULL;
	}
	if (s->nfamily_exp >= MAX_FAMILY_EXPECT) {
		fail_at(p, loc_of(k), "at most %d family_expect and image_expect keys",
			MAX_FAMILY_EXPECT);
		return NULL;
	}
	struct family_expect *fe = &s->family_exp[s->nfamily_exp++];
	fe->loc = loc_of(k);
	return fe;
}

static int family_expect_pair(struct parser *p, const char *key, struct fy_node *k,
			      struct fy_node *v, void *c)
{
	entryemu_scenario *s = c;
	unsigned fams;
	if (families_of_words(p, loc_of(k), key, &fams) < 0)
		return -1;
	struct family_expect *fe = new_override(p, k);
	if (!fe)
		return -1;
	for (int i = 0; i < s->nfamily_exp - 1; i++)
		if (s->family_exp[i].families & fams)
			return fail_at(p, loc_of(k), "family_expect: a family appears in two "
				       "keys ('%s' and line %d)", key,
				       s->family_exp[i].loc.line);
	fe->families = fams;
	return each_pair(p, v, k, "family_expect", expect_pair, &fe->exp);
}

int parse_family_expect(struct parser *p, struct fy_node *k, struct fy_node *v)
{
	return each_pair(p, v, k, "family_expect", family_expect_pair, p->s);
}

static int image_expect_pair(struct parser *p, const char *key, struct fy_node *k,
			     struct fy_node *v, void *c)
{
	entryemu_scenario *s = c;
	for (int i = 0; i < s->nfamily_exp; i++)
		if (s->family_exp[i].image && !strcmp(s->family_exp[i].image, key))
			return fail_at(p, loc_of(k), "image_expect: '%s' appears twice", key);
	struct family_expect *fe = new_override(p, k);
	if (!fe)
		return -1;
	if (!(fe->image = strdup(key)))
		return fail_at(p, loc_of(k), "out of memory");
	return each_pair(p, v, k, "image_expect", expect_pair, &fe->exp);
}

int parse_image_expect(struct parser *p, struct fy_node *k, struct fy_node *v)
{
	return each_pair(p, v, k, "image_expect", image_expect_pair, p->s);
}

/*
 * The name an image answers to in image_expect: its file name without
 * the directory, ".elf" and the bundled images' "entry-" ("pda" for
 * share/entryemu/entry-pda.elf, "linux-2.6.23" for linux-2.6.23.elf).
 */
static int image_is(const entryemu *m, const char *name)
{
	const char *path = entryemu_image_file(m);
	if (!path)
		return 0;
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (!strncmp(base, "entry-", 6))
		base += 6;
	size_t n = strlen(base);
	if (n > 4 && !strcmp(base + n - 4, ".elf"))
		n -= 4;
	return strlen(name) == n && !strncmp(base, name, n);
}

#define SWAP(a, b) do { __typeof__(a) t_ = (a); (a) = (b); (b) = t_; } while (0)

/*
 * Replace in dst each key src gives, whole: the members move across, so
 * freeing src afterwards frees what dst had for those keys.
 */
static void overlay(struct expectations *dst, struct expectations *src)
{
	unsigned k = src->keys;
	if (k & EK_OUTCOME) {
		SWAP(dst->has_outcome, src->has_outcome);
		SWAP(dst->outcome, src->outcome);
		SWAP(dst->outcome_loc, src->outcome_loc);
	}
	if (k & EK_SIGNAL)
		SWAP(dst->signal, src->signal);
	if (k & EK_MESSAGE) {
		SWAP(dst->message, src->message);
		SWAP(dst->message_loc, src->message_loc);
	}
	if (k & EK_FINAL)
		SWAP(dst->final, src->final);
	if (k & EK_RETURNED)
		SWAP(dst->returned, src->returned);
	if (k & EK_FIXUPS) {
		SWAP(dst->has_fixups, src->has_fixups);
		SWAP(dst->fixups_loc, src->fixups_loc);
		SWAP(dst->nfixups, src->nfixups);
		for (int i = 0; i < MAX_ITEMS; i++)
			SWAP(dst->fixups[i], src->fixups[i]);
	}
	if (k & EK_EVENTS) {
		SWAP(dst->has_events, src->has_events);
		SWAP(dst->events_loc, src->events_loc);
		SWAP(dst->nevents, src->nevents);
		for (int i = 0; i < MAX_ITEMS; i++)
			SWAP(dst->events[i], src->events[i]);
	}
	if (k & EK_CALLOUTS) {
		SWAP(dst->ncallouts, src->ncallouts);
		for (int i = 0; i < MAX_ITEMS; i++)
			SWAP(dst->callouts[i], src->callouts[i]);
	}
	if (k & EK_FINDINGS) {
		SWAP(dst->has_findings, src->has_findings);
		SWAP(dst->findings_loc, src->findings_loc);
		SWAP(dst->nfindings, src->nfindings);
		for (int i = 0; i < MAX_ITEMS; i++)
			SWAP(dst->findings[i], src->findings[i]);
	}
	if (k & EK_NOT_CALLED) {
		SWAP(dst->nnot_called, src->nnot_called);
		for (int i = 0; i < MAX_ITEMS; i++)
			SWAP(dst->not_called[i], src->not_called[i]);
	}
	dst->keys |= k;
}

/* Lay fe's keys over out. */
static int apply(struct expectations *out, const struct family_expect *fe)
{
	struct expectations *over = malloc(sizeof(*over));
	if (!over || expectations_copy(over, &fe->exp)) {
		free(over);
		return ENTRYEMU_E_NOMEM;
	}
	overlay(out, over);
	expectations_free(over);
	free(over);
	return 0;
}

int family_expectations(const entryemu_scenario *s, const entryemu *m, struct expectations *out)
{
	int rc = expectations_copy(out, &s->exp);
	if (rc)
		return rc;
	unsigned fam = family_of_image(m);
	/* the family's keys first, then the image's over them */
	for (int i = 0; i < s->nfamily_exp && !rc; i++)
		if (s->family_exp[i].families & fam)
			rc = apply(out, &s->family_exp[i]);
	for (int i = 0; i < s->nfamily_exp && !rc; i++)
		if (s->family_exp[i].image && image_is(m, s->family_exp[i].image))
			rc = apply(out, &s->family_exp[i]);
	if (rc)
		expectations_free(out);
	return rc;
}
