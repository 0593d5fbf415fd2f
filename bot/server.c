/*
 * server.c - see server.h.  The only place, with session.c, that knows lws.
 */
#include "server.h"

#include <ev.h>
#include <libwebsockets.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "config.h"
#include "content.h"
#include "convtab.h"
#include "intents.h"
#include "protocol.h"
#include "scripts.h"
#include "session.h"
#include "store.h"
#include "text.h"
#include "util.h"

#define SERVER_RATE_WINDOW_MS 10000
#define SERVER_DRAIN_MS	      3000
#define SERVER_BUYER_PATH     "/ws/buyer"

static volatile sig_atomic_t interrupted;
static char www_root[PATH_MAX]; /* absolute; set once before lws starts */
static volatile sig_atomic_t reload_requested;
/* Woken by the signal handler: set while the context exists. */
static struct lws_context *volatile signal_cx;

/* Shared with the writer thread: only ever read there. */
struct waker {
	struct lws_context *volatile cx;
};

/*
 * The buyer frames received in one turn of the loop, handled together at
 * its end (rx_flush): one message after another, the matcher's index and
 * patterns, the scripts and the dialog's code stay in the cache, where
 * handling each frame between two sockets' kernel work found them
 * evicted every time.  Closed loop, 1,000 buyers, alternating 6 s runs
 * against the binary before: +11, +7 and +12 % messages a second; server
 * CPU a message 33.7 -> 30.4 us (medians).  A turn reads at most 4 KiB
 * a socket, so the batch is bounded; memory past RX_KEEP_BYTES is given
 * back after the turn.
 */
#define RX_KEEP_BYTES (1024 * 1024)

struct rxframe {
	uint64_t session_id;
	size_t off, len; /* in bytes */
};

struct rxbatch {
	struct strbuf bytes;
	struct rxframe *v;
	size_t n, cap;
	bool flushing;
};

/* Per-vhost state: created in PROTOCOL_INIT, freed in PROTOCOL_DESTROY. */
struct vhd {
	struct lws_context *cx;
	struct bot *bot;
	struct session_registry reg;
	struct convtab *convs;
	struct session_limits limits;
	struct dialog_turn turn; /* reused for every message */
	struct strbuf frame;	 /* reused for formatting */
	char *scratch;		 /* RX reassembly, frame_max bytes */
	struct rxbatch rx;	 /* frames of this loop turn, see rx_flush() */
	struct {
		uint64_t *v; /* sessions with replies queued this turn */
		size_t n, cap;
	} kick;		    /* see kick_writes() */
	uint64_t loop_turn; /* turns of the loop ended: session_queue() */
	bool draining;
};

/* A reply waiting for its turn to be committed. */
struct pending {
	uint64_t session_id;
	char reply_to[64];
	char sender[64];
	size_t nframes;
	struct outmsg *frames[2]; /* owned until queued on the session */
};

/*
 * Signals only set a flag and wake the loop (lws_cancel_service() writes
 * to a pipe, which is safe here): on libev the loop would otherwise go
 * back to sleep in epoll_wait().  The work happens in runner_poll(), on
 * the service thread.
 */
static void
on_signal(int sig)
{
	struct lws_context *cx = signal_cx;

	if (sig == SIGHUP)
		reload_requested = 1;
	else
		interrupted = 1;
	if (cx)
		lws_cancel_service(cx);
}

static void
wake_loop(void *arg)
{
	struct waker *w = arg;
	struct lws_context *cx = w->cx;

	if (cx)
		lws_cancel_service(cx);
}

static void
pending_free(struct pending *p)
{
	size_t i;

	for (i = 0; i < p->nframes; i++)
		outmsg_free(p->frames[i]);
	free(p);
}

/* Queue an error frame on our own connection; -1 means drop it. */
static int
send_error(struct vhd *vhd, struct session *pss, const char *code,
	   const char *message, const char *reply_to, const char *sender)
{
	strbuf_reset(&vhd->frame);
	protocol_format_error(&vhd->frame, code, message, reply_to, sender);
	return session_send(pss, vhd->frame.buf, vhd->frame.len,
			    vhd->loop_turn);
}

/* ---- identity at the handshake ---------------------------------------- */

struct ident {
	char buyer[64];
	bool gateway;
	unsigned int status; /* 0 = accepted, else HTTP status */
	const char *why;
};

static const char *
urlarg(struct lws *wsi, const char *name, char *buf, int len)
{
	const char *v = lws_get_urlarg_by_name(wsi, name, buf, len);

	return v && *v ? v : NULL;
}

static void
identify(struct lws *wsi, const struct config *cfg, struct ident *id)
{
	char uri[128], b[96], t[48], s[96], k[160], hdr[192];
	const char *buyer, *ts, *sig, *key = NULL;
	enum auth_result r;

	memset(id, 0, sizeof(*id));
	if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0 ||
	    strcmp(uri, SERVER_BUYER_PATH) != 0) {
		id->status = HTTP_STATUS_NOT_FOUND;
		id->why = "no websocket here: buyers connect to /ws/buyer";
		return;
	}
	buyer = urlarg(wsi, "buyer=", b, sizeof(b));
	ts = urlarg(wsi, "ts=", t, sizeof(t));
	sig = urlarg(wsi, "sig=", s, sizeof(s));
	key = urlarg(wsi, "key=", k, sizeof(k));
	if (key == NULL &&
	    lws_hdr_copy(wsi, hdr, sizeof(hdr), WSI_TOKEN_HTTP_AUTHORIZATION) >
		    7 &&
	    strncmp(hdr, "Bearer ", 7) == 0)
		key = hdr + 7;

	if (key) {
		if (cfg->auth && !auth_key_ok(cfg->api_key, key)) {
			id->status = HTTP_STATUS_UNAUTHORIZED;
			id->why = "wrong api key";
			return;
		}
		id->gateway = true;
		return;
	}
	if (cfg->auth) {
		r = auth_verify(cfg->auth_secret, buyer, ts, sig,
				util_now_ms() / 1000, cfg->auth_max_skew_s);
		if (r != AUTH_OK) {
			id->status = HTTP_STATUS_UNAUTHORIZED;
			id->why = auth_result_name(r);
			return;
		}
	} else if (buyer && !auth_id_valid(buyer)) {
		id->status = HTTP_STATUS_BAD_REQUEST;
		id->why = "bad buyer id: 1 to 63 of A-Z a-z 0-9 _ . : @ -";
		return;
	}
	if (buyer)
		snprintf(id->buyer, sizeof(id->buyer), "%s", buyer);
}

/* ---- static files ---------------------------------------------------- */

/* A URL path we are willing to map to a file under www_root. */
static bool
safe_path(const char *p)
{
	if (p[0] != '/' || strstr(p, "..") || strstr(p, "//") ||
	    strchr(p, '\\'))
		return false;
	for (; *p; p++)
		if ((unsigned char)*p < 0x20)
			return false;
	return true;
}

static int
http_done(struct lws *wsi)
{
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int
http_status(struct lws *wsi, unsigned int code, const char *body)
{
	if (lws_return_http_status(wsi, code, body))
		return -1;
	return http_done(wsi);
}

/*
 * GET: serve bot/www (index.html for "/"), 404 for anything else.  Later
 * issues add /api and /metrics here.
 */
static int
callback_http(struct lws *wsi, enum lws_callback_reasons reason, void *user,
	      void *in, size_t len)
{
	char path[PATH_MAX + 256];
	const char *url = in, *mime;
	struct stat st;
	int n;

	switch (reason) {
	case LWS_CALLBACK_HTTP:
		if (strcmp(url, "/") == 0)
			url = "/index.html";
		if (!safe_path(url) ||
		    (size_t)snprintf(path, sizeof(path), "%s%s", www_root,
				     url) >= sizeof(path) ||
		    stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			return http_status(wsi, HTTP_STATUS_NOT_FOUND,
					   "<h1>404</h1><p>没有这个页面 · "
					   "<a href=\"/\">店小二</a></p>");
		mime = lws_get_mimetype(path, NULL);
		n = lws_serve_http_file(
			wsi, path, mime ? mime : "application/octet-stream",
			NULL, 0);
		if (n < 0 || (n > 0 && http_done(wsi)))
			return -1;
		return 0;
	case LWS_CALLBACK_HTTP_FILE_COMPLETION:
		return http_done(wsi);
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* ---- one buyer frame ---------------------------------------------------- */

static void
fill_turn(struct store_turn *t, const struct conversation *c,
	  const struct inbound *in, const struct dialog_turn *dt,
	  int64_t now_ms, struct strbuf *textbuf)
{
	memset(t, 0, sizeof(*t));
	t->buyer = c->buyer;
	t->msg_id = in->id;
	if (in->type == INBOUND_BUTTON) {
		strbuf_reset(textbuf);
		strbuf_addf(textbuf, "[button] %s", in->payload);
		t->text = textbuf->buf;
	} else {
		t->text = in->text;
	}
	t->normalized = dt->normalized.buf;
	t->at_ms = now_ms;
	t->intent = dt->intent;
	t->topic = dt->topic;
	t->action = dialog_action_name(dt->action);
	t->script = dt->script;
	t->reply = dt->action == DIALOG_SILENT ? NULL : dt->reply.buf;
	t->reply_ms = now_ms;
	t->unmatched = dt->unmatched;
	t->escalation = dt->new_escalation
				? dialog_escalation_name(dt->escalation)
				: NULL;
	t->state = dialog_state_name(c->state);
	t->misses = c->misses;
	t->last_intent = c->last_intent[0] ? c->last_intent : NULL;
	t->order_id = c->order_id[0] ? c->order_id : NULL;
	t->pending_intent = c->pending_intent[0] ? c->pending_intent : NULL;
	t->pending_slot = c->pending_slot[0] ? c->pending_slot : NULL;
	t->item = c->item[0] ? c->item : NULL;
	t->last_text = c->last_text[0] ? c->last_text : NULL;
}

/*
 * A buyer not in the table (the server restarted, or the table let them
 * go) goes on where their conversation was last committed, unless it has
 * been idle for longer than conversation_ttl_s: still queued for a human,
 * the same misses, the slot the bot asked for, the order, the product and
 * the last message (for escalate_on_repeat).
 * A database that cannot be read leaves a fresh conversation and a line
 * in the log; the turn itself goes on.
 */
static void
resume_conversation(struct vhd *vhd, struct conversation *c, int64_t now)
{
	const struct config *cfg = vhd->bot->cfg;
	struct store_conversation sc;
	enum dialog_state state;
	struct bot_err err;
	int rc;

	rc = store_load_conversation(vhd->bot->store, c->buyer, &sc, &err);
	if (rc < 0)
		lwsl_err("%s\n", err.msg);
	if (rc <= 0 ||
	    now - sc.updated_ms > (int64_t)cfg->conversation_ttl_s * 1000 ||
	    !dialog_state_parse(sc.state, &state))
		return;
	c->state = state;
	c->misses = sc.misses;
	c->turns = (uint32_t)sc.turns;
	c->created_ms = sc.created_ms;
	c->last_ms = sc.updated_ms;
	snprintf(c->last_intent, sizeof(c->last_intent), "%s", sc.last_intent);
	snprintf(c->order_id, sizeof(c->order_id), "%s", sc.order_id);
	snprintf(c->pending_intent, sizeof(c->pending_intent), "%s",
		 sc.pending_intent);
	snprintf(c->pending_slot, sizeof(c->pending_slot), "%s",
		 sc.pending_slot);
	snprintf(c->item, sizeof(c->item), "%s", sc.item);
	snprintf(c->last_text, sizeof(c->last_text), "%s", sc.last_text);
}

/* The frames are formatted in the vhd's reused buffer and copied once
 * into their out-queue messages: no buffer grows per reply. */
static struct pending *
make_pending(struct vhd *vhd, struct session *pss, const struct inbound *in,
	     const struct dialog_turn *dt, const char *sender,
	     const struct conversation *c)
{
	struct pending *p = xcalloc(1, sizeof(*p));

	p->session_id = pss->id;
	snprintf(p->reply_to, sizeof(p->reply_to), "%s", in->id ? in->id : "");
	snprintf(p->sender, sizeof(p->sender), "%s", sender ? sender : "");
	if (dt->action == DIALOG_SILENT)
		return p;
	strbuf_reset(&vhd->frame);
	dialog_format_reply(&vhd->frame, dt, in->id, sender);
	p->frames[p->nframes++] = outmsg_new(vhd->frame.buf, vhd->frame.len);
	if (dt->new_escalation) {
		strbuf_reset(&vhd->frame);
		protocol_format_status(&vhd->frame, dialog_state_name(c->state),
				       -1, -1, sender);
		p->frames[p->nframes++] =
			outmsg_new(vhd->frame.buf, vhd->frame.len);
	}
	return p;
}

static int
handle_frame(struct vhd *vhd, struct session *pss, const char *msg, size_t len)
{
	const struct config *cfg = vhd->bot->cfg;
	struct protocol_err perr;
	struct inbound in;
	struct conversation *c;
	struct dialog_input di;
	struct store_turn t;
	struct pending *p;
	struct strbuf textbuf;
	const char *buyer = pss->buyer, *sender = NULL;
	int64_t now = util_now_ms();
	bool created;
	int rc = 0;

	if (protocol_parse(msg, len, &in, &perr) < 0)
		return send_error(vhd, pss, perr.code, perr.message,
				  perr.reply_to, NULL);
	if (in.sender || pss->gateway) {
		if (in.sender == NULL) {
			rc = send_error(
				vhd, pss, PROTO_BAD_REQUEST,
				"frames on a gateway connection need 'sender'",
				in.id, NULL);
			goto out;
		}
		if (!pss->gateway && cfg->auth) {
			rc = send_error(
				vhd, pss, PROTO_FORBIDDEN,
				"only gateway connections may set 'sender'",
				in.id, NULL);
			goto out;
		}
		if (!auth_id_valid(in.sender)) {
			rc = send_error(vhd, pss, PROTO_BAD_REQUEST,
					"bad 'sender': 1 to 63 of A-Z a-z 0-9 "
					"_ . : @ -",
					in.id, NULL);
			goto out;
		}
		buyer = sender = in.sender;
	}
	if (vhd->draining) {
		rc = send_error(vhd, pss, PROTO_UNAVAILABLE,
				"the server is restarting: please send again "
				"in a moment",
				in.id, sender);
		goto out;
	}
	if (in.type == INBOUND_MESSAGE &&
	    text_utf8_chars(in.text, in.text_len) >
		    (size_t)cfg->max_message_chars) {
		char m[96];

		snprintf(m, sizeof(m), "text is longer than %d characters",
			 cfg->max_message_chars);
		rc = send_error(vhd, pss, PROTO_TOO_LARGE, m, in.id, sender);
		goto out;
	}
	c = convtab_get(vhd->convs, buyer, now, &created);
	if (created)
		resume_conversation(vhd, c, now);
	if (!ratelimit_allow(convtab_ratelimit(c), cfg->rate_limit,
			     SERVER_RATE_WINDOW_MS, now)) {
		char m[96];

		snprintf(m, sizeof(m),
			 "more than %d messages in 10 seconds: wait a moment",
			 cfg->rate_limit);
		rc = send_error(vhd, pss, PROTO_RATE_LIMITED, m, in.id, sender);
		goto out;
	}
	memset(&di, 0, sizeof(di));
	di.text = in.text;
	di.len = in.text_len;
	di.button = in.type == INBOUND_BUTTON ? in.payload : NULL;
	di.order = in.order;
	di.item = in.item;
	if (dialog_handle(vhd->bot->content, &vhd->bot->policy, c, &di, now,
			  &vhd->turn) < 0) {
		lwsl_err("dialog failed for buyer '%s'\n", buyer);
		rc = send_error(vhd, pss, PROTO_UNAVAILABLE,
				"internal error: please try again", in.id,
				sender);
		goto out;
	}
	p = make_pending(vhd, pss, &in, &vhd->turn, sender, c);
	strbuf_init(&textbuf);
	fill_turn(&t, c, &in, &vhd->turn, now, &textbuf);
	t.user = p;
	if (store_submit_turn(vhd->bot->store, &t) < 0) {
		pending_free(p);
		rc = send_error(
			vhd, pss, PROTO_BUSY,
			"the server is busy: please send again in a moment",
			in.id, sender);
	}
	strbuf_release(&textbuf);
out:
	inbound_clear(&in);
	return rc;
}

static void
kick_add(struct vhd *vhd, uint64_t session_id)
{
	if (vhd->kick.n == vhd->kick.cap) {
		vhd->kick.cap = vhd->kick.cap ? 2 * vhd->kick.cap : 64;
		vhd->kick.v = xrealloc(vhd->kick.v,
				       vhd->kick.cap * sizeof(*vhd->kick.v));
	}
	vhd->kick.v[vhd->kick.n++] = session_id;
}

/*
 * Send the replies deliver_done() queued in this turn of the loop before
 * the loop waits again, instead of one turn later.
 *
 * session_queue() asks lws for WRITEABLE, which on libev means an
 * epoll_ctl() to add EPOLLOUT before the wait and another to take it away
 * after the write: two of the four system calls of a message, 10 % of the
 * server's CPU in bench row b.  A buyer's socket is nearly always
 * writable, so here we tell lws so through its own entry point for
 * foreign loops, lws_service_fd() with POLLOUT, as its libev glue does
 * when epoll says so.  lws then runs the ordinary WRITEABLE callback
 * (session_writeable(), one frame, STYLE 3.3) and clears the request
 * before libev applies it, so epoll never hears of it.  If the socket
 * was not writable after all, lws keeps what send() did not take and
 * asks epoll for POLLOUT itself, as for any partial write.  Sessions
 * are looked up by id: one may have gone since its reply was queued.
 * A session's out-queue limits count only what is left after this (see
 * session_queue()), so a gateway that reads is never taken for one that
 * does not because one commit answered many of its buyers.
 */
static void
kick_writes(struct vhd *vhd)
{
	size_t i;

	for (i = 0; i < vhd->kick.n; i++) {
		struct session *s =
			session_registry_find(&vhd->reg, vhd->kick.v[i]);
		struct lws_pollfd pfd;

		if (s == NULL || s->outq.head == NULL)
			continue;
		pfd.fd = lws_get_socket_fd(s->wsi);
		if (pfd.fd < 0)
			continue;
		pfd.events = LWS_POLLIN | LWS_POLLOUT;
		pfd.revents = LWS_POLLOUT;
		lws_service_fd(vhd->cx, &pfd);
	}
	vhd->kick.n = 0;
	/* The turn ends here: what a session still holds was not taken by
	 * its peer, and from now on counts against outq_max. */
	vhd->loop_turn++;
}

/* The writer committed a batch: send the replies it was holding. */
static void
deliver_done(struct vhd *vhd)
{
	struct store_done done[64];
	size_t n, i, j;

	while ((n = store_take_done(vhd->bot->store, done, ARRAY_SIZE(done))) >
	       0) {
		for (i = 0; i < n; i++) {
			struct pending *p = done[i].user;
			struct session *s =
				session_registry_find(&vhd->reg, p->session_id);
			int bad = 0;

			if (s == NULL) {
				/* the buyer left: the turn is stored anyway */
			} else if (!done[i].ok) {
				strbuf_reset(&vhd->frame);
				protocol_format_error(
					&vhd->frame, PROTO_UNAVAILABLE,
					"this message could not be saved: "
					"please send it again later",
					p->reply_to,
					p->sender[0] ? p->sender : NULL);
				bad = session_send(s, vhd->frame.buf,
						   vhd->frame.len,
						   vhd->loop_turn);
			} else {
				for (j = 0; j < p->nframes && !bad; j++) {
					bad = session_queue(s, p->frames[j],
							    vhd->loop_turn);
					p->frames[j] = NULL;
				}
				if (!bad)
					kick_add(vhd, s->id);
			}
			if (bad) {
				lwsl_warn(
					"dropping session %llu: not reading\n",
					(unsigned long long)s->id);
				session_kill(s);
			}
			pending_free(p);
		}
	}
}

static void
rx_add(struct rxbatch *b, uint64_t session_id, const char *msg, size_t len)
{
	if (b->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 64;
		b->v = xrealloc(b->v, b->cap * sizeof(*b->v));
	}
	b->v[b->n].session_id = session_id;
	b->v[b->n].off = b->bytes.len;
	b->v[b->n].len = len;
	b->n++;
	strbuf_add(&b->bytes, msg, len);
}

/*
 * Handle the frames of this turn of the loop, in the order they came.
 * The end of the turn calls it (turn_end() on libev, runner_run() on
 * poll()), and so do SIGTERM's drain and a session's CLOSED: a session
 * that lws closes in the turn its frames came (a write error, the
 * context going away) is still there to be found, and what it sent is
 * stored.  'closing' is that session: answered into a queue that is
 * about to go, never killed twice.
 */
static void
rx_flush(struct vhd *vhd, struct session *closing)
{
	struct rxbatch *b = &vhd->rx;
	size_t i;

	if (b->flushing || b->n == 0)
		return;
	b->flushing = true;
	for (i = 0; i < b->n; i++) {
		struct session *s =
			session_registry_find(&vhd->reg, b->v[i].session_id);

		if (s == NULL)
			continue; /* cannot happen: CLOSED flushes first */
		if (handle_frame(vhd, s, b->bytes.buf + b->v[i].off,
				 b->v[i].len) < 0 &&
		    s != closing) {
			lwsl_warn("dropping session %llu: not reading\n",
				  (unsigned long long)s->id);
			session_kill(s);
		}
	}
	b->n = 0;
	if (b->bytes.alloc > RX_KEEP_BYTES)
		strbuf_release(&b->bytes);
	else
		strbuf_reset(&b->bytes);
	b->flushing = false;
}

/* The running server's loop state (see server_run): callbacks reach it. */
struct runner;
static struct runner *the_runner;
static void runner_poll(struct runner *r);
static void runner_set_vhd(struct vhd *old, struct vhd *vhd);

/* ---- the buyer protocol ------------------------------------------------- */

static int
callback_buyer(struct lws *wsi, enum lws_callback_reasons reason, void *user,
	       void *in, size_t len)
{
	struct session *pss = user;
	struct vhd *vhd = lws_protocol_vh_priv_get(lws_get_vhost(wsi),
						   lws_get_protocol(wsi));
	struct ident id;
	char *msg;
	size_t msg_len;

	switch (reason) {
	case LWS_CALLBACK_PROTOCOL_INIT: {
		struct bot *bot = lws_context_user(lws_get_context(wsi));
		const struct config *cfg = bot->cfg;

		vhd = lws_protocol_vh_priv_zalloc(lws_get_vhost(wsi),
						  lws_get_protocol(wsi),
						  sizeof(*vhd));
		if (vhd == NULL)
			abort(); /* OOM, as xmalloc */
		vhd->cx = lws_get_context(wsi);
		vhd->bot = bot;
		vhd->convs =
			convtab_new((size_t)cfg->max_conversations,
				    (int64_t)cfg->conversation_ttl_s * 1000);
		vhd->limits.outq_max = (size_t)cfg->outq_max;
		vhd->limits.outq_max_bytes = (size_t)cfg->outq_max_bytes;
		vhd->limits.frame_max = (size_t)cfg->max_frame_bytes;
		vhd->limits.idle_timeout_s = cfg->idle_timeout_s;
		vhd->scratch = xmalloc((size_t)cfg->max_frame_bytes + 1);
		dialog_turn_init(&vhd->turn);
		strbuf_init(&vhd->frame);
		strbuf_init(&vhd->rx.bytes);
		runner_set_vhd(NULL, vhd);
		break;
	}
	case LWS_CALLBACK_PROTOCOL_DESTROY:
		if (vhd == NULL)
			break;
		runner_set_vhd(vhd, NULL);
		convtab_free(vhd->convs);
		dialog_turn_release(&vhd->turn);
		strbuf_release(&vhd->frame);
		strbuf_release(&vhd->rx.bytes);
		free(vhd->rx.v);
		free(vhd->kick.v);
		free(vhd->scratch);
		break;

	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		if (vhd == NULL || vhd->draining)
			return -1;
		identify(wsi, vhd->bot->cfg, &id);
		if (id.status) {
			/* Still HTTP here: answer with a status, then hang up.
			 */
			lwsl_user("refused websocket upgrade: %s\n", id.why);
			lws_return_http_status(wsi, id.status, id.why);
			return -1;
		}
		snprintf(pss->buyer, sizeof(pss->buyer), "%s", id.buyer);
		pss->gateway = id.gateway;
		break;

	case LWS_CALLBACK_ESTABLISHED:
		if (vhd == NULL)
			return -1;
		session_start(pss, wsi, &vhd->reg, &vhd->limits);
		if (!pss->gateway && pss->buyer[0] == '\0') {
			memcpy(pss->buyer, "anon-", 5);
			lws_hex_random(vhd->cx, pss->buyer + 5, 17);
		}
		break;

	case LWS_CALLBACK_RECEIVE:
		if (vhd == NULL || pss->wsi == NULL)
			return -1;
		if (lws_frame_is_binary(wsi)) {
			if (!lws_is_final_fragment(wsi))
				break;
			return send_error(vhd, pss, PROTO_BAD_REQUEST,
					  "binary frames are not supported: "
					  "send JSON text",
					  NULL, NULL) < 0
				       ? -1
				       : 0;
		}
		switch (session_receive(pss, in, len,
					lws_is_final_fragment(wsi),
					vhd->scratch, &msg, &msg_len)) {
		case SESSION_RX_MORE:
			return 0;
		case SESSION_RX_TOO_BIG:
			lws_close_reason(
				wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
				(unsigned char *)"frame too large", 15);
			return -1;
		case SESSION_RX_MESSAGE:
			break;
		}
		rx_add(&vhd->rx, pss->id, msg, msg_len);
		return 0;

	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (pss->wsi == NULL)
			break;
		return session_writeable(pss);

	case LWS_CALLBACK_CLOSED:
		if (vhd && pss->wsi) {
			rx_flush(vhd, pss); /* what it sent is not lost */
			session_clear(pss, &vhd->reg);
		}
		if (vhd && vhd->draining && the_runner)
			runner_poll(the_runner); /* the last one out stops */
		break;

	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		if (vhd == NULL)
			break;
		deliver_done(vhd);
		if (the_runner)
			runner_poll(the_runner);
		break;

	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{"http", callback_http, 0, 0, 0, NULL, 0},
	{"xiaoer-buyer", callback_buyer, sizeof(struct session), 0, 0, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0},
};

/* ---- run ------------------------------------------------------------------
 */

/*
 * SIGHUP: the new content is loaded and checked on a thread of its own,
 * so live chats never wait for it; the loop swaps it in when woken.  On
 * any error the old set stays live.  The same thread then frees the
 * set it replaced (freeing 150 intents' JIT code takes ~10 ms), so the
 * loop's only work is swapping a pointer.
 */
struct reloader {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	bool running;	       /* loop thread only: 'thread' to be joined */
	bool done;	       /* under lock: 'fresh' and 'err' are set */
	bool handed;	       /* under lock: 'stale' is set (maybe NULL) */
	struct content *fresh; /* under lock */
	struct content *stale; /* under lock: for the thread to free */
	struct bot_err err;    /* under lock */
	const char *dir;
	struct waker *waker;
};

static void *
reload_main(void *arg)
{
	struct reloader *r = arg;
	struct bot_err err = {""};
	struct content *fresh = content_load(r->dir, &err);

	pthread_mutex_lock(&r->lock);
	r->fresh = fresh;
	r->err = err;
	r->done = true;
	pthread_cond_broadcast(&r->cond); /* a shutdown may be waiting */
	pthread_mutex_unlock(&r->lock);
	wake_loop(r->waker);

	pthread_mutex_lock(&r->lock);
	while (!r->handed)
		pthread_cond_wait(&r->cond, &r->lock);
	pthread_mutex_unlock(&r->lock);
	content_free(r->stale);
	return NULL;
}

/* Give the thread what it must free, and join it. */
static void
reload_join(struct reloader *r, struct content *stale, bool wait)
{
	pthread_mutex_lock(&r->lock);
	r->stale = stale;
	r->handed = true;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	if (wait) {
		pthread_join(r->thread, NULL);
		r->running = false;
	}
}

static void
reload_start(struct reloader *r)
{
	sigset_t all, old;

	if (r->running) {
		bool done;

		pthread_mutex_lock(&r->lock);
		done = r->handed;
		pthread_mutex_unlock(&r->lock);
		if (!done)
			return; /* one at a time; the next HUP re-runs it */
		pthread_join(r->thread, NULL); /* it is freeing: ~10 ms */
		r->running = false;
	}
	r->done = r->handed = false;
	r->fresh = r->stale = NULL;
	/* The thread must not take our signals: block them while it starts
	 * so that it inherits the blocked mask. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	if (pthread_create(&r->thread, NULL, reload_main, r) == 0)
		r->running = true;
	else
		lwsl_err("cannot start the reload thread\n");
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r->running)
		lwsl_user("reloading content from '%s'\n", r->dir);
}

/*
 * Swap in a finished reload.  'wait' (shutting down): wait for a reload
 * still running, free what it made, and join the thread.
 */
static void
reload_finish(struct reloader *r, struct bot *bot, bool wait)
{
	struct content *fresh;
	bool done, handed;

	if (!r->running)
		return;
	pthread_mutex_lock(&r->lock);
	while (wait && !r->done)
		pthread_cond_wait(&r->cond, &r->lock);
	done = r->done;
	handed = r->handed;
	fresh = r->fresh;
	r->fresh = NULL;
	pthread_mutex_unlock(&r->lock);
	if (handed) { /* swapped earlier; the thread is freeing */
		if (wait)
			reload_join(r, r->stale, true);
		return;
	}
	if (!done)
		return;
	if (fresh == NULL) {
		lwsl_err("reload failed, keeping the live content: %s\n",
			 r->err.msg);
		reload_join(r, NULL, wait);
		return;
	}
	if (wait) { /* shutting down: nobody will use it */
		reload_join(r, fresh, true);
		return;
	}
	reload_join(r, bot->content, false);
	bot->content = fresh;
	lwsl_user("reloaded content from '%s'\n", r->dir);
}

static int
close_all(struct lws_dll2 *d, void *user)
{
	struct session *s = lws_container_of(d, struct session, by_id);

	(void)user;
	session_close_after(s, LWS_CLOSE_STATUS_GOINGAWAY,
			    "server shutting down");
	return 0;
}

/*
 * The loop: lws's own poll() loop, or libev (epoll) when 'event_loop' is
 * libev.  On libev lws_service() would never return, so we own the
 * ev_loop (a "foreign" loop to lws: lws then installs no SIGINT watcher
 * of its own) and run it ourselves; everything that is not an lws event
 * (signals, a finished reload, the drain) is handled in runner_poll(),
 * which the loop reaches through lws_cancel_service() ->
 * EVENT_WAIT_CANCELLED on both loops.
 */
struct runner {
	struct bot *bot;
	struct lws_context *cx;
	struct vhd *vhd; /* the buyer protocol's, NULL if it failed */
	struct reloader reloader;
	struct ev_loop *loop; /* NULL: lws's poll() loop */
	ev_timer drain_timer;
	ev_prepare turn_end; /* libev only: rx_flush() before it blocks */
	lws_sorted_usec_list_t heartbeat; /* libev only, see heartbeat() */
	lws_sorted_usec_list_t health;	  /* see health_check() */
	struct store_health_log health_log;
	int64_t drain_deadline; /* 0 until SIGTERM/SIGINT */
	bool done;		/* leave the loop */
};

/*
 * lws 4.1.6's libev glue arms its one ev_timer for the earliest lws timer
 * (lws_sul) when it is idle, but re-sets it with ev_timer_set() while it
 * is still running, which libev ignores: a timer scheduled earlier than
 * the one armed (an idle timeout, a close handshake's, killing a slow
 * reader) waits for that one, up to 30 s.  A heartbeat timer of our own
 * keeps the armed deadline at most SERVER_HEARTBEAT_MS away, so every
 * lws timer fires at most that late.  Ten wake-ups a second cost nothing.
 */
#define SERVER_HEARTBEAT_MS 100

static void
heartbeat(lws_sorted_usec_list_t *sul)
{
	struct runner *r = lws_container_of(sul, struct runner, heartbeat);

	lws_sul_schedule(r->cx, 0, &r->heartbeat, heartbeat,
			 SERVER_HEARTBEAT_MS * LWS_US_PER_MS);
}

/*
 * What the database's writer and checkpointer could not do goes to the
 * log (store_health_news): a full disk must show there, not only to the
 * buyers who were asked to send again.
 */
#define SERVER_HEALTH_MS 1000

static void
health_say(struct runner *r)
{
	struct store_health h;
	char line[512];

	store_health(r->bot->store, &h);
	if (store_health_news(&r->health_log, &h, util_now_ms(), line,
			      sizeof(line)))
		lwsl_err("%s\n", line);
}

static void
health_check(lws_sorted_usec_list_t *sul)
{
	struct runner *r = lws_container_of(sul, struct runner, health);

	health_say(r);
	lws_sul_schedule(r->cx, 0, &r->health, health_check,
			 SERVER_HEALTH_MS * LWS_US_PER_MS);
}

/* PROTOCOL_INIT / _DESTROY of the buyer protocol. */
static void
runner_set_vhd(struct vhd *old, struct vhd *vhd)
{
	if (the_runner && the_runner->vhd == old)
		the_runner->vhd = vhd;
}

static void
runner_stop(struct runner *r)
{
	r->done = true;
	if (r->loop)
		ev_break(r->loop, EVBREAK_ALL);
}

static void
drain_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct runner *r = lws_container_of(w, struct runner, drain_timer);

	(void)loop;
	(void)revents;
	lwsl_warn("drain deadline: closing the connections left\n");
	runner_stop(r);
}

/* SIGTERM: refuse new work, answer what is committed, close with 1001. */
static void
drain_start(struct runner *r)
{
	struct vhd *vhd = r->vhd;
	size_t i;

	lwsl_user("shutting down: draining connections\n");
	r->drain_deadline = util_now_ms() + SERVER_DRAIN_MS;
	if (r->loop) {
		ev_timer_init(&r->drain_timer, drain_timeout,
			      SERVER_DRAIN_MS / 1000.0, 0);
		ev_timer_start(r->loop, &r->drain_timer);
	}
	if (vhd == NULL)
		return;
	rx_flush(vhd, NULL); /* answered as usual: they came before */
	vhd->draining = true;
	store_flush(r->bot->store);
	deliver_done(vhd);
	for (i = 0; i < ARRAY_SIZE(vhd->reg.buckets); i++)
		lws_dll2_foreach_safe(&vhd->reg.buckets[i], NULL, close_all);
}

/* Everything that is not an lws event; on the service thread. */
static void
runner_poll(struct runner *r)
{
	if (reload_requested && !interrupted) {
		reload_requested = 0;
		reload_start(&r->reloader);
	}
	reload_finish(&r->reloader, r->bot, false);
	if (interrupted && r->drain_deadline == 0)
		drain_start(r);
	if (r->drain_deadline != 0 && !r->done &&
	    (r->vhd == NULL || r->vhd->reg.count == 0 ||
	     util_now_ms() >= r->drain_deadline))
		runner_stop(r);
}

/* libev's prepare watchers run when every event of the turn has been
 * handled, before it waits for the next ones. */
static void
turn_end(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct runner *r = lws_container_of(w, struct runner, turn_end);

	(void)loop;
	(void)revents;
	if (r->vhd) {
		rx_flush(r->vhd, NULL);
		kick_writes(r->vhd);
	}
}

static void
runner_run(struct runner *r)
{
	runner_poll(r); /* a signal may have come before the loop */
	lws_sul_schedule(r->cx, 0, &r->health, health_check,
			 SERVER_HEALTH_MS * LWS_US_PER_MS);
	if (r->loop) {
		heartbeat(&r->heartbeat);
		ev_prepare_init(&r->turn_end, turn_end);
		ev_prepare_start(r->loop, &r->turn_end);
		if (!r->done)
			ev_run(r->loop, 0);
		ev_prepare_stop(r->loop, &r->turn_end);
		lws_sul_cancel(&r->heartbeat);
		lws_sul_cancel(&r->health);
		if (r->drain_deadline)
			ev_timer_stop(r->loop, &r->drain_timer);
		return;
	}
	while (!r->done) {
		if (lws_service(r->cx, 0) < 0)
			break;
		if (r->vhd) {
			rx_flush(r->vhd, NULL);
			kick_writes(r->vhd);
		}
		runner_poll(r);
	}
	lws_sul_cancel(&r->health);
}

/*
 * Make the buyer protocol ready before the loop accepts anybody.
 *
 * lws_create_context() listens at once but leaves its protocols'
 * PROTOCOL_INIT, and with it the vhost's default protocol, to a timer
 * that fires on a quiet turn of the loop (an idle watcher on libev).  A
 * websocket upgrade served before that is bound to protocol 0, "http":
 * its 101 goes out, then nobody ever reads it.  Buyers reconnecting the
 * moment a restarted server listens, in the midnight rush, keep every
 * turn busy, and got connections that were open and dead (scenario
 * startup-storm).  Here the state manager is stepped to OPERATIONAL
 * now, as that timer would; it then finds nothing left to do.
 */
static int
protocols_ready(struct lws_context *cx, struct runner *r)
{
	lws_state_transition_steps(lws_system_get_state_manager(cx),
				   LWS_SYSTATE_OPERATIONAL);
	return r->vhd ? 0 : -1;
}

int
server_run(struct bot *bot, struct bot_err *err)
{
	static const struct lws_protocol_vhost_options pvo_default = {
		NULL, NULL, "default", "1"};
	static const struct lws_protocol_vhost_options pvo = {
		NULL, &pvo_default, "xiaoer-buyer", ""};
	static const lws_retry_bo_t retry = {
		.secs_since_valid_ping = 60,
		.secs_since_valid_hangup = 75,
	};
	const struct config *cfg = bot->cfg;
	struct lws_context_creation_info info;
	struct lws_context *cx;
	struct lws_vhost *vh;
	struct waker waker = {NULL};
	struct runner r;
	void *loops[1] = {NULL};
	struct sigaction sa;
	char *www = www_root;

	/* lws serves files from 'origin' as is: make it absolute. */
	if (cfg->www[0] == '/')
		snprintf(www, sizeof(www_root), "%s", cfg->www);
	else if (getcwd(www, sizeof(www_root) - 1) == NULL ||
		 strlen(www) + strlen(cfg->www) + 2 > sizeof(www_root))
		return bot_errf(err, "cannot resolve www directory '%s'",
				cfg->www);
	else
		snprintf(www + strlen(www), sizeof(www_root) - strlen(www),
			 "/%s", cfg->www);
	if (access(www, R_OK | X_OK) != 0)
		return bot_errf(err, "cannot read www directory '%s'", www);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (store_start_writer(bot->store, wake_loop, &waker, err) < 0)
		return -1;

	memset(&info, 0, sizeof(info));
	info.port = cfg->port;
	info.iface = cfg->listen;
	info.protocols = protocols;
	info.pvo = &pvo;
	info.user = bot;
	info.retry_and_idle_policy = &retry;
	info.vhost_name = "default";
	info.options =
		LWS_SERVER_OPTION_VALIDATE_UTF8 |
		LWS_SERVER_OPTION_HTTP_HEADERS_SECURITY_BEST_PRACTICES_ENFORCE;
	if (strchr(cfg->listen, ':') == NULL)
		info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
	memset(&r, 0, sizeof(r));
	r.bot = bot;
	if (strcmp(cfg->event_loop, "libev") == 0) {
		/* epoll: the cost of a wake-up does not grow with the
		 * number of idle buyers as poll()'s does */
		r.loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
		if (r.loop == NULL)
			return bot_errf(err, "cannot create the libev loop");
		loops[0] = r.loop;
		info.foreign_loops = loops;
		info.options |= LWS_SERVER_OPTION_LIBEV;
	}

	/* PROTOCOL_INIT fills r.vhd, see protocols_ready(). */
	the_runner = &r;
	cx = lws_create_context(&info);
	if (cx == NULL) {
		the_runner = NULL;
		if (r.loop)
			ev_loop_destroy(r.loop);
		return bot_errf(err, "cannot listen on %s:%d%s", cfg->listen,
				cfg->port,
				r.loop ? " (with event_loop libev: is "
					 "libwebsockets-evlib-ev installed?)"
				       : "");
	}
	if (protocols_ready(cx, &r) < 0) {
		lws_context_destroy(cx);
		the_runner = NULL;
		if (r.loop)
			ev_loop_destroy(r.loop);
		return bot_errf(err, "libwebsockets did not start the buyer "
				     "protocol");
	}
	waker.cx = cx;
	signal_cx = cx;
	vh = lws_get_vhost_by_name(cx, "default");
	fprintf(stderr, "xiaoer: event loop %s\n",
		r.loop ? "libev (epoll)" : "poll");
	fprintf(stderr, "xiaoer: listening on http://%s:%d/\n", cfg->listen,
		vh ? lws_get_vhost_listen_port(vh) : cfg->port);
	fflush(stderr);

	r.cx = cx;
	pthread_mutex_init(&r.reloader.lock, NULL);
	pthread_cond_init(&r.reloader.cond, NULL);
	r.reloader.dir = cfg->content;
	r.reloader.waker = &waker;
	runner_run(&r);
	reload_finish(&r.reloader, bot, true);
	pthread_mutex_destroy(&r.reloader.lock);
	pthread_cond_destroy(&r.reloader.cond);
	store_flush(bot->store);
	r.health_log.said_ms = 0; /* the last word, however soon */
	health_say(&r);
	signal_cx = NULL;
	waker.cx = NULL;
	lws_context_destroy(cx);
	the_runner = NULL;
	if (r.loop)
		ev_loop_destroy(r.loop);
	return 0;
}
