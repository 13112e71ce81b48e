/*
 * The handle behind entryemu: what each layer keeps for the life of a
 * machine, and pointers to each layer's part of the run in progress.
 *
 *   cpu/     the engine, guest memory and its reset, descriptor tables,
 *            event delivery (SDM vol. 3 ch. 6), fault error codes,
 *            instruction counting, injected events
 *   kernel/  the image, pt_regs, the callout slots and their dispatch,
 *            the default kernel functions, symbols
 *   run/     one run: its state, its event stream and the observers
 *            (checkers, the recorder that fills the result), coverage
 *
 * Calls go down that list, never up: a lower layer that has something to
 * say emits it into the run's stream (base/events.h) or sets the run's
 * halt (base/halt.h).
 */
#ifndef ENTRYEMU_HANDLE_H
#define ENTRYEMU_HANDLE_H

#include <entryemu/entryemu.h>
#include <capstone/capstone.h>

#include "base/events.h"
#include "base/halt.h"
#include "image/image.h"
#include "engine/engine.h"

/*
 * Kernel-side memory the library builds (above the image).  One region
 * holds the descriptor tables, the TSS, the per-CPU area and the espfix
 * stack; the task's thread_info and kernel stack is another.
 */
#define SYS_BASE	0xC0800000u
#define SYS_SIZE	0xC000u
#define SYS_GDT		(SYS_BASE + 0x000)	/* 32 descriptors, unless the image
						 * has its own (per_cpu__gdt_page) */
#define SYS_IDT		(SYS_BASE + 0x100)	/* 256 gates */
#define SYS_TSS		(SYS_BASE + 0x900)	/* tss_struct */
#define SYS_DF_TSS	(SYS_BASE + 0xC00)	/* double-fault TSS (entry 31) */
#define SYS_BOOT	(SYS_BASE + 0xF00)	/* iret used once to reach ring 3 */
#define SYS_PERCPU	(SYS_BASE + 0x1000)	/* per-CPU area, %gs base */
#define SYS_PERCPU_SIZE	0x1000u
#define SYS_ESPFIX	(SYS_BASE + 0x2000)	/* 16-bit stack, ESPFIX_SS base */
#define SYS_ESPFIX_SIZE	1024			/* CPU_16BIT_STACK_SIZE */
#define SYS_LDT		(SYS_BASE + 0x3000)	/* the task's LDT, 512 entries */
#define SYS_LDT_ENTRIES	512
#define SYS_BOOT_STACK	(SYS_BASE + 0x2800)
#define SYS_PGDIR	(SYS_BASE + 0x4000)	/* page directory (CR3) */
#define SYS_PGTABLES	(SYS_BASE + 0x5000)	/* the page tables (paging.c) */
#define SYS_PGTABLE_COUNT 7
#define TLB_SCRATCH	(SYS_BASE + SYS_SIZE)	/* never mapped but by engine_flush_tlb() */

/* __PAGE_OFFSET (asm/include/asm/page.h): user space lies below it */
#define PAGE_OFFSET	0xC0000000u
#define KSTACK_BASE	0xC0A00000u		/* thread_info; THREAD_SIZE aligned */
#define VSYSCALL_PAGE	0xffffe000u		/* user-executable, holds vsyscall.S */
#define KSTACK_RESERVE	8			/* bytes above pt_regs (copy_thread) */

enum callout_regs {
	REGS_NONE,		/* no pt_regs argument */
	REGS_EAX,		/* fastcall/regparm: pt_regs in %eax */
	REGS_STACK,		/* asmlinkage: pt_regs is the stack argument area */
};

/*
 * An observer of every run from above the run layer (the oracle): told
 * when the run is about to start (reset done, first instruction next),
 * of each event in the stream, and of the result at the end.
 */
struct run_tap {
	void (*start)(void *ctx);
	run_observer_fn observe;
	void (*end)(void *ctx, const entryemu_result *r);
	void *ctx;
};

struct callout {
	const char *name;		/* symbol or syscall name */
	enum callout_regs regs;
	entryemu_callout_fn fn;
	void *opaque;
	entryemu_callout_fn dflt;	/* the library's default */
	unsigned calls;			/* calls in the run numbered calls_run */
	uint64_t calls_run;
};

#define MACHINE_REGIONS 9		/* kernel stack, system, image, 6 user */

/* 20 bytes: every cold engine faults in the pages its caches touch */
struct block_info {
	uint32_t addr, size, ninsns;
	uint16_t stack_ops;		/* instructions that push or pop */
	uint16_t cs_override;		/* instructions with a CS override prefix */
	uint16_t ds_es_loads;		/* 16-bit code: instructions that load DS or ES */
	uint16_t rotc_memory;		/* RCL and RCR through memory (deliver.c) */
	uint8_t code16;			/* decoded as 16-bit code: vm86 or a 16-bit CS */
};
/*
 * counting.c's caches of decoded blocks, two ways per set: the kernel's
 * (PAGE_OFFSET and up: the image, whose bytes every reset restores) is
 * kept for the handle's life; the user's loses the blocks over bytes
 * that change (new user or vm86 code, code a run wrote over:
 * count_forget_user), so it is small: clearing the kernel's cache with
 * it took a third of a fuzzed run, and its blocks were decoded again.
 * The kernel's holds the few hundred blocks an image runs in 1,024 sets
 * (40 KiB); with 4,096 its scattered entries cost an engine's first runs
 * 35 more page faults, a fortieth of a cold replay.
 */
/*
 * null_seg.c's cache of decoded user instructions: the data segments
 * (bit 0 DS, 1 ES, 2 FS, 3 GS) their memory operands go through.  An
 * entry holds the instruction's bytes and counts only while memory
 * still has them, so code that changes needs no bookkeeping.
 */
struct seg_use {
	uint32_t addr;
	uint8_t len, segs;		/* len 0: empty */
	uint8_t code16;			/* decoded as 16-bit code (machine_cs_16) */
	uint8_t bytes[15];
};
#define SEG_USE_CACHE_BITS 8
#define SEG_USE_CACHE (1u << SEG_USE_CACHE_BITS)
#define BLOCK_CACHE_BITS 10
#define BLOCK_CACHE (1u << BLOCK_CACHE_BITS)
#define USER_BLOCK_CACHE_BITS 8
#define USER_BLOCK_CACHE (1u << USER_BLOCK_CACHE_BITS)
#define BLOCK_RING 16			/* the last blocks run, for oops reports */

struct entryemu_call {
	struct entryemu *m;
	struct callout *co;
	uint32_t addr, esp, eax, edx, ecx;
	uint32_t regs_addr;		/* pt_regs argument, 0 if none */
	uint32_t ret;			/* value for %eax */
	uint32_t eflags, seg[6];	/* and CS, SS, DS, ES, FS, GS */
};

/* cpu/: the run's instruction count and budget (counting.c). */
struct count_state {
	uint64_t insns, budget;
	uint64_t blocks;		/* blocks run: the wall clock is read every 64 Ki */
	uint64_t events;		/* events delivered: bounded by the budget too */
	uint64_t deadline_ns;		/* CLOCK_MONOTONIC: the run ends there (0: not yet read) */
	uint32_t budget_from;		/* the budget runs out in the block here: */
	uint32_t budget_at;		/* the run stops here (linear; 0: not yet) */
	uint32_t budget_in_block;	/* or here, in the user block running now */
	struct block_info cur;		/* the block running now */
	uint32_t cut_at;		/* this block runs again an instruction the
					 * last one was stopped at (0: none) */
	unsigned cut_seen;		/* the hooks that saw it then: COUNT_SEEN_* */
	uint32_t hooked_at;		/* the instruction the hooks of cut_seen saw
					 * last in the running block (0: none) */
	unsigned hooked;		/* which of them */
	uint32_t left_at;		/* a start ended before this instruction, after
					 * the hooks left_seen (0: none) */
	unsigned left_seen;
	uint32_t cur_esp;		/* ESP as it started, if cur_esp_known */
	int cur_esp_known;
	struct block_info ring[BLOCK_RING];	/* and the ones before it */
	unsigned ring_next;
};

/* cpu/: events raised from outside and delivery bookkeeping. */
#define RUN_MAX_INJECTS 8
struct cpu_run_state {
	int in_kernel;			/* entered from ring 3, not back yet */
	int restart;			/* stopped to resume at the new EIP */
	uint32_t resume_at;		/* or here (linear), where EIP may be stale */
	uint32_t flags_at;		/* an RCL or RCR with a memory operand here */
	uint32_t flags_before;		/* began with these EFLAGS (deliver.c) */
	uint32_t fault_unlisted;	/* the instruction a fault the injection hook
					 * found is raised at (the trace hook, after
					 * it, never saw it): the delivery's record */
	uint64_t exact_insns;		/* instructions seen by the inject hook */
	uint32_t prev_insn, shadow_from;	/* for the STI / MOV SS shadow */
	uint64_t prev_events;		/* events delivered when prev_insn was seen */
	int prev_if, shadow_if;		/* EFLAGS.IF before each of those ran, if an STI */
	int nmi_blocked;		/* an NMI was delivered, no IRET since */
	struct inject_state {
		unsigned reached;	/* times the injection point was reached */
		int armed, done;
	} inject[RUN_MAX_INJECTS];
	uint32_t unmapped_addr;		/* last access to unmapped memory */
	int unmapped_kind;
	int null_watch;			/* null_seg.c: check every user access */
	int limit_watch;		/* seg_limit.c: and its segment limit too */
	int look;			/* inject.c's checks apply to this run (the
					 * hook may stay installed for runs that do
					 * not need it: run.c, instrument) */
	int look_all;			/* and to the kernel's instructions too */
	unsigned idle_calls;		/* the hook's calls this run that it did
					 * not need: !look, or !look_all and a
					 * kernel instruction */
	int shed;			/* stopped to narrow the hook to what the
					 * run needs */
	uint32_t shed_at;		/* at this instruction (linear), which has
					 * not run: the run goes on there */
	uint32_t widen_at;		/* stopped here (linear) to hook the kernel's code
					 * too (inject.c); 0: not */
	int asked;			/* inject_before_call() looked at asked_at */
	uint32_t asked_at;
	uint32_t user_insn_at;		/* the user instruction the user hook saw
					 * last (linear; 0: none this run) */
	int user_hook_wanted;		/* plain code's run went where it needs the
					 * hook before each user instruction (run.c) */
	uint32_t fetch_run_to;		/* deliver.c: run up to this instruction
					 * (linear), whose fetch faults; 0: none */
	uint32_t fetch_ran_from;	/* the block start that run began at */
	int fetch_past_limit;		/* and the instruction there crosses CS's
					 * limit: #GP(0) there, no fetch */
	int cs_known;			/* cs_limit.c: cs_base and cs_limit hold */
	uint32_t cs_base, cs_limit;
	struct cs_xfer {		/* the near transfer the user hook saw last */
		uint8_t kind, cc, w, a16, saved;	/* kind 0: none */
		uint16_t imm;		/* RET's */
		uint32_t at, next;	/* linear: it, and the instruction after it */
		uint32_t slot;		/* CALL: where it pushes, and what was there */
		uint8_t bytes[4];
	} xfer;
	uint32_t tsc_step_to;		/* tsc.c: the engine runs an RDTSC under TF
					 * whose step ends here (linear; 0: none) */
	uint64_t tsc_step_value;	/* and the TSC it reads */
	int tsc_step_aux;		/* RDTSCP: ECX too */
	int vm_hidden;			/* iret_vm.c cleared the VM bit of the byte */
	uint32_t vm_hidden_at;		/* at this linear address */
};

/* kernel/: what the default kernel functions keep during a run. */
struct kernel_run_state {
	uint32_t pending_signal;	/* force_sig()ed, delivered at resume */
	struct entryemu_siginfo siginfo;	/* the last one sent, thread.trap_no/error_code */
	unsigned ldt_entries;		/* the task's LDT size (0: none) */
};

/* sites of an image the run hooks one by one (run.c): within the engine's 64 hooks */
#define RUN_MAX_SITES 48
/* the longest user code (with its jmp to the exit page) that may run unhooked */
#define PLAIN_CODE_MAX 256

struct entryemu {
	struct engine *eng;		/* engine/engine.h: the only way to the CPU */
	csh cs;				/* Capstone with operand detail, Intel syntax:
					 * what the library reads instructions with */
	csh cs16;			/* the same for 16-bit code segments (machine_user_cs) */
	csh cs_att;			/* the same in AT&T syntax, for display */
	csh cs16_att;			/* and for 16-bit code */
	int syntax_intel;		/* entryemu_disasm() in Intel syntax */
	struct disasm_line *disasm_lines;	/* symbols.c: lines made, by address */
	unsigned labels_gen;		/* bumped by entryemu_set_labels() */
	csh cs_count;			/* and without, for counting instructions */
	csh cs_count16;			/* the same for 16-bit code (counting.c) */
	cs_insn *count_insn;
	struct image img;
	char image_path[4096];		/* as opened */
	char err[1024];
	char err_field[64];		/* the setup field err is about, or "" */

	/* host memory backing the emulated regions */
	struct host_region {
		uint32_t base, size;
		uint8_t *p;
		uint8_t *pristine;	/* after boot; NULL: zeros */
		uint32_t always_from;	/* restored every run from here on */
		uint32_t granule;	/* bytes per bit of dirty and code */
		uint64_t dirty;		/* written since the last reset */
		uint64_t code;		/* has run as code (translated) */
		int noexec;		/* its code is checked as it is fetched */
		uint32_t put_back_lo, put_back_hi;	/* code the last restore changed */
	} regions[MACHINE_REGIONS];	/* memory.c */
	unsigned nregions;
	unsigned last_region;		/* where machine_ptr() found the last address */
	uint8_t *arena;			/* all of the buffers below, one mmap */
	size_t arena_size;
	uint8_t *sys, *kstack;
	uint8_t *ustack, *ucode, *udata, *uexit, *uvsys, *uvm86;
	uint32_t vm86_regs32;		/* the vm86() call's frame, 0 outside vm86 */
	uint32_t vsys_image;		/* image address of vsyscall_page */
	/* far_indirect_fetch_hook()'s stream: its next fetch, its last known
	 * instruction start, how far on it has been looked at, and where the
	 * last fetch began */
	uint32_t fetch_next, fetch_from, fetch_clean, fetch_last;
	uint64_t fetch_stores;		/* watched_stores when it looked */
	uint64_t fetch_blocks;		/* blocks run (count_state) at the last fetch */
	uint64_t watched_stores;	/* guest stores to watched pages (memory.c) */
	uint32_t running_lo, running_hi;	/* the running block's bytes (counting.c) */
	int running_stored;		/* a guest store went into them (memory.c) */
	struct image_symbol *labels;	/* user code's names (entryemu_set_labels) */
	size_t nlabels;
	size_t ucode_len;		/* bytes of user code currently loaded */
	uint8_t *ucode_src;		/* the code given for them (before the
					 * rewrite and the jmp), ucode_src_len bytes */
	size_t ucode_src_len;
	int ucode_plain;		/* it needs no hook before each instruction:
					 * plain_user_code()'s PLAIN_CODE and
					 * PLAIN_STACK, and its instructions begin
					 * at the bits set in ucode_starts */
	uint64_t ucode_starts[PLAIN_CODE_MAX / 64];
	struct host_region *ucode_region;	/* the regions' entry that holds it */
	int code_readonly;		/* its pages are read-only now (paging.c) */
	size_t vm86_code_len;		/* and of vm86 code, at ENTRYEMU_VM86_MEM */
	uint32_t vm86_stop;		/* where translated vm86 blocks may end in a
					 * stop (kernel/start.c), or 0 */
	uint32_t code_stop;		/* and new user code's, until a run gets
					 * there (machine.c), or 0 */
	unsigned code_stop_insns;	/* instructions from the last stop to it */
	uint32_t thread_size;
	uint32_t gdt;			/* linear address of the GDT */
	uint32_t esp0;
	uint32_t start;			/* where the run begins */
	int booting;

	struct engine_ctx *user_ctx;	/* CPU in ring 3, as after boot */
	engine_hook h_trace, h_inject, h_gdb;	/* only while runs need them (run.c) */
	engine_hook h_inject_vsys;	/* h_inject's second range, user code only */
	engine_hook h_inject_at;	/* and the one kernel instruction hooked with
					 * the user's code (run.c, inject_point) */
	uint32_t inject_at;		/* where h_inject_at is (0: not installed) */
	int hooked_trace, hooked_gdb;
	engine_hook h_user;		/* the hook before each user instruction below
					 * PAGE_OFFSET (run.c, user_hook) */
	int user_unhooked;		/* not installed: the runs' code is plain */
	int user_hook_kept;		/* a run of the loaded code needed it anyway */
	int hooked_inject;		/* run.c's enum inject_hook_mode */
	unsigned inject_all_idle;	/* runs in a row that did not need it everywhere */
	int inject_all_seen;		/* a run has needed it everywhere */
	unsigned inject_idle;		/* runs in a row that did not need h_inject */
	engine_hook h_cfi;			/* while the cfi checker is on */
	int hooked_cfi;
	/*
	 * The code hooks every run has (run.c): the callouts, the user
	 * ranges and the sites of the image (its iret and sysexit, its
	 * loads of thread_info->flags, its register-addressed accesses),
	 * each site with its function, in the order they were installed.
	 * While one hook covers every instruction they give way to it
	 * (one_hook), which calls them in that order.
	 */
	engine_hook h_static[3 + RUN_MAX_SITES];
	struct run_site { uint32_t addr; void (*fn)(void *, uint32_t, uint32_t); }
		sites[RUN_MAX_SITES];
	unsigned nsites;
	uint64_t site_bits;		/* bit (addr % 64) set for each site's addr */
	int one_hook;			/* the static hooks give way to h_inject */
	struct gdb_session *gdb;	/* run/gdb.c: a debugger for the next run */
	struct run_tap *tap;		/* oracle/: a second machine in lockstep */

	/* callouts: one per 4-byte slot of the .callouts section */
	uint64_t runs;			/* entryemu_run() calls: the current run's number */
	struct callout *callouts;
	size_t ncallouts;
	uint32_t sys_stubs;		/* address of sys_call_stubs */
	unsigned nr_syscalls;
	char (*syscall_names)[24];

	struct block_info blocks[USER_BLOCK_CACHE][2];	/* below PAGE_OFFSET */
	uint64_t blocks_used[USER_BLOCK_CACHE / 64];	/* sets that may hold one */
	struct block_info kblocks[BLOCK_CACHE][2];	/* PAGE_OFFSET and up */
	struct seg_use seg_uses[SEG_USE_CACHE];		/* null_seg.c */
	/* the image's own findings (its exception table), found at open */
	struct entryemu_finding *image_findings;
	size_t nimage_findings;

	/*
	 * The run in progress (run/run.c owns it): each layer's part.  All
	 * NULL between runs.
	 */
	struct run *run;
	const struct entryemu_setup *setup;
	struct halt *halt;
	struct stream *stream;
	struct count_state *count;
	struct cpu_run_state *cpu;
	struct kernel_run_state *kern;
	int profiling;
	struct entryemu_profile *profile;
};

/* base/error.c: the handle's last error, for entryemu_last_error() */
void machine_set_error(struct entryemu *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), cold));
/* An error about one setup field ("user.gs"): entryemu_last_error_field(). */
void machine_field_error(struct entryemu *m, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), cold));

/* Phase timers, active with ENTRYEMU_RUN_PROFILE only. */
#include <time.h>
static inline uint64_t prof_now(const struct entryemu *m)
{
	struct timespec t;
	if (!m->profiling)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}
#define PROF_ADD(m, field, t0) \
	do { if ((m)->profiling) (m)->profile->field += prof_now(m) - (t0); } while (0)

#endif
