/*
 * entryemu_assemble: user code from assembly text, for callers in C, with
 * the same assembler run as a scenario's code key (userasm.c: GNU as,
 * --32, AT&T, guarded and cached).  It lives in the scenario library,
 * not the core: the core never starts a program or needs binutils at
 * run time, and the scenario library already does both.
 */
#include <entryemu/scenario.h>

#include "userasm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entryemu_code {
	struct user_code code;
	struct entryemu_label *labels;	/* the same labels, in the public form */
};

int entryemu_assemble(const char *text, entryemu_code **out, char *err, size_t errlen)
{
	char msg[512] = "";
	int line = 0;
	if (err && errlen)
		err[0] = 0;
	if (!out)
		return ENTRYEMU_E_INVAL;
	*out = NULL;
	if (!text) {
		if (err && errlen)
			snprintf(err, errlen, "no assembly text");
		return ENTRYEMU_E_INVAL;
	}
	entryemu_code *c = calloc(1, sizeof(*c));
	if (!c)
		return ENTRYEMU_E_NOMEM;
	if (userasm_assemble(text, &c->code, msg, sizeof(msg), &line)) {
		if (err && errlen) {
			if (line > 0)
				snprintf(err, errlen, "line %d: %s", line, msg);
			else
				snprintf(err, errlen, "%s", msg);
		}
		free(c);
		return ENTRYEMU_E_SCENARIO;
	}
	if (c->code.nlabels &&
	    !(c->labels = calloc(c->code.nlabels, sizeof(*c->labels)))) {
		entryemu_code_free(c);
		return ENTRYEMU_E_NOMEM;
	}
	for (size_t i = 0; i < c->code.nlabels; i++) {
		c->labels[i].name = c->code.labels[i].name;
		c->labels[i].addr = c->code.labels[i].addr;
	}
	*out = c;
	return 0;
}

const uint8_t *entryemu_code_bytes(const entryemu_code *c, size_t *len)
{
	if (len)
		*len = c ? c->code.len : 0;
	return c ? c->code.bytes : NULL;
}

uint32_t entryemu_code_label(const entryemu_code *c, const char *name)
{
	for (size_t i = 0; c && name && i < c->code.nlabels; i++)
		if (!strcmp(c->code.labels[i].name, name))
			return c->code.labels[i].addr;
	return 0;
}

const struct entryemu_label *entryemu_code_labels(const entryemu_code *c, size_t *n)
{
	if (n)
		*n = c ? c->code.nlabels : 0;
	return c ? c->labels : NULL;
}

void entryemu_code_free(entryemu_code *c)
{
	if (!c)
		return;
	free(c->labels);
	userasm_free(&c->code);
	free(c);
}
