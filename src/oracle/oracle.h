/*
 * The oracle layer: a run of the library, repeated on qemu-system-i386
 * in lockstep and compared at every point the run's stream reports.
 *
 *   layout.c   where the machine's regions sit in QEMU's physical memory,
 *              the page tables that put them at their linear addresses,
 *              the boot block the stub (asm/oracle-boot.S) loads
 *   qemu.c     the QEMU process; gdbwire.c its gdbstub
 *   stops.c    QEMU run to its next stop: breakpoints, steps, injections
 *   sync.c     the library's memory, registers and callout effects into QEMU
 *   compare.c  the two sides compared; each difference recorded
 *   intlog.c   QEMU's -d int log, the cross-check of each delivery
 *   oracle.c   the lockstep: QEMU runs to its next stop at each event of
 *              the run, and the two sides are compared there
 */
#ifndef ENTRYEMU_ORACLE_ORACLE_H
#define ENTRYEMU_ORACLE_ORACLE_H

#include <entryemu/oracle.h>

#include "cpu/cpu.h"
#include "kernel/kernel.h"
#include "oracle/intlog.h"
#include "oracle/qemu.h"

/* Physical memory of the QEMU guest (asm/oracle-boot.S uses the first). */
#define PH_BOOT_BLOCK	0x180000u
#define PH_STUB_LO	0x100000u	/* identity-mapped, supervisor only */
#define PH_STUB_HI	0x200000u
#define PH_PD		0x200000u	/* page directory, then page tables */
#define PH_PT		0x201000u
#define PH_PT_MAX	64u
#define PH_REGIONS	0x400000u	/* the machine's regions, page by page */
#define PH_FILL		0x3c00000u	/* 4 MiB behind kernel space nothing backs */
#define PH_APIC		0xfee00000u	/* local APIC (mapped for the stub) */

/* Boot block offsets (asm/oracle-boot.S BB_*). */
enum {
	BB_CR3 = 0, BB_CR4 = 4, BB_GDTR = 8, BB_IDTR = 16, BB_LDTR = 24, BB_TR = 28,
	BB_KCS = 32, BB_KDS = 40, BB_MSR174 = 44, BB_MSR175 = 48, BB_MSR176 = 52,
	BB_EOI = 56, BB_SIZE = 60,
};

struct oregion {
	uint32_t lin, size, phys;	/* linear range and where QEMU has it */
	const uint8_t *host;		/* the library's copy */
	uint32_t rights;		/* P, R/W, U/S as the library's page tables give */
};

/* layout.c */
unsigned layout_regions(struct entryemu *m, struct oregion *out, unsigned max);
/*
 * The page directory and tables for the regions, written into mem, with
 * the library's rights; and kernel space that no region backs mapped to
 * PH_FILL, supervisor only, so that a user access there is a protection
 * fault (P = 1), as in the library, whose tables map all of it.
 */
int layout_page_tables(uint8_t *mem, const struct oregion *r, unsigned n);
/*
 * The page of linear lin in the tables layout_page_tables() wrote, with
 * the rights given (not present without P); -1 if they have no page
 * table for it.
 */
int layout_set_rights(uint8_t *mem, const struct oregion *r, unsigned n, uint32_t lin,
		      uint32_t rights);
/* Physical address of linear lin, or 0 if no region holds it. */
uint32_t layout_phys(const struct oregion *r, unsigned n, uint32_t lin);

#define RESUME_MS 4000		/* QEMU's longest run between two points */
#define CMD_MS 3000		/* any other gdbstub reply */
#define MAX_DIV 1024		/* kept per run; more are counted (entryemu_oracle_dropped) */
#define MAX_BPS 1024
#define MAX_STOPS 100000	/* internal stops between two points */

enum stop_kind {
	ST_HANDLER, ST_SYSENTER, ST_CALLOUT, ST_RETURN, ST_EXIT, ST_INJECT_EXC,
	ST_TIMEOUT, ST_GONE,
};

struct qstop {
	enum stop_kind kind;
	uint32_t r[GW_NREGS_CORE];
	uint32_t pc;			/* linear */
	int vector;			/* ST_HANDLER: from the gates, -1 if shared */
};

struct div_rec {
	char where[160], what[300], lib[256], qemu[256];
};

struct entryemu_oracle {
	struct entryemu *m;
	struct qemu q;
	char why_not_kvm[256];
	uint32_t sym_tables, sym_reload, sym_ready, sym_service, sym_service_done;
	struct oregion reg[MACHINE_REGIONS];
	unsigned nreg;
	uint8_t *snap;			/* the library's memory at CALL_BEFORE */
	size_t snap_size;
	uint32_t snap_cr0;
	uint16_t snap_ldtr;
	struct { uint32_t base, limit; } gdt, ldt;	/* as the run starts: code segments' bases */
	int lib_eip_set;		/* the library's EIP at this point is lib_eip: */
	uint32_t lib_eip;		/* its engine reports CS base + EIP in a hook */
	uint64_t snap_sysenter_cs;
	struct run_tap tap;
	uint32_t bps[MAX_BPS];
	size_t nbps;
	/* per run */
	int broken;			/* QEMU unusable: compare nothing more */
	uint32_t handler_vec[256];	/* gate targets, by vector (0: none) */
	uint32_t sysenter;
	uint32_t exits[32];
	size_t nexits;
	struct { uint32_t at; unsigned want, seen; int kind, vector; int done; } inj[RUN_MAX_INJECTS];
	unsigned ninj;
	int pos_counted;		/* injections counted where QEMU waits */
	int has_pending;		/* a stop reached early, for the next point */
	uint32_t regs_addr;		/* pt_regs of the current callout, 0 if none */
	uint32_t regs[GW_NREGS_CORE];	/* QEMU's registers at its last stop */
	int regs_valid;			/* and nothing written since */
	int dead;			/* QEMU failed: start another before the next run */
	char qemu_path[4096], stub_path[4200];
	int kvm;
	struct intlog log;		/* QEMU's -d int, the cross-check */
	struct qstop pending;
	int debug, debug_step;		/* $ENTRYEMU_ORACLE_DEBUG: each stop on stderr; =step: step all */
	unsigned nev, ncall, nret, compared;
	char where[160];
	struct div_rec div[MAX_DIV];
	struct entryemu_divergence pub[MAX_DIV];
	size_t ndiv, ndiv_total;
	char uncompared[512];
};

/* compare.c: recording and comparing */
void oracle_diverge(entryemu_oracle *o, const char *what, const char *lib, const char *qemu);
void oracle_uncompared(entryemu_oracle *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void oracle_broken(entryemu_oracle *o, const char *what);
const char *oracle_sym(entryemu_oracle *o, uint32_t a, char *buf, size_t len);
int oracle_compare_state(entryemu_oracle *o, const struct qstop *st, uint32_t eip, uint32_t esp,
			 uint32_t skip_lo, uint32_t skip_hi, int with_cr0);
void oracle_wrong_stop(entryemu_oracle *o, const char *expected, const struct qstop *st);
void oracle_compare_event(entryemu_oracle *o, const struct entryemu_event_record *e,
			  const struct qstop *st, uint32_t *lo, uint32_t *hi);
void oracle_cross_check_log(entryemu_oracle *o, const struct entryemu_event_record *e);
void oracle_compare_boundary(entryemu_oracle *o, const struct entryemu_event_record *e,
			     const struct qstop *st);

/* stops.c: QEMU run to its next stop */
const char *oracle_stop_name(enum stop_kind k);
int oracle_set_reg(entryemu_oracle *o, int n, uint32_t v);
int oracle_add_bp(entryemu_oracle *o, uint32_t a);
int oracle_is_callout(entryemu_oracle *o, uint32_t a);
void oracle_run_to_stop(entryemu_oracle *o, struct qstop *st);

/* sync.c: the library's state into QEMU */
void oracle_lib_regs(entryemu_oracle *o, uint32_t *r);
int oracle_push_memory(entryemu_oracle *o);
int oracle_push_regs(entryemu_oracle *o, int at_start);
void oracle_resync(entryemu_oracle *o);
void oracle_snapshot(entryemu_oracle *o);
int oracle_run_service(entryemu_oracle *o, uint16_t ldtr, uint32_t sysenter_cs, uint32_t eoi);
int oracle_apply_callout(entryemu_oracle *o, uint32_t ret);

#endif
