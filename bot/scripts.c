/*
 * scripts.c - see scripts.h.
 */
#include "scripts.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intents.h"
#include "jsonfile.h"
#include "util.h"

#define SCRIPTS_MAX_BUTTONS 6

struct scripts {
	struct script *v;
	size_t n;
	char **files;
	size_t nfiles;
	struct scripts_phase *phases;
	size_t nphases;
	const char *campaign_file; /* one of files[], or NULL */
};

#define SCRIPTS_CAMPAIGN   "campaign.json"
#define SCRIPTS_PRODUCTS   "products.json"
#define SCRIPTS_MAX_PHASES 32

/*
 * Parse the {slot}s of 'text'.  Returns the number of slots, or -1 when a
 * brace is unbalanced or a name is not [a-z_][a-z0-9_]*.
 */
static int
parse_slots(const char *text, scripts_slot_fn *fn, void *ctx)
{
	const char *p = text, *close;
	int n = 0;

	for (; *p; p++) {
		size_t len, i;

		if (*p == '}')
			return -1;
		if (*p != '{')
			continue;
		close = strchr(p + 1, '}');
		if (close == NULL)
			return -1;
		len = (size_t)(close - p - 1);
		if (len == 0 || len > SCRIPTS_SLOT_NAME_MAX)
			return -1;
		for (i = 0; i < len; i++) {
			char c = p[1 + i];

			if (!((c >= 'a' && c <= 'z') || c == '_' ||
			      (i > 0 && c >= '0' && c <= '9')))
				return -1;
		}
		if (fn)
			fn(ctx, p + 1, len);
		n++;
		p = close;
	}
	return n;
}

void
scripts_foreach_slot(const char *text, scripts_slot_fn *fn, void *ctx)
{
	parse_slots(text, fn, ctx);
}

static char **
copy_strings(json_t *arr, size_t *n, bool *bad)
{
	char **v;
	json_t *e;
	size_t i;

	*n = 0;
	*bad = false;
	if (arr == NULL)
		return NULL;
	if (!json_is_array(arr)) {
		*bad = true;
		return NULL;
	}
	v = xcalloc(json_array_size(arr) + 1, sizeof(char *));
	json_array_foreach(arr, i, e)
	{
		if (!json_is_string(e) || json_string_value(e)[0] == '\0') {
			*bad = true;
			continue;
		}
		v[(*n)++] = xstrdup(json_string_value(e));
	}
	return v;
}

static void
script_clear(struct script *sc)
{
	size_t i;

	for (i = 0; i < sc->ntags; i++)
		free((char *)sc->tags[i]);
	free((void *)sc->tags);
	for (i = 0; i < sc->nvariants; i++) {
		free((char *)sc->variants[i].text);
		free((char *)sc->variants[i].phase);
	}
	free((void *)sc->variants);
	for (i = 0; i < sc->nbuttons; i++) {
		free((char *)sc->buttons[i].title);
		free((char *)sc->buttons[i].payload);
	}
	free((void *)sc->buttons);
	free((char *)sc->id);
	free((char *)sc->intent);
	free((char *)sc->author);
	free((char *)sc->approver);
}

static int
load_buttons(struct script *sc, json_t *arr, const char *where,
	     struct bot_err *err)
{
	struct script_button *b;
	json_error_t jerr;
	json_t *e;
	size_t i;

	if (arr == NULL)
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) > SCRIPTS_MAX_BUTTONS)
		return bot_errf(
			err,
			"%s: 'buttons' must be an array of at most %d buttons",
			where, SCRIPTS_MAX_BUTTONS);
	b = xcalloc(json_array_size(arr) + 1, sizeof(*b));
	sc->buttons = b;
	json_array_foreach(arr, i, e)
	{
		const char *title, *payload;

		if (json_unpack_ex(e, &jerr, JSON_STRICT, "{s:s, s:s}", "title",
				   &title, "payload", &payload) < 0)
			return bot_errf(err, "%s: button %zu: %s", where, i + 1,
					jerr.text);
		if (title[0] == '\0' || payload[0] == '\0')
			return bot_errf(
				err, "%s: button %zu: empty title or payload",
				where, i + 1);
		b[i].title = xstrdup(title);
		b[i].payload = xstrdup(payload);
		sc->nbuttons++;
	}
	return 0;
}

static int
load_script(struct scripts *s, json_t *obj, const char *file, const char *text,
	    long *cursor, struct bot_err *err)
{
	struct script *sc;
	struct script_variant *vars;
	json_error_t jerr;
	const char *id = NULL, *intent = NULL, *status = NULL;
	const char *author = NULL, *approver = NULL;
	json_t *tags = NULL, *variants = NULL, *buttons = NULL, *e;
	int version = 0, needs_human = 0, line = 1, col = 1;
	char where[400], **tagv;
	size_t i, ntags;
	bool bad;
	long off;

	if (json_unpack_ex(obj, &jerr, JSON_STRICT,
			   "{s:s, s:s, s:s, s:i, s:s, s?s, s?o, s:o, s?o, s?b}",
			   "id", &id, "intent", &intent, "status", &status,
			   "version", &version, "author", &author, "approver",
			   &approver, "tags", &tags, "variants", &variants,
			   "buttons", &buttons, "needs_human",
			   &needs_human) < 0) {
		const char *nm = json_string_value(json_object_get(obj, "id"));

		if (nm)
			jsonfile_locate(text, *cursor, nm, &line, &col);
		return bot_errf(err, "%s:%d:%d: script%s%s: %s", file, line,
				col, nm ? " " : "", nm ? nm : "", jerr.text);
	}
	off = jsonfile_locate(text, *cursor, id, &line, &col);
	if (off >= 0)
		*cursor = off;
	snprintf(where, sizeof(where), "%s:%d:%d: script '%s'", file, line, col,
		 id);
	if (version < 1)
		return bot_errf(err, "%s: version must be 1 or more", where);
	if (strcmp(status, "approved") != 0 && strcmp(status, "draft") != 0)
		return bot_errf(err,
				"%s: unknown status '%s' (approved or draft)",
				where, status);
	if (strcmp(status, "approved") == 0 &&
	    (approver == NULL || approver[0] == '\0'))
		return bot_errf(err, "%s: an approved script needs an approver",
				where);
	if (author[0] == '\0')
		return bot_errf(err, "%s: empty author", where);
	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i].id, id) == 0 && s->v[i].version == version)
			return bot_errf(
				err, "%s: %s@%d is already defined at %s:%d",
				where, id, version, s->v[i].file, s->v[i].line);

	s->v = xrealloc(s->v, (s->n + 1) * sizeof(*s->v));
	sc = &s->v[s->n++];
	memset(sc, 0, sizeof(*sc));
	sc->id = xstrdup(id);
	sc->intent = xstrdup(intent);
	sc->version = version;
	sc->approved = strcmp(status, "approved") == 0;
	sc->author = xstrdup(author);
	sc->approver = approver ? xstrdup(approver) : NULL;
	sc->needs_human = needs_human != 0;
	sc->file = file;
	sc->line = line;
	sc->col = col;
	snprintf(sc->ref, sizeof(sc->ref), "%s@%d", id, version);

	tagv = copy_strings(tags, &ntags, &bad);
	sc->tags = (const char *const *)tagv;
	sc->ntags = ntags;
	if (bad)
		return bot_errf(err, "%s: 'tags' must be an array of strings",
				where);

	if (!json_is_array(variants) || json_array_size(variants) == 0)
		return bot_errf(
			err,
			"%s: 'variants' must be a non-empty array of strings",
			where);
	vars = xcalloc(json_array_size(variants), sizeof(*vars));
	sc->variants = vars;
	json_array_foreach(variants, i, e)
	{
		const char *v = json_string_value(e), *phase = NULL;
		int n;

		/* "text" or {"text": "...", "phase": "尾款"} */
		if (json_is_object(e) &&
		    json_unpack_ex(e, &jerr, JSON_STRICT, "{s:s, s?s}", "text",
				   &v, "phase", &phase) < 0)
			return bot_errf(err, "%s: variant %zu: %s", where,
					i + 1, jerr.text);
		if (v == NULL || v[0] == '\0' || (phase && phase[0] == '\0'))
			return bot_errf(
				err,
				"%s: variant %zu must be a non-empty string "
				"or {\"text\": ..., \"phase\": ...}",
				where, i + 1);
		n = parse_slots(v, NULL, NULL);
		if (n < 0)
			return bot_errf(
				err,
				"%s: variant %zu has a malformed {slot}: '%s'",
				where, i + 1, v);
		vars[i].text = xstrdup(v);
		vars[i].nslots = (size_t)n;
		vars[i].phase = phase ? xstrdup(phase) : NULL;
		sc->nvariants++;
	}
	return load_buttons(sc, buttons, where, err);
}

static int
load_file(struct scripts *s, const char *path, struct bot_err *err)
{
	json_error_t jerr;
	json_t *root, *arr = NULL, *v;
	char *text;
	size_t i;
	long cursor = 0;
	int rc = -1;

	root = jsonfile_load(path, &text, err);
	if (root == NULL)
		return -1;
	if (json_unpack_ex(root, &jerr, JSON_STRICT, "{s:o}", "scripts", &arr) <
		    0 ||
	    !json_is_array(arr)) {
		bot_errf(err, "%s:1:1: %s", path,
			 arr ? "'scripts' must be an array" : jerr.text);
		goto out;
	}
	json_array_foreach(arr, i, v)
	{
		if (!json_is_object(v)) {
			bot_errf(err, "%s:1:1: script #%zu is not an object",
				 path, i + 1);
			goto out;
		}
		if (load_script(s, v, path, text, &cursor, err) < 0)
			goto out;
	}
	rc = 0;
out:
	json_decref(root);
	free(text);
	return rc;
}

/*
 * campaign.json: {"campaign": "...", "timezone": "Asia/Shanghai",
 * "phases": [{"name": "定金", "start": "2026-10-24 20:00",
 * "end": "2026-11-10 20:00"}, ...]}.  Overlaps and gaps are for
 * content_check() to report; here only the form is checked.
 */
static int
load_campaign(struct scripts *s, const char *path, struct bot_err *err)
{
	json_error_t jerr;
	json_t *root, *phases = NULL, *p;
	const char *name = NULL, *tz = NULL;
	char *text;
	size_t i;
	int rc = -1, line, col;
	long cursor = 0, off;

	root = jsonfile_load(path, &text, err);
	if (root == NULL)
		return -1;
	if (json_unpack_ex(root, &jerr, JSON_STRICT, "{s?s, s?s, s:o}",
			   "campaign", &name, "timezone", &tz, "phases",
			   &phases) < 0 ||
	    !json_is_array(phases)) {
		bot_errf(err, "%s:1:1: %s", path,
			 phases ? "'phases' must be an array" : jerr.text);
		goto out;
	}
	if (tz && strcmp(tz, "Asia/Shanghai") != 0) {
		bot_errf(err,
			 "%s:1:1: timezone '%s' is not supported: phases are "
			 "in Asia/Shanghai time",
			 path, tz);
		goto out;
	}
	if (json_array_size(phases) > SCRIPTS_MAX_PHASES) {
		bot_errf(err, "%s:1:1: more than %d phases", path,
			 SCRIPTS_MAX_PHASES);
		goto out;
	}
	s->phases = xcalloc(json_array_size(phases) + 1, sizeof(*s->phases));
	s->campaign_file = path;
	json_array_foreach(phases, i, p)
	{
		struct scripts_phase *ph = &s->phases[i];
		const char *pname = NULL, *start = NULL, *end = NULL;

		if (json_unpack_ex(p, &jerr, JSON_STRICT, "{s:s, s:s, s:s}",
				   "name", &pname, "start", &start, "end",
				   &end) < 0) {
			bot_errf(err, "%s:1:1: phase %zu: %s", path, i + 1,
				 jerr.text);
			goto out;
		}
		off = jsonfile_locate(text, cursor, pname, &line, &col);
		if (off >= 0)
			cursor = off;
		if (pname[0] == '\0') {
			bot_errf(err, "%s:%d:%d: phase %zu has an empty name",
				 path, line, col, i + 1);
			goto out;
		}
		ph->name = xstrdup(pname);
		ph->line = line;
		s->nphases++;
		if (util_parse_shanghai(start, &ph->start_ms) < 0 ||
		    util_parse_shanghai(end, &ph->end_ms) < 0) {
			bot_errf(err,
				 "%s:%d:%d: phase '%s': bad time: use "
				 "\"YYYY-MM-DD HH:MM\"",
				 path, line, col, pname);
			goto out;
		}
		if (ph->end_ms <= ph->start_ms) {
			bot_errf(err,
				 "%s:%d:%d: phase '%s' ends before it starts",
				 path, line, col, pname);
			goto out;
		}
	}
	rc = 0;
out:
	json_decref(root);
	free(text);
	return rc;
}

static bool
is_file(const char *path, const char *name)
{
	size_t lp = strlen(path), ln = strlen(name);

	return lp >= ln && strcmp(path + lp - ln, name) == 0 &&
	       (lp == ln || path[lp - ln - 1] == '/');
}

struct scripts *
scripts_load(const char *dir, struct bot_err *err)
{
	struct scripts *s = xcalloc(1, sizeof(*s));
	size_t i;

	s->files = util_list_json(dir, &s->nfiles, err);
	if (s->files == NULL)
		goto fail;
	for (i = 0; i < s->nfiles; i++) {
		int rc = 0;

		if (is_file(s->files[i], SCRIPTS_CAMPAIGN))
			rc = load_campaign(s, s->files[i], err);
		else if (!is_file(s->files[i], SCRIPTS_PRODUCTS))
			rc = load_file(s, s->files[i], err);
		if (rc < 0)
			goto fail;
	}
	return s;
fail:
	scripts_free(s);
	return NULL;
}

const struct script *
scripts_for_intent(const struct scripts *s, const char *intent)
{
	const struct script *best = NULL;
	size_t i;

	for (i = 0; i < s->n; i++) {
		const struct script *sc = &s->v[i];

		if (!sc->approved || strcmp(sc->intent, intent) != 0)
			continue;
		if (best == NULL || sc->version > best->version)
			best = sc;
	}
	return best;
}

size_t
scripts_count(const struct scripts *s)
{
	return s->n;
}

const struct script *
scripts_at(const struct scripts *s, size_t i)
{
	return i < s->n ? &s->v[i] : NULL;
}

static const char *
slot_value(const struct intent_slot *slots, size_t nslots, const char *name,
	   size_t len)
{
	size_t i;

	for (i = 0; i < nslots; i++)
		if (slots[i].name && strlen(slots[i].name) == len &&
		    memcmp(slots[i].name, name, len) == 0 && slots[i].value[0])
			return slots[i].value;
	return NULL;
}

struct fill_check {
	const struct intent_slot *slots;
	size_t nslots;
	bool ok;
	const char *missing;
};

static void
check_slot(void *ctx, const char *name, size_t len)
{
	struct fill_check *fc = ctx;

	if (slot_value(fc->slots, fc->nslots, name, len))
		return;
	if (fc->ok)
		fc->missing = name;
	fc->ok = false;
}

static bool
fillable(const struct script_variant *v, const struct intent_slot *slots,
	 size_t nslots, const char **missing)
{
	struct fill_check fc = {slots, nslots, true, NULL};

	if (v->nslots == 0)
		return true;
	parse_slots(v->text, check_slot, &fc);
	if (!fc.ok && missing && *missing == NULL)
		*missing = fc.missing;
	return fc.ok;
}

/* How good a choice variant 'v' is now: -1 unusable, else higher wins. */
static long
rank(const struct script_variant *v, const char *phase,
     const struct intent_slot *slots, size_t nslots, const char **missing)
{
	if (v->phase && (phase == NULL || strcmp(v->phase, phase) != 0))
		return -1;
	if (!fillable(v, slots, nslots, missing))
		return -1;
	return (v->phase ? 1000 : 0) + (long)v->nslots;
}

int
scripts_render(const struct script *sc, uint32_t pick, const char *phase,
	       const struct intent_slot *slots, size_t nslots,
	       struct strbuf *out, char *missing)
{
	const char *first_missing = NULL, *p, *q;
	size_t i, count = 0, chosen = 0;
	long best = -1, r;

	for (i = 0; i < sc->nvariants; i++) {
		r = rank(&sc->variants[i], phase, slots, nslots,
			 &first_missing);
		if (r > best) {
			best = r;
			count = 0;
		}
		if (r == best)
			count++;
	}
	if (best < 0) {
		if (missing && first_missing) {
			size_t l = strcspn(first_missing, "}");

			if (l > SCRIPTS_SLOT_NAME_MAX)
				l = SCRIPTS_SLOT_NAME_MAX;
			memcpy(missing, first_missing, l);
			missing[l] = '\0';
		}
		return -1;
	}
	pick %= (uint32_t)count;
	for (i = 0; i < sc->nvariants; i++) {
		if (rank(&sc->variants[i], phase, slots, nslots, NULL) != best)
			continue;
		if (pick-- == 0) {
			chosen = i;
			break;
		}
	}
	for (p = sc->variants[chosen].text; *p; p = q) {
		q = strchr(p, '{');
		if (q == NULL) {
			strbuf_addstr(out, p);
			break;
		}
		strbuf_add(out, p, (size_t)(q - p));
		p = q + 1;
		q = strchr(p, '}');
		strbuf_addstr(out,
			      slot_value(slots, nslots, p, (size_t)(q - p)));
		q++;
	}
	return 0;
}

const struct scripts_phase *
scripts_phases(const struct scripts *s, size_t *n)
{
	*n = s->nphases;
	return s->phases;
}

const char *
scripts_campaign_file(const struct scripts *s)
{
	return s->campaign_file;
}

const char *
scripts_phase_at(const struct scripts *s, int64_t now_ms)
{
	size_t i;

	for (i = 0; i < s->nphases; i++)
		if (now_ms >= s->phases[i].start_ms &&
		    now_ms < s->phases[i].end_ms)
			return s->phases[i].name;
	return NULL;
}

static bool
contains_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle), i;

	if (n == 0)
		return true;
	for (; *hay; hay++) {
		for (i = 0; i < n; i++) {
			char a = hay[i], b = needle[i];

			if (a >= 'A' && a <= 'Z')
				a = (char)(a - 'A' + 'a');
			if (b >= 'A' && b <= 'Z')
				b = (char)(b - 'A' + 'a');
			if (a != b)
				break;
		}
		if (i == n)
			return true;
	}
	return false;
}

size_t
scripts_search(const struct scripts *s, const char *word, scripts_hit_fn *fn,
	       void *ctx)
{
	size_t i, j, hits = 0;

	for (i = 0; i < s->n; i++) {
		const struct script *sc = &s->v[i];
		bool hit = contains_ci(sc->id, word) ||
			   contains_ci(sc->intent, word);

		for (j = 0; !hit && j < sc->ntags; j++)
			hit = contains_ci(sc->tags[j], word);
		for (j = 0; !hit && j < sc->nvariants; j++)
			hit = contains_ci(sc->variants[j].text, word);
		if (!hit)
			continue;
		hits++;
		if (fn)
			fn(ctx, sc);
	}
	return hits;
}

void
scripts_free(struct scripts *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++)
		script_clear(&s->v[i]);
	free(s->v);
	for (i = 0; i < s->nphases; i++)
		free((char *)s->phases[i].name);
	free(s->phases);
	for (i = 0; i < s->nfiles; i++)
		free(s->files[i]);
	free(s->files);
	free(s);
}
