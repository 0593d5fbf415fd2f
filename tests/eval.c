/*
 * eval.c - the evaluation report of `make eval`.
 *
 * Runs the bot's own decision core (content_load, dialog_handle: what
 * `xiaoer classify` and `xiaoer replay` run) over the labelled corpus of
 * tests/corpus/, so what is measured is what buyers get:
 *
 *   messages.tsv, holdout.tsv   topic<TAB>human<TAB>text, one first message
 *                               of a fresh conversation a line
 *   ecd-dev-labels.tsv          dialogue_id<TAB>turn_index<TAB>topic<TAB>human
 *                               over the buyer turns of the ECD excerpts,
 *                               each as a first message too
 *   sessions.jsonl              {"id","turns":[{"text","topic"}],"handoff"}
 *                               replayed as one conversation each
 *   ecd-dev-sessions.tsv        dialogue_id<TAB>handoff: the ECD excerpts'
 *                               buyer turns replayed in order
 *
 * The ECD text is not in the repository (licence): it is read from
 * ../shared/data/ecd-dev-dialogues.jsonl (--ecd FILE) at run time.
 *
 * Prints per corpus: topic accuracy, per-topic precision and recall, the
 * largest confusions, the wrong-reply rate, the escalation score and, for
 * sessions, whether the bot handed off at the labelled turn; then one
 * summary line per corpus against the targets of evalmetrics.h.
 *
 * Exit status: 0 (a report, not a test); 1 when a corpus file is malformed
 * (each problem as "file:line: reason" on stderr), when the content does
 * not load, or with --check when a target is missed on the dev or
 * sessions corpus (or either is missing); 2 on a usage error.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../bot/content.h"
#include "../bot/dialog.h"
#include "../bot/scripts.h"
#include "../bot/text.h"
#include "../bot/util.h"
#include "evalmetrics.h"

#define ECD_DIALOGUES  "../shared/data/ecd-dev-dialogues.jsonl"
#define TOP_CONFUSIONS 10

static const char usage[] =
	"usage: eval [--content DIR] [--now \"YYYY-MM-DD HH:MM\"] "
	"[--corpus DIR]\n"
	"            [--ecd FILE] [--verbose] [--check]\n"
	"  --content DIR  holds intents/ and scripts-zh/ (default .)\n"
	"  --now TIME     Asia/Shanghai time of every message (default: now)\n"
	"  --corpus DIR   the labelled corpus (default tests/corpus)\n"
	"  --ecd FILE     the ECD dialogues (default " ECD_DIALOGUES ")\n"
	"  --verbose      print every message and session the bot got wrong\n"
	"                 (except the holdout set's, which is only scored)\n"
	"  --check        exit 1 when the dev or sessions corpus misses a "
	"target\n";

struct options {
	const char *content;
	const char *corpus;
	const char *ecd;
	const char *now;
	bool verbose;
	bool check;
};

/* The decision core and what every run shares. */
struct eval {
	struct content *ct;
	struct dialog_policy policy;
	int64_t now_ms;
	bool verbose;
	struct dialog_turn turn;
	int failures; /* dialog_handle() returned -1 */
};

/* One labelled first message. */
struct message {
	size_t line;			/* in its labels file */
	char ref[DIALOG_NAME_MAX + 16]; /* "ecd-dev-05#3", or "" */
	int topic;
	bool human;
	char *text; /* owned */
	size_t len;
};

struct messages {
	struct message *v;
	size_t n, alloc;
};

struct turn {
	long index; /* reported turn number (ECD: in the whole excerpt) */
	int topic;  /* label, or -1 when the turn carries none */
	char *text; /* owned */
	size_t len;
};

struct session {
	char *id; /* owned */
	size_t line;
	long handoff; /* turn index, or -1 for "never" */
	struct turn *turns;
	size_t n, alloc;
};

struct sessions {
	struct session *v;
	size_t n, alloc;
};

/* One ECD excerpt, read from the shared file (never kept in the repo). */
struct dturn {
	bool buyer;
	int topic;  /* from ecd-dev-labels.tsv, or -1 */
	char *text; /* owned */
	size_t len;
};

struct dialogue {
	char *id; /* owned */
	struct dturn *turns;
	size_t n;
};

struct dialogues {
	struct dialogue *v;
	size_t n, alloc;
};

enum status {
	DONE,
	SKIPPED,
	MALFORMED,
};

/* What the summary needs of one corpus. */
struct result {
	const char *name;
	const char *path;
	enum status status;
	bool sessions;
	bool holdout; /* scored only: --verbose does not list its lines */
	struct eval_messages m;
	struct eval_sessions s;
};

/* Grow '*v' (of 'size'-byte elements) to hold one more; returns it. */
static void *
grow(void *v, size_t size, size_t n, size_t *alloc)
{
	if (n < *alloc)
		return v;
	*alloc = *alloc ? 2 * *alloc : 16;
	return xrealloc(v, *alloc * size);
}

/* -- reading ---------------------------------------------------------- */

/* A whole file, handed out a line at a time. */
struct lines {
	const char *path;
	char *buf;
	size_t len, pos, lineno;
	int errors;
};

/*
 * Read 'path'.  Returns 0; 1 when it does not exist; -1 when it cannot be
 * read (reported, and counted in l->errors).
 */
static int
lines_open(struct lines *l, const char *path)
{
	memset(l, 0, sizeof(*l));
	l->path = path;
	l->buf = util_read_file(path, &l->len);
	if (l->buf == NULL) {
		if (errno == ENOENT)
			return 1;
		fprintf(stderr, "%s: cannot read: %s\n", path, strerror(errno));
		l->errors++;
		return -1;
	}
	if (l->len >= 3 && memcmp(l->buf, "\xef\xbb\xbf", 3) == 0)
		l->pos = 3;
	return 0;
}

static void
lines_close(struct lines *l)
{
	free(l->buf);
	l->buf = NULL;
}

static void lines_error(struct lines *l, const char *fmt, ...) BOT_PRINTF(2, 3);

static void
lines_error(struct lines *l, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%zu: ", l->path, l->lineno);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	l->errors++;
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * The next data line, NUL-terminated in place, without its end of line
 * and trailing blanks; blank lines and, with 'comments', lines starting
 * with '#' are passed over, and lines holding a NUL byte reported and
 * passed over.  False at the end of the file.
 */
static bool
lines_next(struct lines *l, bool comments, char **line, size_t *len)
{
	while (l->pos < l->len) {
		char *s = l->buf + l->pos, *nl;
		size_t n, lead = 0;

		nl = memchr(s, '\n', l->len - l->pos);
		n = nl ? (size_t)(nl - s) : l->len - l->pos;
		l->pos += n + (nl != NULL);
		l->lineno++;
		while (n > 0 && is_blank(s[n - 1]))
			n--;
		s[n] = '\0';
		while (lead < n && is_blank(s[lead]))
			lead++;
		if (lead == n || (comments && s[lead] == '#'))
			continue;
		if (memchr(s, '\0', n)) {
			lines_error(l, "NUL byte in the line");
			continue;
		}
		*line = s;
		*len = n;
		return true;
	}
	return false;
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ')
		s++;
	e = s + strlen(s);
	while (e > s && e[-1] == ' ')
		e--;
	*e = '\0';
	return s;
}

/* Split 's' at tabs into trimmed fields, the first 'max' of them into
 * 'f'; returns how many fields there are. */
static size_t
split(char *s, char **f, size_t max)
{
	size_t n = 0;
	char *tab;

	for (;;) {
		tab = strchr(s, '\t');
		if (tab)
			*tab = '\0';
		if (n < max)
			f[n] = trim(s);
		n++;
		if (tab == NULL)
			return n;
		s = tab + 1;
	}
}

static int
parse_topic(struct lines *l, const char *s)
{
	int t = eval_topic_index(s);

	if (t < 0)
		lines_error(l, "unknown topic '%s'", s);
	return t;
}

static int
parse_human(struct lines *l, const char *s, bool *human)
{
	if (strcmp(s, "y") == 0 || strcmp(s, "n") == 0) {
		*human = s[0] == 'y';
		return 0;
	}
	lines_error(l, "human must be 'y' or 'n', not '%s'", s);
	return -1;
}

/* A non-negative decimal number, or -1. */
static long
parse_index(const char *s)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end)
		return -1;
	return v;
}

static int
check_text(struct lines *l, const char *text, size_t len)
{
	if (len == 0) {
		lines_error(l, "empty text");
		return -1;
	}
	if (!text_valid_utf8(text, len)) {
		lines_error(l, "text is not valid UTF-8");
		return -1;
	}
	return 0;
}

static struct message *
add_message(struct messages *ms, size_t line, int topic, bool human,
	    const char *text, size_t len)
{
	struct message *m;

	ms->v = grow(ms->v, sizeof(*ms->v), ms->n, &ms->alloc);
	m = &ms->v[ms->n++];
	m->line = line;
	m->ref[0] = '\0';
	m->topic = topic;
	m->human = human;
	m->text = xstrndup(text, len);
	m->len = len;
	return m;
}

static void
messages_clear(struct messages *ms)
{
	size_t i;

	for (i = 0; i < ms->n; i++)
		free(ms->v[i].text);
	free(ms->v);
	memset(ms, 0, sizeof(*ms));
}

/* topic<TAB>human<TAB>text.  Returns the lines_open() code; errors are
 * counted in l->errors. */
static int
read_messages(struct lines *l, const char *path, struct messages *ms)
{
	char *line, *f[3];
	size_t len, n;
	int rc = lines_open(l, path), topic;
	bool human;

	if (rc)
		return rc;
	while (lines_next(l, true, &line, &len)) {
		n = split(line, f, 3);
		if (n != 3) {
			lines_error(l,
				    "expected 3 tab-separated fields (topic, "
				    "human, text), found %zu",
				    n);
			continue;
		}
		topic = parse_topic(l, f[0]);
		if (topic < 0 || parse_human(l, f[1], &human) < 0 ||
		    check_text(l, f[2], strlen(f[2])) < 0)
			continue;
		add_message(ms, l->lineno, topic, human, f[2], strlen(f[2]));
	}
	return 0;
}

/* -- JSON lines --------------------------------------------------------- */

/* Parse one JSON line into an object; NULL after reporting. */
static json_t *
json_line(struct lines *l, const char *line, size_t len)
{
	json_error_t jerr;
	json_t *root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);

	if (root == NULL) {
		lines_error(l, "not JSON: %s (column %d)", jerr.text,
			    jerr.column);
		return NULL;
	}
	if (!json_is_object(root)) {
		lines_error(l, "expected a JSON object");
		json_decref(root);
		return NULL;
	}
	return root;
}

/* Are all keys of 'o' among the NULL-terminated 'keys'?  Reports one. */
static bool
known_keys(struct lines *l, json_t *o, const char *what,
	   const char *const *keys)
{
	const char *k;
	json_t *v;
	size_t i;

	json_object_foreach(o, k, v)
	{
		for (i = 0; keys[i]; i++)
			if (strcmp(keys[i], k) == 0)
				break;
		if (keys[i] == NULL) {
			lines_error(l, "unknown key '%s' in %s", k, what);
			return false;
		}
	}
	return true;
}

static void
dialogues_clear(struct dialogues *ds)
{
	size_t i, j;

	for (i = 0; i < ds->n; i++) {
		for (j = 0; j < ds->v[i].n; j++)
			free(ds->v[i].turns[j].text);
		free(ds->v[i].turns);
		free(ds->v[i].id);
	}
	free(ds->v);
	memset(ds, 0, sizeof(*ds));
}

static struct dialogue *
find_dialogue(const struct dialogues *ds, const char *id)
{
	size_t i;

	for (i = 0; i < ds->n; i++)
		if (strcmp(ds->v[i].id, id) == 0)
			return &ds->v[i];
	return NULL;
}

static int
read_dialogue(struct lines *l, const char *line, size_t len,
	      struct dialogues *ds)
{
	json_t *root = json_line(l, line, len), *id, *turns, *t, *role, *text;
	struct dialogue *d;
	size_t i;

	if (root == NULL)
		return -1;
	id = json_object_get(root, "id");
	turns = json_object_get(root, "turns");
	if (!json_is_string(id) || !json_is_array(turns)) {
		lines_error(l, "expected {\"id\":\"...\",\"turns\":[...]}");
		goto fail;
	}
	if (find_dialogue(ds, json_string_value(id))) {
		lines_error(l, "duplicate id '%s'", json_string_value(id));
		goto fail;
	}
	json_array_foreach(turns, i, t)
	{
		role = json_object_get(t, "role");
		text = json_object_get(t, "text");
		if (!json_is_string(text) || !json_is_string(role) ||
		    (strcmp(json_string_value(role), "buyer") != 0 &&
		     strcmp(json_string_value(role), "shop") != 0)) {
			lines_error(l,
				    "turn %zu: expected {\"role\":\"buyer\"|"
				    "\"shop\",\"text\":\"...\"}",
				    i);
			goto fail;
		}
	}
	ds->v = grow(ds->v, sizeof(*ds->v), ds->n, &ds->alloc);
	d = &ds->v[ds->n++];
	d->id = xstrdup(json_string_value(id));
	d->n = json_array_size(turns);
	d->turns = xcalloc(d->n ? d->n : 1, sizeof(*d->turns));
	json_array_foreach(turns, i, t)
	{
		text = json_object_get(t, "text");
		role = json_object_get(t, "role");
		d->turns[i].buyer =
			strcmp(json_string_value(role), "buyer") == 0;
		d->turns[i].topic = -1;
		d->turns[i].len = json_string_length(text);
		d->turns[i].text =
			xstrndup(json_string_value(text), d->turns[i].len);
	}
	json_decref(root);
	return 0;
fail:
	json_decref(root);
	return -1;
}

/* The ECD excerpts: lines_open() code, errors in l->errors. */
static int
read_dialogues(struct lines *l, const char *path, struct dialogues *ds)
{
	char *line;
	size_t len;
	int rc = lines_open(l, path);

	if (rc)
		return rc;
	while (lines_next(l, false, &line, &len))
		read_dialogue(l, line, len, ds);
	return 0;
}

static void
sessions_clear(struct sessions *ss)
{
	size_t i, j;

	for (i = 0; i < ss->n; i++) {
		for (j = 0; j < ss->v[i].n; j++)
			free(ss->v[i].turns[j].text);
		free(ss->v[i].turns);
		free(ss->v[i].id);
	}
	free(ss->v);
	memset(ss, 0, sizeof(*ss));
}

static struct session *
add_session(struct sessions *ss, const char *id, size_t line, long handoff)
{
	struct session *s;

	ss->v = grow(ss->v, sizeof(*ss->v), ss->n, &ss->alloc);
	s = &ss->v[ss->n++];
	memset(s, 0, sizeof(*s));
	s->id = xstrdup(id);
	s->line = line;
	s->handoff = handoff;
	return s;
}

static void
add_turn(struct session *s, long index, int topic, const char *text, size_t len)
{
	struct turn *t;

	s->turns = grow(s->turns, sizeof(*s->turns), s->n, &s->alloc);
	t = &s->turns[s->n++];
	t->index = index;
	t->topic = topic;
	t->text = xstrndup(text, len);
	t->len = len;
}

static bool
find_session(const struct sessions *ss, const char *id)
{
	size_t i;

	for (i = 0; i < ss->n; i++)
		if (strcmp(ss->v[i].id, id) == 0)
			return true;
	return false;
}

/* Check one turn of sessions.jsonl; returns its topic (-1: none) or -2. */
static int
session_turn(struct lines *l, json_t *t, size_t i)
{
	static const char *const keys[] = {"text", "topic", "note", NULL};
	json_t *text = json_object_get(t, "text");
	json_t *topic = json_object_get(t, "topic");
	char what[32];
	int k = -1;

	snprintf(what, sizeof(what), "turn %zu", i);
	if (!json_is_object(t) || !json_is_string(text)) {
		lines_error(l, "turn %zu: expected {\"text\":\"...\"}", i);
		return -2;
	}
	if (!known_keys(l, t, what, keys))
		return -2;
	if (json_string_length(text) == 0) {
		lines_error(l, "turn %zu: empty text", i);
		return -2;
	}
	if (json_is_string(topic)) {
		k = eval_topic_index(json_string_value(topic));
		if (k < 0) {
			lines_error(l, "turn %zu: unknown topic '%s'", i,
				    json_string_value(topic));
			return -2;
		}
	} else if (topic && !json_is_null(topic)) {
		lines_error(l, "turn %zu: \"topic\" must be a string", i);
		return -2;
	}
	return k;
}

/* Undo the last add_session(). */
static void
drop_session(struct sessions *ss)
{
	struct session *s = &ss->v[--ss->n];
	size_t j;

	for (j = 0; j < s->n; j++)
		free(s->turns[j].text);
	free(s->turns);
	free(s->id);
}

static int
read_session(struct lines *l, const char *line, size_t len, struct sessions *ss)
{
	static const char *const keys[] = {"id", "turns", "handoff", "note",
					   NULL};
	json_t *root = json_line(l, line, len), *id, *turns, *h, *t, *text;
	struct session *s;
	long handoff = -1;
	size_t i;
	int topic;

	if (root == NULL)
		return -1;
	id = json_object_get(root, "id");
	turns = json_object_get(root, "turns");
	h = json_object_get(root, "handoff");
	if (!json_is_string(id) || !json_is_array(turns)) {
		lines_error(l, "expected {\"id\":\"...\",\"turns\":[...],"
			       "\"handoff\":N|null}");
		goto fail;
	}
	if (h == NULL) {
		lines_error(l, "no \"handoff\" (a turn index, or null)");
		goto fail;
	}
	if (!known_keys(l, root, "the session", keys))
		goto fail;
	if (find_session(ss, json_string_value(id))) {
		lines_error(l, "duplicate id '%s'", json_string_value(id));
		goto fail;
	}
	if (json_array_size(turns) == 0) {
		lines_error(l, "no turns");
		goto fail;
	}
	if (json_is_integer(h)) {
		handoff = (long)json_integer_value(h);
		if (handoff < 0 || (size_t)handoff >= json_array_size(turns)) {
			lines_error(l, "handoff %ld is not a turn (0..%zu)",
				    handoff, json_array_size(turns) - 1);
			goto fail;
		}
	} else if (!json_is_null(h)) {
		lines_error(l, "\"handoff\" must be a turn index or null");
		goto fail;
	}
	s = add_session(ss, json_string_value(id), l->lineno, handoff);
	json_array_foreach(turns, i, t)
	{
		topic = session_turn(l, t, i);
		if (topic < -1) {
			drop_session(ss);
			goto fail;
		}
		text = json_object_get(t, "text");
		add_turn(s, (long)i, topic, json_string_value(text),
			 json_string_length(text));
	}
	json_decref(root);
	return 0;
fail:
	json_decref(root);
	return -1;
}

static int
read_sessions(struct lines *l, const char *path, struct sessions *ss)
{
	char *line;
	size_t len;
	int rc = lines_open(l, path);

	if (rc)
		return rc;
	while (lines_next(l, false, &line, &len))
		read_session(l, line, len, ss);
	return 0;
}

/* The buyer turn 'index' of 'id', or NULL after reporting. */
static struct dturn *
ecd_turn(struct lines *l, const struct dialogues *ds, const char *id,
	 const char *index, long *out)
{
	struct dialogue *d = find_dialogue(ds, id);
	long i = parse_index(index);

	if (d == NULL) {
		lines_error(l, "no dialogue '%s' in the ECD file", id);
		return NULL;
	}
	if (i < 0 || (size_t)i >= d->n) {
		lines_error(l, "'%s' is not a turn of '%s', which has %zu",
			    index, id, d->n);
		return NULL;
	}
	if (!d->turns[i].buyer) {
		lines_error(l, "turn %ld of '%s' is the shop's", i, id);
		return NULL;
	}
	*out = i;
	return &d->turns[i];
}

/* dialogue_id<TAB>turn_index<TAB>topic<TAB>human: labels the dialogues'
 * buyer turns (only when the whole file is good) and lists the messages. */
static int
read_ecd_labels(struct lines *l, const char *path, struct dialogues *ds,
		struct messages *ms)
{
	char *line, *f[4];
	size_t len, n, i;
	int rc = lines_open(l, path), topic;
	bool human;
	long index;
	struct dturn *t;
	struct message *m;

	if (rc)
		return rc;
	while (lines_next(l, true, &line, &len)) {
		n = split(line, f, 4);
		if (n != 4) {
			lines_error(l,
				    "expected 4 tab-separated fields "
				    "(dialogue_id, turn_index, topic, human)");
			continue;
		}
		t = ecd_turn(l, ds, f[0], f[1], &index);
		if (t == NULL)
			continue;
		topic = parse_topic(l, f[2]);
		if (topic < 0 || parse_human(l, f[3], &human) < 0)
			continue;
		if (t->topic >= 0) {
			lines_error(l, "turn %ld of '%s' is labelled twice",
				    index, f[0]);
			continue;
		}
		if (check_text(l, t->text, t->len) < 0)
			continue;
		m = add_message(ms, l->lineno, topic, human, t->text, t->len);
		snprintf(m->ref, sizeof(m->ref), "%s#%ld", f[0], index);
		t->topic = topic;
	}
	if (l->errors)
		for (i = 0; i < ds->n; i++)
			for (n = 0; n < ds->v[i].n; n++)
				ds->v[i].turns[n].topic = -1;
	return 0;
}

/* dialogue_id<TAB>handoff: the sessions to replay from the dialogues. */
static int
read_ecd_sessions(struct lines *l, const char *path, const struct dialogues *ds,
		  struct sessions *ss)
{
	char *line, *f[2];
	size_t len, i;
	int rc = lines_open(l, path);
	long handoff;
	struct dialogue *d;
	struct session *s;

	if (rc)
		return rc;
	while (lines_next(l, true, &line, &len)) {
		if (split(line, f, 2) != 2) {
			lines_error(l, "expected 2 tab-separated fields "
				       "(dialogue_id, handoff)");
			continue;
		}
		d = find_dialogue(ds, f[0]);
		if (d == NULL) {
			lines_error(l, "no dialogue '%s' in the ECD file",
				    f[0]);
			continue;
		}
		if (find_session(ss, f[0])) {
			lines_error(l, "dialogue '%s' is listed twice", f[0]);
			continue;
		}
		handoff = -1;
		if (strcmp(f[1], "-") != 0 &&
		    ecd_turn(l, ds, f[0], f[1], &handoff) == NULL)
			continue;
		s = add_session(ss, f[0], l->lineno, handoff);
		for (i = 0; i < d->n; i++)
			if (d->turns[i].buyer)
				add_turn(s, (long)i, d->turns[i].topic,
					 d->turns[i].text, d->turns[i].len);
	}
	return 0;
}

/* -- running -------------------------------------------------------------- */

/* Decide one buyer message; the turn's topic as an index ("unknown" when
 * it has none). */
static int
decide(struct eval *ev, struct conversation *conv, const char *text, size_t len,
       const char *where)
{
	struct dialog_input in = {.text = text, .len = len};
	int t;

	if (dialog_handle(ev->ct, &ev->policy, conv, &in, ev->now_ms,
			  &ev->turn) < 0) {
		fprintf(stderr, "eval: %s: dialog_handle failed\n", where);
		ev->failures++;
		ev->turn.action = DIALOG_CLARIFY;
		ev->turn.topic = NULL;
		ev->turn.intent = NULL;
	}
	t = eval_topic_index(ev->turn.topic);
	return t < 0 ? eval_topic_index("unknown") : t;
}

/* Append 'text' on one line (control characters as spaces). */
static void
add_text(struct strbuf *sb, const char *text, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		strbuf_addch(sb, (unsigned char)text[i] < 0x20 ? ' ' : text[i]);
}

static void
col(double v, int width, int prec)
{
	if (isnan(v))
		printf("%*s", width, "-");
	else
		printf("%*.*f", width, prec, v);
}

static void
report_messages(const struct result *r)
{
	const struct eval_messages *m = &r->m;
	struct eval_pair pairs[TOP_CONFUSIONS];
	struct eval_prf prf;
	size_t i, n, support;

	printf("topic accuracy      ");
	col(eval_messages_accuracy(m), 5, 3);
	printf("  (%zu of %zu)\n", eval_messages_correct(m), m->n);
	printf("wrong-reply rate    ");
	col(eval_messages_wrong_reply_rate(m), 5, 3);
	printf("  (%zu of %zu answered under the wrong topic)\n",
	       m->wrong_reply, m->n);
	eval_messages_escalation(m, &prf);
	printf("escalation          P ");
	col(prf.precision, 4, 2);
	printf("  R ");
	col(prf.recall, 4, 2);
	printf("  F1 ");
	col(prf.f1, 4, 2);
	printf("  (tp %zu fp %zu fn %zu)\n", m->esc_tp, m->esc_fp, m->esc_fn);

	printf("topic        prec   rec    f1     n\n");
	for (i = 0; i < EVAL_NTOPICS; i++) {
		eval_messages_topic(m, (int)i, &prf, &support);
		printf("%-11s", eval_topic_name((int)i));
		col(prf.precision, 6, 2);
		col(prf.recall, 6, 2);
		col(prf.f1, 6, 2);
		printf("%6zu\n", support);
	}
	n = eval_messages_confusions(m, pairs, TOP_CONFUSIONS);
	printf("confusions (label → predicted):%s\n", n ? "" : " none");
	for (i = 0; i < n; i++) {
		char pair[40];

		snprintf(pair, sizeof(pair), "%s → %s",
			 eval_topic_name(pairs[i].label),
			 eval_topic_name(pairs[i].predicted));
		/* the arrow is 3 bytes wide and one column */
		printf("  %-28s%5zu\n", pair, pairs[i].count);
	}
}

static void
run_messages(struct eval *ev, struct result *r, const struct messages *ms)
{
	struct conversation conv;
	struct strbuf wrong, where;
	const struct message *msg;
	size_t i;
	int p;

	strbuf_init(&wrong);
	strbuf_init(&where);
	for (i = 0; i < ms->n; i++) {
		msg = &ms->v[i];
		strbuf_reset(&where);
		strbuf_addf(&where, "%s:%zu", r->path, msg->line);
		if (msg->ref[0])
			strbuf_addf(&where, " %s", msg->ref);
		conversation_init(&conv, "eval", ev->now_ms);
		p = decide(ev, &conv, msg->text, msg->len, where.buf);
		if (!eval_messages_add(&r->m, msg->topic, msg->human, p,
				       ev->turn.action) ||
		    !ev->verbose || r->holdout)
			continue;
		strbuf_addf(&wrong, "  %s  %s/%s → %s/%s (%s)  ", where.buf,
			    eval_topic_name(msg->topic), msg->human ? "y" : "n",
			    eval_topic_name(p),
			    dialog_action_name(ev->turn.action),
			    ev->turn.intent ? ev->turn.intent : "-");
		add_text(&wrong, msg->text, msg->len);
		strbuf_addch(&wrong, '\n');
	}
	r->status = DONE;
	printf("\n== %s (%s): %zu messages\n", r->name, r->path, ms->n);
	report_messages(r);
	if (ev->verbose && r->holdout)
		printf("wrong: not listed for the holdout set, which is only "
		       "scored (tests/corpus/README.md)\n");
	else if (ev->verbose)
		printf("wrong (file:line  label/human → topic/action (intent)  "
		       "text):%s\n%s",
		       wrong.len ? "" : " none", wrong.buf);
	strbuf_release(&wrong);
	strbuf_release(&where);
}

static void
run_sessions(struct eval *ev, struct result *r, const struct sessions *ss)
{
	struct conversation conv;
	struct strbuf turns, out, where;
	const struct session *s;
	enum eval_handoff h;
	size_t i, j;
	long first;
	bool bad;
	int p;

	strbuf_init(&turns);
	strbuf_init(&out);
	strbuf_init(&where);
	for (i = 0; i < ss->n; i++) {
		s = &ss->v[i];
		conversation_init(&conv, s->id, ev->now_ms);
		strbuf_reset(&turns);
		first = -1;
		bad = false;
		for (j = 0; j < s->n; j++) {
			const struct turn *t = &s->turns[j];

			strbuf_reset(&where);
			strbuf_addf(&where, "%s:%zu %s#%ld", r->path, s->line,
				    s->id, t->index);
			p = decide(ev, &conv, t->text, t->len, where.buf);
			if (first < 0 && eval_is_handoff(ev->turn.action))
				first = t->index;
			if (t->topic >= 0 &&
			    !eval_sessions_add_turn(&r->s, t->topic, p))
				bad = true;
			strbuf_addf(&turns, "    %c%3ld  %s → %s/%s (%s)  ",
				    t->topic >= 0 && t->topic != p ? 'x' : ' ',
				    t->index,
				    t->topic >= 0 ? eval_topic_name(t->topic)
						  : "-",
				    eval_topic_name(p),
				    dialog_action_name(ev->turn.action),
				    ev->turn.intent ? ev->turn.intent : "-");
			add_text(&turns, t->text, t->len);
			strbuf_addch(&turns, '\n');
		}
		h = eval_sessions_add(&r->s, s->handoff, first);
		if (!ev->verbose || (h == EVAL_HANDOFF_RIGHT && !bad))
			continue;
		strbuf_addf(&out, "  %s:%zu  %s  hand-off %s: labelled ",
			    r->path, s->line, s->id, eval_handoff_name(h));
		if (s->handoff < 0)
			strbuf_addstr(&out, "none");
		else
			strbuf_addf(&out, "turn %ld", s->handoff);
		if (first < 0)
			strbuf_addstr(&out, ", bot none\n");
		else
			strbuf_addf(&out, ", bot turn %ld\n", first);
		strbuf_addstr(&out, turns.buf);
	}
	r->status = DONE;
	printf("\n== %s (%s): %zu sessions\n", r->name, r->path, ss->n);
	printf("hand-off at the right turn ");
	col(eval_sessions_handoff_rate(&r->s), 4, 2);
	printf(" (%zu/%zu): early %zu, late %zu, missed %zu, false %zu\n",
	       r->s.handoff[EVAL_HANDOFF_RIGHT], r->s.n,
	       r->s.handoff[EVAL_HANDOFF_EARLY],
	       r->s.handoff[EVAL_HANDOFF_LATE],
	       r->s.handoff[EVAL_HANDOFF_MISSED],
	       r->s.handoff[EVAL_HANDOFF_FALSE]);
	printf("turn topic accuracy ");
	col(eval_sessions_turn_accuracy(&r->s), 4, 2);
	printf(" (%zu/%zu labelled turns)\n", r->s.turns_right, r->s.turns);
	if (ev->verbose)
		printf("wrong (x: topic wrong; turn  label → topic/action "
		       "(intent)  text):%s\n%s",
		       out.len ? "" : " none", out.buf);
	strbuf_release(&turns);
	strbuf_release(&out);
	strbuf_release(&where);
}

/*
 * Say why corpus 'r' is not evaluated, if it is not: 'rc' is what
 * lines_open() returned for 'l', 'n' how many items were read.  Sets the
 * status and returns true when there is nothing to run.
 */
static bool
not_evaluated(struct result *r, int rc, const struct lines *l, size_t n,
	      const char *what)
{
	if (rc == 0 && l->errors == 0 && n > 0)
		return false;
	printf("\n== %s (%s)\n", r->name, r->path);
	if (rc > 0) {
		r->status = SKIPPED;
		printf("skipped: %s not found\n", l->path);
	} else if (rc < 0 || l->errors) {
		r->status = MALFORMED;
		printf("not evaluated: %d problem%s in %s (see stderr)\n",
		       l->errors, l->errors == 1 ? "" : "s", l->path);
	} else {
		r->status = SKIPPED;
		printf("skipped: %s has no %s\n", l->path, what);
	}
	return true;
}

static void
eval_message_file(struct eval *ev, struct result *r)
{
	struct messages ms = {0};
	struct lines l;
	int rc;

	rc = read_messages(&l, r->path, &ms);
	if (!not_evaluated(r, rc, &l, ms.n, "messages"))
		run_messages(ev, r, &ms);
	lines_close(&l);
	messages_clear(&ms);
}

static void
eval_session_file(struct eval *ev, struct result *r)
{
	struct sessions ss = {0};
	struct lines l;
	int rc;

	rc = read_sessions(&l, r->path, &ss);
	if (!not_evaluated(r, rc, &l, ss.n, "sessions"))
		run_sessions(ev, r, &ss);
	lines_close(&l);
	sessions_clear(&ss);
}

/* The ECD buyer turns as first messages.  'drc' and 'dl' tell how reading
 * the dialogues went; a good label file labels their turns. */
static void
eval_ecd_messages(struct eval *ev, struct result *r, int drc,
		  const struct lines *dl, struct dialogues *ds)
{
	struct messages ms = {0};
	struct lines l;
	int rc;

	if (not_evaluated(r, drc, dl, ds->n, "dialogues"))
		return;
	rc = read_ecd_labels(&l, r->path, ds, &ms);
	if (!not_evaluated(r, rc, &l, ms.n, "labels"))
		run_messages(ev, r, &ms);
	lines_close(&l);
	messages_clear(&ms);
}

/* The ECD excerpts replayed, buyer turns only; after eval_ecd_messages(). */
static void
eval_ecd_sessions(struct eval *ev, struct result *r, int drc,
		  const struct lines *dl, const struct dialogues *ds)
{
	struct sessions ss = {0};
	struct lines l;
	int rc;

	if (not_evaluated(r, drc, dl, ds->n, "dialogues"))
		return;
	rc = read_ecd_sessions(&l, r->path, ds, &ss);
	if (!not_evaluated(r, rc, &l, ss.n, "sessions"))
		run_sessions(ev, r, &ss);
	lines_close(&l);
	sessions_clear(&ss);
}

/* -- summary ---------------------------------------------------------- */

/* Append "name value [verdict]" padded to 'width' columns. */
static void
cell(struct strbuf *sb, const char *name, double v, int prec,
     const char *verdict, size_t width)
{
	size_t start = sb->len;

	strbuf_addf(sb, "%s ", name);
	if (isnan(v))
		strbuf_addch(sb, '-');
	else
		strbuf_addf(sb, "%.*f", prec, v);
	if (verdict)
		strbuf_addf(sb, " %s", verdict);
	while (sb->len < start + width)
		strbuf_addch(sb, ' ');
}

/* Append a judged cell; returns 1 on a miss. */
static int
judged(struct strbuf *sb, const char *name, double v, int prec,
       enum eval_verdict verdict, size_t width)
{
	cell(sb, name, v, prec, eval_verdict_name(verdict), width);
	return verdict == EVAL_MISS;
}

/* One line of the summary; returns the number of targets missed. */
static int
summary_line(const struct result *r)
{
	struct eval_prf esc;
	struct strbuf sb;
	double v;
	int missed = 0;

	strbuf_init(&sb);
	strbuf_addf(&sb, "%-14s", r->name);
	if (r->status == SKIPPED) {
		strbuf_addstr(&sb, "skipped");
	} else if (r->status == MALFORMED) {
		strbuf_addstr(&sb, "malformed");
	} else if (r->sessions) {
		v = eval_sessions_handoff_rate(&r->s);
		missed += judged(&sb, "hand-off", v, 2,
				 eval_at_least(v, EVAL_TARGET_HANDOFF), 20);
		cell(&sb, "turn topic", eval_sessions_turn_accuracy(&r->s), 2,
		     NULL, 0);
	} else {
		v = eval_messages_accuracy(&r->m);
		missed += judged(&sb, "topic", v, 3,
				 eval_at_least(v, EVAL_TARGET_TOPIC), 20);
		v = eval_messages_wrong_reply_rate(&r->m);
		missed += judged(&sb, "wrong-reply", v, 3,
				 eval_at_most(v, EVAL_TARGET_WRONG_REPLY), 25);
		eval_messages_escalation(&r->m, &esc);
		missed += judged(&sb, "escalation F1", esc.f1, 2,
				 eval_at_least(esc.f1, EVAL_TARGET_ESCALATION),
				 0);
	}
	puts(sb.buf);
	strbuf_release(&sb);
	return missed;
}

/* -- main ----------------------------------------------------------------- */

static int
parse_options(int argc, char **argv, struct options *o)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **dst = NULL;

		if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0)
			o->verbose = true;
		else if (strcmp(a, "--check") == 0)
			o->check = true;
		else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
			return 1;
		else if (strcmp(a, "--content") == 0)
			dst = &o->content;
		else if (strcmp(a, "--corpus") == 0)
			dst = &o->corpus;
		else if (strcmp(a, "--ecd") == 0)
			dst = &o->ecd;
		else if (strcmp(a, "--now") == 0)
			dst = &o->now;
		else {
			fprintf(stderr, "eval: unknown option '%s'\n", a);
			return -1;
		}
		if (dst == NULL)
			continue;
		if (++i == argc) {
			fprintf(stderr, "eval: option '%s' needs a value\n", a);
			return -1;
		}
		*dst = argv[i];
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct options o = {
		.content = ".", .corpus = "tests/corpus", .ecd = ECD_DIALOGUES};
	struct eval ev = {0};
	struct dialogues ds = {0};
	struct lines dl;
	struct result r[] = {
		{.name = "dev", .path = "messages.tsv"},
		{.name = "holdout", .path = "holdout.tsv", .holdout = true},
		{.name = "ecd-dev", .path = "ecd-dev-labels.tsv"},
		{.name = "sessions",
		 .path = "sessions.jsonl",
		 .sessions = true},
		{.name = "ecd-sessions",
		 .path = "ecd-dev-sessions.tsv",
		 .sessions = true},
	};
	char *paths[ARRAY_SIZE(r)] = {NULL};
	struct bot_err err = {""};
	char when[32];
	const char *phase;
	size_t i;
	int rc, drc, missed = 0, malformed = 0;

	rc = parse_options(argc, argv, &o);
	if (rc) {
		fputs(usage, rc > 0 ? stdout : stderr);
		return rc > 0 ? 0 : 2;
	}
	if (o.now == NULL)
		ev.now_ms = util_now_ms();
	else if (util_parse_shanghai(o.now, &ev.now_ms) < 0) {
		fprintf(stderr,
			"eval: bad --now '%s' (want YYYY-MM-DD HH:MM)\n",
			o.now);
		return 2;
	}
	ev.ct = content_load(o.content, &err);
	if (ev.ct == NULL) {
		fprintf(stderr, "eval: %s\n", err.msg);
		return 1;
	}
	dialog_policy_init(&ev.policy);
	dialog_turn_init(&ev.turn);
	ev.verbose = o.verbose;
	for (i = 0; i < ARRAY_SIZE(r); i++) {
		paths[i] = util_path_join(o.corpus, r[i].path);
		r[i].path = paths[i];
	}

	util_format_shanghai(ev.now_ms, when, sizeof(when));
	phase = scripts_phase_at(ev.ct->scripts, ev.now_ms);
	printf("eval: content '%s', corpus '%s', now %s (%s%s)\n", o.content,
	       o.corpus, when, phase ? "phase " : "no sale phase",
	       phase ? phase : "");

	eval_message_file(&ev, &r[0]);
	eval_message_file(&ev, &r[1]);
	drc = read_dialogues(&dl, o.ecd, &ds);
	eval_ecd_messages(&ev, &r[2], drc, &dl, &ds);
	eval_session_file(&ev, &r[3]);
	eval_ecd_sessions(&ev, &r[4], drc, &dl, &ds);
	lines_close(&dl);
	dialogues_clear(&ds);

	printf("\n== summary (targets: topic ≥ %.2f, wrong-reply ≤ %.2f, "
	       "escalation F1 ≥ %.2f, hand-off ≥ %.2f)\n",
	       EVAL_TARGET_TOPIC, EVAL_TARGET_WRONG_REPLY,
	       EVAL_TARGET_ESCALATION, EVAL_TARGET_HANDOFF);
	for (i = 0; i < ARRAY_SIZE(r); i++) {
		int m = summary_line(&r[i]);

		/* --check judges the corpora written for this bot. */
		if (strcmp(r[i].name, "dev") == 0 ||
		    strcmp(r[i].name, "sessions") == 0)
			missed += m + (r[i].status != DONE);
		malformed += r[i].status == MALFORMED;
	}
	rc = 0;
	if (malformed) {
		fprintf(stderr,
			"eval: %d %s not evaluated: malformed "
			"input\n",
			malformed, malformed == 1 ? "corpus" : "corpora");
		rc = 1;
	}
	if (ev.failures) {
		fprintf(stderr, "eval: dialog_handle failed %d time%s\n",
			ev.failures, ev.failures == 1 ? "" : "s");
		rc = 1;
	}
	if (o.check && missed) {
		fprintf(stderr,
			"eval: --check: %d target%s missed or not measured on "
			"dev "
			"and sessions\n",
			missed, missed == 1 ? "" : "s");
		rc = 1;
	}
	for (i = 0; i < ARRAY_SIZE(r); i++)
		free(paths[i]);
	dialog_turn_release(&ev.turn);
	content_free(ev.ct);
	return rc;
}
