/*
 * The two sides compared, each difference recorded with both values:
 * registers, CR0, all memory (named: a pt_regs field, a descriptor, a
 * symbol), the frame an event pushed word by word, QEMU's -d int line,
 * and where QEMU stopped when it was not where the run went.
 */
#define _GNU_SOURCE 1
#include "oracle/oracle.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- recording ------------------------------------------------------------------- */

void oracle_diverge(entryemu_oracle *o, const char *what, const char *lib, const char *qemu)
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

void oracle_uncompared(entryemu_oracle *o, const char *fmt, ...)
{
	if (o->uncompared[0])
		return;			/* the first reason is the one that counts */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(o->uncompared, sizeof(o->uncompared), fmt, ap);
	va_end(ap);
}

void oracle_broken(entryemu_oracle *o, const char *what)
{
	if (o->broken)
		return;
	o->broken = 1;
	o->dead = 1;
	oracle_uncompared(o, "%s: %s", what, o->q.gw.err);
}

/* "0x1234 <sym+off>" */
const char *oracle_sym(entryemu_oracle *o, uint32_t a, char *buf, size_t len)
{
	char s[128];
	entryemu_symbolize(o->m, a, s, sizeof(s));
	snprintf(buf, len, "0x%08x <%s>", a, s);
	return buf;
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
int oracle_compare_state(entryemu_oracle *o, const struct qstop *st, uint32_t eip, uint32_t esp,
			 uint32_t skip_lo, uint32_t skip_hi, int with_cr0)
{
	uint32_t lib[GW_NREGS_CORE];
	oracle_lib_regs(o, lib);
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
			oracle_sym(o, lib[i], a, sizeof(a));
			oracle_sym(o, st->r[i], b, sizeof(b));
		} else {
			snprintf(a, sizeof(a), "0x%08x", lib[i] & mask);
			snprintf(b, sizeof(b), "0x%08x", st->r[i] & mask);
		}
		oracle_diverge(o, what, a, b);
		differ = 1;
	}
	uint32_t cr0;
	if (with_cr0 && !gw_read_reg(&o->q.gw, GW_CR0, &cr0)) {
		uint32_t mine = machine_reg(o->m, ER_CR0);
		if ((cr0 & 0xf) != (mine & 0xf)) {	/* PE MP EM TS */
			snprintf(a, sizeof(a), "0x%08x", mine);
			snprintf(b, sizeof(b), "0x%08x", cr0 & 0x7fffffffu);
			oracle_diverge(o, "cr0", a, b);
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
		oracle_diverge(o, what, a, b);
		differ = 1;
	}
	o->compared++;
	return differ;
}

void oracle_wrong_stop(entryemu_oracle *o, const char *expected, const struct qstop *st)
{
	char b[256], s[160];
	struct intlog_rec q;
	if (st->kind == ST_TIMEOUT || st->kind == ST_GONE)
		snprintf(b, sizeof(b), "%s", oracle_stop_name(st->kind));
	else if (st->kind == ST_HANDLER && intlog_last(&o->log, &q))
		/* what QEMU delivered, from its own log */
		snprintf(b, sizeof(b), "%s at %s (vector %u, error code 0x%x, from CPL %u)",
			 oracle_stop_name(st->kind), oracle_sym(o, st->pc, s, sizeof(s)), q.vector, q.error, q.cpl);
	else
		snprintf(b, sizeof(b), "%s at %s", oracle_stop_name(st->kind), oracle_sym(o, st->pc, s, sizeof(s)));
	oracle_diverge(o, "next stop", expected, b);
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
void oracle_compare_event(entryemu_oracle *o, const struct entryemu_event_record *e,
			  const struct qstop *st, uint32_t *lo, uint32_t *hi)
{
	*lo = *hi = 0;
	char a[160], b[160];
	if (e->vector != ENTRYEMU_EVENT_SYSENTER && st->vector >= 0 && st->vector != e->vector) {
		snprintf(a, sizeof(a), "%d", e->vector);
		snprintf(b, sizeof(b), "%d", st->vector);
		oracle_diverge(o, "vector", a, b);
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
		oracle_diverge(o, "stack pointer after the pushes (frame)", a, b);
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
		oracle_diverge(o, what, a, b);
	}
}

/*
 * QEMU's own record of the delivery (-d int): its vector, software flag,
 * CPL and (low 16 bits of the) error code must be the library's too.
 */
void oracle_cross_check_log(entryemu_oracle *o, const struct entryemu_event_record *e)
{
	struct intlog_rec q;
	char a[64], b[64];
	/* under KVM the CPU delivers, and QEMU's TCG log has nothing to say */
	if (e->vector == ENTRYEMU_EVENT_SYSENTER || o->q.kvm)
		return;
	if (!intlog_last(&o->log, &q)) {
		oracle_diverge(o, "QEMU's -d int log", "a delivery", "no line for it");
		return;
	}
	if ((int)q.vector != e->vector) {
		snprintf(a, sizeof(a), "%d", e->vector);
		snprintf(b, sizeof(b), "%u", q.vector);
		oracle_diverge(o, "vector in QEMU's -d int log", a, b);
	}
	if ((int)q.software != e->software) {
		snprintf(a, sizeof(a), "%d", e->software);
		snprintf(b, sizeof(b), "%u", q.software);
		oracle_diverge(o, "software interrupt (i=) in QEMU's -d int log", a, b);
	}
	if ((int)q.cpl != e->from_cpl) {
		snprintf(a, sizeof(a), "%d", e->from_cpl);
		snprintf(b, sizeof(b), "%u", q.cpl);
		oracle_diverge(o, "CPL in QEMU's -d int log", a, b);
	}
	if (e->has_error_code && q.error != (e->error_code & 0xffff)) {
		snprintf(a, sizeof(a), "0x%04x", e->error_code & 0xffff);
		snprintf(b, sizeof(b), "0x%04x", q.error);
		char what[96];
		snprintf(what, sizeof(what), "error code in QEMU's -d int log (xor 0x%08x)",
			 (e->error_code & 0xffff) ^ q.error);
		oracle_diverge(o, what, a, b);
	}
}

/* The library's pushed EIP, CS, EFLAGS against QEMU's registers before the event. */
void oracle_compare_boundary(entryemu_oracle *o, const struct entryemu_event_record *e,
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
		oracle_diverge(o, what, a, b);
	}
}
