/*
 * Kernel configuration of a 2.6.20-shaped image: the per-CPU data area
 * (the PDA, GDT entry 27) is in %gs and the user's %gs is saved in
 * pt_regs->xgs; the espfix path uses a 32-bit ESPFIX_SS whose base
 * patch_espfix_desc sets.
 */
#define CONFIG_X86_PERCPU_GS 1
#define CONFIG_X86_ESPFIX32 1
#define CONFIG_TRACE_IRQFLAGS 1
#define CONFIG_VM86 1
#define CONFIG_X86_MCE 1
