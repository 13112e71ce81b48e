/*
 * Protected-mode event delivery, as the Intel SDM vol. 3 ch. 6 describes
 * it ("Interrupt and exception handling"), because Unicorn does none: it
 * reports the vector to a hook and leaves CS, SS, ESP and the stack as
 * they were.
 *
 * The model itself (deliver_model.c) is a pure function of a CPU
 * snapshot and the tables in memory; this file takes the snapshot,
 * writes the outcome to the engine and the stack, tells the run, and
 * chains the faults a failed delivery raises: a fault while delivering
 * is delivered in turn, and table 6-5 makes some pairs a double fault.
 */
#include "cpu/cpu.h"
#include "cpu/deliver_model.h"
#include "cpu/fault.h"
#include "cpu/insn_size.h"
#include "cpu/paging.h"

#include <stdio.h>
#include <string.h>

static int read_guest(void *ctx, uint32_t addr, uint32_t *out)
{
	int ok = 1;
	*out = machine_rd32(ctx, addr, &ok);
	return ok ? 0 : -1;
}

/* The CPU as the event finds it, in one read; *all gets every register. */
static void snapshot(struct entryemu *m, struct cpu_snapshot *c, struct entryemu_regs *all)
{
	machine_read_regs(m, all);
	c->amd = m->setup && m->setup->cpu == ENTRYEMU_CPU_AMD;
	c->eflags = all->eflags, c->esp = all->esp;
	c->cs = all->cs, c->ss = all->ss, c->ds = all->ds;
	c->es = all->es, c->fs = all->fs, c->gs = all->gs;
	struct engine_table_reg t[4];
	if (engine_tables(m->eng, t))
		memset(t, 0, sizeof(t));
	c->gdtr = (struct cpu_table){ t[ET_GDTR].selector, t[ET_GDTR].base, t[ET_GDTR].limit };
	c->idtr = (struct cpu_table){ t[ET_IDTR].selector, t[ET_IDTR].base, t[ET_IDTR].limit };
	c->ldtr = (struct cpu_table){ t[ET_LDTR].selector, t[ET_LDTR].base, t[ET_LDTR].limit };
	c->tr = (struct cpu_table){ t[ET_TR].selector, t[ET_TR].base, t[ET_TR].limit };
}

/*
 * Tell the run's observers: the event record, and for an entry from
 * ring 3 what the CPU had (out->u.delivered.user_entry and the rest,
 * filled in by the caller).
 */
static void emit(struct entryemu *m, struct run_event *out, const struct event *ev,
		 int cpl, uint32_t handler, uint32_t frame)
{
	struct entryemu_event_record *e = &out->u.delivered.rec;
	out->kind = RUN_EV_DELIVERED;
	e->vector = ev->vector;
	e->software = ev->software;
	e->has_error_code = ev->has_error;
	e->error_code = ev->error;
	e->eip = ev->eip;
	e->from_cpl = cpl;
	e->handler = handler;
	e->frame = frame;
	e->trace_index = 0;		/* the recorder knows the trace */
	out->u.delivered.unlisted = m->cpu->fault_unlisted;
	m->cpu->fault_unlisted = 0;
	if (m->stream)
		stream_emit(m->stream, out);
}

/* One delivery: the model decides, and what it decided is written here. */
static enum delivered deliver(struct entryemu *m, const struct event *ev,
			      struct fault *nested, char *why, size_t whylen)
{
	struct cpu_snapshot cpu;
	struct entryemu_regs regs;
	struct delivery d;
	struct mem_view mem = { read_guest, m };
	snapshot(m, &cpu, &regs);
	deliver_model(&cpu, &mem, ev, &d);
	if (d.status != DELIVERED) {
		*nested = d.nested;
		snprintf(why, whylen, "%s", d.why);
		return d.status;
	}
	uint8_t *stack = machine_wptr(m, d.frame, 4 * d.nwords);
	if (!stack) {
		snprintf(why, whylen, "delivering vector %d: the stack at 0x%08x is not "
			 "mapped", ev->vector, d.frame);
		return BROKEN;
	}
	struct run_event out;
	out.u.delivered.user_entry = d.new_cpl < d.cpl && d.cpl == 3;
	if (out.u.delivered.user_entry) {
		/* the checkers keep what the kernel must save and give back */
		out.u.delivered.user = regs;
		uint32_t hw[5] = { ev->eip, cpu.cs, d.pushed_eflags, cpu.esp, cpu.ss };
		memcpy(out.u.delivered.hw, hw, sizeof(hw));
		out.u.delivered.esp0 = d.new_esp + 4 * d.nwords;
	}
	/* highest address first: the first word pushed */
	for (uint32_t i = 0; i < d.nwords; i++)
		memcpy(stack + 4 * (d.nwords - 1 - i), &d.words[i], 4);
	if (d.new_cpl < d.cpl) {
		if (d.vm86)	/* leave vm86 first, or the real-mode trick lands in CPL 3 */
			machine_set_reg(m, ER_EFLAGS, d.new_eflags);
		if (machine_enter_ring0_at(m, d.new_ss, d.new_esp, d.new_cs, d.new_eflags,
					   d.new_eip)) {
			snprintf(why, whylen, "the emulator refused SS=0x%04x CS=0x%04x",
				 d.new_ss, d.new_cs);
			return BROKEN;
		}
		if (d.cpl == 3)
			m->cpu->in_kernel = 1;
		if (d.vm86) {
			/* and the data segments are left null */
			static const enum engine_reg segs[] = { ER_DS, ER_ES, ER_FS, ER_GS };
			static const uint32_t zero[4];
			engine_set_regs(m->eng, segs, zero, 4);
		}
	} else {
		machine_set_reg(m, ER_ESP, d.new_esp);
		if (d.new_cs != cpu.cs)
			engine_set_reg(m->eng, ER_CS, d.new_cs);
		machine_set_reg(m, ER_EFLAGS, d.new_eflags);
		machine_set_reg(m, ER_EIP, d.new_eip);
	}
	out.u.delivered.rec.to_cpl = d.new_cpl;
	emit(m, &out, ev, d.cpl, d.new_eip, d.frame);
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
/*
 * RCL and RCR take CF in, and the engine's translation works the
 * arithmetic flags out before the instruction's memory access; when
 * that access faults, the state at the instruction's start is put back
 * with the kind of the lazily kept flags but not their operands, and the
 * EFLAGS a fault then pushes are neither the old ones nor new ones
 * (after `cmp $0x9b3d3d3d,%eax' with EAX 0x7b1400, CF, PF and AF set,
 * an RCL whose read faults pushed CF and AF clear).  A fault does not
 * change EFLAGS (SDM vol. 3A 6.5): they are read, where such an
 * instruction is next in user code, before it runs (the user hook,
 * run.c, in a block whose decode found one), and put back for an event
 * at it.
 */
void deliver_note_flags(struct entryemu *m, uint32_t addr)
{
	size_t n = machine_avail(m, addr, 15);
	const uint8_t *p = n ? machine_ptr(m, addr, 1) : NULL;
	m->cpu->flags_at = 0;
	if (p && insn_rotates_through_carry_memory(p, n)) {
		m->cpu->flags_at = addr;
		m->cpu->flags_before = machine_reg(m, ER_EFLAGS);
	}
}

/* The arithmetic flags an event at flags_at finds, as they were before it. */
static void flags_before_event(struct entryemu *m, const struct event *ev)
{
	const uint32_t arith = 0x8d5;	/* OF SF ZF AF PF CF */
	uint32_t at = m->cpu->flags_at;
	if (!at || ev->software || machine_cs_base(m) + ev->insn_eip != at)
		return;
	m->cpu->flags_at = 0;
	uint32_t now = machine_reg(m, ER_EFLAGS);
	if ((now ^ m->cpu->flags_before) & arith)
		machine_set_reg(m, ER_EFLAGS, (now & ~arith) | (m->cpu->flags_before & arith));
}

static void deliver_chain(struct entryemu *m, struct event ev)
{
	char why[256] = "";
	flags_before_event(m, &ev);
	/*
	 * Events count against the budget too: a handler that faults again
	 * before its first block completes runs no instruction the counter
	 * sees, and would otherwise loop until the wall-clock limit.
	 */
	struct count_state *c = m->count;
	if (c && ++c->events > c->budget) {
		machine_stop(m, ENTRYEMU_BUDGET, "event budget of %llu exhausted (as many "
			     "events as the instruction budget)", (unsigned long long)c->budget);
		return;
	}
	for (int depth = 0; depth < 4; depth++) {
		struct fault f;
		enum delivered d = deliver(m, &ev, &f, why, sizeof(why));
		if (d == DELIVERED)
			return;
		if (d == TASK_GATE) {
			machine_stop(m, ENTRYEMU_OOPS, "%s%s",
				     ev.vector == VEC_DF && !ev.software ? "double fault: " : "", why);
			return;
		}
		if (d == BROKEN) {
			machine_stop(m, ENTRYEMU_UNSUPPORTED, "%s", why);
			return;
		}
		/* a fault delivering #DF, not `int $8', shuts the processor down */
		if (ev.vector == VEC_DF && !ev.software) {
			machine_stop(m, ENTRYEMU_OOPS, "triple fault: vector %d while delivering a double fault "
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
	machine_stop(m, ENTRYEMU_OOPS, "exceptions nested too deep while delivering vector %d", ev.vector);
}

/* An event from outside the instruction stream (injection, IRQ, NMI). */
void deliver_external(struct entryemu *m, int vector, int has_error, uint32_t error,
		      uint32_t eip)
{
	struct event ev = { .vector = vector, .software = 0, .has_error = has_error,
			    .error = error, .eip = eip, .insn_eip = eip };
	deliver_chain(m, ev);
}

/*
 * Was vector vec, reported with the (linear) PC at pc, a software
 * interrupt that the engine executed: the length of the int n (CD ib),
 * int3 (CC) or into (CE) that ends exactly at pc, prefixes included
 * (*int_n: it is int n), or 0 for a fault at pc.  The bytes alone do
 * not tell (`movl $0x0dcd0000,%ebx; hlt`: the hlt's #GP(0) has CD 0D
 * just before it), so the engine's own account
 * decides: the block it was running when it raised vec.  Unicorn (QEMU)
 * reports int n, int3 and into with EIP after the instruction and a
 * fault with EIP at the faulting instruction, which lies inside the
 * running block; int n and int3 end their translated block (QEMU's
 * gen_interrupt), into does not (helper_into raises #OF only when OF is
 * set).  So: int n / int3 when the running block ends exactly at pc and
 * its last bytes are that instruction; into when the block holds the CE
 * at pc - 1 (vector 4 has no other source; #OF is raised by into only).
 */
static int software_int_len(struct entryemu *m, uint32_t pc, uint32_t vec, int *int_n)
{
	*int_n = 0;
	const struct block_info *b = m->count ? &m->count->cur : NULL;
	if (!b || !b->size)
		return 0;
	uint32_t lo = b->addr, end = b->addr + b->size;
	int ends_block = end == pc;
	/*
	 * The block's last instruction with its prefixes, which a fault of
	 * int n (a gate's DPL below CPL) reports as its start.  The bytes
	 * before cd alone do not tell a prefix from the end of the
	 * instruction before, so where one of them could be a prefix the
	 * block is decoded up to it.  (Not on every int $0x80: most have
	 * none before them.)
	 */
	int prefixed = 0;		/* a prefix byte just before cc, or before cd ib */
	for (uint32_t k = 2; k <= 3 && ends_block; k++) {
		uint8_t *pb = pc - k >= lo && pc - k < end ? machine_ptr(m, pc - k, 1) : NULL;
		prefixed |= pb && fault_legacy_prefix(pb[0]);
	}
	uint32_t start = prefixed ? count_last_start(m, lo, b->size) : 0;
	uint32_t n = start >= lo && start < pc ? pc - start : 0;
	const uint8_t *q = n ? machine_ptr(m, start, n) : NULL;
	uint32_t at = 0;
	while (q && at < n && fault_legacy_prefix(q[at]))
		at++;
	if (q && vec == VEC_BP && n - at == 1 && q[at] == 0xcc)
		return (int)n;
	if (q && n - at == 2 && q[at] == 0xcd && q[at + 1] == vec) {
		*int_n = 1;
		return (int)n;
	}
	uint8_t *p2 = pc - 2 >= lo && pc - 2 < end ? machine_ptr(m, pc - 2, 2) : NULL;
	uint8_t *p1 = pc - 1 >= lo && pc - 1 < end ? machine_ptr(m, pc - 1, 1) : NULL;
	if (vec == VEC_BP && ends_block && p1 && p1[0] == 0xcc)
		return 1;
	if (vec == VEC_OF && p1 && p1[0] == 0xce)
		return 1;
	if (ends_block && p2 && p2[0] == 0xcd && p2[1] == vec) {
		*int_n = 1;
		return 2;
	}
	return 0;
}

/*
 * The bytes at pc (*n of them at hand, at most 15) and, in *at, where
 * the opcode begins after the legacy prefixes, leaving it keep bytes;
 * NULL if there are none, or a LOCK among the prefixes makes the
 * instruction #UD whatever it is (RDPMC and INT1 below: neither has a
 * memory destination; vol. 2A LOCK).
 */
static const uint8_t *opcode_at(struct entryemu *m, uint32_t pc, size_t keep, size_t *n,
				size_t *at)
{
	*n = machine_avail(m, pc, 15);
	const uint8_t *p = *n ? machine_ptr(m, pc, 1) : NULL;
	if (!p)
		return NULL;
	for (*at = 0; *at + keep < *n && fault_legacy_prefix(p[*at]); (*at)++)
		if (p[*at] == 0xf0)
			return NULL;
	return p;
}

/*
 * RDPMC at CPL > 0 with CR4.PCE clear is #GP(0) (SDM vol. 2B RDPMC,
 * "Protected Mode Exceptions": "#GP(0) If the current privilege level
 * is not 0 and the PCE flag in the CR4 register is clear").  Unicorn
 * reports #UD for it.  The machine never sets CR4.PCE (2.6.18 leaves it
 * clear), so at CPL 3 the vector is 13, error code 0: 2.6.18 sends
 * SIGSEGV, not SIGILL.
 */
static int rdpmc_at(struct entryemu *m, uint32_t pc)
{
	size_t n, at;
	/* after any prefixes but LOCK, which RDPMC ignores (vol. 2A 2.1.1) */
	const uint8_t *p = opcode_at(m, pc, 2, &n, &at);
	return p && at + 1 < n && p[at] == 0x0f && p[at + 1] == 0x33 && machine_cpl(m) > 0;
}

/*
 * INT1 (F1, "ICEBP") at pc: its length (after any prefixes but LOCK,
 * which makes any instruction without a memory destination #UD), or 0.
 * The engine raises #UD for it; the CPU raises a debug exception.
 */
static unsigned int1_at(struct entryemu *m, uint32_t pc)
{
	size_t n, at;
	const uint8_t *p = opcode_at(m, pc, 1, &n, &at);
	return p && p[at] == 0xf1 ? (unsigned)at + 1 : 0;
}

/*
 * The engine's interrupt hook: the CPU raised vector intno.  For int n, EIP is already
 * past the instruction; for a fault it is the faulting instruction (and
 * nothing of it has been committed).
 */
static void deliver_intr(struct entryemu *m, uint32_t intno);

/*
 * The faults the engine remembers until its own delivery, which this
 * model replaces: a contributory fault or #PF (its `old_exception`).
 * Each is told delivered (engine_exception_delivered), or the next fault
 * of the run would come back as #DF.
 */
static int engine_remembers(uint32_t intno)
{
	return intno == VEC_DE || intno == VEC_DF || (intno >= VEC_TS && intno <= VEC_PF);
}

void deliver_intr_hook(void *data, uint32_t intno)
{
	struct entryemu *m = data;
	if (machine_stopping(m)) {
		/* the engine would go on at the instruction and raise it again */
		if (engine_remembers(intno))
			engine_exception_delivered(m->eng);
		engine_stop(m->eng);
		return;
	}
	if (machine_access_faulted(m)) {
		/* e.g. the single-step trap of an FNSAVE whose store faulted:
		 * single-step traps after a completed instruction (SDM vol.
		 * 3A 17.3.1.4) */
		if (engine_remembers(intno))
			engine_exception_delivered(m->eng);
		engine_stop(m->eng);
		return;
	}
	uint64_t t0 = prof_now(m);
	iret_vm_restore(m);	/* the IRET faulted: its stack as the program left it */
	deliver_intr(m, intno);
	if (engine_remembers(intno))
		engine_exception_delivered(m->eng);
	PROF_ADD(m, deliver_ns, t0);
}

/*
 * The error code the model derived against the one the CPU computed,
 * where the engine exposes it (engine_exception_error): a difference
 * means one of them is wrong about the manual, so the run ends and the
 * report names both values rather than pushing either.
 */
static int error_disagrees(struct entryemu *m, const struct event *ev,
			   const struct fault_info *fi)
{
	uint32_t cpu_err;
	if (!ev->has_error || fi->engine_differs || engine_exception_error(m->eng, &cpu_err) ||
	    cpu_err == ev->error)
		return 0;
	char sym[128];
	machine_stop(m, ENTRYEMU_UNSUPPORTED, "exception %d at %s (`%s`): the model derived "
		     "error code 0x%x, the CPU computed 0x%x", ev->vector,
		     entryemu_symbolize(m, ev->eip, sym, sizeof(sym)), fi->insn,
		     ev->error, cpu_err);
	return 1;
}

/*
 * A #PF the CPU raised itself: the page tables refused an access to a
 * mapped page (a user access to a supervisor page, a user write to a
 * read-only one).  CR2 holds the address.  Which kind of access it was
 * only the CPU knows (W/R of its error code); the model redoes the walk
 * for that access (paging.c) and derives P and U/S from the tables and
 * CPL, per SDM vol. 3 4.7.  Returns 0 with ev filled, or 1 when the run
 * was stopped.
 */
/* The error code the CPU computed for the #PF at EIP: 0, or 1 when the
 * engine does not expose it and the run was stopped. */
static int cpu_page_fault_error(struct entryemu *m, uint32_t addr, uint32_t *cpu_err)
{
	char sym[128];
	if (!engine_exception_error(m->eng, cpu_err))
		return 0;
	machine_stop(m, ENTRYEMU_UNSUPPORTED, "#PF at %s (CR2 0x%08x): the engine does not "
		     "expose the access's kind (read or write)",
		     entryemu_symbolize(m, machine_reg(m, ER_EIP), sym, sizeof(sym)), addr);
	return 1;
}

static int page_fault_from_cpu(struct entryemu *m, struct event *ev)
{
	uint32_t addr = machine_reg(m, ER_CR2), cpu_err;
	char sym[128];
	if (cpu_page_fault_error(m, addr, &cpu_err))
		return 1;
	int denied;
	uint32_t err = paging_fault_error(m, addr, (cpu_err & PF_W) != 0, machine_cpl(m),
					  &denied);
	if (!denied || err != cpu_err) {
		machine_stop(m, ENTRYEMU_UNSUPPORTED, "#PF at %s (CR2 0x%08x): the page tables "
			     "give error code 0x%x%s, the CPU computed 0x%x",
			     entryemu_symbolize(m, ev->eip, sym, sizeof(sym)), addr, err,
			     denied ? "" : " and allow the access", cpu_err);
		return 1;
	}
	ev->has_error = 1;
	ev->error = err;
	return 0;
}

/*
 * A #PF the CPU raised for an address the page tables leave absent
 * (every page the machine has no memory behind, paging.c), handled as
 * the engine's own stop at unmapped memory is (deliver_page_fault), with
 * the instruction known: returns 0 if the page at CR2 is present, for
 * page_fault_from_cpu().
 */
static int absent_page_fault(struct entryemu *m, uint32_t pc);

static void deliver_intr(struct entryemu *m, uint32_t intno)
{
	uint32_t eip = machine_reg(m, ER_EIP);
	/* code addresses are linear: CS's base + EIP (CS * 16 in vm86 mode) */
	uint32_t pc = machine_linear_pc(m);
	struct event ev = { .vector = (int)intno, .eip = eip, .insn_eip = eip };
	int int_n;
	int len = software_int_len(m, pc, intno, &int_n);

	if (len || intno >= 32) {
		ev.software = 1;
		ev.int_n = int_n;		/* CD ib, not int3 (CC) or into (CE) */
		ev.insn_eip = eip - (uint32_t)len;
		count_unexecuted(m, pc);
	} else if (intno == VEC_UD && rdpmc_at(m, pc)) {
		count_unexecuted(m, pc);
		ev.vector = VEC_GP;
		ev.has_error = 1;
		ev.error = 0;
	} else if (intno != VEC_UD && intno != VEC_DB && fault_lock_undefined(m, pc)) {
		count_unexecuted(m, pc);	/* LOCK misused: #UD at decode */
		ev.vector = VEC_UD;
		ev.has_error = 0;
		ev.error = 0;
	} else if (intno == VEC_DB) {
		ev.eip = eip;			/* single-step trap: after the insn */
		tsc_after_step(m, pc);		/* which may have been an RDTSC */
		count_unexecuted(m, pc);
	} else if (intno == VEC_PF) {
		count_unexecuted(m, pc);	/* the faulting insn did not retire */
		/* a fetch past CS's limit that a near transfer went to: #GP(0) at it */
		if (cs_limit_fetch_fault(m, eip) || absent_page_fault(m, pc))
			return;
		if (page_fault_from_cpu(m, &ev))
			return;
	} else if (machine_reg(m, ER_EFLAGS) & ENTRYEMU_EFLAGS_VM) {
		/*
		 * Other faults in vm86 mode are the IOPL-sensitive
		 * instructions' #GP(0) and the like: no selector, so error
		 * code 0.  (A #PF has its own, above.)
		 */
		count_unexecuted(m, pc);
		ev.has_error = vector_has_error_code((int)intno);
		ev.error = 0;
	} else {
		struct fault_info fi;
		count_unexecuted(m, pc);	/* the faulting insn did not retire */
		int derived = fault_derive(m, (int)intno, pc, &fi);
		uint32_t cr2;
		if (derived < 0 && fault_fetch_runs_off(m, pc, &cr2)) {
			deliver_page_fault_at(m, pc, cr2, 0);	/* the fetch faults first */
			return;
		}
		if (derived < 0) {
			char sym[128];
			machine_stop(m, ENTRYEMU_UNSUPPORTED, "exception %u at %s: %s",
				     intno, entryemu_symbolize(m, eip, sym, sizeof(sym)),
				     fi.why);
			return;
		}
		ev.has_error = fi.has_error;
		ev.error = fi.error;
		if (error_disagrees(m, &ev, &fi))
			return;
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
static void deliver_sysenter(struct entryemu *m);

void deliver_sysenter_hook(void *data)
{
	struct entryemu *m = data;
	if (machine_stopping(m))
		return;
	if (machine_access_faulted(m)) {
		engine_stop(m->eng);
		return;
	}
	uint64_t t0 = prof_now(m);
	deliver_sysenter(m);
	PROF_ADD(m, deliver_ns, t0);
}

/*
 * The length of the sysenter at linear pc, prefixes included:
 * Unicorn adds it to whatever EIP the hook leaves.  A prefix is
 * allowed and ignored there (SDM vol. 2A 2.1.1: a segment override on
 * an instruction without a memory operand is ignored).
 */
static uint32_t sysenter_length(struct entryemu *m, uint32_t pc)
{
	uint32_t n = 0;
	const uint8_t *p;
	while (n < 13 && (p = machine_ptr(m, pc + n, 1)) && fault_legacy_prefix(*p))
		n++;
	return n + 2;
}

static void deliver_sysenter(struct entryemu *m)
{
	uint64_t cs = 0, esp = 0, eip = 0;		/* IA32_SYSENTER_CS, _ESP, _EIP */
	engine_msr(m->eng, 0x174, &cs);
	engine_msr(m->eng, 0x175, &esp);
	engine_msr(m->eng, 0x176, &eip);
	/*
	 * In this hook the engine's EIP is the instruction's linear address
	 * (the user hook before it synced it so; docs/fidelity.md): the
	 * event's EIP is its offset in CS, which differs in vm86 mode and
	 * in a code segment with a base.
	 */
	uint32_t lin = machine_reg(m, ER_EIP), len = sysenter_length(m, lin);
	uint32_t at = lin - machine_cs_base(m);
	int cpl = machine_cpl(m);
	if ((cs & 0xfffc) == 0) {
		struct event ev = { .vector = VEC_GP, .has_error = 1, .error = 0,
				    .eip = at, .insn_eip = at };
		deliver_chain(m, ev);
		/* Unicorn adds the length of sysenter to whatever EIP is now */
		machine_set_reg(m, ER_EIP, machine_reg(m, ER_EIP) - len);
		return;
	}
	uint32_t eflags = machine_reg(m, ER_EFLAGS);
	uint16_t sel = (uint16_t)(cs & 0xfffc);
	struct run_event out;
	out.u.delivered.user_entry = cpl == 3;
	if (cpl == 3) {
		/* pt_regs will be built by hand: EIP from thread_info, ESP from %ebp */
		struct entryemu_regs *user = &out.u.delivered.user;
		machine_read_regs(m, user);
		int ok = 1;
		uint32_t ret = machine_rd32(m, KSTACK_BASE +
					    (uint32_t)m->img.layout.ti_sysenter_return, &ok);
		uint32_t esp0 = machine_rd32(m, SYS_TSS + (uint32_t)m->img.layout.tss_esp0, &ok);
		uint32_t hw[5] = { ret, ENTRYEMU_USER_CS, 0, user->ebp, ENTRYEMU_USER_DS };
		memcpy(out.u.delivered.hw, hw, sizeof(hw));
		out.u.delivered.esp0 = esp0;
	}
	if (machine_enter_ring0_at(m, (uint16_t)(sel + 8), (uint32_t)esp, sel,
				   eflags & ~(ENTRYEMU_EFLAGS_VM | ENTRYEMU_EFLAGS_IF |
					      ENTRYEMU_EFLAGS_RF),
				   (uint32_t)eip - len)) {
		machine_stop(m, ENTRYEMU_ERROR, "the emulator refused the sysenter selectors");
		return;
	}
	if (cpl == 3)
		m->cpu->in_kernel = 1;
	struct event ev = { .vector = ENTRYEMU_EVENT_SYSENTER, .software = 1,
			    .eip = at + len, .insn_eip = at };
	out.u.delivered.rec.to_cpl = 0;		/* sysenter's CS is ring 0's */
	emit(m, &out, &ev, cpl, (uint32_t)eip, (uint32_t)esp);
}

/*
 * An access to memory nothing is mapped at: Unicorn stops with an error
 * (before it walks the page tables); the CPU raises #PF.  Error code (SDM
 * vol. 3 4.7, "Page-Fault Exceptions"): W/R = the access was a write,
 * U/S = it was made at CPL 3, and P from the page tables (paging.c): 1
 * where the translation is present but refuses the access (a user access
 * to the kernel's lowmem, above PAGE_OFFSET, is a protection fault on
 * hardware, whether or not the machine has memory there), 0 where nothing
 * is mapped.  CR2 = the linear address.
 */
void deliver_page_fault_at(struct entryemu *m, uint32_t pc, uint32_t addr, int write)
{
	int denied;
	uint32_t err = paging_fault_error(m, addr, write, machine_cpl(m), &denied);
	uint32_t eip = pc - machine_cs_base(m);
	machine_set_reg(m, ER_CR2, addr);
	count_unexecuted(m, pc);
	struct event ev = { .vector = VEC_PF, .has_error = 1, .error = err,
			    .eip = eip, .insn_eip = eip };
	deliver_chain(m, ev);
}

/*
 * Bytes at the linear address at that are no instruction, where Unicorn
 * made an access: the CPU raises #UD there before any access, or #GP(0)
 * if they are over 15 bytes (fault_too_long_at).
 */
static void deliver_gp0_at(struct entryemu *m, uint32_t at)
{
	machine_set_reg(m, ER_EIP, at - machine_cs_base(m));
	uint32_t eip = machine_reg(m, ER_EIP);
	count_unexecuted(m, at);
	struct event ev = { .vector = VEC_GP, .has_error = 1, .error = 0,
			    .eip = eip, .insn_eip = eip };
	deliver_chain(m, ev);
}

static void deliver_undefined_at(struct entryemu *m, uint32_t at)
{
	machine_set_reg(m, ER_EIP, at - machine_cs_base(m));
	if (!fault_too_long_at(m, at)) {
		deliver_invalid_opcode(m);
		return;
	}
	deliver_gp0_at(m, at);
}

/*
 * An instruction whose bytes go past CS's limit is #GP(0), before it is
 * fetched from there (vol. 3A 5.3, which checks EIP on every fetch;
 * 6.15, interrupt 13: "exceeding the segment limit when accessing the
 * CS").  In vm86 mode the limit is 0xffff: IP does not wrap.
 */
void deliver_past_limit_at(struct entryemu *m, uint32_t at)
{
	iret_vm_restore(m);
	deliver_gp0_at(m, at);
}

/*
 * The instruction at the linear address at accessed addr, where nothing
 * is: #PF there with CR2 the first byte of its operand that is not
 * mapped (the engine may meet a later one first, as QEMU's FBSTP stores
 * its last byte first), or the #UD of bytes that are no instruction,
 * which comes before any access (the engine reads some undefined forms'
 * memory operands, `ff /7' among them).
 */
static void data_fault_at(struct entryemu *m, uint32_t at, uint32_t addr, int write)
{
	if (machine_cs_16(m)) {
		for (int n = 0; n < 15 && machine_ptr(m, addr, 1); n++)
			addr++;	/* an access that straddles: its first unmapped byte */
	} else if (fault_undefined_at(m, at)) {
		deliver_undefined_at(m, at);
		return;
	} else {
		addr = fault_first_unmapped(m, at, addr);
	}
	machine_set_reg(m, ER_EIP, at - machine_cs_base(m));
	deliver_page_fault_at(m, at, addr, write);
}

void deliver_page_fault(struct entryemu *m, uint32_t addr, int write, int fetch)
{
	iret_vm_restore(m);
	/*
	 * For a fetch EIP is the start of the block Unicorn could not
	 * translate.  For a data access Unicorn leaves EIP wherever the last
	 * exit to its main loop put it (chained blocks do not update it),
	 * with the registers as the faulting instruction found them; the
	 * block hook saw the block that was running.
	 */
	uint32_t pc = machine_linear_pc(m);
	int vm = (machine_reg(m, ER_EFLAGS) & ENTRYEMU_EFLAGS_VM) != 0;
	if (fetch) {
		/*
		 * At a branch target the block starts at the fetch.  Unicorn
		 * translates a block as far as it can fetch, and one that runs
		 * on, with no branch, into addr fails whole, before any of it
		 * runs.  The CPU runs its instructions up to the one whose
		 * fetch reaches addr (the block's decode, counting.c, stops at
		 * it), and faults there: the run goes on up to it (run.c), and
		 * the fault comes again there.  (16-bit code is decoded as
		 * such, and `until' is linear as pc is.  Not beyond the two
		 * pages a block spans; nor again from the same start, should
		 * that run not get on.)
		 */
		uint32_t base, lim;
		machine_cs_extent(m, &base, &lim);
		/* a block past CS's limit that a near jump, call or return went to: that faults */
		if (cs_limit_fetch_fault(m, machine_reg(m, ER_EIP)))
			return;
		/*
		 * Past CS's limit (16-bit code running on over offset 0xffff,
		 * into vm86 memory's end) the instruction that crosses it is
		 * #GP(0), wherever the fault Unicorn met lies beyond.
		 */
		int past = addr - base > lim && pc - base <= lim;
		uint32_t to = past ? base + lim + 1 : addr;
		uint32_t at = m->cpu->fetch_ran_from == pc || to - pc > 0x2000u
			      ? pc : count_decoded_to(m, pc, to - pc);
		if (at != pc) {
			m->cpu->fetch_run_to = at;
			m->cpu->fetch_ran_from = pc;
			m->cpu->fetch_past_limit = past;
			return;
		}
		m->cpu->fetch_ran_from = 0;
		if (past)
			deliver_past_limit_at(m, pc);
		else
			deliver_page_fault_at(m, pc, addr, write);
		return;
	}
	if (vm) {
		deliver_page_fault_at(m, pc, addr, write);
		return;
	}
	const struct block_info *b = &m->count->cur;
	uint32_t at = m->cpu->user_insn_at;
	if (at && at >= b->addr && at - b->addr < b->size) {
		/*
		 * User code has a hook on every instruction: the last one it
		 * saw, in this block, is the faulting one.  (Looked for by its
		 * access instead, an earlier instruction of the block whose
		 * address registers a later one changed could be taken for
		 * it, and 16-bit code would be decoded as 32-bit.)
		 */
		data_fault_at(m, at, addr, write);
		return;
	}
	char sym[128];
	if (machine_cs_16(m)) {
		/* which a 32-bit decode cannot place the access in */
		machine_stop(m, ENTRYEMU_UNSUPPORTED, "access to unmapped 0x%08x from a 16-bit "
			     "code segment in the block at %s: not modelled outside user code",
			     addr, entryemu_symbolize(m, b->addr, sym, sizeof(sym)));
		return;
	}
	/* elsewhere the faulting instruction is found by its access */
	int undefined = 0;
	at = fault_locate_access(m, b->addr, addr, &undefined);
	if (at && undefined) {
		deliver_undefined_at(m, at);
		return;
	}
	if (!at) {
		machine_stop(m, ENTRYEMU_UNSUPPORTED, "access to unmapped 0x%08x in the block at "
			     "%s: no instruction there makes it", addr,
			     entryemu_symbolize(m, b->addr, sym, sizeof(sym)));
		return;
	}
	machine_set_reg(m, ER_EIP, at - machine_cs_base(m));
	deliver_page_fault_at(m, at, fault_first_unmapped(m, at, addr), write);
}

/*
 * The CPU raises #PF for a fetch from an absent page when it translates
 * the block that reaches it: at the block's start, before any of it runs
 * (its EIP), as the engine stops for a fetch from unmapped memory; so
 * such a fetch goes where that stop does.  It may be one if the page is
 * the block's own (the block starts on it) or the next one's first byte:
 * then the run goes on up to the instruction that reaches that page, and
 * if the #PF was the data access of the one at pc, it comes again at pc,
 * from the same place (deliver_page_fault), and is taken for that.
 * Anything else is the data access of the instruction at pc, whose
 * state the CPU put back as it was before it.
 */
static int absent_page_fault(struct entryemu *m, uint32_t pc)
{
	uint32_t cr2 = machine_reg(m, ER_CR2), cpu_err;
	if (paging_rights(m, cr2) & PAGING_P)
		return 0;
	uint32_t next = (pc | 0xfffu) + 1;
	if ((cr2 & ~0xfffu) == (pc & ~0xfffu) ||
	    (cr2 == next && next && m->cpu->fetch_ran_from != pc)) {
		deliver_page_fault(m, cr2, 0, 1);
		if (!m->halt->stopping && m->cpu->fetch_run_to) {
			m->cpu->restart = 1;	/* the run goes on up to it first */
			engine_stop(m->eng);
		}
		return 1;
	}
	m->cpu->fetch_ran_from = 0;
	if (cpu_page_fault_error(m, cr2, &cpu_err))
		return 1;
	data_fault_at(m, pc, cr2, (cpu_err & PF_W) != 0);
	return 1;
}

/* An invalid opcode at the current EIP: #UD, a fault, no error code. */
void deliver_invalid_opcode(struct entryemu *m)
{
	iret_vm_restore(m);
	uint32_t eip = machine_reg(m, ER_EIP), pc = machine_linear_pc(m);
	count_unexecuted(m, pc);
	unsigned int1 = int1_at(m, pc);
	if (int1) {
		/*
		 * INT1 is a trap: it completes, and the #DB comes after it
		 * (EIP past it, RF as it is), as a hardware event: no check of
		 * the gate's DPL, EXT set in the error code of a fault while
		 * delivering it, and no IOPL check in vm86 mode (SDM vol. 2A
		 * INT n/INTO/INT3/INT1: "does not apply to INT1"; vol. 3A
		 * 6.12.1.1).  DR6 is not modelled.
		 */
		count_ran(m);
		struct event db = { .vector = VEC_DB, .eip = eip + int1, .insn_eip = eip };
		deliver_chain(m, db);
		return;
	}
	struct event ev = { .vector = VEC_UD, .eip = eip, .insn_eip = eip };
	if (rdpmc_at(m, pc)) {
		ev.vector = VEC_GP;
		ev.has_error = 1;
	}
	deliver_chain(m, ev);
}
