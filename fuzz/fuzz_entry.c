/*
 * libFuzzer target for the entry path itself: the input is not a file
 * but a run, decoded from its bytes.
 *
 *   0      image: bit 0 = pre-patch (2.6.18), else the seed's kernel
 *   1..28  user %eax %ebx %ecx %edx %esi %edi %ebp, 32 bits each
 *   29     user EFLAGS: the arithmetic flags, TF and DF (IF is set)
 *   30..37 user %ds %es %fs %gs, 16 bits each (a selector the CPU
 *          refuses is a bad setup, not a find: such inputs are skipped)
 *   38     descriptor edits, 0..2, each 9 bytes after the header: a TLS
 *          entry (6, 7 or 8) and its two words
 *   39     events, 0..2, each 5 bytes after the edits: IRQ line or NMI,
 *          and the instruction count after which it arrives
 *   then   user code, at most 512 bytes, read-only as a process's text
 *          is (setup.code_readonly): a store into it is a #PF
 *
 * Every checker is the oracle, and the reset too (check_reset): a run on
 * a correct kernel that ends with
 * a finding, an oops, an unsupported event or an engine error is written
 * as a scenario (entryemu_scenario_record_failure: it replays as a
 * failure until the bug is fixed and the expectations are written from
 * the manual) into $ENTRYEMU_FUZZ_OUT (or ./fuzz-entry-finds), named by
 * a hash of the input, and the target aborts so that libFuzzer keeps the
 * input.  Running the target on a crash file writes its scenario again.
 * Not finds: the findings the bundled scenarios expect on the seed's
 * kernel (its C calls with the user's %gs after an iret fault, its slots
 * finding), and the model's documented refusals (known.h).  Exceptions
 * are not injected: on a kernel without a debugger they come from
 * instructions, which the code supplies.
 *
 * With ENTRYEMU_FUZZ_PRINT set, the target writes each run's result to
 * standard output instead (outcome, count, final registers, events,
 * callouts' pt_regs, findings) and reports no finds: run over a corpus
 * by two builds, the outputs compare the builds (fuzz/README.md).
 *
 * Speed (fuzz/README.md): a run is 5-20 us once its code is translated,
 * so what costs is translation.  Code that writes into its own block has
 * the engine translate the rest of the block again after each such store
 * (QEMU's precise self-modifying code), and inputs found that way came
 * to hold three quarters of all the code translated in a grown corpus:
 * so the code is read-only, as a process's text is, and such a store is
 * a page fault like any other.  Code that writes itself is the bundled
 * scenarios' business (fidelity-smc-*).  Runs differ in how much of the machine
 * the per-instruction hook covers (everything for injections, user pages
 * for I/O and segment overrides, nothing otherwise), and a change of
 * that coverage drops the translations of the pages it changes (run.c's
 * instrument()): so each image has a machine for each of the three, and
 * the kernel's code keeps its translations in each.  Unicorn never
 * reuses the code buffer space of dropped translations, so the machines
 * are opened afresh every REOPEN_RUNS runs to hold the memory down.
 * Most inputs' code faults at its first or second instruction, and the
 * engine translates up to the next branch before it runs any:
 * ENTRYEMU_RUN_SHORT_NEW_BLOCKS has it translate new code a few
 * instructions at a time (docs/speed.md, fourteenth round).
 */
#define _GNU_SOURCE
#include <entryemu/entryemu.h>
#include <entryemu/scenario.h>
#include "images.h"
#include "process.h"
#include "code_pages.h"
#include "known.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HEADER 40
#define EDIT_BYTES 9
#define EVENT_BYTES 5
#define CODE_MAX 512
/*
 * A syscall round trip is about 100 instructions, and 99% of the runs
 * that end by themselves take fewer than 200; a loop or a fault storm
 * ends here.  The 1% of runs that reach it took half the time at 4,000.
 */
#define BUDGET 1000u
/*
 * About five seconds of fuzzing between reopenings.  An open costs ~10
 * ms a machine, and the kernel's code is translated again after it:
 * 100,000 runs a reopening made 21,216 execs/s (120 s, 343 MB at the
 * end), 20,000 made 19,470 (134 MB).
 */
#define REOPEN_RUNS 100000u
/*
 * How often the code buffers are given pages ahead (code_pages.h): the
 * machines wrote about 1.6 KiB of code an input between them (264 MiB
 * given over 169,271 inputs, one reopening), and each is given 2 MiB
 * ahead.
 */
#define CODE_PAGES_RUNS 64u

/* what the per-instruction hook will likely cover in a run */
enum hook_cover { COVER_NONE, COVER_USER, COVER_ALL, COVERS };
/* [image][cover]: bit 0 of byte 0 picks the image */
static entryemu *machines[2][COVERS];
static entryemu_result *result;
static unsigned runs_since_open;
static int print_results;	/* ENTRYEMU_FUZZ_PRINT */
/* each machine's runs since its last reset check (check_reset) */
#define RESET_CHECK_RUNS 128u
static struct kept_input {
	uint8_t *data;
	size_t size;
} kept[2][COVERS][RESET_CHECK_RUNS];
static unsigned nkept[2][COVERS];
static entryemu_result *check_result;

/*
 * The library's own tests of whether a run needs its per-instruction
 * hook from the start (src/cpu/io_perm.c, src/cpu/null_seg.c), linked
 * in from the static library.  A run may still need it midway (a null
 * %ds after a fixup): its machine then drops its code once more.
 */
int io_in_code(const uint8_t *code, size_t len);
int seg_override_in_code(const uint8_t *code, size_t len);

/*
 * The machines, the ones most runs use first.  Each engine's code buffer
 * is a 1 GiB mapping, each below the last: the first two land within
 * 2 GiB of Unicorn's own code, where a translated call to one of its
 * helpers is a direct call.  Two thirds of the runs inject an event
 * (COVER_ALL), so those machines come first.  (Whether the distance
 * costs anything was measured later: with every buffer placed 8 GiB
 * away the rate did not change, fuzz/README.md.)
 */
static void open_machines(void)
{
	static const enum hook_cover order[COVERS] = { COVER_ALL, COVER_USER, COVER_NONE };
	char err[512], path[4096];
	memset(nkept, 0, sizeof(nkept));	/* kept runs were the old machines' */
	for (int i = 0; i < 2; i++)		/* all closed first: the space goes back */
		for (int c = 0; c < COVERS; c++) {
			entryemu_close(machines[i][c]);
			machines[i][c] = NULL;
		}
	for (int k = 0; k < COVERS; k++)
		for (int i = 0; i < 2; i++) {
			enum entryemu_variant v = i ? ENTRYEMU_PRE_PATCH : ENTRYEMU_POST_PATCH;
			if (!entryemu_image_path(v, path, sizeof(path)) ||
			    entryemu_open(&machines[i][order[k]], path, err, sizeof(err))) {
				fprintf(stderr, "fuzz_entry: %s\n", err);
				abort();
			}
		}
	runs_since_open = 0;
	fuzz_code_pages_find();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_process_setup();
	fuzz_find_images();
	print_results = getenv("ENTRYEMU_FUZZ_PRINT") != NULL;
	open_machines();
	if (entryemu_result_new(&result))
		abort();
	return 0;
}

/* A run's result as lines of text, the same for the same run. */
static void print_result(const entryemu_result *r)
{
	const struct entryemu_regs *f = entryemu_result_final(r);
	const char *msg = entryemu_result_message(r);
	printf("outcome %s insns %llu: %.*s\n", entryemu_outcome_name(entryemu_result_outcome(r)),
	       (unsigned long long)entryemu_result_insns(r), (int)strcspn(msg, "\n"), msg);
	printf("  final eax %08x ebx %08x ecx %08x edx %08x esi %08x edi %08x ebp %08x "
	       "esp %08x eip %08x eflags %08x cs %04x ss %04x ds %04x es %04x fs %04x gs %04x\n",
	       f->eax, f->ebx, f->ecx, f->edx, f->esi, f->edi, f->ebp, f->esp, f->eip, f->eflags,
	       f->cs, f->ss, f->ds, f->es, f->fs, f->gs);
	for (size_t i = 0; i < entryemu_result_nevents(r); i++) {
		const struct entryemu_event_record *e = entryemu_result_event(r, i);
		printf("  event %d error %d/%x eip %08x cpl %d->%d frame %08x\n", e->vector,
		       e->has_error_code, e->error_code, e->eip, e->from_cpl, e->to_cpl, e->frame);
	}
	for (size_t i = 0; i < entryemu_result_ncallouts(r); i++) {
		const struct entryemu_callout_record *c = entryemu_result_callout(r, i);
		const struct entryemu_pt_regs *p = &c->regs;
		printf("  callout %s", c->name);
		if (c->pt_regs_addr)
			printf(" pt_regs %08x: %08x %08x %08x %08x %08x %08x %08x orig %08x eip %08x "
			       "eflags %08x esp %08x", c->pt_regs_addr, p->ebx, p->ecx, p->edx, p->esi,
			       p->edi, p->ebp, p->eax, p->orig_eax, p->eip, p->eflags, p->esp);
		printf("\n");
	}
	for (size_t i = 0; i < entryemu_result_nfindings(r); i++)
		printf("  finding %s\n", entryemu_result_finding(r, i)->text);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/*
 * The findings the bundled scenarios expect (docs/findings.md): on the
 * seed's kernel, its C calls with the user's %gs after an iret fault and
 * the kernel bits its 16-bit store leaves in pt_regs->xgs; on every
 * kernel to 2.6.24, the work loop's C calls after resume_userspace's
 * untraced cli.
 */
static int known_finding(const struct entryemu_finding *f, int seed)
{
	if (f->check == ENTRYEMU_CHECK_LOCKDEP)
		return strstr(f->text, "called with IF = 0, but lockdep was last told "
				       "hardirqs on") != NULL;
	return seed &&
	       (f->check == ENTRYEMU_CHECK_SLOTS ||
		(f->check == ENTRYEMU_CHECK_SEGMENTS &&
		 (strstr(f->text, "trace_hardirqs_on called with gs") ||
		  strstr(f->text, "fixup_x86_bogus_stack called with gs"))));
}

/* FNV-1a: one name per input, as libFuzzer's crash-<sha1> files are */
static uint64_t input_hash(const uint8_t *data, size_t size)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < size; i++)
		h = (h ^ data[i]) * 0x100000001b3ull;
	return h;
}

static void write_find(entryemu *m, const struct entryemu_setup *s, const char *why,
		       uint64_t hash)
{
	const char *dir = getenv("ENTRYEMU_FUZZ_OUT");
	char path[4096];
	if (!dir || !*dir)
		dir = "fuzz-entry-finds";
	mkdir(dir, 0777);
	snprintf(path, sizeof(path), "%s/find-%016llx.yaml", dir, (unsigned long long)hash);
	if (entryemu_scenario_record_failure(m, s, result, why, path) == 0)
		fprintf(stderr, "fuzz_entry: %s\nfuzz_entry: written to %s\n", why, path);
	else
		fprintf(stderr, "fuzz_entry: %s\nfuzz_entry: cannot write %s\n", why, path);
}

/* The input's run: s, its edits and events in the arrays given; -1 if too short. */
static int decode_input(const uint8_t *data, size_t size, struct entryemu_setup *out,
			struct entryemu_desc_edit edits[2], struct entryemu_inject events[2])
{
	if (size < HEADER)
		return -1;
	unsigned nedits = data[38] % 3, nevents = data[39] % 3;
	size_t at = HEADER;
	if (size < at + nedits * EDIT_BYTES + nevents * EVENT_BYTES)
		return -1;
	struct entryemu_setup s;
	memset(&s, 0, sizeof(s));
	s.user.eax = rd32(data + 1);
	s.user.ebx = rd32(data + 5);
	s.user.ecx = rd32(data + 9);
	s.user.edx = rd32(data + 13);
	s.user.esi = rd32(data + 17);
	s.user.edi = rd32(data + 21);
	s.user.ebp = rd32(data + 25);
	/* bit i of the byte sets flag_bits[i] */
	static const uint32_t flag_bits[8] = {
		1u << 0, 1u << 2, 1u << 4, 1u << 6,	/* CF PF AF ZF */
		1u << 7, 1u << 11, 1u << 8, 1u << 10,	/* SF OF TF DF */
	};
	s.user.eflags = 0x202u;				/* IF, and bit 1 */
	for (int i = 0; i < 8; i++)
		if (data[29] & (1u << i))
			s.user.eflags |= flag_bits[i];
	s.user.ds = (uint16_t)(data[30] | data[31] << 8);
	s.user.es = (uint16_t)(data[32] | data[33] << 8);
	s.user.fs = (uint16_t)(data[34] | data[35] << 8);
	s.user.gs = (uint16_t)(data[36] | data[37] << 8);
	memset(edits, 0, 2 * sizeof(*edits));
	for (unsigned i = 0; i < nedits; i++, at += EDIT_BYTES) {
		edits[i].table = ENTRYEMU_GDT;
		edits[i].index = 6 + data[at] % 3;
		edits[i].lo = rd32(data + at + 1);
		edits[i].hi = rd32(data + at + 5);
	}
	memset(events, 0, 2 * sizeof(*events));
	for (unsigned i = 0; i < nevents; i++, at += EVENT_BYTES) {
		uint8_t k = data[at];
		events[i].kind = k & 0x80 ? ENTRYEMU_INJECT_NMI : ENTRYEMU_INJECT_IRQ;
		events[i].vector = k & 0x80 ? 0 : k % 16;
		events[i].after = 1 + rd32(data + at + 1) % BUDGET;
	}
	s.code = data + at;
	s.code_len = size - at > CODE_MAX ? CODE_MAX : size - at;
	s.edits = edits;
	s.nedits = nedits;
	s.injects = events;
	s.ninjects = nevents;
	s.insn_budget = BUDGET;
	s.code_readonly = 1;	/* a process's text: see the comment at the top */
	/* most inputs' code faults at once: translate it a little at a time */
	s.flags = ENTRYEMU_RUN_SHORT_NEW_BLOCKS;
	*out = s;
	return 0;
}

/* What the per-instruction hook will likely cover in the run of s. */
static enum hook_cover cover_of(const struct entryemu_setup *s)
{
	return s->ninjects ? COVER_ALL :
	       io_in_code(s->code, s->code_len) || seg_override_in_code(s->code, s->code_len)
		       ? COVER_USER : COVER_NONE;
}

/*
 * The reset as an oracle too.  Every RESET_CHECK_RUNS runs of a machine,
 * a run of one NOP with ENTRYEMU_RUN_CHECK_RESET compares all guest
 * memory with its state after boot (about 200 us): a byte a run changed
 * and the reset did not put back would change every later run.  Such a
 * failure names no input, so the machine's last runs, kept, are run
 * again one at a time on a fresh machine, each followed by the check,
 * and the first that leaves memory changed is the find.
 */

/* 1 if m's memory is as after boot, 0 if not (err then says where). */
static int memory_as_booted(entryemu *m, char *err, size_t len)
{
	static const uint8_t nop = 0x90;
	struct entryemu_setup c;
	memset(&c, 0, sizeof(c));
	c.code = &nop;
	c.code_len = 1;
	c.flags = ENTRYEMU_RUN_CHECK_RESET;
	if (!check_result && entryemu_result_new(&check_result))
		abort();
	if (entryemu_run(m, &c, check_result) == 0)
		return 1;
	snprintf(err, len, "%s", entryemu_last_error(m));
	return strstr(err, "reset left") == NULL;
}

static void check_reset(const uint8_t *data, size_t size, int image, enum hook_cover cover)
{
	struct kept_input *k = &kept[image][cover][nkept[image][cover]++];
	uint8_t *copy = realloc(k->data, size ? size : 1);
	if (!copy)
		abort();
	memcpy(copy, data, size);
	k->data = copy;
	k->size = size;
	if (nkept[image][cover] < RESET_CHECK_RUNS)
		return;
	nkept[image][cover] = 0;
	char err[512], why[768], path[4096];
	if (memory_as_booted(machines[image][cover], err, sizeof(err)))
		return;
	entryemu *fresh = NULL;
	enum entryemu_variant v = image ? ENTRYEMU_PRE_PATCH : ENTRYEMU_POST_PATCH;
	if (!entryemu_image_path(v, path, sizeof(path)) ||
	    entryemu_open(&fresh, path, why, sizeof(why)))
		abort();
	for (unsigned i = 0; i < RESET_CHECK_RUNS; i++) {
		struct entryemu_setup s;
		struct entryemu_desc_edit edits[2];
		struct entryemu_inject events[2];
		const struct kept_input *in = &kept[image][cover][i];
		if (decode_input(in->data, in->size, &s, edits, events) ||
		    entryemu_run(fresh, &s, result) != 0)
			continue;
		if (!memory_as_booted(fresh, err, sizeof(err))) {
			snprintf(why, sizeof(why), "fuzz_entry: after this run, %s", err);
			write_find(fresh, &s, why, input_hash(in->data, in->size));
			abort();
		}
	}
	/* no one run alone: the find is the machine's history */
	fprintf(stderr, "fuzz_entry: the reset left memory changed after the last %u runs, "
		"none of them alone: %s\n", RESET_CHECK_RUNS, err);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct entryemu_setup s;
	struct entryemu_desc_edit edits[2];
	struct entryemu_inject events[2];
	if (decode_input(data, size, &s, edits, events))
		return -1;
	if (++runs_since_open > REOPEN_RUNS)
		open_machines();
	else if (runs_since_open % CODE_PAGES_RUNS == 0)
		fuzz_code_pages_ahead();
	enum hook_cover cover = cover_of(&s);
	entryemu *m = machines[data[0] & 1][cover];

	if (entryemu_run(m, &s, result) != 0) {
		if (print_results)
			printf("refused: %s\n", entryemu_last_error(m));
		return -1;		/* a setup the machine refuses: bad input */
	}
	if (print_results) {
		print_result(result);
		return 0;
	}
	enum entryemu_outcome oc = entryemu_result_outcome(result);
	char why[768] = "";
	for (size_t i = 0; i < entryemu_result_nfindings(result) && !why[0]; i++) {
		const struct entryemu_finding *fd = entryemu_result_finding(result, i);
		if (known_finding(fd, !(data[0] & 1)))
			continue;
		snprintf(why, sizeof(why), "fuzz_entry: finding: %s", fd->text);
	}
	const char *msg = entryemu_result_message(result);
	if (!why[0] && (oc == ENTRYEMU_OOPS || oc == ENTRYEMU_ERROR ||
			(oc == ENTRYEMU_UNSUPPORTED && !known_refusal(msg))))
		snprintf(why, sizeof(why), "fuzz_entry: %s: %s", entryemu_outcome_name(oc), msg);
	if (why[0]) {
		write_find(m, &s, why, input_hash(data, size));
		abort();
	}
	check_reset(data, size, data[0] & 1, cover);
	return 0;
}
