/*
 * The kernel layer: the image's pt_regs, the callout slots and their
 * dispatch, the default kernel functions, symbols.  It uses the CPU
 * layer; what it has to tell the run (a call, a fixup) goes into the
 * run's stream.
 */
#ifndef ENTRYEMU_KERNEL_KERNEL_H
#define ENTRYEMU_KERNEL_KERNEL_H

#include "cpu/cpu.h"

/* ptregs.c */
void ptregs_read(struct entryemu *m, uint32_t addr, struct entryemu_pt_regs *out);
void ptregs_write(struct entryemu *m, uint32_t addr, const struct entryemu_pt_regs *in);

/* callouts.c */
int callouts_init(struct entryemu *m);
void callouts_free(struct entryemu *m);
/* The code hook over the callout slots: emits RUN_EV_CALL_BEFORE/AFTER. */
void callouts_hook(void *m, uint32_t addr, uint32_t size);
int callout_set_default(struct entryemu *m, const char *name, enum callout_regs regs,
			entryemu_callout_fn fn);
struct callout *callout_syscall(struct entryemu *m, unsigned nr);

/* exits.c: the addresses of the image's iret and sysexit instructions
 * (up to max of them into out; returns how many there are) */
size_t kernel_exit_sites(struct entryemu *m, uint32_t *out, size_t max);
/* ... and of its loads of thread_info->flags (the exit path's work check) */
size_t kernel_flags_loads(struct entryemu *m, uint32_t *out, size_t max);

/* start.c: runs that begin in the kernel (setup.thread_fn, setup.vm86) */
int kernel_start_thread(struct entryemu *m, const struct entryemu_setup *s);
int kernel_start_vm86(struct entryemu *m, const struct entryemu_setup *s);
/* ... and the stop at the end of vm86 code (m->vm86_stop): drop it and
 * the blocks that hold it; 0, or -1 if the engine refused */
int kernel_vm86_drop_stop(struct entryemu *m);

/* defaults.c: the default kernel C functions */
void kernel_install_defaults(struct entryemu *m);

/* symbols.c */
int insn_text(struct entryemu *m, uint32_t addr, char *buf, size_t len);

#endif
