/*
 * jsonfile.h - the content files' JSON with positions for error messages.
 *
 * jansson reports where a syntax error is, but not where a parsed value
 * came from; problems found later (a bad pattern, a duplicate id) are
 * placed by finding the value's JSON text in the file.
 */
#ifndef BOT_JSONFILE_H
#define BOT_JSONFILE_H

#include <jansson.h>

struct bot_err;

/*
 * Read and parse 'path' (duplicate keys refused).  Returns the root (new
 * reference) and the file's text in '*text' (new allocation, caller frees),
 * or NULL with "cannot read 'path'" (errno kept) or "path:line:col: why".
 */
json_t *jsonfile_load(const char *path, char **text, struct bot_err *err);

/*
 * Find string 's', as JSON writes it, in 'text' at or after byte 'from'.
 * Returns its offset, or -1 when it is not there (then line:col is its
 * first place anywhere in the file, or 1:1).
 */
long jsonfile_locate(const char *text, long from, const char *s, int *line,
		     int *col);

#endif /* BOT_JSONFILE_H */
