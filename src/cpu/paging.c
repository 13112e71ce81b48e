/* The machine's page tables, and the #PF error code they imply. */
#include "cpu/cpu.h"
#include "cpu/paging.h"

#include <string.h>

/* Page-directory and page-table entry bits (SDM vol. 3 4.3, tables 4-4..4-6). */
#define PTE_P	PAGING_P
#define PTE_RW	PAGING_RW
#define PTE_US	PAGING_US
#define PTE_A	0x020u
#define PTE_D	0x040u
/*
 * Accessed and dirty are set from the start: the CPU then never writes
 * the tables (it sets A and D only where they are clear, SDM vol. 3
 * 4.8), so they stay as built and need no reset between runs.
 */
#define PTE_AD	(PTE_A | PTE_D)
#define PDE_PS	0x080u		/* a 4-MiB page (CR4.PSE) */

#define CR0_WP	0x00010000u
#define CR0_PG	0x80000000u
#define CR4_PSE	0x00000010u

#define PDE_SHIFT 22
#define TOP_PDE	  1023u		/* 0xffc00000-0xffffffff: holds the vsyscall page */
/*
 * The user code and the exit page before it: the pages code_readonly
 * protects, in one 4-MiB range that has a page table of its own.
 */
#define CODE_LO	  ENTRYEMU_USER_EXIT
#define CODE_HI	  (ENTRYEMU_USER_CODE + ENTRYEMU_USER_CODE_MAX)
#define CODE_PDE  (CODE_LO >> PDE_SHIFT)
_Static_assert(CODE_LO >> PDE_SHIFT == (CODE_HI - 1) >> PDE_SHIFT,
	       "the user code's pages share one page table");
_Static_assert(CODE_PDE != 0 && CODE_PDE != TOP_PDE, "a page table of its own");
_Static_assert(SYS_PGTABLES + SYS_PGTABLE_COUNT * 0x1000u == SYS_BASE + SYS_SIZE,
	       "the page tables end the system area");

/* Entry i of the 4 KiB table whose host bytes are at t. */
static void put32(uint8_t *t, uint32_t i, uint32_t v)
{
	memcpy(t + i * 4, &v, 4);
}

/* How much of the 4 MiB at lin the machine has memory behind: 0 none, 2 all, 1 some. */
static int covered(struct entryemu *m, uint32_t lin)
{
	if (!machine_memory_in(m, lin, lin + ((1u << PDE_SHIFT) - 1)))
		return 0;
	for (uint32_t page = lin; page - lin < (1u << PDE_SHIFT); page += 0x1000u)
		if (!machine_memory_in(m, page, page + 0xfffu))
			return 1;
	return 2;
}

/*
 * The entry of the page at lin: present where the machine has memory,
 * user and writable below PAGE_OFFSET, supervisor and writable above it,
 * user and read-only for the vsyscall page; absent elsewhere, and at
 * page 0, a null pointer's target (Unicorn would stop cleanly at linear
 * 0, the address it takes as the end of emulation, where the CPU raises
 * #PF with P = 0).
 */
static uint32_t page_entry(struct entryemu *m, uint32_t lin)
{
	if (!lin || !machine_memory_in(m, lin, lin + 0xfffu))
		return 0;
	if (lin == VSYSCALL_PAGE)
		return lin | PTE_P | PTE_US | PTE_AD;
	return lin | PTE_P | PTE_RW | PTE_AD | (lin < PAGE_OFFSET ? PTE_US : 0);
}

int paging_build(struct entryemu *m)
{
	/* each table whole at once: 3,072 single-word writes cost a fifth
	 * of an engine's set-up */
	uint8_t *dir = machine_wptr(m, SYS_PGDIR, 4096);
	uint8_t *tables = machine_wptr(m, SYS_PGTABLES, SYS_PGTABLE_COUNT * 0x1000u);
	if (!dir || !tables)
		return -1;	/* not in the system region: map_all() failed first */
	/*
	 * A page is present only where the machine has memory, as a
	 * process's page tables map only its VMAs: an access anywhere else
	 * is a #PF the CPU itself raises, at the instruction and with its
	 * state as it was before it.  (Unicorn's own stop at unmapped
	 * memory has neither, docs/fidelity.md; the rest of the address
	 * space is mapped absent behind these tables, engine_map_absent.)
	 * A 4 MiB range the machine has memory in only in part has a page
	 * table; one it has none in is absent whole.  The code's range has
	 * a table whatever it holds (paging_code_readonly), and so do the
	 * first and the top ones (page 0, the vsyscall page).
	 */
	unsigned used = 0;
	for (uint32_t i = 0; i < 1024; i++) {
		uint32_t lin = i << PDE_SHIFT, pde = 0;
		int cover = covered(m, lin);
		if (cover == 1 || i == 0 || i == CODE_PDE || i == TOP_PDE) {
			if (used == SYS_PGTABLE_COUNT) {
				machine_set_error(m, "the machine's memory lies in more 4 MiB ranges "
						  "than its %u page tables map", SYS_PGTABLE_COUNT);
				return -1;
			}
			uint32_t table = SYS_PGTABLES + used * 0x1000u;
			uint8_t *t = tables + used++ * 0x1000u;
			for (uint32_t k = 0; k < 1024; k++)
				put32(t, k, page_entry(m, lin | k << 12));
			pde = table | PTE_P | PTE_RW | PTE_US | PTE_AD;	/* the PTEs say */
		} else if (cover == 2) {
			pde = page_entry(m, lin) | PDE_PS;
		}
		put32(dir, i, pde);
	}
	m->code_readonly = 0;
	return 0;
}

/* The guest address of the page table of the user code's 4 MiB. */
static uint32_t code_table(struct entryemu *m)
{
	uint32_t pde;
	memcpy(&pde, m->sys + (SYS_PGDIR - SYS_BASE) + CODE_PDE * 4, 4);
	return pde & ~0xfffu;
}

int paging_code_readonly(struct entryemu *m, int ro)
{
	ro = ro != 0;
	if (m->code_readonly == ro)
		return 0;
	for (uint32_t lin = CODE_LO; lin < CODE_HI; lin += 0x1000) {
		uint32_t pte = lin | PTE_P | (ro ? 0 : PTE_RW) | PTE_US | PTE_AD;
		machine_set_lasting(m, code_table(m) + ((lin >> 12) & 0x3ffu) * 4, &pte, 4);
	}
	/* the old rights may be cached: a writable entry would let stores by */
	if (engine_flush_tlb(m->eng, TLB_SCRATCH))
		return -1;
	m->code_readonly = ro;
	return 0;
}

int paging_enable(struct entryemu *m)
{
	struct engine *e = m->eng;
	if (engine_set_reg(e, ER_CR3, SYS_PGDIR) ||
	    engine_set_reg(e, ER_CR4, engine_reg(e, ER_CR4) | CR4_PSE) ||
	    engine_set_reg(e, ER_CR0, engine_reg(e, ER_CR0) | CR0_PG | CR0_WP))
		return -1;
	return 0;
}

/*
 * A paging structure's entry: straight from the system area, where the
 * machine keeps its tables, without a search of the memory map (the
 * injection hook asks for a code page's rights before every
 * instruction); from anywhere else through it.
 */
static uint32_t table_entry(struct entryemu *m, uint32_t addr, int *ok)
{
	uint32_t v;
	if (addr - SYS_BASE <= SYS_SIZE - 4) {
		memcpy(&v, m->sys + (addr - SYS_BASE), 4);
		return v;
	}
	return machine_rd32(m, addr, ok);
}

uint32_t paging_rights(struct entryemu *m, uint32_t lin)
{
	int ok = 1;
	uint32_t pde = table_entry(m, SYS_PGDIR + (lin >> PDE_SHIFT) * 4, &ok);
	if (!ok || !(pde & PTE_P))
		return 0;
	if (pde & PDE_PS)
		return pde & (PTE_P | PTE_RW | PTE_US);
	uint32_t pte = table_entry(m, (pde & ~0xfffu) + ((lin >> 12) & 0x3ff) * 4, &ok);
	if (!ok || !(pte & PTE_P))
		return 0;
	return pde & pte & (PTE_P | PTE_RW | PTE_US);
}

/*
 * 32-bit paging with CR4.PSE (SDM vol. 3 4.3): the PDE, then the PTE
 * unless the PDE maps a 4-MiB page.  The access rights combine (4.6.1):
 * a user access needs U/S = 1 in both; a write needs R/W = 1 in both for
 * a user access, and for a supervisor access when CR0.WP = 1 (the kernel
 * sets WP, 2.6.18 on every CPU from the i486 on).
 */
uint32_t paging_fault_error(struct entryemu *m, uint32_t addr, int write, int cpl,
			    int *denied)
{
	int ok = 1, user = cpl == 3;
	uint32_t err = (write ? PF_W : 0) | (user ? PF_U : 0);
	/*
	 * Above PAGE_OFFSET the kernel maps its lowmem whole, supervisor
	 * only, memory or not: a user access there is a protection fault
	 * wherever the machine's tables leave a page absent.
	 */
	if (user && addr >= PAGE_OFFSET && !(paging_rights(m, addr) & PTE_P)) {
		*denied = 1;
		return err | PF_P;
	}
	uint32_t pde = machine_rd32(m, SYS_PGDIR + (addr >> PDE_SHIFT) * 4, &ok);
	uint32_t rights = pde;
	*denied = 0;
	if (ok && (pde & PTE_P) && !(pde & PDE_PS)) {
		uint32_t pte = machine_rd32(m, (pde & ~0xfffu) + ((addr >> 12) & 0x3ff) * 4, &ok);
		rights = (pde & pte) | (pte & PTE_P);
		if (ok && !(pte & PTE_P)) {
			*denied = 1;		/* the page table says not present */
			return err;
		}
	}
	if (ok && !(pde & PTE_P))
		*denied = 1;			/* the directory says not present */
	if (!ok || !(pde & PTE_P))
		return err;			/* not present: P = 0 */
	int wp = (engine_reg(m->eng, ER_CR0) & CR0_WP) != 0;
	if ((user && !(rights & PTE_US)) || (write && !(rights & PTE_RW) && (user || wp))) {
		*denied = 1;
		return err | PF_P;
	}
	return err;				/* allowed: the page is simply absent */
}
