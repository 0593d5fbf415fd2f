/*
 * prefilter.h - skip the patterns that cannot match.
 *
 * For every pattern, prefilter_add() works out from its source up to
 * PREFILTER_CLAUSES sets of literal strings such that any match contains
 * at least one string of every set: "(快递|物流).{0,6}(到哪|在哪)" needs
 * (到哪 or 在哪) and (快递 or 物流); "按不(出来|开)" needs 按不出来 or 按不开
 * (adjacent literal pieces are multiplied out).  prefilter_scan() finds
 * every indexed literal in one pass over a message (a hash table keyed by
 * a literal's first two code points); prefilter_maybe() then says whether
 * a pattern can match at all, and prefilter_next() lists the ones that
 * can, in the order they were added.  The extraction is conservative: a
 * construct it does not understand makes the pattern "always run", never
 * a wrong skip.  Literals are lower-cased like normalised text, and a
 * text with a character that PCRE2_CASELESS folds onto an ASCII letter
 * (U+212A KELVIN SIGN is k, U+017F LONG S is s) runs every pattern.
 *
 * prefilter_add_literal() indexes a plain string instead: prefilter_maybe()
 * is then exact (the string occurs in the text).  One scan serves both.
 *
 * Built once and read-only afterwards, except for the scratch state of
 * one scan, so it is not thread-safe.
 */
#ifndef BOT_PREFILTER_H
#define BOT_PREFILTER_H

#include <stdbool.h>
#include <stddef.h>

#define PREFILTER_CLAUSES 4 /* literal sets ANDed per pattern, at most */

struct prefilter;

struct prefilter *prefilter_new(void);

/* Register a PCRE2 pattern (compiled caseless); returns its id (0, 1, …). */
size_t prefilter_add(struct prefilter *pf, const char *pattern);

/* Register a plain string (len > 0 bytes of valid UTF-8); returns its id. */
size_t prefilter_add_literal(struct prefilter *pf, const char *s, size_t len);

/* Index the literals; call once after the last prefilter_add(). */
void prefilter_build(struct prefilter *pf);

/* Find which literals occur in 'text' (normalised, valid UTF-8). */
void prefilter_scan(struct prefilter *pf, const char *text, size_t len);

/* After prefilter_scan(): can pattern 'id' match this text? */
bool prefilter_maybe(const struct prefilter *pf, size_t id);

/* After prefilter_scan(): the first id >= 'id' that can match, or the
 * number of ids when none can. */
size_t prefilter_next(const struct prefilter *pf, size_t id);

/*
 * What prefilter_add() requires of 'pattern', as a new string (caller
 * frees): each literal set sorted and joined with '|', the sets joined
 * with " & ", the most selective first; NULL when nothing is required
 * (the pattern must always run).  For tests.
 */
char *prefilter_explain(const char *pattern);

/* Of ids 0 .. upto - 1, those that always run; literals indexed (all).
 * For reports. */
void prefilter_stats(const struct prefilter *pf, size_t upto, size_t *always,
		     size_t *literals);

void prefilter_free(struct prefilter *pf); /* NULL is a no-op */

#endif /* BOT_PREFILTER_H */
