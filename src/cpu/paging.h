/*
 * Paging: which linear pages are present and which are the kernel's.
 *
 * The machine runs with 32-bit paging on (CR0.PG, CR4.PSE), linear =
 * physical, so that the CPU itself refuses a user access to a supervisor
 * page with #PF, as the kernel's page tables make it do.  The tables say
 * what 2.6.18's do for the ranges a run can reach:
 *   below PAGE_OFFSET   user, writable; present where memory is mapped
 *                       (elsewhere no VMA: the page is not present)
 *   PAGE_OFFSET and up  supervisor, present where memory is mapped; a
 *                       user access to the rest is a protection fault
 *                       all the same (lowmem, vmalloc, fixmaps), and a
 *                       kernel access a fault on a page not present
 *   the vsyscall page   user, read-only (FIX_VSYSCALL, PAGE_READONLY_EXEC)
 *   the user code       user, writable; read-only for a run that asks
 *                       (setup.code_readonly), as a process's text is
 */
#ifndef ENTRYEMU_CPU_PAGING_H
#define ENTRYEMU_CPU_PAGING_H

#include <stdint.h>

struct entryemu;

/* Page-fault error code bits (SDM vol. 3 4.7, "Page-Fault Exceptions"). */
#define PF_P	0x1u		/* 0: page not present; 1: protection */
#define PF_W	0x2u		/* the access was a write */
#define PF_U	0x4u		/* the access was made in user mode (CPL 3) */

/* Write the page directory and its page tables into guest memory: 0, or
 * -1 (the machine's error says why). */
int paging_build(struct entryemu *m);
/*
 * Make the pages of the user code (the exit page and the 64 KiB from
 * ENTRYEMU_USER_CODE) read-only to every access (ro), or writable.  The
 * change lasts until the next call, and the CPU's TLB is emptied when
 * there is one.  0, or -1.
 */
int paging_code_readonly(struct entryemu *m, int ro);
/* Turn paging on: CR3, CR4.PSE, CR0.PG and CR0.WP.  0, or -1. */
int paging_enable(struct entryemu *m);

/* The rights the tables give linear lin: P, R/W and U/S (bits 0-2, as
 * in the entries), or 0 where it is not present. */
#define PAGING_P	0x1u
#define PAGING_RW	0x2u
#define PAGING_US	0x4u
uint32_t paging_rights(struct entryemu *m, uint32_t lin);

/*
 * The error code of a #PF at linear addr for an access of that kind at
 * that CPL, by walking the tables (SDM vol. 3 4.3, 4.6): P = 1 when the
 * translation is present and its U/S or R/W refuses the access, else 0.
 * *denied says whether the tables refuse it: not present, or U/S or R/W.
 */
uint32_t paging_fault_error(struct entryemu *m, uint32_t addr, int write, int cpl,
			    int *denied);

#endif
