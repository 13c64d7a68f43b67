/*
 * mdp3_apply: decoded CME MDP 3.0 entries to the books (see mdp3_apply.h).
 */
#include "decoders/cme_mdp3/mdp3_apply.h"

#include <assert.h>
#include <errno.h>

_Static_assert((int)MDP3_BOOK_NEW == (int)MDP3_ACTION_NEW && (int)MDP3_BOOK_CHANGE == (int)MDP3_ACTION_CHANGE &&
		       (int)MDP3_BOOK_DELETE == (int)MDP3_ACTION_DELETE &&
		       (int)MDP3_BOOK_DELETE_THRU == (int)MDP3_ACTION_DELETE_THRU &&
		       (int)MDP3_BOOK_DELETE_FROM == (int)MDP3_ACTION_DELETE_FROM &&
		       (int)MDP3_BOOK_OVERLAY == (int)MDP3_ACTION_OVERLAY,
	       "the book's actions are MDUpdateAction's values");

/* The book and side an entry type names: false for a type no level book holds. */
static bool mdp3_apply_kind(char type, enum mdp3_book_kind *kind, enum book_side *side)
{
	switch (type) {
	case '0':
	case '1':
		*kind = MDP3_BOOK_MBP;
		*side = type == '0' ? BOOK_SIDE_BID : BOOK_SIDE_ASK;
		return true;
	case 'E':
	case 'F':
		*kind = MDP3_BOOK_IMPLIED;
		*side = type == 'E' ? BOOK_SIDE_BID : BOOK_SIDE_ASK;
		return true;
	default:
		return false;
	}
}

static struct mdp3_book_update mdp3_apply_update(const struct mdp3_md_entry *entry)
{
	return (struct mdp3_book_update){
		.price = entry->price,
		.shares = entry->present & MDP3_HAS_SIZE ? entry->size : 0,
		.orders = entry->present & MDP3_HAS_ORDERS ? entry->orders : 0,
		.level = entry->level,
		.action = entry->action,
		.has_price = (entry->present & MDP3_HAS_PRICE) != 0,
	};
}

int mdp3_apply_entry(struct mdp3_book *book, int32_t instrument, const struct mdp3_md_entry *entry)
{
	enum mdp3_book_kind kind;
	enum book_side side;
	struct mdp3_book_update update;

	if (entry->entry_type == 'J') {
		mdp3_book_instrument_clear(book, instrument);
		book->stats.book_resets++;
		return 0;
	}
	if (!mdp3_apply_kind(entry->entry_type, &kind, &side)) {
		book->stats.other_type++;
		return 0;
	}
	update = mdp3_apply_update(entry);
	return mdp3_book_level_apply(book, instrument, kind, side, &update);
}

int mdp3_apply_snapshot_entry(struct mdp3_book *book, int32_t instrument, const struct mdp3_md_entry *entry)
{
	enum mdp3_book_kind kind;
	enum book_side side;
	struct mdp3_book_update update;

	if (!mdp3_apply_kind(entry->entry_type, &kind, &side))
		return 0;	/* statistics and the rest of a 52: not a book's */
	if (!(entry->present & MDP3_HAS_LEVEL)) {
		book->stats.bad_level++;
		return -EINVAL;
	}
	update = mdp3_apply_update(entry);
	return mdp3_book_snapshot_level(book, instrument, kind, side, &update);
}

int mdp3_apply_order(struct mdp3_book *book, int32_t instrument, const struct mdp3_order *order,
		     const struct mdp3_md_entry *reference)
{
	char type = reference != NULL ? reference->entry_type : order->entry_type;
	uint32_t price_present = reference != NULL ? reference->present : order->present;
	struct order_book_entry entry = {
		.order_id = order->order_id,
		.priority = order->present & MDP3_HAS_PRIORITY ? order->priority : ORDER_BOOK_PRIORITY_NULL,
		.price = reference != NULL ? reference->price : order->price,
		.quantity = order->present & MDP3_HAS_QUANTITY ? order->quantity : 0,
		.side = type == '0' ? BOOK_SIDE_BID : BOOK_SIDE_ASK,
	};

	if (type != '0' && type != '1') {
		book->stats.other_type++;
		return -EINVAL;
	}
	if (!(order->present & MDP3_HAS_ORDER_ID)) {
		book->stats.null_order_id++;
		return -EINVAL;
	}
	return mdp3_book_order_apply(book, instrument, (enum mdp3_book_order_action)order->action, &entry,
				     (price_present & MDP3_HAS_PRICE) != 0);
}

bool mdp3_apply_order_reference(struct mdp3_book *book, const struct mdp3_message *message,
				const struct mdp3_order *order, struct mdp3_md_entry *reference,
				struct mdp3_stats *stats)
{
	if (!(order->present & MDP3_HAS_REFERENCE) || order->reference_id == 0 ||
	    order->reference_id > mdp3_md_entries(message) ||
	    !mdp3_md_entry_read(message, order->reference_id - 1u, reference, stats) ||
	    (reference->entry_type != '0' && reference->entry_type != '1')) {
		book->stats.bad_reference++;
		return false;
	}
	return true;
}

int mdp3_apply_definition(struct mdp3_book *book, const struct mdp3_definition *definition)
{
	if (definition->update_action == 'D')
		return mdp3_book_definition_delete(book, definition->security_id);
	return mdp3_book_definition_set(book, definition->security_id, definition->symbol,
					sizeof(definition->symbol), definition->depth, definition->implied_depth);
}

void mdp3_apply_message(struct mdp3_book *book, const struct mdp3_message *message, struct mdp3_stats *stats)
{
	struct mdp3_md_entry e, reference;
	struct mdp3_order o;
	struct mdp3_definition d;
	int32_t i;

	switch (message->template_id) {
	case MDP3_CHANNEL_RESET:
		mdp3_book_clear(book);
		break;
	case MDP3_BOOK:
	case MDP3_BOOK_LONG_QTY:
		for (uint32_t k = 0; k < mdp3_md_entries(message); k++) {
			if (mdp3_md_entry_read(message, k, &e, stats) && (i = mdp3_book_instrument_get(book, e.security_id)) >= 0)
				mdp3_apply_entry(book, i, &e);
		}
		for (uint32_t k = 0; k < mdp3_orders(message); k++) {
			if (mdp3_order_read(message, k, &o, stats) && mdp3_apply_order_reference(book, message, &o, &reference, stats) &&
			    (i = mdp3_book_instrument_get(book, reference.security_id)) >= 0)
				mdp3_apply_order(book, i, &o, &reference);
		}
		break;
	case MDP3_ORDER_BOOK:
		for (uint32_t k = 0; k < mdp3_orders(message); k++) {
			if (mdp3_order_read(message, k, &o, stats) && (i = mdp3_book_instrument_get(book, o.security_id)) >= 0)
				mdp3_apply_order(book, i, &o, NULL);
		}
		break;
	case MDP3_DEFINITION_FUTURE:
	case MDP3_DEFINITION_OPTION:
	case MDP3_DEFINITION_SPREAD:
		if (mdp3_definition_read(message, &d, stats))
			mdp3_apply_definition(book, &d);
		break;
	default:
		break;
	}
}
