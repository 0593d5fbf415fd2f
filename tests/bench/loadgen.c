/*
 * loadgen.c - a websocket load client for xiaoer (and the echo baseline).
 *
 * One thread, one epoll set, non-blocking sockets; frames are built and
 * parsed with tests/wsframe.h.  It opens --conns buyer connections at
 * --ramp per second (at most --max-pending handshakes at once, so the
 * listen backlog is never overrun), then drives them:
 *
 *   closed  every connection keeps exactly one message in flight and sends
 *           the next when the reply to the previous one comes back
 *   open    --rate messages per second in total, paced by a timerfd and
 *           spread round-robin over the connections, whatever the replies
 *   idle    no messages: connection memory and idle CPU only
 *
 * Message ids are "CONN-SEQ-SENT_US": the reply's reply_to gives back the
 * connection, the sequence number (replies come in order per connection,
 * so a skipped number is a missing reply) and the send time on the
 * monotonic clock, so the round trip needs no table.  Latencies go into a
 * log-linear histogram (1 us resolution below 64 us, 32 sub-buckets per
 * power of two above: about 3 % error) for the percentiles.
 *
 * Only replies received in the measured window (after --warmup, for
 * --duration) count towards msg/s and the latencies.  With --server-pid
 * the server's VmRSS and utime+stime are read from /proc before the
 * connections open, once they are all open and idle, and at both ends of
 * the window.
 *
 * The report is a few "loadgen: ..." lines on stdout, and with --json one
 * more line with the same numbers as a flat JSON object.  Exit status 0
 * after a run (whatever was measured), 1 when the run could not happen
 * (no file descriptors, nothing connected), 2 on a usage error.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/rand.h>

#include "../../bot/util.h"
#include "../wsframe.h"
#include "texts.h"

#define LG_MAX_CONNS	 20000
#define LG_RX_BUF	 (256 * 1024)
#define LG_MAX_MESSAGE	 (1024 * 1024) /* larger frames: protocol error */
#define LG_MAX_OUT	 (1024 * 1024) /* unsent bytes before giving up */
#define LG_MAX_TEXT	 16384	       /* one buyer message, JSON-escaped */
#define LG_EVENTS	 1024
#define LG_TIMER_TAG	 UINT32_MAX
#define LG_SETTLE_US	 1000000 /* idle time before the RSS sample */
#define LG_DRAIN_US	 2000000 /* wait for replies after the window */
#define LG_CLOSE_US	 2000000 /* wait for the server's close */
#define LG_CHURN_TICK_US 100000
#define LG_TIMEOUT_TICK	 1000000
#define LG_MAX_SAMPLES	 10000
#define LG_MAX_ERR_CODES 8
#define LG_MAX_SECONDS	 86400.0

/* Log-linear histogram of microseconds. */
#define HIST_SUB_BITS 5
#define HIST_SUB      (1 << HIST_SUB_BITS)
#define HIST_N	      (2 * HIST_SUB + 36 * HIST_SUB)

struct hist {
	uint64_t count[HIST_N];
	uint64_t n;
	int64_t max;
	double sum;
};

enum mode { MODE_CLOSED, MODE_OPEN, MODE_IDLE };

enum conn_state {
	CONN_NEW,	 /* not opened yet, or waiting to reconnect */
	CONN_CONNECTING, /* TCP connect in progress */
	CONN_UPGRADING,	 /* HTTP upgrade sent, waiting for the 101 */
	CONN_OPEN,
	CONN_CLOSING, /* we sent a close frame */
	CONN_DONE,    /* closed for good */
};

enum phase {
	PH_CONNECT, /* opening connections */
	PH_SETTLE,  /* all open, idle, before the RSS sample */
	PH_WARMUP,
	PH_MEASURE,
	PH_DRAIN, /* no new messages, waiting for the last replies */
	PH_CLOSE, /* close frames sent, waiting for the server */
	PH_END,
};

struct conn {
	int fd;
	uint32_t idx;
	uint8_t state;	  /* enum conn_state */
	bool pollout;	  /* EPOLLOUT is in the interest set */
	bool reconnect;	  /* reopen after closing (churn) */
	uint16_t text;	  /* text of the message in flight */
	uint32_t sent;	  /* sequence number of the last message sent */
	uint32_t acked;	  /* ... and of the last one answered */
	uint32_t rng;	  /* xorshift: masks, text choice */
	int64_t since_us; /* connect start, or send time in closed loop */
	char *in;	  /* bytes received and not parsed yet */
	size_t in_len, in_cap;
	char *out; /* bytes not sent yet: out + out_off .. out_len */
	size_t out_off, out_len, out_cap;
	char *frag; /* a fragmented message being joined */
	size_t frag_len;
	char *accept; /* expected Sec-WebSocket-Accept while upgrading */
};

struct counts {
	uint64_t sent, replies, status, other, error_frames, bad_reply_to,
		missing, timeouts, check_fail, closed, connect_fail,
		handshake_fail, churned, lost_in_churn;
};

struct opts {
	char host[64];
	int port;
	char path[512];
	bool buyer_param;
	char buyer_prefix[32]; /* --buyers: "" = lg<pid> */
	int conns;
	double ramp;
	int max_pending;
	enum mode mode;
	double rate;
	double duration, warmup;
	const char *texts;
	bool seq;
	uint64_t count;
	int server_pid;
	bool json, check;
	double churn;
	double sample;
	double timeout;
	const char *label;
};

struct errcode {
	char code[32];
	uint64_t n;
};

struct sample {
	double t;
	struct hist *h;
};

struct lg {
	struct opts o;
	struct conn *conns;
	char **text_json; /* JSON-escaped texts, quotes excluded */
	size_t *text_len;
	size_t ntexts;
	uint64_t seq_next; /* --seq: next text */
	int epfd, tfd;
	int64_t t0, armed_us;
	enum phase phase;
	int64_t phase_us; /* when the current phase started */
	/* connecting */
	uint32_t *to_open; /* stack of connection indices */
	size_t nto_open;
	int pending;
	double tokens;
	int64_t tokens_us;
	uint32_t established, open_now, connects_done;
	int64_t connect_end_us;
	/* traffic */
	int64_t traffic_us, win_start_us, win_end_us;
	int64_t next_send_us; /* open loop schedule */
	uint32_t rr;
	uint64_t inflight;   /* messages sent and not answered */
	uint64_t unanswered; /* ... when the connections were closed */
	struct hist lag;
	int64_t next_timeout_us, next_churn_us, next_sample_us;
	double churn_acc;
	/* results */
	struct counts c, at_win_start, at_win_end;
	struct hist win, interval;
	struct errcode codes[LG_MAX_ERR_CODES];
	struct sample *samples;
	size_t nsamples;
	uint64_t interval_replies;
	int max_text;
	/* server samples */
	long rss_before, rss_conns, rss_win0, rss_win1;
	double cpu_win0, cpu_win1;
	double busy_win0, busy_win1; /* all work on the server's CPUs */
	double self_cpu0, self_cpu1;
	bool stop;
};

static volatile sig_atomic_t interrupted;

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* --- histogram -------------------------------------------------------- */

static size_t
hist_index(uint64_t v)
{
	unsigned e = HIST_SUB_BITS + 1, shift;
	size_t i;

	if (v < 2 * HIST_SUB)
		return (size_t)v;
	while (e < 63 && (v >> (e + 1)) != 0)
		e++;
	shift = e - HIST_SUB_BITS;
	i = 2 * HIST_SUB + (shift - 1) * HIST_SUB +
	    (size_t)((v >> shift) - HIST_SUB);
	return i < HIST_N ? i : HIST_N - 1;
}

/* The middle of bucket 'i'. */
static double
hist_value(size_t i)
{
	unsigned shift;
	uint64_t sub;

	if (i < 2 * HIST_SUB)
		return (double)i;
	shift = (unsigned)((i - 2 * HIST_SUB) / HIST_SUB) + 1;
	sub = (i - 2 * HIST_SUB) % HIST_SUB + HIST_SUB;
	return ((double)(sub << shift) + (double)((sub + 1) << shift) - 1) / 2;
}

static void
hist_add(struct hist *h, int64_t us)
{
	if (us < 0)
		us = 0;
	h->count[hist_index((uint64_t)us)]++;
	h->n++;
	h->sum += (double)us;
	if (us > h->max)
		h->max = us;
}

static void
hist_merge(struct hist *into, const struct hist *h)
{
	size_t i;

	for (i = 0; i < HIST_N; i++)
		into->count[i] += h->count[i];
	into->n += h->n;
	into->sum += h->sum;
	if (h->max > into->max)
		into->max = h->max;
}

/* Percentile 'p' (0..100) in microseconds; 0 when empty. */
static double
hist_pct(const struct hist *h, double p)
{
	uint64_t want, seen = 0;
	size_t i;
	double v;

	if (h->n == 0)
		return 0;
	if (p >= 100)
		return (double)h->max;
	want = (uint64_t)ceil(p / 100 * (double)h->n);
	if (want == 0)
		want = 1;
	for (i = 0; i < HIST_N; i++) {
		seen += h->count[i];
		if (seen >= want) {
			v = hist_value(i);
			return v > (double)h->max ? (double)h->max : v;
		}
	}
	return (double)h->max;
}

/* --- /proc of the server ---------------------------------------------- */

static long
proc_rss_kb(int pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "VmRSS:", 6) == 0) {
			kb = strtol(line + 6, NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

/* utime + stime of the whole process, in seconds; -1 when unknown. */
static double
proc_cpu_s(int pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The name may hold spaces and parens: fields restart after ")". */
	p = strrchr(buf, ')');
	if (p == NULL || sscanf(p + 2,
				"%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
				"%llu %llu",
				&ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static long
proc_fds(int pid)
{
	char path[64];
	struct dirent *de;
	long n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* Is CPU 'n' in a list like "0-3,6" (Cpus_allowed_list)? */
static bool
cpu_in_list(const char *list, long n)
{
	const char *p = list;

	while (*p >= '0' && *p <= '9') {
		char *end;
		long lo = strtol(p, &end, 10), hi = lo;

		if (*end == '-')
			hi = strtol(end + 1, &end, 10);
		if (n >= lo && n <= hi)
			return true;
		if (*end != ',')
			break;
		p = end + 1;
	}
	return false;
}

/*
 * Seconds the CPUs the server may run on have been busy (user, nice,
 * system, irq, softirq and steal, from /proc/stat), whoever ran there:
 * minus the server's own CPU time, that is the other load that disturbs
 * the measurement.  -1 when unknown.
 */
static double
cpus_busy_s(int pid)
{
	char path[64], line[512], allowed[256] = "";
	unsigned long long v[8], busy = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "Cpus_allowed_list:", 18) == 0)
			snprintf(allowed, sizeof(allowed), "%s",
				 line + 18 + strspn(line + 18, " \t"));
	fclose(f);
	f = fopen("/proc/stat", "r");
	if (f == NULL || allowed[0] == '\0') {
		if (f)
			fclose(f);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		long n;

		if (strncmp(line, "cpu", 3) != 0 || line[3] < '0' ||
		    line[3] > '9')
			continue;
		n = strtol(line + 3, NULL, 10);
		if (!cpu_in_list(allowed, n) ||
		    sscanf(line + 3,
			   "%*d %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
			   &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
			   &v[7]) != 8)
			continue;
		/* user nice system idle iowait irq softirq steal */
		busy += v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
	}
	fclose(f);
	return (double)busy / (double)sysconf(_SC_CLK_TCK);
}

static double
self_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* --- texts ------------------------------------------------------------ */

static void
add_text(struct lg *lg, const char *s, size_t len)
{
	struct strbuf sb;

	strbuf_init(&sb);
	strbuf_add_json_str(&sb, s, len);
	if (sb.len < 2 || sb.len - 2 > LG_MAX_TEXT) {
		strbuf_release(&sb);
		return;
	}
	lg->text_json = xrealloc(lg->text_json,
				 (lg->ntexts + 1) * sizeof(*lg->text_json));
	lg->text_len = xrealloc(lg->text_len,
				(lg->ntexts + 1) * sizeof(*lg->text_len));
	/* Drop the quotes: the message template has its own. */
	lg->text_json[lg->ntexts] = xstrndup(sb.buf + 1, sb.len - 2);
	lg->text_len[lg->ntexts] = sb.len - 2;
	lg->ntexts++;
	strbuf_release(&sb);
}

/* The messages of 'path' (texts.h says which lines count). */
static int
load_texts(struct lg *lg, const char *path)
{
	char **v;
	long n = bench_texts_read(path, SIZE_MAX, &v), i;

	if (n < 0) {
		fprintf(stderr, "loadgen: cannot read '%s': %s\n", path,
			strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++)
		add_text(lg, v[i], strlen(v[i]));
	bench_texts_free(v, (size_t)n);
	if (lg->ntexts == 0) {
		fprintf(stderr, "loadgen: no messages in '%s'\n", path);
		return -1;
	}
	return 0;
}

/* --- connections ------------------------------------------------------ */

static void
watch(struct lg *lg, struct conn *c, bool out)
{
	struct epoll_event ev;

	if (c->pollout == out)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | (out ? EPOLLOUT : 0);
	ev.data.u32 = c->idx;
	epoll_ctl(lg->epfd, EPOLL_CTL_MOD, c->fd, &ev);
	c->pollout = out;
}

static void
conn_free_buffers(struct conn *c)
{
	free(c->in);
	free(c->out);
	free(c->frag);
	free(c->accept);
	c->in = c->out = c->frag = c->accept = NULL;
	c->in_len = c->in_cap = 0;
	c->out_off = c->out_len = c->out_cap = 0;
	c->frag_len = 0;
}

/* Close the socket; reconnect later when churning, else done. */
static void
conn_close(struct lg *lg, struct conn *c)
{
	if (c->state == CONN_CONNECTING || c->state == CONN_UPGRADING)
		lg->pending--;
	if (c->state == CONN_OPEN || c->state == CONN_CLOSING)
		lg->open_now--;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->pollout = false;
	lg->inflight -= c->sent - c->acked;
	c->acked = c->sent;
	conn_free_buffers(c);
	if (c->reconnect && !lg->stop && lg->phase < PH_DRAIN) {
		c->reconnect = false;
		c->state = CONN_NEW;
		lg->to_open[lg->nto_open++] = c->idx;
	} else {
		c->state = CONN_DONE;
	}
}

/* The peer went away or broke the protocol. */
static void
conn_lost(struct lg *lg, struct conn *c)
{
	if (c->state == CONN_CLOSING || lg->phase >= PH_CLOSE) {
		conn_close(lg, c);
		return;
	}
	if (c->state == CONN_CONNECTING) {
		lg->c.connect_fail++;
	} else if (c->state == CONN_UPGRADING) {
		lg->c.handshake_fail++;
	} else {
		lg->c.closed++;
		if (lg->o.churn > 0)
			c->reconnect = true;
	}
	conn_close(lg, c);
}

static int
flush_out(struct lg *lg, struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off,
				 c->out_len - c->out_off, MSG_NOSIGNAL);

		if (n > 0) {
			c->out_off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			watch(lg, c, true);
			return 0;
		}
		return -1;
	}
	c->out_off = c->out_len = 0;
	watch(lg, c, false);
	return 0;
}

static void
out_append(struct conn *c, const void *p, size_t len)
{
	if (c->out_off > 0 && c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->out_len + len > c->out_cap) {
		c->out_cap = (c->out_len + len) * 2;
		c->out = xrealloc(c->out, c->out_cap);
	}
	memcpy(c->out + c->out_len, p, len);
	c->out_len += len;
}

/* Queue or send one masked frame.  Returns 0, or -1 when the peer is gone. */
static int
send_frame(struct lg *lg, struct conn *c, int opcode, const char *p, size_t len)
{
	static unsigned char tx[WSFRAME_HEAD_MAX + LG_MAX_TEXT + 256];
	uint32_t mask = wsframe_rand(&c->rng);
	size_t hlen;

	if (len > LG_MAX_TEXT + 200)
		return -1;
	hlen = wsframe_head(tx, opcode, true, len, mask);
	wsframe_mask(tx + hlen, (const unsigned char *)p, len, mask);
	len += hlen;
	if (c->out_off == c->out_len) {
		/* Nothing queued: straight from 'tx', keep only the rest. */
		ssize_t n = send(c->fd, tx, len, MSG_NOSIGNAL);

		if (n == (ssize_t)len)
			return 0;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR)
			return -1;
		hlen = n > 0 ? (size_t)n : 0;
		out_append(c, tx + hlen, len - hlen);
		watch(lg, c, true);
		return 0;
	}
	if (c->out_len - c->out_off + len > LG_MAX_OUT)
		return -1; /* the server stopped reading */
	out_append(c, tx, len);
	return flush_out(lg, c);
}

static int
send_close(struct lg *lg, struct conn *c)
{
	const char payload[2] = {(char)(1000 >> 8), (char)(1000 & 0xff)};

	c->state = CONN_CLOSING;
	return send_frame(lg, c, 0x8, payload, sizeof(payload));
}

static void
open_conn(struct lg *lg, uint32_t idx)
{
	struct conn *c = &lg->conns[idx];
	struct sockaddr_in sa;
	struct epoll_event ev;
	int one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (c->fd < 0) {
		lg->c.connect_fail++;
		c->state = CONN_DONE;
		return;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)lg->o.port);
	inet_pton(AF_INET, lg->o.host, &sa.sin_addr);
	c->state = CONN_CONNECTING;
	c->since_us = now_us();
	c->sent = c->acked = 0;
	lg->pending++;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLOUT;
	ev.data.u32 = idx;
	c->pollout = true;
	if (epoll_ctl(lg->epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0 ||
	    (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 &&
	     errno != EINPROGRESS))
		conn_lost(lg, c);
}

/* The TCP connection is up: send the upgrade request. */
static void
on_connected(struct lg *lg, struct conn *c)
{
	unsigned char nonce[16];
	char key[WSFRAME_KEY_LEN], req[1024];
	int soerr = 0, n;
	socklen_t sl = sizeof(soerr);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 ||
	    soerr != 0) {
		conn_lost(lg, c);
		return;
	}
	for (n = 0; n < 16; n += 4) {
		uint32_t r = wsframe_rand(&c->rng);

		memcpy(nonce + n, &r, 4);
	}
	wsframe_make_key(nonce, key);
	c->accept = xmalloc(WSFRAME_ACCEPT_LEN);
	wsframe_accept_key(key, c->accept);
	if (lg->o.buyer_param) {
		char prefix[48];

		if (lg->o.buyer_prefix[0])
			snprintf(prefix, sizeof(prefix), "%s",
				 lg->o.buyer_prefix);
		else
			snprintf(prefix, sizeof(prefix), "lg%d", (int)getpid());
		n = snprintf(req, sizeof(req),
			     "GET %s%cbuyer=%s-%u HTTP/1.1\r\n"
			     "Host: %s:%d\r\n"
			     "Upgrade: websocket\r\n"
			     "Connection: Upgrade\r\n"
			     "Sec-WebSocket-Key: %s\r\n"
			     "Sec-WebSocket-Version: 13\r\n\r\n",
			     lg->o.path, strchr(lg->o.path, '?') ? '&' : '?',
			     prefix, c->idx, lg->o.host, lg->o.port, key);
	} else
		n = snprintf(req, sizeof(req),
			     "GET %s HTTP/1.1\r\n"
			     "Host: %s:%d\r\n"
			     "Upgrade: websocket\r\n"
			     "Connection: Upgrade\r\n"
			     "Sec-WebSocket-Key: %s\r\n"
			     "Sec-WebSocket-Version: 13\r\n\r\n",
			     lg->o.path, lg->o.host, lg->o.port, key);
	c->state = CONN_UPGRADING;
	out_append(c, req, (size_t)n);
	if (flush_out(lg, c) < 0)
		conn_lost(lg, c);
}

/* --- messages --------------------------------------------------------- */

/* Find 'needle' in 'len' bytes of 's' (memmem is not POSIX). */
static const char *
find(const char *s, size_t len, const char *needle)
{
	size_t n = strlen(needle), i;

	if (len < n)
		return NULL;
	for (i = 0; i + n <= len; i++)
		if (s[i] == needle[0] && memcmp(s + i, needle, n) == 0)
			return s + i;
	return NULL;
}

/* The string value of "key":"..." (no escapes in it), or NULL. */
static const char *
field(const char *s, size_t len, const char *key, size_t *vlen)
{
	char pat[48];
	const char *v, *end;

	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	v = find(s, len, pat);
	if (v == NULL)
		return NULL;
	v += strlen(pat);
	end = memchr(v, '"', (size_t)(s + len - v));
	if (end == NULL)
		return NULL;
	*vlen = (size_t)(end - v);
	return v;
}

static bool
in_window(const struct lg *lg)
{
	return lg->phase == PH_MEASURE;
}

static uint16_t
pick_text(struct lg *lg, struct conn *c)
{
	uint32_t n = (uint32_t)lg->ntexts;
	uint16_t t;

	if (lg->o.seq)
		return (uint16_t)(lg->seq_next++ % n);
	/* A different text each time: repeats hand over to a human. */
	t = (uint16_t)(wsframe_rand(&c->rng) % n);
	if (n > 1 && t == c->text)
		t = (uint16_t)((t + 1) % n);
	return t;
}

static bool
may_send(const struct lg *lg)
{
	if (lg->stop || lg->phase < PH_WARMUP || lg->phase > PH_MEASURE)
		return false;
	return lg->o.count == 0 || lg->c.sent < lg->o.count;
}

static void
send_message(struct lg *lg, struct conn *c, int64_t now)
{
	static char buf[LG_MAX_TEXT + 256];
	uint16_t t = pick_text(lg, c);
	int n;

	c->text = t;
	c->sent++;
	lg->inflight++;
	c->since_us = now;
	n = snprintf(buf, sizeof(buf),
		     "{\"type\":\"message\",\"id\":\"%u-%u-%lld\",\"text\":\"",
		     c->idx, c->sent, (long long)(now - lg->t0));
	memcpy(buf + n, lg->text_json[t], lg->text_len[t]);
	n += (int)lg->text_len[t];
	memcpy(buf + n, "\"}", 2);
	n += 2;
	lg->c.sent++;
	if (send_frame(lg, c, 0x1, buf, (size_t)n) < 0)
		conn_lost(lg, c);
}

static void
count_error_code(struct lg *lg, const char *s, size_t len)
{
	size_t vlen, i;
	const char *v = field(s, len, "code", &vlen);

	if (v == NULL) {
		v = "?";
		vlen = 1;
	}
	if (vlen >= sizeof(lg->codes[0].code))
		vlen = sizeof(lg->codes[0].code) - 1;
	for (i = 0; i < LG_MAX_ERR_CODES; i++) {
		struct errcode *e = &lg->codes[i];

		if (e->n == 0) {
			memcpy(e->code, v, vlen);
			e->code[vlen] = '\0';
		}
		if (strlen(e->code) == vlen && memcmp(e->code, v, vlen) == 0) {
			e->n++;
			return;
		}
	}
}

/* --check: a reply must carry non-empty text, intent and script. */
static bool
reply_ok(const char *s, size_t len)
{
	json_t *root = json_loadb(s, len, 0, NULL);
	const char *keys[] = {"text", "intent", "script", "reply_to"};
	bool ok = root != NULL && json_is_object(root);
	size_t i;

	for (i = 0; ok && i < ARRAY_SIZE(keys); i++) {
		json_t *v = json_object_get(root, keys[i]);

		ok = json_is_string(v) && json_string_length(v) > 0;
	}
	json_decref(root);
	return ok;
}

static bool
status_ok(const char *s, size_t len)
{
	json_t *root = json_loadb(s, len, 0, NULL);
	bool ok =
		root != NULL && json_is_string(json_object_get(root, "state"));

	json_decref(root);
	return ok;
}

/*
 * Match a reply_to against what this connection has in flight: returns
 * the send time, or -1 when it is not one of ours.
 */
static int64_t
match_reply(struct lg *lg, struct conn *c, const char *v, size_t vlen)
{
	char id[64], *p, *q;
	unsigned long idx, seq;
	long long t;

	if (vlen >= sizeof(id))
		return -1;
	memcpy(id, v, vlen);
	id[vlen] = '\0';
	idx = strtoul(id, &p, 10);
	if (*p != '-')
		return -1;
	seq = strtoul(p + 1, &q, 10);
	if (*q != '-')
		return -1;
	t = strtoll(q + 1, &p, 10);
	if (*p != '\0' || idx != c->idx || seq <= c->acked || seq > c->sent)
		return -1;
	lg->c.missing += seq - c->acked - 1;
	lg->inflight -= seq - c->acked;
	c->acked = (uint32_t)seq;
	return lg->t0 + t;
}

static void
on_message(struct lg *lg, struct conn *c, const char *s, size_t len)
{
	int64_t now = now_us(), sent = -1, rtt;
	size_t tlen = 0, vlen = 0;
	const char *type = field(s, len, "type", &tlen);
	const char *v = field(s, len, "reply_to", &vlen);
	bool reply = type && tlen == 5 && memcmp(type, "reply", 5) == 0;
	bool error = type && tlen == 5 && memcmp(type, "error", 5) == 0;

	if (reply || error) {
		if (v != NULL)
			sent = match_reply(lg, c, v, vlen);
		if (sent < 0 && reply)
			lg->c.bad_reply_to++;
	}
	if (error) {
		lg->c.error_frames++;
		count_error_code(lg, s, len);
	} else if (reply) {
		if (lg->o.check && !reply_ok(s, len))
			lg->c.check_fail++;
		if (sent >= 0) {
			lg->c.replies++;
			rtt = now - sent;
			if (in_window(lg) && sent >= lg->win_start_us) {
				hist_add(&lg->win, rtt);
				if (rtt == lg->win.max)
					lg->max_text = c->text;
			}
			if (lg->o.sample > 0 && lg->phase >= PH_WARMUP) {
				hist_add(&lg->interval, rtt);
				lg->interval_replies++;
			}
		}
	} else if (type && tlen == 6 && memcmp(type, "status", 6) == 0) {
		lg->c.status++;
		if (lg->o.check && !status_ok(s, len))
			lg->c.check_fail++;
	} else {
		lg->c.other++;
		if (lg->o.check && type == NULL)
			lg->c.check_fail++;
	}
	if (lg->o.mode == MODE_CLOSED && c->state == CONN_OPEN &&
	    c->acked == c->sent && sent >= 0 && may_send(lg))
		send_message(lg, c, now);
}

/* One complete frame.  Returns -1 to drop the connection. */
static int
on_frame(struct lg *lg, struct conn *c, const struct wsframe *f, const char *p,
	 size_t len)
{
	int op = f->opcode;

	if (op == 0x9)
		return send_frame(lg, c, 0xa, p, len);
	if (op == 0xa)
		return 0;
	if (op == 0x8) {
		if (c->state != CONN_CLOSING && lg->phase < PH_CLOSE) {
			lg->c.closed++;
			if (lg->o.churn > 0)
				c->reconnect = true;
		}
		if (c->state != CONN_CLOSING)
			send_close(lg, c);
		return -1;
	}
	if (op == 0x0 && c->frag == NULL)
		return -1;
	if (op != 0x0 && op != 0x1 && op != 0x2)
		return -1;
	if (f->fin && c->frag == NULL) {
		on_message(lg, c, p, len);
		return 0;
	}
	if (op != 0x0 && c->frag != NULL)
		return -1;
	if (c->frag_len + len > LG_MAX_MESSAGE)
		return -1;
	c->frag = xrealloc(c->frag, c->frag_len + len + 1);
	memcpy(c->frag + c->frag_len, p, len);
	c->frag_len += len;
	if (f->fin) {
		char *m = c->frag;

		c->frag = NULL;
		on_message(lg, c, m, c->frag_len);
		c->frag_len = 0;
		free(m);
	}
	return 0;
}

/*
 * Parse the frames in 'len' bytes at 'buf'.  Returns the bytes used (the
 * rest is a partial frame), or -1 on a protocol error.
 */
static long
parse_frames(struct lg *lg, struct conn *c, const char *buf, size_t len)
{
	size_t off = 0;

	while (off < len && c->fd >= 0) {
		const unsigned char *h = (const unsigned char *)buf + off;
		struct wsframe f;
		size_t hlen = wsframe_parse(h, len - off, &f);

		if (len - off >= 2 && (f.rsv || f.masked))
			return -1;
		if (hlen == 0)
			break;
		if (f.len > LG_MAX_MESSAGE)
			return -1;
		if (len - off - hlen < f.len)
			break;
		if (on_frame(lg, c, &f, (const char *)h + hlen, (size_t)f.len) <
		    0)
			return -1;
		off += hlen + (size_t)f.len;
		if (c->state != CONN_OPEN && c->state != CONN_CLOSING)
			break;
	}
	return (long)off;
}

/* Drop 'used' bytes from the front of c->in; free it once empty. */
static void
consume(struct conn *c, size_t used)
{
	if (used >= c->in_len) {
		free(c->in);
		c->in = NULL;
		c->in_len = c->in_cap = 0;
		return;
	}
	memmove(c->in, c->in + used, c->in_len - used);
	c->in_len -= used;
}

/* The HTTP answer to the upgrade, at the start of c->in. */
static void
on_upgrade(struct lg *lg, struct conn *c)
{
	char *end, *acc;
	size_t head;
	long used;

	c->in[c->in_len] = '\0';
	end = strstr(c->in, "\r\n\r\n");
	if (end == NULL) {
		if (c->in_len > 8192)
			conn_lost(lg, c);
		return;
	}
	head = (size_t)(end + 4 - c->in);
	*end = '\0';
	acc = strstr(c->in, "Sec-WebSocket-Accept: ");
	if (strncmp(c->in, "HTTP/1.1 101", 12) != 0 || acc == NULL ||
	    strncmp(acc + 22, c->accept, WSFRAME_ACCEPT_LEN - 1) != 0) {
		conn_lost(lg, c);
		return;
	}
	free(c->accept);
	c->accept = NULL;
	c->state = CONN_OPEN;
	lg->pending--;
	lg->open_now++;
	lg->established++;
	consume(c, head);
	if (lg->o.mode == MODE_CLOSED && may_send(lg) && c->acked == c->sent)
		send_message(lg, c, now_us());
	if (c->in == NULL)
		return;
	used = parse_frames(lg, c, c->in, c->in_len);
	if (used < 0) {
		conn_lost(lg, c);
		return;
	}
	if (c->fd >= 0)
		consume(c, (size_t)used);
}

static void
keep_partial(struct conn *c, const char *p, size_t len)
{
	if (len + 1 > c->in_cap) {
		c->in_cap = len + 1 > 4096 ? (len + 1) * 2 : 4096;
		c->in = xrealloc(c->in, c->in_cap);
	}
	memmove(c->in, p, len);
	c->in_len = len;
}

static void
on_readable(struct lg *lg, struct conn *c)
{
	static char rx[LG_RX_BUF];
	ssize_t n;
	long used;

	if (c->in_len == 0 &&
	    (c->state == CONN_OPEN || c->state == CONN_CLOSING)) {
		/* The common case: whole frames, parsed in place. */
		n = recv(c->fd, rx, sizeof(rx), 0);
		if (n <= 0) {
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				return;
			conn_lost(lg, c);
			return;
		}
		used = parse_frames(lg, c, rx, (size_t)n);
		if (used < 0) {
			conn_lost(lg, c);
			return;
		}
		if (c->fd >= 0 && (size_t)used < (size_t)n)
			keep_partial(c, rx + used, (size_t)n - (size_t)used);
		return;
	}
	if (c->in_cap - c->in_len < 16384 + 1) {
		c->in_cap = c->in_cap * 2 + 16384 + 1;
		if (c->in_cap > LG_MAX_MESSAGE * 2) {
			conn_lost(lg, c);
			return;
		}
		c->in = xrealloc(c->in, c->in_cap);
	}
	n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len - 1, 0);
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		conn_lost(lg, c);
		return;
	}
	c->in_len += (size_t)n;
	if (c->state == CONN_UPGRADING) {
		on_upgrade(lg, c);
		return;
	}
	used = parse_frames(lg, c, c->in, c->in_len);
	if (used < 0) {
		conn_lost(lg, c);
		return;
	}
	if (c->fd >= 0)
		consume(c, (size_t)used);
}

static void
on_event(struct lg *lg, struct conn *c, uint32_t events)
{
	if (c->fd < 0)
		return;
	if (c->state == CONN_CONNECTING) {
		if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
			on_connected(lg, c);
		return;
	}
	if (events & EPOLLOUT) {
		if (flush_out(lg, c) < 0) {
			conn_lost(lg, c);
			return;
		}
	}
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
		on_readable(lg, c);
}

/* --- the schedule ----------------------------------------------------- */

static void
set_phase(struct lg *lg, enum phase ph, int64_t now)
{
	lg->phase = ph;
	lg->phase_us = now;
}

static void window_begin(struct lg *lg, int64_t now);

static void
start_traffic(struct lg *lg, int64_t now)
{
	uint32_t i;

	lg->traffic_us = now;
	set_phase(lg, PH_WARMUP, now);
	lg->next_send_us = now;
	lg->next_timeout_us = now + LG_TIMEOUT_TICK;
	lg->next_churn_us = now + LG_CHURN_TICK_US;
	if (lg->o.sample > 0)
		lg->next_sample_us = now + (int64_t)(lg->o.sample * 1e6);
	if (lg->o.warmup <= 0)
		window_begin(lg, now);
	if (lg->o.mode != MODE_CLOSED)
		return;
	for (i = 0; i < (uint32_t)lg->o.conns && may_send(lg); i++) {
		struct conn *c = &lg->conns[i];

		if (c->state == CONN_OPEN)
			send_message(lg, c, now_us());
	}
}

static void
window_begin(struct lg *lg, int64_t now)
{
	set_phase(lg, PH_MEASURE, now);
	lg->win_start_us = now;
	lg->at_win_start = lg->c;
	memset(&lg->win, 0, sizeof(lg->win));
	lg->self_cpu0 = self_cpu_s();
	if (lg->o.server_pid > 0) {
		lg->cpu_win0 = proc_cpu_s(lg->o.server_pid);
		lg->busy_win0 = cpus_busy_s(lg->o.server_pid);
		lg->rss_win0 = proc_rss_kb(lg->o.server_pid);
	}
}

static void
window_end(struct lg *lg, int64_t now)
{
	lg->win_end_us = now;
	lg->at_win_end = lg->c;
	lg->self_cpu1 = self_cpu_s();
	if (lg->o.server_pid > 0) {
		lg->cpu_win1 = proc_cpu_s(lg->o.server_pid);
		lg->busy_win1 = cpus_busy_s(lg->o.server_pid);
		lg->rss_win1 = proc_rss_kb(lg->o.server_pid);
	}
	set_phase(lg, PH_DRAIN, now);
}

static void
close_all(struct lg *lg, int64_t now)
{
	int i;

	set_phase(lg, PH_CLOSE, now);
	lg->unanswered = lg->inflight;
	lg->nto_open = 0;
	for (i = 0; i < lg->o.conns; i++) {
		struct conn *c = &lg->conns[i];

		if (c->state == CONN_OPEN) {
			if (send_close(lg, c) < 0)
				conn_close(lg, c);
		} else if (c->state == CONN_CONNECTING ||
			   c->state == CONN_UPGRADING) {
			conn_close(lg, c);
		}
	}
}

static void
open_some(struct lg *lg, int64_t now)
{
	double burst = lg->o.ramp / 100 + 1;

	lg->tokens += (double)(now - lg->tokens_us) * lg->o.ramp / 1e6;
	lg->tokens_us = now;
	if (lg->tokens > burst)
		lg->tokens = burst;
	while (lg->nto_open > 0 && lg->tokens >= 1 &&
	       lg->pending < lg->o.max_pending) {
		open_conn(lg, lg->to_open[--lg->nto_open]);
		lg->tokens -= 1;
	}
}

static void
check_timeouts(struct lg *lg, int64_t now)
{
	int64_t limit = (int64_t)(lg->o.timeout * 1e6);
	int i;

	for (i = 0; i < lg->o.conns; i++) {
		struct conn *c = &lg->conns[i];

		if ((c->state == CONN_CONNECTING ||
		     c->state == CONN_UPGRADING) &&
		    now - c->since_us > limit) {
			conn_lost(lg, c);
			continue;
		}
		if (c->state != CONN_OPEN || c->acked == c->sent ||
		    lg->o.mode != MODE_CLOSED || now - c->since_us <= limit)
			continue;
		/* Give up on this message and go on with the next. */
		lg->c.timeouts++;
		lg->inflight -= c->sent - c->acked;
		c->acked = c->sent;
		if (may_send(lg))
			send_message(lg, c, now);
	}
}

static void
churn(struct lg *lg)
{
	uint32_t n = (uint32_t)lg->o.conns, tries;

	lg->churn_acc += (double)n * lg->o.churn / 100 *
			 ((double)LG_CHURN_TICK_US / 1e6);
	for (tries = 0; lg->churn_acc >= 1 && tries < n; tries++) {
		struct conn *c =
			&lg->conns[wsframe_rand(&lg->conns[0].rng) % n];

		if (c->state != CONN_OPEN)
			continue;
		lg->churn_acc -= 1;
		lg->c.churned++;
		lg->c.lost_in_churn += c->sent - c->acked;
		c->reconnect = true;
		/* Half say goodbye, half just vanish (a phone losing signal).
		 */
		if (lg->c.churned % 2)
			send_close(lg, c);
		conn_close(lg, c);
	}
}

static void
take_sample(struct lg *lg, int64_t now)
{
	struct hist *h;
	double t = (double)(now - lg->traffic_us) / 1e6;
	long rss = -1, fds = -1;

	if (lg->o.server_pid > 0) {
		rss = proc_rss_kb(lg->o.server_pid);
		fds = proc_fds(lg->o.server_pid);
	}
	printf("loadgen: sample t=%.0f s rss_kb=%ld fds=%ld open=%u "
	       "msg_s=%.1f p99_ms=%.2f errors=%llu\n",
	       t, rss, fds, lg->open_now,
	       (double)lg->interval_replies / lg->o.sample,
	       hist_pct(&lg->interval, 99) / 1000,
	       (unsigned long long)(lg->c.error_frames + lg->c.closed +
				    lg->c.bad_reply_to + lg->c.timeouts +
				    lg->c.connect_fail + lg->c.handshake_fail));
	fflush(stdout);
	if (lg->nsamples < LG_MAX_SAMPLES) {
		h = xmalloc(sizeof(*h));
		*h = lg->interval;
		lg->samples = xrealloc(
			lg->samples, (lg->nsamples + 1) * sizeof(*lg->samples));
		lg->samples[lg->nsamples].t = t;
		lg->samples[lg->nsamples].h = h;
		lg->nsamples++;
	}
	memset(&lg->interval, 0, sizeof(lg->interval));
	lg->interval_replies = 0;
}

static void
open_loop_sends(struct lg *lg, int64_t now)
{
	int64_t step = (int64_t)(1e6 / lg->o.rate);
	uint32_t n = (uint32_t)lg->o.conns, tries;

	if (step < 1)
		step = 1;
	while (lg->next_send_us <= now && may_send(lg)) {
		hist_add(&lg->lag, now - lg->next_send_us);
		lg->next_send_us += step;
		for (tries = 0; tries < n; tries++) {
			struct conn *c = &lg->conns[lg->rr++ % n];

			if (c->state == CONN_OPEN) {
				send_message(lg, c, now);
				break;
			}
		}
	}
}

/* Advance the phases; returns the next time something is due. */
static int64_t
tick(struct lg *lg, int64_t now)
{
	int64_t next = now + 100000;

	if (interrupted && !lg->stop) {
		lg->stop = true;
		if (lg->phase == PH_MEASURE)
			window_end(lg, now);
		else if (lg->phase < PH_MEASURE)
			set_phase(lg, PH_DRAIN, now);
	}
	if (lg->nto_open > 0 && lg->phase < PH_DRAIN) {
		open_some(lg, now);
		if (lg->nto_open > 0 && lg->pending < lg->o.max_pending)
			next = now + (int64_t)(1e6 / lg->o.ramp) + 1;
	}
	switch (lg->phase) {
	case PH_CONNECT:
		if ((lg->nto_open == 0 && lg->pending == 0) ||
		    now > lg->connect_end_us) {
			lg->connects_done = lg->established;
			if (lg->established == 0) {
				set_phase(lg, PH_END, now);
				break;
			}
			set_phase(lg, PH_SETTLE, now);
		}
		break;
	case PH_SETTLE:
		if (lg->o.server_pid <= 0 ||
		    now - lg->phase_us >= LG_SETTLE_US) {
			if (lg->o.server_pid > 0)
				lg->rss_conns = proc_rss_kb(lg->o.server_pid);
			start_traffic(lg, now);
		} else {
			next = lg->phase_us + LG_SETTLE_US;
		}
		break;
	case PH_WARMUP:
		if (now - lg->traffic_us >= (int64_t)(lg->o.warmup * 1e6))
			window_begin(lg, now);
		else if (lg->traffic_us + (int64_t)(lg->o.warmup * 1e6) < next)
			next = lg->traffic_us + (int64_t)(lg->o.warmup * 1e6);
		break;
	case PH_MEASURE:
		if (now - lg->win_start_us >= (int64_t)(lg->o.duration * 1e6) ||
		    (lg->o.count > 0 && lg->c.sent >= lg->o.count &&
		     lg->inflight == 0))
			window_end(lg, now);
		else if (lg->win_start_us + (int64_t)(lg->o.duration * 1e6) <
			 next)
			next = lg->win_start_us +
			       (int64_t)(lg->o.duration * 1e6);
		break;
	case PH_DRAIN:
		if (now - lg->phase_us >= LG_DRAIN_US || lg->inflight == 0)
			close_all(lg, now);
		break;
	case PH_CLOSE:
		if (now - lg->phase_us >= LG_CLOSE_US || lg->open_now == 0)
			set_phase(lg, PH_END, now);
		break;
	case PH_END:
		break;
	}
	if (lg->phase == PH_WARMUP || lg->phase == PH_MEASURE) {
		if (lg->o.mode == MODE_OPEN) {
			open_loop_sends(lg, now);
			if (lg->next_send_us < next)
				next = lg->next_send_us;
		}
		if (now >= lg->next_timeout_us) {
			check_timeouts(lg, now);
			lg->next_timeout_us = now + LG_TIMEOUT_TICK;
		}
		if (lg->o.churn > 0 && now >= lg->next_churn_us) {
			churn(lg);
			lg->next_churn_us = now + LG_CHURN_TICK_US;
		}
		if (lg->o.churn > 0 && lg->next_churn_us < next)
			next = lg->next_churn_us;
	}
	if (lg->phase >= PH_WARMUP && lg->phase <= PH_MEASURE &&
	    lg->o.sample > 0) {
		if (now >= lg->next_sample_us) {
			take_sample(lg, now);
			lg->next_sample_us += (int64_t)(lg->o.sample * 1e6);
		}
		if (lg->next_sample_us < next)
			next = lg->next_sample_us;
	}
	if (lg->phase == PH_CONNECT && now >= lg->next_timeout_us) {
		check_timeouts(lg, now);
		lg->next_timeout_us = now + LG_TIMEOUT_TICK;
	}
	return next;
}

static void
arm(struct lg *lg, int64_t at_us)
{
	struct itimerspec its;

	if (at_us == lg->armed_us)
		return;
	memset(&its, 0, sizeof(its));
	if (at_us < 1)
		at_us = 1;
	its.it_value.tv_sec = (time_t)(at_us / 1000000);
	its.it_value.tv_nsec = (long)(at_us % 1000000) * 1000;
	timerfd_settime(lg->tfd, TFD_TIMER_ABSTIME, &its, NULL);
	lg->armed_us = at_us;
}

static void
run(struct lg *lg)
{
	struct epoll_event evs[LG_EVENTS], ev;
	int64_t now = now_us();
	int i, n;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u32 = LG_TIMER_TAG;
	epoll_ctl(lg->epfd, EPOLL_CTL_ADD, lg->tfd, &ev);
	lg->tokens_us = now;
	lg->tokens = 1;
	lg->next_timeout_us = now + LG_TIMEOUT_TICK;
	lg->connect_end_us =
		now + (int64_t)(((double)lg->o.conns / lg->o.ramp + 30) * 1e6);
	set_phase(lg, PH_CONNECT, now);
	while (lg->phase != PH_END) {
		int64_t next = tick(lg, now_us());

		if (lg->phase == PH_END)
			break;
		arm(lg, next);
		n = epoll_wait(lg->epfd, evs, LG_EVENTS, 1000);
		for (i = 0; i < n; i++) {
			uint32_t tag = evs[i].data.u32;

			if (tag == LG_TIMER_TAG) {
				uint64_t expirations;

				if (read(lg->tfd, &expirations,
					 sizeof(expirations)) < 0)
					continue;
				lg->armed_us = 0;
				continue;
			}
			on_event(lg, &lg->conns[tag], evs[i].events);
		}
	}
}

/* --- report ----------------------------------------------------------- */

static uint64_t
delta(uint64_t a, uint64_t b)
{
	return b >= a ? b - a : 0;
}

static uint64_t
total_errors(const struct counts *c)
{
	return c->connect_fail + c->handshake_fail + c->closed +
	       c->error_frames + c->bad_reply_to + c->missing + c->timeouts +
	       c->check_fail;
}

static double
minute_p99(const struct lg *lg, bool last)
{
	struct hist h;
	size_t i, n = 0;
	double span;

	if (lg->nsamples == 0)
		return 0;
	memset(&h, 0, sizeof(h));
	span = lg->o.sample;
	for (i = 0; i < lg->nsamples && (double)n * span < 60; i++) {
		size_t k = last ? lg->nsamples - 1 - i : i;

		/* The first minute starts after the warm-up. */
		if (!last && lg->samples[k].t <= lg->o.warmup)
			continue;
		hist_merge(&h, lg->samples[k].h);
		n++;
	}
	return hist_pct(&h, 99) / 1000;
}

static void
report(struct lg *lg, uint64_t unanswered)
{
	const char *modes[] = {"closed", "open", "idle"};
	const struct counts *a = &lg->at_win_start, *b = &lg->at_win_end;
	const struct hist *h = &lg->win;
	double win = (double)(lg->win_end_us - lg->win_start_us) / 1e6;
	double msg_s =
		win > 0 ? (double)delta(a->replies, b->replies) / win : 0;
	double cpu = lg->cpu_win1 - lg->cpu_win0;
	double other = lg->busy_win1 - lg->busy_win0 - cpu;
	double self = lg->self_cpu1 - lg->self_cpu0;
	double per_conn = 0;
	uint64_t errors = total_errors(&lg->c);
	size_t i;

	if (lg->rss_conns > 0 && lg->rss_before > 0 && lg->connects_done)
		per_conn = (double)(lg->rss_conns - lg->rss_before) /
			   lg->connects_done;
	if (lg->o.server_pid <= 0 || lg->cpu_win0 < 0 || lg->cpu_win1 < 0)
		cpu = -1;
	if (cpu < 0 || lg->busy_win0 < 0 || lg->busy_win1 < 0)
		other = -1;
	else if (other < 0)
		other = 0; /* tick rounding */
	printf("loadgen: %s%smode %s, %d conns: %u established, %llu connect "
	       "failures, %llu handshake failures\n",
	       lg->o.label ? lg->o.label : "", lg->o.label ? ": " : "",
	       modes[lg->o.mode], lg->o.conns, lg->connects_done,
	       (unsigned long long)lg->c.connect_fail,
	       (unsigned long long)lg->c.handshake_fail);
	printf("loadgen: window %.2f s: %llu replies, %.1f msg/s (sent %llu",
	       win, (unsigned long long)delta(a->replies, b->replies), msg_s,
	       (unsigned long long)delta(a->sent, b->sent));
	if (lg->o.mode == MODE_OPEN)
		printf(", offered %.0f/s, send lag p99 %.2f ms", lg->o.rate,
		       hist_pct(&lg->lag, 99) / 1000);
	printf("); status frames %llu, other %llu\n",
	       (unsigned long long)lg->c.status,
	       (unsigned long long)lg->c.other);
	printf("loadgen: latency ms: p50 %.2f p90 %.2f p99 %.2f p99.9 %.2f "
	       "max %.2f mean %.2f (n=%llu)\n",
	       hist_pct(h, 50) / 1000, hist_pct(h, 90) / 1000,
	       hist_pct(h, 99) / 1000, hist_pct(h, 99.9) / 1000,
	       (double)h->max / 1000, h->n ? h->sum / (double)h->n / 1000 : 0,
	       (unsigned long long)h->n);
	printf("loadgen: errors %llu: connect %llu, handshake %llu, closed by "
	       "server %llu, error frames %llu, bad reply_to %llu, missing "
	       "%llu, timeouts %llu, check %llu; unanswered at the end %llu\n",
	       (unsigned long long)errors,
	       (unsigned long long)lg->c.connect_fail,
	       (unsigned long long)lg->c.handshake_fail,
	       (unsigned long long)lg->c.closed,
	       (unsigned long long)lg->c.error_frames,
	       (unsigned long long)lg->c.bad_reply_to,
	       (unsigned long long)lg->c.missing,
	       (unsigned long long)lg->c.timeouts,
	       (unsigned long long)lg->c.check_fail,
	       (unsigned long long)unanswered);
	for (i = 0; i < LG_MAX_ERR_CODES && lg->codes[i].n; i++)
		printf("loadgen: error code %s: %llu\n", lg->codes[i].code,
		       (unsigned long long)lg->codes[i].n);
	if (lg->o.churn > 0)
		printf("loadgen: churn: %llu reconnects, %llu messages in "
		       "flight dropped with them\n",
		       (unsigned long long)lg->c.churned,
		       (unsigned long long)lg->c.lost_in_churn);
	if (lg->o.server_pid > 0) {
		printf("loadgen: server rss kB: %ld before conns, %ld with "
		       "conns (%.2f KiB/conn), %ld at window start, %ld at "
		       "end\n",
		       lg->rss_before, lg->rss_conns, per_conn, lg->rss_win0,
		       lg->rss_win1);
		printf("loadgen: server cpu %.2f s in %.2f s = %.1f%% of one "
		       "core; other work on its CPUs %.1f%%\n",
		       cpu, win, win > 0 && cpu >= 0 ? cpu / win * 100 : 0,
		       win > 0 && other >= 0 ? other / win * 100 : -1);
	}
	printf("loadgen: client cpu %.1f%% of one core\n",
	       win > 0 ? self / win * 100 : 0);
	if (lg->o.sample > 0 && lg->nsamples > 0)
		printf("loadgen: p99 first minute %.2f ms, last minute %.2f "
		       "ms\n",
		       minute_p99(lg, false), minute_p99(lg, true));
	if (lg->o.conns == 1 && lg->ntexts > 1 && h->n)
		printf("loadgen: slowest text #%d (%zu bytes escaped)\n",
		       lg->max_text, lg->text_len[lg->max_text]);
	if (!lg->o.json)
		return;
	printf("{\"label\":\"%s\",\"mode\":\"%s\",\"conns\":%d,"
	       "\"established\":%u,\"window_s\":%.3f,\"replies\":%llu,"
	       "\"sent\":%llu,\"msg_s\":%.1f,\"offered\":%.1f,"
	       "\"lag_p99_ms\":%.2f,"
	       "\"p50_ms\":%.2f,\"p90_ms\":%.2f,\"p99_ms\":%.2f,"
	       "\"p999_ms\":%.2f,\"max_ms\":%.2f,\"mean_ms\":%.3f,"
	       "\"errors\":%llu,\"connect_fail\":%llu,"
	       "\"handshake_fail\":%llu,\"closed\":%llu,"
	       "\"error_frames\":%llu,\"bad_reply_to\":%llu,"
	       "\"missing\":%llu,\"timeouts\":%llu,\"check_fail\":%llu,"
	       "\"unanswered\":%llu,\"status\":%llu,\"other\":%llu,"
	       "\"churned\":%llu,"
	       "\"rss_before_kb\":%ld,\"rss_conns_kb\":%ld,"
	       "\"rss_per_conn_kib\":%.2f,\"rss_win0_kb\":%ld,"
	       "\"rss_win1_kb\":%ld,\"server_cpu_s\":%.2f,"
	       "\"server_cpu_pct\":%.1f,\"client_cpu_pct\":%.1f,"
	       "\"other_cpu_pct\":%.1f,"
	       "\"p99_first_min_ms\":%.2f,\"p99_last_min_ms\":%.2f,"
	       "\"max_text\":%d}\n",
	       lg->o.label ? lg->o.label : "", modes[lg->o.mode], lg->o.conns,
	       lg->connects_done, win,
	       (unsigned long long)delta(a->replies, b->replies),
	       (unsigned long long)delta(a->sent, b->sent), msg_s,
	       lg->o.mode == MODE_OPEN ? lg->o.rate : 0,
	       hist_pct(&lg->lag, 99) / 1000, hist_pct(h, 50) / 1000,
	       hist_pct(h, 90) / 1000, hist_pct(h, 99) / 1000,
	       hist_pct(h, 99.9) / 1000, (double)h->max / 1000,
	       h->n ? h->sum / (double)h->n / 1000 : 0,
	       (unsigned long long)errors,
	       (unsigned long long)lg->c.connect_fail,
	       (unsigned long long)lg->c.handshake_fail,
	       (unsigned long long)lg->c.closed,
	       (unsigned long long)lg->c.error_frames,
	       (unsigned long long)lg->c.bad_reply_to,
	       (unsigned long long)lg->c.missing,
	       (unsigned long long)lg->c.timeouts,
	       (unsigned long long)lg->c.check_fail,
	       (unsigned long long)unanswered, (unsigned long long)lg->c.status,
	       (unsigned long long)lg->c.other,
	       (unsigned long long)lg->c.churned, lg->rss_before, lg->rss_conns,
	       per_conn, lg->rss_win0, lg->rss_win1, cpu,
	       win > 0 && cpu >= 0 ? cpu / win * 100 : -1,
	       win > 0 ? self / win * 100 : 0,
	       win > 0 && other >= 0 ? other / win * 100 : -1,
	       lg->nsamples ? minute_p99(lg, false) : 0,
	       lg->nsamples ? minute_p99(lg, true) : 0, lg->max_text);
}

/* --- options ---------------------------------------------------------- */

static void
usage(FILE *f)
{
	fputs("usage: loadgen [options]\n"
	      "  --port P          server port on 127.0.0.1\n"
	      "  --url URL         ws://HOST:PORT/PATH[?QUERY] instead of "
	      "--port\n"
	      "                    (default path /ws/buyer)\n"
	      "  --no-buyer        do not add buyer=ID to the query\n"
	      "  --buyers NAME     buyer ids NAME-0, NAME-1, ... (default\n"
	      "                    lg<pid>-0, ...): the same buyers again\n"
	      "  --conns N         connections, 1..20000 (default 100)\n"
	      "  --ramp R          connections opened per second (default "
	      "5000)\n"
	      "  --max-pending N   handshakes in progress at most (default "
	      "256)\n"
	      "  --mode M          closed, open or idle (default closed)\n"
	      "  --rate M          open loop: messages per second in total\n"
	      "  --duration S      measured window (default 10)\n"
	      "  --warmup S        traffic before the window (default 2)\n"
	      "  --count N         stop after N messages in total\n"
	      "  --texts FILE      one message per line, or TSV column 3\n"
	      "  --seq             send the texts in file order\n"
	      "  --server-pid PID  sample the server's RSS and CPU\n"
	      "  --churn PCT       reconnect PCT % of connections per second\n"
	      "  --sample S        print RSS, fds and p99 every S seconds\n"
	      "  --timeout S       reply and handshake timeout (default 10)\n"
	      "  --check           every reply must be complete and correct\n"
	      "  --label NAME      name of the run in the report\n"
	      "  --json            also print the results as one JSON line\n"
	      "or:    loadgen --startup N [--json] -- COMMAND ARGS...\n"
	      "  time N starts of a server up to its \"listening on\" line\n",
	      f);
}

static int
parse_url(struct opts *o, const char *url)
{
	const char *p, *colon, *slash;
	size_t hlen;

	if (strncmp(url, "ws://", 5) != 0)
		return -1;
	p = url + 5;
	slash = strchr(p, '/');
	colon = strchr(p, ':');
	if (colon == NULL || (slash && colon > slash))
		return -1;
	hlen = (size_t)(colon - p);
	if (hlen == 0 || hlen >= sizeof(o->host))
		return -1;
	memcpy(o->host, p, hlen);
	o->host[hlen] = '\0';
	if (strcmp(o->host, "localhost") == 0)
		snprintf(o->host, sizeof(o->host), "127.0.0.1");
	o->port = atoi(colon + 1);
	if (slash && strlen(slash) < sizeof(o->path))
		snprintf(o->path, sizeof(o->path), "%s", slash);
	return 0;
}

static bool
num_arg(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end != '\0' || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static int
parse_args(struct opts *o, int argc, char **argv)
{
	struct in_addr addr;
	int i;

	memset(o, 0, sizeof(*o));
	snprintf(o->host, sizeof(o->host), "127.0.0.1");
	snprintf(o->path, sizeof(o->path), "/ws/buyer");
	o->buyer_param = true;
	o->conns = 100;
	o->ramp = 5000;
	o->max_pending = 256;
	o->duration = 10;
	o->warmup = 2;
	o->timeout = 10;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		double d = 0;
		bool ok = true, takes = true;

		if (strcmp(a, "--json") == 0) {
			o->json = true;
			takes = false;
		} else if (strcmp(a, "--check") == 0) {
			o->check = true;
			takes = false;
		} else if (strcmp(a, "--seq") == 0) {
			o->seq = true;
			takes = false;
		} else if (strcmp(a, "--no-buyer") == 0) {
			o->buyer_param = false;
			takes = false;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			exit(0);
		} else if (v == NULL) {
			ok = false;
		} else if (strcmp(a, "--port") == 0) {
			ok = num_arg(v, 1, 65535, &d);
			o->port = (int)d;
		} else if (strcmp(a, "--url") == 0) {
			ok = parse_url(o, v) == 0;
		} else if (strcmp(a, "--buyers") == 0) {
			/* a buyer id is 1 to 63 of A-Z a-z 0-9 _ . : @ - */
			ok = v[0] && strlen(v) <= 20 &&
			     strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				       "abcdefghijklmnopqrstuvwxyz"
				       "0123456789_.:@-") == strlen(v);
			if (ok)
				snprintf(o->buyer_prefix,
					 sizeof(o->buyer_prefix), "%s", v);
		} else if (strcmp(a, "--conns") == 0) {
			ok = num_arg(v, 1, LG_MAX_CONNS, &d);
			o->conns = (int)d;
		} else if (strcmp(a, "--ramp") == 0) {
			ok = num_arg(v, 1, 1e6, &o->ramp);
		} else if (strcmp(a, "--max-pending") == 0) {
			ok = num_arg(v, 1, LG_MAX_CONNS, &d);
			o->max_pending = (int)d;
		} else if (strcmp(a, "--mode") == 0) {
			if (strcmp(v, "closed") == 0)
				o->mode = MODE_CLOSED;
			else if (strcmp(v, "open") == 0)
				o->mode = MODE_OPEN;
			else if (strcmp(v, "idle") == 0)
				o->mode = MODE_IDLE;
			else
				ok = false;
		} else if (strcmp(a, "--rate") == 0) {
			ok = num_arg(v, 0.01, 1e7, &o->rate);
		} else if (strcmp(a, "--duration") == 0) {
			ok = num_arg(v, 0.01, LG_MAX_SECONDS, &o->duration);
		} else if (strcmp(a, "--warmup") == 0) {
			ok = num_arg(v, 0, LG_MAX_SECONDS, &o->warmup);
		} else if (strcmp(a, "--count") == 0) {
			ok = num_arg(v, 1, 1e15, &d);
			o->count = (uint64_t)d;
		} else if (strcmp(a, "--texts") == 0) {
			o->texts = v;
		} else if (strcmp(a, "--server-pid") == 0) {
			ok = num_arg(v, 1, 1e9, &d);
			o->server_pid = (int)d;
		} else if (strcmp(a, "--churn") == 0) {
			ok = num_arg(v, 0, 100, &o->churn);
		} else if (strcmp(a, "--sample") == 0) {
			ok = num_arg(v, 0.1, LG_MAX_SECONDS, &o->sample);
		} else if (strcmp(a, "--timeout") == 0) {
			ok = num_arg(v, 0.01, LG_MAX_SECONDS, &o->timeout);
		} else if (strcmp(a, "--label") == 0) {
			o->label = v;
		} else {
			fprintf(stderr, "loadgen: unknown option '%s'\n", a);
			return -1;
		}
		if (!ok) {
			fprintf(stderr,
				"loadgen: bad or missing value for '%s'\n", a);
			return -1;
		}
		if (takes)
			i++;
	}
	if (o->port == 0) {
		fprintf(stderr, "loadgen: --port or --url is required\n");
		return -1;
	}
	if (inet_pton(AF_INET, o->host, &addr) != 1) {
		fprintf(stderr, "loadgen: '%s' is not an IPv4 address\n",
			o->host);
		return -1;
	}
	if (o->mode == MODE_OPEN && o->rate <= 0) {
		fprintf(stderr, "loadgen: --mode open needs --rate\n");
		return -1;
	}
	if (o->label && strpbrk(o->label, "\"\\") != NULL) {
		fprintf(stderr, "loadgen: --label must not hold quotes\n");
		return -1;
	}
	return 0;
}

/* --- start-up time --------------------------------------------------- */

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * Run 'argv' and return the milliseconds from fork to the first line of
 * its stderr that holds "listening on", or -1.  The child is then stopped
 * with SIGTERM (SIGKILL after 5 s).
 */
static double
time_startup(char **argv)
{
	int64_t t0 = now_us(), deadline = t0 + 10000000;
	char buf[4096];
	size_t len = 0;
	double ms = -1;
	int pfd[2], status;
	pid_t pid;

	if (pipe(pfd) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(pfd[1], 2);
		if (null >= 0)
			dup2(null, 1);
		close(pfd[0]);
		close(pfd[1]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	while (ms < 0 && now_us() < deadline) {
		struct pollfd p = {pfd[0], POLLIN, 0};
		ssize_t n;

		if (poll(&p, 1, (int)((deadline - now_us()) / 1000) + 1) <= 0)
			continue;
		n = read(pfd[0], buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		if (strstr(buf, "listening on") != NULL)
			ms = (double)(now_us() - t0) / 1000;
		else if (len > sizeof(buf) / 2) {
			/* Keep the tail: the line may be split. */
			memmove(buf, buf + len - 256, 256);
			len = 256;
		}
	}
	kill(pid, SIGTERM);
	for (deadline = now_us() + 5000000; now_us() < deadline;) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		poll(NULL, 0, 5);
	}
	if (waitpid(pid, &status, WNOHANG) == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	close(pfd[0]);
	return ms;
}

/* loadgen --startup N [--json] -- COMMAND ARGS... */
static int
startup_main(int argc, char **argv)
{
	double ms[100];
	int i, n, runs = 0, cmd = 0;
	bool json = false;

	for (i = 1; i < argc && cmd == 0; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (strcmp(argv[i], "--startup") == 0 && i + 1 < argc)
			runs = atoi(argv[++i]);
		else if (strcmp(argv[i], "--") == 0)
			cmd = i + 1;
	}
	if (runs < 1 || runs > 100 || cmd == 0 || cmd >= argc) {
		fprintf(stderr, "usage: loadgen --startup N [--json] -- "
				"COMMAND ARGS...\n");
		return 2;
	}
	for (n = 0; n < runs; n++) {
		ms[n] = time_startup(argv + cmd);
		if (ms[n] < 0) {
			fprintf(stderr,
				"loadgen: '%s' printed no \"listening "
				"on\" line within 10 s\n",
				argv[cmd]);
			return 1;
		}
	}
	qsort(ms, (size_t)runs, sizeof(ms[0]), cmp_double);
	printf("loadgen: start-up ms: median %.1f, min %.1f, max %.1f "
	       "(n=%d)\n",
	       ms[runs / 2], ms[0], ms[runs - 1], runs);
	if (json)
		printf("{\"startup_median_ms\":%.1f,\"startup_min_ms\":%.1f,"
		       "\"startup_max_ms\":%.1f,\"runs\":%d}\n",
		       ms[runs / 2], ms[0], ms[runs - 1], runs);
	return 0;
}

/* Room for the connections plus a few: raise the soft (and hard) limit. */
static int
raise_nofile(int conns)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)conns + 16;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -1;
	if (rl.rlim_cur >= need)
		return 0;
	if (rl.rlim_max < need) {
		struct rlimit up = {need, need};

		if (setrlimit(RLIMIT_NOFILE, &up) == 0)
			return 0;
		fprintf(stderr,
			"loadgen: %d connections need %lu file descriptors but "
			"the hard limit is %lu: run 'ulimit -Hn %lu' as root, "
			"or use fewer --conns\n",
			conns, (unsigned long)need, (unsigned long)rl.rlim_max,
			(unsigned long)need);
		return -1;
	}
	rl.rlim_cur = need;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		fprintf(stderr,
			"loadgen: cannot raise RLIMIT_NOFILE to %lu: %s\n",
			(unsigned long)need, strerror(errno));
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct lg *lg = xcalloc(1, sizeof(*lg));
	struct sigaction sa;
	unsigned char seed[4];
	int i, rc = 1;

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--startup") == 0) {
			free(lg);
			return startup_main(argc, argv);
		}
	if (parse_args(&lg->o, argc, argv) < 0) {
		usage(stderr);
		return 2;
	}
	if (raise_nofile(lg->o.conns) < 0)
		return 1;
	if (lg->o.texts) {
		if (load_texts(lg, lg->o.texts) < 0)
			return 1;
	} else {
		for (i = 0; i < (int)bench_nbuiltin; i++)
			add_text(lg, bench_builtin_texts[i],
				 strlen(bench_builtin_texts[i]));
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	lg->epfd = epoll_create1(EPOLL_CLOEXEC);
	lg->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (lg->epfd < 0 || lg->tfd < 0) {
		fprintf(stderr, "loadgen: epoll/timerfd: %s\n",
			strerror(errno));
		return 1;
	}
	lg->t0 = now_us();
	lg->conns = xcalloc((size_t)lg->o.conns, sizeof(*lg->conns));
	lg->to_open = xcalloc((size_t)lg->o.conns, sizeof(*lg->to_open));
	if (RAND_bytes(seed, sizeof(seed)) != 1)
		memcpy(seed, &lg, sizeof(seed));
	for (i = 0; i < lg->o.conns; i++) {
		struct conn *c = &lg->conns[i];

		c->fd = -1;
		c->idx = (uint32_t)i;
		memcpy(&c->rng, seed, sizeof(c->rng));
		c->rng ^= (uint32_t)i * 2654435761u;
		c->rng |= 1;
		lg->to_open[lg->o.conns - 1 - i] = (uint32_t)i;
	}
	lg->nto_open = (size_t)lg->o.conns;
	if (lg->o.server_pid > 0) {
		lg->rss_before = proc_rss_kb(lg->o.server_pid);
		if (lg->rss_before < 0)
			fprintf(stderr,
				"loadgen: cannot read /proc/%d/status\n",
				lg->o.server_pid);
	}
	run(lg);
	if (lg->connects_done == 0) {
		fprintf(stderr,
			"loadgen: no connection to %s:%d%s could be opened\n",
			lg->o.host, lg->o.port, lg->o.path);
		rc = 1;
	} else {
		rc = 0;
	}
	report(lg, lg->unanswered);
	for (i = 0; i < lg->o.conns; i++) {
		if (lg->conns[i].fd >= 0)
			close(lg->conns[i].fd);
		conn_free_buffers(&lg->conns[i]);
	}
	for (i = 0; i < (int)lg->nsamples; i++)
		free(lg->samples[i].h);
	for (i = 0; i < (int)lg->ntexts; i++)
		free(lg->text_json[i]);
	free(lg->samples);
	free(lg->text_json);
	free(lg->text_len);
	free(lg->conns);
	free(lg->to_open);
	close(lg->epfd);
	close(lg->tfd);
	free(lg);
	return rc;
}
