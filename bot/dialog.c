/*
 * dialog.c - see dialog.h.
 */
#include "dialog.h"

#include <stdlib.h>
#include <string.h>

#include "content.h"
#include "intents.h"
#include "products.h"
#include "protocol.h"
#include "scripts.h"
#include "text.h"

void
dialog_policy_init(struct dialog_policy *p)
{
	p->escalate_after_misses = 2;
	p->escalate_on_repeat = true;
	p->repeat_similarity = 50;
}

/* snprintf(dst, cap, "%s", src) without the format machinery: a turn
 * copies several names and texts.  Cuts at 'cap' - 1 bytes like it. */
static void
copy_name(char *dst, size_t cap, const char *src)
{
	size_t n = src ? strnlen(src, cap - 1) : 0;

	if (n)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

/* copy_name() for text: a character cut by the limit is left out, so the
 * copy of valid UTF-8 stays valid (it is stored, see last_text). */
static void
copy_text(char *dst, size_t cap, const char *src)
{
	size_t n;

	copy_name(dst, cap, src);
	n = strlen(dst);
	while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
		n--;
	dst[n] = '\0';
}

void
conversation_init(struct conversation *c, const char *buyer, int64_t now_ms)
{
	memset(c, 0, sizeof(*c));
	copy_name(c->buyer, sizeof(c->buyer), buyer);
	c->state = DIALOG_BOT;
	c->seed = (uint32_t)util_hash64(c->buyer, strlen(c->buyer));
	c->created_ms = now_ms;
	c->last_ms = now_ms;
}

void
dialog_turn_init(struct dialog_turn *t)
{
	memset(t, 0, sizeof(*t));
	strbuf_init(&t->reply);
	strbuf_init(&t->normalized);
}

void
dialog_turn_release(struct dialog_turn *t)
{
	strbuf_release(&t->reply);
	strbuf_release(&t->normalized);
}

static void
turn_reset(struct dialog_turn *t)
{
	struct strbuf reply = t->reply, norm = t->normalized;

	memset(t, 0, sizeof(*t));
	t->reply = reply;
	t->normalized = norm;
	strbuf_reset(&t->reply);
	strbuf_reset(&t->normalized);
}

/*
 * How alike two messages are: the Dice coefficient of their character
 * bigrams, in percent.  "我的快递到哪了" and "我的快递到哪了啊" share most;
 * "今天可以发货吗" and "今天付款什么时候能发货" (a follow-up) share little.
 */
static int
similarity(const char *a, size_t alen, const char *b, size_t blen)
{
	uint32_t x[64], y[64];
	size_t nx = 0, ny = 0, i, j, common = 0, n;
	bool used[64] = {false};

	for (i = 0; i < alen && nx < ARRAY_SIZE(x); i += n ? n : 1)
		if ((n = text_utf8_decode(a + i, alen - i, &x[nx])) &&
		    x[nx] != ' ')
			nx++;
	for (i = 0; i < blen && ny < ARRAY_SIZE(y); i += n ? n : 1)
		if ((n = text_utf8_decode(b + i, blen - i, &y[ny])) &&
		    y[ny] != ' ')
			ny++;
	if (nx < 2 || ny < 2)
		return nx == ny && nx == 1 && x[0] == y[0] ? 100 : 0;
	for (i = 0; i + 1 < nx; i++)
		for (j = 0; j + 1 < ny; j++)
			if (!used[j] && x[i] == y[j] && x[i + 1] == y[j + 1]) {
				used[j] = true;
				common++;
				break;
			}
	return (int)(200 * common / (nx - 1 + ny - 1));
}

/* Topics where asking the same twice is normal, not a failed answer. */
static bool
repeat_is_normal(const char *topic)
{
	return strcmp(topic, "smalltalk") == 0 || strcmp(topic, "human") == 0 ||
	       strcmp(topic, "complaint") == 0 || strcmp(topic, "unknown") == 0;
}

/* The slots of one turn.  Values are borrowed (from the match, the
 * conversation, the product facts) or kept in 'store'. */
struct slots {
	struct intent_slot v[16];
	size_t n;
	char store[4][INTENTS_SLOT_MAX];
	size_t nstore;
};

/* Keep a copy of 'value' that lives as long as 's'. */
static const char *
slot_keep(struct slots *s, const char *value)
{
	char *dst;

	if (s->nstore == ARRAY_SIZE(s->store))
		return NULL;
	dst = s->store[s->nstore++];
	copy_name(dst, sizeof(s->store[0]), value);
	return dst;
}

static const char *
slot_get(const struct slots *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i].name, name) == 0)
			return s->v[i].value;
	return NULL;
}

static void
slot_set(struct slots *s, const char *name, const char *value)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i].name, name) == 0)
			break;
	if (i == ARRAY_SIZE(s->v) || value == NULL || value[0] == '\0')
		return;
	if (i == s->n)
		s->n++;
	s->v[i].name = name;
	s->v[i].value = value;
}

/* Render 'in's approved script into the turn. */
static int
answer(const struct content *ct, struct conversation *c,
       const struct intent *in, const struct slots *slots, const char *phase,
       struct dialog_turn *out)
{
	const struct script *sc = content_script(ct, in);
	char missing[SCRIPTS_SLOT_NAME_MAX + 1] = "";

	if (sc == NULL)
		return -1;
	strbuf_reset(&out->reply);
	if (scripts_render(sc, c->seed + c->turns, phase, slots->v, slots->n,
			   &out->reply, missing) < 0)
		return -1;
	out->script = sc->ref;
	out->buttons = sc->buttons;
	out->nbuttons = sc->nbuttons;
	return 0;
}

static int
system_answer(const struct content *ct, struct conversation *c,
	      const char *name, const char *phase, struct dialog_turn *out)
{
	const struct intent *in = intents_find(ct->intents, name);
	struct slots none = {.n = 0};

	if (in == NULL)
		return -1;
	return answer(ct, c, in, &none, phase, out);
}

static void
escalate(struct conversation *c, enum dialog_action action,
	 enum dialog_escalation why, struct dialog_turn *out)
{
	out->action = action;
	out->escalation = why;
	if (c->state == DIALOG_BOT) {
		c->state = DIALOG_QUEUED;
		out->new_escalation = true;
	}
}

static int
miss(const struct content *ct, const struct dialog_policy *p,
     struct conversation *c, const char *phase, struct dialog_turn *out)
{
	const struct intent *in;
	bool handoff;

	c->misses++;
	out->unmatched = true;
	c->last_intent[0] = '\0';
	handoff = p->escalate_after_misses > 0 && c->state == DIALOG_BOT &&
		  c->misses >= p->escalate_after_misses;
	in = intents_find(ct->intents,
			  handoff ? CONTENT_HANDOFF_MISSES : CONTENT_FALLBACK);
	if (in == NULL)
		return -1;
	out->intent = in->name;
	out->topic = in->topic;
	if (handoff) {
		escalate(c, DIALOG_ESCALATE, DIALOG_ESC_MISSES, out);
		c->misses = 0;
	} else {
		out->action = DIALOG_CLARIFY;
	}
	return system_answer(ct, c, in->name, phase, out);
}

/* Fill a required slot from the message, the frame or the conversation. */
static bool
fill_slot(const struct content *ct, struct conversation *c, const char *name,
	  const struct dialog_turn *out, struct slots *s)
{
	char value[INTENTS_SLOT_MAX];

	if (slot_get(s, name))
		return true;
	if (intents_find_slot(ct->intents, name, out->normalized.buf,
			      out->normalized.len, value)) {
		slot_set(s, name, slot_keep(s, value));
		return slot_get(s, name) != NULL;
	}
	if (strcmp(name, "order_id") == 0 && c->order_id[0]) {
		slot_set(s, name, c->order_id);
		return true;
	}
	return false;
}

/* Which product the buyer means: named in the text, the frame's item,
 * the conversation's current item, or the shop's only product. */
static const struct product *
which_product(const struct content *ct, struct conversation *c,
	      const struct dialog_input *in, const struct dialog_turn *out)
{
	const struct product *pr = NULL;

	if (products_count(ct->products) == 0)
		return NULL;
	if (out->normalized.len)
		pr = products_in_text(ct->products, out->normalized.buf,
				      out->normalized.len);
	if (pr == NULL && in->item)
		pr = products_find(ct->products, in->item);
	if (pr == NULL && c->item[0])
		pr = products_find(ct->products, c->item);
	if (pr == NULL && products_count(ct->products) == 1)
		pr = products_at(ct->products, 0);
	return pr;
}

/* Height in cm and weight in 斤 from the slots the size patterns capture
 * ("165", "1.65" / "1米65" as height_m, "110斤", "55kg"). */
static void
body_from_slots(const struct slots *s, int *height_cm, int *weight_jin)
{
	const char *v;

	*height_cm = 0;
	*weight_jin = 0;
	if ((v = slot_get(s, "height_cm")) != NULL)
		*height_cm = atoi(v);
	else if ((v = slot_get(s, "height_m")) != NULL)
		*height_cm = (int)(strtod(v, NULL) * 100 + 0.5);
	if ((v = slot_get(s, "weight_jin")) != NULL)
		*weight_jin = atoi(v);
	else if ((v = slot_get(s, "weight_kg")) != NULL)
		*weight_jin = atoi(v) * 2;
	if (*height_cm < 50 || *height_cm > 250)
		*height_cm = 0;
	if (*weight_jin < 20 || *weight_jin > 500)
		*weight_jin = 0;
}

static void
product_slots(const struct product *pr, struct slots *s)
{
	static const char *const names[] = {PRODUCTS_SLOTS};
	int height, weight;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		slot_set(s, names[i], products_fact(pr, names[i]));
	body_from_slots(s, &height, &weight);
	if (height || weight)
		slot_set(s, "size", products_recommend(pr, height, weight));
}

int
dialog_handle(const struct content *ct, const struct dialog_policy *p,
	      struct conversation *c, const struct dialog_input *in,
	      int64_t now_ms, struct dialog_turn *out)
{
	const char *phase = scripts_phase_at(ct->scripts, now_ms), *order;
	const struct intent *it = NULL;
	const struct product *pr;
	struct intent_match m;
	struct slots slots = {.n = 0};
	char prev_text[sizeof(c->last_text)];
	bool pending_filled = false, new_item;
	size_t i;
	int rc;

	turn_reset(out);
	c->last_ms = now_ms;
	if (in->order && in->order[0])
		copy_name(c->order_id, sizeof(c->order_id), in->order);

	if (in->button) {
		strbuf_addstr(&out->normalized, in->button);
		it = intents_find(ct->intents, in->button);
	} else {
		strbuf_grow(&out->normalized, in->len + 1);
		out->normalized.len = text_normalize(
			in->text, in->len, out->normalized.buf, in->len + 1);
		if (intents_match(ct->intents, out->normalized.buf,
				  out->normalized.len, &m)) {
			it = m.intent;
			for (i = 0; i < m.nslots; i++)
				slot_set(&slots, m.slots[i].name,
					 m.slots[i].value);
		}
		/* Waiting for a slot: a bare answer completes the question. */
		if (c->pending_slot[0] &&
		    (it == NULL || strcmp(it->name, c->pending_intent) == 0)) {
			const struct intent *pi =
				intents_find(ct->intents, c->pending_intent);
			const struct intent_slotdef *sd =
				intents_slotdef(ct->intents, c->pending_slot);
			char value[INTENTS_SLOT_MAX];

			if (pi && sd &&
			    intents_find_slot(ct->intents, sd->name,
					      out->normalized.buf,
					      out->normalized.len, value)) {
				slot_set(&slots, sd->name,
					 slot_keep(&slots, value));
				it = pi;
				pending_filled = true;
			}
		}
	}
	c->pending_slot[0] = '\0';
	c->pending_intent[0] = '\0';
	/* The item the buyer talks about now becomes the current one. */
	copy_name(prev_text, sizeof(prev_text), c->last_text);
	copy_text(c->last_text, sizeof(c->last_text), out->normalized.buf);
	pr = which_product(ct, c, in, out);
	new_item = pr && strcmp(c->item, pr->id) != 0;
	if (pr)
		copy_name(c->item, sizeof(c->item), pr->id);

	if (c->state == DIALOG_AGENT || c->state == DIALOG_CLOSED) {
		/* A human owns the chat: record, never speak. */
		out->action = DIALOG_SILENT;
		out->intent = it ? it->name : NULL;
		out->topic = it ? it->topic : NULL;
		c->turns++;
		return 0;
	}
	if (it == NULL) {
		rc = miss(ct, p, c, phase, out);
		c->turns++;
		return rc;
	}
	c->misses = 0;
	out->intent = it->name;
	out->topic = it->topic;

	/* The same question again right after its answer means the answer
	 * did not help, unless the buyer brought new facts (a size for
	 * another height, another order number, another product) or asked a
	 * follow-up of the same kind in other words. */
	if (p->escalate_on_repeat && c->state == DIALOG_BOT &&
	    !pending_filled && slots.n == 0 && !new_item &&
	    it->action == INTENT_REPLY &&
	    strcmp(it->name, c->last_intent) == 0 &&
	    !repeat_is_normal(it->topic) &&
	    similarity(out->normalized.buf, out->normalized.len, prev_text,
		       strlen(prev_text)) >= p->repeat_similarity) {
		escalate(c, DIALOG_ESCALATE, DIALOG_ESC_REPEAT, out);
		c->last_intent[0] = '\0';
		rc = system_answer(ct, c, CONTENT_HANDOFF_REPEAT, phase, out);
		c->turns++;
		return rc;
	}

	for (i = 0; i < it->nrequires; i++) {
		const struct intent_slotdef *sd;

		if (fill_slot(ct, c, it->requires[i], out, &slots))
			continue;
		sd = intents_slotdef(ct->intents, it->requires[i]);
		if (sd == NULL || sd->ask == NULL)
			return -1;
		out->action = DIALOG_CLARIFY;
		copy_name(c->pending_intent, sizeof(c->pending_intent),
			  it->name);
		copy_name(c->pending_slot, sizeof(c->pending_slot),
			  it->requires[i]);
		c->last_intent[0] = '\0';
		rc = system_answer(ct, c, sd->ask, phase, out);
		c->turns++;
		return rc;
	}
	order = slot_get(&slots, "order_id");
	if (order == NULL && c->order_id[0])
		slot_set(&slots, "order_id", c->order_id);
	else if (order && order != c->order_id)
		copy_name(c->order_id, sizeof(c->order_id), order);
	if (pr && strcmp(it->topic, "product") == 0)
		product_slots(pr, &slots);

	rc = answer(ct, c, it, &slots, phase, out);
	c->turns++;
	if (rc < 0)
		return rc;
	/* A question back is not an answer: asking again is no repeat. */
	copy_name(c->last_intent, sizeof(c->last_intent),
		  it->action == INTENT_CLARIFY ? "" : it->name);
	switch (it->action) {
	case INTENT_CLARIFY:
		out->action = DIALOG_CLARIFY;
		break;
	case INTENT_ESCALATE:
		escalate(c, DIALOG_ESCALATE, DIALOG_ESC_REQUEST, out);
		break;
	case INTENT_COMPLAINT:
		escalate(c, DIALOG_COMPLAINT, DIALOG_ESC_COMPLAINT, out);
		break;
	case INTENT_REPLY:
		out->action = DIALOG_REPLY;
		if (content_script(ct, it)->needs_human)
			escalate(c, DIALOG_ESCALATE, DIALOG_ESC_NEEDS_HUMAN,
				 out);
		break;
	}
	return 0;
}

const char *
dialog_action_name(enum dialog_action a)
{
	static const char *const names[] = {"reply", "clarify", "escalate",
					    "complaint", "silent"};

	return names[a];
}

void
dialog_format_reply(struct strbuf *out, const struct dialog_turn *t,
		    const char *reply_to, const char *sender)
{
	struct outbound_button b[DIALOG_FRAME_BUTTONS];
	struct outbound_reply r;
	size_t i;

	memset(&r, 0, sizeof(r));
	r.reply_to = reply_to;
	r.sender = sender;
	r.text = t->reply.buf;
	r.intent = t->intent;
	r.topic = t->topic;
	r.action = dialog_action_name(t->action);
	r.script = t->script;
	for (i = 0; i < t->nbuttons && i < DIALOG_FRAME_BUTTONS; i++) {
		b[i].title = t->buttons[i].title;
		b[i].payload = t->buttons[i].payload;
	}
	r.buttons = b;
	r.nbuttons = i;
	protocol_format_reply(out, &r);
}

const char *
dialog_state_name(enum dialog_state s)
{
	static const char *const names[] = {"bot", "queued", "agent", "closed"};

	return names[s];
}

bool
dialog_state_parse(const char *name, enum dialog_state *out)
{
	int s;

	for (s = DIALOG_BOT; s <= DIALOG_CLOSED; s++)
		if (strcmp(name, dialog_state_name((enum dialog_state)s)) ==
		    0) {
			*out = (enum dialog_state)s;
			return true;
		}
	return false;
}

const char *
dialog_escalation_name(enum dialog_escalation e)
{
	static const char *const names[] = {NULL,	 "request",
					    "misses",	 "repeat",
					    "complaint", "needs_human"};

	return names[e];
}
