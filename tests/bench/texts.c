/*
 * texts.c - see texts.h.
 */
#include "texts.h"

#include <stdlib.h>
#include <string.h>

#include "../../bot/util.h"

const char *const bench_builtin_texts[] = {
	"我的快递到哪了",
	"什么时候发货",
	"在吗",
	"怎么退货",
	"转人工",
	"优惠券怎么用",
	"亲，今天下单什么时候能到",
	"物流三天没动了",
	"能便宜点吗",
	"有赠品吗",
	"双十一有什么活动",
	"满减怎么算的",
	"发什么快递",
	"可以指定顺丰吗",
	"我要退款",
	"退款多久到账",
	"收到的东西坏了",
	"发错货了",
	"尺码怎么选",
	"165斤穿多大",
	"还有货吗",
	"什么时候补货",
	"能改地址吗",
	"订单号 123456789012345",
	"发票怎么开",
	"质量怎么样",
	"是正品吗",
	"能开发票吗",
	"你好",
	"谢谢",
	"付款了怎么还没发货",
	"七天无理由吗",
};

const size_t bench_nbuiltin = ARRAY_SIZE(bench_builtin_texts);

/* The message on one line (modified in place), or NULL to skip it. */
static char *
line_text(char *line, int lineno)
{
	char *tab = strchr(line, '\t'), *s = line;

	if (line[0] == '#')
		return NULL;
	if (tab != NULL) {
		s = strchr(tab + 1, '\t');
		if (s == NULL)
			return NULL;
		s++;
		tab = strchr(s, '\t');
		if (tab != NULL)
			*tab = '\0';
		if (lineno == 1 && strcmp(s, "text") == 0)
			return NULL;
	}
	return s[0] == '\0' || s[0] == '#' ? NULL : s;
}

long
bench_texts_read(const char *path, size_t max, char ***out)
{
	size_t len, n = 0, cap = 0;
	char *data = util_read_file(path, &len), *line, *next, *s;
	char **v = NULL;
	int lineno = 0;

	*out = NULL;
	if (data == NULL)
		return -1;
	for (line = data; line < data + len && n < max; line = next) {
		char *eol = memchr(line, '\n', (size_t)(data + len - line));

		if (eol == NULL)
			eol = data + len;
		next = eol + 1;
		*eol = '\0';
		if (eol > line && eol[-1] == '\r')
			eol[-1] = '\0';
		s = line_text(line, ++lineno);
		if (s == NULL)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[n++] = xstrdup(s);
	}
	free(data);
	*out = v;
	return (long)n;
}

void
bench_texts_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}
