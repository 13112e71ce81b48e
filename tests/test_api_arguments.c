/*
 * Every public function of both headers that test_run_object.c's
 * argument tests do not reach, called with NULL for each handle and
 * pointer and with values out of range.  The contract is the headers':
 * a negative code (ENTRYEMU_E_INVAL) from functions that return one,
 * NULL or 0 from getters, nothing at all from the free functions; and
 * never a crash.  Each call runs in a child process so that a crash is
 * reported as the call that made it, not as the end of the suite.
 */
#include "support.h"

#include <entryemu/scenario.h>
#include <entryemu/oracle.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* Run fn in a child: it must exit normally with status 0. */
static void survives(const char *what, void (*fn)(void))
{
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		signal(SIGSEGV, SIG_DFL);	/* a crash kills the child: reported below */
		signal(SIGBUS, SIG_DFL);
		signal(SIGABRT, SIG_DFL);
		signal(SIGILL, SIG_DFL);
		signal(SIGFPE, SIG_DFL);
		fn();
		_exit(0);
	}
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("%s: %s %d", what, WIFSIGNALED(st) ? "killed by signal" : "exit",
			 WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
}

/* inside a child: a failed check is a non-zero exit */
#define CHILD_CHECK(cond) do { if (!(cond)) { fprintf(stderr, "failed: %s\n", #cond); _exit(3); } } while (0)

static const char *scenario_path(void)
{
	static char path[4096];
	snprintf(path, sizeof(path), "%s/syscall-int80-getpid.yaml", SCENARIO_DIR);
	return path;
}

/* ---- the machine's getters and settings --------------------------------- */

static void machine_nulls(void)
{
	char buf[64];
	CHILD_CHECK(entryemu_thread_info(NULL) == 0);
	CHILD_CHECK(entryemu_esp0(NULL) == 0);
	CHILD_CHECK(entryemu_nr_syscalls(NULL) == 0);
	CHILD_CHECK(entryemu_set_labels(NULL, NULL, 0) == ENTRYEMU_E_INVAL);
	CHILD_CHECK(entryemu_result_nmarks(NULL) == 0);
	CHILD_CHECK(entryemu_result_mark(NULL, 0) == NULL);
	CHILD_CHECK(entryemu_oracle_qemu_path(NULL, 64) == NULL);
	CHILD_CHECK(entryemu_oracle_qemu_path(buf, 0) == NULL);
	CHILD_CHECK(entryemu_set_syntax(NULL, ENTRYEMU_SYNTAX_ATT) == ENTRYEMU_E_INVAL);
	CHILD_CHECK(entryemu_insn_text(NULL, 0, ENTRYEMU_SYNTAX_ATT, buf, sizeof(buf)) < 0);
	unsigned port = 0;
	CHILD_CHECK(entryemu_gdb_listen(NULL, "127.0.0.1:0", &port, buf, sizeof(buf)) ==
		    ENTRYEMU_E_INVAL);
	entryemu *none = NULL;
	CHILD_CHECK(entryemu_reopen(NULL, "/nonexistent/entry-post.elf", buf, sizeof(buf)) ==
		    ENTRYEMU_E_INVAL);
	CHILD_CHECK(entryemu_reopen(&none, "/nonexistent/entry-post.elf", buf, sizeof(buf)) ==
		    ENTRYEMU_E_INVAL && strstr(buf, "*m"));
	CHILD_CHECK(entryemu_reopen(&none, "/nonexistent/entry-post.elf", NULL, 0) ==
		    ENTRYEMU_E_INVAL);
	entryemu_close(NULL);
}

static void machine_bad_values(void)
{
	entryemu *m = open_image(ENTRYEMU_POST_PATCH);
	char buf[64];
	/* the machine stays as it was: nothing to open in its place */
	CHILD_CHECK(entryemu_reopen(&m, NULL, buf, sizeof(buf)) == ENTRYEMU_E_INVAL && m);
	CHILD_CHECK(entryemu_set_syntax(m, (enum entryemu_syntax)7) == ENTRYEMU_E_INVAL);
	CHILD_CHECK(entryemu_insn_text(m, 0, (enum entryemu_syntax)7, buf, sizeof(buf)) < 0);
	CHILD_CHECK(entryemu_insn_text(m, 0xc0100000, ENTRYEMU_SYNTAX_ATT, NULL, 64) < 0);
	CHILD_CHECK(entryemu_insn_text(m, 0xc0100000, ENTRYEMU_SYNTAX_ATT, buf, 0) < 0);
	/* nothing is mapped at 0 */
	CHILD_CHECK(entryemu_insn_text(m, 0, ENTRYEMU_SYNTAX_ATT, buf, sizeof(buf)) < 0);
	unsigned port = 0;
	CHILD_CHECK(entryemu_gdb_listen(m, NULL, &port, buf, sizeof(buf)) == ENTRYEMU_E_INVAL);
	CHILD_CHECK(entryemu_gdb_listen(m, "no port here", &port, buf, sizeof(buf)) < 0);
	CHILD_CHECK(entryemu_gdb_listen(m, "127.0.0.1:99999", &port, buf, sizeof(buf)) < 0);
	CHILD_CHECK(entryemu_gdb_listen(m, "127.0.0.1:-1", &port, NULL, 0) < 0);
	/* labels: NULL with a count, and a NULL name */
	CHILD_CHECK(entryemu_set_labels(m, NULL, 3) == ENTRYEMU_E_INVAL);
	struct entryemu_label bad[1] = { { NULL, 0x08048000 } };
	CHILD_CHECK(entryemu_set_labels(m, bad, 1) == ENTRYEMU_E_INVAL);
	CHILD_CHECK(entryemu_set_labels(m, NULL, 0) == 0);	/* none */
	entryemu_result *r = NULL;
	CHILD_CHECK(entryemu_result_new(&r) == 0);
	CHILD_CHECK(entryemu_result_mark(r, 0) == NULL);	/* no run yet */
	CHILD_CHECK(entryemu_result_mark(r, (size_t)-1) == NULL);
	entryemu_result_free(r);
	entryemu_close(m);
}

/* ---- the scenario layer ------------------------------------------------- */

static void scenario_nulls(void)
{
	char err[256];
	entryemu_scenario *s = (entryemu_scenario *)err;	/* must become NULL */
	CHILD_CHECK(entryemu_scenario_load(NULL, &s, err, sizeof(err)) == ENTRYEMU_E_INVAL);
	CHILD_CHECK(s == NULL);
	CHILD_CHECK(entryemu_scenario_load(scenario_path(), NULL, err, sizeof(err)) ==
		    ENTRYEMU_E_INVAL);
	CHILD_CHECK(entryemu_scenario_load("/nonexistent.yaml", &s, NULL, 0) < 0);
	entryemu_scenario_free(NULL);
	CHILD_CHECK(entryemu_scenario_name(NULL) == NULL);
	CHILD_CHECK(entryemu_scenario_description(NULL) == NULL);
	CHILD_CHECK(entryemu_scenario_nimages(NULL) == 0);
	CHILD_CHECK(entryemu_scenario_image(NULL, 0) == NULL);
	CHILD_CHECK(entryemu_scenario_image_name(NULL, 0) == NULL);
	CHILD_CHECK(entryemu_scenario_locate(NULL, "user.gs", err, sizeof(err)) == NULL);
	entryemu_binding *b = (entryemu_binding *)err;
	CHILD_CHECK(entryemu_scenario_bind(NULL, NULL, &b, err, sizeof(err)) == ENTRYEMU_E_INVAL);
	CHILD_CHECK(b == NULL);
	entryemu_binding_free(NULL);
	CHILD_CHECK(entryemu_binding_setup(NULL) == NULL);
	entryemu_binding_set_flags(NULL, 0);
	CHILD_CHECK(entryemu_binding_run(NULL, NULL) == ENTRYEMU_E_INVAL);
	CHILD_CHECK(entryemu_binding_check(NULL, NULL, err, sizeof(err)) < 0);
	CHILD_CHECK(entryemu_scenario_record(NULL, NULL, NULL, NULL, NULL) == ENTRYEMU_E_INVAL);
	CHILD_CHECK(entryemu_scenario_record_failure(NULL, NULL, NULL, NULL, NULL) ==
		    ENTRYEMU_E_INVAL);
	entryemu_code *c = (entryemu_code *)err;
	CHILD_CHECK(entryemu_assemble(NULL, &c, err, sizeof(err)) == ENTRYEMU_E_INVAL);
	CHILD_CHECK(c == NULL);
	CHILD_CHECK(entryemu_assemble("nop", NULL, err, sizeof(err)) == ENTRYEMU_E_INVAL);
	size_t n = 7;
	CHILD_CHECK(entryemu_code_bytes(NULL, &n) == NULL);
	CHILD_CHECK(entryemu_code_bytes(NULL, NULL) == NULL);
	CHILD_CHECK(entryemu_code_label(NULL, "x") == 0);
	CHILD_CHECK(entryemu_code_labels(NULL, &n) == NULL);
	CHILD_CHECK(entryemu_code_labels(NULL, NULL) == NULL);
	entryemu_code_free(NULL);
}

static void scenario_bad_values(void)
{
	char err[256];
	entryemu_scenario *s = NULL;
	CHILD_CHECK(entryemu_scenario_load(scenario_path(), &s, err, sizeof(err)) == 0);
	CHILD_CHECK(entryemu_scenario_image(s, -1) == NULL);
	CHILD_CHECK(entryemu_scenario_image(s, entryemu_scenario_nimages(s)) == NULL);
	CHILD_CHECK(entryemu_scenario_image_name(s, 1 << 30) == NULL);
	CHILD_CHECK(entryemu_scenario_locate(s, NULL, err, sizeof(err)) == NULL);
	CHILD_CHECK(entryemu_scenario_locate(s, "user.gs", NULL, 0) == NULL);
	CHILD_CHECK(entryemu_scenario_locate(s, "no.such.field", err, sizeof(err)) == NULL);
	/* the file's line 5 is "image: [post, pre, pda, fs]": pre at column 15 */
	char want[4200];
	snprintf(want, sizeof(want), "%s:5:15", scenario_path());
	CHILD_CHECK(entryemu_scenario_locate(s, "image[1]", err, sizeof(err)) != NULL);
	CHILD_CHECK(strcmp(err, want) == 0);
	CHILD_CHECK(entryemu_scenario_locate(s, "image[4]", err, sizeof(err)) == NULL);
	CHILD_CHECK(entryemu_scenario_locate(s, "image[-1]", err, sizeof(err)) == NULL);

	entryemu *m = open_image(ENTRYEMU_POST_PATCH);
	entryemu_binding *b = NULL;
	CHILD_CHECK(entryemu_scenario_bind(s, NULL, &b, err, sizeof(err)) == ENTRYEMU_E_INVAL);
	CHILD_CHECK(entryemu_scenario_bind(s, m, NULL, err, sizeof(err)) == ENTRYEMU_E_INVAL);
	CHILD_CHECK(entryemu_scenario_bind(s, m, &b, NULL, 0) == 0);
	CHILD_CHECK(entryemu_binding_run(b, NULL) == ENTRYEMU_E_INVAL);
	entryemu_result *r = NULL;
	CHILD_CHECK(entryemu_result_new(&r) == 0);
	CHILD_CHECK(entryemu_binding_run(b, r) == 0);
	CHILD_CHECK(entryemu_binding_check(b, NULL, err, sizeof(err)) < 0);
	CHILD_CHECK(entryemu_binding_check(b, r, NULL, 0) == 0);	/* it passes */
	CHILD_CHECK(entryemu_scenario_record(m, NULL, r, "why", "/nonexistent/dir/x.yaml") ==
		    ENTRYEMU_E_INVAL);
	CHILD_CHECK(entryemu_scenario_record(m, entryemu_binding_setup(b), r, "why", NULL) ==
		    ENTRYEMU_E_INVAL);
	CHILD_CHECK(entryemu_scenario_record(m, entryemu_binding_setup(b), r, "why",
					     "/nonexistent/dir/x.yaml") < 0);
	CHILD_CHECK(entryemu_scenario_record_failure(m, entryemu_binding_setup(b), r, NULL,
						     "/nonexistent/dir/x.yaml") < 0);
	entryemu_result_free(r);
	entryemu_binding_free(b);
	entryemu_scenario_free(s);
	entryemu_close(m);

	/* assembly: a bad line, then labels asked of good code */
	entryemu_code *c = NULL;
	CHILD_CHECK(entryemu_assemble("no_such_insn %eax", &c, err, sizeof(err)) < 0);
	CHILD_CHECK(c == NULL);
	CHILD_CHECK(entryemu_assemble("here:\n nop", &c, NULL, 0) == 0);
	CHILD_CHECK(entryemu_code_label(c, NULL) == 0);
	CHILD_CHECK(entryemu_code_label(c, "nowhere") == 0);
	entryemu_code_free(c);
}

/* ---- the host's limits ------------------------------------------------ */

/* The process's address space now, in bytes (VmSize); 0 if unknown. */
static unsigned long address_space_now(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	unsigned long kib = 0;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmSize: %lu kB", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib * 1024;
}

/*
 * With no room left for an engine's 1 GiB buffer of translated code
 * (RLIMIT_AS 512 MiB above what the process has mapped), the open fails
 * with ENTRYEMU_E_NOMEM and says why; the emulator would have printed a
 * line and ended the process.  The process goes on.
 */
static void machine_without_address_space(void)
{
	unsigned long now = address_space_now();
	CHILD_CHECK(now > 0);
	struct rlimit rl = { now + (512ul << 20), now + (512ul << 20) };
	CHILD_CHECK(setrlimit(RLIMIT_AS, &rl) == 0);
	char path[4096], err[512] = "";
	CHILD_CHECK(entryemu_image_path(ENTRYEMU_POST_PATCH, path, sizeof(path)) != NULL);
	entryemu *m = NULL;
	CHILD_CHECK(entryemu_open(&m, path, err, sizeof(err)) == ENTRYEMU_E_NOMEM);
	CHILD_CHECK(m == NULL);
	CHILD_CHECK(strstr(err, "1 GiB of address space") != NULL);
}

static void test_machine_nulls(void **state) { (void)state; survives("machine NULLs", machine_nulls); }
static void test_machine_bad_values(void **state) { (void)state; survives("machine values", machine_bad_values); }
static void test_scenario_nulls(void **state) { (void)state; survives("scenario NULLs", scenario_nulls); }
static void test_scenario_bad_values(void **state) { (void)state; survives("scenario values", scenario_bad_values); }

/*
 * AddressSanitizer and valgrind map far more than the limit set here for
 * themselves: the test is for the plain build (CI runs that too).
 */
static void test_machine_without_address_space(void **state)
{
	(void)state;
#if defined(__SANITIZE_ADDRESS__)
	skip();
#endif
	const char *preload = getenv("LD_PRELOAD");
	if (preload && strstr(preload, "vgpreload"))
		skip();
	survives("no address space for an engine", machine_without_address_space);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_machine_nulls),
		cmocka_unit_test(test_machine_bad_values),
		cmocka_unit_test(test_scenario_nulls),
		cmocka_unit_test(test_scenario_bad_values),
		cmocka_unit_test(test_machine_without_address_space),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
