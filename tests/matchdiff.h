/*
 * matchdiff.h - the literal prefilter against the reference matcher.
 *
 * intents_match() with the prefilter runs only the patterns whose literals
 * occur in the text; without it, every pattern in file order.  The two
 * must always give the same intent, match length and slots.  Shared by the
 * unit tests (the shipped examples, the corpus) and the turn fuzzer.
 */
#ifndef TESTS_MATCHDIFF_H
#define TESTS_MATCHDIFF_H

#include <stddef.h>

struct intents;

/* NULL when both agree on normalised 'norm'; else what differs, in a
 * static buffer.  Leaves the prefilter on. */
const char *matchdiff(struct intents *t, const char *norm, size_t len);

#endif /* TESTS_MATCHDIFF_H */
