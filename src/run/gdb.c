/*
 * A GDB remote-serial-protocol server on the emulated CPU, for one run.
 *
 * entryemu_gdb_listen() opens the socket; the next run waits for gdb to
 * connect, stops before its first instruction, and from then on a code
 * hook over every address (installed only for that run) stops wherever
 * gdb asked: at a breakpoint, or after one instruction when it steps.
 * While stopped, the hook itself serves gdb's requests: registers (the
 * i386 set: general registers, EIP, EFLAGS and the six selectors),
 * memory, breakpoints.  Because the model delivers events between
 * instructions, a step from an int $0x80 or a faulting pop lands on the
 * handler's first instruction, in ring 0.  When the run ends gdb hears
 * how: an exit, the signal that killed the task, or an oops (its report
 * goes to gdb's console first).
 */
#define _GNU_SOURCE 1
#include "run/gdb.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_BREAKPOINTS 64

static void session_free(struct entryemu *m);
#define PACKET_MAX 4096

struct gdb_session {
	int listen_fd, fd;
	int stepping, started, detached;
	uint32_t bp[MAX_BREAKPOINTS];
	unsigned nbp;
	char pkt[PACKET_MAX + 1];	/* the request being served */
	char reply[PACKET_MAX + 1];	/* and its answer */
};

/* gdb's i386 register numbers, in the order of its 'g' packet */
static const enum engine_reg gdb_regs[] = {
	ER_EAX, ER_ECX, ER_EDX, ER_EBX, ER_ESP, ER_EBP, ER_ESI, ER_EDI,
	ER_EIP, ER_EFLAGS, ER_CS, ER_SS, ER_DS, ER_ES, ER_FS, ER_GS,
};
#define NREGS ((int)(sizeof(gdb_regs) / sizeof(gdb_regs[0])))

int entryemu_gdb_listen(entryemu *m, const char *host_port, unsigned *port, char *err,
			size_t errlen)
{
	char host[64];
	const char *colon = host_port ? strrchr(host_port, ':') : NULL;
	char *end = NULL;
	long p = colon ? strtol(colon + 1, &end, 10) : -1;
	if (!m || !colon || (size_t)(colon - host_port) >= sizeof(host) || !end || *end ||
	    p < 0 || p > 65535 || m->gdb) {
		if (err && errlen)
			snprintf(err, errlen, "gdb: give HOST:PORT (for example 127.0.0.1:1234)");
		return ENTRYEMU_E_INVAL;
	}
	memcpy(host, host_port, (size_t)(colon - host_port));
	host[colon - host_port] = 0;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)p) };
	if (inet_pton(AF_INET, host[0] ? host : "127.0.0.1", &a.sin_addr) != 1) {
		if (err && errlen)
			snprintf(err, errlen, "gdb: %s is not an IPv4 address", host);
		return ENTRYEMU_E_INVAL;
	}
	struct gdb_session *g = calloc(1, sizeof(*g));
	if (!g)
		return ENTRYEMU_E_NOMEM;
	g->fd = -1;
	int one = 1;
	socklen_t len = sizeof(a);
	g->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (g->listen_fd < 0 ||
	    setsockopt(g->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(g->listen_fd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(g->listen_fd, 1) ||
	    getsockname(g->listen_fd, (struct sockaddr *)&a, &len)) {
		if (err && errlen)
			snprintf(err, errlen, "gdb: %s: %s", host_port, strerror(errno));
		if (g->listen_fd >= 0)
			close(g->listen_fd);
		free(g);
		return ENTRYEMU_E_IO;
	}
	if (port)
		*port = ntohs(a.sin_port);
	m->gdb = g;
	return 0;
}

void gdb_close(struct entryemu *m)
{
	session_free(m);
}

static void session_free(struct entryemu *m)
{
	struct gdb_session *g = m->gdb;
	if (!g)
		return;
	if (g->fd >= 0)
		close(g->fd);
	if (g->listen_fd >= 0)
		close(g->listen_fd);
	free(g);
	m->gdb = NULL;
}

/* ---- packets ------------------------------------------------------------ */

static int put_packet(struct gdb_session *g, const char *data)
{
	char out[PACKET_MAX + 8];
	unsigned sum = 0;
	size_t n = strlen(data);
	if (n > PACKET_MAX)
		n = PACKET_MAX;
	for (size_t i = 0; i < n; i++)
		sum += (unsigned char)data[i];
	int len = snprintf(out, sizeof(out), "$%.*s#%02x", (int)n, data, sum & 0xff);
	return write(g->fd, out, (size_t)len) == len ? 0 : -1;
}

/* The next packet's data into g->pkt, acknowledged; -1 when gdb is gone. */
static int get_packet(struct gdb_session *g)
{
	char c;
	for (;;) {
		do {
			if (read(g->fd, &c, 1) != 1)
				return -1;
		} while (c != '$');	/* acks, and the ^C of an interrupt */
		size_t n = 0;
		unsigned sum = 0;
		for (;;) {
			if (read(g->fd, &c, 1) != 1)
				return -1;
			if (c == '#')
				break;
			if (n < PACKET_MAX)
				g->pkt[n++] = c;
			sum += (unsigned char)c;
		}
		char cs[3] = { 0 };
		if (read(g->fd, cs, 2) != 2)
			return -1;
		g->pkt[n] = 0;
		if (strtoul(cs, NULL, 16) == (sum & 0xff)) {
			if (write(g->fd, "+", 1) != 1)
				return -1;
			return 0;
		}
		if (write(g->fd, "-", 1) != 1)	/* resend, please */
			return -1;
	}
}

static void hex_le32(char *out, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		sprintf(out + 2 * i, "%02x", (v >> (8 * i)) & 0xff);
}

static uint32_t parse_le32(const char *s)
{
	uint32_t v = 0;
	for (int i = 0; i < 4 && s[2 * i] && s[2 * i + 1]; i++) {
		char b[3] = { s[2 * i], s[2 * i + 1], 0 };
		v |= (uint32_t)strtoul(b, NULL, 16) << (8 * i);
	}
	return v;
}

/* ---- requests ------------------------------------------------------------ */

static void read_registers(struct entryemu *m, char *out)
{
	uint32_t v[NREGS];
	engine_regs(m->eng, gdb_regs, v, NREGS);
	for (int i = 0; i < NREGS; i++)
		hex_le32(out + 8 * i, v[i]);
	out[8 * NREGS] = 0;
}

/*
 * A register write.  EIP cannot move under a running instruction stream
 * from inside a hook; the others take effect at once.
 */
static int write_register(struct entryemu *m, int n, uint32_t v)
{
	if (n < 0 || n >= NREGS)
		return -1;
	if (gdb_regs[n] == ER_EIP)
		return v == engine_reg(m->eng, ER_EIP) ? 0 : -1;
	return engine_set_reg(m->eng, gdb_regs[n], v);
}

static void read_memory(struct entryemu *m, const char *args, char *out)
{
	unsigned long addr, len;
	if (sscanf(args, "%lx,%lx", &addr, &len) != 2 || len > PACKET_MAX / 2) {
		strcpy(out, "E01");
		return;
	}
	uint8_t buf[PACKET_MAX / 2];
	if (entryemu_mem_read(m, (uint32_t)addr, buf, len)) {
		strcpy(out, "E14");		/* EFAULT */
		return;
	}
	for (unsigned long i = 0; i < len; i++)
		sprintf(out + 2 * i, "%02x", buf[i]);
	out[2 * len] = 0;
}

static const char *write_memory(struct entryemu *m, const char *args)
{
	unsigned long addr, len;
	const char *data = strchr(args, ':');
	if (sscanf(args, "%lx,%lx", &addr, &len) != 2 || !data || len > PACKET_MAX / 2 ||
	    strlen(data + 1) < 2 * len)
		return "E01";
	uint8_t buf[PACKET_MAX / 2];
	for (unsigned long i = 0; i < len; i++) {
		char b[3] = { data[1 + 2 * i], data[2 + 2 * i], 0 };
		buf[i] = (uint8_t)strtoul(b, NULL, 16);
	}
	if (entryemu_mem_write(m, (uint32_t)addr, buf, len))
		return "E14";
	/* translated code of those bytes would still run */
	engine_flush_range(m->eng, (uint32_t)addr, (uint32_t)(addr + len));
	return "OK";
}

static const char *breakpoint(struct gdb_session *g, const char *args, int insert)
{
	unsigned long addr, kind;
	if (args[0] != '0' || sscanf(args + 1, ",%lx,%lx", &addr, &kind) != 2)
		return "";			/* only software breakpoints */
	for (unsigned i = 0; i < g->nbp; i++)
		if (g->bp[i] == (uint32_t)addr) {
			if (!insert)
				g->bp[i] = g->bp[--g->nbp];
			return "OK";
		}
	if (!insert)
		return "OK";
	if (g->nbp == MAX_BREAKPOINTS)
		return "E28";			/* ENOSPC */
	g->bp[g->nbp++] = (uint32_t)addr;
	return "OK";
}

/*
 * Stopped: tell gdb why (stop) and serve it until it resumes (0), or
 * until it detaches or goes away (-1: the run goes on undebugged).
 */
static int serve(struct entryemu *m, struct gdb_session *g, const char *stop)
{
	char *reply = g->reply;
	if (stop && put_packet(g, stop))
		return -1;
	for (;;) {
		if (get_packet(g))
			return -1;
		const char *p = g->pkt;
		const char *r = reply;
		switch (p[0]) {
		case '?':
			r = "S05";
			break;
		case 'g':
			read_registers(m, reply);
			break;
		case 'G':
			r = "OK";
			for (int i = 0; i < NREGS && strlen(p + 1) >= (size_t)(8 * (i + 1)); i++)
				if (write_register(m, i, parse_le32(p + 1 + 8 * i)))
					r = "E01";
			break;
		case 'p': {
			int n = (int)strtol(p + 1, NULL, 16);
			if (n < 0 || n >= NREGS) {
				r = "E01";
			} else {
				hex_le32(reply, engine_reg(m->eng, gdb_regs[n]));
				reply[8] = 0;
			}
			break;
		}
		case 'P': {
			const char *eq = strchr(p, '=');
			r = eq && !write_register(m, (int)strtol(p + 1, NULL, 16), parse_le32(eq + 1))
			    ? "OK" : "E01";
			break;
		}
		case 'm':
			read_memory(m, p + 1, reply);
			break;
		case 'M':
			r = write_memory(m, p + 1);
			break;
		case 'Z':
		case 'z':
			r = breakpoint(g, p + 1, p[0] == 'Z');
			break;
		case 'c':
			if (p[1])
				return -1;	/* continuing elsewhere cannot be done here */
			g->stepping = 0;
			return 0;
		case 's':
			g->stepping = 1;
			return 0;
		case 'D':
			put_packet(g, "OK");
			return -1;
		case 'k':
			machine_stop(m, ENTRYEMU_ERROR, "killed by the debugger");
			return -1;
		case 'H':
			r = "OK";		/* one thread */
			break;
		case 'q':
			r = !strncmp(p, "qSupported", 10) ? "PacketSize=1000" :
			    !strcmp(p, "qAttached") ? "1" : !strcmp(p, "qC") ? "QC1" :
			    !strcmp(p, "qfThreadInfo") ? "m1" : !strcmp(p, "qsThreadInfo") ? "l" : "";
			break;
		case 'T':
			r = "OK";		/* thread 1 is alive */
			break;
		default:
			r = "";			/* not supported */
		}
		if (put_packet(g, r))
			return -1;
	}
}

/* The code hook of a debugged run, before every instruction. */
static void gdb_hook(void *data, uint32_t addr, uint32_t size)
{
	struct entryemu *m = data;
	struct gdb_session *g = m->gdb;
	(void)size;
	if (!g || g->detached || machine_stopping(m))
		return;
	/*
	 * An instruction the engine runs again after it cut its block there
	 * (a store into the running block, a late stop: cpu/counting.c) was
	 * stopped at already: a step or a breakpoint stops once.
	 */
	if (count_seen(m, addr, COUNT_SEEN_GDB))
		return;
	count_hooked(m, addr, COUNT_SEEN_GDB);
	int stop = !g->started || g->stepping;
	for (unsigned i = 0; !stop && i < g->nbp; i++)
		stop = g->bp[i] == addr;
	if (!stop)
		return;
	g->started = 1;
	if (serve(m, g, "S05"))
		g->detached = 1;
}

int gdb_run_start(struct entryemu *m)
{
	struct gdb_session *g = m->gdb;
	if (!g)
		return 0;
	g->fd = accept4(g->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (g->fd < 0) {
		machine_set_error(m, "gdb: no debugger connected: %s", strerror(errno));
		session_free(m);
		return -1;
	}
	return 0;
}

engine_code_fn gdb_hook_fn(void)
{
	return gdb_hook;
}

void gdb_run_end(struct entryemu *m, const entryemu_result *r)
{
	struct gdb_session *g = m->gdb;
	if (!g)
		return;
	if (g->fd >= 0 && !g->detached) {
		/* the report on gdb's console, then how the run ended */
		const char *msg = entryemu_result_message(r);
		char out[PACKET_MAX + 1] = "O";
		size_t n = 1;
		for (const char *c = msg; *c && n + 4 < PACKET_MAX; c++, n += 2)
			sprintf(out + n, "%02x", (unsigned char)*c);
		sprintf(out + n, "%02x", '\n');
		put_packet(g, out);
		char stop[8];
		enum entryemu_outcome o = entryemu_result_outcome(r);
		if (o == ENTRYEMU_DONE || o == ENTRYEMU_EXITED)
			snprintf(stop, sizeof(stop), "W00");
		else if (o == ENTRYEMU_KILLED)
			snprintf(stop, sizeof(stop), "X%02x", entryemu_result_signal(r) & 0xff);
		else
			snprintf(stop, sizeof(stop), "X06");	/* SIGABRT: an oops or worse */
		put_packet(g, stop);
		/* let gdb acknowledge and hang up first (at most 2 s) */
		struct pollfd pfd = { .fd = g->fd, .events = POLLIN };
		char c;
		while (poll(&pfd, 1, 2000) > 0 && read(g->fd, &c, 1) == 1)
			;
	}
	session_free(m);
}
