/*
 * One meaning for each name.  A symbol of the vsyscall page is the
 * address user code runs it at: the kernel maps the page at 0xffffe000
 * with __kernel_vsyscall at 0xffffe400 and SYSENTER_RETURN at 0xffffe410,
 * the address 2.6 oopses and backtraces show for it (arch/i386/kernel/
 * vsyscall-sysenter.S, vsyscall.lds).  Scenarios, reports and traces
 * name and resolve the same address.  User-code labels given to the
 * handle name places in user code.
 */
#include "support.h"

#define USER_CODE 0x08048000u		/* ENTRYEMU_USER_CODE, where ELF code starts */

static void vsyscall_symbols_mean_their_runtime_address(void **state)
{
	entryemu *m = *state;
	char sym[128];
	assert_int_equal(entryemu_symbol(m, "SYSENTER_RETURN"), 0xffffe410u);
	assert_int_equal(entryemu_symbol(m, "__kernel_vsyscall"), 0xffffe400u);
	assert_string_equal(entryemu_symbolize(m, 0xffffe400u, sym, sizeof(sym)),
			    "__kernel_vsyscall");
	assert_string_equal(entryemu_symbolize(m, 0xffffe405u, sym, sizeof(sym)),
			    "__kernel_vsyscall+0x5");
	assert_string_equal(entryemu_symbolize(m, 0xffffe410u, sym, sizeof(sym)),
			    "SYSENTER_RETURN");
	assert_string_equal(entryemu_symbolize(m, 0xffffe411u, sym, sizeof(sym)),
			    "SYSENTER_RETURN+0x1");
	/* a kernel symbol keeps its link address, and names it back */
	uint32_t sc = entryemu_symbol(m, "system_call");
	assert_true(sc >= 0xc0000000u);
	assert_string_equal(entryemu_symbolize(m, sc, sym, sizeof(sym)), "system_call");
}

static void user_labels_name_user_code(void **state)
{
	entryemu *m = *state;
	char sym[128];
	const struct entryemu_label l[] = { { "start", USER_CODE }, { "fault", USER_CODE + 7 } };
	assert_int_equal(entryemu_set_labels(m, l, 2), 0);
	assert_string_equal(entryemu_symbolize(m, USER_CODE + 2, sym, sizeof(sym)), "start+0x2");
	assert_string_equal(entryemu_symbolize(m, USER_CODE + 7, sym, sizeof(sym)), "fault");
	assert_string_equal(entryemu_symbolize(m, USER_CODE + 9, sym, sizeof(sym)), "fault+0x2");
	assert_int_equal(entryemu_set_labels(m, NULL, 0), 0);
	assert_string_equal(entryemu_symbolize(m, USER_CODE + 7, sym, sizeof(sym)), "user+0x7");
	assert_int_equal(entryemu_set_labels(m, NULL, 1), ENTRYEMU_E_INVAL);
}

/*
 * A name cut to the buffer as snprintf cuts it (len - 1 characters and
 * the terminator), and an offset in lowercase hexadecimal without
 * padding, however many digits it takes.
 */
static void names_are_cut_to_the_buffer(void **state)
{
	entryemu *m = *state;
	char sym[128];
	const struct entryemu_label l[] = { { "start", USER_CODE } };
	assert_int_equal(entryemu_set_labels(m, l, 1), 0);
	assert_string_equal(entryemu_symbolize(m, USER_CODE + 0xabcd, sym, sizeof(sym)),
			    "start+0xabcd");
	assert_string_equal(entryemu_symbolize(m, USER_CODE + 0x10, sym, 9), "start+0x");
	assert_string_equal(entryemu_symbolize(m, USER_CODE + 0x10, sym, 4), "sta");
	assert_string_equal(entryemu_symbolize(m, USER_CODE, sym, 1), "");
	assert_int_equal(entryemu_set_labels(m, NULL, 0), 0);
	uint32_t sc = entryemu_symbol(m, "system_call");
	assert_string_equal(entryemu_symbolize(m, sc + 0x1f, sym, 16), "system_call+0x1");
}

/* Marks place each record in the trace: the int $0x80 is followed by its
 * delivery and the ring switch, the callout by its return value. */
static void marks_follow_the_instruction_they_come_after(void **state)
{
	entryemu *m = *state;
	static const uint8_t code[] = { 0xb8, NR_GETPID, 0, 0, 0,	/* mov $20, %eax */
					0xcd, 0x80 };			/* int $0x80 */
	struct entryemu_setup s = { .pid = 42, .flags = ENTRYEMU_RUN_TRACE };
	entryemu_result *r = new_result();
	run_code(m, &s, code, sizeof(code), r);
	assert_outcome(r, ENTRYEMU_DONE);
	size_t n = 0;
	const uint32_t *t = entryemu_result_trace(r, &n);
	const struct entryemu_mark *k = entryemu_result_mark(r, 0);
	assert_non_null(k);
	assert_int_equal(k->kind, ENTRYEMU_MARK_EVENT);
	assert_int_equal(k->after, 2);		/* after mov and int */
	assert_int_equal(t[1], USER_CODE + 5);
	assert_int_equal(must_event(r, k->record)->to_cpl, 0);
	int returned = 0, ring3 = 0;
	for (size_t i = 0; i < entryemu_result_nmarks(r); i++) {
		k = entryemu_result_mark(r, i);
		assert_true(k->after <= n);
		if (k->kind == ENTRYEMU_MARK_RETURNED &&
		    !strcmp(must_callout(r, k->record)->name, "sys_getpid")) {
			assert_int_equal(k->value, 42);
			returned = 1;
		}
		if (k->kind == ENTRYEMU_MARK_RING3) {
			/* after the iret: the next instruction is the user's */
			assert_int_equal(t[k->after], must_return(r, k->record)->eip);
			ring3 = 1;
		}
	}
	assert_true(returned && ring3);
}

/*
 * AT&T text as GNU objdump -d prints it (binutils' conventions): the size
 * suffix only where no register and no instruction fixes the size,
 * immediates and displacements in hex, no blank after a comma, and an
 * immediate Capstone shows negative as the operand's bits.
 */
static void disassembly_reads_like_objdump(void **state)
{
	entryemu *m = *state;
	static const uint8_t code[] = {
		0x9c,					/* 0: pushf */
		0x6a, 0xff,				/* 1: push $0xffffffff */
		0xff, 0x74, 0x24, 0x04,			/* 3: push 0x4(%esp) */
		0xc7, 0x04, 0x24, 0x06, 0, 0, 0,	/* 7: movl $0x6,(%esp) */
		0x8e, 0xea,				/* 14: mov %edx,%gs */
		0x83, 0xc4, 0x0c,			/* 16: add $0xc,%esp */
	};
	static const struct { unsigned off; const char *text; } want[] = {
		{ 0, "pushf" }, { 1, "push   $0xffffffff" }, { 3, "push   0x4(%esp)" },
		{ 7, "movl   $0x6,(%esp)" }, { 14, "mov    %edx,%gs" }, { 16, "add    $0xc,%esp" },
	};
	struct entryemu_setup s = { 0 };
	entryemu_result *r = new_result();
	run_code(m, &s, code, sizeof(code), r);
	assert_outcome(r, ENTRYEMU_DONE);
	assert_int_equal(entryemu_set_syntax(m, ENTRYEMU_SYNTAX_ATT), 0);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		char line[256];
		assert_true(entryemu_disasm(m, USER_CODE + want[i].off, line, sizeof(line)) > 0);
		/* the instruction column: after the place and the bytes */
		const char *text = strlen(line) > 66 ? line + 66 : "";
		if (strcmp(text, want[i].text))
			fail_msg("at +%u: \"%s\", expected \"%s\"", want[i].off, text, want[i].text);
	}
}

/*
 * Code that ran in virtual-8086 mode reads as 16-bit code (SDM vol. 2B
 * MOV: B8+rw iw is "mov $imm16,%r16"; vol. 2A JMP: EB cb, a rel8 from
 * the next instruction), its lengths too; a direct jump's target is
 * named by its linear address, as the line's own address is.
 */
static void vm86_code_reads_as_16bit_code(void **state)
{
	entryemu *m = *state;
	static const uint8_t code[] = {
		0xb8, 0x01, 0x00,	/* 0: mov $0x1,%ax */
		0xeb, 0x00,		/* 3: jmp 5 */
		0xcc,			/* 5: int3 */
	};
	static const struct { unsigned off; const char *text; int size; } want[] = {
		{ 0, "mov    $0x1,%ax", 3 }, { 3, "jmp    10005 <0x00010005>", 2 },
	};
	struct entryemu_setup s = { .vm86 = 1 };
	entryemu_result *r = new_result();
	run_code(m, &s, code, sizeof(code), r);
	assert_int_equal(must_event(r, 0)->vector, 3);
	assert_int_equal(entryemu_set_syntax(m, ENTRYEMU_SYNTAX_ATT), 0);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		char line[256];
		int size = entryemu_disasm(m, ENTRYEMU_VM86_MEM + want[i].off, line, sizeof(line));
		const char *text = strlen(line) > 66 ? line + 66 : "";
		if (size != want[i].size || strcmp(text, want[i].text))
			fail_msg("at +%u: \"%s\" (%d bytes), expected \"%s\" (%d)", want[i].off,
				 text, size, want[i].text, want[i].size);
	}
	/* the text a scenario's name/text place is matched against, too */
	char text[64];
	assert_int_equal(entryemu_insn_text(m, ENTRYEMU_VM86_MEM, ENTRYEMU_SYNTAX_INTEL, text,
					    sizeof(text)), 0);
	assert_string_equal(text, "mov ax, 1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(vsyscall_symbols_mean_their_runtime_address),
		cmocka_unit_test(user_labels_name_user_code),
		cmocka_unit_test(names_are_cut_to_the_buffer),
		cmocka_unit_test(marks_follow_the_instruction_they_come_after),
		cmocka_unit_test(disassembly_reads_like_objdump),
		cmocka_unit_test(vm86_code_reads_as_16bit_code),
	};
	return cmocka_run_group_tests(tests, setup_post_image, close_image);
}
