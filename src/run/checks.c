/*
 * Checkers: invariants of the entry path, watched on every run.
 *
 * The library delivered every event itself, so it knows what the CPU
 * had when the kernel was entered; from that it can tell whether the
 * entry code saved it (pt_regs), whether C code ran in the state the
 * kernel promises it (segments), whether the user got back what it had
 * (return), whether the kernel stack came back to where the entry found
 * it (stack), and whether the image's exception table is sane (extable).
 * All of it comes from the run's events and the checkers' own state of
 * the current entry: a run of any length is judged entry by entry.
 */
#include "run/checks.h"
#include "run/result.h"
#include "cpu/fault.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *entryemu_check_name(enum entryemu_check c)
{
	switch (c) {
	case ENTRYEMU_CHECK_PTREGS: return "ptregs";
	case ENTRYEMU_CHECK_SEGMENTS: return "segments";
	case ENTRYEMU_CHECK_RETURN: return "return";
	case ENTRYEMU_CHECK_EXTABLE: return "extable";
	case ENTRYEMU_CHECK_STACK: return "stack";
	case ENTRYEMU_CHECK_DF: return "df";
	case ENTRYEMU_CHECK_IRQS_OFF: return "irqs_off";
	case ENTRYEMU_CHECK_SLOTS: return "slots";
	case ENTRYEMU_CHECK_CFI: return "cfi";
	case ENTRYEMU_CHECK_LOCKDEP: return "lockdep";
	case ENTRYEMU_CHECK_UACCESS: return "uaccess";
	case ENTRYEMU_CHECK_BOUNDS: return "bounds";
	default: return "?";
	}
}

static int on(const struct checks *k, enum entryemu_check c)
{
	return !(k->off & c);
}

/*
 * " name hhhh" for each register, in lower-case hex of `digits' digits.
 * By hand, not snprintf: a run of a scenario that expects findings (the
 * seed's kernel has three on its %gs paths) spent a fifth of its time
 * formatting these fifteen fields.
 */
static char *put_regs(char *p, const struct entryemu_regs *g)
{
	static const char hex[] = "0123456789abcdef";
	const struct { const char *name; uint32_t v; int digits; } f[] = {
		{ "eax", g->eax, 8 }, { "ebx", g->ebx, 8 }, { "ecx", g->ecx, 8 },
		{ "edx", g->edx, 8 }, { "esi", g->esi, 8 }, { "edi", g->edi, 8 },
		{ "ebp", g->ebp, 8 }, { "esp", g->esp, 8 }, { "cs", g->cs, 4 },
		{ "ds", g->ds, 4 }, { "es", g->es, 4 }, { "gs", g->gs, 4 }, { "ss", g->ss, 4 },
	};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		*p++ = ' ';
		for (const char *n = f[i].name; *n;)
			*p++ = *n++;
		*p++ = ' ';
		for (int d = f[i].digits - 1; d >= 0; d--)
			*p++ = hex[(f[i].v >> (4 * d)) & 0xf];
	}
	*p = 0;
	return p;
}

static void vfinding(struct checks *k, enum entryemu_check c, uint32_t eip,
		     const char *fmt, va_list ap)
{
	struct entryemu *m = k->m;
	char what[192], sym[96], text[512];
	vsnprintf(what, sizeof(what), fmt, ap);
	struct entryemu_regs g;
	machine_read_regs(m, &g);
	/* the registers' part is at most 13 * 13 bytes and its terminator */
	int n = snprintf(text, sizeof(text) - 170, "%s: %s at %s;", entryemu_check_name(c), what,
			 entryemu_symbolize(m, eip, sym, sizeof(sym)));
	if (n < 0)
		n = 0;
	if ((size_t)n > sizeof(text) - 171)
		n = (int)(sizeof(text) - 171);
	put_regs(text + n, &g);
	result_add_finding(k->res, c, eip, text);
}

/* A finding at eip, with the CPU's registers as they are now. */
static void finding(struct checks *k, enum entryemu_check c, uint32_t eip,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5), cold));
static void finding(struct checks *k, enum entryemu_check c, uint32_t eip,
		    const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfinding(k, c, eip, fmt, ap);
	va_end(ap);
}

void checks_finding(struct checks *k, enum entryemu_check c, uint32_t eip,
		    const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfinding(k, c, eip, fmt, ap);
	va_end(ap);
}

int checks_once(struct checks *k, enum entryemu_check c, uint32_t insn)
{
	struct checks_reported *r = &k->reported;
	for (int i = 0; i < r->n; i++)
		if (r->at[i].check == (unsigned)c && r->at[i].insn == insn)
			return 0;
	if (r->n < CHECKS_REPORTED_MAX) {
		r->at[r->n].check = c;
		r->at[r->n++].insn = insn;
	}
	return 1;
}

/* ---- entry and return ------------------------------------------------------ */

static void on_entry(struct checks *k, int vector, const struct entryemu_regs *user,
		     const uint32_t hw[5], uint32_t esp0)
{
	struct entryemu *m = k->m;
	struct entry_state *e = &k->entry;
	const struct image_layout *l = &m->img.layout;
	memset(e, 0, sizeof(*e));
	e->active = 1;
	e->vector = vector;
	e->user = *user;
	e->vm86 = (user->eflags & ENTRYEMU_EFLAGS_VM) != 0;
	memcpy(e->hw, hw, sizeof(e->hw));
	/* pt_regs ends at esp0; a vm86 frame has ES, DS, FS, GS above it */
	e->frame = esp0 - (uint32_t)l->pt_size - (e->vm86 ? 16 : 0);
	/* what the user should get back, unless the kernel changes the frame */
	e->ret_eip = hw[0];
	e->ret_cs = (uint16_t)hw[1];
	e->ret_esp = hw[3];
	e->ret_ss = (uint16_t)hw[4];
	e->ret_ds = user->ds;
	e->ret_es = user->es;
	e->ret_fs = user->fs;
	e->ret_gs = user->gs;
}

/* Re-read what the frame now says the user gets back. */
static void snapshot_return(struct checks *k)
{
	struct entryemu *m = k->m;
	struct entry_state *e = &k->entry;
	struct entryemu_pt_regs p;
	ptregs_read(m, e->frame, &p);
	e->ret_eip = p.eip;
	e->ret_cs = (uint16_t)p.xcs;
	e->ret_esp = p.esp;
	e->ret_ss = (uint16_t)p.xss;
	e->ret_ds = (uint16_t)p.xds;
	e->ret_es = (uint16_t)p.xes;
	if (p.has_xgs)
		e->ret_gs = (uint16_t)p.xgs;
	if (p.has_xfs)
		e->ret_fs = (uint16_t)p.xfs;
}

static void on_return(struct checks *k, const struct entryemu_regs *now)
{
	struct entry_state *e = &k->entry;
	if (!e->active || e->vm86)
		return;
	e->active = 0;
	if (!on(k, ENTRYEMU_CHECK_RETURN))
		return;
	struct entryemu_regs g = *now;
	if (g.eflags & ENTRYEMU_EFLAGS_VM)
		return;
	struct { const char *n; uint32_t got, want; } f[] = {
		{ "eip", g.eip, e->ret_eip }, { "esp", g.esp, e->ret_esp },
		{ "cs", g.cs, e->ret_cs }, { "ss", g.ss, e->ret_ss },
		{ "ds", g.ds, e->ret_ds }, { "es", g.es, e->ret_es },
		{ "fs", g.fs, e->ret_fs }, { "gs", g.gs, e->ret_gs },
	};
	int percpu = k->m->img.layout.percpu_seg;
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		/*
		 * A null data selector, whatever its RPL, may come back as 0:
		 * IRET to an outer level nulls DS, ES, FS and GS when they
		 * hold one (SDM vol. 2A IRET, RETURN-TO-OUTER-PRIVILEGE-LEVEL;
		 * QEMU does it for DS and ES only).
		 */
		if (i >= 4 && !(f[i].got & 0xfffc) && !(f[i].want & 0xfffc))
			continue;
		if (f[i].got != f[i].want)
			finding(k, ENTRYEMU_CHECK_RETURN, g.eip, "returned to ring 3 with %s = "
				"0x%x, the frame %s 0x%x", f[i].n, f[i].got,
				i < 4 ? "holds" :
				(i == 6 && percpu != ENTRYEMU_PERCPU_FS) || (i == 7 && percpu == ENTRYEMU_PERCPU_NONE) ?
				"(not saved: untouched) was" : "says",
				f[i].want);
	}
}

/* An __ex_table fixup was taken at insn: a segment pop there leaves 0. */
static void on_fixup(struct checks *k, uint32_t insn)
{
	struct entry_state *e = &k->entry;
	char text[96];
	if (!e->active || insn_text(k->m, insn, text, sizeof(text)))
		return;
	if (strstr(text, "pop ds") || !strncmp(text, "mov ds", 6))
		e->ret_ds = 0;
	else if (strstr(text, "pop es") || !strncmp(text, "mov es", 6))
		e->ret_es = 0;
	else if (strstr(text, "pop gs") || !strncmp(text, "mov gs", 6))
		e->ret_gs = 0;
	else if (strstr(text, "pop fs") || !strncmp(text, "mov fs", 6))
		e->ret_fs = 0;
}

/* ---- callouts ------------------------------------------------------------------ */

static void check_segments(struct checks *k, const struct entryemu_callout_record *rec)
{
	struct entryemu *m = k->m;
	uint32_t at = rec->return_addr;
	/*
	 * FIXUP_ESPFIX_STACK runs from error_code after it loaded the kernel's
	 * own data segments, or from nmi_16bit_stack after SAVE_ALL: either.
	 */
	int espfix = !strcmp(rec->name, "fixup_x86_bogus_stack");
	int ds_ok = rec->ds == ENTRYEMU_USER_DS || (espfix && rec->ds == ENTRYEMU_KERNEL_DS);
	int es_ok = rec->es == ENTRYEMU_USER_DS || (espfix && rec->es == ENTRYEMU_KERNEL_DS);
	if (rec->cs != ENTRYEMU_KERNEL_CS)
		finding(k, ENTRYEMU_CHECK_SEGMENTS, at, "%s called with cs = 0x%x",
			rec->name, rec->cs);
	if (!ds_ok || !es_ok)
		finding(k, ENTRYEMU_CHECK_SEGMENTS, at, "%s called with ds = 0x%x, es = 0x%x, "
			"not __USER_DS", rec->name, rec->ds, rec->es);
	/* the register the image keeps the per-CPU segment in, if any */
	int seg = m->img.layout.percpu_seg;
	uint16_t percpu = seg == ENTRYEMU_PERCPU_GS ? rec->gs : rec->fs;
	if (seg != ENTRYEMU_PERCPU_NONE && percpu != ENTRYEMU_KERNEL_PERCPU)
		finding(k, ENTRYEMU_CHECK_SEGMENTS, at, "%s called with %s = 0x%x, not "
			"__KERNEL_PERCPU", rec->name, seg == ENTRYEMU_PERCPU_GS ? "gs" : "fs", percpu);
	/* C code assumes the flat kernel stack segment (not the espfix one) */
	uint32_t lo = KSTACK_BASE + (uint32_t)m->img.layout.ti_size;
	if (rec->ss != ENTRYEMU_KERNEL_DS || rec->esp < lo ||
	    rec->esp >= KSTACK_BASE + m->thread_size)
		finding(k, ENTRYEMU_CHECK_SEGMENTS, at, "%s called with ss:esp = %04x:%08x, "
			"not on the task's kernel stack in __KERNEL_DS", rec->name, rec->ss,
			rec->esp);
}

/* The frame of this entry, read at its first C call, against the CPU's state. */
static void check_frame(struct checks *k, const struct entryemu_callout_record *rec)
{
	struct entry_state *e = &k->entry;
	const struct entryemu_pt_regs *p = &rec->regs;
	const struct entryemu_regs *u = &e->user;
	uint32_t at = rec->return_addr;
	int sysenter = e->vector == ENTRYEMU_EVENT_SYSENTER;

	uint32_t orig = u->eax;			/* syscalls and NMI keep %eax */
	if (e->vector >= 0x20 && e->vector < 0x30)
		orig = ~(uint32_t)(e->vector - 0x20);	/* IRQ stubs push ~irq */
	else if (e->vector < 32 && e->vector != 2)
		orig = 0xffffffffu;			/* exceptions: not a syscall */
	struct { const char *n; uint32_t got, want; int skip; } f[] = {
		{ "ebx", p->ebx, u->ebx, 0 }, { "ecx", p->ecx, u->ecx, 0 },
		{ "edx", p->edx, u->edx, 0 }, { "esi", p->esi, u->esi, 0 },
		{ "edi", p->edi, u->edi, 0 },
		/* sysenter: ebp holds the sixth argument, from the user stack */
		{ "ebp", p->ebp, u->ebp, sysenter },
		{ "xds", p->xds & 0xffff, u->ds, e->vm86 }, { "xes", p->xes & 0xffff, u->es, e->vm86 },
		{ "xgs", p->xgs & 0xffff, u->gs, !p->has_xgs || e->vm86 },
		{ "xfs", p->xfs & 0xffff, u->fs, !p->has_xfs || e->vm86 },
		{ "orig_eax", p->orig_eax, orig, 0 },
		{ "eip", p->eip, e->hw[0], 0 }, { "xcs", p->xcs & 0xffff, e->hw[1], 0 },
		/* sysenter: the flags are pushed by the kernel, after its sti */
		{ "eflags", p->eflags, e->hw[2], sysenter },
		{ "esp", p->esp, e->hw[3], 0 }, { "xss", p->xss & 0xffff, e->hw[4], 0 },
	};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (!f[i].skip && f[i].got != f[i].want)
			finding(k, ENTRYEMU_CHECK_PTREGS, at, "%s sees pt_regs->%s = 0x%x, the "
				"CPU had 0x%x at entry (vector %d)", rec->name, f[i].n,
				f[i].got, f[i].want, e->vector);
}

/* A frame saved from ring 0 (not ring 3, not virtual-8086 mode). */
static int kernel_frame(const struct entryemu_pt_regs *p)
{
	return (p->xcs & 3) == 0 && !(p->eflags & ENTRYEMU_EFLAGS_VM);
}

static void on_call_before(struct checks *k, const struct entryemu_callout_record *rec,
			   uint32_t regs_addr)
{
	if (on(k, ENTRYEMU_CHECK_SEGMENTS))
		check_segments(k, rec);
	/* the i386 C ABI: the direction flag is clear at every call */
	if ((rec->eflags & 0x400) && on(k, ENTRYEMU_CHECK_DF))
		finding(k, ENTRYEMU_CHECK_DF, rec->return_addr, "%s called with EFLAGS.DF = 1",
			rec->name);
	struct entry_state *e = &k->entry;
	if (!e->active || !regs_addr)
		return;
	/*
	 * An event taken in the kernel while the sysenter path is still
	 * pushing the user's frame nests its own, kernel-mode, frame below
	 * the words pushed so far: after two of them, exactly at esp0 -
	 * sizeof(pt_regs).  That frame is not the entry's.
	 */
	if (regs_addr == e->frame && kernel_frame(&rec->regs))
		return;
	if (regs_addr != e->frame) {
		/* a ring-3 frame somewhere else: the entry built it in the wrong place */
		if ((rec->regs.xcs & 3) == 3 && !e->checked && on(k, ENTRYEMU_CHECK_PTREGS))
			finding(k, ENTRYEMU_CHECK_PTREGS, rec->return_addr, "%s gets a user "
				"frame at 0x%08x, not at esp0 - sizeof(pt_regs) = 0x%08x",
				rec->name, regs_addr, e->frame);
		return;
	}
	if (!e->checked) {
		e->checked = 1;
		if (on(k, ENTRYEMU_CHECK_PTREGS))
			check_frame(k, rec);
	}
}

/*
 * Only a function handed the entry's frame may change what the user gets
 * back (a syscall's pt_regs edit, do_notify_resume's handler address).
 * Others must not be read back: once RESTORE_REGS pops, a nested fault's
 * frame lands on the part already popped, and setup_x86_bogus_stack moves
 * the frame away.
 */
static void on_call_after(struct checks *k, const struct entryemu_callout_record *rec,
			  uint32_t regs_addr)
{
	if (k->entry.active && !k->entry.vm86 && regs_addr == k->entry.frame &&
	    !kernel_frame(&rec->regs))
		snapshot_return(k);
}

/* ---- the exits: iret and sysexit --------------------------------------------- */

/*
 * An iret to user space with IF = 1 leaves a window in which an
 * interrupt can set work after the exit path checked for it, and be
 * delivered on the frame being popped: the exit path runs with
 * interrupts off from its check of thread_info->flags to the iret.
 * sysexit's "sti; sysexit" is the documented exception (the shadow of
 * sti covers sysexit, SDM vol. 2 STI).
 */
static void check_irqs_off_at_iret(struct checks *k, uint32_t addr, uint32_t esp,
				   uint32_t eflags)
{
	struct entryemu *m = k->m;
	uint8_t *p = machine_ptr(m, addr, 1);
	int ok = 1;
	if (!p || p[0] != 0xcf || !(eflags & ENTRYEMU_EFLAGS_IF))
		return;
	uint32_t cs = machine_rd32(m, esp + 4, &ok);
	uint32_t fl = machine_rd32(m, esp + 8, &ok);
	if (ok && ((cs & 3) == 3 || (fl & ENTRYEMU_EFLAGS_VM)))
		finding(k, ENTRYEMU_CHECK_IRQS_OFF, addr, "iret to user space with IF = 1");
}

static void on_exit_insn(struct checks *k, uint32_t addr, uint32_t esp, uint16_t ss,
			 uint32_t eflags)
{
	struct entryemu *m = k->m;
	struct entry_state *e = &k->entry;
	if (on(k, ENTRYEMU_CHECK_IRQS_OFF))
		check_irqs_off_at_iret(k, addr, esp, eflags);
	uint8_t *p = machine_ptr(m, addr, 2);
	/*
	 * The sysexit path pops no data segments: the user gets the
	 * __USER_DS the entry loaded into DS and ES (2.6.18's
	 * sysenter_past_esp, by design), whatever it entered with.
	 */
	if (e->active && p && p[0] == 0x0f && p[1] == 0x35)
		e->ret_ds = e->ret_es = ENTRYEMU_USER_DS;
	if (!e->active || e->vm86 || !on(k, ENTRYEMU_CHECK_STACK))
		return;
	if (!p || ss != ENTRYEMU_KERNEL_DS)
		return;			/* the espfix stack is checked by its result */
	int ok = 1;
	if (p[0] == 0xcf) {
		/*
		 * iret: a return to the kernel (a nested event's) pops
		 * __KERNEL_CS, RPL 0; anything else is meant as the return to
		 * user space, which must pop exactly the frame the CPU pushed.
		 * (A misplaced %esp pops some other word as CS: still not 0.)
		 */
		uint32_t cs = machine_rd32(m, esp + 4, &ok);
		if (!ok || (cs & 3) == 0)
			return;
		uint32_t want = e->frame + (uint32_t)m->img.layout.pt_eip;
		if (esp != want)
			finding(k, ENTRYEMU_CHECK_STACK, addr, "iret to ring 3 with "
				"esp = 0x%08x; the entry's frame is at 0x%08x", esp, want);
	} else if (esp != e->frame) {	/* sysexit: pt_regs still on the stack */
		finding(k, ENTRYEMU_CHECK_STACK, addr, "sysexit with esp = 0x%08x; "
			"the entry's pt_regs is at 0x%08x", esp, e->frame);
	}
}

void checks_observe(void *ctx, const struct run_event *ev)
{
	struct checks *k = ctx;
	const struct image_access *access;
	cfi_observe(k, ev);
	lockdep_observe(k, ev);
	switch (ev->kind) {
	case RUN_EV_DELIVERED:
		if (ev->u.delivered.user_entry)
			on_entry(k, ev->u.delivered.rec.vector, &ev->u.delivered.user,
				 ev->u.delivered.hw, ev->u.delivered.esp0);
		break;
	case RUN_EV_CALL_BEFORE:
		on_call_before(k, ev->u.call.rec, ev->u.call.regs_addr);
		break;
	case RUN_EV_CALL_AFTER:
		on_call_after(k, ev->u.call.rec, ev->u.call.regs_addr);
		break;
	case RUN_EV_FIXUP:
		on_fixup(k, ev->u.fixup.insn);
		break;
	case RUN_EV_RETURN:
		on_return(k, &ev->u.ret);
		break;
	case RUN_EV_EXIT_INSN:
		on_exit_insn(k, ev->u.exit.addr, ev->u.exit.esp, ev->u.exit.ss, ev->u.exit.eflags);
		break;
	case RUN_EV_FLAGS_LOAD:
		slots_at_work_check(k, ev->u.exit.addr, ev->u.exit.esp);
		/* its access through %ebp, which run.c does not hook twice */
		access = image_access_at(&k->m->img, ev->u.exit.addr);
		if (access)
			checks_access(k, access);
		/* the work check: an interrupt after it could set work never seen */
		if ((ev->u.exit.eflags & ENTRYEMU_EFLAGS_IF) && on(k, ENTRYEMU_CHECK_IRQS_OFF))
			finding(k, ENTRYEMU_CHECK_IRQS_OFF, ev->u.exit.addr, "thread_info->flags "
				"loaded with IF = 1");
		break;
	}
}

void checks_access(struct checks *k, const struct image_access *a)
{
	int uaccess = on(k, ENTRYEMU_CHECK_UACCESS);
	int bounds = a->table && on(k, ENTRYEMU_CHECK_BOUNDS);
	if (!uaccess && !bounds)
		return;
	uint32_t lin[IMAGE_ACCESS_OPS] = { 0 };
	for (int i = 0; i < a->nops; i++)
		lin[i] = fault_operand_linear(k->m, &a->op[i]);
	if (uaccess)
		uaccess_check(k, a, lin);
	if (bounds)
		bounds_check(k, a, lin);
}

/* ---- the image's exception table --------------------------------------------- */

static int can_fault(struct entryemu *m, uint32_t addr)
{
	uint8_t *p = machine_ptr(m, addr, 1);
	size_t avail = machine_avail(m, addr, 15);
	cs_insn *insn = NULL;
	if (!p || cs_disasm(m->cs, p, avail, addr, 1, &insn) != 1)
		return 0;
	const cs_x86 *x = &insn->detail->x86;
	int fault = 0;
	for (int i = 0; i < x->op_count; i++) {
		if (x->operands[i].type == X86_OP_MEM)
			fault = 1;		/* a memory access */
		if (x->operands[i].type == X86_OP_REG &&
		    (x->operands[i].reg == X86_REG_DS || x->operands[i].reg == X86_REG_ES ||
		     x->operands[i].reg == X86_REG_FS || x->operands[i].reg == X86_REG_GS ||
		     x->operands[i].reg == X86_REG_SS) && i == 0)
			fault = 1;		/* a segment register load */
	}
	if (insn->id == X86_INS_IRETD || insn->id == X86_INS_POP || insn->id == X86_INS_PUSH)
		fault = 1;			/* they touch the stack */
	cs_free(insn, 1);
	return fault;
}

int checks_image(struct entryemu *m)
{
	const struct image *img = &m->img;
	m->nimage_findings = 0;
	m->image_findings = calloc(img->nextable ? img->nextable : 1, sizeof(*m->image_findings));
	if (!m->image_findings)
		return ENTRYEMU_E_NOMEM;
	for (size_t i = 0; i < img->nextable; i++) {
		const struct extable_entry *x = &img->extable[i];
		char a[96], b[96], text[256];
		text[0] = 0;
		if (!can_fault(m, x->insn))
			snprintf(text, sizeof(text), "extable: __ex_table entry %zu names %s, "
				 "which cannot fault", i,
				 entryemu_symbolize(m, x->insn, a, sizeof(a)));
		else if (!(x->fixup >= img->fixup_start && x->fixup < img->fixup_end)) {
			const struct image_symbol *s = image_symbol_at(img, x->fixup);
			if (!s || s->addr != x->fixup)
				snprintf(text, sizeof(text), "extable: the fixup of %s, %s, is "
					 "neither in .fixup nor at a label",
					 entryemu_symbolize(m, x->insn, a, sizeof(a)),
					 entryemu_symbolize(m, x->fixup, b, sizeof(b)));
		}
		if (text[0]) {
			struct entryemu_finding *f = &m->image_findings[m->nimage_findings++];
			f->check = ENTRYEMU_CHECK_EXTABLE;
			f->eip = x->insn;
			f->text = strdup(text);
			if (!f->text)
				return ENTRYEMU_E_NOMEM;
		}
	}
	return 0;
}

void checks_start(struct checks *k, struct entryemu *m, entryemu_result *res, unsigned off)
{
	k->m = m;
	k->res = res;
	k->off = off;
	memset(&k->entry, 0, sizeof(k->entry));
	memset(&k->cfi, 0, sizeof(k->cfi));
	memset(&k->lockdep, 0, sizeof(k->lockdep));
	k->reported.n = 0;
	if (!on(k, ENTRYEMU_CHECK_EXTABLE))
		return;
	for (size_t i = 0; i < m->nimage_findings; i++)
		result_add_finding(res, ENTRYEMU_CHECK_EXTABLE, m->image_findings[i].eip,
				   m->image_findings[i].text);
}
