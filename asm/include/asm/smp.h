/* asm/smp.h stand-in: entryemu models one CPU; nothing for assembly. */
