/*
 * products.c - see products.h.
 */
#include "products.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jsonfile.h"
#include "prefilter.h"
#include "text.h"
#include "util.h"

struct products {
	struct product *v;
	size_t n;
	char *file;
	/* Every alias in one literal index, so that products_in_text() scans
	 * a message once instead of searching it for each alias. */
	struct prefilter *pf;
	size_t *ids;  /* prefilter id of each alias, products in order */
	size_t *lens; /* its length in bytes */
};

static char *
norm_copy(const char *s)
{
	size_t len = strlen(s);
	char *out = xmalloc(len + 1);

	text_normalize(s, len, out, len + 1);
	return out;
}

static int
load_sizes(struct product *pr, json_t *arr, const char *where,
	   struct bot_err *err)
{
	struct product_size *sz;
	struct strbuf sb;
	json_error_t jerr;
	json_t *e;
	size_t i;

	if (arr == NULL)
		return 0;
	if (!json_is_array(arr))
		return bot_errf(err, "%s: 'sizes' must be an array", where);
	sz = xcalloc(json_array_size(arr) + 1, sizeof(*sz));
	pr->sizes = sz;
	strbuf_init(&sb);
	json_array_foreach(arr, i, e)
	{
		const char *name;
		json_t *h = NULL, *w = NULL;

		if (json_unpack_ex(e, &jerr, JSON_STRICT, "{s:s, s?o, s?o}",
				   "size", &name, "height", &h, "weight_jin",
				   &w) < 0 ||
		    (h && json_unpack(h, "[ii]", &sz[i].height_min,
				      &sz[i].height_max) < 0) ||
		    (w && json_unpack(w, "[ii]", &sz[i].weight_min,
				      &sz[i].weight_max) < 0)) {
			strbuf_release(&sb);
			return bot_errf(
				err,
				"%s: size %zu: expected {\"size\": \"M\", "
				"\"height\": [160, 168], \"weight_jin\": "
				"[95, 115]}",
				where, i + 1);
		}
		if (sz[i].height_min > sz[i].height_max ||
		    sz[i].weight_min > sz[i].weight_max || name[0] == '\0') {
			strbuf_release(&sb);
			return bot_errf(err,
					"%s: size %zu: empty or reversed range",
					where, i + 1);
		}
		sz[i].size = xstrdup(name);
		pr->nsizes++;
		if (sb.len)
			strbuf_addch(&sb, '/');
		strbuf_addstr(&sb, name);
	}
	pr->sizes_text = sb.len ? sb.buf : NULL;
	if (sb.len == 0)
		strbuf_release(&sb);
	return 0;
}

static int
load_product(struct products *p, json_t *obj, const char *text, long *cursor,
	     struct bot_err *err)
{
	struct product *pr;
	json_error_t jerr;
	const char *id = NULL, *name = NULL, *material = NULL, *stock = NULL;
	const char *usage = NULL, *shelf = NULL, *authentic = NULL;
	const char *notes = NULL;
	json_t *aliases = NULL, *sizes = NULL, *colors = NULL, *e;
	char where[300], **al;
	size_t i;
	int line = 1, col = 1;

	if (json_unpack_ex(obj, &jerr, JSON_STRICT,
			   "{s:s, s:s, s?o, s?o, s?o, s?s, s?s, s?s, s?s, s?s, "
			   "s?s}",
			   "id", &id, "name", &name, "aliases", &aliases,
			   "sizes", &sizes, "colors", &colors, "material",
			   &material, "stock", &stock, "usage", &usage,
			   "shelf_life", &shelf, "authentic", &authentic,
			   "notes", &notes) < 0)
		return bot_errf(err, "%s:1:1: product: %s", p->file, jerr.text);
	{
		long off = jsonfile_locate(text, *cursor, id, &line, &col);

		if (off >= 0)
			*cursor = off;
	}
	snprintf(where, sizeof(where), "%s:%d:%d: product '%s'", p->file, line,
		 col, id);
	if (id[0] == '\0' || name[0] == '\0')
		return bot_errf(err, "%s: empty id or name", where);
	if (products_find(p, id))
		return bot_errf(err, "%s: defined twice", where);

	p->v = xrealloc(p->v, (p->n + 1) * sizeof(*p->v));
	pr = &p->v[p->n++];
	memset(pr, 0, sizeof(*pr));
	pr->id = xstrdup(id);
	pr->name = xstrdup(name);
	pr->material = material ? xstrdup(material) : NULL;
	pr->stock = stock ? xstrdup(stock) : NULL;
	pr->usage = usage ? xstrdup(usage) : NULL;
	pr->shelf_life = shelf ? xstrdup(shelf) : NULL;
	pr->authentic = authentic ? xstrdup(authentic) : NULL;
	pr->notes = notes ? xstrdup(notes) : NULL;
	pr->file = p->file;
	pr->line = line;

	/* The name is an alias too. */
	al = xcalloc((aliases ? json_array_size(aliases) : 0) + 2,
		     sizeof(char *));
	pr->aliases = (const char *const *)al;
	al[pr->naliases++] = norm_copy(name);
	if (aliases && !json_is_array(aliases))
		return bot_errf(err, "%s: 'aliases' must be an array", where);
	json_array_foreach(aliases, i, e)
	{
		if (!json_is_string(e) || json_string_value(e)[0] == '\0')
			return bot_errf(err,
					"%s: 'aliases' must hold non-empty "
					"strings",
					where);
		al[pr->naliases++] = norm_copy(json_string_value(e));
	}
	if (colors) {
		struct strbuf sb;

		if (!json_is_array(colors))
			return bot_errf(err, "%s: 'colors' must be an array",
					where);
		strbuf_init(&sb);
		json_array_foreach(colors, i, e)
		{
			if (!json_is_string(e)) {
				strbuf_release(&sb);
				return bot_errf(
					err, "%s: 'colors' must hold strings",
					where);
			}
			if (sb.len)
				strbuf_addstr(&sb, "、");
			strbuf_addstr(&sb, json_string_value(e));
		}
		pr->colors = sb.len ? sb.buf : NULL;
		if (sb.len == 0)
			strbuf_release(&sb);
	}
	return load_sizes(pr, sizes, where, err);
}

static void
index_aliases(struct products *p)
{
	size_t i, j, k = 0, total = 0;

	for (i = 0; i < p->n; i++)
		total += p->v[i].naliases;
	p->pf = prefilter_new();
	p->ids = xcalloc(total + 1, sizeof(size_t));
	p->lens = xcalloc(total + 1, sizeof(size_t));
	for (i = 0; i < p->n; i++)
		for (j = 0; j < p->v[i].naliases; j++, k++) {
			p->lens[k] = strlen(p->v[i].aliases[j]);
			p->ids[k] = prefilter_add_literal(
				p->pf, p->v[i].aliases[j], p->lens[k]);
		}
	prefilter_build(p->pf);
}

struct products *
products_load(const char *path, struct bot_err *err)
{
	struct products *p = xcalloc(1, sizeof(*p));
	json_error_t jerr;
	json_t *root = NULL, *arr = NULL, *v;
	char *text = NULL;
	size_t i;
	long cursor = 0;

	p->file = xstrdup(path);
	if (access(path, F_OK) != 0 && errno == ENOENT)
		return p; /* no products file: an empty set */
	root = jsonfile_load(path, &text, err);
	if (root == NULL)
		goto fail;
	if (json_unpack_ex(root, &jerr, JSON_STRICT, "{s:o}", "products",
			   &arr) < 0 ||
	    !json_is_array(arr)) {
		bot_errf(err, "%s:1:1: %s", path,
			 arr ? "'products' must be an array" : jerr.text);
		goto fail;
	}
	json_array_foreach(arr, i, v)
	{
		if (load_product(p, v, text, &cursor, err) < 0)
			goto fail;
	}
	index_aliases(p);
	json_decref(root);
	free(text);
	return p;
fail:
	json_decref(root);
	free(text);
	products_free(p);
	return NULL;
}

size_t
products_count(const struct products *p)
{
	return p->n;
}

const struct product *
products_at(const struct products *p, size_t i)
{
	return i < p->n ? &p->v[i] : NULL;
}

const struct product *
products_find(const struct products *p, const char *id)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (strcmp(p->v[i].id, id) == 0)
			return &p->v[i];
	return NULL;
}

const struct product *
products_in_text(const struct products *p, const char *text, size_t len)
{
	const struct product *best = NULL;
	size_t i, j, k = 0, best_len = 0;

	if (p->pf == NULL) /* no products file */
		return NULL;
	prefilter_scan(p->pf, text, len);
	for (i = 0; i < p->n; i++)
		for (j = 0; j < p->v[i].naliases; j++, k++)
			if (p->lens[k] > best_len && p->lens[k] > 0 &&
			    prefilter_maybe(p->pf, p->ids[k])) {
				best = &p->v[i];
				best_len = p->lens[k];
			}
	return best;
}

static bool
in_range(int v, int lo, int hi)
{
	return v > 0 && (lo == 0 && hi == 0 ? false : v >= lo && v <= hi);
}

const char *
products_recommend(const struct product *pr, int height_cm, int weight_jin)
{
	size_t i;

	if (height_cm > 0 && weight_jin > 0)
		for (i = 0; i < pr->nsizes; i++)
			if (in_range(height_cm, pr->sizes[i].height_min,
				     pr->sizes[i].height_max) &&
			    in_range(weight_jin, pr->sizes[i].weight_min,
				     pr->sizes[i].weight_max))
				return pr->sizes[i].size;
	/* Weight decides the fit of most clothes; then height. */
	for (i = 0; weight_jin > 0 && i < pr->nsizes; i++)
		if (in_range(weight_jin, pr->sizes[i].weight_min,
			     pr->sizes[i].weight_max))
			return pr->sizes[i].size;
	for (i = 0; height_cm > 0 && i < pr->nsizes; i++)
		if (in_range(height_cm, pr->sizes[i].height_min,
			     pr->sizes[i].height_max))
			return pr->sizes[i].size;
	return NULL;
}

const char *
products_fact(const struct product *pr, const char *name)
{
	if (strcmp(name, "product") == 0)
		return pr->name;
	if (strcmp(name, "sizes") == 0)
		return pr->sizes_text;
	if (strcmp(name, "colors") == 0)
		return pr->colors;
	if (strcmp(name, "material") == 0)
		return pr->material;
	if (strcmp(name, "stock") == 0)
		return pr->stock;
	if (strcmp(name, "usage") == 0)
		return pr->usage;
	if (strcmp(name, "shelf_life") == 0)
		return pr->shelf_life;
	if (strcmp(name, "authentic") == 0)
		return pr->authentic;
	if (strcmp(name, "notes") == 0)
		return pr->notes;
	return NULL;
}

void
products_free(struct products *p)
{
	size_t i, j;

	if (p == NULL)
		return;
	for (i = 0; i < p->n; i++) {
		struct product *pr = &p->v[i];

		for (j = 0; j < pr->naliases; j++)
			free((char *)pr->aliases[j]);
		free((void *)pr->aliases);
		for (j = 0; j < pr->nsizes; j++)
			free((char *)pr->sizes[j].size);
		free((void *)pr->sizes);
		free((char *)pr->id);
		free((char *)pr->name);
		free((char *)pr->sizes_text);
		free((char *)pr->colors);
		free((char *)pr->material);
		free((char *)pr->stock);
		free((char *)pr->usage);
		free((char *)pr->shelf_life);
		free((char *)pr->authentic);
		free((char *)pr->notes);
	}
	free(p->v);
	free(p->file);
	prefilter_free(p->pf);
	free(p->ids);
	free(p->lens);
	free(p);
}
