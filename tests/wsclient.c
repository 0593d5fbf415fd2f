/*
 * wsclient.c - see wsclient.h.
 *
 * The socket is non-blocking; every wait is a poll() against a deadline on
 * the monotonic clock.  Incoming bytes collect in 'in' and are parsed one
 * frame at a time, so a timeout in the middle of a frame loses nothing.
 */
#include "wsclient.h"
#include "wsframe.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "../bot/util.h"

#define WSC_DEFAULT_TIMEOUT_MS	5000
#define WSC_DEFAULT_MAX_MESSAGE (16u << 20)
#define WSC_MAX_HEAD		16384

struct wsc {
	int fd;
	bool peer_closed; /* EOF, reset or close frame received */
	bool close_sent;
	size_t max_message;
	uint32_t rng;	  /* xorshift state for masking keys */
	struct strbuf in; /* received, not yet parsed: in.buf + in_off */
	size_t in_off;
	struct strbuf out;	    /* one frame being sent */
	struct strbuf msg;	    /* fragments of the message being joined */
	int msg_opcode;		    /* opcode of that message, 0 when none */
	int64_t handshake_deadline; /* of wsc_connect_start(), mono ms */
	char accept[WSFRAME_ACCEPT_LEN]; /* the Sec-WebSocket-Accept due */
	char err[160];
};

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
left_ms(int64_t deadline)
{
	int64_t d = deadline - mono_ms();

	if (d < 0)
		return 0;
	return d > 1000000 ? 1000000 : (int)d;
}

static int
fail(char *err, size_t cap, const char *what, int e)
{
	if (e)
		snprintf(err, cap, "%s: %s", what, strerror(e));
	else
		snprintf(err, cap, "%s", what);
	return -1;
}

/* Open a non-blocking TCP connection within the deadline; -1 + 'err'. */
static int
tcp_connect(const char *host, int port, int rcvbuf, int sndbuf,
	    int64_t deadline, char *err, size_t cap)
{
	struct addrinfo hints, *res = NULL, *ai;
	char serv[16];
	int fd = -1, rc, one = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(serv, sizeof(serv), "%d", port);
	rc = getaddrinfo(host, serv, &hints, &res);
	if (rc != 0) {
		snprintf(err, cap, "getaddrinfo '%s': %s", host,
			 gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		struct pollfd pfd;
		int soerr = 0;
		socklen_t sl = sizeof(soerr);

		fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
		if (fd < 0) {
			fail(err, cap, "socket", errno);
			continue;
		}
		/* Buffer sizes only take full effect before connect(). */
		if (rcvbuf > 0)
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
				   sizeof(rcvbuf));
		if (sndbuf > 0)
			setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf,
				   sizeof(sndbuf));
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno != EINPROGRESS) {
			fail(err, cap, "connect", errno);
			goto next;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		rc = poll(&pfd, 1, left_ms(deadline));
		if (rc == 0) {
			fail(err, cap, "connect: timed out", 0);
			goto next;
		}
		if (rc < 0 ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0) {
			fail(err, cap, "connect", errno);
			goto next;
		}
		if (soerr == 0)
			break;
		fail(err, cap, "connect", soerr);
	next:
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* Send all of 'len' bytes within the deadline.  0 or -1 + 'err'. */
static int
send_all(int fd, const char *p, size_t len, int64_t deadline, char *err,
	 size_t cap)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		struct pollfd pfd;
		int rc;

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return fail(err, cap, "send", errno);
		pfd.fd = fd;
		pfd.events = POLLOUT;
		rc = poll(&pfd, 1, left_ms(deadline));
		if (rc == 0)
			return fail(err, cap, "send: timed out", 0);
		if (rc < 0 && errno != EINTR)
			return fail(err, cap, "poll", errno);
	}
	return 0;
}

/*
 * Read what is available into 'sb', waiting until the deadline.  Returns
 * the byte count, 0 on EOF, -1 on error, -2 on timeout.
 */
static int
recv_some(int fd, struct strbuf *sb, int64_t deadline, char *err, size_t cap)
{
	for (;;) {
		struct pollfd pfd;
		ssize_t n;
		int rc;

		strbuf_grow(sb, 16384);
		n = recv(fd, sb->buf + sb->len, sb->alloc - sb->len - 1, 0);
		if (n > 0) {
			sb->len += (size_t)n;
			sb->buf[sb->len] = '\0';
			return n > 0x7fffffff ? 0x7fffffff : (int)n;
		}
		if (n == 0) {
			fail(err, cap, "connection closed by peer", 0);
			return 0;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return fail(err, cap, "recv", errno);
		pfd.fd = fd;
		pfd.events = POLLIN;
		rc = poll(&pfd, 1, left_ms(deadline));
		if (rc == 0) {
			fail(err, cap, "timed out", 0);
			return -2;
		}
		if (rc < 0 && errno != EINTR)
			return fail(err, cap, "poll", errno);
	}
}

/*
 * Read until 'sb' holds a whole HTTP head.  Returns its length (up to and
 * including the blank line), or -1 with 'err' filled.
 */
static long
read_head(int fd, struct strbuf *sb, int64_t deadline, char *err, size_t cap)
{
	for (;;) {
		const char *end = sb->len ? strstr(sb->buf, "\r\n\r\n") : NULL;

		if (end != NULL)
			return (long)(end + 4 - sb->buf);
		if (sb->len > WSC_MAX_HEAD)
			return fail(err, cap, "HTTP head too long", 0);
		if (recv_some(fd, sb, deadline, err, cap) <= 0)
			return -1;
	}
}

bool
wsc_http_header(const char *head, const char *name, char *out, size_t cap)
{
	size_t nlen = strlen(name);
	const char *p = strstr(head, "\r\n");

	while (p && p[2] != '\r' && p[2] != '\0') {
		const char *line = p + 2, *eol = strstr(line, "\r\n"), *v;
		size_t vlen;

		if (eol == NULL)
			eol = line + strlen(line);
		if ((size_t)(eol - line) > nlen && line[nlen] == ':' &&
		    strncasecmp(line, name, nlen) == 0) {
			v = line + nlen + 1;
			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			vlen = (size_t)(eol - v);
			while (vlen &&
			       (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
				vlen--;
			if (cap) {
				if (vlen >= cap)
					vlen = cap - 1;
				memcpy(out, v, vlen);
				out[vlen] = '\0';
			}
			return true;
		}
		p = *eol ? eol : NULL;
	}
	return false;
}

static int
http_status(const char *head)
{
	int major, minor, status;

	if (sscanf(head, "HTTP/%d.%d %d", &major, &minor, &status) != 3)
		return 0;
	return status;
}

static bool
contains_token(const char *value, const char *token)
{
	size_t tlen = strlen(token);
	const char *p = value;

	while (*p) {
		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		if (strncasecmp(p, token, tlen) == 0 &&
		    (p[tlen] == '\0' || p[tlen] == ',' || p[tlen] == ' '))
			return true;
		while (*p && *p != ',')
			p++;
	}
	return false;
}

void
wsc_options_init(struct wsc_options *o)
{
	memset(o, 0, sizeof(*o));
	o->timeout_ms = WSC_DEFAULT_TIMEOUT_MS;
}

static struct wsc *
wsc_new(int fd, size_t max_message)
{
	struct wsc *c = xcalloc(1, sizeof(*c));
	unsigned char seed[4];

	c->fd = fd;
	c->max_message = max_message ? max_message : WSC_DEFAULT_MAX_MESSAGE;
	if (RAND_bytes(seed, sizeof(seed)) != 1)
		memcpy(seed, &c, sizeof(seed));
	memcpy(&c->rng, seed, sizeof(c->rng));
	c->rng |= 1;
	strbuf_init(&c->in);
	strbuf_init(&c->out);
	strbuf_init(&c->msg);
	return c;
}

struct wsc *
wsc_connect_start(const char *host, int port, const char *path,
		  const struct wsc_options *opt)
{
	struct wsc_options def;
	unsigned char nonce[16];
	char key[32], err[160];
	struct strbuf req;
	struct wsc *c;
	int64_t deadline;
	int fd;

	if (opt == NULL) {
		wsc_options_init(&def);
		opt = &def;
	}
	deadline = mono_ms() + (opt->timeout_ms > 0 ? opt->timeout_ms
						    : WSC_DEFAULT_TIMEOUT_MS);
	fd = tcp_connect(host, port, opt->rcvbuf, opt->sndbuf, deadline, err,
			 sizeof(err));
	if (fd < 0)
		return NULL;
	c = wsc_new(fd, opt->max_message);
	c->handshake_deadline = deadline;
	if (RAND_bytes(nonce, sizeof(nonce)) != 1)
		memset(nonce, 0x5a, sizeof(nonce));
	wsframe_make_key(nonce, key);
	wsframe_accept_key(key, c->accept);

	strbuf_init(&req);
	strbuf_addf(&req,
		    "GET %s HTTP/1.1\r\n"
		    "Host: %s:%d\r\n"
		    "Upgrade: websocket\r\n"
		    "Connection: Upgrade\r\n"
		    "Sec-WebSocket-Key: %s\r\n"
		    "Sec-WebSocket-Version: 13\r\n"
		    "%s\r\n",
		    path, host, port, key,
		    opt->extra_headers ? opt->extra_headers : "");
	if (send_all(fd, req.buf, req.len, deadline, c->err, sizeof(c->err)) <
	    0) {
		strbuf_release(&req);
		wsc_close(c);
		return NULL;
	}
	strbuf_release(&req);
	return c;
}

int
wsc_connect_finish(struct wsc *c, int *http_status_out)
{
	int64_t deadline = c->handshake_deadline;
	char got[128];
	long hlen;
	int status;

	if (http_status_out)
		*http_status_out = 0;
	hlen = read_head(c->fd, &c->in, deadline, c->err, sizeof(c->err));
	if (hlen < 0)
		return -1;
	status = http_status(c->in.buf);
	if (http_status_out)
		*http_status_out = status;
	if (status != 101) {
		snprintf(c->err, sizeof(c->err), "HTTP status %d, not 101",
			 status);
		return -1;
	}
	if (!wsc_http_header(c->in.buf, "Sec-WebSocket-Accept", got,
			     sizeof(got)) ||
	    strcmp(got, c->accept) != 0 ||
	    !wsc_http_header(c->in.buf, "Upgrade", got, sizeof(got)) ||
	    strcasecmp(got, "websocket") != 0 ||
	    !wsc_http_header(c->in.buf, "Connection", got, sizeof(got)) ||
	    !contains_token(got, "upgrade")) {
		if (http_status_out)
			*http_status_out = 0;
		snprintf(c->err, sizeof(c->err), "bad 101 answer headers");
		return -1;
	}
	/* Frames sent right after the 101 stay in 'in'. */
	c->in_off = (size_t)hlen;
	return 0;
}

struct wsc *
wsc_connect(const char *host, int port, const char *path,
	    const struct wsc_options *opt, int *http_status_out)
{
	struct wsc *c = wsc_connect_start(host, port, path, opt);

	if (http_status_out)
		*http_status_out = 0;
	if (c == NULL)
		return NULL;
	if (wsc_connect_finish(c, http_status_out) < 0) {
		wsc_close(c);
		return NULL;
	}
	return c;
}

int
wsc_send(struct wsc *c, int opcode, const void *data, size_t len, bool fin,
	 int timeout_ms)
{
	unsigned char hdr[WSFRAME_HEAD_MAX];
	uint32_t m = wsframe_rand(&c->rng);
	size_t hlen = wsframe_head(hdr, opcode, fin, len, m);

	strbuf_reset(&c->out);
	strbuf_grow(&c->out, hlen + len);
	strbuf_add(&c->out, (const char *)hdr, hlen);
	wsframe_mask((unsigned char *)c->out.buf + c->out.len, data, len, m);
	c->out.len += len;
	c->out.buf[c->out.len] = '\0';
	if (opcode == WSC_OP_CLOSE)
		c->close_sent = true;
	return send_all(c->fd, c->out.buf, c->out.len,
			mono_ms() + (timeout_ms > 0 ? timeout_ms : 0), c->err,
			sizeof(c->err));
}

int
wsc_send_raw(struct wsc *c, const void *bytes, size_t len, int timeout_ms)
{
	return send_all(c->fd, bytes, len,
			mono_ms() + (timeout_ms > 0 ? timeout_ms : 0), c->err,
			sizeof(c->err));
}

int
wsc_send_text(struct wsc *c, const char *s)
{
	return wsc_send(c, WSC_OP_TEXT, s, strlen(s), true,
			WSC_DEFAULT_TIMEOUT_MS);
}

int
wsc_send_close(struct wsc *c, int code, const char *reason)
{
	char buf[125] = "";
	size_t n = 0, rlen = reason ? strlen(reason) : 0;

	if (code > 0) {
		buf[0] = (char)(code >> 8);
		buf[1] = (char)(code & 0xff);
		n = 2;
		if (rlen > sizeof(buf) - n)
			rlen = sizeof(buf) - n;
		if (rlen)
			memcpy(buf + n, reason, rlen);
		n += rlen;
	}
	return wsc_send(c, WSC_OP_CLOSE, buf, n, true, 1000);
}

static int
protocol_error(struct wsc *c, const char *what)
{
	snprintf(c->err, sizeof(c->err), "protocol error: %s", what);
	c->peer_closed = true;
	return WSC_ERROR;
}

/* Drop consumed input once it is all used or a large prefix. */
static void
compact_input(struct wsc *c)
{
	if (c->in_off == c->in.len) {
		strbuf_reset(&c->in);
		c->in_off = 0;
	} else if (c->in_off > 65536) {
		memmove(c->in.buf, c->in.buf + c->in_off,
			c->in.len - c->in_off);
		c->in.len -= c->in_off;
		c->in.buf[c->in.len] = '\0';
		c->in_off = 0;
	}
}

/*
 * Handle one complete frame.  Returns 1 to keep reading, or the value
 * wsc_recv() returns.
 */
static int
handle_frame(struct wsc *c, int op, bool fin, const char *p, size_t plen,
	     int *opcode, struct strbuf *payload)
{
	int code;

	if (op & 0x08) {
		if (!fin || plen > 125)
			return protocol_error(c, "bad control frame");
		switch (op) {
		case WSC_OP_PING:
			wsc_send(c, WSC_OP_PONG, p, plen, true, 1000);
			return 1;
		case WSC_OP_PONG:
			return 1;
		case WSC_OP_CLOSE:
			code = WSC_CLOSE_NO_STATUS;
			if (plen == 1)
				return protocol_error(c, "1-byte close");
			if (plen >= 2)
				code = ((unsigned char)p[0] << 8) |
				       (unsigned char)p[1];
			strbuf_reset(payload);
			if (plen > 2)
				strbuf_add(payload, p + 2, plen - 2);
			*opcode = WSC_OP_CLOSE;
			c->peer_closed = true;
			if (!c->close_sent)
				wsc_send_close(
					c,
					code == WSC_CLOSE_NO_STATUS ? 0 : code,
					NULL);
			return code;
		default:
			return protocol_error(c, "reserved control opcode");
		}
	}
	if (op == WSC_OP_CONT) {
		if (c->msg_opcode == 0)
			return protocol_error(c, "continuation without start");
	} else if (op == WSC_OP_TEXT || op == WSC_OP_BINARY) {
		if (c->msg_opcode != 0)
			return protocol_error(c,
					      "new message inside fragments");
		c->msg_opcode = op;
		strbuf_reset(&c->msg);
	} else {
		return protocol_error(c, "reserved data opcode");
	}
	if (c->msg.len + plen > c->max_message)
		return protocol_error(c, "message too large");
	strbuf_add(&c->msg, p, plen);
	if (!fin)
		return 1;
	*opcode = c->msg_opcode;
	c->msg_opcode = 0;
	strbuf_reset(payload);
	strbuf_add(payload, c->msg.buf, c->msg.len);
	strbuf_reset(&c->msg);
	return WSC_MESSAGE;
}

int
wsc_recv(struct wsc *c, int timeout_ms, int *opcode, struct strbuf *payload)
{
	int64_t deadline = mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	int dummy;

	if (opcode == NULL)
		opcode = &dummy;
	*opcode = 0;
	for (;;) {
		const unsigned char *h =
			(const unsigned char *)c->in.buf + c->in_off;
		size_t avail = c->in.len - c->in_off, hlen;
		struct wsframe f;
		int rc;

		hlen = wsframe_parse(h, avail, &f);
		if (avail >= 2) {
			if (f.rsv)
				return protocol_error(c, "reserved bits set");
			if (f.masked)
				return protocol_error(c, "masked frame");
			if (hlen && f.len > c->max_message)
				return protocol_error(c, "frame too large");
			if (hlen && avail - hlen >= f.len) {
				c->in_off += hlen + (size_t)f.len;
				rc = handle_frame(c, f.opcode, f.fin,
						  (const char *)h + hlen,
						  (size_t)f.len, opcode,
						  payload);
				compact_input(c);
				if (rc != 1)
					return rc;
				continue;
			}
		}
		if (c->peer_closed) {
			snprintf(c->err, sizeof(c->err), "connection closed");
			return WSC_ERROR;
		}
		rc = recv_some(c->fd, &c->in, deadline, c->err, sizeof(c->err));
		if (rc == -2)
			return WSC_TIMEOUT;
		if (rc <= 0) {
			c->peer_closed = true;
			return WSC_ERROR;
		}
	}
}

bool
wsc_peer_closed(const struct wsc *c)
{
	return c->peer_closed;
}

int
wsc_fd(const struct wsc *c)
{
	return c->fd;
}

const char *
wsc_error(const struct wsc *c)
{
	return c->err;
}

void
wsc_close(struct wsc *c)
{
	if (c == NULL)
		return;
	if (c->fd >= 0)
		close(c->fd);
	strbuf_release(&c->in);
	strbuf_release(&c->out);
	strbuf_release(&c->msg);
	free(c);
}

int
wsc_http_get(const char *host, int port, const char *path, int timeout_ms,
	     struct strbuf *head, struct strbuf *body)
{
	int64_t deadline = mono_ms() + timeout_ms;
	struct strbuf in, req;
	long head_len;
	char err[160], clen[32];
	size_t hlen, want = (size_t)-1;
	int fd, status = -1, rc;

	fd = tcp_connect(host, port, 0, 0, deadline, err, sizeof(err));
	if (fd < 0)
		return -1;
	strbuf_init(&in);
	strbuf_init(&req);
	strbuf_addf(&req,
		    "GET %s HTTP/1.1\r\nHost: %s:%d\r\n"
		    "Connection: close\r\n\r\n",
		    path, host, port);
	if (send_all(fd, req.buf, req.len, deadline, err, sizeof(err)) < 0)
		goto out;
	head_len = read_head(fd, &in, deadline, err, sizeof(err));
	if (head_len < 0)
		goto out;
	hlen = (size_t)head_len;
	if (wsc_http_header(in.buf, "Content-Length", clen, sizeof(clen)))
		want = (size_t)strtoul(clen, NULL, 10);
	do {
		if (in.len - hlen >= want)
			break;
		rc = recv_some(fd, &in, deadline, err, sizeof(err));
	} while (rc > 0);
	status = http_status(in.buf);
	if (head) {
		strbuf_reset(head);
		strbuf_add(head, in.buf, hlen);
	}
	if (body) {
		strbuf_reset(body);
		strbuf_add(body, in.buf + hlen,
			   in.len - hlen < want ? in.len - hlen : want);
	}
out:
	close(fd);
	strbuf_release(&in);
	strbuf_release(&req);
	return status;
}
