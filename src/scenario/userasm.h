/*
 * User code written as assembly text in a scenario: assembled with GNU
 * as (--32, AT&T syntax) into bytes placed at ENTRYEMU_USER_CODE, with
 * its labels kept so expectations can name them.
 */
#ifndef ENTRYEMU_USERASM_H
#define ENTRYEMU_USERASM_H

#include <stddef.h>
#include <stdint.h>

struct user_label {
	char *name;
	uint32_t addr;
};

struct user_code {
	uint8_t *bytes;
	size_t len;
	struct user_label *labels;
	size_t nlabels;
};

/*
 * Assemble text.  On failure returns -1 and fills err with the first
 * assembler message, *err_line set to its line in text (1-based, 0 if
 * unknown).
 */
int userasm_assemble(const char *text, struct user_code *out, char *err,
		     size_t errlen, int *err_line);
void userasm_free(struct user_code *c);

#endif
