/*
 * GDT layout of the i386 kernel whose entry path entryemu runs
 * (2.6.18, plus the per-CPU %gs segment the seed adds in entry 27).
 *
 *   0       null
 *   1-5     unused / reserved
 *   6-8     TLS segments (set_thread_area)
 *   9-11    unused
 *  12       kernel code        __KERNEL_CS   0x60
 *  13       kernel data        __KERNEL_DS   0x68
 *  14       user code          __USER_CS     0x73
 *  15       user data          __USER_DS     0x7b
 *  16       TSS                               0x80
 *  17       LDT                               0x88
 *  18-22    PnP BIOS
 *  23-25    APM BIOS
 *  26       ESPFIX small SS    __ESPFIX_SS   0xd0
 *  27       per-CPU area       __KERNEL_PERCPU 0xd8 (2.6.20 calls it
 *                                  the PDA, __KERNEL_PDA; 2.6.21 moves it
 *                                  from %gs to %fs)
 *  28-30    unused
 *  31       double-fault TSS
 */
#ifndef _ENTRYEMU_ASM_SEGMENT_H
#define _ENTRYEMU_ASM_SEGMENT_H

#define GDT_ENTRY_TLS_ENTRIES		3
#define GDT_ENTRY_TLS_MIN		6
#define GDT_ENTRY_TLS_MAX		(GDT_ENTRY_TLS_MIN + GDT_ENTRY_TLS_ENTRIES - 1)
#define TLS_SIZE			(GDT_ENTRY_TLS_ENTRIES * 8)

#define GDT_ENTRY_DEFAULT_USER_CS	14
#define __USER_CS			(GDT_ENTRY_DEFAULT_USER_CS * 8 + 3)
#define GDT_ENTRY_DEFAULT_USER_DS	15
#define __USER_DS			(GDT_ENTRY_DEFAULT_USER_DS * 8 + 3)

#define GDT_ENTRY_KERNEL_BASE		12
#define GDT_ENTRY_KERNEL_CS		(GDT_ENTRY_KERNEL_BASE + 0)
#define __KERNEL_CS			(GDT_ENTRY_KERNEL_CS * 8)
#define GDT_ENTRY_KERNEL_DS		(GDT_ENTRY_KERNEL_BASE + 1)
#define __KERNEL_DS			(GDT_ENTRY_KERNEL_DS * 8)
#define GDT_ENTRY_TSS			(GDT_ENTRY_KERNEL_BASE + 4)
#define GDT_ENTRY_LDT			(GDT_ENTRY_KERNEL_BASE + 5)
#define GDT_ENTRY_PNPBIOS_BASE		(GDT_ENTRY_KERNEL_BASE + 6)
#define GDT_ENTRY_APMBIOS_BASE		(GDT_ENTRY_KERNEL_BASE + 11)
#define GDT_ENTRY_ESPFIX_SS		(GDT_ENTRY_KERNEL_BASE + 14)
#define __ESPFIX_SS			(GDT_ENTRY_ESPFIX_SS * 8)
#define GDT_ENTRY_PERCPU		(GDT_ENTRY_KERNEL_BASE + 15)
#define __KERNEL_PERCPU			(GDT_ENTRY_PERCPU * 8)
#define GDT_ENTRY_PDA			GDT_ENTRY_PERCPU
#define __KERNEL_PDA			__KERNEL_PERCPU
#define GDT_ENTRY_DOUBLEFAULT_TSS	31

#define GDT_ENTRIES			32
#define GDT_SIZE			(GDT_ENTRIES * 8)

/* Bits of a selector. */
#define SEGMENT_RPL_MASK		0x3
#define SEGMENT_TI_MASK			0x4
#define USER_RPL			0x3
/* The TI bit's value for a selector into the LDT (restore_all's test). */
#define SEGMENT_LDT			0x4
#define SEGMENT_GDT			0x0

#endif
