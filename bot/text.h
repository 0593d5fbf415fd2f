/*
 * text.h - Chinese text normalisation and UTF-8 helpers.
 *
 * Buyers write 全角 and 半角, 繁體 and 简体, "在吗？？？？" and "😡😡😡".
 * Patterns stay short because every message is normalised first:
 *  - full-width ASCII (U+FF01..U+FF5E) -> ASCII, U+3000 -> space;
 *  - CJK punctuation -> ASCII: ，->,  。->.  ！->!  ？->?  ：->:  ；->;
 *    、->,  （->(  ）->)  “”「」『』 -> "  ‘’ -> '  ～ -> ~  …… -> ...;
 *  - ASCII letters lower-cased;
 *  - common traditional characters -> simplified (a table, one code point
 *    to one code point);
 *  - whitespace runs (space, tab, CR, LF, NBSP, U+3000) -> one space,
 *    leading and trailing whitespace dropped;
 *  - a run of the same punctuation mark or emoji -> one ("？？？" -> "?",
 *    "😡😡😡" -> "😡", "!!!!" -> "!"); "..." and "……" stay "...";
 *  - control characters (< 0x20 other than whitespace, U+200B..U+200F,
 *    U+FEFF) are dropped.
 * The output is never longer than the input.  No allocation.
 */
#ifndef BOT_TEXT_H
#define BOT_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Is 's' valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF)? */
bool text_valid_utf8(const char *s, size_t len);

/* Number of code points in valid UTF-8 's'. */
size_t text_utf8_chars(const char *s, size_t len);

/* Make NUL-terminated 's' valid UTF-8 in place: each byte that is not
 * part of a valid character (one cut short by a byte limit, one copied
 * from bad input) becomes '?'. */
void text_utf8_sanitize(char *s);

/*
 * Decode one code point of valid UTF-8 at 's' (len > 0); returns the
 * number of bytes consumed and stores the code point in '*cp'.
 */
size_t text_utf8_decode(const char *s, size_t len, uint32_t *cp);

/* Encode 'cp' into 'out' (4 bytes room); returns the byte count. */
size_t text_utf8_encode(uint32_t cp, char *out);

/*
 * Normalise valid UTF-8 'in' (len bytes) into 'out', which has room for
 * 'cap' bytes; cap >= len + 1 always suffices.  The result is
 * NUL-terminated; returns its length in bytes.
 */
size_t text_normalize(const char *in, size_t len, char *out, size_t cap);

struct strbuf;

/* Copy 's' into 'out' (reset first) with every byte that is not part of
 * valid UTF-8 replaced by U+FFFD, so a bad log line can still be used.
 * For offline tools: it allocates. */
void text_repair_utf8(const char *s, size_t len, struct strbuf *out);

/* Map one code point traditional -> simplified (identity when unknown). */
uint32_t text_simplify(uint32_t cp);

#endif /* BOT_TEXT_H */
