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

void count_block_hook(uc_engine *uc, uint64_t addr, uint32_t size, void *data)
{
	struct entryemu *m = data;

	/* Fibonacci hashing: neighbouring blocks, and blocks a page apart, differ */
	uint32_t h = ((uint32_t)addr * 2654435761u) >> (32 - BLOCK_CACHE_BITS);
	struct block_info *b = &m->blocks[h];
	if (b->addr != (uint32_t)addr || b->size != size || !b->ninsns) {
		b->addr = (uint32_t)addr;
		b->size = size;
		b->ninsns = count_insns(m, (uint32_t)addr, size);
	}
	m->cur_block = *b;
	if (!m->res)
		return;
	m->res->insns += b->ninsns;
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
	unsigned n = count_insns(m, from, b->addr + b->size - from);
	m->res->insns -= n < m->res->insns ? n : m->res->insns;
	b->size = from - b->addr;	/* taken back once only */
}
