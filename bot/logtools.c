/*
 * logtools.c - see logtools.h.
 *
 * The database commands open cfg->db with store_open(), which migrates an
 * older file forward but would also create a missing one: a mistyped --db
 * must not leave a new empty database behind, so a missing file is an
 * error here.  Reading is safe while the server runs: the file is in WAL
 * mode and every read is one statement.
 *
 * replay --against runs the core exactly as `xiaoer replay` does (one
 * fresh conversation per session, every turn at the same 'now'), once per
 * content set, turn by turn side by side, so each session is read once.
 */
#include "logtools.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "config.h"
#include "content.h"
#include "dialog.h"
#include "store.h"
#include "text.h"
#include "util.h"

#define LOGTOOLS_UNMATCHED_LIMIT 50 /* groups shown by default */
#define LOGTOOLS_REL_DIGITS	 9  /* "999999999d" still fits int64 ms */
#define LOGTOOLS_FOREVER	 INT64_MAX

static const char bad_time_fmt[] =
	"xiaoer: bad time '%s': use YYYY-MM-DD [HH:MM[:SS]] or 24h/7d\n";

int
logtools_parse_time(const char *s, int64_t now_ms, int64_t *out_ms)
{
	const char *p = s;
	int64_t n = 0;

	while (*p >= '0' && *p <= '9' && p - s < LOGTOOLS_REL_DIGITS + 1) {
		n = n * 10 + (*p - '0');
		p++;
	}
	if (p > s && p - s <= LOGTOOLS_REL_DIGITS &&
	    (p[0] == 'h' || p[0] == 'd') && p[1] == '\0') {
		*out_ms = now_ms - n * (p[0] == 'h' ? 3600 : 86400) * 1000;
		return 0;
	}
	return util_parse_shanghai(s, out_ms);
}

/* The clock for relative times and dialog phases: --now, else the wall. */
static int
clock_now(const struct config *cfg, int64_t *now_ms)
{
	*now_ms = util_now_ms();
	if (cfg->now == NULL ||
	    logtools_parse_time(cfg->now, *now_ms, now_ms) == 0)
		return 0;
	fprintf(stderr, bad_time_fmt, cfg->now);
	return -1;
}

/* Parse an optional time argument; 'dflt' when 's' is NULL. */
static int
time_arg(const char *s, int64_t now_ms, int64_t dflt, int64_t *out_ms)
{
	*out_ms = dflt;
	if (s == NULL || logtools_parse_time(s, now_ms, out_ms) == 0)
		return 0;
	fprintf(stderr, bad_time_fmt, s);
	return -1;
}

static struct store *
open_db(const struct config *cfg)
{
	struct bot_err err = {""};
	struct store *st;

	if (access(cfg->db, F_OK) < 0) {
		fprintf(stderr, "xiaoer: cannot open database '%s': %s\n",
			cfg->db, strerror(errno));
		return NULL;
	}
	st = store_open(cfg->db, NULL, &err);
	if (st == NULL)
		fprintf(stderr, "xiaoer: %s\n", err.msg);
	return st;
}

/* Append 's' as a JSON string, invalid UTF-8 bytes as U+FFFD; or null. */
static void
add_json(struct strbuf *sb, struct strbuf *tmp, const char *s)
{
	size_t len;

	if (s == NULL) {
		strbuf_addstr(sb, "null");
		return;
	}
	len = strlen(s);
	if (text_valid_utf8(s, len)) {
		strbuf_add_json_str(sb, s, len);
		return;
	}
	text_repair_utf8(s, len, tmp);
	strbuf_add_json_str(sb, tmp->buf, tmp->len);
}

/* Write 's' as one field of a tab-separated line: tabs and newlines
 * become spaces. */
static void
put_field(FILE *out, const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		fputc(*s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s, out);
}

/* --- export-log --------------------------------------------------------- */

struct export
{
	FILE *out;
	struct strbuf buyer; /* the conversation of the open line */
	struct strbuf line;  /* one turn, or the start of a line */
	struct strbuf tmp;
	bool open;
	size_t conversations, turns;
};

static void
end_line(struct export *x)
{
	if (x->open)
		fputs("]}\n", x->out);
	x->open = false;
}

static int
export_turn(void *ctx, const struct store_message *m)
{
	struct export *x = ctx;
	char at[32];

	strbuf_reset(&x->line);
	if (x->open && strcmp(x->buyer.buf, m->buyer) == 0) {
		strbuf_addch(&x->line, ',');
	} else {
		end_line(x);
		strbuf_reset(&x->buyer);
		strbuf_addstr(&x->buyer, m->buyer);
		strbuf_addstr(&x->line, "{\"id\":");
		add_json(&x->line, &x->tmp, m->buyer);
		strbuf_addstr(&x->line, ",\"turns\":[");
		x->open = true;
		x->conversations++;
	}
	util_format_shanghai(m->at_ms, at, sizeof(at));
	strbuf_addstr(&x->line, "{\"text\":");
	add_json(&x->line, &x->tmp, m->text);
	strbuf_addf(&x->line, ",\"at\":\"%s\",\"intent\":", at);
	add_json(&x->line, &x->tmp, m->intent);
	strbuf_addstr(&x->line, ",\"action\":");
	add_json(&x->line, &x->tmp, m->action);
	strbuf_addstr(&x->line, ",\"script\":");
	add_json(&x->line, &x->tmp, m->script);
	strbuf_addch(&x->line, '}');
	fwrite(x->line.buf, 1, x->line.len, x->out);
	x->turns++;
	return 0;
}

int
logtools_export_log(const struct config *cfg, FILE *out)
{
	struct export x = {.out = out};
	struct store *st;
	int64_t now, since, until;
	int rc = 0;

	if (cfg->nargs > 0) {
		fprintf(stderr, "usage: xiaoer export-log [-c CONF] [--db FILE]"
				" [--since TIME] [--until TIME]\n");
		return 2;
	}
	if (clock_now(cfg, &now) < 0 || time_arg(cfg->since, now, 0, &since) ||
	    time_arg(cfg->until, now, LOGTOOLS_FOREVER, &until))
		return 2;
	st = open_db(cfg);
	if (st == NULL)
		return 1;
	strbuf_init(&x.buyer);
	strbuf_init(&x.line);
	strbuf_init(&x.tmp);
	if (store_foreach_buyer_message(st, since, until, export_turn, &x)) {
		fprintf(stderr, "xiaoer: cannot read database '%s'\n", cfg->db);
		rc = 1;
	}
	end_line(&x);
	fflush(out);
	if (rc == 0)
		fprintf(stderr,
			"xiaoer: exported %zu turn%s of %zu conversation%s\n",
			x.turns, x.turns == 1 ? "" : "s", x.conversations,
			x.conversations == 1 ? "" : "s");
	strbuf_release(&x.tmp);
	strbuf_release(&x.line);
	strbuf_release(&x.buyer);
	store_close(st);
	return rc;
}

/* --- unmatched ---------------------------------------------------------- */

static int
print_group(void *ctx, const struct store_unmatched *u)
{
	FILE *out = ctx;
	char at[32];

	util_format_shanghai(u->last_ms, at, sizeof(at));
	fprintf(out, "%ld\t", u->count);
	put_field(out, u->normalized);
	fputc('\t', out);
	put_field(out, u->example);
	fprintf(out, "\t%s\n", at);
	return 0;
}

/* A positive decimal count, digits only. */
static int
parse_limit(const char *s, long *out)
{
	char *end;
	long n;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	n = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || n < 1)
		return -1;
	*out = n;
	return 0;
}

int
logtools_unmatched(const struct config *cfg, FILE *out)
{
	struct store_unmatched_totals tot;
	struct bot_err err = {""};
	struct store *st;
	long limit = LOGTOOLS_UNMATCHED_LIMIT;
	int64_t now, since;
	char from[32] = "all time";
	int rc = 0;

	if (cfg->nargs > 1 ||
	    (cfg->nargs == 1 && parse_limit(cfg->args[0], &limit) < 0)) {
		fprintf(stderr, "usage: xiaoer unmatched [-c CONF] [--db FILE]"
				" [--since TIME] [N]  (N > 0, default 50)\n");
		return 2;
	}
	if (clock_now(cfg, &now) < 0 || time_arg(cfg->since, now, 0, &since))
		return 2;
	st = open_db(cfg);
	if (st == NULL)
		return 1;
	if (store_foreach_unmatched_group(st, since, limit, print_group, out) ||
	    store_unmatched_totals(st, since, &tot, &err) < 0) {
		fprintf(stderr, "xiaoer: cannot read database '%s'%s%s\n",
			cfg->db, err.msg[0] ? ": " : "", err.msg);
		rc = 1;
		goto out;
	}
	if (cfg->since != NULL)
		util_format_shanghai(since, from, sizeof(from));
	fprintf(out,
		"unmatched: %ld message%s in %ld form%s since %s, "
		"top %ld shown\n",
		tot.messages, tot.messages == 1 ? "" : "s", tot.groups,
		tot.groups == 1 ? "" : "s", from,
		tot.groups < limit ? tot.groups : limit);
out:
	fflush(out);
	store_close(st);
	return rc;
}

/* --- replay --against --------------------------------------------------- */

/* A set of intent names, borrowed from one content set. */
struct names {
	const char **v;
	size_t n, alloc;
};

static void
names_add(struct names *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i], name) == 0)
			return;
	if (s->n == s->alloc) {
		s->alloc = s->alloc ? 2 * s->alloc : 64;
		s->v = xrealloc(s->v, s->alloc * sizeof(*s->v));
	}
	s->v[s->n++] = name;
}

static bool
names_has(const struct names *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i], name) == 0)
			return true;
	return false;
}

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* One content set and its run: "old" is --against DIR, "new" the current. */
struct side {
	const char *dir;
	struct content *c;
	struct conversation conv;
	struct dialog_turn t;
	struct names fired; /* intents matched at least once */
};

struct diff {
	struct dialog_policy p;
	int64_t now_ms;
	struct side old, new;
	size_t sessions, turns, changed, new_misses, fixed_misses;
};

static bool
same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static const char *
dash(const char *s)
{
	return s ? s : "-";
}

static void
print_change(FILE *out, const char *session, size_t turn,
	     const struct dialog_turn *o, const struct dialog_turn *n,
	     const char *text)
{
	fprintf(out, "%s %zu: %s/%s/%s -> %s/%s/%s  | ", session, turn,
		dash(o->intent), dialog_action_name(o->action), dash(o->script),
		dash(n->intent), dialog_action_name(n->action),
		dash(n->script));
	put_field(out, text);
	fputc('\n', out);
}

static int
run_side(struct diff *d, struct side *s, const struct dialog_input *in)
{
	if (dialog_handle(s->c, &d->p, &s->conv, in, d->now_ms, &s->t) < 0)
		return -1;
	if (!s->t.unmatched && s->t.intent != NULL)
		names_add(&s->fired, s->t.intent);
	return 0;
}

/* Replay one JSONL session on both sides; 0, or -1 with 'why' filled. */
static int
diff_line(struct diff *d, const char *line, size_t len, FILE *out, char *why,
	  size_t whylen)
{
	struct side *o = &d->old, *n = &d->new;
	struct replay_line rl;
	const char *text;
	size_t i, len2;
	int rc;

	if (replay_line_parse(&rl, line, len, why, whylen) < 0)
		return -1;
	conversation_init(&o->conv, rl.session, 0);
	conversation_init(&n->conv, rl.session, 0);
	d->sessions++;
	while ((rc = replay_line_next(&rl, &i, &text, &len2, why, whylen)) >
	       0) {
		struct dialog_input in = {.text = text, .len = len2};

		if (run_side(d, o, &in) < 0 || run_side(d, n, &in) < 0) {
			snprintf(why, whylen, "turn %zu: dialog failed", i);
			rc = -1;
			break;
		}
		d->turns++;
		if (!o->t.unmatched && n->t.unmatched)
			d->new_misses++;
		if (o->t.unmatched && !n->t.unmatched)
			d->fixed_misses++;
		if (same(o->t.intent, n->t.intent) &&
		    o->t.action == n->t.action &&
		    same(o->t.script, n->t.script))
			continue;
		d->changed++;
		print_change(out, rl.session, i, &o->t, &n->t, in.text);
	}
	replay_line_clear(&rl);
	return rc;
}

/* Print "LABEL: a, b" for the names of 'a' missing from 'b'. */
static void
print_missing(FILE *out, const char *label, struct names *a,
	      const struct names *b)
{
	size_t i, shown = 0;

	qsort(a->v, a->n, sizeof(*a->v), cmp_name);
	fprintf(out, "  %s:", label);
	for (i = 0; i < a->n; i++) {
		if (names_has(b, a->v[i]))
			continue;
		fprintf(out, "%s %s", shown ? "," : "", a->v[i]);
		shown++;
	}
	fputs(shown ? "\n" : " (none)\n", out);
}

static int
load_side(struct side *s, const char *dir)
{
	struct bot_err err = {""};

	s->dir = dir;
	s->c = content_load(dir, &err);
	if (s->c == NULL) {
		fprintf(stderr, "xiaoer: %s\n", err.msg);
		fprintf(stderr, "xiaoer: content in '%s' does not load\n", dir);
		return -1;
	}
	dialog_turn_init(&s->t);
	return 0;
}

static void
release_side(struct side *s)
{
	if (s->c == NULL)
		return;
	dialog_turn_release(&s->t);
	content_free(s->c);
	free(s->fired.v);
}

int
logtools_replay_against(const struct config *cfg, FILE *out)
{
	struct diff d;
	const char *path;
	char *line = NULL, why[256];
	size_t cap = 0, lineno = 0;
	ssize_t n;
	FILE *in = NULL;
	int rc = 1;

	memset(&d, 0, sizeof(d));
	if (cfg->nargs != 1 || cfg->against == NULL) {
		fprintf(stderr, "usage: xiaoer replay --against DIR [-c CONF] "
				"FILE.jsonl\n");
		return 2;
	}
	if (clock_now(cfg, &d.now_ms) < 0)
		return 2;
	path = cfg->args[0];
	in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	if (in == NULL) {
		fprintf(stderr, "xiaoer: cannot open '%s': %s\n", path,
			strerror(errno));
		return 1;
	}
	if (load_side(&d.old, cfg->against) < 0 ||
	    load_side(&d.new, cfg->content) < 0)
		goto out;
	dialog_policy_init(&d.p);
	d.p.escalate_after_misses = cfg->escalate_after_misses;
	d.p.escalate_on_repeat = cfg->escalate_on_repeat;
	d.p.repeat_similarity = cfg->repeat_similarity;
	rc = 0;
	while ((n = getline(&line, &cap, in)) >= 0) {
		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			n--;
		if (n == 0)
			continue;
		if (diff_line(&d, line, (size_t)n, out, why, sizeof(why)) < 0) {
			fprintf(stderr, "%s:%zu: %s\n", path, lineno, why);
			rc = 1;
		}
	}
	fprintf(out,
		"replay: %zu session%s, %zu turns compared, %zu changed "
		"(was '%s', now '%s')\n",
		d.sessions, d.sessions == 1 ? "" : "s", d.turns, d.changed,
		d.old.dir, d.new.dir);
	print_missing(out, "intents that stopped firing", &d.old.fired,
		      &d.new.fired);
	print_missing(out, "intents that newly fire", &d.new.fired,
		      &d.old.fired);
	fprintf(out, "  new misses (matched before, fallback now): %zu\n",
		d.new_misses);
	fprintf(out, "  fixed misses (fallback before, matched now): %zu\n",
		d.fixed_misses);
	fflush(out);
out:
	free(line);
	if (in != stdin)
		fclose(in);
	release_side(&d.new);
	release_side(&d.old);
	return rc;
}
