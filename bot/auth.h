/*
 * auth.h - buyer identity (DESIGN.md section 4).
 *
 * The shop backend signs a buyer id for the chat widget:
 *   sig = lower-case hex HMAC-SHA256(secret, "ID|TS")
 * with TS in Unix seconds; the widget connects with
 * /ws/buyer?buyer=ID&ts=TS&sig=SIG.  Gateways and the HTTP API present the
 * shared API key.  Pure functions over libcrypto; time is a parameter.
 * (Debian's libwebsockets 4.1.6 is built without LWS_WITH_GENCRYPTO, so
 * lws_genhmac is not available; lws already links libcrypto for TLS.)
 */
#ifndef BOT_AUTH_H
#define BOT_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUTH_SIG_HEX 65 /* 64 hex digits and a NUL */

/* Is 'id' a usable buyer id: 1..63 bytes of [A-Za-z0-9_.:@-]? */
bool auth_id_valid(const char *id);

/* Write the signature of (id, ts_s) into 'out' (AUTH_SIG_HEX bytes). */
void auth_sign(const char *secret, const char *id, int64_t ts_s, char *out);

enum auth_result {
	AUTH_OK,
	AUTH_MISSING, /* no id, ts or sig */
	AUTH_BAD_ID,
	AUTH_STALE, /* |now - ts| > max_skew_s */
	AUTH_BAD_SIG,
};

/* Check a signed buyer id; 'ts' is the decimal text from the URL. */
enum auth_result auth_verify(const char *secret, const char *id, const char *ts,
			     const char *sig, int64_t now_s, int max_skew_s);

/* Constant-time comparison of a presented key with the configured one;
 * an empty configured key never matches. */
bool auth_key_ok(const char *configured, const char *presented);

const char *auth_result_name(enum auth_result r);

#endif /* BOT_AUTH_H */
