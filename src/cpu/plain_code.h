/* Plain user code: what may run without the hook before each user instruction. */
#ifndef ENTRYEMU_CPU_PLAIN_CODE_H
#define ENTRYEMU_CPU_PLAIN_CODE_H

#include <stddef.h>
#include <stdint.h>

/*
 * PLAIN_CODE if the len bytes of code loaded at base are plain
 * (plain_code.c), with PLAIN_STACK if they push or pop, and a bit set
 * in starts (nwords words) at each instruction's offset; 0 if not, or
 * if len is past what the words hold.
 */
enum { PLAIN_CODE = 1, PLAIN_STACK = 2 };
/* Does an instruction begin at offset off, by the bits plain_user_code() set? */
static inline int plain_starts_at(const uint64_t *starts, size_t off)
{
	return (starts[off / 64] >> (off % 64)) & 1;
}
int plain_user_code(const uint8_t *code, size_t len, uint32_t base, uint64_t *starts,
		    size_t nwords);
/* Where the pushes and pops of plain code's instructions (those starting
 * in [from, to)) reach, from ESP before the first: [ESP + *lo, ESP + *hi). */
void plain_stack_reach(const uint8_t *code, const uint64_t *starts, size_t from, size_t to,
		       int32_t *lo, int32_t *hi);

#endif
