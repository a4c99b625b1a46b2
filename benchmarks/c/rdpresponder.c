/*
 * rdpresponder: a small, fast RDP front-door responder for benchmarks.
 *
 * Single-threaded epoll + OpenSSL server, listening on a loopback address.
 * Per connection it reads one X.224 Connection Request (TPKT framed, with or
 * without RDP_NEG_REQ), answers a Connection Confirm according to --mode,
 * and, when CredSSP (HYBRID) was selected, runs a TLS server handshake, reads
 * one TSRequest and answers a TSRequest v6 carrying a hand-built NTLM
 * CHALLENGE.  It then waits for the client to close; a second TSRequest
 * (an NTLM AUTHENTICATE) is rejected by closing the connection, as servers
 * do for wrong credentials.
 *
 * Modes:
 *   hybrid        NLA-required server: HYBRID if offered, else RDP_NEG_FAILURE 5
 *   hybrid-stall  like hybrid, but never answers the TSRequest (memory tests)
 *   ssl           TLS-only server: SSL if offered, else RDP_NEG_FAILURE 1;
 *                 after the TLS handshake it waits for the client to close
 *   fail5         always RDP_NEG_FAILURE 5 (HYBRID_REQUIRED_BY_SERVER)
 *   windows       NLA optional: HYBRID if offered, else SSL, else RDP (0);
 *                 a CR without RDP_NEG_REQ gets a CC without rdpNegData
 *   plain-tls     TLS directly on accept (for `openssl s_time`)
 *   silent        accept, never answer
 *
 * Build: see build.sh.  Usage: rdpresponder --help
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "procstat.h"

enum mode {
	M_HYBRID, M_HYBRID_STALL, M_SSL, M_FAIL5, M_WINDOWS, M_PLAIN_TLS, M_SILENT
};

enum state {
	S_READ_CR,      /* reading the X.224 Connection Request */
	S_WRITE_CC,     /* writing the Connection Confirm (plain TCP) */
	S_TLS_ACCEPT,   /* TLS server handshake */
	S_READ_TSREQ,   /* reading the client's first TSRequest over TLS */
	S_WRITE_TSREQ,  /* writing our TSRequest (NTLM CHALLENGE) over TLS */
	S_WAIT_CLOSE,   /* discarding input until the peer closes */
	S_SILENT        /* never answer; close when the peer closes */
};

#define IN_CAP 4096     /* bounded per-connection input buffer */
#define OUT_CAP 512     /* enough for the CC and the CHALLENGE TSRequest */

struct conn {
	int fd;
	uint8_t state;
	uint8_t tls;        /* 1 once TLS is in use; 2 = TLS starts after the CC */
	int8_t sel;         /* selected protocol (0, 1, 2) or -1 */
	uint8_t round;      /* TSRequests answered so far */
	uint32_t events;    /* current epoll interest */
	SSL *ssl;
	uint16_t inlen;
	uint16_t outlen, outoff;
	uint8_t in[IN_CAP];
	uint8_t out[OUT_CAP];
};

static enum mode g_mode = M_HYBRID;
static SSL_CTX *g_ctx;
static int g_epfd, g_reserve_fd = -1;
/* --listeners N: N listening sockets on consecutive ports, so that a scanner that drops
 * duplicate targets can be given N distinct ones (127.0.0.1:port .. port+N-1). */
static int *g_lfds, g_nlisteners = 1;
static long g_active, g_accepted, g_answered;
static volatile sig_atomic_t g_stop;
static int g_verbose;

/* Listener is identified by this sentinel in epoll data. */

static void on_signal(int sig) { (void)sig; g_stop = 1; }

static void die(const char *msg)
{
	perror(msg);
	exit(2);
}

static void set_interest(struct conn *c, uint32_t ev)
{
	if (c->events == ev)
		return;
	struct epoll_event e = { .events = ev, .data.ptr = c };
	if (epoll_ctl(g_epfd, EPOLL_CTL_MOD, c->fd, &e) == 0)
		c->events = ev;
}

static void conn_close(struct conn *c)
{
	if (c->ssl)
		SSL_free(c->ssl);
	close(c->fd);      /* also removes it from the epoll set */
	free(c);
	g_active--;
}

/* ---------- protocol bytes ---------- */

/* Connection Confirm with RDP_NEG_RSP (flags 0x1f) or RDP_NEG_FAILURE. */
static void build_cc_rsp(struct conn *c, uint32_t selected)
{
	static const uint8_t hdr[] = { 0x03, 0x00, 0x00, 0x13, 0x0e, 0xd0, 0x00, 0x00,
				       0x12, 0x34, 0x00, 0x02, 0x1f, 0x08, 0x00 };
	memcpy(c->out, hdr, sizeof hdr);
	c->out[15] = selected & 0xff;
	c->out[16] = (selected >> 8) & 0xff;
	c->out[17] = (selected >> 16) & 0xff;
	c->out[18] = (selected >> 24) & 0xff;
	c->outlen = 19;
	c->outoff = 0;
}

static void build_cc_failure(struct conn *c, uint32_t code)
{
	static const uint8_t hdr[] = { 0x03, 0x00, 0x00, 0x13, 0x0e, 0xd0, 0x00, 0x00,
				       0x12, 0x34, 0x00, 0x03, 0x00, 0x08, 0x00 };
	memcpy(c->out, hdr, sizeof hdr);
	c->out[15] = code & 0xff;
	c->out[16] = (code >> 8) & 0xff;
	c->out[17] = (code >> 16) & 0xff;
	c->out[18] = (code >> 24) & 0xff;
	c->outlen = 19;
	c->outoff = 0;
}

/* Legacy Connection Confirm without rdpNegData (answer to a CR without RDP_NEG_REQ). */
static void build_cc_legacy(struct conn *c)
{
	static const uint8_t cc[] = { 0x03, 0x00, 0x00, 0x0b, 0x06, 0xd0, 0x00, 0x00,
				      0x12, 0x34, 0x00 };
	memcpy(c->out, cc, sizeof cc);
	c->outlen = sizeof cc;
	c->outoff = 0;
}

static size_t put_u16(uint8_t *p, uint16_t v) { p[0] = v & 0xff; p[1] = v >> 8; return 2; }
static size_t put_u32(uint8_t *p, uint32_t v)
{
	p[0] = v & 0xff; p[1] = (v >> 8) & 0xff; p[2] = (v >> 16) & 0xff; p[3] = v >> 24;
	return 4;
}

static size_t put_utf16(uint8_t *p, const char *s)
{
	size_t n = 0;
	for (; *s; s++) { p[n++] = (uint8_t)*s; p[n++] = 0; }
	return n;
}

static size_t put_av(uint8_t *p, uint16_t id, const char *s)
{
	size_t n = put_u16(p, id);
	size_t l = put_utf16(p + 4, s);
	put_u16(p + n, (uint16_t)l);
	return 4 + l;
}

/* NTLM CHALLENGE template, built once; per connection we patch the server
 * challenge and the timestamp. */
static uint8_t g_chal[300];
static size_t g_chal_len, g_chal_ts_off;

static void build_challenge_template(void)
{
	uint8_t *p = g_chal;
	memset(g_chal, 0, sizeof g_chal);
	memcpy(p, "NTLMSSP\0", 8);
	put_u32(p + 8, 2);                         /* MessageType CHALLENGE */
	uint8_t tn[64];
	size_t tnl = put_utf16(tn, "RDPPROBE");
	put_u16(p + 12, tnl); put_u16(p + 14, tnl); put_u32(p + 16, 56);
	/* 56|KEY_EXCH|128|VERSION|TARGET_INFO|EXTENDED_SESSIONSECURITY|
	 * TARGET_TYPE_DOMAIN|ALWAYS_SIGN|NTLM|SEAL|SIGN|REQUEST_TARGET|UNICODE */
	put_u32(p + 20, 0xE2898235u);
	/* 24..31 server challenge (per connection), 32..39 reserved */
	/* VERSION 10.0.20348, NTLM revision 15 */
	p[48] = 10; p[49] = 0; put_u16(p + 50, 20348); p[55] = 0x0f;
	memcpy(p + 56, tn, tnl);
	size_t ti = 56 + tnl, n = ti;
	n += put_av(p + n, 0x0002, "RDPPROBE");                /* MsvAvNbDomainName */
	n += put_av(p + n, 0x0001, "RESPONDER");               /* MsvAvNbComputerName */
	n += put_av(p + n, 0x0003, "responder.rdpprobe.test"); /* MsvAvDnsComputerName */
	n += put_av(p + n, 0x0004, "rdpprobe.test");           /* MsvAvDnsDomainName */
	put_u16(p + n, 0x0007); put_u16(p + n + 2, 8);         /* MsvAvTimestamp */
	g_chal_ts_off = n + 4;
	n += 12;
	put_u16(p + n, 0); put_u16(p + n + 2, 0);              /* MsvAvEOL */
	n += 4;
	size_t til = n - ti;
	put_u16(p + 40, til); put_u16(p + 42, til); put_u32(p + 44, ti);
	g_chal_len = n;
}

static size_t der_hdr(uint8_t *p, uint8_t tag, size_t len)
{
	p[0] = tag;
	if (len < 0x80) { p[1] = len; return 2; }
	if (len < 0x100) { p[1] = 0x81; p[2] = len; return 3; }
	p[1] = 0x82; p[2] = len >> 8; p[3] = len & 0xff; return 4;
}

static size_t der_hlen(size_t len) { return len < 0x80 ? 2 : len < 0x100 ? 3 : 4; }

static uint64_t rng_state;
static uint64_t rng_next(void)
{
	/* xorshift64*: the server challenge only has to vary, not be secret */
	rng_state ^= rng_state >> 12; rng_state ^= rng_state << 25; rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

/* TSRequest { version [0] 6, negoTokens [1] { { negoToken [0] CHALLENGE } } } */
static void build_tsrequest_challenge(struct conn *c)
{
	size_t L5 = g_chal_len;                 /* OCTET STRING content */
	size_t L4 = der_hlen(L5) + L5;          /* [0] negoToken */
	size_t L3 = der_hlen(L4) + L4;          /* NegoDataItem SEQUENCE */
	size_t L2 = der_hlen(L3) + L3;          /* NegoData SEQUENCE OF */
	size_t L1 = der_hlen(L2) + L2;          /* [1] negoTokens */
	size_t L0 = 5 + der_hlen(L1) + L1;      /* outer SEQUENCE content */
	uint8_t *p = c->out;
	size_t n = der_hdr(p, 0x30, L0);
	static const uint8_t ver[] = { 0xa0, 0x03, 0x02, 0x01, 0x06 };
	memcpy(p + n, ver, 5); n += 5;
	n += der_hdr(p + n, 0xa1, L1);
	n += der_hdr(p + n, 0x30, L2);
	n += der_hdr(p + n, 0x30, L3);
	n += der_hdr(p + n, 0xa0, L4);
	n += der_hdr(p + n, 0x04, L5);
	uint8_t *m = p + n;
	memcpy(m, g_chal, g_chal_len);
	uint64_t r = rng_next();
	memcpy(m + 24, &r, 8);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t ft = ((uint64_t)ts.tv_sec + 11644473600ULL) * 10000000ULL + ts.tv_nsec / 100;
	for (int i = 0; i < 8; i++)
		m[g_chal_ts_off + i] = (ft >> (8 * i)) & 0xff;
	n += g_chal_len;
	c->outlen = n;
	c->outoff = 0;
}

/* Return total TSRequest length once the DER header is complete, 0 if more
 * bytes are needed, -1 if this is not a DER SEQUENCE we can frame. */
static long der_frame_len(const uint8_t *b, size_t n)
{
	if (n < 2)
		return 0;
	if (b[0] != 0x30)
		return -1;
	if (b[1] < 0x80)
		return 2 + b[1];
	size_t k = b[1] & 0x7f;
	if (k == 0 || k > 3)
		return -1;
	if (n < 2 + k)
		return 0;
	size_t len = 0;
	for (size_t i = 0; i < k; i++)
		len = (len << 8) | b[2 + i];
	return (long)(2 + k + len);
}

/* Decide the Connection Confirm for a complete CR in c->in.  Returns the
 * selected protocol (>= 0) if a negotiation response was chosen, -1 for a
 * failure, -2 for a legacy CC, -3 to drop. */
static int choose_cc(struct conn *c, size_t tpkt_len)
{
	const uint8_t *b = c->in;
	if (tpkt_len < 11 || b[5] != 0xe0)
		return -3;
	int have_neg = 0;
	uint32_t req = 0;
	/* RDP_NEG_REQ is the last 8 bytes, or 8 bytes followed by a 36-byte
	 * RDP_NEG_CORRELATION_INFO. */
	const uint8_t *cand[2] = { NULL, NULL };
	if (tpkt_len >= 11 + 8)
		cand[0] = b + tpkt_len - 8;
	if (tpkt_len >= 11 + 8 + 36)
		cand[1] = b + tpkt_len - 44;
	for (int i = 0; i < 2; i++) {
		const uint8_t *q = cand[i];
		if (q && q[0] == 0x01 && q[2] == 0x08 && q[3] == 0x00) {
			have_neg = 1;
			req = q[4] | q[5] << 8 | q[6] << 16 | (uint32_t)q[7] << 24;
			break;
		}
	}
	switch (g_mode) {
	case M_HYBRID:
	case M_HYBRID_STALL:
		if (have_neg && (req & 0x2)) { build_cc_rsp(c, 2); return 2; }
		build_cc_failure(c, 5); return -1;
	case M_SSL:
		if (have_neg && (req & 0x1)) { build_cc_rsp(c, 1); return 1; }
		build_cc_failure(c, 1); return -1;
	case M_FAIL5:
		build_cc_failure(c, 5); return -1;
	case M_WINDOWS:
		if (!have_neg) { build_cc_legacy(c); return -2; }
		if (req & 0x2) { build_cc_rsp(c, 2); return 2; }
		if (req & 0x1) { build_cc_rsp(c, 1); return 1; }
		build_cc_rsp(c, 0); return 0;
	default:
		return -3;
	}
}

/* ---------- state machine ---------- */

/* Each step returns 0 to keep the connection, -1 to close it. */
static int step(struct conn *c);

static int start_tls(struct conn *c)
{
	c->ssl = SSL_new(g_ctx);
	if (!c->ssl)
		return -1;
	SSL_set_fd(c->ssl, c->fd);
	SSL_set_accept_state(c->ssl);
	c->tls = 1;
	c->state = S_TLS_ACCEPT;
	return step(c);
}

/* Handle an SSL_ERROR_* outcome: adjust interest or signal close. */
static int ssl_wait(struct conn *c, int ret)
{
	int e = SSL_get_error(c->ssl, ret);
	if (e == SSL_ERROR_WANT_READ) { set_interest(c, EPOLLIN); return 0; }
	if (e == SSL_ERROR_WANT_WRITE) { set_interest(c, EPOLLOUT); return 0; }
	if (g_verbose && e != SSL_ERROR_ZERO_RETURN && e != SSL_ERROR_SYSCALL)
		ERR_print_errors_fp(stderr);
	ERR_clear_error();
	return -1;
}

static int step(struct conn *c)
{
	for (;;) {
		switch (c->state) {
		case S_READ_CR: {
			ssize_t r = read(c->fd, c->in + c->inlen, IN_CAP - c->inlen);
			if (r < 0)
				return (errno == EAGAIN || errno == EINTR) ? (set_interest(c, EPOLLIN), 0) : -1;
			if (r == 0)
				return -1;
			c->inlen += r;
			if (c->inlen < 4)
				continue;
			if (c->in[0] != 0x03)
				return -1;
			size_t tl = (size_t)c->in[2] << 8 | c->in[3];
			if (tl < 11 || tl > IN_CAP)
				return -1;
			if (c->inlen < tl)
				continue;
			int sel = choose_cc(c, tl);
			if (sel == -3)
				return -1;
			c->sel = sel >= 0 ? sel : -1;
			c->inlen = 0;
			c->tls = (sel == 1 || sel == 2) ? 2 : 0; /* 2 = TLS pending */
			c->state = S_WRITE_CC;
			continue;
		}
		case S_WRITE_CC: {
			ssize_t w = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);
			if (w < 0)
				return (errno == EAGAIN || errno == EINTR) ? (set_interest(c, EPOLLOUT), 0) : -1;
			c->outoff += w;
			if (c->outoff < c->outlen)
				continue;
			g_answered++;
			if (c->tls == 2)
				return start_tls(c);
			c->state = S_WAIT_CLOSE;
			continue;
		}
		case S_TLS_ACCEPT: {
			ERR_clear_error();
			int r = SSL_accept(c->ssl);
			if (r != 1)
				return ssl_wait(c, r);
			if (c->sel == 2)   /* CredSSP: expect a TSRequest */
				c->state = S_READ_TSREQ;
			else
				c->state = S_WAIT_CLOSE;
			continue;
		}
		case S_READ_TSREQ: {
			if (c->inlen >= IN_CAP)
				return -1;
			ERR_clear_error();
			int r = SSL_read(c->ssl, c->in + c->inlen, IN_CAP - c->inlen);
			if (r <= 0)
				return ssl_wait(c, r);
			c->inlen += r;
			long fl = der_frame_len(c->in, c->inlen);
			if (fl < 0 || fl > IN_CAP)
				return -1;
			if (fl == 0 || c->inlen < (size_t)fl)
				continue;
			c->inlen = 0;
			if (c->round > 0)
				return -1;  /* AUTHENTICATE: reject like a server refusing the credentials */
			if (g_mode == M_HYBRID_STALL) {
				c->state = S_WAIT_CLOSE;
				continue;
			}
			build_tsrequest_challenge(c);
			c->state = S_WRITE_TSREQ;
			continue;
		}
		case S_WRITE_TSREQ: {
			ERR_clear_error();
			int r = SSL_write(c->ssl, c->out + c->outoff, c->outlen - c->outoff);
			if (r <= 0)
				return ssl_wait(c, r);
			c->outoff += r;
			if (c->outoff < c->outlen)
				continue;
			c->round++;
			c->state = S_READ_TSREQ;  /* wait for close, or the next TSRequest */
			continue;
		}
		case S_WAIT_CLOSE:
		case S_SILENT: {
			if (c->tls == 1) {
				ERR_clear_error();
				int r = SSL_read(c->ssl, c->in, IN_CAP);
				if (r > 0)
					continue;      /* discard */
				return ssl_wait(c, r);
			}
			ssize_t r = read(c->fd, c->in, IN_CAP);
			if (r > 0)
				continue;              /* discard */
			if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
				set_interest(c, EPOLLIN);
				return 0;
			}
			return -1;
		}
		}
	}
}

static void accept_all(int lfd)
{
	for (int i = 0; i < 256; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE) {
				/* shed one pending connection so the listener does not spin */
				if (g_reserve_fd >= 0) {
					close(g_reserve_fd);
					int x = accept(lfd, NULL, NULL);
					if (x >= 0)
						close(x);
					g_reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
				}
			}
			return;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		struct conn *c = malloc(sizeof *c);
		if (!c) { close(fd); continue; }
		c->fd = fd; c->ssl = NULL; c->tls = 0; c->sel = -1; c->round = 0; c->inlen = c->outlen = c->outoff = 0;
		c->state = S_READ_CR;
		c->events = EPOLLIN;
		if (g_mode == M_SILENT)
			c->state = S_SILENT;
		struct epoll_event e = { .events = EPOLLIN, .data.ptr = c };
		if (epoll_ctl(g_epfd, EPOLL_CTL_ADD, fd, &e) != 0) {
			close(fd); free(c); continue;
		}
		g_active++; g_accepted++;
		if (g_mode == M_PLAIN_TLS) {
			if (start_tls(c) < 0)
				conn_close(c);
			continue;
		}
		if (g_mode == M_SILENT)
			continue;
		if (step(c) < 0)
			conn_close(c);
	}
}

static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	struct rlimit want = { 1048576, 1048576 };
	if (setrlimit(RLIMIT_NOFILE, &want) == 0)
		return;
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
}

static void usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s --port N [--host 127.0.0.1] [--mode hybrid|hybrid-stall|ssl|fail5|windows|plain-tls|silent]\n"
		"          [--cert PEM] [--key PEM] [--tls13] [--max-seconds N] [--listeners N] [--verbose]\n", argv0);
	exit(2);
}

int main(int argc, char **argv)
{
	const char *host = "127.0.0.1", *cert = NULL, *key = NULL;
	int port = 0, tls13 = 0;
	double max_seconds = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = (i + 1 < argc) ? argv[i + 1] : NULL;
		if (!strcmp(a, "--port") && v) { port = atoi(v); i++; }
		else if (!strcmp(a, "--host") && v) { host = v; i++; }
		else if (!strcmp(a, "--cert") && v) { cert = v; i++; }
		else if (!strcmp(a, "--key") && v) { key = v; i++; }
		else if (!strcmp(a, "--max-seconds") && v) { max_seconds = atof(v); i++; }
		else if (!strcmp(a, "--listeners") && v) { g_nlisteners = atoi(v); i++; }
		else if (!strcmp(a, "--tls13")) tls13 = 1;
		else if (!strcmp(a, "--verbose")) g_verbose = 1;
		else if (!strcmp(a, "--mode") && v) {
			i++;
			if (!strcmp(v, "hybrid")) g_mode = M_HYBRID;
			else if (!strcmp(v, "hybrid-stall")) g_mode = M_HYBRID_STALL;
			else if (!strcmp(v, "ssl")) g_mode = M_SSL;
			else if (!strcmp(v, "fail5")) g_mode = M_FAIL5;
			else if (!strcmp(v, "windows")) g_mode = M_WINDOWS;
			else if (!strcmp(v, "plain-tls")) g_mode = M_PLAIN_TLS;
			else if (!strcmp(v, "silent")) g_mode = M_SILENT;
			else usage(argv[0]);
		} else if (i == 1 && a[0] != '-') { port = atoi(a); }
		else usage(argv[0]);
	}
	if (port <= 0 || port > 65535)
		usage(argv[0]);

	struct in_addr ia;
	if (inet_pton(AF_INET, host, &ia) != 1 || (ntohl(ia.s_addr) >> 24) != 127) {
		fprintf(stderr, "refusing to bind %s: only 127.0.0.0/8 is allowed\n", host);
		return 2;
	}

	int need_tls = g_mode != M_FAIL5 && g_mode != M_SILENT;
	if (need_tls) {
		if (!cert || !key) {
			fprintf(stderr, "--cert and --key are required for mode with TLS\n");
			return 2;
		}
		g_ctx = SSL_CTX_new(TLS_server_method());
		if (!g_ctx) { ERR_print_errors_fp(stderr); return 2; }
		SSL_CTX_set_min_proto_version(g_ctx, TLS1_VERSION);
		SSL_CTX_set_max_proto_version(g_ctx, tls13 ? TLS1_3_VERSION : TLS1_2_VERSION);
		SSL_CTX_set_options(g_ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
		SSL_CTX_set_session_cache_mode(g_ctx, SSL_SESS_CACHE_OFF);
		if (tls13)
			SSL_CTX_set_num_tickets(g_ctx, 0);
		SSL_CTX_set_mode(g_ctx, SSL_MODE_RELEASE_BUFFERS);
		if (SSL_CTX_use_certificate_chain_file(g_ctx, cert) != 1 ||
		    SSL_CTX_use_PrivateKey_file(g_ctx, key, SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(g_ctx) != 1) {
			ERR_print_errors_fp(stderr);
			return 2;
		}
	}
	build_challenge_template();
	if (RAND_bytes((unsigned char *)&rng_state, sizeof rng_state) != 1 || rng_state == 0)
		rng_state = 0x9E3779B97F4A7C15ULL ^ (uint64_t)time(NULL);

	raise_nofile();
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	g_reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (g_nlisteners < 1 || port + g_nlisteners - 1 > 65535) usage(argv[0]);
	g_lfds = calloc((size_t)g_nlisteners, sizeof *g_lfds);
	if (!g_lfds) die("calloc");
	g_epfd = epoll_create1(EPOLL_CLOEXEC);
	if (g_epfd < 0) die("epoll_create1");
	for (int l = 0; l < g_nlisteners; l++) {
		int lfd = g_lfds[l] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (lfd < 0) die("socket");
		int one = 1;
		setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port + l), .sin_addr = ia };
		if (bind(lfd, (struct sockaddr *)&sin, sizeof sin) != 0) die("bind");
		if (listen(lfd, 65535) != 0) die("listen");
		struct epoll_event le = { .events = EPOLLIN, .data.ptr = &g_lfds[l] };
		if (epoll_ctl(g_epfd, EPOLL_CTL_ADD, lfd, &le) != 0) die("epoll_ctl");
	}

	static const char *mode_names[] = { "hybrid", "hybrid-stall", "ssl", "fail5", "windows", "plain-tls", "silent" };
	fprintf(stderr, "rdpresponder: listening on %s:%d mode=%s tls_max=%s\n", host, port,
		mode_names[g_mode], tls13 ? "1.3" : "1.2");
	fflush(stderr);

	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct epoll_event evs[512];
	while (!g_stop) {
		int n = epoll_wait(g_epfd, evs, 512, 200);
		if (n < 0 && errno != EINTR) die("epoll_wait");
		for (int i = 0; i < n; i++) {
			int *tag = evs[i].data.ptr;
			if (tag >= g_lfds && tag < g_lfds + g_nlisteners) {
				accept_all(*tag);
				continue;
			}
			struct conn *c = evs[i].data.ptr;
			if (step(c) < 0)
				conn_close(c);
		}
		if (max_seconds > 0) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			double el = (now.tv_sec - t0.tv_sec) + (now.tv_nsec - t0.tv_nsec) / 1e9;
			if (el >= max_seconds)
				break;
		}
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	fprintf(stderr, "rdpresponder: exiting accepted=%ld answered=%ld active=%ld cpu_s=%.3f maxrss_kib=%ld\n",
		g_accepted, g_answered, g_active,
		ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6,
		peak_rss_kib(ru.ru_maxrss));
	return 0;
}
