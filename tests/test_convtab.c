/*
 * test_convtab.c - the conversation table and the rate limit.
 */
#include "../bot/convtab.h"
#include "test.h"

void suite_convtab(void);

void
suite_convtab(void)
{
	struct convtab *t = convtab_new(3, 1000);
	struct conversation *a, *b;
	struct ratelimit r = {0, -1};
	bool created;
	char id[16];
	int i, passed = 0;

	TEST("convtab-1.1");
	a = convtab_get(t, "a", 0, &created);
	CHECK(created);
	CHECK_STR(a->buyer, "a");
	a->misses = 1;
	b = convtab_get(t, "a", 10, &created);
	CHECK(!created);
	CHECK(a == b);
	CHECK_INT(b->misses, 1);

	TEST("convtab-1.2"); /* the cap evicts the least recently used */
	convtab_get(t, "b", 20, NULL);
	convtab_get(t, "c", 30, NULL);
	convtab_get(t, "a", 40, NULL);
	convtab_get(t, "d", 50, NULL); /* evicts b */
	CHECK_INT(convtab_count(t), 3);
	convtab_get(t, "b", 60, &created);
	CHECK(created);

	TEST("convtab-1.3"); /* idle entries expire */
	convtab_get(t, "e", 5000, NULL);
	CHECK_INT(convtab_count(t), 1);
	convtab_free(t);

	TEST("convtab-1.4"); /* growth keeps every entry reachable */
	t = convtab_new(100000, 1000000);
	for (i = 0; i < 5000; i++) {
		snprintf(id, sizeof(id), "u%d", i);
		convtab_get(t, id, i, NULL)->misses = i;
	}
	CHECK_INT(convtab_count(t), 5000);
	CHECK_INT(convtab_get(t, "u4321", 6000, &created)->misses, 4321);
	CHECK(!created);
	convtab_free(t);

	TEST("convtab-2.1"); /* 5 per 10 s: a burst of 8 lets 5 through */
	for (i = 0; i < 8; i++)
		passed += ratelimit_allow(&r, 5, 10000, 1000);
	CHECK_INT(passed, 5);
	CHECK(!ratelimit_allow(&r, 5, 10000, 2000)); /* 0.5 token back */
	CHECK(ratelimit_allow(&r, 5, 10000, 3000));  /* 1 token back */
	CHECK(!ratelimit_allow(&r, 5, 10000, 3001));

	TEST("convtab-2.2"); /* frequent calls still refill */
	r.tokens_x1000 = -1;
	for (i = 0; i < 5; i++)
		ratelimit_allow(&r, 1, 10000, 0);
	for (i = 1; i <= 10000; i++)
		ratelimit_allow(&r, 1, 10000, 0 + i) ? passed = -100 : 0;
	CHECK_INT(passed, -100);
	CHECK(ratelimit_allow(&r, 0, 10000, 0)); /* 0 = no limit */
}
