/*
 * asm/desc.h stand-in.  For assembly: the selectors, and the size of the
 * per-CPU 16-bit stack the espfix path switches to (its last 8 bytes hold
 * the far pointer back to the 32-bit stack).
 */
#ifndef _ENTRYEMU_ASM_DESC_H
#define _ENTRYEMU_ASM_DESC_H
#include <asm/segment.h>
#define CPU_16BIT_STACK_SIZE	1024
#endif
