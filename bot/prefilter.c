/*
 * prefilter.c - see prefilter.h.
 *
 * The extractor is a small recursive-descent reader of the PCRE2 syntax
 * the content uses.  Each node of a pattern yields an "info":
 *  - exact: the small, finite set of strings the node can match (a
 *    literal, a small class, an alternation of exact branches, x? …);
 *  - clauses: sets of strings such that every match contains one string
 *    of each set.
 * A sequence multiplies adjacent exact pieces out ("退" "(款|钱)" is
 * {退款, 退钱}); where something inexact (".{0,6}", "[^,.?!]+") breaks a
 * run of them, the run becomes a clause.  It keeps the most selective
 * clauses of its runs and of its inexact pieces, since all are required.
 * An alternation is exact when every branch is; otherwise it requires the
 * union of each branch's best clause, or nothing when one branch requires
 * nothing.  Zero-width items (^, $, lookarounds) do not break a run: the
 * text around them is contiguous; what a positive lookaround requires is
 * required as well.
 *
 * Selectivity is guessed from length: a clause whose shortest string is
 * longer (in bytes) wins, then the one with fewer strings.
 *
 * The scan decodes each code point of the text and looks it up, alone and
 * with the code point after it, in one hash table of the literals' first
 * two code points (a bit filter on the first one skips most positions).
 * A literal found sets its clause bit in every pattern that needs it; a
 * pattern whose clause bits are all set becomes a candidate.
 */
#include "prefilter.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "util.h"

#define PF_MAX_ALTS    512	 /* strings in one clause */
#define PF_EXACT_MAX   64	 /* strings in an exact set */
#define PF_STR_MAX     64	 /* bytes of one multiplied-out string */
#define PF_CLASS_MAX   10	 /* characters of a class taken as a set */
#define PF_SINGLE      0x110000u /* second "code point" of a 1-cp literal */
#define PF_FILTER_BITS 65536 /* first code point filters: exact in the BMP */
#define PF_PAIR_BITS   65536 /* pair key filter, a power of 2 */

/* ---- extraction ---------------------------------------------------------
 */

struct str {
	char *s;
	size_t len;
};

struct set {
	struct str *v;
	size_t n, cap;
};

struct info {
	bool exact;    /* 'ex' holds every string the node can match */
	struct set ex; /* may contain "" */
	struct set cl[PREFILTER_CLAUSES];
	size_t ncl;
};

struct parser {
	const char *s;
	size_t i;
	bool fail; /* something unknown: require nothing at all */
};

enum atom_kind {
	ATOM,	  /* quantifiable; 'info' says what it matches */
	LOOK_POS, /* positive lookaround: zero-width, 'info' is required */
	LOOK_NEG, /* negative lookaround: zero-width, requires nothing */
};

/* Room for element n + 1 of array 'v' of 'cap' elements: the capacity
 * doubles, since many small reallocs cost quadratic copying where realloc
 * cannot grow in place (sanitizer builds). */
static void *
grow(void *v, size_t n, size_t *cap, size_t size)
{
	if (n < *cap)
		return v;
	*cap = *cap ? *cap * 2 : 8;
	return xrealloc(v, *cap * size);
}

static void
set_clear(struct set *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		free(a->v[i].s);
	free(a->v);
	a->v = NULL;
	a->n = 0;
	a->cap = 0;
}

static bool
set_has(const struct set *a, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (a->v[i].len == len && memcmp(a->v[i].s, s, len) == 0)
			return true;
	return false;
}

static void
set_add(struct set *a, const char *s, size_t len)
{
	if (set_has(a, s, len))
		return;
	a->v = grow(a->v, a->n, &a->cap, sizeof(*a->v));
	a->v[a->n].s = xstrndup(s, len);
	a->v[a->n].len = len;
	a->n++;
}

static void
set_union(struct set *dst, const struct set *src)
{
	size_t i;

	for (i = 0; i < src->n; i++)
		set_add(dst, src->v[i].s, src->v[i].len);
}

/* Move 'src' into 'dst' (cleared first); 'src' is left empty. */
static void
set_move(struct set *dst, struct set *src)
{
	set_clear(dst);
	*dst = *src;
	src->v = NULL;
	src->n = 0;
	src->cap = 0;
}

static void
set_empty_string(struct set *a)
{
	set_clear(a);
	set_add(a, "", 0);
}

/* The shortest string in bytes: 0 when empty or when "" is in it (a
 * clause that every text satisfies). */
static size_t
set_score(const struct set *a)
{
	size_t i, m = SIZE_MAX;

	for (i = 0; i < a->n; i++)
		if (a->v[i].len < m)
			m = a->v[i].len;
	return a->n ? m : 0;
}

/* Is clause 'a' more selective than 'b'? */
static bool
set_better(const struct set *a, const struct set *b)
{
	size_t x = set_score(a), y = set_score(b);

	return x > y || (x == y && a->n < b->n);
}

static bool
set_equal(const struct set *a, const struct set *b)
{
	size_t i;

	if (a->n != b->n)
		return false;
	for (i = 0; i < a->n; i++)
		if (!set_has(b, a->v[i].s, a->v[i].len))
			return false;
	return true;
}

/* Every string of 'a' followed by every string of 'b', into 'out'; false
 * (and 'out' empty) when that is too many or too long. */
static bool
set_product(const struct set *a, const struct set *b, struct set *out)
{
	char buf[PF_STR_MAX];
	size_t i, j;

	set_clear(out);
	if (a->n * b->n > PF_EXACT_MAX)
		return false;
	for (i = 0; i < a->n; i++)
		for (j = 0; j < b->n; j++) {
			if (a->v[i].len + b->v[j].len > sizeof(buf)) {
				set_clear(out);
				return false;
			}
			memcpy(buf, a->v[i].s, a->v[i].len);
			memcpy(buf + a->v[i].len, b->v[j].s, b->v[j].len);
			set_add(out, buf, a->v[i].len + b->v[j].len);
		}
	return true;
}

static void
info_clear(struct info *in)
{
	size_t k;

	set_clear(&in->ex);
	for (k = 0; k < in->ncl; k++)
		set_clear(&in->cl[k]);
	in->ncl = 0;
	in->exact = false;
}

/* Does 'hay' contain 'needle' (both non-empty)? */
static bool
str_contains(const struct str *hay, const struct str *needle)
{
	size_t i;

	for (i = 0; i + needle->len <= hay->len; i++)
		if (memcmp(hay->s + i, needle->s, needle->len) == 0)
			return true;
	return false;
}

/* Drop every string that contains another one of the clause: {到, 快递到}
 * is satisfied exactly when 到 occurs. */
static void
set_minimise(struct set *c)
{
	bool *drop = xcalloc(c->n + 1, sizeof(bool));
	size_t i, j, n = 0;

	for (i = 0; i < c->n; i++)
		for (j = 0; j < c->n && !drop[i]; j++)
			drop[i] = c->v[j].len > 0 &&
				  c->v[j].len < c->v[i].len &&
				  str_contains(&c->v[i], &c->v[j]);
	for (i = 0; i < c->n; i++) {
		if (drop[i])
			free(c->v[i].s);
		else
			c->v[n++] = c->v[i];
	}
	c->n = n;
	free(drop);
}

/* Require clause 'c' too (consumed); keep the most selective ones. */
static void
info_require(struct info *in, struct set *c)
{
	size_t k, worst = 0;

	if (set_score(c) > 0)
		set_minimise(c);
	if (set_score(c) == 0 || c->n > PF_MAX_ALTS) {
		set_clear(c);
		return;
	}
	for (k = 0; k < in->ncl; k++) {
		if (set_equal(&in->cl[k], c)) {
			set_clear(c);
			return;
		}
		if (set_better(&in->cl[worst], &in->cl[k]))
			worst = k;
	}
	if (in->ncl < PREFILTER_CLAUSES)
		worst = in->ncl++;
	else if (!set_better(c, &in->cl[worst])) {
		set_clear(c);
		return;
	}
	set_move(&in->cl[worst], c);
}

/* Require a copy of 'c'. */
static void
info_require_copy(struct info *in, const struct set *c)
{
	struct set t = {NULL, 0, 0};

	set_union(&t, c);
	info_require(in, &t);
}

/* Every clause of 'src' is required by 'dst' too; 'src' is consumed. */
static void
info_require_all(struct info *dst, struct info *src)
{
	size_t k;

	for (k = 0; k < src->ncl; k++)
		info_require(dst, &src->cl[k]);
	src->ncl = 0;
}

/* The most selective clause of 'in' (its exact set when it has one). */
static const struct set *
info_best(const struct info *in)
{
	const struct set *b = NULL;
	size_t k;

	if (in->exact)
		return &in->ex;
	for (k = 0; k < in->ncl; k++)
		if (b == NULL || set_better(&in->cl[k], b))
			b = &in->cl[k];
	return b;
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
		if (*end != '}' || a < 0 || a > 65535 || b > 65535) {
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

static void parse_alt(struct parser *p, struct info *out);

/*
 * Characters that PCRE2_CASELESS may match in another case which our
 * normaliser does not fold (Latin-1 and other alphabets, letterlike
 * symbols, Roman numerals, circled letters …): a literal with one cannot
 * be searched byte for byte.  What is not caseful: ASCII (the text is
 * lower-cased; see prefilter_scan() for K and S), CJK and kana, Hangul,
 * symbol and emoji blocks.
 */
static bool
caseful(uint32_t cp)
{
	if (cp < 0x80)
		return false;
	return !((cp >= 0x2190 && cp < 0x2460) ||
		 (cp >= 0x2500 && cp < 0x2c00) ||
		 (cp >= 0x2e80 && cp < 0xa000) ||
		 (cp >= 0xac00 && cp < 0xd800) ||
		 (cp >= 0xf900 && cp < 0xfb00) ||
		 (cp >= 0xfe30 && cp < 0xfe50) ||
		 (cp >= 0x1f000 && cp < 0x1fb00) || cp >= 0x20000);
}

/* One literal character of a pattern or a class as a string, lower-cased;
 * returns its length, or 0 when it cannot be searched as it is. */
static size_t
literal_char(const char *s, size_t avail, char *out)
{
	uint32_t cp;
	size_t n = text_utf8_decode(s, avail, &cp);

	if (n == 0 || n > 4 || cp == 0xfffd || caseful(cp))
		return 0;
	memcpy(out, s, n);
	if (n == 1 && out[0] >= 'A' && out[0] <= 'Z')
		out[0] = (char)(out[0] - 'A' + 'a');
	return n;
}

/* Add range lo-hi of a class: only short runs of digits or lower-case
 * letters ("[2-9]"); false for anything else. */
static bool
class_range(struct set *ex, char lo, char hi)
{
	char c;

	if (!((lo >= '0' && hi <= '9') || (lo >= 'a' && hi <= 'z')) ||
	    hi < lo || hi - lo >= PF_CLASS_MAX)
		return false;
	for (c = lo; c <= hi; c++)
		set_add(ex, &c, 1);
	return true;
}

/*
 * A [...] class.  A small class of plain characters ("[券劵]", "[2-9]",
 * "[smlx]") is exact: the set of its characters.  Anything else
 * (negation, escapes, wide ranges) matches an unknown character.
 */
static void
parse_class(struct parser *p, struct info *out)
{
	const char *s = p->s;
	bool plain = true;
	size_t start, i, n;
	char c[4];

	p->i++;
	if (s[p->i] == '^') {
		plain = false;
		p->i++;
	}
	start = p->i;
	if (s[p->i] == ']')
		p->i++;
	while (s[p->i] && s[p->i] != ']') {
		if (s[p->i] == '[' && s[p->i + 1] == ':') {
			p->fail = true; /* [[:alpha:]]: not worth it */
			return;
		}
		if (s[p->i] == '\\')
			plain = false;
		if (s[p->i] == '\\' && s[p->i + 1])
			p->i++;
		p->i++;
	}
	if (s[p->i] != ']') {
		p->fail = true;
		return;
	}
	for (i = start; plain && i < p->i; i += n) {
		n = literal_char(s + i, p->i - i, c);
		if (n == 0) {
			plain = false;
		} else if (s[i + n] == '-' && i + n + 1 < p->i) {
			plain = n == 1 &&
				class_range(&out->ex, c[0], s[i + n + 1]);
			n += 2;
		} else {
			set_add(&out->ex, c, n);
		}
		if (out->ex.n > PF_CLASS_MAX)
			plain = false;
	}
	out->exact = plain && out->ex.n > 0;
	if (!out->exact)
		set_clear(&out->ex);
	p->i++;
}

/* A group: "(...)", "(?:...)", "(?<name>...)", a lookaround … */
static enum atom_kind
parse_group(struct parser *p, struct info *out)
{
	const char *s = p->s, *g = s + p->i + 2, *e;
	enum atom_kind kind = ATOM;

	p->i++;
	if (s[p->i] == '?') {
		if (*g == ':' || *g == '>') {
			p->i += 2;
		} else if (*g == '<' && g[1] != '=' && g[1] != '!') {
			e = strchr(g, '>'); /* named group (?<name>...) */
			if (e == NULL) {
				p->fail = true;
				return ATOM;
			}
			p->i = (size_t)(e - s) + 1;
		} else if (*g == '=' || *g == '!' ||
			   (*g == '<' && (g[1] == '=' || g[1] == '!'))) {
			kind = (*g == '=' || g[1] == '=') ? LOOK_POS : LOOK_NEG;
			p->i += *g == '<' ? 3 : 2;
		} else if ((*g >= '0' && *g <= '9') || *g == 'R' || *g == '+' ||
			   *g == '-' || *g == '&') {
			/* a subroutine call "(?1)": it matches something,
			 * requires nothing we know */
			e = strchr(g, ')');
			if (e == NULL)
				p->fail = true;
			else
				p->i = (size_t)(e - s) + 1;
			return ATOM;
		} else {
			p->fail = true; /* flags, conditionals, comments … */
			return ATOM;
		}
	}
	parse_alt(p, out);
	if (s[p->i] != ')')
		p->fail = true;
	else
		p->i++;
	return kind;
}

/* One atom: fills 'out' (empty and not exact: matches anything). */
static enum atom_kind
parse_atom(struct parser *p, struct info *out)
{
	const char *s = p->s;
	char c[4];
	size_t n;

	switch (s[p->i]) {
	case '(':
		return parse_group(p, out);
	case '[':
		parse_class(p, out);
		return ATOM;
	case '^':
	case '$': /* zero-width */
		p->i++;
		out->exact = true;
		set_empty_string(&out->ex);
		return ATOM;
	case '.':
		p->i++;
		return ATOM;
	case '\\':
		if (s[p->i + 1] &&
		    strchr(".?*+()[]{}|\\/-^$#&~:\"'<>=!,@%_ ", s[p->i + 1])) {
			out->exact = true;
			set_add(&out->ex, s + p->i + 1, 1);
		} else if (s[p->i + 1] == '\0' ||
			   strchr("QEgkpPxoNcu", s[p->i + 1])) {
			/* quoting, references and code points with
			 * arguments: not worth reading */
			p->fail = true;
		}
		/* else \d \w \s \b \1 …: an unknown character */
		p->i += s[p->i + 1] ? 2 : 1;
		return ATOM;
	case '*':
	case '+':
	case '?':
	case '{':
		p->fail = true; /* a quantifier with no atom */
		return ATOM;
	default:
		n = literal_char(s + p->i, strlen(s + p->i), c);
		if (n) {
			out->exact = true;
			set_add(&out->ex, c, n);
		}
		p->i += n ? n : 1;
		while (n == 0 && (s[p->i] & 0xc0) == 0x80)
			p->i++; /* the rest of a caseful character */
		return ATOM;
	}
}

/* The run of exact pieces becomes a clause; a new run starts. */
static void
flush_run(struct set *run, struct info *out)
{
	info_require(out, run);
	set_empty_string(run);
}

/* Append exact set 'ex' to the run (or start a new run with it when the
 * product grows too big).  Returns false when the run was broken. */
static bool
extend_run(struct set *run, const struct set *ex, struct info *out)
{
	struct set t = {NULL, 0, 0};

	if (set_product(run, ex, &t)) {
		set_move(run, &t);
		return true;
	}
	flush_run(run, out);
	set_clear(run);
	set_union(run, ex);
	return false;
}

/* A sequence up to '|', ')' or the end. */
static void
parse_seq(struct parser *p, struct info *out)
{
	const char *s = p->s;
	struct set run = {NULL, 0, 0};
	bool exact = true; /* every piece so far exact, run unbroken */

	set_empty_string(&run);
	while (!p->fail && s[p->i] && s[p->i] != '|' && s[p->i] != ')') {
		struct info pc = {false, {NULL, 0, 0}, {{NULL, 0, 0}}, 0};
		enum atom_kind kind = parse_atom(p, &pc);
		int min = 1, max = 1;

		if (!p->fail && kind == ATOM)
			quantifier(p, &min, &max);
		if (p->fail) {
			info_clear(&pc);
			break;
		}
		if (kind != ATOM) { /* zero-width: the run goes on */
			if (kind == LOOK_POS && pc.exact)
				info_require_copy(out, &pc.ex);
			if (kind == LOOK_POS)
				info_require_all(out, &pc);
		} else if (pc.exact && (min >= 1 || max == 1)) {
			if (min == 0)
				set_add(&pc.ex, "", 0); /* x? */
			if (!extend_run(&run, &pc.ex, out))
				exact = false;
			if (min >= 1 && max != 1) {
				/* "ab+c": "ab" is there, and so is "bc" */
				exact = false;
				flush_run(&run, out);
				set_clear(&run);
				set_union(&run, &pc.ex);
			}
			if (min >= 1)
				info_require_all(out, &pc);
		} else {
			exact = false;
			flush_run(&run, out);
			if (min >= 1)
				info_require_all(out, &pc);
		}
		info_clear(&pc);
	}
	if (exact && !p->fail) {
		out->exact = true;
		set_move(&out->ex, &run);
	} else {
		flush_run(&run, out);
	}
	set_clear(&run);
}

static void
parse_alt(struct parser *p, struct info *out)
{
	struct set uex = {NULL, 0, 0}, ucl = {NULL, 0, 0};
	bool all_exact = true, none = false, first = true;

	for (;;) {
		struct info br = {false, {NULL, 0, 0}, {{NULL, 0, 0}}, 0};
		const struct set *best;

		parse_seq(p, &br);
		if (first && !p->fail && p->s[p->i] != '|') {
			*out = br; /* one branch: all it knows */
			return;
		}
		first = false;
		if (p->fail) {
			info_clear(&br);
			break;
		}
		if (br.exact)
			set_union(&uex, &br.ex);
		all_exact = all_exact && br.exact && uex.n <= PF_EXACT_MAX;
		best = info_best(&br);
		if (best == NULL || set_score(best) == 0)
			none = true;
		else if (!none)
			set_union(&ucl, best);
		none = none || ucl.n > PF_MAX_ALTS;
		info_clear(&br);
		if (p->s[p->i] != '|')
			break;
		p->i++;
	}
	if (!p->fail && all_exact) {
		out->exact = true;
		set_move(&out->ex, &uex);
	} else if (!p->fail && !none) {
		info_require(out, &ucl);
	}
	set_clear(&uex);
	set_clear(&ucl);
}

/* The clauses of 'pattern' into 'out'; false when it must always run. */
static bool
extract(const char *pattern, struct info *out)
{
	struct parser p = {pattern, 0, false};

	memset(out, 0, sizeof(*out));
	parse_alt(&p, out);
	if (p.fail || pattern[p.i] != '\0') {
		info_clear(out);
		return false;
	}
	if (out->exact)
		info_require_copy(out, &out->ex);
	out->exact = false;
	set_clear(&out->ex);
	return out->ncl > 0;
}

static int
cmp_str(const void *a, const void *b)
{
	const struct str *x = a, *y = b;
	int c = memcmp(x->s, y->s, x->len < y->len ? x->len : y->len);

	return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* The most selective first; equals by their (sorted) strings. */
static int
cmp_clause(const void *a, const void *b)
{
	const struct set *x = a, *y = b;

	if (set_better(x, y) || set_better(y, x))
		return set_better(x, y) ? -1 : 1;
	return cmp_str(&x->v[0], &y->v[0]);
}

char *
prefilter_explain(const char *pattern)
{
	struct info in;
	struct strbuf sb;
	size_t k, i;

	if (!extract(pattern, &in))
		return NULL;
	for (k = 0; k < in.ncl; k++)
		qsort(in.cl[k].v, in.cl[k].n, sizeof(struct str), cmp_str);
	qsort(in.cl, in.ncl, sizeof(in.cl[0]), cmp_clause);
	strbuf_init(&sb);
	for (k = 0; k < in.ncl; k++) {
		if (k)
			strbuf_addstr(&sb, " & ");
		for (i = 0; i < in.cl[k].n; i++) {
			if (i)
				strbuf_addch(&sb, '|');
			strbuf_add(&sb, in.cl[k].v[i].s, in.cl[k].v[i].len);
		}
	}
	info_clear(&in);
	return sb.buf;
}

/* ---- the index ----------------------------------------------------------
 */

/* A literal while the patterns are added. */
struct lit {
	char *s;
	size_t len;
	uint64_t key; /* first two code points, see lit_key() */
	size_t skip;  /* bytes of those code points */
};

/* "Literal 'lit' satisfies clause 'bit' of pattern 'pat'." */
struct ref {
	uint32_t lit;
	uint32_t pat;
	uint8_t bit;
};

/* A literal once built: those of one key are adjacent in 'ents', their
 * bytes adjacent in 'blob', so that a probe touches little memory. */
struct entry {
	uint32_t off;  /* its bytes: blob + off */
	uint32_t len;  /* bytes */
	uint32_t skip; /* the first 'skip' bytes are the key: already equal */
	uint32_t ref;  /* its refs: refs[ref .. ref + nref - 1] */
	uint32_t nref;
};

struct pat {
	uint8_t need; /* one bit per clause; 0: always a candidate */
	bool regex;   /* caseless: K and S fold onto letters */
};

struct prefilter {
	struct pat *pats;
	size_t npats, pats_cap;
	struct lit *lits; /* freed by prefilter_build() */
	size_t nlits, lits_cap;
	struct ref *refs; /* by literal once built */
	size_t nrefs, refs_cap;
	size_t *dedup; /* literal ids + 1 by hash of the text, while adding */
	size_t dcap;
	/* first two code points -> literals, open addressing */
	uint64_t *keys; /* 0: empty */
	uint32_t *start, *count;
	size_t tcap;
	struct entry *ents;
	char *blob;
	/* bit filters that turn most probes away before the table */
	uint64_t single[PF_FILTER_BITS / 64]; /* cp of a 1-cp literal */
	uint64_t multi[PF_FILTER_BITS / 64];  /* first cp of a longer one */
	uint64_t pairs[PF_PAIR_BITS / 64];    /* hashes of the pair keys */
	size_t words;			      /* of each pattern bit set */
	uint64_t *always;		      /* patterns with no clause */
	uint64_t *caseless;		      /* regex patterns */
	uint64_t *cand;			      /* this scan's candidates */
	uint8_t *have; /* this scan's clause bits, per pattern */
};

static void
bit_set(uint64_t *bits, size_t nbits, size_t i)
{
	i &= nbits - 1;
	bits[i / 64] |= (uint64_t)1 << (i % 64);
}

static bool
bit_test(const uint64_t *bits, size_t nbits, size_t i)
{
	i &= nbits - 1;
	return bits[i / 64] >> (i % 64) & 1;
}

/* The hash key of a literal: its first code point and its second one
 * (PF_SINGLE when it has one); never 0. */
static uint64_t
lit_key(uint32_t cp1, uint32_t cp2)
{
	return (uint64_t)cp1 << 32 | cp2 | (uint64_t)1 << 63;
}

static uint64_t
hash_key(uint64_t key)
{
	key ^= key >> 29;
	key *= 0xbf58476d1ce4e5b9u;
	return key ^ key >> 32;
}

/* The table slot of 'key' (hash 'h'), or the empty one where it would go. */
static size_t
find_slot(const struct prefilter *pf, uint64_t key, uint64_t h)
{
	size_t i = (size_t)h & (pf->tcap - 1);

	while (pf->keys[i] && pf->keys[i] != key)
		i = (i + 1) & (pf->tcap - 1);
	return i;
}

struct prefilter *
prefilter_new(void)
{
	return xcalloc(1, sizeof(struct prefilter));
}

static void
dedup_grow(struct prefilter *pf)
{
	size_t i, j, cap = pf->dcap ? pf->dcap * 2 : 1024;
	size_t *d = xcalloc(cap, sizeof(size_t));

	for (i = 0; i < pf->nlits; i++) {
		j = util_hash64(pf->lits[i].s, pf->lits[i].len) & (cap - 1);
		while (d[j])
			j = (j + 1) & (cap - 1);
		d[j] = i + 1;
	}
	free(pf->dedup);
	pf->dedup = d;
	pf->dcap = cap;
}

/* The id of literal 's', added if new. */
static size_t
lit_id(struct prefilter *pf, const char *s, size_t len)
{
	uint32_t cp1 = 0, cp2 = PF_SINGLE;
	size_t j, n;
	struct lit *l;

	if (2 * (pf->nlits + 1) > pf->dcap)
		dedup_grow(pf);
	j = util_hash64(s, len) & (pf->dcap - 1);
	for (; pf->dedup[j]; j = (j + 1) & (pf->dcap - 1)) {
		l = &pf->lits[pf->dedup[j] - 1];
		if (l->len == len && memcmp(l->s, s, len) == 0)
			return pf->dedup[j] - 1;
	}
	pf->dedup[j] = pf->nlits + 1;
	pf->lits = grow(pf->lits, pf->nlits, &pf->lits_cap, sizeof(*pf->lits));
	l = &pf->lits[pf->nlits];
	l->s = xstrndup(s, len);
	l->len = len;
	n = text_utf8_decode(s, len, &cp1);
	l->skip = n;
	if (n < len)
		l->skip += text_utf8_decode(s + n, len - n, &cp2);
	l->key = lit_key(cp1, cp2);
	return pf->nlits++;
}

static void
add_ref(struct prefilter *pf, size_t lit, size_t pat, unsigned bit)
{
	pf->refs = grow(pf->refs, pf->nrefs, &pf->refs_cap, sizeof(*pf->refs));
	pf->refs[pf->nrefs].lit = (uint32_t)lit;
	pf->refs[pf->nrefs].pat = (uint32_t)pat;
	pf->refs[pf->nrefs].bit = (uint8_t)bit;
	pf->nrefs++;
}

static size_t
new_pat(struct prefilter *pf, bool regex)
{
	pf->pats = grow(pf->pats, pf->npats, &pf->pats_cap, sizeof(*pf->pats));
	pf->pats[pf->npats].need = 0;
	pf->pats[pf->npats].regex = regex;
	return pf->npats++;
}

size_t
prefilter_add(struct prefilter *pf, const char *pattern)
{
	size_t id = new_pat(pf, true), k, i;
	struct info in;

	if (!extract(pattern, &in))
		return id;
	for (k = 0; k < in.ncl; k++) {
		for (i = 0; i < in.cl[k].n; i++)
			add_ref(pf,
				lit_id(pf, in.cl[k].v[i].s, in.cl[k].v[i].len),
				id, 1u << k);
		pf->pats[id].need |= (uint8_t)(1u << k);
	}
	info_clear(&in);
	return id;
}

size_t
prefilter_add_literal(struct prefilter *pf, const char *s, size_t len)
{
	size_t id = new_pat(pf, false);

	if (len == 0)
		return id; /* "" is in every text */
	add_ref(pf, lit_id(pf, s, len), id, 1);
	pf->pats[id].need = 1;
	return id;
}

static int
cmp_ref(const void *a, const void *b)
{
	const struct ref *x = a, *y = b;

	if (x->lit != y->lit)
		return x->lit < y->lit ? -1 : 1;
	return (x->pat > y->pat) - (x->pat < y->pat);
}

/* Literal slots in the key table, and the table's filters. */
static void
place_keys(struct prefilter *pf, size_t *slot)
{
	size_t i;

	pf->tcap = 16;
	while (pf->tcap < pf->nlits * 2 + 1)
		pf->tcap *= 2;
	pf->keys = xcalloc(pf->tcap, sizeof(uint64_t));
	pf->start = xcalloc(pf->tcap, sizeof(uint32_t));
	pf->count = xcalloc(pf->tcap, sizeof(uint32_t));
	for (i = 0; i < pf->nlits; i++) {
		uint64_t key = pf->lits[i].key, h = hash_key(key);
		uint32_t cp = (uint32_t)(key >> 32) & 0x7fffffff;

		slot[i] = find_slot(pf, key, h);
		pf->keys[slot[i]] = key;
		pf->count[slot[i]]++;
		if ((uint32_t)key == PF_SINGLE) {
			bit_set(pf->single, PF_FILTER_BITS, cp);
		} else {
			bit_set(pf->multi, PF_FILTER_BITS, cp);
			bit_set(pf->pairs, PF_PAIR_BITS, (size_t)(h >> 40));
		}
	}
}

/* The key table, and the literals with their bytes in key order. */
static void
build_table(struct prefilter *pf)
{
	size_t i, pos = 0, off = 0;
	size_t *slot = xcalloc(pf->nlits + 1, sizeof(size_t));
	size_t *lit_at = xcalloc(pf->nlits + 1, sizeof(size_t));
	struct entry *byl = xcalloc(pf->nlits + 1, sizeof(*byl));

	place_keys(pf, slot);
	for (i = 0; i < pf->tcap; i++) {
		pf->start[i] = (uint32_t)pos;
		pos += pf->count[i];
		pf->count[i] = 0;
	}
	for (i = 0; i < pf->nlits; i++)
		lit_at[pf->start[slot[i]] + pf->count[slot[i]]++] = i;
	for (i = pf->nrefs; i-- > 0;) { /* refs are sorted by literal */
		byl[pf->refs[i].lit].ref = (uint32_t)i;
		byl[pf->refs[i].lit].nref++;
	}
	pf->ents = xcalloc(pf->nlits + 1, sizeof(*pf->ents));
	for (i = 0; i < pf->nlits; i++)
		off += pf->lits[i].len;
	pf->blob = xmalloc(off + 1);
	for (pos = 0, off = 0; pos < pf->nlits; pos++) {
		const struct lit *l = &pf->lits[lit_at[pos]];
		struct entry *e = &pf->ents[pos];

		*e = byl[lit_at[pos]];
		e->off = (uint32_t)off;
		e->len = (uint32_t)l->len;
		e->skip = (uint32_t)l->skip;
		memcpy(pf->blob + off, l->s, l->len);
		off += l->len;
	}
	free(slot);
	free(lit_at);
	free(byl);
}

void
prefilter_build(struct prefilter *pf)
{
	size_t i;

	if (pf->nrefs)
		qsort(pf->refs, pf->nrefs, sizeof(*pf->refs), cmp_ref);
	build_table(pf);
	for (i = 0; i < pf->nlits; i++)
		free(pf->lits[i].s);
	free(pf->lits);
	pf->lits = NULL;
	free(pf->dedup);
	pf->dedup = NULL;
	pf->words = pf->npats / 64 + 1;
	pf->always = xcalloc(pf->words, sizeof(uint64_t));
	pf->caseless = xcalloc(pf->words, sizeof(uint64_t));
	pf->cand = xcalloc(pf->words, sizeof(uint64_t));
	pf->have = xcalloc(pf->npats + 1, 1);
	for (i = 0; i < pf->npats; i++) {
		if (pf->pats[i].need == 0)
			pf->always[i / 64] |= (uint64_t)1 << (i % 64);
		if (pf->pats[i].regex)
			pf->caseless[i / 64] |= (uint64_t)1 << (i % 64);
	}
}

/* A literal occurs in the text. */
static void
hit(struct prefilter *pf, const struct entry *e)
{
	const struct ref *r = pf->refs + e->ref, *end = r + e->nref;

	for (; r < end; r++) {
		uint8_t have = pf->have[r->pat] |= r->bit;

		if (have == pf->pats[r->pat].need)
			pf->cand[r->pat / 64] |= (uint64_t)1 << (r->pat % 64);
	}
}

/* The literals of 'key' (hash 'h') that start at 'text' ('avail' bytes);
 * the key already says their first two code points are there. */
static void
probe(struct prefilter *pf, uint64_t key, uint64_t h, const char *text,
      size_t avail)
{
	size_t i = find_slot(pf, key, h), k;

	for (k = 0; pf->keys[i] && k < pf->count[i]; k++) {
		const struct entry *e = &pf->ents[pf->start[i] + k];

		if (e->len <= avail &&
		    (e->len == e->skip ||
		     memcmp(text + e->skip, pf->blob + e->off + e->skip,
			    e->len - e->skip) == 0))
			hit(pf, e);
	}
}

/* Decode one code point of valid UTF-8, ASCII first. */
static size_t
next_cp(const char *s, size_t avail, uint32_t *cp)
{
	if ((unsigned char)s[0] < 0x80) {
		*cp = (unsigned char)s[0];
		return 1;
	}
	return text_utf8_decode(s, avail, cp);
}

/* The literals that start with code point 'cp' at 'text', 'cp2' after it. */
static void
scan_at(struct prefilter *pf, uint32_t cp, uint32_t cp2, const char *text,
	size_t avail)
{
	uint64_t key, h;

	if (bit_test(pf->single, PF_FILTER_BITS, cp)) {
		key = lit_key(cp, PF_SINGLE);
		probe(pf, key, hash_key(key), text, avail);
	}
	if (cp2 != PF_SINGLE && bit_test(pf->multi, PF_FILTER_BITS, cp)) {
		key = lit_key(cp, cp2);
		h = hash_key(key);
		if (bit_test(pf->pairs, PF_PAIR_BITS, (size_t)(h >> 40)))
			probe(pf, key, h, text, avail);
	}
}

void
prefilter_scan(struct prefilter *pf, const char *text, size_t len)
{
	size_t i = 0, n, m = 0;
	uint32_t cp, cp2;
	bool folds = false;

	memcpy(pf->cand, pf->always, pf->words * sizeof(uint64_t));
	memset(pf->have, 0, pf->npats);
	if (pf->nlits == 0 || len == 0)
		return;
	n = next_cp(text, len, &cp);
	while (i < len) {
		cp2 = PF_SINGLE;
		if (i + n < len)
			m = next_cp(text + i + n, len - i - n, &cp2);
		folds = folds || cp == 0x212a || cp == 0x17f;
		scan_at(pf, cp, cp2, text + i, len - i);
		i += n ? n : 1;
		n = m;
		cp = cp2;
	}
	if (folds) /* "oK" (KELVIN SIGN) is "ok" to a caseless pattern */
		for (i = 0; i < pf->words; i++)
			pf->cand[i] |= pf->caseless[i];
}

bool
prefilter_maybe(const struct prefilter *pf, size_t id)
{
	return pf->cand[id / 64] >> (id % 64) & 1;
}

/* Index of the lowest set bit of 'x' != 0 (a de Bruijn sequence: C11
 * has no count-trailing-zeros). */
static size_t
lowest_bit(uint64_t x)
{
	static const unsigned char pos[64] = {
		0,  1,	48, 2,	57, 49, 28, 3,	61, 58, 50, 42, 38, 29, 17, 4,
		62, 55, 59, 36, 53, 51, 43, 22, 45, 39, 33, 30, 24, 18, 12, 5,
		63, 47, 56, 27, 60, 41, 37, 16, 54, 35, 52, 21, 44, 32, 23, 11,
		46, 26, 40, 15, 34, 20, 31, 10, 25, 14, 19, 9,	13, 8,	7,  6};

	return pos[((x & (~x + 1)) * 0x03f79d71b4cb0a89u) >> 58];
}

size_t
prefilter_next(const struct prefilter *pf, size_t id)
{
	size_t w = id / 64;
	uint64_t bits;

	if (id >= pf->npats)
		return pf->npats;
	bits = pf->cand[w] & (~(uint64_t)0 << (id % 64));
	while (bits == 0) {
		if (++w >= pf->words)
			return pf->npats;
		bits = pf->cand[w];
	}
	id = w * 64 + lowest_bit(bits);
	return id < pf->npats ? id : pf->npats;
}

void
prefilter_stats(const struct prefilter *pf, size_t upto, size_t *always,
		size_t *literals)
{
	size_t i;

	*always = 0;
	for (i = 0; i < pf->npats && i < upto; i++)
		*always += pf->pats[i].need == 0;
	*literals = pf->nlits;
}

void
prefilter_free(struct prefilter *pf)
{
	size_t i;

	if (pf == NULL)
		return;
	for (i = 0; pf->lits && i < pf->nlits; i++)
		free(pf->lits[i].s);
	free(pf->lits);
	free(pf->pats);
	free(pf->refs);
	free(pf->dedup);
	free(pf->keys);
	free(pf->start);
	free(pf->count);
	free(pf->ents);
	free(pf->blob);
	free(pf->always);
	free(pf->caseless);
	free(pf->cand);
	free(pf->have);
	free(pf);
}
