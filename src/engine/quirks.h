/*
 * Work-arounds for Unicorn/QEMU state that Unicorn's API does not expose.
 *
 * Exception in flight.  QEMU's target/i386 check_exception() records every
 * contributory exception (#DE, #TS, #NP, #SS, #GP) and #PF/#DF in
 * env->old_exception, and only QEMU's own delivery (x86_cpu_do_interrupt)
 * or a CPU reset set it back to -1.  Unicorn skips that delivery when a
 * UC_HOOK_INTR hook exists, and entryemu delivers every exception itself
 * from that hook, so within one uc_emu_start() (and across calls, until a
 * context with -1 there is restored) the second #GP reaches the hook as
 * vector 8 and the third is a triple fault (the CPU stops).  On hardware
 * (SDM vol. 3, 6.15, table 6-5) a fault is only promoted to #DF while the
 * first one is being delivered; once delivered, the next one is independent.
 *
 * Unicorn 2.0.1 has no API for that field, but uc_context_save/restore
 * copy the CPU state (CPUX86State up to retaddr, old_exception included)
 * verbatim into/out of a uc_context.  The field's position in a uc_context
 * is found once by calibration on a throwaway engine (no -1 -> 13 change
 * other than this one happens across a #GP whose error code is neither 13
 * nor -1) and checked there: with the fix, a second #GP arrives as 13.
 */
#ifndef ENTRYEMU_ENGINE_QUIRKS_H
#define ENTRYEMU_ENGINE_QUIRKS_H

#include <unicorn/unicorn.h>

struct engine_quirks {
	long old_exception_off;		/* byte offset in a uc_context; -1: unknown */
	long error_code_off;		/* env->error_code there; -1: unknown */
	uc_context *scratch;		/* sized for UC_ARCH_X86 engines */
};

/*
 * Ready q for engine uc: where engines keep their "exception being
 * delivered" state (found once per process, on a throwaway
 * UC_ARCH_X86/UC_MODE_32 engine of its own, so no caller's engine or
 * memory map is touched), and a scratch context of uc's size.  Returns
 * 0, or -1 if not found (q->old_exception_off = -1; exception_delivered
 * is then a no-op and callers keep the old behaviour).  After either
 * result engine_quirks_free() must be called.
 */
int engine_quirks_init(struct engine_quirks *q, uc_engine *uc);
void engine_quirks_free(struct engine_quirks *q);

/*
 * Tell the engine that the exception it reported has been delivered (as
 * QEMU's own delivery does): old_exception = -1 on the engine uc, which
 * must be a UC_ARCH_X86 engine (all x86 modes share one CPU state layout in
 * Unicorn 2).  One context save, a 4-byte patch, one restore (skipped when
 * the field is already -1).  No-op when the offset is unknown.
 *
 * Safe to call from inside a UC_HOOK_INTR callback; call it after the
 * hook's register writes (EIP, segments, ...): the state saved then is the
 * state restored, so those writes are kept.
 */
void engine_quirks_exception_delivered(struct engine_quirks *q, uc_engine *uc);

/*
 * The error code the CPU computed for the exception it just reported
 * (QEMU's env->error_code, which its own delivery would push), found by
 * the same calibration: two #GPs with different selectors, the one word
 * that holds each in turn.  Call from the UC_HOOK_INTR callback, before
 * anything raises another exception.  Returns 0, or -1 if unknown.
 */
int engine_quirks_error_code(struct engine_quirks *q, uc_engine *uc, uint32_t *out);

#endif
