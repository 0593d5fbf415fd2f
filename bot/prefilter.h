/*
 * prefilter.h - skip the patterns that cannot match.
 *
 * For every pattern, prefilter_add() works out from its source a set of
 * literal strings such that any match contains at least one of them
 * ("(快递|物流).{0,6}到哪" needs 到哪; "(退款|退钱)" needs 退款 or 退钱).
 * prefilter_scan() looks for all those literals in one pass over a message;
 * prefilter_maybe() then says whether a pattern can match at all.  The
 * extraction is conservative: a construct it does not understand makes
 * the pattern "always run", never a wrong skip.  Literals are lower-cased
 * like normalised text.  Not thread-safe (one scan at a time).
 */
#ifndef BOT_PREFILTER_H
#define BOT_PREFILTER_H

#include <stdbool.h>
#include <stddef.h>

struct prefilter;

struct prefilter *prefilter_new(void);

/* Register a pattern; returns its id (0, 1, 2, …). */
size_t prefilter_add(struct prefilter *pf, const char *pattern);

/* Index the literals; call once after the last prefilter_add(). */
void prefilter_build(struct prefilter *pf);

/* Find which literals occur in 'text' (normalised, valid UTF-8). */
void prefilter_scan(struct prefilter *pf, const char *text, size_t len);

/* After prefilter_scan(): can pattern 'id' match this text? */
bool prefilter_maybe(const struct prefilter *pf, size_t id);

/*
 * The literal alternatives extracted from 'pattern', as a new
 * NULL-terminated array (free each string and the array), or NULL when
 * nothing is required (the pattern must always run).  For tests.
 */
char **prefilter_literals(const char *pattern);

/* Patterns that always run, and literals indexed: for reports. */
void prefilter_stats(const struct prefilter *pf, size_t *patterns,
		     size_t *always, size_t *literals);

void prefilter_free(struct prefilter *pf); /* NULL is a no-op */

#endif /* BOT_PREFILTER_H */
