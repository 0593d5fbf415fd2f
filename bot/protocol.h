/*
 * protocol.h - the JSON wire format of DESIGN.md section 4.
 *
 * Parsing turns one complete text frame into a struct inbound or an error
 * code with a human message; formatting writes outbound frames into a
 * strbuf.  Knows nothing of sockets.
 */
#ifndef BOT_PROTOCOL_H
#define BOT_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf;

enum inbound_type {
	INBOUND_MESSAGE, /* {"type":"message","id","text","order"} */
	INBOUND_BUTTON,	 /* {"type":"button","id","payload"} */
};

/* Every string is NUL-terminated and owned by the struct (decoded into
 * 'small' or 'heap', or borrowed from 'root'); valid until inbound_clear(). */
struct inbound {
	enum inbound_type type;
	const char *id;	     /* client's message id, or NULL */
	const char *text;    /* message text (INBOUND_MESSAGE) */
	size_t text_len;     /* bytes */
	const char *payload; /* button payload (INBOUND_BUTTON) */
	const char *order;   /* optional order id, or NULL */
	const char *item;    /* optional product id, or NULL */
	const char *sender;  /* gateway buyer id, or NULL */
	void *root;	     /* json_t *, owned, when jansson parsed it */
	char *heap;	     /* decoded strings of a long frame, owned */
	char small[1024];    /* decoded strings of a short frame */
};

/* Error codes sent to clients, as strings on the wire. */
#define PROTO_BAD_JSON	   "bad_json"
#define PROTO_BAD_REQUEST  "bad_request"
#define PROTO_UNKNOWN_TYPE "unknown_type"
#define PROTO_TOO_LARGE	   "too_large"
#define PROTO_RATE_LIMITED "rate_limited"
#define PROTO_FORBIDDEN	   "forbidden"
#define PROTO_UNAVAILABLE  "unavailable"
#define PROTO_BUSY	   "busy"

struct protocol_err {
	const char *code;  /* one of PROTO_* */
	char message[160]; /* for people: what was wrong */
	char reply_to[64]; /* the frame's "id" when it had one, else "" */
};

/*
 * Parse one complete frame of 'len' bytes (not NUL-terminated, valid
 * UTF-8).  Returns 0 and fills 'in', or -1 and fills 'perr'.  The caller
 * calls inbound_clear() after a 0 return.
 */
int protocol_parse(const char *buf, size_t len, struct inbound *in,
		   struct protocol_err *perr);

/* protocol_parse() by jansson alone, without the scanner for plain frames
 * that protocol_parse() tries first: the reference the tests compare it
 * with.  Same contract. */
int protocol_parse_reference(const char *buf, size_t len, struct inbound *in,
			     struct protocol_err *perr);

void inbound_clear(struct inbound *in);

struct outbound_button {
	const char *title;
	const char *payload;
};

struct outbound_reply {
	const char *reply_to; /* may be NULL */
	const char *sender;   /* gateway: the buyer it is for; may be NULL */
	const char *text;
	const char *intent;
	const char *topic;
	const char *action; /* reply | clarify | escalate | complaint */
	const char *script; /* "id@version" */
	const struct outbound_button *buttons;
	size_t nbuttons;
};

/* Append the JSON of a reply frame to 'out'. */
void protocol_format_reply(struct strbuf *out, const struct outbound_reply *r);

/* Append {"type":"error","code","message"[,"reply_to"][,"sender"]}. */
void protocol_format_error(struct strbuf *out, const char *code,
			   const char *message, const char *reply_to,
			   const char *sender);

/* Append {"type":"status","state":...} (position/eta omitted when < 0). */
void protocol_format_status(struct strbuf *out, const char *state, int position,
			    int eta_s, const char *sender);

#endif /* BOT_PROTOCOL_H */
