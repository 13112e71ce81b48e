/*
 * Where the fuzz targets find the kernel images: ENTRYEMU_IMAGE_DIR if
 * set, else an `entryemu' directory beside the target's binary if it
 * holds them (an OSS-Fuzz $OUT, fuzz/oss-fuzz/build.sh), else the
 * library's own search (the build tree's share/entryemu).
 */
#ifndef FUZZ_IMAGES_H
#define FUZZ_IMAGES_H

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline void fuzz_find_images(void)
{
	const char *env = getenv("ENTRYEMU_IMAGE_DIR");
	char exe[PATH_MAX], dir[PATH_MAX + 32], probe[PATH_MAX + 64];
	if (env && *env)
		return;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return;
	exe[n] = 0;
	char *slash = strrchr(exe, '/');
	if (!slash)
		return;
	*slash = 0;
	snprintf(dir, sizeof(dir), "%s/entryemu", exe);
	snprintf(probe, sizeof(probe), "%s/entry-post.elf", dir);
	if (access(probe, R_OK) == 0)
		setenv("ENTRYEMU_IMAGE_DIR", dir, 1);
}

#endif
