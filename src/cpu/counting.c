/*
 * Instruction counting and the instruction budget, without a hook per
 * instruction (which would disable Unicorn's block chaining).  A block
 * hook adds the number of instructions of each translated block as it
 * starts; the count per block is decoded once and cached.  When a block
 * is left early (a fault, a stop from a hook), the instructions from the
 * exit point to the block's end are taken back.  The last blocks run
 * are kept in a ring, so an oops report can list the last instructions
 * without running anything again.
 */
#include "cpu/cpu.h"
#include "cpu/insn_size.h"
#include "image/insn_facts.h"

#include <limits.h>
#include <string.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>

/*
 * Does insn load DS or ES: MOV to either (8E /0, /3), POP ES or DS (07,
 * 1F), LES or LDS (C4, C5: in 16-bit code never VEX)?  (SDM vol. 2B MOV,
 * POP; vol. 2A LDS/LES/...)
 */
static int loads_ds_or_es(const cs_insn *insn)
{
	size_t i = 0;
	while (i < insn->size && insn_legacy_prefix(insn->bytes[i]))
		i++;
	if (i >= insn->size)
		return 0;
	uint8_t op = insn->bytes[i];
	if (op == 0x8e)
		return i + 1 < insn->size &&
		       (((insn->bytes[i + 1] >> 3) & 7) == 0 || ((insn->bytes[i + 1] >> 3) & 7) == 3);
	return op == 0x07 || op == 0x1f || op == 0xc4 || op == 0xc5;
}

/*
 * The instructions of [addr, addr + size), and of them how many move the
 * stack; *last (if given) the start of the last one decoded, *stop (if
 * given) where the decode ended: addr + size, or the first bytes it could
 * not decode (an instruction cut short by the end).
 */
static unsigned count_block_upto(struct entryemu *m, uint32_t addr, uint32_t size,
				 struct block_info *b, uint32_t *last, uint32_t *stop, unsigned max)
{
	uint8_t *p = machine_ptr(m, addr, size);
	int code16 = b->code16 != 0;
	csh cs = code16 ? m->cs_count16 : m->cs_count;
	b->stack_ops = b->cs_override = b->ds_es_loads = b->rotc_memory = 0;
	if (stop)
		*stop = addr;
	if (!p || !size)
		return 0;
	unsigned n = 0;
	const uint8_t *code = p;
	size_t left = size;
	uint64_t a = addr;
	/*
	 * A handle without detail and a reused insn: lengths and ids
	 * suffice.  The sizes and stack moves the opcode maps fix
	 * (insn_size.c: most instructions, zero padding among them) need no
	 * decode, nor do the entry code's pushes, pops, jumps and register
	 * moves (image/insn_facts.c, 32-bit code only): a decode costs fifty
	 * times as much.
	 */
	while (left && n < max) {
		if (last)
			*last = (uint32_t)a;
		b->rotc_memory = (uint16_t)(b->rotc_memory +
					    insn_rotates_through_carry_memory(code, left));
		struct insn_facts f;
		unsigned t = 0;
		size_t k = insn_length(code, left, code16, &t);
		if (k) {
			b->stack_ops = (uint16_t)(b->stack_ops + ((t & INSN_MOVES_STACK) != 0));
			b->cs_override = (uint16_t)(b->cs_override + ((t & INSN_CS_PREFIX) != 0));
			/* a null DS or ES loaded here is used unseen (null_seg.c) */
			if (code16)
				b->ds_es_loads = (uint16_t)(b->ds_es_loads +
							    ((t & INSN_LOADS_DS_ES) != 0));
		} else if (!code16 && (k = insn_facts_plain(code, left, (uint32_t)a, &f))) {
			b->stack_ops = (uint16_t)(b->stack_ops + f.moves_stack);
		}
		if (k) {
			n++;
			code += k;
			left -= k;
			a += k;
			continue;
		}
		if (cs_disasm_iter(cs, &code, &left, &a, m->count_insn)) {
			n++;
			b->stack_ops = (uint16_t)(b->stack_ops +
						  insn_facts_moves_stack(m->count_insn->id));
			/* a write through CS is #GP(0): seg_limit.c watches for it */
			b->cs_override = (uint16_t)(b->cs_override +
						    insn_has_prefix(m->count_insn->bytes,
								    m->count_insn->size, 0x2e));
			/* a null DS or ES loaded here is used unseen (null_seg.c) */
			if (code16)
				b->ds_es_loads = (uint16_t)(b->ds_es_loads +
							    loads_ds_or_es(m->count_insn));
			continue;
		}
		/* one the decoder does not know: the engine ran it as long as
		 * its opcode map makes it (3DNow!'s PREFETCH, 0f 0d) */
		k = code16 ? insn_unknown_size16(code, left) : insn_unknown_size(code, left);
		if (!k)
			break;
		n++;
		code += k;
		left -= k;
		a += k;
	}
	if (stop)
		*stop = (uint32_t)a;
	return n;
}

static unsigned count_block(struct entryemu *m, uint32_t addr, uint32_t size,
			    struct block_info *b, uint32_t *last, uint32_t *stop)
{
	return count_block_upto(m, addr, size, b, last, stop, UINT_MAX);
}

uint32_t count_insns_on(struct entryemu *m, uint32_t addr, unsigned k, uint32_t end)
{
	struct block_info b = { .code16 = 0 };
	uint32_t stop;
	if (addr >= end || count_block_upto(m, addr, end - addr, &b, NULL, &stop, k) < k)
		return 0;
	return stop < end ? stop : 0;
}

/*
 * Is the code the CPU runs now at addr 16-bit: vm86 mode, or a code
 * segment with D clear?  The kernel's is 32-bit, without a look.
 */
static int code_is_16(struct entryemu *m, uint32_t addr)
{
	return addr < PAGE_OFFSET &&
	       ((machine_reg(m, ER_EFLAGS) & ENTRYEMU_EFLAGS_VM) || machine_cs_16(m));
}

/* A decode of part of the running block: in its mode. */
static struct block_info in_running_block(const struct entryemu *m)
{
	return (struct block_info){ .code16 = m->count ? m->count->cur.code16 : 0 };
}

unsigned count_insns(struct entryemu *m, uint32_t addr, uint32_t size)
{
	struct block_info b = in_running_block(m);
	return count_block(m, addr, size, &b, NULL, NULL);
}

uint32_t count_last_start(struct entryemu *m, uint32_t addr, uint32_t size)
{
	struct block_info b = in_running_block(m);
	uint32_t last = 0;
	count_block(m, addr, size, &b, &last, NULL);
	return last;
}

uint32_t count_decoded_to(struct entryemu *m, uint32_t addr, uint32_t size)
{
	/* a block about to start: the CPU's mode now, not the last block's */
	struct block_info b = { .code16 = (uint8_t)code_is_16(m, addr) };
	uint32_t stop;
	count_block(m, addr, size, &b, NULL, &stop);
	return stop;
}

/*
 * The instruction count of [addr, addr + size), decoded once: a block's
 * count when it starts, a block's tail when it is left early.  Both
 * recur run after run, and decoding costs far more than the lookup.  Two
 * ways per set: a fault's tail and the block that resumes at the same
 * address share a start but not a size.  code16: the mode to decode in,
 * or -1 for the CPU's now (a block starting); a look-up does not
 * compare it, as the same bytes at the same address do not run in both.
 */
static const struct block_info *cached_block(struct entryemu *m, uint32_t addr,
					      uint32_t size, int code16)
{
	/* Fibonacci hashing: neighbouring blocks, and blocks a page apart, differ */
	uint32_t f = addr * 2654435761u, u = f >> (32 - USER_BLOCK_CACHE_BITS);
	struct block_info *set = addr >= PAGE_OFFSET ? m->kblocks[f >> (32 - BLOCK_CACHE_BITS)]
				 : m->blocks[u];
	for (int way = 0; way < 2; way++)
		if (set[way].addr == addr && set[way].size == size && set[way].ninsns)
			return &set[way];
	set[1] = set[0];
	set[0] = (struct block_info){ .addr = addr, .size = size,
				      .code16 = (uint8_t)(code16 < 0 ? code_is_16(m, addr)
								     : code16) };
	set[0].ninsns = count_block(m, addr, size, &set[0], NULL, NULL);
	if (addr < PAGE_OFFSET)
		m->blocks_used[u / 64] |= 1ull << (u % 64);
	machine_mark_code(m, addr, size);	/* Unicorn translated these bytes */
	return &set[0];
}

int count_code16_at(const struct entryemu *m, uint32_t addr)
{
	if (addr >= PAGE_OFFSET)
		return 0;
	for (unsigned w = 0; w < USER_BLOCK_CACHE / 64; w++)
		for (uint64_t used = m->blocks_used[w]; used; used &= used - 1) {
			unsigned set = w * 64 + (unsigned)__builtin_ctzll(used);
			for (int way = 0; way < 2; way++) {
				const struct block_info *b = &m->blocks[set][way];
				if (b->ninsns && addr - b->addr < b->size)
					return (int)b->code16;
			}
		}
	return addr - ENTRYEMU_VM86_MEM < 0x10000u;
}

/*
 * User or vm86 code changed in [lo, hi): the blocks that overlap it are
 * forgotten, the rest keep their counts (their bytes are the same; a
 * fuzzer's next input mostly changes a few bytes of the last one).  The
 * kernel's blocks keep theirs too, since every reset restores the image.
 */
void count_forget_user(struct entryemu *m, uint32_t lo, uint32_t hi)
{
	/* only the sets a block went into: a run fills a few of them */
	for (unsigned w = 0; w < USER_BLOCK_CACHE / 64; w++)
		for (uint64_t used = m->blocks_used[w]; used; used &= used - 1) {
			unsigned set = w * 64 + (unsigned)__builtin_ctzll(used);
			int left = 0;
			for (int way = 0; way < 2; way++) {
				struct block_info *b = &m->blocks[set][way];
				if (b->ninsns && b->addr < hi && b->addr + b->size > lo)
					b->ninsns = 0;
				left |= b->ninsns != 0;
			}
			if (!left)
				m->blocks_used[w] &= ~(1ull << (set % 64));
		}
}

static unsigned cached_count(struct entryemu *m, uint32_t addr, uint32_t size, int code16)
{
	return cached_block(m, addr, size, code16)->ninsns;
}

/*
 * The budget runs out in the block at addr: of its instructions, only
 * those up to limit may run.  In user code the block runs, and the hook
 * before each user instruction stops it at the first one past the
 * budget (count_budget_stop).  Elsewhere (and in plain user code, which
 * runs without that hook: run.c) the engine stops before the
 * block, and the run goes on from it to an engine stop after the last
 * of them (run.c), or ends there if there are none.  Either way the
 * count and the state are those after the budget's instructions
 * exactly, wherever the engine's blocks begin.  (Stopped at a block's
 * start, the engine may leave EIP at an earlier instruction: the run
 * sets it.)
 */
static void budget_ends_in(struct entryemu *m, uint32_t addr, const struct block_info *b,
			   uint64_t limit)
{
	struct count_state *c = m->count;
	uint64_t before = c->insns - b->ninsns;
	uint32_t at = addr;
	if (before < limit) {
		unsigned k = (unsigned)(limit - before);	/* fewer than the block's */
		struct block_info part = { .code16 = b->code16 };
		uint32_t stop;
		if (count_block_upto(m, addr, b->size, &part, NULL, &stop, k) == k &&
		    stop > addr && stop < addr + b->size)
			at = stop;
	}
	if (at != addr && addr < PAGE_OFFSET && !m->user_unhooked) {
		c->budget_in_block = at;	/* no new translation */
		return;
	}
	count_unexecuted(m, addr);
	engine_stop(m->eng);
	m->cpu->restart = 1;
	m->cpu->resume_at = addr;
	c->budget_from = addr;
	c->budget_at = at;
}

void count_budget_exhausted(struct entryemu *m)
{
	machine_stop(m, ENTRYEMU_BUDGET, "instruction budget of %llu exhausted",
		     (unsigned long long)m->count->budget);
}

int count_budget_stop(struct entryemu *m, uint32_t addr)
{
	struct count_state *c = m->count;
	if (!c || addr != c->budget_in_block)
		return 0;
	count_unexecuted(m, addr);
	count_budget_exhausted(m);
	engine_stop(m->eng);
	return 1;
}

void count_block_hook(void *data, uint32_t addr, uint32_t size)
{
	struct entryemu *m = data;
	/* a copy: taking back a cut block's tail below may reuse its cache entry */
	struct block_info blk = *cached_block(m, (uint32_t)addr, size, -1);
	const struct block_info *b = &blk;
	/*
	 * A block the engine runs is at least one instruction, even where
	 * neither the decoder nor the opcode map can size its first: counted
	 * as none, a loop of such blocks would never reach the budget.  (A
	 * fault at its start takes the one back: count_unexecuted.)
	 */
	if (!blk.ninsns && size)
		blk.ninsns = 1;
	unsigned n = b->ninsns;
	struct count_state *c = m->count;
	if (!c)
		return;			/* the boot */
	m->cpu->flags_at = 0;		/* deliver_note_flags(): this block's */
	c->budget_in_block = 0;		/* and count_budget_stop()'s */
	iret_vm_restore(m);	/* the IRET before ran */
	if (machine_access_faulted(m)) {
		engine_stop(m->eng);	/* the fault is in the block before */
		return;
	}
	/*
	 * A guest store into the running block's own bytes: the engine stops
	 * that block before the storing instruction and runs the instruction
	 * again as a block of its own (QEMU's precise self-modifying code),
	 * which is this one.  The old block's instructions from here on did
	 * not run then; the per-instruction hooks that saw this one already
	 * leave it alone this time (cut_at).
	 */
	c->cut_at = 0;
	c->hooked_at = 0;
	if (c->left_at) {
		/* run.c stopped at left_at after some of its hooks: count_left_at() */
		if (addr == c->left_at) {
			c->cut_at = (uint32_t)addr;
			c->cut_seen = c->left_seen;
		}
		c->left_at = 0;
	}
	if (m->running_stored) {
		m->running_stored = 0;
		if (addr >= c->cur.addr && addr < c->cur.addr + c->cur.size) {
			count_unexecuted(m, (uint32_t)addr);
			c->cut_at = (uint32_t)addr;
			c->cut_seen = COUNT_SEEN_ALL;
		}
	}
	c->ring[c->ring_next++ % BLOCK_RING] = c->cur;
	c->cur = *b;
	m->running_lo = b->addr;
	m->running_hi = b->addr + b->size;
	/*
	 * Unicorn leaves EIP stale when a data access faults inside a block,
	 * so the faulting instruction is found by its access
	 * (fault_locate_access).  With two or more pushes or pops in the
	 * block, ESP alone cannot tell them apart: ESP as the block started
	 * can, so it is kept for those blocks only.
	 */
	c->cur_esp_known = b->stack_ops >= 2;
	if (c->cur_esp_known)
		c->cur_esp = machine_reg(m, ER_ESP);
	c->insns += n;
	/* (plain user code makes no data access: its blocks, run.c) */
	if (!(m->user_unhooked && addr < PAGE_OFFSET) &&
	    null_seg_block(m, (uint32_t)addr, b->cs_override != 0, b->ds_es_loads != 0) &&
	    !machine_stopping(m)) {
		/*
		 * go on from here with a look at every instruction: from
		 * addr, as EIP may still be the last hooked instruction's (a
		 * block the one before jumped to directly)
		 */
		count_unexecuted(m, (uint32_t)addr);
		engine_stop(m->eng);
		m->cpu->restart = 1;
		m->cpu->resume_at = (uint32_t)addr;
		return;
	}
	/*
	 * The exit page's instruction never runs: reaching it ends the run
	 * (run.c), so a run of exactly the budget completes.  (Once only: a
	 * run that loops there runs out.)
	 */
	uint64_t limit = c->budget + (addr - ENTRYEMU_USER_EXIT < 0x1000 ? n : 0);
	if (c->insns > limit && !machine_stopping(m)) {
		budget_ends_in(m, (uint32_t)addr, b, limit);
		return;
	}
	/*
	 * A guard for hosts too slow for any budget: the clock, now and then.
	 * A run that gets this far is long already; its clock starts here
	 * (short runs never read it), so the limit counts from 64 Ki blocks.
	 */
	if ((++c->blocks & 0xffff) == 0 && !machine_stopping(m)) {
		struct timespec t;
		clock_gettime(CLOCK_MONOTONIC, &t);
		uint64_t now = (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
		if (!c->deadline_ns)
			c->deadline_ns = now + (uint64_t)ENTRYEMU_RUN_WALL_LIMIT_S * 1000000000u;
		else if (now > c->deadline_ns)
			machine_stop(m, ENTRYEMU_BUDGET, "wall-clock limit of %d s reached after "
				     "%llu instructions", ENTRYEMU_RUN_WALL_LIMIT_S,
				     (unsigned long long)c->insns);
	}
}

/* The current block was left at from: its instructions from there on did
 * not execute. */
void count_unexecuted(struct entryemu *m, uint32_t from)
{
	struct count_state *c = m->count;
	struct block_info *b = c ? &c->cur : NULL;
	if (!b || from < b->addr || from >= b->addr + b->size)
		return;
	unsigned n = from == b->addr ? b->ninsns
		     : cached_count(m, from, b->addr + b->size - from, (int)b->code16);
	c->insns -= n < c->insns ? n : c->insns;
	b->ninsns -= n < b->ninsns ? n : b->ninsns;
	b->size = from - b->addr;	/* taken back once only */
}

void count_left_at(struct entryemu *m, uint32_t pc)
{
	struct count_state *c = m->count;
	if (!c)
		return;
	if (c->hooked_at == pc) {
		c->left_at = pc;
		c->left_seen = c->hooked;
	}
	count_unexecuted(m, pc);
}

void count_hooked(struct entryemu *m, uint32_t addr, unsigned seen)
{
	struct count_state *c = m->count;
	if (!c)
		return;
	if (c->hooked_at != addr) {
		c->hooked_at = addr;
		c->hooked = 0;
	}
	c->hooked |= seen;
}

int count_seen(const struct entryemu *m, uint32_t addr, unsigned seen)
{
	const struct count_state *c = m->count;
	return c && c->cut_at == addr && (c->cut_seen & seen);
}

void count_not_completed(struct entryemu *m)
{
	if (m->count && m->count->insns)
		m->count->insns--;
}

uint64_t count_ran(struct entryemu *m)
{
	struct count_state *c = m->count;
	return c ? c->insns++ : 0;
}

/* The instruction addresses of block b, at most max of its last ones. */
static size_t block_insns(struct entryemu *m, const struct block_info *b, uint32_t *out,
			  size_t max)
{
	uint8_t *p = b->size ? machine_ptr(m, b->addr, b->size) : NULL;
	uint32_t all[256];
	size_t n = 0;
	const uint8_t *code = p;
	size_t left = b->size;
	uint64_t a = b->addr;
	csh cs = b->code16 ? m->cs_count16 : m->cs_count;
	while (p && left && n < 256) {
		/* the sizes count_block() knows without a decode first */
		struct insn_facts f;
		unsigned t;
		size_t k = insn_length(code, left, b->code16, &t);
		if (!k && !b->code16)
			k = insn_facts_plain(code, left, (uint32_t)a, &f);
		if (k) {
			all[n++] = (uint32_t)a;
			code += k;
			left -= k;
			a += k;
			continue;
		}
		if (!cs_disasm_iter(cs, &code, &left, &a, m->count_insn))
			break;
		all[n++] = (uint32_t)m->count_insn->address;
	}
	size_t from = n > max ? n - max : 0;
	memcpy(out, all + from, (n - from) * sizeof(*out));
	return n - from;
}

size_t count_last_insns(struct entryemu *m, uint32_t *out, size_t max)
{
	struct count_state *c = m->count;
	if (!c || !max)
		return 0;
	/* newest first: the block running now, then the ring backwards */
	const struct block_info *order[BLOCK_RING + 1];
	size_t nb = 0;
	order[nb++] = &c->cur;
	for (unsigned i = 1; i <= BLOCK_RING && i <= c->ring_next; i++)
		order[nb++] = &c->ring[(c->ring_next - i) % BLOCK_RING];
	uint32_t tmp[256];
	size_t total = 0;
	for (size_t k = 0; k < nb && total < max; k++) {
		size_t got = block_insns(m, order[k], tmp, max - total);
		/* prepend: older blocks go in front */
		memmove(out + got, out, total * sizeof(*out));
		memcpy(out, tmp, got * sizeof(*out));
		total += got;
	}
	return total;
}
