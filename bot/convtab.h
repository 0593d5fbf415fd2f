/*
 * convtab.h - the live conversations, by buyer id.
 *
 * A hash table of struct conversation with a least-recently-used list, so
 * that a sale peak cannot grow it without bound: at most 'max' entries, and
 * an entry idle for longer than 'ttl_ms' is dropped when the table is next
 * touched.  Each entry also holds the buyer's rate-limit bucket.  Plain C,
 * time passed in; owned by the server (one per vhost) or an offline command.
 */
#ifndef BOT_CONVTAB_H
#define BOT_CONVTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dialog.h"

struct convtab;

/* Token bucket: 'limit' messages per 'window_ms', bursts up to 'limit'. */
struct ratelimit {
	int64_t last_ms;
	int64_t tokens_x1000; /* tokens * 1000, so refills stay integral */
};

struct convtab *convtab_new(size_t max, int64_t ttl_ms);

/*
 * The conversation of 'buyer', created if new.  Borrowed: valid until the
 * next convtab_get() or convtab_free() (which may evict it).  '*created'
 * tells whether it is new (may be NULL).
 */
struct conversation *convtab_get(struct convtab *t, const char *buyer,
				 int64_t now_ms, bool *created);

/* The rate-limit bucket that belongs to 'c' (from convtab_get). */
struct ratelimit *convtab_ratelimit(struct conversation *c);

size_t convtab_count(const struct convtab *t);

/* May one more message pass?  limit <= 0 means no limit. */
bool ratelimit_allow(struct ratelimit *r, int limit, int64_t window_ms,
		     int64_t now_ms);

void convtab_free(struct convtab *t); /* NULL is a no-op */

#endif /* BOT_CONVTAB_H */
