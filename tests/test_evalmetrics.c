/*
 * test_evalmetrics.c - the arithmetic of `make eval`, with numbers worked
 * out by hand.
 */
#include <math.h>

#include "evalmetrics.h"
#include "test.h"

void suite_evalmetrics(void);

/* Doubles from small ratios: equal to well within a printed digit. */
#define CHECK_NEAR(a, b) CHECK(fabs((a) - (b)) < 1e-12)

static int
T(const char *name)
{
	return eval_topic_index(name);
}

static void
topics(void)
{
	TEST("evalmetrics-1.1");
	CHECK_INT(T("promotion"), 0);
	CHECK_INT(T("unknown"), EVAL_NTOPICS - 1);
	CHECK_STR(eval_topic_name(T("invoice")), "invoice");
	TEST("evalmetrics-1.2");
	CHECK_INT(T("Shipping"), -1);
	CHECK_INT(T(""), -1);
	CHECK_INT(T(NULL), -1);
	CHECK_STR(eval_topic_name(-1), "?");
	CHECK_STR(eval_topic_name(EVAL_NTOPICS), "?");
}

static void
prf(void)
{
	struct eval_prf r;

	TEST("evalmetrics-2.1"); /* tp 2 fp 1 fn 2: P 2/3, R 1/2, F1 4/7 */
	eval_prf(2, 1, 2, &r);
	CHECK_NEAR(r.precision, 2.0 / 3.0);
	CHECK_NEAR(r.recall, 0.5);
	CHECK_NEAR(r.f1, 4.0 / 7.0);
	CHECK_NEAR(r.f1, 2 * r.precision * r.recall / (r.precision + r.recall));

	TEST("evalmetrics-2.2"); /* perfect */
	eval_prf(5, 0, 0, &r);
	CHECK_NEAR(r.precision, 1.0);
	CHECK_NEAR(r.recall, 1.0);
	CHECK_NEAR(r.f1, 1.0);

	TEST("evalmetrics-2.3"); /* nothing predicted: P undefined, F1 0 */
	eval_prf(0, 0, 3, &r);
	CHECK(isnan(r.precision));
	CHECK_NEAR(r.recall, 0.0);
	CHECK_NEAR(r.f1, 0.0);

	TEST("evalmetrics-2.4"); /* nothing labelled: R undefined, F1 0 */
	eval_prf(0, 4, 0, &r);
	CHECK_NEAR(r.precision, 0.0);
	CHECK(isnan(r.recall));
	CHECK_NEAR(r.f1, 0.0);

	TEST("evalmetrics-2.5"); /* nothing at all: all undefined */
	eval_prf(0, 0, 0, &r);
	CHECK(isnan(r.precision));
	CHECK(isnan(r.recall));
	CHECK(isnan(r.f1));

	TEST("evalmetrics-2.6");
	CHECK(isnan(eval_ratio(0, 0)));
	CHECK(isnan(eval_ratio(3, 0)));
	CHECK_NEAR(eval_ratio(0, 7), 0.0);
	CHECK_NEAR(eval_ratio(3, 4), 0.75);
}

static void
messages(void)
{
	struct eval_messages m = {0};
	struct eval_prf r;
	struct eval_pair p[10];
	size_t support = 99;
	int ship = T("shipping"), logi = T("logistics"), prod = T("product");
	int unk = T("unknown"), human = T("human"), comp = T("complaint");

	TEST("evalmetrics-3.1"); /* empty corpus: every rate undefined */
	CHECK(isnan(eval_messages_accuracy(&m)));
	CHECK(isnan(eval_messages_wrong_reply_rate(&m)));
	eval_messages_escalation(&m, &r);
	CHECK(isnan(r.f1));
	CHECK_INT(eval_messages_confusions(&m, p, 10), 0);
	eval_messages_topic(&m, ship, &r, &support);
	CHECK_INT(support, 0);
	CHECK(isnan(r.precision));

	/*
	 * Ten messages.  Labels: shipping x4, logistics x3, product x1,
	 * human x1 (y), complaint x1 (y); plus one shipping labelled y.
	 */
	TEST("evalmetrics-3.2");
	CHECK(!eval_messages_add(&m, ship, false, ship, DIALOG_REPLY));
	CHECK(!eval_messages_add(&m, ship, false, ship, DIALOG_CLARIFY));
	/* wrong topic, confident: a wrong reply */
	CHECK(eval_messages_add(&m, ship, false, logi, DIALOG_REPLY));
	/* right topic, but it should have gone to a human */
	CHECK(eval_messages_add(&m, ship, true, ship, DIALOG_REPLY));
	CHECK(!eval_messages_add(&m, logi, false, logi, DIALOG_REPLY));
	/* wrong topic, but it asked: not a wrong reply */
	CHECK(eval_messages_add(&m, logi, false, ship, DIALOG_CLARIFY));
	/* wrong topic and a needless hand-off: not a wrong reply either */
	CHECK(eval_messages_add(&m, logi, false, unk, DIALOG_ESCALATE));
	CHECK(eval_messages_add(&m, prod, false, unk, DIALOG_CLARIFY));
	CHECK(!eval_messages_add(&m, human, true, human, DIALOG_ESCALATE));
	CHECK(!eval_messages_add(&m, comp, true, comp, DIALOG_COMPLAINT));

	TEST("evalmetrics-3.3");
	CHECK_INT(m.n, 10);
	CHECK_INT(eval_messages_correct(&m), 6);
	CHECK_NEAR(eval_messages_accuracy(&m), 0.6);
	CHECK_INT(m.wrong_reply, 1);
	CHECK_NEAR(eval_messages_wrong_reply_rate(&m), 0.1);

	TEST("evalmetrics-3.4"); /* tp 2 (human, complaint) fp 1 fn 1 */
	CHECK_INT(m.esc_tp, 2);
	CHECK_INT(m.esc_fp, 1);
	CHECK_INT(m.esc_fn, 1);
	eval_messages_escalation(&m, &r);
	CHECK_NEAR(r.precision, 2.0 / 3.0);
	CHECK_NEAR(r.recall, 2.0 / 3.0);
	CHECK_NEAR(r.f1, 2.0 / 3.0);

	TEST("evalmetrics-3.5"); /* shipping: tp 3, predicted 4, labelled 4 */
	eval_messages_topic(&m, ship, &r, &support);
	CHECK_INT(support, 4);
	CHECK_NEAR(r.precision, 0.75);
	CHECK_NEAR(r.recall, 0.75);
	/* logistics: tp 1, predicted 2, labelled 3 */
	eval_messages_topic(&m, logi, &r, &support);
	CHECK_INT(support, 3);
	CHECK_NEAR(r.precision, 0.5);
	CHECK_NEAR(r.recall, 1.0 / 3.0);
	CHECK_NEAR(r.f1, 0.4);
	/* unknown: never labelled, predicted twice */
	eval_messages_topic(&m, unk, &r, &support);
	CHECK_INT(support, 0);
	CHECK_NEAR(r.precision, 0.0);
	CHECK(isnan(r.recall));
	/* product: labelled once, never predicted */
	eval_messages_topic(&m, prod, &r, NULL);
	CHECK(isnan(r.precision));
	CHECK_NEAR(r.recall, 0.0);

	TEST("evalmetrics-3.6"); /* four off-diagonal cells, all count 1 */
	CHECK(eval_messages_add(&m, logi, false, ship, DIALOG_REPLY));
	CHECK_INT(eval_messages_confusions(&m, p, 10), 4);
	CHECK_INT(p[0].label, logi); /* logistics -> shipping, twice */
	CHECK_INT(p[0].predicted, ship);
	CHECK_INT(p[0].count, 2);
	CHECK_INT(p[1].label, prod); /* ties: label in topic order */
	CHECK_INT(p[1].predicted, unk);
	CHECK_INT(p[2].label, ship);
	CHECK_INT(p[2].predicted, logi);
	CHECK_INT(p[3].label, logi);
	CHECK_INT(p[3].predicted, unk);
	CHECK_INT(eval_messages_confusions(&m, p, 2), 2);
	CHECK_INT(p[1].label, prod);
	CHECK_INT(m.wrong_reply, 2);
}

static void
handoff(void)
{
	struct eval_sessions s = {0};

	TEST("evalmetrics-4.1");
	CHECK_INT(eval_handoff_classify(2, 2), EVAL_HANDOFF_RIGHT);
	CHECK_INT(eval_handoff_classify(-1, -1), EVAL_HANDOFF_RIGHT);
	CHECK_INT(eval_handoff_classify(2, 0), EVAL_HANDOFF_EARLY);
	CHECK_INT(eval_handoff_classify(2, 1), EVAL_HANDOFF_EARLY);
	CHECK_INT(eval_handoff_classify(2, 3), EVAL_HANDOFF_LATE);
	CHECK_INT(eval_handoff_classify(0, 5), EVAL_HANDOFF_LATE);
	CHECK_INT(eval_handoff_classify(0, -1), EVAL_HANDOFF_MISSED);
	CHECK_INT(eval_handoff_classify(-1, 0), EVAL_HANDOFF_FALSE);
	CHECK_STR(eval_handoff_name(EVAL_HANDOFF_FALSE), "false");

	TEST("evalmetrics-4.2"); /* 3 of 5 at the right turn */
	CHECK(isnan(eval_sessions_handoff_rate(&s)));
	CHECK_INT(eval_sessions_add(&s, 1, 1), EVAL_HANDOFF_RIGHT);
	CHECK_INT(eval_sessions_add(&s, -1, -1), EVAL_HANDOFF_RIGHT);
	CHECK_INT(eval_sessions_add(&s, 3, 3), EVAL_HANDOFF_RIGHT);
	CHECK_INT(eval_sessions_add(&s, 3, 1), EVAL_HANDOFF_EARLY);
	CHECK_INT(eval_sessions_add(&s, -1, 4), EVAL_HANDOFF_FALSE);
	CHECK_INT(s.n, 5);
	CHECK_INT(s.handoff[EVAL_HANDOFF_RIGHT], 3);
	CHECK_INT(s.handoff[EVAL_HANDOFF_EARLY], 1);
	CHECK_INT(s.handoff[EVAL_HANDOFF_LATE], 0);
	CHECK_INT(s.handoff[EVAL_HANDOFF_FALSE], 1);
	CHECK_NEAR(eval_sessions_handoff_rate(&s), 0.6);

	TEST("evalmetrics-4.3");
	CHECK(isnan(eval_sessions_turn_accuracy(&s)));
	CHECK(eval_sessions_add_turn(&s, 2, 2));
	CHECK(!eval_sessions_add_turn(&s, 2, 3));
	CHECK(eval_sessions_add_turn(&s, 0, 0));
	CHECK_INT(s.turns, 3);
	CHECK_INT(s.turns_right, 2);
	CHECK_NEAR(eval_sessions_turn_accuracy(&s), 2.0 / 3.0);

	TEST("evalmetrics-4.4");
	CHECK(!eval_is_handoff(DIALOG_REPLY));
	CHECK(!eval_is_handoff(DIALOG_CLARIFY));
	CHECK(!eval_is_handoff(DIALOG_SILENT));
	CHECK(eval_is_handoff(DIALOG_ESCALATE));
	CHECK(eval_is_handoff(DIALOG_COMPLAINT));
}

static void
verdicts(void)
{
	TEST("evalmetrics-5.1"); /* the boundary passes */
	CHECK_INT(eval_at_least(eval_ratio(17, 20), EVAL_TARGET_TOPIC),
		  EVAL_OK);
	CHECK_INT(eval_at_least(eval_ratio(16, 20), EVAL_TARGET_TOPIC),
		  EVAL_MISS);
	CHECK_INT(eval_at_most(eval_ratio(3, 100), EVAL_TARGET_WRONG_REPLY),
		  EVAL_OK);
	CHECK_INT(eval_at_most(eval_ratio(4, 100), EVAL_TARGET_WRONG_REPLY),
		  EVAL_MISS);
	CHECK_INT(eval_at_least(eval_ratio(3, 4), EVAL_TARGET_HANDOFF),
		  EVAL_OK);
	TEST("evalmetrics-5.2"); /* undefined is neither */
	CHECK_INT(eval_at_least(eval_ratio(0, 0), 0.5), EVAL_NA);
	CHECK_INT(eval_at_most(NAN, 0.5), EVAL_NA);
	CHECK_STR(eval_verdict_name(EVAL_OK), "ok");
	CHECK_STR(eval_verdict_name(EVAL_MISS), "MISS");
	CHECK_STR(eval_verdict_name(EVAL_NA), "n/a");
}

void
suite_evalmetrics(void)
{
	topics();
	prf();
	messages();
	handoff();
	verdicts();
}
