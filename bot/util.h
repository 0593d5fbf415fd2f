/*
 * util.h - allocation that aborts on OOM, load-time errors, a growable
 * string buffer and a few small helpers.  Nothing here knows lws or SQL.
 */
#ifndef BOT_UTIL_H
#define BOT_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a)	 (sizeof(a) / sizeof((a)[0]))
#define BOT_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* A load-time error: caller-owned, filled by bot_errf(). */
struct bot_err {
	char msg[256];
};

/* Format into 'err' (may be NULL) and return -1. */
int bot_errf(struct bot_err *err, const char *fmt, ...) BOT_PRINTF(2, 3);

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* A growable NUL-terminated byte string (git's strbuf, trimmed down). */
struct strbuf {
	char *buf; /* always NUL-terminated once initialised */
	size_t len;
	size_t alloc;
};

void strbuf_init(struct strbuf *sb);
void strbuf_release(struct strbuf *sb); /* back to the init state */
void strbuf_reset(struct strbuf *sb);	/* length 0, keeps memory */
void strbuf_grow(struct strbuf *sb, size_t extra);
void strbuf_add(struct strbuf *sb, const char *s, size_t len);
void strbuf_addstr(struct strbuf *sb, const char *s);
void strbuf_addch(struct strbuf *sb, char c);
void strbuf_addf(struct strbuf *sb, const char *fmt, ...) BOT_PRINTF(2, 3);
/* Append 's' as a JSON string literal, quotes included. */
void strbuf_add_json_str(struct strbuf *sb, const char *s, size_t len);

/* 64-bit FNV-1a. */
uint64_t util_hash64(const char *s, size_t len);

/* Wall-clock milliseconds since the epoch (only the shell calls this). */
int64_t util_now_ms(void);

/* CLOCK_MONOTONIC in nanoseconds: for intervals, never for dates. */
int64_t util_mono_ns(void);

/*
 * Find the first occurrence of 'needle' in 'text' at or after byte 'from'
 * and report its 1-based line and column.  Returns the byte offset or -1.
 * Used to point load errors at file:line:col.
 */
long util_locate(const char *text, size_t from, const char *needle, int *line,
		 int *col);

/*
 * Parse "YYYY-MM-DD", "YYYY-MM-DD HH:MM" or "YYYY-MM-DD HH:MM:SS" (also
 * with 'T' between date and time) as Asia/Shanghai time (UTC+8, no DST)
 * into milliseconds since the epoch.  Returns 0, or -1 when malformed or
 * out of range.
 */
int util_parse_shanghai(const char *s, int64_t *out_ms);

/* Format 'ms' as "YYYY-MM-DD HH:MM:SS" Asia/Shanghai into 'buf' (20+). */
void util_format_shanghai(int64_t ms, char *buf, size_t len);

/* Read a whole file into a new NUL-terminated allocation; NULL + errno. */
char *util_read_file(const char *path, size_t *len);

/*
 * The *.json files of 'dir' (hidden ones skipped), joined with 'dir' and
 * sorted: a new NULL-terminated array, each string and the array freed by
 * the caller.  NULL + err when the directory cannot be read or has none.
 */
char **util_list_json(const char *dir, size_t *n, struct bot_err *err);

/* Is 'path' absolute? Join dir and path into a new allocation. */
char *util_path_join(const char *dir, const char *path);

#endif /* BOT_UTIL_H */
