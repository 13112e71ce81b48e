/*
 * The smallest test kernel that does what entryemu's syscall scenario
 * does: reach ring 3, make one int $0x80 round trip, report.  entryemu
 * bench boots it in qemu-system-i386 to show what a booted kernel costs
 * beside a replay.  Multiboot (v1) loads it at 1 MiB in protected mode
 * with paging off; it builds its own GDT, TSS and one IDT gate, irets to
 * ring 3 with IOPL 3, and after the round trip writes 0x31 to the
 * isa-debug-exit port (QEMU then exits with status 0x31 * 2 + 1).
 */
#define MB_MAGIC	0x1badb002
#define MB_FLAGS	0

#define KCS		0x08
#define KDS		0x10
#define UCS		(0x18 | 3)
#define UDS		(0x20 | 3)
#define TSS_SEL		0x28
#define DEBUG_EXIT	0xf4

	.text
	.code32
	.align 4
mb_header:			/* within the first 8 KiB, as multiboot wants */
	.long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)

	.globl start
start:
	cli
	lgdt gdt_ptr
	ljmp $KCS, $1f
1:	movw $KDS, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movl $kstack_top, %esp

	/* the TSS descriptor: its base split over the descriptor's fields */
	movl $tss, %eax
	movw %ax, gdt + TSS_SEL + 2
	shrl $16, %eax
	movb %al, gdt + TSS_SEL + 4
	movb %ah, gdt + TSS_SEL + 7
	movl $kstack_top, tss + 4	/* esp0 */
	movl $KDS, tss + 8		/* ss0 */
	movw $TSS_SEL, %ax
	ltr %ax

	/* gate 0x80: a DPL-3 trap gate to the handler */
	movl $syscall, %eax
	movw %ax, idt + 0x80 * 8
	movw $KCS, idt + 0x80 * 8 + 2
	movw $0xef00, idt + 0x80 * 8 + 4	/* P, DPL 3, 32-bit trap gate */
	shrl $16, %eax
	movw %ax, idt + 0x80 * 8 + 6
	lidt idt_ptr

	/* to ring 3: SS, ESP, EFLAGS (IOPL 3, for the port), CS, EIP */
	pushl $UDS
	pushl $ustack_top
	pushl $0x3002
	pushl $UCS
	pushl $user
	iret

syscall:			/* getpid, as far as this kernel knows */
	movl $1, %eax
	iret

user:
	movw $UDS, %ax
	movw %ax, %ds
	movl $20, %eax
	int $0x80
	cmpl $1, %eax		/* the round trip returned the kernel's answer */
	jne 2f
	movb $0x31, %al
	outb %al, $DEBUG_EXIT
2:	hlt			/* a #GP in ring 3 without a handler: QEMU resets */
	jmp 2b

	.data
	.align 8
gdt:
	.quad 0
	.quad 0x00cf9a000000ffff	/* kernel code, flat */
	.quad 0x00cf92000000ffff	/* kernel data, flat */
	.quad 0x00cffa000000ffff	/* user code, flat, DPL 3 */
	.quad 0x00cff2000000ffff	/* user data, flat, DPL 3 */
	.quad 0x0000890000000067	/* 32-bit TSS, base filled in at start */
gdt_end:
gdt_ptr:
	.word gdt_end - gdt - 1
	.long gdt
idt_ptr:
	.word 256 * 8 - 1
	.long idt

	.bss
	.align 4096
idt:	.skip 256 * 8
tss:	.skip 104
	.align 16
	.skip 1024
kstack_top:
	.skip 1024
ustack_top:
