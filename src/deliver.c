/*
 * Protected-mode event delivery, as the Intel SDM vol. 3 ch. 6 describes
 * it ("Interrupt and exception handling"), because Unicorn does none: it
 * reports the vector to a hook and leaves CS, SS, ESP and the stack as
 * they were.
 *
 * deliver() follows the manual's order: IDT limit, gate type, gate DPL
 * (software interrupts only), gate present, target code segment, then
 * either an inter-privilege transfer through the TSS (ss0:esp0) or a
 * same-privilege one on the current stack; the frame is pushed, TF, NT,
 * RF and VM are cleared (and IF for an interrupt gate), and CS:EIP come
 * from the gate.  A check that fails yields the fault the manual names,
 * which is then delivered in turn; a fault while delivering that one is
 * a double fault.
 */
#include "checks.h"
#include "desc.h"
#include "fault.h"
#include "machine.h"

#include <stdio.h>
#include <string.h>

struct event {
	int vector;
	int software;		/* int n, int3, into: DPL-checked, EXT = 0 */
	int has_error;
	uint32_t error;
	uint32_t eip;		/* return address to push */
	uint32_t insn_eip;	/* the instruction that raised it */
};

/* Outcome of one delivery attempt. */
enum delivered { DELIVERED, FAULTED, TASK_GATE, BROKEN };

static struct fault mkfault(int vector, uint32_t error)
{
	struct fault f = { vector, error };
	return f;
}

static void record(struct entryemu *m, const struct event *ev, int cpl,
		   uint32_t handler, uint32_t frame)
{
	struct entryemu_result *r = m->res;
	if (!r || r->nevents >= ENTRYEMU_MAX_EVENTS)
		return;
	struct entryemu_event_record *e = &r->events[r->nevents++];
	e->vector = ev->vector;
	e->software = ev->software;
	e->has_error_code = ev->has_error;
	e->error_code = ev->error;
	e->eip = ev->eip;
	e->from_cpl = cpl;
	e->handler = handler;
	e->frame = frame;
	e->trace_index = m->trace_len ? m->trace_len - 1 : 0;
}

static enum delivered deliver(struct entryemu *m, const struct event *ev,
			      struct fault *nested, char *why, size_t whylen)
{
	uint32_t ext = ev->software ? 0 : 1;
	uint32_t idt_err = (uint32_t)ev->vector * 8 + 2 + ext;	/* IDT bit set */

	/* the CPU as the event finds it, in one read */
	uint32_t eflags = 0, old_esp = 0;
	uint16_t old_cs = 0, old_ss = 0;	/* selectors read as 16 bits */
	uc_x86_mmr idtr, tr;
	static int ids[] = { UC_X86_REG_EFLAGS, UC_X86_REG_ESP, UC_X86_REG_CS, UC_X86_REG_SS,
			     UC_X86_REG_IDTR, UC_X86_REG_TR };
	void *vals[] = { &eflags, &old_esp, &old_cs, &old_ss, &idtr, &tr };
	uc_reg_read_batch(m->uc, ids, vals, 6);
	int vm86 = (eflags & ENTRYEMU_EFLAGS_VM) != 0;
	int cpl = vm86 ? 3 : old_cs & 3;	/* virtual-8086 mode runs at CPL 3 */

	/* 1. the gate must lie within the IDT */
	if ((uint32_t)ev->vector * 8 + 7 > idtr.limit) {
		*nested = mkfault(VEC_GP, idt_err);
		return FAULTED;
	}
	int ok = 1;
	uint32_t glo = machine_rd32(m, (uint32_t)idtr.base + ev->vector * 8, &ok);
	uint32_t ghi = machine_rd32(m, (uint32_t)idtr.base + ev->vector * 8 + 4, &ok);
	if (!ok) {
		snprintf(why, whylen, "IDT at 0x%08x is not in mapped memory",
			 (uint32_t)idtr.base);
		return BROKEN;
	}
	struct desc gate;
	desc_decode(glo, ghi, &gate);

	/* 2. it must be a task, interrupt or trap gate */
	if (gate.s || (gate.type != GATE_TASK && gate.type != GATE_INTR32 &&
		       gate.type != GATE_TRAP32 && gate.type != GATE_INTR16 &&
		       gate.type != GATE_TRAP16)) {
		*nested = mkfault(VEC_GP, idt_err);
		return FAULTED;
	}
	/* int n, int3 and into in virtual-8086 mode need IOPL 3 */
	if (ev->software && vm86 && ((eflags >> 12) & 3) < 3) {
		*nested = mkfault(VEC_GP, 0);
		return FAULTED;
	}
	/* 3. int n, int3 and into may only use gates with DPL >= CPL */
	if (ev->software && gate.dpl < (unsigned)cpl) {
		*nested = mkfault(VEC_GP, (uint32_t)ev->vector * 8 + 2);
		return FAULTED;
	}
	/* 4. the gate must be present */
	if (!gate.p) {
		*nested = mkfault(VEC_NP, idt_err);
		return FAULTED;
	}
	if (gate.type == GATE_TASK) {
		snprintf(why, whylen, "vector %d is a task gate to TSS selector 0x%04x "
			 "(GDT entry %u): hardware task switches are not modelled",
			 ev->vector, glo >> 16, (glo >> 16) / 8);
		return TASK_GATE;
	}
	if (gate.type == GATE_INTR16 || gate.type == GATE_TRAP16) {
		snprintf(why, whylen, "vector %d: 16-bit gates are not modelled", ev->vector);
		return BROKEN;
	}

	/* 5. the target code segment */
	uint16_t sel = (uint16_t)(glo >> 16);
	uint32_t offset = (ghi & 0xffff0000) | (glo & 0xffff);
	struct desc cs;
	if ((sel & 0xfffc) == 0) {
		*nested = mkfault(VEC_GP, ext);
		return FAULTED;
	}
	if (desc_fetch(m, sel, &cs) < 0 || !cs.s || !(cs.type & 8) ||
	    cs.dpl > (unsigned)cpl) {
		*nested = mkfault(VEC_GP, (sel & 0xfffc) + ext);
		return FAULTED;
	}
	if (!cs.p) {
		*nested = mkfault(VEC_NP, (sel & 0xfffc) + ext);
		return FAULTED;
	}
	/* from virtual-8086 mode only a DPL-0 nonconforming code segment will do */
	if (vm86 && ((cs.type & 4) || cs.dpl != 0)) {
		*nested = mkfault(VEC_GP, (sel & 0xfffc) + ext);
		return FAULTED;
	}

	uint32_t new_flags = eflags & ~(ENTRYEMU_EFLAGS_TF | ENTRYEMU_EFLAGS_NT |
					ENTRYEMU_EFLAGS_RF | ENTRYEMU_EFLAGS_VM);
	if (gate.type == GATE_INTR32)
		new_flags &= ~ENTRYEMU_EFLAGS_IF;
	int conforming = (cs.type & 4) != 0;
	int new_cpl = conforming ? cpl : (int)cs.dpl;
	uint32_t words[10], n = 0, esp;
	uint16_t new_ss = old_ss;

	if (new_cpl < cpl) {
		/* 6a. inter-privilege: the new stack comes from the TSS */
		uint32_t slot = 4 + 8 * (uint32_t)new_cpl;	/* esp<n>, ss<n> */
		if (slot + 5 > tr.limit) {
			*nested = mkfault(VEC_TS, (tr.selector & 0xfffc) + ext);
			return FAULTED;
		}
		esp = machine_rd32(m, (uint32_t)tr.base + slot, &ok);
		new_ss = (uint16_t)machine_rd32(m, (uint32_t)tr.base + slot + 4, &ok);
		if (!ok) {
			snprintf(why, whylen, "TSS at 0x%08x is not in mapped memory",
				 (uint32_t)tr.base);
			return BROKEN;
		}
		struct desc ss;
		if ((new_ss & 0xfffc) == 0) {
			*nested = mkfault(VEC_TS, ext);
			return FAULTED;
		}
		if (desc_fetch(m, new_ss, &ss) < 0 || (new_ss & 3) != (unsigned)new_cpl ||
		    ss.dpl != (unsigned)new_cpl || !ss.s || (ss.type & 8) || !(ss.type & 2)) {
			*nested = mkfault(VEC_TS, (new_ss & 0xfffc) + ext);
			return FAULTED;
		}
		if (!ss.p) {
			*nested = mkfault(VEC_SS, (new_ss & 0xfffc) + ext);
			return FAULTED;
		}
		if (vm86) {
			/* INTERRUPT-FROM-VIRTUAL-8086-MODE: the data segments first */
			static const int segs[] = { UC_X86_REG_GS, UC_X86_REG_FS,
						    UC_X86_REG_DS, UC_X86_REG_ES };
			for (int i = 0; i < 4; i++) {
				uint16_t v = 0;
				uc_reg_read(m->uc, segs[i], &v);
				words[n++] = v;
			}
		}
		words[n++] = old_ss;
		words[n++] = old_esp;
	} else {
		/* 6b. same privilege: push on the current stack */
		esp = old_esp;
	}
	words[n++] = eflags;
	words[n++] = old_cs;
	words[n++] = ev->eip;
	if (ev->has_error)
		words[n++] = ev->error;

	/*
	 * The pushes go through SS: its base, and for a 16-bit stack segment
	 * (B = 0, such as ESPFIX_SS) only SP moves (SDM vol. 3 6.12.1).
	 */
	uint32_t base = 0, frame_off;
	int stack16 = 0;
	struct desc ssd;
	if (desc_fetch(m, new_ss, &ssd) == 0 && ssd.s) {
		base = ssd.base;
		stack16 = !ssd.db;
	}
	if (stack16)
		frame_off = (esp & 0xffff0000u) | ((esp - 4 * n) & 0xffff);
	else
		frame_off = esp - 4 * n;
	uint32_t frame = base + (stack16 ? frame_off & 0xffff : frame_off);
	uint8_t *stack = machine_wptr(m, frame, 4 * n);
	if (!stack) {
		snprintf(why, whylen, "delivering vector %d: the stack at 0x%08x is not "
			 "mapped", ev->vector, frame);
		return BROKEN;
	}
	/* highest address first: SS, ESP, EFLAGS, CS, EIP, error code */
	for (uint32_t i = 0; i < n; i++)
		memcpy(stack + 4 * (n - 1 - i), &words[i], 4);

	/* 7. flags: TF, NT, RF, VM cleared; IF too through an interrupt gate */

	if (new_cpl < cpl && cpl == 3) {
		/* the checkers keep what the kernel must save and give back */
		struct entryemu_regs user;
		machine_read_regs(m, &user);
		user.eflags = eflags;
		uint32_t hw[5] = { ev->eip, old_cs, eflags, old_esp, old_ss };
		checks_entry(m, ev->vector, &user, hw, esp);
	}

	/* 8. load SS:ESP, CS:EIP */
	if (new_cpl < cpl) {
		if (vm86)	/* leave vm86 first, or the real-mode trick lands in CPL 3 */
			machine_set_reg(m, UC_X86_REG_EFLAGS, new_flags);
		if (machine_enter_ring0(m, new_ss, frame_off, sel)) {
			snprintf(why, whylen, "the emulator refused SS=0x%04x CS=0x%04x",
				 new_ss, sel);
			return BROKEN;
		}
		if (cpl == 3)
			m->in_kernel = 1;
		if (vm86) {
			/* and the data segments are left null */
			static const int segs[] = { UC_X86_REG_DS, UC_X86_REG_ES,
						    UC_X86_REG_FS, UC_X86_REG_GS };
			uint32_t z = 0;
			for (int i = 0; i < 4; i++)
				uc_reg_write(m->uc, segs[i], &z);
		}
	} else {
		machine_set_reg(m, UC_X86_REG_ESP, frame_off);
		if (sel != old_cs) {
			uint32_t c = sel;
			uc_reg_write(m->uc, UC_X86_REG_CS, &c);
		}
	}
	machine_set_reg(m, UC_X86_REG_EFLAGS, new_flags);
	machine_set_reg(m, UC_X86_REG_EIP, offset);
	record(m, ev, cpl, offset, frame);
	return DELIVERED;
}

/* SDM vol. 3 table 6-4: the exception classes that decide a double fault. */
static int contributory(int vector)
{
	return vector == VEC_DE || vector == VEC_TS || vector == VEC_NP ||
	       vector == VEC_SS || vector == VEC_GP;
}

/*
 * Deliver ev.  A fault raised by the delivery is itself delivered, with
 * EXT set, unless table 6-5 makes the pair a double fault: a contributory
 * fault while delivering a contributory exception, or a contributory
 * fault or #PF while delivering a #PF.  A fault while delivering #DF
 * shuts the processor down.  Software interrupts, benign exceptions and
 * external interrupts are not "first exceptions" for this rule.
 */
static void deliver_chain(struct entryemu *m, struct event ev)
{
	char why[256] = "";
	for (int depth = 0; depth < 4; depth++) {
		struct fault f;
		enum delivered d = deliver(m, &ev, &f, why, sizeof(why));
		if (d == DELIVERED)
			return;
		if (d == TASK_GATE) {
			run_oops(m, "%s%s", ev.vector == VEC_DF ? "double fault: " : "", why);
			return;
		}
		if (d == BROKEN) {
			machine_stop(m, ENTRYEMU_UNSUPPORTED, "%s", why);
			return;
		}
		if (ev.vector == VEC_DF) {
			run_oops(m, "triple fault: vector %d while delivering a double fault "
				 "(the processor shuts down)", f.vector);
			return;
		}
		int first_is_exception = !ev.software && ev.vector < 32;
		int dbl = first_is_exception &&
			  ((contributory(ev.vector) && contributory(f.vector)) ||
			   (ev.vector == VEC_PF && (contributory(f.vector) || f.vector == VEC_PF)));
		/* the delivery itself faulted: raised at the same instruction */
		struct event next = {
			.vector = dbl ? VEC_DF : f.vector,
			.software = 0,
			.has_error = 1,
			.error = dbl ? 0 : f.error,
			.eip = ev.software ? ev.insn_eip : ev.eip,
			.insn_eip = ev.insn_eip,
		};
		ev = next;
	}
	run_oops(m, "exceptions nested too deep while delivering vector %d", ev.vector);
}

/* An event from outside the instruction stream (injection, IRQ, NMI). */
void deliver_external(struct entryemu *m, int vector, int has_error, uint32_t error,
		      uint32_t eip)
{
	struct event ev = { .vector = vector, .software = 0, .has_error = has_error,
			    .error = error, .eip = eip, .insn_eip = eip };
	deliver_chain(m, ev);
}

/* Bytes before eip that form "int n" (CD n), "int3" (CC) or "into" (CE). */
static int software_int_len(struct entryemu *m, uint32_t eip, uint32_t vec)
{
	uint8_t *p2 = machine_ptr(m, eip - 2, 2);
	uint8_t *p1 = machine_ptr(m, eip - 1, 1);
	if (vec == VEC_BP && p1 && p1[0] == 0xcc)
		return 1;
	if (vec == VEC_OF && p1 && p1[0] == 0xce)
		return 1;
	if (p2 && p2[0] == 0xcd && p2[1] == vec)
		return 2;
	return 0;
}

/*
 * UC_HOOK_INTR: the CPU raised vector intno.  For int n, EIP is already
 * past the instruction; for a fault it is the faulting instruction (and
 * nothing of it has been committed).
 */
static void deliver_intr(struct entryemu *m, uint32_t intno);

void deliver_intr_hook(uc_engine *uc, uint32_t intno, void *data)
{
	struct entryemu *m = data;
	(void)uc;
	if (m->stopping)
		return;
	uint64_t t0 = prof_now(m);
	deliver_intr(m, intno);
	PROF_ADD(m, deliver_ns, t0);
}

static void deliver_intr(struct entryemu *m, uint32_t intno)
{
	uint32_t eip = machine_reg(m, UC_X86_REG_EIP);
	/* code addresses are linear: CS's base + EIP (CS * 16 in vm86 mode) */
	uint32_t pc = machine_linear_pc(m);
	struct event ev = { .vector = (int)intno, .eip = eip, .insn_eip = eip };
	int len = software_int_len(m, pc, intno);

	if (len || intno >= 32) {
		ev.software = 1;
		ev.insn_eip = eip - (uint32_t)len;
		count_unexecuted(m, pc);
	} else if (intno == VEC_DB) {
		ev.eip = eip;			/* single-step trap: after the insn */
		count_unexecuted(m, pc);
	} else if (machine_reg(m, UC_X86_REG_EFLAGS) & ENTRYEMU_EFLAGS_VM) {
		/*
		 * Faults in vm86 mode are the IOPL-sensitive instructions'
		 * #GP(0) and the like: no selector, so error code 0.
		 */
		count_unexecuted(m, pc);
		ev.has_error = vector_has_error_code((int)intno);
		ev.error = 0;
	} else {
		struct fault_info fi;
		count_unexecuted(m, pc);	/* the faulting insn did not retire */
		if (fault_derive(m, (int)intno, eip, &fi) < 0) {
			char sym[128];
			machine_stop(m, ENTRYEMU_UNSUPPORTED, "exception %u at %s: %s",
				     intno, entryemu_symbolize(m, eip, sym, sizeof(sym)),
				     fi.why);
			return;
		}
		ev.has_error = fi.has_error;
		ev.error = fi.error;
	}
	deliver_chain(m, ev);
}

/*
 * SYSENTER (SDM vol. 2): a fast transition to CPL 0 that pushes nothing.
 * CS = IA32_SYSENTER_CS (RPL cleared), SS = CS + 8, ESP and EIP from
 * their MSRs; VM, IF and RF are cleared, TF is not (a single step into
 * sysenter traps on the kernel's first instruction, on the sysenter
 * stack).  #GP(0) if SYSENTER_CS is null.  Unicorn calls this hook and
 * then advances EIP by the instruction's length, so EIP is set 2 short.
 */
static void deliver_sysenter(uc_engine *uc, struct entryemu *m);

void deliver_sysenter_hook(uc_engine *uc, void *data)
{
	struct entryemu *m = data;
	if (m->stopping)
		return;
	uint64_t t0 = prof_now(m);
	deliver_sysenter(uc, m);
	PROF_ADD(m, deliver_ns, t0);
}

static void deliver_sysenter(uc_engine *uc, struct entryemu *m)
{
	uc_x86_msr cs = { .rid = 0x174 }, esp = { .rid = 0x175 }, eip = { .rid = 0x176 };
	uc_reg_read(uc, UC_X86_REG_MSR, &cs);
	uc_reg_read(uc, UC_X86_REG_MSR, &esp);
	uc_reg_read(uc, UC_X86_REG_MSR, &eip);
	uint32_t at = machine_reg(m, UC_X86_REG_EIP);
	int cpl = machine_cpl(m);
	if ((cs.value & 0xfffc) == 0) {
		struct event ev = { .vector = VEC_GP, .has_error = 1, .error = 0,
				    .eip = at, .insn_eip = at };
		deliver_chain(m, ev);
		/* Unicorn adds the length of sysenter to whatever EIP is now */
		machine_set_reg(m, UC_X86_REG_EIP, machine_reg(m, UC_X86_REG_EIP) - 2);
		return;
	}
	uint32_t eflags = machine_reg(m, UC_X86_REG_EFLAGS);
	uint16_t sel = (uint16_t)(cs.value & 0xfffc);
	if (cpl == 3) {
		/* pt_regs will be built by hand: EIP from thread_info, ESP from %ebp */
		struct entryemu_regs user;
		machine_read_regs(m, &user);
		uint32_t ret = 0, esp0 = 0;
		entryemu_mem_read(m, KSTACK_BASE + (uint32_t)m->img.layout.ti_sysenter_return,
				  &ret, 4);
		entryemu_mem_read(m, SYS_TSS + (uint32_t)m->img.layout.tss_esp0, &esp0, 4);
		uint32_t hw[5] = { ret, ENTRYEMU_USER_CS, 0, user.ebp, ENTRYEMU_USER_DS };
		checks_entry(m, ENTRYEMU_EVENT_SYSENTER, &user, hw, esp0);
	}
	if (machine_enter_ring0(m, (uint16_t)(sel + 8), (uint32_t)esp.value, sel)) {
		machine_stop(m, ENTRYEMU_ERROR, "the emulator refused the sysenter selectors");
		return;
	}
	machine_set_reg(m, UC_X86_REG_EFLAGS, eflags & ~(ENTRYEMU_EFLAGS_VM |
		ENTRYEMU_EFLAGS_IF | ENTRYEMU_EFLAGS_RF));
	machine_set_reg(m, UC_X86_REG_EIP, (uint32_t)eip.value - 2);
	if (cpl == 3)
		m->in_kernel = 1;
	struct event ev = { .vector = ENTRYEMU_EVENT_SYSENTER, .software = 1,
			    .eip = at + 2, .insn_eip = at };
	record(m, &ev, cpl, (uint32_t)eip.value, (uint32_t)esp.value);
}

/*
 * An access to memory nothing is mapped at: without paging Unicorn stops
 * with an error; the CPU with paging raises #PF.  Error code (SDM vol. 3
 * 4.7): P = 0 (not present), W/R = the access was a write, U/S = it was
 * made at CPL 3; CR2 = the linear address.
 */
void deliver_page_fault(struct entryemu *m, uint32_t addr, int write, int fetch)
{
	/*
	 * A fetch faults at the target, which is where EIP already is.  For a
	 * data access Unicorn leaves EIP wherever the last exit to its main
	 * loop put it (chained blocks do not update it); the block hook saw
	 * the block that was running, and the faulting instruction in it is
	 * found by its access.
	 */
	uint32_t eip = machine_reg(m, UC_X86_REG_EIP);
	if (!fetch && !(machine_reg(m, UC_X86_REG_EFLAGS) & ENTRYEMU_EFLAGS_VM)) {
		uint32_t at = fault_locate_access(m, m->cur_block.addr, addr);
		if (!at) {
			char sym[128];
			machine_stop(m, ENTRYEMU_UNSUPPORTED, "access to unmapped 0x%08x in the "
				     "block at %s: no instruction there makes it", addr,
				     entryemu_symbolize(m, m->cur_block.addr, sym, sizeof(sym)));
			return;
		}
		eip = at;
		machine_set_reg(m, UC_X86_REG_EIP, eip);
	}
	uint32_t err = (write ? 2u : 0u) | (machine_cpl(m) == 3 ? 4u : 0u);
	machine_set_reg(m, UC_X86_REG_CR2, addr);
	count_unexecuted(m, eip);
	struct event ev = { .vector = VEC_PF, .has_error = 1, .error = err,
			    .eip = eip, .insn_eip = eip };
	deliver_chain(m, ev);
}

/* An invalid opcode at the current EIP: #UD, a fault, no error code. */
void deliver_invalid_opcode(struct entryemu *m)
{
	uint32_t eip = machine_reg(m, UC_X86_REG_EIP);
	count_unexecuted(m, eip);
	struct event ev = { .vector = VEC_UD, .eip = eip, .insn_eip = eip };
	deliver_chain(m, ev);
}
