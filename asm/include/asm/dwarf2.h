/*
 * asm/dwarf2.h stand-in.  The CFI annotations become the assembler's
 * .cfi_* directives, so the image carries the unwind table (.debug_frame)
 * the entry code's annotations describe, and the cfi checker can hold it
 * against the stack of a run.  An image built with ENTRYEMU_NO_CFI (a
 * kernel file whose annotations the assembler rejects) gets none: every
 * annotation then swallows its arguments (a line comment would also
 * swallow the rest of a multi-statement #define line).
 */
#ifndef _ENTRYEMU_ASM_DWARF2_H
#define _ENTRYEMU_ASM_DWARF2_H
#ifdef __ASSEMBLY__
#ifndef ENTRYEMU_NO_CFI
/* .debug_frame: not loaded, not discarded, and no .eh_frame_hdr wanted */
	.cfi_sections .debug_frame
#define CFI_STARTPROC		.cfi_startproc
#define CFI_ENDPROC		.cfi_endproc
#define CFI_DEF_CFA		.cfi_def_cfa
#define CFI_DEF_CFA_REGISTER	.cfi_def_cfa_register
#define CFI_DEF_CFA_OFFSET	.cfi_def_cfa_offset
#define CFI_ADJUST_CFA_OFFSET	.cfi_adjust_cfa_offset
#define CFI_OFFSET		.cfi_offset
#define CFI_REL_OFFSET		.cfi_rel_offset
#define CFI_REGISTER		.cfi_register
#define CFI_RESTORE		.cfi_restore
#define CFI_REMEMBER_STATE	.cfi_remember_state
#define CFI_RESTORE_STATE	.cfi_restore_state
#define CFI_UNDEFINED		.cfi_undefined
#define CFI_SIGNAL_FRAME	.cfi_signal_frame
#else
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
#endif
