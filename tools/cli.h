/* What the entryemu command's source files share. */
#ifndef ENTRYEMU_CLI_H
#define ENTRYEMU_CLI_H

#include <entryemu/entryemu.h>
#include <entryemu/scenario.h>

#include <sys/types.h>

#ifndef ENTRYEMU_SCENARIO_DIR
#define ENTRYEMU_SCENARIO_DIR "scenarios"
#endif

enum { EXIT_PASS = 0, EXIT_FAIL = 1, EXIT_BADINPUT = 2 };

struct opts {
	int trace, verbose, json, quick;
	int check_reset;		/* replay: ENTRYEMU_RUN_CHECK_RESET */
	int short_blocks;		/* replay: ENTRYEMU_RUN_SHORT_NEW_BLOCKS */
	int check_cfi;			/* replay: ENTRYEMU_RUN_CHECK_CFI */
	const char *image;
	const char *require;		/* coverage: labels that must be reached */
	const char *out;		/* explore: where reproducers go */
	const char *known;		/* explore: checkers whose findings are known */
	int jobs;			/* replay: worker processes (0: one per core) */
	const char *gdb;		/* replay: HOST:PORT to serve the run to gdb */
	int intel;			/* trace, disasm: Intel syntax instead of AT&T */
	int count;			/* disasm: instructions (0: the default) */
};

/* fork and exec PATH with stdout and stderr on /dev/null; the pid, or -1 */
pid_t spawn_quiet(const char *path, char *const argv[]);
/* The bundled scenarios: $ENTRYEMU_SCENARIO_DIR, the source tree, or the
 * installed copy. */
const char *scenario_dir(void);
/* The *.yaml files of dir, sorted, malloc'd; their count, or -1. */
int scenario_files(const char *dir, char ***out);
int cmd_bench(int argc, char **argv, const struct opts *o);	/* bench.c */
int cmd_cost(int argc, char **argv, const struct opts *o);	/* cost.c */
int cmd_explore(int argc, char **argv, const struct opts *o);	/* explore.c */
int cmd_diff(int argc, char **argv);				/* diff.c */

#endif
