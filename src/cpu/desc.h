/*
 * Segment and gate descriptors: building them, decoding them, and the
 * checks the CPU applies when a selector is loaded (SDM vol. 2 MOV/POP,
 * vol. 3 ch. 5).  The delivery model and the error-code derivation use
 * the same checks, so a fault the library reports is the fault the
 * hardware would raise.
 */
#ifndef ENTRYEMU_DESC_H
#define ENTRYEMU_DESC_H

#include <stdint.h>

struct entryemu;

struct desc {
	uint32_t base, limit;		/* limit already scaled by G */
	unsigned type;			/* 4-bit type field */
	unsigned s, dpl, p, db, g;
	uint32_t lo, hi;
};

/* Gate descriptor types (S = 0). */
#define GATE_TASK	0x5
#define GATE_INTR16	0x6
#define GATE_TRAP16	0x7
#define GATE_INTR32	0xE
#define GATE_TRAP32	0xF

/* Exception vectors (SDM table 6-1). */
enum {
	VEC_DE = 0, VEC_DB = 1, VEC_NMI = 2, VEC_BP = 3, VEC_OF = 4,
	VEC_BR = 5, VEC_UD = 6, VEC_NM = 7, VEC_DF = 8, VEC_CSO = 9,
	VEC_TS = 10, VEC_NP = 11, VEC_SS = 12, VEC_GP = 13, VEC_PF = 14,
	VEC_MF = 16, VEC_AC = 17, VEC_MC = 18, VEC_XM = 19,
};

/* Descriptor words for a segment: base, byte limit (G chosen), type, dpl. */
void desc_make_seg(uint32_t *lo, uint32_t *hi, uint32_t base, uint32_t limit,
		   unsigned type, unsigned s, unsigned dpl, unsigned db);
void desc_make_gate(uint32_t *lo, uint32_t *hi, uint16_t sel, uint32_t offset,
		    unsigned type, unsigned dpl);
void desc_decode(uint32_t lo, uint32_t hi, struct desc *d);

/* A fault: vector and error code (vector < 0: no fault). */
struct fault {
	int vector;
	uint32_t error;
};

enum sreg { SREG_ES, SREG_CS, SREG_SS, SREG_DS, SREG_FS, SREG_GS };

/*
 * Read the descriptor selector names from the GDT or LDT.  Returns 0, or
 * -1 if the index lies beyond the table limit.
 */
int desc_fetch(struct entryemu *m, uint16_t sel, struct desc *d);

/* The checks of MOV/POP/LxS to a data segment register or SS at cpl. */
struct fault desc_check_data_load(struct entryemu *m, enum sreg reg,
				  uint16_t sel, int cpl);
/* The checks of a far CALL or JMP to sel at cpl; *gate set for gates
 * and TSSs, whose checks are not modelled. */
struct fault desc_check_far_transfer(struct entryemu *m, uint16_t sel, int cpl, int *gate);
/* The return CS checks of a far RET at cpl; *outer set for a return to
 * an outer level, whose SS checks are not modelled. */
struct fault desc_check_far_return(struct entryemu *m, uint16_t sel, int cpl, int *outer);
/* The checks IRET applies to a return CS and SS (return to outer level). */
struct fault desc_check_iret(struct entryemu *m, uint16_t cs, uint16_t ss,
			     uint32_t eip, int cpl);

#endif
