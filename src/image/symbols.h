/* Naming addresses and decoding instructions, for every layer's messages. */
#ifndef ENTRYEMU_IMAGE_SYMBOLS_H
#define ENTRYEMU_IMAGE_SYMBOLS_H

#include "mem/memory.h"

/* The instruction at addr as Capstone prints it ("pop gs"); 0 or -1. */
int insn_text(struct entryemu *m, uint32_t addr, char *buf, size_t len);

/*
 * entryemu_disasm()'s line for the instruction at addr, decoded as
 * 16-bit code if code16 (handle.c asks the block counts which mode the
 * code ran in).
 */
int image_disasm(struct entryemu *m, uint32_t addr, int code16, char *buf, size_t len);
/* entryemu_insn_text()'s, in Intel syntax if intel, as 16-bit code if code16. */
int image_insn_text(struct entryemu *m, uint32_t addr, int intel, int code16, char *buf,
		    size_t len);

#endif
