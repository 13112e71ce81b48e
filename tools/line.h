/*
 * One line of a report, built without printf.  `entryemu replay' of a
 * long scenario prints thousands of register lines, and formatting
 * their hexadecimal fields through printf took a quarter of a cold
 * replay's time.  A line that would overflow is cut short.
 */
#ifndef ENTRYEMU_TOOLS_LINE_H
#define ENTRYEMU_TOOLS_LINE_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct line {
	char s[768];
	size_t n;
};

static inline void line_put(struct line *l, const char *s)
{
	size_t k = strlen(s), room = sizeof(l->s) - 1 - l->n;	/* 1: the newline */
	if (k > room)
		k = room;
	memcpy(l->s + l->n, s, k);
	l->n += k;
}

/* v in hexadecimal, digits wide, zero-padded (printf's %0<digits>x). */
static inline void line_hex(struct line *l, uint32_t v, int digits)
{
	int k = digits;
	while (k < 8 && (v >> (4 * k)))
		k++;
	if (l->n + (size_t)k > sizeof(l->s) - 1)
		return;
	for (int i = k - 1; i >= 0; i--)
		l->s[l->n++] = "0123456789abcdef"[(v >> (4 * i)) & 15];
}

/* The line and its newline on stdout; the line is empty again. */
static inline void line_print(struct line *l)
{
	l->s[l->n++] = '\n';
	fwrite(l->s, 1, l->n, stdout);
	l->n = 0;
}

#endif
