/*
 * Scenario files: YAML read with libfyaml.  Every problem is reported as
 * FILE:LINE:COL: message, with the position of the offending key or
 * value; docs/scenarios.md describes the schema.
 */
#include "scenario.h"
#include "yaml.h"

#include <errno.h>
#include <fcntl.h>
#include <libfyaml.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- expect ---------------------------------------------------------------- */

static int callout_pair(struct parser *p, const char *key, struct fy_node *k,
			struct fy_node *v, void *c)
{
	struct callout_expect *ce = c;
	if (!strcmp(key, "name"))
		return get_string(p, k, v, &ce->name);
	if (!strcmp(key, "occurrence")) {
		struct value val;
		if (get_unsigned(p, k, v, 1000, &val) < 0)
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

/*
 * A signal or si_code given by its kernel name ("SIGSEGV", "SEGV_MAPERR",
 * "SI_KERNEL"): 1 with *num set, 0 for anything else (a number).
 */
static int signal_by_name(const char *s, uint32_t *num)
{
	for (int sig = 1; sig < 64; sig++) {
		const char *n = entryemu_signal_name(sig);
		if (n && !strcmp(n, s)) {
			*num = (uint32_t)sig;
			return 1;
		}
	}
	return 0;
}

static int si_code_by_name(const char *s, uint32_t *num)
{
	for (int sig = 0; sig < 64; sig++)
		for (int code = 0; code <= 0x80; code++) {
			const char *n = entryemu_si_code_name(sig, code);
			if (n && !strcmp(n, s)) {
				*num = (uint32_t)code;
				return 1;
			}
		}
	return 0;
}

/* A value that may be a name: by_name knows it, else a number. */
static int get_named(struct parser *p, struct fy_node *k, struct fy_node *v, uint32_t max,
		     int (*by_name)(const char *, uint32_t *), struct value *out)
{
	char buf[64];
	const char *s = fy_node_is_scalar(v) ? scalar(v, buf, sizeof(buf)) : NULL;
	if (s && s[0] >= 'A' && s[0] <= 'Z') {
		memset(out, 0, sizeof(*out));
		out->loc = loc_of(v);
		out->set = 1;
		if (by_name(s, &out->num))
			return 0;
		char kb[64];
		return fail_at(p, loc_of(v), "%s: unknown name '%s'", key_name(k, kb, sizeof(kb)), s);
	}
	return get_unsigned(p, k, v, max, out);
}

/* expect: si_code, si_addr, trap_no, error_code (the siginfo record). */
static int siginfo_pair(struct parser *p, const char *key, struct fy_node *k,
			struct fy_node *v, struct expectations *s)
{
	struct fields_ctx fc = { FT_SIGINFO, &s->siginfo, "expect", 1 };
	if (strcmp(key, "si_code"))
		return field_pair(p, key, k, v, &fc);
	struct field_expect *fe = fields_add(&s->siginfo);
	if (!fe)
		return fail_at(p, loc_of(k), s->siginfo.n >= MAX_FIELDS ? "expect: too many fields"
							      : "out of memory");
	fe->field = field_lookup(FT_SIGINFO, key);
	return get_named(p, k, v, 0xffff, si_code_by_name, &fe->v);
}

/*
 * findings: a list of checker names, expected on every image, or a
 * mapping from image name to such a list ({post: [slots]}): expected on
 * that image only.  An item {lockdep: place} expects the finding seen at
 * that instruction (a symbol, a code label or an address).
 */
static int findings_list(struct parser *p, struct fy_node *k, struct fy_node *v,
			 const char *image, struct expectations *s)
{
	struct fy_node *items[MAX_ITEMS];
	int n = 0, first = s->nfindings;
	if (get_list(p, k, v, "findings", items, &n) < 0)
		return -1;
	if (first + n > MAX_ITEMS)
		return fail_at(p, loc_of(k), "findings: at most %d items", MAX_ITEMS);
	s->nfindings += n;
	for (int j = 0; j < n; j++) {
		int i = first + j;
		s->findings[i].loc = loc_of_item(items[j]);
		if (image && !(s->findings[i].image = strdup(image)))
			return fail_at(p, s->findings[i].loc, "out of memory");
		/* a checker name, or {checker: place} for where it is seen */
		struct fy_node *name = items[j];
		if (fy_node_is_mapping(items[j])) {
			void *it = NULL;
			struct fy_node_pair *pair = fy_node_mapping_iterate(items[j], &it);
			if (!pair || fy_node_mapping_iterate(items[j], &it))
				return fail_at(p, loc_of(items[j]), "findings: {checker: place} "
					       "names one checker");
			name = fy_node_pair_key(pair);
			if (!name || !fy_node_pair_value(pair) ||
			    get_value(p, name, fy_node_pair_value(pair), 0xffffffffu, 1,
				      &s->findings[i].at) < 0)
				return name ? -1 : fail_at(p, loc_of(items[j]), "findings: "
							   "{checker: place} names one checker");
		}
		if (!fy_node_is_scalar(name))
			return fail_at(p, loc_of(items[j]), "findings: each item is a "
				       "checker name, or {checker: place}");
		if (get_string(p, name, name, &s->findings[i].insn) < 0)
			return -1;
		int known = 0;
		for (unsigned c = 1; c <= ENTRYEMU_CHECK_ALL; c <<= 1)
			known |= (c & ENTRYEMU_CHECK_ALL) &&
				 !strcmp(s->findings[i].insn,
					 entryemu_check_name((enum entryemu_check)c));
		if (!known)
			return fail_at(p, s->findings[i].loc, "findings: unknown checker "
				       "'%s' (ptregs, segments, return, extable, stack, "
				       "df, irqs_off, slots, cfi, lockdep, uaccess, bounds)",
				       s->findings[i].insn);
	}
	return 0;
}

static int findings_on_image(struct parser *p, const char *key, struct fy_node *k,
			     struct fy_node *v, void *c)
{
	return findings_list(p, k, v, key, c);
}

/* The bit of an expect key, for family overrides (0: not a key). */
static unsigned expect_key_bit(const char *key)
{
	static const struct { const char *name; unsigned bit; } keys[] = {
		{ "outcome", EK_OUTCOME }, { "signal", EK_SIGNAL }, { "message", EK_MESSAGE },
		{ "final", EK_FINAL }, { "returned", EK_RETURNED }, { "fixups", EK_FIXUPS },
		{ "events", EK_EVENTS }, { "callouts", EK_CALLOUTS }, { "findings", EK_FINDINGS },
		{ "not_called", EK_NOT_CALLED },
	};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(key, keys[i].name))
			return keys[i].bit;
	return 0;
}

int expect_pair(struct parser *p, const char *key, struct fy_node *k, struct fy_node *v,
		void *c)
{
	struct expectations *s = c;
	struct fy_node *items[MAX_ITEMS];
	char buf[64];
	s->keys |= expect_key_bit(key);
	if (!strcmp(key, "outcome")) {
		if (!fy_node_is_scalar(v) || outcome_of(scalar(v, buf, sizeof(buf)), &s->outcome))
			return fail_at(p, loc_of(v), "outcome: expected one of done, killed, "
				       "exited, oops, budget, unsupported, error");
		s->has_outcome = 1;
		s->outcome_loc = loc_of(v);
		return 0;
	}
	if (!strcmp(key, "signal"))
		return get_named(p, k, v, 64, signal_by_name, &s->signal);
	if (field_lookup(FT_SIGINFO, key) >= 0)
		return siginfo_pair(p, key, k, v, s);
	if (!strcmp(key, "message")) {
		s->message_loc = loc_of(v);
		return get_string(p, k, v, &s->message);
	}
	if (!strcmp(key, "recorded_failure")) {
		s->recorded_failure_loc = loc_of(v);
		return get_string(p, k, v, &s->recorded_failure);
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
		if (fy_node_is_mapping(v))
			return each_pair(p, v, k, "findings", findings_on_image, s);
		return findings_list(p, k, v, NULL, s);
	}
	if (!strcmp(key, "not_called")) {
		if (get_list(p, k, v, "not_called", items, &s->nnot_called) < 0)
			return -1;
		for (int i = 0; i < s->nnot_called; i++) {
			s->not_called[i].loc = loc_of_item(items[i]);
			if (!fy_node_is_scalar(items[i]))
				return fail_at(p, loc_of(items[i]), "not_called: each item is a "
					       "callout name");
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
	if (!strcmp(key, "returns")) {
		s->has_returns = 1;
		s->returns_loc = loc_of(k);
		if (get_list(p, k, v, "returns", items, &s->nreturns) < 0)
			return -1;
		for (int i = 0; i < s->nreturns; i++) {
			s->returns[i].loc = loc_of_item(items[i]);
			if (get_fields(p, k, items[i], FT_REGS, "returns", &s->returns[i].f) < 0)
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
	return fail_at(p, loc_of(k), "expect: unknown key '%s' (outcome, signal, si_code, "
		       "si_addr, trap_no, error_code, message, final, returned, returns, fixups, "
		       "events, callouts, not_called, findings, recorded_failure)", key);
}

/* ---- top level --------------------------------------------------------------- */

static int get_ti_flags(struct parser *p, struct fy_node *k, struct fy_node *v)
{
	if (!fy_node_is_scalar(v))
		return parse_ti_flag_list(p, k, v, &p->s->setup.ti_flags);
	struct value val;
	if (get_unsigned(p, k, v, 0xffffffff, &val) < 0)
		return -1;
	p->s->setup.ti_flags = val.num;
	return 0;
}

/*
 * Directives GNU as would use to read host files (.include, .incbin:
 * `.include "/etc/passwd"` printed the file's lines in the error), and
 * the ones that could build such a directive from pieces by
 * substitution (.macro, .irp, .irpc).  Found as case-insensitive
 * substrings anywhere in the text, comments and strings included: no
 * lexing of as syntax that a trick could get past.  Returns the
 * directive's name and its 1-based line and column in text, or NULL.
 */
static const char *host_directive(const char *text, int *line, int *col)
{
	static const char *const words[] = { "include", "incbin", ".macro", ".irp" };
	int l = 1, c = 1;
	for (const char *t = text; *t; t++) {
		/* each word begins with i or a dot: most characters begin none */
		int may = *t == 'i' || *t == 'I' || *t == '.';
		for (size_t w = 0; may && w < sizeof(words) / sizeof(words[0]); w++)
			if (!strncasecmp(t, words[w], strlen(words[w]))) {
				/* report the directive at its dot when it has one */
				int dot = words[w][0] != '.' && t > text && t[-1] == '.';
				*line = l;
				*col = c - dot;
				return words[w];
			}
		if (*t == '\n') {
			l++;
			c = 1;
		} else {
			c++;
		}
	}
	return NULL;
}

/* Leading spaces of line `line` (1-based) of the file. */
static int indent_of(const char *t, int line)
{
	for (int l = 1; *t && l < line; t++)
		l += *t == '\n';
	int n = 0;
	while (t[n] == ' ')
		n++;
	return n;
}

/*
 * The file position of line tl, column tc of the code scalar v's text.
 * libfyaml marks a block scalar (|, >) at column 1 of its first text
 * line, a quoted one at its quote, a plain one at its first character.
 */
static struct loc code_loc(struct parser *p, struct fy_node *v, int tl, int tc)
{
	struct loc l = loc_of(v);
	enum fy_node_style st = fy_node_get_style(v);
	if (st == FYNS_LITERAL || st == FYNS_FOLDED) {
		/* the block's indentation: the first line's spaces less the text's own */
		size_t len;
		const char *txt = fy_node_get_scalar(v, &len);
		int own = 0;
		while (txt && (size_t)own < len && txt[own] == ' ')
			own++;
		int block = indent_of(p->text, l.line) - own;
		l.line += tl - 1;
		l.col = (block > 0 ? block : 0) + tc;
		return l;
	}
	if (tl == 1)
		l.col += tc - 1 + (st == FYNS_DOUBLE_QUOTED || st == FYNS_SINGLE_QUOTED);
	else
		l.col = tc;
	l.line += tl - 1;
	return l;
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
	int dl, dc;
	const char *dir = host_directive(text, &dl, &dc);
	if (dir) {
		struct loc l = code_loc(p, v, dl, dc);
		free(text);
		if (dir[0] == '.')
			return fail_at(p, l, "code: %s is not supported: macros can assemble "
				       "directives that read host files", dir);
		return fail_at(p, l, "code: .%s reads host files: not allowed in a scenario "
			       "(and neither is the word %s)", dir, dir);
	}
	char msg[512];
	int line;
	int rc = userasm_assemble(text, &p->s->code, msg, sizeof(msg), &line);
	free(text);
	if (rc == 0)
		return 0;
	/* as names a line, not a column: column 1 of that line */
	struct loc l = code_loc(p, v, line > 0 ? line : 1, 1);
	if (line > 0)
		l.col = 1;
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

/* A 0-or-1 key of the setup (vm86, code_readonly): its value and where it was given. */
static int get_switch(struct parser *p, struct fy_node *k, struct fy_node *v, int *out,
		      struct loc *where)
{
	struct value val;
	if (get_value(p, k, v, 1, 0, &val) < 0)
		return -1;
	*out = (int)val.num;
	*where = loc_of(k);
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
	if (!strcmp(key, "vm86"))
		return get_switch(p, k, v, &s->setup.vm86, &s->vm86_loc);
	if (!strcmp(key, "code_readonly"))
		return get_switch(p, k, v, &s->setup.code_readonly, &s->code_readonly_loc);
	if (!strcmp(key, "cpu")) {
		char buf[16];
		const char *c = fy_node_is_scalar(v) ? scalar(v, buf, sizeof(buf)) : NULL;
		if (!c || (strcmp(c, "intel") && strcmp(c, "amd")))
			return fail_at(p, loc_of(v), "cpu: expected intel or amd");
		s->setup.cpu = strcmp(c, "amd") ? ENTRYEMU_CPU_INTEL : ENTRYEMU_CPU_AMD;
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
		/* bounded: see SCENARIO_MAX_BUDGET */
		if (get_unsigned(p, k, v, SCENARIO_MAX_BUDGET, &val) < 0)
			return -1;
		s->setup.insn_budget = val.num;
		return 0;
	}
	if (!strcmp(key, "ti_flags"))
		return get_ti_flags(p, k, v);
	if (!strcmp(key, "expect"))
		return each_pair(p, v, k, "expect", expect_pair, &s->exp);
	if (!strcmp(key, "families"))
		return parse_families(p, k, v);
	if (!strcmp(key, "family_expect"))
		return parse_family_expect(p, k, v);
	if (!strcmp(key, "image_expect"))
		return parse_image_expect(p, k, v);
	return fail_at(p, loc_of(k), "unknown key '%s' (name, description, image, families, "
		       "user, code, bytes, code_readonly, pid, budget, ti_flags, cr0, cpu, gdt, idt, "
		       "inject, actions, kernel_thread, vm86, expect, family_expect, image_expect)",
		       key);
}

/* The first collected libfyaml diagnostic, as FILE:LINE:COL: message. */
static void yaml_error(struct parser *p, struct fy_diag *diag)
{
	void *it = NULL;
	struct fy_diag_error *e = diag ? fy_diag_errors_iterate(diag, &it) : NULL;
	if (e)
		snprintf(p->err, p->errlen, "%s:%d:%d: %s", p->path, e->line > 0 ? e->line : 1,
			 e->column > 0 ? e->column : 1, e->msg ? e->msg : "not valid YAML");
	else
		snprintf(p->err, p->errlen, "%s:1:1: not a readable YAML file", p->path);
}

/*
 * Read the whole file, which must be a regular one of at most
 * SCENARIO_MAX_BYTES.  O_NONBLOCK because open() of a FIFO with no
 * writer blocks forever; fstat() then refuses FIFOs, devices and
 * directories before any read.  NUL-terminated for the checks below.
 */
static int read_scenario(const char *path, char **out, size_t *len, char *err, size_t errlen)
{
	*out = NULL;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return ENTRYEMU_E_IO;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return ENTRYEMU_E_IO;
	}
	if (st.st_size > (off_t)SCENARIO_MAX_BYTES) {
		snprintf(err, errlen, "%s:1:1: %lld bytes: a scenario file holds at most %u",
			 path, (long long)st.st_size, SCENARIO_MAX_BYTES);
		close(fd);
		return ENTRYEMU_E_SCENARIO;
	}
	char *buf = malloc((size_t)st.st_size + 1);
	size_t n = 0;
	if (!buf) {
		snprintf(err, errlen, "%s: out of memory", path);
		close(fd);
		return ENTRYEMU_E_NOMEM;
	}
	/* at most the size fstat gave (+1 to see growth): the cap holds even if it grows */
	while (n < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
			free(buf);
			close(fd);
			return ENTRYEMU_E_IO;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = 0;
	*out = buf;
	*len = n;
	return 0;
}

/*
 * What libfyaml 0.7.12 is known to mishandle, refused before it sees
 * the text: its directive scanner loops forever on '%' followed by a
 * byte >= 0x80, so the bytes must be valid UTF-8 (no
 * overlong forms, surrogates or code points above U+10FFFF), hold no
 * NUL, and a line starting with '%' must be a plain %YAML 1.1/1.2
 * directive (a scenario needs no other).  Errors name LINE:COL of the
 * offending byte, COL counting characters.
 */
static int check_text(struct parser *p, const char *t, size_t len)
{
	int line = 1, col = 1;
	for (size_t i = 0; i < len;) {
		const unsigned char c = (unsigned char)t[i];
		struct loc l = { line, col };
		if (col == 1 && c == '%') {
			size_t e = i;
			while (e < len && t[e] != '\n')
				e++;
			size_t dl = e - i;
			while (dl && (t[i + dl - 1] == ' ' || t[i + dl - 1] == '\r' ||
				      t[i + dl - 1] == '\t'))
				dl--;
			if (!((dl == 9 && (!memcmp(t + i, "%YAML 1.1", 9) ||
					   !memcmp(t + i, "%YAML 1.2", 9)))))
				return fail_at(p, l, "directive line: only %%YAML 1.1 or %%YAML 1.2 "
					       "is accepted");
		}
		if (c == 0)
			return fail_at(p, l, "a NUL byte: a scenario is text");
		size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 :
			   (c & 0xf8) == 0xf0 ? 4 : 0;
		uint32_t cp = n == 1 ? c : n == 2 ? c & 0x1f : n == 3 ? c & 0x0f : c & 0x07;
		int ok = n && i + n <= len;
		for (size_t k = 1; ok && k < n; k++) {
			unsigned char cc = (unsigned char)t[i + k];
			ok = (cc & 0xc0) == 0x80;
			cp = (cp << 6) | (cc & 0x3f);
		}
		static const uint32_t min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
		if (!ok || cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return fail_at(p, l, "invalid UTF-8 (byte 0x%02x)", c);
		i += n;
		if (c == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	return 0;
}

/*
 * Bound what the scenario's readers will walk: nesting depth (a scenario
 * needs 6 levels), node count, and no aliases (an alias node would read
 * as the alias's name, and nested aliases multiply the document).
 */
static int check_tree(struct parser *p, struct fy_node *n, int depth, unsigned *count)
{
	if (!n)
		return 0;
	if (++*count > SCENARIO_MAX_NODES)
		return fail_at(p, loc_of(n), "more than %d YAML nodes", SCENARIO_MAX_NODES);
	if (depth > SCENARIO_MAX_DEPTH)
		return fail_at(p, loc_of(n), "nested deeper than %d levels", SCENARIO_MAX_DEPTH);
	if (fy_node_is_alias(n))
		return fail_at(p, loc_of(n), "aliases (*name) are not supported");
	void *it = NULL;
	if (fy_node_is_mapping(n)) {
		struct fy_node_pair *pair;
		while ((pair = fy_node_mapping_iterate(n, &it)))
			if (check_tree(p, fy_node_pair_key(pair), depth + 1, count) < 0 ||
			    check_tree(p, fy_node_pair_value(pair), depth + 1, count) < 0)
				return -1;
	} else if (fy_node_is_sequence(n)) {
		struct fy_node *item;
		while ((item = fy_node_sequence_iterate(n, &it)))
			if (check_tree(p, item, depth + 1, count) < 0)
				return -1;
	}
	return 0;
}

/* Where a second document starts: its root, else its "---" line. */
static struct loc second_doc_loc(struct fy_document *d, const char *t)
{
	struct loc l = loc_of(fy_document_root(d));
	if (l.line > 0)
		return l;
	int line = 1, last = 0;
	for (const char *c = t; *c; c++) {
		if ((c == t || c[-1] == '\n') && !strncmp(c, "---", 3))
			last = line;
		line += *c == '\n';
	}
	return (struct loc){ last ? last : 1, 1 };
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
	char *text = NULL;
	size_t tlen = 0;
	int rc = read_scenario(path, &text, &tlen, err, errlen);
	if (rc)
		return rc;
	entryemu_scenario *s = calloc(1, sizeof(*s));
	if (!s || !(s->path = strdup(path))) {
		free(s);
		free(text);
		snprintf(err, errlen, "%s: out of memory", path);
		return ENTRYEMU_E_NOMEM;
	}
	struct parser p = { path, err, errlen, s, { 0, 0 }, text };
	struct fy_diag *diag = NULL;
	struct fy_parser *fyp = NULL;
	struct fy_document *doc = NULL, *doc2 = NULL;
	rc = ENTRYEMU_E_SCENARIO;
	if (check_text(&p, text, tlen) < 0)
		goto out;

	struct fy_diag_cfg dcfg;
	fy_diag_cfg_default(&dcfg);
	dcfg.fp = NULL;
	dcfg.output_fn = NULL;
	diag = fy_diag_create(&dcfg);
	if (diag)
		fy_diag_set_collect_errors(diag, true);
	struct fy_parse_cfg cfg = { .flags = FYPCF_QUIET | FYPCF_COLLECT_DIAG, .diag = diag };
	fyp = fy_parser_create(&cfg);
	if (!fyp || fy_parser_set_string(fyp, text, tlen)) {
		snprintf(err, errlen, "%s: cannot start the YAML parser", path);
		goto out;
	}
	doc = fy_parse_load_document(fyp);
	if (!doc || (diag && fy_diag_got_error(diag))) {
		yaml_error(&p, diag);
		goto out;
	}
	/* a second document would be ignored silently: refuse it */
	doc2 = fy_parse_load_document(fyp);
	if (doc2) {
		fail_at(&p, second_doc_loc(doc2, text), "a second YAML document: a scenario "
			"file holds one");
		goto out;
	}
	if (diag && fy_diag_got_error(diag)) {
		yaml_error(&p, diag);
		goto out;
	}
	struct fy_node *root = fy_document_root(doc);
	if (!root) {
		snprintf(err, errlen, "%s:1:1: empty scenario", path);
		goto out;
	}
	unsigned count = 0;
	if (check_tree(&p, root, 1, &count) < 0)
		goto out;
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
	/* findings: {IMAGE: [...]}: IMAGE must be one the scenario runs on */
	for (int i = 0; i < s->exp.nfindings; i++) {
		const char *want = s->exp.findings[i].image;
		int known = !want;
		for (int j = 0; !known && j < (s->nimages ? s->nimages : 1); j++)
			known = !strcmp(want, s->nimages ? s->images[j] : "post");
		if (!known) {
			fail_at(&p, s->exp.findings[i].loc, "findings: image '%s' is not one "
				"the scenario runs on", want);
			goto out;
		}
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
	if (doc2)
		fy_parse_document_destroy(fyp, doc2);
	if (doc)
		fy_parse_document_destroy(fyp, doc);
	if (fyp)
		fy_parser_destroy(fyp);
	if (diag)
		fy_diag_destroy(diag);
	free(text);
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
	free(f->f);
	f->f = NULL;
	f->n = 0;
}

struct field_expect *fields_add(struct fields_expect *f)
{
	if (f->n >= MAX_FIELDS || (!f->f && !(f->f = calloc(MAX_FIELDS, sizeof(*f->f)))))
		return NULL;
	return &f->f[f->n++];
}

int fields_own(struct fields_expect *f)
{
	if (!f->f)
		return 0;
	struct field_expect *c = malloc(MAX_FIELDS * sizeof(*c));
	if (!c) {
		f->f = NULL;
		f->n = 0;
		return -1;
	}
	memcpy(c, f->f, (size_t)f->n * sizeof(*c));
	f->f = c;
	return 0;
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
	for (int i = 0; i < s->nfamily_exp; i++) {
		expectations_free(&s->family_exp[i].exp);
		free(s->family_exp[i].image);
	}
	free(s->family_exp);
	free(s);
}

/* The getters read a NULL scenario as none: NULL, or 0 images. */
const char *entryemu_scenario_name(const entryemu_scenario *s)
{
	return s ? s->name : NULL;
}

const char *entryemu_scenario_description(const entryemu_scenario *s)
{
	if (!s)
		return NULL;
	return s->description ? s->description : "";
}

int entryemu_scenario_nimages(const entryemu_scenario *s)
{
	if (!s)
		return 0;
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
	if ((i = index_of(field, "image")) >= 0)	/* no image key: "post", named nowhere */
		return i < s->nimages ? at(s, s->image_locs[i], buf, len) : NULL;
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
	if (!strcmp(field, "code_readonly"))
		return at(s, s->code_readonly_loc, buf, len);
	/* "reserved" and anything else: nothing a scenario file sets */
	return NULL;
}
