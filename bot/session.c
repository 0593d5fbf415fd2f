/*
 * session.c - see session.h.
 */
#include "session.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

struct outmsg {
	lws_dll2_t list;
	size_t len;
	unsigned char buf[]; /* LWS_PRE + len */
};

static lws_dll2_owner_t *
bucket(struct session_registry *r, uint64_t id)
{
	return &r->buckets[id % ARRAY_SIZE(r->buckets)];
}

void
session_registry_add(struct session_registry *r, struct session *s)
{
	s->id = ++r->next_id;
	lws_dll2_add_tail(&s->by_id, bucket(r, s->id));
	s->registered = true;
	r->count++;
}

struct session *
session_registry_find(struct session_registry *r, uint64_t id)
{
	lws_start_foreach_dll(struct lws_dll2 *, d,
			      lws_dll2_get_head(bucket(r, id)))
	{
		struct session *s = lws_container_of(d, struct session, by_id);

		if (s->id == id)
			return s;
	}
	lws_end_foreach_dll(d);
	return NULL;
}

void
session_registry_remove(struct session_registry *r, struct session *s)
{
	if (!s->registered)
		return;
	lws_dll2_remove(&s->by_id);
	s->registered = false;
	r->count--;
}

static void
idle_cb(lws_sorted_usec_list_t *sul)
{
	struct session *s = lws_container_of(sul, struct session, idle);
	lws_usec_t timeout = (lws_usec_t)s->limits->idle_timeout_s *
			     LWS_US_PER_SEC,
		   since = lws_now_usecs() - s->last_rx_us;

	if (since < timeout) {
		/* Re-arm lazily: traffic never touches the timer list. */
		lws_sul_schedule(lws_get_context(s->wsi), 0, &s->idle, idle_cb,
				 timeout - since);
		return;
	}
	session_close_after(s, LWS_CLOSE_STATUS_NORMAL, "idle timeout");
}

void
session_start(struct session *s, struct lws *wsi, struct session_registry *r,
	      const struct session_limits *limits)
{
	s->wsi = wsi;
	s->limits = limits;
	s->last_rx_us = lws_now_usecs();
	session_registry_add(r, s);
	if (limits->idle_timeout_s > 0)
		lws_sul_schedule(lws_get_context(wsi), 0, &s->idle, idle_cb,
				 (lws_usec_t)limits->idle_timeout_s *
					 LWS_US_PER_SEC);
}

enum session_rx
session_receive(struct session *s, void *in, size_t len, bool final,
		char *scratch, char **msg, size_t *msg_len)
{
	s->last_rx_us = lws_now_usecs();
	if (s->rx_len + len > s->limits->frame_max) {
		lws_buflist_destroy_all_segments(&s->rx);
		s->rx_len = 0;
		return SESSION_RX_TOO_BIG;
	}
	if (final && s->rx == NULL) {
		*msg = in;
		*msg_len = len;
		return SESSION_RX_MESSAGE;
	}
	if (len > 0) {
		if (lws_buflist_append_segment(&s->rx, in, len) < 0)
			abort(); /* OOM, as xmalloc */
		s->rx_len += len;
	}
	if (!final)
		return SESSION_RX_MORE;
	*msg_len = lws_buflist_linear_copy(&s->rx, 0, (uint8_t *)scratch,
					   s->rx_len);
	*msg = scratch;
	lws_buflist_destroy_all_segments(&s->rx);
	s->rx_len = 0;
	return SESSION_RX_MESSAGE;
}

struct outmsg *
outmsg_new(const char *json, size_t len)
{
	struct outmsg *m = xmalloc(sizeof(*m) + LWS_PRE + len);

	memset(&m->list, 0, sizeof(m->list));
	m->len = len;
	memcpy(m->buf + LWS_PRE, json, len);
	return m;
}

void
outmsg_free(struct outmsg *m)
{
	free(m);
}

static bool
over_limits(struct session *s, size_t len, uint64_t turn)
{
	if (s->held_turn != turn) {
		s->held_turn = turn;
		s->held_count = (size_t)s->outq.count;
		s->held_bytes = s->outq_bytes;
	}
	return s->held_count >= s->limits->outq_max ||
	       s->held_bytes + len > s->limits->outq_max_bytes;
}

/*
 * Has a close frame been sent or received, or is one about to go?  Our
 * 1009, lws's own 1002 (reserved bits, bad masking) and the peer's close
 * all record its payload first, and after a close frame no data frame
 * may follow (RFC 6455 5.5.1), though lws 4.1 would still write one.
 */
static bool
closing(struct session *s)
{
	return lws_get_close_length(s->wsi) > 0;
}

static int
free_outmsg(struct lws_dll2 *d, void *user)
{
	(void)user;
	lws_dll2_remove(d);
	free(lws_container_of(d, struct outmsg, list));
	return 0;
}

static void
drop_queue(struct session *s)
{
	lws_dll2_foreach_safe(&s->outq, NULL, free_outmsg);
	s->outq_bytes = 0;
}

int
session_queue(struct session *s, struct outmsg *m, uint64_t turn)
{
	if (over_limits(s, m->len, turn)) {
		free(m);
		return -1;
	}
	lws_dll2_add_tail(&m->list, &s->outq);
	s->outq_bytes += m->len;
	lws_callback_on_writable(s->wsi);
	return 0;
}

int
session_send(struct session *s, const char *json, size_t len, uint64_t turn)
{
	if (over_limits(s, len, turn))
		return -1;
	return session_queue(s, outmsg_new(json, len), turn);
}

int
session_writeable(struct session *s)
{
	struct outmsg *m;

	/* Checked here, where lws_write() reads the same state anyway: a
	 * reply queued after the close is dropped at its WRITEABLE, and one
	 * still queued when the connection goes, by session_clear(). */
	if (closing(s))
		drop_queue(s); /* lws writes its close frame itself */
	if (s->outq.head == NULL) {
		if (s->close_code == 0)
			return 0; /* a spurious WRITEABLE is normal */
		lws_close_reason(s->wsi, (enum lws_close_status)s->close_code,
				 (unsigned char *)s->close_reason,
				 strlen(s->close_reason));
		return -1;
	}
	m = lws_container_of(s->outq.head, struct outmsg, list);
	if (lws_write(s->wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT) <
	    (int)m->len)
		return -1;
	lws_dll2_remove(&m->list);
	s->outq_bytes -= m->len;
	free(m);
	if (s->outq.head || s->close_code)
		lws_callback_on_writable(s->wsi);
	return 0;
}

void
session_close_after(struct session *s, uint16_t code, const char *reason)
{
	if (s->close_code)
		return;
	s->close_code = code;
	snprintf(s->close_reason, sizeof(s->close_reason), "%s", reason);
	lws_callback_on_writable(s->wsi);
}

void
session_kill(struct session *s)
{
	lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

void
session_clear(struct session *s, struct session_registry *r)
{
	lws_sul_cancel(&s->idle);
	drop_queue(s);
	lws_buflist_destroy_all_segments(&s->rx);
	s->rx_len = 0;
	session_registry_remove(r, s);
	s->wsi = NULL;
}
