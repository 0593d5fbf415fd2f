/*
 * test_scripts.c - loading scripts, picking and rendering variants.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../bot/intents.h"
#include "../bot/scripts.h"
#include "../bot/util.h"
#include "test.h"

#define FIX "tests/fixtures/content/scripts-zh"

void suite_scripts(void);

static struct scripts *
load_one(const char *json, struct bot_err *err)
{
	char dir[64] = "/tmp/xiaoer-scripts-XXXXXX", path[128];
	struct scripts *s;
	FILE *f;

	if (mkdtemp(dir) == NULL)
		return NULL;
	snprintf(path, sizeof(path), "%s/a.json", dir);
	f = fopen(path, "w");
	fputs(json, f);
	fclose(f);
	s = scripts_load(dir, err);
	unlink(path);
	rmdir(dir);
	return s;
}

static void
count_hit(void *ctx, const struct script *sc)
{
	(void)sc;
	(*(int *)ctx)++;
}

void
suite_scripts(void)
{
	struct bot_err err = {""};
	struct scripts *s = scripts_load(FIX, &err);
	const struct script *sc;
	struct intent_slot slot = {"order_id", "123456789012345678"};
	struct strbuf out;
	char missing[SCRIPTS_SLOT_NAME_MAX + 1];
	int hits = 0, i;
	bool seen[3] = {false, false, false};

	TEST("scripts-1.1");
	CHECK(s != NULL);
	if (s == NULL) {
		fprintf(stderr, "%s\n", err.msg);
		return;
	}
	CHECK_INT(scripts_count(s), 17);
	sc = scripts_for_intent(s, "logistics.where");
	CHECK(sc != NULL);
	if (sc == NULL)
		return;
	CHECK_STR(sc->ref, "logistics.where@3"); /* v4 is a draft */
	CHECK(sc->approved);
	CHECK_STR(sc->approver, "周店长");
	CHECK_INT(sc->nbuttons, 1);
	CHECK(scripts_for_intent(s, "nope") == NULL);

	TEST("scripts-2.1"); /* a filled slot prefers the slot variant */
	strbuf_init(&out);
	CHECK_INT(scripts_render(sc, 7, NULL, &slot, 1, &out, missing), 0);
	CHECK(strstr(out.buf, "123456789012345678") != NULL);

	TEST("scripts-2.2"); /* without it: never a hole, and rotation */
	for (i = 0; i < 6; i++) {
		strbuf_reset(&out);
		CHECK_INT(scripts_render(sc, (uint32_t)i, NULL, NULL, 0, &out,
					 missing),
			  0);
		CHECK(strchr(out.buf, '{') == NULL);
		seen[1] |= strstr(out.buf, "实时轨迹") != NULL;
		seen[2] |= strstr(out.buf, "包裹到哪啦") != NULL;
	}
	CHECK(seen[1] && seen[2]);

	TEST("scripts-2.3"); /* nothing renderable: name the slot */
	sc = scripts_for_intent(s, "aftersale.refund_progress");
	strbuf_reset(&out);
	CHECK_INT(scripts_render(sc, 0, NULL, NULL, 0, &out, missing), -1);
	CHECK_STR(missing, "order_id");
	CHECK_INT(out.len, 0);
	strbuf_release(&out);

	TEST("scripts-2.4"); /* phase-tied variants win inside the phase */
	sc = scripts_for_intent(s, "promotion.presale");
	strbuf_reset(&out);
	CHECK_INT(scripts_render(sc, 5, "尾款", NULL, 0, &out, missing), 0);
	CHECK(strstr(out.buf, "尾款已经开始") != NULL);
	strbuf_reset(&out);
	CHECK_INT(scripts_render(sc, 5, "返场", NULL, 0, &out, missing), 0);
	CHECK(strstr(out.buf, "详情页") != NULL);
	strbuf_reset(&out);
	CHECK_INT(scripts_render(sc, 5, NULL, NULL, 0, &out, missing), 0);
	CHECK(strstr(out.buf, "详情页") != NULL);

	TEST("scripts-2.5"); /* the campaign */
	{
		size_t n = 0;
		int64_t t0;
		const struct scripts_phase *ph = scripts_phases(s, &n);

		CHECK_INT(n, 5);
		CHECK_STR(ph[1].name, "定金");
		util_parse_shanghai("2026-11-11 00:00", &t0);
		CHECK_STR(scripts_phase_at(s, t0), "现货");
		CHECK_STR(scripts_phase_at(s, t0 - 1), "尾款");
		CHECK(scripts_phase_at(s, 0) == NULL);
		CHECK(strstr(scripts_campaign_file(s), "campaign.json") !=
		      NULL);
	}
	strbuf_release(&out);
	strbuf_init(&out);

	TEST("scripts-3.1"); /* staff look-up sees drafts too */
	CHECK_INT(scripts_search(s, "物流", count_hit, &hits), 2);
	CHECK_INT(hits, 2);
	CHECK_INT(scripts_search(s, "HUMAN.request", NULL, NULL), 1);
	CHECK_INT(scripts_search(s, "不存在的词", NULL, NULL), 0);
	scripts_free(s);

	TEST("scripts-4.1"); /* load errors */
	s = load_one("{\"scripts\":[{\"id\":\"a\",\"intent\":\"a\","
		     "\"status\":\"approved\",\"version\":1,\"author\":\"x\","
		     "\"variants\":[\"hi\"]}]}",
		     &err);
	CHECK(s == NULL);
	CHECK(strstr(err.msg, "needs an approver") != NULL);
	s = load_one("{\"scripts\":[{\"id\":\"a\",\"intent\":\"a\","
		     "\"status\":\"ok\",\"version\":1,\"author\":\"x\","
		     "\"variants\":[\"hi\"]}]}",
		     &err);
	CHECK(s == NULL);
	CHECK(strstr(err.msg, "unknown status") != NULL);
	s = load_one("{\"scripts\":[{\"id\":\"a\",\"intent\":\"a\","
		     "\"status\":\"draft\",\"version\":1,\"author\":\"x\","
		     "\"variants\":[\"订单{order id}\"]}]}",
		     &err);
	CHECK(s == NULL);
	CHECK(strstr(err.msg, "malformed {slot}") != NULL);
	s = load_one("{\"scripts\":[{\"id\":\"a\",\"intent\":\"a\","
		     "\"status\":\"draft\",\"version\":1,\"author\":\"x\","
		     "\"variants\":[]}]}",
		     &err);
	CHECK(s == NULL);
	CHECK(strstr(err.msg, "variants") != NULL);
	s = load_one("{\"scripts\":[{\"id\":\"a\",\"intent\":\"a\","
		     "\"status\":\"draft\",\"version\":1,\"author\":\"x\","
		     "\"variants\":[\"x\"],\"colour\":1}]}",
		     &err);
	CHECK(s == NULL);
	CHECK(strstr(err.msg, "colour") != NULL);
}
