/*
 * store.c - see store.h.
 *
 * Connections.  store_open() opens the main connection, migrates the file
 * and prepares every statement once; store_start_writer() opens a second
 * connection for the writer thread and prepares the same set there, and a
 * third, without statements, for the checkpointer thread.  Each
 * connection is used by one thread at a time, so all are opened with
 * SQLITE_OPEN_NOMUTEX.  Statements never leave this file: each use binds
 * every parameter, steps and resets at once, so no statement keeps a read
 * or write transaction open between calls.
 *
 * SQL.  All of it is in this file as string constants.  Values are bound,
 * never spliced, with one exception: PRAGMA max_page_count cannot take a
 * parameter, so its integer argument (from the operator's config, never
 * from the network) is formatted with sqlite3_snprintf("%lld").
 *
 * The writer queue.  store_submit_turn() copies a turn into one allocation
 * (struct qturn, strings packed after it) and appends it to a FIFO under
 * st->lock.  opt->queue_max bounds every turn the store holds for the
 * caller: queued, being written, or finished and not yet taken with
 * store_take_done().  So the done list is bounded too, and a loop that
 * stops draining results sees -1 instead of unbounded growth.
 *
 * Turns may be submitted before store_start_writer(): they just wait in
 * the queue (up to queue_max).  The writer takes them when it starts.  If
 * no writer is ever started, store_flush() and store_close() write them
 * on the main connection, in the caller's thread, in the same batches.
 *
 * The writer takes everything queued (at most STORE_BATCH_MAX turns),
 * writes it in one BEGIN IMMEDIATE ... COMMIT without holding the lock,
 * and on any failure rolls the whole batch back and reports every turn of
 * it as not stored.  Then it appends the results to the done list under
 * the lock, frees the copies and calls notify once, outside the lock.
 *
 * Results still on the done list at store_close() are dropped: their user
 * pointers belong to the caller, who drains them with store_take_done()
 * before closing.
 *
 * Checkpoints.  SQLite's auto-checkpoint would copy the WAL into the
 * database inside a COMMIT every 1000 pages, two fsyncs included, while
 * the batch's buyers wait.  On the writer's connection a WAL hook
 * replaces it (see after_commit): a checkpointer thread with its own
 * connection makes passive passes, which never block the writer, every
 * ckpt_pages pages of WAL and once the writer has been idle for
 * idle_ckpt_ms; the writer only ever checkpoints itself, after its
 * notify, to let the WAL start over when it has grown to wal_max_pages.
 * A checkpoint that fails loses nothing: the frames stay in the WAL.
 * Acknowledged turns are exactly as durable as before: committed to the
 * WAL (fsynced with db_sync full) before the notify.
 *
 * Cost per turn.  Measured with tests/bench/storebench.c; the reasons
 * for the choices are next to them: schema version 2, writer_settings(),
 * tune_sqlite(), sched_policy(), linger(), ST_INSERT_EXCHANGE.
 */
#include "store.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <sqlite3.h>

#define STORE_QUEUE_DEFAULT   65536 /* turns, when queue_max is 0 */
#define STORE_BATCH_MAX	      1024  /* turns per group commit */
#define STORE_BUSY_MS	      5000  /* sqlite3_busy_timeout */
#define STORE_CKPT_PAGES      1024  /* WAL pages per background checkpoint */
#define STORE_WAL_MAX_RATIO   4	    /* wal_max_pages = 4 * ckpt_pages */
#define STORE_IDLE_CKPT_MS    100   /* writer idle this long: checkpoint */
#define STORE_LINGER_US	      300   /* group commit: see linger() */
#define STORE_LINGER_TURNS    32
#define STORE_LINGER_DENSE_US 1000
#define STORE_PAGES_MAX	      (INT_MAX / 8) /* 2 * 4 * ckpt_pages fits */

/* Linux's SCHED_BATCH and SCHED_IDLE, which <sched.h> names only with
 * _GNU_SOURCE. */
#ifdef __linux__
#define STORE_SCHED_BATCH 3
#define STORE_SCHED_IDLE  5
#endif

/*
 * Forward migrations.  migrations[i] takes the schema from version i to
 * i + 1 and must end by setting PRAGMA user_version to i + 1; migrate()
 * runs it in one transaction and checks the bump.  Append only: never
 * edit a migration that has shipped.
 */
static const char *const migrations[] = {
	/* 1: conversations, messages, unmatched, escalations */
	"CREATE TABLE conversations ("
	"  buyer TEXT PRIMARY KEY,"
	"  state TEXT NOT NULL,"
	"  misses INTEGER NOT NULL DEFAULT 0,"
	"  last_intent TEXT,"
	"  order_id TEXT,"
	"  turns INTEGER NOT NULL DEFAULT 0,"
	"  created_ms INTEGER NOT NULL,"
	"  updated_ms INTEGER NOT NULL"
	");"
	"CREATE TABLE messages ("
	"  id INTEGER PRIMARY KEY,"
	"  buyer TEXT NOT NULL,"
	"  role TEXT NOT NULL CHECK (role IN ('buyer', 'bot', 'agent')),"
	"  msg_id TEXT,"
	"  text TEXT NOT NULL,"
	"  intent TEXT,"
	"  topic TEXT,"
	"  action TEXT,"
	"  script TEXT,"
	"  at_ms INTEGER NOT NULL"
	");"
	"CREATE INDEX messages_buyer ON messages (buyer, id);"
	"CREATE INDEX messages_at ON messages (at_ms);"
	"CREATE TABLE unmatched ("
	"  id INTEGER PRIMARY KEY,"
	"  buyer TEXT NOT NULL,"
	"  text TEXT NOT NULL,"
	"  normalized TEXT NOT NULL,"
	"  at_ms INTEGER NOT NULL"
	");"
	"CREATE INDEX unmatched_normalized ON unmatched (normalized);"
	"CREATE TABLE escalations ("
	"  id INTEGER PRIMARY KEY,"
	"  buyer TEXT NOT NULL,"
	"  reason TEXT NOT NULL,"
	"  status TEXT NOT NULL DEFAULT 'pending'"
	"    CHECK (status IN ('pending', 'claimed', 'resolved',"
	"                      'cancelled')),"
	"  at_ms INTEGER NOT NULL"
	");"
	"CREATE INDEX escalations_status ON escalations (status, at_ms);"
	"PRAGMA user_version = 1;",

	/*
	 * 2: cheaper turns.  messages_buyer went: no statement reads through
	 * it, and each commit rewrote one of its leaf pages per distinct
	 * buyer in the batch (a random key), which was half the writer's
	 * cost.  conversations becomes WITHOUT ROWID: the upsert of every
	 * turn then updates one B-tree instead of the table and its
	 * automatic index on buyer.  Columns and data are unchanged.
	 */
	"DROP INDEX messages_buyer;"
	"CREATE TABLE conversations_v2 ("
	"  buyer TEXT PRIMARY KEY,"
	"  state TEXT NOT NULL,"
	"  misses INTEGER NOT NULL DEFAULT 0,"
	"  last_intent TEXT,"
	"  order_id TEXT,"
	"  turns INTEGER NOT NULL DEFAULT 0,"
	"  created_ms INTEGER NOT NULL,"
	"  updated_ms INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"INSERT INTO conversations_v2 (buyer, state, misses, last_intent,"
	"  order_id, turns, created_ms, updated_ms)"
	" SELECT buyer, state, misses, last_intent, order_id, turns,"
	"  created_ms, updated_ms FROM conversations;"
	"DROP TABLE conversations;"
	"ALTER TABLE conversations_v2 RENAME TO conversations;"
	"PRAGMA user_version = 2;",

	/*
	 * 3: what a conversation needs to go on after a restart: the slot
	 * the bot asked for (and for which intent) and the product talked
	 * about.  NULL when none, which costs a byte a row.
	 */
	"ALTER TABLE conversations ADD COLUMN pending_intent TEXT;"
	"ALTER TABLE conversations ADD COLUMN pending_slot TEXT;"
	"ALTER TABLE conversations ADD COLUMN item TEXT;"
	"PRAGMA user_version = 3;",

	/*
	 * 4: the buyer's last message (normalised, as the dialog keeps it,
	 * at most 95 bytes), so that the same question asked again right
	 * after a restart is still seen as a repeat (escalate_on_repeat).
	 */
	("ALTER TABLE conversations ADD COLUMN last_text TEXT;"
	 "PRAGMA user_version = 4;"),
};

/* Statements prepared on every connection at open. */
enum stmt_id {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_UPSERT_CONVERSATION,
	ST_LOAD_CONVERSATION,
	ST_INSERT_BUYER_LINE,
	ST_INSERT_EXCHANGE,
	ST_INSERT_UNMATCHED,
	ST_INSERT_ESCALATION,
	ST_COUNTS,
	ST_MESSAGES_SINCE,
	ST_BUYER_MESSAGES,
	ST_UNMATCHED_GROUPS,
	ST_UNMATCHED_TOTALS,
	ST_USER_VERSION,
	ST_NR
};

/*
 * The writes say OR ROLLBACK: a statement that fails ends the whole
 * transaction, which write_batch() does after any error anyway.  With the
 * default (ABORT) SQLite must be able to undo just the failed statement,
 * so a statement that may write several rows (the upsert, the two lines
 * of an exchange) copies every page it touches into a statement journal
 * first: 11 % of the writer's CPU (storebench, 4.97 -> 4.42 us a turn).
 */
static const char *const stmt_sql[ST_NR] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_UPSERT_CONVERSATION] =
		"INSERT OR ROLLBACK INTO conversations (buyer, state, misses,"
		"  last_intent, order_id, turns, created_ms, updated_ms,"
		"  pending_intent, pending_slot, item, last_text)"
		" VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?6, ?7, ?8, ?9, ?10)"
		" ON CONFLICT (buyer) DO UPDATE SET"
		"  state = excluded.state,"
		"  misses = excluded.misses,"
		"  last_intent = excluded.last_intent,"
		"  order_id = excluded.order_id,"
		"  turns = turns + 1,"
		"  updated_ms = excluded.updated_ms,"
		"  pending_intent = excluded.pending_intent,"
		"  pending_slot = excluded.pending_slot,"
		"  item = excluded.item,"
		"  last_text = excluded.last_text",
	[ST_LOAD_CONVERSATION] =
		"SELECT state, misses, last_intent, order_id, turns,"
		"  created_ms, updated_ms, pending_intent, pending_slot, item,"
		"  last_text"
		" FROM conversations WHERE buyer = ?1",
	/* A turn's lines: the buyer's alone, or with the bot's reply in the
	 * same statement (same rows and ids as two inserts).  The roles are
	 * in the SQL; ?1 to ?8 mean the same in both. */
	[ST_INSERT_BUYER_LINE] =
		"INSERT OR ROLLBACK INTO messages (buyer, role, msg_id, text,"
		"  intent, topic, action, script, at_ms)"
		" VALUES (?1, 'buyer', ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[ST_INSERT_EXCHANGE] =
		"INSERT OR ROLLBACK INTO messages (buyer, role, msg_id, text,"
		"  intent, topic, action, script, at_ms)"
		" VALUES (?1, 'buyer', ?2, ?3, ?4, ?5, ?6, ?7, ?8),"
		"  (?1, 'bot', NULL, ?9, ?4, ?5, ?6, ?7, ?10)",
	[ST_INSERT_UNMATCHED] =
		"INSERT OR ROLLBACK INTO unmatched (buyer, text, normalized,"
		"  at_ms)"
		" VALUES (?1, ?2, ?3, ?4)",
	[ST_INSERT_ESCALATION] =
		"INSERT OR ROLLBACK INTO escalations (buyer, reason, at_ms)"
		" VALUES (?1, ?2, ?3)",
	[ST_COUNTS] = "SELECT (SELECT count(*) FROM conversations),"
		      "  (SELECT count(*) FROM messages),"
		      "  (SELECT count(*) FROM unmatched),"
		      "  (SELECT count(*) FROM escalations)",
	[ST_MESSAGES_SINCE] =
		"SELECT id, buyer, role, msg_id, text, intent, topic,"
		"  action, script, at_ms"
		" FROM messages WHERE at_ms >= ?1 ORDER BY id",
	[ST_BUYER_MESSAGES] =
		"SELECT id, buyer, role, msg_id, text, intent, topic,"
		"  action, script, at_ms"
		" FROM messages"
		" WHERE role = 'buyer' AND at_ms >= ?1 AND at_ms < ?2"
		" ORDER BY buyer, id",
	/* With exactly one max() in the query, SQLite takes the bare
	 * column 'text' from the row holding the max: the latest example
	 * (https://sqlite.org/lang_select.html#bareagg). */
	[ST_UNMATCHED_GROUPS] =
		"SELECT normalized, text, count(*) AS n, max(at_ms) AS last"
		" FROM unmatched WHERE at_ms >= ?1"
		" GROUP BY normalized"
		" ORDER BY n DESC, last DESC, normalized"
		" LIMIT ?2",
	[ST_UNMATCHED_TOTALS] = "SELECT count(*), count(DISTINCT normalized)"
				" FROM unmatched WHERE at_ms >= ?1",
	[ST_USER_VERSION] = "PRAGMA user_version",
};

struct conn {
	sqlite3 *db;
	sqlite3_stmt *stmt[ST_NR];
};

/* A submitted turn: the struct and every string in one allocation. */
struct qturn {
	struct qturn *next;
	struct store_turn t; /* strings point into buf */
	char buf[];
};

/* The string members of struct store_turn, for copying. */
static const size_t turn_strings[] = {
	offsetof(struct store_turn, buyer),
	offsetof(struct store_turn, msg_id),
	offsetof(struct store_turn, text),
	offsetof(struct store_turn, normalized),
	offsetof(struct store_turn, intent),
	offsetof(struct store_turn, topic),
	offsetof(struct store_turn, action),
	offsetof(struct store_turn, script),
	offsetof(struct store_turn, reply),
	offsetof(struct store_turn, escalation),
	offsetof(struct store_turn, state),
	offsetof(struct store_turn, last_intent),
	offsetof(struct store_turn, order_id),
	offsetof(struct store_turn, pending_intent),
	offsetof(struct store_turn, pending_slot),
	offsetof(struct store_turn, item),
	offsetof(struct store_turn, last_text),
};

struct store {
	char *path;
	struct store_options opt;
	struct conn main;   /* the opener's connection */
	struct conn writer; /* the writer thread's connection */
	struct conn ckpt;   /* the checkpointer thread's connection */
	bool writer_running;
	bool ckpt_running;
	pthread_t thread;
	pthread_t ckpt_thread;
	store_notify_fn *notify;
	void *notify_arg;
	size_t queue_max; /* from opt, never changes */
	int ckpt_pages, wal_max_pages, idle_ckpt_ms; /* from opt */

	/* The writer thread's own: the WAL as its commits left it. */
	int wal_frames;		/* pages in the WAL after the last commit */
	int wal_seen;		/* wal_frames at the previous look */
	int ckpt_asked_at;	/* wal_frames when a pass was last asked for */
	int wal_retry_at;	/* wal_frames at which the writer checkpoints */
	bool wal_dirty;		/* committed since the last idle checkpoint */
	int64_t last_commit_ns; /* when the last batch was committed */

	/* Everything below is protected by 'lock'. */
	pthread_mutex_t lock;
	pthread_cond_t work;	   /* the queue grew, or stop was set */
	pthread_cond_t idle;	   /* the writer finished a batch */
	struct qturn *head, *tail; /* submitted, not yet being written */
	size_t queued;		   /* turns from head to tail */
	bool lingering;		   /* the writer waits for more turns */
	size_t held; /* queued + being written + done, not yet taken */
	bool busy;   /* the writer is between taking a batch and idle */
	bool stop;
	struct store_done *done; /* results from done_head to done_len */
	size_t done_head, done_len, done_alloc;
	pthread_cond_t ckpt_work; /* a pass was asked for, or ckpt_stop */
	bool ckpt_request;	  /* the checkpointer should make a pass */
	bool ckpt_active;	  /* a checkpoint is running (either thread) */
	bool ckpt_stop;
	pthread_cond_t ckpt_idle;  /* a checkpoint ended */
	unsigned long ckpt_passes; /* checkpoints ended, by either thread */
	/* The writer's, under the lock: the pass asked for at wal_max_pages
	 * is over once ckpt_passes reaches final_passes. */
	bool final_asked;
	unsigned long final_passes;
	struct store_health health;
};

/* --- statements --------------------------------------------------------- */

static const char *
req(const char *s)
{
	return s ? s : "";
}

/* Bind a string, or SQL NULL for a NULL pointer. */
static int
bind_str(sqlite3_stmt *s, int i, const char *v)
{
	if (v == NULL)
		return sqlite3_bind_null(s, i);
	return sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

/* Run a statement that returns no rows, and reset it.  SQLITE_OK or error. */
static int
step_done(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Run a one-shot statement returning one integer (a PRAGMA). */
static int
query_int(sqlite3 *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *s = NULL;
	int rc;

	rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK)
		goto out;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(s, 0);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_ERROR;
	}
out:
	sqlite3_finalize(s);
	return rc;
}

/* --- connections -------------------------------------------------------- */

static bool
is_memory(const char *path)
{
	return path[0] == '\0' || strcmp(path, ":memory:") == 0;
}

/* Create the parent directory of 'path' if it is missing (one level). */
static int
make_parent(const char *path, struct bot_err *err)
{
	const char *slash = strrchr(path, '/');
	struct stat sb;
	char *dir;
	int rc = 0;

	if (slash == NULL || slash == path)
		return 0;
	dir = xstrndup(path, (size_t)(slash - path));
	if (stat(dir, &sb) < 0 && mkdir(dir, 0750) < 0 && errno != EEXIST)
		rc = bot_errf(err,
			      "cannot open database '%s': "
			      "cannot create directory '%s': %s",
			      path, dir, strerror(errno));
	free(dir);
	return rc;
}

/* Turn on WAL; fails unless the file really is in WAL mode afterwards. */
static int
set_wal(sqlite3 *db, const char *path, struct bot_err *err)
{
	sqlite3_stmt *s = NULL;
	const char *mode;
	int rc;

	rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &s, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		rc = bot_errf(err, "cannot open database '%s': %s", path,
			      sqlite3_errmsg(db));
		goto out;
	}
	mode = (const char *)sqlite3_column_text(s, 0);
	if (mode == NULL || strcmp(mode, "wal") != 0) {
		rc = bot_errf(err,
			      "cannot open database '%s': "
			      "journal mode is '%s', not 'wal'",
			      path, mode ? mode : "");
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(s);
	return rc;
}

static int
set_max_pages(sqlite3 *db, int max_mb)
{
	char sql[64];
	int64_t page_size = 0, pages;
	int rc;

	rc = query_int(db, "PRAGMA page_size", &page_size);
	if (rc != SQLITE_OK)
		return rc;
	if (page_size <= 0)
		return SQLITE_ERROR;
	pages = (int64_t)max_mb * 1024 * 1024 / page_size;
	if (pages < 1)
		pages = 1;
	sqlite3_snprintf(sizeof(sql), sql, "PRAGMA max_page_count = %lld",
			 (long long)pages);
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/* Open 'path' and apply the per-connection settings. */
static int
conn_open(struct conn *c, const char *path, const struct store_options *opt,
	  struct bot_err *err)
{
	const char *sync;
	int rc;

	memset(c, 0, sizeof(*c));
	rc = sqlite3_open_v2(path, &c->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				     SQLITE_OPEN_NOMUTEX,
			     NULL);
	if (rc != SQLITE_OK) {
		bot_errf(err, "cannot open database '%s': %s", path,
			 c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_busy_timeout(c->db, STORE_BUSY_MS);
	if (!is_memory(path) && set_wal(c->db, path, err) < 0)
		goto fail;
	sync = opt->sync_full ? "PRAGMA synchronous = FULL"
			      : "PRAGMA synchronous = NORMAL";
	rc = sqlite3_exec(c->db, sync, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(c->db, "PRAGMA foreign_keys = ON", NULL, NULL,
				  NULL);
	if (rc == SQLITE_OK && opt->max_mb > 0)
		rc = set_max_pages(c->db, opt->max_mb);
	if (rc != SQLITE_OK) {
		bot_errf(err, "cannot open database '%s': %s", path,
			 sqlite3_errmsg(c->db));
		goto fail;
	}
	return 0;
fail:
	sqlite3_close(c->db);
	c->db = NULL;
	return -1;
}

/*
 * SQLite keeps memory statistics under a global mutex taken on every
 * allocation (5 % of the writer's time); nothing here reads them.  It
 * can only be turned off before SQLite's first use in the process, so
 * the first store_open() tries once and a refusal changes nothing.
 */
static void
tune_sqlite(void)
{
	static bool tried;

	if (!tried)
		sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	tried = true;
}

static int
conn_prepare(struct conn *c, const char *path, struct bot_err *err)
{
	size_t i;

	for (i = 0; i < ST_NR; i++)
		if (sqlite3_prepare_v3(c->db, stmt_sql[i], -1,
				       SQLITE_PREPARE_PERSISTENT, &c->stmt[i],
				       NULL) != SQLITE_OK)
			return bot_errf(err,
					"cannot prepare statement %zu on "
					"database '%s': %s",
					i, path, sqlite3_errmsg(c->db));
	return 0;
}

static void
conn_close(struct conn *c)
{
	size_t i;

	for (i = 0; i < ST_NR; i++) {
		sqlite3_finalize(c->stmt[i]);
		c->stmt[i] = NULL;
	}
	sqlite3_close(c->db);
	c->db = NULL;
}

/* Bring the schema up to date, one transaction per migration. */
static int
migrate(struct conn *c, const char *path, struct bot_err *err)
{
	const int known = (int)ARRAY_SIZE(migrations);
	int64_t v, after;

	for (;;) {
		/* Read the version inside the write transaction, so two
		 * processes opening a new file cannot both migrate it. */
		if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
			    SQLITE_OK ||
		    query_int(c->db, "PRAGMA user_version", &v) != SQLITE_OK) {
			bot_errf(err, "cannot open database '%s': %s", path,
				 sqlite3_errmsg(c->db));
			goto fail;
		}
		if (v > known || v < 0) {
			bot_errf(err,
				 "database '%s' has schema version %lld, "
				 "this xiaoer knows %d",
				 path, (long long)v, known);
			goto fail;
		}
		if (v == known)
			break;
		if (sqlite3_exec(c->db, migrations[v], NULL, NULL, NULL) !=
		    SQLITE_OK) {
			bot_errf(err,
				 "cannot migrate database '%s' to version "
				 "%lld: %s",
				 path, (long long)v + 1, sqlite3_errmsg(c->db));
			goto fail;
		}
		if (query_int(c->db, "PRAGMA user_version", &after) !=
			    SQLITE_OK ||
		    after != v + 1) {
			bot_errf(err,
				 "cannot migrate database '%s' to version "
				 "%lld: the migration did not set it",
				 path, (long long)v + 1);
			goto fail;
		}
		if (sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) !=
		    SQLITE_OK) {
			bot_errf(err,
				 "cannot migrate database '%s' to version "
				 "%lld: %s",
				 path, (long long)v + 1, sqlite3_errmsg(c->db));
			goto fail;
		}
	}
	if (sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		bot_errf(err, "cannot open database '%s': %s", path,
			 sqlite3_errmsg(c->db));
		goto fail;
	}
	return 0;
fail:
	if (!sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/* --- writing turns ------------------------------------------------------ */

/* The turn's message lines: the buyer's, and the bot's reply if any. */
static int
insert_lines(struct conn *c, const struct store_turn *t)
{
	sqlite3_stmt *s =
		c->stmt[t->reply ? ST_INSERT_EXCHANGE : ST_INSERT_BUYER_LINE];
	int rc;

	rc = bind_str(s, 1, req(t->buyer));
	if (rc == SQLITE_OK)
		rc = bind_str(s, 2, t->msg_id);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 3, req(t->text));
	if (rc == SQLITE_OK)
		rc = bind_str(s, 4, t->intent);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 5, t->topic);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 6, t->action);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 7, t->script);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 8, t->at_ms);
	if (rc == SQLITE_OK && t->reply != NULL)
		rc = bind_str(s, 9, t->reply);
	if (rc == SQLITE_OK && t->reply != NULL)
		rc = sqlite3_bind_int64(s, 10, t->reply_ms);
	if (rc == SQLITE_OK)
		rc = step_done(s);
	return rc;
}

/* Write one turn inside the caller's transaction.  SQLITE_OK or error. */
static int
write_one(struct conn *c, const struct store_turn *t)
{
	sqlite3_stmt *s;
	int rc;

	s = c->stmt[ST_UPSERT_CONVERSATION];
	rc = bind_str(s, 1, req(t->buyer));
	if (rc == SQLITE_OK)
		rc = bind_str(s, 2, req(t->state));
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(s, 3, t->misses);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 4, t->last_intent);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 5, t->order_id);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 6, t->at_ms);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 7, t->pending_intent);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 8, t->pending_slot);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 9, t->item);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 10, t->last_text);
	if (rc == SQLITE_OK)
		rc = step_done(s);
	if (rc != SQLITE_OK)
		return rc;

	rc = insert_lines(c, t);
	if (rc != SQLITE_OK)
		return rc;

	if (t->unmatched) {
		s = c->stmt[ST_INSERT_UNMATCHED];
		rc = bind_str(s, 1, req(t->buyer));
		if (rc == SQLITE_OK)
			rc = bind_str(s, 2, req(t->text));
		if (rc == SQLITE_OK)
			rc = bind_str(s, 3, req(t->normalized));
		if (rc == SQLITE_OK)
			rc = sqlite3_bind_int64(s, 4, t->at_ms);
		if (rc == SQLITE_OK)
			rc = step_done(s);
		if (rc != SQLITE_OK)
			return rc;
	}

	if (t->escalation != NULL) {
		s = c->stmt[ST_INSERT_ESCALATION];
		rc = bind_str(s, 1, req(t->buyer));
		if (rc == SQLITE_OK)
			rc = bind_str(s, 2, t->escalation);
		if (rc == SQLITE_OK)
			rc = sqlite3_bind_int64(s, 3, t->at_ms);
		if (rc == SQLITE_OK)
			rc = step_done(s);
	}
	return rc;
}

/*
 * Write the turns of the list 'q' in one transaction.  On failure nothing
 * of the batch stays: the transaction is rolled back (if SQLite has not
 * already done so) and 'err', if not NULL, says why.
 */
static int
write_batch(struct conn *c, const struct qturn *q, const char *path,
	    struct bot_err *err)
{
	int rc;

	rc = step_done(c->stmt[ST_BEGIN]);
	for (; rc == SQLITE_OK && q != NULL; q = q->next)
		rc = write_one(c, &q->t);
	if (rc == SQLITE_OK)
		rc = step_done(c->stmt[ST_COMMIT]);
	if (rc == SQLITE_OK)
		return 0;
	bot_errf(err, "cannot write to database '%s': %s", path,
		 sqlite3_errmsg(c->db));
	if (!sqlite3_get_autocommit(c->db))
		step_done(c->stmt[ST_ROLLBACK]);
	return -1;
}

int
store_write_turn(struct store *st, const struct store_turn *t,
		 struct bot_err *err)
{
	struct qturn q = {.next = NULL, .t = *t};

	return write_batch(&st->main, &q, st->path, err);
}

/* --- the writer --------------------------------------------------------- */

static struct qturn *
copy_turn(const struct store_turn *t)
{
	struct qturn *q;
	const char *s;
	size_t i, n, size = 0;
	char *p;

	for (i = 0; i < ARRAY_SIZE(turn_strings); i++) {
		s = *(const char *const *)((const char *)t + turn_strings[i]);
		if (s != NULL)
			size += strlen(s) + 1;
	}
	q = xmalloc(sizeof(*q) + size);
	q->next = NULL;
	q->t = *t;
	p = q->buf;
	for (i = 0; i < ARRAY_SIZE(turn_strings); i++) {
		const char **field =
			(const char **)((char *)&q->t + turn_strings[i]);

		if (*field == NULL)
			continue;
		n = strlen(*field) + 1;
		memcpy(p, *field, n);
		*field = p;
		p += n;
	}
	return q;
}

int
store_submit_turn(struct store *st, const struct store_turn *t)
{
	struct qturn *q = copy_turn(t);

	pthread_mutex_lock(&st->lock);
	if (st->held >= st->queue_max) {
		pthread_mutex_unlock(&st->lock);
		free(q);
		return -1;
	}
	if (st->tail)
		st->tail->next = q;
	else
		st->head = q;
	st->tail = q;
	st->held++;
	st->queued++;
	/* A lingering writer is woken only when its batch is full. */
	if (!st->lingering || st->queued >= STORE_LINGER_TURNS)
		pthread_cond_signal(&st->work);
	pthread_mutex_unlock(&st->lock);
	return 0;
}

/* Detach up to STORE_BATCH_MAX queued turns.  Call with the lock held. */
static struct qturn *
take_batch(struct store *st)
{
	struct qturn *batch = st->head, *last = st->head;
	size_t n = 1;

	if (batch == NULL)
		return NULL;
	while (last->next != NULL && n < STORE_BATCH_MAX) {
		last = last->next;
		n++;
	}
	st->head = last->next;
	if (st->head == NULL)
		st->tail = NULL;
	last->next = NULL;
	st->queued -= n;
	return batch;
}

/* Write a detached batch, publish its results and free it. */
static void
finish_batch(struct store *st, struct conn *c, struct qturn *batch)
{
	struct bot_err err;
	bool ok = write_batch(c, batch, st->path, &err) == 0;
	struct qturn *q, *next;
	size_t n = 0;

	for (q = batch; q != NULL; q = q->next)
		n++;

	pthread_mutex_lock(&st->lock);
	if (ok) {
		st->health.batches_ok++;
	} else {
		st->health.batches_failed++;
		st->health.turns_failed += n;
		snprintf(st->health.error, sizeof(st->health.error), "%s",
			 err.msg);
	}
	if (st->done_len + n > st->done_alloc && st->done_head > 0) {
		memmove(st->done, st->done + st->done_head,
			(st->done_len - st->done_head) * sizeof(*st->done));
		st->done_len -= st->done_head;
		st->done_head = 0;
	}
	if (st->done_len + n > st->done_alloc) {
		st->done_alloc = st->done_alloc ? st->done_alloc * 2 : 64;
		if (st->done_alloc < st->done_len + n)
			st->done_alloc = st->done_len + n;
		st->done =
			xrealloc(st->done, st->done_alloc * sizeof(*st->done));
	}
	for (q = batch; q != NULL; q = q->next) {
		st->done[st->done_len].user = q->t.user;
		st->done[st->done_len].ok = ok;
		st->done_len++;
	}
	pthread_mutex_unlock(&st->lock);

	for (q = batch; q != NULL; q = next) {
		next = q->next;
		free(q);
	}
}

/* --- checkpoints -------------------------------------------------------- */

/*
 * The writer runs under SCHED_BATCH where there is one (Linux): a batch
 * thread gets its fair share of the CPU but does not preempt the running
 * thread when it wakes.  When the loop and the writer share a core, the
 * loop's first submit would otherwise switch to the writer at once, which
 * commits that single turn, and under load every commit holds a few turns
 * at the cost of a whole transaction each.  Instead the writer runs when
 * the loop yields, with everything it submitted.  Nothing changes with a
 * core to spare, nor for latency when idle.
 *
 * The checkpointer runs under SCHED_IDLE: only when the core has nothing
 * else to do.  Copying 4 MB of WAL is a few ms of CPU, and as a batch
 * thread it held the core for a whole time slice while buyers' messages
 * waited (p99 at 100 msg/s: 1 ms in some runs, 7 ms in others).  Under
 * load that never lets it run the WAL grows to wal_max_pages, where the
 * writer checkpoints itself.
 */
#ifdef STORE_SCHED_BATCH
static void
sched_policy(int policy)
{
	struct sched_param sp = {.sched_priority = 0};

	pthread_setschedparam(pthread_self(), policy, &sp);
}
#endif

/* sqlite3_wal_hook() on the writer's connection: runs after each commit.
 * Installing it also turns SQLite's own auto-checkpoint off there, which
 * would otherwise run inside COMMIT, before the batch is reported. */
static int
on_wal_commit(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct store *st = arg;

	(void)db;
	(void)name;
	st->wal_frames = frames;
	return SQLITE_OK;
}

/* Ask the checkpointer for a pass.  Call with the lock held. */
static void
ask_checkpoint(struct store *st)
{
	st->ckpt_request = true;
	pthread_cond_signal(&st->ckpt_work);
}

/*
 * A checkpoint ended (either thread) with SQLite's 'rc' on connection 'c':
 * count it.  BUSY (another process checkpoints, say the sqlite3 shell
 * closing) is not a failure.  Lock held.
 */
static void
checkpoint_done(struct store *st, const struct conn *c, int rc)
{
	st->ckpt_active = false;
	st->ckpt_passes++;
	if (rc == SQLITE_OK) {
		st->health.ckpts_ok++;
	} else if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED) {
		st->health.ckpts_failed++;
		snprintf(st->health.error, sizeof(st->health.error),
			 "checkpoint of '%s': %s", st->path,
			 sqlite3_errmsg(c->db));
	}
	pthread_cond_broadcast(&st->ckpt_idle);
}

/*
 * Checkpoint on the writer's own connection.  With no commit running,
 * a passive checkpoint copies every frame left (unless a reader still
 * uses an old snapshot), and the next commit starts the WAL over.  Called
 * with the lock held and ckpt_active false; returns with it released.
 */
static void
writer_checkpoint(struct store *st)
{
	int rc;

	st->ckpt_active = true; /* the checkpointer waits for us */
	st->ckpt_request = false;
	pthread_mutex_unlock(&st->lock);

	rc = sqlite3_wal_checkpoint_v2(st->writer.db, NULL,
				       SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);

	pthread_mutex_lock(&st->lock);
	checkpoint_done(st, &st->writer, rc);
	pthread_mutex_unlock(&st->lock);
}

/*
 * After a batch was committed and reported; 'frames' is the WAL's length
 * in pages.  Every ckpt_pages new pages the checkpointer makes a pass in
 * the background.  Under constant load a pass never finds the WAL quiet
 * (commits go on while it copies), so the WAL would never start over.
 * At wal_max_pages the writer asks for one more pass and, once that pass
 * is over, copies what it left (the pages committed while it ran) on its
 * own connection, which holds up the next batch for that short copy and
 * two fsyncs.  At twice wal_max_pages (the checkpointer cannot keep up)
 * it waits for the pass in progress and finishes all the rest.  If even
 * that does not reset the WAL (a reader holds an old snapshot), it tries
 * again ckpt_pages pages later.
 */
static void
after_commit(struct store *st, int frames)
{
	bool full = frames >= 2 * st->wal_max_pages;

	if (frames < st->wal_seen) { /* the WAL started over */
		st->ckpt_asked_at = 0;
		st->wal_retry_at = st->wal_max_pages;
		st->final_asked = false;
	}
	st->wal_seen = frames;
	pthread_mutex_lock(&st->lock);
	if (frames >= st->wal_retry_at) {
		while (full && st->ckpt_active)
			pthread_cond_wait(&st->ckpt_idle, &st->lock);
		if (!st->ckpt_active &&
		    (full || (st->final_asked &&
			      st->ckpt_passes >= st->final_passes))) {
			st->wal_retry_at = frames + st->ckpt_pages;
			st->final_asked = false;
			writer_checkpoint(st); /* unlocks */
			return;
		}
		if (!st->final_asked) {
			st->final_asked = true;
			/* a pass under way is not the one asked for */
			st->final_passes =
				st->ckpt_passes + (st->ckpt_active ? 2 : 1);
			st->ckpt_asked_at = frames;
			ask_checkpoint(st);
		}
	} else if (frames - st->ckpt_asked_at >= st->ckpt_pages) {
		st->ckpt_asked_at = frames;
		ask_checkpoint(st);
	}
	pthread_mutex_unlock(&st->lock);
}

static void *
ckpt_main(void *arg)
{
	struct store *st = arg;
	int rc;

#ifdef STORE_SCHED_IDLE
	sched_policy(STORE_SCHED_IDLE);
#endif
	pthread_mutex_lock(&st->lock);
	for (;;) {
		if (st->ckpt_stop)
			break;
		if (!st->ckpt_request || st->ckpt_active) {
			pthread_cond_wait(&st->ckpt_work, &st->lock);
			continue;
		}
		st->ckpt_request = false;
		st->ckpt_active = true;
		pthread_mutex_unlock(&st->lock);

		/* Passive: never blocks the writer.  A failure (I/O, full
		 * disk) loses nothing: the frames stay in the WAL and the
		 * next pass copies them; the log says so. */
		rc = sqlite3_wal_checkpoint_v2(st->ckpt.db, NULL,
					       SQLITE_CHECKPOINT_PASSIVE, NULL,
					       NULL);

		pthread_mutex_lock(&st->lock);
		checkpoint_done(st, &st->ckpt, rc);
	}
	pthread_mutex_unlock(&st->lock);
	return NULL;
}

/* --- the writer thread -------------------------------------------------- */

/*
 * Wait for turns.  When the last batch left pages in the WAL and nothing
 * comes for idle_ckpt_ms, ask once for a checkpoint: the writer is quiet,
 * so the pass copies the whole WAL and the next commit starts it over.
 * Called and returns with the lock held.
 */
/* The CLOCK_MONOTONIC time 'us' from now, for pthread_cond_timedwait() on
 * the store's condition variables (made with that clock). */
static struct timespec
deadline_in(int64_t us)
{
	int64_t t = util_mono_ns() + us * 1000;
	struct timespec until = {.tv_sec = (time_t)(t / 1000000000),
				 .tv_nsec = (long)(t % 1000000000)};

	return until;
}

static void
wait_for_work(struct store *st)
{
	struct timespec until;

	if (!st->wal_dirty) {
		pthread_cond_wait(&st->work, &st->lock);
		return;
	}
	until = deadline_in((int64_t)st->idle_ckpt_ms * 1000);
	if (pthread_cond_timedwait(&st->work, &st->lock, &until) == ETIMEDOUT &&
	    st->head == NULL) {
		st->wal_dirty = false;
		ask_checkpoint(st);
	}
}

/*
 * Group commit under a steady stream.  At 10k msg/s (one every 100 µs)
 * the writer would wake for every turn and commit it alone: a futex wake,
 * a transaction and a loop wake-up for each message, which on this
 * paravirtualised VM cost more than the message itself (one core at 95 %
 * instead of 65 %).  When turns come densely (the last commit ended less
 * than STORE_LINGER_DENSE_US ago) the writer waits up to STORE_LINGER_US
 * for STORE_LINGER_TURNS turns, so that one of each serves several.  A
 * quiet chat (100 msg/s) never waits.  Called and returns with the lock
 * held.
 */
static void
linger(struct store *st)
{
	struct timespec until;

	if (STORE_LINGER_US == 0 || st->stop ||
	    st->queued >= STORE_LINGER_TURNS ||
	    util_mono_ns() - st->last_commit_ns > STORE_LINGER_DENSE_US * 1000)
		return;
	until = deadline_in(STORE_LINGER_US);
	st->lingering = true;
	while (!st->stop && st->queued < STORE_LINGER_TURNS &&
	       pthread_cond_timedwait(&st->work, &st->lock, &until) == 0)
		;
	st->lingering = false;
}

static void *
writer_main(void *arg)
{
	struct store *st = arg;
	struct qturn *batch;

#ifdef STORE_SCHED_BATCH
	sched_policy(STORE_SCHED_BATCH);
#endif
	pthread_mutex_lock(&st->lock);
	for (;;) {
		if (st->head == NULL) {
			if (st->stop)
				break;
			wait_for_work(st);
			continue;
		}
		linger(st);
		batch = take_batch(st);
		st->busy = true;
		pthread_mutex_unlock(&st->lock);

		finish_batch(st, &st->writer, batch);
		st->last_commit_ns = util_mono_ns();
		if (st->notify)
			st->notify(st->notify_arg);
		/* Checkpoints come after the notify: the turns just
		 * committed are answered first. */
		st->wal_dirty = true;
		after_commit(st, st->wal_frames);

		pthread_mutex_lock(&st->lock);
		st->busy = false;
		pthread_cond_broadcast(&st->idle);
	}
	pthread_mutex_unlock(&st->lock);
	return NULL;
}

/* Start a thread with every signal blocked: signals go to the loop. */
static int
start_thread(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

/*
 * The writer's connection only.  The WAL hook replaces SQLite's
 * auto-checkpoint (see after_commit).  CHECK constraints are not
 * evaluated: the only ones are the IN lists on messages.role and
 * escalations.status, which SQLite checks by building a temporary index
 * for every row inserted, and the writer's values there are constants of
 * this file.  Other connections (the sqlite3 shell) still check them.
 */
static int
writer_settings(struct store *st, struct bot_err *err)
{
	sqlite3_wal_hook(st->writer.db, on_wal_commit, st);
	if (sqlite3_exec(st->writer.db, "PRAGMA ignore_check_constraints = ON",
			 NULL, NULL, NULL) != SQLITE_OK)
		return bot_errf(err, "cannot open database '%s': %s", st->path,
				sqlite3_errmsg(st->writer.db));
	return 0;
}

/* Open the checkpointer's connection and start it. */
static int
start_checkpointer(struct store *st, struct bot_err *err)
{
	int rc;

	if (conn_open(&st->ckpt, st->path, &st->opt, err) < 0)
		return -1;
	st->ckpt_stop = false;
	rc = start_thread(&st->ckpt_thread, ckpt_main, st);
	if (rc != 0) {
		conn_close(&st->ckpt);
		return bot_errf(err,
				"cannot start the database checkpointer: %s",
				strerror(rc));
	}
	st->ckpt_running = true;
	return 0;
}

static void
stop_checkpointer(struct store *st)
{
	if (!st->ckpt_running)
		return;
	pthread_mutex_lock(&st->lock);
	st->ckpt_stop = true;
	pthread_cond_signal(&st->ckpt_work);
	pthread_mutex_unlock(&st->lock);
	pthread_join(st->ckpt_thread, NULL);
	st->ckpt_running = false;
}

int
store_start_writer(struct store *st, store_notify_fn *fn, void *arg,
		   struct bot_err *err)
{
	int rc;

	if (st->writer_running)
		return bot_errf(err, "the writer of database '%s' is running",
				st->path);
	if (is_memory(st->path))
		return bot_errf(err,
				"cannot start a writer on in-memory "
				"database '%s'",
				st->path);
	if (conn_open(&st->writer, st->path, &st->opt, err) < 0)
		return -1;
	if (conn_prepare(&st->writer, st->path, err) < 0 ||
	    writer_settings(st, err) < 0)
		goto fail;
	st->wal_frames = st->wal_seen = st->ckpt_asked_at = 0;
	st->final_asked = false;
	st->wal_retry_at = st->wal_max_pages;
	st->wal_dirty = false;
	if (start_checkpointer(st, err) < 0)
		goto fail;
	st->notify = fn;
	st->notify_arg = arg;
	st->stop = false;
	rc = start_thread(&st->thread, writer_main, st);
	if (rc != 0) {
		bot_errf(err, "cannot start the database writer: %s",
			 strerror(rc));
		stop_checkpointer(st);
		conn_close(&st->ckpt);
		goto fail;
	}
	st->writer_running = true;
	return 0;
fail:
	conn_close(&st->writer);
	return -1;
}

size_t
store_take_done(struct store *st, struct store_done *out, size_t max)
{
	size_t n;

	pthread_mutex_lock(&st->lock);
	n = st->done_len - st->done_head;
	if (n > max)
		n = max;
	if (n > 0)
		memcpy(out, st->done + st->done_head, n * sizeof(*out));
	st->done_head += n;
	st->held -= n;
	if (st->done_head == st->done_len)
		st->done_head = st->done_len = 0;
	pthread_mutex_unlock(&st->lock);
	return n;
}

void
store_flush(struct store *st)
{
	struct qturn *batch;

	if (st->writer_running) {
		pthread_mutex_lock(&st->lock);
		while (st->head != NULL || st->busy)
			pthread_cond_wait(&st->idle, &st->lock);
		pthread_mutex_unlock(&st->lock);
		return;
	}
	/* No writer: write what was submitted on the main connection. */
	for (;;) {
		pthread_mutex_lock(&st->lock);
		batch = take_batch(st);
		pthread_mutex_unlock(&st->lock);
		if (batch == NULL)
			break;
		finish_batch(st, &st->main, batch);
	}
}

/* --- health ------------------------------------------------------------- */

void
store_health(struct store *st, struct store_health *out)
{
	pthread_mutex_lock(&st->lock);
	*out = st->health;
	pthread_mutex_unlock(&st->lock);
}

bool
store_health_news(struct store_health_log *log, const struct store_health *now,
		  int64_t now_ms, char *line, size_t cap)
{
	const struct store_health *was = &log->said;
	unsigned long batches = now->batches_failed - was->batches_failed;
	unsigned long turns = now->turns_failed - was->turns_failed;
	unsigned long ckpts = now->ckpts_failed - was->ckpts_failed;
	bool batches_back = log->batches_failing && batches == 0 &&
			    now->batches_ok > was->batches_ok;
	bool ckpts_back = log->ckpts_failing && ckpts == 0 &&
			  now->ckpts_ok > was->ckpts_ok;
	struct strbuf sb;

	if (batches == 0 && ckpts == 0 && !batches_back && !ckpts_back)
		return false;
	if ((batches || ckpts) && log->said_ms != 0 &&
	    now_ms - log->said_ms < STORE_HEALTH_LOG_MS)
		return false; /* counted into the next line */
	strbuf_init(&sb);
	strbuf_addstr(&sb, "database:");
	if (batches)
		strbuf_addf(&sb,
			    " %lu turn%s in %lu commit%s could not be saved "
			    "(those buyers were asked to send again);",
			    turns, turns == 1 ? "" : "s", batches,
			    batches == 1 ? "" : "s");
	if (ckpts)
		strbuf_addf(&sb,
			    " %lu checkpoint%s failed (nothing is lost: the "
			    "WAL keeps every turn and grows until one "
			    "succeeds);",
			    ckpts, ckpts == 1 ? "" : "s");
	if (batches || ckpts)
		strbuf_addf(&sb, " last error: %s", now->error);
	if (batches_back)
		strbuf_addstr(&sb, " turns are saved again;");
	if (ckpts_back)
		strbuf_addstr(&sb, " checkpoints succeed again;");
	if (sb.buf[sb.len - 1] == ';')
		sb.buf[--sb.len] = '\0';
	snprintf(line, cap, "%s", sb.buf);
	strbuf_release(&sb);

	log->batches_failing =
		batches > 0 || (log->batches_failing && !batches_back);
	log->ckpts_failing = ckpts > 0 || (log->ckpts_failing && !ckpts_back);
	log->said = *now;
	log->said_ms = now_ms;
	return true;
}

/* --- reading ------------------------------------------------------------ */

int
store_counts(struct store *st, struct store_counts *out, struct bot_err *err)
{
	sqlite3_stmt *s = st->main.stmt[ST_COUNTS];
	int rc;

	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		out->conversations = (long)sqlite3_column_int64(s, 0);
		out->messages = (long)sqlite3_column_int64(s, 1);
		out->unmatched = (long)sqlite3_column_int64(s, 2);
		out->escalations = (long)sqlite3_column_int64(s, 3);
	} else {
		bot_errf(err, "cannot count rows in database '%s': %s",
			 st->path, sqlite3_errmsg(st->main.db));
	}
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? 0 : -1;
}

static const char *
column_str(sqlite3_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(s, i);
}

/* Column 'i' into 'dst' (cap bytes), "" for NULL; false if it is longer. */
static bool
column_copy(sqlite3_stmt *s, int i, char *dst, size_t cap)
{
	const char *v = column_str(s, i);
	size_t n = v ? (size_t)sqlite3_column_bytes(s, i) : 0;

	dst[0] = '\0';
	if (n >= cap)
		return false;
	if (n)
		memcpy(dst, v, n + 1);
	return true;
}

int
store_load_conversation(struct store *st, const char *buyer,
			struct store_conversation *out, struct bot_err *err)
{
	sqlite3_stmt *s = st->main.stmt[ST_LOAD_CONVERSATION];
	int rc = bind_str(s, 1, buyer);

	memset(out, 0, sizeof(*out));
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		out->misses = sqlite3_column_int(s, 1);
		out->turns = (long)sqlite3_column_int64(s, 4);
		out->created_ms = sqlite3_column_int64(s, 5);
		out->updated_ms = sqlite3_column_int64(s, 6);
		/* written by this program: longer means someone else did */
		if (!column_copy(s, 0, out->state, sizeof(out->state)) ||
		    !column_copy(s, 2, out->last_intent,
				 sizeof(out->last_intent)) ||
		    !column_copy(s, 3, out->order_id, sizeof(out->order_id)) ||
		    !column_copy(s, 7, out->pending_intent,
				 sizeof(out->pending_intent)) ||
		    !column_copy(s, 8, out->pending_slot,
				 sizeof(out->pending_slot)) ||
		    !column_copy(s, 9, out->item, sizeof(out->item)) ||
		    !column_copy(s, 10, out->last_text,
				 sizeof(out->last_text))) {
			sqlite3_reset(s);
			return bot_errf(err,
					"database '%s': conversation of '%s' "
					"has a field too long to be ours",
					st->path, buyer);
		}
		sqlite3_reset(s);
		return 1;
	}
	if (rc != SQLITE_DONE)
		bot_errf(err, "cannot read database '%s': %s", st->path,
			 sqlite3_errmsg(st->main.db));
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

/*
 * Step a bound message statement (the columns of ST_MESSAGES_SINCE) and
 * call 'fn' for each row; 'rc' is the result of binding.  The strings of
 * 'm' are valid only during the call of 'fn'.  'fn' must not walk the same
 * statement again.  Returns 0 after the last row, fn's value if non-zero,
 * or -1 on a database error.  The statement is reset in every case.
 */
static int
walk_messages(sqlite3_stmt *s, int rc, store_message_fn *fn, void *ctx)
{
	struct store_message m;
	int ret = 0;

	while (rc == SQLITE_OK && ret == 0) {
		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW)
			break;
		rc = SQLITE_OK;
		m.id = sqlite3_column_int64(s, 0);
		m.buyer = column_str(s, 1);
		m.role = column_str(s, 2);
		m.msg_id = column_str(s, 3);
		m.text = column_str(s, 4);
		m.intent = column_str(s, 5);
		m.topic = column_str(s, 6);
		m.action = column_str(s, 7);
		m.script = column_str(s, 8);
		m.at_ms = sqlite3_column_int64(s, 9);
		ret = fn(ctx, &m);
	}
	sqlite3_reset(s);
	if (ret != 0)
		return ret;
	return rc == SQLITE_DONE || rc == SQLITE_OK ? 0 : -1;
}

int
store_foreach_message(struct store *st, int64_t since_ms, store_message_fn *fn,
		      void *ctx)
{
	sqlite3_stmt *s = st->main.stmt[ST_MESSAGES_SINCE];

	return walk_messages(s, sqlite3_bind_int64(s, 1, since_ms), fn, ctx);
}

int
store_foreach_buyer_message(struct store *st, int64_t since_ms,
			    int64_t until_ms, store_message_fn *fn, void *ctx)
{
	sqlite3_stmt *s = st->main.stmt[ST_BUYER_MESSAGES];
	int rc;

	rc = sqlite3_bind_int64(s, 1, since_ms);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 2, until_ms);
	return walk_messages(s, rc, fn, ctx);
}

int
store_foreach_unmatched_group(struct store *st, int64_t since_ms, long limit,
			      store_unmatched_fn *fn, void *ctx)
{
	sqlite3_stmt *s = st->main.stmt[ST_UNMATCHED_GROUPS];
	struct store_unmatched u;
	int rc, ret = 0;

	rc = sqlite3_bind_int64(s, 1, since_ms);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 2, limit < 0 ? -1 : limit);
	while (rc == SQLITE_OK && ret == 0) {
		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW)
			break;
		rc = SQLITE_OK;
		u.normalized = column_str(s, 0);
		u.example = column_str(s, 1);
		u.count = (long)sqlite3_column_int64(s, 2);
		u.last_ms = sqlite3_column_int64(s, 3);
		ret = fn(ctx, &u);
	}
	sqlite3_reset(s);
	if (ret != 0)
		return ret;
	return rc == SQLITE_DONE || rc == SQLITE_OK ? 0 : -1;
}

int
store_unmatched_totals(struct store *st, int64_t since_ms,
		       struct store_unmatched_totals *out, struct bot_err *err)
{
	sqlite3_stmt *s = st->main.stmt[ST_UNMATCHED_TOTALS];
	int rc;

	rc = sqlite3_bind_int64(s, 1, since_ms);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		out->messages = (long)sqlite3_column_int64(s, 0);
		out->groups = (long)sqlite3_column_int64(s, 1);
	} else {
		bot_errf(err,
			 "cannot count unmatched messages in database "
			 "'%s': %s",
			 st->path, sqlite3_errmsg(st->main.db));
	}
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? 0 : -1;
}

int
store_schema_version(struct store *st)
{
	sqlite3_stmt *s = st->main.stmt[ST_USER_VERSION];
	int v = -1;

	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	sqlite3_reset(s);
	return v;
}

/* --- open and close ----------------------------------------------------- */

/* The writer's idle wait is timed on the monotonic clock. */
static void
init_monotonic_cond(pthread_cond_t *c)
{
	pthread_condattr_t a;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(c, &a);
	pthread_condattr_destroy(&a);
}

static void
store_free(struct store *st)
{
	struct qturn *q, *next;

	conn_close(&st->writer);
	conn_close(&st->ckpt);
	conn_close(&st->main);
	for (q = st->head; q != NULL; q = next) {
		next = q->next;
		free(q);
	}
	free(st->done);
	pthread_cond_destroy(&st->ckpt_work);
	pthread_cond_destroy(&st->ckpt_idle);
	pthread_cond_destroy(&st->idle);
	pthread_cond_destroy(&st->work);
	pthread_mutex_destroy(&st->lock);
	free(st->path);
	free(st);
}

struct store *
store_open(const char *path, const struct store_options *opt,
	   struct bot_err *err)
{
	static const struct store_options defaults;
	struct store *st;

	if (opt == NULL)
		opt = &defaults;
	if (make_parent(path, err) < 0)
		return NULL;
	tune_sqlite();
	st = xcalloc(1, sizeof(*st));
	st->path = xstrdup(path);
	st->opt = *opt;
	st->queue_max = opt->queue_max ? opt->queue_max : STORE_QUEUE_DEFAULT;
	st->ckpt_pages =
		opt->ckpt_pages > 0 ? opt->ckpt_pages : STORE_CKPT_PAGES;
	if (st->ckpt_pages > STORE_PAGES_MAX)
		st->ckpt_pages = STORE_PAGES_MAX;
	st->wal_max_pages = opt->wal_max_pages > 0
				    ? opt->wal_max_pages
				    : STORE_WAL_MAX_RATIO * st->ckpt_pages;
	if (st->wal_max_pages > 4 * STORE_PAGES_MAX)
		st->wal_max_pages = 4 * STORE_PAGES_MAX;
	st->idle_ckpt_ms =
		opt->idle_ckpt_ms > 0 ? opt->idle_ckpt_ms : STORE_IDLE_CKPT_MS;
	pthread_mutex_init(&st->lock, NULL);
	init_monotonic_cond(&st->work);
	pthread_cond_init(&st->idle, NULL);
	pthread_cond_init(&st->ckpt_work, NULL);
	pthread_cond_init(&st->ckpt_idle, NULL);
	if (conn_open(&st->main, path, opt, err) < 0 ||
	    migrate(&st->main, path, err) < 0 ||
	    conn_prepare(&st->main, path, err) < 0) {
		store_free(st);
		return NULL;
	}
	return st;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	store_flush(st);
	if (st->writer_running) {
		pthread_mutex_lock(&st->lock);
		st->stop = true;
		pthread_cond_signal(&st->work);
		pthread_mutex_unlock(&st->lock);
		pthread_join(st->thread, NULL);
		st->writer_running = false;
	}
	stop_checkpointer(st);
	store_free(st);
}
