/*
 * The keys of a scenario that shape its run: which images, descriptor
 * edits (gdt, idt), injected events, CR0 bits, and what callouts do
 * (actions).  Actions become callouts registered on the machine at bind
 * time; an action for the n-th call only asks the library which call of
 * the run this is (entryemu_call_occurrence), so every run of the
 * machine, the binding's own or another setup's (a variant with events
 * added), applies it to the same call.
 */
#include "scenario.h"
#include "yaml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int parse_images(struct parser *p, struct fy_node *k, struct fy_node *v)
{
	entryemu_scenario *s = p->s;
	struct fy_node *items[MAX_ITEMS];
	int n = 1;
	if (fy_node_is_sequence(v)) {
		if (get_list(p, k, v, "image", items, &n) < 0)
			return -1;
		if (n < 1 || n > MAX_IMAGES)
			return fail_at(p, loc_of(k), "image: give 1 to %d images", MAX_IMAGES);
	} else {
		items[0] = v;
	}
	for (int i = 0; i < n; i++) {
		if (!fy_node_is_scalar(items[i]))
			return fail_at(p, loc_of(items[i]), "image: each image is a name (post, "
				       "pre) or a path, got a %s",
				       fy_node_is_mapping(items[i]) ? "mapping" : "sequence");
		if (get_string(p, items[i], items[i], &s->images[i]) < 0)
			return -1;
		s->image_locs[i] = loc_of(items[i]);
	}
	s->nimages = n;
	return 0;
}

/* ---- descriptors ------------------------------------------------------------ */

struct desc_ctx {
	enum entryemu_table table;
	struct entryemu_desc_edit *e;
	struct value index, lo, hi, base, limit, type, dpl, present, db, system, sel;
	char *handler;
};

static int desc_pair(struct parser *p, const char *key, struct fy_node *k,
		     struct fy_node *v, void *c)
{
	struct desc_ctx *d = c;
	int gdt = d->table == ENTRYEMU_GDT;
	if (!strcmp(key, gdt ? "entry" : "vector"))
		/* the machine's GDT has ENTRYEMU_GDT_ENTRIES descriptors, the IDT 256 gates */
		return get_unsigned(p, k, v, gdt ? ENTRYEMU_GDT_ENTRIES - 1 : 255, &d->index);
	if (!strcmp(key, "lo"))
		return get_value(p, k, v, 0xffffffff, 0, &d->lo);
	if (!strcmp(key, "hi"))
		return get_value(p, k, v, 0xffffffff, 0, &d->hi);
	if (!strcmp(key, "type")) {
		char buf[32];
		const char *t = fy_node_is_scalar(v) ? scalar(v, buf, sizeof(buf)) : NULL;
		static const struct { const char *n; unsigned v; } names[] = {
			{ "interrupt", 0xE }, { "trap", 0xF }, { "task", 0x5 },
			{ "data", 0x3 }, { "data_ro", 0x1 }, { "code", 0xB }, { "code_xo", 0x9 },
		};
		for (size_t i = 0; t && i < sizeof(names) / sizeof(names[0]); i++)
			if (!strcmp(t, names[i].n)) {
				d->type.set = 1;
				d->type.num = names[i].v;
				d->type.loc = loc_of(v);
				return 0;
			}
		return get_value(p, k, v, 15, 0, &d->type);
	}
	if (!strcmp(key, "dpl"))
		return get_value(p, k, v, 3, 0, &d->dpl);
	if (!strcmp(key, "present"))
		return get_value(p, k, v, 1, 0, &d->present);
	if (gdt && !strcmp(key, "base"))
		return get_unsigned(p, k, v, 0xffffffff, &d->base);
	if (gdt && !strcmp(key, "limit"))
		return get_unsigned(p, k, v, 0xffffffff, &d->limit);
	if (gdt && !strcmp(key, "db"))
		return get_value(p, k, v, 1, 0, &d->db);
	if (gdt && !strcmp(key, "system"))
		return get_value(p, k, v, 1, 0, &d->system);
	if (!gdt && !strcmp(key, "selector"))
		return get_value(p, k, v, 0xffff, 0, &d->sel);
	if (!gdt && !strcmp(key, "handler"))
		return get_string(p, k, v, &d->handler);
	return fail_at(p, loc_of(k), "%s: unknown key '%s' (%s)", gdt ? "gdt" : "idt", key,
		       gdt ? "entry, lo, hi, or base, limit, type, dpl, present, db, system"
			   : "vector, lo, hi, or handler, selector, type, dpl, present");
}

/*
 * A descriptor as raw words (lo, hi) or by its fields (SDM vol. 3 figure
 * 3-8 for segments, 6-2 for gates).  A GDT limit above 0xfffff is
 * written in pages (G = 1).
 */
int parse_descriptors(struct parser *p, struct fy_node *k, struct fy_node *v,
		      enum entryemu_table table, struct entryemu_desc_edit *out,
		      int *n, int max, char **handlers, struct loc *locs)
{
	struct fy_node *items[MAX_ITEMS];
	int count;
	const char *what = table == ENTRYEMU_GDT ? "gdt" : "idt";
	if (get_list(p, k, v, what, items, &count) < 0)
		return -1;
	for (int i = 0; i < count; i++) {
		if (*n >= max)
			return fail_at(p, loc_of_item(items[i]), "%s: at most %d edits", what, max);
		struct desc_ctx d = { .table = table, .e = &out[*n] };
		int rc = each_pair(p, items[i], k, what, desc_pair, &d);
		if (rc < 0) {
			free(d.handler);
			return -1;
		}
		struct entryemu_desc_edit *e = &out[(*n)++];
		e->table = table;
		if (!d.index.set) {
			free(d.handler);
			return fail_at(p, loc_of(k), "%s: item %d needs %s", what, i + 1,
				       table == ENTRYEMU_GDT ? "entry" : "vector");
		}
		e->index = d.index.num;
		if (locs)
			locs[*n - 1] = d.index.loc;
		if (d.lo.set || d.hi.set) {
			e->lo = d.lo.num;
			e->hi = d.hi.num;
			free(d.handler);
			continue;
		}
		unsigned present = d.present.set ? d.present.num : 1;
		unsigned dpl = d.dpl.num;
		if (table == ENTRYEMU_GDT) {
			uint32_t base = d.base.num, limit = d.limit.num, g = 0;
			/* in pages (G = 1) the low 12 bits read as 0xfff: say so, do not round */
			if (limit > 0xfffff && (limit & 0xfff) != 0xfff)
				return fail_at(p, d.limit.loc, "limit: 0x%x is above 0xfffff and not "
					       "a whole number of pages minus 1 (G = 1 would make it "
					       "0x%x)", limit, limit | 0xfff);
			if (limit > 0xfffff) {
				g = 1;
				limit >>= 12;
			}
			unsigned type = d.type.set ? d.type.num : 0x3;
			unsigned s = d.system.set ? !d.system.num : 1;
			unsigned db = d.db.set ? d.db.num : 1;
			e->lo = ((base & 0xffff) << 16) | (limit & 0xffff);
			e->hi = (base & 0xff000000) | ((base >> 16) & 0xff) | (limit & 0xf0000) |
				(g << 23) | (db << 22) | (present << 15) | (dpl << 13) |
				(s << 12) | (type << 8);
		} else {
			/* the handler is an image symbol: resolved at bind time */
			unsigned type = d.type.set ? d.type.num : 0xE;
			uint16_t sel = d.sel.set ? (uint16_t)d.sel.num : ENTRYEMU_KERNEL_CS;
			e->lo = (uint32_t)sel << 16;
			e->hi = (present << 15) | (dpl << 13) | (type << 8);
			if (d.handler && handlers) {
				/* stash the name; bind replaces it by the address */
				handlers[*n - 1] = d.handler;
				d.handler = NULL;
			}
		}
		free(d.handler);
	}
	return 0;
}

/* ---- injections --------------------------------------------------------------- */

static int inject_pair(struct parser *p, const char *key, struct fy_node *k,
		       struct fy_node *v, void *c)
{
	struct inject_spec *is = c;
	struct value val;
	if (!strcmp(key, "exception") || !strcmp(key, "irq")) {
		if (get_value(p, k, v, key[0] == 'e' ? 31 : 15, 0, &val) < 0)
			return -1;
		is->in.kind = key[0] == 'e' ? ENTRYEMU_INJECT_EXCEPTION : ENTRYEMU_INJECT_IRQ;
		is->in.vector = (int)val.num;
		return 0;
	}
	if (!strcmp(key, "nmi")) {
		if (get_value(p, k, v, 1, 0, &val) < 0)
			return -1;
		is->in.kind = ENTRYEMU_INJECT_NMI;
		return 0;
	}
	if (!strcmp(key, "error_code")) {
		if (get_value(p, k, v, 0xffffffff, 0, &val) < 0)
			return -1;
		is->in.error_code_given = 1;
		is->in.error_code = val.num;
		return 0;
	}
	if (!strcmp(key, "at"))
		return get_value(p, k, v, 0xffffffff, 1, &is->at);
	if (!strcmp(key, "after")) {
		/* an instruction count: no later than the largest budget */
		if (get_unsigned(p, k, v, SCENARIO_MAX_BUDGET, &val) < 0)
			return -1;
		is->in.after = val.num;
		return 0;
	}
	if (!strcmp(key, "occurrence")) {
		if (get_unsigned(p, k, v, 1000000, &val) < 0)
			return -1;
		is->in.occurrence = val.num;
		return 0;
	}
	return fail_at(p, loc_of(k), "inject: unknown key '%s' (exception, irq, nmi, "
		       "error_code, at, after, occurrence)", key);
}

int parse_injects(struct parser *p, struct fy_node *k, struct fy_node *v)
{
	struct fy_node *items[MAX_ITEMS];
	int n;
	if (get_list(p, k, v, "inject", items, &n) < 0)
		return -1;
	if (n > MAX_INJECTS)
		return fail_at(p, loc_of(k), "inject: at most %d events", MAX_INJECTS);
	p->s->injects_loc = loc_of(k);
	for (int i = 0; i < n; i++) {
		struct inject_spec *is = &p->s->injects[i];
		is->in.vector = -1;
		is->loc = loc_of_item(items[i]);
		p->s->ninjects = i + 1;
		if (each_pair(p, items[i], k, "inject", inject_pair, is) < 0)
			return -1;
		if (is->in.vector < 0 && is->in.kind != ENTRYEMU_INJECT_NMI)
			return fail_at(p, loc_of_item(items[i]), "inject: say exception, irq or nmi");
		if (!is->at.set && !is->in.after)
			return fail_at(p, loc_of_item(items[i]), "inject: say where: at or after");
	}
	p->s->ninjects = n;
	return 0;
}

/* ---- kernel threads ------------------------------------------------------------ */

static int kthread_pair(struct parser *p, const char *key, struct fy_node *k,
			struct fy_node *v, void *c)
{
	entryemu_scenario *s = c;
	if (!strcmp(key, "fn"))
		return get_value(p, k, v, 0xffffffff, 1, &s->thread_fn);
	if (!strcmp(key, "arg"))
		return get_value(p, k, v, 0xffffffff, 1, &s->thread_arg);
	return fail_at(p, loc_of(k), "kernel_thread: unknown key '%s' (fn, arg)", key);
}

int parse_kernel_thread(struct parser *p, struct fy_node *k, struct fy_node *v)
{
	if (each_pair(p, v, k, "kernel_thread", kthread_pair, p->s) < 0)
		return -1;
	if (!p->s->thread_fn.set)
		return fail_at(p, loc_of(k), "kernel_thread: needs fn");
	return 0;
}

/* ---- CR0 and TIF flags ------------------------------------------------------- */

int parse_cr0(struct parser *p, struct fy_node *k, struct fy_node *v)
{
	struct fy_node *items[MAX_ITEMS];
	int n;
	if (get_list(p, k, v, "cr0", items, &n) < 0)
		return -1;
	p->s->cr0_loc = loc_of(k);
	for (int i = 0; i < n; i++) {
		char buf[16];
		const char *t = fy_node_is_scalar(items[i]) ? scalar(items[i], buf, sizeof(buf)) : "";
		if (!strcmp(t, "ts"))
			p->s->setup.cr0_set |= 8;
		else if (!strcmp(t, "em"))
			p->s->setup.cr0_set |= 4;
		else if (!strcmp(t, "mp"))
			p->s->setup.cr0_set |= 2;
		else
			return fail_at(p, loc_of_item(items[i]), "cr0: unknown bit '%s' (ts, em, mp)", t);
	}
	return 0;
}

int parse_ti_flag_list(struct parser *p, struct fy_node *k, struct fy_node *v, uint32_t *out)
{
	static const struct { const char *name; unsigned bit; } tif[] = {
		{ "syscall_trace", 0 }, { "notify_resume", 1 }, { "sigpending", 2 },
		{ "need_resched", 3 }, { "singlestep", 4 }, { "iret", 5 },
		{ "syscall_emu", 6 }, { "syscall_audit", 7 }, { "seccomp", 8 },
		{ "restore_sigmask", 9 },
	};
	struct fy_node *items[MAX_ITEMS];
	int n;
	if (get_list(p, k, v, "ti_flags", items, &n) < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		char buf[64];
		const char *s = fy_node_is_scalar(items[i]) ? scalar(items[i], buf, sizeof(buf)) : NULL;
		size_t j;
		for (j = 0; s && j < sizeof(tif) / sizeof(tif[0]); j++)
			if (!strcmp(s, tif[j].name))
				break;
		if (!s || j == sizeof(tif) / sizeof(tif[0]))
			return fail_at(p, loc_of_item(items[i]), "unknown TIF flag '%s' (syscall_trace, "
				       "notify_resume, sigpending, need_resched, singlestep, iret, "
				       "syscall_emu, syscall_audit, seccomp, restore_sigmask)",
				       s ? s : "?");
		*out |= 1u << tif[j].bit;
	}
	return 0;
}

/* ---- actions ------------------------------------------------------------------- */

static int action_pair(struct parser *p, const char *key, struct fy_node *k,
		       struct fy_node *v, void *c)
{
	struct action *a = c;
	struct value val;
	if (!strcmp(key, "callout"))
		return get_string(p, k, v, &a->callout);
	if (!strcmp(key, "syscall")) {
		if (get_unsigned(p, k, v, 100000, &val) < 0)
			return -1;
		a->syscall = (int)val.num;
		return 0;
	}
	if (!strcmp(key, "occurrence")) {
		if (get_unsigned(p, k, v, 1000000, &val) < 0)
			return -1;
		a->occurrence = (int)val.num;
		return 0;
	}
	if (!strcmp(key, "return"))
		return get_value(p, k, v, 0xffffffff, 1, &a->ret);
	if (!strcmp(key, "pt_regs"))
		return get_fields(p, k, v, FT_PT_REGS, "pt_regs", &a->regs);
	if (!strcmp(key, "gdt"))
		return parse_descriptors(p, k, v, ENTRYEMU_GDT, a->edits, &a->nedits, 8,
					 NULL, NULL);
	if (!strcmp(key, "ti_flags_set"))
		return parse_ti_flag_list(p, k, v, &a->ti_set);
	if (!strcmp(key, "ti_flags_clear"))
		return parse_ti_flag_list(p, k, v, &a->ti_clear);
	if (!strcmp(key, "default")) {
		if (get_value(p, k, v, 1, 0, &val) < 0)
			return -1;
		a->run_default = (int)val.num;
		return 0;
	}
	return fail_at(p, loc_of(k), "actions: unknown key '%s' (callout, syscall, occurrence, "
		       "return, pt_regs, gdt, ti_flags_set, ti_flags_clear, default)", key);
}

int parse_actions(struct parser *p, struct fy_node *k, struct fy_node *v)
{
	struct fy_node *items[MAX_ITEMS];
	int n;
	if (get_list(p, k, v, "actions", items, &n) < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		struct action *a = &p->s->actions[i];
		a->syscall = -1;
		a->loc = loc_of_item(items[i]);
		p->s->nactions = i + 1;
		if (each_pair(p, items[i], k, "actions", action_pair, a) < 0)
			return -1;
		if (!a->callout == (a->syscall < 0))
			return fail_at(p, loc_of_item(items[i]), "actions: name one callout or one syscall");
	}
	return 0;
}

/* ---- at run time ------------------------------------------------------------------- */

static int action_matches(const struct action *a, const struct dispatch *d, unsigned call)
{
	if (a->callout ? !d->callout || strcmp(a->callout, d->callout) : a->syscall != d->syscall)
		return 0;
	return !a->occurrence || (unsigned)a->occurrence == call;
}

static void action_callout(entryemu_call *c, void *opaque)
{
	struct dispatch *d = opaque;
	const entryemu_binding *b = d->b;
	entryemu *m = entryemu_call_machine(c);
	unsigned call = entryemu_call_occurrence(c);
	const struct action *a = NULL;
	for (int i = 0; i < b->nactions && !a; i++)
		if (action_matches(&b->actions[i], d, call))
			a = &b->actions[i];
	if (!a) {
		entryemu_call_default(c);
		return;
	}
	for (int i = 0; i < a->nedits; i++)
		entryemu_gdt_set(m, a->edits[i].index, a->edits[i].lo, a->edits[i].hi);
	if (a->regs.n) {
		struct entryemu_pt_regs regs;
		if (entryemu_call_read_pt_regs(c, &regs) == 0) {
			for (int i = 0; i < a->regs.n; i++)
				field_set(FT_PT_REGS, a->regs.f[i].field, &regs, a->regs.f[i].v.num);
			entryemu_call_write_pt_regs(c, &regs);
		}
	}
	entryemu_set_ti_flags(m, (entryemu_ti_flags(m) | a->ti_set) & ~a->ti_clear);
	if (a->ret.set)
		entryemu_call_return(c, a->ret.num);
	if (a->run_default)
		entryemu_call_default(c);
}

/* A resolved copy of value v into *out. */
static int resolve_copy(const entryemu_scenario *s, entryemu *m, const struct value *v,
			uint32_t *out, char *err, size_t errlen)
{
	struct value c = *v;
	int rc = value_resolve(s, m, &c, err, errlen);
	if (rc == 0)
		*out = c.num;
	return rc;
}

/* Copy and resolve action a: the copy keeps numbers only (and its name). */
static int action_copy(const entryemu_scenario *s, entryemu *m, struct action *dst,
		       const struct action *a, char *err, size_t errlen)
{
	int rc;
	*dst = *a;
	dst->callout = NULL;
	dst->ret.sym = NULL;
	if (fields_own(&dst->regs)) {
		snprintf(err, errlen, "%s: out of memory", s->path);
		return ENTRYEMU_E_NOMEM;
	}
	for (int j = 0; j < dst->regs.n; j++)
		dst->regs.f[j].v.sym = NULL;
	if (a->callout && !(dst->callout = strdup(a->callout))) {
		snprintf(err, errlen, "%s: out of memory", s->path);
		return ENTRYEMU_E_NOMEM;
	}
	if ((rc = resolve_copy(s, m, &a->ret, &dst->ret.num, err, errlen)))
		return rc;
	for (int j = 0; j < a->regs.n; j++)
		if ((rc = resolve_copy(s, m, &a->regs.f[j].v, &dst->regs.f[j].v.num, err, errlen)))
			return rc;
	return 0;
}

int binding_setup(entryemu_binding *b, const entryemu_scenario *s, char *err, size_t errlen)
{
	entryemu *m = b->m;
	int rc;
	b->setup = s->setup;
	memset(&b->setup.user, 0, sizeof(b->setup.user));
	for (int i = 0; i < s->user.n; i++) {
		uint32_t v;
		if ((rc = resolve_copy(s, m, &s->user.f[i].v, &v, err, errlen)))
			return rc;
		field_set(FT_REGS, s->user.f[i].field, &b->setup.user, v);
	}
	/* the code bytes: the binding's own */
	if (s->code.len) {
		b->code = malloc(s->code.len);
		if (!b->code) {
			snprintf(err, errlen, "%s: out of memory", s->path);
			return ENTRYEMU_E_NOMEM;
		}
		memcpy(b->code, s->code.bytes, s->code.len);
	}
	b->setup.code = b->code;
	b->setup.code_len = b->code ? s->code.len : 0;
	/* IDT gates named by handler */
	for (int i = 0; i < s->nedits; i++) {
		b->edits[i] = s->edits[i];
		if (!s->edit_handlers[i])
			continue;
		uint32_t a = entryemu_symbol(m, s->edit_handlers[i]);
		if (!a) {
			snprintf(err, errlen, "%s:%d:%d: idt: no handler '%s' in the image", s->path,
				 s->edit_locs[i].line, s->edit_locs[i].col, s->edit_handlers[i]);
			return ENTRYEMU_E_SCENARIO;
		}
		b->edits[i].lo = (b->edits[i].lo & 0xffff0000u) | (a & 0xffff);
		b->edits[i].hi = (b->edits[i].hi & 0x0000ffffu) | (a & 0xffff0000u);
	}
	b->setup.edits = s->nedits ? b->edits : NULL;
	b->setup.nedits = (unsigned)s->nedits;
	for (int i = 0; i < s->ninjects; i++) {
		uint32_t at = 0;
		if (s->injects[i].at.set &&
		    (rc = resolve_copy(s, m, &s->injects[i].at, &at, err, errlen)))
			return rc;
		b->injects[i] = s->injects[i].in;
		b->injects[i].at = at;
	}
	b->setup.injects = s->ninjects ? b->injects : NULL;
	b->setup.ninjects = (unsigned)s->ninjects;
	if (s->thread_fn.set) {
		if ((rc = resolve_copy(s, m, &s->thread_fn, &b->setup.thread_fn, err, errlen)) ||
		    (rc = resolve_copy(s, m, &s->thread_arg, &b->setup.thread_arg, err, errlen)))
			return rc;
	}

	for (int i = 0; i < s->nactions; i++) {
		b->nactions = i + 1;
		if ((rc = action_copy(s, m, &b->actions[i], &s->actions[i], err, errlen)))
			return rc;
	}
	/* one dispatcher per action; the last one set for a callout serves it */
	for (int i = 0; i < b->nactions; i++) {
		struct action *a = &b->actions[i];
		struct dispatch *d = &b->dispatch[i];
		d->b = b;
		d->callout = a->callout;
		d->syscall = a->syscall;
		rc = a->callout ? entryemu_set_callout(m, a->callout, action_callout, d)
				: entryemu_set_syscall(m, (unsigned)a->syscall, action_callout, d);
		if (rc) {
			snprintf(err, errlen, "%s:%d:%d: actions: %s", s->path, a->loc.line,
				 a->loc.col, entryemu_last_error(m));
			return ENTRYEMU_E_SCENARIO;
		}
		b->nregistered = i + 1;
	}
	return 0;
}

void binding_release_actions(entryemu_binding *b)
{
	for (int i = 0; i < b->nregistered; i++) {
		const struct action *a = &b->actions[i];
		if (a->callout)
			entryemu_set_callout(b->m, a->callout, NULL, NULL);
		else
			entryemu_set_syscall(b->m, (unsigned)a->syscall, NULL, NULL);
	}
	b->nregistered = 0;
	for (int i = 0; i < b->nactions; i++) {
		free(b->actions[i].callout);
		free_fields(&b->actions[i].regs);	/* its own array, no names */
	}
	b->nactions = 0;
}
