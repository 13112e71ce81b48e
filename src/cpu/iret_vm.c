/*
 * IRET at CPL > 0 leaves EFLAGS.VM alone: only at CPL 0 does a popped
 * VM = 1 return to virtual-8086 mode (SDM vol. 2A IRET, "IF tempEFLAGS(VM)
 * = 1 and CPL = 0 THEN GOTO RETURN-TO-VIRTUAL-8086-MODE ELSE GOTO
 * PROTECTED-MODE-RETURN"; the return at CPL 3 does not change VM).
 * Unicorn 2.0.1 (QEMU's helper_ret_protected) goes to virtual-8086 mode
 * whatever the CPL: user code could enter vm86 mode by itself, and the
 * kernel then met a vm86 frame it never set up.
 *
 * So before a 32-bit IRET at CPL 3 (in 32-bit code, or with a 66 prefix
 * in a 16-bit code segment) whose popped EFLAGS image has VM set,
 * the image on the stack is shown to the engine with VM clear, and the
 * engine performs the protected-mode return the manual describes.  The
 * bit is put back before anything else runs (the next block, a delivery
 * or the end of the run), so the stack holds what the program wrote.
 */
#include "cpu/cpu.h"
#include "cpu/fault.h"

#define EFLAGS_VM_BYTE	0x02u	/* VM is bit 17: bit 1 of the image's third byte */

void iret_vm_hide(struct entryemu *m, uint32_t addr)
{
	/* before every user instruction: the first byte rules out most */
	const uint8_t *p = machine_ptr(m, addr, 1);
	if (!p || !(fault_legacy_prefix(p[0]) || p[0] == 0xcf))
		return;
	size_t n = machine_avail(m, addr, 15), at = 0;
	int o16 = 0;
	while (at < n && at < 14 && fault_legacy_prefix(p[at]))
		o16 |= p[at++] == 0x66;
	/* IRETD: cf in 32-bit code, 66 cf in 16-bit code (the operand size) */
	if (at >= n || p[at] != 0xcf || o16 != machine_cs_16(m))
		return;			/* IRET: a 16-bit image has no VM */
	uint32_t eflags = machine_reg(m, ER_EFLAGS);
	if ((eflags & (ENTRYEMU_EFLAGS_VM | ENTRYEMU_EFLAGS_NT)) || machine_cpl(m) == 0)
		return;			/* vm86's own IRET, a task return, or CPL 0 */
	uint32_t image = machine_stack_linear(m, 8) + 2;	/* EIP, CS, then EFLAGS */
	uint8_t *b = machine_ptr(m, image, 1);
	if (!b || !(*b & EFLAGS_VM_BYTE))
		return;
	machine_mark_dirty(m, image, 1);
	*b &= (uint8_t)~EFLAGS_VM_BYTE;
	m->cpu->vm_hidden = 1;
	m->cpu->vm_hidden_at = image;
}

void iret_vm_put_back(struct entryemu *m)
{
	uint8_t *b = machine_ptr(m, m->cpu->vm_hidden_at, 1);
	if (b)
		*b |= EFLAGS_VM_BYTE;
	m->cpu->vm_hidden = 0;
}
