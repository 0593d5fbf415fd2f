/*
 * test_dialog.c - the conversation state machine, with injected time.
 */
#include <stdio.h>
#include <string.h>

#include "../bot/content.h"
#include "../bot/dialog.h"
#include "../bot/text.h"
#include "../bot/util.h"
#include "test.h"

void suite_dialog(void);

static struct content *ct;
static struct dialog_policy pol;
static struct dialog_turn turn;

static const struct dialog_turn *
say(struct conversation *c, const char *text, int64_t now)
{
	struct dialog_input in = {.text = text, .len = strlen(text)};

	CHECK_INT(dialog_handle(ct, &pol, c, &in, now, &turn), 0);
	return &turn;
}

static const struct dialog_turn *
press(struct conversation *c, const char *payload)
{
	struct dialog_input in = {.button = payload};

	CHECK_INT(dialog_handle(ct, &pol, c, &in, 0, &turn), 0);
	return &turn;
}

void
suite_dialog(void)
{
	struct bot_err err = {""};
	struct conversation c;
	const struct dialog_turn *t;
	char first[256];

	ct = content_load("tests/fixtures/content", &err);
	CHECK(ct != NULL);
	if (ct == NULL)
		return;
	dialog_policy_init(&pol);
	dialog_turn_init(&turn);

	TEST("dialog-1.1"); /* a plain answer names intent and script */
	conversation_init(&c, "b1", 1000);
	t = say(&c, "我的快递到哪了", 2000);
	CHECK_INT(t->action, DIALOG_REPLY);
	CHECK_STR(t->intent, "logistics.where");
	CHECK_STR(t->topic, "logistics");
	CHECK_STR(t->script, "logistics.where@3");
	CHECK(t->reply.len > 0 && strchr(t->reply.buf, '{') == NULL);
	CHECK_INT(t->nbuttons, 1);
	CHECK_INT(c.last_ms, 2000);
	CHECK_STR(c.last_intent, "logistics.where");

	TEST("dialog-1.2"); /* asking the same again: the answer failed */
	snprintf(first, sizeof(first), "%s", t->reply.buf);
	t = say(&c, "包裹在哪呢", 2500); /* a follow-up in other words */
	CHECK_INT(t->action, DIALOG_REPLY);
	t = say(&c, "包裹在哪呢??", 3000); /* the same once more */
	CHECK_INT(t->action, DIALOG_ESCALATE);
	CHECK_INT(t->escalation, DIALOG_ESC_REPEAT);
	CHECK_STR(t->intent, "logistics.where");
	CHECK_STR(t->script, "handoff.repeat@1");
	CHECK(t->new_escalation);
	CHECK_INT(c.state, DIALOG_QUEUED);

	TEST("dialog-1.3"); /* queued: the bot keeps answering FAQ */
	t = say(&c, "什么时候发货", 4000);
	CHECK_INT(t->action, DIALOG_REPLY);
	CHECK(!t->new_escalation);
	t = say(&c, "什么时候发货", 5000);
	CHECK_INT(t->action, DIALOG_REPLY); /* no second hand-off */

	TEST("dialog-2.1"); /* two misses hand over */
	conversation_init(&c, "b2", 0);
	t = say(&c, "asdf qwer", 1);
	CHECK_INT(t->action, DIALOG_CLARIFY);
	CHECK_STR(t->intent, "fallback");
	CHECK_STR(t->topic, "unknown");
	CHECK(t->unmatched);
	CHECK_INT(t->nbuttons, 2);
	t = say(&c, "zzzz", 2);
	CHECK_INT(t->action, DIALOG_ESCALATE);
	CHECK_INT(t->escalation, DIALOG_ESC_MISSES);
	CHECK_STR(t->script, "handoff.misses@1");
	CHECK(t->unmatched);
	CHECK(t->new_escalation);
	t = say(&c, "qqqq", 3); /* queued: misses only clarify now */
	CHECK_INT(t->action, DIALOG_CLARIFY);

	TEST("dialog-2.2"); /* a hit between misses resets the count */
	conversation_init(&c, "b3", 0);
	say(&c, "asdf", 1);
	say(&c, "在吗", 2);
	t = say(&c, "qwer", 3);
	CHECK_INT(t->action, DIALOG_CLARIFY);
	CHECK_INT(c.state, DIALOG_BOT);

	TEST("dialog-2.3"); /* the policy can switch hand-offs off */
	pol.escalate_after_misses = 0;
	pol.escalate_on_repeat = false;
	conversation_init(&c, "b4", 0);
	say(&c, "asdf", 1);
	say(&c, "qwer", 2);
	t = say(&c, "zxcv", 3);
	CHECK_INT(t->action, DIALOG_CLARIFY);
	say(&c, "什么时候发货", 4);
	t = say(&c, "什么时候发货", 5);
	CHECK_INT(t->action, DIALOG_REPLY);
	dialog_policy_init(&pol);

	TEST("dialog-3.1"); /* explicit human request */
	conversation_init(&c, "b5", 0);
	t = say(&c, "转人工", 1);
	CHECK_INT(t->action, DIALOG_ESCALATE);
	CHECK_INT(t->escalation, DIALOG_ESC_REQUEST);
	CHECK_STR(t->topic, "human");
	CHECK(t->new_escalation);
	t = say(&c, "转人工!!", 2);
	CHECK_INT(t->action, DIALOG_ESCALATE);
	CHECK(!t->new_escalation);

	TEST("dialog-3.2"); /* complaint: apologise and hand over */
	conversation_init(&c, "b6", 0);
	t = say(&c, "你们就是骗子 我要投诉", 1);
	CHECK_INT(t->action, DIALOG_COMPLAINT);
	CHECK_INT(t->escalation, DIALOG_ESC_COMPLAINT);
	CHECK_STR(t->topic, "complaint");
	CHECK(strstr(t->reply.buf, "抱歉") != NULL);
	CHECK_INT(c.state, DIALOG_QUEUED);

	TEST("dialog-3.3"); /* the script says a human must handle it */
	conversation_init(&c, "b7", 0);
	t = say(&c, "收到东西碎了", 1);
	CHECK_INT(t->action, DIALOG_ESCALATE);
	CHECK_INT(t->escalation, DIALOG_ESC_NEEDS_HUMAN);
	CHECK_STR(t->intent, "aftersale.damaged");

	TEST("dialog-4.1"); /* missing slot: ask, then answer */
	conversation_init(&c, "b8", 0);
	t = say(&c, "退款什么时候到账啊", 1);
	CHECK_INT(t->action, DIALOG_CLARIFY);
	CHECK_STR(t->intent, "aftersale.refund_progress");
	CHECK_STR(t->script, "clarify.order_id@1");
	CHECK_STR(c.pending_slot, "order_id");
	t = say(&c, "123456789012345678", 2);
	CHECK_INT(t->action, DIALOG_REPLY);
	CHECK_STR(t->intent, "aftersale.refund_progress");
	CHECK(strstr(t->reply.buf, "123456789012345678") != NULL);
	CHECK_STR(c.order_id, "123456789012345678");
	CHECK_STR(c.pending_slot, "");

	TEST("dialog-4.2"); /* the conversation remembers the order */
	t = say(&c, "退款进度呢", 3);
	CHECK_INT(t->action, DIALOG_REPLY); /* known order: answered again */
	CHECK(strstr(t->reply.buf, "123456789012345678") != NULL);
	t = say(&c, "退款进度呢", 4);
	CHECK_INT(t->action, DIALOG_ESCALATE); /* word for word: repeat */
	conversation_init(&c, "b9", 0);
	{
		struct dialog_input in = {.text = "退款多久到账",
					  .len = strlen("退款多久到账"),
					  .order = "998877665544332211"};

		CHECK_INT(dialog_handle(ct, &pol, &c, &in, 1, &turn), 0);
		CHECK_INT(turn.action, DIALOG_REPLY);
		CHECK(strstr(turn.reply.buf, "998877665544332211") != NULL);
	}

	TEST("dialog-4.3"); /* changing the subject drops the question */
	conversation_init(&c, "b10", 0);
	say(&c, "退款什么时候到账", 1);
	t = say(&c, "什么时候发货", 2);
	CHECK_STR(t->intent, "shipping.when");
	CHECK_STR(c.pending_slot, "");

	TEST("dialog-5.1"); /* buttons name intents */
	conversation_init(&c, "b11", 0);
	t = press(&c, "human.request");
	CHECK_STR(t->intent, "human.request");
	CHECK_INT(t->action, DIALOG_ESCALATE);
	conversation_init(&c, "b12", 0);
	t = press(&c, "no.such.intent");
	CHECK_STR(t->intent, "fallback");

	TEST("dialog-5.2"); /* variants rotate within a conversation */
	conversation_init(&c, "b13", 0);
	say(&c, "在吗", 1);
	snprintf(first, sizeof(first), "%s", turn.reply.buf);
	t = say(&c, "在吗", 2);
	CHECK(strcmp(first, t->reply.buf) != 0);
	CHECK_INT(t->action, DIALOG_REPLY); /* smalltalk repeats are fine */

	TEST("dialog-6.1"); /* a human holds the chat: silence */
	conversation_init(&c, "b14", 0);
	c.state = DIALOG_AGENT;
	t = say(&c, "我的快递到哪了", 1);
	CHECK_INT(t->action, DIALOG_SILENT);
	CHECK(t->script == NULL);
	CHECK_INT(t->reply.len, 0);

	TEST("dialog-8.1"); /* the sale phase picks the variant */
	{
		int64_t deposit, balance, after;

		util_parse_shanghai("2026-10-30 10:00", &deposit);
		util_parse_shanghai("2026-11-10 21:00", &balance);
		util_parse_shanghai("2026-12-01 10:00", &after);
		conversation_init(&c, "b20", 0);
		t = say(&c, "定金怎么付", deposit);
		CHECK(strstr(t->reply.buf, "定金阶段") != NULL);
		conversation_init(&c, "b21", 0);
		t = say(&c, "定金怎么付", balance);
		CHECK(strstr(t->reply.buf, "尾款已经开始") != NULL);
		conversation_init(&c, "b22", 0);
		t = say(&c, "定金怎么付", after);
		CHECK(strstr(t->reply.buf, "详情页") != NULL);
		CHECK_STR(t->script, "promotion.presale@2");
	}

	TEST("dialog-8.2"); /* product facts and size from the message */
	conversation_init(&c, "b23", 0);
	t = say(&c, "羽绒服 165 110斤穿什么码", 1);
	CHECK_STR(t->intent, "product.size");
	CHECK(strstr(t->reply.buf, "建议拿M码") != NULL);
	CHECK_STR(c.item, "down-jacket");
	t = say(&c, "那180 75kg呢", 2); /* new facts: not a repeat */
	CHECK_INT(t->action, DIALOG_REPLY);
	CHECK(strstr(t->reply.buf, "XL") != NULL);
	t = say(&c, "什么材质", 3); /* the current item carries on */
	CHECK(strstr(t->reply.buf, "白鸭绒") != NULL);
	t = say(&c, "龙井保质期多久", 4); /* another item named */
	CHECK(strstr(t->reply.buf, "18个月") != NULL);
	CHECK_STR(c.item, "green-tea");

	TEST("dialog-8.3"); /* a missing fact: the slot-free variant */
	conversation_init(&c, "b24", 0);
	{
		struct dialog_input in = {.text = "什么材质",
					  .len = strlen("什么材质"),
					  .item = "green-tea"};

		CHECK_INT(dialog_handle(ct, &pol, &c, &in, 1, &turn), 0);
		CHECK(strstr(turn.reply.buf, "转给懂行的同事") != NULL);
		CHECK(strchr(turn.reply.buf, '{') == NULL);
	}
	conversation_init(&c, "b25", 0); /* two products, none named */
	t = say(&c, "尺码怎么选", 1);
	CHECK(strstr(t->reply.buf, "身高体重") != NULL);

	TEST("dialog-9.1"); /* repeat similarity */
	conversation_init(&c, "b30", 0);
	say(&c, "什么时候发货", 1);
	t = say(&c, "发货时间要多久", 2); /* same intent, new wording */
	CHECK_INT(t->action, DIALOG_REPLY);
	t = say(&c, "发货时间要多久啊", 3); /* nearly the same text */
	CHECK_INT(t->action, DIALOG_ESCALATE);
	CHECK_INT(t->escalation, DIALOG_ESC_REPEAT);

	TEST("dialog-9.3"); /* a long message is kept in whole characters */
	conversation_init(&c, "b32", 0);
	/* 40 characters of 3 bytes: a cut at 95 bytes falls in the 32nd */
	say(&c,
	    "请问一下我昨天晚上拍的那件连衣裙到底什么时候能发货我等着穿呢"
	    "麻烦快点发货吧谢谢",
	    1);
	CHECK_INT(strlen(c.last_text), 93);
	CHECK(text_valid_utf8(c.last_text, strlen(c.last_text)));

	TEST("dialog-9.2"); /* a vague message: ask back, never a repeat */
	conversation_init(&c, "b31", 0);
	t = say(&c, "发货", 1);
	CHECK_INT(t->action, DIALOG_CLARIFY);
	CHECK_STR(t->topic, "shipping");
	CHECK_INT(t->nbuttons, 2);
	CHECK(!t->unmatched);
	t = say(&c, "发货", 2);
	CHECK_INT(t->action, DIALOG_CLARIFY);
	CHECK_INT(c.state, DIALOG_BOT);
	CHECK_INT(c.misses, 0);

	TEST("dialog-7.1");
	CHECK_STR(dialog_action_name(DIALOG_COMPLAINT), "complaint");
	CHECK_STR(dialog_state_name(DIALOG_QUEUED), "queued");
	CHECK_STR(dialog_escalation_name(DIALOG_ESC_NEEDS_HUMAN),
		  "needs_human");
	CHECK(dialog_escalation_name(DIALOG_ESC_NONE) == NULL);

	dialog_turn_release(&turn);
	content_free(ct);
}
