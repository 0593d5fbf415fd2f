/*
 * jsonfile.c - see jsonfile.h.
 */
#include "jsonfile.h"

#include <errno.h>
#include <stdlib.h>

#include "util.h"

json_t *
jsonfile_load(const char *path, char **text, struct bot_err *err)
{
	json_error_t jerr;
	json_t *root;
	size_t len;
	int saved;

	*text = util_read_file(path, &len);
	if (*text == NULL) {
		saved = errno;
		bot_errf(err, "cannot read '%s'", path);
		errno = saved;
		return NULL;
	}
	root = json_loadb(*text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		bot_errf(err, "%s:%d:%d: %s", path, jerr.line, jerr.column,
			 jerr.text);
		free(*text);
		*text = NULL;
	}
	return root;
}

long
jsonfile_locate(const char *text, long from, const char *s, int *line, int *col)
{
	json_t *j = json_string(s);
	char *lit = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
	long off = -1;

	*line = 1;
	*col = 1;
	if (lit) {
		off = util_locate(text, from > 0 ? (size_t)from : 0, lit, line,
				  col);
		if (off < 0)
			util_locate(text, 0, lit, line, col);
	}
	free(lit);
	json_decref(j);
	return off;
}
