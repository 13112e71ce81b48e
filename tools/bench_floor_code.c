/*
 * The floor under a warm run, on the run's own instructions: plain
 * Unicorn, engine reused, executing exactly what a warm run of the same
 * user code executes on the library (its kernel's code and data, its
 * GDT, the same int $0x80 gate), with no more host code than a Unicorn
 * user needs to run it at all:
 *
 *   - one interrupt hook that delivers the INT through the image's IDT
 *     gate as SDM vol. 3A 6.12.1 says a CPL 3 -> CPL 0 gate does (the
 *     five-word frame on the ring-0 stack, EFLAGS.TF/VM/RF/NT cleared
 *     and IF too for an interrupt gate, CS:EIP from the gate), using
 *     the one way Unicorn offers to reach CPL 0 (a real-mode SS load);
 *   - one ranged stop hook, on the user instruction after the INT.
 *
 * No callout is served: each C function's slot is the `ret' the image
 * holds, so the syscall returns whatever %eax held; a run whose path
 * depends on that is refused by the check below.  Memory is the
 * library's, copied page by page once, and mapped as RAM (the stack
 * too, as a Unicorn user maps it; with served, the ring-0 stack's top
 * page as the library maps it, which leaves the library's own work as
 * the difference).  Before timing, one run is traced
 * and must be the library's run instruction for instruction, or there
 * is no figure.
 */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicorn/unicorn.h>

#define PAGE 0x1000u
/* two pages the library leaves unmapped (checked): the GDT, the boot IRET */
#define FLOOR_GDT  0x00300000u
#define FLOOR_BOOT 0x00301000u
#define TRACE_MAX  4096

struct floor {
	uc_engine *uc;
	uint8_t *bufs[256];		/* host copies of the library's memory */
	int nbufs;
	uint8_t *stack;			/* the host bytes of the page below esp0 */
	uint32_t stack_base, esp0;
	int served;			/* that page as the library maps it */
	uint32_t gate_eip;
	uint16_t gate_cs;
	int gate_clears_if;
	int bad_vector;			/* an INT other than 0x80 was raised */
	uint32_t trace[TRACE_MAX];
	size_t ntrace;
};

/* CPL 3 -> CPL 0 through an IDT gate, SDM vol. 3A 6.12.1 */
static void deliver(uc_engine *uc, uint32_t intno, void *data)
{
	struct floor *f = data;
	if (intno != 0x80) {
		f->bad_vector = 1;
		uc_emu_stop(uc);
		return;
	}
	int rid[5] = { UC_X86_REG_EIP, UC_X86_REG_CS, UC_X86_REG_EFLAGS, UC_X86_REG_ESP,
		       UC_X86_REG_SS };
	uint32_t v[5] = { 0 };
	void *pv[5] = { &v[0], &v[1], &v[2], &v[3], &v[4] };
	uc_reg_read_batch(uc, rid, pv, 5);
	v[1] &= 0xffff;
	v[4] &= 0xffff;
	/* EIP, CS, EFLAGS, ESP, SS from the lowest address up */
	memcpy(f->stack + (f->esp0 - 20 - f->stack_base), v, sizeof(v));
	uint32_t cr0 = 0;
	uc_reg_read(uc, UC_X86_REG_CR0, &cr0);
	uint32_t real = cr0 & ~1u, null = 0, ss = ENTRYEMU_KERNEL_DS, esp = f->esp0 - 20;
	uint32_t cs = f->gate_cs, eip = f->gate_eip;
	/* the bits an interrupt or trap gate clears (SDM vol. 3A 6.12.1.3) */
	uint32_t fl = v[2] & ~(ENTRYEMU_EFLAGS_TF | ENTRYEMU_EFLAGS_VM | ENTRYEMU_EFLAGS_RF |
			       ENTRYEMU_EFLAGS_NT) &
		      ~(f->gate_clears_if ? ENTRYEMU_EFLAGS_IF : 0u);
	int wid[8] = { UC_X86_REG_CR0, UC_X86_REG_SS, UC_X86_REG_CR0, UC_X86_REG_SS,
		       UC_X86_REG_ESP, UC_X86_REG_CS, UC_X86_REG_EFLAGS, UC_X86_REG_EIP };
	void *wv[8] = { &real, &null, &cr0, &ss, &esp, &cs, &fl, &eip };
	uc_reg_write_batch(uc, wid, wv, 8);
}

static void stop(uc_engine *uc, uint64_t addr, uint32_t size, void *data)
{
	(void)addr;
	(void)size;
	(void)data;
	uc_emu_stop(uc);
}

static void record(uc_engine *uc, uint64_t addr, uint32_t size, void *data)
{
	(void)uc;
	(void)size;
	struct floor *f = data;
	if (f->ntrace < TRACE_MAX)
		f->trace[f->ntrace] = (uint32_t)addr;
	f->ntrace++;
}

/* host bytes b as guest [a, end): RAM, but for the stack page if served */
static int map_range(struct floor *f, uint8_t *b, uint64_t a, uint64_t end)
{
	uint64_t top = f->served && f->stack_base >= a && f->stack_base < end ? f->stack_base : end;
	if (top > a && uc_mem_map_ptr(f->uc, a, (size_t)(top - a), UC_PROT_ALL, b) != UC_ERR_OK)
		return -1;
	if (top == end)
		return 0;
	if (uc_mmio_map(f->uc, top, PAGE, bench_served_read, b + (top - a), bench_served_write,
			b + (top - a)) != UC_ERR_OK)
		return -1;
	return top + PAGE < end ? map_range(f, b + (top + PAGE - a), top + PAGE, end) : 0;
}

/* every page the library has mapped, copied, each run of them one mapping */
static int copy_memory(struct floor *f, entryemu *m, char *why, size_t len)
{
	static uint8_t page[PAGE];
	uint64_t a = 0;
	while (a < (1ull << 32)) {
		if (entryemu_mem_read(m, (uint32_t)a, page, PAGE)) {
			a += PAGE;
			continue;
		}
		uint64_t end = a + PAGE;
		while (end < (1ull << 32) && entryemu_mem_read(m, (uint32_t)end, page, PAGE) == 0)
			end += PAGE;
		if (f->nbufs == (int)(sizeof(f->bufs) / sizeof(f->bufs[0]))) {
			snprintf(why, len, "more than %d mapped ranges", f->nbufs);
			return -1;
		}
		/* page by page: the library's own regions may meet inside a run */
		uint8_t *b = aligned_alloc(PAGE, (size_t)(end - a));
		for (uint64_t p = a; b && p < end; p += PAGE)
			entryemu_mem_read(m, (uint32_t)p, b + (p - a), PAGE);
		if (!b || map_range(f, b, a, end)) {
			free(b);
			snprintf(why, len, "cannot copy 0x%08x-0x%08x", (uint32_t)a,
				 (uint32_t)(end - 1));
			return -1;
		}
		f->bufs[f->nbufs++] = b;
		if (f->stack_base >= a && f->stack_base < end)
			f->stack = b + (f->stack_base - a);
		a = end;
	}
	if (!f->stack) {
		snprintf(why, len, "the ring-0 stack 0x%08x is not mapped", f->esp0);
		return -1;
	}
	return 0;
}

/* the library's GDT at FLOOR_GDT; CPL 0; IRET to the user code at CPL 3 */
static int boot(struct floor *f, entryemu *m, char *why, size_t len)
{
	uint8_t probe;
	if (entryemu_mem_read(m, FLOOR_GDT, &probe, 1) == 0 ||
	    entryemu_mem_read(m, FLOOR_BOOT, &probe, 1) == 0) {
		snprintf(why, len, "0x%08x or 0x%08x is the image's", FLOOR_GDT, FLOOR_BOOT);
		return -1;
	}
	uint8_t gdt[ENTRYEMU_GDT_ENTRIES * 8], iret = 0xcf;
	for (unsigned i = 0; i < ENTRYEMU_GDT_ENTRIES; i++) {
		uint32_t lo, hi;
		if (entryemu_gdt_get(m, i, &lo, &hi)) {
			snprintf(why, len, "cannot read GDT entry %u", i);
			return -1;
		}
		memcpy(gdt + 8 * i, &lo, 4);
		memcpy(gdt + 8 * i + 4, &hi, 4);
	}
	uc_x86_mmr gdtr = { 0, FLOOR_GDT, sizeof(gdt) - 1, 0 };
	uint32_t frame[5] = { ENTRYEMU_USER_CODE, ENTRYEMU_USER_CS, 0x202,
			      ENTRYEMU_USER_STACK_TOP, ENTRYEMU_USER_DS };
	memcpy(f->stack + (f->esp0 - 20 - f->stack_base), frame, sizeof(frame));
	uint32_t cr0 = 0, real, null = 0, kss = ENTRYEMU_KERNEL_DS, kcs = ENTRYEMU_KERNEL_CS;
	uint32_t uds = ENTRYEMU_USER_DS, esp = f->esp0 - 20;
	if (uc_mem_map(f->uc, FLOOR_GDT, 2 * PAGE, UC_PROT_ALL) != UC_ERR_OK ||
	    uc_mem_write(f->uc, FLOOR_GDT, gdt, sizeof(gdt)) != UC_ERR_OK ||
	    uc_mem_write(f->uc, FLOOR_BOOT, &iret, 1) != UC_ERR_OK ||
	    uc_reg_write(f->uc, UC_X86_REG_GDTR, &gdtr) != UC_ERR_OK ||
	    uc_reg_read(f->uc, UC_X86_REG_CR0, &cr0) != UC_ERR_OK) {
		snprintf(why, len, "cannot set up the GDT");
		return -1;
	}
	real = cr0 & ~1u;
	int wid[8] = { UC_X86_REG_CR0, UC_X86_REG_SS, UC_X86_REG_CR0, UC_X86_REG_SS,
		       UC_X86_REG_CS, UC_X86_REG_DS, UC_X86_REG_ES, UC_X86_REG_ESP };
	void *wv[8] = { &real, &null, &cr0, &kss, &kcs, &uds, &uds, &esp };
	/*
	 * A stop hook on the user code's first instruction, removed after
	 * (which drops the block it was translated into), rather than an
	 * `until': a start with one drops translated code.
	 */
	uc_hook h;
	uc_err u = UC_ERR_HOOK;
	if (uc_reg_write_batch(f->uc, wid, wv, 8) == UC_ERR_OK &&
	    uc_hook_add(f->uc, &h, UC_HOOK_CODE, (void *)stop, NULL, ENTRYEMU_USER_CODE,
			ENTRYEMU_USER_CODE) == UC_ERR_OK) {
		u = uc_emu_start(f->uc, FLOOR_BOOT, 0, 0, 0);
		uc_hook_del(f->uc, h);
	}
	uint32_t eip = 0;
	uc_reg_read(f->uc, UC_X86_REG_EIP, &eip);
	if (u != UC_ERR_OK || eip != ENTRYEMU_USER_CODE) {
		snprintf(why, len, "cannot reach ring 3");
		return -1;
	}
	return 0;
}

/* one run from the user code; the stop hook ends it */
static uc_err run_once(struct floor *f)
{
	uint32_t esp = ENTRYEMU_USER_STACK_TOP;
	uc_reg_write(f->uc, UC_X86_REG_ESP, &esp);
	return uc_emu_start(f->uc, ENTRYEMU_USER_CODE, 0, 0, 0);
}

/* the floor's run against the library's: the same instructions, in order */
static int same_path(struct floor *f, const uint32_t *lib, size_t nlib, uint32_t end,
		     char *why, size_t len)
{
	uc_hook h;
	f->ntrace = 0;
	if (uc_hook_add(f->uc, &h, UC_HOOK_CODE, (void *)record, f, 1, 0) != UC_ERR_OK) {
		snprintf(why, len, "cannot trace the floor");
		return -1;
	}
	uc_err u = run_once(f);
	uc_hook_del(f->uc, h);
	if (u != UC_ERR_OK || f->bad_vector) {
		snprintf(why, len, "the floor's run stopped: %s",
			 f->bad_vector ? "an INT other than 0x80" : uc_strerror(u));
		return -1;
	}
	size_t n = f->ntrace;
	if (n > TRACE_MAX || n >= nlib || lib[n] != end) {
		snprintf(why, len, "the floor ran %zu instructions, the library %zu", n, nlib);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (f->trace[i] != lib[i]) {
			snprintf(why, len, "instruction %zu: the floor ran 0x%08x, the library 0x%08x",
				 i, f->trace[i], lib[i]);
			return -1;
		}
	return 0;
}

void bench_floor_code_close(struct floor *f)
{
	if (!f)
		return;
	if (f->uc)
		uc_close(f->uc);
	for (int i = 0; i < f->nbufs; i++)
		free(f->bufs[i]);
	free(f);
}

struct floor *bench_floor_code_open(entryemu *m, const uint8_t *code, size_t code_len,
				    long warmup, int served, size_t *insns, char *why,
				    size_t whylen)
{
	why[0] = 0;
	*insns = 0;
	struct floor *f = calloc(1, sizeof(*f));
	entryemu_result *r = NULL;
	int ok = 0;
	if (!f || entryemu_result_new(&r)) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	struct entryemu_setup s = { .code = code, .code_len = code_len,
				    .flags = ENTRYEMU_RUN_TRACE };
	size_t nlib = 0;
	const uint32_t *lib;
	uint32_t lo, hi;
	if (entryemu_run(m, &s, r) || !(lib = entryemu_result_trace(r, &nlib)) ||
	    entryemu_idt_get(m, 0x80, &lo, &hi)) {
		snprintf(why, whylen, "the library's traced run failed");
		goto out;
	}
	/* an interrupt (type 14) or trap (type 15) gate: selector, offset */
	f->gate_cs = (uint16_t)(lo >> 16);
	f->gate_eip = (lo & 0xffff) | (hi & 0xffff0000u);
	f->gate_clears_if = ((hi >> 8) & 0xf) == 0xe;
	f->esp0 = entryemu_esp0(m);
	f->stack_base = (f->esp0 - 1) & ~(PAGE - 1);
	f->served = served;
	uc_hook hint, hstop;
	uint32_t end = ENTRYEMU_USER_CODE + (uint32_t)code_len;
	if (uc_open(UC_ARCH_X86, UC_MODE_32, &f->uc) != UC_ERR_OK) {
		f->uc = NULL;
		snprintf(why, whylen, "uc_open failed");
		goto out;
	}
	if (copy_memory(f, m, why, whylen) || boot(f, m, why, whylen))
		goto out;
	if (uc_hook_add(f->uc, &hint, UC_HOOK_INTR, (void *)deliver, f, 1, 0) != UC_ERR_OK ||
	    uc_hook_add(f->uc, &hstop, UC_HOOK_CODE, (void *)stop, NULL, end, end) != UC_ERR_OK) {
		snprintf(why, whylen, "cannot add the floor's hooks");
		goto out;
	}
	if (same_path(f, lib, nlib, end, why, whylen))
		goto out;
	*insns = f->ntrace;
	for (long i = 0; i < warmup; i++)	/* translated once */
		run_once(f);
	ok = !f->bad_vector;
	if (!ok)
		snprintf(why, whylen, "an INT other than 0x80 was raised");
out:
	entryemu_result_free(r);
	if (!ok) {
		bench_floor_code_close(f);
		return NULL;
	}
	return f;
}

double bench_floor_code_batch(struct floor *f, long runs)
{
	double t0 = bench_now_s();
	for (long i = 0; i < runs; i++)
		run_once(f);
	double t = (bench_now_s() - t0) / (double)(runs > 0 ? runs : 1);
	return f->bad_vector ? -1 : t;
}

double bench_floor_code_us(entryemu *m, const uint8_t *code, size_t code_len, long runs,
			   int served, size_t *insns, char *why, size_t whylen)
{
	struct floor *f = bench_floor_code_open(m, code, code_len, runs / 10 + 10, served, insns,
						why, whylen);
	if (!f)
		return -1;
	double per[BENCH_BATCHES];
	long each = runs / BENCH_BATCHES > 0 ? runs / BENCH_BATCHES : 1;
	for (int b = 0; b < BENCH_BATCHES; b++)
		per[b] = bench_floor_code_batch(f, each);
	double us = bench_median(per, BENCH_BATCHES) * 1e6;
	if (f->bad_vector) {
		us = -1;
		snprintf(why, whylen, "an INT other than 0x80 was raised");
	}
	bench_floor_code_close(f);
	return us;
}
