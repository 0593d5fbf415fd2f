/*
 * evalmetrics.h - the arithmetic of the evaluation report (tests/eval.c):
 * topic confusion counts, precision, recall and F1, the wrong-reply rate,
 * the escalation score, hand-off timing and the verdicts against the
 * project's targets.  Pure: no I/O, no content, no clock; the unit suite
 * tests/test_evalmetrics.c checks it with hand-computed numbers.
 *
 * A ratio whose denominator is 0 is undefined: it is NAN, printed "-" and
 * judged "n/a", never counted as a pass or a miss.
 */
#ifndef TESTS_EVALMETRICS_H
#define TESTS_EVALMETRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "../bot/dialog.h"

#define EVAL_NTOPICS 12 /* the topics of INTENTS_TOPICS, in that order */

/* The project's targets (DESIGN.md section 10, `make eval`). */
#define EVAL_TARGET_TOPIC	0.85 /* topic accuracy, at least */
#define EVAL_TARGET_WRONG_REPLY 0.03 /* wrong-reply rate, at most */
#define EVAL_TARGET_ESCALATION	0.85 /* escalation F1, at least */
#define EVAL_TARGET_HANDOFF	0.75 /* hand-off at the right turn, at least */

/* Index of 'topic' in INTENTS_TOPICS order, or -1 when it is not one. */
int eval_topic_index(const char *topic);

/* The name of topic 'i' (0 .. EVAL_NTOPICS - 1); borrowed, static. */
const char *eval_topic_name(int i);

/* num / den, or NAN when den is 0. */
double eval_ratio(size_t num, size_t den);

struct eval_prf {
	double precision; /* tp / (tp + fp) */
	double recall;	  /* tp / (tp + fn) */
	double f1;	  /* 2tp / (2tp + fp + fn): 0 when tp is 0 */
};

void eval_prf(size_t tp, size_t fp, size_t fn, struct eval_prf *out);

/* Does the action hand the buyer to a human (escalate or complaint)? */
bool eval_is_handoff(enum dialog_action a);

/* The counts of one corpus of first messages; zero it to start. */
struct eval_messages {
	size_t n;
	size_t confusion[EVAL_NTOPICS][EVAL_NTOPICS]; /* [label][predicted] */
	size_t wrong_reply; /* action reply under a topic not the label */
	size_t esc_tp;	    /* labelled human, handed off */
	size_t esc_fp;	    /* not labelled human, handed off */
	size_t esc_fn;	    /* labelled human, not handed off */
};

/*
 * Count one message: its label (topic index and "a human should take
 * over"), the predicted topic index and the bot's action.  Returns true
 * when the bot got the topic or the hand-off wrong.
 */
bool eval_messages_add(struct eval_messages *m, int label, bool human,
		       int predicted, enum dialog_action a);

size_t eval_messages_correct(const struct eval_messages *m);
double eval_messages_accuracy(const struct eval_messages *m);
double eval_messages_wrong_reply_rate(const struct eval_messages *m);
void eval_messages_escalation(const struct eval_messages *m,
			      struct eval_prf *out);

/* One topic, one against the rest; 'support' gets the labelled count. */
void eval_messages_topic(const struct eval_messages *m, int topic,
			 struct eval_prf *out, size_t *support);

struct eval_pair {
	int label;
	int predicted;
	size_t count;
};

/*
 * The 'max' largest off-diagonal cells, most frequent first (ties in
 * topic order of the label, then of the prediction).  Returns how many
 * were written.
 */
size_t eval_messages_confusions(const struct eval_messages *m,
				struct eval_pair *out, size_t max);

/* When the bot first handed off, against when it should have. */
enum eval_handoff {
	EVAL_HANDOFF_RIGHT,  /* the labelled turn, or never when none is */
	EVAL_HANDOFF_EARLY,  /* before the labelled turn */
	EVAL_HANDOFF_LATE,   /* after the labelled turn */
	EVAL_HANDOFF_MISSED, /* never, though a turn is labelled */
	EVAL_HANDOFF_FALSE,  /* handed off, though no turn is labelled */
	EVAL_HANDOFF_KINDS,
};

/* 'label' and 'first' are turn indexes, or -1 for "none". */
enum eval_handoff eval_handoff_classify(long label, long first);
const char *eval_handoff_name(enum eval_handoff h);

/* The counts of one corpus of sessions; zero it to start. */
struct eval_sessions {
	size_t n;
	size_t handoff[EVAL_HANDOFF_KINDS];
	size_t turns;	    /* turns that carry a topic label */
	size_t turns_right; /* ... whose predicted topic is the label */
};

enum eval_handoff eval_sessions_add(struct eval_sessions *s, long label,
				    long first);
/* Returns true when the turn's topic is right. */
bool eval_sessions_add_turn(struct eval_sessions *s, int label, int predicted);
double eval_sessions_handoff_rate(const struct eval_sessions *s);
double eval_sessions_turn_accuracy(const struct eval_sessions *s);

enum eval_verdict {
	EVAL_OK,
	EVAL_MISS,
	EVAL_NA, /* the value is undefined (NAN) */
};

enum eval_verdict eval_at_least(double value, double target);
enum eval_verdict eval_at_most(double value, double target);
const char *eval_verdict_name(enum eval_verdict v); /* "ok", "MISS", "n/a" */

#endif /* TESTS_EVALMETRICS_H */
