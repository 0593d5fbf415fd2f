/*
 * wsclient.h - a small blocking RFC 6455 client over POSIX sockets.
 *
 * Written for the end-to-end tests and the load generator: unlike a client
 * library it sends whatever it is told to, including invalid UTF-8,
 * oversized frames, odd fragmentations and binary frames.  Every call that
 * waits takes a timeout, so a hung server fails a test instead of hanging
 * it.  Frames sent are masked (client to server); frames received must not
 * be.  Pings are answered with pongs inside wsc_recv().
 *
 * One struct wsc is one connection, used by one thread.  Nothing here
 * logs: a failed call returns an error and wsc_error() says why.
 */
#ifndef TESTS_WSCLIENT_H
#define TESTS_WSCLIENT_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf;
struct wsc; /* opaque */

enum wsc_opcode {
	WSC_OP_CONT = 0x0,
	WSC_OP_TEXT = 0x1,
	WSC_OP_BINARY = 0x2,
	WSC_OP_CLOSE = 0x8,
	WSC_OP_PING = 0x9,
	WSC_OP_PONG = 0xa,
};

/* wsc_recv() results; a close frame returns its close code (>= 1000). */
enum wsc_result {
	WSC_MESSAGE = 0,  /* a whole text or binary message */
	WSC_ERROR = -1,	  /* EOF, reset or protocol error */
	WSC_TIMEOUT = -2, /* nothing complete within the timeout */
};

#define WSC_CLOSE_NO_STATUS 1005 /* a close frame without a code */

struct wsc_options {
	const char *extra_headers; /* "Name: value\r\n" lines, or NULL */
	int timeout_ms;		   /* connect + handshake; default 5000 */
	int rcvbuf;	    /* SO_RCVBUF set before connect; 0 = default */
	int sndbuf;	    /* SO_SNDBUF set before connect; 0 = default */
	size_t max_message; /* refuse larger incoming messages; 0 = 16 MiB */
};

void wsc_options_init(struct wsc_options *o);

/*
 * Connect to ws://host:port/path ('path' includes the query string) and do
 * the opening handshake.  Returns a new connection, freed by wsc_close(),
 * or NULL.  '*http_status' (may be NULL) gets the HTTP status of the
 * answer: 101 on success, e.g. 401 when the upgrade was refused, or 0 when
 * there was no valid answer (connect failure, timeout, bad accept key).
 * 'opt' may be NULL for the defaults.
 */
struct wsc *wsc_connect(const char *host, int port, const char *path,
			const struct wsc_options *opt, int *http_status);

/*
 * wsc_connect() in two steps, for a test that must have upgrade requests
 * waiting at a server before it reads any: wsc_connect_start() connects
 * and sends the request (NULL on failure); wsc_connect_finish() waits
 * for the answer and checks it like wsc_connect(), returning 0, or -1
 * with wsc_error() saying why (the caller then closes 'c').  Both steps
 * share one deadline, opt->timeout_ms after the start.
 */
struct wsc *wsc_connect_start(const char *host, int port, const char *path,
			      const struct wsc_options *opt);
int wsc_connect_finish(struct wsc *c, int *http_status);
/*
 * Send one frame: 'opcode' (any 4-bit value, even a reserved one), 'len'
 * bytes of 'data' (masked on the wire) and the FIN bit.  Waits at most
 * 'timeout_ms' for the socket to take all of it.  Returns 0, or -1 on a
 * send error (EPIPE, reset) or when the peer stops reading for that long.
 */
int wsc_send(struct wsc *c, int opcode, const void *data, size_t len, bool fin,
	     int timeout_ms);

/* Send 'len' bytes that are already frames (several, or broken ones on
 * purpose) as they are; 0, or -1 as wsc_send(). */
int wsc_send_raw(struct wsc *c, const void *bytes, size_t len, int timeout_ms);

/* Send NUL-terminated 's' as one text frame (timeout 5 s). */
int wsc_send_text(struct wsc *c, const char *s);

/* Send a close frame with 'code' (0: no code) and an optional reason. */
int wsc_send_close(struct wsc *c, int code, const char *reason);

/*
 * Receive the next message within 'timeout_ms'.  Continuation frames are
 * joined; pings are answered; pongs are skipped.  Returns WSC_MESSAGE and
 * sets '*opcode' (WSC_OP_TEXT or WSC_OP_BINARY) and 'payload' (reset
 * first, always NUL-terminated); or the close code of a close frame (which
 * is then answered; '*opcode' = WSC_OP_CLOSE, 'payload' = the reason); or
 * WSC_TIMEOUT; or WSC_ERROR on EOF, a socket error or a protocol error by
 * the server (masked frame, reserved bits, bad continuation, oversize).
 * After a timeout the connection may be used again; a partial frame read
 * so far is kept.
 */
int wsc_recv(struct wsc *c, int timeout_ms, int *opcode,
	     struct strbuf *payload);

/* Has the peer closed (EOF, reset or close frame seen)? */
bool wsc_peer_closed(const struct wsc *c);

/* The socket, for poll() by callers that drive many connections. */
int wsc_fd(const struct wsc *c);

/* Why the last call failed, for people ("connect: Connection refused"). */
const char *wsc_error(const struct wsc *c);

/* Close the socket without a close handshake and free.  NULL is a no-op. */
void wsc_close(struct wsc *c);

/*
 * A plain HTTP/1.1 GET with "Connection: close": returns the status code
 * or -1, fills 'head' (the status line and headers, may be NULL) and
 * 'body' (may be NULL; read up to Content-Length or EOF).
 */
int wsc_http_get(const char *host, int port, const char *path, int timeout_ms,
		 struct strbuf *head, struct strbuf *body);

/*
 * Find header 'name' (case-insensitive) in 'head' as filled by
 * wsc_http_get().  Copies its value into 'out' (size 'cap') and returns
 * true when present.
 */
bool wsc_http_header(const char *head, const char *name, char *out, size_t cap);

#endif /* TESTS_WSCLIENT_H */
