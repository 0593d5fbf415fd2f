/*
 * auth.c - see auth.h.
 */
#include "auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool
auth_id_valid(const char *id)
{
	size_t i, n;

	if (id == NULL)
		return false;
	n = strlen(id);
	if (n == 0 || n > 63)
		return false;
	for (i = 0; i < n; i++) {
		char c = id[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		      c == ':' || c == '@' || c == '-'))
			return false;
	}
	return true;
}

void
auth_sign(const char *secret, const char *id, int64_t ts_s, char *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0, i;
	char msg[96];
	int n;

	n = snprintf(msg, sizeof(msg), "%s|%lld", id, (long long)ts_s);
	if (n < 0 || (size_t)n >= sizeof(msg) ||
	    HMAC(EVP_sha256(), secret, (int)strlen(secret),
		 (const unsigned char *)msg, (size_t)n, mac, &maclen) == NULL)
		maclen = 0;
	for (i = 0; i < maclen && i < 32; i++) {
		out[2 * i] = hex[mac[i] >> 4];
		out[2 * i + 1] = hex[mac[i] & 15];
	}
	out[2 * i] = '\0';
}

enum auth_result
auth_verify(const char *secret, const char *id, const char *ts, const char *sig,
	    int64_t now_s, int max_skew_s)
{
	char want[AUTH_SIG_HEX], *end;
	long long t;

	if (id == NULL || ts == NULL || sig == NULL || !id[0] || !ts[0] ||
	    !sig[0])
		return AUTH_MISSING;
	if (!auth_id_valid(id))
		return AUTH_BAD_ID;
	t = strtoll(ts, &end, 10);
	if (*end != '\0' || t <= 0)
		return AUTH_STALE;
	if (t > now_s + max_skew_s || t < now_s - max_skew_s)
		return AUTH_STALE;
	auth_sign(secret, id, t, want);
	if (strlen(sig) != 64 || strlen(want) != 64 ||
	    CRYPTO_memcmp(want, sig, 64) != 0)
		return AUTH_BAD_SIG;
	return AUTH_OK;
}

bool
auth_key_ok(const char *configured, const char *presented)
{
	size_t n;

	if (configured == NULL || presented == NULL || !configured[0])
		return false;
	n = strlen(configured);
	if (strlen(presented) != n)
		return false;
	return CRYPTO_memcmp(configured, presented, n) == 0;
}

const char *
auth_result_name(enum auth_result r)
{
	static const char *const names[] = {
		"ok", "missing buyer, ts or sig", "bad buyer id",
		"stale or bad timestamp", "bad signature"};

	return names[r];
}
