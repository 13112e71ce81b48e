/*
 * Helpers for reading scenario YAML with libfyaml.  Every failure is
 * written as "FILE:LINE:COL: message" and returns -1.
 */
#ifndef ENTRYEMU_YAML_H
#define ENTRYEMU_YAML_H

#include <libfyaml.h>

#include "scenario.h"

struct parser {
	const char *path;
	char *err;
	size_t errlen;
	entryemu_scenario *s;
};

struct loc loc_of(struct fy_node *n);
/* Where a node starts: a mapping or sequence at its first key or item. */
struct loc loc_of_item(struct fy_node *n);
int fail_at(struct parser *p, struct loc l, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The scalar's text into buf (NULL if not a scalar). */
const char *scalar(struct fy_node *n, char *buf, size_t len);
/* An integer <= max (negative: two's complement), or a symbol if allowed. */
int get_value(struct parser *p, struct fy_node *key, struct fy_node *n,
	      uint32_t max, int allow_symbol, struct value *v);
int get_string(struct parser *p, struct fy_node *k, struct fy_node *v, char **out);

/* Walk a mapping; fn handles each key (and reports unknown ones). */
typedef int (*pair_fn)(struct parser *p, const char *key, struct fy_node *k,
		       struct fy_node *v, void *ctx);
int each_pair(struct parser *p, struct fy_node *map, struct fy_node *mapkey,
	      const char *what, pair_fn fn, void *ctx);

/* A mapping of named fields of one of the field tables. */
struct fields_ctx {
	enum field_table t;
	struct fields_expect *out;
	const char *what;
	int allow_symbol;
};
int field_pair(struct parser *p, const char *key, struct fy_node *k,
	       struct fy_node *v, void *ctx);
int get_fields(struct parser *p, struct fy_node *k, struct fy_node *v,
	       enum field_table t, const char *what, struct fields_expect *out);

/* A list of at most MAX_ITEMS nodes. */
int get_list(struct parser *p, struct fy_node *k, struct fy_node *v,
	     const char *what, struct fy_node **items, int *n);

#endif
