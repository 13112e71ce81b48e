/*
 * Protected-mode event delivery as a pure function (Intel SDM vol. 3
 * ch. 6, "Interrupt and exception handling"): from a snapshot of the CPU
 * and a read-only view of memory (the IDT, GDT, LDT and TSS it names),
 * what the CPU does: the frame it pushes and where, the new SS:ESP,
 * CS:EIP and EFLAGS; or the fault a failed check raises instead.  It
 * writes nothing; cpu/deliver.c applies the outcome to the engine.
 */
#ifndef ENTRYEMU_CPU_DELIVER_MODEL_H
#define ENTRYEMU_CPU_DELIVER_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "cpu/desc.h"

struct cpu_table { uint16_t selector; uint32_t base, limit; };

struct cpu_snapshot {
	int amd;			/* AMD's documented behaviour, not Intel's */
	uint32_t eflags, esp;
	uint16_t cs, ss, ds, es, fs, gs;
	struct cpu_table idtr, gdtr, ldtr, tr;
};

/* Memory as the CPU reads it: 0 and *out, or -1 if nothing is mapped there. */
struct mem_view {
	int (*read32)(void *ctx, uint32_t addr, uint32_t *out);
	void *ctx;
};

struct event {
	int vector;
	int software;		/* int n, int3, into: DPL-checked, EXT = 0 */
	int int_n;		/* software, and INT n (CD ib) rather than int3/into */
	int has_error;
	uint32_t error;
	uint32_t eip;		/* return address to push */
	uint32_t insn_eip;	/* the instruction that raised it */
};

enum delivered {
	DELIVERED,		/* the rest of struct delivery says how */
	FAULTED,		/* a check failed: nested is the fault to raise */
	TASK_GATE,		/* a task switch, which is not modelled (why) */
	BROKEN,			/* tables outside memory, a 16-bit gate (why) */
};

struct delivery {
	enum delivered status;
	struct fault nested;
	char why[256];
	int cpl, new_cpl;
	int vm86;			/* the event left virtual-8086 mode */
	uint32_t words[10];		/* pushed, first word first: [SS, ESP,] EFLAGS, CS, EIP[, error] */
	unsigned nwords;		/* (from vm86 mode: GS, FS, DS, ES first) */
	uint32_t frame;			/* linear address of the lowest pushed word */
	uint32_t new_esp;		/* ESP after the pushes (SP only on a 16-bit stack) */
	uint16_t new_ss, new_cs;
	uint32_t new_eip, new_eflags;
	uint32_t pushed_eflags;		/* the EFLAGS image in the frame (RF per 17.3.1.1) */
};

/* Decode the descriptor sel names, through the snapshot's GDTR/LDTR; -1 if none. */
int model_desc_fetch(const struct cpu_snapshot *cpu, const struct mem_view *mem,
		     uint16_t sel, struct desc *d);

void deliver_model(const struct cpu_snapshot *cpu, const struct mem_view *mem,
		   const struct event *ev, struct delivery *out);

#endif
