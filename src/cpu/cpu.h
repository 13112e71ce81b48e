/*
 * The CPU layer: the engine, guest memory, the machine's tables and
 * state, instruction counting, event delivery and injected events.
 * Nothing here calls into kernel/ or run/: a delivery is emitted into
 * the run's stream, and a reason to stop goes into the run's halt.
 */
#ifndef ENTRYEMU_CPU_CPU_H
#define ENTRYEMU_CPU_CPU_H

#include "handle.h"

#include "mem/memory.h"
#include "image/symbols.h"
#include "cpu/plain_code.h"

/* machine.c */
uint32_t machine_rd32(struct entryemu *m, uint32_t addr, int *ok);
int machine_wr32(struct entryemu *m, uint32_t addr, uint32_t v);
uint32_t machine_reg(struct entryemu *m, enum engine_reg r);
void machine_set_reg(struct entryemu *m, enum engine_reg r, uint32_t v);
/* The stop in new user code (m->code_stop, machine.c): a run got there,
 * on to the next one; the run ended at pc, the stop goes.  -1: the
 * engine refused to drop translated code. */
int machine_pass_code_stop(struct entryemu *m);
/* Drop the translated blocks a start's stop at `at' ends or begins
 * (the vm86 stop's too); -1 where the engine refused. */
int machine_drop_stop_blocks(struct entryemu *m, uint32_t at);
int machine_drop_code_stop(struct entryemu *m, uint32_t pc);
int machine_build(struct entryemu *m);
/* Back to the state after boot, with the setup's tables, flags and code... */
int machine_reset(struct entryemu *m, const struct entryemu_setup *setup);
/* ... then its user state (for a run that starts in user code). */
int machine_load_user(struct entryemu *m, const struct entryemu_setup *setup);
int machine_enter_ring0(struct entryemu *m, uint16_t ss, uint32_t esp, uint16_t cs);
int machine_enter_ring0_at(struct entryemu *m, uint16_t ss, uint32_t esp, uint16_t cs,
			   uint32_t eflags, uint32_t eip);
void machine_read_regs(struct entryemu *m, struct entryemu_regs *r);
int machine_cpl(struct entryemu *m);
uint32_t machine_cs_base(struct entryemu *m);
uint32_t machine_cs_limit(struct entryemu *m);
/* Both at once, in one read of the registers; or for cs and eflags as read. */
void machine_cs_extent(struct entryemu *m, uint32_t *base, uint32_t *limit);
void machine_cs_extent_of(struct entryemu *m, uint16_t cs, uint32_t eflags, uint32_t *base,
			  uint32_t *limit);
/* Is CS a 16-bit code segment (D = 0) in protected mode? */
int machine_cs_16(struct entryemu *m);
/* The decoder for code of the operand and address size code16 says
 * (machine_cs_16): the same bytes are other instructions in a 16-bit
 * code segment (`8b 46 00' is mov 0(%bp),%ax there, through SS, and
 * mov 0(%esi),%eax in 32-bit code, through DS). */
csh machine_user_cs(struct entryemu *m, int code16);
uint32_t machine_linear_pc(struct entryemu *m);
uint32_t machine_stack_linear(struct entryemu *m, uint32_t off);
uint32_t machine_ti_flags(struct entryemu *m);
void machine_set_ti_flags(struct entryemu *m, uint32_t flags);
/* End the run in progress (the first reason counts) and stop the engine. */
void machine_stop(struct entryemu *m, enum entryemu_outcome o, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), cold));
static inline int machine_stopping(const struct entryemu *m)
{
	return !m->halt || m->halt->stopping;
}

/*
 * An access to unmapped memory is pending: the engine was told to stop,
 * but Unicorn lets a helper's other stores, the rest of the instruction
 * (its single-step trap) and the next hooks of the block run on.  That
 * instruction faulted and did not complete (SDM vol. 3A 6.5): nothing
 * after it happens, and the run delivers the #PF once the engine stops.
 * A hook that sees this stops the engine and does nothing else.
 */
static inline int machine_access_faulted(const struct entryemu *m)
{
	return m->cpu && m->cpu->unmapped_kind;
}

/* deliver.c: each delivery is emitted as RUN_EV_DELIVERED */
void deliver_intr_hook(void *m, uint32_t intno);
void deliver_sysenter_hook(void *m);
/* A page fault at the current EIP (access to unmapped memory). */
void deliver_page_fault(struct entryemu *m, uint32_t addr, int write, int fetch);
/* A page fault at addr of the instruction at linear pc (which has not run). */
void deliver_page_fault_at(struct entryemu *m, uint32_t pc, uint32_t addr, int write);
void deliver_invalid_opcode(struct entryemu *m);
/* The user instruction at addr is next: an RCL or RCR through memory
 * has its EFLAGS kept for a fault at it. */
void deliver_note_flags(struct entryemu *m, uint32_t addr);
/* #GP(0) at the instruction at linear at, which crosses CS's limit. */
void deliver_past_limit_at(struct entryemu *m, uint32_t at);
void deliver_external(struct entryemu *m, int vector, int has_error, uint32_t error,
		      uint32_t eip);

/*
 * inject.c: a code hook for runs that inject events (over everything)
 * or that need the I/O, null-selector or limit checks (over user pages).
 * Left installed but idle, or over the kernel's code for a run that
 * needs only the user's, it stops a run after INJECT_IDLE_CALLS calls it
 * did not need (cpu_run_state.shed) so that its caller removes or
 * narrows it.
 */
#define INJECT_IDLE_CALLS 2048u
void inject_hook(void *m, uint32_t addr, uint32_t size);
/* Before a hook that serves the instruction at addr itself (a callout):
 * 1 when an event came first and the engine stopped. */
int inject_before_call(struct entryemu *m, uint32_t addr);
int inject_before_fault(struct entryemu *m, uint32_t addr);
/* Before the model runs the instruction at addr itself and stops the
 * engine after it (tsc.c): 1 when an event came first. */
int inject_before_emulated(struct entryemu *m, uint32_t addr);

/* tsc.c: RDTSC or RDTSCP at addr, run by the model with the run's
 * instruction count as the TSC: 1 when it ran, 2 when an event due
 * before it came first (both stop the engine), 0 for anything else. */
int tsc_read_at(struct entryemu *m, uint32_t addr);
/* ... and the single-step trap with EIP at pc (linear): if it follows
 * an RDTSC the engine ran under TF, its registers get the run's TSC */
void tsc_after_step(struct entryemu *m, uint32_t pc);

/* io_perm.c: the #GP(0) of an I/O instruction the TSS does not allow */
int io_permission_fault(struct entryemu *m, uint32_t addr);
/* Could the code hold an I/O instruction (then the run checks each one)? */
int io_in_code(const uint8_t *code, size_t len);

/* machine.c: does the block at addr begin an instruction of the loaded
 * plain code (cpu/plain_code.h), with its bytes as loaded? */
int machine_plain_at(struct entryemu *m, uint32_t addr);
/* Where the pushes and pops of plain code's block at [addr, addr+size)
 * reach, from its ESP at the start: [ESP + *lo, ESP + *hi). */
void machine_plain_stack_reach(struct entryemu *m, uint32_t addr, uint32_t size, int32_t *lo,
			       int32_t *hi);

/* null_seg.c: #GP(0) for an access through a null DS/ES/FS/GS at CPL 3 */
int null_seg_fault(struct entryemu *m, uint32_t addr);
/* A user block starts with a null DS or ES, holds a CS override, or
 * (16-bit code, loads16) loads DS or ES: 1 when the watch starts now
 * (the caller stops, so the run goes on with the per-instruction check). */
int null_seg_block(struct entryemu *m, uint32_t addr, int cs_override, int loads16);
/* Could the code use FS or GS (an override prefix byte)? */
int seg_override_in_code(const uint8_t *code, size_t len);

/*
 * iret_vm.c: before an IRETD at CPL 3 whose popped EFLAGS has VM set,
 * show it to the engine with VM clear (the CPU ignores it there); put
 * the bit back at the first chance after (restore; nothing to do if no
 * bit is hidden).
 */
void iret_vm_hide(struct entryemu *m, uint32_t addr);
void iret_vm_put_back(struct entryemu *m);
/* inline: the user hook asks before every user instruction */
static inline void iret_vm_restore(struct entryemu *m)
{
	if (m->cpu->vm_hidden)
		iret_vm_put_back(m);
}

/* seg_limit.c: #GP(0) or #SS(0) for an access beyond a segment limit at
 * CPL 3: the vector, or -1 (checked only once limit_watch is set) */
int seg_limit_fault(struct entryemu *m, uint32_t addr);
/* A descriptor is written to the GDT or LDT: one CPL 3 could load with a
 * limit that matters sets limit_watch for the rest of the run. */
void seg_limit_note(struct entryemu *m, uint32_t lo, uint32_t hi);

/*
 * cs_limit.c: CS's limit on every fetch and on the target of every near
 * transfer, checked before each user instruction: FAULTS, the
 * instruction at addr crosses it, or is a far return past the limit of
 * the CS it returns to (#GP(0) there, not delivered yet);
 * TRANSFER, the near transfer before it went past the limit, and its
 * #GP(0) is delivered, the transfer undone.  cs_limit_fetch_fault: the
 * same for a fetch fault at offset eip, where no hook ran; 1 if it
 * delivered.  cs_limit_returned: back in user code from the kernel, in
 * a CS the IRET may have changed (cs, with eflags), with no user
 * transfer just before; CS's base is returned.
 */
enum cs_limit_verdict { CS_LIMIT_OK, CS_LIMIT_FAULTS, CS_LIMIT_TRANSFER };
enum cs_limit_verdict cs_limit_at(struct entryemu *m, uint32_t addr);
int cs_limit_fetch_fault(struct entryemu *m, uint32_t eip);
/* The image's IRET at addr is next, ESP and SS esp and ss: 1 if its
 * popped EIP lies past its popped CS's limit, and #GP(0) was delivered
 * at it. */
int cs_limit_iret(struct entryemu *m, uint32_t addr, uint32_t esp, uint16_t ss);
uint32_t cs_limit_returned(struct entryemu *m, uint16_t cs, uint32_t eflags);

/* counting.c */
void count_block_hook(void *m, uint32_t addr, uint32_t size);
void count_unexecuted(struct entryemu *m, uint32_t from);
/* The run stopped where its instruction budget ran out (run.c, at
 * count_state's budget_at). */
void count_budget_exhausted(struct entryemu *m);
/* A user instruction at addr is next: 1 if the budget runs out before it
 * (the run then stops there). */
int count_budget_stop(struct entryemu *m, uint32_t addr);
/*
 * The engine stopped with pc next, which it has not run: the count of
 * the block it was in goes back from pc, and the instruction hooks that
 * had seen pc already (count_hooked) leave it alone when it runs (a
 * start that ran on past the stop asked for, to the check after a later
 * instruction's hooks).
 */
void count_left_at(struct entryemu *m, uint32_t pc);
/* An instruction hook with effects saw the instruction at addr and did
 * not stop the engine: the trace's, the injection hook's or gdb's. */
#define COUNT_SEEN_TRACE 1u
#define COUNT_SEEN_STEP 2u
#define COUNT_SEEN_GDB 4u
#define COUNT_SEEN_ALL 7u
void count_hooked(struct entryemu *m, uint32_t addr, unsigned seen);
/* Did that hook see the instruction at addr already, before the engine
 * cut its block there?  It leaves it alone then. */
int count_seen(const struct entryemu *m, uint32_t addr, unsigned seen);
/* One instruction counted as its block started did not complete (it faulted). */
void count_not_completed(struct entryemu *m);
/* An instruction the model ran in the engine's place: counted; the
 * count before it is returned. */
uint64_t count_ran(struct entryemu *m);
unsigned count_insns(struct entryemu *m, uint32_t addr, uint32_t size);
/* The start of the last instruction of [addr, addr + size), by the same
 * decode as the counts. */
uint32_t count_last_start(struct entryemu *m, uint32_t addr, uint32_t size);
/* Where the same decode of [addr, addr + size), a block starting now, in
 * the CPU's mode now, ends: addr + size, or the start of the instruction
 * cut short there. */
uint32_t count_decoded_to(struct entryemu *m, uint32_t addr, uint32_t size);
/* The start of the instruction k instructions after the one at addr, by
 * the same decode (32-bit code), if it lies before end; else 0. */
uint32_t count_insns_on(struct entryemu *m, uint32_t addr, unsigned k, uint32_t end);
/* Forget the counts cached for user or vm86 blocks over [lo, hi): its
 * bytes changed. */
void count_forget_user(struct entryemu *m, uint32_t lo, uint32_t hi);
/* The addresses of the last (up to max) instructions run, oldest first. */
size_t count_last_insns(struct entryemu *m, uint32_t *out, size_t max);
/*
 * Did the code at addr run as 16-bit code (vm86 mode, a 16-bit code
 * segment)?  As the user blocks still counted say; for an address in
 * none, whether it lies in the vm86 memory.  The kernel's: no.
 */
int count_code16_at(const struct entryemu *m, uint32_t addr);

#endif
