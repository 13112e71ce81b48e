/*
 * libFuzzer target for the image loader: the input is a kernel image
 * file.  It is opened (entryemu_open); if it opens, one getpid system
 * call runs on it, with a small instruction budget.  Then the machine is
 * reopened on the bundled post-patch image (entryemu_reopen), and the
 * same getpid there must end exactly as on a fresh machine: whatever
 * the input image left in the engine, nothing of it may reach the next
 * machine.  Each input opens and frees all it uses, so libFuzzer's leak
 * check stays quiet (a machine kept from one input to the next made it
 * scan the heap after nearly every input, three times the cost).
 *
 * An image whose executable segments hold, at an instruction boundary
 * of a linear sweep from their start or from any symbol, an instruction
 * on which Unicorn 2.0.1 aborts the whole process (known.h) is opened
 * and closed but not run.
 */
#define _GNU_SOURCE
#include <entryemu/entryemu.h>
#include "process.h"
#include "known.h"

#include <capstone/capstone.h>
#include <elf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/*
 * getpid takes about 100 instructions.  An image whose fault handler
 * faults again at once delivers an event per instruction, 40-160 us
 * each under ASan and SanitizerCoverage's comparison tracing (perf:
 * deliver_page_fault, machine_ptr), on a loaded host: 2,000 keep such
 * an input near a third of a second.
 */
#define FUZZ_INSN_BUDGET 2000u

static int input_fd = -1;
static char input_path[64];
static char post_path[4096];
static entryemu_result *reference;	/* getpid on a fresh post-patch machine */
static entryemu_result *result;
static csh cs;

/* movl $20, %eax (__NR_getpid); int $0x80 */
static int run_getpid(entryemu *m, entryemu_result *r)
{
	static const uint8_t code[] = { 0xb8, 0x14, 0x00, 0x00, 0x00, 0xcd, 0x80 };
	struct entryemu_setup setup;
	memset(&setup, 0, sizeof(setup));
	setup.code = code;
	setup.code_len = sizeof(code);
	setup.insn_budget = FUZZ_INSN_BUDGET;
	return entryemu_run(m, &setup, r);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_process_setup();
	input_fd = memfd_create("fuzz-image.elf", MFD_CLOEXEC);
	if (input_fd < 0 || entryemu_result_new(&result) ||
	    cs_open(CS_ARCH_X86, CS_MODE_32, &cs) != CS_ERR_OK) {
		fprintf(stderr, "fuzz_image: cannot set up\n");
		abort();
	}
	snprintf(input_path, sizeof(input_path), "/proc/self/fd/%d", input_fd);
	char err[1024];
	entryemu *m = NULL;
	if (!entryemu_image_path(ENTRYEMU_POST_PATCH, post_path, sizeof(post_path)) ||
	    entryemu_result_new(&reference) ||
	    entryemu_open(&m, post_path, err, sizeof(err)) || run_getpid(m, reference) ||
	    entryemu_result_outcome(reference) != ENTRYEMU_DONE ||
	    entryemu_result_nfindings(reference)) {
		fprintf(stderr, "fuzz_image: no clean getpid on a fresh post-patch machine\n");
		abort();
	}
	entryemu_close(m);
	return 0;
}

/* An lcall/ljmp through a register at an instruction boundary of code. */
static int sweep_aborts(const uint8_t *code, size_t n, uint32_t addr)
{
	cs_insn *insn = cs_malloc(cs);
	const uint8_t *p = code;
	size_t left = n;
	uint64_t a = addr;
	int found = 0;
	while (left && !found) {
		const uint8_t *at = p;
		if (!cs_disasm_iter(cs, &p, &left, &a, insn)) {
			/* undecodable: look at this byte as an opcode, go on with the next */
			found = left >= 2 && at[0] == 0xff && known_far_reg_modrm(at[1]);
			p = at + 1;
			left--;
			a++;
			continue;
		}
		size_t i = 0;
		while (i < insn->size && (at[i] == 0x66 || at[i] == 0x67 || at[i] == 0xf0 ||
					  at[i] == 0xf2 || at[i] == 0xf3 || at[i] == 0x2e ||
					  at[i] == 0x36 || at[i] == 0x3e || at[i] == 0x26 ||
					  at[i] == 0x64 || at[i] == 0x65))
			i++;
		found = i + 1 < insn->size && at[i] == 0xff && known_far_reg_modrm(at[i + 1]);
	}
	cs_free(insn, 1);
	return found;
}

/*
 * Sweep every executable PT_LOAD as loaded in m (the image opened: its
 * headers are sound), from its start and again from every symbol in it
 * (where control enters: a mutated instruction before an entry point
 * can swallow the entry's first bytes in a single linear sweep).
 */
static int image_aborts(entryemu *m, const uint8_t *data, size_t size)
{
	Elf32_Ehdr eh;
	if (size < sizeof(eh))
		return 0;
	memcpy(&eh, data, sizeof(eh));
	int bad = 0;
	for (unsigned i = 0; i < eh.e_phnum && !bad; i++) {
		Elf32_Phdr ph;
		size_t off = eh.e_phoff + (size_t)i * sizeof(ph);
		if (off > size || size - off < sizeof(ph))
			break;
		memcpy(&ph, data + off, sizeof(ph));
		if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X) || ph.p_memsz > (1u << 20))
			continue;
		uint8_t *buf = malloc(ph.p_memsz ? ph.p_memsz : 1);
		if (!buf || entryemu_mem_read(m, ph.p_vaddr, buf, ph.p_memsz)) {
			free(buf);
			continue;
		}
		bad = sweep_aborts(buf, ph.p_memsz, ph.p_vaddr);
		/* and from each symbol in the segment, for 128 bytes */
		for (unsigned j = 0; j < eh.e_shnum && !bad; j++) {
			Elf32_Shdr sh;
			size_t so = eh.e_shoff + (size_t)j * sizeof(sh);
			if (so > size || size - so < sizeof(sh))
				break;
			memcpy(&sh, data + so, sizeof(sh));
			if (sh.sh_type != SHT_SYMTAB || sh.sh_offset > size ||
			    sh.sh_size > size - sh.sh_offset)
				continue;
			for (size_t k = 0; k + sizeof(Elf32_Sym) <= sh.sh_size && !bad;
			     k += sizeof(Elf32_Sym)) {
				Elf32_Sym sym;
				memcpy(&sym, data + sh.sh_offset + k, sizeof(sym));
				uint32_t at = sym.st_value - ph.p_vaddr;
				if (sym.st_value < ph.p_vaddr || at >= ph.p_memsz)
					continue;
				size_t len = ph.p_memsz - at < 128 ? ph.p_memsz - at : 128;
				bad = sweep_aborts(buf + at, len, sym.st_value);
			}
		}
		free(buf);
	}
	return bad;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (ftruncate(input_fd, 0) < 0)
		abort();
	for (size_t off = 0; off < size;) {
		ssize_t w = pwrite(input_fd, data + off, size - off, (off_t)off);
		if (w <= 0)
			abort();
		off += (size_t)w;
	}
	char err[1024];
	entryemu *m = NULL;
	if (entryemu_open(&m, input_path, err, sizeof(err)))
		return 0;
	(void)strlen(entryemu_last_error(m));
	if (!image_aborts(m, data, size))
		run_getpid(m, result);
	if (entryemu_reopen(&m, post_path, err, sizeof(err))) {
		fprintf(stderr, "fuzz_image: reopen on %s: %s\n", post_path, err);
		abort();
	}
	if (run_getpid(m, result) ||
	    entryemu_result_outcome(result) != entryemu_result_outcome(reference) ||
	    entryemu_result_insns(result) != entryemu_result_insns(reference) ||
	    entryemu_result_nfindings(result) != entryemu_result_nfindings(reference) ||
	    memcmp(entryemu_result_final(result), entryemu_result_final(reference),
		   sizeof(struct entryemu_regs))) {
		fprintf(stderr, "fuzz_image: after this image, getpid on the reopened "
			"post-patch machine differs from a fresh machine's: %s, %llu "
			"instructions\n", entryemu_outcome_name(entryemu_result_outcome(result)),
			(unsigned long long)entryemu_result_insns(result));
		abort();
	}
	entryemu_close(m);
	return 0;
}
