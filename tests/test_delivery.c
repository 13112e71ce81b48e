/*
 * The delivery model alone, against the SDM vol. 3 ch. 6 rules.  Gates
 * are encoded here from the manual's gate format (figure 6-2), not with
 * the library's helpers.
 */
#include "support.h"

#define GATE_INTR 0xe
#define GATE_TRAP 0xf

static struct entryemu_desc_edit gate(entryemu *m, unsigned vec, const char *handler,
				      unsigned type, unsigned dpl, unsigned present)
{
	uint32_t off = entryemu_symbol(m, handler);
	assert_true(off != 0);
	struct entryemu_desc_edit e = {
		.table = ENTRYEMU_IDT,
		.index = vec,
		.lo = ((uint32_t)ENTRYEMU_KERNEL_CS << 16) | (off & 0xffff),
		.hi = (off & 0xffff0000) | (present << 15) | (dpl << 13) | (type << 8),
	};
	return e;
}

/* movl $20,%eax ; int $0x80 */
static const uint8_t int80[] = { 0xb8, 0x14, 0, 0, 0, 0xcd, 0x80 };
#define INT_ADDR (ENTRYEMU_USER_CODE + 5)
#define USER_ESP 0xbfffd000u

/* int n through a gate with DPL < CPL: #GP(vector * 8 + 2), a fault at the int */
static void test_int80_through_dpl0_gate_is_gp_0x402(void **state)
{
	entryemu *m = *state;
	struct entryemu_desc_edit g = gate(m, 0x80, "system_call", GATE_TRAP, 0, 1);
	struct entryemu_setup s = { 0 };
	s.edits = &g;
	s.nedits = 1;
	s.user.esp = USER_ESP;
	entryemu_result *r = new_result();
	run_code(m, &s, int80, sizeof(int80), r);

	assert_true(entryemu_result_nevents(r) >= 1);
	const struct entryemu_event_record *e = must_event(r, 0);
	assert_int_equal(e->vector, 13);
	assert_false(e->software);
	assert_true(e->has_error_code);
	assert_int_equal(e->error_code, 0x402);
	assert_int_equal(e->eip, INT_ADDR);
	assert_int_equal(e->from_cpl, 3);
	assert_int_equal(e->handler, entryemu_symbol(m, "general_protection"));
	/* stack switch to ss0:esp0, then SS, ESP, EFLAGS, CS, EIP, error code */
	assert_int_equal(e->frame, entryemu_esp0(m) - 6 * 4);
	const struct entryemu_callout_record *c = must_call(r, "do_general_protection");
	assert_int_equal(c->edx, 0x402);
	assert_int_equal(c->regs.eip, INT_ADDR);
	assert_int_equal(c->regs.xcs & 0xffff, ENTRYEMU_USER_CS);
	/*
	 * The #GP is a fault: SDM vol. 3 17.3.1.1, "For any fault-class
	 * exception except a debug exception generated in response to an
	 * instruction breakpoint, the value pushed for RF is 1" (this test
	 * used to expect 0x202, the model's output, not the manual's).
	 */
	assert_int_equal(c->regs.eflags, 0x10202);
	assert_int_equal(c->regs.esp, USER_ESP);
	assert_int_equal(c->regs.xss & 0xffff, ENTRYEMU_USER_DS);
	assert_int_equal(c->pt_regs_addr + 0x40, entryemu_esp0(m));
	/* the hardware frame as it stands in memory: EIP, CS, EFLAGS, ESP, SS */
	uint32_t w[5];
	assert_int_equal(entryemu_mem_read(m, e->frame + 4, w, sizeof(w)), 0);
	assert_int_equal(w[0], INT_ADDR);
	assert_int_equal(w[1], ENTRYEMU_USER_CS);
	assert_int_equal(w[2], 0x10202);
	assert_int_equal(w[3], USER_ESP);
	assert_int_equal(w[4], ENTRYEMU_USER_DS);
	/* the kernel sends SIGSEGV for a user-mode #GP; nobody handles it */
	assert_outcome(r, ENTRYEMU_KILLED);
	assert_int_equal(entryemu_result_signal(r), SIGSEGV);
	assert_null(entryemu_result_find_callout(r, "sys_getpid", 1));
}

/* The stock gate: the five-word frame at esp0, EIP after the int. */
static void test_int80_frame_lands_at_esp0(void **state)
{
	entryemu *m = *state;
	struct entryemu_setup s = { 0 };
	s.user.esp = USER_ESP;
	s.user.eflags = 0x246;
	entryemu_result *r = new_result();
	run_code(m, &s, int80, sizeof(int80), r);
	assert_outcome(r, ENTRYEMU_DONE);
	const struct entryemu_event_record *e = must_event(r, 0);
	assert_int_equal(e->vector, 0x80);
	assert_true(e->software);
	assert_false(e->has_error_code);
	assert_int_equal(e->eip, INT_ADDR + 2);
	assert_int_equal(e->frame, entryemu_esp0(m) - 5 * 4);
	assert_int_equal(e->handler, entryemu_symbol(m, "system_call"));
	/* esp0 is THREAD_SIZE above thread_info less copy_thread's 8 bytes */
	assert_int_equal(entryemu_esp0(m), entryemu_thread_info(m) + THREAD_SIZE - 8);
}

/* Through an interrupt gate IF is clear in the handler; a trap gate keeps it. */
static void test_interrupt_gate_clears_if(void **state)
{
	entryemu *m = *state;
	struct entryemu_desc_edit g = gate(m, 0x80, "system_call", GATE_INTR, 3, 1);
	struct entryemu_setup s = { 0 };
	s.edits = &g;
	s.nedits = 1;
	s.user.eflags = 0x202;
	entryemu_result *r = new_result();
	run_code(m, &s, int80, sizeof(int80), r);
	assert_outcome(r, ENTRYEMU_DONE);
	assert_false(must_call(r, "sys_getpid")->eflags & ENTRYEMU_EFLAGS_IF);
	assert_true(must_return(r, 0)->eflags & ENTRYEMU_EFLAGS_IF);	/* iret restores it */
	s.nedits = 0;
	run_code(m, &s, int80, sizeof(int80), r);
	assert_true(must_call(r, "sys_getpid")->eflags & ENTRYEMU_EFLAGS_IF);
}

/* A gate that is not present: #NP(vector * 8 + 2). */
static void test_not_present_gate_is_np(void **state)
{
	entryemu *m = *state;
	struct entryemu_desc_edit g = gate(m, 0x80, "system_call", GATE_TRAP, 3, 0);
	struct entryemu_setup s = { 0 };
	s.edits = &g;
	s.nedits = 1;
	entryemu_result *r = new_result();
	run_code(m, &s, int80, sizeof(int80), r);
	assert_true(entryemu_result_nevents(r) >= 1);
	assert_int_equal(must_event(r, 0)->vector, 11);
	assert_int_equal(must_event(r, 0)->error_code, 0x402);
	assert_int_equal(must_event(r, 0)->eip, INT_ADDR);
	assert_non_null(entryemu_result_find_callout(r, "do_segment_not_present", 1));
	assert_outcome(r, ENTRYEMU_KILLED);
}

/* A selector the CPU would refuse is refused in the setup, naming the field. */
static void test_bad_user_selector_is_refused(void **state)
{
	entryemu *m = *state;
	struct entryemu_setup s = { 0 };
	s.user.gs = TLS_SEL(6);		/* TLS entry 6 is empty */
	entryemu_result *r = new_result();
	s.code = int80;
	s.code_len = sizeof(int80);
	assert_int_equal(entryemu_run(m, &s, r), ENTRYEMU_E_INVAL);
	assert_non_null(strstr(entryemu_last_error(m), "user.gs"));
	s.user.gs = 0;
	s.user.eflags = 0x20202;	/* VM */
	assert_int_equal(entryemu_run(m, &s, r), ENTRYEMU_E_INVAL);
	assert_non_null(strstr(entryemu_last_error(m), "eflags"));
	s.user.eflags = 0;
	s.cpu = 2;			/* neither Intel nor AMD */
	assert_int_equal(entryemu_run(m, &s, r), ENTRYEMU_E_INVAL);
	assert_non_null(strstr(entryemu_last_error(m), "cpu"));
}

/*
 * From virtual-8086 mode (SDM vol. 3 6.12.1, figure 6-5): the frame on the
 * ring-0 stack is ES, DS, FS, GS above SS, ESP, EFLAGS, CS, EIP, and the
 * handler runs with DS, ES, FS, GS null.
 */
static void test_vm86_frame(void **state)
{
	entryemu *m = *state;
	static const uint8_t code[] = { 0x90, 0x90, 0xf4 };	/* nop; nop; hlt */
	struct entryemu_inject irq = { .kind = ENTRYEMU_INJECT_IRQ, .vector = 4,
				       .at = ENTRYEMU_VM86_MEM + 1 };
	struct entryemu_setup s = { 0 };
	s.vm86 = 1;
	s.user.ds = 0x2000;
	s.user.es = 0x3000;
	s.user.fs = 0x4000;
	s.user.gs = 0x5000;
	s.injects = &irq;
	s.ninjects = 1;
	entryemu_result *r = new_result();
	run_code(m, &s, code, sizeof(code), r);
	assert_int_equal(entryemu_result_nevents(r), 2);
	const struct entryemu_event_record *e = must_event(r, 0);
	assert_int_equal(e->vector, 0x24);
	assert_int_equal(e->from_cpl, 3);
	assert_int_equal(e->eip, 1);
	/* the IRQ's frame, as the handler saw it */
	const struct entryemu_callout_record *irq_c = must_call(r, "do_IRQ");
	assert_int_equal(irq_c->regs.eip, 1);
	assert_int_equal(irq_c->regs.xcs & 0xffff, 0x1000);
	assert_true(irq_c->regs.eflags & ENTRYEMU_EFLAGS_VM);
	assert_int_equal(irq_c->regs.esp, 0xfff0);
	assert_int_equal(irq_c->regs.xss & 0xffff, 0x1000);
	/*
	 * The last frame in memory is the #GP's (it overwrote the IRQ's):
	 * error code, EIP, CS, EFLAGS, ESP, SS, then ES, DS, FS, GS, which
	 * the iret back into vm86 mode had restored.
	 */
	uint32_t w[10];
	assert_int_equal(entryemu_mem_read(m, must_event(r, 1)->frame, w, sizeof(w)), 0);
	/* w[0], the error code's slot, is orig_eax: error_code stored -1 */
	assert_int_equal(w[1], 2);			/* EIP: the hlt */
	assert_int_equal(w[2], 0x1000);			/* CS */
	assert_true(w[3] & ENTRYEMU_EFLAGS_VM);		/* EFLAGS with VM */
	assert_int_equal(w[4], 0xfff0);			/* ESP */
	assert_int_equal(w[5], 0x1000);			/* SS */
	assert_int_equal(w[6], 0x3000);			/* ES */
	assert_int_equal(w[7], 0x2000);			/* DS */
	assert_int_equal(w[8], 0x4000);			/* FS */
	assert_int_equal(w[9], 0x5000);			/* GS */
	const struct entryemu_callout_record *c = must_call(r, "do_IRQ");
	assert_int_equal(c->fs, 0);			/* nulled by the delivery */
	assert_int_equal(c->regs.xds & 0xffff, 0);	/* SAVE_ALL saw null DS/ES */
	assert_int_equal(c->regs.xes & 0xffff, 0);
	/* back in vm86 mode, hlt is privileged: #GP(0), a fault at the hlt */
	assert_int_equal(must_event(r, 1)->vector, 13);
	assert_int_equal(must_event(r, 1)->error_code, 0);
	assert_int_equal(must_event(r, 1)->eip, 2);
	assert_int_equal(must_event(r, 1)->from_cpl, 3);
	/* the kernel's vm86 monitor would take it from there */
	assert_outcome(r, ENTRYEMU_UNSUPPORTED);
	assert_non_null(strstr(entryemu_result_message(r), "handle_vm86_fault"));
}

/*
 * Privileged instructions at CPL 3 fault with #GP(0) at the instruction.
 * SDM vol. 2, MOV (to/from control registers) and MOV (to/from debug
 * registers), "Protected Mode Exceptions": "#GP(0) If the current
 * privilege level is not 0"; CLTS, LMSW, WBINVD, INVLPG and HLT list the
 * same (vol. 3 5.9, "Privileged Instructions").  2.6.18's
 * do_general_protection sends SIGSEGV for a user-mode #GP.  (MOV to or
 * from CR/DR used to end `unsupported`: the error code was not derived.)
 */
static void test_privileged_insns_at_cpl3_are_gp0(void **state)
{
	entryemu *m = *state;
	static const struct { const char *what; uint8_t code[4]; size_t len; } insns[] = {
		{ "movl %cr0,%eax", { 0x0f, 0x20, 0xc0 }, 3 },
		{ "movl %eax,%cr0", { 0x0f, 0x22, 0xc0 }, 3 },
		{ "movl %cr3,%eax", { 0x0f, 0x20, 0xd8 }, 3 },
		{ "movl %cr4,%eax", { 0x0f, 0x20, 0xe0 }, 3 },
		{ "movl %db7,%eax", { 0x0f, 0x21, 0xf8 }, 3 },
		{ "movl %eax,%db7", { 0x0f, 0x23, 0xf8 }, 3 },
		{ "movl %db0,%ecx", { 0x0f, 0x21, 0xc1 }, 3 },
		{ "clts", { 0x0f, 0x06 }, 2 },
		{ "lmsw %ax", { 0x0f, 0x01, 0xf0 }, 3 },
		{ "wbinvd", { 0x0f, 0x09 }, 2 },
		{ "invlpg (%eax)", { 0x0f, 0x01, 0x38 }, 3 },
		{ "hlt", { 0xf4 }, 1 },
	};
	entryemu_result *r = new_result();
	for (size_t i = 0; i < sizeof(insns) / sizeof(insns[0]); i++) {
		/* nop; the instruction */
		uint8_t code[8] = { 0x90 };
		memcpy(code + 1, insns[i].code, insns[i].len);
		struct entryemu_setup s = { 0 };
		s.user.eax = ENTRYEMU_USER_CODE;
		run_code(m, &s, code, 1 + insns[i].len, r);
		if (entryemu_result_outcome(r) != ENTRYEMU_KILLED || entryemu_result_nevents(r) != 1)
			fail_msg("%s: %s (%s), %zu events", insns[i].what,
				 entryemu_outcome_name(entryemu_result_outcome(r)),
				 entryemu_result_message(r), entryemu_result_nevents(r));
		const struct entryemu_event_record *e = must_event(r, 0);
		assert_int_equal(e->vector, 13);
		assert_true(e->has_error_code);
		assert_int_equal(e->error_code, 0);
		assert_int_equal(e->eip, ENTRYEMU_USER_CODE + 1);
		assert_int_equal(entryemu_result_signal(r), SIGSEGV);
	}
}

/* How many entries of a run's trace are addr. */
static size_t traced_at(const entryemu_result *r, uint32_t addr)
{
	size_t n = 0, k = 0;
	const uint32_t *t = entryemu_result_trace(r, &n);
	for (size_t i = 0; t && i < n; i++)
		k += t[i] == addr;
	return k;
}

/*
 * An IRQ taken before an instruction that then faults.  RDPMC at CPL 3
 * with CR4.PCE clear is #GP(0) (SDM vol. 2B RDPMC); with an IRQ due
 * after the NOP before it, the CPU takes the IRQ at the RDPMC's boundary,
 * returns to it with IRET, and runs it once: it faults once.  The IRQ's
 * entry, handler and exit add their instructions to the run's count and
 * to its trace alike, and the RDPMC is in each trace once (the code has
 * no loop).  The engine ran on from the handler in the hook's start and
 * stopped only after the RDPMC's hooks; the library traced it twice and
 * counted the rest of its block, never run, on top.
 */
static void test_irq_before_a_faulting_insn_counts_it_once(void **state)
{
	entryemu *m = *state;
	static const uint8_t code[] = { 0x90, 0x0f, 0x33, 0x90, 0x90, 0x90 };	/* nop; rdpmc; nop x3 */
	entryemu_result *plain = new_result(), *r = new_result();
	struct entryemu_setup s = { 0 };
	s.flags = ENTRYEMU_RUN_TRACE;
	run_code(m, &s, code, sizeof(code), plain);
	struct entryemu_inject irq = { .kind = ENTRYEMU_INJECT_IRQ, .vector = 0, .after = 1 };
	s.injects = &irq;
	s.ninjects = 1;
	run_code(m, &s, code, sizeof(code), r);
	assert_int_equal(entryemu_result_nevents(plain), 1);
	assert_int_equal(entryemu_result_nevents(r), 2);
	assert_int_equal(must_event(r, 0)->vector, 0x20);
	assert_int_equal(must_event(r, 0)->eip, ENTRYEMU_USER_CODE + 1);
	for (int k = 0; k < 2; k++) {
		const entryemu_result *x = k ? r : plain;
		const struct entryemu_event_record *gp = must_event(x, entryemu_result_nevents(x) - 1);
		assert_int_equal(gp->vector, 13);
		assert_int_equal(gp->eip, ENTRYEMU_USER_CODE + 1);
		assert_int_equal(entryemu_result_signal(x), SIGSEGV);
		assert_int_equal(traced_at(x, ENTRYEMU_USER_CODE + 1), 1);
		assert_int_equal(traced_at(x, ENTRYEMU_USER_CODE + 3), 0);	/* never ran */
	}
	size_t n_plain = 0, n = 0;
	(void)entryemu_result_trace(plain, &n_plain);
	(void)entryemu_result_trace(r, &n);
	assert_int_equal(entryemu_result_insns(r) - entryemu_result_insns(plain), n - n_plain);
}

/*
 * A fault the library finds before the instruction runs, as the engine
 * does not: with CR0.TS set an x87 instruction raises #NM, a fault at
 * it (SDM vol. 3A 2.5, CR0.TS; vol. 3A 6.15, interrupt 7).  The trace
 * lists the instruction before the event, as it lists one at which the
 * engine raises a fault, and the event's trace index is that entry.
 * math_state_restore clears TS and the IRET runs it again: it is listed
 * twice, once per attempt.
 */
static void test_a_fault_the_model_finds_is_traced(void **state)
{
	entryemu *m = *state;
	static const uint8_t code[] = { 0xdb, 0xe3 };	/* fninit */
	entryemu_result *r = new_result();
	struct entryemu_setup s = { 0 };
	s.flags = ENTRYEMU_RUN_TRACE;
	s.cr0_set = 8;			/* TS */
	run_code(m, &s, code, sizeof(code), r);
	assert_outcome(r, ENTRYEMU_DONE);
	const struct entryemu_event_record *e = must_event(r, 0);
	assert_int_equal(e->vector, 7);
	assert_int_equal(e->eip, ENTRYEMU_USER_CODE);
	size_t n = 0;
	const uint32_t *t = entryemu_result_trace(r, &n);
	assert_true(e->trace_index < n);
	assert_int_equal(t[e->trace_index], ENTRYEMU_USER_CODE);
	assert_int_equal(traced_at(r, ENTRYEMU_USER_CODE), 2);
}

/*
 * A run is the same every time on one handle.  Here the block after a
 * jump holds a read through a CS override, which has the library look
 * at every user instruction from that block on: it stops the engine at
 * the block's start to do so.  On a second run the engine, with the
 * blocks translated, goes from the jump's block straight into that one,
 * EIP still at the jump: resumed from EIP, the jump ran twice.
 */
static void test_a_watched_block_after_a_jump_runs_the_same_again(void **state)
{
	entryemu *m = *state;
	static const uint8_t code[] = {
		0x90,					/* nop */
		0x71, 0x00,				/* jno to the next instruction */
		0xb8, 0x00, 0x00, 0x06, 0x08,		/* movl $0x08060000,%eax */
		0x2e, 0xf6, 0x00, 0x01,			/* testb $1,%cs:(%eax): a read */
		0xb8, 0x14, 0x00, 0x00, 0x00,		/* movl $20,%eax */
		0xcd, 0x80,				/* int $0x80 */
	};
	entryemu_result *r[3] = { new_result(), new_result(), new_result() };
	struct entryemu_setup s = { 0 };
	s.flags = ENTRYEMU_RUN_TRACE;
	for (int k = 0; k < 3; k++) {
		run_code(m, &s, code, sizeof(code), r[k]);
		assert_outcome(r[k], ENTRYEMU_DONE);
		assert_int_equal(traced_at(r[k], ENTRYEMU_USER_CODE + 1), 1);	/* the jno */
	}
	size_t n0 = 0, n = 0;
	const uint32_t *t0 = entryemu_result_trace(r[0], &n0);
	for (int k = 1; k < 3; k++) {
		const uint32_t *t = entryemu_result_trace(r[k], &n);
		assert_int_equal(entryemu_result_insns(r[k]), entryemu_result_insns(r[0]));
		assert_int_equal(n, n0);
		assert_memory_equal(t, t0, n * sizeof(*t));
	}
}

/*
 * ENTRYEMU_RUN_SHORT_NEW_BLOCKS changes where the engine's blocks of new
 * code end, and nothing a run reports: twenty NOPs and a getpid (past
 * the first stop, three instructions in, and the next, six further),
 * then the same with an IRQ due among them, run on fresh code with the
 * flag and without; traced, and not: untraced, the IRQ's run has one
 * hook over every instruction, whose calls the flag has the engine
 * translate the other way (engine_inline_hook_calls).
 */
static void test_short_new_blocks_give_the_same_run(void **state)
{
	entryemu *m = *state;
	uint8_t code[27];
	for (int i = 0; i < 20; i++)
		code[i] = 0x90;				/* nop */
	const uint8_t tail[] = { 0xb8, 0x14, 0x00, 0x00, 0x00, 0xcd, 0x80 };	/* getpid */
	for (size_t i = 0; i < sizeof(tail); i++)
		code[20 + i] = tail[i];
	struct entryemu_inject irq = { .kind = ENTRYEMU_INJECT_IRQ, .vector = 2, .after = 7 };
	for (int traced = 0; traced < 2; traced++)
		for (int with_irq = 0; with_irq < 2; with_irq++) {
			entryemu_result *r[2] = { new_result(), new_result() };
			for (int k = 0; k < 2; k++) {
				struct entryemu_setup s = { 0 };
				s.flags = (traced ? ENTRYEMU_RUN_TRACE : 0) |
					  (k ? ENTRYEMU_RUN_SHORT_NEW_BLOCKS : 0);
				s.injects = with_irq ? &irq : NULL;
				s.ninjects = (unsigned)with_irq;
				/* new code for each: nop, then xchg %ecx,%eax */
				code[0] = (uint8_t)(0x90 + k);
				run_code(m, &s, code, sizeof(code), r[k]);
				assert_outcome(r[k], ENTRYEMU_DONE);
			}
			size_t n0 = 0, n1 = 0;
			const uint32_t *t0 = entryemu_result_trace(r[0], &n0);
			const uint32_t *t1 = entryemu_result_trace(r[1], &n1);
			assert_int_equal(entryemu_result_insns(r[1]), entryemu_result_insns(r[0]));
			assert_int_equal(n1, n0);
			assert_memory_equal(t1, t0, n0 * sizeof(*t0));
			assert_int_equal(entryemu_result_nevents(r[1]), entryemu_result_nevents(r[0]));
			/*
			 * the IRQ after seven instructions, before the eighth
			 * (a NOP, IF = 1: SDM vol. 3 6.8.1), vector 0x20 + 2,
			 * then the int $0x80
			 */
			assert_int_equal(entryemu_result_nevents(r[0]), 1 + (size_t)with_irq);
			if (with_irq) {
				assert_int_equal(entryemu_result_event(r[0], 0)->vector, 0x22);
				assert_int_equal(entryemu_result_event(r[0], 0)->eip,
						 ENTRYEMU_USER_CODE + 7);
			}
			assert_int_equal(entryemu_result_event(r[0], (size_t)with_irq)->vector, 0x80);
			for (size_t i = 0; i < entryemu_result_nevents(r[0]); i++) {
				assert_int_equal(entryemu_result_event(r[1], i)->vector,
						 entryemu_result_event(r[0], i)->vector);
				assert_int_equal(entryemu_result_event(r[1], i)->eip,
						 entryemu_result_event(r[0], i)->eip);
			}
			assert_int_equal(entryemu_result_final(r[1])->eax,
					 entryemu_result_final(r[0])->eax);
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_int80_through_dpl0_gate_is_gp_0x402),
		cmocka_unit_test(test_int80_frame_lands_at_esp0),
		cmocka_unit_test(test_interrupt_gate_clears_if),
		cmocka_unit_test(test_not_present_gate_is_np),
		cmocka_unit_test(test_bad_user_selector_is_refused),
		cmocka_unit_test(test_vm86_frame),
		cmocka_unit_test(test_privileged_insns_at_cpl3_are_gp0),
		cmocka_unit_test(test_irq_before_a_faulting_insn_counts_it_once),
		cmocka_unit_test(test_a_fault_the_model_finds_is_traced),
		cmocka_unit_test(test_a_watched_block_after_a_jump_runs_the_same_again),
		cmocka_unit_test(test_short_new_blocks_give_the_same_run),
	};
	return cmocka_run_group_tests(tests, setup_post_image, close_image);
}
