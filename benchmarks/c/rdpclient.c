/*
 * rdpclient: C epoll + OpenSSL reference client for the scanner benchmark.
 *
 * Runs COUNT probes against HOST:PORT with at most CONCURRENCY in flight.
 *   quick: TCP connect, X.224 Connection Request (cookie mstshash=probe,
 *          RDP_NEG_REQ requestedProtocols 0x0B), read the Connection
 *          Confirm, close.  ok = a well-formed CC arrived.
 *   full:  quick, then TLS handshake (no verification), send a TSRequest v6
 *          carrying an NTLM NEGOTIATE, read the TSRequest answer (framed by
 *          its DER length), close.  ok = the answer holds an NTLM CHALLENGE.
 *
 * Prints one JSON line:
 *   {"probes":N,"ok":N,"failed":N,"wall_s":..,"cpu_s":..,"maxrss_kib":..,...}
 *
 * Usage: rdpclient [--host 127.0.0.1] --port N [--count N] [--concurrency N]
 *                  [--depth quick|full] [--tls13] [--timeout S]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stddef.h>
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
#include <openssl/ssl.h>

#include "procstat.h"

enum state { S_CONNECT, S_WRITE_CR, S_READ_CC, S_TLS, S_WRITE_TSREQ, S_READ_TSREQ };

#define IN_CAP 4096

struct probe {
	int fd;
	uint8_t state;
	uint32_t events;
	SSL *ssl;
	double deadline;
	uint16_t inlen, outoff;
	struct probe *prev, *next;   /* in-flight list, in start order */
	uint8_t in[IN_CAP];
};

static const uint8_t CR[] = {
	0x03, 0x00, 0x00, 0x2b,                 /* TPKT, length 43 */
	0x26, 0xe0, 0x00, 0x00, 0x00, 0x00, 0x00, /* X.224 CR, LI 39 */
	'C', 'o', 'o', 'k', 'i', 'e', ':', ' ', 'm', 's', 't', 's', 'h', 'a', 's', 'h', '=',
	'p', 'r', 'o', 'b', 'e', '\r', '\n',
	0x01, 0x00, 0x08, 0x00, 0x0b, 0x00, 0x00, 0x00 /* RDP_NEG_REQ SSL|HYBRID|HYBRID_EX */
};

_Static_assert(sizeof CR == 43, "CR length");

static const uint8_t TSREQ_NEGOTIATE[57] = {
	0x30, 0x37, 0xa0, 0x03, 0x02, 0x01, 0x06, 0xa1, 0x30, 0x30, 0x2e, 0x30, 0x2c, 0xa0, 0x2a,
	0x04, 0x28, 0x4e, 0x54, 0x4c, 0x4d, 0x53, 0x53, 0x50, 0x00, 0x01, 0x00, 0x00, 0x00, 0xb7,
	0x82, 0x08, 0xe2, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x63, 0x45, 0x00, 0x00, 0x00, 0x0f
};

static int g_epfd, g_full, g_verbose;
static SSL_CTX *g_ctx;
static struct sockaddr_in g_addr;
static double g_timeout = 10.0;
static long g_ok, g_failed, g_started, g_inflight, g_peak_inflight;
static long g_fail_connect, g_fail_timeout, g_fail_proto, g_fail_tls, g_fail_emfile;
static struct probe *g_head, *g_tail;

static double now_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void list_add(struct probe *p)
{
	p->next = NULL; p->prev = g_tail;
	if (g_tail) g_tail->next = p; else g_head = p;
	g_tail = p;
}

static void list_del(struct probe *p)
{
	if (p->prev) p->prev->next = p->next; else g_head = p->next;
	if (p->next) p->next->prev = p->prev; else g_tail = p->prev;
}

static void finish(struct probe *p, int ok, long *reason)
{
	if (ok) g_ok++; else { g_failed++; if (reason) (*reason)++; }
	if (p->ssl) SSL_free(p->ssl);
	close(p->fd);
	list_del(p);
	free(p);
	g_inflight--;
}

static void set_interest(struct probe *p, uint32_t ev)
{
	if (p->events == ev)
		return;
	struct epoll_event e = { .events = ev, .data.ptr = p };
	if (epoll_ctl(g_epfd, EPOLL_CTL_MOD, p->fd, &e) == 0)
		p->events = ev;
}

/* 0 = keep going (waiting for an event), 1 = done ok, -1 = failed (reason set) */
static int step(struct probe *p, long **reason)
{
	for (;;) {
		switch (p->state) {
		case S_CONNECT: {
			int err = 0;
			socklen_t l = sizeof err;
			getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &l);
			if (err) { *reason = &g_fail_connect; return -1; }
			p->state = S_WRITE_CR;
			continue;
		}
		case S_WRITE_CR: {
			ssize_t w = write(p->fd, CR + p->outoff, sizeof CR - p->outoff);
			if (w < 0) {
				if (errno == EAGAIN || errno == EINTR) { set_interest(p, EPOLLOUT); return 0; }
				*reason = &g_fail_connect; return -1;
			}
			p->outoff += w;
			if (p->outoff < sizeof CR) continue;
			p->outoff = 0;
			p->state = S_READ_CC;
			continue;
		}
		case S_READ_CC: {
			ssize_t r = read(p->fd, p->in + p->inlen, IN_CAP - p->inlen);
			if (r < 0) {
				if (errno == EAGAIN || errno == EINTR) { set_interest(p, EPOLLIN); return 0; }
				*reason = &g_fail_proto; return -1;
			}
			if (r == 0) { *reason = &g_fail_proto; return -1; }
			p->inlen += r;
			if (p->inlen < 4) continue;
			size_t tl = (size_t)p->in[2] << 8 | p->in[3];
			if (p->in[0] != 0x03 || tl < 11 || tl > IN_CAP) { *reason = &g_fail_proto; return -1; }
			if (p->inlen < tl) continue;
			if (p->in[5] != 0xd0) { *reason = &g_fail_proto; return -1; }
			if (!g_full) return 1;
			/* full: need RDP_NEG_RSP selecting SSL or HYBRID(_EX) */
			if (tl < 19 || p->in[11] != 0x02) { *reason = &g_fail_proto; return -1; }
			uint32_t sel = p->in[15] | p->in[16] << 8;
			if (sel != 2 && sel != 8) { *reason = &g_fail_proto; return -1; }
			p->inlen = 0;
			p->ssl = SSL_new(g_ctx);
			if (!p->ssl) { *reason = &g_fail_tls; return -1; }
			SSL_set_fd(p->ssl, p->fd);
			SSL_set_connect_state(p->ssl);
			p->state = S_TLS;
			continue;
		}
		case S_TLS:
		case S_WRITE_TSREQ:
		case S_READ_TSREQ: {
			int r;
			ERR_clear_error();
			if (p->state == S_TLS) {
				r = SSL_do_handshake(p->ssl);
				if (r == 1) { p->state = S_WRITE_TSREQ; continue; }
			} else if (p->state == S_WRITE_TSREQ) {
				r = SSL_write(p->ssl, TSREQ_NEGOTIATE, sizeof TSREQ_NEGOTIATE);
				if (r > 0) { p->state = S_READ_TSREQ; continue; }
			} else {
				if (p->inlen >= IN_CAP) { *reason = &g_fail_proto; return -1; }
				r = SSL_read(p->ssl, p->in + p->inlen, IN_CAP - p->inlen);
				if (r > 0) {
					p->inlen += r;
					if (p->inlen < 2) continue;
					if (p->in[0] != 0x30) { *reason = &g_fail_proto; return -1; }
					size_t total;
					if (p->in[1] < 0x80) total = 2 + p->in[1];
					else {
						size_t k = p->in[1] & 0x7f;
						if (k == 0 || k > 3) { *reason = &g_fail_proto; return -1; }
						if (p->inlen < 2 + k) continue;
						size_t len = 0;
						for (size_t i = 0; i < k; i++) len = len << 8 | p->in[2 + i];
						total = 2 + k + len;
					}
					if (total > IN_CAP) { *reason = &g_fail_proto; return -1; }
					if (p->inlen < total) continue;
					/* look for an NTLMSSP CHALLENGE (type 2) inside */
					for (size_t i = 0; i + 12 <= total; i++)
						if (!memcmp(p->in + i, "NTLMSSP\0\x02\0\0\0", 12))
							return 1;
					*reason = &g_fail_proto;
					return -1;
				}
			}
			int e = SSL_get_error(p->ssl, r);
			if (e == SSL_ERROR_WANT_READ) { set_interest(p, EPOLLIN); return 0; }
			if (e == SSL_ERROR_WANT_WRITE) { set_interest(p, EPOLLOUT); return 0; }
			if (g_verbose) ERR_print_errors_fp(stderr);
			ERR_clear_error();
			*reason = p->state == S_TLS ? &g_fail_tls : &g_fail_proto;
			return -1;
		}
		}
	}
}

static void drive(struct probe *p)
{
	long *reason = NULL;
	int r = step(p, &reason);
	if (r != 0)
		finish(p, r > 0, reason);
}

static void start_one(void)
{
	g_started++;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		g_failed++;
		if (errno == EMFILE || errno == ENFILE) g_fail_emfile++; else g_fail_connect++;
		return;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	struct probe *p = malloc(sizeof *p);
	if (!p) { close(fd); g_failed++; return; }
	memset(p, 0, offsetof(struct probe, in));
	p->fd = fd;
	p->deadline = now_mono() + g_timeout;
	list_add(p);
	g_inflight++;
	if (g_inflight > g_peak_inflight) g_peak_inflight = g_inflight;
	int r = connect(fd, (struct sockaddr *)&g_addr, sizeof g_addr);
	if (r != 0 && errno != EINPROGRESS) {
		finish(p, 0, &g_fail_connect);
		return;
	}
	p->state = r == 0 ? S_WRITE_CR : S_CONNECT;
	p->events = EPOLLOUT;
	struct epoll_event e = { .events = EPOLLOUT, .data.ptr = p };
	if (epoll_ctl(g_epfd, EPOLL_CTL_ADD, fd, &e) != 0) {
		finish(p, 0, &g_fail_connect);
		return;
	}
	if (r == 0)
		drive(p);
}

static void raise_nofile(long want)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
	if ((long)rl.rlim_cur >= want + 64) return;
	struct rlimit n = { (rlim_t)(want + 64), rl.rlim_max };
	if ((long)rl.rlim_max < want + 64) { n.rlim_max = n.rlim_cur; }
	if (setrlimit(RLIMIT_NOFILE, &n) != 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: rdpclient [--host 127.0.0.1] --port N [--count N] [--concurrency N]\n"
			"                 [--depth quick|full] [--tls13] [--timeout S] [--verbose]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *host = "127.0.0.1";
	int port = 0, tls13 = 0;
	long count = 1000, conc = 50;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--host") && v) { host = v; i++; }
		else if (!strcmp(a, "--port") && v) { port = atoi(v); i++; }
		else if (!strcmp(a, "--count") && v) { count = atol(v); i++; }
		else if (!strcmp(a, "--concurrency") && v) { conc = atol(v); i++; }
		else if (!strcmp(a, "--timeout") && v) { g_timeout = atof(v); i++; }
		else if (!strcmp(a, "--depth") && v) {
			i++;
			if (!strcmp(v, "full")) g_full = 1;
			else if (!strcmp(v, "quick")) g_full = 0;
			else usage();
		}
		else if (!strcmp(a, "--tls13")) tls13 = 1;
		else if (!strcmp(a, "--verbose")) g_verbose = 1;
		else usage();
	}
	if (port <= 0 || port > 65535 || count < 0 || conc < 1) usage();
	memset(&g_addr, 0, sizeof g_addr);
	g_addr.sin_family = AF_INET;
	g_addr.sin_port = htons(port);
	if (inet_pton(AF_INET, host, &g_addr.sin_addr) != 1 ||
	    (ntohl(g_addr.sin_addr.s_addr) >> 24) != 127) {
		fprintf(stderr, "refusing target %s: only 127.0.0.0/8 is allowed\n", host);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	raise_nofile(conc);

	double t0 = now_mono();
	if (g_full) {
		g_ctx = SSL_CTX_new(TLS_client_method());
		if (!g_ctx) { ERR_print_errors_fp(stderr); return 2; }
		SSL_CTX_set_verify(g_ctx, SSL_VERIFY_NONE, NULL);
		SSL_CTX_set_min_proto_version(g_ctx, TLS1_VERSION);
		SSL_CTX_set_max_proto_version(g_ctx, tls13 ? TLS1_3_VERSION : TLS1_2_VERSION);
		SSL_CTX_set_session_cache_mode(g_ctx, SSL_SESS_CACHE_OFF);
		SSL_CTX_set_mode(g_ctx, SSL_MODE_RELEASE_BUFFERS);
	}
	g_epfd = epoll_create1(EPOLL_CLOEXEC);
	if (g_epfd < 0) { perror("epoll_create1"); return 2; }

	struct epoll_event evs[512];
	double last_sweep = t0;
	while (g_started < count || g_inflight > 0) {
		while (g_started < count && g_inflight < conc)
			start_one();
		if (g_inflight == 0) continue;
		int n = epoll_wait(g_epfd, evs, 512, 50);
		if (n < 0 && errno != EINTR) { perror("epoll_wait"); return 2; }
		for (int i = 0; i < n; i++)
			drive(evs[i].data.ptr);
		double t = now_mono();
		if (t - last_sweep >= 0.05) {
			last_sweep = t;
			/* in-flight list is in start order and all timeouts are equal */
			while (g_head && g_head->deadline <= t)
				finish(g_head, 0, &g_fail_timeout);
		}
	}
	double wall = now_mono() - t0;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
		     (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	printf("{\"probes\":%ld,\"ok\":%ld,\"failed\":%ld,\"wall_s\":%.6f,\"cpu_s\":%.6f,"
	       "\"maxrss_kib\":%ld,\"depth\":\"%s\",\"concurrency\":%ld,\"tls_max\":\"%s\","
	       "\"peak_inflight\":%ld,\"fail_connect\":%ld,\"fail_timeout\":%ld,\"fail_proto\":%ld,"
	       "\"fail_tls\":%ld,\"fail_emfile\":%ld,\"user_s\":%.6f,\"sys_s\":%.6f}\n",
	       count, g_ok, g_failed, wall, cpu, peak_rss_kib(ru.ru_maxrss), g_full ? "full" : "quick", conc,
	       tls13 ? "1.3" : "1.2", g_peak_inflight, g_fail_connect, g_fail_timeout, g_fail_proto,
	       g_fail_tls, g_fail_emfile,
	       ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6, ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
	return 0;
}
