/*
 * Reading the kernel image.  Loadable segments are copied into one
 * page-aligned buffer; the symbol table gives names for traces and the
 * callout slots; __ex_table is copied and sorted, as the kernel sorts it
 * at boot before its binary search; the entryemu_layout_* symbols give
 * the pt_regs/thread_info/TSS offsets the image was built with.
 */
#include "image/image.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PAGE_MASK 0xfffu

static int cmp_sym(const void *a, const void *b)
{
	const struct image_symbol *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int cmp_ex(const void *a, const void *b)
{
	const struct extable_entry *x = a, *y = b;
	return x->insn < y->insn ? -1 : x->insn > y->insn;
}

static int load_segments(struct image *img, Elf *elf, char *err, size_t errlen)
{
	size_t n;
	if (elf_getphdrnum(elf, &n) != 0 || n == 0) {
		snprintf(err, errlen, "no program headers");
		return -1;
	}
	uint32_t lo = UINT32_MAX, hi = 0;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (ph.p_vaddr < lo)
			lo = (uint32_t)ph.p_vaddr;
		if (ph.p_vaddr + ph.p_memsz > hi)
			hi = (uint32_t)(ph.p_vaddr + ph.p_memsz);
	}
	if (lo >= hi || lo < 0xC0000000u || hi - lo > (16u << 20)) {
		snprintf(err, errlen, "loadable segments span 0x%x-0x%x: expected "
			 "at most 16 MiB above PAGE_OFFSET 0xc0000000", lo, hi);
		return -1;
	}
	img->base = lo & ~PAGE_MASK;
	img->end = (hi + PAGE_MASK) & ~PAGE_MASK;
	img->bytes = calloc(1, img->end - img->base);
	if (!img->bytes) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	size_t fsize;
	char *file = elf_rawfile(elf, &fsize);
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (ph.p_filesz > ph.p_memsz || ph.p_offset + ph.p_filesz > fsize) {
			snprintf(err, errlen, "segment %zu lies outside the file", i);
			return -1;
		}
		memcpy(img->bytes + (ph.p_vaddr - img->base), file + ph.p_offset, ph.p_filesz);
	}
	return 0;
}

static int load_symbols(struct image *img, Elf *elf, Elf_Scn *scn, GElf_Shdr *sh,
			char *err, size_t errlen)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t count = sh->sh_entsize ? sh->sh_size / sh->sh_entsize : 0;
	img->syms = calloc(count ? count : 1, sizeof(*img->syms));
	if (!img->syms) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < count; i++) {
		GElf_Sym s;
		if (!gelf_getsym(data, (int)i, &s))
			continue;
		const char *name = elf_strptr(elf, sh->sh_link, s.st_name);
		if (!name || !*name)
			continue;
		int type = GELF_ST_TYPE(s.st_info);
		if (type == STT_SECTION || type == STT_FILE)
			continue;
		if (s.st_shndx == SHN_ABS) {
			/* exported layout constants */
			struct { const char *n; int *v; } L[] = {
#define F(sym, field) { "entryemu_layout_" #sym, &img->layout.field }
				F(PT_EBX, pt_ebx), F(PT_ECX, pt_ecx), F(PT_EDX, pt_edx),
				F(PT_ESI, pt_esi), F(PT_EDI, pt_edi), F(PT_EBP, pt_ebp),
				F(PT_EAX, pt_eax), F(PT_DS, pt_ds), F(PT_ES, pt_es),
				F(PT_GS, pt_gs), F(PT_ORIG_EAX, pt_orig_eax),
				F(PT_EIP, pt_eip), F(PT_CS, pt_cs), F(PT_EFLAGS, pt_eflags),
				F(PT_OLDESP, pt_oldesp), F(PT_OLDSS, pt_oldss),
				F(PT_SIZE, pt_size), F(TI_flags, ti_flags),
				F(TI_preempt_count, ti_preempt_count),
				F(TI_addr_limit, ti_addr_limit),
				F(TI_sysenter_return, ti_sysenter_return),
				F(TI_SIZE, ti_size), F(TSS_esp0, tss_esp0),
				F(TSS_ss0, tss_ss0), F(TSS_SIZE, tss_size),
				F(THREAD_SIZE, thread_size),
#undef F
			};
			for (size_t k = 0; k < sizeof(L) / sizeof(L[0]); k++)
				if (!strcmp(name, L[k].n))
					*L[k].v = (int)(int32_t)s.st_value;
			continue;
		}
		if (s.st_shndx == SHN_UNDEF)
			continue;
		if (s.st_value < img->base || s.st_value >= img->end)
			continue;
		struct image_symbol *d = &img->syms[img->nsyms];
		d->addr = (uint32_t)s.st_value;
		d->name = strdup(name);
		if (!d->name) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		img->nsyms++;
	}
	qsort(img->syms, img->nsyms, sizeof(*img->syms), cmp_sym);
	return 0;
}

static int load_extable(struct image *img, Elf_Scn *scn, GElf_Shdr *sh,
			char *err, size_t errlen)
{
	if (sh->sh_size % 8) {
		snprintf(err, errlen, "__ex_table size %llu is not a multiple of 8",
			 (unsigned long long)sh->sh_size);
		return -1;
	}
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t n = sh->sh_size / 8;
	img->extable = calloc(n ? n : 1, sizeof(*img->extable));
	if (!img->extable || !data || data->d_size < sh->sh_size) {
		snprintf(err, errlen, "cannot read __ex_table");
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

static int check_layout(const struct image *img, char *err, size_t errlen)
{
	const struct image_layout *l = &img->layout;
	if (l->pt_size <= 0 || l->thread_size <= 0 || l->tss_size <= 0 ||
	    l->ti_size <= 0) {
		snprintf(err, errlen, "the image exports no layout "
			 "(entryemu_layout_PT_SIZE, _THREAD_SIZE, _TSS_SIZE, _TI_SIZE): "
			 "link asm/layout.S built with the same asm-offsets.h");
		return -1;
	}
	if (l->thread_size & (l->thread_size - 1) || l->thread_size > 65536) {
		snprintf(err, errlen, "THREAD_SIZE %d is not a power of two <= 64 KiB",
			 l->thread_size);
		return -1;
	}
	return 0;
}

int image_load(struct image *img, const char *path, char *err, size_t errlen)
{
	memset(img, 0, sizeof(*img));
	img->layout.pt_gs = -1;
	if (elf_version(EV_CURRENT) == EV_NONE) {
		snprintf(err, errlen, "libelf: %s", elf_errmsg(-1));
		return -1;
	}
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot open", path);
		return -1;
	}
	int rc = -1;
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	GElf_Ehdr eh;
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh)) {
		snprintf(err, errlen, "%s: not an ELF file", path);
		goto out;
	}
	if (gelf_getclass(elf) != ELFCLASS32 || eh.e_machine != EM_386) {
		snprintf(err, errlen, "%s: not an ELF32 i386 image", path);
		goto out;
	}
	char sub[256];
	if (load_segments(img, elf, sub, sizeof(sub)) < 0) {
		snprintf(err, errlen, "%s: %s", path, sub);
		goto out;
	}
	size_t shstrndx;
	if (elf_getshdrstrndx(elf, &shstrndx) != 0) {
		snprintf(err, errlen, "%s: no section names", path);
		goto out;
	}
	int have_symtab = 0;
	img->text_start = UINT32_MAX;
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn));) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh))
			continue;
		const char *name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name)
			continue;
		if (sh.sh_type == SHT_SYMTAB) {
			if (load_symbols(img, elf, scn, &sh, sub, sizeof(sub)) < 0) {
				snprintf(err, errlen, "%s: %s", path, sub);
				goto out;
			}
			have_symtab = 1;
		} else if (!strcmp(name, "__ex_table")) {
			if (load_extable(img, scn, &sh, sub, sizeof(sub)) < 0) {
				snprintf(err, errlen, "%s: %s", path, sub);
				goto out;
			}
		} else if (!strcmp(name, ".fixup")) {
			img->fixup_start = (uint32_t)sh.sh_addr;
			img->fixup_end = (uint32_t)(sh.sh_addr + sh.sh_size);
		}
		if ((sh.sh_flags & SHF_EXECINSTR) && sh.sh_size) {
			if (sh.sh_addr < img->text_start)
				img->text_start = (uint32_t)sh.sh_addr;
			if (sh.sh_addr + sh.sh_size > img->text_end)
				img->text_end = (uint32_t)(sh.sh_addr + sh.sh_size);
		}
	}
	if (!have_symtab) {
		snprintf(err, errlen, "%s: no symbol table (was the image stripped?)", path);
		goto out;
	}
	img->callouts_start = image_symbol(img, "__callouts_start");
	img->callouts_end = image_symbol(img, "__callouts_end");
	if (!img->callouts_start || img->callouts_end <= img->callouts_start) {
		snprintf(err, errlen, "%s: no callout slots (__callouts_start/"
			 "__callouts_end): link asm/callouts.S into the image", path);
		goto out;
	}
	if (check_layout(img, sub, sizeof(sub)) < 0) {
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

void image_free(struct image *img)
{
	for (size_t i = 0; i < img->nsyms; i++)
		free(img->syms[i].name);
	free(img->syms);
	free(img->extable);
	free(img->bytes);
	memset(img, 0, sizeof(*img));
}

uint32_t image_symbol(const struct image *img, const char *name)
{
	for (size_t i = 0; i < img->nsyms; i++)
		if (!strcmp(img->syms[i].name, name))
			return img->syms[i].addr;
	return 0;
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

const struct extable_entry *image_extable_find(const struct image *img, uint32_t insn)
{
	size_t lo = 0, hi = img->nextable;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (img->extable[mid].insn == insn)
			return &img->extable[mid];
		if (img->extable[mid].insn < insn)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}
