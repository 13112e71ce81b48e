/*
 * Runs that do not start in user code: a new kernel thread as the
 * scheduler first runs it, and a task in virtual-8086 mode as sys_vm86
 * leaves it.  Both build the kernel's own frames, so they live with the
 * kernel's pt_regs.
 */
#include "kernel/kernel.h"
#include "cpu/far_indirect.h"

#include <string.h>

/*
 * The data segments kernel code runs with: __USER_DS in %ds/%es, and the
 * per-CPU segment in the register the image keeps it in (%gs or %fs);
 * a register the kernel does not use for it holds 0, as after a switch
 * to a kernel thread.
 */
void kernel_load_data_segments(struct entryemu *m)
{
	uint32_t uds = ENTRYEMU_USER_DS;
	int seg = m->img.layout.percpu_seg;
	engine_set_reg(m->eng, ER_DS, uds);
	engine_set_reg(m->eng, ER_ES, uds);
	engine_set_reg(m->eng, ER_GS, seg == ENTRYEMU_PERCPU_GS ? ENTRYEMU_KERNEL_PERCPU : 0);
	engine_set_reg(m->eng, ER_FS, seg == ENTRYEMU_PERCPU_FS ? ENTRYEMU_KERNEL_PERCPU : 0);
}

/*
 * A new kernel thread as the scheduler first runs it: switch_to() jumps
 * to thread.eip = ret_from_fork with %esp = thread.esp = the child's
 * pt_regs (at the top of its stack, below copy_thread's 8 reserved bytes)
 * and %eax = the previous task.  The frame is kernel_thread()'s, with
 * copy_thread()'s eax = 0.
 */
int kernel_start_thread(struct entryemu *m, const struct entryemu_setup *s)
{
	const struct image_layout *l = &m->img.layout;
	uint32_t frame = m->esp0 - (uint32_t)l->pt_size;
	struct entryemu_pt_regs regs = {
		.ebx = s->thread_fn, .edx = s->thread_arg, .eax = 0,
		.xds = ENTRYEMU_USER_DS, .xes = ENTRYEMU_USER_DS,
		/* kernel threads run with the per-CPU segment loaded */
		.xgs = ENTRYEMU_KERNEL_PERCPU, .xfs = ENTRYEMU_KERNEL_PERCPU,
		.orig_eax = 0xffffffffu,
		.eip = image_symbol(&m->img, "kernel_thread_helper"),
		.xcs = ENTRYEMU_KERNEL_CS,
		.eflags = 0x286,		/* IF | SF | PF | bit 1 */
	};
	if (!regs.eip) {
		machine_field_error(m, "thread_fn", "thread_fn: the image has no kernel_thread_helper");
		return ENTRYEMU_E_INVAL;
	}
	uint32_t rff = image_symbol(&m->img, "ret_from_fork");
	if (!rff) {
		machine_field_error(m, "thread_fn", "thread_fn: the image has no ret_from_fork");
		return ENTRYEMU_E_INVAL;
	}
	ptregs_write(m, frame, &regs);
	if (machine_enter_ring0(m, ENTRYEMU_KERNEL_DS, frame, ENTRYEMU_KERNEL_CS)) {
		machine_set_error(m, "cannot enter ring 0 for the kernel thread");
		return ENTRYEMU_E_ENGINE;
	}
	/* the kernel's segments when switch_to() returns */
	kernel_load_data_segments(m);
	machine_set_reg(m, ER_EAX, 0xC0C00000u);	/* prev task */
	machine_set_reg(m, ER_EFLAGS, 0x46);		/* irqs off in switch_to */
	m->start = rff;
	m->cpu->in_kernel = 1;
	return 0;
}

/*
 * vm86 code is followed by the rest of its zeroed 64 KiB segment, and
 * the engine translates a block on until a branch, or until its buffer
 * fills: two NOPs of code that an event interrupts became a block of
 * some 150 instructions (`00 00', ADD, each with the user pages' hooks),
 * about 2.9 M host instructions translated for nothing, at every cold
 * run of vm86-irq-signal.  So the blocks of vm86 code end at its end
 * (run.c starts the engine with a stop there), which is no instruction
 * of the CPU's: when a run gets there, the stop and the blocks that
 * hold it are dropped and the run goes on past the end, as the CPU does.
 * The stop is for the first run of the code loaded (a cold run, a
 * fuzzer's new input) only, and dropped after it: Unicorn drops the
 * block that ends at a stop at the end of every start (its cpus.c), so
 * the later runs would translate it again each time; they translate it
 * once without, run-on and all, and keep it.
 */
int kernel_vm86_drop_stop(struct entryemu *m)
{
	uint32_t stop = m->vm86_stop;
	if (!stop)
		return 0;
	if (machine_drop_stop_blocks(m, stop))
		return -1;
	m->vm86_stop = 0;
	return 0;
}

/*
 * A task in virtual-8086 mode as sys_vm86 leaves it: the vm86() call's
 * own frame (regs32) at the top of the kernel stack, returning 0 to
 * ENTRYEMU_USER_EXIT; below it the kernel_vm86_regs frame (pt_regs with
 * EFLAGS.VM, then the real-mode ES, DS, FS, GS); esp0 moved to the top of
 * that frame, so events from vm86 mode push it there; SYSENTER_CS 0, so
 * sysenter from vm86 mode faults; and the kernel at resume_userspace,
 * whose iret enters vm86 mode.
 */
int kernel_start_vm86(struct entryemu *m, const struct entryemu_setup *s)
{
	const struct image_layout *l = &m->img.layout;
	uint32_t size = (uint32_t)l->pt_size;
	uint32_t regs32 = m->esp0 - size;
	struct entryemu_pt_regs r32 = {
		.orig_eax = 113, .eax = 0, .eip = ENTRYEMU_USER_EXIT,
		.xcs = ENTRYEMU_USER_CS, .eflags = 0x202, .esp = ENTRYEMU_USER_STACK_TOP,
		.xss = ENTRYEMU_USER_DS, .xds = ENTRYEMU_USER_DS, .xes = ENTRYEMU_USER_DS,
	};
	ptregs_write(m, regs32, &r32);
	/* the vm86 frame: below regs32, with room for sys_vm86's locals */
	uint32_t vm86_top = regs32 - 64;
	uint32_t frame = vm86_top - 16 - size;
	const struct entryemu_regs *u = &s->user;
	uint32_t efl = (u->eflags ? u->eflags : 0x202) | ENTRYEMU_EFLAGS_VM;
	if (efl & (ENTRYEMU_EFLAGS_NT | 0x3000u)) {
		machine_field_error(m, "user.eflags", "user.eflags = 0x%08x: NT and IOPL must be clear", efl);
		return ENTRYEMU_E_INVAL;
	}
	struct entryemu_pt_regs v = {
		.eax = u->eax, .ebx = u->ebx, .ecx = u->ecx, .edx = u->edx,
		.esi = u->esi, .edi = u->edi, .ebp = u->ebp,
		.orig_eax = 0xffffffffu,
		.eip = 0, .xcs = ENTRYEMU_VM86_MEM >> 4, .eflags = efl | 0x2,
		.esp = u->esp ? u->esp & 0xffff : 0xfff0,
		.xss = u->ss ? u->ss : ENTRYEMU_VM86_MEM >> 4,
	};
	ptregs_write(m, frame, &v);
	uint32_t segs[4] = { u->es, u->ds, u->fs, u->gs };
	if (entryemu_mem_write(m, frame + size, segs, sizeof(segs)))
		return ENTRYEMU_E_INVAL;
	/* esp0 for events from vm86 mode: the top of the vm86 frame */
	machine_wr32(m, SYS_TSS + (uint32_t)l->tss_esp0, vm86_top);
	engine_set_msr(m->eng, 0x174, 0);
	/* the code, at 0x1000:0000 */
	if (s->code_len > 0x10000 - 0x100) {
		machine_field_error(m, "code", "code: %zu bytes, too large for vm86 mode", s->code_len);
		return ENTRYEMU_E_INVAL;
	}
	/*
	 * Loaded like user code: kept from run to run while it is the same
	 * (machine_reset clears it if the guest wrote over it), and its old
	 * translations dropped when it changes.
	 */
	if (s->code_len != m->vm86_code_len || memcmp(m->uvm86, s->code, s->code_len)) {
		size_t span = s->code_len > m->vm86_code_len ? s->code_len : m->vm86_code_len;
		if (kernel_vm86_drop_stop(m))
			return ENTRYEMU_E_ENGINE;
		memset(m->uvm86, 0, m->vm86_code_len);
		memcpy(m->uvm86, s->code, s->code_len);
		/* 16-bit code: the far-through-register guard decodes it as such */
		far_indirect_rewrite(m->cs_count16, m->count_insn, m->uvm86, s->code_len,
				     0, FAR_CODE16, &(uint32_t){ 0 }, 1, NULL);
		m->vm86_code_len = s->code_len;
		m->vm86_stop = s->code_len ? ENTRYEMU_VM86_MEM + (uint32_t)s->code_len : 0;
		engine_flush_range(m->eng, ENTRYEMU_VM86_MEM, ENTRYEMU_VM86_MEM + (uint32_t)span + 1);
		count_forget_user(m, ENTRYEMU_VM86_MEM, ENTRYEMU_VM86_MEM + (uint32_t)span + 1);
	}
	m->vm86_regs32 = regs32;
	if (machine_enter_ring0(m, ENTRYEMU_KERNEL_DS, frame, ENTRYEMU_KERNEL_CS)) {
		machine_set_error(m, "cannot enter ring 0 for vm86 mode");
		return ENTRYEMU_E_ENGINE;
	}
	kernel_load_data_segments(m);
	machine_set_reg(m, ER_EBP, KSTACK_BASE);	/* GET_THREAD_INFO */
	machine_set_reg(m, ER_EFLAGS, 0x46);
	m->start = image_symbol(&m->img, "resume_userspace");
	if (!m->start) {
		machine_field_error(m, "vm86", "vm86: the image has no resume_userspace");
		return ENTRYEMU_E_INVAL;
	}
	m->cpu->in_kernel = 1;
	return 0;
}

