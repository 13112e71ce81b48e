/*
 * The image's DWARF CFI, through libdw: dwarf_cfi_addrframe gives the
 * rules at an address, dwarf_frame_cfa and dwarf_frame_register say what
 * they are.  Only the forms the entry code's annotations produce are
 * kept: a CFA of register + offset (.cfi_def_cfa and its adjustments),
 * and registers saved at CFA + offset (.cfi_offset, .cfi_rel_offset).
 * Other rules (a register kept in another register, an expression) are
 * left out of the row: nothing is checked for them.
 */
#include "image/cfi.h"

#include <elfutils/libdw.h>
#include <gelf.h>
#include <dwarf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *cfi_reg_name(int reg)
{
	static const char *const n[CFI_NREGS] = {
		"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi", "eip", "eflags",
	};
	return reg >= 0 && reg < CFI_NREGS ? n[reg] : "?";
}

/* CFA = register + offset: DW_OP_bregN or DW_OP_bregx (libdw's form). */
static void row_cfa(Dwarf_Frame *f, struct cfi_row *r)
{
	Dwarf_Op *ops;
	size_t nops;
	r->cfa_reg = -1;
	if (dwarf_frame_cfa(f, &ops, &nops) || nops != 1)
		return;
	if (ops[0].atom >= DW_OP_breg0 && ops[0].atom <= DW_OP_breg31 &&
	    ops[0].atom - DW_OP_breg0 < CFI_NREGS) {
		r->cfa_reg = (int8_t)(ops[0].atom - DW_OP_breg0);
		r->cfa_off = (int32_t)ops[0].number;
	} else if (ops[0].atom == DW_OP_bregx && ops[0].number < CFI_NREGS) {
		r->cfa_reg = (int8_t)ops[0].number;
		r->cfa_off = (int32_t)ops[0].number2;
	}
}

/* Saved at CFA + N: DW_OP_call_frame_cfa, then DW_OP_plus_uconst N unless 0. */
static void row_register(Dwarf_Frame *f, int reg, struct cfi_row *r)
{
	Dwarf_Op mem[3], *ops;
	size_t nops;
	if (dwarf_frame_register(f, reg, mem, &ops, &nops) || !ops || !nops ||
	    ops[0].atom != DW_OP_call_frame_cfa)
		return;
	int32_t off = 0;
	if (nops == 2 && ops[1].atom == DW_OP_plus_uconst)
		off = (int32_t)(uint32_t)ops[1].number;
	else if (nops != 1)
		return;			/* val_offset or an expression */
	r->saved |= (uint16_t)(1u << reg);
	r->off[reg] = (int16_t)off;
}

static int fill(struct cfi_table *t, Dwarf_CFI *cfi)
{
	for (size_t i = 0; i < t->len; i++) {
		Dwarf_Frame *f;
		struct cfi_row *r = &t->rows[i];
		if (dwarf_cfi_addrframe(cfi, t->base + i, &f))
			continue;		/* no FDE here */
		r->covered = 1;
		row_cfa(f, r);
		for (int reg = 0; reg < CFI_NREGS; reg++)
			row_register(f, reg, r);
		free(f);
	}
	return 0;
}

/*
 * Where each FDE starts: its initial_location and address_range, the
 * fields after the CIE pointer, 4-byte absolute values in the
 * .debug_frame of a linked ELF32 image (DWARF 4 section 6.4.1).
 */
static void mark_starts(struct cfi_table *t, Dwarf *dw)
{
	Elf *elf = dwarf_getelf(dw);
	size_t shstrndx;
	if (!elf || elf_getshdrstrndx(elf, &shstrndx))
		return;
	const char *ident = elf_getident(elf, NULL);
	for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn; scn = elf_nextscn(elf, scn)) {
		GElf_Shdr sh;
		const char *name;
		if (!gelf_getshdr(scn, &sh) ||
		    !(name = elf_strptr(elf, shstrndx, sh.sh_name)) ||
		    strcmp(name, ".debug_frame"))
			continue;
		Elf_Data *data = elf_getdata(scn, NULL);
		Dwarf_Off off = 0, next;
		Dwarf_CFI_Entry e;
		while (data && dwarf_next_cfi((const unsigned char *)ident, data, false, off,
					      &next, &e) == 0) {
			if (!dwarf_cfi_cie_p(&e) && e.fde.end - e.fde.start >= 8) {
				uint32_t at, range;
				memcpy(&at, e.fde.start, 4);
				memcpy(&range, e.fde.start + 4, 4);	/* address_range */
				/* the FDE's range, clipped to the table (a crafted
				 * address_range may span the address space) */
				uint64_t from = at > t->base ? at : t->base;
				uint64_t to = (uint64_t)at + range;
				if (to > (uint64_t)t->base + t->len)
					to = (uint64_t)t->base + t->len;
				for (uint64_t a = from; a < to; a++)
					if (t->rows[a - t->base].covered)
						t->rows[a - t->base].fde = at;
				uint32_t i = at - t->base;
				if (i < t->len && t->rows[i].covered)
					t->rows[i].fde_start = 1;
			}
			off = next;
		}
	}
}

int cfi_load(struct cfi_table *t, int fd, uint32_t lo, uint32_t hi, char *err, size_t errlen)
{
	memset(t, 0, sizeof(*t));
	if (hi <= lo)
		return 0;
	Dwarf *dw = dwarf_begin(fd, DWARF_C_READ);
	if (!dw)
		return 0;		/* no DWARF sections at all: nothing to check */
	Dwarf_CFI *cfi = dwarf_getcfi(dw);
	int rc = 0;
	if (cfi) {
		t->base = lo;
		t->len = hi - lo;
		t->rows = calloc(t->len, sizeof(*t->rows));
		if (!t->rows) {
			snprintf(err, errlen, ".debug_frame: out of memory");
			rc = -1;
		} else {
			fill(t, cfi);
			mark_starts(t, dw);
			rc = 0;
		}
	}
	dwarf_end(dw);
	if (rc)
		cfi_free(t);
	return rc;
}

void cfi_free(struct cfi_table *t)
{
	free(t->rows);
	memset(t, 0, sizeof(*t));
}
