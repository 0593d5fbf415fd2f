/*
 * intents.c - see intents.h.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "intents.h"

#include <assert.h>
#include <jansson.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonfile.h"
#include "prefilter.h"
#include "text.h"
#include "util.h"

#define INTENTS_MATCH_LIMIT 100000
#define INTENTS_DEPTH_LIMIT 2000
#define INTENTS_NAME_MAX    63

struct pat {
	pcre2_code *code;
	char *src;
	size_t pf; /* prefilter id (intent and exclude patterns) */
	bool jit;  /* JIT-compiled: pcre2_jit_match() may run it */
};

/*
 * An intent pattern in match order: see index_patterns().  It holds all
 * that match_indexed() reads of a candidate before PCRE2 runs, so that a
 * candidate costs one line of 'order' and not the lines of its intent and
 * of its struct pat (in the server, between two messages, the caches lose
 * them).  The intent itself is read only when it is about to win.
 */
struct pat_ref {
	const pcre2_code *code;
	struct intent_int *in;
	int priority;	/* in->pub.priority */
	uint32_t excl;	/* prefilter ids of the intent's excludes: */
	uint32_t nexcl; /* excl .. excl + nexcl - 1 */
	bool jit;
};

struct intent_int {
	struct intent pub;
	struct pat *pats;
	size_t npats;
	struct pat *excl;
	size_t nexcl;
	char **examples;
	size_t nexamples;
	char **counters;
	size_t ncounters;
	char **requires_v;
	char **slots_v;
	long offset; /* byte offset of the name in its file */
};

struct slotdef_int {
	struct intent_slotdef pub;
	struct pat pat;
	int line;
	const char *file;
};

struct intents {
	struct intent_int *v;
	size_t n;
	struct slotdef_int *slots;
	size_t nslots;
	char **files;
	size_t nfiles;
	pcre2_match_data *md;
	pcre2_match_context *mctx;
	char *subject; /* padded copy: JIT reads ahead in 16 bytes */
	size_t subject_cap;
	struct prefilter *pf;  /* skips patterns that cannot match */
	struct pat_ref *order; /* [prefilter id] of the intent patterns */
	size_t norder;
	size_t *by_name; /* intent index + 1 by name hash; 0: empty */
	size_t name_cap;
	bool use_pf;
	uint64_t runs; /* PCRE2 matches run, for intents_pattern_runs() */
};

#define INTENTS_PAD 64

static const char *const topics[] = {INTENTS_TOPICS};

bool
intents_topic_valid(const char *topic)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(topics); i++)
		if (strcmp(topics[i], topic) == 0)
			return true;
	return false;
}

static bool
name_valid(const char *s)
{
	size_t i, n = strlen(s);
	bool dot_ok = false;

	if (n == 0 || n > INTENTS_NAME_MAX || !(s[0] >= 'a' && s[0] <= 'z'))
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '_') {
			dot_ok = true;
		} else if (c == '.' && dot_ok && i + 1 < n) {
			dot_ok = false;
		} else {
			return false;
		}
	}
	return true;
}

static int
compile(struct pat *p, const char *src, const char *file, const char *text,
	long from, struct bot_err *err)
{
	int code, line, col;
	PCRE2_SIZE off;
	PCRE2_UCHAR msg[160];

	p->src = xstrdup(src);
	p->code = pcre2_compile((PCRE2_SPTR)src, PCRE2_ZERO_TERMINATED,
				PCRE2_UTF | PCRE2_UCP | PCRE2_CASELESS, &code,
				&off, NULL);
	if (p->code == NULL) {
		pcre2_get_error_message(code, msg, sizeof(msg));
		jsonfile_locate(text, from, src, &line, &col);
		bot_errf(err, "%s:%d:%d: bad pattern '%s': %s at offset %zu",
			 file, line, col, src, (char *)msg, (size_t)off);
		free(p->src);
		p->src = NULL;
		return -1;
	}
	/* JIT is an optimisation: without it the interpreter still works. */
	p->jit = pcre2_jit_compile(p->code, PCRE2_JIT_COMPLETE) == 0;
	return 0;
}

static void
pat_free(struct pat *p)
{
	pcre2_code_free(p->code);
	free(p->src);
}

/* Copy an array of strings; NULL json means empty. */
static int
strings(json_t *arr, const char *what, const char *file, const char *text,
	long from, char ***out, size_t *n, struct bot_err *err)
{
	size_t i;
	json_t *v;
	int line, col;

	*out = NULL;
	*n = 0;
	if (arr == NULL)
		return 0;
	if (!json_is_array(arr)) {
		jsonfile_locate(text, from, what, &line, &col);
		return bot_errf(err,
				"%s:%d:%d: '%s' must be an array of strings",
				file, line, col, what);
	}
	*out = xcalloc(json_array_size(arr) + 1, sizeof(char *));
	json_array_foreach(arr, i, v)
	{
		if (!json_is_string(v) || json_string_value(v)[0] == '\0') {
			jsonfile_locate(text, from, what, &line, &col);
			return bot_errf(
				err,
				"%s:%d:%d: '%s' must hold non-empty strings",
				file, line, col, what);
		}
		(*out)[(*n)++] = xstrdup(json_string_value(v));
	}
	return 0;
}

static void
strings_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Names of the named captures of 'code', added to 'names' if new. */
static void
add_capture_names(pcre2_code *code, char ***names, size_t *n)
{
	uint32_t count = 0, size = 0, i;
	PCRE2_SPTR table;
	size_t j;

	pcre2_pattern_info(code, PCRE2_INFO_NAMECOUNT, &count);
	if (count == 0)
		return;
	pcre2_pattern_info(code, PCRE2_INFO_NAMEENTRYSIZE, &size);
	pcre2_pattern_info(code, PCRE2_INFO_NAMETABLE, &table);
	for (i = 0; i < count; i++) {
		const char *name = (const char *)(table + i * size + 2);

		for (j = 0; j < *n; j++)
			if (strcmp((*names)[j], name) == 0)
				break;
		if (j < *n)
			continue;
		*names = xrealloc(*names, (*n + 2) * sizeof(char *));
		(*names)[(*n)++] = xstrdup(name);
		(*names)[*n] = NULL;
	}
}

static int
load_slots(struct intents *t, json_t *slots, const char *file, const char *text,
	   struct bot_err *err)
{
	const char *name;
	json_t *v;
	json_error_t jerr;
	int line, col;

	if (slots == NULL)
		return 0;
	if (!json_is_object(slots))
		return bot_errf(err, "%s:1:1: 'slots' must be an object", file);
	json_object_foreach(slots, name, v)
	{
		struct slotdef_int *sd;
		const char *pattern = NULL, *ask = NULL;
		size_t i;

		jsonfile_locate(text, 0, name, &line, &col);
		if (json_unpack_ex(v, &jerr, JSON_STRICT, "{s:s, s?s}",
				   "pattern", &pattern, "ask", &ask) < 0)
			return bot_errf(err, "%s:%d:%d: slot '%s': %s", file,
					line, col, name, jerr.text);
		if (!name_valid(name) || strchr(name, '.'))
			return bot_errf(err, "%s:%d:%d: bad slot name '%s'",
					file, line, col, name);
		for (i = 0; i < t->nslots; i++)
			if (strcmp(t->slots[i].pub.name, name) == 0)
				return bot_errf(err,
						"%s:%d:%d: slot '%s' is "
						"already defined in %s:%d",
						file, line, col, name,
						t->slots[i].file,
						t->slots[i].line);
		t->slots =
			xrealloc(t->slots, (t->nslots + 1) * sizeof(*t->slots));
		sd = &t->slots[t->nslots++];
		memset(sd, 0, sizeof(*sd));
		sd->pub.name = xstrdup(name);
		sd->pub.ask = ask ? xstrdup(ask) : NULL;
		sd->file = file;
		sd->line = line;
		if (compile(&sd->pat, pattern, file, text, 0, err) < 0)
			return -1;
		if (pcre2_substring_number_from_name(sd->pat.code,
						     (PCRE2_SPTR)name) < 0)
			return bot_errf(err,
					"%s:%d:%d: the pattern of slot '%s' "
					"has no capture (?<%s>...)",
					file, line, col, name, name);
	}
	return 0;
}

static int
load_intent(struct intents *t, json_t *obj, const char *file, const char *text,
	    long *cursor, struct bot_err *err)
{
	struct intent_int *in;
	json_error_t jerr;
	const char *name = NULL, *topic = NULL, *action = NULL;
	json_t *patterns = NULL, *exclude = NULL, *requires = NULL;
	json_t *examples = NULL, *counters = NULL;
	int priority = 50, line = 1, col = 1;
	char **srcs = NULL;
	size_t i, n = 0, nslots = 0;
	long off;

	if (json_unpack_ex(obj, &jerr, JSON_STRICT,
			   "{s:s, s:s, s?i, s?s, s?o, s?o, s?o, s?o, s?o}",
			   "name", &name, "topic", &topic, "priority",
			   &priority, "action", &action, "patterns", &patterns,
			   "exclude", &exclude, "requires", &requires,
			   "examples", &examples, "counter_examples",
			   &counters) < 0) {
		const char *nm =
			json_string_value(json_object_get(obj, "name"));

		if (nm)
			jsonfile_locate(text, *cursor, nm, &line, &col);
		return bot_errf(err, "%s:%d:%d: intent%s%s: %s", file, line,
				col, nm ? " " : "", nm ? nm : "", jerr.text);
	}
	off = jsonfile_locate(text, *cursor, name, &line, &col);
	if (off >= 0)
		*cursor = off;
	if (!name_valid(name))
		return bot_errf(err,
				"%s:%d:%d: bad intent name '%s': use "
				"lower-case dotted words like 'shipping.when'",
				file, line, col, name);
	if (!intents_topic_valid(topic))
		return bot_errf(err,
				"%s:%d:%d: intent '%s': unknown topic '%s'",
				file, line, col, name, topic);
	if (intents_find(t, name)) {
		const struct intent *o = intents_find(t, name);

		return bot_errf(
			err,
			"%s:%d:%d: intent '%s' is already defined at %s:%d",
			file, line, col, name, o->file, o->line);
	}
	t->v = xrealloc(t->v, (t->n + 1) * sizeof(*t->v));
	in = &t->v[t->n++];
	memset(in, 0, sizeof(*in));
	in->pub.index = t->n - 1;
	in->pub.name = xstrdup(name);
	in->pub.topic = xstrdup(topic);
	in->pub.priority = priority;
	in->pub.file = file;
	in->pub.line = line;
	in->pub.col = col;
	in->offset = *cursor;
	if (action == NULL || strcmp(action, "reply") == 0)
		in->pub.action = INTENT_REPLY;
	else if (strcmp(action, "escalate") == 0)
		in->pub.action = INTENT_ESCALATE;
	else if (strcmp(action, "complaint") == 0)
		in->pub.action = INTENT_COMPLAINT;
	else if (strcmp(action, "clarify") == 0)
		in->pub.action = INTENT_CLARIFY;
	else
		return bot_errf(err,
				"%s:%d:%d: intent '%s': unknown action '%s' "
				"(reply, clarify, escalate or complaint)",
				file, line, col, name, action);

	if (strings(patterns, "patterns", file, text, *cursor, &srcs, &n, err) <
	    0)
		goto fail;
	in->pats = xcalloc(n + 1, sizeof(*in->pats));
	for (i = 0; i < n; i++, in->npats++)
		if (compile(&in->pats[i], srcs[i], file, text, *cursor, err) <
		    0)
			goto fail;
	in->pub.npatterns = in->npats;
	strings_free(srcs, n);
	srcs = NULL;

	if (strings(exclude, "exclude", file, text, *cursor, &srcs, &n, err) <
	    0)
		goto fail;
	in->excl = xcalloc(n + 1, sizeof(*in->excl));
	for (i = 0; i < n; i++, in->nexcl++)
		if (compile(&in->excl[i], srcs[i], file, text, *cursor, err) <
		    0)
			goto fail;
	strings_free(srcs, n);
	srcs = NULL;

	if (strings(requires, "requires", file, text, *cursor, &in->requires_v,
		    &in->pub.nrequires, err) < 0)
		return -1;
	in->pub.requires = (const char *const *)in->requires_v;
	if (strings(examples, "examples", file, text, *cursor, &in->examples,
		    &in->nexamples, err) < 0 ||
	    strings(counters, "counter_examples", file, text, *cursor,
		    &in->counters, &in->ncounters, err) < 0)
		return -1;

	for (i = 0; i < in->npats; i++)
		add_capture_names(in->pats[i].code, &in->slots_v, &nslots);
	if (nslots > INTENTS_MAX_SLOTS)
		return bot_errf(
			err,
			"%s:%d:%d: intent '%s' captures %zu slots, at most %d",
			file, line, col, name, nslots, INTENTS_MAX_SLOTS);
	in->pub.slots = (const char *const *)in->slots_v;
	in->pub.nslots = nslots;
	return 0;
fail:
	strings_free(srcs, n);
	return -1;
}

static int
load_file(struct intents *t, const char *path, struct bot_err *err)
{
	json_error_t jerr;
	json_t *root = NULL, *slots = NULL, *arr = NULL, *v;
	char *text = NULL;
	size_t i;
	long cursor = 0;
	int rc = -1;

	root = jsonfile_load(path, &text, err);
	if (root == NULL)
		return -1;
	if (json_unpack_ex(root, &jerr, JSON_STRICT, "{s?o, s:o}", "slots",
			   &slots, "intents", &arr) < 0) {
		bot_errf(err, "%s:1:1: %s", path, jerr.text);
		goto out;
	}
	if (!json_is_array(arr)) {
		bot_errf(err, "%s:1:1: 'intents' must be an array", path);
		goto out;
	}
	if (load_slots(t, slots, path, text, err) < 0)
		goto out;
	json_array_foreach(arr, i, v)
	{
		if (!json_is_object(v)) {
			bot_errf(err, "%s:1:1: intent #%zu is not an object",
				 path, i + 1);
			goto out;
		}
		if (load_intent(t, v, path, text, &cursor, err) < 0)
			goto out;
	}
	rc = 0;
out:
	json_decref(root);
	free(text);
	return rc;
}

/* Cross-file rules: required slots and slot 'ask' intents exist. */
static int
link_slots(struct intents *t, struct bot_err *err)
{
	size_t i, j;

	for (i = 0; i < t->nslots; i++) {
		const struct slotdef_int *sd = &t->slots[i];

		if (sd->pub.ask && !intents_find(t, sd->pub.ask))
			return bot_errf(err,
					"%s:%d:1: slot '%s' asks with unknown "
					"intent '%s'",
					sd->file, sd->line, sd->pub.name,
					sd->pub.ask);
	}
	for (i = 0; i < t->n; i++) {
		const struct intent *in = &t->v[i].pub;

		for (j = 0; j < in->nrequires; j++) {
			const struct intent_slotdef *sd =
				intents_slotdef(t, in->requires[j]);

			if (sd == NULL || sd->ask == NULL)
				return bot_errf(err,
						"%s:%d:1: intent '%s' requires "
						"slot '%s', which is not "
						"defined with an 'ask' intent",
						in->file, in->line, in->name,
						in->requires[j]);
		}
	}
	return 0;
}

/* Intents by priority, highest first, then in file order. */
static int
cmp_match_order(const void *a, const void *b)
{
	const struct intent_int *x = *(struct intent_int *const *)a;
	const struct intent_int *y = *(struct intent_int *const *)b;

	if (x->pub.priority != y->pub.priority)
		return x->pub.priority > y->pub.priority ? -1 : 1;
	return (x->pub.index > y->pub.index) - (x->pub.index < y->pub.index);
}

/*
 * Register every intent pattern with the prefilter in match order, so
 * that its ids are that order: intents by priority, highest first, then
 * file order, each intent's patterns together.  match_indexed() walks the
 * candidates in id order and can stop at the first priority below the
 * winner's.  The exclude patterns follow.
 */
static void
index_patterns(struct intents *t)
{
	struct intent_int **by = xcalloc(t->n + 1, sizeof(*by));
	size_t i, j, total = 0;

	for (i = 0; i < t->n; i++) {
		by[i] = &t->v[i];
		total += t->v[i].npats;
	}
	qsort(by, t->n, sizeof(*by), cmp_match_order);
	t->pf = prefilter_new();
	t->order = xcalloc(total + 1, sizeof(*t->order));
	for (i = 0; i < t->n; i++)
		for (j = 0; j < by[i]->npats; j++) {
			struct pat *p = &by[i]->pats[j];

			p->pf = prefilter_add(t->pf, p->src);
			assert(p->pf == t->norder);
			t->order[t->norder].code = p->code;
			t->order[t->norder].in = by[i];
			t->order[t->norder].priority = by[i]->pub.priority;
			t->order[t->norder++].jit = p->jit;
		}
	for (i = 0; i < t->n; i++)
		for (j = 0; j < t->v[i].nexcl; j++) {
			t->v[i].excl[j].pf =
				prefilter_add(t->pf, t->v[i].excl[j].src);
			assert(t->v[i].excl[j].pf == t->v[i].excl[0].pf + j);
		}
	for (i = 0; i < t->norder; i++) {
		const struct intent_int *in = t->order[i].in;

		t->order[i].excl = in->nexcl ? (uint32_t)in->excl[0].pf : 0;
		t->order[i].nexcl = (uint32_t)in->nexcl;
	}
	prefilter_build(t->pf);
	free(by);
}

/* A hash table of the names: intents_find() runs for every fallback. */
static void
index_names(struct intents *t)
{
	size_t i, j;

	t->name_cap = 16;
	while (t->name_cap < 2 * t->n + 1)
		t->name_cap *= 2;
	t->by_name = xcalloc(t->name_cap, sizeof(size_t));
	for (i = 0; i < t->n; i++) {
		const char *name = t->v[i].pub.name;

		j = util_hash64(name, strlen(name)) & (t->name_cap - 1);
		while (t->by_name[j])
			j = (j + 1) & (t->name_cap - 1);
		t->by_name[j] = i + 1;
	}
}

struct intents *
intents_load(const char *dir, struct bot_err *err)
{
	struct intents *t = xcalloc(1, sizeof(*t));
	size_t i;

	t->files = util_list_json(dir, &t->nfiles, err);
	if (t->files == NULL)
		goto fail;
	for (i = 0; i < t->nfiles; i++)
		if (load_file(t, t->files[i], err) < 0)
			goto fail;
	if (link_slots(t, err) < 0)
		goto fail;
	index_patterns(t);
	index_names(t);
	t->use_pf = true;
	t->md = pcre2_match_data_create(32, NULL);
	t->mctx = pcre2_match_context_create(NULL);
	pcre2_set_match_limit(t->mctx, INTENTS_MATCH_LIMIT);
	pcre2_set_depth_limit(t->mctx, INTENTS_DEPTH_LIMIT);
	return t;
fail:
	intents_free(t);
	return NULL;
}

/*
 * Copy 'text' into the zero-padded subject buffer.  PCRE2's JIT reads the
 * subject in 16-byte vectors and may look past its end; with the padding
 * it never leaves our allocation (and valgrind stays quiet).
 */
static const char *
padded(struct intents *t, const char *text, size_t len)
{
	if (len + INTENTS_PAD > t->subject_cap) {
		t->subject_cap = len + INTENTS_PAD;
		t->subject = xrealloc(t->subject, t->subject_cap);
	}
	memcpy(t->subject, text, len);
	memset(t->subject + len, 0, INTENTS_PAD);
	return t->subject;
}

/*
 * Length of the leftmost match of 'p', or -1.  Empty matches don't count.
 * The text is valid UTF-8 (made so once per message, by text_normalize())
 * and padded, so a JIT-compiled pattern goes straight to its machine code:
 * pcre2_jit_match() skips pcre2_match()'s argument checks, and honours the
 * same match limit.
 */
static long
match_code(struct intents *t, const pcre2_code *code, bool jit,
	   const char *text, size_t len)
{
	PCRE2_SIZE *ov;
	int rc;

	t->runs++;
	if (jit)
		rc = pcre2_jit_match(code, (PCRE2_SPTR)text, len, 0, 0, t->md,
				     t->mctx);
	else
		rc = pcre2_match(code, (PCRE2_SPTR)text, len, 0,
				 PCRE2_NO_UTF_CHECK, t->md, t->mctx);
	if (rc < 0)
		return -1;
	ov = pcre2_get_ovector_pointer(t->md);
	if (ov[1] <= ov[0])
		return -1;
	return (long)(ov[1] - ov[0]);
}

static long
match_one(struct intents *t, const struct pat *p, const char *text, size_t len)
{
	return match_code(t, p->code, p->jit, text, len);
}

/*
 * Fill 'out' with the named captures of every pattern of 'in' that
 * matches: "165 110斤穿什么码" has its size question in one pattern and the
 * height and weight in another.  The first value found for a name wins.
 */
static void
copy_slots(struct intents *t, const struct intent_int *in, const char *text,
	   size_t len, struct intent_match *out)
{
	size_t i, j, k;

	out->nslots = 0;
	for (j = 0; j < in->npats && out->nslots < in->pub.nslots; j++) {
		if ((t->use_pf && !prefilter_maybe(t->pf, in->pats[j].pf)) ||
		    match_one(t, &in->pats[j], text, len) < 0)
			continue;
		for (i = 0; i < in->pub.nslots; i++) {
			struct intent_slot *s = &out->slots[out->nslots];
			char *buf = out->buf[out->nslots];
			PCRE2_SIZE n = sizeof(out->buf[0]);

			for (k = 0; k < out->nslots; k++)
				if (out->slots[k].name == in->slots_v[i])
					break;
			if (k < out->nslots ||
			    pcre2_substring_number_from_name(
				    in->pats[j].code,
				    (PCRE2_SPTR)in->slots_v[i]) < 0)
				continue;
			if (pcre2_substring_copy_byname(
				    t->md, (PCRE2_SPTR)in->slots_v[i],
				    (PCRE2_UCHAR *)buf, &n) != 0 ||
			    n == 0)
				continue;
			s->name = in->slots_v[i];
			s->value = buf;
			out->nslots++;
		}
	}
}

static bool
excluded(struct intents *t, const struct intent_int *in, const char *text,
	 size_t len)
{
	size_t i;

	for (i = 0; i < in->nexcl; i++) {
		if (t->use_pf && !prefilter_maybe(t->pf, in->excl[i].pf))
			continue;
		if (match_one(t, &in->excl[i], text, len) >= 0)
			return true;
	}
	return false;
}

/* Match one intent: the longest of its patterns; -1 for none. */
static long
match_intent(struct intents *t, const struct intent_int *in, const char *text,
	     size_t len, size_t *best_pat)
{
	long best = -1, m;
	size_t i;

	for (i = 0; i < in->npats; i++) {
		if (t->use_pf && !prefilter_maybe(t->pf, in->pats[i].pf))
			continue;
		m = match_one(t, &in->pats[i], text, len);
		if (m > best) {
			best = m;
			*best_pat = i;
		}
	}
	return best;
}

/*
 * The reference: every pattern of every intent, in file order, exactly as
 * the rule reads (intents_use_prefilter(t, false); the tests prove that
 * match_indexed() always picks the same).  The winner has the highest
 * priority, then the longest match, then comes first in the files.
 */
static const struct intent_int *
match_all(struct intents *t, const char *text, size_t len, long *best_len)
{
	const struct intent_int *win = NULL;
	long m;
	size_t i, pat = 0;

	for (i = 0; i < t->n; i++) {
		const struct intent_int *in = &t->v[i];

		if (in->npats == 0)
			continue;
		if (win && in->pub.priority < win->pub.priority)
			continue;
		m = match_intent(t, in, text, len, &pat);
		if (m < 0)
			continue;
		if (win && in->pub.priority == win->pub.priority &&
		    m <= *best_len)
			continue;
		if (excluded(t, in, text, len))
			continue;
		win = in;
		*best_len = m;
	}
	return win;
}

/*
 * The same choice, running only the prefilter's candidates.  They come in
 * match order (index_patterns()): an intent of a higher priority before
 * any lower one, so once an intent has won, the first candidate of a
 * lower priority ends the search; at the winner's priority a later intent
 * needs a strictly longer match, as in match_all().  Only 'order' is read
 * (see struct pat_ref); the excludes of an intent that matched are looked
 * at only when one of them is a candidate.
 */
static const struct intent_int *
match_indexed(struct intents *t, const char *text, size_t len, long *best_len)
{
	const struct intent_int *win = NULL;
	const struct pat_ref *first, *p;
	size_t id = prefilter_next(t->pf, 0);
	int win_priority = 0;
	long m, r;

	while (id < t->norder) {
		first = &t->order[id];
		if (win && first->priority < win_priority)
			break;
		for (m = -1; id < t->norder && t->order[id].in == first->in;
		     id = prefilter_next(t->pf, id + 1)) {
			p = &t->order[id];
			r = match_code(t, p->code, p->jit, text, len);
			if (r > m)
				m = r;
		}
		if (m < 0 ||
		    (win && first->priority == win_priority && m <= *best_len))
			continue;
		if (first->nexcl &&
		    prefilter_next(t->pf, first->excl) <
			    (size_t)first->excl + first->nexcl &&
		    excluded(t, first->in, text, len))
			continue;
		win = first->in;
		win_priority = first->priority;
		*best_len = m;
	}
	return win;
}

bool
intents_match(struct intents *t, const char *text, size_t len,
	      struct intent_match *out)
{
	const struct intent_int *win;
	long best_len = -1;

	memset(out, 0, sizeof(*out));
	text = padded(t, text, len);
	if (t->use_pf) {
		prefilter_scan(t->pf, text, len);
		win = match_indexed(t, text, len, &best_len);
	} else {
		win = match_all(t, text, len, &best_len);
	}
	if (win == NULL)
		return false;
	out->intent = &win->pub;
	out->match_len = (size_t)best_len;
	if (win->pub.nslots)
		copy_slots(t, win, text, len, out);
	return true;
}

bool
intents_find_slot(struct intents *t, const char *name, const char *text,
		  size_t len, char *value)
{
	size_t i;
	PCRE2_SIZE n = INTENTS_SLOT_MAX;

	text = padded(t, text, len);
	for (i = 0; i < t->nslots; i++) {
		if (strcmp(t->slots[i].pub.name, name) != 0)
			continue;
		if (match_one(t, &t->slots[i].pat, text, len) < 0)
			return false;
		return pcre2_substring_copy_byname(t->md, (PCRE2_SPTR)name,
						   (PCRE2_UCHAR *)value,
						   &n) == 0 &&
		       n > 0;
	}
	return false;
}

void
intents_use_prefilter(struct intents *t, bool on)
{
	t->use_pf = on;
}

uint64_t
intents_pattern_runs(const struct intents *t)
{
	return t->runs;
}

void
intents_prefilter_stats(const struct intents *t, size_t *patterns,
			size_t *always, size_t *literals)
{
	*patterns = t->norder;
	prefilter_stats(t->pf, t->norder, always, literals);
}

const struct intent *
intents_find(const struct intents *t, const char *name)
{
	size_t i;

	if (t->by_name) {
		i = util_hash64(name, strlen(name)) & (t->name_cap - 1);
		for (; t->by_name[i]; i = (i + 1) & (t->name_cap - 1))
			if (strcmp(t->v[t->by_name[i] - 1].pub.name, name) == 0)
				return &t->v[t->by_name[i] - 1].pub;
		return NULL;
	}
	for (i = 0; i < t->n; i++) /* still loading */
		if (strcmp(t->v[i].pub.name, name) == 0)
			return &t->v[i].pub;
	return NULL;
}

size_t
intents_count(const struct intents *t)
{
	return t->n;
}

const struct intent *
intents_at(const struct intents *t, size_t i)
{
	return i < t->n ? &t->v[i].pub : NULL;
}

const struct intent_slotdef *
intents_slotdef(const struct intents *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->nslots; i++)
		if (strcmp(t->slots[i].pub.name, name) == 0)
			return &t->slots[i].pub;
	return NULL;
}

/* Report helper: locates 's' in the intent's file after the intent. */
struct reporter {
	intents_report_fn *fn;
	void *ctx;
	int problems;
	const char *file; /* cached file text belongs to this path */
	char *text;
};

static void
report(struct reporter *r, const struct intent_int *in, const char *s,
       const char *reason)
{
	char where[300];
	int line = in->pub.line, col = 1;

	if (r->file != in->pub.file) {
		free(r->text);
		r->text = util_read_file(in->pub.file, NULL);
		r->file = in->pub.file;
	}
	if (s && r->text)
		jsonfile_locate(r->text, in->offset, s, &line, &col);
	snprintf(where, sizeof(where), "%s:%d:%d", in->pub.file, line, col);
	r->problems++;
	if (r->fn)
		r->fn(r->ctx, where, reason);
}

/* Is the leftmost match of 'p' in normalised 'text' empty? */
static bool
empty_match_in(struct intents *t, const struct pat *p, const char *text)
{
	size_t len = strlen(text);
	char *norm = xmalloc(len + 1);
	PCRE2_SIZE *ov;
	bool empty;

	len = text_normalize(text, len, norm, len + 1);
	empty = pcre2_match(p->code, (PCRE2_SPTR)padded(t, norm, len), len, 0,
			    0, t->md, t->mctx) >= 0 &&
		(ov = pcre2_get_ovector_pointer(t->md), ov[1] == ov[0]);
	free(norm);
	return empty;
}

/*
 * A match that consumes nothing does not count (match_code()), and the
 * leftmost match is the one PCRE2 gives: a pattern or exclude that can
 * match empty does less than it says.  PCRE2 says when a pattern can
 * ('(退货)?', '\b'); lookaheads alone ('(?=运费)') show on the intent's
 * own examples and counter-examples, the texts they are written for.
 */
static void
check_empty(struct reporter *r, struct intents *t, const struct intent_int *in,
	    const struct pat *p, const char *what)
{
	char reason[512];
	const char *on = NULL;
	uint32_t min = 1;
	size_t k;

	pcre2_pattern_info(p->code, PCRE2_INFO_MINLENGTH, &min);
	for (k = 0; min > 0 && on == NULL && k < in->nexamples; k++)
		if (empty_match_in(t, p, in->examples[k]))
			on = in->examples[k];
	for (k = 0; min > 0 && on == NULL && k < in->ncounters; k++)
		if (empty_match_in(t, p, in->counters[k]))
			on = in->counters[k];
	if (min > 0 && on == NULL)
		return;
	if (on)
		snprintf(reason, sizeof(reason),
			 "%s '%s' of '%s' matches nothing in '%s', and an "
			 "empty match does not count: make it need a "
			 "character",
			 what, p->src, in->pub.name, on);
	else
		snprintf(reason, sizeof(reason),
			 "%s '%s' of '%s' can match nothing, and an empty "
			 "match does not count: make it need a character",
			 what, p->src, in->pub.name);
	report(r, in, p->src, reason);
}

int
intents_check(struct intents *t, intents_report_fn *fn, void *ctx)
{
	struct reporter r = {fn, ctx, 0, NULL, NULL};
	struct intent_match m;
	char reason[512], *norm;
	size_t i, j, len, pat;

	for (i = 0; i < t->n; i++) {
		const struct intent_int *in = &t->v[i];

		for (j = 0; j < in->npats; j++)
			if (pcre2_match(in->pats[j].code,
					(PCRE2_SPTR)padded(t, "", 0), 0, 0, 0,
					t->md, t->mctx) >= 0) {
				snprintf(reason, sizeof(reason),
					 "pattern '%s' of '%s' matches the "
					 "empty string",
					 in->pats[j].src, in->pub.name);
				report(&r, in, in->pats[j].src, reason);
			} else {
				check_empty(&r, t, in, &in->pats[j], "pattern");
			}
		/* the leftmost match decides: an empty one hides any other */
		for (j = 0; j < in->nexcl; j++)
			check_empty(&r, t, in, &in->excl[j], "exclude");
		if (in->npats > 0 && in->nexamples < INTENTS_MIN_EXAMPLES) {
			snprintf(
				reason, sizeof(reason),
				"intent '%s' has %zu examples, at least %d are "
				"needed",
				in->pub.name, in->nexamples,
				INTENTS_MIN_EXAMPLES);
			report(&r, in, NULL, reason);
		}
		if (in->npats == 0 && in->nexamples > 0) {
			snprintf(reason, sizeof(reason),
				 "intent '%s' has examples but no patterns",
				 in->pub.name);
			report(&r, in, NULL, reason);
		}
		for (j = 0; in->npats && j < in->nexamples; j++) {
			const char *ex = in->examples[j];

			len = strlen(ex);
			norm = xmalloc(len + 1);
			len = text_normalize(ex, len, norm, len + 1);
			if (!intents_match(t, norm, len, &m) ||
			    m.intent != &in->pub) {
				const char *sub = padded(t, norm, len);
				bool own = match_intent(t, in, sub, len,
							&pat) >= 0 &&
					   !excluded(t, in, sub, len);

				if (!own)
					snprintf(reason, sizeof(reason),
						 "example '%s' does not match "
						 "its intent '%s'",
						 ex, in->pub.name);
				else
					snprintf(reason, sizeof(reason),
						 "example '%s' of '%s' is "
						 "shadowed by '%s' (priority "
						 "%d vs %d)",
						 ex, in->pub.name,
						 m.intent->name,
						 m.intent->priority,
						 in->pub.priority);
				report(&r, in, ex, reason);
			}
			free(norm);
		}
		for (j = 0; j < in->ncounters; j++) {
			const char *ex = in->counters[j];

			len = strlen(ex);
			norm = xmalloc(len + 1);
			len = text_normalize(ex, len, norm, len + 1);
			if (intents_match(t, norm, len, &m) &&
			    m.intent == &in->pub) {
				snprintf(reason, sizeof(reason),
					 "counter-example '%s' matches '%s'",
					 ex, in->pub.name);
				report(&r, in, ex, reason);
			}
			free(norm);
		}
	}
	free(r.text);
	return r.problems;
}

void
intents_free(struct intents *t)
{
	size_t i, j;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++) {
		struct intent_int *in = &t->v[i];

		for (j = 0; j < in->npats; j++)
			pat_free(&in->pats[j]);
		for (j = 0; j < in->nexcl; j++)
			pat_free(&in->excl[j]);
		free(in->pats);
		free(in->excl);
		strings_free(in->examples, in->nexamples);
		strings_free(in->counters, in->ncounters);
		strings_free(in->requires_v, in->pub.nrequires);
		strings_free(in->slots_v, in->pub.nslots);
		free((char *)in->pub.name);
		free((char *)in->pub.topic);
	}
	free(t->v);
	for (i = 0; i < t->nslots; i++) {
		pat_free(&t->slots[i].pat);
		free((char *)t->slots[i].pub.name);
		free((char *)t->slots[i].pub.ask);
	}
	free(t->slots);
	strings_free(t->files, t->nfiles);
	pcre2_match_data_free(t->md);
	pcre2_match_context_free(t->mctx);
	free(t->subject);
	prefilter_free(t->pf);
	free(t->order);
	free(t->by_name);
	free(t);
}
