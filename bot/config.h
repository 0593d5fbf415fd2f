/*
 * config.h - operator configuration (deploy/xiaoer.conf).
 *
 * One static table in config.c drives parsing, defaults, the dump and the
 * documentation.  The file is "key value" lines with '#' comments; unknown
 * keys, bad values and duplicate keys are errors of the form
 * "xiaoer.conf:12: unknown key 'lisen'".  Relative paths in the file are
 * resolved against the directory of the file; relative paths given on the
 * command line are resolved against the current directory.
 */
#ifndef BOT_CONFIG_H
#define BOT_CONFIG_H

#include <stdbool.h>
#include <stdio.h>

struct bot_err;

struct config {
	/* what to run */
	char *path;	  /* -c FILE, or NULL: defaults only */
	char *subcommand; /* "serve" unless given */
	char **args;	  /* positional arguments after options */
	int nargs;
	char **overrides; /* key, value, ..., NULL: recorded flags */
	char *against;	  /* replay --against DIR */
	char *now;	  /* --now "2026-11-11 00:30" (offline) */
	char *since;	  /* export-log, unmatched: --since TIME */
	char *until;	  /* export-log: --until TIME (exclusive) */
	int log_level;	  /* -d LEVEL: lws log bitmask, default 7 */

	/* keys of the file (see the table in config.c for defaults) */
	char *listen;		/* listen 127.0.0.1 */
	int port;		/* port 8080 (0 = any free port) */
	char *event_loop;	/* event_loop libev|poll */
	char *db;		/* db var/xiaoer.db */
	char *db_sync;		/* db_sync normal|full */
	int db_max_mb;		/* db_max_mb 0 (0 = no cap) */
	char *content;		/* content . (holds intents/, scripts-zh/) */
	char *www;		/* www bot/www */
	bool auth;		/* auth off|on */
	char *auth_secret;	/* auth_secret "" (HMAC key for buyer sigs) */
	char *api_key;		/* api_key "" (gateways, HTTP API) */
	int auth_max_skew_s;	/* auth_max_skew_s 300 */
	int max_message_chars;	/* max_message_chars 2000 */
	int max_frame_bytes;	/* max_frame_bytes 16384 */
	int rate_limit;		/* rate_limit 20 (per 10 s per buyer) */
	int idle_timeout_s;	/* idle_timeout_s 300 */
	int outq_max;		/* outq_max 64 frames per connection */
	int outq_max_bytes;	/* outq_max_bytes 262144 */
	int max_conversations;	/* max_conversations 200000 */
	int conversation_ttl_s; /* conversation_ttl_s 7200 */
	int escalate_after_misses; /* escalate_after_misses 2 */
	bool escalate_on_repeat;   /* escalate_on_repeat on */
	int repeat_similarity;	   /* repeat_similarity 50 (percent) */
	int writer_queue_max;	   /* writer_queue_max 65536 */
};

/* Fill every key with its default; no allocation failures. */
void config_init(struct config *c);

/*
 * Parse argv: [SUBCOMMAND] [options] [args].  Options: -c FILE, -p/--port N,
 * --listen ADDR, --db FILE, --content DIR, --www DIR, -d LEVEL, --now TIME,
 * --against DIR, --since TIME, -h/--help.  Overrides are recorded and applied
 * by config_load() after the file.  Returns 0, or -1 with 'err' filled.
 */
int config_parse_args(struct config *c, int argc, char **argv,
		      struct bot_err *err);

/*
 * Load c->path (if not NULL) over the defaults, then apply the recorded
 * command-line overrides.  Returns 0 or -1 with 'err' filled.
 */
int config_load(struct config *c, struct bot_err *err);

/* Set one key from its text form (used by the file parser and tests). */
int config_set(struct config *c, const char *key, const char *value,
	       struct bot_err *err);

/* Write every key with its current value and help text, as a config file. */
void config_dump(const struct config *c, FILE *f);

void config_release(struct config *c);

#endif /* BOT_CONFIG_H */
