/*
 * QEMU run to its next stop the run would report: resumed off the
 * breakpoint it stands on, stepped through each iret/sysexit of the
 * image to see where it lands, an injected IRQ or NMI raised where it
 * is due, and every stop classified (handler, sysenter target, callout,
 * return to ring 3, exit page), within a time limit.
 */
#define _GNU_SOURCE 1
#include "oracle/oracle.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *oracle_stop_name(enum stop_kind k)
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

/* ---- QEMU state ------------------------------------------------------------------ */

/* A register write: the registers kept from the last stop are stale now. */
int oracle_set_reg(entryemu_oracle *o, int n, uint32_t v)
{
	o->regs_valid = 0;
	return gw_write_reg(&o->q.gw, n, v);
}

/*
 * CS's base, for the linear address QEMU's breakpoints and the library's
 * addresses name.  The gdbstub gives the selector only, so the base is
 * read from the descriptor in QEMU's memory (the table the run started
 * with); a descriptor rewritten after CS was loaded would mislead it,
 * which no bundled scenario does.
 */
static uint32_t cs_base(entryemu_oracle *o, uint32_t sel)
{
	const typeof(o->gdt) *t = sel & 4 ? &o->ldt : &o->gdt;
	uint32_t off = sel & ~7u, d[2];
	if (sel < 4 || off + 7 > t->limit)
		return 0;
	uint32_t lo = layout_phys(o->reg, o->nreg, t->base + off);
	uint32_t hi = layout_phys(o->reg, o->nreg, t->base + off + 7);
	if (!lo || hi != lo + 7)
		return 0;
	memcpy(d, o->q.mem + lo, 8);
	return (d[0] >> 16) | (d[1] & 0xffu) << 16 | (d[1] & 0xff000000u);
}

static uint32_t linear_pc(entryemu_oracle *o, const uint32_t *r)
{
	if (r[GW_EFLAGS] & ENTRYEMU_EFLAGS_VM)
		return (r[GW_CS] << 4) + (r[GW_EIP] & 0xffff);
	return cs_base(o, r[GW_CS]) + r[GW_EIP];
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

int oracle_add_bp(entryemu_oracle *o, uint32_t a)
{
	if (!a || has_bp(o, a))
		return 0;
	if (o->nbps >= MAX_BPS || gw_break(&o->q.gw, a, 1))
		return -1;
	o->bps[o->nbps++] = a;
	return 0;
}

int oracle_is_callout(entryemu_oracle *o, uint32_t a)
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
	uint32_t pc = linear_pc(o, r), before[GW_NREGS_CORE];
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

/*
 * Inject what is due at pc (IRQ/NMI: an MSI to the local APIC): 1 for
 * an exception (the library raises it), else INJ_NMI and INJ_IRQ for the
 * MSIs that went out (0: nothing was due), -1 when QEMU did not answer.
 */
#define INJ_NMI 2
#define INJ_IRQ 4
static int injection_point(entryemu_oracle *o, uint32_t pc)
{
	int sent = 0;
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
		sent |= o->inj[i].kind == ENTRYEMU_INJECT_NMI ? INJ_NMI : INJ_IRQ;
	}
	return sent;
}

/* Run QEMU to its next stop the run would report. */
void oracle_run_to_stop(entryemu_oracle *o, struct qstop *st)
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
		int inj = injection_point(o, linear_pc(o, st->r));
		if (inj < 0)
			goto gone;
		if (inj == 1) {
			st->pc = linear_pc(o, st->r);
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
		st->pc = linear_pc(o, st->r);
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
		if (cpl == 0 && oracle_is_callout(o, st->pc)) {
			/*
			 * An event due before the C function comes first, as
			 * in the library (cpu/inject.c): an NMI, or an IRQ
			 * with IF = 1, is taken at the next step instead of
			 * the slot's ret.  A masked IRQ stays pending in the
			 * local APIC while the function runs.  (Left out: an
			 * NMI due while QEMU still blocks NMIs.)
			 */
			o->pos_counted = 1;
			int inj = injection_point(o, st->pc);
			if (inj < 0)
				goto gone;
			if (inj == 1) {
				st->kind = ST_INJECT_EXC;
				return;
			}
			int irq_taken = (inj & INJ_IRQ) && (st->r[GW_EFLAGS] & ENTRYEMU_EFLAGS_IF);
			if ((inj & INJ_NMI) || irq_taken)
				continue;
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
		if (inj == 1) {
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
	oracle_broken(o, "QEMU stopped answering");
}
