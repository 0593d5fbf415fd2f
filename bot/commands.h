/*
 * commands.h - the offline subcommands.  They run the same decision core
 * as the server (content + dialog), with no socket and no database, so
 * what is tested offline is what buyers get.  Each returns an exit code.
 */
#ifndef BOT_COMMANDS_H
#define BOT_COMMANDS_H

#include <stdio.h>

struct config;

/* xiaoer check: config and content, every problem as file:line:col. */
int cmd_check(const struct config *cfg, FILE *out);

/* xiaoer classify: one line in, "topic\tintent\taction\tscript" out. */
int cmd_classify(const struct config *cfg, FILE *in, FILE *out);

/* xiaoer replay FILE.jsonl: one JSON line out per buyer turn. */
int cmd_replay(const struct config *cfg, FILE *out);

/* xiaoer scripts search WORD: the staff look-up. */
int cmd_scripts(const struct config *cfg, FILE *out);

#endif /* BOT_COMMANDS_H */
