/*
 * One run: reset, start in ring 3, let the hooks drive the kernel, and
 * collect what happened.  The run's state is a struct run made afresh
 * for each run; the layers below report through its stream, which the
 * recorder (into the result) and the checkers observe, and end it
 * through its halt.  An oops report's last instructions come from the
 * blocks the instruction counter saw: nothing runs twice.
 */
#include "run/run.h"
#include "cpu/desc.h"
#include "cpu/fault.h"
#include "run/gdb.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_BUDGET 1000000u
#define OOPS_TRACE 32

/* Every instruction, while the run is traced. */
static void trace_hook(void *data, uint32_t addr, uint32_t size)
{
	struct entryemu *m = data;
	(void)size;
	if (m->run && !count_seen(m, addr, COUNT_SEEN_TRACE)) {	/* traced before the cut */
		result_trace_push(m->run->res, (uint32_t)addr);
		count_hooked(m, addr, COUNT_SEEN_TRACE);
	}
}

/* Back in user code from the kernel, at addr (linear): the return, as
 * the stream has it; 1 if to __USER_CS and __USER_DS outside vm86 mode. */
static int user_returned(struct entryemu *m, uint32_t addr)
{
	m->cpu->in_kernel = 0;
	/*
	 * With its code unhooked (one injection at a user instruction,
	 * inject.c) the injection hook last saw the user's instruction
	 * before the entry, and an entry by an event makes the injection
	 * hook forget it (inject.c, shadow_maker); one by SYSENTER leaves
	 * SYSENTER, which makes no shadow either.
	 */
	struct run_event ev = { .kind = RUN_EV_RETURN };
	machine_read_regs(m, &ev.u.ret);
	/* in a hook the engine's EIP is linear: the offset in CS */
	ev.u.ret.eip = addr - cs_limit_returned(m, ev.u.ret.cs, ev.u.ret.eflags);
	stream_emit(m->stream, &ev);
	return ev.u.ret.cs == ENTRYEMU_USER_CS && ev.u.ret.ss == ENTRYEMU_USER_DS &&
	       !(ev.u.ret.eflags & ENTRYEMU_EFLAGS_VM);
}

/* Do the pushes and pops of plain code's block at its start stay on
 * memory the machine has? */
static int plain_stack_ok(struct entryemu *m)
{
	const struct count_state *c = m->count;
	if (!c->cur.stack_ops)
		return 1;
	int32_t lo, hi;
	machine_plain_stack_reach(m, c->cur.addr, c->cur.size, &lo, &hi);
	uint32_t esp = c->cur_esp_known ? c->cur_esp : machine_reg(m, ER_ESP);
	uint32_t from = esp + (uint32_t)lo;
	return from <= esp && (uint64_t)esp + (uint32_t)hi <= 0x100000000ull &&
	       machine_ptr(m, from, (size_t)(hi - lo)) != NULL;
}

/* The exit page's instruction is next (it never runs): the run is done. */
static void user_code_finished(struct entryemu *m, uint32_t addr)
{
	count_unexecuted(m, addr);
	/* the common end: no formatting */
	m->halt->stopping = 1;
	m->halt->outcome = ENTRYEMU_DONE;
	memcpy(m->halt->why, "user code finished", sizeof("user code finished"));
	engine_stop(m->eng);
}

/* The user range: the first instruction after a return from the kernel,
 * and the exit page. */
static void user_hook(void *data, uint32_t addr, uint32_t size)
{
	struct entryemu *m = data;
	(void)size;
	if (m->booting) {
		engine_stop(m->eng);
		return;
	}
	if (machine_stopping(m))
		return;
	if (machine_access_faulted(m)) {
		engine_stop(m->eng);
		return;
	}
	if (count_budget_stop(m, (uint32_t)addr))
		return;
	m->cpu->user_insn_at = (uint32_t)addr;
	if (m->cpu->in_kernel)
		user_returned(m, addr);
	iret_vm_restore(m);
	/* code past CS's limit, where memory is mapped: #GP(0) */
	switch (cs_limit_at(m, (uint32_t)addr)) {
	case CS_LIMIT_FAULTS:
		if (inject_before_fault(m, (uint32_t)addr))
			return;		/* an NMI or IRQ came first */
		deliver_past_limit_at(m, (uint32_t)addr);
		/* fall through */
	case CS_LIMIT_TRANSFER:
		engine_stop(m->eng);
		m->cpu->restart = 1;
		return;
	case CS_LIMIT_OK:
		break;
	}
	if (m->count && m->count->cur.rotc_memory)
		deliver_note_flags(m, (uint32_t)addr);
	/* not under gdb: its hook comes after this one, and a breakpoint
	 * or step at the read must see the instruction */
	int tsc = (m->hooked_gdb & CODE_USER) ? 0 : tsc_read_at(m, (uint32_t)addr);
	if (tsc) {
		/* the model ran RDTSC (the trace, hooked after this hook, did
		 * not see it), or an event came first */
		if (tsc == 1 && (m->hooked_trace & CODE_USER))
			trace_hook(m, (uint32_t)addr, 0);
		return;
	}
	uint32_t cr2 = 0;
	enum far_check far = fault_far_transfer(m, (uint32_t)addr, &cr2);
	if (far != FAR_NONE && inject_before_fault(m, (uint32_t)addr))
		return;		/* an NMI or IRQ came first */
	switch (far) {
	case FAR_TASK_SWITCH: {
		char sym[128];
		count_unexecuted(m, (uint32_t)addr);
		machine_stop(m, ENTRYEMU_UNSUPPORTED, "far transfer at %s through a TSS or a task "
			     "gate: hardware task switches are not modelled",
			     entryemu_symbolize(m, (uint32_t)addr, sym, sizeof(sym)));
		engine_stop(m->eng);
		return;
	}
	case FAR_PUSH_FAULT:
		/* the call does not happen: the handler runs, then this again */
		deliver_page_fault_at(m, (uint32_t)addr, cr2, 1);
		engine_stop(m->eng);
		m->cpu->restart = 1;
		return;
	case FAR_NONE:
		break;
	}
	iret_vm_hide(m, (uint32_t)addr);
	if (addr - ENTRYEMU_USER_EXIT < 0x1000)
		user_code_finished(m, addr);
}

/*
 * A block below PAGE_OFFSET while those pages run without the user hook
 * (plain code, plain_code.c): what the hook would have done at its first
 * instruction, the rest needing none of it.  A block the code's decode
 * does not vouch for (another address, bytes a run wrote, a return to
 * another CS or SS, pushes or pops that would leave the machine's
 * memory) has not run: the run goes on from it with the hook
 * (user_hook_wanted, run_once).
 */
static void plain_block(struct entryemu *m, uint32_t addr)
{
	int plain = 1;
	m->cpu->user_insn_at = 0;
	if (m->cpu->in_kernel)
		plain = user_returned(m, addr);
	if (plain && addr - ENTRYEMU_USER_EXIT < 0x1000) {
		user_code_finished(m, addr);
		return;
	}
	if (plain && machine_plain_at(m, addr) && plain_stack_ok(m))
		return;
	count_unexecuted(m, addr);
	m->cpu->user_hook_wanted = 1;
	m->cpu->restart = 1;
	m->cpu->resume_at = addr;
	engine_stop(m->eng);
}

/* Every block: its count (counting.c), then plain user code's look. */
static void block_hook(void *data, uint32_t addr, uint32_t size)
{
	struct entryemu *m = data;
	unsigned stops = engine_stops(m->eng);
	count_block_hook(m, addr, size);
	if (addr < PAGE_OFFSET && m->user_unhooked && m->run && !machine_stopping(m) &&
	    engine_stops(m->eng) == stops)
		plain_block(m, addr);
}

/* An instruction of the entry code: the cfi checker holds its rules
 * against the stack. */
static void cfi_hook(void *data, uint32_t addr, uint32_t size)
{
	struct entryemu *m = data;
	(void)size;
	if (m->run && !machine_stopping(m))
		cfi_step(&m->run->checks, addr);
}

/* An access to unmapped memory: the start returns, and the run delivers #PF. */
static void unmapped_hook(void *data, enum engine_access kind, uint32_t addr, uint32_t size)
{
	struct entryemu *m = data;
	(void)size;
	if (m->cpu) {
		m->cpu->unmapped_addr = addr;
		m->cpu->unmapped_kind = 1 + (int)kind;	/* 0: none */
	}
}

/* An iret or sysexit of the image is next: the checkers look at the stack. */
static void exit_hook(void *data, uint32_t addr, uint32_t size)
{
	struct entryemu *m = data;
	(void)size;
	if (machine_stopping(m))
		return;
	if (machine_access_faulted(m)) {
		engine_stop(m->eng);
		return;
	}
	uint64_t t0 = prof_now(m);
	struct run_event ev = { .kind = RUN_EV_EXIT_INSN };
	ev.u.exit.addr = (uint32_t)addr;
	static const enum engine_reg ids[] = { ER_ESP, ER_SS, ER_EFLAGS };
	uint32_t v[3];
	engine_regs(m->eng, ids, v, 3);
	ev.u.exit.esp = v[0];
	ev.u.exit.ss = (uint16_t)v[1];
	ev.u.exit.eflags = v[2];
	stream_emit(m->stream, &ev);
	PROF_ADD(m, check_ns, t0);
	/* an IRET to an EIP past its CS's limit: #GP(0) here (the engine returns) */
	if (!machine_stopping(m) && cs_limit_iret(m, (uint32_t)addr, v[0], (uint16_t)v[1])) {
		engine_stop(m->eng);
		m->cpu->restart = 1;
	}
}

/*
 * An instruction that takes its data address from a register is next
 * (image/accesses.c found them): where it reaches, for the user-access
 * and bounds checkers.
 */
static void access_hook(void *data, uint32_t addr, uint32_t size)
{
	struct entryemu *m = data;
	(void)size;
	if (!m->run || machine_stopping(m))
		return;
	const struct image_access *a = image_access_at(&m->img, addr);
	if (!a)
		return;
	uint64_t t0 = prof_now(m);
	checks_access(&m->run->checks, a);
	PROF_ADD(m, check_ns, t0);
}

/* A load of thread_info->flags is next: the checkers look at IF. */
static void flags_load_hook(void *data, uint32_t addr, uint32_t size)
{
	struct entryemu *m = data;
	(void)size;
	if (machine_stopping(m))
		return;
	if (machine_access_faulted(m)) {
		engine_stop(m->eng);
		return;
	}
	struct run_event ev = { .kind = RUN_EV_FLAGS_LOAD };
	ev.u.exit.addr = addr;
	ev.u.exit.eflags = machine_reg(m, ER_EFLAGS);
	ev.u.exit.esp = machine_reg(m, ER_ESP);
	stream_emit(m->stream, &ev);
}

/*
 * The user ranges: everything below the kernel in one (vm86 code, the
 * exit page, user code, and the data and stack pages, where a program
 * may write code and run it: an IRET or RDTSC there needs the hook as
 * much), since the engine looks through every code hook at every hooked
 * instruction; and the vsyscall page.
 */
static const struct { uint32_t lo, hi; } user_ranges[] = {
	{ 0, PAGE_OFFSET - 1 },
	{ VSYSCALL_PAGE, VSYSCALL_PAGE + 0xfff },
};
#define NUSER_RANGES (sizeof(user_ranges) / sizeof(user_ranges[0]))

/* Does a hook over [lo, hi] see addr?  lo > hi: everything, as Unicorn reads it. */
static int covers(uint32_t lo, uint32_t hi, uint32_t addr)
{
	return (lo <= addr && addr <= hi) || lo > hi;
}

/* Add a site of the image: its hook is installed with the others (static_hooks_add). */
static int add_site(struct entryemu *m, uint32_t addr, void (*fn)(void *, uint32_t, uint32_t))
{
	if (m->nsites == RUN_MAX_SITES)
		return -1;
	m->sites[m->nsites++] = (struct run_site){ addr, fn };
	m->site_bits |= 1ull << (addr % 64);
	return 0;
}

/* The hook before each user instruction below PAGE_OFFSET (h_user). */
static int user_hook_add(struct entryemu *m)
{
	return engine_hook_code(m->eng, &m->h_user, user_ranges[0].lo, user_ranges[0].hi, user_hook,
				m);
}

/*
 * The code hooks every run has, in their order: callouts, user ranges,
 * sites.  The first user range's (h_user) is left out while plain code
 * runs (set_user_hook).
 */
static int static_hooks_add(struct entryemu *m)
{
	struct engine *e = m->eng;
	engine_hook *h = m->h_static;
	if (engine_hook_code(e, &h[0], m->img.callouts_start, m->img.callouts_end - 1,
			     callouts_hook, m))
		return -1;
	if (!m->user_unhooked && user_hook_add(m))
		return -1;
	for (size_t i = 1; i < NUSER_RANGES; i++)
		if (engine_hook_code(e, &h[i], user_ranges[i].lo, user_ranges[i].hi, user_hook, m))
			return -1;
	for (unsigned i = 0; i < m->nsites; i++)
		if (engine_hook_code(e, &h[NUSER_RANGES + i], m->sites[i].addr, m->sites[i].addr,
				     m->sites[i].fn, m))
			return -1;
	return 0;
}

static void static_hooks_remove(struct entryemu *m)
{
	for (unsigned i = 0; i < NUSER_RANGES + m->nsites; i++)
		engine_unhook(m->eng, m->h_static[i]);
	if (!m->user_unhooked)
		engine_unhook(m->eng, m->h_user);
}

/*
 * While a hook covers every instruction (an injection that may come due
 * anywhere), it is the only code hook: Unicorn 2.0.1 looks at each code
 * hook at every hooked instruction (helper_uc_tracecode), and the static
 * ones are about twenty.  This one calls those that cover addr, in their
 * order, then the injection hook; and, as Unicorn does, none after one
 * that asked for a stop.
 */
static void one_hook(void *data, uint32_t addr, uint32_t size)
{
	struct entryemu *m = data;
	unsigned stops = engine_stops(m->eng);
	if (covers(m->img.callouts_start, m->img.callouts_end - 1, addr)) {
		callouts_hook(m, addr, size);
		if (engine_stops(m->eng) != stops)
			return;
	}
	for (size_t i = 0; i < NUSER_RANGES; i++)
		if (covers(user_ranges[i].lo, user_ranges[i].hi, addr)) {
			user_hook(m, addr, size);
			if (engine_stops(m->eng) != stops)
				return;
		}
	if ((m->site_bits >> (addr % 64)) & 1)
		for (unsigned i = 0; i < m->nsites; i++)
			if (m->sites[i].addr == addr) {
				m->sites[i].fn(m, addr, size);
				if (engine_stops(m->eng) != stops)
					return;
			}
	inject_hook(m, addr, size);
}

int run_install_hooks(struct entryemu *m)
{
	struct engine *e = m->eng;
	engine_hook h;
	if (engine_hook_intr(e, &h, deliver_intr_hook, m) ||
	    engine_hook_sysenter(e, &h, deliver_sysenter_hook, m) ||
	    engine_hook_block(e, &h, block_hook, m) ||
	    engine_hook_unmapped(e, &h, unmapped_hook, m)) {
		machine_set_error(m, "cannot install the emulator hooks");
		return ENTRYEMU_E_ENGINE;
	}
	uint32_t sites[32];
	size_t n = kernel_exit_sites(m, sites, sizeof(sites) / sizeof(sites[0]));
	if (n > sizeof(sites) / sizeof(sites[0])) {
		machine_set_error(m, "the image has %zu iret and sysexit instructions; the "
				  "library watches at most %zu", n, sizeof(sites) / sizeof(sites[0]));
		return ENTRYEMU_E_IMAGE;
	}
	for (size_t i = 0; i < n; i++)
		if (add_site(m, sites[i], exit_hook)) {
			machine_set_error(m, "cannot watch the image's iret and sysexit instructions");
			return ENTRYEMU_E_ENGINE;
		}
	n = kernel_flags_loads(m, sites, sizeof(sites) / sizeof(sites[0]));
	if (n > sizeof(sites) / sizeof(sites[0])) {
		machine_set_error(m, "the image loads thread_info->flags at %zu places; the "
				  "library watches at most %zu", n, sizeof(sites) / sizeof(sites[0]));
		return ENTRYEMU_E_IMAGE;
	}
	for (size_t i = 0; i < n; i++)
		if (add_site(m, sites[i], flags_load_hook)) {
			machine_set_error(m, "cannot watch the image's loads of thread_info->flags");
			return ENTRYEMU_E_ENGINE;
		}
	size_t nflags = n;
	for (size_t i = 0; i < m->img.naccesses; i++) {
		uint32_t at = m->img.accesses[i].insn;
		/* a load of thread_info->flags has its hook: the checkers look
		 * at its access when they see RUN_EV_FLAGS_LOAD (checks.c) */
		int flags_load = 0;
		for (size_t k = 0; k < nflags; k++)
			flags_load |= sites[k] == at;
		if (flags_load)
			continue;
		if (add_site(m, at, access_hook)) {
			machine_set_error(m, "cannot watch the image's %zu register-addressed data "
					  "accesses (the engine's hooks ran out at %zu)",
					  m->img.naccesses, i);
			return ENTRYEMU_E_IMAGE;
		}
	}
	if (static_hooks_add(m)) {
		machine_set_error(m, "cannot install the emulator hooks");
		return ENTRYEMU_E_ENGINE;
	}
	return 0;
}

/* Registers and the last instructions, under the oops message. */
static void oops_report(struct entryemu *m, entryemu_result *r, uint32_t oops_regs)
{
	struct entryemu_regs frame;
	const struct entryemu_regs *g = &r->final;
	char sym[128];
	if (oops_regs) {
		/* a handler died: show the context it was called for */
		struct entryemu_pt_regs p;
		ptregs_read(m, oops_regs, &p);
		frame = (struct entryemu_regs){
			.eax = p.eax, .ebx = p.ebx, .ecx = p.ecx, .edx = p.edx,
			.esi = p.esi, .edi = p.edi, .ebp = p.ebp, .eip = p.eip,
			.eflags = p.eflags, .cs = (uint16_t)p.xcs, .ds = (uint16_t)p.xds,
			.es = (uint16_t)p.xes, .fs = (uint16_t)(p.has_xfs ? p.xfs : g->fs),
			.gs = (uint16_t)(p.has_xgs ? p.xgs : g->gs),
			.ss = (p.xcs & 3) ? (uint16_t)p.xss : ENTRYEMU_KERNEL_DS,
			/* a kernel-mode frame ends where esp/ss would be */
			.esp = (p.xcs & 3) ? p.esp : oops_regs + (uint32_t)m->img.layout.pt_oldesp,
		};
		g = &frame;
	}
	result_append(r, "\nEIP: %04x:%08x <%s> EFLAGS: %08x\n", g->cs, g->eip,
		      entryemu_symbolize(m, g->eip, sym, sizeof(sym)), g->eflags);
	result_append(r, "eax: %08x ebx: %08x ecx: %08x edx: %08x\n", g->eax, g->ebx, g->ecx,
		      g->edx);
	result_append(r, "esi: %08x edi: %08x ebp: %08x esp: %08x\n", g->esi, g->edi, g->ebp,
		      g->esp);
	result_append(r, "ds: %04x es: %04x fs: %04x gs: %04x ss: %04x\n", g->ds, g->es, g->fs,
		      g->gs, g->ss);
	uint32_t last[OOPS_TRACE];
	size_t n = count_last_insns(m, last, OOPS_TRACE);
	if (!n)
		return;
	result_append(r, "last %zu instructions:\n", n);
	for (size_t i = 0; i < n; i++) {
		char line[192];
		entryemu_disasm(m, last[i], line, sizeof(line));
		result_append(r, "  %s\n", line);
	}
}

static int nonzero(const void *p, size_t n)
{
	static const uint32_t zero[8];	/* the longest reserved[] */
	return memcmp(p, zero, n) != 0;
}

/* The setup fields the library checks before anything runs. */
static int check_setup(struct entryemu *m, const struct entryemu_setup *s)
{
	if (s->ninjects > RUN_MAX_INJECTS) {
		machine_field_error(m, "injects", "injects: %u, at most %u per run", s->ninjects,
				    RUN_MAX_INJECTS);
		return ENTRYEMU_E_INVAL;
	}
	if (s->insn_budget > ENTRYEMU_INSN_BUDGET_MAX) {
		machine_field_error(m, "insn_budget", "insn_budget: %llu, at most %u",
				    (unsigned long long)s->insn_budget, ENTRYEMU_INSN_BUDGET_MAX);
		return ENTRYEMU_E_INVAL;
	}
	if (s->code_len && !s->code) {
		machine_field_error(m, "code", "code: %zu bytes at NULL", s->code_len);
		return ENTRYEMU_E_INVAL;
	}
	if (s->nedits && !s->edits) {
		machine_field_error(m, "edits", "edits: %u at NULL", s->nedits);
		return ENTRYEMU_E_INVAL;
	}
	if (s->ninjects && !s->injects) {
		machine_field_error(m, "injects", "injects: %u at NULL", s->ninjects);
		return ENTRYEMU_E_INVAL;
	}
	if (s->code_readonly && s->vm86) {
		machine_field_error(m, "code_readonly", "code_readonly: a vm86 run's code is not "
				    "at ENTRYEMU_USER_CODE, the pages it protects");
		return ENTRYEMU_E_INVAL;
	}
	if (nonzero(s->reserved, sizeof(s->reserved))) {
		machine_field_error(m, "reserved", "reserved: must be zero");
		return ENTRYEMU_E_INVAL;
	}
	/* bits no flag of this version names: a later one's, or a mistake */
	const unsigned known_flags = ENTRYEMU_RUN_TRACE | ENTRYEMU_RUN_NO_CLOBBER |
				     ENTRYEMU_RUN_PROFILE | ENTRYEMU_RUN_CHECK_RESET |
				     ENTRYEMU_RUN_CHECK_CFI | ENTRYEMU_RUN_SHORT_NEW_BLOCKS;
	if (s->flags & ~known_flags) {
		machine_field_error(m, "flags", "flags = 0x%x: 0x%x names no ENTRYEMU_RUN_* flag",
				    s->flags, s->flags & ~known_flags);
		return ENTRYEMU_E_INVAL;
	}
	if (s->checks_off & ~(unsigned)ENTRYEMU_CHECK_ALL) {
		machine_field_error(m, "checks_off",
				    "checks_off = 0x%x: 0x%x names no ENTRYEMU_CHECK_* checker",
				    s->checks_off, s->checks_off & ~(unsigned)ENTRYEMU_CHECK_ALL);
		return ENTRYEMU_E_INVAL;
	}
	char field[32];
	for (unsigned i = 0; i < s->nedits; i++)
		if (nonzero(s->edits[i].reserved, sizeof(s->edits[i].reserved))) {
			snprintf(field, sizeof(field), "edits[%u]", i);
			machine_field_error(m, field, "%s.reserved: must be zero", field);
			return ENTRYEMU_E_INVAL;
		}
	for (unsigned i = 0; i < s->ninjects; i++)
		if (nonzero(s->injects[i].reserved, sizeof(s->injects[i].reserved))) {
			snprintf(field, sizeof(field), "injects[%u]", i);
			machine_field_error(m, field, "%s.reserved: must be zero", field);
			return ENTRYEMU_E_INVAL;
		}
	return 0;
}

/*
 * The per-instruction hooks a run needs (injections, CR0.TS/EM checks,
 * the trace).  Blocks translated before a hook is added do not call it,
 * and blocks translated with it keep calling it, so each change drops
 * the translations (page by page, machine_drop_code) and the next run
 * translates its code again: about half a millisecond, a hundred warm
 * runs.  So a run like the last one (a test's loop, an explorer's
 * variants) translates nothing again, and the injection hook, once in,
 * stays for INJECT_HOOK_KEEP runs that do not need it (idle: it returns
 * at once), so that a suite mixing both kinds, or a run that starts to
 * need it half-way (a null selector appears), does not translate twice
 * a run.  After that, runs go uninstrumented again.
 */
#define INJECT_HOOK_KEEP 16
/*
 * Install hook *h over [lo, hi] (want) or remove it (!want), where that
 * changes *hooked: 1 when it did, 0 when not, -1 when the engine refused
 * (the error names `what').
 */
static int set_hook(struct entryemu *m, int want, int *hooked, engine_hook *h, uint32_t lo,
		    uint32_t hi, engine_code_fn fn, const char *what)
{
	if (want == *hooked)
		return 0;
	if (want && engine_hook_code(m->eng, h, lo, hi, fn, m)) {
		machine_set_error(m, "cannot install the %s", what);
		return -1;
	}
	if (!want)
		engine_unhook(m->eng, *h);
	*hooked = want;
	return 1;
}

/*
 * Where the injection hook looks, as the pages it covers.  Injections
 * and CR0.TS/EM concern every instruction; the I/O, null-selector and
 * limit checks only those that run at CPL 3, which are on user pages:
 * below PAGE_OFFSET and the vsyscall page (paging.c).  The kernel's
 * instructions, most of a run, then cost nothing.
 */
enum inject_hook_mode { INJECT_NONE = 0, INJECT_USER = CODE_USER, INJECT_ALL = CODE_ALL };
#define INJECT_NARROW_RUNS 128

/*
 * Put the injection hook over what mode says: 1 when that changed it,
 * 0 when it was so already, -1 when the engine refused.  *drop: the
 * pages whose translations the change makes stale, where the hook's
 * reach grew or shrank (the rest keep theirs).
 */
static int set_inject_hook(struct entryemu *m, int mode, enum code_pages *drop)
{
	if (mode == m->hooked_inject)
		return 0;
	*drop = (enum code_pages)(m->hooked_inject ^ mode);	/* covered before or after */
	if (m->hooked_inject == INJECT_USER)
		engine_unhook(m->eng, m->h_inject_vsys);
	if (m->hooked_inject != INJECT_NONE)
		engine_unhook(m->eng, m->h_inject);
	m->hooked_inject = INJECT_NONE;
	int bad = 0;
	if (mode == INJECT_ALL) {
		bad = engine_hook_code(m->eng, &m->h_inject, 1, 0,
				       m->one_hook ? one_hook : inject_hook, m);
	} else if (mode == INJECT_USER) {
		bad = engine_hook_code(m->eng, &m->h_inject, 0, PAGE_OFFSET - 1, inject_hook, m);
		if (!bad && engine_hook_code(m->eng, &m->h_inject_vsys, VSYSCALL_PAGE,
					     VSYSCALL_PAGE + 0xfff, inject_hook, m)) {
			engine_unhook(m->eng, m->h_inject);	/* not half a hook */
			bad = 1;
		}
	}
	if (bad) {
		machine_set_error(m, "cannot install the injection hook");
		return -1;
	}
	m->hooked_inject = mode;
	return 1;
}

/*
 * The hook on one kernel instruction besides the user's pages (at; 0:
 * none): 1 when that changed it, 0 when it was so already, -1 when the
 * engine refused.  Unicorn drops the blocks an old hook was in as it
 * deletes it, and builds a new one only into blocks translated after
 * it: those that hold the instruction already are dropped.
 */
static int set_inject_point(struct entryemu *m, uint32_t at)
{
	if (at == m->inject_at)
		return 0;
	if (m->inject_at)
		engine_unhook(m->eng, m->h_inject_at);
	m->inject_at = 0;
	if (!at)
		return 1;
	if (engine_hook_code(m->eng, &m->h_inject_at, at, at, inject_hook, m)) {
		machine_set_error(m, "cannot install the injection hook");
		return -1;
	}
	m->inject_at = at;
	if (engine_flush_range(m->eng, at, at + 1)) {
		machine_set_error(m, "cannot drop translated code");
		return -1;
	}
	return 1;
}

/*
 * Can this run's user code go without the hook before each user
 * instruction?  Plain code (plain_code.c) that no run of it has found
 * otherwise, under the flat __USER_CS, in a run that starts in user
 * mode.  (The caller rules out the runs that hook every user
 * instruction for other reasons.)
 */
static int user_code_plain(struct entryemu *m)
{
	const struct entryemu_setup *s = m->setup;
	if (!m->ucode_plain || m->user_hook_kept || m->cpu->user_hook_wanted || s->vm86 ||
	    s->thread_fn)
		return 0;
	uint32_t base, limit;
	machine_cs_extent_of(m, ENTRYEMU_USER_CS, 0, &base, &limit);
	if (base != 0 || limit != 0xffffffffu)
		return 0;
	if (!(m->ucode_plain & PLAIN_STACK))
		return 1;
	/* its pushes and pops: through SS, which must be a flat 32-bit
	 * stack for the check before each block to hold (plain_stack_ok) */
	struct desc d;
	return (!s->user.ss || s->user.ss == ENTRYEMU_USER_DS) &&
	       desc_fetch(m, ENTRYEMU_USER_DS, &d) == 0 && d.s && d.p && d.db &&
	       (d.type & 0xe) == 2 && d.base == 0 && d.limit == 0xffffffffu;
}

/*
 * The user hook over the pages below PAGE_OFFSET on (want) or off.  It
 * comes before every per-run hook over those pages, as installed with
 * the static ones: those go first, and come back after it as the run's
 * instrument() installs them.  Code translated without it is dropped;
 * Unicorn drops the code it was in as it goes.
 */
static int set_user_hook(struct entryemu *m, int want)
{
	if (want == !m->user_unhooked)
		return 0;
	if (!want) {
		if (!m->one_hook)
			engine_unhook(m->eng, m->h_user);
		m->user_unhooked = 1;
		return 0;
	}
	enum code_pages drop = CODE_ALL;
	if (set_hook(m, 0, &m->hooked_gdb, &m->h_gdb, 0, 0, gdb_hook_fn(), "") < 0 ||
	    set_inject_point(m, 0) < 0 || set_inject_hook(m, INJECT_NONE, &drop) < 0 ||
	    set_hook(m, 0, &m->hooked_trace, &m->h_trace, 0, 0, trace_hook, "") < 0)
		return -1;
	m->user_unhooked = 0;
	if (m->one_hook)
		return 0;		/* one_hook calls it */
	if (user_hook_add(m)) {
		machine_set_error(m, "cannot install the emulator hooks");
		return -1;
	}
	if (machine_drop_code(m, CODE_USER)) {
		machine_set_error(m, "cannot drop translated code");
		return -1;
	}
	return 0;
}

/*
 * look: the run needs the injection hook's checks; all: on every
 * instruction; at: or on the user's and this kernel instruction
 * (inject_point).
 */
static int instrument(struct entryemu *m, int look, int all, uint32_t at, int trace, int debug,
		      int cfi)
{
	const struct cfi_table *t = &m->img.cfi;
	m->cpu->look = look;
	m->cpu->look_all = all;
	m->inject_idle = look ? 0 : m->inject_idle + 1;
	if (all)
		m->inject_all_seen = 1;
	m->inject_all_idle = all ? 0 : m->inject_all_idle + 1;
	/*
	 * Each change of the hook drops translations.  So an idle injection
	 * hook goes only after INJECT_HOOK_KEEP idle runs, and a run that
	 * needs only the user pages looked at keeps a hook over everything
	 * until INJECT_NARROW_RUNS runs in a row have not needed it there:
	 * narrowing drops the kernel's translations (about 10M host
	 * instructions to make again), and saves some 250 a kernel
	 * instruction, so it pays in a test's long loop, not in a suite.
	 */
	int recent_all = m->inject_all_seen && m->inject_all_idle < INJECT_NARROW_RUNS;
	int inject = !look ? (m->inject_idle < INJECT_HOOK_KEEP ? m->hooked_inject : INJECT_NONE)
		     : all || recent_all ? INJECT_ALL : INJECT_USER;
	int r[4] = { 0 };
	enum code_pages drop = CODE_ALL;
	int one = inject == INJECT_ALL && !cfi && !debug && !trace, changed = 0;
	/* plain user code, and nothing else to see of it: no user hook */
	if (set_user_hook(m, !(inject == INJECT_NONE && !trace && !debug && user_code_plain(m))))
		return -1;
	if (one != m->one_hook) {
		/* every per-run hook off first: after the change the static
		 * hooks come first again, as they were installed */
		if (set_hook(m, 0, &m->hooked_cfi, &m->h_cfi, 0, 0, cfi_hook, "") < 0 ||
		    set_hook(m, 0, &m->hooked_gdb, &m->h_gdb, 0, 0, gdb_hook_fn(), "") < 0 ||
		    set_inject_point(m, 0) < 0 ||
		    set_inject_hook(m, INJECT_NONE, &drop) < 0 ||
		    set_hook(m, 0, &m->hooked_trace, &m->h_trace, 0, 0, trace_hook, "") < 0)
			return -1;
		if (one)
			static_hooks_remove(m);
		else if (static_hooks_add(m)) {
			machine_set_error(m, "cannot install the emulator hooks");
			return -1;
		}
		m->one_hook = one;
		changed = 1;
	}
	/*
	 * The engine calls an instruction's hooks in the order they were
	 * installed, and none after one that stops it.  A hook over every
	 * instruction from the run's start comes before the trace, which
	 * then does not show an instruction an event came before; one that
	 * replaces the hook on a kernel instruction (inject_point) would
	 * come after it, and so would an injection hook installed while a
	 * trace hook of an earlier run is in: the trace goes, to come back
	 * after it, as if the run had had that hook from its start.
	 */
	uint32_t point = inject == INJECT_USER ? at : 0;
	if (m->hooked_trace &&
	    ((m->inject_at && point != m->inject_at) || (point && point != m->inject_at) ||
	     (inject != INJECT_NONE && inject != m->hooked_inject)) &&
	    set_hook(m, 0, &m->hooked_trace, &m->h_trace, 0, 0, trace_hook, "") < 0)
		return -1;
	if ((r[0] = set_hook(m, cfi, &m->hooked_cfi, &m->h_cfi, t->base,
			     t->base + (uint32_t)t->len - 1, cfi_hook, "cfi checker's hook")) < 0 ||
	    (r[1] = set_hook(m, debug, &m->hooked_gdb, &m->h_gdb, 1, 0, gdb_hook_fn(),
			     "debugger's hook")) < 0 ||
	    set_inject_point(m, point) < 0 ||
	    (r[2] = set_inject_hook(m, inject, &drop)) < 0 ||
	    (r[3] = set_hook(m, trace, &m->hooked_trace, &m->h_trace, 1, 0, trace_hook,
			     "trace hook")) < 0)
		return -1;
	if (r[0] || r[1] || r[3] || changed)
		drop = CODE_ALL;
	if ((r[0] || r[1] || r[2] || r[3] || changed) && machine_drop_code(m, drop)) {
		machine_set_error(m, "cannot drop translated code");
		return -1;
	}
	return 0;
}

/*
 * Is the run's one injection at a user instruction (a user page: below
 * PAGE_OFFSET or the vsyscall page, paging.c)?  Then only the user's
 * pages need the hook until the event is held (inject.c, widen_hook).
 * An injection after a count of instructions counts the kernel's, and
 * with two the second may come due in the kernel.
 */
static int inject_user_only(const struct entryemu_setup *s)
{
	const struct entryemu_inject *in = &s->injects[0];
	return s->ninjects == 1 && in->at &&
	       (in->at < PAGE_OFFSET || (in->at & ~0xfffu) == VSYSCALL_PAGE);
}

/*
 * Could an instruction that makes an interrupt shadow (STI, POP SS, MOV
 * SS: SDM vol. 3 6.8.3, inject.c's shadow_after) end right before x?
 * Whether x's boundary is in one depends on what ran just before it,
 * which only a hook on every instruction sees.  Asked of the bytes, for
 * any decode that reaches x: fb or 17 just before it, or an 8e whose
 * ModRM names SS among the 15 bytes before.
 */
static int shadow_may_end_at(struct entryemu *m, uint32_t x)
{
	const uint8_t *p = machine_ptr(m, x - 16, 16);
	if (!p)
		return 1;
	if (p[15] == 0xfb || p[15] == 0x17)
		return 1;
	for (int i = 1; i < 15; i++)
		if (p[i] == 0x8e && ((p[i + 1] >> 3) & 7) == 2)
			return 1;
	return 0;
}

/*
 * The kernel instruction the run's one injection is at, when the hook
 * may cover that instruction alone (and the user's pages) until the
 * event is held there (inject.c, widen_hook), as for one at a user
 * instruction: most of a run's code then translates without a call per
 * instruction, which about doubles what translating a block costs.  An
 * NMI or exception is never held there (one injection: no NMI before it
 * to block it); an IRQ is where IF = 0, and widening the hook then
 * translates the kernel's code again (irq-after-sti: 1.3% more host
 * instructions than with the wide hook from the start; irq-kernel, not
 * held: 21% fewer).  Not where an interrupt shadow could precede the
 * instruction (what the wider hook would have seen run before it), nor
 * outside the entry code the open decoded (the callout slots: their
 * hook asks the injection hook first, inject_before_call).  0: none.
 */
static uint32_t inject_point(struct entryemu *m, const struct entryemu_setup *s)
{
	if (s->ninjects != 1)
		return 0;
	uint32_t x = s->injects[0].at;
	if (x < PAGE_OFFSET || (x & ~0xfffu) == VSYSCALL_PAGE ||
	    image_insn_start(&m->img, x) != 1 || shadow_may_end_at(m, x))
		return 0;
	return x;
}

static int run_once(struct entryemu *m, struct run *run, const struct entryemu_setup *s,
		    entryemu_result *r)
{
	int trace = (s->flags & ENTRYEMU_RUN_TRACE) != 0;
	m->profiling = (s->flags & ENTRYEMU_RUN_PROFILE) != 0;
	m->profile = &r->profile;
	uint64_t t_start = prof_now(m);
	m->code_stop = 0;		/* one a refused run left is no engine's yet */
	int rc = machine_reset(m, s);
	if (!rc)
		rc = s->thread_fn ? kernel_start_thread(m, s) :
		     s->vm86 ? kernel_start_vm86(m, s) : machine_load_user(m, s);
	if (rc)
		return rc;
	if (m->profiling)
		r->profile.reset_ns = prof_now(m) - t_start;
	run->count.budget = s->insn_budget ? s->insn_budget : DEFAULT_BUDGET;
	/*
	 * Injections, CR0.TS/EM and I/O at CPL 3 need a look at every
	 * instruction; the kernel's too, but for one injection at a user
	 * or kernel instruction (inject_point), until it is held there
	 * (inject.c, widen_hook).
	 */
	run->cpu.null_watch = seg_override_in_code(s->code, s->code_len);
	uint32_t at = (s->cr0_set & 0xc) ? 0 : inject_point(m, s);
	int all = (s->ninjects > 0 && !inject_user_only(s) && !at) || (s->cr0_set & 0xc);
	int look = all || s->ninjects > 0 || io_in_code(s->code, s->code_len) ||
		   run->cpu.null_watch;
	/* the cfi checker looks at every instruction of the entry code */
	int cfi = (s->flags & ENTRYEMU_RUN_CHECK_CFI) && !(s->checks_off & ENTRYEMU_CHECK_CFI);
	if (cfi && image_cfi(&m->img, m->image_path, m->err, sizeof(m->err)) < 0)
		return ENTRYEMU_E_IMAGE;
	cfi = cfi && m->img.cfi.rows;
	if (gdb_run_start(m))
		return ENTRYEMU_E_IO;
	/* code new every run (a fuzzer's): hook calls the way cheaper to translate */
	if (engine_inline_hook_calls(m->eng, !(s->flags & ENTRYEMU_RUN_SHORT_NEW_BLOCKS))) {
		machine_set_error(m, "cannot install the emulator hooks");
		return ENTRYEMU_E_ENGINE;
	}
	if (instrument(m, look, all, at, trace, m->gdb != NULL, cfi))
		return ENTRYEMU_E_ENGINE;
	if (m->tap)
		m->tap->start(m->tap->ctx);

	/*
	 * Emulation stops at an access to unmapped memory; the CPU would take
	 * a page fault there, so deliver #PF and go on from the handler.
	 */
	uint32_t start = m->start;
	enum engine_exit e;
	for (;;) {
		/* a block that failed at a fetch: its instructions before it (deliver.c) */
		uint32_t until = run->cpu.fetch_run_to;
		run->cpu.fetch_run_to = 0;
		/* the budget runs out inside a block: a stop after its last instruction */
		uint32_t budget_at = until ? 0 : run->count.budget_at;
		run->count.budget_from = run->count.budget_at = 0;
		if (budget_at)
			e = engine_start_ending(m->eng, start, budget_at);
		/* vm86 code: its blocks end at its end (kernel/start.c) */
		else if (!until && s->vm86 && m->vm86_stop)
			e = engine_start_ending(m->eng, start, m->vm86_stop);
		else if (!until && !s->vm86 && m->code_stop)	/* new user code's (machine.c) */
			e = engine_start_ending(m->eng, start, m->code_stop);
		else
			e = engine_start_until(m->eng, start, until);
		if (budget_at) {
			if (e == ENGINE_EXIT_OK && !run->halt.stopping && !run->cpu.restart &&
			    !run->cpu.unmapped_kind && machine_linear_pc(m) == budget_at)
				count_budget_exhausted(m);
			/* the block cut short there: a later run has it whole */
			if (machine_drop_stop_blocks(m, budget_at))
				return ENTRYEMU_E_ENGINE;
		}
		if (until) {
			if (engine_flush_range(m->eng, run->cpu.fetch_ran_from, until + 1)) {
				machine_set_error(m, "cannot drop translated code");
				return ENTRYEMU_E_ENGINE;
			}
			/*
			 * The stop at `until' is a block the translator ends there.
			 * Cut short (a store into the running block runs the store
			 * as a block of one), the run may end with a block of its
			 * own starting at `until', which the range above cannot
			 * drop where nothing is mapped (engine_until_left): the
			 * engine then stops there whenever it comes back, and the
			 * stop is taken for the fetch it stands for, below.  Where
			 * something is, the TLB is emptied (16 us).
			 */
			if (run->count.cur.addr != run->cpu.fetch_ran_from &&
			    machine_ptr(m, until, 1) && engine_flush_tlb(m->eng, TLB_SCRATCH)) {
				machine_set_error(m, "cannot empty the TLB");
				return ENTRYEMU_E_ENGINE;
			}
			int past = run->cpu.fetch_past_limit;
			run->cpu.fetch_past_limit = 0;
			if (past && e == ENGINE_EXIT_OK && !run->halt.stopping &&
			    !run->cpu.restart && !run->cpu.unmapped_kind) {
				/* there the instruction crosses CS's limit (EIP may
				 * be one past it, which machine_linear_pc folds) */
				deliver_past_limit_at(m, until);
				if (run->halt.stopping)
					break;
				start = machine_reg(m, ER_EIP);
				continue;
			}
			if (e == ENGINE_EXIT_OK && !run->halt.stopping && !run->cpu.restart &&
			    machine_linear_pc(m) == until) {
				start = machine_reg(m, ER_EIP);
				continue;	/* there: its fetch faults again */
			}
		}
		if (m->vm86_stop && e == ENGINE_EXIT_OK && !run->halt.stopping && !run->cpu.restart &&
		    !run->cpu.unmapped_kind && machine_linear_pc(m) == m->vm86_stop) {
			/* vm86 code ran to its end: on past it, as the CPU does */
			if (kernel_vm86_drop_stop(m))
				return ENTRYEMU_E_ENGINE;
			start = machine_reg(m, ER_EIP);
			continue;
		}
		if (m->code_stop && e == ENGINE_EXIT_OK && !run->halt.stopping &&
		    !run->cpu.unmapped_kind && machine_linear_pc(m) == m->code_stop) {
			/* new user code ran to its stop: on, to the next */
			if (machine_pass_code_stop(m))
				return ENTRYEMU_E_ENGINE;
			if (!run->cpu.restart) {
				start = machine_reg(m, ER_EIP);
				continue;
			}
		}
		if (run->cpu.restart && !run->halt.stopping) {
			/* an injected event was delivered: go on from its handler */
			run->cpu.restart = 0;
			start = machine_reg(m, ER_EIP);
			uint32_t pc = machine_linear_pc(m);
			if (run->cpu.resume_at) {
				/* or a block hook stopped at its block (counting.c) */
				pc = run->cpu.resume_at;
				start = pc - machine_cs_base(m);
				run->cpu.resume_at = 0;
			}
			/*
			 * Unicorn goes on from a handler written to EIP in a hook,
			 * and may stop only later, at the check after the hooks of
			 * an instruction it has not run: that one's block was
			 * counted whole, and its hooks saw it (counting.c).  (Not
			 * where it stopped at an access that faulted: that
			 * instruction is the fault's, below.)
			 */
			if (run->cpu.unmapped_kind == 0)
				count_left_at(m, pc);
			/*
			 * or the injection hook, idle or wider than this run
			 * needs, has cost enough: remove it, or narrow it to
			 * the user's pages
			 */
			if (run->cpu.shed) {
				run->cpu.shed = 0;
				/* linear: EIP is its offset in CS (in vm86 mode or
				 * a 16-bit segment with a base, not the same) */
				start = run->cpu.shed_at - machine_cs_base(m);
				m->inject_idle = INJECT_HOOK_KEEP;
				m->inject_all_idle = INJECT_NARROW_RUNS;
				if (instrument(m, look, all, at, trace, m->gdb != NULL, cfi))
					return ENTRYEMU_E_ENGINE;
			}
			/* or an injection is held at a user instruction: hook the kernel too */
			if (run->cpu.widen_at) {
				start = run->cpu.widen_at - machine_cs_base(m);
				run->cpu.widen_at = 0;
				all = 1;
				if (instrument(m, look, all, at, trace, m->gdb != NULL, cfi))
					return ENTRYEMU_E_ENGINE;
			}
			/* or plain user code went where it needs the user hook */
			if (run->cpu.user_hook_wanted && m->user_unhooked) {
				m->user_hook_kept = 1;	/* for the later runs of this code too */
				if (instrument(m, look, all, at, trace, m->gdb != NULL, cfi))
					return ENTRYEMU_E_ENGINE;
			}
			/* or a null DS/ES appeared: look at every user instruction now */
			if (run->cpu.null_watch && !run->cpu.look) {
				look = 1;
				if (instrument(m, look, all, at, trace, m->gdb != NULL, cfi))
					return ENTRYEMU_E_ENGINE;
			}
			/*
			 * or the budget runs out in the block the run goes on
			 * from (counting.c): at its start, the run ends there;
			 * further in, the block's translation without the stop
			 * goes, and the next start passes it
			 */
			if (run->count.budget_at) {
				uint32_t from = run->count.budget_from;
				if (start + machine_cs_base(m) != from) {
					run->count.budget_from = run->count.budget_at = 0;
				} else if (run->count.budget_at == from) {
					machine_set_reg(m, ER_EIP, start);
					count_budget_exhausted(m);
					break;
				} else if (machine_drop_stop_blocks(m, run->count.budget_at)) {
					return ENTRYEMU_E_ENGINE;
				}
			}
			/*
			 * Unicorn may run on from the handler in the same start
			 * (a retried FXSAVE under CR0.TS): an unmapped access it
			 * stopped at since is still a #PF, below.
			 */
			if (!run->cpu.unmapped_kind)
				continue;
		}
		if (e == ENGINE_EXIT_INVALID_INSN && !run->halt.stopping) {
			/* Unicorn stops at an invalid opcode; the CPU raises #UD */
			deliver_invalid_opcode(m);
			if (run->halt.stopping)
				break;
			start = machine_reg(m, ER_EIP);
			continue;
		}
		if (e == ENGINE_EXIT_OK && !run->halt.stopping && !run->cpu.unmapped_kind &&
		    engine_until_left(m->eng) && !machine_ptr(m, machine_linear_pc(m), 1)) {
			/* a stop left where nothing is mapped: the CPU's fetch there faults */
			deliver_page_fault(m, machine_linear_pc(m), 0, 1);
			if (run->halt.stopping)
				break;
			start = machine_reg(m, ER_EIP);
			continue;
		}
		if (run->halt.stopping || !run->cpu.unmapped_kind)
			break;
		int kind = run->cpu.unmapped_kind;
		run->cpu.unmapped_kind = 0;
		deliver_page_fault(m, run->cpu.unmapped_addr, kind == 1 + EA_WRITE,
				   kind == 1 + EA_FETCH);
		if (run->halt.stopping)
			break;
		start = machine_reg(m, ER_EIP);
	}

	/* the stop at the end of vm86 code is for the code's first run (kernel/start.c) */
	if (m->vm86_stop && kernel_vm86_drop_stop(m))
		return ENTRYEMU_E_ENGINE;
	if (m->code_stop && machine_drop_code_stop(m, machine_linear_pc(m)))
		return ENTRYEMU_E_ENGINE;
	iret_vm_restore(m);
	machine_read_regs(m, &r->final);
	if (!run->halt.stopping) {
		char sym[128];
		const char *where = entryemu_symbolize(m, r->final.eip, sym, sizeof(sym));
		if (e == ENGINE_EXIT_SERVED_FETCH)
			halt_set(&run->halt, ENTRYEMU_UNSUPPORTED,
				 "code run from the kernel stack's top page at %s is not modelled "
				 "(the library serves that page to the CPU as data)", where);
		else if (e != ENGINE_EXIT_OK)
			halt_set(&run->halt, ENTRYEMU_ERROR, "emulator: %s at %s",
				 engine_exit_name(m->eng),
				 where);
		else
			halt_set(&run->halt, ENTRYEMU_OOPS, "the CPU halted at %s", where);
	}
	r->outcome = run->halt.outcome;
	r->signal = run->halt.signal;
	r->siginfo = run->kern.siginfo;
	r->insns = run->count.insns;
	result_append_text(r, run->halt.why);
	if (r->outcome == ENTRYEMU_OOPS)
		oops_report(m, r, run->halt.oops_regs);
	if (r->dropped) {
		r->outcome = ENTRYEMU_ERROR;
		result_append(r, "\nout of host memory: %zu records of this run were lost",
			      r->dropped);
	}
	if (m->profiling)
		r->profile.total_ns = prof_now(m) - t_start;
	if (m->tap)
		m->tap->end(m->tap->ctx, r);
	gdb_run_end(m, r);
	return 0;
}

int entryemu_run(entryemu *m, const struct entryemu_setup *s, entryemu_result *r)
{
	if (!m || !s || !r)
		return ENTRYEMU_E_INVAL;
	if (m->run) {
		machine_set_error(m, "entryemu_run: a run is in progress on this handle");
		return ENTRYEMU_E_INVAL;
	}
	result_clear(r);		/* a refused setup leaves an empty result */
	int rc = check_setup(m, s);
	if (rc)
		return rc;
	struct run state = { 0 }, *run = &state;	/* all of it zeroed, every run */
	m->runs++;
	run->setup = s;
	run->res = r;
	run->recorder = (struct recorder){ .res = r, .last_call = -1,
					   .tracing = (s->flags & ENTRYEMU_RUN_TRACE) != 0 };
	/* the cfi checker runs when asked for (ENTRYEMU_RUN_CHECK_CFI) */
	checks_start(&run->checks, m, r, s->checks_off |
		     ((s->flags & ENTRYEMU_RUN_CHECK_CFI) ? 0u : (unsigned)ENTRYEMU_CHECK_CFI));
	run->stream.obs[run->stream.n].fn = recorder_observe;
	run->stream.obs[run->stream.n++].ctx = &run->recorder;
	run->stream.obs[run->stream.n].fn = checks_observe;
	run->stream.obs[run->stream.n++].ctx = &run->checks;
	if (m->tap) {
		run->stream.obs[run->stream.n].fn = m->tap->observe;
		run->stream.obs[run->stream.n++].ctx = m->tap->ctx;
	}
	/* each layer's part of the run */
	m->run = run;
	m->setup = s;
	m->halt = &run->halt;
	m->stream = &run->stream;
	m->count = &run->count;
	m->cpu = &run->cpu;
	m->kern = &run->kern;
	rc = run_once(m, run, s, r);
	m->run = NULL;
	m->setup = NULL;
	m->halt = NULL;
	m->stream = NULL;
	m->count = NULL;
	m->cpu = NULL;
	m->kern = NULL;
	m->profiling = 0;
	m->profile = NULL;
	return rc;
}

const char *entryemu_outcome_name(enum entryemu_outcome o)
{
	switch (o) {
	case ENTRYEMU_DONE: return "done";
	case ENTRYEMU_KILLED: return "killed";
	case ENTRYEMU_EXITED: return "exited";
	case ENTRYEMU_OOPS: return "oops";
	case ENTRYEMU_BUDGET: return "budget";
	case ENTRYEMU_UNSUPPORTED: return "unsupported";
	case ENTRYEMU_ERROR: return "error";
	}
	return "?";
}
