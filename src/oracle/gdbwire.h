/*
 * A client of the GDB remote serial protocol, as much of it as the
 * oracle needs from QEMU's gdbstub: packets without acks, registers one
 * by one, memory, breakpoints, continue and step.  Every read has a
 * deadline; a peer that stops answering is an error, never a hang.
 */
#ifndef ENTRYEMU_ORACLE_GDBWIRE_H
#define ENTRYEMU_ORACLE_GDBWIRE_H

#include <stddef.h>
#include <stdint.h>

#define GW_MAX 8192			/* longest packet handled */

struct gdbwire {
	int fd;
	unsigned timeout_ms;		/* for every reply but a resume's */
	char rb[4096];			/* bytes received, not yet read */
	size_t rpos, rlen;
	char err[256];
};

/* Connect to the unix socket at path, retrying until timeout_ms. */
int gw_connect(struct gdbwire *g, const char *path, unsigned timeout_ms);
void gw_close(struct gdbwire *g);
/* Send pkt, wait for its reply (into reply, NUL-terminated).  -1 on error. */
int gw_cmd(struct gdbwire *g, const char *pkt, char *reply, size_t len);
/* Expect "OK". */
int gw_ok(struct gdbwire *g, const char *pkt);
/*
 * Send a resume packet ("c", "s") and wait up to wait_ms for the stop
 * reply; on timeout interrupt the target (^C) and return 1 (the target
 * is stopped again); 0 on a stop, -1 on error.
 */
int gw_resume(struct gdbwire *g, const char *pkt, unsigned wait_ms, char *reply, size_t len);

/* Registers by QEMU's i386 numbering (target.xml order). */
enum gw_reg {
	GW_EAX, GW_ECX, GW_EDX, GW_EBX, GW_ESP, GW_EBP, GW_ESI, GW_EDI,
	GW_EIP, GW_EFLAGS, GW_CS, GW_SS, GW_DS, GW_ES, GW_FS, GW_GS,
	GW_CR0 = 19, GW_CR2, GW_CR3, GW_CR4,
	GW_NREGS_CORE = 16,
};
int gw_read_reg(struct gdbwire *g, int n, uint32_t *v);
int gw_write_reg(struct gdbwire *g, int n, uint32_t v);
/* The 16 core registers at once ("g"). */
int gw_read_core(struct gdbwire *g, uint32_t out[GW_NREGS_CORE]);
/* Memory writes (addresses as the stub is told: physical here). */
int gw_write_mem(struct gdbwire *g, uint32_t addr, const void *buf, size_t len);
int gw_break(struct gdbwire *g, uint32_t addr, int insert);

#endif
