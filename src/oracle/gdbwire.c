/*
 * The GDB remote serial protocol, client side: "$data#xx" packets,
 * acknowledgements switched off once (QStartNoAckMode), hex registers in
 * target byte order.  poll() bounds every wait.
 */
#define _GNU_SOURCE 1
#include "oracle/gdbwire.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static void fail(struct gdbwire *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct gdbwire *g, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(g->err, sizeof(g->err), fmt, ap);
	va_end(ap);
}

static uint64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

int gw_connect(struct gdbwire *g, const char *path, unsigned timeout_ms)
{
	memset(g, 0, sizeof(*g));
	g->fd = -1;
	g->timeout_ms = timeout_ms;
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(a.sun_path)) {
		fail(g, "socket path too long: %s", path);
		return -1;
	}
	strcpy(a.sun_path, path);
	uint64_t end = now_ms() + timeout_ms;
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			fail(g, "socket: %s", strerror(errno));
			return -1;
		}
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
			g->fd = fd;
			break;
		}
		close(fd);
		if (now_ms() >= end) {
			fail(g, "no gdbstub at %s after %u ms", path, timeout_ms);
			return -1;
		}
		usleep(5000);
	}
	/* the first packet is acknowledged; none after it */
	char r[64];
	if (gw_cmd(g, "QStartNoAckMode", r, sizeof(r)) < 0)
		return -1;
	return 0;
}

void gw_close(struct gdbwire *g)
{
	if (g->fd >= 0)
		close(g->fd);
	g->fd = -1;
}

static int send_all(struct gdbwire *g, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(g->fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			fail(g, "gdbstub: send: %s", strerror(errno));
			return -1;
		}
		p += w, n -= (size_t)w;
	}
	return 0;
}

static int send_packet(struct gdbwire *g, const char *pkt)
{
	size_t n = strlen(pkt);
	if (n > GW_MAX) {
		fail(g, "gdb packet too long (%zu bytes)", n);
		return -1;
	}
	char buf[GW_MAX + 8];
	unsigned sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += (unsigned char)pkt[i];
	int len = snprintf(buf, sizeof(buf), "$%s#%02x", pkt, sum & 0xff);
	return send_all(g, buf, (size_t)len);
}

/* One byte, waiting until deadline: -1 for a closed peer, -2 on timeout. */
static int get_byte(struct gdbwire *g, uint64_t deadline)
{
	while (g->rpos == g->rlen) {
		uint64_t t = now_ms();
		if (t >= deadline)
			return -2;
		struct pollfd p = { g->fd, POLLIN, 0 };
		int r = poll(&p, 1, (int)(deadline - t));
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			return -2;
		ssize_t n = recv(g->fd, g->rb, sizeof(g->rb), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fail(g, "gdbstub closed the connection (QEMU exited)");
			return -1;
		}
		g->rpos = 0, g->rlen = (size_t)n;
	}
	return (unsigned char)g->rb[g->rpos++];
}

/* The next packet's data; 0, -1 on error, -2 on timeout. */
static int read_packet(struct gdbwire *g, char *out, size_t len, unsigned wait_ms)
{
	uint64_t deadline = now_ms() + wait_ms;
	int c;
	do {
		c = get_byte(g, deadline);
		if (c < 0)
			return c;
	} while (c != '$');		/* acks ('+') and noise before it */
	size_t n = 0;
	for (;;) {
		c = get_byte(g, deadline);
		if (c < 0)
			return c;
		if (c == '#')
			break;
		if (n + 1 >= len) {
			fail(g, "gdb reply longer than %zu bytes", len);
			return -1;
		}
		out[n++] = (char)c;
	}
	out[n] = 0;
	for (int i = 0; i < 2; i++)	/* the checksum: TCP-like transport, not checked */
		if ((c = get_byte(g, deadline)) < 0)
			return c;
	return 0;
}

int gw_cmd(struct gdbwire *g, const char *pkt, char *reply, size_t len)
{
	if (send_packet(g, pkt))
		return -1;
	int r = read_packet(g, reply, len, g->timeout_ms);
	if (r == -2)
		fail(g, "gdbstub did not answer '%.20s' within %u ms", pkt, g->timeout_ms);
	if (r)
		return -1;
	if (reply[0] == 'E' && strlen(reply) == 3) {
		fail(g, "gdbstub refused '%.40s': %s", pkt, reply);
		return -1;
	}
	return 0;
}

int gw_ok(struct gdbwire *g, const char *pkt)
{
	char r[64];
	if (gw_cmd(g, pkt, r, sizeof(r)))
		return -1;
	if (strcmp(r, "OK")) {
		fail(g, "gdbstub answered '%s' to '%.40s'", r, pkt);
		return -1;
	}
	return 0;
}

int gw_resume(struct gdbwire *g, const char *pkt, unsigned wait_ms, char *reply, size_t len)
{
	if (send_packet(g, pkt))
		return -1;
	int r = read_packet(g, reply, len, wait_ms);
	if (r == 0)
		return 0;
	if (r == -1)
		return -1;
	/* still running: stop it, and take the stop reply */
	if (send_all(g, "\x03", 1))
		return -1;
	if (read_packet(g, reply, len, g->timeout_ms)) {
		fail(g, "QEMU did not stop on ^C within %u ms", g->timeout_ms);
		return -1;
	}
	return 1;
}

static uint32_t le32_hex(const char *h)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--) {
		unsigned b = 0;
		sscanf(h + 2 * i, "%2x", &b);
		v = (v << 8) | b;
	}
	return v;
}

int gw_read_reg(struct gdbwire *g, int n, uint32_t *v)
{
	char pkt[16], r[64];
	snprintf(pkt, sizeof(pkt), "p%x", n);
	if (gw_cmd(g, pkt, r, sizeof(r)))
		return -1;
	if (strlen(r) < 8) {
		fail(g, "gdbstub: register %d unreadable ('%s')", n, r);
		return -1;
	}
	*v = le32_hex(r);
	return 0;
}

int gw_write_reg(struct gdbwire *g, int n, uint32_t v)
{
	char pkt[32];
	snprintf(pkt, sizeof(pkt), "P%x=%02x%02x%02x%02x", n, v & 0xff, (v >> 8) & 0xff,
		 (v >> 16) & 0xff, v >> 24);
	return gw_ok(g, pkt);
}

int gw_read_core(struct gdbwire *g, uint32_t out[GW_NREGS_CORE])
{
	char r[GW_MAX];
	if (gw_cmd(g, "g", r, sizeof(r)))
		return -1;
	if (strlen(r) < 8 * GW_NREGS_CORE) {
		fail(g, "gdbstub: short register packet");
		return -1;
	}
	for (int i = 0; i < GW_NREGS_CORE; i++)
		out[i] = le32_hex(r + 8 * i);
	return 0;
}

int gw_write_mem(struct gdbwire *g, uint32_t addr, const void *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *p = buf;
	while (len) {
		size_t n = len > 1024 ? 1024 : len;	/* QEMU's packets hold 4 KiB */
		char pkt[2 * 1024 + 32];
		int o = snprintf(pkt, sizeof(pkt), "M%x,%zx:", addr, n);
		for (size_t i = 0; i < n; i++) {
			pkt[o++] = hex[p[i] >> 4];
			pkt[o++] = hex[p[i] & 15];
		}
		pkt[o] = 0;
		if (gw_ok(g, pkt))
			return -1;
		addr += (uint32_t)n, p += n, len -= n;
	}
	return 0;
}

int gw_break(struct gdbwire *g, uint32_t addr, int insert)
{
	char pkt[32];
	snprintf(pkt, sizeof(pkt), "%c0,%x,1", insert ? 'Z' : 'z', addr);
	return gw_ok(g, pkt);
}
