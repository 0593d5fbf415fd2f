/*
 * test_prefilter.c - literal extraction, the index, and proof that the
 * prefilter never changes a match: every example of the shipped intents
 * (and every prefix of it), every corpus line (and each line joined with
 * the next) and the crafted worst cases are matched with the indexed path
 * and with the reference (every pattern, file order), which must agree.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../bot/intents.h"
#include "../bot/prefilter.h"
#include "../bot/text.h"
#include "../bot/util.h"
#include "matchdiff.h"
#include "test.h"

void suite_prefilter(void);

/* What 'pattern' requires, or "-" when it always runs. */
static const char *
lits(const char *pattern)
{
	static char buf[1024];
	char *s = prefilter_explain(pattern);

	snprintf(buf, sizeof(buf), "%s", s ? s : "-");
	free(s);
	return buf;
}

static int mismatches, compared;

static void
compare_norm(struct intents *t, const char *norm, size_t len)
{
	const char *why = matchdiff(t, norm, len);

	compared++;
	if (why && mismatches++ < 5)
		fprintf(stderr, "prefilter changed '%.*s': %s\n", (int)len,
			norm, why);
}

/* 's' normalised; with 'prefixes', every prefix of a short one too (a
 * literal cut at the end of the text is an edge of the scan). */
static void
compare(struct intents *t, const char *s, bool prefixes)
{
	size_t len = strlen(s), n;
	char *norm = xmalloc(len + 1);

	len = text_normalize(s, len, norm, len + 1);
	compare_norm(t, norm, len);
	for (n = 1; prefixes && len <= 48 && n < len; n++)
		if ((norm[n] & 0xc0) != 0x80)
			compare_norm(t, norm, n);
	free(norm);
}

/* Every string of every "examples" / "counter_examples" array and every
 * third column of a corpus file: crude, but it needs no JSON here.  Each
 * corpus line is also tried joined with the one before it. */
static void
compare_file(struct intents *t, const char *path, bool tsv)
{
	char *text = util_read_file(path, NULL), *p, *q, *line;
	struct strbuf two;

	if (text == NULL)
		return;
	strbuf_init(&two);
	for (line = text; line && *line; line = q) {
		q = strchr(line, '\n');
		if (q)
			*q++ = '\0';
		if (tsv) {
			p = strrchr(line, '\t');
			if (line[0] == '#' || p == NULL)
				continue;
			compare(t, p + 1, false);
			strbuf_addstr(&two, p + 1);
			compare(t, two.buf, false);
			strbuf_reset(&two);
			strbuf_addstr(&two, p + 1);
			strbuf_addch(&two, ' ');
			continue;
		}
		/* JSON: each quoted string on the line */
		for (p = strchr(line, '"'); p; p = strchr(p + 1, '"')) {
			char *e = strchr(p + 1, '"');

			if (e == NULL)
				break;
			*e = '\0';
			compare(t, p + 1, true);
			p = e;
		}
	}
	strbuf_release(&two);
	free(text);
}

/* bench.sh's crafted 2,000-character worst cases, and a few more. */
static void
compare_crafted(struct intents *t)
{
	static const char *const units[] = {
		"a",	    "快",	"快递",
		"1",	    "1快",	"快递到哪了",
		"我要退款", "1 快 ",	"！",
		"?",	    "ａ",	"哈",
		"轉人工",   "😀",	"不",
		"没",	    "165cm ",	"到哪",
		"ok",	    "退款退货", "订单号1234567890"};
	struct strbuf sb;
	size_t i;

	strbuf_init(&sb);
	for (i = 0; i < ARRAY_SIZE(units); i++) {
		strbuf_reset(&sb);
		while (text_utf8_chars(sb.buf, sb.len) < 2000)
			strbuf_addstr(&sb, units[i]);
		compare(t, sb.buf, false);
	}
	strbuf_release(&sb);
}

static void
extraction(void)
{
	TEST("prefilter-1.1"); /* literals, and what multiplies out */
	CHECK_STR(lits("快递"), "快递");
	CHECK_STR(lits("(快递|物流).{0,6}到哪"), "到哪 & 快递|物流");
	CHECK_STR(lits("(快递|物流|包裹).{0,6}(到哪|在哪)"),
		  "到哪|在哪 & 包裹|快递|物流");
	CHECK_STR(lits("退(款|钱)"), "退款|退钱");
	CHECK_STR(lits("按不(出来|开)"), "按不出来|按不开");
	CHECK_STR(lits("送(到)?家"), "送到家|送家");
	CHECK_STR(lits("[smlx]码"), "l码|m码|s码|x码");
	CHECK_STR(lits("[2-4]天"), "2天|3天|4天");
	CHECK_STR(lits("(?<order_id>[0-9]{15,20}).{0,6}(到哪|在哪)"),
		  "到哪|在哪 & 0|1|2|3|4|5|6|7|8|9");
	CHECK_STR(lits("^(亲|你好|在吗)[?!~. ]*$"), "亲|你好|在吗");
	CHECK_STR(lits("Hello"), "hello");
	CHECK_STR(lits("a\\.b"), "a.b");
	CHECK_STR(lits("(快递)?到"), "到"); /* {到, 快递到} is just 到 */
	CHECK_STR(lits("ab+c"), "ab & bc");
	CHECK_STR(lits("(ab|cd)+x"), "abx|cdx & ab|cd");
	CHECK_STR(lits("^(?=.*(码|穿))(?=.*(cm|kg)).+"), "码|穿 & cm|kg");
	CHECK_STR(lits("(?=快递)物流"), "快递 & 物流"); /* zero-width */
	CHECK_STR(lits("快(?=递)递"), "快递 & 递");
	CHECK_STR(lits("(?<!不)投诉"), "投诉");
	CHECK_STR(lits("^(嗯|好)(?:(?1)|[ ,.])*+$"), "嗯|好"); /* (?1) */
	CHECK_STR(lits("[0-9]+"), "0|1|2|3|4|5|6|7|8|9");
	CHECK_STR(lits("Ünïcode"), "code & n"); /* caseful letters break */

	TEST("prefilter-1.2"); /* what cannot be relied on requires nothing */
	CHECK_STR(lits("(快递)?"), "-");
	CHECK_STR(lits("快|."), "-");
	CHECK_STR(lits("(快递)*到?"), "-");
	CHECK_STR(lits("(?i)abc"), "-");
	CHECK_STR(lits("x{2,"), "-");
	CHECK_STR(lits("(unbalanced"), "-");
	CHECK_STR(lits("unbalanced)"), "-");
	CHECK_STR(lits("\\Qa.b\\E"), "-");
	CHECK_STR(lits("(?<n>a)\\k<n>"), "-"); /* not the literal "<n>" */
	CHECK_STR(lits("[[:alpha:]]x"), "-");
	CHECK_STR(lits("\\x{4e00}"), "-");
	CHECK_STR(lits("[^a]"), "-");
	CHECK_STR(lits("[a-z]"), "-"); /* too wide */
	CHECK_STR(lits("a|"), "-");
}

static void
index_cases(void)
{
	struct prefilter *pf = prefilter_new();
	size_t ok, where, lit, empty, always, nlits;
	const char *txt;

	TEST("prefilter-2.1"); /* scan, maybe, next, literal ids */
	ok = prefilter_add(pf, "ok");
	where = prefilter_add(pf, "(快递|物流).{0,6}到哪");
	lit = prefilter_add_literal(pf, "ok", 2);
	empty = prefilter_add(pf, "[0-9]*");
	prefilter_build(pf);
	prefilter_stats(pf, 4, &always, &nlits);
	CHECK_INT(always, 1);
	CHECK_INT(nlits, 4); /* ok 快递 物流 到哪 */
	txt = "快递到哪了";
	prefilter_scan(pf, txt, strlen(txt));
	CHECK(!prefilter_maybe(pf, ok));
	CHECK(prefilter_maybe(pf, where));
	CHECK(!prefilter_maybe(pf, lit));
	CHECK(prefilter_maybe(pf, empty));
	CHECK_INT(prefilter_next(pf, 0), where);
	CHECK_INT(prefilter_next(pf, where + 1), empty);
	CHECK_INT(prefilter_next(pf, empty + 1), 4);
	txt = "物流 在路上"; /* one clause of two */
	prefilter_scan(pf, txt, strlen(txt));
	CHECK(!prefilter_maybe(pf, where));
	txt = "book";
	prefilter_scan(pf, txt, strlen(txt));
	CHECK(prefilter_maybe(pf, ok) && prefilter_maybe(pf, lit));
	CHECK(!prefilter_maybe(pf, where));

	TEST("prefilter-2.2"); /* K and S: PCRE2 folds U+212A and U+017F */
	txt = "o\xe2\x84\xaa";
	prefilter_scan(pf, txt, strlen(txt));
	CHECK(prefilter_maybe(pf, ok));	  /* a caseless regex might match */
	CHECK(!prefilter_maybe(pf, lit)); /* a plain string is exact */
	prefilter_scan(pf, "", 0);
	CHECK(!prefilter_maybe(pf, ok) && prefilter_maybe(pf, empty));
	prefilter_free(pf);
}

/* Many patterns, to cross 64-bit words of the candidate sets. */
static void
index_wide(void)
{
	struct prefilter *pf = prefilter_new();
	char pat[32];
	size_t i, id, seen = 0;

	TEST("prefilter-2.3");
	for (i = 0; i < 200; i++) {
		snprintf(pat, sizeof(pat), "w%zu号", i);
		prefilter_add(pf, pat);
	}
	prefilter_build(pf);
	prefilter_scan(pf, "w7号 w64号 w199号", strlen("w7号 w64号 w199号"));
	for (id = prefilter_next(pf, 0); id < 200;
	     id = prefilter_next(pf, id + 1))
		seen = seen * 1000 + id;
	CHECK_INT(seen, 7064199);
	prefilter_free(pf);
}

/* A literal with more refs than a record holds, and one whose tail is
 * longer than a byte can say. */
static void
index_big(void)
{
	struct prefilter *pf = prefilter_new();
	struct strbuf lng, txt;
	size_t i, id, seen = 0, along, other;

	TEST("prefilter-2.4");
	for (i = 0; i < 600; i++)
		prefilter_add_literal(pf, "同款", strlen("同款"));
	strbuf_init(&lng);
	for (i = 0; i < 120; i++)
		strbuf_addstr(&lng, i % 2 ? "长" : "ab");
	along = prefilter_add_literal(pf, lng.buf, lng.len); /* 420 bytes */
	other = prefilter_add(pf, "同款.*有货");
	prefilter_build(pf);
	prefilter_scan(pf, "有同款吗", strlen("有同款吗"));
	for (id = prefilter_next(pf, 0); id < along;
	     id = prefilter_next(pf, id + 1))
		seen++;
	CHECK_INT(seen, 600);
	CHECK(!prefilter_maybe(pf, along) && !prefilter_maybe(pf, other));
	strbuf_init(&txt);
	strbuf_addstr(&txt, "x");
	strbuf_add(&txt, lng.buf, lng.len);
	prefilter_scan(pf, txt.buf, txt.len); /* at the very end */
	CHECK(prefilter_maybe(pf, along));
	CHECK_INT(prefilter_next(pf, 0), along);
	prefilter_scan(pf, txt.buf, txt.len - 1); /* cut by one byte */
	CHECK(!prefilter_maybe(pf, along));
	txt.buf[txt.len - 4] = 'X'; /* "ab长" ends it: now "aX长" */
	prefilter_scan(pf, txt.buf, txt.len);
	CHECK(!prefilter_maybe(pf, along));
	strbuf_release(&txt);
	strbuf_release(&lng);
	prefilter_free(pf);
}

void
suite_prefilter(void)
{
	static const char *const files[] = {
		"intents/address.json",	  "intents/aftersale.json",
		"intents/clarify.json",	  "intents/complaint.json",
		"intents/human.json",	  "intents/invoice.json",
		"intents/logistics.json", "intents/payment.json",
		"intents/product.json",	  "intents/promotion.json",
		"intents/shipping.json",  "intents/smalltalk.json",
		"intents/system.json",	  "intents/unknown.json"};
	struct bot_err err = {""};
	struct intents *t;
	size_t i, pats, always, nlits;

	extraction();
	index_cases();
	index_wide();
	index_big();

	TEST("prefilter-3.1"); /* the shipped content: same result, always */
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
	compare_crafted(t);
	compare(t, "o\xe2\x84\xaa", false); /* "ok" with a KELVIN SIGN */
	compare(t, "\xc5\xbfize m", false); /* "size" with a LONG S */
	CHECK(compared > 5000);
	CHECK_INT(mismatches, 0);
	intents_prefilter_stats(t, &pats, &always, &nlits);
	CHECK(pats > 100);
	CHECK(always * 20 < pats); /* most patterns are filtered */
	intents_free(t);
}
