/*
 * commands.h - the offline subcommands.  They run the same decision core
 * as the server (content + dialog), with no socket and no database, so
 * what is tested offline is what buyers get.  Each returns an exit code.
 */
#ifndef BOT_COMMANDS_H
#define BOT_COMMANDS_H

#include <stddef.h>
#include <stdio.h>

struct config;

/*
 * One line of a replay file: {"id": "s1", "turns": [{"text": "…"}, …]}
 * (an integer id is fine; other fields are ignored; turns whose "role" is
 * not "buyer" are skipped, so logs with both sides replay as they are).
 */
struct replay_line {
	char session[64];
	void *root;  /* json_t *, owned */
	size_t next; /* index of the next turn to look at */
};

/* Parse 'len' bytes of 'line'.  0, or -1 with 'why' filled. */
int replay_line_parse(struct replay_line *rl, const char *line, size_t len,
		      char *why, size_t whylen);

/*
 * The next buyer turn: 1 with its text and its index in "turns", 0 at the
 * end, -1 with 'why' filled for a turn without a "text" string.  The text
 * is borrowed until replay_line_clear().
 */
int replay_line_next(struct replay_line *rl, size_t *index, const char **text,
		     size_t *len, char *why, size_t whylen);

void replay_line_clear(struct replay_line *rl);

/* xiaoer check: config and content, every problem as file:line:col. */
int cmd_check(const struct config *cfg, FILE *out);

/* xiaoer classify: one line in, "topic\tintent\taction\tscript" out. */
int cmd_classify(const struct config *cfg, FILE *in, FILE *out);

/* xiaoer replay FILE.jsonl: one JSON line out per buyer turn. */
int cmd_replay(const struct config *cfg, FILE *out);

/* xiaoer scripts search WORD: the staff look-up. */
int cmd_scripts(const struct config *cfg, FILE *out);

#endif /* BOT_COMMANDS_H */
