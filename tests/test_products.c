/*
 * test_products.c - product facts and size recommendation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../bot/products.h"
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
