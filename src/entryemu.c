/* Handle lifecycle, error names and the bundled image paths. */
#define _GNU_SOURCE 1
#include "checks.h"
#include "machine.h"

#include <dlfcn.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#ifndef ENTRYEMU_IMAGE_DIR
#define ENTRYEMU_IMAGE_DIR "."
#endif

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

/*
 * The images sit in share/entryemu beside the lib/ or bin/ directory the
 * code was loaded from, in the build tree and in an installed prefix
 * alike; failing that, where the build configured them.
 */
const char *entryemu_image_dir(void)
{
	const char *dir = getenv("ENTRYEMU_IMAGE_DIR");
	if (dir && *dir)
		return dir;
	static char found[4096];
	static int looked;
	if (!looked) {
		looked = 1;
		Dl_info info;
		if (dladdr((void *)entryemu_image_dir, &info) && info.dli_fname) {
			char *slash;
			snprintf(found, sizeof(found), "%s", info.dli_fname);
			if ((slash = strrchr(found, '/'))) {
				snprintf(slash, sizeof(found) - (size_t)(slash - found),
					 "/../share/entryemu");
				char probe[4200];
				snprintf(probe, sizeof(probe), "%s/entry-post.elf", found);
				if (access(probe, R_OK))
					found[0] = 0;
			} else {
				found[0] = 0;
			}
		}
	}
	return found[0] ? found : ENTRYEMU_IMAGE_DIR;
}

const char *entryemu_image_named(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/entry-%s.elf", entryemu_image_dir(), name);
	return buf;
}

const char *entryemu_image_path(enum entryemu_variant v)
{
	/* one buffer per variant; every call writes the same text */
	static char post[4096], pre[4096];
	if (v == ENTRYEMU_PRE_PATCH)
		return entryemu_image_named("pre", pre, sizeof(pre));
	return entryemu_image_named("post", post, sizeof(post));
}

int entryemu_open(entryemu **out, const char *image_path)
{
	if (!out || !image_path)
		return ENTRYEMU_E_INVAL;
	*out = NULL;
	entryemu *m = calloc(1, sizeof(*m));
	if (!m)
		return ENTRYEMU_E_NOMEM;
	int rc = ENTRYEMU_E_IMAGE;
	snprintf(m->image_path, sizeof(m->image_path), "%s", image_path);
	if (image_load(&m->img, image_path, m->err, sizeof(m->err)) < 0)
		goto fail;
	rc = ENTRYEMU_E_ENGINE;
	uc_err e = uc_open(UC_ARCH_X86, UC_MODE_32, &m->uc);
	if (e != UC_ERR_OK) {
		machine_set_error(m, "uc_open: %s", uc_strerror(e));
		goto fail;
	}
	if (cs_open(CS_ARCH_X86, CS_MODE_32, &m->cs) != CS_ERR_OK) {
		machine_set_error(m, "cs_open failed");
		goto fail;
	}
	cs_option(m->cs, CS_OPT_DETAIL, CS_OPT_ON);
	if (cs_open(CS_ARCH_X86, CS_MODE_32, &m->cs_count) != CS_ERR_OK ||
	    !(m->count_insn = cs_malloc(m->cs_count))) {
		machine_set_error(m, "cs_open failed");
		goto fail;
	}
	if ((rc = callouts_init(m)) || (rc = run_install_hooks(m)) || (rc = machine_build(m)))
		goto fail;

	kernel_install_defaults(m);
	checks_image(m);
	if ((rc = checks_install_exit_hooks(m))) {
		machine_set_error(m, "cannot watch the image's iret and sysexit instructions");
		goto fail;
	}
	*out = m;
	return 0;
fail:
	*out = m;	/* so entryemu_last_error() can explain; close it */
	return rc;
}

void entryemu_close(entryemu *m)
{
	if (!m)
		return;
	if (m->user_ctx)
		uc_context_free(m->user_ctx);
	if (m->uc)
		uc_close(m->uc);
	if (m->cs)
		cs_close(&m->cs);
	if (m->count_insn)
		cs_free(m->count_insn, 1);
	if (m->cs_count)
		cs_close(&m->cs_count);
	callouts_free(m);
	machine_unmap(m);
	image_free(&m->img);
	free(m->trace);
	free(m);
}
