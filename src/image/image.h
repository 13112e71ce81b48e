/* The kernel image: an ELF32 file read with libelf. */
#ifndef ENTRYEMU_IMAGE_H
#define ENTRYEMU_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include <capstone/capstone.h>
#include <entryemu/entryemu.h>

#include "image/cfi.h"

struct image_symbol {
	uint32_t addr;
	char *name;
	uint32_t size;			/* ELF st_size of a data object, else 0 */
	int global;			/* STB_GLOBAL or STB_WEAK: others may jump there */
};

/*
 * A table the image gives a size (image_tables): a data object with an
 * ELF st_size, or a symbol with an absolute companion that names its
 * size in bytes (tables.c says how they are matched).
 */
/*
 * The image's sorted tables (tables, __ex_table, accesses) lead each
 * element with its uint32_t key: image_find_sorted() looks any of them
 * up.
 */
const void *image_find_sorted(const void *base, size_t n, size_t size, uint32_t key);

struct image_table {
	uint32_t addr, size;
	const char *name;		/* the table's symbol */
	const char *size_from;		/* the companion symbol, or "st_size" */
};

struct extable_entry {
	uint32_t insn, fixup;
};

/*
 * An instruction of the entry code that reads or writes data at an
 * address a register or a segment override gives, not the stack
 * (image_find_accesses): the places where a user-supplied value could
 * become an address, and the indexed reads of sized tables.
 */
#define IMAGE_ACCESS_OPS 2
#define IMAGE_MAX_EXEC 16		/* executable sections */
struct image_access {
	uint32_t insn;
	int extable;			/* it has an __ex_table entry */
	const struct image_table *table;	/* indexes this table, or NULL */
	int nops;
	cs_x86_op op[IMAGE_ACCESS_OPS];	/* its memory operands, as decoded */
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
	const struct image_symbol **by_name;	/* syms by name, then by address */
	struct image_symbol *abs_sizes;	/* absolute symbols named *_size:
					 * addr holds the value */
	size_t nabs_sizes;
	struct image_table *tables;	/* sized tables, by address */
	size_t ntables;
	struct extable_entry *extable;	/* sorted by insn */
	size_t nextable;
	uint32_t fixup_start, fixup_end;	/* .fixup section */
	uint32_t text_start, text_end;	/* executable sections span */
	struct { uint32_t start, end; } exec[IMAGE_MAX_EXEC];	/* each of them */
	size_t nexec;
	uint32_t callouts_start, callouts_end;
	struct image_access *accesses;	/* sorted by insn (image_find_accesses) */
	size_t naccesses;
	uint8_t *insn_size;		/* per byte: the size of the instruction
					 * starting there, 0 for none */
	uint32_t starts_base, starts_len;	/* the bytes it covers (the same pass) */
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
/* tables.c: find the sized tables once the symbols are in; -1 with err. */
int image_tables(struct image *img, char *err, size_t errlen);
/*
 * accesses.c: decode the entry code once (cs: with operand detail) and
 * keep its data accesses a user value may address.  0; or, with err,
 * -1 when out of memory, -2 when the image has too much code for one.
 */
int image_find_accesses(struct image *img, csh cs, char *err, size_t errlen);
const struct image_access *image_access_at(const struct image *img, uint32_t insn);
/* Does an instruction of the entry code start at addr, as that pass
 * decoded it: 1 or 0; -1 where it did not look (the callout slots). */
int image_insn_start(const struct image *img, uint32_t addr);
/* The sized table at exactly addr, or NULL. */
const struct image_table *image_table_at(const struct image *img, uint32_t addr);

#endif
