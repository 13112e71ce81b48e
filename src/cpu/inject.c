/*
 * Events injected from outside the program: an exception at a chosen
 * point, an IRQ, an NMI; and the #NM/#UD checks of CR0.EM/TS and the
 * I/O permission #GP (io_perm.c) that Unicorn leaves out.  While a run has
 * injections, CR0.TS/EM or user code that may do I/O, a code
 * hook sees every instruction (slow, and only then): when the chosen point is
 * reached the event is delivered before that instruction executes, as
 * an external event is taken at an instruction boundary.  An IRQ waits
 * for a boundary with IF = 1 (SDM vol. 3 6.8.1); an NMI does not.
 */
#include "cpu/cpu.h"
#include "cpu/desc.h"
#include "cpu/fault.h"
#include "cpu/paging.h"

/*
 * MOV SS and POP SS inhibit interrupts until the next instruction has
 * run (SDM vol. 3 6.8.3): no IRQ on the boundary right after them.  STI
 * does only when it sets IF: vol. 3 table 24-3 (interruptibility state),
 * "Blocking by STI [...] Execution of STI with RFLAGS.IF = 0 blocks
 * maskable interrupts on the instruction boundary following its
 * execution"; an STI with IF already 1 changes nothing.  Does the
 * instruction at from, run with IF = if_before, shadow the boundary after it?
 */
static int shadow_after(struct entryemu *m, uint32_t from, int if_before)
{
	uint8_t *p = from ? machine_ptr(m, from, 2) : NULL;
	if (!p)
		return 0;
	if (p[0] == 0xfb)
		return !if_before;
	return p[0] == 0x17 || (p[0] == 0x8e && ((p[1] >> 3) & 7) == 2);
}

/*
 * Was the instruction at addr (the one that ran last) an IRET?  SDM
 * vol. 3 6.7.1, "Handling Multiple NMIs": while an NMI handler runs,
 * the processor blocks delivery of further NMIs until the next
 * execution of IRET.  An IRET that faults counts as that execution here.
 */
static int is_iret(struct entryemu *m, uint32_t addr)
{
	uint8_t *p = addr ? machine_ptr(m, addr, 2) : NULL;
	return p && (p[0] == 0xcf || (p[0] == 0x66 && p[1] == 0xcf));
}

/*
 * What CR0.EM/TS/MP make an instruction raise before it executes, which
 * Unicorn 2.0.1 never does (it runs x87, MMX and SSE code whatever CR0
 * says):
 *
 * - x87 (D8-DF) and FXSAVE/FXRSTOR: #NM if EM or TS.  SDM vol. 3 table
 *   2-2, "Action Taken By x87 FPU Instructions for Different Combinations
 *   of EM, MP, and TS"; vol. 2A FXSAVE/FXRSTOR, "Protected Mode
 *   Exceptions": "#NM If CR0.TS[bit 3] = 1. If CR0.EM[bit 2] = 1."
 * - WAIT/FWAIT (9B): #NM only if TS and MP are both set (table 2-2).
 * - MMX, SSE to SSE4 (0F-map MMX/SSE opcodes, and LDMXCSR/STMXCSR): #UD
 *   if EM, else #NM if TS.  Vol. 3 table 12-1 (13-1 in later editions),
 *   "Action Taken for Combinations of OSFXSR, OSXMMEXCPT, SSE, SSE2,
 *   SSE3, EM, MP, and TS", and the MMX table beside it (EM = 1: #UD;
 *   TS = 1: #NM); every SSE instruction's exception list reads "#UD If
 *   CR0.EM[bit 2] = 1. #NM If CR0.TS[bit 3] = 1."
 *
 * CR0 is read when the instruction is reached, not from the run's setup,
 * so TS set while the run goes on counts as it does on the CPU.
 */
enum fpu_class { FPU_NONE, FPU_X87, FPU_WAIT, FPU_SIMD };

static enum fpu_class fpu_class_of(struct entryemu *m, uint32_t addr, const uint8_t *p)
{
	/*
	 * This runs before every instruction: the first byte alone rules
	 * out most of them (a prefix, D8-DF, 9B and 0F start all that
	 * follow), and only the rest have their bytes' extent looked up.
	 */
	if (!p || !(fault_legacy_prefix(p[0]) || (p[0] >= 0xd8 && p[0] <= 0xdf) || p[0] == 0x9b ||
		    p[0] == 0x0f))
		return FPU_NONE;
	size_t n = machine_avail(m, addr, 15 + 4);
	size_t at = 0;
	while (at < 15 && at < n && fault_legacy_prefix(p[at]))	/* skip prefixes */
		at++;
	uint8_t b[4] = { 0 };
	for (size_t i = 0; i < 4 && at + i < n; i++)
		b[i] = p[at + i];
	if (b[0] >= 0xd8 && b[0] <= 0xdf)
		return FPU_X87;
	if (b[0] == 0x9b)
		return FPU_WAIT;
	if (b[0] != 0x0f)
		return FPU_NONE;
	uint8_t op = b[1], reg = (b[2] >> 3) & 7, mod = b[2] >> 6;
	if (op == 0xae && mod != 3)		/* group 15 with a memory operand */
		return reg <= 1 ? FPU_X87 :	/* FXSAVE, FXRSTOR */
		       reg <= 3 ? FPU_SIMD :	/* LDMXCSR, STMXCSR */
		       FPU_NONE;		/* XSAVE.., CLFLUSH: not modelled */
	if (op == 0x38)				/* SSSE3/SSE4.1: not MOVBE/CRC32 */
		return b[2] < 0xf0 ? FPU_SIMD : FPU_NONE;
	if (op == 0x3a)
		return FPU_SIMD;
	if ((op >= 0x10 && op <= 0x17) || (op >= 0x28 && op <= 0x2f) ||
	    (op >= 0x50 && op <= 0x77) || (op >= 0x7c && op <= 0x7f) ||
	    op == 0xc2 || (op >= 0xc4 && op <= 0xc6) || (op >= 0xd0 && op <= 0xfe))
		return FPU_SIMD;
	return FPU_NONE;
}

/* The vector the instruction at addr (its first byte at p, or NULL)
 * raises under the current CR0, or -1. */
static int fpu_fault(struct entryemu *m, uint32_t addr, const uint8_t *p)
{
	/* the bytes first: most instructions are none of these, and
	 * reading CR0 from the engine costs more than looking at them */
	enum fpu_class c = fpu_class_of(m, addr, p);
	if (c == FPU_NONE)
		return -1;
	uint32_t cr0 = machine_reg(m, ER_CR0);
	if (!(cr0 & 0xc))			/* neither EM (4) nor TS (8) */
		return -1;
	switch (c) {
	case FPU_X87:
		return VEC_NM;
	case FPU_WAIT:
		return (cr0 & 0xa) == 0xa ? VEC_NM : -1;
	case FPU_SIMD:
		return (cr0 & 4) ? VEC_UD : VEC_NM;
	default:
		return -1;
	}
}

/*
 * A run whose only injection is at a user instruction hooks the user's
 * pages alone (run.c, instrument): the kernel's code, most of a run,
 * then translates without a call per instruction.  Once the event is
 * due but held (IF = 0, an interrupt shadow, an NMI before the IRET),
 * the CPU takes it at a later boundary, which may be the kernel's: the
 * run stops before this instruction, as if the hook had not seen it
 * (its bookkeeping, and the injection's, put back as they were), and
 * goes on with the kernel hooked too.
 */
struct step_marks {
	uint32_t prev_insn, shadow_from;
	uint64_t prev_events;
	int prev_if, shadow_if, nmi_blocked;
};

static int widen_hook(struct entryemu *m, uint32_t addr, const struct step_marks *before)
{
	struct cpu_run_state *c = m->cpu;
	c->prev_insn = before->prev_insn;
	c->prev_events = before->prev_events;
	c->shadow_from = before->shadow_from;
	c->prev_if = before->prev_if;
	c->shadow_if = before->shadow_if;
	c->nmi_blocked = before->nmi_blocked;
	c->exact_insns--;
	count_unexecuted(m, addr);
	/*
	 * EIP is not written here: the engine takes a write of EIP in a
	 * hook for a jump and runs on from there, this hook first.  run.c
	 * resumes at widen_at.
	 */
	c->widen_at = addr;
	c->restart = 1;
	engine_stop(m->eng);
	return 1;
}

/*
 * Does injection in arm at addr, the insns-th instruction seen, having
 * reached its address `reached' times before?  At its address, on the
 * occurrence it names (the first by default); or past a count.
 */
static int arms_at(const struct entryemu_inject *in, unsigned reached, uint32_t addr,
		   uint64_t insns)
{
	return in->at ? in->at == addr && reached + 1 >= (in->occurrence ? in->occurrence : 1)
		      : insns > in->after;
}

/*
 * Is an armed injection held at this boundary?  An IRQ while IF = 0 or
 * in the shadow the instruction at shadow_from made (SDM vol. 3 6.8.1,
 * 6.8.3); an NMI while NMIs are blocked (6.7.1).
 */
static int held_now(struct entryemu *m, const struct entryemu_inject *in, uint32_t eflags,
		    uint32_t shadow_from, int shadow_if, int nmi_blocked)
{
	if (in->kind == ENTRYEMU_INJECT_IRQ)
		return !(eflags & ENTRYEMU_EFLAGS_IF) || shadow_after(m, shadow_from, shadow_if);
	return in->kind == ENTRYEMU_INJECT_NMI && nmi_blocked;
}

static uint64_t events_delivered(const struct entryemu *m)
{
	return m->count ? m->count->events : 0;
}

/*
 * The instruction whose shadow the boundary before the one being looked
 * at may be in: the one seen last, unless an event was delivered since
 * (it faulted and did not complete, or an event came after it), and so
 * the instruction now is a handler's first (0: none).  A MOV SS that
 * faults makes no shadow at the #GP handler's first instruction: an IRQ
 * due there is taken before it.
 */
static uint32_t shadow_maker(const struct entryemu *m, uint64_t events)
{
	return events == m->cpu->prev_events ? m->cpu->prev_insn : 0;
}

/*
 * Does an injected NMI or IRQ come at the boundary before addr, ahead of
 * a fault the instruction there would raise?  SDM vol. 3 6.9, table
 * 6-2: nonmaskable interrupts (priority 5) and maskable hardware
 * interrupts (6) are taken before the faults from fetching (8) and
 * decoding (9: #UD, #NM) the next instruction and those of executing it
 * (10: #GP, #SS, #PF).  This is inject_step()'s loop read without
 * changing anything, as if addr's bookkeeping were done: 1 when its
 * first act would be to deliver an NMI or IRQ, or to widen the hook for
 * one held there (which then asks again).
 */
static int interrupt_first(struct entryemu *m, uint32_t addr, uint32_t eflags)
{
	const struct entryemu_setup *s = m->setup;
	const struct cpu_run_state *c = m->cpu;
	for (unsigned i = 0; i < s->ninjects && i < RUN_MAX_INJECTS; i++) {
		const struct entryemu_inject *in = &s->injects[i];
		const struct inject_state *st = &c->inject[i];
		if (st->done || !(st->armed || arms_at(in, st->reached, addr, c->exact_insns + 1)))
			continue;
		/* the shadow and NMI blocking as the loop sees them, after the
		 * bookkeeping for the instruction before */
		int held = held_now(m, in, eflags, shadow_maker(m, events_delivered(m)), c->prev_if,
				    c->nmi_blocked && !is_iret(m, c->prev_insn));
		if (held && !(m->hooked_inject & CODE_KERNEL))
			return 1;
		if (held)
			continue;
		return in->kind != ENTRYEMU_INJECT_EXCEPTION;
	}
	return 0;
}

/* What the hook does before the instruction at addr; 1 when it stopped the engine. */
static int inject_step(struct entryemu *m, uint32_t addr)
{
	if (machine_stopping(m) || !m->setup)
		return 0;
	if (count_seen(m, addr, COUNT_SEEN_STEP))
		return 0;		/* seen before the engine cut its block */
	/*
	 * Installed for other runs: not this one's, or over the kernel's
	 * code for a run that looks only at the user's (no injection, not
	 * even one held at a user instruction until the kernel's code is
	 * hooked, and no CR0.TS or EM).  A long run pays a call per
	 * instruction for nothing, so past INJECT_IDLE_CALLS it stops before
	 * this instruction to have the hook removed, or narrowed to the
	 * pages the user-only hook covers (run.c).
	 */
	if (!m->cpu->look ||
	    (!m->cpu->look_all && !m->setup->ninjects && addr >= PAGE_OFFSET &&
	     (addr & ~0xfffu) != VSYSCALL_PAGE)) {
		if (++m->cpu->idle_calls == INJECT_IDLE_CALLS) {
			/*
			 * EIP is not written: Unicorn takes a write of EIP in
			 * a hook for a jump, goes on from there and drops the
			 * stop asked for with it.  run.c resumes at shed_at.
			 */
			count_unexecuted(m, (uint32_t)addr);
			m->cpu->shed_at = (uint32_t)addr;
			m->cpu->shed = 1;
			m->cpu->restart = 1;
			engine_stop(m->eng);
			return 1;
		}
		return 0;
	}
	if (machine_access_faulted(m)) {
		engine_stop(m->eng);
		return 1;
	}
	/*
	 * The I/O, null-selector and limit checks are for CPL 3 (and vm86)
	 * only.  Code on a supervisor page runs at CPL 0: a fetch from it at
	 * CPL 3 faults before any instruction hook (SDM vol. 3 4.6), so the
	 * page tables answer for the kernel's instructions without a read
	 * of CS from the engine.
	 */
	int user = paging_rights(m, (uint32_t)addr) & PAGING_US;
	const uint8_t *first = machine_ptr(m, (uint32_t)addr, 1);	/* its first byte */
	int fv = fpu_fault(m, (uint32_t)addr, first);
	int io = fv < 0 && user && (io_permission_fault(m, (uint32_t)addr) ||
				    null_seg_fault(m, (uint32_t)addr));
	int limit = fv < 0 && !io && user ? seg_limit_fault(m, (uint32_t)addr) : -1;
	if ((fv >= 0 || io || limit >= 0) &&
	    !(m->setup->ninjects && interrupt_first(m, addr, machine_reg(m, ER_EFLAGS)))) {
		/* a fault: EIP stays at the instruction; #GP(0), #SS(0) or no error code */
		count_unexecuted(m, (uint32_t)addr);
		m->cpu->fault_unlisted = (uint32_t)addr;	/* listed in the trace all the same */
		deliver_external(m, io ? VEC_GP : limit >= 0 ? limit : fv, io || limit >= 0, 0,
				 (uint32_t)addr - machine_cs_base(m));
		engine_stop(m->eng);
		m->cpu->restart = 1;
		return 1;
	}
	m->cpu->exact_insns++;
	const struct entryemu_setup *s = m->setup;
	if (!s->ninjects)
		return 0;	/* the IF, shadow and IRET bookkeeping is theirs */
	/*
	 * The one kernel instruction hooked with the user's code (run.c,
	 * inject_point): no instruction that makes a shadow ends before it,
	 * so whatever ran last, the boundary is in none.  (prev_insn is the
	 * last instruction this hook saw: a user one, from before the
	 * entry.)
	 */
	if (addr >= PAGE_OFFSET && !(m->hooked_inject & CODE_KERNEL))
		m->cpu->prev_insn = 0;
	/* this step's bookkeeping as it was, for widen_hook() (which takes
	 * back the count above itself) */
	const struct cpu_run_state *c = m->cpu;
	const struct step_marks before = { c->prev_insn, c->shadow_from, c->prev_events,
					   c->prev_if, c->shadow_if, c->nmi_blocked };
	/*
	 * EFLAGS costs the engine a flags computation, and this runs before
	 * every instruction: it is read only where IF is looked at.  That
	 * is before an STI (the shadow it makes depends on IF before it:
	 * shadow_after() reads if_before for no other instruction), and
	 * once an IRQ is due (held_now).
	 */
	int have_eflags = first && first[0] == 0xfb;	/* STI */
	uint32_t eflags = have_eflags ? machine_reg(m, ER_EFLAGS) : 0;
	if (m->cpu->nmi_blocked && is_iret(m, m->cpu->prev_insn))
		m->cpu->nmi_blocked = 0;
	uint64_t events = events_delivered(m);
	m->cpu->shadow_from = shadow_maker(m, events);
	m->cpu->prev_insn = (uint32_t)addr;
	m->cpu->prev_events = events;
	m->cpu->shadow_if = m->cpu->prev_if;
	m->cpu->prev_if = (eflags & ENTRYEMU_EFLAGS_IF) != 0;	/* kept for an STI only */
	for (unsigned i = 0; i < s->ninjects && i < RUN_MAX_INJECTS; i++) {
		const struct entryemu_inject *in = &s->injects[i];
		struct inject_state *st = &m->cpu->inject[i];
		if (st->done)
			continue;
		const struct inject_state st0 = *st;
		if (!st->armed) {
			st->armed = arms_at(in, st->reached, addr, m->cpu->exact_insns);
			st->reached += in->at && in->at == addr;
			if (!st->armed)
				continue;
		}
		if (!have_eflags && in->kind == ENTRYEMU_INJECT_IRQ) {
			eflags = machine_reg(m, ER_EFLAGS);
			have_eflags = 1;
		}
		int held = held_now(m, in, eflags, m->cpu->shadow_from, m->cpu->shadow_if,
				    m->cpu->nmi_blocked);
		if (held && !(m->hooked_inject & CODE_KERNEL)) {
			*st = st0;
			return widen_hook(m, addr, &before);
		}
		if (held)
			continue;	/* masked, or blocked until the next IRET: pending */
		st->done = 1;
		m->cpu->exact_insns--;		/* this instruction has not run */
		count_unexecuted(m, (uint32_t)addr);
		int vector = in->kind == ENTRYEMU_INJECT_NMI ? 2 :
			     in->kind == ENTRYEMU_INJECT_IRQ ? 0x20 + in->vector : in->vector;
		int has_error = in->kind == ENTRYEMU_INJECT_EXCEPTION &&
				(in->error_code_given || vector_has_error_code(vector));
		/* the return address is EIP, not the hook's linear address */
		deliver_external(m, vector, has_error, in->error_code, (uint32_t)addr - machine_cs_base(m));
		if (in->kind == ENTRYEMU_INJECT_NMI)
			m->cpu->nmi_blocked = 1;
		m->cpu->prev_insn = 0;		/* addr did not run: no IRET, no shadow */
		/* continue at the handler: this instruction runs after the iret */
		engine_stop(m->eng);
		m->cpu->restart = 1;
		return 1;
	}
	return 0;
}

void inject_hook(void *data, uint32_t addr, uint32_t size)
{
	struct entryemu *m = data;
	(void)size;
	if (m->cpu->asked) {		/* inject_before_call() took this one */
		m->cpu->asked = 0;
		if (m->cpu->asked_at == addr)
			return;
	}
	if (!inject_step(m, addr))
		count_hooked(m, addr, COUNT_SEEN_STEP);
}

/*
 * The engine calls the hooks of an instruction in the order they were
 * installed, and the callout slots' hook comes before this one: it runs
 * the C function the instruction stands for.  An event due at that
 * boundary is the CPU's before the function's first instruction, so that
 * hook asks here first; when an event comes, the function runs after the
 * handler's iret, once, with the registers it was called with.  The
 * engine's own call of this hook for the same instruction then does
 * nothing (or never comes: the engine skips the rest of an
 * instruction's hooks once told to stop).
 */
int inject_before_call(struct entryemu *m, uint32_t addr)
{
	if (!(m->hooked_inject & CODE_KERNEL))
		return 0;		/* not hooked there: no event comes */
	m->cpu->asked = 0;
	if (inject_step(m, addr))
		return 1;
	m->cpu->asked = 1;
	m->cpu->asked_at = addr;
	return 0;
}

/*
 * The model runs the instruction at addr in the engine's place (tsc.c)
 * and stops the engine after it, so the injection hook never sees it:
 * its bookkeeping for addr is done here, and an event due at that
 * boundary comes first (1: the engine stopped, and the instruction runs
 * after the handler's iret).
 */
int inject_before_emulated(struct entryemu *m, uint32_t addr)
{
	if (!(m->hooked_inject & (addr >= PAGE_OFFSET ? CODE_KERNEL : CODE_USER)))
		return 0;		/* not hooked there: no event comes */
	return inject_step(m, addr);
}

/*
 * The user hook is about to raise a fault of the instruction at addr
 * that the engine would not (fault.c: a far transfer the model
 * handles), before the injection hook has looked at it: an NMI or IRQ
 * due at that boundary comes first (SDM vol. 3 6.9, as
 * interrupt_first).  1 when one came: the engine stopped, and the
 * instruction runs after the handler's iret.
 */
int inject_before_fault(struct entryemu *m, uint32_t addr)
{
	if (machine_stopping(m) || !m->setup || !m->setup->ninjects || !m->cpu->look ||
	    !(m->hooked_inject & CODE_USER) ||
	    !interrupt_first(m, addr, machine_reg(m, ER_EFLAGS)))
		return 0;
	return inject_step(m, addr);
}
