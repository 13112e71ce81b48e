/*
 * Coverage of the entry code: for every code label of the image and every
 * __ex_table entry, how many runs reached it.  A run's trace is sorted
 * once and each label looked up in it.
 */
#include "run/result.h"
#include "handle.h"

#include <stdlib.h>
#include <string.h>

struct entryemu_coverage {
	entryemu *m;
	unsigned runs;
	struct entryemu_label_coverage *labels;
	size_t nlabels;
	struct entryemu_extable_coverage *ex;
	size_t nex;
	uint32_t *sorted;
	size_t cap;
};

static int is_code(const struct image *img, uint32_t a)
{
	return a >= img->text_start && a < img->text_end;
}

entryemu_coverage *entryemu_coverage_new(entryemu *m)
{
	if (!m)
		return NULL;
	entryemu_coverage *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->m = m;
	const struct image *img = &m->img;
	c->labels = calloc(img->nsyms ? img->nsyms : 1, sizeof(*c->labels));
	c->ex = calloc(img->nextable ? img->nextable : 1, sizeof(*c->ex));
	if (!c->labels || !c->ex) {
		entryemu_coverage_free(c);
		return NULL;
	}
	for (size_t i = 0; i < img->nsyms; i++) {
		const struct image_symbol *s = &img->syms[i];
		/* code labels; the callout slots and section markers are not */
		if (!is_code(img, s->addr) || s->name[0] == '.' || !strncmp(s->name, "__", 2) ||
		    (s->addr >= img->callouts_start && s->addr < img->callouts_end) ||
		    !strcmp(s->name, "_text") || !strcmp(s->name, "_etext"))
			continue;
		c->labels[c->nlabels].name = s->name;
		c->labels[c->nlabels].addr = s->addr;
		c->nlabels++;
	}
	for (size_t i = 0; i < img->nextable; i++) {
		c->ex[i].insn = img->extable[i].insn;
		c->ex[i].fixup = img->extable[i].fixup;
	}
	c->nex = img->nextable;
	return c;
}

void entryemu_coverage_free(entryemu_coverage *c)
{
	if (!c)
		return;
	free(c->labels);
	free(c->ex);
	free(c->sorted);
	free(c);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static int executed(const uint32_t *v, size_t n, uint32_t a)
{
	return bsearch(&a, v, n, sizeof(*v), cmp_u32) != NULL;
}

int entryemu_coverage_add(entryemu_coverage *c, const entryemu_result *r)
{
	if (!c || !r || !r->trace || !r->trace_len)
		return ENTRYEMU_E_INVAL;
	if (r->trace_len > c->cap) {
		uint32_t *s = realloc(c->sorted, r->trace_len * sizeof(*s));
		if (!s)
			return ENTRYEMU_E_NOMEM;
		c->sorted = s;
		c->cap = r->trace_len;
	}
	memcpy(c->sorted, r->trace, r->trace_len * sizeof(*c->sorted));
	qsort(c->sorted, r->trace_len, sizeof(*c->sorted), cmp_u32);
	for (size_t i = 0; i < c->nlabels; i++)
		c->labels[i].runs += executed(c->sorted, r->trace_len, c->labels[i].addr);
	for (size_t i = 0; i < c->nex; i++) {
		c->ex[i].reached += executed(c->sorted, r->trace_len, c->ex[i].insn);
		for (size_t f = 0; f < r->nfixups; f++)
			if (r->fixups[f].insn == c->ex[i].insn) {
				c->ex[i].taken++;
				break;
			}
	}
	c->runs++;
	return 0;
}

unsigned entryemu_coverage_runs(const entryemu_coverage *c) { return c ? c->runs : 0; }
size_t entryemu_coverage_nlabels(const entryemu_coverage *c) { return c ? c->nlabels : 0; }
size_t entryemu_coverage_nextable(const entryemu_coverage *c) { return c ? c->nex : 0; }

const struct entryemu_label_coverage *entryemu_coverage_label(const entryemu_coverage *c,
							      size_t i)
{
	return c && i < c->nlabels ? &c->labels[i] : NULL;
}

const struct entryemu_extable_coverage *entryemu_coverage_extable(const entryemu_coverage *c,
								  size_t i)
{
	return c && i < c->nex ? &c->ex[i] : NULL;
}
