/*
 * libentryemu: run the i386 Linux kernel entry/exit assembly in user
 * space, inside the Unicorn CPU emulator.
 *
 * A handle (entryemu) owns one emulated CPU with a kernel image loaded:
 * GDT, IDT, TSS, per-CPU area, one task's thread_info and kernel stack,
 * and a small user address space.  entryemu_run() starts the CPU in ring
 * 3 on caller-supplied user code and state; the code enters the kernel
 * (int $0x80, faults, ...), the entry assembly runs for real, the kernel
 * C functions it calls are served by callouts, and the run ends when the
 * user code finishes, the task is killed, the kernel oopses or the
 * instruction budget runs out.  The result records the final user state,
 * pt_regs at every callout, the __ex_table fixups taken and every event
 * the CPU delivered.
 *
 * All functions return 0 or a negative ENTRYEMU_E_* code unless stated,
 * and refuse NULL or out-of-range arguments with ENTRYEMU_E_INVAL;
 * entryemu_strerror() names a code, entryemu_last_error() gives the
 * details of the last failure on a handle.  There is no global state:
 * handles are independent (one thread per handle).
 *
 * Room to grow: handles and results are opaque; the structures a caller
 * fills in (setup, injections, descriptor edits) end in reserved words
 * that must be zero; the records a result hands out by pointer may gain
 * fields at their end, so never copy them into arrays of your own.
 */
#ifndef ENTRYEMU_ENTRYEMU_H
#define ENTRYEMU_ENTRYEMU_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Every public function is marked; everything else in the library is hidden. */
#if defined(__GNUC__)
#define ENTRYEMU_EXTERN __attribute__((visibility("default")))
#else
#define ENTRYEMU_EXTERN
#endif

/* ---- version ---------------------------------------------------------- */

#define ENTRYEMU_VERSION_MAJOR 1
#define ENTRYEMU_VERSION_MINOR 0
#define ENTRYEMU_VERSION_PATCH 0
/* (major << 16) | (minor << 8) | patch of the library actually loaded. */
ENTRYEMU_EXTERN unsigned entryemu_version(void);
/* "1.0.0" */
ENTRYEMU_EXTERN const char *entryemu_version_string(void);

/* ---- errors ---------------------------------------------------------- */

enum entryemu_error {
	ENTRYEMU_OK = 0,
	ENTRYEMU_E_NOMEM = -1,		/* out of host memory */
	ENTRYEMU_E_INVAL = -2,		/* bad argument or register value */
	ENTRYEMU_E_IMAGE = -3,		/* kernel image unreadable or incomplete */
	ENTRYEMU_E_ENGINE = -4,		/* the CPU emulator refused an operation */
	ENTRYEMU_E_IO = -5,		/* file could not be read or written */
	ENTRYEMU_E_SCENARIO = -6,	/* malformed scenario file */
	ENTRYEMU_E_NOENT = -7,		/* no such symbol, callout or syscall */
};

/* A static string naming an ENTRYEMU_E_* code. */
ENTRYEMU_EXTERN const char *entryemu_strerror(int code);

/* ---- the machine ----------------------------------------------------- */

typedef struct entryemu entryemu;

/* Kernel ABI of the images (see asm/include/asm/segment.h). */
#define ENTRYEMU_KERNEL_CS	0x60
#define ENTRYEMU_KERNEL_DS	0x68
#define ENTRYEMU_USER_CS	0x73
#define ENTRYEMU_USER_DS	0x7b
#define ENTRYEMU_TSS_SEL	0x80
#define ENTRYEMU_ESPFIX_SS	0xd0
#define ENTRYEMU_KERNEL_PERCPU	0xd8
#define ENTRYEMU_GDT_TLS_MIN	6
#define ENTRYEMU_GDT_TLS_MAX	8
#define ENTRYEMU_GDT_ENTRIES	32

/* User address space every run gets. */
#define ENTRYEMU_USER_CODE	0x08048000u	/* user code is loaded here */
#define ENTRYEMU_USER_CODE_MAX	0x10000u	/* at most this many bytes */
#define ENTRYEMU_USER_EXIT	0x08047000u	/* reaching it ends the run */
#define ENTRYEMU_USER_DATA	0x08060000u	/* 64 KiB of zeroed user data */
#define ENTRYEMU_USER_DATA_SIZE	0x10000u
#define ENTRYEMU_USER_STACK_TOP	0xbfff0000u	/* default user %esp */
#define ENTRYEMU_USER_STACK_SIZE 0x2000u	/* stack pages below it */
#define ENTRYEMU_VSYSCALL	0xffffe400u	/* __kernel_vsyscall: call it to
						 * make a syscall by sysenter */
#define ENTRYEMU_VM86_MEM	0x00010000u	/* 64 KiB for virtual-8086 code:
						 * segment 0x1000 */

/* The bundled images: which entry.S variant to load. */
enum entryemu_variant {
	ENTRYEMU_POST_PATCH,	/* the seed's kernel: %gs saved in pt_regs */
	ENTRYEMU_PRE_PATCH,	/* 2.6.18: no xgs slot */
};

/*
 * Where the bundled images are, written into buf (returned; NULL if
 * it does not fit): $ENTRYEMU_IMAGE_DIR if set, else share/entryemu
 * beside the directory the library was loaded from (dladdr: lib/ of the
 * build tree or an installed prefix, or bin/ of a program it is linked
 * into), else the prefix the library was configured with.  Image NAME is
 * the file entry-NAME.elf there: post, pre, pda, fs,
 * post-preempt.  These three are safe to call from any thread.
 */
ENTRYEMU_EXTERN const char *entryemu_image_dir(char *buf, size_t len);
/* Path of a bundled image into buf (returned; NULL if it does not fit). */
ENTRYEMU_EXTERN const char *entryemu_image_path(enum entryemu_variant variant,
						char *buf, size_t len);
/* Path of bundled image name into buf ("post" -> DIR/entry-post.elf). */
ENTRYEMU_EXTERN const char *entryemu_image_named(const char *name, char *buf, size_t len);

/*
 * Open a machine on the ELF32 kernel image at path.  On failure *out is
 * NULL and err (if not NULL) says why.  Each machine's engine maps 1 GiB
 * of address space for its translated code: ENTRYEMU_E_NOMEM when the
 * process has no room for that (entryemu_reopen() reuses an engine).
 */
ENTRYEMU_EXTERN int entryemu_open(entryemu **out, const char *image_path,
				  char *err, size_t errlen);
ENTRYEMU_EXTERN void entryemu_close(entryemu *m);
/*
 * Close *m and open the image at path in its place on the same CPU
 * emulator engine: the engine's set-up is most of what an open costs
 * (about 0.3 ms and 250 page faults of a cold one), and the engine comes
 * back with nothing mapped, hooked or translated, so the new machine runs
 * exactly as one from entryemu_open() would.  For a program that needs
 * several images one after another; a machine kept per image keeps its
 * translated code instead.  Once the arguments hold (m, *m and path not
 * NULL, else ENTRYEMU_E_INVAL and nothing changes), the old handle is gone
 * either way: on success *m is the new machine, on failure NULL, with err
 * saying why.
 */
ENTRYEMU_EXTERN int entryemu_reopen(entryemu **m, const char *image_path,
				    char *err, size_t errlen);

/* Details of the last error on m (never NULL); like errno, kept until the
 * next error. */
ENTRYEMU_EXTERN const char *entryemu_last_error(const entryemu *m);
/*
 * The setup field the last error is about, as a scenario names it
 * ("user.gs", "code", "edits[2]", "injects[0]", "cr0_set", "thread_fn",
 * "vm86", "reserved"), or NULL.
 */
ENTRYEMU_EXTERN const char *entryemu_last_error_field(const entryemu *m);

/* True when the loaded image saves %gs in pt_regs (exports PT_GS). */
ENTRYEMU_EXTERN int entryemu_image_saves_gs(const entryemu *m);
/*
 * The register the loaded image's kernel keeps its per-CPU segment
 * (__KERNEL_PERCPU) in while it runs, and whose user value pt_regs saves:
 * the values are the register's number in the instruction set's sreg
 * field.  The seed's kernel and 2.6.20 use %gs, 2.6.21-2.6.23 %fs,
 * 2.6.18-2.6.19 none.
 */
enum entryemu_percpu {
	ENTRYEMU_PERCPU_NONE = 0,
	ENTRYEMU_PERCPU_FS = 4,
	ENTRYEMU_PERCPU_GS = 5,
};
ENTRYEMU_EXTERN enum entryemu_percpu entryemu_image_percpu(const entryemu *m);
/* True when the image's espfix uses a 32-bit ESPFIX_SS (2.6.20 on). */
ENTRYEMU_EXTERN int entryemu_image_espfix_32(const entryemu *m);
/* The path the machine's image was opened from. */
ENTRYEMU_EXTERN const char *entryemu_image_file(const entryemu *m);

/* ---- registers and frames -------------------------------------------- */

struct entryemu_regs {
	uint32_t eax, ebx, ecx, edx, esi, edi, ebp, esp;
	uint32_t eip, eflags;
	uint16_t cs, ss, ds, es, fs, gs;
};

/* struct pt_regs as the loaded image lays it out, read into host form. */
struct entryemu_pt_regs {
	uint32_t ebx, ecx, edx, esi, edi, ebp, eax;
	uint32_t xds, xes;
	uint32_t xgs;		/* meaningful only if has_xgs */
	uint32_t orig_eax, eip, xcs, eflags;
	uint32_t esp, xss;	/* meaningful only for frames from ring 3 */
	int has_xgs;
	uint32_t xfs;		/* meaningful only if has_xfs (2.6.21-2.6.23) */
	int has_xfs;
};

/* EFLAGS bits used in results and checks. */
#define ENTRYEMU_EFLAGS_TF	0x00000100u
#define ENTRYEMU_EFLAGS_IF	0x00000200u
#define ENTRYEMU_EFLAGS_NT	0x00004000u
#define ENTRYEMU_EFLAGS_RF	0x00010000u
#define ENTRYEMU_EFLAGS_VM	0x00020000u

/* ---- callouts: the kernel C functions the assembly calls -------------- */

typedef struct entryemu_call entryemu_call;

/*
 * A callout runs when the entry code calls the kernel function it
 * stands for.  It reads its arguments with the accessors below and sets
 * its return value with entryemu_call_return(); the library then returns
 * to the caller (and clobbers %ecx and %edx, as a C function may).
 */
typedef void (*entryemu_callout_fn)(entryemu_call *call, void *opaque);

/* Serve the kernel function name (a symbol of the image's callouts). */
ENTRYEMU_EXTERN int entryemu_set_callout(entryemu *m, const char *name,
			 entryemu_callout_fn fn, void *opaque);
/* Serve system call nr (entry nr of sys_call_table). */
ENTRYEMU_EXTERN int entryemu_set_syscall(entryemu *m, unsigned nr,
			 entryemu_callout_fn fn, void *opaque);
/* Back to the library's defaults for every callout and syscall. */
ENTRYEMU_EXTERN void entryemu_reset_callouts(entryemu *m);
/* The entries of the image's sys_call_table (the entry code's
 * nr_syscalls), each served as above; 0 for a NULL handle. */
ENTRYEMU_EXTERN unsigned entryemu_nr_syscalls(const entryemu *m);

enum entryemu_reg {
	ENTRYEMU_REG_EAX, ENTRYEMU_REG_EBX, ENTRYEMU_REG_ECX, ENTRYEMU_REG_EDX,
	ENTRYEMU_REG_ESI, ENTRYEMU_REG_EDI, ENTRYEMU_REG_EBP, ENTRYEMU_REG_ESP,
};

ENTRYEMU_EXTERN entryemu *entryemu_call_machine(entryemu_call *call);
ENTRYEMU_EXTERN const char *entryemu_call_name(const entryemu_call *call);
/* Which call of this function (or system call) in the run this is,
 * counting from 1: each run counts afresh, however it was started. */
ENTRYEMU_EXTERN unsigned entryemu_call_occurrence(const entryemu_call *call);
ENTRYEMU_EXTERN uint32_t entryemu_call_reg(entryemu_call *call, enum entryemu_reg reg);
/* Stack argument n of an asmlinkage function (0 = the first). */
ENTRYEMU_EXTERN uint32_t entryemu_call_stack_arg(entryemu_call *call, unsigned n);
/* Address of the pt_regs this callout receives (0 if none). */
ENTRYEMU_EXTERN uint32_t entryemu_call_pt_regs_addr(const entryemu_call *call);
ENTRYEMU_EXTERN int entryemu_call_read_pt_regs(entryemu_call *call, struct entryemu_pt_regs *out);
ENTRYEMU_EXTERN int entryemu_call_write_pt_regs(entryemu_call *call, const struct entryemu_pt_regs *regs);
ENTRYEMU_EXTERN void entryemu_call_return(entryemu_call *call, uint32_t eax);
/* Run the library's default for this callout (after the caller's own work). */
ENTRYEMU_EXTERN void entryemu_call_default(entryemu_call *call);
/* End the run: the task was killed by signal sig. */
ENTRYEMU_EXTERN void entryemu_call_kill(entryemu_call *call, int sig);
/* End the run with a kernel oops (the message says why). */
ENTRYEMU_EXTERN void entryemu_call_oops(entryemu_call *call, const char *why);
/*
 * Apply the __ex_table fixup for a kernel-mode fault whose pt_regs is
 * regs_addr, as fixup_exception() does: returns 1 if an entry matched
 * (regs->eip now points to its fixup), 0 if none did.
 */
ENTRYEMU_EXTERN int entryemu_call_fixup_exception(entryemu_call *call, uint32_t regs_addr,
				  int vector, uint32_t error_code);

/* ---- machine state a scenario or callout may change -------------------- */

/* Copy bytes to or from the emulated memory; ENTRYEMU_E_INVAL if unmapped. */
ENTRYEMU_EXTERN int entryemu_mem_read(entryemu *m, uint32_t addr, void *buf, size_t len);
ENTRYEMU_EXTERN int entryemu_mem_write(entryemu *m, uint32_t addr, const void *buf, size_t len);

/* Read or write GDT entry idx as its two descriptor words. */
ENTRYEMU_EXTERN int entryemu_gdt_get(entryemu *m, unsigned idx, uint32_t *lo, uint32_t *hi);
ENTRYEMU_EXTERN int entryemu_gdt_set(entryemu *m, unsigned idx, uint32_t lo, uint32_t hi);

/* Read or write IDT gate vec as its two descriptor words. */
ENTRYEMU_EXTERN int entryemu_idt_get(entryemu *m, unsigned vec, uint32_t *lo, uint32_t *hi);
ENTRYEMU_EXTERN int entryemu_idt_set(entryemu *m, unsigned vec, uint32_t lo, uint32_t hi);

/*
 * The task's thread_info (the base of its THREAD_SIZE kernel stack) and
 * the TSS's esp0: the top of that stack less the 8 bytes copy_thread()
 * reserves above pt_regs.
 */
ENTRYEMU_EXTERN uint32_t entryemu_thread_info(const entryemu *m);
ENTRYEMU_EXTERN uint32_t entryemu_esp0(const entryemu *m);

/* The current task's thread_info->flags (TIF_* bits). */
ENTRYEMU_EXTERN uint32_t entryemu_ti_flags(entryemu *m);
ENTRYEMU_EXTERN void entryemu_set_ti_flags(entryemu *m, uint32_t flags);

/* ---- running ------------------------------------------------------------ */

/* A descriptor written before the run starts (GDT, LDT or IDT entry). */
enum entryemu_table { ENTRYEMU_GDT, ENTRYEMU_IDT };
struct entryemu_desc_edit {
	enum entryemu_table table;
	unsigned index;
	uint32_t lo, hi;		/* the descriptor's two words */
	uint32_t reserved[2];		/* zero */
};

/*
 * An event raised from outside the program: an exception (as if the
 * instruction at the injection point had raised it), an IRQ line (vector
 * 0x20 + line, delivered at the first instruction boundary with IF = 1
 * from that point on) or an NMI.
 */
enum entryemu_inject_kind {
	ENTRYEMU_INJECT_EXCEPTION,
	ENTRYEMU_INJECT_IRQ,
	ENTRYEMU_INJECT_NMI,
};
struct entryemu_inject {
	enum entryemu_inject_kind kind;
	int vector;			/* exception vector, or IRQ line 0..15 */
	int error_code_given;		/* exceptions: push error_code even if
					 * the vector has none / give its value */
	uint32_t error_code;
	uint32_t at;			/* before the instruction at this address */
	uint64_t after;			/* or after this many instructions (at = 0) */
	unsigned occurrence;		/* the n-th time at is reached (0 => 1st) */
	uint32_t reserved[2];		/* zero */
};

/*
 * The largest instruction budget a run accepts (a tight loop runs it out
 * in about 5 s), and the wall-clock time after which a run ends as
 * ENTRYEMU_BUDGET whatever its budget, so that no run can hang a caller.
 */
#define ENTRYEMU_INSN_BUDGET_MAX 100000000u
#define ENTRYEMU_RUN_WALL_LIMIT_S 20

/* What a run starts from.  Zeroed fields take the defaults noted. */
struct entryemu_setup {
	struct entryemu_regs user;	/* cs/ss 0 => __USER_CS/__USER_DS,
					 * ds/es 0 => __USER_DS (fs/gs stay 0),
					 * esp 0 => ENTRYEMU_USER_STACK_TOP,
					 * eflags 0 => 0x202 (IF);
					 * eip is always the start of code */
	const uint8_t *code;		/* user code, run from ENTRYEMU_USER_CODE;
					 * falling off its end ends the run */
	size_t code_len;
	uint32_t ti_flags;		/* initial thread_info->flags */
	uint32_t pid;			/* what getpid returns (0 => 1000) */
	uint64_t insn_budget;		/* 0 => 1,000,000 instructions; at most
					 * ENTRYEMU_INSN_BUDGET_MAX; the run
					 * stops after exactly this many */
	unsigned flags;			/* ENTRYEMU_RUN_*; other bits are refused */
	const struct entryemu_desc_edit *edits;	/* applied before user state */
	unsigned nedits;
	const struct entryemu_inject *injects;	/* events raised from outside */
	unsigned ninjects;
	uint32_t cr0_set;		/* CR0 bits to set for the run (TS, EM) */
	/*
	 * Start a kernel thread instead of user code (thread_fn != 0): the
	 * run begins where the scheduler first switches to a new thread, at
	 * ret_from_fork, on the frame kernel_thread() and copy_thread()
	 * build: ebx = thread_fn, edx = thread_arg, eip =
	 * kernel_thread_helper, CS = __KERNEL_CS, EFLAGS = IF|SF|PF, and on
	 * the post-patch image xgs = __KERNEL_PERCPU.  thread_fn is usually
	 * entryemu_thread_fn, a callout.  The run ends in do_exit.
	 */
	uint32_t thread_fn, thread_arg;
	/*
	 * Run the code in virtual-8086 mode (vm86 != 0), as a task that
	 * called vm86(): the code is 16-bit, at segment 0x1000 (linear
	 * ENTRYEMU_VM86_MEM), entered with CS = 0x1000, IP = 0 and user.ss
	 * (0 => 0x1000), user.esp (0 => 0xfff0), user.ds/es/fs/gs as real-mode
	 * segments.  The run starts where sys_vm86 leaves the kernel, in
	 * resume_userspace on the vm86 frame; the vm86() call's own frame,
	 * returning to ENTRYEMU_USER_EXIT, is above it, so leaving vm86 mode
	 * (save_v86_state) ends the run normally.
	 */
	int vm86;
	unsigned checks_off;		/* ENTRYEMU_CHECK_* bits to switch off;
					 * other bits are refused */
	int cpu;			/* ENTRYEMU_CPU_INTEL (0) or _AMD: where
					 * the manuals differ (RF in a fault's
					 * pushed EFLAGS) */
	/*
	 * Nonzero: the pages of the code (and the exit page) are read-only,
	 * as a process's text is.  A store there is the CPU's #PF (error
	 * code 7 from ring 3: P, W/R, U/S; SDM vol. 3A 4.7), and the kernel's
	 * SIGSEGV (SEGV_ACCERR); a kernel store faults too (CR0.WP).  Zero:
	 * the code may write itself.  Not with vm86, whose code lies elsewhere.
	 */
	int code_readonly;
	uint32_t reserved[6];		/* zero: room for new fields */
};

/* The processor whose documented behaviour a run follows (setup.cpu). */
enum entryemu_cpu {
	ENTRYEMU_CPU_INTEL = 0,
	ENTRYEMU_CPU_AMD = 1,
};

/*
 * Checkers watch every run for the invariants the entry path relies on;
 * all are on unless setup.checks_off names them.  Each finding names the
 * instruction (symbol+offset) and the register state.
 */
enum entryemu_check {
	ENTRYEMU_CHECK_PTREGS = 0x01,	/* pt_regs holds what the CPU had at entry,
					 * at esp0 - sizeof(pt_regs) */
	ENTRYEMU_CHECK_SEGMENTS = 0x02,	/* C code runs with __KERNEL_CS, __USER_DS
					 * and (post-patch) %gs = __KERNEL_PERCPU,
					 * on the task's kernel stack */
	ENTRYEMU_CHECK_RETURN = 0x04,	/* ring 3 gets back its frame and segments
					 * (0 after a fixup, or a callout's value) */
	ENTRYEMU_CHECK_EXTABLE = 0x08,	/* __ex_table entries: a faulting insn,
					 * a fixup in .fixup or at a label */
	ENTRYEMU_CHECK_STACK = 0x10,	/* the kernel stack is back where the
					 * entry found it at iret/sysexit */
	ENTRYEMU_CHECK_DF = 0x20,	/* EFLAGS.DF = 0 at every kernel C call
					 * (the i386 C ABI) */
	ENTRYEMU_CHECK_IRQS_OFF = 0x40,	/* IF = 0 at every iret to ring 3 and
					 * at every load of thread_info->flags
					 * (the exit path's work check) */
	ENTRYEMU_CHECK_SLOTS = 0x80,	/* no kernel-address bits in a selector
					 * slot of pt_regs (upper half) when the
					 * frame goes back to user space (the
					 * exit's work check, before a signal's
					 * delivery and the pops) */
	ENTRYEMU_CHECK_CFI = 0x100,	/* the image's DWARF CFI (CFA, saved
					 * registers) matches the stack at every
					 * instruction of the entry code; runs
					 * only with ENTRYEMU_RUN_CHECK_CFI */
	ENTRYEMU_CHECK_LOCKDEP = 0x200,	/* what the entry code last told lockdep
					 * (trace_hardirqs_on/off) equals
					 * EFLAGS.IF at every other kernel C
					 * call and at the return to user space;
					 * lockdep is told only with IF = 0, and
					 * never from NMI context */
	ENTRYEMU_CHECK_UACCESS = 0x400,	/* kernel code reaches below PAGE_OFFSET
					 * only at __ex_table'd instructions,
					 * and those never reach PAGE_OFFSET
					 * (an unchecked user pointer) */
	ENTRYEMU_CHECK_BOUNDS = 0x800,	/* every indexed read of a sized table
					 * (sys_call_table) stays inside it */
	ENTRYEMU_CHECK_ALL = 0xfff,
};
ENTRYEMU_EXTERN const char *entryemu_check_name(enum entryemu_check c);

#define ENTRYEMU_RUN_TRACE	0x1	/* record every executed instruction */
#define ENTRYEMU_RUN_NO_CLOBBER	0x2	/* callouts preserve %ecx/%edx */
#define ENTRYEMU_RUN_PROFILE	0x4	/* time the phases (result.profile) */
/* Before the run, compare all guest memory with its state after boot: a
 * byte the reset missed fails entryemu_run() with ENTRYEMU_E_ENGINE and
 * names the address in entryemu_last_error().  For tests. */
#define ENTRYEMU_RUN_CHECK_RESET 0x8
/* Run the cfi checker (ENTRYEMU_CHECK_CFI) too: it looks at every
 * instruction of the entry code, which makes a warm run about 1.5 times
 * as costly in host instructions, so it is asked for, not implied. */
#define ENTRYEMU_RUN_CHECK_CFI	0x10
/* Translate user code that changed since the last run a few instructions
 * at a time: the engine's blocks of it end three instructions in, then
 * each time twice as far on.  Cheaper where new code mostly faults at
 * once, as a fuzzer's inputs do; dearer where it runs long.  And where a
 * run hooks every instruction, the calls are translated the way that is
 * cheaper to translate and dearer to run.  The results are the same. */
#define ENTRYEMU_RUN_SHORT_NEW_BLOCKS 0x20

enum entryemu_outcome {
	ENTRYEMU_DONE,		/* the user code ran to its end */
	ENTRYEMU_KILLED,	/* the task was killed by a signal */
	ENTRYEMU_EXITED,	/* the task called do_exit */
	ENTRYEMU_OOPS,		/* kernel fault with no fixup, or a kernel bug */
	ENTRYEMU_BUDGET,	/* instruction budget exhausted */
	ENTRYEMU_UNSUPPORTED,	/* an event the model does not handle yet */
	ENTRYEMU_ERROR,		/* the emulator failed */
};
ENTRYEMU_EXTERN const char *entryemu_outcome_name(enum entryemu_outcome o);

/* A checker's finding. */
struct entryemu_finding {
	enum entryemu_check check;
	uint32_t eip;			/* where it was seen */
	const char *text;		/* what, where (symbol+offset), registers */
};

/* A kernel function called by the entry code, as the CPU stood then. */
struct entryemu_callout_record {
	const char *name;
	uint32_t addr;			/* the callout's address */
	uint32_t return_addr;		/* where it returns to */
	uint32_t esp;			/* %esp at the call (return address slot) */
	uint32_t eax, edx;		/* register arguments */
	uint32_t eflags;
	uint16_t cs, ss, ds, es, fs, gs;
	uint32_t pt_regs_addr;		/* 0 if the callout gets no pt_regs */
	struct entryemu_pt_regs regs;	/* valid if pt_regs_addr != 0 */
	/* What a caller-served callout did (custom != 0), for recording. */
	int custom;
	uint32_t ret;			/* %eax it returned */
	struct entryemu_pt_regs regs_after;
	uint32_t ti_flags_before, ti_flags_after;
	unsigned ngdt;			/* GDT entries it changed */
	struct { unsigned index; uint32_t lo, hi; } gdt[4];
	int syscall;			/* sys_call_table entry it serves, or -1 */
};

/* An event the CPU delivered: through the IDT, or a sysenter. */
#define ENTRYEMU_EVENT_SYSENTER	256	/* vector of a sysenter record */
struct entryemu_event_record {
	int vector;
	int software;			/* int n / int3 / into */
	int has_error_code;
	uint32_t error_code;
	uint32_t eip;			/* the EIP pushed (fault: the instruction) */
	int from_cpl;
	uint32_t handler;		/* where delivery sent the CPU */
	uint32_t frame;			/* %esp after the pushes */
	size_t trace_index;		/* with a trace: the entry of the
					 * instruction that raised it */
	int to_cpl;			/* the CPL delivery sent the CPU to */
};

/* An __ex_table fixup the kernel applied. */
struct entryemu_fixup_record {
	uint32_t insn;			/* the faulting kernel instruction */
	uint32_t fixup;			/* where execution resumed */
	int vector;
	uint32_t error_code;
};

/*
 * The last signal the library's default kernel functions sent, with the
 * siginfo the task's handler would get and the thread fields they set,
 * as 2.6.18's traps.c, mm/fault.c and ptrace.c set them.  This record
 * may gain fields at its end.
 */
struct entryemu_siginfo {
	int signo;			/* 0: none was sent */
	int code;			/* si_code as the user reads it (its low
					 * 16 bits): SI_KERNEL 0x80 for force_sig(),
					 * FPE_INTDIV 1, SEGV_MAPERR 1, ... */
	uint32_t addr;			/* si_addr: the faulting address or EIP,
					 * where the handler gives one; else 0 */
	uint32_t trap_no;		/* current->thread.trap_no */
	uint32_t error_code;		/* current->thread.error_code */
};

/* With ENTRYEMU_RUN_PROFILE: where a run's time went, in ns (emulation
 * is the rest of total). */
struct entryemu_profile {
	uint64_t reset_ns, deliver_ns, callout_ns, check_ns, total_ns;
};

/*
 * What a run showed.  A result is made once and reused: each run
 * clears it and fills it in.  It holds every callout, event, fixup,
 * return and finding of a run, however long; the records it hands out
 * stay valid until the next run into it or its free.
 */
typedef struct entryemu_result entryemu_result;

ENTRYEMU_EXTERN int entryemu_result_new(entryemu_result **out);
ENTRYEMU_EXTERN void entryemu_result_free(entryemu_result *r);

ENTRYEMU_EXTERN enum entryemu_outcome entryemu_result_outcome(const entryemu_result *r);
/* Why the run ended; for an oops, the report with its registers and the
 * last instructions executed. */
ENTRYEMU_EXTERN const char *entryemu_result_message(const entryemu_result *r);
/* The signal of an ENTRYEMU_KILLED run. */
ENTRYEMU_EXTERN int entryemu_result_signal(const entryemu_result *r);
/* CPU state when the run ended. */
ENTRYEMU_EXTERN const struct entryemu_regs *entryemu_result_final(const entryemu_result *r);
/* The signal a default trap handler sent, its siginfo and the thread's
 * trap_no and error_code (all 0 when none ran). */
ENTRYEMU_EXTERN const struct entryemu_siginfo *entryemu_result_siginfo(const entryemu_result *r);
/* "SIGSEGV" for 11, or NULL for a number the i386 kernel does not name. */
ENTRYEMU_EXTERN const char *entryemu_signal_name(int sig);
/* The name of si_code code of signal sig as the user reads it:
 * "SEGV_MAPERR" for (SIGSEGV, 1), "SI_KERNEL" for 0x80; or NULL. */
ENTRYEMU_EXTERN const char *entryemu_si_code_name(int sig, int code);
/* Instructions executed. */
ENTRYEMU_EXTERN uint64_t entryemu_result_insns(const entryemu_result *r);

/* Kernel functions called, in order (i < ncallouts, else NULL). */
ENTRYEMU_EXTERN size_t entryemu_result_ncallouts(const entryemu_result *r);
ENTRYEMU_EXTERN const struct entryemu_callout_record *
entryemu_result_callout(const entryemu_result *r, size_t i);
/* The n-th call (1 = the first) of the function name, or NULL. */
ENTRYEMU_EXTERN const struct entryemu_callout_record *
entryemu_result_find_callout(const entryemu_result *r, const char *name, unsigned n);

/* Events delivered, in order. */
ENTRYEMU_EXTERN size_t entryemu_result_nevents(const entryemu_result *r);
ENTRYEMU_EXTERN const struct entryemu_event_record *
entryemu_result_event(const entryemu_result *r, size_t i);

/* __ex_table fixups taken, in order. */
ENTRYEMU_EXTERN size_t entryemu_result_nfixups(const entryemu_result *r);
ENTRYEMU_EXTERN const struct entryemu_fixup_record *
entryemu_result_fixup(const entryemu_result *r, size_t i);

/* CPU state at each return to ring 3 (at the first user instruction after). */
ENTRYEMU_EXTERN size_t entryemu_result_nreturns(const entryemu_result *r);
ENTRYEMU_EXTERN const struct entryemu_regs *
entryemu_result_return(const entryemu_result *r, size_t i);

/* Checker findings (none on a correct path). */
ENTRYEMU_EXTERN size_t entryemu_result_nfindings(const entryemu_result *r);
ENTRYEMU_EXTERN const struct entryemu_finding *
entryemu_result_finding(const entryemu_result *r, size_t i);

/* With ENTRYEMU_RUN_PROFILE, the phase times; zeros otherwise. */
ENTRYEMU_EXTERN const struct entryemu_profile *entryemu_result_profile(const entryemu_result *r);

/* With ENTRYEMU_RUN_TRACE: the executed instruction addresses, in order. */
ENTRYEMU_EXTERN const uint32_t *entryemu_result_trace(const entryemu_result *r, size_t *len);
/* A hash of that trace (FNV-1a over the addresses). */
ENTRYEMU_EXTERN uint64_t entryemu_result_trace_hash(const entryemu_result *r);

/*
 * Every record of a run in the order it happened, each placed in the
 * trace: `after` instructions had been traced when it happened (so with
 * a trace it follows entry after - 1).  A trace printer interleaves
 * them with the instructions.
 */
enum entryemu_mark_kind {
	ENTRYEMU_MARK_EVENT,		/* event `record` was delivered */
	ENTRYEMU_MARK_CALL,		/* callout `record` was called */
	ENTRYEMU_MARK_RETURNED,		/* callout `record` returned `value` */
	ENTRYEMU_MARK_FIXUP,		/* fixup `record` was applied */
	ENTRYEMU_MARK_RING3,		/* return `record`: the CPU is back in ring 3 */
};
struct entryemu_mark {
	enum entryemu_mark_kind kind;
	size_t record;			/* index among the records of its kind */
	size_t after;			/* instructions traced before it */
	uint32_t value;			/* RETURNED: %eax the function returned */
};
ENTRYEMU_EXTERN size_t entryemu_result_nmarks(const entryemu_result *r);
ENTRYEMU_EXTERN const struct entryemu_mark *entryemu_result_mark(const entryemu_result *r,
								 size_t i);

/*
 * Reset the machine to its initial state, apply setup and run, into
 * result.  Returns 0 when the run happened (whatever its outcome), a
 * negative code when the setup was refused (for example a selector the
 * CPU would not load; entryemu_last_error_field() names the field).
 */
ENTRYEMU_EXTERN int entryemu_run(entryemu *m, const struct entryemu_setup *setup,
				 entryemu_result *result);

/* ---- debugging ------------------------------------------------------------ */

/*
 * Serve the next run of m to gdb: listen on host_port ("127.0.0.1:1234";
 * port 0 picks a free one, returned in *port).  The next entryemu_run()
 * waits for gdb's "target remote", stops before the run's first
 * instruction, and answers gdb's remote protocol: the i386 registers
 * with EFLAGS and the selectors, memory, software breakpoints, step and
 * continue (a step from an int $0x80 or a faulting instruction lands on
 * the handler, in ring 0).  When the run ends gdb hears how: exit (W00),
 * the killing signal, or SIGABRT for an oops, whose report goes to gdb's
 * console first.  Give gdb the image as its symbol file.
 */
ENTRYEMU_EXTERN int entryemu_gdb_listen(entryemu *m, const char *host_port, unsigned *port,
					char *err, size_t errlen);

/* ---- coverage ------------------------------------------------------------- */

/*
 * Which code labels and __ex_table entries of an image a set of runs
 * reached.  Add traced results (ENTRYEMU_RUN_TRACE) one by one.
 */
typedef struct entryemu_coverage entryemu_coverage;

ENTRYEMU_EXTERN entryemu_coverage *entryemu_coverage_new(entryemu *m);
ENTRYEMU_EXTERN void entryemu_coverage_free(entryemu_coverage *c);
/* Count one run; ENTRYEMU_E_INVAL if r has no trace. */
ENTRYEMU_EXTERN int entryemu_coverage_add(entryemu_coverage *c, const entryemu_result *r);
ENTRYEMU_EXTERN unsigned entryemu_coverage_runs(const entryemu_coverage *c);

struct entryemu_label_coverage {
	const char *name;
	uint32_t addr;
	unsigned runs;			/* runs that executed it */
};
ENTRYEMU_EXTERN size_t entryemu_coverage_nlabels(const entryemu_coverage *c);
ENTRYEMU_EXTERN const struct entryemu_label_coverage *entryemu_coverage_label(const entryemu_coverage *c,
							      size_t i);

struct entryemu_extable_coverage {
	uint32_t insn, fixup;
	unsigned reached;		/* runs that executed the instruction */
	unsigned taken;			/* runs whose fault there took the fixup */
};
ENTRYEMU_EXTERN size_t entryemu_coverage_nextable(const entryemu_coverage *c);
ENTRYEMU_EXTERN const struct entryemu_extable_coverage *entryemu_coverage_extable(const entryemu_coverage *c,
								  size_t i);

/* ---- symbols and disassembly ------------------------------------------- */

/* "symbol+0xoff" for addr into buf; returns buf. */
ENTRYEMU_EXTERN const char *entryemu_symbolize(const entryemu *m, uint32_t addr,
			       char *buf, size_t len);
/*
 * Address of an image symbol (0 if none).  A symbol of the vsyscall page
 * (__kernel_vsyscall, SYSENTER_RETURN) means the address user code runs
 * it at, in the page at 0xffffe000, not its link address in the image:
 * one meaning for each name, in scenarios, reports and traces alike.
 */
ENTRYEMU_EXTERN uint32_t entryemu_symbol(const entryemu *m, const char *name);
/*
 * One line "addr <sym+off>:  bytes  mnemonic operands" for the instruction
 * at addr, in columns, with branch targets and immediates that are image
 * addresses named as objdump names them (`call c0100123 <do_syscall_trace>`,
 * `push $0xc0100200 <do_page_fault>`); returns its length in bytes, or a
 * negative code.
 */
ENTRYEMU_EXTERN int entryemu_disasm(entryemu *m, uint32_t addr, char *buf, size_t len);

/* The assembler syntax of entryemu_disasm(): AT&T (the default, as in
 * entry.S and objdump) or Intel. */
enum entryemu_syntax { ENTRYEMU_SYNTAX_ATT = 0, ENTRYEMU_SYNTAX_INTEL = 1 };
ENTRYEMU_EXTERN int entryemu_set_syntax(entryemu *m, enum entryemu_syntax syntax);
/*
 * Names for places in the user code (a scenario's labels), used by
 * entryemu_symbolize() and entryemu_disasm() from then on instead of
 * "user+0xoff".  The handle keeps a copy; n = 0 forgets them.
 */
struct entryemu_label {
	const char *name;
	uint32_t addr;
};
ENTRYEMU_EXTERN int entryemu_set_labels(entryemu *m, const struct entryemu_label *labels,
					size_t n);
/* Just "mnemonic operands" of the instruction at addr in the syntax given
 * ("pop %gs", "pop gs"); 0 or a negative code. */
ENTRYEMU_EXTERN int entryemu_insn_text(entryemu *m, uint32_t addr, enum entryemu_syntax syntax,
				       char *buf, size_t len);


#ifdef __cplusplus
}
#endif
#endif
