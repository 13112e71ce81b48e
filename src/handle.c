/* Handle lifecycle, version, error names and the bundled image paths. */
#define _GNU_SOURCE 1
#include "run/run.h"
#include "run/gdb.h"

#include <dlfcn.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#ifndef ENTRYEMU_IMAGE_DIR
#define ENTRYEMU_IMAGE_DIR "."
#endif

#define STR_(x) #x
#define STR(x) STR_(x)

unsigned entryemu_version(void)
{
	return (ENTRYEMU_VERSION_MAJOR << 16) | (ENTRYEMU_VERSION_MINOR << 8) |
	       ENTRYEMU_VERSION_PATCH;
}

const char *entryemu_version_string(void)
{
	return STR(ENTRYEMU_VERSION_MAJOR) "." STR(ENTRYEMU_VERSION_MINOR) "."
		STR(ENTRYEMU_VERSION_PATCH);
}

const char *entryemu_strerror(int code)
{
	switch (code) {
	case ENTRYEMU_OK: return "success";
	case ENTRYEMU_E_NOMEM: return "out of memory";
	case ENTRYEMU_E_INVAL: return "invalid argument";
	case ENTRYEMU_E_IMAGE: return "bad kernel image";
	case ENTRYEMU_E_ENGINE: return "CPU emulator failure";
	case ENTRYEMU_E_IO: return "I/O error";
	case ENTRYEMU_E_SCENARIO: return "bad scenario";
	case ENTRYEMU_E_NOENT: return "no such symbol";
	default: return "unknown error";
	}
}

static const char *fit(char *buf, size_t len, const char *fmt, const char *a, const char *b)
{
	if (!buf || !len)
		return NULL;
	int n = snprintf(buf, len, fmt, a, b);
	return n >= 0 && (size_t)n < len ? buf : NULL;
}

/*
 * The images sit in share/entryemu beside the lib/ or bin/ directory the
 * code was loaded from, in the build tree and in an installed prefix
 * alike; failing that, where the build configured them.  Found afresh
 * on every call: no static state.
 */
const char *entryemu_image_dir(char *buf, size_t len)
{
	const char *dir = getenv("ENTRYEMU_IMAGE_DIR");
	if (dir && *dir)
		return fit(buf, len, "%s%s", dir, "");
	Dl_info info;
	char found[4096], probe[4200];
	found[0] = 0;
	if (dladdr((void *)entryemu_image_dir, &info) && info.dli_fname)
		snprintf(found, sizeof(found), "%s", info.dli_fname);
	if (!strchr(found, '/')) {
		/* linked into a program found on PATH: dladdr names no directory */
		ssize_t n = readlink("/proc/self/exe", found, sizeof(found) - 1);
		found[n > 0 ? n : 0] = 0;
	}
	char *slash = strrchr(found, '/');
	if (slash) {
		*slash = 0;
		snprintf(probe, sizeof(probe), "%s/../share/entryemu/entry-post.elf", found);
		if (!access(probe, R_OK))
			return fit(buf, len, "%s%s", found, "/../share/entryemu");
	}
	return fit(buf, len, "%s%s", ENTRYEMU_IMAGE_DIR, "");
}

const char *entryemu_image_named(const char *name, char *buf, size_t len)
{
	char dir[4096];
	if (!name || !entryemu_image_dir(dir, sizeof(dir)))
		return NULL;
	return fit(buf, len, "%s/entry-%s.elf", dir, name);
}

const char *entryemu_image_path(enum entryemu_variant v, char *buf, size_t len)
{
	if (v != ENTRYEMU_POST_PATCH && v != ENTRYEMU_PRE_PATCH)
		return NULL;
	return entryemu_image_named(v == ENTRYEMU_PRE_PATCH ? "pre" : "post", buf, len);
}

/* One Capstone handle for mode, unless *h holds one already (taken over with the engine). */
static int open_decoder(csh *h, cs_mode mode, int detail, int att)
{
	if (*h)
		return 0;
	if (cs_open(CS_ARCH_X86, mode, h) != CS_ERR_OK)
		return -1;
	if (detail)
		cs_option(*h, CS_OPT_DETAIL, CS_OPT_ON);
	if (att)
		cs_option(*h, CS_OPT_SYNTAX, CS_OPT_SYNTAX_ATT);
	return 0;
}

/*
 * The machine's Capstone handles, unless it took them over with the
 * engine (open_on): a handle builds its instruction tables at its first
 * decode, about 90,000 host instructions each, which a replay on four
 * images paid for six handles each time.
 */
static int open_decoders(entryemu *m)
{
	if (open_decoder(&m->cs, CS_MODE_32, 1, 0) || open_decoder(&m->cs16, CS_MODE_16, 1, 0) ||
	    open_decoder(&m->cs_att, CS_MODE_32, 1, 1) ||
	    open_decoder(&m->cs16_att, CS_MODE_16, 1, 1) ||
	    open_decoder(&m->cs_count, CS_MODE_32, 0, 0) ||
	    open_decoder(&m->cs_count16, CS_MODE_16, 0, 0) ||
	    (!m->count_insn && !(m->count_insn = cs_malloc(m->cs_count)))) {
		machine_set_error(m, "cs_open failed");
		return -1;
	}
	return 0;
}

/* from's Capstone handles, to m (which has none yet) */
static void take_decoders(entryemu *m, entryemu *from)
{
	m->cs = from->cs;
	m->cs16 = from->cs16;
	m->cs_att = from->cs_att;
	m->cs16_att = from->cs16_att;
	m->cs_count = from->cs_count;
	m->cs_count16 = from->cs_count16;
	m->count_insn = from->count_insn;
	from->cs = from->cs16 = from->cs_att = from->cs16_att = 0;
	from->cs_count = from->cs_count16 = 0;
	from->count_insn = NULL;
}

static int open_engine(entryemu *m, const char *image_path)
{
	snprintf(m->image_path, sizeof(m->image_path), "%s", image_path);
	if (image_load(&m->img, image_path, m->err, sizeof(m->err)) < 0)
		return ENTRYEMU_E_IMAGE;
	int erc = m->eng ? 0 : engine_open(&m->eng, m->err, sizeof(m->err));
	if (erc)
		return erc == ENGINE_E_NOMEM ? ENTRYEMU_E_NOMEM : ENTRYEMU_E_ENGINE;
	if (open_decoders(m))
		return ENTRYEMU_E_ENGINE;
	int found = image_find_accesses(&m->img, m->cs, m->err, sizeof(m->err));
	if (found < 0)
		return found == -2 ? ENTRYEMU_E_IMAGE : ENTRYEMU_E_NOMEM;
	int rc;
	if ((rc = callouts_init(m)) || (rc = run_install_hooks(m)) || (rc = machine_build(m)))
		return rc;
	kernel_install_defaults(m);
	return checks_image(m);
}

/*
 * A machine on image_path; with from, on from's engine and guest memory,
 * and from is closed (whatever happens).
 */
static int open_on(entryemu **out, const char *image_path, entryemu *from, char *err,
		   size_t errlen)
{
	entryemu *m = calloc(1, sizeof(*m));
	if (m && from) {
		/* while from's memory is still there for the engine to let go of */
		if (from->eng && engine_recycle(from->eng, TLB_SCRATCH) == 0) {
			m->eng = from->eng;
			from->eng = NULL;
			machine_take_arena(m, from);
			take_decoders(m, from);
		}
	}
	entryemu_close(from);
	if (!m) {
		if (err && errlen)
			snprintf(err, errlen, "out of memory");
		return ENTRYEMU_E_NOMEM;
	}
	int rc = open_engine(m, image_path);
	if (rc) {
		if (err && errlen)
			snprintf(err, errlen, "%s", m->err[0] ? m->err : entryemu_strerror(rc));
		entryemu_close(m);
		return rc;
	}
	*out = m;
	return 0;
}

int entryemu_open(entryemu **out, const char *image_path, char *err, size_t errlen)
{
	if (out)
		*out = NULL;
	if (err && errlen)
		err[0] = 0;
	if (!out || !image_path) {
		if (err && errlen)
			snprintf(err, errlen, "entryemu_open: %s is NULL", out ? "image_path" : "out");
		return ENTRYEMU_E_INVAL;
	}
	return open_on(out, image_path, NULL, err, errlen);
}

int entryemu_reopen(entryemu **pm, const char *image_path, char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = 0;
	if (!pm || !*pm || !image_path) {
		if (err && errlen)
			snprintf(err, errlen, "entryemu_reopen: %s is NULL",
				 !pm ? "m" : !*pm ? "*m" : "image_path");
		return ENTRYEMU_E_INVAL;
	}
	entryemu *old = *pm;
	*pm = NULL;
	return open_on(pm, image_path, old, err, errlen);
}

void entryemu_close(entryemu *m)
{
	if (!m)
		return;
	gdb_close(m);
	engine_ctx_free(m->user_ctx);
	engine_close(m->eng);
	if (m->cs)
		cs_close(&m->cs);
	if (m->cs16)
		cs_close(&m->cs16);
	if (m->cs_att)
		cs_close(&m->cs_att);
	if (m->cs16_att)
		cs_close(&m->cs16_att);
	if (m->count_insn)
		cs_free(m->count_insn, 1);
	if (m->cs_count)
		cs_close(&m->cs_count);
	if (m->cs_count16)
		cs_close(&m->cs_count16);
	callouts_free(m);
	entryemu_set_labels(m, NULL, 0);
	free(m->disasm_lines);
	free(m->ucode_src);
	machine_unmap(m);
	image_free(&m->img);
	for (size_t i = 0; i < m->nimage_findings; i++)
		free((char *)m->image_findings[i].text);
	free(m->image_findings);
	free(m);
}
