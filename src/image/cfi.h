/*
 * The image's unwind table (DWARF CFI in .debug_frame, the entry code's
 * CFI_* annotations), read with libdw and laid out as one row per byte
 * of the executable range it covers, so a run can look up the rules of
 * any instruction without calling into libdw.
 */
#ifndef ENTRYEMU_IMAGE_CFI_H
#define ENTRYEMU_IMAGE_CFI_H

#include <stddef.h>
#include <stdint.h>

/* DWARF register numbers of i386 (System V i386 psABI, "DWARF Register
 * Number Mapping"): eax ecx edx ebx esp ebp esi edi, then the return
 * address column eip, and eflags. */
enum cfi_reg {
	CFI_EAX, CFI_ECX, CFI_EDX, CFI_EBX, CFI_ESP, CFI_EBP, CFI_ESI, CFI_EDI,
	CFI_EIP, CFI_EFLAGS, CFI_NREGS
};

/* The rules at one address. */
struct cfi_row {
	uint8_t covered;	/* an FDE covers the address */
	uint8_t fde_start;	/* and starts here (a CFI_STARTPROC) */
	int8_t cfa_reg;		/* CFA = cfa_reg + cfa_off; -1: another rule */
	uint16_t saved;		/* bit r: register r saved at CFA + off[r] */
	int32_t cfa_off;
	int16_t off[CFI_NREGS];
	uint32_t fde;		/* the covering FDE's first address */
};

struct cfi_table {
	uint32_t base;		/* rows[i] holds the rules of base + i */
	size_t len;
	struct cfi_row *rows;
};

/* The register's name, for messages. */
const char *cfi_reg_name(int reg);
/*
 * Read the CFI of the ELF file at fd for the addresses [lo, hi).  An image
 * without .debug_frame gets an empty table (0).  -1 with a message in err
 * when libdw cannot read what is there.
 */
int cfi_load(struct cfi_table *t, int fd, uint32_t lo, uint32_t hi, char *err, size_t errlen);
void cfi_free(struct cfi_table *t);
/* The rules at addr, or NULL where no FDE covers it. */
static inline const struct cfi_row *cfi_at(const struct cfi_table *t, uint32_t addr)
{
	uint32_t i = addr - t->base;
	return t->rows && i < t->len && t->rows[i].covered ? &t->rows[i] : NULL;
}

#endif
