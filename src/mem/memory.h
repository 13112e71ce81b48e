/*
 * Guest memory: host buffers mapped into the engine, the pointer a host
 * address range has, and the per-run reset that restores only what the
 * last run wrote.  The bottom of the library: it calls only the engine.
 */
#ifndef ENTRYEMU_MEM_MEMORY_H
#define ENTRYEMU_MEM_MEMORY_H

#include "handle.h"

/* memory.c */
uint8_t *machine_ptr(struct entryemu *m, uint32_t addr, size_t len);
/* How many bytes from addr on, up to max, are mapped and follow on in
 * host memory from machine_ptr(addr): what a decoder of the instruction
 * there may read (max 15: the longest instruction). */
size_t machine_avail(struct entryemu *m, uint32_t addr, size_t max);
uint8_t *machine_wptr(struct entryemu *m, uint32_t addr, size_t len);
/* Does the machine have memory anywhere in [lo, hi)? */
int machine_memory_in(struct entryemu *m, uint32_t lo, uint32_t hi);
void machine_mark_dirty(struct entryemu *m, uint32_t addr, uint32_t len);
/* Was [addr, addr+len), one region's, written since the last reset?  (To
 * the granule: a write beside it may count.) */
int machine_written(struct entryemu *m, uint32_t addr, uint32_t len);
/* The same, in r (machine_region), without a search for it. */
int machine_region_written(const struct host_region *r, uint32_t addr, uint32_t len);
void machine_set_lasting(struct entryemu *m, uint32_t addr, const void *bytes, size_t len);
void machine_mark_code(struct entryemu *m, uint32_t addr, uint32_t size);
/*
 * Drop the engine's translations of everything that ever ran as code:
 * all of it, or only what is on user pages (below PAGE_OFFSET, and the
 * vsyscall page), or only the rest.
 */
enum code_pages { CODE_USER = 1, CODE_KERNEL = 2, CODE_ALL = 3 };	/* bits */
int machine_drop_code(struct entryemu *m, enum code_pages which);
struct region_spec {
	uint32_t base, size;
	uint8_t **host;			/* set to the region's buffer */
	int keep;			/* reset to its contents at machine_snapshot() */
	uint32_t always_from;		/* guest-writable and restored every run from here */
	int served;			/* that writable part: engine_map_served(), not RAM */
	int noexec;			/* the watched part: the engine's fetches to translate
					 * code there trap (engine_hook_fetch_noexec) */
	int varies;			/* its size depends on the image */
};
/* The regions, and every other page but the one at keep_free as absent
 * (engine_map_absent). */
int machine_map_regions(struct entryemu *m, const struct region_spec *spec, unsigned n,
			uint32_t keep_free);
void machine_snapshot(struct entryemu *m);
void machine_restore(struct entryemu *m);
int machine_check_restored(struct entryemu *m);
struct host_region *machine_region(struct entryemu *m, uint32_t base);
void machine_unmap(struct entryemu *m);
/* Hand from's arena (before from is closed) to to, which has none yet. */
void machine_take_arena(struct entryemu *to, struct entryemu *from);

#endif
