/*
 * The variants entryemu explore runs for one scenario on one image.
 *
 * - Injections: an IRQ, an NMI and a debug exception (#DB, vector 1)
 *   before each kernel instruction of the scenario's traced run, by
 *   address and occurrence.  An IRQ waits while IF = 0, as the CPU
 *   would.  The callout slots (the kernel's C functions, each one step
 *   of the model), the vsyscall page and user code are left out.
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

int variants_list(struct variants *vs, entryemu *m, const entryemu_result *r)
{
	size_t cap = 0, len = 0;
	vs->v = NULL;
	vs->n = 0;
	const uint32_t *trace = entryemu_result_trace(r, &len);
	struct counts occ = { .mask = 1 };
	while (occ.mask < 2 * len)
		occ.mask = occ.mask * 2 + 1;
	occ.key = calloc(occ.mask + 1, sizeof(*occ.key));
	occ.n = calloc(occ.mask + 1, sizeof(*occ.n));
	if (!occ.key || !occ.n) {
		free(occ.key);
		free(occ.n);
		return -1;
	}
	uint32_t co_lo = entryemu_symbol(m, "__callouts_start");
	uint32_t co_hi = entryemu_symbol(m, "__callouts_end");
	for (size_t k = 0; k < len; k++) {
		uint32_t at = trace[k];
		unsigned occurrence = at ? count_one(&occ, at) : 0;
		if (at < PAGE_OFFSET || at >= ENTRYEMU_VSYSCALL - 0x400 ||
		    (at >= co_lo && at < co_hi))
			continue;	/* user code, the vsyscall page, a C function */
		for (enum kind kind = KIND_IRQ; kind <= KIND_DB; kind++) {
			if (grow(vs, &cap)) {
				free(occ.key);
				free(occ.n);
				return -1;
			}
			vs->v[vs->n++] = (struct variant){ .kind = kind, .at = at,
							    .occurrence = occurrence };
		}
	}
	free(occ.key);
	free(occ.n);
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
