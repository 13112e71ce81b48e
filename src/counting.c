/*
 * Instruction counting and the instruction budget, without a hook per
 * instruction (which would disable Unicorn's block chaining).  A block
 * hook adds the number of instructions of each translated block as it
 * starts; the count per block is decoded once and cached.  When a block
 * is left early (a fault, a stop from a hook), the instructions from the
 * exit point to the block's end are taken back.
 */
#include "machine.h"

#include <string.h>
#include <stdio.h>
#include <stdlib.h>

unsigned count_insns(struct entryemu *m, uint32_t addr, uint32_t size)
{
	uint8_t *p = machine_ptr(m, addr, size);
	if (!p || !size)
		return 0;
	unsigned n = 0;
	const uint8_t *code = p;
	size_t left = size;
	uint64_t a = addr;
	/* a handle without detail and a reused insn: only lengths are needed */
	while (left && cs_disasm_iter(m->cs_count, &code, &left, &a, m->count_insn))
		n++;
	return n;
}

/*
 * The instruction count of [addr, addr + size), decoded once: a block's
 * count when it starts, a block's tail when it is left early.  Both
 * recur run after run, and decoding costs far more than the lookup.  Two
 * ways per set: a fault's tail and the block that resumes at the same
 * address share a start but not a size.
 */
static unsigned cached_count(struct entryemu *m, uint32_t addr, uint32_t size)
{
	/* Fibonacci hashing: neighbouring blocks, and blocks a page apart, differ */
	uint32_t h = (addr * 2654435761u) >> (32 - BLOCK_CACHE_BITS);
	struct block_info *set = m->blocks[h];
	for (int way = 0; way < 2; way++)
		if (set[way].addr == addr && set[way].size == size && set[way].ninsns)
			return set[way].ninsns;
	set[1] = set[0];
	set[0] = (struct block_info){ addr, size, count_insns(m, addr, size) };
	machine_mark_code(m, addr, size);	/* Unicorn translated these bytes */
	return set[0].ninsns;
}

void count_block_hook(uc_engine *uc, uint64_t addr, uint32_t size, void *data)
{
	struct entryemu *m = data;
	unsigned n = cached_count(m, (uint32_t)addr, size);
	m->cur_block = (struct block_info){ (uint32_t)addr, size, n };
	if (!m->res)
		return;
	m->res->insns += n;
	if (m->res->insns > m->budget && !m->stopping) {
		machine_stop(m, ENTRYEMU_BUDGET,
			     "instruction budget of %llu exhausted",
			     (unsigned long long)m->budget);
		uc_emu_stop(uc);
	}
}

/* The current block was left at from: its instructions from there on did
 * not execute. */
void count_unexecuted(struct entryemu *m, uint32_t from)
{
	struct block_info *b = &m->cur_block;
	if (!m->res || from < b->addr || from >= b->addr + b->size)
		return;
	unsigned n = from == b->addr ? b->ninsns
		     : cached_count(m, from, b->addr + b->size - from);
	m->res->insns -= n < m->res->insns ? n : m->res->insns;
	b->size = from - b->addr;	/* taken back once only */
}
