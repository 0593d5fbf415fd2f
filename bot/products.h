/*
 * products.h - the shop's product facts (scripts-zh/products.json).
 *
 * Shop-editable: per item its name and the words buyers call it by, a size
 * table (height in cm and weight in 斤 per size), colours, material, stock
 * note, how to use it, shelf life, authenticity and other notes.  Product
 * questions are answered from these facts; a fact that is missing leaves
 * its {slot} empty, so the script falls back to a variant without it (a
 * polite hand-off offer).  Loaded once, read-only afterwards except for
 * the scratch state of products_in_text(): not thread-safe.
 */
#ifndef BOT_PRODUCTS_H
#define BOT_PRODUCTS_H

#include <stdbool.h>
#include <stddef.h>

struct bot_err;
struct products;

struct product_size {
	const char *size;
	int height_min, height_max; /* cm; 0 0 = any */
	int weight_min, weight_max; /* 斤 (500 g); 0 0 = any */
};

/* Borrowed, valid until products_free(). */
struct product {
	const char *id;
	const char *name;
	const char *const *aliases; /* normalised: lower-case, simplified */
	size_t naliases;
	const struct product_size *sizes;
	size_t nsizes;
	/* facts, NULL when the shop has not written them */
	const char *sizes_text; /* "S/M/L/XL", derived from the table */
	const char *colors;	/* "黑色、米白", derived from the list */
	const char *material;
	const char *stock;
	const char *usage;
	const char *shelf_life;
	const char *authentic;
	const char *notes;
	const char *file;
	int line;
};

/* The {slot}s a product can fill, for content checks. */
#define PRODUCTS_SLOTS                                                         \
	"product", "size", "sizes", "colors", "material", "stock", "usage",    \
		"shelf_life", "authentic", "notes"

/* Load 'path'; a missing file is an empty set, not an error. */
struct products *products_load(const char *path, struct bot_err *err);

size_t products_count(const struct products *p);
const struct product *products_at(const struct products *p, size_t i);
const struct product *products_find(const struct products *p, const char *id);

/* The product whose longest alias (or name) occurs in normalised 'text'
 * (the first product on a tie); all aliases are found in one scan. */
const struct product *products_in_text(const struct products *p,
				       const char *text, size_t len);

/*
 * Recommend a size for a buyer of 'height_cm' and 'weight_jin' (0 when
 * unknown; at least one must be known).  A size that fits both wins; else
 * the one that fits the weight, then the height.  NULL when none fits.
 */
const char *products_recommend(const struct product *pr, int height_cm,
			       int weight_jin);

/* The value of fact slot 'name' ("material" …) of 'pr', or NULL. */
const char *products_fact(const struct product *pr, const char *name);

void products_free(struct products *p); /* NULL is a no-op */

#endif /* BOT_PRODUCTS_H */
