/* Error codes of faults, derived from the faulting instruction. */
#include "cpu/cpu.h"
#include "cpu/desc.h"
#include "cpu/fault.h"
#include "cpu/insn_size.h"

#include <stdio.h>
#include <string.h>

int vector_has_error_code(int vector)
{
	switch (vector) {
	case VEC_DF: case VEC_TS: case VEC_NP: case VEC_SS: case VEC_GP:
	case VEC_PF: case VEC_AC:
		return 1;
	default:
		return 0;
	}
}

static int sreg_of(x86_reg r, enum sreg *out)
{
	switch (r) {
	case X86_REG_ES: *out = SREG_ES; return 0;
	case X86_REG_CS: *out = SREG_CS; return 0;
	case X86_REG_SS: *out = SREG_SS; return 0;
	case X86_REG_DS: *out = SREG_DS; return 0;
	case X86_REG_FS: *out = SREG_FS; return 0;
	case X86_REG_GS: *out = SREG_GS; return 0;
	default: return -1;
	}
}

static int engine_reg_of(x86_reg r)
{
	switch (r) {
	case X86_REG_EAX: return ER_EAX;
	case X86_REG_EBX: return ER_EBX;
	case X86_REG_ECX: return ER_ECX;
	case X86_REG_EDX: return ER_EDX;
	case X86_REG_ESI: return ER_ESI;
	case X86_REG_EDI: return ER_EDI;
	case X86_REG_EBP: return ER_EBP;
	case X86_REG_ESP: return ER_ESP;
	case X86_REG_AX: return ER_AX;
	case X86_REG_BX: return ER_BX;
	case X86_REG_CX: return ER_CX;
	case X86_REG_DX: return ER_DX;
	case X86_REG_SI: return ER_SI;
	case X86_REG_DI: return ER_DI;
	case X86_REG_BP: return ER_BP;
	case X86_REG_SP: return ER_SP;
	default: return -1;
	}
}

/*
 * The segment a memory operand goes through: its override prefix, else
 * SS for an ESP/EBP base, else DS (SDM vol. 1 3.7.4, "Specifying a
 * Segment Selector", table 3-5).
 */
static enum engine_reg operand_sreg(const cs_x86_op *op)
{
	switch (op->mem.segment) {
	case X86_REG_ES: return ER_ES;
	case X86_REG_CS: return ER_CS;
	case X86_REG_SS: return ER_SS;
	case X86_REG_DS: return ER_DS;
	case X86_REG_FS: return ER_FS;
	case X86_REG_GS: return ER_GS;
	default:
		return op->mem.base == X86_REG_ESP || op->mem.base == X86_REG_EBP ||
		       op->mem.base == X86_REG_SP || op->mem.base == X86_REG_BP ? ER_SS : ER_DS;
	}
}

/*
 * The base of the segment sel names, read from the descriptor it names
 * now: right unless the table changed since the register was loaded (the
 * hidden base is not exposed).  0 for a null or unreadable one.
 */
static uint32_t sel_base(struct entryemu *m, uint16_t sel)
{
	struct desc d;
	if ((sel & 0xfffc) && desc_fetch(m, sel, &d) == 0 && d.s)
		return d.base;
	return 0;
}

/* BX, BP, SI, DI: the registers of 16-bit addressing forms. */
static int reg16(x86_reg r)
{
	return r == X86_REG_BX || r == X86_REG_BP || r == X86_REG_SI || r == X86_REG_DI;
}

/*
 * Linear address of a memory operand: segment base + effective address,
 * with ESP as *esp if given (it may differ from the CPU's).  The
 * registers it needs (segment, base, index) come in one engine call:
 * the checkers' hooks run this on every system call.
 */
static uint32_t mem_addr_at(struct entryemu *m, const cs_x86 *x86, const cs_x86_op *op,
			    const uint32_t *esp)
{
	enum engine_reg ids[3] = { operand_sreg(op) };
	uint32_t v[3] = { 0 };
	int n = 1, b = -1, x = -1;
	if (op->mem.base != X86_REG_INVALID && engine_reg_of(op->mem.base) >= 0) {
		b = n;
		ids[n++] = (enum engine_reg)engine_reg_of(op->mem.base);
	}
	if (op->mem.index != X86_REG_INVALID && engine_reg_of(op->mem.index) >= 0) {
		x = n;
		ids[n++] = (enum engine_reg)engine_reg_of(op->mem.index);
	}
	engine_regs(m->eng, ids, v, n);
	if (esp && b > 0 && op->mem.base == X86_REG_ESP)
		v[b] = *esp;
	uint32_t ea = (uint32_t)op->mem.disp;
	if (b > 0)
		ea += v[b];
	if (x > 0)
		ea += v[x] * (uint32_t)op->mem.scale;
	/*
	 * a 16-bit address wraps at 64 KiB (SDM vol. 2A 2.1.5, table 2-1):
	 * the instruction's address size says so, or its 16-bit registers
	 * where that is not known (a bare disp16 arrives sign-extended)
	 */
	if ((x86 && x86->addr_size == 2) || reg16(op->mem.base) || reg16(op->mem.index))
		ea &= 0xffff;
	return sel_base(m, (uint16_t)v[0]) + ea;
}

/* Does [lo, lo + len) hold addr? */
static int covers(uint32_t lo, uint32_t len, uint32_t addr)
{
	return addr - lo < len;
}

static uint32_t mem_addr(struct entryemu *m, const cs_x86 *x86, const cs_x86_op *op)
{
	return mem_addr_at(m, x86, op, NULL);
}

uint32_t fault_operand_linear(struct entryemu *m, const cs_x86_op *op)
{
	return mem_addr_at(m, NULL, op, NULL);
}

/* 16 bits of guest memory at linear addr: 0, or -1 if not mapped. */
static int rd16(struct entryemu *m, uint32_t addr, uint16_t *out)
{
	uint8_t *p = machine_ptr(m, addr, 2);
	if (!p)
		return -1;
	*out = (uint16_t)(p[0] | p[1] << 8);
	return 0;
}

/* The selector an operand holds (register, or 16 bits of memory). */
static int operand_selector(struct entryemu *m, const cs_x86 *x86, const cs_x86_op *op,
			    uint16_t *sel)
{
	if (op->type == X86_OP_REG && engine_reg_of(op->reg) >= 0) {
		*sel = (uint16_t)machine_reg(m, engine_reg_of(op->reg));
		return 0;
	}
	if (op->type == X86_OP_MEM)
		return rd16(m, mem_addr(m, x86, op), sel);
	return -1;
}

/*
 * The selector and offset a far JMP or CALL names: an immediate
 * ptr16:32, or an m16:32 operand (the offset, then the selector), m16:16
 * under an operand-size prefix (SDM vol. 2A CALL, JMP).  0, or -1 when
 * there is none or its memory cannot be read.
 */
static int far_pointer(struct entryemu *m, const cs_x86 *x, uint32_t w, uint16_t *sel,
		       uint32_t *offset)
{
	int o16 = w == 2;		/* a 16-bit operand size: m16:16 */
	if (x->op_count == 2 && x->operands[0].type == X86_OP_IMM) {
		*sel = (uint16_t)x->operands[0].imm;
		*offset = (uint32_t)x->operands[1].imm;
	} else {
		const cs_x86_op *op = &x->operands[x->op_count ? x->op_count - 1 : 0];
		if (!x->op_count || op->type != X86_OP_MEM)
			return -1;
		uint32_t at = mem_addr(m, x, op);
		int ok = 1;
		if (rd16(m, at + (o16 ? 2 : 4), sel))
			return -1;
		*offset = machine_rd32(m, at, &ok);
		if (!ok)
			return -1;
	}
	if (o16)
		*offset &= 0xffff;
	return 0;
}

/*
 * Does the w-byte store at linear a meet no memory?  *at is its first
 * such byte: a itself, or the start of the next page where the store
 * crosses into one with none (CR2 is where the access first faults,
 * SDM vol. 3A 4.7).
 */
static int store_hole(struct entryemu *m, uint32_t a, uint32_t w, uint32_t *at)
{
	uint32_t next = (a | 0xfffu) + 1;
	if (!machine_ptr(m, a, 1))
		*at = a;
	else if (next - a < w && !machine_ptr(m, next, 1))
		*at = next;
	else
		return 0;
	return 1;
}

uint32_t fault_operand_bytes(const cs_insn *insn, int code16)
{
	return insn_has_prefix(insn->bytes, insn->size, 0x66) != (code16 != 0) ? 2 : 4;
}

/*
 * Before a user instruction: what the engine would do wrong with a far
 * JMP or CALL at addr.  Only the opcode bytes are looked at unless they
 * are a far transfer (9a, ea, ff /3 and ff /5 with memory): this runs
 * before every user instruction.
 *
 * FAR_TASK_SWITCH: its selector names an available TSS (16- or 32-bit)
 * or a task gate, and the checks before the switch pass (SDM vol. 2A
 * CALL and JMP, TASK-GATE and TASK-STATE-SEGMENT; vol. 3A 7.3).  The
 * engine would then perform the switch itself, which the model does not
 * follow.
 *
 * FAR_PUSH_FAULT: a far CALL straight to a code segment (no gate, so
 * the privilege level stays) that passes its checks, whose return
 * address goes where no memory is.  The CPU pushes CS, then EIP, each
 * of the operand size (vol. 2A CALL, CONFORMING- and NONCONFORMING-
 * CODE-SEGMENT: after the stack-limit and EIP-limit checks, Push(CS);
 * Push(EIP)), and the first push that meets no memory raises #PF with
 * nothing of the call done.  Unicorn 2.0.1's far-call helper drops the
 * stores instead and completes the call, so the model raises the fault
 * itself; *cr2 is its address.  A target past the segment's limit is
 * #GP(0) before any push, which the engine raises.
 */
enum far_check fault_far_transfer(struct entryemu *m, uint32_t addr, uint32_t *cr2)
{
	/* this runs before every user instruction: its first byte rules
	 * out most, and only the rest have their bytes' extent looked up */
	const uint8_t *p = machine_ptr(m, addr, 1);
	if (!p || !(fault_legacy_prefix(p[0]) || p[0] == 0x9a || p[0] == 0xea || p[0] == 0xff))
		return FAR_NONE;
	size_t n = machine_avail(m, addr, 15);
	size_t at = 0;
	while (at + 1 < n && at < 14 && fault_legacy_prefix(p[at]))
		at++;
	if (at >= n)
		return FAR_NONE;
	unsigned reg = at + 1 < n ? (p[at + 1] >> 3) & 7 : 0;
	int call = p[at] == 0x9a || (p[at] == 0xff && reg == 3);
	if (p[at] != 0x9a && p[at] != 0xea &&
	    !(p[at] == 0xff && at + 1 < n && (p[at + 1] >> 6) != 3 && (reg == 3 || reg == 5)))
		return FAR_NONE;
	if (machine_reg(m, ER_EFLAGS) & ENTRYEMU_EFLAGS_VM)
		return FAR_NONE;	/* real-mode style: no descriptors */
	int cpl = machine_cpl(m), code16 = machine_cs_16(m);
	cs_insn *insn = NULL;
	if (cs_disasm(machine_user_cs(m, code16), p, n, addr, 1, &insn) != 1)
		return FAR_NONE;
	uint16_t sel = 0;
	uint32_t offset;
	/* each push is of the operand size: 16 bits in 16-bit code, 32 with a 66 */
	int gate = 0, w = (int)fault_operand_bytes(insn, code16);
	enum far_check r = FAR_NONE;
	struct desc d;
	if (far_pointer(m, &insn->detail->x86, (uint32_t)w, &sel, &offset) == 0 &&
	    desc_check_far_transfer(m, sel, cpl, &gate).vector < 0 && desc_fetch(m, sel, &d) == 0) {
		if (gate && !d.s && (d.type == 0x1 || d.type == 0x9 || d.type == GATE_TASK))
			r = FAR_TASK_SWITCH;
		else if (!gate && call && offset <= d.limit &&
			 (store_hole(m, machine_stack_linear(m, (uint32_t)-w), (uint32_t)w, cr2) ||
			  store_hole(m, machine_stack_linear(m, (uint32_t)(-2 * w)), (uint32_t)w, cr2)))
			r = FAR_PUSH_FAULT;
	}
	cs_free(insn, 1);
	return r;
}

static int derive_from_check(struct fault_info *info, int vector, struct fault f)
{
	if (f.vector != vector) {
		snprintf(info->why, sizeof(info->why),
			 "the CPU raised vector %d at `%s` but the SDM check of its "
			 "operands gives %s %d: the machine model disagrees with the CPU",
			 vector, info->insn, f.vector < 0 ? "no fault, vector" : "vector",
			 f.vector);
		return -1;
	}
	info->error = f.error;
	return 0;
}

/*
 * The CPU fetches the whole instruction before it decodes or runs it: a
 * fault from fetching the next instruction comes before one from
 * decoding it or running it (SDM vol. 3A table 6-2, priorities 6, 7 and
 * 8).  The engine checks some instructions before it has read all of
 * them (MOV to or from a control or debug register at CPL 3 is #GP with
 * its ModRM unread), and so faults at one whose last bytes are not
 * mapped.  Its length comes from a decode of the bytes there, the
 * missing ones taken as zero: a ModRM or immediate that follows counts
 * whatever its value.
 */
int fault_fetch_runs_off(struct entryemu *m, uint32_t eip, uint32_t *cr2)
{
	size_t avail = machine_avail(m, eip, 15);
	uint8_t *code = avail ? machine_ptr(m, eip, 1) : NULL;
	if (!code || avail >= 15)
		return 0;
	uint8_t bytes[15] = { 0 };
	memcpy(bytes, code, avail);
	cs_insn *insn = NULL;
	size_t size = 0;
	if (cs_disasm(machine_user_cs(m, machine_cs_16(m)), bytes, sizeof(bytes), eip, 1,
		      &insn) == 1) {
		size = insn->size;
		cs_free(insn, 1);
	}
	if (size <= avail)
		return 0;
	*cr2 = eip + (uint32_t)avail;
	return 1;
}

int fault_derive(struct entryemu *m, int vector, uint32_t eip, struct fault_info *info)
{
	memset(info, 0, sizeof(*info));
	info->has_error = vector_has_error_code(vector);

	uint8_t *code = machine_ptr(m, eip, 1);
	cs_insn *insn = NULL;
	size_t avail = machine_avail(m, eip, 15);
	int code16 = machine_cs_16(m);	/* 16-bit code: another decode, other sizes */
	csh cs = machine_user_cs(m, code16);
	if (!code || cs_disasm(cs, code, avail, eip, 1, &insn) != 1) {
		/*
		 * An instruction longer than 15 bytes (here: prefixes enough
		 * to leave no room for the rest) is #GP(0) (SDM vol. 2A
		 * 2.3.11, vol. 3A 6.15 "Interrupt 13").
		 */
		size_t prefixes = 0;
		while (code && prefixes < avail && fault_legacy_prefix(code[prefixes]))
			prefixes++;
		/*
		 * What follows the prefixes, decoded alone: its length counts
		 * too.  The operand- and address-size prefixes change that
		 * length (a 67 makes ModRM's displacement 16 bits), so one of
		 * each that was there goes before it in the decode.
		 */
		size_t rest = 0;
		uint8_t *after = prefixes ? machine_ptr(m, eip + (uint32_t)prefixes, 1) : NULL;
		cs_insn *tail = NULL;
		size_t left = after ? machine_avail(m, eip + (uint32_t)prefixes, 15) : 0;
		uint8_t alone[17];
		size_t sizes = 0;
		if (after) {
			if (memchr(code, 0x66, prefixes))
				alone[sizes++] = 0x66;
			if (memchr(code, 0x67, prefixes))
				alone[sizes++] = 0x67;
			memcpy(alone + sizes, after, left);
		}
		/*
		 * An undefined slot of an opcode group (ff /7, 0f 00 /7, ...)
		 * still has its ModRM, SIB and displacement, which fix the
		 * length (vol. 2A 2.1): it is the one the same ModRM gives the
		 * group's /0.
		 */
		size_t op = after ? (after[0] != 0x0f ? 1 : left >= 2 &&
				     (after[1] == 0x38 || after[1] == 0x3a) ? 3 : 2) : 0;
		int decoded = after && cs_disasm(cs, alone, sizes + left, eip + prefixes, 1,
						 &tail) == 1;
		if (after && !decoded && op < left) {
			alone[sizes + op] &= (uint8_t)~0x38;
			decoded = cs_disasm(cs, alone, sizes + left, eip + prefixes, 1, &tail) == 1;
		}
		if (decoded) {
			rest = tail->size - sizes;
			cs_free(tail, 1);
		} else if (after) {
			/*
			 * No instruction: the bytes up to its opcode still count,
			 * one, or two after 0f, or three after 0f 38 and 0f 3a
			 * (vol. 2A 2.1.2), and in the two- and three-byte maps so
			 * do the ModRM and imm8 the opcode map gives the opcode,
			 * whether it is defined or not (insn_map_size), as the
			 * engine decodes it.
			 */
			size_t map = insn_map_size(after, left, memchr(code, 0x67, prefixes) != NULL);
			rest = map ? map : op;
		}
		if (vector == VEC_GP && (prefixes >= 14 || prefixes + rest > 15)) {
			snprintf(info->insn, sizeof(info->insn), "(%zu prefixes: over 15 bytes)",
				 prefixes);
			info->error = 0;
			return 0;
		}
		snprintf(info->why, sizeof(info->why), "no decodable instruction at 0x%08x", eip);
		return -1;
	}
	snprintf(info->insn, sizeof(info->insn), "%s%s%s", insn->mnemonic,
		 insn->op_str[0] ? " " : "", insn->op_str);
	if (!info->has_error) {
		cs_free(insn, 1);
		return 0;
	}

	int rc = -1, cpl = machine_cpl(m);
	const cs_x86 *x = &insn->detail->x86;
	enum sreg sr;
	uint16_t sel;
	int ok = 1;

	int sreg_load = 0;		/* a selector goes into a segment register */
	switch (insn->id) {
	case X86_INS_POP:		/* pop %ds/%es/%fs/%gs/%ss */
		if (x->op_count == 1 && x->operands[0].type == X86_OP_REG &&
		    sreg_of(x->operands[0].reg, &sr) == 0) {
			sreg_load = 1;
			sel = (uint16_t)machine_rd32(m, machine_stack_linear(m, 0), &ok);
			if (ok)
				rc = derive_from_check(info, vector,
						       desc_check_data_load(m, sr, sel, cpl));
		}
		break;
	case X86_INS_MOV:		/* mov r/m16, %sreg */
		if (x->op_count == 2 && x->operands[0].type == X86_OP_REG &&
		    sreg_of(x->operands[0].reg, &sr) == 0) {
			sreg_load = 1;
			if (operand_selector(m, x, &x->operands[1], &sel) == 0)
				rc = derive_from_check(info, vector,
						       desc_check_data_load(m, sr, sel, cpl));
		}
		break;
	case X86_INS_LDS: case X86_INS_LES: case X86_INS_LFS:
	case X86_INS_LGS: case X86_INS_LSS: {	/* selector after the offset */
		static const struct { unsigned id; enum sreg r; } L[] = {
			{ X86_INS_LDS, SREG_DS }, { X86_INS_LES, SREG_ES },
			{ X86_INS_LFS, SREG_FS }, { X86_INS_LGS, SREG_GS },
			{ X86_INS_LSS, SREG_SS },
		};
		for (size_t i = 0; i < 5; i++)
			if (L[i].id == insn->id)
				sr = L[i].r;
		/*
		 * The far pointer is m16:32, or m16:16 under a 0x66 prefix (a
		 * 16-bit destination register): the selector follows a 4- or
		 * 2-byte offset (SDM vol. 2 LDS/LES/LFS/LGS/LSS, the operand
		 * size decides the offset's size).
		 */
		const cs_x86_op *op = &x->operands[x->op_count - 1];
		unsigned off = x->operands[0].type == X86_OP_REG &&
			       x->operands[0].size == 2 ? 2 : 4;
		if (op->type == X86_OP_MEM && rd16(m, mem_addr(m, x, op) + off, &sel) == 0)
			rc = derive_from_check(info, vector,
					       desc_check_data_load(m, sr, sel, cpl));
		break;
	}
	case X86_INS_IRETD: case X86_INS_IRET: {	/* the frame it was popping */
		/* NT set: a return to the back-linked task (SDM vol. 2A IRET,
		 * TASK-RETURN), whose #TS and #GP come from the TSS: not
		 * modelled, the run ends unsupported */
		if (machine_reg(m, ER_EFLAGS) & ENTRYEMU_EFLAGS_NT)
			break;
		/* EIP, CS, EFLAGS, ESP, SS: dwords, or words under a 16-bit
		 * operand size (vol. 2A IRET): 16-bit code without a 0x66
		 * among the prefixes, 32-bit code with one, whatever follows
		 * it (Capstone takes `66 f2 cf' for IRETD) */
		uint32_t w = fault_operand_bytes(insn, code16);
		uint16_t ip16 = 0, rcs = 0, rss = 0;
		uint32_t reip = ip16;
		if (w == 4)
			reip = machine_rd32(m, machine_stack_linear(m, 0), &ok);
		else if (rd16(m, machine_stack_linear(m, 0), &ip16) == 0)
			reip = ip16;
		else
			ok = 0;
		ok = ok && rd16(m, machine_stack_linear(m, w), &rcs) == 0;
		/* SS is popped only on a return to an outer level: a frame
		 * that ends before it is no reason to stop here */
		if (rd16(m, machine_stack_linear(m, 4 * w), &rss))
			rss = 0;
		if (ok)
			rc = derive_from_check(info, vector,
					       desc_check_iret(m, rcs, rss, reip, cpl));
		break;
	}
	case X86_INS_LJMP: case X86_INS_LCALL: {
		int gate = 0;
		uint32_t target = 0;
		if (far_pointer(m, x, fault_operand_bytes(insn, code16), &sel, &target))
			break;
		struct fault f = desc_check_far_transfer(m, sel, cpl, &gate);
		/*
		 * A code segment that passes: the new EIP must be within its
		 * limit, else #GP(0) (vol. 2A JMP and CALL, "IF instruction
		 * pointer not within code segment limit THEN #GP(0)").
		 */
		struct desc d;
		if (!gate && f.vector < 0 && desc_fetch(m, sel, &d) == 0 && target > d.limit) {
			f = (struct fault){ VEC_GP, 0 };
			/*
			 * Unicorn 2.0.1 (QEMU's helper_lcall_protected) pushes
			 * the new CS selector for a far CALL past the limit; its
			 * far JMP pushes 0 as the manual does.
			 */
			info->engine_differs = insn->id == X86_INS_LCALL;
		}
		if (!gate)
			rc = derive_from_check(info, vector, f);
		break;
	}
	case X86_INS_RETF: {		/* CS after the return EIP on the stack */
		int outer = 0;
		unsigned off = fault_operand_bytes(insn, code16);
		if (rd16(m, machine_stack_linear(m, off), &sel) == 0) {
			struct fault f = desc_check_far_return(m, sel, cpl, &outer);
			if (!outer)
				rc = derive_from_check(info, vector, f);
		}
		break;
	}
	case X86_INS_INT: case X86_INS_INT3: case X86_INS_INTO:
		break;			/* selector-carrying: not modelled here */
	default:
		break;
	}
	if (!sreg_load && rc < 0 && !info->why[0] && vector == VEC_GP &&
	    insn->id != X86_INS_LJMP && insn->id != X86_INS_LCALL &&
	    insn->id != X86_INS_RETF && insn->id != X86_INS_INT &&
	    insn->id != X86_INS_INT3 && insn->id != X86_INS_INTO &&
	    insn->id != X86_INS_IRETD && insn->id != X86_INS_IRET) {
		/*
		 * Every other #GP pushes 0: a privileged instruction at CPL 3
		 * (SDM vol. 2, MOV to/from control registers and MOV to/from
		 * debug registers, "Protected Mode Exceptions": "#GP(0) If the
		 * current privilege level is not 0"; likewise HLT, LGDT, LIDT,
		 * LLDT, LTR, LMSW, CLTS, INVD, WBINVD, INVLPG, RDMSR, WRMSR),
		 * I/O without permission, a segment limit, a misaligned SSE
		 * operand.  MOV and POP whose destination is not a segment
		 * register are among them.
		 */
		info->error = 0;
		rc = 0;
	}
	if (rc < 0 && !info->why[0])
		snprintf(info->why, sizeof(info->why),
			 "vector %d at `%s`: deriving its error code is not modelled",
			 vector, info->insn);
	cs_free(insn, 1);
	return rc;
}

int fault_legacy_prefix(uint8_t b)
{
	return insn_legacy_prefix(b);
}

int fault_lock_undefined(struct entryemu *m, uint32_t eip)
{
	uint8_t bytes[15];
	size_t n = 0;
	while (n < sizeof(bytes)) {
		uint8_t *p = machine_ptr(m, eip + (uint32_t)n, 1);
		if (!p)
			break;
		bytes[n++] = *p;
	}
	int lock = 0;
	for (size_t i = 0; i < n; i++) {
		if (!fault_legacy_prefix(bytes[i]))
			break;
		lock |= bytes[i] == 0xf0;
	}
	cs_insn *insn = NULL;
	if (!lock || !n)
		return 0;
	if (cs_disasm(m->cs, bytes, n, eip, 1, &insn) == 1) {
		cs_free(insn, 1);
		return 0;
	}
	return 1;
}


/*
 * How an instruction moves ESP, in bytes, when that is known from the
 * instruction alone: *known = 0 for any other write to ESP.
 */
/* ESP, or its low half SP: writing either moves the stack pointer. */
static int is_sp(x86_reg r)
{
	return r == X86_REG_ESP || r == X86_REG_SP;
}

static int32_t esp_step(const cs_insn *insn, int *known)
{
	const cs_x86 *x = &insn->detail->x86;
	int32_t w = x->prefix[2] == 0x66 ? 2 : 4;	/* operand-size prefix */
	*known = 1;
	switch (insn->id) {
	case X86_INS_PUSH: case X86_INS_PUSHFD: case X86_INS_PUSHF: return -w;
	case X86_INS_POP: case X86_INS_POPFD: case X86_INS_POPF:
		if (x->op_count == 1 && x->operands[0].type == X86_OP_REG &&
		    is_sp(x->operands[0].reg))
			break;			/* pop %esp, pop %sp */
		return w;
	case X86_INS_PUSHAL: return -32;
	case X86_INS_POPAL: return 32;
	case X86_INS_PUSHAW: return -16;
	case X86_INS_POPAW: return 16;
	case X86_INS_ENTER: case X86_INS_LEAVE:
		*known = 0;		/* by the immediates, or to EBP */
		return 0;
	case X86_INS_CALL: return -4;
	case X86_INS_RET:
		return 4 + (x->op_count == 1 && x->operands[0].type == X86_OP_IMM
			    ? (int32_t)x->operands[0].imm : 0);
	case X86_INS_ADD: case X86_INS_SUB:
		if (x->op_count == 2 && x->operands[0].type == X86_OP_REG &&
		    x->operands[0].reg == X86_REG_ESP && x->operands[1].type == X86_OP_IMM)
			return (int32_t)(insn->id == X86_INS_ADD ? x->operands[1].imm
							       : -x->operands[1].imm);
		break;
	default:
		for (int i = 0; i < x->op_count; i++)
			if (x->operands[i].type == X86_OP_REG && is_sp(x->operands[i].reg) &&
			    (x->operands[i].access & CS_AC_WRITE))
				*known = 0;
		/* ENTER, LEAVE and the rest that move ESP without saying how */
		for (int i = 0; i < insn->detail->regs_write_count; i++)
			if (is_sp(insn->detail->regs_write[i]))
				*known = 0;
		return 0;
	}
	if (x->op_count >= 1 && x->operands[0].type == X86_OP_REG && is_sp(x->operands[0].reg))
		*known = 0;
	return 0;
}

/*
 * The bytes a memory operand spans, for the instructions whose operand
 * is wider than the width Capstone gives.  A state image: FXSAVE and
 * FXRSTOR 512 (SDM vol. 2A FXSAVE, m512byte); FSAVE and FRSTOR 108, or
 * 94 with a 16-bit operand size (vol. 2A FSAVE/FNSAVE and FRSTOR,
 * m94/108byte); FSTENV and FLDENV 28, or 14 (vol. 2A FSTENV/FNSTENV and
 * FLDENV, m14/28byte).  A far pointer: LDS, LES, LFS, LGS and LSS read
 * an offset and then a selector, 6 bytes, or 4 with a 16-bit operand
 * size (vol. 2A LDS/LES/LFS/LGS/LSS, m16:32 and m16:16), where Capstone
 * gives 4 for both.  0 for the others.
 */
static uint32_t wide_operand_bytes(const cs_insn *insn)
{
	int o16 = insn->detail->x86.prefix[2] == 0x66;
	switch (insn->id) {
	case X86_INS_FXSAVE: case X86_INS_FXRSTOR: return 512;
	case X86_INS_FNSAVE: case X86_INS_FRSTOR: return o16 ? 94 : 108;
	case X86_INS_FNSTENV: case X86_INS_FLDENV: return o16 ? 14 : 28;
	case X86_INS_LDS: case X86_INS_LES: case X86_INS_LFS: case X86_INS_LGS:
	case X86_INS_LSS: return o16 ? 4 : 6;
	default: return 0;
	}
}

/*
 * BT, BTS, BTR and BTC with a register bit offset address a bit string
 * that starts at the memory operand and may reach far from it: the CPU
 * accesses 4 bytes at EA + 4 * (offset DIV 32), or 2 bytes at
 * EA + 2 * (offset DIV 16) with a 16-bit operand size, the offset signed
 * (SDM vol. 2A BT, "Operation" and the note on memory bit bases).  The
 * bytes' distance from the operand, or 0 for other forms.
 */
static int32_t bit_string_step(struct entryemu *m, const cs_insn *insn, uint32_t *size)
{
	const cs_x86 *x = &insn->detail->x86;
	if ((insn->id != X86_INS_BT && insn->id != X86_INS_BTS && insn->id != X86_INS_BTR &&
	     insn->id != X86_INS_BTC) || x->op_count != 2 || x->operands[0].type != X86_OP_MEM ||
	    x->operands[1].type != X86_OP_REG || engine_reg_of(x->operands[1].reg) < 0)
		return 0;
	*size = x->operands[0].size == 2 ? 2 : 4;
	uint32_t v = machine_reg(m, (enum engine_reg)engine_reg_of(x->operands[1].reg));
	int64_t off = *size == 2 ? (int16_t)v : (int32_t)v;
	int64_t bits = 8 * (int64_t)*size;
	int64_t q = off >= 0 ? off / bits : -((-off + bits - 1) / bits);	/* floor */
	return (int32_t)(q * (int64_t)*size);
}

/* The segment register of an implicit operand: an override prefix, else
 * def (SDM vol. 2A 2.1.1). */
static enum engine_reg override_or(const cs_x86 *x, enum engine_reg def)
{
	switch (x->prefix[1]) {
	case 0x26: return ER_ES;
	case 0x2e: return ER_CS;
	case 0x36: return ER_SS;
	case 0x3e: return ER_DS;
	case 0x64: return ER_FS;
	case 0x65: return ER_GS;
	default: return def;
	}
}

/*
 * The linear address of an implicit operand at offset ea through sreg:
 * with a 16-bit address size (a 67 prefix) the offset is BX, SI or DI,
 * and it wraps at 64 KiB (vol. 2A 2.1.5; XLAT: "IF AddressSize = 16
 * THEN AL <- (DS:BX + ZeroExtend(AL))").
 */
static uint32_t implicit_addr(struct entryemu *m, const cs_x86 *x, enum engine_reg sreg,
			      uint32_t ea)
{
	if (x->addr_size == 2)
		ea &= 0xffff;
	return sel_base(m, (uint16_t)engine_reg(m->eng, sreg)) + ea;
}

/*
 * Where a memory operand of insn is accessed, with *esp for ESP (NULL:
 * the CPU's).  POP to memory addressed through ESP uses ESP after the
 * pop (SDM vol. 2B POP: "If the ESP register is used as a base register
 * for addressing a destination operand in memory, the POP instruction
 * computes the effective address of the operand after it increments
 * the ESP register").
 */
static uint32_t access_addr(struct entryemu *m, const cs_insn *insn, const cs_x86_op *op,
			    const uint32_t *esp)
{
	const cs_x86 *x = &insn->detail->x86;
	if (insn->id == X86_INS_POP && op->mem.base == X86_REG_ESP) {
		uint32_t after = (esp ? *esp : machine_reg(m, ER_ESP)) + (x->prefix[2] == 0x66 ? 2 : 4);
		return mem_addr_at(m, x, op, &after);
	}
	return mem_addr_at(m, x, op, esp);
}

/*
 * The size of a 3DNow! PREFETCH with a memory operand (0f 0d, ModRM.mod
 * != 3) at p, after any legacy prefixes, or 0.  The disassembler does
 * not know it; the engine runs it as a NOP, with no access (AMD64 APM
 * vol. 3, PREFETCH: a hint, which raises no fault for its address).
 * It ran, so it is no #UD: the access is further on.
 */
static size_t prefetch_hint_size(const uint8_t *p, size_t avail)
{
	size_t at = 0;
	while (at < avail && at < 14 && insn_legacy_prefix(p[at]))
		at++;
	if (at + 2 >= avail || p[at] != 0x0f || p[at + 1] != 0x0d || (p[at + 2] >> 6) == 3)
		return 0;
	return insn_unknown_size(p, avail);
}

int fault_undefined_at(struct entryemu *m, uint32_t at)
{
	size_t avail = machine_avail(m, at, 15);
	uint8_t *p = machine_ptr(m, at, 1);
	cs_insn *insn = NULL;
	if (!p)
		return 0;
	if (cs_disasm(m->cs, p, avail, at, 1, &insn) == 1) {
		cs_free(insn, 1);
		return 0;
	}
	return !prefetch_hint_size(p, avail);
}

int fault_too_long_at(struct entryemu *m, uint32_t at)
{
	size_t avail = machine_avail(m, at, 32);
	const uint8_t *p = machine_ptr(m, at, 1);
	size_t prefixes = 0;
	if (!p)
		return 0;
	while (prefixes < avail && fault_legacy_prefix(p[prefixes]))
		prefixes++;
	return prefixes >= 15 || insn_unknown_size(p, avail) > 15;
}

uint32_t fault_locate_access(struct entryemu *m, uint32_t start, uint32_t addr,
			     int *undefined)
{
	*undefined = 0;
	/*
	 * ESP before each instruction: followed from the block's start when
	 * the block hook kept it (blocks with several pushes or pops), else
	 * the CPU's ESP now, which is the faulting instruction's, with
	 * windows wide enough for any of them.
	 */
	const struct count_state *c = m->count;
	int tracked = c && c->cur_esp_known && c->cur.addr == start;
	uint32_t esp = tracked ? c->cur_esp : machine_reg(m, ER_ESP);
	uint32_t esi = machine_reg(m, ER_ESI), edi = machine_reg(m, ER_EDI);
	uint32_t pc = start;
	/* QEMU ends a translated block after 512 instructions (TCG_MAX_INSNS) */
	for (int n = 0; n < 512; n++) {
		size_t avail = machine_avail(m, pc, 15);
		uint8_t *p = machine_ptr(m, pc, 1);
		cs_insn *insn = NULL;
		if (!p)
			return 0;
		if (cs_disasm(m->cs, p, avail, pc, 1, &insn) != 1) {
			size_t hint = prefetch_hint_size(p, avail);
			if (hint) {		/* ran, and made no access */
				pc += (uint32_t)hint;
				continue;
			}
			*undefined = 1;		/* the CPU stops here with #UD */
			return pc;
		}
		const cs_x86 *x = &insn->detail->x86;
		int hit = 0;
		uint32_t image = wide_operand_bytes(insn);
		uint32_t bits_size = 0;
		int32_t bits_step = bit_string_step(m, insn, &bits_size);
		for (int i = 0; i < x->op_count && !hit; i++)
			if (x->operands[i].type == X86_OP_MEM &&
			    insn->id != X86_INS_LEA && insn->id != X86_INS_NOP)
				hit = covers(access_addr(m, insn, &x->operands[i], &esp) +
					     (uint32_t)bits_step,
					     image ? image : bits_size ? bits_size :
					     x->operands[i].size ? x->operands[i].size : 4, addr);
		int known = 0;
		int32_t step = esp_step(insn, &known);
		switch (insn->id) {	/* the stack and string accesses they imply */
		case X86_INS_PUSH: case X86_INS_PUSHFD: case X86_INS_CALL: case X86_INS_PUSHAL:
		case X86_INS_PUSHF: case X86_INS_PUSHAW:
			hit |= tracked ? covers(esp + (uint32_t)step, (uint32_t)-step, addr)
				       : covers(esp - 32, 32, addr);
			break;
		case X86_INS_POP: case X86_INS_POPFD: case X86_INS_RET: case X86_INS_POPAL:
		case X86_INS_POPF: case X86_INS_POPAW: case X86_INS_RETF:
			/* RETF: EIP and CS, and ESP and SS back to an outer level */
			hit |= tracked ? covers(esp, insn->id == X86_INS_POPAL ? 32
						: insn->id == X86_INS_POPAW || insn->id == X86_INS_RETF ? 16
						: insn->id == X86_INS_POPF || step == 2 ? 2 : 4, addr)
				       : covers(esp, 32, addr);
			break;
		case X86_INS_LEAVE:
			hit |= covers(machine_reg(m, ER_EBP), 4, addr);
			break;
		case X86_INS_IRETD: case X86_INS_IRET:
			/* up to nine dwords: EIP, CS, EFLAGS, ESP, SS, and ES, DS,
			 * FS, GS back to vm86 mode (SDM vol. 2A IRET, "RETURN-TO-
			 * VIRTUAL-8086-MODE"); IRET under a 0x66 prefix pops words */
			hit |= covers(esp, 36, addr);
			break;
		case X86_INS_ENTER:
			/*
			 * pushes %ebp, then with a nesting level L copies L - 1
			 * frame pointers from below %ebp and pushes the new
			 * one (SDM vol. 2A ENTER; L is taken modulo 32)
			 */
		{
			uint32_t level = x->op_count == 2 ? (uint32_t)x->operands[1].imm & 31 : 0;
			hit |= (level > 1 && covers(machine_reg(m, ER_EBP) - 4 * (level - 1),
						    4 * (level - 1), addr)) ||
			       covers(esp - 4 * (level + 1), 4 * (level + 1), addr);
			break;
		}
		case X86_INS_XLATB:	/* reads DS:[EBX + AL] (SDM vol. 2B XLAT) */
			hit |= covers(implicit_addr(m, x, override_or(x, ER_DS),
						    machine_reg(m, ER_EBX) +
						    (machine_reg(m, ER_EAX) & 0xff)), 1, addr);
			break;
		case X86_INS_MOVSB: case X86_INS_MOVSW: case X86_INS_MOVSD:
		case X86_INS_CMPSB: case X86_INS_CMPSW: case X86_INS_CMPSD:
		case X86_INS_LODSB: case X86_INS_LODSW: case X86_INS_LODSD:
		case X86_INS_STOSB: case X86_INS_STOSW: case X86_INS_STOSD:
		case X86_INS_SCASB: case X86_INS_SCASW: case X86_INS_SCASD:
			/* DS:ESI (or an override), ES:EDI (vol. 2A MOVS and the rest) */
			hit |= covers(implicit_addr(m, x, override_or(x, ER_DS), esi), 4, addr) ||
			       covers(implicit_addr(m, x, ER_ES, edi), 4, addr);
			break;
		default:
			break;
		}
		int ends = cs_insn_group(m->cs, insn, CS_GRP_JUMP) ||
			   cs_insn_group(m->cs, insn, CS_GRP_CALL) ||
			   cs_insn_group(m->cs, insn, CS_GRP_RET) ||
			   /* into traps only when OF is set: the block goes on */
			   (cs_insn_group(m->cs, insn, CS_GRP_INT) && insn->id != X86_INS_INTO) ||
			   cs_insn_group(m->cs, insn, CS_GRP_IRET);
		uint32_t next = pc + insn->size;
		cs_free(insn, 1);
		if (hit)
			return pc;
		if (ends)
			return 0;		/* a block ends at a branch */
		if (tracked && !known) {	/* ESP from here on: the CPU's */
			tracked = 0;
			esp = machine_reg(m, ER_ESP);
		} else if (tracked) {
			esp += (uint32_t)step;
		}
		pc = next;
	}
	return 0;
}

uint32_t fault_first_unmapped(struct entryemu *m, uint32_t at, uint32_t addr)
{
	uint8_t bytes[15];
	size_t n = 0;
	while (n < sizeof(bytes) && machine_ptr(m, at + (uint32_t)n, 1)) {
		bytes[n] = *machine_ptr(m, at + (uint32_t)n, 1);
		n++;
	}
	cs_insn *insn = NULL;
	if (!n || cs_disasm(m->cs, bytes, n, at, 1, &insn) != 1)
		return addr;
	const cs_x86 *x = &insn->detail->x86;
	uint32_t first = addr, image = wide_operand_bytes(insn);
	for (int i = 0; i < x->op_count && first == addr; i++) {
		if (x->operands[i].type != X86_OP_MEM || insn->id == X86_INS_LEA ||
		    insn->id == X86_INS_NOP)
			continue;
		uint32_t ea = access_addr(m, insn, &x->operands[i], NULL);
		uint32_t len = image ? image : x->operands[i].size ? x->operands[i].size : 4;
		if (!covers(ea, len, addr))
			continue;	/* not this operand's access (a push, a string) */
		/* the operand's first byte, then each page start up to addr */
		for (uint32_t b = ea; b - ea <= addr - ea; b = (b | 0xfffu) + 1)
			if (!machine_ptr(m, b, 1)) {
				first = b;
				break;
			}
	}
	cs_free(insn, 1);
	return first;
}
