/*
 * The lockdep checker: lockdep's record of the interrupt flag against the
 * CPU's.
 *
 * With CONFIG_TRACE_IRQFLAGS (2.6.18 on) lockdep keeps its own copy of
 * EFLAGS.IF per task, current->hardirqs_enabled, and judges every lock it
 * sees by it: a lock taken while the copy says "on" but the CPU has
 * interrupts off is recorded as hardirq-unsafe usage it was not, and a
 * later real use inside an interrupt handler is then reported as an
 * inconsistent lock state, or a real deadlock missed.  C code keeps the
 * copy right by itself (local_irq_disable() is cli plus
 * trace_hardirqs_off(), local_irq_enable() trace_hardirqs_on() plus sti);
 * the entry code, which flips IF with bare cli and sti and has the CPU
 * clear it on delivery, tells lockdep with TRACE_IRQS_OFF after its cli
 * and TRACE_IRQS_ON before its sti or an iret that sets IF again
 * (TRACE_IRQS_IRET).  Those are calls of trace_hardirqs_off/on, which the
 * library serves as callouts, so the checker follows them as events: the
 * value last told, against EFLAGS.IF
 *
 *  - at every other kernel C call (what the callee's locks are judged by);
 *  - at the return to user space, where the copy must say what the user
 *    runs with (IF = 1, or 0 under iopl(3) and cli), so that the next
 *    entry starts right.  A run starts with the copy equal to the user's
 *    IF, as a task in user mode has it; before the first entry from user
 *    mode or the first trace call (a kernel thread's start) nothing is
 *    known and nothing is checked.
 *
 * and, as lockdep itself warns (DEBUG_LOCKS_WARN_ON(!irqs_disabled()) in
 * trace_hardirqs_on/off): the trace calls are made with IF = 0 (after the
 * cli, before the sti).
 *
 * Where the kernel does not consult lockdep, nothing is checked:
 *
 *  - NMI context, from an NMI's delivery to the next iret (which ends the
 *    NMI's blocking, SDM vol. 3A 6.7.1).  An NMI lands anywhere, also
 *    between a cli and its TRACE_IRQS_OFF, where the copy is out of step
 *    on purpose; the NMI handler must neither read nor change it.  That
 *    is why 2.6.18's nmi leaves through restore_nocheck_notrace, and
 *    mainline's lockdep later ignores NMI context outright ("NMIs do not
 *    (and cannot) track lock dependencies").  The checker checks no C call
 *    there, and reports a trace call made there: it would overwrite the
 *    interrupted code's record.
 *  - An exception's entry up to and including its C handler (the first C
 *    call handed the exception's pt_regs; 2.6.18's espfix path calls
 *    fixup_x86_bogus_stack before it, with none).  An interrupt gate (#DB,
 *    NMI, int3, #PF) clears IF without telling lockdep, and 2.6.18's
 *    error_code calls no trace function: the handler starts with the
 *    interrupted code's record and reconciles it itself (2.6.18's
 *    do_page_fault and do_debug call local_irq_enable() when the
 *    interrupted code had interrupts on; 2.6.24 begins them with
 *    trace_hardirqs_fixup(), "we can fault from pretty much anywhere, with
 *    unknown IRQ state").  The library serves the handlers, so the copy is
 *    left as the interrupted code had it.  IRQ stubs are not exempt: the
 *    entry code itself calls TRACE_IRQS_OFF before do_IRQ
 *    (common_interrupt).
 *
 * What the kernels of 2.6.18-2.6.24 do show, and the checker reports:
 * resume_userspace disables interrupts with a bare cli, so the copy still
 * says "on" (from an exception's handler, or from syscall_exit_work's
 * TRACE_IRQS_ON before do_syscall_trace) when the work loop calls
 * do_notify_resume or schedule with interrupts off.  Mainline added the
 * TRACE_IRQS_OFF after that cli later (present in 2.6.27's entry_32.S,
 * absent from 2.6.24's); the bundled scenarios that reach it expect the
 * finding (docs/findings.md).  With CONFIG_PREEMPT, ret_from_exception's
 * preempt_stop already traces its cli, so after an exception only the
 * syscall-trace path shows it.
 *
 * One finding per entry from user mode: the first place the record and
 * the CPU part is where to look.
 */
#include "run/checks.h"

#include <stdio.h>
#include <string.h>

#define NMI_VECTOR	2
#define FIRST_IRQ_VECTOR 32	/* below: exceptions */

static int flag_if(uint32_t eflags)
{
	return (eflags & ENTRYEMU_EFLAGS_IF) != 0;
}

/* Who told lockdep what it holds, for the finding's text. */
static void told(const struct checks *k, char *buf, size_t n)
{
	const struct lockdep_view *v = &k->lockdep;
	char sym[96];
	if (!v->told_at)
		snprintf(buf, n, "hardirqs %s, as in user mode", v->on ? "on" : "off");
	else
		snprintf(buf, n, "hardirqs %s, by the call at %s", v->on ? "on" : "off",
			 entryemu_symbolize(k->m, v->told_at, sym, sizeof(sym)));
}

static int report_once(struct checks *k)
{
	if (k->lockdep.reported)
		return 0;
	k->lockdep.reported = 1;
	return 1;
}

static void on_delivered(struct checks *k, const struct run_event *ev)
{
	struct lockdep_view *v = &k->lockdep;
	int vector = ev->u.delivered.rec.vector;
	if (ev->u.delivered.user_entry) {
		v->reported = 0;
		if (!v->known) {
			v->known = 1;
			v->on = flag_if(ev->u.delivered.user.eflags);
			v->told_at = 0;
		}
	}
	if (vector == NMI_VECTOR) {
		v->nmi = 1;
		return;
	}
	/*
	 * Each exception's handler reconciles the record itself, one taken
	 * at the first instruction of another's entry too (a #DB there): the
	 * outer handler still starts from the interrupted code's record.  An
	 * IRQ or a system call before the handlers ran is traced (or left IF
	 * as it was) like any other: check again.
	 */
	if (vector < FIRST_IRQ_VECTOR)
		v->handler_due++;
	else
		v->handler_due = 0;
}

static void on_trace_call(struct checks *k, const struct entryemu_callout_record *rec, int on)
{
	struct lockdep_view *v = &k->lockdep;
	if (v->nmi) {
		if (report_once(k))
			checks_finding(k, ENTRYEMU_CHECK_LOCKDEP, rec->return_addr, "%s called "
				       "in NMI context: the NMI may have interrupted a cli "
				       "before its TRACE_IRQS_OFF, whose record this "
				       "overwrites", rec->name);
	} else if (flag_if(rec->eflags) && report_once(k)) {
		checks_finding(k, ENTRYEMU_CHECK_LOCKDEP, rec->return_addr, "%s called with "
			       "IF = 1: lockdep is told after the cli and before the sti, "
			       "with interrupts off", rec->name);
	}
	v->known = 1;
	v->on = on;
	v->told_at = rec->return_addr;
}

static void on_call(struct checks *k, const struct entryemu_callout_record *rec,
		    uint32_t regs_addr)
{
	struct lockdep_view *v = &k->lockdep;
	if (!strncmp(rec->name, "trace_hardirqs_o", 16)) {
		if (!strcmp(rec->name + 16, "n"))
			on_trace_call(k, rec, 1);
		else if (!strcmp(rec->name + 16, "ff"))
			on_trace_call(k, rec, 0);
		return;
	}
	if (v->nmi)
		return;
	if (v->handler_due) {
		if (regs_addr)
			v->handler_due--;	/* a handler: it reconciles */
		return;
	}
	int cpu = flag_if(rec->eflags);
	if (!v->known || v->on == cpu || !report_once(k))
		return;
	char why[160];
	told(k, why, sizeof(why));
	checks_finding(k, ENTRYEMU_CHECK_LOCKDEP, rec->return_addr, "%s called with IF = %d, "
		       "but lockdep was last told %s", rec->name, cpu, why);
}

static void on_return(struct checks *k, const struct entryemu_regs *now)
{
	struct lockdep_view *v = &k->lockdep;
	int cpu = flag_if(now->eflags);
	v->nmi = 0;
	v->handler_due = 0;
	if (!v->known || v->on == cpu || !report_once(k))
		return;
	char why[160];
	told(k, why, sizeof(why));
	checks_finding(k, ENTRYEMU_CHECK_LOCKDEP, now->eip, "returned to user space with "
		       "IF = %d, but lockdep was last told %s", cpu, why);
}

void lockdep_observe(struct checks *k, const struct run_event *ev)
{
	if (k->off & ENTRYEMU_CHECK_LOCKDEP)
		return;
	switch (ev->kind) {
	case RUN_EV_DELIVERED:
		on_delivered(k, ev);
		break;
	case RUN_EV_CALL_BEFORE:
		on_call(k, ev->u.call.rec, ev->u.call.regs_addr);
		break;
	case RUN_EV_RETURN:
		on_return(k, &ev->u.ret);
		break;
	case RUN_EV_EXIT_INSN:
		/* an iret ends NMI context (and the NMI's blocking); looked
		 * up only in NMI context, the rare case */
		if (k->lockdep.nmi) {
			uint8_t *p = machine_ptr(k->m, ev->u.exit.addr, 1);
			if (p && p[0] == 0xcf)
				k->lockdep.nmi = 0;
		}
		break;
	default:
		break;
	}
}
