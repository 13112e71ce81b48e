/*
 * Events injected from outside the program: an exception at a chosen
 * point, an IRQ, an NMI; and the #NM checks Unicorn leaves out.  While a run has injections, a code hook sees
 * every instruction (slow, and only then): when the chosen point is
 * reached the event is delivered before that instruction executes, as
 * an external event is taken at an instruction boundary.  An IRQ waits
 * for a boundary with IF = 1 (SDM vol. 3 6.8.1); an NMI does not.
 */
#include "cpu/cpu.h"
#include "cpu/fault.h"

/*
 * MOV SS and POP SS inhibit interrupts until the next instruction has
 * run (SDM vol. 3 6.8.3): no IRQ on the boundary right after them.  STI
 * does only when it sets IF: vol. 3 table 24-3 (interruptibility state),
 * "Blocking by STI [...] Execution of STI with RFLAGS.IF = 0 blocks
 * maskable interrupts on the instruction boundary following its
 * execution"; an STI with IF already 1 changes nothing.
 */
static int interrupt_shadow(struct entryemu *m)
{
	uint8_t *p = m->cpu->shadow_from ? machine_ptr(m, m->cpu->shadow_from, 2) : NULL;
	if (!p)
		return 0;
	if (p[0] == 0xfb)
		return !m->cpu->shadow_if;
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
 * SDM vol. 3 table 2-2: with CR0.EM or CR0.TS set an x87 instruction
 * raises #NM; WAIT/FWAIT does when TS and MP are both set.  Unicorn
 * 2.0.1 applies neither, so runs that set those bits check here.
 */
static int raises_nm(struct entryemu *m, uint32_t addr)
{
	uint32_t cr0 = machine_reg(m, ER_CR0);
	if (!(cr0 & 0xc))
		return 0;
	uint8_t *p = machine_ptr(m, addr, 1);
	for (int i = 0; p && i < 4; i++) {		/* skip prefixes */
		uint8_t b = p[0];
		if (b == 0x66 || b == 0x67 || b == 0xf0 || b == 0xf2 || b == 0xf3 ||
		    b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e || b == 0x64 || b == 0x65)
			p = machine_ptr(m, addr + (uint32_t)i + 1, 1);
		else
			break;
	}
	if (!p)
		return 0;
	if (p[0] >= 0xd8 && p[0] <= 0xdf)
		return 1;
	return p[0] == 0x9b && (cr0 & 0xa) == 0xa;
}

void inject_hook(void *data, uint32_t addr, uint32_t size)
{
	struct entryemu *m = data;
	(void)size;
	if (machine_stopping(m) || !m->setup)
		return;
	if (m->setup->cr0_set && raises_nm(m, (uint32_t)addr)) {
		count_unexecuted(m, (uint32_t)addr);
		deliver_external(m, 7, 0, 0, machine_eip(m));
		engine_stop(m->eng);
		m->cpu->restart = 1;
		return;
	}
	m->cpu->exact_insns++;
	const struct entryemu_setup *s = m->setup;
	uint32_t eflags = machine_reg(m, ER_EFLAGS);
	if (m->cpu->nmi_blocked && is_iret(m, m->cpu->prev_insn))
		m->cpu->nmi_blocked = 0;
	m->cpu->shadow_from = m->cpu->prev_insn;
	m->cpu->prev_insn = (uint32_t)addr;
	m->cpu->shadow_if = m->cpu->prev_if;
	m->cpu->prev_if = (eflags & ENTRYEMU_EFLAGS_IF) != 0;
	for (unsigned i = 0; i < s->ninjects && i < RUN_MAX_INJECTS; i++) {
		const struct entryemu_inject *in = &s->injects[i];
		struct inject_state *st = &m->cpu->inject[i];
		if (st->done)
			continue;
		if (!st->armed) {
			if (in->at && in->at == (uint32_t)addr)
				st->armed = ++st->reached >= (in->occurrence ? in->occurrence : 1);
			else if (!in->at && m->cpu->exact_insns > in->after)
				st->armed = 1;
			if (!st->armed)
				continue;
		}
		if (in->kind == ENTRYEMU_INJECT_IRQ &&
		    (!(eflags & ENTRYEMU_EFLAGS_IF) ||
		     interrupt_shadow(m)))
			continue;		/* masked: stays pending */
		if (in->kind == ENTRYEMU_INJECT_NMI && m->cpu->nmi_blocked)
			continue;		/* blocked until the next IRET */
		st->done = 1;
		m->cpu->exact_insns--;		/* this instruction has not run */
		count_unexecuted(m, (uint32_t)addr);
		int vector = in->kind == ENTRYEMU_INJECT_NMI ? 2 :
			     in->kind == ENTRYEMU_INJECT_IRQ ? 0x20 + in->vector : in->vector;
		int has_error = in->kind == ENTRYEMU_INJECT_EXCEPTION &&
				(in->error_code_given || vector_has_error_code(vector));
		/* the return address is EIP, not the hook's linear address */
		deliver_external(m, vector, has_error, in->error_code, machine_eip(m));
		if (in->kind == ENTRYEMU_INJECT_NMI)
			m->cpu->nmi_blocked = 1;
		m->cpu->prev_insn = 0;		/* addr did not run: no IRET, no shadow */
		/* continue at the handler: this instruction runs after the iret */
		engine_stop(m->eng);
		m->cpu->restart = 1;
		return;
	}
}
