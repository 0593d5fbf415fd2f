/*
 * test_content.c - intents and scripts checked against each other.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../bot/content.h"
#include "../bot/intents.h"
#include "../bot/scripts.h"
#include "../bot/util.h"
#include "test.h"

void suite_content(void);

static const char sys_intents[] =
	"{\"name\":\"fallback\",\"topic\":\"unknown\"},"
	"{\"name\":\"handoff.misses\",\"topic\":\"human\",\"action\":"
	"\"escalate\"},"
	"{\"name\":\"handoff.repeat\",\"topic\":\"human\",\"action\":"
	"\"escalate\"}";

static const char sys_scripts[] =
	"{\"id\":\"f\",\"intent\":\"fallback\",\"status\":\"approved\","
	"\"version\":1,\"author\":\"a\",\"approver\":\"b\",\"variants\":[\"?\"]"
	"},"
	"{\"id\":\"m\",\"intent\":\"handoff.misses\",\"status\":\"approved\","
	"\"version\":1,\"author\":\"a\",\"approver\":\"b\",\"variants\":[\"m\"]"
	"},"
	"{\"id\":\"r\",\"intent\":\"handoff.repeat\",\"status\":\"approved\","
	"\"version\":1,\"author\":\"a\",\"approver\":\"b\",\"variants\":[\"r\"]"
	"}";

struct seen {
	int n;
	char first[512];
};

static int
collect(void *ctx, const char *where, const char *reason)
{
	struct seen *s = ctx;

	if (s->n++ == 0)
		snprintf(s->first, sizeof(s->first), "%s: %s", where, reason);
	return 0;
}

/* Build a content dir from an extra intent and extra scripts; check it. */
static int
check_dir(const char *intent, const char *scripts, struct seen *seen)
{
	char dir[64] = "/tmp/xiaoer-content-XXXXXX", p[160];
	struct bot_err err = {""};
	struct content *c;
	FILE *f;
	int n = -1;

	memset(seen, 0, sizeof(*seen));
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(p, sizeof(p), "%s/intents", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/scripts-zh", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/intents/a.json", dir);
	f = fopen(p, "w");
	fprintf(f, "{\"intents\":[%s%s%s]}", sys_intents, intent[0] ? "," : "",
		intent);
	fclose(f);
	snprintf(p, sizeof(p), "%s/scripts-zh/a.json", dir);
	f = fopen(p, "w");
	fprintf(f, "{\"scripts\":[%s%s%s]}", sys_scripts, scripts[0] ? "," : "",
		scripts);
	fclose(f);
	c = content_open(dir, &err);
	if (c) {
		n = content_check(c, collect, seen);
		content_free(c);
		/* content_load refuses exactly what content_check faults */
		c = content_load(dir, &err);
		CHECK((n == 0) == (c != NULL));
		content_free(c);
	} else {
		snprintf(seen->first, sizeof(seen->first), "%s", err.msg);
	}
	snprintf(p, sizeof(p), "%s/intents/a.json", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/scripts-zh/a.json", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/intents", dir);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/scripts-zh", dir);
	rmdir(p);
	rmdir(dir);
	return n;
}

#define GOOD_INTENT                                                            \
	"{\"name\":\"a.b\",\"topic\":\"human\",\"patterns\":[\"(?<item>"       \
	"苹果|梨)\"],\"examples\":[\"苹果\",\"梨\",\"有苹果吗\","    \
	"\"梨还有吗\",\"苹果多少钱\"]}"

void
suite_content(void)
{
	struct bot_err err = {""};
	struct content *c = content_load("tests/fixtures/content", &err);
	struct seen seen;

	TEST("content-1.1");
	CHECK(c != NULL);
	if (c) {
		CHECK_STR(content_script(
				  c, intents_find(c->intents, "human.request"))
				  ->ref,
			  "human.request@2");
		content_free(c);
	} else {
		fprintf(stderr, "%s\n", err.msg);
	}

	TEST("content-2.1"); /* a clean minimal set */
	CHECK_INT(check_dir(GOOD_INTENT,
			    "{\"id\":\"x\",\"intent\":\"a.b\",\"status\":"
			    "\"approved\",\"version\":1,\"author\":\"a\","
			    "\"approver\":\"b\",\"variants\":[\"{item}有货\","
			    "\"有货哦\"]}",
			    &seen),
		  0);

	TEST("content-2.2"); /* an intent with no approved script */
	CHECK_INT(check_dir(GOOD_INTENT,
			    "{\"id\":\"x\",\"intent\":\"a.b\",\"status\":"
			    "\"draft\",\"version\":1,\"author\":\"a\","
			    "\"variants\":[\"有货哦\"]}",
			    &seen),
		  1);
	CHECK(strstr(seen.first, "has no approved script") != NULL);
	CHECK(strstr(seen.first, "a.json:1:") != NULL);

	TEST("content-2.3"); /* a slot the intent can never fill */
	CHECK_INT(check_dir(GOOD_INTENT,
			    "{\"id\":\"x\",\"intent\":\"a.b\",\"status\":"
			    "\"approved\",\"version\":1,\"author\":\"a\","
			    "\"approver\":\"b\",\"variants\":[\"{colour}有货\","
			    "\"有货\"]}",
			    &seen),
		  1);
	CHECK(strstr(seen.first, "{colour}") != NULL);

	TEST("content-2.4"); /* only optional-slot variants */
	CHECK_INT(check_dir(GOOD_INTENT,
			    "{\"id\":\"x\",\"intent\":\"a.b\",\"status\":"
			    "\"approved\",\"version\":1,\"author\":\"a\","
			    "\"approver\":\"b\",\"variants\":[\"{item}有货\"]}",
			    &seen),
		  1);
	CHECK(strstr(seen.first, "can always be filled") != NULL);

	TEST("content-2.5"); /* buttons and scripts name real intents */
	CHECK_INT(check_dir(GOOD_INTENT,
			    "{\"id\":\"x\",\"intent\":\"a.b\",\"status\":"
			    "\"approved\",\"version\":1,\"author\":\"a\","
			    "\"approver\":\"b\",\"variants\":[\"有\"],"
			    "\"buttons\":[{\"title\":\"t\",\"payload\":"
			    "\"no.such\"}]},"
			    "{\"id\":\"y\",\"intent\":\"gone\",\"status\":"
			    "\"draft\",\"version\":1,\"author\":\"a\","
			    "\"variants\":[\"y\"]}",
			    &seen),
		  2);
	CHECK(strstr(seen.first, "no.such") != NULL);

	TEST("content-2.6"); /* system intents are required */
	{
		char dir[64] = "/tmp/xiaoer-content-XXXXXX", p[160];
		FILE *f;

		CHECK(mkdtemp(dir) != NULL);
		snprintf(p, sizeof(p), "%s/intents", dir);
		mkdir(p, 0700);
		snprintf(p, sizeof(p), "%s/scripts-zh", dir);
		mkdir(p, 0700);
		snprintf(p, sizeof(p), "%s/intents/a.json", dir);
		f = fopen(p, "w");
		fputs("{\"intents\":[]}", f);
		fclose(f);
		snprintf(p, sizeof(p), "%s/scripts-zh/a.json", dir);
		f = fopen(p, "w");
		fputs("{\"scripts\":[]}", f);
		fclose(f);
		c = content_load(dir, &err);
		CHECK(c == NULL);
		CHECK(strstr(err.msg, "missing intent 'fallback'") != NULL);
		CHECK(strstr(err.msg, "and 2 more") != NULL);
		snprintf(p, sizeof(p), "%s/intents/a.json", dir);
		unlink(p);
		snprintf(p, sizeof(p), "%s/scripts-zh/a.json", dir);
		unlink(p);
		snprintf(p, sizeof(p), "%s/intents", dir);
		rmdir(p);
		snprintf(p, sizeof(p), "%s/scripts-zh", dir);
		rmdir(p);
		rmdir(dir);
	}
}
