/* Kernel configuration of the seed's (post-patch) image. */
#define CONFIG_X86_PERCPU_GS 1
#define CONFIG_TRACE_IRQFLAGS 1
#define CONFIG_VM86 1
#define CONFIG_X86_MCE 1
