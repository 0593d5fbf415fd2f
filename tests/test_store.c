/*
 * test_store.c - the SQLite store: migrations, turns, the writer thread,
 * a full queue and a full disk.  File tests run in a fresh mkdtemp
 * directory under /tmp, removed at the end; rows are checked through a
 * second connection opened here.
 */
#include "test.h"
#include "../bot/store.h"
#include "../bot/util.h"

#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>

void suite_store(void);

#define WRITER_TURNS	   5000
#define STORE_TEST_VERSION 4 /* the schema version this store migrates to */

static char tmpdir[64];

/* Remove 'path' and, if it is a directory, everything under it. */
static void
remove_tree(const char *path)
{
	struct stat sb;
	struct dirent *e;
	DIR *d;
	char *sub;

	if (lstat(path, &sb) < 0)
		return;
	if (!S_ISDIR(sb.st_mode)) {
		unlink(path);
		return;
	}
	d = opendir(path);
	if (d != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 ||
			    strcmp(e->d_name, "..") == 0)
				continue;
			sub = util_path_join(path, e->d_name);
			remove_tree(sub);
			free(sub);
		}
		closedir(d);
	}
	rmdir(path);
}

static char *
tmp_path(const char *name)
{
	struct strbuf sb;

	strbuf_init(&sb);
	strbuf_addf(&sb, "%s/%s", tmpdir, name);
	return sb.buf;
}

/* Run a query returning one integer on a connection of the test's own. */
static long long
sql_int(sqlite3 *db, const char *sql, const char *arg)
{
	sqlite3_stmt *s = NULL;
	long long v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
		fprintf(stderr, "test_store: %s: %s\n", sql,
			sqlite3_errmsg(db));
		return -1;
	}
	if (arg != NULL)
		sqlite3_bind_text(s, 1, arg, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

static char *
sql_text(sqlite3 *db, const char *sql, const char *arg)
{
	sqlite3_stmt *s = NULL;
	char *v = NULL;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		return NULL;
	if (arg != NULL)
		sqlite3_bind_text(s, 1, arg, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
		v = xstrdup((const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	return v;
}

static sqlite3 *
sql_open(const char *path)
{
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(path, &db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
			    NULL) != SQLITE_OK) {
		fprintf(stderr, "test_store: cannot open '%s'\n", path);
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 5000);
	return db;
}

static void
sample_turn(struct store_turn *t, const char *buyer, int64_t at_ms)
{
	memset(t, 0, sizeof(*t));
	t->buyer = buyer;
	t->msg_id = "m1";
	t->text = "我要退款";
	t->normalized = "我要退款";
	t->at_ms = at_ms;
	t->intent = "refund";
	t->topic = "after_sale";
	t->action = "reply";
	t->script = "refund@3";
	t->reply = "亲, 已为您登记退款";
	t->reply_ms = at_ms + 5;
	t->state = "bot";
	t->misses = 0;
	t->last_intent = "refund";
	t->order_id = "O-1";
}

/* --- store-1: open and migrate ------------------------------------------ */

static void
test_open(void)
{
	struct store_options opt = {0};
	struct store_counts c = {-1, -1, -1, -1};
	struct bot_err err = {""};
	struct store *st;
	char *path, *expect, *dir;
	sqlite3 *db;

	TEST("store-1.1");
	st = store_open(":memory:", &opt, &err);
	CHECK(st != NULL);
	if (st == NULL)
		return;
	CHECK_INT(store_schema_version(st), STORE_TEST_VERSION);
	CHECK_INT(store_counts(st, &c, &err), 0);
	CHECK_INT(c.conversations, 0);
	CHECK_INT(c.messages, 0);
	CHECK_INT(c.unmatched, 0);
	CHECK_INT(c.escalations, 0);
	store_close(st);
	store_close(NULL);

	/* The parent directory is created; reopening changes nothing. */
	TEST("store-1.2");
	path = tmp_path("var/x.db");
	st = store_open(path, NULL, &err);
	CHECK(st != NULL);
	if (st != NULL) {
		struct store_turn t;

		sample_turn(&t, "b1", 1000);
		CHECK_INT(store_write_turn(st, &t, &err), 0);
		CHECK_INT(store_schema_version(st), STORE_TEST_VERSION);
		store_close(st);
	}
	st = store_open(path, NULL, &err);
	CHECK(st != NULL);
	if (st != NULL) {
		CHECK_INT(store_schema_version(st), STORE_TEST_VERSION);
		CHECK_INT(store_counts(st, &c, &err), 0);
		CHECK_INT(c.conversations, 1);
		CHECK_INT(c.messages, 2);
		store_close(st);
	}
	db = sql_open(path);
	CHECK_INT(sql_int(db, "PRAGMA user_version", NULL), STORE_TEST_VERSION);
	sqlite3_close(db);
	free(path);

	/* A newer schema is refused and left alone. */
	TEST("store-1.3");
	path = tmp_path("new.db");
	db = sql_open(path);
	CHECK_INT(
		sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL),
		SQLITE_OK);
	sqlite3_close(db);
	err.msg[0] = '\0';
	st = store_open(path, NULL, &err);
	CHECK(st == NULL);
	store_close(st);
	{
		struct strbuf sb;

		strbuf_init(&sb);
		strbuf_addf(&sb,
			    "database '%s' has schema version 99, "
			    "this xiaoer knows %d",
			    path, STORE_TEST_VERSION);
		expect = sb.buf;
	}
	CHECK_STR(err.msg, expect);
	db = sql_open(path);
	CHECK_INT(sql_int(db, "PRAGMA user_version", NULL), 99);
	CHECK_INT(sql_int(db,
			  "SELECT count(*) FROM sqlite_schema"
			  " WHERE type = 'table'",
			  NULL),
		  0);
	sqlite3_close(db);
	free(expect);
	free(path);

	/* Open errors name the file. */
	TEST("store-1.4");
	err.msg[0] = '\0';
	st = store_open(tmpdir, NULL, &err);
	CHECK(st == NULL);
	{
		struct strbuf sb;

		strbuf_init(&sb);
		strbuf_addf(&sb,
			    "cannot open database '%s': "
			    "unable to open database file",
			    tmpdir);
		CHECK_STR(err.msg, sb.buf);
		strbuf_release(&sb);
	}
	dir = tmp_path("no/such/dir/x.db");
	err.msg[0] = '\0';
	st = store_open(dir, NULL, &err);
	CHECK(st == NULL);
	CHECK(strstr(err.msg, "cannot create directory") != NULL);
	free(dir);

	/* WAL for files: the -wal file exists after a write, and the mode
	 * is recorded in the file. */
	TEST("store-1.5");
	path = tmp_path("wal.db");
	st = store_open(path, NULL, &err);
	CHECK(st != NULL);
	if (st != NULL) {
		struct store_turn t;
		char *wal = tmp_path("wal.db-wal");
		struct stat sb;

		sample_turn(&t, "b1", 1000);
		CHECK_INT(store_write_turn(st, &t, &err), 0);
		CHECK_INT(stat(wal, &sb), 0);
		free(wal);
		db = sql_open(path);
		{
			char *mode = sql_text(db, "PRAGMA journal_mode", NULL);

			CHECK_STR(mode, "wal");
			free(mode);
		}
		sqlite3_close(db);
		store_close(st);
	}
	free(path);
}

/* --- store-2: synchronous turns ----------------------------------------- */

static void
test_write_turn(void)
{
	struct store_counts c = {-1, -1, -1, -1};
	struct bot_err err = {""};
	struct store_turn t;
	struct store *st;
	char *path, *s;
	sqlite3 *db;

	TEST("store-2.1");
	st = store_open(":memory:", NULL, &err);
	CHECK(st != NULL);
	if (st == NULL)
		return;
	sample_turn(&t, "b1", 1000);
	t.unmatched = true;
	t.escalation = "request";
	CHECK_INT(store_write_turn(st, &t, &err), 0);
	CHECK_INT(store_counts(st, &c, &err), 0);
	CHECK_INT(c.conversations, 1);
	CHECK_INT(c.messages, 2);
	CHECK_INT(c.unmatched, 1);
	CHECK_INT(c.escalations, 1);

	/* No reply, no unmatched, no escalation: one line only. */
	TEST("store-2.2");
	sample_turn(&t, "b1", 2000);
	t.reply = NULL;
	CHECK_INT(store_write_turn(st, &t, &err), 0);
	CHECK_INT(store_counts(st, &c, &err), 0);
	CHECK_INT(c.conversations, 1);
	CHECK_INT(c.messages, 3);
	CHECK_INT(c.unmatched, 1);
	CHECK_INT(c.escalations, 1);
	store_close(st);

	/* Row contents, through a connection of our own. */
	TEST("store-2.3");
	path = tmp_path("turns.db");
	st = store_open(path, NULL, &err);
	CHECK(st != NULL);
	if (st == NULL) {
		free(path);
		return;
	}
	sample_turn(&t, "b1", 1000);
	t.unmatched = true;
	t.normalized = "我要退款!";
	t.escalation = "misses";
	t.misses = 2;
	CHECK_INT(store_write_turn(st, &t, &err), 0);
	sample_turn(&t, "b1", 3000);
	t.msg_id = NULL;
	t.state = "queued";
	t.last_intent = NULL;
	t.order_id = NULL;
	t.misses = 0;
	t.intent = NULL;
	CHECK_INT(store_write_turn(st, &t, &err), 0);
	store_close(st);

	db = sql_open(path);
	CHECK_INT(sql_int(db,
			  "SELECT turns FROM conversations WHERE buyer = ?1",
			  "b1"),
		  2);
	CHECK_INT(sql_int(db,
			  "SELECT created_ms FROM conversations"
			  " WHERE buyer = ?1",
			  "b1"),
		  1000);
	CHECK_INT(sql_int(db,
			  "SELECT updated_ms FROM conversations"
			  " WHERE buyer = ?1",
			  "b1"),
		  3000);
	s = sql_text(db, "SELECT state FROM conversations WHERE buyer = ?1",
		     "b1");
	CHECK_STR(s, "queued");
	free(s);
	CHECK_INT(sql_int(db,
			  "SELECT count(*) FROM conversations"
			  " WHERE buyer = ?1 AND last_intent IS NULL"
			  " AND order_id IS NULL AND misses = 0",
			  "b1"),
		  1);
	CHECK_INT(sql_int(db,
			  "SELECT count(*) FROM messages WHERE role = 'buyer'"
			  " AND msg_id = ?1 AND at_ms = 1000"
			  " AND intent = 'refund' AND script = 'refund@3'",
			  "m1"),
		  1);
	s = sql_text(db,
		     "SELECT text FROM messages WHERE role = ?1"
		     " AND at_ms = 1005",
		     "bot");
	CHECK_STR(s, "亲, 已为您登记退款");
	free(s);
	CHECK_INT(sql_int(db,
			  "SELECT count(*) FROM messages WHERE at_ms = 3000"
			  " AND msg_id IS NULL AND intent IS NULL",
			  NULL),
		  1);
	s = sql_text(db, "SELECT normalized FROM unmatched WHERE buyer = ?1",
		     "b1");
	CHECK_STR(s, "我要退款!");
	free(s);
	s = sql_text(db,
		     "SELECT reason || ' ' || status FROM escalations"
		     " WHERE buyer = ?1",
		     "b1");
	CHECK_STR(s, "misses pending");
	free(s);
	sqlite3_close(db);
	free(path);
}

/* --- store-3: messages in order ----------------------------------------- */

struct collect {
	int calls;
	int stop_after;
	int64_t last_id;
	bool ordered;
	char roles[16];
	char texts[256];
};

static int
collect_fn(void *ctx, const struct store_message *m)
{
	struct collect *c = ctx;

	if (m->id <= c->last_id)
		c->ordered = false;
	c->last_id = m->id;
	if ((size_t)c->calls < sizeof(c->roles) - 1)
		c->roles[c->calls] = m->role[1]; /* 'u'yer or 'o't */
	strncat(c->texts, m->text, sizeof(c->texts) - strlen(c->texts) - 1);
	strncat(c->texts, "|", sizeof(c->texts) - strlen(c->texts) - 1);
	c->calls++;
	if (c->stop_after && c->calls == c->stop_after)
		return 7;
	return 0;
}

static void
test_foreach(void)
{
	static const char *const texts[] = {"a", "b", "c"};
	struct bot_err err = {""};
	struct collect c;
	struct store_turn t;
	struct store *st;
	size_t i;

	TEST("store-3.1");
	st = store_open(":memory:", NULL, &err);
	CHECK(st != NULL);
	if (st == NULL)
		return;
	for (i = 0; i < ARRAY_SIZE(texts); i++) {
		sample_turn(&t, i == 1 ? "b2" : "b1", 100 * ((int64_t)i + 1));
		t.text = texts[i];
		t.reply = texts[i];
		t.reply_ms = t.at_ms + 1;
		CHECK_INT(store_write_turn(st, &t, &err), 0);
	}
	memset(&c, 0, sizeof(c));
	c.ordered = true;
	CHECK_INT(store_foreach_message(st, 0, collect_fn, &c), 0);
	CHECK_INT(c.calls, 6);
	CHECK(c.ordered);
	CHECK_STR(c.roles, "uououo");
	CHECK_STR(c.texts, "a|a|b|b|c|c|");

	TEST("store-3.2");
	memset(&c, 0, sizeof(c));
	c.ordered = true;
	CHECK_INT(store_foreach_message(st, 200, collect_fn, &c), 0);
	CHECK_INT(c.calls, 4);
	CHECK_STR(c.texts, "b|b|c|c|");

	TEST("store-3.3");
	memset(&c, 0, sizeof(c));
	c.ordered = true;
	c.stop_after = 3;
	CHECK_INT(store_foreach_message(st, 0, collect_fn, &c), 7);
	CHECK_INT(c.calls, 3);
	CHECK_STR(c.texts, "a|a|b|");
	/* The statement was reset: a new walk starts from the top. */
	memset(&c, 0, sizeof(c));
	c.ordered = true;
	CHECK_INT(store_foreach_message(st, 301, collect_fn, &c), 0);
	CHECK_INT(c.calls, 1);
	CHECK_STR(c.texts, "c|");
	store_close(st);
}

/* --- store-4: the writer thread ----------------------------------------- */

struct notify_count {
	int batches;
};

static void
count_batch(void *arg)
{
	struct notify_count *n = arg;

	n->batches++;
}

static void
test_writer(void)
{
	static struct store_done done[WRITER_TURNS + 1];
	struct store_options opt = {0};
	struct store_counts c = {-1, -1, -1, -1};
	struct notify_count nc = {0};
	struct bot_err err = {""};
	struct store_turn t;
	struct store *st;
	char buyer[32], msg_id[32];
	size_t n, got;
	int i, rejected = 0, in_order = 1, all_ok = 1;
	char *path;

	TEST("store-4.1");
	path = tmp_path("writer.db");
	st = store_open(path, &opt, &err);
	CHECK(st != NULL);
	if (st == NULL) {
		free(path);
		return;
	}
	CHECK_INT(store_start_writer(st, count_batch, &nc, &err), 0);
	CHECK_INT(store_start_writer(st, count_batch, &nc, &err), -1);
	for (i = 1; i <= WRITER_TURNS; i++) {
		snprintf(buyer, sizeof(buyer), "b%d", i % 50);
		snprintf(msg_id, sizeof(msg_id), "m%d", i);
		sample_turn(&t, buyer, 1000 + i);
		t.msg_id = msg_id;
		t.unmatched = i % 10 == 0;
		t.escalation = i % 100 == 0 ? "request" : NULL;
		t.user = (void *)(uintptr_t)i;
		if (store_submit_turn(st, &t) < 0)
			rejected++;
	}
	CHECK_INT(rejected, 0);
	store_flush(st);
	got = 0;
	for (;;) {
		n = store_take_done(st, done + got, 1000);
		if (n == 0)
			break;
		got += n;
	}
	CHECK_INT(got, WRITER_TURNS);
	for (n = 0; n < got; n++) {
		if ((uintptr_t)done[n].user != n + 1)
			in_order = 0;
		if (!done[n].ok)
			all_ok = 0;
	}
	CHECK(in_order);
	CHECK(all_ok);
	CHECK_INT(store_take_done(st, done, 10), 0);
	/* Group commit happened: fewer batches than turns, and at least
	 * WRITER_TURNS / 1024 of them. */
	CHECK(nc.batches >= (WRITER_TURNS + 1023) / 1024);
	CHECK(nc.batches < WRITER_TURNS);
	store_close(st);

	TEST("store-4.2");
	st = store_open(path, &opt, &err);
	CHECK(st != NULL);
	if (st != NULL) {
		CHECK_INT(store_counts(st, &c, &err), 0);
		CHECK_INT(c.conversations, 50);
		CHECK_INT(c.messages, 2 * WRITER_TURNS);
		CHECK_INT(c.unmatched, WRITER_TURNS / 10);
		CHECK_INT(c.escalations, WRITER_TURNS / 100);
		store_close(st);
	}
	{
		sqlite3 *db = sql_open(path);

		CHECK_INT(sql_int(db, "SELECT sum(turns) FROM conversations",
				  NULL),
			  WRITER_TURNS);
		/* The writer's lines: each buyer line followed at once by
		 * its reply, roles and columns as store_write_turn() has
		 * them (store-2.3). */
		CHECK_INT(
			sql_int(db,
				"SELECT count(*) FROM messages WHERE role = ?1",
				"buyer"),
			WRITER_TURNS);
		CHECK_INT(sql_int(db,
				  "SELECT count(*) FROM messages b"
				  " JOIN messages r ON r.id = b.id + 1"
				  " WHERE b.role = 'buyer' AND r.role = 'bot'"
				  "  AND r.buyer = b.buyer AND r.msg_id IS NULL"
				  "  AND r.text = ?1 AND r.at_ms = b.at_ms + 5"
				  "  AND r.intent = b.intent AND r.script = "
				  "b.script"
				  "  AND b.text = '我要退款'",
				  "亲, 已为您登记退款"),
			  WRITER_TURNS);
		sqlite3_close(db);
	}
	free(path);
}

/* --- store-5: a full queue ---------------------------------------------- */

static void
test_queue_full(void)
{
	struct store_options opt = {.queue_max = 4};
	struct store_counts c = {-1, -1, -1, -1};
	struct notify_count nc = {0};
	struct store_done done[8];
	struct bot_err err = {""};
	struct store_turn t;
	struct store *st;
	char msg_id[16];
	size_t n;
	int i;
	char *path;

	TEST("store-5.1");
	path = tmp_path("queue.db");
	st = store_open(path, &opt, &err);
	CHECK(st != NULL);
	if (st == NULL) {
		free(path);
		return;
	}
	/* Submitting before the writer starts just queues. */
	for (i = 1; i <= 4; i++) {
		snprintf(msg_id, sizeof(msg_id), "m%d", i);
		sample_turn(&t, "b1", 1000 + i);
		t.msg_id = msg_id;
		t.user = (void *)(uintptr_t)i;
		CHECK_INT(store_submit_turn(st, &t), 0);
	}
	t.user = (void *)(uintptr_t)5;
	CHECK_INT(store_submit_turn(st, &t), -1);
	CHECK_INT(store_take_done(st, done, 8), 0);
	CHECK_INT(store_counts(st, &c, &err), 0);
	CHECK_INT(c.messages, 0);

	TEST("store-5.2");
	CHECK_INT(store_start_writer(st, count_batch, &nc, &err), 0);
	store_flush(st);
	/* Results count against the limit until they are taken. */
	CHECK_INT(store_submit_turn(st, &t), -1);
	n = store_take_done(st, done, 8);
	CHECK_INT(n, 4);
	for (i = 0; i < 4 && (size_t)i < n; i++) {
		CHECK_INT((uintptr_t)done[i].user, i + 1);
		CHECK(done[i].ok);
	}
	CHECK_INT(nc.batches, 1);
	CHECK_INT(store_submit_turn(st, &t), 0);
	store_close(st);

	st = store_open(path, &opt, &err);
	CHECK(st != NULL);
	if (st != NULL) {
		CHECK_INT(store_counts(st, &c, &err), 0);
		CHECK_INT(c.conversations, 1);
		CHECK_INT(c.messages, 10);
		store_close(st);
	}
	free(path);

	/* Without a writer, flush writes on the caller's connection. */
	TEST("store-5.3");
	st = store_open(":memory:", &opt, &err);
	CHECK(st != NULL);
	if (st == NULL)
		return;
	CHECK_INT(store_start_writer(st, count_batch, &nc, &err), -1);
	sample_turn(&t, "b1", 1000);
	t.user = &nc;
	CHECK_INT(store_submit_turn(st, &t), 0);
	CHECK_INT(store_submit_turn(st, &t), 0);
	store_flush(st);
	CHECK_INT(store_take_done(st, done, 8), 2);
	CHECK(done[0].user == &nc && done[0].ok);
	CHECK(done[1].user == &nc && done[1].ok);
	CHECK_INT(store_counts(st, &c, &err), 0);
	CHECK_INT(c.messages, 4);
	store_close(st);
}

/* --- store-12: what the log is told about failures ---------------------- */

static void
test_health_news(void)
{
	struct store_health_log log;
	struct store_health h;
	char line[512];
	int64_t t = 1000000;

	TEST("store-12.1"); /* nothing failed: nothing to say */
	memset(&log, 0, sizeof(log));
	memset(&h, 0, sizeof(h));
	h.batches_ok = 50;
	h.ckpts_ok = 3;
	CHECK(!store_health_news(&log, &h, t, line, sizeof(line)));

	TEST("store-12.2"); /* the first failure is said at once */
	h.batches_failed = 1;
	h.turns_failed = 7;
	snprintf(h.error, sizeof(h.error),
		 "cannot write to database "
		 "'x.db': database or disk is full");
	CHECK(store_health_news(&log, &h, t, line, sizeof(line)));
	CHECK_STR(line, "database: 7 turns in 1 commit could not be saved "
			"(those buyers were asked to send again); last error: "
			"cannot write to database 'x.db': database or disk is "
			"full");

	TEST("store-12.3"); /* more within 10 s wait, then come together */
	h.batches_failed = 3;
	h.turns_failed = 20;
	CHECK(!store_health_news(&log, &h, t + 1000, line, sizeof(line)));
	h.batches_failed = 4;
	h.turns_failed = 21;
	h.ckpts_failed = 1;
	snprintf(h.error, sizeof(h.error),
		 "checkpoint of 'x.db': disk I/O "
		 "error");
	CHECK(!store_health_news(&log, &h, t + 9999, line, sizeof(line)));
	CHECK(store_health_news(&log, &h, t + 10000, line, sizeof(line)));
	CHECK_STR(line, "database: 14 turns in 3 commits could not be saved "
			"(those buyers were asked to send again); 1 checkpoint "
			"failed (nothing is lost: the WAL keeps every turn and "
			"grows until one succeeds); last error: checkpoint of "
			"'x.db': disk I/O error");

	TEST("store-12.4"); /* no new failure, no success yet: quiet */
	CHECK(!store_health_news(&log, &h, t + 30000, line, sizeof(line)));

	TEST("store-12.5"); /* a commit again: said once, at once */
	h.batches_ok++;
	CHECK(store_health_news(&log, &h, t + 30001, line, sizeof(line)));
	CHECK_STR(line, "database: turns are saved again");
	CHECK(!store_health_news(&log, &h, t + 30002, line, sizeof(line)));
	h.ckpts_ok++;
	CHECK(store_health_news(&log, &h, t + 30003, line, sizeof(line)));
	CHECK_STR(line, "database: checkpoints succeed again");
	h.batches_ok += 100;
	h.ckpts_ok += 5;
	CHECK(!store_health_news(&log, &h, t + 90000, line, sizeof(line)));

	TEST("store-12.6"); /* a small buffer gets a cut line, not an overflow
			     */
	h.batches_failed++;
	h.turns_failed++;
	CHECK(store_health_news(&log, &h, t + 100000, line, 16));
	CHECK_STR(line, "database: 1 tur");
}

/* --- store-13: a conversation read back --------------------------------- */

static void
test_load_conversation(void)
{
	struct store_conversation sc;
	struct bot_err err = {""};
	struct store_turn t;
	struct store *st;
	char *path = tmp_path("resume.db");
	sqlite3 *db;

	TEST("store-13.1"); /* none yet */
	st = store_open(path, NULL, &err);
	CHECK(st != NULL);
	if (st == NULL) {
		free(path);
		return;
	}
	CHECK_INT(store_load_conversation(st, "r1", &sc, &err), 0);

	TEST("store-13.2"); /* the last committed turn's state, whole */
	sample_turn(&t, "r1", 1000);
	CHECK_INT(store_write_turn(st, &t, &err), 0);
	sample_turn(&t, "r1", 2000);
	t.state = "queued";
	t.misses = 1;
	t.last_intent = "logistics.where";
	t.order_id = NULL;
	t.pending_intent = "logistics.where";
	t.pending_slot = "order_id";
	t.item = "sku-连衣裙-01";
	t.last_text = "亲我的快递到哪了";
	CHECK_INT(store_write_turn(st, &t, &err), 0);
	CHECK_INT(store_load_conversation(st, "r1", &sc, &err), 1);
	CHECK_STR(sc.state, "queued");
	CHECK_INT(sc.misses, 1);
	CHECK_INT(sc.turns, 2);
	CHECK_INT(sc.created_ms, 1000);
	CHECK_INT(sc.updated_ms, 2000);
	CHECK_STR(sc.last_intent, "logistics.where");
	CHECK_STR(sc.order_id, "");
	CHECK_STR(sc.pending_intent, "logistics.where");
	CHECK_STR(sc.pending_slot, "order_id");
	CHECK_STR(sc.item, "sku-连衣裙-01");
	CHECK_STR(sc.last_text, "亲我的快递到哪了");
	CHECK_INT(store_load_conversation(st, "r2", &sc, &err), 0);

	TEST("store-13.3"); /* a value no xiaoer wrote is refused, said why */
	db = sql_open(path);
	CHECK_INT(sqlite3_exec(db,
			       "UPDATE conversations SET item ="
			       " printf('%.100c', 'x') WHERE buyer = 'r1'",
			       NULL, NULL, NULL),
		  SQLITE_OK);
	sqlite3_close(db);
	CHECK_INT(store_load_conversation(st, "r1", &sc, &err), -1);
	CHECK(strstr(err.msg, "too long") != NULL);
	CHECK_INT(store_load_conversation(st, "r2", &sc, &err), 0);
	store_close(st);
	free(path);
}

/* --- store-6: a full disk ----------------------------------------------- */

#define DISK_TURNS_MAX 2000
#define DISK_CHUNK     8

static void
test_disk_full(void)
{
	static signed char ok[DISK_TURNS_MAX + 1]; /* -1 unknown, 0, 1 */
	struct store_options opt = {.max_mb = 1};
	struct store_counts c = {-1, -1, -1, -1};
	struct store_done done[DISK_CHUNK];
	struct bot_err err = {""};
	struct store_turn t;
	struct store *st;
	char *path, *big, buyer[32];
	int i, j, submitted = 0, n_ok = 0, n_fail = 0, after_fail = 0;
	int bad = 0, lost = 0;
	size_t n, k;
	sqlite3 *db;

	TEST("store-6.1");
	memset(ok, -1, sizeof(ok));
	path = tmp_path("full.db");
	st = store_open(path, &opt, &err);
	CHECK(st != NULL);
	if (st == NULL) {
		free(path);
		return;
	}
	CHECK_INT(store_start_writer(st, NULL, NULL, &err), 0);
	big = xmalloc(3001);
	memset(big, 'x', 3000);
	big[3000] = '\0';
	for (i = 1; i + DISK_CHUNK <= DISK_TURNS_MAX && after_fail < 3;) {
		for (j = 0; j < DISK_CHUNK; j++, i++) {
			snprintf(buyer, sizeof(buyer), "b%d", i);
			sample_turn(&t, buyer, i);
			t.text = big;
			t.normalized = big;
			t.reply = big;
			t.unmatched = true;
			t.escalation = "request";
			t.user = (void *)(uintptr_t)i;
			if (store_submit_turn(st, &t) == 0)
				submitted++;
		}
		store_flush(st);
		while ((n = store_take_done(st, done, DISK_CHUNK)) > 0) {
			for (k = 0; k < n; k++) {
				uintptr_t u = (uintptr_t)done[k].user;

				ok[u] = done[k].ok ? 1 : 0;
				if (done[k].ok)
					n_ok++;
				else
					n_fail++;
			}
		}
		if (n_fail > 0)
			after_fail++;
	}
	free(big);
	CHECK(n_ok > 0);
	CHECK(n_fail > 0);
	CHECK_INT(n_ok + n_fail, submitted);
	{
		/* the failures are counted, with SQLite's reason */
		struct store_health h;

		store_health(st, &h);
		CHECK_INT(h.turns_failed, n_fail);
		CHECK(h.batches_failed >= 1 &&
		      h.batches_failed <= (unsigned long)n_fail);
		CHECK(h.batches_ok >= 1);
		CHECK(strstr(h.error, "full") != NULL);
	}
	store_close(st);

	/* Every turn reported stored is there, whole; no other is. */
	TEST("store-6.2");
	st = store_open(path, &opt, &err);
	CHECK(st != NULL);
	if (st != NULL) {
		CHECK_INT(store_counts(st, &c, &err), 0);
		CHECK_INT(c.conversations, n_ok);
		CHECK_INT(c.messages, 2 * n_ok);
		CHECK_INT(c.unmatched, n_ok);
		CHECK_INT(c.escalations, n_ok);
		store_close(st);
	}
	db = sql_open(path);
	for (i = 1; i <= submitted; i++) {
		long long msgs, conv, unm, esc;

		snprintf(buyer, sizeof(buyer), "b%d", i);
		msgs = sql_int(db,
			       "SELECT count(*) FROM messages"
			       " WHERE buyer = ?1",
			       buyer);
		conv = sql_int(db,
			       "SELECT count(*) FROM conversations"
			       " WHERE buyer = ?1",
			       buyer);
		unm = sql_int(db,
			      "SELECT count(*) FROM unmatched"
			      " WHERE buyer = ?1",
			      buyer);
		esc = sql_int(db,
			      "SELECT count(*) FROM escalations"
			      " WHERE buyer = ?1",
			      buyer);
		if (ok[i] == 1 &&
		    (msgs != 2 || conv != 1 || unm != 1 || esc != 1))
			lost++;
		if (ok[i] != 1 &&
		    (msgs != 0 || conv != 0 || unm != 0 || esc != 0))
			bad++;
	}
	CHECK_INT(lost, 0);
	CHECK_INT(bad, 0);
	CHECK_INT(sql_int(db,
			  "SELECT count(*) FROM messages b WHERE role = 'buyer'"
			  " AND NOT EXISTS (SELECT 1 FROM messages o"
			  "  WHERE o.buyer = b.buyer AND o.role = 'bot')",
			  NULL),
		  0);
	sqlite3_close(db);
	free(path);
}

/* --- store-7: buyer lines for export-log -------------------------------- */

struct buyer_lines {
	int calls;
	int stop_after;
	char seen[256]; /* "buyer:text@at|" ... */
	bool only_buyer;
};

static int
buyer_line_fn(void *ctx, const struct store_message *m)
{
	struct buyer_lines *b = ctx;
	char one[64];

	if (strcmp(m->role, "buyer") != 0)
		b->only_buyer = false;
	snprintf(one, sizeof(one), "%s:%s@%lld|", m->buyer, m->text,
		 (long long)m->at_ms);
	strncat(b->seen, one, sizeof(b->seen) - strlen(b->seen) - 1);
	b->calls++;
	if (b->stop_after && b->calls == b->stop_after)
		return 9;
	return 0;
}

static void
test_buyer_messages(void)
{
	static const struct {
		const char *buyer, *text;
		int64_t at_ms;
	} lines[] = {
		{"b2", "x", 100}, {"b1", "y", 200}, {"b2", "z", 300},
		{"b1", "w", 400}, {"b3", "v", 500},
	};
	struct bot_err err = {""};
	struct buyer_lines b;
	struct store_turn t;
	struct store *st;
	size_t i;

	TEST("store-7.1");
	st = store_open(":memory:", NULL, &err);
	CHECK(st != NULL);
	if (st == NULL)
		return;
	for (i = 0; i < ARRAY_SIZE(lines); i++) {
		sample_turn(&t, lines[i].buyer, lines[i].at_ms);
		t.text = lines[i].text;
		t.reply = i % 2 ? "回复" : NULL; /* bot lines are left out */
		CHECK_INT(store_write_turn(st, &t, &err), 0);
	}
	/* Grouped by buyer, arrival order inside a buyer, no bot lines. */
	memset(&b, 0, sizeof(b));
	b.only_buyer = true;
	CHECK_INT(store_foreach_buyer_message(st, 0, INT64_MAX, buyer_line_fn,
					      &b),
		  0);
	CHECK_INT(b.calls, 5);
	CHECK(b.only_buyer);
	CHECK_STR(b.seen, "b1:y@200|b1:w@400|b2:x@100|b2:z@300|b3:v@500|");

	/* since is inclusive, until exclusive. */
	TEST("store-7.2");
	memset(&b, 0, sizeof(b));
	CHECK_INT(store_foreach_buyer_message(st, 200, 400, buyer_line_fn, &b),
		  0);
	CHECK_STR(b.seen, "b1:y@200|b2:z@300|");
	memset(&b, 0, sizeof(b));
	CHECK_INT(store_foreach_buyer_message(st, 501, INT64_MAX, buyer_line_fn,
					      &b),
		  0);
	CHECK_INT(b.calls, 0);

	/* Stopping early returns fn's value; the next walk starts afresh. */
	TEST("store-7.3");
	memset(&b, 0, sizeof(b));
	b.stop_after = 2;
	CHECK_INT(store_foreach_buyer_message(st, 0, INT64_MAX, buyer_line_fn,
					      &b),
		  9);
	CHECK_STR(b.seen, "b1:y@200|b1:w@400|");
	memset(&b, 0, sizeof(b));
	CHECK_INT(store_foreach_buyer_message(st, 0, 201, buyer_line_fn, &b),
		  0);
	CHECK_STR(b.seen, "b1:y@200|b2:x@100|");
	store_close(st);
}

/* --- store-8: unmatched groups ------------------------------------------ */

struct groups {
	int calls;
	char seen[256]; /* "form:count:example@last|" ... */
};

static int
group_fn(void *ctx, const struct store_unmatched *u)
{
	struct groups *g = ctx;
	char one[64];

	snprintf(one, sizeof(one), "%s:%ld:%s@%lld|", u->normalized, u->count,
		 u->example, (long long)u->last_ms);
	strncat(g->seen, one, sizeof(g->seen) - strlen(g->seen) - 1);
	g->calls++;
	return 0;
}

static void
test_unmatched_groups(void)
{
	static const struct {
		const char *text, *normalized;
		int64_t at_ms;
	} rows[] = {
		{"A1", "a", 100}, {"B1", "b", 10}, {"A2", "a", 200},
		{"D1", "d", 30},  {"B2", "b", 20}, {"A3", "a", 300},
		{"C1", "c", 500}, {"D2", "d", 40}, {"B3", "b", 400},
	};
	struct store_unmatched_totals tot = {-1, -1};
	struct bot_err err = {""};
	struct groups g;
	struct store_turn t;
	struct store *st;
	size_t i;

	TEST("store-8.1");
	st = store_open(":memory:", NULL, &err);
	CHECK(st != NULL);
	if (st == NULL)
		return;
	memset(&g, 0, sizeof(g));
	CHECK_INT(store_foreach_unmatched_group(st, 0, -1, group_fn, &g), 0);
	CHECK_INT(g.calls, 0);
	CHECK_INT(store_unmatched_totals(st, 0, &tot, &err), 0);
	CHECK_INT(tot.messages, 0);
	CHECK_INT(tot.groups, 0);
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		sample_turn(&t, "b1", rows[i].at_ms);
		t.text = rows[i].text;
		t.normalized = rows[i].normalized;
		t.unmatched = true;
		CHECK_INT(store_write_turn(st, &t, &err), 0);
	}
	/* A matched turn is not in the table. */
	sample_turn(&t, "b2", 600);
	CHECK_INT(store_write_turn(st, &t, &err), 0);

	/* Most frequent first; a tie goes to the one seen last; the
	 * example is the latest original text. */
	TEST("store-8.2");
	memset(&g, 0, sizeof(g));
	CHECK_INT(store_foreach_unmatched_group(st, 0, -1, group_fn, &g), 0);
	CHECK_INT(g.calls, 4);
	CHECK_STR(g.seen, "b:3:B3@400|a:3:A3@300|d:2:D2@40|c:1:C1@500|");
	CHECK_INT(store_unmatched_totals(st, 0, &tot, &err), 0);
	CHECK_INT(tot.messages, 9);
	CHECK_INT(tot.groups, 4);

	TEST("store-8.3");
	memset(&g, 0, sizeof(g));
	CHECK_INT(store_foreach_unmatched_group(st, 0, 2, group_fn, &g), 0);
	CHECK_STR(g.seen, "b:3:B3@400|a:3:A3@300|");
	memset(&g, 0, sizeof(g));
	CHECK_INT(store_foreach_unmatched_group(st, 0, 0, group_fn, &g), 0);
	CHECK_INT(g.calls, 0);

	/* since counts only what came after it, in the groups and totals. */
	TEST("store-8.4");
	memset(&g, 0, sizeof(g));
	CHECK_INT(store_foreach_unmatched_group(st, 250, 10, group_fn, &g), 0);
	CHECK_STR(g.seen, "c:1:C1@500|b:1:B3@400|a:1:A3@300|");
	CHECK_INT(store_unmatched_totals(st, 250, &tot, &err), 0);
	CHECK_INT(tot.messages, 3);
	CHECK_INT(tot.groups, 3);
	store_close(st);
}

/* --- store-9: migrating a version 1 file ------------------------------- */

/* Schema version 1 exactly as xiaoer created it (bot/store.c, migration
 * 1), with rows of each kind: what a shop's existing file holds. */
static const char v1_file[] =
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
	"PRAGMA user_version = 1;"
	"INSERT INTO conversations VALUES"
	" ('b1', 'queued', 2, 'refund', 'O-9', 3, 1000, 3000),"
	" ('b2', 'bot', 0, NULL, NULL, 1, 500, 500);"
	"INSERT INTO messages (buyer, role, msg_id, text, intent, topic,"
	"  action, script, at_ms) VALUES"
	" ('b2', 'buyer', 'x1', '在吗', 'hello', 'smalltalk', 'reply',"
	"  'hello@1', 500),"
	" ('b2', 'bot', NULL, '亲, 在的', 'hello', 'smalltalk', 'reply',"
	"  'hello@1', 501),"
	" ('b1', 'buyer', 'y1', 'asdf', NULL, NULL, 'clarify', 'fallback@1',"
	"  1000),"
	" ('b1', 'buyer', 'y2', '转人工', 'human', 'human', 'escalate',"
	"  'human@1', 2000),"
	" ('b1', 'agent', NULL, '您好我是小美', NULL, NULL, NULL, NULL, 2500),"
	" ('b1', 'buyer', 'y3', '我要退款', 'refund', 'aftersale', 'reply',"
	"  'refund@3', 3000);"
	"INSERT INTO unmatched (buyer, text, normalized, at_ms) VALUES"
	" ('b1', 'asdf', 'asdf', 1000), ('b3', 'ASDF', 'asdf', 1100);"
	"INSERT INTO escalations (buyer, reason, status, at_ms) VALUES"
	" ('b1', 'request', 'claimed', 2000);";

static void
check_v1_rows(sqlite3 *db)
{
	char *s;

	s = sql_text(db,
		     "SELECT state || ',' || misses || ',' || last_intent"
		     "  || ',' || order_id || ',' || turns || ','"
		     "  || created_ms || ',' || updated_ms"
		     " FROM conversations WHERE buyer = ?1",
		     "b1");
	CHECK_STR(s, "queued,2,refund,O-9,3,1000,3000");
	free(s);
	CHECK_INT(sql_int(db,
			  "SELECT count(*) FROM conversations WHERE buyer = ?1"
			  " AND state = 'bot' AND misses = 0"
			  " AND last_intent IS NULL AND order_id IS NULL"
			  " AND turns = 1 AND created_ms = 500"
			  " AND updated_ms = 500",
			  "b2"),
		  1);
	s = sql_text(db,
		     "SELECT group_concat(id || role || text, '|')"
		     " FROM (SELECT * FROM messages WHERE id < ?1 ORDER BY id)",
		     "7");
	CHECK_STR(s, "1buyer在吗|2bot亲, 在的|3buyerasdf|4buyer转人工|"
		     "5agent您好我是小美|6buyer我要退款");
	free(s);
	s = sql_text(db,
		     "SELECT reason || ' ' || status FROM escalations"
		     " WHERE buyer = ?1",
		     "b1");
	CHECK_STR(s, "request claimed");
	free(s);
}

static void
test_migrate_v1(void)
{
	struct store_counts c = {-1, -1, -1, -1};
	struct bot_err err = {""};
	struct buyer_lines b;
	struct store_done done[4];
	struct store_turn t;
	struct store *st;
	char *path, *s;
	sqlite3 *db;

	TEST("store-9.1");
	path = tmp_path("v1.db");
	db = sql_open(path);
	CHECK_INT(
		sqlite3_exec(db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL),
		SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, v1_file, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	st = store_open(path, NULL, &err);
	CHECK(st != NULL);
	if (st == NULL) {
		fprintf(stderr, "test_store: %s\n", err.msg);
		free(path);
		return;
	}
	CHECK_INT(store_schema_version(st), STORE_TEST_VERSION);
	CHECK_INT(store_counts(st, &c, &err), 0);
	CHECK_INT(c.conversations, 2);
	CHECK_INT(c.messages, 6);
	CHECK_INT(c.unmatched, 2);
	CHECK_INT(c.escalations, 1);
	db = sql_open(path);
	check_v1_rows(db);
	sqlite3_close(db);

	/* The readers see the same lines as before the migration. */
	TEST("store-9.2");
	memset(&b, 0, sizeof(b));
	b.only_buyer = true;
	CHECK_INT(store_foreach_buyer_message(st, 0, INT64_MAX, buyer_line_fn,
					      &b),
		  0);
	CHECK(b.only_buyer);
	CHECK_STR(b.seen, "b1:asdf@1000|b1:转人工@2000|b1:我要退款@3000|"
			  "b2:在吗@500|");

	/* The writer carries on the migrated conversation. */
	TEST("store-9.3");
	CHECK_INT(store_start_writer(st, NULL, NULL, &err), 0);
	sample_turn(&t, "b1", 4000);
	t.state = "agent";
	CHECK_INT(store_submit_turn(st, &t), 0);
	store_flush(st);
	CHECK_INT(store_take_done(st, done, 4), 1);
	CHECK(done[0].ok);
	store_close(st);

	TEST("store-9.4");
	db = sql_open(path);
	s = sql_text(db,
		     "SELECT state || ',' || turns || ',' || created_ms"
		     "  || ',' || updated_ms"
		     " FROM conversations WHERE buyer = ?1",
		     "b1");
	CHECK_STR(s, "agent,4,1000,4000");
	free(s);
	CHECK_INT(sql_int(db,
			  "SELECT count(*) FROM conversations WHERE buyer = ?1"
			  " AND turns = 1 AND updated_ms = 500",
			  "b2"),
		  1);
	s = sql_text(db,
		     "SELECT group_concat(id || role || text, '|')"
		     " FROM (SELECT * FROM messages WHERE id < ?1 ORDER BY id)",
		     "7");
	CHECK_STR(s, "1buyer在吗|2bot亲, 在的|3buyerasdf|4buyer转人工|"
		     "5agent您好我是小美|6buyer我要退款");
	free(s);
	CHECK_INT(sql_int(db,
			  "SELECT count(*) FROM messages WHERE id > 6"
			  " AND buyer = ?1",
			  "b1"),
		  2);
	/* What version 2 changed, and only that. */
	CHECK_INT(sql_int(db,
			  "SELECT count(*) FROM sqlite_master WHERE name = ?1",
			  "messages_buyer"),
		  0);
	CHECK_INT(sql_int(db,
			  "SELECT count(*) FROM sqlite_master WHERE type ="
			  " 'index' AND name IN ('messages_at',"
			  " 'unmatched_normalized', 'escalations_status')",
			  NULL),
		  3);
	CHECK_INT(sql_int(db,
			  "SELECT count(*) FROM sqlite_master WHERE name = ?1"
			  " AND sql LIKE '%WITHOUT ROWID%'",
			  "conversations"),
		  1);
	/* Version 3: the columns a conversation resumes with, NULL in the
	 * rows that were there. */
	CHECK_INT(sql_int(db,
			  "SELECT count(*) FROM conversations WHERE"
			  " pending_intent IS NULL AND pending_slot IS NULL"
			  " AND item IS NULL",
			  NULL),
		  2);
	/* Version 4: the last message, NULL in the rows that were there. */
	CHECK_INT(sql_int(db,
			  "SELECT count(*) FROM conversations WHERE"
			  " last_text IS NULL",
			  NULL),
		  2);
	CHECK_INT(sql_int(db, "PRAGMA user_version", NULL), STORE_TEST_VERSION);
	sqlite3_close(db);
	free(path);
}

/* --- store-10: checkpoints ---------------------------------------------- */

static long long
file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
}

/* The WAL header's checkpoint sequence number: it goes up each time the
 * WAL starts over (https://sqlite.org/fileformat2.html#walformat). */
static long long
wal_sequence(const char *wal)
{
	unsigned char h[16];
	FILE *f = fopen(wal, "rb");
	long long v = -1;

	if (f != NULL && fread(h, 1, sizeof(h), f) == sizeof(h))
		v = (long long)h[12] << 24 | h[13] << 16 | h[14] << 8 | h[15];
	if (f != NULL)
		fclose(f);
	return v;
}

/* Submit 'n' turns, wait until they are written, take the results. */
static int
write_turns(struct store *st, int first, int n, const char *text)
{
	struct store_done done[64];
	struct store_turn t;
	char buyer[32];
	int i, ok = 0;
	size_t k, got;

	for (i = first; i < first + n; i++) {
		snprintf(buyer, sizeof(buyer), "b%d", i % 97);
		sample_turn(&t, buyer, 1000 + i);
		if (text != NULL)
			t.text = t.reply = text;
		if (store_submit_turn(st, &t) < 0)
			return -1;
	}
	store_flush(st);
	while ((got = store_take_done(st, done, ARRAY_SIZE(done))) > 0)
		for (k = 0; k < got; k++)
			ok += done[k].ok;
	return ok;
}

/* Idle: a pass copies the WAL into the file, and the WAL starts over. */
static void
test_idle_checkpoint(void)
{
	const struct timespec pause = {.tv_nsec = 50 * 1000 * 1000};
	struct store_options opt = {.idle_ckpt_ms = 20, .ckpt_pages = 1000000};
	struct bot_err err = {""};
	struct store *st;
	char *path, *wal;
	long long db0, seq;
	int waited;

	TEST("store-10.1");
	path = tmp_path("idle.db");
	wal = tmp_path("idle.db-wal");
	st = store_open(path, &opt, &err);
	CHECK(st != NULL);
	if (st == NULL)
		goto out;
	CHECK_INT(store_start_writer(st, NULL, NULL, &err), 0);
	db0 = file_size(path);
	CHECK_INT(write_turns(st, 0, 300, NULL), 300);
	seq = wal_sequence(wal);
	CHECK(seq >= 0);
	/* No pass is due by size (ckpt_pages is huge): only idleness. */
	for (waited = 0; waited < 5000 && file_size(path) <= db0; waited += 50)
		nanosleep(&pause, NULL);
	CHECK(file_size(path) > db0);

	/* The first commit after a whole pass starts the WAL over (the
	 * pass may still be syncing when the file has grown). */
	TEST("store-10.2");
	for (waited = 0; waited < 5000 && wal_sequence(wal) == seq;
	     waited += 50) {
		nanosleep(&pause, NULL);
		CHECK_INT(write_turns(st, 300 + waited / 50, 1, NULL), 1);
	}
	CHECK(wal_sequence(wal) > seq);
	store_close(st);
	st = store_open(path, NULL, &err);
	CHECK(st != NULL);
	if (st != NULL) {
		struct store_counts c = {-1, -1, -1, -1};

		CHECK_INT(store_counts(st, &c, &err), 0);
		CHECK_INT(c.messages, 2 * (300 + waited / 50));
		store_close(st);
	}
out:
	free(wal);
	free(path);
}

/*
 * Constant load: the writer is never idle for idle_ckpt_ms, yet the WAL
 * stays a small fraction of what goes through it.  Every turn carries
 * 2 x 1.5 KB of text; the bound is loose because the checkpointer's
 * fsyncs may be slow on a busy disk.
 */
#define WAL_TURNS 4000
#define WAL_CHUNK 10

static void
test_wal_bounded(void)
{
	struct store_options opt = {
		.ckpt_pages = 16, .wal_max_pages = 64, .idle_ckpt_ms = 600000};
	struct bot_err err = {""};
	struct store *st;
	char *path, *wal, *text;
	long long wal_max = 0, size;
	int i, ok = 0;

	TEST("store-11.1");
	path = tmp_path("bounded.db");
	wal = tmp_path("bounded.db-wal");
	text = xmalloc(1501);
	for (i = 0; i < 500; i++)
		memcpy(text + 3 * i, "货", 3);
	text[1500] = '\0';
	st = store_open(path, &opt, &err);
	CHECK(st != NULL);
	if (st == NULL)
		goto out;
	CHECK_INT(store_start_writer(st, NULL, NULL, &err), 0);
	for (i = 0; i < WAL_TURNS; i += WAL_CHUNK) {
		ok += write_turns(st, i, WAL_CHUNK, text);
		size = file_size(wal);
		if (size > wal_max)
			wal_max = size;
	}
	CHECK_INT(ok, WAL_TURNS);
	store_close(st);
	/* Everything went through the WAL into the file (3 KB a turn);
	 * the WAL never held a quarter of it. */
	CHECK(file_size(path) > WAL_TURNS * 3000LL);
	CHECK(wal_max < WAL_TURNS * 3000LL / 4);
	if (wal_max >= WAL_TURNS * 3000LL / 4)
		fprintf(stderr, "test_store: the WAL reached %lld bytes\n",
			wal_max);
out:
	free(text);
	free(wal);
	free(path);
}

void
suite_store(void)
{
	if (mkdtemp(strcpy(tmpdir, "/tmp/xiaoer-store-XXXXXX")) == NULL) {
		TEST("store-0");
		CHECK(!"mkdtemp");
		return;
	}
	test_open();
	test_write_turn();
	test_foreach();
	test_writer();
	test_queue_full();
	test_disk_full();
	test_health_news();
	test_load_conversation();
	test_buyer_messages();
	test_unmatched_groups();
	test_migrate_v1();
	test_idle_checkpoint();
	test_wal_bounded();
	remove_tree(tmpdir);
}
