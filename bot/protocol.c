/*
 * protocol.c - see protocol.h.
 */
#include "protocol.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

static int
fail(struct protocol_err *perr, const char *code, const char *message)
{
	perr->code = code;
	snprintf(perr->message, sizeof(perr->message), "%s", message);
	return -1;
}

/* Optional string field: absent or null is fine, anything else is not. */
static int
opt_string(json_t *root, const char *key, const char **out,
	   struct protocol_err *perr)
{
	json_t *v = json_object_get(root, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		perr->code = PROTO_BAD_REQUEST;
		snprintf(perr->message, sizeof(perr->message),
			 "field '%s' must be a string", key);
		return -1;
	}
	*out = json_string_value(v);
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

int
protocol_parse(const char *buf, size_t len, struct inbound *in,
	       struct protocol_err *perr)
{
	json_error_t jerr;
	json_t *root, *v;
	const char *type;

	memset(in, 0, sizeof(*in));
	perr->code = NULL;
	perr->message[0] = '\0';
	perr->reply_to[0] = '\0';

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
	v = json_object_get(root, "id");
	if (json_is_string(v))
		snprintf(perr->reply_to, sizeof(perr->reply_to), "%s",
			 json_string_value(v));
	in->root = root;

	v = json_object_get(root, "type");
	if (v == NULL) {
		fail(perr, PROTO_BAD_REQUEST, "missing field 'type'");
		goto fail;
	}
	if (!json_is_string(v)) {
		fail(perr, PROTO_BAD_REQUEST, "field 'type' must be a string");
		goto fail;
	}
	type = json_string_value(v);
	if (opt_string(root, "id", &in->id, perr) < 0 ||
	    opt_string(root, "order", &in->order, perr) < 0 ||
	    opt_string(root, "item", &in->item, perr) < 0 ||
	    opt_string(root, "sender", &in->sender, perr) < 0)
		goto fail;
	if (in->id && strlen(in->id) >= sizeof(perr->reply_to)) {
		perr->reply_to[0] = '\0';
		fail(perr, PROTO_BAD_REQUEST,
		     "field 'id' is longer than 63 bytes");
		goto fail;
	}
	if (in->sender && (in->sender[0] == '\0' || strlen(in->sender) > 63)) {
		fail(perr, PROTO_BAD_REQUEST,
		     "field 'sender' must be 1 to 63 bytes");
		goto fail;
	}
	if (in->item && strlen(in->item) > 63) {
		fail(perr, PROTO_BAD_REQUEST,
		     "field 'item' is longer than 63 bytes");
		goto fail;
	}
	if (in->order && strlen(in->order) > 63) {
		fail(perr, PROTO_BAD_REQUEST,
		     "field 'order' is longer than 63 bytes");
		goto fail;
	}

	if (strcmp(type, "message") == 0) {
		in->type = INBOUND_MESSAGE;
		v = json_object_get(root, "text");
		if (v == NULL) {
			fail(perr, PROTO_BAD_REQUEST, "missing field 'text'");
			goto fail;
		}
		if (!json_is_string(v)) {
			fail(perr, PROTO_BAD_REQUEST,
			     "field 'text' must be a string");
			goto fail;
		}
		in->text = json_string_value(v);
		in->text_len = json_string_length(v);
		if (blank(in->text, in->text_len)) {
			fail(perr, PROTO_BAD_REQUEST, "field 'text' is empty");
			goto fail;
		}
		if (memchr(in->text, '\0', in->text_len)) {
			fail(perr, PROTO_BAD_REQUEST,
			     "field 'text' contains a NUL character");
			goto fail;
		}
	} else if (strcmp(type, "button") == 0) {
		in->type = INBOUND_BUTTON;
		if (opt_string(root, "payload", &in->payload, perr) < 0)
			goto fail;
		if (in->payload == NULL || in->payload[0] == '\0') {
			fail(perr, PROTO_BAD_REQUEST,
			     "missing field 'payload'");
			goto fail;
		}
	} else {
		perr->code = PROTO_UNKNOWN_TYPE;
		snprintf(perr->message, sizeof(perr->message),
			 "unknown frame type '%.60s'", type);
		goto fail;
	}
	return 0;
fail:
	inbound_clear(in);
	return -1;
}

void
inbound_clear(struct inbound *in)
{
	json_decref((json_t *)in->root);
	memset(in, 0, sizeof(*in));
}

static void
add_field(struct strbuf *out, const char *key, const char *val)
{
	if (val == NULL)
		return;
	strbuf_addf(out, ",\"%s\":", key);
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
