/*
 * test_text.c - normalisation and UTF-8 helpers (text-N.M).
 */
#include "test.h"

#include <stdint.h>
#include <stdlib.h>

#include "../bot/text.h"
#include "../bot/util.h"

void suite_text(void);

/* Normalise NUL-terminated 's' into a static buffer. */
static const char *
norm(const char *s)
{
	static char out[4096];
	size_t len = strlen(s), n;

	n = text_normalize(s, len, out, len + 1);
	if (n != strlen(out) || n > len)
		return "(length mismatch)";
	return out;
}

struct norm_case {
	const char *id, *in, *want;
};

static void
run_cases(const struct norm_case *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		TEST(c[i].id);
		CHECK_STR(norm(c[i].in), c[i].want);
	}
}

static const struct norm_case width_cases[] = {
	{"text-1.1", "Ｑ１２３", "q123"},
	{"text-1.2", "ＸＬ码", "xl码"},
	{"text-1.3", "ＡＢＣ　ｄｅｆ", "abc def"},
	{"text-1.4", "HeLLo World", "hello world"},
	{"text-1.5", "（１）＃＄％＆＊＋－／＜＝＞＠［＼］＾＿｀｛｜｝",
	 "(1)#$%&*+-/<=>@[\\]^_`{|}"},
	{"text-1.6", "订单号：ＴＢ２０２６", "订单号:tb2026"},
	{"text-1.7", "ｂｕｙ　　　ｎｏｗ", "buy now"},
};

static const struct norm_case punct_cases[] = {
	{"text-2.1", "在吗？？？？", "在吗?"},
	{"text-2.2", "!!!!", "!"},
	{"text-2.3", "在吗?？?？", "在吗?"},
	{"text-2.4", "好的。。。", "好的..."},
	{"text-2.5", "等等……", "等等..."},
	{"text-2.6", "等等…", "等等..."},
	{"text-2.7", "嗯.......", "嗯..."},
	{"text-2.8", "嗯...", "嗯..."},
	{"text-2.9", "嗯..", "嗯."},
	{"text-2.10", "嗯。", "嗯."},
	{"text-2.11", "哈哈～～～", "哈哈~"},
	{"text-2.12", "哈哈~~~~", "哈哈~"},
	{"text-2.13", "什么?!?!", "什么?!?!"},
	{"text-2.14", "亲，，，在吗", "亲,在吗"},
	{"text-2.15", "“包邮”吗", "\"包邮\"吗"},
	{"text-2.16", "「发货」『快』", "\"发货\"\"快\""},
	{"text-2.17", "‘好’", "'好'"},
	{"text-2.18", "红、蓝", "红,蓝"},
	{"text-2.19", "价格：３．５元；运费：０", "价格:3.5元;运费:0"},
	{"text-2.20", "3.14", "3.14"},
	{"text-2.21", "((好))", "((好))"},
	{"text-2.22", "!!\xe2\x80\x8b!!", "!"},
	{"text-2.23", "? ?", "? ?"},
	{"text-2.24", "…….", "..."},
	{"text-2.25", ".…", "..."},
	{"text-2.26", "好的！！！谢谢。。。", "好的!谢谢..."},
	{"text-2.27", "::;;", ":;"},
};

static const struct norm_case emoji_cases[] = {
	{"text-3.1", "😡😡😡", "😡"},
	{"text-3.2", "快点😡😡😡😡", "快点😡"},
	{"text-3.3", "😡😭😡", "😡😭😡"},
	{"text-3.4", "❤️❤️❤️", "❤"},
	{"text-3.5", "👍🏻👍🏻", "👍🏻👍🏻"},
	{"text-3.6", "😡 😡", "😡 😡"},
	{"text-3.7", "好😡😡😡!!!", "好😡!"},
	{"text-3.8", "☀☀☀⭐⭐", "☀⭐"},
	{"text-3.9", "🀄🀄", "🀄"},
	{"text-3.10", "🫠🫠🫠", "🫠"},
	{"text-3.11", "哈哈哈", "哈哈哈"},
};

static const struct norm_case trad_cases[] = {
	{"text-4.1", "請問這個什麼時候發貨", "请问这个什么时候发货"},
	{"text-4.2", "親，ＸＬ碼的還有貨嗎？？？😭😭", "亲,xl码的还有货吗?😭"},
	{"text-4.3", "售後服務", "售后服务"},
	{"text-4.4", "運費多少錢", "运费多少钱"},
	{"text-4.5", "我們沒收到優惠券", "我们没收到优惠券"},
	{"text-4.6", "裡面 裏面", "里面 里面"},
	{"text-4.7", "聯繫客服", "联系客服"},
	{"text-4.8", "這件衣服的顏色", "这件衣服的颜色"},
	{"text-4.9", "什麽時候到", "什么时候到"},
	/* Valid simplified text is never changed. */
	{"text-4.10", "乾坤 於是 著名 瞭望 哪吒 蒜薹",
	 "乾坤 於是 著名 瞭望 哪吒 蒜薹"},
	{"text-4.11", "请问这个什么时候发货", "请问这个什么时候发货"},
	{"text-4.12", "干 后 里 发 面 只 系 台 复",
	 "干 后 里 发 面 只 系 台 复"},
};

/* Pairs named in the spec, checked one code point at a time. */
static const char *const trad_pairs[] = {
	"們们", "個个", "這这", "貨货", "發发", "來来", "還还", "麼么", "沒没",
	"嗎吗", "說说", "時时", "對对", "點点", "運运", "費费", "訂订", "單单",
	"號号", "買买", "賣卖", "寄寄", "幫帮", "謝谢", "話话", "問问", "題题",
	"錢钱", "優优", "惠惠", "券券", "紅红", "關关", "務务", "換换", "款款",
	"額额", "遞递", "達达", "顯显", "寶宝", "貝贝", "實实", "體体", "聯联",
	"繫系", "氣气", "應应", "該该", "邊边", "裡里", "裏里", "後后", "髮发",
	"麵面", "鐘钟", "隻只", "係系", "製制", "複复", "臺台", "颱台", "餘余",
	"開开", "線线", "戰战", "畫画", "請请", "親亲", "碼码", "郵邮", "務务",
	"乾乾", "於於", "著著", "瞭瞭", "吒吒", "薹薹", "夥夥", "藉藉", "么么",
	"干干", "后后", "里里", "着着",
};

static void
test_width_punct_emoji_trad(void)
{
	size_t i, n;
	uint32_t t, s;

	run_cases(width_cases, ARRAY_SIZE(width_cases));
	run_cases(punct_cases, ARRAY_SIZE(punct_cases));
	run_cases(emoji_cases, ARRAY_SIZE(emoji_cases));
	run_cases(trad_cases, ARRAY_SIZE(trad_cases));

	TEST("text-4.20");
	for (i = 0; i < ARRAY_SIZE(trad_pairs); i++) {
		const char *p = trad_pairs[i];

		n = text_utf8_decode(p, strlen(p), &t);
		text_utf8_decode(p + n, strlen(p + n), &s);
		CHECK_INT(text_simplify(t), s);
	}

	/* The table is idempotent and never grows a code point. */
	TEST("text-4.21");
	n = 0;
	for (t = 0; t < 0x32000; t++) {
		char a[4], b[4];

		if (t >= 0xd800 && t <= 0xdfff)
			continue;
		s = text_simplify(t);
		if (s == t)
			continue;
		n++;
		if (text_simplify(s) != s ||
		    text_utf8_encode(s, a) > text_utf8_encode(t, b)) {
			CHECK_INT(text_simplify(s), s);
			CHECK(text_utf8_encode(s, a) <= text_utf8_encode(t, b));
		}
	}
	CHECK(n >= 2500);
	CHECK_INT(text_simplify('a'), 'a');
	CHECK_INT(text_simplify(0x1f621), 0x1f621);
	CHECK_INT(text_simplify(0x10ffff), 0x10ffff);
}

static const struct norm_case space_cases[] = {
	{"text-5.1", "  你好  \t\n 在吗  ", "你好 在吗"},
	{"text-5.2", "\xc2\xa0你好\xc2\xa0\xc2\xa0在吗\xc2\xa0", "你好 在吗"},
	{"text-5.3", "　　你好　　在吗　", "你好 在吗"},
	{"text-5.4", "a\r\nb", "a b"},
	{"text-5.5", " \t\r\n　 ", ""},
	{"text-5.6", "", ""},
	{"text-5.7", "a \xe2\x80\x8b b", "a b"},
	{"text-5.8", "a\v\fb", "a b"},
};

static const struct norm_case control_cases[] = {
	{"text-6.1",
	 "a\x01"
	 "b\x7f"
	 "c\x1b[0m",
	 "abc[0m"},
	{"text-6.2", "你\xe2\x80\x8b好", "你好"},
	{"text-6.3", "\xef\xbb\xbf在吗", "在吗"},
	{"text-6.4", "退\xe2\x80\x8c\xe2\x80\x8d\xe2\x80\x8e\xe2\x80\x8f款",
	 "退款"},
	{"text-6.5", "\xc2\x85x\xc2\x9f", "x"},
	{"text-6.6", "\xe2\x80\xae退款", "退款"},
	{"text-6.7", "\x01\x02 hi", "hi"},
};

static const struct norm_case mixed_cases[] = {
	{"text-7.1", " 親，在嗎？？退款！！！😡😡 ", "亲,在吗?退款!😡"},
	{"text-7.2", "ＯＫ～～謝謝親……", "ok~谢谢亲..."},
	{"text-7.3", "訂單號：１２３４５６　什麼時候發貨？",
	 "订单号:123456 什么时候发货?"},
	{"text-7.4", "Hi,\tI want a REFUND!!", "hi, i want a refund!"},
	{"text-7.5", "“運費險”怎麼用～", "\"运费险\"怎么用~"},
};

static void
test_space_control_mixed(void)
{
	run_cases(space_cases, ARRAY_SIZE(space_cases));
	run_cases(control_cases, ARRAY_SIZE(control_cases));
	run_cases(mixed_cases, ARRAY_SIZE(mixed_cases));
}

/* A small deterministic generator (xorshift32). */
static uint32_t
rnd(uint32_t *state)
{
	uint32_t x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return x;
}

/* Code points that exercise every branch of text_normalize(). */
static const uint32_t alphabet[] = {
	'a',	'Z',	  '0',	   ' ',	   '\t',    '\n',    '\r',    '.',
	'!',	'?',	  ',',	   '~',	   ';',	    ':',     '"',     0x01,
	0x7f,	0x85,	  0xa0,	   0xad,   0x200b,  0x200d,  0x2018,  0x201c,
	0x2026, 0x3000,	  0x3001,  0x3002, 0x300c,  0xfe0f,  0xfeff,  0xff01,
	0xff1f, 0xff21,	  0xff5e,  0xff0e, 0x4f60,  0x597d,  0x500b,  0x9019,
	0x5f8c, 0x2764,	  0x2600,  0x2b50, 0x1f621, 0x1f62d, 0x1f3fb, 0x1f44d,
	0xfffd, 0x10ffff, 0x20000, 0x8cb7, 0x4e7e,
};

static void
test_invariants(void)
{
	static char in[1024], out[1024], again[1024], small[1024];
	uint32_t state = 2463534242u;
	size_t len, n, m, cap, k;
	int i, bad_len = 0, bad_utf8 = 0, bad_idem = 0, bad_cap = 0;
	int bad_small = 0;

	TEST("text-8.1");
	for (i = 0; i < 3000; i++) {
		len = 0;
		k = rnd(&state) % 40;
		while (k-- > 0) {
			uint32_t cp =
				alphabet[rnd(&state) % ARRAY_SIZE(alphabet)];

			/* Runs are what is interesting: repeat sometimes. */
			m = rnd(&state) % 4 == 0 ? 1 + rnd(&state) % 5 : 1;
			while (m-- > 0)
				len += text_utf8_encode(cp, in + len);
		}
		memset(out, 'X', sizeof(out));
		n = text_normalize(in, len, out, len + 1);
		if (n > len || out[n] != '\0' || strlen(out) != n)
			bad_len++;
		if (!text_valid_utf8(out, n))
			bad_utf8++;
		/* Normalising twice changes nothing. */
		m = text_normalize(out, n, again, n + 1);
		if (m != n || memcmp(out, again, n) != 0)
			bad_idem++;
		/* Output never overruns a small buffer and stays UTF-8. */
		cap = rnd(&state) % (len + 2);
		memset(small, 'X', sizeof(small));
		m = text_normalize(in, len, small, cap);
		if (cap > 0 &&
		    (m >= cap || small[m] != '\0' || small[cap] != 'X' ||
		     !text_valid_utf8(small, m) || memcmp(small, out, m) != 0))
			bad_cap++;
		if (cap == 0 && (m != 0 || small[0] != 'X'))
			bad_small++;
	}
	CHECK_INT(bad_len, 0);
	CHECK_INT(bad_utf8, 0);
	CHECK_INT(bad_idem, 0);
	CHECK_INT(bad_cap, 0);
	CHECK_INT(bad_small, 0);

	/* The worst cases for growth: maps that shrink least. */
	TEST("text-8.2");
	CHECK_STR(norm("…"), "...");
	CHECK_STR(norm(". …"), ". ...");
	CHECK_STR(norm("a b"), "a b");

	TEST("text-8.3");
	n = text_normalize("你好", 6, small, 4);
	CHECK_INT(n, 3);
	CHECK_STR(small, "你");
	n = text_normalize("你好", 6, small, 1);
	CHECK_INT(n, 0);
	CHECK_STR(small, "");
	n = text_normalize("ab   cd", 7, small, 3);
	CHECK_INT(n, 2);
	CHECK_STR(small, "ab");

	/* Invalid input is not expected, but is dropped, not copied. */
	TEST("text-8.4");
	CHECK_STR(norm("\xff你\xe4\xb8"), "你");
	CHECK_STR(norm("a\xc0\x80"
		       "b"),
		  "ab");
}

struct utf8_case {
	const char *s;
	size_t len;
	bool valid;
};

#define U(lit, ok)                                                             \
	{                                                                      \
		lit, sizeof(lit) - 1, ok                                       \
	}

static const struct utf8_case utf8_cases[] = {
	U("", true),
	U("hello", true),
	U("你好", true),
	U("😡", true),
	U("\xc2\x80", true),	      /* U+0080 */
	U("\xdf\xbf", true),	      /* U+07FF */
	U("\xe0\xa0\x80", true),      /* U+0800 */
	U("\xed\x9f\xbf", true),      /* U+D7FF */
	U("\xee\x80\x80", true),      /* U+E000 */
	U("\xef\xbf\xbf", true),      /* U+FFFF */
	U("\xf0\x90\x80\x80", true),  /* U+10000 */
	U("\xf4\x8f\xbf\xbf", true),  /* U+10FFFF */
	U("a\0b", true),	      /* NUL is valid UTF-8 */
	U("\xc0\x80", false),	      /* overlong NUL */
	U("\xc1\xbf", false),	      /* overlong */
	U("\xe0\x80\x80", false),     /* overlong */
	U("\xe0\x9f\xbf", false),     /* overlong */
	U("\xf0\x80\x80\x80", false), /* overlong */
	U("\xf0\x8f\xbf\xbf", false), /* overlong */
	U("\xed\xa0\x80", false),     /* surrogate D800 */
	U("\xed\xbf\xbf", false),     /* surrogate DFFF */
	U("\xf4\x90\x80\x80", false), /* U+110000 */
	U("\xf5\x80\x80\x80", false), /* lead byte too high */
	U("\xff", false),
	U("\x80", false),	  /* lone continuation */
	U("\xe4\xb8", false),	  /* truncated */
	U("ok\xe4\xb8", false),	  /* truncated at the end */
	U("\xe4\x41\xb8", false), /* bad continuation */
	U("\xf0\x9f\x98", false), /* truncated 4-byte */
	U("\xc3", false),
};

static void
test_utf8(void)
{
	char id[32], buf[4];
	size_t i, n;
	uint32_t cp, got;
	int bad = 0;

	for (i = 0; i < ARRAY_SIZE(utf8_cases); i++) {
		snprintf(id, sizeof(id), "text-9.%zu", i + 1);
		TEST(id);
		CHECK_INT(text_valid_utf8(utf8_cases[i].s, utf8_cases[i].len),
			  utf8_cases[i].valid);
	}

	TEST("text-10.1");
	CHECK_INT(text_utf8_chars("", 0), 0);
	CHECK_INT(text_utf8_chars("abc", 3), 3);
	CHECK_INT(text_utf8_chars("你好a😡", strlen("你好a😡")), 4);
	CHECK_INT(text_utf8_chars("在吗？？？？", strlen("在吗？？？？")), 6);

	TEST("text-11.1");
	for (cp = 0; cp <= 0x10ffff; cp++) {
		if (cp >= 0xd800 && cp <= 0xdfff)
			continue;
		n = text_utf8_encode(cp, buf);
		if (n != (cp < 0x80	 ? 1
			  : cp < 0x800	 ? 2
			  : cp < 0x10000 ? 3
					 : 4) ||
		    !text_valid_utf8(buf, n) ||
		    text_utf8_decode(buf, n, &got) != n || got != cp ||
		    text_utf8_chars(buf, n) != 1)
			bad++;
	}
	CHECK_INT(bad, 0);

	TEST("text-11.2");
	n = text_utf8_decode("\xe4\xbd\xa0", 3, &got);
	CHECK_INT(n, 3);
	CHECK_INT(got, 0x4f60);
	n = text_utf8_decode("\xed\xa0\x80", 3, &got);
	CHECK_INT(n, 1);
	CHECK_INT(got, 0xfffd);
	n = text_utf8_decode("\xe4\xb8", 2, &got);
	CHECK_INT(n, 1);
	CHECK_INT(got, 0xfffd);
	n = text_utf8_encode(0xd800, buf);
	CHECK_INT(n, 3);
	CHECK(memcmp(buf, "\xef\xbf\xbd", 3) == 0);
	n = text_utf8_encode(0x110000, buf);
	CHECK_INT(n, 3);
}

/*
 * The fast path for ideographs agrees with the rule: every code point of
 * U+3400..U+9FFF (alone, after a space run, and cut by a small buffer)
 * becomes its simplified form, encoded.
 */
static void
test_ideographs(void)
{
	char in[16], out[16], want[16];
	size_t n, w;
	uint32_t cp;
	int bad = 0;

	TEST("text-12.1");
	for (cp = 0x3400; cp < 0xa000; cp++) {
		in[0] = 'a';
		in[1] = ' ';
		in[2] = ' ';
		n = text_utf8_encode(cp, in + 3);
		w = text_utf8_encode(text_simplify(cp), want + 2);
		want[0] = 'a';
		want[1] = ' ';
		want[w + 2] = '\0';
		if (text_normalize(in, n + 3, out, sizeof(out)) != w + 2 ||
		    strcmp(out, want) != 0)
			bad++;
		if (text_normalize(in + 3, n, out, sizeof(out)) != w ||
		    strcmp(out, want + 2) != 0)
			bad++;
		/* no room for the space and the ideograph after "a" */
		if (text_normalize(in, n + 3, out, 4) != 1 ||
		    strcmp(out, "a") != 0)
			bad++;
	}
	CHECK_INT(bad, 0);
	CHECK_STR(norm("臺灣 們好"), "台湾 们好"); /* traditional: the table */
	CHECK_STR(norm("\xe4\xbd"), "");	   /* cut: not an ideograph */
}

void
suite_text(void)
{
	test_width_punct_emoji_trad();
	test_space_control_mixed();
	test_invariants();
	test_utf8();
	test_ideographs();
}
