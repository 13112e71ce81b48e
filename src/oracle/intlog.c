/* Reading QEMU's -d int log incrementally (see intlog.h). */
#include "oracle/intlog.h"

#include <string.h>

int intlog_open(struct intlog *l, const char *path)
{
	l->f = fopen(path, "r");
	l->pos = 0;
	return l->f ? 0 : -1;
}

void intlog_close(struct intlog *l)
{
	if (l->f)
		fclose(l->f);
	l->f = NULL;
}

int intlog_last(struct intlog *l, struct intlog_rec *out)
{
	if (!l->f)
		return 0;
	clearerr(l->f);
	if (fseek(l->f, l->pos, SEEK_SET))
		return 0;
	char line[512];
	int found = 0;
	/* only whole lines: a partial one is read again next time */
	while (fgets(line, sizeof(line), l->f)) {
		size_t n = strlen(line);
		if (!n || line[n - 1] != '\n')
			break;
		l->pos = ftell(l->f);
		const char *v = strstr(line, ": v=");
		struct intlog_rec r;
		if (v && sscanf(v, ": v=%x e=%x i=%u cpl=%u", &r.vector, &r.error, &r.software,
				&r.cpl) == 4) {
			*out = r;
			found = 1;
		}
	}
	return found;
}
