/*
 * texts.h - the buyer messages the bench tools send or time.
 *
 * One reader for loadgen, storebench and matchbench, so that "the corpus"
 * means the same lines in all three.
 */
#ifndef BENCH_TEXTS_H
#define BENCH_TEXTS_H
#include <stddef.h>

/* 32 buyer lines, for when no file is given or it cannot be read. */
extern const char *const bench_builtin_texts[];
extern const size_t bench_nbuiltin;

/*
 * One message per line.  A line with tabs is a TSV row whose third column
 * is the message (tests/corpus/messages.tsv); a first row whose third
 * column is "text" is its header.  Empty lines and "#" lines are skipped,
 * a trailing \r is dropped.  Returns the number of messages (at most
 * 'max', 0 for none) in '*out', an array of strings for
 * bench_texts_free(), or -1 when the file cannot be read (errno set).
 */
long bench_texts_read(const char *path, size_t max, char ***out);
void bench_texts_free(char **v, size_t n);

#endif /* BENCH_TEXTS_H */
