/*
 * dialog.c - see dialog.h.
 */
#include "dialog.h"

#include <stdio.h>
#include <string.h>

#include "content.h"
#include "intents.h"
#include "scripts.h"
#include "text.h"

void
dialog_policy_init(struct dialog_policy *p)
{
	p->escalate_after_misses = 2;
	p->escalate_on_repeat = true;
}

static void
copy_name(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
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

/* Topics where asking the same twice is normal, not a failed answer. */
static bool
repeat_is_normal(const char *topic)
{
	return strcmp(topic, "smalltalk") == 0 || strcmp(topic, "human") == 0 ||
	       strcmp(topic, "complaint") == 0 || strcmp(topic, "unknown") == 0;
}

struct slots {
	struct intent_slot v[INTENTS_MAX_SLOTS + 2];
	size_t n;
};

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
	if (i == ARRAY_SIZE(s->v))
		return;
	if (i == s->n)
		s->n++;
	s->v[i].name = name;
	copy_name(s->v[i].value, sizeof(s->v[i].value), value);
}

/* Render 'in's approved script into the turn. */
static int
answer(const struct content *ct, struct conversation *c,
       const struct intent *in, const struct slots *slots,
       struct dialog_turn *out)
{
	const struct script *sc = content_script(ct, in);
	char missing[SCRIPTS_SLOT_NAME_MAX + 1] = "";

	if (sc == NULL)
		return -1;
	strbuf_reset(&out->reply);
	if (scripts_render(sc, c->seed + c->turns, slots->v, slots->n,
			   &out->reply, missing) < 0)
		return -1;
	out->script = sc->ref;
	out->buttons = sc->buttons;
	out->nbuttons = sc->nbuttons;
	return 0;
}

static int
system_answer(const struct content *ct, struct conversation *c,
	      const char *name, struct dialog_turn *out)
{
	const struct intent *in = intents_find(ct->intents, name);
	struct slots none = {.n = 0};

	if (in == NULL)
		return -1;
	return answer(ct, c, in, &none, out);
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
     struct conversation *c, struct dialog_turn *out)
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
	return system_answer(ct, c, in->name, out);
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
		slot_set(s, name, value);
		return true;
	}
	if (strcmp(name, "order_id") == 0 && c->order_id[0]) {
		slot_set(s, name, c->order_id);
		return true;
	}
	return false;
}

int
dialog_handle(const struct content *ct, const struct dialog_policy *p,
	      struct conversation *c, const struct dialog_input *in,
	      int64_t now_ms, struct dialog_turn *out)
{
	const struct intent *it = NULL;
	struct intent_match m;
	struct slots slots = {.n = 0};
	bool pending_filled = false;
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
				slot_set(&slots, sd->name, value);
				it = pi;
				pending_filled = true;
			}
		}
	}
	c->pending_slot[0] = '\0';
	c->pending_intent[0] = '\0';

	if (c->state == DIALOG_AGENT || c->state == DIALOG_CLOSED) {
		/* A human owns the chat: record, never speak. */
		out->action = DIALOG_SILENT;
		out->intent = it ? it->name : NULL;
		out->topic = it ? it->topic : NULL;
		c->turns++;
		return 0;
	}
	if (it == NULL) {
		rc = miss(ct, p, c, out);
		c->turns++;
		return rc;
	}
	c->misses = 0;
	out->intent = it->name;
	out->topic = it->topic;

	if (p->escalate_on_repeat && c->state == DIALOG_BOT &&
	    !pending_filled && it->action == INTENT_REPLY &&
	    strcmp(it->name, c->last_intent) == 0 &&
	    !repeat_is_normal(it->topic)) {
		escalate(c, DIALOG_ESCALATE, DIALOG_ESC_REPEAT, out);
		c->last_intent[0] = '\0';
		rc = system_answer(ct, c, CONTENT_HANDOFF_REPEAT, out);
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
		rc = system_answer(ct, c, sd->ask, out);
		c->turns++;
		return rc;
	}
	if (c->order_id[0] && !slot_get(&slots, "order_id"))
		slot_set(&slots, "order_id", c->order_id);
	if (slot_get(&slots, "order_id"))
		copy_name(c->order_id, sizeof(c->order_id),
			  slot_get(&slots, "order_id"));

	rc = answer(ct, c, it, &slots, out);
	c->turns++;
	if (rc < 0)
		return rc;
	copy_name(c->last_intent, sizeof(c->last_intent), it->name);
	switch (it->action) {
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

const char *
dialog_state_name(enum dialog_state s)
{
	static const char *const names[] = {"bot", "queued", "agent", "closed"};

	return names[s];
}

const char *
dialog_escalation_name(enum dialog_escalation e)
{
	static const char *const names[] = {NULL,	 "request",
					    "misses",	 "repeat",
					    "complaint", "needs_human"};

	return names[e];
}
