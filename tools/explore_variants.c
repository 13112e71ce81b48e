/*
 * The variants entryemu explore runs for one scenario on one image.
 *
 * - Injections: an IRQ and an NMI before each kernel instruction of the
 *   scenario's traced run, by address and occurrence.  An IRQ waits
 *   while IF = 0, as the CPU would.  Before a callout slot (a kernel C
 *   function, one step of the model) the event comes before the function
 *   runs.  The vsyscall page and user code are left out.
 * - A debug exception (#DB, vector 1) where the CPU raises one in kernel
 *   code of a kernel no debugger is attached to: a data breakpoint that
 *   ptrace set on a user address hits when the kernel reads that address
 *   (a trap, after the instruction: SDM vol. 3A 17.3.1.2), so #DB goes
 *   after each instruction of __ex_table that reads memory through an
 *   operand (the user accesses; the pops and iret there read the kernel
 *   stack).  A single-step #DB needs EFLAGS.TF, which every gate clears;
 *   only sysenter keeps it, a case the single-step scenarios run as it
 *   happens.  #DB anywhere else needs a kernel debugger's breakpoints,
 *   which 2.6.18 keeps out of this code (KPROBE_ENTRY).
 * - System-call boundaries, for a scenario that entered the kernel by
 *   int $0x80 or sysenter: the scenario's set-up with its code replaced
 *   by the bare entry instruction, %eax the syscall number 0,
 *   NR_syscalls - 1, NR_syscalls or -1 (the checks in system_call and
 *   sysenter_entry: `cmpl $nr_syscalls, %eax; jae syscall_badsys'), and
 *   every argument register, %ebp included (on the sysenter path the
 *   user stack the sixth argument is read from), PAGE_OFFSET - 4 ..
 *   PAGE_OFFSET (sysenter_past_esp's `cmpl $__PAGE_OFFSET-3, %ebp').
 */
#include "explore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_OFFSET 0xc0000000u

enum kind { KIND_IRQ, KIND_NMI, KIND_DB, KIND_SYSCALL };
static const char *const kind_name[] = { "irq", "nmi", "debug", "syscall" };
enum path { PATH_INT80, PATH_SYSENTER };

struct variant {
	enum kind kind;
	uint32_t at;			/* injections: before this instruction */
	unsigned occurrence;		/* ... the n-th time it runs */
	enum path path;			/* system calls */
	uint32_t nr, ptr;
};

static int grow(struct variants *vs, size_t *cap)
{
	if (vs->n < *cap)
		return 0;
	size_t c = *cap ? *cap * 2 : 256;
	struct variant *v = realloc(vs->v, c * sizeof(*v));
	if (!v)
		return -1;
	vs->v = v;
	*cap = c;
	return 0;
}

/* Did the run enter the kernel from ring 3 by int $0x80 or sysenter? */
static int made_a_syscall(const entryemu_result *r)
{
	for (size_t i = 0; i < entryemu_result_nevents(r); i++) {
		const struct entryemu_event_record *e = entryemu_result_event(r, i);
		if (e->from_cpl == 3 && (e->vector == 0x80 || e->vector == 256))
			return 1;
	}
	return 0;
}

/* How often each address has run so far: open addressing, keys != 0. */
struct counts {
	uint32_t *key;
	unsigned *n;
	size_t mask;
};

static unsigned count_one(struct counts *c, uint32_t addr)
{
	size_t h = (addr * 2654435761u) & c->mask;
	while (c->key[h] && c->key[h] != addr)
		h = (h + 1) & c->mask;
	c->key[h] = addr;
	return ++c->n[h];
}

/* An __ex_table instruction that reads memory through an operand. */
static int reads_user_operand(entryemu *m, uint32_t addr)
{
	char text[128];
	if (entryemu_insn_text(m, addr, ENTRYEMU_SYNTAX_ATT, text, sizeof(text)) < 0)
		return 0;
	if (!strncmp(text, "pop", 3) || !strncmp(text, "push", 4) || !strncmp(text, "iret", 4))
		return 0;
	return strchr(text, '(') != NULL;
}

/* The image's user-access instructions, sorted: their count, or -1. */
static long user_accesses(entryemu *m, uint32_t **out)
{
	entryemu_coverage *c = entryemu_coverage_new(m);
	if (!c)
		return -1;
	size_t n = entryemu_coverage_nextable(c), k = 0;
	uint32_t *a = malloc((n ? n : 1) * sizeof(*a));
	if (!a) {
		entryemu_coverage_free(c);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		uint32_t insn = entryemu_coverage_extable(c, i)->insn;
		if (reads_user_operand(m, insn))
			a[k++] = insn;
	}
	entryemu_coverage_free(c);
	*out = a;
	return (long)k;
}

static int listed(const uint32_t *a, long n, uint32_t addr)
{
	for (long i = 0; i < n; i++)
		if (a[i] == addr)
			return 1;
	return 0;
}

int variants_list(struct variants *vs, entryemu *m, const entryemu_result *r,
		  uint64_t base_budget)
{
	size_t cap = 0, len = 0;
	vs->v = NULL;
	vs->n = 0;
	/*
	 * A variant that runs 20 times longer than the scenario (events count
	 * as instructions) is a find already: a loop, or a storm of faults.
	 * The cap keeps such variants from taking seconds each.
	 */
	uint64_t insns = entryemu_result_insns(r);
	vs->budget = insns * 20 > 20000 ? insns * 20 : 20000;
	if (base_budget && vs->budget > base_budget)
		vs->budget = base_budget;
	const uint32_t *trace = entryemu_result_trace(r, &len);
	uint32_t *ua = NULL;
	long nua = user_accesses(m, &ua);
	if (nua < 0)
		return -1;
	struct counts occ = { .mask = 1 };
	while (occ.mask < 2 * len)
		occ.mask = occ.mask * 2 + 1;
	occ.key = calloc(occ.mask + 1, sizeof(*occ.key));
	occ.n = calloc(occ.mask + 1, sizeof(*occ.n));
	if (!occ.key || !occ.n) {
		free(occ.key);
		free(occ.n);
		free(ua);
		return -1;
	}
	for (size_t k = 0; k < len; k++) {
		uint32_t at = trace[k];
		unsigned occurrence = at ? count_one(&occ, at) : 0;
		if (at < PAGE_OFFSET || at >= ENTRYEMU_VSYSCALL - 0x400)
			continue;	/* user code, the vsyscall page */
		/* #DB: only right after a user access (a data breakpoint) */
		int db = k > 0 && listed(ua, nua, trace[k - 1]);
		for (enum kind kind = KIND_IRQ; kind <= (db ? KIND_DB : KIND_NMI); kind++) {
			if (grow(vs, &cap)) {
				free(occ.key);
				free(occ.n);
				free(ua);
				return -1;
			}
			vs->v[vs->n++] = (struct variant){ .kind = kind, .at = at,
							    .occurrence = occurrence };
		}
	}
	free(occ.key);
	free(occ.n);
	free(ua);
	uint32_t nr_syscalls = entryemu_nr_syscalls(m);
	if (!made_a_syscall(r) || !nr_syscalls)
		return 0;
	const uint32_t nrs[] = { 0, nr_syscalls - 1, nr_syscalls, 0xffffffffu };
	for (enum path p = PATH_INT80; p <= PATH_SYSENTER; p++)
		for (size_t i = 0; i < sizeof(nrs) / sizeof(nrs[0]); i++)
			for (uint32_t ptr = PAGE_OFFSET - 4; ptr - (PAGE_OFFSET - 4) <= 4; ptr++) {
				if (grow(vs, &cap))
					return -1;
				vs->v[vs->n++] = (struct variant){ .kind = KIND_SYSCALL, .path = p,
								    .nr = nrs[i], .ptr = ptr };
			}
	return 0;
}

void variants_free(struct variants *vs)
{
	free(vs->v);
	vs->v = NULL;
	vs->n = 0;
}

void variant_setup(const struct variants *vs, size_t k, const struct entryemu_setup *base,
		   struct entryemu_setup *out, struct variant_storage *store)
{
	const struct variant *v = &vs->v[k];
	*out = *base;
	out->insn_budget = vs->budget;
	if (v->kind == KIND_SYSCALL) {
		/* int $0x80 (cd 80) or sysenter (0f 34), and nothing after it */
		store->code[0] = v->path == PATH_INT80 ? 0xcd : 0x0f;
		store->code[1] = v->path == PATH_INT80 ? 0x80 : 0x34;
		out->code = store->code;
		out->code_len = 2;
		out->user.eax = v->nr;
		out->user.ebx = out->user.ecx = out->user.edx = v->ptr;
		out->user.esi = out->user.edi = out->user.ebp = v->ptr;
		return;
	}
	if (base->ninjects)
		memcpy(store->injects, base->injects, base->ninjects * sizeof(store->injects[0]));
	struct entryemu_inject *in = &store->injects[base->ninjects];
	memset(in, 0, sizeof(*in));
	in->kind = v->kind == KIND_IRQ ? ENTRYEMU_INJECT_IRQ :
		   v->kind == KIND_NMI ? ENTRYEMU_INJECT_NMI : ENTRYEMU_INJECT_EXCEPTION;
	in->vector = v->kind == KIND_DB ? 1 : 0;
	in->at = v->at;
	in->occurrence = v->occurrence;
	out->injects = store->injects;
	out->ninjects = base->ninjects + 1;
}

void variant_describe(const struct variants *vs, size_t k, entryemu *m, char *what,
		      size_t whatlen, char *label, size_t labellen)
{
	const struct variant *v = &vs->v[k];
	if (v->kind == KIND_SYSCALL) {
		const char *path = v->path == PATH_INT80 ? "int80" : "sysenter";
		snprintf(what, whatlen, "%s with %%eax = %d and every argument 0x%08x",
			 v->path == PATH_INT80 ? "int $0x80" : "sysenter", (int)v->nr, v->ptr);
		snprintf(label, labellen, "syscall-%s-%d-%08x", path, (int)v->nr, v->ptr);
		return;
	}
	char sym[128];
	entryemu_symbolize(m, v->at, sym, sizeof(sym));
	snprintf(what, whatlen, "%s before %s (occurrence %u)", kind_name[v->kind], sym,
		 v->occurrence);
	snprintf(label, labellen, "%s-%08x-%u", kind_name[v->kind], v->at, v->occurrence);
}
