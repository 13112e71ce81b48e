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
/* Of a NULL scenario: NULL name and description, 0 images. */
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
 * entryemu_last_error_field() names it; "image[I]" for its image I), or
 * NULL if it does not set it.
 */
ENTRYEMU_EXTERN const char *entryemu_scenario_locate(const entryemu_scenario *s,
						     const char *field, char *buf, size_t len);

/*
 * Resolve the scenario's symbols against m's image and user code
 * (unknown symbol: ENTRYEMU_E_SCENARIO with FILE:LINE:COL in err) and
 * serve its callout actions on m (replacing the callouts set before),
 * into a new binding.  Bind once, run as often as wanted: each run of m,
 * the binding's own or another setup's, starts the actions' call counts
 * afresh.
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
/* Run the bound setup on its machine into r (entryemu_run, after
 * setting the code's labels for traces and reports).  The actions serve
 * every run of the machine while b lives, each counting its calls from
 * the run's start. */
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
 * r: the image (a bundled one by its name, `image: post`), the user
 * state and code (as bytes), the descriptor edits, injections, flags,
 * and for every callout the caller served, what it returned and changed
 * (as actions).  Its expectations are what the run showed: the outcome
 * and signal, every event and fixup (up to 32 of each), the first 32
 * kernel function calls with their registers and pt_regs, every return
 * to ring 3 (up to 32) and the final state; and no checker findings (each
 * one found is written as a comment): a run with one replays as a
 * failure.  why, if not NULL, goes in as a comment.
 */
ENTRYEMU_EXTERN int entryemu_scenario_record(entryemu *m, const struct entryemu_setup *setup,
					     const entryemu_result *r, const char *why,
					     const char *path);
/*
 * The same for a run that failed the caller's own check: message (the
 * failing assertion's text) goes in as a comment and as the expectation
 * `recorded_failure`, so the replay fails with "recorded failure:
 * MESSAGE", besides anything that no longer reproduces.
 */
ENTRYEMU_EXTERN int entryemu_scenario_record_failure(entryemu *m,
						     const struct entryemu_setup *setup,
						     const entryemu_result *r,
						     const char *message, const char *path);

/*
 * User code from assembly text, as a scenario's `code` key takes it (GNU
 * as, 32-bit, AT&T syntax; labels allowed), for tests written in C:
 *
 *	entryemu_code *c;
 *	if (entryemu_assemble("movl $20, %eax\n int $0x80\n after:\n", &c, err, sizeof(err)))
 *		...				// err: "line N: the assembler's message"
 *	s.code = entryemu_code_bytes(c, &s.code_len);
 *	entryemu_code_label(c, "after")		// its address in user space
 *
 * It needs GNU as at run time, which is why it is in this library and
 * not in libentryemu.  entryemu_code_labels() gives the labels in the
 * form entryemu_set_labels() takes, so traces and reports use them.
 */
typedef struct entryemu_code entryemu_code;
ENTRYEMU_EXTERN int entryemu_assemble(const char *text, entryemu_code **out, char *err,
				      size_t errlen);
ENTRYEMU_EXTERN const uint8_t *entryemu_code_bytes(const entryemu_code *c, size_t *len);
/* Address of label name in user space, 0 if the code has none. */
ENTRYEMU_EXTERN uint32_t entryemu_code_label(const entryemu_code *c, const char *name);
ENTRYEMU_EXTERN const struct entryemu_label *entryemu_code_labels(const entryemu_code *c,
								  size_t *n);
ENTRYEMU_EXTERN void entryemu_code_free(entryemu_code *c);

#ifdef __cplusplus
}
#endif
#endif
