/*
 * test_products.c - product facts and size recommendation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../bot/products.h"
#include "../bot/text.h"
#include "../bot/util.h"
#include "test.h"

#define FIX "tests/fixtures/content/scripts-zh/products.json"

void suite_products(void);

static struct products *
load_text(const char *json, struct bot_err *err)
{
	char path[] = "/tmp/xiaoer-products-XXXXXX";
	int fd = mkstemp(path);
	struct products *p;

	if (fd < 0)
		return NULL;
	if (write(fd, json, strlen(json)) < 0)
		return NULL;
	close(fd);
	p = products_load(path, err);
	unlink(path);
	return p;
}

/* The rule of products_in_text() read literally: every alias searched at
 * every offset; the longest wins, the first product on a tie. */
static const struct product *
naive_in_text(const struct products *p, const char *text, size_t len)
{
	const struct product *best = NULL;
	size_t i, j, k, n, best_len = 0;

	for (i = 0; i < products_count(p); i++) {
		const struct product *pr = products_at(p, i);

		for (j = 0; j < pr->naliases; j++) {
			n = strlen(pr->aliases[j]);
			for (k = 0; n > best_len && n && k + n <= len; k++)
				if (memcmp(text + k, pr->aliases[j], n) == 0) {
					best = pr;
					best_len = n;
				}
		}
	}
	return best;
}

/* The indexed search agrees with the naive one on every corpus line (and
 * its prefixes) and every alias of the shipped products; returns the
 * number of lines a product was found in. */
static int
compare_corpus(const struct products *p, const char *path, int *bad)
{
	char *text = util_read_file(path, NULL), *line, *q, *t;
	char norm[4096];
	size_t len, n;
	int found = 0;

	for (line = text; line && *line; line = q) {
		q = strchr(line, '\n');
		if (q)
			*q++ = '\0';
		t = strrchr(line, '\t');
		if (line[0] == '#' || t == NULL || strlen(t) >= sizeof(norm))
			continue;
		len = text_normalize(t + 1, strlen(t + 1), norm, sizeof(norm));
		found += products_in_text(p, norm, len) != NULL;
		for (n = len; n > 0; n--)
			if (products_in_text(p, norm, n) !=
			    naive_in_text(p, norm, n))
				(*bad)++;
	}
	free(text);
	return found;
}

static void
shipped(void)
{
	struct bot_err err = {""};
	struct products *p = products_load("scripts-zh/products.json", &err);
	size_t i, j;
	int bad = 0, found;

	TEST("products-2.2"); /* indexed = naive, on the shipped products */
	CHECK(p != NULL);
	if (p == NULL)
		return;
	found = compare_corpus(p, "tests/corpus/messages.tsv", &bad);
	found += compare_corpus(p, "tests/corpus/holdout.tsv", &bad);
	CHECK(found > 10);
	for (i = 0; i < products_count(p); i++)
		for (j = 0; j < products_at(p, i)->naliases; j++) {
			const char *a = products_at(p, i)->aliases[j];

			if (products_in_text(p, a, strlen(a)) !=
			    naive_in_text(p, a, strlen(a)))
				bad++;
		}
	CHECK_INT(bad, 0);
	products_free(p);
}

void
suite_products(void)
{
	struct bot_err err = {""};
	struct products *p = products_load(FIX, &err);
	const struct product *pr;

	TEST("products-1.1");
	CHECK(p != NULL);
	if (p == NULL) {
		fprintf(stderr, "%s\n", err.msg);
		return;
	}
	CHECK_INT(products_count(p), 2);
	pr = products_find(p, "down-jacket");
	CHECK(pr != NULL);
	if (pr == NULL)
		return;
	CHECK_STR(pr->sizes_text, "S/M/L/XL");
	CHECK_STR(pr->colors, "黑色、米白、雾霾蓝");
	CHECK_STR(products_fact(pr, "product"), "轻薄羽绒服");
	CHECK(products_fact(pr, "shelf_life") == NULL);
	CHECK(products_fact(pr, "nope") == NULL);

	TEST("products-2.1"); /* aliases are found in normalised text */
	CHECK(products_in_text(p, "羽绒服穿什么码", strlen("羽绒服穿什么码")) ==
	      pr);
	CHECK_STR(products_in_text(p, "龙井保质期", strlen("龙井保质期"))->id,
		  "green-tea");
	CHECK(products_in_text(p, "快递到哪了", strlen("快递到哪了")) == NULL);
	/* aliases are normalised at load: 羽絨 is stored as 羽绒 */
	CHECK(products_in_text(p, "羽绒", strlen("羽绒")) == pr);
	CHECK(products_in_text(p, "", 0) == NULL);
	shipped();

	TEST("products-3.1"); /* size: both, then weight, then height */
	CHECK_STR(products_recommend(pr, 165, 110), "M");
	CHECK_STR(products_recommend(pr, 155, 90), "S");
	CHECK_STR(products_recommend(pr, 0, 150), "XL");
	CHECK_STR(products_recommend(pr, 172, 0), "L");
	CHECK_STR(products_recommend(pr, 150, 130), "L"); /* weight decides */
	CHECK(products_recommend(pr, 0, 300) == NULL);
	CHECK(products_recommend(pr, 0, 0) == NULL);
	products_free(p);

	TEST("products-4.1"); /* a missing file is an empty set */
	p = products_load("/nonexistent/products.json", &err);
	CHECK(p != NULL);
	if (p)
		CHECK_INT(products_count(p), 0);
	products_free(p);

	TEST("products-4.2"); /* errors name the product */
	p = load_text("{\"products\":[{\"id\":\"a\",\"name\":\"x\","
		      "\"sizes\":[{\"size\":\"M\",\"height\":[170,160]}]}]}",
		      &err);
	CHECK(p == NULL);
	CHECK(strstr(err.msg, "product 'a'") != NULL);
	CHECK(strstr(err.msg, "reversed") != NULL);
	p = load_text("{\"products\":[{\"id\":\"a\",\"name\":\"x\","
		      "\"colour\":[]}]}",
		      &err);
	CHECK(p == NULL);
	CHECK(strstr(err.msg, "colour") != NULL);
	p = load_text("{\"products\":[{\"id\":\"a\",\"name\":\"x\"},"
		      "{\"id\":\"a\",\"name\":\"y\"}]}",
		      &err);
	CHECK(p == NULL);
	CHECK(strstr(err.msg, "twice") != NULL);
}
