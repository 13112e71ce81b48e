/* The kernel image: an ELF32 file read with libelf. */
#ifndef ENTRYEMU_IMAGE_H
#define ENTRYEMU_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include <entryemu/entryemu.h>

#include "image/cfi.h"

struct image_symbol {
	uint32_t addr;
	char *name;
};

struct extable_entry {
	uint32_t insn, fixup;
};

/* Offsets the image exports (entryemu_layout_* symbols). */
struct image_layout {
	int pt_ebx, pt_ecx, pt_edx, pt_esi, pt_edi, pt_ebp, pt_eax;
	int pt_ds, pt_es, pt_gs, pt_fs, pt_orig_eax, pt_eip, pt_cs, pt_eflags;
	int pt_oldesp, pt_oldss, pt_size;	/* pt_gs, pt_fs < 0: no such slot */
	int percpu_seg;		/* enum entryemu_percpu: the sreg number of the
				 * register holding __KERNEL_PERCPU, or 0 */
	int pt_percpu;		/* pt_gs or pt_fs, whichever percpu_seg saves; or -1 */
	int espfix_32;		/* 1: 32-bit, 4 KiB-granular ESPFIX_SS (2.6.20 on) */
	int ti_flags, ti_preempt_count, ti_addr_limit, ti_sysenter_return, ti_size;
	int tss_esp0, tss_ss0, tss_size;
	int thread_size;
};

struct image {
	uint32_t base, end;		/* loaded range, page aligned */
	uint8_t *bytes;			/* end - base bytes, zero-filled */
	struct image_symbol *syms;	/* sorted by address, functions/labels */
	size_t nsyms;
	struct extable_entry *extable;	/* sorted by insn */
	size_t nextable;
	uint32_t fixup_start, fixup_end;	/* .fixup section */
	uint32_t text_start, text_end;	/* executable sections span */
	uint32_t callouts_start, callouts_end;
	struct image_layout layout;
	struct cfi_table cfi;		/* the entry code's unwind rules (image_cfi) */
	int cfi_tried, cfi_failed;
};

/* Load path; on failure returns -1 and writes a message to err. */
int image_load(struct image *img, const char *path, char *err, size_t errlen);
void image_free(struct image *img);
/* Read the entry code's unwind rules into img->cfi, once; -1 with err. */
int image_cfi(struct image *img, const char *path, char *err, size_t errlen);

uint32_t image_symbol(const struct image *img, const char *name);
/* Symbol containing addr (the closest at or below), or NULL. */
const struct image_symbol *image_symbol_at(const struct image *img, uint32_t addr);
const struct extable_entry *image_extable_find(const struct image *img, uint32_t insn);

#endif
