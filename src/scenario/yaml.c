/* Reading scenario YAML: values, mappings and errors with their position. */
#include "yaml.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct loc loc_of(struct fy_node *n)
{
	struct loc l = { 0, 0 };
	struct fy_token *t = n ? fy_node_get_scalar_token(n) : NULL;
	if (!t && n)
		t = fy_node_get_tag_token(n);
	const struct fy_mark *mk = t ? fy_token_start_mark(t) : NULL;
	if (mk) {
		l.line = mk->line + 1;
		l.col = mk->column + 1;
	}
	return l;
}

struct loc loc_of_item(struct fy_node *n)
{
	void *it = NULL;
	if (n && fy_node_is_mapping(n)) {
		struct fy_node_pair *pair = fy_node_mapping_iterate(n, &it);
		if (pair)
			return loc_of(fy_node_pair_key(pair));
	} else if (n && fy_node_is_sequence(n)) {
		struct fy_node *item = fy_node_sequence_iterate(n, &it);
		if (item)
			return loc_of_item(item);
	}
	return loc_of(n);
}

int fail_at(struct parser *p, struct loc l, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "%s:%d:%d: %s", p->path, l.line, l.col, msg);
	return -1;
}

const char *scalar(struct fy_node *n, char *buf, size_t len)
{
	size_t sl;
	const char *s = fy_node_get_scalar(n, &sl);
	if (!s)
		return NULL;
	snprintf(buf, len, "%.*s", (int)sl, s);
	return buf;
}

static int is_symbol_text(const char *s)
{
	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_' || *s == '.'))
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' || *s == '+'))
			return 0;
	return 1;
}

/* An integer (decimal, 0x hex, negative as two's complement) or a symbol. */
int get_value(struct parser *p, struct fy_node *key, struct fy_node *n,
		     uint32_t max, int allow_symbol, struct value *v)
{
	char buf[256], kb[64];
	const char *k = scalar(key, kb, sizeof(kb));
	struct loc l = loc_of(n);
	if (!fy_node_is_scalar(n))
		return fail_at(p, loc_of(key), "%s: expected an integer, got a %s", k,
			       fy_node_is_mapping(n) ? "mapping" : "sequence");
	const char *s = scalar(n, buf, sizeof(buf));
	memset(v, 0, sizeof(*v));
	v->loc = l;
	v->set = 1;
	if (!s || !*s)
		return fail_at(p, l, "%s: expected an integer", k);
	char *end;
	errno = 0;
	if (*s == '-') {
		long long x = strtoll(s, &end, 0);
		if (*end || errno)
			return fail_at(p, l, "%s: '%s' is not an integer", k, s);
		if (x < -(long long)max / 2 - 1)
			return fail_at(p, l, "%s: %s is out of range", k, s);
		v->num = (uint32_t)x & max;
		return 0;
	}
	if (*s >= '0' && *s <= '9') {
		unsigned long long x = strtoull(s, &end, 0);
		if (*end || errno)
			return fail_at(p, l, "%s: '%s' is not an integer", k, s);
		if (x > max)
			return fail_at(p, l, "%s: %s is out of range (at most 0x%x)", k, s, max);
		v->num = (uint32_t)x;
		return 0;
	}
	if (allow_symbol && is_symbol_text(s)) {
		v->sym = strdup(s);
		return v->sym ? 0 : fail_at(p, l, "out of memory");
	}
	return fail_at(p, l, "%s: expected an integer%s, got '%s'", k,
		       allow_symbol ? " or a symbol" : "", s);
}

/* Walk a mapping's pairs; fn handles one key, unknown keys are errors. */
int each_pair(struct parser *p, struct fy_node *map, struct fy_node *mapkey,
		     const char *what, pair_fn fn, void *ctx)
{
	if (!fy_node_is_mapping(map))
		return fail_at(p, mapkey ? loc_of(mapkey) : loc_of(map),
			       "%s: expected a mapping", what);
	void *it = NULL;
	struct fy_node_pair *pair;
	while ((pair = fy_node_mapping_iterate(map, &it))) {
		struct fy_node *k = fy_node_pair_key(pair), *v = fy_node_pair_value(pair);
		char kb[64];
		if (!k || !fy_node_is_scalar(k) || !scalar(k, kb, sizeof(kb)))
			return fail_at(p, loc_of(k), "%s: keys must be plain words", what);
		if (!v)
			return fail_at(p, loc_of(k), "%s: '%s' has no value", what, kb);
		if (fn(p, kb, k, v, ctx) < 0)
			return -1;
	}
	return 0;
}

/* A mapping of field: value, for one of the field tables. */
int field_pair(struct parser *p, const char *key, struct fy_node *k,
		      struct fy_node *v, void *c)
{
	struct fields_ctx *fc = c;
	int f = field_lookup(fc->t, key);
	if (f < 0)
		return fail_at(p, loc_of(k), "%s: unknown key '%s'", fc->what, key);
	if (fc->out->n >= MAX_FIELDS)
		return fail_at(p, loc_of(k), "%s: too many fields", fc->what);
	struct field_expect *fe = &fc->out->f[fc->out->n++];
	fe->field = f;
	uint32_t max = field_is_selector(fc->t, f) && fc->t == FT_REGS ? 0xffff : 0xffffffff;
	return get_value(p, k, v, max, fc->allow_symbol, &fe->v);
}

int get_fields(struct parser *p, struct fy_node *k, struct fy_node *v,
		      enum field_table t, const char *what, struct fields_expect *out)
{
	struct fields_ctx fc = { t, out, what, 1 };
	return each_pair(p, v, k, what, field_pair, &fc);
}

int get_string(struct parser *p, struct fy_node *k, struct fy_node *v, char **out)
{
	char kb[64];
	if (!fy_node_is_scalar(v))
		return fail_at(p, loc_of(k), "%s: expected a string", scalar(k, kb, sizeof(kb)));
	size_t len;
	const char *s = fy_node_get_scalar(v, &len);
	free(*out);
	*out = strndup(s ? s : "", s ? len : 0);
	return *out ? 0 : -1;
}


int get_list(struct parser *p, struct fy_node *k, struct fy_node *v,
		    const char *what, struct fy_node **items, int *n)
{
	if (!fy_node_is_sequence(v))
		return fail_at(p, loc_of(k), "%s: expected a list", what);
	void *it = NULL;
	struct fy_node *item;
	*n = 0;
	while ((item = fy_node_sequence_iterate(v, &it))) {
		if (*n >= MAX_ITEMS)
			return fail_at(p, loc_of(item), "%s: at most %d items", what, MAX_ITEMS);
		items[(*n)++] = item;
	}
	return 0;
}

