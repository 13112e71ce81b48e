/*
 * Kernel configuration of a 2.6.21-2.6.23-shaped image: the per-CPU
 * segment (GDT entry 27) is in %fs and the user's %fs is saved in
 * pt_regs->xfs (%gs is left to user space); the espfix path uses a
 * 32-bit ESPFIX_SS whose base patch_espfix_desc sets.
 */
#define CONFIG_X86_PERCPU_FS 1
#define CONFIG_X86_ESPFIX32 1
#define CONFIG_TRACE_IRQFLAGS 1
#define CONFIG_VM86 1
#define CONFIG_X86_MCE 1
