/*
 * Growable arrays: results hold every record of a run, however long.
 * vec_reserve() makes room for one more element of size elsz in *p,
 * doubling the capacity; it returns 0, or -1 when the host is out of
 * memory (the caller counts the record as dropped).
 */
#ifndef ENTRYEMU_BASE_VEC_H
#define ENTRYEMU_BASE_VEC_H

#include <stdlib.h>

static inline int vec_reserve(void **p, size_t *cap, size_t n, size_t elsz)
{
	if (n < *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 16;
	void *q = realloc(*p, ncap * elsz);
	if (!q)
		return -1;
	*p = q;
	*cap = ncap;
	return 0;
}

#endif
