/*
 * Guest memory: the host buffers behind the emulated regions, and the
 * per-run reset of what a run wrote.
 *
 * Every region is backed by a host buffer mapped into the engine, so the
 * library reads pt_regs and descriptors without going through the
 * engine.  A reset must leave every byte as it was after boot, or runs
 * would depend on their predecessors; copying all of it back (28 KiB)
 * took 0.4 us of a 5 us run, so only what was written is restored:
 *
 *  - The guest's writes.  The regions are mapped without write
 *    permission; the engine then calls the store-to-read-only hook
 *    before each guest store, which marks the granule dirty and lets the
 *    store happen.  A region that is written on every run (the top of
 *    the kernel stack, where every entry builds its frame) is mapped
 *    writable instead and restored every time: a hook per push would
 *    cost more than the copy.  (A hook on every guest store would also
 *    work, but its mere presence slows every store of every run.)
 *  - The library's own writes go through machine_wptr() or
 *    machine_mark_dirty().
 *
 * ENTRYEMU_RUN_CHECK_RESET compares every region with its pristine copy
 * after the reset, for tests of this bookkeeping.
 */
#include "mem/memory.h"
#include "base/halt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define PAGE 0x1000u

/*
 * The region [addr, addr+len) lies inside, or NULL.  The one that held
 * the last address looked up first (the checks before each instruction
 * look at the code's own region again and again), then the rest in the
 * order they were mapped, the kernel's first: descriptor and stack reads
 * are the common case.
 */
static struct host_region *region_of(struct entryemu *m, uint32_t addr, size_t len)
{
	struct host_region *r = &m->regions[m->last_region];
	uint32_t off = addr - r->base;		/* below base: wraps, too large */
	if (m->last_region < m->nregions && len <= r->size && off <= r->size - len)
		return r;
	for (unsigned i = 0; i < m->nregions; i++) {
		r = &m->regions[i];
		off = addr - r->base;
		if (len <= r->size && off <= r->size - len) {
			m->last_region = i;
			return r;
		}
	}
	return NULL;
}

/* Host pointer for [addr, addr+len) if it lies inside one region. */
uint8_t *machine_ptr(struct entryemu *m, uint32_t addr, size_t len)
{
	const struct host_region *r = region_of(m, addr, len);
	return r ? r->p + (addr - r->base) : NULL;
}

/* As machine_ptr(), for a write by the library: the next reset undoes it. */
uint8_t *machine_wptr(struct entryemu *m, uint32_t addr, size_t len)
{
	uint8_t *p = machine_ptr(m, addr, len);
	if (p)
		machine_mark_dirty(m, addr, (uint32_t)len);
	return p;
}

/*
 * A lasting change: the bytes, and the state every reset returns to, so
 * the resets leave them as they are (the code's page-table entries,
 * paging.c).  [addr, addr+len) lies in a region kept at the snapshot.
 */
void machine_set_lasting(struct entryemu *m, uint32_t addr, const void *bytes, size_t len)
{
	struct host_region *r = region_of(m, addr, len);
	if (!r || !r->pristine)
		return;
	memcpy(r->p + (addr - r->base), bytes, len);
	memcpy(r->pristine + (addr - r->base), bytes, len);
}

int machine_memory_in(struct entryemu *m, uint32_t lo, uint32_t hi)
{
	for (unsigned i = 0; i < m->nregions; i++) {
		const struct host_region *r = &m->regions[i];
		if (r->base < hi && lo < (uint64_t)r->base + r->size)
			return 1;
	}
	return 0;
}

/* The granules of r that [addr, addr+len) touches. */
static uint64_t granules(const struct host_region *r, uint32_t addr, uint32_t len)
{
	uint64_t a = addr, b = (uint64_t)addr + len;
	uint64_t lo = r->base, hi = (uint64_t)r->base + r->size;
	if (a < lo)
		a = lo;
	if (b > hi)
		b = hi;
	if (a >= b)
		return 0;
	unsigned g0 = (unsigned)((a - lo) / r->granule), g1 = (unsigned)((b - 1 - lo) / r->granule);
	uint64_t upto = g1 >= 63 ? ~0ull : (2ull << g1) - 1;
	return upto & ~((1ull << g0) - 1);
}

void machine_mark_dirty(struct entryemu *m, uint32_t addr, uint32_t len)
{
	struct host_region *in = region_of(m, addr, len);
	if (in) {
		in->dirty |= granules(in, addr, len);
		return;			/* inside one region: the common case */
	}
	for (unsigned i = 0; i < m->nregions; i++)	/* across regions */
		m->regions[i].dirty |= granules(&m->regions[i], addr, len);
}

int machine_written(struct entryemu *m, uint32_t addr, uint32_t len)
{
	const struct host_region *r = len ? region_of(m, addr, len) : NULL;
	return r && machine_region_written(r, addr, len);
}

int machine_region_written(const struct host_region *r, uint32_t addr, uint32_t len)
{
	return (r->dirty & granules(r, addr, len)) != 0;
}

/* A block ran at [addr, addr+size): restoring those bytes must also drop
 * what Unicorn translated from them. */
void machine_mark_code(struct entryemu *m, uint32_t addr, uint32_t size)
{
	for (unsigned i = 0; i < m->nregions; i++)
		m->regions[i].code |= granules(&m->regions[i], addr, size);
}

/*
 * Drop every translation the engine holds, page range by page range:
 * the places that ever ran as code are known, so this costs a few
 * invalidations where dropping the whole cache would clear Unicorn's
 * 1 GiB code buffer.  Code translated afterwards sees the hooks present
 * then.
 */
int machine_drop_code(struct entryemu *m, enum code_pages which)
{
	for (unsigned i = 0; i < m->nregions; i++) {
		struct host_region *r = &m->regions[i];
		int user = r->base < PAGE_OFFSET || r->base == VSYSCALL_PAGE;
		if (!(which & (user ? CODE_USER : CODE_KERNEL)))
			continue;
		for (uint32_t g = 0; g < 64 && r->code >> g; g++) {
			if (!(r->code & (1ull << g)))
				continue;
			uint32_t from = g;
			while (g + 1 < 64 && (r->code & (1ull << (g + 1))))
				g++;
			uint32_t lo = r->base + from * r->granule;
			uint32_t hi = r->base + (g + 1) * r->granule;
			if (hi > r->base + r->size || hi < lo)
				hi = r->base + r->size;
			if (engine_flush_range(m->eng, lo, hi))
				return -1;
		}
	}
	return 0;
}

/*
 * Does [addr, addr+len) lie where code is: granules that have run as
 * code?  Not in a region whose code is checked as the engine fetches it
 * (user and vm86 pages, noexec): a store there is data until it runs, in
 * every run.
 */
static int holds_code(struct entryemu *m, uint32_t addr, uint32_t len)
{
	const struct host_region *r = region_of(m, addr, 1);
	return r && !r->noexec && (r->code & granules(r, addr, len)) != 0;
}

/*
 * A guest store into kernel code (user and vm86 pages are checked as the
 * engine fetches their code instead: src/cpu/far_indirect.c) that makes
 * a pair of bytes the engine aborts the process on when it translates
 * them (a far CALL or JMP through a register; the CPU raises #UD for
 * it).  The store is about to happen.  Where the pair's other byte is
 * already in memory, that byte is changed so that the pair stays #UD and becomes
 * one the engine takes: `ff' becomes `fe' (group 4 /3 and /5 are
 * undefined too), a ModRM gets reg 7 (`ff /7').  The program sees the
 * changed byte if it reads it back, as with the bytes the library
 * rewrites in the code it loads.  A store that holds both bytes cannot
 * be helped: the run ends unsupported before the engine goes on.
 *
 * No translation is dropped here.  The engine drops those of the stored
 * bytes itself once this hook returns, and a block that holds both bytes
 * holds a stored one; the blocks that hold only the changed byte were
 * translated from the byte the program wrote, which is what the CPU
 * runs.  Dropping the running block from inside the store would also
 * hide it from the engine's own check, so the rest of it would run from
 * its old bytes whatever the program stores into it next.
 */
static void guard_code_store(struct entryemu *m, uint32_t addr, uint32_t size, uint64_t value)
{
	if (size > 8 || !holds_code(m, addr, size))
		return;
	for (uint32_t i = 0; i <= size; i++) {	/* the pair at addr - 1 + i */
		uint32_t a = addr - 1 + i;
		uint8_t *p0 = i == 0 ? machine_ptr(m, a, 1) : NULL;
		uint8_t *p1 = i == size ? machine_ptr(m, a + 1, 1) : NULL;
		if ((i == 0 && !p0) || (i == size && !p1))
			continue;
		uint8_t b0 = i == 0 ? *p0 : (uint8_t)(value >> (8 * (i - 1)));
		uint8_t b1 = i == size ? *p1 : (uint8_t)(value >> (8 * i));
		if (!engine_aborts_translating(b0, b1))
			continue;
		if (p0) {
			*p0 = 0xfe;
			machine_mark_dirty(m, a, 1);
		} else if (p1) {
			*p1 |= 7u << 3;
			machine_mark_dirty(m, a + 1, 1);
		} else if (m->halt && !m->halt->stopping) {
			halt_set(m->halt, ENTRYEMU_UNSUPPORTED, "a store at 0x%08x writes `ff %02x' "
				 "into code: a far CALL or JMP through a register, which the "
				 "engine cannot translate: not modelled", addr, b1);
			engine_stop(m->eng);
			return;
		}
	}
}

/* The engine tells of a guest store to a region mapped read-only (then lets it through). */
static void watch_hook(void *data, uint32_t addr, uint32_t size, uint64_t value)
{
	struct entryemu *m = data;
	m->watched_stores++;
	if (addr < m->running_hi && addr + size > m->running_lo)
		m->running_stored = 1;	/* the engine cuts the block: counting.c */
	machine_mark_dirty(m, addr, size);
	guard_code_store(m, addr, size, value);
}

/*
 * Map [addr, addr+size) onto host.  With keep, machine_snapshot() copies
 * its contents as the state every reset returns to; without, that state
 * is all zeros.  Bytes from always_from on are writable to the guest and
 * restored on every reset; those before it are watched.  The watched
 * part is mapped watch_len bytes long: it may go on into the regions
 * after this one (machine_map_regions), and 0 means they mapped it.
 */
static int map_one(struct entryemu *m, const struct region_spec *r, uint8_t *host,
		   uint32_t watch_len)
{
	uint8_t *pristine = r->keep ? malloc(r->size) : NULL;
	if (r->keep && !pristine) {
		machine_set_error(m, "out of memory");
		return ENTRYEMU_E_NOMEM;
	}
	char err[256] = "";
	int e = 0;
	if (watch_len)
		e = engine_map(m->eng, r->base, watch_len, host, r->noexec ? 0 : ENGINE_MAP_EXEC, err,
			       sizeof(err));
	if (!e && r->always_from < r->size && r->served)
		e = engine_map_served(m->eng, r->base + r->always_from, r->size - r->always_from,
				      host + r->always_from, err, sizeof(err));
	else if (!e && r->always_from < r->size)
		e = engine_map(m->eng, r->base + r->always_from, r->size - r->always_from,
			       host + r->always_from, ENGINE_MAP_WRITE | ENGINE_MAP_EXEC, err,
			       sizeof(err));
	if (e) {
		free(pristine);
		machine_set_error(m, "%s", err);
		return ENTRYEMU_E_ENGINE;
	}
	/* 64 granules at most, each a whole number of pages */
	uint32_t granule = PAGE;
	while ((uint64_t)granule * 64 < r->size)
		granule += PAGE;
	m->regions[m->nregions++] = (struct host_region){
		.base = r->base, .size = r->size, .p = host, .pristine = pristine,
		.always_from = r->always_from, .granule = granule, .noexec = r->noexec,
	};
	return 0;
}

/*
 * Where each region sits in the arena: first those of the same size on
 * every image, in order, then each that varies (r->varies: the image,
 * the kernel stack) in a slot of its own rounded up to ARENA_SLOT.  A
 * machine that takes over another's arena (entryemu_reopen) then finds
 * the same regions at the same host addresses, which lets the engine
 * keep their mappings (engine_recycle).  The slots are address space
 * only: untouched pages cost nothing.  Returns the arena's size.
 */
#define ARENA_SLOT 0x400000u

static size_t arena_layout(const struct region_spec *spec, unsigned n, size_t *off)
{
	size_t total = 0;
	for (int varies = 0; varies < 2; varies++)
		for (unsigned i = 0; i < n; i++) {
			if (!spec[i].varies != !varies)
				continue;
			size_t round = varies ? ARENA_SLOT : PAGE;
			off[i] = total;
			total += ((size_t)spec[i].size + round - 1) & ~(size_t)(round - 1);
		}
	return total;
}

/*
 * A taken-over arena back to zeros, as a fresh anonymous mapping is: only
 * its resident pages can hold anything, and clearing the others would
 * fault them in for nothing.
 */
static void zero_arena(uint8_t *arena, size_t size)
{
	size_t pages = size / PAGE;
	unsigned char *in = malloc(pages ? pages : 1);
	if (!in || mincore(arena, size, in)) {
		memset(arena, 0, size);
		free(in);
		return;
	}
	for (size_t i = 0; i < pages; i++)
		if (in[i] & 1)
			memset(arena + i * PAGE, 0, PAGE);
	free(in);
}

/*
 * Every page no region of spec covers, but the one at keep_free, mapped
 * as absent (engine_map_absent): where the machine has no memory, an
 * access is the page tables' #PF (paging.c) rather than the engine's
 * stop.
 */
static int map_absent(struct entryemu *m, const struct region_spec *spec, unsigned n,
		      uint32_t keep_free)
{
	uint64_t at = 0;
	while (at < 1ull << 32) {
		uint64_t next = 1ull << 32;	/* the lowest region or hole above at */
		int inside = 0;
		for (unsigned i = 0; i < n && !inside; i++) {
			uint64_t lo = spec[i].base;
			uint64_t hi = (lo + spec[i].size + PAGE - 1) & ~(uint64_t)(PAGE - 1);
			if (lo <= at && at < hi) {
				at = hi;
				inside = 1;
			} else if (lo > at && lo < next) {
				next = lo;
			}
		}
		if (inside)
			continue;
		if (at == keep_free) {
			at += PAGE;
			continue;
		}
		if (keep_free > at && keep_free < next)
			next = keep_free;
		char err[256];
		if (engine_map_absent(m->eng, (uint32_t)at, (uint32_t)(next - at), err, sizeof(err))) {
			machine_set_error(m, "%s", err);
			return ENTRYEMU_E_ENGINE;
		}
		at = next;
	}
	return 0;
}

/*
 * The regions, backed by one anonymous mapping: zero-filled by the
 * kernel, and its pages are only faulted in once used (most of the user
 * code and vm86 regions never are), which matters to a short-lived
 * process.  A machine reopened on another's engine takes over that
 * machine's arena (machine_take_arena) if it is large enough.  Each
 * *host is pointed at its region's buffer.  Then every other page but
 * keep_free is mapped absent (map_absent), and the write-watch hook.
 */
int machine_map_regions(struct entryemu *m, const struct region_spec *spec, unsigned n,
			uint32_t keep_free)
{
	if (n > MACHINE_REGIONS) {
		machine_set_error(m, "%u regions, at most %u", n, MACHINE_REGIONS);
		return ENTRYEMU_E_ENGINE;
	}
	size_t off[MACHINE_REGIONS];
	size_t total = arena_layout(spec, n, off);
	if (m->arena && m->arena_size >= total) {
		zero_arena(m->arena, m->arena_size);
	} else {
		if (m->arena)
			munmap(m->arena, m->arena_size);
		m->arena = NULL;
		void *arena = mmap(NULL, total, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (arena == MAP_FAILED) {
			machine_set_error(m, "out of memory");
			return ENTRYEMU_E_NOMEM;
		}
		m->arena = arena;
		m->arena_size = total;
	}
	/*
	 * Each mapping costs the engine a rebuild of its whole memory map,
	 * so watched regions that follow on in the guest and in the arena
	 * (the exit page and user code) are mapped as one.
	 */
	unsigned joined_to = 0;		/* regions before this index were mapped with an earlier one */
	for (unsigned i = 0; i < n; i++) {
		const struct region_spec *r = &spec[i];
		*r->host = m->arena + off[i];
		uint32_t watch = i < joined_to ? 0 : r->always_from;
		if (i >= joined_to && r->always_from == r->size) {
			unsigned j = i + 1;
			while (j < n && spec[j].always_from == spec[j].size && !(spec[j - 1].size % PAGE) &&
			       spec[j - 1].base + spec[j - 1].size == spec[j].base &&
			       off[j - 1] + spec[j - 1].size == off[j] &&
			       spec[j].noexec == r->noexec)
				watch += spec[j++].size;
			joined_to = j;
		}
		int rc = map_one(m, r, m->arena + off[i], watch);
		if (rc)
			return rc;
	}
	int rc = map_absent(m, spec, n, keep_free);
	if (rc)
		return rc;
	if (engine_drop_parked(m->eng)) {
		machine_set_error(m, "cannot unmap the last machine's memory");
		return ENTRYEMU_E_ENGINE;
	}
	engine_hook h;
	if (engine_hook_store_ro(m->eng, &h, watch_hook, m)) {
		machine_set_error(m, "cannot install the write-watch hook");
		return ENTRYEMU_E_ENGINE;
	}
	return 0;
}

/* The regions' contents now are what every reset returns to. */
void machine_snapshot(struct entryemu *m)
{
	for (unsigned i = 0; i < m->nregions; i++) {
		struct host_region *r = &m->regions[i];
		if (r->pristine)
			memcpy(r->pristine, r->p, r->size);
		r->dirty = 0;
	}
}

/* Release the guest memory (the image's bytes live in it). */
void machine_unmap(struct entryemu *m)
{
	for (unsigned i = 0; i < m->nregions; i++)
		free(m->regions[i].pristine);
	m->nregions = 0;
	if (m->arena) {
		if (m->img.bytes >= m->arena && m->img.bytes < m->arena + m->arena_size)
			m->img.bytes = NULL;
		munmap(m->arena, m->arena_size);
		m->arena = NULL;
	}
}

void machine_take_arena(struct entryemu *to, struct entryemu *from)
{
	if (from->img.bytes >= from->arena && from->img.bytes < from->arena + from->arena_size)
		from->img.bytes = NULL;
	to->arena = from->arena;
	to->arena_size = from->arena_size;
	from->arena = NULL;
	from->arena_size = 0;
}

struct host_region *machine_region(struct entryemu *m, uint32_t base)
{
	for (unsigned i = 0; i < m->nregions; i++)
		if (m->regions[i].base == base)
			return &m->regions[i];
	return NULL;
}

static void restore(struct host_region *r, uint32_t off, uint32_t len)
{
	if (r->pristine)
		memcpy(r->p + off, r->pristine + off, len);
	else
		memset(r->p + off, 0, len);
}

/* Does [a, a+n) of r differ from the state after boot? */
static int differs(const struct host_region *r, uint32_t a, uint32_t n)
{
	static const uint8_t zeros[64];
	return memcmp(r->p + a, r->pristine ? r->pristine + a : zeros, n) != 0;
}

/*
 * The bytes of [off, off+len) of r that differ from the state after boot,
 * from the first to the last, as [*lo, *hi) offsets in r; 0 when none
 * does.  It compares 64-byte chunks, then bytes in the two end chunks:
 * a 16 KiB granule is a few microseconds, against the milliseconds of
 * translating all of its code again.
 */
static int changed_span(const struct host_region *r, uint32_t off, uint32_t len, uint32_t *lo,
			uint32_t *hi)
{
	uint32_t a = off, b = off + len;
	while (a < b && !differs(r, a, b - a < 64 ? b - a : 64))
		a += 64;
	if (a >= b)
		return 0;
	while (b - a > 64 && !differs(r, b - 64, 64))
		b -= 64;
	while (!differs(r, a, 1))
		a++;			/* a chunk from a on differs */
	while (!differs(r, b - 1, 1))
		b--;			/* and so does a from a to b */
	*lo = a;
	*hi = b;
	return 1;
}

/*
 * Undo the writes since the last reset.  Of a granule that ran as code,
 * only the translations of the bytes that change go: a run that wrote
 * beside its code (a loop over a zeroed page) keeps the code's.  Each
 * region's put_back_lo..hi spans the code it changed back.
 */
void machine_restore(struct entryemu *m)
{
	for (unsigned i = 0; i < m->nregions; i++) {
		struct host_region *r = &m->regions[i];
		r->put_back_lo = r->put_back_hi = 0;
		for (uint64_t d = r->dirty; d; d &= d - 1) {
			uint32_t off = (uint32_t)__builtin_ctzll(d) * r->granule;
			uint32_t len = r->size - off < r->granule ? r->size - off : r->granule;
			if (off >= r->always_from)
				continue;	/* restored below */
			if (len > r->always_from - off)
				len = r->always_from - off;
			uint32_t lo, hi;
			int flush = (r->code & (1ull << (off / r->granule))) &&
				    changed_span(r, off, len, &lo, &hi);
			restore(r, off, len);
			if (!flush)
				continue;
			engine_flush_range(m->eng, r->base + lo, r->base + hi);
			if (r->put_back_hi == 0)
				r->put_back_lo = r->base + lo;
			r->put_back_hi = r->base + hi;	/* granules go up */
		}
		r->dirty = 0;
		if (r->always_from < r->size)
			restore(r, r->always_from, r->size - r->always_from);
	}
}

/* The first byte that differs from the pristine state, or -1. */
static long first_difference(const struct host_region *r, uint32_t from)
{
	for (uint32_t i = from; i < r->size; i++)
		if (r->p[i] != (r->pristine ? r->pristine[i] : 0))
			return (long)i;
	return -1;
}

int machine_check_restored(struct entryemu *m)
{
	for (unsigned i = 0; i < m->nregions; i++) {
		const struct host_region *r = &m->regions[i];
		/* code loaded for runs stays loaded: it is not part of the snapshot */
		uint32_t from = r->base == ENTRYEMU_USER_CODE ? (uint32_t)m->ucode_len :
				r->base == ENTRYEMU_VM86_MEM ? (uint32_t)m->vm86_code_len : 0;
		long at = first_difference(r, from);
		if (at >= 0) {
			machine_set_error(m, "reset left 0x%08x changed (0x%02x, pristine 0x%02x)",
					  r->base + (uint32_t)at, r->p[at],
					  r->pristine ? r->pristine[at] : 0);
			return ENTRYEMU_E_ENGINE;
		}
	}
	return 0;
}

size_t machine_avail(struct entryemu *m, uint32_t addr, size_t max)
{
	/*
	 * A region at a time (this runs for every instruction a checker
	 * decodes), and on into the next only where its host bytes follow
	 * on: callers read all of them through machine_ptr(addr).  (Regions
	 * that follow on at guest addresses need not in the host: only the
	 * ones machine_map_regions() maps as one are laid out so.)
	 */
	if (region_of(m, addr, max))
		return max;		/* all in one region: the common case */
	size_t n = 0;
	const uint8_t *end = NULL;
	while (n < max) {
		uint32_t at = addr + (uint32_t)n;
		const struct host_region *hit = region_of(m, at, 1);
		if (!hit || (end && hit->p + (at - hit->base) != end))
			break;
		n += hit->size - (at - hit->base);
		end = hit->p + hit->size;
	}
	return n < max ? n : max;
}
