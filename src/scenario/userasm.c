/* Assembling a scenario's user code with GNU as. */
#include "userasm.h"

#include <entryemu/entryemu.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* First "file:LINE: Error: msg" of the assembler's output. */
static void first_error(const char *out, const char *src, char *err, size_t errlen,
			int *line)
{
	size_t sl = strlen(src);
	for (const char *p = out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncmp(p, src, sl) || p[sl] != ':')
			continue;
		char *end;
		long l = strtol(p + sl + 1, &end, 10);
		if (end == p + sl + 1 || *end != ':')
			continue;
		const char *msg = end + 1;
		while (*msg == ' ')
			msg++;
		if (!strncmp(msg, "Error: ", 7))
			msg += 7;
		size_t n = strcspn(msg, "\n");
		snprintf(err, errlen, "%.*s", (int)n, msg);
		*line = (int)l;
		return;
	}
	snprintf(err, errlen, "the assembler failed: %.200s", out);
	*line = 0;
}

/*
 * The assembler runs scenario text someone else wrote: `.rept 100000000`
 * took 137 s and 2.9 GB, `.fill 0x7fffffff` 2.1 GB.  It runs
 * in a child with limits on CPU time, address space and the size of any
 * file it writes (the object, its messages), and is killed after a
 * wall-clock timeout (a child blocked on something uses no CPU).  User
 * code is at most ENTRYEMU_USER_CODE_MAX bytes, which GNU as assembles
 * in milliseconds within a few MiB: the limits leave two orders of
 * magnitude of margin for a loaded machine.
 */
#define AS_CPU_SECONDS		2
#define AS_WALL_MS		1500
#define AS_MEMORY_BYTES		(512ul << 20)
#define AS_OUTPUT_BYTES		(4ul << 20)

static void limit(int resource, rlim_t v)
{
	struct rlimit rl = { v, v };
	setrlimit(resource, &rl);
}

static int run_as(const char *src, const char *obj, char *err, size_t errlen, int *line)
{
	char outpath[] = "/tmp/entryemu-as-XXXXXX";
	int ofd = mkstemp(outpath);
	if (ofd < 0) {
		snprintf(err, errlen, "cannot create a temporary file");
		return -1;
	}
	char *argv[] = { "as", "--32", "-o", (char *)obj, (char *)src, NULL };
	pid_t pid = fork();
	if (pid == 0) {
		/* the child: only async-signal-safe calls until exec */
		dup2(ofd, 1);
		dup2(ofd, 2);
		limit(RLIMIT_CPU, AS_CPU_SECONDS);
		limit(RLIMIT_AS, AS_MEMORY_BYTES);
		limit(RLIMIT_FSIZE, AS_OUTPUT_BYTES);
		limit(RLIMIT_CORE, 0);
		execvp("as", argv);
		_exit(127);
	}
	int status = 0, timed_out = 0;
	if (pid > 0) {
		/* wait, polling, for at most AS_WALL_MS; then kill it */
		struct timespec t0, now, nap = { 0, 1000000 };
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (;;) {
			pid_t w = waitpid(pid, &status, WNOHANG);
			if (w == pid || (w < 0 && errno != EINTR))
				break;
			clock_gettime(CLOCK_MONOTONIC, &now);
			long ms = (now.tv_sec - t0.tv_sec) * 1000 +
				  (now.tv_nsec - t0.tv_nsec) / 1000000;
			if (ms > AS_WALL_MS) {
				kill(pid, SIGKILL);
				while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
					;
				timed_out = 1;
				break;
			}
			if (nap.tv_nsec < 16000000)
				nap.tv_nsec *= 2;	/* 1, 2, 4, 8, 16 ms: quick for quick runs */
			nanosleep(&nap, NULL);
		}
	}
	char out[4096] = "";
	lseek(ofd, 0, SEEK_SET);
	ssize_t n = read(ofd, out, sizeof(out) - 1);
	out[n > 0 ? n : 0] = 0;
	close(ofd);
	unlink(outpath);
	*line = 0;
	if (pid < 0 || (WIFEXITED(status) && WEXITSTATUS(status) == 127)) {
		snprintf(err, errlen, "cannot run the GNU assembler 'as' (binutils)");
		return -1;
	}
	if (timed_out || WIFSIGNALED(status) || strstr(out, "memory exhausted") ||
	    strstr(out, "out of memory") || strstr(out, "File size limit")) {
		snprintf(err, errlen, "the assembler exceeded its limits (%d s CPU, %d ms, "
			 "%lu MiB memory, %lu MiB output): user code is at most %u bytes",
			 AS_CPU_SECONDS, AS_WALL_MS, AS_MEMORY_BYTES >> 20, AS_OUTPUT_BYTES >> 20,
			 ENTRYEMU_USER_CODE_MAX - 5);
		return -1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		first_error(out, src, err, errlen, line);
		return -1;
	}
	return 0;
}

/* .text bytes, labels, and R_386_32 relocations against .text. */
static int read_object(const char *obj, struct user_code *c, char *err, size_t errlen)
{
	int fd = open(obj, O_RDONLY);
	if (fd < 0) {
		snprintf(err, errlen, "cannot read the assembled code");
		return -1;
	}
	elf_version(EV_CURRENT);
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	int rc = -1;
	size_t shstrndx;
	Elf_Scn *text = NULL, *symtab = NULL, *reltext = NULL;
	size_t text_idx = 0;
	if (!elf || elf_getshdrstrndx(elf, &shstrndx))
		goto out;
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn));) {
		GElf_Shdr sh;
		gelf_getshdr(scn, &sh);
		const char *name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name)
			continue;
		if (!strcmp(name, ".text")) {
			text = scn;
			text_idx = elf_ndxscn(scn);
		} else if (sh.sh_type == SHT_SYMTAB) {
			symtab = scn;
		} else if (!strcmp(name, ".rel.text")) {
			reltext = scn;
		} else if ((sh.sh_flags & SHF_ALLOC) && sh.sh_size &&
			   strcmp(name, ".note.GNU-stack")) {
			snprintf(err, errlen, "only .text is supported (found %s): "
				 "put data after the instructions", name);
			goto out;
		}
	}
	if (!text) {
		snprintf(err, errlen, "no .text");
		goto out;
	}
	Elf_Data *td = elf_getdata(text, NULL);
	c->len = td ? td->d_size : 0;
	if (c->len > ENTRYEMU_USER_CODE_MAX - 5) {
		snprintf(err, errlen, "%zu bytes, at most %u", c->len,
			 ENTRYEMU_USER_CODE_MAX - 5);
		goto out;
	}
	c->bytes = calloc(1, c->len ? c->len : 1);
	if (!c->bytes)
		goto out;
	if (c->len)
		memcpy(c->bytes, td->d_buf, c->len);

	GElf_Shdr symsh;
	Elf_Data *sd = symtab ? elf_getdata(symtab, NULL) : NULL;
	size_t nsyms = 0;
	if (sd) {
		gelf_getshdr(symtab, &symsh);
		nsyms = symsh.sh_size / symsh.sh_entsize;
		c->labels = calloc(nsyms ? nsyms : 1, sizeof(*c->labels));
		if (!c->labels)
			goto out;
		for (size_t i = 0; i < nsyms; i++) {
			GElf_Sym s;
			gelf_getsym(sd, (int)i, &s);
			const char *n = elf_strptr(elf, symsh.sh_link, s.st_name);
			if (!n || !*n || s.st_shndx != text_idx ||
			    GELF_ST_TYPE(s.st_info) == STT_SECTION)
				continue;
			c->labels[c->nlabels].name = strdup(n);
			c->labels[c->nlabels].addr = ENTRYEMU_USER_CODE + (uint32_t)s.st_value;
			c->nlabels++;
		}
	}
	if (reltext) {
		/*
		 * Relocations left by as: R_386_32 (absolute) and R_386_PC32
		 * (relative) against the code's own labels or absolute
		 * addresses ("call 0xffffe400"), resolved with the code at
		 * ENTRYEMU_USER_CODE.  The addend is in place (REL).
		 */
		GElf_Shdr rsh;
		gelf_getshdr(reltext, &rsh);
		Elf_Data *rd = elf_getdata(reltext, NULL);
		for (size_t i = 0; rd && i < rsh.sh_size / rsh.sh_entsize; i++) {
			GElf_Rel r;
			gelf_getrel(rd, (int)i, &r);
			GElf_Sym sym = { 0 };
			size_t si = GELF_R_SYM(r.r_info);
			unsigned type = GELF_R_TYPE(r.r_info);
			int ok = r.r_offset + 4 <= c->len && (type == R_386_32 || type == R_386_PC32);
			uint32_t S = 0;
			if (ok && si) {
				ok = sd && si < nsyms && gelf_getsym(sd, (int)si, &sym) &&
				     (sym.st_shndx == text_idx || sym.st_shndx == SHN_ABS);
				if (ok)
					S = (uint32_t)sym.st_value +
					    (sym.st_shndx == text_idx ? ENTRYEMU_USER_CODE : 0);
			}
			if (!ok) {
				const char *n = si && sd && si < nsyms ?
						elf_strptr(elf, symsh.sh_link, sym.st_name) : NULL;
				snprintf(err, errlen, "reference to '%s' cannot be resolved: only "
					 "labels of the code itself and absolute addresses can be used",
					 n && *n ? n : "?");
				goto out;
			}
			uint32_t v, P = ENTRYEMU_USER_CODE + (uint32_t)r.r_offset;
			memcpy(&v, c->bytes + r.r_offset, 4);
			v += type == R_386_PC32 ? S - P : S;
			memcpy(c->bytes + r.r_offset, &v, 4);
		}
	}
	rc = 0;
out:
	if (rc < 0 && !err[0])
		snprintf(err, errlen, "cannot read the assembled object");
	if (elf)
		elf_end(elf);
	close(fd);
	return rc;
}

/* ---- a cache of assembled code ----------------------------------------------- */

/*
 * Running the assembler costs milliseconds; the result depends only on
 * the text (and the assembler).  It is kept in $ENTRYEMU_CACHE_DIR, else
 * $XDG_CACHE_HOME/entryemu, else ~/.cache/entryemu, under the text's
 * 64-bit FNV-1a hash; the file holds the text too, so a collision is a
 * miss.  Any failure just means assembling again.
 */
static int cache_path(const char *text, char *path, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (const char *p = text; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
	const char *dir = getenv("ENTRYEMU_CACHE_DIR"), *base = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");
	if (dir && *dir)
		snprintf(path, len, "%s", dir);
	else if (base && *base)
		snprintf(path, len, "%s/entryemu", base);
	else if (home && *home)
		snprintf(path, len, "%s/.cache/entryemu", home);
	else
		return -1;
	size_t n = strlen(path);
	snprintf(path + n, len - n, "/code-%016llx", (unsigned long long)h);
	return 0;
}

static int cache_load(const char *text, struct user_code *c)
{
	char path[4096];
	if (cache_path(text, path, sizeof(path)) < 0)
		return -1;
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	int rc = -1;
	size_t tlen = strlen(text), stored = 0, nl = 0;
	char *t = NULL;
	if (fread(&stored, sizeof(stored), 1, f) != 1 || stored != tlen ||
	    !(t = malloc(tlen + 1)) || fread(t, 1, tlen, f) != tlen || memcmp(t, text, tlen) ||
	    fread(&c->len, sizeof(c->len), 1, f) != 1 || c->len > ENTRYEMU_USER_CODE_MAX ||
	    !(c->bytes = malloc(c->len ? c->len : 1)) ||
	    fread(c->bytes, 1, c->len, f) != c->len ||
	    fread(&nl, sizeof(nl), 1, f) != 1 || nl > 4096 ||
	    !(c->labels = calloc(nl ? nl : 1, sizeof(*c->labels))))
		goto out;
	for (size_t i = 0; i < nl; i++) {
		char name[256];
		size_t ln;
		if (fread(&ln, sizeof(ln), 1, f) != 1 || ln >= sizeof(name) ||
		    fread(name, 1, ln, f) != ln ||
		    fread(&c->labels[i].addr, sizeof(c->labels[i].addr), 1, f) != 1)
			goto out;
		name[ln] = 0;
		if (!(c->labels[i].name = strdup(name)))
			goto out;
		c->nlabels++;
	}
	rc = 0;
out:
	free(t);
	fclose(f);
	if (rc)
		userasm_free(c);
	return rc;
}

static void cache_store(const char *text, const struct user_code *c)
{
	char path[4096], tmp[4200];
	if (cache_path(text, path, sizeof(path)) < 0)
		return;
	char *slash = strrchr(path, '/');
	*slash = 0;
	mkdir(path, 0755);		/* ~/.cache may need creating too */
	char *parent = strrchr(path, '/');
	if (parent && access(path, F_OK)) {
		*parent = 0;
		mkdir(path, 0755);
		*parent = '/';
		mkdir(path, 0755);
	}
	*slash = '/';
	snprintf(tmp, sizeof(tmp), "%s.%d", path, (int)getpid());
	FILE *f = fopen(tmp, "wb");
	if (!f)
		return;
	size_t tlen = strlen(text);
	int ok = fwrite(&tlen, sizeof(tlen), 1, f) == 1 && fwrite(text, 1, tlen, f) == tlen &&
		 fwrite(&c->len, sizeof(c->len), 1, f) == 1 &&
		 fwrite(c->bytes, 1, c->len, f) == c->len &&
		 fwrite(&c->nlabels, sizeof(c->nlabels), 1, f) == 1;
	for (size_t i = 0; ok && i < c->nlabels; i++) {
		size_t ln = strlen(c->labels[i].name);
		ok = fwrite(&ln, sizeof(ln), 1, f) == 1 &&
		     fwrite(c->labels[i].name, 1, ln, f) == ln &&
		     fwrite(&c->labels[i].addr, sizeof(c->labels[i].addr), 1, f) == 1;
	}
	if (fclose(f) || !ok || rename(tmp, path))
		unlink(tmp);
}

int userasm_assemble(const char *text, struct user_code *out, char *err,
		     size_t errlen, int *err_line)
{
	memset(out, 0, sizeof(*out));
	err[0] = 0;
	*err_line = 0;
	if (cache_load(text, out) == 0)
		return 0;
	char src[] = "/tmp/entryemu-code-XXXXXX";
	int fd = mkstemp(src);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create a temporary file");
		return -1;
	}
	char obj[sizeof(src) + 2];
	snprintf(obj, sizeof(obj), "%s.o", src);
	/* code16/32 state and section are fixed: the user code is 32-bit .text */
	int rc = -1;
	if (write_all(fd, text, strlen(text)) || write_all(fd, "\n", 1)) {
		snprintf(err, errlen, "cannot write a temporary file");
		close(fd);
		goto out;
	}
	close(fd);
	if (run_as(src, obj, err, errlen, err_line) == 0 &&
	    read_object(obj, out, err, errlen) == 0) {
		rc = 0;
		cache_store(text, out);
	}
out:
	unlink(src);
	unlink(obj);
	if (rc < 0)
		userasm_free(out);
	return rc;
}

void userasm_free(struct user_code *c)
{
	for (size_t i = 0; i < c->nlabels; i++)
		free(c->labels[i].name);
	free(c->labels);
	free(c->bytes);
	memset(c, 0, sizeof(*c));
}
