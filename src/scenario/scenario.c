/*
 * Scenario files: YAML read with libfyaml.  Every problem is reported as
 * FILE:LINE:COL: message, with the position of the offending key or
 * value; docs/scenarios.md describes the schema.
 */
#include "scenario.h"
#include "yaml.h"

#include <errno.h>
#include <libfyaml.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- expect ---------------------------------------------------------------- */

static int callout_pair(struct parser *p, const char *key, struct fy_node *k,
			struct fy_node *v, void *c)
{
	struct callout_expect *ce = c;
	if (!strcmp(key, "name"))
		return get_string(p, k, v, &ce->name);
	if (!strcmp(key, "occurrence")) {
		struct value val;
		if (get_value(p, k, v, 1000, 0, &val) < 0)
			return -1;
		if (val.num < 1)
			return fail_at(p, val.loc, "occurrence: counts from 1");
		ce->occurrence = (int)val.num;
		return 0;
	}
	if (!strcmp(key, "pt_regs"))
		return get_fields(p, k, v, FT_PT_REGS, "pt_regs", &ce->regs);
	struct fields_ctx fc = { FT_CALL, &ce->at, "callout", 1 };
	if (field_lookup(FT_CALL, key) >= 0)
		return field_pair(p, key, k, v, &fc);
	return fail_at(p, loc_of(k), "callout: unknown key '%s' (name, occurrence, "
		       "pt_regs, cs, ss, ds, es, fs, gs, eax, edx, esp, eflags, return_addr)",
		       key);
}

static int outcome_of(const char *s, enum entryemu_outcome *o)
{
	for (int i = ENTRYEMU_DONE; i <= ENTRYEMU_ERROR; i++)
		if (!strcmp(s, entryemu_outcome_name((enum entryemu_outcome)i))) {
			*o = (enum entryemu_outcome)i;
			return 0;
		}
	return -1;
}

static int expect_pair(struct parser *p, const char *key, struct fy_node *k,
		       struct fy_node *v, void *c)
{
	struct expectations *s = c;
	struct fy_node *items[MAX_ITEMS];
	char buf[64];
	if (!strcmp(key, "outcome")) {
		if (!fy_node_is_scalar(v) || outcome_of(scalar(v, buf, sizeof(buf)), &s->outcome))
			return fail_at(p, loc_of(v), "outcome: expected one of done, killed, "
				       "exited, oops, budget, unsupported, error");
		s->has_outcome = 1;
		s->outcome_loc = loc_of(v);
		return 0;
	}
	if (!strcmp(key, "signal"))
		return get_value(p, k, v, 64, 0, &s->signal);
	if (!strcmp(key, "message")) {
		s->message_loc = loc_of(v);
		return get_string(p, k, v, &s->message);
	}
	if (!strcmp(key, "final"))
		return get_fields(p, k, v, FT_REGS, "final", &s->final);
	if (!strcmp(key, "returned"))
		return get_fields(p, k, v, FT_REGS, "returned", &s->returned);
	if (!strcmp(key, "fixups")) {
		s->has_fixups = 1;
		s->fixups_loc = loc_of(k);
		if (get_list(p, k, v, "fixups", items, &s->nfixups) < 0)
			return -1;
		for (int i = 0; i < s->nfixups; i++) {
			if (!fy_node_is_scalar(items[i]))
				return fail_at(p, loc_of_item(items[i]), "fixups: each item is the "
					       "faulting instruction, e.g. \"pop gs\"");
			s->fixups[i].loc = loc_of_item(items[i]);
			if (get_string(p, items[i], items[i], &s->fixups[i].insn) < 0)
				return -1;
		}
		return 0;
	}
	if (!strcmp(key, "findings")) {
		s->has_findings = 1;
		s->findings_loc = loc_of(k);
		if (get_list(p, k, v, "findings", items, &s->nfindings) < 0)
			return -1;
		for (int i = 0; i < s->nfindings; i++) {
			s->findings[i].loc = loc_of_item(items[i]);
			if (get_string(p, items[i], items[i], &s->findings[i].insn) < 0)
				return -1;
			int known = 0;
			for (int c = 1; c <= ENTRYEMU_CHECK_IRQS_OFF; c <<= 1)
				known |= !strcmp(s->findings[i].insn,
						 entryemu_check_name((enum entryemu_check)c));
			if (!known)
				return fail_at(p, s->findings[i].loc, "findings: unknown checker "
					       "'%s' (ptregs, segments, return, extable, stack, "
					       "df, irqs_off)",
					       s->findings[i].insn);
		}
		return 0;
	}
	if (!strcmp(key, "not_called")) {
		if (get_list(p, k, v, "not_called", items, &s->nnot_called) < 0)
			return -1;
		for (int i = 0; i < s->nnot_called; i++) {
			s->not_called[i].loc = loc_of_item(items[i]);
			if (get_string(p, items[i], items[i], &s->not_called[i].insn) < 0)
				return -1;
		}
		return 0;
	}
	if (!strcmp(key, "events")) {
		s->has_events = 1;
		s->events_loc = loc_of(k);
		if (get_list(p, k, v, "events", items, &s->nevents) < 0)
			return -1;
		for (int i = 0; i < s->nevents; i++) {
			s->events[i].loc = loc_of_item(items[i]);
			if (get_fields(p, k, items[i], FT_EVENT, "events", &s->events[i].f) < 0)
				return -1;
		}
		return 0;
	}
	if (!strcmp(key, "callouts")) {
		if (get_list(p, k, v, "callouts", items, &s->ncallouts) < 0)
			return -1;
		for (int i = 0; i < s->ncallouts; i++) {
			struct callout_expect *ce = &s->callouts[i];
			ce->occurrence = 1;
			ce->loc = loc_of_item(items[i]);
			if (each_pair(p, items[i], k, "callouts", callout_pair, ce) < 0)
				return -1;
			if (!ce->name)
				return fail_at(p, loc_of(k), "callouts: item %d has no name", i + 1);
		}
		return 0;
	}
	return fail_at(p, loc_of(k), "expect: unknown key '%s' (outcome, signal, message, "
		       "final, returned, fixups, events, callouts, not_called, findings)", key);
}

/* ---- top level --------------------------------------------------------------- */

static int get_ti_flags(struct parser *p, struct fy_node *k, struct fy_node *v)
{
	if (!fy_node_is_scalar(v))
		return parse_ti_flag_list(p, k, v, &p->s->setup.ti_flags);
	struct value val;
	if (get_value(p, k, v, 0xffffffff, 0, &val) < 0)
		return -1;
	p->s->setup.ti_flags = val.num;
	return 0;
}

static int get_code(struct parser *p, struct fy_node *k, struct fy_node *v)
{
	if (!fy_node_is_scalar(v))
		return fail_at(p, loc_of(k), "code: expected assembly text (use |)");
	size_t len;
	const char *txt = fy_node_get_scalar(v, &len);
	char *text = strndup(txt ? txt : "", txt ? len : 0);
	if (!text)
		return fail_at(p, loc_of(k), "out of memory");
	char msg[512];
	int line;
	int rc = userasm_assemble(text, &p->s->code, msg, sizeof(msg), &line);
	free(text);
	if (rc == 0)
		return 0;
	/* the scalar's mark is its first line of text, for block scalars too */
	struct loc l = loc_of(v);
	if (line > 0) {
		l.line += line - 1;
		l.col = 1;
	}
	return fail_at(p, l, "code: %s", msg);
}

static int get_bytes(struct parser *p, struct fy_node *k, struct fy_node *v)
{
	struct fy_node *items[ENTRYEMU_USER_CODE_MAX / 64];
	if (!fy_node_is_sequence(v))
		return fail_at(p, loc_of(k), "bytes: expected a list of byte values");
	void *it = NULL;
	struct fy_node *item;
	size_t n = 0;
	while ((item = fy_node_sequence_iterate(v, &it))) {
		if (n >= sizeof(items) / sizeof(items[0]))
			return fail_at(p, loc_of(item), "bytes: too many");
		items[n++] = item;
	}
	uint8_t *b = calloc(1, n ? n : 1);
	if (!b)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct value val;
		if (get_value(p, k, items[i], 0xff, 0, &val) < 0) {
			free(b);
			return -1;
		}
		b[i] = (uint8_t)val.num;
	}
	userasm_free(&p->s->code);
	p->s->code.bytes = b;
	p->s->code.len = n;
	return 0;
}

static int top_pair(struct parser *p, const char *key, struct fy_node *k,
		    struct fy_node *v, void *c)
{
	entryemu_scenario *s = c;
	struct value val;
	if (!strcmp(key, "name"))
		return get_string(p, k, v, &s->name);
	if (!strcmp(key, "description"))
		return get_string(p, k, v, &s->description);
	if (!strcmp(key, "image"))
		return parse_images(p, k, v);
	if (!strcmp(key, "gdt"))
		return parse_descriptors(p, k, v, ENTRYEMU_GDT, s->edits, &s->nedits, MAX_EDITS,
					 s->edit_handlers, s->edit_locs);
	if (!strcmp(key, "idt"))
		return parse_descriptors(p, k, v, ENTRYEMU_IDT, s->edits, &s->nedits, MAX_EDITS,
					 s->edit_handlers, s->edit_locs);
	if (!strcmp(key, "inject"))
		return parse_injects(p, k, v);
	if (!strcmp(key, "actions"))
		return parse_actions(p, k, v);
	if (!strcmp(key, "cr0"))
		return parse_cr0(p, k, v);
	if (!strcmp(key, "kernel_thread"))
		return parse_kernel_thread(p, k, v);
	if (!strcmp(key, "vm86")) {
		if (get_value(p, k, v, 1, 0, &val) < 0)
			return -1;
		s->setup.vm86 = (int)val.num;
		s->vm86_loc = loc_of(k);
		return 0;
	}
	if (!strcmp(key, "user"))
		return get_fields(p, k, v, FT_REGS, "user", &s->user);
	if (!strcmp(key, "code")) {
		if (s->code.bytes)
			return fail_at(p, loc_of(k), "code: give either code or bytes");
		s->code_loc = loc_of(k);
		return get_code(p, k, v);
	}
	if (!strcmp(key, "bytes")) {
		if (s->code.bytes)
			return fail_at(p, loc_of(k), "bytes: give either code or bytes");
		s->code_loc = loc_of(k);
		return get_bytes(p, k, v);
	}
	if (!strcmp(key, "pid")) {
		if (get_value(p, k, v, 0x7fffffff, 0, &val) < 0)
			return -1;
		s->setup.pid = val.num;
		return 0;
	}
	if (!strcmp(key, "budget")) {
		if (get_value(p, k, v, 0xffffffff, 0, &val) < 0)
			return -1;
		s->setup.insn_budget = val.num;
		return 0;
	}
	if (!strcmp(key, "ti_flags"))
		return get_ti_flags(p, k, v);
	if (!strcmp(key, "expect"))
		return each_pair(p, v, k, "expect", expect_pair, &s->exp);
	return fail_at(p, loc_of(k), "unknown key '%s' (name, description, image, user, "
		       "code, bytes, pid, budget, ti_flags, cr0, gdt, idt, inject, actions, "
		       "kernel_thread, vm86, expect)", key);
}

/* The first collected libfyaml diagnostic, as FILE:LINE:COL: message. */
static void yaml_error(struct parser *p, struct fy_diag *diag)
{
	void *it = NULL;
	struct fy_diag_error *e = diag ? fy_diag_errors_iterate(diag, &it) : NULL;
	if (e)
		snprintf(p->err, p->errlen, "%s:%d:%d: %s", p->path, e->line, e->column, e->msg);
	else
		snprintf(p->err, p->errlen, "%s:1:1: not a readable YAML file", p->path);
}

int entryemu_scenario_load(const char *path, entryemu_scenario **out, char *err,
			   size_t errlen)
{
	char dummy[1];
	if (!err || !errlen) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = 0;
	if (out)
		*out = NULL;
	if (!path || !out) {
		snprintf(err, errlen, "entryemu_scenario_load: no path or out");
		return ENTRYEMU_E_INVAL;
	}
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return ENTRYEMU_E_IO;
	}
	fclose(f);
	entryemu_scenario *s = calloc(1, sizeof(*s));
	if (!s || !(s->path = strdup(path))) {
		free(s);
		snprintf(err, errlen, "%s: out of memory", path);
		return ENTRYEMU_E_NOMEM;
	}
	struct parser p = { path, err, errlen, s };

	struct fy_diag_cfg dcfg;
	fy_diag_cfg_default(&dcfg);
	dcfg.fp = NULL;
	dcfg.output_fn = NULL;
	struct fy_diag *diag = fy_diag_create(&dcfg);
	if (diag)
		fy_diag_set_collect_errors(diag, true);
	struct fy_parse_cfg cfg = { .flags = FYPCF_QUIET | FYPCF_COLLECT_DIAG, .diag = diag };
	struct fy_document *doc = fy_document_build_from_file(&cfg, path);
	int rc = ENTRYEMU_E_SCENARIO;
	if (!doc) {
		yaml_error(&p, diag);
		goto out;
	}
	struct fy_node *root = fy_document_root(doc);
	if (!root) {
		snprintf(err, errlen, "%s:1:1: empty scenario", path);
		goto out;
	}
	if (each_pair(&p, root, NULL, "scenario", top_pair, s) < 0)
		goto out;
	if (!s->name) {
		const char *base = strrchr(path, '/');
		s->name = strdup(base ? base + 1 : path);
	}
	if (!s->code.bytes && !s->thread_fn.set) {
		snprintf(err, errlen, "%s:1:1: the scenario has no user code (code or bytes) "
			 "and starts no kernel_thread", path);
		goto out;
	}
	for (int i = 0; i < (s->nimages ? s->nimages : 1); i++) {
		const char *img = s->nimages ? s->images[i] : "post";
		/* a bare name is a bundled image; anything with a '/' is a path */
		if (strchr(img, '/'))
			snprintf(s->image_paths[i], sizeof(s->image_paths[i]), "%s", img);
		else if (!entryemu_image_named(img, s->image_paths[i], sizeof(s->image_paths[i]))) {
			snprintf(err, errlen, "%s:1:1: image '%s': its path is too long", path, img);
			goto out;
		}
	}
	rc = 0;
out:
	if (doc)
		fy_document_destroy(doc);
	if (diag)
		fy_diag_destroy(diag);
	if (rc) {
		entryemu_scenario_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void free_fields(struct fields_expect *f)
{
	for (int i = 0; i < f->n; i++)
		free(f->f[i].v.sym);
}

void entryemu_scenario_free(entryemu_scenario *s)
{
	if (!s)
		return;
	free(s->path);
	free(s->name);
	free(s->description);
	for (int i = 0; i < MAX_IMAGES; i++)
		free(s->images[i]);
	for (int i = 0; i < MAX_EDITS; i++)
		free(s->edit_handlers[i]);
	for (int i = 0; i < s->ninjects; i++)
		free(s->injects[i].at.sym);
	for (int i = 0; i < s->nactions; i++) {
		free(s->actions[i].callout);
		free(s->actions[i].ret.sym);
		free_fields(&s->actions[i].regs);
	}
	userasm_free(&s->code);
	free_fields(&s->user);
	free(s->thread_fn.sym);
	free(s->thread_arg.sym);
	expectations_free(&s->exp);
	free(s);
}

const char *entryemu_scenario_name(const entryemu_scenario *s) { return s->name; }
const char *entryemu_scenario_description(const entryemu_scenario *s)
{
	return s->description ? s->description : "";
}

int entryemu_scenario_nimages(const entryemu_scenario *s)
{
	return s->nimages ? s->nimages : 1;
}

const char *entryemu_scenario_image(const entryemu_scenario *s, int i)
{
	if (i < 0 || i >= entryemu_scenario_nimages(s))
		return NULL;
	return s->image_paths[i];
}

const char *entryemu_scenario_image_name(const entryemu_scenario *s, int i)
{
	if (i < 0 || i >= entryemu_scenario_nimages(s))
		return NULL;
	return s->nimages ? s->images[i] : "post";
}

static const char *at(const entryemu_scenario *s, struct loc l, char *buf, size_t len)
{
	if (l.line <= 0)
		return NULL;
	snprintf(buf, len, "%s:%d:%d", s->path, l.line, l.col);
	return buf;
}

/* "name[N]" -> N, or -1. */
static int index_of(const char *field, const char *name)
{
	size_t n = strlen(name);
	unsigned i;
	char close;
	if (strncmp(field, name, n) || field[n] != '[' ||
	    sscanf(field + n, "[%u%c", &i, &close) != 2 || close != ']')
		return -1;
	return (int)i;
}

const char *entryemu_scenario_locate(const entryemu_scenario *s, const char *field,
				     char *buf, size_t len)
{
	if (!s || !field || !buf || !len)
		return NULL;
	buf[0] = 0;
	int i;
	if (!strncmp(field, "user.", 5)) {
		int f = field_lookup(FT_REGS, field + 5);
		for (int j = 0; f >= 0 && j < s->user.n; j++)
			if (s->user.f[j].field == f)
				return at(s, s->user.f[j].v.loc, buf, len);
		return NULL;
	}
	if (!strcmp(field, "code"))
		return at(s, s->code_loc, buf, len);
	if (!strcmp(field, "edits"))
		return s->nedits ? at(s, s->edit_locs[0], buf, len) : NULL;
	if ((i = index_of(field, "edits")) >= 0)
		return i < s->nedits ? at(s, s->edit_locs[i], buf, len) : NULL;
	if (!strcmp(field, "injects"))
		return s->ninjects ? at(s, s->injects_loc, buf, len) : NULL;
	if ((i = index_of(field, "injects")) >= 0)
		return i < s->ninjects ? at(s, s->injects[i].loc, buf, len) : NULL;
	if (!strcmp(field, "cr0_set"))
		return s->setup.cr0_set ? at(s, s->cr0_loc, buf, len) : NULL;
	if (!strcmp(field, "thread_fn"))
		return s->thread_fn.set ? at(s, s->thread_fn.loc, buf, len) : NULL;
	if (!strcmp(field, "thread_arg"))
		return s->thread_arg.set ? at(s, s->thread_arg.loc, buf, len) : NULL;
	if (!strcmp(field, "vm86"))
		return at(s, s->vm86_loc, buf, len);
	/* "reserved" and anything else: nothing a scenario file sets */
	return NULL;
}
