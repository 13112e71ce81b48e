/*
 * Named fields of the records a scenario can check: user registers,
 * pt_regs, the CPU state at a callout, a delivered event, the signal
 * the default trap handlers sent.  One table per
 * record gives the name, where the field is and how wide it is.
 */
#include "scenario.h"

#include <stddef.h>
#include <string.h>

struct field {
	const char *name;
	size_t off;
	unsigned size;		/* 2 or 4 bytes (int fields are 4) */
	int selector;		/* compare the low 16 bits only */
};

#define R(f) { #f, offsetof(struct entryemu_regs, f), sizeof(((struct entryemu_regs *)0)->f), 0 }
static const struct field regs_fields[] = {
	R(eax), R(ebx), R(ecx), R(edx), R(esi), R(edi), R(ebp), R(esp), R(eip),
	R(eflags), R(cs), R(ss), R(ds), R(es), R(fs), R(gs),
};
#undef R

/*
 * Segment slots of pt_regs are 32 bits wide but hold a 16-bit selector:
 * a 32-bit push of a segment register may leave the upper half as it was
 * (SDM vol. 2, PUSH), so only the selector is compared.
 */
#define P(f, sel) { #f, offsetof(struct entryemu_pt_regs, f), 4, sel }
/*
 * ... and the same slots whole, for where the kernel means all 32 bits
 * (what signal.c copies to the sigcontext, what ptrace hands out):
 * xgs32 and the others compare the full word, upper half included.
 */
#define W(f) { #f "32", offsetof(struct entryemu_pt_regs, f), 4, 0 }
static const struct field pt_fields[] = {
	P(ebx, 0), P(ecx, 0), P(edx, 0), P(esi, 0), P(edi, 0), P(ebp, 0), P(eax, 0),
	P(xds, 1), P(xes, 1), P(xgs, 1), P(xfs, 1), P(orig_eax, 0), P(eip, 0), P(xcs, 1),
	P(eflags, 0), P(esp, 0), P(xss, 1),
	W(xds), W(xes), W(xgs), W(xcs), W(xss),
};
#undef W
#undef P

#define C(f) { #f, offsetof(struct entryemu_callout_record, f), \
	       sizeof(((struct entryemu_callout_record *)0)->f), 0 }
static const struct field call_fields[] = {
	C(cs), C(ss), C(ds), C(es), C(fs), C(gs), C(eax), C(edx), C(esp), C(eflags),
	C(return_addr),
	/*
	 * The register the image keeps its per-CPU segment in: bound to fs or
	 * gs when the scenario is bound to an image (expect.c); read as gs
	 * until then, and on kernels without one.
	 */
	{ "percpu", offsetof(struct entryemu_callout_record, gs), 2, 0 },
};
#undef C

#define E(f) { #f, offsetof(struct entryemu_event_record, f), 4, 0 }
static const struct field event_fields[] = {
	E(vector), E(software), E(has_error_code), E(error_code), E(eip),
	E(from_cpl), E(handler), E(frame), E(to_cpl),
};
#undef E

/* What the default trap handlers sent (entryemu_result_siginfo). */
#define S(name, f) { name, offsetof(struct entryemu_siginfo, f), 4, 0 }
static const struct field siginfo_fields[] = {
	S("si_code", code), S("si_addr", addr), S("trap_no", trap_no),
	S("error_code", error_code),
};
#undef S

static const struct field *table(enum field_table t, size_t *n)
{
	switch (t) {
	case FT_REGS: *n = sizeof(regs_fields) / sizeof(regs_fields[0]); return regs_fields;
	case FT_PT_REGS: *n = sizeof(pt_fields) / sizeof(pt_fields[0]); return pt_fields;
	case FT_CALL: *n = sizeof(call_fields) / sizeof(call_fields[0]); return call_fields;
	case FT_EVENT: *n = sizeof(event_fields) / sizeof(event_fields[0]); return event_fields;
	case FT_SIGINFO: *n = sizeof(siginfo_fields) / sizeof(siginfo_fields[0]); return siginfo_fields;
	}
	*n = 0;
	return NULL;
}

size_t field_count(enum field_table t)
{
	size_t n;
	(void)table(t, &n);
	return n;
}

int field_lookup(enum field_table t, const char *name)
{
	size_t n;
	const struct field *f = table(t, &n);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(f[i].name, name))
			return (int)i;
	return -1;
}

const char *field_name(enum field_table t, int field)
{
	size_t n;
	return table(t, &n)[field].name;
}

int field_is_selector(enum field_table t, int field)
{
	size_t n;
	const struct field *f = table(t, &n);
	return f[field].selector || f[field].size == 2;
}

uint32_t field_get(enum field_table t, int field, const void *record)
{
	size_t n;
	const struct field *f = &table(t, &n)[field];
	const char *p = (const char *)record + f->off;
	if (f->size == 2) {
		uint16_t v;
		memcpy(&v, p, 2);
		return v;
	}
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

void field_set(enum field_table t, int field, void *record, uint32_t v)
{
	size_t n;
	const struct field *f = &table(t, &n)[field];
	char *p = (char *)record + f->off;
	if (f->size == 2) {
		uint16_t s = (uint16_t)v;
		memcpy(p, &s, 2);
	} else {
		memcpy(p, &v, 4);
	}
}
