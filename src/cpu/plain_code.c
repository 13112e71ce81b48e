/*
 * Plain user code: code each of whose instructions leaves nothing for
 * the hook before every user instruction (run.c's user_hook) to do, so
 * that its pages may run without that hook.  The hook's checks are for
 * what Unicorn 2.0.1 gets wrong or leaves out at CPL 3: a fetch past
 * CS's limit or a near transfer out of it (cs_limit.c), RDTSC under
 * the model's clock (tsc.c), far transfers and IRET to vm86 mode
 * (fault.c, iret_vm.c), the flags of RCL/RCR through memory (deliver.c),
 * and a data access that faults, whose instruction the hook's last look
 * names (deliver.c).  None of them concerns an instruction that reads
 * and writes registers only, traps into the kernel, or jumps to the
 * exit page; nor, with CS flat, the fetch of one (the run checks that
 * CS is the flat __USER_CS, run.c).  So code made only of those is
 * plain; anything else, a prefix included, is not, and keeps the hook.
 * SYSENTER is not: Unicorn 2.0.1 calls the sysenter hook with EIP and
 * the flags as the last hooked instruction left them (its translation
 * of SYSENTER brings neither up to date), and the delivery reads both.
 *
 * The forms, by their opcode (SDM vol. 2, appendix A, one-byte map),
 * each register-only where it has a ModRM (mod = 11b: no memory
 * operand, vol. 2A 2.1.5):
 *
 *   00-03 08-0b 10-13 18-1b 20-23 28-2b 30-33 38-3b  ALU r/m, r and r, r/m
 *   84-8b                      TEST, XCHG, MOV r/m, r and r, r/m
 *   80 81 83                   ALU r/m, imm (imm8, imm32, imm8)
 *   40-4f                      INC, DEC r32
 *   90-97                      NOP, XCHG EAX, r32
 *   b0-bf                      MOV r, imm (imm8, then imm32)
 *   f5 f8 f9 fc fd             CMC, CLC, STC, CLD, STD
 *   cd ib                      INT imm8: into the kernel, which the
 *                              delivery model follows (an event); the
 *                              engine brings EIP and the flags up to
 *                              date before it raises one
 *   e9 rel32                   JMP to the exit page, as the loader
 *                              ends every program (machine.c)
 */
#include "cpu/plain_code.h"

#include <entryemu/entryemu.h>

static int alu_with_modrm(uint8_t op)
{
	return (op < 0x40 && (op & 7) < 4) || (op >= 0x84 && op <= 0x8b);
}

int plain_user_code(const uint8_t *code, size_t len, uint32_t base, uint64_t *starts,
		    size_t nwords)
{
	if (len > nwords * 64)
		return 0;
	for (size_t w = 0; w < nwords; w++)
		starts[w] = 0;
	size_t at = 0;
	while (at < len) {
		uint8_t op = code[at];
		size_t n = 0, left = len - at;
		if (alu_with_modrm(op))
			n = left >= 2 && code[at + 1] >= 0xc0 ? 2 : 0;
		else if (op == 0x80 || op == 0x83)
			n = left >= 3 && code[at + 1] >= 0xc0 ? 3 : 0;
		else if (op == 0x81)
			n = left >= 6 && code[at + 1] >= 0xc0 ? 6 : 0;
		else if ((op >= 0x40 && op <= 0x4f) || (op >= 0x90 && op <= 0x97) || op == 0xf5 ||
			 op == 0xf8 || op == 0xf9 || op == 0xfc || op == 0xfd)
			n = 1;
		else if (op >= 0xb0 && op <= 0xb7)
			n = 2;
		else if (op >= 0xb8 && op <= 0xbf)
			n = 5;
		else if (op == 0xcd)
			n = 2;
		else if (op == 0xe9 && left == 5) {
			int32_t rel = (int32_t)((uint32_t)code[at + 1] | (uint32_t)code[at + 2] << 8 |
						(uint32_t)code[at + 3] << 16 |
						(uint32_t)code[at + 4] << 24);
			n = base + (uint32_t)(at + 5) + (uint32_t)rel == ENTRYEMU_USER_EXIT ? 5 : 0;
		}
		if (!n || n > left)
			return 0;
		starts[at / 64] |= 1ull << (at % 64);
		at += n;
	}
	return 1;
}
