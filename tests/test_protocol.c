/*
 * test_protocol.c - parsing frames and formatting replies.
 */
#include <jansson.h>

#include "../bot/protocol.h"
#include "../bot/util.h"
#include "test.h"

void suite_protocol(void);

static const char *
parse_code(const char *frame, char *reply_to)
{
	static struct protocol_err perr;
	struct inbound in;

	if (protocol_parse(frame, strlen(frame), &in, &perr) == 0) {
		inbound_clear(&in);
		return "ok";
	}
	if (reply_to)
		strcpy(reply_to, perr.reply_to);
	CHECK(perr.message[0] != '\0');
	return perr.code;
}

void
suite_protocol(void)
{
	struct protocol_err perr;
	struct inbound in;
	struct strbuf sb;
	char rt[64];
	json_t *j;
	const char *f;

	TEST("protocol-1.1");
	f = "{\"type\":\"message\",\"id\":\"m-1\",\"text\":\"我的快递到哪了\","
	    "\"order\":\"123\",\"extra\":1}";
	CHECK_INT(protocol_parse(f, strlen(f), &in, &perr), 0);
	CHECK_INT(in.type, INBOUND_MESSAGE);
	CHECK_STR(in.id, "m-1");
	CHECK_STR(in.text, "我的快递到哪了");
	CHECK_INT(in.text_len, 21);
	CHECK_STR(in.order, "123");
	CHECK(in.sender == NULL);
	inbound_clear(&in);

	TEST("protocol-1.2");
	f = "{\"type\":\"button\",\"id\":\"b\",\"payload\":\"human.request\","
	    "\"sender\":\"g-7\"}";
	CHECK_INT(protocol_parse(f, strlen(f), &in, &perr), 0);
	CHECK_INT(in.type, INBOUND_BUTTON);
	CHECK_STR(in.payload, "human.request");
	CHECK_STR(in.sender, "g-7");
	inbound_clear(&in);

	TEST("protocol-2.1"); /* every bad frame gets a code and message */
	CHECK_STR(parse_code("not json", NULL), PROTO_BAD_JSON);
	CHECK_STR(parse_code("{\"type\":\"message\"", NULL), PROTO_BAD_JSON);
	CHECK_STR(parse_code("[1,2]", NULL), PROTO_BAD_REQUEST);
	CHECK_STR(parse_code("42", NULL), PROTO_BAD_REQUEST);
	CHECK_STR(parse_code("\"hi\"", NULL), PROTO_BAD_REQUEST);
	CHECK_STR(parse_code("{}", NULL), PROTO_BAD_REQUEST);
	CHECK_STR(parse_code("{\"type\":7}", NULL), PROTO_BAD_REQUEST);
	CHECK_STR(parse_code("{\"type\":\"dance\"}", NULL), PROTO_UNKNOWN_TYPE);
	CHECK_STR(parse_code("{\"type\":\"message\",\"id\":\"x1\"}", rt),
		  PROTO_BAD_REQUEST);
	CHECK_STR(rt, "x1");
	CHECK_STR(parse_code("{\"type\":\"message\",\"text\":5}", NULL),
		  PROTO_BAD_REQUEST);
	CHECK_STR(parse_code("{\"type\":\"message\",\"text\":\"  \"}", NULL),
		  PROTO_BAD_REQUEST);
	CHECK_STR(parse_code("{\"type\":\"message\",\"text\":\"a\\u0000b\"}",
			     NULL),
		  PROTO_BAD_JSON);
	CHECK_STR(parse_code("{\"type\":\"message\",\"text\":\"a\","
			     "\"order\":[1]}",
			     NULL),
		  PROTO_BAD_REQUEST);
	CHECK_STR(parse_code("{\"type\":\"button\"}", NULL), PROTO_BAD_REQUEST);
	CHECK_STR(parse_code("{\"type\":\"message\",\"text\":\"a\",\"type\":"
			     "\"x\"}",
			     NULL),
		  PROTO_BAD_JSON);

	TEST("protocol-3.1"); /* a reply is valid JSON with every field */
	{
		struct outbound_button b[] = {{"转人工", "human.request"}};
		struct outbound_reply r = {"m-1",
					   NULL,
					   "亲，\"好的\"",
					   "logistics.where",
					   "logistics",
					   "reply",
					   "logistics.where@3",
					   b,
					   1};

		strbuf_init(&sb);
		protocol_format_reply(&sb, &r);
		j = json_loads(sb.buf, 0, NULL);
		CHECK(j != NULL);
		CHECK_STR(json_string_value(json_object_get(j, "type")),
			  "reply");
		CHECK_STR(json_string_value(json_object_get(j, "text")),
			  "亲，\"好的\"");
		CHECK_STR(json_string_value(json_object_get(j, "script")),
			  "logistics.where@3");
		CHECK_INT(json_array_size(json_object_get(j, "buttons")), 1);
		CHECK(json_object_get(j, "sender") == NULL);
		json_decref(j);
	}

	TEST("protocol-3.2");
	strbuf_reset(&sb);
	protocol_format_error(&sb, PROTO_RATE_LIMITED, "slow down", "m-2",
			      "g1");
	CHECK_STR(sb.buf, "{\"type\":\"error\",\"code\":\"rate_limited\","
			  "\"message\":\"slow down\",\"reply_to\":\"m-2\","
			  "\"sender\":\"g1\"}");
	strbuf_reset(&sb);
	protocol_format_status(&sb, "queued", 3, -1, NULL);
	CHECK_STR(sb.buf, "{\"type\":\"status\",\"state\":\"queued\","
			  "\"position\":3}");
	strbuf_release(&sb);
}
