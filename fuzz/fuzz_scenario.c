/*
 * libFuzzer target for the scenario path: the input is a scenario file.
 * It is loaded (entryemu_scenario_load), bound to a machine opened once
 * on a bundled image (the scenario's first image if it names one of
 * post, pre, post-preempt, else post), run, checked, and freed.
 *
 * Each input is held to a small budget so that none takes more than a
 * second: a scenario asking for more than FUZZ_INSN_BUDGET instructions
 * (or for the default 1,000,000) runs a copy of its setup with that
 * budget instead.  The bundled scenarios take at most about 300
 * instructions, but for one loop of 21,000; a fault that faults again at
 * once costs an event per instruction, 40-160 us each under ASan and
 * SanitizerCoverage on a loaded host, so the cap is 5,000.
 *
 * `code:` runs GNU as in a child process, which costs milliseconds per
 * input and up to the assembler's wall-clock limit (1.5 s, more than the
 * 1 s a fuzz input is allowed).  So by default the target does not run
 * the assembler on fuzz inputs.  At start it loads every seed scenario
 * of fuzz/corpus/scenario (ENTRYEMU_FUZZ_SEED_DIR) once with the
 * assembler, into a private code cache (ENTRYEMU_CACHE_DIR), then
 * empties PATH: during fuzzing, a `code:` text that a seed has is served
 * from the cache, with its labels, and any other fails at once ("cannot
 * run the GNU assembler", the cost of one fork).  The same seeds make
 * the same cache, so an input does the same in a fuzzing session and
 * when it is replayed alone.
 *
 * Built with ENTRYEMU_FUZZ_ASM (cmake -DENTRYEMU_FUZZ_ASM=ON), every
 * input's code goes through the assembler and no cache is kept; give
 * libFuzzer a -timeout above 2 s then.
 *
 * User code that holds bytes on which Unicorn 2.0.1 aborts the whole
 * process (known.h) is loaded and bound but not run.
 */
#define _GNU_SOURCE
#include <entryemu/entryemu.h>
#include <entryemu/scenario.h>
#include "images.h"
#include "process.h"
#include "known.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define FUZZ_INSN_BUDGET 5000u

static const char *const image_names[] = { "post", "pre", "post-preempt" };
#define NIMAGES (sizeof(image_names) / sizeof(image_names[0]))
static entryemu *machines[NIMAGES];
static entryemu_result *result;
static int input_fd = -1;
static char input_path[64];

static void die(const char *what, const char *why)
{
	fprintf(stderr, "fuzz_scenario: %s: %s\n", what, why);
	abort();
}

#ifndef ENTRYEMU_FUZZ_ASM
/* /tmp/entryemu-fuzz-cache-PID-XXXXXX: a session that crashed leaves it */
#define CACHE_PREFIX "entryemu-fuzz-cache-"
static char cache_dir[64];

static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	char path[600];
	for (struct dirent *e; (e = readdir(d));) {
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static void remove_cache(void)
{
	remove_dir(cache_dir);
}

/* Caches of sessions whose process is gone (a crash ends it with _Exit). */
static void remove_stale_caches(void)
{
	DIR *d = opendir("/tmp");
	if (!d)
		return;
	char path[600];
	for (struct dirent *e; (e = readdir(d));) {
		if (strncmp(e->d_name, CACHE_PREFIX, strlen(CACHE_PREFIX)))
			continue;
		char *end;
		long pid = strtol(e->d_name + strlen(CACHE_PREFIX), &end, 10);
		if (pid <= 0 || *end != '-')
			continue;	/* not named by this code */
		if (kill((pid_t)pid, 0) < 0 && errno == ESRCH) {
			snprintf(path, sizeof(path), "/tmp/%s", e->d_name);
			remove_dir(path);
		}
	}
	closedir(d);
}

/* Load every seed once, with the assembler: their code goes to the cache. */
static void fill_cache(void)
{
	remove_stale_caches();
	snprintf(cache_dir, sizeof(cache_dir), "/tmp/" CACHE_PREFIX "%d-XXXXXX", (int)getpid());
	if (!mkdtemp(cache_dir))
		die("mkdtemp", cache_dir);
	atexit(remove_cache);
	setenv("ENTRYEMU_CACHE_DIR", cache_dir, 1);
	const char *seeds = getenv("ENTRYEMU_FUZZ_SEED_DIR");
	if (!seeds || !*seeds)
		seeds = ENTRYEMU_FUZZ_SEED_DIR;
	DIR *d = opendir(seeds);
	if (!d) {
		/* an OSS-Fuzz runner has neither the sources nor GNU as: only
		 * inputs with `bytes:' run then */
		fprintf(stderr, "fuzz_scenario: %s: cannot read the seed scenarios; no code: "
			"text will assemble\n", seeds);
		return;
	}
	char path[4096], err[1024];
	unsigned n = 0;
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", seeds, e->d_name);
		entryemu_scenario *s = NULL;
		if (entryemu_scenario_load(path, &s, err, sizeof(err)) == 0) {
			entryemu_scenario_free(s);
			n++;
		}
	}
	closedir(d);
	fprintf(stderr, "fuzz_scenario: %u seed scenarios from %s loaded; their code is "
		"cached in %s\n", n, seeds, cache_dir);
}
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_process_setup();
	fuzz_find_images();
#ifdef ENTRYEMU_FUZZ_ASM
	/* no cache: a path under a non-directory cannot be created */
	setenv("ENTRYEMU_CACHE_DIR", "/dev/null/entryemu-fuzz-no-cache", 1);
#else
	fill_cache();
	/* from now on the assembler cannot be found */
	setenv("PATH", "/nonexistent/entryemu-fuzz-no-as", 1);
#endif
	char err[512], path[4096];
	for (size_t i = 0; i < NIMAGES; i++) {
		if (!entryemu_image_named(image_names[i], path, sizeof(path)))
			die(image_names[i], "image path too long");
		if (entryemu_open(&machines[i], path, err, sizeof(err)))
			die(path, err);
	}
	if (entryemu_result_new(&result))
		die("entryemu_result_new", "out of memory");
	/* the input is a file the loader can open: a memfd, by its /proc path */
	input_fd = memfd_create("fuzz-scenario.yaml", MFD_CLOEXEC);
	if (input_fd < 0)
		die("memfd_create", "failed");
	snprintf(input_path, sizeof(input_path), "/proc/self/fd/%d", input_fd);
	return 0;
}

static int write_input(const uint8_t *data, size_t size)
{
	if (ftruncate(input_fd, 0) < 0)
		return -1;
	size_t off = 0;
	while (off < size) {
		ssize_t w = pwrite(input_fd, data + off, size - off, (off_t)off);
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

static entryemu *machine_for(const entryemu_scenario *s)
{
	const char *name = entryemu_scenario_image_name(s, 0);
	for (size_t i = 0; name && i < NIMAGES; i++)
		if (!strcmp(name, image_names[i]))
			return machines[i];
	return machines[0];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (write_input(data, size))
		die(input_path, "cannot write the input");
	char err[1024], report[4096];
	entryemu_scenario *s = NULL;
	if (entryemu_scenario_load(input_path, &s, err, sizeof(err)))
		return 0;
	/* what every accessor gives back must be usable */
	(void)strlen(entryemu_scenario_name(s));
	(void)strlen(entryemu_scenario_description(s));
	for (int i = 0; i < entryemu_scenario_nimages(s); i++) {
		(void)strlen(entryemu_scenario_image(s, i));
		(void)strlen(entryemu_scenario_image_name(s, i));
	}
	entryemu *m = machine_for(s);
	entryemu_binding *b = NULL;
	if (entryemu_scenario_bind(s, m, &b, err, sizeof(err)) == 0) {
		const struct entryemu_setup *setup = entryemu_binding_setup(b);
		if (setup->vm86 && known_unicorn_abort(setup->code, setup->code_len)) {
			/* Unicorn 2.0.1 would abort the process (known.h): no run */
		} else if (setup->insn_budget && setup->insn_budget <= FUZZ_INSN_BUDGET) {
			entryemu_binding_run(b, result);
			entryemu_binding_check(b, result, report, sizeof(report));
		} else {
			/* the actions count each run's calls: as the binding's own run */
			struct entryemu_setup capped = *setup;
			capped.insn_budget = FUZZ_INSN_BUDGET;
			entryemu_run(m, &capped, result);
			entryemu_binding_check(b, result, report, sizeof(report));
		}
		entryemu_binding_free(b);
	}
	entryemu_scenario_free(s);
	return 0;
}
