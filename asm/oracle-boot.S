/*
 * The QEMU side of `entryemu diff`: a multiboot (v1) stub that turns a
 * booted PC into the machine a run starts on.  It owns nothing of the
 * machine itself: the oracle (src/oracle/) writes the run's memory, page
 * tables and a boot block of its own into the guest over the GDB remote
 * protocol, and this stub loads what only guest code can load (CR3 and
 * paging, GDTR, IDTR, LDTR, TR, the SYSENTER MSRs, the local APIC), then
 * stops at oracle_boot_ready, where the oracle writes the run's registers
 * and lets it go.
 *
 *   oracle_boot_tables  reached once after boot, paging off: the oracle
 *                       writes the page tables and the boot block.
 *   oracle_reload       entered (at CPL 0, by the oracle setting CS:EIP)
 *                       before every run: loads the tables again.
 *   oracle_boot_ready   everything loaded: the oracle takes over.
 *   oracle_service      LDTR and SYSENTER_CS again, when a callout changed them,
 *                       and the end of an injected IRQ (the kernel's own EOI
 *                       is a callout's business, not modelled).
 *
 * Physical memory (BB_* below, mirrored in src/oracle/layout.h): the stub
 * at 1 MiB, the boot block at 0x180000, the page directory and tables
 * from 2 MiB, the run's regions from 4 MiB.
 */
#define MB_MAGIC	0x1badb002
#define MB_FLAGS	0

#define BB		0x180000	/* the boot block */
#define BB_CR3		(BB + 0)
#define BB_CR4		(BB + 4)
#define BB_GDTR		(BB + 8)	/* .word limit, .long base */
#define BB_IDTR		(BB + 16)
#define BB_LDTR		(BB + 24)	/* selector */
#define BB_TR		(BB + 28)	/* selector */
#define BB_KCS		(BB + 32)	/* far pointer: offset, selector */
#define BB_KDS		(BB + 40)
#define BB_MSR174	(BB + 44)	/* SYSENTER_CS, _ESP, _EIP */
#define BB_MSR175	(BB + 48)
#define BB_MSR176	(BB + 52)
#define BB_EOI		(BB + 56)	/* oracle_service: end the IRQ in service */

#define APIC		0xfee00000	/* mapped by the oracle's page tables */
#define APIC_EOI	(APIC + 0xb0)
#define APIC_SVR	(APIC + 0xf0)

	.text
	.code32
	.align 4
mb_header:
	.long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)

	.globl start
start:
	cli
	movl $stack_top, %esp
	/* no PIC interrupt may reach the run: mask every line of both 8259s */
	movb $0xff, %al
	outb %al, $0x21
	outb %al, $0xa1
	.globl oracle_boot_tables
oracle_boot_tables:
	nop

	.globl oracle_reload
oracle_reload:
	movl $stack_top, %esp
	movl BB_CR4, %eax
	movl %eax, %cr4
	movl BB_CR3, %eax
	movl %eax, %cr3
	movl %cr0, %eax
	andl $~0xc, %eax		/* EM, TS: the FPU reset below must not fault */
	orl $0x80000001, %eax		/* PG, PE */
	movl %eax, %cr0
	jmp 1f
1:	/*
	 * The x87 and SSE state as a run starts in the library, Unicorn's
	 * reset state (FNINIT's, MXCSR 0x1f80, SDM vol. 1 8.1.10 and
	 * 10.2.3.1), not what the last run left: a pending x87 exception
	 * would otherwise make the next run's WAIT a #MF.  FNINIT only tags
	 * the registers empty, and FXSAVE stores their contents all the
	 * same: eight FLDZ first make them 0, as in the library.  LDMXCSR
	 * needs CR4.OSFXSR, which the run's CR4 has.
	 */
	fninit
	fldz
	fldz
	fldz
	fldz
	fldz
	fldz
	fldz
	fldz
	fninit
	testl $0x200, BB_CR4
	jz 8f
	ldmxcsr mxcsr_reset
	pxor %xmm0, %xmm0
	pxor %xmm1, %xmm1
	pxor %xmm2, %xmm2
	pxor %xmm3, %xmm3
	pxor %xmm4, %xmm4
	pxor %xmm5, %xmm5
	pxor %xmm6, %xmm6
	pxor %xmm7, %xmm7
8:	lgdt BB_GDTR
	lidt BB_IDTR
	movl $2f, BB_KCS
	ljmp *BB_KCS
2:	movl BB_KDS, %eax
	movw %ax, %ss
	movw %ax, %ds
	movw %ax, %es
	xorl %eax, %eax
	movw %ax, %fs
	movw %ax, %gs
	lldt BB_LDTR
	/* ltr wants an available TSS: the run's GDT holds it busy */
	movzwl BB_TR, %ebx
	andl $0xfff8, %ebx
	addl BB_GDTR + 2, %ebx
	andl $~0x200, 4(%ebx)
	ltr BB_TR
	movl $0x174, %ecx
	movl BB_MSR174, %eax
	xorl %edx, %edx
	wrmsr
	movl $0x175, %ecx
	movl BB_MSR175, %eax
	wrmsr
	movl $0x176, %ecx
	movl BB_MSR176, %eax
	wrmsr
	/* the local APIC on, for injected IRQs and NMIs */
	movl $0x1ff, APIC_SVR
	/*
	 * What the last run left behind goes to drain_irq and ends there:
	 * an IRQ still pending or in service, an NMI still blocked (the
	 * iret below ends the blocking) or pending.  Then the run's IDT.
	 */
	movl $drain_idt, %edi
	movl $drain_irq, %eax
	movzwl BB_KCS + 4, %ebx
	shll $16, %ebx
	movw %ax, %bx			/* low word: selector, offset 15..0 */
	andl $0xffff0000, %eax
	orl $0x8e00, %eax		/* high word: offset 31..16, P, 32-bit interrupt gate */
	movl $256, %ecx
6:	movl %ebx, (%edi)
	movl %eax, 4(%edi)
	addl $8, %edi
	loop 6b
	lidt drain_idtr
	movl $32, %ecx
3:	movl $0, APIC_EOI
	loop 3b
	pushfl
	pushl %cs
	pushl $4f
	iret
4:	sti
	movl $64, %ecx
7:	nop
	loop 7b
	cli
	lidt BB_IDTR
	.globl oracle_boot_ready
oracle_boot_ready:
	nop
5:	hlt
	jmp 5b

/*
 * What a kernel function served by a callout may change that only guest
 * code can load (modify_ldt's LDTR, save_v86_state's SYSENTER_CS): the
 * oracle saves the registers, writes the boot block, runs this from the
 * callout slot at CPL 0 and puts the registers back.
 */
	.globl oracle_service
oracle_service:
	lldt BB_LDTR
	movl $0x174, %ecx
	movl BB_MSR174, %eax
	xorl %edx, %edx
	wrmsr
	cmpl $0, BB_EOI
	je 1f
	movl $0, APIC_EOI
1:
	.globl oracle_service_done
oracle_service_done:
	nop
	jmp oracle_service_done

drain_irq:
	movl $0, APIC_EOI
	iret

	.data
	.align 8
mxcsr_reset:
	.long 0x1f80
drain_idtr:
	.word 256 * 8 - 1
	.long drain_idt

	.bss
	.align 16
	.skip 4096
stack_top:
	.align 8
drain_idt:
	.skip 256 * 8
