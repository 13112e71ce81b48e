/*
 * The reference entryemu is meant to beat: booting a test kernel.  A
 * one-page multiboot kernel (tools/qemu-boot.S) reaches ring 3, makes
 * one int $0x80 round trip and leaves through the isa-debug-exit port;
 * this times the whole qemu-system-i386 process, as a test script would
 * run it.
 */
#define _GNU_SOURCE 1
#include "bench.h"
#include "cli.h"

#include <entryemu/oracle.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

double bench_qemu_boot_ms(const char *kernel, int n, char *why, size_t len)
{
	char qemu[4096];
	if (!entryemu_oracle_qemu_path(qemu, sizeof(qemu))) {
		snprintf(why, len, "qemu-system-i386 is not on PATH");
		return -1;
	}
	if (access(kernel, R_OK)) {
		snprintf(why, len, "no %s", kernel);
		return -1;
	}
	double t[32];
	if (n > 32)
		n = 32;
	for (int i = 0; i < n; i++) {
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		/* TCG: software emulation, the same CPU model for everyone */
		char *argv[] = { (char *)qemu, "-kernel", (char *)kernel, "-display", "none",
				 "-nodefaults", "-no-reboot", "-accel", "tcg", "-m", "16",
				 "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", NULL };
		pid_t pid = spawn_quiet(qemu, argv);
		int status = 0;
		if (pid < 0 || waitpid(pid, &status, 0) != pid) {
			snprintf(why, len, "cannot run %s", qemu);
			return -1;
		}
		clock_gettime(CLOCK_MONOTONIC, &b);
		t[i] = ((double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6);
		/* isa-debug-exit: status (0x31 << 1) | 1 says the round trip completed */
		if (!WIFEXITED(status) || WEXITSTATUS(status) != ((0x31 << 1) | 1)) {
			snprintf(why, len, "the test kernel did not report its round trip "
				 "(status 0x%x)", status);
			return -1;
		}
	}
	return bench_median(t, n);
}
