/* Reading scenario YAML: values, mappings and errors with their position. */
#include "yaml.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Where a node is.  libfyaml 0.7 gives marks for scalar (and tag)
 * tokens only; a mapping or a sequence is placed at its first key or
 * item.  An empty one has no mark: {0, 0}, which fail_at() replaces by
 * the enclosing key.
 */
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
		return l;
	}
	void *it = NULL;
	if (n && fy_node_is_mapping(n)) {
		struct fy_node_pair *pair = fy_node_mapping_iterate(n, &it);
		if (pair)
			return loc_of(fy_node_pair_key(pair));
	} else if (n && fy_node_is_sequence(n)) {
		struct fy_node *item = fy_node_sequence_iterate(n, &it);
		if (item)
			return loc_of(item);
	}
	return l;
}

struct loc loc_of_item(struct fy_node *n)
{
	return loc_of(n);
}

int fail_at(struct parser *p, struct loc l, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* never FILE:0:0: a node without a mark is reported at its key */
	if (l.line <= 0)
		l = p->last;
	if (l.line <= 0)
		l = (struct loc){ 1, 1 };
	snprintf(p->err, p->errlen, "%s:%d:%d: %s", p->path, l.line, l.col, msg);
	return -1;
}

const char *scalar(struct fy_node *n, char *buf, size_t len)
{
	size_t sl;
	const char *s = fy_node_get_scalar(n, &sl);
	if (!s || !len)
		return NULL;
	/* cut to fit, as snprintf would; a copy, as snprintf cost a tenth of a load */
	if (sl >= len)
		sl = len - 1;
	memcpy(buf, s, sl);
	buf[sl] = 0;
	return buf;
}

const char *key_name(struct fy_node *k, char *buf, size_t len)
{
	const char *s = k && fy_node_is_scalar(k) ? scalar(k, buf, len) : NULL;
	return s ? s : "value";
}

/*
 * Digits of a number: decimal without a leading zero, or 0x hex.  "010"
 * is refused: strtoul reads it as octal 8 while "08" was an error, and a
 * reader cannot tell which was meant.
 */
static int number_text(const char *s)
{
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		if (!s[2])
			return 0;
		for (s += 2; *s; s++)
			if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') ||
			      (*s >= 'A' && *s <= 'F')))
				return 0;
		return 1;
	}
	if (s[0] == '0' && s[1])
		return -1;	/* leading zero */
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* The value of number text (number_text() == 1), saturated at 2^64 - 1. */
static unsigned long long number_value(const char *s)
{
	errno = 0;
	unsigned long long x = strtoull(s, NULL, 0);
	return errno ? ~0ull : x;
}

/*
 * A place: "name", "name+offset" (bytes, a number up to 0xffffffff),
 * "name+#count" (instructions), each optionally with "/text" after the
 * name (the first instruction from name on whose text holds text).
 * The offset or count is what follows the last '+', if that is a number
 * or '#' and a number; text may hold any other printable character.
 */
static int is_symbol_text(const char *s)
{
	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_' || *s == '.'))
		return 0;
	for (; *s && *s != '+' && *s != '/'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '.'))
			return 0;
	if (!*s)
		return 1;
	const char *plus = strrchr(s, '+');
	if (*s == '/') {
		const char *end = plus ? plus : s + strlen(s);
		if (end == s + 1)
			return -1;		/* an empty text */
		for (const char *t = s + 1; t < end; t++)
			if (*t < ' ' || *t > '~')
				return -1;
		if (!plus)
			return 1;
	}
	const char *n = plus[1] == '#' ? plus + 2 : plus + 1;
	return number_text(n) == 1 && number_value(n) <= 0xffffffffull ? 1 : -1;
}

#define VAL_SYMBOL	1
#define VAL_NEGATIVE	2

/* An integer (decimal, 0x hex, negative as two's complement if allowed) or a symbol. */
static int parse_value(struct parser *p, struct fy_node *key, struct fy_node *n,
		       uint32_t max, int flags, struct value *v)
{
	char buf[256], kb[64];
	const char *k = key_name(key, kb, sizeof(kb));
	struct loc l = loc_of(n);
	memset(v, 0, sizeof(*v));
	v->loc = l;
	if (!fy_node_is_scalar(n))
		return fail_at(p, l.line ? l : loc_of(key), "%s: expected an integer, got a %s",
			       k, fy_node_is_mapping(n) ? "mapping" : "sequence");
	size_t sl;
	const char *raw = fy_node_get_scalar(n, &sl);
	if (!raw || sl >= sizeof(buf))
		return fail_at(p, l, "%s: expected an integer%s", k,
			       raw ? " (this one is too long)" : "");
	const char *s = scalar(n, buf, sizeof(buf));
	if (!s || !*s)
		return fail_at(p, l, "%s: expected an integer", k);
	v->set = 1;
	int neg = *s == '-';
	int kind = number_text(s + neg);
	if (kind < 0)
		return fail_at(p, l, "%s: '%s': a leading zero is ambiguous (octal?): write "
			       "decimal without it, or 0x for hex", k, s);
	if (kind > 0) {
		unsigned long long x = number_value(s + neg);
		if (neg) {
			if (!(flags & VAL_NEGATIVE))
				return fail_at(p, l, "%s: %s: must not be negative", k, s);
			if (x > 0x80000000ull)
				return fail_at(p, l, "%s: %s is out of range", k, s);
			v->num = (uint32_t)-(uint32_t)x;
			return 0;
		}
		if (x > max)
			return fail_at(p, l, "%s: %s is out of range (at most 0x%x)", k, s, max);
		v->num = (uint32_t)x;
		return 0;
	}
	if ((s[neg] >= '0' && s[neg] <= '9') || neg)
		return fail_at(p, l, "%s: '%s' is not an integer", k, s);
	if (flags & VAL_SYMBOL) {
		int sym = is_symbol_text(s);
		if (sym < 0)
			return fail_at(p, l, "%s: '%s': expected name, name+offset, name+#count, "
				       "name/text or name/text+#count (offset and count up to "
				       "0xffffffff, text not empty)", k, s);
		if (sym > 0) {
			v->sym = strdup(s);
			return v->sym ? 0 : fail_at(p, l, "out of memory");
		}
	}
	return fail_at(p, l, "%s: expected an integer%s, got '%s'", k,
		       flags & VAL_SYMBOL ? " or a symbol" : "", s);
}

int get_value(struct parser *p, struct fy_node *key, struct fy_node *n,
	      uint32_t max, int allow_symbol, struct value *v)
{
	return parse_value(p, key, n, max, (allow_symbol ? VAL_SYMBOL : 0) |
			   (max == 0xffffffffu ? VAL_NEGATIVE : 0), v);
}

int get_unsigned(struct parser *p, struct fy_node *key, struct fy_node *n,
		 uint32_t max, struct value *v)
{
	return parse_value(p, key, n, max, 0, v);
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
		if (k && loc_of(k).line > 0)
			p->last = loc_of(k);
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
	struct field_expect *fe = fields_add(fc->out);
	if (!fe)
		return fail_at(p, loc_of(k), fc->out->n >= MAX_FIELDS ? "%s: too many fields"
								: "%s: out of memory", fc->what);
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
		return fail_at(p, loc_of(v).line ? loc_of(v) : loc_of(k), "%s: expected a string, "
			       "got a %s", key_name(k, kb, sizeof(kb)),
			       fy_node_is_mapping(v) ? "mapping" : "sequence");
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
		if (loc_of(item).line > 0)
			p->last = loc_of(item);
		if (*n >= MAX_ITEMS)
			return fail_at(p, loc_of(item), "%s: at most %d items", what, MAX_ITEMS);
		items[(*n)++] = item;
	}
	return 0;
}

