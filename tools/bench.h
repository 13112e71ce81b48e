/* What the parts of entryemu bench share. */
#ifndef ENTRYEMU_BENCH_H
#define ENTRYEMU_BENCH_H

#include <entryemu/entryemu.h>

#include <stddef.h>
#include <stdint.h>

/* Each figure is the median of this many batches: a host that steals
 * the CPU now and then moves a mean, not a median. */
#define BENCH_BATCHES 21

/* The median of n values; sorts them in place. */
double bench_median(double *t, int n);

/* The monotonic clock, in seconds. */
double bench_now_s(void);

/*
 * uc_mmio_map callbacks serving a 4 KiB page of host bytes (data), as
 * the library serves the kernel stack's top page: accesses of at most 8
 * bytes within it.
 */
struct uc_struct;
uint64_t bench_served_read(struct uc_struct *uc, uint64_t off, unsigned size, void *data);
void bench_served_write(struct uc_struct *uc, uint64_t off, unsigned size, uint64_t v,
			void *data);

/* bench_floor.c: plain Unicorn on a straight line of insns instructions,
 * stores of them pushes; microseconds per run, or -1. */
double bench_floor_us(unsigned insns, unsigned stores, long runs, int served);

/* bench_floor_code.c: plain Unicorn running the instructions of a warm
 * run of code on m (insns of them, checked against the library's trace),
 * with one hook delivering its int $0x80 and one stop hook, the ring-0
 * stack's top page in RAM or, with served, served as the library serves
 * it; microseconds per run, or -1 with why. */
double bench_floor_code_us(entryemu *m, const uint8_t *code, size_t code_len, long runs,
			   int served, size_t *insns, char *why, size_t whylen);
/* The same in parts, to time it in turn with something else: the floor
 * made, checked and run warmup times (NULL with why); seconds per run of
 * a batch of runs (-1: a run went wrong); the floor gone. */
struct floor;
struct floor *bench_floor_code_open(entryemu *m, const uint8_t *code, size_t code_len,
				    long warmup, int served, size_t *insns, char *why,
				    size_t whylen);
double bench_floor_code_batch(struct floor *f, long runs);
void bench_floor_code_close(struct floor *f);

/* bench_qemu.c: the median wall time of booting kernel (a multiboot ELF
 * that makes one ring-3 int $0x80 round trip) in qemu-system-i386, in
 * ms; -1 when QEMU is not installed or the boot fails (why says which). */
double bench_qemu_boot_ms(const char *kernel, int n, char *why, size_t len);

#endif
