/*
 * convtab.c - see convtab.h.
 */
#include "convtab.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

struct entry {
	struct conversation conv; /* first: convtab_ratelimit() */
	struct ratelimit rate;
	uint64_t hash;
	struct entry *next_in_bucket;
	struct entry *lru_prev, *lru_next; /* head = least recent */
};

struct convtab {
	struct entry **buckets;
	size_t nbuckets; /* power of two */
	size_t count, max;
	int64_t ttl_ms;
	struct entry *lru_head, *lru_tail;
};

struct convtab *
convtab_new(size_t max, int64_t ttl_ms)
{
	struct convtab *t = xcalloc(1, sizeof(*t));

	t->max = max ? max : 1;
	t->ttl_ms = ttl_ms;
	t->nbuckets = 1024;
	t->buckets = xcalloc(t->nbuckets, sizeof(*t->buckets));
	return t;
}

static void
lru_unlink(struct convtab *t, struct entry *e)
{
	if (e->lru_prev)
		e->lru_prev->lru_next = e->lru_next;
	else
		t->lru_head = e->lru_next;
	if (e->lru_next)
		e->lru_next->lru_prev = e->lru_prev;
	else
		t->lru_tail = e->lru_prev;
	e->lru_prev = e->lru_next = NULL;
}

static void
lru_append(struct convtab *t, struct entry *e)
{
	e->lru_prev = t->lru_tail;
	e->lru_next = NULL;
	if (t->lru_tail)
		t->lru_tail->lru_next = e;
	else
		t->lru_head = e;
	t->lru_tail = e;
}

static void
drop(struct convtab *t, struct entry *e)
{
	struct entry **pp = &t->buckets[e->hash & (t->nbuckets - 1)];

	while (*pp != e)
		pp = &(*pp)->next_in_bucket;
	*pp = e->next_in_bucket;
	lru_unlink(t, e);
	t->count--;
	free(e);
}

static void
grow(struct convtab *t)
{
	size_t n = t->nbuckets * 2, i;
	struct entry **b = xcalloc(n, sizeof(*b)), *e, *next;

	for (i = 0; i < t->nbuckets; i++)
		for (e = t->buckets[i]; e; e = next) {
			next = e->next_in_bucket;
			e->next_in_bucket = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = n;
}

struct conversation *
convtab_get(struct convtab *t, const char *buyer, int64_t now_ms, bool *created)
{
	uint64_t h = util_hash64(buyer, strlen(buyer));
	struct entry *e;

	if (created)
		*created = false;
	for (e = t->buckets[h & (t->nbuckets - 1)]; e; e = e->next_in_bucket)
		if (e->hash == h && strcmp(e->conv.buyer, buyer) == 0)
			break;
	/* Expire the idle, then make room; never the entry being fetched. */
	while (t->lru_head && t->lru_head != e &&
	       (now_ms - t->lru_head->conv.last_ms > t->ttl_ms ||
		(e == NULL && t->count >= t->max)))
		drop(t, t->lru_head);
	if (e) {
		lru_unlink(t, e);
		lru_append(t, e);
		return &e->conv;
	}
	if (t->count >= t->nbuckets)
		grow(t);
	e = xcalloc(1, sizeof(*e));
	conversation_init(&e->conv, buyer, now_ms);
	e->hash = h;
	e->rate.last_ms = now_ms;
	e->rate.tokens_x1000 = -1; /* full on first use */
	e->next_in_bucket = t->buckets[h & (t->nbuckets - 1)];
	t->buckets[h & (t->nbuckets - 1)] = e;
	lru_append(t, e);
	t->count++;
	if (created)
		*created = true;
	return &e->conv;
}

struct ratelimit *
convtab_ratelimit(struct conversation *c)
{
	return &((struct entry *)(void *)c)->rate;
}

size_t
convtab_count(const struct convtab *t)
{
	return t->count;
}

bool
ratelimit_allow(struct ratelimit *r, int limit, int64_t window_ms,
		int64_t now_ms)
{
	int64_t cap = (int64_t)limit * 1000, elapsed;

	if (limit <= 0)
		return true;
	if (r->tokens_x1000 < 0) {
		r->tokens_x1000 = cap;
		r->last_ms = now_ms;
	}
	elapsed = now_ms - r->last_ms;
	if (elapsed < 0)
		r->last_ms = now_ms; /* the clock stepped back */
	/* Refill only once a whole milli-token accrued, so frequent calls
	 * don't round the refill away. */
	if (elapsed > 0 && elapsed * cap / window_ms > 0) {
		r->tokens_x1000 += elapsed * cap / window_ms;
		if (r->tokens_x1000 > cap)
			r->tokens_x1000 = cap;
		r->last_ms = now_ms;
	}
	if (r->tokens_x1000 < 1000)
		return false;
	r->tokens_x1000 -= 1000;
	return true;
}

void
convtab_free(struct convtab *t)
{
	struct entry *e, *next;

	if (t == NULL)
		return;
	for (e = t->lru_head; e; e = next) {
		next = e->lru_next;
		free(e);
	}
	free(t->buckets);
	free(t);
}
