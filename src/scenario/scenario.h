/*
 * A parsed scenario file: the setup of one run and its expectations.
 * Internal to libentryemu-scenario, which sees libentryemu through its
 * public header only.
 */
#ifndef ENTRYEMU_SCENARIO_INTERNAL_H
#define ENTRYEMU_SCENARIO_INTERNAL_H

#include <entryemu/entryemu.h>
#include <entryemu/scenario.h>

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

/*
 * A list of checked fields, allocated at its first field (most lists of
 * a scenario stay empty, and a binding copies them all).
 */
struct fields_expect {
	int n;
	struct field_expect *f;		/* MAX_FIELDS entries once allocated */
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
	char *image;			/* findings only: on this image (NULL: all) */
	struct value at;		/* findings only: where it is seen (unset: anywhere) */
};

struct event_expect {
	struct loc loc;
	struct fields_expect f;
};

#define MAX_ITEMS 32

/* What a scenario makes a callout do. */
struct action {
	char *callout;			/* callout name, or NULL for a syscall */
	int syscall;			/* with callout == NULL */
	int occurrence;			/* 0: every call */
	struct loc loc;
	struct value ret;		/* %eax to return */
	struct fields_expect regs;	/* pt_regs fields to write */
	int nedits;
	struct entryemu_desc_edit edits[8];
	uint32_t ti_set, ti_clear;
	int run_default;		/* then the library's default */
};

/* Runs the actions of one callout or syscall (registered at bind time). */
struct dispatch {
	struct entryemu_binding *b;
	const char *callout;
	int syscall;
};

struct inject_spec {
	struct entryemu_inject in;
	struct value at;		/* symbol or address */
	struct loc loc;			/* the item */
};

/* The keys of an expect mapping, as bits of expectations.keys. */
enum expect_key {
	EK_OUTCOME = 1 << 0, EK_SIGNAL = 1 << 1, EK_MESSAGE = 1 << 2, EK_FINAL = 1 << 3,
	EK_RETURNED = 1 << 4, EK_FIXUPS = 1 << 5, EK_EVENTS = 1 << 6, EK_CALLOUTS = 1 << 7,
	EK_FINDINGS = 1 << 8, EK_NOT_CALLED = 1 << 9,
};

/* What the run must show: the scenario's expect key. */
struct expectations {
	unsigned keys;			/* enum expect_key: the keys given */
	int has_outcome;
	enum entryemu_outcome outcome;
	struct loc outcome_loc;
	struct value signal;
	struct fields_expect siginfo;	/* si_code, si_addr, trap_no, error_code */
	char *message;			/* a substring of the result's message */
	struct loc message_loc;
	int has_returns;		/* every return to ring 3, in order */
	struct loc returns_loc;
	int nreturns;
	struct event_expect returns[MAX_ITEMS];
	char *recorded_failure;		/* a recording of a run its caller failed:
					 * the caller's message, itself a failure */
	struct loc recorded_failure_loc;
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
	int has_findings;
	struct loc findings_loc;
	int nfindings;
	struct fixup_expect findings[MAX_ITEMS];	/* checker names expected */
	int nnot_called;
	struct fixup_expect not_called[MAX_ITEMS];	/* callouts that must not run */
};

#define MAX_IMAGES 6

/*
 * Kernel families: the shapes of entry path a scenario can be written
 * for, told apart by the image's per-CPU register and espfix flavour
 * (families.c).
 */
enum family {
	FAM_PRE = 1 << 0,	/* 2.6.18-2.6.19: no per-CPU segment, 16-bit espfix */
	FAM_POST = 1 << 1,	/* the seed's kernel: per-CPU %gs, 16-bit espfix */
	FAM_PDA = 1 << 2,	/* 2.6.20: per-CPU %gs (the PDA), 32-bit espfix */
	FAM_FS = 1 << 3,	/* 2.6.21-2.6.23: per-CPU %fs, 32-bit espfix */
	FAM_ALL = (1 << 4) - 1,
};
#define NFAMILIES 4

/* An expect mapping for some families or one image, over the scenario's own. */
struct family_expect {
	unsigned families;	/* enum family bits; 0 for an image's */
	char *image;		/* image_expect: the image's name */
	struct loc loc;
	struct expectations exp;
};
#define MAX_FAMILY_EXPECT 8
#define MAX_EDITS 16
#define MAX_INJECTS 8

/* Immutable once entryemu_scenario_load() returns it. */
struct entryemu_scenario {
	char *path, *name, *description;
	char *images[MAX_IMAGES];	/* "post", "pre" or a path */
	struct loc image_locs[MAX_IMAGES];	/* where each is named */
	int nimages;
	char image_paths[MAX_IMAGES][4096];	/* resolved at load */
	struct entryemu_setup setup;	/* the plain-number parts of the setup */
	struct user_code code;
	struct loc code_loc;		/* the code or bytes key */
	struct fields_expect user;	/* initial user registers */
	int nedits;
	struct entryemu_desc_edit edits[MAX_EDITS];
	char *edit_handlers[MAX_EDITS];	/* IDT gates by handler name */
	struct loc edit_locs[MAX_EDITS];	/* each item's entry/vector */
	int ninjects;
	struct loc injects_loc;		/* the inject key */
	struct inject_spec injects[MAX_INJECTS];
	struct value thread_fn, thread_arg;	/* kernel_thread: {fn, arg} */
	struct loc cr0_loc, vm86_loc, code_readonly_loc;	/* their keys (line 0: not given) */
	int nactions;
	struct action actions[MAX_ITEMS];
	struct expectations exp;
	unsigned families;		/* enum family: where it applies (0: see images) */
	struct loc families_loc;
	int nfamily_exp;
	struct family_expect *family_exp;	/* MAX_FAMILY_EXPECT at most */
};

/* A scenario bound to one machine: owns all that its callouts and check use. */
struct entryemu_binding {
	entryemu *m;
	char *path;
	struct entryemu_setup setup;
	uint8_t *code;
	struct entryemu_desc_edit edits[MAX_EDITS];
	struct entryemu_inject injects[MAX_INJECTS];
	int nactions;
	struct action actions[MAX_ITEMS];	/* resolved, symbols dropped */
	struct dispatch dispatch[MAX_ITEMS];
	int nregistered;		/* dispatchers set on m */
	struct expectations exp;	/* a copy, its symbols resolved */
	struct entryemu_label *labels;	/* the code's labels, for traces */
	size_t nlabels;
};

/* Field tables, shared by the parser (names) and the checker (access). */
enum field_table { FT_REGS, FT_PT_REGS, FT_CALL, FT_EVENT, FT_SIGINFO };
size_t field_count(enum field_table t);
int field_lookup(enum field_table t, const char *name);
const char *field_name(enum field_table t, int field);
/* Selector-sized fields compare their low 16 bits only. */
int field_is_selector(enum field_table t, int field);
uint32_t field_get(enum field_table t, int field, const void *record);
void field_set(enum field_table t, int field, void *record, uint32_t v);

struct parser;
struct fy_node;
/* scenario_setup.c: the run-shaping keys of a scenario */
int parse_images(struct parser *p, struct fy_node *k, struct fy_node *v);
int parse_descriptors(struct parser *p, struct fy_node *k, struct fy_node *v,
		      enum entryemu_table table, struct entryemu_desc_edit *out,
		      int *n, int max, char **handlers, struct loc *locs);
int parse_injects(struct parser *p, struct fy_node *k, struct fy_node *v);
int parse_actions(struct parser *p, struct fy_node *k, struct fy_node *v);
int parse_cr0(struct parser *p, struct fy_node *k, struct fy_node *v);
int parse_kernel_thread(struct parser *p, struct fy_node *k, struct fy_node *v);
int parse_ti_flag_list(struct parser *p, struct fy_node *k, struct fy_node *v,
		       uint32_t *out);
/* Resolve the setup and actions into b and register its callouts on m. */
int binding_setup(entryemu_binding *b, const entryemu_scenario *s, char *err, size_t errlen);
/* Unregister b's callouts and free its actions. */
void binding_release_actions(entryemu_binding *b);

/* Resolve v (a copy the caller owns) against s's labels and m's image. */
int value_resolve(const entryemu_scenario *s, entryemu *m, struct value *v,
		  char *err, size_t errlen);
void free_fields(struct fields_expect *f);
/* The next field of f, zeroed; NULL when f has MAX_FIELDS or memory ran out. */
struct field_expect *fields_add(struct fields_expect *f);
/* f's array made its own (the names in it are not): nonzero when out of memory. */
int fields_own(struct fields_expect *f);

/* families.c */
/* The family of the image m has loaded, or 0 when it is none of them. */
unsigned family_of_image(const entryemu *m);
/* The family bit of a name ("pda"), or 0. */
unsigned family_named(const char *name);
/* The family of a bundled image name ("post-preempt": post), or 0. */
unsigned family_of_image_name(const char *name);
/* The families scenario s applies to. */
unsigned scenario_families(const entryemu_scenario *s);
int parse_families(struct parser *p, struct fy_node *k, struct fy_node *v);
int parse_family_expect(struct parser *p, struct fy_node *k, struct fy_node *v);
int parse_image_expect(struct parser *p, struct fy_node *k, struct fy_node *v);
/*
 * The expect mapping of s on m's image: its own, with the keys its
 * family gives over it, then those its image gives.
 */
int family_expectations(const entryemu_scenario *s, const entryemu *m, struct expectations *out);

/* scenario.c: one key of an expect mapping */
int expect_pair(struct parser *p, const char *key, struct fy_node *k, struct fy_node *v,
		void *c);

/* expect.c */
void expectations_free(struct expectations *e);
/* Copy src into dst (every string duplicated); on failure dst is freed. */
int expectations_copy(struct expectations *dst, const struct expectations *src);
int expectations_resolve(struct expectations *e, const entryemu_scenario *s,
			 entryemu *m, char *err, size_t errlen);

#endif
