/*
 * test_logtools.c - the time parser of --since, --until and --now:
 * absolute Asia/Shanghai times (UTC+8 whatever TZ says) and "24h"/"7d"
 * relative to an injected now.  The commands themselves are tested from
 * the shell (tests/cli.sh).
 */
#include "test.h"
#include "../bot/logtools.h"
#include "../bot/util.h"

#include <stdint.h>

void suite_logtools(void);

#define NOV11 INT64_C(1794326400000) /* 2026-11-11 00:00:00 +08:00 */
#define HOUR  INT64_C(3600000)
#define DAY   (24 * HOUR)

static void
test_absolute(void)
{
	static const struct {
		const char *s;
		int64_t ms;
	} ok[] = {
		{"2026-11-11", NOV11},
		{"2026-11-11 00:03", NOV11 + 3 * 60000},
		{"2026-11-11 00:03:12", NOV11 + 192000},
		{"2026-11-10 23:59:59", NOV11 - 1000},
		{"2026-11-11T08:00", NOV11 + 8 * HOUR},
		{"1970-01-01 08:00", 0},
		{"1970-01-01", -8 * HOUR},
		{"2024-02-29", INT64_C(1709136000000)},
		{"2027-01-01", NOV11 + 51 * DAY},
	};
	int64_t ms;
	size_t i;

	TEST("logtools-1.1");
	for (i = 0; i < ARRAY_SIZE(ok); i++) {
		ms = -1;
		CHECK_INT(logtools_parse_time(ok[i].s, 0, &ms), 0);
		CHECK_INT(ms, ok[i].ms);
	}
	/* 'now' does not move an absolute time. */
	TEST("logtools-1.2");
	CHECK_INT(logtools_parse_time("2026-11-11", NOV11 + 5 * DAY, &ms), 0);
	CHECK_INT(ms, NOV11);
}

static void
test_relative(void)
{
	const int64_t now = NOV11 + 12345;
	int64_t ms;

	TEST("logtools-2.1");
	CHECK_INT(logtools_parse_time("24h", now, &ms), 0);
	CHECK_INT(ms, now - DAY);
	CHECK_INT(logtools_parse_time("7d", now, &ms), 0);
	CHECK_INT(ms, now - 7 * DAY);
	CHECK_INT(logtools_parse_time("1h", now, &ms), 0);
	CHECK_INT(ms, now - HOUR);
	CHECK_INT(logtools_parse_time("0d", now, &ms), 0);
	CHECK_INT(ms, now);
	CHECK_INT(logtools_parse_time("999999999d", now, &ms), 0);
	CHECK_INT(ms, now - INT64_C(999999999) * DAY);
}

static void
test_bad(void)
{
	static const char *const bad[] = {
		"",
		"x",
		"24",
		"h",
		"d",
		"24m",
		"24hh",
		"24 h",
		" 24h",
		"-1d",
		"+1d",
		"1.5h",
		"1234567890d", /* ten digits */
		"2026-13-01",
		"2026-00-10",
		"2026-02-29",
		"2026-04-31",
		"2026-11-11 24:00",
		"2026-11-11 23:60",
		"2026-11-11 00:03:60",
		"2026-11-11 00:03:1",
		"2026-11-11 0:03",
		"2026-11-11 00:03 ",
		"2026-11-1",
		"2026/11/11",
		"26-11-11",
		"1969-12-31",
		"yesterday",
	};
	int64_t ms;
	size_t i;

	TEST("logtools-3.1");
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		int rc = logtools_parse_time(bad[i], NOV11, &ms);

		if (rc != -1)
			fprintf(stderr, "logtools-3.1: '%s' was accepted\n",
				bad[i]);
		CHECK_INT(rc, -1);
	}
}

void
suite_logtools(void)
{
	test_absolute();
	test_relative();
	test_bad();
}
