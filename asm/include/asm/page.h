/* asm/page.h stand-in: the 3G/1G split of the i386 kernel. */
#ifndef _ENTRYEMU_ASM_PAGE_H
#define _ENTRYEMU_ASM_PAGE_H
#define PAGE_SHIFT	12
#define PAGE_SIZE	(1 << PAGE_SHIFT)
#ifdef __ASSEMBLY__
#define __PAGE_OFFSET	0xC0000000
#else
#define __PAGE_OFFSET	0xC0000000UL
#endif
#define PAGE_OFFSET	__PAGE_OFFSET
#endif
