/*
 * text.c - see text.h.
 *
 * text_normalize() is one linear pass: decode a code point, map it (the
 * ASCII class table, a switch over the few punctuation and space code
 * points, the traditional table), then decide from its class whether it
 * joins a run that is collapsed.  Every mapping is at most as long in
 * UTF-8 as its input and output is only written for input already read,
 * so 'cap' = 'len' + 1 always suffices; a smaller buffer is filled with as
 * many whole pieces as fit.
 */
#include "text.h"

#include <string.h>

#include "text_t2s.h"
#include "util.h"

#define TEXT_BAD      0x110000u /* decode(): not valid UTF-8 */
#define TEXT_ELLIPSIS 0x2026u	/* "…", three dots */

enum text_cls {
	TEXT_OTHER, /* copied as is */
	TEXT_DROP,  /* control and format characters */
	TEXT_SPACE, /* a run becomes one space; trimmed at both ends */
	TEXT_PUNCT, /* ! ? , ~ ; : -- a run of one of them becomes one */
	TEXT_DOT,   /* . and "…" -- a run becomes "." or "..." */
	TEXT_EMOJI, /* a run of one emoji becomes one */
};

/* Class of each ASCII code point (after mapping); the rest is OTHER. */
static const unsigned char ascii_cls[128] = {
	[0x00] = TEXT_DROP,  [0x01] = TEXT_DROP,  [0x02] = TEXT_DROP,
	[0x03] = TEXT_DROP,  [0x04] = TEXT_DROP,  [0x05] = TEXT_DROP,
	[0x06] = TEXT_DROP,  [0x07] = TEXT_DROP,  [0x08] = TEXT_DROP,
	['\t'] = TEXT_SPACE, ['\n'] = TEXT_SPACE, ['\v'] = TEXT_SPACE,
	['\f'] = TEXT_SPACE, ['\r'] = TEXT_SPACE, [0x0e] = TEXT_DROP,
	[0x0f] = TEXT_DROP,  [0x10] = TEXT_DROP,  [0x11] = TEXT_DROP,
	[0x12] = TEXT_DROP,  [0x13] = TEXT_DROP,  [0x14] = TEXT_DROP,
	[0x15] = TEXT_DROP,  [0x16] = TEXT_DROP,  [0x17] = TEXT_DROP,
	[0x18] = TEXT_DROP,  [0x19] = TEXT_DROP,  [0x1a] = TEXT_DROP,
	[0x1b] = TEXT_DROP,  [0x1c] = TEXT_DROP,  [0x1d] = TEXT_DROP,
	[0x1e] = TEXT_DROP,  [0x1f] = TEXT_DROP,  [' '] = TEXT_SPACE,
	['!'] = TEXT_PUNCT,  [','] = TEXT_PUNCT,  ['.'] = TEXT_DOT,
	[':'] = TEXT_PUNCT,  [';'] = TEXT_PUNCT,  ['?'] = TEXT_PUNCT,
	['~'] = TEXT_PUNCT,  [0x7f] = TEXT_DROP,
};

static inline bool
is_cont(unsigned char c)
{
	return (c & 0xc0) == 0x80;
}

/*
 * Decode one code point of possibly invalid UTF-8 (len > 0).  An invalid
 * or truncated sequence consumes one byte and yields TEXT_BAD.
 */
static inline size_t
decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	uint32_t c = s[0], v;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c < 0xc2) /* continuation byte, or overlong C0/C1 */
		goto bad;
	if (c < 0xe0) {
		if (len < 2 || !is_cont(s[1]))
			goto bad;
		*cp = (c & 0x1f) << 6 | (s[1] & 0x3f);
		return 2;
	}
	if (c < 0xf0) {
		if (len < 3 || !is_cont(s[1]) || !is_cont(s[2]))
			goto bad;
		v = (c & 0x0f) << 12 | (uint32_t)(s[1] & 0x3f) << 6 |
		    (s[2] & 0x3f);
		if (v < 0x800 || (v >= 0xd800 && v <= 0xdfff))
			goto bad;
		*cp = v;
		return 3;
	}
	if (c < 0xf5) {
		if (len < 4 || !is_cont(s[1]) || !is_cont(s[2]) ||
		    !is_cont(s[3]))
			goto bad;
		v = (c & 0x07) << 18 | (uint32_t)(s[1] & 0x3f) << 12 |
		    (uint32_t)(s[2] & 0x3f) << 6 | (s[3] & 0x3f);
		if (v < 0x10000 || v > 0x10ffff)
			goto bad;
		*cp = v;
		return 4;
	}
bad:
	*cp = TEXT_BAD;
	return 1;
}

bool
text_valid_utf8(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *end = p + len;
	uint32_t cp;

	while (p < end) {
		if (*p < 0x80) {
			p++;
			continue;
		}
		p += decode(p, (size_t)(end - p), &cp);
		if (cp == TEXT_BAD)
			return false;
	}
	return true;
}

size_t
text_utf8_chars(const char *s, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		if (!is_cont((unsigned char)s[i]))
			n++;
	return n;
}

void
text_utf8_sanitize(char *s)
{
	unsigned char *p = (unsigned char *)s;
	size_t len = strlen(s), n;
	uint32_t cp;

	while (len > 0) {
		n = decode(p, len, &cp);
		if (cp == TEXT_BAD)
			*p = '?';
		p += n;
		len -= n;
	}
}

size_t
text_utf8_decode(const char *s, size_t len, uint32_t *cp)
{
	size_t n;

	if (len == 0) {
		*cp = 0;
		return 0;
	}
	n = decode((const unsigned char *)s, len, cp);
	if (*cp == TEXT_BAD)
		*cp = 0xfffd;
	return n;
}

size_t
text_utf8_encode(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		cp = 0xfffd;
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

uint32_t
text_simplify(uint32_t cp)
{
	size_t lo = 0, hi = ARRAY_SIZE(t2s_pairs), mid;
	uint32_t bit;

	if (cp < T2S_MIN || cp > T2S_MAX)
		return cp;
	if (cp <= 0xffff) {
		/* Most input is simplified: reject it in constant time. */
		if (cp < T2S_BMP_LO || cp > T2S_BMP_HI)
			return cp;
		bit = cp - T2S_BMP_LO;
		if (!(t2s_bmp_bits[bit >> 5] >> (bit & 31) & 1))
			return cp;
	}
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (t2s_pairs[mid].trad == cp)
			return t2s_pairs[mid].simp;
		if (t2s_pairs[mid].trad < cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	return cp;
}

/*
 * Map a non-ASCII code point.  The result is ASCII (classified by
 * ascii_cls; 0 means drop) or a code point classified by the caller.
 */
static inline uint32_t
map_wide(uint32_t cp)
{
	/* The common case first: CJK ideographs, Hangul, private use. */
	if (cp >= 0x3400 && cp < 0xfe00)
		return text_simplify(cp);
	if (cp >= 0xff01 && cp <= 0xff5e) /* full-width ASCII */
		return cp - 0xfee0;
	if (cp < 0xa0) /* C1 controls */
		return 0;
	switch (cp) {
	case 0x00a0: /* no-break space */
	case 0x1680:
	case 0x2000:
	case 0x2001:
	case 0x2002:
	case 0x2003:
	case 0x2004:
	case 0x2005:
	case 0x2006:
	case 0x2007:
	case 0x2008:
	case 0x2009:
	case 0x200a:
	case 0x2028:
	case 0x2029:
	case 0x202f:
	case 0x205f:
	case 0x3000: /* ideographic space */
		return ' ';
	case 0x00ad: /* soft hyphen */
	case 0x200b: /* zero-width space, ZWNJ, ZWJ, LRM, RLM */
	case 0x200c:
	case 0x200d:
	case 0x200e:
	case 0x200f:
	case 0x202a: /* bidi embeddings and overrides */
	case 0x202b:
	case 0x202c:
	case 0x202d:
	case 0x202e:
	case 0x2060: /* word joiner, invisible operators */
	case 0x2061:
	case 0x2062:
	case 0x2063:
	case 0x2064:
	case 0x2066: /* bidi isolates */
	case 0x2067:
	case 0x2068:
	case 0x2069:
	case 0xfe0e: /* variation selectors (text, emoji) */
	case 0xfe0f:
	case 0xfeff: /* byte order mark */
		return 0;
	case 0x2018: /* ‘ ’ */
	case 0x2019:
		return '\'';
	case 0x201c: /* “ ” 「 」 『 』 ｢ ｣ */
	case 0x201d:
	case 0x300c:
	case 0x300d:
	case 0x300e:
	case 0x300f:
	case 0xff62:
	case 0xff63:
		return '"';
	case 0x3001: /* 、 ､ */
	case 0xff64:
		return ',';
	case 0x3002: /* 。 ｡ */
	case 0xff61:
		return '.';
	case 0x301c: /* 〜 wave dash */
		return '~';
	default:
		return cp >= T2S_MIN ? text_simplify(cp) : cp;
	}
}

static inline bool
is_emoji(uint32_t cp)
{
	return (cp >= 0x1f000 && cp <= 0x1faff) ||
	       (cp >= 0x2600 && cp <= 0x27bf) || (cp >= 0x2b00 && cp <= 0x2bff);
}

/*
 * The common case of Chinese text: a 3-byte ideograph (U+3400..U+9FFF)
 * that the traditional table leaves alone is copied as it is, without
 * the decode-map-encode of the general path.  Returns its code point, or
 * 0 when the general path must handle 'p'.
 */
static inline uint32_t
plain_ideograph(const unsigned char *p, const unsigned char *end)
{
	uint32_t cp, bit;

	if (p[0] < 0xe3 || p[0] > 0xe9 || end - p < 3 || !is_cont(p[1]) ||
	    !is_cont(p[2]))
		return 0;
	cp = (uint32_t)(p[0] & 0x0f) << 12 | (uint32_t)(p[1] & 0x3f) << 6 |
	     (p[2] & 0x3f);
	if (cp < 0x3400 || cp >= 0xa000)
		return 0;
	if (cp >= T2S_BMP_LO && cp <= T2S_BMP_HI) {
		bit = cp - T2S_BMP_LO;
		if (t2s_bmp_bits[bit >> 5] >> (bit & 31) & 1)
			return 0; /* traditional: the table maps it */
	}
	return cp;
}

size_t
text_normalize(const char *in, size_t len, char *out, size_t cap)
{
	const unsigned char *p = (const unsigned char *)in;
	const unsigned char *end = p + len;
	uint32_t cp, last = 0; /* 'last' was written last */
	size_t o = 0, n, want, have;
	size_t dots = 0;    /* dots in the run that ends the output */
	bool space = false; /* whitespace seen since 'last' */
	char piece[8];
	int cls;

	if (cap == 0)
		return 0;
	while (p < end) {
		cp = plain_ideograph(p, end);
		if (cp) {
			n = space && o > 0;
			if (n + 3 > cap - 1 - o)
				break;
			out[o] = ' ';
			memcpy(out + o + n, p, 3);
			o += n + 3;
			p += 3;
			space = false;
			last = cp;
			continue;
		}
		if (*p < 0x80) {
			cp = *p++;
		} else {
			p += decode(p, (size_t)(end - p), &cp);
			cp = cp == TEXT_BAD ? 0 : map_wide(cp);
		}
		if (cp < 0x80) {
			cls = ascii_cls[cp];
			if (cp - 'A' < 26)
				cp += 'a' - 'A';
		} else if (cp == TEXT_ELLIPSIS) {
			cls = TEXT_DOT;
		} else {
			cls = is_emoji(cp) ? TEXT_EMOJI : TEXT_OTHER;
		}
		if (cls == TEXT_DROP)
			continue;
		if (cls == TEXT_SPACE) {
			space = true;
			continue;
		}

		n = 0;
		if (space && o > 0) {
			piece[n++] = ' ';
			last = ' ';
		}
		space = false;
		if (cls == TEXT_DOT) {
			if (last != '.')
				dots = 0;
			have = dots >= 3 ? 3 : dots > 0;
			dots += cp == TEXT_ELLIPSIS ? 3 : 1;
			want = dots >= 3 ? 3 : 1;
			memset(piece + n, '.', want - have);
			n += want - have;
			cp = '.';
		} else if ((cls == TEXT_PUNCT || cls == TEXT_EMOJI) &&
			   cp == last) {
			continue;
		} else {
			n += text_utf8_encode(cp, piece + n);
		}
		if (n > cap - 1 - o)
			break;
		memcpy(out + o, piece, n);
		o += n;
		last = cp;
	}
	out[o] = '\0';
	return o;
}

void
text_repair_utf8(const char *s, size_t len, struct strbuf *out)
{
	size_t i = 0, j;

	strbuf_reset(out);
	while (i < len) {
		for (j = 1; j <= 4 && i + j <= len; j++)
			if (text_valid_utf8(s + i, j))
				break;
		if (j <= 4 && i + j <= len) {
			strbuf_add(out, s + i, j);
			i += j;
		} else {
			strbuf_add(out, "\xef\xbf\xbd", 3);
			i++;
		}
	}
}
