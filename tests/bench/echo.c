/*
 * echo.c - the baseline for the benchmark: the least a libwebsockets 4.1
 * server can do per message, built against the same lws as xiaoer.
 *
 * Usage: echo [--port P] [--evlib ev] [--ws-only]
 *
 * The shape of lws-minimal-ws-server (v4.1.6): one protocol, each received
 * message copied into a queued buffer with LWS_PRE headroom, written back
 * in SERVER_WRITEABLE, one frame per WRITEABLE.  The answer to
 * {"type":"message","id":"X",...} is a reply frame shaped and sized like
 * xiaoer's (about 300 bytes of JSON with the same keys), so the same
 * loadgen, with --check, measures both.  The id is found with strstr, not
 * a JSON parser: this is the floor, not a second bot.
 *
 * --port 0 (the default) takes any free port and prints
 * "echo: listening on http://127.0.0.1:PORT/" on stderr, like xiaoer.
 * --evlib ev runs the lws event loop on libev (epoll) instead of poll(),
 * through Debian's libwebsockets-evlib-ev plugin, which lws 4.1 loads
 * from its libdir when LWS_SERVER_OPTION_LIBEV is set.
 */
#include <libwebsockets.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ECHO_OUTQ_MAX 256   /* queued replies per connection */
#define ECHO_MSG_MAX  16384 /* as xiaoer's max_frame_bytes */
#define ECHO_ID_MAX   63

struct reply {
	lws_dll2_t list;
	size_t len;
	unsigned char buf[]; /* LWS_PRE + len */
};

struct pss {
	lws_dll2_owner_t outq;
	size_t rx_len;
	char *rx; /* a fragmented message being joined, ECHO_MSG_MAX */
};

static volatile sig_atomic_t interrupted;
static struct lws_context *context;

static const char reply_fmt[] =
	"{\"type\":\"reply\",\"reply_to\":\"%s\",\"text\":\"亲，物流信息在"
	"「我的订单」里点开订单就能看到实时轨迹哦～\",\"intent\":\"echo\","
	"\"topic\":\"echo\",\"action\":\"reply\",\"script\":\"echo@1\","
	"\"buttons\":[{\"title\":\"转人工\",\"payload\":\"human.request\"}]}";

/* Copy the value of "id":"..." into 'id' (at most ECHO_ID_MAX bytes). */
static void
find_id(const char *msg, size_t len, char *id)
{
	const char *p = NULL, *end;
	size_t i, n;

	id[0] = '\0';
	for (i = 0; i + 6 <= len; i++)
		if (msg[i] == '"' && memcmp(msg + i, "\"id\":\"", 6) == 0) {
			p = msg + i + 6;
			break;
		}
	if (p == NULL)
		return;
	end = memchr(p, '"', len - (size_t)(p - msg));
	if (end == NULL)
		return;
	n = (size_t)(end - p);
	if (n > ECHO_ID_MAX)
		n = ECHO_ID_MAX;
	for (i = 0; i < n; i++)
		id[i] = p[i] == '\\' ? '_' : p[i];
	id[n] = '\0';
}

static int
queue_reply(struct lws *wsi, struct pss *pss, const char *msg, size_t len)
{
	char id[ECHO_ID_MAX + 1], json[1024];
	struct reply *r;
	int n;

	if (pss->outq.count >= ECHO_OUTQ_MAX)
		return -1;
	find_id(msg, len, id);
	n = snprintf(json, sizeof(json), reply_fmt, id);
	if (n < 0 || (size_t)n >= sizeof(json))
		return -1;
	r = malloc(sizeof(*r) + LWS_PRE + (size_t)n);
	if (r == NULL)
		abort();
	memset(&r->list, 0, sizeof(r->list));
	r->len = (size_t)n;
	memcpy(r->buf + LWS_PRE, json, (size_t)n);
	lws_dll2_add_tail(&r->list, &pss->outq);
	lws_callback_on_writable(wsi);
	return 0;
}

static int
free_reply(struct lws_dll2 *d, void *user)
{
	(void)user;
	lws_dll2_remove(d);
	free(lws_container_of(d, struct reply, list));
	return 0;
}

static int
callback_echo(struct lws *wsi, enum lws_callback_reasons reason, void *user,
	      void *in, size_t len)
{
	struct pss *pss = user;
	struct reply *r;

	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED:
		memset(pss, 0, sizeof(*pss));
		break;

	case LWS_CALLBACK_RECEIVE:
		if (lws_is_final_fragment(wsi) && pss->rx_len == 0)
			return queue_reply(wsi, pss, in, len);
		if (pss->rx_len + len > ECHO_MSG_MAX)
			return -1;
		if (pss->rx == NULL) {
			pss->rx = malloc(ECHO_MSG_MAX);
			if (pss->rx == NULL)
				abort();
		}
		memcpy(pss->rx + pss->rx_len, in, len);
		pss->rx_len += len;
		if (!lws_is_final_fragment(wsi))
			break;
		len = pss->rx_len;
		pss->rx_len = 0;
		return queue_reply(wsi, pss, pss->rx, len);

	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (pss->outq.head == NULL)
			break; /* a spurious WRITEABLE is normal */
		r = lws_container_of(pss->outq.head, struct reply, list);
		if (lws_write(wsi, r->buf + LWS_PRE, r->len, LWS_WRITE_TEXT) <
		    (int)r->len)
			return -1;
		lws_dll2_remove(&r->list);
		free(r);
		if (pss->outq.head)
			lws_callback_on_writable(wsi);
		break;

	case LWS_CALLBACK_CLOSED:
		lws_dll2_foreach_safe(&pss->outq, NULL, free_reply);
		free(pss->rx);
		pss->rx = NULL;
		break;

	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{"echo", callback_echo, sizeof(struct pss), 0, 0, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0},
};

static void
on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
	/* Harmless from a handler: it only writes to the event pipe. */
	if (context)
		lws_cancel_service(context);
}

/*
 * On libev, lws_service() runs the loop until it is broken from inside,
 * which a signal handler cannot do safely; the echo keeps no state, so it
 * just leaves.
 */
static void
on_signal_exit(int sig)
{
	(void)sig;
	_exit(0);
}

static void
usage(void)
{
	fprintf(stderr, "usage: echo [--port P] [--evlib ev] [-d LOGLEVEL]\n");
}

int
main(int argc, char **argv)
{
	struct lws_context_creation_info info;
	struct lws_vhost *vh;
	struct sigaction sa;
	int i, n = 0, port = 0, logs = LLL_ERR | LLL_WARN;
	bool ev = false;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
			port = atoi(argv[++i]);
		} else if (strcmp(argv[i], "--evlib") == 0 && i + 1 < argc) {
			if (strcmp(argv[++i], "ev") != 0) {
				fprintf(stderr, "echo: only --evlib ev is "
						"supported\n");
				return 2;
			}
			ev = true;
		} else if (strcmp(argv[i], "-d") == 0 && i + 1 < argc) {
			logs = atoi(argv[++i]);
		} else {
			usage();
			return 2;
		}
	}
	lws_set_log_level(logs, NULL);

	memset(&info, 0, sizeof(info));
	info.port = port;
	info.iface = "127.0.0.1";
	info.protocols = protocols;
	info.vhost_name = "default";
	info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
	if (ev)
		info.options |= LWS_SERVER_OPTION_LIBEV;
	signal(SIGPIPE, SIG_IGN);
	context = lws_create_context(&info);
	if (context == NULL) {
		fprintf(stderr, "echo: cannot create the lws context%s\n",
			ev ? " (is libwebsockets-evlib-ev installed?)" : "");
		return 1;
	}
	/* After the context: the libev plugin installs its own SIGINT. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = ev ? on_signal_exit : on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	vh = lws_get_vhost_by_name(context, "default");
	fprintf(stderr, "echo: listening on http://127.0.0.1:%d/%s\n",
		vh ? lws_get_vhost_listen_port(vh) : port,
		ev ? " (libev)" : "");
	fflush(stderr);

	/* On libev the whole loop runs inside the first lws_service(). */
	while (n >= 0 && !interrupted)
		n = lws_service(context, 0);
	lws_context_destroy(context);
	return 0;
}
