/*
 * The oracle's guest layout and its reading of QEMU's interrupt log, on
 * their own.  The page tables are walked as the CPU walks them (Intel SDM
 * vol. 3A 4.3, 32-bit paging: PDE index = linear[31:22], PTE index =
 * linear[21:12], P/RW/US in bits 0-2, PCD bit 4, frame in bits 31:12).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "oracle/oracle.h"
#include "oracle/intlog.h"

/* The walk: the physical address, and the PTE's flags in *flags; 0 if not present. */
static uint32_t walk(const uint8_t *mem, uint32_t lin, uint32_t *flags)
{
	uint32_t pde, pte;
	memcpy(&pde, mem + PH_PD + 4 * (lin >> 22), 4);
	if (!(pde & 1))
		return 0;
	if (pde & 0x80) {		/* PS: a 4-MiB page (4.3, CR4.PSE) */
		*flags = pde & 0xfff;
		return (pde & 0xffc00000u) | (lin & 0x3fffff);
	}
	memcpy(&pte, mem + (pde & ~0xfffu) + 4 * ((lin >> 12) & 1023), 4);
	if (!(pte & 1))
		return 0;
	*flags = pte & 0xfff;
	return (pte & ~0xfffu) | (lin & 0xfff);
}

static const struct oregion regions[] = {
	{ 0xc0000000u, 0x3000, PH_REGIONS, NULL, 3 },		/* an image: supervisor */
	{ 0xffffe000u, 0x1000, PH_REGIONS + 0x3000, NULL, 5 },	/* vsyscall: user, read */
	{ 0x00010000u, 0x10000, PH_REGIONS + 0x4000, NULL, 7 },	/* vm86 memory */
};

static void page_tables(void **state)
{
	(void)state;
	uint8_t *mem = calloc(1, 8u << 20);	/* up to the regions' pages */
	assert_non_null(mem);
	assert_int_equal(layout_page_tables(mem, regions, 3), 0);
	uint32_t f = 0;
	/* each region page at its linear address, with the region's rights */
	assert_int_equal(walk(mem, 0xc0001234u, &f), PH_REGIONS + 0x1234);
	assert_int_equal(f & 7, 3);
	assert_int_equal(walk(mem, 0xffffe400u, &f), PH_REGIONS + 0x3400);
	assert_int_equal(f & 7, 5);
	assert_int_equal(walk(mem, 0x0001fffcu, &f), PH_REGIONS + 0x4000 + 0xfffc);
	/* the stub: identity, supervisor only */
	assert_int_equal(walk(mem, 0x00100040u, &f), 0x00100040u);
	assert_int_equal(f & 7, 3);
	/* the local APIC: uncached, supervisor */
	assert_int_equal(walk(mem, PH_APIC + 0xb0, &f), PH_APIC + 0xb0);
	assert_true(f & 0x10);
	assert_int_equal(f & 4, 0);
	/* beside a region in its 4 MiB: the filler, supervisor */
	assert_int_equal(walk(mem, 0xc0003000u, &f), PH_FILL);
	assert_int_equal(f & 7, 3);
	/* kernel space no region backs: the filler, supervisor, 4 MiB */
	assert_int_equal(walk(mem, 0xc0400010u, &f), PH_FILL + 0x10);
	assert_int_equal(f & 0x87, 0x83);
	/* nothing in user space but the regions: below user code */
	assert_int_equal(walk(mem, 0x08048000u, &f), 0);
	free(mem);
}

static void phys_of_linear(void **state)
{
	(void)state;
	assert_int_equal(layout_phys(regions, 3, 0xc0002ffcu), PH_REGIONS + 0x2ffc);
	assert_int_equal(layout_phys(regions, 3, 0xffffefffu), PH_REGIONS + 0x3fff);
	assert_int_equal(layout_phys(regions, 3, 0xc0003000u), 0);
	assert_int_equal(layout_phys(regions, 3, 0x0000ffffu), 0);
}

static void interrupt_log(void **state)
{
	(void)state;
	char path[] = "/tmp/entryemu-intlog-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *w = fdopen(fd, "w");
	/* as QEMU 7.2 writes it: noise, a #GP that became #DF, half a line */
	fputs("SMM: enter\nEAX=00000001 EBX=00000000\n"
	      "     0: v=0d e=0030 i=0 cpl=0 IP=0060:c010018c pc=c010018c SP=0068:c0a01fdc"
	      " env->regs[R_EAX]=00000000\n"
	      "check_exception old: 0xd new 0xd\n"
	      "     1: v=08 e=0000 i=0 cpl=0 IP=0060:c010018c pc=c010018c SP=0068:c0a01fdc"
	      " env->regs[R_EAX]=00000000\n"
	      "     2: v=80 e=0000 i=1 cp", w);
	fflush(w);
	struct intlog l;
	struct intlog_rec r;
	assert_int_equal(intlog_open(&l, path), 0);
	assert_int_equal(intlog_last(&l, &r), 1);
	assert_int_equal(r.vector, 8);		/* the last complete line */
	assert_int_equal(r.error, 0);
	assert_int_equal(r.cpl, 0);
	assert_int_equal(intlog_last(&l, &r), 0);	/* nothing new yet */
	fputs("l=3 IP=0073:08048029 pc=08048029 SP=007b:bffefff0 env->regs[R_EAX]=14\n", w);
	fflush(w);
	assert_int_equal(intlog_last(&l, &r), 1);	/* the line, once whole */
	assert_int_equal(r.vector, 0x80);
	assert_int_equal(r.software, 1);
	assert_int_equal(r.cpl, 3);
	intlog_close(&l);
	fclose(w);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(page_tables),
		cmocka_unit_test(phys_of_linear),
		cmocka_unit_test(interrupt_log),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
