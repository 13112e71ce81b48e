/*
 * The bounds checker: every indexed read of a table the image gives a
 * size stays inside the table.
 *
 * sys_call_table is the table that matters.  Each way into a system
 * call (system_call, sysenter_past_esp, syscall_trace_entry after
 * ptrace had its say) compares the number with nr_syscalls, the table's
 * size over 4, and only then runs `call *sys_call_table(,%eax,4)`.  A
 * check that is off by one (`ja` for `jae`) or compares with the wrong
 * bound calls through whatever word follows the table, with no fault to
 * show for it.
 *
 * Which tables have a size, and how it is given, is image/tables.c's
 * business (an ELF st_size, or a STEM_size companion such as
 * syscall_table_size).  Which instructions index one was found at open
 * (image/accesses.c): a memory operand with a base or an index register
 * whose displacement is the table's address.  Before each of them runs,
 * the operand's linear address and size, from the registers as they
 * are then, must lie within [table, table + size).
 */
#include "run/checks.h"

void bounds_check(struct checks *k, const struct image_access *a, const uint32_t *lins)
{
	const struct image_table *t = a->table;
	for (int i = 0; i < a->nops; i++) {
		const cs_x86_op *op = &a->op[i];
		if ((uint32_t)op->mem.disp != t->addr)
			continue;
		uint32_t lin = lins[i];
		uint64_t end = (uint64_t)lin + (op->size ? op->size : 1);
		if (lin >= t->addr && end <= (uint64_t)t->addr + t->size)
			continue;
		if (checks_once(k, ENTRYEMU_CHECK_BOUNDS, a->insn)) {
			int64_t off = (int64_t)lin - (int64_t)t->addr;
			checks_finding(k, ENTRYEMU_CHECK_BOUNDS, a->insn, "read of %s at offset "
				       "%lld (%u bytes): outside its %u bytes (%s)", t->name,
				       (long long)off, op->size, t->size, t->size_from);
		}
		return;
	}
}
