/*
 * asm/dwarf2.h stand-in.  entryemu does not unwind through the entry
 * code, so every CFI annotation expands to a macro that swallows its
 * arguments (a line comment would also swallow the rest of a
 * multi-statement #define line).
 */
#ifndef _ENTRYEMU_ASM_DWARF2_H
#define _ENTRYEMU_ASM_DWARF2_H
#ifdef __ASSEMBLY__
.macro cfi_unused a=0, b=0, c=0, d=0
.endm
#define CFI_STARTPROC		cfi_unused
#define CFI_ENDPROC		cfi_unused
#define CFI_DEF_CFA		cfi_unused
#define CFI_DEF_CFA_REGISTER	cfi_unused
#define CFI_DEF_CFA_OFFSET	cfi_unused
#define CFI_ADJUST_CFA_OFFSET	cfi_unused
#define CFI_OFFSET		cfi_unused
#define CFI_REL_OFFSET		cfi_unused
#define CFI_REGISTER		cfi_unused
#define CFI_RESTORE		cfi_unused
#define CFI_REMEMBER_STATE	cfi_unused
#define CFI_RESTORE_STATE	cfi_unused
#define CFI_UNDEFINED		cfi_unused
#define CFI_SIGNAL_FRAME	cfi_unused
#endif
#endif
