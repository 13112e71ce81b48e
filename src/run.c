/*
 * One run: reset, start in ring 3, let the hooks drive the kernel, and
 * collect what happened.  Runs are deterministic, so an oops found
 * without tracing is run again with tracing to show its last
 * instructions.
 */
#include "checks.h"
#include "machine.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_BUDGET 1000000u
#define OOPS_TRACE 32

void machine_stop(struct entryemu *m, enum entryemu_outcome o, const char *fmt, ...)
{
	if (m->stopping)
		return;
	m->stopping = 1;
	if (m->res) {
		m->res->outcome = o;
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(m->res->message, sizeof(m->res->message), fmt, ap);
		va_end(ap);
	}
	uc_emu_stop(m->uc);
}

void run_oops(struct entryemu *m, const char *fmt, ...)
{
	if (m->stopping)
		return;
	char why[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	machine_stop(m, ENTRYEMU_OOPS, "%s", why);
}

/* The user range: the first instruction after a return from the kernel,
 * and the exit page. */
static void user_hook(uc_engine *uc, uint64_t addr, uint32_t size, void *data)
{
	struct entryemu *m = data;
	(void)size;
	if (m->booting) {
		uc_emu_stop(uc);
		return;
	}
	if (m->stopping)
		return;
	if (m->in_kernel) {
		m->in_kernel = 0;
		struct entryemu_result *r = m->res;
		struct entryemu_regs now;
		machine_read_regs(m, &now);
		if (r && r->nreturns < ENTRYEMU_MAX_RETURNS)
			r->returns[r->nreturns++] = now;
		checks_return(m, &now);
	}
	if (addr >= ENTRYEMU_USER_EXIT && addr < ENTRYEMU_USER_EXIT + 0x1000) {
		count_unexecuted(m, (uint32_t)addr);
		/* the common end: no formatting */
		m->stopping = 1;
		if (m->res) {
			m->res->outcome = ENTRYEMU_DONE;
			memcpy(m->res->message, "user code finished", sizeof("user code finished"));
		}
		uc_emu_stop(uc);
	}
}

static void trace_hook(uc_engine *uc, uint64_t addr, uint32_t size, void *data)
{
	struct entryemu *m = data;
	(void)uc;
	(void)size;
	if (m->trace_len == m->trace_cap) {
		size_t cap = m->trace_cap ? m->trace_cap * 2 : 4096;
		uint32_t *t = realloc(m->trace, cap * sizeof(*t));
		if (!t)
			return;
		m->trace = t;
		m->trace_cap = cap;
	}
	m->trace[m->trace_len++] = (uint32_t)addr;
}

static bool unmapped_hook(uc_engine *uc, uc_mem_type type, uint64_t addr, int size,
			  int64_t value, void *data)
{
	struct entryemu *m = data;
	(void)uc;
	(void)size;
	(void)value;
	m->unmapped_addr = (uint32_t)addr;
	m->unmapped_kind = type;
	return false;
}

int run_install_hooks(struct entryemu *m)
{
	if (uc_hook_add(m->uc, &m->h_intr, UC_HOOK_INTR, (void *)deliver_intr_hook, m, 1, 0) ||
	    uc_hook_add(m->uc, &m->h_callout, UC_HOOK_CODE, (void *)callouts_hook, m,
			m->img.callouts_start, m->img.callouts_end - 1) ||
	    uc_hook_add(m->uc, &m->h_user, UC_HOOK_CODE, (void *)user_hook, m,
			ENTRYEMU_USER_EXIT,
			ENTRYEMU_USER_CODE + ENTRYEMU_USER_CODE_MAX - 1) ||
	    uc_hook_add(m->uc, &m->h_vsys, UC_HOOK_CODE, (void *)user_hook, m,
			VSYSCALL_PAGE, VSYSCALL_PAGE + 0xfff) ||
	    uc_hook_add(m->uc, &m->h_vm86, UC_HOOK_CODE, (void *)user_hook, m,
			ENTRYEMU_VM86_MEM, ENTRYEMU_VM86_MEM + 0xffff) ||
	    uc_hook_add(m->uc, &m->h_sysenter, UC_HOOK_INSN, (void *)deliver_sysenter_hook, m,
			1, 0, UC_X86_INS_SYSENTER) ||
	    uc_hook_add(m->uc, &m->h_block, UC_HOOK_BLOCK, (void *)count_block_hook, m, 1, 0) ||
	    uc_hook_add(m->uc, &m->h_unmapped, UC_HOOK_MEM_UNMAPPED, (void *)unmapped_hook,
			m, 1, 0)) {
		machine_set_error(m, "cannot install the emulator hooks");
		return ENTRYEMU_E_ENGINE;
	}
	return 0;
}

static void append(struct entryemu_result *r, const char *fmt, ...)
{
	size_t n = strlen(r->message);
	if (n >= sizeof(r->message) - 1)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->message + n, sizeof(r->message) - n, fmt, ap);
	va_end(ap);
}

/* Registers and the last instructions, under the oops message. */
static void oops_report(struct entryemu *m, struct entryemu_result *r)
{
	struct entryemu_regs frame;
	const struct entryemu_regs *g = &r->final;
	char sym[128];
	if (m->oops_regs) {
		/* a handler died: show the context it was called for */
		struct entryemu_pt_regs p;
		ptregs_read(m, m->oops_regs, &p);
		frame = (struct entryemu_regs){
			.eax = p.eax, .ebx = p.ebx, .ecx = p.ecx, .edx = p.edx,
			.esi = p.esi, .edi = p.edi, .ebp = p.ebp, .eip = p.eip,
			.eflags = p.eflags, .cs = (uint16_t)p.xcs, .ds = (uint16_t)p.xds,
			.es = (uint16_t)p.xes, .fs = g->fs, .gs = (uint16_t)(p.has_xgs ? p.xgs : g->gs),
			.ss = (p.xcs & 3) ? (uint16_t)p.xss : ENTRYEMU_KERNEL_DS,
			/* a kernel-mode frame ends where esp/ss would be */
			.esp = (p.xcs & 3) ? p.esp : m->oops_regs + (uint32_t)m->img.layout.pt_oldesp,
		};
		g = &frame;
	}
	append(r, "\nEIP: %04x:%08x <%s> EFLAGS: %08x\n", g->cs, g->eip,
	       entryemu_symbolize(m, g->eip, sym, sizeof(sym)), g->eflags);
	append(r, "eax: %08x ebx: %08x ecx: %08x edx: %08x\n", g->eax, g->ebx, g->ecx, g->edx);
	append(r, "esi: %08x edi: %08x ebp: %08x esp: %08x\n", g->esi, g->edi, g->ebp, g->esp);
	append(r, "ds: %04x es: %04x fs: %04x gs: %04x ss: %04x\n", g->ds, g->es, g->fs, g->gs, g->ss);
	if (!r->trace_len)
		return;
	size_t from = r->trace_len > OOPS_TRACE ? r->trace_len - OOPS_TRACE : 0;
	append(r, "last %zu instructions:\n", r->trace_len - from);
	for (size_t i = from; i < r->trace_len; i++) {
		char line[192];
		entryemu_disasm(m, r->trace[i], line, sizeof(line));
		append(r, "  %s\n", line);
	}
}

static void clear_result(struct entryemu_result *r)
{
	r->outcome = ENTRYEMU_ERROR;
	r->message[0] = 0;
	r->signal = 0;
	r->insns = 0;
	r->ncallouts = r->nfixups = r->nevents = r->nreturns = r->nfindings = 0;
	r->trace = NULL;
	r->trace_len = 0;
}

static int run_once(struct entryemu *m, const struct entryemu_setup *s,
		    struct entryemu_result *r, int trace)
{
	clear_result(r);
	memset(&r->profile, 0, sizeof(r->profile));
	m->profiling = (s->flags & ENTRYEMU_RUN_PROFILE) != 0;
	uint64_t t_start = prof_now(m);
	m->in_kernel = 0;
	int rc = machine_reset(m, s);
	if (rc)
		return rc;
	if (m->profiling)
		r->profile.reset_ns = prof_now(m) - t_start;
	m->setup = s;
	m->res = r;
	m->stopping = 0;
	checks_run_start(m);
	m->pending_signal = 0;
	m->ldt_entries = 0;
	m->oops_regs = 0;
	m->unmapped_kind = 0;
	m->budget = s->insn_budget ? s->insn_budget : DEFAULT_BUDGET;
	memset(&m->cur_block, 0, sizeof(m->cur_block));
	m->trace_len = 0;
	m->restart = 0;
	m->exact_insns = 0;
	m->prev_insn = m->shadow_from = 0;
	memset(m->inject, 0, sizeof(m->inject));
	if (s->ninjects > 8) {
		machine_set_error(m, "injects: at most 8 per run");
		return ENTRYEMU_E_INVAL;
	}
	/* injections and CR0.TS/EM need a look at every instruction */
	int slow = s->ninjects > 0 || (s->cr0_set & 0xc);
	if (slow && (uc_hook_add(m->uc, &m->h_inject, UC_HOOK_CODE, (void *)inject_hook,
				 m, 1, 0) != UC_ERR_OK)) {
		machine_set_error(m, "cannot install the injection hook");
		return ENTRYEMU_E_ENGINE;
	}
	/*
	 * Blocks translated before a hook is added do not call it: flush the
	 * translations when the trace hook comes and when it goes, so traced
	 * runs see every instruction and untraced ones run uninstrumented.
	 */
	if (trace && uc_hook_add(m->uc, &m->h_trace, UC_HOOK_CODE, (void *)trace_hook,
				 m, 1, 0) != UC_ERR_OK) {
		machine_set_error(m, "cannot install the trace hook");
		return ENTRYEMU_E_ENGINE;
	}
	if ((trace || slow) && uc_ctl_flush_tlb(m->uc) != UC_ERR_OK) {
		machine_set_error(m, "cannot flush translated code");
		return ENTRYEMU_E_ENGINE;
	}

	/*
	 * Emulation stops at an access to unmapped memory; the CPU would take
	 * a page fault there, so deliver #PF and go on from the handler.
	 */
	uint32_t start = m->start;
	uc_err e;
	for (;;) {
		e = uc_emu_start(m->uc, start, 0, 0, 0);
		if (m->restart && !m->stopping) {
			/* an injected event was delivered: go on from its handler */
			m->restart = 0;
			start = machine_reg(m, UC_X86_REG_EIP);
			continue;
		}
		if (e == UC_ERR_INSN_INVALID && !m->stopping) {
			/* Unicorn stops at an invalid opcode; the CPU raises #UD */
			deliver_invalid_opcode(m);
			if (m->stopping)
				break;
			start = machine_reg(m, UC_X86_REG_EIP);
			continue;
		}
		if (m->stopping || !m->unmapped_kind)
			break;
		int kind = m->unmapped_kind;
		m->unmapped_kind = 0;
		deliver_page_fault(m, m->unmapped_addr,
				   kind == UC_MEM_WRITE_UNMAPPED,
				   kind == UC_MEM_FETCH_UNMAPPED);
		if (m->stopping)
			break;
		start = machine_reg(m, UC_X86_REG_EIP);
	}

	if (trace)
		uc_hook_del(m->uc, m->h_trace);
	if (slow)
		uc_hook_del(m->uc, m->h_inject);
	if (trace || slow)
		uc_ctl_flush_tlb(m->uc);
	machine_read_regs(m, &r->final);
	if (!m->stopping) {
		char sym[128];
		const char *where = entryemu_symbolize(m, r->final.eip, sym, sizeof(sym));
		if (e != UC_ERR_OK)
			machine_stop(m, ENTRYEMU_ERROR, "emulator: %s at %s", uc_strerror(e), where);
		else
			run_oops(m, "the CPU halted at %s", where);
	}
	if (trace) {
		r->trace = m->trace;
		r->trace_len = m->trace_len;
	}
	if (m->profiling)
		r->profile.total_ns = prof_now(m) - t_start;
	m->res = NULL;
	return 0;
}

int entryemu_run(entryemu *m, const struct entryemu_setup *s, struct entryemu_result *r)
{
	if (!m || !s || !r)
		return ENTRYEMU_E_INVAL;
	int trace = (s->flags & ENTRYEMU_RUN_TRACE) != 0;
	int rc = run_once(m, s, r, trace);
	if (rc)
		return rc;
	if (r->outcome == ENTRYEMU_OOPS) {
		if (!trace) {
			/* deterministic: the same run with tracing shows the path */
			struct entryemu_result *again = malloc(sizeof(*again));
			if (again && run_once(m, s, again, 1) == 0 &&
			    again->outcome == ENTRYEMU_OOPS) {
				r->trace = again->trace;
				r->trace_len = again->trace_len;
			}
			free(again);
		}
		oops_report(m, r);
		if (!trace) {
			r->trace = NULL;
			r->trace_len = 0;
		}
	}
	return 0;
}

const struct entryemu_callout_record *
entryemu_result_callout(const struct entryemu_result *r, const char *name)
{
	for (unsigned i = 0; i < r->ncallouts; i++)
		if (!strcmp(r->callouts[i].name, name))
			return &r->callouts[i];
	return NULL;
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
