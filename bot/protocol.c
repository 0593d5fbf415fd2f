/*
 * protocol.c - see protocol.h.
 */
#include "protocol.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "util.h"

/*
 * Parsing happens in two steps.  First the frame's fields are found: by a
 * small scanner for the frames buyers and gateways actually send (one flat
 * object, string, null, true, false or small integer values, no
 * surprises), and by jansson for everything else.  The scanner gives up
 * ("not sure") on anything unusual, so every frame it does not accept,
 * and every malformed one, is judged by jansson exactly as before: the
 * fast path can change only the cost of a frame, never its answer.  Then
 * check_fields() applies the rules of the protocol to the fields found,
 * whichever step found them.
 */
enum field_id {
	FL_TYPE,
	FL_ID,
	FL_TEXT,
	FL_PAYLOAD,
	FL_ORDER,
	FL_ITEM,
	FL_SENDER,
	FL_NR
};

static const char *const field_names[FL_NR] = {
	[FL_TYPE] = "type",	  [FL_ID] = "id",	[FL_TEXT] = "text",
	[FL_PAYLOAD] = "payload", [FL_ORDER] = "order", [FL_ITEM] = "item",
	[FL_SENDER] = "sender",
};

enum field_kind { FK_ABSENT, FK_NULL, FK_STRING, FK_OTHER };

struct field {
	enum field_kind kind;
	const char *s; /* FK_STRING: NUL-terminated, 'len' bytes */
	size_t len;
};

static int
fail(struct protocol_err *perr, const char *code, const char *message)
{
	perr->code = code;
	snprintf(perr->message, sizeof(perr->message), "%s", message);
	return -1;
}

/* Optional string field: absent or null is fine, anything else is not. */
static int
opt_string(const struct field *f, enum field_id id, const char **out,
	   struct protocol_err *perr)
{
	*out = NULL;
	if (f[id].kind == FK_ABSENT || f[id].kind == FK_NULL)
		return 0;
	if (f[id].kind != FK_STRING) {
		perr->code = PROTO_BAD_REQUEST;
		snprintf(perr->message, sizeof(perr->message),
			 "field '%s' must be a string", field_names[id]);
		return -1;
	}
	*out = f[id].s;
	return 0;
}

static bool
blank(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return false;
	return true;
}

/* ---- the scanner for plain frames ---- */

struct scan {
	const char *p, *end;
	char *out; /* decoded strings go here, each NUL-terminated */
};

static void
skip_ws(struct scan *sc)
{
	while (sc->p < sc->end && (*sc->p == ' ' || *sc->p == '\t' ||
				   *sc->p == '\n' || *sc->p == '\r'))
		sc->p++;
}

static int
hex4(const char *p, uint32_t *v)
{
	int i;

	*v = 0;
	for (i = 0; i < 4; i++) {
		char c = p[i];

		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*v |= (uint32_t)(c - 'A' + 10);
		else
			return -1;
	}
	return 0;
}

/* A string at sc->p ('"'), decoded into sc->out.  -1: not sure. */
static int
scan_string(struct scan *sc, struct field *f)
{
	char *o = sc->out;

	sc->p++;
	f->s = o;
	while (sc->p < sc->end) {
		unsigned char c = (unsigned char)*sc->p;

		if (c == '"') {
			sc->p++;
			f->kind = FK_STRING;
			f->len = (size_t)(o - f->s);
			*o++ = '\0';
			sc->out = o;
			return 0;
		}
		if (c < 0x20)
			return -1;
		if (c != '\\') {
			*o++ = (char)c;
			sc->p++;
			continue;
		}
		if (sc->end - sc->p < 2)
			return -1;
		switch (sc->p[1]) {
		case '"':
		case '\\':
		case '/':
			*o++ = sc->p[1];
			break;
		case 'b':
			*o++ = '\b';
			break;
		case 'f':
			*o++ = '\f';
			break;
		case 'n':
			*o++ = '\n';
			break;
		case 'r':
			*o++ = '\r';
			break;
		case 't':
			*o++ = '\t';
			break;
		case 'u': {
			uint32_t cp;

			/* surrogates and NUL are jansson's to judge */
			if (sc->end - sc->p < 6 || hex4(sc->p + 2, &cp) < 0 ||
			    cp == 0 || (cp >= 0xd800 && cp <= 0xdfff))
				return -1;
			o += text_utf8_encode(cp, o);
			sc->p += 4;
			break;
		}
		default:
			return -1;
		}
		sc->p += 2;
	}
	return -1;
}

/* A value other than a string: null, true, false or an integer of at
 * most 15 digits (jansson judges big numbers and reals).  -1: not sure. */
static int
scan_scalar(struct scan *sc, struct field *f)
{
	static const char *const words[] = {"null", "true", "false"};
	size_t i, n = (size_t)(sc->end - sc->p);
	const char *q = sc->p;

	for (i = 0; i < ARRAY_SIZE(words); i++) {
		size_t wl = strlen(words[i]);

		if (n >= wl && memcmp(q, words[i], wl) == 0) {
			sc->p += wl;
			f->kind = i == 0 ? FK_NULL : FK_OTHER;
			return 0;
		}
	}
	if (q < sc->end && *q == '-')
		q++;
	if (q >= sc->end || *q < '0' || *q > '9' ||
	    (*q == '0' && q + 1 < sc->end && q[1] >= '0' && q[1] <= '9'))
		return -1;
	for (i = 0; q < sc->end && *q >= '0' && *q <= '9'; q++)
		if (++i > 15)
			return -1;
	sc->p = q;
	f->kind = FK_OTHER;
	return 0;
}

/* At most this many keys the protocol does not know, in a plain frame. */
#define SCAN_OTHER_KEYS 8

/*
 * Find the fields of a plain frame: 0 and 'f' filled, or -1 when the frame
 * is anything else (malformed, nested, escapes or numbers jansson must
 * judge, a key twice).  'out' has room for len + 1 bytes.
 */
static int
scan_frame(const char *buf, size_t len, char *out, struct field *f)
{
	struct scan sc = {buf, buf + len, out};
	struct field other[SCAN_OTHER_KEYS];
	size_t nother = 0, i;

	if (!text_valid_utf8(buf, len))
		return -1;
	skip_ws(&sc);
	if (sc.p >= sc.end || *sc.p != '{')
		return -1;
	sc.p++;
	skip_ws(&sc);
	if (sc.p < sc.end && *sc.p == '}')
		goto close;
	for (;;) {
		struct field key, val, *slot = NULL;

		if (sc.p >= sc.end || *sc.p != '"' ||
		    scan_string(&sc, &key) < 0)
			return -1;
		for (i = 0; i < FL_NR && slot == NULL; i++)
			if (strcmp(key.s, field_names[i]) == 0)
				slot = &f[i];
		if (slot == NULL) {
			if (nother == SCAN_OTHER_KEYS)
				return -1;
			for (i = 0; i < nother; i++)
				if (other[i].len == key.len &&
				    memcmp(other[i].s, key.s, key.len) == 0)
					return -1; /* a duplicate */
			other[nother++] = key;
		} else if (slot->kind != FK_ABSENT) {
			return -1; /* a duplicate */
		}
		skip_ws(&sc);
		if (sc.p >= sc.end || *sc.p != ':')
			return -1;
		sc.p++;
		skip_ws(&sc);
		if (sc.p >= sc.end)
			return -1;
		if (*sc.p == '"' ? scan_string(&sc, &val) < 0
				 : scan_scalar(&sc, &val) < 0)
			return -1;
		if (slot)
			*slot = val;
		skip_ws(&sc);
		if (sc.p < sc.end && *sc.p == ',') {
			sc.p++;
			skip_ws(&sc);
			continue;
		}
		if (sc.p < sc.end && *sc.p == '}')
			break;
		return -1;
	}
close:
	sc.p++;
	skip_ws(&sc);
	return sc.p == sc.end ? 0 : -1;
}

/* ---- jansson, for every other frame ---- */

static int
load_fields(const char *buf, size_t len, struct inbound *in, struct field *f,
	    struct protocol_err *perr)
{
	json_error_t jerr;
	json_t *root;
	size_t i;

	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
			  &jerr);
	if (root == NULL) {
		perr->code = PROTO_BAD_JSON;
		snprintf(perr->message, sizeof(perr->message),
			 "not valid JSON: %.100s at column %d", jerr.text,
			 jerr.column);
		return -1;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		return fail(perr, PROTO_BAD_REQUEST,
			    "a frame must be a JSON object");
	}
	in->root = root;
	for (i = 0; i < FL_NR; i++) {
		json_t *v = json_object_get(root, field_names[i]);

		if (v == NULL)
			f[i].kind = FK_ABSENT;
		else if (json_is_null(v))
			f[i].kind = FK_NULL;
		else if (json_is_string(v)) {
			f[i].kind = FK_STRING;
			f[i].s = json_string_value(v);
			f[i].len = json_string_length(v);
		} else
			f[i].kind = FK_OTHER;
	}
	return 0;
}

/* ---- the protocol's rules ---- */

static int
check_fields(const struct field *f, struct inbound *in,
	     struct protocol_err *perr)
{
	const char *type;

	/* an error names the frame's id; one too long to name whole (an
	 * error itself, below) is not named cut short */
	if (f[FL_ID].kind == FK_STRING && f[FL_ID].len < sizeof(perr->reply_to))
		memcpy(perr->reply_to, f[FL_ID].s, f[FL_ID].len + 1);
	if (f[FL_TYPE].kind == FK_ABSENT)
		return fail(perr, PROTO_BAD_REQUEST, "missing field 'type'");
	if (f[FL_TYPE].kind != FK_STRING)
		return fail(perr, PROTO_BAD_REQUEST,
			    "field 'type' must be a string");
	type = f[FL_TYPE].s;
	if (opt_string(f, FL_ID, &in->id, perr) < 0 ||
	    opt_string(f, FL_ORDER, &in->order, perr) < 0 ||
	    opt_string(f, FL_ITEM, &in->item, perr) < 0 ||
	    opt_string(f, FL_SENDER, &in->sender, perr) < 0)
		return -1;
	if (in->id && strlen(in->id) >= sizeof(perr->reply_to)) {
		return fail(perr, PROTO_BAD_REQUEST,
			    "field 'id' is longer than 63 bytes");
	}
	if (in->sender && (in->sender[0] == '\0' || strlen(in->sender) > 63))
		return fail(perr, PROTO_BAD_REQUEST,
			    "field 'sender' must be 1 to 63 bytes");
	if (in->item && strlen(in->item) > 63)
		return fail(perr, PROTO_BAD_REQUEST,
			    "field 'item' is longer than 63 bytes");
	if (in->order && strlen(in->order) > 63)
		return fail(perr, PROTO_BAD_REQUEST,
			    "field 'order' is longer than 63 bytes");

	if (strcmp(type, "message") == 0) {
		in->type = INBOUND_MESSAGE;
		if (f[FL_TEXT].kind == FK_ABSENT)
			return fail(perr, PROTO_BAD_REQUEST,
				    "missing field 'text'");
		if (f[FL_TEXT].kind != FK_STRING)
			return fail(perr, PROTO_BAD_REQUEST,
				    "field 'text' must be a string");
		in->text = f[FL_TEXT].s;
		in->text_len = f[FL_TEXT].len;
		if (blank(in->text, in->text_len))
			return fail(perr, PROTO_BAD_REQUEST,
				    "field 'text' is empty");
		if (memchr(in->text, '\0', in->text_len))
			return fail(perr, PROTO_BAD_REQUEST,
				    "field 'text' contains a NUL character");
	} else if (strcmp(type, "button") == 0) {
		in->type = INBOUND_BUTTON;
		if (opt_string(f, FL_PAYLOAD, &in->payload, perr) < 0)
			return -1;
		if (in->payload == NULL || in->payload[0] == '\0')
			return fail(perr, PROTO_BAD_REQUEST,
				    "missing field 'payload'");
	} else {
		perr->code = PROTO_UNKNOWN_TYPE;
		snprintf(perr->message, sizeof(perr->message),
			 "unknown frame type '%.60s'", type);
		return -1;
	}
	return 0;
}

static void
inbound_reset(struct inbound *in)
{
	in->type = INBOUND_MESSAGE;
	in->id = in->text = in->payload = in->order = in->item = in->sender =
		NULL;
	in->text_len = 0;
	in->root = NULL;
	in->heap = NULL;
}

static int
parse(const char *buf, size_t len, struct inbound *in,
      struct protocol_err *perr, bool scan)
{
	struct field f[FL_NR];
	bool scanned = false;
	char *out;

	inbound_reset(in);
	perr->code = NULL;
	perr->message[0] = '\0';
	perr->reply_to[0] = '\0';
	memset(f, 0, sizeof(f));

	if (scan) {
		/* decoded strings never take more room than the frame */
		out = len < sizeof(in->small) ? in->small
					      : (in->heap = xmalloc(len + 1));
		scanned = scan_frame(buf, len, out, f) == 0;
		if (!scanned) {
			free(in->heap);
			in->heap = NULL;
			memset(f, 0, sizeof(f));
		}
	}
	if (!scanned && load_fields(buf, len, in, f, perr) < 0)
		return -1;
	if (check_fields(f, in, perr) < 0) {
		inbound_clear(in);
		return -1;
	}
	return 0;
}

/*
 * The error goes back to the client in a text frame, which must be UTF-8
 * (a browser drops the connection otherwise), but its message may quote
 * the frame: jansson's "near '...'" copies the bytes it choked on, and a
 * quoted type is cut at a byte limit.
 */
static int
parse_or_say(const char *buf, size_t len, struct inbound *in,
	     struct protocol_err *perr, bool scan)
{
	if (parse(buf, len, in, perr, scan) == 0)
		return 0;
	text_utf8_sanitize(perr->message);
	return -1;
}

int
protocol_parse(const char *buf, size_t len, struct inbound *in,
	       struct protocol_err *perr)
{
	return parse_or_say(buf, len, in, perr, true);
}

int
protocol_parse_reference(const char *buf, size_t len, struct inbound *in,
			 struct protocol_err *perr)
{
	return parse_or_say(buf, len, in, perr, false);
}

void
inbound_clear(struct inbound *in)
{
	json_decref((json_t *)in->root);
	free(in->heap);
	inbound_reset(in);
}

static void
add_field(struct strbuf *out, const char *key, const char *val)
{
	if (val == NULL)
		return;
	/* keys are our own literals: nothing to escape, no printf */
	strbuf_add(out, ",\"", 2);
	strbuf_addstr(out, key);
	strbuf_add(out, "\":", 2);
	strbuf_add_json_str(out, val, strlen(val));
}

void
protocol_format_reply(struct strbuf *out, const struct outbound_reply *r)
{
	size_t i;

	strbuf_addstr(out, "{\"type\":\"reply\"");
	add_field(out, "reply_to", r->reply_to);
	add_field(out, "sender", r->sender);
	add_field(out, "text", r->text);
	add_field(out, "intent", r->intent);
	add_field(out, "topic", r->topic);
	add_field(out, "action", r->action);
	add_field(out, "script", r->script);
	strbuf_addstr(out, ",\"buttons\":[");
	for (i = 0; i < r->nbuttons; i++) {
		strbuf_addstr(out, i ? ",{\"title\":" : "{\"title\":");
		strbuf_add_json_str(out, r->buttons[i].title,
				    strlen(r->buttons[i].title));
		strbuf_addstr(out, ",\"payload\":");
		strbuf_add_json_str(out, r->buttons[i].payload,
				    strlen(r->buttons[i].payload));
		strbuf_addch(out, '}');
	}
	strbuf_addstr(out, "]}");
}

void
protocol_format_error(struct strbuf *out, const char *code, const char *message,
		      const char *reply_to, const char *sender)
{
	strbuf_addstr(out, "{\"type\":\"error\"");
	add_field(out, "code", code);
	add_field(out, "message", message);
	if (reply_to && reply_to[0])
		add_field(out, "reply_to", reply_to);
	add_field(out, "sender", sender);
	strbuf_addch(out, '}');
}

void
protocol_format_status(struct strbuf *out, const char *state, int position,
		       int eta_s, const char *sender)
{
	strbuf_addstr(out, "{\"type\":\"status\"");
	add_field(out, "state", state);
	if (position >= 0)
		strbuf_addf(out, ",\"position\":%d", position);
	if (eta_s >= 0)
		strbuf_addf(out, ",\"eta_s\":%d", eta_s);
	add_field(out, "sender", sender);
	strbuf_addch(out, '}');
}
