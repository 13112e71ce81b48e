/*
 * The delivery model: deliver_model() follows the manual's order.  IDT
 * limit, gate type, gate DPL (software interrupts only), gate present,
 * target code segment, then either an inter-privilege transfer through
 * the TSS (ss0:esp0) or a same-privilege one on the current stack; the
 * frame is laid out, TF, NT, RF and VM are cleared (and IF for an
 * interrupt gate), and CS:EIP come from the gate.  A check that fails
 * yields the fault the manual names.  Only the snapshot and the memory
 * view are read; nothing is written.
 */
#include "cpu/deliver_model.h"

#include <entryemu/entryemu.h>
#include <stdio.h>
#include <string.h>

int model_desc_fetch(const struct cpu_snapshot *cpu, const struct mem_view *mem,
		     uint16_t sel, struct desc *d)
{
	const struct cpu_table *t = (sel & 4) ? &cpu->ldtr : &cpu->gdtr;
	uint32_t off = sel & ~7u, lo, hi;
	if ((sel & 4) && (t->selector & 0xfffc) == 0)
		return -1;			/* no LDT loaded */
	if (off + 7 > t->limit || mem->read32(mem->ctx, t->base + off, &lo) ||
	    mem->read32(mem->ctx, t->base + off + 4, &hi))
		return -1;
	desc_decode(lo, hi, d);
	return 0;
}

/*
 * Table 6-1's "Fault" class: the saved CS:EIP names the faulting
 * instruction, to be restarted.  #DB (fault or trap) is left out: an
 * instruction breakpoint is the one fault that keeps RF as it is.
 */
static int fault_class(int vector)
{
	switch (vector) {
	case VEC_DE: case VEC_BR: case VEC_UD: case VEC_NM: case VEC_CSO:
	case VEC_TS: case VEC_NP: case VEC_SS: case VEC_GP: case VEC_PF:
	case VEC_MF: case VEC_AC: case VEC_XM: case 20: case 21:
		return 1;
	default:
		return 0;
	}
}

/*
 * The EFLAGS image the CPU pushes.  SDM vol. 3 17.3.1.1, "Instruction-
 * Breakpoint Exception Condition": "When calling an event handler, Intel
 * 64 and IA-32 processors establish the value of the RF flag in the
 * EFLAGS image pushed on the stack: For any fault-class exception except
 * a debug exception generated in response to an instruction breakpoint,
 * the value pushed for RF is 1. [...] For other cases, the value pushed
 * for RF is the value that was in EFLAG.RF at the time the event handler
 * was called. This includes [...] Hardware-generated interrupts arriving
 * between instructions [...] Trap-class exceptions generated after an
 * instruction completes [...] Software-generated interrupts (RF is
 * pushed as 0, since it was cleared at the start of the software
 * interrupt)."  int n, int3 and into are the software-generated ones.
 * AMD documents otherwise: its processors do not set RF in the pushed
 * image for exceptions other than an instruction-breakpoint #DB (AMD64
 * APM vol. 2, chapter 8 and the RF bit of RFLAGS), so with cpu->amd a
 * fault's frame holds RF as it was.
 */
static uint32_t pushed_eflags(const struct cpu_snapshot *cpu, const struct event *ev,
			      uint32_t eflags)
{
	if (ev->software)
		return eflags & ~ENTRYEMU_EFLAGS_RF;
	if (fault_class(ev->vector) && !cpu->amd)
		return eflags | ENTRYEMU_EFLAGS_RF;
	return eflags;
}

static void faulted(struct delivery *out, int vector, uint32_t error)
{
	out->status = FAULTED;
	out->nested.vector = vector;
	out->nested.error = error;
}

void deliver_model(const struct cpu_snapshot *cpu, const struct mem_view *mem,
		   const struct event *ev, struct delivery *out)
{
	memset(out, 0, sizeof(*out));
	uint32_t ext = ev->software ? 0 : 1;
	uint32_t idt_err = (uint32_t)ev->vector * 8 + 2 + ext;	/* IDT bit set */
	uint32_t eflags = cpu->eflags;
	int vm86 = (eflags & ENTRYEMU_EFLAGS_VM) != 0;
	int cpl = vm86 ? 3 : cpu->cs & 3;	/* virtual-8086 mode runs at CPL 3 */
	out->cpl = cpl;

	/* 1. the gate must lie within the IDT */
	if ((uint32_t)ev->vector * 8 + 7 > cpu->idtr.limit)
		{
		faulted(out, VEC_GP, idt_err);
		return;
	}
	uint32_t glo, ghi;
	if (mem->read32(mem->ctx, cpu->idtr.base + (uint32_t)ev->vector * 8, &glo) ||
	    mem->read32(mem->ctx, cpu->idtr.base + (uint32_t)ev->vector * 8 + 4, &ghi)) {
		out->status = BROKEN;
		snprintf(out->why, sizeof(out->why), "IDT at 0x%08x is not in mapped memory",
			 cpu->idtr.base);
		return;
	}
	struct desc gate;
	desc_decode(glo, ghi, &gate);

	/* 2. it must be a task, interrupt or trap gate */
	if (gate.s || (gate.type != GATE_TASK && gate.type != GATE_INTR32 &&
		       gate.type != GATE_TRAP32 && gate.type != GATE_INTR16 &&
		       gate.type != GATE_TRAP16))
		{
		faulted(out, VEC_GP, idt_err);
		return;
	}
	/*
	 * In virtual-8086 mode INT n needs IOPL 3; int3 and into do not.
	 * SDM vol. 2A INT n/INTO/INT3, Operation: "IF (VM = 1 and IOPL < 3
	 * AND INT n) THEN #GP(0);" (and vol. 3 20.3.1.1: only INT n is
	 * IOPL-sensitive among them).
	 */
	if (ev->int_n && vm86 && ((eflags >> 12) & 3) < 3)
		{
		faulted(out, VEC_GP, 0);
		return;
	}
	/* 3. int n, int3 and into may only use gates with DPL >= CPL */
	if (ev->software && gate.dpl < (unsigned)cpl)
		{
		faulted(out, VEC_GP, (uint32_t)ev->vector * 8 + 2);
		return;
	}
	/* 4. the gate must be present */
	if (!gate.p)
		{
		faulted(out, VEC_NP, idt_err);
		return;
	}
	if (gate.type == GATE_TASK) {
		out->status = TASK_GATE;
		snprintf(out->why, sizeof(out->why), "vector %d is a task gate to TSS selector "
			 "0x%04x (GDT entry %u): hardware task switches are not modelled",
			 ev->vector, glo >> 16, (glo >> 16) / 8);
		return;
	}
	if (gate.type == GATE_INTR16 || gate.type == GATE_TRAP16) {
		out->status = BROKEN;
		snprintf(out->why, sizeof(out->why), "vector %d: 16-bit gates are not modelled",
			 ev->vector);
		return;
	}

	/* 5. the target code segment */
	uint16_t sel = (uint16_t)(glo >> 16);
	uint32_t offset = (ghi & 0xffff0000) | (glo & 0xffff);
	struct desc cs;
	if ((sel & 0xfffc) == 0)
		{
		faulted(out, VEC_GP, ext);
		return;
	}
	if (model_desc_fetch(cpu, mem, sel, &cs) < 0 || !cs.s || !(cs.type & 8) ||
	    cs.dpl > (unsigned)cpl)
		{
		faulted(out, VEC_GP, (sel & 0xfffc) + ext);
		return;
	}
	if (!cs.p)
		{
		faulted(out, VEC_NP, (sel & 0xfffc) + ext);
		return;
	}
	/* from virtual-8086 mode only a DPL-0 nonconforming code segment will do */
	if (vm86 && ((cs.type & 4) || cs.dpl != 0))
		{
		faulted(out, VEC_GP, (sel & 0xfffc) + ext);
		return;
	}

	int conforming = (cs.type & 4) != 0;
	int new_cpl = conforming ? cpl : (int)cs.dpl;
	uint32_t *w = out->words, n = 0, esp;
	uint16_t new_ss = cpu->ss;
	struct desc ss;			/* the stack the frame goes to */
	int have_ss;

	if (new_cpl < cpl) {
		/* 6a. inter-privilege: the new stack comes from the TSS */
		uint32_t slot = 4 + 8 * (uint32_t)new_cpl;	/* esp<n>, ss<n> */
		uint32_t ss32;
		if (slot + 5 > cpu->tr.limit)
			{
		faulted(out, VEC_TS, (cpu->tr.selector & 0xfffc) + ext);
		return;
	}
		if (mem->read32(mem->ctx, cpu->tr.base + slot, &esp) ||
		    mem->read32(mem->ctx, cpu->tr.base + slot + 4, &ss32)) {
			out->status = BROKEN;
			snprintf(out->why, sizeof(out->why), "TSS at 0x%08x is not in mapped memory",
				 cpu->tr.base);
			return;
		}
		new_ss = (uint16_t)ss32;
		if ((new_ss & 0xfffc) == 0)
			{
		faulted(out, VEC_TS, ext);
		return;
	}
		if (model_desc_fetch(cpu, mem, new_ss, &ss) < 0 ||
		    (new_ss & 3) != (unsigned)new_cpl || ss.dpl != (unsigned)new_cpl || !ss.s ||
		    (ss.type & 8) || !(ss.type & 2))
			{
		faulted(out, VEC_TS, (new_ss & 0xfffc) + ext);
		return;
	}
		if (!ss.p)
			{
		faulted(out, VEC_SS, (new_ss & 0xfffc) + ext);
		return;
	}
		if (vm86) {
			/* INTERRUPT-FROM-VIRTUAL-8086-MODE: the data segments first */
			w[n++] = cpu->gs;
			w[n++] = cpu->fs;
			w[n++] = cpu->ds;
			w[n++] = cpu->es;
		}
		w[n++] = cpu->ss;
		w[n++] = cpu->esp;
		have_ss = 1;
	} else {
		/* 6b. same privilege: push on the current stack */
		esp = cpu->esp;
		have_ss = model_desc_fetch(cpu, mem, new_ss, &ss) == 0;
	}
	out->pushed_eflags = pushed_eflags(cpu, ev, eflags);
	w[n++] = out->pushed_eflags;
	w[n++] = cpu->cs;
	w[n++] = ev->eip;
	if (ev->has_error)
		w[n++] = ev->error;
	out->nwords = n;

	/*
	 * The pushes go through SS: its base, and for a 16-bit stack segment
	 * (B = 0, such as ESPFIX_SS) only SP moves (SDM vol. 3 6.12.1).
	 */
	uint32_t base = 0;
	int stack16 = 0;
	if (have_ss && ss.s) {
		base = ss.base;
		stack16 = !ss.db;
	}
	if (stack16)
		out->new_esp = (esp & 0xffff0000u) | ((esp - 4 * n) & 0xffff);
	else
		out->new_esp = esp - 4 * n;
	out->frame = base + (stack16 ? out->new_esp & 0xffff : out->new_esp);

	/* 7. flags: TF, NT, RF, VM cleared; IF too through an interrupt gate */
	uint32_t new_flags = eflags & ~(ENTRYEMU_EFLAGS_TF | ENTRYEMU_EFLAGS_NT |
					ENTRYEMU_EFLAGS_RF | ENTRYEMU_EFLAGS_VM);
	if (gate.type == GATE_INTR32)
		new_flags &= ~ENTRYEMU_EFLAGS_IF;

	/* 8. the new SS:ESP, CS:EIP */
	out->status = DELIVERED;
	out->new_cpl = new_cpl;
	out->vm86 = vm86 && new_cpl < cpl;
	out->new_ss = new_ss;
	out->new_cs = sel;
	out->new_eip = offset;
	out->new_eflags = new_flags;
}
