/*
 * Where the run's memory sits in the QEMU guest.  Each region of the
 * machine (kernel stack, tables, image, user pages, vsyscall page, vm86
 * memory) gets its own physical pages from PH_REGIONS on, and non-PAE
 * 4 KiB paging puts each page at the linear address the library uses.
 * Each page gets the rights the library's own page tables give its
 * region (the caller fills oregion.rights from cpu/paging.c), so an access the library lets through, QEMU lets
 * through too.  Besides them the stub (supervisor, identity), the local
 * APIC page (supervisor, uncached) and, with 4-MiB pages, the rest of
 * kernel space (supervisor) are mapped.
 */
#include "oracle/oracle.h"

#include <string.h>

#define PAGE 0x1000u
#define PTE_P 0x1u
#define PTE_RW 0x2u
#define PTE_US 0x4u
#define PTE_PWT 0x8u
#define PTE_PCD 0x10u
#define PDE_PS 0x80u
#define KERNEL_PDE (0xc0000000u >> 22)

unsigned layout_regions(struct entryemu *m, struct oregion *out, unsigned max)
{
	uint32_t phys = PH_REGIONS;
	unsigned n = 0;
	for (unsigned i = 0; i < m->nregions && n < max; i++) {
		const struct host_region *h = &m->regions[i];
		out[n] = (struct oregion){ h->base, h->size, phys, h->p, 0 };
		phys += (h->size + PAGE - 1) & ~(PAGE - 1);
		n++;
	}
	return phys <= PH_FILL ? n : 0;
}

uint32_t layout_phys(const struct oregion *r, unsigned n, uint32_t lin)
{
	for (unsigned i = 0; i < n; i++)
		if (lin - r[i].lin < r[i].size)
			return r[i].phys + (lin - r[i].lin);
	return 0;
}

static int map_page(uint8_t *mem, unsigned *tables, uint32_t lin, uint32_t pte)
{
	uint32_t *pd = (uint32_t *)(mem + PH_PD);
	unsigned di = lin >> 22;
	if (!(pd[di] & PTE_P)) {
		if (*tables >= PH_PT_MAX)
			return -1;
		uint32_t pt = PH_PT + PAGE * (*tables)++;
		memset(mem + pt, 0, PAGE);
		pd[di] = pt | PTE_P | PTE_RW | PTE_US;
	}
	uint32_t *pt = (uint32_t *)(mem + (pd[di] & ~(PAGE - 1)));
	pt[(lin >> 12) & 1023] = pte;
	return 0;
}

int layout_page_tables(uint8_t *mem, const struct oregion *r, unsigned n)
{
	unsigned tables = 0;
	memset(mem + PH_PD, 0, PAGE);
	for (uint32_t a = PH_STUB_LO; a < PH_STUB_HI; a += PAGE)
		if (map_page(mem, &tables, a, a | PTE_P | PTE_RW))
			return -1;
	if (map_page(mem, &tables, PH_APIC, PH_APIC | PTE_P | PTE_RW | PTE_PCD | PTE_PWT))
		return -1;
	for (unsigned i = 0; i < n; i++)
		for (uint32_t off = 0; off < r[i].size && (r[i].rights & PTE_P); off += PAGE)
			if (map_page(mem, &tables, r[i].lin + off,
				     (r[i].phys + off) | (r[i].rights & (PTE_P | PTE_RW | PTE_US))))
				return -1;
	uint32_t *pd = (uint32_t *)(mem + PH_PD);
	for (unsigned di = KERNEL_PDE; di < 1024; di++) {
		if (!(pd[di] & PTE_P)) {
			pd[di] = PH_FILL | PDE_PS | PTE_P | PTE_RW;
			continue;
		}
		/* the pages of a table the regions share, likewise */
		uint32_t *pt = (uint32_t *)(mem + (pd[di] & ~(PAGE - 1)));
		for (unsigned ti = 0; ti < 1024; ti++)
			if (!(pt[ti] & PTE_P))
				pt[ti] = PH_FILL | PTE_P | PTE_RW;
	}
	return 0;
}

int layout_set_rights(uint8_t *mem, const struct oregion *r, unsigned n, uint32_t lin,
		      uint32_t rights)
{
	uint32_t phys = layout_phys(r, n, lin & ~(PAGE - 1));
	uint32_t pde, pte = rights & PTE_P ? phys | (rights & (PTE_P | PTE_RW | PTE_US)) : 0;
	memcpy(&pde, mem + PH_PD + (lin >> 22) * 4, 4);
	if (!phys || !(pde & PTE_P) || (pde & PDE_PS))
		return pte ? -1 : 0;	/* no table of its own to hold the page */
	memcpy(mem + (pde & ~(PAGE - 1)) + ((lin >> 12) & 1023) * 4, &pte, 4);
	return 0;
}
