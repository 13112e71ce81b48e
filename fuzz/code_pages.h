/*
 * Pages for translated code before it is written: fuzz_code_pages_find()
 * once the machines are open, then fuzz_code_pages_ahead() now and then.
 *
 * Unicorn fills each engine's 1 GiB code buffer from its start and never
 * reuses what it dropped, so a fuzzer's new code keeps landing on pages
 * never touched: about one page fault every two inputs of `fuzz_entry`,
 * and a fault costs 11-15 us on the machine the project is measured on
 * (fuzz/README.md).  MADV_POPULATE_WRITE (Linux 5.14) gives a buffer
 * the next FUZZ_CODE_AHEAD bytes of pages in one call, once the code
 * written reaches the middle of the last ones given.  The buffers are
 * the process's anonymous writable and executable mappings of at least
 * FUZZ_CODE_MIN bytes; where there are none, or the kernel refuses,
 * nothing is done and the faults come as before.
 */
#ifndef FUZZ_CODE_PAGES_H
#define FUZZ_CODE_PAGES_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23		/* <linux/mman.h>, Linux 5.14 */
#endif

#define FUZZ_CODE_MIN (512ul << 20)
#define FUZZ_CODE_AHEAD (2ul << 20)
#define FUZZ_CODE_BUFFERS 16

static struct fuzz_code_buffer {
	uint8_t *base;
	size_t size, given;		/* bytes from base with pages given */
} fuzz_code[FUZZ_CODE_BUFFERS];
static unsigned fuzz_ncode;

/* Has Unicorn written into the page at p?  (A page given and not yet
 * written holds zeros.) */
static int fuzz_page_written(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)(const void *)p;
	for (size_t i = 0; i < 4096 / sizeof(*w); i++)
		if (w[i])
			return 1;
	return 0;
}

/* Give each buffer the next pages it is about to write. */
static void fuzz_code_pages_ahead(void)
{
	for (unsigned i = 0; i < fuzz_ncode; i++) {
		struct fuzz_code_buffer *b = &fuzz_code[i];
		if (b->given >= b->size ||
		    (b->given && !fuzz_page_written(b->base + b->given - FUZZ_CODE_AHEAD / 2)))
			continue;
		size_t n = b->size - b->given < FUZZ_CODE_AHEAD ? b->size - b->given
							       : FUZZ_CODE_AHEAD;
		if (madvise(b->base + b->given, n, MADV_POPULATE_WRITE))
			b->given = b->size;	/* refused: leave it to the faults */
		else
			b->given += n;
	}
}

/* The engines' code buffers, as the machines just opened have them. */
static void fuzz_code_pages_find(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	fuzz_ncode = 0;
	if (!f)
		return;
	while (fuzz_ncode < FUZZ_CODE_BUFFERS && fgets(line, sizeof(line), f)) {
		unsigned long lo, hi, off, inode;
		char perm[8], dev[16];
		if (sscanf(line, "%lx-%lx %7s %lx %15s %lu", &lo, &hi, perm, &off, dev, &inode) != 6 ||
		    strcmp(perm, "rwxp") || inode || hi - lo < FUZZ_CODE_MIN || strchr(line, '['))
			continue;
		fuzz_code[fuzz_ncode++] = (struct fuzz_code_buffer){ (uint8_t *)lo, hi - lo, 0 };
	}
	fclose(f);
	fuzz_code_pages_ahead();
}

#endif
