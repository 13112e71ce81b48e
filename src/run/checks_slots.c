/*
 * The slots checker: kernel-address bits in a user-visible selector slot
 * of pt_regs.
 *
 * A selector slot is 32 bits wide and the selector is its low 16.  What
 * the upper half holds reaches user space whole: 2.6.20's signal.c copies
 * regs->xgs, ->xds, ->xes, ->xcs and ->xss into the sigcontext as 32-bit
 * words, and PTRACE_GETREGS hands out the slots as they are.  A store of
 * a segment register to memory writes 16 bits only (SDM vol. 2 MOV: "the
 * processor ... stores 16 bits"), so a slot the kernel fills that way
 * keeps whatever was there before: after the seed's error_code, whose
 * `mov %gs, PT_GS(%esp)` overwrites the handler's address only in its
 * low half, the upper half of the handler's address (0xc010).  That is a
 * kernel address leaking to the user, and what this checker flags: a
 * slot whose value, read as an address, lies at or above PAGE_OFFSET,
 * when the frame is handed back to user space.  That is where the exit
 * path checks for work, its load of thread_info->flags with the entry's
 * pt_regs on top of the stack: before a signal's delivery (the work it
 * finds) and the last moment the whole frame is there, before
 * RESTORE_REGS pops it (a popped slot is no longer the user's, and an
 * event nested in the pops writes its own frame over it).  Each pass of
 * the work loop looks again, so a frame changed by the work is seen
 * too.  Once per entry.
 */
#include "run/checks.h"
#include "run/result.h"

/* The first selector slot of the frame that holds kernel-address bits. */
static void look(struct checks *k, uint32_t at, const char *when)
{
	struct entry_state *e = &k->entry;
	if (!e->active || e->vm86 || e->slots_seen || (k->off & ENTRYEMU_CHECK_SLOTS))
		return;
	struct entryemu_pt_regs p;
	ptregs_read(k->m, e->frame, &p);
	const struct { const char *n; uint32_t v; int present; } s[] = {
		{ "xds", p.xds, 1 }, { "xes", p.xes, 1 }, { "xgs", p.xgs, p.has_xgs },
		{ "xcs", p.xcs, 1 }, { "xss", p.xss, 1 },
	};
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		if (!s[i].present || (s[i].v & 0xffff0000u) < PAGE_OFFSET)
			continue;
		e->slots_seen = 1;
		checks_finding(k, ENTRYEMU_CHECK_SLOTS, at, "pt_regs->%s = 0x%08x %s: its "
			       "upper half (0x%04x) is kernel-address bits, which reach the "
			       "user whole (sigcontext, ptrace)", s[i].n, s[i].v, when,
			       s[i].v >> 16);
		return;
	}
}

void slots_at_work_check(struct checks *k, uint32_t addr, uint32_t esp)
{
	struct entryemu_pt_regs p;
	if (!k->entry.active || esp != k->entry.frame)
		return;
	ptregs_read(k->m, esp, &p);
	if ((p.xcs & 3) == 3 || (p.eflags & ENTRYEMU_EFLAGS_VM))
		look(k, addr, "at the return to user space");
}
