/*
 * test_util.c - strbuf, JSON string escaping, locating text in files.
 */
#include <stdlib.h>

#include "../bot/util.h"
#include "test.h"

void suite_util(void);

void
suite_util(void)
{
	struct strbuf sb;
	int line = 0, col = 0;
	char *p;

	TEST("util-1.1");
	strbuf_init(&sb);
	CHECK_STR(sb.buf, "");
	strbuf_addstr(&sb, "亲");
	strbuf_addf(&sb, "%d件", 3);
	CHECK_STR(sb.buf, "亲3件");
	CHECK_INT(sb.len, 7);
	strbuf_reset(&sb);
	CHECK_STR(sb.buf, "");

	TEST("util-1.2"); /* growth across many appends */
	for (int i = 0; i < 1000; i++)
		strbuf_addf(&sb, "%04d", i);
	CHECK_INT(sb.len, 4000);
	CHECK(memcmp(sb.buf + 3996, "0999", 4) == 0);
	strbuf_reset(&sb);
	strbuf_addf(&sb, "%s",
		    "0123456789012345678901234567890123456789"
		    "0123456789012345678901234567890123456789");
	CHECK_INT(sb.len, 80);

	TEST("util-2.1"); /* JSON escaping keeps UTF-8, escapes controls */
	strbuf_reset(&sb);
	strbuf_add_json_str(&sb, "a\"b\\c\n\x01在", 10);
	CHECK_STR(sb.buf, "\"a\\\"b\\\\c\\n\\u0001在\"");
	strbuf_release(&sb);

	TEST("util-3.1"); /* line:col counts characters, not bytes */
	CHECK(util_locate("{\n  \"名字\": \"x\"\n}", 0, "\"x\"", &line, &col) >
	      0);
	CHECK_INT(line, 2);
	CHECK_INT(col, 9);
	CHECK(util_locate("abc", 0, "zz", &line, &col) < 0);

	TEST("util-4.1");
	p = util_path_join("deploy", "../var/x.db");
	CHECK_STR(p, "deploy/../var/x.db");
	free(p);
	p = util_path_join("deploy", "/abs");
	CHECK_STR(p, "/abs");
	free(p);
	p = util_path_join(".", "rel");
	CHECK_STR(p, "rel");
	free(p);

	TEST("util-6.1"); /* Asia/Shanghai is UTC+8 all year */
	{
		int64_t ms = 0;
		char buf[32];

		CHECK_INT(util_parse_shanghai("2026-11-11 00:00", &ms), 0);
		CHECK_INT(ms, 1794326400000LL); /* 2026-11-10T16:00Z */
		util_format_shanghai(ms, buf, sizeof(buf));
		CHECK_STR(buf, "2026-11-11 00:00:00");
		CHECK_INT(util_parse_shanghai("2026-11-11", &ms), 0);
		CHECK_INT(ms, 1794326400000LL);
		CHECK_INT(util_parse_shanghai("2024-02-29T23:59:59", &ms), 0);
		util_format_shanghai(ms, buf, sizeof(buf));
		CHECK_STR(buf, "2024-02-29 23:59:59");
		CHECK_INT(util_parse_shanghai("2026-02-29", &ms), -1);
		CHECK_INT(util_parse_shanghai("2026-13-01", &ms), -1);
		CHECK_INT(util_parse_shanghai("2026-11-11 24:00", &ms), -1);
		CHECK_INT(util_parse_shanghai("2026-11-11 00:00:5", &ms), -1);
		CHECK_INT(util_parse_shanghai("11/11/2026", &ms), -1);
		CHECK_INT(util_parse_shanghai("", &ms), -1);
		util_format_shanghai(0, buf, sizeof(buf));
		CHECK_STR(buf, "1970-01-01 08:00:00");
	}

	TEST("util-5.1");
	CHECK(util_hash64("a", 1) != util_hash64("b", 1));
	CHECK(util_now_ms() > 1700000000000LL);
}
