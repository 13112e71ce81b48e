/*
 * The unwind-table reader (src/image/cfi.c) on the post-patch image: the
 * rows libdw gives must be what the annotations in asm/entry.S say.
 * Expected values come from the source: an interrupt gate from ring 3
 * pushes SS, ESP, EFLAGS, CS, EIP (SDM vol. 3A 6.12.1), RING0_INT_FRAME
 * puts the CFA at esp + 3*4 with the return address (eip) at CFA - 12,
 * RING0_EC_FRAME at esp + 4*4 (the error code below), sysenter_entry
 * at esp + 0; each push moves the CFA 4 bytes away from %esp.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <gelf.h>
#include <string.h>
#include <unistd.h>

#include "image/cfi.h"

#ifndef IMAGE_DIR
#define IMAGE_DIR "share/entryemu"
#endif

struct elf_file {
	int fd;
	Elf *elf;
};

static void open_elf(struct elf_file *f, const char *name)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", IMAGE_DIR, name);
	elf_version(EV_CURRENT);
	f->fd = open(path, O_RDONLY);
	assert_true(f->fd >= 0);
	f->elf = elf_begin(f->fd, ELF_C_READ, NULL);
	assert_non_null(f->elf);
}

static void close_elf(struct elf_file *f)
{
	elf_end(f->elf);
	close(f->fd);
}

/* A section's address (or its end), by name. */
static uint32_t section(struct elf_file *f, const char *name, int end)
{
	size_t shstrndx;
	assert_int_equal(elf_getshdrstrndx(f->elf, &shstrndx), 0);
	for (Elf_Scn *s = elf_nextscn(f->elf, NULL); s; s = elf_nextscn(f->elf, s)) {
		GElf_Shdr sh;
		gelf_getshdr(s, &sh);
		if (!strcmp(elf_strptr(f->elf, shstrndx, sh.sh_name), name))
			return (uint32_t)(sh.sh_addr + (end ? sh.sh_size : 0));
	}
	fail_msg("no section %s", name);
	return 0;
}

static uint32_t symbol(struct elf_file *f, const char *name)
{
	for (Elf_Scn *s = elf_nextscn(f->elf, NULL); s; s = elf_nextscn(f->elf, s)) {
		GElf_Shdr sh;
		gelf_getshdr(s, &sh);
		if (sh.sh_type != SHT_SYMTAB)
			continue;
		Elf_Data *d = elf_getdata(s, NULL);
		for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			gelf_getsym(d, (int)i, &sym);
			if (!strcmp(elf_strptr(f->elf, sh.sh_link, sym.st_name), name))
				return (uint32_t)sym.st_value;
		}
	}
	fail_msg("no symbol %s", name);
	return 0;
}

static void load(struct cfi_table *t, struct elf_file *f, const char *image)
{
	char err[256];
	open_elf(f, image);
	/* the entry code: .text and .fixup, below the callout slots */
	assert_int_equal(cfi_load(t, f->fd, section(f, ".text", 0), section(f, ".fixup", 1),
				  err, sizeof(err)), 0);
	assert_non_null(t->rows);
}

static void assert_cfa(const struct cfi_table *t, uint32_t addr, int reg, int off)
{
	const struct cfi_row *r = cfi_at(t, addr);
	if (!r)
		fail_msg("no CFI at 0x%08x", addr);
	assert_int_equal(r->cfa_reg, reg);
	assert_int_equal(r->cfa_off, off);
}

static void test_entry_points(void **state)
{
	(void)state;
	struct cfi_table t;
	struct elf_file f;
	load(&t, &f, "entry-post.elf");
	uint32_t sc = symbol(&f, "system_call");
	assert_cfa(&t, sc, CFI_ESP, 12);
	assert_true(cfi_at(&t, sc)->fde_start);
	assert_int_equal(cfi_at(&t, sc)->fde, sc);
	assert_true(cfi_at(&t, sc)->saved & (1u << CFI_EIP));
	assert_int_equal(cfi_at(&t, sc)->off[CFI_EIP], -12);
	/* pushl %eax (one byte): orig_eax */
	assert_cfa(&t, sc + 1, CFI_ESP, 16);
	assert_false(cfi_at(&t, sc + 1)->fde_start);
	assert_int_equal(cfi_at(&t, sc + 1)->fde, sc);
	assert_cfa(&t, symbol(&f, "sysenter_entry"), CFI_ESP, 0);
	assert_cfa(&t, symbol(&f, "divide_error"), CFI_ESP, 12);
	assert_cfa(&t, symbol(&f, "page_fault"), CFI_ESP, 16);
	cfi_free(&t);
	close_elf(&f);
}

/*
 * After SAVE_ALL's push of %eax (system_call+7: pushl %eax, cld, pushl
 * %gs (2 bytes), pushl %es, pushl %ds, pushl %eax), %eax is saved at
 * PT_EAX - (PT_EIP + 12) = 24 - 56 = -32 from the CFA (the seed's
 * pt_regs: ebx ecx edx esi edi ebp eax ds es gs orig_eax eip ...).
 */
static void test_saved_register(void **state)
{
	(void)state;
	struct cfi_table t;
	struct elf_file f;
	load(&t, &f, "entry-post.elf");
	uint32_t sc = symbol(&f, "system_call");
	const struct cfi_row *before = cfi_at(&t, sc + 6), *after = cfi_at(&t, sc + 7);
	assert_non_null(before);
	assert_non_null(after);
	assert_false(before->saved & (1u << CFI_EAX));
	assert_true(after->saved & (1u << CFI_EAX));
	assert_int_equal(after->off[CFI_EAX], -32);
	assert_int_equal(after->cfa_off, 12 + 5 * 4);
	cfi_free(&t);
	close_elf(&f);
}

/* No FDE: before .text and the segment-pop fixups at the start of .fixup. */
static void test_uncovered(void **state)
{
	(void)state;
	struct cfi_table t;
	struct elf_file f;
	load(&t, &f, "entry-post.elf");
	assert_null(cfi_at(&t, section(&f, ".text", 0) - 1));
	assert_null(cfi_at(&t, section(&f, ".fixup", 0)));
	assert_null(cfi_at(&t, section(&f, ".fixup", 1)));
	cfi_free(&t);
	close_elf(&f);
}

/* An image without .debug_frame: an empty table, not an error. */
static void test_no_cfi(void **state)
{
	(void)state;
	struct cfi_table t;
	struct elf_file f;
	char err[256];
	open_elf(&f, "qemu-boot.elf");
	assert_int_equal(cfi_load(&t, f.fd, 0x100000, 0x101000, err, sizeof(err)), 0);
	assert_null(t.rows);
	assert_null(cfi_at(&t, 0x100000));
	cfi_free(&t);
	close_elf(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entry_points),
		cmocka_unit_test(test_saved_register),
		cmocka_unit_test(test_uncovered),
		cmocka_unit_test(test_no_cfi),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
