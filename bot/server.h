/*
 * server.h - the lws shell: one service thread runs every connection.
 */
#ifndef BOT_SERVER_H
#define BOT_SERVER_H

#include "dialog.h"

struct bot_err;
struct config;
struct content;
struct store;

/* Process lifetime: made in main(), outlives the lws context. */
struct bot {
	struct config *cfg;
	struct content *content; /* replaced by SIGHUP reloads */
	struct store *store;	 /* writer started by server_run */
	struct dialog_policy policy;
};

/*
 * Serve until SIGINT or SIGTERM, then drain: refuse new work, commit what
 * is queued, send the replies, close every connection with 1001.  SIGHUP
 * reloads the content (the old set stays live on any error).  Returns 0,
 * or -1 with 'err' filled when the server could not start.
 */
int server_run(struct bot *bot, struct bot_err *err);

#endif /* BOT_SERVER_H */
