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
 * and writes registers only (or pushes and pops them), traps into the
 * kernel, or jumps to the exit page; nor, with CS flat, the fetch of
 * one (the run checks that CS is the flat __USER_CS, run.c).  So code
 * made only of those is plain; anything else, a prefix included, is
 * not, and keeps the hook.
 *
 * The stack forms reach memory through SS at ESP: the run checks that
 * SS is the flat __USER_DS, and before each block that its pushes and
 * pops stay on memory the machine has (run.c; a page the page tables
 * refuse faults in the engine itself, at the instruction), and code
 * with stack forms may not write ESP otherwise (a MOV, an ALU form,
 * INC, DEC or XCHG with ESP as destination), or that check would not
 * hold.  The callee of a CALL and the target of a RET are blocks like
 * any other, looked at as they start.
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
 *   50-57 58-5b 5d-5f          PUSH r32, POP r32 but POP ESP
 *   6a ib, 68 id               PUSH imm8, imm32
 *   e8 rel32, c3               CALL rel32, RET
 *   cd ib                      INT imm8: into the kernel, which the
 *                              delivery model follows (an event); the
 *                              engine brings EIP and the flags up to
 *                              date before it raises one
 *   e9 rel32                   JMP to the exit page, as the loader
 *                              ends every program (machine.c)
 */
#include "cpu/plain_code.h"

#include <entryemu/entryemu.h>

/* How a plain stack form moves ESP: -4 for a push (PUSH r32, PUSH
 * imm8 or imm32, CALL rel32), +4 for a pop (POP r32, RET), 0 for the
 * rest.  (POP ESP, 5c, is no plain form.) */
static int stack_step(uint8_t op)
{
	if ((op >= 0x50 && op <= 0x57) || op == 0x6a || op == 0x68 || op == 0xe8)
		return -4;
	return (op >= 0x58 && op <= 0x5f) || op == 0xc3 ? 4 : 0;
}

static int alu_with_modrm(uint8_t op)
{
	return (op < 0x40 && (op & 7) < 4) || (op >= 0x84 && op <= 0x8b);
}

/*
 * Does the instruction at p (of the forms above) write ESP other than
 * as a push or pop does?  A register form's destination is ModRM.rm
 * when bit 1 of the opcode is clear and ModRM.reg when it is set (vol.
 * 2A 2.1.5, the "d" bit), 32 bits wide with bit 0 set; CMP and TEST
 * write nothing, XCHG both.  4 is ESP.
 */
static int writes_esp(const uint8_t *p, size_t n)
{
	uint8_t op = p[0];
	if (op == 0x44 || op == 0x4c || op == 0x94 || op == 0xbc)	/* INC, DEC, XCHG, MOV */
		return 1;
	if (n < 2)
		return 0;
	unsigned reg = (p[1] >> 3) & 7, rm = p[1] & 7;
	if (alu_with_modrm(op))
		return (op & 1) && op != 0x39 && op != 0x3b && op != 0x85 &&
		       ((op == 0x87 && (reg == 4 || rm == 4)) || ((op & 2) ? reg : rm) == 4);
	if (op == 0x81 || op == 0x83)
		return rm == 4 && reg != 7;
	return 0;
}

int plain_user_code(const uint8_t *code, size_t len, uint32_t base, uint64_t *starts,
		    size_t nwords)
{
	if (len > nwords * 64)
		return 0;
	for (size_t w = 0; w < nwords; w++)
		starts[w] = 0;
	size_t at = 0;
	int stack = 0, esp = 0;
	while (at < len) {
		uint8_t op = code[at];
		size_t n = 0, left = len - at;
		if (op != 0x5c && stack_step(op))
			n = op == 0x6a ? 2 : op == 0x68 || op == 0xe8 ? 5 : 1, stack = 1;
		else if (alu_with_modrm(op))
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
		esp |= writes_esp(code + at, n);
		starts[at / 64] |= 1ull << (at % 64);
		at += n;
	}
	return stack ? (esp ? 0 : PLAIN_CODE | PLAIN_STACK) : PLAIN_CODE;
}

void plain_stack_reach(const uint8_t *code, const uint64_t *starts, size_t from, size_t to,
		       int32_t *lo, int32_t *hi)
{
	int32_t pos = 0;	/* ESP from the one at from, bytes */
	*lo = *hi = 0;
	for (size_t off = from; off < to; off++) {
		int step = plain_starts_at(starts, off) ? stack_step(code[off]) : 0;
		if (!step)
			continue;
		pos += step < 0 ? step : 0;	/* a push writes at the new ESP */
		*lo = pos < *lo ? pos : *lo;
		*hi = pos + 4 > *hi ? pos + 4 : *hi;
		pos += step > 0 ? step : 0;	/* a pop reads at ESP, then moves up */
	}
}
