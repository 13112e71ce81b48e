/*
 * Where the image leaves the kernel: its iret and sysexit instructions,
 * which the run watches.  Decoding all of the executable sections costs
 * a millisecond at every start; only the places holding their opcodes
 * (cf; 0f 35) are decoded, from the symbol before each.
 */
#include "kernel/kernel.h"

#include <string.h>

/*
 * Does an instruction start at c, in a sweep from the closest symbol at
 * or below it?  Symbols (functions and labels) start instructions, and
 * the entry code keeps no data among its instructions.
 */
static int insn_starts_at(struct entryemu *m, uint32_t c)
{
	const struct image *img = &m->img;
	int known = image_insn_start(img, c);	/* the open's decode of the entry code */
	if (known >= 0)
		return known;
	const struct image_symbol *sym = image_symbol_at(img, c);
	uint32_t from = sym && sym->addr >= img->text_start ? sym->addr : img->text_start;
	const uint8_t *code = img->bytes + (from - img->base);
	uint64_t a = from;
	while (a < c) {
		size_t left = img->end - a < 16 ? img->end - a : 16;
		if (!cs_disasm_iter(m->cs_count, &code, &left, &a, m->count_insn)) {
			code++;			/* padding: skip a byte */
			a++;
		}
	}
	return a == c;
}

/*
 * Loads of thread_info->flags into a register through %ebp, where the
 * entry code keeps thread_info: mov TI_flags(%ebp), r32 (8b, ModRM with
 * mod 01 or 10 and r/m 101, then the displacement).  The tests of the
 * same word on the way in (testw $..., TI_flags(%ebp)) are not loads.
 */
size_t kernel_flags_loads(struct entryemu *m, uint32_t *out, size_t max)
{
	const struct image *img = &m->img;
	const uint8_t *text = img->bytes + (img->text_start - img->base);
	uint32_t len = img->text_end - img->text_start, off = (uint32_t)img->layout.ti_flags;
	size_t n = 0;
	for (uint32_t i = 0; i + 3 <= len; i++) {
		uint8_t modrm = text[i + 1];
		if (text[i] != 0x8b || (modrm & 7) != 5 || (modrm >> 6) == 0 || (modrm >> 6) == 3)
			continue;
		uint32_t disp;
		if (modrm >> 6 == 1)
			disp = (uint32_t)(int32_t)(int8_t)text[i + 2];
		else if (i + 6 <= len)
			memcpy(&disp, text + i + 2, 4);
		else
			continue;
		uint32_t c = img->text_start + i;
		if (disp == off && insn_starts_at(m, c)) {
			if (n < max)
				out[n] = c;
			n++;
		}
	}
	return n;
}

size_t kernel_exit_sites(struct entryemu *m, uint32_t *out, size_t max)
{
	const struct image *img = &m->img;
	const uint8_t *text = img->bytes + (img->text_start - img->base);
	uint32_t len = img->text_end - img->text_start;
	size_t n = 0;
	for (uint32_t i = 0; i < len; i++) {
		int iret = text[i] == 0xcf;
		int sysexit = text[i] == 0x0f && i + 1 < len && text[i + 1] == 0x35;
		uint32_t c = img->text_start + i;
		if ((iret || sysexit) && insn_starts_at(m, c)) {
			if (n < max)
				out[n] = c;
			n++;
		}
	}
	return n;
}
