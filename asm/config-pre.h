/*
 * Kernel configuration of the 2.6.18 (pre-patch) image, also 2.6.19's:
 * no per-CPU segment is loaded and %gs is not saved.
 */
#define CONFIG_TRACE_IRQFLAGS 1
#define CONFIG_VM86 1
#define CONFIG_X86_MCE 1
