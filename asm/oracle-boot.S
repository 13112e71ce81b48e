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
 *   oracle_service      LDTR and SYSENTER_CS again, when a callout changed them.
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
	orl $0x80000001, %eax		/* PG, PE */
	movl %eax, %cr0
	jmp 1f
1:	lgdt BB_GDTR
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
	/* the local APIC on, for injected IRQs and NMIs; end every vector
	 * a run left in service */
	movl $0x1ff, APIC_SVR
	movl $32, %ecx
3:	movl $0, APIC_EOI
	loop 3b
	/* an NMI the last run left unfinished blocks NMIs until an iret */
	pushfl
	pushl %cs
	pushl $4f
	iret
4:
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
	.globl oracle_service_done
oracle_service_done:
	nop
	jmp oracle_service_done

	.bss
	.align 16
	.skip 4096
stack_top:
