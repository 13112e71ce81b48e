/*
 * The cfi checker: the image's unwind table (the entry code's CFI_*
 * annotations, read with libdw at load, image/cfi.c) against the stack
 * the code really has, at every executed instruction of the entry code.
 *
 * Each delivered event starts an activation whose return information
 * the checker knows: for an interrupt or exception, the EIP, CS and
 * EFLAGS the CPU pushed (SDM vol. 3 6.12.1, "Exception- or
 * Interrupt-Handler Procedures"; an error code sits below them), so the
 * CFA, the address just above that information, is the pushed EIP's
 * slot + 12 -- what the kernel's RING0_INT_FRAME (esp + 3*4) and
 * RING0_EC_FRAME (esp + 4*4) say at the first instruction and what
 * RING0_PTREGS_FRAME (esp + PT_OLDESP - PT_EBX) says once SAVE_ALL has
 * built pt_regs.  sysenter pushes nothing: the code builds the whole
 * frame (SS, ESP, EFLAGS, CS, EIP) at the top of the stack, and the
 * kernel's annotation puts the CFA at esp0, above it.  Its first
 * instruction runs on the stack SYSENTER_ESP gives, which the frame is
 * not on: the activation starts at the next one.
 *
 * At each instruction with a CFI row (an FDE covers it; the .fixup code
 * has none) the CFA the rule computes from the registers must be the
 * innermost activation's; and each register the rule says is saved at
 * CFA + N must hold, when the rule first appears in the activation, the
 * value the register had when the event was delivered (later the
 * kernel may write the slot: a syscall's return value, ptrace).  Under
 * sysenter, %ebp carries the sixth syscall argument from the user stack
 * by design, so its entry value is not asked for.
 *
 * An activation ends when %esp rises to its CFA (the iret that popped
 * its frame, back in an outer activation), and all end at the return to
 * ring 3.  A run that starts inside the kernel (a new thread, vm86) has
 * no activation until its first event: nothing is checked there.
 */
#include "run/checks.h"
#include "run/result.h"

#include <stdio.h>
#include <string.h>

static int cfi_off(const struct checks *k)
{
	return (k->off & ENTRYEMU_CHECK_CFI) != 0;
}

static void begin(struct checks *k, const struct run_event *ev)
{
	struct cfi_frames *s = &k->cfi;
	const struct entryemu_event_record *r = &ev->u.delivered.rec;
	struct cfi_activation a;
	memset(&a, 0, sizeof(a));
	struct entryemu_regs g;
	machine_read_regs(k->m, &g);
	/* the general registers: delivery leaves them as they were */
	a.entry[CFI_EAX] = g.eax, a.entry[CFI_ECX] = g.ecx, a.entry[CFI_EDX] = g.edx;
	a.entry[CFI_EBX] = g.ebx, a.entry[CFI_EBP] = g.ebp, a.entry[CFI_ESI] = g.esi;
	a.entry[CFI_EDI] = g.edi;
	a.known = 1u << CFI_EAX | 1u << CFI_ECX | 1u << CFI_EDX | 1u << CFI_EBX |
		  1u << CFI_EBP | 1u << CFI_ESI | 1u << CFI_EDI | 1u << CFI_EIP;
	if (r->vector == ENTRYEMU_EVENT_SYSENTER) {
		if (!ev->u.delivered.user_entry)
			return;			/* no frame to describe */
		a.cfa = ev->u.delivered.esp0 - 8;
		a.cfa_ring3 = ev->u.delivered.esp0;
		a.entry[CFI_EIP] = ev->u.delivered.hw[0];
		a.entry[CFI_ESP] = ev->u.delivered.hw[3];
		a.known |= 1u << CFI_ESP;
		a.known &= ~(1u << CFI_EBP);
		a.skip = r->handler;
	} else {
		uint32_t eip_slot = r->frame + (r->has_error_code ? 4u : 0u);
		a.cfa = eip_slot + 12;
		a.cfa_ring3 = r->from_cpl == 3 ? eip_slot + 20 : a.cfa;
		int ok = 1;
		a.entry[CFI_EIP] = machine_rd32(k->m, eip_slot, &ok);
		a.entry[CFI_EFLAGS] = machine_rd32(k->m, eip_slot + 8, &ok);
		if (ok)
			a.known |= 1u << CFI_EFLAGS;
		else
			a.known &= ~(1u << CFI_EIP);
		/* from ring 0 the CPU pushed no ESP: the caller's is the CFA */
		if (r->from_cpl == r->to_cpl) {
			a.entry[CFI_ESP] = a.cfa;
			a.known |= 1u << CFI_ESP;
		}
	}
	/*
	 * Not checked: an event delivered onto the 16-bit espfix stack,
	 * whose frame FIXUP_ESPFIX_STACK copies to the kernel stack in
	 * instructions the CFI does not describe (nor does 2.6.18's: the
	 * rule between its lss and the move is the old frame's); and an
	 * event whose gate points into the middle of the code (a scenario's
	 * IDT edit) rather than at the start of an FDE, an entry point,
	 * whose rules describe some other frame.
	 */
	const struct cfi_row *h = cfi_at(&k->m->img.cfi, r->handler);
	a.anchored = machine_reg(k->m, ER_SS) == ENTRYEMU_KERNEL_DS;
	a.checked_frame = a.anchored && h && h->fde_start;
	if (s->n == CFI_MAX_NEST) {		/* deeper than any entry path nests */
		memmove(s->act, s->act + 1, sizeof(s->act[0]) * (CFI_MAX_NEST - 1));
		s->n--;
	}
	s->act[s->n++] = a;
}

/*
 * The activations the stack has left by now, at %esp = esp: an iret back
 * into an outer activation, or a switch to another stack (vm86's return,
 * a debug trap's move off the sysenter stack).  The one left on top, or
 * NULL.
 */
static struct cfi_activation *leave_finished(struct cfi_frames *s, uint32_t esp)
{
	struct cfi_activation *a = &s->act[s->n - 1];
	while (a->anchored && esp >= a->cfa_ring3 + (a->cfa_ring3 != a->cfa)) {
		if (!--s->n)
			return NULL;
		a = &s->act[s->n - 1];
		/* its saves are behind it (or its frame was rebuilt by a
		 * stack switch, FIX_STACK's): no slot is asked for again */
		a->checked = 0xffff;
	}
	return a;
}

void cfi_observe(struct checks *k, const struct run_event *ev)
{
	struct cfi_frames *s = &k->cfi;
	if (!k->m->img.cfi.rows || cfi_off(k))
		return;
	if (ev->kind == RUN_EV_DELIVERED)
		begin(k, ev);
	else if (ev->kind == RUN_EV_RETURN)
		s->n = 0;
	else if (ev->kind == RUN_EV_CALL_AFTER && s->n &&
		 !strcmp(ev->u.call.rec->name, "setup_x86_bogus_stack")) {
		/*
		 * It moves pt_regs 8 bytes down, into the room ldt_ss made
		 * (2.6.18 traps.c: memmove(stk, stk + 8, sizeof(struct
		 * pt_regs))): the return information with it.  An event
		 * taken just before the call has returned by now, though no
		 * described instruction ran since to see it leave.
		 */
		struct cfi_activation *a = leave_finished(s, ev->u.call.rec->esp);
		if (a) {
			a->cfa -= 8;
			a->cfa_ring3 -= 8;
		}
	}
}

/* The CFA's annotation in words: "esp+56". */
static const char *rule_text(const struct cfi_row *r, char *buf, size_t len)
{
	snprintf(buf, len, "%s%+d", cfi_reg_name(r->cfa_reg), (int)r->cfa_off);
	return buf;
}

/* The FDE's first address, by symbol: the annotated procedure. */
static const char *fde_name(struct checks *k, const struct cfi_row *r, char *buf, size_t len)
{
	return entryemu_symbolize(k->m, r->fde, buf, len);
}

void cfi_step(struct checks *k, uint32_t addr)
{
	struct cfi_frames *s = &k->cfi;
	if (!s->n || cfi_off(k))
		return;
	struct cfi_activation *a = &s->act[s->n - 1];
	if (a->skip == addr)
		return;
	a->skip = 0;
	/* one register read per instruction in the common case: %esp */
	struct engine *e = k->m->eng;
	uint32_t esp = engine_reg(e, ER_ESP);
	a = leave_finished(s, esp);
	if (!a)
		return;
	const struct cfi_row *r = cfi_at(&k->m->img.cfi, addr);
	if (!a->checked_frame || !r || r->cfa_reg < 0)
		return;
	static const enum engine_reg ids[CFI_EIP] = {
		ER_EAX, ER_ECX, ER_EDX, ER_EBX, ER_ESP, ER_EBP, ER_ESI, ER_EDI,
	};
	uint32_t base = r->cfa_reg == CFI_ESP ? esp : engine_reg(e, ids[(int)r->cfa_reg]);
	char rule[32], fde[96];
	uint32_t cfa = base + (uint32_t)r->cfa_off;
	if (cfa != a->cfa && cfa != a->cfa_ring3) {
		/* on the espfix stack %esp is an offset in ESPFIX_SS, not an address */
		if (engine_reg(e, ER_SS) != ENTRYEMU_KERNEL_DS)
			return;
		if (!a->reported)
			checks_finding(k, ENTRYEMU_CHECK_CFI, addr, "the CFI (FDE of %s) gives "
				       "CFA = %s = 0x%08x, the frame's EIP, CS, EFLAGS end at "
				       "0x%08x%s", fde_name(k, r, fde, sizeof(fde)),
				       rule_text(r, rule, sizeof(rule)), cfa, a->cfa,
				       a->cfa_ring3 != a->cfa ? " (ESP, SS 8 bytes above)" : "");
		a->reported = 1;	/* one wrong annotation shifts every row after it */
		return;
	}
	uint16_t fresh = r->saved & ~a->checked & a->known;
	for (int reg = 0; fresh && reg < CFI_NREGS; reg++) {
		if (!(fresh & (1u << reg)))
			continue;
		a->checked |= (uint16_t)(1u << reg);
		int ok = 1;
		uint32_t at = cfa + (uint32_t)(int32_t)r->off[reg];
		uint32_t got = machine_rd32(k->m, at, &ok);
		if (ok && got == a->entry[reg])
			continue;
		checks_finding(k, ENTRYEMU_CHECK_CFI, addr, "the CFI (FDE of %s) says %s is "
			       "saved at CFA%+d = 0x%08x, which holds 0x%08x; %s had 0x%08x "
			       "when the event came", fde_name(k, r, fde, sizeof(fde)),
			       cfi_reg_name(reg), (int)r->off[reg], at, got, cfi_reg_name(reg),
			       a->entry[reg]);
	}
}
