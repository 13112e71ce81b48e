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
	/*
	 * The last key or item entered (each_pair, get_list): where an error
	 * is reported when its own node has no mark (an empty mapping or
	 * list), so that no message says FILE:0:0.
	 */
	struct loc last;
	const char *text;	/* the file's bytes, NUL-terminated (columns in block scalars) */
};

/*
 * Limits on what a scenario may hold, checked before or while reading
 * it: a file is a few KiB and 6 levels deep; these leave ample room and
 * bound the parser's time and memory on hostile input.
 */
#define SCENARIO_MAX_BYTES	(1u << 20)
#define SCENARIO_MAX_DEPTH	8
#define SCENARIO_MAX_NODES	100000
/*
 * The largest instruction budget a scenario (or the CLI) may ask for:
 * at ~20-50 M instructions/s, a couple of seconds of emulation.  Larger
 * budgets made `jmp .` run for minutes.
 */
#define SCENARIO_MAX_BUDGET	ENTRYEMU_INSN_BUDGET_MAX

struct loc loc_of(struct fy_node *n);
/* Where a node starts: a mapping or sequence at its first key or item. */
struct loc loc_of_item(struct fy_node *n);
int fail_at(struct parser *p, struct loc l, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The scalar's text into buf (NULL if not a scalar). */
const char *scalar(struct fy_node *n, char *buf, size_t len);
/*
 * An integer <= max, or a symbol ("name" or "name+offset") if allowed.
 * Negative numbers (two's complement) only for full 32-bit values
 * (max 0xffffffff: registers, return values); a field with a smaller
 * range refuses them instead of masking -1 into its range.
 */
int get_value(struct parser *p, struct fy_node *key, struct fy_node *n,
	      uint32_t max, int allow_symbol, struct value *v);
/* A count or index: a non-negative integer <= max, never a symbol. */
int get_unsigned(struct parser *p, struct fy_node *key, struct fy_node *n,
		 uint32_t max, struct value *v);
/* A key's text for messages: "value" when it is not a scalar (never NULL). */
const char *key_name(struct fy_node *k, char *buf, size_t len);
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
