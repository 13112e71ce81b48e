/* The descriptor tables in the machine, and the selector-load checks of the SDM. */
#include "cpu/cpu.h"
#include "cpu/desc.h"

int desc_fetch(struct entryemu *m, uint16_t sel, struct desc *d)
{
	struct engine_table_reg t;
	if (engine_table(m->eng, (sel & 4) ? ET_LDTR : ET_GDTR, &t))
		return -1;
	uint32_t off = sel & ~7u;
	if ((sel & 4) && t.selector == 0)
		return -1;			/* no LDT loaded */
	if (off + 7 > t.limit)
		return -1;
	int ok = 1;
	uint32_t lo = machine_rd32(m, (uint32_t)t.base + off, &ok);
	uint32_t hi = machine_rd32(m, (uint32_t)t.base + off + 4, &ok);
	if (!ok)
		return -1;
	desc_decode(lo, hi, d);
	return 0;
}

static struct fault fault(int vector, uint32_t error)
{
	struct fault f = { vector, error };
	return f;
}

#define NO_FAULT fault(-1, 0)
#define IS_CODE(d)	((d)->type & 8)
#define READABLE(d)	((d)->type & 2)		/* code: R */
#define WRITABLE(d)	((d)->type & 2)		/* data: W */
#define CONFORMING(d)	((d)->type & 4)		/* code: C */

/*
 * SDM vol. 2, MOV/POP "Protected Mode Exceptions" for a segment register:
 * a null selector loads (except into SS); otherwise the index must lie in
 * the table, the descriptor must be a data or readable code segment with
 * enough privilege, and present.  Every fault carries the selector with
 * RPL cleared (EXT = 0: the instruction caused it).
 */
struct fault desc_check_data_load(struct entryemu *m, enum sreg reg,
				  uint16_t sel, int cpl)
{
	struct desc d;
	uint32_t err = sel & 0xfffc;
	unsigned rpl = sel & 3;

	if ((sel & 0xfffc) == 0)
		return reg == SREG_SS ? fault(VEC_GP, 0) : NO_FAULT;
	if (desc_fetch(m, sel, &d) < 0)
		return fault(VEC_GP, err);
	if (reg == SREG_SS) {
		if (rpl != (unsigned)cpl || !d.s || IS_CODE(&d) || !WRITABLE(&d) ||
		    d.dpl != (unsigned)cpl)
			return fault(VEC_GP, err);
		if (!d.p)
			return fault(VEC_SS, err);
		return NO_FAULT;
	}
	if (!d.s || (IS_CODE(&d) && !READABLE(&d)))
		return fault(VEC_GP, err);
	if (!IS_CODE(&d) || !CONFORMING(&d)) {
		if (rpl > d.dpl || (unsigned)cpl > d.dpl)
			return fault(VEC_GP, err);
	}
	if (!d.p)
		return fault(VEC_NP, err);
	return NO_FAULT;
}

/*
 * SDM vol. 2A CALL and JMP, far forms in protected mode, in the manual's
 * order: a null selector is #GP(0); an index beyond the table, a
 * descriptor that is not a code segment (data), or privilege that does
 * not fit (conforming: DPL > CPL; nonconforming: RPL > CPL or DPL !=
 * CPL) is #GP(selector); a segment not present is #NP(selector).  A
 * TSS's own checks likewise.  Call gates, task gates and a TSS that
 * passes switch through more checks than these: *gate is set and no
 * fault is decided.
 */
struct fault desc_check_far_transfer(struct entryemu *m, uint16_t sel, int cpl, int *gate)
{
	struct desc d;
	uint32_t err = sel & 0xfffc;
	*gate = 0;
	if ((sel & 0xfffc) == 0)
		return fault(VEC_GP, 0);
	if (desc_fetch(m, sel, &d) < 0)
		return fault(VEC_GP, err);
	if (!d.s) {
		if (d.type == 0x1 || d.type == 0x3 || d.type == 0x9 || d.type == 0xB) {
			/*
			 * A TSS, 16- or 32-bit (3 and B busy; vol. 3A table
			 * 3-2): DPL < CPL or RPL, or busy, is #GP(selector), not
			 * present #NP(selector) (vol. 2A CALL and JMP,
			 * TASK-STATE-SEGMENT); past those the task switch,
			 * which is not modelled
			 */
			if (d.dpl < (unsigned)cpl || d.dpl < (sel & 3u) ||
			    d.type == 0x3 || d.type == 0xB)
				return fault(VEC_GP, err);
			if (!d.p)
				return fault(VEC_NP, err);
			*gate = 1;
			return NO_FAULT;
		}
		if (d.type == 0x4 || d.type == 0xC || d.type == GATE_TASK) {
			*gate = 1;	/* call gate (16- or 32-bit), task gate */
			return NO_FAULT;
		}
		return fault(VEC_GP, err);
	}
	if (!IS_CODE(&d))
		return fault(VEC_GP, err);
	if (CONFORMING(&d) ? d.dpl > (unsigned)cpl
			   : (sel & 3) > (unsigned)cpl || d.dpl != (unsigned)cpl)
		return fault(VEC_GP, err);
	if (!d.p)
		return fault(VEC_NP, err);
	return NO_FAULT;
}

/*
 * SDM vol. 2A RET, far return in protected mode, the return CS checks in
 * the manual's order: null is #GP(0); past the table, not a code
 * segment, RPL < CPL, or a DPL that does not fit the RPL (conforming:
 * DPL > RPL; nonconforming: DPL != RPL) is #GP(selector); not present is
 * #NP(selector).  A return to an outer level goes on to check SS, which
 * is not modelled: *outer is set and no fault is decided.
 */
struct fault desc_check_far_return(struct entryemu *m, uint16_t sel, int cpl, int *outer)
{
	struct desc d;
	uint32_t err = sel & 0xfffc;
	unsigned rpl = sel & 3;
	*outer = 0;
	if ((sel & 0xfffc) == 0)
		return fault(VEC_GP, 0);
	if (desc_fetch(m, sel, &d) < 0 || !d.s || !IS_CODE(&d) || rpl < (unsigned)cpl ||
	    (CONFORMING(&d) ? d.dpl > rpl : d.dpl != rpl))
		return fault(VEC_GP, err);
	if (!d.p)
		return fault(VEC_NP, err);
	*outer = rpl > (unsigned)cpl;
	return NO_FAULT;
}

/*
 * SDM vol. 2 IRET, "RETURN-TO-OUTER-PRIVILEGE-LEVEL" and the checks
 * before it, in the order the manual lists them.
 */
struct fault desc_check_iret(struct entryemu *m, uint16_t cs, uint16_t ss,
			     uint32_t eip, int cpl)
{
	struct desc c, s;
	unsigned rpl = cs & 3;

	if ((cs & 0xfffc) == 0)
		return fault(VEC_GP, 0);
	if (desc_fetch(m, cs, &c) < 0)
		return fault(VEC_GP, cs & 0xfffc);
	if (!c.s || !IS_CODE(&c) || rpl < (unsigned)cpl)
		return fault(VEC_GP, cs & 0xfffc);
	if (CONFORMING(&c) ? c.dpl > rpl : c.dpl != rpl)
		return fault(VEC_GP, cs & 0xfffc);
	if (!c.p)
		return fault(VEC_NP, cs & 0xfffc);
	if (rpl == (unsigned)cpl) {
		if (eip > c.limit)
			return fault(VEC_GP, 0);
		return NO_FAULT;		/* same level: SS is not popped */
	}
	if ((ss & 0xfffc) == 0)
		return fault(VEC_GP, 0);
	if (desc_fetch(m, ss, &s) < 0)
		return fault(VEC_GP, ss & 0xfffc);
	if ((ss & 3) != rpl || !s.s || IS_CODE(&s) || !WRITABLE(&s) || s.dpl != rpl)
		return fault(VEC_GP, ss & 0xfffc);
	/*
	 * SDM vol. 2A IRET/IRETD, "Protected Mode Exceptions": "#NP(selector)
	 * If the return code or stack segment is not present."  (Older
	 * editions' pseudo-code reads #SS(SS selector) here; the exception
	 * list, QEMU's helper_ret_protected and so the CPU under Unicorn
	 * say #NP.)
	 */
	if (!s.p)
		return fault(VEC_NP, ss & 0xfffc);
	if (eip > c.limit)
		return fault(VEC_GP, 0);
	return NO_FAULT;
}
