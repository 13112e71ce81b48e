/*
 * The tables the image gives a size, for the bounds checker
 * (run/checks_bounds.c).  A table is marked with its size in one of two
 * ways:
 *
 *  - a data object with an ELF size: `.type name, @object` and
 *    `.size name, N` give STT_OBJECT and st_size = N;
 *  - an absolute symbol STEM_size whose STEM names a symbol of the image
 *    when underscores are ignored: entry.S's
 *    `syscall_table_size = (. - sys_call_table)` sizes sys_call_table,
 *    as every i386 entry.S from 2.6.x spells it.
 *
 * A table must lie inside the loaded image; one whose size does not is
 * no table (the checker would read outside it).  Where a symbol has both,
 * its st_size wins.
 */
#include "image/image.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* a and b are the same name once underscores are dropped; b stops at blen */
static int same_but_underscores(const char *a, const char *b, size_t blen)
{
	const char *bend = b + blen;
	for (;;) {
		while (*a == '_')
			a++;
		while (b < bend && *b == '_')
			b++;
		if (!*a || b == bend)
			return !*a && b == bend;
		if (*a++ != *b++)
			return 0;
	}
}

static int inside(const struct image *img, uint32_t addr, uint32_t size)
{
	return size && addr >= img->base && addr < img->end && size <= img->end - addr;
}

static int cmp_table(const void *a, const void *b)
{
	const struct image_table *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

int image_tables(struct image *img, char *err, size_t errlen)
{
	img->ntables = 0;
	img->tables = calloc(img->nsyms ? img->nsyms : 1, sizeof(*img->tables));
	if (!img->tables) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < img->nsyms; i++) {
		const struct image_symbol *s = &img->syms[i];
		struct image_table t = { .addr = s->addr, .name = s->name };
		if (s->size) {
			t.size = s->size;
			t.size_from = "st_size";
		} else {
			for (size_t k = 0; k < img->nabs_sizes; k++) {
				const struct image_symbol *z = &img->abs_sizes[k];
				if (same_but_underscores(s->name, z->name, strlen(z->name) - 5)) {
					t.size = z->addr;
					t.size_from = z->name;
					break;
				}
			}
		}
		/* one table an address (labels may share it) */
		if (inside(img, t.addr, t.size) &&
		    !(img->ntables && img->tables[img->ntables - 1].addr == t.addr))
			img->tables[img->ntables++] = t;
	}
	qsort(img->tables, img->ntables, sizeof(*img->tables), cmp_table);
	return 0;
}

const struct image_table *image_table_at(const struct image *img, uint32_t addr)
{
	return image_find_sorted(img->tables, img->ntables, sizeof(*img->tables), addr);
}
