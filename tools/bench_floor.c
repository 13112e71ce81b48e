/*
 * The floor under a warm run: plain Unicorn, engine reused, executing a
 * straight line of as many instructions and guest stores as the run
 * makes, stopped by one ranged hook on its last instruction.  What the
 * library adds on top of that (delivery, callouts, checkers, reset,
 * mode switches) is the overhead that entryemu bench reports as a ratio.
 * With served, the stack page is mapped the way the library maps the
 * kernel stack's top page (uc_mmio_map over a host buffer, not RAM),
 * so that the report shows what that choice alone is worth.
 */
#include "bench.h"

#include <stdlib.h>
#include <string.h>
#include <unicorn/unicorn.h>

#define FLOOR_CODE	0x00100000u
#define FLOOR_STACK	0x00200000u	/* one page; the pushes go below its top */

static uint8_t served_stack[0x1000];

/*
 * uc_mmio_map callbacks over a 4 KiB page of host bytes (data), as the
 * library serves the kernel stack's top page; accesses of at most 8 bytes
 * within the page.  Shared with bench_floor_code.c.
 */
uint64_t bench_served_read(uc_engine *uc, uint64_t off, unsigned size, void *data)
{
	(void)uc;
	uint64_t v = 0;
	if (size <= sizeof(v) && off < 0x1000 && size <= 0x1000 - off)
		memcpy(&v, (const uint8_t *)data + off, size);
	return v;
}

void bench_served_write(uc_engine *uc, uint64_t off, unsigned size, uint64_t v, void *data)
{
	(void)uc;
	if (size <= sizeof(v) && off < 0x1000 && size <= 0x1000 - off)
		memcpy((uint8_t *)data + off, &v, size);
}

static void stop_hook(uc_engine *uc, uint64_t addr, uint32_t size, void *data)
{
	(void)addr;
	(void)size;
	(void)data;
	uc_emu_stop(uc);
}

double bench_floor_us(unsigned insns, unsigned stores, long runs, int served)
{
	if (insns < 2 || stores >= insns || stores > 1000 || insns > 4000)
		return -1;
	uc_engine *uc;
	if (uc_open(UC_ARCH_X86, UC_MODE_32, &uc) != UC_ERR_OK)
		return -1;
	/* stores pushes (50: push %eax), spread among the rest (41: inc %ecx) */
	uint8_t code[4096];
	unsigned n = insns - 1;
	for (unsigned i = 0; i < n; i++)
		code[i] = (stores && i % (n / stores ? n / stores : 1) == 0 &&
			   i / (n / stores ? n / stores : 1) < stores) ? 0x50 : 0x41;
	code[n] = 0x90;				/* nop: the stop hook sits here */
	double us = -1;
	uc_hook h;
	if (uc_mem_map(uc, FLOOR_CODE, 0x2000, UC_PROT_ALL) == UC_ERR_OK &&
	    (served ? uc_mmio_map(uc, FLOOR_STACK - 0x1000, 0x1000, bench_served_read,
				  served_stack, bench_served_write, served_stack)
		    : uc_mem_map(uc, FLOOR_STACK - 0x1000, 0x1000, UC_PROT_READ | UC_PROT_WRITE)) ==
		    UC_ERR_OK &&
	    uc_mem_write(uc, FLOOR_CODE, code, n + 1) == UC_ERR_OK &&
	    uc_hook_add(uc, &h, UC_HOOK_CODE, (void *)stop_hook, NULL, FLOOR_CODE + n,
			FLOOR_CODE + n) == UC_ERR_OK) {
		uint32_t esp = FLOOR_STACK;
		for (long i = 0; i < runs / 10 + 10; i++) {	/* translate once */
			uc_reg_write(uc, UC_X86_REG_ESP, &esp);
			uc_emu_start(uc, FLOOR_CODE, 0, 0, 0);
		}
		double per[BENCH_BATCHES];
		long each = runs / BENCH_BATCHES > 0 ? runs / BENCH_BATCHES : 1;
		for (int b = 0; b < BENCH_BATCHES; b++) {
			double t0 = bench_now_s();
			for (long i = 0; i < each; i++) {
				uc_reg_write(uc, UC_X86_REG_ESP, &esp);
				uc_emu_start(uc, FLOOR_CODE, 0, 0, 0);
			}
			per[b] = (bench_now_s() - t0) / (double)each;
		}
		us = bench_median(per, BENCH_BATCHES) * 1e6;
	}
	uc_close(uc);
	return us;
}
