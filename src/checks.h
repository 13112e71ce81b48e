/* Checkers: the hooks the machine calls at entry, callouts, fixups and exits. */
#ifndef ENTRYEMU_CHECKS_H
#define ENTRYEMU_CHECKS_H

#include <entryemu/entryemu.h>
#include <unicorn/unicorn.h>

struct entryemu;
struct entryemu_call;

/* An entry from ring 3: the CPU's state and the hardware frame words
 * (EIP, CS, EFLAGS, ESP, SS) the kernel must save. */
void checks_entry(struct entryemu *m, int vector, const struct entryemu_regs *user,
		  const uint32_t hw[5], uint32_t esp0);
/* Back in ring 3, with the registers as they are now. */
void checks_return(struct entryemu *m, const struct entryemu_regs *now);
void checks_fixup(struct entryemu *m, uint32_t insn);
void checks_callout_before(struct entryemu *m, const struct entryemu_call *c);
void checks_callout_after(struct entryemu *m, const struct entryemu_call *c);
void checks_exit_hook(uc_engine *uc, uint64_t addr, uint32_t size, void *data);
int checks_install_exit_hooks(struct entryemu *m);
/* The image's own findings (its exception table), found once at open. */
void checks_image(struct entryemu *m);
void checks_run_start(struct entryemu *m);

#endif
