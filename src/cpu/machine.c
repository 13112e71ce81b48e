/*
 * The machine: memory map, descriptor tables, TSS, thread_info, and the
 * way into ring 3.
 *
 * The guest memory and its per-run reset are memory.c's.  The GDT and IDT
 * are those the kernel's trap_init()/cpu_init() would build.
 */
#include "cpu/cpu.h"
#include "cpu/desc.h"
#include "cpu/far_indirect.h"
#include "cpu/paging.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE 0x1000u
#define USER_STACK_BASE (ENTRYEMU_USER_STACK_TOP - ENTRYEMU_USER_STACK_SIZE)

void machine_stop(struct entryemu *m, enum entryemu_outcome o, const char *fmt, ...)
{
	if (machine_stopping(m))
		return;
	va_list ap;
	va_start(ap, fmt);
	char why[sizeof(m->halt->why)];
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	halt_set(m->halt, o, "%s", why);
	engine_stop(m->eng);
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

uint32_t machine_reg(struct entryemu *m, enum engine_reg r)
{
	return engine_reg(m->eng, r);
}

void machine_set_reg(struct entryemu *m, enum engine_reg r, uint32_t v)
{
	engine_set_reg(m->eng, r, v);
}

static uint16_t seg_reg(struct entryemu *m, enum engine_reg r)
{
	return (uint16_t)engine_reg(m->eng, r);
}

/*
 * EIP as the program sees it.  Inside code hooks Unicorn reports the
 * linear address (CS base + EIP); that differs only in vm86 mode, where
 * the code lives at segment 0x1000 and above, so a value above 0xffff
 * there is linear.
 */
static uint32_t program_eip(uint32_t reported, uint32_t eflags, uint16_t cs)
{
	if ((eflags & ENTRYEMU_EFLAGS_VM) && reported > 0xffff)
		return reported - ((uint32_t)cs << 4);
	return reported;
}

/* Every general register and EIP in one batched engine read. */
void machine_read_regs(struct entryemu *m, struct entryemu_regs *r)
{
	static const enum engine_reg ids[] = { ER_EAX, ER_EBX, ER_ECX, ER_EDX, ER_ESI, ER_EDI,
					       ER_EBP, ER_ESP, ER_EIP, ER_EFLAGS, ER_CS, ER_SS,
					       ER_DS, ER_ES, ER_FS, ER_GS };
	uint32_t v[16];
	engine_regs(m->eng, ids, v, 16);
	r->eax = v[0], r->ebx = v[1], r->ecx = v[2], r->edx = v[3];
	r->esi = v[4], r->edi = v[5], r->ebp = v[6], r->esp = v[7], r->eip = v[8];
	r->eflags = v[9];
	r->cs = (uint16_t)v[10], r->ss = (uint16_t)v[11], r->ds = (uint16_t)v[12];
	r->es = (uint16_t)v[13], r->fs = (uint16_t)v[14], r->gs = (uint16_t)v[15];
	r->eip = program_eip(r->eip, r->eflags, r->cs);
}

/* A code segment of the program's own, outside vm86 mode: 1 with its
 * descriptor in *d; 0 for the flat ones (or one that is not there). */
static int own_code_segment(struct entryemu *m, uint16_t cs, struct desc *d)
{
	return cs != ENTRYEMU_USER_CS && cs != ENTRYEMU_KERNEL_CS && desc_fetch(m, cs, d) == 0;
}

/*
 * CS's base and limit: CS * 16 and 0xffff in vm86 mode (vol. 3A
 * 20.1.1), else its descriptor's, the limit scaled by G.  The kernel's
 * and the user's code segments are flat; a program may load another
 * from the GDT or LDT with a far transfer.
 */
void machine_cs_extent_of(struct entryemu *m, uint16_t cs, uint32_t eflags, uint32_t *base,
			  uint32_t *limit)
{
	struct desc d;
	if (eflags & ENTRYEMU_EFLAGS_VM)
		*base = (uint32_t)cs << 4, *limit = 0xffffu;
	else if (own_code_segment(m, cs, &d))
		*base = d.base, *limit = d.limit;
	else
		*base = 0, *limit = 0xffffffffu;
}

void machine_cs_extent(struct entryemu *m, uint32_t *base, uint32_t *limit)
{
	static const enum engine_reg ids[] = { ER_EFLAGS, ER_CS };
	uint32_t v[2];
	engine_regs(m->eng, ids, v, 2);
	machine_cs_extent_of(m, (uint16_t)v[1], v[0], base, limit);
}

uint32_t machine_cs_base(struct entryemu *m)
{
	uint32_t base, limit;
	machine_cs_extent(m, &base, &limit);
	return base;
}

uint32_t machine_cs_limit(struct entryemu *m)
{
	uint32_t base, limit;
	machine_cs_extent(m, &base, &limit);
	return limit;
}

int machine_cs_16(struct entryemu *m)
{
	struct desc d;
	return !(machine_reg(m, ER_EFLAGS) & ENTRYEMU_EFLAGS_VM) &&
	       own_code_segment(m, seg_reg(m, ER_CS), &d) && d.s && (d.type & 8) && !d.db;
}

csh machine_user_cs(struct entryemu *m, int code16)
{
	return code16 ? m->cs16 : m->cs;
}

/* The linear address of the next instruction: CS's base plus EIP. */
uint32_t machine_linear_pc(struct entryemu *m)
{
	uint32_t eip = machine_reg(m, ER_EIP);
	if (machine_reg(m, ER_EFLAGS) & ENTRYEMU_EFLAGS_VM)
		eip &= 0xffff;
	return machine_cs_base(m) + eip;
}

/* The linear address of the stack top plus off, through SS: its base,
 * and SP alone for a 16-bit stack segment. */
uint32_t machine_stack_linear(struct entryemu *m, uint32_t off)
{
	uint16_t ss = seg_reg(m, ER_SS);
	uint32_t esp = machine_reg(m, ER_ESP);
	struct desc d;
	if (desc_fetch(m, ss, &d) == 0 && d.s)
		return d.base + (d.db ? esp + off : ((esp + off) & 0xffff));
	return esp + off;
}

/* CPL is the RPL of CS in protected mode (QEMU keeps it as SS.DPL). */
int machine_cpl(struct entryemu *m)
{
	if (machine_reg(m, ER_EFLAGS) & ENTRYEMU_EFLAGS_VM)
		return 3;		/* virtual-8086 mode runs at CPL 3 */
	return seg_reg(m, ER_CS) & 3;
}

/* ---- building the tables ------------------------------------------------ */

static void gdt_write(struct entryemu *m, unsigned idx, uint32_t lo, uint32_t hi)
{
	uint8_t *p = machine_wptr(m, m->gdt + idx * 8, 8);
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

/*
 * Where the GDT lives.  A kernel whose entry code reads the GDT itself
 * (2.6.20 on: the espfix path takes ESPFIX_SS's base from it) links it
 * as per-CPU data, per_cpu__gdt_page; the machine then loads GDTR with
 * that, so the entry code and the CPU read the same table.  Older
 * kernels get one in the system region.
 */
static int place_gdt(struct entryemu *m)
{
	uint32_t at = image_symbol(&m->img, "per_cpu__gdt_page");
	uint32_t size = ENTRYEMU_GDT_ENTRIES * 8;
	m->gdt = at ? at : SYS_GDT;
	if (at && ((at & 7) || at < m->img.base || at > m->img.end - size)) {
		machine_set_error(m, "%s: per_cpu__gdt_page = 0x%08x: the GDT must be 8-byte "
				  "aligned, its %u bytes inside the image", m->image_path, at, size);
		return ENTRYEMU_E_IMAGE;
	}
	return 0;
}

/* The GDT of cpu_init(), with the per-CPU segment in entry 27. */
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
	if (m->img.layout.espfix_32) {
		/*
		 * ESPFIX_SS from 2.6.20: a 32-bit (B = 1), 4 KiB-granular
		 * ring-0 data segment with base and limit 0, head.S's
		 * template; patch_espfix_desc gives it a base and a limit
		 * before each use.
		 */
		desc_make_seg(&lo, &hi, 0, 0, 0x3, 1, 0, 1);
		hi |= 0x00800000;	/* G: the limit counts 4 KiB pages */
	} else {
		/*
		 * ESPFIX_SS up to 2.6.19: a 16-bit (B = 0), byte-granular,
		 * ring-0 data segment over the per-CPU 16-bit stack, limit
		 * CPU_16BIT_STACK_SIZE - 1, as cpu_init() completes head.S's
		 * template.
		 */
		lo = ((SYS_ESPFIX & 0xffff) << 16) | (SYS_ESPFIX_SIZE - 1);
		hi = (SYS_ESPFIX & 0xff000000) | ((SYS_ESPFIX >> 16) & 0xff) | 0x00009300;
	}
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
	uint32_t v = PAGE_OFFSET;	/* addr_limit = USER_DS, MAKE_MM_SEG(PAGE_OFFSET) */
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

/*
 * The image's code, decoded from its text's start and from each symbol
 * in it: far calls and jumps through a register become `ff /7'
 * (far_indirect.c), before the vsyscall page copies its part.
 */
static int guard_image_code(struct entryemu *m)
{
	const struct image *img = &m->img;
	uint32_t *anchors = malloc((img->nsyms + 1) * sizeof(*anchors));
	if (!anchors) {
		machine_set_error(m, "out of memory");
		return ENTRYEMU_E_NOMEM;
	}
	size_t n = 0;
	anchors[n++] = img->text_start;
	for (size_t i = 0; i < img->nsyms; i++)
		if (img->syms[i].addr > img->text_start && img->syms[i].addr < img->text_end &&
		    img->syms[i].addr != anchors[n - 1])
			anchors[n++] = img->syms[i].addr;
	/* the open's decode of the entry code (image/accesses.c) knows most sizes */
	const struct far_known known = { img->insn_size, img->starts_base, img->starts_len };
	if (img->text_end > img->text_start && img->text_start >= img->base &&
	    img->text_end <= img->end)
		far_indirect_rewrite(m->cs_count, m->count_insn,
				     img->bytes + (img->text_start - img->base),
				     img->text_end - img->text_start, img->text_start, 0,
				     anchors, n, &known);
	free(anchors);
	return 0;
}

static int map_all(struct entryemu *m)
{
	uint32_t isize = m->img.end - m->img.base;
	uint8_t *ibytes;
	/*
	 * In the order machine_ptr() searches, the kernel's regions first.
	 * Every entry builds its frame in the kernel stack's top page: that
	 * page is restored on every reset, the rest only once written.  The
	 * top page is served (engine_map_served): most guest stores of a run
	 * land there, and as RAM each would cost far more.  Nothing runs code
	 * there.
	 */
	uint32_t ktop = m->thread_size > PAGE ? m->thread_size - PAGE : 0;
	const struct region_spec regions[] = {
		{ KSTACK_BASE, m->thread_size, &m->kstack, 1, ktop, 1, 0, 1 },
		{ SYS_BASE, SYS_SIZE, &m->sys, 1, SYS_SIZE, 0, 0, 0 },
		{ m->img.base, isize, &ibytes, 1, isize, 0, 0, 1 },
		{ USER_STACK_BASE, ENTRYEMU_USER_STACK_SIZE, &m->ustack, 0,
		  ENTRYEMU_USER_STACK_SIZE, 0, 1, 0 },
		/* the exit page and user code follow on: one mapping */
		{ ENTRYEMU_USER_EXIT, PAGE, &m->uexit, 1, PAGE, 0, 1, 0 },
		{ ENTRYEMU_USER_CODE, ENTRYEMU_USER_CODE_MAX, &m->ucode, 0, ENTRYEMU_USER_CODE_MAX, 0,
		  1, 0 },
		{ ENTRYEMU_USER_DATA, ENTRYEMU_USER_DATA_SIZE, &m->udata, 0, ENTRYEMU_USER_DATA_SIZE,
		  0, 1, 0 },
		{ VSYSCALL_PAGE, PAGE, &m->uvsys, 1, PAGE, 0, 0, 0 },
		{ ENTRYEMU_VM86_MEM, 0x10000, &m->uvm86, 0, 0x10000, 0, 1, 0 },
	};
	/* and the rest absent, as in the page tables (paging.c), but the page
	 * engine_flush_tlb() maps for a moment */
	int rc = machine_map_regions(m, regions, sizeof(regions) / sizeof(regions[0]),
				     TLB_SCRATCH);
	if (rc)
		return rc;
	/* code a program writes and runs: checked as it is translated (far_indirect.c) */
	for (size_t i = 0; i < sizeof(regions) / sizeof(regions[0]); i++) {
		engine_hook h;
		if (regions[i].noexec &&
		    engine_hook_fetch_noexec(m->eng, &h, regions[i].base,
					     regions[i].base + regions[i].size - 1,
					     far_indirect_fetch_hook, m)) {
			machine_set_error(m, "cannot install the fetch hook");
			return ENTRYEMU_E_ENGINE;
		}
	}
	memcpy(ibytes, m->img.bytes, isize);
	free(m->img.bytes);
	m->img.bytes = ibytes;		/* guest memory now: see machine_unmap() */
	rc = guard_image_code(m);
	if (rc)
		return rc;
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

static int set_table(struct entryemu *m, enum engine_table t, uint16_t sel, uint32_t base,
		     uint32_t limit, uint32_t flags)
{
	struct engine_table_reg v = { sel, base, limit, flags };
	return engine_set_table(m->eng, t, &v);
}

/*
 * Unicorn refuses ring-0 selector writes at CPL 3 and offers no way to
 * set CPL directly.  A real-mode SS load makes CPL 0 (QEMU derives CPL
 * from SS.DPL), after which the kernel selectors load with their normal
 * checks.  Used by the boot and by event delivery.
 */
static int enter_ring0(struct entryemu *m, uint16_t ss, uint32_t esp, uint16_t cs,
		       uint32_t eflags, uint32_t eip, int n)
{
	static const enum engine_reg ids[] = { ER_CR0, ER_SS, ER_CR0, ER_SS, ER_ESP, ER_CS,
					       ER_EFLAGS, ER_EIP };
	uint32_t cr0 = engine_reg(m->eng, ER_CR0);
	const uint32_t vals[] = { cr0 & ~1u, 0, cr0, ss, esp, cs, eflags, eip };
	return engine_set_regs(m->eng, ids, vals, n);
}

int machine_enter_ring0(struct entryemu *m, uint16_t ss, uint32_t esp, uint16_t cs)
{
	return enter_ring0(m, ss, esp, cs, 0, 0, 6);
}

/* The same, and EFLAGS and EIP after it, in the one call to the engine an event needs. */
int machine_enter_ring0_at(struct entryemu *m, uint16_t ss, uint32_t esp, uint16_t cs,
			   uint32_t eflags, uint32_t eip)
{
	return enter_ring0(m, ss, esp, cs, eflags, eip, 8);
}

/*
 * Start in ring 0 the way the kernel leaves its boot code, then iret to
 * ring 3 with the CPU's own iret, and keep that CPU state as the start of
 * every run.
 */
static int boot_to_user(struct entryemu *m)
{
	/*
	 * TR's hidden part holds the TSS descriptor as it was before LTR
	 * marked it busy, as QEMU's own LTR leaves it: QEMU reads that
	 * type where a call gate switches to an inner stack, and aborts the
	 * process on a busy one.  No instruction reads the cached type.
	 */
	uint32_t hi;
	memcpy(&hi, machine_ptr(m, m->gdt + 16 * 8 + 4, 4), 4);
	hi &= ~0x200u;			/* type 0xB, busy, to 0x9 */
	if (set_table(m, ET_GDTR, 0, m->gdt, ENTRYEMU_GDT_ENTRIES * 8 - 1, 0) ||
	    set_table(m, ET_IDTR, 0, SYS_IDT, 256 * 8 - 1, 0) ||
	    set_table(m, ET_LDTR, 0, 0, 0, 0) ||
	    set_table(m, ET_TR, ENTRYEMU_TSS_SEL, SYS_TSS,
		      (uint32_t)m->img.layout.tss_size - 1, hi & 0x00f0ff00)) {
		machine_set_error(m, "cannot load GDTR/IDTR/LDTR/TR");
		return ENTRYEMU_E_ENGINE;
	}
	uint32_t sysenter = image_symbol(&m->img, "sysenter_entry");
	if (engine_set_msr(m->eng, 0x174, ENTRYEMU_KERNEL_CS) ||
	    engine_set_msr(m->eng, 0x175, SYS_TSS + (uint32_t)m->img.layout.tss_size) ||
	    engine_set_msr(m->eng, 0x176, sysenter)) {
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
	if (paging_enable(m)) {
		machine_set_error(m, "cannot turn paging on");
		return ENTRYEMU_E_ENGINE;
	}
	/*
	 * CR0.NE: x87 errors are reported as #MF at the next waiting
	 * instruction, not through FERR#/IRQ 13 (SDM vol. 3 2.5).  2.6.18's
	 * head.S sets it on a 486 and later ("set AM, WP, NE and MP"); WP
	 * comes with paging, MP is the scenario's (cr0_set), AM is not set.
	 */
	if (engine_set_reg(m->eng, ER_CR0, engine_reg(m->eng, ER_CR0) | 0x20u)) {
		machine_set_error(m, "cannot set CR0.NE");
		return ENTRYEMU_E_ENGINE;
	}
	/*
	 * CR4.OSFXSR (bit 9) and OSXMMEXCPT (bit 10): 2.6.18's check_fpu()
	 * (include/asm-i386/bugs.h) sets them on a CPU with FXSR and SSE,
	 * which the modelled CPU has.  Without OSFXSR an SSE instruction is
	 * #UD, not #NM under CR0.TS (SDM vol. 3A 2.5, CR4.OSFXSR).
	 */
	if (engine_set_reg(m->eng, ER_CR4, engine_reg(m->eng, ER_CR4) | 0x600u)) {
		machine_set_error(m, "cannot set CR4.OSFXSR");
		return ENTRYEMU_E_ENGINE;
	}
	/*
	 * The x87 and SSE state a task starts with: 2.6.18's init_fpu()
	 * gives a task's first FPU state FNINIT's (SDM vol. 1 8.1.10):
	 * control word 0x37f, all exceptions masked, every register empty
	 * (tag word 0xffff), and MXCSR 0x1f80 (vol. 1 10.2.3.1).  Unicorn
	 * leaves the control word 0 and the registers tagged valid.
	 */
	if (engine_set_reg(m->eng, ER_FPCW, 0x37f) || engine_set_reg(m->eng, ER_FPTAG, 0xffff) ||
	    engine_set_reg(m->eng, ER_MXCSR, 0x1f80)) {
		machine_set_error(m, "cannot set the FPU control words");
		return ENTRYEMU_E_ENGINE;
	}
	uint32_t uds = ENTRYEMU_USER_DS;
	engine_set_reg(m->eng, ER_DS, uds);
	engine_set_reg(m->eng, ER_ES, uds);
	m->booting = 1;
	enum engine_exit e = engine_start(m->eng, SYS_BOOT);
	m->booting = 0;
	if (e != ENGINE_EXIT_OK || machine_cpl(m) != 3 ||
	    machine_reg(m, ER_EIP) != ENTRYEMU_USER_EXIT) {
		machine_set_error(m, "boot iret to ring 3 failed: %s (CPL %d, EIP 0x%08x)",
				  engine_exit_name(m->eng), machine_cpl(m),
				  machine_reg(m, ER_EIP));
		return ENTRYEMU_E_ENGINE;
	}
	if (engine_save(m->eng, &m->user_ctx)) {
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
	if (rc || (rc = place_gdt(m)))
		return rc;
	build_gdt(m);
	build_idt(m);
	build_tss(m);
	build_thread_info(m);
	if (paging_build(m))
		return ENTRYEMU_E_IMAGE;
	machine_snapshot(m);
	return boot_to_user(m);
}

/* ---- per-run reset ---------------------------------------------------------- */

/* The code given for the bytes now loaded, for load_user_code()'s shortcut. */
static void remember_user_code(struct entryemu *m, const uint8_t *code, size_t len)
{
	if (!m->ucode_src)
		m->ucode_src = malloc(ENTRYEMU_USER_CODE_MAX);	/* NULL: no shortcut */
	if (m->ucode_src) {
		if (len)
			memcpy(m->ucode_src, code, len);
		m->ucode_src_len = len;
	}
}

/*
 * Where the engine's blocks of new user code end, for a run with
 * ENTRYEMU_RUN_SHORT_NEW_BLOCKS.  Unicorn translates
 * from a block's first instruction to the next branch before running
 * any of it, each user instruction with the hook before it (about
 * 26,000 host instructions an instruction), and code that has just
 * changed (a fuzzer's next input) mostly faults at its first or second
 * instruction: of the instructions translated for 20,000 inputs of a
 * fuzzing run, 76% were in blocks of 40 or more.  So the run that first
 * runs changed code starts the engine with a stop a few instructions
 * into it (run.c); a run that gets there goes on with the next stop
 * twice as far, and the stops go at the end of the run.  Unicorn drops
 * the block that ends at a start's stop when the start ends; a later
 * run of the same code translates it whole.  The results do not depend
 * on where blocks end (docs/speed.md, fourteenth round).
 */
#define CODE_STOP_FIRST 3u

static void first_code_stop(struct entryemu *m)
{
	m->code_stop_insns = CODE_STOP_FIRST;
	m->code_stop = count_insns_on(m, ENTRYEMU_USER_CODE, CODE_STOP_FIRST,
				      ENTRYEMU_USER_CODE + (uint32_t)m->ucode_len);
}

int machine_drop_stop_blocks(struct entryemu *m, uint32_t at)
{
	/* the block that ends at the stop, or starts there (empty) */
	if (engine_flush_range(m->eng, at - 1, at + 1)) {
		machine_set_error(m, "cannot drop translated code");
		return -1;
	}
	return 0;
}

int machine_pass_code_stop(struct entryemu *m)
{
	uint32_t at = m->code_stop;
	if (machine_drop_stop_blocks(m, at))
		return -1;
	m->code_stop_insns *= 2;
	m->code_stop = count_insns_on(m, at, m->code_stop_insns,
				      ENTRYEMU_USER_CODE + (uint32_t)m->ucode_len);
	return 0;
}

int machine_drop_code_stop(struct entryemu *m, uint32_t pc)
{
	uint32_t at = m->code_stop;
	m->code_stop = 0;
	/* an empty block at the stop is there only where the run ended at it */
	return at && pc == at ? machine_drop_stop_blocks(m, at) : 0;
}

static int load_user_code(struct entryemu *m, const uint8_t *code, size_t len)
{
	uint8_t buf[ENTRYEMU_USER_CODE_MAX];
	if (len > ENTRYEMU_USER_CODE_MAX - 5) {
		machine_field_error(m, "code", "code: %zu bytes, at most %u", len,
				  ENTRYEMU_USER_CODE_MAX - 5);
		return ENTRYEMU_E_INVAL;
	}
	/*
	 * The code loaded for the last run, still there (a reset that finds
	 * it written over clears ucode_len): its rewrite would make the same
	 * bytes again, a decode of all of it where it holds a byte the
	 * rewrite looks for.  A test's or bench's warm runs load the same
	 * code every time.
	 */
	if (m->ucode_len && m->ucode_src && len == m->ucode_src_len &&
	    (!len || !memcmp(code, m->ucode_src, len)))
		return 0;
	/* the code, then "jmp ENTRYEMU_USER_EXIT" */
	size_t n = 0;
	if (len)
		memcpy(buf, code, len);
	n = len;
	int32_t rel = (int32_t)(ENTRYEMU_USER_EXIT - (ENTRYEMU_USER_CODE + n + 5));
	buf[n++] = 0xe9;
	memcpy(buf + n, &rel, 4);
	n += 4;
	/* with the jmp: code ending in ff makes `ff e9', a far jmp through %ecx */
	far_indirect_rewrite(m->cs_count, m->count_insn, buf, n, ENTRYEMU_USER_CODE,
			     FAR_TO_FLOW_END, &(uint32_t){ ENTRYEMU_USER_CODE }, 1, NULL);
	/*
	 * Bytes up to the first difference from the loaded code (which the
	 * last run left untouched, machine_reset) keep their translations:
	 * a fuzzer's next input is mostly its last with a few bytes changed.
	 */
	size_t old = m->ucode_len, same = 0;
	while (same < n && same < old && buf[same] == m->ucode[same])
		same++;
	if (same == n && n == old) {
		remember_user_code(m, code, len);
		return 0;
	}
	if (old > n)
		memset(buf + n, 0, old - n);
	size_t span = old > n ? old : n;
	/*
	 * Unicorn 2.0.1 keeps blocks translated from the old bytes even when
	 * the bytes under them change: drop those that overlap the change.
	 */
	memcpy(m->ucode + same, buf + same, span - same);
	uint32_t lo = ENTRYEMU_USER_CODE + (uint32_t)same, hi = ENTRYEMU_USER_CODE + (uint32_t)span;
	if (engine_flush_range(m->eng, lo, hi)) {
		machine_set_error(m, "cannot drop translated user code");
		return ENTRYEMU_E_ENGINE;
	}
	m->ucode_len = n;
	m->ucode_region = machine_region(m, ENTRYEMU_USER_CODE);
	m->ucode_plain = !m->ucode_region ? 0 :
			 plain_user_code(m->ucode, n, ENTRYEMU_USER_CODE, m->ucode_starts,
					 sizeof(m->ucode_starts) / sizeof(m->ucode_starts[0]));
	m->user_hook_kept = 0;		/* new code: plain or not, as it is */
	count_forget_user(m, lo, hi);
	if (m->setup && (m->setup->flags & ENTRYEMU_RUN_SHORT_NEW_BLOCKS))
		first_code_stop(m);
	remember_user_code(m, code, len);
	return 0;
}

int machine_plain_at(struct entryemu *m, uint32_t addr)
{
	uint32_t off = addr - ENTRYEMU_USER_CODE;
	return m->ucode_plain && off < m->ucode_len && plain_starts_at(m->ucode_starts, off) &&
	       !machine_region_written(m->ucode_region, ENTRYEMU_USER_CODE, (uint32_t)m->ucode_len);
}

void machine_plain_stack_reach(struct entryemu *m, uint32_t addr, uint32_t size, int32_t *lo,
			       int32_t *hi)
{
	size_t from = addr - ENTRYEMU_USER_CODE, to = from + size;
	plain_stack_reach(m->ucode, m->ucode_starts, from, to < m->ucode_len ? to : m->ucode_len,
			  lo, hi);
}

static const char *sreg_name(enum engine_reg r)
{
	switch (r) {
	case ER_DS: return "ds";
	case ER_ES: return "es";
	case ER_FS: return "fs";
	case ER_GS: return "gs";
	case ER_SS: return "ss";
	default: return "cs";
	}
}

static int load_user_seg(struct entryemu *m, enum engine_reg reg, enum sreg sr, uint16_t sel)
{
	struct fault f = desc_check_data_load(m, sr, sel, 3);
	char field[16];
	snprintf(field, sizeof(field), "user.%s", sreg_name(reg));
	if (f.vector >= 0) {
		machine_field_error(m, field, "%s = 0x%04x: the CPU would refuse the load "
				  "(#%s(0x%x))", field, sel,
				  f.vector == VEC_NP ? "NP" : f.vector == VEC_SS ? "SS" : "GP",
				  f.error);
		return ENTRYEMU_E_INVAL;
	}
	if (engine_set_reg(m->eng, reg, sel)) {
		machine_field_error(m, field, "%s = 0x%04x: refused by the CPU", field, sel);
		return ENTRYEMU_E_INVAL;
	}
	return 0;
}

/*
 * Below PAGE_OFFSET, the code that the last run wrote over and the
 * restore put back (which dropped its translations): its instruction
 * counts go too (the counts of the bytes the run left may not be those
 * of the bytes restored).  The blocks the restore did not change keep
 * theirs.
 */
static void forget_put_back_code(struct entryemu *m)
{
	for (unsigned i = 0; i < m->nregions; i++) {
		const struct host_region *r = &m->regions[i];
		if (r->base < PAGE_OFFSET && r->put_back_hi)
			count_forget_user(m, r->put_back_lo, r->put_back_hi);
	}
}

/*
 * Back to the state after boot, then the setup's user state.  Only what
 * the last run wrote is restored (memory.c).
 */
int machine_reset(struct entryemu *m, const struct entryemu_setup *s)
{
	/*
	 * User code the guest wrote over: clear all of it and load it again.
	 * A write elsewhere in its region (code that stores beside itself, at
	 * the region's end) leaves it and what the engine translated from it.
	 */
	if (machine_written(m, ENTRYEMU_USER_CODE, (uint32_t)m->ucode_len)) {
		machine_mark_dirty(m, ENTRYEMU_USER_CODE, (uint32_t)m->ucode_len);
		m->ucode_len = 0;
	}
	/* vm86 code likewise */
	if (machine_written(m, ENTRYEMU_VM86_MEM, (uint32_t)m->vm86_code_len)) {
		machine_mark_dirty(m, ENTRYEMU_VM86_MEM, (uint32_t)m->vm86_code_len);
		m->vm86_code_len = 0;
	}
	machine_restore(m);
	forget_put_back_code(m);
	m->fetch_next = m->fetch_from = m->fetch_clean = m->fetch_last = 0;
	m->fetch_blocks = 0;
	if ((s->flags & ENTRYEMU_RUN_CHECK_RESET) && machine_check_restored(m))
		return ENTRYEMU_E_ENGINE;
	if (machine_ti_flags(m) != s->ti_flags)
		machine_set_ti_flags(m, s->ti_flags);
	m->start = ENTRYEMU_USER_CODE;
	m->vm86_regs32 = 0;
	for (unsigned i = 0; i < s->nedits; i++) {
		const struct entryemu_desc_edit *e = &s->edits[i];
		int bad = e->table == ENTRYEMU_GDT ? entryemu_gdt_set(m, e->index, e->lo, e->hi)
			  : e->table == ENTRYEMU_IDT ? entryemu_idt_set(m, e->index, e->lo, e->hi)
			  : ENTRYEMU_E_INVAL;
		if (bad) {
			char field[24];
			snprintf(field, sizeof(field), "edits[%u]", i);
			machine_field_error(m, field, "%s: no %s entry %u", field,
					  e->table == ENTRYEMU_IDT ? "IDT" : "GDT", e->index);
			return ENTRYEMU_E_INVAL;
		}
	}

	int rc = load_user_code(m, s->code, s->code_len);
	if (rc)
		return rc;
	if (paging_code_readonly(m, s->code_readonly)) {
		machine_set_error(m, "cannot change the user code's page protection");
		return ENTRYEMU_E_ENGINE;
	}
	if (engine_restore(m->eng, m->user_ctx)) {
		machine_set_error(m, "cannot restore the CPU context");
		return ENTRYEMU_E_ENGINE;
	}
	if (s->cr0_set & ~0xeu) {
		machine_field_error(m, "cr0_set", "cr0_set = 0x%x: only MP (2), EM (4) and TS (8) may be set",
				  s->cr0_set);
		return ENTRYEMU_E_INVAL;
	}
	if (s->cr0_set)
		machine_set_reg(m, ER_CR0, machine_reg(m, ER_CR0) | s->cr0_set);
	if (s->cpu != ENTRYEMU_CPU_INTEL && s->cpu != ENTRYEMU_CPU_AMD) {
		machine_field_error(m, "cpu", "cpu = %d: ENTRYEMU_CPU_INTEL (0) or "
				    "ENTRYEMU_CPU_AMD (1)", s->cpu);
		return ENTRYEMU_E_INVAL;
	}
	return 0;
}

/* The setup's user state, in ring 3 at the start of the user code. */
int machine_load_user(struct entryemu *m, const struct entryemu_setup *s)
{
	int rc;
	const struct entryemu_regs *u = &s->user;
	if ((u->cs && u->cs != ENTRYEMU_USER_CS)) {
		machine_field_error(m, "user.cs", "user.cs = 0x%04x: only __USER_CS (0x73) is supported", u->cs);
		return ENTRYEMU_E_INVAL;
	}
	uint32_t efl = u->eflags ? u->eflags : 0x202;
	if (efl & (ENTRYEMU_EFLAGS_VM | ENTRYEMU_EFLAGS_NT | 0x3000u)) {
		machine_field_error(m, "user.eflags", "user.eflags = 0x%08x: VM, NT and IOPL must be clear", efl);
		return ENTRYEMU_E_INVAL;
	}
	efl |= 0x2;		/* bit 1 always reads as 1 */
	static const enum engine_reg ids[] = { ER_EAX, ER_EBX, ER_ECX, ER_EDX, ER_ESI, ER_EDI,
					       ER_EBP, ER_ESP, ER_EFLAGS };
	uint32_t v[9] = { u->eax, u->ebx, u->ecx, u->edx, u->esi, u->edi, u->ebp,
			  u->esp ? u->esp : ENTRYEMU_USER_STACK_TOP, efl };
	engine_set_regs(m->eng, ids, v, 9);
	/*
	 * The context restored holds SS = DS = ES = __USER_DS and FS = GS = 0
	 * (as the boot's iret left them): only other selectors are loaded.
	 */
	uint16_t ss = u->ss ? u->ss : ENTRYEMU_USER_DS;
	uint16_t ds = u->ds ? u->ds : ENTRYEMU_USER_DS, es = u->es ? u->es : ENTRYEMU_USER_DS;
	if ((ss != ENTRYEMU_USER_DS && (rc = load_user_seg(m, ER_SS, SREG_SS, ss))) ||
	    (ds != ENTRYEMU_USER_DS && (rc = load_user_seg(m, ER_DS, SREG_DS, ds))) ||
	    (es != ENTRYEMU_USER_DS && (rc = load_user_seg(m, ER_ES, SREG_ES, es))) ||
	    (u->fs && (rc = load_user_seg(m, ER_FS, SREG_FS, u->fs))) ||
	    (u->gs && (rc = load_user_seg(m, ER_GS, SREG_GS, u->gs))))
		return rc;
	return 0;
}

/* ---- public machine API ---------------------------------------------------- */

int entryemu_mem_read(entryemu *m, uint32_t addr, void *buf, size_t len)
{
	uint8_t *p = m && (buf || !len) ? machine_ptr(m, addr, len) : NULL;
	if (!p)
		return ENTRYEMU_E_INVAL;
	memcpy(buf, p, len);
	return 0;
}

int entryemu_mem_write(entryemu *m, uint32_t addr, const void *buf, size_t len)
{
	uint8_t *p = m && (buf || !len) ? machine_ptr(m, addr, len) : NULL;
	if (!p)
		return ENTRYEMU_E_INVAL;
	memcpy(p, buf, len);
	machine_mark_dirty(m, addr, (uint32_t)len);
	return 0;
}

int entryemu_gdt_get(entryemu *m, unsigned idx, uint32_t *lo, uint32_t *hi)
{
	if (!m || !lo || !hi || idx >= ENTRYEMU_GDT_ENTRIES)
		return ENTRYEMU_E_INVAL;
	const uint8_t *p = machine_ptr(m, m->gdt + idx * 8, 8);
	memcpy(lo, p, 4);
	memcpy(hi, p + 4, 4);
	return 0;
}

int entryemu_gdt_set(entryemu *m, unsigned idx, uint32_t lo, uint32_t hi)
{
	if (!m || idx >= ENTRYEMU_GDT_ENTRIES)
		return ENTRYEMU_E_INVAL;
	gdt_write(m, idx, lo, hi);
	seg_limit_note(m, lo, hi);
	return 0;
}

int entryemu_idt_get(entryemu *m, unsigned vec, uint32_t *lo, uint32_t *hi)
{
	if (!m || !lo || !hi || vec > 255)
		return ENTRYEMU_E_INVAL;
	uint8_t *p = m->sys + (SYS_IDT - SYS_BASE) + vec * 8;
	memcpy(lo, p, 4);
	memcpy(hi, p + 4, 4);
	return 0;
}

int entryemu_idt_set(entryemu *m, unsigned vec, uint32_t lo, uint32_t hi)
{
	if (!m || vec > 255)
		return ENTRYEMU_E_INVAL;
	uint8_t *p = machine_wptr(m, SYS_IDT + vec * 8, 8);
	memcpy(p, &lo, 4);
	memcpy(p + 4, &hi, 4);
	return 0;
}

uint32_t entryemu_thread_info(const entryemu *m)
{
	return m ? KSTACK_BASE : 0;
}

uint32_t entryemu_esp0(const entryemu *m)
{
	return m ? m->esp0 : 0;
}

uint32_t machine_ti_flags(struct entryemu *m)
{
	uint32_t v;
	memcpy(&v, m->kstack + m->img.layout.ti_flags, 4);
	return v;
}

void machine_set_ti_flags(struct entryemu *m, uint32_t flags)
{
	machine_wr32(m, KSTACK_BASE + (uint32_t)m->img.layout.ti_flags, flags);
}

uint32_t entryemu_ti_flags(entryemu *m)
{
	return m ? machine_ti_flags(m) : 0;
}

void entryemu_set_ti_flags(entryemu *m, uint32_t flags)
{
	if (m)
		machine_set_ti_flags(m, flags);
}

int entryemu_image_saves_gs(const entryemu *m)
{
	return m && m->img.layout.pt_gs >= 0;
}

enum entryemu_percpu entryemu_image_percpu(const entryemu *m)
{
	return m ? (enum entryemu_percpu)m->img.layout.percpu_seg : ENTRYEMU_PERCPU_NONE;
}

int entryemu_image_espfix_32(const entryemu *m)
{
	return m && m->img.layout.espfix_32;
}

const char *entryemu_image_file(const entryemu *m)
{
	return m ? m->image_path : "";
}

const char *entryemu_last_error(const entryemu *m)
{
	return m ? m->err : "no handle";
}

const char *entryemu_last_error_field(const entryemu *m)
{
	return m && m->err_field[0] ? m->err_field : NULL;
}
