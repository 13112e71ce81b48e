/*
 * QEMU's interrupt log (-d int), read as it grows: each delivery QEMU
 * starts writes one line "N: v=VV e=EEEE i=I cpl=C IP=CS:EIP pc=... SP=SS:ESP"
 * before its own checks, so a delivery that faults leaves one line for
 * each attempt.  The oracle uses the last line before a handler stop as a
 * cross-check of the vector, error code, software flag and CPL it read
 * from the frame.
 */
#ifndef ENTRYEMU_ORACLE_INTLOG_H
#define ENTRYEMU_ORACLE_INTLOG_H

#include <stdint.h>
#include <stdio.h>

struct intlog {
	FILE *f;
	long pos;			/* read up to here */
};

struct intlog_rec {
	unsigned vector, error, software, cpl;
};

int intlog_open(struct intlog *l, const char *path);
void intlog_close(struct intlog *l);
/* The last delivery logged since the last call into *out: 1, or 0 if none. */
int intlog_last(struct intlog *l, struct intlog_rec *out);

#endif
