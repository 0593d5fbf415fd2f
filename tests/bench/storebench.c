/*
 * storebench.c - the SQLite writer alone, driven the way the server
 * drives it.
 *
 * Before the clock starts it runs the real dialog (the shipped content,
 * --content) over real buyer lines (tests/corpus/messages.tsv, or --texts,
 * or a built-in list) to get a pool of realistic turns: text, normalised
 * form, intent, script, reply, unmatched and escalation flags as the
 * server hands them to the store.  Then it opens a real database file in
 * a fresh directory (on disk under /var/tmp unless --dir says otherwise),
 * starts the writer and submits turns from the main thread for --buyers
 * buyers in turn.  The writer's notify function writes a byte to a pipe
 * (what lws_cancel_service() does); the main thread poll()s it and takes
 * the results with store_take_done() 64 at a time, as server.c does.
 *
 *   closed loop   --inflight turns are always submitted and not yet done:
 *   (default)     one new turn for each result.  Throughput.
 *   --rate R      R turns per second whatever the results do.  Latency
 *                 at a given load, stalls included.
 *
 * --work-us N spins N microseconds before each submit, standing in for
 * the service thread's own work on a message: with the process on one
 * CPU (taskset -c 0, as bench.sh runs the server) the writer then
 * competes for that CPU as in the server, which decides how many turns
 * each commit gets.
 *
 * It prints turns/s, CPU microseconds per turn (getrusage: every thread,
 * so the writer's commits, the checkpoints and the submits), turns per
 * commit, the p50/p99/max submit-to-done latency, the largest WAL file
 * seen and the sizes at the end.  Exit status 0 after a run, 1 when it
 * could not run, 2 on a usage error.
 */
#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "../../bot/content.h"
#include "../../bot/dialog.h"
#include "../../bot/store.h"
#include "../../bot/util.h"
#include "texts.h"

#define SB_POOL_MAX	 512   /* distinct turns prepared */
#define SB_TAKE		 64    /* results per store_take_done(), as server.c */
#define SB_WAIT_MS	 30000 /* no result for this long: give up */
#define SB_TMPFS_MAGIC	 0x01021994
#define SB_CORPUS	 "tests/corpus/messages.tsv"
#define SB_SAMPLE_EVERY	 1024 /* turns between WAL size samples */
#define SB_DEFAULT_TURNS 100000

/* One prepared turn: owned copies of what dialog_handle() decided. */
struct sb_turn {
	char *text, *normalized, *intent, *topic, *action, *script, *reply;
	char *escalation, *state, *last_intent, *last_text;
	bool unmatched;
	int misses;
};

struct sb_opts {
	long turns;
	long inflight;
	long buyers;
	long work_us;	    /* simulated service work per turn */
	long rate;	    /* open loop: turns per second; 0: closed */
	long ckpt_pages;    /* 0: the store's default */
	long wal_max_pages; /* 0: the store's default */
	int pid;	    /* in the buyer ids, as loadgen's "lgPID-N" */
	bool sync_full;
	bool keep;
	const char *dir; /* parent of the run's directory */
	const char *content;
	const char *texts;
};

struct sb_run {
	struct store *st;
	int pipefd[2];
	int64_t *sent_ns; /* [turn]: submit time */
	int64_t *lat_ns;  /* [done]: submit-to-done */
	long submitted, done, failed;
	char wal_path[512];
	off_t wal_max;
	unsigned long wakes;  /* the main thread's poll() wake-ups */
	atomic_ulong batches; /* notify calls: one per group commit */
};

static double
cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static char *
dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

/* --- the pool of turns ------------------------------------------------ */

static void
keep_turn(struct sb_turn *p, const struct dialog_turn *dt,
	  const struct conversation *c, const char *text)
{
	p->text = xstrdup(text);
	p->normalized = xstrdup(dt->normalized.buf);
	p->intent = dup_or_null(dt->intent);
	p->topic = dup_or_null(dt->topic);
	p->action = xstrdup(dialog_action_name(dt->action));
	p->script = dup_or_null(dt->script);
	p->reply = dt->action == DIALOG_SILENT ? NULL : xstrdup(dt->reply.buf);
	p->escalation =
		dt->new_escalation
			? dup_or_null(dialog_escalation_name(dt->escalation))
			: NULL;
	p->state = xstrdup(dialog_state_name(c->state));
	p->last_intent = c->last_intent[0] ? xstrdup(c->last_intent) : NULL;
	p->last_text = c->last_text[0] ? xstrdup(c->last_text) : NULL;
	p->unmatched = dt->unmatched;
	p->misses = c->misses;
}

/* Run the dialog over the texts: one fresh conversation per text. */
static size_t
make_pool(const struct sb_opts *o, struct sb_turn *pool)
{
	char **texts = NULL;
	struct bot_err err = {""};
	struct dialog_policy pol;
	struct dialog_turn dt;
	struct conversation c;
	struct dialog_input in;
	struct content *ct;
	size_t n, i, k = 0;
	long got;

	ct = content_load(o->content, &err);
	if (ct == NULL) {
		fprintf(stderr, "storebench: %s\n", err.msg);
		return 0;
	}
	got = bench_texts_read(o->texts ? o->texts : SB_CORPUS, SB_POOL_MAX,
			       &texts);
	if (got <= 0 && o->texts != NULL) {
		fprintf(stderr, "storebench: cannot read '%s'\n", o->texts);
		bench_texts_free(texts, 0);
		content_free(ct);
		return 0;
	}
	n = got > 0 ? (size_t)got : 0;
	if (n == 0) { /* no corpus here: the built-in lines */
		free(texts);
		texts = xmalloc(bench_nbuiltin * sizeof(*texts));
		for (n = 0; n < bench_nbuiltin; n++)
			texts[n] = xstrdup(bench_builtin_texts[n]);
	}
	dialog_policy_init(&pol);
	dialog_turn_init(&dt);
	for (i = 0; i < n; i++) {
		conversation_init(&c, "storebench", 0);
		memset(&in, 0, sizeof(in));
		in.text = texts[i];
		in.len = strlen(texts[i]);
		if (dialog_handle(ct, &pol, &c, &in, util_now_ms(), &dt) == 0)
			keep_turn(&pool[k++], &dt, &c, texts[i]);
	}
	bench_texts_free(texts, n);
	dialog_turn_release(&dt);
	content_free(ct);
	return k;
}

static void
pool_free(struct sb_turn *pool, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(pool[i].text);
		free(pool[i].normalized);
		free(pool[i].intent);
		free(pool[i].topic);
		free(pool[i].action);
		free(pool[i].script);
		free(pool[i].reply);
		free(pool[i].escalation);
		free(pool[i].state);
		free(pool[i].last_intent);
		free(pool[i].last_text);
	}
}

/* --- the loops -------------------------------------------------------- */

/* The writer's notify: what lws_cancel_service() does, a pipe write. */
static void
wake(void *arg)
{
	struct sb_run *r = arg;
	char b = 1;

	atomic_fetch_add(&r->batches, 1);
	if (write(r->pipefd[1], &b, 1) < 0 && errno != EAGAIN)
		abort();
}

/* Stand-in for the service thread's own work on a message (parse, match,
 * reply), so that the writer competes for the CPU as in the server. */
static void
spin_us(long us)
{
	int64_t until = util_mono_ns() + (int64_t)us * 1000;

	while (us > 0 && util_mono_ns() < until)
		;
}

/* Submit turn number 'seq' (from 0), as the server's fill_turn(). */
static int
submit(struct sb_run *r, const struct sb_opts *o, const struct sb_turn *pool,
       size_t npool, long seq)
{
	const struct sb_turn *p = &pool[(size_t)seq % npool];
	struct store_turn t;
	char buyer[32], msg_id[32];
	int64_t ms;

	spin_us(o->work_us);
	ms = util_now_ms();

	snprintf(buyer, sizeof(buyer), "sb%d-%ld", o->pid, seq % o->buyers);
	snprintf(msg_id, sizeof(msg_id), "%ld-%ld", seq % o->buyers,
		 seq / o->buyers);
	memset(&t, 0, sizeof(t));
	t.buyer = buyer;
	t.msg_id = msg_id;
	t.text = p->text;
	t.normalized = p->normalized;
	t.at_ms = ms;
	t.intent = p->intent;
	t.topic = p->topic;
	t.action = p->action;
	t.script = p->script;
	t.reply = p->reply;
	t.reply_ms = ms;
	t.unmatched = p->unmatched;
	t.escalation = p->escalation;
	t.state = p->state;
	t.misses = p->misses;
	t.last_intent = p->last_intent;
	t.last_text = p->last_text;
	t.order_id = NULL;
	t.user = (void *)(uintptr_t)seq;
	r->sent_ns[seq] = util_mono_ns();
	if (store_submit_turn(r->st, &t) < 0) {
		fprintf(stderr, "storebench: the writer queue is full\n");
		return -1;
	}
	r->submitted++;
	return 0;
}

static void
sample_wal(struct sb_run *r)
{
	struct stat sb;

	if (stat(r->wal_path, &sb) == 0 && sb.st_size > r->wal_max)
		r->wal_max = sb.st_size;
}

/* Take every finished turn; in the closed loop submit one more for each,
 * up to the total. */
static int
take_all(struct sb_run *r, const struct sb_opts *o, const struct sb_turn *pool,
	 size_t npool)
{
	struct store_done d[SB_TAKE];
	size_t n, i;

	while ((n = store_take_done(r->st, d, SB_TAKE)) > 0) {
		int64_t t = util_mono_ns();

		for (i = 0; i < n; i++) {
			long seq = (long)(uintptr_t)d[i].user;

			r->lat_ns[r->done++] = t - r->sent_ns[seq];
			if (!d[i].ok)
				r->failed++;
			if (r->done % SB_SAMPLE_EVERY == 0)
				sample_wal(r);
			if (o->rate == 0 && r->submitted < o->turns &&
			    submit(r, o, pool, npool, r->submitted) < 0)
				return -1;
		}
	}
	return 0;
}

/* Open loop: submit every turn that is due; ms until the next one. */
static int
submit_due(struct sb_run *r, const struct sb_opts *o,
	   const struct sb_turn *pool, size_t npool, int64_t start_ns)
{
	int64_t now = util_mono_ns(), due;

	for (;;) {
		if (r->submitted >= o->turns)
			return SB_WAIT_MS;
		due = start_ns + r->submitted * (int64_t)1000000000 / o->rate;
		if (due > now)
			return (int)((due - now + 999999) / 1000000);
		if (submit(r, o, pool, npool, r->submitted) < 0)
			return -1;
	}
}

static int
run_loop(struct sb_run *r, const struct sb_opts *o, const struct sb_turn *pool,
	 size_t npool)
{
	struct pollfd pfd = {.fd = r->pipefd[0], .events = POLLIN};
	int64_t start = util_mono_ns(), last = start;
	char buf[256];
	long i;

	for (i = 0; o->rate == 0 && i < o->inflight && i < o->turns; i++)
		if (submit(r, o, pool, npool, i) < 0)
			return -1;
	while (r->done < o->turns) {
		int timeout = SB_WAIT_MS, rc;

		if (o->rate > 0) {
			timeout = submit_due(r, o, pool, npool, start);
			if (timeout < 0)
				return -1;
		}
		rc = poll(&pfd, 1, timeout);
		if (rc < 0 && errno != EINTR)
			return -1;
		if (rc > 0) {
			while (read(r->pipefd[0], buf, sizeof(buf)) > 0)
				;
			r->wakes++;
			last = util_mono_ns();
			if (take_all(r, o, pool, npool) < 0)
				return -1;
		} else if (util_mono_ns() - last >
			   (int64_t)SB_WAIT_MS * 1000000) {
			fprintf(stderr,
				"storebench: no result for %d ms after %ld "
				"turns\n",
				SB_WAIT_MS, r->done);
			return -1;
		}
	}
	return 0;
}

/* --- report ----------------------------------------------------------- */

/* The CPUs this process may run on (taskset), as /proc says; "?". */
static void
allowed_cpus(char *out, size_t len)
{
	static const char key[] = "Cpus_allowed_list:";
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	snprintf(out, len, "?");
	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, key, sizeof(key) - 1) == 0) {
			snprintf(out, len, "%s",
				 line + sizeof(key) - 1 +
					 strspn(line + sizeof(key) - 1, " \t"));
			out[strcspn(out, "\n")] = '\0';
		}
	}
	if (f != NULL)
		fclose(f);
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static double
pct_us(const int64_t *v, long n, double p)
{
	long i = (long)(p * (double)(n - 1) + 0.5);

	return n > 0 ? (double)v[i] / 1000.0 : 0.0;
}

static off_t
file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? sb.st_size : 0;
}

static void
report(struct sb_run *r, const struct sb_opts *o, const char *db, double secs,
       double cpu)
{
	qsort(r->lat_ns, (size_t)r->done, sizeof(*r->lat_ns), cmp_i64);
	char cpus[64], mode[64];

	allowed_cpus(cpus, sizeof(cpus));
	if (o->rate > 0)
		snprintf(mode, sizeof(mode), "open loop at %ld/s", o->rate);
	else
		snprintf(mode, sizeof(mode), "%ld in flight", o->inflight);
	printf("storebench: %ld turns (%ld failed), %s, %ld buyers, "
	       "db_sync %s, cpus %s\n",
	       r->done, r->failed, mode, o->buyers,
	       o->sync_full ? "full" : "normal", cpus);
	printf("storebench: %.0f turns/s, %.2f cpu us/turn (%.0f%% of one "
	       "core), %.1f turns per commit, %.1f per wake-up\n",
	       (double)r->done / secs, cpu * 1e6 / (double)r->done,
	       100.0 * cpu / secs,
	       (double)r->done / (double)atomic_load(&r->batches),
	       (double)r->done / (double)r->wakes);
	if (o->work_us > 0)
		printf("storebench: of which %ld us/turn simulated service "
		       "work (--work-us)\n",
		       o->work_us);
	printf("storebench: submit-to-done p50 %.0f us, p99 %.0f us, max "
	       "%.0f us\n",
	       pct_us(r->lat_ns, r->done, 0.50),
	       pct_us(r->lat_ns, r->done, 0.99),
	       pct_us(r->lat_ns, r->done, 1.0));
	printf("storebench: wal max %.1f MiB, at end: db %.1f MiB, wal %.1f "
	       "MiB (%s)\n",
	       (double)r->wal_max / 1048576.0,
	       (double)file_size(db) / 1048576.0,
	       (double)file_size(r->wal_path) / 1048576.0, db);
}

/* --- options and main ------------------------------------------------- */

static void
usage(void)
{
	fprintf(stderr,
		"usage: storebench [--turns N] [--inflight N | --rate R] "
		"[--buyers N]\n"
		"                  [--work-us N] [--dir DIR] "
		"[--sync normal|full] [--keep]\n"
		"                  [--content DIR] [--texts FILE] "
		"[--ckpt-pages N] [--wal-max-pages N]\n"
		"  --dir DIR   where the run's directory is made (default "
		"/var/tmp, on disk;\n"
		"              /dev/shm for tmpfs)\n"
		"  run it from the repository root (or give --content), "
		"pinned as the\n"
		"  server is: taskset -c 0 build/bench/storebench\n");
}

static int
num_arg(const char *s, long min, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < min)
		return -1;
	*out = v;
	return 0;
}

static int
parse_args(int argc, char **argv, struct sb_opts *o)
{
	long v;
	int i;

	*o = (struct sb_opts){.turns = SB_DEFAULT_TURNS,
			      .inflight = 1000,
			      .buyers = 1000,
			      .dir = "/var/tmp",
			      .content = ".",
			      .pid = (int)getpid()};
	for (i = 1; i < argc; i++) {
		const char *a = argv[i],
			   *v_s = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--keep") == 0) {
			o->keep = true;
			continue;
		}
		if (v_s == NULL)
			return -1;
		i++;
		if (strcmp(a, "--turns") == 0 && num_arg(v_s, 1, &v) == 0)
			o->turns = v;
		else if (strcmp(a, "--inflight") == 0 &&
			 num_arg(v_s, 1, &v) == 0)
			o->inflight = v;
		else if (strcmp(a, "--buyers") == 0 && num_arg(v_s, 1, &v) == 0)
			o->buyers = v;
		else if (strcmp(a, "--rate") == 0 && num_arg(v_s, 0, &v) == 0)
			o->rate = v;
		else if (strcmp(a, "--work-us") == 0 &&
			 num_arg(v_s, 0, &v) == 0)
			o->work_us = v;
		else if (strcmp(a, "--ckpt-pages") == 0 &&
			 num_arg(v_s, 1, &v) == 0)
			o->ckpt_pages = v;
		else if (strcmp(a, "--wal-max-pages") == 0 &&
			 num_arg(v_s, 1, &v) == 0)
			o->wal_max_pages = v;
		else if (strcmp(a, "--sync") == 0 &&
			 (strcmp(v_s, "normal") == 0 ||
			  strcmp(v_s, "full") == 0))
			o->sync_full = strcmp(v_s, "full") == 0;
		else if (strcmp(a, "--dir") == 0)
			o->dir = v_s;
		else if (strcmp(a, "--content") == 0)
			o->content = v_s;
		else if (strcmp(a, "--texts") == 0)
			o->texts = v_s;
		else
			return -1;
	}
	return 0;
}

static void
remove_run(const char *dir, const char *db, const char *wal)
{
	char shm[600];

	snprintf(shm, sizeof(shm), "%s-shm", db);
	unlink(wal);
	unlink(shm);
	unlink(db);
	rmdir(dir);
}

int
main(int argc, char **argv)
{
	static struct sb_turn pool[SB_POOL_MAX];
	struct store_options so = {0};
	struct bot_err err = {""};
	struct sb_run r = {0};
	struct sb_opts o;
	struct statfs fs;
	char dir[400], db[500];
	size_t npool;
	double t0, c0, secs, cpu;
	int rc = 1;

	if (parse_args(argc, argv, &o) < 0) {
		usage();
		return 2;
	}
	npool = make_pool(&o, pool);
	if (npool == 0)
		return 1;
	snprintf(dir, sizeof(dir), "%s/storebench-XXXXXX", o.dir);
	if (mkdtemp(dir) == NULL) {
		fprintf(stderr,
			"storebench: cannot make a directory in '%s': "
			"%s\n",
			o.dir, strerror(errno));
		goto out_pool;
	}
	if (statfs(dir, &fs) == 0 && fs.f_type == SB_TMPFS_MAGIC)
		fprintf(stderr, "storebench: note: '%s' is on tmpfs\n", dir);
	snprintf(db, sizeof(db), "%s/bench.db", dir);
	snprintf(r.wal_path, sizeof(r.wal_path), "%s-wal", db);
	r.pipefd[0] = r.pipefd[1] = -1;
	if (pipe(r.pipefd) < 0) {
		fprintf(stderr, "storebench: pipe: %s\n", strerror(errno));
		goto out_dir;
	}
	fcntl(r.pipefd[0], F_SETFL, O_NONBLOCK);
	fcntl(r.pipefd[1], F_SETFL, O_NONBLOCK);
	so.sync_full = o.sync_full;
	so.queue_max = (size_t)(o.rate ? o.turns : o.inflight) + 1;
	so.ckpt_pages = (int)o.ckpt_pages;
	so.wal_max_pages = (int)o.wal_max_pages;
	r.sent_ns = xcalloc((size_t)o.turns, sizeof(*r.sent_ns));
	r.lat_ns = xcalloc((size_t)o.turns, sizeof(*r.lat_ns));
	r.st = store_open(db, &so, &err);
	if (r.st == NULL || store_start_writer(r.st, wake, &r, &err) < 0) {
		fprintf(stderr, "storebench: %s\n", err.msg);
		goto out_store;
	}
	t0 = (double)util_mono_ns() / 1e9;
	c0 = cpu_seconds();
	if (run_loop(&r, &o, pool, npool) < 0)
		goto out_store;
	secs = (double)util_mono_ns() / 1e9 - t0;
	cpu = cpu_seconds() - c0;
	sample_wal(&r);
	report(&r, &o, db, secs, cpu);
	rc = 0;
out_store:
	store_close(r.st);
	free(r.sent_ns);
	free(r.lat_ns);
out_dir:
	if (r.pipefd[0] >= 0)
		close(r.pipefd[0]);
	if (r.pipefd[1] >= 0)
		close(r.pipefd[1]);
	if (!o.keep)
		remove_run(dir, db, r.wal_path);
	else
		printf("storebench: kept %s\n", db);
out_pool:
	pool_free(pool, npool);
	return rc;
}
