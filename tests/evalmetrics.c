/*
 * evalmetrics.c - see evalmetrics.h.
 */
#include "evalmetrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../bot/intents.h"
#include "../bot/util.h"

static const char *const topics[] = {INTENTS_TOPICS};

_Static_assert(ARRAY_SIZE(topics) == EVAL_NTOPICS,
	       "EVAL_NTOPICS must count INTENTS_TOPICS");

int
eval_topic_index(const char *topic)
{
	size_t i;

	if (topic == NULL)
		return -1;
	for (i = 0; i < ARRAY_SIZE(topics); i++)
		if (strcmp(topics[i], topic) == 0)
			return (int)i;
	return -1;
}

const char *
eval_topic_name(int i)
{
	return i >= 0 && i < EVAL_NTOPICS ? topics[i] : "?";
}

double
eval_ratio(size_t num, size_t den)
{
	if (den == 0)
		return NAN;
	return (double)num / (double)den;
}

void
eval_prf(size_t tp, size_t fp, size_t fn, struct eval_prf *out)
{
	out->precision = eval_ratio(tp, tp + fp);
	out->recall = eval_ratio(tp, tp + fn);
	out->f1 = eval_ratio(2 * tp, 2 * tp + fp + fn);
}

bool
eval_is_handoff(enum dialog_action a)
{
	return a == DIALOG_ESCALATE || a == DIALOG_COMPLAINT;
}

bool
eval_messages_add(struct eval_messages *m, int label, bool human, int predicted,
		  enum dialog_action a)
{
	bool handoff = eval_is_handoff(a);

	m->n++;
	if (label >= 0 && label < EVAL_NTOPICS && predicted >= 0 &&
	    predicted < EVAL_NTOPICS)
		m->confusion[label][predicted]++;
	if (a == DIALOG_REPLY && predicted != label)
		m->wrong_reply++;
	if (human && handoff)
		m->esc_tp++;
	else if (handoff)
		m->esc_fp++;
	else if (human)
		m->esc_fn++;
	return predicted != label || human != handoff;
}

size_t
eval_messages_correct(const struct eval_messages *m)
{
	size_t n = 0;
	int i;

	for (i = 0; i < EVAL_NTOPICS; i++)
		n += m->confusion[i][i];
	return n;
}

double
eval_messages_accuracy(const struct eval_messages *m)
{
	return eval_ratio(eval_messages_correct(m), m->n);
}

double
eval_messages_wrong_reply_rate(const struct eval_messages *m)
{
	return eval_ratio(m->wrong_reply, m->n);
}

void
eval_messages_escalation(const struct eval_messages *m, struct eval_prf *out)
{
	eval_prf(m->esc_tp, m->esc_fp, m->esc_fn, out);
}

void
eval_messages_topic(const struct eval_messages *m, int topic,
		    struct eval_prf *out, size_t *support)
{
	size_t tp = m->confusion[topic][topic], labelled = 0, predicted = 0;
	int i;

	for (i = 0; i < EVAL_NTOPICS; i++) {
		labelled += m->confusion[topic][i];
		predicted += m->confusion[i][topic];
	}
	eval_prf(tp, predicted - tp, labelled - tp, out);
	if (support)
		*support = labelled;
}

static int
cmp_pair(const void *a, const void *b)
{
	const struct eval_pair *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	if (x->label != y->label)
		return x->label < y->label ? -1 : 1;
	return (x->predicted > y->predicted) - (x->predicted < y->predicted);
}

size_t
eval_messages_confusions(const struct eval_messages *m, struct eval_pair *out,
			 size_t max)
{
	struct eval_pair all[EVAL_NTOPICS * EVAL_NTOPICS];
	size_t n = 0;
	int i, j;

	memset(all, 0, sizeof(all));
	for (i = 0; i < EVAL_NTOPICS; i++)
		for (j = 0; j < EVAL_NTOPICS; j++)
			if (i != j && m->confusion[i][j]) {
				all[n].label = i;
				all[n].predicted = j;
				all[n].count = m->confusion[i][j];
				n++;
			}
	qsort(all, n, sizeof(all[0]), cmp_pair);
	if (n > max)
		n = max;
	if (n)
		memcpy(out, all, n * sizeof(all[0]));
	return n;
}

enum eval_handoff
eval_handoff_classify(long label, long first)
{
	if (label < 0)
		return first < 0 ? EVAL_HANDOFF_RIGHT : EVAL_HANDOFF_FALSE;
	if (first < 0)
		return EVAL_HANDOFF_MISSED;
	if (first < label)
		return EVAL_HANDOFF_EARLY;
	if (first > label)
		return EVAL_HANDOFF_LATE;
	return EVAL_HANDOFF_RIGHT;
}

const char *
eval_handoff_name(enum eval_handoff h)
{
	static const char *const names[] = {"right", "early", "late", "missed",
					    "false"};

	return names[h];
}

enum eval_handoff
eval_sessions_add(struct eval_sessions *s, long label, long first)
{
	enum eval_handoff h = eval_handoff_classify(label, first);

	s->n++;
	s->handoff[h]++;
	return h;
}

bool
eval_sessions_add_turn(struct eval_sessions *s, int label, int predicted)
{
	s->turns++;
	if (label != predicted)
		return false;
	s->turns_right++;
	return true;
}

double
eval_sessions_handoff_rate(const struct eval_sessions *s)
{
	return eval_ratio(s->handoff[EVAL_HANDOFF_RIGHT], s->n);
}

double
eval_sessions_turn_accuracy(const struct eval_sessions *s)
{
	return eval_ratio(s->turns_right, s->turns);
}

enum eval_verdict
eval_at_least(double value, double target)
{
	if (isnan(value))
		return EVAL_NA;
	return value >= target ? EVAL_OK : EVAL_MISS;
}

enum eval_verdict
eval_at_most(double value, double target)
{
	if (isnan(value))
		return EVAL_NA;
	return value <= target ? EVAL_OK : EVAL_MISS;
}

const char *
eval_verdict_name(enum eval_verdict v)
{
	static const char *const names[] = {"ok", "MISS", "n/a"};

	return names[v];
}
