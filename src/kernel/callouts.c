/*
 * Callouts: the kernel C functions the entry assembly calls, served by C
 * functions of the library or the caller.
 *
 * Each function is a 4-byte slot holding "ret" in the image's .callouts
 * section (asm/callouts.S).  A code hook limited to that section runs
 * when a slot is reached: it records the CPU state of the call, runs the
 * C function, sets %eax, clobbers %ecx and %edx as compiled C may, and
 * lets the slot's ret return to the caller.  The run hears of each call
 * before and after it, through its stream.  The slot is found from the
 * address alone, so a call through a wrong table entry reaches the wrong
 * function, as it would in the kernel.
 */
#include "kernel/kernel.h"
#include "cpu/desc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLOBBER 0xdeadbeefu	/* what a C function leaves in %ecx/%edx */

static struct callout *slot_at(struct entryemu *m, uint32_t addr)
{
	if (addr < m->img.callouts_start || addr >= m->img.callouts_end ||
	    (addr - m->img.callouts_start) & 3)
		return NULL;
	struct callout *co = &m->callouts[(addr - m->img.callouts_start) >> 2];
	return co->name ? co : NULL;
}

/*
 * "sys_call[NR]" into buf, by hand: snprintf for each of some 300
 * entries was a twentieth of an engine's set-up.
 */
static void syscall_name(char *buf, size_t len, unsigned nr)
{
	char digits[12];
	size_t nd = 0, at = 0;
	do
		digits[nd++] = (char)('0' + nr % 10);
	while ((nr /= 10) && nd < sizeof(digits));
	static const char head[] = "sys_call[";
	if (len < sizeof(head) + nd + 1) {
		if (len)
			buf[0] = 0;
		return;
	}
	memcpy(buf, head, sizeof(head) - 1);
	at = sizeof(head) - 1;
	while (nd)
		buf[at++] = digits[--nd];
	buf[at++] = ']';
	buf[at] = 0;
}

int callouts_init(struct entryemu *m)
{
	const struct image *img = &m->img;
	m->ncallouts = (img->callouts_end - img->callouts_start) / 4;
	m->callouts = calloc(m->ncallouts, sizeof(*m->callouts));
	if (!m->callouts) {
		machine_set_error(m, "out of memory");
		return ENTRYEMU_E_NOMEM;
	}
	for (size_t i = 0; i < img->nsyms; i++) {
		uint32_t a = img->syms[i].addr;
		if (a < img->callouts_start || a >= img->callouts_end || (a & 3) ||
		    !strcmp(img->syms[i].name, "__callouts_start") ||
		    !strcmp(img->syms[i].name, "sys_call_stubs"))
			continue;
		m->callouts[(a - img->callouts_start) >> 2].name = img->syms[i].name;
	}
	m->sys_stubs = image_symbol(img, "sys_call_stubs");
	if (m->sys_stubs) {
		m->nr_syscalls = (img->callouts_end - m->sys_stubs) / 4;
		m->syscall_names = calloc(m->nr_syscalls, sizeof(*m->syscall_names));
		if (!m->syscall_names) {
			machine_set_error(m, "out of memory");
			return ENTRYEMU_E_NOMEM;
		}
		for (unsigned nr = 0; nr < m->nr_syscalls; nr++) {
			struct callout *co =
				&m->callouts[(m->sys_stubs - img->callouts_start) / 4 + nr];
			syscall_name(m->syscall_names[nr], sizeof(m->syscall_names[nr]), nr);
			co->name = m->syscall_names[nr];
			co->regs = REGS_STACK;
		}
	}
	return 0;
}

unsigned entryemu_nr_syscalls(const entryemu *m)
{
	return m ? m->nr_syscalls : 0;
}

void callouts_free(struct entryemu *m)
{
	free(m->callouts);
	free(m->syscall_names);
	m->callouts = NULL;
	m->syscall_names = NULL;
}

static struct callout *find(struct entryemu *m, const char *name)
{
	for (size_t i = 0; i < m->ncallouts; i++)
		if (m->callouts[i].name && !strcmp(m->callouts[i].name, name))
			return &m->callouts[i];
	return NULL;
}

int callout_set_default(struct entryemu *m, const char *name, enum callout_regs regs,
			entryemu_callout_fn fn)
{
	struct callout *co = find(m, name);
	if (!co)
		return ENTRYEMU_E_NOENT;
	co->regs = regs;
	co->dflt = fn;
	return 0;
}

struct callout *callout_syscall(struct entryemu *m, unsigned nr)
{
	if (!m->sys_stubs || nr >= m->nr_syscalls)
		return NULL;
	return &m->callouts[(m->sys_stubs - m->img.callouts_start) / 4 + nr];
}

int entryemu_set_callout(entryemu *m, const char *name, entryemu_callout_fn fn,
			 void *opaque)
{
	if (!m || !name)
		return ENTRYEMU_E_INVAL;
	struct callout *co = find(m, name);
	if (!co) {
		machine_set_error(m, "no kernel function '%s' among the image's callouts", name);
		return ENTRYEMU_E_NOENT;
	}
	co->fn = fn;
	co->opaque = opaque;
	return 0;
}

int entryemu_set_syscall(entryemu *m, unsigned nr, entryemu_callout_fn fn, void *opaque)
{
	if (!m)
		return ENTRYEMU_E_INVAL;
	struct callout *co = callout_syscall(m, nr);
	if (!co) {
		machine_set_error(m, "syscall %u: the image's table has %u entries",
				  nr, m->nr_syscalls);
		return ENTRYEMU_E_NOENT;
	}
	co->fn = fn;
	co->opaque = opaque;
	return 0;
}

void entryemu_reset_callouts(entryemu *m)
{
	for (size_t i = 0; m && i < m->ncallouts; i++) {
		m->callouts[i].fn = NULL;
		m->callouts[i].opaque = NULL;
	}
}
/* The CPU as the call finds it. */
/*
 * The linear address of ss:esp.  The kernel's stack segment is flat, but
 * C code reached on the 32-bit espfix stack (2.6.20 on) runs with
 * SS = __ESPFIX_SS, whose base is not 0.
 */
static uint32_t stack_linear(struct entryemu *m, uint16_t ss, uint32_t esp)
{
	uint32_t lo, hi;
	struct desc d;
	if ((ss & 4) || entryemu_gdt_get(m, ss >> 3, &lo, &hi))
		return esp;
	desc_decode(lo, hi, &d);
	return d.base + esp;
}

static void snapshot(struct entryemu *m, const struct entryemu_call *c,
		     struct entryemu_callout_record *rec)
{
	int ok = 1;
	memset(rec, 0, sizeof(*rec));
	rec->name = c->co->name;
	rec->addr = c->addr;
	rec->esp = c->esp;
	rec->return_addr = machine_rd32(m, stack_linear(m, (uint16_t)c->seg[1], c->esp), &ok);
	rec->eax = c->eax;
	rec->edx = c->edx;
	rec->eflags = c->eflags;
	rec->cs = (uint16_t)c->seg[0];
	rec->ss = (uint16_t)c->seg[1];
	rec->ds = (uint16_t)c->seg[2];
	rec->es = (uint16_t)c->seg[3];
	rec->fs = (uint16_t)c->seg[4];
	rec->gs = (uint16_t)c->seg[5];
	rec->pt_regs_addr = c->regs_addr;
	rec->syscall = m->sys_stubs && c->addr >= m->sys_stubs ?
		       (int)((c->addr - m->sys_stubs) / 4) : -1;
	if (c->regs_addr)
		ptregs_read(m, c->regs_addr, &rec->regs);
}

/* What a caller's function changed, so that a run can be recorded. */
static void note_effects(struct entryemu *m, const struct entryemu_call *c,
			 const uint8_t *gdt_before, struct entryemu_callout_record *rec)
{
	rec->ret = c->ret;
	rec->ti_flags_after = machine_ti_flags(m);
	if (c->regs_addr)
		ptregs_read(m, c->regs_addr, &rec->regs_after);
	const uint8_t *now = machine_ptr(m, m->gdt, ENTRYEMU_GDT_ENTRIES * 8);
	rec->ngdt = 0;
	for (unsigned i = 0; i < ENTRYEMU_GDT_ENTRIES && rec->ngdt < 4; i++)
		if (memcmp(gdt_before + 8 * i, now + 8 * i, 8)) {
			rec->gdt[rec->ngdt].index = i;
			memcpy(&rec->gdt[rec->ngdt].lo, now + 8 * i, 4);
			memcpy(&rec->gdt[rec->ngdt].hi, now + 8 * i + 4, 4);
			rec->ngdt++;
		}
}

static void emit_call(struct entryemu *m, enum run_event_kind kind,
		      const struct entryemu_callout_record *rec, uint32_t regs_addr, uint32_t ret)
{
	struct run_event ev;		/* only the call part: the rest is not read */
	ev.kind = kind;
	ev.u.call.rec = rec;
	ev.u.call.regs_addr = regs_addr;
	ev.u.call.ret = ret;
	stream_emit(m->stream, &ev);
}

void callouts_hook(void *data, uint32_t addr, uint32_t size)
{
	struct entryemu *m = data;
	(void)size;
	if (machine_stopping(m) || inject_before_call(m, (uint32_t)addr))
		return;
	struct callout *co = slot_at(m, (uint32_t)addr);
	if (!co) {
		char sym[128];
		count_unexecuted(m, (uint32_t)addr);
		machine_stop(m, ENTRYEMU_OOPS, "jump into the padding of the callout slots at %s",
			     entryemu_symbolize(m, (uint32_t)addr, sym, sizeof(sym)));
		return;
	}
	/* counted per run: a handle's earlier runs are not this one's */
	if (co->calls_run != m->runs) {
		co->calls_run = m->runs;
		co->calls = 0;
	}
	co->calls++;
	struct entryemu_call c = { .m = m, .co = co, .addr = (uint32_t)addr };
	/* only what the call needs: each register read costs the engine a lookup */
	static const enum engine_reg ids[] = { ER_ESP, ER_EAX, ER_EDX, ER_ECX, ER_EFLAGS,
					       ER_CS, ER_SS, ER_DS, ER_ES, ER_FS, ER_GS };
	uint32_t v[11];
	engine_regs(m->eng, ids, v, 11);
	c.esp = v[0], c.eax = v[1], c.edx = v[2], c.ecx = v[3], c.eflags = v[4];
	memcpy(c.seg, v + 5, sizeof(c.seg));
	c.ret = c.eax;
	c.regs_addr = co->regs == REGS_EAX ? c.eax :
		      co->regs == REGS_STACK ? c.esp + 4 : 0;
	struct entryemu_callout_record rec;
	snapshot(m, &c, &rec);
	uint64_t t0 = prof_now(m);
	emit_call(m, RUN_EV_CALL_BEFORE, &rec, c.regs_addr, c.eax);
	PROF_ADD(m, check_ns, t0);
	entryemu_callout_fn fn = co->fn ? co->fn : co->dflt;
	if (!fn) {
		count_unexecuted(m, (uint32_t)addr);
		machine_stop(m, ENTRYEMU_OOPS, "the entry code called %s, which has no callout",
			     co->name);
		return;
	}
	/* a caller's function: note what it does, so a run can be recorded */
	uint8_t gdt_before[ENTRYEMU_GDT_ENTRIES * 8];
	if (co->fn) {
		rec.custom = 1;
		rec.ti_flags_before = machine_ti_flags(m);
		memcpy(gdt_before, machine_ptr(m, m->gdt, sizeof(gdt_before)), sizeof(gdt_before));
	}
	t0 = prof_now(m);
	fn(&c, co->fn ? co->opaque : NULL);
	PROF_ADD(m, callout_ns, t0);
	if (co->fn)
		note_effects(m, &c, gdt_before, &rec);
	if (machine_stopping(m)) {
		count_unexecuted(m, (uint32_t)addr);
		rec.ret = c.ret;
		if (rec.custom)		/* what it did still counts */
			emit_call(m, RUN_EV_CALL_AFTER, &rec, c.regs_addr, c.ret);
		return;
	}
	t0 = prof_now(m);
	rec.ret = c.ret;		/* what %eax gets, whoever served it */
	emit_call(m, RUN_EV_CALL_AFTER, &rec, c.regs_addr, c.ret);
	PROF_ADD(m, check_ns, t0);
	static const enum engine_reg out[] = { ER_EAX, ER_ECX, ER_EDX };
	uint32_t vals[3] = { c.ret, CLOBBER, CLOBBER };
	engine_set_regs(m->eng, out, vals, (m->setup->flags & ENTRYEMU_RUN_NO_CLOBBER) ? 1 : 3);
}

/* ---- the accessors a callout uses ------------------------------------------ */

entryemu *entryemu_call_machine(entryemu_call *c) { return c ? c->m : NULL; }
const char *entryemu_call_name(const entryemu_call *c) { return c ? c->co->name : ""; }

unsigned entryemu_call_occurrence(const entryemu_call *c) { return c ? c->co->calls : 0; }

uint32_t entryemu_call_reg(entryemu_call *c, enum entryemu_reg reg)
{
	static const int map[] = {
		ER_EAX, ER_EBX, ER_ECX, ER_EDX,
		ER_ESI, ER_EDI, ER_EBP, ER_ESP,
	};
	if (!c || (unsigned)reg >= sizeof(map) / sizeof(map[0]))
		return 0;
	return machine_reg(c->m, map[reg]);
}

uint32_t entryemu_call_stack_arg(entryemu_call *c, unsigned n)
{
	int ok = 1;
	return c ? machine_rd32(c->m, c->esp + 4 + 4 * n, &ok) : 0;
}

uint32_t entryemu_call_pt_regs_addr(const entryemu_call *c) { return c ? c->regs_addr : 0; }

int entryemu_call_read_pt_regs(entryemu_call *c, struct entryemu_pt_regs *out)
{
	if (!c || !out || !c->regs_addr)
		return ENTRYEMU_E_INVAL;
	ptregs_read(c->m, c->regs_addr, out);
	return 0;
}

int entryemu_call_write_pt_regs(entryemu_call *c, const struct entryemu_pt_regs *regs)
{
	if (!c || !regs || !c->regs_addr)
		return ENTRYEMU_E_INVAL;
	ptregs_write(c->m, c->regs_addr, regs);
	return 0;
}

void entryemu_call_return(entryemu_call *c, uint32_t eax)
{
	if (c)
		c->ret = eax;
}

void entryemu_call_default(entryemu_call *c)
{
	if (c && c->co->dflt)
		c->co->dflt(c, NULL);
}

void entryemu_call_kill(entryemu_call *c, int sig)
{
	if (!c || machine_stopping(c->m))
		return;
	c->m->halt->signal = sig;
	machine_stop(c->m, ENTRYEMU_KILLED, "task killed by signal %d in %s",
		     sig, c->co->name);
}

void entryemu_call_oops(entryemu_call *c, const char *why)
{
	if (!c || machine_stopping(c->m))
		return;
	/* like die(): report the context the handler was given */
	c->m->halt->oops_regs = c->regs_addr;
	machine_stop(c->m, ENTRYEMU_OOPS, "%s: %s", c->co->name, why ? why : "oops");
}

int entryemu_call_fixup_exception(entryemu_call *c, uint32_t regs_addr, int vector,
				  uint32_t error_code)
{
	if (!c)
		return 0;
	struct entryemu *m = c->m;
	struct entryemu_pt_regs regs;
	ptregs_read(m, regs_addr, &regs);
	const struct extable_entry *e = image_extable_find(&m->img, regs.eip);
	if (!e)
		return 0;
	regs.eip = e->fixup;
	ptregs_write(m, regs_addr, &regs);
	struct run_event ev = { .kind = RUN_EV_FIXUP };
	ev.u.fixup = (struct entryemu_fixup_record){ e->insn, e->fixup, vector, error_code };
	stream_emit(m->stream, &ev);
	return 1;
}
