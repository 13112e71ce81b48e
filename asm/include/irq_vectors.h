/*
 * irq_vectors.h stand-in (mach-default).  A uniprocessor PC with the
 * 8259 PIC: 16 IRQ lines from vector 0x20; 0x80 is the system call gate.
 */
#ifndef _ENTRYEMU_IRQ_VECTORS_H
#define _ENTRYEMU_IRQ_VECTORS_H
#define SYSCALL_VECTOR		0x80
#define FIRST_EXTERNAL_VECTOR	0x20
#define NR_IRQS			16
#endif
