/*
 * The lockstep.  QEMU holds the same memory and registers as the run
 * when it starts; then, at each point the run's stream reports, QEMU
 * runs on to its own next stop and the two must agree:
 *
 *   DELIVERED    QEMU stops at the handler (a breakpoint on every gate's
 *                target) or at the sysenter target: vector, the pushed
 *                frame word by word, then every register and all memory
 *   CALL_BEFORE  QEMU stops at the same callout slot: registers, memory
 *   CALL_AFTER   the callout ran once, on the library's machine, whose
 *                state was just found equal to QEMU's; what it changed
 *                (memory, %eax/%ecx/%edx, CR0) is written into QEMU, so
 *                the same C function serves both
 *   RETURN       QEMU steps each iret/sysexit of the image; landing at
 *                CPL 3 is a return: registers, memory
 *   the end      a run that finished: QEMU reaches the exit page
 *
 * After a divergence QEMU is given the library's state again, so that
 * each later point is still compared on equal footing, and every
 * divergence is reported.  Injected IRQs and NMIs are raised in QEMU
 * by an MSI write to the local APIC while QEMU is stopped at the
 * injection point, so QEMU's own interrupt logic delivers them; an
 * injected exception cannot be raised in QEMU and is taken over from
 * the library (said in entryemu_oracle_uncompared()).
 */
#define _GNU_SOURCE 1
#include "oracle/oracle.h"
#include "oracle/intlog.h"

#include <gelf.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RESUME_MS 4000		/* QEMU's longest run between two points */
#define CMD_MS 3000		/* any other gdbstub reply */
#define MAX_DIV 1024		/* kept per run; more are counted (entryemu_oracle_dropped) */
#define MAX_BPS 1024
#define MAX_STOPS 100000	/* internal stops between two points */

enum stop_kind {
	ST_HANDLER, ST_SYSENTER, ST_CALLOUT, ST_RETURN, ST_EXIT, ST_INJECT_EXC,
	ST_TIMEOUT, ST_GONE,
};

static const char *stop_name(enum stop_kind k)
{
	switch (k) {
	case ST_HANDLER: return "an event handler";
	case ST_SYSENTER: return "the sysenter target";
	case ST_CALLOUT: return "a callout";
	case ST_RETURN: return "a return to ring 3";
	case ST_EXIT: return "the exit page";
	case ST_INJECT_EXC: return "an exception injection point";
	case ST_TIMEOUT: return "nothing (QEMU ran on until the time limit)";
	case ST_GONE: return "nothing (QEMU exited: a triple fault?)";
	}
	return "?";
}

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

/* ---- recording ------------------------------------------------------------------- */

static void diverge(entryemu_oracle *o, const char *what, const char *lib, const char *qemu)
{
	o->ndiv_total++;
	if (o->ndiv >= MAX_DIV)
		return;
	struct div_rec *d = &o->div[o->ndiv++];
	snprintf(d->where, sizeof(d->where), "%s", o->where);
	snprintf(d->what, sizeof(d->what), "%s", what);
	snprintf(d->lib, sizeof(d->lib), "%s", lib);
	snprintf(d->qemu, sizeof(d->qemu), "%s", qemu);
}

static void uncompared(entryemu_oracle *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void uncompared(entryemu_oracle *o, const char *fmt, ...)
{
	if (o->uncompared[0])
		return;			/* the first reason is the one that counts */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(o->uncompared, sizeof(o->uncompared), fmt, ap);
	va_end(ap);
}

static void qemu_broken(entryemu_oracle *o, const char *what)
{
	if (o->broken)
		return;
	o->broken = 1;
	o->dead = 1;
	uncompared(o, "%s: %s", what, o->q.gw.err);
}

/* "0x1234 <sym+off>" */
static const char *sym(entryemu_oracle *o, uint32_t a, char *buf, size_t len)
{
	char s[128];
	entryemu_symbolize(o->m, a, s, sizeof(s));
	snprintf(buf, len, "0x%08x <%s>", a, s);
	return buf;
}

/* ---- QEMU state ------------------------------------------------------------------ */

/* A register write: the registers kept from the last stop are stale now. */
static int set_reg(entryemu_oracle *o, int n, uint32_t v)
{
	o->regs_valid = 0;
	return gw_write_reg(&o->q.gw, n, v);
}

static uint32_t linear_pc(const uint32_t *r)
{
	if (r[GW_EFLAGS] & ENTRYEMU_EFLAGS_VM)
		return (r[GW_CS] << 4) + (r[GW_EIP] & 0xffff);
	return r[GW_EIP];
}

static int cpl_of(const uint32_t *r)
{
	return (r[GW_EFLAGS] & ENTRYEMU_EFLAGS_VM) ? 3 : (int)(r[GW_CS] & 3);
}

static int has_bp(entryemu_oracle *o, uint32_t a)
{
	for (size_t i = 0; i < o->nbps; i++)
		if (o->bps[i] == a)
			return 1;
	return 0;
}

static int add_bp(entryemu_oracle *o, uint32_t a)
{
	if (!a || has_bp(o, a))
		return 0;
	if (o->nbps >= MAX_BPS || gw_break(&o->q.gw, a, 1))
		return -1;
	o->bps[o->nbps++] = a;
	return 0;
}

static int is_callout(entryemu_oracle *o, uint32_t a)
{
	struct image *img = &o->m->img;
	return a >= img->callouts_start && a < img->callouts_end && !((a - img->callouts_start) & 3);
}

static int is_exit_site(entryemu_oracle *o, uint32_t a)
{
	for (size_t i = 0; i < o->nexits; i++)
		if (o->exits[i] == a)
			return 1;
	return 0;
}

/* The vector whose gate leads to a, -1 if several do, -2 if none. */
static int handler_vector(entryemu_oracle *o, uint32_t a)
{
	int v = -2;
	for (int i = 0; i < 256; i++)
		if (o->handler_vec[i] == a)
			v = v == -2 ? i : -1;
	return v;
}

/*
 * Resume QEMU once: "c", or "s" to step off a breakpoint (QEMU would stop
 * at it again) or when asked.  A step can come back without having run
 * anything (QEMU answers a kick or a pending interrupt request first):
 * then it is repeated, up to a few times, so that every stop is a
 * different place or an instruction done (a "jmp ." stays put).
 */
static int resume(entryemu_oracle *o, uint32_t *r, int step, int *timed_out)
{
	char reply[256];
	uint32_t pc = linear_pc(r), before[GW_NREGS_CORE];
	int on_bp = has_bp(o, pc);
	*timed_out = 0;
	memcpy(before, r, sizeof(before));
	if (on_bp && gw_break(&o->q.gw, pc, 0))
		return -1;
	int rc = 0;
	for (int tries = 0; tries < 4; tries++) {
		rc = gw_resume(&o->q.gw, on_bp || step ? "s" : "c", RESUME_MS, reply, sizeof(reply));
		if (rc < 0 || reply[0] == 'W' || reply[0] == 'X')
			break;
		if (gw_read_core(&o->q.gw, r)) {
			rc = -1;
			break;
		}
		if (rc || !(on_bp || step) || memcmp(before, r, sizeof(before)))
			break;
	}
	if (on_bp && rc >= 0 && gw_break(&o->q.gw, pc, 1))
		return -1;
	if (rc < 0)
		return -1;
	if (reply[0] == 'W' || reply[0] == 'X') {
		snprintf(o->q.gw.err, sizeof(o->q.gw.err), "QEMU exited (%.32s)", reply);
		return -1;
	}
	*timed_out = rc == 1;
	return 0;
}

/* Inject what is due at pc (IRQ/NMI: an MSI to the local APIC). */
static int injection_point(entryemu_oracle *o, uint32_t pc)
{
	for (unsigned i = 0; i < o->ninj; i++) {
		if (o->inj[i].done || o->inj[i].at != pc || ++o->inj[i].seen < o->inj[i].want)
			continue;
		o->inj[i].done = 1;
		if (o->inj[i].kind == ENTRYEMU_INJECT_EXCEPTION)
			return 1;
		/*
		 * MSI (Intel SDM vol. 3 10.11): address 0xfee00000 with
		 * destination APIC 0; data: the vector, delivery mode fixed
		 * (000) or NMI (100), edge.
		 */
		uint32_t data = o->inj[i].kind == ENTRYEMU_INJECT_NMI ? (4u << 8) :
				(uint32_t)(0x20 + o->inj[i].vector);
		if (gw_write_mem(&o->q.gw, PH_APIC, &data, 4))
			return -1;
	}
	return 0;
}

/* Run QEMU to its next stop the run would report. */
static void run_to_stop(entryemu_oracle *o, struct qstop *st)
{
	if (o->has_pending) {
		*st = o->pending;
		o->has_pending = 0;
		return;
	}
	memset(st, 0, sizeof(*st));
	st->vector = -2;
	if (o->broken) {
		st->kind = ST_GONE;
		return;
	}
	if (o->regs_valid)
		memcpy(st->r, o->regs, sizeof(st->r));
	else if (gw_read_core(&o->q.gw, st->r))
		goto gone;
	/* the place QEMU waits at may itself be an injection point */
	if (!o->pos_counted) {
		o->pos_counted = 1;
		int inj = injection_point(o, linear_pc(st->r));
		if (inj < 0)
			goto gone;
		if (inj) {
			st->pc = linear_pc(st->r);
			st->kind = ST_INJECT_EXC;
			return;
		}
	}
	int stepped_exit = 0;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned n = 0; n < MAX_STOPS; n++) {
		int timeout;
		/* stops that lead nowhere (an iret loop) count against the same limit */
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if ((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 > RESUME_MS)
			break;
		o->regs_valid = 0;
		if (resume(o, st->r, stepped_exit || o->debug_step, &timeout))
			goto gone;
		memcpy(o->regs, st->r, sizeof(o->regs));
		o->regs_valid = 1;
		st->pc = linear_pc(st->r);
		o->pos_counted = 0;
		if (o->debug)
			fprintf(stderr, "oracle: qemu stop pc %08x cs %04x ss %04x esp %08x efl %08x%s\n",
				st->pc, st->r[GW_CS], st->r[GW_SS], st->r[GW_ESP], st->r[GW_EFLAGS],
				timeout ? " (timeout)" : "");
		if (timeout) {
			st->kind = ST_TIMEOUT;
			return;
		}
		int cpl = cpl_of(st->r);
		if (stepped_exit && cpl == 3) {
			st->kind = ST_RETURN;
			return;
		}
		stepped_exit = 0;
		if (cpl == 3 && st->pc == ENTRYEMU_USER_EXIT) {
			st->kind = ST_EXIT;
			return;
		}
		if (cpl == 0 && is_callout(o, st->pc)) {
			st->kind = ST_CALLOUT;
			return;
		}
		if (cpl == 0 && o->sysenter && st->pc == o->sysenter) {
			st->kind = ST_SYSENTER;
			return;
		}
		int v = handler_vector(o, st->pc);
		if (cpl == 0 && v != -2) {
			st->kind = ST_HANDLER;
			st->vector = v;
			return;
		}
		o->pos_counted = 0;
		int inj = injection_point(o, st->pc);
		if (inj < 0)
			goto gone;
		o->pos_counted = 1;
		if (inj) {
			st->kind = ST_INJECT_EXC;
			return;
		}
		if (is_exit_site(o, st->pc))
			stepped_exit = 1;	/* step it: where does it land? */
	}
	st->kind = ST_TIMEOUT;
	return;
gone:
	st->kind = ST_GONE;
	qemu_broken(o, "QEMU stopped answering");
}

/* ---- giving QEMU the library's state --------------------------------------- */

/* Memory: every byte that differs, written through the gdbstub (which
 * also drops QEMU's translations of code it overwrites). */
static int push_memory(entryemu_oracle *o)
{
	for (unsigned i = 0; i < o->nreg; i++) {
		const uint8_t *want = o->reg[i].host;
		uint8_t *have = o->q.mem + o->reg[i].phys;
		uint32_t n = o->reg[i].size, a = 0;
		while (a < n) {
			if (want[a] == have[a]) {
				a++;
				continue;
			}
			uint32_t b = a;
			while (b < n && (want[b] != have[b] || (b - a < 64 && b + 1 < n)))
				b++;
			if (gw_write_mem(&o->q.gw, o->reg[i].phys + a, want + a, b - a))
				return -1;
			a = b;
		}
	}
	return 0;
}

static void lib_regs(entryemu_oracle *o, uint32_t *r)
{
	struct entryemu_regs x;
	machine_read_regs(o->m, &x);
	uint32_t v[GW_NREGS_CORE] = { x.eax, x.ecx, x.edx, x.ebx, x.esp, x.ebp, x.esi, x.edi,
				      x.eip, x.eflags, x.cs, x.ss, x.ds, x.es, x.fs, x.gs };
	memcpy(r, v, sizeof(v));
}

/*
 * Registers: EFLAGS first (VM decides how a selector loads), then the
 * selectors (the gdbstub loads each descriptor from the GDT; SS's DPL
 * becomes CPL, as QEMU keeps it), then the rest.
 */
static int push_regs(entryemu_oracle *o, int at_start)
{
	uint32_t r[GW_NREGS_CORE];
	lib_regs(o, r);
	if (at_start)
		r[GW_EIP] = o->m->start;	/* the engine starts there, whatever EIP says */
	static const int order[] = { GW_EFLAGS, GW_CS, GW_SS, GW_DS, GW_ES, GW_FS, GW_GS,
				     GW_EAX, GW_ECX, GW_EDX, GW_EBX, GW_ESP, GW_EBP, GW_ESI,
				     GW_EDI, GW_EIP };
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (set_reg(o, order[i], r[order[i]]))
			return -1;
	uint32_t cr0 = machine_reg(o->m, ER_CR0) | 0x80000000u;	/* and paging */
	return set_reg(o, GW_CR0, cr0);
}

static void resync(entryemu_oracle *o)
{
	if (!o->broken && (push_memory(o) || push_regs(o, 0)))
		qemu_broken(o, "cannot give QEMU the library's state");
}

/* ---- comparing -------------------------------------------------------------- */

/* pt_regs field at byte offset off of the image's layout, or NULL. */
static const char *pt_field(const struct image_layout *l, int off)
{
	const struct { int off; const char *name; } f[] = {
		{ l->pt_ebx, "ebx" }, { l->pt_ecx, "ecx" }, { l->pt_edx, "edx" },
		{ l->pt_esi, "esi" }, { l->pt_edi, "edi" }, { l->pt_ebp, "ebp" },
		{ l->pt_eax, "eax" }, { l->pt_ds, "xds" }, { l->pt_es, "xes" },
		{ l->pt_gs, "xgs" }, { l->pt_orig_eax, "orig_eax" }, { l->pt_eip, "eip" },
		{ l->pt_cs, "xcs" }, { l->pt_eflags, "eflags" }, { l->pt_oldesp, "esp" },
		{ l->pt_oldss, "xss" },
	};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (f[i].off >= 0 && off >= f[i].off && off < f[i].off + 4)
			return f[i].name;
	return NULL;
}

/*
 * What lives at a (aligned to 4): a pt_regs field (the frame at the top
 * of the kernel stack, or the one the current callout was given), a
 * descriptor, the TSS, else the image's symbol.
 */
static void describe(entryemu_oracle *o, uint32_t a, char *buf, size_t len)
{
	const struct image_layout *l = &o->m->img.layout;
	uint32_t top = o->m->esp0 - (uint32_t)l->pt_size;
	uint32_t frames[2] = { top, o->regs_addr };
	for (int i = 0; i < 2; i++) {
		const char *f = frames[i] && a - frames[i] < (uint32_t)l->pt_size ?
				pt_field(l, (int)(a - frames[i])) : NULL;
		if (f) {
			snprintf(buf, len, "pt_regs.%s at 0x%08x", f, frames[i]);
			return;
		}
	}
	if (a - SYS_GDT < 32 * 8)
		snprintf(buf, len, "GDT entry %u", (a - SYS_GDT) / 8);
	else if (a - SYS_IDT < 256 * 8)
		snprintf(buf, len, "IDT gate %u", (a - SYS_IDT) / 8);
	else if (a - SYS_TSS < (uint32_t)l->tss_size)
		snprintf(buf, len, "TSS+0x%x", a - SYS_TSS);
	else if (a - SYS_LDT < SYS_LDT_ENTRIES * 8)
		snprintf(buf, len, "LDT entry %u", (a - SYS_LDT) / 8);
	else if (a - KSTACK_BASE < o->m->thread_size)
		snprintf(buf, len, "kernel stack, thread_info+0x%x", a - KSTACK_BASE);
	else
		entryemu_symbolize(o->m, a, buf, len);
}

static const char *const reg_names[GW_NREGS_CORE] = {
	"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi",
	"eip", "eflags", "cs", "ss", "ds", "es", "fs", "gs",
};

/* "pushed EFLAGS" + " (differ in RF only)": departures can name the bits. */
static void flag_diff(char *buf, size_t len, const char *what, uint32_t a, uint32_t b)
{
	static const char *const names[32] = {
		"CF", 0, "PF", 0, "AF", 0, "ZF", "SF", "TF", "IF", "DF", "OF", "IOPL", "IOPL",
		"NT", 0, "RF", "VM", "AC", "VIF", "VIP", "ID",
	};
	uint32_t x = a ^ b;
	int o = snprintf(buf, len, "%s (differ in", what);
	for (int i = 0; i < 32 && o > 0 && (size_t)o < len; i++)
		if (x & (1u << i) && !(i == 13 && (x & (1u << 12))))
			o += snprintf(buf + o, len - (size_t)o, " %s", names[i] ? names[i] : "reserved");
	if (o > 0 && (size_t)o < len)
		snprintf(buf + o, len - (size_t)o, " only)");
}

/*
 * Registers and all memory; each difference is a divergence.  1 if any.
 * eip/esp (if not 0) stand for the library's (at an event: where its
 * delivery went); memory in [skip_lo, skip_hi) was compared already.
 * CR0 (one more round trip) where the kernel's C code may have changed
 * it: at callouts and at the end.
 */
static int compare_state(entryemu_oracle *o, const struct qstop *st, uint32_t eip, uint32_t esp,
			 uint32_t skip_lo, uint32_t skip_hi, int with_cr0)
{
	uint32_t lib[GW_NREGS_CORE];
	lib_regs(o, lib);
	if (eip)
		lib[GW_EIP] = eip;
	if (esp)
		lib[GW_ESP] = esp;
	int differ = 0;
	char a[160], b[160];
	for (int i = 0; i < GW_NREGS_CORE; i++) {
		uint32_t mask = i >= GW_CS ? 0xffff : 0xffffffffu;
		if ((lib[i] & mask) == (st->r[i] & mask))
			continue;
		char what[96];
		snprintf(what, sizeof(what), "%s", reg_names[i]);
		if (i == GW_EFLAGS)
			flag_diff(what, sizeof(what), "eflags", lib[i], st->r[i]);
		else if (i < GW_EIP)	/* the bits, so that a departure can name them */
			snprintf(what, sizeof(what), "%s (xor 0x%08x)", reg_names[i],
				 lib[i] ^ st->r[i]);
		if (i == GW_EIP) {
			sym(o, lib[i], a, sizeof(a));
			sym(o, st->r[i], b, sizeof(b));
		} else {
			snprintf(a, sizeof(a), "0x%08x", lib[i] & mask);
			snprintf(b, sizeof(b), "0x%08x", st->r[i] & mask);
		}
		diverge(o, what, a, b);
		differ = 1;
	}
	uint32_t cr0;
	if (with_cr0 && !gw_read_reg(&o->q.gw, GW_CR0, &cr0)) {
		uint32_t mine = machine_reg(o->m, ER_CR0);
		if ((cr0 & 0xf) != (mine & 0xf)) {	/* PE MP EM TS */
			snprintf(a, sizeof(a), "0x%08x", mine);
			snprintf(b, sizeof(b), "0x%08x", cr0 & 0x7fffffffu);
			diverge(o, "cr0", a, b);
			differ = 1;
		}
	}
	for (unsigned i = 0; i < o->nreg; i++) {
		const uint8_t *x = o->reg[i].host, *y = o->q.mem + o->reg[i].phys;
		if (!memcmp(x, y, o->reg[i].size))
			continue;
		uint32_t off = 0, lin = o->reg[i].lin;
		while (off < o->reg[i].size &&
		       (x[off] == y[off] || (lin + off >= skip_lo && lin + off < skip_hi)))
			off++;
		if (off == o->reg[i].size)
			continue;
		uint32_t al = off & ~3u, lv = 0, qv = 0;
		memcpy(&lv, x + al, al + 4 <= o->reg[i].size ? 4 : 1);
		memcpy(&qv, y + al, al + 4 <= o->reg[i].size ? 4 : 1);
		char what[300], s[128];
		describe(o, o->reg[i].lin + al, s, sizeof(s));
		unsigned more = 0;
		for (uint32_t k = off; k < o->reg[i].size; k++)
			more += x[k] != y[k] && !(lin + k >= skip_lo && lin + k < skip_hi);
		snprintf(what, sizeof(what), "memory at 0x%08x <%s> (%u byte%s differ%s in this region)",
			 o->reg[i].lin + al, s, more, more == 1 ? "" : "s", more == 1 ? "s" : "");
		snprintf(a, sizeof(a), "0x%08x", lv);
		snprintf(b, sizeof(b), "0x%08x", qv);
		diverge(o, what, a, b);
		differ = 1;
	}
	o->compared++;
	return differ;
}

static void wrong_stop(entryemu_oracle *o, const char *expected, const struct qstop *st)
{
	char b[256], s[160];
	struct intlog_rec q;
	if (st->kind == ST_TIMEOUT || st->kind == ST_GONE)
		snprintf(b, sizeof(b), "%s", stop_name(st->kind));
	else if (st->kind == ST_HANDLER && intlog_last(&o->log, &q))
		/* what QEMU delivered, from its own log */
		snprintf(b, sizeof(b), "%s at %s (vector %u, error code 0x%x, from CPL %u)",
			 stop_name(st->kind), sym(o, st->pc, s, sizeof(s)), q.vector, q.error, q.cpl);
	else
		snprintf(b, sizeof(b), "%s at %s", stop_name(st->kind), sym(o, st->pc, s, sizeof(s)));
	diverge(o, "next stop", expected, b);
}

/*
 * The linear address of SS:ESP (SS's base from its descriptor, and only
 * SP on a 16-bit stack, SDM vol. 3 6.12.1), the tables read where
 * both sides hold them alike.
 */
static uint32_t stack_linear(entryemu_oracle *o, uint16_t ss, uint32_t esp, uint32_t eflags)
{
	if (eflags & ENTRYEMU_EFLAGS_VM)
		return ((uint32_t)ss << 4) + (esp & 0xffff);
	struct engine_table_reg t;
	uint32_t base;
	if (ss & 4) {
		if (engine_table(o->m->eng, ET_LDTR, &t) || !t.selector)
			return esp;
		base = t.base;
	} else {
		if (engine_table(o->m->eng, ET_GDTR, &t))
			return esp;
		base = t.base;
	}
	int ok = 1;
	uint32_t lo = machine_rd32(o->m, base + (ss & 0xfff8u), &ok);
	uint32_t hi = machine_rd32(o->m, base + (ss & 0xfff8u) + 4, &ok);
	if (!ok)
		return esp;
	uint32_t sbase = (lo >> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000u);
	return sbase + ((hi & (1u << 22)) ? esp : (esp & 0xffff));
}

/* The frame words the library pushed, and QEMU's at its own SS:ESP. */
static void compare_event(entryemu_oracle *o, const struct entryemu_event_record *e,
			  const struct qstop *st, uint32_t *lo, uint32_t *hi)
{
	*lo = *hi = 0;
	char a[160], b[160];
	if (e->vector != ENTRYEMU_EVENT_SYSENTER && st->vector >= 0 && st->vector != e->vector) {
		snprintf(a, sizeof(a), "%d", e->vector);
		snprintf(b, sizeof(b), "%d", st->vector);
		diverge(o, "vector", a, b);
	}
	if (e->vector == ENTRYEMU_EVENT_SYSENTER || e->vector == 8)
		return;		/* no frame; a task switch's is the TSS (memory) */
	int ok = 1;
	uint32_t w0 = machine_rd32(o->m, e->frame + 4 * (uint32_t)e->has_error_code + 8, &ok);
	int ring = e->from_cpl != 0, vm = (w0 & ENTRYEMU_EFLAGS_VM) != 0;
	unsigned nw = (unsigned)e->has_error_code + 3 + (ring ? 2 : 0) + (vm ? 4 : 0);
	static const char *const names[] = { "EIP", "CS", "EFLAGS", "ESP", "SS", "ES", "DS",
					     "FS", "GS" };
	uint32_t qesp = stack_linear(o, (uint16_t)st->r[GW_SS], st->r[GW_ESP], st->r[GW_EFLAGS]);
	*lo = e->frame;
	*hi = e->frame + 4 * nw;
	if (qesp != e->frame) {
		snprintf(a, sizeof(a), "0x%08x", e->frame);
		snprintf(b, sizeof(b), "0x%08x (%+d bytes%s)", qesp, (int)(e->frame - qesp),
			 (e->frame - qesp == 4 || qesp - e->frame == 4) ?
			 ": an error code pushed on one side only" : "");
		diverge(o, "stack pointer after the pushes (frame)", a, b);
	}
	/*
	 * Word by word at the library's frame, in both memories: a frame of
	 * the other size (an error code on one side only) was reported above,
	 * and the words above it still line up, since both frames end at the
	 * same top (the old stack pointer, or esp0).
	 */
	for (unsigned i = 0; i < nw; i++) {
		uint32_t lv = machine_rd32(o->m, e->frame + 4 * i, &ok);
		uint32_t ph = layout_phys(o->reg, o->nreg, e->frame + 4 * i), qv = 0;
		if (ph)
			memcpy(&qv, o->q.mem + ph, 4);
		if (lv == qv && ph)
			continue;
		const char *name = e->has_error_code && i == 0 ? "error code" :
				   names[i - (unsigned)e->has_error_code];
		char what[96];
		snprintf(what, sizeof(what), "pushed %s (xor 0x%08x)", name, lv ^ qv);
		if (!strcmp(name, "EFLAGS"))
			flag_diff(what, sizeof(what), "pushed EFLAGS", lv, qv);
		snprintf(a, sizeof(a), "0x%08x", lv);
		snprintf(b, sizeof(b), "0x%08x", qv);
		diverge(o, what, a, b);
	}
}

/* ---- the run's stream -------------------------------------------------------- */

static void point(entryemu_oracle *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void point(entryemu_oracle *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(o->where, sizeof(o->where), fmt, ap);
	va_end(ap);
}

static void snapshot_memory(entryemu_oracle *o)
{
	size_t off = 0;
	for (unsigned i = 0; i < o->nreg; i++) {
		memcpy(o->snap + off, o->reg[i].host, o->reg[i].size);
		off += o->reg[i].size;
	}
	o->snap_cr0 = machine_reg(o->m, ER_CR0);
	struct engine_table_reg t;
	o->snap_ldtr = engine_table(o->m->eng, ET_LDTR, &t) ? 0 : t.selector;
	o->snap_sysenter_cs = 0;
	engine_msr(o->m->eng, 0x174, &o->snap_sysenter_cs);
}

/* LDTR and SYSENTER_CS as the library now has them, loaded by the stub
 * (and, eoi set, the IRQ in service ended). */
static int run_service(entryemu_oracle *o, uint16_t ldtr, uint32_t sysenter_cs, uint32_t eoi)
{
	uint32_t saved[GW_NREGS_CORE];
	char reply[256];
	if (gw_read_core(&o->q.gw, saved) ||
	    gw_write_mem(&o->q.gw, PH_BOOT_BLOCK + BB_LDTR, &ldtr, 2) ||
	    gw_write_mem(&o->q.gw, PH_BOOT_BLOCK + BB_MSR174, &sysenter_cs, 4) ||
	    gw_write_mem(&o->q.gw, PH_BOOT_BLOCK + BB_EOI, &eoi, 4) ||
	    set_reg(o, GW_EIP, o->sym_service) ||
	    gw_break(&o->q.gw, o->sym_service_done, 1))
		return -1;
	int rc = gw_resume(&o->q.gw, "c", RESUME_MS, reply, sizeof(reply));
	uint32_t eip = 0;
	if (gw_break(&o->q.gw, o->sym_service_done, 0) || rc ||
	    gw_read_reg(&o->q.gw, GW_EIP, &eip) || eip != o->sym_service_done) {
		snprintf(o->q.gw.err, sizeof(o->q.gw.err), "the stub's service routine faulted "
			 "(LDTR 0x%04x, SYSENTER_CS 0x%x)", ldtr, sysenter_cs);
		return -1;
	}
	static const int gprs[] = { GW_EAX, GW_ECX, GW_EDX, GW_EIP, GW_EFLAGS };
	for (size_t i = 0; i < sizeof(gprs) / sizeof(gprs[0]); i++)
		if (set_reg(o, gprs[i], saved[gprs[i]]))
			return -1;
	return 0;
}

/* What the callout changed in memory, written into QEMU too. */
static int apply_callout(entryemu_oracle *o, uint32_t ret)
{
	size_t off = 0;
	for (unsigned i = 0; i < o->nreg; i++) {
		const uint8_t *now = o->reg[i].host, *then = o->snap + off;
		for (uint32_t a = 0; a < o->reg[i].size;) {
			if (now[a] == then[a]) {
				a++;
				continue;
			}
			uint32_t b = a;
			while (b < o->reg[i].size && now[b] != then[b])
				b++;
			if (gw_write_mem(&o->q.gw, o->reg[i].phys + a, now + a, b - a))
				return -1;
			a = b;
		}
		off += o->reg[i].size;
	}
	/* %eax = the return value; compiled C leaves %ecx/%edx clobbered */
	uint32_t clobber = 0xdeadbeefu;
	if (set_reg(o, GW_EAX, ret))
		return -1;
	if (!(o->m->setup->flags & ENTRYEMU_RUN_NO_CLOBBER) &&
	    (set_reg(o, GW_ECX, clobber) || set_reg(o, GW_EDX, clobber)))
		return -1;
	uint32_t cr0 = machine_reg(o->m, ER_CR0);
	if (cr0 != o->snap_cr0 && set_reg(o, GW_CR0, cr0 | 0x80000000u))
		return -1;
	struct engine_table_reg t;
	uint64_t cs = 0;
	uint16_t ldtr = engine_table(o->m->eng, ET_LDTR, &t) ? 0 : t.selector;
	engine_msr(o->m->eng, 0x174, &cs);
	if ((ldtr != o->snap_ldtr || cs != o->snap_sysenter_cs) &&
	    run_service(o, ldtr, (uint32_t)cs, 0))
		return -1;
	return 0;
}

/*
 * QEMU's own record of the delivery (-d int): its vector, software flag,
 * CPL and (low 16 bits of the) error code must be the library's too.
 */
static void cross_check_log(entryemu_oracle *o, const struct entryemu_event_record *e)
{
	struct intlog_rec q;
	char a[64], b[64];
	/* under KVM the CPU delivers, and QEMU's TCG log has nothing to say */
	if (e->vector == ENTRYEMU_EVENT_SYSENTER || o->q.kvm)
		return;
	if (!intlog_last(&o->log, &q)) {
		diverge(o, "QEMU's -d int log", "a delivery", "no line for it");
		return;
	}
	if ((int)q.vector != e->vector) {
		snprintf(a, sizeof(a), "%d", e->vector);
		snprintf(b, sizeof(b), "%u", q.vector);
		diverge(o, "vector in QEMU's -d int log", a, b);
	}
	if ((int)q.software != e->software) {
		snprintf(a, sizeof(a), "%d", e->software);
		snprintf(b, sizeof(b), "%u", q.software);
		diverge(o, "software interrupt (i=) in QEMU's -d int log", a, b);
	}
	if ((int)q.cpl != e->from_cpl) {
		snprintf(a, sizeof(a), "%d", e->from_cpl);
		snprintf(b, sizeof(b), "%u", q.cpl);
		diverge(o, "CPL in QEMU's -d int log", a, b);
	}
	if (e->has_error_code && q.error != (e->error_code & 0xffff)) {
		snprintf(a, sizeof(a), "0x%04x", e->error_code & 0xffff);
		snprintf(b, sizeof(b), "0x%04x", q.error);
		char what[96];
		snprintf(what, sizeof(what), "error code in QEMU's -d int log (xor 0x%08x)",
			 (e->error_code & 0xffff) ^ q.error);
		diverge(o, what, a, b);
	}
}

/* The library's pushed EIP, CS, EFLAGS against QEMU's registers before the event. */
static void compare_boundary(entryemu_oracle *o, const struct entryemu_event_record *e,
			     const struct qstop *st)
{
	static const char *const names[] = { "EIP", "CS", "EFLAGS" };
	static const int regs[] = { GW_EIP, GW_CS, GW_EFLAGS };
	uint32_t base = e->frame + 4 * (uint32_t)e->has_error_code;
	o->compared++;
	for (int i = 0; i < 3; i++) {
		int ok = 1;
		uint32_t lv = machine_rd32(o->m, base + 4 * (uint32_t)i, &ok);
		uint32_t qv = st->r[regs[i]];
		if (i == 2)	/* RF: set in a fault's image (SDM vol. 3A 17.3.1.1) */
			lv &= ~ENTRYEMU_EFLAGS_RF, qv &= ~ENTRYEMU_EFLAGS_RF;
		if (!ok || lv == qv)
			continue;
		char what[96], a[32], b[32];
		snprintf(what, sizeof(what), "pushed %s against QEMU's %s at the injection point",
			 names[i], names[i]);
		snprintf(a, sizeof(a), "0x%08x", lv);
		snprintf(b, sizeof(b), "0x%08x", qv);
		diverge(o, what, a, b);
	}
}

/* QEMU stopped at a handler whose frame says it interrupted the sysenter target. */
static int sysenter_then_event(entryemu_oracle *o, const struct qstop *st)
{
	uint32_t ph = layout_phys(o->reg, o->nreg, st->r[GW_ESP]);
	uint32_t eip = 0, cs = 0;
	if (!ph || !o->sysenter)
		return 0;
	memcpy(&eip, o->q.mem + ph, 4);
	memcpy(&cs, o->q.mem + ph + 4, 4);
	return eip == o->sysenter && (cs & 0xffff) == ENTRYEMU_KERNEL_CS;
}

static void observe(void *ctx, const struct run_event *ev)
{
	entryemu_oracle *o = ctx;
	if (o->broken)
		return;
	struct qstop st;
	char s[160];
	switch (ev->kind) {
	case RUN_EV_DELIVERED: {
		const struct entryemu_event_record *e = &ev->u.delivered.rec;
		o->nev++;
		if (e->vector == ENTRYEMU_EVENT_SYSENTER)
			point(o, "event %u (sysenter at %s)", o->nev, sym(o, e->eip, s, sizeof(s)));
		else
			point(o, "event %u (vector %d at %s)", o->nev, e->vector,
			      sym(o, e->eip, s, sizeof(s)));
		run_to_stop(o, &st);
		if (st.kind == ST_INJECT_EXC) {
			/*
			 * QEMU waits at the injection point.  It cannot raise the
			 * exception itself, so the delivery is taken from the
			 * library; what can be checked is that both stand at the
			 * same boundary: the library's pushed EIP, CS and EFLAGS
			 * are QEMU's registers there.
			 */
			compare_boundary(o, e, &st);
			uncompared(o, "%s: an injected exception; QEMU cannot raise one on demand, "
				   "so its delivery was taken from the library", o->where);
			resync(o);
			return;
		}
		enum stop_kind want = e->vector == ENTRYEMU_EVENT_SYSENTER ? ST_SYSENTER : ST_HANDLER;
		if (want == ST_SYSENTER && st.kind == ST_HANDLER && sysenter_then_event(o, &st)) {
			/*
			 * A trap (TF's #DB) or an NMI at the sysenter target, before
			 * its first instruction: QEMU has no stop between the two.
			 * The sysenter is compared through that event's frame.
			 */
			o->pending = st;
			o->has_pending = 1;
			return;
		}
		if (st.kind != want) {
			char x[192];
			snprintf(x, sizeof(x), "%s at %s", stop_name(want),
				 sym(o, e->handler, s, sizeof(s)));
			wrong_stop(o, x, &st);
			resync(o);
			return;
		}
		size_t before = o->ndiv_total;
		uint32_t lo, hi;
		compare_event(o, e, &st, &lo, &hi);
		cross_check_log(o, e);
		compare_state(o, &st, e->handler, 0, lo, hi, 0);
		if (o->ndiv_total != before)
			resync(o);
		if (e->vector >= 0x20 && e->vector < 0x30 && !e->software && !o->broken) {
			/* an injected IRQ: end it in QEMU's local APIC, or it blocks the next */
			struct engine_table_reg t;
			uint64_t cs = 0;
			engine_msr(o->m->eng, 0x174, &cs);
			if (run_service(o, engine_table(o->m->eng, ET_LDTR, &t) ? 0 : t.selector,
					(uint32_t)cs, 1))
				qemu_broken(o, "cannot end the IRQ in QEMU's local APIC");
		}
		return;
	}
	case RUN_EV_CALL_BEFORE:
		o->ncall++;
		point(o, "call %u (%s)", o->ncall, ev->u.call.rec->name);
		o->regs_addr = ev->u.call.regs_addr;
		run_to_stop(o, &st);
		if (st.kind != ST_CALLOUT || st.pc != ev->u.call.rec->addr) {
			char x[192];
			snprintf(x, sizeof(x), "a callout at %s", sym(o, ev->u.call.rec->addr, s, sizeof(s)));
			wrong_stop(o, x, &st);
			resync(o);
		} else if (compare_state(o, &st, 0, 0, 0, 0, 1)) {
			resync(o);
		}
		snapshot_memory(o);
		return;
	case RUN_EV_CALL_AFTER:
		if (apply_callout(o, ev->u.call.ret))
			qemu_broken(o, "cannot give QEMU what the callout did");
		return;
	case RUN_EV_RETURN:
		o->nret++;
		point(o, "return %u to ring 3 (at %s)", o->nret, sym(o, ev->u.ret.eip, s, sizeof(s)));
		run_to_stop(o, &st);
		if (st.kind != ST_RETURN) {
			wrong_stop(o, "a return to ring 3", &st);
			resync(o);
		} else if (compare_state(o, &st, 0, 0, 0, 0, 0)) {
			resync(o);
		}
		return;
	default:
		return;
	}
}

/* ---- start and end of a run ------------------------------------------------- */

static uint32_t gate_target(entryemu_oracle *o, unsigned v)
{
	uint32_t lo, hi;
	if (entryemu_idt_get(o->m, v, &lo, &hi) || !(hi & 0x8000))
		return 0;
	unsigned type = (hi >> 8) & 0x1f;
	if (type == 0x05) {		/* task gate: the TSS's EIP */
		uint32_t glo, ghi;
		if (entryemu_gdt_get(o->m, (lo >> 19) & 31, &glo, &ghi))
			return 0;
		uint32_t base = (glo >> 16) | ((ghi & 0xff) << 16) | (ghi & 0xff000000u);
		int ok = 1;
		return machine_rd32(o->m, base + 0x20, &ok);
	}
	return (lo & 0xffff) | (hi & 0xffff0000u);
}

static int prepare_qemu(entryemu_oracle *o)
{
	struct entryemu *m = o->m;
	const struct entryemu_setup *s = m->setup;
	/* breakpoints: every gate's target, sysenter, the exit sites, injection points */
	for (unsigned v = 0; v < 256; v++) {
		o->handler_vec[v] = gate_target(o, v);
		if (add_bp(o, o->handler_vec[v]))
			return -1;
	}
	uint64_t msr = 0;
	engine_msr(m->eng, 0x176, &msr);
	o->sysenter = (uint32_t)msr;
	if (add_bp(o, o->sysenter) || add_bp(o, ENTRYEMU_USER_EXIT))
		return -1;
	/* every callout slot with a name */
	for (size_t i = 0; i < m->ncallouts; i++)
		if (m->callouts[i].name &&
		    add_bp(o, m->img.callouts_start + 4 * (uint32_t)i))
			return -1;
	o->nexits = kernel_exit_sites(m, o->exits, 32);
	if (o->nexits > 32)
		o->nexits = 32;
	for (size_t i = 0; i < o->nexits; i++)
		if (add_bp(o, o->exits[i]))
			return -1;
	o->ninj = 0;
	for (unsigned i = 0; i < s->ninjects; i++) {
		const struct entryemu_inject *in = &s->injects[i];
		if (!in->at) {
			uncompared(o, "injects[%u]: injected after %llu instructions; the oracle "
				   "injects at an address only", i, (unsigned long long)in->after);
			return 1;
		}
		o->inj[o->ninj++] = (typeof(o->inj[0])){ in->at, in->occurrence ? in->occurrence : 1,
							 0, in->kind, in->vector, 0 };
		if (add_bp(o, in->at))
			return -1;
	}
	/* the tables, back to CPL 0 in the stub: the boot block, memory, then reload */
	uint8_t bb[BB_SIZE] = { 0 };
	struct engine_table_reg t[4];
	if (engine_tables(m->eng, t))
		return -1;
	uint32_t v32 = PH_PD;
	memcpy(bb + BB_CR3, &v32, 4);
	v32 = machine_reg(m, ER_CR4);	/* OSFXSR decides #UD or #NM for SSE */
	memcpy(bb + BB_CR4, &v32, 4);
	uint16_t lim = (uint16_t)t[ET_GDTR].limit;
	memcpy(bb + BB_GDTR, &lim, 2);
	memcpy(bb + BB_GDTR + 2, &t[ET_GDTR].base, 4);
	lim = (uint16_t)t[ET_IDTR].limit;
	memcpy(bb + BB_IDTR, &lim, 2);
	memcpy(bb + BB_IDTR + 2, &t[ET_IDTR].base, 4);
	memcpy(bb + BB_LDTR, &t[ET_LDTR].selector, 2);
	memcpy(bb + BB_TR, &t[ET_TR].selector, 2);
	uint16_t kcs = ENTRYEMU_KERNEL_CS;
	memcpy(bb + BB_KCS + 4, &kcs, 2);
	v32 = ENTRYEMU_KERNEL_DS;
	memcpy(bb + BB_KDS, &v32, 4);
	for (unsigned i = 0; i < 3; i++) {
		msr = 0;
		engine_msr(m->eng, 0x174 + i, &msr);
		v32 = (uint32_t)msr;
		memcpy(bb + BB_MSR174 + 4 * i, &v32, 4);
	}
	char reply[256];
	int timeout;
	if (gw_write_mem(&o->q.gw, PH_BOOT_BLOCK, bb, sizeof(bb)) || push_memory(o) ||
	    set_reg(o, GW_EFLAGS, 0x2) || set_reg(o, GW_SS, ENTRYEMU_KERNEL_DS) ||
	    set_reg(o, GW_CS, ENTRYEMU_KERNEL_CS) ||
	    set_reg(o, GW_EIP, o->sym_reload) || gw_break(&o->q.gw, o->sym_ready, 1))
		return -1;
	timeout = gw_resume(&o->q.gw, "c", RESUME_MS, reply, sizeof(reply));
	if (gw_break(&o->q.gw, o->sym_ready, 0) || timeout) {
		if (timeout > 0)
			snprintf(o->q.gw.err, sizeof(o->q.gw.err), "the stub did not reach oracle_boot_ready");
		return -1;
	}
	uint32_t eip;
	if (gw_read_reg(&o->q.gw, GW_EIP, &eip) || eip != o->sym_ready) {
		snprintf(o->q.gw.err, sizeof(o->q.gw.err), "the stub stopped at 0x%08x, not at "
			 "oracle_boot_ready (a fault while loading the tables?)", eip);
		return -1;
	}
	return push_regs(o, 1);
}

static int start_qemu(entryemu_oracle *o, char *err, size_t len);

static void tap_start(void *ctx)
{
	entryemu_oracle *o = ctx;
	if (o->dead) {
		/* the last run left QEMU unusable: a fresh one for this run */
		char err[400];
		intlog_close(&o->log);
		qemu_stop(&o->q);
		o->nbps = 0;
		if (start_qemu(o, err, sizeof(err))) {
			o->broken = 1;
			snprintf(o->uncompared, sizeof(o->uncompared), "QEMU could not be restarted: %s", err);
			return;
		}
		o->dead = 0;
	}
	o->broken = 0;
	o->regs_valid = 0;
	o->pos_counted = 0;
	o->has_pending = 0;
	o->regs_addr = 0;
	o->nev = o->ncall = o->nret = o->compared = 0;
	o->ndiv = o->ndiv_total = 0;
	o->uncompared[0] = 0;
	point(o, "start");
	struct intlog_rec skip;
	intlog_last(&o->log, &skip);	/* what earlier runs logged */
	int rc = prepare_qemu(o);
	if (rc < 0)
		qemu_broken(o, "cannot prepare QEMU for the run");
	else if (rc > 0)
		o->broken = 1;
}

static void tap_end(void *ctx, const entryemu_result *r)
{
	entryemu_oracle *o = ctx;
	if (o->broken)
		return;
	struct qstop st;
	char s[160];
	enum entryemu_outcome out = entryemu_result_outcome(r);
	point(o, "the end (%s)", entryemu_outcome_name(out));
	if (out == ENTRYEMU_DONE) {
		run_to_stop(o, &st);
		if (st.kind != ST_EXIT) {
			wrong_stop(o, "the exit page", &st);
			return;
		}
		compare_state(o, &st, 0, 0, 0, 0, 1);
		return;
	}
	/*
	 * Killed, exited or an oops decided by a callout: QEMU waits at that
	 * callout, compared already.  Anything else ended the library's run
	 * where QEMU has no counterpart to stop at.
	 */
	if (out == ENTRYEMU_KILLED || out == ENTRYEMU_EXITED ||
	    (out == ENTRYEMU_OOPS && is_callout(o, entryemu_result_final(r)->eip)))
		return;
	uncompared(o, "the library's run ended %s at %s (%s): not compared from there",
		   entryemu_outcome_name(out), sym(o, entryemu_result_final(r)->eip, s, sizeof(s)),
		   entryemu_result_message(r));
}

/* ---- the stub --------------------------------------------------------------- */

static int stub_symbols(entryemu_oracle *o, const char *path, char *err, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, len, "%s: cannot open the oracle's boot stub", path);
		return -1;
	}
	elf_version(EV_CURRENT);
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	Elf_Scn *scn = NULL;
	while (e && (scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sy;
			if (!gelf_getsym(d, (int)i, &sy))
				continue;
			const char *n = elf_strptr(e, sh.sh_link, sy.st_name);
			if (!n)
				continue;
			if (!strcmp(n, "oracle_boot_tables"))
				o->sym_tables = (uint32_t)sy.st_value;
			else if (!strcmp(n, "oracle_reload"))
				o->sym_reload = (uint32_t)sy.st_value;
			else if (!strcmp(n, "oracle_boot_ready"))
				o->sym_ready = (uint32_t)sy.st_value;
			else if (!strcmp(n, "oracle_service"))
				o->sym_service = (uint32_t)sy.st_value;
			else if (!strcmp(n, "oracle_service_done"))
				o->sym_service_done = (uint32_t)sy.st_value;
		}
	}
	if (e)
		elf_end(e);
	close(fd);
	if (!o->sym_tables || !o->sym_reload || !o->sym_ready || !o->sym_service ||
	    !o->sym_service_done) {
		snprintf(err, len, "%s: not the oracle's boot stub (no oracle_boot_* symbols)", path);
		return -1;
	}
	return 0;
}

/* Boot the stub to oracle_boot_tables and give it its page tables. */
static int boot(entryemu_oracle *o, char *err, size_t len)
{
	struct gdbwire *g = &o->q.gw;
	char reply[GW_MAX];
	/* target.xml read: the gdbstub then answers p/P; steps let interrupts in */
	if (gw_cmd(g, "qXfer:features:read:target.xml:0,ffb", reply, sizeof(reply)) ||
	    gw_ok(g, "Qqemu.sstep=1") || gw_ok(g, "Qqemu.PhyMemMode:1") ||
	    gw_break(g, o->sym_tables, 1) ||
	    gw_resume(g, "c", 10000, reply, sizeof(reply)) || gw_break(g, o->sym_tables, 0)) {
		snprintf(err, len, "booting the oracle's stub in QEMU: %s", g->err);
		return -1;
	}
	uint32_t eip = 0;
	if (gw_read_reg(g, GW_EIP, &eip) || eip != o->sym_tables) {
		snprintf(err, len, "the oracle's stub did not reach oracle_boot_tables (EIP 0x%08x)", eip);
		return -1;
	}
	if (layout_page_tables(o->q.mem, o->reg, o->nreg)) {
		snprintf(err, len, "the machine's regions need more page tables than the stub has");
		return -1;
	}
	/* paging is off and nothing ran there yet: plain stores will do */
	for (unsigned i = 0; i < o->nreg; i++)
		memcpy(o->q.mem + o->reg[i].phys, o->reg[i].host, o->reg[i].size);
	return 0;
}

/* QEMU started, booted to the stub, its interrupt log open. */
static int start_qemu(entryemu_oracle *o, char *err, size_t len)
{
	if (qemu_start(&o->q, o->qemu_path, o->stub_path, o->kvm, CMD_MS, err, len) ||
	    boot(o, err, len))
		return -1;
	if (intlog_open(&o->log, o->q.log)) {
		snprintf(err, len, "%s: QEMU wrote no interrupt log", o->q.log);
		return -1;
	}
	return 0;
}

/* ---- public ------------------------------------------------------------------- */

int entryemu_oracle_open(entryemu_oracle **out, entryemu *m, enum entryemu_oracle_accel accel,
			 char *err, size_t errlen)
{
	char dummy[8];
	if (!err)
		err = dummy, errlen = sizeof(dummy);
	if (!out || !m) {
		snprintf(err, errlen, "entryemu_oracle_open: no handle");
		return ENTRYEMU_E_INVAL;
	}
	*out = NULL;
	if (m->tap) {
		snprintf(err, errlen, "an oracle is open on this machine already");
		return ENTRYEMU_E_INVAL;
	}
	char qemu[4096], dir[4096], stub[4200], probe[4200];
	if (!qemu_find(qemu, sizeof(qemu))) {
		snprintf(err, errlen, "qemu-system-i386 is not on PATH (tools/setup.sh installs "
			 "qemu-system-x86; ENTRYEMU_QEMU names another)");
		return ENTRYEMU_E_IO;
	}
	if (!entryemu_image_dir(dir, sizeof(dir))) {
		snprintf(err, errlen, "cannot find the image directory");
		return ENTRYEMU_E_IO;
	}
	snprintf(stub, sizeof(stub), "%s/oracle-boot.elf", dir);
	snprintf(probe, sizeof(probe), "%s/qemu-boot.elf", dir);
	entryemu_oracle *o = calloc(1, sizeof(*o));
	if (!o) {
		snprintf(err, errlen, "out of memory");
		return ENTRYEMU_E_NOMEM;
	}
	o->m = m;
	const char *dbg = getenv("ENTRYEMU_ORACLE_DEBUG");
	o->debug = dbg && *dbg;
	o->debug_step = o->debug && !strcmp(dbg, "step");
	o->q.pid = -1;
	o->q.gw.fd = -1;
	if (stub_symbols(o, stub, err, errlen))
		goto fail;
	o->nreg = layout_regions(m, o->reg, MACHINE_REGIONS);
	if (!o->nreg) {
		snprintf(err, errlen, "the machine's regions do not fit QEMU's %u MiB",
			 QEMU_RAM_SIZE >> 20);
		goto fail;
	}
	for (unsigned i = 0; i < o->nreg; i++)
		o->snap_size += o->reg[i].size;
	o->snap = malloc(o->snap_size);
	if (!o->snap) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	int kvm = 0;
	if (accel == ENTRYEMU_ORACLE_TCG)
		snprintf(o->why_not_kvm, sizeof(o->why_not_kvm), "TCG asked for");
	else
		kvm = qemu_kvm_usable(qemu, probe, o->why_not_kvm, sizeof(o->why_not_kvm));
	if (accel == ENTRYEMU_ORACLE_KVM && !kvm) {
		snprintf(err, errlen, "KVM asked for, but %s", o->why_not_kvm);
		goto fail;
	}
	snprintf(o->qemu_path, sizeof(o->qemu_path), "%s", qemu);
	snprintf(o->stub_path, sizeof(o->stub_path), "%s", stub);
	o->kvm = kvm;
	if (start_qemu(o, err, errlen))
		goto fail;
	o->tap = (struct run_tap){ tap_start, observe, tap_end, o };
	m->tap = &o->tap;
	*out = o;
	return 0;
fail:
	intlog_close(&o->log);
	qemu_stop(&o->q);
	free(o->snap);
	free(o);
	return ENTRYEMU_E_IO;
}

void entryemu_oracle_close(entryemu_oracle *o)
{
	if (!o)
		return;
	if (o->m->tap == &o->tap)
		o->m->tap = NULL;
	intlog_close(&o->log);
	qemu_stop(&o->q);
	free(o->snap);
	free(o);
}

const char *entryemu_oracle_accel_name(const entryemu_oracle *o, const char **why)
{
	if (why)
		*why = o && !o->q.kvm ? o->why_not_kvm : "";
	return o && o->q.kvm ? "kvm" : "tcg";
}

unsigned entryemu_oracle_compared(const entryemu_oracle *o)
{
	return o ? o->compared : 0;
}

size_t entryemu_oracle_ndivergences(const entryemu_oracle *o)
{
	return o ? o->ndiv : 0;
}

const struct entryemu_divergence *entryemu_oracle_divergence(const entryemu_oracle *o, size_t i)
{
	if (!o || i >= o->ndiv)
		return NULL;
	entryemu_oracle *w = (entryemu_oracle *)o;
	w->pub[i] = (struct entryemu_divergence){ o->div[i].where, o->div[i].what, o->div[i].lib,
						  o->div[i].qemu };
	return &w->pub[i];
}

size_t entryemu_oracle_dropped(const entryemu_oracle *o)
{
	return o ? o->ndiv_total - o->ndiv : 0;
}

const char *entryemu_oracle_uncompared(const entryemu_oracle *o)
{
	return o ? o->uncompared : "";
}
