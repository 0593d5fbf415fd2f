/*
 * matchbench.c - what one buyer message costs the decision core, in µs.
 *
 * Loads the shipped content (or --content DIR) exactly as the server does
 * and, for every buyer message of the corpus (the third column of
 * tests/corpus/messages.tsv, or one message per line of --texts FILE),
 * times with clock_gettime(CLOCK_MONOTONIC):
 *   (a) matching: text_normalize() + intents_match(), what the server does
 *       for every message before it picks a script;
 *   (b) the full turn: dialog_handle() on a fresh conversation (normalise,
 *       match, slots, product, script choice, rendering).
 * Each message is run --reps times back to back (caches warm, the figure
 * is the mean of those), and that is repeated in --rounds rounds over the
 * whole corpus; a message's figure is its median over the rounds, so a
 * burst of other work on a shared machine spoils one round, not the
 * result.  Prints median, p90, p99 and max over the messages, the PCRE2
 * matches run per message (intents_pattern_runs) and the slowest messages.
 *
 * --cold times what the server sees instead: there, between two messages,
 * the kernel's network stack, lws and SQLite evict the matcher's tables,
 * its JIT code and the content from the caches.  Before each timed run it
 * writes one byte in every 64-byte line of a buffer larger than this
 * core's share of the last-level cache (--cold-mib, 8 MiB), then times a
 * single run of the message (no back-to-back --reps).
 *
 * --json adds one line with every number, for bench.sh.  No socket, no
 * database: CPU only.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../bot/content.h"
#include "../../bot/dialog.h"
#include "../../bot/intents.h"
#include "../../bot/text.h"
#include "../../bot/util.h"
#include "texts.h"

#define MB_MAX_TEXT 8192 /* bytes of one message; longer ones are left out */
#define MB_LINE	    64	 /* bytes of a cache line, for --cold */

struct opts {
	const char *content;
	const char *texts;
	int rounds;
	int reps;
	int top;
	bool json;
	bool no_prefilter;
	const char *only; /* "match" or "turn": time one of them (profiling) */
	bool cold;	  /* evict the caches before each single timed run */
	int cold_mib;	  /* MiB of the buffer written to evict them */
};

struct msg {
	char *text;
	size_t len;
	double match_us; /* median over the rounds */
	double turn_us;
	size_t runs; /* PCRE2 matches of one intents_match() */
	double *samples;
};

struct bench {
	struct opts o;
	struct content *ct;
	struct dialog_policy policy;
	struct dialog_turn turn;
	struct conversation fresh;
	struct conversation *convs; /* o.reps fresh copies per message */
	struct msg *v;
	size_t n;
	char norm[MB_MAX_TEXT + 1];
	int64_t now_ms;
	unsigned char *evict; /* --cold: o.cold_mib MiB */
	size_t evict_len;
};

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The q-quantile (0..1) of sorted 'v', nearest rank. */
static double
quantile(const double *v, size_t n, double q)
{
	size_t i = (size_t)(q * (double)n + 0.999999);

	if (n == 0)
		return 0;
	if (i == 0)
		i = 1;
	return v[(i > n ? n : i) - 1];
}

/* The messages of the texts file (texts.h says which lines count), less
 * those the server would refuse: over MB_MAX_TEXT bytes or not valid
 * UTF-8. */
static int
read_texts(struct bench *b)
{
	char **v;
	long n = bench_texts_read(b->o.texts, SIZE_MAX, &v), i;
	size_t len;

	if (n < 0) {
		fprintf(stderr, "matchbench: cannot read '%s'\n", b->o.texts);
		return -1;
	}
	b->v = xcalloc(n > 0 ? (size_t)n : 1, sizeof(*b->v));
	for (i = 0; i < n; i++) {
		len = strlen(v[i]);
		if (len > MB_MAX_TEXT || !text_valid_utf8(v[i], len))
			continue;
		b->v[b->n].text = xstrndup(v[i], len);
		b->v[b->n].len = len;
		b->n++;
	}
	bench_texts_free(v, (size_t)n);
	return b->n ? 0 : -1;
}

/*
 * --cold: write one byte in every cache line of the eviction buffer, so
 * that what the last message left in the caches is gone, as it is in the
 * server after the network stack, lws and SQLite ran.  The writes go
 * through a volatile pointer so that the compiler keeps every one.
 */
static void
evict_caches(struct bench *b)
{
	volatile unsigned char *p = b->evict;
	size_t i;

	for (i = 0; i < b->evict_len; i += MB_LINE)
		p[i]++;
}

/* (a): normalise and match, 'reps' times; µs per message.  With --cold,
 * reps is 1 and the caches are evicted first. */
static double
time_match(struct bench *b, const struct msg *m)
{
	struct intent_match im;
	double t0;
	int i;

	if (b->o.cold)
		evict_caches(b);
	t0 = now_us();
	for (i = 0; i < b->o.reps; i++) {
		size_t n = text_normalize(m->text, m->len, b->norm,
					  sizeof(b->norm));

		intents_match(b->ct->intents, b->norm, n, &im);
	}
	return (now_us() - t0) / b->o.reps;
}

/* (b): dialog_handle on a fresh conversation, 'reps' times. */
static double
time_turn(struct bench *b, const struct msg *m)
{
	struct dialog_input in = {m->text, m->len, NULL, NULL, NULL};
	double t0;
	int i;

	for (i = 0; i < b->o.reps; i++)
		b->convs[i] = b->fresh;
	if (b->o.cold)
		evict_caches(b);
	t0 = now_us();
	for (i = 0; i < b->o.reps; i++)
		dialog_handle(b->ct, &b->policy, &b->convs[i], &in, b->now_ms,
			      &b->turn);
	return (now_us() - t0) / b->o.reps;
}

static size_t
count_runs(struct bench *b, const struct msg *m)
{
	struct intent_match im;
	uint64_t before = intents_pattern_runs(b->ct->intents);
	size_t n = text_normalize(m->text, m->len, b->norm, sizeof(b->norm));

	intents_match(b->ct->intents, b->norm, n, &im);
	return (size_t)(intents_pattern_runs(b->ct->intents) - before);
}

/* Every message, 'rounds' times; each figure is the median of its rounds. */
static void
measure(struct bench *b, double (*fn)(struct bench *, const struct msg *),
	bool turn)
{
	size_t i;
	int r;

	for (i = 0; i < b->n; i++) /* warm-up: JIT code, tables, caches */
		fn(b, &b->v[i]);
	for (r = 0; r < b->o.rounds; r++)
		for (i = 0; i < b->n; i++)
			b->v[i].samples[r] = fn(b, &b->v[i]);
	for (i = 0; i < b->n; i++) {
		double med;

		qsort(b->v[i].samples, (size_t)b->o.rounds, sizeof(double),
		      cmp_double);
		med = b->v[i].samples[b->o.rounds / 2];
		if (turn)
			b->v[i].turn_us = med;
		else
			b->v[i].match_us = med;
	}
}

struct dist {
	double p50, p90, p99, max, mean;
};

static struct dist
distribution(const struct bench *b, size_t field)
{
	double *v = xmalloc(b->n * sizeof(double)), sum = 0;
	struct dist d;
	size_t i;

	for (i = 0; i < b->n; i++) {
		const struct msg *m = &b->v[i];

		v[i] = field == 0   ? m->match_us
		       : field == 1 ? m->turn_us
				    : (double)m->runs;
		sum += v[i];
	}
	qsort(v, b->n, sizeof(double), cmp_double);
	d.p50 = quantile(v, b->n, 0.5);
	d.p90 = quantile(v, b->n, 0.9);
	d.p99 = quantile(v, b->n, 0.99);
	d.max = v[b->n - 1];
	d.mean = sum / (double)b->n;
	free(v);
	return d;
}

static int
cmp_slowest(const void *a, const void *b)
{
	const struct msg *x = a, *y = b;

	return cmp_double(&y->match_us, &x->match_us);
}

/* The slowest messages (by matching), their text cut to 40 bytes. */
static void
print_slowest(struct bench *b)
{
	struct msg *v = xmalloc(b->n * sizeof(*v));
	size_t i, k, cut;

	memcpy(v, b->v, b->n * sizeof(*v));
	qsort(v, b->n, sizeof(*v), cmp_slowest);
	printf("slowest messages (matching µs, full turn µs, patterns run):\n");
	for (i = 0; i < b->n && i < (size_t)b->o.top; i++) {
		cut = v[i].len < 40 ? v[i].len : 40;
		for (k = cut;
		     k > 0 && k < v[i].len && (v[i].text[k] & 0xc0) == 0x80;
		     k--)
			;
		cut = k ? k : cut;
		printf("  %7.2f %7.2f %4zu  %.*s%s\n", v[i].match_us,
		       v[i].turn_us, v[i].runs, (int)cut, v[i].text,
		       cut < v[i].len ? "…" : "");
	}
	free(v);
}

static void
report(struct bench *b)
{
	struct dist ma = distribution(b, 0), tu = distribution(b, 1);
	struct dist ru = distribution(b, 2);
	size_t pats, always, lits;

	intents_prefilter_stats(b->ct->intents, &pats, &always, &lits);
	printf("matchbench: %zu messages from %s; content %s: %zu intents, "
	       "%zu patterns (%zu always run), %zu literals%s\n",
	       b->n, b->o.texts, b->o.content, intents_count(b->ct->intents),
	       pats, always, lits, b->o.no_prefilter ? "; prefilter OFF" : "");
	if (b->o.cold)
		printf("each figure: one run after evicting the caches (%d MiB "
		       "written), median of %d rounds\n",
		       b->o.cold_mib, b->o.rounds);
	else
		printf("each figure: mean of %d back-to-back runs, median of "
		       "%d rounds\n",
		       b->o.reps, b->o.rounds);
	printf("%-40s %7s %7s %7s %7s\n", "µs per message", "median", "p90",
	       "p99", "max");
	printf("%-40s %7.2f %7.2f %7.2f %7.2f\n",
	       "matching (normalise + intents_match)", ma.p50, ma.p90, ma.p99,
	       ma.max);
	printf("%-40s %7.2f %7.2f %7.2f %7.2f\n",
	       "full turn (dialog_handle, fresh conv)", tu.p50, tu.p90, tu.p99,
	       tu.max);
	printf("PCRE2 patterns run per message: mean %.1f, p99 %.0f, max %.0f "
	       "(of %zu)\n",
	       ru.mean, ru.p99, ru.max, pats);
	print_slowest(b);
	if (b->o.json)
		printf("{\"messages\":%zu,\"match_p50_us\":%.2f,"
		       "\"match_p90_us\":%.2f,\"match_p99_us\":%.2f,"
		       "\"match_max_us\":%.2f,\"turn_p50_us\":%.2f,"
		       "\"turn_p90_us\":%.2f,\"turn_p99_us\":%.2f,"
		       "\"turn_max_us\":%.2f,\"runs_mean\":%.1f,"
		       "\"runs_p99\":%.0f,\"patterns\":%zu,\"always\":%zu,"
		       "\"cold\":%s}\n",
		       b->n, ma.p50, ma.p90, ma.p99, ma.max, tu.p50, tu.p90,
		       tu.p99, tu.max, ru.mean, ru.p99, pats, always,
		       b->o.cold ? "true" : "false");
}

static void
usage(FILE *f)
{
	fputs("usage: matchbench [--content DIR] [--texts FILE] [--rounds N]\n"
	      "                  [--reps N] [--top N] [--json] "
	      "[--no-prefilter]\n"
	      "                  [--only match|turn] [--cold] [--cold-mib N]\n"
	      "  --content DIR   where intents/ and scripts-zh/ are (.)\n"
	      "  --texts FILE    buyer messages, one per line; TSV: the last\n"
	      "                  column (tests/corpus/messages.tsv)\n"
	      "  --rounds N      rounds over the corpus; median taken (5)\n"
	      "  --reps N        back-to-back runs per message and round (20)\n"
	      "  --top N         slowest messages shown (8)\n"
	      "  --json          one JSON line with every number at the end\n"
	      "  --no-prefilter  run every pattern (to see what it saves)\n"
	      "  --only WHAT     time only 'match' or 'turn' (to profile)\n"
	      "  --cold          caches cold, as in the server: evict them\n"
	      "                  before each message, time one run of it\n"
	      "  --cold-mib N    MiB written to evict them (8): more than\n"
	      "                  this core's share of the last-level cache\n",
	      f);
}

static int
parse_args(struct opts *o, int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--json") == 0) {
			o->json = true;
		} else if (strcmp(a, "--no-prefilter") == 0) {
			o->no_prefilter = true;
		} else if (strcmp(a, "--cold") == 0) {
			o->cold = true;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			exit(0);
		} else if (v && strcmp(a, "--content") == 0) {
			o->content = argv[++i];
		} else if (v && strcmp(a, "--texts") == 0) {
			o->texts = argv[++i];
		} else if (v && strcmp(a, "--rounds") == 0) {
			o->rounds = atoi(argv[++i]);
		} else if (v && strcmp(a, "--reps") == 0) {
			o->reps = atoi(argv[++i]);
		} else if (v && strcmp(a, "--top") == 0) {
			o->top = atoi(argv[++i]);
		} else if (v && strcmp(a, "--only") == 0) {
			o->only = argv[++i];
		} else if (v && strcmp(a, "--cold-mib") == 0) {
			o->cold_mib = atoi(argv[++i]);
		} else {
			return -1;
		}
	}
	if (o->cold)
		o->reps = 1; /* a second run would find the caches warm */
	if (o->cold_mib <= 0 || o->cold_mib > 4096)
		return -1;
	return o->rounds > 0 && o->reps > 0 && o->top >= 0 ? 0 : -1;
}

int
main(int argc, char **argv)
{
	struct bench b;
	struct bot_err err = {""};
	size_t i;

	memset(&b, 0, sizeof(b));
	b.o = (struct opts){.content = ".",
			    .texts = "tests/corpus/messages.tsv",
			    .rounds = 5,
			    .reps = 20,
			    .top = 8,
			    .cold_mib = 8};
	if (parse_args(&b.o, argc, argv) < 0) {
		usage(stderr);
		return 2;
	}
	if (read_texts(&b) < 0) {
		fprintf(stderr, "matchbench: no messages in '%s'\n", b.o.texts);
		return 2;
	}
	b.ct = content_load(b.o.content, &err);
	if (b.ct == NULL) {
		fprintf(stderr, "matchbench: %s\n", err.msg);
		return 2;
	}
	intents_use_prefilter(b.ct->intents, !b.o.no_prefilter);
	dialog_policy_init(&b.policy);
	dialog_turn_init(&b.turn);
	util_parse_shanghai("2026-11-10 21:00", &b.now_ms); /* a sale day */
	conversation_init(&b.fresh, "matchbench", b.now_ms);
	b.convs = xcalloc((size_t)b.o.reps, sizeof(*b.convs));
	if (b.o.cold) {
		b.evict_len = (size_t)b.o.cold_mib << 20;
		b.evict = xcalloc(b.evict_len, 1); /* touched: really mapped */
		memset(b.evict, 1, b.evict_len);
	}
	for (i = 0; i < b.n; i++) {
		b.v[i].samples = xcalloc((size_t)b.o.rounds, sizeof(double));
		b.v[i].runs = count_runs(&b, &b.v[i]);
	}
	if (b.o.only == NULL || strcmp(b.o.only, "match") == 0)
		measure(&b, time_match, false);
	if (b.o.only == NULL || strcmp(b.o.only, "turn") == 0)
		measure(&b, time_turn, true);
	report(&b);

	for (i = 0; i < b.n; i++) {
		free(b.v[i].text);
		free(b.v[i].samples);
	}
	free(b.v);
	free(b.convs);
	free(b.evict);
	dialog_turn_release(&b.turn);
	content_free(b.ct);
	return 0;
}
