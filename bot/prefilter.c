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
 * two code points (a filter on the first one skips most positions).
 * A literal found sets its clause bit in every pattern that needs it; a
 * pattern whose clause bits are all set becomes a candidate.  The index
 * is laid out for a scan with cold caches: see struct slot.
 */
#include "prefilter.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "util.h"

#define PF_MAX_ALTS   512	 /* strings in one clause */
#define PF_EXACT_MAX  64	 /* strings in an exact set */
#define PF_STR_MAX    64	 /* bytes of one multiplied-out string */
#define PF_CLASS_MAX  10	 /* characters of a class taken as a set */
#define PF_SINGLE     0x110000u	 /* second "code point" of a 1-cp literal */
#define PF_FIRST_CPS  65536	 /* first code point filter: exact in the BMP */
#define PF_PAIR_BITS  65536	 /* pair key filter, a power of 2 */
#define PF_FIRST_ONE  1u	 /* filter: a 1-cp literal is this code point */
#define PF_FIRST_MORE 2u	 /* filter: a longer literal starts with it */
#define PF_REF_MAX    255	 /* refs in one record (its count is a byte) */
#define PF_TAIL_LONG  255	 /* record tail byte: a 4-byte length follows */
#define PF_PATS_MAX   (1u << 24) /* patterns: a ref holds the id in 24 bits */

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

/*
 * The built index is laid out for a scan that starts with cold caches
 * (in the server, the network stack, lws and SQLite run between two
 * messages): a probe reads one line of the filter, one slot, then the
 * records of that slot's literals, which are contiguous bytes.
 *
 * A slot holds the key and where its records are.  A record is one
 * literal of that key:
 *   tail   1 byte: bytes of the literal after the key's code points (the
 *          key already says those are in the text), or PF_TAIL_LONG and
 *          then the length in 4 bytes (product names may be long);
 *   nref   1 byte: refs that follow the tail (a literal with more than
 *          PF_REF_MAX takes several records);
 *   the tail bytes;
 *   nref refs of 4 bytes (unaligned, read with memcpy()): pattern id << 8
 *          | need << 4 | bit, where 'bit' is the clause this literal
 *          satisfies and 'need' every clause bit of the pattern, so that
 *          a hit reads nothing else of the pattern.
 */
_Static_assert(PREFILTER_CLAUSES <= 4, "a ref holds clause bits in 4 bits");

struct slot {
	uint64_t key;	/* 0: empty */
	uint32_t rec;	/* its records: recs + rec */
	uint32_t count; /* records; 0 when empty */
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
	struct ref *refs; /* by literal; freed by prefilter_build() */
	size_t nrefs, refs_cap;
	size_t *dedup; /* literal ids + 1 by hash of the text, while adding */
	size_t dcap;
	/* first two code points -> records, open addressing */
	struct slot *slots;
	size_t tcap;
	unsigned char *recs;
	/* filters that turn most probes away before the table: 2 bits per
	 * first code point (PF_FIRST_ONE, PF_FIRST_MORE), so one line says
	 * both, and one bit per hash of a pair key */
	uint64_t first[PF_FIRST_CPS * 2 / 64];
	uint64_t pairs[PF_PAIR_BITS / 64];
	size_t words;	    /* of each pattern bit set */
	uint64_t *always;   /* patterns with no clause */
	uint64_t *caseless; /* regex patterns */
	uint64_t *cand;	    /* this scan's candidates */
	uint8_t *have;	    /* this scan's clause bits of the patterns with more
			     * than one clause (the others need no tally) */
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

/* The filter bits of first code point 'cp' (beyond the BMP, several code
 * points share them: a filter may say yes wrongly, never no). */
static unsigned
first_get(const struct prefilter *pf, uint32_t cp)
{
	size_t i = cp & (PF_FIRST_CPS - 1);

	return (unsigned)(pf->first[i / 32] >> (i % 32 * 2)) & 3;
}

static void
first_set(struct prefilter *pf, uint32_t cp, unsigned bits)
{
	size_t i = cp & (PF_FIRST_CPS - 1);

	pf->first[i / 32] |= (uint64_t)bits << (i % 32 * 2);
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

	while (pf->slots[i].key && pf->slots[i].key != key)
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
	assert(pf->npats < PF_PATS_MAX);
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

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* A table of at least twice as many slots as there are keys. */
static void
size_table(struct prefilter *pf)
{
	uint64_t *k = xcalloc(pf->nlits + 1, sizeof(uint64_t));
	size_t i, nkeys = 0;

	for (i = 0; i < pf->nlits; i++)
		k[i] = pf->lits[i].key;
	qsort(k, pf->nlits, sizeof(uint64_t), cmp_u64);
	for (i = 0; i < pf->nlits; i++)
		nkeys += i == 0 || k[i] != k[i - 1];
	free(k);
	pf->tcap = 16;
	while (pf->tcap < nkeys * 2 + 1)
		pf->tcap *= 2;
	pf->slots = xcalloc(pf->tcap, sizeof(*pf->slots));
}

/* Bytes of the records of a literal with 'tail' bytes after its key and
 * 'nref' refs (none: not indexed). */
static size_t
rec_bytes(size_t tail, size_t nref)
{
	size_t head = tail >= PF_TAIL_LONG ? 6 : 2, n = 0;

	for (; nref > 0; nref -= nref < PF_REF_MAX ? nref : PF_REF_MAX)
		n += head + tail + 4 * (nref < PF_REF_MAX ? nref : PF_REF_MAX);
	return n;
}

/* Write the records of literal 'l' with refs 'r' .. 'r + nref - 1' at
 * 'p'; returns how many. */
static size_t
put_recs(const struct prefilter *pf, const struct lit *l, const struct ref *r,
	 size_t nref, unsigned char *p)
{
	size_t tail = l->len - l->skip, n, j, recs = 0;
	uint32_t w;

	for (; nref > 0; nref -= n, recs++) {
		n = nref < PF_REF_MAX ? nref : PF_REF_MAX;
		if (tail >= PF_TAIL_LONG) {
			*p++ = PF_TAIL_LONG;
			w = (uint32_t)tail;
			memcpy(p, &w, 4);
			p += 4;
		} else {
			*p++ = (unsigned char)tail;
		}
		*p++ = (unsigned char)n;
		memcpy(p, l->s + l->skip, tail);
		p += tail;
		for (j = 0; j < n; j++, r++, p += 4) {
			w = r->pat << 8 | (uint32_t)pf->pats[r->pat].need << 4 |
			    r->bit;
			memcpy(p, &w, 4);
		}
	}
	return recs;
}

/*
 * The key table, its filters, and the records of each key's literals,
 * adjacent and in slot order.  A literal is valid UTF-8, so its key's
 * code points take the same bytes as in the text, and a probe compares
 * only the tail.
 */
static void
build_table(struct prefilter *pf)
{
	size_t i, r, total = 0;
	size_t *slot = xcalloc(pf->nlits + 1, sizeof(size_t));
	size_t *ref = xcalloc(pf->nlits + 1, sizeof(size_t));
	size_t *nref = xcalloc(pf->nlits + 1, sizeof(size_t));
	size_t *at;

	for (r = pf->nrefs; r-- > 0;) { /* refs are sorted by literal */
		ref[pf->refs[r].lit] = r;
		nref[pf->refs[r].lit]++;
	}
	size_table(pf);
	at = xcalloc(pf->tcap, sizeof(size_t)); /* bytes, then where */
	for (i = 0; i < pf->nlits; i++) {
		const struct lit *l = &pf->lits[i];
		uint64_t h = hash_key(l->key);
		uint32_t cp = (uint32_t)(l->key >> 32) & 0x7fffffff;

		slot[i] = find_slot(pf, l->key, h);
		pf->slots[slot[i]].key = l->key;
		at[slot[i]] += rec_bytes(l->len - l->skip, nref[i]);
		if ((uint32_t)l->key == PF_SINGLE) {
			first_set(pf, cp, PF_FIRST_ONE);
		} else {
			first_set(pf, cp, PF_FIRST_MORE);
			bit_set(pf->pairs, PF_PAIR_BITS, (size_t)(h >> 40));
		}
	}
	for (i = 0; i < pf->tcap; i++) {
		size_t n = at[i];

		assert(total + n < UINT32_MAX);
		pf->slots[i].rec = (uint32_t)total;
		at[i] = total;
		total += n;
	}
	pf->recs = xmalloc(total + 1);
	for (i = 0; i < pf->nlits; i++) {
		const struct lit *l = &pf->lits[i];
		size_t s = slot[i];

		pf->slots[s].count += (uint32_t)put_recs(
			pf, l, pf->refs + ref[i], nref[i], pf->recs + at[s]);
		at[s] += rec_bytes(l->len - l->skip, nref[i]);
	}
	free(slot);
	free(ref);
	free(nref);
	free(at);
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
	free(pf->refs);
	pf->refs = NULL;
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

/* A literal occurs in the text: its 'n' refs at 'ref'.  A pattern with
 * one clause is a candidate at once; one with more tallies its clauses in
 * 'have' until all are there. */
static void
hit(struct prefilter *pf, const unsigned char *ref, size_t n)
{
	uint32_t w, pat;
	unsigned need, bit;

	for (; n > 0; n--, ref += 4) {
		memcpy(&w, ref, 4);
		pat = w >> 8;
		need = w >> 4 & 0xf;
		bit = w & 0xf;
		if (bit != need) {
			pf->have[pat] |= (uint8_t)bit;
			if (pf->have[pat] != need)
				continue;
		}
		pf->cand[pat / 64] |= (uint64_t)1 << (pat % 64);
	}
}

/* The literals of 'key' (hash 'h') that start at 'text' ('avail' bytes);
 * the key already says that its code points, 'skip' bytes, are there. */
static void
probe(struct prefilter *pf, uint64_t key, uint64_t h, const char *text,
      size_t skip, size_t avail)
{
	const struct slot *s = &pf->slots[find_slot(pf, key, h)];
	const unsigned char *p = pf->recs + s->rec;
	size_t k, tail, nref;
	uint32_t w;

	for (k = 0; k < s->count; k++) {
		tail = *p++;
		if (tail == PF_TAIL_LONG) {
			memcpy(&w, p, 4);
			tail = w;
			p += 4;
		}
		nref = *p++;
		if (tail <= avail - skip &&
		    (tail == 0 || memcmp(text + skip, p, tail) == 0))
			hit(pf, p + tail, nref);
		p += tail + 4 * nref;
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

/* The literals that start with code point 'cp' ('n' bytes) at 'text',
 * 'cp2' ('m' bytes) after it. */
static void
scan_at(struct prefilter *pf, uint32_t cp, size_t n, uint32_t cp2, size_t m,
	const char *text, size_t avail)
{
	unsigned first = first_get(pf, cp);
	uint64_t key, h;

	if (first & PF_FIRST_ONE) {
		key = lit_key(cp, PF_SINGLE);
		probe(pf, key, hash_key(key), text, n, avail);
	}
	if (cp2 != PF_SINGLE && (first & PF_FIRST_MORE)) {
		key = lit_key(cp, cp2);
		h = hash_key(key);
		if (bit_test(pf->pairs, PF_PAIR_BITS, (size_t)(h >> 40)))
			probe(pf, key, h, text, n + m, avail);
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
		scan_at(pf, cp, n, cp2, m, text + i, len - i);
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
	free(pf->slots);
	free(pf->recs);
	free(pf->always);
	free(pf->caseless);
	free(pf->cand);
	free(pf->have);
	free(pf);
}
