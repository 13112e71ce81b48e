/*
 * A run does not depend on the runs before it on its handle: the engine
 * keeps translated code, linked blocks and its caches across runs, and
 * the library resets the rest; neither may show in a result.  For a few
 * bundled scenarios, chosen for the state they leave (an action for the
 * n-th call, the espfix stack, an IRET fault, an STI shadow, sysenter,
 * vm86 mode, self-modifying code, a budget), an IRQ, an NMI or a #DB is
 * injected before each kernel instruction of the scenario's run, the
 * three in turn (as entryemu explore does, every fourth run traced), and
 * each such run on the handle that ran all the others must give what it
 * gives on a handle opened for it alone: the outcome, the count, the
 * final registers, every event, every call with its pt_regs, and every
 * finding.
 */
#include <entryemu/scenario.h>

#include "support.h"

#include <string.h>

static const char *const files[] = {
	"work-signal.yaml",		/* an action for the first call */
	"espfix-iret-fault.yaml",
	"seg-iret-bad-cs.yaml",
	"fidelity-sti-shadow-if-set.yaml",
	"syscall-sysenter-getpid.yaml",
	"fidelity-vm86-int3.yaml",
	"fidelity-smc-counted-once.yaml",
	"fidelity-pop-past-stack-top.yaml",	/* its budget stops it */
};

/* A result, as text: equal texts, equal results. */
static void describe(const entryemu_result *r, char *buf, size_t len)
{
	size_t n = 0;
#define PUT(...)                                                                      \
	do {                                                                          \
		int k = snprintf(buf + n, n < len ? len - n : 0, __VA_ARGS__);      \
		n += k > 0 ? (size_t)k : 0;                                          \
	} while (0)
	const struct entryemu_regs *f = final_regs(r);
	PUT("%s %llu %s\n", entryemu_outcome_name(entryemu_result_outcome(r)),
	    (unsigned long long)entryemu_result_insns(r), entryemu_result_message(r));
	PUT("%x %x %x %x %x %x %x %x %x %x %x %x %x %x %x %x\n", f->eax, f->ebx, f->ecx, f->edx,
	    f->esi, f->edi, f->ebp, f->esp, f->eip, f->eflags, f->cs, f->ss, f->ds, f->es, f->fs,
	    f->gs);
	for (size_t i = 0; i < entryemu_result_nevents(r); i++) {
		const struct entryemu_event_record *e = entryemu_result_event(r, i);
		PUT("event %d %d %x %x %d %d %x\n", e->vector, e->has_error_code, e->error_code,
		    e->eip, e->from_cpl, e->to_cpl, e->frame);
	}
	for (size_t i = 0; i < entryemu_result_ncallouts(r); i++) {
		const struct entryemu_callout_record *c = entryemu_result_callout(r, i);
		const struct entryemu_pt_regs *p = &c->regs;
		PUT("call %s %x %x %x %x %x %x %x %x %x %x %x\n", c->name, c->pt_regs_addr, p->ebx,
		    p->ecx, p->edx, p->esi, p->edi, p->eax, p->orig_eax, p->eip, p->eflags, p->esp);
	}
	for (size_t i = 0; i < entryemu_result_nfindings(r); i++)
		PUT("finding %s\n", entryemu_result_finding(r, i)->text);
	if (n >= len)
		fail_msg("a result longer than %zu bytes", len);
#undef PUT
}

/* The setup s of the scenario at path run on a handle of its own. */
static void run_alone(const char *path, const char *image, const struct entryemu_setup *s,
		      entryemu_result *r)
{
	char err[1024];
	entryemu_scenario *sc = NULL;
	entryemu_binding *b = NULL;
	entryemu *m = open_path(image);
	if (entryemu_scenario_load(path, &sc, err, sizeof(err)) ||
	    entryemu_scenario_bind(sc, m, &b, err, sizeof(err)))
		fail_msg("%s", err);
	struct entryemu_setup own = *entryemu_binding_setup(b);
	own.injects = s->injects;
	own.ninjects = s->ninjects;
	own.flags = s->flags;
	if (entryemu_run(m, &own, r))
		fail_msg("%s: %s", path, entryemu_last_error(m));
	entryemu_binding_free(b);
	entryemu_scenario_free(sc);
	entryemu_close(m);
}

static void test_runs_do_not_depend_on_the_handles_history(void **state)
{
	(void)state;
	static char shared[1 << 16], alone[1 << 16];
	entryemu_result *r = new_result();
	unsigned compared = 0;
	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		char path[4096], err[1024], image[4096];
		snprintf(path, sizeof(path), "%s/%s", SCENARIO_DIR, files[f]);
		entryemu_scenario *sc = NULL;
		if (entryemu_scenario_load(path, &sc, err, sizeof(err)))
			fail_msg("%s", err);
		snprintf(image, sizeof(image), "%s", entryemu_scenario_image(sc, 0));
		entryemu *m = open_path(image);
		entryemu_binding *b = NULL;
		if (entryemu_scenario_bind(sc, m, &b, err, sizeof(err)))
			fail_msg("%s", err);
		const struct entryemu_setup *base = entryemu_binding_setup(b);
		assert_true(base->ninjects < 7);
		struct entryemu_setup s = *base;
		s.flags |= ENTRYEMU_RUN_TRACE;
		assert_int_equal(entryemu_run(m, &s, r), 0);
		size_t n = 0;
		const uint32_t *t = entryemu_result_trace(r, &n);
		uint32_t *path_of = malloc((n + 1) * sizeof(*path_of));
		assert_non_null(path_of);
		assert_true(n > 0 && t);
		memcpy(path_of, t, n * sizeof(*path_of));
		struct entryemu_inject inj[8];
		for (size_t i = 0; i < n; i++) {
			if (path_of[i] < 0xc0000000u)
				continue;
			unsigned occurrence = 1;
			for (size_t j = 0; j < i; j++)
				occurrence += path_of[j] == path_of[i];
			if (occurrence > 1)
				continue;
			/* one event an instruction, the three kinds in turn */
			int kind = (int)(i % 3);
			{
				if (base->ninjects)
					memcpy(inj, base->injects, base->ninjects * sizeof(inj[0]));
				struct entryemu_inject *e = &inj[base->ninjects];
				memset(e, 0, sizeof(*e));
				e->kind = kind == 0 ? ENTRYEMU_INJECT_IRQ :
					  kind == 1 ? ENTRYEMU_INJECT_NMI : ENTRYEMU_INJECT_EXCEPTION;
				e->vector = 1;		/* IRQ line 1, or #DB */
				e->at = path_of[i];
				e->occurrence = occurrence;
				struct entryemu_setup v = *base;
				v.injects = inj;
				v.ninjects = base->ninjects + 1;
				/* every fourth traced, as a trace changes the engine's blocks */
				v.flags = i % 4 ? 0 : ENTRYEMU_RUN_TRACE;
				assert_int_equal(entryemu_run(m, &v, r), 0);
				describe(r, shared, sizeof(shared));
				run_alone(path, image, &v, r);
				describe(r, alone, sizeof(alone));
				if (strcmp(shared, alone))
					fail_msg("%s, event %d before 0x%08x (occurrence %u): on the used "
						 "handle\n%s\nalone\n%s", files[f], kind, path_of[i],
						 occurrence, shared, alone);
				compared++;
			}
		}
		free(path_of);
		entryemu_binding_free(b);
		entryemu_scenario_free(sc);
		entryemu_close(m);
	}
	assert_true(compared > 300);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_runs_do_not_depend_on_the_handles_history),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
