/*
 * test_protocol.c - parsing frames and formatting replies.
 */
#include <jansson.h>

#include "../bot/protocol.h"
#include "../bot/text.h"
#include "../bot/util.h"
#include "protodiff.h"
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

/* The same answer as jansson?  On a difference, say where once. */
static bool
same_as_reference(const char *frame, size_t len)
{
	const char *why;

	if (protodiff_same(frame, len, &why))
		return true;
	fprintf(stderr, "protocol: %s differs from jansson on '%.*s'\n", why,
		(int)len, frame);
	return false;
}

/* Frames as buyers and gateways send them, and some they might. */
static const char *const plain_frames[] = {
	"{\"type\":\"message\",\"id\":\"m-1\",\"text\":\"我的快递到哪了\"}",
	" { \"type\" : \"message\" , \"text\" : \"亲 在吗\\n\\t\\\"哈\\\"\" } ",
	"{\"type\":\"message\",\"id\":\"3-17-9001\",\"text\":"
	"\"\\u4eb2\\u002f\\/"
	"\\b\\f\\r\",\"order\":\"1234567890\",\"item\":null}",
	"{\"type\":\"button\",\"id\":\"b\",\"payload\":\"human.request\","
	"\"sender\":\"g-7\",\"x\":true,\"y\":false,\"z\":-120,\"w\":0}",
	"{\"type\":\"message\",\"text\":\"a\",\"extra\":1,\"extra2\":null}",
	"{\"text\":\"退款\",\"type\":\"message\",\"sender\":\"\",\"id\":7}",
	"{\"type\":\"message\",\"text\":\"😀 emoji 🎁\",\"id\":null}",
	"{\"type\":\"message\",\"text\":\"\\ud83d\\ude00\"}",
	"{\"type\":\"message\",\"text\":\"n\",\"n\":1.5,\"m\":1e3}",
	"{\"type\":\"message\",\"text\":\"n\",\"big\":123456789012345678901}",
	"{\"type\":\"message\",\"text\":\"x\",\"o\":{\"a\":[1,2]}}",
	"{\"type\":\"message\",\"text\":\"x\",\"a\":1,\"a\":2}",
	"{\"type\":\"message\",\"text\":\"x\",\"text\":\"y\"}",
	"{\"type\":\"message\",\"text\":\"x\",\"a\":01}",
	"{}",
	"[]",
	"{\"type\":\"message\",\"text\":\"x\"} x",
	/* UTF-8 jansson refuses: a surrogate, an overlong, past U+10FFFF */
	"{\"type\":\"message\",\"text\":\"\xed\xa0\x80\"}",
	"{\"type\":\"message\",\"text\":\"\xc0\x80\"}",
	"{\"type\":\"message\",\"text\":\"\xf4\x90\x80\x80\"}",
	"{\"type\":\"message\",\"text\":\"\xef\xbf\xbf\"}",
};

/* Bytes that matter to a JSON scanner, for the mutations. */
static const char mutation_bytes[] = "\"\\{}[],: 0-1eE.utnfa\n\x01\x7f";

static void
suite_protocol_reference(void)
{
	static const unsigned char high[] = {0x80, 0xbf, 0xc3,
					     0xe4, 0xf0, 0xff};
	char buf[512];
	long differ = 0, frames = 0;
	size_t i, pos, k;

	TEST("protocol-4.1"); /* plain frames skip jansson */
	{
		struct inbound in;
		struct protocol_err perr;

		CHECK_INT(protocol_parse(plain_frames[0],
					 strlen(plain_frames[0]), &in, &perr),
			  0);
		CHECK(in.root == NULL);
		inbound_clear(&in);
		CHECK_INT(protocol_parse(plain_frames[10],
					 strlen(plain_frames[10]), &in, &perr),
			  0);
		CHECK(in.root != NULL); /* nested: jansson's */
		inbound_clear(&in);
	}

	TEST("protocol-4.2"); /* the same answers as jansson, always */
	for (i = 0; i < ARRAY_SIZE(plain_frames); i++) {
		const char *f = plain_frames[i];
		size_t len = strlen(f);

		differ += !same_as_reference(f, len);
		frames++;
		for (pos = 0; pos < len; pos++) {
			/* every prefix */
			differ += !same_as_reference(f, pos);
			/* every byte replaced, removed, or doubled */
			for (k = 0; k + 1 < sizeof(mutation_bytes); k++) {
				memcpy(buf, f, len);
				buf[pos] = mutation_bytes[k];
				differ += !same_as_reference(buf, len);
			}
			for (k = 0; k < sizeof(high); k++) {
				memcpy(buf, f, len);
				buf[pos] = (char)high[k];
				differ += !same_as_reference(buf, len);
			}
			memcpy(buf, f, pos);
			memcpy(buf + pos, f + pos + 1, len - pos - 1);
			differ += !same_as_reference(buf, len - 1);
			memcpy(buf, f, pos + 1);
			memcpy(buf + pos + 1, f + pos, len - pos);
			differ += !same_as_reference(buf, len + 1);
			frames += 4 + sizeof(mutation_bytes) - 1 + sizeof(high);
		}
	}
	CHECK_INT(differ, 0);
	CHECK(frames > 10000);

	TEST("protocol-4.3"); /* a long frame decodes outside the struct */
	{
		struct inbound in;
		struct protocol_err perr;
		struct strbuf sb;

		strbuf_init(&sb);
		strbuf_addstr(&sb, "{\"type\":\"message\",\"text\":\"");
		for (i = 0; i < 800; i++)
			strbuf_addstr(&sb, "快\\\"");
		strbuf_addstr(&sb, "\"}");
		CHECK(same_as_reference(sb.buf, sb.len));
		CHECK_INT(protocol_parse(sb.buf, sb.len, &in, &perr), 0);
		CHECK(in.root == NULL && in.heap != NULL);
		CHECK_INT(in.text_len, 800 * 4);
		inbound_clear(&in);
		strbuf_release(&sb);
	}
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

	TEST("protocol-2.2"); /* an error frame is UTF-8 whatever the frame */
	{
		struct strbuf id;
		size_t i;
		/* jansson quotes the bad bytes; a quoted type is cut at a
		 * byte limit; a long id is not echoed cut short */
		static const char *const frames[] = {
			"{\" \\\xf1\x82\x82\x82\" a\\",
			"{\"type\":\"message\",\"text\":\"a\xe5\x86\"}",
			"{\"type\":"
			"\"a快快快快快快快快快快快快快快快快快快快快快\"}",
		};

		for (i = 0; i < ARRAY_SIZE(frames); i++) {
			CHECK(protocol_parse(frames[i], strlen(frames[i]), &in,
					     &perr) < 0);
			CHECK(perr.message[0] != '\0');
			CHECK(text_valid_utf8(perr.message,
					      strlen(perr.message)));
		}
		CHECK(strstr(perr.message, "快快快") != NULL);
		strbuf_init(&id);
		strbuf_addstr(&id, "{\"id\":\"");
		for (i = 0; i < 30; i++) /* 90 bytes */
			strbuf_addstr(&id, "单");
		strbuf_addstr(&id, "\"}"); /* and no type */
		CHECK_STR(parse_code(id.buf, rt), PROTO_BAD_REQUEST);
		CHECK_STR(rt, "");
		strbuf_release(&id);
		CHECK_STR(parse_code("{\"id\":\"单号\"}", rt),
			  PROTO_BAD_REQUEST);
		CHECK_STR(rt, "单号");
	}

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
	suite_protocol_reference();
}
