/*
 * The machine: memory map, descriptor tables, TSS, thread_info, and the
 * way into ring 3.
 *
 * The guest memory and its per-run reset are memory.c's.  The GDT and IDT
 * are those the kernel's trap_init()/cpu_init() would build.
 */
#include "machine.h"
#include "desc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE 0x1000u
#define USER_STACK_BASE (ENTRYEMU_USER_STACK_TOP - ENTRYEMU_USER_STACK_SIZE)
#define USER_DATA_SIZE_MAPPED 0x1000u

void machine_set_error(struct entryemu *m, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m->err, sizeof(m->err), fmt, ap);
	va_end(ap);
}

uint32_t machine_rd32(struct entryemu *m, uint32_t addr, int *ok)
{
	uint8_t *p = machine_ptr(m, addr, 4);
	uint32_t v = 0;
	if (p)
		memcpy(&v, p, 4);
	else if (ok)
		*ok = 0;
	return v;
}

int machine_wr32(struct entryemu *m, uint32_t addr, uint32_t v)
{
	uint8_t *p = machine_wptr(m, addr, 4);
	if (!p)
		return -1;
	memcpy(p, &v, 4);
	return 0;
}

uint32_t machine_reg(struct entryemu *m, int ucreg)
{
	uint32_t v = 0;
	uc_reg_read(m->uc, ucreg, &v);
	return v;
}

void machine_set_reg(struct entryemu *m, int ucreg, uint32_t v)
{
	uc_reg_write(m->uc, ucreg, &v);
}

static uint16_t seg_reg(struct entryemu *m, int ucreg)
{
	uint16_t v = 0;		/* a 32-bit read leaves garbage above bit 15 */
	uc_reg_read(m->uc, ucreg, &v);
	return v;
}

/*
 * EIP as the program sees it.  Inside code hooks Unicorn reports the
 * linear address (CS base + EIP); that differs only in vm86 mode, where
 * the code lives at segment 0x1000 and above, so a value above 0xffff
 * there is linear.
 */
uint32_t machine_eip(struct entryemu *m)
{
	uint32_t eip = machine_reg(m, UC_X86_REG_EIP);
	if ((machine_reg(m, UC_X86_REG_EFLAGS) & ENTRYEMU_EFLAGS_VM) && eip > 0xffff)
		eip -= (uint32_t)seg_reg(m, UC_X86_REG_CS) << 4;
	return eip;
}

/*
 * Batched reads: each single register read is a call into the engine.
 * EFLAGS and the six selectors (read into 16 bits: a 32-bit read leaves
 * garbage above bit 15) ...
 */
void machine_read_segments(struct entryemu *m, struct entryemu_regs *r)
{
	static int ids[] = { UC_X86_REG_EFLAGS, UC_X86_REG_CS, UC_X86_REG_SS,
			     UC_X86_REG_DS, UC_X86_REG_ES, UC_X86_REG_FS, UC_X86_REG_GS };
	void *ptrs[7] = { &r->eflags, &r->cs, &r->ss, &r->ds, &r->es, &r->fs, &r->gs };
	r->eflags = 0;
	uc_reg_read_batch(m->uc, ids, ptrs, 7);
}

/* ... and with them the general registers and EIP. */
void machine_read_regs(struct entryemu *m, struct entryemu_regs *r)
{
	static int ids[] = {
		UC_X86_REG_EAX, UC_X86_REG_EBX, UC_X86_REG_ECX, UC_X86_REG_EDX,
		UC_X86_REG_ESI, UC_X86_REG_EDI, UC_X86_REG_EBP, UC_X86_REG_ESP,
		UC_X86_REG_EIP,
	};
	void *ptrs[9] = { &r->eax, &r->ebx, &r->ecx, &r->edx, &r->esi, &r->edi,
			  &r->ebp, &r->esp, &r->eip };
	uc_reg_read_batch(m->uc, ids, ptrs, 9);
	machine_read_segments(m, r);
	/* EIP as the program sees it (see machine_eip) */
	if ((r->eflags & ENTRYEMU_EFLAGS_VM) && r->eip > 0xffff)
		r->eip -= (uint32_t)r->cs << 4;
}

/* The linear address of the next instruction: CS's base plus EIP. */
uint32_t machine_linear_pc(struct entryemu *m)
{
	uint32_t eip = machine_reg(m, UC_X86_REG_EIP);
	uint16_t cs = seg_reg(m, UC_X86_REG_CS);
	if (machine_reg(m, UC_X86_REG_EFLAGS) & ENTRYEMU_EFLAGS_VM)
		return ((uint32_t)cs << 4) + (eip & 0xffff);
	return eip;	/* every protected-mode code segment here is flat */
}

/* CPL is the RPL of CS in protected mode (QEMU keeps it as SS.DPL). */
int machine_cpl(struct entryemu *m)
{
	if (machine_reg(m, UC_X86_REG_EFLAGS) & ENTRYEMU_EFLAGS_VM)
		return 3;		/* virtual-8086 mode runs at CPL 3 */
	return seg_reg(m, UC_X86_REG_CS) & 3;
}

/* ---- building the tables ------------------------------------------------ */

static void gdt_write(struct entryemu *m, unsigned idx, uint32_t lo, uint32_t hi)
{
	uint8_t *p = machine_wptr(m, SYS_GDT + idx * 8, 8);
	memcpy(p, &lo, 4);
	memcpy(p + 4, &hi, 4);
}

static void idt_write(struct entryemu *m, unsigned vec, const char *handler,
		      unsigned type, unsigned dpl)
{
	uint32_t off = image_symbol(&m->img, handler), lo = 0, hi = 0;
	if (off)	/* a kernel without this stub leaves the gate not present */
		desc_make_gate(&lo, &hi, ENTRYEMU_KERNEL_CS, off, type, dpl);
	uint8_t *p = m->sys + (SYS_IDT - SYS_BASE) + vec * 8;
	memcpy(p, &lo, 4);
	memcpy(p + 4, &hi, 4);
}

/* The GDT of cpu_init(), with the seed's per-CPU segment in entry 27. */
static void build_gdt(struct entryemu *m)
{
	uint32_t lo, hi;
	/* flat 4 GiB segments; types include the accessed bit so that
	 * loading them does not write the GDT */
	desc_make_seg(&lo, &hi, 0, 0xffffffff, 0xB, 1, 0, 1);
	gdt_write(m, 12, lo, hi);		/* __KERNEL_CS */
	desc_make_seg(&lo, &hi, 0, 0xffffffff, 0x3, 1, 0, 1);
	gdt_write(m, 13, lo, hi);		/* __KERNEL_DS */
	desc_make_seg(&lo, &hi, 0, 0xffffffff, 0xB, 1, 3, 1);
	gdt_write(m, 14, lo, hi);		/* __USER_CS */
	desc_make_seg(&lo, &hi, 0, 0xffffffff, 0x3, 1, 3, 1);
	gdt_write(m, 15, lo, hi);		/* __USER_DS */
	/* TSS, busy as after ltr */
	desc_make_seg(&lo, &hi, SYS_TSS, (uint32_t)m->img.layout.tss_size - 1, 0xB, 0, 0, 0);
	gdt_write(m, 16, lo, hi);
	/*
	 * ESPFIX_SS: a 16-bit (B = 0), byte-granular, ring-0 data segment
	 * over the per-CPU 16-bit stack, limit CPU_16BIT_STACK_SIZE - 1, as
	 * cpu_init() completes head.S's template.
	 */
	lo = ((SYS_ESPFIX & 0xffff) << 16) | (SYS_ESPFIX_SIZE - 1);
	hi = (SYS_ESPFIX & 0xff000000) | ((SYS_ESPFIX >> 16) & 0xff) | 0x00009300;
	gdt_write(m, 26, lo, hi);
	/* __KERNEL_PERCPU: byte-granular data segment over the per-CPU area */
	desc_make_seg(&lo, &hi, SYS_PERCPU, SYS_PERCPU_SIZE - 1, 0x3, 1, 0, 1);
	gdt_write(m, 27, lo, hi);
	/* double-fault TSS (vector 8 is a task gate to it) */
	desc_make_seg(&lo, &hi, SYS_DF_TSS, 0x67, 0x9, 0, 0, 0);
	gdt_write(m, 31, lo, hi);
}

/* The IDT of trap_init() and init_IRQ(). */
static void build_idt(struct entryemu *m)
{
	static const struct { unsigned vec; const char *fn; unsigned type, dpl; } g[] = {
		{ 0, "divide_error", GATE_TRAP32, 0 },
		{ 1, "debug", GATE_INTR32, 0 },
		{ 2, "nmi", GATE_INTR32, 0 },
		{ 3, "int3", GATE_INTR32, 3 },		/* set_system_intr_gate */
		{ 4, "overflow", GATE_TRAP32, 3 },	/* set_system_gate */
		{ 5, "bounds", GATE_TRAP32, 0 },
		{ 6, "invalid_op", GATE_TRAP32, 0 },
		{ 7, "device_not_available", GATE_TRAP32, 0 },
		{ 9, "coprocessor_segment_overrun", GATE_TRAP32, 0 },
		{ 10, "invalid_TSS", GATE_TRAP32, 0 },
		{ 11, "segment_not_present", GATE_TRAP32, 0 },
		{ 12, "stack_segment", GATE_TRAP32, 0 },
		{ 13, "general_protection", GATE_TRAP32, 0 },
		{ 14, "page_fault", GATE_INTR32, 0 },
		{ 15, "spurious_interrupt_bug", GATE_TRAP32, 0 },
		{ 16, "coprocessor_error", GATE_TRAP32, 0 },
		{ 17, "alignment_check", GATE_TRAP32, 0 },
		{ 18, "machine_check", GATE_TRAP32, 0 },	/* with CONFIG_X86_MCE */
		{ 19, "simd_coprocessor_error", GATE_TRAP32, 0 },
		{ 0x80, "system_call", GATE_TRAP32, 3 },	/* set_system_gate */
	};
	for (size_t i = 0; i < sizeof(g) / sizeof(g[0]); i++)
		idt_write(m, g[i].vec, g[i].fn, g[i].type, g[i].dpl);

	/* vector 8: task gate to the double-fault TSS */
	uint32_t lo = (31u * 8) << 16, hi = (1u << 15) | (GATE_TASK << 8);
	uint8_t *p = m->sys + (SYS_IDT - SYS_BASE) + 8 * 8;
	memcpy(p, &lo, 4);
	memcpy(p + 4, &hi, 4);

	/* IRQ lines: interrupt gates to the interrupt[] stubs */
	uint32_t table = image_symbol(&m->img, "interrupt");
	for (unsigned irq = 0; table && irq < 16; irq++) {
		int ok = 1;
		uint32_t stub = machine_rd32(m, table + 4 * irq, &ok);
		if (!ok || !stub)
			break;
		desc_make_gate(&lo, &hi, ENTRYEMU_KERNEL_CS, stub, GATE_INTR32, 0);
		p = m->sys + (SYS_IDT - SYS_BASE) + (0x20 + irq) * 8;
		memcpy(p, &lo, 4);
		memcpy(p + 4, &hi, 4);
	}
}

static void build_tss(struct entryemu *m)
{
	const struct image_layout *l = &m->img.layout;
	uint8_t *tss = m->sys + (SYS_TSS - SYS_BASE);
	uint32_t v;
	/* the hardware part: ss0:esp0 for ring 3 -> 0 transitions */
	v = m->esp0;
	memcpy(tss + l->tss_esp0, &v, 4);
	v = ENTRYEMU_KERNEL_DS;
	memcpy(tss + l->tss_ss0, &v, 4);
	/* no I/O bitmap: every port access from ring 3 faults */
	v = 0x8000u << 16;
	memcpy(tss + 100, &v, 4);
	/* esp1 caches the sysenter stack pointer (the end of tss_struct) */
	v = SYS_TSS + (uint32_t)l->tss_size;
	memcpy(tss + 12, &v, 4);
}

static void build_thread_info(struct entryemu *m)
{
	const struct image_layout *l = &m->img.layout;
	uint32_t v = 0xC0000000u;	/* addr_limit = USER_DS */
	memcpy(m->kstack + l->ti_addr_limit, &v, 4);
	v = 0xC0C00000u;		/* a task_struct the kernel never reads */
	memcpy(m->kstack + 0, &v, 4);
	/* where sysexit returns: SYSENTER_RETURN in the vsyscall page */
	uint32_t ret = image_symbol(&m->img, "SYSENTER_RETURN");
	if (m->vsys_image && ret) {
		v = ENTRYEMU_VSYSCALL + (ret - m->vsys_image);
		memcpy(m->kstack + l->ti_sysenter_return, &v, 4);
	}
}

/* ---- memory map ----------------------------------------------------------- */

static int map_all(struct entryemu *m)
{
	uint32_t isize = m->img.end - m->img.base;
	uint8_t *ibytes;
	/*
	 * In the order machine_ptr() searches, the kernel's regions first.
	 * Every entry builds its frame in the kernel stack's top page: that
	 * page is restored on every reset, the rest only once written.
	 */
	uint32_t ktop = m->thread_size > PAGE ? m->thread_size - PAGE : 0;
	const struct region_spec regions[] = {
		{ KSTACK_BASE, m->thread_size, &m->kstack, 1, ktop },
		{ SYS_BASE, SYS_SIZE, &m->sys, 1, SYS_SIZE },
		{ m->img.base, isize, &ibytes, 1, isize },
		{ USER_STACK_BASE, ENTRYEMU_USER_STACK_SIZE, &m->ustack, 0,
		  ENTRYEMU_USER_STACK_SIZE },
		{ ENTRYEMU_USER_CODE, ENTRYEMU_USER_CODE_MAX, &m->ucode, 0, ENTRYEMU_USER_CODE_MAX },
		{ ENTRYEMU_USER_DATA, USER_DATA_SIZE_MAPPED, &m->udata, 0, USER_DATA_SIZE_MAPPED },
		{ ENTRYEMU_USER_EXIT, PAGE, &m->uexit, 1, PAGE },
		{ VSYSCALL_PAGE, PAGE, &m->uvsys, 1, PAGE },
		{ ENTRYEMU_VM86_MEM, 0x10000, &m->uvm86, 0, 0x10000 },
	};
	int rc = machine_map_regions(m, regions, sizeof(regions) / sizeof(regions[0]));
	if (rc)
		return rc;
	memcpy(ibytes, m->img.bytes, isize);
	free(m->img.bytes);
	m->img.bytes = ibytes;		/* guest memory now: see machine_unmap() */
	/* the exit page: "jmp ." everywhere, each a one-instruction block */
	for (unsigned i = 0; i < PAGE; i += 2) {
		m->uexit[i] = 0xeb;
		m->uexit[i + 1] = 0xfe;
	}
	/* the vsyscall page: int3 everywhere but the entry code */
	memset(m->uvsys, 0xcc, PAGE);
	uint32_t vs = image_symbol(&m->img, "vsyscall_page");
	uint32_t ve = image_symbol(&m->img, "vsyscall_page_end");
	if (vs && ve > vs && ve - vs <= PAGE - (ENTRYEMU_VSYSCALL - VSYSCALL_PAGE)) {
		memcpy(m->uvsys + (ENTRYEMU_VSYSCALL - VSYSCALL_PAGE),
		       m->img.bytes + (vs - m->img.base), ve - vs);
		m->vsys_image = vs;
	}
	return 0;
}

/* ---- the way into ring 3 ----------------------------------------------- */

static int set_table(struct entryemu *m, int reg, uint16_t sel, uint32_t base,
		     uint32_t limit, uint32_t flags)
{
	uc_x86_mmr t = { .selector = sel, .base = base, .limit = limit, .flags = flags };
	return uc_reg_write(m->uc, reg, &t) == UC_ERR_OK ? 0 : -1;
}

static int set_msr(struct entryemu *m, uint32_t id, uint64_t v)
{
	uc_x86_msr msr = { .rid = id, .value = v };
	return uc_reg_write(m->uc, UC_X86_REG_MSR, &msr) == UC_ERR_OK ? 0 : -1;
}

/*
 * Unicorn refuses ring-0 selector writes at CPL 3 and offers no way to
 * set CPL directly.  A real-mode SS load makes CPL 0 (QEMU derives CPL
 * from SS.DPL), after which the kernel selectors load with their normal
 * checks.  Used by the boot and by event delivery.
 */
int machine_enter_ring0(struct entryemu *m, uint16_t ss, uint32_t esp, uint16_t cs)
{
	uint32_t cr0 = machine_reg(m, UC_X86_REG_CR0), z = 0;
	uint32_t real = cr0 & ~1u;
	if (uc_reg_write(m->uc, UC_X86_REG_CR0, &real) ||
	    uc_reg_write(m->uc, UC_X86_REG_SS, &z) ||
	    uc_reg_write(m->uc, UC_X86_REG_CR0, &cr0))
		return -1;
	uint32_t s = ss, c = cs;
	if (uc_reg_write(m->uc, UC_X86_REG_SS, &s) ||
	    uc_reg_write(m->uc, UC_X86_REG_ESP, &esp) ||
	    uc_reg_write(m->uc, UC_X86_REG_CS, &c))
		return -1;
	return 0;
}

/*
 * Start in ring 0 the way the kernel leaves its boot code, then iret to
 * ring 3 with the CPU's own iret, and keep that CPU state as the start of
 * every run.
 */
static int boot_to_user(struct entryemu *m)
{
	uint32_t hi;
	memcpy(&hi, m->sys + (SYS_GDT - SYS_BASE) + 16 * 8 + 4, 4);
	if (set_table(m, UC_X86_REG_GDTR, 0, SYS_GDT, 32 * 8 - 1, 0) ||
	    set_table(m, UC_X86_REG_IDTR, 0, SYS_IDT, 256 * 8 - 1, 0) ||
	    set_table(m, UC_X86_REG_LDTR, 0, 0, 0, 0) ||
	    set_table(m, UC_X86_REG_TR, ENTRYEMU_TSS_SEL, SYS_TSS,
		      (uint32_t)m->img.layout.tss_size - 1, hi & 0x00f0ff00)) {
		machine_set_error(m, "cannot load GDTR/IDTR/LDTR/TR");
		return ENTRYEMU_E_ENGINE;
	}
	uint32_t sysenter = image_symbol(&m->img, "sysenter_entry");
	if (set_msr(m, 0x174, ENTRYEMU_KERNEL_CS) ||
	    set_msr(m, 0x175, SYS_TSS + (uint32_t)m->img.layout.tss_size) ||
	    set_msr(m, 0x176, sysenter)) {
		machine_set_error(m, "cannot write the SYSENTER MSRs");
		return ENTRYEMU_E_ENGINE;
	}
	/* the iret frame: EIP, CS, EFLAGS, ESP, SS */
	uint32_t frame[5] = { ENTRYEMU_USER_EXIT, ENTRYEMU_USER_CS, 0x202,
			      ENTRYEMU_USER_STACK_TOP, ENTRYEMU_USER_DS };
	uint32_t fp = SYS_BOOT_STACK - sizeof(frame);
	memcpy(machine_wptr(m, fp, sizeof(frame)), frame, sizeof(frame));
	*machine_wptr(m, SYS_BOOT, 1) = 0xcf;	/* iret */
	if (machine_enter_ring0(m, ENTRYEMU_KERNEL_DS, fp, ENTRYEMU_KERNEL_CS)) {
		machine_set_error(m, "cannot reach ring 0 to boot");
		return ENTRYEMU_E_ENGINE;
	}
	uint32_t uds = ENTRYEMU_USER_DS;
	uc_reg_write(m->uc, UC_X86_REG_DS, &uds);
	uc_reg_write(m->uc, UC_X86_REG_ES, &uds);
	m->booting = 1;
	uc_err e = uc_emu_start(m->uc, SYS_BOOT, 0, 0, 0);
	m->booting = 0;
	if (e != UC_ERR_OK || machine_cpl(m) != 3 ||
	    machine_reg(m, UC_X86_REG_EIP) != ENTRYEMU_USER_EXIT) {
		machine_set_error(m, "boot iret to ring 3 failed: %s (CPL %d, EIP 0x%08x)",
				  uc_strerror(e), machine_cpl(m),
				  machine_reg(m, UC_X86_REG_EIP));
		return ENTRYEMU_E_ENGINE;
	}
	if (uc_context_alloc(m->uc, &m->user_ctx) || uc_context_save(m->uc, m->user_ctx)) {
		machine_set_error(m, "cannot save the CPU context");
		return ENTRYEMU_E_ENGINE;
	}
	return 0;
}

int machine_build(struct entryemu *m)
{
	m->thread_size = (uint32_t)m->img.layout.thread_size;
	m->esp0 = KSTACK_BASE + m->thread_size - KSTACK_RESERVE;
	int rc = map_all(m);
	if (rc)
		return rc;
	build_gdt(m);
	build_idt(m);
	build_tss(m);
	build_thread_info(m);
	machine_snapshot(m);
	return boot_to_user(m);
}

/* ---- per-run reset ---------------------------------------------------------- */

static int load_user_code(struct entryemu *m, const uint8_t *code, size_t len)
{
	uint8_t buf[ENTRYEMU_USER_CODE_MAX];
	if (len > ENTRYEMU_USER_CODE_MAX - 5) {
		machine_set_error(m, "code: %zu bytes, at most %u", len,
				  ENTRYEMU_USER_CODE_MAX - 5);
		return ENTRYEMU_E_INVAL;
	}
	/* the code, then "jmp ENTRYEMU_USER_EXIT" */
	size_t n = 0;
	if (len)
		memcpy(buf, code, len);
	n = len;
	int32_t rel = (int32_t)(ENTRYEMU_USER_EXIT - (ENTRYEMU_USER_CODE + n + 5));
	buf[n++] = 0xe9;
	memcpy(buf + n, &rel, 4);
	n += 4;
	/* unchanged code (and untouched by the last run): nothing to do */
	if (n == m->ucode_len && !memcmp(buf, m->ucode, n))
		return 0;
	size_t old = m->ucode_len;
	if (old > n)
		memset(buf + n, 0, old - n);
	size_t span = old > n ? old : n;
	/*
	 * Unicorn 2.0.1 keeps blocks translated from the old bytes even when
	 * they are written through uc_mem_write: drop them explicitly.
	 */
	memcpy(m->ucode, buf, span);
	if (uc_ctl_remove_cache(m->uc, (uint64_t)ENTRYEMU_USER_CODE,
				(uint64_t)ENTRYEMU_USER_CODE + span) != UC_ERR_OK) {
		machine_set_error(m, "cannot drop translated user code");
		return ENTRYEMU_E_ENGINE;
	}
	m->ucode_len = n;
	memset(m->blocks, 0, sizeof(m->blocks));
	return 0;
}

static const char *sreg_name(int r)
{
	switch (r) {
	case UC_X86_REG_DS: return "ds";
	case UC_X86_REG_ES: return "es";
	case UC_X86_REG_FS: return "fs";
	case UC_X86_REG_GS: return "gs";
	case UC_X86_REG_SS: return "ss";
	default: return "cs";
	}
}

static int load_user_seg(struct entryemu *m, int reg, enum sreg sr, uint16_t sel)
{
	struct fault f = desc_check_data_load(m, sr, sel, 3);
	if (f.vector >= 0) {
		machine_set_error(m, "user.%s = 0x%04x: the CPU would refuse the load "
				  "(#%s(0x%x))", sreg_name(reg), sel,
				  f.vector == VEC_NP ? "NP" : f.vector == VEC_SS ? "SS" : "GP",
				  f.error);
		return ENTRYEMU_E_INVAL;
	}
	uint32_t v = sel;
	if (uc_reg_write(m->uc, reg, &v) != UC_ERR_OK) {
		machine_set_error(m, "user.%s = 0x%04x: refused by the CPU", sreg_name(reg), sel);
		return ENTRYEMU_E_INVAL;
	}
	return 0;
}

/*
 * The data segments kernel code runs with: __USER_DS in %ds/%es, and on
 * the post-patch image the per-CPU segment in %gs (0 before the patch).
 */
static void load_kernel_data_segments(struct entryemu *m)
{
	uint32_t uds = ENTRYEMU_USER_DS;
	uint32_t gs = m->img.layout.pt_gs >= 0 ? ENTRYEMU_KERNEL_PERCPU : 0;
	uc_reg_write(m->uc, UC_X86_REG_DS, &uds);
	uc_reg_write(m->uc, UC_X86_REG_ES, &uds);
	uc_reg_write(m->uc, UC_X86_REG_GS, &gs);
}

/*
 * A new kernel thread as the scheduler first runs it: switch_to() jumps
 * to thread.eip = ret_from_fork with %esp = thread.esp = the child's
 * pt_regs (at the top of its stack, below copy_thread's 8 reserved bytes)
 * and %eax = the previous task.  The frame is kernel_thread()'s, with
 * copy_thread()'s eax = 0.
 */
static int start_kernel_thread(struct entryemu *m, const struct entryemu_setup *s)
{
	const struct image_layout *l = &m->img.layout;
	uint32_t frame = m->esp0 - (uint32_t)l->pt_size;
	struct entryemu_pt_regs regs = {
		.ebx = s->thread_fn, .edx = s->thread_arg, .eax = 0,
		.xds = ENTRYEMU_USER_DS, .xes = ENTRYEMU_USER_DS,
		.xgs = ENTRYEMU_KERNEL_PERCPU,	/* the seed: threads run on the per-CPU %gs */
		.orig_eax = 0xffffffffu,
		.eip = image_symbol(&m->img, "kernel_thread_helper"),
		.xcs = ENTRYEMU_KERNEL_CS,
		.eflags = 0x286,		/* IF | SF | PF | bit 1 */
	};
	if (!regs.eip) {
		machine_set_error(m, "thread_fn: the image has no kernel_thread_helper");
		return ENTRYEMU_E_INVAL;
	}
	uint32_t rff = image_symbol(&m->img, "ret_from_fork");
	if (!rff) {
		machine_set_error(m, "thread_fn: the image has no ret_from_fork");
		return ENTRYEMU_E_INVAL;
	}
	ptregs_write(m, frame, &regs);
	if (machine_enter_ring0(m, ENTRYEMU_KERNEL_DS, frame, ENTRYEMU_KERNEL_CS)) {
		machine_set_error(m, "cannot enter ring 0 for the kernel thread");
		return ENTRYEMU_E_ENGINE;
	}
	/* the kernel's segments when switch_to() returns */
	load_kernel_data_segments(m);
	machine_set_reg(m, UC_X86_REG_EAX, 0xC0C00000u);	/* prev task */
	machine_set_reg(m, UC_X86_REG_EFLAGS, 0x46);		/* irqs off in switch_to */
	m->start = rff;
	m->in_kernel = 1;
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
static int start_vm86(struct entryemu *m, const struct entryemu_setup *s)
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
		machine_set_error(m, "user.eflags = 0x%08x: NT and IOPL must be clear", efl);
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
	uc_x86_msr msr = { .rid = 0x174, .value = 0 };
	uc_reg_write(m->uc, UC_X86_REG_MSR, &msr);
	/* the code, at 0x1000:0000 */
	if (s->code_len > 0x10000 - 0x100) {
		machine_set_error(m, "code: %zu bytes, too large for vm86 mode", s->code_len);
		return ENTRYEMU_E_INVAL;
	}
	memcpy(machine_wptr(m, ENTRYEMU_VM86_MEM, s->code_len), s->code, s->code_len);
	uc_ctl_remove_cache(m->uc, (uint64_t)ENTRYEMU_VM86_MEM,
			    (uint64_t)ENTRYEMU_VM86_MEM + 0x10000);
	m->vm86_regs32 = regs32;
	if (machine_enter_ring0(m, ENTRYEMU_KERNEL_DS, frame, ENTRYEMU_KERNEL_CS)) {
		machine_set_error(m, "cannot enter ring 0 for vm86 mode");
		return ENTRYEMU_E_ENGINE;
	}
	load_kernel_data_segments(m);
	machine_set_reg(m, UC_X86_REG_EBP, KSTACK_BASE);	/* GET_THREAD_INFO */
	machine_set_reg(m, UC_X86_REG_EFLAGS, 0x46);
	m->start = image_symbol(&m->img, "resume_userspace");
	if (!m->start) {
		machine_set_error(m, "vm86: the image has no resume_userspace");
		return ENTRYEMU_E_INVAL;
	}
	m->in_kernel = 1;
	return 0;
}

/*
 * Back to the state after boot, then the setup's user state.  Only what
 * the last run wrote is restored (memory.c).
 */
int machine_reset(struct entryemu *m, const struct entryemu_setup *s)
{
	/* user code the guest wrote over: clear all of it and load it again */
	struct host_region *code = machine_region(m, ENTRYEMU_USER_CODE);
	if (code && code->dirty) {
		machine_mark_dirty(m, ENTRYEMU_USER_CODE, (uint32_t)m->ucode_len);
		m->ucode_len = 0;
	}
	machine_restore(m);
	if ((s->flags & ENTRYEMU_RUN_CHECK_RESET) &&
	    machine_check_restored(m, ENTRYEMU_USER_CODE, (uint32_t)m->ucode_len))
		return ENTRYEMU_E_ENGINE;
	if (entryemu_ti_flags(m) != s->ti_flags)
		entryemu_set_ti_flags(m, s->ti_flags);
	m->start = ENTRYEMU_USER_CODE;
	m->vm86_regs32 = 0;
	for (unsigned i = 0; i < s->nedits; i++) {
		const struct entryemu_desc_edit *e = &s->edits[i];
		int bad = e->table == ENTRYEMU_GDT ? entryemu_gdt_set(m, e->index, e->lo, e->hi)
			  : e->table == ENTRYEMU_IDT ? entryemu_idt_set(m, e->index, e->lo, e->hi)
			  : ENTRYEMU_E_INVAL;
		if (bad) {
			machine_set_error(m, "edits[%u]: no %s entry %u", i,
					  e->table == ENTRYEMU_IDT ? "IDT" : "GDT", e->index);
			return ENTRYEMU_E_INVAL;
		}
	}

	int rc = load_user_code(m, s->code, s->code_len);
	if (rc)
		return rc;
	if (uc_context_restore(m->uc, m->user_ctx) != UC_ERR_OK) {
		machine_set_error(m, "cannot restore the CPU context");
		return ENTRYEMU_E_ENGINE;
	}
	if (s->cr0_set & ~0xeu) {
		machine_set_error(m, "cr0_set = 0x%x: only MP (2), EM (4) and TS (8) may be set",
				  s->cr0_set);
		return ENTRYEMU_E_INVAL;
	}
	if (s->cr0_set)
		machine_set_reg(m, UC_X86_REG_CR0, machine_reg(m, UC_X86_REG_CR0) | s->cr0_set);
	if (s->thread_fn)
		return start_kernel_thread(m, s);
	if (s->vm86)
		return start_vm86(m, s);
	const struct entryemu_regs *u = &s->user;
	if ((u->cs && u->cs != ENTRYEMU_USER_CS)) {
		machine_set_error(m, "user.cs = 0x%04x: only __USER_CS (0x73) is supported", u->cs);
		return ENTRYEMU_E_INVAL;
	}
	uint32_t efl = u->eflags ? u->eflags : 0x202;
	if (efl & (ENTRYEMU_EFLAGS_VM | ENTRYEMU_EFLAGS_NT | 0x3000u)) {
		machine_set_error(m, "user.eflags = 0x%08x: VM, NT and IOPL must be clear", efl);
		return ENTRYEMU_E_INVAL;
	}
	efl |= 0x2;		/* bit 1 always reads as 1 */
	static int ids[] = {
		UC_X86_REG_EAX, UC_X86_REG_EBX, UC_X86_REG_ECX, UC_X86_REG_EDX,
		UC_X86_REG_ESI, UC_X86_REG_EDI, UC_X86_REG_EBP, UC_X86_REG_ESP,
		UC_X86_REG_EFLAGS,
	};
	uint32_t v[9] = { u->eax, u->ebx, u->ecx, u->edx, u->esi, u->edi, u->ebp,
			  u->esp ? u->esp : ENTRYEMU_USER_STACK_TOP, efl };
	void *ptrs[9];
	for (int i = 0; i < 9; i++)
		ptrs[i] = &v[i];
	uc_reg_write_batch(m->uc, ids, ptrs, 9);
	/*
	 * The context restored holds SS = DS = ES = __USER_DS and FS = GS = 0
	 * (as the boot's iret left them): only other selectors are loaded.
	 */
	uint16_t ss = u->ss ? u->ss : ENTRYEMU_USER_DS;
	uint16_t ds = u->ds ? u->ds : ENTRYEMU_USER_DS, es = u->es ? u->es : ENTRYEMU_USER_DS;
	if ((ss != ENTRYEMU_USER_DS && (rc = load_user_seg(m, UC_X86_REG_SS, SREG_SS, ss))) ||
	    (ds != ENTRYEMU_USER_DS && (rc = load_user_seg(m, UC_X86_REG_DS, SREG_DS, ds))) ||
	    (es != ENTRYEMU_USER_DS && (rc = load_user_seg(m, UC_X86_REG_ES, SREG_ES, es))) ||
	    (u->fs && (rc = load_user_seg(m, UC_X86_REG_FS, SREG_FS, u->fs))) ||
	    (u->gs && (rc = load_user_seg(m, UC_X86_REG_GS, SREG_GS, u->gs))))
		return rc;
	return 0;
}

/* ---- public machine API ---------------------------------------------------- */

int entryemu_mem_read(entryemu *m, uint32_t addr, void *buf, size_t len)
{
	uint8_t *p = machine_ptr(m, addr, len);
	if (!p)
		return ENTRYEMU_E_INVAL;
	memcpy(buf, p, len);
	return 0;
}

int entryemu_mem_write(entryemu *m, uint32_t addr, const void *buf, size_t len)
{
	uint8_t *p = machine_ptr(m, addr, len);
	if (!p)
		return ENTRYEMU_E_INVAL;
	memcpy(p, buf, len);
	machine_mark_dirty(m, addr, (uint32_t)len);
	return 0;
}

int entryemu_gdt_get(entryemu *m, unsigned idx, uint32_t *lo, uint32_t *hi)
{
	if (idx >= ENTRYEMU_GDT_ENTRIES)
		return ENTRYEMU_E_INVAL;
	uint8_t *p = m->sys + (SYS_GDT - SYS_BASE) + idx * 8;
	memcpy(lo, p, 4);
	memcpy(hi, p + 4, 4);
	return 0;
}

int entryemu_gdt_set(entryemu *m, unsigned idx, uint32_t lo, uint32_t hi)
{
	if (idx >= ENTRYEMU_GDT_ENTRIES)
		return ENTRYEMU_E_INVAL;
	gdt_write(m, idx, lo, hi);
	return 0;
}

int entryemu_idt_get(entryemu *m, unsigned vec, uint32_t *lo, uint32_t *hi)
{
	if (vec > 255)
		return ENTRYEMU_E_INVAL;
	uint8_t *p = m->sys + (SYS_IDT - SYS_BASE) + vec * 8;
	memcpy(lo, p, 4);
	memcpy(hi, p + 4, 4);
	return 0;
}

int entryemu_idt_set(entryemu *m, unsigned vec, uint32_t lo, uint32_t hi)
{
	if (vec > 255)
		return ENTRYEMU_E_INVAL;
	uint8_t *p = machine_wptr(m, SYS_IDT + vec * 8, 8);
	memcpy(p, &lo, 4);
	memcpy(p + 4, &hi, 4);
	return 0;
}

uint32_t entryemu_thread_info(const entryemu *m)
{
	(void)m;
	return KSTACK_BASE;
}

uint32_t entryemu_esp0(const entryemu *m)
{
	return m->esp0;
}

uint32_t entryemu_ti_flags(entryemu *m)
{
	uint32_t v;
	memcpy(&v, m->kstack + m->img.layout.ti_flags, 4);
	return v;
}

void entryemu_set_ti_flags(entryemu *m, uint32_t flags)
{
	machine_wr32(m, KSTACK_BASE + (uint32_t)m->img.layout.ti_flags, flags);
}

int entryemu_image_saves_gs(const entryemu *m)
{
	return m->img.layout.pt_gs >= 0;
}

const char *entryemu_last_error(const entryemu *m)
{
	return m->err;
}

