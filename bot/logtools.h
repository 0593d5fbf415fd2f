/*
 * logtools.h - the content team's offline commands over the chat log:
 * export-log (the stored buyer lines as replayable JSONL), unmatched (what
 * the bot could not answer, grouped) and replay --against (the same
 * sessions through two content sets, and what changed).  Each command
 * returns an exit code: 0 done, 1 a file, database or content failed,
 * 2 bad usage.  They print their own diagnostics on stderr, as the other
 * offline commands do.
 */
#ifndef BOT_LOGTOOLS_H
#define BOT_LOGTOOLS_H

#include <stdint.h>
#include <stdio.h>

struct config;

/*
 * Parse a time for --since/--until/--now: "YYYY-MM-DD", "YYYY-MM-DD HH:MM"
 * or "YYYY-MM-DD HH:MM:SS" in Asia/Shanghai (UTC+8, no DST, computed
 * without the TZ database), or "Nh" / "Nd" meaning 'now_ms' minus N hours
 * or days.  Pure.  Returns 0 and sets *out_ms, or -1 when 's' is none of
 * these.
 */
int logtools_parse_time(const char *s, int64_t now_ms, int64_t *out_ms);

/*
 * xiaoer export-log [--since TIME] [UNTIL]: one JSON line per buyer,
 * {"id":BUYER,"turns":[{"text","at","intent","action","script"},...]},
 * with the buyer lines of cfg->db where since <= at < until.
 */
int logtools_export_log(const struct config *cfg, FILE *out);

/*
 * xiaoer unmatched [--since TIME] [N]: the top N (default 50) normalised
 * forms of the unmatched table, "COUNT\tFORM\tEXAMPLE\tLAST SEEN" each,
 * then a summary line.
 */
int logtools_unmatched(const struct config *cfg, FILE *out);

/*
 * xiaoer replay --against DIR FILE.jsonl: replay each session with the
 * content of DIR (the other, older version) and with cfg->content (the
 * current one), print every turn whose intent, action or script differs
 * and a summary.
 */
int logtools_replay_against(const struct config *cfg, FILE *out);

#endif /* BOT_LOGTOOLS_H */
