/*
 * Starting, probing and stopping qemu-system-i386.  The child dies with
 * its parent (PR_SET_PDEATHSIG), and qemu_stop() kills and reaps it, so
 * no QEMU outlives the command that started it.
 */
#define _GNU_SOURCE 1
#include "oracle/qemu.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *qemu_find(char *buf, size_t len)
{
	const char *env = getenv("ENTRYEMU_QEMU");
	if (env && *env) {
		snprintf(buf, len, "%s", env);
		return access(buf, X_OK) == 0 ? buf : NULL;
	}
	const char *path = getenv("PATH");
	while (path && *path) {
		const char *end = strchr(path, ':');
		size_t n = end ? (size_t)(end - path) : strlen(path);
		if (n && (size_t)snprintf(buf, len, "%.*s/qemu-system-i386", (int)n, path) < len &&
		    access(buf, X_OK) == 0)
			return buf;
		path = end ? end + 1 : NULL;
	}
	return NULL;
}

/* fork + exec argv with output to out (or /dev/null); the child dies with us. */
static pid_t spawn(const char *bin, char *const argv[], const char *out)
{
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	int in = open("/dev/null", O_RDONLY);
	int o = open(out ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (in >= 0)
		dup2(in, 0);
	if (o >= 0) {
		dup2(o, 1);
		dup2(o, 2);
	}
	execv(bin, argv);
	_exit(127);
}

/* Wait for pid at most ms; kill it past that.  Its status, or -1. */
static int wait_bounded(pid_t pid, unsigned ms)
{
	int status = 0;
	for (unsigned t = 0; t < ms; t += 10) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		if (r < 0)
			return -1;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

int qemu_kvm_usable(const char *qemu, const char *probe_elf, char *why, size_t len)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, len, "/dev/kvm: %s", strerror(errno));
		return 0;
	}
	int api = ioctl(fd, KVM_GET_API_VERSION, 0);
	int vm = api == KVM_API_VERSION ? ioctl(fd, KVM_CREATE_VM, 0) : -1;
	if (vm < 0) {
		snprintf(why, len, "/dev/kvm: %s", api != KVM_API_VERSION ?
			 "unexpected API version" : "KVM_CREATE_VM failed");
		close(fd);
		return 0;
	}
	close(vm);
	close(fd);
	/*
	 * A VM is not enough: a paravirtual /dev/kvm emulates a 32-bit guest's
	 * instructions and cannot run a protected-mode int n / iret.  The
	 * probe kernel makes exactly that round trip and reports it through
	 * isa-debug-exit (status 0x31 * 2 + 1).
	 */
	char *argv[] = { (char *)qemu, "-kernel", (char *)probe_elf, "-display", "none",
			 "-nodefaults", "-no-reboot", "-accel", "kvm", "-cpu", "host", "-m", "16",
			 "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", NULL };
	pid_t pid = spawn(qemu, argv, NULL);
	if (pid < 0) {
		snprintf(why, len, "cannot run %s", qemu);
		return 0;
	}
	int st = wait_bounded(pid, 5000);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != ((0x31 << 1) | 1)) {
		snprintf(why, len, "/dev/kvm cannot run the protected-mode probe guest "
			 "(a ring-3 int $0x80 round trip)");
		return 0;
	}
	return 1;
}

int qemu_start(struct qemu *q, const char *qemu, const char *stub_elf, int kvm,
	       unsigned timeout_ms, char *err, size_t len)
{
	memset(q, 0, sizeof(*q));
	q->pid = -1;
	q->gw.fd = -1;
	snprintf(q->dir, sizeof(q->dir), "/dev/shm/entryemu-oracle-XXXXXX");
	if (!mkdtemp(q->dir)) {
		snprintf(q->dir, sizeof(q->dir), "/tmp/entryemu-oracle-XXXXXX");
		if (!mkdtemp(q->dir)) {
			snprintf(err, len, "cannot make a directory for QEMU: %s", strerror(errno));
			q->dir[0] = 0;
			return -1;
		}
	}
	snprintf(q->sock, sizeof(q->sock), "%s/gdb", q->dir);
	snprintf(q->ram, sizeof(q->ram), "%s/ram", q->dir);
	snprintf(q->log, sizeof(q->log), "%s/int.log", q->dir);
	snprintf(q->out, sizeof(q->out), "%s/qemu.out", q->dir);
	int rfd = open(q->ram, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (rfd < 0 || ftruncate(rfd, QEMU_RAM_SIZE)) {
		snprintf(err, len, "%s: %s", q->ram, strerror(errno));
		if (rfd >= 0)
			close(rfd);
		qemu_stop(q);
		return -1;
	}
	void *map = mmap(NULL, QEMU_RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, rfd, 0);
	close(rfd);
	if (map == MAP_FAILED) {
		snprintf(err, len, "mmap %s: %s", q->ram, strerror(errno));
		qemu_stop(q);
		return -1;
	}
	q->mem = map;
	char gdb[160], obj[200];
	snprintf(gdb, sizeof(gdb), "unix:%s,server=on,wait=off", q->sock);
	snprintf(obj, sizeof(obj), "memory-backend-file,id=ram,size=%uM,mem-path=%s,share=on",
		 QEMU_RAM_SIZE >> 20, q->ram);
	q->kvm = kvm;
	/* qemu64: the CPU model Unicorn emulates by default */
	char *argv[] = { (char *)qemu, "-S", "-gdb", gdb, "-display", "none", "-nodefaults",
			 "-no-reboot", "-M", "pc", "-cpu", kvm ? "host" : "qemu64",
			 "-accel", kvm ? "kvm" : "tcg", "-m", "64", "-object", obj,
			 "-machine", "memory-backend=ram", "-kernel", (char *)stub_elf,
			 "-d", "int", "-D", q->log, NULL };
	q->pid = spawn(qemu, argv, q->out);
	if (q->pid < 0) {
		snprintf(err, len, "cannot start %s: %s", qemu, strerror(errno));
		qemu_stop(q);
		return -1;
	}
	if (gw_connect(&q->gw, q->sock, timeout_ms)) {
		snprintf(err, len, "%s (QEMU's messages: %s)", q->gw.err, q->out);
		qemu_stop(q);
		return -1;
	}
	return 0;
}

void qemu_stop(struct qemu *q)
{
	gw_close(&q->gw);
	if (q->pid > 0) {
		kill(q->pid, SIGKILL);
		waitpid(q->pid, NULL, 0);
		q->pid = -1;
	}
	if (q->intlog)
		fclose(q->intlog);
	q->intlog = NULL;
	if (q->mem)
		munmap(q->mem, QEMU_RAM_SIZE);
	q->mem = NULL;
	if (q->dir[0] && getenv("ENTRYEMU_ORACLE_KEEP")) {
		fprintf(stderr, "oracle: QEMU's files kept in %s\n", q->dir);
		q->dir[0] = 0;
	}
	if (q->dir[0]) {
		unlink(q->sock);
		unlink(q->ram);
		unlink(q->log);
		unlink(q->out);
		rmdir(q->dir);
		q->dir[0] = 0;
	}
}
