/*
 * The user-access checker: kernel code touches user memory only where
 * it is ready to fault, and never through a user pointer it has not
 * checked.
 *
 * i386 Linux reads and writes user memory from kernel mode only at
 * instructions listed in __ex_table (get_user, copy_from_user, the
 * sysenter path's load of the sixth argument): a user address may be
 * unmapped, and the fixup turns the fault into -EFAULT.  Any other
 * kernel instruction that reaches below PAGE_OFFSET oopses on the first
 * bad pointer a user hands it.  And an __ex_table'd access must be given
 * a pointer checked first: access_ok(), or in entry.S `cmpl
 * $__PAGE_OFFSET-3,%ebp; jae syscall_fault` before `movl (%ebp),%ebp`,
 * keeps the whole access below PAGE_OFFSET.  The fixup does not cover
 * the other case: kernel memory is mapped, so a pointer at or above
 * PAGE_OFFSET reads it without a fault, for the user to see.
 *
 * The image's instructions that take their data address from a register
 * or a segment override were found at open (image/accesses.c); before
 * each one runs, its operands' linear addresses are computed from the
 * registers as they are then (cpu/fault.c: segment base, base, index,
 * scale, displacement), and
 *  - an instruction with no __ex_table entry must not start an access
 *    below PAGE_OFFSET;
 *  - an instruction with one must not reach PAGE_OFFSET or above.
 * The image's code always runs at CPL 0 (its pages are supervisor-only);
 * the kernel's C functions are the library's callouts, not image code,
 * and their user copies check the range themselves (kernel/defaults.c).
 * Not looked at: the kernel stack's accesses (%esp-relative operands and
 * push, pop, call, ret, iret), which the stack and segments checkers
 * watch, and the CPU's own reads of descriptor tables.
 */
#include "run/checks.h"

void uaccess_check(struct checks *k, const struct image_access *a, const uint32_t *lins)
{
	for (int i = 0; i < a->nops; i++) {
		const cs_x86_op *op = &a->op[i];
		uint32_t lin = lins[i];
		uint64_t end = (uint64_t)lin + (op->size ? op->size : 1);
		if (!a->extable && lin < PAGE_OFFSET) {
			if (checks_once(k, ENTRYEMU_CHECK_UACCESS, a->insn))
				checks_finding(k, ENTRYEMU_CHECK_UACCESS, a->insn, "kernel access "
					       "to user address 0x%08x (%u bytes) from an "
					       "instruction with no __ex_table entry", lin, op->size);
			return;
		}
		if (a->extable && end > PAGE_OFFSET) {
			if (checks_once(k, ENTRYEMU_CHECK_UACCESS, a->insn))
				checks_finding(k, ENTRYEMU_CHECK_UACCESS, a->insn, "user access "
					       "at 0x%08x (%u bytes) reaches PAGE_OFFSET: the "
					       "pointer was not checked against it first", lin,
					       op->size);
			return;
		}
	}
}
