/*
 * test.h - the whole unit-test harness.
 *
 * CHECK(expr), CHECK_INT(a, b), CHECK_STR(a, b) record a failure with
 * file:line, the expression and both values, and go on.  RUN(suite) runs
 * one suite.  unit.c prints "unit: N passed, N failed" alone on its last
 * line.  Test names are stable ids printed on failure ("intents-3.2").
 */
#ifndef TEST_H
#define TEST_H

#include <stdio.h>
#include <string.h>

extern int test_passed, test_failed;
extern const char *test_id;

#define TEST(id) (test_id = (id))

#define CHECK_(ok, fmt, ...)                                                   \
	do {                                                                   \
		if (ok) {                                                      \
			test_passed++;                                         \
		} else {                                                       \
			test_failed++;                                         \
			fprintf(stderr, "FAIL %s %s:%d: " fmt "\n", test_id,   \
				__FILE__, __LINE__, __VA_ARGS__);              \
		}                                                              \
	} while (0)

#define CHECK(e) CHECK_((e), "%s", #e)
#define CHECK_INT(a, b)                                                        \
	do {                                                                   \
		long long a_ = (long long)(a), b_ = (long long)(b);            \
		CHECK_(a_ == b_, "%s == %s (%lld vs %lld)", #a, #b, a_, b_);   \
	} while (0)
#define CHECK_STR(a, b)                                                        \
	do {                                                                   \
		const char *a_ = (a), *b_ = (b);                               \
		CHECK_(a_ &&b_ &&strcmp(a_, b_) == 0,                          \
		       "%s == %s (\"%s\" vs \"%s\")", #a, #b,                  \
		       a_ ? a_ : "(null)", b_ ? b_ : "(null)");                \
	} while (0)

#define RUN(suite)                                                             \
	do {                                                                   \
		test_id = #suite;                                              \
		suite();                                                       \
	} while (0)

#endif /* TEST_H */
