/*
 * session.h - one websocket connection (the lws "pss").
 *
 * RX reassembly with a size cap, a bounded out-queue whose frames carry
 * LWS_PRE headroom, one frame per WRITEABLE, a lazily re-armed idle timer,
 * and a registry that finds a session by id, so that nothing else ever
 * holds a struct lws * or a pss pointer.  Decides no replies.
 */
#ifndef BOT_SESSION_H
#define BOT_SESSION_H

#include <libwebsockets.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct session_limits {
	size_t outq_max; /* frames */
	size_t outq_max_bytes;
	size_t frame_max;   /* bytes of one reassembled message */
	int idle_timeout_s; /* 0 = none */
};

/* Zero-filled by lws; valid from ESTABLISHED until CLOSED returns. */
struct session {
	struct lws *wsi;
	uint64_t id;
	lws_dll2_t by_id;      /* registry bucket */
	lws_dll2_owner_t outq; /* struct outmsg */
	size_t outq_bytes;
	/* the queue as turn 'held_turn' found it, see session_queue() */
	uint64_t held_turn;
	size_t held_count, held_bytes;
	struct lws_buflist *rx;
	size_t rx_len;
	lws_sorted_usec_list_t idle;
	lws_usec_t last_rx_us;
	const struct session_limits *limits;
	char buyer[64]; /* "" for a gateway */
	bool gateway;
	bool registered;
	uint16_t close_code; /* != 0: close after the queue drains */
	char close_reason[40];
};

struct session_registry {
	lws_dll2_owner_t buckets[1024];
	size_t count;
	uint64_t next_id;
};

void session_registry_add(struct session_registry *r, struct session *s);
struct session *session_registry_find(struct session_registry *r, uint64_t id);
void session_registry_remove(struct session_registry *r, struct session *s);

/* ESTABLISHED: take the wsi, register, arm the idle timer. */
void session_start(struct session *s, struct lws *wsi,
		   struct session_registry *r,
		   const struct session_limits *limits);

enum session_rx {
	SESSION_RX_MORE,    /* a fragment was buffered */
	SESSION_RX_MESSAGE, /* '*msg' holds a whole message */
	SESSION_RX_TOO_BIG, /* over frame_max: close with 1009 */
};

/*
 * Feed one RECEIVE callback.  On SESSION_RX_MESSAGE '*msg' / '*len' point
 * either at 'in' (single-fragment message) or at a copy in 'scratch' (a
 * caller-owned buffer of at least frame_max bytes); valid until the next
 * call.
 */
enum session_rx session_receive(struct session *s, void *in, size_t len,
				bool final, char *scratch, char **msg,
				size_t *msg_len);

/* One text frame ready to queue: the JSON with LWS_PRE bytes of headroom
 * before it, in one allocation.  Whoever holds it owns it. */
struct outmsg;
struct outmsg *outmsg_new(const char *json, size_t len);
void outmsg_free(struct outmsg *m); /* NULL is a no-op */

/*
 * Queue 'm' and take it (queued, or freed when refused), in the loop's
 * turn number 'turn'.  Returns -1 when the queue is over its limits: the
 * peer is not reading, and the caller must drop it.
 *
 * The limits hold against what the peer left unread when this turn
 * began, not against what the turn queues: one commit may answer a
 * gateway's hundred buyers at once, and the end of the turn writes them
 * (kick_writes() in server.c).  What is still queued at the next turn is
 * what the peer did not take.
 */
int session_queue(struct session *s, struct outmsg *m, uint64_t turn);

/* Queue a copy of one text frame; -1 as session_queue(). */
int session_send(struct session *s, const char *json, size_t len,
		 uint64_t turn);

/* SERVER_WRITEABLE: write one frame; returns -1 to close the connection. */
int session_writeable(struct session *s);

/* Close with 'code' once what is queued has been written. */
void session_close_after(struct session *s, uint16_t code, const char *reason);

/* Drop a session that is not our current callback's (a slow reader). */
void session_kill(struct session *s);

/* CLOSED: cancel the timer, free queue and RX, leave the registry. */
void session_clear(struct session *s, struct session_registry *r);

#endif /* BOT_SESSION_H */
