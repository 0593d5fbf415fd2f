/*
 * store.h - the SQLite store: the only module with SQL.
 *
 * The store speaks in domain operations.  The file is opened in WAL mode
 * and migrated forward with PRAGMA user_version at store_open().  Writes
 * from the server go through one writer thread with its own connection:
 * store_submit_turn() copies a turn into a bounded queue, the writer commits
 * whatever is queued in one transaction (group commit), pushes the results
 * onto a done list and calls the notify function, which the server uses to
 * wake its loop (lws_cancel_service).  The server then takes the results
 * with store_take_done() and only then sends the replies, so an answered
 * message is already on disk.  A checkpointer thread, started with the
 * writer, copies the WAL into the database in the background.
 *
 * Thread rules: store_submit_turn() and store_take_done() are called by one
 * thread (the loop); the notify function runs on the writer thread (under
 * SCHED_BATCH on Linux, so that waking it does not preempt the loop).
 * Every other function is for one thread with no writer running (offline
 * commands, tests, start-up).
 */
#ifndef BOT_STORE_H
#define BOT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bot_err;
struct store;

struct store_options {
	bool sync_full;	  /* PRAGMA synchronous=FULL, else NORMAL */
	int max_mb;	  /* cap the file (max_page_count); 0 = none */
	size_t queue_max; /* writer queue limit in turns; 0 = 65536 */
	/* WAL checkpoints while the writer runs (0 = the default; tests and
	 * storebench change them).  A checkpointer thread copies the WAL
	 * into the database every ckpt_pages pages of WAL and after the
	 * writer has been idle for idle_ckpt_ms; when the WAL reaches
	 * wal_max_pages all the same, the writer finishes the checkpoint
	 * itself so that the WAL starts over. */
	int ckpt_pages;	   /* default 1024 */
	int wal_max_pages; /* default 4 * ckpt_pages */
	int idle_ckpt_ms;  /* default 100 */
};

/* One buyer message and what the bot did with it.  All strings borrowed
 * for the call; store_submit_turn() copies them.  NULL means none. */
struct store_turn {
	const char *buyer;	/* buyer id (conversation key), required */
	const char *msg_id;	/* client's message id */
	const char *text;	/* buyer's text, or "[button] payload" */
	const char *normalized; /* normalised text (for unmatched) */
	int64_t at_ms;		/* when the message arrived */
	const char *intent;
	const char *topic;
	const char *action; /* reply | clarify | escalate | complaint */
	const char *script; /* "id@version" */
	const char *reply;  /* bot's reply text */
	int64_t reply_ms;
	bool unmatched;		/* also record in the unmatched table */
	const char *escalation; /* reason: request|misses|repeat|complaint|
				   needs_human, or NULL */
	/* the conversation after this turn */
	const char *state; /* bot | queued | agent | closed */
	int misses;
	const char *last_intent;
	const char *order_id;
	const char *pending_intent; /* the slot asked for, and for which */
	const char *pending_slot;
	const char *item;      /* the product talked about */
	const char *last_text; /* the message, normalised, at most 95 bytes */
	void *user;	       /* handed back by store_take_done() */
};

/* A conversation as last committed (store_load_conversation). */
struct store_conversation {
	char state[16]; /* bot | queued | agent | closed */
	int misses;
	long turns;
	int64_t created_ms, updated_ms;
	char last_intent[64], order_id[64], pending_intent[64],
		pending_slot[64], item[64]; /* "" when none */
	char last_text[96];		    /* "" when none */
};

struct store_done {
	void *user;
	bool ok; /* false: not stored (disk full, I/O error) */
};

/*
 * What the writer and the checkpointer did in the background, since the
 * store was opened: for the log (store_health_news) and /metrics.
 */
struct store_health {
	unsigned long batches_ok;
	unsigned long batches_failed; /* rolled back: their buyers were told
				       * to send again */
	unsigned long turns_failed;   /* in those batches */
	unsigned long ckpts_ok;
	unsigned long ckpts_failed; /* the WAL keeps the data, and grows */
	char error[256];	    /* the latest failure's, "" if none */
};

/* What the log was told last (zero it to start). */
struct store_health_log {
	struct store_health said;
	int64_t said_ms; /* when, 0: never */
	bool batches_failing, ckpts_failing;
};

#define STORE_HEALTH_LOG_MS 10000 /* one line at most this often */

/* Counts for tests, /metrics and offline reports. */
struct store_counts {
	long conversations;
	long messages;
	long unmatched;
	long escalations;
};

/* One stored message line, for store_foreach_message(). */
struct store_message {
	int64_t id;
	const char *buyer;
	const char *role; /* buyer | bot | agent */
	const char *msg_id;
	const char *text;
	const char *intent;
	const char *topic;
	const char *action;
	const char *script;
	int64_t at_ms;
};

/* One group of unmatched messages, for store_foreach_unmatched_group(). */
struct store_unmatched {
	const char *normalized; /* the normalised form the group shares */
	const char *example;	/* the original text seen last */
	long count;		/* messages in the group */
	int64_t last_ms;	/* when the last one arrived */
};

/* Totals of the unmatched table, for the summary under the groups. */
struct store_unmatched_totals {
	long messages;
	long groups; /* distinct normalised forms */
};

typedef void store_notify_fn(void *arg);
typedef int store_message_fn(void *ctx, const struct store_message *m);
typedef int store_unmatched_fn(void *ctx, const struct store_unmatched *u);

/* Open (creating dirs' file if needed) and migrate.  NULL + err. */
struct store *store_open(const char *path, const struct store_options *opt,
			 struct bot_err *err);

/* Start the writer thread.  'fn' runs on it after each batch. */
int store_start_writer(struct store *st, store_notify_fn *fn, void *arg,
		       struct bot_err *err);

/* Queue a turn for the writer (copies it).  -1 when the queue is full. */
int store_submit_turn(struct store *st, const struct store_turn *t);

/* Take up to 'max' finished turns, in submission order.  Returns count. */
size_t store_take_done(struct store *st, struct store_done *out, size_t max);

/*
 * The conversation of 'buyer' as last committed, on the opener's
 * connection (the service thread, a short read): 1 and 'out' filled, 0
 * when there is none, -1 + err.  Turns still queued for the writer are
 * not in it.
 */
int store_load_conversation(struct store *st, const char *buyer,
			    struct store_conversation *out,
			    struct bot_err *err);

/* A copy of the counts, taken under the lock. */
void store_health(struct store *st, struct store_health *out);

/*
 * A line for the log at 'now_ms' about 'now' against what 'log' said:
 * failures since (at most one line per STORE_HEALTH_LOG_MS while they go
 * on: the ones in between are counted into the next), or that batches or
 * checkpoints succeed again after failing.  Returns false when there is
 * nothing to say.  Pure: the server calls it from a timer.
 */
bool store_health_news(struct store_health_log *log,
		       const struct store_health *now, int64_t now_ms,
		       char *line, size_t cap);

/* Block until everything queued so far is committed (or failed). */
void store_flush(struct store *st);

/* Write one turn synchronously on the caller's thread (no writer running). */
int store_write_turn(struct store *st, const struct store_turn *t,
		     struct bot_err *err);

int store_counts(struct store *st, struct store_counts *out,
		 struct bot_err *err);

/* Call 'fn' for each message with at_ms >= since_ms, oldest first; stops
 * early and returns fn's value if it is non-zero. */
int store_foreach_message(struct store *st, int64_t since_ms,
			  store_message_fn *fn, void *ctx);

/*
 * Call 'fn' for each buyer line (role 'buyer') with since_ms <= at_ms <
 * until_ms, ordered by buyer, then by id (arrival order): the turns of one
 * conversation come together, oldest first.  Strings valid only during
 * the call.  Stops early and returns fn's value if it is non-zero; -1 on
 * a database error.
 */
int store_foreach_buyer_message(struct store *st, int64_t since_ms,
				int64_t until_ms, store_message_fn *fn,
				void *ctx);

/*
 * Call 'fn' for the groups of unmatched messages with at_ms >= since_ms,
 * grouped by normalised form, the most frequent first (ties: seen last
 * first, then by form), at most 'limit' groups (limit < 0: all).  Strings
 * valid only during the call.  Returns like store_foreach_buyer_message().
 */
int store_foreach_unmatched_group(struct store *st, int64_t since_ms,
				  long limit, store_unmatched_fn *fn,
				  void *ctx);

/* Messages and distinct forms in the unmatched table since 'since_ms'. */
int store_unmatched_totals(struct store *st, int64_t since_ms,
			   struct store_unmatched_totals *out,
			   struct bot_err *err);

/* Schema version after migrations (PRAGMA user_version). */
int store_schema_version(struct store *st);

/* Flush and stop the writer, finalize statements, close.  NULL is a no-op. */
void store_close(struct store *st);

#endif /* BOT_STORE_H */
