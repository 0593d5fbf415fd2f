/*
 * protodiff.c - protocol_parse() against protocol_parse_reference().
 */
#include "protodiff.h"

#include <string.h>

#include "../bot/protocol.h"

static bool
same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	       (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static const char *
differs(const struct inbound *a, const struct inbound *b)
{
	if (a->type != b->type)
		return "type";
	if (!same_str(a->id, b->id))
		return "id";
	if (a->text_len != b->text_len ||
	    (a->text == NULL) != (b->text == NULL) ||
	    (a->text && memcmp(a->text, b->text, a->text_len) != 0))
		return "text";
	if (!same_str(a->payload, b->payload))
		return "payload";
	if (!same_str(a->order, b->order))
		return "order";
	if (!same_str(a->item, b->item))
		return "item";
	if (!same_str(a->sender, b->sender))
		return "sender";
	return NULL;
}

bool
protodiff_same(const char *frame, size_t len, const char **why)
{
	struct inbound a, b;
	struct protocol_err ea, eb;
	int ra = protocol_parse(frame, len, &a, &ea);
	int rb = protocol_parse_reference(frame, len, &b, &eb);
	const char *d = NULL;

	if (ra != rb)
		d = "result";
	else if (!same_str(ea.code, eb.code))
		d = "error code";
	else if (strcmp(ea.message, eb.message) != 0)
		d = "error message";
	else if (strcmp(ea.reply_to, eb.reply_to) != 0)
		d = "reply_to";
	else if (ra == 0)
		d = differs(&a, &b);
	if (ra == 0)
		inbound_clear(&a);
	if (rb == 0)
		inbound_clear(&b);
	if (why)
		*why = d;
	return d == NULL;
}
