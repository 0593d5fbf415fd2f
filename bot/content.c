/*
 * content.c - see content.h.
 */
#include "content.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intents.h"
#include "products.h"
#include "scripts.h"
#include "util.h"

struct problems {
	content_report_fn *fn;
	void *ctx;
	int count;
	char first[sizeof(((struct bot_err *)0)->msg)];
};

static int
problem(struct problems *p, const char *where, const char *reason)
{
	if (p->count++ == 0)
		snprintf(p->first, sizeof(p->first), "%s: %s", where, reason);
	if (p->fn)
		p->fn(p->ctx, where, reason);
	return 0;
}

static int
forward(void *ctx, const char *where, const char *reason)
{
	return problem(ctx, where, reason);
}

static void
script_where(const struct script *sc, char *buf, size_t n)
{
	snprintf(buf, n, "%s:%d:%d", sc->file, sc->line, sc->col);
}

struct slot_scan {
	const struct intent *in;
	bool ok;	    /* every slot fillable */
	bool required_only; /* every slot required */
	char bad[SCRIPTS_SLOT_NAME_MAX + 1];
};

static bool
in_list(const char *const *v, size_t n, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strlen(v[i]) == len && memcmp(v[i], name, len) == 0)
			return true;
	return false;
}

static void
scan_slot(void *ctx, const char *name, size_t len)
{
	struct slot_scan *ss = ctx;
	static const char *const product_slots[] = {PRODUCTS_SLOTS};
	bool required = in_list(ss->in->requires, ss->in->nrequires, name, len);
	bool captured = in_list(ss->in->slots, ss->in->nslots, name, len);
	bool order = len == 8 && memcmp(name, "order_id", 8) == 0;
	bool product =
		strcmp(ss->in->topic, "product") == 0 &&
		in_list(product_slots, ARRAY_SIZE(product_slots), name, len);

	if (!required)
		ss->required_only = false;
	if (required || captured || order || product)
		return;
	if (ss->ok) {
		snprintf(ss->bad, sizeof(ss->bad), "%.*s", (int)len, name);
		ss->ok = false;
	}
}

static void
check_script_slots(struct problems *p, const struct script *sc,
		   const struct intent *in)
{
	char where[300], reason[400];
	bool any_plain = false;
	size_t i;

	script_where(sc, where, sizeof(where));
	for (i = 0; i < sc->nvariants; i++) {
		struct slot_scan ss = {in, true, true, ""};

		scripts_foreach_slot(sc->variants[i].text, scan_slot, &ss);
		if (!ss.ok) {
			snprintf(reason, sizeof(reason),
				 "variant %zu of script '%s' uses {%s}, which "
				 "intent '%s' can never fill",
				 i + 1, sc->ref, ss.bad, in->name);
			problem(p, where, reason);
		}
		if (ss.required_only)
			any_plain = true;
	}
	if (!any_plain) {
		snprintf(reason, sizeof(reason),
			 "script '%s' has no variant that can always be "
			 "filled: add one without optional {slot}s",
			 sc->ref);
		problem(p, where, reason);
	}
}

static void
need_intent(struct problems *p, const struct content *c, const char *name,
	    const char *why)
{
	char reason[300];

	if (intents_find(c->intents, name))
		return;
	snprintf(reason, sizeof(reason), "missing intent '%s' (%s)", name, why);
	problem(p, c->dir, reason);
}

static void
check_phases(struct content *c, struct problems *pp)
{
	size_t n, i, j;
	const struct scripts_phase *ph = scripts_phases(c->scripts, &n);
	const char *file = scripts_campaign_file(c->scripts);
	char where[300], reason[400], a[24], b[24];

	for (i = 0; i + 1 < n; i++) {
		snprintf(where, sizeof(where), "%s:%d:1", file, ph[i + 1].line);
		util_format_shanghai(ph[i].end_ms, a, sizeof(a));
		util_format_shanghai(ph[i + 1].start_ms, b, sizeof(b));
		if (ph[i + 1].start_ms < ph[i].end_ms) {
			snprintf(reason, sizeof(reason),
				 "phase '%s' (starts %s) overlaps '%s' (ends "
				 "%s)",
				 ph[i + 1].name, b, ph[i].name, a);
			problem(pp, where, reason);
		} else if (ph[i + 1].start_ms > ph[i].end_ms) {
			snprintf(reason, sizeof(reason),
				 "gap between phase '%s' (ends %s) and '%s' "
				 "(starts %s)",
				 ph[i].name, a, ph[i + 1].name, b);
			problem(pp, where, reason);
		}
	}
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (strcmp(ph[i].name, ph[j].name) == 0) {
				snprintf(where, sizeof(where), "%s:%d:1", file,
					 ph[j].line);
				snprintf(reason, sizeof(reason),
					 "phase '%s' is defined twice",
					 ph[j].name);
				problem(pp, where, reason);
			}
}

static bool
phase_known(const struct content *c, const char *name)
{
	size_t n, i;
	const struct scripts_phase *ph = scripts_phases(c->scripts, &n);

	for (i = 0; i < n; i++)
		if (strcmp(ph[i].name, name) == 0)
			return true;
	return false;
}

static void
check_all(struct content *c, struct problems *pp)
{
	char where[300], reason[400];
	size_t i, j, n = intents_count(c->intents);

	intents_check(c->intents, forward, pp);
	check_phases(c, pp);
	need_intent(pp, c, CONTENT_FALLBACK, "the reply when nothing matches");
	need_intent(pp, c, CONTENT_HANDOFF_MISSES,
		    "the hand-off after repeated misses");
	need_intent(pp, c, CONTENT_HANDOFF_REPEAT,
		    "the hand-off when an answer did not help");
	for (i = 0; i < n; i++) {
		const struct intent *in = intents_at(c->intents, i);
		const struct script *sc = c->by_intent[i];

		if (sc == NULL) {
			snprintf(where, sizeof(where), "%s:%d:%d", in->file,
				 in->line, in->col);
			snprintf(reason, sizeof(reason),
				 "intent '%s' has no approved script",
				 in->name);
			problem(pp, where, reason);
			continue;
		}
	}
	for (i = 0; i < scripts_count(c->scripts); i++) {
		const struct script *sc = scripts_at(c->scripts, i);
		const struct intent *in = intents_find(c->intents, sc->intent);

		script_where(sc, where, sizeof(where));
		if (in == NULL) {
			snprintf(reason, sizeof(reason),
				 "script '%s' answers unknown intent '%s'",
				 sc->ref, sc->intent);
			problem(pp, where, reason);
			continue;
		}
		for (j = 0; j < sc->nbuttons; j++) {
			if (intents_find(c->intents, sc->buttons[j].payload))
				continue;
			snprintf(reason, sizeof(reason),
				 "button '%s' of script '%s' names unknown "
				 "intent '%s'",
				 sc->buttons[j].title, sc->ref,
				 sc->buttons[j].payload);
			problem(pp, where, reason);
		}
		for (j = 0; j < sc->nvariants; j++) {
			if (sc->variants[j].phase == NULL ||
			    phase_known(c, sc->variants[j].phase))
				continue;
			snprintf(reason, sizeof(reason),
				 "variant %zu of script '%s' names phase '%s', "
				 "which campaign.json does not define",
				 j + 1, sc->ref, sc->variants[j].phase);
			problem(pp, where, reason);
		}
		if (sc->approved)
			check_script_slots(pp, sc, in);
	}
}

int
content_check(struct content *c, content_report_fn *fn, void *ctx)
{
	struct problems p = {fn, ctx, 0, ""};

	check_all(c, &p);
	return p.count;
}

struct content *
content_open(const char *dir, struct bot_err *err)
{
	struct content *c = xcalloc(1, sizeof(*c));
	char *sub;
	size_t i, n;

	c->dir = xstrdup(dir);
	sub = util_path_join(dir, "intents");
	c->intents = intents_load(sub, err);
	free(sub);
	if (c->intents == NULL)
		goto fail;
	sub = util_path_join(dir, "scripts-zh");
	c->scripts = scripts_load(sub, err);
	free(sub);
	if (c->scripts == NULL)
		goto fail;
	sub = util_path_join(dir, "scripts-zh/products.json");
	c->products = products_load(sub, err);
	free(sub);
	if (c->products == NULL)
		goto fail;
	n = intents_count(c->intents);
	c->by_intent = xcalloc(n + 1, sizeof(*c->by_intent));
	for (i = 0; i < n; i++)
		c->by_intent[i] = scripts_for_intent(
			c->scripts, intents_at(c->intents, i)->name);
	return c;
fail:
	content_free(c);
	return NULL;
}

struct content *
content_load(const char *dir, struct bot_err *err)
{
	struct content *c = content_open(dir, err);
	struct problems p = {NULL, NULL, 0, ""};

	if (c == NULL)
		return NULL;
	check_all(c, &p);
	if (p.count == 0)
		return c;
	if (p.count > 1)
		bot_errf(err, "%s (and %d more: run 'xiaoer check')", p.first,
			 p.count - 1);
	else
		bot_errf(err, "%s", p.first);
	content_free(c);
	return NULL;
}

const struct script *
content_script(const struct content *c, const struct intent *in)
{
	return c->by_intent[in->index];
}

void
content_free(struct content *c)
{
	if (c == NULL)
		return;
	free((void *)c->by_intent);
	products_free(c->products);
	scripts_free(c->scripts);
	intents_free(c->intents);
	free(c->dir);
	free(c);
}
