/*
 * The machine behind an entryemu handle: one Unicorn engine, the kernel
 * image, and the host buffers that back the emulated memory.
 */
#ifndef ENTRYEMU_MACHINE_H
#define ENTRYEMU_MACHINE_H

#include <entryemu/entryemu.h>
#include <capstone/capstone.h>
#include <unicorn/unicorn.h>

#include "image.h"

/*
 * Kernel-side memory the library builds (above the image).  One region
 * holds the descriptor tables, the TSS, the per-CPU area and the espfix
 * stack; the task's thread_info and kernel stack is another.
 */
#define SYS_BASE	0xC0800000u
#define SYS_SIZE	0x4000u
#define SYS_GDT		(SYS_BASE + 0x000)	/* 32 descriptors */
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

#define KSTACK_BASE	0xC0A00000u		/* thread_info; THREAD_SIZE aligned */
#define VSYSCALL_PAGE	0xffffe000u		/* user-executable, holds vsyscall.S */
#define KSTACK_RESERVE	8			/* bytes above pt_regs (copy_thread) */

enum callout_regs {
	REGS_NONE,		/* no pt_regs argument */
	REGS_EAX,		/* fastcall/regparm: pt_regs in %eax */
	REGS_STACK,		/* asmlinkage: pt_regs is the stack argument area */
};

struct callout {
	const char *name;		/* symbol or syscall name */
	enum callout_regs regs;
	entryemu_callout_fn fn;
	void *opaque;
	entryemu_callout_fn dflt;	/* the library's default */
};

/* What the checkers know of the current entry from ring 3. */
struct entry_state {
	int active, checked, vm86;
	int vector;			/* or ENTRYEMU_EVENT_SYSENTER */
	uint32_t frame;			/* where pt_regs must be */
	struct entryemu_regs user;	/* the CPU at entry */
	uint32_t hw[5];			/* EIP, CS, EFLAGS, ESP, SS to save */
	uint32_t ret_eip, ret_esp;	/* what the frame says the user gets back */
	uint16_t ret_cs, ret_ss, ret_ds, ret_es, ret_gs;
};

#define MACHINE_REGIONS 9		/* kernel stack, system, image, 6 user */

struct block_info {
	uint32_t addr, size, ninsns;
};
#define BLOCK_CACHE_BITS 12
#define BLOCK_CACHE (1u << BLOCK_CACHE_BITS)

struct entryemu_call {
	struct entryemu *m;
	struct callout *co;
	uint32_t addr, esp, eax, edx, ecx;
	uint32_t regs_addr;		/* pt_regs argument, 0 if none */
	uint32_t ret;			/* value for %eax */
	int stop;			/* the callout ended the run */
};

struct entryemu {
	uc_engine *uc;
	csh cs;				/* Capstone with operand detail */
	csh cs_count;			/* and without, for counting instructions */
	cs_insn *count_insn;
	struct image img;
	char image_path[4096];		/* as opened */
	char err[1024];

	/* host memory backing the emulated regions */
	struct host_region {
		uint32_t base, size;
		uint8_t *p;
		uint8_t *pristine;	/* after boot; NULL: zeros */
		uint32_t always_from;	/* restored every run from here on */
		uint32_t granule;	/* bytes per bit of dirty and code */
		uint64_t dirty;		/* written since the last reset */
		uint64_t code;		/* has run as code (translated) */
	} regions[MACHINE_REGIONS];	/* memory.c */
	unsigned nregions;
	uint8_t *arena;			/* all of the buffers below, one mmap */
	size_t arena_size;
	uint8_t *sys, *kstack;
	uint8_t *ustack, *ucode, *udata, *uexit, *uvsys, *uvm86;
	uint32_t vm86_regs32;		/* the vm86() call's frame, 0 outside vm86 */
	uint32_t vsys_image;		/* image address of vsyscall_page */
	size_t ucode_len;		/* bytes of user code currently loaded */
	uint32_t thread_size;
	uint32_t esp0;
	uint32_t start;			/* where the run begins */

	uc_context *user_ctx;		/* CPU in ring 3, as after boot */
	uc_hook h_intr, h_callout, h_block, h_user, h_vsys, h_vm86, h_trace, h_unmapped,
		h_sysenter;

	/* callouts: one per 4-byte slot of the .callouts section */
	struct callout *callouts;
	size_t ncallouts;
	uint32_t sys_stubs;		/* address of sys_call_stubs */
	unsigned nr_syscalls;
	char (*syscall_names)[24];

	/* the run in progress */
	const struct entryemu_setup *setup;
	struct entryemu_result *res;
	int stopping;
	int in_kernel;			/* entered from ring 3, not back yet */
	int nest;			/* events being delivered (for #DF) */
	uint64_t budget;
	struct block_info cur_block;
	struct block_info blocks[BLOCK_CACHE][2];	/* counting.c's cache */
	uint32_t *trace;
	size_t trace_len, trace_cap;
	int tracing;
	int booting;
	/* injected events of the run in progress */
	struct inject_state {
		unsigned reached;	/* times the injection point was reached */
		int armed, done;
	} inject[8];
	uint64_t exact_insns;
	int restart;			/* stopped to resume at the new EIP */
	int profiling;
	uint32_t prev_insn, shadow_from;	/* for the STI / MOV SS shadow */		/* instructions seen by the inject hook */
	uc_hook h_inject;
	uint32_t oops_regs;		/* pt_regs of the faulting context, if known */
	unsigned ldt_entries;		/* the task's LDT size (0: none) */
	struct entry_state entry;
	uc_hook exit_hooks[32];		/* on every iret and sysexit */
	unsigned nexit_hooks;
	struct entryemu_finding image_findings[ENTRYEMU_MAX_FINDINGS];
	unsigned nimage_findings;
	uint32_t pending_signal;	/* force_sig()ed, delivered at resume */
	uint32_t unmapped_addr;	/* last access to unmapped memory */
	int unmapped_kind;
};

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
	do { if ((m)->profiling && (m)->res) (m)->res->profile.field += prof_now(m) - (t0); } while (0)

/* memory.c */
uint8_t *machine_ptr(struct entryemu *m, uint32_t addr, size_t len);
uint8_t *machine_wptr(struct entryemu *m, uint32_t addr, size_t len);
void machine_mark_dirty(struct entryemu *m, uint32_t addr, uint32_t len);
void machine_mark_code(struct entryemu *m, uint32_t addr, uint32_t size);
struct region_spec {
	uint32_t base, size;
	uint8_t **host;			/* set to the region's buffer */
	int keep;			/* reset to its contents at machine_snapshot() */
	uint32_t always_from;		/* guest-writable and restored every run from here */
};
int machine_map_regions(struct entryemu *m, const struct region_spec *spec, unsigned n);
void machine_snapshot(struct entryemu *m);
void machine_restore(struct entryemu *m);
int machine_check_restored(struct entryemu *m, uint32_t skip_base, uint32_t skip_len);
struct host_region *machine_region(struct entryemu *m, uint32_t base);
void machine_unmap(struct entryemu *m);

/* machine.c */
void machine_set_error(struct entryemu *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
uint32_t machine_rd32(struct entryemu *m, uint32_t addr, int *ok);
int machine_wr32(struct entryemu *m, uint32_t addr, uint32_t v);
uint32_t machine_reg(struct entryemu *m, int ucreg);
void machine_set_reg(struct entryemu *m, int ucreg, uint32_t v);
int machine_build(struct entryemu *m);
int machine_reset(struct entryemu *m, const struct entryemu_setup *setup);
int machine_enter_ring0(struct entryemu *m, uint16_t ss, uint32_t esp, uint16_t cs);

void machine_read_regs(struct entryemu *m, struct entryemu_regs *r);
void machine_read_segments(struct entryemu *m, struct entryemu_regs *r);
int machine_cpl(struct entryemu *m);
uint32_t machine_linear_pc(struct entryemu *m);
uint32_t machine_eip(struct entryemu *m);
void machine_stop(struct entryemu *m, enum entryemu_outcome o, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* deliver.c */
void deliver_intr_hook(uc_engine *uc, uint32_t intno, void *data);
void deliver_sysenter_hook(uc_engine *uc, void *data);
/* A page fault at the current EIP (access to unmapped memory). */
void deliver_page_fault(struct entryemu *m, uint32_t addr, int write, int fetch);
void deliver_invalid_opcode(struct entryemu *m);

/* inject.c */
void inject_hook(uc_engine *uc, uint64_t addr, uint32_t size, void *data);
void deliver_external(struct entryemu *m, int vector, int has_error, uint32_t error,
		      uint32_t eip);

/* counting.c */
void count_block_hook(uc_engine *uc, uint64_t addr, uint32_t size, void *data);
void count_unexecuted(struct entryemu *m, uint32_t from);
unsigned count_insns(struct entryemu *m, uint32_t addr, uint32_t size);

/* ptregs.c */
void ptregs_read(struct entryemu *m, uint32_t addr, struct entryemu_pt_regs *out);
void ptregs_write(struct entryemu *m, uint32_t addr, const struct entryemu_pt_regs *in);

/* callouts.c */
int callouts_init(struct entryemu *m);
void callouts_free(struct entryemu *m);
void callouts_hook(uc_engine *uc, uint64_t addr, uint32_t size, void *data);
const char *callout_name_at(const struct entryemu *m, uint32_t addr);
int callout_set_default(struct entryemu *m, const char *name, enum callout_regs regs,
			entryemu_callout_fn fn);
struct callout *callout_syscall(struct entryemu *m, unsigned nr);

/* kernel.c: the default kernel C functions */
void kernel_install_defaults(struct entryemu *m);

/* symbols.c */
int insn_text(struct entryemu *m, uint32_t addr, char *buf, size_t len);

/* run.c */
int run_install_hooks(struct entryemu *m);
void run_oops(struct entryemu *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
