/*
 * test_prefilter.c - literal extraction, and proof that the prefilter
 * never changes a match: every example of the shipped intents and every
 * corpus line is matched with it and without it.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../bot/intents.h"
#include "../bot/prefilter.h"
#include "../bot/text.h"
#include "../bot/util.h"
#include "test.h"

void suite_prefilter(void);

/* The literals of 'pattern', sorted and joined with '|', or "-". */
static const char *
lits(const char *pattern)
{
	static char buf[512];
	char **v = prefilter_literals(pattern), *t;
	size_t n = 0, i, j;

	if (v == NULL)
		return "-";
	while (v[n])
		n++;
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (strcmp(v[j], v[i]) < 0) {
				t = v[i];
				v[i] = v[j];
				v[j] = t;
			}
	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		if (i)
			strcat(buf, "|");
		strncat(buf, v[i], sizeof(buf) - strlen(buf) - 2);
		free(v[i]);
	}
	free(v);
	return buf;
}

static int mismatches, compared;

static void
compare(struct intents *t, const char *s)
{
	struct intent_match a, b;
	char *norm;
	size_t len = strlen(s), i;
	bool ha, hb;

	norm = xmalloc(len + 1);
	len = text_normalize(s, len, norm, len + 1);
	intents_use_prefilter(t, true);
	ha = intents_match(t, norm, len, &a);
	intents_use_prefilter(t, false);
	hb = intents_match(t, norm, len, &b);
	intents_use_prefilter(t, true);
	compared++;
	if (ha != hb ||
	    (ha && (a.intent != b.intent || a.match_len != b.match_len ||
		    a.nslots != b.nslots))) {
		if (mismatches++ < 5)
			fprintf(stderr, "prefilter changed '%s': %s vs %s\n", s,
				ha ? a.intent->name : "-",
				hb ? b.intent->name : "-");
	} else {
		for (i = 0; ha && i < a.nslots; i++)
			if (strcmp(a.slots[i].value, b.slots[i].value) != 0)
				mismatches++;
	}
	free(norm);
}

/* Every string of every "examples" / "counter_examples" array and every
 * third column of a corpus file: crude, but it needs no JSON here. */
static void
compare_file(struct intents *t, const char *path, bool tsv)
{
	char *text = util_read_file(path, NULL), *p, *q, *line;

	if (text == NULL)
		return;
	for (line = text; line && *line; line = q) {
		q = strchr(line, '\n');
		if (q)
			*q++ = '\0';
		if (tsv) {
			p = strrchr(line, '\t');
			if (line[0] != '#' && p)
				compare(t, p + 1);
			continue;
		}
		/* JSON: each quoted string on the line */
		for (p = strchr(line, '"'); p; p = strchr(p + 1, '"')) {
			char *e = strchr(p + 1, '"');

			if (e == NULL)
				break;
			*e = '\0';
			compare(t, p + 1);
			p = e;
		}
	}
	free(text);
}

void
suite_prefilter(void)
{
	static const char *const files[] = {
		"intents/address.json",	  "intents/aftersale.json",
		"intents/complaint.json", "intents/human.json",
		"intents/invoice.json",	  "intents/logistics.json",
		"intents/payment.json",	  "intents/product.json",
		"intents/promotion.json", "intents/shipping.json",
		"intents/smalltalk.json", "intents/system.json"};
	struct bot_err err = {""};
	struct intents *t;
	size_t i, pats, always, nlits;

	TEST("prefilter-1.1"); /* extraction */
	CHECK_STR(lits("快递"), "快递");
	CHECK_STR(lits("(快递|物流).{0,6}到哪"), "到哪");
	/* equally long: the set with fewer alternatives wins */
	CHECK_STR(lits("(快递|物流|包裹).{0,6}(到哪|在哪)"), "到哪|在哪");
	CHECK_STR(lits("退(款|钱)"), "退");
	CHECK_STR(lits("(?<order_id>[0-9]{15,20}).{0,6}(到哪|在哪)"),
		  "到哪|在哪");
	CHECK_STR(lits("^(亲|你好|在吗)[?!~. ]*$"), "亲|你好|在吗");
	CHECK_STR(lits("Hello"), "hello");
	CHECK_STR(lits("a\\.b"), "a.b");

	TEST("prefilter-1.2"); /* what cannot be relied on requires nothing */
	CHECK_STR(lits("[0-9]+"), "-");
	CHECK_STR(lits("(快递)?到"), "到");
	CHECK_STR(lits("(快递)?"), "-");
	CHECK_STR(lits("快|."), "-");
	CHECK_STR(lits("(?i)abc"), "-");
	CHECK_STR(lits("x{2,"), "-");
	CHECK_STR(lits("(unbalanced"), "-");
	CHECK_STR(lits("\\Qa.b\\E"), "-");
	CHECK_STR(lits("Ünïcode"), "code"); /* caseful letters break runs */
	CHECK_STR(lits("(?=快递)物流"), "快递"); /* what it asserts counts */
	CHECK_STR(lits("(?<!不)投诉"), "投诉");
	CHECK_STR(lits("ab+c"), "ab");
	CHECK_STR(lits("^(嗯|好)(?:(?1)|[ ,.])*+$"), "嗯|好"); /* (?1) */

	TEST("prefilter-2.1"); /* the shipped content: same result, always */
	t = intents_load("intents", &err);
	CHECK(t != NULL);
	if (t == NULL) {
		fprintf(stderr, "%s\n", err.msg);
		return;
	}
	for (i = 0; i < ARRAY_SIZE(files); i++)
		compare_file(t, files[i], false);
	compare_file(t, "tests/corpus/messages.tsv", true);
	compare_file(t, "tests/corpus/holdout.tsv", true);
	compare_file(t, "tests/corpus/sessions.jsonl", false);
	CHECK(compared > 1500);
	CHECK_INT(mismatches, 0);
	intents_prefilter_stats(t, &pats, &always, &nlits);
	CHECK(pats > 100);
	CHECK(always * 10 < pats); /* most patterns are filtered */
	intents_free(t);
}
