/*
 * A second opinion on every run: the same run on qemu-system-i386,
 * compared event by event (docs/oracle.md).  QEMU runs the same image
 * with the same memory and registers; the run's own callouts serve the
 * kernel functions on both sides, and at every event, callout, return
 * to ring 3 and at the end the two CPUs and memories must agree.
 */
#ifndef ENTRYEMU_ORACLE_H
#define ENTRYEMU_ORACLE_H

#include <entryemu/entryemu.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct entryemu_oracle entryemu_oracle;

enum entryemu_oracle_accel {
	ENTRYEMU_ORACLE_AUTO,	/* KVM if it can run the probe guest, else TCG */
	ENTRYEMU_ORACLE_TCG,
	ENTRYEMU_ORACLE_KVM,
};

/*
 * Start QEMU for m's image ($ENTRYEMU_QEMU, else qemu-system-i386 on
 * PATH).  While o is open, every run of m (entryemu_run, or a scenario
 * binding's run) also runs on QEMU, in lockstep.
 */
ENTRYEMU_EXTERN int entryemu_oracle_open(entryemu_oracle **out, entryemu *m,
					 enum entryemu_oracle_accel accel,
					 char *err, size_t errlen);
ENTRYEMU_EXTERN void entryemu_oracle_close(entryemu_oracle *o);
/* The QEMU entryemu_oracle_open would start, into buf; NULL if none. */
ENTRYEMU_EXTERN const char *entryemu_oracle_qemu_path(char *buf, size_t len);
/* "kvm" or "tcg"; *why (if not NULL) says why KVM was not used. */
ENTRYEMU_EXTERN const char *entryemu_oracle_accel_name(const entryemu_oracle *o,
						       const char **why);

/* A place where the last run and QEMU disagreed. */
struct entryemu_divergence {
	const char *where;	/* "event 2 (vector 13 at restore_nocheck_notrace+0x9)" */
	const char *what;	/* "error code", "eax", "memory 0xc0a01fe4 (...)" */
	const char *entryemu;	/* both sides' values */
	const char *qemu;
};
/* Points the last run compared (events, calls, returns, the end). */
ENTRYEMU_EXTERN unsigned entryemu_oracle_compared(const entryemu_oracle *o);
ENTRYEMU_EXTERN size_t entryemu_oracle_ndivergences(const entryemu_oracle *o);
ENTRYEMU_EXTERN const struct entryemu_divergence *
entryemu_oracle_divergence(const entryemu_oracle *o, size_t i);
/* Divergences of the last run beyond those kept (none of them can be
 * shown to be known: count them as undocumented). */
ENTRYEMU_EXTERN size_t entryemu_oracle_dropped(const entryemu_oracle *o);
/* What the last run could not compare, or "" (an oracle limit, not a divergence). */
ENTRYEMU_EXTERN const char *entryemu_oracle_uncompared(const entryemu_oracle *o);

#ifdef __cplusplus
}
#endif
#endif
