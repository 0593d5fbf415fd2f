/*
 * prefilter.c - see prefilter.h.
 *
 * The extractor is a small recursive-descent reader of the PCRE2 syntax
 * the content uses.  Each piece of a pattern yields a requirement: a set
 * of alternative literals one of which every match contains, or "none".
 * A sequence needs all its pieces, so it keeps the most selective one;
 * an alternation needs one branch, so it takes the union (none if any
 * branch has none).  Adjacent literal characters join into one string.
 */
#include "prefilter.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "util.h"

#define PREFILTER_MAX_ALTS 512

/* A requirement: 'n' alternative literals, or none when n == 0. */
struct req {
	char **alts;
	size_t n;
};

struct parser {
	const char *s;
	size_t i;
	bool fail; /* something unknown: require nothing at all */
};

struct lit {
	char *s;
	size_t len;
	uint32_t first; /* first code point */
};

struct pat {
	size_t *lits; /* literal ids; none: always run */
	size_t nlits;
};

struct prefilter {
	struct pat *pats;
	size_t npats;
	struct lit *lits;
	size_t nlits;
	/* first code point -> literal ids, open addressing */
	struct bucket {
		uint32_t cp; /* 0 = empty */
		size_t start, count;
	} * table;
	size_t tcap;
	size_t *order; /* literal ids grouped by bucket */
	uint64_t *hit; /* one bit per literal */
	size_t hitwords;
};

static void
req_clear(struct req *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->alts[i]);
	free(r->alts);
	r->alts = NULL;
	r->n = 0;
}

static void
req_add(struct req *r, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (strlen(r->alts[i]) == len &&
		    memcmp(r->alts[i], s, len) == 0)
			return;
	r->alts = xrealloc(r->alts, (r->n + 1) * sizeof(char *));
	r->alts[r->n++] = xstrndup(s, len);
}

/* Shortest alternative in bytes: the higher, the more selective. */
static size_t
req_score(const struct req *r)
{
	size_t i, m = SIZE_MAX;

	for (i = 0; i < r->n; i++)
		if (strlen(r->alts[i]) < m)
			m = strlen(r->alts[i]);
	return r->n ? m : 0;
}

/* Keep the better of 'best' and 'cand' in 'best'; 'cand' is consumed. */
static void
req_keep_best(struct req *best, struct req *cand)
{
	size_t a = req_score(best), b = req_score(cand);

	if (cand->n &&
	    (best->n == 0 || b > a || (b == a && cand->n < best->n))) {
		req_clear(best);
		*best = *cand;
		cand->alts = NULL;
		cand->n = 0;
	} else {
		req_clear(cand);
	}
}

/* Quantifier after an atom: {min,max}; max < 0 is unbounded. */
static void
quantifier(struct parser *p, int *min, int *max)
{
	const char *s = p->s;
	char *end;
	long a, b;

	*min = *max = 1;
	switch (s[p->i]) {
	case '?':
		*min = 0;
		p->i++;
		break;
	case '*':
		*min = 0;
		*max = -1;
		p->i++;
		break;
	case '+':
		*max = -1;
		p->i++;
		break;
	case '{':
		a = strtol(s + p->i + 1, &end, 10);
		if (end == s + p->i + 1) {
			p->fail = true; /* a literal '{': not worth it */
			return;
		}
		b = a;
		if (*end == ',') {
			if (end[1] == '}') {
				b = -1;
				end++;
			} else {
				b = strtol(end + 1, &end, 10);
			}
		}
		if (*end != '}') {
			p->fail = true;
			return;
		}
		*min = (int)a;
		*max = (int)b;
		p->i = (size_t)(end - s) + 1;
		break;
	default:
		return;
	}
	if (s[p->i] == '?' || s[p->i] == '+') /* lazy, possessive */
		p->i++;
}

static void parse_alt(struct parser *p, struct req *out);

/* Characters whose case PCRE2_CASELESS folds but our normaliser does not
 * (Latin-1 letters, Greek, Cyrillic …): a literal with one cannot be
 * searched byte for byte. */
static bool
caseful(uint32_t cp)
{
	return cp >= 0x80 && cp < 0x2000;
}

/*
 * Skip a [...] class.  A small class of plain characters ("[券劵]") is an
 * alternation of them: they go into 'alts'; anything else (ranges,
 * negation, escapes) leaves 'alts' empty.
 */
static void
skip_class(struct parser *p, struct req *alts)
{
	const char *s = p->s;
	bool plain = true;
	size_t start;

	p->i++;
	if (s[p->i] == '^') {
		plain = false;
		p->i++;
	}
	if (s[p->i] == ']')
		p->i++;
	start = p->i;
	while (s[p->i] && s[p->i] != ']') {
		if (s[p->i] == '\\' || s[p->i] == '-')
			plain = false;
		if (s[p->i] == '\\' && s[p->i + 1])
			p->i++;
		p->i++;
	}
	if (s[p->i] != ']') {
		p->fail = true;
		return;
	}
	if (plain && p->i > start) {
		size_t i = start, n;
		uint32_t cp;

		while (i < p->i) {
			n = text_utf8_decode(s + i, p->i - i, &cp);
			if (n == 0 || (cp >= 'A' && cp <= 'Z') ||
			    (cp >= 'a' && cp <= 'z') || caseful(cp)) {
				req_clear(alts);
				break;
			}
			req_add(alts, s + i, n);
			i += n;
		}
		if (alts->n > 8)
			req_clear(alts);
	}
	p->i++;
}

static void
flush_run(struct strbuf *run, struct req *best)
{
	struct req cand = {NULL, 0};

	if (run->len == 0)
		return;
	req_add(&cand, run->buf, run->len);
	req_keep_best(best, &cand);
	strbuf_reset(run);
}

/* A sequence up to '|', ')' or the end. */
static void
parse_seq(struct parser *p, struct req *best)
{
	const char *s = p->s;
	struct strbuf run;

	strbuf_init(&run);
	while (!p->fail && s[p->i] && s[p->i] != '|' && s[p->i] != ')') {
		char lit[8];
		size_t litlen = 0;
		struct req sub = {NULL, 0};
		bool group = false;
		int min, max;
		uint32_t cp;

		switch (s[p->i]) {
		case '(':
			p->i++;
			if (s[p->i] == '?') {
				const char *g = s + p->i + 1;

				if (*g == ':' || *g == '>') {
					p->i += 2;
				} else if (*g == '<' && g[1] != '=' &&
					   g[1] != '!') {
					/* named group (?<name>...) */
					const char *e = strchr(g, '>');

					if (e == NULL) {
						p->fail = true;
						break;
					}
					p->i = (size_t)(e - s) + 1;
				} else if (*g == '=' || *g == '!' ||
					   (*g == '<' &&
					    (g[1] == '=' || g[1] == '!'))) {
					/* lookaround: zero-width; what a
					 * positive one asserts must occur */
					struct req look = {NULL, 0};
					bool positive =
						*g == '=' ||
						(*g == '<' && g[1] == '=');

					p->i += *g == '<' ? 3 : 2;
					parse_alt(p, &look);
					if (s[p->i] != ')')
						p->fail = true;
					else
						p->i++;
					flush_run(&run, best);
					if (positive && !p->fail)
						req_keep_best(best, &look);
					else
						req_clear(&look);
					continue;
				} else if ((*g >= '0' && *g <= '9') ||
					   *g == 'R' || *g == '+' ||
					   *g == '-' || *g == '&') {
					/* a subroutine call "(?1)": it
					 * matches something, requires
					 * nothing we know */
					const char *e = strchr(g, ')');

					if (e == NULL) {
						p->fail = true;
						break;
					}
					p->i = (size_t)(e - s) + 1;
					break;
				} else {
					p->fail = true; /* flags etc. */
					break;
				}
			}
			parse_alt(p, &sub);
			if (s[p->i] != ')') {
				p->fail = true;
				req_clear(&sub);
				break;
			}
			p->i++;
			group = true;
			break;
		case '[':
			skip_class(p, &sub);
			group = sub.n > 0;
			break;
		case '.':
		case '^':
		case '$':
			p->i++;
			break;
		case '\\':
			if (strchr(".?*+()[]{}|\\/-^$#&~:\"'<>=!,@%_ ",
				   s[p->i + 1]) &&
			    s[p->i + 1]) {
				lit[0] = s[p->i + 1];
				litlen = 1;
			} else if (s[p->i + 1] == 'Q') {
				p->fail = true;
				break;
			}
			/* \d \w \s \b \x{..} \1 …: nothing literal */
			p->i += s[p->i + 1] ? 2 : 1;
			break;
		case '*':
		case '+':
		case '?':
		case '{':
			p->fail = true; /* a quantifier with no atom */
			break;
		default:
			litlen = text_utf8_decode(s + p->i, strlen(s + p->i),
						  &cp);
			if (litlen == 0 || litlen > 4 || caseful(cp)) {
				p->i += litlen ? litlen : 1;
				litlen = 0;
				break;
			}
			memcpy(lit, s + p->i, litlen);
			if (litlen == 1 && lit[0] >= 'A' && lit[0] <= 'Z')
				lit[0] = (char)(lit[0] - 'A' + 'a');
			p->i += litlen;
			break;
		}
		if (p->fail) {
			req_clear(&sub);
			break;
		}
		quantifier(p, &min, &max);
		if (p->fail) {
			req_clear(&sub);
			break;
		}
		if (litlen && min == 1 && max == 1) {
			strbuf_add(&run, lit, litlen);
			continue;
		}
		if (litlen && min >= 1) {
			/* "ab+c": "ab" and then "bc" are both present */
			strbuf_add(&run, lit, litlen);
			flush_run(&run, best);
			strbuf_add(&run, lit, litlen);
			continue;
		}
		flush_run(&run, best);
		if (group && min >= 1)
			req_keep_best(best, &sub);
		else
			req_clear(&sub);
	}
	if (!p->fail)
		flush_run(&run, best);
	strbuf_release(&run);
}

static void
parse_alt(struct parser *p, struct req *out)
{
	struct req acc = {NULL, 0};
	bool first = true, none = false;
	size_t j;

	for (;;) {
		struct req br = {NULL, 0};

		parse_seq(p, &br);
		if (p->fail || br.n == 0)
			none = true;
		if (!none)
			for (j = 0; j < br.n; j++)
				req_add(&acc, br.alts[j], strlen(br.alts[j]));
		req_clear(&br);
		first = false;
		if (p->fail || p->s[p->i] != '|')
			break;
		p->i++;
	}
	(void)first;
	if (none || acc.n > PREFILTER_MAX_ALTS) {
		req_clear(&acc);
		return;
	}
	*out = acc;
}

char **
prefilter_literals(const char *pattern)
{
	struct parser p = {pattern, 0, false};
	struct req r = {NULL, 0};
	char **v;

	parse_alt(&p, &r);
	if (p.fail || pattern[p.i] != '\0' || r.n == 0) {
		req_clear(&r);
		return NULL;
	}
	v = xrealloc(r.alts, (r.n + 1) * sizeof(char *));
	v[r.n] = NULL;
	return v;
}

struct prefilter *
prefilter_new(void)
{
	return xcalloc(1, sizeof(struct prefilter));
}

static size_t
lit_id(struct prefilter *pf, const char *s)
{
	size_t i, len = strlen(s);
	uint32_t cp = 0;

	for (i = 0; i < pf->nlits; i++)
		if (pf->lits[i].len == len &&
		    memcmp(pf->lits[i].s, s, len) == 0)
			return i;
	pf->lits = xrealloc(pf->lits, (pf->nlits + 1) * sizeof(*pf->lits));
	text_utf8_decode(s, len, &cp);
	pf->lits[pf->nlits].s = xstrdup(s);
	pf->lits[pf->nlits].len = len;
	pf->lits[pf->nlits].first = cp ? cp : 1;
	return pf->nlits++;
}

size_t
prefilter_add(struct prefilter *pf, const char *pattern)
{
	char **v = prefilter_literals(pattern);
	struct pat *pt;
	size_t i, n = 0;

	pf->pats = xrealloc(pf->pats, (pf->npats + 1) * sizeof(*pf->pats));
	pt = &pf->pats[pf->npats];
	memset(pt, 0, sizeof(*pt));
	if (v) {
		while (v[n])
			n++;
		pt->lits = xcalloc(n, sizeof(size_t));
		for (i = 0; i < n; i++) {
			pt->lits[i] = lit_id(pf, v[i]);
			free(v[i]);
		}
		pt->nlits = n;
		free(v);
	}
	return pf->npats++;
}

static struct bucket *
find_bucket(const struct prefilter *pf, uint32_t cp)
{
	size_t i = (cp * 2654435761u) & (pf->tcap - 1);

	while (pf->table[i].cp && pf->table[i].cp != cp)
		i = (i + 1) & (pf->tcap - 1);
	return &pf->table[i];
}

void
prefilter_build(struct prefilter *pf)
{
	size_t i, pos = 0;

	pf->tcap = 16;
	while (pf->tcap < pf->nlits * 2 + 1)
		pf->tcap *= 2;
	pf->table = xcalloc(pf->tcap, sizeof(*pf->table));
	for (i = 0; i < pf->nlits; i++) {
		struct bucket *b = find_bucket(pf, pf->lits[i].first);

		b->cp = pf->lits[i].first;
		b->count++;
	}
	for (i = 0; i < pf->tcap; i++) {
		pf->table[i].start = pos;
		pos += pf->table[i].count;
		pf->table[i].count = 0;
	}
	pf->order = xcalloc(pf->nlits + 1, sizeof(size_t));
	for (i = 0; i < pf->nlits; i++) {
		struct bucket *b = find_bucket(pf, pf->lits[i].first);

		pf->order[b->start + b->count++] = i;
	}
	pf->hitwords = pf->nlits / 64 + 1;
	pf->hit = xcalloc(pf->hitwords, sizeof(uint64_t));
}

void
prefilter_scan(struct prefilter *pf, const char *text, size_t len)
{
	size_t i = 0, k, n;
	uint32_t cp;

	memset(pf->hit, 0, pf->hitwords * sizeof(uint64_t));
	if (pf->nlits == 0)
		return;
	while (i < len) {
		const struct bucket *b;

		n = text_utf8_decode(text + i, len - i, &cp);
		if (n == 0)
			n = 1;
		b = find_bucket(pf, cp ? cp : 1);
		for (k = 0; b->cp && k < b->count; k++) {
			size_t id = pf->order[b->start + k];
			const struct lit *l = &pf->lits[id];

			if (l->len <= len - i &&
			    memcmp(text + i, l->s, l->len) == 0)
				pf->hit[id / 64] |= (uint64_t)1 << (id % 64);
		}
		i += n;
	}
}

bool
prefilter_maybe(const struct prefilter *pf, size_t id)
{
	const struct pat *pt = &pf->pats[id];
	size_t i;

	if (pt->nlits == 0)
		return true;
	for (i = 0; i < pt->nlits; i++)
		if (pf->hit[pt->lits[i] / 64] &
		    ((uint64_t)1 << (pt->lits[i] % 64)))
			return true;
	return false;
}

void
prefilter_stats(const struct prefilter *pf, size_t *patterns, size_t *always,
		size_t *literals)
{
	size_t i;

	*patterns = pf->npats;
	*always = 0;
	for (i = 0; i < pf->npats; i++)
		*always += pf->pats[i].nlits == 0;
	*literals = pf->nlits;
}

void
prefilter_free(struct prefilter *pf)
{
	size_t i;

	if (pf == NULL)
		return;
	for (i = 0; i < pf->npats; i++)
		free(pf->pats[i].lits);
	free(pf->pats);
	for (i = 0; i < pf->nlits; i++)
		free(pf->lits[i].s);
	free(pf->lits);
	free(pf->table);
	free(pf->order);
	free(pf->hit);
	free(pf);
}
