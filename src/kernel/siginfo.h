/*
 * Signal numbers and si_code values of the i386 kernel (2.6.18's
 * asm-i386/signal.h and asm-generic/siginfo.h), as the user reads them:
 * the kernel's __SI_FAULT tag (3 << 16) is dropped on the way out
 * (copy_siginfo_to_user stores (short)si_code).  Their names are in
 * siginfo.c, for entryemu_signal_name() and entryemu_si_code_name().
 */
#ifndef ENTRYEMU_KERNEL_SIGINFO_H
#define ENTRYEMU_KERNEL_SIGINFO_H

#define SIGILL		4
#define SIGTRAP		5
#define SIGBUS		7
#define SIGFPE		8
#define SIGSEGV		11

#define SI_KERNEL	0x80	/* force_sig(): "sent by the kernel" */
#define SI_FAULT_BARE	0	/* __SI_FAULT with no code */
#define ILL_ILLOPN	2
#define ILL_BADSTK	8
#define FPE_INTDIV	1
#define FPE_INTOVF	2
#define FPE_FLTDIV	3
#define FPE_FLTOVF	4
#define FPE_FLTUND	5
#define FPE_FLTRES	6
#define FPE_FLTINV	7
#define FPE_FLTSUB	8
#define SEGV_MAPERR	1
#define SEGV_ACCERR	2
#define BUS_ADRALN	1
#define BUS_ADRERR	2
#define BUS_OBJERR	3
#define TRAP_BRKPT	1
#define TRAP_TRACE	2

#endif
