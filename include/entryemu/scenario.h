/*
 * libentryemu-scenario: scenario files (YAML, docs/scenarios.md) on top
 * of libentryemu's public API.  A scenario describes one run (the image
 * or images, user state and code, descriptor edits, injected events,
 * what kernel functions do) and what the run must show.
 *
 * Load a scenario, open a machine on each of its images, bind the
 * scenario to the machine (which resolves its symbols and serves its
 * callout actions), run the binding's setup, check the result, and free
 * the binding, which gives the machine its callouts back.  A binding
 * owns everything its callouts use: the scenario may be freed first.
 * Free bindings before closing their machine.
 */
#ifndef ENTRYEMU_SCENARIO_H
#define ENTRYEMU_SCENARIO_H

#include <entryemu/entryemu.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct entryemu_scenario entryemu_scenario;
typedef struct entryemu_binding entryemu_binding;

/* Load a scenario; any problem comes back as "FILE:LINE:COL: message" in err. */
ENTRYEMU_EXTERN int entryemu_scenario_load(const char *path, entryemu_scenario **out,
					   char *err, size_t errlen);
ENTRYEMU_EXTERN void entryemu_scenario_free(entryemu_scenario *s);
ENTRYEMU_EXTERN const char *entryemu_scenario_name(const entryemu_scenario *s);
ENTRYEMU_EXTERN const char *entryemu_scenario_description(const entryemu_scenario *s);
/*
 * The images the scenario runs on (image: post, pre, a path, or a list):
 * their count, the path of image i, and its name as the scenario gives it.
 */
ENTRYEMU_EXTERN int entryemu_scenario_nimages(const entryemu_scenario *s);
ENTRYEMU_EXTERN const char *entryemu_scenario_image(const entryemu_scenario *s, int i);
ENTRYEMU_EXTERN const char *entryemu_scenario_image_name(const entryemu_scenario *s, int i);
/*
 * "FILE:LINE:COL" of a field the scenario sets ("user.gs", as
 * entryemu_last_error_field() names it), or NULL if it does not set it.
 */
ENTRYEMU_EXTERN const char *entryemu_scenario_locate(const entryemu_scenario *s,
						     const char *field, char *buf, size_t len);

/*
 * Resolve the scenario's symbols against m's image and user code
 * (unknown symbol: ENTRYEMU_E_SCENARIO with FILE:LINE:COL in err) and
 * serve its callout actions on m (replacing the callouts set before),
 * into a new binding.  Bind once, run as often as wanted: each run
 * starts the actions' call counts afresh.
 */
/*
 * Kernel families ("pre", "post", "pda", "fs"): the family of the image
 * m has loaded (NULL if none fits), and whether scenario s applies to it
 * (its families: key, else the families of its images; an image of no
 * family runs every scenario).  A scenario bound to an image of a family
 * it does not apply to still runs; callers skip it (entryemu replay
 * prints SKIP).
 */
ENTRYEMU_EXTERN const char *entryemu_image_family(const entryemu *m);
ENTRYEMU_EXTERN int entryemu_scenario_applies(const entryemu_scenario *s, const entryemu *m);

ENTRYEMU_EXTERN int entryemu_scenario_bind(const entryemu_scenario *s, entryemu *m,
					   entryemu_binding **out, char *err, size_t errlen);
/* Give m its default callouts back and free b. */
ENTRYEMU_EXTERN void entryemu_binding_free(entryemu_binding *b);
/* The setup to run, with its symbols resolved; valid while b lives. */
ENTRYEMU_EXTERN const struct entryemu_setup *entryemu_binding_setup(const entryemu_binding *b);
/* ENTRYEMU_RUN_* flags for the bound setup's runs (none after bind),
 * e.g. ENTRYEMU_RUN_TRACE. */
ENTRYEMU_EXTERN void entryemu_binding_set_flags(entryemu_binding *b, unsigned flags);
/* Run the bound setup on its machine into r (entryemu_run, with the
 * actions' call counts reset). */
ENTRYEMU_EXTERN int entryemu_binding_run(entryemu_binding *b, entryemu_result *r);
/*
 * Check the scenario's expectations against a result of the binding:
 * returns the number that failed, each described on its own line
 * ("FILE:LINE:COL: expected ..., got ...") in report.
 */
ENTRYEMU_EXTERN int entryemu_binding_check(const entryemu_binding *b, const entryemu_result *r,
					   char *report, size_t len);

/*
 * Write a scenario file that reproduces the run of setup on m that gave
 * r: the image, the user state and code (as bytes), the descriptor
 * edits, injections, flags, and for every callout the caller served,
 * what it returned and changed (as actions).  Its expectations are the
 * run's outcome, its signal, and no checker findings: a run that failed
 * one replays as a failure.  why, if not NULL, goes in as a comment.
 */
ENTRYEMU_EXTERN int entryemu_scenario_record(entryemu *m, const struct entryemu_setup *setup,
					     const entryemu_result *r, const char *why,
					     const char *path);

#ifdef __cplusplus
}
#endif
#endif
