/*
 * The engine on Unicorn 2 (UC_ARCH_X86, UC_MODE_32).  Hooks go through
 * small trampolines that drop Unicorn's own arguments; the rest maps one
 * to one.  What Unicorn keeps but does not expose (the exception being
 * delivered) is reached through quirks.c.
 */
#include "engine/engine.h"
#include "engine/quirks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unicorn/unicorn.h>

#define MAX_HOOKS 64
#define MAX_SERVED 16
#define MAX_MAPS 16

/*
 * A mapping's slot: free, mapped for the machine, or parked (still
 * mapped, left by the machine before the last engine_recycle(): the next
 * machine takes it as it is if it asks for the very same mapping).
 */
enum slot_state { SLOT_FREE, SLOT_LIVE, SLOT_PARKED };

/* A range the engine reaches through served_read/served_write. */
struct served {
	uint8_t *host;
	uint32_t base, size;
	enum slot_state state;
};

/* A range mapped as RAM. */
struct mapped {
	uint32_t base, size;
	void *host;
	uint32_t prot;
	enum slot_state state;
};

struct hook {
	int used;
	uc_hook uh;
	void *fn;
	void *ctx;
};

struct engine {
	uc_engine *uc;
	uc_err last;
	struct hook hooks[MAX_HOOKS];
	struct engine_quirks quirks;
	int quirks_ready;
	uc_context *ring0_ctx;		/* the CPU while ring0_begin() holds it */
	struct served served[MAX_SERVED];	/* in place: Unicorn holds their addresses */
	struct mapped maps[MAX_MAPS];
	uc_context *fresh;		/* the CPU as uc_open left it: engine_recycle() */
	uc_hook never;			/* a code hook that never fires, or 0:
					 * engine_inline_hook_calls() */
	unsigned stops;			/* stops asked for: engine_stops() */
	int until_left;			/* a start with `until' since the TLB was last
					 * emptied: engine_until_left() */
};

struct engine_ctx {
	uc_context *c;
};

static const int uc_ids[ER_COUNT] = {
	[ER_EAX] = UC_X86_REG_EAX, [ER_EBX] = UC_X86_REG_EBX, [ER_ECX] = UC_X86_REG_ECX,
	[ER_EDX] = UC_X86_REG_EDX, [ER_ESI] = UC_X86_REG_ESI, [ER_EDI] = UC_X86_REG_EDI,
	[ER_EBP] = UC_X86_REG_EBP, [ER_ESP] = UC_X86_REG_ESP,
	[ER_AX] = UC_X86_REG_AX, [ER_BX] = UC_X86_REG_BX, [ER_CX] = UC_X86_REG_CX,
	[ER_DX] = UC_X86_REG_DX, [ER_SI] = UC_X86_REG_SI, [ER_DI] = UC_X86_REG_DI,
	[ER_BP] = UC_X86_REG_BP, [ER_SP] = UC_X86_REG_SP,
	[ER_EIP] = UC_X86_REG_EIP, [ER_EFLAGS] = UC_X86_REG_EFLAGS,
	[ER_CR0] = UC_X86_REG_CR0, [ER_CR2] = UC_X86_REG_CR2,
	[ER_CR3] = UC_X86_REG_CR3, [ER_CR4] = UC_X86_REG_CR4,
	[ER_FPSW] = UC_X86_REG_FPSW, [ER_FPCW] = UC_X86_REG_FPCW,
	[ER_MXCSR] = UC_X86_REG_MXCSR, [ER_FPTAG] = UC_X86_REG_FPTAG,
	[ER_CS] = UC_X86_REG_CS, [ER_SS] = UC_X86_REG_SS, [ER_DS] = UC_X86_REG_DS,
	[ER_ES] = UC_X86_REG_ES, [ER_FS] = UC_X86_REG_FS, [ER_GS] = UC_X86_REG_GS,
};

/*
 * Each engine's buffer of translated code: Unicorn 2.0.1 maps 1 GiB on a
 * 64-bit host (QEMU's default size, read and write and exec, not
 * reserved) as the engine starts, and when the mapping fails it prints a
 * line and ends the whole process.  So the address space is asked for
 * first, with room for the rest of the engine's set-up, and given back.
 */
#define ENGINE_CODE_BUFFER (1ul << 30)
#define ENGINE_SETUP_ROOM (64ul << 20)

static int address_space_for_engine(char *err, size_t errlen)
{
	size_t size = ENGINE_CODE_BUFFER + ENGINE_SETUP_ROOM;
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		snprintf(err, errlen, "no room for another engine: each needs 1 GiB of address "
			 "space for its translated code, and the process may not map more "
			 "(its limit on address space, ulimit -v, or the system's on committed "
			 "memory)");
		return -1;
	}
	munmap(p, size);
	return 0;
}

/*
 * A fetch from a mapping without exec: from an absent range
 * (engine_map_absent), the fetch goes on to the page walk, whose #PF is
 * the CPU's; from anything else, the hooks installed later decide (and
 * without one, the start ends with an error).
 */
static bool absent_fetch_tramp(uc_engine *uc, uc_mem_type type, uint64_t addr, int size,
			       int64_t value, void *data)
{
	const struct engine *e = data;
	(void)uc;
	(void)type;
	(void)size;
	(void)value;
	for (unsigned i = 0; i < MAX_SERVED; i++) {
		const struct served *s = &e->served[i];
		if (s->state == SLOT_LIVE && !s->host && addr - s->base < s->size)
			return true;
	}
	return false;
}

int engine_open(struct engine **out, char *err, size_t errlen)
{
	*out = NULL;
	if (address_space_for_engine(err, errlen))
		return ENGINE_E_NOMEM;
	struct engine *e = calloc(1, sizeof(*e));
	if (!e) {
		snprintf(err, errlen, "out of memory");
		return ENGINE_E_NOMEM;
	}
	uc_err u = uc_open(UC_ARCH_X86, UC_MODE_32, &e->uc);
	if (u != UC_ERR_OK) {
		snprintf(err, errlen, "uc_open: %s", uc_strerror(u));
		free(e);
		return -1;
	}
	/*
	 * Calibrate now, while the engine is fresh and before any hook runs
	 * (the first engine of the process runs the calibration code itself;
	 * with paging on, or from inside another engine's hook, it would not
	 * work: the next exception came back as #DF).
	 */
	engine_quirks_init(&e->quirks, e->uc);
	e->quirks_ready = 1;
	if (uc_context_alloc(e->uc, &e->fresh) != UC_ERR_OK ||
	    uc_context_save(e->uc, e->fresh) != UC_ERR_OK) {
		snprintf(err, errlen, "cannot save the engine's first state");
		engine_close(e);
		return -1;
	}
	/* for fetches from absent ranges (engine_map_absent): the engine's own, never removed */
	uc_hook absent;
	if (uc_hook_add(e->uc, &absent, UC_HOOK_MEM_FETCH_PROT, (void *)absent_fetch_tramp, e, 1,
			0) != UC_ERR_OK) {
		snprintf(err, errlen, "cannot install the engine's fetch hook");
		engine_close(e);
		return -1;
	}
	*out = e;
	return 0;
}

void engine_close(struct engine *e)
{
	if (!e)
		return;
	if (e->quirks_ready)
		engine_quirks_free(&e->quirks);
	if (e->ring0_ctx)
		uc_context_free(e->ring0_ctx);
	if (e->fresh)
		uc_context_free(e->fresh);
	uc_close(e->uc);
	free(e);
}

uint32_t engine_reg(struct engine *e, enum engine_reg r)
{
	uint32_t v = 0;		/* a 16-bit register fills the low half only */
	uc_reg_read(e->uc, uc_ids[r], &v);
	return v;
}

/* Unicorn 2.0.1 stops emulation when EIP is written (x86_reg_write). */
int engine_set_reg(struct engine *e, enum engine_reg r, uint32_t v)
{
	if (uc_reg_write(e->uc, uc_ids[r], &v) != UC_ERR_OK)
		return -1;
	e->stops += r == ER_EIP;
	return 0;
}

/*
 * Unicorn stores a 16-bit register in the low half of the destination
 * and leaves the rest: zeroed first, the upper half stays 0.
 */
void engine_regs(struct engine *e, const enum engine_reg *ids, uint32_t *vals, int n)
{
	int uids[ER_COUNT];
	void *ptrs[ER_COUNT];
	if (n > ER_COUNT)
		n = ER_COUNT;
	for (int i = 0; i < n; i++) {
		uids[i] = uc_ids[ids[i]];
		vals[i] = 0;
		ptrs[i] = &vals[i];
	}
	uc_reg_read_batch(e->uc, uids, ptrs, n);
}

/* In order, as one call to the engine; -1 if it refused one (the rest are not written). */
int engine_set_regs(struct engine *e, const enum engine_reg *ids, const uint32_t *vals, int n)
{
	int uids[ER_COUNT];
	void *ptrs[ER_COUNT];
	if (n > ER_COUNT)
		n = ER_COUNT;
	for (int i = 0; i < n; i++) {
		uids[i] = uc_ids[ids[i]];
		ptrs[i] = (void *)&vals[i];
		e->stops += ids[i] == ER_EIP;
	}
	return uc_reg_write_batch(e->uc, uids, ptrs, n) == UC_ERR_OK ? 0 : -1;
}

static const int table_ids[] = {
	[ET_GDTR] = UC_X86_REG_GDTR, [ET_IDTR] = UC_X86_REG_IDTR,
	[ET_LDTR] = UC_X86_REG_LDTR, [ET_TR] = UC_X86_REG_TR,
};

int engine_table(struct engine *e, enum engine_table t, struct engine_table_reg *out)
{
	uc_x86_mmr v = { 0 };
	if (uc_reg_read(e->uc, table_ids[t], &v) != UC_ERR_OK)
		return -1;
	*out = (struct engine_table_reg){ v.selector, (uint32_t)v.base, v.limit, v.flags };
	return 0;
}

int engine_tables(struct engine *e, struct engine_table_reg out[4])
{
	uc_x86_mmr v[4];
	void *ptrs[4] = { &v[0], &v[1], &v[2], &v[3] };
	int ids[4];
	memset(v, 0, sizeof(v));
	for (int i = 0; i < 4; i++)
		ids[i] = table_ids[i];
	if (uc_reg_read_batch(e->uc, ids, ptrs, 4) != UC_ERR_OK)
		return -1;
	for (int i = 0; i < 4; i++)
		out[i] = (struct engine_table_reg){ v[i].selector, (uint32_t)v[i].base, v[i].limit,
						    v[i].flags };
	return 0;
}

int engine_set_table(struct engine *e, enum engine_table t, const struct engine_table_reg *v)
{
	uc_x86_mmr u = { .selector = v->selector, .base = v->base, .limit = v->limit,
			 .flags = v->flags };
	return uc_reg_write(e->uc, table_ids[t], &u) == UC_ERR_OK ? 0 : -1;
}

int engine_msr(struct engine *e, uint32_t id, uint64_t *v)
{
	uc_x86_msr msr = { .rid = id };
	if (uc_reg_read(e->uc, UC_X86_REG_MSR, &msr) != UC_ERR_OK)
		return -1;
	*v = msr.value;
	return 0;
}

int engine_set_msr(struct engine *e, uint32_t id, uint64_t v)
{
	uc_x86_msr msr = { .rid = id, .value = v };
	return uc_reg_write(e->uc, UC_X86_REG_MSR, &msr) == UC_ERR_OK ? 0 : -1;
}

static int overlaps(uint64_t base, uint64_t size, uint32_t b, uint32_t n)
{
	return base < (uint64_t)b + n && b < base + size;
}

/* Unmap the parked mappings that overlap [base, base+size): -1 if one would not go. */
static int unpark_overlapping(struct engine *e, uint64_t base, uint64_t size)
{
	for (unsigned i = 0; i < MAX_MAPS; i++) {
		struct mapped *p = &e->maps[i];
		if (p->state == SLOT_PARKED && overlaps(base, size, p->base, p->size)) {
			if (uc_mem_unmap(e->uc, p->base, p->size) != UC_ERR_OK)
				return -1;
			p->state = SLOT_FREE;
		}
	}
	for (unsigned i = 0; i < MAX_SERVED; i++) {
		struct served *p = &e->served[i];
		if (p->state == SLOT_PARKED && overlaps(base, size, p->base, p->size)) {
			if (uc_mem_unmap(e->uc, p->base, p->size) != UC_ERR_OK)
				return -1;
			p->state = SLOT_FREE;
		}
	}
	return 0;
}

/* Room for a new mapping at [base, base+size): -1 (err says why) if a parked one stays. */
static int make_room(struct engine *e, uint32_t base, uint32_t size, char *err, size_t errlen)
{
	if (!unpark_overlapping(e, base, size))
		return 0;
	snprintf(err, errlen, "mapping 0x%08x+0x%x: cannot unmap what was there", base, size);
	return -1;
}

int engine_map(struct engine *e, uint32_t base, uint32_t size, void *host, unsigned flags,
	       char *err, size_t errlen)
{
	uint32_t prot = UC_PROT_READ | (flags & ENGINE_MAP_WRITE ? UC_PROT_WRITE : 0) |
			(flags & ENGINE_MAP_EXEC ? UC_PROT_EXEC : 0);
	struct mapped *slot = NULL;
	for (unsigned i = 0; i < MAX_MAPS; i++) {
		struct mapped *p = &e->maps[i];
		if (p->state == SLOT_PARKED && p->base == base && p->size == size &&
		    p->host == host && p->prot == prot) {
			p->state = SLOT_LIVE;	/* the same mapping: nothing to do */
			return 0;
		}
		if (p->state == SLOT_FREE && !slot)
			slot = p;
	}
	if (make_room(e, base, size, err, errlen))
		return -1;
	for (unsigned i = 0; !slot && i < MAX_MAPS; i++)
		if (e->maps[i].state == SLOT_FREE)
			slot = &e->maps[i];
	if (!slot) {
		snprintf(err, errlen, "mapping 0x%08x+0x%x: more than %d mappings", base, size,
			 MAX_MAPS);
		return -1;
	}
	uc_err u = uc_mem_map_ptr(e->uc, base, size, prot, host);
	if (u != UC_ERR_OK) {
		snprintf(err, errlen, "mapping 0x%08x+0x%x: %s", base, size, uc_strerror(u));
		return -1;
	}
	*slot = (struct mapped){ base, size, host, prot, SLOT_LIVE };
	return 0;
}

int engine_drop_parked(struct engine *e)
{
	return unpark_overlapping(e, 0, 1ull << 32);
}

/*
 * Guest accesses to a served range, at most 8 bytes each, never across
 * its end (the engine splits accesses at page boundaries).  The host is
 * little-endian like the guest, so the low bytes of the value are the
 * bytes in memory order.
 */
static uint64_t served_read(uc_engine *uc, uint64_t off, unsigned size, void *data)
{
	(void)uc;
	const struct served *s = data;
	uint64_t v = 0;
	if (s->host && size <= sizeof(v) && off < s->size && size <= s->size - off)
		memcpy(&v, s->host + off, size);
	return v;
}

static void served_write(uc_engine *uc, uint64_t off, unsigned size, uint64_t v, void *data)
{
	(void)uc;
	const struct served *s = data;
	if (s->host && size <= sizeof(v) && off < s->size && size <= s->size - off)
		memcpy(s->host + off, &v, size);
}

int engine_map_served(struct engine *e, uint32_t base, uint32_t size, void *host, char *err,
		      size_t errlen)
{
	struct served *s = NULL;
	for (unsigned i = 0; i < MAX_SERVED; i++) {
		struct served *p = &e->served[i];
		if (p->state == SLOT_PARKED && p->base == base && p->size == size &&
		    p->host == host) {
			p->state = SLOT_LIVE;	/* the same mapping: nothing to do */
			return 0;
		}
	}
	if (make_room(e, base, size, err, errlen))
		return -1;
	for (unsigned i = 0; !s && i < MAX_SERVED; i++)
		if (e->served[i].state == SLOT_FREE)
			s = &e->served[i];
	if (!s) {
		snprintf(err, errlen, "mapping 0x%08x+0x%x: more than %d served ranges", base,
			 size, MAX_SERVED);
		return -1;
	}
	*s = (struct served){ host, base, size, SLOT_FREE };
	uc_err u = uc_mmio_map(e->uc, base, size, served_read, s, served_write, s);
	if (u != UC_ERR_OK) {
		snprintf(err, errlen, "mapping 0x%08x+0x%x: %s", base, size, uc_strerror(u));
		return -1;
	}
	s->state = SLOT_LIVE;
	return 0;
}

/* A served range without host memory: served_read() and served_write() do nothing. */
int engine_map_absent(struct engine *e, uint32_t base, uint32_t size, char *err, size_t errlen)
{
	return engine_map_served(e, base, size, NULL, err, errlen);
}

/*
 * No `until' address: the usual start.  An `until' (engine_start_until)
 * makes the translator end a block at it, and a block translated so
 * keeps that stop; run.c passes one only after a fetch fault in the
 * middle of a block, and drops the blocks it translated then.  (Unicorn
 * notes warn that a non-zero `until' flushes translated code on every
 * call; under callgrind Unicorn 2.0.1 called no tb_flush for it.)
 */
enum engine_exit engine_start(struct engine *e, uint32_t pc)
{
	return engine_start_until(e, pc, 0);
}

static enum engine_exit exit_of(uc_err u)
{
	switch (u) {
	case UC_ERR_OK:
		return ENGINE_EXIT_OK;
	case UC_ERR_INSN_INVALID:
		return ENGINE_EXIT_INVALID_INSN;
	case UC_ERR_READ_UNMAPPED:
	case UC_ERR_WRITE_UNMAPPED:
	case UC_ERR_FETCH_UNMAPPED:
		return ENGINE_EXIT_UNMAPPED;
	case UC_ERR_FETCH_PROT:
		return ENGINE_EXIT_SERVED_FETCH;	/* the rest mapped without exec has a hook */
	default:
		return ENGINE_EXIT_ERROR;
	}
}

enum engine_exit engine_start_until(struct engine *e, uint32_t pc, uint32_t until)
{
	if (until)
		e->until_left = 1;
	e->last = uc_emu_start(e->uc, pc, until, 0, 0);
	return exit_of(e->last);
}

/*
 * The same stop as `until' (Unicorn has one), for code that is mapped
 * there: nothing for engine_until_left() to answer.
 */
enum engine_exit engine_start_ending(struct engine *e, uint32_t pc, uint32_t end)
{
	e->last = uc_emu_start(e->uc, pc, end, 0, 0);
	return exit_of(e->last);
}

const char *engine_exit_name(struct engine *e)
{
	return uc_strerror(e->last);
}

void engine_stop(struct engine *e)
{
	e->stops++;
	uc_emu_stop(e->uc);
}

unsigned engine_stops(struct engine *e)
{
	return e->stops;
}

/* ---- hooks -------------------------------------------------------------------- */

static struct hook *slot(struct engine *e, engine_hook *h, void *fn, void *ctx)
{
	for (size_t i = 0; i < MAX_HOOKS; i++)
		if (!e->hooks[i].used) {
			e->hooks[i] = (struct hook){ 1, 0, fn, ctx };
			*h = i;
			return &e->hooks[i];
		}
	return NULL;
}

static int added(struct hook *k, uc_err u)
{
	if (u == UC_ERR_OK)
		return 0;
	k->used = 0;
	return -1;
}

static void code_tramp(uc_engine *uc, uint64_t addr, uint32_t size, void *data)
{
	struct hook *k = data;
	(void)uc;
	((engine_code_fn)k->fn)(k->ctx, (uint32_t)addr, size);
}

static void intr_tramp(uc_engine *uc, uint32_t intno, void *data)
{
	struct hook *k = data;
	(void)uc;
	((engine_intr_fn)k->fn)(k->ctx, intno);
}

static void insn_tramp(uc_engine *uc, void *data)
{
	struct hook *k = data;
	(void)uc;
	((engine_insn_fn)k->fn)(k->ctx);
}

static enum engine_access access_kind(uc_mem_type t)
{
	return t == UC_MEM_WRITE_UNMAPPED || t == UC_MEM_WRITE_PROT || t == UC_MEM_WRITE ? EA_WRITE
	       : t == UC_MEM_FETCH_UNMAPPED || t == UC_MEM_FETCH_PROT ? EA_FETCH : EA_READ;
}

/* Unmapped: the hook hears of it, and the engine stops (false). */
static bool unmapped_tramp(uc_engine *uc, uc_mem_type type, uint64_t addr, int size,
			   int64_t value, void *data)
{
	struct hook *k = data;
	(void)uc;
	(void)value;
	((engine_access_fn)k->fn)(k->ctx, access_kind(type), (uint32_t)addr, (uint32_t)size);
	return false;
}

/* A store to a read-only page: the hook hears of it, and the store goes ahead. */
static bool store_ro_tramp(uc_engine *uc, uc_mem_type type, uint64_t addr, int size,
			   int64_t value, void *data)
{
	struct hook *k = data;
	(void)uc;
	(void)type;
	((engine_store_fn)k->fn)(k->ctx, (uint32_t)addr, (uint32_t)size, (uint64_t)value);
	return true;
}

int engine_aborts_translating(uint8_t b0, uint8_t b1)
{
	unsigned reg = (b1 >> 3) & 7;
	return b0 == 0xff && (b1 >> 6) == 3 && (reg == 3 || reg == 5);
}

/*
 * Unicorn 2.0.1 drops translated code by translating its linear address
 * through the CPU's TLB in the CPU's current mode (uc_invalidate_tb:
 * get_page_addr_code), both for uc_ctl_remove_cache and when a code hook
 * is deleted.  With paging on and CPL 3, a supervisor page does not
 * translate: the walk raises #PF outside any execution and leaves it
 * recorded in the CPU (the next fault of a run then comes back as #DF).
 * Clearing CR0.PG around the call does not do: Unicorn's CR writes do not
 * flush the TLB, so the flat translation made meanwhile stays behind and
 * lets user code read kernel pages.  So those calls run at CPL 0, where
 * every page translates and a TLB entry made is the one the tables give:
 * the CPU state is saved, CPL made 0 as QEMU derives it (from SS's DPL,
 * loaded in real mode), and the state restored afterwards.
 */
static int ring0_begin(struct engine *e)
{
	if (!e->ring0_ctx && uc_context_alloc(e->uc, &e->ring0_ctx) != UC_ERR_OK) {
		e->ring0_ctx = NULL;
		return -1;
	}
	if (uc_context_save(e->uc, e->ring0_ctx) != UC_ERR_OK)
		return -1;
	uint32_t cr0 = 0, real, ss = 0;
	uc_reg_read(e->uc, UC_X86_REG_CR0, &cr0);
	real = cr0 & ~1u;			/* CR0.PE */
	if (uc_reg_write(e->uc, UC_X86_REG_CR0, &real) != UC_ERR_OK ||
	    uc_reg_write(e->uc, UC_X86_REG_SS, &ss) != UC_ERR_OK ||
	    uc_reg_write(e->uc, UC_X86_REG_CR0, &cr0) != UC_ERR_OK) {
		uc_context_restore(e->uc, e->ring0_ctx);
		return -1;
	}
	return 0;
}

static void ring0_end(struct engine *e)
{
	uc_context_restore(e->uc, e->ring0_ctx);
}

int engine_hook_code(struct engine *e, engine_hook *h, uint32_t lo, uint32_t hi,
		     engine_code_fn fn, void *ctx)
{
	struct hook *k = slot(e, h, (void *)fn, ctx);
	return k ? added(k, uc_hook_add(e->uc, &k->uh, UC_HOOK_CODE, (void *)code_tramp, k,
					lo, hi)) : -1;
}

/*
 * With exactly one code hook, Unicorn 2.0.1 translates each hooked
 * instruction into a call straight to that hook's callback
 * (gen_uc_tracecode, uc_add_inline_hook), and makes the call's
 * description anew every time: two allocations, a name formatted with
 * snprintf and two hash-table inserts, about 1,840 host instructions an
 * instruction translated.  With two or more it calls its generic helper,
 * which looks through the hooks at run time: a warm run whose one hook
 * covers every instruction (run.c's one_hook) took 7.0% more host
 * instructions so (fidelity-nmi-blocked-until-iret, 192,500 a run
 * against 179,900).  A second hook, over one address no code runs from
 * and doing nothing, makes the count two.  Code translated with the
 * inline call goes on calling the one hook, which is all a helper would
 * call there; and as no code was translated with the second hook in it,
 * deleting it drops none (uc_hook_del invalidates a hook's regions only).
 */
static void never_tramp(uc_engine *uc, uint64_t addr, uint32_t size, void *data)
{
	(void)uc;
	(void)addr;
	(void)size;
	(void)data;
}

/* The last byte of the address space: no instruction of the machine starts there. */
#define NEVER_RUN_ADDR 0xffffffffu

int engine_inline_hook_calls(struct engine *e, int inline_calls)
{
	if ((inline_calls != 0) == (e->never == 0))
		return 0;
	if (inline_calls) {
		uc_hook_del(e->uc, e->never);
		e->never = 0;
		return 0;
	}
	uc_hook h;
	if (uc_hook_add(e->uc, &h, UC_HOOK_CODE, (void *)never_tramp, NULL, NEVER_RUN_ADDR,
			NEVER_RUN_ADDR) != UC_ERR_OK)
		return -1;
	e->never = h;
	return 0;
}

int engine_hook_block(struct engine *e, engine_hook *h, engine_code_fn fn, void *ctx)
{
	struct hook *k = slot(e, h, (void *)fn, ctx);
	return k ? added(k, uc_hook_add(e->uc, &k->uh, UC_HOOK_BLOCK, (void *)code_tramp, k,
					1, 0)) : -1;
}

int engine_hook_intr(struct engine *e, engine_hook *h, engine_intr_fn fn, void *ctx)
{
	struct hook *k = slot(e, h, (void *)fn, ctx);
	return k ? added(k, uc_hook_add(e->uc, &k->uh, UC_HOOK_INTR, (void *)intr_tramp, k,
					1, 0)) : -1;
}

int engine_hook_sysenter(struct engine *e, engine_hook *h, engine_insn_fn fn, void *ctx)
{
	struct hook *k = slot(e, h, (void *)fn, ctx);
	return k ? added(k, uc_hook_add(e->uc, &k->uh, UC_HOOK_INSN, (void *)insn_tramp, k,
					1, 0, UC_X86_INS_SYSENTER)) : -1;
}

int engine_hook_unmapped(struct engine *e, engine_hook *h, engine_access_fn fn, void *ctx)
{
	struct hook *k = slot(e, h, (void *)fn, ctx);
	return k ? added(k, uc_hook_add(e->uc, &k->uh, UC_HOOK_MEM_UNMAPPED,
					(void *)unmapped_tramp, k, 1, 0)) : -1;
}

int engine_hook_store_ro(struct engine *e, engine_hook *h, engine_store_fn fn, void *ctx)
{
	struct hook *k = slot(e, h, (void *)fn, ctx);
	return k ? added(k, uc_hook_add(e->uc, &k->uh, UC_HOOK_MEM_WRITE_PROT,
					(void *)store_ro_tramp, k, 1, 0)) : -1;
}

/* A fetch from a page mapped without exec: the hook hears of it, and the fetch goes ahead. */
static bool fetch_noexec_tramp(uc_engine *uc, uc_mem_type type, uint64_t addr, int size,
			       int64_t value, void *data)
{
	struct hook *k = data;
	(void)uc;
	(void)type;
	(void)value;
	((engine_code_fn)k->fn)(k->ctx, (uint32_t)addr, (uint32_t)size);
	return true;
}

int engine_hook_fetch_noexec(struct engine *e, engine_hook *h, uint32_t lo, uint32_t hi,
			     engine_code_fn fn, void *ctx)
{
	struct hook *k = slot(e, h, (void *)fn, ctx);
	return k ? added(k, uc_hook_add(e->uc, &k->uh, UC_HOOK_MEM_FETCH_PROT,
					(void *)fetch_noexec_tramp, k, lo, hi)) : -1;
}

void engine_unhook(struct engine *e, engine_hook h)
{
	if (h < MAX_HOOKS && e->hooks[h].used) {
		int r0 = ring0_begin(e) == 0;
		uc_hook_del(e->uc, e->hooks[h].uh);
		if (r0)
			ring0_end(e);
		e->hooks[h].used = 0;
	}
}

/* ---- translated code and whole-CPU state ----------------------------------------- */

/*
 * Unicorn 2.0.1 has no call that empties the CPU's TLB, and its CR3
 * write is a plain store (no flush, unlike a guest's MOV to CR3).  Adding
 * a mapping does flush it whole (memory_map_ptr), so a page is mapped at
 * scratch, which the caller keeps free, and taken away again.  Nothing
 * ever reads or writes the page while it is there.
 */
int engine_flush_tlb(struct engine *e, uint32_t scratch)
{
	static uint8_t page[4096] __attribute__((aligned(4096)));
	if (uc_mem_map_ptr(e->uc, scratch, sizeof(page), UC_PROT_READ, page) != UC_ERR_OK)
		return -1;
	if (uc_mem_unmap(e->uc, scratch, sizeof(page)) != UC_ERR_OK)
		return -1;
	e->until_left = 0;	/* the jump cache went with the TLB */
	return 0;
}

int engine_until_left(struct engine *e)
{
	return e->until_left;
}

int engine_flush_range(struct engine *e, uint32_t lo, uint32_t hi)
{
	if (ring0_begin(e))
		return -1;
	int rc = uc_ctl_remove_cache(e->uc, lo, hi) == UC_ERR_OK ? 0 : -1;
	ring0_end(e);
	return rc;
}

/*
 * Every hook goes, and Unicorn drops the code translated under each (a
 * machine's block hook is over all of it); then the code translated from
 * each mapped range goes too, whatever hooks there were.  Both happen in
 * ring 0 under the page tables the last machine left, as
 * engine_flush_range() drops code, so every address translates as it
 * did when the code was made.  Unicorn 2.0.1 finds code by physical
 * address, and neither unmapping nor mapping anew drops it: kept, it
 * would run in place of the next machine's bytes there.  The mappings
 * stay, parked: each costs Unicorn a rebuild of its whole memory map to
 * make or to undo, and the next machine asks for most of them again
 * (engine_map, engine_drop_parked).  Last the CPU goes back to
 * uc_open's state.
 */
int engine_recycle(struct engine *e, uint32_t scratch)
{
	int rc = 0;
	if (e->until_left && engine_flush_tlb(e, scratch))
		rc = -1;
	for (engine_hook h = 0; h < MAX_HOOKS; h++)
		engine_unhook(e, h);
	for (unsigned i = 0; i < MAX_MAPS; i++) {
		struct mapped *p = &e->maps[i];
		if (p->state == SLOT_FREE)
			continue;
		uint32_t hi = p->base + p->size;
		if (engine_flush_range(e, p->base, hi ? hi : UINT32_MAX))
			rc = -1;
		p->state = SLOT_PARKED;
	}
	for (unsigned i = 0; i < MAX_SERVED; i++)
		if (e->served[i].state == SLOT_LIVE)
			e->served[i].state = SLOT_PARKED;
	if (uc_context_restore(e->uc, e->fresh) != UC_ERR_OK)
		rc = -1;
	e->last = UC_ERR_OK;
	return rc;
}

int engine_save(struct engine *e, struct engine_ctx **ctx)
{
	if (!*ctx) {
		*ctx = calloc(1, sizeof(**ctx));
		if (!*ctx || uc_context_alloc(e->uc, &(*ctx)->c) != UC_ERR_OK) {
			free(*ctx);
			*ctx = NULL;
			return -1;
		}
	}
	return uc_context_save(e->uc, (*ctx)->c) == UC_ERR_OK ? 0 : -1;
}

int engine_restore(struct engine *e, const struct engine_ctx *ctx)
{
	return uc_context_restore(e->uc, ctx->c) == UC_ERR_OK ? 0 : -1;
}

void engine_ctx_free(struct engine_ctx *ctx)
{
	if (!ctx)
		return;
	uc_context_free(ctx->c);
	free(ctx);
}

void engine_exception_delivered(struct engine *e)
{
	engine_quirks_exception_delivered(&e->quirks, e->uc);
}

int engine_exception_error(struct engine *e, uint32_t *code)
{
	return engine_quirks_error_code(&e->quirks, e->uc, code);
}

