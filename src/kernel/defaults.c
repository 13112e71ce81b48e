/*
 * The library's default kernel: what the C functions the entry code
 * calls do when the caller has not registered its own.  Each follows the
 * 2.6.18 kernel's behaviour as far as the entry path can observe it.
 */
#include "kernel/kernel.h"
#include "kernel/siginfo.h"
#include "cpu/desc.h"

#include <string.h>

#define ENOSYS 38
#define EFAULT 14
#define EINVAL 22
#define ESRCH 3
#define TIF_SINGLESTEP 4
#define TIF_IRET 5
#define TIF_RESTORE_SIGMASK 9

#define TIF_SIGPENDING 2
#define TIF_NEED_RESCHED 3

/* copy_from_user/copy_to_user: user addresses only, mapped only. */
static int user_copy_in(struct entryemu *m, void *dst, uint32_t src, size_t len)
{
	if (src >= PAGE_OFFSET || PAGE_OFFSET - src < len)
		return -1;
	return entryemu_mem_read(m, src, dst, len) ? -1 : 0;
}

static int user_copy_out(struct entryemu *m, uint32_t dst, const void *src, size_t len)
{
	if (dst >= PAGE_OFFSET || PAGE_OFFSET - dst < len)
		return -1;
	return entryemu_mem_write(m, dst, src, len) ? -1 : 0;
}

/* ---- system calls -------------------------------------------------------- */

static void sys_ni_syscall(entryemu_call *c, void *o)
{
	(void)o;
	entryemu_call_return(c, (uint32_t)-ENOSYS);
}

static void sys_getpid(entryemu_call *c, void *o)
{
	(void)o;
	entryemu_call_return(c, c->m->setup->pid ? c->m->setup->pid : 1000);
}

/*
 * set_thread_area(struct user_desc *u_info): install a TLS descriptor in
 * GDT entry 6..8 (entry_number -1: the first free one, written back), or
 * clear it when the descriptor is "empty" (LDT_empty()).  The GDT is
 * updated at once (load_TLS); segment registers are not reloaded, so a
 * selector already in %gs keeps its cached descriptor until the next load.
 */
static void sys_set_thread_area(entryemu_call *c, void *o)
{
	(void)o;
	struct entryemu *m = c->m;
	uint32_t uptr = entryemu_call_stack_arg(c, 0);
	struct { uint32_t entry_number, base_addr, limit, flags; } u;
	if (user_copy_in(m, &u, uptr, sizeof(u)) < 0) {
		entryemu_call_return(c, (uint32_t)-EFAULT);
		return;
	}
	int32_t idx = (int32_t)u.entry_number;
	if (idx == -1) {
		for (idx = ENTRYEMU_GDT_TLS_MIN; idx <= ENTRYEMU_GDT_TLS_MAX; idx++) {
			uint32_t lo, hi;
			entryemu_gdt_get(m, (unsigned)idx, &lo, &hi);
			if (!lo && !hi)
				break;
		}
		if (idx > ENTRYEMU_GDT_TLS_MAX) {
			entryemu_call_return(c, (uint32_t)-ESRCH);
			return;
		}
		uint32_t v = (uint32_t)idx;
		if (user_copy_out(m, uptr, &v, 4) < 0) {
			entryemu_call_return(c, (uint32_t)-EFAULT);
			return;
		}
	}
	if (idx < ENTRYEMU_GDT_TLS_MIN || idx > ENTRYEMU_GDT_TLS_MAX) {
		entryemu_call_return(c, (uint32_t)-EINVAL);
		return;
	}
	unsigned seg_32bit = u.flags & 1, contents = (u.flags >> 1) & 3,
		 read_exec_only = (u.flags >> 3) & 1, limit_in_pages = (u.flags >> 4) & 1,
		 seg_not_present = (u.flags >> 5) & 1, useable = (u.flags >> 6) & 1;
	uint32_t a = 0, b = 0;
	int empty = u.base_addr == 0 && u.limit == 0 && contents == 0 &&
		    read_exec_only == 1 && seg_32bit == 0 && limit_in_pages == 0 &&
		    seg_not_present == 1 && useable == 0;
	if (!empty) {
		a = ((u.base_addr & 0xffff) << 16) | (u.limit & 0x0ffff);
		b = (u.base_addr & 0xff000000) | ((u.base_addr & 0x00ff0000) >> 16) |
		    (u.limit & 0xf0000) | ((read_exec_only ^ 1) << 9) |
		    (contents << 10) | ((seg_not_present ^ 1) << 15) |
		    (seg_32bit << 22) | (limit_in_pages << 23) | (useable << 20) |
		    0x7000;
	}
	entryemu_gdt_set(m, (unsigned)idx, a, b);
	entryemu_call_return(c, 0);
}

/*
 * modify_ldt(func, ptr, bytecount), funcs 1 and 0x11 (write_ldt): the
 * LDT grows to hold the entry (alloc_ldt, in steps of 512 entries, here
 * at most one step), the descriptor is built as for TLS (the old mode
 * clears "useable"), and the LDT is loaded: GDT entry 17 describes it
 * (type 2, DPL 0) and LDTR is reloaded with selector 0x88.
 */
static void sys_modify_ldt(entryemu_call *c, void *o)
{
	(void)o;
	struct entryemu *m = c->m;
	uint32_t func = entryemu_call_stack_arg(c, 0), ptr = entryemu_call_stack_arg(c, 1);
	uint32_t count = entryemu_call_stack_arg(c, 2);
	if (func != 1 && func != 0x11) {
		entryemu_call_return(c, (uint32_t)-ENOSYS);	/* reads: not modelled */
		return;
	}
	int oldmode = func == 1;
	struct { uint32_t entry_number, base_addr, limit, flags; } u;
	if (count != sizeof(u)) {
		entryemu_call_return(c, (uint32_t)-EINVAL);
		return;
	}
	if (user_copy_in(m, &u, ptr, sizeof(u)) < 0) {
		entryemu_call_return(c, (uint32_t)-EFAULT);
		return;
	}
	unsigned seg_32bit = u.flags & 1, contents = (u.flags >> 1) & 3,
		 read_exec_only = (u.flags >> 3) & 1, limit_in_pages = (u.flags >> 4) & 1,
		 seg_not_present = (u.flags >> 5) & 1, useable = (u.flags >> 6) & 1;
	if (u.entry_number >= 8192 || (contents == 3 && (oldmode || !seg_not_present))) {
		entryemu_call_return(c, (uint32_t)-EINVAL);
		return;
	}
	if (u.entry_number >= SYS_LDT_ENTRIES) {
		machine_stop(m, ENTRYEMU_UNSUPPORTED, "modify_ldt: entry %u; the model's LDT "
			     "holds %u entries", u.entry_number, SYS_LDT_ENTRIES);
		return;
	}
	uint32_t a = 0, b = 0;
	int empty = u.base_addr == 0 && u.limit == 0 && contents == 0 &&
		    read_exec_only == 1 && seg_32bit == 0 && limit_in_pages == 0 &&
		    seg_not_present == 1 && useable == 0;
	if (!(u.base_addr == 0 && u.limit == 0 && (oldmode || empty))) {
		a = ((u.base_addr & 0xffff) << 16) | (u.limit & 0x0ffff);
		b = (u.base_addr & 0xff000000) | ((u.base_addr & 0x00ff0000) >> 16) |
		    (u.limit & 0xf0000) | ((read_exec_only ^ 1) << 9) | (contents << 10) |
		    ((seg_not_present ^ 1) << 15) | (seg_32bit << 22) |
		    (limit_in_pages << 23) | (useable << 20) | 0x7000;
		if (oldmode)
			b &= ~(1u << 20);
	}
	if (!m->kern->ldt_entries) {
		/* alloc_ldt + load_LDT: GDT entry 17, then lldt 0x88 */
		m->kern->ldt_entries = SYS_LDT_ENTRIES;
		uint32_t lo, hi;
		desc_make_seg(&lo, &hi, SYS_LDT, SYS_LDT_ENTRIES * 8 - 1, 0x2, 0, 0, 0);
		entryemu_gdt_set(m, 17, lo, hi);
		struct engine_table_reg ldtr = { .selector = 0x88, .base = SYS_LDT,
				    .limit = SYS_LDT_ENTRIES * 8 - 1, .flags = hi & 0x00f0ff00 };
		engine_set_table(m->eng, ET_LDTR, &ldtr);
	}
	entryemu_mem_write(m, SYS_LDT + 8 * u.entry_number, &a, 4);
	entryemu_mem_write(m, SYS_LDT + 8 * u.entry_number + 4, &b, 4);
	seg_limit_note(m, a, b);
	entryemu_call_return(c, 0);
}

/* ---- vm86 -------------------------------------------------------------------- */

/*
 * save_v86_state(regs), fastcall, when a vm86 task has work before its
 * return: the vm86 registers go back to the task's vm86_info (not
 * modelled: the values are in the callout record), esp0 and SYSENTER_CS
 * are restored, and the vm86() call's own frame, regs32, is returned:
 * the entry code switches %esp to it and the task leaves vm86 mode.
 */
static void save_v86_state(entryemu_call *c, void *o)
{
	(void)o;
	struct entryemu *m = c->m;
	if (!m->vm86_regs32) {
		entryemu_call_oops(c, "no vm86_info: BAD (not in vm86 mode)");
		return;
	}
	machine_wr32(m, SYS_TSS + (uint32_t)m->img.layout.tss_esp0, m->esp0);
	engine_set_msr(m->eng, 0x174, ENTRYEMU_KERNEL_CS);
	entryemu_call_return(c, m->vm86_regs32);
	m->vm86_regs32 = 0;
}

/* ---- espfix: returning to a 16-bit stack segment -------------------------- */

/*
 * setup_x86_bogus_stack(stk), fastcall, on the way to an iret to a 16-bit
 * SS (ldt_ss): stk is %esp after "subl $8": pt_regs moves down 8 bytes
 * to stk, the 20-byte iret frame is copied to the top of the per-CPU
 * 16-bit stack (offset 1024 - 8 - 20), and two far pointers are written:
 * switch16 (after pt_regs, read by "lss 20+4(%esp)") = ESPFIX_SS : the
 * user's ESP high half | that offset, so the iret leaves the user's own
 * high half in ESP; switch32 (the 16-bit stack's last 8 bytes, read by
 * FIXUP_ESPFIX_STACK) = __KERNEL_DS : the 32-bit address matching offset
 * 0 of the 16-bit stack.
 */
static void setup_x86_bogus_stack(entryemu_call *c, void *o)
{
	(void)o;
	struct entryemu *m = c->m;
	const struct image_layout *l = &m->img.layout;
	uint32_t stk = c->eax, size = (uint32_t)l->pt_size;
	uint32_t frame_off = SYS_ESPFIX_SIZE - 8 - 20;
	uint8_t *regs = machine_wptr(m, stk, size + 8);
	uint8_t *s16 = machine_wptr(m, SYS_ESPFIX, SYS_ESPFIX_SIZE);
	if (!regs || !s16) {
		entryemu_call_oops(c, "stack pointer outside the kernel stack");
		return;
	}
	memmove(regs, regs + 8, size);
	memcpy(s16 + frame_off, regs + l->pt_eip, 20);
	uint32_t user_esp;
	memcpy(&user_esp, regs + l->pt_oldesp, 4);
	uint32_t switch16[2] = { (user_esp & 0xffff0000u) | frame_off, ENTRYEMU_ESPFIX_SS };
	uint32_t switch32[2] = { stk + size + 8 - SYS_ESPFIX_SIZE, ENTRYEMU_KERNEL_DS };
	memcpy(regs + size, switch16, 8);
	memcpy(s16 + SYS_ESPFIX_SIZE - 8, switch32, 8);
}

/*
 * fixup_x86_bogus_stack(sp), fastcall: an exception taken on the 16-bit
 * stack; FIXUP_ESPFIX_STACK has switched to the 32-bit stack switch32
 * names.  Copy everything from sp to the switch32 pointer back to the
 * matching 32-bit addresses and return where sp corresponds to.
 */
static void fixup_x86_bogus_stack(entryemu_call *c, void *o)
{
	(void)o;
	struct entryemu *m = c->m;
	uint32_t sp = c->eax & 0xffff;
	uint8_t *s16 = machine_ptr(m, SYS_ESPFIX, SYS_ESPFIX_SIZE);
	if (sp > SYS_ESPFIX_SIZE - 8) {
		entryemu_call_oops(c, "16-bit stack pointer outside the espfix stack");
		return;
	}
	uint32_t len = SYS_ESPFIX_SIZE - 8 - sp, switch32;
	memcpy(&switch32, s16 + SYS_ESPFIX_SIZE - 8, 4);
	uint32_t dst = switch32 + SYS_ESPFIX_SIZE - 8 - len;
	if (entryemu_mem_write(m, dst, s16 + sp, len)) {
		entryemu_call_oops(c, "switch32 points outside the kernel stack");
		return;
	}
	entryemu_call_return(c, dst);
}

/*
 * patch_espfix_desc(uesp, kesp), fastcall (2.6.20 on), from ldt_ss before
 * the iret to a 16-bit stack segment: point the 32-bit ESPFIX_SS at the
 * kernel stack so that the offset the kernel's frame then has shares its
 * upper bits with the user's ESP, and return that offset (lss loads it
 * with ESPFIX_SS).  The iret then restores only SP, and the upper half of
 * ESP the user sees is its own.  The base is the difference of the two
 * pointers rounded down to THREAD_SIZE, so the offset keeps kesp's
 * position within the stack; the limit (in 4 KiB pages, the descriptor
 * being granular) covers the stack up to its end.  Only base and limit
 * change: type, DPL and the G/B flags stay as the GDT has them.
 */
static void patch_espfix_desc(entryemu_call *c, void *o)
{
	(void)o;
	struct entryemu *m = c->m;
	uint32_t uesp = c->eax, kesp = c->edx;
	uint32_t thread = m->thread_size;
	uint32_t base = (kesp - uesp) & ~(thread - 1);
	uint32_t offset = kesp - base;
	uint32_t limit_pages = (offset | (thread - 1)) >> 12;
	uint32_t lo, hi;
	entryemu_gdt_get(m, ENTRYEMU_ESPFIX_SS >> 3, &lo, &hi);
	lo = (base << 16) | (limit_pages & 0xffff);
	hi = (hi & 0x00f0ff00u) | (base & 0xff000000u) | ((base >> 16) & 0xffu) |
	     (limit_pages & 0x000f0000u);
	entryemu_gdt_set(m, ENTRYEMU_ESPFIX_SS >> 3, lo, hi);
	entryemu_call_return(c, offset);
}

/* ---- exceptions ------------------------------------------------------------ */

#define TASK_SIZE	PAGE_OFFSET

/*
 * force_sig_info(sig, info): pending, delivered (fatally: no handlers)
 * on the way out; what the handler would be given is kept for the result.
 * force_sig(sig) is this with SI_KERNEL and no address.
 */
static void force_sig_info(struct entryemu *m, int sig, int code, uint32_t addr)
{
	struct entryemu_siginfo *si = &m->kern->siginfo;
	si->signo = sig;
	si->code = code;
	si->addr = addr;
	m->kern->pending_signal = (uint32_t)sig;
	entryemu_set_ti_flags(m, entryemu_ti_flags(m) | (1u << TIF_SIGPENDING));
}

static void force_sig(struct entryemu *m, int sig)
{
	force_sig_info(m, sig, SI_KERNEL, 0);
}

/* current->thread.trap_no and .error_code, which signal.c reports in the
 * sigcontext (trapno, err). */
static void set_trap(struct entryemu *m, uint32_t trap_no, uint32_t error_code)
{
	m->kern->siginfo.trap_no = trap_no;
	m->kern->siginfo.error_code = error_code;
}

enum si_addr_from { ADDR_NONE, ADDR_EIP };

struct trap_kind {
	const char *fn;
	int vector;		/* also thread.trap_no (32 for iret_error) */
	int signal;		/* what user mode gets */
	int si_code;		/* DO_ERROR_INFO's; SI_KERNEL for DO_ERROR (force_sig) */
	enum si_addr_from addr;
};

/* 2.6.18 traps.c's DO_ERROR / DO_ERROR_INFO / DO_VM86_ERROR* table. */
static const struct trap_kind traps[] = {
	{ "do_divide_error", VEC_DE, SIGFPE, FPE_INTDIV, ADDR_EIP },
	{ "do_overflow", VEC_OF, SIGSEGV, SI_KERNEL, ADDR_NONE },
	{ "do_bounds", VEC_BR, SIGSEGV, SI_KERNEL, ADDR_NONE },
	{ "do_invalid_op", VEC_UD, SIGILL, ILL_ILLOPN, ADDR_EIP },
	{ "do_coprocessor_segment_overrun", VEC_CSO, SIGFPE, SI_KERNEL, ADDR_NONE },
	{ "do_invalid_TSS", VEC_TS, SIGSEGV, SI_KERNEL, ADDR_NONE },
	{ "do_segment_not_present", VEC_NP, SIGBUS, SI_KERNEL, ADDR_NONE },
	{ "do_stack_segment", VEC_SS, SIGBUS, SI_KERNEL, ADDR_NONE },
	{ "do_general_protection", VEC_GP, SIGSEGV, SI_KERNEL, ADDR_NONE },
	{ "do_page_fault", VEC_PF, SIGSEGV, SEGV_MAPERR, ADDR_NONE },	/* see below */
	{ "do_spurious_interrupt_bug", 15, 0, 0, ADDR_NONE },
	{ "do_coprocessor_error", VEC_MF, SIGFPE, SI_FAULT_BARE, ADDR_EIP },
	{ "do_alignment_check", VEC_AC, SIGBUS, BUS_ADRALN, ADDR_NONE },
	{ "do_simd_coprocessor_error", VEC_XM, SIGFPE, SI_FAULT_BARE, ADDR_EIP },
	{ "do_iret_error", 32, SIGSEGV, ILL_BADSTK, ADDR_NONE },
};

/*
 * math_error() (#MF) and simd_math_error() (#XM): the signal's si_code
 * names the one unmasked exception pending, from the x87 status word
 * masked by the control word (0x3f: IE DE ZE OE UE PE), or from MXCSR's
 * flags masked by its mask bits (bits 7-12).  math_error sends nothing
 * when no unmasked exception is pending; several at once, or none for
 * SIMD, leave the bare __SI_FAULT (0).  Returns the si_code, or -1 for
 * no signal.
 */
static int fpu_si_code(unsigned pending, int none_sends)
{
	switch (pending & 0x3f) {
	case 0x00: return none_sends ? SI_FAULT_BARE : -1;
	case 0x01: return FPE_FLTINV;
	case 0x02: case 0x10: return FPE_FLTUND;
	case 0x04: return FPE_FLTDIV;
	case 0x08: return FPE_FLTOVF;
	case 0x20: return FPE_FLTRES;
	default: return SI_FAULT_BARE;
	}
}

/*
 * do_page_fault() of 2.6.18's mm/fault.c for a user-mode fault: no VMA
 * covers a kernel address or an unmapped user one (SEGV_MAPERR); a
 * present page that refuses the access lies in a VMA (SEGV_ACCERR).
 * thread.error_code gets P forced on for kernel addresses ("Kernel
 * addresses are always protection faults"), si_addr is CR2.
 */
static void user_page_fault(struct entryemu *m, uint32_t error_code)
{
	uint32_t addr = machine_reg(m, ER_CR2);
	int code = addr < TASK_SIZE && (error_code & 1) ? SEGV_ACCERR : SEGV_MAPERR;
	set_trap(m, VEC_PF, error_code | (addr >= TASK_SIZE));
	force_sig_info(m, SIGSEGV, code, addr);
}

/* What a user-mode trap t does: the thread fields and the signal (none
 * from math_error with nothing pending). */
static void user_trap(struct entryemu *m, const struct trap_kind *t,
		      const struct entryemu_pt_regs *regs, uint32_t error_code)
{
	uint32_t addr = t->addr == ADDR_EIP ? regs->eip : 0;
	switch (t->vector) {
	case VEC_PF:
		user_page_fault(m, error_code);
		return;
	case VEC_MF: {
		unsigned sw = machine_reg(m, ER_FPSW), cw = machine_reg(m, ER_FPCW);
		int code = fpu_si_code(sw & ~cw, 0);
		set_trap(m, VEC_MF, 0);
		if (code >= 0)
			force_sig_info(m, SIGFPE, code, addr);
		return;
	}
	case VEC_XM: {
		unsigned mx = machine_reg(m, ER_MXCSR);
		set_trap(m, VEC_XM, 0);
		force_sig_info(m, SIGFPE, fpu_si_code(~((mx & 0x1f80) >> 7) & (mx & 0x3f), 1),
			       addr);
		return;
	}
	default:
		set_trap(m, (uint32_t)t->vector, error_code);
		force_sig_info(m, t->signal, t->si_code, addr);
		return;
	}
}

/*
 * do_trap() of traps.c: from user mode the task gets a signal (forced:
 * it is delivered on the way out, by do_notify_resume); from kernel mode
 * the __ex_table fixup is applied, and without one the kernel dies.
 * do_trap() and do_general_protection() set thread.trap_no and
 * .error_code first, in either mode; do_page_fault() only for a user
 * fault (a kernel one goes to no_context).
 */
static void do_trap(entryemu_call *c, void *o)
{
	(void)o;
	struct entryemu *m = c->m;
	const struct trap_kind *t = NULL;
	for (size_t i = 0; i < sizeof(traps) / sizeof(traps[0]); i++)
		if (!strcmp(traps[i].fn, c->co->name))
			t = &traps[i];
	struct entryemu_pt_regs regs;
	ptregs_read(m, c->regs_addr, &regs);
	if (t && (t->vector == VEC_MF || t->vector == VEC_XM)) {
		/* math_error() and simd_math_error() do not look at the mode:
		 * the current task gets the signal, if any, kernel or not */
		user_trap(m, t, &regs, c->edx);
		return;
	}
	if (t && t->signal && t->vector != VEC_PF)
		set_trap(m, (uint32_t)t->vector, c->edx);
	if (regs.eflags & ENTRYEMU_EFLAGS_VM) {
		/*
		 * 2.6.18's do_trap() from vm86 mode: the DO_VM86_ERROR traps
		 * (0, 3, 4, 5) ask handle_vm86_trap(), which for a vm86old()
		 * task (not VMPI.is_vm86pus, as this library starts it) returns
		 * 1 for any vector but 1, so they go to trap_signal like the
		 * DO_ERROR ones; #GP is handle_vm86_fault()'s (the 8086
		 * monitor's), #PF do_page_fault's: not modelled.
		 */
		if (t && t->signal && t->vector != VEC_GP && t->vector != VEC_PF) {
			user_trap(m, t, &regs, c->edx);
			return;
		}
		machine_stop(m, ENTRYEMU_UNSUPPORTED, "%s from vm86 mode: the kernel's vm86 "
			     "monitor (handle_vm86_fault) is not modelled", c->co->name);
		return;
	}
	if (regs.xcs & 3) {
		if (t && t->signal)
			user_trap(m, t, &regs, c->edx);
		return;
	}
	if (t && !t->signal)
		return;		/* spurious_interrupt_bug: nothing to do */
	if (entryemu_call_fixup_exception(c, c->regs_addr, t ? t->vector : -1, c->edx))
		return;
	char sym[128], why[256];
	if (t && t->vector == VEC_PF)
		snprintf(why, sizeof(why), "unable to handle kernel paging request at "
			 "0x%08x (CR2) at %s, error code 0x%x, no __ex_table entry",
			 machine_reg(m, ER_CR2),
			 entryemu_symbolize(m, regs.eip, sym, sizeof(sym)), c->edx);
	else
		snprintf(why, sizeof(why), "kernel-mode fault at %s, error code 0x%x, "
			 "no __ex_table entry",
			 entryemu_symbolize(m, regs.eip, sym, sizeof(sym)), c->edx);
	entryemu_call_oops(c, why);
}

/*
 * do_int3: nobody on the notify_die() chain; user mode gets SIGTRAP
 * (do_trap(3, SIGTRAP, "int3", 1, ...): force_sig, trap_no 3).  From vm86
 * mode too: for a vm86old() task handle_vm86_trap() returns 1 for trap
 * 3, and do_trap goes to trap_signal.
 */
static void do_int3(entryemu_call *c, void *o)
{
	(void)o;
	struct entryemu_pt_regs regs;
	ptregs_read(c->m, c->regs_addr, &regs);
	set_trap(c->m, VEC_BP, c->edx);
	if ((regs.xcs & 3) || (regs.eflags & ENTRYEMU_EFLAGS_VM))
		force_sig(c->m, SIGTRAP);
}

/*
 * do_debug: a single step in user mode is send_sigtrap() of ptrace.c
 * (trap_no 1, TRAP_BRKPT, si_addr = the user's EIP); in kernel mode (a
 * step into sysenter) the kernel clears TF in the frame and remembers
 * the step in TIF_SINGLESTEP, so the syscall exit path reports it.
 */
static void do_debug(entryemu_call *c, void *o)
{
	(void)o;
	struct entryemu *m = c->m;
	struct entryemu_pt_regs regs;
	ptregs_read(m, c->regs_addr, &regs);
	if (regs.xcs & 3) {
		set_trap(m, VEC_DB, c->edx);
		force_sig_info(m, SIGTRAP, TRAP_BRKPT, regs.eip);
		return;
	}
	entryemu_set_ti_flags(m, entryemu_ti_flags(m) | (1u << TIF_SINGLESTEP));
	regs.eflags &= ~ENTRYEMU_EFLAGS_TF;
	ptregs_write(m, c->regs_addr, &regs);
}

/* do_nmi: nothing claims it (unknown_nmi_error just reports). */
static void do_nmi(entryemu_call *c, void *o)
{
	(void)c;
	(void)o;
}

/* math_state_restore: clts, then the task owns the FPU again. */
static void math_state_restore(entryemu_call *c, void *o)
{
	(void)o;
	machine_set_reg(c->m, ER_CR0, machine_reg(c->m, ER_CR0) & ~8u);
}

/* math_emulate without CONFIG_MATH_EMULATION: the task gets SIGFPE. */
static void math_emulate(entryemu_call *c, void *o)
{
	(void)o;
	force_sig(c->m, SIGFPE);
}

/* A machine check: the kernel panics. */
static void do_machine_check(entryemu_call *c, void *o)
{
	(void)o;
	entryemu_call_oops(c, "machine check exception: kernel panic");
}

/* ---- return-to-user work ----------------------------------------------------- */

/* schedule(): nothing else to run; the need to reschedule is met. */
static void schedule(entryemu_call *c, void *o)
{
	(void)o;
	entryemu_set_ti_flags(c->m, entryemu_ti_flags(c->m) & ~(1u << TIF_NEED_RESCHED));
}

/*
 * do_notify_resume(regs, oldset, ti_flags), as in 2.6.18's signal.c: a
 * single step the kernel interrupted (TIF_SINGLESTEP) goes back into the
 * frame as TF; pending signals are delivered: one forced by a fault has
 * no handler here, so its default action kills the task, others are
 * taken as handled; TIF_IRET is cleared.  Scenarios that deliver a
 * signal to a handler replace this callout (pt_regs->eip = the handler).
 */
static void do_notify_resume(entryemu_call *c, void *o)
{
	(void)o;
	struct entryemu *m = c->m;
	uint32_t flags = entryemu_ti_flags(m);
	if (flags & (1u << TIF_SINGLESTEP)) {
		struct entryemu_pt_regs regs;
		ptregs_read(m, c->regs_addr, &regs);
		regs.eflags |= ENTRYEMU_EFLAGS_TF;
		ptregs_write(m, c->regs_addr, &regs);
		flags &= ~(1u << TIF_SINGLESTEP);
	}
	if (flags & ((1u << TIF_SIGPENDING) | (1u << TIF_RESTORE_SIGMASK))) {
		if (m->kern->pending_signal) {
			entryemu_call_kill(c, (int)m->kern->pending_signal);
			return;
		}
		flags &= ~((1u << TIF_SIGPENDING) | (1u << TIF_RESTORE_SIGMASK));
	}
	entryemu_set_ti_flags(m, flags & ~(1u << TIF_IRET));
}

static void do_syscall_trace(entryemu_call *c, void *o)
{
	(void)o;
	entryemu_call_return(c, 0);	/* not PTRACE_SYSEMU: run the call */
}

/* do_exit(code) is fastcall: the code is in %eax. */
static void do_exit(entryemu_call *c, void *o)
{
	(void)o;
	uint32_t code = c->eax;
	machine_stop(c->m, ENTRYEMU_EXITED, "do_exit(%d)", (int)code);
}

/* The default kernel thread: returns its argument (in %eax: regparm). */
static void thread_fn(entryemu_call *c, void *o)
{
	(void)o;
	entryemu_call_return(c, c->eax);
}

static void nothing(entryemu_call *c, void *o)
{
	(void)c;
	(void)o;
}

void kernel_install_defaults(struct entryemu *m)
{
	static const struct { const char *name; enum callout_regs regs; entryemu_callout_fn fn; } d[] = {
		{ "schedule", REGS_NONE, schedule },
		{ "schedule_tail", REGS_NONE, nothing },
		{ "preempt_schedule_irq", REGS_NONE, schedule },
		{ "do_notify_resume", REGS_EAX, do_notify_resume },
		{ "save_v86_state", REGS_EAX, save_v86_state },
		{ "do_syscall_trace", REGS_EAX, do_syscall_trace },
		{ "do_exit", REGS_NONE, do_exit },
		{ "entryemu_thread_fn", REGS_NONE, thread_fn },
		{ "trace_hardirqs_on", REGS_NONE, nothing },
		{ "trace_hardirqs_off", REGS_NONE, nothing },
		{ "setup_x86_bogus_stack", REGS_NONE, setup_x86_bogus_stack },
		{ "fixup_x86_bogus_stack", REGS_NONE, fixup_x86_bogus_stack },
		{ "patch_espfix_desc", REGS_NONE, patch_espfix_desc },
		{ "do_IRQ", REGS_EAX, nothing },
		{ "do_debug", REGS_EAX, do_debug },
		{ "do_nmi", REGS_EAX, do_nmi },
		{ "do_int3", REGS_EAX, do_int3 },
		{ "math_state_restore", REGS_STACK, math_state_restore },
		{ "math_emulate", REGS_STACK, math_emulate },
		{ "do_machine_check", REGS_EAX, do_machine_check },
	};
	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++)
		callout_set_default(m, d[i].name, d[i].regs, d[i].fn);
	for (size_t i = 0; i < sizeof(traps) / sizeof(traps[0]); i++)
		callout_set_default(m, traps[i].fn, REGS_EAX, do_trap);

	static const struct { unsigned nr; const char *name; entryemu_callout_fn fn; } sc[] = {
		{ 20, "sys_getpid", sys_getpid },
		{ 123, "sys_modify_ldt", sys_modify_ldt },
		{ 243, "sys_set_thread_area", sys_set_thread_area },
	};
	for (unsigned nr = 0; nr < m->nr_syscalls; nr++)
		callout_syscall(m, nr)->dflt = sys_ni_syscall;
	for (size_t i = 0; i < sizeof(sc) / sizeof(sc[0]); i++) {
		struct callout *co = callout_syscall(m, sc[i].nr);
		if (co) {
			co->dflt = sc[i].fn;
			co->name = sc[i].name;
		}
	}
}
