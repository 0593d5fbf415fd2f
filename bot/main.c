/*
 * main.c - xiaoer (店小二): subcommand dispatch.  Everything that can fail
 * at start (config, content, database) happens here, before lws exists.
 */
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "config.h"
#include "content.h"
#include "logtools.h"
#include "server.h"
#include "store.h"
#include "util.h"

static const char usage[] =
	"usage: xiaoer [SUBCOMMAND] [-c FILE] [options] [args]\n"
	"\n"
	"  serve                  run the chat server (the default)\n"
	"  check                  validate config and content, then exit\n"
	"  classify               classify stdin lines: topic intent action "
	"script\n"
	"  replay FILE.jsonl      replay chat sessions through the bot\n"
	"  replay --against DIR FILE.jsonl\n"
	"                         what changed since the content in DIR\n"
	"  export-log [--since T] [--until T]\n"
	"                         buyer lines of --db as replayable JSONL\n"
	"  unmatched [--since TIME] [N]\n"
	"                         the N (50) most frequent unanswered lines\n"
	"  scripts search WORD    look up scripts by word, intent or tag\n"
	"\n"
	"options: -c FILE, -p/--port N, --listen ADDR, --db FILE, --content "
	"DIR,\n"
	"         --www DIR, -d LOGLEVEL (lws bitmask, default 1027), "
	"-h/--help\n";

static int
serve(struct config *cfg, struct bot_err *err)
{
	struct bot bot;
	struct store_options so;
	int rc = -1;

	memset(&bot, 0, sizeof(bot));
	bot.cfg = cfg;
	dialog_policy_init(&bot.policy);
	bot.policy.escalate_after_misses = cfg->escalate_after_misses;
	bot.policy.escalate_on_repeat = cfg->escalate_on_repeat;
	bot.policy.repeat_similarity = cfg->repeat_similarity;
	bot.content = content_load(cfg->content, err);
	if (bot.content == NULL)
		goto out;
	memset(&so, 0, sizeof(so));
	so.sync_full = strcmp(cfg->db_sync, "full") == 0;
	so.max_mb = cfg->db_max_mb;
	so.queue_max = (size_t)cfg->writer_queue_max;
	bot.store = store_open(cfg->db, &so, err);
	if (bot.store == NULL)
		goto out;
	lws_set_log_level(cfg->log_level, NULL);
	rc = server_run(&bot, err);
out:
	store_close(bot.store); /* flushes and joins the writer */
	content_free(bot.content);
	return rc;
}

int
main(int argc, char **argv)
{
	struct config cfg;
	struct bot_err err = {""};
	const char *sub;
	int rc = EXIT_FAILURE;

	config_init(&cfg);
	if (config_parse_args(&cfg, argc, argv, &err) < 0 ||
	    config_load(&cfg, &err) < 0)
		goto fail;
	sub = cfg.subcommand;
	if (strcmp(sub, "help") == 0) {
		fputs(usage, stdout);
		rc = EXIT_SUCCESS;
	} else if (strcmp(sub, "serve") == 0) {
		if (serve(&cfg, &err) < 0)
			goto fail;
		rc = EXIT_SUCCESS;
	} else if (strcmp(sub, "check") == 0) {
		rc = cmd_check(&cfg, stdout);
	} else if (strcmp(sub, "classify") == 0) {
		rc = cmd_classify(&cfg, stdin, stdout);
	} else if (strcmp(sub, "replay") == 0) {
		rc = cfg.against ? logtools_replay_against(&cfg, stdout)
				 : cmd_replay(&cfg, stdout);
	} else if (strcmp(sub, "export-log") == 0) {
		rc = logtools_export_log(&cfg, stdout);
	} else if (strcmp(sub, "unmatched") == 0) {
		rc = logtools_unmatched(&cfg, stdout);
	} else if (strcmp(sub, "scripts") == 0) {
		rc = cmd_scripts(&cfg, stdout);
	} else {
		fprintf(stderr, "xiaoer: unknown subcommand '%s'\n%s", sub,
			usage);
		rc = 2;
	}
	goto out;
fail:
	fprintf(stderr, "xiaoer: %s\n", err.msg);
out:
	config_release(&cfg);
	return rc;
}
