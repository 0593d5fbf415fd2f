/*
 * test_auth.c - signed buyer ids and API keys.
 */
#include "../bot/auth.h"
#include "test.h"

void suite_auth(void);

void
suite_auth(void)
{
	const char *secret = "0123456789abcdef-shop-secret";
	char sig[AUTH_SIG_HEX], ts[32];
	int64_t now = 1763900000;

	TEST("auth-1.1"); /* RFC 4231 style: a known HMAC-SHA256 */
	auth_sign("key", "The quick brown fox jumps over the lazy dog", 0, sig);
	CHECK_INT(strlen(sig), 64);
	auth_sign(secret, "b1", now, sig);
	snprintf(ts, sizeof(ts), "%lld", (long long)now);
	CHECK_INT(auth_verify(secret, "b1", ts, sig, now, 300), AUTH_OK);
	CHECK_INT(auth_verify(secret, "b1", ts, sig, now + 299, 300), AUTH_OK);

	TEST("auth-1.2");
	CHECK_INT(auth_verify(secret, "b1", ts, sig, now + 301, 300),
		  AUTH_STALE);
	CHECK_INT(auth_verify(secret, "b2", ts, sig, now, 300), AUTH_BAD_SIG);
	CHECK_INT(auth_verify("another-secret-16", "b1", ts, sig, now, 300),
		  AUTH_BAD_SIG);
	CHECK_INT(auth_verify(secret, "b1", ts, NULL, now, 300), AUTH_MISSING);
	CHECK_INT(auth_verify(secret, "b1", "12x", sig, now, 300), AUTH_STALE);
	CHECK_INT(auth_verify(secret, "b 1", ts, sig, now, 300), AUTH_BAD_ID);
	sig[0] = sig[0] == 'a' ? 'b' : 'a';
	CHECK_INT(auth_verify(secret, "b1", ts, sig, now, 300), AUTH_BAD_SIG);

	TEST("auth-2.1");
	CHECK(auth_key_ok("k-123", "k-123"));
	CHECK(!auth_key_ok("k-123", "k-124"));
	CHECK(!auth_key_ok("k-123", "k-12"));
	CHECK(!auth_key_ok("", ""));
	CHECK(auth_id_valid("web-1a2b"));
	CHECK(auth_id_valid("tb:buyer@shop.cn"));
	CHECK(!auth_id_valid(""));
	CHECK(!auth_id_valid("买家"));
	CHECK(!auth_id_valid("a/b"));
}
