/*
 * fuzz_protocol.c - libFuzzer harness for the wire protocol (DESIGN.md
 * section 4): whatever bytes a buyer, a gateway or an attacker sends as a
 * text frame.
 *
 * Besides crashes, leaks and undefined behaviour (the build has ASan and
 * UBSan), it stops on:
 *   - protocol_parse() and its jansson reference giving different answers
 *     (result, error, any field);
 *   - an error that is not one of the PROTO_* codes, or has no message;
 *   - a frame the server would send back (the error, or a reply that
 *     echoes the id, sender and text) that is not valid UTF-8 JSON with
 *     those strings in it: a browser drops the connection (1007) on a text
 *     frame that is not UTF-8.
 * lws passes only valid UTF-8 text frames (LWS_SERVER_OPTION_VALIDATE_UTF8),
 * but the parser gets any bytes here: it must not rely on that.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../bot/protocol.h"
#include "../../bot/text.h"
#include "../../bot/util.h"
#include "../protodiff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fail(const char *what, const char *frame, size_t len)
{
	fprintf(stderr, "fuzz_protocol: %s\nframe (%zu bytes): %.*s\n", what,
		len, (int)len, frame);
	abort();
}

static const char *const codes[] = {
	PROTO_BAD_JSON,	   PROTO_BAD_REQUEST,  PROTO_UNKNOWN_TYPE,
	PROTO_TOO_LARGE,   PROTO_RATE_LIMITED, PROTO_FORBIDDEN,
	PROTO_UNAVAILABLE, PROTO_BUSY,
};

static bool
known_code(const char *code)
{
	size_t i;

	for (i = 0; code && i < ARRAY_SIZE(codes); i++)
		if (strcmp(code, codes[i]) == 0)
			return true;
	return false;
}

static bool
utf8(const char *s)
{
	return s == NULL || text_valid_utf8(s, strlen(s));
}

/* Does object 'o' have 'key' equal to 's' (absent when s is NULL)? */
static bool
has(json_t *o, const char *key, const char *s)
{
	json_t *v = json_object_get(o, key);

	if (s == NULL)
		return v == NULL;
	return json_is_string(v) && strcmp(json_string_value(v), s) == 0;
}

/* The frame as the server would send it, read back by jansson. */
static json_t *
reparse(const struct strbuf *sb, const char *frame, size_t len)
{
	json_error_t je;
	json_t *o;

	if (!text_valid_utf8(sb->buf, sb->len))
		fail("an outgoing frame is not valid UTF-8", frame, len);
	o = json_loadb(sb->buf, sb->len, 0, &je);
	if (o == NULL || !json_is_object(o)) {
		fprintf(stderr, "fuzz_protocol: jansson: %s\n", je.text);
		fail("an outgoing frame is not a JSON object", frame, len);
	}
	return o;
}

static void
check_error(const struct protocol_err *perr, const char *frame, size_t len)
{
	struct strbuf sb;
	json_t *o;

	if (!known_code(perr->code))
		fail("error code is not one of PROTO_*", frame, len);
	if (perr->message[0] == '\0')
		fail("error without a message", frame, len);
	strbuf_init(&sb);
	protocol_format_error(&sb, perr->code, perr->message, perr->reply_to,
			      NULL);
	o = reparse(&sb, frame, len);
	if (!has(o, "code", perr->code) || !has(o, "message", perr->message) ||
	    !has(o, "reply_to", perr->reply_to[0] ? perr->reply_to : NULL))
		fail("the error frame does not say what the error was", frame,
		     len);
	json_decref(o);
	strbuf_release(&sb);
}

static void
check_parsed(const struct inbound *in, const char *frame, size_t len)
{
	struct outbound_reply r;
	struct strbuf sb;
	json_t *o;

	if (in->type == INBOUND_MESSAGE &&
	    (in->text == NULL || strlen(in->text) != in->text_len))
		fail("message text with a NUL or no text", frame, len);
	if (in->type == INBOUND_BUTTON &&
	    (in->payload == NULL || in->payload[0] == '\0'))
		fail("button without a payload", frame, len);
	/* what jansson accepts is UTF-8, and the scanner must agree */
	if (!(in->text == NULL || text_valid_utf8(in->text, in->text_len)) ||
	    !utf8(in->id) || !utf8(in->payload) || !utf8(in->order) ||
	    !utf8(in->item) || !utf8(in->sender))
		fail("a decoded string is not valid UTF-8", frame, len);

	/* echoed back: the reply names the frame's id and sender; the text
	 * stands in for any string the bot might quote */
	memset(&r, 0, sizeof(r));
	r.reply_to = in->id;
	r.sender = in->sender;
	r.text = in->type == INBOUND_MESSAGE ? in->text : in->payload;
	r.intent = in->order;
	r.script = in->item;
	strbuf_init(&sb);
	protocol_format_reply(&sb, &r);
	o = reparse(&sb, frame, len);
	if (!has(o, "reply_to", r.reply_to) || !has(o, "sender", r.sender) ||
	    !has(o, "text", r.text) || !has(o, "intent", r.intent) ||
	    !has(o, "script", r.script))
		fail("a reply does not carry back the strings it was given",
		     frame, len);
	json_decref(o);
	strbuf_release(&sb);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *frame = (const char *)data;
	struct protocol_err perr;
	struct inbound in;
	const char *why;

	if (!protodiff_same(frame, size, &why)) {
		fprintf(stderr, "fuzz_protocol: %s differs\n", why);
		fail("protocol_parse() and jansson disagree", frame, size);
	}
	if (protocol_parse(frame, size, &in, &perr) < 0) {
		check_error(&perr, frame, size);
		return 0;
	}
	check_parsed(&in, frame, size);
	inbound_clear(&in);
	return 0;
}
