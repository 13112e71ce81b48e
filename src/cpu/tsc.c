/*
 * The time-stamp counter, made deterministic.  Unicorn 2.0.1's RDTSC
 * reads the host's clock (helper_rdtsc: cpu_get_tsc), so a program that
 * reads the TSC, and all that follows from the value (its registers at
 * the next kernel entry, pt_regs, a reproducer), differed from one run
 * to the next.  Here the TSC is the run's instruction count: 0 as the
 * run starts, one more for each instruction, so RDTSC returns the
 * number of instructions that ran before it.  What the SDM promises a
 * program holds: a 64-bit count in EDX:EAX (vol. 2B RDTSC, RDTSCP; ECX
 * gets IA32_TSC_AUX from RDTSCP) that increases monotonically (vol. 3B
 * 17.17); its rate is the processor's own.
 *
 * The model runs RDTSC and RDTSCP in user code (32-bit, 16-bit and
 * vm86) before the engine does.  With EFLAGS.TF set the engine runs it,
 * for the single-step trap after it (vol. 3B 17.3.1.4), and the trap's
 * delivery puts the run's TSC in place of the host's (tsc_after_step).
 * What it leaves to the engine: CR4.TSD set, where the engine raises
 * #GP at CPL 3, and a LOCK prefix, #UD (far_indirect.c makes it so
 * before the engine sees it).
 */
#include "cpu/cpu.h"
#include "cpu/fault.h"

#define CR4_TSD 0x4u
#define MSR_TSC_AUX 0xc0000103u

/* The length of RDTSC (0f 31) or RDTSCP (0f 01 f9) at addr, after its
 * prefixes; 0 for anything else.  *aux: RDTSCP. */
static size_t tsc_insn_length(struct entryemu *m, uint32_t addr, int *aux)
{
	const uint8_t *p = machine_ptr(m, addr, 1);
	if (!p || !(fault_legacy_prefix(p[0]) || p[0] == 0x0f))
		return 0;		/* the first byte rules out most */
	size_t n = machine_avail(m, addr, 15), at = 0;
	int lock = 0;
	while (at < n && at < 14 && fault_legacy_prefix(p[at]))
		lock |= p[at++] == 0xf0;
	*aux = 0;
	if (lock)
		return 0;		/* #UD: the engine's (far_indirect.c) */
	if (at + 2 <= n && p[at] == 0x0f && p[at + 1] == 0x31)
		return at + 2;
	if (at + 3 <= n && p[at] == 0x0f && p[at + 1] == 0x01 && p[at + 2] == 0xf9) {
		*aux = 1;
		return at + 3;
	}
	return 0;
}

/* EDX:EAX (and ECX for RDTSCP) as the instruction leaves them, the TSC tsc */
static void set_tsc_regs(struct entryemu *m, uint64_t tsc, int aux)
{
	machine_set_reg(m, ER_EAX, (uint32_t)tsc);
	machine_set_reg(m, ER_EDX, (uint32_t)(tsc >> 32));
	if (aux) {
		uint64_t v = 0;
		(void)engine_msr(m->eng, MSR_TSC_AUX, &v);
		machine_set_reg(m, ER_ECX, (uint32_t)v);
	}
}

int tsc_read_at(struct entryemu *m, uint32_t addr)
{
	int aux;
	size_t len = addr < PAGE_OFFSET ? tsc_insn_length(m, addr, &aux) : 0;
	if (!len || !m->count || (machine_reg(m, ER_CR4) & CR4_TSD))
		return 0;
	if (inject_before_emulated(m, addr))
		return 2;		/* an event at this boundary came first */
	/* the block's count took this one and the rest: give them back,
	 * then count this one as run */
	count_unexecuted(m, addr);
	uint64_t tsc = count_ran(m);
	uint32_t eflags = machine_reg(m, ER_EFLAGS);
	if (eflags & ENTRYEMU_EFLAGS_TF) {
		/*
		 * The engine runs it: under TF a block is one instruction,
		 * which the two calls above gave back and counted again.
		 * Its single-step trap comes next.
		 */
		m->cpu->tsc_step_to = addr + (uint32_t)len;
		m->cpu->tsc_step_value = tsc;
		m->cpu->tsc_step_aux = aux;
		return 0;
	}
	set_tsc_regs(m, tsc, aux);
	/* in 16-bit code (and vm86 mode) IP wraps at 64 KiB */
	uint32_t eip = addr - machine_cs_base(m) + (uint32_t)len;
	if ((eflags & ENTRYEMU_EFLAGS_VM) || machine_cs_16(m))
		eip &= 0xffffu;
	machine_set_reg(m, ER_EIP, eip);
	engine_stop(m->eng);
	m->cpu->restart = 1;	/* on from the next instruction */
	return 1;
}

void tsc_after_step(struct entryemu *m, uint32_t pc)
{
	if (m->cpu->tsc_step_to && m->cpu->tsc_step_to == pc)
		set_tsc_regs(m, m->cpu->tsc_step_value, m->cpu->tsc_step_aux);
	m->cpu->tsc_step_to = 0;
}
