/*
 * One qemu-system-i386 process for the oracle: started stopped (-S) with
 * its gdbstub on a private unix socket, its RAM a shared file the oracle
 * maps (reads need no round trip), its interrupt log (-d int) beside it.
 * Killed and cleaned up by qemu_stop(), which every exit path calls.
 */
#ifndef ENTRYEMU_ORACLE_QEMU_H
#define ENTRYEMU_ORACLE_QEMU_H

#include "oracle/gdbwire.h"

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define QEMU_RAM_SIZE (64u << 20)

struct qemu {
	pid_t pid;
	char dir[64];			/* /dev/shm/entryemu-oracle-XXXXXX */
	char sock[96], ram[96], log[96], out[96];
	uint8_t *mem;			/* the guest's RAM, QEMU_RAM_SIZE bytes */
	struct gdbwire gw;
	int kvm;			/* runs under KVM (else TCG) */
	FILE *intlog;			/* the -d int log, read as it grows */
};

/* The first qemu-system-i386 on PATH (or $ENTRYEMU_QEMU) into buf. */
const char *qemu_find(char *buf, size_t len);
/*
 * Whether KVM can run the project's protected-mode guests here: /dev/kvm
 * opens and creates a VM, and the probe kernel (a ring-3 int $0x80 round
 * trip, tools/qemu-boot.S) completes under -accel kvm.  why says what
 * failed.
 */
int qemu_kvm_usable(const char *qemu, const char *probe_elf, char *why, size_t len);
/* Start QEMU on the stub, stopped, and connect to its gdbstub. */
int qemu_start(struct qemu *q, const char *qemu, const char *stub_elf, int kvm,
	       unsigned timeout_ms, char *err, size_t len);
void qemu_stop(struct qemu *q);

#endif
