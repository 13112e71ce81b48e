/* A parsed scenario file: the setup of one run and its expectations. */
#ifndef ENTRYEMU_SCENARIO_H
#define ENTRYEMU_SCENARIO_H

#include <entryemu/entryemu.h>

#include "userasm.h"

struct loc {
	int line, col;		/* 1-based, in the scenario file */
};

/* A number, or a symbol (image or user-code label) resolved at bind time. */
struct value {
	int set;
	uint32_t num;
	char *sym;		/* "name" or "name+off" */
	struct loc loc;
};

/* One checked field: which field of the record and the value it must have. */
struct field_expect {
	int field;		/* index into a field table of expect.c */
	struct value v;
};

#define MAX_FIELDS 24

struct fields_expect {
	int n;
	struct field_expect f[MAX_FIELDS];
};

struct callout_expect {
	char *name;
	int occurrence;			/* 1 = the first call */
	struct loc loc;
	struct fields_expect at;	/* CPU state at the call */
	struct fields_expect regs;	/* its pt_regs */
};

struct fixup_expect {
	char *insn;			/* the faulting instruction, "pop gs" */
	struct loc loc;
};

struct event_expect {
	struct loc loc;
	struct fields_expect f;
};

#define MAX_ITEMS 32

struct entryemu_scenario {
	char *path, *name, *description, *image;
	struct entryemu_setup setup;
	struct user_code code;
	struct fields_expect user;	/* initial user registers */

	int has_outcome;
	enum entryemu_outcome outcome;
	struct loc outcome_loc;
	struct value signal;
	struct fields_expect final, returned;
	int has_fixups;
	struct loc fixups_loc;
	int nfixups;
	struct fixup_expect fixups[MAX_ITEMS];
	int has_events;
	struct loc events_loc;
	int nevents;
	struct event_expect events[MAX_ITEMS];
	int ncallouts;
	struct callout_expect callouts[MAX_ITEMS];
};

/* Field tables, shared by the parser (names) and the checker (access). */
enum field_table { FT_REGS, FT_PT_REGS, FT_CALL, FT_EVENT };
int field_lookup(enum field_table t, const char *name);
const char *field_name(enum field_table t, int field);
/* Selector-sized fields compare their low 16 bits only. */
int field_is_selector(enum field_table t, int field);
uint32_t field_get(enum field_table t, int field, const void *record);
void field_set(enum field_table t, int field, void *record, uint32_t v);

int value_resolve(const struct entryemu_scenario *s, const entryemu *m, struct value *v,
		  char *err, size_t errlen);

#endif
