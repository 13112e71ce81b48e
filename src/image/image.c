/*
 * Reading the kernel image.  Loadable segments are copied into one
 * page-aligned buffer; the symbol table gives names for traces and the
 * callout slots; __ex_table is copied and sorted, as the kernel sorts it
 * at boot before its binary search; the entryemu_layout_* symbols give
 * the pt_regs/thread_info/TSS offsets the image was built with.
 *
 * An image may come from anyone (a bug report, a fuzzer), so nothing in
 * it is trusted: every header, section, symbol and layout value is
 * checked here, before the machine (src/cpu/machine.c) indexes its host
 * buffers with them.  Sums of file values are done in 64 bits, since an
 * ELF32 field plus another wraps in 32.  Each failure names the file and
 * the offending field.
 */
#include "image/image.h"
#include "handle.h"	/* the machine's map: where the image must fit */

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAGE_MASK 0xfffu

/*
 * Limits far above what entry.S needs (2 program headers, 10 sections,
 * ~150 symbols, 14 __ex_table entries) and far below what would let a
 * crafted count make us allocate gigabytes.
 */
#define IMAGE_MAX_PHDRS		64
#define IMAGE_MAX_SECTIONS	1024
#define IMAGE_MAX_SYMBOLS	65536
#define IMAGE_MAX_EXTABLE	65536
#define IMAGE_MAX_CALLOUTS	16384	/* 4-byte slots: 64 KiB of .callouts */
/* The image is mapped from PAGE_OFFSET up to the library's own region. */
#define IMAGE_LOW		PAGE_OFFSET
#define IMAGE_HIGH		SYS_BASE
/* Where build_tss() writes fixed words (esp1 at 12, the I/O map base at 100). */
#define TSS_MIN_SIZE		104u
/* The TSS lives at SYS_TSS and must end before the double-fault TSS. */
#define TSS_MAX_SIZE		(SYS_DF_TSS - SYS_TSS)
/* The kernel stack region is THREAD_SIZE bytes: at least a page, at most 64 KiB. */
#define THREAD_MIN_SIZE		0x1000
#define THREAD_MAX_SIZE		0x10000

/*
 * Open path for reading only if it is a regular file.  O_NONBLOCK first:
 * open() of a FIFO with no writer otherwise blocks forever; the fstat
 * then refuses anything that is not a regular file (FIFO, device,
 * directory), which a read could also block on or never finish.
 */
static int open_regular(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	/* a regular file never blocks: back to ordinary reads for libelf */
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	return fd;
}

static int cmp_sym(const void *a, const void *b)
{
	const struct image_symbol *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* By name; among equal names, the first in syms first. */
static int cmp_sym_name(const void *a, const void *b)
{
	const struct image_symbol *x = *(const struct image_symbol *const *)a,
				  *y = *(const struct image_symbol *const *)b;
	int c = strcmp(x->name, y->name);
	return c ? c : (x > y) - (x < y);
}

static int cmp_ex(const void *a, const void *b)
{
	const struct extable_entry *x = a, *y = b;
	return x->insn < y->insn ? -1 : x->insn > y->insn;
}

/*
 * The PT_LOAD segments: each must lie inside the file (offset + filesz,
 * in 64 bits), hold no more file bytes than memory bytes, end below
 * 4 GiB (vaddr + memsz, in 64 bits: a 32-bit sum wraps and the copy
 * overflows the buffer), not overlap another, and all of them must fit
 * between PAGE_OFFSET and the library's own region (SYS_BASE).
 */
static int load_segments(struct image *img, Elf *elf, char *err, size_t errlen)
{
	size_t n;
	if (elf_getphdrnum(elf, &n) != 0 || n == 0) {
		snprintf(err, errlen, "e_phnum: no program headers");
		return -1;
	}
	if (n > IMAGE_MAX_PHDRS) {
		snprintf(err, errlen, "e_phnum: %zu program headers, at most %d", n,
			 IMAGE_MAX_PHDRS);
		return -1;
	}
	size_t fsize = 0;
	char *file = elf_rawfile(elf, &fsize);
	if (!file) {
		snprintf(err, errlen, "cannot read the file: %s", elf_errmsg(-1));
		return -1;
	}
	uint64_t lo = UINT64_MAX, hi = 0;
	uint64_t starts[IMAGE_MAX_PHDRS], ends[IMAGE_MAX_PHDRS];
	size_t nload = 0;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, (int)i, &ph)) {
			snprintf(err, errlen, "program header %zu: unreadable", i);
			return -1;
		}
		if (ph.p_type != PT_LOAD)
			continue;
		if (ph.p_filesz > ph.p_memsz) {
			snprintf(err, errlen, "program header %zu: p_filesz 0x%llx > p_memsz 0x%llx",
				 i, (unsigned long long)ph.p_filesz, (unsigned long long)ph.p_memsz);
			return -1;
		}
		if (ph.p_offset > fsize || ph.p_filesz > fsize - ph.p_offset) {
			snprintf(err, errlen, "program header %zu: p_offset 0x%llx + p_filesz "
				 "0x%llx lies outside the file (%zu bytes)", i,
				 (unsigned long long)ph.p_offset, (unsigned long long)ph.p_filesz,
				 fsize);
			return -1;
		}
		if (ph.p_memsz == 0)
			continue;
		uint64_t s = ph.p_vaddr, e = (uint64_t)ph.p_vaddr + ph.p_memsz;
		if (s < IMAGE_LOW || e > IMAGE_HIGH) {
			snprintf(err, errlen, "program header %zu: p_vaddr 0x%llx + p_memsz 0x%llx "
				 "is not within 0x%x-0x%x (PAGE_OFFSET up to the library's "
				 "tables)", i, (unsigned long long)ph.p_vaddr,
				 (unsigned long long)ph.p_memsz, IMAGE_LOW, IMAGE_HIGH);
			return -1;
		}
		for (size_t j = 0; j < nload; j++)
			if (s < ends[j] && starts[j] < e) {
				snprintf(err, errlen, "program header %zu: p_vaddr 0x%llx-0x%llx "
					 "overlaps another PT_LOAD segment", i,
					 (unsigned long long)s, (unsigned long long)e);
				return -1;
			}
		starts[nload] = s;
		ends[nload++] = e;
		if (s < lo)
			lo = s;
		if (e > hi)
			hi = e;
	}
	if (!nload) {
		snprintf(err, errlen, "program headers: no PT_LOAD segment with p_memsz > 0");
		return -1;
	}
	img->base = (uint32_t)lo & ~PAGE_MASK;
	img->end = (uint32_t)((hi + PAGE_MASK) & ~(uint64_t)PAGE_MASK);
	img->bytes = calloc(1, img->end - img->base);
	if (!img->bytes) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD || !ph.p_filesz)
			continue;
		/* checked above: base <= vaddr, vaddr + filesz <= vaddr + memsz <= end */
		memcpy(img->bytes + (ph.p_vaddr - img->base), file + ph.p_offset, ph.p_filesz);
	}
	return 0;
}

/* The exported layout constants: name, field, and whether it may be absent. */
struct layout_sym {
	const char *name;
	size_t off;
	int optional;		/* PT_GS, PT_FS: not every pt_regs has the slot;
				 * PERCPU_SEG, ESPFIX_32: images from before they
				 * were exported (then read from PT_GS, and 0) */
};
#define F(sym, field, opt) { "entryemu_layout_" #sym, offsetof(struct image_layout, field), opt }
static const struct layout_sym layout_syms[] = {
	F(PT_EBX, pt_ebx, 0), F(PT_ECX, pt_ecx, 0), F(PT_EDX, pt_edx, 0),
	F(PT_ESI, pt_esi, 0), F(PT_EDI, pt_edi, 0), F(PT_EBP, pt_ebp, 0),
	F(PT_EAX, pt_eax, 0), F(PT_DS, pt_ds, 0), F(PT_ES, pt_es, 0),
	F(PT_GS, pt_gs, 1), F(PT_FS, pt_fs, 1), F(PT_ORIG_EAX, pt_orig_eax, 0),
	F(PT_EIP, pt_eip, 0), F(PT_CS, pt_cs, 0), F(PT_EFLAGS, pt_eflags, 0),
	F(PT_OLDESP, pt_oldesp, 0), F(PT_OLDSS, pt_oldss, 0),
	F(PT_SIZE, pt_size, 0), F(TI_flags, ti_flags, 0),
	F(TI_preempt_count, ti_preempt_count, 0),
	F(TI_addr_limit, ti_addr_limit, 0),
	F(TI_sysenter_return, ti_sysenter_return, 0),
	F(TI_SIZE, ti_size, 0), F(TSS_esp0, tss_esp0, 0),
	F(TSS_ss0, tss_ss0, 0), F(TSS_SIZE, tss_size, 0),
	F(THREAD_SIZE, thread_size, 0),
	F(PERCPU_SEG, percpu_seg, 1), F(ESPFIX_32, espfix_32, 1),
};
#undef F
#define NLAYOUT (sizeof(layout_syms) / sizeof(layout_syms[0]))

static int *layout_field(struct image *img, size_t k)
{
	return (int *)((char *)&img->layout + layout_syms[k].off);
}

/*
 * The symbol table: its entry size must be an Elf32_Sym's, its size a
 * whole number of entries that libelf could read from the file, and its
 * count bounded; the caller refuses a second SHT_SYMTAB (the array is
 * sized for one).  A layout symbol defined twice is refused: which value
 * the image meant is unknowable.
 */
static int load_symbols(struct image *img, Elf *elf, Elf_Scn *scn, GElf_Shdr *sh,
			unsigned *seen, char *err, size_t errlen)
{
	if (sh->sh_entsize != sizeof(Elf32_Sym) || sh->sh_size % sizeof(Elf32_Sym)) {
		snprintf(err, errlen, "SHT_SYMTAB: sh_entsize %llu, sh_size %llu: expected "
			 "whole %zu-byte Elf32_Sym entries", (unsigned long long)sh->sh_entsize,
			 (unsigned long long)sh->sh_size, sizeof(Elf32_Sym));
		return -1;
	}
	size_t count = sh->sh_size / sizeof(Elf32_Sym);
	if (count > IMAGE_MAX_SYMBOLS) {
		snprintf(err, errlen, "SHT_SYMTAB: %zu symbols, at most %d", count,
			 IMAGE_MAX_SYMBOLS);
		return -1;
	}
	Elf_Data *data = elf_getdata(scn, NULL);
	if (!data || data->d_size < count * sizeof(Elf32_Sym)) {
		snprintf(err, errlen, "SHT_SYMTAB: sh_offset/sh_size lie outside the file");
		return -1;
	}
	img->syms = calloc(count ? count : 1, sizeof(*img->syms));
	img->abs_sizes = calloc(count ? count : 1, sizeof(*img->abs_sizes));
	if (!img->syms || !img->abs_sizes) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < count; i++) {
		GElf_Sym s;
		if (!gelf_getsym(data, (int)i, &s))
			continue;
		/* elf_strptr checks sh_link and st_name against the string table */
		const char *name = elf_strptr(elf, sh->sh_link, s.st_name);
		if (!name || !*name)
			continue;
		int type = GELF_ST_TYPE(s.st_info);
		if (type == STT_SECTION || type == STT_FILE)
			continue;
		if (s.st_shndx == SHN_ABS) {
			for (size_t k = 0; k < NLAYOUT; k++) {
				if (strcmp(name, layout_syms[k].name))
					continue;
				if (*seen & (1u << k)) {
					snprintf(err, errlen, "%s: defined twice", name);
					return -1;
				}
				*seen |= 1u << k;
				/* ELF32 st_value: above INT_MAX reads as negative, refused later */
				*layout_field(img, k) = (int)(int32_t)(uint32_t)s.st_value;
			}
			/* a table's size, perhaps (tables.c) */
			size_t nl = strlen(name);
			if (nl > 5 && !strcmp(name + nl - 5, "_size")) {
				struct image_symbol *z = &img->abs_sizes[img->nabs_sizes];
				z->addr = (uint32_t)s.st_value;
				z->name = strdup(name);
				if (!z->name) {
					snprintf(err, errlen, "out of memory");
					return -1;
				}
				img->nabs_sizes++;
			}
			continue;
		}
		if (s.st_shndx == SHN_UNDEF)
			continue;
		if (s.st_value < img->base || s.st_value >= img->end)
			continue;
		struct image_symbol *d = &img->syms[img->nsyms];
		d->addr = (uint32_t)s.st_value;
		d->size = type == STT_OBJECT ? (uint32_t)s.st_size : 0;
		d->global = GELF_ST_BIND(s.st_info) != STB_LOCAL;
		d->name = strdup(name);
		if (!d->name) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		img->nsyms++;
	}
	qsort(img->syms, img->nsyms, sizeof(*img->syms), cmp_sym);
	/* image_symbol() is asked by name at every bind and start */
	img->by_name = malloc((img->nsyms ? img->nsyms : 1) * sizeof(*img->by_name));
	if (!img->by_name) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < img->nsyms; i++)
		img->by_name[i] = &img->syms[i];
	qsort(img->by_name, img->nsyms, sizeof(*img->by_name), cmp_sym_name);
	return 0;
}

/*
 * __ex_table: whole 8-byte entries, all readable from the file, a
 * bounded count.  The entries' addresses are not checked here: a wrong
 * one is what the extable checker exists to report (tests/mutation/).
 */
static int load_extable(struct image *img, Elf_Scn *scn, GElf_Shdr *sh,
			char *err, size_t errlen)
{
	if (sh->sh_size % 8) {
		snprintf(err, errlen, "__ex_table: sh_size %llu is not a multiple of 8",
			 (unsigned long long)sh->sh_size);
		return -1;
	}
	size_t n = sh->sh_size / 8;
	if (n > IMAGE_MAX_EXTABLE) {
		snprintf(err, errlen, "__ex_table: %zu entries, at most %d", n, IMAGE_MAX_EXTABLE);
		return -1;
	}
	Elf_Data *data = elf_getdata(scn, NULL);
	if (!data || data->d_size < sh->sh_size || (n && !data->d_buf)) {
		snprintf(err, errlen, "__ex_table: sh_offset/sh_size lie outside the file");
		return -1;
	}
	img->extable = calloc(n ? n : 1, sizeof(*img->extable));
	if (!img->extable) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	const uint8_t *p = data->d_buf;
	for (size_t i = 0; i < n; i++) {
		memcpy(&img->extable[i].insn, p + 8 * i, 4);
		memcpy(&img->extable[i].fixup, p + 8 * i + 4, 4);
	}
	img->nextable = n;
	qsort(img->extable, n, sizeof(*img->extable), cmp_ex);
	return 0;
}

/* Offset off of a 4-byte word must be aligned and inside a structure of size bytes. */
static int word_in(int off, int size)
{
	return off >= 0 && !(off & 3) && off <= size - 4;
}

/*
 * The per-CPU register and the pt_regs slot that saves the user's value
 * of it go together: PERCPU_SEG = 5 (%gs) with PT_GS, 4 (%fs) with PT_FS,
 * 0 with neither.  Returns the name of the value at fault, or NULL.
 */
static const char *percpu_layout(const struct image_layout *l, char *why, size_t len)
{
	int seg = l->percpu_seg;
	if (seg != ENTRYEMU_PERCPU_NONE && seg != ENTRYEMU_PERCPU_FS && seg != ENTRYEMU_PERCPU_GS) {
		snprintf(why, len, "= %d: expected 0 (none), 4 (%%fs) or 5 (%%gs)", seg);
		return "PERCPU_SEG";
	}
	if (l->pt_gs >= 0 && l->pt_fs >= 0) {
		snprintf(why, len, "and entryemu_layout_PT_FS: pt_regs saves one per-CPU register");
		return "PT_GS";
	}
	if ((seg == ENTRYEMU_PERCPU_GS) != (l->pt_gs >= 0) || (seg == ENTRYEMU_PERCPU_FS) != (l->pt_fs >= 0)) {
		snprintf(why, len, "= %d does not match the pt_regs slots exported (PT_GS %s, "
			 "PT_FS %s)", seg, l->pt_gs >= 0 ? "present" : "absent",
			 l->pt_fs >= 0 ? "present" : "absent");
		return "PERCPU_SEG";
	}
	if (l->espfix_32 != 0 && l->espfix_32 != 1) {
		snprintf(why, len, "= %d: expected 0 (16-bit stack) or 1 (32-bit segment)",
			 l->espfix_32);
		return "ESPFIX_32";
	}
	return NULL;
}

/*
 * The layout values index host buffers in machine.c, ptregs.c and
 * deliver.c (the TSS inside the system region, thread_info at the
 * bottom of the kernel stack, pt_regs below esp0): each offset must be
 * an aligned word inside its structure and each structure must fit the
 * place the library gives it.
 */
static int check_layout(const struct image *img, unsigned seen, char *err, size_t errlen)
{
	const struct image_layout *l = &img->layout;
	for (size_t k = 0; k < NLAYOUT; k++)
		if (!(seen & (1u << k)) && !layout_syms[k].optional) {
			snprintf(err, errlen, "the image does not export %s: link asm/layout.S "
				 "built with the same asm-offsets.h", layout_syms[k].name);
			return -1;
		}
	const char *bad = NULL;
	char why[160] = "";
	int ts = l->thread_size;
	if (ts < THREAD_MIN_SIZE || ts > THREAD_MAX_SIZE || (ts & (ts - 1))) {
		bad = "THREAD_SIZE";
		snprintf(why, sizeof(why), "0x%x is not a power of two from 0x%x to 0x%x",
			 (unsigned)ts, THREAD_MIN_SIZE, THREAD_MAX_SIZE);
	} else if (l->tss_size < (int)TSS_MIN_SIZE || l->tss_size > (int)TSS_MAX_SIZE ||
		   (l->tss_size & 3)) {
		bad = "TSS_SIZE";
		snprintf(why, sizeof(why), "0x%x: expected a multiple of 4 from 0x%x to 0x%x",
			 (unsigned)l->tss_size, TSS_MIN_SIZE, TSS_MAX_SIZE);
	} else if (l->ti_size < 4 || (l->ti_size & 3) || l->ti_size > ts / 2) {
		bad = "TI_SIZE";
		snprintf(why, sizeof(why), "0x%x: expected a multiple of 4 up to THREAD_SIZE/2",
			 (unsigned)l->ti_size);
	} else if (l->pt_size < 4 || (l->pt_size & 3) ||
		   l->pt_size > ts - l->ti_size - KSTACK_RESERVE) {
		bad = "PT_SIZE";
		snprintf(why, sizeof(why), "0x%x: pt_regs must fit the kernel stack above "
			 "thread_info", (unsigned)l->pt_size);
	}
	if (bad) {
		snprintf(err, errlen, "entryemu_layout_%s = %s", bad, why);
		return -1;
	}
	if ((bad = percpu_layout(l, why, sizeof(why)))) {
		snprintf(err, errlen, "entryemu_layout_%s %s", bad, why);
		return -1;
	}
	for (size_t k = 0; k < NLAYOUT; k++) {
		const char *n = layout_syms[k].name + strlen("entryemu_layout_");
		int v = *(const int *)((const char *)l + layout_syms[k].off);
		int size = !strncmp(n, "PT_", 3) ? l->pt_size : !strncmp(n, "TI_", 3) ?
			   l->ti_size : !strncmp(n, "TSS_", 4) ? l->tss_size : -1;
		if (size < 0 || !strcmp(n, "PT_SIZE") || !strcmp(n, "TI_SIZE") ||
		    !strcmp(n, "TSS_SIZE") || (layout_syms[k].optional && !(seen & (1u << k))))
			continue;
		if (!word_in(v, size)) {
			snprintf(err, errlen, "%s = 0x%x: not an aligned word within %s 0x%x",
				 layout_syms[k].name, (unsigned)v,
				 n[0] == 'P' ? "PT_SIZE" : n[1] == 'I' ? "TI_SIZE" : "TSS_SIZE",
				 (unsigned)size);
			return -1;
		}
	}
	return 0;
}

/*
 * Symbols the library indexes arrays with: the callout slots
 * (__callouts_start/_end, 4-byte slots, one C structure each) and the
 * syscall stubs inside them (sys_call_table entry N is slot N).
 */
static int check_callouts(const struct image *img, char *err, size_t errlen)
{
	uint32_t s = img->callouts_start, e = img->callouts_end;
	if ((s & 3) || ((e - s) & 3) || (e - s) / 4 > IMAGE_MAX_CALLOUTS) {
		snprintf(err, errlen, "__callouts_start 0x%x, __callouts_end 0x%x: expected "
			 "4-byte slots, at most %d", s, e, IMAGE_MAX_CALLOUTS);
		return -1;
	}
	uint32_t stubs = image_symbol(img, "sys_call_stubs");
	if (stubs && (stubs < s || stubs > e || ((stubs - s) & 3))) {
		snprintf(err, errlen, "sys_call_stubs 0x%x: not a slot between __callouts_start "
			 "0x%x and __callouts_end 0x%x", stubs, s, e);
		return -1;
	}
	return 0;
}

/* Section sh (named name) must lie in the loaded range: its bytes are read from there. */
static int check_section_range(const struct image *img, const char *name, const GElf_Shdr *sh,
			       char *err, size_t errlen)
{
	uint64_t s = sh->sh_addr, e = s + sh->sh_size;
	if (sh->sh_size > UINT32_MAX || s < img->base || e > img->end) {
		snprintf(err, errlen, "section %s: sh_addr 0x%llx + sh_size 0x%llx is outside "
			 "the loaded segments 0x%x-0x%x", name, (unsigned long long)sh->sh_addr,
			 (unsigned long long)sh->sh_size, img->base, img->end);
		return -1;
	}
	return 0;
}

static int load_sections(struct image *img, Elf *elf, unsigned *seen, char *err,
			 size_t errlen)
{
	size_t shnum, shstrndx;
	if (elf_getshdrnum(elf, &shnum) != 0 || shnum > IMAGE_MAX_SECTIONS) {
		snprintf(err, errlen, "e_shnum: unreadable or more than %d sections",
			 IMAGE_MAX_SECTIONS);
		return -1;
	}
	if (elf_getshdrstrndx(elf, &shstrndx) != 0 || shstrndx >= shnum) {
		snprintf(err, errlen, "e_shstrndx: no section names");
		return -1;
	}
	int have_symtab = 0, have_extable = 0;
	img->text_start = UINT32_MAX;
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn));) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh)) {
			snprintf(err, errlen, "section %zu: unreadable header", elf_ndxscn(scn));
			return -1;
		}
		const char *name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name) {
			snprintf(err, errlen, "section %zu: sh_name 0x%x is not in the section "
				 "name table", elf_ndxscn(scn), sh.sh_name);
			return -1;
		}
		if ((sh.sh_flags & (SHF_ALLOC | SHF_EXECINSTR)) && sh.sh_size &&
		    check_section_range(img, name, &sh, err, errlen) < 0)
			return -1;
		if (sh.sh_type == SHT_SYMTAB) {
			/* one symbol array, sized for one table: a second would overflow it */
			if (have_symtab) {
				snprintf(err, errlen, "section %s: a second SHT_SYMTAB", name);
				return -1;
			}
			if (load_symbols(img, elf, scn, &sh, seen, err, errlen) < 0)
				return -1;
			have_symtab = 1;
		} else if (!strcmp(name, "__ex_table")) {
			if (have_extable) {
				snprintf(err, errlen, "section __ex_table: given twice");
				return -1;
			}
			if (load_extable(img, scn, &sh, err, errlen) < 0)
				return -1;
			have_extable = 1;
		} else if (!strcmp(name, ".fixup")) {
			img->fixup_start = (uint32_t)sh.sh_addr;
			img->fixup_end = (uint32_t)(sh.sh_addr + sh.sh_size);
		}
		if ((sh.sh_flags & SHF_EXECINSTR) && sh.sh_size) {
			if (img->nexec == IMAGE_MAX_EXEC) {
				snprintf(err, errlen, "section %s: more than %d executable "
					 "sections", name, IMAGE_MAX_EXEC);
				return -1;
			}
			img->exec[img->nexec].start = (uint32_t)sh.sh_addr;
			img->exec[img->nexec++].end = (uint32_t)(sh.sh_addr + sh.sh_size);
			if (sh.sh_addr < img->text_start)
				img->text_start = (uint32_t)sh.sh_addr;
			if (sh.sh_addr + sh.sh_size > img->text_end)
				img->text_end = (uint32_t)(sh.sh_addr + sh.sh_size);
		}
	}
	if (!have_symtab) {
		snprintf(err, errlen, "no symbol table (was the image stripped?)");
		return -1;
	}
	if (img->text_start >= img->text_end) {
		snprintf(err, errlen, "no executable (SHF_EXECINSTR) section");
		return -1;
	}
	return 0;
}

int image_load(struct image *img, const char *path, char *err, size_t errlen)
{
	memset(img, 0, sizeof(*img));
	img->layout.pt_gs = -1;
	img->layout.pt_fs = -1;
	img->layout.percpu_seg = -1;	/* not exported: inferred from PT_GS */
	if (!path || !*path) {
		snprintf(err, errlen, "image: empty path");
		return -1;
	}
	if (elf_version(EV_CURRENT) == EV_NONE) {
		snprintf(err, errlen, "libelf: %s", elf_errmsg(-1));
		return -1;
	}
	int fd = open_regular(path, err, errlen);
	if (fd < 0)
		return -1;
	int rc = -1;
	char sub[512];
	unsigned seen = 0;
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	GElf_Ehdr eh;
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh)) {
		snprintf(err, errlen, "%s: not an ELF file", path);
		goto out;
	}
	if (gelf_getclass(elf) != ELFCLASS32 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh.e_machine != EM_386) {
		snprintf(err, errlen, "%s: e_ident/e_machine: not an ELF32 little-endian i386 "
			 "image", path);
		goto out;
	}
	if (eh.e_type != ET_EXEC) {
		snprintf(err, errlen, "%s: e_type %u: expected ET_EXEC (an image linked by ld)",
			 path, eh.e_type);
		goto out;
	}
	if ((eh.e_phnum && eh.e_phentsize != sizeof(Elf32_Phdr)) ||
	    (eh.e_shnum && eh.e_shentsize != sizeof(Elf32_Shdr))) {
		snprintf(err, errlen, "%s: e_phentsize %u / e_shentsize %u: expected %zu / %zu",
			 path, eh.e_phentsize, eh.e_shentsize, sizeof(Elf32_Phdr),
			 sizeof(Elf32_Shdr));
		goto out;
	}
	if (load_segments(img, elf, sub, sizeof(sub)) < 0 ||
	    load_sections(img, elf, &seen, sub, sizeof(sub)) < 0) {
		snprintf(err, errlen, "%s: %s", path, sub);
		goto out;
	}
	img->callouts_start = image_symbol(img, "__callouts_start");
	img->callouts_end = image_symbol(img, "__callouts_end");
	if (!img->callouts_start || img->callouts_end <= img->callouts_start) {
		snprintf(err, errlen, "%s: no callout slots (__callouts_start/"
			 "__callouts_end): link asm/callouts.S into the image", path);
		goto out;
	}
	struct image_layout *l = &img->layout;
	if (l->percpu_seg < 0)		/* an image from before PERCPU_SEG */
		l->percpu_seg = l->pt_gs >= 0 ? ENTRYEMU_PERCPU_GS : l->pt_fs >= 0 ? ENTRYEMU_PERCPU_FS : ENTRYEMU_PERCPU_NONE;
	l->pt_percpu = l->percpu_seg == ENTRYEMU_PERCPU_GS ? l->pt_gs :
		       l->percpu_seg == ENTRYEMU_PERCPU_FS ? l->pt_fs : -1;
	if (check_callouts(img, sub, sizeof(sub)) < 0 ||
	    check_layout(img, seen, sub, sizeof(sub)) < 0 ||
	    image_tables(img, sub, sizeof(sub)) < 0) {
		snprintf(err, errlen, "%s: %s", path, sub);
		goto out;
	}
	rc = 0;
out:
	if (elf)
		elf_end(elf);
	close(fd);
	if (rc < 0)
		image_free(img);
	return rc;
}

/*
 * The unwind rules of the entry code (the executable range below the
 * callout slots), read from the file on first use: only runs of the cfi
 * checker need them, and reading them costs as much as the rest of an
 * open.  0 once loaded (or when the file has no CFI), -1 with err.
 */
int image_cfi(struct image *img, const char *path, char *err, size_t errlen)
{
	if (img->cfi_tried)
		return img->cfi.rows || !img->cfi_failed ? 0 : -1;
	img->cfi_tried = 1;
	char sub[256];
	int fd = open_regular(path, sub, sizeof(sub));
	if (fd < 0) {
		snprintf(err, errlen, "%s", sub);
		img->cfi_failed = 1;
		return -1;
	}
	uint32_t end = img->callouts_start > img->text_start &&
		       img->callouts_start < img->text_end ? img->callouts_start : img->text_end;
	int rc = cfi_load(&img->cfi, fd, img->text_start, end, sub, sizeof(sub));
	close(fd);
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", path, sub);
		img->cfi_failed = 1;
	}
	return rc;
}

void image_free(struct image *img)
{
	for (size_t i = 0; i < img->nsyms; i++)
		free(img->syms[i].name);
	free(img->syms);
	free(img->by_name);
	for (size_t i = 0; i < img->nabs_sizes; i++)
		free(img->abs_sizes[i].name);
	free(img->abs_sizes);
	free(img->tables);
	free(img->accesses);
	free(img->insn_size);
	free(img->extable);
	free(img->bytes);
	cfi_free(&img->cfi);
	memset(img, 0, sizeof(*img));
}

uint32_t image_symbol(const struct image *img, const char *name)
{
	/* the first of the names equal to name: the lowest address */
	size_t n = img->by_name ? img->nsyms : 0, lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(img->by_name[mid]->name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && !strcmp(img->by_name[lo]->name, name) ?
	       img->by_name[lo]->addr : 0;
}

const struct image_symbol *image_symbol_at(const struct image *img, uint32_t addr)
{
	size_t lo = 0, hi = img->nsyms;
	if (!img->nsyms || addr < img->syms[0].addr)
		return NULL;
	/* last symbol with addr <= addr; among equal addresses prefer the
	 * first name that is not a local label (names starting with '.') */
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;
		if (img->syms[mid].addr <= addr)
			lo = mid;
		else
			hi = mid;
	}
	size_t best = lo;
	while (best > 0 && img->syms[best - 1].addr == img->syms[lo].addr)
		best--;
	for (size_t i = best; i < img->nsyms && img->syms[i].addr == img->syms[lo].addr; i++)
		if (img->syms[i].name[0] != '.' && strncmp(img->syms[i].name, "__", 2))
			return &img->syms[i];
	return &img->syms[best];
}

static int key_cmp(const void *key, const void *elem)
{
	uint32_t a = *(const uint32_t *)key, b;
	memcpy(&b, elem, sizeof(b));		/* every element leads with its key */
	return a < b ? -1 : a > b;
}

const void *image_find_sorted(const void *base, size_t n, size_t size, uint32_t key)
{
	return n ? bsearch(&key, base, n, size, key_cmp) : NULL;
}

const struct extable_entry *image_extable_find(const struct image *img, uint32_t insn)
{
	return image_find_sorted(img->extable, img->nextable, sizeof(*img->extable), insn);
}
