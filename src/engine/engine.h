/*
 * The CPU engine behind a machine: the one interface through which the
 * library drives the emulator (Unicorn today, in unicorn.c), so that
 * another backend can later serve the same callouts, checkers and
 * records.  Registers, descriptor-table registers and MSRs; host buffers
 * mapped as guest memory; start and stop; hooks on code ranges, blocks,
 * interrupts, sysenter, unmapped accesses and stores to read-only pages;
 * dropping translated code; saving and restoring the whole CPU.
 *
 * Hooks are called with the context given when they were added.  Adding
 * a hook affects only code translated afterwards: flush to apply it to
 * code already translated.
 */
#ifndef ENTRYEMU_ENGINE_ENGINE_H
#define ENTRYEMU_ENGINE_ENGINE_H

#include <stddef.h>
#include <stdint.h>

struct engine;
struct engine_ctx;

enum engine_reg {
	ER_EAX, ER_EBX, ER_ECX, ER_EDX, ER_ESI, ER_EDI, ER_EBP, ER_ESP,
	ER_AX, ER_BX, ER_CX, ER_DX, ER_SI, ER_DI, ER_BP, ER_SP,
	ER_EIP, ER_EFLAGS, ER_CR0, ER_CR2,
	ER_CS, ER_SS, ER_DS, ER_ES, ER_FS, ER_GS,	/* selectors: 16 bits */
	ER_CR3, ER_CR4,
	ER_FPSW, ER_FPCW, ER_MXCSR,		/* x87 status and control, SSE */
	ER_FPTAG,				/* x87 tag word, 2 bits a register */
	ER_COUNT
};

enum engine_table { ET_GDTR, ET_IDTR, ET_LDTR, ET_TR };

struct engine_table_reg {
	uint16_t selector;		/* LDTR and TR */
	uint32_t base, limit, flags;	/* flags: the hidden attributes (TR) */
};

/* How a start ended. */
enum engine_exit {
	ENGINE_EXIT_OK,			/* stopped by a hook, or a halt */
	ENGINE_EXIT_INVALID_INSN,	/* an opcode the engine does not know */
	ENGINE_EXIT_UNMAPPED,		/* an access to unmapped memory */
	ENGINE_EXIT_SERVED_FETCH,	/* code fetched from a served range */
	ENGINE_EXIT_ERROR,		/* anything else: engine_exit_name() */
};

/* Kinds of an unmapped access. */
enum engine_access { EA_READ, EA_WRITE, EA_FETCH };

typedef void (*engine_code_fn)(void *ctx, uint32_t addr, uint32_t size);
typedef void (*engine_intr_fn)(void *ctx, uint32_t vector);
typedef void (*engine_insn_fn)(void *ctx);
typedef void (*engine_access_fn)(void *ctx, enum engine_access kind, uint32_t addr,
				 uint32_t size);
/* A store: its address, size and the value stored (little-endian). */
typedef void (*engine_store_fn)(void *ctx, uint32_t addr, uint32_t size, uint64_t value);
typedef size_t engine_hook;

/* 0, or ENGINE_E_NOMEM when memory or address space is short, or -1 */
#define ENGINE_E_NOMEM (-2)
int engine_open(struct engine **out, char *err, size_t errlen);
void engine_close(struct engine *e);
/*
 * The engine back as engine_open() left it (no hooks, nothing
 * translated, the CPU as it started) for another machine: far cheaper
 * than engine_close() and engine_open(), which build Unicorn's
 * translator and tables anew.  Its mappings stay, parked: a mapping the
 * next machine asks for again (same range, host memory and permissions)
 * is taken as it is, one that overlaps a new one goes, and
 * engine_drop_parked() unmaps the rest once the machine has mapped all
 * it needs.  Call it while the host memory mapped is still there.  -1 if
 * a step failed: then only engine_close() is left.  scratch: as for
 * engine_flush_tlb(), which a stop left by engine_start_until() needs.
 */
int engine_recycle(struct engine *e, uint32_t scratch);
int engine_drop_parked(struct engine *e);

uint32_t engine_reg(struct engine *e, enum engine_reg r);
/* 0, or -1 where the CPU refuses the value (a selector it would not load) */
int engine_set_reg(struct engine *e, enum engine_reg r, uint32_t v);
/* n registers in one call each way */
void engine_regs(struct engine *e, const enum engine_reg *ids, uint32_t *vals, int n);
int engine_set_regs(struct engine *e, const enum engine_reg *ids, const uint32_t *vals, int n);
int engine_table(struct engine *e, enum engine_table t, struct engine_table_reg *out);
/* All four at once, indexed by enum engine_table. */
int engine_tables(struct engine *e, struct engine_table_reg out[4]);
int engine_set_table(struct engine *e, enum engine_table t, const struct engine_table_reg *v);
int engine_msr(struct engine *e, uint32_t id, uint64_t *v);
int engine_set_msr(struct engine *e, uint32_t id, uint64_t v);

/*
 * Map size bytes at base onto host memory.  Read-only pages trap stores
 * (engine_hook_store_ro); without ENGINE_MAP_EXEC, the engine's fetches
 * to translate code there trap too (engine_hook_fetch_noexec).
 */
enum { ENGINE_MAP_WRITE = 1, ENGINE_MAP_EXEC = 2 };
int engine_map(struct engine *e, uint32_t base, uint32_t size, void *host, unsigned flags,
	       char *err, size_t errlen);

/*
 * Map size bytes at base onto host memory that the engine reaches through
 * a call on each guest access instead of as RAM: writable, not
 * executable (a fetch there ends the start with an error).  Unicorn 2.0.1
 * sends every guest store to RAM through its self-modifying-code check,
 * about 1,000 host instructions each; a served store costs a fraction of
 * that, and a served load a few hundred.  For the pages the kernel builds
 * its frames in.
 */
int engine_map_served(struct engine *e, uint32_t base, uint32_t size, void *host, char *err,
		      size_t errlen);
/*
 * Map size bytes at base as nothing: an address the engine knows, which
 * reads as 0 and drops writes.  Unicorn 2.0.1 looks a data access's
 * linear address up in its memory map before it walks the page tables,
 * and stops at one it does not find there, with EIP where the block
 * started and the arithmetic flags as they were before it (its own
 * exit, not the CPU's #PF).  Behind a linear range the machine's page
 * tables leave absent and identity-map nowhere else, the walk then comes
 * first and raises #PF itself, at the instruction and with the state the
 * manual gives, and nothing ever reaches the mapping.
 */
int engine_map_absent(struct engine *e, uint32_t base, uint32_t size, char *err, size_t errlen);

/* Run from pc until a hook stops it, the CPU halts or it cannot go on. */
enum engine_exit engine_start(struct engine *e, uint32_t pc);
/*
 * The same, and stop (ENGINE_EXIT_OK) before the instruction at until.
 * Unicorn builds that stop into the code it translates meanwhile, as a
 * halt: drop the translations of the range run (engine_flush_range)
 * before the next start.  Unicorn 2.0.1 itself drops only the block
 * that ends at until, not the whole cache (no tb_flush under callgrind),
 * but a start costs more with it: for the rare case only (deliver.c, a
 * block that runs on into unmapped memory or past CS's limit; about
 * 190,000 host instructions a warm run of fidelity-pf-fetch-runs-off-code,
 * three translations).
 */
enum engine_exit engine_start_until(struct engine *e, uint32_t pc, uint32_t until);
/*
 * Run from pc as engine_start(), but end each block translated
 * meanwhile before the instruction at the linear address end, where
 * the engine then stops (ENGINE_EXIT_OK) if it gets there.  Those
 * blocks keep the stop, in later starts too, until dropped
 * (engine_flush_range() over the byte before end and end itself).  For
 * mapped code that the translator would otherwise run on past: vm86
 * code followed by its zeroed segment (run.c).
 */
enum engine_exit engine_start_ending(struct engine *e, uint32_t pc, uint32_t end);
/*
 * Has a start with `until' run since the TLB was last emptied?  Where
 * nothing is mapped at until, the stop there is code of no page, which
 * engine_flush_range() cannot reach: Unicorn finds it again by address
 * (its jump cache), so a later start that comes to until stops there
 * (ENGINE_EXIT_OK) until engine_flush_tlb() or engine_recycle().
 */
int engine_until_left(struct engine *e);
const char *engine_exit_name(struct engine *e);
/* From a hook: stop once the current instruction is done. */
void engine_stop(struct engine *e);
/*
 * How many stops have been asked for (engine_stop, or EIP written; the
 * count wraps).  After one, Unicorn calls none of the instruction's
 * remaining code hooks (then goes on at the new EIP, for a write): a
 * hook that calls others on its own compares the count before and after
 * each.
 */
unsigned engine_stops(struct engine *e);

int engine_hook_code(struct engine *e, engine_hook *h, uint32_t lo, uint32_t hi,
		     engine_code_fn fn, void *ctx);
/*
 * How the engine translates the call before a hooked instruction while
 * only one code hook is installed: inline (1, as it starts: a direct
 * call, cheap to run, about 1,840 host instructions more to translate
 * each such instruction), or through its generic helper (0: cheap to
 * translate, a walk of the hooks at every call).  Code translated either
 * way stays right after a change.
 */
int engine_inline_hook_calls(struct engine *e, int inline_calls);
int engine_hook_block(struct engine *e, engine_hook *h, engine_code_fn fn, void *ctx);
int engine_hook_intr(struct engine *e, engine_hook *h, engine_intr_fn fn, void *ctx);
int engine_hook_sysenter(struct engine *e, engine_hook *h, engine_insn_fn fn, void *ctx);
/* An access to unmapped memory: the start then ends ENGINE_EXIT_UNMAPPED. */
int engine_hook_unmapped(struct engine *e, engine_hook *h, engine_access_fn fn, void *ctx);
/* A store to a page mapped read-only: the hook hears of it, then the store goes ahead. */
int engine_hook_store_ro(struct engine *e, engine_hook *h, engine_store_fn fn, void *ctx);
/*
 * A fetch in [lo, hi] (mapped without ENGINE_MAP_EXEC) that the engine
 * makes to translate the code there, a few bytes at a time, in order:
 * the hook hears of each before the engine reads the bytes, then the
 * engine goes on.
 */
int engine_hook_fetch_noexec(struct engine *e, engine_hook *h, uint32_t lo, uint32_t hi,
			     engine_code_fn fn, void *ctx);
/*
 * Would Unicorn 2.0.1 abort the process translating an instruction that
 * starts with these two bytes?  `ff' with a ModRM of mod 3 and reg 3 or
 * 5 (a far CALL or JMP through a register): its code generator emits a
 * load from an address it never computed (src/cpu/far_indirect.c).
 */
int engine_aborts_translating(uint8_t b0, uint8_t b1);
void engine_unhook(struct engine *e, engine_hook h);

/* Drop the translated code of [lo, hi).  (No whole-cache flush: Unicorn
 * 2.0.1 clears its 1 GiB code buffer for that.) */
int engine_flush_range(struct engine *e, uint32_t lo, uint32_t hi);
/* Forget every cached page translation (the TLB), after the page tables
 * changed; scratch: a page-aligned address nothing is mapped at. */
int engine_flush_tlb(struct engine *e, uint32_t scratch);

/* The whole CPU state, saved and restored. */
int engine_save(struct engine *e, struct engine_ctx **ctx);
int engine_restore(struct engine *e, const struct engine_ctx *ctx);
void engine_ctx_free(struct engine_ctx *ctx);

/*
 * The exception the engine reported has been delivered (the library's
 * delivery model did it): the next fault is a first fault again, not a
 * double fault (SDM vol. 3 6.15, table 6-5).
 */
void engine_exception_delivered(struct engine *e);

/*
 * The error code the engine computed for the exception it is reporting
 * (call from the interrupt hook, before engine_exception_delivered):
 * 0 with *code set, or -1 where the engine does not expose it.
 */
int engine_exception_error(struct engine *e, uint32_t *code);

#endif
