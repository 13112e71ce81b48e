/*
 * Plain user code (register forms, INT, the jmp to the exit page:
 * src/cpu/plain_code.c) runs without the hook before each user
 * instruction.  Where a run leaves it, the hook's work must be done all
 * the same, as in a run of code that keeps the hook throughout: each
 * test runs a plain program and its twin with one instruction in a form
 * that is not plain (66 90, XCHG %AX,%AX: one instruction, like the NOP
 * it stands for), and the two must agree with each other and with the
 * manual.
 *
 * The RDTSC reads are the witnesses: the library serves RDTSC at CPL 3
 * from the run's instruction count (docs/fidelity.md, test_tsc.c); run
 * by the engine without the hook it would read the host's counter,
 * whose value is some 10^12 and differs from run to run.
 */
#include "support.h"

#include <string.h>

#define NR_GETPID 20
/* user code then the data page: what a callout writes there runs */
#define DATA ENTRYEMU_USER_DATA

static void put_rel32(uint8_t *p, uint32_t from_next, uint32_t to)
{
	uint32_t rel = to - from_next;
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(rel >> (8 * i));
}

/* getpid answers and sends the return to DATA, where it writes
 * rdtsc ; mov %eax,%esi ; mov %edx,%edi ; jmp <exit page> */
static void getpid_returns_to_data(entryemu_call *call, void *opaque)
{
	(void)opaque;
	entryemu *m = entryemu_call_machine(call);
	uint8_t code[11] = { 0x0f, 0x31, 0x89, 0xc6, 0x89, 0xd7, 0xe9 };
	put_rel32(code + 7, DATA + sizeof(code), ENTRYEMU_USER_EXIT);
	assert_int_equal(entryemu_mem_write(m, DATA, code, sizeof(code)), 0);
	struct entryemu_pt_regs p;
	assert_int_equal(entryemu_call_read_pt_regs(call, &p), 0);
	p.eip = DATA;
	assert_int_equal(entryemu_call_write_pt_regs(call, &p), 0);
	entryemu_call_return(call, 1234);
}

/* getpid answers and writes rdtsc over the two NOPs its INT returns to */
static void getpid_writes_rdtsc_after_itself(entryemu_call *call, void *opaque)
{
	(void)opaque;
	entryemu *m = entryemu_call_machine(call);
	struct entryemu_pt_regs p;
	assert_int_equal(entryemu_call_read_pt_regs(call, &p), 0);
	static const uint8_t rdtsc[] = { 0x0f, 0x31 };
	assert_int_equal(entryemu_mem_write(m, p.eip, rdtsc, sizeof(rdtsc)), 0);
	entryemu_call_return(call, 1234);
}

/* nop (or xchg %ax,%ax) ; movl $20,%eax ; int $0x80 ; nop ; nop ;
 * mov %eax,%esi ; mov %edx,%edi */
static const uint8_t plain_getpid[] = { 0x90, 0xb8, 0x14, 0, 0, 0, 0xcd, 0x80,
					0x90, 0x90, 0x89, 0xc6, 0x89, 0xd7 };
static const uint8_t hooked_getpid[] = { 0x66, 0x90, 0xb8, 0x14, 0, 0, 0, 0xcd, 0x80,
					 0x90, 0x90, 0x89, 0xc6, 0x89, 0xd7 };

/* The TSC the run's RDTSC read (EDI:ESI), on a machine of its own, whose
 * code and data pages have run nothing before. */
static uint64_t tsc_read(const uint8_t *code, size_t len, entryemu_callout_fn getpid,
			 uint64_t *insns)
{
	entryemu *m = open_image(ENTRYEMU_POST_PATCH);
	entryemu_result *r = new_result();
	assert_int_equal(entryemu_set_syscall(m, NR_GETPID, getpid, NULL), 0);
	struct entryemu_setup s = { 0 };
	run_code(m, &s, code, len, r);
	assert_outcome(r, ENTRYEMU_DONE);
	const struct entryemu_regs *f = final_regs(r);
	*insns = entryemu_result_insns(r);
	entryemu_close(m);
	return (uint64_t)f->edi << 32 | f->esi;
}

/* The plain program and its twin, getpid served by getpid: both read
 * the model's counter, alike. */
static void assert_both_read_the_model(entryemu_callout_fn getpid)
{
	uint64_t n_plain, n_hooked;
	uint64_t plain = tsc_read(plain_getpid, sizeof(plain_getpid), getpid, &n_plain);
	uint64_t hooked = tsc_read(hooked_getpid, sizeof(hooked_getpid), getpid, &n_hooked);
	assert_int_equal(n_plain, n_hooked);
	assert_int_equal(plain, hooked);
	/* the run's count, not the host's clock: fewer than the run's instructions */
	assert_true(plain > 0 && plain < n_plain);
}

static void test_a_return_to_other_code_gets_the_hook(void **state)
{
	(void)state;
	assert_both_read_the_model(getpid_returns_to_data);
}

static void test_plain_code_the_kernel_wrote_over_gets_the_hook(void **state)
{
	(void)state;
	assert_both_read_the_model(getpid_writes_rdtsc_after_itself);
}

/*
 * A budget that runs out inside plain code stops the run after exactly
 * that many instructions: k INCs of EAX from 0 leave EAX = k (SDM vol.
 * 2A INC: DEST := DEST + 1), EIP at the next one.
 */
static void test_the_budget_ends_exactly_inside_plain_code(void **state)
{
	entryemu *m = *state;
	/* eight INC %EAX, then a twin's 66 90 or a NOP, then getpid */
	uint8_t plain[16] = { 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40,
			      0x90, 0xb8, 0x14, 0, 0, 0, 0xcd, 0x80 };
	uint8_t hooked[17] = { 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40,
			       0x66, 0x90, 0xb8, 0x14, 0, 0, 0, 0xcd, 0x80 };
	for (uint64_t k = 1; k <= 8; k++)
		for (int twin = 0; twin < 2; twin++)
			for (int again = 0; again < 2; again++) {	/* translated, then warm */
				entryemu_result *r = new_result();
				struct entryemu_setup s = { 0 };
				s.insn_budget = k;
				if (twin)
					run_code(m, &s, hooked, sizeof(hooked), r);
				else
					run_code(m, &s, plain, sizeof(plain), r);
				assert_outcome(r, ENTRYEMU_BUDGET);
				assert_int_equal(entryemu_result_insns(r), k);
				const struct entryemu_regs *f = final_regs(r);
				assert_int_equal(f->eax, k);
				assert_int_equal(f->eip, ENTRYEMU_USER_CODE + (uint32_t)k);
			}
}

/* A plain getpid round trip returns what the syscall returned, as the
 * hooked one does, warm and cold. */
static void test_plain_and_hooked_round_trips_agree(void **state)
{
	entryemu *m = *state;
	entryemu_reset_callouts(m);
	for (int i = 0; i < 3; i++) {
		entryemu_result *a = new_result(), *b = new_result();
		struct entryemu_setup s = { 0 };
		run_code(m, &s, plain_getpid, sizeof(plain_getpid), a);
		run_code(m, &s, hooked_getpid, sizeof(hooked_getpid), b);
		assert_outcome(a, ENTRYEMU_DONE);
		assert_outcome(b, ENTRYEMU_DONE);
		assert_int_equal(entryemu_result_insns(a), entryemu_result_insns(b));
		assert_int_equal(entryemu_result_nreturns(a), 1);
		assert_int_equal(entryemu_result_nreturns(b), 1);
		const struct entryemu_regs *u = must_return(a, 0), *v = must_return(b, 0);
		assert_int_equal(u->eax, v->eax);
		assert_int_equal(u->eip, ENTRYEMU_USER_CODE + 8);	/* after the INT */
		assert_int_equal(v->eip, ENTRYEMU_USER_CODE + 9);
		assert_int_equal(entryemu_result_nfindings(a), 0);
	}
}

/*
 * Plain code's pushes are checked against memory as each block starts;
 * code that also moves ESP otherwise is not plain.  push %eax ; mov
 * %ebx,%esp ; push %eax, with EBX at memory the machine does not have:
 * the second push raises #PF there (SDM vol. 3 4.7: error code 6, a
 * write from user mode to a page not present), with EIP at it, in both
 * twins.
 */
static void test_a_push_after_esp_moved_faults_at_itself(void **state)
{
	entryemu *m = *state;
	entryemu_reset_callouts(m);
	static const uint8_t plain[] = { 0x50, 0x89, 0xdc, 0x50, 0x90, 0xcd, 0x80 };
	static const uint8_t hooked[] = { 0x50, 0x89, 0xdc, 0x50, 0x66, 0x90, 0xcd, 0x80 };
	for (int twin = 0; twin < 2; twin++) {
		entryemu_result *r = new_result();
		struct entryemu_setup s = { 0 };
		s.user.ebx = 0x40000000u;
		if (twin)
			run_code(m, &s, hooked, sizeof(hooked), r);
		else
			run_code(m, &s, plain, sizeof(plain), r);
		const struct entryemu_event_record *e = must_event(r, 0);
		assert_int_equal(e->vector, 14);
		assert_int_equal(e->error_code, 6);
		assert_int_equal(e->eip, ENTRYEMU_USER_CODE + 3);
		assert_int_equal(e->from_cpl, 3);
	}
}

/*
 * Pushes are plain only through a flat __USER_DS.  With its limit cut
 * below the stack (GDT entry 15: base 0, limit 0xbffee in pages, so the
 * last byte is 0xbffeefff), the push after the system call, once the
 * kernel's IRET has loaded SS from that descriptor, writes at
 * 0xbffefffc, past it: #SS(0) at the push (SDM vol. 3 6.15, interrupt
 * 12: a limit violation by an operation that refers to SS), in both
 * twins.
 */
static void test_pushes_through_a_cut_stack_segment_fault(void **state)
{
	entryemu *m = *state;
	entryemu_reset_callouts(m);
	/* nop (or xchg %ax,%ax) ; movl $20,%eax ; int $0x80 ; push %eax */
	static const uint8_t plain[] = { 0x90, 0xb8, 0x14, 0, 0, 0, 0xcd, 0x80, 0x50 };
	static const uint8_t hooked[] = { 0x66, 0x90, 0xb8, 0x14, 0, 0, 0, 0xcd, 0x80, 0x50 };
	/* P, DPL 3, S, type 3 (data, read/write, accessed), D/B and G */
	struct entryemu_desc_edit cut = { .table = ENTRYEMU_GDT, .index = 15,
					   .lo = 0x0000ffeeu, .hi = 0x00cbf300u };
	for (int twin = 0; twin < 2; twin++) {
		entryemu_result *r = new_result();
		struct entryemu_setup s = { 0 };
		s.edits = &cut;
		s.nedits = 1;
		if (twin)
			run_code(m, &s, hooked, sizeof(hooked), r);
		else
			run_code(m, &s, plain, sizeof(plain), r);
		size_t n = entryemu_result_nevents(r);
		assert_true(n >= 2);
		const struct entryemu_event_record *e = must_event(r, n - 1);
		assert_int_equal(e->vector, 12);
		assert_int_equal(e->has_error_code, 1);
		assert_int_equal(e->error_code, 0);
		assert_int_equal(e->eip, ENTRYEMU_USER_CODE + 8 + (uint32_t)twin);
	}
}

/*
 * Random plain programs (register forms, immediates, INC/DEC, XCHG,
 * flag instructions, pushes, pops, CALL and RET, INT n, getpid and
 * other system calls) with random registers, ESP (on the stack, at its
 * end, anywhere), EFLAGS (TF among them) and budgets: each run as it is,
 * without the user hook, and traced, which keeps the hook on every
 * user instruction, must end alike in everything the result holds.
 * (SYSENTER, which the programs hold now and then, was plain at
 * first: its event's EIP came out one instruction early without the
 * hook, plain_code.c.)
 */
static uint64_t rng = 88172645463325252ull;

static uint32_t next_random(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

static size_t random_plain(uint8_t *c)
{
	static const uint8_t alu[] = { 0x01, 0x03, 0x09, 0x0b, 0x11, 0x13, 0x19, 0x1b, 0x21, 0x23,
				       0x29, 0x2b, 0x31, 0x33, 0x39, 0x3b, 0x85, 0x87, 0x89, 0x8b };
	static const uint8_t one[] = { 0x90, 0x91, 0x92, 0x93, 0x95, 0x96, 0x97,
				       0xf5, 0xf8, 0xf9, 0xfc, 0xfd };
	size_t n = 0;
	for (unsigned i = 0, k = 1 + next_random() % 12; i < k; i++) {
		uint32_t v;
		switch (next_random() % 11) {
		case 9:		/* a push or pop */
			c[n++] = (uint8_t)(0x50 + next_random() % 16);
			if (c[n - 1] == 0x5c)
				c[n - 1] = 0x6a, c[n++] = (uint8_t)next_random();	/* push $imm8 */
			break;
		case 10:	/* call the next instruction, or ret */
			if (next_random() % 4) {
				c[n++] = 0xe8;
				for (int b = 0; b < 4; b++)
					c[n++] = 0;
			} else {
				c[n++] = 0xc3;
			}
			break;
		case 0:		/* mov $imm32, r32 */
			c[n++] = (uint8_t)(0xb8 + next_random() % 8);
			v = next_random() % 4 ? next_random() % 400 : next_random();
			memcpy(c + n, &v, 4);
			n += 4;
			break;
		case 1:		/* ALU, TEST, XCHG, MOV between registers */
			c[n++] = alu[next_random() % sizeof(alu)];
			c[n++] = (uint8_t)(0xc0 | (next_random() & 0x3f));
			break;
		case 2:		/* ALU r32, imm8 */
			c[n++] = 0x83;
			c[n++] = (uint8_t)(0xc0 | (next_random() & 0x3f));
			c[n++] = (uint8_t)next_random();
			break;
		case 3:		/* INC, DEC */
			c[n++] = (uint8_t)(0x40 + next_random() % 16);
			break;
		case 4:		/* NOP, XCHG with EAX, the flag instructions */
			c[n++] = one[next_random() % sizeof(one)];
			break;
		case 5:
		case 6:		/* a system call, getpid most often */
			c[n++] = 0xb8;
			v = next_random() % 3 ? 20 : next_random() % 330;
			memcpy(c + n, &v, 4);
			n += 4;
			c[n++] = 0xcd;
			c[n++] = 0x80;
			break;
		case 7:		/* INT n; now and then SYSENTER, which makes code not plain */
			if (next_random() % 3 == 0) {
				c[n++] = 0x0f;
				c[n++] = 0x34;
				break;
			}
			c[n++] = 0xcd;
			c[n++] = (uint8_t)(next_random() % 4 ? 0x80 : next_random());
			break;
		default:	/* mov $imm8, r8 */
			c[n++] = (uint8_t)(0xb0 + next_random() % 8);
			c[n++] = (uint8_t)next_random();
			break;
		}
	}
	return n;
}

static void assert_same_regs(const struct entryemu_regs *a, const struct entryemu_regs *b)
{
	assert_memory_equal(a, b, sizeof(*a));
}

static void assert_same_run(const entryemu_result *a, const entryemu_result *b)
{
	assert_int_equal(entryemu_result_outcome(a), entryemu_result_outcome(b));
	assert_string_equal(entryemu_result_message(a), entryemu_result_message(b));
	assert_int_equal(entryemu_result_insns(a), entryemu_result_insns(b));
	assert_same_regs(final_regs(a), final_regs(b));
	assert_int_equal(entryemu_result_nevents(a), entryemu_result_nevents(b));
	for (size_t i = 0; i < entryemu_result_nevents(a); i++) {
		const struct entryemu_event_record *x = entryemu_result_event(a, i);
		const struct entryemu_event_record *y = entryemu_result_event(b, i);
		assert_int_equal(x->vector, y->vector);
		assert_int_equal(x->eip, y->eip);
		assert_int_equal(x->error_code, y->error_code);
		assert_int_equal(x->frame, y->frame);
	}
	assert_int_equal(entryemu_result_nreturns(a), entryemu_result_nreturns(b));
	for (size_t i = 0; i < entryemu_result_nreturns(a); i++)
		assert_same_regs(entryemu_result_return(a, i), entryemu_result_return(b, i));
	assert_int_equal(entryemu_result_ncallouts(a), entryemu_result_ncallouts(b));
	for (size_t i = 0; i < entryemu_result_ncallouts(a); i++)
		assert_string_equal(entryemu_result_callout(a, i)->name,
				    entryemu_result_callout(b, i)->name);
	assert_int_equal(entryemu_result_nfindings(a), entryemu_result_nfindings(b));
}

static void test_random_plain_programs_run_as_with_the_hook(void **state)
{
	entryemu *m = *state;
	entryemu_reset_callouts(m);
	entryemu_result *a = new_result(), *b = new_result();
	for (int i = 0; i < 1500; i++) {
		uint8_t code[128];
		size_t len = random_plain(code);
		struct entryemu_setup s = { 0 };
		s.user.ebx = next_random() % 2 ? next_random() : 0;
		s.user.ecx = next_random() % 2 ? next_random() : 0;
		s.user.edx = next_random();
		s.user.esi = next_random();
		s.user.ebp = next_random() % 2 ? ENTRYEMU_USER_STACK_TOP - 64 : next_random();
		/* the stack: as it starts, a few pushes from its end, or anywhere */
		switch (next_random() % 4) {
		case 1:
			s.user.esp = ENTRYEMU_USER_STACK_TOP - ENTRYEMU_USER_STACK_SIZE +
				     4 * (next_random() % 4);
			break;
		case 2:
			s.user.esp = next_random();
			break;
		default:
			break;
		}
		s.user.eflags = 0x202u | (next_random() % 8 ? 0 : ENTRYEMU_EFLAGS_TF) |
				(next_random() & 0x8d5u);
		s.insn_budget = next_random() % 3 ? 0 : 1 + next_random() % 300;
		run_code(m, &s, code, len, a);
		s.flags = ENTRYEMU_RUN_TRACE;
		run_code(m, &s, code, len, b);
		assert_same_run(a, b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_return_to_other_code_gets_the_hook),
		cmocka_unit_test(test_plain_code_the_kernel_wrote_over_gets_the_hook),
		cmocka_unit_test(test_the_budget_ends_exactly_inside_plain_code),
		cmocka_unit_test(test_plain_and_hooked_round_trips_agree),
		cmocka_unit_test(test_a_push_after_esp_moved_faults_at_itself),
		cmocka_unit_test(test_pushes_through_a_cut_stack_segment_fault),
		cmocka_unit_test(test_random_plain_programs_run_as_with_the_hook),
	};
	return cmocka_run_group_tests(tests, setup_post_image, close_image);
}
