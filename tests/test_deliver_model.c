/*
 * The delivery model on its own: no image, no engine.  A few kilobytes
 * of memory hold an IDT, a GDT and a TSS built here; each test asks the
 * model what the CPU does for one event and compares it with the Intel
 * SDM vol. 3 ch. 6 (sections cited at each test).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <entryemu/entryemu.h>

#include "cpu/deliver_model.h"

#define BASE	0x10000000u
#define IDT	(BASE + 0x000)
#define GDT	(BASE + 0x800)
#define TSS	(BASE + 0x900)
#define STK16	(BASE + 0xa00)		/* base of a 16-bit stack segment */
#define SIZE	0x1000u

#define KCS	0x60
#define KDS	0x68
#define UCS	0x73
#define UDS	0x7b
#define SS16	0xd0			/* a 16-bit ring-0 stack, like ESPFIX_SS */
#define ESP0	0xc0a01ff8u

static uint8_t mem[SIZE];

static int rd(void *ctx, uint32_t addr, uint32_t *out)
{
	(void)ctx;
	if (addr < BASE || addr + 4 > BASE + SIZE)
		return -1;
	memcpy(out, mem + (addr - BASE), 4);
	return 0;
}

static void put(uint32_t addr, uint32_t lo, uint32_t hi)
{
	memcpy(mem + (addr - BASE), &lo, 4);
	memcpy(mem + (addr - BASE) + 4, &hi, 4);
}

static void gate(unsigned vec, unsigned type, unsigned dpl, uint32_t handler)
{
	uint32_t lo, hi;
	desc_make_gate(&lo, &hi, KCS, handler, type, dpl);
	put(IDT + 8 * vec, lo, hi);
}

static struct cpu_snapshot user_cpu(void)
{
	struct cpu_snapshot c = {
		.eflags = 0x202 | ENTRYEMU_EFLAGS_TF | ENTRYEMU_EFLAGS_RF, .esp = 0xbfff0000u,
		.cs = UCS, .ss = UDS, .ds = UDS, .es = UDS,
		.idtr = { 0, IDT, 256 * 8 - 1 }, .gdtr = { 0, GDT, 32 * 8 - 1 },
		.tr = { 0x80, TSS, 0x67 },
	};
	return c;
}

static int setup(void **state)
{
	(void)state;
	memset(mem, 0, sizeof(mem));
	uint32_t lo, hi;
	desc_make_seg(&lo, &hi, 0, 0xffffffff, 0xB, 1, 0, 1);
	put(GDT + KCS, lo, hi);
	desc_make_seg(&lo, &hi, 0, 0xffffffff, 0x3, 1, 0, 1);
	put(GDT + KDS, lo, hi);
	desc_make_seg(&lo, &hi, 0, 0xffffffff, 0xB, 1, 3, 1);
	put(GDT + (UCS & ~3), lo, hi);
	desc_make_seg(&lo, &hi, 0, 0xffffffff, 0x3, 1, 3, 1);
	put(GDT + (UDS & ~3), lo, hi);
	desc_make_seg(&lo, &hi, STK16, 0x3ff, 0x3, 1, 0, 0);	/* B = 0 */
	put(GDT + SS16, lo, hi);
	uint32_t esp0 = ESP0, ss0 = KDS;
	memcpy(mem + (TSS - BASE) + 4, &esp0, 4);
	memcpy(mem + (TSS - BASE) + 8, &ss0, 4);
	gate(0x80, GATE_TRAP32, 3, 0xc0100000u);
	gate(13, GATE_TRAP32, 0, 0xc0100100u);
	gate(14, GATE_INTR32, 0, 0xc0100200u);
	return 0;
}

static const struct mem_view view = { rd, NULL };

/*
 * 6.12.1: a ring-3 int $0x80 through a DPL-3 trap gate switches to
 * ss0:esp0 from the TSS and pushes SS, ESP, EFLAGS, CS, EIP (no error
 * code); TF, NT, RF and VM are cleared, IF is kept (trap gate).  The
 * pushed EFLAGS has RF = 0 although RF was 1: 17.3.1.1, "Software-
 * generated interrupts (RF is pushed as 0, since it was cleared at the
 * start of the software interrupt)".  (This test used to expect the
 * snapshot's EFLAGS, RF included: the model's output, not the SDM's.)
 */
static void int80_from_ring3(void **state)
{
	(void)state;
	struct cpu_snapshot c = user_cpu();
	struct event ev = { .vector = 0x80, .software = 1, .eip = 0x08048007u };
	struct delivery d;
	deliver_model(&c, &view, &ev, &d);
	assert_int_equal(d.status, DELIVERED);
	assert_int_equal(d.cpl, 3);
	assert_int_equal(d.new_cpl, 0);
	assert_int_equal(d.nwords, 5);
	uint32_t want[5] = { UDS, 0xbfff0000u, 0x202 | ENTRYEMU_EFLAGS_TF, UCS, 0x08048007u };
	assert_memory_equal(d.words, want, sizeof(want));
	assert_int_equal(d.new_esp, ESP0 - 20);
	assert_int_equal(d.frame, ESP0 - 20);
	assert_int_equal(d.new_ss, KDS);
	assert_int_equal(d.new_cs, KCS);
	assert_int_equal(d.new_eip, 0xc0100000u);
	assert_int_equal(d.new_eflags, 0x202);
}

/* 6.12.1.1: int n through a gate with DPL < CPL is #GP(vector * 8 + 2). */
static void int_through_kernel_gate_is_gp(void **state)
{
	(void)state;
	struct cpu_snapshot c = user_cpu();
	struct event ev = { .vector = 13, .software = 1, .eip = 0x08048002u };
	struct delivery d;
	deliver_model(&c, &view, &ev, &d);
	assert_int_equal(d.status, FAULTED);
	assert_int_equal(d.nested.vector, VEC_GP);
	assert_int_equal(d.nested.error, 13 * 8 + 2);
}

/*
 * 6.13: an exception whose gate is not present (P = 0) is #NP with the
 * IDT bit (bit 1) and EXT (bit 0) set: vector * 8 + 3.  (An all-zero
 * entry is not a gate at all: #GP, checked before P, 6.12.1.)
 */
static void missing_gate_is_np(void **state)
{
	(void)state;
	gate(6, GATE_TRAP32, 0, 0xc0100300u);
	mem[IDT - BASE + 6 * 8 + 5] &= 0x7f;	/* P = 0 */
	struct cpu_snapshot c = user_cpu();
	struct event zero = { .vector = 7, .eip = 0x08048000u };
	struct delivery dz;
	deliver_model(&c, &view, &zero, &dz);
	assert_int_equal(dz.status, FAULTED);
	assert_int_equal(dz.nested.vector, VEC_GP);
	assert_int_equal(dz.nested.error, 7 * 8 + 3);
	struct event ev = { .vector = 6, .eip = 0x08048000u };
	struct delivery d;
	deliver_model(&c, &view, &ev, &d);
	assert_int_equal(d.status, FAULTED);
	assert_int_equal(d.nested.vector, VEC_NP);
	assert_int_equal(d.nested.error, 6 * 8 + 3);
}

/* 6.10: a vector beyond the IDT limit is #GP(vector * 8 + 2 + EXT). */
static void beyond_idt_limit_is_gp(void **state)
{
	(void)state;
	struct cpu_snapshot c = user_cpu();
	c.idtr.limit = 0x7f;			/* 16 gates */
	struct event ev = { .vector = 0x20, .eip = 0x08048000u };
	struct delivery d;
	deliver_model(&c, &view, &ev, &d);
	assert_int_equal(d.status, FAULTED);
	assert_int_equal(d.nested.vector, VEC_GP);
	assert_int_equal(d.nested.error, 0x20 * 8 + 3);
}

/*
 * 6.12.1: a fault in ring 0 stays on the current stack and pushes
 * EFLAGS, CS, EIP and the error code; an interrupt gate clears IF.  #PF
 * is a fault (table 6-1), so the pushed EFLAGS has RF = 1 (17.3.1.1:
 * "For any fault-class exception except a debug exception generated in
 * response to an instruction breakpoint, the value pushed for RF is 1");
 * the handler itself runs with RF = 0 (6.12.1.2: the processor clears
 * RF after saving EFLAGS).
 */
static void kernel_fault_same_privilege(void **state)
{
	(void)state;
	struct cpu_snapshot c = user_cpu();
	c.cs = KCS;
	c.ss = KDS;
	c.esp = 0xc0a01f00u;
	c.eflags = 0x246;
	struct event ev = { .vector = 14, .has_error = 1, .error = 2, .eip = 0xc0100400u };
	struct delivery d;
	deliver_model(&c, &view, &ev, &d);
	assert_int_equal(d.status, DELIVERED);
	assert_int_equal(d.new_cpl, 0);
	assert_int_equal(d.nwords, 4);
	uint32_t want[4] = { 0x10246, KCS, 0xc0100400u, 2 };
	assert_memory_equal(d.words, want, sizeof(want));
	assert_int_equal(d.new_esp, 0xc0a01f00u - 16);
	assert_int_equal(d.new_eflags, 0x046);		/* IF cleared */
}

/*
 * The same #PF on a machine that follows AMD's manual: AMD does not set
 * RF in the EFLAGS image pushed for an exception other than an
 * instruction-breakpoint #DB (AMD64 APM vol. 2, chapter 8 and the RF bit
 * of RFLAGS): the frame holds EFLAGS as it was, 0x246.  Everything else
 * is as on Intel.
 */
static void kernel_fault_amd_keeps_rf(void **state)
{
	(void)state;
	struct cpu_snapshot c = user_cpu();
	c.amd = 1;
	c.cs = KCS;
	c.ss = KDS;
	c.esp = 0xc0a01f00u;
	c.eflags = 0x246;
	struct event ev = { .vector = 14, .has_error = 1, .error = 2, .eip = 0xc0100400u };
	struct delivery d;
	deliver_model(&c, &view, &ev, &d);
	assert_int_equal(d.status, DELIVERED);
	uint32_t want[4] = { 0x00246, KCS, 0xc0100400u, 2 };
	assert_memory_equal(d.words, want, sizeof(want));
	assert_int_equal(d.new_eflags, 0x046);
}

/* 6.12.1, table 6-1 note: a null SS0 in the TSS is #TS(EXT). */
static void null_ss0_is_ts(void **state)
{
	(void)state;
	uint32_t zero = 0;
	memcpy(mem + (TSS - BASE) + 8, &zero, 4);
	struct cpu_snapshot c = user_cpu();
	struct event ev = { .vector = 13, .has_error = 1, .error = 0, .eip = 0x08048000u };
	struct delivery d;
	deliver_model(&c, &view, &ev, &d);
	assert_int_equal(d.status, FAULTED);
	assert_int_equal(d.nested.vector, VEC_TS);
	assert_int_equal(d.nested.error, 1);
}

/*
 * 6.12.1: the pushes go through SS; on a 16-bit stack segment (B = 0)
 * only SP moves, and the frame is at SS.base + SP.
 */
static void sixteen_bit_stack_moves_sp_only(void **state)
{
	(void)state;
	struct cpu_snapshot c = user_cpu();
	c.cs = KCS;
	c.ss = SS16;
	c.esp = 0xc0a00100u;			/* upper half is not SP */
	c.eflags = 0x46;
	struct event ev = { .vector = 13, .has_error = 1, .error = 0x30, .eip = 0xc0100500u };
	struct delivery d;
	deliver_model(&c, &view, &ev, &d);
	assert_int_equal(d.status, DELIVERED);
	assert_int_equal(d.new_esp, 0xc0a00100u - 16);
	assert_int_equal(d.frame, STK16 + 0x100 - 16);
}

/*
 * 6.12.1 (interrupt from virtual-8086 mode): GS, FS, DS, ES are pushed
 * before SS and ESP, and VM is cleared.  The #GP is a fault: RF = 1 in
 * the pushed EFLAGS (17.3.1.1).
 */
static void vm86_pushes_data_segments(void **state)
{
	(void)state;
	struct cpu_snapshot c = user_cpu();
	c.eflags = 0x20202;			/* VM, IF */
	c.cs = 0x1000;
	c.ss = 0x1000;
	c.esp = 0xfff0;
	c.ds = 0x1111, c.es = 0x2222, c.fs = 0x3333, c.gs = 0x4444;
	struct event ev = { .vector = 13, .has_error = 1, .error = 0, .eip = 0x10 };
	struct delivery d;
	deliver_model(&c, &view, &ev, &d);
	assert_int_equal(d.status, DELIVERED);
	assert_int_equal(d.nwords, 10);
	uint32_t want[10] = { 0x4444, 0x3333, 0x1111, 0x2222, 0x1000, 0xfff0, 0x30202,
			      0x1000, 0x10, 0 };
	assert_memory_equal(d.words, want, sizeof(want));
	assert_true(d.vm86);
	assert_int_equal(d.new_eflags & ENTRYEMU_EFLAGS_VM, 0);
}

/*
 * 17.3.1.1, the RF flag in the pushed EFLAGS image, event by event:
 * "For any fault-class exception except a debug exception generated in
 * response to an instruction breakpoint, the value pushed for RF is 1
 * [...] For other cases, the value pushed for RF is the value that was
 * in EFLAG.RF at the time the event handler was called. This includes
 * [...] Hardware-generated interrupts arriving between instructions
 * [...] Trap-class exceptions generated after an instruction completes
 * [...] Software-generated interrupts (RF is pushed as 0, since it was
 * cleared at the start of the software interrupt)."  Table 6-1 gives
 * the class of each vector.
 */
static uint32_t pushed_flags(uint32_t eflags, struct event ev)
{
	struct cpu_snapshot c = user_cpu();
	c.eflags = eflags;
	gate(ev.vector, GATE_INTR32, 3, 0xc0100600u);
	struct delivery d;
	deliver_model(&c, &view, &ev, &d);
	assert_int_equal(d.status, DELIVERED);
	assert_int_equal(d.new_eflags & ENTRYEMU_EFLAGS_RF, 0);	/* 6.12.1.2 */
	return d.words[2];				/* SS, ESP, EFLAGS */
}

static void rf_in_pushed_eflags(void **state)
{
	(void)state;
	const uint32_t RF = ENTRYEMU_EFLAGS_RF;
	/* faults: RF = 1 whatever it was (#DE, #UD, #NP, #GP, #PF, #AC, #XM) */
	static const int faults[] = { 0, 5, 6, 7, 10, 11, 12, 13, 14, 16, 17, 19 };
	for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
		int v = faults[i];
		struct event ev = { .vector = v, .has_error = v >= 10 && v <= 14,
				    .eip = 0x08048000u };
		assert_int_equal(pushed_flags(0x202, ev), 0x202 | RF);
		assert_int_equal(pushed_flags(0x202 | RF, ev), 0x202 | RF);
	}
	/* a hardware interrupt and an NMI between instructions: RF as it was */
	struct event irq = { .vector = 0x20, .eip = 0x08048000u };
	assert_int_equal(pushed_flags(0x202, irq), 0x202);
	assert_int_equal(pushed_flags(0x202 | RF, irq), 0x202 | RF);
	struct event nmi = { .vector = 2, .eip = 0x08048000u };
	assert_int_equal(pushed_flags(0x202 | RF, nmi), 0x202 | RF);
	assert_int_equal(pushed_flags(0x202, nmi), 0x202);
	/* a single-step #DB is a trap after the instruction: RF as it was */
	struct event db = { .vector = 1, .eip = 0x08048001u };
	assert_int_equal(pushed_flags(0x302, db), 0x302);
	assert_int_equal(pushed_flags(0x302 | RF, db), 0x302 | RF);
	/* the aborts (#DF, #MC) are not faults either */
	struct event mc = { .vector = 18, .eip = 0x08048000u };
	assert_int_equal(pushed_flags(0x202, mc), 0x202);
	/* int n, int3, into: software-generated, RF pushed as 0 */
	for (int v = 3; v <= 4; v++) {
		struct event sw = { .vector = v, .software = 1, .eip = 0x08048001u };
		assert_int_equal(pushed_flags(0x202 | RF, sw), 0x202);
	}
	struct event int80 = { .vector = 0x80, .software = 1, .eip = 0x08048002u };
	assert_int_equal(pushed_flags(0x202 | RF, int80), 0x202);
}

/*
 * Virtual-8086 mode: only INT n is IOPL-sensitive.  SDM vol. 2A INT
 * n/INTO/INT3, Operation: "IF (VM = 1 and IOPL < 3 AND INT n) THEN
 * #GP(0)"; int3 and into with IOPL 0 go through their (DPL-3) gates.
 */
static void vm86_only_int_n_is_iopl_sensitive(void **state)
{
	(void)state;
	struct cpu_snapshot c = user_cpu();
	c.eflags = 0x20202;			/* VM, IF, IOPL 0 */
	c.cs = c.ss = 0x1000;
	c.esp = 0xfff0;
	gate(3, GATE_INTR32, 3, 0xc0100700u);
	gate(4, GATE_TRAP32, 3, 0xc0100800u);
	gate(0x21, GATE_TRAP32, 3, 0xc0100900u);
	struct delivery d;
	struct event int3 = { .vector = 3, .software = 1, .eip = 2 };
	deliver_model(&c, &view, &int3, &d);
	assert_int_equal(d.status, DELIVERED);
	assert_int_equal(d.new_eip, 0xc0100700u);
	assert_true(d.vm86);
	struct event into = { .vector = 4, .software = 1, .eip = 2 };
	deliver_model(&c, &view, &into, &d);
	assert_int_equal(d.status, DELIVERED);
	assert_int_equal(d.new_eip, 0xc0100800u);
	struct event intn = { .vector = 0x21, .software = 1, .int_n = 1, .eip = 3 };
	deliver_model(&c, &view, &intn, &d);
	assert_int_equal(d.status, FAULTED);
	assert_int_equal(d.nested.vector, VEC_GP);
	assert_int_equal(d.nested.error, 0);
	c.eflags |= 3u << 12;			/* IOPL 3: INT n goes through too */
	deliver_model(&c, &view, &intn, &d);
	assert_int_equal(d.status, DELIVERED);
	assert_int_equal(d.new_eip, 0xc0100900u);
}

/*
 * The checks below quote Intel SDM vol. 2A, INT n/INTO/INT3/INT1,
 * "Operation" (the pseudo-code the processor follows for interrupts and
 * exceptions alike; EXT is 1 for an event not caused by int n/int3/into).
 */

/* A descriptor at GDT offset sel with P = 0. */
static void put_not_present(uint16_t sel, unsigned type, unsigned dpl)
{
	uint32_t lo, hi;
	desc_make_seg(&lo, &hi, 0, 0xffffffff, type, 1, dpl, 1);
	put(GDT + (sel & ~7u), lo, hi & ~(1u << 15));
}

/* A gate for vec whose code segment is sel. */
static void gate_to(unsigned vec, uint16_t sel, unsigned type, unsigned dpl, uint32_t handler)
{
	uint32_t lo, hi;
	desc_make_gate(&lo, &hi, sel, handler, type, dpl);
	put(IDT + 8 * vec, lo, hi);
}

static struct delivery run_gp_from_user(void)
{
	struct cpu_snapshot c = user_cpu();
	struct event ev = { .vector = 13, .has_error = 1, .error = 0, .eip = 0x08048000u };
	struct delivery d;
	deliver_model(&c, &view, &ev, &d);
	return d;
}

/*
 * INTER-PRIVILEGE-LEVEL-INTERRUPT: "IF new stack segment not present
 * THEN #SS(error_code(NewSS,0,EXT))": #SS, not #TS, with EXT set for an
 * exception and clear for int n.
 */
static void ss0_not_present_is_ss(void **state)
{
	(void)state;
	put_not_present(0xe0, 0x3, 0);
	uint32_t ss0 = 0xe0;
	memcpy(mem + (TSS - BASE) + 8, &ss0, 4);
	struct delivery d = run_gp_from_user();
	assert_int_equal(d.status, FAULTED);
	assert_int_equal(d.nested.vector, VEC_SS);
	assert_int_equal(d.nested.error, 0xe0 + 1);
	struct cpu_snapshot c = user_cpu();
	struct event ev = { .vector = 0x80, .software = 1, .eip = 0x08048007u };
	deliver_model(&c, &view, &ev, &d);
	assert_int_equal(d.nested.vector, VEC_SS);
	assert_int_equal(d.nested.error, 0xe0);
}

/*
 * "IF NewSS.RPL != new code-segment DPL or new stack-segment DPL != new
 * code-segment DPL or new stack segment is not a writable data segment
 * THEN #TS(error_code(NewSS,0,EXT))": an SS0 with RPL 1, and one naming
 * a read-only data segment.
 */
static void ss0_rpl_and_type_are_ts(void **state)
{
	(void)state;
	uint32_t ss0 = KDS | 1;
	memcpy(mem + (TSS - BASE) + 8, &ss0, 4);
	struct delivery d = run_gp_from_user();
	assert_int_equal(d.status, FAULTED);
	assert_int_equal(d.nested.vector, VEC_TS);
	assert_int_equal(d.nested.error, KDS + 1);

	uint32_t lo, hi;
	desc_make_seg(&lo, &hi, 0, 0xffffffff, 0x1, 1, 0, 1);	/* read-only data */
	put(GDT + 0xe0, lo, hi);
	ss0 = 0xe0;
	memcpy(mem + (TSS - BASE) + 8, &ss0, 4);
	d = run_gp_from_user();
	assert_int_equal(d.status, FAULTED);
	assert_int_equal(d.nested.vector, VEC_TS);
	assert_int_equal(d.nested.error, 0xe0 + 1);
}

/*
 * "TSSstackAddress <- (new code-segment DPL << 3) + 4; IF
 * (TSSstackAddress + 5) > current TSS limit THEN
 * #TS(error_code(current TSS selector,0,EXT))": a TSS too short to hold
 * ss0 (limit 8 < 4 + 5), although the bytes beyond it hold a valid ss0.
 */
static void tss_too_short_is_ts(void **state)
{
	(void)state;
	struct cpu_snapshot c = user_cpu();
	c.tr.limit = 8;
	struct event ev = { .vector = 13, .has_error = 1, .error = 0, .eip = 0x08048000u };
	struct delivery d;
	deliver_model(&c, &view, &ev, &d);
	assert_int_equal(d.status, FAULTED);
	assert_int_equal(d.nested.vector, VEC_TS);
	assert_int_equal(d.nested.error, 0x80 + 1);
}

/*
 * "IF new code-segment DPL > CPL THEN #GP(error_code(new code-segment
 * selector,0,EXT))": a kernel-mode fault whose gate names a DPL-3 code
 * segment.
 */
static void target_cs_dpl_above_cpl_is_gp(void **state)
{
	(void)state;
	gate_to(14, UCS, GATE_INTR32, 0, 0x08048000u);
	struct cpu_snapshot c = user_cpu();
	c.cs = KCS;
	c.ss = KDS;
	c.esp = 0xc0a01f00u;
	struct event ev = { .vector = 14, .has_error = 1, .error = 2, .eip = 0xc0100400u };
	struct delivery d;
	deliver_model(&c, &view, &ev, &d);
	assert_int_equal(d.status, FAULTED);
	assert_int_equal(d.nested.vector, VEC_GP);
	assert_int_equal(d.nested.error, (UCS & 0xfffc) + 1);
}

/*
 * "IF new code-segment selector is NULL THEN #GP(EXT)": error code 1
 * for an exception; "IF new code segment is not present THEN
 * #NP(error_code(new code-segment selector,0,EXT))".
 */
static void gate_cs_null_and_not_present(void **state)
{
	(void)state;
	gate_to(13, 0, GATE_TRAP32, 0, 0xc0100100u);
	struct delivery d = run_gp_from_user();
	assert_int_equal(d.status, FAULTED);
	assert_int_equal(d.nested.vector, VEC_GP);
	assert_int_equal(d.nested.error, 1);

	put_not_present(0xe8, 0xB, 0);
	gate_to(13, 0xe8, GATE_TRAP32, 0, 0xc0100100u);
	d = run_gp_from_user();
	assert_int_equal(d.status, FAULTED);
	assert_int_equal(d.nested.vector, VEC_NP);
	assert_int_equal(d.nested.error, 0xe8 + 1);
}

/*
 * "IF new code segment is conforming or new code-segment DPL = CPL THEN
 * [...] GOTO INTRA-PRIVILEGE-LEVEL-INTERRUPT": a conforming DPL-0
 * handler segment keeps CPL 3 and the user's stack; EFLAGS, CS, EIP
 * only (6.12.1, "If the handler procedure is going to be executed at the
 * same privilege level", figure 6-4).
 */
static void conforming_handler_keeps_cpl(void **state)
{
	(void)state;
	uint32_t lo, hi;
	desc_make_seg(&lo, &hi, 0, 0xffffffff, 0xF, 1, 0, 1);	/* conforming code */
	put(GDT + 0xf0, lo, hi);
	gate_to(0x80, 0xf0, GATE_TRAP32, 3, 0xc0100000u);
	struct cpu_snapshot c = user_cpu();
	struct event ev = { .vector = 0x80, .software = 1, .eip = 0x08048007u };
	struct delivery d;
	deliver_model(&c, &view, &ev, &d);
	assert_int_equal(d.status, DELIVERED);
	assert_int_equal(d.new_cpl, 3);
	assert_int_equal(d.nwords, 3);
	assert_int_equal(d.new_ss, UDS);
	assert_int_equal(d.new_esp, 0xbfff0000u - 12);
}

/*
 * INTER-PRIVILEGE-LEVEL-INTERRUPT, after the pushes: "TF <- 0; VM <- 0;
 * RF <- 0; NT <- 0": NT set by the interrupted code is in the pushed
 * image (for IRET to restore) and clear in the handler.
 */
static void nt_is_cleared(void **state)
{
	(void)state;
	struct cpu_snapshot c = user_cpu();
	c.eflags = 0x202 | ENTRYEMU_EFLAGS_NT;
	struct event ev = { .vector = 0x80, .software = 1, .eip = 0x08048007u };
	struct delivery d;
	deliver_model(&c, &view, &ev, &d);
	assert_int_equal(d.status, DELIVERED);
	assert_int_equal(d.words[2], 0x202 | ENTRYEMU_EFLAGS_NT);
	assert_int_equal(d.new_eflags, 0x202);
}

/*
 * "IF ((vector_number << 3) + 7) is not within IDT limits THEN
 * #GP(error_code(vector_number,1,EXT))": what lies beyond the limit is
 * never read, even a valid gate; the last gate within it is used.
 */
static void idt_limit_is_exact(void **state)
{
	(void)state;
	gate(0x20, GATE_INTR32, 0, 0xc0100300u);
	gate(15, GATE_INTR32, 0, 0xc0100400u);
	struct cpu_snapshot c = user_cpu();
	c.idtr.limit = 0x7f;			/* gates 0-15 */
	struct event ev = { .vector = 0x20, .eip = 0x08048000u };
	struct delivery d;
	deliver_model(&c, &view, &ev, &d);
	assert_int_equal(d.status, FAULTED);
	assert_int_equal(d.nested.vector, VEC_GP);
	assert_int_equal(d.nested.error, 0x20 * 8 + 3);
	ev.vector = 15;
	deliver_model(&c, &view, &ev, &d);
	assert_int_equal(d.status, DELIVERED);
	assert_int_equal(d.new_eip, 0xc0100400u);
}

/*
 * Vol. 3 3.4.5, "Segment limit field [...] If the granularity flag is
 * set, the segment size can range from 4 KBytes to 4 GBytes, in 4-KByte
 * increments": G = 1 scales the 20-bit limit by 4 KiB, filling the low
 * 12 bits; G = 0 leaves it in bytes.
 */
static void descriptor_granularity(void **state)
{
	(void)state;
	struct desc d;
	uint32_t lo, hi;
	desc_make_seg(&lo, &hi, 0x12345678u, 0xffffffff, 0x3, 1, 3, 1);
	desc_decode(lo, hi, &d);
	assert_int_equal(d.g, 1);
	assert_int_equal(d.limit, 0xffffffffu);
	assert_int_equal(d.base, 0x12345678u);
	desc_decode(0x0000000f, 0x00c09300, &d);	/* limit 0xf pages */
	assert_int_equal(d.limit, 0xffffu);
	desc_make_seg(&lo, &hi, 0, 0x3ff, 0x3, 1, 0, 0);
	desc_decode(lo, hi, &d);
	assert_int_equal(d.limit, 0x3ffu);
}

/* The model reads only: memory is unchanged after any delivery. */
static void model_writes_nothing(void **state)
{
	(void)state;
	static uint8_t before[SIZE];
	memcpy(before, mem, SIZE);
	struct cpu_snapshot c = user_cpu();
	struct event ev = { .vector = 0x80, .software = 1, .eip = 0x08048007u };
	struct delivery d;
	deliver_model(&c, &view, &ev, &d);
	assert_memory_equal(before, mem, SIZE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(int80_from_ring3, setup),
		cmocka_unit_test_setup(int_through_kernel_gate_is_gp, setup),
		cmocka_unit_test_setup(missing_gate_is_np, setup),
		cmocka_unit_test_setup(beyond_idt_limit_is_gp, setup),
		cmocka_unit_test_setup(kernel_fault_same_privilege, setup),
		cmocka_unit_test_setup(null_ss0_is_ts, setup),
		cmocka_unit_test_setup(sixteen_bit_stack_moves_sp_only, setup),
		cmocka_unit_test_setup(vm86_pushes_data_segments, setup),
		cmocka_unit_test_setup(rf_in_pushed_eflags, setup),
		cmocka_unit_test_setup(vm86_only_int_n_is_iopl_sensitive, setup),
		cmocka_unit_test_setup(ss0_not_present_is_ss, setup),
		cmocka_unit_test_setup(ss0_rpl_and_type_are_ts, setup),
		cmocka_unit_test_setup(tss_too_short_is_ts, setup),
		cmocka_unit_test_setup(target_cs_dpl_above_cpl_is_gp, setup),
		cmocka_unit_test_setup(gate_cs_null_and_not_present, setup),
		cmocka_unit_test_setup(conforming_handler_keeps_cpl, setup),
		cmocka_unit_test_setup(nt_is_cleared, setup),
		cmocka_unit_test_setup(idt_limit_is_exact, setup),
		cmocka_unit_test_setup(descriptor_granularity, setup),
		cmocka_unit_test_setup(model_writes_nothing, setup),
		cmocka_unit_test_setup(kernel_fault_amd_keeps_rf, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
